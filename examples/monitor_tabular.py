"""Monitor a deployed tabular model: 30 windows, drift from window 20, late labels, a new version.

The data is synthetic so the right answer is known: a loan-style table whose ``income``
column rises by half a standard deviation from window 20 on, while everything else stays as
it was. Labels of each window arrive three windows later. The monitor must stay quiet for
windows 1-19 and raise its alert on ``income`` within three windows of the change; until a
window's labels arrive, its accuracy is an estimate from the model's confidence.

At window 25 a retrained model, v2, is registered. Its training data had a bug — half the
labels of the ``east`` region flipped — so it is worse there while its headline accuracy
barely moves. Registering it compares it with v1 on the inputs the stored windows kept and
the labels that have arrived: the regression alert names the region. v2 then serves
windows 26-30.

    python examples/monitor_tabular.py --out monitor-demo

Writes OUT/history.db (SQLite; the same commands take ``postgresql://...``), OUT/v2.joblib,
OUT/scorecard.json (the last check's findings), OUT/report/report.html (the history) and
prints one line per window.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from trustbench.monitor.jobs import check_monitor, ingest_batch, ingest_labels, init_monitor
from trustbench.monitor.report import history_card
from trustbench.monitor.store import open_store
from trustbench.monitor.versions import register_version
from trustbench.report.html import write_html

FEATURES = ["age", "income", "debt", "region"]


def table(rng: np.random.Generator, n: int, *, income_shift: float = 0.0) -> pd.DataFrame:
    """Rows of the loan table; ``income_shift`` in income standard deviations."""
    age = rng.normal(40, 10, n)
    income = rng.normal(50 + 15 * income_shift, 15, n)
    debt = rng.gamma(2.0, 5.0, n)
    region = rng.choice(["north", "south", "east"], n, p=[0.5, 0.3, 0.2])
    logit = (0.04 * (income - 50) - 0.08 * (debt - 10) + 0.02 * (age - 40)
             + np.where(region == "east", 1.0, 0.0))
    repaid = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return pd.DataFrame({"age": age, "income": income, "debt": debt, "region": region,
                         "repaid": repaid})


def main() -> None:
    """Run the 30 windows and print what the monitor saw."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("monitor-demo"))
    args = ap.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)

    def fit(train: pd.DataFrame) -> object:
        encode = make_column_transformer((StandardScaler(), ["age", "income", "debt"]),
                                         (OneHotEncoder(), ["region"]))
        return make_pipeline(encode, LogisticRegression(max_iter=1000)).fit(
            train[FEATURES], train["repaid"])

    train = table(rng, 4000)
    v1 = fit(train)
    east = (train["region"] == "east") & (rng.random(len(train)) < 0.5)
    v2 = fit(train.assign(repaid=np.where(east, 1 - train["repaid"], train["repaid"])))
    joblib.dump(v2, out / "v2.joblib")  # how a retrained model reaches the monitor: a file
    serving = v1

    def logged(frame: pd.DataFrame, start: int) -> pd.DataFrame:
        """What the serving code logs: the row id, the inputs and the model's probabilities."""
        p = serving.predict_proba(frame[FEATURES])
        return frame.assign(id=np.arange(start, start + len(frame)), p0=p[:, 0], p1=p[:, 1])

    reference = logged(table(rng, 5000), 0)
    reference.to_parquet(out / "reference.parquet")
    db = out / "history.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)  # a fresh history on every run
    with open_store(db) as store:
        init_monitor(store, "loans", out / "reference.parquet", proba_columns=["p0", "p1"],
                     label_column="repaid", id_column="id", group_column="region")
        pending: list[tuple[int, pd.DataFrame]] = []
        first_alert = None
        card = None
        regression = None
        for w in range(1, 31):
            if w == 26:  # v2 goes live after its registration at window 25
                serving = v2
            frame = logged(table(rng, 500, income_shift=0.5 if w >= 20 else 0.0), w * 10_000)
            frame.drop(columns=["repaid"]).to_csv(out / f"window-{w:02d}.csv", index=False)
            ingest_batch(store, "loans", out / f"window-{w:02d}.csv")
            pending.append((w, frame[["id", "repaid"]]))
            if pending and pending[0][0] <= w - 3:  # labels arrive three windows late
                _, labels = pending.pop(0)
                labels.to_csv(out / "labels.csv", index=False)
                got = ingest_labels(store, "loans", out / "labels.csv")
                for seq, f in got.alarms:  # a fall in accuracy, overall or in a region
                    print(f"  labels of window {seq}: ALERT {f.title}")
            card = check_monitor(store, "loans")
            alerts = [f.id.removeprefix("monitor.drift.") for f in card.findings
                      if f.severity == "fail"]
            est = card.get("monitor.performance.estimated")
            accuracy = ""
            if est is not None:
                m = est.metrics["accuracy"]
                accuracy = f"estimated accuracy {m.value:.1%} ({m.ci[0]:.0%}-{m.ci[1]:.0%})"
            print(f"window {w:2d}: {'ALERT ' + ', '.join(alerts) if alerts else 'quiet':<48}"
                  f"{accuracy}")
            if alerts and first_alert is None:
                first_alert = w
            if w == 25:  # the retrained model arrives: compare it on what the monitor saw
                reg = register_version(store, "loans", "v2", model=out / "v2.joblib",
                                       trust_pickle=True,  # our own file, written above
                                       reference=out / "reference.parquet")
                for f in reg.findings:
                    print(f"  register v2: {'ALERT ' if f.severity != 'info' else ''}{f.title}")
                regression = next((f for f in reg.findings if f.id == "monitor.compare"), None)
        # the labels of window 20 have arrived by now: its realised numbers
        card20 = check_monitor(store, "loans", window=20)
        perf = card20.get("monitor.performance")
        fair = card20.get("monitor.fairness")
        print(f"window 20, labelled: accuracy {perf.metrics['accuracy'].value:.1%} "
              f"(95% CI {perf.metrics['accuracy'].ci[0]:.1%}-{perf.metrics['accuracy'].ci[1]:.1%}),"
              f" worst region accuracy {fair.metrics['worst_group_accuracy'].value:.1%}")
        history = history_card(store, "loans")
    assert card is not None
    card.to_json(out / "scorecard.json")
    write_html(history, out / "report" / "report.html")
    if first_alert is None or not 20 <= first_alert <= 22:
        raise SystemExit(f"the monitor should alert within three windows of window 20, "
                         f"first alert: {first_alert}")
    if regression is None or regression.severity != "warn" or \
            regression.evidence.get("worst_group") != "east":
        raise SystemExit(f"registering v2 should raise a regression alert on region east, got "
                         f"{regression and regression.title}")
    print(f"first alert at window {first_alert}, on income; v2's regression caught on region "
          f"east at registration; the history is in {db} and {out / 'report' / 'report.html'}")


if __name__ == "__main__":
    main()
