"""Synthetic tables with planted problems whose positions are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trustbench.testing.toy_tables import ToyAuditTables, toy_audit_tables

FEATURES = ["f0", "f1", "f2", "f3", "cat"]


def make_table(n: int, *, seed: int, bias: float = 0.0) -> pd.DataFrame:
    """Numeric features, a category, a group (30% 'y'), ids, dates and a label that a
    linear model learns well; ``bias`` lowers the positive rate of group 'y'."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4))
    group = np.where(rng.random(n) < 0.3, "y", "x")
    score = 2 * x[:, 0] + x[:, 1] - bias * (group == "y")
    df = pd.DataFrame(x, columns=FEATURES[:4])
    df["cat"] = rng.choice(["a", "b", "c"], n)
    df["g"] = group
    df["uid"] = [f"u{seed}-{i}" for i in range(n)]
    df["t"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, n), unit="D")
    df["y"] = (score > 0).astype(int)
    return df


@pytest.fixture(scope="session")
def table_factory():  # type: ignore[no-untyped-def]
    """:func:`make_table`, for tests that need other sizes, seeds or bias."""
    return make_table


@pytest.fixture(scope="module")
def planted() -> ToyAuditTables:
    """The kit's planted train/test pair (exact and near duplicates, leaks, shared ids)."""
    return toy_audit_tables()
