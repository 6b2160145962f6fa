"""The rules on an item's and a holding's state, as the domain records state them."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from fourflow.domain.debt import AssetType, Basis, DebtItem, Holding, ItemStatus, PledgeState
from fourflow.domain.errors import ConflictError, DomainValueError, PermissionDeniedError

ITEM = DebtItem(
    id="item-1", trade_id="trade-1", debtor_id="core", creditor_id="tier1", currency="CNY",
    face_value=1_000, issue_date=dt.date(2026, 6, 1), maturity_date=dt.date(2026, 9, 1),
    basis=Basis.VERIFIED, asset_type=AssetType.RECEIVABLE, report_hash="ab" * 32,
    status=ItemStatus.ACTIVE,
)  # fmt: skip
FREE = Holding("h-1", "item-1", "tier1", 1_000, 800)
PLEDGED = replace(FREE, pledge_bank_id="bank", pledge=PledgeState("bank", 500, 0, 400, 20_000))


def test_an_item_is_open_until_settled_and_refuses_changes_saying_why() -> None:
    assert ITEM.is_open
    ITEM.check_open()
    settled = replace(ITEM, status=ItemStatus.SETTLED, paid=1_000)
    assert not settled.is_open
    with pytest.raises(ConflictError, match="debt item item-1 is settled"):
        settled.check_open()
    with pytest.raises(ConflictError, match="debt item item-1 is cancelled"):
        ITEM.check_open(cancelled=True)
    with pytest.raises(ConflictError, match="debt item item-1 is disputed by its debtor"):
        ITEM.check_open(disputed=True)
    assert replace(ITEM, status=ItemStatus.DEFAULTED).is_open


def test_only_the_holder_moves_a_free_holding_within_its_outstanding() -> None:
    assert FREE.movable_by("tier1", 800) and FREE.pledgeable
    assert not FREE.movable_by("tier2", 1)
    with pytest.raises(PermissionDeniedError, match="holding h-1 is not held by tier2"):
        FREE.check_move("tier2", 1)
    with pytest.raises(DomainValueError, match="amount must be positive"):
        FREE.check_move("tier1", 0)
    with pytest.raises(DomainValueError, match="amount 801 exceeds the holding's outstanding 800"):
        FREE.check_move("tier1", 801)
    assert PLEDGED.locked and not PLEDGED.pledgeable and not PLEDGED.movable_by("tier1", 1)
    with pytest.raises(ConflictError, match="holding h-1 is pledged and locked"):
        PLEDGED.check_move("tier1", 1)
    released = replace(PLEDGED, pledge=replace(PLEDGED.pledge, principal=0))  # type: ignore[type-var]
    assert released.pledgeable and released.movable_by("tier1", 800)
    assert not replace(FREE, outstanding=0).pledgeable


def test_only_the_pledgor_buys_back_a_foreclosed_holding() -> None:
    foreclosed = replace(PLEDGED, holder_id="bank", acquired_from="tier1")
    assert foreclosed.foreclosed and not FREE.foreclosed and not PLEDGED.foreclosed
    foreclosed.check_buy_back("tier1")
    with pytest.raises(PermissionDeniedError, match="tier2 is not the pledgor of foreclosed"):
        foreclosed.check_buy_back("tier2")
    with pytest.raises(PermissionDeniedError, match="tier1 is not the pledgor"):
        PLEDGED.check_buy_back("tier1")
