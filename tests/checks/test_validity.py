"""The evaluation-validity checks must flag evaluations that overstate robustness and stay
quiet on a sound one."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from torch import nn

from trustbench import Dataset, ScanConfig, Schema, scan
from trustbench.attacks import PGD, REGISTRY, Attack, AttackContext
from trustbench.errors import InputError
from trustbench.models import CallableModel, TorchModel
from trustbench.testing.toy import toy_blobs, toy_mlp


def _blobs_dataset(n: int = 120) -> Dataset:
    x, y = toy_blobs(n)
    return Dataset(x.numpy(), y.numpy(), Schema("tabular", np.zeros(8), np.ones(8)), name="blobs")


def _cfg(**kw: object) -> ScanConfig:
    base = {"eps": [0.05, 0.1], "attacks": ["pgd"], "eps_units": "raw", "seed": 0}
    return ScanConfig(**(base | kw))  # type: ignore[arg-type]


def _validity(card) -> dict[str, str]:
    return {f.id: f.severity for f in card.findings if f.id.startswith("validity.")}


def test_sound_model_passes_every_check() -> None:
    card = scan(toy_mlp(0), _blobs_dataset(), _cfg())
    v = _validity(card)
    assert v == {"validity.large_eps": "info", "validity.saturated_outputs": "info",
                 "validity.loss_rises": "info", "validity.attack_work": "info"}
    work = card.get("validity.attack_work")
    assert work is not None and work.metrics["runs_checked"].value == 2  # pgd at two eps
    assert work.metrics["robust_points_unattacked"].value == 0
    large = card.get("validity.large_eps")
    assert large is not None and large.metrics["robust_accuracy_at_large_eps"].value <= 0.1


class _Softmaxed(nn.Module):
    """Returns probabilities instead of logits: cross-entropy gradients vanish."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.inner(x) * 50, dim=1)


class _Quantised(nn.Module):
    """Rounds its input inside forward: the gradient is zero almost everywhere (masking)."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(torch.round(x * 2) / 2)


def test_probability_outputs_are_flagged() -> None:
    card = scan(TorchModel(_Softmaxed(toy_mlp(0).module)), _blobs_dataset(), _cfg())
    f = card.get("validity.saturated_outputs")
    assert f is not None and f.severity == "warn"
    assert "probabilities" in f.detail
    assert card.verdict == "warn"


def test_masked_gradients_are_flagged() -> None:
    card = scan(TorchModel(_Quantised(toy_mlp(0).module)), _blobs_dataset(), _cfg())
    v = _validity(card)
    assert v["validity.saturated_outputs"] == "warn"  # zero gradients
    assert v["validity.loss_rises"] == "warn"
    assert v["validity.large_eps"] == "warn"  # PGD cannot move at all


def test_blackbox_beating_whitebox_is_flagged() -> None:
    card = scan(TorchModel(_Quantised(toy_mlp(0).module)), _blobs_dataset(),
                _cfg(attacks=["pgd", "square"], eps=[0.3],
                     attack_params={"square": {"n_queries": 300}}))
    f = card.get("validity.blackbox_vs_whitebox.0.3")
    assert f is not None and f.severity == "warn"
    assert f.metrics["blackbox_success"].value > f.metrics["whitebox_success"].value + 0.05


def test_blackbox_model_gets_a_note_and_a_square_sanity_check() -> None:
    m = toy_mlp(0)

    def proba(x: np.ndarray) -> np.ndarray:
        return m.predict_proba(x)

    card = scan(CallableModel(proba), _blobs_dataset(60),
                _cfg(attacks=None, attack_params={"square": {"n_queries": 200}}))
    v = _validity(card)
    assert v["validity.blackbox_only"] == "info"
    assert "validity.large_eps" in v
    assert any(f.id.startswith("robustness.square.") for f in card.findings)


@pytest.mark.parametrize("validity", [False])
def test_validity_can_be_disabled(validity: bool) -> None:
    card = scan(toy_mlp(0), _blobs_dataset(40), _cfg(validity=validity))
    assert not _validity(card)
    assert any("validity" in s for s in card.not_measured)


class _Unchanged(Attack):
    """Returns every point as it is, without a single model call: the robust accuracy it
    reports is the clean accuracy."""

    name = "unchanged"

    def __init__(self, *, eps: float = 0.1, norm: str = "linf", seed: int = 0) -> None:
        self.eps, self.norm, self.seed = eps, norm, seed  # type: ignore[assignment]

    def perturb(self, ctx: AttackContext, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return x


def test_an_attack_that_does_no_work_fails_the_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(REGISTRY, "unchanged", _Unchanged)
    card = scan(toy_mlp(0), _blobs_dataset(), _cfg(attacks=["unchanged", "pgd"]))
    f = card.get("validity.attack_work")
    assert f is not None and f.severity == "fail"
    assert card.verdict == "fail"
    robust = card.get("robustness.unchanged.linf.0.1").evidence["n_attacked"]  # type: ignore[union-attr]
    assert f.metrics["runs_without_work"].value == 2  # both eps; pgd's runs are fine
    assert f.metrics["robust_points_unattacked"].value == 2 * robust
    assert "unchanged at eps=0.05: made no model evaluation at all" in f.detail
    assert not any("pgd" in r for r in f.evidence["runs"])


def test_pgd_with_zero_steps_fails_when_the_parameter_check_is_bypassed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The reported bug: ``steps: 0`` made PGD take no gradient step and report the clean
    accuracy as robust. With every parameter check switched off, the validity check still
    catches it."""
    monkeypatch.setattr(Attack, "_validate_params", lambda self: None)
    monkeypatch.setattr(sys.modules["trustbench.scan"], "check_attack_params", lambda p: p)
    card = scan(toy_mlp(0), _blobs_dataset(), _cfg(attack_params={"pgd": {"steps": 0}}))
    assert card.get("robustness.pgd.linf.0.1").metrics["grad_evals"].value == 0  # type: ignore[union-attr]
    f = card.get("validity.attack_work")
    assert f is not None and f.severity == "fail"
    assert f.metrics["runs_without_work"].value == 2


def test_the_checks_refuse_zero_steps_before_any_work() -> None:
    with pytest.raises(InputError, match=r"attack_params\.pgd\.steps: expected an integer"):
        scan(toy_mlp(0), _blobs_dataset(), _cfg(attack_params={"pgd": {"steps": 0}}))
    with pytest.raises(InputError, match=r"pgd\.steps"):
        PGD(steps=0)
