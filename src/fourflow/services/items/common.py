"""What the item use cases share: queueing a chain command, an open item, hashes."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal

from fourflow.domain.debt import DebtItem
from fourflow.domain.errors import DomainValueError
from fourflow.domain.money import Money
from fourflow.services import commands as cmd
from fourflow.services.common import get_holding, get_item, is_disputed, new_id
from fourflow.services.ports import ChainOp, UnitOfWork, UnitOfWorkFactory

CONFIRMATION_VALIDITY = dt.timedelta(days=1)
DEFAULT_GRACE_DAYS = 5


def text_hash(text: str) -> str:
    """Hex SHA-256 of a text (dispute reasons, bank references) as the chain records it."""
    if not text.strip():
        raise DomainValueError("the text to record must not be empty")
    return hashlib.sha256(text.strip().encode("utf-8")).hexdigest()


def queue(uow: UnitOfWork, command: cmd.Command, sender: str, subject: str) -> ChainOp:
    """Queue a chain command in the caller's transaction and return its op."""
    op = ChainOp(new_id("op"), command, sender, subject_id=subject)
    uow.outbox.add(op)
    return op


def is_cancelled(uow: UnitOfWork, item_id: str) -> bool:
    """True once both creditor and debtor have approved the item's cancellation."""
    item = get_item(uow, item_id)
    parties = {a.party_id for a in uow.cancel_approvals.for_item(item_id)}
    return {item.creditor_id, item.debtor_id} <= parties


def open_item(uow: UnitOfWork, item_id: str, *, frozen_by_dispute: bool) -> DebtItem:
    """The item, refusing one settled, cancelled or (when it matters) disputed."""
    item = get_item(uow, item_id)
    item.check_open(
        cancelled=is_cancelled(uow, item_id),
        disputed=frozen_by_dispute and is_disputed(uow, item_id),
    )
    return item


def item_outstanding(uow: UnitOfWork, item_id: str) -> int:
    """What the debtor still owes: the sum of the holdings' outstanding (net of dilutions)."""
    return sum(h.outstanding for h in uow.items.holdings(item_id))


def amount_of(
    *,
    uow_factory: UnitOfWorkFactory,
    amount: str | Decimal,
    item_id: str | None = None,
    holding_id: str | None = None,
) -> Money:
    """``amount`` (a decimal) as money in the currency of the item, or of the holding's item;
    finer than the currency's minor unit is refused."""
    with uow_factory() as uow:
        if holding_id is not None:
            item_id = get_holding(uow, holding_id).item_id
        if item_id is None:
            raise DomainValueError("an amount needs the item or holding it is of")
        currency = get_item(uow, item_id).currency
    return Money.of(amount, currency)
