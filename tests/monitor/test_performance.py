from __future__ import annotations

import numpy as np
import pytest

from trustbench.errors import InputError
from trustbench.monitor.performance import window_performance


def test_performance_of_a_window_matches_hand_counts() -> None:
    y = np.array([0, 0, 1, 1, 1, 0, 1, 0])
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [0.4, 0.6], [0.6, 0.4],
                      [0.7, 0.3], [0.1, 0.9], [0.8, 0.2]])
    (perf,) = window_performance(y, proba, n_boot=50)
    assert perf.id == "monitor.performance"
    assert perf.metrics["accuracy"].value == 6 / 8
    # class 0: tp 3, fp 1, fn 1 -> 0.75; class 1: tp 3, fp 1, fn 1 -> 0.75
    assert perf.metrics["f1_macro"].value == pytest.approx(0.75)
    lo, hi = perf.metrics["accuracy"].ci
    assert lo < 0.75 < hi
    assert "MEASURE 2.4" in perf.tags.subcategories


def test_a_planted_fairness_gap_is_measured_with_its_interval() -> None:
    rng = np.random.default_rng(0)
    n = 4000
    group = rng.choice(["a", "b"], n)
    y = rng.integers(0, 2, n)
    # group b: the model predicts the positive class 30 points more often, right or wrong
    flip = (group == "b") & (y == 0) & (rng.random(n) < 0.3)
    pred = np.where(flip, 1, y)
    proba = np.stack([1 - pred * 0.8 - 0.1, pred * 0.8 + 0.1], 1)
    _, fair = window_performance(y, proba, groups=group, n_boot=200)
    assert fair.id == "monitor.fairness"
    eod = fair.metrics["equalized_odds_difference"]  # FPR: 0 in a, 0.3 in b
    assert eod.value == pytest.approx(0.3, abs=0.04) and eod.ci[0] > 0.2
    dpd = fair.metrics["demographic_parity_difference"]  # about half of 0.3
    assert dpd.value == pytest.approx(0.15, abs=0.04) and dpd.ci[0] > 0.08
    assert fair.metrics["worst_group_accuracy"].value == pytest.approx(0.85, abs=0.03)
    assert "'b'" in fair.title and "MEASURE 2.11" in fair.tags.subcategories


def test_bad_labels_are_named() -> None:
    proba = np.full((3, 2), 0.5)
    with pytest.raises(InputError, match="class indices in \\[0, 1\\]"):
        window_performance(np.array([0, 1, 2]), proba)
    with pytest.raises(InputError, match="2 labels for probabilities of shape"):
        window_performance(np.array([0, 1]), proba)
    with pytest.raises(InputError, match="group values"):
        window_performance(np.array([0, 1, 1]), proba, groups=["a"])
