"""UN/CEFACT Cross Industry Invoice D16B (EN 16931 CII): detect, XSD-validate, map.

One root, ``rsm:CrossIndustryInvoice``; ``ExchangedDocument/TypeCode`` says invoice or credit
note. Parties are identified as in UBL (docs/formats/cii.md), so the same invoice sent as UBL
and as CII gives the same business key.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from lxml import etree

from fourflow.adapters.documents import business_rules, en16931
from fourflow.adapters.documents.errors import DocumentRejectedError, Problem
from fourflow.adapters.documents.registry import FormatSpec, ReadContext, Sniffed, ValidationIssue
from fourflow.adapters.documents.standards import artefact
from fourflow.adapters.documents.ubl import (
    account_identifiers,
    company_identifier,
    parse_decimal,
    per_unit,
    scheme_identifier,
    signed_line,
    unique,
)
from fourflow.adapters.documents.xml import canonical_xml, parse_xml, text
from fourflow.adapters.documents.xsd import issues_as_problems, validate_xsd
from fourflow.domain.documents import Document, DocumentKind, DocumentLine, DocumentRef
from fourflow.domain.errors import DomainValueError
from fourflow.domain.money import Money
from fourflow.domain.parties import Identifier, PartyRef
from fourflow.services.reading import ParsedDocument

FORMAT_NAME = "cii-d16b"
RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
NS = {"rsm": RSM, "ram": RAM, "udt": UDT}
ROOT = (RSM, "CrossIndustryInvoice")
SCHEMA = (
    "en16931", "cii-schema", "D16B_SCRDM_Subset", "uncoupled_clm", "CII", "uncefact", "data",
    "standard", "CrossIndustryInvoice_100pD16B.xsd",
)  # fmt: skip

# UNTDID 1001 document types that EN 16931 (and Peppol) treat as credit notes.
CREDIT_NOTE_TYPES = frozenset(
    {"81", "83", "261", "262", "296", "308", "381", "396", "420", "458", "532"}
)

_TX = "rsm:SupplyChainTradeTransaction"
_AGREEMENT = f"{_TX}/ram:ApplicableHeaderTradeAgreement"
_DELIVERY = f"{_TX}/ram:ApplicableHeaderTradeDelivery"
_SETTLEMENT = f"{_TX}/ram:ApplicableHeaderTradeSettlement"
_SUMMATION = f"{_SETTLEMENT}/ram:SpecifiedTradeSettlementHeaderMonetarySummation"
_REFERENCES: tuple[tuple[str, DocumentKind], ...] = (
    (f"{_AGREEMENT}/ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID", DocumentKind.ORDER),
    (f"{_AGREEMENT}/ram:ContractReferencedDocument/ram:IssuerAssignedID", DocumentKind.CONTRACT),
    (f"{_DELIVERY}/ram:DespatchAdviceReferencedDocument/ram:IssuerAssignedID",
     DocumentKind.DESPATCH_ADVICE),
    (f"{_DELIVERY}/ram:ReceivingAdviceReferencedDocument/ram:IssuerAssignedID",
     DocumentKind.RECEIPT_ADVICE),
    (f"{_SETTLEMENT}/ram:InvoiceReferencedDocument/ram:IssuerAssignedID", DocumentKind.INVOICE),
    (f"{_TX}/ram:IncludedSupplyChainTradeLineItem/ram:SpecifiedLineTradeAgreement"
     "/ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID", DocumentKind.ORDER),
)  # fmt: skip


def _text(node: etree._Element, path: str) -> str | None:
    return text(node.find(path, NS))


def parse_cii_date(element: etree._Element | None, where: str) -> dt.date | None:
    """A ``udt:DateTimeString`` in format 102 (``YYYYMMDD``), or None when absent."""
    value = text(element)
    if value is None or element is None:
        return None
    form = element.get("format", "102")
    if form != "102" or len(value) != 8 or not value.isdigit():
        raise DomainValueError(f"{where}: {value!r} (format {form}) is not a date YYYYMMDD")
    try:
        return dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        raise DomainValueError(f"{where}: {value!r} is not a calendar date") from None


def _date(root: etree._Element, path: str, where: str) -> dt.date | None:
    return parse_cii_date(root.find(f"{path}/udt:DateTimeString", NS), where)


def _party(party: etree._Element | None, account: str | None = None) -> PartyRef:
    if party is None:
        return PartyRef(account=account)
    found: list[Identifier] = []
    for legal in party.iterfind("ram:SpecifiedLegalOrganization/ram:ID", NS):
        if text(legal):
            found.append(
                company_identifier(text(legal) or "", scheme_id=legal.get("schemeID"), tax=False)
            )
    for tax in party.iterfind("ram:SpecifiedTaxRegistration/ram:ID", NS):
        scheme = tax.get("schemeID") or "VA"
        if text(tax):
            found.append(company_identifier(text(tax) or "", scheme_id=scheme, tax=scheme == "VA"))
    for ident in (
        *party.iterfind("ram:URIUniversalCommunication/ram:URIID", NS),
        *party.iterfind("ram:ID", NS),
        *party.iterfind("ram:GlobalID", NS),
    ):
        if text(ident):
            found.append(scheme_identifier(ident.get("schemeID"), text(ident) or ""))
    account, iban = account_identifiers(account)
    trading_name = "ram:SpecifiedLegalOrganization/ram:TradingBusinessName"
    name = _text(party, "ram:Name") or _text(party, trading_name)
    return PartyRef(name=name, identifiers=unique(found + iban), account=account)


def _payee_account(root: etree._Element) -> str | None:
    # A separate payee (a factor, in factoring) owns the account, not the seller.
    settlement = root.find(_SETTLEMENT, NS)
    if settlement is None or settlement.find("ram:PayeeTradeParty", NS) is not None:
        return None
    account = "ram:SpecifiedTradeSettlementPaymentMeans/ram:PayeePartyCreditorFinancialAccount"
    return _text(settlement, f"{account}/ram:IBANID") or _text(
        settlement, f"{account}/ram:ProprietaryID"
    )


def _item(product: etree._Element | None, line_id: str) -> str:
    if product is None:
        return line_id
    return (
        _text(product, "ram:SellerAssignedID")
        or _text(product, "ram:GlobalID")
        or _text(product, "ram:Name")
        or _text(product, "ram:BuyerAssignedID")
        or line_id
    )


def _unit_price(line: etree._Element, where: str) -> Decimal | None:
    net = "ram:SpecifiedLineTradeAgreement/ram:NetPriceProductTradePrice"
    price = parse_decimal(_text(line, f"{net}/ram:ChargeAmount"), f"{where}/ChargeAmount")
    base = parse_decimal(_text(line, f"{net}/ram:BasisQuantity"), f"{where}/BasisQuantity")
    if price is not None and base is not None and base != 0:
        return per_unit(price, base)
    return price


def _lines(root: etree._Element) -> tuple[DocumentLine, ...]:
    lines: list[DocumentLine] = []
    for n, line in enumerate(root.iterfind(f"{_TX}/ram:IncludedSupplyChainTradeLineItem", NS), 1):
        line_id = _text(line, "ram:AssociatedDocumentLineDocument/ram:LineID") or str(n)
        where = f"IncludedSupplyChainTradeLineItem[{n}]"
        quantity_el = line.find("ram:SpecifiedLineTradeDelivery/ram:BilledQuantity", NS)
        quantity = parse_decimal(text(quantity_el), f"{where}/BilledQuantity")
        if quantity is None or quantity_el is None:
            continue
        total = "ram:SpecifiedLineTradeSettlement/ram:SpecifiedTradeSettlementLineMonetarySummation"
        amount = parse_decimal(_text(line, f"{total}/ram:LineTotalAmount"), f"{where}/amount")
        item = _item(line.find("ram:SpecifiedTradeProduct", NS), line_id)
        unit = quantity_el.get("unitCode", "")
        lines.append(signed_line(line_id, item, quantity, unit, _unit_price(line, where), amount))
    return tuple(lines)


def _references(root: etree._Element) -> tuple[DocumentRef, ...]:
    refs = [
        DocumentRef(kind, number)
        for path, kind in _REFERENCES
        for element in root.iterfind(path, NS)
        if (number := text(element))
    ]
    return tuple(dict.fromkeys(refs))


def _amount(root: etree._Element, name: str, currency: str | None) -> Money | None:
    elements = root.findall(f"{_SUMMATION}/ram:{name}", NS)
    # An amount without currencyID is in the invoice currency; a second one is the tax currency.
    chosen = next((e for e in elements if e.get("currencyID", currency) == currency), None)
    amount = parse_decimal(text(chosen), name)
    if amount is None or chosen is None:
        return None
    return Money.of(amount, chosen.get("currencyID") or currency or "")


def document_kind(root: etree._Element) -> DocumentKind:
    """Credit note for the UNTDID 1001 credit-note type codes (381 ...), invoice otherwise."""
    code = _text(root, "rsm:ExchangedDocument/ram:TypeCode") or "380"
    return DocumentKind.CREDIT_NOTE if code in CREDIT_NOTE_TYPES else DocumentKind.INVOICE


def map_document(root: etree._Element, *, doc_id: str, submitter: str | None) -> Document:
    """Map a schema-valid CII invoice or credit note to the domain ``Document``."""
    currency = _text(root, f"{_SETTLEMENT}/ram:InvoiceCurrencyCode")
    issue_date = _date(root, "rsm:ExchangedDocument/ram:IssueDateTime", "IssueDateTime")
    if issue_date is None:
        raise DomainValueError("ExchangedDocument/IssueDateTime is missing")
    agreement = root.find(_AGREEMENT, NS)
    seller = agreement.find("ram:SellerTradeParty", NS) if agreement is not None else None
    buyer = agreement.find("ram:BuyerTradeParty", NS) if agreement is not None else None
    return Document(
        id=doc_id,
        kind=document_kind(root),
        number=_text(root, "rsm:ExchangedDocument/ram:ID") or "",
        issue_date=issue_date,
        seller=_party(seller, _payee_account(root)),
        buyer=_party(buyer),
        currency=currency,
        lines=_lines(root),
        total=_amount(root, "DuePayableAmount", currency),
        tax_total=_amount(root, "TaxTotalAmount", currency),
        due_date=_date(
            root, f"{_SETTLEMENT}/ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime", "DueDate"
        ),
        delivery_date=_date(
            root,
            f"{_DELIVERY}/ram:ActualDeliverySupplyChainEvent/ram:OccurrenceDateTime",
            "delivery date",
        ),
        references=_references(root),
        source_format=FORMAT_NAME,
        submitted_by=submitter,
    )


def schema_issues(root: etree._Element) -> list[ValidationIssue]:
    """The CII D16B XSD errors of ``root`` (empty when schema-valid)."""
    return validate_xsd(root, artefact(*SCHEMA))


def _root(raw: bytes, source: str) -> etree._Element:
    root = parse_xml(raw, source)
    qname = etree.QName(root)
    if (qname.namespace, qname.localname) != ROOT:
        raise DocumentRejectedError(
            [Problem("UNKNOWN_FORMAT", f"{source}: XML root {qname.text!r} is not a CII invoice")]
        )
    return root


def read_cii(raw: bytes, *, source: str, ctx: ReadContext) -> list[ParsedDocument]:
    """Parse, XSD-validate and map one CII invoice; refuse it naming every problem."""
    root = _root(raw, source)
    issues = schema_issues(root)
    if issues:
        raise DocumentRejectedError(issues_as_problems(f"{source} (CII)", issues))
    findings = business_rules.enforce(ctx.rules, root, "cii", source)
    try:
        document = map_document(root, doc_id=ctx.new_id(), submitter=ctx.submitter)
    except DomainValueError as exc:
        raise DocumentRejectedError([Problem("BAD_VALUE", f"{source}: {exc}")]) from None
    return [
        ParsedDocument(
            document=document,
            canonical=canonical_xml(root),
            raw=raw,
            media_type="application/xml",
            findings=findings,
        )
    ]


def validate_cii(raw: bytes, *, source: str, rules: bool) -> list[ValidationIssue]:
    """XSD issues, and with ``rules`` the EN 16931 issues."""
    root = _root(raw, source)
    issues = schema_issues(root)
    if rules:
        issues.extend(en16931.check_rules(root, en16931.Syntax.CII))
    return issues


def _detect(sniffed: Sniffed) -> bool:
    return sniffed.kind == "xml" and sniffed.xml_root == ROOT


FORMAT = FormatSpec(FORMAT_NAME, _detect, read_cii, validate_cii)
