"""Silent regressions between two model versions on the same rows.

A retrained model can keep its headline accuracy and still get worse where it matters:
it flips answers that were right, or loses a group. :func:`compare_versions` compares the
old (``a``) and new (``b``) model's probabilities on the same rows and returns a finding
``monitor.compare`` with

* the **flip rate** (rows whose predicted class changed), with a Wilson interval — the one
  number available without labels (shadow mode), with where the flips concentrate by group;
* with labels: **negative flips** (right before, wrong now) and positive flips, each with a
  Wilson interval; the accuracy change with its paired interval and McNemar's exact test
  (:func:`trustbench.metrics.paired_difference`);
* with groups: the accuracy change per group, with stratified bootstrap intervals
  (:func:`trustbench.metrics.groups.by_group`), and the group that lost most;
* with the rows' features: the slices where negative flips concentrate
  (:func:`trustbench.metrics.weakest_slices` learns them on a seeded half of the rows and
  tests them on the other), each with its accuracy change, paired interval and McNemar
  p-value measured on the held-out half — a regression in a region no group names.

``--fail-on`` rules like the scan's gate apply to it (``monitor.compare:negative_flip_rate >
0.02``; ``any fail``).

References
----------
Yan et al., "Positive-congruent training: towards regression-free model updates", CVPR
2021 (negative flips). McNemar, "Note on the sampling error of the difference between
correlated proportions or percentages", Psychometrika 12 (1947).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from trustbench.errors import InputError
from trustbench.findings import Finding, Metric
from trustbench.metrics import paired_difference, wilson_interval
from trustbench.monitor.tags import PERFORMANCE

__all__ = ["compare_versions", "encode_features", "slice_changes"]


def _rate(k: int, n: int) -> Metric:
    return Metric(k / n if n else float("nan"), wilson_interval(k, n), "fraction")


def compare_versions(proba_a: np.ndarray, proba_b: np.ndarray, *, y_true: Any = None,
                     groups: Any = None, features: Any = None, n_boot: int = 1000,
                     min_group: int = 20,
                     seed: int = 0, names: tuple[str, str] = ("a", "b"),
                     id: str = "monitor.compare") -> Finding:
    """Compare model ``a`` (the old) and ``b`` (the new) on the same rows.

    Parameters
    ----------
    proba_a, proba_b
        (n, C) class probabilities of the two models on the same rows.
    y_true
        (n,) class indices, or ``None`` (shadow mode: flips only).
    groups
        (n,) group of each row, or ``None``.
    features
        A DataFrame of the rows' features (numeric or categorical columns), or ``None``:
        with labels, the slices where negative flips concentrate are looked for in it.
    n_boot, min_group, seed
        Bootstrap resamples for group intervals; smallest group compared; their seed.
    names
        The two versions' names, for the title.
    id
        The finding's id.
    """
    from trustbench.metrics.groups import by_group

    pa, pb = np.asarray(proba_a, dtype=np.float64), np.asarray(proba_b, dtype=np.float64)
    if pa.ndim != 2 or pa.shape != pb.shape:
        raise InputError(f"the two models' probabilities differ in shape: {pa.shape} and "
                         f"{pb.shape}", fix="give both models' probabilities on the same rows, "
                         "one column per class")
    n = len(pa)
    if n == 0:
        raise InputError("no rows to compare the two models on")
    a, b = pa.argmax(1), pb.argmax(1)
    flips = a != b
    metrics = {"flip_rate": _rate(int(flips.sum()), n), "n": Metric(n, unit="count")}
    evidence: dict[str, Any] = {"versions": list(names)}
    title = f"{names[1]} against {names[0]}: {flips.mean():.1%} of predictions changed"
    severity = "info"
    if groups is not None:
        groups = np.asarray(groups, dtype=object)
        if len(groups) != n:
            raise InputError(f"{len(groups)} group values for {n} rows")
    if y_true is not None:
        y = np.asarray(y_true)
        if len(y) != n:
            raise InputError(f"{len(y)} labels for {n} rows")
        if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= pa.shape[1]:
            raise InputError(f"labels must be class indices in [0, {pa.shape[1] - 1}]")
        right_a, right_b = a == y, b == y
        negative, positive = int((right_a & ~right_b).sum()), int((~right_a & right_b).sum())
        ci, p = paired_difference(right_a, right_b)
        delta = float(right_b.mean() - right_a.mean())
        metrics.update(negative_flip_rate=_rate(negative, n), positive_flip_rate=_rate(positive, n),
                       accuracy_a=_rate(int(right_a.sum()), n),
                       accuracy_b=_rate(int(right_b.sum()), n),
                       accuracy_change=Metric(delta, ci, "fraction"), mcnemar_p=Metric(p))
        title = (f"{names[1]} against {names[0]}: accuracy {delta:+.1%} (p={p:.2g}), "
                 f"{negative / n:.1%} of rows newly wrong")
        if ci[1] < 0:
            severity = "warn"  # significantly worse overall
        if groups is not None:
            gm = by_group({"change": right_b.astype(float) - right_a.astype(float)}, None, None,
                          groups, n_boot=n_boot, min_size=min_group, seed=seed)
            ch = gm["change"]
            ok = ~gm.too_small
            worst = int(np.argmin(np.where(ok, ch.values, np.inf))) if ok.any() else None
            evidence["groups"] = {"labels": list(gm.groups), "n": gm.n.tolist(),
                                  "accuracy_change": ch.values.tolist(),
                                  "ci": ch.ci.tolist()}
            if worst is not None:
                metrics["worst_group_change"] = Metric(float(ch.values[worst]),
                                                       tuple(ch.ci[worst].tolist()), "fraction")
                evidence["worst_group"] = gm.groups[worst]
                if ch.ci[worst][1] < 0:
                    severity = "warn"  # a group significantly worse, whatever the headline
                    title += f"; group {gm.groups[worst]!r} {ch.values[worst]:+.1%}"
        if features is not None:
            slices = slice_changes(features, right_a, right_b, seed=seed)
            evidence["slices"] = slices
            worse = [c for c in slices if c["worse"]]
            if worse:
                severity = "warn"  # a region significantly worse on rows it was not found on
                title += f"; where {worse[0]['rule']}: {worse[0]['accuracy_change']:+.1%}"
                metrics["worst_slice_change"] = Metric(worse[0]["accuracy_change"],
                                                       tuple(worse[0]["ci"]), "fraction")
    elif groups is not None:  # shadow mode: where do the flips concentrate?
        gm = by_group({"flips": flips.astype(float)}, None, None, groups, n_boot=n_boot,
                      min_size=min_group, seed=seed)
        evidence["groups"] = {"labels": list(gm.groups), "n": gm.n.tolist(),
                              "flip_rate": gm["flips"].values.tolist(),
                              "ci": gm["flips"].ci.tolist()}
    return Finding(
        id=id, title=title, severity=severity, metrics=metrics, tags=PERFORMANCE,
        detail="Flip and negative-flip rates with Wilson intervals; the accuracy change with "
               "its paired interval and McNemar's exact p-value; per-group changes with "
               "stratified bootstrap intervals; slices where negative flips concentrate, "
               "found on one half of the rows and measured on the other. Warns when the new "
               "model is significantly worse overall, in a group or in a slice.",
        evidence=evidence)


def encode_features(frame: Any) -> tuple[np.ndarray, list[str], dict[int, list[Any]]]:
    """``(x, names, categories)`` of a DataFrame for :func:`~trustbench.metrics.weakest_slices`.

    Numeric and bool columns as floats; any other column as the codes of its sorted values
    (missing values as NaN), with ``categories`` mapping the column to those values.
    """
    import pandas as pd

    cols, cats = [], {}
    for j, c in enumerate(frame.columns):
        s = frame[c]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            cols.append(s.to_numpy(np.float64, na_value=np.nan))
            continue
        codes, values = pd.factorize(s.astype("string"), sort=True)
        cols.append(np.where(codes < 0, np.nan, codes).astype(np.float64))
        cats[j] = [str(v) for v in values]
    x = np.stack(cols, axis=1) if cols else np.zeros((len(frame), 0))
    return x, [str(c) for c in frame.columns], cats


def slice_changes(features: Any, right_a: np.ndarray, right_b: np.ndarray, *, k: int = 3,
                  alpha: float = 0.05, seed: int = 0) -> list[dict[str, Any]]:
    """Return the slices where the new model's negative flips concentrate, and its change there.

    :func:`~trustbench.metrics.weakest_slices` finds up to ``k`` regions of ``features``
    where "right before, wrong now" is significantly more common (tree on a seeded half,
    Fisher's test on the other); each is measured on its held-out rows: the accuracy
    change, its paired interval and McNemar's p-value. ``worse`` marks a change below zero
    with ``p < alpha / k`` (Bonferroni over the slices looked at).
    """
    from trustbench.metrics import weakest_slices

    right_a, right_b = np.asarray(right_a, bool), np.asarray(right_b, bool)
    x, names, cats = encode_features(features)
    if x.shape[1] == 0:
        return []
    negative = right_a & ~right_b
    report = weakest_slices(x, ~negative, feature_names=names, categories=cats, k=k,
                            alpha=alpha, seed=seed)
    out = []
    for sl in report.weakest:
        a, b = right_a[sl.rows], right_b[sl.rows]
        ci, p = paired_difference(a, b)
        change = float(b.mean() - a.mean()) if len(a) else float("nan")
        out.append({"rule": sl.rule, "n": len(a), "negative_flip_rate": 1 - sl.accuracy,
                    "accuracy_change": change, "ci": [float(ci[0]), float(ci[1])],
                    "mcnemar_p": p, "worse": bool(change < 0 and p < alpha / k)})
    return out
