"""trustbench: measure and improve the trustworthiness of machine-learning models.

The public API is what this module exports; everything else is implementation detail.
Names load on first use (PEP 562), so ``import trustbench`` — and every command that does
not scan, such as ``trustbench --help``, ``init`` or ``compare`` — does not pay for torch,
pandas and scipy until they are needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trustbench._lazy import lazy_package as _lazy_package
from trustbench._version import __version__

if TYPE_CHECKING:
    from trustbench.checks import RunOptions, ScanConfig, ScanPlan
    from trustbench.data import Dataset, Schema, load_builtin, load_data
    from trustbench.errors import InputError, TrustbenchError, UnsafeModelError
    from trustbench.findings import Finding, Metric
    from trustbench.models import as_model
    from trustbench.models.loading import load_model
    from trustbench.pipeline import ScanOutcome, open_output, run_scan, write_reports
    from trustbench.scan import plan_scan, scan
    from trustbench.scorecard import NotMeasured, Scorecard

#: Exported name -> the module that defines it.
_EXPORTS = {
    "Dataset": "trustbench.data", "Schema": "trustbench.data",
    "load_builtin": "trustbench.data", "load_data": "trustbench.data",
    "Finding": "trustbench.findings", "Metric": "trustbench.findings",
    "InputError": "trustbench.errors", "TrustbenchError": "trustbench.errors",
    "UnsafeModelError": "trustbench.errors",
    "NotMeasured": "trustbench.scorecard", "Scorecard": "trustbench.scorecard",
    "RunOptions": "trustbench.checks", "ScanConfig": "trustbench.checks",
    "ScanPlan": "trustbench.checks",
    "ScanOutcome": "trustbench.pipeline", "open_output": "trustbench.pipeline",
    "run_scan": "trustbench.pipeline", "write_reports": "trustbench.pipeline",
    "as_model": "trustbench.models", "load_model": "trustbench.models.loading",
    "plan_scan": "trustbench.scan", "scan": "trustbench.scan",
}

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


_lazy_package(__name__, _EXPORTS)
