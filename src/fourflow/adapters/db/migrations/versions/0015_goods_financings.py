"""Goods financings, mandate revocation, the officer who cleared a signal (issue 15).

``goods_financings``: a bank's financing against a pledged warehouse receipt (仓单质押),
stored with its decision like a receivable financing, so it is listed, counted in the
regulator's figures and exported for 中登网 registration. ``mandates`` gains its revocation
(day, by whom, why); ``signal_clearances`` the person who cleared a signal.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06

Hand-written and frozen: it does not import the live table metadata.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)
TABLE = "goods_financings"
_INDEXED = ("receipt_id", "borrower_id", "bank_id", "status", "pledge_op_id")


def upgrade() -> None:
    """Create the goods financings; add the revocation and clearance columns."""
    op.create_table(
        TABLE,
        sa.Column("seq", _SEQ, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("receipt_id", sa.String(), nullable=False),
        sa.Column("borrower_id", sa.String(), nullable=False),
        sa.Column("bank_id", sa.String(), nullable=False),
        sa.Column("requested", sa.BigInteger(), nullable=False),
        sa.Column("principal", sa.BigInteger(), nullable=False),
        sa.Column("rate_bps", sa.Integer(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("maturity_date", sa.Date(), nullable=True),
        sa.Column("currency", sa.String(), nullable=False),
        sa.Column("goods_code", sa.String(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("decision", sa.JSON(), nullable=True),
        sa.Column("pledge_op_id", sa.String(), nullable=True),
        sa.Column("closed_op_id", sa.String(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("seq", name=f"pk_{TABLE}"),
        sa.UniqueConstraint("id", name=f"uq_{TABLE}_id"),
        sqlite_autoincrement=True,
    )
    for column in _INDEXED:
        op.create_index(f"ix_{TABLE}_{column}", TABLE, [column])
    op.add_column("mandates", sa.Column("revoked_on", sa.Date(), nullable=True))
    op.add_column("mandates", sa.Column("revoked_by", sa.String(), nullable=True))
    op.add_column("mandates", sa.Column("revoke_reason", sa.Text(), nullable=True))
    op.add_column("signal_clearances", sa.Column("person", sa.String(), nullable=True))


def downgrade() -> None:
    """Drop the goods financings and the added columns."""
    with op.batch_alter_table("signal_clearances") as batch:
        batch.drop_column("person")
    with op.batch_alter_table("mandates") as batch:
        batch.drop_column("revoke_reason")
        batch.drop_column("revoked_by")
        batch.drop_column("revoked_on")
    for column in _INDEXED:
        op.drop_index(f"ix_{TABLE}_{column}", table_name=TABLE)
    op.drop_table(TABLE)
