"""Dataset: inputs, labels, optional groups, and the schema that says what is valid."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trustbench.data.schema import Schema
from trustbench.errors import InputError

__all__ = ["Dataset"]


@dataclass
class Dataset:
    """Inputs ``x`` (N, ...) float32, labels ``y`` (N,), optional ``groups`` (N,).

    Attributes
    ----------
    name
        Where the data came from (a built-in name or a file path).
    notes
        Things a reader of the scorecard should know (e.g. bounds inferred from data).
    group_name
        The column ``groups`` came from (``--group``), used to name per-group findings.
    """

    x: np.ndarray
    y: np.ndarray
    schema: Schema
    name: str = "data"
    groups: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)
    group_name: str | None = None

    def __post_init__(self) -> None:
        self.x = np.ascontiguousarray(self.x, dtype=np.float32)
        self.y = np.asarray(self.y)
        if len(self.x) == 0:
            raise InputError(f"{self.name}: the data has no rows", fix="pass a non-empty dataset")
        if self.y.ndim != 1 or len(self.y) != len(self.x):
            raise InputError(f"{self.name}: {len(self.x)} inputs but labels of shape "
                             f"{self.y.shape}", fix="give exactly one label per input row")
        if self.groups is not None and len(self.groups) != len(self.x):
            raise InputError(f"{self.name}: {len(self.x)} inputs but {len(self.groups)} groups")
        bad = ~np.isfinite(self.x).reshape(len(self.x), -1).all(1)
        if bad.any():
            where = ""
            if self.schema.feature_names is not None:
                cols = np.asarray(self.schema.feature_names)[~np.isfinite(self.x).all(0)]
                where = f" (columns: {', '.join(map(str, cols[:5]))})"
            raise InputError(
                f"{self.name}: {int(bad.sum())} rows hold NaN or infinite values{where}",
                fix="impute or drop those rows before scanning",
            )

    def __len__(self) -> int:
        return len(self.x)

    def fingerprint(self) -> str:
        """sha256 over inputs, labels and groups: a scorecard's baseline must match it."""
        h = hashlib.sha256()
        h.update(str(self.x.shape).encode())
        h.update(self.x.tobytes())
        h.update(np.asarray(self.y).astype(str).tobytes() if self.y.dtype.kind in "OUS"
                 else self.y.tobytes())
        if self.groups is not None:
            h.update(np.asarray(self.groups).astype(str).tobytes())
        return "sha256:" + h.hexdigest()

    def sample_index(self, n: int | None, *, seed: int) -> np.ndarray | None:
        """Return the ascending row indices :meth:`sample` keeps, or ``None`` for every row."""
        if n is None or n >= len(self):
            return None
        if n <= 0:
            raise InputError(f"--n must be a positive number of points, got {n}")
        return np.sort(np.random.default_rng(seed).choice(len(self), size=n, replace=False))

    def sample(self, n: int | None, *, seed: int) -> Dataset:
        """Return at most ``n`` rows, drawn without replacement by a seeded generator (order kept)."""
        return self.take(self.sample_index(n, seed=seed))

    def take(self, index: np.ndarray | Sequence[int] | None) -> Dataset:
        """Return the rows at ``index`` (ascending indices; ``None``: this dataset itself).

        The note "a seeded random sample of k of N rows" is added, as :meth:`sample` does.
        """
        if index is None:
            return self
        idx = np.asarray(index, dtype=np.int64)
        if idx.ndim != 1 or (len(idx) and (idx.min() < 0 or idx.max() >= len(self))):
            raise InputError(f"{self.name}: row indices must be in [0, {len(self)}), "
                             f"got {len(idx)} indices")
        return Dataset(self.x[idx], self.y[idx], self.schema, self.name,
                       None if self.groups is None else self.groups[idx],
                       [*self.notes, f"a seeded random sample of {len(idx)} of {len(self)} rows"],
                       self.group_name)

    def label_indices(self, classes: np.ndarray | None, n_classes: int) -> np.ndarray:
        """Labels as class indices of the model; InputError for labels it does not know."""
        y = self.y
        if classes is None:  # the model's classes are 0..n_classes-1
            if y.dtype.kind not in "iub" and not (
                y.dtype.kind == "f" and np.all(np.mod(y, 1) == 0)
            ):
                raise InputError(f"{self.name}: labels are {y.dtype} values like {y[0]!r}, but "
                                 f"the model outputs class indices 0..{n_classes - 1}",
                                 fix="encode the labels as integers 0..n_classes-1")
            yi = y.astype(np.int64)
            bad = (yi < 0) | (yi >= n_classes)
            if bad.any():
                raise InputError(
                    f"{self.name}: labels {sorted(set(yi[bad].tolist()))[:5]} are outside the "
                    f"model's classes 0..{n_classes - 1}",
                    fix="check --target, or that the model was trained on these labels",
                )
            return yi
        lookup: dict[Any, int] = {_key(c): i for i, c in enumerate(classes)}
        out = np.fromiter((lookup.get(_key(v), -1) for v in y), np.int64, len(y))
        if (out < 0).any():
            unknown = sorted({str(v) for v in y[out < 0]})[:5]
            raise InputError(
                f"{self.name}: labels {unknown} are not among the model's classes "
                f"{[str(c) for c in classes][:10]}",
                fix="check --target, or that the model was trained on these labels",
            )
        return out


def _key(v: Any) -> Any:
    """Compare labels by value across dtypes (1 == 1.0 == np.int64(1); strings as is)."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (int, float)) and float(v).is_integer():
        return int(v)
    return v
