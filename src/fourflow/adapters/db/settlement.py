"""Locked repayment routes and settlement notices in the store (``ports.SettlementRecords``)."""

from __future__ import annotations

import builtins
from typing import Any

from sqlalchemy import Row, delete, insert, select
from sqlalchemy.exc import IntegrityError

from fourflow.adapters.db import tables as t
from fourflow.adapters.db.repositories import _FactRepository, _standing, utc_now
from fourflow.domain.settlement import Notice, NoticeKind, RouteAction, RouteEvent, RouteKind


def _route(r: Row[Any]) -> RouteEvent:
    return RouteEvent(
        item_id=r.item_id, action=RouteAction(r.action), kind=RouteKind(r.kind),
        bank_id=r.bank_id, account=r.account, signers=tuple(r.signers or ()),
        actor_id=r.actor_id, op_id=r.op_id, seq=r.seq,
    )  # fmt: skip


def _notice(r: Row[Any]) -> Notice:
    return Notice(
        key=r.key, kind=NoticeKind(r.kind), subject_id=r.subject_id,
        recipient_id=r.recipient_id, on_day=r.on_day, text=r.text, amount=r.amount,
        deadline=r.deadline, op_id=r.op_id, seq=r.seq,
    )  # fmt: skip


class SqlSettlementRecords(_FactRepository):
    """Route events and notices; a notice whose op the chain refused is forgotten with it."""

    table = t.repayment_routes

    def add_route(self, event: RouteEvent) -> None:
        """Record a route locked or changed."""
        self._add(
            f"route event of {event.item_id} by {event.op_id}",
            item_id=event.item_id, action=event.action.value, kind=event.kind.value,
            bank_id=event.bank_id, account=event.account, signers=list(event.signers),
            actor_id=event.actor_id, op_id=event.op_id,
        )  # fmt: skip

    def routes(self, item_id: str) -> builtins.list[RouteEvent]:
        """The item's route events, oldest first."""
        return [_route(r) for r in self._standing_rows(self.table.c.item_id == item_id)]

    def routed_items(self) -> dict[str, RouteEvent]:
        """Every item's current route."""
        return {e.item_id: e for e in (_route(r) for r in self._standing_rows())}

    def notify(self, notice: Notice) -> bool:
        """Record a notice once per key; False when the key was given before."""
        n = t.settlement_notices
        if self._row(select(n.c.seq).where(n.c.key == notice.key)) is not None:
            return False
        stmt = insert(n).values(
            key=notice.key, kind=notice.kind.value, subject_id=notice.subject_id,
            recipient_id=notice.recipient_id, on_day=notice.on_day, amount=notice.amount,
            deadline=notice.deadline, text=notice.text, op_id=notice.op_id,
            created_at=utc_now(),
        )  # fmt: skip
        try:
            with self._session.begin_nested():
                self._session.execute(stmt)
        except IntegrityError:  # a concurrent run gave it first
            return False
        return True

    def notices(
        self, *, subject_id: str | None = None, kind: str | None = None
    ) -> builtins.list[Notice]:
        """Notices given (their op, if any, not refused), oldest first."""
        n = t.settlement_notices
        stmt = select(n).where(_standing(n)).order_by(n.c.seq)
        if subject_id is not None:
            stmt = stmt.where(n.c.subject_id == subject_id)
        if kind is not None:
            stmt = stmt.where(n.c.kind == kind)
        return [_notice(r) for r in self._rows(stmt)]

    def forget_op(self, op_id: str) -> None:
        """Delete the route events and notices ``op_id`` carried."""
        for table in (t.repayment_routes, t.settlement_notices):
            self._session.execute(delete(table).where(table.c.op_id == op_id))
