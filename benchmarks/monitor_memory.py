"""Peak memory of profiling, checking and ingesting 10M x 50 rows read from Parquet in chunks.

Writes a 10,000,000-row, 50-column Parquet file (40 numeric, 10 categorical columns) in
row groups, then, each in a fresh process: builds the reference profile from it; sketches
it as a window against that profile and checks it; and ingests it as one window into a
SQLite monitoring database (what ``trustbench monitor ingest`` does: its profile, a row
per input row, and 100,000 kept input rows). Reports wall time and peak RSS (the target
of issue 13: under 2 GB whatever the file's length).

    .venv/bin/python benchmarks/monitor_memory.py [--rows 10000000] [--folder DIR]
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

CHILD = """
import json, resource, sys, time
from pathlib import Path
from trustbench.monitor import build_profile, check_drift
from trustbench.monitor.profile import Profile
path, step = Path(sys.argv[1]), sys.argv[2]
t = time.perf_counter()
if step == "profile":
    p = build_profile(path)
    Path(sys.argv[3]).write_text(json.dumps(p.to_dict()))
    extra = {"rows": p.rows}
elif step == "check":
    ref = Profile.from_dict(json.loads(Path(sys.argv[3]).read_text()))
    window = build_profile(path, reference=ref)
    extra = {"alarms": len(check_drift(ref.features, window.features).alarms)}
else:
    from trustbench.monitor.jobs import ingest_batch
    from trustbench.monitor.store import open_store
    with open_store(path.parent / "history.db") as store:
        ref = Profile.from_dict(json.loads(Path(sys.argv[3]).read_text()))
        store.create_monitor("m", ref, version="v1", settings={"alpha": 0.05})
        t = time.perf_counter()
        r = ingest_batch(store, "m", path)
        extra = {"rows": r.rows, "database_mib": (path.parent / "history.db").stat().st_size / 2**20}
print(json.dumps({"step": step, "seconds": time.perf_counter() - t,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  **extra}))
"""


def write(path: Path, rows: int, *, group: int = 500_000) -> None:
    """Write the table in row groups (never all in memory)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    cats = np.array(["a", "b", "c", "d", "e"])
    writer = None
    for start in range(0, rows, group):
        n = min(group, rows - start)
        cols = {f"num_{i}": rng.normal(0, 1 + i / 10, n) for i in range(40)}
        cols |= {f"cat_{i}": cats[rng.integers(0, 5, n)] for i in range(10)}
        t = pa.table(cols)
        writer = writer or pq.ParquetWriter(path, t.schema)
        writer.write_table(t)
    if writer is not None:
        writer.close()


def main() -> None:
    """Write the file, run each step in a fresh process, print a Markdown table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--folder", type=Path, default=None)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(dir=args.folder) as tmp:
        folder = Path(tmp)
        data, profile = folder / "rows.parquet", folder / "profile.json"
        t = time.perf_counter()
        write(data, args.rows)
        print(f"wrote {args.rows:,} x 50 rows ({data.stat().st_size / 2**30:.1f} GiB) in "
              f"{time.perf_counter() - t:.0f} s", file=sys.stderr)
        results = []
        for step in ("profile", "check", "ingest"):
            done = subprocess.run([sys.executable, "-c", CHILD, str(data), step, str(profile)],
                                  capture_output=True, text=True, check=True)
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(results[-1], file=sys.stderr)
    print("| step | rows | wall (s) | peak RSS (MiB) |")
    print("|---|---|---|---|")
    for r in results:
        print(f"| {r['step']} | {args.rows:,} | {r['seconds']:.0f} | {r['peak_rss_mib']:.0f} |")


if __name__ == "__main__":
    main()
