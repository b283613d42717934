"""Random models: detected before any attack, judged by their expectation, with known answers.

The toy with a known answer is a linear two-class model with Gaussian noise on its input:
for a point with signed margin m = (2y - 1)(w.x + b),

- one call is right with probability Phi(m / (sigma |w|_2));
- the expected prediction (mean probability over calls) is right iff m > 0, since the
  noise is symmetric, and stays right under every L-inf perturbation of size eps iff
  m > eps |w|_1 (the attack moves the margin by at most that, and the sign step along w
  achieves it).
"""

# ruff: noqa: NPY002 -- user models draw from the legacy global generator: tested on purpose
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from trustbench import ScanConfig, scan
from trustbench.checks.randomness import drops_markedly
from trustbench.data import Dataset, Schema
from trustbench.models import CallableModel, TorchModel
from trustbench.models.stochastic import Expectation, detect_randomness, draw_correct
from trustbench.testing.toy import toy_mlp

W = torch.tensor([1.0, -1.0, 0.5, 0.0])
SIGMA, EPS = 0.5, 0.2


class NoisyLinear(nn.Module):
    def __init__(self, sigma: float = SIGMA) -> None:
        super().__init__()
        self.sigma = sigma

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = (x + self.sigma * torch.randn_like(x)) @ W
        return torch.stack([torch.zeros_like(z), z], dim=1)


class DropoutOn(nn.Module):
    """Dropout applied at inference whatever the module's mode (a common "defence")."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = toy_mlp(0).module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(nn.functional.dropout(x, p=0.3, training=True))


def _linear_data(n: int = 400, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    m = x @ W.numpy()
    y = (m + rng.normal(scale=0.3, size=n) > 0).astype(np.int64)
    return Dataset(x, y, Schema("tabular", np.full(4, -20.0), np.full(4, 20.0)), "noisy-linear")


def _margins(ds: Dataset) -> np.ndarray:
    return (2 * ds.y - 1) * (ds.x @ W.numpy())


CFG = dict(eps=[EPS], eps_units="raw", attacks=["standard"], shifts=[], ood=False,
           calibration=False, subgroups=False, validity=False)


def test_deterministic_models_are_not_flagged() -> None:
    x = torch.rand(50, 8)
    assert not detect_randomness(toy_mlp(0), x).random
    ds = Dataset(x.numpy(), np.zeros(50, np.int64), Schema("tabular", np.zeros(8), np.ones(8)))
    card = scan(toy_mlp(0), ds, ScanConfig(eps=[0.1], attacks=["fgsm"], shifts=[], ood=False))
    assert card.get("model.randomness") is None and card.get("validity.eot_draws") is None


@pytest.mark.parametrize("module", [NoisyLinear(), DropoutOn()], ids=["input-noise", "dropout"])
def test_randomness_is_detected_from_the_answers_alone(module: nn.Module) -> None:
    x = torch.randn(64, 4) if isinstance(module, NoisyLinear) else torch.rand(64, 8)
    found = detect_randomness(TorchModel(module), x)
    assert found.random and found.max_change > 0 and found.n_calls == 3


def test_a_random_black_box_is_detected_and_scanned_without_eot_gradients() -> None:
    def fn(x: np.ndarray) -> np.ndarray:  # the global numpy generator, as user code does
        p = np.clip(x[:, :3] + np.random.normal(scale=0.2, size=(len(x), 3)), 1e-3, None)
        return p / p.sum(1, keepdims=True)

    ds = Dataset(np.random.default_rng(0).random((60, 3)).astype(np.float32),
                 np.zeros(60, np.int64), Schema("tabular", np.zeros(3), np.ones(3)))
    card = scan(CallableModel(fn, n_classes=3), ds,
                ScanConfig(eps=[0.1], attacks=["square"], attack_params={"square": {"n_queries": 20}},
                           shifts=[], ood=False, eot_draws=4))
    f = card.get("model.randomness")
    assert f is not None and f.severity == "warn" and "random" in f.title
    assert card.get("validity.eot_draws") is None  # no gradients: nothing to re-attack


def test_expected_single_call_accuracy_matches_the_closed_form() -> None:
    ds = _linear_data()
    card = scan(TorchModel(NoisyLinear()), ds, ScanConfig(**CFG))
    f = card.get("model.randomness")
    m = _margins(ds)
    phi = np.array([0.5 * (1 + math.erf(v / (SIGMA * float(W.norm()) * math.sqrt(2)))) for v in m])
    got = f.metrics["expected_clean_accuracy"]
    assert got.ci[0] - 0.01 <= phi.mean() <= got.ci[1] + 0.01, (phi.mean(), got)
    assert got.value == pytest.approx(phi.mean(), abs=0.03)


def test_eot_robust_accuracy_of_the_expectation_matches_the_closed_form() -> None:
    ds = _linear_data()
    card = scan(TorchModel(NoisyLinear()), ds, ScanConfig(**CFG | {"validity": True}))
    m = _margins(ds)
    truth_clean = float((m > 0).mean())
    truth_robust = float((m > EPS * float(W.abs().sum())).mean())
    clean = card.get("accuracy.clean").metrics["accuracy"].value
    robust = card.get(f"robustness.worst.linf.{EPS:g}").metrics["robust_accuracy"].value
    # 20 draws decide points near the boundary by a noisy estimate: a few points either way
    assert clean == pytest.approx(truth_clean, abs=0.04)
    assert robust == pytest.approx(truth_robust, abs=0.05)
    check = card.get("validity.eot_draws")
    assert check is not None and check.severity == "info"  # 20 draws suffice for this toy


def test_a_random_scan_is_repeatable_and_leaves_the_callers_generators_alone() -> None:
    ds = _linear_data(120)
    cfg = ScanConfig(**CFG | {"eot_draws": 4})
    torch.manual_seed(123)
    np.random.seed(7)
    before = torch.rand(1), np.random.random()
    torch.manual_seed(123)
    np.random.seed(7)
    a = scan(TorchModel(NoisyLinear()), ds, cfg)
    after = torch.rand(1), np.random.random()
    b = scan(TorchModel(NoisyLinear()), ds, cfg)
    assert torch.equal(before[0], after[0]) and before[1] == after[1]
    strip = [[(f.id, {k: v.value for k, v in f.metrics.items() if k != "wall_time"})
              for f in c.findings if f.id != "provenance"] for c in (a, b)]
    assert strip[0] == strip[1]


def test_expectation_averages_probabilities_and_keeps_gradients() -> None:
    model = TorchModel(NoisyLinear(sigma=2.0))
    exp = Expectation(model, 200)
    x = torch.tensor([[0.3, 0.0, 0.0, 0.0]], requires_grad=True)
    logp = exp.logits(x)
    assert torch.allclose(torch.softmax(logp, 1).sum(1), torch.ones(1))
    (g,) = torch.autograd.grad(logp[0, 1], x)
    assert g[0, 0] > 0 and g[0, 1] < 0  # the expected prediction follows w
    frac = draw_correct(model, x.detach(), torch.tensor([1]), 400)
    p_true = 0.5 * (1 + math.erf(0.3 / (2.0 * float(W.norm()) * math.sqrt(2))))
    assert frac[0] == pytest.approx(p_true, abs=0.08)


@pytest.mark.parametrize(("lost", "gained", "n", "bad"), [
    (20, 0, 100, True),    # 20 points lost, none gained: far beyond chance
    (12, 6, 100, False),   # a 6-point net drop among 18 changed outcomes: chance can do it
    (4, 0, 100, False),    # 4%: below the margin
    (30, 10, 200, True),
    (0, 20, 100, False),   # more draws *raise* robust accuracy: not this check's concern
])
def test_the_eot_draws_rule(lost: int, gained: int, n: int, bad: bool) -> None:
    few = np.ones(n, bool)
    more = np.ones(n, bool)
    more[:lost] = False
    few[lost:lost + gained] = False
    assert drops_markedly(few, more) is bad
