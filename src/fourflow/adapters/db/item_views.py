"""The version of an item's view (issue 16, reads): one indexed count a read.

Triggers (migration 0023) add a row of weight 1 to ``item_changes`` for every change of what
the item's view shows, in the writer's own transaction; the version is the sum of the weights
of the item's rows and of the ``*organisations`` rows (a renamed organisation). It only grows
as changes commit, so a view rendered after reading version *v* shows a state at least as new
as *v*: a cache keyed by (item, version) never serves a view older than the store.

Once a key has more than ``fold_at`` rows, the lookup folds them (0025): in one transaction it
deletes the rows it sees and adds one row of their total weight, so the sum (the version) is
unchanged, rows written meanwhile by other transactions are kept, and the lookup stays a few
index entries however long an item lives.

A store whose triggers are missing (a table rebuilt without them) gives no version: every
read renders the view from the store.

On PostgreSQL the lookups have a small pool of their own, in autocommit and without the
engine's ping on checkout, and run on the driver's connection (one round trip a read, not
four: ping, begin, select, rollback; about 0.1 ms of CPU instead of 0.3); a connection the
server dropped is replaced and the lookup tried once more.

``aversion`` (PostgreSQL) is the same lookup for a caller on an event loop, without a thread:
the lookups asked while one is running are sent together as the next one (one statement for
all their items, on one asynchronous connection of this loop). Each lookup's statement starts
after it was asked, so what it answers is as fresh as a lookup of its own would be; the busier
the process, the more reads one round trip serves.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import psycopg
from sqlalchemy import Engine, bindparam, delete, func, insert, select, text
from sqlalchemy.exc import DBAPIError

from fourflow.adapters.db import tables as t
from fourflow.adapters.db.engine import make_engine

#: The row a renamed organisation adds (names are part of every view).
ORGANISATIONS = "*organisations"
#: The lookup on PostgreSQL, through the driver: (version, rows).
PG_VERSION = (
    "SELECT coalesce(sum(weight), 0), count(*) FROM item_changes WHERE item_id = %s OR item_id = %s"
)
#: Fold a key's rows into one of their total, in one statement (one transaction).
PG_FOLD = (
    "WITH gone AS (DELETE FROM item_changes WHERE item_id = %s RETURNING weight) "
    "INSERT INTO item_changes (item_id, weight) SELECT %s, sum(weight) FROM gone "
    "HAVING count(*) > 0"
)
#: The lookup of several items at once: (item_id, version part, rows) of each key that has rows.
PG_VERSIONS = (
    "SELECT item_id, sum(weight), count(*) FROM item_changes WHERE item_id = ANY(%s) "
    "GROUP BY item_id"
)
#: The triggers migrations 0023 and 0030 make (on PostgreSQL 0030's statement triggers: one a
#: table and event, and the outbox's row trigger for a change of status).
TRIGGERS = {"sqlite": 24, "postgresql": 24}


class SqlItemViewVersions:
    """``version(item_id)``: the item's view version, or None when it cannot be trusted."""

    def __init__(self, engine: Engine, *, pool_size: int = 8, fold_at: int = 256) -> None:
        self._engine = engine
        self._fold_at = fold_at
        self._sum = (
            select(func.coalesce(func.sum(t.item_changes.c.weight), 0), func.count())
            .select_from(t.item_changes)
            .where(t.item_changes.c.item_id.in_([bindparam("item_id"), ORGANISATIONS]))
        )
        self._trusted: bool | None = None
        self._lookups = engine
        self._batches: _Batches | None = None
        if engine.dialect.name == "postgresql":
            self._lookups = make_engine(
                engine.url, pool_pre_ping=False, isolation_level="AUTOCOMMIT",
                pool_size=pool_size, max_overflow=pool_size,
            )  # fmt: skip
            _, connect = engine.dialect.create_connect_args(engine.url)
            self._batches = _Batches(connect)

    @property
    def statements_sent(self) -> int:
        """How many statements ``aversion`` sent so far (fewer than lookups when batched)."""
        return 0 if self._batches is None else self._batches.sent

    @property
    def asynchronous(self) -> bool:
        """True when ``aversion`` can be awaited (PostgreSQL); else call ``version`` in a
        thread."""
        return self._batches is not None

    async def aversion(self, item_id: str) -> int | None:
        """``version`` on the event loop, batched with the lookups asked meanwhile
        (PostgreSQL only: see ``asynchronous``)."""
        if self._batches is None:
            raise RuntimeError("asynchronous version lookups need PostgreSQL")
        if self._trusted is None:
            self._trusted = await asyncio.to_thread(self._triggers_present)
        if not self._trusted:
            return None
        version, rows = await self._batches.lookup(item_id)
        if rows > self._fold_at:
            await asyncio.to_thread(self.fold, item_id)
        return version

    def version(self, item_id: str) -> int | None:
        """How many changes of the item (and renames) the store has committed."""
        if self._trusted is None:
            self._trusted = self._triggers_present()
        if not self._trusted:
            return None
        if self._lookups is self._engine:
            with self._engine.connect() as connection:
                version, rows = connection.execute(self._sum, {"item_id": item_id}).one()
            if rows > self._fold_at:
                self.fold(item_id)
            return int(version)
        try:
            return self._pg_lookup(item_id)
        except psycopg.OperationalError:
            return self._pg_lookup(item_id)  # the server dropped it: once more, on a new one

    def fold(self, item_id: str) -> None:
        """Fold the rows of the item and of ``*organisations`` into one row each (the
        version is unchanged)."""
        for key in (item_id, ORGANISATIONS):
            if self._lookups is not self._engine:
                self._pg_run(PG_FOLD, (key, key))
                continue
            with self._engine.begin() as connection:  # SQLite: the one writer meanwhile
                rows = t.item_changes.c.item_id == key
                total, count = connection.execute(
                    select(func.coalesce(func.sum(t.item_changes.c.weight), 0), func.count()).where(
                        rows
                    )
                ).one()
                if count > 1:
                    connection.execute(delete(t.item_changes).where(rows))
                    connection.execute(insert(t.item_changes).values(item_id=key, weight=total))

    def _pg_lookup(self, item_id: str) -> int:
        row = self._pg_run(PG_VERSION, (item_id, ORGANISATIONS))
        if row is None:  # a sum always has its row
            raise RuntimeError("the item view's version lookup returned no row")
        if int(row[1]) > self._fold_at:
            self.fold(item_id)
        return int(row[0])

    def _pg_run(self, statement: str, values: tuple[str, str]) -> tuple[Any, ...] | None:
        """Run one statement in autocommit on the lookups' pool; its first row, if any."""
        raw = self._lookups.raw_connection()
        try:
            cursor = raw.cursor()
            try:
                cursor.execute(statement, values)
                row: tuple[Any, ...] | None = (
                    cursor.fetchone() if cursor.description is not None else None
                )
            finally:
                cursor.close()
        except psycopg.OperationalError:
            raw.invalidate()
            raise
        finally:
            raw.close()
        return row

    def close(self) -> None:
        """Close the lookups' own connections."""
        if self._lookups is not self._engine:
            self._lookups.dispose()
        if self._batches is not None:
            self._batches.close()

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


class _Batches:
    """Version lookups asked on an event loop, sent together: while a statement runs, the
    lookups asked meanwhile wait, and go as the next statement. Each loop has its own
    autocommit connection (made on first use; made again if the server drops it); a closed
    loop's is closed when another loop first asks."""

    def __init__(self, connect: Mapping[str, Any]) -> None:
        self._connect = connect
        self._loops: dict[int, _LoopBatches] = {}
        self.sent = 0  # statements sent (each answers one or more lookups)

    async def lookup(self, item_id: str) -> tuple[int, int]:
        """(version, the item's and renames' row count) of ``item_id``."""
        loop = asyncio.get_running_loop()
        mine = self._loops.get(id(loop))
        if mine is None or mine.loop is not loop:
            for key, other in list(self._loops.items()):
                if other.loop.is_closed() or key == id(loop):
                    other.close()
                    del self._loops[key]
            mine = self._loops[id(loop)] = _LoopBatches(loop, self._connect, self)
        return await mine.lookup(item_id)

    def close(self) -> None:
        """Close every loop's connection (without its loop: it may be gone)."""
        for mine in self._loops.values():
            mine.close()
        self._loops.clear()


class _LoopBatches:
    """The batched lookups of one event loop, on its one connection."""

    def __init__(
        self, loop: asyncio.AbstractEventLoop, connect: Mapping[str, Any], counts: _Batches
    ) -> None:
        self.loop = loop
        self._connect = connect
        self._counts = counts
        self._connection: psycopg.AsyncConnection[Any] | None = None
        self._asked: list[tuple[str, asyncio.Future[tuple[int, int]]]] = []
        self._running = False

    async def lookup(self, item_id: str) -> tuple[int, int]:
        answer: asyncio.Future[tuple[int, int]] = self.loop.create_future()
        self._asked.append((item_id, answer))
        if not self._running:
            self._running = True
            self.loop.create_task(self._send())
        return await answer

    async def _send(self) -> None:
        batch: list[tuple[str, asyncio.Future[tuple[int, int]]]] = []
        try:
            while self._asked:
                batch, self._asked = self._asked, []
                try:
                    found = await self._run(sorted({i for i, _ in batch} | {ORGANISATIONS}))
                except Exception as exc:
                    for _, answer in batch:
                        if not answer.done():
                            answer.set_exception(exc)
                    continue
                renamed = found.get(ORGANISATIONS, (0, 0))
                for item_id, answer in batch:
                    own = found.get(item_id, (0, 0))
                    if not answer.done():
                        answer.set_result((own[0] + renamed[0], own[1] + renamed[1]))
        finally:
            self._running = False
            for _, answer in [*batch, *self._asked]:  # stopped (cancelled): none waits for ever
                if not answer.done():
                    answer.set_exception(RuntimeError("the item view's version lookup stopped"))
            self._asked = []

    async def _run(self, keys: list[str]) -> dict[str, tuple[int, int]]:
        for attempt in (1, 2):
            if self._connection is None or self._connection.closed:
                self._connection = await psycopg.AsyncConnection.connect(
                    **self._connect, autocommit=True
                )
            try:
                self._counts.sent += 1
                cursor = await self._connection.execute(PG_VERSIONS, (keys,))
                rows = await cursor.fetchall()
            except psycopg.OperationalError:
                self.close()
                if attempt == 2:
                    raise
                continue  # the server dropped it: once more, on a new one
            return {str(k): (int(v), int(n)) for k, v, n in rows}
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Close the connection without its loop (it may be gone)."""
        connection, self._connection = self._connection, None
        if connection is not None and not connection.closed:
            connection.pgconn.finish()
