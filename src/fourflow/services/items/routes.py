"""The debtor's locked repayment route (issue 20): queued with the debtor's confirmation of an
item (at issuance or later) or by ``settlement.lock_route``; ``settlement`` changes it and
settles through it."""

from __future__ import annotations

from fourflow.domain.debt import DebtItem
from fourflow.domain.errors import ConflictError, DomainValueError
from fourflow.domain.parties import Organisation
from fourflow.domain.settlement import RouteAction, RouteEvent, RouteKind
from fourflow.services import commands as cmd
from fourflow.services.accounts import BIN_DIGITS, item_account_bank, registered_account
from fourflow.services.common import get_org
from fourflow.services.items.common import item_outstanding, queue, text_hash
from fourflow.services.ports import UnitOfWork

ZERO_HASH = "00" * 32


def current_route(uow: UnitOfWork, item_id: str) -> RouteEvent | None:
    """The item's route as last locked or changed (None when the debtor never locked one)."""
    events = uow.settlement.routes(item_id)
    return events[-1] if events else None


def _token_allowance(uow: UnitOfWork, debtor_id: str, plus: DebtItem | None) -> int:
    """What the debtor's token routes may still collect: the outstanding of every item of the
    debtor on a token route (and ``plus``), the standing approval DebtItem needs."""
    total = 0
    for item_id, route in uow.settlement.routed_items().items():
        if route.kind is RouteKind.TOKENS and (plus is None or item_id != plus.id):
            item = uow.items.get(item_id)
            if item is not None and item.debtor_id == debtor_id:
                total += item_outstanding(uow, item_id)
    if plus is not None:
        total += item_outstanding(uow, plus.id)
    return total


def default_route(uow: UnitOfWork, debtor_id: str) -> tuple[RouteKind, str | None]:
    """The route an item is locked on when its debtor names none: the collection account
    (回款专户) at the debtor's account bank (its registered settlement account, else its first
    account), or settlement tokens for a debtor with no account."""
    registered = registered_account(uow, debtor_id)
    if registered is not None:
        return RouteKind.ACCOUNT, registered.account
    debtor = get_org(uow, debtor_id)
    if debtor.accounts:
        return RouteKind.ACCOUNT, debtor.accounts[0].replace(" ", "")
    return RouteKind.TOKENS, None


def _collection_account(uow: UnitOfWork, debtor: Organisation, bank: Organisation) -> str:
    """The debtor's account at ``bank`` (the item's account bank): its registered settlement
    account if held there, else its first account carrying the bank's identification number,
    else its first account ("" for none)."""
    registered = registered_account(uow, debtor.id)
    if registered is not None and registered.bank_id == bank.id:
        return registered.account
    numbers = [a.replace(" ", "") for a in debtor.accounts]
    bins = {a[:BIN_DIGITS] for a in bank.accounts}
    at_bank = [n for n in numbers if n[:BIN_DIGITS] in bins]
    return (at_bank or numbers or [""])[0]


def queue_route_lock(
    uow: UnitOfWork, item: DebtItem, kind: RouteKind | None, account: str | None = None
) -> RouteEvent:
    """Queue the debtor's ``Repayment.lock_route`` for ``item`` in the caller's transaction
    (issuance with the debtor's confirmation, the later confirmation, or ``route lock``) and
    record its route; ``kind`` None takes ``default_route``. The caller commits: if the chain
    refuses the lock (or the issuance it follows), the relay forgets the route with it."""
    if current_route(uow, item.id) is not None:
        raise ConflictError(f"the repayment route of {item.id} is locked already")
    debtor = get_org(uow, item.debtor_id)
    if kind is None:
        kind, _account = default_route(uow, debtor.id)
    bank_id: str | None = None
    number: str | None = None
    allowance = 0
    if kind is RouteKind.ACCOUNT:
        bank = item_account_bank(uow, item.id, debtor)
        number = (account or _collection_account(uow, debtor, bank)).replace(" ", "")
        if not number:
            raise DomainValueError(f"{debtor.name} names no collection account")
        bank_id = bank.id
        account_hash = text_hash(number)
    else:
        account_hash = ZERO_HASH
        allowance = _token_allowance(uow, debtor.id, item)
    command = cmd.LockRoute(item.id, kind.code, account_hash, allowance=allowance)
    op = queue(uow, command, debtor.id, item.id)
    event = RouteEvent(
        item.id, RouteAction.LOCKED, kind, bank_id, number, (debtor.id,), debtor.id, op.op_id
    )
    uow.settlement.add_route(event)
    return event
