"""Representation: how many rows each group has, against the shares the user expects.

For each ``--group`` column (and their intersection) the group shares of the training rows
(and of the test rows) with Wilson intervals, and with ``--expect`` a chi-square
goodness-of-fit test. Thresholds: fail when an expected group has no rows; warn when shares
deviate (p < :data:`ALPHA` and a share off by at least :data:`WARN_DEVIATION`), when a group
not in ``--expect`` appears, or when a group has fewer than
:data:`~trustbench.audit.grouping.MIN_GROUP_ROWS` rows.

References
----------
Gebru et al., "Datasheets for Datasets", CACM 64(12), 2021 (composition questions).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trustbench import plotspec
from trustbench.audit.base import AuditContext
from trustbench.audit.grouping import MIN_GROUP_ROWS, group_columns
from trustbench.audit.tags import FAIRNESS
from trustbench.findings import Finding, Metric, Severity
from trustbench.metrics import wilson_interval

__all__ = ["ALPHA", "WARN_DEVIATION", "representation"]

ALPHA = 0.01
WARN_DEVIATION = 0.05


def representation(ctx: AuditContext) -> list[Finding]:
    """Group shares per group column, against ``ctx.expect`` where given."""
    if not ctx.groups:
        ctx.skip("representation and fairness by group", "no --group column")
        return []
    unknown = set(ctx.expect) - set(ctx.groups)
    if unknown:
        from trustbench.errors import InputError

        raise InputError(f"--expect names {sorted(unknown)[0]!r}, which is not a --group column",
                         fix=f"pass --group {sorted(unknown)[0]} too, or use one of {ctx.groups}")
    return [_one(ctx, name, values) for name, values in group_columns(ctx)]


def _one(ctx: AuditContext, name: str, values: np.ndarray) -> Finding:
    from scipy.stats import chisquare

    train = pd.Series(values[:ctx.n_train]).value_counts()
    expected = ctx.expect.get(name, {})
    labels = sorted(set(train.index) | set(expected), key=lambda g: -train.get(g, 0))
    n = ctx.n_train
    metrics: dict[str, Metric] = {"groups": Metric(len(train), unit="count")}
    problems: list[str] = []
    severity: Severity = "info"
    for g in labels[:30]:
        k = int(train.get(g, 0))
        metrics[f"share.{g}"] = Metric(k / n, wilson_interval(k, n), "fraction")
    small = [g for g in train.index if train[g] < MIN_GROUP_ROWS]
    if small:
        problems.append(f"{len(small)} group(s) have fewer than {MIN_GROUP_ROWS} rows")
    evidence: dict = {"train_counts": {str(g): int(v) for g, v in train.head(100).items()},
                      "small_groups": small[:50]}
    if expected:
        absent = [g for g in expected if expected[g] > 0 and train.get(g, 0) == 0]
        extra = [g for g in train.index if g not in expected]
        obs = np.array([train.get(g, 0) for g in expected], float)
        exp_share = np.array(list(expected.values()))
        if absent:
            problems.append(f"expected group(s) with no rows: {absent[:5]}")
            severity = "fail"
        if extra:
            problems.append(f"group(s) not in --expect: {extra[:5]}")
        used = exp_share > 0
        if obs[used].sum() > 0 and used.sum() > 1:
            f_exp = exp_share[used] / exp_share[used].sum() * obs[used].sum()
            p = float(chisquare(obs[used], f_exp)[1])
            deviation = float(np.max(np.abs(obs / n - exp_share)))
            metrics |= {"chi2_p_value": Metric(p, unit="p"),
                        "max_share_deviation": Metric(deviation, unit="fraction")}
            if p < ALPHA and deviation >= WARN_DEVIATION:
                problems.append(f"shares differ from --expect by up to {deviation:.1%} (p={p:.2g})")
        evidence["expected"] = expected
    if ctx.has_test:
        test = pd.Series(values[ctx.n_train:]).value_counts()
        evidence["test_counts"] = {str(g): int(v) for g, v in test.head(100).items()}
        unseen = [g for g in test.index if g not in train.index]
        if unseen:
            problems.append(f"test group(s) absent from training: {unseen[:5]}")
    if problems and severity == "info":
        severity = "warn"
    shown = labels[:30]
    bar_labels = [f"{g} (expected {expected[g]:.0%})" if g in expected else str(g) for g in shown]
    shares = [train.get(g, 0) / n for g in shown]
    ci = [wilson_interval(int(train.get(g, 0)), n) for g in shown]
    return Finding(
        id=f"audit.representation.{name}",
        title=(f"Representation by {name}: " + "; ".join(problems)) if problems else
        f"Representation by {name}: {len(train)} groups, smallest has {int(train.min())} rows",
        severity=severity, metrics=metrics, tags=FAIRNESS,
        detail="Shares of the training rows per group with 95% Wilson intervals; with "
        "--expect, a chi-square goodness-of-fit test against the expected shares. "
        f"Thresholds: fail when an expected group has no rows; warn when p < {ALPHA} and a "
        f"share is off by {WARN_DEVIATION:.0%} or more, for unexpected groups, for test "
        f"groups absent from training, and for groups under {MIN_GROUP_ROWS} rows.",
        evidence=evidence | {"plots": [plotspec.bars(
            f"Group shares by {name} (training rows)", bar_labels, shares, value_label="share",
            lo=[c[0] for c in ci], hi=[c[1] for c in ci])]},
    )
