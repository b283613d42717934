"""``ingest_batch``: a batch streamed into its window chunk by chunk, whole or not at all."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trustbench.errors import InputError
from trustbench.monitor.jobs import ingest_batch, init_monitor
from trustbench.monitor.store import open_store


def _table(n: int, start: int = 0, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    p = rng.uniform(size=n)
    return pd.DataFrame({"id": np.arange(start, start + n), "x": rng.normal(size=n),
                         "p0": 1 - p, "p1": p})


@pytest.fixture
def store(tmp_path: Path, db_url: str):
    _table(1000).to_csv(tmp_path / "ref.csv", index=False)
    with open_store(db_url) as s:
        init_monitor(s, "m", tmp_path / "ref.csv", proba_columns=["p0", "p1"], id_column="id")
        yield s


def test_a_batch_in_many_chunks_is_one_window(store, tmp_path: Path) -> None:
    _table(1050, start=5000, seed=1).to_csv(tmp_path / "b.csv", index=False)
    r = ingest_batch(store, "m", tmp_path / "b.csv", chunk_rows=100)
    assert (r.seq, r.rows, r.duplicate) == (1, 1050, False)
    assert len(store.window_rows("m", 1)) == 1050 and store.window("m").profile.rows == 1050
    again = ingest_batch(store, "m", tmp_path / "b.csv", chunk_rows=100)
    assert again.duplicate and again.seq == 1


def test_ids_repeated_across_chunks_store_nothing(store, tmp_path: Path) -> None:
    t = _table(500, start=5000, seed=1)
    pd.concat([t, t.iloc[:10]]).to_csv(tmp_path / "twice.csv", index=False)
    with pytest.raises(InputError, match="row ids in 'id' repeat"):
        ingest_batch(store, "m", tmp_path / "twice.csv", chunk_rows=100)
    assert store.windows("m") == []
    t.to_csv(tmp_path / "once.csv", index=False)  # the database takes the next batch
    assert ingest_batch(store, "m", tmp_path / "once.csv").seq == 1


def test_a_bad_row_late_in_the_batch_stores_nothing(store, tmp_path: Path) -> None:
    t = _table(600, start=5000, seed=1)
    t.loc[550, "p1"] = 1.7
    t.to_csv(tmp_path / "late.csv", index=False)
    with pytest.raises(InputError, match="row 551"):
        ingest_batch(store, "m", tmp_path / "late.csv", chunk_rows=100)
    assert store.windows("m") == []
