"""Checks: each takes the prepared model and data and returns Findings (and a product).

The scan runs the registered steps (:mod:`trustbench.checks.steps`) of a plan
(:mod:`trustbench.checks.plan`); a step's typed product (:mod:`trustbench.checks.products`)
reaches the later steps that declare they need it.
"""

from __future__ import annotations

from trustbench.checks.accuracy import clean_accuracy
from trustbench.checks.base import CheckContext, ProgressFactory, RunOptions, ScanConfig
from trustbench.checks.calibration import calibration_checks
from trustbench.checks.catalogue import SCAN  # registers the scan's catalogue
from trustbench.checks.ood import ood_detection
from trustbench.checks.plan import AttackSpec, ScanPlan
from trustbench.checks.products import AttackRuns, Calibration, Checked, ShiftResults, Subgroups
from trustbench.checks.robustness import adversarial_robustness
from trustbench.checks.shift import shift_robustness
from trustbench.checks.steps import Step, register_step, scan_step, scan_steps
from trustbench.checks.subgroups import subgroup_performance
from trustbench.checks.validity import validity_checks

__all__ = ["SCAN", "AttackRuns", "AttackSpec", "Calibration", "CheckContext", "Checked",
           "ProgressFactory", "RunOptions", "ScanConfig", "ScanPlan", "ShiftResults", "Step",
           "Subgroups", "adversarial_robustness", "calibration_checks", "clean_accuracy",
           "ood_detection", "register_step", "scan_step", "scan_steps", "shift_robustness",
           "subgroup_performance", "validity_checks"]
