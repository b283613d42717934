"""Train/test leakage: test rows that are in the training data.

A test row can be in the training data exactly, nearly, or as the same entity.

Thresholds: each finding warns when any test row leaks and fails when
:data:`FAIL_FRACTION` of the test rows do. The leaked test rows are recorded for
``audit.test_flags``, so a scan can report its accuracy without them
(:func:`trustbench.audit.caveat_findings`).

References
----------
Kaufman, Rosset, Perlich & Stitelman, "Leakage in Data Mining: Formulation, Detection, and
Avoidance", ACM Transactions on Knowledge Discovery from Data 6(4), 2012.
Barz & Denzler, "Do We Train on Test Data? Purging CIFAR of Near-Duplicates", Journal of
Imaging 6(6), 2020.
"""

from __future__ import annotations

import numpy as np

from trustbench.audit.base import AuditContext
from trustbench.audit.neighbours import near_pairs
from trustbench.audit.tags import LEAKAGE
from trustbench.findings import Finding, Metric, Severity
from trustbench.metrics import wilson_interval

__all__ = ["FAIL_FRACTION", "leakage"]

FAIL_FRACTION = 0.05


def leakage(ctx: AuditContext) -> list[Finding]:
    """Shared rows, near duplicates across the splits and shared entity ids (``--id``)."""
    if not ctx.has_test:
        ctx.skip("train/test leakage", "no test set given")
        return []
    h = ctx.row_hash
    shared = np.flatnonzero(np.isin(h[ctx.n_train:], h[:ctx.n_train])) + ctx.n_train
    ctx.leak("shared_row", shared)
    findings = [_finding(
        ctx, "audit.leakage.shared_rows", shared, "test rows also appear in the training data",
        "Test rows whose feature values all equal a training row's: the model was graded "
        "on examples it saw. Remove them from the test set (or deduplicate before splitting).")]

    pairs = near_pairs(ctx)
    i, j = pairs["i"], pairs["j"]
    across = ctx.is_test[i] != ctx.is_test[j]
    near = np.unique(np.where(ctx.is_test[i[across]], i[across], j[across]))
    near = np.setdiff1d(near, shared)
    ctx.leak("near_duplicate", near)
    findings.append(_finding(
        ctx, "audit.leakage.near_duplicates", near,
        "test rows are near duplicates of a training row",
        f"Closer to a training row than the near-duplicate radius ({float(pairs['radius']):.3g}) "
        f"but not equal; search: {pairs['method']}. Often the same record re-captured, "
        "re-sized or lightly edited."))

    if ctx.id_column is None:
        ctx.skip("shared entity ids across train and test", "no --id column")
    else:
        ids = ctx.frame[ctx.id_column]
        test_ids = ids.iloc[ctx.n_train:].to_numpy()
        shared_ids = np.flatnonzero(np.isin(test_ids, ids.iloc[:ctx.n_train].dropna().to_numpy())
                                    & ids.iloc[ctx.n_train:].notna().to_numpy()) + ctx.n_train
        ctx.leak("shared_id", shared_ids)
        f = _finding(ctx, "audit.leakage.shared_ids", shared_ids,
                     f"test rows share an entity id ({ctx.id_column!r}) with training rows",
                     "The same entity (person, patient, device, ...) in both splits lets a "
                     "model memorise the entity instead of learning the task. Split by entity "
                     "(e.g. sklearn GroupShuffleSplit).")
        f.evidence["shared_id_values"] = sorted({str(v) for v in
                                                 ctx.frame[ctx.id_column].to_numpy()[shared_ids]})[:50]
        findings.append(f)
    return findings


def _finding(ctx: AuditContext, fid: str, positions: np.ndarray, what: str,
             detail: str) -> Finding:
    k, n = len(positions), ctx.n_test
    severity: Severity = "info" if k == 0 else ("fail" if k / n >= FAIL_FRACTION else "warn")
    return Finding(
        id=fid, title=f"{k} of {n} {what}", severity=severity,
        metrics={"test_fraction": Metric(k / n, wilson_interval(k, n), "fraction"),
                 "test_rows": Metric(k, unit="count")},
        tags=LEAKAGE,
        detail=f"{detail} Thresholds: warn for any, fail from {FAIL_FRACTION:.0%} of the test set.",
        evidence={"rows": ctx.rows(positions)},
    )
