"""The item view's version folds (issue 16, reads): ``item_changes.weight``.

The version becomes the *sum* of the item's weights (every trigger row weighs 1), so an item's
many rows can be folded into one row of their total in one transaction
(``SqlItemViewVersions`` does so once an item has more than a few hundred): the version is
unchanged by the fold and the lookup stays a few index entries however long the item lives.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06

Hand-written and frozen: it does not import the live table metadata.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the column (1 for every row so far)."""
    op.add_column(
        "item_changes",
        sa.Column("weight", sa.BigInteger(), nullable=False, server_default="1"),
    )


def downgrade() -> None:
    """Drop the column (API processes of the older code start with no views kept)."""
    # Not a batch rebuild on SQLite: 0023's triggers name the table (SQLite >= 3.35 drops a
    # column in place).
    op.execute("ALTER TABLE item_changes DROP COLUMN weight")
