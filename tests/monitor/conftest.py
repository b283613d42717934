"""Fixtures for the monitor's storage tests: a real PostgreSQL server, and fresh databases."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "postgres.sh"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL server on loopback for the session (scripts/postgres.sh).

    Without PostgreSQL the tests are skipped, unless ``TRUSTBENCH_REQUIRE_SERVERS=1`` (set by
    ``make test``, which installs it), when they fail.
    """
    pytest.importorskip("psycopg")
    folder = Path(tempfile.mkdtemp(prefix="trustbench-pg-"))  # /tmp: the server user can enter
    done = subprocess.run(["bash", str(SCRIPT), "start", str(folder), str(_free_port())],
                          capture_output=True, text=True, timeout=180, check=False)
    if done.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        message = f"no PostgreSQL server: {done.stderr.strip()[-500:]}"
        if os.environ.get("TRUSTBENCH_REQUIRE_SERVERS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield done.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run(["bash", str(SCRIPT), "stop", str(folder)], capture_output=True,
                       timeout=120, check=False)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty database: a SQLite file, or a database on the PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'history.db'}"
    import psycopg

    server = request.getfixturevalue("postgres_server")
    name = f"tb_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return server.rsplit("/", 1)[0] + f"/{name}"
