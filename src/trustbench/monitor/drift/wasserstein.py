"""Wasserstein-1 distance on a numeric column, in units of the reference's spread.

The effect is ``W1(reference, current) / sd(reference)``: how far, in reference standard
deviations, the distribution has moved (a pure mean shift of ``d`` standard deviations
gives exactly ``d``); default minimum 0.1. A constant reference (sd 0) is measured in raw
units. The p-value is a permutation test (``permutations`` relabellings) on equal-size
seeded subsamples of at most ``subsample`` values from each side; the effect uses the whole
samples. ``detectable`` is the permutation null's ``1 - alpha`` quantile plus 0.84 of its
standard deviation (the 80%-power shift under a normal approximation).

References
----------
Vaserstein, "Markov processes over denumerable products of spaces describing large systems
of automata", Problems of Information Transmission 5 (1969). Ramdas, García Trillos &
Cuturi, "On Wasserstein two-sample testing and related families of nonparametric tests",
Entropy 19 (2017).
"""

from __future__ import annotations

import math

import numpy as np

from trustbench.monitor.drift._resample import canonical_subsample, permutation_p_value
from trustbench.monitor.drift.base import POWER, DriftResult, ResamplingTest, z_quantile
from trustbench.monitor.sketch import NumericSketch

__all__ = ["Wasserstein"]


class Wasserstein(ResamplingTest):
    """Wasserstein-1 distance over the reference standard deviation, permutation p-value."""

    name = "wasserstein"
    kinds = ("numeric",)
    effect_name = "Wasserstein distance / reference sd"
    default_min_effect = 0.1

    def _test(self, reference: NumericSketch, current: NumericSketch,
              alpha: float) -> DriftResult:
        from scipy.stats import wasserstein_distance

        a, b = reference.values, current.values
        if not len(a) or not len(b):
            return self._result(math.nan, 1.0, math.nan, math.nan, len(a), len(b))
        sd = reference.std if reference.std > 0 else 1.0
        effect = wasserstein_distance(a, b) / sd
        rng = np.random.default_rng(self.seed)
        k = min(len(a), len(b), self.subsample)
        xa, xb = canonical_subsample(a, k, rng), canonical_subsample(b, k, rng)
        observed = float(np.abs(np.sort(xa) - np.sort(xb)).mean())
        pooled = np.concatenate([xa, xb])
        perms = rng.permuted(np.broadcast_to(pooled, (self.permutations, 2 * k)), axis=1)
        null = np.abs(np.sort(perms[:, :k], 1) - np.sort(perms[:, k:], 1)).mean(1)
        detectable = (np.quantile(null, 1 - alpha) + z_quantile(POWER) * null.std()) / sd
        return self._result(observed / sd, permutation_p_value(observed, null), effect,
                            detectable, len(a), len(b), subsample=k)
