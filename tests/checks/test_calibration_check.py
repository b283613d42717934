"""The calibration check: clean metrics, a fitted temperature and calibration under attack."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from trustbench import Dataset, ScanConfig, Schema
from trustbench.attacks import AttackResult
from trustbench.checks.calibration import (
    ECE_WARN,
    _split_half,
    calibration_checks,
    class_scores,
    to_probabilities,
)
from trustbench.checks.products import AttackRuns
from trustbench.checks.robustness import adversarial_robustness
from trustbench.data import load_builtin
from trustbench.metrics.calibration import (
    brier_score,
    expected_calibration_error,
    negative_log_likelihood,
)
from trustbench.models import TorchModel
from trustbench.scan import prepare
from trustbench.testing.toy import toy_blobs, toy_digits_mlp, toy_mlp


def _digits_ctx(**kw: object):
    cfg = ScanConfig(**({"attacks": ["fgsm"], "eps": [0.03, 0.1], "seed": 0} | kw))  # type: ignore[arg-type]
    return prepare(toy_digits_mlp(), load_builtin("digits", split="test"), cfg)[2]


class _Scaled(nn.Module):
    """Multiplies the logits of ``inner``: same predictions, planted over/underconfidence."""

    def __init__(self, inner: nn.Module, factor: float) -> None:
        super().__init__()
        self.inner, self.factor = inner, factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x) * self.factor


def _blobs_ctx(factor: float, n: int = 400):
    x, y = toy_blobs(n, spread=0.2, seed=3)
    data = Dataset(x.numpy(), y.numpy(), Schema("tabular", np.zeros(8), np.ones(8)), name="blobs")
    model = TorchModel(_Scaled(toy_mlp(0).module, factor), n_classes=4)
    return prepare(model, data, ScanConfig(seed=0))[2]


def _by_id(findings):
    return {f.id: f for f in findings}


def test_clean_metrics_match_the_metric_functions() -> None:
    ctx = _digits_ctx()
    checked = calibration_checks(ctx)
    f = _by_id(checked)
    assert set(f) == {"calibration.clean", "calibration.temperature"}  # no attacks ran yet
    clean = f["calibration.clean"]
    p = torch.softmax(ctx.model.scores(ctx.x).double(), 1).numpy()
    y = ctx.y.numpy()
    m = clean.metrics
    assert m["ece"].value == pytest.approx(expected_calibration_error(y, p, n_bins=15))
    assert m["ece"].ci[0] <= m["ece"].value <= m["ece"].ci[1]
    assert m["brier"].value == pytest.approx(brier_score(y, p))
    assert m["nll"].value == pytest.approx(negative_log_likelihood(y, p))
    assert m["mce"].value >= m["ece"].value
    assert m["accuracy"].value == pytest.approx(float(np.mean(p.argmax(1) == y)))
    plot = clean.evidence["plots"][0]
    assert plot["kind"] == "reliability" and sum(plot["bin_count"]) == len(y) == 540
    assert "valid and reliable" in clean.tags.characteristics
    json.dumps([x.to_dict() for x in f.values()])  # JSON-ready
    assert checked.product.temperature == f["calibration.temperature"].metrics[
        "temperature"].value
    assert checked.product.ece == clean.metrics["ece"].value
    # seeded: the same numbers again
    again = _by_id(calibration_checks(_digits_ctx()))
    assert again["calibration.clean"].metrics["ece"].ci == m["ece"].ci
    assert again["calibration.temperature"].to_dict() == f["calibration.temperature"].to_dict()


def test_planted_overconfidence_warns_and_temperature_fixes_it() -> None:
    base = _by_id(calibration_checks(_blobs_ctx(1.0)))["calibration.temperature"]
    over = _by_id(calibration_checks(_blobs_ctx(5.0)))
    clean, temp = over["calibration.clean"], over["calibration.temperature"]
    assert clean.metrics["ece"].value > ECE_WARN
    assert temp.severity == "warn"
    # the fitted T absorbs the planted factor
    t0, t5 = base.metrics["temperature"].value, temp.metrics["temperature"].value
    assert t5 == pytest.approx(5 * t0, rel=0.1)
    assert temp.metrics["ece_after"].value < temp.metrics["ece_before"].value / 2
    assert temp.metrics["nll_after"].value < temp.metrics["nll_before"].value
    assert "divide the logits by T" in temp.detail and "overconfident" in temp.detail
    assert temp.evidence["n_fit"] + temp.evidence["n_eval"] == 400


def test_underconfident_model_gets_t_below_one() -> None:
    temp = _by_id(calibration_checks(_blobs_ctx(0.05)))["calibration.temperature"]
    assert temp.metrics["temperature"].value < 1
    assert "not overconfident" in temp.detail


def test_probability_only_model_gives_the_same_temperature() -> None:
    ctx = _blobs_ctx(1.0)  # mild: no probability underflows float32 or the 1e-12 clip
    t_logits = calibration_checks(ctx)[1].metrics["temperature"].value
    from trustbench.models import CallableModel

    inner = ctx.model
    ctx = ctx.with_(model=CallableModel(
        lambda x: torch.softmax(inner.scores(torch.from_numpy(x)), 1).numpy(), n_classes=4))
    scores, inputs = class_scores(ctx.model, ctx.x)
    assert inputs == "probabilities" and np.allclose(scores.sum(1), 1, atol=1e-5)
    t_probs = calibration_checks(ctx)[1].metrics["temperature"].value
    assert t_probs == pytest.approx(t_logits, rel=0.02)


def test_split_is_seeded_stratified_and_disjoint() -> None:
    y = np.repeat(np.arange(5), [10, 11, 7, 2, 30])
    a, b = _split_half(y, 0)
    assert np.intersect1d(a, b).size == 0 and np.union1d(a, b).size == len(y)
    assert np.all(np.abs(np.bincount(y[a], minlength=5) - np.bincount(y[b], minlength=5)) <= 1)
    np.testing.assert_array_equal(_split_half(y, 0)[0], a)
    assert not np.array_equal(_split_half(y, 1)[0], a)


def test_too_few_points_fit_no_temperature() -> None:
    ctx = _blobs_ctx(1.0, n=12)
    temp = _by_id(calibration_checks(ctx))["calibration.temperature"]
    assert temp.severity == "info" and "too few" in temp.title and not temp.metrics


def test_under_attack_uses_the_strongest_attack_per_eps() -> None:
    ctx = _digits_ctx()
    runs = adversarial_robustness(ctx).product  # fgsm at eps 0.03 and 0.1
    # a weaker (no-op) attack at each eps must not be the one reported
    ok = torch.as_tensor(ctx.clean_correct)
    attacks = AttackRuns({eps: [*r, ("noop", AttackResult(ctx.x.clone(), ~ok, ok, 0, 0, 0.0,
                                                         "linf", eps))]
                          for eps, r in runs.by_eps.items()})
    f = _by_id(calibration_checks(ctx, attacks))["calibration.attack"]
    rows = f.evidence["rows"]
    assert [r["eps"] for r in rows] == [0.0, 0.03, 0.1]
    assert [r["attack"] for r in rows] == ["none", "fgsm", "fgsm"]
    x_adv = attacks.by_eps[0.1][0][1].x_adv
    p = to_probabilities(*class_scores(ctx.model, x_adv))
    want = expected_calibration_error(ctx.y.numpy(), p, n_bins=15)
    assert f.metrics["ece@eps=0.1"].value == pytest.approx(want)
    assert f.metrics["ece@eps=0.1"].value > rows[0]["ece"]  # attacks hurt calibration here
    plot = f.evidence["plots"][0]
    assert plot["kind"] == "lines" and plot["series"][0]["x"] == [0.0, 0.03, 0.1]
    assert "secure and resilient" in f.tags.characteristics
