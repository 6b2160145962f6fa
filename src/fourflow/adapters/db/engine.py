"""Engines for FourFlow's store: SQLite (WAL) under FOURFLOW_HOME, or PostgreSQL via psycopg 3.

Nothing here runs at import time; bootstrap calls ``make_engine`` once per process.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

SQLITE_BUSY_TIMEOUT_MS = 30_000
# A new database file gets 16 KiB pages: a stored document (raw bytes and payload, about 27 KB
# for a UBL invoice) then spans 2 pages instead of 7, and SQLite inserts it in about half the
# CPU time. An existing file keeps its page size (the pragma is a no-op there).
SQLITE_PAGE_SIZE = 16_384
_PG_DRIVER = "postgresql+psycopg"


def default_sqlite_url(home: Path) -> str:
    """The URL of the default SQLite database file, ``<home>/fourflow.db``."""
    return f"sqlite:///{(home / 'fourflow.db').resolve()}"


def normalise_url(url: str | URL) -> URL:
    """Parse ``url``, pointing every PostgreSQL URL at the psycopg 3 driver."""
    parsed = make_url(url)
    if parsed.get_backend_name() in ("postgresql", "postgres"):
        parsed = parsed.set(drivername=_PG_DRIVER)
    return parsed


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """Build an engine for ``url``: SQLite tuned for a local store, or PostgreSQL via psycopg.

    SQLite connections get WAL, foreign keys, a busy timeout and ``synchronous=NORMAL``
    (and a new file 16 KiB pages),
    and every transaction starts with ``BEGIN IMMEDIATE`` so that concurrent writers queue
    on the busy timeout instead of failing to upgrade a read lock. Extra ``kwargs`` go to
    ``create_engine``.
    """
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, **kwargs)
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(parsed, **kwargs)


def _sqlite_engine(url: URL, **kwargs: Any) -> Engine:
    """A SQLite engine whose transactions SQLAlchemy, not the sqlite3 module, begins."""
    kwargs.setdefault("connect_args", {}).setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
    engine = create_engine(url, **kwargs)
    event.listen(engine, "connect", _configure_sqlite_connection)
    event.listen(engine, "begin", _begin_immediate)
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    """Set the pragmas FourFlow relies on, on each new SQLite connection."""
    # Hand transaction control to SQLAlchemy (see _begin_immediate): the sqlite3 module's
    # legacy mode would skip BEGIN before DDL and SAVEPOINT.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute(f"PRAGMA page_size = {SQLITE_PAGE_SIZE}")  # before WAL creates the file
        _set_wal(cursor)
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def _set_wal(cursor: Any, attempts: int = 100) -> None:
    """Switch to WAL; several processes opening a new file at once may briefly collide.

    Changing the journal mode takes an exclusive lock, and SQLite can refuse it with
    "database is locked" without waiting on the busy handler, so retry for up to ~5 s.
    """
    for attempt in range(attempts):
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.05)


def _begin_immediate(connection: Any) -> None:
    """Start each SQLite transaction holding the write lock, so writers queue, not fail."""
    connection.exec_driver_sql("BEGIN IMMEDIATE")
