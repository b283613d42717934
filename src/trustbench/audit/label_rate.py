"""Label rate by group: whether the label's distribution differs between groups.

A model trained on such data learns the difference; whether it is real or a bias of how the
data was collected or labelled is for a person to judge, with this evidence. For two classes
the rate of the positive class (the second in sorted order) per group with Wilson intervals
and the largest gap; for more, Cramér's V. Both with a chi-square test of independence over
groups of at least :data:`~trustbench.audit.grouping.MIN_GROUP_ROWS` rows (train and test
rows together). Thresholds: warn when p < :data:`ALPHA` and the gap (or V) is at least
:data:`WARN_GAP`.

References
----------
Kamiran & Calders, "Data preprocessing techniques for classification without
discrimination", Knowledge and Information Systems 33(1), 2012.
Cramér, "Mathematical Methods of Statistics", Princeton University Press 1946 (Cramér's V).
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

__all__ = ["ALPHA", "WARN_GAP", "label_rate"]

ALPHA = 0.01
WARN_GAP = 0.1


def label_rate(ctx: AuditContext) -> list[Finding]:
    """Label distribution per group, for each group column and their intersection."""
    if not ctx.groups:
        return []
    return [_one(ctx, name, values) for name, values in group_columns(ctx)]


def _one(ctx: AuditContext, name: str, values: np.ndarray) -> Finding:
    from scipy.stats import chi2_contingency

    k = len(ctx.classes)
    table = pd.crosstab(pd.Series(values, name="group"), pd.Series(ctx.y, name="label"))
    table = table.reindex(columns=range(k), fill_value=0)
    sizes = table.sum(axis=1)
    big = table[sizes >= MIN_GROUP_ROWS]
    binary = k == 2
    pos_label = ctx.classes[-1]
    metrics: dict[str, Metric] = {}
    p, effect = 1.0, 0.0
    if len(big) >= 2 and (big.sum(axis=0) > 0).sum() >= 2:
        counts = big.loc[:, big.sum(axis=0) > 0].to_numpy()
        chi2, p, _, _ = chi2_contingency(counts)
        p = float(p)
        rates = big[1] / big.sum(axis=1) if binary else None
        if binary:
            effect = float(rates.max() - rates.min())
        else:
            r, c = counts.shape
            effect = float(np.sqrt(chi2 / counts.sum() / max(min(r, c) - 1, 1)))
        metrics["chi2_p_value"] = Metric(p, unit="p")
    effect_name = "max_rate_gap" if binary else "cramers_v"
    metrics[effect_name] = Metric(effect, unit="fraction" if binary else "V")
    order = sizes.sort_values(ascending=False).index[:30]
    plots = []
    if binary:
        rate = {g: (int(table.loc[g, 1]), int(sizes[g])) for g in order}
        for g in order[:20]:
            metrics[f"rate.{g}"] = Metric(rate[g][0] / rate[g][1], wilson_interval(*rate[g]),
                                          "fraction")
        ci = [wilson_interval(*rate[g]) for g in order]
        overall = float((ctx.y == 1).mean())
        plots.append(plotspec.bars(
            f"Rate of label {pos_label} by {name}", [str(g) for g in order],
            [rate[g][0] / rate[g][1] for g in order], value_label=f"share labelled {pos_label}",
            lo=[c[0] for c in ci], hi=[c[1] for c in ci], reference=overall,
            reference_label="all rows"))
    flagged = p < ALPHA and effect >= WARN_GAP
    severity: Severity = "warn" if flagged else "info"
    what = (f"the rate of label {pos_label} differs by up to {effect:.1%}" if binary
            else f"the label distribution differs (Cramér's V {effect:.2f})")
    return Finding(
        id=f"audit.label_rate.{name}",
        title=f"Label rate by {name}: " + (f"{what} (p={p:.2g})" if flagged else
                                           f"no marked difference ({effect_name} {effect:.2f})"),
        severity=severity, metrics=metrics, tags=FAIRNESS,
        detail="Chi-square test of independence of label and group over groups of at least "
        f"{MIN_GROUP_ROWS} rows (train and test together). A model learns these differences; "
        "check whether they reflect the world or how the data was collected and labelled. "
        f"Thresholds: warn when p < {ALPHA} and the {'rate gap' if binary else 'V'} is at "
        f"least {WARN_GAP}.",
        evidence={"positive_label": str(pos_label) if binary else None,
                  "counts": {str(g): {str(ctx.classes[c]): int(table.loc[g, c]) for c in range(k)}
                             for g in order[:50]},
                  "plots": plots},
    )
