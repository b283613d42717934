"""A monitor's history as a Scorecard for the report renderers (``trustbench monitor report``).

:func:`history_card` re-checks every stored window against the reference (without raising
alerts again) and adds, as findings with plot specifications (:mod:`trustbench.plotspec`):

* ``monitor.history.drift`` — a heat map of each column's effect over its minimum effect
  per window (1 or more and significant is an alarm), and the windows that alarmed;
* ``monitor.history.performance`` — realised accuracy per labelled window with its 95%
  band, and the estimated accuracy of windows still unlabelled (marked as estimates);
* ``monitor.history.fairness`` — worst-group accuracy and demographic parity difference
  per labelled window, with bands;
* ``monitor.versions.<new>.compare[.shadow]`` — each registered version against the one
  before it on the stored windows, as computed at registration
  (:mod:`trustbench.monitor.versions`): flips per window, negative flips, per-group changes;
* ``monitor.alerts`` — every alert stored so far.

The HTML page comes from the existing renderer (:func:`trustbench.report.html.write_html`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from trustbench import plotspec
from trustbench.findings import Finding, Metric
from trustbench.monitor.jobs import window_drift, window_outputs
from trustbench.monitor.store import Store
from trustbench.monitor.tags import DRIFT, FAIRNESS, PERFORMANCE
from trustbench.scorecard import Scorecard

__all__ = ["History", "history_card", "window_history"]


def _window_numbers(store: Store, name: str, seq: int, calibration: Any,
                    grouped: bool) -> dict[str, Any]:
    """Realised (or estimated) numbers of one window from its stored rows."""
    from trustbench.monitor.estimate import estimate_accuracy
    from trustbench.monitor.performance import window_performance

    stored = window_outputs(store, name, seq)
    if stored is None:
        return {}
    labelled = stored.labelled
    out: dict[str, Any] = {}
    if len(labelled):
        groups = stored.groups[labelled] if grouped else None
        found = window_performance(stored.labels[labelled], stored.proba[labelled], groups=groups,
                                   n_boot=200)
        out["accuracy"] = found[0].metrics["accuracy"]
        if len(found) > 1:
            out["worst_group"] = found[1].metrics["worst_group_accuracy"]
            out["dpd"] = found[1].metrics["demographic_parity_difference"]
    elif calibration is not None:
        est = estimate_accuracy(calibration, stored.proba)
        out["estimated"] = Metric(est.value, est.ci, "fraction")
    return out


def _series(label: str, xs: list[int], ms: list[Metric]) -> dict[str, Any]:
    return {"label": label, "x": xs, "y": [m.value for m in ms],
            "lo": [m.ci[0] if m.ci else m.value for m in ms],
            "hi": [m.ci[1] if m.ci else m.value for m in ms]}


@dataclass
class History:
    """A monitor's windows re-checked: drift per column and window, numbers, alerts."""

    windows: list[Any]  # StoredWindow, in stream order
    columns: list[str]
    ratio: np.ndarray  # (columns, windows): effect / minimum effect, NaN where untested
    alarm: np.ndarray  # (columns, windows) bool
    numbers: list[tuple[int, dict[str, Any]]]  # (seq, accuracy / estimated / worst_group / dpd)
    alerts: list[dict[str, Any]]
    comparisons: list[dict[str, Any]]

    @property
    def alarmed(self) -> list[int]:
        """The windows with at least one alarm."""
        return [w.seq for j, w in enumerate(self.windows) if self.alarm[:, j].any()]


def window_history(store: Store, name: str) -> History:
    """Re-check every window of monitor ``name`` (no alert is stored) and gather its numbers."""
    from trustbench.monitor.estimate import ConfidenceCalibration

    settings = store.settings(name)
    reference = store.profile(name)
    windows = store.windows(name)
    columns = list(reference.columns)
    ratio = np.full((len(columns), len(windows)), np.nan)
    alarm = np.zeros((len(columns), len(windows)), bool)
    numbers: list[tuple[int, dict[str, Any]]] = []
    grouped = bool(settings.get("group_column"))
    served: dict[str, dict[str, Any]] = {}
    for j, w in enumerate(windows):
        if w.version not in served:
            served[w.version] = store.version(name, w.version)
        drift = window_drift(settings, reference, w, served[w.version]["outputs"])
        for c in drift.columns:
            i = columns.index(c.column)
            if c.result is not None and c.result.min_effect > 0:
                ratio[i, j] = c.result.effect / c.result.min_effect
            alarm[i, j] = c.alarm
        cal = served[w.version]["calibration"]  # the serving version's own
        calibration = ConfidenceCalibration.from_dict(cal) if cal else None
        numbers.append((w.seq, _window_numbers(store, name, w.seq, calibration, grouped)))
    return History(windows, columns, ratio, alarm, numbers, store.alerts(name),
                   store.comparisons(name))


def history_card(store: Store, name: str, history: History | None = None) -> Scorecard:
    """Every window of monitor ``name``: drift, performance and fairness over time, alerts."""
    h = history or window_history(store, name)
    windows, columns, ratio, numbers = h.windows, h.columns, h.ratio, h.numbers
    alarmed = h.alarmed
    labels = [f"w{w.seq}" for w in windows]
    findings = [Finding(
        id="monitor.history.drift",
        title=(f"{len(alarmed)} of {len(windows)} windows alarmed"
               + (f", first at window {alarmed[0]}" if alarmed else "")),
        severity="warn" if alarmed else "info",
        metrics={"windows": Metric(len(windows), unit="count"),
                 "alarmed_windows": Metric(len(alarmed), unit="count")},
        tags=DRIFT,
        detail="Each cell: the column's effect divided by its minimum effect in that window; "
               "1 or more, when also significant after Benjamini-Hochberg at the window's "
               "alpha-spending level, is an alarm.",
        evidence={"alarmed": alarmed, "plots": [plotspec.heatmap(
            "Drift per column and window (effect / minimum effect)", np.nan_to_num(ratio),
            rows=columns, cols=labels, value_label="effect / minimum", vmin=0.0, vmax=2.0)]})]
    real = [(s, d["accuracy"]) for s, d in numbers if "accuracy" in d]
    est = [(s, d["estimated"]) for s, d in numbers if "estimated" in d]
    if real or est:
        series = []
        if real:
            series.append(_series("accuracy (labelled)", [s for s, _ in real], [m for _, m in real]))
        if est:
            series.append(_series("accuracy (estimate, no labels yet)", [s for s, _ in est],
                                  [m for _, m in est]))
        findings.append(Finding(
            id="monitor.history.performance",
            title=f"Accuracy over {len(real)} labelled windows; {len(est)} estimated",
            severity="info", tags=PERFORMANCE,
            metrics={"labelled_windows": Metric(len(real), unit="count"),
                     "estimated_windows": Metric(len(est), unit="count")},
            detail="Realised accuracy with its 95% Wilson band where labels arrived; before "
                   "that, the confidence-based estimate with its interval for the realised "
                   "accuracy, marked as an estimate.",
            evidence={"plots": [plotspec.lines("Accuracy per window", series, x_label="window",
                                               y_label="accuracy", y_range=(0.0, 1.0))]}))
    fair = [(s, d) for s, d in numbers if "worst_group" in d]
    if fair:
        xs = [s for s, _ in fair]
        findings.append(Finding(
            id="monitor.history.fairness", title=f"Fairness over {len(fair)} labelled windows",
            severity="info", tags=FAIRNESS,
            metrics={"windows": Metric(len(fair), unit="count")},
            detail="Worst group's accuracy and the demographic parity difference per window, "
                   "with stratified bootstrap bands.",
            evidence={"plots": [plotspec.lines(
                "Fairness per window",
                [_series("worst-group accuracy", xs, [d["worst_group"] for _, d in fair]),
                 _series("demographic parity difference", xs, [d["dpd"] for _, d in fair])],
                x_label="window", y_label="fraction", y_range=(0.0, 1.0))]}))
    for c in h.comparisons:
        for d in c["findings"]:
            f = Finding.from_dict(d)
            findings.append(replace(f, id=f"monitor.versions.{c['new']}.{f.id.removeprefix('monitor.')}"))
    alerts = h.alerts
    findings.append(Finding(
        id="monitor.alerts", title=f"{len(alerts)} alerts stored",
        severity="warn" if alerts else "info", tags=DRIFT,
        metrics={"alerts": Metric(len(alerts), unit="count")},
        detail="; ".join(f"window {a['window']}: {a['message']}" for a in alerts[-50:]),
        evidence={"alerts": [{k: (str(v) if k == "raised_at" else v) for k, v in a.items()}
                             for a in alerts[-200:]]}))
    return Scorecard(findings, provenance={"monitor": name, "windows": len(windows),
                                           "model_versions": store.versions(name),
                                           "database": store.where})
