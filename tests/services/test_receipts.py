"""Warehouse receipts on the fakes: issue, pledge, sell, pay, release (pledge and goods)."""

from __future__ import annotations

import pytest

from fourflow.domain.errors import ConflictError, DomainValueError, PermissionDeniedError
from fourflow.domain.receipts import PledgeAction, SaleAction
from fourflow.services import credit, receipts
from fourflow.services.ports import OpKind
from tests.services.conftest import World


def _issue(world: World, quantity: int = 100) -> str:
    # a pledge is reviewed against the goods' value (issue 15): the copper price feed first
    credit.set_price(
        uow_factory=world.uow, goods_code="COPPER-CATHODE", price=68_000.0, currency="CNY",
        as_of=world.clock.today(),
    )  # fmt: skip
    return receipts.issue_receipt(
        uow_factory=world.uow, warehouse_id=world.id("warehouse"), holder_id=world.id("tier1"),
        goods_code="COPPER-CATHODE", description="电解铜 99.99%", quantity=quantity, unit="TNE",
        location="SZ-B3-07", evidence="urn:epcis:receiving:1",
    )  # fmt: skip


def test_issue_pledge_release_and_goods_out(world: World) -> None:
    with pytest.raises(PermissionDeniedError, match="is not a warehouse"):
        receipts.issue_receipt(
            uow_factory=world.uow, warehouse_id=world.id("tier2"), holder_id=world.id("tier1"),
            goods_code="X", description="x", quantity=1, unit="EA", location="L", evidence="e",
        )  # fmt: skip
    receipt_id = _issue(world)
    receipts.pledge_receipt(
        uow_factory=world.uow, receipt_id=receipt_id, bank_id=world.id("bank"),
        amount=30_000_000, actor_id=world.id("tier1"),
    )  # fmt: skip
    with pytest.raises(DomainValueError, match="is not a bank"):
        receipts.pledge_receipt(
            uow_factory=world.uow, receipt_id=receipt_id, bank_id=world.id("tier2"),
            amount=1, actor_id=world.id("tier1"),
        )  # fmt: skip
    assert world.relay().failed == ()
    assert world.ledger.read("receipt", receipt_id)["pledgee"] == world.org["bank"].chain_address

    receipts.release_receipt_pledge(
        uow_factory=world.uow, receipt_id=receipt_id, actor_id=world.id("bank")
    )
    with pytest.raises(PermissionDeniedError, match="only the issuing warehouse"):
        receipts.confirm_release(
            uow_factory=world.uow, receipt_id=receipt_id, quantity=40, evidence="ship-1",
            actor_id=world.id("tier1"),
        )  # fmt: skip
    receipts.request_release(
        uow_factory=world.uow, receipt_id=receipt_id, quantity=40, actor_id=world.id("tier1")
    )
    receipts.confirm_release(
        uow_factory=world.uow, receipt_id=receipt_id, quantity=40, evidence="urn:epcis:ship:1",
        actor_id=world.id("warehouse"),
    )  # fmt: skip
    assert world.relay().failed == ()
    with world.uow() as uow:
        pledges = uow.receipts.pledges(receipt_id)
        (release,) = uow.receipts.releases(receipt_id)
    assert [p.action for p in pledges] == [PledgeAction.PLEDGED, PledgeAction.RELEASED]
    assert pledges[0].amount == 30_000_000 and release.quantity == 40
    state = world.ledger.read("receipt", receipt_id)
    assert (state["pledgee"], state["released"]) == (None, 40)

    credit.set_price(
        uow_factory=world.uow, goods_code="COPPER-CATHODE", price=70_000.0, currency="CNY",
        as_of=world.clock.today(),
    )  # fmt: skip
    valuation, price = credit.value_receipt(
        uow_factory=world.uow, ledger=world.ledger, receipt_id=receipt_id
    )
    assert price.price == 70_000.0 and valuation.quantity == 60
    assert valuation.market_value == pytest.approx(60 * 70_000.0)


def test_sale_is_paid_by_the_buyer_only(world: World) -> None:
    receipt_id = _issue(world)
    with pytest.raises(DomainValueError, match="its own holder"):
        receipts.sell_receipt(
            uow_factory=world.uow, receipt_id=receipt_id, buyer_id=world.id("tier1"),
            quantity=10, price=1, actor_id=world.id("tier1"),
        )  # fmt: skip
    sale_id, buyer_receipt = receipts.sell_receipt(
        uow_factory=world.uow, receipt_id=receipt_id, buyer_id=world.id("tier2"), quantity=25,
        price=175_000_000, actor_id=world.id("tier1"),
    )  # fmt: skip
    with pytest.raises(PermissionDeniedError, match=f"only the buyer pays sale {sale_id}"):
        receipts.pay_for_receipt(
            uow_factory=world.uow, receipt_id=receipt_id, sale_id=sale_id, amount=1,
            actor_id=world.id("core"),
        )  # fmt: skip
    with pytest.raises(ConflictError, match=f"no sale {sale_id} of receipt wr-other"):
        receipts.pay_for_receipt(
            uow_factory=world.uow, receipt_id="wr-other", sale_id=sale_id, amount=1,
            actor_id=world.id("tier2"),
        )  # fmt: skip
    receipts.pay_for_receipt(
        uow_factory=world.uow, receipt_id=receipt_id, sale_id=sale_id, amount=100_000_000,
        actor_id=world.id("tier2"),
    )  # fmt: skip
    assert world.relay().failed == ()
    with world.uow() as uow:
        sale = uow.receipts.sale_into(buyer_receipt)
        (paid,) = uow.receipts.sale_events(sale_id)
    assert sale is not None and (sale.quantity, sale.price) == (25, 175_000_000)
    assert (paid.action, paid.amount) == (SaleAction.PAID, 100_000_000)
    assert world.ledger.kinds()[-3:] == [
        OpKind.RECEIPT_ISSUE, OpKind.RECEIPT_OFFER, OpKind.RECEIPT_PAY
    ]  # fmt: skip
    view = receipts.describe_receipt(
        uow_factory=world.uow, ledger=world.ledger, receipt_id=receipt_id
    )
    assert [h["op"] for h in view["history"]] == ["receipt_issue", "receipt_offer", "receipt_pay"]
    assert view["chain"]["holder"] == world.org["tier1"].name


def test_a_receipt_is_pledged_once(world: World) -> None:
    receipt_id = _issue(world)
    receipts.pledge_receipt(
        uow_factory=world.uow, receipt_id=receipt_id, bank_id=world.id("bank"),
        amount=30_000_000, actor_id=world.id("tier1"),
    )  # fmt: skip
    with pytest.raises(ConflictError, match="already pledged to"):
        receipts.pledge_receipt(
            uow_factory=world.uow, receipt_id=receipt_id, bank_id=world.id("bank"),
            amount=1_000, actor_id=world.id("tier1"),
        )  # fmt: skip
    with world.uow() as uow:
        assert [p.action for p in uow.receipts.pledges(receipt_id)] == [PledgeAction.PLEDGED]


def test_a_receipt_pledge_is_the_holders_offer_and_the_banks_acceptance(world: World) -> None:
    """An approved pledge queues the holder's offer and then the bank's own acceptance (signed
    by the bank, at the approved amount); if the chain refuses the acceptance, the receipt is
    unpledged in the store and the goods financing failed."""
    receipt_id = _issue(world)
    fin = receipts.pledge_receipt(
        uow_factory=world.uow, receipt_id=receipt_id, bank_id=world.id("bank"),
        amount=30_000_000, actor_id=world.id("tier1"),
    )  # fmt: skip
    with world.uow() as uow:
        ops = uow.outbox.for_subject(receipt_id)
    offer, accept = (o for o in ops if o.kind in (OpKind.RECEIPT_PLEDGE,
                                                 OpKind.RECEIPT_ACCEPT_PLEDGE))  # fmt: skip
    assert (offer.kind, offer.sender_org_id) == (OpKind.RECEIPT_PLEDGE, world.id("tier1"))
    assert (accept.kind, accept.sender_org_id) == (OpKind.RECEIPT_ACCEPT_PLEDGE, world.id("bank"))
    assert accept.command.amount == 30_000_000 and accept.command.offer_op_id == offer.op_id  # type: ignore[union-attr]

    world.ledger.refuse(OpKind.RECEIPT_ACCEPT_PLEDGE, "warehouse_receipt: holder changed")
    failed = world.relay().failed
    assert [op_id for op_id, _ in failed] == [accept.op_id]
    with world.uow() as uow:
        assert uow.receipts.pledges(receipt_id) == []
        (stored,) = uow.goods_financings.for_receipt(receipt_id)
    assert stored.id == fin.id and stored.status.value == "failed"
    # Nothing is pledged: the holder may offer again, and this time the bank accepts.
    world.ledger.allow(OpKind.RECEIPT_ACCEPT_PLEDGE)
    receipts.pledge_receipt(
        uow_factory=world.uow, receipt_id=receipt_id, bank_id=world.id("bank"),
        amount=30_000_000, actor_id=world.id("tier1"),
    )  # fmt: skip
    assert world.relay().failed == ()
    with world.uow() as uow:
        (pledged,) = uow.receipts.pledges(receipt_id)
    assert pledged.action is PledgeAction.PLEDGED and pledged.bank_id == world.id("bank")
