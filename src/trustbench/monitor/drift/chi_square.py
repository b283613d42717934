"""Chi-square test of homogeneity on a categorical column (a Z-test when it is binary).

The reference and current counts form a 2 x K table. Categories expected fewer than five
times in the current window are pooled first (the test's usual validity rule; a category
the reference never saw is kept, and its share is reported as ``new_share``). The effect is
Cohen's ``w`` of the current shares against the reference shares,
``sqrt(sum (q - p)^2 / p)`` (default minimum 0.1, Cohen's "small"; a 10-point change of a
50/50 split is ``w = 0.2``); with two categories the test is the two-proportion Z-test and
the effect Cohen's ``h = |2 asin sqrt(q) - 2 asin sqrt(p)|`` (same default). Unlike
Cramér's V, neither effect shrinks as the reference grows. ``detectable`` comes from the
noncentral chi-square (the normal for Z).

References
----------
Pearson, "On the criterion that a given system of deviations ...", Philosophical Magazine
50 (1900). Cohen, *Statistical Power Analysis for the Behavioral Sciences*, 2nd ed. (1988),
chapters 6 and 7.
"""

from __future__ import annotations

import math

import numpy as np

from trustbench.monitor.drift.base import (
    DriftResult,
    DriftTest,
    category_counts,
    chi2_detectable,
    n_effective,
    normal_detectable,
    normal_sf,
)
from trustbench.monitor.sketch import CategoricalSketch

__all__ = ["ChiSquareTest", "pool_rare"]


def pool_rare(ref: np.ndarray, cur: np.ndarray, *, least: float = 5.0) -> tuple[np.ndarray, np.ndarray]:
    """Pool categories expected fewer than ``least`` times in the current window.

    A category the reference never saw stays on its own: its appearance is a change.
    """
    m = cur.sum()
    expected = ref / ref.sum() * m if ref.sum() else np.zeros_like(ref)
    rare = (expected < least) & (ref > 0)
    if rare.sum() <= 1:  # nothing to pool with
        return ref, cur
    keep = ~rare
    pooled_ref, pooled_cur = ref[keep], cur[keep]
    if rare.any():
        pooled_ref = np.append(pooled_ref, ref[rare].sum())
        pooled_cur = np.append(pooled_cur, cur[rare].sum())
    return pooled_ref, pooled_cur


class ChiSquareTest(DriftTest):
    """Chi-square (Z-test for binary): a change of category shares, effect Cohen's w or h."""

    name = "chi_square"
    kinds = ("categorical",)
    effect_name = "Cohen's w"
    default_min_effect = 0.1

    def _test(self, reference: CategoricalSketch, current: CategoricalSketch,
              alpha: float) -> DriftResult:
        from scipy.stats import chi2

        _, ref, cur, new = category_counts(reference, current)
        n, m = int(ref.sum()), int(cur.sum())
        if not n or not m:
            return self._result(math.nan, 1.0, math.nan, math.nan, n, m)
        ref, cur = pool_rare(ref, cur)
        p, q = ref / n, cur / m
        n_eff = n_effective(n, m)
        if len(ref) == 2 and (ref > 0).all():  # two-proportion Z-test on the first share
            pooled = (ref[0] + cur[0]) / (n + m)
            se = math.sqrt(pooled * (1 - pooled) / n_eff) if 0 < pooled < 1 else math.inf
            z = (q[0] - p[0]) / se if se > 0 else 0.0
            h = abs(2 * math.asin(math.sqrt(q[0])) - 2 * math.asin(math.sqrt(p[0])))
            return DriftResult(self.name, z, 2 * normal_sf(abs(z)), h, "Cohen's h",
                               self.threshold, normal_detectable(1 / math.sqrt(n_eff), alpha),
                               n, m, {"new_share": new, "z_test": True})
        if len(ref) < 2:
            return self._result(0.0, 1.0, 0.0, math.nan, n, m, new_share=new)
        table = np.vstack([ref, cur])
        expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / table.sum()
        stat = float(((table - expected) ** 2 / np.where(expected > 0, expected, 1)).sum())
        df = len(ref) - 1
        known = p > 0
        w = math.sqrt(float(((q[known] - p[known]) ** 2 / p[known]).sum())
                      + float(q[~known].sum()))  # a new category: all of its share is change
        detectable = math.sqrt(chi2_detectable(df, alpha) / n_eff)
        return self._result(stat, chi2.sf(stat, df), w, detectable, n, m, new_share=new,
                            categories=len(ref))
