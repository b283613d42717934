"""Alerts leave the server: in the log, and as webhook POSTs from an outbox.

:class:`Notifier` runs in a thread of ``trustbench monitor serve``. Every half second it

1. takes the alerts not yet handled (``alerts.notified_at`` empty — raised by the server's
   own checks, or by ``trustbench monitor check`` and ``register`` from cron), logs each,
   and groups them: an alert whose kind and subject also alarmed in the window before is
   the same condition going on, and is not sent again; a new condition gets one
   ``deliveries`` row per webhook, in the same transaction that marks the alert handled;
2. POSTs the deliveries that are due, as JSON, with a 5 s timeout. A 2xx marks one sent;
   anything else is retried with exponential back-off (1 s, 2 s, 4 s ... capped at 5 min)
   up to ``max_attempts``, then marked failed with its last error.

Ingest never waits for a webhook: deliveries are rows in the database, sent by this thread,
and survive a restart (the outbox is read again on start).
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from trustbench.monitor.store import Store

__all__ = ["Notifier", "handle_alerts", "send_due"]

log = logging.getLogger("trustbench.monitor.serve")
MAX_BACKOFF_S = 300.0


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo is not None else t.replace(tzinfo=timezone.utc)  # SQLite drops it


def handle_alerts(store: Store, webhooks: Sequence[str]) -> int:
    """Log, group and queue the alerts not handled yet; return how many were new conditions."""
    from sqlalchemy import select

    from trustbench.monitor.schema import Alert, Delivery, Monitor, Window

    new = 0
    q = (select(Alert, Monitor.name, Window.seq)
         .join(Monitor, Alert.monitor_id == Monitor.id)
         .outerjoin(Window, Alert.window_id == Window.id)
         .where(Alert.notified_at.is_(None)).order_by(Alert.id).limit(500))
    if store.engine.dialect.name != "sqlite":  # two servers on one database: each alert once
        q = q.with_for_update(of=Alert, skip_locked=True)
    with store.session() as s, s.begin():
        rows = s.execute(q).all()
        for alert, monitor, seq in rows:
            alert.notified_at = _now()
            going_on = seq is not None and s.scalar(
                select(Alert.id).join(Window, Alert.window_id == Window.id).where(
                    Alert.monitor_id == alert.monitor_id, Alert.kind == alert.kind,
                    Alert.subject == alert.subject, Window.seq == seq - 1).limit(1)) is not None
            log.warning("ALERT monitor=%s window=%s kind=%s subject=%s%s: %s", monitor, seq,
                        alert.kind, alert.subject, " (continuing)" if going_on else "",
                        alert.message)
            if going_on:
                continue
            new += 1
            payload = json.dumps({"monitor": monitor, "window": seq, "kind": alert.kind,
                                  "subject": alert.subject, "message": alert.message,
                                  "raised_at": _aware(alert.raised_at).isoformat(),
                                  "details": alert.details}, default=str)
            for url in webhooks:
                s.add(Delivery(alert_id=alert.id, url=url, payload=payload, status="pending",
                               attempts=0, next_attempt_at=_now()))
    return new


def _post(url: str, payload: str, timeout: float) -> str | None:
    """POST ``payload``; return None on a 2xx, else what went wrong."""
    req = urllib.request.Request(url, data=payload.encode(), method="POST",
                                 headers={"Content-Type": "application/json",
                                          "User-Agent": "trustbench-monitor"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return None if 200 <= r.status < 300 else f"HTTP {r.status}"
    except urllib.error.HTTPError as e:
        return f"HTTP {e.code}"
    except (urllib.error.URLError, OSError, ValueError) as e:
        return str(getattr(e, "reason", e))[:300]


def send_due(store: Store, *, max_attempts: int = 8, timeout: float = 5.0,
             base_delay: float = 1.0) -> int:
    """POST every delivery that is due; return how many succeeded."""
    from sqlalchemy import select

    from trustbench.monitor.schema import Delivery

    with store.session() as s:
        due = [(d.id, d.url, d.payload, d.attempts) for d in s.scalars(
            select(Delivery).where(Delivery.status == "pending",
                                   Delivery.next_attempt_at <= _now())
            .order_by(Delivery.id).limit(100))]
    sent = 0
    for did, url, payload, attempts in due:
        error = _post(url, payload, timeout)  # outside any transaction: ingest never waits
        with store.session() as s, s.begin():
            d = s.get(Delivery, did)
            if d is None:
                continue
            d.attempts = attempts + 1
            if error is None:
                d.status, d.last_error = "sent", None
                sent += 1
                continue
            d.last_error = error
            if d.attempts >= max_attempts:
                d.status = "failed"
                log.error("webhook %s failed %d times, giving up: %s", url, d.attempts, error)
            else:
                delay = min(MAX_BACKOFF_S, base_delay * 2 ** attempts)
                d.next_attempt_at = _now() + timedelta(seconds=delay)
                log.warning("webhook %s: %s (attempt %d, retry in %.0f s)", url, error,
                            d.attempts, delay)
    return sent


class Notifier(threading.Thread):
    """The server's alert thread: :func:`handle_alerts` then :func:`send_due`, every ``every`` s."""

    def __init__(self, store: Store, webhooks: Sequence[str], *, every: float = 0.5,
                 **send: Any) -> None:
        super().__init__(name="trustbench-notifier", daemon=True)
        self.store, self.webhooks, self.every, self.send = store, list(webhooks), every, send
        self.stopped = threading.Event()

    def run(self) -> None:
        """Loop until :meth:`stop`; an error is logged and the loop goes on."""
        while not self.stopped.wait(self.every):
            try:
                handle_alerts(self.store, self.webhooks)
                send_due(self.store, **self.send)
            except Exception:  # a database hiccup must not end the thread
                log.exception("alert notifier")

    def stop(self) -> None:
        """Ask the loop to end."""
        self.stopped.set()
