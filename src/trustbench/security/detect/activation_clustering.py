"""Activation clustering: poisoned rows of a class form their own cluster of activations.

For each class (by training label): the flattened last-hidden-layer activations of its
rows — every unit, not one channel (ART #2313) — reduced to 10 dimensions by ICA (the
paper's choice; PCA optional), then 2-means. A class whose smaller cluster is both small
(relative size at most ``size_threshold``) and well separated (silhouette at least
``silhouette_threshold``) is called poisoned, and that cluster's rows are flagged. The
paper's third analysis, *exclusionary reclassification*, retrains without a suspicious
cluster and lets the new model classify it: a cluster of genuine rows keeps its label, a
poisoned one goes to its source class (:func:`exclusionary_reclassification`).

References
----------
Chen, Carvalho, Baracaldo, Ludwig, Edwards, Lee, Molloy & Srivastava, "Detecting backdoor
attacks on deep neural networks by activation clustering", AAAI SafeAI workshop 2019
(arXiv:1811.03728), sections 4-5.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from trustbench.errors import InputError

__all__ = ["ACResult", "activation_clustering", "exclusionary_reclassification"]


@dataclass(frozen=True)
class ACResult:
    """Flagged rows (N,) bool and, per class, its clusters' sizes and silhouette."""

    flagged: np.ndarray
    relative_size: dict[int, float]
    silhouette: dict[int, float]
    poisoned_classes: list[int]
    clusters: dict[int, np.ndarray] = field(default_factory=dict)  # class -> row ids of its smaller cluster


def activation_clustering(features: np.ndarray, y: np.ndarray, *, n_components: int = 10,
                          reduce: Literal["ica", "pca"] = "ica", size_threshold: float = 0.35,
                          silhouette_threshold: float = 0.10, seed: int = 0) -> ACResult:
    """Cluster each class's activations in two and flag small, well-separated clusters.

    Parameters
    ----------
    features
        (N, D) activations (:func:`trustbench.security.features.representations`).
    y
        Training labels as given (poisoned rows carry the attacker's label).
    n_components, reduce
        The paper's 10 independent components (``"pca"``: principal ones).
    size_threshold, silhouette_threshold
        A class is poisoned when its smaller cluster holds at most ``size_threshold`` of
        its rows and the 2-means silhouette is at least ``silhouette_threshold``.
    """
    import warnings

    from sklearn.cluster import KMeans
    from sklearn.decomposition import PCA, FastICA
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import silhouette_score

    features, y = np.asarray(features, np.float64), np.asarray(y)
    if features.ndim != 2 or len(features) != len(y):
        raise InputError(f"features {features.shape} and labels {y.shape} do not match")
    flagged = np.zeros(len(y), bool)
    sizes: dict[int, float] = {}
    sil: dict[int, float] = {}
    clusters: dict[int, np.ndarray] = {}
    poisoned: list[int] = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        if len(idx) < max(4, n_components):
            continue
        f = features[idx]
        f = f[:, f.std(0) > 0] if (f.std(0) > 0).any() else f
        k = min(n_components, f.shape[1], len(idx) - 1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", UserWarning)
            z = (FastICA(k, random_state=seed, max_iter=500, whiten="unit-variance")
                 if reduce == "ica" else PCA(k, random_state=seed)).fit_transform(f)
        labels = KMeans(2, n_init=10, random_state=seed).fit_predict(z)
        small = int(np.argmin(np.bincount(labels, minlength=2)))
        share = float(np.mean(labels == small))
        s = float(silhouette_score(z, labels)) if 0 < share < 1 else 0.0
        sizes[int(c)], sil[int(c)] = share, s
        clusters[int(c)] = idx[labels == small]
        if share <= size_threshold and s >= silhouette_threshold:
            poisoned.append(int(c))
            flagged[idx[labels == small]] = True
    return ACResult(flagged, sizes, sil, poisoned, clusters)


def exclusionary_reclassification(x: np.ndarray, y: np.ndarray, cluster: np.ndarray,
                                  fit: Callable[[np.ndarray, np.ndarray], Any],
                                  predict: Callable[[Any, np.ndarray], np.ndarray], *,
                                  threshold: float = 1.0) -> tuple[bool, float]:
    """Retrain without ``cluster`` (row ids of one class) and classify it: poisoned or not.

    Returns ``(poisoned, score)``: ``score`` is the share the new model gives the
    cluster's most frequent *other* class over the share it gives the cluster's own label
    (the paper's ``P / L``); poisoned when above ``threshold``.
    """
    y = np.asarray(y)
    keep = np.ones(len(y), bool)
    keep[cluster] = False
    model = fit(np.asarray(x)[keep], y[keep])
    pred = np.asarray(predict(model, np.asarray(x)[cluster]))
    label = int(np.bincount(y[cluster]).argmax())
    own = float(np.mean(pred == label))
    others = np.bincount(pred[pred != label]) if (pred != label).any() else np.zeros(1)
    other = float(others.max() / len(pred))
    score = other / own if own > 0 else float("inf") if other > 0 else 0.0
    return score > threshold, score
