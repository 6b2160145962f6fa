"""Scenario platforms as tenants (issue 16 item 5).

``scenario_platforms``: a platform (a district's culture-and-tourism financial service
platform, an agricultural products platform, ...) with its operator (a local-government
organisation) and its scenarios. ``scenario_platform_members``: the organisations its operator
admitted, each with the recorded KYC review. ``scenario_platform_banks``: the banks taking
part. ``scenario_platform_products``: the financing products banks offer on it.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06

Hand-written and frozen: it does not import the live table metadata.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the four tables and their indexes."""
    op.create_table(
        "scenario_platforms",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("operator_org_id", sa.String(), nullable=False),
        sa.Column("scenarios", sa.JSON(), nullable=False),
        sa.Column("region", sa.String(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_scenario_platforms"),
        sa.UniqueConstraint("name", name="uq_scenario_platforms_name"),
    )
    op.create_index(
        "ix_scenario_platforms_operator_org_id", "scenario_platforms", ["operator_org_id"]
    )
    op.create_table(
        "scenario_platform_members",
        sa.Column("platform_id", sa.String(), nullable=False),
        sa.Column("org_id", sa.String(), nullable=False),
        sa.Column("kyc", sa.JSON(), nullable=False),
        sa.Column("admitted_by", sa.String(), nullable=False),
        sa.Column("admitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("platform_id", "org_id", name="pk_scenario_platform_members"),
    )
    op.create_index("ix_scenario_platform_members_org_id", "scenario_platform_members", ["org_id"])
    op.create_table(
        "scenario_platform_banks",
        sa.Column("platform_id", sa.String(), nullable=False),
        sa.Column("bank_id", sa.String(), nullable=False),
        sa.Column("added_by", sa.String(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("platform_id", "bank_id", name="pk_scenario_platform_banks"),
    )
    op.create_index("ix_scenario_platform_banks_bank_id", "scenario_platform_banks", ["bank_id"])
    op.create_table(
        "scenario_platform_products",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("platform_id", sa.String(), nullable=False),
        sa.Column("bank_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("scenario", sa.String(), nullable=False),
        sa.Column("currency", sa.String(), nullable=False),
        sa.Column("max_amount", sa.BigInteger(), nullable=False),
        sa.Column("max_term_days", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_scenario_platform_products"),
        sa.UniqueConstraint(
            "platform_id",
            "bank_id",
            "name",
            name="uq_scenario_platform_products_platform_id_bank_id_name",
        ),
    )


def downgrade() -> None:
    """Drop the tables."""
    op.drop_table("scenario_platform_products")
    op.drop_index("ix_scenario_platform_banks_bank_id", table_name="scenario_platform_banks")
    op.drop_table("scenario_platform_banks")
    op.drop_index("ix_scenario_platform_members_org_id", table_name="scenario_platform_members")
    op.drop_table("scenario_platform_members")
    op.drop_index("ix_scenario_platforms_operator_org_id", table_name="scenario_platforms")
    op.drop_table("scenario_platforms")
