"""Mergeable per-column sketches: what a drift test needs of a column, built in one pass.

A reference of ten million rows is read once, chunk by chunk; each chunk's sketch merges
into the running one, and the result is stored and reused by every later check. Current
windows are sketched the same way, so a check compares two sketches and never re-reads
rows.

* :class:`NumericSketch` — count, missing and non-finite counts, exact min/max, mean and
  variance (merged with Chan et al.'s pairwise update), and a uniform sample of at most
  ``sample_size`` values (bottom-k by seeded random keys, so two samples merge into a
  uniform sample of their union). Below ``sample_size`` values the sample is every value,
  sorted: the sketch, and every test on it, then depends only on the values, never on
  their order.
* :class:`CategoricalSketch` — exact counts per category (up to ``max_categories``; the
  rarest beyond that are pooled as :data:`OTHER`) and the missing count.

Both round-trip through plain JSON-compatible dicts (:meth:`to_dict` / :func:`sketch_from_dict`),
the form in which the monitor's database stores them.

References
----------
Chan, Golub & LeVeque, "Updating formulae and a pairwise algorithm for computing sample
variances", COMPSTAT 1982. Cohen & Kaplan, "Summarizing data using bottom-k sketches",
PODC 2007.
"""

from __future__ import annotations

import base64
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["OTHER", "CategoricalSketch", "NumericSketch", "Sketch", "sketch_from_dict"]

#: Category under which the rarest categories beyond ``max_categories`` are pooled.
OTHER = "__other__"
DEFAULT_SAMPLE_SIZE = 20_000
DEFAULT_MAX_CATEGORIES = 1_000


def _pack(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f8").tobytes()).decode("ascii")


def _unpack(s: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(s), dtype="<f8").copy()


@dataclass
class NumericSketch:
    """One numeric column: moments, extremes, missing values and a uniform sample.

    Build with :meth:`of`, combine with :meth:`merge`; ``values`` is the sample (sorted
    when it holds every value), ``keys`` its random keys.
    """

    n: int = 0  # finite values
    n_missing: int = 0  # NaN or None
    n_infinite: int = 0
    minimum: float = math.inf
    maximum: float = -math.inf
    mean: float = 0.0
    m2: float = 0.0  # sum of squared deviations from the mean
    sample_size: int = DEFAULT_SAMPLE_SIZE
    values: np.ndarray = field(default_factory=lambda: np.zeros(0))
    keys: np.ndarray = field(default_factory=lambda: np.zeros(0))

    kind = "numeric"

    @classmethod
    def of(cls, x: Iterable[Any] | np.ndarray, *, rng: np.random.Generator,
           sample_size: int = DEFAULT_SAMPLE_SIZE) -> NumericSketch:
        """Sketch the values ``x`` (NaN and ``None`` count as missing)."""
        a = np.asarray(x, dtype=np.float64).reshape(-1)
        missing = np.isnan(a)
        infinite = np.isinf(a)
        v = a[~missing & ~infinite]
        s = cls(n=len(v), n_missing=int(missing.sum()), n_infinite=int(infinite.sum()),
                sample_size=sample_size)
        if len(v):
            s.minimum, s.maximum = float(v.min()), float(v.max())
            s.mean = float(v.mean())
            s.m2 = float(((v - s.mean) ** 2).sum())
            keys = rng.random(len(v))
            s.values, s.keys = _keep(v, keys, sample_size)
        return s

    def merge(self, other: NumericSketch) -> NumericSketch:
        """Return the sketch of both columns' values (neither operand changes)."""
        n = self.n + other.n
        out = NumericSketch(n=n, n_missing=self.n_missing + other.n_missing,
                            n_infinite=self.n_infinite + other.n_infinite,
                            minimum=min(self.minimum, other.minimum),
                            maximum=max(self.maximum, other.maximum),
                            sample_size=min(self.sample_size, other.sample_size))
        if n:
            d = other.mean - self.mean
            out.mean = self.mean + d * other.n / n
            out.m2 = self.m2 + other.m2 + d * d * self.n * other.n / n
        out.values, out.keys = _keep(np.concatenate([self.values, other.values]),
                                     np.concatenate([self.keys, other.keys]), out.sample_size)
        return out

    @property
    def exact(self) -> bool:
        """Whether the sample holds every finite value."""
        return len(self.values) == self.n

    @property
    def std(self) -> float:
        """Sample standard deviation of the finite values (0 for fewer than two)."""
        return math.sqrt(self.m2 / (self.n - 1)) if self.n > 1 else 0.0

    @property
    def rows(self) -> int:
        """Rows seen, missing and infinite values included."""
        return self.n + self.n_missing + self.n_infinite

    def quantiles(self, q: np.ndarray) -> np.ndarray:
        """Quantiles of the sample (``nan`` when it is empty)."""
        if not len(self.values):
            return np.full(len(q), np.nan)
        return np.quantile(self.values, q)

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form; :func:`sketch_from_dict` reads it back."""
        return {"kind": "numeric", "n": self.n, "n_missing": self.n_missing,
                "n_infinite": self.n_infinite,
                "minimum": self.minimum if self.n else None,
                "maximum": self.maximum if self.n else None, "mean": self.mean, "m2": self.m2,
                "sample_size": self.sample_size, "values": _pack(self.values),
                "keys": _pack(self.keys)}


def _keep(values: np.ndarray, keys: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the ``k`` values with the smallest keys (all of them when ``k`` or fewer), sorted."""
    if len(values) > k:
        idx = np.argpartition(keys, k - 1)[:k]
        values, keys = values[idx], keys[idx]
    order = np.argsort(values, kind="stable")  # canonical: the order of rows never shows
    return values[order], keys[order]


@dataclass
class CategoricalSketch:
    """One categorical column: counts per category (as strings) and the missing count."""

    counts: dict[str, int] = field(default_factory=dict)
    n_missing: int = 0
    max_categories: int = DEFAULT_MAX_CATEGORIES

    kind = "categorical"

    @classmethod
    def of(cls, x: Iterable[Any] | np.ndarray, *,
           max_categories: int = DEFAULT_MAX_CATEGORIES) -> CategoricalSketch:
        """Sketch the values ``x``; ``None`` and NaN count as missing, others by ``str``."""
        import pandas as pd

        s = x if isinstance(x, pd.Series) else pd.Series(
            x if isinstance(x, np.ndarray) else list(x), dtype=None)
        missing = int(s.isna().sum())
        counts: Counter[str] = Counter()
        for v, c in s.dropna().value_counts(sort=False).items():  # a loop over categories only
            counts[_label(v)] += int(c)
        return cls(_cap(counts, max_categories), missing, max_categories)

    def merge(self, other: CategoricalSketch) -> CategoricalSketch:
        """Return the sketch of both columns' values (neither operand changes)."""
        k = min(self.max_categories, other.max_categories)
        return CategoricalSketch(_cap(Counter(self.counts) + Counter(other.counts), k),
                                 self.n_missing + other.n_missing, k)

    @property
    def n(self) -> int:
        """Non-missing values."""
        return sum(self.counts.values())

    @property
    def rows(self) -> int:
        """Rows seen, missing values included."""
        return self.n + self.n_missing

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form; :func:`sketch_from_dict` reads it back."""
        return {"kind": "categorical", "counts": dict(sorted(self.counts.items())),
                "n_missing": self.n_missing, "max_categories": self.max_categories}


def _label(v: Any) -> str:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and v.is_integer():
        v = int(v)  # 1.0 read from one file and 1 from another are the same category
    return str(v)


def _cap(counts: Mapping[str, int], k: int) -> dict[str, int]:
    if len(counts) <= k:
        return dict(counts)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    kept = dict(ranked[: k - 1])
    kept[OTHER] = kept.get(OTHER, 0) + sum(c for _, c in ranked[k - 1:])
    return kept


Sketch = NumericSketch | CategoricalSketch


def sketch_from_dict(d: Mapping[str, Any]) -> Sketch:
    """Read a sketch back from :meth:`NumericSketch.to_dict` / :meth:`CategoricalSketch.to_dict`."""
    if d.get("kind") == "categorical":
        return CategoricalSketch({str(k): int(v) for k, v in d["counts"].items()},
                                 int(d["n_missing"]), int(d["max_categories"]))
    if d.get("kind") != "numeric":
        raise ValueError(f"unknown sketch kind {d.get('kind')!r}")
    n = int(d["n"])
    return NumericSketch(n=n, n_missing=int(d["n_missing"]), n_infinite=int(d["n_infinite"]),
                         minimum=float(d["minimum"]) if n else math.inf,
                         maximum=float(d["maximum"]) if n else -math.inf,
                         mean=float(d["mean"]), m2=float(d["m2"]),
                         sample_size=int(d["sample_size"]), values=_unpack(d["values"]),
                         keys=_unpack(d["keys"]))
