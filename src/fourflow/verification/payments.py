"""What banks' payment status reports (pacs.002) say about the payments of a set of documents.

A status names its payment by the identifiers the payment carried (end-to-end id, UETR,
transaction id, instruction id). A payment document answers to its own number and to the
payment references it carries (a camt.054 booking names the end-to-end id of the transfer
it books). A rejected or cancelled payment did not happen: it is not evidence of settlement
and counts for nothing paid; a settled status (``ACSC``, ``ACCC``) confirms the payment.

Pure: standard library only, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from fourflow.domain.documents import Document, DocumentKind
from fourflow.domain.payment_status import PaymentOutcome
from fourflow.verification.linking import payment_names as _names

#: The documents that move (or report moving) money, which a status may name.
PAID_KINDS = frozenset(
    {DocumentKind.PAYMENT, DocumentKind.BANK_STATEMENT_ENTRY, DocumentKind.REMITTANCE}
)


def payment_outcomes(documents: Sequence[Document]) -> dict[str, PaymentOutcome]:
    """For each payment of ``documents`` some status names, what the statuses say.

    Keyed by the payment document's id; payments no status names are left out.
    """
    statuses = [d for d in documents if d.payment_status is not None]
    if not statuses:
        return {}
    outcomes: dict[str, PaymentOutcome] = {}
    for payment in (d for d in documents if d.kind in PAID_KINDS):
        names = _names(payment)
        rejected: list[str] = []
        settled: list[str] = []
        other: list[str] = []
        for doc in statuses:
            status = doc.payment_status
            assert status is not None
            if names.isdisjoint(status.payment_ids):
                continue
            (rejected if status.rejected else settled if status.settled else other).append(doc.id)
        if rejected or settled or other:
            outcomes[payment.id] = PaymentOutcome(
                payment.id, tuple(rejected), tuple(settled), tuple(other)
            )
    return outcomes


def rejected_payments(documents: Sequence[Document]) -> frozenset[str]:
    """Ids of the payments a bank reported rejected or cancelled: no evidence of settlement."""
    return frozenset(p for p, o in payment_outcomes(documents).items() if not o.counts)


def unmatched_statuses(documents: Sequence[Document]) -> list[Document]:
    """The status documents that name no payment among ``documents``."""
    names: set[str] = set()
    for doc in documents:
        if doc.kind in PAID_KINDS:
            names |= _names(doc)
    return [
        d
        for d in documents
        if d.payment_status is not None and names.isdisjoint(d.payment_status.payment_ids)
    ]


def counting(documents: Iterable[Document], rejected: frozenset[str]) -> tuple[Document, ...]:
    """``documents`` without the rejected payments."""
    return tuple(d for d in documents if d.id not in rejected)
