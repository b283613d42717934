"""The first schema: monitors, model versions, windows, window rows, alerts.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the tables."""
    op.create_table(
        "monitors",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settings", sa.JSON, nullable=False),
        sa.Column("profile", sa.Text, nullable=False),
        sa.Column("reference_rows", sa.Integer, nullable=False))
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("monitor_id", sa.Integer, sa.ForeignKey("monitors.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("version", sa.String(200), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fingerprint", sa.String(128), nullable=False),
        sa.Column("calibration", sa.JSON, nullable=True),
        sa.UniqueConstraint("monitor_id", "version"))
    op.create_table(
        "windows",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("monitor_id", sa.Integer, sa.ForeignKey("monitors.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("model_version_id", sa.Integer, sa.ForeignKey("model_versions.id"),
                  nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("batch_id", sa.String(200), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("profile", sa.Text, nullable=False),
        sa.UniqueConstraint("monitor_id", "seq"),
        sa.UniqueConstraint("monitor_id", "batch_id"),
        sa.UniqueConstraint("monitor_id", "content_hash"))
    op.create_table(
        "window_rows",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("window_id", sa.Integer, sa.ForeignKey("windows.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("monitor_id", sa.Integer, sa.ForeignKey("monitors.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("row_id", sa.String(200), nullable=False),
        sa.Column("prediction", sa.Integer, nullable=True),
        sa.Column("confidence", sa.Float, nullable=True),
        sa.Column("proba", sa.LargeBinary, nullable=True),
        sa.Column("group", sa.String(200), nullable=True),
        sa.Column("label", sa.Integer, nullable=True),
        sa.UniqueConstraint("window_id", "row_id"))
    op.create_index("ix_window_rows_monitor_row", "window_rows", ["monitor_id", "row_id"])
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("monitor_id", sa.Integer, sa.ForeignKey("monitors.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("window_id", sa.Integer, sa.ForeignKey("windows.id"), nullable=True),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("details", sa.JSON, nullable=False))


def downgrade() -> None:
    """Drop the tables."""
    for table in ("alerts", "window_rows", "windows", "model_versions", "monitors"):
        op.drop_table(table)
