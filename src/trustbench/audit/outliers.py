"""Outliers by robust z-scores: values many robust standard deviations from the median.

The robust scale of a column is its interquartile range / 1.349 (the standard deviation for
normal data); a value is an outlier when its distance from the median exceeds
:data:`Z_THRESHOLD` scales. Category and date columns, and columns whose interquartile range
is 0 (flags, mostly-constant counts), are skipped. Thresholds: warn when at least
:data:`WARN_FRACTION` of rows hold an outlier.

References
----------
Rousseeuw & Hubert, "Robust statistics for outlier detection", WIREs Data Mining and
Knowledge Discovery 1(1), 2011.
"""

from __future__ import annotations

import numpy as np

from trustbench import plotspec
from trustbench.audit.base import AuditContext
from trustbench.audit.tags import DATA_QUALITY
from trustbench.findings import Finding, Metric
from trustbench.metrics import wilson_interval

__all__ = ["WARN_FRACTION", "Z_THRESHOLD", "outliers"]

Z_THRESHOLD = 6.0
WARN_FRACTION = 0.01
_CHUNK = 100_000


def outliers(ctx: AuditContext) -> list[Finding]:
    """Rows with a robust |z| above the threshold in any numeric column."""
    med, scale, robust = ctx.center_scale
    cols = np.array([j for j, c in enumerate(ctx.features)
                     if ctx.kinds[c] == "numeric" and robust[j]], dtype=np.int64)
    if not len(cols):
        ctx.skip("outliers", "no numeric column with a positive interquartile range")
        return []
    med, scale = med[cols], scale[cols]
    row_z = np.zeros(ctx.n, np.float32)
    row_col = np.zeros(ctx.n, np.int64)
    per_col = np.zeros(len(cols), np.int64)
    for s in range(0, ctx.n, _CHUNK):
        z = np.abs((ctx.encoded[s:s + _CHUNK, cols] - med) / scale)  # (chunk, F)
        z = np.nan_to_num(z, nan=0.0, posinf=np.float32(1e30))
        row_col[s:s + _CHUNK] = z.argmax(1)
        row_z[s:s + _CHUNK] = z.max(1)
        per_col += (z > Z_THRESHOLD).sum(0)
    rows = np.flatnonzero(row_z > Z_THRESHOLD)
    k = len(rows)
    top = rows[np.argsort(-row_z[rows], kind="stable")[:50]]
    names = [ctx.features[j] for j in cols]
    shown = [i for i in np.argsort(-per_col, kind="stable")[:20] if per_col[i] > 0]
    listed = []
    for p in top:
        j = cols[row_col[p]]
        split, row = ("test", p - ctx.n_train) if p >= ctx.n_train else ("train", p)
        listed.append({"split": split, "row": int(row), "column": ctx.features[j],
                       "value": float(ctx.encoded[p, j]), "robust_z": round(float(row_z[p]), 2)})
    return [Finding(
        id="audit.outliers",
        title=f"{k} rows ({k / ctx.n:.2%}) hold a value beyond {Z_THRESHOLD:g} robust "
        "standard deviations",
        severity="warn" if k / ctx.n >= WARN_FRACTION else "info",
        metrics={"row_fraction": Metric(k / ctx.n, wilson_interval(k, ctx.n), "fraction"),
                 "rows": Metric(k, unit="count")},
        tags=DATA_QUALITY,
        detail="Robust z = |value - median| / (IQR / 1.349) per numeric column. Outliers may "
        "be entry errors, unit mix-ups or rare but real cases: check them before dropping. "
        f"Thresholds: warn when {WARN_FRACTION:.0%} of rows hold one.",
        evidence={"top": listed, "rows": ctx.rows(rows),
                  "per_column": {names[i]: int(per_col[i]) for i in shown},
                  "plots": [plotspec.bars("Outlying values per column", [names[i] for i in shown],
                                          [int(per_col[i]) for i in shown], value_label="values")]
                  if shown else []},
    )]
