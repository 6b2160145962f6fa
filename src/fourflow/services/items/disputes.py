"""The debtor's dispute of an item, its withdrawal and the operator's resolution."""

from __future__ import annotations

import datetime as dt

from fourflow.domain.errors import ConflictError, DomainValueError, PermissionDeniedError
from fourflow.domain.facts import DisputeAction, DisputeEvent
from fourflow.services import commands as cmd
from fourflow.services.common import get_item, is_disputed
from fourflow.services.items.common import open_item, queue, text_hash
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
