"""Audit a tabular train/test pair with planted problems, write a dataset card, and carry
the audit's caveats into a scan of a model.

The data is synthetic (a loan-style table) so the right answers are known: 30 training rows
repeated, 12 test rows copied from training, 8% of the labels flipped, a group whose
positive rate is lower, and a column with gaps that depend on the label (training rows
only: a scan needs a complete test file).

    python examples/audit_tabular.py --out audit-report

Writes OUT/scorecard.json, OUT/report.html (if the HTML renderer is installed), OUT/card.md
and OUT/card.json, and prints a summary.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from trustbench.audit import audit, caveat_findings, write_card
from trustbench.checks import ScanConfig
from trustbench.data import load_data
from trustbench.scan import scan

FEATURES = ["income", "debt", "age", "tenure"]


def make_tables(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    n = 1200
    x = rng.normal(size=(n, 4))
    region = np.where(rng.random(n) < 0.25, "south", "north")
    score = 1.5 * x[:, 0] - x[:, 1] + 0.5 * x[:, 3] - 0.8 * (region == "south")
    y = (score > 0).astype(int)
    flip = rng.random(n) < 0.08  # label errors
    y[flip] = 1 - y[flip]
    df = pd.DataFrame(x * [20_000, 5_000, 12, 4] + [50_000, 10_000, 40, 6], columns=FEATURES)
    df["region"] = region
    gaps = (y == 1) & (rng.random(n) < 0.3) & (np.arange(n) < 900)  # in training rows only
    df.loc[gaps, "tenure"] = np.nan  # gaps that depend on the label
    df["approved"] = y
    train, test = df.iloc[:900].reset_index(drop=True), df.iloc[900:].reset_index(drop=True)
    train.iloc[870:900] = train.iloc[0:30].to_numpy()  # repeated rows
    complete = np.flatnonzero(train.notna().all(axis=1).to_numpy())[100:112]
    test.iloc[0:12] = train.iloc[complete].to_numpy()  # leaked into the test set
    return train.astype({c: float for c in FEATURES} | {"approved": int}), test.astype(
        {c: float for c in FEATURES} | {"approved": int})


def main() -> None:
    parser = argparse.ArgumentParser(description="Audit a tabular dataset.")
    parser.add_argument("--out", type=Path, default=Path("audit-report"))
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    train, test = make_tables()
    train.to_csv(out / "train.csv", index=False)
    test.to_csv(out / "test.csv", index=False)

    model = make_pipeline(SimpleImputer(strategy="median"), StandardScaler(),
                          LogisticRegression()).fit(train[FEATURES], train["approved"])

    card = audit(out / "train.csv", out / "test.csv", target="approved", groups=["region"],
                 expect=["region=north:0.5,south:0.5"], model=model, seed=0)
    card.to_json(out / "scorecard.json")
    write_card(card, out / "card.md")
    try:
        from trustbench.report import write_html
    except ImportError:
        write_html = None
    if write_html is not None:
        write_html(card, out / "report.html")

    print(f"Audit verdict: {card.verdict}")
    for f in card.findings:
        if f.severity != "info":
            print(f"  [{f.severity}] {f.id}: {f.title}")
    flags = card.get("audit.test_flags")
    print(f"Flagged test rows: {flags.title}")

    # The audit's caveats in a scan of the same test file (what `scan --audit` does).
    data = load_data(out / "test.csv", target="approved", group="region")
    scanned = scan(model, data, ScanConfig(attacks=["square"], eps=[0.05], validity=False,
                                           attack_params={"square": {"n_queries": 300}},
                                           shifts=[], calibration=False, ood=False,
                                           subgroups=False, seed=0))
    [caveat] = caveat_findings(scanned, card)
    m = caveat.metrics
    robust = [k for k in m if k.startswith("robust_accuracy_without_flagged.")]
    print(f"Scan: {caveat.title}")
    if robust:
        tag = robust[0].split(".", 1)[1]
        print(f"  robust accuracy ({tag}): {m['robust_accuracy.' + tag].value:.1%} on all rows, "
              f"{m[robust[0]].value:.1%} without the flagged rows")
    print(f"Written: {out / 'scorecard.json'}, {out / 'card.md'}, {out / 'card.json'}"
          + (f", {out / 'report.html'}" if write_html is not None else ""))


if __name__ == "__main__":
    main()
