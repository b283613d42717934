"""The labelling page's HTTP server: the standard library only, on loopback unless asked.

Routes: ``GET /`` (the page), ``GET /api/next`` (the next pair, or ``done``), ``POST
/api/choice`` with ``{"id", "choice"}`` (answers with the next pair) and ``POST /api/stop``.
Errors are JSON ``{"error": "..."}``: 400 a bad request, 403 a ``Host`` that is not loopback
(a page elsewhere reaching in through DNS rebinding), 404, 409 a pair already labelled, 411,
413, 415 a body that is not ``application/json`` (so another site cannot post a plain form
here), 500 a choice that could not be saved.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from trustbench.align._label_page import PAGE, SCRIPT, STYLE
from trustbench.errors import InputError, TrustbenchError

if TYPE_CHECKING:
    from trustbench.align.label import LabelSession

__all__ = ["LabelServer", "serve_labels", "start_label_server"]

log = logging.getLogger("trustbench.align.label")
_MAX_BODY = 64 * 1024


def _sha(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


# the page's own two inline blocks may run, nothing else: no injected script, no other host
_CSP = (f"default-src 'none'; script-src {_sha(SCRIPT)}; style-src {_sha(STYLE)}; "
        "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'")


def _is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def next_payload(session: LabelSession) -> dict[str, Any]:
    """Return the next pair as the page gets it (``done`` when none is left), with progress."""
    task = session.next()
    if task is None:
        return {"done": True, "progress": asdict(session.progress()),
                "annotator": session.annotator}
    return {"done": False, "id": task.pair.id, "prompt": task.pair.prompt, "left": task.left,
            "right": task.right, "group": task.pair.group, "progress": asdict(task.progress),
            "annotator": session.annotator}


class _Handler(BaseHTTPRequestHandler):
    session: LabelSession
    allow_remote: bool
    server_version = "trustbench-label"

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        if content_type.startswith("text/html"):
            self.send_header("Content-Security-Policy", _CSP)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data: dict[str, Any]) -> None:
        self._send(status, json.dumps(data).encode(), "application/json")

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"error": message})

    def _route(self) -> str | None:
        """Return the request's path, or None (answered 403) if its Host is not loopback."""
        host = self.headers.get("Host", "")
        name = host[1:host.find("]")] if host.startswith("[") else host.split(":")[0]
        if not self.allow_remote and not _is_loopback(name):
            self._error(403, f"Host {host[:80]!r} is not this machine's loopback address")
            return None
        return urlsplit(self.path).path

    def do_GET(self) -> None:
        path = self._route()
        if path in ("/", "/index.html"):
            self._send(200, PAGE.encode(), "text/html; charset=utf-8")
        elif path == "/api/next":
            self._json(200, next_payload(self.session))
        elif path is not None:
            self._error(404, f"no page {path[:80]!r}")

    def do_POST(self) -> None:
        from trustbench.align.label import AlreadyLabelledError  # label.py imports this module

        path = self._route()
        if path not in ("/api/choice", "/api/stop"):
            if path is not None:
                self._error(404, f"no endpoint {path[:80]!r}")
            return
        body = self._body()
        if body is None:
            return
        if path == "/api/stop":
            self._json(200, {"stopped": True})
            threading.Thread(target=self.server.shutdown, daemon=True).start()
            return
        pid, choice = body.get("id"), body.get("choice")
        if isinstance(pid, bool) or not isinstance(pid, str | int):
            return self._error(400, "'id' must be the pair's id, a string or an integer")
        if not isinstance(choice, str):
            return self._error(400, "'choice' must be one of left, right, tie, skip")
        try:
            self.session.record(pid, choice)
        except AlreadyLabelledError as e:
            return self._error(409, str(e))
        except InputError as e:
            return self._error(400, str(e))
        except TrustbenchError as e:
            return self._error(500, str(e))
        self._json(200, next_payload(self.session))

    def _body(self) -> dict[str, Any] | None:
        """Return the request's JSON object, or None when an error was answered instead."""
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if content_type != "application/json":
            self._error(415, "send the request body as application/json")
            return None
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._error(411, "the request needs a Content-Length")
            return None
        if not 0 <= length <= _MAX_BODY:
            self._error(413, f"the request body is {length} bytes; at most {_MAX_BODY} are read")
            return None
        try:
            data = json.loads(self.rfile.read(length))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            self._error(400, f"the request body is not valid JSON ({e})")
            return None
        if not isinstance(data, dict):
            self._error(400, f"the request body is a JSON {type(data).__name__}, not an object")
            return None
        return data


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.exception("labelling server: a request from %s failed", client_address)


def _bind(session: LabelSession, host: str, port: int, allow_remote: bool) -> _Server:
    if not allow_remote and not _is_loopback(host):
        raise InputError(f"host {host!r} is not a loopback address: the page, and every "
                         "prompt in it, would be open to the network",
                         fix="use 127.0.0.1 (the default), or allow_remote=True to mean it")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise InputError(f"port {port!r} is not a port number", fix="give 0 to 65535 (0: any free one)")
    handler = type("LabelHandler", (_Handler,), {"session": session, "allow_remote": allow_remote})
    server_class = type("LabelHTTPServer", (_Server,), {
        "address_family": socket.AF_INET6 if ":" in host else socket.AF_INET})
    try:
        return server_class((host.strip("[]"), port), handler)
    except OSError as e:
        raise InputError(f"cannot listen on {host} port {port} ({e.strerror or e})",
                         fix="pass another port, or 0 for any free one") from None


def _url(server: _Server) -> str:
    host, port = server.server_address[:2]
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(str(host), str(host))
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/"


def serve_labels(session: LabelSession, *, host: str = "127.0.0.1", port: int = 0,
                 on_ready: Callable[[str], object] | None = None,
                 allow_remote: bool = False) -> None:
    """Serve the labelling page for ``session`` until stopped.

    It stops on Ctrl-C or on ``POST /api/stop`` (the page's "Finish for now");
    :func:`start_label_server` runs it in a thread with a ``stop()``. ``on_ready(url)`` is
    called once it listens (``port=0`` picks a free port). A ``host`` that is not loopback is
    refused unless ``allow_remote``. The session stays open: its owner closes it.
    """
    server = _bind(session, host, port, allow_remote)
    try:
        if on_ready is not None:
            on_ready(_url(server))
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        log.info("labelling server stopped by Ctrl-C")
    finally:
        server.server_close()


class LabelServer:
    """A labelling server running in a background thread, from :func:`start_label_server`."""

    def __init__(self, server: _Server) -> None:
        self._server = server
        self.url = _url(server)
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="trustbench-label-server", daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        """Whether it still serves (``POST /api/stop`` ends it too)."""
        return self._thread.is_alive()

    def stop(self) -> None:
        """Stop serving and close the socket (the session stays open)."""
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()

    def __enter__(self) -> LabelServer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def start_label_server(session: LabelSession, *, host: str = "127.0.0.1", port: int = 0,
                       allow_remote: bool = False) -> LabelServer:
    """Start :func:`serve_labels`' server in a background thread; ``.url``, ``.stop()``."""
    return LabelServer(_bind(session, host, port, allow_remote))
