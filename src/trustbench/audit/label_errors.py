"""Label errors by confident learning over train and test rows together.

Out-of-fold predicted probabilities come from ``pred_probs`` when given, else from
cross-validating the user's scikit-learn model (``--model``, refitted per fold) or a default
model (:func:`default_model`). Rows are ranked by self-confidence; confident learning
(:mod:`trustbench.audit.confident_learning`) decides which are flagged. Thresholds: warn
from :data:`WARN_FRACTION` of rows flagged, fail from :data:`FAIL_FRACTION`.

References
----------
Northcutt, Jiang & Chuang, "Confident Learning: Estimating Uncertainty in Dataset Labels",
JAIR 70 (2021).
"""

from __future__ import annotations

import itertools
import warnings
from typing import Any

import numpy as np

from trustbench import plotspec
from trustbench.audit import confident_learning as cl
from trustbench.audit.base import AuditContext
from trustbench.audit.tags import LABELS
from trustbench.findings import Finding, Metric, Severity
from trustbench.metrics import wilson_interval
from trustbench.models.sklearn import fitted_columns

__all__ = ["FAIL_FRACTION", "MAX_RANKED", "MIN_AUC", "WARN_FRACTION", "default_model", "label_errors",
           "out_of_fold_proba"]

WARN_FRACTION = 0.01
FAIL_FRACTION = 0.10
#: Below this out-of-fold macro AUC the model cannot tell label errors from hard rows.
MIN_AUC = 0.6
#: Rows listed in the ranking (flagged rows first, then the lowest-scored others).
MAX_RANKED = 500


def default_model(kind: str, categorical: np.ndarray, *, seed: int = 0) -> Any:
    """Return the label-error check's default model of ``kind``, ``"logistic"`` or ``"hgb"``.

    ``"logistic"``: median imputation with missing indicators, standard scaling, one-hot
    categories, L2 logistic regression; ``"hgb"``: histogram gradient boosting with native
    missing values and categories. Both take the audit's encoded features.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    if kind == "hgb":
        return HistGradientBoostingClassifier(categorical_features=categorical, max_iter=100,
                                              early_stopping=False, random_state=seed)
    if kind != "logistic":
        raise ValueError(f"label_model must be 'logistic' or 'hgb', got {kind!r}")
    num = np.flatnonzero(~categorical)
    cat = np.flatnonzero(categorical)
    parts = [("num", make_pipeline(SimpleImputer(strategy="median", add_indicator=True,
                                                 keep_empty_features=True),
                                   StandardScaler()), num)]
    if len(cat):
        parts.append(("cat", make_pipeline(
            SimpleImputer(strategy="constant", fill_value=-1.0),
            OneHotEncoder(handle_unknown="ignore", max_categories=30)), cat))
    return make_pipeline(ColumnTransformer(parts), LogisticRegression(max_iter=500, C=0.1))


def out_of_fold_proba(ctx: AuditContext) -> tuple[np.ndarray, np.ndarray, str]:
    """Return ``(proba (N, K), has (N,) bool, how)``: out-of-fold class probabilities.

    The probabilities are in the order of ``ctx.classes``, for the rows in ``has`` (classes
    rarer than the folds are left out).
    """
    k = len(ctx.classes)
    if ctx.pred_probs is not None:
        has = np.zeros(ctx.n, bool)
        has[:len(ctx.pred_probs)] = True
        proba = np.zeros((ctx.n, k))
        proba[has] = ctx.pred_probs
        return proba, has, "predicted probabilities passed in (pred_probs)"
    from sklearn.base import clone
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import StratifiedKFold

    estimator, x, how = _estimator(ctx)
    folds = 5 if ctx.n <= 50_000 else 3
    counts = np.bincount(ctx.y, minlength=k)
    has = counts[ctx.y] >= folds
    if (counts >= folds).sum() < 2:  # nothing to fit on: the check reports it as not assessed
        return np.zeros((ctx.n, k)), np.zeros(ctx.n, bool), how
    pos = np.flatnonzero(has)
    proba = np.zeros((ctx.n, k))
    advance = ctx.progress(f"label errors: {folds}-fold cross-validation", folds)
    splitter = StratifiedKFold(folds, shuffle=True, random_state=ctx.seed)
    for f, (train, test) in enumerate(splitter.split(pos, ctx.y[pos])):
        train = pos[train]
        if len(train) > ctx.max_rows:  # fit on a sample, predict the whole held-out fold
            train = np.sort(ctx.rng(100 + f).choice(train, ctx.max_rows, replace=False))
        model = clone(estimator)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(_take(x, train), ctx.y[train])
                part = model.predict_proba(_take(x, pos[test]))
        except Exception as e:  # the user's estimator may not take these features
            from trustbench.errors import InputError

            if estimator is not getattr(ctx.model, "estimator", None):
                raise  # the default model failing is a bug, not bad input

            raise InputError(f"label errors: {how} could not be fitted per fold "
                             f"({type(e).__name__}: {str(e).splitlines()[0][:160] if str(e) else ''})",
                             fix="pass out-of-fold probabilities with --pred-probs, or run "
                             "without --model") from None
        proba[np.ix_(pos[test], model.classes_)] = part
        advance(1)
    return proba, has, how + f", {folds}-fold cross-validation" + (
        f", each fold fitted on at most {ctx.max_rows:,} rows" if ctx.n > ctx.max_rows else "")


def _take(x: Any, rows: np.ndarray) -> Any:
    return x.iloc[rows] if hasattr(x, "iloc") else x[rows]


def _estimator(ctx: AuditContext) -> tuple[Any, Any, str]:
    est = getattr(ctx.model, "estimator", None)
    if est is not None:
        names = fitted_columns(est)
        if names is not None and set(names) <= set(ctx.frame.columns):
            return est, ctx.frame[names], f"the given {type(est).__name__}"
        if names is None:
            return est, ctx.encoded, f"the given {type(est).__name__} (on encoded features)"
    cat = np.array([ctx.kinds[c] == "categorical" for c in ctx.features])
    if ctx.label_model == "hgb":  # native categories need fewer than 255 of them
        cat &= np.nan_to_num(np.nanmax(ctx.encoded, axis=0), nan=0) < 250
    note = "" if ctx.model is None else " (the --model cannot be refitted per fold)"
    return default_model(ctx.label_model, cat, seed=ctx.seed), ctx.encoded, (
        f"default {ctx.label_model} model{note}")


def label_errors(ctx: AuditContext) -> list[Finding]:
    """Flag and rank likely label errors; record flagged test rows for ``audit.test_flags``."""
    proba, has, how = out_of_fold_proba(ctx)
    pos = np.flatnonzero(has)
    if len(np.unique(ctx.y[pos])) < 2:  # too few rows per class to cross-validate anything
        ctx.skip("label errors", "fewer than two classes have enough rows for out-of-fold "
                 "probabilities")
        return [Finding(
            id="audit.label_errors",
            title="Label errors not assessed: too few rows per class to cross-validate",
            severity="info", tags=LABELS,
            detail="Out-of-fold probabilities need at least as many rows of a class as there "
            "are folds (5; 3 above 50,000 rows), for two classes or more. Pass out-of-fold "
            "probabilities with --pred-probs, or audit more rows.")]
    y = ctx.y[pos]
    probs = proba[pos]
    auc = _macro_auc(y, probs)
    if not auc >= MIN_AUC:
        ctx.skip("label errors", f"the out-of-fold model predicts the label no better than "
                 f"chance: macro AUC {auc:.2f} < {MIN_AUC}")
        return [Finding(
            id="audit.label_errors",
            title=f"Label errors not assessed: the label is barely predictable (AUC {auc:.2f})",
            severity="info", metrics={"out_of_fold_auc": Metric(auc, unit="AUC")}, tags=LABELS,
            detail=f"Out-of-fold probabilities from {how} reach a macro AUC of {auc:.2f}: "
            "rows the model gets wrong cannot be told apart from mislabelled ones. Pass better "
            "probabilities (--pred-probs) or a stronger --model.")]
    mask_sub = cl.find_label_issues(y, probs)
    score_sub = cl.label_quality(y, probs)
    flagged = pos[mask_sub]
    scores = np.full(ctx.n, np.nan)
    scores[pos] = score_sub
    ranked = pos[cl.rank_label_issues(mask_sub, score_sub)]
    ctx.label_errors = np.asarray(flagged)
    ctx.label_scores = scores
    k, n = len(flagged), len(pos)
    frac = k / n if n else 0.0
    severity: Severity = "fail" if frac >= FAIL_FRACTION else ("warn" if frac >= WARN_FRACTION
                                                              else "info")
    suggested = probs.argmax(1)
    n_right = int((suggested == y).sum())
    metrics = {"flagged_fraction": Metric(frac, wilson_interval(k, n), "fraction"),
               "flagged": Metric(k, unit="count"),
               "flagged_train": Metric(int((flagged < ctx.n_train).sum()), unit="count"),
               "estimated_noise_rate": Metric(cl.estimate_noise_rate(y, probs), unit="fraction"),
               "out_of_fold_auc": Metric(auc, unit="AUC"),
               "out_of_fold_accuracy": Metric(n_right / n if n else float("nan"),
                                              wilson_interval(n_right, n), "fraction")}
    if ctx.has_test:
        metrics["flagged_test"] = Metric(int((flagged >= ctx.n_train).sum()), unit="count")
    listed = []
    inv = {p: i for i, p in enumerate(pos)}
    is_flagged = np.zeros(ctx.n, bool)
    is_flagged[flagged] = True
    for p in ranked[:MAX_RANKED]:
        split, row = ("test", p - ctx.n_train) if p >= ctx.n_train else ("train", p)
        listed.append({"split": split, "row": int(row), "flagged": bool(is_flagged[p]),
                       "score": round(float(scores[p]), 4),
                       "given": _plain(ctx.classes[ctx.y[p]]),
                       "suggested": _plain(ctx.classes[suggested[inv[p]]])})
    per_class = np.bincount(ctx.y[flagged], minlength=len(ctx.classes))
    hist, edges = np.histogram(score_sub, bins=10, range=(0, 1))
    hist_flagged, _ = np.histogram(score_sub[mask_sub], bins=10, range=(0, 1))
    bins = [f"{a:.1f}-{b:.1f}" for a, b in itertools.pairwise(edges)]
    return [Finding(
        id="audit.label_errors",
        title=f"{k} of {n} rows ({frac:.1%}) are likely mislabelled",
        severity=severity, metrics=metrics, tags=LABELS,
        detail=f"Confident learning (Northcutt et al. 2021, prune by noise rate) on out-of-fold "
        f"probabilities from {how}. Rows are ranked by self-confidence, the predicted "
        f"probability of the given label. Thresholds: warn from {WARN_FRACTION:.0%} of rows "
        f"flagged, fail from {FAIL_FRACTION:.0%}. Review the listed rows before relabelling.",
        evidence={"ranked": listed, "rows": ctx.rows(flagged),
                  "flagged_per_class": {str(_plain(c)): int(v) for c, v in
                                        zip(ctx.classes, per_class, strict=False)},
                  "not_scored_rows": int(ctx.n - n),
                  "plots": [plotspec.bars("Self-confidence of every row (count per bin)", bins,
                                          hist.tolist(), value_label="rows"),
                            plotspec.bars("Self-confidence of flagged rows", bins,
                                          hist_flagged.tolist(), value_label="rows")]},
    )]


def _macro_auc(y: np.ndarray, probs: np.ndarray) -> float:
    """Mean one-vs-rest ROC AUC over the classes with both positive and negative rows."""
    from sklearn.metrics import roc_auc_score

    aucs = [roc_auc_score(y == j, probs[:, j]) for j in range(probs.shape[1])
            if 0 < (y == j).sum() < len(y)]
    return float(np.mean(aucs)) if aucs else float("nan")


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v
