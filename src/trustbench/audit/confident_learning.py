"""Confident learning: which given labels are likely wrong, from out-of-sample probabilities.

Plain functions of ``labels`` (N,) class indices and ``pred_probs`` (N, K) out-of-fold
predicted probabilities; the audit check (:mod:`trustbench.audit.label_errors`) computes
those and reports the result.

References
----------
Northcutt, Jiang & Chuang, "Confident Learning: Estimating Uncertainty in Dataset Labels",
JAIR 70 (2021). The defaults follow the paper's ``C_confusion`` calibration and its
"prune by noise rate" method (``find_label_issues`` of the authors' cleanlab package).

Examples
--------
>>> import numpy as np
>>> labels = np.array([0, 0, 0, 1, 1, 1])
>>> pred_probs = np.array([[.9, .1], [.8, .2], [.1, .9], [.2, .8], [.1, .9], [.3, .7]])
>>> np.flatnonzero(find_label_issues(labels, pred_probs)).tolist()
[2]
"""

from __future__ import annotations

import numpy as np

__all__ = ["confident_joint", "confident_thresholds", "estimate_noise_rate",
           "find_label_issues", "label_quality", "rank_label_issues"]


def confident_thresholds(labels: np.ndarray, pred_probs: np.ndarray) -> np.ndarray:
    """t_j: the mean predicted probability of class j over the rows labelled j.

    This is the paper's per-class threshold (eq. 2). A class with no rows gets 2 (never
    confident).
    """
    k = pred_probs.shape[1]
    counts = np.bincount(labels, minlength=k)
    sums = np.zeros(k)
    np.add.at(sums, labels, pred_probs[np.arange(len(labels)), labels])
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(counts > 0, sums / np.maximum(counts, 1), 2.0)
    return np.clip(t, 1e-6, None)


def confident_joint(labels: np.ndarray, pred_probs: np.ndarray, *,
                    calibrate: bool = True) -> np.ndarray:
    """C[i, j]: rows given label i whose true label is confidently j, (K, K) counts.

    A row counts toward the class whose probability reaches that class's threshold; when
    several do, toward its most probable class. Calibrated, each row of C sums to the
    number of rows given that label (the paper's eq. 3).
    """
    k = pred_probs.shape[1]
    confident = pred_probs >= confident_thresholds(labels, pred_probs) - 1e-6  # (N, K)
    n_confident = confident.sum(1)
    guess = np.where(n_confident > 1, pred_probs.argmax(1), confident.argmax(1))
    sel = n_confident > 0
    joint = np.bincount(labels[sel] * k + guess[sel], minlength=k * k).reshape(k, k)
    joint[np.diag_indices(k)] = np.maximum(joint.diagonal(), 1)
    if not calibrate:
        return joint
    label_counts = np.bincount(labels, minlength=k)
    scaled = (joint.T / np.maximum(joint.sum(1), 1e-100) * label_counts).T
    scaled = scaled / scaled.sum() * label_counts.sum()
    return _round_rows(scaled)


def _round_rows(m: np.ndarray) -> np.ndarray:
    """Round each entry to the nearest integer, keeping each row's rounded total.

    After rounding, move the entries that rounding moved most back by one until each row
    keeps its rounded total (ties broken as in the authors' package).
    """
    out = np.rint(m)
    for r in range(len(m)):
        diff = int(np.rint(m[r].sum() - out[r].sum()))
        if diff == 0:
            continue
        residual = m[r] - out[r]
        order = np.argsort(residual)  # numpy's default sort, as the reference uses
        idx = order[::-1][:diff] if diff > 0 else order[:-diff]
        out[r, idx] += 1 if diff > 0 else -1
    return out.astype(np.int64)


def _keep_at_least(prune: np.ndarray, n: int) -> np.ndarray:
    """Prune counts (K, K) indexed [true, given]: leave at least ``n`` rows per given label.

    The rows are kept by lowering that column's noise counts evenly.
    """
    diag = prune.diagonal().astype(float)
    new_diag = np.maximum(diag, n)
    per_col = np.maximum(np.count_nonzero(prune, axis=0) - 1.0, 1.0)
    out = np.clip(prune - (new_diag - diag) / per_col, 0, None)
    out[np.diag_indices(len(out))] = new_diag
    return _round_rows(out)


def find_label_issues(labels: np.ndarray, pred_probs: np.ndarray, *,
                      min_examples_per_class: int = 1) -> np.ndarray:
    """(N,) bool mask of likely label errors, by pruning by noise rate.

    For each given label k and other class j, the calibrated confident joint estimates how
    many rows labelled k truly belong to j; that many rows labelled k with the largest
    margin ``p_j - p_k`` are flagged. Rows whose most probable class is their given label
    are never flagged.
    """
    labels = np.asarray(labels, dtype=np.int64)
    pred_probs = np.asarray(pred_probs, dtype=np.float64)
    k = pred_probs.shape[1]
    prune = _keep_at_least(confident_joint(labels, pred_probs).T, min_examples_per_class)
    mask = np.zeros(len(labels), dtype=bool)
    for given in range(k):
        rows = np.flatnonzero(labels == given)
        if len(rows) <= min_examples_per_class:
            continue
        for true in range(k):
            m = int(prune[true, given])
            if true == given or m <= 0:
                continue
            margin = pred_probs[rows, true] - pred_probs[rows, given]
            mask[rows[np.argsort(-margin)[:m]]] = True
    mask &= pred_probs.argmax(1) != labels
    return mask


def label_quality(labels: np.ndarray, pred_probs: np.ndarray, *,
                  method: str = "self_confidence") -> np.ndarray:
    """(N,) score in [0, 1], low for likely errors.

    ``method`` is ``self_confidence`` (p of the given label) or ``normalized_margin``
    ((p_given - max other p + 1) / 2).
    """
    n = np.arange(len(labels))
    p_given = pred_probs[n, labels]
    if method == "self_confidence":
        return p_given
    if method == "normalized_margin":
        other = pred_probs.copy()
        other[n, labels] = -np.inf
        return (p_given - other.max(1) + 1) / 2
    raise ValueError(f"method must be 'self_confidence' or 'normalized_margin', got {method!r}")


def rank_label_issues(mask: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """All positions, flagged rows first, each part from the lowest score up.

    The first k are the k rows most likely mislabelled.
    """
    order = np.lexsort((scores, ~mask))
    return order


def estimate_noise_rate(labels: np.ndarray, pred_probs: np.ndarray) -> float:
    """Fraction of rows whose given label differs from the true one.

    It is estimated from the calibrated confident joint (its off-diagonal mass).
    """
    joint = confident_joint(labels, pred_probs)
    return float((joint.sum() - np.trace(joint)) / max(joint.sum(), 1))
