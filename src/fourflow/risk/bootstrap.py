"""A cold-start model's history: a simulated platform, calibrated on public data.

A platform with no repaid invoices yet cannot learn from its own outcomes. Until it can, the
first champion learns from a simulated history (the simulator's payment behaviour is fitted
on the IBM accounts-receivable histories; docs/simulator.md), the way banks start a new
product on a proxy scorecard. It is registered as such (``bootstrap`` in its note) and is
replaced by the first ``fourflow risk train`` on the platform's own outcomes that beats it.

This module does not run the simulator: services ask a ``HistorySource`` (the port) for the
history, and the composition root (``fourflow.bootstrap.simulated_history``) provides one
that runs the simulator into a ``Collector``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Hashable, Sequence
from typing import Any, Protocol

from fourflow.domain.fraud import FraudLabel
from fourflow.domain.issued import Despatch, Invoice, Party, Payment, Receipt, Record
from fourflow.risk.features import InvoiceFacts


class HistorySource(Hashable, Protocol):
    """The port to the cold-start history: a clean platform's invoices and their outcomes.

    ``fourflow.bootstrap.simulated_history`` runs the simulator for it; the same seed and
    number of trades give the same history (so a process learns the cold-start model from it
    once: a source is hashable).
    """

    def __call__(self, *, seed: int, trades: int) -> list[InvoiceFacts]:
        """The invoices of ``trades`` simulated trades drawn with ``seed``."""
        ...


class Collector:
    """A simulation sink that keeps only what credit features need."""

    def __init__(self) -> None:
        self.invoices: dict[str, Invoice] = {}
        self.credits: dict[str, list[tuple[dt.date, float]]] = defaultdict(list)
        self.payments: dict[str, list[tuple[dt.date, float]]] = defaultdict(list)
        self.logistics: dict[str, list[tuple[dt.date, str]]] = defaultdict(list)
        self.disputes: dict[str, dt.date] = {}  # invoice number -> day the buyer disputed it

    def parties(self, parties: Sequence[Party]) -> None:
        """Not needed."""

    def document(
        self, record: Record, *, filed_on: dt.date | None = None, copy: int = 0,
        native: bool = False, sender: str = "",
    ) -> None:  # fmt: skip
        """Keep invoices, credit notes, payments and delivery evidence (first copies only)."""
        if copy:
            return
        if isinstance(record, Invoice):
            if record.credited_invoice is None:
                self.invoices.setdefault(record.number, record)
            else:
                gross = float(record.totals.gross)
                self.credits[record.credited_invoice[0]].append((record.issue_date, gross))
        elif isinstance(record, Payment) and record.invoice_number:
            self.payments[record.invoice_number].append((record.booking_date, float(record.amount)))
        elif isinstance(record, Despatch):
            self.logistics[record.order_number].append((record.despatch_date, "despatch_advice"))
        elif isinstance(record, Receipt):
            self.logistics[record.order_number].append((record.issue_date, "receipt_advice"))

    def label(self, label: FraudLabel) -> None:
        """Not needed."""

    def truth(self, row: dict[str, Any]) -> None:
        """Keep the buyers' disputes (the simulator reports them in the truth rows only)."""
        for number, day in row["disputes"].items():
            self.disputes[number] = dt.date.fromisoformat(day)

    def facts(self, scenario: str) -> list[InvoiceFacts]:
        """The collected invoices with their payments, credit notes, deliveries and disputes."""
        facts = []
        for number, inv in self.invoices.items():
            facts.append(
                InvoiceFacts(
                    key=f"sim/{number}",
                    trade_id=f"sim/{inv.order_number}",
                    creditor=inv.seller.id,
                    debtor=inv.buyer.id,
                    scenario=scenario,
                    issue_date=inv.issue_date,
                    due_date=inv.due_date,
                    amount=float(inv.totals.gross),
                    payments=tuple(sorted(self.payments.get(number, ()))),
                    credits=tuple(sorted(self.credits.get(number, ()))),
                    logistics=tuple(sorted(self.logistics.get(inv.order_number, ()))),
                    disputes=(self.disputes[number],) if number in self.disputes else (),
                )
            )
        return facts
