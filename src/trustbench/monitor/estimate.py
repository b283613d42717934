"""Accuracy before labels arrive: confidence-based performance estimation.

On the reference, where labels are known, :class:`ConfidenceCalibration` fits how often the
model is right as a function of its top-class confidence, for each predicted class
(isotonic regression, so the map is monotone and needs no parametric form; a pooled map
serves classes with few reference rows). On a production window without labels,
:func:`estimate_accuracy` maps each row's confidence to its probability of being right;
the estimated accuracy is their mean.

Its interval is for the accuracy the window will turn out to have once labelled: each row
is right with its own probability ``c_i``, so the realised accuracy has variance
``sum c_i (1 - c_i) / n^2`` (a Poisson-binomial), plus the calibration's own uncertainty,
taken from a bootstrap of the reference fit. The estimate assumes what CBPE assumes: the
inputs may shift, but the chance of being right *given the confidence* does not (no
concept drift). Under concept drift only labels tell, which is why realised performance
replaces the estimate as soon as labels arrive, and estimates are always marked as such.

References
----------
NannyML, "Confidence-based Performance Estimation (CBPE)", https://nannyml.readthedocs.io
(2022). Zadrozny & Elkan, "Transforming classifier scores into accurate multiclass
probability estimates", KDD 2002 (isotonic calibration).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from trustbench.errors import InputError

__all__ = ["AccuracyEstimate", "ConfidenceCalibration", "estimate_accuracy"]

N_BOOT = 200
#: Reference rows a predicted class needs for a calibration map of its own.
MIN_CLASS_ROWS = 50


def _confidence(proba: np.ndarray, where: str) -> np.ndarray:
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim != 2 or proba.shape[1] < 2:
        raise InputError(f"{where}: probabilities must be (rows, classes) with at least two "
                         f"classes, got shape {proba.shape}")
    if not np.isfinite(proba).all():
        raise InputError(f"{where}: probabilities hold NaN or infinite values")
    return proba.max(1)


def _isotonic(conf: np.ndarray, correct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(conf, correct)
    return np.asarray(iso.X_thresholds_, dtype=np.float64), np.asarray(iso.y_thresholds_,
                                                                       dtype=np.float64)


Maps = dict[str, tuple[np.ndarray, np.ndarray]]  # "*" pooled, or a class: breakpoints


def _fit_maps(pred: np.ndarray, conf: np.ndarray, correct: np.ndarray) -> Maps:
    """Isotonic maps of P(right | confidence): pooled, and per predicted class with enough rows.

    Per class because a model can be over-confident on one class and under-confident on
    another; with a pooled map only, those errors would cancel on the reference and not on a
    window whose class mix moved.
    """
    maps: Maps = {"*": _isotonic(conf, correct)}
    for k in np.unique(pred):
        rows = pred == k
        if rows.sum() >= MIN_CLASS_ROWS and 0 < correct[rows].mean() <= 1:
            maps[str(int(k))] = _isotonic(conf[rows], correct[rows])
    return maps


def _apply(maps: Maps, pred: np.ndarray, conf: np.ndarray) -> np.ndarray:
    out = np.interp(conf, *maps["*"])
    for k, (x, y) in maps.items():
        if k != "*":
            rows = pred == int(k)
            out[rows] = np.interp(conf[rows], x, y)
    return out


def _maps_to_json(maps: Maps) -> dict[str, list[list[float]]]:
    return {k: [x.tolist(), y.tolist()] for k, (x, y) in maps.items()}


def _maps_from_json(d: Mapping[str, Any]) -> Maps:
    return {str(k): (np.asarray(v[0], dtype=np.float64), np.asarray(v[1], dtype=np.float64))
            for k, v in d.items()}


@dataclass(frozen=True)
class ConfidenceCalibration:
    """P(right | predicted class, top-class confidence), fitted on labelled reference rows.

    ``maps`` holds isotonic breakpoints per predicted class (classes with at least
    :data:`MIN_CLASS_ROWS` reference rows) and pooled (``"*"``, for the others); ``boots``
    the same for bootstrap refits (for the calibration's share of the interval).
    """

    maps: Maps
    boots: tuple[Maps, ...]
    n: int

    @classmethod
    def fit(cls, y_true: np.ndarray, proba: np.ndarray, *, seed: int = 0,
            n_boot: int = N_BOOT) -> ConfidenceCalibration:
        """Fit on reference labels ``y_true`` (class indices) and probabilities ``proba``."""
        conf = _confidence(proba, "reference")
        y_true = np.asarray(y_true)
        if len(y_true) != len(conf):
            raise InputError(f"reference: {len(y_true)} labels for {len(conf)} rows of "
                             "probabilities")
        if len(conf) < 2:
            raise InputError("reference: at least two labelled rows are needed to calibrate")
        pred = np.asarray(proba).argmax(1)
        correct = (pred == y_true).astype(np.float64)
        rng = np.random.default_rng(seed)
        boots = []
        for _ in range(n_boot):
            rows = rng.integers(0, len(conf), len(conf))
            boots.append(_fit_maps(pred[rows], conf[rows], correct[rows]))
        return cls(_fit_maps(pred, conf, correct), tuple(boots), len(conf))

    def __call__(self, proba: np.ndarray) -> np.ndarray:
        """(n,) probability that each row's prediction is right."""
        conf = _confidence(proba, "window")
        return _apply(self.maps, np.asarray(proba).argmax(1), conf)

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form (for the monitor's database)."""
        return {"version": 2, "n": self.n, "maps": _maps_to_json(self.maps),
                "boots": [_maps_to_json(b) for b in self.boots]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ConfidenceCalibration:
        """Read back :meth:`to_dict`."""
        if d.get("version") != 2:
            raise InputError("the stored calibration is of another trustbench version",
                             fix="create the monitor again to refit it")
        return cls(_maps_from_json(d["maps"]),
                   tuple(_maps_from_json(b) for b in d.get("boots", [])), int(d["n"]))


@dataclass(frozen=True)
class AccuracyEstimate:
    """An estimated accuracy: the value, a 95% interval for the realised accuracy, rows."""

    value: float
    ci: tuple[float, float]
    n: int
    estimated: bool = True  # always: reports mark it as an estimate, not a measurement


def estimate_accuracy(calibration: ConfidenceCalibration, proba: np.ndarray) -> AccuracyEstimate:
    """Estimate a window's accuracy from its probabilities alone."""
    conf = _confidence(proba, "window")
    n = len(conf)
    if n == 0:
        return AccuracyEstimate(math.nan, (math.nan, math.nan), 0)
    pred = np.asarray(proba).argmax(1)
    c = _apply(calibration.maps, pred, conf)
    value = float(c.mean())
    var_rows = float((c * (1 - c)).sum()) / n**2  # the realised accuracy around its mean
    boots = [float(_apply(b, pred, conf).mean()) for b in calibration.boots]
    var_fit = float(np.var(boots, ddof=1)) if len(boots) > 1 else 0.0
    half = 1.96 * math.sqrt(var_rows + var_fit)
    return AccuracyEstimate(value, (max(0.0, value - half), min(1.0, value + half)), n)
