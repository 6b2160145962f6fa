"""The version of an item's view (issue 16, reads): one indexed count a read.

Triggers (migration 0023) add a row to ``item_changes`` for every change of what the item's
view shows, in the writer's own transaction; the version is the number of the item's rows
and of the ``*organisations`` rows (a renamed organisation). It only grows as changes commit,
so a view rendered after reading version *v* shows a state at least as new as *v*: a cache
keyed by (item, version) never serves a view older than the store.

A store whose triggers are missing (a table rebuilt without them) gives no version: every
read renders the view from the store.

On PostgreSQL the lookups have a small pool of their own, in autocommit and without the
engine's ping on checkout, and run on the driver's connection (one round trip a read, not
four: ping, begin, select, rollback; about 0.1 ms of CPU instead of 0.3); a connection the
server dropped is replaced and the lookup tried once more.
"""

from __future__ import annotations

import psycopg
from sqlalchemy import Engine, bindparam, func, select, text
from sqlalchemy.exc import DBAPIError

from fourflow.adapters.db import tables as t
from fourflow.adapters.db.engine import make_engine

#: The row a renamed organisation adds (names are part of every view).
ORGANISATIONS = "*organisations"
#: The lookup on PostgreSQL, through the driver.
PG_COUNT = "SELECT count(*) FROM item_changes WHERE item_id = %s OR item_id = %s"
#: The triggers migration 0023 makes: (SQLite, PostgreSQL).
TRIGGERS = {"sqlite": 24, "postgresql": 9}


class SqlItemViewVersions:
    """``version(item_id)``: the item's view version, or None when it cannot be trusted."""

    def __init__(self, engine: Engine, *, pool_size: int = 8) -> None:
        self._engine = engine
        self._count = (
            select(func.count())
            .select_from(t.item_changes)
            .where(t.item_changes.c.item_id.in_([bindparam("item_id"), ORGANISATIONS]))
        )
        self._trusted: bool | None = None
        self._lookups = engine
        if engine.dialect.name == "postgresql":
            self._lookups = make_engine(
                engine.url, pool_pre_ping=False, isolation_level="AUTOCOMMIT",
                pool_size=pool_size, max_overflow=pool_size,
            )  # fmt: skip

    def version(self, item_id: str) -> int | None:
        """How many changes of the item (and renames) the store has committed."""
        if self._trusted is None:
            self._trusted = self._triggers_present()
        if not self._trusted:
            return None
        if self._lookups is self._engine:
            with self._engine.connect() as connection:
                found: int = connection.execute(self._count, {"item_id": item_id}).scalar_one()
            return found
        try:
            return self._pg_lookup(item_id)
        except psycopg.OperationalError:
            return self._pg_lookup(item_id)  # the server dropped it: once more, on a new one

    def _pg_lookup(self, item_id: str) -> int:
        raw = self._lookups.raw_connection()
        try:
            cursor = raw.cursor()
            try:
                cursor.execute(PG_COUNT, (item_id, ORGANISATIONS))
                row = cursor.fetchone()
            finally:
                cursor.close()
        except psycopg.OperationalError:
            raw.invalidate()
            raise
        finally:
            raw.close()
        if row is None:  # a count always has its row
            raise RuntimeError("the item view's version lookup returned no row")
        return int(row[0])

    def close(self) -> None:
        """Close the lookups' own connections."""
        if self._lookups is not self._engine:
            self._lookups.dispose()

    def _triggers_present(self) -> bool:
        dialect = self._engine.dialect.name
        if dialect == "postgresql":
            query = (  # on the tables of the schema this connection sees
                "SELECT count(*) FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid "
                "WHERE tg.tgname LIKE 'item_changes_%' AND c.relnamespace = "
                "(SELECT relnamespace FROM pg_class WHERE oid = to_regclass('item_changes'))"
            )
        else:
            query = "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'item_changes_%'"  # noqa: E501
        try:
            with self._engine.connect() as connection:
                found = connection.execute(text(query)).scalar_one()
        except DBAPIError:
            return False
        return bool(found == TRIGGERS.get(dialect, -1))
