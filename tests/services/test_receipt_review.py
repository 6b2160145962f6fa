"""One review for every financing (issue 15): a warehouse-receipt pledge is reviewed against
the goods' value and the bank's limits, and once pledged it counts in those limits."""

from __future__ import annotations

import pytest

from fourflow.domain.financing import FinancingStatus, GoodsFinancing, Outcome
from fourflow.risk.review import ProductPolicy
from fourflow.services import credit, financing, receipts
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


def pledge(world: World, receipt_id: str, amount: int) -> GoodsFinancing:
    return receipts.pledge_receipt(
        uow_factory=world.uow, receipt_id=receipt_id, bank_id=world.id("bank"), amount=amount,
        actor_id=world.id("tier1"), as_of=world.clock.today(),
    )  # fmt: skip


def test_a_pledge_over_the_goods_value_is_declined_pledges_nothing_and_is_recorded(
    credit_world: World,
) -> None:
    world = credit_world
    receipt_id = _receipt(world)  # one tonne at 6,200.00 less 30%: 4,340.00
    with pytest.raises(receipts.PledgeDeclinedError, match="GOODS_VALUE") as refused:
        pledge(world, receipt_id, 5_000_000 * YUAN)
    (reason,) = refused.value.decision.reasons
    assert "CNY 4,340.00" in reason.message and "CNY 5,000,000.00" in reason.message
    declined = refused.value.financing
    assert declined.id in str(refused.value)
    with world.uow() as uow:
        assert uow.receipts.pledges(receipt_id) == []
        assert uow.goods_financings.get(declined.id) == declined
    assert declined.status is FinancingStatus.DECLINED and declined.pledge_op_id is None
    approved = pledge(world, receipt_id, 4_000 * YUAN)
    assert approved.status is FinancingStatus.APPROVED and approved.principal == 4_000 * YUAN
    decision = approved.decision
    assert decision is not None and decision.outcome is Outcome.APPROVE
    assert decision.value == 4_340 * YUAN
    assert decision.input_hash and len(decision.input_hash) == 64


def test_a_live_receipt_pledge_counts_in_the_banks_limits(credit_world: World) -> None:
    world = credit_world
    credit.set_policy(uow_factory=world.uow, policy=ProductPolicy(
        bank_id=world.id("bank"), limit_per_borrower=10_000 * YUAN,
    ))  # fmt: skip
    pledge(world, _receipt(world), 4_000 * YUAN)
    with world.uow() as uow:
        seen = credit.exposure(uow, world.id("bank"))
    assert seen.by_borrower[world.id("tier1")] == 4_000 * YUAN
    assert seen.by_scenario["warehouse_receipt"] == 4_000 * YUAN
    # the borrower's next request at that bank is stopped by its limit
    item = world.item()
    (holding,) = world.holdings(item.id)
    fin = financing.request_financing(
        uow_factory=world.uow, holding_id=holding.id, bank_id=world.id("bank"),
        amount=8_000 * YUAN, actor_id=world.id("tier1"), as_of=world.clock.today(),
        cold_start=no_cold_start,
    )  # fmt: skip
    assert fin.status is FinancingStatus.DECLINED and fin.decision is not None
    assert fin.decision.reasons[0].code == "LIMIT_BORROWER"
    assert "CNY 4,000.00 is outstanding" in fin.decision.reasons[0].message
    # and a second receipt over the limit is declined by it too
    with pytest.raises(receipts.PledgeDeclinedError, match="LIMIT_BORROWER"):
        pledge(world, _receipt(world, tonnes=5), 20_000 * YUAN)
