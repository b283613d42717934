"""Built-in datasets: shapes, ranges, and splits that partition the data."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer

from trustbench.data import load_builtin, load_data
from trustbench.errors import InputError


def _rows(ds) -> Counter:
    return Counter(xi.tobytes() + bytes([int(yi)]) for xi, yi in zip(ds.x, ds.y, strict=True))


def test_digits_test_split() -> None:
    ds = load_builtin("digits", split="test")
    assert len(ds) == 540
    assert ds.x.shape == (540, 1, 8, 8)
    assert ds.x.dtype == np.float32
    assert ds.x.min() >= 0.0 and ds.x.max() <= 1.0
    assert ds.x.max() == 1.0  # scaled by 16, not by the max of each image
    assert ds.y.dtype == np.int64 and set(np.unique(ds.y)) == set(range(10))
    assert ds.schema.modality == "image"
    assert ds.schema.bounds_source == "declared"
    np.testing.assert_array_equal(ds.schema.lower, np.zeros((1, 8, 8)))
    np.testing.assert_array_equal(ds.schema.upper, np.ones((1, 8, 8)))
    assert ds.name == "digits[test]"
    assert ds.notes == []


@pytest.mark.parametrize(("name", "n_all"), [("digits", 1797), ("breast_cancer", 569)])
def test_train_and_test_partition_the_data(name: str, n_all: int) -> None:
    train = load_builtin(name, split="train")
    test = load_builtin(name, split="test")
    full = load_builtin(name, split="all")
    assert len(full) == n_all
    assert len(train) + len(test) == n_all
    assert len(test) == int(np.ceil(0.3 * n_all))
    # every row of the data is in exactly one split (rows of both datasets are unique)
    assert len(_rows(full)) == n_all
    assert not set(_rows(train)) & set(_rows(test))
    assert _rows(train) + _rows(test) == _rows(full)
    # stratified: class proportions agree to within one example per class
    for c in np.unique(full.y):
        expected = (full.y == c).sum() * 0.3
        assert abs((test.y == c).sum() - expected) <= 1


def test_splits_are_seeded() -> None:
    a = load_builtin("digits", split="test", seed=0)
    b = load_builtin("digits", split="test", seed=0)
    c = load_builtin("digits", split="test", seed=1)
    np.testing.assert_array_equal(a.x, b.x)
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()
    assert len(c) == 540


def test_breast_cancer_shapes_and_data_derived_bounds() -> None:
    raw = load_breast_cancer()
    ds = load_builtin("breast_cancer", split="test")
    assert ds.x.shape == (171, 30) and ds.x.dtype == np.float32
    assert set(np.unique(ds.y)) == {0, 1}
    assert ds.schema.modality == "tabular"
    assert ds.schema.feature_names == list(raw.feature_names)
    assert ds.schema.feature_types == ["numeric"] * 30
    # bounds come from the whole dataset, not from the split: said so in the notes
    assert ds.schema.bounds_source == "data"
    np.testing.assert_array_equal(ds.schema.lower, raw.data.astype(np.float32).min(0))
    np.testing.assert_array_equal(ds.schema.upper, raw.data.astype(np.float32).max(0))
    assert np.all(ds.x >= ds.schema.lower) and np.all(ds.x <= ds.schema.upper)
    assert any("bounds" in n and "min and max" in n for n in ds.notes)
    # raw features, not scaled
    assert ds.x.max() > 100


def test_load_data_by_builtin_name_with_bounds() -> None:
    ds = load_data("digits", bounds=(-1.0, 2.0))
    assert len(ds) == 540
    assert ds.schema.lower.min() == -1.0 and ds.schema.upper.max() == 2.0
    with pytest.raises(InputError, match=r"outside the declared bounds \[0, 10\]"):
        load_data("breast_cancer", bounds=(0.0, 10.0))
    declared = load_data("breast_cancer", bounds=(0.0, 5000.0))
    assert declared.schema.bounds_source == "declared"
    assert not any("bounds" in n for n in declared.notes)


def test_unknown_builtin_and_split() -> None:
    with pytest.raises(InputError, match=r"unknown built-in dataset 'mnist'.*digits, breast_cancer"):
        load_builtin("mnist")
    with pytest.raises(InputError, match=r"split must be 'train', 'test' or 'all', got 'val'"):
        load_builtin("digits", split="val")  # type: ignore[arg-type]
