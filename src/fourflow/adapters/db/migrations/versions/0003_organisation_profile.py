"""Organisation profile: address, legal representative, phone, industry.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``organisations.profile`` (JSON object of registered facts)."""
    with op.batch_alter_table("organisations") as batch:
        batch.add_column(sa.Column("profile", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Drop ``organisations.profile``."""
    with op.batch_alter_table("organisations") as batch:
        batch.drop_column("profile")
