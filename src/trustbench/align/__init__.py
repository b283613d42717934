"""Align: learn from human preference feedback and measure how robust that alignment is.

Built so far: preference data (:mod:`trustbench.align.data`) — reading and checking JSONL
comparisons, splits by prompt, leakage and annotator agreement. Reward models, DPO and
RL, the labelling page and the alignment evaluation are the rest of issue 16.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trustbench._lazy import lazy_package as _lazy_package

if TYPE_CHECKING:
    from trustbench.align.data import (
        Agreement,
        Leakage,
        Preference,
        annotator_agreement,
        leakage_report,
        read_preferences,
        split_preferences,
    )

_EXPORTS = {name: "trustbench.align.data" for name in (
    "Agreement", "Leakage", "Preference", "annotator_agreement", "leakage_report",
    "read_preferences", "split_preferences")}
__all__ = ["Agreement", "Leakage", "Preference", "annotator_agreement", "leakage_report",
           "read_preferences", "split_preferences"]

_lazy_package(__name__, _EXPORTS)
