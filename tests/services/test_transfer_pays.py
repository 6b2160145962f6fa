"""A receivable passed as payment pays something (issue 15): tier 1 passes a share of the core
enterprise's receivable to tier 2 naming tier 2's invoice; that invoice's open receivable falls,
its own item is issued net of it and cannot be financed; a financed receivable is not paid by
a transfer; a refused transfer changes nothing."""

from __future__ import annotations

import pytest

from fourflow.domain.debt import Holding
from fourflow.domain.documents import DocumentKind
from fourflow.domain.errors import ConflictError, DomainValueError
from fourflow.domain.financing import FinancingStatus
from fourflow.services import financing, items
from tests.services.conftest import World, no_cold_start

YUAN = 100


def invoice_of(world: World, trade_id: str) -> str:
    with world.uow() as uow:
        record = uow.trades.get(trade_id)
        assert record is not None
        docs = [uow.documents.get(d) for d in record.document_ids]
    (number,) = [s.document.number for s in docs if s and s.document.kind is DocumentKind.INVOICE]
    return number


def test_a_transfer_names_the_invoice_it_pays_and_that_receivable_falls(
    credit_world: World,
) -> None:
    world = credit_world
    core_item = world.item()  # tier 1 holds the core enterprise's receivable, 113,000.00
    (share,) = world.holdings(core_item.id)
    supply = world.trade(seller="tier2", buyer="tier1")  # tier 2's sale to tier 1
    number = invoice_of(world, supply)
    today = world.clock.today()

    def transfer(amount: int, pays: list[str]) -> Holding:
        return items.transfer(uow_factory=world.uow, holding_id=share.id, amount=amount,
                              to_org_id=world.id("tier2"), actor_id=world.id("tier1"),
                              pays=pays, as_of=today)  # fmt: skip

    # refused, nothing changes: an invoice that is not tier 2's to tier 1, more than is open
    other = invoice_of(world, world.trade(seller="tier2", buyer="core"))
    with pytest.raises(DomainValueError, match=f"invoice {other} is not an invoice of"):
        transfer(10_000 * YUAN, [other])
    assert [h.amount for h in world.holdings(core_item.id)] == [share.amount]

    passed = transfer(50_000 * YUAN, [number])
    assert not world.relay().failed
    # 63,000.00 is left open on the invoice: 70,000.00 of another share pays too much
    (second,) = world.holdings(world.item().id)
    with pytest.raises(DomainValueError, match=r"have only 63,000\.00 open"):
        items.transfer(uow_factory=world.uow, holding_id=second.id, amount=70_000 * YUAN,
                       to_org_id=world.id("tier2"), actor_id=world.id("tier1"), pays=[number],
                       as_of=today)  # fmt: skip
    with world.uow() as uow:
        (paid,) = uow.transfer_payments.for_trades([supply])
    assert (paid.holding_id, paid.invoice_number, paid.amount) == (passed.id, number,
                                                                   50_000 * YUAN)  # fmt: skip
    # tier 2's receivable on tier 1 is issued net of what the passed share paid
    supply_item = items.issue_item(uow_factory=world.uow, ledger=world.ledger,
                                   clock=world.clock, trade_id=supply, as_of=today,
                                   confirm=False)  # fmt: skip
    assert supply_item.face_value == (113_000 - 50_000) * YUAN
    assert not world.relay().failed
    # the paid receivable cannot be financed; the passed share can
    (supply_holding,) = world.holdings(supply_item.id)
    declined = financing.request_financing(
        uow_factory=world.uow, holding_id=supply_holding.id, bank_id=world.id("bank2"),
        amount=10_000 * YUAN, actor_id=world.id("tier2"), as_of=today, cold_start=no_cold_start,
    )  # fmt: skip
    assert declined.status is FinancingStatus.DECLINED and declined.decision is not None
    assert declined.decision.reasons[0].code == "PAID_BY_TRANSFER"
    assert "CNY 50,000.00" in declined.decision.reasons[0].message
    approved = financing.request_financing(
        uow_factory=world.uow, holding_id=passed.id, bank_id=world.id("bank"),
        amount=10_000 * YUAN, actor_id=world.id("tier2"), as_of=today, cold_start=no_cold_start,
    )  # fmt: skip
    assert approved.status is FinancingStatus.APPROVED, approved.decision


def test_a_financed_receivable_is_not_paid_by_a_transfer(credit_world: World) -> None:
    world = credit_world
    core_item = world.item()
    (share,) = world.holdings(core_item.id)
    supply_item = world.item(seller="tier2", buyer="tier1")
    (supply_holding,) = world.holdings(supply_item.id)
    today = world.clock.today()
    fin = financing.request_financing(
        uow_factory=world.uow, holding_id=supply_holding.id, bank_id=world.id("bank"),
        amount=10_000 * YUAN, actor_id=world.id("tier2"), as_of=today, cold_start=no_cold_start,
    )  # fmt: skip
    assert fin.status is FinancingStatus.APPROVED
    with pytest.raises(ConflictError, match="is financed by bank"):
        items.transfer(uow_factory=world.uow, holding_id=share.id, amount=10_000 * YUAN,
                       to_org_id=world.id("tier2"), actor_id=world.id("tier1"),
                       pays=[invoice_of(world, supply_item.trade_id)], as_of=today)  # fmt: skip
    with world.uow() as uow:
        assert uow.transfer_payments.for_trades([supply_item.trade_id]) == []
