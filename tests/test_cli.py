"""The CLI: help, exit code 2 with a one-line error for bad input, and an end-to-end scan."""

from __future__ import annotations

import json
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from typer.testing import CliRunner

from trustbench.cli import app
from trustbench.data import Dataset, load_builtin
from trustbench.models import TorchModel

runner = CliRunner()


class WritesFile:
    """Unpickling this creates ``marker``: a stand-in for arbitrary code in a pickle."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every command from tmp_path, so a default --out can only land there."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def skops_model(tmp_path_factory: pytest.TempPathFactory):
    """A scaler + logistic-regression pipeline fitted on the breast_cancer train split."""
    sio = pytest.importorskip("skops.io")
    train = load_builtin("breast_cancer", split="train")
    est = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(train.x, train.y)
    path = tmp_path_factory.mktemp("skops") / "model.skops"
    sio.dump(est, path)
    return path, est


def _scan(*args: str | Path):
    return runner.invoke(app, ["scan", *map(str, args)])


def _usage_error(result, *needles: str) -> str:
    """Exit code 2, an 'error:' message on stderr, no traceback; returns the message."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    assert isinstance(result.exception, SystemExit)
    assert result.stderr.startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""
    text = " ".join(result.stderr.split())  # rich may wrap long lines; see the xfail below
    for needle in needles:
        assert needle in text, (needle, text)
    return text


# -- help --------------------------------------------------------------------------------------


def test_app_help() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("scan", "demo", "attacks"):
        assert command in result.stdout


def test_scan_help_mentions_model_and_data() -> None:
    result = runner.invoke(app, ["scan", "--help"])
    assert result.exit_code == 0
    for option in ("--model", "--data", "--trust-pickle", "--attacks", "--eps"):
        assert option in result.stdout


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == "trustbench 0.1.0"


def test_attacks_lists_the_registry() -> None:
    from trustbench.attacks import REGISTRY

    result = runner.invoke(app, ["attacks"])
    assert result.exit_code == 0
    for name in REGISTRY:
        assert name in result.stdout


# -- bad input: exit 2 -------------------------------------------------------------------------


def test_missing_model_file(tmp_path: Path) -> None:
    _usage_error(_scan("--model", tmp_path / "missing.pt", "--data", "digits"),
                 "missing.pt: no such model file")


def test_pickle_refused_without_trust_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    with open(tmp_path / "evil.pkl", "wb") as fh:
        pickle.dump(WritesFile(marker), fh)
    _usage_error(_scan("--model", tmp_path / "evil.pkl", "--data", "digits"),
                 "evil.pkl: refusing to load a pickle", "--trust-pickle",
                 "trustbench inspect finds that it calls io.open(")
    assert not marker.exists()


def test_unknown_data_file(tmp_path: Path, skops_model) -> None:
    _usage_error(_scan("--model", skops_model[0], "--data", tmp_path / "nope.csv"),
                 "nope.csv: no such file")


def test_csv_with_unknown_target(tmp_path: Path, skops_model) -> None:
    pd.DataFrame({"a": [1.0, 2.0], "b": [0, 1]}).to_csv(tmp_path / "d.csv", index=False)
    _usage_error(_scan("--model", skops_model[0], "--data", tmp_path / "d.csv", "--target", "label"),
                 "--target column 'label' does not exist", "columns are: a, b")


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--norm", "l3", "--norm 'l3': Input should be 'linf' or 'l2'"),
    ("--eps-units", "pixels", "--eps-units 'pixels': Input should be 'raw' or 'range'"),
    ("--split", "val", "--split 'val': Input should be 'test', 'train' or 'all'"),
    ("--batch-size", "0", "--batch-size '0': expected 'auto' or an integer in [1, 1000000]"),
    ("--batch-size", "big", "--batch-size 'big': expected 'auto' or an integer in [1, 1000000]"),
])
def test_bad_options_before_loading(skops_model, option: str, value: str, message: str) -> None:
    _usage_error(_scan("--model", skops_model[0], "--data", "breast_cancer", option, value), message)


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--eps", "a,b", "--eps 'a,b': expected comma-separated numbers"),
    ("--eps", ",", "--eps ',': expected one or more numbers"),
    ("--eps", "-0.1", "eps values must be >= 0"),
    ("--bounds", "1", "--bounds '1': expected 2 numbers"),
    ("--attacks", "nosuch", "unknown attack 'nosuch' -- use one of:"),
    ("--n", "0", "--n 0: Input should be greater than or equal to 1"),
])
def test_bad_options_after_loading(tmp_path: Path, skops_model, option: str, value: str,
                                   message: str) -> None:
    text = _usage_error(_scan("--model", skops_model[0], "--data", "breast_cancer", "--quiet",
                              "--out", tmp_path / "out", option, value), message)
    if option == "--attacks":
        assert "square" in text and "pgd" in text
    assert not (tmp_path / "out" / "scorecard.json").exists()


def test_unknown_attack_is_reported_before_any_attack_runs(skops_model, monkeypatch) -> None:
    import trustbench.checks.robustness as robustness

    ran: list[str] = []
    real = robustness.robustness_curve

    def spy(attack, *args, **kwargs):
        ran.append(type(attack).__name__)
        return real(attack, *args, **kwargs)

    monkeypatch.setattr(robustness, "robustness_curve", spy)
    _usage_error(_scan("--model", skops_model[0], "--data", "breast_cancer", "--n", "5",
                       "--eps", "0.5", "--attacks", "square,nosuch", "--quiet"),
                 "unknown attack 'nosuch'")
    assert ran == []


def test_mean_with_a_sklearn_model(skops_model) -> None:
    _usage_error(_scan("--model", skops_model[0], "--data", "breast_cancer", "--mean", "0.5",
                       "--std", "0.2", "--quiet"), "--mean")


def test_error_is_one_line(tmp_path: Path) -> None:
    with open(tmp_path / "evil.pkl", "wb") as fh:
        pickle.dump(WritesFile(tmp_path / "pwned"), fh)
    result = _scan("--model", tmp_path / "evil.pkl", "--data", "digits")
    _usage_error(result)
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_error_keeps_bracketed_text(tmp_path: Path, skops_model) -> None:
    (tmp_path / "schema.json").write_text(json.dumps({"bounds": [0, 1, 2]}))
    _usage_error(_scan("--model", skops_model[0], "--data", "breast_cancer",
                       "--schema", tmp_path / "schema.json"),
                 "use [lower, upper] numbers")


# -- end to end ----------------------------------------------------------------------------


def test_scan_end_to_end_on_breast_cancer(tmp_path: Path, skops_model) -> None:
    path, est = skops_model
    out = tmp_path / "report"
    result = _scan("--model", path, "--data", "breast_cancer", "--attacks", "square",
                   "--n", "40", "--eps", "0.25,0.5", "--quiet", "--out", out)
    assert result.exit_code == 0, (result.output, result.exception)
    assert "Scorecard written to" in result.stdout
    card = json.loads((out / "scorecard.json").read_text())
    assert card["schema_version"] == "1.0"
    assert card["verdict"] in ("pass", "warn", "fail")
    ids = [f["id"] for f in card["findings"]]
    assert ids[0] == "accuracy.clean"
    assert [i for i in ids if i.startswith("robustness.square.linf.")] == [
        "robustness.square.linf.0.25", "robustness.square.linf.0.5"]
    assert "provenance" in ids

    # clean accuracy is scikit-learn's own on the same 40 points (a seeded sample of the test split)
    test = load_builtin("breast_cancer", split="test")
    idx = np.sort(np.random.default_rng(0).choice(len(test), size=40, replace=False))
    expected = float((est.predict(test.x[idx]) == test.y[idx]).mean())
    findings = {f["id"]: f for f in card["findings"]}
    assert findings["accuracy.clean"]["metrics"]["accuracy"]["value"] == pytest.approx(expected, abs=1e-12)
    assert findings["accuracy.clean"]["metrics"]["n"]["value"] == 40
    prov = card["provenance"]
    assert prov["data"]["n"] == 40 and prov["data"]["n_source"] == len(test) == 171
    assert prov["data"]["fingerprint"] == Dataset(test.x[idx], test.y[idx], test.schema).fingerprint()
    assert prov["model"]["description"] == "SklearnModel(Pipeline)"
    assert prov["config"]["eps_units"] == "range"

    robust = [findings[f"robustness.square.linf.{e}"]["metrics"]["robust_accuracy"]["value"]
              for e in ("0.25", "0.5")]
    assert 0.0 <= robust[1] <= robust[0] <= expected


def test_scan_default_out_folder_is_relative_to_cwd(tmp_path: Path, skops_model) -> None:
    result = _scan("--model", skops_model[0], "--data", "breast_cancer", "--attacks", "square",
                   "--n", "10", "--eps", "0.5", "--no-validity", "--quiet")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "trustbench-report" / "scorecard.json").exists()


def test_refused_pickle_through_a_real_subprocess(tmp_path: Path) -> None:
    exe = shutil.which("trustbench", path=str(Path(sys.executable).parent)) or shutil.which("trustbench")
    assert exe is not None, "the trustbench console script is not installed"
    marker = tmp_path / "pwned"
    with open(tmp_path / "evil.joblib", "wb") as fh:
        pickle.dump(WritesFile(marker), fh)
    np.savez(tmp_path / "d.npz", x=np.arange(12.0).reshape(4, 3), y=np.array([0, 1, 0, 1]))
    proc = subprocess.run(
        [exe, "scan", "--model", "evil.joblib", "--data", "d.npz", "--out", "out"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.startswith("error: evil.joblib: refusing to load a pickle/joblib file")
    assert "Traceback" not in proc.stderr
    assert not marker.exists()
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_demo_trains_caches_and_scans(tmp_path: Path, tmp_cache: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The one demo test: trains the CNN into TRUSTBENCH_CACHE, scans, writes a scorecard.

    Training is real; the scan runs on 24 test images instead of 540 and with the attacks'
    small test budgets (the full demo scan takes many minutes on 2 cores).
    """
    import trustbench.checks
    import trustbench.data
    import trustbench.demo
    from trustbench.attacks import REGISTRY

    real_config = trustbench.checks.ScanConfig

    def cheap_config(**kwargs):
        kwargs.setdefault("attack_params", {a: REGISTRY[a].test_params() for a in kwargs["attacks"]})
        return real_config(**kwargs)

    monkeypatch.setattr(trustbench.checks, "ScanConfig", cheap_config)

    real_load_builtin = trustbench.data.load_builtin

    def small_test_split(name: str, *, split: str = "test", seed: int = 0):
        ds = real_load_builtin(name, split=split, seed=seed)
        return ds.sample(24, seed=0) if split == "test" else ds

    monkeypatch.setattr(trustbench.data, "load_builtin", small_test_split)
    result = runner.invoke(app, ["demo", "--quiet", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, (result.output, result.exception)
    weights = tmp_cache / "demo_cnn.safetensors"
    assert weights.exists()
    assert sorted(p.name for p in tmp_cache.iterdir()) == ["demo_cnn.safetensors"]
    card = json.loads((tmp_path / "out" / "scorecard.json").read_text())
    findings = {f["id"]: f for f in card["findings"]}
    assert findings["accuracy.clean"]["metrics"]["accuracy"]["value"] >= 0.9
    for attack in ("fgsm", "pgd", "standard"):
        for eps in ("0.05", "0.1", "0.2"):
            robust = findings[f"robustness.{attack}.linf.{eps}"]["metrics"]["robust_accuracy"]
            assert 0.0 <= robust["value"] <= 1.0
    assert card["provenance"]["model"]["description"] == "TorchModel(DemoCNN)"
    assert card["provenance"]["config"]["eps"] == [0.05, 0.1, 0.2]
    assert card["provenance"]["config"]["attacks"] == ["fgsm", "pgd", "standard"]

    # a second run loads the cached weights instead of training again
    def no_training(**kwargs):
        raise AssertionError("the cached demo model was not used")

    monkeypatch.setattr(trustbench.demo, "train_demo_model", no_training)
    module, path = trustbench.demo.load_demo_model()
    assert path == weights
    assert not module.training
    x = real_load_builtin("digits", split="test")
    model = TorchModel(module)
    assert float((model.predict(x.x) == x.y).mean()) >= 0.9


def test_dry_run_prints_an_estimate_and_attacks_nothing(tmp_path: Path, skops_model) -> None:
    out = tmp_path / "never"
    result = _scan("--model", skops_model[0], "--data", "breast_cancer", "--n", "20",
                   "--dry-run", "--out", out)
    assert result.exit_code == 0, result.output
    assert "Dry run: 20 points" in result.stdout
    assert "square" in result.stdout and "expected time" in result.stdout
    assert not (out / "scorecard.json").exists()


def test_audit_command_is_registered_with_one_line_errors(tmp_path: Path) -> None:
    result = runner.invoke(app, ["audit", "--data", str(tmp_path / "missing.csv")])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and "missing.csv" in result.stderr
    assert "Traceback" not in result.output


def test_scan_with_audit_reports_caveats_and_drops_the_audit_note(tmp_path: Path, skops_model) -> None:
    audit = runner.invoke(app, ["audit", "--data", "breast_cancer", "--test", "breast_cancer",
                                "--out", str(tmp_path / "audit"), "--quiet"])
    assert audit.exit_code == 0, audit.output
    out = tmp_path / "scan"
    result = _scan("--model", skops_model[0], "--data", "breast_cancer",
                   "--audit", str(tmp_path / "audit" / "scorecard.json"), "--attacks", "none",
                   "--shifts", "none", "--no-ood", "--no-validity", "--quiet", "--out", out)
    assert result.exit_code == 0, result.output
    card = json.loads((out / "scorecard.json").read_text())
    assert any(f["id"] == "audit.caveats" for f in card["findings"])
    assert not any("trustbench audit" in s for s in card["not_measured"])


@pytest.mark.parametrize("args, needle", [
    (["harden", "--arch", "nopkg_xyz.mod:Net", "--data", "digits", "--epochs", "1"], "nopkg_xyz"),
    (["harden", "--arch", "trustbench.demo:DemoCNN", "--data", "digits", "--method", "magic"],
     "magic"),
    (["compress", "--model", "missing.safetensors", "--arch", "trustbench.demo:DemoCNN",
      "--data", "digits"], "missing.safetensors"),
])
def test_harden_and_compress_are_registered_with_one_line_errors(args: list[str], needle: str
                                                                 ) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and needle in result.stderr
    assert "Traceback" not in result.output


def test_every_command_has_help_in_a_real_subprocess() -> None:
    exe = shutil.which("trustbench") or str(Path(sys.executable).parent / "trustbench")
    for cmd in ("scan", "demo", "init", "compare", "attacks", "shifts", "audit", "harden",
                "compress"):
        proc = subprocess.run([exe, cmd, "--help"], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, (cmd, proc.stderr[-500:])
        assert "Usage" in proc.stdout
