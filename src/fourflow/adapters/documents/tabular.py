"""ERP exports in CSV or XLSX, read through a declarative column mapping (mapping-v1.json).

Rows are grouped into documents by key columns (one row per line). A document is kept only
when all of its rows are good; when some documents are bad and some good, the reader raises
``PartiallyRejectedError`` carrying the good ones in ``partial`` (docs/formats/tabular.md).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
import openpyxl
import rfc8785

from fourflow.adapters.documents.china_einvoice import taxpayer_identifier
from fourflow.adapters.documents.errors import DocumentRejectedError, Problem
from fourflow.adapters.documents.registry import FormatSpec, ReadContext, Sniffed
from fourflow.domain.documents import Document, DocumentKind, DocumentLine, DocumentRef
from fourflow.domain.errors import DomainValueError
from fourflow.domain.money import Money
from fourflow.domain.parties import Identifier, PartyRef
from fourflow.services.reading import ParsedDocument

CSV_FORMAT = "tabular-csv"
XLSX_FORMAT = "tabular-xlsx"
MAPPING_TAG = "fourflow-mapping/1"
MEDIA_TYPE = "application/json"
MAX_BYTES = 32 * 1024 * 1024
MAX_XLSX_UNPACKED = 256 * 1024 * 1024
_ENCODINGS = {
    "utf-8": "utf-8-sig",
    "utf-8-bom": "utf-8-sig",
    "gbk": "gb18030",
    "gb18030": "gb18030",
}
_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")
_PARTY_SCHEMES = ("uscc", "vat", "gln", "lei")
_ALWAYS_REQUIRED = frozenset({"number", "issue_date", "item", "quantity", "unit"})
_FLOAT_EXACT = 2**53

Cell = str | int | float | Decimal | dt.date | None


class PartiallyRejectedError(DocumentRejectedError):
    """Some documents of a file were bad: ``problems`` names them, ``partial`` holds the good.

    The platform keeps the good documents of a batch and reports the bad: an ingest service
    catching this stores ``partial`` and reports ``problems``.
    """

    def __init__(self, problems: list[Problem], partial: list[ParsedDocument]) -> None:
        super().__init__(problems)
        self.partial = partial


class CellError(ValueError):
    """A cell's value cannot be read as the field needs it."""


# --- the mapping -----------------------------------------------------------------------------


@cache
def mapping_schema() -> dict[str, Any]:
    """The JSON Schema of the column-mapping file."""
    text = resources.files("fourflow.adapters.documents").joinpath("schemas/mapping-v1.json")
    schema: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    return schema


@cache
def _schema_validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(mapping_schema())


def check_mapping(mapping: object) -> list[Problem]:
    """Schema problems of a column mapping, each at its JSON pointer."""
    errors = sorted(
        _schema_validator().iter_errors(mapping), key=lambda e: [str(p) for p in e.path]
    )
    return [
        Problem("MAPPING", e.message, "mapping:/" + "/".join(str(p) for p in e.path))
        for e in errors[:20]
    ]


@dataclass(frozen=True, slots=True)
class Mapping1:
    """A validated mapping with its defaults filled in (see mapping-v1.json)."""

    spec: Mapping[str, Any]

    def get(self, *path: str, default: Any = None) -> Any:
        """The value at ``path`` in the mapping, or ``default``."""
        node: Any = self.spec
        for key in path:
            if not isinstance(node, Mapping) or key not in node:
                return default
            node = node[key]
        return node

    @property
    def group_by(self) -> tuple[str, ...]:
        """Columns whose values identify one document."""
        default = [self.spec["document"]["number"].get("column", "")]
        return tuple(c for c in self.get("group_by", default=default) if c)

    @property
    def empty(self) -> frozenset[str]:
        """Cell texts that mean no value."""
        return frozenset(self.get("empty", default=()))

    def columns(self) -> set[str]:
        """Every column the mapping reads."""
        found: set[str] = set(self.group_by)
        found.update(rule["column"] for rule in self.get("skip_rows", default=()))
        _collect_columns({k: v for k, v in self.spec.items() if k != "skip_rows"}, found)
        return found


def _collect_columns(node: Any, found: set[str]) -> None:
    if isinstance(node, Mapping):
        for key in ("column", "sum"):
            if isinstance(node.get(key), str):
                found.add(node[key])
        for child in node.values():
            _collect_columns(child, found)
    elif isinstance(node, list):
        for child in node:
            _collect_columns(child, found)


def load_mapping(options: Mapping[str, object], source: str) -> Mapping1:
    """The mapping given in ``ReadContext.options["mapping"]``, validated, or refuse."""
    mapping = options.get("mapping")
    if mapping is None:  # the same code as for bytes no reader recognises
        raise _reject(
            "UNKNOWN_FORMAT",
            f"{source}: not a document format FourFlow reads (CSV and XLSX are read only "
            "with a column mapping, options['mapping'])",
        )
    problems = check_mapping(mapping)
    if problems:
        raise DocumentRejectedError(problems)
    assert isinstance(mapping, Mapping)
    return Mapping1(mapping)


# --- reading the table -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    """One data row: its 1-based row number in the file and its cells by column name."""

    number: int
    cells: Mapping[str, Cell]


def _reject(code: str, message: str, location: str = "") -> DocumentRejectedError:
    return DocumentRejectedError([Problem(code, message, location)])


def _decode(raw: bytes, encoding: str, source: str) -> str:
    codec = _ENCODINGS[encoding]
    try:
        return raw.decode(codec)
    except UnicodeDecodeError as exc:
        row = raw[: exc.start].count(b"\n") + 1
        raise _reject(
            "ENCODING", f"{source}: not {encoding} ({exc.reason})", f"row {row}, byte {exc.start}"
        ) from None


def csv_records(raw: bytes, mapping: Mapping1, source: str) -> list[list[Cell]]:
    """The records of CSV bytes, decoded with the mapping's encoding and dialect."""
    text = _decode(raw, mapping.get("csv", "encoding", default="utf-8"), source)
    if "\x00" in text:
        raise _reject("BAD_CHARACTER", f"{source}: contains a NUL character")
    reader = csv.reader(
        io.StringIO(text, newline=""),
        delimiter=mapping.get("csv", "delimiter", default=","),
        quotechar=mapping.get("csv", "quote", default='"'),
        strict=True,
    )
    try:
        return [list(record) for record in reader]
    except csv.Error as exc:
        raise _reject("NOT_CSV", f"{source}: {exc}", f"line {reader.line_num}") from None


def _check_zip(raw: bytes, source: str) -> None:
    """Refuse ZIP bombs and XML parts that declare DTDs before openpyxl sees the bytes."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
    except zipfile.BadZipFile as exc:
        raise _reject("NOT_XLSX", f"{source}: not a ZIP/XLSX file ({exc})") from None
    with archive:
        unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > MAX_XLSX_UNPACKED:
            raise _reject("TOO_LARGE", f"{source}: unpacks to {unpacked} bytes")
        if "[Content_Types].xml" not in archive.namelist():
            raise _reject("NOT_XLSX", f"{source}: a ZIP file but not an XLSX workbook")
        for info in archive.infolist():
            if info.filename.endswith((".xml", ".rels")):
                body = archive.read(info)
                if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
                    raise _reject("DTD_FORBIDDEN", f"{source}: {info.filename} declares a DTD")


def xlsx_records(raw: bytes, mapping: Mapping1, source: str) -> list[list[Cell]]:
    """The rows of the mapping's worksheet (default the first) as typed cell values."""
    _check_zip(raw, source)
    try:
        book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a broken workbook
        raise _reject("NOT_XLSX", f"{source}: cannot read the workbook ({exc})") from None
    try:
        name = mapping.get("xlsx", "sheet")
        if name is not None and name not in book.sheetnames:
            raise _reject(
                "NO_SHEET", f"{source}: no worksheet {name!r} (has {', '.join(book.sheetnames)})"
            )
        sheet = book[name] if name is not None else book.worksheets[0]
        return [[_xlsx_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
    finally:
        book.close()


def _xlsx_cell(value: object) -> Cell:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, str | int | float | dt.date) or value is None:
        return value
    return str(value)


def table_rows(records: Sequence[Sequence[Cell]], mapping: Mapping1, source: str) -> list[Row]:
    """Data rows below the header row, as column -> cell; blank rows are left out."""
    header_at = mapping.get("header_row", default=1)
    if len(records) < header_at:
        raise _reject("NO_HEADER", f"{source}: no header row {header_at}")
    header = [_text(c) or "" for c in records[header_at - 1]]
    missing = sorted(mapping.columns() - set(header))
    if missing:
        raise _reject(
            "MISSING_COLUMN",
            f"{source}: the header has no column {', '.join(map(repr, missing))}",
            f"row {header_at}",
        )
    rows = []
    for number, record in enumerate(records[header_at:], start=header_at + 1):
        cells = {name: record[i] if i < len(record) else None for i, name in enumerate(header)}
        if any(_text(c) for c in cells.values()):
            rows.append(Row(number, cells))
    return rows


# --- reading cells ---------------------------------------------------------------------------


def _text(cell: Cell) -> str | None:
    if cell is None:
        return None
    if isinstance(cell, float):
        return _float_text(cell)
    if isinstance(cell, dt.date):
        return cell.isoformat()
    return str(cell).strip() or None


def _float_text(value: float) -> str:
    # XLSX keeps numbers as text of a double; repr gives back the shortest text that round-trips,
    # which is the text Excel wrote, so no digit is invented or lost.
    if value.is_integer() and abs(value) < _FLOAT_EXACT:
        return str(int(value))
    return repr(value)


@dataclass(frozen=True, slots=True)
class Cells:
    """Reads typed values from a row's cells under the mapping's conventions."""

    mapping: Mapping1

    def text(self, cell: Cell) -> str | None:
        """The cell as text, or None when empty or one of the mapping's empty markers."""
        if isinstance(cell, float) and cell.is_integer() and abs(cell) >= _FLOAT_EXACT:
            raise CellError(f"{cell!r} was stored as a number and lost digits; store it as text")
        value = _text(cell)
        return None if value is None or value in self.mapping.empty else value

    def decimal(self, cell: Cell) -> Decimal:
        """The cell as an exact Decimal (separators per the mapping's ``numbers``)."""
        if isinstance(cell, int):
            return Decimal(cell)
        if isinstance(cell, float):
            return Decimal(_float_text(cell))
        text = self.text(cell) or ""
        thousands = self.mapping.get("numbers", "thousands_separator", default="")
        point = self.mapping.get("numbers", "decimal_separator", default=".")
        plain = (text.replace(thousands, "") if thousands else text).replace(point, ".")
        if not _DECIMAL.match(plain):
            raise CellError(f"{text!r} is not a number")
        try:
            return Decimal(plain)
        except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
            raise CellError(f"{text!r} is not a number") from None

    def date(self, cell: Cell, formats: str | list[str] | None) -> dt.date:
        """The cell as a date: an XLSX date cell, or text in one of ``formats``."""
        if isinstance(cell, dt.date):
            return cell
        text = self.text(cell) or ""
        fmts = formats or self.mapping.get("dates", default="%Y-%m-%d")
        for fmt in [fmts] if isinstance(fmts, str) else fmts:
            try:
                return dt.datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a date, no zone
            except ValueError:
                continue
        raise CellError(f"{text!r} is not a date in the format {fmts!r}")


# --- mapping rows to documents ---------------------------------------------------------------


@dataclass(slots=True)
class Group:
    """The rows of one document and the problems found reading them."""

    key: tuple[str, ...]
    rows: list[Row]
    problems: list[Problem] = field(default_factory=list)

    def report(self, row: Row, column: str | None, message: str) -> None:
        """Note a problem at ``row`` (and ``column``)."""
        where = f"row {row.number}" + (f", column {column!r}" if column else "")
        self.problems.append(Problem("BAD_ROW", f"{where}: {message}", where))


_Kind = str  # "text", "decimal" or "date"


@dataclass(frozen=True, slots=True)
class FieldReader:
    """Reads one mapped field from rows, reporting bad cells to the group."""

    cells: Cells

    def one(
        self, spec: Mapping[str, Any] | None, row: Row, group: Group, how: _Kind, name: str
    ) -> Any:
        """The field's value in ``row`` (None when empty and allowed), or report why not."""
        if spec is None:
            return None
        if "value" in spec:
            return self._convert(spec["value"], spec, how)
        column = spec["column"]
        cell = row.cells[column]
        try:
            if self.cells.text(cell) is None:
                if spec.get("required") or name in _ALWAYS_REQUIRED:
                    raise CellError("is empty")
                return None
            return self._convert(cell, spec, how)
        except CellError as exc:
            group.report(row, column, f"{name} {exc}")
            return None

    def _convert(self, cell: Cell, spec: Mapping[str, Any], how: _Kind) -> Any:
        if "map" in spec:
            text = self.cells.text(cell) or ""
            if text not in spec["map"]:
                raise CellError(f"{text!r} is not one of {sorted(spec['map'])}")
            cell = spec["map"][text]
        if how == "decimal":
            return self.cells.decimal(cell)
        if how == "date":
            return self.cells.date(cell, spec.get("format"))
        return self.cells.text(cell)

    def document_level(
        self, spec: Mapping[str, Any] | None, group: Group, how: _Kind, name: str
    ) -> Any:
        """A document field: the sum of a column, or one value all the rows agree on."""
        if spec is not None and "sum" in spec:
            return self._sum(spec["sum"], group, name)
        first: Any = None
        for n, row in enumerate(group.rows):
            found = self.one(spec, row, group, how, name)
            if n == 0:
                first = found
            elif found != first and spec is not None and "column" in spec:
                group.report(
                    row,
                    spec["column"],
                    f"{name} {found!r} differs from {first!r} "
                    f"on row {group.rows[0].number} of the same document",
                )
        return first

    def _sum(self, column: str, group: Group, name: str) -> Decimal:
        total = Decimal(0)
        for row in group.rows:
            value = self.one({"column": column}, row, group, "decimal", name)
            total += value or 0
        return total


@dataclass(frozen=True, slots=True)
class DocumentBuilder:
    """Builds one ``Document`` from a group of rows under a mapping."""

    mapping: Mapping1
    fields: FieldReader
    new_id: Any
    submitter: str | None
    source_format: str

    def build(self, group: Group) -> Document | None:
        """The group's document, or None with the group's problems noted."""
        doc = self.mapping.spec["document"]
        values = {
            name: self.fields.document_level(doc.get(name), group, how, name)
            for name, how in _DOCUMENT_FIELDS
        }
        kind = self._kind(group)
        sign = self._sign(kind)
        lines = tuple(self._line(row, group, n, sign) for n, row in enumerate(group.rows, start=1))
        parties = {role: self._party(doc[role], group, role) for role in ("seller", "buyer")}
        references = self._references(group)
        if group.problems or kind is None:
            return None
        return self._document(group, kind, values, lines, parties, references)

    def _sign(self, kind: DocumentKind | None) -> int:
        """-1 for credit notes the export shows negative (they are read as positive), else 1."""
        negative = self.mapping.get("credit_notes_negative", default=False)
        return -1 if kind is DocumentKind.CREDIT_NOTE and negative else 1

    def _document(
        self,
        group: Group,
        kind: DocumentKind,
        values: dict[str, Any],
        lines: tuple[DocumentLine | None, ...],
        parties: dict[str, PartyRef],
        references: tuple[DocumentRef, ...],
    ) -> Document | None:
        sign = self._sign(kind)
        currency = values["currency"]
        try:
            return Document(
                id=self.new_id(),
                kind=kind,
                number=values["number"],
                issue_date=values["issue_date"],
                seller=parties["seller"],
                buyer=parties["buyer"],
                currency=currency,
                lines=tuple(line for line in lines if line is not None),
                total=_money(values["total"], sign, currency),
                tax_total=_money(values["tax_total"], sign, currency),
                due_date=values["due_date"],
                delivery_date=values["delivery_date"],
                references=references,
                source_format=self.source_format,
                submitted_by=self.submitter,
            )
        except DomainValueError as exc:
            group.report(group.rows[0], None, str(exc))
            return None

    def _kind(self, group: Group) -> DocumentKind | None:
        spec = self.mapping.spec["kind"]
        if isinstance(spec, str):
            return DocumentKind(spec)
        value = self.fields.document_level(spec, group, "text", "kind")
        try:
            return DocumentKind(value) if value is not None else None
        except ValueError:
            group.report(group.rows[0], spec.get("column"), f"kind {value!r} is not known")
            return None

    def _line(self, row: Row, group: Group, n: int, sign: int) -> DocumentLine | None:
        spec = self.mapping.get("line")
        if spec is None:
            return None
        got = {
            name: self.fields.one(spec.get(name), row, group, how, name)
            for name, how in _LINE_FIELDS
        }
        if any(got[name] is None for name in ("item", "quantity", "unit")):
            return None
        try:
            return DocumentLine(
                line_id=got["line_id"] or str(n),
                item=got["item"],
                quantity=got["quantity"] * sign,
                unit=got["unit"],
                unit_price=None if got["unit_price"] is None else abs(got["unit_price"]),
                amount=None if got["amount"] is None else got["amount"] * sign,
            )
        except DomainValueError as exc:
            group.report(row, spec["quantity"].get("column"), str(exc))
            return None

    def _party(self, spec: Mapping[str, Any], group: Group, role: str) -> PartyRef:
        def text(name: str) -> str | None:
            value: str | None = self.fields.document_level(
                spec.get(name), group, "text", f"{role} {name}"
            )
            return value

        identifiers = []
        for scheme in (*_PARTY_SCHEMES, "tax_id"):
            value = text(scheme)
            if value is None:
                continue
            try:
                identifiers.append(
                    taxpayer_identifier(value)
                    if scheme == "tax_id"
                    else Identifier.parse(scheme, value)
                )
            except DomainValueError as exc:
                column = spec[scheme].get("column")
                group.report(group.rows[0], column, f"{role} {scheme}: {exc}")
        return PartyRef(name=text("name"), identifiers=tuple(identifiers), account=text("account"))

    def _references(self, group: Group) -> tuple[DocumentRef, ...]:
        refs = []
        for spec in self.mapping.get("document", "references", default=()):
            number = self.fields.document_level(spec["number"], group, "text", "reference")
            if number is not None:
                refs.append(DocumentRef(DocumentKind(spec["kind"]), number))
        return tuple(refs)


_DOCUMENT_FIELDS: tuple[tuple[str, _Kind], ...] = (
    ("number", "text"),
    ("issue_date", "date"),
    ("currency", "text"),
    ("total", "decimal"),
    ("tax_total", "decimal"),
    ("due_date", "date"),
    ("delivery_date", "date"),
)
_LINE_FIELDS: tuple[tuple[str, _Kind], ...] = (
    ("line_id", "text"),
    ("item", "text"),
    ("quantity", "decimal"),
    ("unit", "text"),
    ("unit_price", "decimal"),
    ("amount", "decimal"),
)


def _money(amount: Decimal | None, sign: int, currency: str | None) -> Money | None:
    if amount is None:
        return None
    if currency is None:
        raise DomainValueError("an amount is mapped but no currency")
    return Money(amount * sign, currency)


# --- grouping, canonical form, the reader ----------------------------------------------------


def group_rows(rows: list[Row], mapping: Mapping1, cells: Cells) -> Iterator[Group]:
    """Rows grouped into documents by the key columns, in order of first appearance."""
    skips = [(r["column"], frozenset(r["values"])) for r in mapping.get("skip_rows", default=())]
    groups: dict[tuple[str, ...], Group] = {}
    for row in rows:
        if any(_text(row.cells[col]) in values for col, values in skips):
            continue
        try:
            key = tuple(cells.text(row.cells[col]) or "" for col in mapping.group_by)
        except CellError as exc:
            key = ("", str(exc))
        if not all(key):
            bad = Group(key, [row])
            bad.report(row, ", ".join(mapping.group_by), "the document key is empty or unreadable")
            yield bad
            continue
        groups.setdefault(key, Group(key, [])).rows.append(row)
    yield from groups.values()


def _number_text(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def normalised(doc: Document) -> dict[str, Any]:
    """The document as plain JSON (no ids, no source): equal for equal content in any format."""

    def party(p: PartyRef) -> dict[str, Any]:
        out: dict[str, Any] = {"identifiers": [str(i) for i in p.identifiers]}
        out.update({k: v for k, v in (("name", p.name), ("account", p.account)) if v})
        return out

    def line(li: DocumentLine) -> dict[str, Any]:
        out = {
            "id": li.line_id,
            "item": li.item,
            "quantity": _number_text(li.quantity),
            "unit": li.unit,
        }
        for name, value in (("unit_price", li.unit_price), ("amount", li.amount)):
            if value is not None:
                out[name] = _number_text(value)
        return out

    data: dict[str, Any] = {
        "kind": doc.kind.value,
        "number": doc.number,
        "issue_date": doc.issue_date.isoformat(),
        "seller": party(doc.seller),
        "buyer": party(doc.buyer),
        "lines": [line(li) for li in doc.lines],
        "references": [{"kind": r.kind.value, "number": r.number} for r in doc.references],
    }
    optional = {
        "currency": doc.currency,
        "total": doc.total.plain() if doc.total else None,
        "tax_total": doc.tax_total.plain() if doc.tax_total else None,
        "due_date": doc.due_date.isoformat() if doc.due_date else None,
        "delivery_date": doc.delivery_date.isoformat() if doc.delivery_date else None,
    }
    data.update({k: v for k, v in optional.items() if v is not None})
    return data


def _parsed(doc: Document, group: Group) -> ParsedDocument:
    content = normalised(doc)
    rows: list[dict[str, Any]] = [
        {"row": row.number, "cells": {k: _text(v) for k, v in row.cells.items() if _text(v)}}
        for row in group.rows
    ]
    return ParsedDocument(
        document=doc,
        canonical=bytes(rfc8785.dumps(content)),
        raw=bytes(rfc8785.dumps({"document": content, "rows": rows})),
        media_type=MEDIA_TYPE,
    )


def read_rows(
    rows: list[Row], mapping: Mapping1, *, source: str, ctx: ReadContext, source_format: str
) -> list[ParsedDocument]:
    """Map grouped rows to documents; refuse or partially refuse naming every bad row."""
    cells = Cells(mapping)
    builder = DocumentBuilder(mapping, FieldReader(cells), ctx.new_id, ctx.submitter, source_format)
    good: list[ParsedDocument] = []
    problems: list[Problem] = []
    for group in group_rows(rows, mapping, cells):
        doc = builder.build(group) if not group.problems else None
        if doc is None:
            problems.extend(_named(group, source))
        else:
            good.append(_parsed(doc, group))
    if not good and not problems:
        raise _reject("EMPTY", f"{source}: no data rows below the header")
    if problems and good:
        raise PartiallyRejectedError(problems, good)
    if problems:
        raise DocumentRejectedError(problems)
    return good


def _named(group: Group, source: str) -> list[Problem]:
    number = " / ".join(k for k in group.key if k) or "?"
    return [
        Problem(p.code, f"{source}: document {number}: {p.message}", p.location)
        for p in group.problems
    ]


def _guard(raw: bytes, source: str) -> None:
    if len(raw) > MAX_BYTES:
        raise _reject("TOO_LARGE", f"{source}: {len(raw)} bytes exceeds {MAX_BYTES}")


def read_csv(raw: bytes, *, source: str, ctx: ReadContext) -> list[ParsedDocument]:
    """Read a CSV export through the column mapping in ``ctx.options["mapping"]``."""
    mapping = load_mapping(ctx.options, source)
    _guard(raw, source)
    rows = table_rows(csv_records(raw, mapping, source), mapping, source)
    return read_rows(rows, mapping, source=source, ctx=ctx, source_format=CSV_FORMAT)


def read_xlsx(raw: bytes, *, source: str, ctx: ReadContext) -> list[ParsedDocument]:
    """Read an XLSX export through the column mapping in ``ctx.options["mapping"]``."""
    mapping = load_mapping(ctx.options, source)
    _guard(raw, source)
    rows = table_rows(xlsx_records(raw, mapping, source), mapping, source)
    return read_rows(rows, mapping, source=source, ctx=ctx, source_format=XLSX_FORMAT)


def _is_text(sniffed: Sniffed) -> bool:
    return sniffed.kind == "text"


def _is_zip(sniffed: Sniffed) -> bool:
    return sniffed.kind == "zip"


FORMATS = (
    FormatSpec(CSV_FORMAT, _is_text, read_csv),
    FormatSpec(XLSX_FORMAT, _is_zip, read_xlsx),
)
