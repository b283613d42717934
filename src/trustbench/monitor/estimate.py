"""Accuracy before labels arrive: confidence-based performance estimation.

On the reference, where labels are known, :class:`ConfidenceCalibration` fits how often the
model is right as a function of its top-class confidence (isotonic regression, so the map
is monotone and needs no parametric form). On a production window without labels,
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


@dataclass(frozen=True)
class ConfidenceCalibration:
    """P(right | top-class confidence), fitted on labelled reference rows.

    ``x``, ``y`` are the isotonic fit's breakpoints; ``boot_x``, ``boot_y`` those of
    bootstrap refits (for the calibration's share of the interval).
    """

    x: np.ndarray
    y: np.ndarray
    boot_x: tuple[np.ndarray, ...]
    boot_y: tuple[np.ndarray, ...]
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
        correct = (np.asarray(proba).argmax(1) == y_true).astype(np.float64)
        x, y = _isotonic(conf, correct)
        rng = np.random.default_rng(seed)
        bx, by = [], []
        for _ in range(n_boot):
            rows = rng.integers(0, len(conf), len(conf))
            fx, fy = _isotonic(conf[rows], correct[rows])
            bx.append(fx)
            by.append(fy)
        return cls(x, y, tuple(bx), tuple(by), len(conf))

    def __call__(self, proba: np.ndarray) -> np.ndarray:
        """(n,) probability that each row's prediction is right."""
        return np.interp(_confidence(proba, "window"), self.x, self.y)

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible form (for the profile in the database)."""
        return {"x": self.x.tolist(), "y": self.y.tolist(), "n": self.n,
                "boot": [[bx.tolist(), by.tolist()] for bx, by in zip(self.boot_x, self.boot_y,
                                                                      strict=True)]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ConfidenceCalibration:
        """Read back :meth:`to_dict`."""
        boot = d.get("boot", [])
        return cls(np.asarray(d["x"], dtype=np.float64), np.asarray(d["y"], dtype=np.float64),
                   tuple(np.asarray(b[0], dtype=np.float64) for b in boot),
                   tuple(np.asarray(b[1], dtype=np.float64) for b in boot), int(d["n"]))


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
    c = np.interp(conf, calibration.x, calibration.y)
    value = float(c.mean())
    var_rows = float((c * (1 - c)).sum()) / n**2  # the realised accuracy around its mean
    boots = [float(np.interp(conf, bx, by).mean())
             for bx, by in zip(calibration.boot_x, calibration.boot_y, strict=True)]
    var_fit = float(np.var(boots, ddof=1)) if len(boots) > 1 else 0.0
    half = 1.96 * math.sqrt(var_rows + var_fit)
    return AccuracyEstimate(value, (max(0.0, value - half), min(1.0, value + half)), n)
