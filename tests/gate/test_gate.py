"""Regression gate: rule parsing, like-for-like comparison, paired tests, decisions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from trustbench.errors import InputError
from trustbench.findings import Finding, Metric
from trustbench.gate import apply_gate, compare_scorecards, parse_rule
from trustbench.metrics import pack_bools, unpack_bools, wilson_interval
from trustbench.scorecard import Scorecard


def card(correct: np.ndarray, robust: np.ndarray, *, ece: float = 0.03, data_fp: str = "d1",
         severity: str = "info", n_attacks: int = 1) -> Scorecard:
    n = len(correct)
    k, r = int(correct.sum()), int(robust.sum())
    findings = [
        Finding("accuracy.clean", "clean", "info",
                {"accuracy": Metric(k / n, wilson_interval(k, n), "fraction"),
                 "n": Metric(n, unit="count")}, evidence={"correct": pack_bools(correct)}),
        Finding("robustness.worst.linf.0.1", "worst", severity,
                {"robust_accuracy": Metric(r / n, wilson_interval(r, n), "fraction")},
                evidence={"robust": pack_bools(robust)}),
        Finding("robustness.pgd.linf.0.1", "pgd", "info",
                {"robust_accuracy": Metric(r / n, wilson_interval(r, n), "fraction"),
                 "wall_time": Metric(1.0 * n_attacks, unit="seconds")}),
        Finding("calibration.clean", "ece", "info", {"ece": Metric(ece, (ece - 0.01, ece + 0.01))}),
    ]
    prov = {"data": {"fingerprint": data_fp}, "model": {"fingerprint": "m", "description": "M"},
            "config": {"norm": "linf", "seed": 0, "n": None}}
    return Scorecard(findings, prov, [])


@pytest.fixture
def outcomes() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    correct = rng.random(400) < 0.95
    robust = correct & (rng.random(400) < 0.6)
    return correct, robust


def test_pack_bools_round_trip() -> None:
    for n in (0, 1, 7, 8, 9, 1001):
        v = np.random.default_rng(n).random(n) < 0.5
        assert np.array_equal(unpack_bools(pack_bools(v)), v)
    assert unpack_bools({"encoding": "packbits-base64", "n": 3, "data": "!!"}) is None
    assert unpack_bools(None) is None


@pytest.mark.parametrize("text, kind, key", [
    ("any fail", "any", ""),
    ("new warn", "new", ""),
    ("robust_acc@linf:0.1 drop > 2pt", "change", "robustness.worst.linf.0.1:robust_accuracy"),
    ("robust_acc[apgd-ce]@l2:0.50 drop > 5%", "change", "robustness.apgd-ce.l2.0.5:robust_accuracy"),
    ("ece increase > 0.02", "change", "calibration.clean:ece"),
    ("accuracy < 0.9", "absolute", "accuracy.clean:accuracy"),
    ("shift.fog:accuracy@5 <= 0.5", "absolute", "shift.fog:accuracy@5"),
])
def test_parse_rule(text: str, kind: str, key: str) -> None:
    r = parse_rule(text)
    assert (r.kind, r.key) == (kind, key)


@pytest.mark.parametrize("text", ["drop robust", "accuracy << 3", "nonsense > 1", "any error",
                                  "robust_acc@linf:abc drop > 1pt", ""])
def test_bad_rules_name_the_rule(text: str) -> None:
    with pytest.raises(InputError, match="--fail-on"):
        parse_rule(text)


def test_same_card_passes_and_paired_delta_is_zero(outcomes) -> None:
    c, r = outcomes
    cur, base = card(c, r), card(c, r)
    gate = apply_gate(cur, baseline=base, rules=["any fail", "robust_acc@linf:0.1 drop > 0pt",
                                                 "accuracy drop > 0pt significant"])
    assert not gate.failed
    d = gate.comparison.get("robustness.worst.linf.0.1", "robust_accuracy")
    assert d.delta == 0 and d.ci == (0.0, 0.0) and d.p_value == 1.0 and "McNemar" in d.method
    assert gate.comparison.get("robustness.pgd.linf.0.1", "wall_time") is None  # costs not compared
    assert cur.get("gate.result").severity == "info"


def test_degraded_model_fails_with_reasons(outcomes) -> None:
    c, r = outcomes
    worse = r.copy()
    worse[np.flatnonzero(r)[:30]] = False  # 30 of 400 points lose robustness: -7.5 points
    cur = card(c, worse)
    gate = apply_gate(cur, baseline=card(c, r),
                      rules=["robust_acc@linf:0.1 drop > 2pt significant", "accuracy drop > 1pt"])
    assert [g.rule.text for g in gate.failed] == ["robust_acc@linf:0.1 drop > 2pt significant"]
    d = gate.comparison.get("robustness.worst.linf.0.1", "robust_accuracy")
    assert math.isclose(d.delta, -30 / 400)
    assert d.ci[1] < 0 and d.p_value < 1e-6 and d.significantly_worse
    g = cur.get("gate.result")
    assert g.severity == "fail" and cur.verdict == "fail" and "drop limit 0.02" in g.detail
    assert cur.get("baseline.comparison").metrics["significant_regressions"].value >= 1


def test_other_data_is_refused_unless_allowed(outcomes) -> None:
    c, r = outcomes
    with pytest.raises(InputError, match="not like for like: they evaluated different data"):
        apply_gate(card(c, r, data_fp="other"), baseline=card(c, r), rules=["accuracy drop > 1pt"])


def test_unpaired_when_data_differs(outcomes) -> None:
    c, r = outcomes
    gate = apply_gate(card(c, r, data_fp="other"), baseline=card(c, r), allow_mismatch=True)
    d = gate.comparison.get("accuracy.clean", "accuracy")
    assert "Newcombe" in d.method and d.p_value is None and d.ci[0] < 0 < d.ci[1]
    assert not gate.comparison.comparable
    assert gate.comparison.caveats() and any("different data" in c for c in gate.comparison.caveats())
    f = next(f for f in gate.comparison.deltas if f.metric == "ece")
    assert f.better == "lower"


def test_relative_and_absolute_thresholds(outcomes) -> None:
    c, r = outcomes
    cur = card(c, r, ece=0.10)
    res = apply_gate(cur, baseline=card(c, r, ece=0.03),
                     rules=["ece increase > 0.05", "ece increase > 300%", "ece > 0.2"]).results
    assert [x.fired for x in res] == [True, False, False]


def test_missing_metric_is_an_error_not_a_pass(outcomes) -> None:
    c, r = outcomes
    with pytest.raises(InputError, match=r"no robustness\.worst\.linf\.0\.3"):
        apply_gate(card(c, r), rules=["robust_acc@linf:0.3 < 0.5"])
    with pytest.raises(InputError, match="baseline"):
        apply_gate(card(c, r), rules=["accuracy drop > 1pt"])


def test_any_and_new_warn(outcomes) -> None:
    c, r = outcomes
    res = apply_gate(card(c, r, severity="warn"), baseline=card(c, r),
                     rules=["any fail", "any warn", "new warn"]).results
    assert [x.fired for x in res] == [False, True, True]
    assert "robustness.worst.linf.0.1" in res[2].reason


def test_mcnemar_matches_scipy_exact_binomial() -> None:
    from scipy.stats import binomtest

    a = np.array([True] * 50 + [False] * 50)
    b = a.copy()
    b[:12] = False  # 12 lost
    b[50:53] = True  # 3 gained
    d = compare_scorecards(card(b, b), card(a, a)).get("accuracy.clean", "accuracy")
    assert math.isclose(d.delta, -9 / 100)
    assert math.isclose(d.p_value, binomtest(3, 15, 0.5).pvalue)


@pytest.mark.parametrize("metric, better", [
    ("accuracy", "higher"), ("accuracy@3", "higher"), ("robust_accuracy", "higher"),
    ("accuracy_worst_group", "higher"), ("accuracy_ratio", "higher"), ("auroc", "higher"),
    ("accuracy_gap", "lower"), ("robust_accuracy_eps=0.1_gap", "lower"), ("ece", "lower"),
    ("ece@5", "lower"), ("mCE", "lower"), ("relative_mCE", "lower"), ("ce", "lower"),
    ("mean_corruption_error", "lower"), ("fpr_at_95_tpr", "lower"), ("temperature", ""),
])
def test_which_way_is_better(metric: str, better: str) -> None:
    from trustbench.gate.compare import better_direction

    assert better_direction(metric) == better


def test_group_aliases_match_the_subgroup_check(outcomes) -> None:
    c, r = outcomes
    base, cur = card(c, r), card(c, r)
    for sc, worst, gap in ((base, 0.9, 0.05), (cur, 0.8, 0.15)):
        sc.findings.append(Finding("subgroups.sex", "groups", "info", {
            "accuracy_worst_group": Metric(worst, (worst - 0.02, worst + 0.02), "fraction"),
            "accuracy_gap": Metric(gap, (gap - 0.02, gap + 0.02), "fraction")}))
    res = apply_gate(cur, baseline=base, rules=["worst_group_acc drop > 5pt",
                                               "group_gap increase > 5pt",
                                               "worst_group_acc < 0.85"]).results
    assert [x.fired for x in res] == [True, True, True]
    assert res[1].reason.startswith("subgroups.sex:accuracy_gap")
