"""The JSON behind the dashboard: a monitor's history and the overview, from the store.

:func:`monitor_dashboard` turns :func:`~trustbench.monitor.report.window_history` into
plain series (the page draws them itself: no plotting library, no CDN);
:func:`overview` lists the monitors with their state. Both are pure reads.
"""

from __future__ import annotations

import math
from datetime import timezone
from typing import Any

from trustbench.findings import Metric
from trustbench.monitor.report import window_history
from trustbench.monitor.store import Store

__all__ = ["iso_time", "monitor_dashboard", "overview"]


def _num(v: float) -> float | None:
    return None if v is None or not math.isfinite(v) else float(v)


def _band(m: Metric | None) -> dict[str, float | None] | None:
    if m is None:
        return None
    lo, hi = m.ci if m.ci else (m.value, m.value)
    return {"value": _num(m.value), "lo": _num(lo), "hi": _num(hi)}


def iso_time(t: Any) -> str | None:
    """ISO 8601 with its offset: SQLite gives the stored UTC times back without one."""
    if t is None:
        return None
    return (t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)).isoformat()


def monitor_dashboard(store: Store, name: str) -> dict[str, Any]:
    """Everything the model page shows, as JSON-ready values."""
    token = store.revision(name)
    h = window_history(store, name)
    seqs = [w.seq for w in h.windows]
    by_seq = dict(h.numbers)
    windows = [{"seq": w.seq, "received_at": iso_time(w.received_at), "rows": w.rows,
                "version": w.version,
                "alarms": [c for i, c in enumerate(h.columns) if h.alarm[i, j]]}
               for j, w in enumerate(h.windows)]

    def series(key: str) -> list[dict[str, float | None] | None]:
        return [_band(by_seq.get(s, {}).get(key)) for s in seqs]

    versions = [{"old": c["old"], "new": c["new"], "created_at": iso_time(c["created_at"]),
                 "findings": [{"id": f["id"], "title": f["title"], "severity": f["severity"],
                               "metrics": {k: {"value": _num(m.get("value")),
                                               "ci": m.get("ci")}
                                           for k, m in f.get("metrics", {}).items()}}
                              for f in c["findings"]]} for c in h.comparisons]
    return {
        "name": name, "token": token, "windows": windows,
        "drift": {"columns": h.columns, "windows": seqs,
                  "ratio": [[_num(v) for v in row] for row in h.ratio.tolist()],
                  "alarm": h.alarm.tolist()},
        "performance": {"windows": seqs, "accuracy": series("accuracy"),
                        "estimated": series("estimated"),
                        **_reference(store, name, [w.version for w in h.windows])},
        "fairness": {"windows": seqs, "worst_group": series("worst_group"),
                     "dpd": series("dpd")},
        "alerts": [{"window": a["window"], "kind": a["kind"], "subject": a["subject"],
                    "message": a["message"], "raised_at": iso_time(a["raised_at"])}
                   for a in h.alerts[-500:]],
        "versions": versions,
    }


def _reference(store: Store, name: str, served: list[str]) -> dict[str, Any]:
    """Per window, the accuracy its serving version had on its labelled reference.

    What the window is compared with (None without one), and the fall that alarms.
    """
    from trustbench.monitor.performance import MIN_DROP

    accuracy: dict[str, float | None] = {}
    for v in dict.fromkeys(served):
        base = store.version(name, v)["baseline"] or {}
        accuracy[v] = base["correct"] / base["n"] if base.get("n") else None
    return {"reference": [accuracy[v] for v in served],
            "min_drop": float(store.settings(name).get("min_drop", MIN_DROP))}


def overview(store: Store, names: list[str] | None = None) -> list[dict[str, Any]]:
    """Each monitor (of ``names``; all: ``None``): windows, the latest, state, open alerts."""
    out = []
    for name in store.monitors() if names is None else names:
        latest = store.window(name)
        versions = store.versions(name)
        # open: the latest window's alarms, and a regression of the version now serving
        alerts = [a for a in store.alerts(name)
                  if (latest is not None and a["window"] == latest.seq)
                  or (a["window"] is None and a["subject"].endswith(f"->{versions[-1]}"))]
        out.append({
            "name": name, "windows": 0 if latest is None else latest.seq,
            "latest": None if latest is None else {
                "seq": latest.seq, "received_at": iso_time(latest.received_at),
                "rows": latest.rows, "version": latest.version},
            "state": "alert" if alerts else "empty" if latest is None else "ok",
            "open_alerts": len(alerts), "versions": versions})
    return out
