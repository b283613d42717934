"""Values outside a declared schema.

Such values are below ``min``, above ``max`` (or the global ``bounds``), not whole numbers
in an ``integer`` column, or not among a column's ``categories``. The schema file is
:func:`trustbench.audit.io.read_schema`'s format.

Thresholds: warn for any violation, fail when :data:`FAIL_FRACTION` of rows violate it.

References
----------
Breck, Polyzotis, Roy, Whang & Zinkevich, "Data Validation for Machine Learning", SysML 2019.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trustbench.audit.base import AuditContext
from trustbench.audit.tags import DATA_QUALITY
from trustbench.errors import InputError
from trustbench.findings import Finding, Metric, Severity
from trustbench.metrics import wilson_interval

__all__ = ["FAIL_FRACTION", "out_of_schema"]

FAIL_FRACTION = 0.05


def _violations(s: pd.Series, spec: dict, bounds: list | None) -> np.ndarray:
    bad = np.zeros(len(s), bool)
    present = s.notna().to_numpy()
    if "categories" in spec:
        allowed = {str(v) for v in spec["categories"]}
        bad |= present & ~s.astype(str).isin(allowed).to_numpy()
        return bad
    num = pd.to_numeric(s, errors="coerce").to_numpy(np.float64)
    bad |= present & np.isnan(num)  # text where a number was declared
    lo = spec.get("min", None if bounds is None else bounds[0])
    hi = spec.get("max", None if bounds is None else bounds[1])
    with np.errstate(invalid="ignore"):
        if lo is not None:
            bad |= num < lo
        if hi is not None:
            bad |= num > hi
        if spec.get("type") == "integer":
            bad |= np.isfinite(num) & (np.mod(num, 1) != 0)
    return bad


def out_of_schema(ctx: AuditContext) -> list[Finding]:
    """Rows with a value the schema does not allow, per column."""
    if ctx.schema is None:
        ctx.skip("out-of-schema values", "no --schema file")
        return []
    path = ctx.schema.get("_path", "schema")
    feats: dict = ctx.schema.get("features", {})
    for name in feats:
        if name not in ctx.frame.columns:
            raise InputError(f"{path}: feature {name!r} is not a column of {ctx.names['train']}",
                             fix=f"columns are: {', '.join(list(ctx.frame.columns)[:20])}")
    bounds = ctx.schema.get("bounds")
    any_bad = np.zeros(ctx.n, bool)
    columns: dict[str, dict] = {}
    for c in ctx.features:
        spec = feats.get(c, {})
        col_bounds = bounds if ctx.kinds[c] == "numeric" else None  # global bounds: numbers
        declares = "categories" in spec or "min" in spec or "max" in spec or (
            spec.get("type") == "integer")
        if not declares and col_bounds is None:
            continue  # e.g. {"type": "categorical"} alone allows any value
        bad = _violations(ctx.frame[c], spec, col_bounds)
        if bad.any():
            pos = np.flatnonzero(bad)
            columns[c] = {"rows": len(pos), "examples": ctx.frame[c].iloc[pos[:5]].astype(
                str).tolist(), "where": ctx.rows(pos, limit=20)}
            any_bad |= bad
    k = int(any_bad.sum())
    severity: Severity = "info" if k == 0 else ("fail" if k / ctx.n >= FAIL_FRACTION else "warn")
    return [Finding(
        id="audit.out_of_schema",
        title=(f"{k} rows hold values outside the schema in {len(columns)} column(s)" if k
               else "Every value fits the schema"),
        severity=severity,
        metrics={"row_fraction": Metric(k / ctx.n, wilson_interval(k, ctx.n), "fraction"),
                 "columns": Metric(len(columns), unit="count")},
        tags=DATA_QUALITY,
        detail=f"Checked against {path}: min/max (or global bounds), integer type, and "
        f"allowed categories. Thresholds: warn for any row, fail from {FAIL_FRACTION:.0%} of rows.",
        evidence={"columns": columns, "rows": ctx.rows(np.flatnonzero(any_bad))},
    )]
