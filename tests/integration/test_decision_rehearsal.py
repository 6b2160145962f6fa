"""``financing.warm_up`` rehearses a batch's reads and scoring before an API process listens
(issue 16): a request on a holding the store has, read and scored as a batch reads and scores
it, in a transaction rolled back. The process's first batch then compiles none of the
statements it runs before the banks' limits locks (a first batch cost 35-50 ms of CPU, a third
of it compiling statements, docs/benchmarks.md), and the rehearsal stores nothing: no
financing, no chain operation, no change mark moved. On SQLite and on
PostgreSQL with the real node."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine.interfaces import CacheStats

from fourflow.bootstrap import Platform
from fourflow.domain.financing import FinancingStatus
from fourflow.services import financing
from tests.integration.test_decision_running_state import _decide, _policy
from tests.integration.test_lifecycle import _story
from tests.integration.test_races import ASK, _parts

pytestmark = pytest.mark.chain


@contextmanager
def _compiled(p: Platform) -> Iterator[list[tuple[str, bool]]]:
    """Each statement run, and whether it was compiled for it (not found compiled)."""
    engine = p.uow_factory.engine  # type: ignore[attr-defined]
    seen: list[tuple[str, bool]] = []

    def count(conn: Any, cursor: Any, statement: str, params: Any, context: Any, _: Any) -> None:
        seen.append((statement, context.cache_hit is CacheStats.CACHE_MISS))

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _before_locks(seen: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """The statements run before the banks' limits locks: up to PostgreSQL's advisory lock,
    or the change marks read again under the locks (SQLite's lock is its write lock, held
    from the transaction's start: no statement)."""
    marks = 0
    for n, (statement, _) in enumerate(seen):
        marks += "FROM decision_changes" in statement
        if "pg_advisory_xact_lock" in statement or marks == 2:
            return seen[:n]
    raise AssertionError(f"no limits lock taken: {seen}")


def _stored(p: Platform) -> tuple[Any, ...]:
    with p.uow_factory() as uow:
        marks = getattr(uow, "decision_marks")()  # noqa: B009
        return len(uow.financings.list()), len(uow.outbox.list()), marks


def test_a_rehearsed_process_compiles_nothing_before_its_first_locks(
    platform: Platform,
) -> None:
    s = _story(platform)
    parts = [h.id for h in _parts(s, 3)]
    _policy(platform, s.org["bank"].id, 10 * ASK)
    _decide(platform, s, parts[0])  # the champion learnt
    engine = platform.uow_factory.engine  # type: ignore[attr-defined]

    financing.forget_running_state()  # a process started now, warmed the way before
    engine._compiled_cache.clear()
    with platform.uow_factory() as uow:  # the champion and the view only
        running = financing._Running.of(uow)
        running.champion(uow)
        running.view(uow, s.item.issue_date)
    with _compiled(platform) as cold:
        assert _decide(platform, s, parts[1]).status is FinancingStatus.APPROVED
    assert any(miss for _, miss in _before_locks(cold))  # what the rehearsal saves

    financing.forget_running_state()  # another process, warmed with the rehearsal
    engine._compiled_cache.clear()
    before = _stored(platform)
    financing.warm_up(uow_factory=platform.uow_factory, as_of=s.item.issue_date)
    assert _stored(platform) == before  # nothing stored, no mark moved
    with _compiled(platform) as warm:
        assert _decide(platform, s, parts[2]).status is FinancingStatus.APPROVED
    compiled = [t for t, miss in _before_locks(warm) if miss]
    assert not compiled, compiled
