"""Leakage by time order: test rows older than the newest training rows (``--time``).

When a model will predict the future, a random split lets it learn from rows that come
after the ones it is graded on. Thresholds: warn when any test row is earlier than the
latest training row, fail from :data:`FAIL_FRACTION` of the test set.

References
----------
Kapoor & Narayanan, "Leakage and the Reproducibility Crisis in Machine-Learning-Based
Science", Patterns 4(9), 2023 (temporal leakage).
Kaufman, Rosset, Perlich & Stitelman, "Leakage in Data Mining: Formulation, Detection, and
Avoidance", ACM Transactions on Knowledge Discovery from Data 6(4), 2012.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trustbench.audit.base import AuditContext
from trustbench.audit.tags import LEAKAGE
from trustbench.errors import InputError
from trustbench.findings import Finding, Metric, Severity
from trustbench.metrics import wilson_interval

__all__ = ["FAIL_FRACTION", "time_order"]

FAIL_FRACTION = 0.10


def _as_time(s: pd.Series, name: str) -> pd.Series:
    if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_datetime64_any_dtype(s):
        return s
    try:
        return pd.to_datetime(s, errors="raise", format="mixed")
    except (ValueError, TypeError):
        raise InputError(f"{name}: --time column {s.name!r} holds values like "
                         f"{s.dropna().iloc[0]!r} that are neither numbers nor dates",
                         fix="write times as ISO dates (2024-05-01T12:00) or numbers") from None


def time_order(ctx: AuditContext) -> list[Finding]:
    """Fraction of test rows whose time is before the latest training time."""
    if ctx.time_column is None:
        ctx.skip("leakage by time order", "no --time column")
        return []
    if not ctx.has_test:
        ctx.skip("leakage by time order", "no test set given")
        return []
    t = _as_time(ctx.frame[ctx.time_column], ctx.names.get("train", "data"))
    train_t, test_t = t.iloc[:ctx.n_train], t.iloc[ctx.n_train:]
    latest = train_t.max()
    earlier = np.flatnonzero((test_t < latest).to_numpy()) + ctx.n_train
    k, n = len(earlier), ctx.n_test
    ctx.leak("time_order", earlier)
    severity: Severity = "info" if k == 0 else ("fail" if k / n >= FAIL_FRACTION else "warn")
    return [Finding(
        id="audit.leakage.time_order",
        title=f"{k} of {n} test rows are earlier than the latest training row",
        severity=severity,
        metrics={"test_fraction": Metric(k / n, wilson_interval(k, n), "fraction"),
                 "test_rows": Metric(k, unit="count")},
        tags=LEAKAGE,
        detail="If the model will predict later events, train on the past and test on the "
        "future: split at a cut-off time. Thresholds: warn for any earlier test row, fail "
        f"from {FAIL_FRACTION:.0%} of the test set.",
        evidence={"rows": ctx.rows(earlier), "latest_train_time": str(latest),
                  "test_time_range": [str(test_t.min()), str(test_t.max())],
                  "train_time_range": [str(train_t.min()), str(latest)]},
    )]
