"""Out-of-distribution detection: per-input scores and how well they separate data sets.

Convention: every score is *higher for in-distribution* inputs, and the in-distribution
set is the positive class of :func:`ood_auroc` and :func:`fpr_at_tpr`.
"""

from __future__ import annotations

import math

import numpy as np

from trustbench.errors import InputError

__all__ = ["energy_score", "fpr_at_tpr", "max_softmax_score", "ood_auroc"]


def _scores2d(scores: np.ndarray, what: str) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[1] < 1:
        raise InputError(f"{what} must be (n_samples, n_classes), got shape {scores.shape}")
    return scores


def _pair(scores_in: np.ndarray, scores_out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s_in = np.asarray(scores_in, dtype=np.float64).ravel()
    s_out = np.asarray(scores_out, dtype=np.float64).ravel()
    if not len(s_in) or not len(s_out):
        raise InputError(f"need in- and out-of-distribution scores, got {len(s_in)} and "
                         f"{len(s_out)}")
    if not (np.isfinite(s_in).all() and np.isfinite(s_out).all()):
        raise InputError("OOD scores hold NaN or infinite values")
    return s_in, s_out


def max_softmax_score(scores: np.ndarray) -> np.ndarray:
    """(N,) maximum softmax probability of (N, C) class probabilities.

    References
    ----------
    Hendrycks & Gimpel, "A Baseline for Detecting Misclassified and Out-of-Distribution
    Examples in Neural Networks", ICLR 2017.

    Examples
    --------
    >>> import numpy as np
    >>> max_softmax_score(np.array([[0.7, 0.2, 0.1], [0.4, 0.6, 0.0]])).tolist()
    [0.7, 0.6]
    """
    return _scores2d(scores, "scores").max(1)


def energy_score(logits: np.ndarray, *, temperature: float = 1.0) -> np.ndarray:
    """(N,) negative free energy ``T * logsumexp(logits / T)`` of (N, C) logits.

    Needs real logits: for log-probabilities ``logsumexp(log p) = log 1 = 0`` for every input,
    so a model that only returns probabilities has no energy score.

    References
    ----------
    Liu, Wang, Owens & Li, "Energy-based Out-of-distribution Detection", NeurIPS 2020.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(energy_score(np.array([[0.0, 0.0]]))[0]), 4)  # log 2
    0.6931
    """
    if not temperature > 0:
        raise InputError(f"temperature must be > 0, got {temperature}")
    z = _scores2d(logits, "logits") / temperature  # (N, C)
    m = z.max(1)  # (N,)
    return temperature * (m + np.log(np.exp(z - m[:, None]).sum(1)))


def ood_auroc(scores_in: np.ndarray, scores_out: np.ndarray) -> float:
    """Area under the ROC curve for telling in- (positive) from out-of-distribution inputs.

    1 separates perfectly, 0.5 is chance, below 0.5 the score ranks OOD inputs *higher*.
    Ties count one half.

    Examples
    --------
    >>> import numpy as np
    >>> s_in, s_out = np.array([0.9, 0.8, 0.7, 0.6]), np.array([0.65, 0.5, 0.4, 0.3])
    >>> ood_auroc(s_in, s_out)  # 15 of the 16 (in, out) pairs ranked right
    0.9375
    """
    from sklearn.metrics import roc_auc_score

    s_in, s_out = _pair(scores_in, scores_out)
    labels = np.r_[np.ones(len(s_in)), np.zeros(len(s_out))]
    return float(roc_auc_score(labels, np.r_[s_in, s_out]))


def fpr_at_tpr(scores_in: np.ndarray, scores_out: np.ndarray, *, tpr: float = 0.95) -> float:
    """Fraction of OOD inputs still accepted when the threshold keeps ``tpr`` of the in-distribution inputs.

    This is the FPR at 95% TPR by default; lower is better.

    The threshold is the largest ``t`` with ``mean(scores_in >= t) >= tpr``, i.e. the
    ``ceil(tpr * n_in)``-th largest in-distribution score; an input is accepted as
    in-distribution when its score is ``>= t``.

    References
    ----------
    Liang, Li & Srikant, "Enhancing The Reliability of Out-of-distribution Image Detection in
    Neural Networks", ICLR 2018.

    Examples
    --------
    >>> import numpy as np
    >>> s_in, s_out = np.array([0.9, 0.8, 0.7, 0.6]), np.array([0.65, 0.5, 0.4, 0.3])
    >>> fpr_at_tpr(s_in, s_out, tpr=0.75)  # threshold 0.7: no OOD input passes
    0.0
    >>> fpr_at_tpr(s_in, s_out, tpr=1.0)  # threshold 0.6: 0.65 passes
    0.25
    """
    if not 0 < tpr <= 1:
        raise InputError(f"tpr must be in (0, 1], got {tpr}")
    s_in, s_out = _pair(scores_in, scores_out)
    k = max(1, math.ceil(tpr * len(s_in) - 1e-9))  # points to accept
    threshold = np.sort(s_in)[::-1][k - 1]
    return float(np.mean(s_out >= threshold))
