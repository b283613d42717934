"""Realised performance and fairness of one labelled window, with intervals.

When labels arrive (late, by row id), a window gets the numbers of a scan: accuracy (Wilson
interval), macro-F1 and expected calibration error (bootstrap intervals), and, with a group
column, fairness — the demographic parity difference (gap in the rate of predicting the
``positive`` class), the equalized odds difference (the larger of the gaps in true- and
false-positive rates) and the worst group's accuracy, each with a stratified bootstrap
interval from :func:`trustbench.metrics.groups.by_group`. The equalized odds interval is the
interval of whichever gap is larger on the data. Groups with fewer than ``min_group`` rows
are reported but take no part in gaps.

References
----------
Hardt, Price & Srebro, "Equality of opportunity in supervised learning", NeurIPS 2016.
Weerts et al., "Fairlearn: Assessing and improving fairness of AI systems", JMLR 24 (2023).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from trustbench.errors import InputError
from trustbench.findings import Finding, Metric
from trustbench.metrics import wilson_interval
from trustbench.monitor.tags import FAIRNESS, PERFORMANCE

__all__ = ["window_performance"]


def _macro_f1(y_true: np.ndarray, y_pred: np.ndarray, classes: int) -> float:
    f1 = []
    for k in range(classes):
        tp = np.sum((y_pred == k) & (y_true == k))
        fp = np.sum((y_pred == k) & (y_true != k))
        fn = np.sum((y_pred != k) & (y_true == k))
        if tp + fp + fn:
            f1.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f1)) if f1 else math.nan


def _rate(y_true: np.ndarray, y_pred: np.ndarray, *, given: bool, positive: int) -> float:
    rows = (y_true == positive) == given
    return float(np.mean(y_pred[rows] == positive)) if rows.any() else math.nan


def window_performance(y_true: np.ndarray, proba: np.ndarray, *, groups: Any = None,
                       positive: int = 1, window: str = "", n_boot: int = 500,
                       min_group: int = 20, seed: int = 0) -> list[Finding]:
    """Return the findings ``monitor.performance`` (and ``monitor.fairness`` with ``groups``).

    Parameters
    ----------
    y_true
        (n,) class indices, the columns of ``proba``.
    proba
        (n, C) predicted probabilities.
    groups
        (n,) group of each row (a sensitive attribute), or ``None``.
    positive
        The class whose rate demographic parity and equalized odds compare.
    window
        A label for titles (e.g. the window's name or dates).
    n_boot, min_group, seed
        Bootstrap resamples; smallest group that takes part in gaps; the bootstrap's seed.
    """
    from trustbench.metrics.calibration import (
        expected_calibration_error,
        expected_calibration_error_ci,
    )
    from trustbench.metrics.groups import by_group

    proba = np.asarray(proba, dtype=np.float64)
    y_true = np.asarray(y_true)
    if proba.ndim != 2 or len(proba) != len(y_true):
        raise InputError(f"{len(y_true)} labels for probabilities of shape {proba.shape}",
                         fix="give one (classes,) row of probabilities per label")
    n, classes = proba.shape
    if n == 0:
        raise InputError("the window has no labelled rows")
    if not np.issubdtype(y_true.dtype, np.integer) or y_true.min() < 0 or y_true.max() >= classes:
        raise InputError(f"labels must be class indices in [0, {classes - 1}]",
                         fix="map the labels to the model's class order first")
    if not 0 <= positive < classes:
        raise InputError(f"positive class {positive} is not one of the model's {classes}")
    y_pred = proba.argmax(1)
    correct = y_pred == y_true
    k = int(correct.sum())
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, n, size=(n_boot, n))
    f1_boot = [_macro_f1(y_true[r], y_pred[r], classes) for r in rows]
    where = f" ({window})" if window else ""
    out = [Finding(
        id="monitor.performance", title=f"Accuracy {k / n:.1%} on {n} labelled rows{where}",
        severity="info",
        metrics={"accuracy": Metric(k / n, wilson_interval(k, n), "fraction"),
                 "f1_macro": Metric(_macro_f1(y_true, y_pred, classes),
                                    tuple(np.nanpercentile(f1_boot, [2.5, 97.5]).tolist()),
                                    "fraction"),
                 "ece": Metric(expected_calibration_error(y_true, proba),
                               expected_calibration_error_ci(y_true, proba, n_boot=n_boot,
                                                             seed=seed), "fraction"),
                 "n": Metric(n, unit="count")},
        tags=PERFORMANCE,
        detail="Realised on labels. Accuracy: 95% Wilson interval; macro-F1 and ECE: "
               "percentile bootstrap.")]
    if groups is None:
        return out
    groups = np.asarray(groups, dtype=object)
    if len(groups) != n:
        raise InputError(f"{len(groups)} group values for {n} labelled rows")
    gm = by_group({"accuracy": correct, "selection": y_pred == positive,
                   "tpr": lambda t, p: _rate(t, p, given=True, positive=positive),
                   "fpr": lambda t, p: _rate(t, p, given=False, positive=positive)},
                  y_true, y_pred, groups, n_boot=n_boot, min_size=min_group, seed=seed)
    acc, sel, tpr, fpr = (gm[m] for m in ("accuracy", "selection", "tpr", "fpr"))
    eod = tpr if not (fpr.gap > tpr.gap) else fpr  # NaN-safe: TPR unless FPR's gap is larger
    out.append(Finding(
        id="monitor.fairness",
        title=f"Worst group {acc.worst_group!r}: accuracy {acc.worst:.1%}{where}",
        severity="info",
        metrics={"demographic_parity_difference": Metric(sel.gap, sel.gap_ci, "fraction"),
                 "equalized_odds_difference": Metric(eod.gap, eod.gap_ci, "fraction"),
                 "worst_group_accuracy": Metric(acc.worst, acc.worst_ci, "fraction"),
                 "groups": Metric(len(gm.groups), unit="count")},
        tags=FAIRNESS,
        detail=(f"By group ({', '.join(gm.groups[:10])}); gaps best minus worst among groups of "
                f"at least {min_group} rows, stratified bootstrap intervals. Positive class: "
                f"{positive}."),
        evidence={"groups": list(gm.groups), "n": gm.n.tolist(),
                  "accuracy": acc.values.tolist(), "selection_rate": sel.values.tolist()}))
    return out
