"""The scan's steps: which checks a scan runs, in which order, and what each one needs.

A step is a check function plus what the scan needs to know to run it: the words for
"not measured", the config switch that turns it off, and the earlier products it receives.
Adding a check to the scan is its module plus one :func:`register_step` call::

    register_step(Step("fairness_over_time", "fairness over time", my_check,
                       needs={"attacks": "robustness"}), before="validity")

``my_check(ctx, attacks=...)`` then receives the robustness step's
:class:`~trustbench.checks.products.AttackRuns` (``None`` when that step was switched off
or ran out of time) and returns a list of findings or a
:class:`~trustbench.checks.products.Checked` with its own product.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from trustbench.checks.accuracy import clean_accuracy
from trustbench.checks.base import CheckContext, ScanConfig
from trustbench.checks.calibration import calibration_checks
from trustbench.checks.ood import ood_detection
from trustbench.checks.products import Checked
from trustbench.checks.randomness import randomness_checks
from trustbench.checks.robustness import adversarial_robustness
from trustbench.checks.shift import shift_robustness
from trustbench.checks.subgroups import subgroup_performance
from trustbench.checks.validity import validity_checks
from trustbench.findings import Finding

__all__ = ["Step", "register_step", "scan_step", "scan_steps"]


def _always(cfg: ScanConfig) -> bool:
    return True


@dataclass(frozen=True)
class Step:
    """One check of the scan.

    Attributes
    ----------
    name
        A stable identifier (``ScanPlan.steps`` lists these; products are keyed by it).
    what
        What it measures, in words, for the scorecard's ``not_measured``.
    run
        ``run(ctx, **needs) -> list[Finding] | Checked``.
    needs
        Keyword -> the name of an earlier step whose product ``run`` receives as that
        keyword (``None`` when that step did not run or did not finish).
    enabled
        ``enabled(config) -> bool``; a step switched off is listed as not measured
        ("disabled").
    runs_out_of_time
        Run even when the time budget is already spent: the step cuts its own work at the
        deadline (the attacks) or costs nothing (clean accuracy). Other steps are skipped
        and reported once the budget is spent.
    """

    name: str
    what: str
    run: Callable[..., list[Finding] | Checked[Any]]
    needs: Mapping[str, str] = field(default_factory=dict)
    enabled: Callable[[ScanConfig], bool] = _always
    runs_out_of_time: bool = False

    def __call__(self, ctx: CheckContext, products: Mapping[str, Any]) -> Checked[Any]:
        """Run the check with the products it needs; a plain list becomes ``Checked(list, None)``."""
        out = self.run(ctx, **{kw: products.get(src) for kw, src in self.needs.items()})
        return out if isinstance(out, Checked) else Checked(list(out), None)


_STEPS: dict[str, Step] = {}


def register_step(step: Step, *, before: str | None = None) -> Step:
    """Add ``step`` to every later scan: last, or just before the step named ``before``.

    Raises
    ------
    ValueError
        When the name is taken, ``before`` is not registered, or a needed step would not
        run earlier.
    """
    if step.name in _STEPS:
        raise ValueError(f"scan step {step.name!r} is already registered")
    order = list(_STEPS)
    if before is not None and before not in _STEPS:
        raise ValueError(f"register_step(before={before!r}): no such step; have {order}")
    at = order.index(before) if before is not None else len(order)
    earlier = set(order[:at])
    missing = [src for src in step.needs.values() if src not in earlier]
    if missing:
        raise ValueError(f"scan step {step.name!r} needs {missing}, which must be registered "
                         f"(and run) before it; the steps before it are {order[:at]}")
    order.insert(at, step.name)
    steps = {**_STEPS, step.name: step}
    _STEPS.clear()
    _STEPS.update((n, steps[n]) for n in order)
    return step


def scan_steps() -> tuple[Step, ...]:
    """Return every registered step in the order a scan runs them."""
    return tuple(_STEPS.values())


def scan_step(name: str) -> Step:
    """Return the registered step ``name`` (KeyError listing the names otherwise)."""
    try:
        return _STEPS[name]
    except KeyError:
        raise KeyError(f"no scan step {name!r}; registered: {list(_STEPS)}") from None


# The built-in steps. Order matters only through ``needs``: attacks feed calibration under
# attack, the subgroups' robust accuracy and the validity checks; shifted inputs feed the
# near-OOD sets.
register_step(Step("accuracy", "clean accuracy", clean_accuracy, runs_out_of_time=True))
register_step(Step("robustness", "adversarial robustness", adversarial_robustness,
                   enabled=lambda cfg: cfg.attacks != [], runs_out_of_time=True))
register_step(Step("shifts", "corruptions and distribution shift", shift_robustness,
                   enabled=lambda cfg: cfg.shifts != []))
register_step(Step("calibration", "calibration (ECE, reliability)", calibration_checks,
                   needs={"attacks": "robustness"}, enabled=lambda cfg: cfg.calibration))
register_step(Step("ood", "out-of-distribution detection", ood_detection,
                   needs={"shifts": "shifts"}, enabled=lambda cfg: cfg.ood))
register_step(Step("subgroups", "subgroup and slice performance", subgroup_performance,
                   needs={"attacks": "robustness"}, enabled=lambda cfg: cfg.subgroups))
register_step(Step("randomness", "expectations of a random model", randomness_checks,
                   needs={"attacks": "robustness"}))
register_step(Step("validity", "evaluation-validity checks", validity_checks,
                   needs={"attacks": "robustness"}, enabled=lambda cfg: cfg.validity))
