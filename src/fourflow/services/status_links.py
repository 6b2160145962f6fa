"""Linking a bank's payment status (ISO 20022 pacs.002) to the payment it reports on.

A status names its payment by the payment's identifiers (end-to-end id, UETR, transaction id,
instruction id, the account servicer's reference). It joins the trade of the payment,
statement entry (camt.053) or notification (camt.054) that answers to one of them, by its
number or by a payment reference it carries, and shares a party with it (an identifier alone
is not unique across payers). It is never inferred. One that names no payment on the platform
waits unlinked, with a document finding saying so (once), not an error: the payment may come
later (docs/formats/iso20022.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from fourflow.domain.documents import Document, DocumentKind
from fourflow.domain.facts import DocumentFinding
from fourflow.services.ports import UnitOfWork
from fourflow.verification.linking import PAYMENT_KINDS, parties_overlap, payment_names

#: The document finding of a status that names no payment on the platform (yet).
UNMATCHED = "PAYMENT-STATUS-UNMATCHED"
# The kinds a status's payment ids are looked up as in the store, besides ``payment``.
_ALSO_LOOKED_UP = (DocumentKind.BANK_STATEMENT_ENTRY, DocumentKind.REMITTANCE)


def store_lookups(docs: Sequence[Document]) -> list[tuple[DocumentKind, str]]:
    """The ``(kind, number)`` look-ups that find the stored statement entries and remittances
    the statuses among ``docs`` name by number (payments are looked up by their reference)."""
    return [
        (kind, number)
        for doc in docs
        if doc.kind is DocumentKind.PAYMENT_STATUS
        for number in doc.refs_to(DocumentKind.PAYMENT)
        for kind in _ALSO_LOOKED_UP
    ]


def trade_of(
    component: Sequence[Document], candidates: Mapping[str, Sequence[Document]]
) -> str | None:
    """The one trade among ``candidates`` holding a payment that a status of ``component``
    names by a payment reference of the payment (not its number: those are found by number)
    and shares a party with; None when none does or several do."""
    statuses = [d for d in component if d.kind is DocumentKind.PAYMENT_STATUS]
    if not statuses or len(statuses) != len(component):
        return None
    found = {
        trade_id
        for trade_id, docs in candidates.items()
        for doc in docs
        if doc.kind in PAYMENT_KINDS
        for status in statuses
        if not payment_names(doc).isdisjoint(status.refs_to(DocumentKind.PAYMENT))
        and parties_overlap(status, doc)
    }
    return found.pop() if len(found) == 1 else None


def note_unmatched(uow: UnitOfWork, left: Sequence[Document]) -> None:
    """Keep a finding with each status of ``left`` (documents left unlinked) that names no
    payment on the platform, once per status (a status left with its payment, whose own
    parties are not onboarded, is not one)."""
    if any(d.kind is not DocumentKind.PAYMENT_STATUS for d in left):
        return
    for doc in left:
        if doc.kind is not DocumentKind.PAYMENT_STATUS or doc.payment_status is None:
            continue
        if any(f.code == UNMATCHED for f in uow.document_findings.for_document(doc.id)):
            continue
        ids = ", ".join(doc.payment_status.payment_ids)
        uow.document_findings.add_many(
            [
                DocumentFinding(
                    doc_id=doc.id,
                    code=UNMATCHED,
                    flag="warning",
                    message=(
                        f"payment status {doc.number} ({doc.payment_status.describe()}) names "
                        f"no payment on the platform sharing a party with it ({ids}): it waits "
                        "unlinked and joins the payment's trade when the payment arrives"
                    ),
                    location="TxInfAndSts",
                )
            ]
        )
