"""The drift tests by name, and the default test for a column.

Adding a test: its module, then one line in :data:`DRIFT_TESTS` (or
:func:`register_drift_test` from outside the package).
"""

from __future__ import annotations

from trustbench.errors import InputError
from trustbench.monitor.drift.base import ColumnKind, DriftTest
from trustbench.monitor.drift.c2st import C2ST
from trustbench.monitor.drift.chi_square import ChiSquareTest
from trustbench.monitor.drift.jensen_shannon import JensenShannon
from trustbench.monitor.drift.ks import KSTest
from trustbench.monitor.drift.mmd import MMD
from trustbench.monitor.drift.psi import PSI
from trustbench.monitor.drift.wasserstein import Wasserstein

__all__ = ["DRIFT_TESTS", "MIN_ROWS", "default_test", "get_drift_test", "register_drift_test"]

DRIFT_TESTS: dict[str, type[DriftTest]] = {
    "ks": KSTest,
    "chi_square": ChiSquareTest,
    "psi": PSI,
    "wasserstein": Wasserstein,
    "jensen_shannon": JensenShannon,
    "mmd": MMD,
    "c2st": C2ST,
}
#: Fewer values than this in a window: the column is not tested (too few to say anything).
MIN_ROWS = 30


def register_drift_test(cls: type[DriftTest]) -> type[DriftTest]:
    """Add a drift test to the registry (usable as a class decorator)."""
    DRIFT_TESTS[cls.name] = cls
    return cls


def get_drift_test(name: str, **params: object) -> DriftTest:
    """Build the registered test ``name``; an InputError names the choices otherwise."""
    cls = DRIFT_TESTS.get(name)
    if cls is None:
        raise InputError(f"unknown drift test {name!r}",
                         fix=f"use one of: {', '.join(sorted(DRIFT_TESTS))}")
    return cls(**params)  # type: ignore[arg-type]


def default_test(kind: ColumnKind, n_current: int, *, categories: int = 0) -> tuple[str, str]:
    """Return the default test for a column, as ``(name, reason)``.

    Numeric columns get Kolmogorov–Smirnov at every size: it is distribution-free with
    exact small-sample p-values, and its effect ``D`` keeps large windows from alarming on
    trivial shifts. Categorical columns get chi-square (the two-proportion Z-test when
    binary); with more categories than a fifth of the window's values, where most cells
    would be pooled, Jensen–Shannon on the shares.
    """
    if n_current < MIN_ROWS:
        return "", f"{n_current} values: fewer than {MIN_ROWS}, not tested"
    if kind == "numeric":
        return "ks", f"numeric, {n_current} values: KS (distribution-free; effect D)"
    if categories > 2 and categories > n_current / 5:
        return "jensen_shannon", (f"categorical, {categories} categories for {n_current} "
                                  "values: Jensen–Shannon (too many categories for chi-square)")
    if categories == 2:
        return "chi_square", f"binary, {n_current} values: two-proportion Z-test (effect h)"
    return "chi_square", f"categorical, {n_current} values: chi-square (effect w)"
