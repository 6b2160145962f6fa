"""Documents' raw bytes and JSON payload compressed with LZ4 on PostgreSQL (issue 19, ingest).

A stored UBL invoice's raw bytes (about 21 KB) and its payload (about 5 KB) exceed TOAST's
threshold, so PostgreSQL compresses both when the row is written: with its default, pglz, that
costs the server about 0.15 ms of CPU a document, a tenth of the whole ingest budget of a
document; with LZ4, 0.03-0.06 ms (the stored bytes are about a third larger). Only rows written
from now on are compressed with LZ4; earlier ones read as before. A server built without LZ4
keeps pglz (the change is a setting of the column, nothing else depends on it). SQLite: nothing.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07

Hand-written and frozen: it does not import the live table metadata.
"""

from __future__ import annotations

from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def _set_compression(method: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"""
        DO $$
        BEGIN
            ALTER TABLE documents ALTER COLUMN raw SET COMPRESSION {method},
                ALTER COLUMN payload SET COMPRESSION {method};
        EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
            RAISE NOTICE 'documents keep the default compression: %', SQLERRM;
        END
        $$
        """
    )


def upgrade() -> None:
    """LZ4 for the documents' raw bytes and payload (PostgreSQL built with LZ4)."""
    _set_compression("lz4")


def downgrade() -> None:
    """Back to pglz, PostgreSQL's default."""
    _set_compression("pglz")
