"""Schemathesis against the running server's own OpenAPI spec: no request gets a 5xx.

Requests are generated from ``/openapi.json`` — valid and invalid bodies, query strings and
path parameters for every operation — and sent with a valid key to a real server over a
SQLite database whose monitor has data.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")
pytest.importorskip("fastapi")

from hypothesis import HealthCheck, settings  # noqa: E402
from serving import Server, batch_rows, make_monitor, start_server  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("fuzz")
    db = str(folder / "h.db")
    make_monitor(db, folder)
    server = start_server(db, folder, "--max-body-mb", "2")
    with server.client() as c:
        c.post("/api/monitors/churn/batches", json={"rows": batch_rows(300, start=10_000)})
    yield server
    server.stop()
    assert "Traceback" not in server.logged(), server.logged()[-3000:]


def test_no_generated_request_gets_a_server_error(fuzzed_server: Server) -> None:
    from hypothesis import given

    api = schemathesis.openapi.from_url(f"{fuzzed_server.url}/openapi.json")
    headers = {"Authorization": f"Bearer {fuzzed_server.key}"}
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 8

    for op in operations:
        @given(case=op.as_strategy())
        @settings(max_examples=40, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case: object) -> None:
            case.call_and_validate(  # type: ignore[attr-defined]
                base_url=fuzzed_server.url, headers=headers,
                checks=[schemathesis.checks.not_a_server_error])

        run()
    sent = fuzzed_server.logged().count(" key=")
    assert sent >= 10 * len(operations), sent  # the requests reached the server
    assert " 500 " not in fuzzed_server.logged()


def test_the_known_monitor_is_fuzzed_too(fuzzed_server: Server, tmp_path: Path) -> None:
    """Generated names rarely hit a real monitor: send the spec's bodies to ``churn`` too."""
    with fuzzed_server.client() as c:
        for body in ({}, {"rows": []}, {"rows": [{}]}, {"rows": [{"x": None}]},
                     {"rows": [{"x": 1e308, "z": -1e308, "city": "", "p0": 0, "p1": 1, "id": 1}]},
                     {"rows": [{"x": [1]}]}, {"rows": "x"}, [], [1], {"batch_id": "", "rows": [{}]},
                     {"labels": [{"id": 10_000, "label": -1}]}):
            for path in ("/api/monitors/churn/batches", "/api/monitors/churn/labels"):
                r = c.post(path, json=body)
                assert r.status_code < 500, (path, body, r.text)
        for ctype in ("text/csv", "application/vnd.apache.parquet", "text/plain", "image/png"):
            r = c.post("/api/monitors/churn/batches", content=b"\x00\xff garbage",
                       headers={"Content-Type": ctype})
            assert r.status_code < 500, (ctype, r.text)
