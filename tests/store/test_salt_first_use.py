"""The consortium's fingerprint salt made by two processes' first uses at once: both use the
one stored (on PostgreSQL the second used to write its own over the first's, and the first
process fingerprinted with a salt nobody else had), on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

from fourflow.adapters.db import SqlUnitOfWorkFactory
from fourflow.services import fraud


def test_two_first_uses_of_the_salt_at_once_agree(uow_factory: SqlUnitOfWorkFactory) -> None:
    got: dict[str, bytes] = {}

    def second() -> None:
        with uow_factory() as u:
            got["salt"] = fraud.consortium_salt(u)
            u.commit()

    with uow_factory() as first_uow:
        first = fraud.consortium_salt(first_uow)  # made, not committed yet
        other = threading.Thread(target=second)
        other.start()
        # the second's first read happens while this one is open (it then waits for this
        # transaction: its lock, or its write lock on SQLite); whenever it reads, it must
        # end with the same salt
        other.join(timeout=1.0)
        first_uow.commit()
    other.join(timeout=60.0)
    assert not other.is_alive()
    assert got["salt"] == first
    with uow_factory() as u:
        assert fraud.consortium_salt(u) == first
