"""The exact-duplicate pass over shards finds what one pass over the whole table finds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trustbench.audit.shards import exact_duplicates_shards
from trustbench.errors import InputError
from trustbench.execution import LocalExecutor

pytest.importorskip("pyarrow")


def test_repeats_across_shards_are_found_exactly(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.integers(0, 1000, 3000), "b": rng.integers(0, 1000, 3000),
                          "id": np.arange(3000)})
    frame = pd.concat([frame, frame.iloc[[5, 5, 2999, 1200]].assign(id=[9000, 9001, 9002, 9003])],
                      ignore_index=True)  # planted: row 5 twice more, 2999 and 1200 once
    files = []
    for i, start in enumerate(range(0, len(frame), 1001)):
        path = tmp_path / f"s{i}.parquet"
        frame.iloc[start:start + 1001].to_parquet(path)
        files.append(path)
    whole = pd.util.hash_pandas_object(frame[["a", "b"]], index=False)
    expected = int(whole.duplicated().sum())
    got = exact_duplicates_shards(files, exclude=["id"])
    assert got.rows == len(frame) and got.repeats == expected >= 4
    assert got.largest_group >= 3
    pooled = exact_duplicates_shards(files, exclude=["id"], executor=LocalExecutor(processes=2))
    assert pooled == got
    with pytest.raises(InputError, match="no column 'zzz'"):
        exact_duplicates_shards(files, features=["zzz"])
