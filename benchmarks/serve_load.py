"""Load on ``trustbench monitor serve``: many concurrent batches from several client processes.

Creates a monitor (a 3,000-row reference with logged probabilities, ids, labels and a
group) in the database, an API key, and starts the real server on a free loopback port.
Then ``--processes`` client processes send ``--batches`` batches of ``--rows`` rows between
them, all at once (one thread per batch), each with its own batch id, as JSON. Afterwards
it checks in the database that every batch is stored exactly once with all its rows, and
reports every request's status, the p50/p95/max latency and rows per second.

    .venv/bin/python benchmarks/serve_load.py [--db URL] [--batches 200] [--rows 1000]
        [--processes 4] [--json]

``--db`` defaults to a SQLite file in a temporary folder; give ``postgresql://...`` for a
server (the tests use the one ``scripts/postgres.sh`` starts). Exit status 1 when a request
failed or a row was lost or stored twice.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

TB = shutil.which("trustbench", path=str(Path(sys.executable).parent)) or "trustbench"


def _table(n: int, *, start: int = 0, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    p = 1 / (1 + np.exp(-2 * x))
    return pd.DataFrame({"id": np.arange(start, start + n), "x": x, "z": rng.normal(size=n),
                         "city": rng.choice(["a", "b"], n), "p0": 1 - p, "p1": p,
                         "y": (rng.random(n) < p).astype(int)})


def _send(args: tuple[str, str, int, int, int]) -> tuple[int, int, float, str]:
    """One batch: (number, HTTP status, seconds, batch id)."""
    import httpx

    url, key, number, rows, seed = args
    body = {"batch_id": f"load-{number}",
            "rows": _table(rows, start=number * rows, seed=seed).drop(columns="y")
            .to_dict("records")}
    t = time.perf_counter()
    try:
        r = httpx.post(f"{url}/api/monitors/load/batches", json=body, timeout=600,
                       headers={"Authorization": f"Bearer {key}"})
        status = r.status_code
    except httpx.HTTPError:
        status = 0
    return number, status, time.perf_counter() - t, body["batch_id"]


def _client(args: tuple[str, str, list[int], int]) -> list[tuple[int, int, float, str]]:
    """A client process: all its batches at once, one thread each."""
    url, key, numbers, rows = args
    with ThreadPoolExecutor(max_workers=len(numbers)) as pool:
        return list(pool.map(_send, [(url, key, n, rows, n) for n in numbers]))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(db: str, *, batches: int, rows: int, processes: int, folder: Path) -> dict:
    """Set up, load, verify; return the measurements."""
    import httpx

    from trustbench.monitor.jobs import init_monitor
    from trustbench.monitor.keys import create_key
    from trustbench.monitor.store import open_store

    _table(3000).to_csv(folder / "ref.csv", index=False)
    with open_store(db) as store:
        init_monitor(store, "load", folder / "ref.csv", proba_columns=["p0", "p1"],
                     label_column="y", id_column="id", group_column="city")
        _, key = create_key(store, "load test")
    port = _free_port()
    log = (folder / "server.log").open("wb")
    server = subprocess.Popen([TB, "monitor", "serve", "--db", db, "--port", str(port)],
                              stdout=log, stderr=subprocess.STDOUT,
                              env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError(f"the server did not start: {(folder / 'server.log').read_text()}")
        parts = [list(range(i, batches, processes)) for i in range(processes)]
        t = time.perf_counter()
        with mp.get_context("spawn").Pool(processes) as pool:
            results = [r for part in pool.map(_client, [(url, key, p, rows) for p in parts])
                       for r in part]
        wall = time.perf_counter() - t
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
        log.close()
    with open_store(db, create=False) as store:
        windows = store.windows("load")
        stored_rows = sum(len(store.window_rows("load", w.seq)) for w in windows)
    ids = [w.batch_id for w in windows]
    latencies = sorted(s for _, _, s, _ in results)
    statuses: dict[str, int] = {}
    for _, status, _, _ in results:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    return {
        "database": db.split("://")[0] if "://" in db else "sqlite", "batches": batches,
        "rows_per_batch": rows, "processes": processes, "statuses": statuses,
        "windows": len(windows), "distinct_batch_ids": len(set(ids)),
        "rows_stored": stored_rows, "rows_sent": batches * rows,
        "seconds": wall, "rows_per_second": batches * rows / wall,
        "p50_s": statistics.median(latencies),
        "p95_s": latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))],
        "max_s": latencies[-1],
        "ok": statuses == {"201": batches} and len(windows) == batches == len(set(ids))
        and stored_rows == batches * rows,
    }


def main() -> None:
    """Run once and print a Markdown row (or JSON)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default=None)
    ap.add_argument("--batches", type=int, default=200)
    ap.add_argument("--rows", type=int, default=1000)
    ap.add_argument("--processes", type=int, default=4)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="trustbench-load-") as tmp:
        folder = Path(tmp)
        db = args.db or str(folder / "history.db")
        out = run(db, batches=args.batches, rows=args.rows, processes=args.processes,
                  folder=folder)
    if args.json:
        print(json.dumps(out))
    else:
        print("| database | batches x rows | clients | answered | stored once | rows/s | "
              "p50 (s) | p95 (s) | max (s) |")
        print("|---|---|---|---|---|---|---|---|---|")
        print(f"| {out['database']} | {out['batches']} x {out['rows_per_batch']} | "
              f"{out['processes']} processes | {out['statuses']} | "
              f"{out['windows']} windows, {out['rows_stored']:,} rows | "
              f"{out['rows_per_second']:,.0f} | {out['p50_s']:.2f} | {out['p95_s']:.2f} | "
              f"{out['max_s']:.2f} |")
    sys.exit(0 if out["ok"] else 1)


if __name__ == "__main__":
    main()
