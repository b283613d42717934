"""Clean accuracy with its confidence interval."""

from __future__ import annotations

from trustbench import nist
from trustbench.checks.base import CheckContext
from trustbench.findings import Finding, Metric
from trustbench.metrics import pack_bools, wilson_interval

__all__ = ["clean_accuracy"]


def clean_accuracy(ctx: CheckContext) -> list[Finding]:
    """Fraction of points classified correctly without any perturbation."""
    n = len(ctx.y)
    k = int(ctx.clean_correct.sum())
    return [Finding(
        id="accuracy.clean",
        title=f"Clean accuracy {k / n:.1%} on {n} points",
        severity="info",
        metrics={"accuracy": Metric(k / n, wilson_interval(k, n), "fraction"),
                 "n": Metric(n, unit="count")},
        tags=nist.ACCURACY,
        detail="95% Wilson interval. Robust accuracies below count a point as robust only "
        "if it is classified correctly both clean and under attack.",
        evidence={"correct": pack_bools(ctx.clean_correct)},  # for paired baseline tests
    )]
