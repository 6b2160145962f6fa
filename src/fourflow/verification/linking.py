"""Which documents belong together: by the references they carry, else by inference.

A reference (an invoice naming its order, a receipt naming its despatch, a payment naming its
invoice, an EPCIS event naming a purchase order) links two documents for certain, provided
they share a party. Documents that carry no usable reference are scored against the trades of
the same seller and buyer: the date window, the items, the quantities still open, the amounts
still open. The score is a confidence between 0 and 1 with the reasons it rests on; a link is
made only when the best trade is sure enough and clearly ahead of the next one. Documents are
never inferred into a trade of another seller/buyer pair: the caller only offers candidates of
the same pair, and ``score_link`` refuses documents whose parties share nothing with the trade.

Pure: standard library only, no I/O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from fourflow.domain.documents import Document, DocumentKind

# A link is made at this confidence or above; below ``STRONG_LINK`` the report warns.
LINK_THRESHOLD = 0.7
STRONG_LINK = 0.8
# The best trade must lead the next one by this much, or the documents stay unlinked.
AMBIGUITY_MARGIN = 0.15
# Goods documents (despatch, receipt, invoice ...) are looked for this long after the order.
GOODS_WINDOW_DAYS = 120
# Payments are looked for from this long before the first invoice to this long after the
# last due date (early and late payments happen).
PAYMENT_LEAD_DAYS = 30
PAYMENT_WINDOW_DAYS = 180
QUANTITY_TOLERANCE = Decimal("0.02")
AMOUNT_TOLERANCE = Decimal("0.01")

ANCHORS = frozenset({DocumentKind.ORDER, DocumentKind.CONTRACT})
PAYMENT_KINDS = frozenset(
    {DocumentKind.PAYMENT, DocumentKind.BANK_STATEMENT_ENTRY, DocumentKind.REMITTANCE}
)
# A carrier's freight invoice joins a goods trade only through the order or despatch advice it
# names: its parties (carrier and the party billed) are not the trade's seller and buyer, and
# its lines are charges, not goods, so nothing could be inferred from them.
BY_REFERENCE_ONLY = frozenset({DocumentKind.FREIGHT_INVOICE, DocumentKind.PAYMENT_STATUS})
# Weights of each piece of evidence; a confidence is the weight earned over the weight that
# could be earned for that kind of document.
_W_PARTIES = 0.2
_W_WINDOW = 0.2
_W_ITEMS = 0.3
_W_QUANTITIES = 0.2
_W_AMOUNT = 0.3
_W_PAYMENT_AMOUNT = 0.6


@dataclass(frozen=True, slots=True)
class LinkScore:
    """How well documents without references fit a trade.

    Attributes:
        confidence: 0 to 1.
        basis: the evidence, in words (``same seller and buyer``, ``items on the order`` ...).
    """

    confidence: float
    basis: tuple[str, ...]

    def describe(self) -> str:
        """``"85% (same seller and buyer; items on order PO-1)"``."""
        return f"{self.confidence:.0%} ({'; '.join(self.basis)})"


@dataclass(frozen=True, slots=True)
class LinkChoice:
    """The trade chosen for documents without references, or why none was.

    Attributes:
        trade_key: the chosen trade, or None.
        score: the chosen trade's score (or the best score when none was chosen).
        reason: why no trade was chosen (empty when one was).
    """

    trade_key: str | None
    score: LinkScore | None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class InferredLink:
    """Documents of a trade that are joined to it by inference, not by a reference.

    Attributes:
        document_ids: the documents.
        score: how well they fit the rest of the trade (None: they do not fit at all).
    """

    document_ids: tuple[str, ...]
    score: LinkScore | None


def parties_overlap(a: Document, b: Document) -> bool:
    """True when two documents name at least one party by the same identifier or account
    (a freight invoice's consignor and consignee count as parties it names)."""
    return not a.party_keys().isdisjoint(b.party_keys())


class _UnionFind:
    """Disjoint sets of document ids."""

    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def reference_components(documents: Sequence[Document]) -> list[list[Document]]:
    """Group documents joined by references among themselves, in first-seen order.

    A reference joins two documents when it names the other's kind and number and the two
    share a party (an invoice number reused by another seller does not join; a freight
    invoice's consignor and consignee are parties it names). A bank's payment status
    (pacs.002) joins every payment, statement entry or remittance it names by any of its
    payment ids: the document's number or a payment reference it carries (a camt entry's
    end-to-end id, instruction id, UETR or servicer's reference; ``payment_names``).
    """
    by_number: dict[tuple[DocumentKind, str], list[Document]] = {}
    keys: dict[str, frozenset[str]] = {}
    for doc in documents:
        by_number.setdefault((doc.kind, doc.number), []).append(doc)
        keys[doc.id] = doc.party_keys()
    paid = _by_payment_name(documents)
    groups = _UnionFind()
    for doc in documents:
        groups.find(doc.id)
        for ref in doc.references:
            targets = by_number.get((ref.kind, ref.number), ())
            if doc.kind is DocumentKind.PAYMENT_STATUS and ref.kind is DocumentKind.PAYMENT:
                targets = paid.get(ref.number, ())
            for target in targets:
                if target.id != doc.id and not keys[doc.id].isdisjoint(keys[target.id]):
                    groups.union(doc.id, target.id)
    components: dict[str, list[Document]] = {}
    for doc in documents:
        components.setdefault(groups.find(doc.id), []).append(doc)
    return list(components.values())


def payment_names(doc: Document) -> frozenset[str]:
    """What a payment, statement entry or remittance answers to when a bank's status report
    names it: its number and the payment references it carries."""
    return frozenset((doc.number, *doc.refs_to(DocumentKind.PAYMENT)))


def _by_payment_name(documents: Sequence[Document]) -> dict[str, list[Document]]:
    """The documents that move money, by each name a status may call them (empty without a
    status among ``documents``)."""
    found: dict[str, list[Document]] = {}
    if not any(d.kind is DocumentKind.PAYMENT_STATUS for d in documents):
        return found
    for doc in documents:
        if doc.kind in PAYMENT_KINDS:
            for name in payment_names(doc):
                found.setdefault(name, []).append(doc)
    return found


def _qty(docs: Iterable[Document]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for doc in docs:
        for line in doc.lines:
            totals[line.item] = totals.get(line.item, Decimal(0)) + line.quantity
    return totals


def _amount(docs: Iterable[Document]) -> Decimal:
    return sum((d.total.amount for d in docs if d.total is not None), Decimal(0))


def _stage(kind: DocumentKind) -> str | None:
    if kind in (DocumentKind.DESPATCH_ADVICE, DocumentKind.BILL_OF_LADING):
        return "despatched"
    if kind is DocumentKind.RECEIPT_ADVICE:
        return "received"
    if kind is DocumentKind.INVOICE:
        return "invoiced"
    return None


def _start(trade: Sequence[Document]) -> dt.date:
    anchors = [d.issue_date for d in trade if d.kind in ANCHORS]
    return min(anchors or [d.issue_date for d in trade])


def _goods_score(component: Sequence[Document], trade: Sequence[Document]) -> LinkScore | None:
    start = _start(trade)
    days = (min(d.issue_date for d in component) - start).days
    if not 0 <= days <= GOODS_WINDOW_DAYS:
        return None
    earned, possible = _W_PARTIES, _W_PARTIES
    basis = ["same seller and buyer"]
    possible += _W_WINDOW
    earned += _W_WINDOW if days <= GOODS_WINDOW_DAYS // 2 else _W_WINDOW / 2
    basis.append(f"dated {days} days after the trade began")
    orders = [d for d in trade if d.kind is DocumentKind.ORDER]
    ordered = _qty(orders)
    items = _qty(d for d in component if d.lines and d.kind not in BY_REFERENCE_ONLY)
    if ordered and items:
        known = [i for i in items if i in ordered]
        if not known:
            return None
        possible += _W_ITEMS + _W_QUANTITIES
        earned += _W_ITEMS * len(known) / len(items)
        basis.append(f"{len(known)} of {len(items)} items on the order")
        if _quantities_fit(component, trade, ordered):
            earned += _W_QUANTITIES
            basis.append("quantities within what is still open on the order")
    invoices = [d for d in component if d.kind is DocumentKind.INVOICE]
    if invoices and orders:
        possible += _W_AMOUNT
        open_amount = _amount(orders) - _amount(d for d in trade if d.kind is DocumentKind.INVOICE)
        amount = _amount(invoices)
        if abs(amount - open_amount) <= AMOUNT_TOLERANCE:
            earned += _W_AMOUNT
            basis.append(f"invoiced {amount} is exactly what the order has left to invoice")
        elif amount <= open_amount * (1 + QUANTITY_TOLERANCE):
            earned += _W_AMOUNT * 2 / 3
            basis.append(f"invoiced {amount} within the {open_amount} left to invoice")
    return LinkScore(round(earned / possible, 2), tuple(basis))


def _quantities_fit(
    component: Sequence[Document], trade: Sequence[Document], ordered: Mapping[str, Decimal]
) -> bool:
    for stage in ("despatched", "received", "invoiced"):
        new = _qty(d for d in component if _stage(d.kind) == stage)
        done = _qty(d for d in trade if _stage(d.kind) == stage)
        for item, qty in new.items():
            left = ordered.get(item, Decimal(0)) - done.get(item, Decimal(0))
            if qty > left * (1 + QUANTITY_TOLERANCE):
                return False
    return True


def _open_invoices(trade: Sequence[Document]) -> dict[str, Decimal]:
    """Each invoice's amount not yet paid or credited (payments naming it, then oldest first)."""
    invoices = sorted(
        (d for d in trade if d.kind is DocumentKind.INVOICE and d.total is not None),
        key=lambda d: (d.due_date or d.issue_date, d.number),
    )
    open_amount = {d.number: d.total.amount for d in invoices if d.total is not None}
    settling = [d for d in trade if d.kind in PAYMENT_KINDS or d.kind is DocumentKind.CREDIT_NOTE]
    for doc in settling:
        left = doc.total.amount if doc.total is not None else Decimal(0)
        named = [r.number for r in doc.references if r.kind is DocumentKind.INVOICE]
        for number in [n for n in named if n in open_amount] + list(open_amount):
            take = min(left, open_amount[number])
            open_amount[number] -= take
            left -= take
    return open_amount


def _payment_score(component: Sequence[Document], trade: Sequence[Document]) -> LinkScore | None:
    invoices = [d for d in trade if d.kind is DocumentKind.INVOICE]
    if not invoices:
        return None
    currencies = {d.currency for d in (*component, *invoices) if d.currency}
    if len(currencies) > 1:
        return None
    day = min(d.issue_date for d in component)
    first = min(d.issue_date for d in invoices)
    last = max(d.due_date or d.issue_date for d in invoices)
    if (
        not first - dt.timedelta(days=PAYMENT_LEAD_DAYS)
        <= day
        <= last + dt.timedelta(days=PAYMENT_WINDOW_DAYS)
    ):
        return None
    earned = _W_PARTIES + _W_WINDOW
    basis = ["same seller and buyer", f"paid on {day}, within the invoices' payment window"]
    amount = _amount(component)
    open_amount = _open_invoices(trade)
    outstanding = sum(open_amount.values(), Decimal(0))
    exact = [n for n, a in open_amount.items() if a > 0 and abs(a - amount) <= AMOUNT_TOLERANCE]
    if exact:
        earned += _W_PAYMENT_AMOUNT
        basis.append(f"{amount} is exactly the open amount of invoice {exact[0]}")
    elif abs(outstanding - amount) <= AMOUNT_TOLERANCE:
        earned += _W_PAYMENT_AMOUNT
        basis.append(f"{amount} is exactly the trade's open receivable")
    elif 0 < amount < outstanding:
        earned += _W_PAYMENT_AMOUNT / 2
        basis.append(f"{amount} is part of the open {outstanding}")
    else:
        basis.append(f"{amount} does not fit the open {outstanding}")
    return LinkScore(round(earned / (_W_PARTIES + _W_WINDOW + _W_PAYMENT_AMOUNT), 2), tuple(basis))


def missing_references(
    component: Sequence[Document], trade: Sequence[Document] = ()
) -> list[tuple[DocumentKind, str]]:
    """The orders, deliveries and invoices the component names that neither it nor ``trade``
    holds (a bank's own payment references are not documents). A document naming an order
    not on the platform waits for it; it is never inferred into another order's trade."""
    held = {(d.kind, d.number) for d in (*component, *trade)}
    named = {
        (r.kind, r.number) for d in component for r in d.references if r.kind not in PAYMENT_KINDS
    }
    return sorted(named - held)


def score_link(component: Sequence[Document], trade: Sequence[Document]) -> LinkScore | None:
    """How well documents without references fit a trade; None when they cannot belong to it.

    The caller offers only trades of the component's seller and buyer; documents that share
    no party with the trade, or fall outside its date window, or name none of its items, or
    pay a trade without invoices, do not fit at all.
    """
    if not component or not trade or all(d.kind in BY_REFERENCE_ONLY for d in component):
        return None
    # a bank's status of a payment goes where its payment goes: the payment is scored
    component = [d for d in component if d.kind is not DocumentKind.PAYMENT_STATUS]
    if not any(parties_overlap(c, t) for c in component[:1] for t in trade):
        return None
    if missing_references(component, trade):  # it names another order, delivery or invoice
        return None
    if all(d.kind in PAYMENT_KINDS for d in component):
        return _payment_score(component, trade)
    if any(d.kind in ANCHORS for d in component):
        return None
    return _goods_score(component, trade)


def choose_trade(
    component: Sequence[Document], candidates: Mapping[str, Sequence[Document]]
) -> LinkChoice:
    """The one candidate trade the documents fit well enough, clearly better than the rest."""
    if all(d.kind in BY_REFERENCE_ONLY for d in component):
        if any(d.kind is DocumentKind.PAYMENT_STATUS for d in component):
            named = sorted({n for d in component for n in d.refs_to(DocumentKind.PAYMENT)})
            return LinkChoice(
                None,
                None,
                f"a payment status names no payment on the platform ({', '.join(named)})",
            )
        return LinkChoice(
            None, None, "a freight invoice joins a trade only by the order or despatch it names"
        )
    scored = sorted(
        ((s, key) for key, docs in candidates.items() if (s := score_link(component, docs))),
        key=lambda pair: (-pair[0].confidence, pair[1]),
    )
    if not scored:
        return LinkChoice(None, None, "no trade of the same seller and buyer fits its dates")
    best, key = scored[0]
    if best.confidence < LINK_THRESHOLD:
        return LinkChoice(None, best, f"best fit {best.describe()} is below the threshold")
    if len(scored) > 1 and best.confidence - scored[1][0].confidence < AMBIGUITY_MARGIN:
        return LinkChoice(
            None, best, f"fits {len(scored)} trades about equally ({best.confidence:.0%})"
        )
    return LinkChoice(key, best)


def _main_component(components: Sequence[list[Document]]) -> list[Document]:
    for wanted in (ANCHORS, frozenset({DocumentKind.INVOICE})):
        for component in components:
            if any(d.kind in wanted for d in component):
                return component
    return max(components, key=len)


def explain_links(documents: Sequence[Document]) -> list[InferredLink]:
    """The documents of a trade not joined to its main part by references, and how well they fit.

    The main part is the one holding the order (else an invoice); every other reference group
    is scored against it as the linker scored it.
    """
    components = reference_components(documents)
    if len(components) < 2:
        return []
    main = _main_component(components)
    return [
        InferredLink(tuple(d.id for d in component), score_link(component, main))
        for component in components
        if component is not main
    ]
