"""``trustbench monitor init|ingest|check`` as a cron job or CI step would run them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from trustbench.cli import app

runner = CliRunner()


def _table(n: int, *, shift: float = 0.0, start: int = 0, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1, n)
    p = 1 / (1 + np.exp(-2 * x))
    y = (rng.random(n) < p).astype(int)
    return pd.DataFrame({"id": np.arange(start, start + n), "x": x, "z": rng.normal(size=n),
                         "city": rng.choice(["a", "b"], n), "p0": 1 - p, "p1": p, "y": y})


@pytest.fixture
def files(tmp_path: Path) -> Path:
    _table(4000).to_csv(tmp_path / "ref.csv", index=False)
    same = _table(500, start=10_000, seed=1)
    same.drop(columns=["y"]).to_csv(tmp_path / "same.csv", index=False)
    same[["id", "y"]].to_csv(tmp_path / "labels.csv", index=False)
    _table(500, shift=0.6, start=20_000, seed=2).drop(columns=["y"]).to_parquet(
        tmp_path / "moved.parquet")
    return tmp_path


def _tb(*args: object) -> object:
    return runner.invoke(app, [str(a) for a in args])


def _init(d: Path) -> None:
    r = _tb("monitor", "init", "--db", d / "h.db", "-n", "churn", "-r", d / "ref.csv",
            "--proba", "p0,p1", "--label", "y", "--id", "id", "--group", "city")
    assert r.exit_code == 0, r.output
    assert "4000 reference rows" in r.output


def test_a_stream_from_init_to_an_alert(files: Path) -> None:
    d = files
    _init(d)
    db = ("--db", d / "h.db", "-n", "churn")
    r = _tb("monitor", "ingest", *db, d / "same.csv")
    assert r.exit_code == 0 and "stored as window 1" in r.output
    r = _tb("monitor", "ingest", *db, d / "same.csv")  # a retry stores nothing new
    assert r.exit_code == 0 and "already stored as window 1" in r.output
    r = _tb("monitor", "check", *db, "--out", d / "one.json")
    assert r.exit_code == 0, r.output
    card = json.loads((d / "one.json").read_text())
    ids = {f["id"] for f in card["findings"]}
    assert {"monitor.drift.x", "monitor.drift.city", "monitor.performance.estimated"} <= ids
    estimated = next(f for f in card["findings"] if f["id"] == "monitor.performance.estimated")
    assert "MEASURE 2.4" in estimated["tags"]["subcategories"]
    r = _tb("monitor", "ingest", *db, "--labels", d / "labels.csv")
    assert r.exit_code == 0 and "500 rows labelled" in r.output
    r = _tb("monitor", "check", *db, "--out", d / "labelled.json")
    assert r.exit_code == 0
    ids = {f["id"] for f in json.loads((d / "labelled.json").read_text())["findings"]}
    assert {"monitor.performance", "monitor.fairness"} <= ids
    r = _tb("monitor", "ingest", *db, d / "moved.parquet")
    assert "window 2" in r.output
    r = _tb("monitor", "check", *db)
    assert r.exit_code == 1
    lines = [line for line in r.stdout.splitlines() if line.startswith("ALERT")]
    assert any(line.startswith("ALERT monitor.drift.x:") for line in lines)
    assert not any("monitor.drift.z" in line for line in lines)


@pytest.mark.parametrize(("args", "message"), [
    (("ingest", "{d}/same.csv", "--name", "nope"), "no monitor named 'nope'"),
    (("check", "--window", "9"), "has no window 9"),
    (("ingest", "{d}/bad.csv"), "column 'p1' does not exist"),
    (("ingest", "{d}/text.csv"), "'x' is numeric in the profile, but row 2 holds 'high'"),
    (("ingest", "{d}/missing.csv"), "no such file"),
])
def test_bad_input_is_one_line_and_exit_2(files: Path, args: tuple, message: str) -> None:
    d = files
    _init(d)
    _tb("monitor", "ingest", "--db", d / "h.db", "-n", "churn", d / "same.csv")
    _table(10, seed=3).drop(columns=["p1"]).to_csv(d / "bad.csv", index=False)
    text = _table(10, seed=4).astype({"x": object})
    text.loc[1, "x"] = "high"
    text.to_csv(d / "text.csv", index=False)
    argv = [a.format(d=d) for a in args]
    if "--name" not in argv:
        argv += ["--name", "churn"]
    r = _tb("monitor", argv[0], "--db", d / "h.db", *argv[1:])
    assert r.exit_code == 2, r.output
    assert message in r.output and "Traceback" not in r.output
    assert len([x for x in r.output.splitlines() if x.strip()]) == 1


def test_a_second_init_of_one_name_is_refused_before_any_reading(files: Path) -> None:
    _init(files)
    r = _tb("monitor", "init", "--db", files / "h.db", "-n", "churn", "-r", files / "nope.csv")
    assert r.exit_code == 2 and "a monitor named 'churn' already exists" in r.output


def test_a_database_that_is_not_one_is_refused(tmp_path: Path) -> None:
    (tmp_path / "h.db").write_bytes(b"not a database" * 50)
    r = _tb("monitor", "check", "--db", tmp_path / "h.db", "-n", "x")
    assert r.exit_code == 2 and "not a SQLite database" in r.output
    r = _tb("monitor", "check", "--db", tmp_path / "none.db", "-n", "x")
    assert r.exit_code == 2 and "no such database" in r.output


@pytest.mark.parametrize("args", [
    ("init", "-r", "{d}/ref.csv"), ("ingest", "{d}/same.csv"), ("check",), ("report",),
    ("register", "--version", "v2", "--model", "{d}/m.skops")])
def test_without_the_extra_the_command_names_it(files: Path, monkeypatch, args: tuple) -> None:
    monkeypatch.setitem(sys.modules, "sqlalchemy", None)
    r = _tb("monitor", args[0], "--db", files / "h.db", "-n", "m",
            *(a.format(d=files) for a in args[1:]))
    assert r.exit_code == 2
    assert "pip install 'trustbench[monitor]'" in r.output


def test_check_exits_1_in_a_real_process(files: Path) -> None:
    d = files
    _init(d)
    tb = [shutil.which("trustbench", path=str(Path(sys.executable).parent))
          or shutil.which("trustbench") or "trustbench"]
    for table in ("same.csv", "moved.parquet"):
        subprocess.run([*tb, "monitor", "ingest", "--db", str(d / "h.db"), "-n", "churn",
                        str(d / table)], check=True, capture_output=True)
    done = subprocess.run([*tb, "monitor", "check", "--db", str(d / "h.db"), "-n", "churn"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 1 and done.stdout.startswith("ALERT monitor.drift.")


def test_report_draws_the_history(files: Path) -> None:
    d = files
    _init(d)
    db = ("--db", d / "h.db", "-n", "churn")
    for table in ("same.csv", "moved.parquet"):
        assert _tb("monitor", "ingest", *db, d / table).exit_code == 0
    _tb("monitor", "ingest", *db, "--labels", d / "labels.csv")
    r = _tb("monitor", "report", *db, "--out", d / "report")
    assert r.exit_code == 0, r.output
    page = (d / "report" / "report.html").read_text()
    assert "Drift per column and window" in page and "Accuracy per window" in page
    card = json.loads((d / "report" / "scorecard.json").read_text())
    drift = next(f for f in card["findings"] if f["id"] == "monitor.history.drift")
    assert drift["evidence"]["alarmed"] == [2]  # the moved window, not the first
    perf = next(f for f in card["findings"] if f["id"] == "monitor.history.performance")
    assert perf["metrics"]["labelled_windows"]["value"] == 1
    assert perf["metrics"]["estimated_windows"]["value"] == 1
