"""Registration straight to a scenario platform (issue 16, Identities).

``org_applications.platform_id``: the scenario platform an organisation applies to. Its
operator (the platform's local government) reviews it once: admitted, the organisation is a
member of FourFlow (its chain admission queued) and of that platform at once. Null: an
application to FourFlow itself, reviewed by FourFlow's operator.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06

Hand-written and frozen: it does not import the live table metadata.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the column and its index."""
    with op.batch_alter_table("org_applications") as batch:
        batch.add_column(sa.Column("platform_id", sa.String(), nullable=True))
        batch.create_index("ix_org_applications_platform_id", ["platform_id"])


def downgrade() -> None:
    """Drop the index and the column."""
    with op.batch_alter_table("org_applications") as batch:
        batch.drop_index("ix_org_applications_platform_id")
        batch.drop_column("platform_id")
