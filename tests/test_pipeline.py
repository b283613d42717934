"""The whole scan pipeline from Python (``run_scan`` + ``write_reports``): the same files and
findings as ``trustbench scan``, baselines checked, audit caveats applied structurally, gate
rules fired."""

from __future__ import annotations

import json
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from trustbench import (
    Dataset,
    InputError,
    NotMeasured,
    ScanConfig,
    Schema,
    Scorecard,
    load_data,
    load_model,
    open_output,
    run_scan,
    write_reports,
)
from trustbench.audit.caveats import CAVEATS_ID, apply_caveats
from trustbench.cli import app
from trustbench.scorecard import NOT_AUDITED
from trustbench.testing.toy import toy_blobs, toy_digits_mlp, toy_mlp

FAST = ScanConfig(n=40, eps=[0.1], attacks=["fgsm"], shifts=[], calibration=False, ood=False,
                  subgroups=False, validity=False, batch_size=64)
FLAGS = ["--n", "40", "--eps", "0.1", "--attacks", "fgsm", "--shifts", "none",
         "--no-calibration", "--no-ood", "--no-subgroups", "--no-validity", "--batch-size", "64",
         "-q"]


@pytest.fixture(scope="module")
def blobs() -> Dataset:
    x, y = toy_blobs(80)
    return Dataset(x.numpy(), y.numpy(), Schema("tabular", np.zeros(8), np.ones(8)), name="blobs")


def _results(card: dict) -> list[tuple[str, str, dict]]:
    """Findings without what differs between two runs (timings, dates)."""
    return [(f["id"], f["severity"], {k: m["value"] for k, m in f["metrics"].items()
                                      if k != "wall_time"})
            for f in card["findings"] if f["id"] != "provenance"]


def test_python_pipeline_writes_what_the_cli_writes(tmp_path: Path) -> None:
    path = tmp_path / "model.ts"
    with warnings.catch_warnings():  # torch deprecates TorchScript; it still saves
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.script(toy_digits_mlp(0).module).save(str(path))
    r = CliRunner().invoke(app, ["scan", "--model", str(path), "--data", "digits", "--out",
                                 str(tmp_path / "cli"), *FLAGS])
    assert r.exit_code == 0, r.output
    with open_output(tmp_path / "py") as folder:
        outcome = run_scan(load_model(str(path)), load_data("digits"), FAST)
        written = write_reports(outcome.card, folder)
    assert [p.name for p in written] == ["scorecard.json", "report.html", "summary.md",
                                         "junit.xml"]
    assert sorted(p.name for p in (tmp_path / "py").iterdir()) == sorted(
        p.name for p in (tmp_path / "cli").iterdir())
    cli_card, py_card = (json.loads((tmp_path / d / "scorecard.json").read_text())
                         for d in ("cli", "py"))
    assert _results(py_card) == _results(cli_card)
    assert py_card["not_measured"] == cli_card["not_measured"]
    assert all(isinstance(s, str) for s in py_card["not_measured"])
    assert str(NOT_AUDITED) in py_card["not_measured"]
    assert outcome.gate.failed == []


def test_write_reports_takes_a_path_and_chosen_formats(blobs: Dataset, tmp_path: Path) -> None:
    card = run_scan(toy_mlp(0), blobs, FAST).card
    (tmp_path / "junit.xml").write_text("an earlier run's")
    written = write_reports(card, tmp_path, formats=["json", "markdown"])
    assert [p.name for p in written] == ["scorecard.json", "summary.md"]
    assert not (tmp_path / "junit.xml").exists()  # never two runs' files in one folder
    assert Scorecard.from_json(written[0]).not_measured == [str(s) for s in card.not_measured]
    with pytest.raises(InputError, match="formats"):
        write_reports(card, tmp_path, formats=["pdf"])


def test_open_output_refuses_to_write_over_the_baseline(blobs: Dataset, tmp_path: Path) -> None:
    write_reports(run_scan(toy_mlp(0), blobs, FAST).card, tmp_path / "a")
    with pytest.raises(InputError, match="baseline"):
        with open_output(tmp_path / "a", protect=[tmp_path / "a" / "scorecard.json"]):
            pass


def test_a_baseline_of_other_data_is_refused(blobs: Dataset, tmp_path: Path) -> None:
    other = Dataset(blobs.x[::-1].copy(), blobs.y[::-1].copy(), blobs.schema, name="reversed")
    write_reports(run_scan(toy_mlp(0), other, FAST).card, tmp_path)
    with pytest.raises(InputError, match="different data"):
        run_scan(toy_mlp(0), blobs, FAST, baseline=tmp_path / "scorecard.json")
    outcome = run_scan(toy_mlp(0), blobs, FAST, baseline=tmp_path / "scorecard.json",
                       allow_mismatch=True)
    assert outcome.card.get("baseline.comparison") is not None


def test_gate_rules_fire(blobs: Dataset) -> None:
    base = run_scan(toy_mlp(0), blobs, FAST).card
    outcome = run_scan(toy_mlp(1, hidden=2), blobs, FAST, baseline=base,
                       rules=["accuracy < 0.999", "accuracy drop > 0.1pt", "accuracy < 0.0"])
    assert [r.rule.text for r in outcome.gate.failed] == ["accuracy < 0.999",
                                                          "accuracy drop > 0.1pt"]
    assert outcome.card.get("gate.result").severity == "fail"
    assert run_scan(toy_mlp(0), blobs, FAST, rules=["accuracy < 0.0"]).gate.failed == []


def test_a_rule_against_a_missing_baseline_fails_before_work(blobs: Dataset) -> None:
    with pytest.raises(InputError, match="compares against a baseline"):
        run_scan(object(), blobs, FAST, rules=["accuracy drop > 2pt"])  # the model is never used


def test_audit_caveats_drop_the_audit_record_by_its_check(blobs: Dataset) -> None:
    plain = run_scan(toy_mlp(0), blobs, FAST).card
    [record] = [s for s in plain.not_measured if getattr(s, "check", "") == NOT_AUDITED.check]
    assert isinstance(record, NotMeasured) and "trustbench audit" in record.reason
    outcome = run_scan(toy_mlp(0), blobs, FAST, audit=Scorecard())  # an audit without --test
    assert outcome.card.get(CAVEATS_ID) is not None
    assert NOT_AUDITED.check not in [getattr(s, "check", "") for s in outcome.card.not_measured]
    assert len(outcome.card.not_measured) == len(plain.not_measured) - 1
    # a record is found by its field, not its words; a card read back holds sentences
    other = NotMeasured("x", "run 'trustbench audit' later")
    card = Scorecard(not_measured=[other, str(NOT_AUDITED), "calibration (disabled)"])
    assert apply_caveats(card, Scorecard()).not_measured == [other, "calibration (disabled)"]


def test_not_measured_records_are_their_sentences(blobs: Dataset) -> None:
    cfg = ScanConfig(eps=[0.05, 0.1], attacks=["fgsm"], eps_units="raw", budget=1e-9,
                     calibration=False)
    card = run_scan(toy_mlp(0), blobs, cfg).card
    by_text = {str(s): s for s in card.not_measured}
    off = by_text["calibration (ECE, reliability) (disabled)"]
    assert (off.check, off.reason, off.out_of_time) == ("calibration (ECE, reliability)",
                                                        "disabled", False)
    cut = by_text["attack fgsm at eps=0.1: the time budget ran out before it finished"]
    assert cut.out_of_time and cut.check == "attack fgsm at eps=0.1"
    skipped = card.get("budget.exhausted").evidence["skipped"]  # chosen by out_of_time
    assert "the corruptions and distribution shift" in skipped and str(cut) in skipped
    assert "the calibration (ECE, reliability)" not in skipped  # disabled, not cut
    assert pickle.loads(pickle.dumps(cut)) == cut and pickle.loads(pickle.dumps(cut)).out_of_time
