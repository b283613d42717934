"""Monitor: watch a deployed model's inputs and outputs over time.

* :func:`build_profile` / :class:`Profile` — the reference, sketched once in chunks
  (:mod:`~trustbench.monitor.sketch`); a current window is sketched the same way.
* :func:`check_drift` — every column of a window against the reference: the registered
  drift tests (:data:`DRIFT_TESTS`), Benjamini–Hochberg across columns, an effect-size
  gate, and an alpha-spending rule over windows (:mod:`~trustbench.monitor.decide`).
* :func:`window_performance` — a labelled window's accuracy, macro-F1, ECE and fairness
  with intervals; :class:`ConfidenceCalibration` / :func:`estimate_accuracy` — its accuracy
  estimated before labels arrive.

Names load on first use: ``import trustbench.monitor`` does not import scipy or pandas.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trustbench._lazy import lazy_package as _lazy_package

if TYPE_CHECKING:
    from trustbench.monitor.decide import (
        ColumnDrift,
        WindowDrift,
        benjamini_hochberg,
        check_drift,
        window_alpha,
    )
    from trustbench.monitor.drift import DRIFT_TESTS, DriftResult, DriftTest, register_drift_test
    from trustbench.monitor.estimate import AccuracyEstimate, ConfidenceCalibration, estimate_accuracy
    from trustbench.monitor.performance import window_performance
    from trustbench.monitor.profile import Profile, build_profile, read_chunks
    from trustbench.monitor.sketch import CategoricalSketch, NumericSketch

_EXPORTS = {
    "ColumnDrift": "trustbench.monitor.decide", "WindowDrift": "trustbench.monitor.decide",
    "benjamini_hochberg": "trustbench.monitor.decide",
    "check_drift": "trustbench.monitor.decide", "window_alpha": "trustbench.monitor.decide",
    "DRIFT_TESTS": "trustbench.monitor.drift", "DriftResult": "trustbench.monitor.drift",
    "DriftTest": "trustbench.monitor.drift", "register_drift_test": "trustbench.monitor.drift",
    "AccuracyEstimate": "trustbench.monitor.estimate",
    "ConfidenceCalibration": "trustbench.monitor.estimate",
    "estimate_accuracy": "trustbench.monitor.estimate",
    "window_performance": "trustbench.monitor.performance",
    "Profile": "trustbench.monitor.profile", "build_profile": "trustbench.monitor.profile",
    "read_chunks": "trustbench.monitor.profile",
    "CategoricalSketch": "trustbench.monitor.sketch", "NumericSketch": "trustbench.monitor.sketch",
}

__all__ = [
    "DRIFT_TESTS",
    "AccuracyEstimate",
    "CategoricalSketch",
    "ColumnDrift",
    "ConfidenceCalibration",
    "DriftResult",
    "DriftTest",
    "NumericSketch",
    "Profile",
    "WindowDrift",
    "benjamini_hochberg",
    "build_profile",
    "check_drift",
    "estimate_accuracy",
    "read_chunks",
    "register_drift_test",
    "window_alpha",
    "window_performance",
]

_lazy_package(__name__, _EXPORTS)
