"""An applicant that holds its own chain key (issue 16, Keys).

``org_applications.own_address``: the address an organisation registering itself says it
holds the key of (proved by its signature at registration); admitted, it is onboarded with
that address only and the platform never signs for it. Null: the platform keeps its key.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06

Hand-written and frozen: it does not import the live table metadata.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the column."""
    with op.batch_alter_table("org_applications") as batch:
        batch.add_column(sa.Column("own_address", sa.String(), nullable=True))


def downgrade() -> None:
    """Drop the column."""
    with op.batch_alter_table("org_applications") as batch:
        batch.drop_column("own_address")
