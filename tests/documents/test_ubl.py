"""UBL reading: every public sample of a supported kind, key fields read by hand, refusals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from fourflow.adapters.documents import ubl
from fourflow.adapters.documents.errors import DocumentRejectedError
from fourflow.adapters.documents.registry import DetectingReader, sniff
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

SAMPLE_DIRS = (
    "ubl/examples-2.1",
    "peppol-billing/examples",
    "peppol-billing/snippets",
    "en16931/ubl-examples",
    "en16931/testfiles",
    "peppol-poacc/examples",
    "peppol-logistics/examples",
)
# Samples that are not valid UBL 2.1 (FourFlow validates against the UBL 2.1 maindoc XSDs):
# path -> (line, element the XSD names).
SCHEMA_INVALID = {
    # Greek national examples put AdditionalDocumentReference after the parties (wrong order).
    "peppol-billing/examples/national-examples/GR/GR-base-example-TaxRepresentative.xml": (
        "line 75",
        "AdditionalDocumentReference",
    ),
    "peppol-billing/examples/national-examples/GR/GR-base-example-correct.xml": (
        "line 85",
        "AdditionalDocumentReference",
    ),
    # Peppol advanced ordering uses OrderChangeDocumentReference, new in UBL 2.3.
    "peppol-poacc/examples/use-case-examples/advanced-ordering-sc2/OrderResponse_sc2.xml": (
        "line 17",
        "OrderChangeDocumentReference",
    ),
}


def data(path: str) -> bytes:
    """The bytes of a file in the standards directory."""
    return (standards_dir() / path).read_bytes()


def ubl_samples() -> list[str]:
    """Every sample file whose root is a UBL document type FourFlow reads."""
    root = standards_dir()
    found = []
    for folder in SAMPLE_DIRS:
        for path in sorted((root / folder).rglob("*")):
            is_xml = path.is_file() and path.suffix.lower() == ".xml"
            if is_xml and sniff(path.read_bytes()).xml_root in ubl.ROOTS:
                found.append(str(path.relative_to(root)))
    return found


def read(path: str) -> Document:
    """Read one sample through the platform's detecting reader."""
    [parsed] = DetectingReader(new_id=lambda: "doc-1").read(data(path), source=path)
    return parsed.document


def test_every_supported_kind_has_samples() -> None:
    """The sample set covers all six document types FourFlow reads from UBL."""
    roots = {sniff(data(p)).xml_root[1] for p in ubl_samples()}  # type: ignore[index]
    assert {
        "Order",
        "OrderResponse",
        "DespatchAdvice",
        "ReceiptAdvice",
        "Invoice",
        "CreditNote",
    } <= roots
    assert len(ubl_samples()) >= 100


@pytest.mark.parametrize("path", [p for p in ubl_samples() if p not in SCHEMA_INVALID])
def test_public_sample_is_read(path: str) -> None:
    """Every valid UBL sample is detected, schema-checked and mapped with its canonical bytes."""
    [parsed] = DetectingReader().read(data(path), source=path)
    doc = parsed.document
    assert doc.kind in {k.kind for k in ubl.KINDS.values()}
    assert doc.number.strip()
    assert doc.source_format in ("ubl-2.0", "ubl-2.1", "peppol-bis-3")
    assert parsed.media_type == "application/xml"
    assert parsed.canonical.startswith(b"<") and b"<?xml" not in parsed.canonical


@pytest.mark.parametrize("path", sorted(SCHEMA_INVALID))
def test_schema_invalid_sample_is_refused_naming_element_and_line(path: str) -> None:
    """Samples that break the UBL 2.1 schema are refused with the XSD error and its line."""
    line, element = SCHEMA_INVALID[path]
    with pytest.raises(DocumentRejectedError) as refused:
        DetectingReader().read(data(path), source=path)
    first = refused.value.problems[0]
    assert first.code == "SCHEMA"
    assert first.location == line
    assert element in first.message and path in first.message


def test_invoice_key_fields() -> None:
    """UBL-Invoice-2.1-Example.xml, read by hand."""
    doc = read("ubl/examples-2.1/UBL-Invoice-2.1-Example.xml")
    assert (doc.kind, doc.number, doc.issue_date) == (
        DocumentKind.INVOICE,
        "TOSL108",
        dt.date(2009, 12, 15),
    )
    assert doc.currency == "EUR"
    assert doc.total == Money.of("729.00", "EUR")
    assert doc.tax_total == Money.of("292.20", "EUR")
    assert doc.due_date == dt.date(2009, 12, 31)  # PaymentMeans/PaymentDueDate
    assert doc.delivery_date == dt.date(2009, 12, 15)
    assert doc.seller.name == "The Sellercompany Incorporated"
    assert Identifier(IdScheme.VAT, "DK12345") in doc.seller.identifiers
    assert Identifier(IdScheme.VAT, "BE54321") in doc.buyer.identifiers
    # The file's GLN 1234567890123 fails its check digit: kept, as OTHER, not a crash.
    assert Identifier(IdScheme.OTHER, "GLN:1234567890123") in doc.seller.identifiers
    # A PayeeParty is named, so the payee account is not taken as the seller's.
    assert doc.seller.account is None
    assert doc.references == (
        DocumentRef(DocumentKind.ORDER, "123"),
        DocumentRef(DocumentKind.CONTRACT, "Contract321"),
    )
    assert doc.lines[0] == DocumentLine(
        "1", "JB007", Decimal(1), "C62", Decimal(1273), Decimal(1273)
    )
    # Line 2 is -1 x 3.96: kept as 1 at -3.96, so quantity x price is still the amount.
    assert doc.lines[1] == DocumentLine(
        "2", "JB008", Decimal(1), "C62", Decimal("-3.96"), Decimal("-3.96")
    )
    assert len(doc.lines) == 5


def test_credit_note_references_the_invoice_it_credits() -> None:
    """BIS_Billing_30-Kreditering_med_kreditnota.xml credits invoice 2018133."""
    doc = read("en16931/testfiles/BIS_Billing_30-Kreditering_med_kreditnota.xml")
    assert (doc.kind, doc.number, doc.source_format) == (
        DocumentKind.CREDIT_NOTE,
        "2018140",
        "peppol-bis-3",
    )
    assert doc.total == Money.of("10000.00", "SEK")
    assert DocumentRef(DocumentKind.INVOICE, "2018133") in doc.references


def test_order_key_fields() -> None:
    """Peppol Order_Example.xml: SellerSupplierParty/BuyerCustomerParty, anticipated total."""
    doc = read("peppol-poacc/examples/examples/Order_Example.xml")
    assert (doc.kind, doc.number, doc.issue_date, doc.currency) == (
        DocumentKind.ORDER,
        "34",
        dt.date(2018, 9, 1),
        "NOK",
    )
    assert doc.seller.name == "Medical AS" and doc.buyer.name == "Helseforetak AS"
    assert Identifier(IdScheme.GLN, "7300010000001") in doc.buyer.identifiers
    assert Identifier(IdScheme.VAT, "NO9311867455MVA") in doc.buyer.identifiers
    assert doc.total == Money.of("6363.00", "NOK")
    assert doc.quantity_by_item() == {"121212": Decimal(120), "SItemNo011": Decimal(15)}
    assert doc.lines[0].unit == "EA" and doc.lines[0].amount == Decimal("6300.00")


def test_order_response_references_its_order() -> None:
    """Peppol OrderResponse_Example.xml answers order 11233."""
    doc = read("peppol-poacc/examples/examples/OrderResponse_Example.xml")
    assert (doc.kind, doc.number, doc.issue_date) == (
        DocumentKind.ORDER_RESPONSE,
        "101",
        dt.date(2013, 7, 1),
    )
    assert doc.references == (DocumentRef(DocumentKind.ORDER, "11233"),)
    assert doc.seller.identifiers[0] == Identifier(IdScheme.GLN, "7598000000128")
    assert doc.buyer.identifiers[0] == Identifier(IdScheme.GLN, "7590000012347")
    assert doc.lines[0].quantity == Decimal(10) and doc.lines[0].item == "SN-33"


def test_despatch_advice_key_fields() -> None:
    """Peppol DespatchAdvice-BIS3_UseCase1.xml: despatch and delivery parties, quantities."""
    doc = read(
        "peppol-poacc/examples/examples/Despatch_Advice_use_cases/DespatchAdvice-BIS3_UseCase1.xml"
    )
    assert (doc.kind, doc.number, doc.issue_date) == (
        DocumentKind.DESPATCH_ADVICE,
        "1234",
        dt.date(2019, 3, 15),
    )
    assert doc.seller.name == "Consortial" and doc.buyer.name == "IYT Corporation"
    assert doc.seller.identifiers == (Identifier(IdScheme.GLN, "7385000000124"),)
    assert doc.references == (DocumentRef(DocumentKind.ORDER, "4321"),)
    assert doc.quantity_by_item() == {"010120401": Decimal(10), "010140403": Decimal(10)}
    assert doc.total is None and doc.currency is None


def test_receipt_advice_key_fields() -> None:
    """Peppol ReceiptAdvice_Example_Full.xml: receipt of despatch 565899, 90 KGM received."""
    doc = read("peppol-logistics/examples/ReceiptAdvice_Example_Full.xml")
    assert (doc.kind, doc.number, doc.issue_date) == (
        DocumentKind.RECEIPT_ADVICE,
        "5658999",
        dt.date(2021, 9, 10),
    )
    assert doc.delivery_date == dt.date(2021, 9, 26)
    assert DocumentRef(DocumentKind.DESPATCH_ADVICE, "565899") in doc.references
    assert doc.lines == (DocumentLine("1", "17589683", Decimal(90), "KGM"),)
    assert Identifier(IdScheme.VAT, "GB325456788") in doc.seller.identifiers


def test_factoring_invoice_does_not_give_the_factor_account_to_the_seller() -> None:
    """In factoring the payee (the factor) owns the account the buyer pays to."""
    doc = read("en16931/testfiles/BIS_Billing_30-Factoring.xml")
    assert doc.seller.name == "QVK Montage AB"
    assert doc.seller.account is None


def test_seller_account_and_iban() -> None:
    """Without a separate payee, the (first) payee account is the seller's; an IBAN is an id."""
    doc = read("en16931/ubl-examples/ubl-tc434-example1.xml")
    assert doc.seller.account == "NL57RABO0107307510"  # written "NL57 RABO 0107307510"
    assert Identifier(IdScheme.IBAN, "NL57RABO0107307510") in doc.seller.identifiers
    assert doc.buyer.account is None
    # base-example.xml's account "IBAN32423940" is no IBAN: kept as the account only.
    base = read("peppol-billing/examples/examples/base-example.xml")
    assert base.seller.account == "IBAN32423940"
    assert all(i.scheme is not IdScheme.IBAN for i in base.seller.identifiers)


def test_company_id_that_is_a_uscc_is_read_as_uscc() -> None:
    """A seller whose PartyTaxScheme/CompanyID validates as a USCC is known by that USCC."""
    path = "en16931/testfiles/Invoice-Min_content_with_VAT.xml"
    vat = b"<cbc:CompanyID>SE123451234501</cbc:CompanyID>"
    raw = data(path)
    assert vat in raw
    chinese = raw.replace(vat, b"<cbc:CompanyID>91110000600037341L</cbc:CompanyID>")
    doc = DetectingReader().read(chinese, source=path)[0].document
    assert doc.seller.uscc() == "91110000600037341L"
    assert business_key_text(doc).split("|")[1] == "uscc:91110000600037341L"  # type: ignore[union-attr]


def test_broken_document_is_refused_with_line_number() -> None:
    """A schema error is reported with its element and line, never mapped half-way."""
    raw = data("ubl/examples-2.1/UBL-Invoice-2.1-Example.xml").replace(
        b"<cbc:IssueDate>2009-12-15</cbc:IssueDate>", b"<cbc:IssueDate>15.12.2009</cbc:IssueDate>"
    )
    with pytest.raises(DocumentRejectedError) as refused:
        DetectingReader().read(raw, source="bad.xml")
    assert refused.value.problems[0].location == "line 7"
    assert "IssueDate" in str(refused.value)


def test_validate_runs_xsd_and_en16931_rules() -> None:
    """validate(rules=True) adds EN 16931 findings: a wrong payable amount breaks BR-CO-16."""
    path = "en16931/ubl-examples/ubl-tc434-example1.xml"
    raw = data(path)
    assert ubl.validate_ubl(raw, source=path, rules=True) == []
    broken = raw.replace(
        b'PayableAmount currencyID="EUR">250.33', b'PayableAmount currencyID="EUR">999.00'
    )
    issues = ubl.validate_ubl(broken, source=path, rules=True)
    assert [(i.rule, i.flag) for i in issues] == [("BR-CO-16", "fatal")]
    assert issues[0].location.startswith("/")
    assert ubl.validate_ubl(broken, source=path, rules=False) == []


@pytest.mark.parametrize(
    "path",
    [p for p in ubl_samples() if p.startswith("en16931/ubl-examples/")],
)
def test_cen_examples_break_no_fatal_rule(path: str) -> None:
    """CEN's own UBL examples pass the EN 16931 rules (no fatal failed assertion)."""
    issues = ubl.validate_ubl(data(path), source=path, rules=True)
    assert [i for i in issues if i.flag == "fatal"] == []


def test_unknown_xml_is_not_claimed_by_ubl() -> None:
    """A UBL document type FourFlow does not read (Catalogue) is refused as unknown."""
    path = "peppol-poacc/examples/examples/Catalogue_Example.xml"
    with pytest.raises(DocumentRejectedError) as refused:
        DetectingReader().read(data(path), source=path)
    assert refused.value.problems[0].code == "UNKNOWN_FORMAT"


def test_ubl_version_is_reported() -> None:
    """UBL 2.0 samples say ``ubl-2.0``; the 2.1 schema still accepts them."""
    doc = read("ubl/examples-2.1/UBL-Order-2.0-Example-International.xml")
    assert doc.source_format == "ubl-2.0"
    assert doc.total == Money.of("1000.00", "USD")
