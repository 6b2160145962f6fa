"""What a bank reports about a payment: an ISO 20022 payment status (pacs.002, pain.002).

A status report names a payment by the identifiers the payment carried (end-to-end id, UETR,
transaction id, instruction id) and gives its status as an ISO external code. A rejected or
cancelled payment did not happen: it is no evidence of settlement. A settled one (``ACSC``,
``ACCC``) is confirmed by the bank. Every other code is a stage on the way (received,
accepted, pending ...).

Pure: standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from fourflow.domain.errors import DomainValueError

#: ISO 20022 ExternalPaymentTransactionStatus1Code / ExternalPaymentGroupStatus1Code values
#: (the external code list as published by ISO; codes are four capital letters).
STATUS_CODES: Mapping[str, str] = {
    "ACCC": "accepted, settlement completed on the creditor's account",
    "ACCP": "accepted after customer profile checks",
    "ACFC": "accepted, funds checked",
    "ACIS": "accepted and chequed issued",
    "ACPD": "accepted, clearing processed",
    "ACSC": "accepted, settlement completed on the debtor's account",
    "ACSP": "accepted, settlement in process",
    "ACTC": "accepted after technical validation",
    "ACWC": "accepted with change",
    "ACWP": "accepted without posting",
    "BLCK": "blocked",
    "CANC": "cancelled",
    "CPUC": "cash pick-up completed",
    "PART": "partially accepted",
    "PATC": "partially accepted, technically correct",
    "PDNG": "pending",
    "PRES": "presented",
    "RCVD": "received",
    "RJCT": "rejected",
}
#: The payment did not happen.
REJECTED = frozenset({"RJCT", "CANC"})
#: The bank confirms the money moved.
SETTLED = frozenset({"ACSC", "ACCC"})


@dataclass(frozen=True, slots=True)
class PaymentStatus:
    """One payment's status as a bank reported it.

    Attributes:
        code: the ISO external status code (``RJCT``, ``ACSC`` ...).
        payment_ids: the identifiers the payment is named by (end-to-end id, UETR,
            transaction id, instruction id), as written, ``NOTPROVIDED`` left out.
        reasons: the status reason codes (``AC04``, ``AM04`` ...), as written.
        original_message: the id of the message reported on (``OrgnlMsgId``).
        original_message_type: its message type (``OrgnlMsgNmId``, e.g. ``pacs.008.001.08``).
        accepted_at: when the bank accepted the payment (``AccptncDtTm``), as written.
    """

    code: str
    payment_ids: tuple[str, ...]
    reasons: tuple[str, ...] = ()
    original_message: str | None = None
    original_message_type: str | None = None
    accepted_at: str | None = None

    def __post_init__(self) -> None:
        if self.code not in STATUS_CODES:
            raise DomainValueError(
                f"payment status {self.code!r} is not an ISO 20022 status code "
                f"({', '.join(sorted(STATUS_CODES))})"
            )
        if not self.payment_ids:
            raise DomainValueError("a payment status must name its payment (no identifier)")

    @property
    def rejected(self) -> bool:
        """The payment did not happen (rejected or cancelled)."""
        return self.code in REJECTED

    @property
    def settled(self) -> bool:
        """The bank confirms the settlement."""
        return self.code in SETTLED

    def describe(self) -> str:
        """``"RJCT (rejected; reason AC04)"``."""
        reasons = f"; reason {', '.join(self.reasons)}" if self.reasons else ""
        return f"{self.code} ({STATUS_CODES[self.code]}{reasons})"


@dataclass(frozen=True, slots=True)
class PaymentOutcome:
    """What every status report in a set says about one payment.

    Attributes:
        payment_id: the payment document's id.
        rejected: the status documents (ids) that reject or cancel it.
        settled: the status documents that confirm its settlement.
        other: the status documents reporting an intermediate stage.
    """

    payment_id: str
    rejected: tuple[str, ...] = ()
    settled: tuple[str, ...] = ()
    other: tuple[str, ...] = ()

    @property
    def counts(self) -> bool:
        """False when a bank reported the payment rejected or cancelled: no settlement."""
        return not self.rejected
