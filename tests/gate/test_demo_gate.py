"""Acceptance: the CI gate passes the demo model against its own baseline and fails a
deliberately degraded one (trained on 10% of the data), with exit codes 0 and 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trustbench.cli import app

runner = CliRunner()
RULES = ["--fail-on", "any fail", "--fail-on", "accuracy drop > 2pt",
         "--fail-on", "robust_acc@linf:0.05 drop > 2pt"]


@pytest.mark.slow
def test_gate_passes_itself_and_fails_a_degraded_model(tmp_path: Path, demo_report: Path) -> None:
    base = demo_report
    card = base / "scorecard.json"
    for name in ("scorecard.json", "report.html", "summary.md", "junit.xml"):
        assert (base / name).stat().st_size > 0

    same = runner.invoke(app, ["demo", "--n", "60", "--quiet", "--out", str(tmp_path / "same"),
                               "--baseline", str(card), *RULES])
    assert same.exit_code == 0, same.output
    again = json.loads((tmp_path / "same" / "scorecard.json").read_text())
    gate = next(f for f in again["findings"] if f["id"] == "gate.result")
    assert gate["severity"] == "info" and gate["metrics"]["failed"]["value"] == 0
    comparison = next(f for f in again["findings"] if f["id"] == "baseline.comparison")
    assert comparison["evidence"]["comparable"] is True
    assert all(d["delta"] == 0 for d in comparison["evidence"]["deltas"] if d["delta"] is not None)

    weak = runner.invoke(app, ["demo", "--n", "60", "--quiet", "--train-fraction", "0.1",
                               "--out", str(tmp_path / "weak"), "--baseline", str(card), *RULES])
    assert weak.exit_code == 1, weak.output
    assert "gate failed: accuracy drop > 2pt" in " ".join(weak.stderr.split())
    junit = (tmp_path / "weak" / "junit.xml").read_text()
    assert "gate.result" in junit and "<failure" in junit
    assert "Regression against baseline" in (tmp_path / "weak" / "report.html").read_text()
