"""Financing: a holder asks a bank to finance a holding; the review robot decides at once.

Approved, the holding is pledged (and locked on the chain); referred, it waits for a person
(``credit.decide_referral``); declined, the reasons are kept. Every decision is stored with
the model version and the hash of its inputs, and that hash is queued for the chain.
"""

from __future__ import annotations

import datetime as dt

from fourflow.domain.debt import Holding
from fourflow.domain.errors import ConflictError, DomainValueError, PermissionDeniedError
from fourflow.domain.financing import Financing, FinancingStatus, Outcome
from fourflow.domain.parties import Role
from fourflow.risk.bootstrap import HistorySource
from fourflow.services import credit, fraud
from fourflow.services.common import get_holding, get_item, get_org, new_id, refuse_if_disputed
from fourflow.services.ports import Ledger, UnitOfWork, UnitOfWorkFactory

STATUS = {
    Outcome.APPROVE: FinancingStatus.APPROVED,
    Outcome.DECLINE: FinancingStatus.DECLINED,
    Outcome.REFER: FinancingStatus.REFERRED,
}


def refuse_if_financed(uow: UnitOfWork, holding: Holding) -> None:
    """ConflictError when the holding already has an approved or active financing."""
    live = uow.financings.by_holding(holding.id)
    if live is not None and live.status in credit.ACTIVE:
        raise ConflictError(
            f"holding {holding.id} is already financed: financing {live.id} by bank "
            f"{live.bank_id} is {live.status.value}"
        )
    if holding.locked:
        raise ConflictError(
            f"holding {holding.id} is already pledged to bank {holding.pledge_bank_id}"
        )


def request_financing(
    *,
    uow_factory: UnitOfWorkFactory,
    holding_id: str,
    bank_id: str,
    amount: int,
    actor_id: str,
    as_of: dt.date,
    cold_start: HistorySource,
    ledger: Ledger | None = None,
) -> Financing:
    """Ask ``bank_id`` to lend ``amount`` (minor units) against a holding; the robot decides.

    Approval pledges the whole holding to the bank (split first to pledge a part) and
    queues the pledge on the chain. With a ``ledger`` the trade's invoices are first
    presented to the consortium (salted fingerprints on the chain): an invoice another
    member was presented first declines the request as a duplicate. ``cold_start`` gives the
    history the first champion model learns from when the platform has none yet.
    """
    scorer = credit.champion_scorer(uow_factory=uow_factory, as_of=as_of, cold_start=cold_start)
    elsewhere: tuple[str, ...] = ()
    if ledger is not None:
        with uow_factory() as uow:
            trade_id = get_item(uow, get_holding(uow, holding_id).item_id).trade_id
        elsewhere = fraud.present_invoices(
            uow_factory=uow_factory, ledger=ledger, trade_id=trade_id, presenter_id=bank_id
        ).presented_elsewhere
    with uow_factory() as uow:
        # Locks, always in this order (docs/architecture.md, "Concurrency"): the bank's limits,
        # read and used in one transaction; then the holding's row, so of two requests on one
        # holding the second waits and then sees the first one's decision.
        uow.settings.lock(credit.LIMITS_LOCK + bank_id)
        uow.items.lock_holding(holding_id)
        holding = get_holding(uow, holding_id)
        if holding.holder_id != actor_id:
            raise PermissionDeniedError(f"holding {holding_id} is not held by {actor_id}")
        refuse_if_financed(uow, holding)
        bank = get_org(uow, bank_id)
        if not bank.has_role(Role.BANK):
            raise DomainValueError(f"{bank.name} is not a bank")
        item = get_item(uow, holding.item_id)
        refuse_if_disputed(uow, item.id)
        financing_id = new_id("fin")
        decision = credit.review_request(
            uow=uow,
            scorer=scorer,
            request_id=financing_id,
            holding=holding,
            bank_id=bank.id,
            amount=amount,
            as_of=as_of,
            duplicates=len(elsewhere),
        )
        financing = Financing(
            id=financing_id,
            item_id=item.id,
            holding_id=holding.id,
            borrower_id=actor_id,
            bank_id=bank.id,
            requested=amount,
            principal=decision.principal,
            rate_bps=decision.rate_bps,
            start_date=as_of,
            maturity_date=item.maturity_date,
            status=STATUS[decision.outcome],
            decision=decision,
        )
        uow.financings.add(financing)
        if decision.outcome is Outcome.APPROVE:
            credit.pledge(uow, financing, holding, bank)
        credit.queue_decision_anchor(uow, financing.id, decision)
        uow.commit()
    return financing
