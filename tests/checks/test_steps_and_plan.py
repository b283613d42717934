"""The scan's steps, its plan and its run options.

- a step registered by a user runs in its place and receives the products it declares;
- registration refuses what could not run (a taken name, a need that runs later);
- the plan is a plain value: it pickles, it leaves out what does not apply with the
  reason, and ``scan(model, data, plan)`` gives the findings of ``scan(model, data, cfg)``;
- the batch size lives in RunOptions and changes no finding;
- the caller's model object is not changed by a scan.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from trustbench import InputError, RunOptions, ScanConfig, ScanPlan, plan_scan, scan
from trustbench.checks import steps as steps_module
from trustbench.checks.products import AttackRuns, Checked
from trustbench.checks.steps import Step, register_step, scan_step, scan_steps
from trustbench.data import Dataset, Schema
from trustbench.findings import Finding, Metric
from trustbench.models import CallableModel, TorchModel
from trustbench.testing.toy import toy_blobs, toy_mlp


@pytest.fixture
def blobs() -> Dataset:
    x, y = toy_blobs(80)
    return Dataset(x.numpy(), y.numpy(), Schema("tabular", np.zeros(8), np.ones(8)), "blobs")


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Registrations made by a test are undone after it."""
    monkeypatch.setattr(steps_module, "_STEPS", dict(steps_module._STEPS))


CFG = dict(eps=[0.1], attacks=["fgsm"], eps_units="raw", shifts=[], ood=False, validity=False)


def _ids(card) -> list[str]:
    return [f.id for f in card.findings]


def _comparable(card) -> list[dict]:
    """The findings without the run manifest and wall times (the only parts that vary)."""
    out = []
    for f in card.findings:
        if f.id != "provenance":
            d = f.to_dict()
            d.get("metrics", {}).pop("wall_time", None)
            out.append(d)
    return out


def test_the_built_in_steps_and_their_needs() -> None:
    names = [s.name for s in scan_steps()]
    assert names == ["accuracy", "robustness", "shifts", "calibration", "ood", "subgroups",
                     "randomness", "validity"]
    assert scan_step("ood").needs == {"shifts": "shifts"}
    with pytest.raises(KeyError, match="no scan step 'nope'"):
        scan_step("nope")


@pytest.mark.usefixtures("registry")
def test_a_registered_step_runs_before_validity_with_the_attack_runs(blobs: Dataset) -> None:
    seen: list[AttackRuns | None] = []

    def fooled_share(ctx, attacks: AttackRuns | None) -> Checked[float]:
        seen.append(attacks)
        robust = attacks.robust()[0.1] if attacks is not None else ctx.clean_correct
        share = float(np.mean(robust))
        return Checked([Finding("custom.robust_share", f"{share:.0%} robust", "info",
                                metrics={"share": Metric(share, unit="fraction")})], share)

    register_step(Step("custom", "a custom share", fooled_share,
                       needs={"attacks": "robustness"}), before="validity")
    assert [s.name for s in scan_steps()][-2:] == ["custom", "validity"]
    card = scan(toy_mlp(0), blobs, ScanConfig(**CFG | {"validity": True}))
    ids = _ids(card)
    assert ids.index("custom.robust_share") < ids.index("validity.large_eps")
    (runs,) = seen
    assert isinstance(runs, AttackRuns) and [n for n, _ in runs.by_eps[0.1]] == ["fgsm"]
    worst = card.get("robustness.worst.linf.0.1").metrics["robust_accuracy"].value
    assert card.get("custom.robust_share").metrics["share"].value == pytest.approx(worst)
    # its need switched off: it still runs, with None
    seen.clear()
    card = scan(toy_mlp(0), blobs, ScanConfig(**CFG | {"attacks": []}))
    assert seen == [None] and "custom.robust_share" in _ids(card)
    # switched off by its own rule: listed as not measured
    register_step(Step("off", "something switched off", fooled_share,
                       enabled=lambda cfg: False))
    card = scan(toy_mlp(0), blobs, ScanConfig(**CFG))
    assert "something switched off (disabled)" in card.not_measured


@pytest.mark.usefixtures("registry")
def test_registration_refuses_what_could_not_run() -> None:
    def noop(ctx) -> list[Finding]:
        return []

    with pytest.raises(ValueError, match="already registered"):
        register_step(Step("accuracy", "x", noop))
    with pytest.raises(ValueError, match=r"needs \['validity'\]"):
        register_step(Step("early", "x", noop, needs={"v": "validity"}), before="validity")
    with pytest.raises(ValueError, match="no such step"):
        register_step(Step("late", "x", noop), before="nope")


def test_the_plan_is_a_plain_value_that_scan_runs(blobs: Dataset) -> None:
    cfg = ScanConfig(n=50, eps=[0.05, 0.1], attacks=["fgsm", "square"], eps_units="raw",
                     shifts=["feature_noise", "contrast"], severities=[1], ood=False)
    plan = plan_scan(toy_mlp(0), blobs, cfg)
    assert pickle.loads(pickle.dumps(plan)) == plan
    assert plan.steps == ("accuracy", "robustness", "shifts", "calibration", "subgroups",
                          "randomness", "validity") and plan.disabled == ("ood",)
    assert [a.name for a in plan.attacks] == ["fgsm", "square"]
    assert plan.attacks[0].params == {"eps": 0.05, "norm": "linf", "seed": 0}
    assert plan.shifts == ("feature_noise",)
    assert [str(s) for s in plan.not_applicable] == ["shift contrast: needs images (N, C, H, W)"]
    assert plan.n_points == len(plan.points) == 50 and plan.n_source == 80
    assert list(plan.points) == sorted(plan.points)
    a = scan(toy_mlp(0), blobs, plan)
    b = scan(toy_mlp(0), blobs, cfg)
    assert _comparable(a) == _comparable(b)
    assert a.not_measured == b.not_measured
    assert "shift contrast: needs images (N, C, H, W)" in a.not_measured


def test_a_black_box_plan_leaves_out_gradient_attacks_with_the_reason(blobs: Dataset) -> None:
    model = CallableModel(lambda x: np.tile([0.5, 0.3, 0.2], (len(x), 1)))
    plan = plan_scan(model, blobs, ScanConfig(attacks=["pgd", "square"], eps=[0.1]))
    assert [a.name for a in plan.attacks] == ["square"]
    (why,) = plan.not_applicable
    assert why.check == "attack pgd" and why.reason.startswith("needs gradients")
    assert plan_scan(model, blobs, ScanConfig(eps=[0.1])).attacks[0].name == "square"


def test_a_plan_for_other_data_is_refused(blobs: Dataset) -> None:
    plan = plan_scan(toy_mlp(0), blobs, ScanConfig(**CFG))
    with pytest.raises(InputError, match="made for data of 80 rows, this has 40"):
        scan(toy_mlp(0), blobs.sample(40, seed=0), plan)


def test_bad_settings_fail_at_planning_before_any_model_call(blobs: Dataset) -> None:
    calls: list[int] = []

    def fn(x: np.ndarray) -> np.ndarray:
        calls.append(len(x))
        return np.tile([0.5, 0.3, 0.2], (len(x), 1))

    for cfg, match in [(ScanConfig(attacks=["nope"]), "unknown attack"),
                       (ScanConfig(severities=[9]), "severity"),
                       (ScanConfig(batch_size=0), r"ScanConfig\.batch_size"),
                       (ScanConfig(threads=0), r"ScanConfig\.threads"),
                       (ScanConfig(budget=float("inf")), r"ScanConfig\.budget"),
                       (ScanConfig(eot_draws=0), r"ScanConfig\.eot_draws")]:
        with pytest.raises(InputError, match=match):
            plan_scan(CallableModel(fn), blobs, cfg)
    assert calls == []


def test_batch_size_is_a_run_option_that_changes_no_finding(blobs: Dataset) -> None:
    cards = [scan(toy_mlp(0), blobs, ScanConfig(**CFG | {"attacks": ["pgd"], "batch_size": b}))
             for b in (7, 80)]
    assert [c.provenance["runtime"]["batch_size"] for c in cards] == [7, 80]
    assert _comparable(cards[0]) == _comparable(cards[1])


def test_run_options_check_their_values_and_pickle_without_progress() -> None:
    with pytest.raises(InputError, match=r"RunOptions\.batch_size"):
        RunOptions(batch_size=0)
    opts = RunOptions(batch_size=64, threads=2, progress=lambda d, t: (lambda n: None))
    back = pickle.loads(pickle.dumps(opts))
    assert back == opts and back.batch_size == 64 and back.progress("x", 1)(1) is None


def test_the_callers_model_object_is_left_as_it_was(blobs: Dataset) -> None:
    model = TorchModel(toy_mlp(0).module)
    assert model._n_classes is None
    scan(model, blobs, ScanConfig(**CFG))
    assert model._n_classes is None  # learnt on the scan's copy


def test_plan_type_is_exported() -> None:
    assert ScanPlan.__module__ == "trustbench.checks.plan"
