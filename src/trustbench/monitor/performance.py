"""Realised performance and fairness of one labelled window, with intervals.

When labels arrive (late, by row id), a window gets the numbers of a scan: accuracy (Wilson
interval), macro-F1 and expected calibration error (bootstrap intervals), and, with a group
column, fairness — the demographic parity difference (gap in the rate of predicting the
``positive`` class), the equalized odds difference (the larger of the gaps in true- and
false-positive rates) and the worst group's accuracy, each with a stratified bootstrap
interval from :func:`trustbench.metrics.groups.by_group`. The equalized odds interval is the
interval of whichever gap is larger on the data. Groups with fewer than ``min_group`` rows
are reported but take no part in gaps.

**Alarms** (``baseline``: the model version's counts on its labelled reference, see
:func:`reference_baseline`). A window's accuracy alarms (``monitor.performance`` fails) when
it fell by at least ``min_drop`` (5 points by default) from the reference's *and* the fall is
significant: a one-sided pooled two-proportion z-test at ``alpha``. Fairness alarms
(``monitor.fairness`` fails) when a group's own accuracy fell in the same sense, at
``alpha`` divided by the number of groups compared (Bonferroni): a fall in the worst-off
group that the overall accuracy hides. Both conditions are needed, as for drift: on a large
window a trivial fall is significant but smaller than ``min_drop``; on a tiny one a large
fall may be noise.

The level is fixed, not spent over windows as the drift level is, because labels arrive
late, window by window and in parts, and a real fall must not wait for a huge window:
``alpha = 0.0002`` (z = 3.5, past a control chart's three-sigma limit) is a 5% budget over
250 windows by Bonferroni, so when the model holds its accuracy, at most about 5% of
streams of 250 labelled windows ever alarm (a test measures it over 200 streams of 100
windows). A window checked again as more of its labels arrive is looked at more than once;
those looks are strongly correlated and add little. What the rule can see (in 90% of
windows or more): a 10-point fall on 500 labelled rows, an 8-point fall on 1,000; a fall of
exactly ``min_drop`` alarms about half the time, as its estimate lands either side of it.
Gaps (demographic parity, equalized odds) are reported with their intervals but do not
alarm: the fall in a group's accuracy is what they would alarm on, and it is tested
directly.

References
----------
Hardt, Price & Srebro, "Equality of opportunity in supervised learning", NeurIPS 2016.
Weerts et al., "Fairlearn: Assessing and improving fairness of AI systems", JMLR 24 (2023).
Montgomery, "Introduction to Statistical Quality Control", 7th ed., Wiley (2013): control
limits for a proportion (ch. 7).
Agresti, "Categorical Data Analysis", 3rd ed., Wiley (2013): the two-proportion z-test.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from trustbench.errors import InputError
from trustbench.findings import Finding, Metric
from trustbench.metrics import wilson_interval
from trustbench.monitor.tags import FAIRNESS, PERFORMANCE

__all__ = ["ALARM_ALPHA", "MIN_DROP", "accuracy_drop", "reference_baseline",
           "window_performance"]

MIN_DROP = 0.05  # the smallest fall in accuracy that alarms, by default
ALARM_ALPHA = 0.0002  # one-sided level per window: 5% over 250 windows (Bonferroni)


def reference_baseline(y_true: np.ndarray, proba: np.ndarray, groups: Any = None,
                       ) -> dict[str, Any]:
    """Return a version's counts on its labelled reference: what windows are compared with.

    ``{"n", "correct", "groups": {group: [n, correct]}}`` (``groups`` only with groups),
    the groups named as :func:`~trustbench.metrics.groups.encode_groups` names them for a
    window. (A numeric group column of more than 20 values is cut into quantile bins, whose
    edges differ between the reference and a window: such groups are not compared.)
    """
    from trustbench.metrics.groups import encode_groups

    y_true = np.asarray(y_true)
    correct = np.asarray(proba).argmax(1) == y_true
    out: dict[str, Any] = {"n": len(y_true), "correct": int(correct.sum())}
    if groups is not None:
        enc = encode_groups(np.asarray(groups, dtype=object))
        out["groups"] = {str(g): [int(np.sum(enc.codes == i)), int(correct[enc.codes == i].sum())]
                         for i, g in enumerate(enc.labels)}
    return out


def accuracy_drop(ref: tuple[int, int], now: tuple[int, int]) -> tuple[float, float]:
    """Return ``(drop, one-sided p)`` of accuracy ``now`` against ``ref``, each ``(n, correct)``.

    The pooled two-proportion z-test of "the accuracy fell"; ``(nan, 1.0)`` when either side
    has no rows.

    >>> drop, p = accuracy_drop((10_000, 9_000), (500, 400))
    >>> round(drop, 3), p < 1e-9
    (0.1, True)
    """
    (n0, k0), (n1, k1) = ref, now
    if n0 <= 0 or n1 <= 0:
        return math.nan, 1.0
    p0, p1 = k0 / n0, k1 / n1
    pooled = (k0 + k1) / (n0 + n1)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n0 + 1 / n1))
    if se == 0:
        return p0 - p1, 1.0 if p1 >= p0 else 0.0
    return p0 - p1, 0.5 * math.erfc((p0 - p1) / se / math.sqrt(2))


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
                       min_group: int = 20, seed: int = 0,
                       baseline: dict[str, Any] | None = None, min_drop: float = MIN_DROP,
                       alpha: float = ALARM_ALPHA) -> list[Finding]:
    """Return the findings ``monitor.performance`` (and ``monitor.fairness`` with ``groups``).

    With ``baseline`` (:func:`reference_baseline`) a finding fails — an alarm — when the
    window's accuracy, or a group's, fell by ``min_drop`` or more, significantly at
    ``alpha`` (see the module's notes).

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
        Bootstrap resamples; smallest group that takes part in gaps (and in alarms, on
        both sides); the bootstrap's seed.
    baseline, min_drop, alpha
        What an alarm compares with, the smallest fall that alarms, the one-sided level.
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
    alarm, compared = False, {}
    title = f"Accuracy {k / n:.1%} on {n} labelled rows{where}"
    if baseline and baseline.get("n"):
        ref = (int(baseline["n"]), int(baseline["correct"]))
        drop, p = accuracy_drop(ref, (n, k))
        alarm = drop >= min_drop and p <= alpha
        compared = {"reference_accuracy": Metric(ref[1] / ref[0], unit="fraction"),
                    "drop": Metric(drop, unit="fraction"), "p_value": Metric(p)}
        if alarm:
            title = (f"Accuracy fell to {k / n:.1%} from {ref[1] / ref[0]:.1%} on the reference "
                     f"({n} labelled rows{', ' + window if window else ''})")
    out = [Finding(
        id="monitor.performance", title=title,
        severity="fail" if alarm else "info",
        metrics={"accuracy": Metric(k / n, wilson_interval(k, n), "fraction"),
                 "f1_macro": Metric(_macro_f1(y_true, y_pred, classes),
                                    tuple(np.nanpercentile(f1_boot, [2.5, 97.5]).tolist()),
                                    "fraction"),
                 "ece": Metric(expected_calibration_error(y_true, proba),
                               expected_calibration_error_ci(y_true, proba, n_boot=n_boot,
                                                             seed=seed), "fraction"),
                 "n": Metric(n, unit="count"), **compared},
        tags=PERFORMANCE,
        detail="Realised on labels. Accuracy: 95% Wilson interval; macro-F1 and ECE: "
               "percentile bootstrap."
               + (f" An alarm needs a fall of at least {min_drop:g} from the reference's "
                  f"accuracy and a one-sided two-proportion p of at most {alpha:g}."
                  if compared else ""),
        evidence={"min_drop": min_drop, "alpha": alpha} if compared else {})]
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
    fell = _groups_that_fell(baseline, gm, correct, min_group=min_group, min_drop=min_drop,
                             alpha=alpha)
    title = f"Worst group {acc.worst_group!r}: accuracy {acc.worst:.1%}{where}"
    if fell:
        title = ("Accuracy fell in group " + ", ".join(
            f"{g!r} to {now:.1%} from {then:.1%}" for g, now, then, _ in fell) + where)
    out.append(Finding(
        id="monitor.fairness", title=title,
        severity="fail" if fell else "info",
        metrics={"demographic_parity_difference": Metric(sel.gap, sel.gap_ci, "fraction"),
                 "equalized_odds_difference": Metric(eod.gap, eod.gap_ci, "fraction"),
                 "worst_group_accuracy": Metric(acc.worst, acc.worst_ci, "fraction"),
                 "groups": Metric(len(gm.groups), unit="count")},
        tags=FAIRNESS,
        detail=(f"By group ({', '.join(gm.groups[:10])}); gaps best minus worst among groups of "
                f"at least {min_group} rows, stratified bootstrap intervals. Positive class: "
                f"{positive}."),
        evidence={"groups": list(gm.groups), "n": gm.n.tolist(),
                  "accuracy": acc.values.tolist(), "selection_rate": sel.values.tolist(),
                  **({"fell": [{"group": g, "accuracy": now, "reference_accuracy": then,
                                "p_value": p} for g, now, then, p in fell]} if fell else {})}))
    return out


def _groups_that_fell(baseline: dict[str, Any] | None, gm: Any, correct: np.ndarray, *,
                      min_group: int, min_drop: float, alpha: float,
                      ) -> list[tuple[str, float, float, float]]:
    """Return ``(group, accuracy, reference accuracy, p)`` of each group whose accuracy fell."""
    ref = (baseline or {}).get("groups") or {}
    tested = []
    for i, g in enumerate(gm.groups):
        n1 = int(gm.n[i])
        n0, k0 = ref.get(str(g), (0, 0))
        if n1 >= min_group and n0 >= min_group:
            k1 = round(gm["accuracy"].values[i] * n1)
            tested.append((str(g), (n0, k0), (n1, k1)))
    fell = []
    for g, (n0, k0), (n1, k1) in tested:
        drop, p = accuracy_drop((n0, k0), (n1, k1))
        if drop >= min_drop and p <= alpha / len(tested):
            fell.append((g, k1 / n1, k0 / n0, p))
    return fell
