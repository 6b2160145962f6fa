"""Index documents by seller, buyer and date, for linking documents that carry no reference.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``ix_documents_parties_date``."""
    op.create_index(
        "ix_documents_parties_date", "documents", ["seller_key", "buyer_key", "issue_date"]
    )


def downgrade() -> None:
    """Drop ``ix_documents_parties_date``."""
    op.drop_index("ix_documents_parties_date", table_name="documents")
