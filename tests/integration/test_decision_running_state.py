"""The financing decisions' running state (issue 16, ``financing._Running``): an API process
keeps the champion, the fraud scan's view, the banks' policies and exposures between its batches
under the store's change marks (migration 0029). A change another process commits must be seen
by this process's next decision: a new policy version, a financing that adds to the bank's
exposure. Each "process" here is a platform of its own over the same store (its own engine,
connections and running state: the state is kept per engine, nothing else is shared), on
SQLite and on PostgreSQL with the real node."""

from __future__ import annotations

import pytest

from fourflow.bootstrap import Platform
from fourflow.domain.financing import Financing, FinancingStatus
from fourflow.services import credit, financing
from tests.integration.test_lifecycle import Story, _story
from tests.integration.test_races import ASK, _parts

pytestmark = pytest.mark.chain

AMOUNT = f"{ASK // 100}.{ASK % 100:02d}"


def _decide(p: Platform, s: Story, holding_id: str) -> Financing:
    """One request decided in a batch of ``p`` (the API's way, ``finance_many``)."""
    (answer,) = financing.finance_many(
        uow_factory=p.uow_factory, cold_start=p.cold_start, ledger=p.require_contracts(),
        clock=p.clock,
        requests=[financing.FinanceRequest(
            target=holding_id, bank=s.org["bank"].id, amount=AMOUNT, as_of=s.item.issue_date,
            holder=s.org["tier1"].id, own_holding_of=s.org["tier1"].id,
        )],
    )  # fmt: skip
    assert isinstance(answer, financing.FinancingRow), answer
    assert isinstance(answer.financing, Financing), answer.financing
    return answer.financing


def _revision(f: Financing) -> int:
    """The policy version a decision used."""
    assert f.decision is not None and f.decision.policy_revision is not None, f
    return f.decision.policy_revision


def _policy(p: Platform, bank: str, limit: int) -> None:
    financing.set_product_policy(
        uow_factory=p.uow_factory, bank=bank,
        fields={"refer_pd": 0.9, "max_pd": 1.0, "limit_per_borrower": limit},
    )  # fmt: skip


def test_another_process_policy_and_exposure_are_honoured(platform: Platform) -> None:
    s = _story(platform)
    parts = [h.id for h in _parts(s, 5)]
    bank = s.org["bank"].id
    _policy(platform, bank, 100 * ASK)
    with Platform(platform.settings) as other:  # the second API process
        first = _decide(platform, s, parts[0])  # process 1 keeps the policy and exposure
        assert first.status is FinancingStatus.APPROVED, first.decision
        revision = _revision(first)
        one = first.principal  # every part asks the same amount of the same item
        # process 2: a new policy version; room for three and a half approvals of the borrower
        _policy(other, bank, one * 7 // 2)
        second = _decide(platform, s, parts[1])
        assert _revision(second) == revision + 1, second.decision
        assert second.status is FinancingStatus.APPROVED, second.decision
        # process 2 lends (the third); process 1 kept an exposure of two approvals
        third = _decide(other, s, parts[2])
        assert third.status is FinancingStatus.APPROVED, third.decision
        fourth = _decide(platform, s, parts[3])  # four would pass the limit: not approved
        assert fourth.status is not FinancingStatus.APPROVED, fourth.decision
        assert _revision(fourth) == revision + 1
        # what process 1 keeps is what the store says
        with platform.uow_factory() as uow:
            fresh = credit.exposure(uow, bank)
        engine = platform.uow_factory.engine  # type: ignore[attr-defined]
        kept = financing._Running._STATES[engine].exposures.get(bank)
        assert kept is None or kept[1] == fresh, (kept, fresh)
        assert fresh.by_borrower[s.org["tier1"].id] == 3 * one


def test_kept_state_decides_as_a_cold_process(platform: Platform) -> None:
    """A batch on kept state decides as one that reads everything afresh (the state forgotten):
    same outcomes, principals, rates and policy revisions."""
    s = _story(platform)
    parts = [h.id for h in _parts(s, 4)]
    _policy(platform, s.org["bank"].id, one_limit := 3 * ASK)
    kept = [_decide(platform, s, parts[0]), _decide(platform, s, parts[1])]
    financing.forget_running_state()
    cold = [_decide(platform, s, parts[2])]
    kept.append(_decide(platform, s, parts[3]))  # the limit (3 * ASK) reached by now, or not
    with platform.uow_factory() as uow:
        fresh = credit.exposure(uow, s.org["bank"].id)
    assert fresh.by_borrower[s.org["tier1"].id] <= one_limit
    decisions = [(f.status, f.principal, f.rate_bps, _revision(f)) for f in kept]
    assert decisions[0] == decisions[1], decisions
    c = cold[0]
    assert (c.status, c.principal, c.rate_bps) == decisions[0][:3]
