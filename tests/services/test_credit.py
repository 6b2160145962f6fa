"""Financing requests on the fakes: the robot approves, refers or declines by the bank's policy
and the stated champion's PD; a person decides a referral; the pledge goes to the chain."""

from __future__ import annotations

import pytest

from fourflow.domain.errors import (
    ConflictError,
    DomainValueError,
    NotFoundError,
    PermissionDeniedError,
)
from fourflow.domain.financing import Financing, FinancingStatus, Outcome
from fourflow.risk.review import ProductPolicy
from fourflow.services import commands as cmd
from fourflow.services import credit, financing, items, onboarding
from fourflow.services.ports import OpKind
from tests.services.conftest import BASE_PD, World, no_cold_start


def _request(world: World, amount: int, bank: str = "bank") -> Financing:
    item = world.item()
    (holding,) = world.holdings(item.id)
    return financing.request_financing(
        uow_factory=world.uow, holding_id=holding.id, bank_id=world.id(bank), amount=amount,
        actor_id=world.id("tier1"), as_of=world.clock.today(), cold_start=no_cold_start,
        ledger=world.ledger,
    )  # fmt: skip


def _policy(world: World, *, refer_pd: float, max_pd: float = 0.25) -> None:
    policy = ProductPolicy(bank_id=world.id("bank"), refer_pd=refer_pd, max_pd=max_pd)
    credit.set_policy(uow_factory=world.uow, policy=policy)


def test_approved_request_pledges_the_holding(credit_world: World) -> None:
    world = credit_world
    fin = _request(world, 5_000_000)
    assert fin.status is FinancingStatus.APPROVED and fin.principal == 5_000_000
    assert fin.decision is not None and fin.decision.pd == pytest.approx(BASE_PD)
    assert fin.decision.model_version == "logistic-1" and fin.decision.input_hash
    assert world.relay().failed == ()
    with world.uow() as uow:
        holding = uow.items.get_holding(fin.holding_id)
        assert uow.financings.get(fin.id).status is FinancingStatus.ACTIVE  # type: ignore[union-attr]
    assert holding is not None and holding.locked and holding.pledge_bank_id == world.id("bank")
    assert holding.pledge is not None and holding.pledge.principal == 5_000_000
    pledges = [op for op in world.ledger.applied.values() if isinstance(op.command, cmd.Pledge)]
    assert [p.command.principal for p in pledges] == [5_000_000]  # type: ignore[union-attr]
    anchored = [op for op in world.ledger.applied.values() if op.subject_id == f"decision:{fin.id}"]
    assert len(anchored) == 1 and anchored[0].kind is OpKind.REGISTER_FINGERPRINTS
    with pytest.raises(ConflictError, match=f"already financed: financing {fin.id}"):
        financing.request_financing(
            uow_factory=world.uow, holding_id=fin.holding_id, bank_id=world.id("bank2"),
            amount=1_000, actor_id=world.id("tier1"), as_of=world.clock.today(),
            cold_start=no_cold_start,
        )  # fmt: skip


def test_asking_over_the_advance_rate_is_declined_with_the_limit(credit_world: World) -> None:
    fin = _request(credit_world, 11_300_000)  # the whole face value, on the evidence alone
    assert fin.status is FinancingStatus.DECLINED and fin.principal == 0
    assert fin.decision is not None
    (reason,) = fin.decision.reasons
    assert reason.code == "ADVANCE_LIMIT"
    assert "at most 80% of CNY 113,000.00 outstanding = CNY 90,400.00" in reason.message
    with credit_world.uow() as uow:
        holding = uow.items.get_holding(fin.holding_id)
    assert holding is not None and not holding.locked


def test_referred_then_decided_by_a_person(credit_world: World) -> None:
    world = credit_world
    _policy(world, refer_pd=BASE_PD / 2)
    fin = _request(world, 5_000_000)
    assert fin.status is FinancingStatus.REFERRED and fin.principal == 0
    assert fin.decision is not None and fin.decision.outcome is Outcome.REFER
    assert fin.decision.policy_revision == 1
    with world.uow() as uow:
        holding = uow.items.get_holding(fin.holding_id)
    assert holding is not None and not holding.locked
    approved = credit.decide_referral(
        uow_factory=world.uow, financing_id=fin.id, approve=True, reason="known customer",
        person="li.wei", as_of=world.clock.today(),
    )  # fmt: skip
    assert approved.status is FinancingStatus.APPROVED and approved.principal == 5_000_000
    assert approved.decision is not None and approved.decision.decided_by == "person:li.wei"
    assert approved.decision.review is not None
    assert approved.decision.review.outcome is Outcome.REFER
    assert world.relay().failed == ()
    with world.uow() as uow:
        assert uow.financings.get(fin.id).status is FinancingStatus.ACTIVE  # type: ignore[union-attr]
    with pytest.raises(ConflictError, match="is active; only referred requests"):
        credit.decide_referral(
            uow_factory=world.uow, financing_id=fin.id, approve=False, reason="again",
            person="li.wei", as_of=world.clock.today(),
        )  # fmt: skip


def test_declined_by_the_robot_and_by_a_person(credit_world: World) -> None:
    world = credit_world
    _policy(world, refer_pd=BASE_PD / 4, max_pd=BASE_PD / 2)
    declined = _request(world, 5_000_000)
    assert declined.status is FinancingStatus.DECLINED and declined.principal == 0
    assert declined.decision is not None and declined.decision.reasons
    _policy(world, refer_pd=BASE_PD / 2)
    referred = _request(world, 5_000_000)
    refused = credit.decide_referral(
        uow_factory=world.uow, financing_id=referred.id, approve=False, reason="concentration",
        person="li.wei", as_of=world.clock.today(),
    )  # fmt: skip
    assert refused.status is FinancingStatus.DECLINED and refused.principal == 0
    assert world.relay().failed == ()
    assert OpKind.PLEDGE not in world.ledger.kinds()
    with world.uow() as uow:
        assert [v.version for v in uow.policies.versions(world.id("bank"))] == [1, 2]


def test_only_the_holder_asks_and_only_a_bank_lends(credit_world: World) -> None:
    world = credit_world
    item = world.item()
    (holding,) = world.holdings(item.id)
    with pytest.raises(PermissionDeniedError, match="is not held by"):
        financing.request_financing(
            uow_factory=world.uow, holding_id=holding.id, bank_id=world.id("bank"),
            amount=1_000, actor_id=world.id("tier2"), as_of=world.clock.today(),
            cold_start=no_cold_start,
        )  # fmt: skip
    with pytest.raises(Exception, match="is not a bank"):
        financing.request_financing(
            uow_factory=world.uow, holding_id=holding.id, bank_id=world.id("tier2"),
            amount=1_000, actor_id=world.id("tier1"), as_of=world.clock.today(),
            cold_start=no_cold_start,
        )  # fmt: skip


def test_finance_an_item_by_reference_picks_the_holders_largest_free_holding(
    credit_world: World,
) -> None:
    world = credit_world
    item = world.item()
    (root,) = world.holdings(item.id)
    small = items.split(
        uow_factory=world.uow, holding_id=root.id, amount=1_000_000, actor_id=world.id("tier1")
    )
    passed = items.transfer(
        uow_factory=world.uow, holding_id=root.id, amount=2_000_000,
        to_org_id=world.id("tier2"), actor_id=world.id("tier1"),
    )  # fmt: skip
    bank = world.org["bank"].uscc
    row = financing.finance(
        uow_factory=world.uow, target=item.id, bank=bank, amount="5000.00",
        as_of=world.clock.today(), cold_start=no_cold_start,
    )  # fmt: skip
    assert row.currency == "CNY" and isinstance(row.financing, Financing)  # a receivable's
    assert (row.financing.holding_id, row.financing.requested) == (root.id, 500_000)
    assert row.financing.borrower_id == world.id("tier1")
    by_tier2 = financing.finance(
        uow_factory=world.uow, target=item.id, bank=bank, amount="100", holder=world.org["tier2"].uscc,
        as_of=world.clock.today(), cold_start=no_cold_start,
    )  # fmt: skip
    assert isinstance(by_tier2.financing, Financing)
    assert by_tier2.financing.holding_id == passed.id
    assert by_tier2.financing.borrower_id == world.id("tier2")
    # The creditor's largest free holding is pledged now: the small one is next.
    again = financing.finance(
        uow_factory=world.uow, target=item.id, bank=bank, amount="100", as_of=world.clock.today(),
        cold_start=no_cold_start,
    )  # fmt: skip
    assert isinstance(again.financing, Financing) and again.financing.holding_id == small.id
    with pytest.raises(NotFoundError, match=f"holds no unpledged part of item {item.id}"):
        financing.finance(
            uow_factory=world.uow, target=item.id, bank=bank, amount="1",
            as_of=world.clock.today(), cold_start=no_cold_start,
        )  # fmt: skip
    with pytest.raises(DomainValueError, match=r"0\.001 CNY: more than 2 decimal places"):
        financing.finance(
            uow_factory=world.uow, target=small.id, bank=bank, amount="0.001",
            as_of=world.clock.today(), cold_start=no_cold_start,
        )  # fmt: skip
    listed = financing.list_financings(uow_factory=world.uow, status="approved")
    assert [r.financing.id for r in listed] == [
        row.financing.id, by_tier2.financing.id, again.financing.id
    ]  # fmt: skip
    assert financing.list_financings(uow_factory=world.uow, status="declined") == []
    with pytest.raises(DomainValueError, match="status 'nope' is not one of"):
        financing.list_financings(uow_factory=world.uow, status="nope")
    shown = financing.get_financing(uow_factory=world.uow, financing_id=row.financing.id)
    assert shown == row
    with pytest.raises(NotFoundError, match="financing request fin-x does not exist"):
        financing.get_financing(uow_factory=world.uow, financing_id="fin-x")


def test_decide_returns_the_decision_with_its_currency(credit_world: World) -> None:
    world = credit_world
    _policy(world, refer_pd=BASE_PD / 2)
    referred = _request(world, 5_000_000)
    row = financing.decide(
        uow_factory=world.uow, financing_id=referred.id, approve=True, reason="collateral",
        person="zhang.min", as_of=world.clock.today(),
    )  # fmt: skip
    assert row.currency == "CNY" and row.financing.status is FinancingStatus.APPROVED
    assert row.financing.decision is not None and row.financing.decision.note == "collateral"


def test_product_policy_by_bank_reference(world: World) -> None:
    bank = world.org["bank"].uscc
    assert financing.product_policy(uow_factory=world.uow, bank=bank).refer_pd == 0.10
    set_ = financing.set_product_policy(
        uow_factory=world.uow, bank=bank, fields={"refer_pd": 0.05, "version": "p-2"}
    )
    assert (set_.bank_id, set_.refer_pd, set_.version) == (world.id("bank"), 0.05, "p-2")
    assert financing.product_policy(uow_factory=world.uow, bank=world.id("bank")) == set_
    with pytest.raises(DomainValueError, match=r"unknown policy field\(s\): refer_pdd"):
        financing.set_product_policy(uow_factory=world.uow, bank=bank, fields={"refer_pdd": 0.1})
    with pytest.raises(DomainValueError, match="refer_pd <= max_pd"):
        financing.set_product_policy(
            uow_factory=world.uow, bank=bank, fields={"refer_pd": 0.5, "max_pd": 0.2}
        )
    with pytest.raises(DomainValueError, match="is not a bank"):
        financing.set_product_policy(uow_factory=world.uow, bank=world.org["tier1"].uscc, fields={})
    with world.uow() as uow:
        assert [v.version for v in uow.policies.versions(world.id("bank"))] == [1]
    assert onboarding.org_id(uow_factory=world.uow, ref=bank) == world.id("bank")
    with pytest.raises(NotFoundError, match="no organisation known as 'nobody'"):
        onboarding.org_id(uow_factory=world.uow, ref="nobody")
