"""Buyers' disputes in the simulator: calibrated on IBM AR, off on the platform, on at cold start."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import pytest

from fourflow.domain.fraud import FraudLabel
from fourflow.risk.bootstrap import simulated_history
from fourflow.risk.features import History, training_rows
from fourflow.simulation import calibration as cal
from fourflow.simulation.generator import Simulation, SimulationParams
from fourflow.simulation.records import Invoice, Party, Payment
from fourflow.simulation.timeline import Record


class Sink:
    """Invoices, their payment days and the truth rows."""

    def __init__(self) -> None:
        self.invoices: dict[str, Invoice] = {}
        self.paid: dict[str, list[dt.date]] = defaultdict(list)
        self.rows: list[dict[str, Any]] = []

    def parties(self, parties: Sequence[Party]) -> None:
        """Not needed."""

    def document(
        self, record: Record, *, filed_on: dt.date | None = None, copy: int = 0,
        native: bool = False,
    ) -> None:  # fmt: skip
        if copy:
            return
        if isinstance(record, Invoice) and record.credited_invoice is None:
            self.invoices[record.number] = record
        elif isinstance(record, Payment) and record.invoice_number:
            self.paid[record.invoice_number].append(record.booking_date)

    def label(self, label: FraudLabel) -> None:
        """Not needed."""

    def truth(self, row: dict[str, Any]) -> None:
        self.rows.append(row)


def simulate(*, disputes: bool, seed: int = 11, trades: int = 1500) -> Sink:
    sink = Sink()
    params = SimulationParams(seed=seed, trades=trades, fraud_rate=0.0, disputes=disputes)
    Simulation(params, sink).run()
    return sink


@pytest.fixture(scope="module")
def disputed_run() -> Sink:
    return simulate(disputes=True)


def test_the_platform_simulation_raises_no_dispute() -> None:
    sink = simulate(disputes=False, trades=300)
    assert sink.rows and all(row["disputes"] == {} for row in sink.rows)


def test_disputes_follow_the_ibm_ar_figures(disputed_run: Sink) -> None:
    disputed = {n: dt.date.fromisoformat(d) for r in disputed_run.rows
                for n, d in r["disputes"].items()}  # fmt: skip
    paid = {n: days for n, days in disputed_run.paid.items() if n in disputed_run.invoices}
    share = len(disputed) / len(disputed_run.invoices)
    assert share == pytest.approx(cal.DISPUTED_SHARE, abs=0.06)

    def late_share(numbers: list[str]) -> float:
        inv = disputed_run.invoices
        return sum(max(paid[n]) > inv[n].due_date for n in numbers) / len(numbers)

    with_dispute = [n for n in paid if n in disputed]
    without = [n for n in paid if n not in disputed]
    assert late_share(with_dispute) == pytest.approx(cal.PAID_LATE_SHARE_DISPUTED, abs=0.08)
    assert late_share(without) == pytest.approx(cal.PAID_LATE_SHARE_UNDISPUTED, abs=0.08)
    # raised after the invoice, and no later than its (first) payment
    latest = dt.timedelta(days=cal.DISPUTE_RAISED_MAX_DAYS)
    for number, day in disputed.items():
        invoice = disputed_run.invoices[number]
        assert invoice.issue_date < day <= invoice.issue_date + latest
        if number in paid:
            assert day <= min(paid[number])


def test_buyers_differ_in_how_often_they_dispute(disputed_run: Sink) -> None:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    disputed = {n for r in disputed_run.rows for n in r["disputes"]}
    for number, invoice in disputed_run.invoices.items():
        counts[invoice.buyer.id][0] += 1
        counts[invoice.buyer.id][1] += number in disputed
    rates = [d / n for n, d in counts.values() if n >= 15]
    assert len(rates) >= 10
    # a wide Beta (a + b = 1.73): some buyers (almost) never dispute, some do it most of the time
    assert min(rates) < 0.05 and max(rates) > 0.5


def test_the_cold_start_history_carries_disputes_into_the_dispute_rate() -> None:
    facts = simulated_history(seed=5, trades=600)
    assert 0.1 < sum(1 for f in facts if f.disputes) / len(facts) < 0.35
    rows = training_rows(History.of(facts), max(f.issue_date for f in facts))
    rates = {row.features["debtor_dispute_rate"] for row in rows}
    assert len(rates) > 5  # no longer the constant 0 of a history without disputes
