"""Mandates and cleared fraud signals (issue 15: evidence a bank can stake money on).

``mandates``: a principal lets an agent (carrier, warehouse, ERP integrator) send documents of
some kinds for it within a term; a document counts as its issuing party's evidence only when
that party or such an agent sent it. ``signal_clearances``: an operator cleared a fraud signal
on a trade, with the reason recorded; until then the signal gates issuance and financing.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

Hand-written and frozen: it does not import the live table metadata.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_ENTITY = {"sqlite_autoincrement": True}
_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create both tables and their indexes."""
    op.create_table(
        "mandates",
        sa.Column("seq", _SEQ, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("principal_id", sa.String(), nullable=False),
        sa.Column("agent_id", sa.String(), nullable=False),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("granted_on", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_mandates"),
        sa.UniqueConstraint("id", name="uq_mandates_id"),
        **_ENTITY,
    )
    op.create_index("ix_mandates_principal_id", "mandates", ["principal_id"])
    op.create_index("ix_mandates_agent_id", "mandates", ["agent_id"])
    op.create_table(
        "signal_clearances",
        sa.Column("seq", _SEQ, autoincrement=True, nullable=False),
        sa.Column("trade_id", sa.String(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("cleared_by", sa.String(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("on_day", sa.Date(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_signal_clearances"),
        **_ENTITY,
    )
    op.create_index("ix_signal_clearances_trade_id", "signal_clearances", ["trade_id"])


def downgrade() -> None:
    """Drop both tables."""
    op.drop_index("ix_signal_clearances_trade_id", table_name="signal_clearances")
    op.drop_table("signal_clearances")
    op.drop_index("ix_mandates_agent_id", table_name="mandates")
    op.drop_index("ix_mandates_principal_id", table_name="mandates")
    op.drop_table("mandates")
