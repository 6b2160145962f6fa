"""The outbox keeps each command's undo log (issue 13: a refused operation changes nothing).

``outbox.params`` now holds the typed command as versioned JSON (``{"v": 1, ...}``); rows
written before carry the same field names without ``v`` and are read as version 1, so they
need no rewrite. ``outbox.undo`` holds what the command's business change replaced (items,
holdings and financing states before it, the rows it added), so the relay can put the store
back when the chain refuses the command. Rows written before have none (null): they were
relayed or failed under the old rules.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

Hand-written and frozen: it does not import the live table metadata.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``outbox.undo``."""
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("undo", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Drop ``outbox.undo``."""
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("undo")
