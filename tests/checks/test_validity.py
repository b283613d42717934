"""The evaluation-validity checks must flag evaluations that overstate robustness and stay
quiet on a sound one."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from trustbench import Dataset, ScanConfig, Schema, scan
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
                 "validity.loss_rises": "info"}
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
