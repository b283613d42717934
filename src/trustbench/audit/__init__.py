"""Audit: inspect a dataset (and a train/test pair) before any model is trusted.

* :func:`audit` — data quality, duplicates, leakage, label errors, representation and
  fairness, as Findings in a :class:`~trustbench.scorecard.Scorecard`.
* :func:`dataset_card` / :func:`render_card` / :func:`write_card` — a datasheet (Markdown and
  JSON) filled with the audit's evidence.
* :func:`caveat_findings` — a scan's accuracies without the test rows an audit flagged.
* :data:`CHECKS` — the registered checks; :class:`AuditContext` — what a check receives.
* :func:`find_label_issues` and friends — confident learning on given probabilities.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trustbench._lazy import lazy_package as _lazy_package

if TYPE_CHECKING:
    from trustbench.audit.base import AuditContext, ProgressFactory
    from trustbench.audit.card import dataset_card, render_card, write_card
    from trustbench.audit.catalogue import AUDIT
    from trustbench.audit.caveats import CAVEATS_ID, caveat_findings
    from trustbench.audit.confident_learning import (
        confident_joint,
        estimate_noise_rate,
        find_label_issues,
        label_quality,
        rank_label_issues,
    )
    from trustbench.audit.io import Table, read_table
    from trustbench.audit.registry import CHECKS
    from trustbench.audit.runner import TEST_FLAGS_ID, audit

#: Exported name -> the module that defines it (loaded on first use; see trustbench._lazy).
_EXPORTS = {
    "AuditContext": "trustbench.audit.base",
    "ProgressFactory": "trustbench.audit.base",
    "dataset_card": "trustbench.audit.card",
    "render_card": "trustbench.audit.card",
    "write_card": "trustbench.audit.card",
    "AUDIT": "trustbench.audit.catalogue",
    "CAVEATS_ID": "trustbench.audit.caveats",
    "caveat_findings": "trustbench.audit.caveats",
    "confident_joint": "trustbench.audit.confident_learning",
    "estimate_noise_rate": "trustbench.audit.confident_learning",
    "find_label_issues": "trustbench.audit.confident_learning",
    "label_quality": "trustbench.audit.confident_learning",
    "rank_label_issues": "trustbench.audit.confident_learning",
    "Table": "trustbench.audit.io",
    "read_table": "trustbench.audit.io",
    "CHECKS": "trustbench.audit.registry",
    "TEST_FLAGS_ID": "trustbench.audit.runner",
    "audit": "trustbench.audit.runner",
}

__all__ = [
    "AUDIT",
    "CAVEATS_ID",
    "CHECKS",
    "TEST_FLAGS_ID",
    "AuditContext",
    "ProgressFactory",
    "Table",
    "audit",
    "caveat_findings",
    "confident_joint",
    "dataset_card",
    "estimate_noise_rate",
    "find_label_issues",
    "label_quality",
    "rank_label_issues",
    "read_table",
    "render_card",
    "write_card",
]

_lazy_package(__name__, _EXPORTS)
