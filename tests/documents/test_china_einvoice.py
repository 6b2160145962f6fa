"""数电票 XML: the reference's examples and our variants map exactly; broken ones are refused."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from fourflow.adapters.documents.china_einvoice import FORMAT_NAME, taxpayer_identifier, validate
from fourflow.adapters.documents.errors import DocumentRejectedError
from fourflow.adapters.documents.registry import DetectingReader, detect
from fourflow.domain.documents import Document, DocumentKind
from fourflow.domain.identifiers import IdScheme
from fourflow.domain.money import Money

FIXTURES = Path(__file__).parent / "fixtures"
REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "formats"


def reference_example(name: str) -> bytes:
    path = REFERENCE / f"china-einvoice-example-{name}.xml"
    if not path.exists():
        pytest.fail(f"{path} is missing: the shared formats folder must sit beside the project")
    return path.read_bytes()


def read(raw: bytes) -> Document:
    (parsed,) = DetectingReader(submitter="org-7").read(raw, source="einvoice.xml")
    return parsed.document


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def cny(amount: str) -> Money:
    return Money.of(amount, "CNY")


def test_the_blue_example_maps_to_an_invoice() -> None:
    doc = read(reference_example("blue"))
    assert doc.kind is DocumentKind.INVOICE and doc.source_format == FORMAT_NAME
    assert doc.number == "26312000000000123456"
    assert doc.issue_date == dt.date(2026, 11, 2)
    assert doc.seller.uscc() == "91310115MA1K4L7T8X"
    assert doc.seller.name == "上海示例数码设备有限公司"
    assert doc.seller.account == "0000000000000000001"
    assert doc.buyer.uscc() == "91110108MA01R2C82F"
    assert doc.currency == "CNY"
    assert doc.total == cny("8136.00") and doc.tax_total == cny("936.00")
    assert [(li.item, li.quantity, li.unit) for li in doc.lines] == [
        ("显示器", Decimal(4), "EA"),
        ("键盘", Decimal(10), "EA"),
    ]
    assert doc.lines[0].unit_price == Decimal(1500) and doc.lines[0].amount == Decimal("6000.00")
    assert doc.references == () and doc.submitted_by == "org-7"


def test_the_red_example_maps_to_a_credit_note_of_the_blue_invoice() -> None:
    doc = read(reference_example("red"))
    assert doc.kind is DocumentKind.CREDIT_NOTE
    assert doc.number == "26312000000000234567"
    assert doc.issue_date == dt.date(2026, 11, 20)
    assert doc.refs_to(DocumentKind.INVOICE) == ("26312000000000123456",)
    assert doc.total == cny("1695.00") and doc.tax_total == cny("195.00")
    (line,) = doc.lines
    assert (line.quantity, line.unit_price, line.amount) == (
        Decimal(1),
        Decimal(1500),
        Decimal("1500.00"),
    )


def test_a_red_invoice_without_the_red_block_finds_its_original_in_the_remark() -> None:
    raw = reference_example("red").decode()
    start, end = raw.index("<SpecificInformation>"), raw.index("</SpecificInformation>")
    raw = raw[:start] + "<SpecificInformation/>" + raw[end + len("</SpecificInformation>") :]
    doc = read(raw.encode())
    assert doc.kind is DocumentKind.CREDIT_NOTE
    assert doc.refs_to(DocumentKind.INVOICE) == ("26312000000000123456",)


def test_element_order_unknown_elements_and_gbk_do_not_change_the_mapping() -> None:
    plain = read(fixture("cn-einvoice-special.xml"))
    shuffled = read(fixture("cn-einvoice-special-shuffled.xml"))
    gbk = read(fixture("cn-einvoice-special-gbk.xml"))
    for other in (shuffled, gbk):
        assert (other.number, other.total, other.lines, other.seller) == (
            plain.number,
            plain.total,
            plain.lines,
            plain.seller,
        )
    assert plain.total == cny("25018.90") and plain.tax_total == cny("2738.90")
    assert [li.quantity for li in plain.lines] == [200, 150, Decimal("12.5")]
    assert plain.lines[1].unit_price == Decimal("86.2")
    assert [li.unit for li in plain.lines] == ["EA", "EA", "HUR"]
    assert plain.buyer.account == "0033000000000000888"


def test_the_gbk_fixture_really_is_gbk() -> None:
    raw = fixture("cn-einvoice-special-gbk.xml")
    assert b'encoding="GBK"' in raw
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")


def test_a_natural_person_buyer_empty_optionals_and_a_discount_line() -> None:
    doc = read(fixture("cn-einvoice-person-buyer.xml"))
    assert doc.kind is DocumentKind.INVOICE  # empty InIssuType and a positive total: blue
    assert doc.buyer.name == "张三" and doc.buyer.identifiers == () and doc.buyer.account is None
    assert doc.seller.uscc() == "91440101MA5CYL6T3J"
    assert doc.issue_date == dt.date(2026, 10, 5)  # IssueTime with a time of day
    assert doc.total == cny("39.54") and doc.tax_total == cny("1.15")
    first, discount = doc.lines
    assert (first.quantity, first.unit, first.amount) == (Decimal(1), "次", Decimal("39.35"))
    assert (discount.quantity, discount.unit, discount.amount) == (Decimal(0), "", Decimal("-0.96"))


def test_the_fixtures_pass_validation_without_warnings() -> None:
    for name in ("cn-einvoice-special.xml", "cn-einvoice-special-gbk.xml"):
        assert validate(fixture(name), source=name, rules=True) == []


def replace(raw: bytes, old: str, new: str) -> bytes:
    text = raw.decode()
    assert old in text
    return text.replace(old, new, 1).encode()


@pytest.mark.parametrize(
    ("old", "new", "rule", "element"),
    [
        ("<EIid>26322000000000456789</EIid>", "", "CN-EINV-001", "Header/EIid"),
        ("<EIid>26322000000000456789</EIid>", "<EIid/>", "CN-EINV-001", "Header/EIid"),
        ("<EIid>26322000000000456789</EIid>", "<EIid>2632-2</EIid>", "CN-EINV-002", "EIid"),
        ("<TotalTaxAm>2738.90</TotalTaxAm>", "<TotalTaxAm>2,738.90</TotalTaxAm>", "CN-EINV-003",
         "BasicInformation/TotalTaxAm"),
        ("<Quantity>200</Quantity>", "<Quantity>two hundred</Quantity>", "CN-EINV-003",
         "IssuItemInformation[1]/Quantity"),
        ("<Quantity>200</Quantity>", "<Quantity>-200</Quantity>", "CN-EINV-010",
         "IssuItemInformation[1]/Quantity"),
        ("<TotalTaxAm>2738.90</TotalTaxAm>", "<TotalTaxAm>2738.901</TotalTaxAm>", "CN-EINV-009",
         "TotalTaxAm"),
        ("<IssueTime>2026-09-14</IssueTime>", "<IssueTime>14/09/2026</IssueTime>", "CN-EINV-004",
         "TaxSupervisionInfo/IssueTime"),
        ("<SellerIdNum>91320594MA1W8R2K7P</SellerIdNum>", "", "CN-EINV-001",
         "SellerInformation/SellerIdNum"),
    ],
)  # fmt: skip
def test_broken_invoices_are_refused_naming_the_element(
    old: str, new: str, rule: str, element: str
) -> None:
    raw = replace(fixture("cn-einvoice-special.xml"), old, new)
    with pytest.raises(DocumentRejectedError, match=element.rsplit("/", 1)[-1]) as info:
        read(raw)
    problem = next(p for p in info.value.problems if p.code == rule)
    assert element in problem.message and problem.location.endswith(element)
    assert any(i.rule == rule for i in validate(raw, source="x", rules=False))


def test_no_dates_at_all_is_refused() -> None:
    raw = replace(fixture("cn-einvoice-special.xml"), "<IssueTime>2026-09-14</IssueTime>", "")
    raw = replace(raw, "<RequestTime>2026-09-14</RequestTime>", "<RequestTime/>")
    with pytest.raises(DocumentRejectedError, match=r"IssueTime and .*RequestTime are both"):
        read(raw)


def test_warning_rules_name_what_they_found() -> None:
    raw = replace(fixture("cn-einvoice-special.xml"), "<InvoiceNumber>26322000000000456789<",
                  "<InvoiceNumber>26322000000000456780<")  # fmt: skip
    raw = replace(raw, "<BuyerIdNum>91330108MA2H3Q5N13", "<BuyerIdNum>91330108MA2H3Q5N14")
    raw = replace(raw, "<TaxRate>0.06</TaxRate>", "<TaxRate>6</TaxRate>")
    issues = validate(raw, source="x", rules=True)
    assert {(i.rule, i.flag) for i in issues} == {
        ("CN-EINV-005", "warning"),
        ("CN-EINV-007", "warning"),
        ("CN-EINV-008", "warning"),
    }
    assert read(raw).buyer.identifiers[0].scheme is IdScheme.VAT  # still read
    assert validate(raw, source="x", rules=False) == []


def test_a_red_invoice_naming_no_original_is_warned_about() -> None:
    raw = reference_example("red").decode()
    raw = raw.replace("<OriginalInvoiceCode>26312000000000123456</OriginalInvoiceCode>", "")
    raw = raw.replace("被红冲蓝字数电票号码：26312000000000123456", "")
    issues = validate(raw.encode(), source="x", rules=True)
    assert [i.rule for i in issues] == ["CN-EINV-006"]
    assert read(raw.encode()).references == ()


def test_detection_is_by_the_root_element_only() -> None:
    assert detect(fixture("cn-einvoice-special.xml")) is not None
    assert detect(b"<Invoice><EIid>1</EIid></Invoice>") is None
    namespaced = b'<EInvoice xmlns="urn:example"><Header/></EInvoice>'
    assert detect(namespaced) is None


def test_hostile_xml_is_refused_before_mapping() -> None:
    raw = b'<?xml version="1.0"?><!DOCTYPE EInvoice [<!ENTITY x "y">]><EInvoice>&x;</EInvoice>'
    with pytest.raises(DocumentRejectedError) as info:
        read(raw)
    assert info.value.problems[0].code == "DTD_FORBIDDEN"


@pytest.mark.parametrize(
    ("raw", "scheme"),
    [
        ("91310115MA1K4L7T8X", IdScheme.USCC),
        ("91310115MA1K4L7T8Y", IdScheme.VAT),  # bad check character: a taxpayer id, not a USCC
        ("310115123456789", IdScheme.VAT),  # legacy 15-character TIN
        ("11010519491231002X", IdScheme.OTHER),  # resident identity number (GB 11643 check)
    ],
)
def test_taxpayer_ids_are_classified(raw: str, scheme: IdScheme) -> None:
    assert taxpayer_identifier(raw).scheme is scheme


def test_the_canonical_form_ignores_comments_and_declaration_but_keeps_content() -> None:
    reader = DetectingReader()
    raw = fixture("cn-einvoice-special.xml")
    (a,) = reader.read(raw, source="a")
    (b,) = reader.read(raw[raw.index(b"<EInvoice>") :], source="b")
    (c,) = reader.read(replace(raw, "赵示例", "钱示例"), source="c")
    assert a.canonical == b.canonical != c.canonical
    assert a.raw == raw and a.media_type == "application/xml"
