"""Each document's batch and Merkle proof in a small table of their own (issue 3, UBL ingest).

Anchoring a batch used to update every document's row to set ``batch_id`` and ``proof``, and
SQLite rewrites a whole row on update, raw bytes and payload included (about 27 KB for a UBL
invoice). ``document_anchors`` holds one small row per document, written with the document
(``batch_id`` and ``proof`` null) and updated when the document is anchored.

On PostgreSQL (14 and later, built with lz4) the large columns ``documents.raw`` and
``payload`` are compressed with lz4 from now on instead of pglz: the server inserts a UBL
invoice in about a third of the time, for about a fifth more space. Rows already stored keep
their compression.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30

Hand-written and frozen, like 0001: it does not import the live table metadata.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_DOC_FK = "fk_document_anchors_doc_id_documents"


def _compression(method: str) -> None:
    """Compress ``documents.raw`` and ``payload`` with ``method`` on PostgreSQL, if it can."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or (bind.dialect.server_version_info or (0,)) < (14,):
        return
    alter = (
        f"ALTER TABLE documents ALTER COLUMN raw SET COMPRESSION {method}, "
        f"ALTER COLUMN payload SET COMPRESSION {method}"
    )
    # A server built without lz4 refuses it (feature_not_supported): keep its default then.
    op.execute(f"DO $$ BEGIN EXECUTE '{alter}'; EXCEPTION WHEN feature_not_supported THEN "
               "NULL; END $$")  # fmt: skip


def upgrade() -> None:
    """Create ``document_anchors`` from ``documents.batch_id``/``proof``, then drop those."""
    op.create_table(
        "document_anchors",
        sa.Column("doc_id", sa.String(), nullable=False),
        sa.Column("batch_id", sa.String(), nullable=True),
        sa.Column("proof", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("doc_id", name="pk_document_anchors"),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name="fk_document_anchors_batch_id_batches"
        ),
    )
    op.create_index("ix_document_anchors_batch_id", "document_anchors", ["batch_id"])
    op.execute(
        "INSERT INTO document_anchors (doc_id, batch_id, proof) "
        "SELECT id, batch_id, proof FROM documents ORDER BY seq"
    )
    op.drop_index("ix_documents_batch_id", table_name="documents")
    # SQLite rebuilds ``documents`` here; nothing references it yet, so the copy is safe.
    with op.batch_alter_table("documents") as batch:
        batch.drop_constraint("fk_documents_batch_id_batches", type_="foreignkey")
        batch.drop_column("batch_id")
        batch.drop_column("proof")
    with op.batch_alter_table("document_anchors") as batch:
        batch.create_foreign_key(_DOC_FK, "documents", ["doc_id"], ["id"])
    _compression("lz4")


def downgrade() -> None:
    """Put ``batch_id`` and ``proof`` back on ``documents`` and drop ``document_anchors``."""
    _compression("default")
    # Drop the reference to ``documents`` first: SQLite rebuilds that table below.
    with op.batch_alter_table("document_anchors") as batch:
        batch.drop_constraint(_DOC_FK, type_="foreignkey")
    with op.batch_alter_table("documents") as batch:
        batch.add_column(sa.Column("batch_id", sa.String(), nullable=True))
        batch.add_column(sa.Column("proof", sa.Text(), nullable=True))
        batch.create_foreign_key("fk_documents_batch_id_batches", "batches", ["batch_id"], ["id"])
    op.create_index("ix_documents_batch_id", "documents", ["batch_id"])
    op.execute(
        "UPDATE documents SET "
        "batch_id = (SELECT a.batch_id FROM document_anchors a WHERE a.doc_id = documents.id), "
        "proof = (SELECT a.proof FROM document_anchors a WHERE a.doc_id = documents.id)"
    )
    op.drop_table("document_anchors")
