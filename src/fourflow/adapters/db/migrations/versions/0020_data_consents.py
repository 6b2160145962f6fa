"""A core enterprise's data consents, price list and metered reads (issue 16, item 6).

``data_consents``: what a core enterprise (grantor) lets one bank (grantee) read: data kinds,
the counterparties whose trades with it are covered (an empty list: all), the purpose, the
term (valid from/to, days inclusive) and its revocation. ``data_prices``: the grantor's price
per read of each data kind (minor units of its currency). ``data_usage``: one row per read of
consented data by a bank (who: organisation and person; what: kind and object; when; purpose;
the consent; the fee at the price in force then).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06

Hand-written and frozen: it does not import the live table metadata.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create the three tables and their indexes."""
    op.create_table(
        "data_consents",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("grantor_id", sa.String(), nullable=False),
        sa.Column("grantee_id", sa.String(), nullable=False),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("counterparties", sa.JSON(), nullable=False),
        sa.Column("purpose", sa.String(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("granted_by", sa.String(), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(), nullable=True),
        sa.Column("revoked_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_data_consents"),
    )
    op.create_index(
        "ix_data_consents_grantor_grantee", "data_consents", ["grantor_id", "grantee_id"]
    )
    op.create_table(
        "data_prices",
        sa.Column("grantor_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("set_by", sa.String(), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("grantor_id", "kind", name="pk_data_prices"),
    )
    op.create_table(
        "data_usage",
        sa.Column("seq", _SEQ, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("grantor_id", sa.String(), nullable=False),
        sa.Column("grantee_id", sa.String(), nullable=False),
        sa.Column("reader", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("object_id", sa.String(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(), nullable=False),
        sa.Column("consent_id", sa.String(), nullable=False),
        sa.Column("fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_data_usage"),
        sa.UniqueConstraint("id", name="uq_data_usage_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_data_usage_grantor_read_at", "data_usage", ["grantor_id", "read_at"])
    op.create_index("ix_data_usage_grantee_read_at", "data_usage", ["grantee_id", "read_at"])


def downgrade() -> None:
    """Drop the tables."""
    op.drop_index("ix_data_usage_grantee_read_at", table_name="data_usage")
    op.drop_index("ix_data_usage_grantor_read_at", table_name="data_usage")
    op.drop_table("data_usage")
    op.drop_table("data_prices")
    op.drop_index("ix_data_consents_grantor_grantee", table_name="data_consents")
    op.drop_table("data_consents")
