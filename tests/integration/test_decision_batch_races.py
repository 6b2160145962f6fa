"""Decisions in batches racing each other on SQLite and PostgreSQL, with the real anvil node:
two group commits (``financing.DecisionBatcher``, one per API process in ``serve``; here two in
threads, each batch in its own transaction and connection) decide requests released at once,
some for the same holdings; the bank's borrower limit holds exactly, a holding is financed once,
the chain takes every pledge and the audit finds store and chain agreeing."""

from __future__ import annotations

import dataclasses

import pytest

from fourflow.bootstrap import Platform
from fourflow.domain.errors import ConflictError
from fourflow.domain.financing import FinancingStatus
from fourflow.domain.identity import AuditRecord
from fourflow.services import financing, identity
from fourflow.services.audit import audit
from tests.integration.test_lifecycle import _story
from tests.integration.test_races import ASK, _parts
from tests.services.test_decision_batches import at_once

pytestmark = pytest.mark.chain

APPROVALS = 5  # the borrower's limit fits this many requests of ASK


def test_two_batchers_keep_the_limit_and_one_winner_per_holding(platform: Platform) -> None:
    s = _story(platform)
    parts = [h.id for h in _parts(s, 8)]
    bank = s.org["bank"].id
    financing.set_product_policy(
        uow_factory=platform.uow_factory, bank=bank,
        fields={"refer_pd": 0.9, "max_pd": 1.0, "limit_per_borrower": APPROVALS * ASK + 1},
    )  # fmt: skip
    tier1 = s.org["tier1"].id
    ledger = platform.require_contracts()
    batchers = [
        financing.DecisionBatcher(
            uow_factory=platform.uow_factory,
            cold_start=platform.cold_start,
            ledger=ledger,
            clock=platform.clock,
        )
        for _ in range(2)
    ]
    amount = f"{ASK // 100}.{ASK % 100:02d}"
    # each side asks for 5 holdings; holdings 3 and 4 are asked for by both sides
    sides = [parts[:5], parts[3:8]]
    calls = [(b, h) for b, side in zip(batchers, sides, strict=True) for h in side]

    def call(i: int) -> financing.FinancingRow:
        batcher, holding = calls[i]
        return batcher.finance(
            financing.FinanceRequest(
                target=holding, bank=bank, amount=amount, as_of=s.item.issue_date,
                holder=tier1, own_holding_of=tier1,
            )
        )  # fmt: skip

    answers = at_once(len(calls), call)  # a loser's refusal is its answer
    rows = [a for a in answers if isinstance(a, financing.FinancingRow)]
    refused = [a for a in answers if isinstance(a, Exception)]
    # a holding asked for twice: the second sees the first one's approval and is refused
    # (or, the first declined on the limit, is decided too)
    assert all(isinstance(r, ConflictError) for r in refused), refused
    assert len(rows) + len(refused) == len(calls) and len(refused) <= 2
    approved = [r for r in rows if r.financing.status is FinancingStatus.APPROVED]
    assert len(approved) == APPROVALS  # exactly the limit, across both batchers
    assert len({r.financing.holding_id for r in approved}) == APPROVALS  # type: ignore[union-attr]
    for r in rows:
        if r.financing.status is not FinancingStatus.APPROVED:
            reasons = r.financing.decision.reasons  # type: ignore[union-attr]
            assert any(x.code == "LIMIT_BORROWER" for x in reasons), reasons
    s.relay()
    with platform.uow_factory() as uow:
        stored = [f for f in uow.financings.list() if f.holding_id in set(parts)]
        live = [f for f in stored if f.status is FinancingStatus.ACTIVE]
    assert len(stored) == len(rows) and {f.holding_id for f in stored} == set(parts)
    assert len(live) == APPROVALS and len({f.holding_id for f in live}) == APPROVALS
    assert sum(f.principal for f in live) <= APPROVALS * ASK
    report = audit(
        uow_factory=platform.uow_factory, ledger=platform.require_contracts(),
        reader_for=platform.reader_for,
    )  # fmt: skip
    assert report.ok, report.discrepancies


def test_audit_appends_at_once_from_two_processes_keep_one_chain(platform: Platform) -> None:
    """Requests recorded at once in the audit trail by two processes (here two ``Identities``
    over one store, as two API processes have): each process appends those arriving together
    in one transaction (``identity._APPENDER``, a ``GroupCommit``), the two race on the head (the unique
    ``prev_hash`` refuses a fork, and the loser chains again), and the trail verifies with
    every record in it once."""
    processes = [platform.identities, dataclasses.replace(platform.identities)]
    before = identity.verify_trail(platform.identities).records
    calls = [(ids, n, p) for n in range(24) for p, ids in enumerate(processes)]

    def call(i: int) -> AuditRecord:
        ids, n, p = calls[i]
        return identity.record_request(
            ids,
            identity.AnsweredRequest(
                principal=None, action="financings.request", method="POST",
                path=f"/api/v1/financings?n={n}&p={p}", client="127.0.0.1", status=201,
            ),
        )  # fmt: skip

    answers = at_once(len(calls), call)
    assert all(isinstance(a, AuditRecord) for a in answers), answers
    check = identity.verify_trail(platform.identities)
    assert check.ok, check.problems
    assert check.records == before + len(calls)
    stored = identity.trail_records(platform.identities, after=0, limit=1000)
    by_hash = {r.hash: r for r in stored}
    for asked, answer in zip(calls, answers, strict=True):  # each its own record, stored
        assert by_hash[answer.hash].path == answer.path
        assert answer.path.endswith(f"?n={asked[1]}&p={asked[2]}")
    assert len({a.hash for a in answers}) == len(calls)
