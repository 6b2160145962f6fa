"""One trade's documents over time: order, deliveries, receipts, invoices, credit notes, payments.

Dates and quantities follow the distributions of ``calibration``; every amount is a quantised
Decimal. ``TradeOptions`` lets the fraud injector shape a trade (force a clean payment, scale
its value, pick the goods).
"""

from __future__ import annotations

import datetime as dt
import math
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal

from fourflow.simulation import calibration as cal
from fourflow.simulation.network import Edge, Network
from fourflow.simulation.records import (
    Despatch,
    Event,
    Invoice,
    Line,
    Order,
    Party,
    Payment,
    Receipt,
    cents,
)

Record = Order | Despatch | Receipt | Invoice | Payment | Event
DAY = dt.timedelta(days=1)


@dataclass(slots=True)
class TradeOptions:
    """How the injector shapes a trade.

    Attributes:
        value: the net order value to aim at (else drawn around the edge's base).
        items: the goods to order (else drawn from the edge's catalogue).
        clean_payment: paid in full, on time or early, in one instalment (no default).
        logistics: write despatches, receipts and events (False for phantom trades).
    """

    value: Decimal | None = None
    items: tuple[Line, ...] | None = None
    clean_payment: bool = False
    logistics: bool = True


@dataclass(slots=True)
class Trade:
    """Everything written for one trade, in the order of writing."""

    order: Order
    despatches: list[Despatch] = field(default_factory=list)
    receipts: list[Receipt] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    invoices: list[Invoice] = field(default_factory=list)
    credit_notes: list[Invoice] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    defaulted: bool = False
    days_late: int | None = None
    disputes: dict[str, dt.date] = field(default_factory=dict)  # invoice number -> raised on

    def records(self) -> list[Record]:
        """The trade's documents (all kinds) in writing order."""
        return [self.order, *self.despatches, *self.events, *self.receipts, *self.invoices,
                *self.credit_notes, *self.payments]  # fmt: skip


def _weighted(rng: random.Random, pairs: tuple[tuple[int, float], ...]) -> int:
    values = [v for v, _ in pairs]
    weights = [w for _, w in pairs]
    return rng.choices(values, weights)[0]


def _days(value: float) -> int:
    return round(value)


class Timeline:
    """Builds trades; owns the per-party document counters (numbers are unique)."""

    def __init__(
        self,
        rng: random.Random,
        net: Network,
        *,
        seed: int = 0,
        payment_stress: float = 1.0,
        disputes: bool = False,
    ) -> None:
        self.rng = rng
        self.net = net
        self._seq: dict[str, int] = {}
        self._seed = seed
        self._stress = payment_stress
        self._disputes = disputes
        self._discipline: dict[str, float] = {}
        self._propensity: dict[str, float] = {}

    def discipline(self, payer: Party) -> float:
        """The payer's lasting payment habit: its probability of paying an invoice late.

        Drawn once per payer from a Beta distribution whose mean is the IBM AR late share
        (so the population stays calibrated) from its own seeded stream, which leaves the
        main stream, and so every other draw, unchanged. ``payment_stress`` scales it (a
        stressed population for drift tests).
        """
        share = self._discipline.get(payer.id)
        if share is None:
            own = random.Random(f"{self._seed}/discipline/{payer.id}")  # noqa: S311
            mean, strength = cal.PAID_LATE_SHARE, cal.DISCIPLINE_STRENGTH
            share = own.betavariate(mean * strength, (1 - mean) * strength)
            share = min(0.95, max(0.01, share * self._stress))
            self._discipline[payer.id] = share
        return share

    def dispute_propensity(self, payer: Party) -> float:
        """The payer's lasting habit of disputing invoices: its probability of disputing one.

        Drawn once per payer, from its own seeded stream, from the Beta distribution fitted
        on the IBM AR customers (``DISPUTED_SHARE``, ``DISPUTE_STRENGTH``).
        """
        share = self._propensity.get(payer.id)
        if share is None:
            own = random.Random(f"{self._seed}/disputes/{payer.id}")  # noqa: S311
            mean, strength = cal.DISPUTED_SHARE, cal.DISPUTE_STRENGTH
            share = own.betavariate(mean * strength, (1 - mean) * strength)
            self._propensity[payer.id] = share
        return share

    def dispute(self, invoice: Invoice) -> dt.date | None:
        """The day the buyer disputes ``invoice``, or None (always None unless ``disputes``).

        Drawn from the invoice's own seeded stream, so the main stream is left as it is.
        """
        if not self._disputes:
            return None
        own = random.Random(f"{self._seed}/dispute/{invoice.number}")  # noqa: S311
        if own.random() >= self.dispute_propensity(invoice.buyer):
            return None
        return invoice.issue_date + own.randint(1, cal.DISPUTE_RAISED_MAX_DAYS) * DAY

    def number(self, prefix: str, party: Party) -> str:
        """The next document number ``<prefix>-<party>-<seq6>``."""
        key = f"{prefix}-{party.id}"
        self._seq[key] = self._seq.get(key, 0) + 1
        return f"{key}-{self._seq[key]:06d}"

    def new_uuid(self) -> str:
        """A random (seeded) UUID."""
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    # --- distributions --------------------------------------------------------------------

    def lead_time(self) -> int:
        """Order to scheduled delivery, days: SCMS lognormal scaled to domestic trade."""
        raw = self.rng.lognormvariate(cal.LEAD_TIME_MU, cal.LEAD_TIME_SIGMA)
        days = _days(raw * cal.DOMESTIC_TIME_SCALE)
        return max(cal.LEAD_TIME_MIN_DAYS, min(cal.LEAD_TIME_MAX_DAYS, days))

    def delivery_delay(self) -> int:
        """Actual minus scheduled delivery, days (SCMS shares and lognormal tails, scaled)."""
        u = self.rng.random()
        if u < cal.DELIVERY_LATE_SHARE:
            mu, sigma, sign = cal.DELIVERY_LATE_MU, cal.DELIVERY_LATE_SIGMA, 1
        elif u < cal.DELIVERY_LATE_SHARE + cal.DELIVERY_EARLY_SHARE:
            mu, sigma, sign = cal.DELIVERY_EARLY_MU, cal.DELIVERY_EARLY_SIGMA, -1
        else:
            return 0
        days = _days(self.rng.lognormvariate(mu, sigma) * cal.DOMESTIC_TIME_SCALE)
        return sign * min(cal.DELIVERY_DELAY_MAX_DAYS, days)

    def payment_lateness(
        self, terms: int, late_share: float = cal.PAID_LATE_SHARE, *, disputed: bool | None = None
    ) -> int:
        """Days after the due date (negative: early), from the IBM AR fit.

        ``late_share`` is the payer's probability of paying late (its discipline); a payer
        that is often late is also later when it is (the lognormal's location moves with it).
        ``disputed`` (None when the simulation has no disputes) moves both to the IBM figures
        of invoices with that dispute status: a disputed one is likelier to be late, and later.
        """
        share, mu = late_share, cal.DAYS_LATE_MU
        if disputed is not None:
            given = cal.PAID_LATE_SHARE_DISPUTED if disputed else cal.PAID_LATE_SHARE_UNDISPUTED
            share = min(0.95, max(0.01, late_share * given / cal.PAID_LATE_SHARE))
            mu = cal.DAYS_LATE_MU_DISPUTED if disputed else cal.DAYS_LATE_MU_UNDISPUTED
        u = self.rng.random()
        if u < share:
            mu += math.log(late_share / cal.PAID_LATE_SHARE)
            return max(1, _days(self.rng.lognormvariate(mu, cal.DAYS_LATE_SIGMA)))
        if u < share + cal.PAID_ON_DUE_SHARE:
            return 0
        early = _days(self.rng.lognormvariate(cal.DAYS_EARLY_MU, cal.DAYS_EARLY_SIGMA))
        return -max(1, min(terms - 1, early))

    def terms(self, buyer: Party) -> int:
        """Payment terms in days by the buyer's kind (30/60/90)."""
        kind = {0: "core", -1: "distributor"}.get(buyer.tier or 0, "supplier")
        if buyer.tier is not None and buyer.tier > 0:
            kind = "supplier"
        return _weighted(self.rng, cal.TERMS_WEIGHTS[kind])

    def order_lines(
        self, edge: Edge, value: Decimal, items: tuple[Line, ...] | None
    ) -> tuple[Line, ...]:
        """1-4 lines of the seller's goods whose net value is about ``value``."""
        rng = self.rng
        goods = items or tuple(rng.sample(edge.items, rng.randint(1, min(4, len(edge.items)))))
        weights = [rng.uniform(0.5, 1.5) for _ in goods]
        total = sum(weights)
        lines = []
        for i, (item, weight) in enumerate(zip(goods, weights, strict=True), start=1):
            share = value * Decimal(str(round(weight / total, 6)))
            qty = max(Decimal(1), (share / item.unit_price).to_integral_value())
            lines.append(replace(item, line_id=str(i), quantity=qty))
        return tuple(lines)

    # --- a trade --------------------------------------------------------------------------

    def build(self, edge: Edge, day: dt.date, season: float, opts: TradeOptions) -> Trade:
        """All documents of one trade ordered on ``day``."""
        rng = self.rng
        value = opts.value
        if value is None:
            factor = rng.lognormvariate(0, cal.ORDER_SIGMA) * season**cal.SEASON_VALUE_EXPONENT
            value = edge.base_value * Decimal(str(round(factor, 4)))
        lines = self.order_lines(edge, value, opts.items)
        seller, buyer = edge.seller, edge.buyer
        requested = day + self.lead_time() * DAY
        order = Order(self.number("PO", buyer), day, buyer, seller, lines, requested,
                      cal.CURRENCY, cal.VAT_RATE)  # fmt: skip
        trade = Trade(order)
        terms = self.terms(buyer)
        if not opts.logistics:
            issued = requested + rng.randint(0, 5) * DAY
            trade.invoices.append(self._invoice(order, lines, issued, terms, None, None))
            return trade
        self._deliver(trade, requested)
        self._bill(trade, terms)
        if rng.random() < cal.RETURN_SHARE and not opts.clean_payment:
            self._credit(trade)
        self._pay(trade, clean=opts.clean_payment)
        return trade

    def _split(self, lines: tuple[Line, ...], parts: int) -> list[tuple[Line, ...]]:
        rng = self.rng
        out: list[list[Line]] = [[] for _ in range(parts)]
        for line in lines:
            if line.quantity < parts:
                out[rng.randrange(parts)].append(line)
                continue
            cuts = sorted(rng.uniform(0.15, 0.85) for _ in range(parts - 1))
            left = line.quantity
            previous = 0.0
            for k in range(parts):
                if k == parts - 1:
                    qty = left
                else:
                    qty = max(
                        Decimal(1),
                        (
                            line.quantity * Decimal(str(round(cuts[k] - previous, 4)))
                        ).to_integral_value(),
                    )
                    qty = min(qty, left - (parts - 1 - k))
                    previous = cuts[k]
                left -= qty
                out[k].append(replace(line, quantity=qty))
        return [tuple(group) for group in out if group]

    def _deliver(self, trade: Trade, requested: dt.date) -> None:
        rng = self.rng
        order = trade.order
        parts = self._split(order.lines, _weighted(rng, cal.DELIVERY_COUNT_WEIGHTS))
        scheduled = requested
        for k, goods in enumerate(parts):
            if k:
                scheduled = scheduled + rng.randint(3, 20) * DAY
            delivered = max(order.issue_date + 2 * DAY, scheduled + self.delivery_delay() * DAY)
            shipped = max(order.issue_date + DAY, delivered - rng.randint(1, 4) * DAY)
            despatch = Despatch(self.number("DN", order.seller), shipped, order.number,
                                order.seller, order.buyer, goods, shipped, delivered)  # fmt: skip
            trade.despatches.append(despatch)
            trade.events.append(
                self.event("shipping", rng.choice(self.net.logistics), despatch, shipped)
            )
            stores = order.buyer.tier in (0, -1) and rng.random() < cal.WAREHOUSE_SHARE
            if stores:
                trade.events.append(
                    self.event("storing", rng.choice(self.net.warehouses), despatch, delivered)
                )
            received = list(goods)
            short = [Decimal(0)] * len(goods)
            if rng.random() < cal.SHORT_DELIVERY_SHARE:
                i = rng.randrange(len(goods))
                if goods[i].quantity > 1:
                    missing = max(
                        Decimal(1),
                        (
                            goods[i].quantity * Decimal(str(round(rng.uniform(0.01, 0.05), 4)))
                        ).to_integral_value(),
                    )
                    received[i] = replace(goods[i], quantity=goods[i].quantity - missing)
                    short[i] = missing
            trade.receipts.append(Receipt(self.number("GRN", order.buyer), delivered, order.number,
                                          despatch.number, order.seller, order.buyer,
                                          tuple(received), tuple(short)))  # fmt: skip

    def event(self, step: str, actor: Party, despatch: Despatch, day: dt.date,
              invoice: str | None = None) -> Event:  # fmt: skip
        """An EPCIS ObjectEvent by ``actor`` for a despatch."""
        when = dt.datetime.combine(day, dt.time(self.rng.randint(7, 19), self.rng.randrange(60)))
        return Event(f"urn:uuid:{self.new_uuid()}", when, step, actor, despatch.seller,
                     despatch.buyer, despatch.lines, despatch.order_number, despatch.number,
                     invoice)  # fmt: skip

    def _invoice(self, order: Order, lines: tuple[Line, ...], issued: dt.date, terms: int,
                 despatch: str | None, receipt: str | None) -> Invoice:  # fmt: skip
        renumbered = tuple(replace(ln, line_id=str(i)) for i, ln in enumerate(lines, start=1))
        return Invoice(self.number("INV", order.seller), issued, issued + terms * DAY,
                       order.seller, order.buyer, renumbered, order.number, terms,
                       order.currency, order.vat_rate, despatch, receipt)  # fmt: skip

    def _bill(self, trade: Trade, terms: int) -> None:
        rng = self.rng
        order = trade.order
        split = rng.random() < cal.SPLIT_INVOICE_SHARE
        groups: list[list[int]] = [list(range(len(trade.receipts)))]
        if split and len(trade.receipts) >= 2:
            groups = [[0], list(range(1, len(trade.receipts)))]
        for group in groups:
            receipts = [trade.receipts[i] for i in group]
            lines = _merge([ln for r in receipts for ln in r.lines])
            issued = max(r.issue_date for r in receipts) + rng.randint(0, 5) * DAY
            one = len(group) == 1
            despatch = trade.despatches[group[0]].number if one else None
            receipt = receipts[0].number if one else None
            if split and len(groups) == 1 and len(lines) >= 2:
                half = len(lines) // 2
                for part in (lines[:half], lines[half:]):
                    trade.invoices.append(
                        self._invoice(order, part, issued, terms, despatch, receipt)
                    )
                continue
            trade.invoices.append(self._invoice(order, lines, issued, terms, despatch, receipt))

    def _credit(self, trade: Trade) -> None:
        rng = self.rng
        invoice = trade.invoices[0]
        candidates = [ln for ln in invoice.lines if ln.quantity >= 2]
        if not candidates:
            return
        line = rng.choice(candidates)
        qty = max(
            Decimal(1),
            (line.quantity * Decimal(str(round(rng.uniform(0.02, 0.10), 4)))).to_integral_value(),
        )
        issued = invoice.issue_date + rng.randint(5, 30) * DAY
        note = Invoice(self.number("CN", invoice.seller), issued, invoice.due_date, invoice.seller,
                       invoice.buyer, (replace(line, line_id="1", quantity=qty),),
                       invoice.order_number, invoice.terms_days, invoice.currency,
                       invoice.vat_rate,
                       credited_invoice=(invoice.number, invoice.issue_date))  # fmt: skip
        trade.credit_notes.append(note)

    def payment(self, invoice: Invoice | None, *, payee: Party, payer: Party, amount: Decimal,
                day: dt.date, text: str | None = None) -> Payment:  # fmt: skip
        """A credit transfer from ``payer`` to ``payee`` for ``invoice`` (if any)."""
        return Payment(
            self.number("PAY", payer), f"NTF-{self.number('MSG', payee)}", day, amount,
            cal.CURRENCY, payee, payee.account, payer.name, payer.uscc, payer.account,
            payer.bank_bic, invoice.number if invoice else None,
            invoice.issue_date if invoice else None, text,
        )  # fmt: skip

    def _pay(
        self, trade: Trade, *, clean: bool, payer_for: Callable[[int], Party] | None = None
    ) -> None:
        rng = self.rng
        small_buyer = (trade.order.buyer.tier or 0) >= 2
        late_share = self.discipline(trade.order.buyer)
        default_share = cal.DEFAULT_SHARE_SMALL_BUYER if small_buyer else cal.DEFAULT_SHARE
        default_share = min(0.5, default_share * late_share / cal.PAID_LATE_SHARE)
        for i, invoice in enumerate(trade.invoices):
            credited = sum((cn.totals.gross for cn in trade.credit_notes
                            if cn.credited_invoice and cn.credited_invoice[0] == invoice.number),
                           Decimal("0.00"))  # fmt: skip
            due = invoice.totals.gross - credited
            disputed_on = None if clean else self.dispute(invoice)
            if not clean and rng.random() < default_share:
                trade.defaulted = True
                if disputed_on is not None:
                    trade.disputes[invoice.number] = disputed_on
                continue
            late = self.payment_lateness(
                invoice.terms_days, late_share,
                disputed=(disputed_on is not None) if self._disputes else None,
            )  # fmt: skip
            if clean:
                late = min(late, 0)
            day = invoice.due_date + late * DAY
            if disputed_on is not None:  # raised before the payment, at the latest that day
                trade.disputes[invoice.number] = min(disputed_on, day)
            trade.days_late = late
            payer = payer_for(i) if payer_for else invoice.buyer
            if not clean and rng.random() < cal.INSTALMENT_SHARE:
                first = cents(due * Decimal(str(round(rng.uniform(0.4, 0.7), 4))))
                trade.payments.append(self.payment(invoice, payee=invoice.seller, payer=payer,
                                                   amount=first, day=day))  # fmt: skip
                if rng.random() < cal.SECOND_INSTALMENT_MISSING_SHARE:
                    trade.defaulted = True
                    continue
                day = day + rng.randint(7, 30) * DAY
                trade.days_late = (day - invoice.due_date).days
                due -= first
            trade.payments.append(self.payment(invoice, payee=invoice.seller, payer=payer,
                                               amount=due, day=day))  # fmt: skip

    def pay_again(self, trade: Trade) -> None:
        """Replace the trade's payments by a fresh draw of the normal payment rules."""
        trade.payments.clear()
        trade.defaulted = False
        self._pay(trade, clean=False)

    def whole_despatch(self, order: Order, shipped: dt.date) -> Despatch:
        """A despatch advice for the whole order (phantom trades' paper evidence)."""
        return Despatch(self.number("DN", order.seller), shipped, order.number, order.seller,
                        order.buyer, order.lines, shipped, shipped + 2 * DAY)  # fmt: skip

    def repay(self, trade: Trade, payer_for: Callable[[int], Party]) -> None:
        """Replace the trade's payments: clean, with the payer chosen per invoice."""
        trade.payments.clear()
        trade.defaulted = False
        self._pay(trade, clean=True, payer_for=payer_for)


def _merge(lines: list[Line]) -> tuple[Line, ...]:
    """Sum quantities of the same item (several receipts billed on one invoice)."""
    merged: dict[str, Line] = {}
    for line in lines:
        if line.gtin in merged:
            merged[line.gtin] = replace(
                merged[line.gtin], quantity=merged[line.gtin].quantity + line.quantity
            )
        else:
            merged[line.gtin] = line
    return tuple(ln for ln in merged.values() if ln.quantity > 0)
