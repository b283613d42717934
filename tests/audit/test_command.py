"""The audit command: files written, summary printed, exit codes, errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from trustbench.commands.audit import audit
from trustbench.errors import InputError

app = typer.Typer()
app.command()(audit)


@app.command()
def other() -> None:  # a second command keeps typer's "app COMMAND" form, as in cli.py
    """Placeholder."""


runner = CliRunner()


@pytest.fixture(scope="module")
def files(planted, tmp_path_factory) -> tuple[Path, Path]:  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("cmd")
    planted.train.to_csv(folder / "train.csv", index=False)
    planted.test.to_csv(folder / "test.csv", index=False)
    return folder / "train.csv", folder / "test.csv"


def test_writes_scorecard_report_and_card(files, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    train, test = files
    res = runner.invoke(app, ["audit", "--data", str(train), "--test", str(test), "--target",
                              "y", "--group", "g", "--id", "uid", "--time", "t", "--expect",
                              "g=x:0.7,y:0.3", "--checks", "duplicates,leakage,representation",
                              "--out", str(tmp_path), "--quiet"])
    assert res.exit_code == 0, res.output
    card = json.loads((tmp_path / "scorecard.json").read_text())
    assert card["provenance"]["kind"] == "audit" and card["verdict"] == "warn"
    assert (tmp_path / "card.md").read_text().startswith("# Dataset card")
    assert json.loads((tmp_path / "card.json").read_text())["known_issues"]
    assert (tmp_path / "report.html").exists()
    assert "test rows also appear in the training data" in res.output
    assert "Written:" in res.output


def test_strict_exits_1_on_fail(files, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    train, _ = files
    df = pd.read_csv(train).assign(leak=lambda d: d["y"] * 3.0)
    df.to_csv(tmp_path / "leaky.csv", index=False)
    args = ["audit", "--data", str(tmp_path / "leaky.csv"), "--target", "y", "--checks",
            "target_proxy", "--out", str(tmp_path / "o"), "--card", str(tmp_path / "c" / "dc.md")]
    assert runner.invoke(app, args).exit_code == 0
    assert (tmp_path / "c" / "dc.json").exists()
    assert runner.invoke(app, [*args, "--strict"]).exit_code == 1


def test_bad_input_raises_input_error(files, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    train, _ = files
    res = runner.invoke(app, ["audit", "--data", str(train), "--target", "nope", "--out",
                              str(tmp_path)])
    assert isinstance(res.exception, InputError) and "'nope' does not exist" in str(res.exception)
    res = runner.invoke(app, ["audit", "--data", str(train), "--target", "y", "--max-rows", "5"])
    assert isinstance(res.exception, InputError)


def test_a_folder_of_shards_runs_the_mergeable_passes(files, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("pyarrow")
    train, test = files
    df = pd.read_csv(train)
    folder = tmp_path / "shards"
    folder.mkdir()
    for i in range(3):
        df.iloc[i::3].reset_index(drop=True).to_parquet(folder / f"p{i}.parquet")
    out = tmp_path / "o"
    res = runner.invoke(app, ["audit", "--data", str(folder), "--target", "y", "--group", "g",
                              "--processes", "2", "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    card = json.loads((out / "scorecard.json").read_text())
    assert card["provenance"]["data"]["train"]["rows"] == len(df)
    assert len(card["provenance"]["data"]["train"]["shards"]) == 3
    assert {f["id"] for f in card["findings"]} >= {"audit.duplicates.exact",
                                                   "audit.duplicates.conflicting_labels"}
    assert any(m.startswith("audit.label_errors: not run on shards") for m in card["not_measured"])
    assert (out / "card.md").exists() and (out / "report.html").exists()
    for extra in (["--test", str(test)], ["--checks", "duplicates"]):
        res = runner.invoke(app, ["audit", "--data", str(folder), *extra, "--out", str(out)])
        assert isinstance(res.exception, InputError)
        assert f"{extra[0]} cannot be used with --data" in str(res.exception)
    res = runner.invoke(app, ["audit", "--data", str(train), "--executor", "ray", "--out",
                              str(out)])
    assert isinstance(res.exception, InputError) and "spread a folder" in str(res.exception)
