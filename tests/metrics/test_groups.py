"""by_group: planted gaps are found with CIs that exclude 0, identical groups raise no
false alarm, tiny and missing groups are flagged, and the bootstrap CIs cover the truth."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trustbench.errors import InputError
from trustbench.metrics.calibration import expected_calibration_error
from trustbench.metrics.groups import MISSING, MetricByGroup, by_group, encode_groups


def _planted(n: int, p: dict[str, float], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points per group, each correct with the group's probability."""
    rng = np.random.default_rng(seed)
    groups = np.repeat(list(p), n)
    correct = rng.random(len(groups)) < np.repeat(list(p.values()), n)
    return correct, groups


def test_planted_gap_is_found_with_ci_excluding_zero() -> None:
    correct, groups = _planted(200, {"A": 0.95, "B": 0.6}, seed=0)
    acc = by_group({"accuracy": correct}, None, None, groups, n_boot=500)["accuracy"]
    assert (acc.worst_group, acc.best_group) == ("B", "A")
    assert acc.values == pytest.approx([correct[:200].mean(), correct[200:].mean()])
    assert acc.gap == pytest.approx(acc.values[0] - acc.values[1])
    assert acc.gap_ci[0] > 0.2 and acc.gap_ci[0] < acc.gap < acc.gap_ci[1]
    assert acc.ratio == pytest.approx(acc.values[1] / acc.values[0])
    assert acc.ratio_ci[1] < 0.8
    assert acc.worst_ci == pytest.approx(tuple(acc.ci[1]))
    assert acc.overall == pytest.approx(correct.mean())


def test_identical_groups_rarely_show_a_gap_above_the_margin() -> None:
    alarms = 0
    for seed in range(20):
        correct, groups = _planted(150, {"a": 0.8, "b": 0.8, "c": 0.8}, seed=seed)
        acc = by_group({"accuracy": correct}, None, None, groups, n_boot=200, seed=seed)
        alarms += acc["accuracy"].gap_ci[0] > 0.05
    assert alarms <= 1


def test_gap_ci_of_identical_groups_reaches_zero_and_never_below() -> None:
    # the pair is fixed on the full data, so the bootstrap gap is not forced positive; the
    # interval is clipped to the gap's domain (a difference best minus worst is >= 0)
    lows, ratio_highs = [], []
    for seed in range(10):
        correct, groups = _planted(200, {"a": 0.7, "b": 0.7}, seed=seed)
        m = by_group({"a": correct}, None, None, groups, n_boot=200)["a"]
        lows.append(m.gap_ci[0])
        ratio_highs.append(m.ratio_ci[1])
    assert np.mean(np.array(lows) == 0) >= 0.7 and min(lows) >= 0
    assert max(ratio_highs) <= 1.0


def test_bootstrap_cis_cover_the_true_values() -> None:
    p = {"a": 0.8, "b": 0.6}
    cover_group = cover_gap = 0
    sims = 50
    for seed in range(sims):
        correct, groups = _planted(60, p, seed=100 + seed)
        acc = by_group({"accuracy": correct}, None, None, groups, n_boot=300, seed=seed)
        m = acc["accuracy"]
        cover_group += m.ci[0, 0] <= p["a"] <= m.ci[0, 1]
        truth = p[m.best_group] - p[m.worst_group]
        cover_gap += m.gap_ci[0] <= truth <= m.gap_ci[1]
    assert cover_group / sims >= 0.85
    assert cover_gap / sims >= 0.85


def test_tiny_group_is_flagged_and_kept_out_of_worst_and_gap() -> None:
    correct, groups = _planted(100, {"a": 0.9, "b": 0.7}, seed=1)
    correct = np.r_[correct, np.zeros(5, bool)]
    groups = np.r_[groups, ["tiny"] * 5]
    gm = by_group({"accuracy": correct}, None, None, groups, n_boot=100)
    assert gm.groups == ("a", "b", "tiny")
    assert gm.n.tolist() == [100, 100, 5]
    assert gm.too_small.tolist() == [False, False, True]
    assert gm["accuracy"].values[2] == 0.0  # reported, not dropped
    assert gm["accuracy"].worst_group == "b"


def test_result_shape_does_not_depend_on_the_input() -> None:
    one = by_group({"accuracy": np.ones(30, bool)}, None, None, ["x"] * 30, n_boot=50)
    m = one["accuracy"]
    assert m.values.shape == (1,) and m.ci.shape == (1, 2)
    assert m.worst_group is None and np.isnan(m.gap) and np.isnan(m.gap_ci[0])
    two = by_group({"accuracy": np.ones(60, bool)}, None, None, ["x", "y"] * 30, n_boot=50)
    assert [f.name for f in fields(MetricByGroup)] == list(vars(m)) == list(vars(two["accuracy"]))


def test_missing_labels_form_their_own_group_listed_last() -> None:
    enc = encode_groups(np.array(["b", None, "a", float("nan"), "nan", "a"], dtype=object))
    assert enc.labels == ["a", "b", MISSING]
    assert enc.codes.tolist() == [1, 2, 0, 2, 2, 0]


def test_numeric_column_with_many_values_is_binned_and_text_rejected() -> None:
    ages = np.arange(18, 78).astype(str)  # as read from a CSV: text that holds numbers
    enc = encode_groups(ages, max_groups=20, n_bins=3)
    assert enc.binned and len(enc.labels) == 3
    assert enc.labels[0].startswith("[18,") and enc.labels[-1].endswith("77]")
    assert np.bincount(enc.codes).tolist() == [20, 20, 20]
    assert encode_groups(np.array([True, False])).labels == ["False", "True"]
    few = encode_groups(np.array([2, 1, 2, 10]))
    assert not few.binned and few.labels == ["1", "2", "10"]  # numeric order
    with pytest.raises(InputError, match="max_groups=20"):
        encode_groups([f"id{i}" for i in range(30)])


def test_function_metrics_match_per_point_means_and_lower_is_better() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 300)
    groups = np.repeat(["a", "b", "c"], 100)
    conf = np.where(groups == "b", 0.99, 0.75)  # b is overconfident
    right = rng.random(300) < 0.75
    pred = np.where(right, y, 1 - y)
    scores = np.zeros((300, 2))
    scores[np.arange(300), pred] = conf
    scores[np.arange(300), 1 - pred] = 1 - conf
    gm = by_group({"acc": lambda t, s: float(np.mean(s.argmax(1) == t)),
                   "acc_points": pred == y,
                   "ece": expected_calibration_error},  # f(y_true, scores) as it is
                  y, scores, groups, lower_is_better=("ece",), n_boot=100, seed=5)
    assert gm["acc"].values == pytest.approx(gm["acc_points"].values)
    assert gm["acc"].ci == pytest.approx(gm["acc_points"].ci)  # the same resamples
    ece = gm["ece"]
    assert not ece.higher_is_better and ece.worst_group == "b"
    assert ece.gap == pytest.approx(ece.worst - min(ece.values[0], ece.values[2]))
    assert ece.ratio < 1


def test_seeded_and_deterministic() -> None:
    correct, groups = _planted(50, {"a": 0.8, "b": 0.5}, seed=2)
    a = by_group({"m": correct}, None, None, groups, n_boot=100, seed=7)
    b = by_group({"m": correct}, None, None, groups, n_boot=100, seed=7)
    c = by_group({"m": correct}, None, None, groups, n_boot=100, seed=8)
    assert a["m"].gap_ci == b["m"].gap_ci
    assert a["m"].gap_ci != c["m"].gap_ci


def test_bad_input_raises_named_errors() -> None:
    with pytest.raises(InputError, match="'m': 3 per-point values"):
        by_group({"m": np.ones(3)}, None, None, ["a"] * 4)
    with pytest.raises(InputError, match="pass y_true and y_pred"):
        by_group({"f": lambda t, p: 0.0}, None, None, ["a"] * 4)
    with pytest.raises(InputError, match="n_boot"):
        by_group({"m": np.ones(4)}, None, None, ["a"] * 4, n_boot=0)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("abc"), st.booleans()), min_size=2, max_size=60))
def test_invariants(points: list[tuple[str, bool]]) -> None:
    groups = [g for g, _ in points]
    correct = np.array([c for _, c in points])
    m = by_group({"m": correct}, None, None, groups, n_boot=20, min_size=1)["m"]
    assert m.values.shape == (len(set(groups)),)
    assert np.all((m.values >= 0) & (m.values <= 1))
    if m.worst_group is not None:
        assert m.gap >= 0
        assert m.worst <= m.overall + 1e-12 <= m.worst + m.gap + 2e-12
        assert 0 <= m.ratio <= 1 or np.isnan(m.ratio)


def test_tied_groups_name_a_different_best_group() -> None:
    import numpy as np

    from trustbench.metrics import by_group

    correct = np.ones(100, dtype=bool)
    groups = np.array(["a"] * 50 + ["b"] * 50)
    m = by_group({"accuracy": correct}, None, None, groups, n_boot=50)["accuracy"]
    assert {m.worst_group, m.best_group} == {"a", "b"} and m.gap == 0
