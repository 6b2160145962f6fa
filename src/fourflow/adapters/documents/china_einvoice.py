"""China's fully digitalised VAT e-invoice (数电票) XML: detect, validate, map, canonicalise.

There is no official schema; the element tree follows ``docs/formats/china-einvoice.md``.
Children are looked up by name (never position), missing, empty and self-closing elements are
the same, and unknown elements are ignored. A red-letter invoice (红字发票) becomes a credit note
with positive amounts that references the blue invoice it reverses.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from lxml import etree

from fourflow.adapters.documents.errors import DocumentRejectedError, Problem
from fourflow.adapters.documents.registry import (
    FormatSpec,
    ReadContext,
    Sniffed,
    ValidationIssue,
)
from fourflow.adapters.documents.xml import canonical_xml, parse_xml, text
from fourflow.domain.documents import Document, DocumentKind, DocumentLine, DocumentRef
from fourflow.domain.errors import DomainValueError
from fourflow.domain.identifiers import IdScheme, validate_uscc
from fourflow.domain.money import Money
from fourflow.domain.parties import Identifier, PartyRef
from fourflow.services.reading import ParsedDocument

FORMAT_NAME = "cn-einvoice"
ROOT = "EInvoice"
CURRENCY = "CNY"
MEDIA_TYPE = "application/xml"

EIID = "Header/EIid"
RED_FLAG = "Header/InherentLabel/InIssuType/LabelCode"
SELLER = "EInvoiceData/SellerInformation"
BUYER = "EInvoiceData/BuyerInformation"
BASIC = "EInvoiceData/BasicInformation"
NET_TOTAL = f"{BASIC}/TotalAmWithoutTax"
TAX_TOTAL = f"{BASIC}/TotalTaxAm"
GROSS_TOTAL = f"{BASIC}/TotalTax-includedAmount"
REQUEST_TIME = f"{BASIC}/RequestTime"
LINES = "EInvoiceData/IssuItemInformation"
RED_BLOCK = "EInvoiceData/SpecificInformation/RedEInvoice"
ORIGINAL_NUMBER = f"{RED_BLOCK}/OriginalInvoiceCode"
REMARK = "EInvoiceData/AdditionalInformation/Remark"
SUPERVISION_NUMBER = "TaxSupervisionInfo/InvoiceNumber"
ISSUE_TIME = "TaxSupervisionInfo/IssueTime"

REQUIRED = (
    EIID,
    f"{SELLER}/SellerIdNum",
    f"{SELLER}/SellerName",
    f"{BUYER}/BuyerName",
    NET_TOTAL,
    TAX_TOTAL,
    GROSS_TOTAL,
)
TOTALS = (NET_TOTAL, TAX_TOTAL, GROSS_TOTAL)
LINE_NUMBERS = ("Quantity", "UnPrice", "Amount", "ComTaxAm", "TotaltaxIncludedAmount")

_INVOICE_NUMBER = re.compile(r"^\d{20}$")
_TAXPAYER_NUMBER = re.compile(r"^[0-9A-Z]{15,20}$")
_DECIMAL = re.compile(r"^[+-]?\d+(\.\d+)?$")
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})([ T]\d{2}:\d{2}:\d{2})?$")
_CATEGORY_PREFIX = re.compile(r"^\*[^*]+\*")
_REMARK_ORIGINAL = re.compile(r"被红冲蓝字数电票号码\s*[：:]\s*(\d{20})")
_RESIDENT_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)

# 单位 as printed -> UN/ECE Recommendation 20 code; anything else is kept as printed.
UNIT_CODES: dict[str, str] = {
    "个": "EA", "件": "EA", "只": "EA", "台": "EA", "部": "EA", "支": "EA", "把": "EA",
    "张": "EA", "块": "EA", "套": "SET", "箱": "CT", "瓶": "BO", "袋": "BG", "包": "PK",
    "千克": "KGM", "公斤": "KGM", "kg": "KGM", "克": "GRM", "吨": "TNE", "米": "MTR",
    "平方米": "MTK", "立方米": "MTQ", "升": "LTR", "小时": "HUR", "天": "DAY", "月": "MON",
    "年": "ANN",
}  # fmt: skip

FATAL = "fatal"
WARNING = "warning"


# --- looking things up by name ---------------------------------------------------------------


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def _children(element: etree._Element | None, name: str) -> Iterator[etree._Element]:
    """Children of ``element`` with local name ``name``, in document order (any namespace)."""
    if element is None:
        return
    for child in element:
        if isinstance(child.tag, str) and _local(child) == name:
            yield child


def find(element: etree._Element | None, path: str) -> etree._Element | None:
    """The first element at ``path`` (``A/B/C``, local names) below ``element``, or None."""
    for name in path.split("/"):
        element = next(_children(element, name), None)
        if element is None:
            return None
    return element


def value(element: etree._Element | None, path: str) -> str | None:
    """Stripped text at ``path``, or None when missing, empty or self-closing."""
    return text(find(element, path))


def _where(path: str) -> str:
    return f"/{ROOT}/{path}"


# --- values ----------------------------------------------------------------------------------


def _decimal(raw: str) -> Decimal | None:
    if not _DECIMAL.match(raw):
        return None
    try:
        return Decimal(raw)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        return None


def _date(raw: str) -> dt.date | None:
    match = _DATE.match(raw)
    if match is None:
        return None
    try:
        return dt.date.fromisoformat(match.group(1))
    except ValueError:
        return None


def _is_resident_id(code: str) -> bool:
    """True for an 18-character PRC resident identity number with a valid GB 11643 check."""
    if len(code) != 18 or not code[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(code[:17], _RESIDENT_WEIGHTS, strict=True))
    return "10X98765432"[total % 11] == code[17]


def taxpayer_identifier(raw: str) -> Identifier:
    """A 纳税人识别号 as an identifier: USCC when valid, a resident id as OTHER, else VAT."""
    compact = re.sub(r"\s", "", raw).upper()
    try:
        return Identifier(IdScheme.USCC, validate_uscc(compact))
    except DomainValueError:
        pass
    if _is_resident_id(compact):
        return Identifier(IdScheme.OTHER, compact)
    return Identifier(IdScheme.VAT, compact)


def unit_code(printed: str | None) -> str:
    """The UN/ECE Rec 20 code for a printed Chinese unit, or the unit as printed."""
    if printed is None:
        return ""
    return UNIT_CODES.get(printed, UNIT_CODES.get(printed.lower(), printed))


def item_name(printed: str) -> str:
    """The item name without the ``*税收分类简称*`` prefix the platform adds."""
    return _CATEGORY_PREFIX.sub("", printed).strip() or printed


# --- validation ------------------------------------------------------------------------------


def _issue(rule: str, message: str, path: str, flag: str = FATAL) -> ValidationIssue:
    return ValidationIssue(rule, flag, message, _where(path))


def _check_required(root: etree._Element) -> list[ValidationIssue]:
    issues = [
        _issue("CN-EINV-001", f"{path} is missing or empty", path)
        for path in REQUIRED
        if value(root, path) is None
    ]
    if value(root, ISSUE_TIME) is None and value(root, REQUEST_TIME) is None:
        issues.append(
            _issue("CN-EINV-001", f"{ISSUE_TIME} and {REQUEST_TIME} are both missing", ISSUE_TIME)
        )
    lines = list(_children(find(root, "EInvoiceData"), "IssuItemInformation"))
    if not lines:
        issues.append(_issue("CN-EINV-001", f"{LINES} (a line item) is missing", LINES))
    for n, line in enumerate(lines, start=1):
        if value(line, "ItemName") is None:
            path = f"{LINES}[{n}]/ItemName"
            issues.append(_issue("CN-EINV-001", f"{path} is missing or empty", path))
    return issues


def _check_numbers(root: etree._Element) -> list[ValidationIssue]:
    issues = []
    for path in (EIID, ORIGINAL_NUMBER):
        raw = value(root, path)
        if raw is not None and not _INVOICE_NUMBER.match(raw):
            issues.append(_issue("CN-EINV-002", f"{path} {raw!r} is not 20 digits", path))
    return issues


def _decimal_paths(root: etree._Element) -> Iterator[tuple[str, str]]:
    for path in TOTALS:
        raw = value(root, path)
        if raw is not None:
            yield path, raw
    for n, line in enumerate(_children(find(root, "EInvoiceData"), "IssuItemInformation"), 1):
        for name in LINE_NUMBERS:
            raw = value(line, name)
            if raw is not None:
                yield f"{LINES}[{n}]/{name}", raw


def _check_amounts(root: etree._Element) -> list[ValidationIssue]:
    issues = []
    for path, raw in _decimal_paths(root):
        number = _decimal(raw)
        if number is None:
            issues.append(_issue("CN-EINV-003", f"{path} {raw!r} is not a decimal number", path))
        elif path in TOTALS and number != number.quantize(Decimal("0.01")):
            issues.append(
                _issue("CN-EINV-009", f"{path} {raw!r} has more than 2 decimal places", path)
            )
    return issues


def _check_dates(root: etree._Element) -> list[ValidationIssue]:
    issues = []
    for path in (ISSUE_TIME, REQUEST_TIME):
        raw = value(root, path)
        if raw is not None and _date(raw) is None:
            message = f"{path} {raw!r} is not YYYY-MM-DD or YYYY-MM-DD HH:MM:SS"
            issues.append(_issue("CN-EINV-004", message, path))
    return issues


def _check_quantity_signs(root: etree._Element) -> list[ValidationIssue]:
    if is_red(root):
        return []  # the sign of a red invoice's quantities was never observed: both are read
    issues = []
    for n, line in enumerate(_children(find(root, "EInvoiceData"), "IssuItemInformation"), 1):
        quantity = _decimal(value(line, "Quantity") or "0")
        if quantity is not None and quantity < 0:
            path = f"{LINES}[{n}]/Quantity"
            message = f"{path} {quantity} is negative on a blue invoice"
            issues.append(_issue("CN-EINV-010", message, path))
    return issues


def _check_warnings(root: etree._Element) -> list[ValidationIssue]:
    issues = []
    eiid, number = value(root, EIID), value(root, SUPERVISION_NUMBER)
    if eiid and number and eiid != number:
        message = f"{SUPERVISION_NUMBER} {number!r} differs from {EIID} {eiid!r}"
        issues.append(_issue("CN-EINV-005", message, SUPERVISION_NUMBER, WARNING))
    if is_red(root) and original_number(root) is None:
        message = f"red invoice names no original invoice ({ORIGINAL_NUMBER} or {REMARK})"
        issues.append(_issue("CN-EINV-006", message, RED_BLOCK, WARNING))
    for path in (f"{SELLER}/SellerIdNum", f"{BUYER}/BuyerIdNum"):
        raw = value(root, path)
        if raw is not None and taxpayer_identifier(raw).scheme is not IdScheme.USCC:
            message = f"{path} {raw!r} is not a valid USCC; kept as a taxpayer id"
            issues.append(_issue("CN-EINV-007", message, path, WARNING))
    issues.extend(_check_tax_rates(root))
    if is_red(root) and _red_sign(root) > 0:
        message = f"red invoice with a non-negative {GROSS_TOTAL}"
        issues.append(_issue("CN-EINV-011", message, GROSS_TOTAL, WARNING))
    return issues


def _check_tax_rates(root: etree._Element) -> list[ValidationIssue]:
    issues = []
    for n, line in enumerate(_children(find(root, "EInvoiceData"), "IssuItemInformation"), 1):
        raw = value(line, "TaxRate")
        rate = _decimal(raw) if raw is not None else Decimal(0)
        if rate is None or not Decimal(0) <= rate < 1:
            path = f"{LINES}[{n}]/TaxRate"
            message = f"{path} {raw!r} is not a fraction between 0 and 1"
            issues.append(_issue("CN-EINV-008", message, path, WARNING))
    return issues


_CENT = Decimal("0.01")


def _line_numbers(line: etree._Element) -> dict[str, Decimal | None]:
    return {name: _decimal(value(line, name) or "") for name in LINE_NUMBERS}


def check_arithmetic(root: etree._Element) -> list[ValidationIssue]:
    """The amount and tax arithmetic of a 数电票 whose amounts all parse.

    Fatal: net + tax = gross (CN-EINV-012); the lines' net amounts add up to the net total
    (CN-EINV-013) and their tax to the tax total within a cent (CN-EINV-014); each line's tax
    is its net amount times its rate within a cent (CN-EINV-015) and its gross is net plus
    tax within a cent (CN-EINV-016). Warning: quantity times unit price is the line's net
    amount within a cent (CN-EINV-017; printed unit prices are rounded). Fatal too: a seller
    or buyer code that is no taxpayer number at all (CN-EINV-018; a well-formed one that is
    not a valid USCC stays a CN-EINV-007 warning).
    """
    net, tax, gross = (_decimal(value(root, path) or "") for path in TOTALS)
    issues: list[ValidationIssue] = []
    if net is not None and tax is not None and gross is not None and net + tax != gross:
        message = f"{NET_TOTAL} {net} + {TAX_TOTAL} {tax} is {net + tax}, not {GROSS_TOTAL} {gross}"
        issues.append(_issue("CN-EINV-012", message, GROSS_TOTAL))
    lines = [
        _line_numbers(line) for line in _children(find(root, "EInvoiceData"), "IssuItemInformation")
    ]
    amounts = [n["Amount"] for n in lines]
    if net is not None and amounts and all(a is not None for a in amounts):
        total = sum((a for a in amounts if a is not None), Decimal(0))
        if total != net:
            message = f"the lines' Amount add up to {total}, not {NET_TOTAL} {net}"
            issues.append(_issue("CN-EINV-013", message, NET_TOTAL))
    taxes = [n["ComTaxAm"] for n in lines]
    if tax is not None and taxes and all(t is not None for t in taxes):
        total = sum((t for t in taxes if t is not None), Decimal(0))
        if abs(total - tax) > _CENT:
            message = f"the lines' ComTaxAm add up to {total}, not {TAX_TOTAL} {tax}"
            issues.append(_issue("CN-EINV-014", message, TAX_TOTAL))
    for path in (f"{SELLER}/SellerIdNum", f"{BUYER}/BuyerIdNum"):
        raw = value(root, path)
        if raw is not None and not _TAXPAYER_NUMBER.match(re.sub(r"\s", "", raw).upper()):
            message = f"{path} {raw!r} is not a taxpayer number (15 to 20 digits and letters)"
            issues.append(_issue("CN-EINV-018", message, path))
    blocks = _children(find(root, "EInvoiceData"), "IssuItemInformation")
    for n, (numbers, line) in enumerate(zip(lines, blocks, strict=True), start=1):
        rate = _decimal(value(line, "TaxRate") or "")
        issues.extend(_line_arithmetic(f"{LINES}[{n}]", numbers, rate))
    return issues


def _line_arithmetic(
    path: str, numbers: dict[str, Decimal | None], rate: Decimal | None
) -> list[ValidationIssue]:
    issues: list[ValidationIssue] = []
    amount, tax, gross = numbers["Amount"], numbers["ComTaxAm"], numbers["TotaltaxIncludedAmount"]
    if amount is None or tax is None:
        return issues
    if rate is not None and 0 <= rate < 1:
        expected = (amount * rate).quantize(_CENT)
        if abs(expected - tax) > _CENT:
            message = f"{path}/ComTaxAm {tax} is not Amount {amount} x TaxRate {rate} ({expected})"
            issues.append(_issue("CN-EINV-015", message, f"{path}/ComTaxAm"))
    if gross is not None and abs(amount + tax - gross) > _CENT:
        message = f"{path}/TotaltaxIncludedAmount {gross} is not Amount + ComTaxAm ({amount + tax})"
        issues.append(_issue("CN-EINV-016", message, f"{path}/TotaltaxIncludedAmount"))
    quantity, price = numbers["Quantity"], numbers["UnPrice"]
    if quantity is not None and price is not None and abs(quantity * price - amount) > _CENT:
        message = f"{path} Quantity {quantity} x UnPrice {price} is not Amount {amount}"
        issues.append(_issue("CN-EINV-017", message, f"{path}/Amount", WARNING))
    return issues


STRUCTURAL_CHECKS: tuple[Callable[[etree._Element], list[ValidationIssue]], ...] = (
    _check_required,
    _check_numbers,
    _check_amounts,
    _check_dates,
)


def check(root: etree._Element, *, rules: bool) -> list[ValidationIssue]:
    """Structural checks (always) and the warning rules (with ``rules``) on a parsed invoice."""
    issues = [issue for rule in STRUCTURAL_CHECKS for issue in rule(root)]
    if not issues:  # signs and sums are only meaningful once every amount parses
        issues.extend(_check_quantity_signs(root))
        if rules:
            issues.extend(check_arithmetic(root))
    if rules:
        issues.extend(_check_warnings(root))
    return issues


def validate(raw: bytes, *, source: str, rules: bool) -> list[ValidationIssue]:
    """Validate 数电票 XML without storing it; there is no XSD, so the checks are our own."""
    try:
        root = parse_xml(raw, source)
    except DocumentRejectedError as exc:
        return [ValidationIssue(p.code, FATAL, p.message, p.location) for p in exc.problems]
    if _local(root) != ROOT:
        return [ValidationIssue("CN-EINV-000", FATAL, f"root is not {ROOT}", f"/{_local(root)}")]
    return check(root, rules=rules)


# --- mapping ---------------------------------------------------------------------------------


def is_red(root: etree._Element) -> bool:
    """True for a red invoice: flag ``N``, else a RedEInvoice block, else a negative total."""
    flag = value(root, RED_FLAG)
    if flag is not None:
        return flag.upper() == "N"
    block = find(root, RED_BLOCK)
    if block is not None and any(isinstance(c.tag, str) for c in block):
        return True
    total = _decimal(value(root, GROSS_TOTAL) or "")
    return total is not None and total < 0


def _red_sign(root: etree._Element) -> int:
    """-1 when the red invoice's gross total is negative (the norm), else 1."""
    total = _decimal(value(root, GROSS_TOTAL) or "")
    return -1 if total is not None and total < 0 else 1


def original_number(root: etree._Element) -> str | None:
    """The blue invoice a red one reverses: RedEInvoice/OriginalInvoiceCode, else the Remark."""
    number = value(root, ORIGINAL_NUMBER)
    if number is not None:
        return number
    match = _REMARK_ORIGINAL.search(value(root, REMARK) or "")
    return match.group(1) if match else None


def _party(block: etree._Element | None, prefix: str) -> PartyRef:
    tax_id = value(block, f"{prefix}IdNum")
    return PartyRef(
        name=value(block, f"{prefix}Name"),
        identifiers=(taxpayer_identifier(tax_id),) if tax_id else (),
        account=value(block, f"{prefix}BankAccNum"),
    )


@dataclass(frozen=True, slots=True)
class _Signed:
    """Reads decimals from the tree, turning a red invoice's negatives into positives."""

    sign: int

    def decimal(self, element: etree._Element | None, path: str) -> Decimal | None:
        raw = value(element, path)
        return None if raw is None else Decimal(raw) * self.sign

    def money(self, root: etree._Element, path: str) -> Money:
        amount = self.decimal(root, path)
        assert amount is not None  # required elements were checked
        return Money(amount, CURRENCY)


def _lines(root: etree._Element, signed: _Signed, *, red: bool) -> tuple[DocumentLine, ...]:
    lines = _children(find(root, "EInvoiceData"), "IssuItemInformation")
    return tuple(
        DocumentLine(
            line_id=str(n),
            item=item_name(value(line, "ItemName") or ""),
            quantity=_quantity(signed.decimal(line, "Quantity"), red=red),
            unit=unit_code(value(line, "MeaUnits")),
            unit_price=_abs(signed.decimal(line, "UnPrice")),
            amount=signed.decimal(line, "Amount"),
        )
        for n, line in enumerate(lines, start=1)
    )


def _quantity(number: Decimal | None, *, red: bool) -> Decimal:
    # Credit notes count returned units positively; a line without a quantity (a discount or
    # toll line) moves no goods.
    if number is None:
        return Decimal(0)
    return abs(number) if red else number


def _abs(number: Decimal | None) -> Decimal | None:
    # A unit price is a price: red invoices keep it positive (reference §11, guessed there).
    return None if number is None else abs(number)


def _issue_date(root: etree._Element) -> dt.date:
    issued = _date(value(root, ISSUE_TIME) or "") or _date(value(root, REQUEST_TIME) or "")
    assert issued is not None  # checked by CN-EINV-001/004
    return issued


def map_invoice(root: etree._Element, *, doc_id: str, submitter: str | None) -> Document:
    """Map a checked 数电票 tree to an invoice, or a red-letter one to a credit note."""
    red = is_red(root)
    signed = _Signed(_red_sign(root) if red else 1)
    original = original_number(root) if red else None
    number = value(root, EIID)
    assert number is not None
    return Document(
        id=doc_id,
        kind=DocumentKind.CREDIT_NOTE if red else DocumentKind.INVOICE,
        number=number,
        issue_date=_issue_date(root),
        seller=_party(find(root, SELLER), "Seller"),
        buyer=_party(find(root, BUYER), "Buyer"),
        currency=CURRENCY,
        lines=_lines(root, signed, red=red),
        total=signed.money(root, GROSS_TOTAL),
        tax_total=signed.money(root, TAX_TOTAL),
        references=(DocumentRef(DocumentKind.INVOICE, original),) if original else (),
        source_format=FORMAT_NAME,
        submitted_by=submitter,
    )


def _problems(issues: list[ValidationIssue]) -> list[Problem]:
    return [Problem(i.rule, i.message, i.location) for i in issues if i.flag == FATAL]


def read_einvoice(raw: bytes, *, source: str, ctx: ReadContext) -> list[ParsedDocument]:
    """Parse, check and map one 数电票; refuse it naming every structural problem."""
    root = parse_xml(raw, source)
    issues = check(root, rules=False)
    if not _problems(issues) and ctx.rules is not None:
        # the business rules, as for EN 16931 invoices: fatal ones refuse, warnings are kept
        issues.extend([*check_arithmetic(root), *_check_warnings(root)])
    problems = _problems(issues)
    if problems:
        raise DocumentRejectedError(problems)
    findings = tuple(
        {"code": i.rule, "flag": i.flag, "message": i.message, "location": i.location}
        for i in issues
        if i.flag != FATAL
    )
    try:
        document = map_invoice(root, doc_id=ctx.new_id(), submitter=ctx.submitter)
    except DomainValueError as exc:
        raise DocumentRejectedError([Problem("BAD_VALUE", f"{source}: {exc}")]) from None
    return [ParsedDocument(document, canonical_xml(root), raw, MEDIA_TYPE, findings=findings)]


def _detect(sniffed: Sniffed) -> bool:
    return sniffed.kind == "xml" and sniffed.xml_root == ("", ROOT)


FORMAT = FormatSpec(FORMAT_NAME, _detect, read_einvoice, validate)
