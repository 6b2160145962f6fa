"""Settlement: the debtor pays a debt item and the payment is routed, banks first.

The routing is computed here with the pure rule of ``fourflow.domain.debt`` and recorded;
the same payment is queued to the debt-item contract, which routes it by the same rule, and
``audit`` checks the two agree.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from fourflow.domain.debt import HoldingClaim, ItemStatus, day_number, route_payment
from fourflow.domain.errors import ConflictError, DomainValueError, PermissionDeniedError
from fourflow.domain.financing import FinancingStatus
from fourflow.domain.parties import Role
from fourflow.services.common import get_item, get_org, new_id
from fourflow.services.ports import (
    ChainOp,
    OpKind,
    Repayment,
    RoutedPart,
    UnitOfWork,
    UnitOfWorkFactory,
)


def _check_payer(uow: UnitOfWork, payer_id: str, debtor_id: str) -> None:
    if payer_id == debtor_id:
        return
    payer = get_org(uow, payer_id)
    if not payer.has_role(Role.BANK):
        raise PermissionDeniedError(
            f"{payer.name} may not record a payment: only the debtor or its account bank may"
        )


def repay(
    *,
    uow_factory: UnitOfWorkFactory,
    item_id: str,
    amount: int,
    value_date: dt.date,
    reference: str,
    payer_id: str,
) -> Repayment:
    """Record the debtor's payment of ``amount`` minor units and route it to banks and holders."""
    with uow_factory() as uow:
        item = get_item(uow, item_id)
        _check_payer(uow, payer_id, item.debtor_id)
        if item.status is ItemStatus.SETTLED:
            raise ConflictError(f"debt item {item_id} is already settled")
        if amount <= 0:
            raise DomainValueError("payment amount must be positive")
        if amount > item.outstanding:
            raise DomainValueError(f"payment {amount} exceeds the outstanding {item.outstanding}")
        previous = uow.repayments.for_item(item_id)
        if previous and value_date < max(r.value_date for r in previous):
            raise DomainValueError("value date is before an earlier payment of this item")
        if value_date < item.issue_date:
            raise DomainValueError("value date is before the item was issued")
        holdings = uow.items.holdings(item_id)
        claims = [HoldingClaim(h.id, h.holder_id, h.outstanding, h.pledge) for h in holdings]
        routed, after = route_payment(claims, amount, day_number(value_date))
        payment_id = new_id("pay")
        parts: list[RoutedPart] = []
        by_id = {h.id: h for h in holdings}
        after_by_id = {c.holding_id: c for c in after}
        for part in routed:
            claim = after_by_id[part.holding_id]
            holding = by_id[part.holding_id]
            bank = part.bank or ""
            for kind, payee, value in (
                ("bank_interest", bank, part.to_bank_interest),
                ("bank_principal", bank, part.to_bank - part.to_bank_interest),
                ("holder", holding.holder_id, part.to_holder),
            ):
                if value:
                    parts.append(RoutedPart(payment_id, item_id, holding.id, payee, kind, value))
            uow.items.update_holding(
                replace(
                    holding,
                    outstanding=claim.outstanding,
                    pledge=claim.pledge,
                    received=holding.received + part.to_holder,
                )
            )
            if holding.pledge is not None and claim.pledge is not None and not claim.pledge.active:
                financing = uow.financings.by_holding(holding.id)
                if financing is not None:
                    uow.financings.update(replace(financing, status=FinancingStatus.REPAID))
        repayment = Repayment(payment_id, item_id, amount, value_date, reference, tuple(parts))
        uow.repayments.add(repayment)
        paid = item.paid + amount
        status = ItemStatus.SETTLED if paid == item.face_value else item.status
        uow.items.update(replace(item, paid=paid, status=status))
        uow.outbox.add(
            ChainOp(
                new_id("op"),
                OpKind.REPAY,
                payer_id,
                {"item_id": item_id, "amount": amount, "value_day": day_number(value_date)},
                subject_id=item_id,
            )
        )
        uow.commit()
    return repayment
