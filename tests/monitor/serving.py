"""A real ``trustbench monitor serve`` process for the service's tests.

:func:`start_server` creates a monitor on a database (SQLite file or PostgreSQL URL), an API
key, and starts the server as a subprocess on a free loopback port; :class:`Server` talks
to it with httpx and stops it (SIGTERM, then SIGKILL) when done.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

TB = shutil.which("trustbench", path=str(Path(sys.executable).parent)) or "trustbench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def table(n: int, *, start: int = 0, shift: float = 0.0, seed: int = 0) -> pd.DataFrame:
    """Rows with an id, two features, a group, the model's probabilities and a label."""
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1, n)
    p = 1 / (1 + np.exp(-2 * x))
    return pd.DataFrame({"id": np.arange(start, start + n), "x": x, "z": rng.normal(size=n),
                         "city": rng.choice(["a", "b"], n), "p0": 1 - p, "p1": p,
                         "y": (rng.random(n) < p).astype(int)})


def make_monitor(db: str, folder: Path, name: str = "churn") -> None:
    """A monitor over logged probabilities, with ids, labels and a group."""
    from trustbench.monitor.jobs import init_monitor
    from trustbench.monitor.store import open_store

    table(3000).to_csv(folder / "ref.csv", index=False)
    with open_store(db) as store:
        init_monitor(store, name, folder / "ref.csv", proba_columns=["p0", "p1"],
                     label_column="y", id_column="id", group_column="city")


def create_key(db: str, name: str = "tests") -> str:
    from trustbench.monitor.keys import create_key as create
    from trustbench.monitor.store import open_store

    with open_store(db) as store:
        return create(store, name)[1]


def batch_rows(n: int, *, start: int, shift: float = 0.0, seed: int = 0) -> list[dict[str, Any]]:
    return table(n, start=start, shift=shift, seed=seed).drop(columns=["y"]).to_dict("records")


@dataclass
class Server:
    """A running server: its base URL, process, key and log file."""

    url: str
    process: subprocess.Popen
    key: str
    log: Path
    args: list[str] = field(default_factory=list)

    def client(self, key: str | None = "") -> Any:
        import httpx

        key = self.key if key == "" else key
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(15)

    def logged(self) -> str:
        return self.log.read_text(errors="replace")


def start_server(db: str, folder: Path, *extra: str, key: str | None = None,
                 port: int | None = None) -> Server:
    """Start ``trustbench monitor serve`` on ``db`` and wait until it answers."""
    import httpx

    key = key or create_key(db)
    port = port or free_port()
    log = folder / f"server-{port}.log"
    args = [TB, "monitor", "serve", "--db", db, "--port", str(port), *extra]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log.open("ab") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                return Server(url, proc, key, log, args)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"the server did not answer in 60 s:\n{log.read_text()}")
