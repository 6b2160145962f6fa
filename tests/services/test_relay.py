"""Relay compensation on the fakes: an op the chain refuses leaves the store as it was before
it was queued, together with every op queued after it on the same records."""

from __future__ import annotations

from typing import Any

from fourflow.domain.financing import FinancingStatus
from fourflow.services import financing, items, receipts
from fourflow.services.ports import OpKind, OpStatus
from tests.services.conftest import World, no_cold_start


def _business(world: World) -> dict[str, Any]:
    """The committed store without the outbox (whose rows record the refusal)."""
    return {k: v for k, v in world.uow.snapshot().items() if k != "outbox"}


def _statuses(world: World, subject: str) -> list[tuple[OpKind, OpStatus]]:
    with world.uow() as uow:
        return [(op.kind, op.status) for op in uow.outbox.for_subject(subject)]


def test_refused_split_and_the_transfer_built_on_it_change_nothing(world: World) -> None:
    item = world.item()
    (root,) = world.holdings(item.id)
    before = _business(world)
    world.ledger.refuse(OpKind.SPLIT, "DebtItem: holding is frozen")
    part = items.split(
        uow_factory=world.uow, holding_id=root.id, amount=2_000_000, actor_id=world.id("tier1")
    )
    items.transfer(
        uow_factory=world.uow, holding_id=part.id, amount=500_000, to_org_id=world.id("tier2"),
        actor_id=world.id("tier1"),
    )  # fmt: skip
    assert _business(world) != before
    result = world.relay()
    reasons = dict(result.failed)
    assert len(reasons) == 2 and result.applied == 0
    (split_op, transfer_op) = [op_id for op_id, _ in result.failed]
    assert reasons[split_op] == "DebtItem: holding is frozen"
    assert reasons[transfer_op] == (
        f"not applied: it depends on {split_op}, which the chain refused"
    )
    assert _business(world) == before
    assert world.holdings(item.id) == [root]
    assert _statuses(world, item.id)[-2:] == [
        (OpKind.SPLIT, OpStatus.REFUSED), (OpKind.TRANSFER, OpStatus.REFUSED)
    ]  # fmt: skip
    assert OpKind.TRANSFER not in world.ledger.kinds()


def test_an_unrelated_op_queued_after_a_refusal_still_applies(world: World) -> None:
    refused_item, other_item = world.item(), world.item()
    (a,) = world.holdings(refused_item.id)
    (b,) = world.holdings(other_item.id)
    world.ledger.refuse(OpKind.SPLIT, "DebtItem: paused")
    items.split(uow_factory=world.uow, holding_id=a.id, amount=1_000, actor_id=world.id("tier1"))
    moved = items.transfer(
        uow_factory=world.uow, holding_id=b.id, amount=1_000, to_org_id=world.id("tier2"),
        actor_id=world.id("tier1"),
    )  # fmt: skip
    result = world.relay()
    assert [r for _, r in result.failed] == ["DebtItem: paused"] and result.applied == 1
    assert world.holdings(refused_item.id) == [a]
    assert moved in world.holdings(other_item.id)


def test_refused_payment_is_undone(credit_world: World) -> None:
    world = credit_world
    item = world.item()
    before = _business(world)
    world.ledger.refuse(OpKind.REPAY, "DebtItem: value day after today")
    items.pay(
        uow_factory=world.uow, ledger=world.ledger, item_id=item.id, amount=1_000_000,
        value_date=world.clock.today(), reference="PAY-1", payer_id=world.id("core"),
        method="debtor",
    )  # fmt: skip
    with world.uow() as uow:
        assert uow.items.get(item.id).paid == 1_000_000  # type: ignore[union-attr]
    assert world.relay().failed[0][1] == "DebtItem: value day after today"
    assert _business(world) == before
    with world.uow() as uow:
        assert uow.repayments.for_item(item.id) == []
        assert uow.items.get(item.id).paid == 0  # type: ignore[union-attr]


def test_refused_pledge_leaves_the_financing_failed_and_the_holding_free(
    credit_world: World,
) -> None:
    world = credit_world
    item = world.item()
    (holding,) = world.holdings(item.id)
    world.ledger.refuse(OpKind.PLEDGE, "DebtItem: holding is disputed")
    fin = financing.request_financing(
        uow_factory=world.uow, holding_id=holding.id, bank_id=world.id("bank"),
        amount=5_000_000, actor_id=world.id("tier1"), as_of=world.clock.today(),
        cold_start=no_cold_start,
    )  # fmt: skip
    assert fin.status is FinancingStatus.APPROVED
    # The holder's offer is refused; the bank's acceptance built on it fails with it.
    refused, accept = [r for _, r in world.relay().failed]
    assert refused == "DebtItem: holding is disputed" and "depends on" in accept
    with world.uow() as uow:
        after = uow.financings.get(fin.id)
        free = uow.items.get_holding(holding.id)
    assert after is not None and after.status is FinancingStatus.FAILED
    assert free == holding and not free.locked
    world.ledger.allow(OpKind.PLEDGE)
    again = financing.request_financing(
        uow_factory=world.uow, holding_id=holding.id, bank_id=world.id("bank"),
        amount=5_000_000, actor_id=world.id("tier1"), as_of=world.clock.today(),
        cold_start=no_cold_start,
    )  # fmt: skip
    assert again.status is FinancingStatus.APPROVED and world.relay().failed == ()


def test_refused_facts_are_forgotten(world: World) -> None:
    item = world.item()
    before = _business(world)
    world.ledger.refuse(OpKind.DISPUTE, "DebtItem: not the debtor")
    world.ledger.refuse(OpKind.RECEIPT_ISSUE, "WarehouseReceipt: not a warehouse")
    items.dispute_item(
        uow_factory=world.uow, item_id=item.id, reason="short", actor_id=world.id("core"),
        on=world.clock.today(),
    )  # fmt: skip
    receipt_id = receipts.issue_receipt(
        uow_factory=world.uow, warehouse_id=world.id("warehouse"), holder_id=world.id("tier1"),
        goods_code="G", description="goods", quantity=5, unit="EA", location="L", evidence="e",
    )  # fmt: skip
    assert len(world.relay().failed) == 2
    assert _business(world) == before
    view = items.describe_item(uow_factory=world.uow, item_id=item.id)
    assert view["disputed"] is False
    with world.uow() as uow:
        assert uow.receipts.get(receipt_id) is None
        assert uow.items.disputes() == {}


def test_a_financing_on_a_refused_part_moves_to_its_parent_or_goes(credit_world: World) -> None:
    """Financings asked on parts whose split or transfer the chain refused: never left on a
    holding the undo removes. The holder's own part: kept, failed, on the holding it was split
    off; a part passed to another member: the request on it goes (the parties are told, as the
    integration tests check on SQLite and PostgreSQL)."""
    world = credit_world
    item = world.item()
    (root,) = world.holdings(item.id)
    tier1, tier2, bank = world.id("tier1"), world.id("tier2"), world.id("bank")
    world.ledger.refuse(OpKind.SPLIT, "DebtItem: holding is frozen")
    world.ledger.refuse(OpKind.TRANSFER, "DebtItem: recipient is not a member")
    part = items.split(uow_factory=world.uow, holding_id=root.id, amount=2_000_000, actor_id=tier1)
    passed = items.transfer(
        uow_factory=world.uow, holding_id=root.id, amount=2_000_000, to_org_id=tier2,
        actor_id=tier1,
    )  # fmt: skip
    asked = []
    for h in (part, passed):
        fin = financing.request_financing(
            uow_factory=world.uow, holding_id=h.id, bank_id=bank, amount=1_000_000,
            actor_id=h.holder_id, as_of=world.clock.today(), cold_start=no_cold_start,
        )  # fmt: skip
        asked.append(fin)
    assert [f.status for f in asked] == [FinancingStatus.APPROVED] * 2
    result = world.relay()
    assert len(result.failed) == 6  # the split, the transfer, 2 x (offer, acceptance)
    assert world.holdings(item.id) == [root]
    with world.uow() as uow:
        on_part, on_passed = (uow.financings.get(f.id) for f in asked)
    assert on_part is not None and on_part.status is FinancingStatus.FAILED
    assert on_part.holding_id == root.id and on_part.decision == asked[0].decision
    assert on_passed is None
