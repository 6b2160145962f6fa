"""Payments of an item (attested by the account bank, in settlement tokens, or declared by
the debtor), routed banks first, and the minting of settlement tokens."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Literal

from fourflow.domain.debt import DebtItem, HoldingClaim, ItemStatus, day_number, route_payment
from fourflow.domain.errors import ConflictError, DomainValueError, PermissionDeniedError
from fourflow.domain.financing import FinancingStatus
from fourflow.domain.parties import Role
from fourflow.services import commands as cmd
from fourflow.services.accounts import item_account_bank
from fourflow.services.common import chain_address, get_item, get_org, new_id
from fourflow.services.items.common import is_cancelled, item_outstanding, queue, text_hash
from fourflow.services.ports import (
    ChainOp,
    Ledger,
    Repayment,
    RoutedPart,
    UnitOfWork,
    UnitOfWorkFactory,
)

PaymentMethod = Literal["debtor", "attested", "token"]
_PAYMENT_METHODS = ("attested", "debtor", "token")


def pay(
    *,
    uow_factory: UnitOfWorkFactory,
    ledger: Ledger,
    item_id: str,
    amount: int,
    value_date: dt.date,
    reference: str,
    payer_id: str,
    method: PaymentMethod = "attested",
) -> Repayment:
    """Record a payment of the item and route it, banks first, as the contract will.

    ``attested``: the debtor's account bank attests a payment it saw on its statement (the
    camt.054 entry's amount, value date and reference); ``token``: the debtor pays in settlement
    tokens; ``debtor``: the debtor declares it (``repay``). The same reference is refused twice
    for one item, so a statement ingested again cannot pay twice. A value date after the
    chain's own today is refused before anything is written (the contract would refuse it).
    """
    if method not in _PAYMENT_METHODS:
        raise DomainValueError(f"payment method {method!r} is not one of {list(_PAYMENT_METHODS)}")
    with uow_factory() as uow:
        uow.items.lock_item(item_id)  # one payment on an item at a time: routing reads it
        item = get_item(uow, item_id)
        if is_cancelled(uow, item_id):
            raise ConflictError(f"debt item {item_id} is cancelled")
        payer = get_org(uow, payer_id)
        if method == "attested" and not payer.has_role(Role.BANK):
            raise PermissionDeniedError(f"{payer.name} is not a bank: it cannot attest payments")
        if method == "attested":
            holder_bank = item_account_bank(uow, item_id, get_org(uow, item.debtor_id))
            if holder_bank.id != payer.id:
                raise PermissionDeniedError(
                    f"{payer.name} does not hold the debtor's account: only {holder_bank.name} "
                    f"attests payments on debt item {item_id}"
                )
        if method != "attested" and payer_id != item.debtor_id:
            raise PermissionDeniedError(f"only the debtor pays debt item {item_id} directly")
        if not reference.strip():
            raise DomainValueError("a payment needs its bank reference")
        previous = uow.repayments.for_item(item_id)
        if any(r.reference == reference for r in previous):
            raise ConflictError(f"payment {reference} is already recorded on {item_id}")
        outstanding = item_outstanding(uow, item_id)
        if item.status is ItemStatus.SETTLED or outstanding == 0:
            raise ConflictError(f"debt item {item_id} is already settled")
        if amount <= 0:
            raise DomainValueError("payment amount must be positive")
        if amount > outstanding:
            raise DomainValueError(f"payment {amount} exceeds the outstanding {outstanding}")
        if previous and value_date < max(r.value_date for r in previous):
            raise DomainValueError("value date is before an earlier payment of this item")
        chain_today = ledger.chain_today()
        if value_date > chain_today:
            raise DomainValueError(
                f"value date {value_date} is in the future: the chain's clock is at {chain_today}"
            )
        repayment = _route(uow, item, amount, value_date, reference)
        value_day = day_number(value_date)
        command: cmd.Command
        if method == "attested":
            command = cmd.AttestPayment(
                item_id, amount, value_day, text_hash(reference), bank_reference=reference
            )
        elif method == "token":
            command = cmd.PayWithToken(item_id, amount, value_day)
        else:
            command = cmd.Repay(item_id, amount, value_day)
        queue(uow, command, payer_id, item_id)
        uow.commit()
    return repayment


def _route(
    uow: UnitOfWork, item: DebtItem, amount: int, value_date: dt.date, reference: str
) -> Repayment:
    """Route a payment over the holdings (domain rule) and store the parts and new states."""
    holdings = uow.items.holdings(item.id)
    claims = [HoldingClaim(h.id, h.holder_id, h.outstanding, h.pledge) for h in holdings]
    routed, after = route_payment(claims, amount, day_number(value_date))
    payment_id = new_id("pay")
    parts: list[RoutedPart] = []
    by_id = {h.id: h for h in holdings}
    after_by_id = {c.holding_id: c for c in after}
    for part in routed:
        claim, holding = after_by_id[part.holding_id], by_id[part.holding_id]
        bank = holding.pledge_bank_id or ""
        for kind, payee, value in (
            ("bank_interest", bank, part.to_bank_interest),
            ("bank_principal", bank, part.to_bank - part.to_bank_interest),
            ("holder", holding.holder_id, part.to_holder),
        ):
            if value:
                parts.append(RoutedPart(payment_id, item.id, holding.id, payee, kind, value))
        uow.items.update_holding(
            replace(
                holding,
                outstanding=claim.outstanding,
                pledge=claim.pledge,
                received=holding.received + part.to_holder,
            )
        )
        if holding.locked and claim.pledge is not None and not claim.pledge.active:
            financing = uow.financings.by_holding(holding.id)
            if financing is not None:
                uow.financings.update(replace(financing, status=FinancingStatus.REPAID))
    repayment = Repayment(payment_id, item.id, amount, value_date, reference, tuple(parts))
    uow.repayments.add(repayment)
    paid = item.paid + amount
    left = sum(after_by_id[h.id].outstanding for h in holdings)
    uow.items.update(
        replace(item, paid=paid, status=ItemStatus.SETTLED if left == 0 else item.status)
    )
    return repayment


def mint_tokens(
    *,
    uow_factory: UnitOfWorkFactory,
    bank_id: str,
    to_org_id: str,
    amount: int,
    deposit_reference: str | None = None,
) -> ChainOp:
    """A bank mints settlement tokens (tokenised deposits) to a member's account.

    The bank attests the deposit it mints against by its reference (the contract takes each
    reference once, within the bank's mint cap); without one, the mint gets a fresh reference
    of its own.
    """
    with uow_factory() as uow:
        bank = get_org(uow, bank_id)
        if not bank.has_role(Role.BANK):
            raise PermissionDeniedError(f"{bank.name} is not a bank: it cannot mint deposits")
        if amount <= 0:
            raise DomainValueError("mint amount must be positive")
        to = get_org(uow, to_org_id)
        reference = (deposit_reference or "").strip() or new_id("deposit")
        command = cmd.TokenMint(
            chain_address(to),
            amount,
            to_org_id=to.id,
            deposit_hash=text_hash(f"{bank.id}|{reference}"),
            deposit_reference=reference,
        )
        op = queue(uow, command, bank_id, to.id)
        uow.commit()
    return op
