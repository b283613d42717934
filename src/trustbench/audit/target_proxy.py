"""Target leakage: a single feature that predicts the label implausibly well on its own.

Each feature alone feeds a depth-limited decision tree, scored by cross-validated ROC AUC
(one-vs-rest macro average for several classes) on the training rows (a seeded sample of at
most :data:`MAX_ROWS`). A feature computed from the label (an outcome code, a post-event
timestamp, the label re-encoded) scores near 1. Thresholds: warn above :data:`WARN_AUC`,
fail from :data:`FAIL_AUC`. A genuinely strong feature can also pass 0.95: check how each
flagged column is produced.

References
----------
Kaufman et al., "Leakage in data mining: formulation, detection, and avoidance",
ACM TKDD 6(4), 2012.
"""

from __future__ import annotations

import numpy as np

from trustbench import plotspec
from trustbench.audit.base import AuditContext
from trustbench.audit.tags import LEAKAGE
from trustbench.findings import Finding, Metric, Severity

__all__ = ["FAIL_AUC", "MAX_ROWS", "WARN_AUC", "single_feature_auc", "target_proxy"]

WARN_AUC = 0.95
FAIL_AUC = 0.99
MAX_ROWS = 20_000
_FOLDS = 3


def single_feature_auc(x: np.ndarray, y: np.ndarray, *, seed: int = 0,
                       max_depth: int = 4) -> np.ndarray:
    """Cross-validated AUC of each column of ``x`` (N, F) alone.

    ``y`` (N,) holds class indices 0..K-1 with at least 3 rows each. Missing values get their
    own branch.
    """
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold
    from sklearn.tree import DecisionTreeClassifier

    k = int(y.max()) + 1
    folds = list(StratifiedKFold(_FOLDS, shuffle=True, random_state=seed).split(x[:, :1], y))
    leaf = max(5, len(y) // 500)
    out = np.full(x.shape[1], np.nan)
    for j in range(x.shape[1]):
        col = x[:, j].astype(np.float64)
        finite = np.isfinite(col)
        if not finite.any() or (np.ptp(col[finite]) == 0 and finite.all()):
            continue
        col = np.where(finite, col, np.min(col[finite]) - 1.0)[:, None]  # (N, 1)
        proba = np.zeros((len(y), k))
        for train, test in folds:
            tree = DecisionTreeClassifier(max_depth=max_depth, min_samples_leaf=leaf,
                                          random_state=seed).fit(col[train], y[train])
            proba[np.ix_(test, tree.classes_)] = tree.predict_proba(col[test])
        out[j] = (roc_auc_score(y, proba[:, 1]) if k == 2
                  else roc_auc_score(y, proba, multi_class="ovr", average="macro"))
    return out


def target_proxy(ctx: AuditContext) -> list[Finding]:
    """Single-feature cross-validated AUC of every feature on the training rows."""
    pos = ctx.sample(MAX_ROWS, salt=5, within=np.arange(ctx.n_train))
    y = ctx.y[pos]
    counts = np.bincount(y, minlength=len(ctx.classes))
    keep = counts[y] >= _FOLDS
    if len(np.unique(y[keep])) < 2:
        ctx.skip("single-feature target leakage", "fewer than 2 classes with 3 rows")
        return []
    _, y_k = np.unique(y[keep], return_inverse=True)
    auc = single_feature_auc(ctx.encoded[pos[keep]], y_k, seed=ctx.seed)
    order = [j for j in np.argsort(-np.nan_to_num(auc, nan=-1)) if np.isfinite(auc[j])]
    flagged = [j for j in order if auc[j] > WARN_AUC]
    best = auc[order[0]] if order else float("nan")
    severity: Severity = ("fail" if best >= FAIL_AUC else "warn") if flagged else "info"
    names = [ctx.features[j] for j in flagged]
    top = order[:15]
    return [Finding(
        id="audit.leakage.target_proxy",
        title=(f"{len(flagged)} feature(s) predict the label alone with AUC > {WARN_AUC}: "
               f"{', '.join(names[:5])}" if flagged else
               f"No single feature predicts the label implausibly well (best AUC {best:.3f})"),
        severity=severity,
        metrics={"best_single_feature_auc": Metric(float(best), unit="AUC")} | {
            f"auc.{ctx.features[j]}": Metric(float(auc[j]), unit="AUC") for j in flagged[:20]},
        tags=LEAKAGE,
        detail="Cross-validated AUC of a depth-4 decision tree on one feature at a time "
        f"({_FOLDS} folds, {int(keep.sum())} training rows). A feature derived from the label "
        f"scores near 1. Thresholds: warn above {WARN_AUC}, fail from {FAIL_AUC}.",
        evidence={"flagged": names, "plots": [plotspec.bars(
            "Single-feature AUC (top 15)", [ctx.features[j] for j in top],
            [float(auc[j]) for j in top], value_label="cross-validated AUC",
            reference=WARN_AUC, reference_label=f"warn > {WARN_AUC}")]},
    )]
