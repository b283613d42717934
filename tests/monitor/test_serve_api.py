"""``trustbench monitor serve``: the ingest API, keys, limits and alerts, against the real server.

Each test starts the server as a subprocess on a free loopback port over a fresh database
(SQLite, and PostgreSQL on the server ``scripts/postgres.sh`` starts) and stops it.
"""

from __future__ import annotations

import io
import json
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pandas as pd
import pytest
from serving import TB, Server, batch_rows, create_key, make_monitor, start_server, table

pytest.importorskip("fastapi")


@pytest.fixture
def served(db_url: str, tmp_path: Path) -> Iterator[Server]:
    make_monitor(db_url, tmp_path)
    server = start_server(db_url, tmp_path)
    yield server
    server.stop()


def _windows(server: Server) -> list[dict]:
    with server.client() as c:
        return c.get("/api/monitors/churn/dashboard").json()["windows"]


def test_a_batch_is_stored_checked_and_sent_again_is_stored_once(served: Server) -> None:
    with served.client() as c:
        body = {"batch_id": "b-1", "rows": batch_rows(400, start=10_000)}
        r = c.post("/api/monitors/churn/batches", json=body)
        assert r.status_code == 201, r.text
        assert r.json() == {"monitor": "churn", "window": 1, "rows": 400, "duplicate": False,
                            "alerts": []}
        again = c.post("/api/monitors/churn/batches", json=body)
        assert again.status_code == 200 and again.json()["duplicate"]
        frame = pd.DataFrame(batch_rows(300, start=20_000, seed=1))
        buf = io.BytesIO()
        frame.to_parquet(buf, index=False)
        r = c.post("/api/monitors/churn/batches?batch_id=b-2", content=buf.getvalue(),
                   headers={"Content-Type": "application/vnd.apache.parquet"})
        assert r.status_code == 201 and r.json()["window"] == 2, r.text
        r = c.post("/api/monitors/churn/batches", content=frame.assign(
            id=frame.id + 5000).to_csv(index=False), headers={"Content-Type": "text/csv"})
        assert r.status_code == 201 and r.json()["window"] == 3, r.text
        labels = [{"id": int(i), "label": int(y)} for i, y in
                  table(400, start=10_000)[["id", "y"]].itertuples(index=False)]
        r = c.post("/api/monitors/churn/labels", json={"labels": [*labels, {"id": "x", "label": 0}]})
        assert r.json() == {"monitor": "churn", "labelled": 400, "unknown": ["x"],
                            "unknown_count": 1, "windows": [1], "alerts": []}
        dash = c.get("/api/monitors/churn/dashboard").json()
        assert [w["rows"] for w in dash["windows"]] == [400, 300, 300]
        assert dash["performance"]["accuracy"][0]["lo"] < dash["performance"]["accuracy"][0]["hi"]
        assert dash["performance"]["estimated"][0] is None  # labelled: realised, not estimated
        ref = dash["performance"]["reference"]  # per window: the serving version's reference
        assert len(ref) == 3 and len(set(ref)) == 1 and 0.5 < ref[0] < 1
        assert dash["performance"]["min_drop"] == 0.05
        assert 0.5 < dash["performance"]["estimated"][1]["value"] < 1  # not yet labelled
        spec = c.get("/openapi.json").json()
        assert "/api/monitors/{name}/batches" in spec["paths"]


@pytest.mark.parametrize(("change", "says"), [
    (lambda rows: rows[7].update(x="seven"), "rows[7] column 'x' holds text"),
    (lambda rows: [r.update(extra=1.0) for r in rows], "extra"),
    (lambda rows: [r.pop("z") for r in rows], "'z'"),
    (lambda rows: rows[3].update(p1=1.5), "row 4"),
])
def test_bad_rows_are_422_naming_the_column_and_row_and_store_nothing(served: Server, change,
                                                                     says: str) -> None:
    rows = batch_rows(200, start=10_000)
    change(rows)
    with served.client() as c:
        r = c.post("/api/monitors/churn/batches", json={"rows": rows})
        assert r.status_code == 422 and says in r.json()["detail"], r.text
        assert c.post("/api/monitors/nope/batches", json={"rows": rows}).status_code == 404
        assert c.post("/api/monitors/churn/batches", content=b"{oops",
                      headers={"Content-Type": "application/json"}).status_code == 422
    assert _windows(served) == []


def test_a_body_above_the_limit_is_413_and_stores_nothing(db_url: str, tmp_path: Path) -> None:
    make_monitor(db_url, tmp_path)
    server = start_server(db_url, tmp_path, "--max-body-mb", "0.05")
    try:
        with server.client() as c:
            r = c.post("/api/monitors/churn/batches", json={"rows": batch_rows(2000, start=0)})
            assert r.status_code == 413 and "52428 bytes" in r.json()["detail"]

            def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
                yield b'{"rows": ['
                for i in range(3000):
                    yield json.dumps(batch_rows(1, start=i)[0]).encode() + b","
                yield b"{}]}"

            r = c.post("/api/monitors/churn/batches", content=chunks(),
                       headers={"Content-Type": "application/json"})
            assert r.status_code == 413
            small = c.post("/api/monitors/churn/batches", json={"rows": batch_rows(50, start=0)})
            assert small.status_code == 201
        assert len(_windows(server)) == 1
    finally:
        server.stop()


def test_keys_none_wrong_and_revoked_are_refused_and_write_nothing(db_url: str,
                                                                   tmp_path: Path) -> None:
    make_monitor(db_url, tmp_path)
    revoked = create_key(db_url, "old")
    server = start_server(db_url, tmp_path)
    try:
        rows = {"rows": batch_rows(100, start=0)}
        done = subprocess.run([TB, "monitor", "key", "revoke", "--db", db_url,
                               revoked.split("_")[1]], capture_output=True, text=True, check=False)
        assert done.returncode == 0 and "revoked" in done.stdout
        wrong = server.key[:-4] + ("AAAA" if not server.key.endswith("AAAA") else "BBBB")
        for key, status in ((None, 401), ("tbk_nonsense", 401), (wrong, 401), (revoked, 403)):
            with server.client(key) as c:
                assert c.post("/api/monitors/churn/batches", json=rows).status_code == status
                assert c.post("/api/monitors/churn/labels",
                              json={"labels": [{"id": 1, "label": 1}]}).status_code == status
                assert c.get("/api/monitors").status_code == status
        with server.client() as c:
            assert c.get("/api/monitors").status_code == 200
        assert _windows(server) == []
        log = server.logged()
        assert f"key={revoked.split('_')[1]}" in log
        assert server.key not in log and revoked not in log and revoked.split("_", 2)[2] not in log
    finally:
        server.stop()
    open_server = start_server(db_url, tmp_path, "--open-dashboard")
    try:
        with open_server.client(None) as c:
            assert c.get("/api/monitors").status_code == 200  # reads open
            assert c.post("/api/monitors/churn/batches", json=rows).status_code == 401
            assert c.get("/api/monitors", headers={"Authorization": "Bearer tbk_x"}).status_code == 401
    finally:
        open_server.stop()


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []
    fail_first = 1

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if _Hook.fail_first > 0:
            _Hook.fail_first -= 1
            self.send_response(500)
        else:
            _Hook.received.append(body)
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_alerts_reach_the_webhook_once_per_condition_with_retries(db_url: str,
                                                                  tmp_path: Path) -> None:
    make_monitor(db_url, tmp_path)
    hook = HTTPServer(("127.0.0.1", 0), _Hook)
    _Hook.received, _Hook.fail_first = [], 1
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    dead = "http://127.0.0.1:9/never"  # a webhook that always fails must not block ingest
    server = start_server(db_url, tmp_path, "--webhook", f"http://127.0.0.1:{hook.server_port}/h",
                          "--webhook", dead)
    try:
        with server.client() as c:
            quiet = c.post("/api/monitors/churn/batches", json={"rows": batch_rows(500, start=0)})
            assert quiet.json()["alerts"] == []
            for w in (2, 3):  # the same drift in two windows: one condition
                t = time.perf_counter()
                r = c.post("/api/monitors/churn/batches",
                           json={"rows": batch_rows(500, start=w * 1000, shift=0.8, seed=w)})
                assert r.status_code == 201 and any(a.startswith("x:") for a in r.json()["alerts"])
                assert time.perf_counter() - t < 30  # answered, not waiting on webhooks
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not _Hook.received:
            time.sleep(0.2)
        time.sleep(2)  # anything else that would come
        subjects = [m["subject"] for m in _Hook.received]
        assert "x" in subjects and subjects.count("x") == 1, _Hook.received
        first = next(m for m in _Hook.received if m["subject"] == "x")
        assert first["window"] == 2 and first["monitor"] == "churn" and first["kind"] == "drift"
        assert "ALERT monitor=churn window=3 kind=drift subject=x (continuing)" in server.logged()
    finally:
        server.stop()
        hook.shutdown()
        hook.server_close()


def test_without_the_extra_serve_names_it(tmp_path: Path, monkeypatch) -> None:
    import sys

    from typer.testing import CliRunner

    from trustbench.cli import app

    make_monitor(str(tmp_path / "h.db"), tmp_path)
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    r = CliRunner().invoke(app, ["monitor", "serve", "--db", str(tmp_path / "h.db")])
    assert r.exit_code == 2 and "pip install 'trustbench[monitor]'" in r.output


def test_a_port_in_use_is_one_line_and_exit_2(served: Server) -> None:
    port = served.url.rsplit(":", 1)[1]
    done = subprocess.run([TB, "monitor", "serve", "--db", served.args[4], "--port", port],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert len(done.stderr.strip().splitlines()) <= 3
    with httpx.Client(base_url=served.url) as c:
        assert c.get("/api/health").status_code == 200


@pytest.mark.parametrize("host", ["\x80", "no.such.host.invalid", "a" * 300])
def test_a_host_that_is_no_address_is_one_line_and_exit_2(tmp_path: Path, host: str) -> None:
    from typer.testing import CliRunner

    from trustbench.cli import app

    make_monitor(str(tmp_path / "h.db"), tmp_path)
    r = CliRunner().invoke(app, ["monitor", "serve", "--db", str(tmp_path / "h.db"),
                                 "--host", host])
    assert r.exit_code == 2 and "not an address of this machine" in r.output, r.output


def test_labels_through_the_api_raise_a_performance_alert_and_reach_the_webhook(
        db_url: str, tmp_path: Path) -> None:
    import numpy as np

    make_monitor(db_url, tmp_path)
    hook = HTTPServer(("127.0.0.1", 0), _Hook)
    _Hook.received, _Hook.fail_first = [], 0
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    served = start_server(db_url, tmp_path, "--webhook", f"http://127.0.0.1:{hook.server_port}/h")
    try:
        with served.client() as c:
            rows = table(800, start=50_000, seed=5)
            r = c.post("/api/monitors/churn/batches",
                       json={"batch_id": "w1", "rows": rows.drop(columns=["y"]).to_dict("records")})
            assert r.status_code == 201 and r.json()["alerts"] == [], r.text
            # labels that contradict the model on 40% of the rows: its accuracy falls
            y = rows.y.to_numpy().copy()
            flip = np.random.default_rng(0).random(len(y)) < 0.4
            y[flip] = (rows.p1.to_numpy()[flip] < 0.5).astype(int)
            body = {"labels": [{"id": int(i), "label": int(v)}
                               for i, v in zip(rows.id, y, strict=True)]}
            r = c.post("/api/monitors/churn/labels", json=body)
            assert r.status_code == 200, r.text
            got = r.json()
            assert got["windows"] == [1] and got["alerts"][0]["kind"] == "performance", got
            stored = c.get("/api/monitors/churn/alerts").json()["alerts"]
            assert [(a["window"], a["kind"]) for a in stored][:1] == [(1, "performance")]
            again = c.post("/api/monitors/churn/labels", json=body).json()
            assert again["labelled"] == 800
            assert len(c.get("/api/monitors/churn/alerts").json()["alerts"]) == len(stored)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(
                m["kind"] == "performance" for m in _Hook.received):
            time.sleep(0.2)
        sent = [m for m in _Hook.received if m["kind"] == "performance"]
        assert len(sent) == 1 and sent[0]["window"] == 1 and sent[0]["subject"] == "accuracy"
    finally:
        served.stop()
        hook.shutdown()
        hook.server_close()
