"""Bring a database's schema to the head revision, safely on every start.

``migrate`` holds a lock for the whole upgrade, so two processes starting at once cannot both
run the same revision: a transaction-scoped advisory lock on PostgreSQL (keyed by the current
schema), and SQLite's write lock (``BEGIN IMMEDIATE``, see ``engine.make_engine``). The
revision check happens under that lock, so the second process finds the head and does nothing.
"""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from fourflow.adapters.db.engine import make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_IN_PROCESS = threading.Lock()
_PG_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('fourflow.migrate.' || current_schema()))")


def alembic_config() -> Config:
    """Alembic's configuration, built in code (no alembic.ini)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    """The newest revision the package ships."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("no migrations found in " + str(MIGRATIONS_DIR))
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None when it has never been migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def migrate(engine_or_url: Engine | str) -> None:
    """Upgrade the database to the head revision; a no-op when it is already there."""
    if isinstance(engine_or_url, Engine):
        _upgrade(engine_or_url)
        return
    engine = make_engine(engine_or_url)
    try:
        _upgrade(engine)
    finally:
        engine.dispose()


def _upgrade(engine: Engine) -> None:
    """Run ``alembic upgrade head`` in one transaction, holding the migration locks."""
    with _IN_PROCESS, engine.connect() as connection, connection.begin():
        _lock(connection)
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def _lock(connection: Connection) -> None:
    """Take the migration lock for the rest of the transaction."""
    if connection.dialect.name == "postgresql":
        connection.execute(_PG_LOCK)
    # SQLite: the transaction began with BEGIN IMMEDIATE, which already holds the write lock.
