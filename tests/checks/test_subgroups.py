"""subgroup_performance: a group the model fails more is flagged with a CI that excludes 0,
identical groups are not, robust accuracy is the worst case over attacks, per-class results
on digits match a hand count, and a planted weak slice is named."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from trustbench.attacks import AttackResult
from trustbench.checks.base import ScanConfig
from trustbench.checks.products import AttackRuns
from trustbench.checks.subgroups import FAIRNESS, GAP_MARGIN, subgroup_performance
from trustbench.data import Dataset, Schema
from trustbench.models import CallableModel
from trustbench.scan import prepare
from trustbench.testing.toy import toy_digits, toy_digits_mlp


def _wrong_above_08(x: np.ndarray) -> np.ndarray:
    """Predicts ``f0 > 0.5``, flipped where ``f1 > 0.8`` (90% confident)."""
    pred = (x[:, 0] > 0.5) ^ (x[:, 1] > 0.8)
    p1 = np.where(pred, 0.9, 0.1)
    return np.c_[1 - p1, p1]


def _tabular(n: int, seed: int, groups: np.ndarray | None) -> Dataset:
    x = np.random.default_rng(seed).random((n, 2)).astype(np.float32)  # (n, 2)
    schema = Schema("tabular", np.zeros(2), np.ones(2), feature_names=["f0", "f1"])
    return Dataset(x, (x[:, 0] > 0.5).astype(np.int64), schema, groups=groups)


def _ctx(ds: Dataset, **cfg: object):
    return prepare(CallableModel(_wrong_above_08), ds, ScanConfig(**cfg))[2]  # type: ignore[arg-type]


def _fake_attack(ctx, eps: float, fooled: np.ndarray) -> AttackResult:
    correct = torch.from_numpy(ctx.clean_correct)
    return AttackResult(ctx.x, torch.from_numpy(fooled) | ~correct, correct, 0, 0, 0.0,
                        eps=eps)


def test_group_with_planted_errors_warns_with_ci_excluding_zero() -> None:
    x_seed, n = 0, 600
    x = np.random.default_rng(x_seed).random((n, 2))
    groups = np.where(x[:, 1] > 0.5, "B", "A")  # the model errs on f1 > 0.8: 40% of B
    ctx = _ctx(_tabular(n, x_seed, groups))
    # attack "a" fools every 4th point, "b" every 4th shifted by one: robust needs both to fail
    i = np.arange(n)
    attacks = AttackRuns({0.1: [("a", _fake_attack(ctx, 0.1, i % 4 == 0)),
                                ("b", _fake_attack(ctx, 0.1, i % 4 == 1))]})
    checked = subgroup_performance(ctx, attacks)
    findings = {f.id: f for f in checked}
    assert set(findings) == {"subgroups.group", "slices.weakest"}
    f = findings["subgroups.group"]
    assert f.severity == "warn" and f.tags == FAIRNESS
    gap = f.metrics["accuracy_gap"]
    in_b = groups == "B"
    err_b = (x[in_b, 1] > 0.8).mean()
    assert 0.3 < err_b < 0.5
    assert gap.value == pytest.approx(err_b, abs=1e-6)
    assert gap.ci[0] > GAP_MARGIN and gap.ci[0] > 0.25
    assert f.evidence["worst_and_best"]["accuracy"] == {"worst": "B", "best": "A"}
    robust = ctx.clean_correct & (i % 4 > 1)
    rows = {r["group"]: r for r in f.evidence["table"]}
    assert rows["B"]["robust_accuracy_eps=0.1"] == pytest.approx(robust[in_b].mean())
    assert rows["A"]["robust_accuracy_eps=0.1"] == pytest.approx(robust[~in_b].mean())
    assert rows["A"]["ece"] == pytest.approx(0.1, abs=1e-6)  # 90% confident, always right
    assert f.metrics["ece_worst_group"].value == pytest.approx(0.9 - (1 - err_b), abs=1e-6)
    titles = [p["title"] for p in f.evidence["plots"]]
    assert titles == ["Accuracy by group", "Robust accuracy at eps=0.1 by group",
                      "Expected calibration error by group"]
    bars = f.evidence["plots"][0]
    assert bars["labels"] == ["A", "B"] and bars["reference"] == pytest.approx(
        ctx.clean_correct.mean())
    json.dumps(f.to_dict(), allow_nan=False)
    assert checked.product.groups.groups == ("A", "B") and checked.product.classes is None
    assert checked.product.slices is not None


def test_identical_groups_do_not_warn() -> None:
    for seed in range(3):
        groups = np.random.default_rng(10 + seed).choice(["A", "B", "C"], 400)
        f = subgroup_performance(_ctx(_tabular(400, seed, groups), seed=seed))[0]
        assert f.id == "subgroups.group" and f.severity == "info"
        assert f.metrics["accuracy_gap"].ci[0] <= GAP_MARGIN


def test_tiny_and_missing_groups_are_reported_not_dropped() -> None:
    groups = np.array(["A", "B"] * 150 + ["C"] * 5 + ["nan"] * 25, dtype=object)
    f = subgroup_performance(_ctx(_tabular(330, 1, groups)))[0]
    assert f.evidence["too_small"] == ["C"]
    assert [r["group"] for r in f.evidence["table"]] == ["A", "B", "C", "missing"]
    assert "'C' (n=5)" in f.detail and f.metrics["n_groups_too_small"].value == 1


def test_slices_finding_names_the_planted_region() -> None:
    ctx = _ctx(_tabular(800, 2, None))
    findings = {f.id: f for f in subgroup_performance(ctx)}
    assert set(findings) == {"subgroups.class", "slices.weakest"}
    s = findings["slices.weakest"]
    assert s.severity == "warn"
    top = s.evidence["slices"][0]
    assert top["rule"].startswith("f1 > 0.8") and top["accuracy"] == 0.0
    assert top["n"] + sum(r["n"] for r in s.evidence["leaves"][1:]) == s.evidence["n_evaluate"]
    assert s.metrics["slice1_accuracy"].ci[1] < s.metrics["overall_accuracy_heldout"].value - 0.05
    json.dumps(s.to_dict(), allow_nan=False)


def test_per_class_on_digits_matches_a_hand_count() -> None:
    x, y = toy_digits()
    ds = Dataset(x.numpy(), y.numpy(), Schema.from_data(x.numpy(), bounds=(0.0, 1.0)))
    model = toy_digits_mlp()
    ctx = prepare(model, ds, ScanConfig())[2]
    (f,) = subgroup_performance(ctx)  # images: no slices
    assert f.id == "subgroups.class" and f.severity == "info"
    pred = model.predict(x.numpy())
    recall = np.array([(pred[y.numpy() == c] == c).mean() for c in range(10)])
    rows = f.evidence["table"]
    assert [r["class"] for r in rows] == [str(c) for c in range(10)]
    assert [r["accuracy"] for r in rows] == pytest.approx(recall)
    assert f.metrics["accuracy_worst_group"].value == pytest.approx(recall.min())
    assert f.metrics["accuracy_gap"].value == pytest.approx(recall.max() - recall.min())
    assert f.evidence["worst_and_best"]["accuracy"]["worst"] == str(recall.argmin())
    assert all(r["accuracy_ci95"][0] <= r["accuracy"] <= r["accuracy_ci95"][1] for r in rows)


def test_out_of_time_skips_and_says_so() -> None:
    ctx = _ctx(_tabular(100, 0, None))
    ctx = ctx.with_(options=ctx.options.with_(deadline=0.0))
    assert subgroup_performance(ctx).findings == []
    assert any("subgroup" in s and "budget" in s for s in ctx.skipped)


def test_group_name_from_dataset_is_used_in_the_id() -> None:
    ds = _tabular(200, 0, np.array(["u", "v"] * 100))
    ds.group_name = "sex"  # type: ignore[attr-defined]
    assert subgroup_performance(_ctx(ds))[0].id == "subgroups.sex"
