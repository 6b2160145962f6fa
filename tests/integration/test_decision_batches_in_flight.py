"""Two batches of one API process's decisions at once (``DecisionBatcher.finance_async``,
``AsyncGroupCommit`` with two in flight, e274a32), on SQLite and PostgreSQL with the real
node: requests for the same holdings fall in both batches, which run together (released at
once on two executor threads); each holding is financed once (the other request refused
with a conflict), the bank's borrower limit holds exactly, every caller gets its own answer,
and the chain takes every pledge (the audit finds store and chain agreeing)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

import pytest

from fourflow.bootstrap import Platform
from fourflow.domain.errors import ConflictError
from fourflow.domain.financing import FinancingStatus
from fourflow.services import financing
from fourflow.services.audit import audit
from tests.integration.test_lifecycle import _story
from tests.integration.test_races import ASK, _parts

pytestmark = pytest.mark.chain

APPROVALS = 4  # the borrower's limit fits this many requests of ASK


def test_two_batches_of_one_process_at_once_keep_one_winner_per_holding(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = _story(platform)
    parts = [h.id for h in _parts(s, 6)]
    bank, tier1 = s.org["bank"].id, s.org["tier1"].id
    financing.set_product_policy(
        uow_factory=platform.uow_factory, bank=bank,
        fields={"refer_pd": 0.9, "max_pd": 1.0, "limit_per_borrower": APPROVALS * ASK + 1},
    )  # fmt: skip
    # the first two batches start their transactions together (both on executor threads)
    together = threading.Barrier(2, timeout=60)
    started: list[list[str]] = []
    real = financing.finance_many

    def finance_many(**kwargs: Any) -> Any:
        requests: Sequence[financing.FinanceRequest] = kwargs["requests"]
        started.append([r.target for r in requests])
        if len(started) <= 2:
            together.wait()
        return real(**kwargs)

    monkeypatch.setattr(financing, "finance_many", finance_many)
    batcher = financing.DecisionBatcher(
        uow_factory=platform.uow_factory, cold_start=platform.cold_start,
        ledger=platform.require_contracts(), clock=platform.clock, max_batch=4,
    )  # fmt: skip
    amount = f"{ASK // 100}.{ASK % 100:02d}"
    # batch 1: parts 0-3; batch 2: parts 0, 1 again (each asked twice) and 4, 5
    targets = [*parts[:4], parts[0], parts[1], parts[4], parts[5]]
    asked = [
        financing.FinanceRequest(
            target=h,
            bank=bank,
            amount=amount,
            as_of=s.item.issue_date,
            holder=tier1,
            own_holding_of=tier1,
        )
        for h in targets
    ]

    async def send() -> list[Any]:
        return await asyncio.wait_for(
            asyncio.gather(*(batcher.finance_async(a) for a in asked), return_exceptions=True),
            timeout=300,
        )

    answers = asyncio.run(send())
    assert started[:2] == [targets[:4], targets[4:]], started  # both batches ran at once
    rows = [a for a in answers if isinstance(a, financing.FinancingRow)]
    refused = [a for a in answers if not isinstance(a, financing.FinancingRow)]
    assert len(refused) == 2 and all(isinstance(a, ConflictError) for a in refused), refused
    for target, answer in zip(targets, answers, strict=True):  # each caller its own answer
        if isinstance(answer, financing.FinancingRow):
            assert answer.financing.holding_id == target  # type: ignore[union-attr]
    assert {r.financing.holding_id for r in rows} == set(parts)  # type: ignore[union-attr]
    approved = [r for r in rows if r.financing.status is FinancingStatus.APPROVED]
    assert len(approved) == APPROVALS  # exactly the limit, across both batches
    s.relay()
    with platform.uow_factory() as uow:
        stored = [f for f in uow.financings.list() if f.holding_id in set(parts)]
        live = [f for f in stored if f.status is FinancingStatus.ACTIVE]
    assert sorted(f.holding_id for f in stored) == sorted(parts)  # one a holding
    assert len(live) == APPROVALS
    report = audit(
        uow_factory=platform.uow_factory, ledger=platform.require_contracts(),
        reader_for=platform.reader_for,
    )  # fmt: skip
    assert report.ok, report.discrepancies
