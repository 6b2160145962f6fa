"""The risk engine's model registry and monitoring alerts (issue 6).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29

Hand-written and frozen, like 0001: it does not import the live table metadata.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ENTITY = {"sqlite_autoincrement": True}


def _entity(table: str) -> list[sa.schema.SchemaItem]:
    """The ``seq`` primary key and unique ``id`` every entity table starts with."""
    return [
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=f"pk_{table}"),
        sa.UniqueConstraint("id", name=f"uq_{table}_id"),
    ]


def _timestamps() -> list[sa.Column[object]]:
    """``created_at`` and ``updated_at``, aware UTC."""
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    """Create ``risk_models`` and ``risk_alerts``."""
    op.create_table(
        "risk_models",
        *_entity("risk_models"),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("training_rows", sa.Integer(), nullable=False),
        sa.Column("data_hash", sa.String(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("artifact", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        *_timestamps(),
        **_ENTITY,
    )
    op.create_index("ix_risk_models_role", "risk_models", ["role"])
    op.create_table(
        "risk_alerts",
        *_entity("risk_alerts"),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("severity", sa.String(), nullable=False),
        sa.Column("metric", sa.String(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("model_id", sa.String(), nullable=True),
        sa.Column("bank_id", sa.String(), nullable=True),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        *_timestamps(),
        **_ENTITY,
    )
    op.create_index("ix_risk_alerts_model_id", "risk_alerts", ["model_id"])
    op.create_index("ix_risk_alerts_bank_id", "risk_alerts", ["bank_id"])


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("risk_alerts")
    op.drop_table("risk_models")
