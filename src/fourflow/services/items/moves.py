"""Moving value up the chain: split a holding, transfer part of it, merge two holdings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace

from fourflow.domain.debt import Holding
from fourflow.domain.documents import DocumentKind
from fourflow.domain.errors import ConflictError, DomainValueError, PermissionDeniedError
from fourflow.domain.financing import FinancingStatus
from fourflow.domain.transfers import InvoicePaidByTransfer
from fourflow.services import commands as cmd
from fourflow.services.common import (
    chain_address,
    get_holding,
    get_org,
    new_id,
)
from fourflow.services.items.common import open_item, queue
from fourflow.services.ports import UnitOfWork, UnitOfWorkFactory
from fourflow.services.verification import load_trade
from fourflow.verification.rules import open_receivable


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
    pays: Sequence[str] = (),
    as_of: dt.date | None = None,
) -> Holding:
    """Pass ``amount`` of a holding to another member (e.g. the holder's own supplier).

    ``pays`` names the recipient's invoices to the holder that the transfer pays: their open
    receivable falls by ``amount`` (recorded per invoice, ``InvoicePaidByTransfer``), and
    the paid receivable can no longer be financed. Refused (nothing changes) when a named
    invoice is not the recipient's to the holder, its receivable is financed, or the named
    invoices have less open than ``amount``.
    """
    if pays and as_of is None:
        raise DomainValueError("a transfer that pays invoices needs its business day (as_of)")
    with uow_factory() as uow:
        if to_org_id == actor_id:
            raise DomainValueError("cannot transfer a holding to its own holder")
        recipient = get_org(uow, to_org_id)
        holding = _movable(uow, holding_id, actor_id, amount)
        shares = _paid_shares(uow, pays, payer=actor_id, payee=recipient.id, amount=amount)
        child = _carve(uow, holding, amount, recipient.id)
        command = cmd.Transfer(holding.id, child.id, chain_address(recipient), amount)
        op = queue(uow, command, actor_id, holding.item_id)
        for trade_id, number, share in shares:
            uow.transfer_payments.add(InvoicePaidByTransfer(
                child.id, trade_id, number, share, actor_id, recipient.id,
                as_of or dt.date.min, op.op_id,
            ))  # fmt: skip
        uow.commit()
    return child


def _paid_shares(
    uow: UnitOfWork, numbers: Sequence[str], *, payer: str, payee: str, amount: int
) -> list[tuple[str, str, int]]:
    """(trade id, invoice number, minor units) the transfer pays of each named invoice."""
    if not numbers:
        return []
    shares: list[tuple[str, str, int]] = []
    left = amount
    open_by_trade: dict[str, int] = {}
    for number in dict.fromkeys(numbers):
        found = [
            s for s in uow.documents.by_number(DocumentKind.INVOICE, number)
            if s.trade_id is not None
        ]  # fmt: skip
        record = next(
            (r for s in found if (r := uow.trades.get(s.trade_id or "")) is not None
             and r.seller_id == payee and r.buyer_id == payer),
            None,
        )  # fmt: skip
        if record is None:
            raise DomainValueError(
                f"invoice {number} is not an invoice of {get_org(uow, payee).name} to "
                f"{get_org(uow, payer).name} in a trade on the platform"
            )
        item = uow.items.by_trade(record.id)
        if item is not None:
            live = [
                f for h in uow.items.holdings(item.id)
                if (f := uow.financings.by_holding(h.id)) is not None
                and f.status in (FinancingStatus.APPROVED, FinancingStatus.ACTIVE)
            ]  # fmt: skip
            if live:
                raise ConflictError(
                    f"invoice {number}'s receivable is financed by bank {live[0].bank_id} "
                    f"(financing {live[0].id}): it is paid to the bank, not by a transfer"
                )
        if record.id not in open_by_trade:
            receivable = open_receivable(load_trade(uow, record))
            before = sum(x.amount for x in uow.transfer_payments.for_trades([record.id]))
            open_by_trade[record.id] = (receivable.minor if receivable else 0) - before
        invoice = next(s.document for s in found if s.trade_id == record.id)
        total = invoice.total.minor if invoice.total is not None else 0
        take = min(left, total, open_by_trade[record.id])
        if take > 0:
            shares.append((record.id, number, take))
            open_by_trade[record.id] -= take
            left -= take
    if left > 0:
        raise DomainValueError(
            f"the named invoice(s) {', '.join(numbers)} have only {(amount - left) / 100:,.2f} "
            f"open; a transfer of {amount / 100:,.2f} would pay more than is owed"
        )
    return shares


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
