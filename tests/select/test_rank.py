"""Win, loss or tie with intervals; the Pareto front; HELM's mean win rate; requirements."""

from __future__ import annotations

import math

import pytest

from trustbench.errors import InputError
from trustbench.scorecard import Scorecard
from trustbench.select.criteria import Value, criteria_of, criterion, scan_values
from trustbench.select.rank import (
    compare,
    dominates,
    mean_win_rate,
    pareto_front,
    parse_requirement,
    parse_weight,
)

ACC = criterion("clean_acc")
LAT = criterion("latency_ms")


def test_overlapping_intervals_are_a_tie_never_a_win() -> None:
    assert compare(Value(0.90, (0.85, 0.95)), Value(0.88, (0.83, 0.93)), ACC) == 0
    assert compare(Value(0.95, (0.93, 0.97)), Value(0.80, (0.75, 0.85)), ACC) == 1
    assert compare(Value(0.80, (0.75, 0.85)), Value(0.95, (0.93, 0.97)), ACC) == -1
    # lower is better for latency; exact values (no interval) compare by value
    assert compare(Value(2.0), Value(3.0), criterion("size_mb")) == 1
    assert compare(Value(2.0, (1.9, 2.1)), Value(3.0, (2.9, 3.1)), LAT) == 1


def _table() -> dict[str, dict[str, Value]]:
    return {
        "accurate": {"clean_acc": Value(0.98, (0.97, 0.99)), "latency_ms": Value(5.0, (4.9, 5.1))},
        "fast": {"clean_acc": Value(0.90, (0.88, 0.92)), "latency_ms": Value(1.0, (0.9, 1.1))},
        "worse": {"clean_acc": Value(0.89, (0.87, 0.91)), "latency_ms": Value(6.0, (5.9, 6.1))},
        "tied": {"clean_acc": Value(0.975, (0.96, 0.99)), "latency_ms": Value(5.0, (4.9, 5.1))},
    }


def test_pareto_front_and_dominance() -> None:
    v = _table()
    assert dominates(v["accurate"], v["worse"], [ACC, LAT])
    assert not dominates(v["accurate"], v["tied"], [ACC, LAT])  # ties everywhere
    assert pareto_front(v, [ACC, LAT]) == ["accurate", "fast", "tied"]


def test_mean_win_rate_by_hand_and_with_weights() -> None:
    v = _table()
    win = mean_win_rate(v, [ACC, LAT])
    # accurate: accuracy beats fast, worse; ties tied -> 2.5/3; latency beats worse, loses to
    # fast, ties tied -> 1.5/3; mean (2.5 + 1.5) / 6
    assert win["accurate"] == pytest.approx(4 / 6)
    assert win["worse"] == pytest.approx((0.5 / 3 + 0) / 2)
    weighted = mean_win_rate(v, [ACC, LAT], {"latency_ms": 3.0})
    assert weighted["fast"] > win["fast"]
    assert math.isnan(mean_win_rate({"only": v["fast"]}, [ACC])["only"])


def test_requirements_and_weights_parse_with_clear_errors() -> None:
    r = parse_requirement("robust_acc@linf:0.10 >= 0.6")
    assert r.criterion.key == "robust_acc@linf:0.1" and r.op == ">=" and r.threshold == 0.6
    assert r.holds(Value(0.6)) and not r.holds(Value(0.59)) and not r.holds(None)
    assert parse_requirement("latency_ms<=5").criterion.key == "latency_ms"
    assert parse_weight("ece=2") == ("ece", 2.0)
    for bad, needle in (("accuracy", "CRITERION OP NUMBER"), ("speed > 1", "unknown criterion"),
                        ("ece < 1e999", "finite"), ("robust_acc@linf:-1 > 0", "unknown")):
        with pytest.raises(InputError, match=needle):
            parse_requirement(bad)
    for bad in ("ece", "ece=-1", "ece=x"):
        with pytest.raises(InputError, match="CRITERION=WEIGHT"):
            parse_weight(bad)


def test_scan_values_read_a_scorecard() -> None:
    from trustbench.findings import Finding, Metric

    card = Scorecard([
        Finding("accuracy.clean", "t", "info", metrics={"accuracy": Metric(0.9, (0.85, 0.94))}),
        Finding("robustness.worst.linf.0.1", "t", "info",
                metrics={"robust_accuracy": Metric(0.5, (0.4, 0.6))}),
        Finding("calibration.clean", "t", "info", metrics={"ece": Metric(0.03, (0.02, 0.05))}),
        Finding("subgroups.groups", "t", "info",
                metrics={"accuracy_worst_group": Metric(0.7, (0.6, 0.8))})])
    v = scan_values(card)
    assert v["robust_acc@linf:0.1"].ci == (0.4, 0.6)
    assert set(v) == {"clean_acc", "robust_acc@linf:0.1", "ece", "worst_group_acc"}
    keys = [c.key for c in criteria_of({"a": v, "b": {**v, "mca": Value(0.5)}})]
    assert keys == ["clean_acc", "robust_acc@linf:0.1", "ece", "worst_group_acc"]
