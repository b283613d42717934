"""The compression report and the harden/compress commands (through typer's runner)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import typer
from typer.testing import CliRunner

from trustbench.commands.harden import compress, harden
from trustbench.data import load_builtin
from trustbench.demo import DemoCNN
from trustbench.errors import InputError
from trustbench.harden import Trainer, compress_report
from trustbench.models.loading import load_model
from trustbench.report import plotspec
from trustbench.scorecard import Scorecard

runner = CliRunner()
app = typer.Typer()
app.command()(harden)
app.command()(compress)


@pytest.fixture(scope="module")
def small_cnn() -> DemoCNN:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        module = DemoCNN(8)
    Trainer(method="fast-at", epochs=3, lr=1e-2, val_steps=1).fit(
        module, load_builtin("digits", split="train"))
    return module


def test_compress_report_has_one_column_per_variant(small_cnn: DemoCNN, tmp_path: Path) -> None:
    card = compress_report(small_cnn, load_builtin("digits", split="train"),
                           load_builtin("digits", split="test"), out_dir=tmp_path, eps=0.1,
                           attacks=["fgsm"], attack_params={"square": {"n_queries": 20}}, n=80,
                           distill_method="kd", distill_epochs=1, repeats=2)
    ids = [f.id for f in card.findings]
    assert ids == ["compress.original", "compress.distilled", "compress.int8", "compress.tradeoff"]
    table = card.get("compress.tradeoff").evidence["table"]
    rows = {r[0]: dict(zip(table["columns"], r, strict=True)) for r in table["rows"]}
    assert set(rows) == {"original", "distilled", "int8"}
    assert rows["int8"]["size_bytes"] < rows["original"]["size_bytes"]
    assert rows["distilled"]["size_bytes"] < rows["original"]["size_bytes"]
    assert rows["int8"]["agreement_with_float"] >= 0.98
    assert abs(rows["int8"]["clean_accuracy"] - rows["original"]["clean_accuracy"]) <= 0.02
    for r in rows.values():
        assert 0 <= r["robust_accuracy"] <= r["clean_accuracy"] <= 1
        assert r["latency_ms_batch1"] > 0 and r["latency_ms_batch64"] > 0
        assert 0 <= r["ece"] <= 1
    for spec in card.get("compress.tradeoff").evidence["plots"]:
        assert spec["kind"] in plotspec.KINDS and len(spec["series"]) == 3
    int8 = card.get("compress.int8")
    assert "float model's gradients" in int8.detail
    assert int8.evidence["attacks"] == ["fgsm", "square"]  # a black-box attack is added
    assert (tmp_path / "variants" / "int8.pt").stat().st_size == rows["int8"]["size_bytes"]
    again = Scorecard.from_json(card.to_json(tmp_path / "scorecard.json"))
    assert again.get("compress.tradeoff").evidence["table"] == table


def test_compress_report_rejects_unknown_variants_and_attacks(small_cnn: DemoCNN,
                                                              tmp_path: Path) -> None:
    data = load_builtin("digits", split="test")
    with pytest.raises(InputError, match="variants"):
        compress_report(small_cnn, data, data, out_dir=tmp_path, variants=["original", "onnx"])
    with pytest.raises(InputError, match="unknown attack"):
        compress_report(small_cnn, data, data, out_dir=tmp_path, attacks=["pgdd"])


def test_harden_then_resume_then_compress_through_the_cli(tmp_path: Path) -> None:
    out = tmp_path / "run"
    common = ["harden", "--arch", "trustbench.demo:DemoCNN", "--arch-kwargs", '{"width": 4}',
              "--data", "digits", "--method", "fast-at", "--attacks", "fgsm", "--n", "40",
              "--out", str(out), "--quiet", "--no-html"]
    result = runner.invoke(app, [*common, "--epochs", "1"])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "robust accuracy" in result.output
    for name in ("model.safetensors", "model.json", "checkpoint.pt", "before/scorecard.json",
                 "after/scorecard.json"):
        assert (out / name).exists(), name
    ref = json.loads((out / "model.json").read_text())
    assert ref["arch"] == "trustbench.demo:DemoCNN" and ref["arch_kwargs"] == {"width": 4}
    assert "--data digits" in ref["scan_command"]
    loaded = load_model(out / "model.safetensors", arch=ref["arch"], arch_kwargs=ref["arch_kwargs"])
    after = Scorecard.from_json(out / "after" / "scorecard.json")
    assert after.findings[0].id == "harden.training"
    assert after.provenance["model"]["fingerprint"] == loaded.fingerprint()

    resumed = runner.invoke(app, [*common, "--epochs", "2", "--resume"])
    assert resumed.exit_code == 0, resumed.output + repr(resumed.exception)
    assert "reused" in resumed.output
    history = Scorecard.from_json(out / "after" / "scorecard.json").findings[0].evidence["history"]
    assert [h["epoch"] for h in history] == [1, 2]

    comp = runner.invoke(app, ["compress", "--model", str(out / "model.safetensors"), "--data",
                               "digits", "--variants", "original,int8", "--attacks", "fgsm",
                               "--attack-params", '{"square": {"n_queries": 20}}',
                               "--n", "40", "--repeats", "2", "--out", str(tmp_path / "c"),
                               "--quiet"])
    assert comp.exit_code == 0, comp.output + repr(comp.exception)
    card = Scorecard.from_json(tmp_path / "c" / "scorecard.json")
    assert (tmp_path / "c" / "report.html").exists()
    assert [f.id for f in card.findings] == ["compress.original", "compress.int8",
                                             "compress.tradeoff"]


@pytest.mark.parametrize("args, needle", [
    (["harden", "--arch", "trustbench.demo:DemoCNN", "--data", "digits", "--method", "mart"],
     "method"),
    (["harden", "--arch", "trustbench.demo:DemoCNN", "--data", "digits", "--arch-kwargs", "[1]"],
     "JSON object"),
    (["harden", "--arch", "trustbench.demo:DemoCNN", "--data", "digits", "--resume", "--out",
      "nowhere", "--epochs", "1", "--no-before"], "no checkpoint"),
])
def test_bad_harden_input_raises_input_error(args: list[str], needle: str, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, args)
    assert isinstance(result.exception, InputError), result.output
    assert needle in str(result.exception)


def test_compress_without_arch_reference_raises_input_error(tmp_path: Path) -> None:
    weights = tmp_path / "w.safetensors"
    from safetensors.torch import save_file

    save_file(DemoCNN(4).state_dict(), str(weights))
    result = runner.invoke(app, ["compress", "--model", str(weights), "--data", "digits"])
    assert isinstance(result.exception, InputError)
    assert "--arch" in str(result.exception)
