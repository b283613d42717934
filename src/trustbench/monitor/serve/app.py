"""The monitoring service: an ingest API and a live dashboard over the monitoring database.

:func:`create_app` builds the FastAPI application ``trustbench monitor serve`` runs with
uvicorn. It adds transport and pages only: every write goes through the same library
functions as the CLI (:func:`~trustbench.monitor.jobs.ingest_batch`,
:func:`~trustbench.monitor.jobs.ingest_labels`, :func:`~trustbench.monitor.jobs.check_monitor`),
with the same validation and transactions.

API (the OpenAPI spec is at ``/openapi.json``):

* ``POST /api/monitors/{name}/batches`` — a batch as JSON (``{"batch_id", "version",
  "rows": [{column: value}]}``), a Parquet body or a CSV body (``?batch_id=&version=``).
  Stored as the monitor's next window, then checked: 201 with the window and its alerts,
  200 when the batch was stored before (idempotent by batch id or content), 422 naming the
  column and row of bad input, 404 for an unknown monitor, 413 above the body limit.
* ``POST /api/monitors/{name}/labels`` — late labels: ``{"labels": [{"id", "label"}]}``
  or a CSV/Parquet body with the monitor's id and label columns. The windows that got
  labels are checked again: the answer lists them and any performance or fairness alert
  (a fall in accuracy, overall or in a group, from the reference's).
* ``GET /api/monitors``, ``/api/monitors/{name}``, ``/api/monitors/{name}/dashboard``,
  ``/api/monitors/{name}/alerts``, ``/api/token``, ``/api/monitors/{name}/token`` — reads;
  a token changes with every write, so the page polls it and refetches only then.
* ``GET /api/health`` — no key needed.

Keys (:mod:`trustbench.monitor.keys`) come as ``Authorization: Bearer <key>`` or
``X-API-Key``. Writes always need one; reads too, unless ``open_reads``. No key or a
wrong key is 401, a revoked key 403; neither writes anything. Every request is logged
(logger ``trustbench.monitor.serve``) with the key's id, never the key.
"""

# no "from __future__ import annotations": FastAPI reads the endpoints' annotations, which
# name classes imported inside create_app

import json
import logging
import tempfile
import threading
import time
from collections.abc import Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from trustbench.errors import InputError
from trustbench.extras import require_extra
from trustbench.monitor.store import Store

__all__ = ["DEFAULT_MAX_BODY", "create_app"]

log = logging.getLogger("trustbench.monitor.serve")
WHAT = "trustbench monitor serve"
STATIC = Path(__file__).parent / "static"
DEFAULT_MAX_BODY = 64 * 2**20  # bytes
MAX_JSON_ROWS = 1_000_000
PARQUET_TYPES = ("application/vnd.apache.parquet", "application/x-parquet",
                 "application/parquet", "application/octet-stream")


class _BodyLimit:
    """ASGI middleware: a body above ``limit`` bytes is answered 413 before it is read whole."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._too_large(send)
            return
        seen = 0

        async def counted() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:  # a body without Content-Length, counted as it arrives
                    from fastapi import HTTPException

                    raise HTTPException(413, self._message())
            return message

        await self.app(scope, counted, send)

    def _message(self) -> str:
        return f"the body is larger than the limit of {self.limit} bytes"

    async def _too_large(self, send: Any) -> None:
        body = json.dumps({"detail": self._message(),
                           "fix": "send smaller batches, or start the server with a larger "
                                  "--max-body-mb"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def _frame_from_rows(rows: Any, what: str) -> Any:
    """Build a DataFrame from JSON rows (objects whose values are scalars), checked."""
    import pandas as pd

    if not isinstance(rows, list):
        raise InputError(f"{what} must be a list of objects (one per row)")
    if not rows:
        raise InputError(f"{what} is empty", fix="send at least one row")
    if len(rows) > MAX_JSON_ROWS:
        raise InputError(f"{what} has {len(rows)} rows, more than {MAX_JSON_ROWS} per request",
                         fix="send it in several batches, or as Parquet")
    first: dict[str, type] = {}
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise InputError(f"{what}[{i}] is a {type(row).__name__}, not an object")
        for k, v in row.items():
            if v is None:
                continue
            if not isinstance(v, (str, int, float, bool)):
                raise InputError(f"{what}[{i}] column {k!r} holds a {type(v).__name__}, not a "
                                 "number, text, true/false or null")
            kind = float if isinstance(v, (int, float)) and not isinstance(v, bool) else type(v)
            seen = first.setdefault(k, kind)
            if seen is not kind:
                name = {float: "number", str: "text", bool: "true/false"}
                raise InputError(f"{what}[{i}] column {k!r} holds {name[kind]}, and earlier rows "
                                 f"{name[seen]}", fix="send one type per column")
    return pd.DataFrame.from_records(rows)


def create_app(store: Store, *, open_reads: bool = False, webhooks: Sequence[str] = (),
               max_body: int = DEFAULT_MAX_BODY, trust_pickle: bool = False,
               notifier: bool = True, notify_every: float = 0.5) -> Any:
    """Build the service's FastAPI application over an open :class:`Store`.

    Parameters
    ----------
    open_reads
        Serve reads (the dashboard's data) without a key. Writes always need one.
    webhooks
        URLs every new alert is POSTed to (JSON), from an outbox with retries.
    max_body
        The largest request body, in bytes (413 above it).
    trust_pickle
        Let pickle/joblib model files of the monitors load to score batches.
    notifier, notify_every
        Run the alert thread (:class:`~trustbench.monitor.serve.notify.Notifier`), and how
        often it looks for new alerts.
    """
    fastapi = require_extra("fastapi", "monitor", what=WHAT)
    from fastapi import Depends, FastAPI, HTTPException, Request
    from fastapi.responses import FileResponse, JSONResponse
    from fastapi.staticfiles import StaticFiles
    from pydantic import BaseModel, Field, ValidationError
    from starlette.concurrency import run_in_threadpool

    from trustbench import __version__
    from trustbench.monitor.jobs import check_monitor, ingest_batch, ingest_labels
    from trustbench.monitor.keys import verify_key
    from trustbench.monitor.serve.dashboard import iso_time, monitor_dashboard, overview
    from trustbench.monitor.serve.notify import Notifier

    locks: dict[str, threading.Lock] = {}
    locks_guard = threading.Lock()
    cache: dict[str, tuple[str, dict[str, Any]]] = {}

    def lock_of(name: str) -> threading.Lock:
        with locks_guard:
            return locks.setdefault(name, threading.Lock())

    worker = Notifier(store, webhooks, every=notify_every) if notifier else None

    @asynccontextmanager
    async def lifespan(_app: Any) -> Any:
        if worker is not None:
            worker.start()
        log.info("serving %s (reads %s; %d webhooks)", store.where,
                 "open" if open_reads else "need a key", len(webhooks))
        yield
        if worker is not None:
            worker.stop()
            worker.join(timeout=5)

    app = FastAPI(title="trustbench monitor", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None,  # their pages load assets from a CDN
                  description="Ingest production batches and late labels; read drift, "
                              "performance, fairness and alerts. Keys: 'trustbench monitor "
                              "key create'.")
    app.add_middleware(_BodyLimit, limit=max_body)

    @app.middleware("http")
    async def log_requests(request: Request, call_next: Any) -> Any:
        t = time.perf_counter()
        request.state.key_id = None
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            log.info("%s %s %d key=%s %.0fms", request.method, request.url.path, status,
                     request.state.key_id or "-", (time.perf_counter() - t) * 1000)

    @app.exception_handler(InputError)
    async def input_error(_request: Request, e: InputError) -> JSONResponse:
        return JSONResponse({"detail": str(e).split(" -- ")[0], "fix": e.fix}, status_code=422)

    @app.exception_handler(ValidationError)
    async def invalid(_request: Request, e: ValidationError) -> JSONResponse:
        first = e.errors()[0] if e.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return JSONResponse({"detail": f"{where or 'the body'}: {first.get('msg', 'invalid')}",
                             "fix": "see the request schema at /openapi.json"}, status_code=422)

    def _presented(request: Request) -> str | None:
        auth = request.headers.get("authorization", "")
        if auth[:7].lower() == "bearer ":
            return auth[7:].strip() or None
        return request.headers.get("x-api-key") or None

    def _check(request: Request, *, write: bool) -> None:
        key = _presented(request)
        if key is None:
            if write or not open_reads:
                raise HTTPException(401, "this needs an API key (Authorization: Bearer <key>); "
                                    "create one with 'trustbench monitor key create'",
                                    headers={"WWW-Authenticate": "Bearer"})
            return
        status, key_id = verify_key(store, key)
        if status == "wrong":
            raise HTTPException(401, "the API key is not valid", headers={"WWW-Authenticate": "Bearer"})
        request.state.key_id = key_id
        if status == "revoked":
            raise HTTPException(403, f"the API key {key_id} was revoked")

    def reader(request: Request) -> None:
        _check(request, write=False)

    def writer(request: Request) -> None:
        _check(request, write=True)

    def known(name: str) -> None:
        if name not in store.monitors():
            raise HTTPException(404, f"no monitor named {name!r}")

    class BatchIn(BaseModel):
        """A batch as JSON rows."""

        batch_id: str | None = Field(None, max_length=200,
                                     description="Sent again with the same id: stored once.")
        version: str | None = Field(None, max_length=200,
                                    description="The model version that made the predictions.")
        rows: list[dict[str, Any]] = Field(..., description="One object per row: column -> "
                                           "number, text, true/false or null.")

    class LabelIn(BaseModel):
        """One late label."""

        id: str | int = Field(..., description="The row's id (the monitor's --id column).")
        label: int = Field(..., description="The class index.")

    class LabelsIn(BaseModel):
        """Late labels as JSON."""

        labels: list[LabelIn]

    def _table_body(content: bytes, ctype: str, what: str, folder: Path) -> Path:
        if ctype in ("text/csv", "application/csv"):
            path = folder / "body.csv"
        elif ctype in PARQUET_TYPES:
            path = folder / "body.parquet"
        else:
            raise InputError(f"{what}: content type {ctype or '(none)'} is not supported",
                             fix="send application/json, text/csv or "
                                 "application/vnd.apache.parquet")
        if not content:
            raise InputError(f"{what}: the body is empty")
        path.write_bytes(content)
        return path

    async def _json(request: Request) -> Any:
        try:
            return json.loads(await request.body())
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise InputError(f"the body is not valid JSON ({e})") from None

    def _write_frame(frame: Any, folder: Path) -> Path:
        path = folder / "body.parquet"
        try:
            frame.to_parquet(path, index=False)
        except Exception as e:  # pyarrow: a column it cannot store
            raise InputError(f"the rows cannot be stored as a table ({e})") from None
        return path

    def _ingest(name: str, path: Path, batch_id: str | None, version: str | None) -> dict:
        with lock_of(name):  # this process's writers queue here, not on SQLite's busy timeout
            r = ingest_batch(store, name, path, batch_id=batch_id, version=version,
                             trust_pickle=trust_pickle, where="batch")
            alerts: list[str] = []
            if not r.duplicate:
                card = check_monitor(store, name, window=r.seq)
                alerts = [f.title for f in card.findings if f.severity == "fail"]
        return {"monitor": name, "window": r.seq, "rows": r.rows, "duplicate": r.duplicate,
                "alerts": alerts}

    batch_body = {"requestBody": {"required": True, "content": {
        "application/json": {"schema": BatchIn.model_json_schema()},
        "text/csv": {"schema": {"type": "string"}},
        "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}}}}}

    @app.post("/api/monitors/{name}/batches", status_code=201, openapi_extra=batch_body,
              dependencies=[Depends(writer)], tags=["ingest"],
              responses={200: {"description": "Stored before: nothing new"},
                         404: {"description": "No such monitor"},
                         413: {"description": "The body is above the limit"},
                         422: {"description": "Bad input, with the column and row"}})
    async def post_batch(name: str, request: Request, batch_id: str | None = None,
                         version: str | None = None) -> JSONResponse:
        """Store a production batch as the monitor's next window and check it."""
        known(name)
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        with tempfile.TemporaryDirectory(prefix="trustbench-batch-") as tmp:
            folder = Path(tmp)
            if ctype in ("application/json", ""):
                body = await _json(request)
                if isinstance(body, list):
                    body = {"rows": body}
                if not isinstance(body, dict):
                    raise InputError("the body must be an object with \"rows\", or a list of rows")
                batch = BatchIn.model_validate(body) if "rows" in body else None
                if batch is None:
                    raise InputError("the body has no \"rows\"", fix='send {"rows": [{...}, ...]}')
                path = _write_frame(_frame_from_rows(body["rows"], "rows"), folder)
                batch_id, version = batch.batch_id or batch_id, batch.version or version
            else:
                path = _table_body(await request.body(), ctype, "batch", folder)
            if batch_id is not None and not 0 < len(batch_id) <= 200:
                raise InputError("batch_id must be 1 to 200 characters")
            out = await run_in_threadpool(_ingest, name, path, batch_id, version)
        return JSONResponse(out, status_code=200 if out["duplicate"] else 201)

    labels_body = {"requestBody": {"required": True, "content": {
        "application/json": {"schema": LabelsIn.model_json_schema()},
        "text/csv": {"schema": {"type": "string"}},
        "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}}}}}

    @app.post("/api/monitors/{name}/labels", openapi_extra=labels_body,
              dependencies=[Depends(writer)], tags=["ingest"],
              responses={404: {"description": "No such monitor"},
                         422: {"description": "Bad input"}})
    async def post_labels(name: str, request: Request) -> dict:
        """Attach late labels to stored rows by row id."""
        import pandas as pd

        known(name)
        settings = store.settings(name)
        id_col, label_col = settings.get("id_column"), settings.get("label_column")
        if not id_col or not label_col:
            raise InputError(f"monitor {name!r} was created without --id and --label columns",
                             fix="create the monitor with --id and --label to take late labels")
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        with tempfile.TemporaryDirectory(prefix="trustbench-labels-") as tmp:
            folder = Path(tmp)
            if ctype in ("application/json", ""):
                body = LabelsIn.model_validate(await _json(request))
                if not body.labels:
                    raise InputError("labels is empty", fix="send at least one label")
                frame = pd.DataFrame({id_col: [str(x.id) for x in body.labels],
                                      label_col: [x.label for x in body.labels]})
                path = _write_frame(frame, folder)
            else:
                path = _table_body(await request.body(), ctype, "labels", folder)

            def work() -> Any:
                with lock_of(name):
                    return ingest_labels(store, name, path, where="labels")

            r = await run_in_threadpool(work)
        return {"monitor": name, "labelled": r.labelled, "unknown": r.unknown[:20],
                "unknown_count": len(r.unknown), "windows": r.windows,
                "alerts": [{"window": seq, "kind": f.id.split(".")[1], "message": f.title}
                           for seq, f in r.alarms]}

    @app.get("/api/health", tags=["read"])
    def health() -> dict:
        """Say whether the service and its database answer (no key needed)."""
        store.revision()
        return {"status": "ok", "version": __version__}

    @app.get("/api/token", dependencies=[Depends(reader)], tags=["read"])
    def token() -> dict:
        """Return a token that changes whenever any monitor changes."""
        return {"token": store.revision()}

    @app.get("/api/monitors", dependencies=[Depends(reader)], tags=["read"])
    def monitors() -> dict:
        """List every monitor with its state, latest window and versions."""
        return {"monitors": overview(store)}

    @app.get("/api/monitors/{name}", dependencies=[Depends(reader)], tags=["read"],
             responses={404: {"description": "No such monitor"}})
    def monitor(name: str) -> dict:
        """Return one monitor's state, settings and versions."""
        known(name)
        (row,) = overview(store, [name])
        return {**row, "settings": store.settings(name), "token": store.revision(name)}

    @app.get("/api/monitors/{name}/token", dependencies=[Depends(reader)], tags=["read"],
             responses={404: {"description": "No such monitor"}})
    def monitor_token(name: str) -> dict:
        """Return a token that changes with every write to the monitor."""
        known(name)
        return {"token": store.revision(name)}

    @app.get("/api/monitors/{name}/dashboard", dependencies=[Depends(reader)], tags=["read"],
             responses={404: {"description": "No such monitor"}})
    def dashboard(name: str) -> JSONResponse:
        """Return drift per column and window, performance, fairness, alerts and comparisons."""
        known(name)
        with lock_of(f"dashboard:{name}"):  # one computation per change, however many pages
            rev = store.revision(name)
            hit = cache.get(name)
            if hit is None or hit[0] != rev:
                hit = (rev, monitor_dashboard(store, name))
                cache[name] = hit
        return JSONResponse(json.loads(json.dumps(hit[1], default=str), parse_constant=_nan))

    @app.get("/api/monitors/{name}/alerts", dependencies=[Depends(reader)], tags=["read"],
             responses={404: {"description": "No such monitor"}})
    def alerts(name: str, limit: int = 200) -> dict:
        """Return the monitor's stored alerts, newest last."""
        known(name)
        if not 1 <= limit <= 10_000:
            raise InputError("limit must be in [1, 10000]")
        return {"alerts": [{**a, "raised_at": iso_time(a["raised_at"])}
                           for a in store.alerts(name)[-limit:]]}

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "dashboard.html")

    @app.get("/monitors/{name}", include_in_schema=False)
    def monitor_page(name: str) -> FileResponse:
        return FileResponse(STATIC / "dashboard.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.state.store = store
    del fastapi  # imported for its message when missing
    return app


def _nan(_text: str) -> None:
    """JSON's NaN and Infinity read back as null: browsers' JSON.parse refuses them."""
    return None
