"""Load on the real server: 200 concurrent batches of 1,000 rows from 4 client processes.

Runs ``benchmarks/serve_load.py`` (the benchmark whose figures are in docs/benchmarks.md)
and checks what it reports: every request answered 201, 200 windows with distinct batch
ids, 200,000 rows stored — none lost, none twice. No timing is asserted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "serve_load.py"


def test_200_concurrent_batches_lose_no_row_and_store_none_twice(db_url: str) -> None:
    done = subprocess.run([sys.executable, str(SCRIPT), "--db", db_url, "--json"],
                          capture_output=True, text=True, timeout=1500, check=False)
    assert done.stdout.strip(), done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["statuses"] == {"201": 200}, out
    assert out["windows"] == out["distinct_batch_ids"] == 200
    assert out["rows_stored"] == out["rows_sent"] == 200_000
    assert done.returncode == 0
