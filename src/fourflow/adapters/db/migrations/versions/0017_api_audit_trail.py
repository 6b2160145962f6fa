"""The API's audit trail (issue 16): every state-changing request and every read of another
organisation's data, append-only and hash-chained.

``api_audit``: who (organisation, user or API key, role), what (action, method, path, subject),
when, from where (client address), the outcome (status), and the SHA-256 chain: each record's
``hash`` covers its fields and the ``prev_hash`` of the record before it.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06

Hand-written and frozen: it does not import the live table metadata.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TABLE = "api_audit"


def upgrade() -> None:
    """Create the table and its indexes."""
    op.create_table(
        TABLE,
        sa.Column("seq", _SEQ, autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("org_id", sa.String(), nullable=True),
        sa.Column("actor", sa.String(), nullable=True),
        sa.Column("role", sa.String(), nullable=True),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("method", sa.String(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("client", sa.String(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("prev_hash", sa.String(), nullable=False),
        sa.Column("hash", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=f"pk_{TABLE}"),
        sa.UniqueConstraint("hash", name=f"uq_{TABLE}_hash"),
        sa.UniqueConstraint("prev_hash", name=f"uq_{TABLE}_prev_hash"),
        sqlite_autoincrement=True,
    )
    op.create_index(f"ix_{TABLE}_org_id", TABLE, ["org_id"])


def downgrade() -> None:
    """Drop the table."""
    op.drop_index(f"ix_{TABLE}_org_id", table_name=TABLE)
    op.drop_table(TABLE)
