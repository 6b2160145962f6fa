"""A pledge's end: released by its bank, or foreclosed on default and bought back by the
pledgor."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from fourflow.domain.debt import Holding, ItemStatus
from fourflow.domain.errors import ConflictError, PermissionDeniedError
from fourflow.domain.facts import DefaultMark
from fourflow.domain.financing import FinancingStatus
from fourflow.domain.parties import Role
from fourflow.services import commands as cmd
from fourflow.services.common import get_holding, get_item, get_org
from fourflow.services.items.common import DEFAULT_GRACE_DAYS, open_item, queue
from fourflow.services.ports import UnitOfWorkFactory


def release_pledge(*, uow_factory: UnitOfWorkFactory, holding_id: str, actor_id: str) -> Holding:
    """The pledgee bank releases a pledge (repaid off chain, or waived): the holding is free."""
    with uow_factory() as uow:
        holding = get_holding(uow, holding_id)
        if not holding.locked or holding.pledge is None:
            raise ConflictError(f"holding {holding_id} is not pledged")
        if holding.pledge_bank_id != actor_id:
            raise PermissionDeniedError(f"only the pledgee bank may release holding {holding_id}")
        released = replace(holding, pledge=replace(holding.pledge, principal=0, interest=0))
        uow.items.update_holding(released)
        financing = uow.financings.by_holding(holding_id)
        if financing is not None:
            uow.financings.update(replace(financing, status=FinancingStatus.REPAID))
        queue(uow, cmd.ReleasePledge(holding_id), actor_id, holding.item_id)
        uow.commit()
    return released


def mark_default(
    *,
    uow_factory: UnitOfWorkFactory,
    item_id: str,
    actor_id: str,
    as_of: dt.date,
    operator_id: str | None = None,
    grace_days: int = DEFAULT_GRACE_DAYS,
) -> list[Holding]:
    """Mark an overdue item defaulted: each pledged holding passes to its bank (recourse kept).

    Returns the holdings that passed to banks. Only the operator (in the founding phase; the
    council once Governance owns the Registry) or a bank holding an open pledge of the item
    may do it, as DebtItem.mark_default allows, and only past maturity plus ``grace_days``
    while something is unpaid.
    """
    with uow_factory() as uow:
        item = open_item(uow, item_id, frozen_by_dispute=False)
        actor = get_org(uow, actor_id)
        pledgee = actor.has_role(Role.BANK) and any(
            h.pledge_bank_id == actor_id and h.locked and h.outstanding > 0
            for h in uow.items.holdings(item_id)
        )
        if actor_id != operator_id and not pledgee:
            raise PermissionDeniedError(
                f"{actor.name} may not mark a default of {item_id}: only a bank holding an "
                "open pledge of it, or the operator, may"
            )
        if item.status is ItemStatus.DEFAULTED:
            raise ConflictError(f"debt item {item_id} is already defaulted")
        if item.status_on(as_of, grace_days) is not ItemStatus.OVERDUE:
            raise ConflictError(
                f"debt item {item_id} is not overdue on {as_of} "
                f"(maturity {item.maturity_date}, grace {grace_days} days)"
            )
        foreclosed: list[Holding] = []
        for holding in uow.items.holdings(item_id):
            if not holding.locked or holding.pledge is None or holding.pledge_bank_id is None:
                continue
            closed = replace(
                holding,
                holder_id=holding.pledge_bank_id,
                acquired_from=holding.holder_id,
                pledge=replace(holding.pledge, principal=0, interest=0),
            )
            uow.items.update_holding(closed)
            foreclosed.append(closed)
            financing = uow.financings.by_holding(holding.id)
            if financing is not None and financing.status is FinancingStatus.ACTIVE:
                uow.financings.update(replace(financing, status=FinancingStatus.DEFAULTED))
        uow.items.update(replace(item, status=ItemStatus.DEFAULTED))
        op = queue(uow, cmd.MarkDefault(item_id), actor_id, item_id)
        uow.default_marks.add(DefaultMark(item_id, actor_id, op.op_id, as_of))
        uow.commit()
    return foreclosed


def buy_back(*, uow_factory: UnitOfWorkFactory, holding_id: str, actor_id: str) -> Holding:
    """The pledgor takes a foreclosed holding back from its bank (paying the recourse price)."""
    with uow_factory() as uow:
        holding = get_holding(uow, holding_id)
        holding.check_buy_back(actor_id)
        item = get_item(uow, holding.item_id)
        if item.status is not ItemStatus.DEFAULTED and not uow.default_marks.for_item(item.id):
            raise ConflictError(f"holding {holding_id} was never foreclosed")
        back = replace(holding, holder_id=actor_id, acquired_from=holding.holder_id)
        uow.items.update_holding(back)
        financing = uow.financings.by_holding(holding_id)
        if financing is not None and financing.status is FinancingStatus.DEFAULTED:
            # The pledgor pays the bank the recourse price: the financing is repaid.
            uow.financings.update(replace(financing, status=FinancingStatus.REPAID))
        queue(uow, cmd.BuyBack(holding_id), actor_id, holding.item_id)
        uow.commit()
    return back
