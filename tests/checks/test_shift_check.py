"""The shift check: findings, its product, baselines, budget and progress."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from trustbench.checks.base import CheckContext, ScanConfig
from trustbench.checks.shift import WARN_DROP, shift_robustness
from trustbench.data import load_builtin
from trustbench.errors import InputError
from trustbench.findings import Finding, Metric
from trustbench.scan import prepare
from trustbench.scorecard import Scorecard
from trustbench.shifts import SHIFTS
from trustbench.testing.toy import toy_digits_mlp

IMAGE = [n for n, c in SHIFTS.items() if c.modality == "image"]


def digits_ctx(**config: object) -> CheckContext:
    return prepare(toy_digits_mlp(), load_builtin("digits"), ScanConfig(**config))[2]


def breast_cancer_ctx(*, imputer: bool = False, **config: object) -> CheckContext:
    train = load_builtin("breast_cancer", split="train")
    steps = [SimpleImputer()] if imputer else []
    est = make_pipeline(*steps, StandardScaler(), LogisticRegression(max_iter=500))
    est.fit(train.x, train.y)
    return prepare(est, load_builtin("breast_cancer"), ScanConfig(**config))[2]


def test_every_image_shift_and_severity_on_digits_fast_and_complete() -> None:
    ctx = digits_ctx()
    calls: list[tuple[str, int]] = []
    done: list[int] = []

    def progress(description: str, total: int):
        calls.append((description, total))
        return done.append

    checked = shift_robustness(ctx.with_(options=ctx.options.with_(progress=progress)))
    findings, product = checked.findings, checked.product
    gray = [n for n in IMAGE if n != "saturate"]
    assert [f.id for f in findings] == ["shift.summary"] + [f"shift.{n}" for n in gray]
    assert ctx.skipped == []
    assert calls[0][1] == sum(done) == len(gray) * 5 * len(ctx.y)
    # the product: accuracy per shift and severity, severe inputs for the OOD check
    acc = product.accuracy
    assert set(acc) == set(gray) and all(list(v) == [1, 2, 3, 4, 5] for v in acc.values())
    assert set(product.shifted) == set(gray) and set(product.ece) == set(gray)
    assert all(v.shape == ctx.x.shape for v in product.shifted.values())
    fog = findings[1 + gray.index("fog")]
    for s in range(1, 6):
        assert fog.metrics[f"accuracy@{s}"].value == acc["fog"][s]
        lo, hi = fog.metrics[f"accuracy@{s}"].ci
        assert lo <= acc["fog"][s] <= hi and 0.0 <= fog.metrics[f"ece@{s}"].value <= 1.0
    summary = findings[0]
    mean = np.mean([a for v in acc.values() for a in v.values()])
    assert summary.metrics["mean_corruption_accuracy"].value == pytest.approx(mean)
    assert summary.metrics["mean_corruption_error"].value == pytest.approx(1 - mean)
    clean = float(ctx.clean_correct.mean())
    assert summary.severity == ("warn" if clean - mean > WARN_DROP else "info")
    assert "mCE" not in summary.metrics  # no baseline
    kinds = [p["kind"] for p in summary.evidence["plots"]]
    assert kinds == ["heatmap", "lines", "images"]
    assert len(summary.evidence["plots"][2]["pairs"]) == len(gray)
    # the whole scorecard is valid JSON (no NaN)
    json.loads(json.dumps(Scorecard(findings).to_dict(), allow_nan=False))


def test_selection_skips_what_does_not_apply_and_rejects_unknown_names() -> None:
    ctx = digits_ctx(shifts=["contrast", "saturate", "feature_noise"], severities=[5, 1])
    findings = shift_robustness(ctx)
    assert [f.id for f in findings] == ["shift.summary", "shift.contrast"]
    assert findings[0].evidence["severities"] == [1, 5]
    assert any("shift saturate: needs colour images" in s for s in ctx.skipped)
    assert any("shift feature_noise: needs tabular" in s for s in ctx.skipped)
    assert shift_robustness(digits_ctx(shifts=[])).findings == []
    assert shift_robustness(digits_ctx(severities=[])).findings == []
    with pytest.raises(InputError, match="unknown shift 'snow'"):
        shift_robustness(digits_ctx(shifts=["snow"]))
    with pytest.raises(InputError, match="severity must be an integer from 1 to 5"):
        shift_robustness(digits_ctx(shifts=["fog"], severities=[0, 3]))


def test_a_spent_budget_skips_every_run_and_says_so() -> None:
    ctx = digits_ctx(shifts=["fog", "contrast"], severities=[1, 2])
    ctx = ctx.with_(options=ctx.options.with_(deadline=time.perf_counter() - 1.0))
    checked = shift_robustness(ctx)
    assert checked.findings == []
    assert sum("time budget ran out" in s for s in ctx.skipped) == 4
    assert checked.product.accuracy == {} and checked.product.shifted == {}


def _baseline(accuracies: dict[int, float], clean: float) -> Scorecard:
    metrics = {f"accuracy@{s}": Metric(a) for s, a in accuracies.items()}
    return Scorecard([Finding("shift.contrast", "old", "info", metrics=metrics,
                              evidence={"clean_accuracy": clean})])


def test_mce_and_relative_mce_against_a_baseline() -> None:
    first = digits_ctx(shifts=["contrast", "fog"], severities=[1, 3])
    acc = shift_robustness(first).product.accuracy["contrast"]
    clean = float(first.clean_correct.mean())
    base = {1: 0.8, 3: 0.4}
    ctx = digits_ctx(shifts=["contrast", "fog"], severities=[1, 3])
    findings = shift_robustness(ctx.with_(baseline=_baseline(base, 0.9))).findings
    errors = np.array([1 - acc[1], 1 - acc[3]])
    ce = errors.sum() / (0.2 + 0.6)
    relative = (errors - (1 - clean)).sum() / ((0.2 - 0.1) + (0.6 - 0.1))
    summary = findings[0]
    assert summary.metrics["mCE"].value == pytest.approx(ce)  # only contrast is in the baseline
    assert summary.metrics["relative_mCE"].value == pytest.approx(relative)
    assert summary.evidence["baseline_shifts"] == ["contrast"]
    assert findings[1].metrics["ce"].value == pytest.approx(ce)
    assert "ce" not in findings[2].metrics
    # a scorecard of the same run as its own baseline: exactly 1
    again = digits_ctx(shifts=["contrast", "fog"], severities=[1, 3]).with_(
        baseline=Scorecard.from_dict(Scorecard(findings).to_dict()))
    summary = shift_robustness(again).findings[0]
    assert summary.metrics["mCE"].value == pytest.approx(1.0)
    assert summary.metrics["relative_mCE"].value == pytest.approx(1.0)
    # other severities in the baseline: not comparable
    other = digits_ctx(shifts=["contrast"], severities=[2]).with_(baseline=_baseline(base, 0.9))
    assert "mCE" not in shift_robustness(other).findings[0].metrics


@pytest.mark.parametrize("imputer", [False, True])
def test_tabular_shifts_report_how_missing_values_were_filled(imputer: bool) -> None:
    ctx = breast_cancer_ctx(imputer=imputer, severities=[1, 5])
    checked = shift_robustness(ctx)
    findings = {f.id: f for f in checked}
    assert set(findings) == {f"shift.{n}" for n in ("feature_noise", "missing_values",
                                                    "feature_scale", "feature_offset",
                                                    "label_shift")} | {"shift.summary"}
    missing = findings["shift.missing_values"]
    assert missing.evidence["params"] == {"fill": "nan" if imputer else "mean"}
    assert ("model's own imputation" if imputer else "column mean") in missing.detail
    assert findings["shift.label_shift"].evidence["resampled"] is True
    assert "label_shift" not in checked.product.shifted
    assert checked.product.shifted["feature_noise"].shape == ctx.x.shape
    assert [p["kind"] for p in findings["shift.summary"].evidence["plots"]] == ["heatmap",
                                                                               "lines"]
