"""Population stability index on a numeric or categorical column.

``PSI = sum (q - p) ln(q / p)`` over ten reference-quantile bins (categories for a
categorical column), with half a count added to every cell so that an empty bin stays
finite. PSI is its own effect size; the default minimum, 0.1, is the credit-scoring rule
of thumb (below 0.1 stable, 0.1–0.25 a moderate shift, above 0.25 a large one; a mean shift
of half a standard deviation is about 0.25). The p-value uses the asymptotic distribution
of Yurdakul & Naranjo: ``PSI / (1/n + 1/m)`` is approximately chi-square with ``B - 1``
degrees of freedom under no change; ``detectable`` follows from the noncentral chi-square.

References
----------
Siddiqi, *Credit Risk Scorecards* (Wiley, 2006). Yurdakul & Naranjo, "Statistical
properties of the population stability index", Journal of Risk Model Validation 14 (2020).
"""

from __future__ import annotations

import numpy as np

from trustbench.monitor.drift.base import BinnedTest, DriftResult, chi2_detectable

__all__ = ["PSI"]


class PSI(BinnedTest):
    """Population stability index: the credit-risk standard, effect PSI."""

    name = "psi"
    effect_name = "PSI"
    default_min_effect = 0.1

    def _counts(self, ref: np.ndarray, cur: np.ndarray, alpha: float) -> DriftResult:
        from scipy.stats import chi2

        n, m = int(ref.sum()), int(cur.sum())
        p = (ref + 0.5) / (n + 0.5 * len(ref))
        q = (cur + 0.5) / (m + 0.5 * len(cur))
        psi = float(((q - p) * np.log(q / p)).sum())
        scale = 1 / n + 1 / m
        df = len(ref) - 1
        return self._result(psi, chi2.sf(psi / scale, df), psi,
                            chi2_detectable(df, alpha) * scale, n, m, bins=len(ref))
