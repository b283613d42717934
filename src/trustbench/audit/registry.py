"""The audit checks, in the order they run.

Adding a check is one module with a function ``check(ctx: AuditContext) -> list[Finding]``
and one line here.
"""

from __future__ import annotations

from trustbench.audit.base import AuditCheck
from trustbench.audit.constant import constant_columns
from trustbench.audit.duplicates import duplicates
from trustbench.audit.fairness import fairness
from trustbench.audit.imbalance import imbalance
from trustbench.audit.label_errors import label_errors
from trustbench.audit.label_rate import label_rate
from trustbench.audit.leakage import leakage
from trustbench.audit.missing import missing_values
from trustbench.audit.mixed_types import mixed_types
from trustbench.audit.out_of_schema import out_of_schema
from trustbench.audit.outliers import outliers
from trustbench.audit.representation import representation
from trustbench.audit.target_proxy import target_proxy
from trustbench.audit.time_order import time_order
from trustbench.errors import InputError

__all__ = ["CHECKS", "select_checks"]

CHECKS: dict[str, AuditCheck] = {
    "imbalance": imbalance,
    "missing": missing_values,
    "constant": constant_columns,
    "mixed_types": mixed_types,
    "out_of_schema": out_of_schema,
    "outliers": outliers,
    "duplicates": duplicates,
    "leakage": leakage,
    "time_order": time_order,
    "target_proxy": target_proxy,
    "label_errors": label_errors,
    "representation": representation,
    "label_rate": label_rate,
    "fairness": fairness,
}


def select_checks(names: list[str] | None) -> dict[str, AuditCheck]:
    """Return the named checks (all when ``None``), in registry order; InputError for unknown ones."""
    if names is None:
        return dict(CHECKS)
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        raise InputError(f"unknown audit check {unknown[0]!r}",
                         fix=f"use some of: {', '.join(CHECKS)}")
    return {n: c for n, c in CHECKS.items() if n in names}
