"""Basic four-flow verification: rules are pure functions ``rule(ctx) -> list[Finding]``.

Each rule looks at one aspect of a trade; ``verify_trade`` runs them all and turns the findings
into a status and a score. Codes are documented in docs/verification.md.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from fourflow.domain.documents import Document, DocumentKind, Flow
from fourflow.domain.findings import Finding, Severity, VerificationReport, VerificationStatus
from fourflow.domain.money import Money
from fourflow.domain.parties import Organisation, PartyRef, Role
from fourflow.domain.trades import Trade

RULES_VERSION = "basic-1"
# Relative tolerance on quantities between flows (weighing and counting differences).
QUANTITY_TOLERANCE = Decimal("0.02")
# Relative tolerance on unit prices between order and invoice.
PRICE_TOLERANCE = Decimal("0.005")
# Absolute tolerance on document arithmetic, in currency units per line (rounding).
ARITHMETIC_TOLERANCE = Decimal("0.01")

ERR, WARN, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO

ORDERS = (DocumentKind.ORDER, DocumentKind.ORDER_RESPONSE, DocumentKind.CONTRACT)
DESPATCHES = (DocumentKind.DESPATCH_ADVICE, DocumentKind.BILL_OF_LADING)
RECEIPTS = (DocumentKind.RECEIPT_ADVICE,)
PAYMENTS = (DocumentKind.PAYMENT, DocumentKind.BANK_STATEMENT_ENTRY, DocumentKind.REMITTANCE)


@dataclass(frozen=True, slots=True)
class TradeContext:
    """What the rules see: the trade, who its parties are, and the verification date.

    Attributes:
        trade: the trade.
        parties: organisations by every ``scheme:value`` key they are known by.
        as_of: the date the trade is verified on (due dates are compared to it).
    """

    trade: Trade
    parties: Mapping[str, Organisation]
    as_of: dt.date

    def org_of(self, party: PartyRef) -> Organisation | None:
        """The onboarded organisation a document's party refers to, if recognised."""
        for key in sorted(party.keys()):
            org = self.parties.get(key)
            if org is not None:
                return org
        return None


Rule = Callable[[TradeContext], list[Finding]]


def _ids(docs: tuple[Document, ...] | list[Document]) -> tuple[str, ...]:
    return tuple(d.id for d in docs)


def check_flows_present(ctx: TradeContext) -> list[Finding]:
    """Commercial, logistics and information flows must be there; capital once payment is due."""
    findings: list[Finding] = []
    present = ctx.trade.flows()
    for flow in (Flow.COMMERCIAL, Flow.LOGISTICS, Flow.INFORMATION):
        if flow not in present:
            findings.append(
                Finding("FLOW_MISSING", ERR, f"no {flow.value} flow document in the trade")
            )
    if Flow.CAPITAL not in present:
        invoices = ctx.trade.of_kind(DocumentKind.INVOICE)
        overdue = [i for i in invoices if i.due_date is not None and i.due_date < ctx.as_of]
        if overdue:
            findings.append(
                Finding(
                    "PAYMENT_OVERDUE",
                    WARN,
                    f"{len(overdue)} invoice(s) past due on {ctx.as_of} with no payment",
                    _ids(overdue),
                )
            )
        elif invoices:
            findings.append(
                Finding(
                    "PAYMENT_NOT_YET_DUE",
                    INFO,
                    "no payment yet; the invoices are not yet due (the receivable to finance)",
                    _ids(invoices),
                )
            )
    return findings


def check_references(ctx: TradeContext) -> list[Finding]:
    """Every reference to a document of a kind the trade holds must resolve inside the trade."""
    numbers: dict[DocumentKind, set[str]] = {}
    for doc in ctx.trade.documents:
        numbers.setdefault(doc.kind, set()).add(doc.number)
    findings = []
    for doc in ctx.trade.documents:
        for ref in doc.references:
            if ref.number not in numbers.get(ref.kind, set()):
                findings.append(
                    Finding(
                        "REF_UNRESOLVED",
                        ERR,
                        f"{doc.kind.value} {doc.number} refers to {ref.kind.value} {ref.number}, "
                        "which is not in the trade",
                        (doc.id,),
                    )
                )
    return findings


def _acts_for_seller(org: Organisation | None, doc: Document) -> bool:
    return (
        org is not None
        and doc.flow is Flow.LOGISTICS
        and (org.has_role(Role.LOGISTICS) or org.has_role(Role.WAREHOUSE))
    )


def check_parties(ctx: TradeContext) -> list[Finding]:
    """The same seller and buyer across all four flows (a logistics firm may act for the seller)."""
    findings = []
    seller_id, buyer_id = ctx.trade.seller_id, ctx.trade.buyer_id
    for doc in ctx.trade.documents:
        seller = ctx.org_of(doc.seller)
        buyer = ctx.org_of(doc.buyer)
        if (seller is None or seller.id != seller_id) and not _acts_for_seller(seller, doc):
            who = seller.name if seller else (doc.seller.name or "an unknown party")
            findings.append(
                Finding(
                    "PARTY_MISMATCH",
                    ERR,
                    f"{doc.kind.value} {doc.number}: seller is {who}, not the trade's seller",
                    (doc.id,),
                )
            )
        if buyer is None or buyer.id != buyer_id:
            who = buyer.name if buyer else (doc.buyer.name or "an unknown party")
            findings.append(
                Finding(
                    "PARTY_MISMATCH",
                    ERR,
                    f"{doc.kind.value} {doc.number}: buyer is {who}, not the trade's buyer",
                    (doc.id,),
                )
            )
    return findings


def check_currency(ctx: TradeContext) -> list[Finding]:
    """All amounts of a trade are in one currency."""
    currencies = {d.currency for d in ctx.trade.documents if d.currency}
    if len(currencies) > 1:
        return [
            Finding(
                "CURRENCY_MISMATCH",
                ERR,
                f"the trade mixes currencies {', '.join(sorted(currencies))}",
                _ids([d for d in ctx.trade.documents if d.currency]),
            )
        ]
    return []


def _sum_qty(docs: tuple[Document, ...]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for doc in docs:
        for item, qty in doc.quantity_by_item().items():
            totals[item] = totals.get(item, Decimal(0)) + qty
    return totals


def _net_invoiced(ctx: TradeContext) -> dict[str, Decimal]:
    invoiced = _sum_qty(ctx.trade.of_kind(DocumentKind.INVOICE))
    for item, qty in _sum_qty(ctx.trade.of_kind(DocumentKind.CREDIT_NOTE)).items():
        invoiced[item] = invoiced.get(item, Decimal(0)) - qty
    return invoiced


def check_quantities(ctx: TradeContext) -> list[Finding]:
    """Per item: ordered >= despatched >= received >= invoiced (net of credit notes)."""
    trade = ctx.trade
    stages = [
        ("ordered", trade.of_kind(DocumentKind.ORDER), None),
        ("despatched", trade.of_kind(*DESPATCHES), None),
        ("received", trade.of_kind(*RECEIPTS), None),
        ("invoiced", trade.of_kind(DocumentKind.INVOICE, DocumentKind.CREDIT_NOTE), "net"),
    ]
    findings = []
    previous: tuple[str, dict[str, Decimal], tuple[Document, ...]] | None = None
    for name, docs, mode in stages:
        if not docs:
            continue
        quantities = _net_invoiced(ctx) if mode == "net" else _sum_qty(docs)
        if previous is not None:
            prev_name, prev_qty, prev_docs = previous
            for item, qty in sorted(quantities.items()):
                limit = prev_qty.get(item, Decimal(0)) * (1 + QUANTITY_TOLERANCE)
                if qty > limit:
                    findings.append(
                        Finding(
                            "QTY_EXCEEDS",
                            ERR,
                            f"item {item}: {name} {qty} exceeds {prev_name} "
                            f"{prev_qty.get(item, Decimal(0))}",
                            _ids(prev_docs) + _ids(docs),
                        )
                    )
        previous = (name, quantities, docs)
    return findings


def check_prices(ctx: TradeContext) -> list[Finding]:
    """Invoice unit prices agree with the order's."""
    order_prices: dict[str, Decimal] = {}
    for order in ctx.trade.of_kind(DocumentKind.ORDER):
        for line in order.lines:
            if line.unit_price is not None:
                order_prices[line.item] = line.unit_price
    findings = []
    for invoice in ctx.trade.of_kind(DocumentKind.INVOICE):
        for line in invoice.lines:
            ordered = order_prices.get(line.item)
            if ordered is None or line.unit_price is None:
                continue
            if abs(line.unit_price - ordered) > ordered * PRICE_TOLERANCE:
                findings.append(
                    Finding(
                        "PRICE_MISMATCH",
                        ERR,
                        f"invoice {invoice.number} item {line.item}: price {line.unit_price} "
                        f"differs from the ordered {ordered}",
                        (invoice.id,),
                    )
                )
    return findings


def check_arithmetic(ctx: TradeContext) -> list[Finding]:
    """Line amounts are quantity x price, and invoice totals add up (net lines plus tax)."""
    findings = []
    for doc in ctx.trade.of_kind(DocumentKind.INVOICE, DocumentKind.CREDIT_NOTE, *ORDERS):
        for line in doc.lines:
            if line.unit_price is None or line.amount is None:
                continue
            if abs(line.quantity * line.unit_price - line.amount) > ARITHMETIC_TOLERANCE:
                findings.append(
                    Finding(
                        "LINE_ARITHMETIC",
                        ERR,
                        f"{doc.kind.value} {doc.number} line {line.line_id}: {line.quantity} x "
                        f"{line.unit_price} is not {line.amount}",
                        (doc.id,),
                    )
                )
        amounts = [line.amount for line in doc.lines if line.amount is not None]
        if doc.total is None or not amounts or len(amounts) != len(doc.lines):
            continue
        tax = doc.tax_total.amount if doc.tax_total else Decimal(0)
        expected = sum(amounts, Decimal(0)) + tax
        if abs(expected - doc.total.amount) > ARITHMETIC_TOLERANCE * max(1, len(amounts)):
            findings.append(
                Finding(
                    "TOTAL_MISMATCH",
                    ERR,
                    f"{doc.kind.value} {doc.number}: lines {sum(amounts, Decimal(0))} plus tax "
                    f"{tax} make {expected}, not the stated total {doc.total.amount}",
                    (doc.id,),
                )
            )
    return findings


def check_dates(ctx: TradeContext) -> list[Finding]:
    """Order before despatch before receipt; order before invoice; invoice before its due date."""
    trade = ctx.trade
    findings = []

    def first(docs: tuple[Document, ...]) -> Document | None:
        return min(docs, key=lambda d: d.issue_date) if docs else None

    order = first(trade.of_kind(DocumentKind.ORDER))
    despatch = first(trade.of_kind(*DESPATCHES))
    receipt = first(trade.of_kind(*RECEIPTS))
    sequence = [("order", order), ("despatch", despatch), ("receipt", receipt)]
    present = [(n, d) for n, d in sequence if d is not None]
    for (n1, d1), (n2, d2) in itertools.pairwise(present):
        assert d1 is not None and d2 is not None
        if d2.issue_date < d1.issue_date:
            findings.append(
                Finding(
                    "DATES_OUT_OF_ORDER",
                    ERR,
                    f"{n2} {d2.number} ({d2.issue_date}) is dated before {n1} {d1.number} "
                    f"({d1.issue_date})",
                    (d1.id, d2.id),
                )
            )
    for invoice in trade.of_kind(DocumentKind.INVOICE):
        if order is not None and invoice.issue_date < order.issue_date:
            findings.append(
                Finding(
                    "DATES_OUT_OF_ORDER",
                    ERR,
                    f"invoice {invoice.number} ({invoice.issue_date}) is dated before order "
                    f"{order.number} ({order.issue_date})",
                    (order.id, invoice.id),
                )
            )
        if invoice.due_date is not None and invoice.due_date < invoice.issue_date:
            findings.append(
                Finding(
                    "DATES_OUT_OF_ORDER",
                    ERR,
                    f"invoice {invoice.number} falls due before it was issued",
                    (invoice.id,),
                )
            )
    future = [d for d in trade.documents if d.issue_date > ctx.as_of]
    if future:
        findings.append(
            Finding(
                "DATE_IN_FUTURE",
                ERR,
                f"{len(future)} document(s) dated after {ctx.as_of}",
                _ids(future),
            )
        )
    return findings


def _sum_money(docs: tuple[Document, ...], currency: str) -> Money:
    total = Money.zero(currency)
    for doc in docs:
        if doc.total is not None and doc.total.currency == currency:
            total = total + doc.total
    return total


def trade_currency(trade: Trade) -> str | None:
    """The trade's currency, taken from its invoices first, then any document."""
    for doc in trade.of_kind(DocumentKind.INVOICE) + trade.documents:
        if doc.currency:
            return doc.currency
    return None


def open_receivable(trade: Trade) -> Money | None:
    """Invoiced minus credit notes minus payments: what the buyer still owes."""
    currency = trade_currency(trade)
    if currency is None:
        return None
    invoiced = _sum_money(trade.of_kind(DocumentKind.INVOICE), currency)
    credited = _sum_money(trade.of_kind(DocumentKind.CREDIT_NOTE), currency)
    paid = _sum_money(trade.of_kind(*PAYMENTS), currency)
    return invoiced - credited - paid


def check_amounts(ctx: TradeContext) -> list[Finding]:
    """Invoiced does not exceed the order; payments do not exceed what was invoiced."""
    trade = ctx.trade
    currency = trade_currency(trade)
    if currency is None:
        return []
    findings = []
    orders = trade.of_kind(DocumentKind.ORDER)
    invoices = trade.of_kind(DocumentKind.INVOICE)
    ordered = _sum_money(orders, currency)
    invoiced = _sum_money(invoices, currency)
    if orders and invoices and not ordered.is_zero():
        limit = ordered.amount * (1 + QUANTITY_TOLERANCE)
        if invoiced.amount > limit:
            findings.append(
                Finding(
                    "AMOUNT_EXCEEDS_ORDER",
                    ERR,
                    f"invoiced {invoiced} exceeds the ordered {ordered}",
                    _ids(orders) + _ids(invoices),
                )
            )
    credited = _sum_money(trade.of_kind(DocumentKind.CREDIT_NOTE), currency)
    if not credited.is_zero():
        findings.append(
            Finding(
                "CREDIT_NOTE_APPLIED",
                INFO,
                f"credit notes of {credited} reduce the receivable",
                _ids(trade.of_kind(DocumentKind.CREDIT_NOTE)),
            )
        )
    payments = trade.of_kind(*PAYMENTS)
    paid = _sum_money(payments, currency)
    due = invoiced - credited
    if payments and paid > due:
        findings.append(
            Finding(
                "OVERPAID", WARN, f"payments of {paid} exceed the {due} invoiced", _ids(payments)
            )
        )
    elif payments and paid < due:
        findings.append(
            Finding(
                "PARTIALLY_PAID",
                INFO,
                f"{paid} of {due} paid; {due - paid} outstanding",
                _ids(payments),
            )
        )
    return findings


BASIC_RULES: tuple[Rule, ...] = (
    check_flows_present,
    check_references,
    check_parties,
    check_currency,
    check_quantities,
    check_prices,
    check_arithmetic,
    check_dates,
    check_amounts,
)

_SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
_PENALTY = {Severity.ERROR: 30, Severity.WARNING: 10, Severity.INFO: 0}


def verify_trade(ctx: TradeContext, rules: tuple[Rule, ...] = BASIC_RULES) -> VerificationReport:
    """Run every rule over the trade; any error fails it, any warning makes it partial."""
    findings = [f for rule in rules for f in rule(ctx)]
    findings.sort(key=lambda f: (_SEVERITY_ORDER[f.severity], f.code))
    severities = {f.severity for f in findings}
    if Severity.ERROR in severities:
        status = VerificationStatus.FAILED
    elif Severity.WARNING in severities:
        status = VerificationStatus.PARTIAL
    else:
        status = VerificationStatus.VERIFIED
    score = max(0, 100 - sum(_PENALTY[f.severity] for f in findings))
    return VerificationReport(
        trade_id=ctx.trade.id,
        status=status,
        score=score,
        findings=tuple(findings),
        rules_version=RULES_VERSION,
    )
