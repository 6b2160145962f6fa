"""The simulation run: schedule trades over the period, inject frauds, stream to a sink.

Nothing is held beyond one trade (plus per-relationship running means and counters): each
trade's documents, label and truth row go to the ``Sink`` as soon as they are built.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Protocol

from fourflow.domain.fraud import FraudLabel, FraudType
from fourflow.simulation import calibration as cal
from fourflow.simulation.network import Edge, Network, add_shell, build_network
from fourflow.simulation.records import (
    Event,
    Invoice,
    Order,
    Party,
    Payment,
    Receipt,
    cents,
    totals,
)
from fourflow.simulation.timeline import DAY, Record, Timeline, Trade, TradeOptions

GENERATOR_VERSION = "fourflow-simulator/1"
# Trades one case of each fraud affects (a circular case is three legs).
CASE_SIZE = {FraudType.CIRCULAR_TRADING: 3}


@dataclass(frozen=True, slots=True)
class SimulationParams:
    """What to simulate."""

    seed: int
    trades: int
    scenario: str = "manufacturing"
    fraud_rate: float = 0.05
    start: dt.date = dt.date(2024, 1, 1)
    months: int = 12
    tiers: int = 3
    payment_stress: float = 1.0
    #: Simulate buyers' disputes (IBM AR calibration: a disputed invoice is likelier to be paid
    #: late). They reach the truth rows only; on the platform a debtor raises a dispute on its
    #: debt item (``fourflow item dispute``), so the platform simulation leaves this off and
    #: the cold-start history (``fourflow.risk.bootstrap``) turns it on.
    disputes: bool = False

    def as_json(self) -> dict[str, Any]:
        """The parameters for the manifest."""
        return {"seed": self.seed, "trades": self.trades, "scenario": self.scenario,
                "fraud_rate": self.fraud_rate, "start": self.start.isoformat(),
                "months": self.months, "tiers": self.tiers,
                "payment_stress": self.payment_stress, "disputes": self.disputes}  # fmt: skip


class Sink(Protocol):
    """Where the simulation's output goes (files, in the CLI; lists, in tests)."""

    def parties(self, parties: Sequence[Party]) -> None:
        """All organisations (once, before any document)."""

    def document(self, record: Record, *, filed_on: dt.date | None = None, copy: int = 0,
                 native: bool = False, sender: str = "") -> None:  # fmt: skip
        """One document; ``copy`` > 0 for a re-sent copy, ``native`` for native JSON;
        ``sender`` is the USCC of the member that submits it to the platform."""

    def label(self, label: FraudLabel) -> None:
        """One injected fraud."""

    def truth(self, row: dict[str, Any]) -> None:
        """One trade's ground truth."""


def _months_end(start: dt.date, months: int) -> dt.date:
    year, month = divmod(start.month - 1 + months, 12)
    return dt.date(start.year + year, month + 1, 1)


def daily_counts(start: dt.date, months: int, trades: int) -> Iterator[tuple[dt.date, int, float]]:
    """(day, orders that day, season weight): ``trades`` spread by the month weights, exactly."""
    end = _months_end(start, months)
    days = [start + k * DAY for k in range((end - start).days)]
    weights = [cal.MONTH_WEIGHTS[d.month - 1] for d in days]
    total = sum(weights)
    cumulative = 0.0
    done = 0
    for day, weight in zip(days, weights, strict=True):
        cumulative += weight
        target = round(trades * cumulative / total)
        yield day, target - done, weight
        done = target


def fraud_plan(rng: random.Random, trades: int, rate: float) -> dict[int, FraudType]:
    """Trade positions at which each fraud case starts (volume spikes in the second half)."""
    target = round(rate * trades)
    types = list(FraudType)
    cases: list[FraudType] = []
    for i, fraud in enumerate(types):
        share = target // len(types) + (1 if i < target % len(types) else 0)
        cases.extend([fraud] * max(0, round(share / CASE_SIZE.get(fraud, 1))))
    spikes = [c for c in cases if c is FraudType.VOLUME_SPIKE]
    others = [c for c in cases if c is not FraudType.VOLUME_SPIKE]
    upper = range(trades // 2, trades)
    spike_at = rng.sample(upper, min(len(spikes), len(upper)))
    taken = set(spike_at)
    free = [i for i in range(trades) if i not in taken]
    rng.shuffle(others)
    plan = dict.fromkeys(spike_at, FraudType.VOLUME_SPIKE)
    plan.update(zip(rng.sample(free, min(len(others), len(free))), others, strict=False))
    return plan


class Simulation:
    """One run: the network, the timeline builder and the running state of the output."""

    def __init__(self, params: SimulationParams, sink: Sink) -> None:
        self.params = params
        self.sink = sink
        self.rng = random.Random(params.seed)  # noqa: S311 (a simulation, not cryptography)
        self.net: Network = build_network(
            self.rng, trades=params.trades, tiers=params.tiers, scenario=params.scenario
        )
        self.timeline = Timeline(
            self.rng, self.net, seed=params.seed, payment_stress=params.payment_stress,
            disputes=params.disputes,
        )  # fmt: skip
        self.history: dict[int, tuple[int, Decimal]] = {}  # edge -> (trades, value sum)
        self.counts: dict[str, int] = {}
        self.labels: dict[str, int] = {}
        self.trade_count = 0
        self.cycles = 0
        self.banks_by_bic = {b.bank_bic: b for b in self.net.banks}

    # --- output ---------------------------------------------------------------------------

    def _emit(self, trade: Trade, frauds: tuple[FraudType, ...], kind: str,
              sender: str | None = None) -> None:  # fmt: skip
        for record in trade.records():
            self._document(record, sender=sender or self.sender(record))
        self.trade_count += 1
        self.sink.truth(truth_row(f"T{self.trade_count:07d}", trade, frauds, kind))

    def sender(self, record: Record) -> str:
        """Who submits a document (USCC): its issuing party. The buyer its orders and receipt
        advices, the seller its despatch advices and invoices, the carrier or warehouse its
        events, the payee's bank its payment notifications."""
        if isinstance(record, (Order, Receipt)):
            return record.buyer.uscc
        if isinstance(record, Event):
            return record.actor.uscc
        if isinstance(record, Payment):
            bank = self.banks_by_bic.get(record.payee.bank_bic)
            return bank.uscc if bank is not None else record.payee.uscc
        return record.seller.uscc

    def _document(self, record: Record, **kw: Any) -> None:
        kw.setdefault("sender", self.sender(record))
        name = type(record).__name__.lower()
        if isinstance(record, Invoice) and record.credited_invoice:
            name = "credit_note"
        self.counts[name] = self.counts.get(name, 0) + 1
        self.sink.document(record, **kw)

    def _label(self, fraud: FraudType, seller: Party, numbers: Sequence[str], note: str) -> None:
        self.labels[fraud.value] = self.labels.get(fraud.value, 0) + 1
        self.sink.label(FraudLabel(fraud, seller.uscc, tuple(numbers), note))

    # --- the run --------------------------------------------------------------------------

    def run(self, progress: Callable[[int], None] = lambda _n: None) -> dict[str, Any]:
        """Generate everything; ``progress`` gets the number of trades done after each."""
        params = self.params
        plan = fraud_plan(self.rng, params.trades, params.fraud_rate)
        pending: list[FraudType] = []
        shells: list[tuple[Party, Party, tuple[str, ...]]] = []
        for _ in range(sum(1 for f in plan.values() if f is FraudType.RELATED_PARTIES)):
            buyer = self.rng.choice(self.net.cores + self.net.tiers[0])
            shell, shared = add_shell(self.rng, self.net, buyer)
            shells.append((shell, buyer, shared))
        self.sink.parties(self.net.parties)
        index = 0
        for day, count, season in daily_counts(params.start, params.months, params.trades):
            goal = self.trade_count + count
            while self.trade_count < goal:
                fraud = plan.get(index)
                index += 1
                if fraud is not None:
                    pending.append(fraud)
                if pending:
                    self._inject(pending.pop(0), day, season, shells)
                else:
                    self._emit(self._clean(day, season), (), "clean")
                progress(self.trade_count)
        return {"trades": self.trade_count, "documents": dict(sorted(self.counts.items())),
                "labels": dict(sorted(self.labels.items())),
                "parties": len(self.net.parties)}  # fmt: skip

    def _edge_index(self) -> int:
        return self.rng.randrange(len(self.net.edges))

    def _record(self, index: int, trade: Trade) -> None:
        count, total = self.history.get(index, (0, Decimal(0)))
        net = sum((ln.amount for ln in trade.order.lines), Decimal(0))
        self.history[index] = (count + 1, total + net)

    def _clean(self, day: dt.date, season: float, opts: TradeOptions | None = None,
               index: int | None = None) -> Trade:  # fmt: skip
        index = self._edge_index() if index is None else index
        trade = self.timeline.build(self.net.edges[index], day, season, opts or TradeOptions())
        self._record(index, trade)
        return trade

    def _inject(self, fraud: FraudType, day: dt.date, season: float,
                shells: list[tuple[Party, Party, tuple[str, ...]]]) -> None:  # fmt: skip
        inject = {
            FraudType.DUPLICATE_INVOICE: self._duplicate,
            FraudType.NEAR_DUPLICATE_INVOICE: self._near_duplicate,
            FraudType.PHANTOM_TRADE: self._phantom,
            FraudType.INFLATED_INVOICE: self._inflated,
            FraudType.CIRCULAR_TRADING: self._circular,
            FraudType.ROUND_TRIP_PAYMENT: self._round_trip,
            FraudType.THIRD_PARTY_PAYER: self._third_party,
            FraudType.VOLUME_SPIKE: self._spike,
            FraudType.SELF_ASSERTED_EVIDENCE: self._self_asserted,
        }
        if fraud is FraudType.RELATED_PARTIES:
            self._related(day, season, shells.pop())
        else:
            inject[fraud](day, season)

    # --- injections (docs/simulator.md, "Fraud injection") ----------------------------------

    def _duplicate(self, day: dt.date, season: float) -> None:
        trade = self._clean(day, season)
        self._emit(trade, (FraudType.DUPLICATE_INVOICE,), "clean")
        invoice = trade.invoices[0]
        variant = self.rng.choice(("identical", "relayout", "native"))
        filed = invoice.issue_date + self.rng.randint(7, 45) * DAY
        if variant == "relayout":
            copy = replace(invoice, uuid=self.timeline.new_uuid(), note="COPY", reverse_lines=True)
            self._document(copy, filed_on=filed, copy=1)
        else:
            self._document(invoice, filed_on=filed, copy=1, native=variant == "native")
        self._label(
            FraudType.DUPLICATE_INVOICE,
            invoice.seller,
            [invoice.number],
            f"invoice re-sent on {filed.isoformat()} ({variant})",
        )

    def _near_duplicate(self, day: dt.date, season: float) -> None:
        rng = self.rng
        trade = self._clean(day, season)
        self._emit(trade, (FraudType.NEAR_DUPLICATE_INVOICE,), "clean")
        original = trade.invoices[0]
        head, seq = original.number.rsplit("-", 1)
        number = rng.choice((f"{original.number}A", f"{original.number}-1", f"{head}-0{seq}"))
        variant = rng.choice(("number", "date", "amount"))
        copy = replace(original, number=number)
        if variant == "date":
            shift = rng.randint(1, 5) * DAY
            copy = replace(copy, issue_date=copy.issue_date + shift, due_date=copy.due_date + shift)
        elif variant == "amount":
            i = rng.randrange(len(copy.lines))
            line = copy.lines[i]
            delta = max(
                Decimal(1),
                (
                    line.quantity * Decimal(str(round(rng.uniform(0.01, 0.03), 4)))
                ).to_integral_value(),
            )
            qty = (
                line.quantity + delta
                if rng.random() < 0.5 or line.quantity <= delta
                else line.quantity - delta
            )
            lines = list(copy.lines)
            lines[i] = replace(line, quantity=qty)
            copy = replace(copy, lines=tuple(lines))
        self._document(copy, filed_on=original.issue_date + rng.randint(3, 30) * DAY)
        self._label(
            FraudType.NEAR_DUPLICATE_INVOICE,
            copy.seller,
            [copy.number],
            f"near-duplicate of {original.number} ({variant} altered)",
        )

    def _phantom(self, day: dt.date, season: float) -> None:
        rng = self.rng
        edge = self.net.edges[self._edge_index()]
        trade = self.timeline.build(edge, day, season, TradeOptions(logistics=False))
        trade.defaulted = True
        invoice = trade.invoices[0]
        variant = "no_logistics" if rng.random() < 0.6 else "foreign_carrier"
        if variant == "foreign_carrier":
            shipped = max(day + DAY, invoice.issue_date - rng.randint(1, 5) * DAY)
            despatch = self.timeline.whole_despatch(trade.order, shipped)
            outsiders = [
                p for p in self.net.traders() if p.id not in (edge.seller.id, edge.buyer.id)
            ]
            carrier = rng.choice(outsiders)
            trade.despatches.append(despatch)
            trade.events.append(self.timeline.event("shipping", carrier, despatch, shipped))
            note = f"no receipt; shipping event signed by {carrier.uscc} (no logistics role)"
        else:
            note = "order and invoice only: no despatch, receipt or transport evidence"
        self._emit(trade, (FraudType.PHANTOM_TRADE,), "phantom")
        self._label(FraudType.PHANTOM_TRADE, invoice.seller, [invoice.number], f"{variant}: {note}")

    def _inflated(self, day: dt.date, season: float) -> None:
        rng = self.rng
        trade = self._clean(day, season)
        invoice = trade.invoices[0]
        i = rng.randrange(len(invoice.lines))
        line = invoice.lines[i]
        extra = max(
            Decimal(1),
            (line.quantity * Decimal(str(round(rng.uniform(0.10, 0.50), 4)))).to_integral_value(),
        )
        lines = list(invoice.lines)
        lines[i] = replace(line, quantity=line.quantity + extra)
        trade.invoices[0] = replace(invoice, lines=tuple(lines))
        self.timeline.pay_again(trade)
        self._emit(trade, (FraudType.INFLATED_INVOICE,), "clean")
        self._label(
            FraudType.INFLATED_INVOICE,
            invoice.seller,
            [invoice.number],
            f"line {line.line_id} ({line.gtin}) invoiced {line.quantity + extra}, "
            f"received {line.quantity}",
        )

    def _circular(self, day: dt.date, season: float) -> None:
        rng = self.rng
        a, b, c = rng.sample(self.net.traders(), 3)
        self.cycles += 1
        item = self.net.catalogue.get(a.id) or self.net.catalogue[b.id]
        goods = (rng.choice(item),)
        value = cents(cal.EDGE_MEDIAN_CNY["tier2"] * Decimal(str(round(rng.uniform(0.5, 2.0), 3))))
        cycle = f"cycle C{self.cycles:05d}: {a.uscc} -> {b.uscc} -> {c.uscc} -> {a.uscc}"
        when = day
        for seller, buyer in ((a, b), (b, c), (c, a)):
            leg_value = cents(value * Decimal(str(round(rng.uniform(0.95, 1.05), 4))))
            edge = Edge(seller, buyer, goods, leg_value)
            opts = TradeOptions(value=leg_value, items=goods, clean_payment=True)
            trade = self.timeline.build(edge, when, season, opts)
            self._emit(trade, (FraudType.CIRCULAR_TRADING,), "circular")
            self._label(FraudType.CIRCULAR_TRADING, seller,
                        [inv.number for inv in trade.invoices], cycle)  # fmt: skip
            when = when + rng.randint(1, 7) * DAY

    def _related(
        self, day: dt.date, season: float, shell: tuple[Party, Party, tuple[str, ...]]
    ) -> None:
        seller, buyer, shared = shell
        base = cal.EDGE_MEDIAN_CNY["tier2"] * Decimal(
            str(round(self.rng.lognormvariate(0, 0.4), 4))
        )
        edge = Edge(seller, buyer, self.net.catalogue[seller.id], cents(base))
        trade = self.timeline.build(edge, day, season, TradeOptions())
        self._emit(trade, (FraudType.RELATED_PARTIES,), "clean")
        self._label(
            FraudType.RELATED_PARTIES,
            seller,
            [inv.number for inv in trade.invoices],
            f"shell supplier shares {', '.join(shared)} with buyer {buyer.uscc}",
        )

    def _round_trip(self, day: dt.date, season: float) -> None:
        rng = self.rng
        trade = self._clean(day, season, TradeOptions(clean_payment=True))
        last = max(trade.payments, key=lambda p: p.booking_date)
        paid = sum((p.amount for p in trade.payments), Decimal(0))
        back = cents(paid * Decimal(str(round(rng.uniform(0.90, 1.0), 4))))
        seller, buyer = trade.order.seller, trade.order.buyer
        refund = self.timeline.payment(None, payee=buyer, payer=seller, amount=back,
                                       day=last.booking_date + rng.randint(1, 7) * DAY,
                                       text="service rebate")  # fmt: skip
        trade.payments.append(refund)
        self._emit(trade, (FraudType.ROUND_TRIP_PAYMENT,), "clean")
        self._label(
            FraudType.ROUND_TRIP_PAYMENT,
            seller,
            [inv.number for inv in trade.invoices],
            f"{back} CNY paid back to the buyer by {refund.number}",
        )

    def _third_party(self, day: dt.date, season: float) -> None:
        rng = self.rng
        index = self._edge_index()
        edge = self.net.edges[index]
        trade = self._clean(day, season, TradeOptions(clean_payment=True), index=index)
        outsiders = [p for p in self.net.traders() if p.id not in (edge.seller.id, edge.buyer.id)]
        payer = rng.choice(outsiders)
        self.timeline.repay(trade, lambda i: payer if i == 0 else edge.buyer)
        invoice = trade.invoices[0]
        self._emit(trade, (FraudType.THIRD_PARTY_PAYER,), "clean")
        self._label(
            FraudType.THIRD_PARTY_PAYER,
            edge.seller,
            [invoice.number],
            f"paid by {payer.uscc} from account {payer.account}",
        )

    def _self_asserted(self, day: dt.date, season: float) -> None:
        trade = self._clean(day, season)
        seller = trade.order.seller
        # the seller alone sends everything: its buyer's order and receipt advices, the
        # carrier's and warehouse's events, the bank's payment notifications
        self._emit(trade, (FraudType.SELF_ASSERTED_EVIDENCE,), "clean", sender=seller.uscc)
        self._label(
            FraudType.SELF_ASSERTED_EVIDENCE,
            seller,
            [inv.number for inv in trade.invoices],
            "every document of the trade submitted by the seller, its counterparties' too",
        )

    def _spike(self, day: dt.date, season: float) -> None:
        rng = self.rng
        best, best_count = 0, -1
        for _ in range(50):
            index = self._edge_index()
            count = self.history.get(index, (0, Decimal(0)))[0]
            if count > best_count:
                best, best_count = index, count
            if count >= 4:
                break
        count, total = self.history.get(best, (0, Decimal(0)))
        mean = total / count if count else self.net.edges[best].base_value
        factor = Decimal(str(round(rng.uniform(6, 12), 2)))
        trade = self._clean(day, season, TradeOptions(value=cents(mean * factor)), index=best)
        self._emit(trade, (FraudType.VOLUME_SPIKE,), "clean")
        self._label(
            FraudType.VOLUME_SPIKE,
            trade.order.seller,
            [inv.number for inv in trade.invoices],
            f"order value {factor}x the mean of {count} earlier trades on this relationship",
        )


def truth_row(
    trade_id: str, trade: Trade, frauds: tuple[FraudType, ...], kind: str
) -> dict[str, Any]:
    """One trade's ground truth (docs/simulator.md, ``truth.jsonl``)."""
    order = trade.order
    invoiced = sum((inv.totals.gross for inv in trade.invoices), Decimal("0.00"))
    credited = sum((cn.totals.gross for cn in trade.credit_notes), Decimal("0.00"))
    to_seller = [p for p in trade.payments if p.payee.id == order.seller.id]
    paid = sum((p.amount for p in to_seller), Decimal("0.00"))
    if not to_seller:
        status = "default"
    elif paid < invoiced - credited:
        status = "partially_paid"
    elif (trade.days_late or 0) > 0:
        status = "paid_late"
    else:
        status = "paid"
    return {
        "trade_id": trade_id,
        "kind": frauds[0].value if frauds and kind != "clean" else kind,
        "seller": order.seller.uscc,
        "buyer": order.buyer.uscc,
        "seller_tier": order.seller.tier,
        "buyer_tier": order.buyer.tier,
        "order": order.number,
        "despatches": [d.number for d in trade.despatches],
        "receipts": [r.number for r in trade.receipts],
        "invoices": [i.number for i in trade.invoices],
        "credit_notes": [c.number for c in trade.credit_notes],
        "payments": [p.number for p in trade.payments],
        "events": [e.event_id for e in trade.events],
        "currency": order.currency,
        "ordered_total": f"{totals(order.lines, order.vat_rate).gross:.2f}",
        "invoiced_total": f"{invoiced:.2f}",
        "credited_total": f"{credited:.2f}",
        "paid_total": f"{paid:.2f}",
        "order_date": order.issue_date.isoformat(),
        "due_dates": [i.due_date.isoformat() for i in trade.invoices],
        "paid_dates": [p.booking_date.isoformat() for p in to_seller],
        "terms_days": trade.invoices[0].terms_days if trade.invoices else None,
        "days_late": trade.days_late if to_seller else None,
        "status": status,
        "disputes": {number: day.isoformat() for number, day in trade.disputes.items()},
        "frauds": [f.value for f in frauds],
    }
