"""Mergeable column summaries: the audit's column profile, built shard by shard.

:func:`sketch_column` summarises one column of one shard; :meth:`ColumnSketch.merge` adds
two summaries of the same column, so a table split into any number of shards, profiled on
any executor and merged in shard order, gives one profile. Against one pass over the whole
table:

- rows, missing values, minimum, maximum, a time column's first and last value and the
  dtype are identical; the mean agrees to floating-point rounding.
- distinct values (missing ones not counted, as ``pandas.Series.nunique``) are exact up to
  :data:`DISTINCT_K` of them and beyond that a K-minimum-values estimate over 64-bit hashes
  (relative standard error about ``1 / sqrt(K - 2)``, 0.8%), which depends only on the set
  of values, never on how the rows were split.
- the most common values (as text; missing ones as ``nan``, as the in-memory profile shows
  them) are exact counts while a column has at most :data:`TOP_CAPACITY` distinct values;
  beyond, a Misra-Gries summary keeps every value more frequent than ``rows / (capacity +
  1)`` and undercounts each by at most ``top_error``, which the profile reports.

References
----------
Bar-Yossef, Jayram, Kumar, Sivakumar & Trevisan, "Counting distinct elements in a data
stream", RANDOM 2002 (the K-minimum-values estimator).
Agarwal, Cormode, Huang, Phillips, Wei & Yi, "Mergeable summaries", PODS 2012 (merging
Misra-Gries summaries).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["DISTINCT_K", "TOP_CAPACITY", "ColumnSketch", "sketch_column"]

#: Distinct values are counted exactly up to this many, then estimated from the K smallest hashes.
DISTINCT_K = 16_384
#: Most-common-value counters kept per column (exact counts while the column has no more values).
TOP_CAPACITY = 1_000

_HASH_SPACE = float(2**64)


@dataclass(frozen=True)
class ColumnSketch:
    """One column's mergeable summary (see the module's docstring for what is exact)."""

    name: str
    kind: str  # "numeric" or "categorical"
    dtype: str
    rows: int
    missing: int
    count: int = 0  # numeric values present
    total: float = 0.0  # their sum
    low: float = math.inf
    high: float = -math.inf
    hashes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))  # sorted
    saturated: bool = False  # more than DISTINCT_K distinct hashes were seen
    top: dict[str, int] = field(default_factory=dict)
    top_error: int = 0  # every top count is low by at most this much
    first: Any = None  # a time column's earliest and latest value
    last: Any = None

    @property
    def distinct(self) -> int:
        """Distinct non-missing values: exact, or the K-minimum-values estimate."""
        if not self.saturated:
            return len(self.hashes)
        return round((len(self.hashes) - 1) * _HASH_SPACE / (float(self.hashes[-1]) + 1.0))

    def merge(self, other: ColumnSketch) -> ColumnSketch:
        """Return the summary of both parts' rows."""
        if (other.name, other.kind) != (self.name, self.kind):
            raise ValueError(f"cannot merge column {other.name!r} ({other.kind}) into "
                             f"{self.name!r} ({self.kind})")
        union = np.union1d(self.hashes, other.hashes)
        top, error = _reduce(_add(self.top, other.top), self.top_error + other.top_error)
        return replace(
            self, dtype=_merged_dtype(self.dtype, other.dtype), rows=self.rows + other.rows,
            missing=self.missing + other.missing, count=self.count + other.count,
            total=self.total + other.total, low=min(self.low, other.low),
            high=max(self.high, other.high), hashes=union[:DISTINCT_K],
            saturated=self.saturated or other.saturated or len(union) > DISTINCT_K,
            top=top, top_error=error, first=_extreme(min, self.first, other.first),
            last=_extreme(max, self.last, other.last))

    def to_profile(self, role: str) -> dict[str, Any]:
        """Return the column's entry in the audit's profile (the in-memory profile's fields)."""
        d: dict[str, Any] = {"name": self.name, "role": role, "kind": self.kind,
                             "dtype": self.dtype,
                             "missing_fraction": round(self.missing / self.rows, 6)
                             if self.rows else 0.0,
                             "distinct": self.distinct}
        if self.saturated:
            d["distinct_estimated"] = True
        if role == "time" and self.first is not None:
            d |= {"first": str(self.first), "last": str(self.last)}
        if self.kind == "numeric" and self.count:
            d |= {"min": self.low, "max": self.high, "mean": self.total / self.count}
        else:
            top = self.top or ({"nan": self.rows} if self.kind == "numeric" else {})
            d["top_values"] = dict(_ranked(top)[:5])
            if self.top_error:
                d["top_values_error"] = self.top_error
        return d


def sketch_column(name: str, s: pd.Series, kind: str, *, time: bool = False) -> ColumnSketch:
    """Summarise one shard's column ``s`` as ``kind`` (numeric values must be numbers)."""
    present = s.notna().to_numpy()
    rows, missing = len(s), int((~present).sum())
    first = last = None
    if time:
        t = s if kind == "numeric" else pd.to_datetime(s, errors="coerce", format="mixed")
        if t.notna().any():
            first, last = t.min(), t.max()
    if kind == "numeric":
        v = s.to_numpy(np.float64, na_value=np.nan)[present] + 0.0  # -0.0 counts as 0.0
        kept, saturated = _kmv(pd.util.hash_array(v))
        return ColumnSketch(name, kind, str(s.dtype), rows, missing, count=len(v),
                            total=float(v.sum()), low=float(v.min()) if len(v) else math.inf,
                            high=float(v.max()) if len(v) else -math.inf,
                            hashes=kept, saturated=saturated, first=first, last=last)
    text = s.astype(str)
    values = text.to_numpy(object)[present]
    kept, saturated = _kmv(pd.util.hash_array(values) if len(values)
                           else np.zeros(0, np.uint64))
    counts = text.value_counts(sort=False)
    n = counts.to_numpy()
    cut = 0
    if len(n) > TOP_CAPACITY:  # Misra-Gries on the exact counts, before any Python dict
        cut = int(np.partition(n, len(n) - 1 - TOP_CAPACITY)[len(n) - 1 - TOP_CAPACITY])
        counts = counts[n > cut] - cut
    top, error = {str(k): int(c) for k, c in counts.items()}, cut
    return ColumnSketch(name, kind, str(s.dtype), rows, missing, hashes=kept,
                        saturated=saturated, top=top, top_error=error, first=first, last=last)


def _kmv(hashes: np.ndarray) -> tuple[np.ndarray, bool]:
    """Return the DISTINCT_K smallest distinct hashes, sorted, and whether there were more."""
    if len(hashes) > 4 * DISTINCT_K:  # the smallest few first: sorting every hash is slow
        bound = np.partition(hashes, 4 * DISTINCT_K)[4 * DISTINCT_K]
        small = np.unique(hashes[hashes <= bound])  # every distinct hash up to the bound
        if len(small) > DISTINCT_K:
            return small[:DISTINCT_K], True
    u = np.unique(hashes)
    return u[:DISTINCT_K], len(u) > DISTINCT_K


def _add(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    out = dict(a)
    for k, n in b.items():
        out[k] = out.get(k, 0) + n
    return out


def _ranked(counts: dict[str, int]) -> list[tuple[str, int]]:
    """Most common first; ties by value, so the order does not depend on the shards."""
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def _reduce(counts: dict[str, int], error: int) -> tuple[dict[str, int], int]:
    """Misra-Gries: keep TOP_CAPACITY counters, lowering all by the next count when over.

    The next count is the (capacity + 1)-th largest; the counters kept are those above it,
    whatever the order of ties.
    """
    if len(counts) <= TOP_CAPACITY:
        return counts, error
    cut = sorted(counts.values(), reverse=True)[TOP_CAPACITY]
    return {k: n - cut for k, n in counts.items() if n > cut}, error + cut


def _extreme(pick: Any, a: Any, b: Any) -> Any:
    if a is None:
        return b
    return a if b is None else pick(a, b)


def _merged_dtype(a: str, b: str) -> str:
    if a == b:
        return a
    try:
        da, db = np.dtype(a), np.dtype(b)
    except TypeError:  # pandas extension dtypes
        return "object"
    if da.kind in "iuf" and db.kind in "iuf":
        return str(np.result_type(da, db))
    return "object"
