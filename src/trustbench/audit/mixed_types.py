"""Columns that mix value types.

A column mixes them when it holds numbers and text, or numbers stored as text with a few
exceptions (``"42"``, ``"17"``, ``"unknown"``).

Such a column is read as text, so a model sees categories where the data meant numbers.
Thresholds: warn for any such column; measured on a seeded sample of at most
:data:`MAX_ROWS` rows.

References
----------
Schelter et al., "Automating Large-Scale Data Quality Verification", PVLDB 11(12), 2018.
"""

from __future__ import annotations

import pandas as pd

from trustbench.audit.base import AuditContext
from trustbench.audit.tags import DATA_QUALITY
from trustbench.findings import Finding, Metric

__all__ = ["MAX_ROWS", "NUMERIC_SHARE", "mixed_types"]

MAX_ROWS = 200_000
#: A text column whose values parse as numbers this often (but not always) is flagged.
NUMERIC_SHARE = 0.5


def mixed_types(ctx: AuditContext) -> list[Finding]:
    """Python types per text column, and how many of its strings parse as numbers."""
    sample = ctx.frame.iloc[ctx.sample(MAX_ROWS, salt=8)]
    mixed: dict[str, dict[str, object]] = {}
    for c in ctx.features:
        if ctx.kinds[c] != "categorical" or isinstance(sample[c].dtype, pd.CategoricalDtype):
            continue
        s = sample[c].dropna()
        if not len(s):
            continue
        types = s.map(lambda v: type(v).__name__).value_counts()
        strings = s[s.map(lambda v: isinstance(v, str))]
        parsed = pd.to_numeric(strings, errors="coerce")
        share = float(parsed.notna().mean()) if len(strings) else 0.0
        if len(types) > 1 or NUMERIC_SHARE <= share < 1.0:
            others = strings[parsed.isna()].value_counts().head(5)
            mixed[c] = {"types": {str(k): int(v) for k, v in types.items()},
                        "numeric_text_share": round(share, 4),
                        "non_numeric_examples": [str(k) for k in others.index]}
    return [Finding(
        id="audit.mixed_types",
        title=(f"{len(mixed)} column(s) mix value types: {', '.join(list(mixed)[:5])}" if mixed
               else "No column mixes value types"),
        severity="warn" if mixed else "info",
        metrics={"columns": Metric(len(mixed), unit="count")},
        tags=DATA_QUALITY,
        detail="A column holding numbers and text (or numbers written as text with some "
        "exceptions) is read as categories. Clean the exceptions (often placeholders for "
        f"missing values) and store the column as numbers. Thresholds: warn for any column "
        f"with two value types, or whose strings parse as numbers {NUMERIC_SHARE:.0%}-99.9% "
        "of the time.",
        evidence={"columns": mixed},
    )]
