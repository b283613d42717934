"""Plot specifications: how a check asks for a figure without drawing it.

Checks put plain, JSON-serialisable dicts in ``Finding.evidence["plots"]`` (a list); the
renderers (``report/plots.py``) draw them. This module is pure data, beside
:mod:`trustbench.findings`: computing imports neither matplotlib nor the renderers, and a
scorecard JSON alone is enough to redraw every figure.

Every spec has ``kind`` and ``title``; the other keys depend on the kind. Build them with the
functions below so a misspelt key fails where the figure is made, not where it is drawn.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["KINDS", "bars", "heatmap", "images", "lines", "reliability"]

KINDS = ("lines", "heatmap", "bars", "reliability", "images")


def _floats(values: Sequence[float] | np.ndarray) -> list[float | None]:
    out: list[float | None] = []
    for v in np.asarray(values, dtype=float).ravel().tolist():
        out.append(v if math.isfinite(v) else None)  # JSON has no NaN
    return out


def lines(title: str, series: Sequence[dict[str, Any]], *, x_label: str, y_label: str,
          y_range: tuple[float, float] | None = None) -> dict[str, Any]:
    """Line plot.

    Each series: ``{"label", "x", "y"}`` and optionally ``"lo"``/``"hi"`` (a confidence
    band).
    """
    out = []
    for s in series:
        d = {"label": str(s["label"]), "x": _floats(s["x"]), "y": _floats(s["y"])}
        if len(d["x"]) != len(d["y"]):
            raise ValueError(f"series {d['label']!r}: x and y differ in length")
        for k in ("lo", "hi"):
            if s.get(k) is not None:
                d[k] = _floats(s[k])
        out.append(d)
    return {"kind": "lines", "title": title, "x_label": x_label, "y_label": y_label,
            "series": out, "y_range": list(y_range) if y_range else None}


def heatmap(title: str, values: np.ndarray | Sequence[Sequence[float]], *, rows: Sequence[str],
            cols: Sequence[str], value_label: str, vmin: float | None = None,
            vmax: float | None = None) -> dict[str, Any]:
    """Heat map of ``values`` (len(rows), len(cols)), e.g. accuracy per shift and severity."""
    v = np.asarray(values, dtype=float)
    if v.shape != (len(rows), len(cols)):
        raise ValueError(f"values have shape {v.shape}, expected ({len(rows)}, {len(cols)})")
    return {"kind": "heatmap", "title": title, "rows": [str(r) for r in rows],
            "cols": [str(c) for c in cols], "values": [_floats(r) for r in v],
            "value_label": value_label, "vmin": vmin, "vmax": vmax}


def bars(title: str, labels: Sequence[str], values: Sequence[float], *, value_label: str,
         lo: Sequence[float] | None = None, hi: Sequence[float] | None = None,
         reference: float | None = None, reference_label: str = "") -> dict[str, Any]:
    """Horizontal bars with optional CI whiskers and a reference line (e.g. overall value)."""
    if len(labels) != len(values):
        raise ValueError("labels and values differ in length")
    return {"kind": "bars", "title": title, "labels": [str(s) for s in labels],
            "values": _floats(values), "lo": None if lo is None else _floats(lo),
            "hi": None if hi is None else _floats(hi), "value_label": value_label,
            "reference": reference, "reference_label": reference_label}


def reliability(title: str, *, bin_edges: Sequence[float], bin_confidence: Sequence[float],
                bin_accuracy: Sequence[float], bin_count: Sequence[int],
                ece: float | None = None) -> dict[str, Any]:
    """Reliability diagram: accuracy against mean confidence per bin, with bin counts."""
    if not len(bin_confidence) == len(bin_accuracy) == len(bin_count) == len(bin_edges) - 1:
        raise ValueError("reliability: one confidence, accuracy and count per bin expected")
    return {"kind": "reliability", "title": title, "bin_edges": _floats(bin_edges),
            "bin_confidence": _floats(bin_confidence), "bin_accuracy": _floats(bin_accuracy),
            "bin_count": [int(c) for c in bin_count], "ece": ece}


def images(title: str, pairs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Image pairs: each ``{"label", "clean", "perturbed"}``.

    The arrays are (H, W) or (C, H, W), scaled to [0, 1]. Keep them few and small: they are
    stored in the scorecard.
    """
    out = []
    for p in pairs:
        out.append({"label": str(p["label"]),
                    "clean": np.round(np.clip(np.asarray(p["clean"], float), 0, 1), 4).tolist(),
                    "perturbed": np.round(np.clip(np.asarray(p["perturbed"], float), 0, 1),
                                          4).tolist()})
    return {"kind": "images", "title": title, "pairs": out}
