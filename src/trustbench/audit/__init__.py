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

from trustbench.audit.base import AuditContext, ProgressFactory
from trustbench.audit.card import dataset_card, render_card, write_card
from trustbench.audit.catalogue import AUDIT  # registers the audit's catalogue
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
