"""Facts about debt items and the platform that the store keeps as records of their own.

Each fact that a chain operation carries (a dispute raised, a dilution proposed, a party's
approval of a cancellation, a default) is stored as a record in the same transaction as the
operation, naming the operation (``op_id``). A fact whose operation the chain refused for good
(outbox status ``failed``) never happened: the store leaves it out of every read.

Platform data that used to sit in the key-value settings has its own records too: goods prices
from the feed, banks' product policies (every edit a new version), report anchors and the count
of documents submitted again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class DisputeAction(StrEnum):
    """What happened to a debtor's dispute of an item."""

    RAISED = "raised"
    WITHDRAWN = "withdrawn"  # by the debtor
    RESOLVED = "resolved"  # by the operator, with a recorded resolution


@dataclass(frozen=True, slots=True)
class DisputeEvent:
    """One step of a dispute of a debt item.

    Attributes:
        item_id: the disputed item.
        action: raised, withdrawn or resolved.
        actor_id: the organisation that acted (the debtor, or the operator resolving).
        op_id: the chain operation carrying it.
        on: the business day (given with a dispute raised; ``None`` where none was stated).
        text: the reason (raised) or the resolution (resolved).
        text_hash: hex SHA-256 of ``text`` as the chain records it.
        seq: the store's order (assigned by the store).
    """

    item_id: str
    action: DisputeAction
    actor_id: str
    op_id: str
    on: dt.date | None = None
    text: str | None = None
    text_hash: str | None = None
    seq: int | None = None


def is_disputed(events: Iterable[DisputeEvent]) -> bool:
    """True while the latest dispute raised has not been withdrawn or resolved."""
    raised = lifted = 0
    for event in events:
        if event.action is DisputeAction.RAISED:
            raised += 1
        else:
            lifted += 1
    return raised > lifted


class DilutionStep(StrEnum):
    """A dilution is proposed by the creditor and accepted by the debtor."""

    PROPOSED = "proposed"
    ACCEPTED = "accepted"


@dataclass(frozen=True, slots=True)
class DilutionEvent:
    """A step of reducing a debt item by a credit note.

    Attributes:
        item_id: the item reduced.
        step: proposed or accepted.
        credit_note_hash: the hash naming the credit note (its fingerprint, or of its number).
        amount: the reduction in minor units.
        actor_id: the creditor (proposed) or the debtor (accepted).
        op_id: the chain operation carrying it.
        credit_note: the credit note's number, where it was given.
        seq: the store's order.
    """

    item_id: str
    step: DilutionStep
    credit_note_hash: str
    amount: int
    actor_id: str
    op_id: str
    credit_note: str | None = None
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class CancelApproval:
    """A party's approval of cancelling a debt item (creditor and debtor must both approve).

    Attributes:
        item_id: the item.
        party_id: the approving organisation.
        op_id: the chain operation carrying it.
        seq: the store's order.
    """

    item_id: str
    party_id: str
    op_id: str
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class DefaultMark:
    """A debt item marked defaulted: its pledged holdings passed to their banks.

    Attributes:
        item_id: the item.
        marked_by: the operator or bank that marked it.
        op_id: the chain operation carrying it.
        as_of: the business day it was found overdue (``None`` for marks older than this
            record, which did not keep it).
        seq: the store's order.
    """

    item_id: str
    marked_by: str
    op_id: str
    as_of: dt.date | None = None
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class GoodsPrice:
    """A goods code's price from the feed (per unit, major units) and the one before it.

    Attributes:
        goods_code: what is priced.
        price: per unit, in major units of ``currency``.
        currency: ISO 4217 code.
        as_of: the feed's day.
        previous: the price it replaced, if any.
    """

    goods_code: str
    price: float
    currency: str
    as_of: dt.date
    previous: float | None = None


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    """One version of a bank's product policy; every edit stores a new version.

    Attributes:
        bank_id: the bank.
        version: 1 for the bank's first policy, then one more per edit.
        policy: the policy's fields as JSON (the risk layer's ``ProductPolicy.as_json``).
        created_at: when it was stored (UTC).
    """

    bank_id: str
    version: int
    policy: Mapping[str, Any]
    created_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class ReportAnchor:
    """The chain operation that registers a verification report's hash (sent once per hash).

    Attributes:
        report_hash: hex SHA-256 of the report's canonical JSON.
        op_id: the ``REGISTER_FINGERPRINTS`` operation carrying it.
    """

    report_hash: str
    op_id: str


@dataclass(frozen=True, slots=True)
class InvoicePresentation:
    """An invoice's salted fingerprint this platform registered on the consortium's Notary.

    A fingerprint on the chain that is not one of these was presented by another member first.

    Attributes:
        fingerprint: ``sha256:`` hex of SHA-256(consortium salt || business-key text).
        trade_id: the trade whose invoice it is.
        presenter_id: the member that presented it (the seller verifying, or a bank asked).
        op_id: the ``REGISTER_FINGERPRINTS`` operation carrying it.
    """

    fingerprint: str
    trade_id: str
    presenter_id: str
    op_id: str


@dataclass(frozen=True, slots=True)
class DocumentFinding:
    """A warning about a stored document: a business rule's warning, a date that looks wrong.

    Fatal rules refuse a document at ingest; what only warns is kept with it here.

    Attributes:
        doc_id: the document.
        code: the rule id (``BR-CL-23``, ``DATE-BEFORE-ORDER`` ...).
        flag: ``warning`` (or ``information``) as the rule set says.
        message: the rule's text, or what the check found, in words.
        location: where in the document (an XPath or a field name), if known.
    """

    doc_id: str
    code: str
    flag: str
    message: str
    location: str | None = None
