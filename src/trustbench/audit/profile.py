"""Column profiles for the scorecard's provenance and the dataset card.

A profile gives a column's role, kind, dtype, missing share, distinct values, range or most
common values. It is built from the mergeable summaries of :mod:`trustbench.audit.sketches`
over every row, so an audit of one table and an audit of the same rows in shards
(:func:`trustbench.audit.shards.audit_shards`) give the same profile.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from trustbench.audit.base import AuditContext
from trustbench.audit.sketches import ColumnSketch, sketch_column

__all__ = ["column_kind", "column_role", "profile_columns", "sketch_frame"]


def column_kind(s: pd.Series) -> str:
    """Return ``"numeric"`` (numbers, booleans), ``"datetime"`` or ``"categorical"``."""
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(s):
        return "datetime"
    return "categorical"


def column_role(c: str, *, target: str | None, groups: Iterable[str] = (),
                id_column: str | None = None, time_column: str | None = None) -> str:
    """Return a column's role: target, group, id, time or feature."""
    if c == target:
        return "target"
    if c in set(groups):
        return "group"
    if c == id_column:
        return "id"
    if c == time_column:
        return "time"
    return "feature"


def sketch_frame(frame: pd.DataFrame, kinds: dict[str, str], *,
                 time_column: str | None = None) -> dict[str, ColumnSketch]:
    """Summarise every column of ``frame`` (``kinds`` by column, numeric or categorical)."""
    return {c: sketch_column(c, frame[c], kinds[c], time=c == time_column)
            for c in frame.columns}


def profile_columns(ctx: AuditContext) -> list[dict[str, Any]]:
    """One dict per column of the table, in file order."""
    kinds = {c: ctx.kinds.get(c) or column_kind(ctx.frame[c]) for c in ctx.frame.columns}
    sketches = sketch_frame(ctx.frame, kinds, time_column=ctx.time_column)
    return [s.to_profile(column_role(c, target=ctx.target, groups=ctx.groups,
                                     id_column=ctx.id_column, time_column=ctx.time_column))
            for c, s in sketches.items()]
