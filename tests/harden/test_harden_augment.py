"""Hardening black-box models by augmentation: a measurable gain on breast_cancer, perturbed
rows inside the threat model, the original estimator untouched."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.base import clone as sk_clone
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from trustbench.attacks import get_attack
from trustbench.data import Dataset, Schema, load_builtin
from trustbench.errors import InputError
from trustbench.harden import harden_by_augmentation
from trustbench.models import SklearnModel
from trustbench.models.rescaled import RangeScaled

EPS = 0.05  # 5% of each feature's range


def _mlp():
    return make_pipeline(StandardScaler(),
                         MLPClassifier(hidden_layer_sizes=(32,), max_iter=500, random_state=0))


def _black_box_robust_accuracy(estimator, test: Dataset) -> float:
    schema = test.schema
    model = RangeScaled(SklearnModel(estimator), schema.lower, schema.span)
    res = get_attack("square", eps=EPS, n_queries=200, seed=123).run(
        model, torch.from_numpy(schema.to_units(test.x)), torch.from_numpy(test.y),
        domain=schema.domain(units="range"))
    return res.robust_accuracy


# the MLP stops at max_iter on the augmented data; that is the user's estimator's setting
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_square_augmentation_raises_black_box_robust_accuracy() -> None:
    train = load_builtin("breast_cancer", split="train")
    test = load_builtin("breast_cancer", split="test")
    estimator = _mlp()
    before = _black_box_robust_accuracy(sk_clone(estimator).fit(train.x, train.y), test)
    result = harden_by_augmentation(estimator, train, eps=EPS, method="square", rounds=4,
                                    n_queries=100, seed=0)
    after = _black_box_robust_accuracy(result.estimator, test)
    assert after > before + 0.05, (before, after)
    assert result.n_adversarial == sum(result.rounds) > 0
    assert result.eps_units == "range"
    assert not hasattr(estimator[-1], "coefs_")  # the estimator given was not fitted


class Recording(ClassifierMixin, BaseEstimator):
    """Remembers what it was fitted on; predicts the majority class."""

    def fit(self, x, y):
        self.x_, self.y_ = np.asarray(x), np.asarray(y)
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, x):
        p = np.zeros((len(x), len(self.classes_)))
        p[:, 0] = 1.0
        return p


def test_noise_copies_stay_in_the_eps_ball_and_bounds() -> None:
    data = load_builtin("breast_cancer", split="train")
    result = harden_by_augmentation(Recording(), data, eps=0.1, method="noise", n_copies=2,
                                    seed=0)
    est = result.estimator
    n = len(data)
    assert est.x_.shape == (3 * n, data.x.shape[1]) and result.n_noise == 2 * n
    assert np.array_equal(est.y_, np.tile(data.y, 3))
    span = data.schema.span
    for k in (1, 2):
        copy = est.x_[k * n : (k + 1) * n]
        assert np.all(np.abs(copy - data.x) <= 0.1 * span + 1e-3 * (1 + np.abs(data.x)))
        assert np.all(copy >= data.schema.lower - 1e-4) and np.all(copy <= data.schema.upper + 1e-4)
        assert not np.allclose(copy, data.x)


def test_images_use_raw_units() -> None:
    x = np.random.default_rng(0).random((20, 1, 4, 4), dtype=np.float32)
    data = Dataset(x, np.arange(20) % 2, Schema.from_data(x, bounds=(0.0, 1.0)))
    result = harden_by_augmentation(Recording(), data, eps=0.05, method="noise")
    assert result.eps_units == "raw"
    assert np.abs(result.estimator.x_[20:] - x).max() <= 0.05 + 1e-6


@pytest.mark.parametrize("kwargs, needle", [
    ({"method": "pgd"}, "method"), ({"rounds": 0}, "rounds"), ({"eps": -0.1}, "eps")])
def test_bad_arguments(kwargs: dict, needle: str) -> None:
    data = load_builtin("breast_cancer", split="train")
    with pytest.raises(InputError, match=needle):
        harden_by_augmentation(Recording(), data, **({"eps": 0.1} | kwargs))


def test_estimator_without_predict_proba_is_refused() -> None:
    data = load_builtin("breast_cancer", split="train")
    with pytest.raises(InputError, match="predict_proba"):
        harden_by_augmentation(object(), data, eps=0.1)
