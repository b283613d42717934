"""Declared bounds (``--bounds``, a schema file, NPZ ``lower``/``upper``) must be finite, fit
float32 and have lower below upper; otherwise a clear error, never NaN or infinite eps."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trustbench.data import load_data
from trustbench.data.schema_file import check_bounds
from trustbench.errors import InputError


@pytest.fixture
def csv(tmp_path: Path) -> Path:
    path = tmp_path / "t.csv"
    pd.DataFrame({"a": [0.5, 0.1, 0.9], "b": [1, 2, 3], "label": [0, 1, 0]}).to_csv(path,
                                                                                  index=False)
    return path


@pytest.mark.parametrize(("bounds", "message"), [
    ((float("nan"), 1.0), "--bounds nan,1: bounds must be finite numbers"),
    ((float("-inf"), float("inf")), "--bounds -inf,inf: bounds must be finite numbers"),
    ((0.0, float("inf")), "--bounds 0,inf: bounds must be finite numbers"),
    ((1.0, 0.0), "--bounds 1,0: the lower bound must be below the upper bound"),
    ((1.0, 1.0), "--bounds 1,1: the lower bound must be below the upper bound"),
    ((0.0, 1e39), "--bounds 0,1e+39: bounds beyond float32's range"),
    ((-3e38, 3e38), "--bounds -3e+38,3e+38: bounds beyond float32's range"),  # the range overflows
])
@pytest.mark.parametrize("spec", ["csv", "breast_cancer"])
def test_bad_declared_bounds(csv: Path, bounds: tuple[float, float], message: str,
                             spec: str) -> None:
    with pytest.raises(InputError, match="^" + re.escape(message)) as e:
        load_data(csv if spec == "csv" else spec, bounds=bounds)
    assert "LOWER < UPPER" in str(e.value)


def test_good_declared_bounds(csv: Path) -> None:
    ds = load_data(csv, bounds=(-1.0, 5.0))
    np.testing.assert_array_equal(ds.schema.lower, [-1, -1])
    np.testing.assert_array_equal(ds.schema.upper, [5, 5])


@pytest.mark.parametrize(("text", "message"), [
    ('{"bounds": [NaN, 1]}', r"'bounds' is \[nan, 1\]: bounds must be finite numbers"),
    ('{"bounds": [0, Infinity]}', r"'bounds' is \[0, inf\]: bounds must be finite"),
    ('{"bounds": [-Infinity, Infinity]}', "bounds must be finite"),
    ('{"bounds": [2, 1]}', "the lower bound must be below the upper bound"),
    ('{"bounds": [1, 1]}', "the lower bound must be below the upper bound"),
    ('{"features": {"a": {"min": NaN}}}', r"features\.a\.min is nan; expected a finite number"),
    ('{"features": {"a": {"max": -Infinity}}}', r"features\.a\.max is -inf; expected a finite"),
    ('{"features": {"a": {"min": 1, "max": 0}}}',
     r"features\.a has min 1 and max 0: the lower bound must be at most the upper bound"),
    ('{"features": {"a": {"min": 5}}}',
     r"feature 'a' gets min 5 above max 0\.9 \(one of them taken from the data\) -- declare "
     "both min and max"),
])
def test_bad_bounds_in_a_schema_file(csv: Path, tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "s.json").write_text(text)
    with pytest.raises(InputError, match=r"s\.json: .*" + message):
        load_data(csv, schema=tmp_path / "s.json")


def test_equal_min_and_max_pin_one_feature(csv: Path, tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text('{"features": {"b": {"min": 0, "max": 0}}}')
    with pytest.raises(InputError, match="3 rows hold values outside the declared bounds"):
        load_data(csv, schema=tmp_path / "s.json")  # accepted as a declaration, then checked
    (tmp_path / "s.json").write_text('{"features": {"a": {"min": 0, "max": 1}, '
                                     '"b": {"min": 0, "max": 3}}}')
    np.testing.assert_array_equal(load_data(csv, schema=tmp_path / "s.json").schema.span, [1, 3])


def test_check_bounds_on_arrays() -> None:
    check_bounds(np.zeros(3), np.array([1.0, 0.0, 2.0]), what="x", fix="f", allow_equal=True)
    with pytest.raises(InputError, match="x: the lower bound must be below the upper bound -- f"):
        check_bounds(np.zeros(3), np.array([1.0, 0.0, 2.0]), what="x", fix="f")
    with pytest.raises(InputError, match="x: bounds must be finite numbers"):
        check_bounds(np.zeros(2), np.array([1.0, np.nan]), what="x", fix="f")
