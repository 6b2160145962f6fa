"""Financing: a holder asks a bank to finance a holding; approved, the holding is pledged."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from fourflow.domain.debt import PledgeState, day_number
from fourflow.domain.errors import ConflictError, DomainValueError, PermissionDeniedError
from fourflow.domain.financing import Decision, Financing, FinancingStatus, Outcome, Reason
from fourflow.domain.parties import Role
from fourflow.risk.policy import SimplePolicy
from fourflow.services import fraud
from fourflow.services.common import (
    chain_address,
    get_holding,
    get_item,
    get_org,
    get_trade,
    new_id,
)
from fourflow.services.ports import ChainOp, Ledger, OpKind, UnitOfWorkFactory


def request_financing(
    *,
    uow_factory: UnitOfWorkFactory,
    policy: SimplePolicy,
    holding_id: str,
    bank_id: str,
    amount: int,
    actor_id: str,
    as_of: dt.date,
    ledger: Ledger | None = None,
) -> Financing:
    """Ask ``bank_id`` to lend ``amount`` (minor units) against a holding; decide at once.

    Approval pledges the whole holding to the bank (split first to pledge a part) and
    queues the pledge on the chain; a decline is stored with its reasons. With a ``ledger``
    the trade's invoices are first presented to the consortium (salted fingerprints on the
    chain): an invoice another member was presented first is declined as a duplicate.
    """
    elsewhere: tuple[str, ...] = ()
    if ledger is not None:
        with uow_factory() as uow:
            trade_id = get_item(uow, get_holding(uow, holding_id).item_id).trade_id
        elsewhere = fraud.present_invoices(
            uow_factory=uow_factory, ledger=ledger, trade_id=trade_id, presenter_id=bank_id
        ).presented_elsewhere
    with uow_factory() as uow:
        holding = get_holding(uow, holding_id)
        if holding.holder_id != actor_id:
            raise PermissionDeniedError(f"holding {holding_id} is not held by {actor_id}")
        if holding.locked:
            raise ConflictError(f"holding {holding_id} is already pledged")
        bank = get_org(uow, bank_id)
        if not bank.has_role(Role.BANK):
            raise DomainValueError(f"{bank.name} is not a bank")
        item = get_item(uow, holding.item_id)
        trade = get_trade(uow, item.trade_id)
        decision = policy.decide(
            item=item, holding=holding, report=trade.report, requested=amount, as_of=as_of
        )
        if elsewhere:
            duplicate = Reason(
                "DUPLICATE_INVOICE",
                f"{len(elsewhere)} invoice(s) of this trade were presented to another member "
                "of the consortium first (salted fingerprint on the chain)",
            )
            decision = Decision(Outcome.DECLINE, (duplicate,), 0, 0, decision.policy_version)
        approved = decision.outcome is Outcome.APPROVE
        financing = Financing(
            id=new_id("fin"),
            item_id=item.id,
            holding_id=holding.id,
            borrower_id=actor_id,
            bank_id=bank.id,
            requested=amount,
            principal=decision.principal,
            rate_bps=decision.rate_bps,
            start_date=as_of,
            maturity_date=item.maturity_date,
            status=FinancingStatus.APPROVED if approved else FinancingStatus.DECLINED,
            decision=decision,
        )
        uow.financings.add(financing)
        if approved:
            pledge = PledgeState(
                bank=bank.id,
                principal=decision.principal,
                interest=0,
                rate_bps=decision.rate_bps,
                accrued_to=day_number(as_of),
            )
            uow.items.update_holding(replace(holding, pledge_bank_id=bank.id, pledge=pledge))
            uow.outbox.add(
                ChainOp(
                    new_id("op"),
                    OpKind.PLEDGE,
                    actor_id,
                    {
                        "holding_id": holding.id,
                        "bank_address": chain_address(bank),
                        "principal": decision.principal,
                        "rate_bps": decision.rate_bps,
                        "start_day": day_number(as_of),
                    },
                    subject_id=financing.id,
                )
            )
        uow.commit()
    return financing
