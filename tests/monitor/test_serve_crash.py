"""A server killed (SIGKILL) in the middle of ingests loses nothing it had committed.

Clients keep sending 2,000-row batches while the server is killed; after a restart on
the same database every acknowledged batch is there, every stored window has all its
rows, and the dashboard shows every committed window. On SQLite and on PostgreSQL.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import httpx
import pytest
from serving import batch_rows, make_monitor, start_server

pytest.importorskip("fastapi")
pytestmark = pytest.mark.slow


def test_a_killed_server_loses_nothing_committed(db_url: str, tmp_path: Path) -> None:
    from trustbench.monitor.store import open_store

    make_monitor(db_url, tmp_path)
    server = start_server(db_url, tmp_path)
    acknowledged: list[str] = []
    stop = threading.Event()

    def client(k: int) -> None:
        n = 0
        with server.client() as c:
            while not stop.is_set():
                batch = f"c{k}-{n}"
                try:
                    r = c.post("/api/monitors/churn/batches",
                               json={"batch_id": batch,
                                     "rows": batch_rows(2000, start=(k * 1000 + n) * 2000)})
                except httpx.HTTPError:
                    return  # the server died under this request
                if r.status_code == 201:
                    acknowledged.append(batch)
                n += 1

    threads = [threading.Thread(target=client, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 120
    while len(acknowledged) < 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.stop(signal.SIGKILL)  # mid-ingest: the clients still send
    stop.set()
    for t in threads:
        t.join(60)
    assert len(acknowledged) >= 6
    with open_store(db_url) as store:
        windows = store.windows("churn")
        for w in windows:
            assert w.rows == 2000 == len(store.window_rows("churn", w.seq)), w.seq
        assert [w.seq for w in windows] == list(range(1, len(windows) + 1))
        stored = {w.batch_id for w in windows}
    assert set(acknowledged) <= stored  # at most the requests cut short are missing
    again = start_server(db_url, tmp_path, key=server.key)
    try:
        with again.client() as c:
            shown = c.get("/api/monitors/churn/dashboard").json()["windows"]
            assert len(shown) == len(windows)
            r = c.post("/api/monitors/churn/batches",
                       json={"batch_id": "after", "rows": batch_rows(100, start=10**8)})
            assert r.status_code == 201 and r.json()["window"] == len(windows) + 1
    finally:
        again.stop()
