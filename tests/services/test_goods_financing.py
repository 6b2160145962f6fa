"""Goods financings (issue 15, "one review for every financing"): every decision on a
warehouse-receipt pledge is stored as a financing of kind ``goods``, listed beside receivable
financings, counted in the regulator's figures, its input hash anchored on the chain, and its
status follows the chain: approved, active once pledged, failed if refused, repaid when the
bank releases the pledge or a buyer's payment clears it."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from fourflow.domain.errors import ConflictError, DomainValueError
from fourflow.domain.financing import FinancingKind, FinancingStatus, GoodsFinancing, Outcome
from fourflow.services import commands as cmd
from fourflow.services import credit, financing, position, receipts
from fourflow.services.ports import OpKind
from fourflow.services.supervision import regulator_summary
from tests.services.conftest import World, no_cold_start

YUAN = 100


def _receipt(world: World, tonnes: int = 1) -> str:
    credit.set_price(uow_factory=world.uow, goods_code="REBAR-HRB400", price=6_200.0,
                     currency="CNY", as_of=world.clock.today())  # fmt: skip
    return receipts.issue_receipt(
        uow_factory=world.uow, warehouse_id=world.id("warehouse"), holder_id=world.id("tier1"),
        goods_code="REBAR-HRB400", description="螺纹钢 HRB400", quantity=tonnes, unit="TNE",
        location="SZ-A1", evidence="urn:epcis:receiving:9",
    )  # fmt: skip


def _pledge(world: World, receipt_id: str, amount: int) -> GoodsFinancing:
    return receipts.pledge_receipt(
        uow_factory=world.uow, receipt_id=receipt_id, bank_id=world.id("bank"), amount=amount,
        actor_id=world.id("tier1"), as_of=world.clock.today(),
    )  # fmt: skip


def _stored(world: World, financing_id: str) -> GoodsFinancing:
    with world.uow() as uow:
        found = uow.goods_financings.get(financing_id)
    assert found is not None
    return found


def _anchor(world: World, financing_id: str) -> cmd.RegisterFingerprints:
    with world.uow() as uow:
        (op,) = uow.outbox.for_subject(f"decision:{financing_id}")
    assert isinstance(op.command, cmd.RegisterFingerprints)
    return op.command


def test_every_decision_is_a_goods_financing_listed_counted_and_anchored(
    credit_world: World,
) -> None:
    world = credit_world
    receipt_id = _receipt(world, tonnes=2)  # 2 t × 6,200.00 less 30%: 8,680.00
    with pytest.raises(receipts.PledgeDeclinedError) as refused:
        _pledge(world, receipt_id, 9_000 * YUAN)
    declined = refused.value.financing
    approved = _pledge(world, receipt_id, 8_000 * YUAN)
    assert (approved.kind, approved.status) == (FinancingKind.GOODS, FinancingStatus.APPROVED)
    assert (approved.borrower_id, approved.bank_id) == (world.id("tier1"), world.id("bank"))
    assert (approved.goods_code, approved.quantity, approved.currency) == ("REBAR-HRB400", 2, "CNY")
    # both decisions' input hashes go to the chain like a receivable decision's
    for fin in (declined, approved):
        assert fin.decision is not None and fin.decision.input_hash
        assert _anchor(world, fin.id).fingerprints == (f"sha256:{fin.decision.input_hash}",)
    assert declined.decision is not None and approved.decision is not None
    assert declined.decision.input_hash != approved.decision.input_hash

    # a receivable financing beside them: `finance list` shows all three, by kind and bank
    item = world.item()
    (holding,) = world.holdings(item.id)
    financing.request_financing(
        uow_factory=world.uow, holding_id=holding.id, bank_id=world.id("bank"),
        amount=1_000 * YUAN, actor_id=world.id("tier1"), as_of=world.clock.today(),
        cold_start=no_cold_start,
    )  # fmt: skip
    every = financing.list_financings(uow_factory=world.uow)
    assert sorted(r.kind.value for r in every) == ["goods", "goods", "receivable"]
    goods = financing.list_financings(uow_factory=world.uow, kind="goods")
    assert [r.financing.id for r in goods] == [declined.id, approved.id]
    assert {r.debtor_name for r in goods} == {world.org["warehouse"].name}
    assert {r.bank_name for r in goods} == {world.org["bank"].name}
    active = _stored(world, approved.id)  # making the item relayed the pledge too
    assert active.status is FinancingStatus.ACTIVE
    (only,) = financing.list_financings(uow_factory=world.uow, kind="goods", status="active")
    assert only.financing == active and only.currency == "CNY"
    shown = financing.get_financing(uow_factory=world.uow, financing_id=declined.id)
    assert shown.financing.status is FinancingStatus.DECLINED
    with pytest.raises(Exception, match="kind 'bond'"):
        financing.list_financings(uow_factory=world.uow, kind="bond")

    # the borrower sees them in its own position (`item list --as`), beside its receivable one
    mine = position.member_position(uow_factory=world.uow, org_id=world.id("tier1"))
    kinds = sorted((f["kind"], f["status"]) for f in mine["financed"])
    assert kinds[:2] == [("goods", "active"), ("goods", "declined")]
    assert kinds[2][0] == "receivable"
    assert {f["receipt"] for f in mine["financed"] if f["kind"] == "goods"} == {receipt_id}

    # the regulator counts them under warehouse_receipt and in all
    figures = regulator_summary(uow_factory=world.uow, as_of=world.clock.today())
    wr = figures["warehouse_receipt"].as_dict()
    assert (wr["financed"], wr["declined"]) == (1, 1)
    assert wr["financed_amount"] == {"CNY": "8000.00"}
    assert wr["outstanding_amount"] == {"CNY": "8000.00"}
    assert figures["all"].financed + figures["all"].declined >= 2


def test_the_status_follows_the_chain_pledge_release_and_refusal(credit_world: World) -> None:
    world = credit_world
    receipt_id = _receipt(world, tonnes=3)
    fin = _pledge(world, receipt_id, 10_000 * YUAN)
    assert world.relay().failed == ()
    assert _stored(world, fin.id).status is FinancingStatus.ACTIVE

    # the bank's release is refused by the chain: the financing is live again, as it was
    receipts.release_receipt_pledge(
        uow_factory=world.uow, receipt_id=receipt_id, actor_id=world.id("bank")
    )
    ended = _stored(world, fin.id)
    assert ended.status is FinancingStatus.REPAID and ended.closed_op_id is not None
    world.ledger.refuse(OpKind.RECEIPT_RELEASE_PLEDGE, "WarehouseReceipt: not the pledgee")
    assert world.relay().failed
    assert _stored(world, fin.id) == replace(
        ended, status=FinancingStatus.ACTIVE, closed_op_id=None
    )
    world.ledger.allow(OpKind.RECEIPT_RELEASE_PLEDGE)
    receipts.release_receipt_pledge(
        uow_factory=world.uow, receipt_id=receipt_id, actor_id=world.id("bank")
    )
    assert world.relay().failed == ()
    assert _stored(world, fin.id).status is FinancingStatus.REPAID

    # a pledge the chain refuses: the financing stays on record as failed, nothing pledged
    world.ledger.refuse(OpKind.RECEIPT_PLEDGE, "WarehouseReceipt: holder suspended")
    again = _pledge(world, receipt_id, 5_000 * YUAN)
    assert world.relay().failed
    assert _stored(world, again.id).status is FinancingStatus.FAILED
    with world.uow() as uow:
        live, owed = receipts.live_pledge(uow, receipt_id)
    assert live is None and owed == 0
    figures = regulator_summary(uow_factory=world.uow, as_of=world.clock.today())
    wr = figures["warehouse_receipt"]
    assert wr.financed == 1 and wr.outstanding_amount == {}  # repaid; the failed one lent nothing


def test_a_pledge_the_bank_does_not_accept_on_chain_fails(credit_world: World) -> None:
    """The holder's offer applies, the bank's acceptance is refused: nothing is pledged, the
    goods financing is failed (it turns active only on the bank's acceptance)."""
    world = credit_world
    receipt_id = _receipt(world, tonnes=3)
    world.ledger.refuse(OpKind.RECEIPT_ACCEPT_PLEDGE, "WarehouseReceipt: bank suspended")
    fin = _pledge(world, receipt_id, 10_000 * YUAN)
    failed = world.relay().failed
    assert [reason for _, reason in failed] == ["WarehouseReceipt: bank suspended"]
    assert OpKind.RECEIPT_PLEDGE in world.ledger.kinds()  # the offer itself was applied
    assert _stored(world, fin.id).status is FinancingStatus.FAILED
    with world.uow() as uow:
        assert receipts.live_pledge(uow, receipt_id) == (None, 0)
    world.ledger.allow(OpKind.RECEIPT_ACCEPT_PLEDGE)
    again = _pledge(world, receipt_id, 10_000 * YUAN)
    assert _stored(world, again.id).status is FinancingStatus.APPROVED
    assert world.relay().failed == ()
    assert _stored(world, again.id).status is FinancingStatus.ACTIVE


def test_a_buyer_paying_the_pledgee_in_full_repays_the_goods_financing(
    credit_world: World,
) -> None:
    world = credit_world
    receipt_id = _receipt(world, tonnes=3)
    fin = _pledge(world, receipt_id, 10_000 * YUAN)
    sale_id, _ = receipts.sell_receipt(
        uow_factory=world.uow, receipt_id=receipt_id, buyer_id=world.id("core"), quantity=3,
        price=15_000 * YUAN, actor_id=world.id("tier1"),
    )  # fmt: skip
    receipts.pay_for_receipt(
        uow_factory=world.uow, receipt_id=receipt_id, sale_id=sale_id, amount=4_000 * YUAN,
        actor_id=world.id("core"),
    )  # fmt: skip
    assert _stored(world, fin.id).status is FinancingStatus.APPROVED  # 6,000.00 still owed
    owed = regulator_summary(uow_factory=world.uow, as_of=world.clock.today())
    assert owed["warehouse_receipt"].as_dict()["outstanding_amount"] == {"CNY": "6000.00"}
    receipts.pay_for_receipt(
        uow_factory=world.uow, receipt_id=receipt_id, sale_id=sale_id, amount=11_000 * YUAN,
        actor_id=world.id("core"),
    )  # fmt: skip
    assert _stored(world, fin.id).status is FinancingStatus.REPAID


def test_a_stale_price_refers_the_pledge_to_a_person_who_decides_with_a_reason(
    credit_world: World,
) -> None:
    world = credit_world
    receipt_id = _receipt(world, tonnes=3)  # priced today: 3 t × 6,200.00 less 30% = 13,020.00
    later = world.clock.today() + dt.timedelta(days=45)  # the product accepts a 30-day price
    referred = receipts.pledge_receipt(
        uow_factory=world.uow, receipt_id=receipt_id, bank_id=world.id("bank"),
        amount=10_000 * YUAN, actor_id=world.id("tier1"), as_of=later,
    )  # fmt: skip
    assert referred.status is FinancingStatus.REFERRED and referred.pledge_op_id is None
    assert referred.decision is not None
    (stale,) = referred.decision.reasons
    assert stale.code == "PRICE_STALE" and "45 days before the decision" in stale.message
    with world.uow() as uow:
        assert uow.receipts.pledges(receipt_id) == []  # nothing pledged while a person decides
    assert _anchor(world, referred.id).fingerprints == (f"sha256:{referred.decision.input_hash}",)
    with pytest.raises(DomainValueError, match="reason"):
        financing.decide(uow_factory=world.uow, financing_id=referred.id, approve=True,
                         reason=" ", person="li.na", as_of=later)  # fmt: skip
    row = financing.decide(
        uow_factory=world.uow, financing_id=referred.id, approve=True,
        reason="price checked with the exchange: unchanged", person="li.na", as_of=later,
    )  # fmt: skip
    approved = row.financing
    assert isinstance(approved, GoodsFinancing)
    assert (approved.status, approved.principal) == (FinancingStatus.APPROVED, 10_000 * YUAN)
    decision = approved.decision
    assert decision is not None and decision.decided_by == "person:li.na"
    assert decision.review is not None and decision.review.outcome is Outcome.REFER
    assert [r.code for r in decision.reasons] == ["PERSON_APPROVE", "PRICE_STALE"]
    assert decision.input_hash != referred.decision.input_hash
    assert world.relay().failed == ()
    assert _stored(world, referred.id).status is FinancingStatus.ACTIVE
    with pytest.raises(ConflictError, match="only referred requests"):
        financing.decide(uow_factory=world.uow, financing_id=referred.id, approve=False,
                         reason="no", person="li.na", as_of=later)  # fmt: skip


def test_a_person_cannot_approve_beyond_the_goods_value_or_a_pledged_receipt(
    credit_world: World,
) -> None:
    world = credit_world
    receipt_id = _receipt(world, tonnes=3)
    later = world.clock.today() + dt.timedelta(days=45)

    def ask(amount: int) -> GoodsFinancing:
        return receipts.pledge_receipt(
            uow_factory=world.uow, receipt_id=receipt_id, bank_id=world.id("bank"),
            amount=amount, actor_id=world.id("tier1"), as_of=later,
        )  # fmt: skip

    first, second = ask(10_000 * YUAN), ask(12_000 * YUAN)  # both referred: nothing pledged yet
    # the price falls meanwhile: 3 t × 4,000.00 less 30% = 8,400.00, under what was asked
    credit.set_price(uow_factory=world.uow, goods_code="REBAR-HRB400", price=4_000.0,
                     currency="CNY", as_of=later)  # fmt: skip
    with pytest.raises(ConflictError, match="GOODS_VALUE"):
        financing.decide(uow_factory=world.uow, financing_id=first.id, approve=True,
                         reason="known client", person="li.na", as_of=later)  # fmt: skip
    assert _stored(world, first.id).status is FinancingStatus.REFERRED  # nothing changed
    credit.set_price(uow_factory=world.uow, goods_code="REBAR-HRB400", price=6_200.0,
                     currency="CNY", as_of=later)  # fmt: skip
    financing.decide(uow_factory=world.uow, financing_id=first.id, approve=True,
                     reason="price back", person="li.na", as_of=later)  # fmt: skip
    with pytest.raises(ConflictError, match="already pledged"):
        financing.decide(uow_factory=world.uow, financing_id=second.id, approve=True,
                         reason="also", person="li.na", as_of=later)  # fmt: skip
    declined = financing.decide(uow_factory=world.uow, financing_id=second.id, approve=False,
                                reason="one pledge per receipt", person="li.na", as_of=later)  # fmt: skip
    assert declined.financing.status is FinancingStatus.DECLINED
    assert declined.financing.principal == 0
