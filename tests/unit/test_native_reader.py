"""The native JSON format: schema errors name the field, documents map exactly."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from fourflow.adapters.documents.errors import DocumentRejectedError
from fourflow.adapters.documents.native import NativeJsonReader, native_schema
from fourflow.domain.documents import DocumentKind
from fourflow.domain.money import Money
from fourflow.services.demo import MEMBERS

SELLER = {"name": MEMBERS[1].name, "uscc": MEMBERS[1].uscc}
BUYER = {"name": MEMBERS[0].name, "uscc": MEMBERS[0].uscc, "account": "6222020001000000011"}


def invoice(**changes: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "kind": "invoice", "number": "INV-9", "issue_date": "2026-03-01", "due_date": "2026-05-30",
        "seller": SELLER, "buyer": BUYER, "currency": "CNY", "total": "1130.00", "tax_total": "130.00",
        "lines": [{"item": "SKU-1", "quantity": "100", "unit": "EA", "unit_price": "10.00", "amount": "1000.00"}],
        "references": [{"kind": "order", "number": "PO-9"}],
    }  # fmt: skip
    doc.update(changes)
    return doc


def read(data: object) -> list:  # type: ignore[type-arg]
    return NativeJsonReader(submitter="org-1").read(json.dumps(data).encode(), source="t.json")


def test_an_invoice_maps_every_field() -> None:
    (parsed,) = read(invoice())
    doc = parsed.document
    assert doc.kind is DocumentKind.INVOICE
    assert doc.number == "INV-9"
    assert doc.issue_date == dt.date(2026, 3, 1) and doc.due_date == dt.date(2026, 5, 30)
    assert doc.total == Money.of("1130.00", "CNY") and doc.tax_total == Money.of("130.00", "CNY")
    assert doc.seller.uscc() == MEMBERS[1].uscc and doc.buyer.account == "6222020001000000011"
    assert doc.lines[0].quantity == Decimal(100) and doc.lines[0].unit_price == Decimal("10.00")
    assert doc.refs_to(DocumentKind.ORDER) == ("PO-9",)
    assert doc.submitted_by == "org-1"


def test_a_bundle_gives_each_document_its_own_canonical_form() -> None:
    bundle = {"format": "fourflow-native/1", "scenario": "agriculture",
              "documents": [invoice(), invoice(number="INV-10")]}  # fmt: skip
    parsed = read(bundle)
    assert [p.document.number for p in parsed] == ["INV-9", "INV-10"]
    assert parsed[0].canonical != parsed[1].canonical
    assert all(p.scenario is not None and p.scenario.value == "agriculture" for p in parsed)


def test_canonical_form_ignores_key_order_and_white_space() -> None:
    a = json.dumps(invoice()).encode()
    b = json.dumps(dict(reversed(list(invoice().items()))), indent=4).encode()
    reader = NativeJsonReader()
    assert reader.read(a, source="a")[0].canonical == reader.read(b, source="b")[0].canonical


@pytest.mark.parametrize(
    ("data", "message", "location"),
    [
        (invoice(total=1130.0), "is not of type 'string'", "/total"),
        (invoice(due_date=None), "None is not of type 'string'", "/due_date"),
        ({k: v for k, v in invoice().items() if k != "due_date"}, "'due_date' is a required", "/"),
        (invoice(seller={"name": "x"}), "is not valid under any", "/seller"),
        (invoice(kind="receipt"), "is not one of", "/kind"),
    ],
)
def test_schema_errors_name_the_field(data: object, message: str, location: str) -> None:
    with pytest.raises(DocumentRejectedError) as info:
        read(data)
    assert any(message in p.message and p.location == location for p in info.value.problems)


def test_bad_identifier_is_reported_at_its_document() -> None:
    bad = invoice(seller={"uscc": "91110000600037341X"})
    with pytest.raises(DocumentRejectedError, match="expected 'L'") as info:
        read({"format": "fourflow-native/1", "documents": [invoice(), bad]})
    assert info.value.problems[0].location == "/documents/1"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"\xff\xfe not utf8", "ENCODING"),
        (b'{"kind": "invoice",', "NOT_JSON"),
        (b'{"total": NaN}', "NOT_JSON"),
        (b'{"kind": "a", "kind": "b"}', "NOT_JSON"),
        (b"[" * 100_000, "TOO_DEEP"),
        (b'{"kind": "x\\u0000"}', "BAD_CHARACTER"),
        (b'{"kind": "x\x00"}', "BAD_CHARACTER"),
        (b'["[[[["]' + b"[" * 70 + b"]" * 70, "TOO_DEEP"),
    ],
)
def test_broken_input_is_refused_with_a_code(raw: bytes, code: str) -> None:
    with pytest.raises(DocumentRejectedError) as info:
        NativeJsonReader().read(raw, source="x")
    assert info.value.problems[0].code == code


def test_the_schema_is_valid_draft_2020_12() -> None:
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(native_schema())
