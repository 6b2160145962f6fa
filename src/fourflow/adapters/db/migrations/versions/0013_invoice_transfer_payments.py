"""Supplier invoices paid by transfers of debt items (issue 15: a receivable passed as payment
pays something).

``invoice_transfer_payments``: the part of each supplier invoice a transfer of a debt item
paid, with the holding it created and the chain operation that carries it.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06

Hand-written and frozen: it does not import the live table metadata.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TABLE = "invoice_transfer_payments"


def upgrade() -> None:
    """Create the table and its indexes."""
    op.create_table(
        TABLE,
        sa.Column("seq", _SEQ, autoincrement=True, nullable=False),
        sa.Column("holding_id", sa.String(), nullable=False),
        sa.Column("trade_id", sa.String(), nullable=False),
        sa.Column("invoice_number", sa.String(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("payer_id", sa.String(), nullable=False),
        sa.Column("payee_id", sa.String(), nullable=False),
        sa.Column("on_day", sa.Date(), nullable=False),
        sa.Column("op_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=f"pk_{TABLE}"),
        sqlite_autoincrement=True,
    )
    for column in ("holding_id", "trade_id", "op_id"):
        op.create_index(f"ix_{TABLE}_{column}", TABLE, [column])


def downgrade() -> None:
    """Drop the table."""
    for column in ("holding_id", "trade_id", "op_id"):
        op.drop_index(f"ix_{TABLE}_{column}", table_name=TABLE)
    op.drop_table(TABLE)
