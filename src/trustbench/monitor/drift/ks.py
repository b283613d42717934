"""Two-sample Kolmogorov–Smirnov test on a numeric column.

The statistic is the largest gap between the two empirical distribution functions, the
KS distance ``D`` in [0, 1]; it is also the effect size (default minimum 0.1: for two
normal distributions, a mean shift of about a quarter of a standard deviation). The
p-value is exact while ``n m`` is at most 10,000 and asymptotic beyond (scipy's methods).
``detectable`` is the critical ``D`` at ``alpha`` scaled to 80% power as for a z-test — an
approximation.

References
----------
Smirnov, "Table for estimating the goodness of fit of empirical distributions", Annals of
Mathematical Statistics 19 (1948). Hodges, "The significance probability of the Smirnov
two-sample test", Arkiv för Matematik 3 (1958).
"""

from __future__ import annotations

import math

import numpy as np

from trustbench.monitor.drift.base import POWER, DriftResult, DriftTest, z_quantile
from trustbench.monitor.sketch import NumericSketch

__all__ = ["KSTest"]

EXACT_BELOW = 10_000  # n m up to which the p-value is exact (scipy's exact method)


class KSTest(DriftTest):
    """Kolmogorov–Smirnov: any change in a numeric distribution, effect ``D``."""

    name = "ks"
    kinds = ("numeric",)
    effect_name = "KS distance D"
    default_min_effect = 0.1

    def _test(self, reference: NumericSketch, current: NumericSketch,
              alpha: float) -> DriftResult:
        a, b = reference.values, current.values  # sorted: sketches keep their samples sorted
        n, m = len(a), len(b)
        if not n or not m:
            return self._result(math.nan, 1.0, math.nan, math.nan, n, m)
        grid = np.concatenate([a, b])
        d = float(np.abs(np.searchsorted(a, grid, side="right") / n
                         - np.searchsorted(b, grid, side="right") / m).max())
        if n * m <= EXACT_BELOW:
            from scipy.stats import ks_2samp

            p = float(ks_2samp(a, b, method="exact").pvalue)
        else:  # scipy's asymptotic branch: the one-sample distribution at n m / (n + m)
            from scipy.stats import kstwo

            p = float(kstwo.sf(d, round(n * m / (n + m))))
        crit = math.sqrt(-math.log(alpha / 2) / 2) * math.sqrt((n + m) / (n * m))
        z = z_quantile(1 - alpha / 2)
        detectable = min(1.0, crit * (z + z_quantile(POWER)) / z)
        return self._result(d, p, d, detectable, n, m)
