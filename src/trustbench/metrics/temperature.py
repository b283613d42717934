"""Temperature scaling: one scalar that rescales a classifier's confidence."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from trustbench.errors import InputError
from trustbench.metrics.calibration import PROB_FLOOR, _check

__all__ = ["TemperatureScaling", "log_softmax"]

Inputs = Literal["probabilities", "logits"]


def log_softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise ``log softmax`` of (N, C) logits, stable for large values."""
    z = z - z.max(1, keepdims=True)  # (N, C)
    return z - np.log(np.exp(z).sum(1, keepdims=True))


class TemperatureScaling:
    """Fit one temperature ``T > 0``; predict ``softmax(log p / T)``.

    The temperature minimises the negative log-likelihood on held-out data.

    Works from log-probabilities, so models that only return probabilities are covered:
    ``softmax(log softmax(z) / T) == softmax(z / T)`` because ``log softmax(z)`` differs from
    the logits ``z`` by a per-row constant. ``T > 1`` softens an overconfident model,
    ``T < 1`` sharpens an underconfident one; the predicted class never changes.

    Parameters
    ----------
    inputs
        What ``scores`` hold in :meth:`fit` and :meth:`transform`: ``"probabilities"``
        (clipped to at least 1e-12 before the log) or ``"logits"``. Prefer logits when the
        model has them: a very confident model's float32 probabilities underflow to 0, the
        clip caps its log-probability gaps at about 27.6, and the fitted ``T`` then comes
        out too small.
    bounds
        Search interval for ``T``; an optimum on a bound (e.g. a model that is right on
        every validation point wants ``T -> 0``) is returned as the bound.

    Attributes
    ----------
    temperature_
        The fitted ``T``.
    nll_before_, nll_after_
        Validation negative log-likelihood at ``T = 1`` and at ``temperature_``.

    References
    ----------
    Guo et al., "On Calibration of Modern Neural Networks", ICML 2017.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> logits = rng.normal(size=(2000, 5)) * 2
    >>> probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    >>> y = np.array([rng.choice(5, p=p) for p in probs])  # labels drawn from the model
    >>> ts = TemperatureScaling(inputs="logits").fit(3 * logits, y)  # 3x overconfident
    >>> round(ts.temperature_, 1)
    3.0
    """

    def __init__(self, *, inputs: Inputs = "probabilities",
                 bounds: tuple[float, float] = (0.01, 100.0)) -> None:
        self.inputs = inputs
        self.bounds = bounds

    def _log_probs(self, scores: np.ndarray, y_true: np.ndarray | None = None) -> np.ndarray:
        if self.inputs not in ("probabilities", "logits"):
            raise InputError(f"inputs must be 'probabilities' or 'logits', got {self.inputs!r}")
        scores = np.asarray(scores, dtype=np.float64)
        if y_true is not None:
            _, scores = _check(y_true, scores)
        elif scores.ndim != 2:
            raise InputError(f"scores must be (n_samples, n_classes), got shape {scores.shape}")
        if not np.isfinite(scores).all():
            raise InputError("scores hold NaN or infinite values")
        if self.inputs == "logits":
            return log_softmax(scores)
        return np.log(np.clip(scores, PROB_FLOOR, 1.0))

    def fit(self, scores: np.ndarray, y_true: np.ndarray) -> TemperatureScaling:
        """Fit ``temperature_`` on validation ``scores`` (N, C) and labels ``y_true`` (N,).

        NLL is convex in ``1 / T``, so a bounded scalar search over ``log T`` finds the global
        optimum.
        """
        from scipy.optimize import minimize_scalar

        lo, hi = self.bounds
        if not 0 < lo < hi:
            raise InputError(f"bounds must satisfy 0 < low < high, got {self.bounds}")
        z = self._log_probs(scores, y_true)  # (N, C)
        if not len(z):
            raise InputError("fit needs at least one validation point, got none")
        y = np.asarray(y_true, dtype=np.int64)
        z_true = z[np.arange(len(y)), y]  # (N,)

        def nll(log_t: float) -> float:
            zt = z / math.exp(log_t)  # (N, C)
            m = zt.max(1)
            lse = m + np.log(np.exp(zt - m[:, None]).sum(1))  # (N,)
            return float(np.mean(lse - z_true / math.exp(log_t)))

        res = minimize_scalar(nll, bounds=(math.log(lo), math.log(hi)), method="bounded",
                              options={"xatol": 1e-4})
        self.temperature_ = float(math.exp(res.x))
        self.nll_before_ = nll(0.0)
        self.nll_after_ = float(res.fun)
        if self.nll_before_ < self.nll_after_:  # never worse than leaving the model alone
            self.temperature_, self.nll_after_ = 1.0, self.nll_before_
        return self

    def transform(self, scores: np.ndarray) -> np.ndarray:
        """(N, C) calibrated probabilities ``softmax(log p / temperature_)``."""
        if not hasattr(self, "temperature_"):
            raise InputError("TemperatureScaling is not fitted: call fit(scores_val, y_val) "
                             "first")
        return np.exp(log_softmax(self._log_probs(scores) / self.temperature_))

    def fit_transform(self, scores: np.ndarray, y_true: np.ndarray) -> np.ndarray:
        """Fit on ``scores`` and ``y_true``, then return the calibrated probabilities of ``scores``."""
        return self.fit(scores, y_true).transform(scores)

    def __repr__(self) -> str:
        t = getattr(self, "temperature_", None)
        return f"TemperatureScaling(inputs={self.inputs!r}" + (
            f", temperature_={t:.3g})" if t is not None else ")")
