"""Rules in force a product can require: 银发〔2025〕77号 terms and the 2025 SME 60-day rule."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from fourflow.domain.financing import Decision, Outcome
from fourflow.risk.features import History, InvoiceFacts
from fourflow.risk.review import Exposure, ProductPolicy, Request, review
from fourflow.risk.rules_in_force import (
    SME_PAYMENT_DAYS,
    TERM_DAYS_IN_PRINCIPLE,
    TERM_DAYS_MAX,
    accepted_on,
    sme_late_payments,
)
from tests.unit.test_risk_review import FEATURES, REQ, codes, scored

D = dt.date(2025, 1, 1)
RULES = ProductPolicy(bank_id="BANK", term_days_in_principle=TERM_DAYS_IN_PRINCIPLE,
                      term_days_max=TERM_DAYS_MAX, sme_payment_days=SME_PAYMENT_DAYS)  # fmt: skip


def decide(request: Request, policy: ProductPolicy = RULES) -> Decision:
    return review(request=request, features=FEATURES, scored=scored(0.02), policy=policy,
                  exposure=Exposure())  # fmt: skip


def test_a_term_beyond_a_year_is_declined_and_beyond_six_months_referred() -> None:
    assert decide(replace(REQ, term_days=150)).outcome is Outcome.APPROVE
    half = decide(replace(REQ, term_days=200))
    assert half.outcome is Outcome.REFER and codes(half)[0] == "TERM_OVER_PRINCIPLE"
    assert "77号" in half.reasons[0].message
    year = decide(replace(REQ, term_days=400))
    assert year.outcome is Outcome.DECLINE and codes(year)[0] == "TERM_TOO_LONG"
    assert "400 days" in year.reasons[0].message
    # a product that does not require the rules does not check them
    assert decide(replace(REQ, term_days=400), ProductPolicy(bank_id="B")).outcome is (
        Outcome.APPROVE
    )


def _invoice(n: int, creditor: str, issued: dt.date, paid: dt.date | None,
             received: dt.date | None = None) -> InvoiceFacts:  # fmt: skip
    return InvoiceFacts(
        key=f"INV-{n}@t{n}", trade_id=f"t{n}", debtor="BIG", creditor=creditor,
        scenario="manufacturing",
        issue_date=issued, due_date=issued + dt.timedelta(days=90), amount=1_000.0,
        payments=((paid, 1_000.0),) if paid else (),
        logistics=((received, "receipt_advice"),) if received else (),
    )  # fmt: skip


def test_the_debtors_late_payments_to_smes_are_counted_from_acceptance() -> None:
    rows = [
        _invoice(1, "SME", D, D + dt.timedelta(days=50)),  # on time
        _invoice(2, "SME", D, D + dt.timedelta(days=75)),  # late: 75 days after the invoice
        _invoice(3, "SME", D, D + dt.timedelta(days=75), received=D + dt.timedelta(days=20)),
        _invoice(4, "SME", D, None),  # never paid, 120 days on
        _invoice(5, "CORE", D, None),  # not an SME: not counted
        _invoice(6, "SME", D + dt.timedelta(days=100), None),  # within its 60 days
    ]
    assert accepted_on(rows[2]) == D + dt.timedelta(days=20)
    late = sme_late_payments(History.of(rows), "BIG", D + dt.timedelta(days=120), {"SME"})
    assert (late.count, late.amount, late.invoices) == (2, 2_000.0, 4)


def test_the_review_names_late_payments_to_smes_when_the_policy_asks() -> None:
    late = replace(REQ, sme_late=2, sme_late_amount=200_000)
    d = decide(late)
    (reason,) = [r for r in d.reasons if r.code == "SME_LATE_PAYMENTS"]
    assert "2 invoice(s)" in reason.message and "CNY 2,000.00" in reason.message
    assert "SME_LATE_PAYMENTS" not in codes(decide(late, ProductPolicy(bank_id="B")))
