"""Organisations that hold their own key (issue 16, Keys): they sign, the platform relays.

Such an organisation's chain key never reaches the platform, which records its address only
(``onboarding.onboard(own_address=...)``) and never signs for it:

* the debtor's EIP-712 confirmation of an item: the debtor fetches the typed data
  (``confirmation_to_sign``) and sends its signature (``submit_confirmation``); the
  platform checks it was made by the debtor's address over this item's terms with the
  debtor's current nonce and an unexpired deadline, and only then queues ``Issuer.confirm``
  (which any member may send: the platform's operator sends it);
* every chain operation queued in its name (a bank's pledge acceptance, a holder's pledge
  offer, any call its role makes) waits in the outbox, skipped by the relay
  (``relay.held_for_signature``); the organisation lists them (``awaiting``), fetches each
  one's unsigned transaction and sends it signed (``submit_signed_transaction``); the
  platform relays it only when it is signed by that organisation's address and makes exactly
  that operation's call, and records it as the relay would.

A refused submission changes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any, Protocol

from fourflow.domain.debt import Basis, DebtItem, ItemStatus, day_number
from fourflow.domain.errors import (
    ConflictError,
    DomainValueError,
    NotFoundError,
    PermissionDeniedError,
)
from fourflow.services import commands as cmd
from fourflow.services import relay
from fourflow.services.accounts import item_account_bank
from fourflow.services.common import chain_address, get_org
from fourflow.services.items.common import CONFIRMATION_VALIDITY, open_item, queue
from fourflow.services.onboarding import OPERATOR_ORG_KEY
from fourflow.services.ports import (
    ChainOp,
    ChainReceipt,
    ChainRejectedError,
    Clock,
    Ledger,
    OpStatus,
    UnitOfWork,
    UnitOfWorkFactory,
)


class CustodyLedger(Ledger, Protocol):
    """What the chain adapter offers for organisations holding their own key."""

    def holds_own_key(self, org_id: str) -> bool: ...
    def unsigned_transaction(self, op: ChainOp, sender: str) -> dict[str, Any]: ...
    def send_signed(self, op: ChainOp, raw: bytes, sender: str) -> ChainReceipt: ...
    def confirmation_nonce(self, debtor_address: str) -> int: ...
    def confirmation_to_sign(
        self, terms: cmd.ConfirmationTerms, nonce: int, deadline: int
    ) -> dict[str, Any]: ...
    def confirmation_signer(
        self, terms: cmd.ConfirmationTerms, nonce: int, deadline: int, signature: str
    ) -> str: ...


class SignatureRefusedError(PermissionDeniedError):
    """A signature or signed transaction that is not the organisation's own for this act."""


def _self_held(ledger: CustodyLedger, org_id: str) -> None:
    if not ledger.holds_own_key(org_id):
        raise ConflictError(
            f"organisation {org_id} does not hold its own key: the platform signs and relays "
            "its operations"
        )


# ------------------------------------------------------------------ queued operations


def awaiting(*, uow_factory: UnitOfWorkFactory, org_id: str, limit: int = 1000) -> list[ChainOp]:
    """The organisation's queued operations waiting for its signed transaction, oldest first."""
    with uow_factory() as uow:
        return [op for op in uow.outbox.pending(10_000) if op.sender_org_id == org_id][:limit]


def _own_pending(uow: UnitOfWork, org_id: str, op_id: str) -> ChainOp:
    op = uow.outbox.get(op_id)
    if op is None or op.sender_org_id != org_id:
        raise NotFoundError(f"operation {op_id} not found")
    if op.status is not OpStatus.PENDING:
        raise ConflictError(f"operation {op_id} is {op.status.value}, not awaiting a signature")
    return op


def unsigned_transaction(
    *, uow_factory: UnitOfWorkFactory, ledger: CustodyLedger, org_id: str, op_id: str
) -> dict[str, Any]:
    """The transaction of the organisation's queued operation ``op_id`` for it to sign."""
    _self_held(ledger, org_id)
    with uow_factory() as uow:
        op = _own_pending(uow, org_id, op_id)
        sender = chain_address(get_org(uow, org_id))
    return {**ledger.unsigned_transaction(op, sender), "kind": op.kind.value}


def submit_signed_transaction(
    *,
    uow_factory: UnitOfWorkFactory,
    ledger: CustodyLedger,
    org_id: str,
    op_id: str,
    raw: bytes,
) -> ChainReceipt:
    """Relay the organisation's signed transaction of its queued operation ``op_id`` and
    record it as the relay does. A transaction that is not exactly that operation's call,
    signed by that organisation for this chain, is refused before anything is sent
    (``SignatureRefusedError``); one the contract reverts is recorded as refused and its
    business change undone, as the relay does (``ConflictError`` naming the reason)."""
    _self_held(ledger, org_id)
    with uow_factory() as uow:
        op = _own_pending(uow, org_id, op_id)
        sender = chain_address(get_org(uow, org_id))
    presented = relay.presentation_refusal(uow_factory, ledger, op)  # as the relay asks
    if presented is not None:
        refused = relay._fail(uow_factory, ledger, op, presented)
        named = "; ".join(f"{o}: {why}" for o, why in refused)
        raise ConflictError(f"refused and nothing was recorded: {named}")
    try:
        receipt = ledger.send_signed(op, raw, sender)
    except ChainRejectedError as exc:
        refused = relay._fail(uow_factory, ledger, op, exc.reason)
        named = "; ".join(f"{o}: {why}" for o, why in refused)
        raise ConflictError(f"the chain refused it and nothing was recorded: {named}") from exc
    except DomainValueError as exc:
        raise SignatureRefusedError(f"operation {op_id}: {exc}") from exc
    relay._record(uow_factory, op, receipt)
    return receipt


# ------------------------------------------------------------------ the debtor's confirmation


def _terms(uow: UnitOfWork, item: DebtItem) -> cmd.ConfirmationTerms:
    debtor, creditor = get_org(uow, item.debtor_id), get_org(uow, item.creditor_id)
    return cmd.ConfirmationTerms(
        item_id=item.id,
        debtor_address=chain_address(debtor),
        creditor_address=chain_address(creditor),
        currency=item.currency,
        face_value=item.face_value,
        maturity_day=day_number(item.maturity_date),
        report_hash=item.report_hash,
        account_bank_address=chain_address(item_account_bank(uow, item.id, debtor)),
    )


def _confirmable(uow: UnitOfWork, item_id: str, actor_id: str) -> DebtItem:
    item = open_item(uow, item_id, frozen_by_dispute=True)
    if actor_id != item.debtor_id:
        raise PermissionDeniedError(f"only the debtor may confirm debt item {item_id}")
    if item.basis is Basis.CONFIRMED:
        raise ConflictError(f"debt item {item_id} is already confirmed")
    if item.status is ItemStatus.PENDING:
        raise ConflictError(f"debt item {item_id} is not on the chain yet")
    return item


def _queued_confirmation(uow: UnitOfWork, debtor_id: str) -> str | None:
    """A confirmation of ``debtor_id``'s still queued (its nonce is not used on chain yet)."""
    for op in uow.outbox.pending(10_000):
        if isinstance(op.command, cmd.ConfirmItem):
            item = uow.items.get(op.command.item_id)
            if item is not None and item.debtor_id == debtor_id:
                return op.op_id
    return None


def confirmation_to_sign(
    *,
    uow_factory: UnitOfWorkFactory,
    ledger: CustodyLedger,
    clock: Clock,
    item_id: str,
    actor_id: str,
) -> dict[str, Any]:
    """The EIP-712 confirmation of item ``item_id`` its debtor signs (``eth_signTypedData_v4``
    shape): the item's terms, the debtor's current nonce and a deadline a day ahead."""
    _self_held(ledger, actor_id)
    with uow_factory() as uow:
        item = _confirmable(uow, item_id, actor_id)
        terms = _terms(uow, item)
        queued = _queued_confirmation(uow, item.debtor_id)
    if queued is not None:
        raise ConflictError(f"the debtor's confirmation {queued} is still queued; try again later")
    nonce = ledger.confirmation_nonce(terms.debtor_address)
    deadline = int((clock.now() + CONFIRMATION_VALIDITY).timestamp())
    return {
        "item_id": item_id,
        "nonce": nonce,
        "deadline": deadline,
        "typed_data": ledger.confirmation_to_sign(terms, nonce, deadline),
    }


def submit_confirmation(
    *,
    uow_factory: UnitOfWorkFactory,
    ledger: CustodyLedger,
    clock: Clock,
    item_id: str,
    actor_id: str,
    nonce: int,
    deadline: int,
    signature: str,
) -> DebtItem:
    """The debtor's own EIP-712 confirmation of item ``item_id``: checked (signed by the
    debtor's address over this item's terms, the debtor's current nonce, a deadline not
    passed), then ``Issuer.confirm`` is queued, sent by the platform's operator. A signature
    that fails any check is refused and nothing changes (``SignatureRefusedError``)."""
    _self_held(ledger, actor_id)
    with uow_factory() as uow:
        item = _confirmable(uow, item_id, actor_id)
        terms = _terms(uow, item)
        operator = uow.settings.get(OPERATOR_ORG_KEY)
        queued = _queued_confirmation(uow, item.debtor_id)
    if operator is None:
        raise ConflictError("the platform has no operator yet; run `fourflow init`")
    if queued is not None:
        raise ConflictError(f"the debtor's confirmation {queued} is still queued; try again later")
    try:
        signer = ledger.confirmation_signer(terms, nonce, deadline, signature)
    except DomainValueError as exc:
        raise SignatureRefusedError(f"confirmation of {item_id}: {exc}") from exc
    if signer.lower() != terms.debtor_address.lower():
        raise SignatureRefusedError(
            f"confirmation of {item_id}: signed by {signer}, not by the debtor's address "
            f"{terms.debtor_address} over this item's terms"
        )
    if deadline <= int(clock.now().timestamp()):
        raise SignatureRefusedError(f"confirmation of {item_id}: its deadline has passed")
    current = ledger.confirmation_nonce(terms.debtor_address)
    if nonce != current:
        raise SignatureRefusedError(
            f"confirmation of {item_id}: nonce {nonce} is not the debtor's current {current} "
            "(an old signature; fetch the confirmation to sign again)"
        )
    if deadline > int((clock.now() + CONFIRMATION_VALIDITY + dt.timedelta(hours=1)).timestamp()):
        raise SignatureRefusedError(f"confirmation of {item_id}: its deadline is too far ahead")
    signed = cmd.Confirmation(nonce=nonce, deadline=int(deadline), signature=signature)
    with uow_factory() as uow:
        item = _confirmable(uow, item_id, actor_id)  # read again: nothing moved meanwhile
        confirmed = replace(item, basis=Basis.CONFIRMED)
        uow.items.update(confirmed)
        queue(uow, cmd.ConfirmItem(item.id, signed), operator, item.id)
        uow.commit()
    return confirmed
