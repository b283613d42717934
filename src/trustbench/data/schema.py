"""Schema: what the inputs are and which values are valid."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch

from trustbench.domain import Domain
from trustbench.errors import InputError

__all__ = ["FEATURE_TYPES", "FeatureType", "Modality", "Schema"]

Modality = Literal["image", "tabular", "text"]
FeatureType = Literal["numeric", "integer", "categorical", "immutable"]
FEATURE_TYPES: tuple[FeatureType, ...] = ("numeric", "integer", "categorical", "immutable")


@dataclass
class Schema:
    """Modality, valid input domain and feature descriptions of a dataset.

    Attributes
    ----------
    modality
        ``"image"`` (N, C, H, W), ``"tabular"`` (N, F) or ``"text"``.
    lower, upper
        Per-feature bounds with one example's shape (or broadcastable to it).
    bounds_source
        ``"declared"`` (the user or the dataset said so) or ``"data"`` (min/max of the data
        at hand — attacks then cannot leave the range the data happens to cover).
    feature_names
        Tabular column names (``None`` for images).
    feature_types
        Per tabular feature: ``numeric``, ``integer`` (stays integer under attack),
        ``categorical`` (codes; never perturbed) or ``immutable`` (never perturbed).
    categories
        For categorical columns read from text: feature index -> original values, where
        the stored code ``k`` stands for ``categories[i][k]``.
    """

    modality: Modality
    lower: np.ndarray
    upper: np.ndarray
    bounds_source: Literal["declared", "data"] = "declared"
    feature_names: list[str] | None = None
    feature_types: list[FeatureType] | None = None
    categories: dict[int, list[Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.lower = np.asarray(self.lower, dtype=np.float32)
        self.upper = np.asarray(self.upper, dtype=np.float32)
        if np.any(self.lower > self.upper):
            raise InputError("schema bounds: some lower bound is above its upper bound")
        if self.feature_types is not None:
            bad = [t for t in self.feature_types if t not in FEATURE_TYPES]
            if bad:
                raise InputError(f"schema: unknown feature type {bad[0]!r}",
                                 fix=f"use one of {', '.join(FEATURE_TYPES)}")

    @classmethod
    def from_data(cls, x: np.ndarray, *, modality: Modality | None = None,
                  feature_names: list[str] | None = None,
                  feature_types: list[FeatureType] | None = None,
                  bounds: tuple[float, float] | None = None) -> Schema:
        """Infer a schema; bounds are ``bounds`` if given, else the data's min and max."""
        if modality is None:
            modality = "image" if x.ndim >= 3 else "tabular"
        if bounds is not None:
            lo = np.full(x.shape[1:], bounds[0], np.float32)
            hi = np.full(x.shape[1:], bounds[1], np.float32)
            source: Literal["declared", "data"] = "declared"
        elif modality == "image":
            # one global range for images: per-pixel min/max would freeze constant pixels
            lo = np.full(x.shape[1:], float(x.min()), np.float32)
            hi = np.full(x.shape[1:], float(x.max()), np.float32)
            source = "data"
        else:
            lo, hi, source = x.min(0).astype(np.float32), x.max(0).astype(np.float32), "data"
        return cls(modality, lo, hi, source, feature_names, feature_types)

    def validate(self, x: np.ndarray, *, source: str) -> None:
        """Raise InputError if ``x`` does not fit this schema."""
        if self.lower.shape and x.shape[1:] != self.lower.shape:
            raise InputError(f"{source}: examples have shape {x.shape[1:]} but the schema "
                             f"describes {self.lower.shape}")
        tol = 1e-5 * max(1.0, float(np.max(np.abs(self.upper[np.isfinite(self.upper)]),
                                            initial=1.0)))
        below = x < self.lower - tol
        above = x > self.upper + tol
        if below.any() or above.any():
            n = int((below | above).reshape(len(x), -1).any(1).sum())
            raise InputError(
                f"{source}: {n} rows hold values outside the declared bounds "
                f"[{float(self.lower.min()):g}, {float(self.upper.max()):g}]",
                fix="fix the declared bounds (--bounds or the schema file) or the data",
            )

    def to_frame(self, x: np.ndarray) -> Any:
        """Return a pandas DataFrame with the original column names and category values.

        This is for pipelines that were fitted on a frame.
        """
        import pandas as pd

        names = self.feature_names or [f"x{i}" for i in range(x.shape[1])]
        df = pd.DataFrame(x, columns=names)
        types = self.feature_types or ["numeric"] * len(names)
        for i, t in enumerate(types):
            if i in self.categories:
                values = np.asarray(self.categories[i], dtype=object)
                df[names[i]] = values[np.clip(x[:, i].astype(np.int64), 0, len(values) - 1)]
            elif t == "integer":
                df[names[i]] = np.rint(x[:, i]).astype(np.int64)
        return df

    @property
    def span(self) -> np.ndarray:
        """``upper - lower`` per feature (0 for constant features)."""
        return self.upper - self.lower

    def to_units(self, x: np.ndarray) -> np.ndarray:
        """Map raw inputs to range units: 0 at ``lower``, 1 at ``upper`` (0 where constant)."""
        span = self.span
        return np.where(span > 0, (x - self.lower) / np.where(span > 0, span, 1), 0).astype(
            np.float32)

    def from_units(self, u: np.ndarray) -> np.ndarray:
        """Map range units back to raw inputs: ``lower + u * span`` (see :meth:`to_units`)."""
        return (self.lower + u * self.span).astype(np.float32)

    def domain(self, *, units: Literal["raw", "range"] = "raw") -> Domain:
        """Return the torch :class:`~trustbench.domain.Domain` that attacks keep inputs inside.

        With ``units="range"`` it describes range-normalised inputs (see :meth:`to_units`):
        bounds [0, 1] (a constant feature is pinned at 0) and integer steps of 1/range.
        """
        mutable = integer = step = None
        if self.feature_types is not None:
            types = np.asarray(self.feature_types)
            if np.any(np.isin(types, ["categorical", "immutable"])):
                mutable = torch.from_numpy(~np.isin(types, ["categorical", "immutable"]))
            if np.any(types == "integer"):
                integer = torch.from_numpy(types == "integer")
        if units == "raw":
            return Domain(torch.from_numpy(self.lower), torch.from_numpy(self.upper), mutable,
                          integer)
        span = self.span
        with np.errstate(divide="ignore"):
            step = torch.from_numpy(np.where(span > 0, 1.0 / np.where(span > 0, span, 1), 0)
                                    .astype(np.float32)) if integer is not None else None
        return Domain(torch.zeros(span.shape), torch.from_numpy((span > 0).astype(np.float32)),
                      mutable, integer, step)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready summary of the schema: modality, shape, bounds and features."""
        d: dict[str, Any] = {
            "modality": self.modality,
            "example_shape": list(self.lower.shape),
            "bounds_source": self.bounds_source,
            "lower_min": float(self.lower.min()) if self.lower.size else None,
            "upper_max": float(self.upper.max()) if self.upper.size else None,
        }
        if self.feature_names is not None:
            d["features"] = [
                {"name": n, "type": (self.feature_types or ["numeric"] * len(self.feature_names))[i],
                 "min": float(self.lower[i]), "max": float(self.upper[i])}
                for i, n in enumerate(self.feature_names)
            ]
        return d
