"""A reference profile map-reduced over Parquet shards equals the one-pass profile."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trustbench.errors import InputError
from trustbench.execution import LocalExecutor
from trustbench.monitor.profile import build_profile
from trustbench.monitor.shards import profile_shards
from trustbench.monitor.sketch import CategoricalSketch, NumericSketch

pytest.importorskip("pyarrow")


def table(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    x[rng.random(n) < 0.02] = np.nan
    return pd.DataFrame({"x": x, "y": rng.integers(0, 50, size=n).astype(float),
                         "city": rng.choice(["a", "b", "c", "d"], size=n),
                         "row_id": np.arange(n)})


@pytest.fixture
def shards(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    frame = table()
    folder = tmp_path / "ref"
    folder.mkdir()
    for i, start in enumerate(range(0, len(frame), 1000)):
        frame.iloc[start:start + 1000].to_parquet(folder / f"part-{i:03d}.parquet")
    return folder, frame


def same_exact_parts(a: object, b: object) -> None:
    if isinstance(a, NumericSketch):
        assert isinstance(b, NumericSketch)
        assert (a.n, a.n_missing, a.n_infinite, a.minimum, a.maximum) == (
            b.n, b.n_missing, b.n_infinite, b.minimum, b.maximum)
        assert a.mean == pytest.approx(b.mean, rel=1e-12, abs=1e-12)
        assert a.std == pytest.approx(b.std, rel=1e-12)
    else:
        assert isinstance(a, CategoricalSketch) and isinstance(b, CategoricalSketch)
        assert a.to_dict() == b.to_dict()


def test_sharded_profile_equals_one_pass(shards: tuple[Path, pd.DataFrame]) -> None:
    folder, frame = shards
    sharded = profile_shards(folder, exclude=["row_id"])
    whole = build_profile(frame, exclude=["row_id"])
    assert sharded.rows == whole.rows == len(frame)
    assert sharded.kinds == whole.kinds
    for c in whole.columns:
        same_exact_parts(sharded.columns[c], whole.columns[c])


def test_same_result_in_process_and_in_a_pool(shards: tuple[Path, pd.DataFrame]) -> None:
    folder, _ = shards
    here = profile_shards(folder, exclude=["row_id"], seed=3)
    pool = profile_shards(folder, exclude=["row_id"], seed=3,
                          executor=LocalExecutor(processes=2))
    assert here.to_dict() == pool.to_dict()


def test_bad_sources(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"no \.parquet or \.csv files"):
        profile_shards(tmp_path)
    with pytest.raises(InputError):
        profile_shards([tmp_path / "missing.parquet"])
