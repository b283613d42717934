"""Near-duplicate pairs: rows much closer to each other than rows usually are.

Two rows are near duplicates when their distance (on robust-scaled features, or on the
user's embeddings) is at most :func:`radius_fraction` of the median nearest-neighbour
distance of the data (5%, less in data of low intrinsic dimension where chance puts rows
close together), and their feature values are not exactly equal (those are exact
duplicates). Up to :data:`EXACT_ROWS` rows the search is exact (scikit-learn
``NearestNeighbors``); beyond that it hashes rows into grid cells of a random projection
(two shifted grids) and verifies the candidates that share a cell, so it scales linearly.
The median distance is estimated on a sample and extrapolated to the full size with an
estimate of the data's intrinsic dimension (Levina & Bickel 2004 use the same scaling law).

References
----------
Broder, "On the resemblance and containment of documents", 1997 (near-duplicate detection).
Levina & Bickel, "Maximum likelihood estimation of intrinsic dimension", NeurIPS 2004.
"""

from __future__ import annotations

import numpy as np

from trustbench.audit.base import AuditContext

__all__ = ["CHANCE_FRACTION", "EXACT_ROWS", "RELATIVE_RADIUS", "near_pairs",
           "radius_fraction"]

#: Near duplicates lie within at most this fraction of the median nearest-neighbour distance.
RELATIVE_RADIUS = 0.05
#: ... and within a radius that chance alone puts about this fraction of rows (in data
#: without duplicates, given its intrinsic dimension).
CHANCE_FRACTION = 0.001
#: Up to this many rows the nearest-neighbour search is exact.
EXACT_ROWS = 20_000
_NEIGHBOURS = 6
_PROJECTED_DIMS = 8


def near_pairs(ctx: AuditContext) -> dict[str, np.ndarray | float | str]:
    """Return the near-duplicate pairs of rows; computed once per audit.

    The result is ``{"i", "j", "distance"}`` arrays of near-duplicate pairs (positions,
    ``i < j``), plus the ``radius`` used, its ``fraction`` of the median nearest-neighbour
    distance, the estimated intrinsic ``dimension`` and the ``method``.
    """
    if ctx.near is not None:
        return ctx.near
    x = (ctx.embeddings.astype(np.float32) if ctx.embeddings is not None
         else ctx.scaled)  # (N, D)
    h = ctx.row_hash
    from sklearn.neighbors import NearestNeighbors

    idx = ctx.sample(EXACT_ROWS, salt=2)
    k = min(_NEIGHBOURS, len(idx))
    dist, nbr = NearestNeighbors(n_neighbors=k).fit(x[idx]).kneighbors(x[idx])  # (n, k)
    first = _first_other(dist, nbr, np.arange(len(idx)))
    positive = first[first > 0]
    median = float(np.median(positive)) if len(positive) else 0.0
    dim = float(x.shape[1])
    if len(positive) > 100:
        dim = _intrinsic_dimension(x[idx], median, ctx.rng(3))
        median *= (len(idx) / ctx.n) ** (1 / dim)  # at the full size, when sampled
    fraction = radius_fraction(dim)
    radius = fraction * median
    if radius <= 0:
        out = {"i": np.zeros(0, np.int64), "j": np.zeros(0, np.int64),
               "distance": np.zeros(0), "radius": radius, "method": "none"}
    elif len(idx) == ctx.n:
        a = np.repeat(np.arange(ctx.n), k)
        b, d = nbr.ravel(), dist.ravel()
        out = _pairs(a, b, d, h, radius, "exact nearest neighbours")
    else:
        out = _grid_pairs(x, h, radius, ctx.rng(4))
    out |= {"fraction": fraction, "dimension": dim}
    ctx.near = out
    return out


def _first_other(dist: np.ndarray, nbr: np.ndarray, self_idx: np.ndarray) -> np.ndarray:
    """Distance to the nearest row other than the row itself."""
    other = nbr != self_idx[:, None]
    col = np.argmax(other, axis=1)
    d = dist[np.arange(len(dist)), col]
    return np.where(other.any(1), d, np.inf)


def radius_fraction(dim: float) -> float:
    """Return the radius as a fraction of the median nearest-neighbour distance.

    The fraction is at most :data:`RELATIVE_RADIUS`, and small enough that in data of
    intrinsic dimension ``dim`` without duplicates only about :data:`CHANCE_FRACTION` of rows
    have a neighbour that close (for a Poisson process P(d_nn < r·median) = 1 - 2^(-r^dim)).
    """
    return float(min(RELATIVE_RADIUS, (-np.log2(1 - CHANCE_FRACTION)) ** (1 / dim)))


def _intrinsic_dimension(xs: np.ndarray, median: float, rng: np.random.Generator) -> float:
    """Estimate the intrinsic dimension d of ``xs``.

    The median nearest-neighbour distance scales as n^(-1/d): d comes from how it grows on a
    quarter-size subsample, clipped to [1, number of columns].
    """
    from sklearn.neighbors import NearestNeighbors

    n = len(xs)
    sub = rng.choice(n, size=n // 4, replace=False)
    dist, nbr = NearestNeighbors(n_neighbors=2).fit(xs[sub]).kneighbors(xs[sub])
    d = _first_other(dist, nbr, np.arange(len(sub)))
    d = d[(d > 0) & np.isfinite(d)]
    if not len(d) or median <= 0:
        return float(xs.shape[1])
    ratio = float(np.median(d)) / median  # ~ 4^(1/dim)
    dim = np.log(4) / np.log(ratio) if ratio > 1 else xs.shape[1]
    return float(np.clip(dim, 1, xs.shape[1]))


def _pairs(a: np.ndarray, b: np.ndarray, d: np.ndarray, h: np.ndarray, radius: float,
           method: str) -> dict[str, np.ndarray | float | str]:
    keep = (a != b) & (d <= radius) & (h[a] != h[b])
    lo, hi = np.minimum(a[keep], b[keep]), np.maximum(a[keep], b[keep])
    pairs, first = np.unique(np.stack([lo, hi], 1), axis=0, return_index=True)  # (P, 2)
    return {"i": pairs[:, 0].astype(np.int64), "j": pairs[:, 1].astype(np.int64),
            "distance": d[keep][first], "radius": radius, "method": method}


def _grid_pairs(x: np.ndarray, h: np.ndarray, radius: float,
                rng: np.random.Generator) -> dict[str, np.ndarray | float | str]:
    """Find near-duplicate pairs through shifted grids over a random projection.

    Candidates share a cell of one of two shifted grids over a random projection; each is
    compared with its cell's first row and its successor in the cell, then verified.
    """
    dims = min(_PROJECTED_DIMS, x.shape[1])
    proj = rng.standard_normal((x.shape[1], dims)).astype(np.float32) / np.sqrt(dims)
    y = x @ proj  # (N, dims): distances roughly kept
    width = 8 * radius
    coef = rng.integers(1, 2**62, size=dims, dtype=np.int64) | 1
    a_all, b_all = [], []
    for offset in (0.0, 0.5):
        cells = np.floor(y / width + offset).astype(np.int64)  # (N, dims)
        key = (cells * coef).sum(1)  # wraps around: collisions only add candidates
        order = np.argsort(key, kind="stable")
        ks = key[order]
        start = np.r_[True, ks[1:] != ks[:-1]]
        leader = order[np.maximum.accumulate(np.where(start, np.arange(len(ks)), 0))]
        same = ~start
        a_all += [order[same], order[1:][same[1:]]]
        b_all += [leader[same], order[:-1][same[1:]]]
    a, b = np.concatenate(a_all), np.concatenate(b_all)
    d = np.zeros(len(a))
    for s in range(0, len(a), 200_000):  # verify in chunks: (chunk, D) at a time
        d[s:s + 200_000] = np.linalg.norm(x[a[s:s + 200_000]] - x[b[s:s + 200_000]], axis=1)
    return _pairs(a, b, d, h, radius, "grid hashing of a random projection (approximate)")
