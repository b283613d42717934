"""Group columns as the representation and fairness checks see them.

They are each ``--group`` column, and with several, their intersection (e.g. ``sex & race``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trustbench.audit.base import AuditContext

__all__ = ["MIN_GROUP_ROWS", "MISSING", "group_columns"]

#: Groups with fewer rows are reported but too small to measure reliably.
MIN_GROUP_ROWS = 30
#: The group value of rows whose group cell is empty.
MISSING = "(missing)"


def _values(s: pd.Series) -> np.ndarray:
    return s.astype(str).where(s.notna(), MISSING).to_numpy(dtype=object)


def group_columns(ctx: AuditContext) -> list[tuple[str, np.ndarray]]:
    """``[(name, values (N,) str)]``: one per group column, then their intersection."""
    cols = [(g, _values(ctx.frame[g])) for g in ctx.groups]
    if len(cols) >= 2:
        joined = cols[0][1].copy()
        for _, v in cols[1:]:
            joined = joined + " & " + v
        cols.append((" & ".join(ctx.groups), joined))
    return cols
