"""trustbench: measure and improve the trustworthiness of machine-learning models.

The public API is what this module exports; everything else is implementation detail.
"""

from __future__ import annotations

from trustbench._version import __version__
from trustbench.checks import RunOptions, ScanConfig, ScanPlan
from trustbench.data import Dataset, Schema, load_builtin, load_data
from trustbench.errors import InputError, TrustbenchError, UnsafeModelError
from trustbench.findings import Finding, Metric
from trustbench.models import as_model
from trustbench.models.loading import load_model
from trustbench.pipeline import ScanOutcome, open_output, run_scan, write_reports
from trustbench.scan import plan_scan, scan
from trustbench.scorecard import NotMeasured, Scorecard

__all__ = [
    "Dataset",
    "Finding",
    "InputError",
    "Metric",
    "NotMeasured",
    "RunOptions",
    "ScanConfig",
    "ScanOutcome",
    "ScanPlan",
    "Schema",
    "Scorecard",
    "TrustbenchError",
    "UnsafeModelError",
    "__version__",
    "as_model",
    "load_builtin",
    "load_data",
    "load_model",
    "open_output",
    "plan_scan",
    "run_scan",
    "scan",
    "write_reports",
]
