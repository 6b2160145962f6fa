"""The debtor's dispute of an item, its withdrawal and the operator's resolution; the items
disputed now (what the operator resolves)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fourflow.domain import facts
from fourflow.domain.errors import ConflictError, DomainValueError, PermissionDeniedError
from fourflow.domain.facts import DisputeAction, DisputeEvent
from fourflow.services import commands as cmd
from fourflow.services.common import get_item, is_disputed
from fourflow.services.items.common import item_outstanding, open_item, queue, text_hash
from fourflow.services.items.views import money_view
from fourflow.services.ports import UnitOfWorkFactory


def dispute_item(
    *, uow_factory: UnitOfWorkFactory, item_id: str, reason: str, actor_id: str, on: dt.date
) -> str:
    """The debtor disputes an item on business day ``on`` (freezes moves and pledges).

    Returns the reason's hash. The day is kept with the dispute: the risk engine counts the
    debtor's disputes as known from that day on.
    """
    with uow_factory() as uow:
        item = open_item(uow, item_id, frozen_by_dispute=True)
        if actor_id != item.debtor_id:
            raise PermissionDeniedError(f"only the debtor may dispute debt item {item_id}")
        if on < item.issue_date:
            raise DomainValueError(
                f"a dispute of debt item {item_id} cannot be dated {on}, before the item's "
                f"issue date {item.issue_date}"
            )
        digest = text_hash(reason)
        command = cmd.Dispute(item_id, digest, reason=reason.strip(), on=on)
        op = queue(uow, command, actor_id, item_id)
        uow.disputes.add(
            DisputeEvent(
                item_id, DisputeAction.RAISED, actor_id, op.op_id, on, reason.strip(), digest
            )
        )
        uow.commit()
    return digest


def lift_dispute(
    *,
    uow_factory: UnitOfWorkFactory,
    item_id: str,
    actor_id: str,
    resolution: str | None = None,
    operator_id: str | None = None,
) -> None:
    """Lift a dispute: the debtor withdraws it, or the operator records a resolution."""
    with uow_factory() as uow:
        item = get_item(uow, item_id)
        if not is_disputed(uow, item_id):
            raise ConflictError(f"debt item {item_id} is not disputed")
        if actor_id == item.debtor_id and resolution is None:
            op = queue(uow, cmd.WithdrawDispute(item_id), actor_id, item_id)
            uow.disputes.add(DisputeEvent(item_id, DisputeAction.WITHDRAWN, actor_id, op.op_id))
        elif operator_id is not None and actor_id == operator_id and resolution:
            digest = text_hash(resolution)
            command = cmd.ResolveDispute(item_id, digest, resolution=resolution.strip())
            op = queue(uow, command, actor_id, item_id)
            uow.disputes.add(
                DisputeEvent(
                    item_id,
                    DisputeAction.RESOLVED,
                    actor_id,
                    op.op_id,
                    None,
                    resolution.strip(),
                    digest,
                )
            )
        else:
            raise PermissionDeniedError(
                "a dispute is lifted by the debtor (withdrawal) or by the operator "
                "with a recorded resolution"
            )
        uow.commit()


def open_disputes(*, uow_factory: UnitOfWorkFactory) -> list[dict[str, Any]]:
    """Every item its debtor disputes now (raised, not withdrawn or resolved), oldest dispute
    first: the item, its trade, debtor and creditor (with names), face value and outstanding
    amount, maturity, and the dispute's day, reason, its hash and the organisation that raised
    it. What the operator resolves (``lift_dispute`` with a resolution)."""
    rows: list[tuple[int, dict[str, Any]]] = []
    with uow_factory() as uow:
        for trade_id in sorted(uow.disputes.raised_days(None)):
            item = uow.items.by_trade(trade_id)
            if item is None:
                continue
            events = uow.disputes.for_item(item.id)
            if not facts.is_disputed(events):
                continue
            raised = [e for e in events if e.action is DisputeAction.RAISED][-1]
            names = {}
            for org_id in {item.debtor_id, item.creditor_id}:
                org = uow.organisations.get(org_id)
                names[org_id] = org.name if org is not None else ""
            row = {
                "item_id": item.id,
                "trade_id": item.trade_id,
                "status": item.status.value,
                "debtor_id": item.debtor_id,
                "debtor_name": names[item.debtor_id],
                "creditor_id": item.creditor_id,
                "creditor_name": names[item.creditor_id],
                "face_value": money_view(item.face_value, item.currency),
                "outstanding": money_view(item_outstanding(uow, item.id), item.currency),
                "maturity_date": item.maturity_date.isoformat(),
                "raised_on": raised.on.isoformat() if raised.on else None,
                "raised_by": raised.actor_id,
                "reason": raised.text,
                "reason_hash": raised.text_hash,
            }
            rows.append((raised.seq or 0, row))
    return [row for _, row in sorted(rows, key=lambda r: r[0])]
