"""One relay per sender at a time, on PostgreSQL: a row lock per sender (issue 16, operations).

A relay that sends a sender's chain operations first claims the sender: it locks the sender's
row of ``relay_senders`` (``SELECT ... FOR UPDATE``) in a transaction of its own connection and
keeps it until it has recorded what it sent. Several workers (and API processes) on one
PostgreSQL store relay different senders side by side; two never send for one sender at once,
so each sender's nonces follow its queue. A worker asks with ``SKIP LOCKED`` (a sender another
relay holds is left for it), a request that must know its operations' outcome waits for the
sender (bounded by ``wait_timeout_s``). A process that dies loses its connection and with it
the lock: the sender is free again at once.

SQLite has one writer: there the relay runs under the store-wide chain-writer lock instead
(``Platform.relay_claims`` is None).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import OperationalError

from fourflow.adapters.db import tables as t
from fourflow.adapters.db.locks import LockTimeoutError


class SenderClaims:
    """Claims of senders by row lock, on a PostgreSQL engine.

    ``holder`` names the claimant (host and process id) in the lock timeout's message.
    """

    def __init__(self, engine: Engine, *, holder: str, wait_timeout_s: float = 300.0) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError("sender claims by row lock need PostgreSQL (SQLite has one writer)")
        if wait_timeout_s <= 0:
            raise ValueError("the claim's wait must be positive")
        self._engine = engine
        self._holder = holder[:200]
        self._timeout_ms = int(wait_timeout_s * 1000)

    @contextmanager
    def claim(self, sender_org_id: str, *, wait: bool) -> Iterator[bool]:
        """Hold ``sender_org_id`` for the block: yields True when claimed, False when another
        relay holds it and ``wait`` is False (``SKIP LOCKED``). With ``wait`` the claim waits
        for the other relay (``LockTimeoutError`` after the timeout)."""
        row = t.relay_senders
        with self._engine.connect() as connection:
            known = select(row.c.sender_org_id).where(row.c.sender_org_id == sender_org_id)
            if connection.execute(known).first() is None:
                new = postgresql.insert(row).values(sender_org_id=sender_org_id)
                connection.execute(new.on_conflict_do_nothing(index_elements=["sender_org_id"]))
            connection.commit()  # the row exists for every claimant from now on
            if wait:
                connection.execute(text(f"SET LOCAL lock_timeout = {self._timeout_ms}"))
            try:
                got = connection.execute(known.with_for_update(skip_locked=not wait)).first()
            except OperationalError as exc:
                connection.rollback()
                raise LockTimeoutError(
                    f"sender {sender_org_id}: another relay held it for more than "
                    f"{self._timeout_ms / 1000} s; {self._holder} gave up waiting"
                ) from exc
            if got is None:
                connection.rollback()
                yield False
                return
            try:
                yield True
            finally:
                connection.rollback()  # ends the claim (the lock was all it held)
