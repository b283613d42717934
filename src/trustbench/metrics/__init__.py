"""Metrics: plain functions of arrays, truth first: ``f(y_true, y_pred)`` or ``f(y_true, scores)``."""

from __future__ import annotations

from trustbench.metrics.calibration import (
    ReliabilityBins,
    brier_score,
    expected_calibration_error,
    expected_calibration_error_ci,
    maximum_calibration_error,
    negative_log_likelihood,
    reliability_bins,
)
from trustbench.metrics.groups import GroupMetrics, MetricByGroup, by_group, encode_groups
from trustbench.metrics.ood import energy_score, fpr_at_tpr, max_softmax_score, ood_auroc
from trustbench.metrics.slices import Slice, SliceReport, weakest_slices
from trustbench.metrics.stats import (
    median_or_nan,
    pack_bools,
    paired_difference,
    unpack_bools,
    wilson_interval,
)
from trustbench.metrics.temperature import TemperatureScaling, log_softmax

__all__ = [
    "GroupMetrics",
    "MetricByGroup",
    "ReliabilityBins",
    "Slice",
    "SliceReport",
    "TemperatureScaling",
    "brier_score",
    "by_group",
    "encode_groups",
    "energy_score",
    "expected_calibration_error",
    "expected_calibration_error_ci",
    "fpr_at_tpr",
    "log_softmax",
    "max_softmax_score",
    "maximum_calibration_error",
    "median_or_nan",
    "negative_log_likelihood",
    "ood_auroc",
    "pack_bools",
    "paired_difference",
    "reliability_bins",
    "unpack_bools",
    "weakest_slices",
    "wilson_interval",
]
