"""Migrations: the schema matches the tables, re-running is a no-op, concurrent starts are safe."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, event, inspect, text

from fourflow.adapters.db import current_revision, head_revision, make_engine, migrate
from fourflow.adapters.db.migration import alembic_config
from fourflow.adapters.db.tables import metadata

MIGRATE_LATER = """
import sys, time
from fourflow.adapters.db import migrate
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
migrate(sys.argv[1])
"""


def schema_diff(engine: Engine) -> list[object]:
    """What Alembic's autogenerate finds different between the database and the tables."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


@contextmanager
def ddl_statements(engine: Engine) -> Iterator[list[str]]:
    """Collect the DDL statements ``engine`` runs inside the block."""
    seen: list[str] = []

    def record(*args: object) -> None:
        statement = str(args[2]).lstrip().upper()
        if statement.startswith(("CREATE", "ALTER", "DROP")):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_migrated_schema_matches_the_tables(store_engine: Engine) -> None:
    assert schema_diff(store_engine) == []
    assert set(metadata.tables) <= set(inspect(store_engine).get_table_names())


def test_migrate_at_head_is_a_no_op(store_engine: Engine) -> None:
    assert current_revision(store_engine) == head_revision()
    with ddl_statements(store_engine) as ddl:
        migrate(store_engine)
        migrate(store_engine)
    assert ddl == []
    assert current_revision(store_engine) == head_revision()


def test_migrate_takes_a_url(store_url: str) -> None:
    migrate(store_url)
    engine = make_engine(store_url)
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_downgrade_to_base_and_up_again(store_engine: Engine) -> None:
    config = alembic_config()
    with store_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert current_revision(store_engine) is None
    assert not set(metadata.tables) & set(inspect(store_engine).get_table_names())
    migrate(store_engine)
    assert schema_diff(store_engine) == []


def test_migrate_from_threads_at_once(store_url: str) -> None:
    workers = 4
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []

    def run() -> None:
        engine = make_engine(store_url)
        try:
            barrier.wait()
            migrate(engine)
        except BaseException as exc:
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=run) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    _assert_at_head(store_url)


def test_migrate_from_processes_at_once(store_url: str) -> None:
    start_at = str(time.time() + 2.0)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATE_LATER, store_url, start_at],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err for _, err in results]
    _assert_at_head(store_url)


def _assert_at_head(url: str) -> None:
    """The database at ``url`` is at head with the expected schema."""
    engine = make_engine(url)
    try:
        assert current_revision(engine) == head_revision()
        assert schema_diff(engine) == []
    finally:
        engine.dispose()


def test_0007_moves_batches_and_proofs_to_document_anchors_and_back(store_engine: Engine) -> None:
    config = alembic_config()
    with store_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0006")
    now = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
    with store_engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO batches (id, root, leaf_count, created_at) VALUES ('b1', 'r', 1, :t)"
            ),
            {"t": now},
        )
        for n, batch, proof in ((1, "b1", '{"index": 0}'), (2, None, None)):
            connection.execute(
                text(
                    "INSERT INTO documents (id, kind, number, issue_date, fingerprint, raw, "
                    "media_type, payload, batch_id, proof, created_at) VALUES (:id, 'invoice', "
                    ":id, :d, :fp, :raw, 'application/xml', '{}', :batch, :proof, :t)"
                ),
                {"id": f"doc-{n}", "d": now.date(), "fp": f"sha256:{n}", "raw": b"<x/>",
                 "batch": batch, "proof": proof, "t": now},
            )  # fmt: skip
    migrate(store_engine)
    assert schema_diff(store_engine) == []
    with store_engine.connect() as connection:
        rows = connection.execute(
            text("SELECT doc_id, batch_id, proof FROM document_anchors ORDER BY doc_id")
        ).all()
    assert [tuple(r) for r in rows] == [("doc-1", "b1", '{"index": 0}'), ("doc-2", None, None)]
    with store_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0006")
    with store_engine.connect() as connection:
        rows = connection.execute(
            text("SELECT id, batch_id, proof FROM documents ORDER BY id")
        ).all()
    assert [tuple(r) for r in rows] == [("doc-1", "b1", '{"index": 0}'), ("doc-2", None, None)]
    assert "document_anchors" not in inspect(store_engine).get_table_names()
    migrate(store_engine)
    assert schema_diff(store_engine) == []


def test_0007_compresses_documents_with_lz4_on_postgresql(store_engine: Engine) -> None:
    if store_engine.dialect.name != "postgresql":
        return  # SQLite does not compress
    with store_engine.connect() as connection:
        methods: dict[str, str] = dict(
            connection.execute(
                text(
                    "SELECT attname, attcompression FROM pg_attribute WHERE attrelid = "
                    "'documents'::regclass AND attname IN ('raw', 'payload')"
                )
            ).all()
        )
    assert methods == {"raw": "l", "payload": "l"}
