"""Subgroup and slice performance.

Per group (``Dataset.groups``) or per class, and the weakest slices of tabular data.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import numpy as np

from trustbench import plotspec
from trustbench.checks.base import CheckContext
from trustbench.checks.products import AttackRuns, Checked, Subgroups
from trustbench.data.dataset import Dataset
from trustbench.findings import Finding, Metric, Severity, finite_or_none
from trustbench.metrics.calibration import expected_calibration_error
from trustbench.metrics.groups import GroupMetrics, by_group
from trustbench.metrics.slices import SliceReport, weakest_slices
from trustbench.nist import Tags

__all__ = ["CLASSES", "FAIRNESS", "GAP_MARGIN", "MIN_SIZE", "N_BOOT", "SLICES",
           "subgroup_performance"]

log = logging.getLogger(__name__)

#: Gaps by a sensitive or slice attribute: evidence toward fairness (MEASURE 2.11).
FAIRNESS = Tags(("fair with harmful bias managed", "valid and reliable"),
                ("MEASURE 2.11", "MAP 2.3", "MEASURE 2.5"))
#: Per-class results: limits of generalisation.
CLASSES = Tags(("valid and reliable",), ("MEASURE 2.5", "MEASURE 2.3"))
#: Discovered weak slices: limits of generalisation, possibly unfair treatment.
SLICES = Tags(("valid and reliable", "fair with harmful bias managed"),
              ("MEASURE 2.5", "MEASURE 2.11", "MAP 2.3"))

#: Warn when a gap (or a slice's shortfall) is above this even at its CI's favourable end.
GAP_MARGIN = 0.05
#: Groups with fewer points are flagged and take no part in the worst group and the gap.
MIN_SIZE = 20
N_BOOT = 1000


def _metric_label(name: str) -> str:
    """``robust_accuracy_eps=0.1`` -> ``robust accuracy at eps=0.1``; ``ece`` spelt out."""
    if name == "ece":
        return "expected calibration error"
    return name.replace("_eps=", " at eps=").replace("_", " ")


def _group_metrics(gm: GroupMetrics) -> dict[str, Metric]:
    out: dict[str, Metric] = {"n_groups": Metric(len(gm.groups), unit="count"),
                              "n_groups_too_small": Metric(int(gm.too_small.sum()), unit="count")}
    for name, m in gm.metrics.items():
        unit = "fraction"
        out[name] = Metric(m.overall, m.overall_ci, unit)
        out[f"{name}_worst_group"] = Metric(m.worst, m.worst_ci, unit)
        out[f"{name}_gap"] = Metric(m.gap, m.gap_ci, unit)
        out[f"{name}_ratio"] = Metric(m.ratio, m.ratio_ci, "ratio")
    return out


def _group_evidence(gm: GroupMetrics, what: str) -> dict[str, Any]:
    rows = []
    for g, label in enumerate(gm.groups):
        row: dict[str, Any] = {what: label, "n": int(gm.n[g]), "too_small": bool(gm.too_small[g])}
        for name, m in gm.metrics.items():
            row[name] = finite_or_none(m.values[g])
            row[f"{name}_ci95"] = [finite_or_none(m.ci[g, 0]), finite_or_none(m.ci[g, 1])]
        rows.append(row)
    worst = {name: {"worst": m.worst_group, "best": m.best_group}
             for name, m in gm.metrics.items()}
    plots = [plotspec.bars(f"{_metric_label(name).capitalize()} by {what}", gm.groups, m.values,
                           value_label=_metric_label(name), lo=m.ci[:, 0], hi=m.ci[:, 1],
                           reference=finite_or_none(m.overall), reference_label="overall")
             for name, m in gm.metrics.items()
             if name in ("accuracy", "ece") or name == _last_robust(gm)]
    return {"table": rows, "worst_and_best": worst, "min_size": gm.min_size,
            "too_small": [gm.groups[g] for g in np.flatnonzero(gm.too_small)],
            "binned": gm.binned, "bootstrap": {"n_boot": gm.n_boot, "seed": gm.seed,
                                               "method": "stratified percentile"},
            "plots": plots}


def _last_robust(gm: GroupMetrics) -> str | None:
    robust = [n for n in gm.metrics if n.startswith("robust_accuracy")]
    return robust[-1] if robust else None


def _gated(gm: GroupMetrics) -> list[str]:
    """Accuracy metrics whose gap stays above GAP_MARGIN at the CI's lower end."""
    return [name for name, m in gm.metrics.items()
            if "accuracy" in name and m.gap_ci[0] > GAP_MARGIN]


def _group_finding(ctx: CheckContext, ds: Dataset, groups: np.ndarray,
                   per_point: dict[str, np.ndarray]) -> tuple[Finding, GroupMetrics]:
    group_name = str(getattr(ds, "group_name", None) or "group")
    probs = ctx.probabilities()
    gm = by_group(per_point | {"ece": expected_calibration_error},
                  ctx.y.numpy(), probs, groups, lower_is_better=("ece",), n_boot=N_BOOT,
                  min_size=MIN_SIZE, seed=ctx.config.seed)
    acc = gm["accuracy"]
    gated = _gated(gm)
    severity: Severity = "warn" if gated else "info"
    if acc.worst_group is None:
        title = (f"Accuracy by {group_name}: fewer than two groups with {MIN_SIZE}+ points, "
                 "no gap measured")
    else:
        title = (f"Accuracy by {group_name}: worst group {acc.worst_group!r} {acc.worst:.1%} vs "
                 f"{acc.best_group!r} {acc.worst + acc.gap:.1%}, gap {acc.gap:.1%} "
                 f"(95% CI {acc.gap_ci[0]:.1%} to {acc.gap_ci[1]:.1%})")
    detail = (f"Per {group_name}: clean accuracy, robust accuracy (worst case over attacks, "
              "per eps) and expected calibration error, with stratified bootstrap 95% CIs "
              f"({N_BOOT} resamples). Gap: best minus worst group, chosen among groups with "
              f"at least {MIN_SIZE} points. Warns when the CI lower bound of the clean or a "
              f"robust accuracy gap is above {GAP_MARGIN:g}.")
    if gated:
        detail += " Gaps above the margin: " + ", ".join(
            f"{_metric_label(n)} {gm[n].gap:.1%} (CI lower bound {gm[n].gap_ci[0]:.1%})"
            for n in gated) + "."
    small = [f"{gm.groups[g]!r} (n={int(gm.n[g])})" for g in np.flatnonzero(gm.too_small)]
    if small:
        detail += (f" Too small for a reliable estimate, reported but left out of the worst "
                   f"group and gaps: {', '.join(small)}.")
    if gm.binned:
        detail += f" The numeric {group_name} column was cut into quantile bins."
    tag = re.sub(r"[^\w.-]+", "_", group_name)
    return Finding(id=f"subgroups.{tag}", title=title, severity=severity,
                   metrics=_group_metrics(gm), tags=FAIRNESS, detail=detail,
                   evidence={"group_name": group_name, "gated": gated}
                   | _group_evidence(gm, group_name)), gm


def _class_finding(ctx: CheckContext, per_point: dict[str, np.ndarray]
                   ) -> tuple[Finding, GroupMetrics]:
    classes = getattr(ctx.model, "classes", None)
    y = ctx.y.numpy()
    labels = np.asarray(classes, dtype=object)[y] if classes is not None else y
    gm = by_group(per_point, None, None, labels, n_boot=N_BOOT, min_size=MIN_SIZE,
                  max_groups=max(20, ctx.model.n_classes), seed=ctx.config.seed)
    acc = gm["accuracy"]
    if acc.worst_group is None:
        title = f"Accuracy by class: fewer than two classes with {MIN_SIZE}+ points"
    else:
        title = (f"Weakest class {acc.worst_group!r}: accuracy (recall) {acc.worst:.1%} vs "
                 f"{acc.best_group!r} {acc.worst + acc.gap:.1%}, gap {acc.gap:.1%}")
    return Finding(
        id="subgroups.class", title=title, severity="info", metrics=_group_metrics(gm),
        tags=CLASSES,
        detail="Per true class: accuracy (the class's recall) and robust accuracy (worst case "
        f"over attacks, per eps), with stratified bootstrap 95% CIs ({N_BOOT} resamples). "
        f"Classes with fewer than {MIN_SIZE} points are reported but left out of the gap.",
        evidence=_group_evidence(gm, "class")), gm


def _slice_dict(s: Any) -> dict[str, Any]:
    return {"rule": s.rule, "conditions": [[f, op, [str(x) for x in v] if op == "in" else v]
                                           for f, op, v in s.conditions],
            "n": s.n, "accuracy": finite_or_none(s.accuracy), "ci95": [finite_or_none(c) for c in s.ci],
            "gap": finite_or_none(s.gap), "p_value": finite_or_none(s.p_value), "significant": s.significant,
            "n_discover": s.n_discover, "accuracy_discover": finite_or_none(s.accuracy_discover)}


def _slice_finding(ctx: CheckContext, ds: Dataset, correct: np.ndarray
                   ) -> tuple[Finding, SliceReport]:
    rep: SliceReport = weakest_slices(ds.x, correct, feature_names=ds.schema.feature_names,
                                      categories=ds.schema.categories, seed=ctx.config.seed)
    bad = [s for s in rep.weakest if s.ci[1] < rep.overall_accuracy - GAP_MARGIN]
    if rep.weakest:
        s = rep.weakest[0]
        title = (f"Weakest slice: {s.rule} -- accuracy {s.accuracy:.1%} on {s.n} held-out "
                 f"points vs {rep.overall_accuracy:.1%} overall")
    else:
        title = "No slice with a significantly higher error rate" + (
            f" ({rep.note})" if rep.note else "")
    metrics = {"overall_accuracy_heldout": Metric(rep.overall_accuracy, rep.overall_ci,
                                                  "fraction"),
               "n_significant_slices": Metric(len(rep.weakest), unit="count")}
    for i, s in enumerate(rep.weakest, 1):
        metrics[f"slice{i}_accuracy"] = Metric(s.accuracy, s.ci, "fraction")
        metrics[f"slice{i}_n"] = Metric(s.n, unit="count")
    plots = [plotspec.bars("Held-out accuracy per tree leaf (slice)",
                           [s.rule for s in rep.leaves], [s.accuracy for s in rep.leaves],
                           value_label="accuracy", lo=[s.ci[0] for s in rep.leaves],
                           hi=[s.ci[1] for s in rep.leaves],
                           reference=finite_or_none(rep.overall_accuracy),
                           reference_label="overall (held-out)")] if rep.leaves else []
    return Finding(
        id="slices.weakest", title=title, severity="warn" if bad else "info", metrics=metrics,
        tags=SLICES,
        detail=f"A depth-{rep.params['max_depth']} decision tree fitted on a seeded half "
        f"({rep.n_discover} points, leaves of {rep.min_leaf}+) predicts the model's errors from "
        f"the raw features; each leaf is scored on the other half ({rep.n_evaluate} points), "
        "since slices scored where they were found look worse than they are. Significant: "
        "one-sided Fisher exact test against the rest, Bonferroni over leaves, alpha "
        f"{rep.params['alpha']:g}. Warns when a slice's 95% Wilson CI upper bound is more than "
        f"{GAP_MARGIN:g} below the held-out overall accuracy.",
        evidence={"slices": [_slice_dict(s) for s in rep.weakest],
                  "leaves": [_slice_dict(s) for s in rep.leaves], "note": rep.note,
                  "n_discover": rep.n_discover, "n_evaluate": rep.n_evaluate,
                  "params": rep.params, "plots": plots}), rep


def subgroup_performance(ctx: CheckContext, attacks: AttackRuns | None = None
                         ) -> Checked[Subgroups | None]:
    """Report per-group or per-class accuracy, robust accuracy and calibration, and weak slices.

    Per group (``ctx.dataset.groups``), or else per class: clean accuracy, robust accuracy
    per eps (the worst case over the ``attacks`` product's runs) and, for groups,
    calibration; plus the weakest slices of tabular data. Skipped, and noted in
    ``ctx.skipped``, once the budget is spent.
    """
    if ctx.out_of_time:
        ctx.skip("subgroup and slice checks", "the time budget ran out first", out_of_time=True)
        return Checked([], None)
    correct = ctx.clean_correct  # (N,) bool
    per_point: dict[str, np.ndarray] = {"accuracy": correct}
    for eps, robust in (attacks.robust() if attacks is not None else {}).items():
        per_point[f"robust_accuracy_eps={eps:g}"] = robust
    ds = ctx.dataset
    if ds is not None and ds.groups is not None:
        finding, gm = _group_finding(ctx, ds, ds.groups, per_point)
        product = Subgroups(groups=gm)
    else:
        finding, gm = _class_finding(ctx, per_point)
        product = Subgroups(classes=gm)
    findings = [finding]
    if ds is not None and ds.schema.modality == "tabular":
        if ctx.out_of_time:
            ctx.skip("weakest-slice search", "the time budget ran out first", out_of_time=True)
        else:
            finding, rep = _slice_finding(ctx, ds, correct)
            findings.append(finding)
            product = Subgroups(product.groups, product.classes, rep)
    return Checked(findings, product)
