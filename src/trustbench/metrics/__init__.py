"""Metrics: plain functions of arrays."""

from __future__ import annotations

from trustbench.metrics.stats import median_or_nan, pack_bools, unpack_bools, wilson_interval

__all__ = ["median_or_nan", "pack_bools", "unpack_bools", "wilson_interval"]
