"""Checks: each takes the prepared model and data and returns Findings."""

from __future__ import annotations

from trustbench.checks.accuracy import clean_accuracy
from trustbench.checks.base import CheckContext, ProgressFactory, ScanConfig
from trustbench.checks.calibration import calibration_checks
from trustbench.checks.catalogue import SCAN  # registers the scan's catalogue
from trustbench.checks.ood import ood_detection
from trustbench.checks.robustness import adversarial_robustness
from trustbench.checks.shift import shift_robustness
from trustbench.checks.subgroups import subgroup_performance
from trustbench.checks.validity import validity_checks

__all__ = ["SCAN", "CheckContext", "ProgressFactory", "ScanConfig", "adversarial_robustness",
           "calibration_checks", "clean_accuracy", "ood_detection", "shift_robustness",
           "subgroup_performance", "validity_checks"]
