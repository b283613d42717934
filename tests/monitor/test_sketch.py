from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trustbench.monitor.sketch import OTHER, CategoricalSketch, NumericSketch, sketch_from_dict


def test_numeric_sketch_counts_moments_and_missing() -> None:
    s = NumericSketch.of([1.0, 2.0, np.nan, np.inf, 4.0, None], rng=np.random.default_rng(0))
    assert (s.n, s.n_missing, s.n_infinite, s.rows) == (3, 2, 1, 6)
    assert (s.minimum, s.maximum) == (1.0, 4.0)
    assert s.mean == pytest.approx(7 / 3) and s.std == pytest.approx(np.std([1, 2, 4], ddof=1))
    assert s.exact and s.values.tolist() == [1.0, 2.0, 4.0]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=300), st.integers(1, 299))
def test_merging_chunks_equals_sketching_the_whole(values: list[float], cut: int) -> None:
    rng = np.random.default_rng(1)
    whole = NumericSketch.of(values, rng=rng)
    merged = NumericSketch.of(values[:cut], rng=rng).merge(NumericSketch.of(values[cut:], rng=rng))
    assert merged.n == whole.n and merged.minimum == whole.minimum
    assert merged.mean == pytest.approx(whole.mean, rel=1e-9, abs=1e-6)
    assert merged.m2 == pytest.approx(whole.m2, rel=1e-6, abs=1e-3)
    assert merged.values.tolist() == whole.values.tolist()  # every value kept, sorted


def test_a_capped_sample_is_uniform_and_bounded() -> None:
    rng = np.random.default_rng(2)
    parts = [NumericSketch.of(np.arange(i * 1000, (i + 1) * 1000, dtype=float), rng=rng,
                              sample_size=500) for i in range(10)]
    s = parts[0]
    for p in parts[1:]:
        s = s.merge(p)
    assert s.n == 10_000 and len(s.values) == 500 and not s.exact
    # a uniform sample of 0..9999: each tenth holds about 50 values
    tenths = np.bincount((s.values // 1000).astype(int), minlength=10)
    assert tenths.min() > 25 and tenths.max() < 80
    assert s.mean == pytest.approx(4999.5)


def test_categorical_sketch_counts_and_pools_the_rarest() -> None:
    s = CategoricalSketch.of(["a", "b", "a", None, np.nan, 1.0, 1])
    assert s.counts == {"a": 2, "b": 1, "1": 2} and s.n_missing == 2
    capped = CategoricalSketch.of(list("aaaabbbccd"), max_categories=3)
    assert capped.counts == {"a": 4, "b": 3, OTHER: 3}
    merged = CategoricalSketch.of(pd.Series(["x", "y"])).merge(CategoricalSketch.of(["x"]))
    assert merged.counts == {"x": 2, "y": 1}


def test_sketches_round_trip_through_json() -> None:
    rng = np.random.default_rng(3)
    for s in (NumericSketch.of(rng.normal(size=100), rng=rng), NumericSketch(),
              CategoricalSketch.of(["a", "b", None])):
        back = sketch_from_dict(json.loads(json.dumps(s.to_dict())))
        assert back.to_dict() == s.to_dict()
    with pytest.raises(ValueError, match="unknown sketch kind"):
        sketch_from_dict({"kind": "text"})
