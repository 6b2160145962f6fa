"""China's rules in force that a product policy can require (docs/risk.md, "Rules in force").

* 银发〔2025〕77号 on electronic receivable vouchers: the term (issue to maturity) within 6
  months in principle and 1 year at most (``ProductPolicy.term_days_in_principle`` refers a
  longer term to a person, ``ProductPolicy.term_days_max`` declines it).
* 保障中小企业款项支付条例 (2025): large enterprises pay small and medium suppliers within 60
  days of delivery or acceptance. ``sme_late_payments`` counts a debtor's payments to SME
  creditors that came (or are still open) later than that, known on the day; the review names
  them when the policy sets ``sme_payment_days``.

Pure: the platform's invoice history only.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Container
from dataclasses import dataclass

from fourflow.risk.features import History, InvoiceFacts

#: The 60-day rule of the 2025 regulation on payments to SMEs.
SME_PAYMENT_DAYS = 60
#: 银发〔2025〕77号: 6 months in principle, 1 year at most.
TERM_DAYS_IN_PRINCIPLE = 183
TERM_DAYS_MAX = 365


def accepted_on(facts: InvoiceFacts) -> dt.date:
    """Delivery or acceptance of what the invoice bills: the trade's receipt advice, else its
    last logistics document, else the invoice date."""
    receipts = [d for d, kind in facts.logistics if kind == "receipt_advice"]
    if receipts:
        return min(receipts)
    return max((d for d, _ in facts.logistics), default=facts.issue_date)


@dataclass(frozen=True, slots=True)
class LatePayments:
    """A debtor's payments to SMEs later than the rule allows, known on a day."""

    count: int = 0
    amount: float = 0.0  # major units
    invoices: int = 0  # the debtor's invoices from SMEs judged


def sme_late_payments(
    history: History,
    debtor: str,
    day: dt.date,
    smes: Container[str],
    days: int = SME_PAYMENT_DAYS,
) -> LatePayments:
    """Invoices of SME creditors (``smes``) the debtor settled more than ``days`` after
    delivery or acceptance, or still owes past that, as known on ``day``."""
    count = judged = 0
    amount = 0.0
    for f in history.debtor_before(debtor, day):
        if f.creditor not in smes:
            continue
        limit = accepted_on(f) + dt.timedelta(days=days)
        if limit >= day and f.settled_on(day) is None:
            continue  # still within its 60 days
        judged += 1
        settled = f.settled_on(day)
        if (settled is None and day > limit) or (settled is not None and settled > limit):
            count += 1
            amount += f.amount
    return LatePayments(count, round(amount, 2), judged)
