"""Distribution shift: accuracy and calibration under each shift and severity.

Also the mean corruption error (Hendrycks and Dietterich, ICLR 2019), relative to a
baseline if given.
"""

from __future__ import annotations

import logging
import zlib
from typing import Any

import numpy as np
import torch

from trustbench import plotspec
from trustbench.checks.base import CheckContext
from trustbench.checks.products import Checked, ShiftResults
from trustbench.findings import Finding, Metric, finite_or_none
from trustbench.metrics import wilson_interval
from trustbench.metrics.calibration import expected_calibration_error
from trustbench.nist import Tags
from trustbench.scorecard import Scorecard
from trustbench.shifts import Shift, check_severity, mean_change, shift_class

__all__ = ["SHIFT", "SHIFTED_KEEP", "WARN_DROP", "selected_shifts", "shift_robustness"]

log = logging.getLogger(__name__)

#: Performance under deployment-like conditions and the limits of generalisation.
SHIFT = Tags(("valid and reliable", "safe"), ("MEASURE 2.5", "MEASURE 2.3", "MEASURE 2.6"))
#: A shift finding (and the summary) warns when its mean accuracy over the severities falls
#: more than this below the clean accuracy.
WARN_DROP = 0.10
#: Rows of each severe shifted set kept in ``ShiftResults.shifted`` (the first ones).
SHIFTED_KEEP = 2000
_EXAMPLE_SEVERITY = 3


def _rng(seed: int, name: str) -> np.random.Generator:
    """Return one stream per (seed, shift), the same for every severity.

    The random draws are shared and only their size grows, and adding a shift changes no
    other's numbers.
    """
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def selected_shifts(ctx: CheckContext) -> list[Shift]:
    """Return the plan's shifts, configured for the data and model.

    Categorical features and the model's missing-value handling configure some shifts;
    those that do not apply to the data are not in the plan.
    """
    schema = ctx.dataset.schema if ctx.dataset is not None else None
    return [shift_class(name).from_data(schema=schema, model=ctx.model, x=ctx.x)
            for name in ctx.plan.shifts]


def _baseline_errors(baseline: Scorecard | None, name: str,
                     severities: list[int]) -> tuple[np.ndarray, float] | None:
    """Return the baseline's errors at ``severities`` for shift ``name`` and its clean error."""
    found = baseline.get(f"shift.{name}") if baseline is not None else None
    if found is None:
        return None
    keys = [f"accuracy@{s}" for s in severities]
    if any(k not in found.metrics for k in keys):
        return None
    errors = 1.0 - np.array([found.metrics[k].value for k in keys])
    clean = found.evidence.get("clean_accuracy")
    if clean is None and baseline is not None and (summary := baseline.get("shift.summary")):
        clean = summary.metrics.get("clean_accuracy", Metric(float("nan"))).value
    if not np.all(np.isfinite(errors)):
        return None
    return errors, 1.0 - float(clean) if clean is not None else float("nan")


def _corruption_errors(errors: np.ndarray, clean_error: float,
                       base: tuple[np.ndarray, float]) -> tuple[float, float]:
    """(CE, relative CE) of one shift against the baseline; NaN where undefined."""
    base_errors, base_clean = base
    ce = float(errors.sum() / base_errors.sum()) if base_errors.sum() > 0 else float("nan")
    denominator = float((base_errors - base_clean).sum())
    relative = (float((errors - clean_error).sum()) / denominator
                if np.isfinite(denominator) and denominator > 0 else float("nan"))
    return ce, relative


def _image_example(ctx: CheckContext, shift: Shift) -> dict[str, Any]:
    """Return the first image, clean and at severity 3, scaled to [0, 1] for the report."""
    x0 = ctx.x[:1]
    xs = shift.apply(x0, _EXAMPLE_SEVERITY, _rng(ctx.config.seed, shift.name),
                     domain=ctx.domain)
    lo = float(torch.as_tensor(ctx.domain.lower).min())
    hi = float(torch.as_tensor(ctx.domain.upper).max())
    if not (np.isfinite(lo) and np.isfinite(hi) and hi > lo):
        lo, hi = 0.0, 1.0

    def picture(t: torch.Tensor) -> np.ndarray:
        a = ((t[0] - lo) / (hi - lo)).numpy()  # (C, H, W)
        a = a if a.shape[0] == 3 else a[0]
        stride = max(1, -(-max(a.shape[-2:]) // 64))  # at most 64 pixels a side
        return a[..., ::stride, ::stride]

    return {"label": f"{shift.name} (severity {_EXAMPLE_SEVERITY})", "clean": picture(x0),
            "perturbed": picture(xs)}


def _shift_finding(shift: Shift, rows: dict[str, list[Any]], clean: float,
                   compared: tuple[float, float] | None) -> Finding:
    sev, acc = rows["severity"], rows["accuracy"]
    mean_acc = float(np.mean(acc))
    metrics = {f"accuracy@{s}": Metric(a, ci, "fraction")
               for s, a, ci in zip(sev, acc, rows["ci"], strict=True)}
    metrics |= {f"ece@{s}": Metric(e, unit="fraction") for s, e in zip(sev, rows["ece"],
                                                                        strict=True)}
    metrics["mean_accuracy"] = Metric(mean_acc, unit="fraction")
    if compared is not None:
        metrics["ce"] = Metric(compared[0], unit="ratio to baseline")
        metrics["relative_ce"] = Metric(compared[1], unit="ratio to baseline")
    warn = clean - mean_acc > WARN_DROP
    note = shift.describe()
    return Finding(
        id=f"shift.{shift.name}",
        title=f"{shift.name}: accuracy {acc[0]:.1%} at severity {sev[0]} to {acc[-1]:.1%} at "
        f"{sev[-1]} (clean {clean:.1%})",
        severity="warn" if warn else "info",
        metrics=metrics,
        tags=SHIFT,
        detail=(f"Mean accuracy over the severities is {clean - mean_acc:.1%} below clean "
                f"(warns above {WARN_DROP:.0%}). " if warn else "")
        + "Accuracy with a 95% Wilson interval and ECE (15 equal-width bins) of the shifted "
        "predictions, per severity." + (f" {note}" if note else ""),
        evidence={
            "shift": shift.name, "modality": shift.modality, "params": shift.get_params(),
            "severities": sev, "levels": [shift.levels[s - 1] for s in sev],
            "accuracy": [finite_or_none(a) for a in acc], "ece": [finite_or_none(e) for e in rows["ece"]],
            "n": rows["n"],
            "mean_change": rows["change"], "resampled": shift.resamples,
            "clean_accuracy": clean,
            # the summary's heat map and curves show every shift; a figure of its own only
            # for the shifts that raised a warning
            "plots": [] if not warn else [plotspec.lines(
                f"{shift.name}: accuracy by severity",
                [{"label": "shifted", "x": sev, "y": acc,
                  "lo": [c[0] for c in rows["ci"]], "hi": [c[1] for c in rows["ci"]]},
                 {"label": "clean", "x": sev, "y": [clean] * len(sev)}],
                x_label="severity", y_label="accuracy", y_range=(0.0, 1.0))],
        },
    )


def shift_robustness(ctx: CheckContext) -> Checked[ShiftResults]:
    """Accuracy (with a Wilson interval) and ECE under every selected shift and severity.

    Returns one ``shift.<name>`` finding per shift and a ``shift.summary`` with the mean
    corruption accuracy and error, and, when ``ctx.baseline`` holds the same shifts and
    severities, the normalised and relative mCE. Its product, :class:`ShiftResults`, holds
    the accuracy and ECE per shift and severity and, for shifts that change the inputs, the
    first :data:`SHIFTED_KEEP` rows of ``ctx.x`` at the largest severity (the near-OOD sets).
    """
    cfg = ctx.config
    severities = sorted({check_severity(s) for s in cfg.severities})
    shifts = selected_shifts(ctx) if severities else []
    if not shifts:
        return Checked([], ShiftResults())
    y = ctx.y.numpy()
    n_clean = len(y)
    clean = float(ctx.clean_correct.mean())
    clean_ece = expected_calibration_error(y, ctx.probabilities())
    advance = ctx.options.progress(f"shifts ({len(shifts)} × {len(severities)} severities)",
                           len(shifts) * len(severities) * n_clean)
    table: dict[str, dict[str, list[Any]]] = {}
    shifted: dict[str, torch.Tensor] = {}
    for shift in shifts:
        rows: dict[str, list[Any]] = {k: [] for k in ("severity", "accuracy", "ci", "ece",
                                                       "n", "change")}
        for sev in severities:
            if ctx.out_of_time:
                ctx.skip(f"shift {shift.name} at severity {sev}", "the time budget ran out "
                         "first", out_of_time=True)
                continue
            rng = _rng(cfg.seed, shift.name)
            if shift.resamples:
                idx = torch.from_numpy(shift.resample(y, sev, rng))
                xs, ys = ctx.x[idx], y[idx.numpy()]
                prior = np.bincount(y, minlength=int(y.max()) + 1) / len(y)
                now = np.bincount(ys, minlength=len(prior)) / max(len(ys), 1)
                change = 0.5 * float(np.abs(now - prior).sum())  # total variation of priors
            else:
                xs, ys = shift.apply(ctx.x, sev, rng, domain=ctx.domain), y
                change = mean_change(ctx.x, xs)
                if sev == severities[-1]:  # a copy, so the full batch can be freed
                    shifted[shift.name] = xs[:SHIFTED_KEEP].clone()
            probs = ctx.probabilities(xs)
            k, n = int((probs.argmax(1) == ys).sum()), len(ys)
            rows["severity"].append(sev)
            rows["accuracy"].append(k / n if n else float("nan"))
            rows["ci"].append(wilson_interval(k, n))
            rows["ece"].append(expected_calibration_error(ys, probs))
            rows["n"].append(n)
            rows["change"].append(change)
            advance(n_clean)
        if rows["severity"]:
            table[shift.name] = rows
    product = ShiftResults(
        {name: dict(zip(r["severity"], r["accuracy"], strict=True)) for name, r in table.items()},
        {name: dict(zip(r["severity"], r["ece"], strict=True)) for name, r in table.items()},
        shifted)
    if not table:
        return Checked([], product)
    compared: dict[str, tuple[float, float]] = {}
    for name, rows in table.items():
        base = _baseline_errors(ctx.baseline, name, severities)
        if base is not None and rows["severity"] == severities:
            compared[name] = _corruption_errors(1.0 - np.array(rows["accuracy"]), 1.0 - clean,
                                                base)
    by_name = {s.name: s for s in shifts}
    findings = [_shift_finding(by_name[name], rows, clean, compared.get(name))
                for name, rows in table.items()]
    # the summary (heat map, mCE) first: it is what a reader looks for
    findings.insert(0, _summary(ctx, table, severities, clean, clean_ece, compared, by_name))
    return Checked(findings, product)


def _summary(ctx: CheckContext, table: dict[str, dict[str, list[Any]]], severities: list[int],
             clean: float, clean_ece: float, compared: dict[str, tuple[float, float]],
             by_name: dict[str, Shift]) -> Finding:
    names = list(table)
    all_acc = [a for rows in table.values() for a in rows["accuracy"]]
    mca = float(np.mean(all_acc))
    n = len(ctx.y)
    k = int(ctx.clean_correct.sum())
    metrics = {
        "clean_accuracy": Metric(clean, wilson_interval(k, n), "fraction"),
        "mean_corruption_accuracy": Metric(mca, unit="fraction"),
        "mean_corruption_error": Metric(1.0 - mca, unit="fraction"),
        "clean_ece": Metric(clean_ece, unit="fraction"),
        "mean_shifted_ece": Metric(float(np.nanmean([e for r in table.values()
                                                     for e in r["ece"]])), unit="fraction"),
    }
    ce = [c for c, _ in compared.values() if np.isfinite(c)]
    rel = [r for _, r in compared.values() if np.isfinite(r)]
    if ce:
        metrics["mCE"] = Metric(float(np.mean(ce)), unit="ratio to baseline")
    if rel:
        metrics["relative_mCE"] = Metric(float(np.mean(rel)), unit="ratio to baseline")
    worst = min(names, key=lambda nm: float(np.mean(table[nm]["accuracy"])))
    grid = np.full((len(names), len(severities)), np.nan)
    for i, name in enumerate(names):
        for s, a in zip(table[name]["severity"], table[name]["accuracy"], strict=True):
            grid[i, severities.index(s)] = a
    plots = [
        plotspec.heatmap("Accuracy under shift", grid, rows=names,
                         cols=[f"severity {s}" for s in severities], value_label="accuracy",
                         vmin=0.0, vmax=1.0),
        plotspec.lines("Accuracy by severity",
                       [{"label": nm, "x": table[nm]["severity"], "y": table[nm]["accuracy"]}
                        for nm in names]
                       + [{"label": "clean", "x": severities, "y": [clean] * len(severities)}],
                       x_label="severity", y_label="accuracy", y_range=(0.0, 1.0)),
    ]
    image = ctx.dataset.schema.modality == "image" if ctx.dataset is not None else ctx.x.ndim == 4
    if image and ctx.x.ndim == 4:
        pairs = [_image_example(ctx, by_name[nm]) for nm in names if not by_name[nm].resamples]
        if pairs:
            plots.append(plotspec.images("Clean and shifted (first image)", pairs))
    warn = clean - mca > WARN_DROP
    detail = (f"Mean corruption accuracy is {clean - mca:.1%} below clean (warns above "
              f"{WARN_DROP:.0%}). " if warn else "")
    detail += ("Mean corruption accuracy: mean over shifts and severities; its error is 1 "
               "minus it. ")
    if compared:
        detail += (f"Against the baseline ({len(compared)} shift(s) with the same "
                   "severities): CE = sum of errors / the baseline's sum, relative CE = sum of "
                   "(error - clean error) / the baseline's; mCE and relative mCE average them "
                   "(below 1: better than the baseline).")
    else:
        detail += "No baseline with these shifts and severities: mCE is not normalised."
    return Finding(
        id="shift.summary",
        title=f"Mean accuracy under {len(names)} shift(s): {mca:.1%} (clean {clean:.1%}); "
        f"worst: {worst}",
        severity="warn" if warn else "info",
        metrics=metrics,
        tags=SHIFT,
        detail=detail,
        evidence={"shifts": names, "severities": severities,
                  "accuracy": [[finite_or_none(a) for a in row] for row in grid],
                  "worst_shift": worst, "warn_drop": WARN_DROP,
                  "baseline_shifts": list(compared),
                  "ce": {nm: finite_or_none(c) for nm, (c, _) in compared.items()},
                  "relative_ce": {nm: finite_or_none(r) for nm, (_, r) in compared.items()},
                  "plots": plots},
    )
