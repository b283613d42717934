"""Shifts of tabular features: noise, missing values, scale and offset drift, category swaps.

Spreads and means are those of the batch given to ``apply`` (the clean data), so a shift
means the same in raw units and in range units. Frozen (immutable and categorical) features
keep their values, except the categorical codes a category swap exchanges.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
import torch

from trustbench.domain import Domain
from trustbench.errors import InputError
from trustbench.shifts.base import Shift, TabularShift

if TYPE_CHECKING:
    from trustbench.data.schema import Schema
    from trustbench.models.base import Model

__all__ = ["CategorySwap", "FeatureNoise", "FeatureOffset", "FeatureScale", "MissingValues",
           "model_accepts_nan"]


def _types(schema: Schema | None, n_features: int) -> np.ndarray:
    types = schema.feature_types if schema is not None and schema.feature_types else None
    return np.asarray(types if types is not None else ["numeric"] * n_features)


def _directions(rng: np.random.Generator, n_features: int) -> np.ndarray:
    return np.where(rng.random(n_features) < 0.5, -1.0, 1.0)  # (F,)


class FeatureNoise(TabularShift):
    """Gaussian noise on every mutable feature.

    Its standard deviation is ``levels[severity - 1]`` times that feature's standard
    deviation.

    References
    ----------
    Rabanser, Günnemann and Lipton, "Failing Loudly: An Empirical Study of Methods for
    Detecting Dataset Shift", NeurIPS 2019 (Gaussian noise shifts).
    """

    name: ClassVar[str] = "feature_noise"
    levels: ClassVar[tuple[Any, ...]] = (0.1, 0.2, 0.4, 0.7, 1.0)

    def _shift(self, x: np.ndarray, severity: int, rng: np.random.Generator,
               domain: Domain) -> np.ndarray:
        std = x.std(0)  # (F,)
        return x + self.levels[severity - 1] * std * rng.standard_normal(x.shape)


def model_accepts_nan(model: Model, x: torch.Tensor, columns: np.ndarray) -> bool:
    """Whether ``model`` returns finite scores for rows of ``x`` whose ``columns`` are NaN.

    The model must do so without raising or warning (a pipeline with its own imputer, or a
    model that handles missing values itself).
    """
    probe = x[:2].detach().clone().to(torch.float32)
    probe[:, torch.tensor(np.asarray(columns, dtype=bool))] = float("nan")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            scores = model.scores(probe)
        except Exception:  # any refusal means: impute for the model
            return False
    return not caught and bool(torch.isfinite(scores).all())


class MissingValues(TabularShift):
    """Missing values: each mutable entry goes missing with probability ``levels[severity - 1]``.

    With ``fill="nan"`` missing entries are NaN, for a model whose pipeline imputes (or
    handles) them itself; with ``fill="mean"`` they take the column mean of the clean batch
    (rounded onto the grid of integer features). A scan asks the model with
    :func:`model_accepts_nan` and reports which was used.

    References
    ----------
    Little and Rubin, "Statistical Analysis with Missing Data", 3rd ed., Wiley 2019
    (missing completely at random).
    """

    name: ClassVar[str] = "missing_values"
    levels: ClassVar[tuple[Any, ...]] = (0.05, 0.1, 0.2, 0.35, 0.5)

    def __init__(self, *, fill: Literal["mean", "nan"] = "mean") -> None:
        self.fill = fill

    @classmethod
    def from_data(cls, *, schema: Schema | None = None, model: Model | None = None,
                  x: torch.Tensor | None = None) -> Shift:
        """Return the instance whose ``fill`` the model accepts; see :meth:`Shift.from_data`."""
        if model is None or x is None or len(x) == 0 or x.ndim != 2:
            return cls()
        mutable = ~np.isin(_types(schema, x.shape[1]), ["categorical", "immutable"])
        return cls(fill="nan" if model_accepts_nan(model, x, mutable) else "mean")

    def describe(self) -> str:
        """Return a sentence on how missing entries were filled; see :meth:`Shift.describe`."""
        if self.fill == "nan":
            return "Missing entries were passed as NaN to the model's own imputation."
        return ("Missing entries were filled with the column mean of the clean data (the "
                "model does not accept NaN).")

    def _shift(self, x: np.ndarray, severity: int, rng: np.random.Generator,
               domain: Domain) -> np.ndarray:
        if self.fill not in ("mean", "nan"):
            raise InputError(f"missing_values: fill must be 'mean' or 'nan', got {self.fill!r}")
        missing = rng.random(x.shape) < self.levels[severity - 1]  # (N, F)
        fill = np.nan if self.fill == "nan" else x.mean(0, keepdims=True)
        return np.where(missing, fill, x)


class FeatureScale(TabularShift):
    """Scale drift: ``x' = mean + (x - mean) * factor`` on each mutable feature.

    Each mutable feature's spread around its mean is multiplied by ``levels[severity - 1]``
    or divided by it (a random direction per feature, drawn once).

    References
    ----------
    Moreno-Torres et al., "A unifying view on dataset shift in classification", Pattern
    Recognition 45 (2012) (covariate shift).
    """

    name: ClassVar[str] = "feature_scale"
    levels: ClassVar[tuple[Any, ...]] = (1.1, 1.25, 1.5, 2.0, 3.0)

    def _shift(self, x: np.ndarray, severity: int, rng: np.random.Generator,
               domain: Domain) -> np.ndarray:
        factor = float(self.levels[severity - 1]) ** _directions(rng, x.shape[1])  # (F,)
        mean = x.mean(0)
        return mean + (x - mean) * factor


class FeatureOffset(TabularShift):
    """Offset drift: each mutable feature moves by ``levels[severity - 1]`` of its standard deviation.

    It moves up or down, a random direction per feature, drawn once.

    References
    ----------
    Moreno-Torres et al., "A unifying view on dataset shift in classification", Pattern
    Recognition 45 (2012) (covariate shift).
    """

    name: ClassVar[str] = "feature_offset"
    levels: ClassVar[tuple[Any, ...]] = (0.1, 0.25, 0.5, 0.75, 1.0)

    def _shift(self, x: np.ndarray, severity: int, rng: np.random.Generator,
               domain: Domain) -> np.ndarray:
        direction = _directions(rng, x.shape[1])  # (F,)
        return x + self.levels[severity - 1] * direction * x.std(0)


class CategorySwap(TabularShift):
    """Category swaps: entries of categorical features take another value of that feature.

    Each entry of a categorical feature takes, with probability ``levels[severity - 1]``,
    another value of that feature (uniformly among the other values seen in the batch).

    Parameters
    ----------
    features
        Column indices of the categorical features; :meth:`from_data` reads them from the
        schema's feature types.

    References
    ----------
    Rabanser, Günnemann and Lipton, "Failing Loudly: An Empirical Study of Methods for
    Detecting Dataset Shift", NeurIPS 2019.
    """

    name: ClassVar[str] = "category_swap"
    levels: ClassVar[tuple[Any, ...]] = (0.05, 0.1, 0.2, 0.35, 0.5)
    requires: ClassVar[str] = "tabular data with categorical features in its schema"

    def __init__(self, *, features: tuple[int, ...] = ()) -> None:
        self.features = features

    @classmethod
    def applicable(cls, schema: Schema | None, x_shape: tuple[int, ...]) -> bool:
        """Whether the schema declares categorical features; see :meth:`Shift.applicable`."""
        return (super().applicable(schema, x_shape) and schema is not None
                and "categorical" in (schema.feature_types or []))

    @classmethod
    def from_data(cls, *, schema: Schema | None = None, model: Model | None = None,
                  x: torch.Tensor | None = None) -> Shift:
        """Return the instance for the schema's categorical features; see :meth:`Shift.from_data`."""
        types = schema.feature_types if schema is not None else None
        return cls(features=tuple(i for i, t in enumerate(types or []) if t == "categorical"))

    def _free(self, shape: tuple[int, ...]) -> np.ndarray | None:
        free = np.zeros(shape, dtype=bool)
        free[list(self.features)] = True
        return free

    def _shift(self, x: np.ndarray, severity: int, rng: np.random.Generator,
               domain: Domain) -> np.ndarray:
        bad = [f for f in self.features if not 0 <= f < x.shape[1]]
        if bad:
            raise InputError(f"category_swap: feature index {bad[0]} is out of range for "
                             f"{x.shape[1]} features")
        out = x.copy()
        hit = rng.random(x.shape) < self.levels[severity - 1]  # (N, F), drawn once
        for f in self.features:  # a loop over columns; each column is vectorised
            values = np.unique(x[:, f])
            draw = rng.integers(0, max(len(values) - 1, 1), size=len(x))  # (N,)
            if len(values) < 2:
                continue
            code = np.searchsorted(values, x[:, f])
            other = values[draw + (draw >= code)]  # skips the current value
            out[:, f] = np.where(hit[:, f], other, x[:, f])
        return out
