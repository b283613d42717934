"""The monitoring database's tables (SQLAlchemy 2), one schema for SQLite and PostgreSQL.

Migrations live in ``trustbench/monitor/migrations`` (Alembic); the first one creates what
is declared here, and every later change to these tables comes with a migration.

* ``monitors`` — one per monitored model: its name, settings and reference profile.
* ``model_versions`` — the versions registered for a monitor; one is current.
* ``windows`` — one per ingested batch: its number in the monitor's stream, batch id and
  content hash (each unique per monitor, so a re-sent batch is stored once), and its
  profile.
* ``window_rows`` — the rows of a window that later labels refer to: row id, predicted
  class, confidence, probabilities, group, and the label once it arrives.
* ``window_inputs`` — a window's input rows (a bounded, uniform sample of them) as
  Parquet bytes, so that a model version registered later can score the stored windows.
* ``alerts`` — what a check raised, when and why.
* ``comparisons`` — a new model version against the previous one on the stored windows,
  computed when the new one was registered (its findings, as JSON).
* ``api_keys`` — the keys of ``trustbench monitor serve``: an id, a name, and the salted
  SHA-256 digest of the secret (never the secret).
* ``deliveries`` — webhook notifications of alerts, an outbox: pending until a POST
  succeeds, retried with back-off.

``monitors.revision`` counts the writes to a monitor (a dashboard polls it).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = ["Alert", "ApiKey", "Base", "Comparison", "Delivery", "ModelVersion", "Monitor",
           "Window", "WindowInputs", "WindowRow"]


class Base(DeclarativeBase):
    """The declarative base of the monitor's tables."""


class Monitor(Base):
    """A monitored model: name, settings, and the reference profile (JSON text)."""

    __tablename__ = "monitors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    settings: Mapped[dict] = mapped_column(JSON)
    profile: Mapped[str] = mapped_column(Text)  # Profile.to_dict() as JSON text
    reference_rows: Mapped[int] = mapped_column(Integer)
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ModelVersion(Base):
    """A version of a monitor's model and what the monitor knows of it."""

    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("monitor_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(String(200))
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    fingerprint: Mapped[str] = mapped_column(String(128), default="")
    calibration: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    model: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # its file: path, sha256
    # its outputs' sketches on the reference (Profile JSON); the first version's are in the
    # monitor's profile
    outputs: Mapped[str | None] = mapped_column(Text, nullable=True)
    # its counts on the labelled reference ({"n", "correct", "groups"}): what performance and
    # fairness alarms compare a labelled window with (None: no labels at init)
    baseline: Mapped[dict | None] = mapped_column(JSON, nullable=True)


class Window(Base):
    """One ingested batch: its place in the stream and its profile."""

    __tablename__ = "windows"
    __table_args__ = (UniqueConstraint("monitor_id", "seq"),
                      UniqueConstraint("monitor_id", "batch_id"),
                      UniqueConstraint("monitor_id", "content_hash"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"))
    seq: Mapped[int] = mapped_column(Integer)  # 1, 2, ...: the window's number in the stream
    batch_id: Mapped[str] = mapped_column(String(200))
    content_hash: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    rows: Mapped[int] = mapped_column(Integer)
    profile: Mapped[str] = mapped_column(Text)


class WindowRow(Base):
    """A row of a window, kept so that labels arriving later can be matched to it."""

    __tablename__ = "window_rows"
    __table_args__ = (UniqueConstraint("window_id", "row_id"),
                      Index("ix_window_rows_monitor_row", "monitor_id", "row_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    window_id: Mapped[int] = mapped_column(ForeignKey("windows.id", ondelete="CASCADE"))
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    row_id: Mapped[str] = mapped_column(String(200))
    prediction: Mapped[int | None] = mapped_column(Integer, nullable=True)
    confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    proba: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # float32 bytes
    group: Mapped[str | None] = mapped_column(String(200), nullable=True)
    label: Mapped[int | None] = mapped_column(Integer, nullable=True)


class WindowInputs(Base):
    """A window's input rows (up to the monitor's ``keep_inputs``), as Parquet bytes."""

    __tablename__ = "window_inputs"

    window_id: Mapped[int] = mapped_column(ForeignKey("windows.id", ondelete="CASCADE"),
                                           primary_key=True)
    rows: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class Alert(Base):
    """An alert a check raised."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    window_id: Mapped[int | None] = mapped_column(ForeignKey("windows.id"), nullable=True)
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(50))  # drift, performance, fairness, regression
    subject: Mapped[str] = mapped_column(String(200))  # the column, metric or version pair
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict] = mapped_column(JSON)
    notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Comparison(Base):
    """A model version against the previous one on the stored windows."""

    __tablename__ = "comparisons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    monitor_id: Mapped[int] = mapped_column(ForeignKey("monitors.id", ondelete="CASCADE"))
    old_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"))
    new_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    findings: Mapped[str] = mapped_column(Text)  # JSON list of Finding.to_dict() (NaN kept)


class ApiKey(Base):
    """An API key of the monitoring service: only a salted digest of its secret is kept."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    salt: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Delivery(Base):
    """One webhook notification of an alert, pending until a POST succeeds."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_status", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))  # pending, sent, failed
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
