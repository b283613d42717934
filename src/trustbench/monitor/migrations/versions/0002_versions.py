"""Versions that score: model file, reference outputs, kept window inputs, comparisons.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``model_versions.model`` and ``.outputs``, ``window_inputs``, ``comparisons``."""
    with op.batch_alter_table("model_versions") as batch:
        batch.add_column(sa.Column("model", sa.JSON, nullable=True))
        batch.add_column(sa.Column("outputs", sa.Text, nullable=True))
    op.create_table(
        "window_inputs",
        sa.Column("window_id", sa.Integer, sa.ForeignKey("windows.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False))
    op.create_table(
        "comparisons",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("monitor_id", sa.Integer, sa.ForeignKey("monitors.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("old_version_id", sa.Integer, sa.ForeignKey("model_versions.id"),
                  nullable=False),
        sa.Column("new_version_id", sa.Integer, sa.ForeignKey("model_versions.id"),
                  nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("findings", sa.Text, nullable=False))


def downgrade() -> None:
    """Drop what :func:`upgrade` added."""
    op.drop_table("comparisons")
    op.drop_table("window_inputs")
    with op.batch_alter_table("model_versions") as batch:
        batch.drop_column("outputs")
        batch.drop_column("model")
