"""Basic four-flow verification: rules are pure functions ``rule(ctx) -> list[Finding]``.

Each rule looks at one aspect of a trade; ``verify_trade`` runs them all and turns the findings
into a status and a score. Codes are documented in docs/verification.md.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from fourflow.domain.documents import Document, DocumentKind, Flow
from fourflow.domain.findings import Finding, Severity, VerificationReport, VerificationStatus
from fourflow.domain.mandates import Mandate
from fourflow.domain.money import Money
from fourflow.domain.parties import Organisation, PartyRef, Role
from fourflow.domain.trades import Trade
from fourflow.verification.linking import STRONG_LINK, explain_links
from fourflow.verification.payments import payment_outcomes, unmatched_statuses
from fourflow.verification.provenance import Orgs, assess

RULES_VERSION = "basic-3"
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
# A carrier's invoice for carrying the goods: transport evidence (``check_transport``), never
# the seller's invoice (not in invoiced quantities, amounts, currency or the receivable).
FREIGHT = DocumentKind.FREIGHT_INVOICE
# A bank's status of a payment (pacs.002): never money itself; a rejected payment it names is
# left out of every payment rule (``TradeContext``) and of the open receivable.
STATUS = DocumentKind.PAYMENT_STATUS


@dataclass(frozen=True, slots=True)
class TradeContext:
    """What the rules see: the trade, who its parties are, and the verification date.

    Attributes:
        trade: the trade.
        parties: organisations by every ``scheme:value`` key they are known by.
        as_of: the date the trade is verified on (due dates are compared to it).
        mandates: the mandates of the trade's parties (who may send whose documents).
    """

    trade: Trade
    parties: Mapping[str, Organisation]
    as_of: dt.date
    mandates: tuple[Mandate, ...] = ()
    _by_kind: dict[DocumentKind, tuple[Document, ...]] = field(
        init=False, repr=False, compare=False
    )

    _orgs: dict[int, Organisation | None] = field(init=False, repr=False, compare=False)
    _quantities: dict[tuple[DocumentKind, ...], dict[str, Decimal]] = field(
        init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        by_kind: dict[DocumentKind, list[Document]] = {}
        rejected = _rejected(self.trade)
        for doc in self.trade.documents:
            if doc.id not in rejected:  # a payment its bank rejected did not happen
                by_kind.setdefault(doc.kind, []).append(doc)
        object.__setattr__(self, "_by_kind", {k: tuple(v) for k, v in by_kind.items()})
        # Memos: rules ask the same questions (who is this party, how much of each item).
        object.__setattr__(self, "_orgs", {})
        object.__setattr__(self, "_quantities", {})

    def quantities(self, *kinds: DocumentKind) -> dict[str, Decimal]:
        """Total quantity per item over the trade's documents of these kinds (do not mutate)."""
        found = self._quantities.get(kinds)
        if found is None:
            found = _sum_qty(self.of_kind(*kinds))
            self._quantities[kinds] = found
        return found

    def of_kind(self, *kinds: DocumentKind) -> tuple[Document, ...]:
        """The trade's documents of the given kinds (grouped by kind, in link order)."""
        if len(kinds) == 1:
            return self._by_kind.get(kinds[0], ())
        return tuple(d for k in kinds for d in self._by_kind.get(k, ()))

    def org_of(self, party: PartyRef) -> Organisation | None:
        """The onboarded organisation a document's party refers to, if recognised."""
        # Keyed by identity: the party belongs to a document of the trade, alive as long as ctx.
        if id(party) in self._orgs:
            return self._orgs[id(party)]
        found = None
        for key in sorted(party.keys()):
            found = self.parties.get(key)
            if found is not None:
                break
        self._orgs[id(party)] = found
        return found

    def org_by_identifiers(self, party: PartyRef) -> Organisation | None:
        """The organisation a party's identifiers (not its bank account) name, if any."""
        for ident in sorted(party.identifiers, key=str):
            org = self.parties.get(str(ident))
            if org is not None:
                return org
        return None


Rule = Callable[[TradeContext], list[Finding]]


def _rejected(trade: Trade) -> frozenset[str]:
    """The trade's payments a bank reported rejected or cancelled (pacs.002)."""
    if not trade.of_kind(STATUS):
        return frozenset()
    return frozenset(p for p, o in payment_outcomes(trade.documents).items() if not o.counts)


def _ids(docs: tuple[Document, ...] | list[Document]) -> tuple[str, ...]:
    return tuple(d.id for d in docs)


def _name(doc: Document) -> str:
    return f"{doc.kind.value.replace('_', ' ')} {doc.number}"


def check_flows_present(ctx: TradeContext) -> list[Finding]:
    """Commercial, logistics and information flows must each have a document."""
    present = ctx.trade.flows()
    return [
        Finding("FLOW_MISSING", ERR, f"no {flow.value} flow document in the trade")
        for flow in (Flow.COMMERCIAL, Flow.LOGISTICS, Flow.INFORMATION)
        if flow not in present
    ]


_SETTLEMENT_REFS = frozenset(PAYMENTS)


def check_provenance(ctx: TradeContext) -> list[Finding]:
    """Each document sent by its issuing party or an agent it mandated (``provenance``).

    Counterparty evidence that came only from the seller's side makes the trade partial
    (``EVIDENCE_SELF_ASSERTED``, naming each document and who should have sent it); any other
    document sent by someone else is reported (``EVIDENCE_NOT_FROM_ISSUER``, informational).
    """
    orgs = Orgs({o.id: o for o in ctx.parties.values()})
    found = assess(ctx.trade, orgs, ctx.mandates)
    findings = []
    rest = found.unattested
    if found.self_asserted:
        mine = found.counterparty_unattested
        findings.append(
            Finding(
                "EVIDENCE_SELF_ASSERTED",
                WARN,
                f"the counterparties' evidence came only from the seller's side "
                f"({orgs.name(ctx.trade.seller_id)}): "
                + "; ".join(u.words() for u in mine)
                + "; the trade cannot be financed on this evidence alone",
                tuple(u.document.id for u in mine),
            )
        )
        rest = tuple(u for u in rest if u not in mine)
    if rest:
        findings.append(
            Finding(
                "EVIDENCE_NOT_FROM_ISSUER",
                INFO,
                "not sent by the issuing party: " + "; ".join(u.words() for u in rest),
                tuple(u.document.id for u in rest),
            )
        )
    return findings


def check_references(ctx: TradeContext) -> list[Finding]:
    """Every reference to an order, delivery or invoice must resolve inside the trade.

    References to payments (a bank's end-to-end id) are identifiers of the payment itself,
    not documents the trade must hold.
    """
    numbers = {(doc.kind, doc.number) for doc in ctx.trade.documents}
    findings = []
    for doc in ctx.trade.documents:
        for ref in doc.references:
            if ref.kind in _SETTLEMENT_REFS or (ref.kind, ref.number) in numbers:
                continue
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


def check_links(ctx: TradeContext) -> list[Finding]:
    """Documents joined without a reference: how sure the link is, and on what it rests."""
    findings = []
    for link in explain_links(ctx.trade.documents):
        if link.score is None:
            text = "joined the trade without a reference and does not fit it"
            confidence = 0.0
        else:
            text = f"joined the trade without a reference, {link.score.describe()}"
            confidence = link.score.confidence
        code, severity = (
            ("LINK_INFERRED", INFO) if confidence >= STRONG_LINK else ("LINK_WEAK", WARN)
        )
        findings.append(
            Finding(
                code, severity, f"{len(link.document_ids)} document(s) {text}", link.document_ids
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
    """The same seller and buyer across all four flows (a logistics firm may act for the seller).

    A payment's payer is left to ``check_payer``, which also looks at the paying account; a
    freight invoice's parties (the carrier, the party billed) to ``check_transport``.
    """
    findings = []
    seller_id, buyer_id = ctx.trade.seller_id, ctx.trade.buyer_id
    for doc in ctx.trade.documents:
        if doc.kind in (FREIGHT, STATUS):  # a status's parties are its payment's
            continue
        seller = ctx.org_of(doc.seller)
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
        if doc.kind in PAYMENTS:
            continue
        buyer = ctx.org_of(doc.buyer)
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


def check_payer(ctx: TradeContext) -> list[Finding]:
    """Payments come from the buyer, out of an account registered to the buyer."""
    findings = []
    buyer_id = ctx.trade.buyer_id
    for doc in ctx.of_kind(*PAYMENTS):
        named = ctx.org_by_identifiers(doc.buyer)
        account = doc.buyer.account
        holder = ctx.parties.get(f"account:{account}") if account else None
        payer = named or holder
        if payer is not None and payer.id != buyer_id:
            findings.append(
                Finding(
                    "PAYER_NOT_BUYER",
                    ERR,
                    f"payment {doc.number} was paid by {payer.name}, not by the trade's buyer",
                    (doc.id,),
                )
            )
        elif holder is not None and holder.id != buyer_id:
            findings.append(
                Finding(
                    "PAYER_NOT_BUYER",
                    ERR,
                    f"payment {doc.number} came from account {account} of {holder.name}, "
                    "not an account of the trade's buyer",
                    (doc.id,),
                )
            )
        elif holder is None:
            what = f"account {account} is not" if account else "no paying account is"
            findings.append(
                Finding(
                    "PAYER_ACCOUNT_UNKNOWN",
                    WARN,
                    f"payment {doc.number}: {what} registered to the trade's buyer",
                    (doc.id,),
                )
            )
    return findings


def check_currency(ctx: TradeContext) -> list[Finding]:
    """All amounts of a trade are in one currency (a carrier may bill its freight in another)."""
    currencies = {d.currency for d in ctx.trade.documents if d.currency and d.kind is not FREIGHT}
    if len(currencies) > 1:
        return [
            Finding(
                "CURRENCY_MISMATCH",
                ERR,
                f"the trade mixes currencies {', '.join(sorted(currencies))}",
                _ids([d for d in ctx.trade.documents if d.currency and d.kind is not FREIGHT]),
            )
        ]
    return []


def _sum_qty(docs: tuple[Document, ...]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for doc in docs:
        for line in doc.lines:
            totals[line.item] = totals.get(line.item, Decimal(0)) + line.quantity
    return totals


def _net_invoiced(ctx: TradeContext) -> dict[str, Decimal]:
    invoiced = dict(ctx.quantities(DocumentKind.INVOICE))
    for item, qty in ctx.quantities(DocumentKind.CREDIT_NOTE).items():
        invoiced[item] = invoiced.get(item, Decimal(0)) - qty
    return invoiced


def check_quantities(ctx: TradeContext) -> list[Finding]:
    """Per item: ordered >= despatched >= received >= invoiced (net of credit notes).

    Quantities add up over partial deliveries and split invoices, so a trade delivered and
    billed in parts passes; a 2% tolerance absorbs weighing and counting differences.
    """
    stages = [
        ("ordered", (DocumentKind.ORDER,)),
        ("despatched", DESPATCHES),
        ("received", RECEIPTS),
        ("invoiced", (DocumentKind.INVOICE, DocumentKind.CREDIT_NOTE)),
    ]
    findings = []
    previous: tuple[str, dict[str, Decimal], tuple[Document, ...]] | None = None
    for name, kinds in stages:
        docs = ctx.of_kind(*kinds)
        if not docs:
            continue
        quantities = _net_invoiced(ctx) if name == "invoiced" else ctx.quantities(*kinds)
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


LOGISTICS = (*DESPATCHES, *RECEIPTS, DocumentKind.TRANSPORT_EVENT, DocumentKind.WAREHOUSE_RECEIPT)


def check_logistics_evidence(ctx: TradeContext) -> list[Finding]:
    """Every invoiced item shows on a logistics document; delivered goods have a receipt.

    Despatch advices, receipt advices, transport (EPCIS) events, bills of lading and warehouse
    receipts all count. Only documents that list goods are compared item by item (a freight
    invoice lists the carrier's charges, so it stands for the logistics flow but lists no goods).
    """
    invoices = ctx.of_kind(DocumentKind.INVOICE)
    logistics = ctx.of_kind(*LOGISTICS)
    if not invoices or not (logistics or ctx.of_kind(FREIGHT)):
        return []  # FLOW_MISSING says it
    findings = []
    listed = ctx.quantities(*LOGISTICS)
    if listed:
        for item in sorted(i for i, q in _net_invoiced(ctx).items() if q > 0):
            if item not in listed:
                billed = [d for d in invoices if any(ln.item == item for ln in d.lines)]
                findings.append(
                    Finding(
                        "GOODS_NOT_EVIDENCED",
                        ERR,
                        f"item {item} is invoiced but on no despatch, receipt, transport event, "
                        "bill of lading or warehouse receipt",
                        _ids(billed),
                    )
                )
    if not ctx.of_kind(DocumentKind.RECEIPT_ADVICE, DocumentKind.WAREHOUSE_RECEIPT):
        findings.append(
            Finding(
                "RECEIPT_MISSING",
                WARN,
                "goods are invoiced but no receipt advice or warehouse receipt confirms that "
                "the buyer received them",
                _ids(invoices),
            )
        )
    return findings


def check_prices(ctx: TradeContext) -> list[Finding]:
    """Invoice unit prices agree with a price the order states for the item."""
    order_prices: dict[str, set[Decimal]] = {}
    for order in ctx.of_kind(DocumentKind.ORDER):
        for line in order.lines:
            if line.unit_price is not None:
                order_prices.setdefault(line.item, set()).add(line.unit_price)
    findings = []
    for invoice in ctx.of_kind(DocumentKind.INVOICE):
        for line in invoice.lines:
            ordered = order_prices.get(line.item)
            price = line.unit_price
            if not ordered or price is None:
                continue
            if all(abs(price - p) > p * PRICE_TOLERANCE for p in ordered):
                findings.append(
                    Finding(
                        "PRICE_MISMATCH",
                        ERR,
                        f"invoice {invoice.number} item {line.item}: price {price} "
                        f"differs from the ordered {', '.join(str(p) for p in sorted(ordered))}",
                        (invoice.id,),
                    )
                )
    return findings


def check_arithmetic(ctx: TradeContext) -> list[Finding]:
    """Line amounts are quantity x price, and invoice totals add up (net lines plus tax)."""
    findings = []
    for doc in ctx.of_kind(DocumentKind.INVOICE, DocumentKind.CREDIT_NOTE, *ORDERS):
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


def _first(docs: tuple[Document, ...]) -> Document | None:
    return min(docs, key=lambda d: d.issue_date) if docs else None


def check_dates(ctx: TradeContext) -> list[Finding]:
    """Order before despatch before receipt; order before invoice; invoice before its due date."""
    findings = []
    order = _first(ctx.of_kind(DocumentKind.ORDER))
    despatch = _first(ctx.of_kind(*DESPATCHES))
    receipt = _first(ctx.of_kind(*RECEIPTS))
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
    for invoice in ctx.of_kind(DocumentKind.INVOICE):
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
    future = [d for d in ctx.trade.documents if d.issue_date > ctx.as_of]
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
    """The trade's currency, taken from its invoices first, then any document (a carrier's
    freight invoice never: its charges are not the trade's)."""
    for doc in trade.of_kind(DocumentKind.INVOICE) + trade.documents:
        if doc.currency and doc.kind is not FREIGHT:
            return doc.currency
    return None


def open_receivable(trade: Trade) -> Money | None:
    """Invoiced minus credit notes minus payments: what the buyer still owes."""
    currency = trade_currency(trade)
    if currency is None:
        return None
    invoiced = _sum_money(trade.of_kind(DocumentKind.INVOICE), currency)
    credited = _sum_money(trade.of_kind(DocumentKind.CREDIT_NOTE), currency)
    rejected = _rejected(trade)
    paid = _sum_money(tuple(p for p in trade.of_kind(*PAYMENTS) if p.id not in rejected), currency)
    return invoiced - credited - paid


def check_amounts(ctx: TradeContext) -> list[Finding]:
    """Invoiced within the order; credit notes reduce, and never exceed, what was billed."""
    currency = trade_currency(ctx.trade)
    if currency is None:
        return []
    findings = []
    orders = ctx.of_kind(DocumentKind.ORDER)
    invoices = ctx.of_kind(DocumentKind.INVOICE)
    credits = ctx.of_kind(DocumentKind.CREDIT_NOTE)
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
    credited = _sum_money(credits, currency)
    if not credited.is_zero():
        findings.append(
            Finding(
                "CREDIT_NOTE_APPLIED",
                INFO,
                f"credit notes of {credited} reduce the receivable",
                _ids(credits),
            )
        )
    by_number = {d.number: d for d in invoices}
    for number, notes in _credits_by_invoice(credits).items():
        invoice = by_number.get(number)
        credit = _sum_money(notes, currency)
        if invoice is not None and invoice.total is not None and credit > invoice.total:
            findings.append(
                Finding(
                    "CREDIT_EXCEEDS_INVOICE",
                    ERR,
                    f"credit notes of {credit} exceed invoice {number}'s {invoice.total}",
                    (invoice.id, *_ids(notes)),
                )
            )
    if credits and credited > invoiced:
        findings.append(
            Finding(
                "CREDIT_EXCEEDS_INVOICE",
                ERR,
                f"credit notes of {credited} exceed the {invoiced} invoiced",
                _ids(invoices) + _ids(credits),
            )
        )
    return findings


def _credits_by_invoice(credits: tuple[Document, ...]) -> dict[str, tuple[Document, ...]]:
    grouped: dict[str, list[Document]] = {}
    for note in credits:
        for number in dict.fromkeys(note.refs_to(DocumentKind.INVOICE)):
            grouped.setdefault(number, []).append(note)
    return {k: tuple(v) for k, v in grouped.items()}


@dataclass(slots=True)
class _Account:
    """One invoice's running account while payments are applied to it."""

    invoice: Document
    open: Decimal
    paid_on: list[dt.date]


def _allocate(ctx: TradeContext, currency: str) -> list[_Account]:
    """Apply credit notes, then payments in date order, to the invoices they name, else oldest due.

    Each settling document pays the invoices it names first, then any invoice still open,
    earliest due first.
    """
    invoices = sorted(
        (i for i in ctx.of_kind(DocumentKind.INVOICE) if i.total and i.total.currency == currency),
        key=lambda i: (i.due_date or i.issue_date, i.number),
    )
    accounts = {
        i.number: _Account(i, i.total.amount if i.total else Decimal(0), []) for i in invoices
    }
    settling = ctx.of_kind(DocumentKind.CREDIT_NOTE) + tuple(
        sorted(ctx.of_kind(*PAYMENTS), key=lambda d: d.issue_date)
    )
    for doc in settling:
        if doc.total is None or doc.total.currency != currency:
            continue
        left = doc.total.amount
        named = [n for n in doc.refs_to(DocumentKind.INVOICE) if n in accounts]
        for number in [*named, *accounts]:
            account = accounts[number]
            take = min(left, account.open)
            if take <= 0:
                continue
            account.open -= take
            left -= take
            if doc.kind in PAYMENTS:
                account.paid_on.append(doc.issue_date)
            if left <= 0:
                break
    return list(accounts.values())


def payment_state(ctx: TradeContext) -> str:
    """The trade's payment state on ``ctx.as_of``: ``paid``, ``overdue`` (an invoice past due
    and not fully paid), ``open`` (owed, not yet due) or ``none`` (nothing invoiced).

    Overdue is how the debtor pays, not whether the trade is real: it is reported beside the
    verification status and weighs in the review (the debtor's overdue invoices), never in
    the status itself.
    """
    currency = trade_currency(ctx.trade)
    if currency is None or not ctx.of_kind(DocumentKind.INVOICE):
        return "none"
    accounts = _allocate(ctx, currency)
    owed = [a for a in accounts if a.open > ARITHMETIC_TOLERANCE]
    if not owed:
        return "paid"
    if any(a.invoice.due_date and a.invoice.due_date < ctx.as_of for a in owed):
        return "overdue"
    return "open"


def check_payments(ctx: TradeContext) -> list[Finding]:
    """Payments against invoices: none yet and not due, partial, over, early, late or overdue
    (overdue is informational: the payment state, see ``payment_state``)."""
    currency = trade_currency(ctx.trade)
    invoices = ctx.of_kind(DocumentKind.INVOICE)
    if currency is None or not invoices:
        return []
    payments = ctx.of_kind(*PAYMENTS)
    accounts = _allocate(ctx, currency)
    findings = []
    overdue = [
        a for a in accounts
        if a.open > ARITHMETIC_TOLERANCE and a.invoice.due_date and a.invoice.due_date < ctx.as_of
    ]  # fmt: skip
    if overdue:
        owed = sum((a.open for a in overdue), Decimal(0))
        findings.append(
            Finding(  # the payment state, not a doubt about the trade: informational
                "PAYMENT_OVERDUE",
                INFO,
                f"{len(overdue)} invoice(s) past due on {ctx.as_of} with {owed} {currency} "
                f"unpaid{'' if payments else ' and no payment at all'}",
                tuple(a.invoice.id for a in overdue),
            )
        )
    elif not payments:
        findings.append(
            Finding(
                "PAYMENT_NOT_YET_DUE",
                INFO,
                "no payment yet; the invoices are not yet due (the receivable to finance)",
                _ids(invoices),
            )
        )
    for account in accounts:
        invoice = account.invoice
        early = [d for d in account.paid_on if d < invoice.issue_date]
        if early:
            findings.append(
                Finding(
                    "PAID_BEFORE_INVOICE",
                    WARN,
                    f"invoice {invoice.number} ({invoice.issue_date}) was paid on {min(early)}, "
                    "before it was issued",
                    (invoice.id, *_ids([p for p in payments if p.issue_date in early])),
                )
            )
        due = invoice.due_date
        if due and account.open <= ARITHMETIC_TOLERANCE and account.paid_on:
            last = max(account.paid_on)
            if last > due:
                findings.append(
                    Finding(
                        "PAID_LATE",
                        INFO,
                        f"invoice {invoice.number} was settled on {last}, {(last - due).days} "
                        f"days after its due date {due}",
                        (invoice.id,),
                    )
                )
    if payments:
        findings.extend(_payment_totals(ctx, currency, payments))
    return findings


def _payment_totals(
    ctx: TradeContext, currency: str, payments: tuple[Document, ...]
) -> list[Finding]:
    invoiced = _sum_money(ctx.of_kind(DocumentKind.INVOICE), currency)
    credited = _sum_money(ctx.of_kind(DocumentKind.CREDIT_NOTE), currency)
    paid = _sum_money(payments, currency)
    due = invoiced - credited
    if paid > due:
        return [
            Finding(
                "OVERPAID", WARN, f"payments of {paid} exceed the {due} invoiced", _ids(payments)
            )
        ]
    if paid < due:
        return [
            Finding(
                "PARTIALLY_PAID",
                INFO,
                f"{paid} of {due} paid; {due - paid} outstanding",
                _ids(payments),
            )
        ]
    return []


def _freight_words(ctx: TradeContext, doc: Document) -> str:
    carrier = ctx.org_of(doc.seller)
    name = carrier.name if carrier else (doc.seller.name or "an unknown carrier")
    if carrier is not None and carrier.id in (ctx.trade.seller_id, ctx.trade.buyer_id):
        side = "the seller" if carrier.id == ctx.trade.seller_id else "the buyer"
        return f"{name} ({side} itself, so not independent)"
    return name


def check_transport(ctx: TradeContext) -> list[Finding]:
    """A carrier's freight invoice as transport evidence (docs/verification.md, "Freight").

    It corroborates the carriage of the goods: who carried which consignment, for which order
    and despatch (``TRANSPORT_EVIDENCED``, informational). Its charges are the carrier's, not
    the seller's: no other rule counts it as an invoice. The party it bills, its consignor or
    its consignee must be the trade's seller or buyer (``PARTY_MISMATCH``); goods carried to an
    onboarded firm other than the buyer (or a logistics or warehouse member) and a freight
    invoice dated before the despatch it bills for are warnings (``TRANSPORT_MISMATCH``).
    """
    findings: list[Finding] = []
    trade_parties = (ctx.trade.seller_id, ctx.trade.buyer_id)
    despatched = {d.number: d for d in ctx.of_kind(*DESPATCHES)}
    # a transport event or bill of lading numbered as its shipment: the same consignment
    waybills = {
        d.number: d for d in ctx.of_kind(DocumentKind.TRANSPORT_EVENT, DocumentKind.BILL_OF_LADING)
    }
    for doc in ctx.of_kind(FREIGHT):
        carriage = doc.carriage
        ends = [doc.buyer, *(carriage.parties() if carriage else ())]
        orgs = [o for p in ends if (o := ctx.org_of(p)) is not None]
        if not any(o.id in trade_parties for o in orgs):
            findings.append(
                Finding(
                    "PARTY_MISMATCH",
                    ERR,
                    f"freight invoice {doc.number}: neither the party billed nor the consignor "
                    "or consignee is the trade's seller or buyer",
                    (doc.id,),
                )
            )
        consignee = ctx.org_of(carriage.consignee) if carriage and carriage.consignee else None
        if (
            consignee is not None
            and consignee.id != ctx.trade.buyer_id
            and not (consignee.has_role(Role.LOGISTICS) or consignee.has_role(Role.WAREHOUSE))
        ):
            findings.append(
                Finding(
                    "TRANSPORT_MISMATCH",
                    WARN,
                    f"freight invoice {doc.number}: the goods were carried to {consignee.name}, "
                    "not to the trade's buyer",
                    (doc.id,),
                )
            )
        cited = [
            despatched[n] for n in doc.refs_to(DocumentKind.DESPATCH_ADVICE) if n in despatched
        ]
        early = [d for d in cited if doc.issue_date < d.issue_date]
        if early:
            findings.append(
                Finding(
                    "TRANSPORT_MISMATCH",
                    WARN,
                    f"freight invoice {doc.number} ({doc.issue_date}) is dated before "
                    f"despatch {early[0].number} ({early[0].issue_date}) whose carriage it bills",
                    (doc.id, *_ids(early)),
                )
            )
        what = (
            [f"shipment {', '.join(carriage.shipment_ids)}"]
            if carriage and carriage.shipment_ids
            else []
        )
        what += [f"despatch {d.number}" for d in cited]
        what += [f"order {n}" for n in doc.refs_to(DocumentKind.ORDER)]
        same = [waybills[n] for n in (carriage.shipment_ids if carriage else ()) if n in waybills]
        matched = "".join(f"; the same shipment as {_name(d)}" for d in same)
        charged = (
            f"; its charges ({doc.total}) are the carrier's, not the receivable"
            if doc.total
            else ""
        )
        findings.append(
            Finding(
                "TRANSPORT_EVIDENCED",
                INFO,
                f"freight invoice {doc.number}: carrier {_freight_words(ctx, doc)} billed the "
                f"carriage of {', '.join(what) or 'the goods'} on {doc.issue_date}"
                f"{matched}{charged}",
                (doc.id, *_ids(cited), *_ids(same)),
            )
        )
    return findings


def check_payment_status(ctx: TradeContext) -> list[Finding]:
    """What banks reported about the trade's payments (pacs.002; docs/verification.md).

    A rejected or cancelled payment did not happen: a warning against the payment flow (the
    payment is left out of every payment rule, so what it was to pay is still owed). A
    settlement the bank confirms strengthens the payment flow (info). Both reported for one
    payment is a contradiction (warning); a status naming no payment of the trade is info.
    """
    statuses = ctx.of_kind(STATUS)
    if not statuses:
        return []
    by_id = {d.id: d for d in ctx.trade.documents}
    findings = []
    for payment_id, outcome in sorted(payment_outcomes(ctx.trade.documents).items()):
        payment = by_id[payment_id]
        if outcome.rejected:
            words = "; ".join(
                f"{_name(by_id[s])}: {status.describe()}"
                for s in outcome.rejected
                if (status := by_id[s].payment_status) is not None
            )
            findings.append(
                Finding(
                    "PAYMENT_REJECTED",
                    WARN,
                    f"{_name(payment)} did not happen: its bank reported it rejected or "
                    f"cancelled ({words}); it is no evidence of settlement",
                    (payment_id, *outcome.rejected),
                )
            )
        if outcome.rejected and outcome.settled:
            findings.append(
                Finding(
                    "PAYMENT_STATUS_CONFLICT",
                    WARN,
                    f"{_name(payment)} is reported both settled and rejected; it is counted "
                    "as not paid",
                    (payment_id, *outcome.rejected, *outcome.settled),
                )
            )
        elif outcome.settled:
            findings.append(
                Finding(
                    "PAYMENT_SETTLEMENT_CONFIRMED",
                    INFO,
                    f"{_name(payment)}: its bank confirms the settlement "
                    f"({', '.join(_name(by_id[s]) for s in outcome.settled)})",
                    (payment_id, *outcome.settled),
                )
            )
    for status_doc in unmatched_statuses(ctx.trade.documents):
        findings.append(
            Finding(
                "PAYMENT_STATUS_UNMATCHED",
                INFO,
                f"{_name(status_doc)} names no payment of the trade",
                (status_doc.id,),
            )
        )
    return findings


BASIC_RULES: tuple[Rule, ...] = (
    check_flows_present,
    check_references,
    check_links,
    check_parties,
    check_payer,
    check_currency,
    check_quantities,
    check_logistics_evidence,
    check_transport,
    check_prices,
    check_arithmetic,
    check_dates,
    check_amounts,
    check_payments,
    check_payment_status,
    check_provenance,
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
