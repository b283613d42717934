"""What each tabular shift does, on synthetic columns with known spreads."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from shift_fixtures import CATEGORICAL
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from trustbench.domain import Domain
from trustbench.errors import InputError
from trustbench.models import SklearnModel
from trustbench.shifts import (
    CategorySwap,
    FeatureNoise,
    FeatureOffset,
    FeatureScale,
    LabelShift,
    MissingValues,
    model_accepts_nan,
)
from trustbench.shifts.base import to_domain
from trustbench.testing.toy import toy_mlp


@pytest.fixture
def columns() -> np.ndarray:
    """(4000, 3) float64 columns with standard deviations 1, 10 and 0.1."""
    rng = np.random.default_rng(3)
    return rng.standard_normal((4000, 3)) * np.array([1.0, 10.0, 0.1]) + 5.0


def test_feature_noise_is_scaled_by_each_columns_spread(columns) -> None:
    out = FeatureNoise().apply(columns, 4, 0)  # 0.7 standard deviations
    ratio = (out - columns).std(0) / columns.std(0)
    assert np.allclose(ratio, 0.7, atol=0.03)


def test_feature_offset_moves_each_mean_by_the_level(columns) -> None:
    out = FeatureOffset().apply(columns, 3, 0)  # half a standard deviation, up or down
    assert np.allclose(np.abs(out.mean(0) - columns.mean(0)), 0.5 * columns.std(0))


def test_feature_scale_keeps_means_and_multiplies_or_divides_spreads(columns) -> None:
    out = FeatureScale().apply(columns, 4, 0)  # x2 or /2
    assert np.allclose(out.mean(0), columns.mean(0))
    ratio = out.std(0) / columns.std(0)
    assert np.all(np.isclose(ratio, 2.0) | np.isclose(ratio, 0.5))


def test_missing_values_fill_with_the_clean_mean_or_leave_nan(columns) -> None:
    out = MissingValues().apply(columns, 5, 0)  # half the entries
    filled = out != columns
    assert abs(filled.mean() - 0.5) < 0.02
    assert np.allclose(out[filled], np.broadcast_to(columns.mean(0), columns.shape)[filled])
    frozen = Domain(mutable=torch.tensor([True, False, True]))
    nan = MissingValues(fill="nan").apply(columns, 5, 0, domain=frozen)
    assert np.array_equal(np.isnan(nan), filled & np.array([True, False, True]))
    assert "NaN" in MissingValues(fill="nan").describe() and "mean" in MissingValues().describe()
    with pytest.raises(InputError, match="fill must be 'mean' or 'nan'"):
        MissingValues(fill="zero").apply(columns, 1, 0)  # type: ignore[arg-type]


def test_the_model_decides_how_missing_values_are_filled() -> None:
    rng = np.random.default_rng(0)
    x = rng.random((60, 4)).astype(np.float32)
    y = (x[:, 0] > 0.5).astype(int)
    plain = SklearnModel(LogisticRegression().fit(x, y))
    imputing = SklearnModel(make_pipeline(SimpleImputer(), LogisticRegression()).fit(x, y))
    xt = torch.from_numpy(x)
    every = np.ones(4, dtype=bool)
    assert not model_accepts_nan(plain, xt, every)
    assert model_accepts_nan(imputing, xt, every)
    assert not model_accepts_nan(toy_mlp(0, n_features=4), xt, every)  # NaN scores
    assert MissingValues.from_data(model=plain, x=xt).get_params() == {"fill": "mean"}
    shift = MissingValues.from_data(model=imputing, x=xt)
    assert shift.get_params() == {"fill": "nan"}
    out = shift.apply(xt, 5, 0)
    assert torch.isnan(out).any() and torch.isfinite(imputing.scores(out)).all()


def test_category_swap_changes_only_categorical_codes_to_other_seen_values(tabular) -> None:
    shift = CategorySwap.from_data(schema=tabular.schema)
    assert shift.get_params() == {"features": (CATEGORICAL,)}
    out = shift.apply(tabular.x, 5, 0, domain=tabular.domain)
    changed = out != tabular.x
    assert changed[:, CATEGORICAL].any() and not changed[:, :CATEGORICAL].any()
    assert not changed[:, CATEGORICAL + 1:].any()
    seen = set(tabular.x[:, CATEGORICAL].tolist())
    assert set(out[:, CATEGORICAL].tolist()) <= seen
    assert abs(float(changed[:, CATEGORICAL].float().mean()) - 0.5) < 0.1
    assert torch.equal(CategorySwap().apply(tabular.x, 5, 0, domain=tabular.domain), tabular.x)
    with pytest.raises(InputError, match="feature index 99 is out of range"):
        CategorySwap(features=(99,)).apply(tabular.x, 1, 0)


def test_label_shift_makes_the_rarest_class_dominate_with_exact_counts() -> None:
    y = np.array([0] * 70 + [1] * 20 + [2] * 10)
    idx = LabelShift().resample(y, 5, 0)  # w = 0.95 toward class 2
    counts = np.bincount(y[idx], minlength=3)
    assert len(idx) == 100 and counts.tolist() == [4, 1, 95]
    uses = np.bincount(idx, minlength=100)[90:]  # class 2's rows: each 9 or 10 times
    assert set(uses.tolist()) <= {9, 10}
    idx1 = LabelShift(target=0).resample(y, 1, 0)  # 0.8 * 0.7 + 0.2 = 0.76
    assert np.bincount(y[idx1], minlength=3)[0] == 76
    with pytest.raises(InputError, match="target class 7 is not among the labels"):
        LabelShift(target=7).resample(y, 1, 0)
    x = np.random.default_rng(0).random((100, 2))
    assert np.array_equal(LabelShift().apply(x, 5, 0), x)  # inputs are not shifted


def test_to_domain_rounds_integers_inside_the_bounds_and_keeps_nan() -> None:
    domain = Domain(lower=torch.tensor([0.0, 0.0]), upper=torch.tensor([1.0, 1.0]),
                    integer=torch.tensor([True, False]),
                    integer_step=torch.tensor([0.25, 0.0]))
    x = np.array([[0.5, 0.5], [0.75, 0.5]])
    out = to_domain(np.array([[0.61, np.nan], [1.2, -3.0]]), x, domain)
    assert np.allclose(out[:, 0], [0.5, 1.0]) and np.isnan(out[0, 1]) and out[1, 1] == 0.0
    assert np.allclose(to_domain(np.array([[0.66, 0.5]]), x[:1], domain)[0, 0], 0.75)
