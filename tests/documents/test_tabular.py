"""CSV/XLSX exports through a column mapping: exact mapping, per-row problems, partial batches."""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import json
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import openpyxl
import pytest

from fourflow.adapters.documents.errors import DocumentRejectedError
from fourflow.adapters.documents.registry import DetectingReader
from fourflow.adapters.documents.tabular import (
    CSV_FORMAT,
    XLSX_FORMAT,
    PartiallyRejectedError,
    mapping_schema,
)
from fourflow.domain.documents import DocumentKind, business_key_text
from fourflow.domain.money import Money
from fourflow.services.reading import ParsedDocument

FIXTURES = Path(__file__).parent / "fixtures"
KINGDEE_CSV = FIXTURES / "erp-kingdee-invoice-lines.gbk.csv"
SCMS = (
    Path(__file__).resolve().parents[3]
    / "shared/data/supply_chain/scms_delivery_history/SCMS_Delivery_History_Dataset.csv"
)
INVOICE_A, INVOICE_B, RED_C = (
    "26322000000000456789",
    "26322000000000456790",
    "26322000000000456801",
)


def mapping(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return loaded


def read(raw: bytes, spec: dict[str, Any] | None, source: str = "export") -> list[ParsedDocument]:
    options: dict[str, object] = {"mapping": spec} if spec is not None else {}
    return DetectingReader(submitter="org-3", options=options).read(raw, source=source)


def kingdee_records() -> list[list[str]]:
    text = KINGDEE_CSV.read_bytes().decode("gbk")
    return list(csv.reader(io.StringIO(text, newline="")))


def kingdee_csv(edit: dict[tuple[int, str], str] | None = None) -> bytes:
    """The GBK fixture, with cells changed at (file row number, column name)."""
    records = kingdee_records()
    header = records[1]
    for (row, column), value in (edit or {}).items():
        records[row - 1][header.index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(records)
    return out.getvalue().encode("gbk")


NUMERIC = {"行号", "数量", "单价", "金额", "税额", "价税合计"}
DATES = {"开票日期", "到期日"}


def _typed(column: str, text: str) -> object:
    """A cell as Excel would hold it: numbers and dates typed, everything else text."""
    if not text:
        return None
    if column in NUMERIC:
        return Decimal(text.replace(",", ""))
    if column in DATES:
        return dt.datetime.strptime(text, "%Y/%m/%d")
    return text


def kingdee_xlsx(number_as_number: bool = False) -> bytes:
    """The same export as an XLSX workbook built by openpyxl (typed cells, sheet 销售发票)."""
    records = kingdee_records()
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "销售发票"
    sheet.append(records[0][:1])
    sheet.append(records[1])
    for record in records[2:]:
        row = [_typed(col, text) for col, text in zip(records[1], record, strict=True)]
        if number_as_number and row[1]:
            row[1] = int(str(row[1]))
        sheet.append(row)
    book.create_sheet("说明").append(["合成示例"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def by_number(parsed: list[ParsedDocument]) -> dict[str, ParsedDocument]:
    return {p.document.number: p for p in parsed}


def cny(amount: str) -> Money:
    return Money.of(amount, "CNY")


def test_the_kingdee_gbk_export_maps_to_invoices_and_a_credit_note() -> None:
    parsed = read(KINGDEE_CSV.read_bytes(), mapping("erp-kingdee-csv-mapping.json"))
    docs = {n: p.document for n, p in by_number(parsed).items()}
    assert list(docs) == [INVOICE_A, INVOICE_B, RED_C]  # the 合计 row is skipped
    a = docs[INVOICE_A]
    assert a.kind is DocumentKind.INVOICE and a.source_format == CSV_FORMAT
    assert a.issue_date == dt.date(2026, 9, 14) and a.due_date == dt.date(2026, 12, 13)
    assert a.seller.uscc() == "91320594MA1W8R2K7P" and a.seller.name == "苏州示例精密机械有限公司"
    assert a.buyer.uscc() == "91330108MA2H3Q5N13"
    assert a.total == cny("25018.90") and a.tax_total == cny("2738.90")
    assert [(li.line_id, li.item, li.quantity, li.unit) for li in a.lines] == [
        ("1", "钢制轴承座", 200, "EA"),
        ("2", "精密齿轮", 150, "EA"),
        ("3", "机加工服务", Decimal("12.5"), "HUR"),
    ]
    assert a.lines[1].amount == Decimal("12930.00") and a.lines[1].unit_price == Decimal("86.20")
    assert a.refs_to(DocumentKind.ORDER) == ("PO-2026-0914",) and a.submitted_by == "org-3"
    c = docs[RED_C]
    assert c.kind is DocumentKind.CREDIT_NOTE and c.due_date is None
    assert c.total == cny("974.06") and c.tax_total == cny("112.06")
    assert (c.lines[0].quantity, c.lines[0].amount) == (Decimal(10), Decimal("862.00"))
    assert c.refs_to(DocumentKind.INVOICE) == (INVOICE_A,)


def test_the_same_export_as_xlsx_gives_the_same_canonical_documents() -> None:
    from_csv = by_number(read(KINGDEE_CSV.read_bytes(), mapping("erp-kingdee-csv-mapping.json")))
    from_xlsx = by_number(read(kingdee_xlsx(), mapping("erp-kingdee-xlsx-mapping.json")))
    assert list(from_xlsx) == list(from_csv)
    for number, parsed in from_xlsx.items():
        assert parsed.document.source_format == XLSX_FORMAT
        assert parsed.canonical == from_csv[number].canonical
        assert parsed.media_type == "application/json"
    assert from_xlsx[INVOICE_A].document.lines == from_csv[INVOICE_A].document.lines


def test_the_export_and_the_einvoice_xml_share_the_business_key() -> None:
    (xml,) = DetectingReader().read((FIXTURES / "cn-einvoice-special.xml").read_bytes(), source="x")
    exported = by_number(read(KINGDEE_CSV.read_bytes(), mapping("erp-kingdee-csv-mapping.json")))
    assert business_key_text(exported[INVOICE_A].document) == business_key_text(xml.document)


def test_raw_keeps_the_source_rows_of_each_document() -> None:
    parsed = by_number(read(KINGDEE_CSV.read_bytes(), mapping("erp-kingdee-csv-mapping.json")))
    raw = json.loads(parsed[INVOICE_B].raw)
    assert [r["row"] for r in raw["rows"]] == [6]
    assert raw["rows"][0]["cells"]["金额"] == "4,310.00"
    assert json.loads(parsed[INVOICE_B].canonical) == raw["document"]


def test_bad_rows_reject_their_document_and_keep_the_good_ones() -> None:
    raw = kingdee_csv(
        {(6, "开票日期"): "2026-09-20", (7, "销售方纳税人识别号"): "91320594MA1W8R2K7Q"}
    )
    with pytest.raises(PartiallyRejectedError) as info:
        read(raw, mapping("erp-kingdee-csv-mapping.json"), source="k.csv")
    assert [p.document.number for p in info.value.partial] == [INVOICE_A]
    problems = {p.location: p.message for p in info.value.problems}
    assert set(problems) == {"row 6, column '开票日期'", "row 7, column '销售方纳税人识别号'"}
    assert (
        "'2026-09-20' is not a date in the format '%Y/%m/%d'"
        in problems["row 6, column '开票日期'"]
    )
    assert f"k.csv: document {INVOICE_B}" in problems["row 6, column '开票日期'"]
    assert "check character" in problems["row 7, column '销售方纳税人识别号'"]
    assert isinstance(info.value, DocumentRejectedError)


def test_one_bad_line_rejects_its_whole_document() -> None:
    raw = kingdee_csv({(4, "数量"): "一百五十"})
    with pytest.raises(PartiallyRejectedError) as info:
        read(raw, mapping("erp-kingdee-csv-mapping.json"))
    assert [p.document.number for p in info.value.partial] == [INVOICE_B, RED_C]
    (problem,) = info.value.problems
    assert (
        problem.location == "row 4, column '数量'"
        and "'一百五十' is not a number" in problem.message
    )


def test_when_nothing_is_good_the_file_is_refused_outright() -> None:
    raw = kingdee_csv({(3, "开票日期"): "", (6, "币别"): "美元", (7, "单据类型"): "作废发票"})
    with pytest.raises(DocumentRejectedError) as info:
        read(raw, mapping("erp-kingdee-csv-mapping.json"))
    assert not isinstance(info.value, PartiallyRejectedError)
    messages = " | ".join(p.message for p in info.value.problems)
    assert "row 3, column '开票日期': issue_date is empty" in messages
    assert "row 6, column '币别': currency '美元' is not one of ['人民币']" in messages
    assert "row 7, column '单据类型': kind '作废发票' is not one of" in messages


def test_rows_of_one_document_must_agree() -> None:
    raw = kingdee_csv({(4, "到期日"): "2026/12/31"})
    with pytest.raises(PartiallyRejectedError) as info:
        read(raw, mapping("erp-kingdee-csv-mapping.json"))
    (problem,) = info.value.problems
    assert problem.location == "row 4, column '到期日'"
    assert "differs from datetime.date(2026, 12, 13) on row 3" in problem.message


def test_a_missing_column_refuses_the_file_naming_it() -> None:
    spec = mapping("erp-kingdee-csv-mapping.json")
    spec["line"]["item"] = {"column": "商品名称"}
    with pytest.raises(DocumentRejectedError, match="no column '商品名称'") as info:
        read(KINGDEE_CSV.read_bytes(), spec)
    assert info.value.problems[0].code == "MISSING_COLUMN"


def test_a_wrong_encoding_is_refused_with_its_row() -> None:
    spec = mapping("erp-kingdee-csv-mapping.json")
    spec["csv"]["encoding"] = "utf-8"
    with pytest.raises(DocumentRejectedError) as info:
        read(KINGDEE_CSV.read_bytes(), spec)
    assert info.value.problems[0].code == "ENCODING"
    assert info.value.problems[0].location.startswith("row 1,")


def test_a_broken_mapping_is_refused_at_its_pointer() -> None:
    spec = mapping("erp-kingdee-csv-mapping.json")
    spec["csv"]["encoding"] = "latin-1"
    del spec["document"]["issue_date"]
    with pytest.raises(DocumentRejectedError) as info:
        read(KINGDEE_CSV.read_bytes(), spec)
    where = {p.location: p.message for p in info.value.problems}
    assert "'issue_date' is a required property" in where["mapping:/document"]
    assert "is not one of" in where["mapping:/csv/encoding"]


def test_without_a_mapping_text_is_not_a_format() -> None:
    with pytest.raises(DocumentRejectedError, match="column mapping") as info:
        read(KINGDEE_CSV.read_bytes(), None)
    assert info.value.problems[0].code == "UNKNOWN_FORMAT"


def test_decimal_commas_semicolons_constants_and_one_row_documents() -> None:
    text = (
        "Rechnung;Datum;Betrag;Kunde\r\n"
        "R-1;03.02.2026;1.234,50;DE123456789\r\n"
        "R-2;04.02.2026;99,00;DE123456789\r\n"
    )
    spec = {
        "format": "fourflow-mapping/1",
        "kind": "invoice",
        "csv": {"delimiter": ";"},
        "dates": ["%Y-%m-%d", "%d.%m.%Y"],
        "numbers": {"decimal_separator": ",", "thousands_separator": "."},
        "document": {
            "number": {"column": "Rechnung"},
            "issue_date": {"column": "Datum"},
            "currency": {"value": "EUR"},
            "total": {"column": "Betrag"},
            "seller": {"name": {"value": "Muster GmbH"}, "vat": {"value": "DE987654321"}},
            "buyer": {"vat": {"column": "Kunde"}},
        },
    }
    first, second = (p.document for p in read(text.encode(), spec))
    assert first.total == Money.of("1234.50", "EUR") and second.total == Money.of("99.00", "EUR")
    assert first.issue_date == dt.date(2026, 2, 3) and first.lines == ()
    assert str(first.seller.identifiers[0]) == "vat:DE987654321"


def test_xlsx_numbers_that_lost_digits_are_refused() -> None:
    with pytest.raises(DocumentRejectedError, match="lost digits; store it as text"):
        read(kingdee_xlsx(number_as_number=True), mapping("erp-kingdee-xlsx-mapping.json"))


def test_a_missing_sheet_is_named() -> None:
    spec = mapping("erp-kingdee-xlsx-mapping.json")
    spec["xlsx"]["sheet"] = "Sheet1"
    with pytest.raises(
        DocumentRejectedError, match=r"no worksheet 'Sheet1' \(has 销售发票, 说明\)"
    ):
        read(kingdee_xlsx(), spec)


def test_a_zip_that_is_not_a_workbook_or_declares_a_dtd_is_refused() -> None:
    plain = io.BytesIO()
    with zipfile.ZipFile(plain, "w") as archive:
        archive.writestr("invoice.xml", "<EInvoice/>")
    spec = mapping("erp-kingdee-xlsx-mapping.json")
    with pytest.raises(DocumentRejectedError, match="not an XLSX workbook"):
        read(plain.getvalue(), spec)
    hostile = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(kingdee_xlsx())) as src, zipfile.ZipFile(hostile, "w") as out:
        for member in src.infolist():
            body = src.read(member)
            if member.filename == "xl/workbook.xml":
                body = body.replace(b"<workbook", b'<!DOCTYPE x [<!ENTITY a "b">]><workbook', 1)
            out.writestr(member, body)
    with pytest.raises(DocumentRejectedError, match=r"xl/workbook\.xml declares a DTD") as info:
        read(hostile.getvalue(), spec)
    assert info.value.problems[0].code == "DTD_FORBIDDEN"


def test_the_mapping_schema_is_valid_and_accepts_the_fixtures() -> None:
    jsonschema.Draft202012Validator.check_schema(mapping_schema())
    for name in ("erp-kingdee-csv-mapping.json", "erp-kingdee-xlsx-mapping.json",
                 "scms-delivery-mapping.json"):  # fmt: skip
        jsonschema.validate(mapping(name), mapping_schema())


def scms_head(rows: int) -> bytes:
    if not SCMS.exists():
        pytest.fail(f"{SCMS} is missing: the shared data must sit beside the project")
    with SCMS.open("rb") as file:
        return b"".join(file.readline() for _ in range(rows + 1))


def test_the_real_scms_delivery_history_reads_as_despatch_advices() -> None:
    parsed = by_number(read(scms_head(500), mapping("scms-delivery-mapping.json"), "scms.csv"))
    assert len(parsed) == 383  # 500 shipment lines, grouped by ASN/DN #
    first = parsed["ASN-50"].document
    assert first.kind is DocumentKind.DESPATCH_ADVICE
    assert first.seller.name == "SUN PHARMACEUTICAL INDUSTRIES LTD (RANBAXY LABORATORIES LIMITED)"
    assert first.refs_to(DocumentKind.ORDER) == ("SCMS-78",)
    assert first.issue_date == first.delivery_date == dt.date(2006, 9, 1)
    assert first.total == Money.of("127360.80", "USD")
    (line,) = first.lines
    assert (line.line_id, line.item) == ("15", "Lamivudine 150mg, tablets, 60 Tabs")
    assert (line.quantity, line.unit, line.unit_price) == (Decimal(31920), "PK", Decimal("3.99"))

    shipment = parsed["ASN-3553"].document
    assert shipment.seller.name == "S. BUYS WHOLESALER"
    assert shipment.refs_to(DocumentKind.ORDER) == ("SCMS-33320",)
    assert shipment.delivery_date == dt.date(2008, 10, 9)
    assert [li.line_id for li in shipment.lines] == [
        "835", "837", "838", "839", "2156", "2157", "2158", "2159", "3490", "4798",
    ]  # fmt: skip
    assert (shipment.lines[0].quantity, shipment.lines[0].amount) == (
        Decimal(80),
        Decimal("1830.4"),
    )
    assert shipment.total == Money.of("32627.03", "USD")


def test_scms_sentinel_dates_are_empty_not_errors() -> None:
    spec = copy.deepcopy(mapping("scms-delivery-mapping.json"))
    spec["document"]["due_date"] = {"column": "PO Sent to Vendor Date"}  # 'Date Not Captured'
    parsed = by_number(read(scms_head(3), spec))
    assert parsed["ASN-50"].document.due_date is None
    del spec["empty"]
    with pytest.raises(DocumentRejectedError, match="'Date Not Captured' is not a date"):
        read(scms_head(3), spec)
