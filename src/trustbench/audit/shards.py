"""The audit's exact-duplicate pass, map-reduced over table shards on any executor.

Each shard (a Parquet or CSV file) is one unit of work: its rows' feature values are hashed
(pandas' ``hash_pandas_object``, as the in-memory audit does) and counted. The reduce adds
the counts, so a row repeated in another shard is found as surely as one repeated in its
own. The result is exact — the same repeats as one pass over the concatenated table — and
the same on every executor (:mod:`trustbench.execution`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from trustbench.data.tables import read_frame
from trustbench.errors import InputError

__all__ = ["DuplicateCounts", "exact_duplicates_shards"]


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


def _count(path: str, shared: dict[str, Any]) -> tuple[int, Counter[int]]:
    frame = read_frame(Path(path))
    features = shared["features"] or [c for c in frame.columns if c not in shared["exclude"]]
    missing = [c for c in features if c not in frame.columns]
    if missing:
        raise InputError(f"{path}: no column {missing[0]!r}",
                         fix="give shards with the same columns")
    hashes = pd.util.hash_pandas_object(frame[features], index=False).to_numpy()
    return len(frame), Counter(hashes.tolist())


def exact_duplicates_shards(files: Sequence[str | Path], *,
                            features: Sequence[str] | None = None,
                            exclude: Iterable[str] = (), executor: Any = None) -> DuplicateCounts:
    """Count exact duplicate rows across all ``files``.

    Rows are compared on ``features``, or on every column but ``exclude`` (ids, labels).
    """
    from trustbench.execution import LocalExecutor

    if not files:
        raise InputError("no shard files given", fix="give one or more table files")
    shared = {"features": list(features) if features else None, "exclude": set(exclude)}
    parts = (executor or LocalExecutor()).map(_count, [str(f) for f in files], shared=shared)
    total: Counter[int] = Counter()
    for _, counts in parts:
        total.update(counts)
    rows = sum(n for n, _ in parts)
    groups = [c for c in total.values() if c > 1]
    return DuplicateCounts(rows, sum(c - 1 for c in groups), len(groups), max(groups, default=1))
