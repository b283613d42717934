"""Time ``trustbench audit`` on a large numeric table (default 1,000,000 rows × 50 columns).

The table is generated (seeded), written to Parquet, and audited as a train/test pair
(80/20) with every check that needs no model of the user's: duplicates (with planted exact
and near copies), leakage (with planted shared rows), target leakage, label errors (default
logistic model, 3 folds, each fitted on at most 100,000 rows), missing values, outliers,
constant columns, representation and label rate by a group column.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/audit_scale.py [--rows N] [--cols F]

Prints the time of each check, the total, and whether the planted problems were found.
Not a timed test: the result goes to docs/benchmarks.md with this command.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def make_table(rows: int, cols: int, seed: int = 0) -> pd.DataFrame:
    """Train rows first (80%), then test rows, with planted copies: train rows 1000..1099
    repeat rows 0..99 exactly, train rows 3000..3099 nearly repeat rows 2000..2099, and the
    first 50 test rows repeat train rows 5000..5049."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, cols), dtype=np.float32)  # (N, F)
    w = rng.standard_normal(cols).astype(np.float32)
    y = (x @ w + rng.standard_normal(rows, dtype=np.float32) * 2 > 0).astype(np.int8)
    flip = rng.random(rows) < 0.02  # 2% label noise
    y[flip] = 1 - y[flip]
    group = np.where(rng.random(rows) < 0.3, "b", "a")
    x[rng.random(rows) < 0.05, 3] = np.nan  # a column with gaps
    n_train = int(0.8 * rows)
    for dst, src in ((np.arange(1000, 1100), np.arange(100)),
                     (np.arange(n_train, n_train + 50), np.arange(5000, 5050))):
        x[dst], y[dst], group[dst] = x[src], y[src], group[src]
    x[3000:3100] = x[2000:2100] + np.float32(1e-4)
    df = pd.DataFrame(x, columns=[f"x{i}" for i in range(cols)])
    df["group"] = group
    df["y"] = y
    return df


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cols", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from trustbench.audit import audit

    t = time.perf_counter()
    df = make_table(args.rows, args.cols, args.seed)
    n_train = int(0.8 * args.rows)
    train, test = df.iloc[:n_train], df.iloc[n_train:].reset_index(drop=True)
    print(f"generated {args.rows:,} x {args.cols} in {time.perf_counter() - t:.1f}s")
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        train.to_parquet(Path(tmp) / "train.parquet")
        test.to_parquet(Path(tmp) / "test.parquet")
        print(f"wrote Parquet in {time.perf_counter() - t:.1f}s")
        started: dict[str, float] = {}

        def progress(description: str, total: int):  # type: ignore[no-untyped-def]
            started[description] = time.perf_counter()
            return lambda n: None

        t = time.perf_counter()
        card = audit(Path(tmp) / "train.parquet", Path(tmp) / "test.parquet", target="y",
                     groups=["group"], progress=progress)
        total = time.perf_counter() - t
    for name, seconds in card.provenance["timings_seconds"].items():
        print(f"  {name:<16} {seconds:8.2f}s")
    print(f"audit of {args.rows:,} rows x {args.cols} columns (read + all checks + card data): "
          f"{total:.1f}s")
    for fid in ("audit.duplicates.exact", "audit.duplicates.near", "audit.leakage.shared_rows",
                "audit.label_errors", "audit.missing", "audit.outliers"):
        f = card.get(fid)
        print(f"  [{f.severity}] {fid}: {f.title}")


if __name__ == "__main__":
    main()
