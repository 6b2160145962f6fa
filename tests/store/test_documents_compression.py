"""Migration 0027: on PostgreSQL the documents' raw bytes and payload are compressed with LZ4
(pglz cost the server about 0.15 ms of CPU a stored invoice); the bytes read back unchanged."""

from __future__ import annotations

import datetime as dt
from typing import Any

from alembic import command
from sqlalchemy import Engine, text

from fourflow.adapters.db.migration import alembic_config
from fourflow.adapters.db.uow import SqlUnitOfWorkFactory
from fourflow.adapters.documents.registry import DetectingReader
from fourflow.services import ingest
from tests.fakes import FixedClock


def _rows(engine: Engine, sql: str) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql)).all()]


def _compression(engine: Engine) -> dict[str, str]:
    """Each column's compression method as set (``l`` LZ4, ``p`` pglz)."""
    rows = _rows(
        engine,
        "SELECT attname, attcompression FROM pg_attribute "
        "WHERE attrelid = 'documents'::regclass AND attname IN ('raw', 'payload')",
    )
    return {name: str(method) for name, method in rows}


def _invoice() -> bytes:
    from fourflow.adapters.documents.standards import standards_dir

    path = standards_dir() / "en16931" / "ubl-examples" / "ubl-tc434-example1.xml"
    return path.read_bytes()


def test_documents_are_stored_with_lz4_and_read_back_unchanged(store_engine: Engine) -> None:
    postgres = store_engine.dialect.name == "postgresql"  # SQLite: nothing changes
    if postgres:
        assert _compression(store_engine) == {"raw": "l", "payload": "l"}
    raw = _invoice()
    uow = SqlUnitOfWorkFactory(store_engine)
    outcomes = ingest.ingest_files(
        uow_factory=uow, reader=DetectingReader(submitter=None), clock=FixedClock(dt.date(2026, 6, 30)),
        files=[ingest.SubmittedFile("inv.xml", raw)], submitter_id="org",
    )  # fmt: skip
    assert [o.status for o in outcomes] == ["accepted"]
    if postgres:  # the one stored row's values, as compressed
        sql = "SELECT pg_column_compression(raw), pg_column_compression(payload) FROM documents"
        assert _rows(store_engine, sql) == [("lz4", "lz4")]
    with uow() as u:
        stored = u.documents.get(outcomes[0].document_id or "")
    assert stored is not None and stored.raw == raw
    assert stored.document == outcomes[0].parsed.document  # type: ignore[union-attr]


def test_downgrade_restores_pglz(store_engine: Engine) -> None:
    if store_engine.dialect.name != "postgresql":
        return
    config = alembic_config()
    with store_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0026")
    assert _compression(store_engine) == {"raw": "p", "payload": "p"}
    with store_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    assert _compression(store_engine) == {"raw": "l", "payload": "l"}
