"""Exact and near duplicates within each split, and duplicates that disagree on the label.

Thresholds: ``audit.duplicates.exact`` warns when any row repeats an earlier row of its split
and fails when :data:`FAIL_FRACTION` of a split's rows are repeats; ``audit.duplicates.near``
warns from :data:`WARN_NEAR_FRACTION` of rows in near-duplicate pairs;
``audit.duplicates.conflicting_labels`` warns when any identical rows carry different labels.
Duplicates across train and test are leakage (:mod:`trustbench.audit.leakage`).

References
----------
Lee et al., "Deduplicating Training Data Makes Language Models Better", ACL 2022.
Barz & Denzler, "Do We Train on Test Data? Purging CIFAR of Near-Duplicates", Journal of
Imaging 6(6), 2020.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trustbench.audit.base import AuditContext
from trustbench.audit.neighbours import near_pairs
from trustbench.audit.tags import DATA_QUALITY, LABELS
from trustbench.findings import Finding, Metric
from trustbench.metrics import wilson_interval

__all__ = ["FAIL_FRACTION", "WARN_NEAR_FRACTION", "conflicting_labels_finding", "duplicates",
           "exact_duplicates_finding"]

FAIL_FRACTION = 0.10
WARN_NEAR_FRACTION = 0.01


def duplicates(ctx: AuditContext) -> list[Finding]:
    """Report duplicate rows: exact, near, and identical rows with different labels.

    The findings are exact duplicates (equal feature values) per split, near duplicates per
    split, and groups of identical rows with more than one label.
    """
    return [_exact(ctx), _near(ctx), _conflicts(ctx)]


def _exact(ctx: AuditContext) -> Finding:
    h, split = ctx.row_hash, ctx.is_test
    frame = pd.DataFrame({"h": h, "test": split})
    repeat = frame.duplicated(["h", "test"], keep="first").to_numpy()  # (N,) later copies
    member = frame.duplicated(["h", "test"], keep=False).to_numpy()
    splits = {name: (int(in_split.sum()), int((repeat & in_split).sum()))
              for name, in_split in (("train", ~split), ("test", split))}
    return exact_duplicates_finding(
        splits, evidence={"repeats": ctx.rows(np.flatnonzero(repeat)),
                          "rows_in_duplicate_groups": ctx.rows(np.flatnonzero(member))})


def exact_duplicates_finding(splits: dict[str, tuple[int, int]], *,
                             evidence: dict[str, object]) -> Finding:
    """Return ``audit.duplicates.exact`` from each split's ``(rows, repeats)``.

    A repeat is a row equal to an earlier row of its split; the in-memory audit and the
    sharded one (:mod:`trustbench.audit.shards`) both report through this.
    """
    metrics, worst = {}, 0.0
    for name, (n, k) in splits.items():
        if n == 0:
            continue
        metrics[f"{name}_repeat_fraction"] = Metric(k / n, wilson_interval(k, n), "fraction")
        metrics[f"{name}_repeats"] = Metric(k, unit="count")
        worst = max(worst, k / n)
    total = sum(k for _, k in splits.values())
    severity = "info" if total == 0 else ("fail" if worst >= FAIL_FRACTION else "warn")
    return Finding(
        id="audit.duplicates.exact",
        title=(f"{total} rows repeat an earlier row of their split exactly" if total
               else "No exact duplicate rows within a split"),
        severity=severity, metrics=metrics, tags=DATA_QUALITY,
        detail="Rows whose feature values are all equal (the label is not compared). "
        "Repeats give some examples more weight in training and in every test metric; "
        "drop them or deduplicate before splitting. Thresholds: warn for any, fail when "
        f"{FAIL_FRACTION:.0%} of a split are repeats.",
        evidence=evidence,
    )


def _near(ctx: AuditContext) -> Finding:
    pairs = near_pairs(ctx)
    i, j = pairs["i"], pairs["j"]
    test_i, test_j = ctx.is_test[i], ctx.is_test[j]
    within = test_i == test_j
    rows = np.unique(np.concatenate([i[within], j[within]]))
    frac = len(rows) / ctx.n
    severity = "info" if len(rows) == 0 else ("warn" if frac >= WARN_NEAR_FRACTION else "info")
    shown = np.argsort(pairs["distance"][within])[:50]
    return Finding(
        id="audit.duplicates.near",
        title=f"{int(within.sum())} near-duplicate pairs within a split ({len(rows)} rows)",
        severity=severity,
        metrics={"pairs_train": Metric(int((within & ~test_i).sum()), unit="count"),
                 "pairs_test": Metric(int((within & test_i).sum()), unit="count"),
                 "row_fraction": Metric(frac, wilson_interval(len(rows), ctx.n), "fraction"),
                 "radius": Metric(float(pairs["radius"]), unit="distance")},
        tags=DATA_QUALITY,
        detail=f"Pairs closer than {float(pairs['radius']):.3g} ("
        f"{float(pairs['fraction']):.2%} of the median nearest-neighbour distance; intrinsic "
        f"dimension about {float(pairs['dimension']):.1f}) on "
        f"{'the given embeddings' if ctx.embeddings is not None else 'robust-scaled features'}"
        f" but not exactly equal; search: {pairs['method']}. Warns when "
        f"{WARN_NEAR_FRACTION:.0%} of rows are in such pairs.",
        evidence={"rows": ctx.rows(rows), "closest_pairs": [
            _pair(ctx, int(a), int(b), float(d)) for a, b, d in zip(
                i[within][shown], j[within][shown], pairs["distance"][within][shown], strict=False)]},
    )



def _pair(ctx: AuditContext, a: int, b: int, d: float) -> dict[str, object]:
    def where(p: int) -> str:
        return f"test:{p - ctx.n_train}" if p >= ctx.n_train else f"train:{p}"
    return {"a": where(a), "b": where(b), "distance": round(d, 6)}


def _conflicts(ctx: AuditContext) -> Finding:
    frame = pd.DataFrame({"h": ctx.row_hash, "y": ctx.y})
    n_labels = frame.groupby("h")["y"].transform("nunique").to_numpy()
    rows = np.flatnonzero(n_labels > 1)
    groups = int(frame.loc[rows, "h"].nunique()) if len(rows) else 0
    return conflicting_labels_finding(groups, len(rows), evidence={"rows": ctx.rows(rows)})


def conflicting_labels_finding(groups: int, rows: int, *,
                               evidence: dict[str, object]) -> Finding:
    """Return ``audit.duplicates.conflicting_labels``: ``groups`` of identical rows, ``rows`` in all."""
    return Finding(
        id="audit.duplicates.conflicting_labels",
        title=(f"{groups} groups of identical rows carry different labels ({rows} rows)"
               if groups else "No identical rows with different labels"),
        severity="warn" if groups else "info",
        metrics={"groups": Metric(groups, unit="count"), "rows": Metric(rows, unit="count")},
        tags=LABELS,
        detail="Identical inputs (within or across splits) with different labels: at least "
        "one label of each group is wrong, or the features cannot tell the classes apart.",
        evidence=evidence,
    )
