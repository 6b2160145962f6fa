"""Warnings about stored documents in their own table (issue 13: no business fact in settings).

Ingest keeps what the business rules and date checks only warn about (fatal rules refuse the
document). They were written to ``settings`` as ``documents.findings.<doc id>`` (a JSON list of
``{code, flag, message, location}``); this moves them into ``document_findings``, one row per
finding, and deletes the settings rows. Downgrade puts them back.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06

Hand-written and frozen: it does not import the live table metadata.
"""

from __future__ import annotations

import datetime as dt
import json

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

PREFIX = "documents.findings."


def upgrade() -> None:
    """Create ``document_findings`` and move the settings rows into it."""
    findings = op.create_table(
        "document_findings",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("doc_id", sa.String(), nullable=False),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("flag", sa.String(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("location", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name="pk_document_findings"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_document_findings_doc_id", "document_findings", ["doc_id"])
    bind = op.get_bind()
    settings = sa.table("settings", sa.column("key", sa.String()), sa.column("value", sa.Text()))
    rows = bind.execute(
        sa.select(settings.c.key, settings.c.value).where(settings.c.key.like(PREFIX + "%"))
    ).all()
    moved = []
    for key, value in rows:
        for f in json.loads(value or "[]"):
            moved.append(
                {
                    "doc_id": key[len(PREFIX) :],
                    "code": str(f.get("code", "")),
                    "flag": str(f.get("flag", "warning")),
                    "message": str(f.get("message", "")),
                    "location": f.get("location") or None,
                }
            )
    if moved:
        op.bulk_insert(findings, moved)
    bind.execute(sa.delete(settings).where(settings.c.key.like(PREFIX + "%")))


def downgrade() -> None:
    """Put the findings back into settings and drop the table."""
    bind = op.get_bind()
    findings = sa.table(
        "document_findings",
        sa.column("seq", sa.Integer()),
        sa.column("doc_id", sa.String()),
        sa.column("code", sa.String()),
        sa.column("flag", sa.String()),
        sa.column("message", sa.Text()),
        sa.column("location", sa.Text()),
    )
    by_doc: dict[str, list[dict[str, str]]] = {}
    for r in bind.execute(sa.select(findings).order_by(findings.c.seq)).mappings():
        entry = {"code": r["code"], "flag": r["flag"], "message": r["message"]}
        if r["location"]:
            entry["location"] = r["location"]
        by_doc.setdefault(r["doc_id"], []).append(entry)
    settings = sa.table(
        "settings",
        sa.column("key", sa.String()),
        sa.column("value", sa.Text()),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    now = dt.datetime.now(dt.UTC)
    for doc_id, entries in by_doc.items():
        bind.execute(
            sa.insert(settings).values(
                key=PREFIX + doc_id, value=json.dumps(entries), updated_at=now
            )
        )
    op.drop_index("ix_document_findings_doc_id", table_name="document_findings")
    op.drop_table("document_findings")
