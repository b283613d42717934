"""The conformance kit: the checks every attack, shift and audit check must pass.

The project's own tests run it over every registered entry; an extension in another
package runs it over its own (scikit-learn's ``check_estimator`` /
``parametrize_with_checks`` and river's ``yield_checks`` are the models):

>>> from trustbench.shifts import GaussianNoise
>>> from trustbench.testing.conformance import check_shift, shift_checks
>>> shift_checks(GaussianNoise)[0].__name__
'check_shift_is_well_formed'
>>> check_shift(GaussianNoise)  # would raise an AssertionError naming each failed check

In pytest, one test per (entry, check) pair, with ids such as ``fgsm-check_lowers_toy_accuracy``::

    @parametrize_with_checks([MyAttack, MyShift])
    def test_conformance(entry, check):
        check(entry)

Each check is a plain function ``check(entry) -> None`` whose docstring says what it
asserts; it raises an AssertionError saying what does not hold. Attack checks build the
class with ``eps``, ``norm`` and ``seed`` and its ``test_params()`` (keep them cheap) for
every norm in ``norms``; shift checks build it with ``from_data``; audit checks call the
function on fresh :class:`~trustbench.audit.AuditContext` objects. The toy data they use is
in :mod:`trustbench.testing.toy` and :mod:`trustbench.testing.toy_tables`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from trustbench.errors import InputError
from trustbench.testing._common import Check, entry_name, run_checks

if TYPE_CHECKING:
    from trustbench.attacks.base import Attack
    from trustbench.audit.base import AuditCheck
    from trustbench.shifts.base import Shift

__all__ = [
    "Check",
    "attack_checks",
    "audit_checks",
    "check_attack",
    "check_audit_check",
    "check_shift",
    "checks_for",
    "parametrize_with_checks",
    "parametrized_checks",
    "shift_checks",
]


def attack_checks(cls: type[Attack]) -> list[Check]:
    """Return the conformance checks of an :class:`~trustbench.attacks.Attack` subclass.

    Feasibility (eps-ball, bounds, immutable and integer features), true successes, lower
    accuracy on toy models (tabular and images), input and model untouched, seeded
    determinism, the same result at any batch size, black-box behaviour, the constructor
    contract, declared parameters and a References section.
    """
    from trustbench.attacks.base import Attack
    from trustbench.testing._attack_checks import ATTACK_CHECKS

    _expect_subclass(cls, Attack, "attack_checks")
    return list(ATTACK_CHECKS)


def shift_checks(cls: type[Shift]) -> list[Check]:
    """Return the conformance checks of a :class:`~trustbench.shifts.Shift` subclass, for its modality.

    Shape, dtype and domain kept, seeded determinism, input untouched, change
    growing with severity, bad severities refused, a toy model's accuracy lowered at
    severity 5, any image size handled (images), the constructor contract and a
    References section.
    """
    from trustbench.shifts.base import Shift
    from trustbench.testing._shift_checks import shift_checks_for

    _expect_subclass(cls, Shift, "shift_checks")
    return shift_checks_for(cls)


def audit_checks(check: AuditCheck) -> list[Check]:
    """Return the conformance checks of an audit check function ``check(ctx) -> list[Finding]``.

    Well-formed, JSON-safe findings with ``audit.`` ids and AI RMF tags, seeded
    determinism, everything measured when every role is given, no failure when roles are
    missing, the table untouched and a References section.
    """
    from trustbench.testing._audit_checks import AUDIT_CHECKS

    if isinstance(check, type) or not callable(check):
        raise InputError(f"audit_checks: expected a function check(ctx) -> list[Finding], "
                         f"got {check!r}")
    return list(AUDIT_CHECKS)


def checks_for(entry: Any) -> list[Check]:
    """Return the checks of ``entry`` by its family.

    The family is an Attack or Shift subclass, else an audit check function.
    """
    from trustbench.attacks.base import Attack
    from trustbench.shifts.base import Shift

    if isinstance(entry, type) and issubclass(entry, Attack):
        return attack_checks(entry)
    if isinstance(entry, type) and issubclass(entry, Shift):
        return shift_checks(entry)
    if isinstance(entry, type) or not callable(entry):
        raise InputError(f"no conformance checks for {entry!r}",
                         fix="pass an Attack or Shift subclass or an audit check function")
    return audit_checks(entry)


def check_attack(cls: type[Attack]) -> None:
    """Run every check of :func:`attack_checks` on ``cls``.

    An AssertionError names each check that failed and why.
    """
    run_checks(cls, attack_checks(cls))


def check_shift(cls: type[Shift]) -> None:
    """Run every check of :func:`shift_checks` on ``cls``.

    An AssertionError names each check that failed and why.
    """
    run_checks(cls, shift_checks(cls))


def check_audit_check(check: AuditCheck) -> None:
    """Run every check of :func:`audit_checks` on the audit check ``check``.

    An AssertionError names each check that failed and why.
    """
    run_checks(check, audit_checks(check))


def parametrize_with_checks(entries: Mapping[str, Any] | Iterable[Any]) -> Any:
    """Build a ``pytest.mark.parametrize`` over every (entry, check) pair of ``entries``.

    Parameters
    ----------
    entries
        Attack classes, shift classes or audit check functions (they may be mixed), or a
        registry mapping names to them (the names then go into the ids).

    Returns
    -------
    A pytest mark that parametrizes the arguments ``entry`` and ``check``, with ids
    ``<name>-<check>``, e.g. ``pgd-check_same_result_at_any_batch_size``.
    """
    try:
        import pytest
    except ImportError:  # pragma: no cover - pytest is a dev dependency
        raise InputError("parametrize_with_checks needs pytest",
                         fix="pip install pytest, or call check_attack / check_shift / "
                         "check_audit_check") from None
    named = (list(entries.items()) if isinstance(entries, Mapping)
             else [(entry_name(e), e) for e in entries])
    params = [pytest.param(entry, check, id=f"{name}-{check.__name__}")
              for name, entry in named for check in checks_for(entry)]
    return pytest.mark.parametrize(("entry", "check"), params)


def parametrized_checks(test: Callable[..., Any]) -> list[tuple[Any, Check]]:
    """Return the (entry, check) pairs a test decorated with :func:`parametrize_with_checks` runs.

    This is for a meta-test that every registered entry gets every check.
    """
    pairs: list[tuple[Any, Check]] = []
    for mark in getattr(test, "pytestmark", []):
        if mark.name == "parametrize" and tuple(mark.args[0]) == ("entry", "check"):
            pairs += [tuple(p.values) for p in mark.args[1]]  # type: ignore[misc]
    return pairs


def _expect_subclass(cls: Any, base: type, what: str) -> None:
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise InputError(f"{what}: expected a subclass of {base.__name__}, got {cls!r}")
