"""Locked repayment routes and settlement notices (issue 20).

``repayment_routes``: each lock or change of an item's repayment route (settlement tokens
approved to the contract, or a collection account at the debtor's bank), with the parties
whose signatures changed it. ``settlement_notices``: what the maturity job and the margin
watcher told whom (reminders, collections, overdue, defaults, margin calls, payments that
bypassed the route), one row per notice key, so running the job twice notifies once.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06

Hand-written and frozen: it does not import the live table metadata.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the route and notice tables."""
    op.create_table(
        "repayment_routes",
        sa.Column("seq", _SEQ, autoincrement=True, nullable=False),
        sa.Column("item_id", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("bank_id", sa.String(), nullable=True),
        sa.Column("account", sa.String(), nullable=True),
        sa.Column("signers", sa.JSON(), nullable=False),
        sa.Column("actor_id", sa.String(), nullable=False),
        sa.Column("op_id", sa.String(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["debt_items.id"], name="fk_repayment_routes_item_id_debt_items"
        ),
        sa.PrimaryKeyConstraint("seq", name="pk_repayment_routes"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_repayment_routes_item_id", "repayment_routes", ["item_id"])
    op.create_index("ix_repayment_routes_op_id", "repayment_routes", ["op_id"])
    op.create_table(
        "settlement_notices",
        sa.Column("seq", _SEQ, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("subject_id", sa.String(), nullable=False),
        sa.Column("recipient_id", sa.String(), nullable=False),
        sa.Column("on_day", sa.Date(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=True),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("op_id", sa.String(), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_settlement_notices"),
        sa.UniqueConstraint("key", name="uq_settlement_notices_key"),
        sqlite_autoincrement=True,
    )
    for column in ("kind", "subject_id", "recipient_id", "op_id"):
        op.create_index(f"ix_settlement_notices_{column}", "settlement_notices", [column])


def downgrade() -> None:
    """Drop the route and notice tables."""
    op.drop_table("settlement_notices")
    op.drop_table("repayment_routes")
