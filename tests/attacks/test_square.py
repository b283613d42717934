"""Square Attack: query budget, black-box use, any input shape, the reference schedule."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from torch import nn

from trustbench.attacks import APGDT, Square
from trustbench.attacks.square import _bump, p_selection
from trustbench.domain import Domain
from trustbench.errors import InputError
from trustbench.models import CallableModel, SklearnModel, TorchModel
from trustbench.testing.toy import toy_blobs, toy_digits, toy_digits_mlp, toy_mlp

BOX = Domain(lower=0.0, upper=1.0)


def test_p_schedule_is_the_references() -> None:
    assert p_selection(0.8, 0, 10000) == 0.8
    assert p_selection(0.8, 10, 10000) == 0.8 and p_selection(0.8, 11, 10000) == 0.4
    assert p_selection(0.8, 600, 10000) == 0.8 / 16
    assert p_selection(0.8, 9999, 10000) == 0.8 / 512
    assert p_selection(0.8, 6, 1000) == 0.2  # rescaled: iteration 6 of 1000 is 60 of 10000
    assert p_selection(0.8, 6, 1000, rescale=False) == 0.8


def test_bump_matches_the_reference_rectangles() -> None:
    # eta_rectangles(3, 3): centre 1 + 1/4, ring 1/4, normalised
    want = torch.full((3, 3), 0.25)
    want[1, 1] = 1.25
    assert torch.allclose(_bump(3, 3), want / want.norm())


def test_query_budget_is_exact_per_robust_point() -> None:
    x, y = toy_blobs(40, seed=4)
    model = toy_mlp(0)
    n_correct = int((model.scores(x).argmax(1) == y).sum())
    res = Square(eps=0.0, n_queries=37).run(model, x, y)  # nothing can be fooled
    # clean pass for all, then exactly n_queries per attacked point, then the re-check
    assert res.queries == len(x) + n_correct * 37 + n_correct
    assert res.grad_evals == 0


def test_fooled_points_stop_querying() -> None:
    x, y = toy_blobs(40, seed=4)
    res = Square(eps=0.5, n_queries=1000).run(toy_mlp(0), x, y, domain=BOX)
    assert res.robust_accuracy == 0.0
    assert res.queries < 40 * 1000 / 20


@pytest.mark.parametrize("norm", ["linf", "l2"])
def test_black_box_logistic_regression_close_to_white_box(norm) -> None:
    xt, yt = toy_blobs(400, seed=21)
    logreg = LogisticRegression(C=10.0, max_iter=1000).fit(xt.numpy(), yt.numpy())
    x, y = toy_blobs(100, seed=22)
    eps = {"linf": 0.08, "l2": 0.2}[norm]
    black = Square(eps=eps, norm=norm, n_queries=300).run(SklearnModel(logreg), x, y,
                                                           domain=BOX)
    # the same linear model with gradients, attacked by APGD-T
    layer = nn.Linear(8, 4)
    with torch.no_grad():
        layer.weight.copy_(torch.as_tensor(logreg.coef_))
        layer.bias.copy_(torch.as_tensor(logreg.intercept_))
    white = APGDT(eps=eps, norm=norm, steps=50).run(TorchModel(layer), x, y, domain=BOX)
    assert black.clean_correct.float().mean() > 0.85
    assert black.robust_accuracy < black.clean_correct.float().mean() - 0.3
    assert abs(black.robust_accuracy - white.robust_accuracy) <= 0.1


def test_margin_on_probabilities_equals_margin_on_logits() -> None:
    x, y = toy_blobs(60, seed=5)
    model = toy_mlp(0)

    def probabilities(a: np.ndarray) -> np.ndarray:
        return torch.softmax(model.scores(torch.from_numpy(a)), 1).numpy()

    a = Square(eps=0.1, n_queries=150).run(model, x, y, domain=BOX)
    b = Square(eps=0.1, n_queries=150).run(CallableModel(probabilities), x, y, domain=BOX)
    assert torch.equal(a.fooled, b.fooled)
    assert torch.allclose(a.x_adv, b.x_adv)


def _flat_model(shape: tuple[int, ...]) -> TorchModel:
    n_in = int(np.prod(shape))
    g = torch.Generator().manual_seed(0)
    layer = nn.Linear(n_in, 4)
    with torch.no_grad():
        layer.weight.copy_(3 * torch.randn(4, n_in, generator=g))
        layer.bias.copy_(torch.randn(4, generator=g))  # boundaries inside [0, 1] even in 1-D
    return TorchModel(nn.Sequential(nn.Flatten(), layer))


@pytest.mark.parametrize("norm", ["linf", "l2"])
@pytest.mark.parametrize("shape", [(1,), (2,), (3,), (13,), (1, 1, 1), (8, 8), (3, 4, 5),
                                   (1, 9, 1), (2, 3, 4, 4)])
def test_any_input_shape(shape, norm) -> None:
    g = torch.Generator().manual_seed(1)
    x = torch.rand((30, *shape), generator=g)
    model = _flat_model(shape)
    y = model.scores(x).argmax(1)  # every point starts correct
    eps = {"linf": 0.3, "l2": 1.0}[norm]
    res = Square(eps=eps, norm=norm, n_queries=60).run(model, x, y, domain=BOX)
    assert res.x_adv.shape == x.shape
    assert float(res.perturbation_norms(x).max()) <= eps + 1e-5
    assert res.robust_accuracy < 1.0


def test_l2_spends_the_whole_budget_when_unbounded() -> None:
    x, y = toy_digits()
    x, y = x[:40], y[:40]
    res = Square(eps=1.0, norm="l2", n_queries=200).run(toy_digits_mlp(0), x, y)
    norms = res.perturbation_norms(x)[res.fooled & res.clean_correct]
    assert len(norms) > 10 and torch.allclose(norms, torch.ones_like(norms), atol=1e-4)


def test_linf_moves_every_mutable_feature_to_a_corner() -> None:
    x, y = toy_blobs(40, seed=6)
    res = Square(eps=0.1, n_queries=100).run(toy_mlp(0), x, y)  # unbounded: no clipping
    delta = (res.x_adv - x)[res.fooled & res.clean_correct]
    assert len(delta) > 10 and torch.allclose(delta.abs(), torch.full_like(delta, 0.1), atol=1e-6)


@pytest.mark.parametrize(("bad", "match"), [
    ({"n_queries": 0}, r"square\.n_queries: expected an integer in \[1, 10000000\], got 0"),
    ({"n_queries": True}, r"square\.n_queries: .* got true"),
    ({"p_init": 0.0}, r"square\.p_init: expected a finite number in \(0, 1\]"),
    ({"p_init": 1.5}, r"square\.p_init"),
    ({"rescale_schedule": 1}, r"square\.rescale_schedule: expected true or false"),
])
def test_parameters_are_validated(bad: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        Square(**bad)
    attack = Square()
    attack.n_queries = 0  # changed after construction: run checks again before any work
    with pytest.raises(InputError, match="n_queries"):
        attack.run(toy_mlp(0), *toy_blobs(8))
