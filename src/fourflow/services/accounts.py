"""Who holds an organisation's bank account: the debtor's account bank named for its items.

The account bank is a **registered fact**: a member registers its settlement account with
its bank (``register_account``), by its own transaction on the chain
(``Registry.set_account``: no operator, bank or creditor can set or move a member's account;
a change needs the member's own signature again). The Issuer then accepts no other bank as
the account bank of the member's items, and DebtItem accepts a payment attestation from that
bank alone (docs/contracts.md).

A member that never registered an account falls back to the founding rule: a domestic account
number begins with its bank's six-digit bank identification number (BIN), so its account bank
is the bank organisation whose own registered account carries the same BIN (several such
banks: the one that joined first).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from fourflow.domain.errors import ConflictError, DomainValueError, PermissionDeniedError
from fourflow.domain.parties import Organisation, Role
from fourflow.services import commands as cmd
from fourflow.services.common import chain_address, get_org, new_id
from fourflow.services.ports import ChainOp, OpStatus, UnitOfWork, UnitOfWorkFactory

BIN_DIGITS = 6
_KEY = "settlement_account:{org_id}"


@dataclass(frozen=True, slots=True)
class RegisteredAccount:
    """A member's registered settlement account: its bank, the number and the chain op."""

    org_id: str
    bank_id: str
    account: str
    op_id: str


def _bins(org: Organisation) -> set[str]:
    return {
        a[:BIN_DIGITS]
        for a in (x.replace(" ", "") for x in org.accounts)
        if len(a) > BIN_DIGITS and a[:BIN_DIGITS].isdigit()
    }


def _history(uow: UnitOfWork, org_id: str) -> list[dict[str, str]]:
    raw = uow.settings.get(_KEY.format(org_id=org_id))
    return list(json.loads(raw)) if raw else []


def registered_account(uow: UnitOfWork, org_id: str) -> RegisteredAccount | None:
    """The member's current registered settlement account (None if it never registered)."""
    history = _history(uow, org_id)
    if not history:
        return None
    last = history[-1]
    return RegisteredAccount(org_id, last["bank_id"], last["account"], last["op_id"])


def register_account(
    *, uow_factory: UnitOfWorkFactory, org_id: str, bank_id: str, account: str, actor_id: str
) -> RegisteredAccount:
    """The member ``org_id`` registers its settlement account ``account`` held at ``bank_id``.

    Only the member itself may (``actor_id`` must be ``org_id``): its own transaction is its
    signature on the chain. Items issued afterwards name that bank as their account bank.
    """
    number = account.replace(" ", "").strip()
    if not number:
        raise DomainValueError("the settlement account number must not be empty")
    with uow_factory() as uow:
        org = get_org(uow, org_id)
        if actor_id != org_id:
            actor = get_org(uow, actor_id)
            raise PermissionDeniedError(
                f"{actor.name} may not register {org.name}'s settlement account: only "
                f"{org.name} itself may (its own signature)"
            )
        bank = get_org(uow, bank_id)
        if not bank.has_role(Role.BANK):
            raise DomainValueError(f"{bank.name} is not a bank: it cannot hold the account")
        command = cmd.SetAccount(
            bank_address=chain_address(bank),
            account_hash=_account_hash(number),
            bank_id=bank.id,
            account=number,
        )
        op = ChainOp(new_id("op"), command, org.id, subject_id=org.id)
        uow.outbox.add(op)
        history = _history(uow, org.id)
        history.append({"bank_id": bank.id, "account": number, "op_id": op.op_id})
        uow.settings.put(_KEY.format(org_id=org.id), json.dumps(history, ensure_ascii=False))
        uow.commit()
    return RegisteredAccount(org.id, bank.id, number, op.op_id)


def forget_account(uow: UnitOfWork, org_id: str, op_id: str) -> None:
    """The chain refused the registration ``op_id``: the member's earlier account stands."""
    history = [h for h in _history(uow, org_id) if h["op_id"] != op_id]
    uow.settings.put(_KEY.format(org_id=org_id), json.dumps(history, ensure_ascii=False))


def _account_hash(number: str) -> str:
    """Hex SHA-256 of the account number (the chain stores only this hash)."""
    return hashlib.sha256(number.encode("utf-8")).hexdigest()


def account_bank(uow: UnitOfWork, org: Organisation) -> Organisation:
    """The bank organisation holding ``org``'s settlement account: the registered one, else the
    first bank member to join whose account shares its bank identification number
    (ConflictError if there is none)."""
    registered = registered_account(uow, org.id)
    if registered is not None:
        bank = get_org(uow, registered.bank_id)
        if not bank.has_role(Role.BANK):
            raise ConflictError(
                f"{org.name}'s registered account bank {bank.name} is no longer a bank: "
                f"{org.name} must register its settlement account again"
            )
        return bank
    bins = _bins(org)
    if not bins:
        raise ConflictError(
            f"{org.name} has no registered domestic bank account: its account bank is unknown"
        )
    banks = [
        o
        for o in uow.organisations.list()
        if o.id != org.id and o.has_role(Role.BANK) and _bins(o) & bins
    ]
    if not banks:
        raise ConflictError(
            f"no bank member holds {org.name}'s account ({', '.join(sorted(bins))}...): "
            "its account bank is unknown; register it with `fourflow org account set`"
        )
    return banks[0]  # organisations are listed in the order they joined


def item_account_bank(uow: UnitOfWork, item_id: str, debtor: Organisation) -> Organisation:
    """The account bank named for one item on the chain: the bank its issuance named, or the
    last one its route change named (a later registration of the debtor's account changes
    only the items issued after it); the debtor's account bank for an item not yet issued."""
    named: str | None = None
    for op in uow.outbox.for_subject(item_id):
        if op.status in (OpStatus.REFUSED, OpStatus.FAILED):
            continue
        c = op.command
        if isinstance(c, cmd.IssueItem) and c.account_bank_address:
            named = c.account_bank_address
        elif isinstance(c, cmd.SetAccountBank) or (
            isinstance(c, cmd.ChangeRoute) and c.route_kind == 2  # a new collection bank
        ):
            named = c.bank_address
    if named is not None:
        for org in uow.organisations.list():
            if org.chain_address and org.chain_address.lower() == named.lower():
                return org
    return account_bank(uow, debtor)
