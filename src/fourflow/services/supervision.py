"""What a regulator sees: counts and amounts by scenario, live from the store."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fourflow.domain.debt import ItemStatus
from fourflow.domain.financing import FinancingStatus
from fourflow.domain.money import Money
from fourflow.domain.scenarios import Scenario
from fourflow.risk.review import GOODS_SCENARIO
from fourflow.services import settlement_figures
from fourflow.services.ports import UnitOfWorkFactory
from fourflow.services.receipts import live_pledge

DEFAULT_GRACE_DAYS = 5
#: The 2025 regulation on payments to SMEs: within 60 days of delivery or acceptance.
SME_PAYMENT_DAYS = 60


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
    term_days: dict[str, int] = field(default_factory=dict)
    days_to_pay: list[int] = field(default_factory=list)
    settlement: dict[str, Any] | None = None  # payment on its day (``all`` only)

    def as_dict(self) -> dict[str, object]:
        """Plain data with amounts as decimal strings."""

        def amounts(values: dict[str, Decimal]) -> dict[str, str]:
            return {c: Money(v, c).plain() for c, v in sorted(values.items())}

        extra = {} if self.settlement is None else {"settlement": self.settlement}
        return extra | {
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
            "term_distribution": {b: self.term_days.get(b, 0) for b in TERM_BUCKETS},
            "days_to_pay": (
                {"settled": len(self.days_to_pay),
                 "mean": round(sum(self.days_to_pay) / len(self.days_to_pay), 1),
                 "over_60": sum(1 for d in self.days_to_pay if d > SME_PAYMENT_DAYS)}
                if self.days_to_pay else {"settled": 0, "mean": None, "over_60": 0}
            ),
        }  # fmt: skip


#: Term (issue to maturity) buckets of 银发〔2025〕77号: within 6 months in principle, 1 year at
#: most.
TERM_BUCKETS = ("<=90", "91-183", "184-365", ">365")


def term_bucket(days: int) -> str:
    """The bucket of a term in days."""
    if days <= 90:
        return "<=90"
    if days <= 183:
        return "91-183"
    return "184-365" if days <= 365 else ">365"


def _add(bucket: dict[str, Decimal], minor: int, currency: str) -> None:
    bucket[currency] = bucket.get(currency, Decimal(0)) + Money.from_minor(minor, currency).amount


def regulator_summary(
    *, uow_factory: UnitOfWorkFactory, as_of: dt.date, grace_days: int = DEFAULT_GRACE_DAYS
) -> dict[str, ScenarioFigures]:
    """Figures by scenario (and ``all``): trades, verified, issued, financed, outstanding,
    settled, overdue (count and amount), requests declined and referred by the review robot,
    the items' term distribution (77号 buckets) and days to pay (issue to the last repayment
    of settled items, and how many took over 60 days); ``all`` also counts the risk engine's
    monitoring alerts and carries the settlement figures (``settlement_figures``: due today,
    paid on time and late, overdue by age band, defaulted, routes locked and changed, margin
    calls, payments that bypassed the locked route). Financings against warehouse receipts
    count under ``warehouse_receipt`` and ``all``: financed (count, amount), declined, and what the
    holders still owe on live pledges (outstanding)."""
    figures: dict[str, ScenarioFigures] = defaultdict(ScenarioFigures)
    with uow_factory() as uow:
        trades = {t.id: t for t in uow.trades.list()}
        items = uow.items.list()
        financings = uow.financings.list()
        goods = uow.goods_financings.list()
        # what each live goods financing's holder still owes its bank (DvP sales pay it down)
        owed_on = {
            g.id: live_pledge(uow, g.receipt_id)[1]
            for g in goods if g.status in (FinancingStatus.APPROVED, FinancingStatus.ACTIVE)
        }  # fmt: skip
        repayments = uow.repayments.list()
        figures["all"].risk_alerts = len(uow.risk_alerts.list())
    # Payment on its day (issue 20): due today, paid on time and late, overdue by age,
    # defaulted, routes locked and changed, margin calls, payments that bypassed the route.
    figures["all"].settlement = settlement_figures.figures(uow_factory=uow_factory, as_of=as_of)
    last_paid: dict[str, dt.date] = {}
    for r in repayments:
        if r.value_date <= as_of:
            last_paid[r.item_id] = max(r.value_date, last_paid.get(r.item_id, r.value_date))
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
            bucket = term_bucket((item.maturity_date - item.issue_date).days)
            fig.term_days[bucket] = fig.term_days.get(bucket, 0) + 1
            if status is ItemStatus.SETTLED:
                fig.settled += 1
                _add(fig.settled_amount, item.paid, item.currency)
                if item.id in last_paid:
                    fig.days_to_pay.append((last_paid[item.id] - item.issue_date).days)
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
    for g in goods:
        for key in (GOODS_SCENARIO, "all"):
            fig = figures[key]
            if g.status is FinancingStatus.DECLINED:
                fig.declined += 1
            elif g.status is FinancingStatus.REFERRED:
                fig.referred += 1
            elif g.status in _FINANCED:
                fig.financed += 1
                _add(fig.financed_amount, g.principal, g.currency)
                if g.id in owed_on:
                    _add(fig.outstanding_amount, owed_on[g.id], g.currency)
    return dict(figures)


_FINANCED = (
    FinancingStatus.APPROVED,
    FinancingStatus.ACTIVE,
    FinancingStatus.REPAID,
    FinancingStatus.DEFAULTED,
)
