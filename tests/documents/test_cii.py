"""CII D16B reading: CEN's examples, key fields read by hand, credit notes, same key as UBL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from fourflow.adapters.documents import cii
from fourflow.adapters.documents.errors import DocumentRejectedError
from fourflow.adapters.documents.registry import DetectingReader
from fourflow.adapters.documents.standards import standards_dir
from fourflow.domain.documents import (
    Document,
    DocumentKind,
    DocumentLine,
    DocumentRef,
    business_key_text,
)
from fourflow.domain.identifiers import IdScheme
from fourflow.domain.money import Money
from fourflow.domain.parties import Identifier

CII_DIR = "en16931/cii-examples"
UBL_DIR = "en16931/ubl-examples"
# CEN wrote several examples in both syntaxes: (UBL file, CII file) of the same invoice.
SAME_INVOICE = (
    ("ubl-tc434-example1.xml", "CII_example1.xml"),
    ("ubl-tc434-example2.xml", "CII_business_example_01.xml"),
    ("ubl-tc434-example4.xml", "CII_example4.xml"),
    ("ubl-tc434-example8.xml", "CII_example8.xml"),
)


def data(path: str) -> bytes:
    """The bytes of a file in the standards directory."""
    return (standards_dir() / path).read_bytes()


def read_bytes(raw: bytes, source: str) -> Document:
    """Read one document through the platform's detecting reader."""
    [parsed] = DetectingReader().read(raw, source=source)
    return parsed.document


def cii_examples() -> list[str]:
    """CEN's CII example files."""
    return sorted(p.name for p in (standards_dir() / CII_DIR).glob("*.xml"))


@pytest.mark.parametrize("name", cii_examples())
def test_cen_example_is_read_and_passes_the_rules(name: str) -> None:
    """Every CEN CII example is detected, schema-valid, mapped, and breaks no EN 16931 rule."""
    raw = data(f"{CII_DIR}/{name}")
    [parsed] = DetectingReader().read(raw, source=name)
    assert parsed.document.source_format == "cii-d16b"
    assert parsed.document.kind is DocumentKind.INVOICE
    assert parsed.document.total is not None
    assert parsed.media_type == "application/xml"
    assert cii.validate_cii(raw, source=name, rules=True) == []


def test_invoice_key_fields() -> None:
    """CII_example4.xml, read by hand."""
    doc = read_bytes(data(f"{CII_DIR}/CII_example4.xml"), "CII_example4.xml")
    assert (doc.number, doc.issue_date, doc.currency) == ("TOSL110", dt.date(2013, 4, 10), "DKK")
    assert doc.total == Money.of("4675.00", "DKK")
    assert doc.tax_total == Money.of("675.00", "DKK")
    assert doc.due_date == dt.date(2013, 5, 10)
    assert doc.delivery_date == dt.date(2013, 4, 15)
    assert doc.seller.name == "SellerCompany"
    assert Identifier(IdScheme.VAT, "DK16356706") in doc.seller.identifiers
    assert Identifier(IdScheme.GLN, "5790000436101") in doc.seller.identifiers
    assert doc.buyer.identifiers == (Identifier(IdScheme.GLN, "5790000436057"),)
    assert doc.references == (DocumentRef(DocumentKind.ORDER, "123"),)
    assert doc.lines[0] == DocumentLine(
        "1", "JB007", Decimal(1000), "C62", Decimal(1), Decimal(1000)
    )
    assert doc.quantity_by_item() == {
        "JB007": Decimal(1000),
        "JB008": Decimal(100),
        "JB009": Decimal(500),
    }


def test_type_code_381_is_a_credit_note() -> None:
    """The same document with TypeCode 381 is read as a credit note."""
    raw = data(f"{CII_DIR}/CII_example4.xml")
    invoice_type = b"<ram:TypeCode>380</ram:TypeCode>"
    assert raw.count(invoice_type) == 1
    doc = read_bytes(raw.replace(invoice_type, b"<ram:TypeCode>381</ram:TypeCode>"), "cn.xml")
    assert doc.kind is DocumentKind.CREDIT_NOTE
    assert business_key_text(doc) == (
        "credit_note|vat:DK16356706|gln:5790000436057|TOSL110|2013-04-10|4675.00|DKK"
    )


@pytest.mark.parametrize(("ubl_name", "cii_name"), SAME_INVOICE)
def test_same_invoice_as_ubl_and_cii_has_one_business_key(ubl_name: str, cii_name: str) -> None:
    """CEN's paired examples give the same business key in either syntax."""
    from_ubl = read_bytes(data(f"{UBL_DIR}/{ubl_name}"), ubl_name)
    from_cii = read_bytes(data(f"{CII_DIR}/{cii_name}"), cii_name)
    assert business_key_text(from_ubl) is not None
    assert business_key_text(from_ubl) == business_key_text(from_cii)
    # Line details differ inside some pairs as CEN wrote them (example 2: quantity 2 vs 1 of
    # JB007), so only the line count is compared.
    assert len(from_ubl.lines) == len(from_cii.lines)


def test_example7_pair_differs_in_the_files_themselves() -> None:
    """ubl-tc434-example7 and CII_example7 are not one invoice: their issue dates differ."""
    from_ubl = read_bytes(data(f"{UBL_DIR}/ubl-tc434-example7.xml"), "u7")
    from_cii = read_bytes(data(f"{CII_DIR}/CII_example7.xml"), "c7")
    assert (from_ubl.issue_date, from_cii.issue_date) == (
        dt.date(2013, 3, 11),
        dt.date(2013, 5, 13),
    )
    assert business_key_text(from_ubl) != business_key_text(from_cii)


def test_schema_invalid_cii_is_refused_with_line() -> None:
    """An element out of place is a schema error with its line; nothing is mapped."""
    raw = data(f"{CII_DIR}/CII_example4.xml").replace(
        b"<ram:TypeCode>380</ram:TypeCode>", b"<ram:Bogus>1</ram:Bogus>"
    )
    with pytest.raises(DocumentRejectedError) as refused:
        DetectingReader().read(raw, source="bad-cii.xml")
    problem = refused.value.problems[0]
    assert problem.code == "SCHEMA" and problem.location == "line 23"
    assert "Bogus" in problem.message and "bad-cii.xml" in problem.message


def test_rules_catch_a_wrong_total() -> None:
    """A payable amount that does not add up breaks BR-CO-16 (fatal)."""
    raw = data(f"{CII_DIR}/CII_example4.xml")
    due = b"<ram:DuePayableAmount>4675</ram:DuePayableAmount>"
    assert due in raw
    broken = raw.replace(due, b"<ram:DuePayableAmount>4000</ram:DuePayableAmount>")
    issues = cii.validate_cii(broken, source="broken.xml", rules=True)
    assert [(i.rule, i.flag) for i in issues] == [("BR-CO-16", "fatal")]
