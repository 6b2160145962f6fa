"""UBL 2.1 writers: Order, DespatchAdvice, ReceiptAdvice, Invoice and CreditNote.

The output validates against the UBL 2.1 maindoc XSDs; invoices and credit notes follow
EN 16931 (VAT category S, seller VAT id ``CN`` + USCC, payment account, totals that add up).
Parties carry their GLN (``EndpointID`` and ``PartyIdentification``, scheme ``0088``) and their
USCC (``PartyLegalEntity/CompanyID``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from lxml import etree

from fourflow.domain.issued import Despatch, Invoice, Line, Order, Party, Receipt, totals

CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
EN16931 = "urn:cen.eu:en16931:2017"
GLN_SCHEME = "0088"
GTIN_SCHEME = "0160"


def _root(name: str) -> etree._Element:
    nsmap: dict[str | None, str] = {
        None: f"urn:oasis:names:specification:ubl:schema:xsd:{name}-2",
        "cac": CAC,
        "cbc": CBC,
    }
    tag = f"{{urn:oasis:names:specification:ubl:schema:xsd:{name}-2}}{name}"
    return etree.Element(tag, nsmap=nsmap)  # type: ignore[arg-type]  # lxml: None = default ns


def _cbc(parent: etree._Element, name: str, text: str, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, f"{{{CBC}}}{name}", attrs)
    el.text = text
    return el


def _cac(parent: etree._Element, name: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{CAC}}}{name}")


def _amount(parent: etree._Element, name: str, value: Decimal, currency: str) -> None:
    _cbc(parent, name, f"{value:.2f}", currencyID=currency)


def _qty(value: Decimal) -> str:
    return f"{value:f}"


def _date(value: dt.date) -> str:
    return value.isoformat()


def _party(parent: etree._Element, party: Party, *, tax: bool = False) -> None:
    el = _cac(parent, "Party")
    _cbc(el, "EndpointID", party.gln, schemeID=GLN_SCHEME)
    _cbc(_cac(el, "PartyIdentification"), "ID", party.gln, schemeID=GLN_SCHEME)
    _cbc(_cac(el, "PartyName"), "Name", party.name)
    address = _cac(el, "PostalAddress")
    _cbc(address, "StreetName", party.address)
    _cbc(address, "CityName", party.city)
    _cbc(_cac(address, "Country"), "IdentificationCode", "CN")
    if tax:
        scheme = _cac(el, "PartyTaxScheme")
        _cbc(scheme, "CompanyID", f"CN{party.uscc}")
        _cbc(_cac(scheme, "TaxScheme"), "ID", "VAT")
    legal = _cac(el, "PartyLegalEntity")
    _cbc(legal, "RegistrationName", party.name)
    _cbc(legal, "CompanyID", party.uscc)


def _item(parent: etree._Element, line: Line, vat_percent: str | None) -> None:
    item = _cac(parent, "Item")
    _cbc(item, "Name", line.name)
    _cbc(_cac(item, "StandardItemIdentification"), "ID", line.gtin, schemeID=GTIN_SCHEME)
    if vat_percent is not None:
        category = _cac(item, "ClassifiedTaxCategory")
        _cbc(category, "ID", "S")
        _cbc(category, "Percent", vat_percent)
        _cbc(_cac(category, "TaxScheme"), "ID", "VAT")


def _price(parent: etree._Element, line: Line, currency: str) -> None:
    _amount(_cac(parent, "Price"), "PriceAmount", line.unit_price, currency)


def _doc_ref(parent: etree._Element, name: str, number: str) -> None:
    _cbc(_cac(parent, name), "ID", number)


def _percent(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}"


def _serialise(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def order_xml(order: Order) -> bytes:
    """A UBL 2.1 Order from the buyer, with the requested delivery date and the totals."""
    root = _root("Order")
    _cbc(root, "UBLVersionID", "2.1")
    _cbc(root, "ID", order.number)
    _cbc(root, "IssueDate", _date(order.issue_date))
    _cbc(root, "DocumentCurrencyCode", order.currency)
    _party(_cac(root, "BuyerCustomerParty"), order.buyer)
    _party(_cac(root, "SellerSupplierParty"), order.seller)
    period = _cac(_cac(root, "Delivery"), "RequestedDeliveryPeriod")
    _cbc(period, "StartDate", _date(order.requested_date))
    _cbc(period, "EndDate", _date(order.requested_date))
    t = totals(order.lines, order.vat_rate)
    _amount(_cac(root, "TaxTotal"), "TaxAmount", t.tax, order.currency)
    monetary = _cac(root, "AnticipatedMonetaryTotal")
    _amount(monetary, "LineExtensionAmount", t.net, order.currency)
    _amount(monetary, "PayableAmount", t.gross, order.currency)
    for line in order.lines:
        item = _cac(_cac(root, "OrderLine"), "LineItem")
        _cbc(item, "ID", line.line_id)
        _cbc(item, "Quantity", _qty(line.quantity), unitCode=line.unit)
        _amount(item, "LineExtensionAmount", line.amount, order.currency)
        _price(item, line, order.currency)
        _item(item, line, None)
    return _serialise(root)


def _order_line_ref(parent: etree._Element, line: Line, order_number: str) -> None:
    ref = _cac(parent, "OrderLineReference")
    _cbc(ref, "LineID", line.line_id)
    _cbc(_cac(ref, "OrderReference"), "ID", order_number)


def despatch_xml(despatch: Despatch) -> bytes:
    """A UBL 2.1 DespatchAdvice from the seller, referring to the order."""
    root = _root("DespatchAdvice")
    _cbc(root, "UBLVersionID", "2.1")
    _cbc(root, "ID", despatch.number)
    _cbc(root, "IssueDate", _date(despatch.issue_date))
    _doc_ref(root, "OrderReference", despatch.order_number)
    _party(_cac(root, "DespatchSupplierParty"), despatch.seller)
    _party(_cac(root, "DeliveryCustomerParty"), despatch.buyer)
    shipment = _cac(root, "Shipment")
    _cbc(shipment, "ID", despatch.number)
    delivery = _cac(shipment, "Delivery")
    estimated = _cac(delivery, "EstimatedDeliveryPeriod")
    _cbc(estimated, "StartDate", _date(despatch.expected_delivery))
    _cbc(_cac(delivery, "Despatch"), "ActualDespatchDate", _date(despatch.despatch_date))
    for line in despatch.lines:
        el = _cac(root, "DespatchLine")
        _cbc(el, "ID", line.line_id)
        _cbc(el, "DeliveredQuantity", _qty(line.quantity), unitCode=line.unit)
        _order_line_ref(el, line, despatch.order_number)
        _item(el, line, None)
    return _serialise(root)


def receipt_xml(receipt: Receipt) -> bytes:
    """A UBL 2.1 ReceiptAdvice from the buyer: received (and short) quantities of a despatch."""
    root = _root("ReceiptAdvice")
    _cbc(root, "UBLVersionID", "2.1")
    _cbc(root, "ID", receipt.number)
    _cbc(root, "IssueDate", _date(receipt.issue_date))
    _doc_ref(root, "OrderReference", receipt.order_number)
    _doc_ref(root, "DespatchDocumentReference", receipt.despatch_number)
    _party(_cac(root, "DeliveryCustomerParty"), receipt.buyer)
    _party(_cac(root, "DespatchSupplierParty"), receipt.seller)
    for line, short in zip(receipt.lines, receipt.short, strict=True):
        el = _cac(root, "ReceiptLine")
        _cbc(el, "ID", line.line_id)
        _cbc(el, "ReceivedQuantity", _qty(line.quantity), unitCode=line.unit)
        if short:
            _cbc(el, "ShortQuantity", _qty(short), unitCode=line.unit)
        _cbc(el, "ReceivedDate", _date(receipt.issue_date))
        _order_line_ref(el, line, receipt.order_number)
        line_ref = _cac(el, "DespatchLineReference")
        _cbc(line_ref, "LineID", line.line_id)
        _doc_ref(line_ref, "DocumentReference", receipt.despatch_number)
        _item(el, line, None)
    return _serialise(root)


def _tax_total(root: etree._Element, invoice: Invoice) -> None:
    t = invoice.totals
    cur = invoice.currency
    tax_total = _cac(root, "TaxTotal")
    _amount(tax_total, "TaxAmount", t.tax, cur)
    sub = _cac(tax_total, "TaxSubtotal")
    _amount(sub, "TaxableAmount", t.net, cur)
    _amount(sub, "TaxAmount", t.tax, cur)
    category = _cac(sub, "TaxCategory")
    _cbc(category, "ID", "S")
    _cbc(category, "Percent", _percent(invoice.vat_rate))
    _cbc(_cac(category, "TaxScheme"), "ID", "VAT")
    monetary = _cac(root, "LegalMonetaryTotal")
    _amount(monetary, "LineExtensionAmount", t.net, cur)
    _amount(monetary, "TaxExclusiveAmount", t.net, cur)
    _amount(monetary, "TaxInclusiveAmount", t.gross, cur)
    _amount(monetary, "PayableAmount", t.gross, cur)


def invoice_xml(invoice: Invoice) -> bytes:
    """A UBL 2.1 Invoice (EN 16931) or, when ``credited_invoice`` is set, a CreditNote."""
    credit = invoice.credited_invoice is not None
    name = "CreditNote" if credit else "Invoice"
    root = _root(name)
    _cbc(root, "CustomizationID", EN16931)
    _cbc(root, "ID", invoice.number)
    if invoice.uuid:
        _cbc(root, "UUID", invoice.uuid)
    _cbc(root, "IssueDate", _date(invoice.issue_date))
    if not credit:
        _cbc(root, "DueDate", _date(invoice.due_date))
    _cbc(root, "CreditNoteTypeCode" if credit else "InvoiceTypeCode", "381" if credit else "380")
    if invoice.note:
        _cbc(root, "Note", invoice.note)
    _cbc(root, "DocumentCurrencyCode", invoice.currency)
    _doc_ref(root, "OrderReference", invoice.order_number)
    if invoice.credited_invoice is not None:
        number, issued = invoice.credited_invoice
        ref = _cac(_cac(root, "BillingReference"), "InvoiceDocumentReference")
        _cbc(ref, "ID", number)
        _cbc(ref, "IssueDate", _date(issued))
    if invoice.despatch_number:
        _doc_ref(root, "DespatchDocumentReference", invoice.despatch_number)
    if invoice.receipt_number:
        _doc_ref(root, "ReceiptDocumentReference", invoice.receipt_number)
    _party(_cac(root, "AccountingSupplierParty"), invoice.seller, tax=True)
    _party(_cac(root, "AccountingCustomerParty"), invoice.buyer, tax=True)
    means = _cac(root, "PaymentMeans")
    _cbc(means, "PaymentMeansCode", "30")
    if credit:
        _cbc(means, "PaymentDueDate", _date(invoice.due_date))
    _cbc(means, "PaymentID", invoice.number)
    account = _cac(means, "PayeeFinancialAccount")
    _cbc(account, "ID", invoice.seller.account)
    _cbc(account, "Name", invoice.seller.name)
    _cbc(_cac(root, "PaymentTerms"), "Note", f"Net {invoice.terms_days} days")
    _tax_total(root, invoice)
    percent = _percent(invoice.vat_rate)
    lines = reversed(invoice.lines) if invoice.reverse_lines else iter(invoice.lines)
    for line in lines:
        el = _cac(root, "CreditNoteLine" if credit else "InvoiceLine")
        _cbc(el, "ID", line.line_id)
        qty_name = "CreditedQuantity" if credit else "InvoicedQuantity"
        _cbc(el, qty_name, _qty(line.quantity), unitCode=line.unit)
        _amount(el, "LineExtensionAmount", line.amount, invoice.currency)
        _cbc(_cac(el, "OrderLineReference"), "LineID", line.line_id)
        _item(el, line, percent)
        _price(el, line, invoice.currency)
    return _serialise(root)
