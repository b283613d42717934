"""Constant and near-constant columns.

A constant column carries no information (often a broken join or export); a near-constant
one (the most common value in at least :data:`NEAR_SHARE` of the rows) carries little and
can make a model fragile. Thresholds: warn for any constant column; near-constant columns
are listed as info. Shares are measured on a seeded sample of at most :data:`MAX_ROWS` rows;
constant columns are confirmed on all rows.

References
----------
Kuhn & Johnson, "Applied Predictive Modeling", Springer 2013, Section 3.5 (zero- and
near-zero-variance predictors).
"""

from __future__ import annotations

from trustbench.audit.base import AuditContext
from trustbench.audit.tags import DATA_QUALITY
from trustbench.findings import Finding, Metric

__all__ = ["MAX_ROWS", "NEAR_SHARE", "constant_columns"]

NEAR_SHARE = 0.99
MAX_ROWS = 200_000


def constant_columns(ctx: AuditContext) -> list[Finding]:
    """Share of the most common value (missing counts as a value) per feature column."""
    sample = ctx.frame.iloc[ctx.sample(MAX_ROWS, salt=6)]
    top_share: dict[str, float] = {}
    for c in ctx.features:
        counts = sample[c].value_counts(dropna=False, sort=True)
        top_share[c] = float(counts.iloc[0] / len(sample))
    constant = [c for c, s in top_share.items()
                if s == 1.0 and ctx.frame[c].nunique(dropna=False) == 1]
    near = sorted((c for c, s in top_share.items() if s >= NEAR_SHARE and c not in constant),
                  key=lambda c: -top_share[c])
    title = (f"{len(constant)} constant column(s): {', '.join(constant[:5])}" if constant else
             f"No constant columns; {len(near)} near-constant" if near else
             "No constant or near-constant columns")
    return [Finding(
        id="audit.constant_columns", title=title, severity="warn" if constant else "info",
        metrics={"constant": Metric(len(constant), unit="count"),
                 "near_constant": Metric(len(near), unit="count")},
        tags=DATA_QUALITY,
        detail="Constant columns hold one value in every row; near-constant ones hold their "
        f"most common value in at least {NEAR_SHARE:.0%} of rows. Drop constant columns and "
        "check how they were produced. Thresholds: warn for any constant column.",
        evidence={"constant": constant, "near_constant": {
            c: round(top_share[c], 5) for c in near[:50]}},
    )]
