"""Issued documents: a trade's records as their issuers send them, before serialisation.

Order, despatch advice, receipt advice, invoice (or credit note), payment notification and
logistics event, with the parties they name. The simulator produces them
(``fourflow.simulation``) and the writers serialise them into the standard formats
(``fourflow.adapters.documents.writers``: UBL 2.1, ISO 20022 camt.054, EPCIS 2.0, native
JSON); neither imports the other, both import these records.

Pure data (frozen dataclasses holding tuples); amounts are quantised Decimals.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

CENT = Decimal("0.01")


def cents(value: Decimal) -> Decimal:
    """Round to 0.01 (half-even), the minor unit of CNY."""
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


@dataclass(frozen=True, slots=True)
class Party:
    """An organisation as its documents name it (in the simulator, one of its network).

    Attributes:
        id: the simulator's id (``C001``, ``S0042`` ...), also the code in document numbers.
        name: legal name.
        uscc: Unified Social Credit Code.
        gln: GS1 Global Location Number (7-digit company prefix + ``00000`` + check digit).
        roles: role values (``core_enterprise``, ``supplier`` ...).
        tier: 0 for core enterprises, n for tier-n suppliers, -1 for distributors, None else.
        accounts: domestic bank account numbers.
        bank_bic: BIC of the bank holding the accounts (a bank's own BIC for banks).
        address, legal_representative, phone, industry, city: profile facts.
        shell_of: for a RELATED_PARTIES shell, the id of the buyer it is related to.
    """

    id: str
    name: str
    uscc: str
    gln: str
    roles: tuple[str, ...]
    tier: int | None
    accounts: tuple[str, ...]
    bank_bic: str
    address: str
    legal_representative: str
    phone: str
    industry: str
    city: str
    shell_of: str | None = None

    @property
    def company_prefix(self) -> str:
        """The GS1 company prefix (the GLN's first 7 digits)."""
        return self.gln[:7]

    @property
    def account(self) -> str:
        """The main account."""
        return self.accounts[0]


@dataclass(frozen=True, slots=True)
class Line:
    """A goods line: GTIN-14, name, integer quantity, unit (Rec 20) and net unit price."""

    line_id: str
    gtin: str
    name: str
    quantity: Decimal
    unit: str
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        """Net line amount, quantity x price in cents."""
        return cents(self.quantity * self.unit_price)


@dataclass(frozen=True, slots=True)
class Totals:
    """Net, tax and gross of a set of lines at one VAT rate."""

    net: Decimal
    tax: Decimal
    gross: Decimal


def totals(lines: tuple[Line, ...], vat_rate: Decimal) -> Totals:
    """Net (sum of line amounts), VAT on the net (rounded once) and gross."""
    net = sum((ln.amount for ln in lines), Decimal("0.00"))
    tax = cents(net * vat_rate)
    return Totals(net, tax, net + tax)


@dataclass(frozen=True, slots=True)
class Order:
    """A purchase order from the buyer to the seller."""

    number: str
    issue_date: dt.date
    buyer: Party
    seller: Party
    lines: tuple[Line, ...]
    requested_date: dt.date
    currency: str
    vat_rate: Decimal


@dataclass(frozen=True, slots=True)
class Despatch:
    """A despatch advice from the seller for (part of) an order."""

    number: str
    issue_date: dt.date
    order_number: str
    seller: Party
    buyer: Party
    lines: tuple[Line, ...]
    despatch_date: dt.date
    expected_delivery: dt.date


@dataclass(frozen=True, slots=True)
class Receipt:
    """A receipt advice from the buyer for one despatch (received quantities)."""

    number: str
    issue_date: dt.date
    order_number: str
    despatch_number: str
    seller: Party
    buyer: Party
    lines: tuple[Line, ...]
    short: tuple[Decimal, ...]


@dataclass(frozen=True, slots=True)
class Invoice:
    """A commercial invoice (or a credit note, when ``credited_invoice`` is set).

    Attributes:
        despatch_number, receipt_number: the delivery it bills, when it bills exactly one.
        credited_invoice: for a credit note, the invoice number and date it corrects.
        uuid, note, reverse_lines: layout variations (a re-sent copy's different layout).
    """

    number: str
    issue_date: dt.date
    due_date: dt.date
    seller: Party
    buyer: Party
    lines: tuple[Line, ...]
    order_number: str
    terms_days: int
    currency: str
    vat_rate: Decimal
    despatch_number: str | None = None
    receipt_number: str | None = None
    credited_invoice: tuple[str, dt.date] | None = None
    uuid: str | None = None
    note: str | None = None
    reverse_lines: bool = False

    @property
    def totals(self) -> Totals:
        """Net, VAT and gross."""
        return totals(self.lines, self.vat_rate)


@dataclass(frozen=True, slots=True)
class Payment:
    """A credit transfer as the payee's bank notifies it (camt.054 credit).

    Attributes:
        number: the payer's end-to-end id (also the document's number).
        msg_id: the notification's message id.
        payer_name, payer_uscc, payer_account: who paid, from which account.
        invoice_number: the invoice in the structured remittance, if any.
        unstructured: free remittance text, if any.
    """

    number: str
    msg_id: str
    booking_date: dt.date
    amount: Decimal
    currency: str
    payee: Party
    payee_account: str
    payer_name: str
    payer_uscc: str
    payer_account: str
    payer_bic: str
    invoice_number: str | None = None
    invoice_date: dt.date | None = None
    unstructured: str | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """An EPCIS ObjectEvent: goods shipped by a carrier or stored by a warehouse.

    Attributes:
        biz_step: ``shipping`` or ``storing``.
        actor: the logistics firm or warehouse possessing the goods (source possessing_party).
        origin: the shipper (source location).
        owner: the buyer (destination owning_party and location).
    """

    event_id: str
    event_time: dt.datetime
    biz_step: str
    actor: Party
    origin: Party
    owner: Party
    lines: tuple[Line, ...]
    order_number: str
    despatch_number: str
    invoice_number: str | None


#: Any issued document.
Record = Order | Despatch | Receipt | Invoice | Payment | Event
