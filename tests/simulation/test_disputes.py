"""Buyers' disputes in the simulator: calibrated on IBM AR, off on the platform, on at cold start."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pytest

from fourflow.bootstrap import simulated_history
from fourflow.risk.bootstrap import Collector
from fourflow.risk.features import History, training_rows
from fourflow.simulation import calibration as cal
from fourflow.simulation.generator import Simulation, SimulationParams


def simulate(*, disputes: bool, seed: int = 11, trades: int = 1500) -> Collector:
    """Invoices, payments and disputes (from the truth rows) of a clean simulation."""
    sink = Collector()
    params = SimulationParams(seed=seed, trades=trades, fraud_rate=0.0, disputes=disputes)
    Simulation(params, sink).run()
    return sink


@pytest.fixture(scope="module")
def disputed_run() -> Collector:
    return simulate(disputes=True)


def test_the_platform_simulation_raises_no_dispute() -> None:
    sink = simulate(disputes=False, trades=300)
    assert sink.invoices and not sink.disputes


def test_disputes_follow_the_ibm_ar_figures(disputed_run: Collector) -> None:
    disputed = disputed_run.disputes
    paid = {n: [day for day, _ in payments] for n, payments in disputed_run.payments.items()
            if n in disputed_run.invoices}  # fmt: skip
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


def test_buyers_differ_in_how_often_they_dispute(disputed_run: Collector) -> None:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    disputed = disputed_run.disputes
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
