"""The audit's mergeable passes over shards find what one pass over the whole table finds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trustbench.audit import audit
from trustbench.audit.shards import audit_shards, exact_duplicates_shards
from trustbench.audit.sketches import DISTINCT_K, TOP_CAPACITY, sketch_column
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
    with pytest.raises(InputError, match="column 'zzz' does not exist"):
        exact_duplicates_shards(files, features=["zzz"])


def _table(n: int = 4000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "id": np.arange(n), "x": rng.normal(size=n).round(1), "k": rng.integers(0, 5, n),
        "c": rng.choice(["a", "b", "c", "d"], n, p=[0.4, 0.3, 0.2, 0.1]),
        "g": rng.choice(["m", "f"], n),
        "t": pd.date_range("2020-01-01", periods=n, freq="h").astype(str),
        "y": rng.integers(0, 3, n)})
    frame.loc[rng.choice(n, 150, replace=False), "x"] = np.nan
    copies = frame.sample(300, random_state=1).assign(id=np.arange(n, n + 300))
    copies.loc[copies.index[:40], "y"] = (copies["y"].iloc[:40] + 1) % 3  # conflicting labels
    return pd.concat([frame, copies], ignore_index=True)


def _shards(frame: pd.DataFrame, folder: Path, k: int) -> Path:
    folder.mkdir()
    for i, part in enumerate(np.array_split(np.arange(len(frame)), k)):
        frame.iloc[part].reset_index(drop=True).to_parquet(folder / f"part-{i:02d}.parquet")
    return folder


def _same_profile(a: list[dict], b: list[dict]) -> None:
    assert [c["name"] for c in a] == [c["name"] for c in b]
    for x, y in zip(a, b, strict=True):
        if "mean" in x:
            assert y["mean"] == pytest.approx(x["mean"], rel=1e-12, abs=1e-15)
        x, y = dict(x), dict(y)
        x.pop("mean", None), y.pop("mean", None)
        if x.get("top_values_error"):  # a Misra-Gries summary past its capacity: bounds only
            x.pop("top_values"), y.pop("top_values")
            x.pop("top_values_error"), y.pop("top_values_error")
        assert x == y


def test_a_sharded_audit_equals_the_audit_of_the_whole_table(tmp_path: Path) -> None:
    frame = _table()
    whole = tmp_path / "all.csv"
    frame.to_csv(whole, index=False)
    folder = _shards(frame, tmp_path / "shards", 5)
    roles = {"target": "y", "groups": ["g"], "id_column": "id", "time_column": "t"}
    one = audit(str(whole), **roles, checks=["duplicates"])
    sharded = audit_shards(folder, **roles)
    by_id = {f.id: f for f in one.findings}
    for f in sharded.findings:
        if f.id == "provenance":
            continue
        assert f.title == by_id[f.id].title and f.severity == by_id[f.id].severity
        assert {k: m.value for k, m in f.metrics.items()} == {
            k: m.value for k, m in by_id[f.id].metrics.items()}
    assert {f.id for f in sharded.findings} >= {"audit.duplicates.exact",
                                                "audit.duplicates.conflicting_labels"}
    _same_profile(one.provenance["columns"], sharded.provenance["columns"])
    assert sharded.provenance["classes"] == one.provenance["classes"]
    assert sharded.provenance["data"]["train"]["rows"] == len(frame)
    assert any("label_errors" in m for m in sharded.not_measured)
    pooled = audit_shards(folder, **roles, executor=LocalExecutor(processes=2))
    assert [f.to_dict() for f in pooled.findings if f.id != "provenance"] == [
        f.to_dict() for f in sharded.findings if f.id != "provenance"]
    assert pooled.provenance["columns"] == sharded.provenance["columns"]


def test_the_profile_does_not_depend_on_how_the_rows_are_split(tmp_path: Path) -> None:
    frame = _table(seed=3)
    a = audit_shards(_shards(frame, tmp_path / "two", 2), target="y")
    b = audit_shards(_shards(frame, tmp_path / "seven", 7), target="y")
    _same_profile(a.provenance["columns"], b.provenance["columns"])


def test_distinct_counts_are_exact_then_estimated_within_two_percent() -> None:
    rng = np.random.default_rng(0)
    small = pd.Series(rng.integers(0, DISTINCT_K, 50_000)).astype(float)
    assert sketch_column("s", small, "numeric").distinct == small.nunique()
    big = pd.Series(rng.permutation(200_000).astype(str))
    parts = [sketch_column("b", big.iloc[i:i + 50_000], "categorical")
             for i in range(0, 200_000, 50_000)]
    merged = parts[0]
    for p in parts[1:]:
        merged = merged.merge(p)
    assert merged.saturated and abs(merged.distinct - 200_000) / 200_000 < 0.02
    whole = sketch_column("b", big, "categorical")
    assert merged.distinct == whole.distinct  # the same K smallest hashes, however split


def test_top_values_past_capacity_keep_every_frequent_value_with_a_bound() -> None:
    rng = np.random.default_rng(1)
    common = [f"common{i}" for i in range(5)]
    values = np.r_[np.repeat(common, 2000), rng.permutation(30_000).astype(str)]
    s = pd.Series(rng.permutation(values))
    parts = [sketch_column("v", s.iloc[i:i + 8000], "categorical")
             for i in range(0, len(s), 8000)]
    merged = parts[0]
    for p in parts[1:]:
        merged = merged.merge(p)
    shown = merged.to_profile("feature")
    assert set(shown["top_values"]) == set(common)
    err = shown["top_values_error"]
    assert 0 < err <= len(s) / (TOP_CAPACITY + 1)
    assert all(2000 - err <= n <= 2000 for n in shown["top_values"].values())


def test_bad_shards_are_one_line_errors_naming_the_file(tmp_path: Path) -> None:
    frame = _table(600)
    folder = _shards(frame, tmp_path / "s", 3)
    frame.iloc[:10].drop(columns="c").to_parquet(folder / "part-09.parquet")
    with pytest.raises(InputError, match=r"part-09.parquet: columns differ .*missing \['c'\]"):
        audit_shards(folder, target="y")
    (folder / "part-09.parquet").unlink()
    frame.iloc[:10].assign(x="seven").to_parquet(folder / "part-09.parquet")
    with pytest.raises(InputError, match=r"part-09\.parquet: column 'x' data row 1: 'seven' is not a "
                       r"number"):
        audit_shards(folder, target="y")
    (folder / "part-09.parquet").unlink()
    frame.iloc[:10].assign(y=np.nan).to_parquet(folder / "part-09.parquet")
    with pytest.raises(InputError, match=r"part-09\.parquet: column 'y' .*missing values"):
        audit_shards(folder, target="y")
    with pytest.raises(InputError, match="--group column 'gg' does not exist"):
        audit_shards(folder, target="y", groups=["gg"])
