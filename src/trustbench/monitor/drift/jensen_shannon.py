"""Jensen–Shannon distance on a numeric (binned) or categorical column.

The effect is the Jensen–Shannon distance in base 2, ``sqrt(JSD)`` in [0, 1], between the
reference and current shares over ten reference-quantile bins (categories for a categorical
column); default minimum 0.1 (a mean shift of about a quarter of a standard deviation). The
p-value comes from the identity between the sample-weighted divergence and the G-test of
homogeneity: ``G = 2 N JSD_pi`` (natural log, weights ``pi`` the two samples' shares of
``N``) is the likelihood-ratio statistic of the 2 x B table, chi-square with ``B - 1``
degrees of freedom under no change. ``detectable`` uses ``JSD ~ w^2 / 8`` for small changes.

References
----------
Lin, "Divergence measures based on the Shannon entropy", IEEE Transactions on Information
Theory 37 (1991). Endres & Schindelin, "A new metric for probability distributions", IEEE
Transactions on Information Theory 49 (2003).
"""

from __future__ import annotations

import math

import numpy as np

from trustbench.monitor.drift.base import BinnedTest, DriftResult, chi2_detectable, n_effective

__all__ = ["JensenShannon"]


def _entropy(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


class JensenShannon(BinnedTest):
    """Jensen–Shannon distance (base 2) with the G-test's p-value."""

    name = "jensen_shannon"
    effect_name = "Jensen–Shannon distance"
    default_min_effect = 0.1

    def _counts(self, ref: np.ndarray, cur: np.ndarray, alpha: float) -> DriftResult:
        from scipy.stats import chi2

        n, m = int(ref.sum()), int(cur.sum())
        p, q = ref / n, cur / m
        mix = (p + q) / 2
        jsd = max(_entropy(mix) - (_entropy(p) + _entropy(q)) / 2, 0.0)  # nats
        w_ref, w_cur = n / (n + m), m / (n + m)
        pooled = w_ref * p + w_cur * q
        jsd_weighted = max(_entropy(pooled) - w_ref * _entropy(p) - w_cur * _entropy(q), 0.0)
        g = 2 * (n + m) * jsd_weighted
        df = int((ref + cur > 0).sum()) - 1
        distance = math.sqrt(jsd / math.log(2))
        detectable = math.sqrt(chi2_detectable(max(df, 1), alpha) / n_effective(n, m)
                               / (8 * math.log(2)))
        return self._result(g, chi2.sf(g, max(df, 1)), distance, detectable, n, m,
                            bins=len(ref))
