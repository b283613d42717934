"""trustbench: measure and improve the trustworthiness of machine-learning models.

The public API is what this module exports; everything else is implementation detail.
"""

from __future__ import annotations

__version__ = "0.1.0"

from trustbench.checks import ScanConfig  # noqa: E402
from trustbench.data import Dataset, Schema, load_builtin, load_data  # noqa: E402
from trustbench.errors import InputError, TrustbenchError, UnsafeModelError  # noqa: E402
from trustbench.findings import Finding, Metric  # noqa: E402
from trustbench.models import as_model  # noqa: E402
from trustbench.models.loading import load_model  # noqa: E402
from trustbench.scan import scan  # noqa: E402
from trustbench.scorecard import Scorecard  # noqa: E402

__all__ = [
    "Dataset",
    "Finding",
    "InputError",
    "Metric",
    "ScanConfig",
    "Schema",
    "Scorecard",
    "TrustbenchError",
    "UnsafeModelError",
    "__version__",
    "as_model",
    "load_builtin",
    "load_data",
    "load_model",
    "scan",
]
