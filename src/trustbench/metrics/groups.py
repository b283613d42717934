"""Metrics by group: each metric overall and per group, the worst group and the gap.

Every value comes with stratified bootstrap confidence intervals.

The idea of fairlearn's ``MetricFrame``, kept small, and with a result whose shape never
depends on the input: every metric gets the same fields, per-group values are arrays over
*all* groups (too-small ones included and flagged), and what cannot be estimated is NaN.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, NamedTuple

import numpy as np

from trustbench.errors import InputError

__all__ = ["MISSING", "EncodedGroups", "GroupMetrics", "MetricByGroup", "by_group",
           "encode_groups"]

#: Label of the group of points whose group is NaN, None or empty.
MISSING = "missing"
_MISSING_STRINGS = {"", "nan", "NaN", "None", "<NA>", "NaT"}
#: Bootstrap draws per chunk (rows x points), to bound memory on large data.
_CHUNK = 2_000_000

MetricFn = Callable[..., float]


class EncodedGroups(NamedTuple):
    """Group labels as codes: ``codes`` (N,) int into ``labels``.

    ``binned`` is true if a numeric column was cut into quantile bins.
    """

    codes: np.ndarray
    labels: list[str]
    binned: bool


def _is_missing(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, (float, np.floating)):
        return math.isnan(v)
    return isinstance(v, str) and v.strip() in _MISSING_STRINGS


def encode_groups(groups: np.ndarray | list[Any], *, max_groups: int = 20,
                  n_bins: int = 5) -> EncodedGroups:
    """Turn a group column into codes and readable labels.

    Missing values (NaN, None, ``""``, and the strings ``"nan"``/``"None"`` that a
    text-read column holds) form their own group :data:`MISSING`, listed last. A column
    with more than ``max_groups`` distinct values is cut into ``n_bins`` quantile bins if
    all its values are numbers (e.g. age, also when read as text), and rejected otherwise.
    Groups sort numerically when all labels are numbers, else as text.

    Examples
    --------
    >>> enc = encode_groups(["b", "a", None, "a"])
    >>> enc.codes.tolist(), enc.labels, enc.binned
    ([1, 0, 2, 0], ['a', 'b', 'missing'], False)
    >>> encode_groups(np.arange(100), n_bins=2).labels  # 100 ages: two quantile bins
    ['[0, 49.5)', '[49.5, 99]']
    """
    values = np.asarray(groups, dtype=object).ravel()
    missing = np.fromiter((_is_missing(v) for v in values), bool, len(values))
    present = values[~missing]
    numbers: np.ndarray | None = None
    if not any(isinstance(v, (bool, np.bool_)) for v in present[:1]):  # True/False stay text
        try:
            numbers = present.astype(np.float64)
        except (TypeError, ValueError):
            numbers = None
    binned = False
    if numbers is not None:
        distinct = np.unique(numbers)
        if len(distinct) > max_groups:
            edges = np.unique(np.quantile(numbers, np.linspace(0, 1, n_bins + 1)))
            inner = np.clip(np.searchsorted(edges, numbers, side="right") - 1, 0,
                            len(edges) - 2)
            labels = [f"[{lo:.4g}, {hi:.4g}{']' if i == len(edges) - 2 else ')'}"
                      for i, (lo, hi) in enumerate(pairwise(edges))]
            used = np.unique(inner)
            codes_present, labels = np.searchsorted(used, inner), [labels[i] for i in used]
            binned = True
        else:
            codes_present = np.searchsorted(distinct, numbers)
            labels = [_number_label(v) for v in distinct]
    else:
        text = present.astype(str)
        distinct_text = np.unique(text)
        if len(distinct_text) > max_groups:
            raise InputError(
                f"groups: {len(distinct_text)} distinct values (e.g. "
                f"{', '.join(map(repr, distinct_text[:3].tolist()))}), more than "
                f"max_groups={max_groups}",
                fix="pass a column with fewer categories, merge rare ones, or raise max_groups")
        codes_present, labels = np.searchsorted(distinct_text, text), distinct_text.tolist()
    codes = np.empty(len(values), np.int64)
    codes[~missing] = codes_present
    if missing.any():
        codes[missing] = len(labels)
        labels = [*labels, MISSING]
    return EncodedGroups(codes, [str(s) for s in labels], binned)


def _number_label(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


@dataclass(frozen=True)
class MetricByGroup:
    """One metric overall, per group, and for the worst group against the best.

    ``values`` and ``ci`` cover every group of :attr:`GroupMetrics.groups`. The worst and
    best groups are chosen on the full data among groups with at least ``min_size`` points;
    the bootstrap then re-evaluates those two groups, so its resamples are not forced
    positive; ``gap_ci`` is clipped to ``[0, inf)`` (its lower bound is 0 when the groups may
    not differ at all). ``gap`` is best minus worst (>= 0 for the estimate) and ``ratio``
    worst over best for metrics where higher is better, best over worst otherwise, its
    interval clipped to ``[0, 1]``.
    Fewer than two large-enough groups: worst, gap and ratio are NaN.
    """

    name: str
    higher_is_better: bool
    overall: float
    overall_ci: tuple[float, float]
    values: np.ndarray  # (G,)
    ci: np.ndarray  # (G, 2)
    worst_group: str | None
    best_group: str | None
    worst: float
    worst_ci: tuple[float, float]
    gap: float
    gap_ci: tuple[float, float]
    ratio: float
    ratio_ci: tuple[float, float]


@dataclass(frozen=True)
class GroupMetrics:
    """The result of :func:`by_group`.

    It holds the group labels, sizes and one :class:`MetricByGroup` per metric, in the order
    given.
    """

    groups: tuple[str, ...]
    n: np.ndarray  # (G,) points per group
    too_small: np.ndarray  # (G,) bool: n < min_size, not used for worst group and gap
    metrics: dict[str, MetricByGroup]
    min_size: int
    n_boot: int
    seed: int
    binned: bool = False

    def __getitem__(self, name: str) -> MetricByGroup:
        return self.metrics[name]


def _ci(samples: np.ndarray, alpha: float) -> np.ndarray:
    """Percentile interval over axis 0 of (B, ...) samples, ignoring NaN; (..., 2)."""
    ok = ~np.isnan(samples)
    out = np.full((*samples.shape[1:], 2), np.nan)
    enough = ok.sum(0) > 0
    if enough.any():
        q = np.nanpercentile(samples[:, enough], [100 * alpha / 2, 100 * (1 - alpha / 2)], axis=0)
        out[enough] = np.moveaxis(q, 0, -1)
    return out


def by_group(metrics: Mapping[str, MetricFn | np.ndarray], y_true: np.ndarray | None,
             y_pred: np.ndarray | None, groups: np.ndarray | list[Any], *,
             lower_is_better: Collection[str] = (), n_boot: int = 1000, alpha: float = 0.05,
             min_size: int = 20, max_groups: int = 20, seed: int = 0) -> GroupMetrics:
    """Evaluate metrics overall and per group with stratified percentile-bootstrap CIs.

    Parameters
    ----------
    metrics
        Name -> either a function ``f(y_true, y_pred) -> float`` or a per-point (N,) array
        (e.g. boolean ``correct``), whose metric is its mean.
    y_true, y_pred
        (N,) labels and (N, ...) predictions or scores, passed to function metrics;
        ``None`` if every metric is a per-point array.
    groups
        (N,) group of each point; see :func:`encode_groups` for missing values and numeric
        columns with many values.
    lower_is_better
        Names of metrics where a smaller value is better (e.g. calibration error).
    n_boot
        Bootstrap resamples. Each resamples every group with replacement at its own size
        (stratified), so group sizes stay fixed, as they are in the data.
    alpha
        1 - confidence level of the intervals.
    min_size
        Groups with fewer points are reported and flagged ``too_small``, but take no part
        in the worst group, gap and ratio.
    max_groups
        Passed to :func:`encode_groups`.
    seed
        Seeds the one ``numpy.random.Generator`` of the bootstrap.

    References
    ----------
    Efron & Tibshirani, "An Introduction to the Bootstrap", Chapman & Hall (1993), ch. 13.
    Weerts et al., "Fairlearn: Assessing and Improving Fairness of AI Systems", JMLR 24 (2023).

    Examples
    --------
    >>> correct = np.r_[np.ones(36), np.zeros(4), np.ones(12), np.zeros(28)]  # (80,)
    >>> gm = by_group({"accuracy": correct}, None, None, ["a"] * 40 + ["b"] * 40)
    >>> gm.groups, gm["accuracy"].values.tolist(), gm["accuracy"].worst_group
    (('a', 'b'), [0.9, 0.3], 'b')
    >>> round(gm["accuracy"].gap, 2), gm["accuracy"].gap_ci[0] > 0.3
    (0.6, True)
    """
    enc = encode_groups(groups, max_groups=max_groups)
    n_points, n_groups = len(enc.codes), len(enc.labels)
    arrays: dict[str, np.ndarray] = {}
    for name, m in metrics.items():
        if not callable(m):
            v = np.asarray(m, dtype=np.float64).ravel()
            if len(v) != n_points:
                raise InputError(f"metric {name!r}: {len(v)} per-point values for "
                                 f"{n_points} group labels")
            arrays[name] = v
        elif y_true is None or y_pred is None:
            raise InputError(f"metric {name!r} is a function: pass y_true and y_pred")
    if n_boot < 1:
        raise InputError(f"n_boot must be a positive number of resamples, got {n_boot}")
    order = np.argsort(enc.codes, kind="stable")  # points sorted by group
    sizes = np.bincount(enc.codes, minlength=n_groups)  # (G,)
    starts = np.cumsum(sizes) - sizes  # (G,)
    point_size = np.repeat(sizes, sizes)  # (N,) size of each sorted point's group
    point_start = np.repeat(starts, sizes)  # (N,)

    def evaluate(fn: MetricFn, idx: np.ndarray) -> np.ndarray:
        """(G + 1,) per group, then overall, for one (N,) arrangement of points."""
        out = [fn(y_true[idx[s:s + k]], y_pred[idx[s:s + k]])  # type: ignore[index]
               for s, k in zip(starts, sizes, strict=True)]
        return np.array([*out, fn(y_true[idx], y_pred[idx])], np.float64)  # type: ignore[index]

    def means(v: np.ndarray) -> np.ndarray:
        """(..., G + 1) group means and overall of (..., N) values in sorted order."""
        sums = np.add.reduceat(v, starts, axis=-1)
        return np.concatenate([sums / sizes, v.mean(-1, keepdims=True)], axis=-1)

    point = {name: means(arrays[name][order]) if name in arrays else evaluate(m, order)
             for name, m in metrics.items()}  # name -> (G + 1,)
    boot = {name: np.empty((n_boot, n_groups + 1)) for name in metrics}
    rng = np.random.default_rng(seed)
    rows = max(1, _CHUNK // n_points)
    for b0 in range(0, n_boot, rows):
        c = min(rows, n_boot - b0)
        idx = order[point_start + rng.integers(0, point_size, size=(c, n_points))]  # (c, N)
        for name, m in metrics.items():
            if name in arrays:
                boot[name][b0:b0 + c] = means(arrays[name][idx])
            else:
                boot[name][b0:b0 + c] = [evaluate(m, r) for r in idx]  # type: ignore[arg-type]

    too_small = sizes < min_size
    eligible = np.flatnonzero(~too_small)
    out: dict[str, MetricByGroup] = {}
    for name in metrics:
        higher = name not in lower_is_better
        p, s = point[name], boot[name]
        ci = _ci(s, alpha)  # (G + 1, 2)
        worst_g = best_g = None
        worst = gap = ratio = np.nan
        worst_ci = gap_ci = ratio_ci = (np.nan, np.nan)
        vals = p[eligible]
        if len(eligible) >= 2 and not np.isnan(vals).all():
            sign = 1.0 if higher else -1.0
            w = eligible[np.nanargmin(sign * vals)]
            # on a tie (e.g. every group at 100%) name another group as the best, not the worst
            key = np.nan_to_num(sign * vals, nan=-np.inf)  # larger is better; NaN last
            order = np.argsort(-key, kind="stable")
            b = next((eligible[i] for i in order if eligible[i] != w), w)
            worst_g, best_g, worst, worst_ci = enc.labels[w], enc.labels[b], p[w], tuple(ci[w])
            gap, gap_s = sign * (p[b] - p[w]), sign * (s[:, b] - s[:, w])
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = p[w] / p[b] if higher else p[b] / p[w]
                ratio_s = s[:, w] / s[:, b] if higher else s[:, b] / s[:, w]
            ratio_s[~np.isfinite(ratio_s)] = np.nan
            # a gap and a ratio have a domain: clip, so a tie reads [0, hi], never [-0.03, hi]
            gap_ci = tuple(np.maximum(_ci(gap_s, alpha), 0.0))
            ratio_ci = tuple(np.clip(_ci(ratio_s, alpha), 0.0, 1.0))
            if not np.isfinite(ratio):
                ratio = np.nan
        out[name] = MetricByGroup(
            name, higher, float(p[-1]), (float(ci[-1, 0]), float(ci[-1, 1])), p[:-1].copy(),
            ci[:-1].copy(), worst_g, best_g, float(worst),
            (float(worst_ci[0]), float(worst_ci[1])), float(gap),
            (float(gap_ci[0]), float(gap_ci[1])), float(ratio),
            (float(ratio_ci[0]), float(ratio_ci[1])))
    return GroupMetrics(tuple(enc.labels), sizes, too_small, out, min_size, n_boot, seed,
                        enc.binned)
