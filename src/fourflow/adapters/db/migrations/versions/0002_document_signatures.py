"""Document signatures: the submitter's verified signature kept with the document.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``documents.signature`` (JSON: algorithm, signer, signature, message)."""
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("signature", sa.JSON(), nullable=True))


def downgrade() -> None:
    """Drop ``documents.signature``."""
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("signature")
