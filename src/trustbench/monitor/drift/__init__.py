"""Drift tests: one module each, registered in :mod:`trustbench.monitor.drift.registry`."""

from __future__ import annotations

from trustbench.monitor.drift.base import DriftResult, DriftTest
from trustbench.monitor.drift.registry import (
    DRIFT_TESTS,
    MIN_ROWS,
    default_test,
    get_drift_test,
    register_drift_test,
)

__all__ = ["DRIFT_TESTS", "MIN_ROWS", "DriftResult", "DriftTest", "default_test",
           "get_drift_test", "register_drift_test"]
