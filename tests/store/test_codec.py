"""The JSON codec: every record reads back equal, and its JSON is stable and exact."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fourflow.adapters.db import SqlUnitOfWorkFactory, codec
from fourflow.domain.documents import Document, DocumentLine
from fourflow.domain.financing import Decision, FinancingStatus
from fourflow.domain.findings import Finding, VerificationReport
from fourflow.domain.money import Money
from fourflow.domain.parties import PartyRef
from fourflow.services.ports import StoredDocument

from . import builders as b
from .strategies import decisions, documents, reports

R = TypeVar("R")


def assert_round_trip(
    record: R, encode: Callable[[R], dict[str, Any]], decode: Callable[[dict[str, Any]], R]
) -> None:
    """``record`` survives encode -> JSON text -> decode, and re-encodes to the same JSON."""
    encoded = encode(record)
    text = json.dumps(encoded, sort_keys=True)
    back = decode(json.loads(text))
    assert back == record
    assert json.dumps(encode(back), sort_keys=True) == text


@given(documents())
def test_documents_round_trip(doc: Document) -> None:
    assert_round_trip(doc, codec.encode_document, codec.decode_document)


@given(documents(), st.sampled_from(["", "\u00e9\u4e2d", '"\\\n\x00', "\U0001f600"]))
def test_a_documents_json_text_is_json_dumps_of_its_encoding(doc: Document, text: str) -> None:
    # document_json writes the lines itself (the PostgreSQL store's payload): the same text as
    # json.dumps, escapes included, for any document and for line texts json must escape.
    lines = tuple(
        dataclasses.replace(line, item=line.item + text, unit=text + line.unit)
        for line in doc.lines
    )
    for each in (doc, dataclasses.replace(doc, lines=lines)):
        assert codec.document_json(each) == json.dumps(codec.encode_document(each))


def test_a_line_field_of_another_type_is_written_as_json_dumps_writes_it() -> None:
    doc = b.document(1)
    odd = dataclasses.replace(doc.lines[0], line_id=7, unit=None)  # type: ignore[arg-type]
    doc = dataclasses.replace(doc, lines=(odd, *doc.lines[1:]))
    assert codec.document_json(doc) == json.dumps(codec.encode_document(doc))
    assert '"line_id": 7, ' in codec.document_json(doc)


@given(reports)
def test_reports_round_trip(report: Any) -> None:
    assert_round_trip(report, codec.encode_report, codec.decode_report)


@given(decisions)
def test_decisions_round_trip(decision: Any) -> None:
    assert_round_trip(decision, codec.encode_decision, codec.decode_decision)


def _fields(record_type: type) -> set[str]:
    return {f.name for f in dataclasses.fields(record_type)}


def test_the_codec_covers_every_field_of_every_record() -> None:
    """A field added to a domain record must be added to the codec too (this fails first)."""
    doc = b.document(1)
    assert set(codec.encode_document(doc)) == _fields(Document)
    assert set(codec.encode_party(doc.seller)) == _fields(PartyRef)
    assert set(codec.encode_line(doc.lines[0])) == _fields(DocumentLine)
    report = b.report("trade-1")
    assert set(codec.encode_report(report)) == _fields(VerificationReport)
    assert set(codec.encode_finding(report.findings[0])) == _fields(Finding)
    decision = b.financing("f", "i", "h", FinancingStatus.ACTIVE).decision
    assert decision is not None
    assert set(codec.encode_decision(decision)) == _fields(Decision)


def test_rows_written_before_a_new_optional_field_still_read() -> None:
    encoded = codec.encode_document(b.document(1))
    del encoded["scenario"]
    assert codec.decode_document(encoded) == b.document(1)


def test_decimals_keep_every_digit_and_their_exponent() -> None:
    line = DocumentLine("1", "x", Decimal("12.500"), "KGM", Decimal("1E+3"), Decimal("-0.10"))
    encoded = codec.encode_line(line)
    assert (encoded["quantity"], encoded["unit_price"], encoded["amount"]) == (
        "12.500",
        "1E+3",
        "-0.10",
    )
    back = codec.decode_line(encoded)
    assert back.quantity.as_tuple() == Decimal("12.500").as_tuple()
    assert back.amount is not None and back.amount.as_tuple() == Decimal("-0.10").as_tuple()


def test_money_is_an_amount_string_and_a_currency() -> None:
    assert codec.encode_money(Money.of("1000000.00", "CNY")) == {
        "amount": "1000000.00",
        "currency": "CNY",
    }
    assert codec.decode_money({"amount": "5", "currency": "JPY"}) == Money.of(5, "JPY")
    assert codec.encode_money(None) is None


def test_the_sample_document_encodes_as_documented() -> None:
    encoded = codec.encode_document(b.document(1))
    assert encoded["kind"] == "invoice"
    assert encoded["issue_date"] == "2025-03-01"
    assert encoded["seller"]["identifiers"] == [{"scheme": "uscc", "value": b.uscc(1)}]
    assert encoded["lines"][0]["quantity"] == "12.500"
    assert encoded["total"] == {"amount": "51550.10", "currency": "CNY"}
    assert encoded["references"] == [{"kind": "order", "number": "PO-1"}]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(doc=documents(), raw=st.binary(max_size=64))
def test_documents_round_trip_through_the_store(
    uow_factory: SqlUnitOfWorkFactory, doc: Document, raw: bytes
) -> None:
    unique = uuid.uuid4().hex
    stored = StoredDocument(
        document=dataclasses.replace(doc, id=unique),
        fingerprint=f"sha256:{unique}",
        business_key=None,
        raw=raw,
        media_type="application/octet-stream",
        created_at=b.NOW,
    )
    with uow_factory() as u:
        u.documents.add(stored)
        u.commit()
    with uow_factory() as u:
        assert u.documents.get(unique) == stored
