"""The fake unit of work keeps the SQL store's contract: changes are seen after commit only,
a duplicate is a ConflictError, an update of nothing a NotFoundError, and every write is
journalled into the next queued op's undo log."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest

from fourflow.adapters.crypto import envelope
from fourflow.adapters.crypto.keystore import EnvelopeKeyStore, MasterKeySource
from fourflow.domain.debt import AssetType, Basis, DebtItem, Holding
from fourflow.domain.errors import ConflictError, DomainValueError, NotFoundError
from fourflow.services import commands as cmd
from fourflow.services.ports import ChainOp, KeyStore
from tests.fakes import FakeKeyStore, FakeUnitOfWorkFactory

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


def _key_store_story(store: KeyStore) -> list[object]:
    """What a key store answers to one sequence: a kept key, a self-held key, refusals."""
    seen: list[object] = []
    kept = store.create("org-kept")
    own = "0x" + "ab" * 20
    seen += [store.holds_own_key("org-kept"), store.address("org-kept") == kept]
    seen.append(len(store.private_key("org-kept")))
    seen.append(store.hold_own("org-own", own))
    seen += [store.holds_own_key("org-own"), store.address("org-own")]
    for refused in (
        lambda: store.private_key("org-own"),  # the platform never signs for it
        lambda: store.hold_own("org-own", own),  # it has an account already
        lambda: store.hold_own("org-kept", own),
        lambda: store.create("org-own"),
        lambda: store.hold_own("org-bad", "0x12"),  # not an address
    ):
        with pytest.raises((ConflictError, DomainValueError)) as caught:
            refused()
        seen.append("conflict" if isinstance(caught.value, ConflictError) else "invalid")
    seen += [store.holds_own_key("org-bad"), store.address("org-bad")]
    with pytest.raises(NotFoundError):
        store.private_key("org-none")
    return seen


def test_the_fake_key_store_holds_own_keys_as_the_real_one(tmp_path: Path) -> None:
    master = tmp_path / "master.b64"
    envelope.write_key_file(master)
    real = EnvelopeKeyStore(
        tmp_path / "home", MasterKeySource(file=master, default_file=tmp_path / "unused")
    )
    real.open()
    story = _key_store_story(FakeKeyStore())
    assert story == _key_store_story(real)
    checksummed = "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB"  # EIP-55 of 0xabab...ab
    assert story == [
        False, True, 32, checksummed, True, checksummed,
        "conflict", "conflict", "conflict", "conflict", "invalid", False, None,
    ]  # fmt: skip
