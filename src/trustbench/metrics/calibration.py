"""Calibration metrics: how far a model's confidence can be trusted.

Plain functions of ``(scores, y_true)`` where ``scores`` is (N, C) class probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = ["ReliabilityBins", "expected_calibration_error", "reliability_bins"]

Strategy = Literal["uniform", "adaptive"]


@dataclass(frozen=True)
class ReliabilityBins:
    """Per-bin mean confidence, accuracy and count of the top-1 prediction."""

    edges: np.ndarray  # (B + 1,)
    confidence: np.ndarray  # (B,) NaN for empty bins
    accuracy: np.ndarray  # (B,) NaN for empty bins
    count: np.ndarray  # (B,) int


def reliability_bins(scores: np.ndarray, y_true: np.ndarray, *, n_bins: int = 15,
                     strategy: Strategy = "uniform") -> ReliabilityBins:
    """Bin the top-1 confidence: ``"uniform"`` equal-width bins on [0, 1], ``"adaptive"``
    equal-mass bins (quantiles of the confidence).

    References
    ----------
    Guo et al., "On Calibration of Modern Neural Networks", ICML 2017.
    Nixon et al., "Measuring Calibration in Deep Learning", CVPR Workshops 2019 (adaptive).
    """
    scores = np.asarray(scores, dtype=np.float64)
    y_true = np.asarray(y_true)
    conf = scores.max(1)  # (N,)
    correct = (scores.argmax(1) == y_true).astype(np.float64)  # (N,)
    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    elif strategy == "adaptive":
        edges = np.quantile(conf, np.linspace(0.0, 1.0, n_bins + 1)) if len(conf) else \
            np.linspace(0.0, 1.0, n_bins + 1)
        edges[0], edges[-1] = 0.0, 1.0
    else:
        raise ValueError(f"strategy must be 'uniform' or 'adaptive', got {strategy!r}")
    # right-closed bins; confidence 0 falls in the first bin
    idx = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, n_bins - 1)  # (N,)
    count = np.bincount(idx, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        confidence = np.bincount(idx, conf, minlength=n_bins) / count
        accuracy = np.bincount(idx, correct, minlength=n_bins) / count
    return ReliabilityBins(edges, confidence, accuracy, count)


def expected_calibration_error(scores: np.ndarray, y_true: np.ndarray, *, n_bins: int = 15,
                               strategy: Strategy = "uniform") -> float:
    """Expected calibration error: bin-weighted mean |accuracy - confidence| of the top-1
    prediction (0 is perfectly calibrated).

    References
    ----------
    Naeini et al., "Obtaining Well Calibrated Probabilities Using Bayesian Binning", AAAI 2015.
    """
    b = reliability_bins(scores, y_true, n_bins=n_bins, strategy=strategy)
    n = b.count.sum()
    if n == 0:
        return float("nan")
    filled = b.count > 0
    return float(np.sum(b.count[filled] * np.abs(b.accuracy[filled] - b.confidence[filled])) / n)
