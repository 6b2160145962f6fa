"""Exact JSON forms of the domain records the store keeps as JSON.

Decimals travel as strings (``str(Decimal)`` keeps every digit and the exponent), money as
``{"amount": str, "currency": str}``, enums by value, dates as ISO 8601, tuples as lists.
``decode_x(encode_x(r)) == r`` for every record, and re-encoding gives the same JSON.
Decoding rebuilds records without re-validating identifiers, so a stored record reads back
exactly even if a validation rule later changes.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from decimal import Decimal
from json.encoder import encode_basestring_ascii
from typing import Any

from fourflow.domain.documents import (
    Carriage,
    Document,
    DocumentKind,
    DocumentLine,
    DocumentRef,
)
from fourflow.domain.financing import Decision, Outcome, Reason
from fourflow.domain.findings import Finding, Severity, VerificationReport, VerificationStatus
from fourflow.domain.identifiers import IdScheme
from fourflow.domain.money import Money
from fourflow.domain.parties import Identifier, PartyRef
from fourflow.domain.payment_status import PaymentStatus
from fourflow.domain.scenarios import Scenario

JsonObject = dict[str, Any]
#: How ``json.dumps`` (``ensure_ascii``, its default) writes a string.
_quote = encode_basestring_ascii


def encode_decimal(value: Decimal | None) -> str | None:
    """A Decimal as its exact string, or None."""
    return None if value is None else str(value)


def decode_decimal(value: str | None) -> Decimal | None:
    """The Decimal an ``encode_decimal`` string stands for, or None."""
    return None if value is None else Decimal(value)


def encode_date(value: dt.date | None) -> str | None:
    """A date as ISO 8601 (``YYYY-MM-DD``), or None."""
    return None if value is None else value.isoformat()


def decode_date(value: str | None) -> dt.date | None:
    """The date of an ISO 8601 string, or None."""
    return None if value is None else dt.date.fromisoformat(value)


def _required_date(value: str) -> dt.date:
    """The date of an ISO 8601 string that must be present."""
    return dt.date.fromisoformat(value)


def encode_money(money: Money | None) -> JsonObject | None:
    """Money as ``{"amount": "12.30", "currency": "CNY"}``, or None."""
    if money is None:
        return None
    return {"amount": str(money.amount), "currency": money.currency}


def decode_money(data: JsonObject | None) -> Money | None:
    """The Money of an ``encode_money`` object, or None."""
    if data is None:
        return None
    return Money(Decimal(data["amount"]), data["currency"])


def encode_identifiers(identifiers: Sequence[Identifier]) -> list[JsonObject]:
    """Identifiers as ``[{"scheme": ..., "value": ...}]``, in order."""
    return [{"scheme": i.scheme.value, "value": i.value} for i in identifiers]


def decode_identifiers(data: Sequence[JsonObject]) -> tuple[Identifier, ...]:
    """The identifiers of an ``encode_identifiers`` list."""
    return tuple(Identifier(IdScheme(i["scheme"]), i["value"]) for i in data)


def encode_party(party: PartyRef) -> JsonObject:
    """A document's party reference as JSON."""
    return {
        "name": party.name,
        "identifiers": encode_identifiers(party.identifiers),
        "account": party.account,
    }


def decode_party(data: JsonObject) -> PartyRef:
    """The party reference of an ``encode_party`` object."""
    return PartyRef(
        name=data["name"],
        identifiers=decode_identifiers(data["identifiers"]),
        account=data["account"],
    )


def encode_line(line: DocumentLine) -> JsonObject:
    """A document line as JSON, quantities and prices as exact decimal strings."""
    return {
        "line_id": line.line_id,
        "item": line.item,
        "quantity": str(line.quantity),
        "unit": line.unit,
        "unit_price": encode_decimal(line.unit_price),
        "amount": encode_decimal(line.amount),
    }


def decode_line(data: JsonObject) -> DocumentLine:
    """The document line of an ``encode_line`` object."""
    return DocumentLine(
        line_id=data["line_id"],
        item=data["item"],
        quantity=Decimal(data["quantity"]),
        unit=data["unit"],
        unit_price=decode_decimal(data["unit_price"]),
        amount=decode_decimal(data["amount"]),
    )


def encode_carriage(carriage: Carriage) -> JsonObject:
    """A carrier's consignment (a freight invoice's shipment) as JSON."""
    return {
        "shipment_ids": list(carriage.shipment_ids),
        "consignor": None if carriage.consignor is None else encode_party(carriage.consignor),
        "consignee": None if carriage.consignee is None else encode_party(carriage.consignee),
    }


def decode_carriage(data: JsonObject | None) -> Carriage | None:
    """The carriage of an ``encode_carriage`` object, or None."""
    if data is None:
        return None
    consignor, consignee = data["consignor"], data["consignee"]
    return Carriage(
        shipment_ids=tuple(data["shipment_ids"]),
        consignor=None if consignor is None else decode_party(consignor),
        consignee=None if consignee is None else decode_party(consignee),
    )


def encode_payment_status(status: PaymentStatus | None) -> JsonObject | None:
    """A payment status (pacs.002) as JSON, or None."""
    if status is None:
        return None
    return {
        "code": status.code,
        "payment_ids": list(status.payment_ids),
        "reasons": list(status.reasons),
        "original_message": status.original_message,
        "original_message_type": status.original_message_type,
        "accepted_at": status.accepted_at,
    }


def decode_payment_status(data: JsonObject | None) -> PaymentStatus | None:
    """The payment status of an ``encode_payment_status`` object, or None."""
    if data is None:
        return None
    return PaymentStatus(
        code=data["code"],
        payment_ids=tuple(data["payment_ids"]),
        reasons=tuple(data["reasons"]),
        original_message=data["original_message"],
        original_message_type=data["original_message_type"],
        accepted_at=data["accepted_at"],
    )


def encode_document(doc: Document) -> JsonObject:
    """A whole document as JSON: every field, so that it can be rebuilt exactly."""
    return {
        **_document_head(doc),
        "lines": [encode_line(line) for line in doc.lines],
        **_document_tail(doc),
    }


def document_json(doc: Document) -> str:
    """``json.dumps(encode_document(doc))``, the same text, in about 60 % of the time: the
    lines (most of an invoice's JSON) are written out directly (``_line_json``), not built as
    dicts and then encoded (the store's ``payload`` column, once a document). A line field
    of another type than its declared one (never so far) takes ``json.dumps``' own way."""
    try:
        lines = ", ".join([_line_json(line) for line in doc.lines])
    except TypeError:
        return json.dumps(encode_document(doc))
    head, tail = json.dumps(_document_head(doc)), json.dumps(_document_tail(doc))
    return f'{head[:-1]}, "lines": [{lines}], {tail[1:]}'


def _document_head(doc: Document) -> JsonObject:
    """``encode_document``'s fields before ``lines``."""
    return {
        "id": doc.id,
        "kind": doc.kind.value,
        "number": doc.number,
        "issue_date": doc.issue_date.isoformat(),
        "seller": encode_party(doc.seller),
        "buyer": encode_party(doc.buyer),
        "currency": doc.currency,
    }


def _document_tail(doc: Document) -> JsonObject:
    """``encode_document``'s fields after ``lines``."""
    return {
        "total": encode_money(doc.total),
        "tax_total": encode_money(doc.tax_total),
        "due_date": encode_date(doc.due_date),
        "delivery_date": encode_date(doc.delivery_date),
        "references": [{"kind": r.kind.value, "number": r.number} for r in doc.references],
        "source_format": doc.source_format,
        "submitted_by": doc.submitted_by,
        "scenario": None if doc.scenario is None else doc.scenario.value,
        "carriage": None if doc.carriage is None else encode_carriage(doc.carriage),
        "payment_status": encode_payment_status(doc.payment_status),
    }


def _line_json(line: DocumentLine) -> str:
    """``json.dumps(encode_line(line))``: the same keys in the same order, strings escaped by
    ``json.dumps``' own function (``ensure_ascii``), None as ``null``; a TypeError for a
    field that is neither (``document_json`` then encodes the document the usual way)."""
    price, amount = line.unit_price, line.amount
    return (
        f'{{"line_id": {_text(line.line_id)}, "item": {_text(line.item)}, '
        f'"quantity": {_quote(str(line.quantity))}, "unit": {_text(line.unit)}, '
        f'"unit_price": {"null" if price is None else _quote(str(price))}, '
        f'"amount": {"null" if amount is None else _quote(str(amount))}}}'
    )


def _text(value: str | None) -> str:
    """A string or None as ``json.dumps`` writes it."""
    return "null" if value is None else _quote(value)


def decode_document(data: JsonObject) -> Document:
    """The document of an ``encode_document`` object."""
    return Document(
        id=data["id"],
        kind=DocumentKind(data["kind"]),
        number=data["number"],
        issue_date=_required_date(data["issue_date"]),
        seller=decode_party(data["seller"]),
        buyer=decode_party(data["buyer"]),
        currency=data["currency"],
        lines=tuple(decode_line(line) for line in data["lines"]),
        total=decode_money(data["total"]),
        tax_total=decode_money(data["tax_total"]),
        due_date=decode_date(data["due_date"]),
        delivery_date=decode_date(data["delivery_date"]),
        references=tuple(
            DocumentRef(DocumentKind(r["kind"]), r["number"]) for r in data["references"]
        ),
        source_format=data["source_format"],
        submitted_by=data["submitted_by"],
        # Fields added after the first release are optional, so older rows still read.
        scenario=_optional_scenario(data.get("scenario")),
        carriage=decode_carriage(data.get("carriage")),
        payment_status=decode_payment_status(data.get("payment_status")),
    )


def _optional_scenario(value: str | None) -> Scenario | None:
    """The scenario named by ``value``, or None."""
    return None if value is None else Scenario(value)


def encode_finding(finding: Finding) -> JsonObject:
    """A verification finding as JSON."""
    return {
        "code": finding.code,
        "severity": finding.severity.value,
        "message": finding.message,
        "documents": list(finding.documents),
    }


def decode_finding(data: JsonObject) -> Finding:
    """The finding of an ``encode_finding`` object."""
    return Finding(
        code=data["code"],
        severity=Severity(data["severity"]),
        message=data["message"],
        documents=tuple(data["documents"]),
    )


def encode_report(report: VerificationReport) -> JsonObject:
    """A verification report as JSON, findings in their order."""
    return {
        "trade_id": report.trade_id,
        "status": report.status.value,
        "score": report.score,
        "findings": [encode_finding(f) for f in report.findings],
        "rules_version": report.rules_version,
    }


def decode_report(data: JsonObject) -> VerificationReport:
    """The verification report of an ``encode_report`` object."""
    return VerificationReport(
        trade_id=data["trade_id"],
        status=VerificationStatus(data["status"]),
        score=data["score"],
        findings=tuple(decode_finding(f) for f in data["findings"]),
        rules_version=data["rules_version"],
    )


def encode_decision(decision: Decision) -> JsonObject:
    """A credit decision as JSON, reasons in their order."""
    return {
        "outcome": decision.outcome.value,
        "reasons": [{"code": r.code, "message": r.message} for r in decision.reasons],
        "principal": decision.principal,
        "rate_bps": decision.rate_bps,
        "policy_version": decision.policy_version,
        "policy_revision": decision.policy_revision,
        "model_version": decision.model_version,
        "pd": decision.pd,
        "expected_loss": decision.expected_loss,
        "value": decision.value,
        "score": decision.score,
        "input_hash": decision.input_hash,
        "decided_by": decision.decided_by,
        "note": decision.note,
        "review": None if decision.review is None else encode_decision(decision.review),
    }


def decode_decision(data: JsonObject) -> Decision:
    """The credit decision of an ``encode_decision`` object."""
    return Decision(
        outcome=Outcome(data["outcome"]),
        reasons=tuple(Reason(r["code"], r["message"]) for r in data["reasons"]),
        principal=data["principal"],
        rate_bps=data["rate_bps"],
        policy_version=data["policy_version"],
        policy_revision=data.get("policy_revision"),
        model_version=data.get("model_version"),
        pd=data.get("pd"),
        expected_loss=data.get("expected_loss"),
        value=data.get("value"),
        score=data.get("score"),
        input_hash=data.get("input_hash"),
        decided_by=data.get("decided_by", "robot"),
        note=data.get("note"),
        review=None if data.get("review") is None else decode_decision(data["review"]),
    )
