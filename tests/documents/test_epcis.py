"""EPCIS 2.0 reader: every JSON-LD and XML sample through DetectingReader, hand-read fields."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from fourflow.adapters.documents.epcis import biz_transaction_ref, cbv_term, gln_of, gtin_of
from fourflow.adapters.documents.errors import DocumentRejectedError
from fourflow.adapters.documents.registry import DetectingReader
from fourflow.adapters.documents.standards import artefact
from fourflow.domain.documents import DocumentKind, DocumentRef
from fourflow.services.reading import ParsedDocument

EPCIS = artefact("epcis")
JSON_FILES = sorted((EPCIS / "json").rglob("*.jsonld"))
XML_FILES = sorted((EPCIS / "xml").rglob("*.xml"))
# Not event documents: master data and capture-job reports.
NOT_EVENTS = {
    "CBV-11.4-2020-06-16a.xml",
    "Example-masterData.xml",
    "Example-CaptureJobSuccess.xml",
    "Example-CaptureJobWithErrorFile.xml",
    "masterdata_all_possible_fields.xml",
}
DUPLICATE_KEY = "AssociationEvent-h.jsonld"  # declares "eventID" twice


def _read(raw: bytes, name: str) -> list[ParsedDocument]:
    return DetectingReader(submitter="org-1").read(raw, source=name)


@pytest.mark.parametrize("path", JSON_FILES + XML_FILES, ids=lambda p: p.name)
def test_every_event_document_is_accepted(path: Path) -> None:
    raw = path.read_bytes()
    if path.name in NOT_EVENTS or path.name == DUPLICATE_KEY:
        with pytest.raises(DocumentRejectedError):
            _read(raw, path.name)
        return
    parsed = _read(raw, path.name)
    assert parsed
    kinds = {p.document.kind for p in parsed}
    assert kinds <= {DocumentKind.TRANSPORT_EVENT, DocumentKind.WAREHOUSE_RECEIPT}
    assert len({p.canonical for p in parsed}) == len(parsed)


def test_a_bare_doctype_is_read_but_a_declaring_one_is_refused() -> None:
    path = EPCIS / "xml" / "WithEventHashID" / "event_with_identical_hash_id_1.xml"
    raw = path.read_bytes()
    assert b"<!DOCTYPE project>" in raw  # names a type, declares and loads nothing
    assert _read(raw, path.name)
    hostile = raw.replace(b"<!DOCTYPE project>", b'<!DOCTYPE project SYSTEM "file:///etc/passwd">')
    with pytest.raises(DocumentRejectedError) as err:
        _read(hostile, path.name)
    assert err.value.problems[0].code == "DTD_FORBIDDEN"


def test_duplicate_json_key_is_refused_naming_it() -> None:
    path = EPCIS / "json" / "AssociationEvent" / DUPLICATE_KEY
    with pytest.raises(DocumentRejectedError, match="duplicate key 'eventID'"):
        _read(path.read_bytes(), path.name)


def test_json_object_event_read_by_hand() -> None:
    path = EPCIS / "json" / "Example_9.6.2-ObjectEvent.jsonld"
    (parsed,) = _read(path.read_bytes(), path.name)
    doc = parsed.document
    assert doc.number.startswith("ni:///sha-256;a98f08ae6ac4de3482054314d637c070")
    assert doc.issue_date == dt.date(2013, 6, 8) == doc.delivery_date  # receiving
    assert [str(i) for i in doc.seller.identifiers] == ["gln:4012345000016"]  # possessing
    assert [str(i) for i in doc.buyer.identifiers] == ["gln:0614141000012"]  # owning
    (line,) = doc.lines
    assert (line.item, line.quantity, line.unit) == ("04012345123456", Decimal(200), "KGM")
    assert parsed.media_type == "application/ld+json"


def test_json_biz_transactions_map_to_references() -> None:
    path = EPCIS / "json" / "PersistentDisposition-example.jsonld"
    first = _read(path.read_bytes(), path.name)[0].document
    assert first.references == (
        DocumentRef(DocumentKind.INVOICE, "A123"),
        DocumentRef(DocumentKind.ORDER, "XYZ567"),
        DocumentRef(DocumentKind.DESPATCH_ADVICE, "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6"),
    )
    assert first.lines[0].item == "09520001123467" and first.lines[0].quantity == 10


def test_xml_aggregation_event_read_by_hand() -> None:
    path = EPCIS / "xml" / "WithExtension" / "AggregationEvent.xml"
    (parsed,) = _read(path.read_bytes(), path.name)
    doc = parsed.document
    assert doc.issue_date == dt.date(2013, 6, 8)
    assert {line.item: (line.quantity, line.unit) for line in doc.lines} == {
        "10614141073464": (Decimal(2), "EA"),
        "04012345987652": (Decimal(10), "EA"),
        "04012345123456": (Decimal("200.5"), "KGM"),
    }
    assert doc.number.endswith("?ver=fourflow-c14n")  # no eventID in the file


def test_same_event_in_json_and_xml_gives_the_same_lines() -> None:
    json_doc = _read((EPCIS / "json" / "Example_9.6.1-with-comment.jsonld").read_bytes(), "j")
    xml_doc = _read((EPCIS / "xml" / "Example_9.6.1-ObjectEvent-2020_06_18a.xml").read_bytes(), "x")
    for j, x in zip(json_doc, xml_doc, strict=True):
        assert j.document.lines == x.document.lines
        assert j.document.references == x.document.references
        assert j.document.issue_date == x.document.issue_date


def test_storing_is_a_warehouse_receipt() -> None:
    raw = (EPCIS / "json" / "Example_9.6.2-ObjectEvent.jsonld").read_bytes()
    (parsed,) = _read(raw.replace(b'"bizStep": "receiving"', b'"bizStep": "storing"'), "s")
    assert parsed.document.kind is DocumentKind.WAREHOUSE_RECEIPT


def test_schema_invalid_json_is_refused_with_the_pointer() -> None:
    raw = (EPCIS / "json" / "Example_9.6.2-ObjectEvent.jsonld").read_bytes()
    with pytest.raises(DocumentRejectedError) as err:
        _read(raw.replace(b'"action": "OBSERVE"', b'"action": "LOOK"'), "bad.jsonld")
    assert err.value.problems[0].code == "SCHEMA"
    assert "/epcisBody/eventList/0" in err.value.problems[0].location


def test_identifier_conversions() -> None:
    assert gln_of("urn:epc:id:sgln:0614141.00777.0") == "0614141007776"
    assert gln_of("urn:epc:id:pgln:0614141.00001") == "0614141000012"
    assert gln_of("https://id.gs1.org/417/0614141000012") == "0614141000012"
    assert gln_of("urn:epc:id:sgln:952005385.01.0") is None  # 12 digits needed
    assert gtin_of("urn:epc:id:sgtin:0614141.107346.2017") == "10614141073464"
    assert gtin_of("urn:epc:class:lgtin:4012345.012345.998877") == "04012345123456"
    assert gtin_of("https://id.gs1.org/01/70614141123451/21/2017") == "70614141123451"
    assert cbv_term("https://ref.gs1.org/cbv/BizStep-receiving") == "receiving"
    assert cbv_term("urn:epcglobal:cbv:btt:po") == "po"
    assert biz_transaction_ref("po", "urn:epcglobal:cbv:bt:0614141000012:PO-77") == DocumentRef(
        DocumentKind.ORDER, "PO-77"
    )
    assert biz_transaction_ref("pedigree", "x") is None
