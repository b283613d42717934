"""APGD-CE, APGD-DLR and APGD-T: the paper's schedule and losses, and their strength."""

from __future__ import annotations

import itertools
import logging

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from trustbench.attacks import APGD, APGDDLR, APGDT, PGD
from trustbench.attacks.apgd import checkpoints, dlr_loss, targeted_dlr_loss
from trustbench.domain import Domain
from trustbench.errors import InputError
from trustbench.models import TorchModel
from trustbench.testing.toy import (
    nearest_centroid_distance,
    toy_blobs,
    toy_digits,
    toy_digits_mlp,
    toy_linear_model,
    toy_mlp,
)

BOX = Domain(lower=0.0, upper=1.0)


def test_checkpoints_are_the_papers() -> None:
    # p = 0, 0.22, 0.41, 0.57, 0.70, 0.80, 0.87, 0.93, 0.99 (Sec. 3.2) for 100 iterations
    assert checkpoints(100) == [22, 41, 57, 70, 80, 87, 93, 99]
    gaps = [b - a for a, b in itertools.pairwise([0, *checkpoints(1000)])]
    assert gaps[0] == 220 and min(gaps) == 60
    assert all(a >= b for a, b in itertools.pairwise(gaps))
    assert checkpoints(1) == [1] and checkpoints(5) == [1, 2, 3, 4, 5]


def test_dlr_losses_by_hand() -> None:
    z = torch.tensor([[3.0, 1.0, 0.0, -1.0]])
    # correct and on top: -(z_y - second) / (first - third)
    assert dlr_loss(z, torch.tensor([0])).item() == pytest.approx(-2 / 3)
    # misclassified: -(z_y - first) / (first - third)
    assert dlr_loss(z, torch.tensor([1])).item() == pytest.approx(2 / 3)
    # targeted: -(z_y - z_t) / (first - (third + fourth) / 2)
    got = targeted_dlr_loss(z, torch.tensor([0]), torch.tensor([2])).item()
    assert got == pytest.approx(-3 / 3.5)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(-40, 40), min_size=5, max_size=5, unique=True),
       st.floats(0.1, 10), st.floats(-50, 50), st.integers(0, 4), st.integers(0, 4))
def test_dlr_is_shift_and_scale_invariant(logits, scale, shift, y, t) -> None:
    z = torch.tensor([logits], dtype=torch.float64) / 2  # distinct, at least 0.5 apart
    yy, tt = torch.tensor([y]), torch.tensor([t])
    assert dlr_loss(scale * z + shift, yy).item() == pytest.approx(dlr_loss(z, yy).item(),
                                                                    rel=1e-6, abs=1e-6)
    assert targeted_dlr_loss(scale * z + shift, yy, tt).item() == pytest.approx(
        targeted_dlr_loss(z, yy, tt).item(), rel=1e-6, abs=1e-6)


def test_dlr_needs_three_classes_and_targeted_dlr_four() -> None:
    x, y = toy_blobs(32, n_classes=2, seed=1)
    with pytest.raises(InputError, match="use apgd-ce"):
        APGDDLR(steps=3).run(toy_mlp(0, n_classes=2), x, y)
    x, y = toy_blobs(32, n_classes=3, seed=1)
    assert APGDDLR(steps=3).run(toy_mlp(0, n_classes=3), x, y).robust_accuracy < 1.0
    with pytest.raises(InputError, match="at least 4 classes"):
        APGDT(steps=3).run(toy_mlp(0, n_classes=3), x, y)


@pytest.mark.parametrize(("norm", "eps"), [("linf", 0.1), ("l2", 0.5)])
def test_apgd_ce_at_least_as_strong_as_pgd_with_the_same_steps(norm, eps) -> None:
    x, y = toy_digits()
    model = toy_digits_mlp(0)
    pgd = PGD(eps=eps, norm=norm, steps=20).run(model, x, y, domain=BOX)
    apgd = APGD(eps=eps, norm=norm, steps=20).run(model, x, y, domain=BOX)
    assert apgd.grad_evals <= pgd.grad_evals  # same budget: one gradient per step
    # at least as strong, up to a point or two of 597: which of a few borderline points
    # each attack finds moves with the CPU's float kernels (one point apart on some machines)
    assert apgd.robust_accuracy <= pgd.robust_accuracy + 3 / len(x)


@pytest.mark.parametrize(("norm", "eps"), [("linf", 0.07), ("l2", 0.17)])
def test_apgd_t_fools_exactly_the_points_within_reach_of_a_linear_model(norm, eps) -> None:
    x, y = toy_blobs(200, seed=3)
    dist = nearest_centroid_distance(x, y, norm=norm)  # exact, by hand
    res = APGDT(eps=eps, norm=norm, steps=30, n_target_classes=3).run(toy_linear_model(), x, y)
    assert (dist < 0.95 * eps).sum() > 50 and (dist > eps).sum() > 50  # both cases occur
    assert not res.fooled[dist > eps].any()  # nothing beyond reach can be fooled
    assert res.fooled[dist < 0.95 * eps].all()  # and everything clearly within reach is


@pytest.mark.parametrize("cls", [APGD, APGDDLR])
@pytest.mark.parametrize(("norm", "eps"), [("linf", 0.07), ("l2", 0.17)])
def test_untargeted_losses_find_most_points_within_reach(cls, norm, eps) -> None:
    # An untargeted loss can peak inside the ball without crossing the boundary to the
    # nearest class (the reason the ensemble adds APGD-T): most, not all, are found.
    x, y = toy_blobs(200, seed=3)
    dist = nearest_centroid_distance(x, y, norm=norm)
    res = cls(eps=eps, norm=norm, steps=30).run(toy_linear_model(), x, y)
    assert not res.fooled[dist > eps].any()
    assert res.fooled[dist < 0.95 * eps].float().mean() >= 0.9


def test_restarts_attack_only_the_points_still_robust() -> None:
    x, y = toy_blobs(64, seed=2)
    model = toy_mlp(0)
    n_correct = int((model.scores(x).argmax(1) == y).sum())
    # eps = 0: nobody can be fooled, so every restart runs its full budget on every point
    res = APGD(eps=0.0, steps=7, restarts=3).run(model, x, y)
    assert res.grad_evals == 3 * 7 * n_correct
    # clean pass + last iterate of the first two restarts + the base class's re-check
    assert res.queries == len(x) + 2 * n_correct + n_correct
    # a budget that fools everything in the first run: more restarts cost nothing
    one = APGD(eps=1.0, steps=7, restarts=1).run(model, x, y, domain=BOX)
    three = APGD(eps=1.0, steps=7, restarts=3).run(model, x, y, domain=BOX)
    assert one.robust_accuracy == three.robust_accuracy == 0.0
    assert one.grad_evals == three.grad_evals < 7 * n_correct


def test_apgd_t_caps_the_targets_and_attacks_survivors_only() -> None:
    x, y = toy_blobs(64, seed=2)
    model = toy_mlp(0)
    n_correct = int((model.scores(x).argmax(1) == y).sum())
    res = APGDT(eps=0.0, steps=4, n_target_classes=20).run(model, x, y)
    assert res.grad_evals == 3 * 4 * n_correct  # 4 classes: 3 targets, not 20
    strong = APGDT(eps=1.0, steps=4, n_target_classes=3).run(model, x, y, domain=BOX)
    assert strong.robust_accuracy == 0.0 and strong.grad_evals < 4 * n_correct


@pytest.mark.parametrize(("cls", "bad", "match"), [
    (APGD, {"steps": 0}, r"apgd-ce\.steps: expected an integer in \[1, 10000\], got 0"),
    (APGD, {"steps": 2.0}, r"apgd-ce\.steps: .* got 2\.0"),
    (APGD, {"restarts": 0}, r"apgd-ce\.restarts"),
    (APGD, {"rho": 1.5}, r"apgd-ce\.rho: expected a finite number in \(0, 1\]"),
    (APGD, {"loss": "hinge"}, r"apgd-ce\.loss: expected one of 'ce', 'dlr'"),
    (APGDT, {"n_target_classes": 0}, r"apgd-t\.n_target_classes"),
    (APGDT, {"steps": -3}, r"apgd-t\.steps"),
])
def test_parameters_are_validated(cls: type, bad: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        cls(**bad)


class _Quantize(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.round(x * 4) / 4  # piecewise constant: zero gradient everywhere


def test_zero_gradients_are_reported(caplog) -> None:
    x, y = toy_blobs(32, seed=1)
    masked = TorchModel(torch.nn.Sequential(_Quantize(), toy_mlp(0).module), n_classes=4)
    with caplog.at_level(logging.WARNING, logger="trustbench.attacks.apgd"):
        res = APGDDLR(eps=0.05, steps=5).run(masked, x, y, domain=BOX)
    assert "zero gradient" in caplog.text
    assert res.grad_evals > 0
