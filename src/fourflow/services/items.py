"""Debt items: issue one for a verified trade's receivable, split it, pass it up the chain."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import replace

from fourflow.domain.debt import AssetType, Basis, DebtItem, Holding, ItemStatus, day_number
from fourflow.domain.documents import DocumentKind
from fourflow.domain.errors import ConflictError, DomainValueError, PermissionDeniedError
from fourflow.domain.findings import VerificationStatus
from fourflow.services.common import (
    canonical_json,
    chain_address,
    get_holding,
    get_item,
    get_org,
    get_trade,
    new_id,
)
from fourflow.services.ports import ChainOp, Clock, Ledger, OpKind, UnitOfWork, UnitOfWorkFactory
from fourflow.services.verification import load_trade
from fourflow.verification.rules import open_receivable

DEFAULT_MAX_TENOR_DAYS = 365
CONFIRMATION_VALIDITY = dt.timedelta(days=1)


class IssuanceRefusedError(ConflictError):
    """A debt item cannot be issued for the trade; ``reasons`` says why."""

    def __init__(self, trade_id: str, reasons: list[str]) -> None:
        self.trade_id = trade_id
        self.reasons = reasons
        super().__init__(f"trade {trade_id}: no debt item can be issued: " + "; ".join(reasons))


def _trade_hash(uow: UnitOfWork, document_ids: tuple[str, ...]) -> str:
    fingerprints = []
    for doc_id in document_ids:
        stored = uow.documents.get(doc_id)
        if stored is not None:
            fingerprints.append(stored.fingerprint)
    return hashlib.sha256(canonical_json(sorted(fingerprints))).hexdigest()


def issue_item(
    *,
    uow_factory: UnitOfWorkFactory,
    ledger: Ledger,
    clock: Clock,
    trade_id: str,
    as_of: dt.date,
    confirm: bool,
    asset_type: AssetType = AssetType.RECEIVABLE,
    max_tenor_days: int = DEFAULT_MAX_TENOR_DAYS,
) -> DebtItem:
    """Issue the digital debt item for a verified trade's open receivable.

    With ``confirm`` the debtor signs an EIP-712 confirmation of the payable (basis
    ``confirmed``); without it the item rests on the verified four flows (basis ``verified``).
    """
    with uow_factory() as uow:
        record = get_trade(uow, trade_id)
        reasons: list[str] = []
        if record.report is None or record.report_hash is None:
            raise IssuanceRefusedError(trade_id, ["the trade has not been verified"])
        if record.report.status is VerificationStatus.FAILED:
            reasons.extend(
                f"{f.code}: {f.message}" for f in record.report.findings if f.severity == "error"
            )
            raise IssuanceRefusedError(trade_id, reasons or ["verification failed"])
        if uow.items.by_trade(trade_id) is not None:
            raise ConflictError(f"trade {trade_id} already has a debt item")
        trade = load_trade(uow, record)
        receivable = open_receivable(trade)
        if receivable is None or receivable.amount <= 0:
            raise IssuanceRefusedError(trade_id, ["nothing is owed on the trade"])
        due_dates = [d.due_date for d in trade.of_kind(DocumentKind.INVOICE) if d.due_date]
        if not due_dates:
            raise IssuanceRefusedError(trade_id, ["no invoice states a due date"])
        maturity = max(due_dates)
        if maturity <= as_of:
            raise IssuanceRefusedError(trade_id, [f"the receivable fell due on {maturity}"])
        if (maturity - as_of).days > max_tenor_days:
            raise IssuanceRefusedError(
                trade_id, [f"tenor {(maturity - as_of).days} days exceeds {max_tenor_days}"]
            )
        creditor = get_org(uow, record.seller_id)
        debtor = get_org(uow, record.buyer_id)
        item = DebtItem(
            id=new_id("item"),
            trade_id=trade_id,
            debtor_id=debtor.id,
            creditor_id=creditor.id,
            currency=receivable.currency,
            face_value=receivable.minor,
            issue_date=as_of,
            maturity_date=maturity,
            basis=Basis.CONFIRMED if confirm else Basis.VERIFIED,
            asset_type=asset_type,
            report_hash=record.report_hash,
        )
        holding = Holding(
            id=new_id("holding"),
            item_id=item.id,
            holder_id=creditor.id,
            amount=item.face_value,
            outstanding=item.face_value,
        )
        params: dict[str, object] = {
            "item_id": item.id,
            "holding_id": holding.id,
            "debtor_address": chain_address(debtor),
            "creditor_address": chain_address(creditor),
            "currency": item.currency,
            "face_value": item.face_value,
            "issue_day": day_number(as_of),
            "maturity_day": day_number(maturity),
            "asset_type": int(asset_type),
            "trade_hash": _trade_hash(uow, record.document_ids),
            "report_hash": record.report_hash,
        }
        if confirm:
            deadline = int((clock.now() + CONFIRMATION_VALIDITY).timestamp())
            params["confirmation"] = dict(ledger.sign_confirmation(debtor.id, params, deadline))
        uow.items.add(item)
        uow.items.add_holding(holding)
        uow.outbox.add(
            ChainOp(new_id("op"), OpKind.ISSUE_ITEM, creditor.id, params, subject_id=item.id)
        )
        uow.commit()
    return item


def _movable(uow: UnitOfWork, holding_id: str, actor_id: str, amount: int) -> Holding:
    holding = get_holding(uow, holding_id)
    if holding.holder_id != actor_id:
        raise PermissionDeniedError(f"holding {holding_id} is not held by {actor_id}")
    if holding.locked:
        raise ConflictError(f"holding {holding_id} is pledged and locked")
    if amount <= 0:
        raise DomainValueError("amount must be positive")
    if amount > holding.outstanding:
        raise DomainValueError(
            f"amount {amount} exceeds the holding's outstanding {holding.outstanding}"
        )
    item = get_item(uow, holding.item_id)
    if item.status is ItemStatus.SETTLED:
        raise ConflictError(f"debt item {item.id} is settled")
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
        uow.outbox.add(
            ChainOp(
                new_id("op"),
                OpKind.SPLIT,
                actor_id,
                {"holding_id": holding.id, "new_holding_id": child.id, "amount": amount},
                subject_id=holding.item_id,
            )
        )
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
        uow.outbox.add(
            ChainOp(
                new_id("op"),
                OpKind.TRANSFER,
                actor_id,
                {
                    "holding_id": holding.id,
                    "new_holding_id": child.id,
                    "to_address": chain_address(recipient),
                    "amount": amount,
                },
                subject_id=holding.item_id,
            )
        )
        uow.commit()
    return child
