"""The monitoring database, on SQLite and on a real PostgreSQL server.

Transactions, idempotent ingest, late labels, a writer killed mid-ingest, and concurrent
writers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest

from trustbench.errors import InputError
from trustbench.monitor import build_profile
from trustbench.monitor.store import open_store


def _frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.normal(size=n), "c": rng.choice(["x", "y"], n)})


def _store_with_monitor(url: str):
    store = open_store(url)
    store.create_monitor("churn", build_profile(_frame(500, 0)), version="v1",
                         settings={"alpha": 0.05})
    return store


def _rows(prefix: str, n: int) -> list[dict]:
    return [{"row_id": f"{prefix}-{i}", "prediction": i % 2, "confidence": 0.8}
            for i in range(n)]


def test_a_batch_is_stored_once_and_labels_arrive_later(db_url: str) -> None:
    with _store_with_monitor(db_url) as store:
        ref = store.profile("churn")
        window = build_profile(_frame(100, 1), reference=ref)
        first = store.ingest("churn", window, _rows("b1", 100), content_hash="h1", batch_id="b1")
        again = store.ingest("churn", window, _rows("b1", 100), content_hash="h1", batch_id="b1")
        same_content = store.ingest("churn", window, _rows("b1", 100), content_hash="h1",
                                    batch_id="other-id")
        second = store.ingest("churn", window, _rows("b2", 50), content_hash="h2")
        assert (first.seq, first.duplicate, second.seq) == (1, False, 2)
        assert again.duplicate and again.seq == 1 and same_content.seq == 1
        assert [w.rows for w in store.windows("churn")] == [100, 50]
        labelled, unknown, _ = store.add_labels("churn", {"b1-3": 1, "b2-0": 0, "nope": 1})
        assert labelled == 2 and unknown == ["nope"]
        rows = {r["row_id"]: r["label"] for r in store.window_rows("churn", 1)}
        assert rows["b1-3"] == 1 and rows["b1-4"] is None
        assert store.windows("churn")[0].profile.to_dict() == window.to_dict()


def test_unknown_names_and_versions_are_input_errors(db_url: str) -> None:
    with _store_with_monitor(db_url) as store:
        w = build_profile(_frame(10, 1), reference=store.profile("churn"))
        with pytest.raises(InputError, match=r"no monitor named 'nope'.*use one of: churn"):
            store.ingest("nope", w, [], content_hash="x")
        with pytest.raises(InputError, match=r"no model version 'v9'.*use one of: v1"):
            store.ingest("churn", w, [], content_hash="x", version="v9")
        with pytest.raises(InputError, match="already exists"):
            store.create_monitor("churn", w, version="v1")
        store.add_version("churn", "v2")
        assert store.versions("churn") == ["v1", "v2"]
        assert store.ingest("churn", w, [], content_hash="y").seq == 1
        assert store.windows("churn")[0].version == "v2"  # the newest by default


def test_a_corrupt_file_and_an_unreachable_server_are_named(tmp_path) -> None:
    bad = tmp_path / "history.db"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(InputError, match="not a SQLite database"):
        open_store(bad)
    assert bad.read_bytes().startswith(b"this is not")  # nothing touched
    with pytest.raises(InputError, match=r"u:\*\*\*@127.0.0.1:1/x: cannot use the database"):
        open_store("postgresql://u:secret@127.0.0.1:1/x")
    with pytest.raises(InputError, match="no such database"):
        open_store(tmp_path / "missing.db", create=False)
    with pytest.raises(InputError, match="does not exist"):
        open_store(tmp_path / "no" / "such" / "folder.db")
    with pytest.raises(InputError, match="not supported"):
        open_store("mysql://u@localhost/x")


WRITER = textwrap.dedent("""
    import sys
    import numpy as np, pandas as pd
    from trustbench.monitor import build_profile
    from trustbench.monitor.store import open_store
    url, prefix, batches, rows = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    store = open_store(url)
    ref = store.profile("churn")
    for b in range(batches):
        rng = np.random.default_rng(b)
        frame = pd.DataFrame({"a": rng.normal(size=rows), "c": rng.choice(["x", "y"], rows)})
        window = build_profile(frame, reference=ref)
        store.ingest("churn", window, [{"row_id": f"{prefix}-{b}-{i}", "prediction": 1}
                                       for i in range(rows)],
                     content_hash=f"{prefix}-{b}", batch_id=f"{prefix}-{b}")
        print(b, flush=True)
""")


def _writer(url: str, prefix: str, batches: int, rows: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", WRITER, url, prefix, str(batches), str(rows)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _check_whole(url: str) -> list[int]:
    """Every stored window has all its rows; numbers run 1..n without gaps."""
    with open_store(url) as store:
        windows = store.windows("churn")
        for w in windows:
            assert len(store.window_rows("churn", w.seq)) == w.rows, f"window {w.seq} is partial"
        assert [w.seq for w in windows] == list(range(1, len(windows) + 1))
        return [w.rows for w in windows]


@pytest.mark.slow
def test_a_writer_killed_mid_ingest_leaves_only_whole_windows(db_url: str) -> None:
    _store_with_monitor(db_url).close()
    proc = _writer(db_url, "k", 1000, 20_000)  # big windows: the kill lands inside one
    try:
        for _ in range(3):  # let a few windows commit
            assert proc.stdout.readline(), proc.stderr.read()
        time.sleep(0.05 + np.random.default_rng().random() * 0.2)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.communicate(timeout=60)  # reap it and close its pipes
    sizes = _check_whole(db_url)
    assert len(sizes) >= 3 and set(sizes) == {20_000}
    with open_store(db_url) as store:  # and the database takes more windows afterwards
        w = build_profile(_frame(10, 2), reference=store.profile("churn"))
        assert store.ingest("churn", w, _rows("after", 10), content_hash="after").seq == len(sizes) + 1


@pytest.mark.slow
def test_four_writers_at_once_lose_no_row(db_url: str) -> None:
    _store_with_monitor(db_url).close()
    procs = [_writer(db_url, f"p{k}", 50, 20) for k in range(4)]
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-2000:]
    sizes = _check_whole(db_url)
    assert len(sizes) == 200 and sum(sizes) == 200 * 20
    with open_store(db_url) as store:
        assert sorted(w.batch_id for w in store.windows("churn")) == sorted(
            f"p{k}-{b}" for k in range(4) for b in range(50))


def test_without_the_monitor_extra_the_message_names_it(monkeypatch, tmp_path) -> None:
    monkeypatch.setitem(sys.modules, "sqlalchemy", None)  # as if it were not installed
    with pytest.raises(InputError, match=r"needs sqlalchemy.*pip install 'trustbench\[monitor\]'"):
        open_store(tmp_path / "history.db")


def test_labels_find_rows_by_id_whatever_its_python_type(db_url: str) -> None:
    with _store_with_monitor(db_url) as store:
        w = build_profile(_frame(5, 1), reference=store.profile("churn"))
        store.ingest("churn", w, [{"row_id": str(i)} for i in range(5)], content_hash="n")
        assert store.add_labels("churn", {3: 1, np.int64(4): 0})[:2] == (2, [])
        assert [r["label"] for r in store.window_rows("churn", 1)] == [None, None, None, 1, 0]


def test_a_database_of_the_first_schema_is_migrated_with_its_data(db_url: str) -> None:
    import json
    from datetime import datetime, timezone

    import sqlalchemy as sa

    from trustbench.monitor.store import _migrate

    engine = sa.create_engine(db_url.replace("postgresql://", "postgresql+psycopg://"))
    _migrate(engine, "0001")
    now = datetime.now(timezone.utc)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO monitors (name, created_at, settings, profile, reference_rows) "
            "VALUES ('old', :t, '{\"alpha\": 0.05}', :p, 500)"),
            {"t": now, "p": json.dumps(build_profile(_frame(500, 0)).to_dict())})
        conn.execute(sa.text(
            "INSERT INTO model_versions (monitor_id, version, registered_at, fingerprint) "
            "SELECT id, 'v1', :t, '' FROM monitors"), {"t": now})
    engine.dispose()
    with open_store(db_url) as store:  # migrates to the newest schema
        assert store.monitors() == ["old"]
        v = store.version("old")
        assert v["version"] == "v1" and v["model"] is None and store.comparisons("old") == []
        store.ingest("old", build_profile(_frame(50, 1), reference=store.profile("old")),
                     _rows("b", 50), content_hash="h", inputs=(1, b"x"))
        assert store.window_inputs("old", 1) == b"x"


def test_a_window_checked_twice_raises_its_alarms_once(db_url: str) -> None:
    with _store_with_monitor(db_url) as store:
        store.ingest("churn", build_profile(_frame(50, 1), reference=store.profile("churn")),
                     _rows("b", 50), content_hash="h")
        alarm = {"kind": "drift", "subject": "a", "message": "a: drifted"}
        assert store.add_alerts("churn", 1, [alarm, alarm]) == 1
        assert store.add_alerts("churn", 1, [alarm, {**alarm, "subject": "c"}]) == 1
        assert [a["subject"] for a in store.alerts("churn")] == ["a", "c"]
