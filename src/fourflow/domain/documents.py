"""Documents of the four flows of a trade, in one format-independent shape.

Every parser (native JSON, UBL, ISO 20022, EPCIS ...) maps what it reads to a ``Document``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from fourflow.domain.errors import DomainValueError
from fourflow.domain.money import Money
from fourflow.domain.parties import PartyRef
from fourflow.domain.payment_status import PaymentStatus
from fourflow.domain.scenarios import Scenario


class Flow(StrEnum):
    """The four flows (四流) of a trade."""

    COMMERCIAL = "commercial"  # 商流: orders and contracts
    LOGISTICS = "logistics"  # 物流: despatch, receipt, transport, warehouse
    CAPITAL = "capital"  # 资金流: payments and bank statements
    INFORMATION = "information"  # 信息流: invoices and credit notes


class DocumentKind(StrEnum):
    """What a document is. Each kind belongs to exactly one flow."""

    ORDER = "order"
    ORDER_RESPONSE = "order_response"
    CONTRACT = "contract"
    DESPATCH_ADVICE = "despatch_advice"
    RECEIPT_ADVICE = "receipt_advice"
    TRANSPORT_EVENT = "transport_event"
    BILL_OF_LADING = "bill_of_lading"
    WAREHOUSE_RECEIPT = "warehouse_receipt"
    FREIGHT_INVOICE = "freight_invoice"  # a carrier's invoice for a transport: its evidence
    PAYMENT = "payment"
    BANK_STATEMENT_ENTRY = "bank_statement_entry"
    REMITTANCE = "remittance"
    PAYMENT_STATUS = "payment_status"  # a bank's status of a payment (pacs.002): not money
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"

    @property
    def flow(self) -> Flow:
        """The flow this kind of document belongs to."""
        return KIND_FLOW[self]


KIND_FLOW: dict[DocumentKind, Flow] = {
    DocumentKind.ORDER: Flow.COMMERCIAL,
    DocumentKind.ORDER_RESPONSE: Flow.COMMERCIAL,
    DocumentKind.CONTRACT: Flow.COMMERCIAL,
    DocumentKind.DESPATCH_ADVICE: Flow.LOGISTICS,
    DocumentKind.RECEIPT_ADVICE: Flow.LOGISTICS,
    DocumentKind.TRANSPORT_EVENT: Flow.LOGISTICS,
    DocumentKind.BILL_OF_LADING: Flow.LOGISTICS,
    DocumentKind.WAREHOUSE_RECEIPT: Flow.LOGISTICS,
    # The carrier bills for carrying the goods: transport evidence of the goods trade, never
    # the seller's invoice (not a receivable, not in invoiced quantities or amounts).
    DocumentKind.FREIGHT_INVOICE: Flow.LOGISTICS,
    DocumentKind.PAYMENT: Flow.CAPITAL,
    DocumentKind.BANK_STATEMENT_ENTRY: Flow.CAPITAL,
    DocumentKind.REMITTANCE: Flow.CAPITAL,
    # What a bank says became of a payment (rejected, settled ...): never a payment itself.
    DocumentKind.PAYMENT_STATUS: Flow.CAPITAL,
    DocumentKind.INVOICE: Flow.INFORMATION,
    DocumentKind.CREDIT_NOTE: Flow.INFORMATION,
}


@dataclass(frozen=True, slots=True)
class DocumentRef:
    """A reference from one document to another, as the document states it.

    Attributes:
        kind: the kind of the referenced document.
        number: the referenced document's number (order number, invoice number ...).
    """

    kind: DocumentKind
    number: str


@dataclass(frozen=True, slots=True)
class DocumentLine:
    """One line of goods or services.

    Attributes:
        line_id: the line's id within its document.
        item: the item's identifier (seller's item id, GTIN) or name.
        quantity: how many units.
        unit: the unit of measure (UN/ECE Rec 20 code, e.g. ``EA``, ``KGM``).
        unit_price: price per unit excluding tax, if the document states it.
        amount: the line's net amount, if the document states it.
    """

    line_id: str
    item: str
    quantity: Decimal
    unit: str
    unit_price: Decimal | None = None
    amount: Decimal | None = None

    def __post_init__(self) -> None:
        if self.quantity < 0:
            raise DomainValueError(f"line {self.line_id}: quantity {self.quantity} is negative")


@dataclass(frozen=True, slots=True)
class Carriage:
    """What a carrier's document says it carried: the consignment and its two ends.

    The carrier itself is the document's seller (the party that bills for the carriage); the
    party billed is its buyer, which may be the shipper or the consignee.

    Attributes:
        shipment_ids: the carrier's shipment (consignment, waybill) numbers.
        consignor: the shipper who handed the goods to the carrier, when stated.
        consignee: the party the goods were carried to, when stated.
    """

    shipment_ids: tuple[str, ...] = ()
    consignor: PartyRef | None = None
    consignee: PartyRef | None = None

    def parties(self) -> tuple[PartyRef, ...]:
        """The consignor and consignee that are stated."""
        return tuple(p for p in (self.consignor, self.consignee) if p is not None)


@dataclass(frozen=True, slots=True)
class Document:
    """A trade document of any of the four flows.

    Attributes:
        id: FourFlow's id for the stored document.
        kind: what the document is (order, invoice, payment ...).
        number: the document's own number (order number, invoice number, payment reference).
        issue_date: the date it was issued, or for payments the value date.
        seller: the selling (or, for payments, receiving) party.
        buyer: the buying (or, for payments, paying) party.
        currency: ISO 4217 currency of its amounts.
        lines: goods or services lines.
        total: payable total including tax (invoices, credit notes), order total, or the paid
            amount (payments).
        tax_total: total tax, where stated.
        due_date: payment due date (invoices).
        delivery_date: despatch or receipt date (logistics documents).
        references: references to other documents.
        source_format: the format it arrived in (``native-json``, ``ubl-2.1`` ...).
        submitted_by: id of the organisation that submitted it.
        scenario: the business scenario the submitter declared, if any.
        carriage: for a carrier's document (a freight invoice), the consignment it concerns.
        payment_status: for a payment status (pacs.002), the status and the payment it names.
    """

    id: str
    kind: DocumentKind
    number: str
    issue_date: dt.date
    seller: PartyRef
    buyer: PartyRef
    currency: str | None = None
    lines: tuple[DocumentLine, ...] = ()
    total: Money | None = None
    tax_total: Money | None = None
    due_date: dt.date | None = None
    delivery_date: dt.date | None = None
    references: tuple[DocumentRef, ...] = ()
    source_format: str = "native-json"
    submitted_by: str | None = None
    scenario: Scenario | None = None
    carriage: Carriage | None = None
    payment_status: PaymentStatus | None = None

    def __post_init__(self) -> None:
        if (self.kind is DocumentKind.PAYMENT_STATUS) != (self.payment_status is not None):
            raise DomainValueError(
                f"{self.kind.value} {self.number}: a payment status (and only it) carries "
                "the status of a payment"
            )
        if not self.number.strip():
            raise DomainValueError(f"{self.kind.value}: document number must not be empty")
        if self.total is not None and self.currency and self.total.currency != self.currency:
            raise DomainValueError(
                f"{self.kind.value} {self.number}: total is in {self.total.currency}, "
                f"document currency is {self.currency}"
            )

    @property
    def flow(self) -> Flow:
        """The flow this document belongs to."""
        return self.kind.flow

    def party_keys(self) -> frozenset[str]:
        """Every key of the parties it names: seller, buyer, and a carriage's two ends."""
        keys = self.seller.keys() | self.buyer.keys()
        if self.carriage is not None:
            for party in self.carriage.parties():
                keys |= party.keys()
        return keys

    def refs_to(self, kind: DocumentKind) -> tuple[str, ...]:
        """Numbers of the documents of ``kind`` this document references."""
        return tuple(r.number for r in self.references if r.kind is kind)

    def quantity_by_item(self) -> dict[str, Decimal]:
        """Total quantity per item over the document's lines."""
        totals: dict[str, Decimal] = {}
        for line in self.lines:
            totals[line.item] = totals.get(line.item, Decimal(0)) + line.quantity
        return totals


_KEY_SCHEMES = ("uscc", "vat", "gln", "lei")


def party_key(party: PartyRef) -> str:
    """The one identifier used for a party in business keys: USCC, else VAT, GLN, LEI."""
    by_scheme = {i.scheme.value: i.value for i in party.identifiers}
    for scheme in _KEY_SCHEMES:
        if scheme in by_scheme:
            return f"{scheme}:{by_scheme[scheme]}"
    return f"name:{(party.name or '').strip().casefold()}"


def business_key_text(doc: Document) -> str | None:
    """The format-independent identity of an invoice or credit note, or None for others.

    Seller, buyer, number, issue date, payable total and currency: the same invoice sent as
    UBL, CII or native JSON gives the same text, hence the same business-key fingerprint.
    """
    if doc.kind not in (DocumentKind.INVOICE, DocumentKind.CREDIT_NOTE) or doc.total is None:
        return None
    return "|".join(
        (
            doc.kind.value,
            party_key(doc.seller),
            party_key(doc.buyer),
            doc.number.strip().upper(),
            doc.issue_date.isoformat(),
            doc.total.plain(),
            doc.total.currency,
        )
    )
