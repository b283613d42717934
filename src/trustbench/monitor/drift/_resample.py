"""Seeded subsamples that depend only on the values, never on the order of rows."""

from __future__ import annotations

import numpy as np

__all__ = ["canonical_subsample", "permutation_p_value"]


def canonical_subsample(values: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """At most ``k`` of ``values`` (rows of a 2-D array), drawn after sorting them.

    Sorting first (lexicographically for rows) makes the draw a function of the multiset of
    values and the seed: the same window in another row order gives the same subsample.
    """
    order = (np.argsort(values, kind="stable") if values.ndim == 1
             else np.lexsort(values.T[::-1]))
    values = values[order]
    if len(values) <= k:
        return values
    return values[np.sort(rng.choice(len(values), size=k, replace=False))]


def permutation_p_value(observed: float, null: np.ndarray) -> float:
    """``(1 + #{null >= observed}) / (1 + len(null))``: never 0, valid at any size."""
    return float((1 + np.count_nonzero(null >= observed - 1e-12)) / (1 + len(null)))
