"""The audit's mergeable passes, map-reduced over table shards on any executor.

A table too large for one process often arrives as many Parquet (or CSV) files. Each file is
one unit of work on an executor — this process, a local pool or a Ray cluster
(:mod:`trustbench.execution`) — which reads it once and returns:

- each column's mergeable summary (:mod:`trustbench.audit.sketches`): the column profile;
- the distinct row hashes of its feature values with their counts (pandas'
  ``hash_pandas_object``, as the in-memory audit; numeric columns as float64 so a column
  read as integers in one file and as floats in another hashes alike): exact duplicates;
- the distinct (row hash, label) pairs: identical rows with different labels;
- its label counts.

The reduce merges them in file order, so a row repeated in another shard is found as surely
as one repeated in its own, and the result is the same on every executor and equals one
pass over the concatenated table (see :mod:`~trustbench.audit.sketches` for which profile
fields are estimates beyond a size). :func:`audit_shards` turns it into an audit scorecard
and dataset card; the checks that need every row in one process (label errors, near
duplicates, outliers, ...) are listed as not measured.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trustbench.audit.duplicates import conflicting_labels_finding, exact_duplicates_finding
from trustbench.audit.io import feature_columns, guess_target, read_table
from trustbench.audit.profile import column_kind, column_role, sketch_frame
from trustbench.audit.sketches import ColumnSketch
from trustbench.audit.tags import DOCUMENTATION
from trustbench.data.tables import check_finite, columns_differ, missing_column, shard_files
from trustbench.errors import InputError
from trustbench.findings import Finding
from trustbench.scorecard import Scorecard

__all__ = ["MERGEABLE_CHECKS", "DuplicateCounts", "audit_shards", "exact_duplicates_shards",
           "shard_files"]

#: What a sharded audit measures; every other audit check needs the whole table at once.
MERGEABLE_CHECKS = ("profile", "duplicates.exact", "duplicates.conflicting_labels")

@dataclass(frozen=True)
class DuplicateCounts:
    """Rows, the rows that repeat an earlier one, and the groups of identical rows."""

    rows: int
    repeats: int
    groups: int
    largest_group: int

    @property
    def repeat_fraction(self) -> float:
        """Share of the rows that repeat an earlier row."""
        return self.repeats / self.rows if self.rows else 0.0


def _row_hashes(frame: pd.DataFrame, features: list[str], kinds: dict[str, str]) -> np.ndarray:
    cols = {c: frame[c].astype(np.float64) if kinds.get(c) == "numeric" else frame[c]
            for c in features}
    return pd.util.hash_pandas_object(pd.DataFrame(cols), index=False).to_numpy()


def _fit_kinds(where: str, frame: pd.DataFrame, kinds: dict[str, str]) -> pd.DataFrame:
    """Return ``frame`` with the first shard's numeric columns numeric; refuse text in them."""
    out = frame
    for c, kind in kinds.items():
        s = frame[c]
        if kind != "numeric" or column_kind(s) == "numeric":
            continue
        v = pd.to_numeric(s, errors="coerce")
        bad = v.isna() & s.notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(f"{where}: column {c!r} data row {row + 1}: "
                             f"{str(s.iloc[row])[:40]!r} is not a number, but the column is "
                             "numeric in the first shard",
                             fix="write the column as numbers in every shard")
        out = out.assign(**{c: v})
    return out


def _summarise(job: tuple[int, str], shared: dict[str, Any]) -> dict[str, Any]:
    """Read one shard and return its summaries (the map step)."""
    _, path = job
    table = read_table(path)
    frame, where = table.frame, table.name
    columns: list[str] = shared["columns"]
    what = columns_differ(list(frame.columns), columns)
    if what is not None:
        raise InputError(f"{where}: columns differ from the first shard's ({what})",
                         fix="write every shard with the same columns in the same order")
    target = shared["target"]
    if target is not None:
        n_missing = int(frame[target].isna().sum())
        if n_missing:
            raise InputError(f"{where}: column {target!r} (the label) has {n_missing} "
                             "missing values", fix="drop the unlabelled rows")
    check_finite(where, frame, columns)
    kinds: dict[str, str] = shared["kinds"]
    frame = _fit_kinds(where, frame, kinds)
    sketches = sketch_frame(frame, kinds, time_column=shared["time"])
    h = _row_hashes(frame, shared["features"], kinds)
    hashes, counts = np.unique(h, return_counts=True)
    out: dict[str, Any] = {"file": str(path), "sha256": table.sha256, "rows": len(frame),
                           "sketches": sketches, "hashes": hashes, "counts": counts}
    if target is not None:
        y = frame[target]
        labels = pd.util.hash_array(y.astype(str).to_numpy(object))
        pairs = np.unique(np.stack([h, labels], axis=1), axis=0)  # (P, 2) distinct pairs
        values = y.value_counts(sort=False)
        out |= {"pairs": pairs, "classes": {_plain(k): int(n) for k, n in values.items()}}
    return out


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def _repeats(parts: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray]:
    """Merge the shards' (hash, count) tables: every distinct row hash and its count."""
    hashes = np.concatenate([p["hashes"] for p in parts])
    counts = np.concatenate([p["counts"] for p in parts])
    order = np.argsort(hashes, kind="stable")
    hashes, counts = hashes[order], counts[order]
    starts = np.flatnonzero(np.r_[True, hashes[1:] != hashes[:-1]])
    return hashes[starts], np.add.reduceat(counts, starts) if len(counts) else counts


def _run(files: list[Path], shared: dict[str, Any], executor: Any) -> list[dict[str, Any]]:
    from trustbench.execution import LocalExecutor

    return (executor or LocalExecutor()).map(
        _summarise, [(i, str(p)) for i, p in enumerate(files)], shared=shared)


def _shared(table: Any, *, target: str | None, features: list[str], time_column: str | None,
            ) -> dict[str, Any]:
    frame = table.frame
    return {"columns": list(frame.columns), "target": target, "features": features,
            "time": time_column, "kinds": {c: column_kind(frame[c]) for c in frame.columns}}


def exact_duplicates_shards(files: Sequence[str | Path], *,
                            features: Sequence[str] | None = None,
                            exclude: Iterable[str] = (), executor: Any = None) -> DuplicateCounts:
    """Count exact duplicate rows across all ``files``.

    Rows are compared on ``features``, or on every column but ``exclude`` (ids, labels).
    """
    paths = shard_files(files)
    table = read_table(paths[0])
    excluded = set(exclude)
    cols = [c for c in table.frame.columns if c not in excluded]
    if not cols:
        raise InputError(f"{table.name}: no feature columns besides the excluded ones")
    if features:
        missing = [c for c in features if c not in set(table.frame.columns)]
        if missing:
            raise missing_column(table.name, "features", missing[0], list(table.frame.columns))
        cols = list(features)
    parts = _run(paths, _shared(table, target=None, features=cols, time_column=None), executor)
    _, counts = _repeats(parts)
    groups = counts[counts > 1]
    return DuplicateCounts(int(counts.sum()), int((groups - 1).sum()), len(groups),
                           int(groups.max()) if len(groups) else 1)


def audit_shards(source: str | Path | Sequence[str | Path], *, target: str | None = None,
                 groups: Sequence[str] = (), id_column: str | None = None,
                 time_column: str | None = None, executor: Any = None,
                 name: str | None = None) -> Scorecard:
    """Audit a table given as shards with the mergeable passes; return the audit scorecard.

    ``source`` is a folder of .parquet/.csv files (taken in name order) or a list of files
    with the same columns. The scorecard has the column profile, the label counts, exact
    duplicates and identical rows with different labels over all rows, as one
    :func:`~trustbench.audit.audit` of the concatenated table gives them; the other checks
    are in ``not_measured``. ``target`` is guessed as in the audit when not given.
    """
    from trustbench.audit.registry import CHECKS

    t0 = time.perf_counter()
    files = shard_files(source)
    groups = list(groups)
    table = read_table(files[0])
    target = target or guess_target(table)
    features = feature_columns(table, target=target, groups=groups, id_column=id_column,
                               time_column=time_column)
    parts = _run(files, _shared(table, target=target, features=features,
                                time_column=time_column), executor)
    sketches: dict[str, ColumnSketch] = dict(parts[0]["sketches"])
    for part in parts[1:]:
        sketches = {c: s.merge(part["sketches"][c]) for c, s in sketches.items()}
    rows = sum(p["rows"] for p in parts)
    hashes, counts = _repeats(parts)
    repeats = int((counts - 1).sum())
    dup_groups = counts[counts > 1]
    pairs = np.unique(np.concatenate([p["pairs"] for p in parts]), axis=0)  # (hash, label)
    labelled, n_labels = np.unique(pairs[:, 0], return_counts=True)
    conflicting = labelled[n_labels > 1]
    conflict_rows = int(counts[np.isin(hashes, conflicting)].sum())
    classes: dict[Any, int] = {}
    for p in parts:
        for k, n in p["classes"].items():
            classes[k] = classes.get(k, 0) + n
    findings = [
        exact_duplicates_finding({"train": (rows, repeats)}, evidence={
            "groups": len(dup_groups),
            "largest_group": int(dup_groups.max()) if len(dup_groups) else 1,
            "shards": len(files)}),
        conflicting_labels_finding(len(conflicting), conflict_rows,
                                   evidence={"shards": len(files)}),
    ]
    digest = hashlib.sha256("\n".join(f"{p['file']} {p['sha256']}" for p in parts).encode())
    source_name = str(source) if isinstance(source, str | Path) else ",".join(map(str, files))
    provenance = _provenance(
        name or source_name, source_name, "sha256:" + digest.hexdigest(), rows, parts,
        {c: s.to_profile(column_role(c, target=target, groups=groups, id_column=id_column,
                                     time_column=time_column)) for c, s in sketches.items()},
        classes, target=target, groups=groups, id_column=id_column, time_column=time_column,
        features=len(features), executor=executor, seconds=time.perf_counter() - t0)
    findings.append(Finding(
        "provenance", "Audit manifest: fingerprints, roles, config, seed, versions", "info",
        tags=DOCUMENTATION,
        evidence={"data_fingerprints": {"train": provenance["data"]["train"]["sha256"]}}))
    skipped = [f"audit.{n}: not run on shards (needs the whole table in one process)"
               for n in [*(c for c in CHECKS if c != "duplicates"), "duplicates.near"]]
    return Scorecard(findings, provenance, skipped)


def _provenance(name: str, source: str, sha256: str, rows: int, parts: list[dict[str, Any]],
                columns: dict[str, dict[str, Any]], classes: dict[Any, int], *,
                target: str, groups: list[str], id_column: str | None,
                time_column: str | None, features: int, executor: Any,
                seconds: float) -> dict[str, Any]:
    from trustbench.audit.runner import manifest_fields

    try:
        ordered = sorted(classes)
    except TypeError:  # mixed types: by their text
        ordered = sorted(classes, key=str)
    return {
        "kind": "audit",
        "data": {"train": {"name": name, "source": source, "sha256": sha256, "rows": rows,
                           "columns": len(columns),
                           "shards": [{"file": p["file"], "sha256": p["sha256"],
                                       "rows": p["rows"]} for p in parts]}},
        "roles": {"target": target, "groups": groups, "id": id_column, "time": time_column,
                  "features": features},
        "columns": list(columns.values()),
        "classes": {str(c): {"train": classes[c], "test": 0} for c in ordered[:100]},
        "config": {"checks": list(MERGEABLE_CHECKS), "sharded": True,
                   "executor": type(executor).__name__ if executor else "in process"},
        "seed": 0,
        "timings_seconds": {"total": round(seconds, 3)},
        **manifest_fields(),
    }
