"""The conformance kit catches broken entries: each deliberately bad attack, shift and audit
check below makes ``check_*`` raise an AssertionError naming the check it breaks, while a
well-behaved extension defined here passes."""

from __future__ import annotations

import doctest
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from trustbench.attacks import FGSM, Attack, AttackContext
from trustbench.attacks.base import AttackResult
from trustbench.audit.base import AuditContext
from trustbench.audit.constant import constant_columns
from trustbench.audit.tags import DATA_QUALITY
from trustbench.errors import InputError
from trustbench.findings import Finding
from trustbench.shifts import FeatureNoise, GaussianNoise, Shift
from trustbench.testing import conformance
from trustbench.testing._attack_checks import (
    check_same_result_at_any_batch_size,
    check_same_seed_same_result,
)
from trustbench.testing._common import check_docstring_has_references
from trustbench.testing.conformance import (
    check_attack,
    check_audit_check,
    check_shift,
    checks_for,
    parametrize_with_checks,
    parametrized_checks,
)
from trustbench.testing.toy_tables import toy_audit_context, toy_audit_tables, toy_tabular


def _failed(run: Any, entry: Any) -> str:
    """The AssertionError message of ``run(entry)``."""
    with pytest.raises(AssertionError) as info:
        run(entry)
    return str(info.value)


# -- attacks ------------------------------------------------------------------------------
class _SteppedFGSM(FGSM):
    """FGSM as an extension would add it, for subclasses that break one rule each.

    References
    ----------
    Goodfellow, Shlens & Szegedy, "Explaining and Harnessing Adversarial Examples", ICLR 2015.
    """

    name = "stepped-fgsm"


class _OutsideEps(_SteppedFGSM):
    """Reports perturbations larger than eps (it bypasses the base class's projection).

    References: as FGSM.
    """

    name = "outside-eps"


def _run_outside_eps(self: _OutsideEps, model: Any, x: Any, y: Any, **kw: Any) -> AttackResult:
    res = Attack.run(self, model, x, y, **kw)
    res.x_adv = torch.where(res.fooled.view(-1, *[1] * (res.x_adv.ndim - 1)),
                            res.x_adv, res.x_adv + 2 * float(self.eps))
    return res


# Attack.run is final and a class body that overrides it is refused (tests/attacks/
# test_final_run.py); set after the class is made, the kit must still catch the result.
_OutsideEps.run = _run_outside_eps  # type: ignore[method-assign]


class _GlobalRandom(_SteppedFGSM):
    """A random step size from torch's global RNG: not reproducible from ``seed``.

    References: as FGSM.
    """

    name = "global-random"

    def perturb(self, ctx: AttackContext, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        _, grad, _ = ctx.loss_grad(x, y)
        scale = torch.rand((len(x), *[1] * (x.ndim - 1)))  # the global RNG: the bug
        return ctx.project(x + self.eps * scale * grad.sign(), x)


class _BatchDependent(_SteppedFGSM):
    """One random step size per batch from ``ctx.generator``: reproducible, but a point's
    step depends on its batch.

    References: as FGSM.
    """

    name = "batch-dependent"

    def perturb(self, ctx: AttackContext, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        _, grad, _ = ctx.loss_grad(x, y)
        scale = torch.rand((), generator=ctx.generator)  # one per batch: the bug
        return ctx.project(x + self.eps * scale * grad.sign(), x)


class _Idle(Attack):
    """An attack that cites nothing, does not declare ``strength`` and changes nothing."""

    name = "idle"

    def __init__(self, *, eps: float = 0.1, norm: str = "linf", strength: float = 1.0,
                 seed: int = 0) -> None:
        self.eps, self.norm, self.strength, self.seed = eps, norm, strength, seed  # type: ignore[assignment]

    def perturb(self, ctx: AttackContext, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return x


def test_a_well_behaved_extension_attack_passes() -> None:
    check_attack(_SteppedFGSM)  # raises if any check fails


def test_steps_outside_eps_are_caught() -> None:
    message = _failed(check_attack, _OutsideEps)
    assert "outside-eps failed" in message and "check_stays_inside_eps_and_bounds" in message
    assert "exceeds eps=0.1" in message


def test_global_randomness_is_caught() -> None:
    message = _failed(check_attack, _GlobalRandom)
    assert "check_same_seed_same_result: global-random (linf): two runs with seed=3 differ" in message


def test_batch_dependent_randomness_is_caught_by_the_batch_size_check() -> None:
    check_same_seed_same_result(_BatchDependent)  # reproducible ...
    with pytest.raises(AssertionError, match=r"batch-dependent \(linf, rows\): batches of 20"):
        check_same_result_at_any_batch_size(_BatchDependent)  # ... but not per point
    assert "check_same_result_at_any_batch_size" in _failed(check_attack, _BatchDependent)


def test_an_attack_without_a_reference_a_declared_parameter_or_any_effect_is_caught() -> None:
    message = _failed(check_attack, _Idle)
    for name in ("check_docstring_has_references", "check_lowers_toy_accuracy",
                 "check_attack_declares_every_parameter"):
        assert name in message
    assert "check_same_seed_same_result" not in message  # doing nothing is deterministic


# -- shifts -------------------------------------------------------------------------------
class _ChangesDtype(GaussianNoise):
    """Gaussian noise that returns float64 tensors and float32 arrays.

    References: as its base class.
    """

    name = "changes_dtype"


def _apply_changing_dtype(self: _ChangesDtype, x: Any, severity: int, rng: Any, **kw: Any) -> Any:
    out = Shift.apply(self, x, severity, rng, **kw)
    return out.double() if torch.is_tensor(out) else out.astype(np.float32)


class _LeavesBounds(FeatureNoise):
    """Feature noise pushed past the domain's upper bound.

    References: as its base class.
    """

    name = "leaves_bounds"


def _apply_leaving_bounds(self: _LeavesBounds, x: Any, severity: int, rng: Any, **kw: Any) -> Any:
    return Shift.apply(self, x, severity, rng, **kw) + 2.0


# Shift.apply is final and a class body that overrides it is refused (tests/shifts/
# test_final_apply.py); set after the classes are made, the kit must still catch the results.
_ChangesDtype.apply = _apply_changing_dtype  # type: ignore[method-assign]
_LeavesBounds.apply = _apply_leaving_bounds  # type: ignore[method-assign]


class _IgnoresSeverity(GaussianNoise):
    """The same noise at every severity.

    References: as its base class.
    """

    name = "ignores_severity"

    def _corrupt(self, z: np.ndarray, level: Any, rng: np.random.Generator) -> np.ndarray:
        return super()._corrupt(z, self.levels[2], rng)


def test_a_dtype_change_is_caught() -> None:
    message = _failed(check_shift, _ChangesDtype)
    assert "changes_dtype failed" in message
    assert "check_keeps_shape_dtype_and_range: changes_dtype (severity 1" in message


def test_leaving_the_domain_is_caught() -> None:
    message = _failed(check_shift, _LeavesBounds)
    assert "check_keeps_shape_dtype_and_domain: leaves_bounds (severity 1): values outside " \
           "the domain" in message


def test_a_shift_that_does_not_grow_with_severity_is_caught() -> None:
    message = _failed(check_shift, _IgnoresSeverity)
    assert "check_change_grows_with_severity" in message
    assert "check_keeps_shape_dtype_and_range" not in message


# -- audit checks -------------------------------------------------------------------------
def _finding(fid: str = "audit.toy", **evidence: Any) -> Finding:
    return Finding(fid, "A toy finding", "info", tags=DATA_QUALITY, evidence=evidence)


def good_check(ctx: AuditContext) -> list[Finding]:
    """Rows per split.

    References: Gebru et al., "Datasheets for Datasets", Communications of the ACM 64(12), 2021.
    """
    return [_finding(n_train=ctx.n_train, n_test=ctx.n_test)]


def bad_id(ctx: AuditContext) -> list[Finding]:
    """References: none needed."""
    return [_finding("quality.rows")]


def nan_evidence(ctx: AuditContext) -> list[Finding]:
    """References: none needed."""
    return [_finding(mean=float("nan"))]


def unseeded(ctx: AuditContext) -> list[Finding]:
    """References: none needed."""
    return [_finding(sample=np.random.default_rng().integers(0, 10**9, 3).tolist())]


def mutates_frame(ctx: AuditContext) -> list[Finding]:
    """References: none needed."""
    ctx.frame["f0"] = ctx.frame["f0"].fillna(0.0) * 2
    return [_finding()]


def needs_a_group(ctx: AuditContext) -> list[Finding]:
    """References: none needed."""
    return [_finding(groups=int(ctx.frame[ctx.groups[0]].nunique()))]


def test_a_well_behaved_audit_check_passes() -> None:
    check_audit_check(good_check)
    check_audit_check(constant_columns)


@pytest.mark.parametrize(("fn", "n_failed", "check", "says"), [
    (bad_id, 2, "check_findings_are_well_formed", "'quality.rows' does not start with 'audit.'"),
    (nan_evidence, 2, "check_findings_are_well_formed", "not JSON-safe"),
    (unseeded, 1, "check_same_seed_same_findings", "two runs with seed 1 differ in ['audit.toy']"),
    (mutates_frame, 1, "check_leaves_the_table_untouched", "ctx.frame was modified"),
    (needs_a_group, 1, "check_runs_with_few_roles", "IndexError"),
])
def test_a_broken_audit_check_is_caught(fn: Any, n_failed: int, check: str, says: str) -> None:
    message = _failed(check_audit_check, fn)
    assert f"{fn.__name__} failed {n_failed} of 6 conformance checks" in message
    assert f"{check}: " in message and says in message


# -- the kit itself -----------------------------------------------------------------------
def test_references_need_a_section_or_a_line() -> None:
    check_docstring_has_references(good_check)
    check_docstring_has_references(_SteppedFGSM)

    def see_references(ctx: AuditContext) -> list[Finding]:
        """See the References of the paper (not a section)."""
        return []

    def empty_section(ctx: AuditContext) -> list[Finding]:
        """Nothing.

        References
        ----------
        """
        return []

    for fn in (see_references, empty_section):
        with pytest.raises(AssertionError, match="has a References section"):
            check_docstring_has_references(fn)


def test_entries_of_no_family_are_refused() -> None:
    with pytest.raises(InputError, match="no conformance checks for 3"):
        checks_for(3)
    with pytest.raises(InputError, match="subclass of Attack, got <class"):
        check_attack(GaussianNoise)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="subclass of Shift"):
        check_shift(FGSM)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="audit_checks: expected a function"):
        check_audit_check(FGSM)  # type: ignore[arg-type]


def test_parametrize_with_checks_pairs_each_entry_with_its_family_and_names_them() -> None:
    mark = parametrize_with_checks([FGSM, GaussianNoise, FeatureNoise, good_check])
    ids = [p.id for p in mark.args[1]]
    assert "fgsm-check_same_result_at_any_batch_size" in ids
    assert "gaussian_noise-check_keeps_shape_dtype_and_range" in ids
    assert "feature_noise-check_keeps_shape_dtype_and_domain" in ids
    assert "feature_noise-check_keeps_shape_dtype_and_range" not in ids  # an image check
    assert "good_check-check_same_seed_same_findings" in ids
    assert len(ids) == len(set(ids)) == sum(len(checks_for(e)) for e in
                                            (FGSM, GaussianNoise, FeatureNoise, good_check))
    named = parametrize_with_checks({"mine": FGSM})
    assert named.args[1][0].id == "mine-check_attack_is_well_formed"

    @named
    def test(entry: Any, check: Any) -> None: ...

    assert parametrized_checks(test) == [(FGSM, c) for c in checks_for(FGSM)]


def test_a_check_that_crashes_is_reported_with_its_exception_type() -> None:
    def crashes(ctx: AuditContext) -> list[Finding]:
        """References: none needed."""
        raise KeyError("no such column")

    message = _failed(check_audit_check, crashes)
    assert "failed 5 of 6" in message and "check_findings_are_well_formed: KeyError" in message


def test_the_toy_tables_are_fresh_copies_with_their_planted_rows() -> None:
    a, b = toy_tabular(), toy_tabular()
    a.x[:] = 0.0
    assert float(b.x.abs().sum()) > 0 and a.model is not b.model
    t = toy_audit_tables()
    features = ["f0", "f1", "f2", "f3", "cat"]
    for copy_row, original in t.exact.items():
        assert t.train.loc[copy_row, features].equals(t.train.loc[original, features])
    assert set(t.test.loc[t.shared_ids, "uid"]) <= set(t.train["uid"])
    t.train.loc[0, "f0"] = 99.0
    assert float(toy_audit_tables().train.loc[0, "f0"]) != 99.0
    ctx = toy_audit_context(roles="bare")
    assert ctx.n_test == 0 and ctx.groups == [] and isinstance(ctx.frame, pd.DataFrame)
    with pytest.raises(ValueError, match="roles must be"):
        toy_audit_context(roles="some")


def test_the_docstring_examples_run() -> None:
    result = doctest.testmod(conformance)
    assert result.attempted >= 3 and result.failed == 0
