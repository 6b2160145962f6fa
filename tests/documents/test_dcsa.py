"""DCSA eBL 3.0 reader: the conformance payloads through DetectingReader, hand-read fields."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from fourflow.adapters.documents.errors import DocumentRejectedError
from fourflow.adapters.documents.registry import DetectingReader
from fourflow.adapters.documents.standards import artefact
from fourflow.domain.documents import DocumentKind, DocumentRef
from fourflow.services.reading import ParsedDocument

MESSAGES = artefact("dcsa", "messages")
SHIPPING_INSTRUCTIONS = sorted((MESSAGES / "ebl").glob("*.json"))
ISSUANCE = MESSAGES / "ebl-issuance" / "eblissuance-v3.0.0-request.json"
PINT_DOCUMENT = MESSAGES / "pint" / "pint-3.0.0-transport-document.json"
# The conformance harness fills these placeholders before it sends a payload.
PLACEHOLDERS = {
    b"TRANSPORT_DOCUMENT_REFERENCE_PLACEHOLDER": b"HHL71800000",
    b"SHIPPING_INSTRUCTION_REFERENCE_PLACEHOLDER": b"SI-0001",
}


def _filled(path: Path) -> bytes:
    raw = path.read_bytes()
    for mark, value in PLACEHOLDERS.items():
        raw = raw.replace(mark, value)
    return raw


def _read(raw: bytes, name: str) -> list[ParsedDocument]:
    return DetectingReader(submitter="org-1").read(raw, source=name)


@pytest.mark.parametrize("path", [ISSUANCE, PINT_DOCUMENT], ids=lambda p: p.name)
def test_transport_documents_are_accepted_once_filled(path: Path) -> None:
    (parsed,) = _read(_filled(path), path.name)
    assert parsed.document.kind is DocumentKind.BILL_OF_LADING
    assert parsed.document.number == "HHL71800000"


@pytest.mark.parametrize("path", [ISSUANCE, PINT_DOCUMENT], ids=lambda p: p.name)
def test_unfilled_templates_are_refused_by_the_schema(path: Path) -> None:
    with pytest.raises(DocumentRejectedError) as err:
        _read(path.read_bytes(), path.name)
    assert err.value.problems[0].code == "SCHEMA"
    assert "transportDocumentReference" in err.value.problems[0].location
    assert "too long" in str(err.value)


@pytest.mark.parametrize("path", SHIPPING_INSTRUCTIONS, ids=lambda p: p.name)
def test_shipping_instructions_are_refused_as_not_a_bill_of_lading(path: Path) -> None:
    with pytest.raises(DocumentRejectedError) as err:
        _read(path.read_bytes(), path.name)
    assert err.value.problems[0].code == "NOT_A_TRANSPORT_DOCUMENT"


def test_surrender_template_is_refused_as_not_json() -> None:
    path = MESSAGES / "ebl-surrender" / "eblsurrender-api-v3.0.0-request.json"
    with pytest.raises(DocumentRejectedError) as err:
        _read(path.read_bytes(), path.name)
    assert err.value.problems[0].code == "NOT_JSON"


def test_pint_transport_document_read_by_hand() -> None:
    (parsed,) = _read(_filled(PINT_DOCUMENT), PINT_DOCUMENT.name)
    doc = parsed.document
    assert doc.issue_date == dt.date(2023, 12, 19) == doc.delivery_date  # shipped on board
    assert doc.seller.name == "DCSA CTK SHIPPER"
    assert [str(i) for i in doc.seller.identifiers] == ["other:SHIPPER"]
    assert doc.buyer.name == "DCSA CTK Consignee"
    (line,) = doc.lines
    assert (line.item, line.quantity, line.unit) == (
        "Shoes - black, 400 boxes",
        Decimal(12000),
        "KGM",
    )
    assert DocumentRef(DocumentKind.CONTRACT, "BOOKING_REFERENCE_PLACEHOLDER") in doc.references


def test_issuance_request_maps_the_document_it_carries() -> None:
    (parsed,) = _read(_filled(ISSUANCE), ISSUANCE.name)
    doc = parsed.document
    assert doc.issue_date == dt.date(2020, 12, 12)
    assert doc.source_format == "dcsa-ebl-3.0"


def test_lei_consignee_and_purchase_order_reference() -> None:
    raw = _filled(PINT_DOCUMENT).replace(
        b'"partyCode": "CONSIGNEE",\n          "codeListProvider": "ZZZ"',
        b'"partyCode": "529900T8BM49AURSDO55",\n          "codeListProvider": "GLEIF"',
    )
    raw = raw.replace(
        b'"contractQuotationReference"',
        b'"references": [{"type": "CPO", "value": "PO-42"}],\n  "contractQuotationReference"',
    )
    (parsed,) = _read(raw, "lei.json")
    assert [str(i) for i in parsed.document.buyer.identifiers] == ["lei:529900T8BM49AURSDO55"]
    assert DocumentRef(DocumentKind.ORDER, "PO-42") in parsed.document.references
