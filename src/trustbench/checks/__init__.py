"""Checks: each takes the prepared model and data and returns Findings."""

from __future__ import annotations

from trustbench.checks.accuracy import clean_accuracy
from trustbench.checks.base import CheckContext, ProgressFactory, ScanConfig
from trustbench.checks.robustness import adversarial_robustness
from trustbench.checks.validity import validity_checks

__all__ = ["CheckContext", "ProgressFactory", "ScanConfig", "adversarial_robustness",
           "clean_accuracy", "validity_checks"]
