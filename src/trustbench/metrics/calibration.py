"""Calibration metrics: how far a model's confidence can be trusted.

Plain functions ``f(y_true, scores)``, truth first as in scikit-learn and fairlearn, where
``y_true`` is (N,) class indices and ``scores`` (N, C) class probabilities. Lower is better
for every error here; 0 is perfect.

The old order ``f(scores, y_true)`` still works for now, with a :class:`DeprecationWarning`:
it is recognised unambiguously, as a 2-D first argument with a 1-D second is never valid in
the new order.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np

from trustbench._compat import renamed_kwargs
from trustbench.errors import InputError

__all__ = [
    "ReliabilityBins",
    "brier_score",
    "expected_calibration_error",
    "expected_calibration_error_ci",
    "maximum_calibration_error",
    "negative_log_likelihood",
    "reliability_bins",
]

Strategy = Literal["uniform", "adaptive"]

#: Probabilities are clipped to at least this before a logarithm.
PROB_FLOOR = 1e-12


def _check(y_true: np.ndarray, scores: np.ndarray, where: str | None = None, *,
           stacklevel: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Validate (N,) class indices against (N, C) scores; int labels, float64 scores.

    With ``where``, swaps the deprecated order ``(scores, y_true)`` back, warning on behalf
    of the public function ``where``, which calls this directly (``stacklevel`` one more per
    wrapper).
    """
    y_true, scores = np.asarray(y_true), np.asarray(scores)
    if where is not None and y_true.ndim == 2 and scores.ndim == 1:
        warnings.warn(f"{where}(scores, y_true) is deprecated: pass y_true first, "
                      f"{where}(y_true, scores), as scikit-learn does", DeprecationWarning,
                      stacklevel=stacklevel)
        y_true, scores = scores, y_true
    scores = scores.astype(np.float64, copy=False)
    if scores.ndim != 2:
        raise InputError(f"scores must be (n_samples, n_classes) probabilities, got shape "
                         f"{scores.shape}")
    if y_true.shape != (len(scores),):
        raise InputError(f"y_true must be ({len(scores)},) class indices to match scores, got "
                         f"shape {y_true.shape}")
    if y_true.size and (y_true.dtype.kind not in "iu" or y_true.min() < 0
                        or y_true.max() >= scores.shape[1]):
        raise InputError(f"y_true must hold class indices in [0, {scores.shape[1]}), got "
                         f"{y_true.dtype} values in [{y_true.min()}, {y_true.max()}]")
    return y_true.astype(np.int64), scores


def _bin_index(conf: np.ndarray, edges: np.ndarray) -> np.ndarray:
    # right-closed bins; confidence 0 falls in the first bin
    return np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, len(edges) - 2)


def _edges(conf: np.ndarray, n_bins: int, strategy: Strategy) -> np.ndarray:
    if strategy == "uniform":
        return np.linspace(0.0, 1.0, n_bins + 1)
    if strategy == "adaptive":
        edges = np.quantile(conf, np.linspace(0.0, 1.0, n_bins + 1)) if len(conf) else \
            np.linspace(0.0, 1.0, n_bins + 1)
        edges[0], edges[-1] = 0.0, 1.0
        return edges
    raise InputError(f"strategy must be 'uniform' or 'adaptive', got {strategy!r}")


@dataclass(frozen=True)
class ReliabilityBins:
    """Per-bin mean confidence, accuracy and count of the top-1 prediction."""

    edges: np.ndarray  # (B + 1,)
    confidence: np.ndarray  # (B,) NaN for empty bins
    accuracy: np.ndarray  # (B,) NaN for empty bins
    count: np.ndarray  # (B,) int


def reliability_bins(y_true: np.ndarray, scores: np.ndarray, *, n_bins: int = 15,
                     strategy: Strategy = "uniform") -> ReliabilityBins:
    """Bin the top-1 confidence.

    ``"uniform"`` makes equal-width bins on [0, 1], ``"adaptive"`` equal-mass bins
    (quantiles of the confidence).

    References
    ----------
    Guo et al., "On Calibration of Modern Neural Networks", ICML 2017.
    Nixon et al., "Measuring Calibration in Deep Learning", CVPR Workshops 2019 (adaptive).

    Examples
    --------
    >>> import numpy as np
    >>> scores = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.4, 0.6]])
    >>> b = reliability_bins(np.array([0, 1, 0, 0]), scores, n_bins=5)
    >>> b.count.tolist(), b.confidence.tolist()[2:], b.accuracy.tolist()[2:]
    ([0, 0, 2, 0, 2], [0.6, nan, 0.9], [0.5, nan, 0.5])
    """
    y_true, scores = _check(y_true, scores, "reliability_bins")
    return _reliability(y_true, scores, n_bins, strategy)


def _reliability(y_true: np.ndarray, scores: np.ndarray, n_bins: int,
                 strategy: Strategy) -> ReliabilityBins:
    """:func:`reliability_bins` of already checked arrays."""
    conf = scores.max(1)  # (N,)
    correct = (scores.argmax(1) == y_true).astype(np.float64)  # (N,)
    edges = _edges(conf, n_bins, strategy)
    idx = _bin_index(conf, edges)  # (N,)
    count = np.bincount(idx, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        confidence = np.bincount(idx, conf, minlength=n_bins) / count
        accuracy = np.bincount(idx, correct, minlength=n_bins) / count
    return ReliabilityBins(edges, confidence, accuracy, count)


def expected_calibration_error(y_true: np.ndarray, scores: np.ndarray, *, n_bins: int = 15,
                               strategy: Strategy = "uniform") -> float:
    """Compute the expected calibration error of the top-1 prediction.

    It is the bin-weighted mean |accuracy - confidence| of the top-1 prediction (0 is
    perfectly calibrated).

    A binned estimate is biased upward on few points: a perfectly calibrated model still
    scores about ``sqrt(n_bins / N)`` times a small constant.

    References
    ----------
    Naeini et al., "Obtaining Well Calibrated Probabilities Using Bayesian Binning", AAAI 2015.

    Examples
    --------
    >>> import numpy as np
    >>> scores = np.array([[0.9, 0.1], [0.9, 0.1]])
    >>> expected_calibration_error(np.array([0, 1]), scores)  # 90% confident, 50% right
    0.4
    """
    b = _reliability(*_check(y_true, scores, "expected_calibration_error"), n_bins, strategy)
    n = b.count.sum()
    if n == 0:
        return float("nan")
    filled = b.count > 0
    return float(np.sum(b.count[filled] * np.abs(b.accuracy[filled] - b.confidence[filled])) / n)


def maximum_calibration_error(y_true: np.ndarray, scores: np.ndarray, *, n_bins: int = 15,
                              strategy: Strategy = "uniform") -> float:
    """Maximum calibration error: the largest |accuracy - confidence| over non-empty bins.

    Sensitive to sparsely filled bins (one point can make a bin's gap 0.9); read it together
    with the bin counts of :func:`reliability_bins`.

    References
    ----------
    Naeini et al., "Obtaining Well Calibrated Probabilities Using Bayesian Binning", AAAI 2015.

    Examples
    --------
    >>> import numpy as np
    >>> scores = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.4, 0.6]])
    >>> y_true = np.array([0, 1, 0, 0])  # bins: 0.9 confident, 50% right; 0.6 and 50%
    >>> round(maximum_calibration_error(y_true, scores, n_bins=5), 4)
    0.4
    >>> round(expected_calibration_error(y_true, scores, n_bins=5), 4)  # (0.4 + 0.1) / 2
    0.25
    """
    b = _reliability(*_check(y_true, scores, "maximum_calibration_error"), n_bins, strategy)
    filled = b.count > 0
    if not filled.any():
        return float("nan")
    return float(np.max(np.abs(b.accuracy[filled] - b.confidence[filled])))


def brier_score(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Multi-class Brier score, in [0, 2].

    It is the mean over points of the summed squared error between the probability vector
    and the one-hot label.

    References
    ----------
    Brier, "Verification of forecasts expressed in terms of probability", Monthly Weather
    Review 78 (1950).

    Examples
    --------
    >>> import numpy as np
    >>> round(brier_score(np.array([0]), np.array([[0.8, 0.2]])), 4)  # 0.2**2 + 0.2**2
    0.08
    """
    y_true, scores = _check(y_true, scores, "brier_score")
    if not len(scores):
        return float("nan")
    err = scores.copy()  # (N, C)
    err[np.arange(len(y_true)), y_true] -= 1.0
    return float(np.mean(np.sum(err**2, axis=1)))


def negative_log_likelihood(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Mean negative log-probability of the true class (cross-entropy), in nats.

    Probabilities are clipped to at least :data:`PROB_FLOOR` (1e-12), so one confidently
    wrong point costs at most ``-log(1e-12) ≈ 27.6`` instead of infinity.

    Examples
    --------
    >>> import numpy as np
    >>> round(negative_log_likelihood(np.array([1]), np.array([[0.5, 0.5]])), 4)  # log 2
    0.6931
    """
    y_true, scores = _check(y_true, scores, "negative_log_likelihood")
    if not len(scores):
        return float("nan")
    p = scores[np.arange(len(y_true)), y_true]  # (N,)
    return float(-np.mean(np.log(np.clip(p, PROB_FLOOR, 1.0))))


@renamed_kwargs(n_samples="n_boot")
def expected_calibration_error_ci(y_true: np.ndarray, scores: np.ndarray, *, n_bins: int = 15,
                                  strategy: Strategy = "uniform", n_boot: int = 200,
                                  alpha: float = 0.05, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap ``(low, high)`` interval of :func:`expected_calibration_error`.

    Resamples points with replacement ``n_boot`` times (all at once, vectorised);
    adaptive bins are re-fitted on every resample. The interval shows sampling noise; it
    inherits the estimator's upward bias, so a perfectly calibrated model's interval need not
    contain 0.

    ``n_boot`` (bootstrap resamples) was called ``n_samples``, a name trustbench keeps for
    points; the old keyword still works, with a :class:`DeprecationWarning`.

    References
    ----------
    Efron & Tibshirani, "An Introduction to the Bootstrap", Chapman & Hall 1993.
    """
    # stacklevel 4: past the renamed_kwargs wrapper to the caller
    y_true, scores = _check(y_true, scores, "expected_calibration_error_ci", stacklevel=4)
    n = len(scores)
    if n == 0:
        return (float("nan"), float("nan"))
    if n_boot < 1:
        raise InputError(f"n_boot must be a positive number of resamples, got {n_boot}")
    conf = scores.max(1)  # (N,)
    correct = (scores.argmax(1) == y_true).astype(np.float64)  # (N,)
    rows = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))  # (R, N)
    c, k = conf[rows], correct[rows]  # (R, N)
    if strategy == "adaptive":
        edges = np.quantile(c, np.linspace(0.0, 1.0, n_bins + 1), axis=1).T  # (R, B + 1)
        edges[:, 0], edges[:, -1] = 0.0, 1.0
        # one searchsorted for all resamples: shift resample r into [2r, 2r + 1]
        shift = 2.0 * np.arange(n_boot)[:, None]  # (R, 1)
        pos = np.searchsorted((edges + shift).ravel(), (c + shift).ravel(), side="left")
        idx = np.clip(pos.reshape(n_boot, n) - np.arange(n_boot)[:, None] * (n_bins + 1)
                      - 1, 0, n_bins - 1)  # (R, N)
    else:
        idx = _bin_index(conf, _edges(conf, n_bins, strategy))[rows]  # (R, N)
    flat = (idx + n_bins * np.arange(n_boot)[:, None]).ravel()  # (R * N,)
    size = n_boot * n_bins
    # per bin, count * |accuracy - confidence| = |sum(correct) - sum(confidence)|
    gap = np.abs(np.bincount(flat, k.ravel(), minlength=size)
                 - np.bincount(flat, c.ravel(), minlength=size)).reshape(n_boot, n_bins)
    ece = gap.sum(1) / n  # (R,)
    lo, hi = np.quantile(ece, [alpha / 2, 1 - alpha / 2])
    return (float(lo), float(hi))
