"""Moving value up the chain: split a holding, transfer part of it, merge two holdings."""

from __future__ import annotations

from dataclasses import replace

from fourflow.domain.debt import Holding
from fourflow.domain.errors import ConflictError, DomainValueError, PermissionDeniedError
from fourflow.services import commands as cmd
from fourflow.services.common import (
    chain_address,
    get_holding,
    get_org,
    new_id,
)
from fourflow.services.items.common import open_item, queue
from fourflow.services.ports import UnitOfWork, UnitOfWorkFactory


def _movable(uow: UnitOfWork, holding_id: str, actor_id: str, amount: int) -> Holding:
    uow.items.lock_holding(holding_id)  # one split or transfer of a holding at a time
    holding = get_holding(uow, holding_id)
    holding.check_move(actor_id, amount)
    # Settled, cancelled or disputed: the chain refuses it too, so say so before queueing.
    open_item(uow, holding.item_id, frozen_by_dispute=True)
    return holding


def _carve(uow: UnitOfWork, holding: Holding, amount: int, new_holder: str) -> Holding:
    uow.items.update_holding(
        replace(holding, amount=holding.amount - amount, outstanding=holding.outstanding - amount)
    )
    child = Holding(
        id=new_id("holding"),
        item_id=holding.item_id,
        holder_id=new_holder,
        amount=amount,
        outstanding=amount,
        parent_id=holding.id,
        acquired_from=holding.holder_id if new_holder != holding.holder_id else None,
    )
    uow.items.add_holding(child)
    return child


def split(
    *, uow_factory: UnitOfWorkFactory, holding_id: str, amount: int, actor_id: str
) -> Holding:
    """Split ``amount`` (minor units) off a holding into a new holding of the same holder."""
    with uow_factory() as uow:
        holding = _movable(uow, holding_id, actor_id, amount)
        child = _carve(uow, holding, amount, holding.holder_id)
        queue(uow, cmd.Split(holding.id, child.id, amount), actor_id, holding.item_id)
        uow.commit()
    return child


def transfer(
    *,
    uow_factory: UnitOfWorkFactory,
    holding_id: str,
    amount: int,
    to_org_id: str,
    actor_id: str,
) -> Holding:
    """Pass ``amount`` of a holding to another member (e.g. the holder's own supplier)."""
    with uow_factory() as uow:
        if to_org_id == actor_id:
            raise DomainValueError("cannot transfer a holding to its own holder")
        recipient = get_org(uow, to_org_id)
        holding = _movable(uow, holding_id, actor_id, amount)
        child = _carve(uow, holding, amount, recipient.id)
        command = cmd.Transfer(holding.id, child.id, chain_address(recipient), amount)
        queue(uow, command, actor_id, holding.item_id)
        uow.commit()
    return child


def merge(
    *, uow_factory: UnitOfWorkFactory, holding_id: str, other_holding_id: str, actor_id: str
) -> Holding:
    """Merge another holding of the same item and holder into ``holding_id``."""
    with uow_factory() as uow:
        if holding_id == other_holding_id:
            raise DomainValueError("cannot merge a holding with itself")
        into = get_holding(uow, holding_id)
        other = get_holding(uow, other_holding_id)
        for h in (into, other):
            if h.holder_id != actor_id:
                raise PermissionDeniedError(f"holding {h.id} is not held by {actor_id}")
            if h.locked:
                raise ConflictError(f"holding {h.id} is pledged and locked")
        if into.item_id != other.item_id:
            raise DomainValueError("the holdings belong to different debt items")
        if other.outstanding == 0:
            raise DomainValueError(f"holding {other.id} has nothing outstanding to merge")
        open_item(uow, into.item_id, frozen_by_dispute=True)
        merged = replace(
            into,
            amount=into.amount + other.amount,
            outstanding=into.outstanding + other.outstanding,
        )
        uow.items.update_holding(merged)
        uow.items.update_holding(replace(other, amount=0, outstanding=0))
        queue(uow, cmd.Merge(into.id, other.id), actor_id, into.item_id)
        uow.commit()
    return merged
