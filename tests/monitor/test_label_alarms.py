"""Late labels re-check their windows: a fall in accuracy, overall or in a group, alarms once.

Against both stores (SQLite, and the real PostgreSQL the monitor's script starts), through
the CLI a cron job would run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from trustbench.cli import app

runner = CliRunner()


def _table(n: int, *, start: int = 0, seed: int = 0, wrong: dict[str, float] | None = None,
           ) -> pd.DataFrame:
    """Rows whose logged probabilities are right about 85% of the time; ``wrong`` makes a
    city's labels disagree with the model that much more often."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n)
    p = 1 / (1 + np.exp(-2 * x))
    city = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    y = (rng.random(n) < p).astype(int)
    for c, share in (wrong or {}).items():
        flip = (city == c) & (rng.random(n) < share)
        y[flip] = (p[flip] < 0.5).astype(int)  # the opposite of what the model says
    return pd.DataFrame({"id": np.arange(start, start + n), "x": x, "city": city,
                         "p0": 1 - p, "p1": p, "y": y})


def _tb(*args: object) -> object:
    return runner.invoke(app, [str(a) for a in args])


def test_labels_that_show_a_fall_raise_performance_and_fairness_alerts(db_url: str,
                                                                       tmp_path: Path) -> None:
    from trustbench.monitor.store import open_store

    d = tmp_path
    _table(6000).to_csv(d / "ref.csv", index=False)
    db = ("--db", db_url, "-n", "churn")
    r = _tb("monitor", "init", *db, "-r", d / "ref.csv", "--proba", "p0,p1", "--label", "y",
            "--id", "id", "--group", "city")
    assert r.exit_code == 0, r.output
    held = _table(1500, start=10_000, seed=1)  # the model holds its accuracy
    fell = _table(1500, start=20_000, seed=2, wrong={"c": 0.6})  # city c: about 50 points down
    for i, t in enumerate((held, fell), 1):
        t.drop(columns=["y"]).to_csv(d / f"w{i}.csv", index=False)
        assert _tb("monitor", "ingest", *db, d / f"w{i}.csv").exit_code == 0
    held[["id", "y"]].to_csv(d / "l1.csv", index=False)
    r = _tb("monitor", "ingest", *db, "--labels", d / "l1.csv")
    assert r.exit_code == 0 and "1500 rows labelled in window 1" in r.output, r.output
    assert "ALERT" not in r.output
    fell[["id", "y"]].to_csv(d / "l2.csv", index=False)
    r = _tb("monitor", "ingest", *db, "--labels", d / "l2.csv")
    assert r.exit_code == 0, r.output
    lines = [line for line in r.stdout.splitlines() if line.startswith("ALERT")]
    assert len(lines) == 2, r.output
    assert lines[0].startswith("ALERT window 2 monitor.performance: Accuracy fell to")
    assert lines[1].startswith("ALERT window 2 monitor.fairness: Accuracy fell in group 'c'")
    assert "'a'" not in lines[1] and "'b'" not in lines[1]
    with open_store(db_url, create=False) as store:
        alerts = store.alerts("churn")
    assert [(a["window"], a["kind"], a["subject"]) for a in alerts] == [
        (2, "performance", "accuracy"), (2, "fairness", "group accuracy")]
    # the same labels again, and a check of the window: the alarm is not stored twice
    r = _tb("monitor", "ingest", *db, "--labels", d / "l2.csv")
    assert r.exit_code == 0
    r = _tb("monitor", "check", *db, "--window", 2)
    assert r.exit_code == 1 and "ALERT monitor.fairness" in r.output
    r = _tb("monitor", "check", *db, "--window", 1)
    assert r.exit_code == 0, r.output
    with open_store(db_url, create=False) as store:
        assert len(store.alerts("churn")) == 2


def test_min_drop_is_checked_at_init(tmp_path: Path) -> None:
    _table(500).to_csv(tmp_path / "ref.csv", index=False)
    r = _tb("monitor", "init", "--db", tmp_path / "h.db", "-n", "m", "-r", tmp_path / "ref.csv",
            "--proba", "p0,p1", "--label", "y", "--min-drop", "1.5")
    assert r.exit_code == 2 and "--min-drop must be in (0, 1)" in r.output
    assert not (tmp_path / "h.db").exists() or "m" not in _monitors(tmp_path / "h.db")


def _monitors(db: Path) -> list[str]:
    from trustbench.monitor.store import open_store

    with open_store(db, create=False) as store:
        return store.monitors()
