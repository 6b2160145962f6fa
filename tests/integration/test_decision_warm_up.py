"""An API process warms its financing decisions' running state before it listens (issue 16):
``financing.warm_up`` with a date keeps the champion and the fraud scan's platform view (read
once, for any date while the store's ``view`` mark stays), so the process's first batch reads
none of the view's tables; ``server.ready_to_serve`` does that and then freezes the start-up
heap out of the garbage collector's generations (a full collection of it took 156-527 ms in an
API process, docs/benchmarks.md). On SQLite and on PostgreSQL with the real node."""

from __future__ import annotations

import datetime as dt
import gc

import pytest

from fourflow.bootstrap import Platform
from fourflow.domain.financing import FinancingStatus
from fourflow.entrypoints.api import server
from fourflow.services import financing
from tests.integration.test_decision_running_state import _decide, _policy
from tests.integration.test_decision_statements import _counted
from tests.integration.test_lifecycle import _story
from tests.integration.test_races import ASK, _parts

pytestmark = pytest.mark.chain

#: Tables only the fraud scan's platform view reads in a batch of decisions.
VIEW_ONLY = ("mandates", "document_resubmissions")


def _reads_view(statements: list[str]) -> bool:
    return any(f"FROM {t}" in s for s in statements for t in VIEW_ONLY)


def test_a_warmed_process_reads_no_view_in_its_first_batch(platform: Platform) -> None:
    s = _story(platform)
    parts = [h.id for h in _parts(s, 3)]
    _policy(platform, s.org["bank"].id, 10 * ASK)
    _decide(platform, s, parts[0])  # the champion learnt
    financing.forget_running_state()  # a process started now, not warmed
    with _counted(platform) as cold:
        assert _decide(platform, s, parts[1]).status is FinancingStatus.APPROVED
    assert _reads_view(cold), cold  # what the warm-up saves a first batch
    financing.forget_running_state()  # another process, warmed for another day
    financing.warm_up(
        uow_factory=platform.uow_factory, as_of=s.item.issue_date - dt.timedelta(days=1)
    )
    with _counted(platform) as warm:
        assert _decide(platform, s, parts[2]).status is FinancingStatus.APPROVED
    assert not _reads_view(warm), [t for t in warm if any(v in t for v in VIEW_ONLY)]
    assert len(warm) < len(cold), (len(warm), len(cold))


def test_an_api_process_is_warmed_and_frozen_before_it_listens(platform: Platform) -> None:
    financing.forget_running_state()
    gc.unfreeze()
    try:
        server.ready_to_serve(platform)
        assert gc.get_freeze_count() > 0  # the start-up heap: out of the collections
        engine = platform.uow_factory.engine  # type: ignore[attr-defined]
        kept = financing._Running._STATES[engine]
        assert platform.clock.today() in kept.views, kept.views
    finally:
        gc.unfreeze()
