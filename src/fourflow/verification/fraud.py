"""Platform-wide fraud detectors: pure functions over every trade and every organisation.

Where the basic rules (``rules.py``) look at one trade, fraud shows across trades: the same
invoice in two trades, a cycle of sales between firms, a payment that comes back, an amount far
above a relationship's history. Each detector is ``detector(ctx) -> list[FraudSignal]`` over a
``ScanContext`` (the ``PlatformView`` plus indexes built once); every signal names the
documents, parties and related trades that show it. Thresholds are the constants below and are
documented in docs/verification.md ("Fraud signals").
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal

import networkx as nx

from fourflow.domain.documents import Document, DocumentKind, Flow
from fourflow.domain.fraud import FraudType
from fourflow.domain.identifiers import IdScheme
from fourflow.domain.mandates import Mandate
from fourflow.domain.parties import Organisation, PartyRef, Role
from fourflow.domain.trades import Trade
from fourflow.verification.payments import rejected_payments
from fourflow.verification.provenance import Orgs, assess

# Near-duplicates: how close an invoice must be to another of the same relationship.
NEAR_DUPLICATE_DAYS = 7  # issue dates at most this many days apart
NEAR_DUPLICATE_AMOUNT = Decimal("0.10")  # totals within 10% of the larger
NEAR_DUPLICATE_EDITS = 2  # numbers at most 2 edits apart (after dropping punctuation)
# Goods evidence covers invoiced quantities within this tolerance (as the basic rules).
COVER_TOLERANCE = Decimal("0.02")
# Circular trading: cycles of at most this many firms, all legs within this many days, of
# near-equal value (within 10% of the cycle's median) and sharing an item.
CYCLE_MAX_LENGTH = 5
CYCLE_WINDOW_DAYS = 30
CYCLE_AMOUNT = Decimal("0.10")
# Round trips: money back from the payee to the payer within this many days of the last
# payment, at least this share of what was paid (and at most all of it, plus rounding).
ROUND_TRIP_DAYS = 14
ROUND_TRIP_SHARE = Decimal("0.80")
# When a return could belong to several trades, one within a week and 90% is matched first.
ROUND_TRIP_CORE_DAYS = 7
ROUND_TRIP_CORE_SHARE = Decimal("0.90")
# Volume spikes: a trade against the relationship's own earlier trades (up to the lookback).
SPIKE_MIN_HISTORY = 3  # earlier trades of the relationship needed before judging
SPIKE_LOOKBACK = 24  # at most this many earlier trades form the history
SPIKE_RATIO = Decimal(4)  # at least 4x the history's median
SPIKE_ROBUST_Z = 6.0  # and at least 6 scaled MADs above it
MAD_SCALE = Decimal("1.4826")  # MAD -> standard deviation for normal data

LOGISTICS_KINDS = frozenset(k for k in DocumentKind if k.flow is Flow.LOGISTICS)
PAYMENT_KINDS = (DocumentKind.PAYMENT, DocumentKind.BANK_STATEMENT_ENTRY, DocumentKind.REMITTANCE)
# Related parties: the profile facts that tie two firms (industry is shared by many, so not).
RELATING_FACTS = ("address", "legal_representative", "phone")


@dataclass(frozen=True, slots=True)
class FraudSignal:
    """One suspicion about one trade, with what shows it.

    Attributes:
        fraud: the fraud type.
        trade_id: the trade it concerns.
        message: what was found, in words a credit officer reads.
        documents: ids of the documents that show it.
        parties: ids of the organisations involved.
        related_trades: other trades involved (the first presentation, the rest of a cycle).
    """

    fraud: FraudType
    trade_id: str
    message: str
    documents: tuple[str, ...] = ()
    parties: tuple[str, ...] = ()
    related_trades: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PlatformView:
    """What the detectors see: every trade, every organisation, and what the chain told.

    Attributes:
        trades: every trade with its documents.
        organisations: every member.
        as_of: the scan date.
        loose_documents: stored documents in no trade (a payment naming no invoice).
        presented_elsewhere: ids of invoices whose salted business-key fingerprint another
            consortium member registered on the chain first (the cross-bank duplicate check).
        resubmitted: ids of documents submitted again byte for byte (refused at ingest as
            duplicates, but a second presentation all the same).
        mandates: who may send whose documents (``provenance``).
    """

    trades: tuple[Trade, ...]
    organisations: tuple[Organisation, ...]
    as_of: dt.date
    loose_documents: tuple[Document, ...] = ()
    presented_elsewhere: frozenset[str] = frozenset()
    resubmitted: frozenset[str] = frozenset()
    mandates: tuple[Mandate, ...] = ()


@dataclass(frozen=True, slots=True)
class TradeFacts:
    """What the detectors use of one trade, computed once.

    Attributes:
        trade: the trade.
        date: its order's date, else its first invoice's, else its earliest document's.
        value: its order's total, else what was invoiced (the trade's size).
        currency: the trade's currency, if any document states one.
        invoices: its invoices.
    """

    trade: Trade
    date: dt.date
    value: Decimal
    currency: str | None
    invoices: tuple[Document, ...]


@dataclass(frozen=True, slots=True)
class NearPair:
    """An invoice that looks like another altered slightly, with no goods behind it.

    Attributes:
        original: (trade id, invoice) of the genuine invoice.
        copy: (trade id, invoice) of the altered copy.
        how: what differs.
    """

    original: tuple[str, Document]
    copy: tuple[str, Document]
    how: str


@dataclass(frozen=True, slots=True)
class ScanContext:
    """A ``PlatformView`` with the indexes every detector needs, built once by ``scan_context``.

    Attributes:
        view: the platform view.
        orgs: organisations by id.
        by_key: organisations by every (scheme, value) they are known by (accounts too).
        by_account: organisation ids by bank account.
        facts: per-trade facts by trade id, in the view's order.
        relationships: trade ids by (seller id, buyer id), oldest first.
        duplicate_groups: invoices presented more than once, as (trade id, invoice), the
            genuine one first.
        near_pairs: altered copies of invoices.
        copies: ids of invoices that are copies (every duplicate but the genuine one, every
            altered copy): left out where goods are weighed against invoices.
    """

    view: PlatformView
    orgs: Mapping[str, Organisation]
    by_key: Mapping[tuple[IdScheme, str], Organisation]
    by_account: Mapping[str, str]
    facts: Mapping[str, TradeFacts]
    relationships: Mapping[tuple[str, str], tuple[str, ...]]
    duplicate_groups: tuple[tuple[tuple[str, Document], ...], ...] = ()
    near_pairs: tuple[NearPair, ...] = ()
    copies: frozenset[str] = frozenset()

    def org_of(self, party: PartyRef) -> Organisation | None:
        """The member a document's party refers to: by its identifiers in the document's
        order, then by its account; None when none is a member's."""
        for ident in party.identifiers:
            org = self.by_key.get((ident.scheme, ident.value))
            if org is not None:
                return org
        return self.by_key.get((IdScheme.ACCOUNT, party.account)) if party.account else None

    def genuine_invoices(self, trade_id: str) -> tuple[Document, ...]:
        """The trade's invoices that are not copies of another."""
        return tuple(d for d in self.facts[trade_id].invoices if d.id not in self.copies)


Detector = Callable[[ScanContext], list[FraudSignal]]


def _total(docs: Iterable[Document]) -> Decimal:
    return sum((d.total.amount for d in docs if d.total is not None), Decimal(0))


def _trade_facts(trade: Trade) -> TradeFacts:
    invoices = trade.of_kind(DocumentKind.INVOICE)
    orders = trade.of_kind(DocumentKind.ORDER, DocumentKind.CONTRACT)
    dated = orders or invoices or trade.documents
    date = min((d.issue_date for d in dated), default=dt.date.min)
    currency = next((d.currency for d in invoices + trade.documents if d.currency), None)
    value = _total(orders) or _total(invoices)
    return TradeFacts(trade, date, value, currency, invoices)


def _identified_by(org: Organisation) -> Iterator[tuple[IdScheme, str]]:
    yield IdScheme.USCC, org.uscc
    yield from ((i.scheme, i.value) for i in org.identifiers)
    yield from ((IdScheme.ACCOUNT, a) for a in org.accounts)


def scan_context(view: PlatformView) -> ScanContext:
    """Index the view, then find the invoices that are copies (duplicates, altered copies)."""
    facts = {t.id: _trade_facts(t) for t in view.trades}
    by_key = {k: o for o in view.organisations for k in _identified_by(o)}
    relationships: dict[tuple[str, str], list[str]] = defaultdict(list)
    for f in sorted(facts.values(), key=lambda f: (f.date, f.trade.id)):
        relationships[(f.trade.seller_id, f.trade.buyer_id)].append(f.trade.id)
    ctx = ScanContext(
        view=view,
        orgs={o.id: o for o in view.organisations},
        by_key=by_key,
        by_account={a: o.id for o in view.organisations for a in o.accounts},
        facts=facts,
        relationships={k: tuple(v) for k, v in relationships.items()},
    )
    groups = _duplicate_groups(ctx)
    ctx = replace(
        ctx,
        duplicate_groups=groups,
        copies=frozenset(d.id for group in groups for _, d in group[1:]),
    )
    pairs = _near_pairs(ctx)
    return replace(ctx, near_pairs=pairs, copies=ctx.copies | {p.copy[1].id for p in pairs})


def _name(ctx: ScanContext, org_id: str) -> str:
    org = ctx.orgs.get(org_id)
    return org.name if org is not None else org_id


def _paid_numbers(trade: Trade) -> set[str]:
    """Invoice numbers the trade's payments name (not those its bank rejected: pacs.002)."""
    rejected = rejected_payments(trade.documents)
    return {
        n
        for d in trade.of_kind(*PAYMENT_KINDS)
        if d.id not in rejected
        for n in d.refs_to(DocumentKind.INVOICE)
    }


# --------------------------------------------------------------------------- goods evidence


def _quantities(docs: Iterable[Document]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for doc in docs:
        for line in doc.lines:
            totals[line.item] += line.quantity
    return totals


def received_quantities(trade: Trade) -> dict[str, Decimal]:
    """Per item, what the buyer received: receipt advices, else warehouse receipts, else what
    was despatched (never two of them added up: they describe the same goods)."""
    for kinds in (
        (DocumentKind.RECEIPT_ADVICE,),
        (DocumentKind.WAREHOUSE_RECEIPT,),
        (DocumentKind.DESPATCH_ADVICE, DocumentKind.BILL_OF_LADING),
    ):
        docs = trade.of_kind(*kinds)
        if docs:
            return _quantities(docs)
    return {}


def excess(
    trade: Trade, leave_out: frozenset[str] = frozenset()
) -> dict[str, tuple[Decimal, Decimal]]:
    """Items invoiced (net of credit notes, leaving out ``leave_out``) beyond what was received
    by more than the tolerance: item -> (invoiced, received)."""
    invoiced = _quantities(d for d in trade.of_kind(DocumentKind.INVOICE) if d.id not in leave_out)
    for item, qty in _quantities(trade.of_kind(DocumentKind.CREDIT_NOTE)).items():
        invoiced[item] = invoiced.get(item, Decimal(0)) - qty
    received = received_quantities(trade)
    return {
        item: (qty, received.get(item, Decimal(0)))
        for item, qty in sorted(invoiced.items())
        if qty > received.get(item, Decimal(0)) * (1 + COVER_TOLERANCE)
    }


def _has_logistics(trade: Trade) -> bool:
    return any(d.kind in LOGISTICS_KINDS for d in trade.documents)


# --------------------------------------------------------------------------- duplicates


_NON_ALNUM = re.compile(r"[^0-9A-Z]")


def _normal_number(number: str) -> str:
    return _NON_ALNUM.sub("", number.upper())


def _invoice_key(ctx: ScanContext, trade: Trade, doc: Document) -> tuple[str, ...] | None:
    """The invoice's identity with parties resolved to members, so any format gives one key."""
    if doc.total is None:
        return None
    seller = ctx.org_of(doc.seller)
    buyer = ctx.org_of(doc.buyer)
    return (
        seller.id if seller else trade.seller_id,
        buyer.id if buyer else trade.buyer_id,
        _normal_number(doc.number),
        doc.issue_date.isoformat(),
        doc.total.plain(),
        doc.total.currency,
    )


def _duplicate_groups(ctx: ScanContext) -> tuple[tuple[tuple[str, Document], ...], ...]:
    """Invoices with one identity held more than once; the one a payment names comes first."""
    copies: dict[tuple[str, ...], list[tuple[str, Document]]] = defaultdict(list)
    for facts in ctx.facts.values():
        for doc in facts.invoices:
            key = _invoice_key(ctx, facts.trade, doc)
            if key is not None:
                copies[key].append((facts.trade.id, doc))
    groups = []
    for group in copies.values():
        if len(group) > 1:
            paid = [doc.number in _paid_numbers(ctx.facts[t].trade) for t, doc in group]
            order = sorted(range(len(group)), key=lambda i: not paid[i])
            groups.append(tuple(group[i] for i in order))
    return tuple(groups)


def detect_duplicate_invoices(ctx: ScanContext) -> list[FraudSignal]:
    """The same invoice (same parties, number, date and total, in any format) presented twice.

    Every trade holding a copy is flagged, naming the copies; so is a trade whose invoice was
    submitted again byte for byte, or registered on the chain by another member first.
    """
    signals: list[FraudSignal] = []
    for group in ctx.duplicate_groups:
        trade_ids = tuple(dict.fromkeys(t for t, _ in group))
        formats = ", ".join(sorted({d.source_format for _, d in group}))
        for trade_id in trade_ids:
            others = tuple(t for t in trade_ids if t != trade_id)
            where = f"also in trade(s) {', '.join(others)}" if others else "within this trade"
            signals.append(
                FraudSignal(
                    FraudType.DUPLICATE_INVOICE,
                    trade_id,
                    f"invoice {group[0][1].number} is presented {len(group)} times ({formats}), "
                    f"{where}",
                    tuple(d.id for _, d in group),
                    _parties(ctx, trade_id),
                    others,
                )
            )
    for facts in ctx.facts.values():
        again = [d for d in facts.invoices if d.id in ctx.view.resubmitted]
        if again:
            signals.append(
                FraudSignal(
                    FraudType.DUPLICATE_INVOICE,
                    facts.trade.id,
                    f"invoice {again[0].number} was submitted again byte for byte",
                    tuple(d.id for d in again),
                    _parties(ctx, facts.trade.id),
                )
            )
        elsewhere = [d for d in facts.invoices if d.id in ctx.view.presented_elsewhere]
        if elsewhere:
            signals.append(
                FraudSignal(
                    FraudType.DUPLICATE_INVOICE,
                    facts.trade.id,
                    f"invoice {elsewhere[0].number} was presented before to another consortium "
                    "member (its salted business-key fingerprint is on the chain)",
                    tuple(d.id for d in elsewhere),
                    _parties(ctx, facts.trade.id),
                )
            )
    return _one_per_trade(signals)


def _parties(ctx: ScanContext, trade_id: str) -> tuple[str, str]:
    trade = ctx.facts[trade_id].trade
    return trade.seller_id, trade.buyer_id


def _one_per_trade(signals: list[FraudSignal]) -> list[FraudSignal]:
    seen: set[tuple[FraudType, str]] = set()
    unique = []
    for s in signals:
        if (s.fraud, s.trade_id) not in seen:
            seen.add((s.fraud, s.trade_id))
            unique.append(s)
    return unique


# --------------------------------------------------------------------------- near-duplicates


def edit_distance(a: str, b: str, bound: int) -> int:
    """Levenshtein distance of ``a`` and ``b`` (adjacent transpositions count one), capped at
    ``bound + 1``."""
    if abs(len(a) - len(b)) > bound:
        return bound + 1
    before: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], before[j - 2] + 1)
        if min(current) > bound:
            return bound + 1
        before, previous = previous, current
    return min(previous[-1], bound + 1)


def same_series(a: str, b: str) -> bool:
    """True when two numbers are different numbers of one series: the same length, differing
    only in digits (``INV-000123`` and ``INV-000124``), as split invoices are numbered."""
    return len(a) == len(b) and all(
        x == y or (x.isdigit() and y.isdigit()) for x, y in zip(a, b, strict=True)
    )


def _alteration(a: Document, b: Document) -> str | None:
    """How ``b`` looks like ``a`` with its number (and maybe its date or amount) altered
    slightly, or None when it does not."""
    if a.total is None or b.total is None or a.total.currency != b.total.currency:
        return None
    na, nb = _normal_number(a.number), _normal_number(b.number)
    if na == nb or same_series(na, nb):
        return None
    if edit_distance(na, nb, NEAR_DUPLICATE_EDITS) > NEAR_DUPLICATE_EDITS:
        return None
    if abs((a.issue_date - b.issue_date).days) > NEAR_DUPLICATE_DAYS:
        return None
    biggest = max(abs(a.total.amount), abs(b.total.amount))
    if biggest == 0 or abs(a.total.amount - b.total.amount) > biggest * NEAR_DUPLICATE_AMOUNT:
        return None
    how = [f"number {a.number} -> {b.number}"]
    if a.issue_date != b.issue_date:
        how.append(f"date {a.issue_date} -> {b.issue_date}")
    if a.total.amount != b.total.amount:
        how.append(f"total {a.total.amount} -> {b.total.amount}")
    return ", ".join(how)


def _genuine_first(ctx: ScanContext, a: tuple[str, Document], b: tuple[str, Document]) -> bool:
    """True when ``a`` rather than ``b`` is the genuine invoice: the one a payment names, else
    the earlier, else the one with the shorter number (alterations add characters)."""

    def rank(x: tuple[str, Document]) -> tuple[bool, dt.date, int]:
        paid = x[1].number in _paid_numbers(ctx.facts[x[0]].trade)
        return (not paid, x[1].issue_date, len(x[1].number))

    return rank(a) <= rank(b)


def _near_pair(
    ctx: ScanContext, a: tuple[str, Document], b: tuple[str, Document]
) -> NearPair | None:
    """The pair as original and copy when goods evidence does not stand behind both.

    The two must bill one order: be in one trade, or name a common order. In one trade, what
    was received must cover everything invoiced (split invoices and partial deliveries do);
    the copy is the invoice whose removal makes it so. In two trades, the copy is the invoice
    of the trade without goods evidence of its own.
    """
    how = _alteration(a[1], b[1])
    if how is None:
        return None
    trade_a, trade_b = ctx.facts[a[0]].trade, ctx.facts[b[0]].trade
    if a[0] != b[0] and not set(a[1].refs_to(DocumentKind.ORDER)) & set(
        b[1].refs_to(DocumentKind.ORDER)
    ):
        return None  # two orders, two trades: each invoice is judged on its own goods
    if a[0] == b[0]:
        if not excess(trade_a, ctx.copies):
            return None
        fixes = [x for x in (a, b) if not excess(trade_a, ctx.copies | {x[1].id})]
        if not fixes:
            return None
        copy = fixes[0] if len(fixes) == 1 else (b if _genuine_first(ctx, a, b) else a)
    else:
        unbacked = [
            x
            for x, t in ((a, trade_a), (b, trade_b))
            if not _has_logistics(t) or excess(t, ctx.copies)
        ]
        if not unbacked:
            return None
        copy = unbacked[0] if len(unbacked) == 1 else (b if _genuine_first(ctx, a, b) else a)
    original = a if copy is b else b
    return NearPair(original, copy, how)


def _near_pairs(ctx: ScanContext) -> tuple[NearPair, ...]:
    pairs: list[NearPair] = []
    window = dt.timedelta(days=NEAR_DUPLICATE_DAYS)
    taken: set[str] = set()
    for trade_ids in ctx.relationships.values():
        invoices = sorted(
            (
                (t, d)
                for t in trade_ids
                for d in ctx.facts[t].invoices
                if d.total is not None and d.id not in ctx.copies
            ),
            key=lambda td: (td[1].issue_date, td[1].id),
        )
        for i, a in enumerate(invoices):
            for b in invoices[i + 1 :]:
                if b[1].issue_date - a[1].issue_date > window:
                    break
                if a[1].id in taken or b[1].id in taken:
                    continue
                pair = _near_pair(ctx, a, b)
                if pair is not None:
                    pairs.append(pair)
                    taken.add(pair.copy[1].id)
    return tuple(pairs)


def detect_near_duplicates(ctx: ScanContext) -> list[FraudSignal]:
    """Invoices of one relationship whose number (and maybe date or amount) is a slight
    alteration of another's, when goods evidence does not stand behind both.

    Numbers at most 2 edits apart (after dropping punctuation) and not two numbers of one
    series, dates within 7 days, totals within 10%, billing one order. Split invoices and
    partial deliveries look alike but are covered by what was received, so they are not
    flagged. The trade holding the copy is flagged.
    """
    signals = []
    for pair in ctx.near_pairs:
        (trade_o, original), (trade_c, copy) = pair.original, pair.copy
        signals.append(
            FraudSignal(
                FraudType.NEAR_DUPLICATE_INVOICE,
                trade_c,
                f"invoice {copy.number} is invoice {original.number} altered ({pair.how}) with "
                "no goods received behind it",
                (original.id, copy.id),
                _parties(ctx, trade_c),
                () if trade_o == trade_c else (trade_o,),
            )
        )
    return _one_per_trade(signals)


# --------------------------------------------------------------------------- phantom, inflated


def _may_carry(org: Organisation, trade: Trade) -> bool:
    """The trade's own parties, and logistics or warehouse members, may issue logistics
    evidence."""
    return org.id in (trade.seller_id, trade.buyer_id) or any(
        org.has_role(r) for r in (Role.LOGISTICS, Role.WAREHOUSE)
    )


def detect_phantom_trades(ctx: ScanContext) -> list[FraudSignal]:
    """Invoiced trades with no logistics evidence, or with evidence from an unrelated party
    (a firm that is neither party to the trade nor a logistics or warehouse member)."""
    signals = []
    for facts in ctx.facts.values():
        trade = facts.trade
        invoices = ctx.genuine_invoices(trade.id)
        if not invoices:
            continue
        logistics = [d for d in trade.documents if d.kind in LOGISTICS_KINDS]
        if not logistics:
            signals.append(
                FraudSignal(
                    FraudType.PHANTOM_TRADE,
                    trade.id,
                    f"invoice {invoices[0].number} bills {_total(invoices)} with no despatch, "
                    "transport or receipt document behind it",
                    tuple(d.id for d in invoices),
                    _parties(ctx, trade.id),
                )
            )
            continue
        foreign = [
            (doc, org)
            for doc in logistics
            if (org := ctx.org_of(doc.seller)) is not None and not _may_carry(org, trade)
        ]
        if foreign:
            doc, org = foreign[0]
            signals.append(
                FraudSignal(
                    FraudType.PHANTOM_TRADE,
                    trade.id,
                    f"{doc.kind.value} {doc.number} is issued by {org.name}, who is not party "
                    "to the trade and carries or stores no goods",
                    tuple(d.id for d, _ in foreign) + tuple(d.id for d in invoices),
                    (*_parties(ctx, trade.id), *(o.id for _, o in foreign)),
                )
            )
    return signals


def detect_inflated_invoices(ctx: ScanContext) -> list[FraudSignal]:
    """Trades invoiced beyond what was received (net of credit notes, beyond 2%), copies of
    other invoices left out."""
    signals = []
    for facts in ctx.facts.values():
        trade = facts.trade
        if not ctx.genuine_invoices(trade.id) or not _has_logistics(trade):
            continue
        over = excess(trade, ctx.copies)
        if over:
            item, (invoiced, received) = next(iter(over.items()))
            more = f" (and {len(over) - 1} more item(s))" if len(over) > 1 else ""
            evidence = trade.of_kind(
                DocumentKind.INVOICE, DocumentKind.CREDIT_NOTE, *LOGISTICS_KINDS
            )
            signals.append(
                FraudSignal(
                    FraudType.INFLATED_INVOICE,
                    trade.id,
                    f"item {item}: invoiced {invoiced}, received {received}{more}",
                    tuple(d.id for d in evidence if d.id not in ctx.copies),
                    _parties(ctx, trade.id),
                )
            )
    return signals


# --------------------------------------------------------------------------- circular trading


@dataclass(frozen=True, slots=True)
class _Leg:
    date: dt.date
    amount: Decimal
    items: frozenset[str]
    trade_id: str


def _legs(ctx: ScanContext) -> dict[tuple[str, str], list[_Leg]]:
    legs: dict[tuple[str, str], list[_Leg]] = defaultdict(list)
    for facts in ctx.facts.values():
        trade = facts.trade
        invoices = ctx.genuine_invoices(trade.id)
        if trade.seller_id == trade.buyer_id or not invoices:
            continue
        items = frozenset(line.item for d in invoices for line in d.lines)
        legs[(trade.seller_id, trade.buyer_id)].append(
            _Leg(facts.date, _total(invoices), items, trade.id)
        )
    return legs


def _near(a: Decimal, b: Decimal) -> bool:
    return abs(a - b) <= max(abs(a), abs(b)) * CYCLE_AMOUNT


def _cycle_legs(edges: Sequence[Sequence[_Leg]]) -> tuple[_Leg, ...] | None:
    """One trade per edge: all within the window of an anchor trade, near its value and
    sharing one of its items; the nearest in value is taken."""
    window = dt.timedelta(days=CYCLE_WINDOW_DAYS)
    for anchor in edges[0]:
        chosen = [anchor]
        items = set(anchor.items)
        for candidates in edges[1:]:
            near = [
                e
                for e in candidates
                if abs(e.date - anchor.date) <= window
                and _near(e.amount, anchor.amount)
                and items & e.items
            ]
            if not near:
                break
            best = min(near, key=lambda e: abs(e.amount - anchor.amount))
            items &= best.items
            chosen.append(best)
        else:
            dates = [e.date for e in chosen]
            if max(dates) - min(dates) <= window and items:
                return tuple(chosen)
    return None


def _leg_order(legs: Sequence[_Leg]) -> Callable[[int], tuple[dt.date, int]]:
    return lambda i: (legs[i].date, i)


def detect_circular_trading(ctx: ScanContext) -> list[FraudSignal]:
    """Cycles in the seller -> buyer graph (networkx ``simple_cycles``, up to 5 firms) whose
    legs are trades within 30 days of each other, of near-equal value (10%), in one item: the
    same goods going round. Each leg is flagged with the whole path."""
    legs = _legs(ctx)
    graph: nx.DiGraph[str] = nx.DiGraph(list(legs))
    signals = []
    for found in nx.simple_cycles(graph, length_bound=CYCLE_MAX_LENGTH):
        pairs = list(zip(found, found[1:] + found[:1], strict=True))
        chosen = _cycle_legs([legs[p] for p in pairs])
        if chosen is None:
            continue
        # Tell the path from the first sale on.
        first = min(range(len(chosen)), key=_leg_order(chosen))
        cycle, chosen = found[first:] + found[:first], chosen[first:] + chosen[:first]
        path = " -> ".join(_name(ctx, o) for o in [*cycle, cycle[0]])
        trade_ids = tuple(e.trade_id for e in chosen)
        days = (max(e.date for e in chosen) - min(e.date for e in chosen)).days
        for leg in chosen:
            signals.append(
                FraudSignal(
                    FraudType.CIRCULAR_TRADING,
                    leg.trade_id,
                    f"the same goods go round {path} within {days} days "
                    f"({', '.join(str(e.amount) for e in chosen)})",
                    tuple(d.id for t in trade_ids for d in ctx.genuine_invoices(t)),
                    tuple(cycle),
                    tuple(t for t in trade_ids if t != leg.trade_id),
                )
            )
    return _one_per_trade(signals)


# --------------------------------------------------------------------------- related parties


def _normal_fact(value: str) -> str:
    return re.sub(r"[\W_]+", "", value.casefold())


def relations(a: Organisation, b: Organisation) -> list[str]:
    """What ties two organisations: a shared address, legal representative, phone or account."""
    ties = []
    for key in RELATING_FACTS:
        va, vb = a.fact(key), b.fact(key)
        if va and vb and _normal_fact(va) == _normal_fact(vb):
            ties.append(f"{key.replace('_', ' ')} {va!r}")
    ties.extend(f"account {acc}" for acc in sorted(set(a.accounts) & set(b.accounts)))
    return ties


def detect_related_parties(ctx: ScanContext) -> list[FraudSignal]:
    """Trades whose seller and buyer share an address, legal representative, phone or account
    (compared after dropping case, spaces and punctuation; industry alone is no tie)."""
    signals = []
    for (seller_id, buyer_id), trade_ids in ctx.relationships.items():
        seller, buyer = ctx.orgs.get(seller_id), ctx.orgs.get(buyer_id)
        if seller is None or buyer is None or seller_id == buyer_id:
            continue
        ties = relations(seller, buyer)
        if not ties:
            continue
        for trade_id in trade_ids:
            signals.append(
                FraudSignal(
                    FraudType.RELATED_PARTIES,
                    trade_id,
                    f"seller {seller.name} and buyer {buyer.name} share {'; '.join(ties)}",
                    tuple(d.id for d in ctx.facts[trade_id].invoices),
                    (seller_id, buyer_id),
                )
            )
    return signals


# --------------------------------------------------------------------------- payments


@dataclass(frozen=True, slots=True)
class _Payment:
    doc: Document
    payer: str | None
    payee: str | None
    trade_id: str | None


def _payment(ctx: ScanContext, doc: Document, trade_id: str | None) -> _Payment:
    payer, payee = ctx.org_of(doc.buyer), ctx.org_of(doc.seller)
    return _Payment(doc, payer.id if payer else None, payee.id if payee else None, trade_id)


def _trade_payments(ctx: ScanContext, trade: Trade) -> list[_Payment]:
    """The trade's payments; one its bank reported rejected or cancelled (pacs.002) moved no
    money and is left out."""
    rejected = rejected_payments(trade.documents)
    return [
        _payment(ctx, d, trade.id) for d in trade.of_kind(*PAYMENT_KINDS) if d.id not in rejected
    ]


def detect_third_party_payers(ctx: ScanContext) -> list[FraudSignal]:
    """Payments to the seller made by another firm than the buyer, or from an account that is
    not one of the buyer's."""
    signals = []
    for facts in ctx.facts.values():
        trade = facts.trade
        buyer = ctx.orgs.get(trade.buyer_id)
        if buyer is None:
            continue
        for p in _trade_payments(ctx, trade):
            if p.payee not in (None, trade.seller_id) or p.payer == trade.buyer_id:
                continue
            account = p.doc.buyer.account
            if p.payer is None and (not account or account in buyer.accounts):
                continue
            who = _name(ctx, p.payer) if p.payer else f"account {account}, held by no member"
            signals.append(
                FraudSignal(
                    FraudType.THIRD_PARTY_PAYER,
                    trade.id,
                    f"{p.doc.kind.value} {p.doc.number} to {_name(ctx, trade.seller_id)} was "
                    f"paid by {who}, not by the buyer {buyer.name}",
                    (p.doc.id,),
                    (trade.buyer_id, trade.seller_id) + ((p.payer,) if p.payer else ()),
                )
            )
            break
    return signals


def detect_round_trips(ctx: ScanContext) -> list[FraudSignal]:
    """Trades whose payment comes back: within 14 days of the buyer's last payment to the
    seller, the seller pays the buyer 80-100% of what was paid (linked to a trade or not).

    Each returning payment is matched to one trade: one it returns within a week and 90% of
    first, then the one whose payment it mirrors most closely in value, then in time. Other
    trades of the relationship it would fit as well are named in the signal.
    """
    paid_in, returns = _payment_flows(ctx)
    window = dt.timedelta(days=ROUND_TRIP_DAYS)
    fits: dict[str, list[tuple[tuple[bool, Decimal, int], str]]] = defaultdict(list)
    for trade_id, payments in paid_in.items():
        trade = ctx.facts[trade_id].trade
        last = max(p.doc.issue_date for p in payments)
        paid = _total(p.doc for p in payments)
        for back in returns.get((trade.seller_id, trade.buyer_id), []):
            amount = _total([back.doc])
            gap = back.doc.issue_date - last
            if dt.timedelta(0) <= gap <= window and paid * ROUND_TRIP_SHARE <= amount <= paid + 1:
                shortfall = (paid - amount) / paid
                core = gap.days <= ROUND_TRIP_CORE_DAYS and shortfall <= 1 - ROUND_TRIP_CORE_SHARE
                fits[back.doc.id].append(((not core, abs(shortfall), gap.days), trade_id))
    documents = {p.doc.id: p.doc for ps in returns.values() for p in ps}
    signals = []
    for back_id, candidates in fits.items():
        candidates.sort()
        trade_id = candidates[0][1]
        others = tuple(t for rank, t in candidates[1:] if not rank[0])
        returned = documents[back_id]
        trade = ctx.facts[trade_id].trade
        also = f" (it would fit trade(s) {', '.join(others)} too)" if others else ""
        signals.append(
            FraudSignal(
                FraudType.ROUND_TRIP_PAYMENT,
                trade_id,
                f"{_name(ctx, trade.buyer_id)} paid {_name(ctx, trade.seller_id)} and got "
                f"{returned.total} back in {returned.kind.value} {returned.number} on "
                f"{returned.issue_date}{also}",
                (*(p.doc.id for p in paid_in[trade_id]), back_id),
                (trade.buyer_id, trade.seller_id),
                others,
            )
        )
    return _one_per_trade(signals)


def _payment_flows(
    ctx: ScanContext,
) -> tuple[dict[str, list[_Payment]], dict[tuple[str, str], list[_Payment]]]:
    """Each trade's payments from its buyer to its seller; every payment by (payer, payee)."""
    by_pair: dict[tuple[str, str], list[_Payment]] = defaultdict(list)
    paid_in: dict[str, list[_Payment]] = {}
    everything = [p for f in ctx.facts.values() for p in _trade_payments(ctx, f.trade)]
    everything += [
        _payment(ctx, d, None) for d in ctx.view.loose_documents if d.kind in PAYMENT_KINDS
    ]
    for p in everything:
        if p.payer is None or p.payee is None:
            continue
        by_pair[(p.payer, p.payee)].append(p)
        if p.trade_id is not None:
            trade = ctx.facts[p.trade_id].trade
            if (p.payer, p.payee) == (trade.buyer_id, trade.seller_id):
                paid_in.setdefault(p.trade_id, []).append(p)
    return paid_in, by_pair


# --------------------------------------------------------------------------- volume spikes


def detect_volume_spikes(ctx: ScanContext) -> list[FraudSignal]:
    """Trades far above their relationship's own history: at least 4x the median of the
    relationship's earlier trades (4 to 24 of them) and 6 scaled MADs above it."""
    signals = []
    for (seller_id, buyer_id), trade_ids in ctx.relationships.items():
        values = [ctx.facts[t].value for t in trade_ids]
        for i in range(SPIKE_MIN_HISTORY, len(trade_ids)):
            history = values[max(0, i - SPIKE_LOOKBACK) : i]
            value = values[i]
            median = statistics.median(history)
            if median <= 0 or value < median * SPIKE_RATIO:
                continue
            spread = MAD_SCALE * statistics.median(abs(v - median) for v in history)
            if spread > 0 and (value - median) / spread < Decimal(SPIKE_ROBUST_Z):
                continue
            facts = ctx.facts[trade_ids[i]]
            signals.append(
                FraudSignal(
                    FraudType.VOLUME_SPIKE,
                    facts.trade.id,
                    f"{value} {facts.currency or ''} is {value / median:.1f}x the median "
                    f"{median} of the {len(history)} earlier trades between "
                    f"{_name(ctx, seller_id)} and {_name(ctx, buyer_id)}",
                    tuple(d.id for d in facts.invoices),
                    (seller_id, buyer_id),
                )
            )
    return signals


def detect_self_asserted(ctx: ScanContext) -> list[FraudSignal]:
    """Trades whose counterparty evidence (the buyer's order and receipt, the carrier's events,
    the bank's statements) was all sent by the seller's side: nobody who would know said so."""
    orgs = Orgs(ctx.orgs)
    signals = []
    for facts in ctx.facts.values():
        trade = facts.trade
        found = assess(trade, orgs, ctx.view.mandates)
        if not found.self_asserted:
            continue
        docs = found.counterparty_unattested
        signals.append(
            FraudSignal(
                FraudType.SELF_ASSERTED_EVIDENCE,
                trade.id,
                f"{_name(ctx, trade.seller_id)} sent its counterparties' evidence itself: "
                + "; ".join(u.words() for u in docs),
                tuple(u.document.id for u in docs),
                (trade.seller_id, trade.buyer_id),
            )
        )
    return signals


FRAUD_DETECTORS: tuple[Detector, ...] = (
    detect_duplicate_invoices,
    detect_near_duplicates,
    detect_phantom_trades,
    detect_inflated_invoices,
    detect_circular_trading,
    detect_related_parties,
    detect_third_party_payers,
    detect_round_trips,
    detect_volume_spikes,
    detect_self_asserted,
)


def scan(
    view: PlatformView, detectors: tuple[Detector, ...] = FRAUD_DETECTORS
) -> list[FraudSignal]:
    """Run every detector over the platform; signals in detector order."""
    ctx = scan_context(view)
    return [signal for detector in detectors for signal in detector(ctx)]


def codes_by_trade(
    signals: Iterable[FraudSignal], trade_ids: Iterable[str] = ()
) -> dict[str, list[str]]:
    """Trade id -> the sorted fraud codes signalled for it (every id of ``trade_ids`` present)."""
    codes: dict[str, set[str]] = {t: set() for t in trade_ids}
    for signal in signals:
        codes.setdefault(signal.trade_id, set()).add(signal.fraud.value)
    return {t: sorted(c) for t, c in codes.items()}
