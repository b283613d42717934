"""Fairness of a model's predictions across groups, with bootstrap confidence intervals.

For two classes (positive = the model's second class): demographic parity difference and
ratio (of selection rates), equalized odds difference (the larger of the TPR and FPR
gaps), equal opportunity difference (the TPR gap), and per-group calibration (ECE and mean
score against the observed positive rate). For more classes: the accuracy gap. Evaluated on
the test rows (the training rows, with a note, when there is no test set), per group column
and their intersection, over groups of at least
:data:`~trustbench.audit.grouping.MIN_GROUP_ROWS` rows. Intervals: 95% percentile Poisson
bootstrap (:data:`N_BOOT` resamples).

Thresholds: warn when the demographic parity ratio is below :data:`WARN_DP_RATIO` (the
"four-fifths rule"), when the equalized odds difference (or the accuracy gap) is at least
:data:`WARN_GAP` or a group's ECE exceeds the best group's by :data:`WARN_GAP`; fail when the
equalized odds difference (or accuracy gap) is at least :data:`FAIL_GAP`.

References
----------
Hardt, Price & Srebro, "Equality of Opportunity in Supervised Learning", NeurIPS 2016.
Weerts et al., "Fairlearn: Assessing and Improving Fairness of AI Systems", JMLR 24 (2023).
Hanley & MacGibbon, "Creating non-parametric bootstrap samples using Poisson frequencies",
Computer Methods and Programs in Biomedicine 83 (2006).
"""

from __future__ import annotations

import numpy as np

from trustbench import plotspec
from trustbench.audit.base import AuditContext
from trustbench.audit.grouping import MIN_GROUP_ROWS, group_columns
from trustbench.audit.predictions import model_predictions
from trustbench.audit.tags import FAIRNESS
from trustbench.findings import Finding, Metric, Severity
from trustbench.metrics.calibration import expected_calibration_error
from trustbench.metrics.stats import wilson_interval

__all__ = ["FAIL_GAP", "N_BOOT", "WARN_DP_RATIO", "WARN_GAP", "fairness", "group_rates"]

WARN_DP_RATIO = 0.8
WARN_GAP = 0.1
FAIL_GAP = 0.2
N_BOOT = 200
_CHUNK = 50_000


def group_rates(codes: np.ndarray, pred: np.ndarray, y: np.ndarray, n_groups: int, *,
                n_boot: int = 0, rng: np.random.Generator | None = None) -> np.ndarray:
    """Per-group sums (B + 1, G, 5) of [rows, predicted positive, positive, true positive, correct].

    Index 0 is the data itself, 1..B Poisson-bootstrap resamples.
    """
    stats = np.stack([np.ones(len(y)), pred, y, pred * y, pred == y], 1).astype(np.float32)
    out = np.zeros((n_boot + 1, n_groups, 5))
    for s in range(0, len(y), _CHUNK):
        c, st = codes[s:s + _CHUNK], stats[s:s + _CHUNK]  # (n,), (n, 5)
        onehot = np.zeros((len(c), n_groups), np.float32)
        onehot[np.arange(len(c)), c] = 1
        m = (onehot[:, :, None] * st[:, None, :]).reshape(len(c), -1)  # (n, G*5)
        w = np.ones((1, len(c)), np.float32)
        if n_boot:
            w = np.concatenate([w, rng.poisson(1.0, (n_boot, len(c))).astype(np.float32)])  # type: ignore[union-attr]
        out += (w @ m).reshape(-1, n_groups, 5)
    return out


def _binary_metrics(sums: np.ndarray) -> dict[str, np.ndarray]:
    """(B+1,) fairness metrics from :func:`group_rates` sums."""
    with np.errstate(invalid="ignore", divide="ignore"):
        rows, sel, pos, tp = sums[..., 0], sums[..., 1], sums[..., 2], sums[..., 3]
        rate = sel / rows
        tpr = tp / pos
        fpr = (sel - tp) / (rows - pos)
        rng_ = {k: np.nanmax(v, 1) - np.nanmin(v, 1) for k, v in
                (("sel", rate), ("tpr", tpr), ("fpr", fpr))}
        return {"demographic_parity_difference": rng_["sel"],
                "demographic_parity_ratio": np.nanmin(rate, 1) / np.nanmax(rate, 1),
                "equalized_odds_difference": np.fmax(rng_["tpr"], rng_["fpr"]),
                "equal_opportunity_difference": rng_["tpr"]}


def fairness(ctx: AuditContext) -> list[Finding]:
    """Group fairness metrics of ``ctx.model`` on the test rows (else the training rows)."""
    if not ctx.groups:
        return []
    if ctx.model is None:
        ctx.skip("fairness metrics of a model", "no --model given")
        return []
    split = "test" if ctx.has_test else "train"
    proba, y, classes = model_predictions(ctx, split)
    offset = ctx.n_train if split == "test" else 0
    findings = []
    for name, values in group_columns(ctx):
        v = values[offset:offset + len(y)]
        findings.append(_one(ctx, name, v, proba, y, classes, split))
    return findings


def _one(ctx: AuditContext, name: str, values: np.ndarray, proba: np.ndarray, y: np.ndarray,
         classes: list, split: str) -> Finding:
    labels, codes = np.unique(values, return_inverse=True)
    sizes = np.bincount(codes, minlength=len(labels))
    keep = sizes[codes] >= MIN_GROUP_ROWS
    big = np.flatnonzero(sizes >= MIN_GROUP_ROWS)
    remap = np.full(len(labels), -1)
    remap[big] = np.arange(len(big))
    binary = proba.shape[1] == 2
    pred = proba.argmax(1)
    note = "" if split == "test" else " (training rows: the model may have seen them)"
    small = [str(labels[i]) for i in np.flatnonzero(sizes < MIN_GROUP_ROWS)]
    if len(big) < 2:
        ctx.skip(f"fairness by {name}", f"fewer than two groups of {MIN_GROUP_ROWS} rows")
        return Finding(id=f"audit.fairness.{name}", title=f"Fairness by {name}: not measured "
                       f"(fewer than two groups of {MIN_GROUP_ROWS} rows)", severity="info",
                       tags=FAIRNESS, evidence={"small_groups": small[:50]})
    c = remap[codes[keep]]
    p_pos = (pred[keep] == 1).astype(np.float32) if binary else pred[keep].astype(np.float32)
    yk = (y[keep] == 1).astype(np.float32) if binary else y[keep].astype(np.float32)
    sums = group_rates(c, p_pos, yk, len(big), n_boot=N_BOOT, rng=ctx.rng(9))
    metrics: dict[str, Metric] = {}
    problems: list[str] = []
    group_names = [str(labels[i]) for i in big]
    table: dict[str, dict] = {}
    ece = np.array([expected_calibration_error(y[keep][c == g], proba[keep][c == g], n_bins=10)
                    for g in range(len(big))])
    for g, gname in enumerate(group_names):
        n_g, sel, pos, tp, right = sums[0, g]
        table[gname] = {"n": int(n_g), "accuracy": round(right / n_g, 4), "ece": round(ece[g], 4)}
        if binary:
            table[gname] |= {"selection_rate": round(sel / n_g, 4),
                             "tpr": round(tp / pos, 4) if pos else None,
                             "fpr": round((sel - tp) / (n_g - pos), 4) if n_g > pos else None,
                             "mean_score": round(float(proba[keep][c == g, 1].mean()), 4),
                             "positive_rate": round(pos / n_g, 4)}
    if binary:
        for key, series in _binary_metrics(sums).items():
            ci = tuple(np.nanpercentile(series[1:], [2.5, 97.5]).tolist())
            metrics[key] = Metric(float(series[0]), ci, "ratio" if "ratio" in key else "fraction")
        if metrics["demographic_parity_ratio"].value < WARN_DP_RATIO:
            problems.append(f"demographic parity ratio {metrics['demographic_parity_ratio'].value:.2f}")
        gap = metrics["equalized_odds_difference"].value
        gap_name = "equalized odds difference"
    else:
        acc = sums[..., 4] / sums[..., 0]  # (B+1, G)
        series = acc.max(1) - acc.min(1)
        metrics["accuracy_gap"] = Metric(float(series[0]), tuple(
            np.nanpercentile(series[1:], [2.5, 97.5]).tolist()), "fraction")
        gap, gap_name = float(series[0]), "accuracy gap"
    if gap >= WARN_GAP:
        problems.append(f"{gap_name} {gap:.2f}")
    ece_gap = float(np.nanmax(ece) - np.nanmin(ece))
    metrics["calibration_gap"] = Metric(ece_gap, unit="ECE difference")
    if ece_gap >= WARN_GAP:
        problems.append(f"calibration gap {ece_gap:.2f} (ECE)")
    severity: Severity = "fail" if gap >= FAIL_GAP else ("warn" if problems else "info")
    key = "selection_rate" if binary else "accuracy"
    counts = [(int(sums[0, g, 1] if binary else sums[0, g, 4]), int(sums[0, g, 0]))
              for g in range(len(big))]
    ci = [wilson_interval(*k) for k in counts]
    return Finding(
        id=f"audit.fairness.{name}",
        title=f"Fairness by {name}{note}: " + ("; ".join(problems) if problems else
                                               f"{gap_name} {gap:.2f}, within thresholds"),
        severity=severity, metrics=metrics, tags=FAIRNESS,
        detail=f"Model predictions on the {split} rows; groups under {MIN_GROUP_ROWS} rows "
        f"are left out. 95% intervals from {N_BOOT} Poisson-bootstrap resamples. Thresholds: "
        f"warn for a demographic parity ratio below {WARN_DP_RATIO}, an {gap_name} or "
        f"calibration (ECE) gap of {WARN_GAP} or more; fail from a {gap_name} of {FAIL_GAP}.",
        evidence={"groups": table, "small_groups": small[:50], "split": split,
                  "positive_class": str(classes[1]) if binary else None,
                  "plots": [plotspec.bars(f"{key.replace('_', ' ').capitalize()} by {name}",
                                          group_names, [k / n for k, n in counts],
                                          value_label=key.replace("_", " "),
                                          lo=[a for a, _ in ci], hi=[b for _, b in ci])]},
    )
