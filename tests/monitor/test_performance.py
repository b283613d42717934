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


# -- alarms: a fall in accuracy, overall or in a group ----------------------------------------

def _window(n: int, accuracy: float, seed: int, groups: np.ndarray | None = None,
            group_accuracy: dict[str, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Labels and two-class probabilities whose argmax is right with ``accuracy``."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    acc = np.full(n, accuracy)
    for g, a in (group_accuracy or {}).items():
        acc[groups == g] = a
    pred = np.where(rng.random(n) < acc, y, 1 - y)
    conf = rng.uniform(0.55, 0.95, n)
    return y, np.stack([np.where(pred == 0, conf, 1 - conf), np.where(pred == 1, conf, 1 - conf)], 1)


def _baseline(n: int, accuracy: float, seed: int = 99, groups: np.ndarray | None = None,
              ) -> dict:
    from trustbench.monitor.performance import reference_baseline

    y, p = _window(n, accuracy, seed, groups)
    return reference_baseline(y, p, groups)


def test_accuracy_drop_is_the_pooled_two_proportion_test() -> None:
    from scipy import stats

    from trustbench.monitor.performance import accuracy_drop

    drop, p = accuracy_drop((2000, 1800), (400, 340))
    pooled = 2140 / 2400
    z = 0.05 / np.sqrt(pooled * (1 - pooled) * (1 / 2000 + 1 / 400))
    assert drop == pytest.approx(0.05) and p == pytest.approx(stats.norm.sf(z))
    assert accuracy_drop((0, 0), (10, 5)) == (pytest.approx(np.nan, nan_ok=True), 1.0)
    assert accuracy_drop((100, 100), (50, 50))[1] == 1.0  # nothing fell


def test_a_model_that_holds_its_accuracy_rarely_alarms_in_any_window() -> None:
    """Windows from the reference's accuracy: over 200 streams of 100 windows of 200 labelled
    rows (20,000 window checks), at most 5% of streams ever alarm."""
    from trustbench.monitor.performance import ALARM_ALPHA, MIN_DROP, accuracy_drop

    ref = (20_000, 17_000)  # 85%
    rng = np.random.default_rng(0)
    correct = rng.binomial(200, 0.85, size=(200, 100))
    alarmed = [any(d >= MIN_DROP and p <= ALARM_ALPHA
                   for d, p in (accuracy_drop(ref, (200, int(k))) for k in stream))
               for stream in correct]
    assert np.mean(alarmed) <= 0.05


@pytest.mark.parametrize(("n", "fall"), [(500, 0.10), (1000, 0.08)])
def test_a_real_fall_in_accuracy_alarms(n: int, fall: float) -> None:
    base = _baseline(20_000, 0.85)
    hits = 0
    for seed in range(20):
        y, p = _window(n, 0.85 - fall, seed)
        (perf,) = window_performance(y, p, baseline=base, n_boot=20)
        hits += perf.severity == "fail"
        if perf.severity == "fail":
            assert "fell to" in perf.title and perf.metrics["drop"].value > 0.02
    assert hits >= 18


def test_a_trivial_fall_on_many_rows_is_significant_but_no_alarm() -> None:
    base = _baseline(200_000, 0.85)
    y, p = _window(100_000, 0.83, seed=1)  # two points: far below --min-drop's 5
    (perf,) = window_performance(y, p, baseline=base, n_boot=10)
    assert perf.metrics["p_value"].value < 1e-6 and perf.severity == "info"
    (perf,) = window_performance(y, p, baseline=base, n_boot=10, min_drop=0.01)
    assert perf.severity == "fail"


def test_a_fall_in_one_group_alarms_as_fairness_when_the_whole_hides_it() -> None:
    rng = np.random.default_rng(3)
    ref_groups = rng.choice(["north", "south", "east", "west"], 20_000, p=[0.4, 0.3, 0.2, 0.1])
    base = _baseline(20_000, 0.85, groups=ref_groups)
    groups = rng.choice(["north", "south", "east", "west"], 3000, p=[0.4, 0.3, 0.2, 0.1])
    y, p = _window(3000, 0.85, seed=4, groups=groups, group_accuracy={"west": 0.6})
    perf, fair = window_performance(y, p, groups=groups, baseline=base, n_boot=50)
    assert perf.severity == "info"  # overall: about 2.5 points down, below the minimum
    assert fair.severity == "fail" and "'west'" in fair.title and "'north'" not in fair.title
    assert [f["group"] for f in fair.evidence["fell"]] == ["west"]
    # the same window without the fall: no alarm
    y, p = _window(3000, 0.85, seed=4, groups=groups)
    _, fair = window_performance(y, p, groups=groups, baseline=base, n_boot=50)
    assert fair.severity == "info" and "fell" not in fair.evidence


def test_without_a_baseline_nothing_alarms() -> None:
    y, p = _window(1000, 0.3, seed=0)
    (perf,) = window_performance(y, p, n_boot=10)
    assert perf.severity == "info" and "drop" not in perf.metrics
