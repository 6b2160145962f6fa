"""The file name each document was first submitted under (to tell a re-sent copy from a retry).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``documents.source``."""
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("source", sa.String(), nullable=True))


def downgrade() -> None:
    """Drop ``documents.source``."""
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("source")
