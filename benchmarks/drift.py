"""Drift on 1M x 50 rows: trustbench against Evidently, alibi-detect and NannyML, side by side.

The data is generated so that the right answer is known. Reference and current tables have
1,000,000 rows and 50 columns (40 numeric, 10 categorical):

- **5 drifted columns**: ``num_0``-``num_2`` shift by 0.3 standard deviations,
  ``cat_0``-``cat_1`` move 10 points of share between two categories;
- **20 trivially shifted columns**: ``num_10``-``num_24`` by 0.02 standard deviations,
  ``cat_5``-``cat_9`` by 1 point of share — real on a million rows, irrelevant to a model;
- the other 25 columns are drawn from the same distribution in both tables.

A tool should flag exactly the 5. trustbench profiles the reference once (timed apart: it
is stored and reused) and checks the current table against the profile; the others get
both tables, as their APIs take them. Each library runs in its own process and venv
(``bash benchmarks/setup_drift_env.sh``); wall time excludes reading the Parquet files.

    bash benchmarks/setup_drift_env.sh
    .venv/bin/python benchmarks/drift.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
LIBS = {"trustbench": Path(sys.executable), **{
    name: ROOT / ".bench-drift" / name / "bin" / "python"
    for name in ("evidently", "alibi-detect", "nannyml")}}
DRIFTED = ["num_0", "num_1", "num_2", "cat_0", "cat_1"]
TRIVIAL = [f"num_{i}" for i in range(10, 25)] + [f"cat_{i}" for i in range(5, 10)]
CATEGORIES = np.array(["a", "b", "c", "d", "e"])
SHARES = np.array([0.3, 0.25, 0.2, 0.15, 0.1])


def table(n: int, rng: np.random.Generator, *, current: bool) -> pd.DataFrame:
    """One table; ``current`` plants the drifts described above."""
    cols = {}
    for i in range(40):
        name = f"num_{i}"
        shift = (0.3 if name in DRIFTED else 0.02 if name in TRIVIAL else 0.0) if current else 0.0
        scale = 1.0 + i / 10
        cols[name] = rng.normal(shift * scale, scale, n)
    for i in range(10):
        name = f"cat_{i}"
        p = SHARES.copy()
        if current and name in DRIFTED + TRIVIAL:
            move = 0.10 if name in DRIFTED else 0.01
            p[0] -= move
            p[1] += move
        cols[name] = CATEGORIES[rng.choice(5, size=n, p=p)]
    return pd.DataFrame(cols)


def main() -> None:
    """Generate, run every library, print a Markdown table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--libs", default=",".join(LIBS))
    args = ap.parse_args()
    from trustbench.monitor import build_profile

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rng = np.random.default_rng(0)
        table(args.rows, rng, current=False).to_parquet(folder / "reference.parquet")
        table(args.rows, rng, current=True).to_parquet(folder / "current.parquet")
        t = time.perf_counter()
        profile = build_profile(folder / "reference.parquet")
        (folder / "profile.json").write_text(json.dumps(profile.to_dict()))
        profile_seconds = time.perf_counter() - t
        print(f"trustbench reference profile: {profile_seconds:.1f} s (once, stored)",
              file=sys.stderr)
        rows = []
        for lib in args.libs.split(","):
            py = LIBS[lib]
            if not py.exists():
                print(f"{lib}: no venv at {py} (bash benchmarks/setup_drift_env.sh)",
                      file=sys.stderr)
                continue
            done = subprocess.run([str(py), str(ROOT / "benchmarks" / "drift_libs.py"), lib,
                                   str(folder)], capture_output=True, text=True, check=False)
            if done.returncode != 0:
                print(f"{lib} failed: {done.stderr[-3000:]}", file=sys.stderr)
                continue
            res = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append(res)
            print(f"{lib}: {res['seconds']:.1f} s, {len(res['flagged'])} flagged", file=sys.stderr)
    base = next((r["seconds"] for r in rows if r["library"] == "trustbench"), None)
    print("| library | check (s) | vs trustbench | peak RSS (MiB) | flagged | the 5 | "
          "trivial shifts flagged | others flagged |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        flagged = set(r["flagged"])
        others = sorted(flagged - set(DRIFTED) - set(TRIVIAL))
        print(f"| {r['library']} | {r['seconds']:.1f} | "
              f"{r['seconds'] / base if base else float('nan'):.1f}x | {r['peak_rss_mib']:.0f} | "
              f"{len(flagged)} | {len(flagged & set(DRIFTED))} of 5 | "
              f"{len(flagged & set(TRIVIAL))} of {len(TRIVIAL)} | "
              f"{', '.join(others) or 'none'} |")
    print(f"\ntrustbench's reference profile, built once and stored: {profile_seconds:.1f} s")


if __name__ == "__main__":
    main()
