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


def _labelled(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    p1 = 1 / (1 + np.exp(-(x1 + x2)))
    return pd.DataFrame({"id": np.arange(n), "x1": x1, "x2": x2,
                         "region": rng.choice(["n", "s", "e"], n),
                         "y": (rng.random(n) < p1).astype(int), "p0": 1 - p1, "p1": p1})


def test_init_from_a_folder_of_shards_is_the_same_in_process_and_in_a_pool(
        tmp_path: Path) -> None:
    """Profile, calibration and baseline of a sharded reference: identical on any executor."""
    pytest.importorskip("sqlalchemy")
    from trustbench.monitor.jobs import init_monitor
    from trustbench.monitor.store import open_store

    frame = _labelled()
    folder = tmp_path / "ref"
    folder.mkdir()
    for i in range(3):
        frame.iloc[i * 1000:(i + 1) * 1000].to_parquet(folder / f"r{i}.parquet", index=False)
    whole = tmp_path / "ref.csv"
    frame.to_csv(whole, index=False)
    roles = {"proba_columns": ["p0", "p1"], "label_column": "y", "id_column": "id",
             "group_column": "region"}
    got = {}
    with open_store(tmp_path / "h.db") as store:
        for name, source, executor in (("here", folder, None),
                                       ("pool", folder, LocalExecutor(processes=2)),
                                       ("file", whole, None)):
            init_monitor(store, name, source, executor=executor, **roles)
            got[name] = (store.profile(name), store.calibration(name),
                         store.version(name)["outputs"], store.settings(name))
    here, pool, file = got["here"], got["pool"], got["file"]
    assert here[0].to_dict() == pool[0].to_dict()
    assert here[1] == pool[1] and here[3] == pool[3]  # calibration, settings
    assert {k: v.to_dict() for k, v in here[2].items()} == {
        k: v.to_dict() for k, v in pool[2].items()}  # the reference outputs' sketches
    assert here[0].rows == file[0].rows == len(frame)
    for c in file[0].columns:  # one pass over the whole file: the same exact parts
        same_exact_parts(here[0].columns[c], file[0].columns[c])
    assert here[1] is not None and here[3]["classes"] == 2


def test_a_reference_shard_with_other_columns_is_named(tmp_path: Path) -> None:
    pytest.importorskip("sqlalchemy")
    from trustbench.monitor.jobs import init_monitor
    from trustbench.monitor.store import open_store

    frame = _labelled(600)
    folder = tmp_path / "ref"
    folder.mkdir()
    frame.iloc[:300].to_parquet(folder / "a.parquet", index=False)
    frame.iloc[300:].drop(columns="x2").to_parquet(folder / "b.parquet", index=False)
    with open_store(tmp_path / "h.db") as store:
        with pytest.raises(InputError, match=r"b\.parquet: columns differ .*missing \['x2'\]"):
            init_monitor(store, "m", folder, proba_columns=["p0", "p1"])
        assert store.monitors() == []


def test_a_reference_without_rows_is_refused(tmp_path: Path) -> None:
    pytest.importorskip("sqlalchemy")
    from trustbench.monitor.jobs import init_monitor
    from trustbench.monitor.store import open_store

    (tmp_path / "empty.csv").write_text("x1,x2,region\n")
    with open_store(tmp_path / "h.db") as store:
        with pytest.raises(InputError, match=r"empty\.csv: no rows"):
            init_monitor(store, "m", tmp_path / "empty.csv")
        assert store.monitors() == []
