"""Fraud signals the platform looks for, and the labels the simulator writes for them.

The same codes are used by the simulator (what it injected), the detectors (what they found)
and the evaluation (precision and recall per code). docs/verification.md explains each one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FraudType(StrEnum):
    """Kinds of trade-finance fraud FourFlow detects."""

    DUPLICATE_INVOICE = "DUPLICATE_INVOICE"  # the same invoice presented twice (any format)
    NEAR_DUPLICATE_INVOICE = "NEAR_DUPLICATE_INVOICE"  # number/date/amount altered slightly
    PHANTOM_TRADE = "PHANTOM_TRADE"  # no logistics evidence, or from an unrelated party
    INFLATED_INVOICE = "INFLATED_INVOICE"  # invoiced beyond what was received
    CIRCULAR_TRADING = "CIRCULAR_TRADING"  # goods/money going round related firms
    RELATED_PARTIES = "RELATED_PARTIES"  # seller and buyer share address, account, rep, phone
    ROUND_TRIP_PAYMENT = "ROUND_TRIP_PAYMENT"  # the payment comes back to the payer
    THIRD_PARTY_PAYER = "THIRD_PARTY_PAYER"  # paid from an account that is not the buyer's
    VOLUME_SPIKE = "VOLUME_SPIKE"  # far above the relationship's own history
    # the seller sent its counterparties' evidence (their orders, receipts, statements) itself
    SELF_ASSERTED_EVIDENCE = "SELF_ASSERTED_EVIDENCE"


@dataclass(frozen=True, slots=True)
class FraudLabel:
    """One injected fraud, as the simulator's ``labels.jsonl`` records it (one per line).

    Attributes:
        fraud: the fraud type.
        seller_uscc: the seller of the affected trade(s).
        invoice_numbers: the invoice numbers that carry the fraud (how the evaluation matches
            a detection to a label: a trade is flagged for a type when any of its invoices is).
        note: what was done, in words.
    """

    fraud: FraudType
    seller_uscc: str
    invoice_numbers: tuple[str, ...]
    note: str = ""
