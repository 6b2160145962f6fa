"""A named lock over one store, held across transactions: first-use work done once.

A transaction's lock (``SqlSettings.lock``, ``SELECT ... FOR UPDATE``) ends with its
transaction; deploying the contracts spans several transactions and chain calls. ``held``
keeps a lock for a whole block, shared by every process on the same store:

* PostgreSQL: a session advisory lock on a connection of its own, keyed by the name and the
  current schema (so stores in other schemas of one database do not wait on each other);
* SQLite: an exclusive ``flock`` on a file next to the database file (``<db>.<name>.lock``);
  an in-memory database is private to its process, so a process-local lock does.

Waiting is bounded: after ``timeout_s`` seconds the caller gets ``LockTimeoutError``.
"""

from __future__ import annotations

import fcntl
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, text

from fourflow.domain.errors import ConflictError

POLL_S = 0.05
_TRY_PG = text("SELECT pg_try_advisory_lock(hashtextextended(:name || current_schema(), 0))")
_UNLOCK_PG = text("SELECT pg_advisory_unlock(hashtextextended(:name || current_schema(), 0))")
_LOCAL: dict[str, threading.Lock] = {}
_LOCAL_GUARD = threading.Lock()


class LockTimeoutError(ConflictError):
    """Another process held the lock for longer than the caller would wait."""


@contextmanager
def held(engine: Engine, name: str, *, timeout_s: float = 300.0) -> Iterator[None]:
    """Hold the store-wide lock ``name`` for the block (one holder at a time)."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise ValueError(f"lock name {name!r}: use letters, digits, '.', '_' and '-' only")
    if engine.dialect.name == "postgresql":
        with _pg_lock(engine, name, timeout_s):
            yield
        return
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        with _local_lock(name, timeout_s):
            yield
        return
    with _file_lock(Path(f"{database}.{name}.lock"), name, timeout_s):
        yield


def _deadline_error(name: str, timeout_s: float) -> LockTimeoutError:
    return LockTimeoutError(f"lock {name} is held by another process; gave up after {timeout_s} s")


@contextmanager
def _pg_lock(engine: Engine, name: str, timeout_s: float) -> Iterator[None]:
    with engine.connect() as connection:
        deadline = time.monotonic() + timeout_s
        while True:
            got = bool(connection.execute(_TRY_PG, {"name": name}).scalar())
            connection.commit()  # the session lock outlives the transaction; end it
            if got:
                break
            if time.monotonic() > deadline:
                raise _deadline_error(name, timeout_s)
            time.sleep(POLL_S)
        try:
            yield
        finally:
            connection.execute(_UNLOCK_PG, {"name": name})
            connection.commit()


@contextmanager
def _file_lock(path: Path, name: str, timeout_s: float) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise _deadline_error(name, timeout_s) from None
                time.sleep(POLL_S)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextmanager
def _local_lock(name: str, timeout_s: float) -> Iterator[None]:
    with _LOCAL_GUARD:
        lock = _LOCAL.setdefault(name, threading.Lock())
    if not lock.acquire(timeout=timeout_s):
        raise _deadline_error(name, timeout_s)
    try:
        yield
    finally:
        lock.release()
