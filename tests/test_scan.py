"""scan(): the findings it produces and the invariants between them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from trustbench import Dataset, InputError, ScanConfig, Schema, load_builtin, load_data, scan
from trustbench.models import SklearnModel
from trustbench.testing.toy import toy_blobs, toy_mlp


@pytest.fixture(scope="module")
def blobs() -> Dataset:
    x, y = toy_blobs(120)
    return Dataset(x.numpy(), y.numpy(), Schema("tabular", np.zeros(8), np.ones(8)), name="blobs")


def _metric(card, fid: str, name: str = "robust_accuracy") -> float:
    f = card.get(fid)
    assert f is not None, f"missing finding {fid}"
    return f.metrics[name].value


def test_torch_scan_findings_are_consistent(blobs: Dataset) -> None:
    cfg = ScanConfig(eps=[0.2, 0.05, 0.1], attacks=["fgsm", "pgd"], eps_units="raw", seed=3)
    card = scan(toy_mlp(0), blobs, cfg)
    clean = _metric(card, "accuracy.clean", "accuracy")
    assert card.provenance["config"]["eps"] == [0.05, 0.1, 0.2]  # sorted
    previous = 1.0
    for eps in (0.05, 0.1, 0.2):
        worst = _metric(card, f"robustness.worst.linf.{eps:g}")
        for attack in ("fgsm", "pgd"):
            acc = _metric(card, f"robustness.{attack}.linf.{eps:g}")
            assert worst <= acc <= clean
        assert worst <= previous  # a larger ball can only fool more points
        previous = worst
        lo, hi = card.get(f"robustness.worst.linf.{eps:g}").metrics["robust_accuracy"].ci
        assert lo <= worst <= hi
    assert _metric(card, "robustness.pgd.linf.0.2") < clean  # the attack does something
    prov = card.provenance
    assert prov["seed"] == 3
    assert prov["model"]["fingerprint"].startswith("sha256:")
    assert prov["data"]["fingerprint"] == blobs.fingerprint()
    for fid in ("shift.summary", "calibration.clean", "calibration.temperature",
                "calibration.attack", "ood.detection", "subgroups.class", "slices.weakest"):
        assert card.get(fid) is not None, fid
    assert any("audit" in s for s in card.not_measured)
    tags = card.get("robustness.pgd.linf.0.1").tags
    assert "secure and resilient" in tags.characteristics and "MEASURE 2.7" in tags.subcategories


def test_switched_off_checks_are_listed_as_not_measured(blobs: Dataset) -> None:
    cfg = ScanConfig(eps=[0.1], attacks=[], eps_units="raw", shifts=[], calibration=False,
                     ood=False, subgroups=False, validity=False)
    card = scan(toy_mlp(0), blobs, cfg)
    assert [f.id for f in card.findings] == ["accuracy.clean", "provenance"]
    for what in ("adversarial robustness", "corruptions and distribution shift", "calibration",
                 "out-of-distribution", "subgroup", "evaluation-validity"):
        assert any(what in s and "disabled" in s for s in card.not_measured), what


def test_scan_is_deterministic(blobs: Dataset) -> None:
    cfg = ScanConfig(eps=[0.1], attacks=["pgd", "apgd-ce"], eps_units="raw", seed=1, validity=False)
    a, b = scan(toy_mlp(0), blobs, cfg), scan(toy_mlp(0), blobs, cfg)
    for fa, fb in zip(a.findings, b.findings, strict=True):
        assert fa.id == fb.id
        for k, m in fa.metrics.items():
            if k != "wall_time":
                assert m.value == fb.metrics[k].value, (fa.id, k)


def test_gradient_attacks_are_skipped_on_blackbox_models() -> None:
    train, test = (load_builtin("breast_cancer", split=s) for s in ("train", "test"))
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(train.x, train.y)
    cfg = ScanConfig(eps=[0.05], attacks=["pgd", "square"], n=30,
                     attack_params={"square": {"n_queries": 100}})
    card = scan(clf, test, cfg)
    assert card.get("robustness.pgd.linf.0.05") is None
    assert any(s.startswith("attack pgd") for s in card.not_measured)
    assert card.provenance["config"]["eps_units"] == "range"  # tabular default
    sub = test.sample(30, seed=0)
    assert _metric(card, "accuracy.clean", "accuracy") == pytest.approx(
        float((clf.predict(sub.x) == sub.y).mean()))


def test_frame_pipeline_with_text_categories(tmp_path) -> None:
    rng = np.random.default_rng(0)
    n = 200
    df = pd.DataFrame({"age": rng.integers(18, 80, n), "income": rng.normal(50, 10, n),
                       "city": rng.choice(["north", "south", "east"], n)})
    df["label"] = ((df.income > 50) ^ (df.city == "east")).astype(int)
    path = tmp_path / "people.csv"
    df.to_csv(path, index=False)
    features = df.drop(columns="label")
    pre = ColumnTransformer([("num", StandardScaler(), ["age", "income"]),
                             ("cat", OneHotEncoder(), ["city"])])
    clf = make_pipeline(pre, LogisticRegression()).fit(features, df.label)
    data = load_data(path, target="label")
    assert data.schema.feature_types == ["integer", "numeric", "categorical"]
    card = scan(clf, data, ScanConfig(eps=[0.1], attacks=["square"],
                                      attack_params={"square": {"n_queries": 50}}))
    assert _metric(card, "accuracy.clean", "accuracy") == pytest.approx(
        float((clf.predict(features) == df.label).mean()))


def test_scanning_an_sklearn_model_leaves_it_unchanged(tmp_path) -> None:
    """Binding a frame pipeline to one file's columns must not stick to the caller's object:
    a second file with the columns in another order gets its own binding."""
    rng = np.random.default_rng(0)
    n = 200
    df = pd.DataFrame({"a": rng.normal(0, 1, n), "b": rng.normal(5, 3, n), "c": rng.normal(-2, 1, n)})
    df["label"] = (df.a > 0).astype(int)  # only "a" matters: a column mix-up is visible
    clf = make_pipeline(StandardScaler(), LogisticRegression()).fit(df[["a", "b", "c"]], df.label)
    model = SklearnModel(clf)
    cfg = ScanConfig(eps=[0.1], attacks=["square"], attack_params={"square": {"n_queries": 20}},
                     shifts=[], calibration=False, ood=False, subgroups=False)
    expected = float((clf.predict(df[["a", "b", "c"]]) == df.label).mean())
    assert expected > 0.9
    for i, order in enumerate([["a", "b", "c", "label"], ["c", "label", "b", "a"]]):
        path = tmp_path / f"frame{i}.csv"
        df[order].to_csv(path, index=False)
        card = scan(model, load_data(path, target="label"), cfg)
        assert _metric(card, "accuracy.clean", "accuracy") == pytest.approx(expected)
        assert model.to_input is None


def test_labels_the_model_does_not_know(blobs: Dataset) -> None:
    bad = Dataset(blobs.x, blobs.y + 10, blobs.schema, name="shifted-labels")
    with pytest.raises(InputError, match="outside the model's classes"):
        scan(toy_mlp(0), bad, ScanConfig(eps=[0.1], attacks=["fgsm"]))


def test_input_shape_the_model_rejects(blobs: Dataset) -> None:
    x = blobs.x[:, :5]
    bad = Dataset(x, blobs.y, Schema("tabular", np.zeros(5), np.ones(5)), name="narrow")
    with pytest.raises(InputError, match=r"cannot take inputs of shape \(5,\)"):
        scan(toy_mlp(0), bad, ScanConfig(eps=[0.1], attacks=["fgsm"]))


def test_unknown_attack_lists_the_valid_ones(blobs: Dataset) -> None:
    with pytest.raises(InputError, match="apgd-ce"):
        scan(toy_mlp(0), blobs, ScanConfig(eps=[0.1], attacks=["nope"]))
