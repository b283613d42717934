"""A model version's counts on its labelled reference, for performance and fairness alarms.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``model_versions.baseline`` (JSON; NULL: no labelled reference, no such alarms)."""
    with op.batch_alter_table("model_versions") as batch:
        batch.add_column(sa.Column("baseline", sa.JSON, nullable=True))


def downgrade() -> None:
    """Drop what :func:`upgrade` added."""
    with op.batch_alter_table("model_versions") as batch:
        batch.drop_column("baseline")
