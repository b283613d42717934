"""Spectral signatures: poisoned training rows stand out along one direction per class.

For each class (by its training label): the penultimate representations of its rows,
centred on their mean; their top right singular vector ``v``; each row's score is its
squared projection ``((r - mean) · v)²``. Poisoned rows, relabelled into the class, form a
second population that dominates that direction. The paper removes the ``1.5 · eps · n``
highest-scoring rows of each class, ``eps`` an upper bound on the poisoned share and ``n``
the class's size — a removal budget, not a threshold, so a class *without* poison loses
that many clean rows too (which is why a clean model "rejects clean images", ART #1188:
the rule is per class and needs ``eps``).

References
----------
Tran, Li & Madry, "Spectral signatures in backdoor attacks", NeurIPS 2018 (Algorithm 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trustbench.errors import InputError

__all__ = ["SpectralResult", "spectral_signatures"]


@dataclass(frozen=True)
class SpectralResult:
    """Scores (N,), the rows removed (N,) bool, and per class how many were removed."""

    scores: np.ndarray
    flagged: np.ndarray
    removed_per_class: dict[int, int]
    eps: float


def spectral_signatures(features: np.ndarray, y: np.ndarray, *, eps: float = 0.1,
                        factor: float = 1.5) -> SpectralResult:
    """Score every row of ``features`` (N, D) and flag the top ``factor·eps·n`` per class.

    Parameters
    ----------
    features
        Penultimate representations (:func:`trustbench.security.features.representations`).
    y
        The training labels (the poisoned ones: detection runs on the data as given).
    eps
        Upper bound on the share of poisoned rows in a class.
    factor
        The paper's 1.5 (remove more than ``eps``: the bound is loose).
    """
    features, y = np.asarray(features, np.float64), np.asarray(y)
    if features.ndim != 2 or len(features) != len(y):
        raise InputError(f"features {features.shape} and labels {y.shape} do not match")
    if not 0 < eps < 1:
        raise InputError(f"eps must be in (0, 1), got {eps}")
    scores = np.zeros(len(y))
    flagged = np.zeros(len(y), bool)
    removed: dict[int, int] = {}
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        if len(idx) < 2:
            removed[int(c)] = 0
            continue
        r = features[idx] - features[idx].mean(0)  # (n_c, D)
        _, _, vt = np.linalg.svd(r, full_matrices=False)
        s = (r @ vt[0]) ** 2  # (n_c,)
        scores[idx] = s
        k = min(len(idx) - 1, int(np.floor(factor * eps * len(idx))))
        if k > 0:
            flagged[idx[np.argsort(-s, kind="stable")[:k]]] = True
        removed[int(c)] = k
    return SpectralResult(scores, flagged, removed, eps)
