"""Conformance: every registered attack passes the same checks, with its own test_params.

A new attack gets all of these by adding its registry line (scikit-learn's
``parametrize_with_checks`` idea).
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from trustbench.attacks import REGISTRY, Attack, get_attack
from trustbench.domain import Domain
from trustbench.errors import InputError
from trustbench.models import CallableModel, Model, SklearnModel
from trustbench.testing.toy import toy_blobs, toy_digits, toy_digits_mlp, toy_mlp

EPS = {"linf": 0.1, "l2": 0.3}
BOX = Domain(lower=0.0, upper=1.0)
CASES = [pytest.param(name, norm, id=f"{name}-{norm}")
         for name in sorted(REGISTRY) for norm in REGISTRY[name].norms]
NAMES = sorted(REGISTRY)


def make(name: str, norm: str, **changes: object) -> Attack:
    cls = REGISTRY[name]
    return cls(**{"eps": EPS[norm], "norm": norm, "seed": 0, **cls.test_params(), **changes})


@pytest.fixture(scope="module")
def blobs() -> tuple[torch.Tensor, torch.Tensor]:
    return toy_blobs(64, seed=7)


def accuracy(model: Model, x: torch.Tensor, y: torch.Tensor) -> float:
    return float((model.scores(x).argmax(1) == y).float().mean())


def check_feasible(res, x: torch.Tensor, eps: float) -> None:
    assert res.x_adv.shape == x.shape and res.x_adv.dtype == x.dtype
    assert float(res.perturbation_norms(x).max()) <= eps + 1e-5
    assert float(res.x_adv.min()) >= 0.0 and float(res.x_adv.max()) <= 1.0


@pytest.mark.parametrize("name", NAMES)
def test_registry_entry_is_well_formed(name: str) -> None:
    cls = REGISTRY[name]
    assert cls.name == name
    params = inspect.signature(cls.__init__).parameters
    assert all(p.kind is p.KEYWORD_ONLY for k, p in params.items() if k != "self")
    assert {"eps", "norm", "seed"} <= set(params) and set(cls.test_params()) <= set(params)
    attack = get_attack(name, **cls.test_params())
    # __init__ only stores its arguments, so get_params and clone round-trip.
    assert attack.get_params() == {k: p.default for k, p in params.items() if k != "self"} | (
        cls.test_params())
    twin = attack.clone(eps=0.25)
    assert type(twin) is cls and twin.get_params() == attack.get_params() | {"eps": 0.25}
    assert repr(attack).startswith(f"{cls.__name__}(")


def test_unknown_attack_names_the_choices() -> None:
    with pytest.raises(InputError, match="apgd-ce"):
        get_attack("nope")


@pytest.mark.parametrize(("name", "norm"), CASES)
def test_stays_inside_eps_and_bounds_and_reports_true_successes(name, norm, blobs) -> None:
    x, y = blobs
    model = toy_mlp(0)
    res = make(name, norm).run(model, x, y, domain=BOX)
    check_feasible(res, x, EPS[norm])
    assert torch.equal(res.fooled, model.scores(res.x_adv).argmax(1) != y)
    untouched = ~res.fooled  # robust points are reported with their clean input
    assert torch.equal(res.x_adv[untouched], x[untouched])


@pytest.mark.parametrize(("name", "norm"), CASES)
def test_lowers_accuracy_on_a_toy_model(name, norm, blobs) -> None:
    x, y = blobs
    model = toy_mlp(0)
    res = make(name, norm).run(model, x, y, domain=BOX)
    assert res.robust_accuracy <= accuracy(model, x, y) - 0.3


@pytest.mark.parametrize(("name", "norm"), CASES)
def test_images_keep_their_shape_and_budget(name, norm) -> None:
    x, y = toy_digits()
    x, y = x[:40], y[:40]  # (40, 1, 8, 8)
    model = toy_digits_mlp(0)
    res = make(name, norm).run(model, x, y, domain=BOX)
    check_feasible(res, x, EPS[norm])
    assert res.robust_accuracy < accuracy(model, x, y)


@pytest.mark.parametrize(("name", "norm"), CASES)
def test_leaves_input_and_model_untouched(name, norm, blobs) -> None:
    x, y = blobs
    model = toy_mlp(0, batchnorm=True)  # in train() mode, with BatchNorm running statistics
    before = {k: v.clone() for k, v in model.module.state_dict().items()}
    x_before = x.clone()
    make(name, norm).run(model, x, y, domain=BOX)
    assert all(m.training for m in model.module.modules())
    after = model.module.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(p.grad is None for p in model.module.parameters())
    assert torch.equal(x, x_before)


@pytest.mark.parametrize(("name", "norm"), CASES)
def test_same_seed_same_result(name, norm, blobs) -> None:
    x, y = blobs
    model = toy_mlp(0)
    a = make(name, norm, seed=3).run(model, x, y, domain=BOX)
    b = make(name, norm, seed=3).run(model, x, y, domain=BOX)
    assert torch.equal(a.x_adv, b.x_adv) and torch.equal(a.fooled, b.fooled)
    assert (a.queries, a.grad_evals) == (b.queries, b.grad_evals)


@pytest.mark.parametrize(("name", "norm"), CASES)
def test_immutable_features_never_change_and_integers_stay_integer(name, norm, blobs) -> None:
    x, y = blobs
    x = x.clone()
    x[:, [1, 5]] = x[:, [1, 5]].round()  # integer-valued features
    mutable = torch.ones(8, dtype=torch.bool)
    mutable[[0, 3]] = False
    integer = torch.zeros(8, dtype=torch.bool)
    integer[[1, 5]] = True
    upper = torch.ones(8)
    upper[[1, 5]] = 3.0
    domain = Domain(lower=0.0, upper=upper, mutable=mutable, integer=integer)
    eps = {"linf": 1.0, "l2": 2.0}[norm]  # large enough that integer features may move
    res = make(name, norm, eps=eps).run(toy_mlp(0), x, y, domain=domain)
    assert torch.equal(res.x_adv[:, ~mutable], x[:, ~mutable])
    assert torch.equal(res.x_adv[:, integer], res.x_adv[:, integer].round())
    assert domain.contains(res.x_adv, atol=0.0)
    assert float(res.perturbation_norms(x).max()) <= eps + 1e-5
    assert res.fooled.float().mean() > 0.5  # the attack still worked on the other features


def _black_box_models() -> list[tuple[str, Model]]:
    x, y = toy_blobs(256, seed=11)
    logreg = LogisticRegression(C=10.0, max_iter=500).fit(x.numpy(), y.numpy())
    mlp = toy_mlp(1)

    def probabilities(a: np.ndarray) -> np.ndarray:
        return torch.softmax(mlp.scores(torch.from_numpy(a)), 1).numpy()

    return [("sklearn", SklearnModel(logreg)), ("callable", CallableModel(probabilities))]


@pytest.mark.parametrize("name", NAMES)
def test_black_box_models(name, blobs) -> None:
    x, y = blobs
    for _, model in _black_box_models():
        attack = make(name, "linf", eps=0.15)
        if attack.requires_gradients:
            with pytest.raises(InputError, match="black-box"):
                attack.run(model, x, y, domain=BOX)
            continue
        res = attack.run(model, x, y, domain=BOX)
        check_feasible(res, x, 0.15)
        assert res.grad_evals == 0
        assert res.robust_accuracy <= accuracy(model, x, y) - 0.3
