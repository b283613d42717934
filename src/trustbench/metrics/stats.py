"""Small statistics shared by checks: confidence intervals and robust summaries."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

__all__ = ["median_or_nan", "pack_bools", "paired_difference", "unpack_bools", "wilson_interval"]


def wilson_interval(successes: int, n: int, *, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion.

    Better behaved than the normal approximation near 0 and 1, where robust accuracies
    often sit. Returns ``(nan, nan)`` for ``n == 0``.

    References
    ----------
    Wilson, "Probable inference, the law of succession, and statistical inference",
    JASA 22 (1927).

    Examples
    --------
    >>> lo, hi = wilson_interval(50, 100)
    >>> round(lo, 3), round(hi, 3)
    (0.404, 0.596)
    """
    if n == 0:
        return (float("nan"), float("nan"))
    z = NormalDist().inv_cdf(1 - alpha / 2)  # the stdlib's, so a scan need not load scipy
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def median_or_nan(values: np.ndarray) -> float:
    """Median of ``values``, ``nan`` when there are none.

    Examples
    --------
    >>> median_or_nan([3, 1, 2]), median_or_nan([])
    (2.0, nan)
    """
    values = np.asarray(values, dtype=np.float64)
    return float(np.median(values)) if values.size else float("nan")


def pack_bools(values: np.ndarray) -> dict[str, object]:
    """Pack a per-point boolean array, compact enough for a scorecard (N/8 bytes, base64).

    Baselines use it for paired tests (McNemar) on the same points.

    Examples
    --------
    >>> packed = pack_bools(np.array([True, False, True]))
    >>> packed
    {'encoding': 'packbits-base64', 'n': 3, 'data': 'oA=='}
    >>> unpack_bools(packed).tolist(), unpack_bools({"encoding": "zip"})
    ([True, False, True], None)
    """
    import base64

    v = np.asarray(values, dtype=bool).ravel()
    return {"encoding": "packbits-base64", "n": int(v.size),
            "data": base64.b64encode(np.packbits(v).tobytes()).decode("ascii")}


def unpack_bools(packed: object) -> np.ndarray | None:
    """Inverse of :func:`pack_bools`; ``None`` when ``packed`` is missing or malformed."""
    import base64
    import binascii

    if not isinstance(packed, dict) or packed.get("encoding") != "packbits-base64":
        return None
    try:
        n = int(packed["n"])
        raw = np.frombuffer(base64.b64decode(str(packed["data"]), validate=True), dtype=np.uint8)
    except (KeyError, TypeError, ValueError, binascii.Error):
        return None
    bits = np.unpackbits(raw)
    return bits[:n].astype(bool) if bits.size >= n >= 0 else None


def paired_difference(a: np.ndarray, b: np.ndarray) -> tuple[tuple[float, float], float]:
    """Paired difference ``mean(b) - mean(a)`` of per-point boolean outcomes.

    Returns its 95% Wald interval with the paired variance, and McNemar's exact p-value
    (a binomial test on the discordant points).

    References
    ----------
    McNemar, "Note on the sampling error of the difference between correlated proportions
    or percentages", Psychometrika 12 (1947).
    """
    from scipy.stats import binomtest

    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    n = len(a)
    if n == 0:
        return (math.nan, math.nan), 1.0
    lost = int(np.sum(a & ~b))  # baseline right, current wrong
    gained = int(np.sum(~a & b))
    d = (gained - lost) / n
    var = ((gained + lost) - (gained - lost) ** 2 / n) / n**2
    half = 1.959964 * math.sqrt(max(var, 0.0))
    p = 1.0 if lost + gained == 0 else float(binomtest(gained, lost + gained, 0.5).pvalue)
    return (d - half, d + half), p
