"""The monitoring history in a real database: SQLite by default, PostgreSQL by URL.

:func:`open_store` opens (and migrates, with Alembic) a database given as a file path or
a SQLAlchemy URL (``sqlite:///history.db``, ``postgresql://user@host/db``). Every write is
one transaction:

* :meth:`Store.ingest` stores a window whole or not at all — its profile, its rows, its
  number in the stream — and a batch sent again (the same batch id, or the same content)
  is stored once: the second call returns the first's window. Ingests of one monitor are
  serialised (``BEGIN IMMEDIATE`` on SQLite, a row lock on the monitor in PostgreSQL), so
  concurrent writers neither lose rows nor number two windows alike.
* :meth:`Store.add_labels` attaches late labels to stored rows by row id.

SQLite runs in WAL mode with a 30 s busy timeout and foreign keys on. Errors a user can act
on — a file that is not a database, a server that cannot be reached, an unknown monitor —
are :class:`~trustbench.errors.InputError` naming the database (never its password).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trustbench.errors import InputError
from trustbench.extras import require_extra
from trustbench.monitor.profile import Profile
from trustbench.scorecard import json_default

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

__all__ = ["IngestResult", "Store", "StoredWindow", "WindowWriter", "open_store"]

WHAT = "trustbench monitor"
MIGRATIONS = Path(__file__).parent / "migrations"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def database_url(db: str | Path) -> str:
    """Return the SQLAlchemy URL of ``db``: a URL as given, a path as a SQLite file."""
    text = str(db)
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).expanduser().resolve()}"


def _shown(url: str) -> str:
    sa = require_extra("sqlalchemy", "monitor", what=WHAT)
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL: show its host part only
        return url.split("@")[-1]


@dataclass(frozen=True)
class IngestResult:
    """What :meth:`Store.ingest` did: the window's number, and whether it was new."""

    seq: int
    window_id: int
    duplicate: bool
    rows: int


@dataclass(frozen=True)
class StoredWindow:
    """A window as stored: number, batch id, time, rows, version, profile."""

    seq: int
    window_id: int
    batch_id: str
    received_at: datetime
    rows: int
    version: str
    profile: Profile


class WindowWriter:
    """A window being ingested (from :meth:`Store.ingesting`): its rows, then its profile."""

    def __init__(self, session: Any, window: Any, monitor: Any,
                 duplicate: IngestResult | None) -> None:
        self._s, self._w, self._m = session, window, monitor
        self._monitor_id = monitor.id
        self.duplicate = duplicate
        self.rows = 0
        self.finished = False

    def add_rows(self, rows: list[Mapping[str, Any]]) -> None:
        """Insert rows (dicts as :meth:`Store.ingest` takes) into the open transaction."""
        from sqlalchemy import exc, insert

        from trustbench.monitor.schema import WindowRow

        if not rows:
            return
        try:
            self._s.execute(insert(WindowRow), [
                {"window_id": self._w.id, "monitor_id": self._monitor_id, **r} for r in rows])
        except exc.IntegrityError:
            raise InputError("the batch's row ids repeat",
                             fix="give every row its own id, so that labels find it") from None
        self.rows += len(rows)

    def finish(self, profile: Profile, inputs: tuple[int, bytes] | None = None) -> IngestResult:
        """Store the window's profile (and kept inputs); the transaction then commits."""
        from trustbench.monitor.schema import WindowInputs

        self._w.rows = self.rows
        self._w.profile = json.dumps(profile.to_dict())
        self._m.revision = (self._m.revision or 0) + 1
        if inputs is not None:
            self._s.add(WindowInputs(window_id=self._w.id, rows=inputs[0], data=inputs[1]))
        self._s.flush()
        self.finished = True
        return IngestResult(self._w.seq, self._w.id, False, self.rows)


class Store:
    """An open monitoring database; build it with :func:`open_store`."""

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url

    @property
    def where(self) -> str:
        """The database, for messages (without any password)."""
        return _shown(self.url)

    # -- monitors -------------------------------------------------------------------------
    def create_monitor(self, name: str, profile: Profile, *, version: str,
                       settings: Mapping[str, Any] | None = None,
                       calibration: Mapping[str, Any] | None = None,
                       fingerprint: str = "", model: Mapping[str, Any] | None = None,
                       baseline: Mapping[str, Any] | None = None) -> None:
        """Store a new monitor with its reference profile and first model version."""
        from sqlalchemy import select

        from trustbench.monitor.schema import ModelVersion, Monitor

        with self.session() as s, s.begin():
            if s.scalar(select(Monitor.id).where(Monitor.name == name)) is not None:
                raise InputError(f"{self.where}: a monitor named {name!r} already exists",
                                 fix="choose another name, or use that monitor")
            m = Monitor(name=name, created_at=_now(), settings=dict(settings or {}),
                        profile=json.dumps(profile.to_dict()), reference_rows=profile.rows)
            s.add(m)
            s.flush()
            outputs = Profile(profile.outputs, profile.rows, profile.seed, profile.sample_size)
            s.add(ModelVersion(monitor_id=m.id, version=version, registered_at=_now(),
                               fingerprint=fingerprint, calibration=dict(calibration or {}),
                               model=dict(model) if model else None,
                               outputs=json.dumps(outputs.to_dict()),
                               baseline=dict(baseline) if baseline else None))

    def monitors(self) -> list[str]:
        """Return the monitors' names."""
        from sqlalchemy import select

        from trustbench.monitor.schema import Monitor

        with self.session() as s:
            return list(s.scalars(select(Monitor.name).order_by(Monitor.name)))

    def profile(self, name: str) -> Profile:
        """Return the reference profile of monitor ``name``."""
        with self.session() as s:
            return Profile.from_dict(json.loads(self._monitor(s, name).profile))

    def settings(self, name: str) -> dict[str, Any]:
        """Return the settings of monitor ``name``."""
        with self.session() as s:
            return dict(self._monitor(s, name).settings)

    def add_version(self, name: str, version: str, *, fingerprint: str = "",
                    calibration: Mapping[str, Any] | None = None,
                    model: Mapping[str, Any] | None = None, outputs: Profile | None = None,
                    baseline: Mapping[str, Any] | None = None,
                    comparison: tuple[str, list[dict[str, Any]]] | None = None,
                    alerts: Iterable[Mapping[str, Any]] = ()) -> None:
        """Register another model version of monitor ``name``, in one transaction.

        ``outputs`` is the profile of its outputs on the reference (the drift of later
        windows' predictions is measured against it). ``comparison`` is ``(previous
        version, findings as dicts)``: how the new version did against the previous one on
        the stored windows; ``alerts`` are stored with it. ``baseline``: its counts on the
        labelled reference (:func:`~trustbench.monitor.performance.reference_baseline`).
        """
        from sqlalchemy import select

        from trustbench.monitor.schema import Alert, Comparison, ModelVersion

        with self.session() as s, s.begin():
            m = self._monitor(s, name, lock=True)
            self._new_version_name(s, m, version)
            v = ModelVersion(monitor_id=m.id, version=version, registered_at=_now(),
                             fingerprint=fingerprint, calibration=dict(calibration or {}),
                             model=dict(model) if model else None,
                             outputs=None if outputs is None else json.dumps(outputs.to_dict()),
                             baseline=dict(baseline) if baseline else None)
            s.add(v)
            m.revision = (m.revision or 0) + 1
            s.flush()
            if comparison is not None:
                old = s.scalar(select(ModelVersion.id).where(
                    ModelVersion.monitor_id == m.id, ModelVersion.version == comparison[0]))
                if old is None:
                    raise InputError(f"{self.where}: monitor {name!r} has no model version "
                                     f"{comparison[0]!r}")
                s.add(Comparison(monitor_id=m.id, old_version_id=old, new_version_id=v.id,
                                 created_at=_now(), findings=json.dumps(comparison[1],
                                                                         default=json_default)))
            for a in alerts:
                s.add(Alert(monitor_id=m.id, window_id=None, raised_at=_now(), kind=a["kind"],
                            subject=a["subject"], message=a["message"],
                            details=dict(a.get("details", {}))))

    def check_new_version(self, name: str, version: str) -> None:
        """Raise an InputError when monitor ``name`` has a version ``version`` already."""
        with self.session() as s:
            self._new_version_name(s, self._monitor(s, name), version)

    def _new_version_name(self, s: Any, m: Any, version: str) -> None:
        if version in self._versions(s, m.id):
            raise InputError(f"{self.where}: monitor {m.name!r} already has a version "
                             f"{version!r}", fix="give the new model another version name")

    def version(self, name: str, version: str | None = None) -> dict[str, Any]:
        """Return a model version (the newest: ``None``).

        A dict: ``version``, ``model`` (its file, or None), ``calibration``, ``outputs``
        (the sketches of its outputs on the reference: the monitor's profile's for the first
        version, None when a later one was registered without a reference), ``baseline``
        (its counts on the labelled reference, or None).
        """
        from sqlalchemy import func, select

        from trustbench.monitor.schema import ModelVersion

        with self.session() as s:
            m = self._monitor(s, name)
            q = select(ModelVersion).where(ModelVersion.monitor_id == m.id)
            q = (q.order_by(ModelVersion.id.desc()).limit(1) if version is None
                 else q.where(ModelVersion.version == version))
            v = s.scalar(q)
            if v is None:
                raise InputError(f"{self.where}: monitor {name!r} has no model version "
                                 f"{version!r}",
                                 fix=f"use one of: {', '.join(self._versions(s, m.id))}")
            if v.outputs is not None:
                outputs = Profile.from_dict(json.loads(v.outputs)).outputs
            elif v.id == s.scalar(select(func.min(ModelVersion.id)).where(
                    ModelVersion.monitor_id == m.id)):  # a monitor created before 0002
                outputs = Profile.from_dict(json.loads(m.profile)).outputs
            else:
                outputs = None
            return {"version": v.version, "model": dict(v.model) if v.model else None,
                    "calibration": dict(v.calibration or {}), "registered_at": v.registered_at,
                    "outputs": outputs, "baseline": dict(v.baseline) if v.baseline else None}

    def comparisons(self, name: str) -> list[dict[str, Any]]:
        """Return the stored version comparisons of monitor ``name``, oldest first."""
        from sqlalchemy import select
        from sqlalchemy.orm import aliased

        from trustbench.monitor.schema import Comparison, ModelVersion

        old, new = aliased(ModelVersion), aliased(ModelVersion)
        with self.session() as s:
            m = self._monitor(s, name)
            q = (select(Comparison, old.version, new.version)
                 .join(old, Comparison.old_version_id == old.id)
                 .join(new, Comparison.new_version_id == new.id)
                 .where(Comparison.monitor_id == m.id).order_by(Comparison.id))
            return [{"old": a, "new": b, "created_at": c.created_at,
                     "findings": json.loads(c.findings)} for c, a, b in s.execute(q)]

    def versions(self, name: str) -> list[str]:
        """Return the model versions of monitor ``name``, oldest first."""
        with self.session() as s:
            return self._versions(s, self._monitor(s, name).id)

    def revision(self, name: str | None = None) -> str:
        """Return a token that changes with every write to monitor ``name`` (any: ``None``)."""
        from sqlalchemy import func, select

        from trustbench.monitor.schema import Monitor

        with self.session() as s:
            if name is not None:
                return str(self._monitor(s, name).revision or 0)
            n, total = s.execute(select(func.count(Monitor.id),
                                        func.coalesce(func.sum(Monitor.revision), 0))).one()
            return f"{n}-{total}"

    # -- windows --------------------------------------------------------------------------
    def ingest(self, name: str, profile: Profile, rows: Iterable[Mapping[str, Any]], *,
               content_hash: str, batch_id: str | None = None,
               version: str | None = None,
               inputs: tuple[int, bytes] | None = None) -> IngestResult:
        """Store one window, whole or not at all; a batch sent again is stored once.

        ``rows`` are dicts with ``row_id`` and optionally ``prediction``, ``confidence``,
        ``proba`` (bytes), ``group``, ``label``. ``batch_id`` defaults to the content hash.
        ``version`` defaults to the newest registered version. ``inputs`` is ``(rows,
        Parquet bytes)`` of the window's kept input rows. :meth:`ingesting` does the same
        for rows that arrive chunk by chunk.
        """
        with self.ingesting(name, content_hash=content_hash, batch_id=batch_id,
                            version=version) as w:
            if w.duplicate is not None:
                return w.duplicate
            w.add_rows(list(rows))
            return w.finish(profile, inputs)

    @contextmanager
    def ingesting(self, name: str, *, content_hash: str, batch_id: str | None = None,
                  version: str | None = None) -> Iterator[WindowWriter]:
        """Open one window's ingest: rows go in chunk by chunk, in one transaction.

        The writer's ``duplicate`` is the stored window when the batch was sent before
        (nothing is to be written); otherwise call :meth:`WindowWriter.add_rows` per chunk
        and :meth:`WindowWriter.finish` with the profile. An exception, or leaving without
        ``finish``, rolls everything back: the window is stored whole or not at all.
        """
        from sqlalchemy import func, select

        from trustbench.monitor.schema import ModelVersion, Window

        batch_id = batch_id or content_hash
        with self.session() as s, s.begin():
            m = self._monitor(s, name, lock=True)  # serialises this monitor's ingests
            same = s.execute(select(Window.seq, Window.id, Window.rows).where(
                Window.monitor_id == m.id,
                (Window.batch_id == batch_id) | (Window.content_hash == content_hash))).first()
            if same is not None:
                yield WindowWriter(s, None, m, IngestResult(same.seq, same.id, True, same.rows))
                return
            q = select(ModelVersion.id).where(ModelVersion.monitor_id == m.id)
            if version is None:
                version_id = s.scalar(q.order_by(ModelVersion.id.desc()).limit(1))
            else:
                version_id = s.scalar(q.where(ModelVersion.version == version))
                if version_id is None:
                    raise InputError(f"{self.where}: monitor {name!r} has no model version "
                                     f"{version!r}",
                                     fix=f"use one of: {', '.join(self._versions(s, m.id))}")
            seq = (s.scalar(select(func.max(Window.seq)).where(Window.monitor_id == m.id)) or 0) + 1
            w = Window(monitor_id=m.id, model_version_id=version_id, seq=seq, batch_id=batch_id,
                       content_hash=content_hash, received_at=_now(), rows=0, profile="{}")
            s.add(w)
            s.flush()
            writer = WindowWriter(s, w, m, None)
            yield writer
            if not writer.finished:
                raise RuntimeError("the ingest was left without finish(): nothing is stored")

    def windows(self, name: str) -> list[StoredWindow]:
        """Return every window of monitor ``name``, in stream order."""
        return self._windows(name, None)

    def window(self, name: str, seq: int | None = None) -> StoredWindow | None:
        """Return window ``seq`` of monitor ``name`` (the latest: ``None``), or ``None``."""
        found = self._windows(name, seq if seq is not None else -1)
        return found[0] if found else None

    def _windows(self, name: str, seq: int | None) -> list[StoredWindow]:
        """Windows in stream order: all (``None``), the latest (``-1``) or number ``seq``."""
        from sqlalchemy import select

        from trustbench.monitor.schema import ModelVersion, Window

        with self.session() as s:
            m = self._monitor(s, name)
            q = (select(Window, ModelVersion.version)
                 .join(ModelVersion, Window.model_version_id == ModelVersion.id)
                 .where(Window.monitor_id == m.id))
            if seq == -1:
                q = q.order_by(Window.seq.desc()).limit(1)
            else:
                q = (q if seq is None else q.where(Window.seq == seq)).order_by(Window.seq)
            # only the windows asked for: each profile is parsed from JSON
            return [StoredWindow(w.seq, w.id, w.batch_id, w.received_at, w.rows, v,
                                 Profile.from_dict(json.loads(w.profile)))
                    for w, v in s.execute(q)]

    def window_rows(self, name: str, seq: int) -> list[dict[str, Any]]:
        """Return the stored rows of window ``seq`` of monitor ``name``."""
        from sqlalchemy import select

        from trustbench.monitor.schema import Window, WindowRow

        with self.session() as s:
            m = self._monitor(s, name)
            wid = s.scalar(select(Window.id).where(Window.monitor_id == m.id, Window.seq == seq))
            if wid is None:
                raise InputError(f"{self.where}: monitor {name!r} has no window {seq}")
            q = select(WindowRow).where(WindowRow.window_id == wid).order_by(WindowRow.id)
            return [{"row_id": r.row_id, "prediction": r.prediction, "confidence": r.confidence,
                     "proba": r.proba, "group": r.group, "label": r.label}
                    for r in s.scalars(q)]

    def window_inputs(self, name: str, seq: int) -> bytes | None:
        """Return window ``seq``'s kept input rows (Parquet bytes), or ``None``."""
        from sqlalchemy import select

        from trustbench.monitor.schema import Window, WindowInputs

        with self.session() as s:
            m = self._monitor(s, name)
            return s.scalar(select(WindowInputs.data).join(
                Window, WindowInputs.window_id == Window.id).where(
                Window.monitor_id == m.id, Window.seq == seq))

    def add_labels(self, name: str, labels: Mapping[str, int]) -> tuple[int, list[str], list[int]]:
        """Attach labels to stored rows by row id, in one transaction.

        Returns ``(rows labelled, row ids not found, windows whose rows got labels)``.
        """
        from sqlalchemy import bindparam, select, update

        from trustbench.monitor.schema import Window, WindowRow

        with self.session() as s, s.begin():
            m = self._monitor(s, name, lock=True)
            labels = {str(k): int(v) for k, v in labels.items()}  # row ids are stored as text
            ids = list(labels)
            known: set[str] = set()
            windows: set[int] = set()
            for i in range(0, len(ids), 1000):
                for row_id, seq in s.execute(
                        select(WindowRow.row_id, Window.seq)
                        .join(Window, Window.id == WindowRow.window_id)
                        .where(WindowRow.monitor_id == m.id,
                               WindowRow.row_id.in_(ids[i : i + 1000]))):
                    known.add(row_id)
                    windows.add(int(seq))
            todo = [{"m": m.id, "r": r, "l": int(labels[r])} for r in ids if r in known]
            if todo:
                stmt = (update(WindowRow)
                        .where(WindowRow.monitor_id == bindparam("m"),
                               WindowRow.row_id == bindparam("r"))
                        .values(label=bindparam("l")))
                s.connection().execute(stmt, todo)
                m.revision = (m.revision or 0) + 1
            return len(todo), [r for r in ids if r not in known], sorted(windows)

    def add_alerts(self, name: str, seq: int | None, alerts: Iterable[Mapping[str, Any]]) -> int:
        """Store alerts (``kind``, ``subject``, ``message``, ``details``) of window ``seq``.

        An alert of the same window, kind and subject as a stored one is not stored again
        (a window checked twice raises its alarms once). Returns how many were new.
        """
        from sqlalchemy import select

        from trustbench.monitor.schema import Alert, Window

        alerts = list(alerts)
        with self.session() as s, s.begin():
            m = self._monitor(s, name, lock=True)
            wid = None if seq is None else s.scalar(
                select(Window.id).where(Window.monitor_id == m.id, Window.seq == seq))
            known = set(s.execute(select(Alert.kind, Alert.subject).where(
                Alert.monitor_id == m.id,
                Alert.window_id.is_(None) if wid is None else Alert.window_id == wid)).all())
            new = 0
            for a in alerts:
                if (a["kind"], a["subject"]) in known:
                    continue
                known.add((a["kind"], a["subject"]))
                s.add(Alert(monitor_id=m.id, window_id=wid, raised_at=_now(), kind=a["kind"],
                            subject=a["subject"], message=a["message"],
                            details=dict(a.get("details", {}))))
                new += 1
            if new:
                m.revision = (m.revision or 0) + 1
        return new

    def alerts(self, name: str) -> list[dict[str, Any]]:
        """Return the alerts of monitor ``name``, oldest first."""
        from sqlalchemy import select

        from trustbench.monitor.schema import Alert, Window

        with self.session() as s:
            m = self._monitor(s, name)
            q = (select(Alert, Window.seq).outerjoin(Window, Alert.window_id == Window.id)
                 .where(Alert.monitor_id == m.id).order_by(Alert.id))
            return [{"window": seq, "kind": a.kind, "subject": a.subject, "message": a.message,
                     "raised_at": a.raised_at, "details": a.details} for a, seq in s.execute(q)]

    def calibration(self, name: str, version: str | None = None) -> dict[str, Any]:
        """Return the stored confidence calibration of a model version (the newest: ``None``)."""
        return self.version(name, version)["calibration"]

    # -- plumbing -------------------------------------------------------------------------
    def session(self) -> Any:
        """Return a new ORM session (for the package's other modules: keys, deliveries)."""
        from sqlalchemy.orm import Session

        return Session(self.engine, expire_on_commit=False)

    def _monitor(self, s: Any, name: str, *, lock: bool = False) -> Any:
        from sqlalchemy import select

        from trustbench.monitor.schema import Monitor

        q = select(Monitor).where(Monitor.name == name)
        if lock and self.engine.dialect.name != "sqlite":
            q = q.with_for_update()
        m = s.scalar(q)
        if m is None:
            names = list(s.scalars(select(Monitor.name).order_by(Monitor.name).limit(20)))
            raise InputError(f"{self.where}: no monitor named {name!r}",
                             fix=(f"use one of: {', '.join(names)}" if names else
                                  "create it first with 'trustbench monitor init'"))
        return m

    def _versions(self, s: Any, monitor_id: int) -> list[str]:
        from sqlalchemy import select

        from trustbench.monitor.schema import ModelVersion

        return list(s.scalars(select(ModelVersion.version).where(
            ModelVersion.monitor_id == monitor_id).order_by(ModelVersion.id)))

    def close(self) -> None:
        """Release the database's connections."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _sqlite_engine(sa: Any, url: str) -> Any:
    # threads of one server share the pool; SQLite's own locks keep writes apart
    engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # transactions are begun below, not by the driver
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        # take the write lock at the start: two writers then queue on the busy timeout
        # instead of one failing when its read transaction tries to become a write
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def open_store(db: str | Path, *, create: bool = True) -> Store:
    """Open the monitoring database ``db`` (a path or a URL), migrating it to this version.

    With ``create=False`` a SQLite file that does not exist is an InputError instead of a
    new database.
    """
    sa = require_extra("sqlalchemy", "monitor", what=WHAT)
    require_extra("alembic", "monitor", what=WHAT)
    url = database_url(db)
    shown = _shown(url)
    try:
        parsed = sa.engine.make_url(url)
    except Exception as e:  # SQLAlchemy raises ArgumentError and others
        raise InputError(f"{shown}: not a database URL ({e})",
                         fix="give a file path, sqlite:///path or postgresql://user@host/db") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        path = parsed.database
        if path and path != ":memory:":
            p = Path(path)
            if not p.exists() and not create:
                raise InputError(f"{shown}: no such database", fix="create it with "
                                 "'trustbench monitor init', or check the path")
            if not p.parent.is_dir():
                raise InputError(f"{shown}: folder {p.parent} does not exist",
                                 fix="create the folder, or give another path")
        engine = _sqlite_engine(sa, url)
    elif backend == "postgresql":
        if parsed.get_driver_name() in ("", "psycopg2") and parsed.drivername == "postgresql":
            url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
            require_extra("psycopg", "monitor", what=f"{WHAT} on PostgreSQL")
        engine = sa.create_engine(url, pool_pre_ping=True)
    else:
        raise InputError(f"{shown}: {backend} databases are not supported",
                         fix="use SQLite (a file path) or postgresql://")
    try:
        _migrate(engine)
    except sa.exc.DatabaseError as e:
        engine.dispose()
        text = str(getattr(e, "orig", e)).strip().splitlines()[0] if str(e) else type(e).__name__
        if backend == "sqlite" and "not a database" in text:
            raise InputError(f"{shown}: the file is not a SQLite database (corrupt, or "
                             "another kind of file)",
                             fix="restore it from a backup, or give another path") from None
        raise InputError(f"{shown}: cannot use the database ({text})",
                         fix="check that the server runs and the URL, user and password "
                         "are right" if backend == "postgresql" else
                         "check the file and its permissions") from None
    return Store(engine, url)


def _migrate(engine: Any, revision: str = "head") -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
