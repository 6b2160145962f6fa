"""What a regulator sees: counts and amounts by scenario, live from the store."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from fourflow.domain.debt import ItemStatus
from fourflow.domain.financing import FinancingStatus
from fourflow.domain.money import Money
from fourflow.domain.scenarios import Scenario
from fourflow.services.ports import UnitOfWorkFactory

DEFAULT_GRACE_DAYS = 5


@dataclass(slots=True)
class ScenarioFigures:
    """Figures for one scenario. Amounts are per currency, as decimal strings when shown."""

    trades: int = 0
    verified: int = 0
    failed: int = 0
    items_issued: int = 0
    issued_amount: dict[str, Decimal] = field(default_factory=dict)
    financed: int = 0
    financed_amount: dict[str, Decimal] = field(default_factory=dict)
    outstanding_amount: dict[str, Decimal] = field(default_factory=dict)
    settled: int = 0
    settled_amount: dict[str, Decimal] = field(default_factory=dict)
    overdue: int = 0
    overdue_amount: dict[str, Decimal] = field(default_factory=dict)
    declined: int = 0
    referred: int = 0
    risk_alerts: int = 0

    def as_dict(self) -> dict[str, object]:
        """Plain data with amounts as decimal strings."""

        def amounts(values: dict[str, Decimal]) -> dict[str, str]:
            return {c: Money(v, c).plain() for c, v in sorted(values.items())}

        return {
            "trades": self.trades,
            "verified": self.verified,
            "failed": self.failed,
            "items_issued": self.items_issued,
            "issued_amount": amounts(self.issued_amount),
            "financed": self.financed,
            "financed_amount": amounts(self.financed_amount),
            "outstanding_amount": amounts(self.outstanding_amount),
            "settled": self.settled,
            "settled_amount": amounts(self.settled_amount),
            "overdue": self.overdue,
            "overdue_amount": amounts(self.overdue_amount),
            "declined": self.declined,
            "referred": self.referred,
            "risk_alerts": self.risk_alerts,
        }


def _add(bucket: dict[str, Decimal], minor: int, currency: str) -> None:
    bucket[currency] = bucket.get(currency, Decimal(0)) + Money.from_minor(minor, currency).amount


def regulator_summary(
    *, uow_factory: UnitOfWorkFactory, as_of: dt.date, grace_days: int = DEFAULT_GRACE_DAYS
) -> dict[str, ScenarioFigures]:
    """Figures by scenario (and ``all``): trades, verified, issued, financed, outstanding,
    settled, overdue, requests declined and referred by the review robot; ``all`` also counts
    the risk engine's monitoring alerts."""
    figures: dict[str, ScenarioFigures] = defaultdict(ScenarioFigures)
    with uow_factory() as uow:
        trades = {t.id: t for t in uow.trades.list()}
        items = uow.items.list()
        financings = uow.financings.list()
        figures["all"].risk_alerts = len(uow.risk_alerts.list())
    scenario_of_item: dict[str, Scenario] = {}
    for trade in trades.values():
        for key in (trade.scenario.value, "all"):
            fig = figures[key]
            fig.trades += 1
            fig.verified += trade.status in ("verified", "partial")
            fig.failed += trade.status == "failed"
    for item in items:
        scenario = trades[item.trade_id].scenario if item.trade_id in trades else None
        if scenario is not None:
            scenario_of_item[item.id] = scenario
        status = item.status_on(as_of, grace_days)
        for key in ((scenario.value,) if scenario else ()) + ("all",):
            fig = figures[key]
            fig.items_issued += 1
            _add(fig.issued_amount, item.face_value, item.currency)
            if status is ItemStatus.SETTLED:
                fig.settled += 1
                _add(fig.settled_amount, item.paid, item.currency)
            else:
                _add(fig.outstanding_amount, item.outstanding, item.currency)
            if status is ItemStatus.OVERDUE:
                fig.overdue += 1
                _add(fig.overdue_amount, item.outstanding, item.currency)
    currency_of = {i.id: i.currency for i in items}
    for fin in financings:
        if fin.status in (FinancingStatus.DECLINED, FinancingStatus.REFERRED):
            scenario = scenario_of_item.get(fin.item_id)
            for key in ((scenario.value,) if scenario else ()) + ("all",):
                if fin.status is FinancingStatus.DECLINED:
                    figures[key].declined += 1
                else:
                    figures[key].referred += 1
            continue
        if fin.status not in (
            FinancingStatus.APPROVED,
            FinancingStatus.ACTIVE,
            FinancingStatus.REPAID,
            FinancingStatus.DEFAULTED,
        ):
            continue
        scenario = scenario_of_item.get(fin.item_id)
        for key in ((scenario.value,) if scenario else ()) + ("all",):
            figures[key].financed += 1
            _add(figures[key].financed_amount, fin.principal, currency_of[fin.item_id])
    return dict(figures)
