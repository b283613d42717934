"""Column profiles for the scorecard's provenance and the dataset card.

A profile gives a column's role, kind, dtype, missing share, distinct values, range or most
common values.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from trustbench.audit.base import AuditContext

__all__ = ["SAMPLE_ROWS", "profile_columns"]

#: Distinct values and most common values are counted on a seeded sample of this many rows.
SAMPLE_ROWS = 200_000


def _role(ctx: AuditContext, c: str) -> str:
    if c == ctx.target:
        return "target"
    if c in ctx.groups:
        return "group"
    if c == ctx.id_column:
        return "id"
    if c == ctx.time_column:
        return "time"
    return "feature"


def profile_columns(ctx: AuditContext) -> list[dict[str, Any]]:
    """One dict per column of the table, in file order."""
    sample = ctx.frame.iloc[ctx.sample(SAMPLE_ROWS, salt=10)]
    out = []
    for c in ctx.frame.columns:
        s = ctx.frame[c]
        kind = ctx.kinds.get(c) or ("numeric" if s.dtype.kind in "biuf" else "categorical")
        d: dict[str, Any] = {"name": c, "role": _role(ctx, c), "kind": kind, "dtype": str(s.dtype),
                             "missing_fraction": round(float(s.isna().mean()), 6),
                             "distinct": int(sample[c].nunique())}
        if d["role"] == "time":
            import pandas as pd

            t = s if kind == "numeric" else pd.to_datetime(s, errors="coerce", format="mixed")
            if t.notna().any():
                d |= {"first": str(t.min()), "last": str(t.max())}
        if kind == "numeric" and s.notna().any():
            v = s.to_numpy(np.float64, na_value=np.nan)
            d |= {"min": float(np.nanmin(v)), "max": float(np.nanmax(v)),
                  "mean": float(np.nanmean(v))}
        else:
            top = sample[c].astype(str).value_counts().head(5)
            d["top_values"] = {str(k): int(n) for k, n in top.items()}
        out.append(d)
    return out
