"""OASIS UBL 2.0/2.1, Peppol BIS 3, EN 16931: detect, XSD-validate, map (docs/formats/ubl.md).

Order, OrderResponse(Simple), DespatchAdvice, ReceiptAdvice, Invoice, CreditNote and their
self-billed variants are read; the root element's namespace and name say which. Every document
is validated against its UBL 2.1 maindoc schema before it is mapped; ``validate`` with
``rules`` also runs the EN 16931 business rules on invoices and credit notes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from lxml import etree

from fourflow.adapters.documents import en16931
from fourflow.adapters.documents.errors import DocumentRejectedError, Problem
from fourflow.adapters.documents.registry import FormatSpec, ReadContext, Sniffed, ValidationIssue
from fourflow.adapters.documents.standards import artefact
from fourflow.adapters.documents.xml import canonical_xml, parse_xml, text
from fourflow.adapters.documents.xsd import issues_as_problems, validate_xsd
from fourflow.domain.documents import Document, DocumentKind, DocumentLine, DocumentRef, Flow
from fourflow.domain.errors import DomainValueError
from fourflow.domain.identifiers import IdScheme, validate_iban, validate_uscc
from fourflow.domain.money import Money
from fourflow.domain.parties import Identifier, PartyRef
from fourflow.services.reading import ParsedDocument

FORMAT_NAME = "ubl-2.1"
PEPPOL_FORMAT_NAME = "peppol-bis-3"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
NS = {"cac": CAC, "cbc": CBC}

# ISO 6523 ICD codes (Peppol EAS/ICD) FourFlow recognises; any other scheme is kept as OTHER.
GLN_SCHEMES = frozenset({"0088", "GLN"})
LEI_SCHEMES = frozenset({"0199", "LEI"})
EN16931_ROOTS = frozenset({"Invoice", "CreditNote"})  # what the CEN rules bind to
_GS1_AGENCY = "9"  # UN/CEFACT 3055 agency code of GS1: a UBL 2.0 way of saying "GLN"


@dataclass(frozen=True, slots=True)
class UblKind:
    """How one UBL document type maps to the domain.

    Attributes:
        root: the maindoc's local name (``Invoice``).
        kind: the domain kind.
        seller: the party element of the seller, in order of preference.
        buyer: the party element of the buyer, in order of preference.
        line: the line element (path from the root).
        quantity: the line's quantity element.
        total: path to the payable or order total.
    """

    root: str
    kind: DocumentKind
    seller: tuple[str, ...]
    buyer: tuple[str, ...]
    line: str
    quantity: str
    total: str | None

    @property
    def namespace(self) -> str:
        """The maindoc namespace of this document type."""
        return f"urn:oasis:names:specification:ubl:schema:xsd:{self.root}-2"

    @property
    def schema(self) -> tuple[str, ...]:
        """The UBL 2.1 maindoc XSD, as parts of a path in the standards directory."""
        return ("ubl", "xsd-2.1", "maindoc", f"UBL-{self.root}-2.1.xsd")


_INVOICE_PARTIES = (("cac:AccountingSupplierParty",), ("cac:AccountingCustomerParty",))
_ORDER_PARTIES = (
    ("cac:SellerSupplierParty", "cac:AccountingSupplierParty"),
    ("cac:BuyerCustomerParty", "cac:AccountingCustomerParty"),
)
_LOGISTICS_PARTIES = (
    ("cac:DespatchSupplierParty", "cac:SellerSupplierParty"),
    ("cac:DeliveryCustomerParty", "cac:BuyerCustomerParty"),
)


def _kind(
    root: str,
    kind: DocumentKind,
    parties: tuple[tuple[str, ...], ...],
    line: str,
    quantity: str,
    total: str | None,
) -> UblKind:
    return UblKind(root, kind, parties[0], parties[1], line, quantity, total)


_PAYABLE = "cac:LegalMonetaryTotal/cbc:PayableAmount"
KINDS: dict[str, UblKind] = {
    k.root: k
    for k in (
        _kind("Invoice", DocumentKind.INVOICE, _INVOICE_PARTIES, "cac:InvoiceLine",
              "cbc:InvoicedQuantity", _PAYABLE),
        _kind("SelfBilledInvoice", DocumentKind.INVOICE, _INVOICE_PARTIES, "cac:InvoiceLine",
              "cbc:InvoicedQuantity", _PAYABLE),
        _kind("CreditNote", DocumentKind.CREDIT_NOTE, _INVOICE_PARTIES, "cac:CreditNoteLine",
              "cbc:CreditedQuantity", _PAYABLE),
        _kind("SelfBilledCreditNote", DocumentKind.CREDIT_NOTE, _INVOICE_PARTIES,
              "cac:CreditNoteLine", "cbc:CreditedQuantity", _PAYABLE),
        _kind("Order", DocumentKind.ORDER, _ORDER_PARTIES, "cac:OrderLine/cac:LineItem",
              "cbc:Quantity", "cac:AnticipatedMonetaryTotal/cbc:PayableAmount"),
        _kind("OrderResponse", DocumentKind.ORDER_RESPONSE, _ORDER_PARTIES,
              "cac:OrderLine/cac:LineItem", "cbc:Quantity", _PAYABLE),
        _kind("OrderResponseSimple", DocumentKind.ORDER_RESPONSE, _ORDER_PARTIES,
              "cac:OrderLine/cac:LineItem", "cbc:Quantity", None),
        _kind("DespatchAdvice", DocumentKind.DESPATCH_ADVICE, _LOGISTICS_PARTIES,
              "cac:DespatchLine", "cbc:DeliveredQuantity", None),
        _kind("ReceiptAdvice", DocumentKind.RECEIPT_ADVICE, _LOGISTICS_PARTIES,
              "cac:ReceiptLine", "cbc:ReceivedQuantity", None),
    )
}  # fmt: skip
ROOTS: dict[tuple[str, str], UblKind] = {(k.namespace, k.root): k for k in KINDS.values()}

# (path, kind) of the references a UBL document states, header first, then lines.
_REFERENCES: tuple[tuple[str, DocumentKind], ...] = (
    ("cac:OrderReference/cbc:ID", DocumentKind.ORDER),
    ("cac:ContractDocumentReference/cbc:ID", DocumentKind.CONTRACT),
    ("cac:Contract/cbc:ID", DocumentKind.CONTRACT),
    ("cac:DespatchDocumentReference/cbc:ID", DocumentKind.DESPATCH_ADVICE),
    ("cac:ReceiptDocumentReference/cbc:ID", DocumentKind.RECEIPT_ADVICE),
    ("cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID", DocumentKind.INVOICE),
    ("cac:BillingReference/cac:CreditNoteDocumentReference/cbc:ID", DocumentKind.CREDIT_NOTE),
    ("*/cac:OrderLineReference/cac:OrderReference/cbc:ID", DocumentKind.ORDER),
    ("*/cac:DespatchLineReference/cac:DocumentReference/cbc:ID", DocumentKind.DESPATCH_ADVICE),
    ("*/cac:ReceiptLineReference/cac:DocumentReference/cbc:ID", DocumentKind.RECEIPT_ADVICE),
)
_DUE_DATES = ("cbc:DueDate", "cac:PaymentMeans/cbc:PaymentDueDate")
_DELIVERY_DATES = (
    "cac:Delivery/cbc:ActualDeliveryDate",
    "cac:Shipment/cac:Delivery/cbc:ActualDeliveryDate",
    "cac:Shipment/cac:Delivery/cac:Despatch/cbc:ActualDespatchDate",
    "cac:ReceiptLine/cbc:ReceivedDate",
    "cac:Delivery/cac:PromisedDeliveryPeriod/cbc:StartDate",
    "cac:Delivery/cac:RequestedDeliveryPeriod/cbc:StartDate",
)


# --- identifiers ----------------------------------------------------------------------------


def scheme_identifier(
    scheme_id: str | None, value: str, *, agency: str | None = None
) -> Identifier:
    """The identifier ``value`` under an ISO 6523 / Peppol scheme id (``0088`` GLN, ``0199`` LEI).

    A GLN or LEI whose check digits fail, and any scheme FourFlow has no register for, is kept
    as ``OTHER`` with the scheme id in front (``0088:123``): sample files carry made-up ids.
    """
    scheme = (scheme_id or "").strip().upper()
    target: IdScheme | None = None
    if scheme in GLN_SCHEMES or (not scheme and agency == _GS1_AGENCY):
        target = IdScheme.GLN
    elif scheme in LEI_SCHEMES:
        target = IdScheme.LEI
    if target is not None:
        try:
            return Identifier.parse(target, value)
        except DomainValueError:
            pass
    return Identifier(IdScheme.OTHER, f"{scheme}:{value.strip()}" if scheme else value.strip())


def company_identifier(value: str, *, scheme_id: str | None, tax: bool) -> Identifier:
    """A company id: a USCC when it validates as one, else VAT (tax ids) or by its scheme."""
    try:
        return Identifier(IdScheme.USCC, validate_uscc(value))
    except DomainValueError:
        pass
    if tax:
        return Identifier(IdScheme.VAT, "".join(value.split()))
    return scheme_identifier(scheme_id, value)


def unique(identifiers: list[Identifier]) -> tuple[Identifier, ...]:
    """The identifiers without repeats, first occurrence first."""
    return tuple(dict.fromkeys(identifiers))


def account_identifiers(account: str | None) -> tuple[str | None, list[Identifier]]:
    """The compact bank account and, when it is a valid IBAN, its IBAN identifier."""
    if account is None:
        return None, []
    compact = "".join(account.split()).upper()
    try:
        return compact, [Identifier(IdScheme.IBAN, validate_iban(compact))]
    except DomainValueError:
        return compact, []


# --- small readers --------------------------------------------------------------------------


def _first(node: etree._Element, paths: tuple[str, ...]) -> etree._Element | None:
    for path in paths:
        found = node.find(path, NS)
        if found is not None:
            return found
    return None


_TEXT_XPATHS: dict[str, etree.XPath] = {}


def _text(node: etree._Element, path: str) -> str | None:
    """Stripped text of the first element at ``path`` (a leaf), or None when absent or empty.

    A compiled XPath ``string()`` per path: about 2.5 times faster than ``find`` plus
    ``.text`` on these leaf elements, and this runs about a hundred times per document.
    """
    xpath = _TEXT_XPATHS.get(path)
    if xpath is None:
        xpath = _TEXT_XPATHS.setdefault(path, etree.XPath(f"string(({path})[1])", namespaces=NS))
    value = str(xpath(node)).strip()
    return value or None


def parse_date(value: str | None, where: str) -> dt.date | None:
    """An ISO date (``2024-05-31``, time zone suffix allowed) or None when absent."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        raise DomainValueError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from None


def parse_decimal(value: str | None, where: str) -> Decimal | None:
    """A decimal number or None when absent."""
    if value is None:
        return None
    try:
        result = Decimal(value)
    except InvalidOperation:
        raise DomainValueError(f"{where}: {value!r} is not a number") from None
    if not result.is_finite():
        raise DomainValueError(f"{where}: {value!r} is not a finite number")
    return result


def signed_line(
    line_id: str,
    item: str,
    quantity: Decimal,
    unit: str,
    price: Decimal | None,
    amount: Decimal | None,
) -> DocumentLine:
    """A line; a negative quantity (a correction) is kept as a positive one at a negative price.

    The domain holds quantities as non-negative; quantity times price still gives the line's
    (negative) amount.
    """
    if quantity < 0:
        quantity = -quantity
        price = -price if price is not None else None
    return DocumentLine(line_id, item, quantity, unit, price, amount)


# --- mapping --------------------------------------------------------------------------------


def _party(holder: etree._Element | None, account: str | None = None) -> PartyRef:
    party = holder.find("cac:Party", NS) if holder is not None else None
    if party is None:
        return PartyRef(account=account)
    found: list[Identifier] = []
    for legal in party.iterfind("cac:PartyLegalEntity/cbc:CompanyID", NS):
        if text(legal):
            found.append(
                company_identifier(text(legal) or "", scheme_id=legal.get("schemeID"), tax=False)
            )
    for tax_scheme in party.iterfind("cac:PartyTaxScheme", NS):
        tax_id = _text(tax_scheme, "cbc:CompanyID")
        scheme = _text(tax_scheme, "cac:TaxScheme/cbc:ID") or "VAT"
        if tax_id:
            is_vat = scheme.upper() == "VAT"
            found.append(company_identifier(tax_id, scheme_id=scheme, tax=is_vat))
    for ident in (
        *party.iterfind("cbc:EndpointID", NS),
        *party.iterfind("cac:PartyIdentification/cbc:ID", NS),
    ):
        if text(ident):
            found.append(
                scheme_identifier(
                    ident.get("schemeID"), text(ident) or "", agency=ident.get("schemeAgencyID")
                )
            )
    account, iban = account_identifiers(account)
    name = _text(party, "cac:PartyLegalEntity/cbc:RegistrationName") or _text(
        party, "cac:PartyName/cbc:Name"
    )
    return PartyRef(name=name, identifiers=unique(found + iban), account=account)


def _payee_account(root: etree._Element) -> str | None:
    # A separate payee (a factor, in factoring) owns the account, not the seller.
    if root.find("cac:PayeeParty", NS) is not None:
        return None
    return _text(root, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID")


def _item(line: etree._Element, line_id: str) -> str:
    item = line.find("cac:Item", NS)
    if item is None:
        return line_id
    return (
        _text(item, "cac:SellersItemIdentification/cbc:ID")
        or _text(item, "cac:StandardItemIdentification/cbc:ID")
        or _text(item, "cbc:Name")
        or _text(item, "cac:BuyersItemIdentification/cbc:ID")
        or _text(item, "cbc:Description")
        or line_id
    )


def _unit_price(line: etree._Element, where: str) -> Decimal | None:
    price = parse_decimal(_text(line, "cac:Price/cbc:PriceAmount"), f"{where}/Price")
    base = parse_decimal(_text(line, "cac:Price/cbc:BaseQuantity"), f"{where}/BaseQuantity")
    if price is not None and base not in (None, 0):
        assert base is not None
        return price / base
    return price


def _lines(root: etree._Element, ubl: UblKind) -> tuple[DocumentLine, ...]:
    lines: list[DocumentLine] = []
    for n, line in enumerate(root.iterfind(ubl.line, NS), start=1):
        line_id = _text(line, "cbc:ID") or str(n)
        where = f"{ubl.line}[{n}]"
        quantity_el = line.find(ubl.quantity, NS)
        quantity = parse_decimal(text(quantity_el), f"{where}/{ubl.quantity}")
        if quantity is None or quantity_el is None:
            continue  # a line that states no quantity (a bare receipt line) carries no goods
        amount = parse_decimal(_text(line, "cbc:LineExtensionAmount"), f"{where}/amount")
        lines.append(
            signed_line(
                line_id,
                _item(line, line_id),
                quantity,
                quantity_el.get("unitCode", ""),
                _unit_price(line, where),
                amount,
            )
        )
    return tuple(lines)


def _references(root: etree._Element) -> tuple[DocumentRef, ...]:
    refs: list[DocumentRef] = []
    for path, kind in _REFERENCES:
        for element in root.iterfind(path, NS):
            number = text(element)
            if number:
                refs.append(DocumentRef(kind, number))
    return tuple(dict.fromkeys(refs))


def _money(element: etree._Element | None, currency: str | None, where: str) -> Money | None:
    amount = parse_decimal(text(element), where)
    if amount is None or element is None:
        return None
    return Money.of(amount, element.get("currencyID") or currency or "")


def _tax_total(root: etree._Element, currency: str | None) -> Money | None:
    amounts = root.findall("cac:TaxTotal/cbc:TaxAmount", NS)
    chosen = next((a for a in amounts if a.get("currencyID") == currency), None)
    if chosen is None and amounts:
        chosen = amounts[0]
    return _money(chosen, currency, "TaxTotal/TaxAmount")


def source_format(root: etree._Element) -> str:
    """``peppol-bis-3`` when the CustomizationID names Peppol, else ``ubl-<UBLVersionID>``."""
    customization = _text(root, "cbc:CustomizationID") or ""
    if "peppol" in customization.lower():
        return PEPPOL_FORMAT_NAME
    version = _text(root, "cbc:UBLVersionID")
    return f"ubl-{version}" if version in ("2.0", "2.1") else FORMAT_NAME


def map_document(
    root: etree._Element, ubl: UblKind, *, doc_id: str, submitter: str | None
) -> Document:
    """Map a schema-valid UBL document to the domain ``Document``."""
    total_el = root.find(ubl.total, NS) if ubl.total else None
    currency = _text(root, "cbc:DocumentCurrencyCode") or (
        total_el.get("currencyID") if total_el is not None else None
    )
    issue_date = parse_date(_text(root, "cbc:IssueDate"), "IssueDate")
    assert issue_date is not None  # every supported maindoc requires IssueDate
    account = _payee_account(root) if ubl.kind.flow is Flow.INFORMATION else None
    return Document(
        id=doc_id,
        kind=ubl.kind,
        number=_text(root, "cbc:ID") or "",
        issue_date=issue_date,
        seller=_party(_first(root, ubl.seller), account),
        buyer=_party(_first(root, ubl.buyer)),
        currency=currency,
        lines=_lines(root, ubl),
        total=_money(total_el, currency, ubl.total or ""),
        tax_total=_tax_total(root, currency),
        due_date=parse_date(text(_first(root, _DUE_DATES)), "DueDate"),
        delivery_date=parse_date(text(_first(root, _DELIVERY_DATES)), "delivery date"),
        references=_references(root),
        source_format=source_format(root),
        submitted_by=submitter,
    )


# --- format spec ----------------------------------------------------------------------------


def ubl_kind(root: etree._Element) -> UblKind:
    """The supported UBL document type of ``root``, or refuse it."""
    qname = etree.QName(root)
    found = ROOTS.get((qname.namespace or "", qname.localname))
    if found is None:
        raise DocumentRejectedError(
            [
                Problem(
                    "UNKNOWN_FORMAT",
                    f"XML root {qname.text!r} is not a UBL document FourFlow reads",
                )
            ]
        )
    return found


def schema_issues(root: etree._Element, ubl: UblKind) -> list[ValidationIssue]:
    """The UBL 2.1 XSD errors of ``root`` (empty when schema-valid)."""
    return validate_xsd(root, artefact(*ubl.schema))


def read_ubl(raw: bytes, *, source: str, ctx: ReadContext) -> list[ParsedDocument]:
    """Parse, XSD-validate and map one UBL document; refuse it naming every problem."""
    root = parse_xml(raw, source)
    ubl = ubl_kind(root)
    issues = schema_issues(root, ubl)
    if issues:
        raise DocumentRejectedError(issues_as_problems(f"{source} (UBL {ubl.root})", issues))
    try:
        document = map_document(root, ubl, doc_id=ctx.new_id(), submitter=ctx.submitter)
    except DomainValueError as exc:
        raise DocumentRejectedError([Problem("BAD_VALUE", f"{source}: {exc}")]) from None
    return [
        ParsedDocument(
            document=document, canonical=canonical_xml(root), raw=raw, media_type="application/xml"
        )
    ]


def validate_ubl(raw: bytes, *, source: str, rules: bool) -> list[ValidationIssue]:
    """XSD issues, and with ``rules`` the EN 16931 issues of an invoice or credit note."""
    root = parse_xml(raw, source)
    ubl = ubl_kind(root)
    issues = schema_issues(root, ubl)
    if rules and ubl.root in EN16931_ROOTS:
        issues.extend(en16931.check_rules(root, en16931.Syntax.UBL))
    return issues


def _detect(sniffed: Sniffed) -> bool:
    return sniffed.kind == "xml" and sniffed.xml_root in ROOTS


FORMAT = FormatSpec(FORMAT_NAME, _detect, read_ubl, validate_ubl)
