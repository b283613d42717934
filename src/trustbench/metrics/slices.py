"""Weakest slices: readable regions of tabular feature space where a model errs most.

A shallow decision tree learns to predict the model's errors from the raw features; each
leaf is a conjunction of feature conditions ("mean radius > 14.2 and texture <= 20.1").
Slices found and scored on the same points look worse than they are (the tree picked them
*because* they looked bad), so the tree is fitted on a seeded half of the data and every
slice is scored on the other half.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trustbench.errors import InputError
from trustbench.metrics.stats import wilson_interval

__all__ = ["Slice", "SliceReport", "weakest_slices"]


@dataclass(frozen=True)
class Slice:
    """One leaf of the error tree, scored on the held-out half.

    Attributes
    ----------
    rule
        Conditions joined by ``" and "``, in raw feature units.
    conditions
        ``(feature, op, value)`` with op ``"<="``, ``">"`` or ``"in"`` (categorical codes
        rendered as their values).
    n, accuracy, ci
        Held-out points in the slice, their accuracy and its 95% Wilson interval.
    gap
        Held-out overall accuracy minus the slice's accuracy.
    p_value
        One-sided Fisher exact test that the slice's error rate is above the rest of the
        held-out half, Bonferroni-corrected over the leaves.
    significant
        ``p_value < alpha``.
    n_discover, accuracy_discover
        The same numbers on the half the tree was fitted on (optimistic: for comparison).
    rows
        Positions (in ``x``) of the slice's held-out points: other numbers measured on them
        are free of the selection bias too.
    """

    rule: str
    conditions: tuple[tuple[str, str, Any], ...]
    n: int
    accuracy: float
    ci: tuple[float, float]
    gap: float
    p_value: float
    significant: bool
    n_discover: int
    accuracy_discover: float
    rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64), repr=False,
                             compare=False)


@dataclass(frozen=True)
class SliceReport:
    """All leaves (weakest first), the significant weakest ``k`` and the split sizes."""

    weakest: list[Slice]
    leaves: list[Slice]
    overall_accuracy: float  # on the held-out half
    overall_ci: tuple[float, float]
    n_discover: int
    n_evaluate: int
    min_leaf: int
    note: str = ""
    params: dict[str, Any] = field(default_factory=dict)


def _leaf_paths(tree: Any) -> dict[int, list[tuple[int, bool, float]]]:
    """Leaf id -> [(feature, went_right, threshold)] along its path from the root."""
    t = tree.tree_
    paths: dict[int, list[tuple[int, bool, float]]] = {}
    stack: list[tuple[int, list[tuple[int, bool, float]]]] = [(0, [])]
    while stack:
        node, path = stack.pop()
        left, right = t.children_left[node], t.children_right[node]
        if left == right:  # a leaf
            paths[node] = path
            continue
        f, thr = int(t.feature[node]), float(t.threshold[node])
        stack.append((left, [*path, (f, False, thr)]))
        stack.append((right, [*path, (f, True, thr)]))
    return paths


def _conditions(path: list[tuple[int, bool, float]], names: Sequence[str],
                categories: dict[int, list[Any]]) -> tuple[tuple[str, str, Any], ...]:
    """Merge a path's tests into at most one interval per feature, in path order."""
    bounds: dict[int, list[float]] = {}
    for f, right, thr in path:
        lo, hi = bounds.setdefault(f, [-math.inf, math.inf])
        bounds[f] = [max(lo, thr), hi] if right else [lo, min(hi, thr)]
    out: list[tuple[str, str, Any]] = []
    for f, (lo, hi) in bounds.items():
        if f in categories:
            values = [v for k, v in enumerate(categories[f]) if lo < k <= hi]
            out.append((names[f], "in", values))
            continue
        if lo > -math.inf:
            out.append((names[f], ">", float(f"{lo:.4g}")))
        if hi < math.inf:
            out.append((names[f], "<=", float(f"{hi:.4g}")))
    return tuple(out)


def _rule(conditions: tuple[tuple[str, str, Any], ...]) -> str:
    parts = [f"{f} in {{{', '.join(map(str, v))}}}" if op == "in" else f"{f} {op} {v:g}"
             for f, op, v in conditions]
    return " and ".join(parts) or "all points"


def weakest_slices(x: np.ndarray, correct: np.ndarray, *,
                   feature_names: Sequence[str] | None = None,
                   categories: dict[int, list[Any]] | None = None, k: int = 3,
                   max_depth: int = 3, min_leaf: int | None = None, alpha: float = 0.05,
                   seed: int = 0) -> SliceReport:
    """Find up to ``k`` slices where the model's error rate is significantly above the rest.

    Parameters
    ----------
    x
        (N, F) raw tabular features.
    correct
        (N,) bool: the model got the point right.
    feature_names
        F names for the rules; ``x0, x1, ...`` if ``None``.
    categories
        Feature index -> values of its codes (``Schema.categories``), so rules on a
        categorical column read ``color in {red, blue}``.
    k
        Slices to return at most.
    max_depth
        Depth of the tree: conditions per slice at most.
    min_leaf
        Fewest discovery points per leaf; default ``max(20, 5% of the discovery half)``.
    alpha
        Significance level of the (Bonferroni-corrected) test per leaf.
    seed
        Seeds the split into halves and the tree.

    References
    ----------
    Chung et al., "Slice Finder: Automated Data Slicing for Model Validation", ICDE 2019.
    Chen, Johansson & Sontag, "Why Is My Classifier Discriminatory?", NeurIPS 2018.
    """
    from scipy.stats import fisher_exact
    from sklearn.tree import DecisionTreeClassifier

    x = np.asarray(x, dtype=np.float64)
    correct = np.asarray(correct, dtype=bool).ravel()
    if x.ndim != 2 or len(x) != len(correct):
        raise InputError(f"weakest_slices: x must be (N, F) with N = {len(correct)} points, "
                         f"got shape {x.shape}")
    names = list(feature_names) if feature_names is not None else [
        f"x{i}" for i in range(x.shape[1])]
    perm = np.random.default_rng(seed).permutation(len(x))
    disc, ev = np.sort(perm[: len(x) // 2]), np.sort(perm[len(x) // 2:])
    leaf_min = min_leaf or max(20, math.ceil(0.05 * len(disc)))
    params = {"max_depth": max_depth, "min_leaf": leaf_min, "alpha": alpha, "seed": seed,
              "k": k}
    n_ok = int(correct[ev].sum())
    overall = n_ok / len(ev) if len(ev) else float("nan")
    report = {"overall_accuracy": overall, "overall_ci": wilson_interval(n_ok, len(ev)),
              "n_discover": len(disc), "n_evaluate": len(ev), "min_leaf": leaf_min,
              "params": params}
    errors = ~correct[disc]
    if len(disc) < 2 * leaf_min:
        return SliceReport([], [], note=f"too few points to split: {len(disc)} in the "
                           f"discovery half, leaves need {leaf_min}", **report)
    if errors.all() or not errors.any():
        return SliceReport([], [], note="the model is right (or wrong) on every discovery "
                           "point: no errors to explain", **report)
    tree = DecisionTreeClassifier(max_depth=max_depth, min_samples_leaf=leaf_min,
                                  random_state=seed).fit(x[disc], errors)
    paths = _leaf_paths(tree)
    leaf_d, leaf_e = tree.apply(x[disc]), tree.apply(x[ev])  # (N_d,), (N_e,)
    leaves: list[Slice] = []
    for leaf, path in paths.items():
        in_e, in_d = leaf_e == leaf, leaf_d == leaf
        n, ok = int(in_e.sum()), int(correct[ev][in_e].sum())
        rest_n, rest_ok = len(ev) - n, n_ok - ok
        p = 1.0
        if n and rest_n:
            p = float(fisher_exact([[n - ok, ok], [rest_n - rest_ok, rest_ok]],
                                   alternative="greater")[1])
        p = min(1.0, p * len(paths))
        acc = ok / n if n else float("nan")
        nd = int(in_d.sum())
        conds = _conditions(path, names, categories or {})
        leaves.append(Slice(_rule(conds), conds, n, acc, wilson_interval(ok, n), overall - acc,
                            p, p < alpha, nd,
                            float(correct[disc][in_d].mean()) if nd else float("nan"),
                            ev[in_e]))
    leaves.sort(key=lambda s: (math.isnan(s.accuracy), s.accuracy))
    weakest = [s for s in leaves if s.significant][:k]
    return SliceReport(weakest, leaves, **report)
