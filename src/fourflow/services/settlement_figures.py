"""What the regulator sees of payment on its day (issue 20), live from the store.

Due today, paid on time, paid late, overdue by age band, defaulted, items without a locked
route, routes locked and changed (with the debtor's and every pledgee's signatures), margin
calls open, met and sold, and payments that bypassed the locked route. Amounts are minor
units per currency. ``fourflow regulator`` (and the API's regulator figures) show them under
``all`` -> ``settlement``; ``settle-due`` and ``route figures`` print them too.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fourflow.domain.debt import ItemStatus
from fourflow.domain.settlement import NoticeKind, RouteAction
from fourflow.services.items.common import is_cancelled, item_outstanding
from fourflow.services.ports import UnitOfWorkFactory

#: Overdue age bands in days past maturity.
AGE_BANDS = ((1, 30, "1-30"), (31, 60, "31-60"), (61, 90, "61-90"), (91, None, ">90"))


def _band(days: int) -> str:
    for low, high, name in AGE_BANDS:
        if days >= low and (high is None or days <= high):
            return name
    raise ValueError(f"{days} days is not overdue")


def _add(bucket: dict[str, Any], currency: str, amount: int) -> None:
    bucket["count"] += 1
    bucket["amount"][currency] = bucket["amount"].get(currency, 0) + amount


def _bucket() -> dict[str, Any]:
    return {"count": 0, "amount": {}}


def figures(*, uow_factory: UnitOfWorkFactory, as_of: dt.date) -> dict[str, Any]:
    """The settlement figures on ``as_of``."""
    due_today, on_time, late = _bucket(), _bucket(), _bucket()
    defaulted, unrouted = _bucket(), _bucket()
    overdue = {name: _bucket() for _low, _high, name in AGE_BANDS}
    routes = {"locked": 0, "changed": 0, "items_changed": 0}
    with uow_factory() as uow:
        routed = uow.settlement.routed_items()
        for item in uow.items.list():
            events = uow.settlement.routes(item.id) if item.id in routed else []
            changes = sum(1 for e in events if e.action is RouteAction.CHANGED)
            routes["locked"] += 1 if events else 0
            routes["changed"] += changes
            routes["items_changed"] += 1 if changes else 0
            if item.status is ItemStatus.PENDING or is_cancelled(uow, item.id):
                continue
            outstanding = item_outstanding(uow, item.id)
            if item.maturity_date == as_of:  # what fell due today, paid or not
                _add(due_today, item.currency, item.face_value)
            if outstanding == 0:
                payments = uow.repayments.for_item(item.id)
                if payments:
                    last = max(r.value_date for r in payments)
                    _add(on_time if last <= item.maturity_date else late, item.currency,
                         item.face_value)  # fmt: skip
                continue
            if item.id not in routed:
                _add(unrouted, item.currency, outstanding)
            if item.status is ItemStatus.DEFAULTED:
                _add(defaulted, item.currency, outstanding)
            elif as_of > item.maturity_date:
                _add(overdue[_band((as_of - item.maturity_date).days)], item.currency,
                     outstanding)  # fmt: skip
        calls: dict[str, str] = {}
        counts = {"opened": 0, "met": 0, "sold": 0}
        bypassed: dict[tuple[str, str], int] = {}
        for notice in uow.settlement.notices():
            if notice.kind is NoticeKind.MARGIN_CALL and calls.get(notice.subject_id) != "open":
                calls[notice.subject_id] = "open"
                counts["opened"] += 1
            elif notice.kind is NoticeKind.MARGIN_MET and calls.get(notice.subject_id) == "open":
                calls[notice.subject_id] = "met"
                counts["met"] += 1
            elif notice.kind is NoticeKind.MARGIN_SALE and calls.get(notice.subject_id) == "open":
                calls[notice.subject_id] = "sold"
                counts["sold"] += 1
            elif notice.kind is NoticeKind.BYPASS:
                line = notice.key.rsplit("|", 1)[-1]  # the statement entry's reference
                bypassed[(notice.subject_id, line)] = notice.amount or 0
    return {
        "as_of": as_of.isoformat(),
        "due_today": due_today,
        "paid_on_time": on_time,
        "paid_late": late,
        "overdue_by_age": overdue,
        "defaulted": defaulted,
        "without_locked_route": unrouted,
        "routes": routes,
        "margin_calls": {
            "open": sum(1 for state in calls.values() if state == "open"),
            "met": counts["met"],
            "sold": counts["sold"],
            "opened": counts["opened"],
        },
        "bypassed_route": {
            "count": len(bypassed),
            "items": len({item for item, _line in bypassed}),
            "amount": sum(bypassed.values()),
        },
    }
