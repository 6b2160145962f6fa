"""Two batches of decisions for two banks asking for the same holdings at once (13th session's
review, R13): their limits locks differ, so only the holdings' row locks order them (one batch
waits for the other's rows, then reads them as the winner left them). Each holding is won once,
the loser refused naming it; the chain takes one pledge a holding and the audit agrees. On
SQLite and PostgreSQL, with the real node."""

from __future__ import annotations

import pytest

from fourflow.bootstrap import Platform
from fourflow.domain.errors import ConflictError
from fourflow.domain.financing import Financing, FinancingStatus
from fourflow.services import financing
from fourflow.services.audit import audit
from tests.integration.test_lifecycle import _story
from tests.integration.test_races import ASK, _parts, _second_bank
from tests.services.test_decision_batches import at_once

pytestmark = pytest.mark.chain

HOLDINGS = 4


def test_two_banks_batches_on_the_same_holdings_finance_each_once(platform: Platform) -> None:
    s = _story(platform)
    parts = [h.id for h in _parts(s, HOLDINGS)]
    banks = (s.org["bank"].id, _second_bank(platform))
    tier1 = s.org["tier1"].id
    ledger = platform.require_contracts()
    batchers = [
        financing.DecisionBatcher(
            uow_factory=platform.uow_factory,
            cold_start=platform.cold_start,
            ledger=ledger,
            clock=platform.clock,
        )
        for _ in banks
    ]
    amount = f"{ASK // 100}.{ASK % 100:02d}"
    calls = [(b, bank, h) for b, bank in zip(batchers, banks, strict=True) for h in parts]

    def call(i: int) -> financing.FinancingRow:
        batcher, bank, holding = calls[i]
        return batcher.finance(
            financing.FinanceRequest(
                target=holding, bank=bank, amount=amount, as_of=s.item.issue_date,
                holder=tier1, own_holding_of=tier1,
            )
        )  # fmt: skip

    answers = at_once(len(calls), call)
    rows = [a for a in answers if isinstance(a, financing.FinancingRow)]
    refused = [a for a in answers if isinstance(a, Exception)]
    assert all(isinstance(r, ConflictError) for r in refused), refused
    approved = [
        r.financing
        for r in rows
        if isinstance(r.financing, Financing) and r.financing.status is FinancingStatus.APPROVED
    ]
    assert sorted(f.holding_id for f in approved) == sorted(parts), answers
    assert len(refused) == HOLDINGS, answers
    s.relay()
    with platform.uow_factory() as uow:
        stored = [f for f in uow.financings.list() if f.holding_id in set(parts)]
        holdings = {h.id: h for h in uow.items.holdings(s.item.id)}
    live = [f for f in stored if f.status is FinancingStatus.ACTIVE]
    assert sorted(f.holding_id for f in live) == sorted(parts)
    for fin in live:
        assert holdings[fin.holding_id].pledge_bank_id == fin.bank_id
        (pledged,) = ledger.read("pledges", fin.holding_id)
        assert pledged["principal"] == fin.principal, pledged
    report = audit(uow_factory=platform.uow_factory, ledger=ledger, reader_for=platform.reader_for)
    assert report.ok, report.discrepancies
