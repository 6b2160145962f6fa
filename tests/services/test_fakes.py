"""The fake unit of work keeps the SQL store's contract: changes are seen after commit only,
a duplicate is a ConflictError, an update of nothing a NotFoundError, and every write is
journalled into the next queued op's undo log."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from fourflow.domain.debt import AssetType, Basis, DebtItem, Holding
from fourflow.domain.errors import ConflictError, NotFoundError
from fourflow.services import commands as cmd
from fourflow.services.ports import ChainOp
from tests.fakes import FakeUnitOfWorkFactory

ITEM = DebtItem(
    id="item-1", trade_id="trade-1", debtor_id="core", creditor_id="tier1", currency="CNY",
    face_value=1_000, issue_date=dt.date(2026, 6, 1), maturity_date=dt.date(2026, 9, 1),
    basis=Basis.VERIFIED, asset_type=AssetType.RECEIVABLE, report_hash="ab" * 32,
)  # fmt: skip
HOLDING = Holding("h-1", "item-1", "tier1", 1_000, 1_000)


def test_changes_are_seen_after_commit_only() -> None:
    factory = FakeUnitOfWorkFactory()
    with factory() as uow:
        uow.items.add(ITEM)
        with factory() as other:
            assert other.items.get(ITEM.id) is None
    with factory() as uow:
        assert uow.items.get(ITEM.id) is None  # left without commit: discarded
        uow.items.add(ITEM)
        uow.items.add_holding(HOLDING)
        uow.commit()
        uow.items.update_holding(replace(HOLDING, outstanding=1))
        uow.rollback()
        assert uow.items.get_holding(HOLDING.id) == HOLDING
        assert uow.items.lock_holding(HOLDING.id) == HOLDING
        assert uow.items.lock_item(ITEM.id) == ITEM
    with factory() as uow:
        assert uow.items.holdings(ITEM.id) == [HOLDING]
    with pytest.raises(RuntimeError, match="inside a 'with' block"):
        factory().commit()


def test_conflicts_and_missing_records_raise_as_in_the_sql_store() -> None:
    factory = FakeUnitOfWorkFactory()
    with factory() as uow:
        uow.items.add(ITEM)
        with pytest.raises(ConflictError, match="the item or its trade's item exists"):
            uow.items.add(replace(ITEM, id="item-2"))
        with pytest.raises(NotFoundError, match="holding h-9 does not exist"):
            uow.items.update_holding(replace(HOLDING, id="h-9"))
        with pytest.raises(ConflictError, match="debt item item-x is unknown"):
            uow.items.add_holding(replace(HOLDING, item_id="item-x"))
        op = ChainOp("op-1", cmd.Split("h-1", "h-2", 1), "tier1")
        uow.outbox.add(op)
        with pytest.raises(ConflictError, match="op-1 is already queued"):
            uow.outbox.add(op)


def test_writes_are_journalled_into_the_next_ops_undo_log() -> None:
    factory = FakeUnitOfWorkFactory()
    with factory() as uow:
        uow.items.add(ITEM)
        uow.items.add_holding(HOLDING)
        uow.outbox.add(ChainOp("op-issue", cmd.Split("h-1", "h-1", 1), "tier1"))
        uow.items.update_holding(replace(HOLDING, outstanding=600))
        uow.items.update_holding(replace(HOLDING, outstanding=500))
        uow.items.add_holding(Holding("h-2", "item-1", "tier1", 500, 500, parent_id="h-1"))
        uow.outbox.add(ChainOp("op-split", cmd.Split("h-1", "h-2", 500), "tier1"))
        uow.commit()
    with factory() as uow:
        first, second = uow.outbox.get("op-issue"), uow.outbox.get("op-split")
    assert first is not None and second is not None
    assert (first.undo.added_items, first.undo.added_holdings) == (("item-1",), ("h-1",))
    assert second.undo.holdings == (HOLDING,)  # the state before the first change only
    assert second.undo.added_holdings == ("h-2",)
    assert (first.seq or 0) < (second.seq or 0)
