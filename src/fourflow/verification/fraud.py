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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import networkx as nx

from fourflow.domain.documents import Document, DocumentKind, Flow
from fourflow.domain.fraud import FraudType
from fourflow.domain.parties import Organisation, PartyRef, Role
from fourflow.domain.trades import Trade

# Near-duplicates: how close two invoices of one relationship must be.
NEAR_DUPLICATE_DAYS = 7  # issue dates at most this many days apart
NEAR_DUPLICATE_AMOUNT = Decimal("0.02")  # totals within 2% of the larger
NEAR_DUPLICATE_EDITS = 2  # invoice numbers at most 2 edits apart (after normalising)
# Goods evidence covers invoiced quantities within this tolerance (as the basic rules).
COVER_TOLERANCE = Decimal("0.02")
# Circular trading: cycles of at most this many firms, all within this many days.
CYCLE_MAX_LENGTH = 5
CYCLE_WINDOW_DAYS = 30
# Round trips: money back to the payer within this many days, within this share of the amount.
ROUND_TRIP_DAYS = 30
ROUND_TRIP_AMOUNT = Decimal("0.10")
# Volume spikes: robust z-score over the relationship's own history.
SPIKE_MIN_HISTORY = 5  # other trades of the relationship needed before judging
SPIKE_RATIO = Decimal(3)  # at least 3x the relationship's median
SPIKE_ROBUST_Z = 6.0  # and at least 6 scaled MADs above it
MAD_SCALE = 1.4826  # MAD -> standard deviation for normal data

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
        as_of: the scan date (documents after it are ignored by the time-based detectors).
        presented_elsewhere: ids of invoices whose salted business-key fingerprint another
            consortium member registered on the chain first (the cross-bank duplicate check).
    """

    trades: tuple[Trade, ...]
    organisations: tuple[Organisation, ...]
    as_of: dt.date
    presented_elsewhere: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class TradeFacts:
    """What the detectors use of one trade, computed once.

    Attributes:
        trade: the trade.
        date: its first invoice's date, else its earliest document's.
        amount: invoiced total (else the order's total), in the trade's currency.
        currency: the trade's currency, if any document states one.
        invoices: its invoices.
    """

    trade: Trade
    date: dt.date
    amount: Decimal
    currency: str | None
    invoices: tuple[Document, ...]


@dataclass(frozen=True, slots=True)
class ScanContext:
    """A ``PlatformView`` with the indexes every detector needs, built once by ``scan_context``.

    Attributes:
        view: the platform view.
        orgs: organisations by id.
        by_key: organisations by every ``scheme:value`` key they are known by.
        by_account: organisation ids by bank account.
        facts: per-trade facts by trade id, in the view's order.
        relationships: trade ids by (seller id, buyer id), oldest first.
    """

    view: PlatformView
    orgs: Mapping[str, Organisation]
    by_key: Mapping[str, Organisation]
    by_account: Mapping[str, str]
    facts: Mapping[str, TradeFacts]
    relationships: Mapping[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)

    def org_of(self, party: PartyRef) -> Organisation | None:
        """The member a document's party refers to, if recognised."""
        for key in sorted(party.keys()):
            org = self.by_key.get(key)
            if org is not None:
                return org
        return None


Detector = Callable[[ScanContext], list[FraudSignal]]


def _trade_facts(trade: Trade) -> TradeFacts:
    invoices = trade.of_kind(DocumentKind.INVOICE)
    dated = invoices or trade.documents
    date = min((d.issue_date for d in dated), default=dt.date.min)
    currency = next((d.currency for d in invoices + trade.documents if d.currency), None)
    billed = invoices or trade.of_kind(DocumentKind.ORDER, DocumentKind.CONTRACT)
    amount = sum((d.total.amount for d in billed if d.total is not None), Decimal(0))
    return TradeFacts(trade, date, amount, currency, invoices)


def scan_context(view: PlatformView) -> ScanContext:
    """Index the view: organisations by id, key and account; trade facts; relationships."""
    orgs = {o.id: o for o in view.organisations}
    by_key = {k: o for o in view.organisations for k in o.known_as()}
    by_account = {a: o.id for o in view.organisations for a in o.accounts}
    facts = {t.id: _trade_facts(t) for t in view.trades}
    relationships: dict[tuple[str, str], list[str]] = defaultdict(list)
    for f in sorted(facts.values(), key=lambda f: (f.date, f.trade.id)):
        relationships[(f.trade.seller_id, f.trade.buyer_id)].append(f.trade.id)
    return ScanContext(
        view, orgs, by_key, by_account, facts, {k: tuple(v) for k, v in relationships.items()}
    )


def _name(ctx: ScanContext, org_id: str) -> str:
    org = ctx.orgs.get(org_id)
    return org.name if org is not None else org_id


# --------------------------------------------------------------------------- duplicates


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


def detect_duplicate_invoices(ctx: ScanContext) -> list[FraudSignal]:
    """The same invoice (same parties, number, date and total, any format) presented twice.

    Every trade holding a copy is flagged, naming the copies; an invoice another member
    registered on the chain first (``presented_elsewhere``) is flagged on its own.
    """
    copies: dict[tuple[str, ...], list[tuple[str, Document]]] = defaultdict(list)
    for facts in ctx.facts.values():
        for doc in facts.invoices:
            key = _invoice_key(ctx, facts.trade, doc)
            if key is not None:
                copies[key].append((facts.trade.id, doc))
    signals: list[FraudSignal] = []
    flagged: set[str] = set()
    for group in copies.values():
        if len(group) < 2:
            continue
        trade_ids = tuple(dict.fromkeys(t for t, _ in group))
        doc_ids = tuple(d.id for _, d in group)
        formats = sorted({d.source_format for _, d in group})
        number = group[0][1].number
        for trade_id in trade_ids:
            flagged.add(trade_id)
            others = tuple(t for t in trade_ids if t != trade_id)
            where = f"in trade(s) {', '.join(others)}" if others else "within this trade"
            signals.append(
                FraudSignal(
                    FraudType.DUPLICATE_INVOICE,
                    trade_id,
                    f"invoice {number} is presented {len(group)} times ({', '.join(formats)}) "
                    f"{where}",
                    doc_ids,
                    (ctx.facts[trade_id].trade.seller_id, ctx.facts[trade_id].trade.buyer_id),
                    others,
                )
            )
    for facts in ctx.facts.values():
        elsewhere = [d for d in facts.invoices if d.id in ctx.view.presented_elsewhere]
        if elsewhere and facts.trade.id not in flagged:
            signals.append(
                FraudSignal(
                    FraudType.DUPLICATE_INVOICE,
                    facts.trade.id,
                    f"invoice {elsewhere[0].number} was presented before by another consortium "
                    "member (its salted fingerprint is on the chain)",
                    tuple(d.id for d in elsewhere),
                    (facts.trade.seller_id, facts.trade.buyer_id),
                )
            )
    return signals


_NON_ALNUM = re.compile(r"[^0-9A-Z]")


def _normal_number(number: str) -> str:
    return _NON_ALNUM.sub("", number.upper())


def edit_distance(a: str, b: str, bound: int) -> int:
    """Levenshtein distance of ``a`` and ``b`` (with adjacent transpositions), capped at
    ``bound + 1``."""
    if abs(len(a) - len(b)) > bound:
        return bound + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > bound:
            return bound + 1
        previous2, previous = previous, current
    return min(previous[-1], bound + 1)


# --------------------------------------------------------------------------- goods evidence


def _quantities(docs: Iterable[Document]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for doc in docs:
        for line in doc.lines:
            totals[line.item] += line.quantity
    return totals


def received_quantities(trade: Trade) -> dict[str, Decimal]:
    """Per item, what the buyer received (receipts, else what was despatched)."""
    receipts = trade.of_kind(DocumentKind.RECEIPT_ADVICE, DocumentKind.WAREHOUSE_RECEIPT)
    if receipts:
        return _quantities(receipts)
    return _quantities(trade.of_kind(DocumentKind.DESPATCH_ADVICE, DocumentKind.BILL_OF_LADING))


def net_invoiced_quantities(trade: Trade) -> dict[str, Decimal]:
    """Per item, invoiced less credited."""
    invoiced = _quantities(trade.of_kind(DocumentKind.INVOICE))
    for item, qty in _quantities(trade.of_kind(DocumentKind.CREDIT_NOTE)).items():
        invoiced[item] = invoiced.get(item, Decimal(0)) - qty
    return invoiced


def _excess(trade: Trade) -> dict[str, tuple[Decimal, Decimal]]:
    """Items invoiced beyond what was received (beyond tolerance): item -> (invoiced, received)."""
    received = received_quantities(trade)
    return {
        item: (qty, received.get(item, Decimal(0)))
        for item, qty in net_invoiced_quantities(trade).items()
        if qty > received.get(item, Decimal(0)) * (1 + COVER_TOLERANCE)
    }


def _has_logistics(trade: Trade) -> bool:
    return any(d.kind in LOGISTICS_KINDS for d in trade.documents)


# --------------------------------------------------------------------------- near-duplicates


def _close_amounts(a: Decimal, b: Decimal) -> bool:
    biggest = max(abs(a), abs(b))
    return biggest > 0 and abs(a - b) <= biggest * NEAR_DUPLICATE_AMOUNT


def _alteration(a: Document, b: Document) -> str | None:
    """How ``b`` looks like ``a`` altered slightly, or None when it does not.

    Two of number, date and amount must be equal and the third close; all three equal is a
    duplicate, not a near-duplicate.
    """
    if a.total is None or b.total is None or a.total.currency != b.total.currency:
        return None
    na, nb = _normal_number(a.number), _normal_number(b.number)
    same_number, same_date = na == nb, a.issue_date == b.issue_date
    same_amount = a.total.amount == b.total.amount
    close_number = edit_distance(na, nb, NEAR_DUPLICATE_EDITS) <= NEAR_DUPLICATE_EDITS
    close_date = abs((a.issue_date - b.issue_date).days) <= NEAR_DUPLICATE_DAYS
    close_amount = _close_amounts(a.total.amount, b.total.amount)
    if same_number and same_date and not same_amount and close_amount:
        return f"same number and date, amount {a.total.amount} -> {b.total.amount}"
    if same_number and same_amount and not same_date and close_date:
        return f"same number and amount, date {a.issue_date} -> {b.issue_date}"
    if same_date and same_amount and not same_number and close_number:
        return f"same date and amount, number {a.number} -> {b.number}"
    return None


def _backed(ctx: ScanContext, a: tuple[str, Document], b: tuple[str, Document]) -> bool:
    """True when goods evidence stands behind both invoices (split invoices, partial deliveries).

    In one trade: what was received covers everything invoiced. In two trades: each trade has
    its own logistics evidence and is not invoiced beyond it.
    """
    trades = {a[0], b[0]}
    return all(
        _has_logistics(ctx.facts[t].trade) and not _excess(ctx.facts[t].trade) for t in trades
    )


def detect_near_duplicates(ctx: ScanContext) -> list[FraudSignal]:
    """Invoices of one relationship that differ only by a slightly altered number, date or
    amount, when goods evidence does not stand behind both.

    Split invoices and partial deliveries look alike but are covered by what was received,
    so they are not flagged. Both trades of a pair are flagged.
    """
    signals: list[FraudSignal] = []
    window = dt.timedelta(days=NEAR_DUPLICATE_DAYS)
    for trade_ids in ctx.relationships.values():
        invoices = sorted(
            ((t, d) for t in trade_ids for d in ctx.facts[t].invoices if d.total is not None),
            key=lambda td: (td[1].issue_date, td[1].id),
        )
        for i, (ta, a) in enumerate(invoices):
            for tb, b in invoices[i + 1 :]:
                if b.issue_date - a.issue_date > window:
                    break
                how = _alteration(a, b)
                if how is None or _backed(ctx, (ta, a), (tb, b)):
                    continue
                for mine, other in ((ta, tb), (tb, ta)):
                    related = () if mine == other else (other,)
                    signals.append(
                        FraudSignal(
                            FraudType.NEAR_DUPLICATE_INVOICE,
                            mine,
                            f"invoices {a.number} and {b.number} differ only slightly ({how}) "
                            "and the goods received do not stand behind both",
                            (a.id, b.id),
                            (ctx.facts[ta].trade.seller_id, ctx.facts[ta].trade.buyer_id),
                            related,
                        )
                    )
    return _one_per_trade(signals)


def _one_per_trade(signals: list[FraudSignal]) -> list[FraudSignal]:
    seen: set[tuple[FraudType, str]] = set()
    unique = []
    for s in signals:
        if (s.fraud, s.trade_id) not in seen:
            seen.add((s.fraud, s.trade_id))
            unique.append(s)
    return unique


# --------------------------------------------------------------------------- phantom, inflated


def _acts_for(org: Organisation | None, member_id: str) -> bool:
    return org is not None and (
        org.id == member_id or org.has_role(Role.LOGISTICS) or org.has_role(Role.WAREHOUSE)
    )


def detect_phantom_trades(ctx: ScanContext) -> list[FraudSignal]:
    """Invoiced trades with no logistics evidence, or with evidence from an unrelated party.

    Logistics documents must be issued by the seller (or a logistics or warehouse member) and
    name the trade's buyer as the receiving party.
    """
    signals = []
    for facts in ctx.facts.values():
        trade = facts.trade
        if not facts.invoices:
            continue
        logistics = [d for d in trade.documents if d.kind in LOGISTICS_KINDS]
        parties = (trade.seller_id, trade.buyer_id)
        if not logistics:
            signals.append(
                FraudSignal(
                    FraudType.PHANTOM_TRADE,
                    trade.id,
                    f"invoiced {facts.amount} {facts.currency or ''} with no despatch, transport "
                    "or receipt document".replace("  ", " "),
                    tuple(d.id for d in facts.invoices),
                    parties,
                )
            )
            continue
        foreign = []
        for doc in logistics:
            issuer, receiver = ctx.org_of(doc.seller), ctx.org_of(doc.buyer)
            if (
                not _acts_for(issuer, trade.seller_id)
                or receiver is None
                or (receiver.id != trade.buyer_id and not _acts_for(receiver, trade.buyer_id))
            ):
                foreign.append((doc, issuer, receiver))
        if foreign and len(foreign) == len(logistics):
            doc, issuer, receiver = foreign[0]
            signals.append(
                FraudSignal(
                    FraudType.PHANTOM_TRADE,
                    trade.id,
                    f"the logistics evidence is between unrelated parties: {doc.kind.value} "
                    f"{doc.number} is from {issuer.name if issuer else doc.seller.name} to "
                    f"{receiver.name if receiver else doc.buyer.name}",
                    tuple(d.id for d, _, _ in foreign),
                    parties + tuple(o.id for _, a, b in foreign for o in (a, b) if o),
                )
            )
    return signals


def detect_inflated_invoices(ctx: ScanContext) -> list[FraudSignal]:
    """Trades invoiced beyond what was received (net of credit notes, beyond 2%)."""
    signals = []
    for facts in ctx.facts.values():
        trade = facts.trade
        if not facts.invoices or not _has_logistics(trade):
            continue
        excess = _excess(trade)
        if excess:
            item, (invoiced, received) = sorted(excess.items())[0]
            evidence = trade.of_kind(
                DocumentKind.INVOICE,
                DocumentKind.CREDIT_NOTE,
                DocumentKind.RECEIPT_ADVICE,
                DocumentKind.DESPATCH_ADVICE,
            )
            signals.append(
                FraudSignal(
                    FraudType.INFLATED_INVOICE,
                    trade.id,
                    f"item {item}: invoiced {invoiced}, received {received}"
                    + (f" (and {len(excess) - 1} more item(s))" if len(excess) > 1 else ""),
                    tuple(d.id for d in evidence),
                    (trade.seller_id, trade.buyer_id),
                )
            )
    return signals


# --------------------------------------------------------------------------- circular trading


@dataclass(frozen=True, slots=True)
class _Edge:
    date: dt.date
    amount: Decimal
    trade_id: str


def _cycle_trades(edges: Sequence[Sequence[_Edge]]) -> tuple[_Edge, ...] | None:
    """One trade per edge of a cycle, all within the window, chosen around each anchor trade."""
    window = dt.timedelta(days=CYCLE_WINDOW_DAYS)
    for anchor in edges[0]:
        chosen = [anchor]
        for candidates in edges[1:]:
            near = [e for e in candidates if abs(e.date - anchor.date) <= window]
            if not near:
                break
            chosen.append(min(near, key=lambda e: abs(e.date - anchor.date)))
        else:
            dates = [e.date for e in chosen]
            if max(dates) - min(dates) <= window:
                return tuple(chosen)
    return None


def detect_circular_trading(ctx: ScanContext) -> list[FraudSignal]:
    """Cycles in the seller -> buyer graph (networkx) whose trades all fall within 30 days.

    Each trade on such a cycle is flagged with the whole path.
    """
    graph: nx.DiGraph[str] = nx.DiGraph()
    edges: dict[tuple[str, str], list[_Edge]] = defaultdict(list)
    for facts in ctx.facts.values():
        trade = facts.trade
        if trade.seller_id == trade.buyer_id or facts.date > ctx.view.as_of:
            continue
        edges[(trade.seller_id, trade.buyer_id)].append(_Edge(facts.date, facts.amount, trade.id))
    graph.add_edges_from(edges)
    signals = []
    for cycle in nx.simple_cycles(graph, length_bound=CYCLE_MAX_LENGTH):
        pairs = list(zip(cycle, cycle[1:] + cycle[:1], strict=True))
        chosen = _cycle_trades([edges[p] for p in pairs])
        if chosen is None:
            continue
        path = " -> ".join(_name(ctx, o) for o in [*cycle, cycle[0]])
        trade_ids = tuple(e.trade_id for e in chosen)
        days = (max(e.date for e in chosen) - min(e.date for e in chosen)).days
        for edge in chosen:
            signals.append(
                FraudSignal(
                    FraudType.CIRCULAR_TRADING,
                    edge.trade_id,
                    f"sales go round {path} within {days} days",
                    tuple(d.id for t in trade_ids for d in ctx.facts[t].invoices),
                    tuple(cycle),
                    tuple(t for t in trade_ids if t != edge.trade_id),
                )
            )
    return _one_per_trade(signals)


# --------------------------------------------------------------------------- related parties


def _normal_fact(value: str) -> str:
    return re.sub(r"[\W_]+", "", value.casefold())


def relations(a: Organisation, b: Organisation) -> list[str]:
    """What ties two organisations: shared address, legal representative, phone or account."""
    ties = []
    for key in RELATING_FACTS:
        va, vb = a.fact(key), b.fact(key)
        if va and vb and _normal_fact(va) == _normal_fact(vb):
            ties.append(f"{key.replace('_', ' ')} {va!r}")
    shared = sorted(set(a.accounts) & set(b.accounts))
    ties.extend(f"account {acc}" for acc in shared)
    return ties


def detect_related_parties(ctx: ScanContext) -> list[FraudSignal]:
    """Trades whose seller and buyer share an address, legal representative, phone or account."""
    ties_of: dict[tuple[str, str], list[str]] = {}
    signals = []
    for (seller_id, buyer_id), trade_ids in ctx.relationships.items():
        seller, buyer = ctx.orgs.get(seller_id), ctx.orgs.get(buyer_id)
        if seller is None or buyer is None or seller_id == buyer_id:
            continue
        ties = ties_of.setdefault((seller_id, buyer_id), relations(seller, buyer))
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


def _payments(trade: Trade) -> tuple[Document, ...]:
    return trade.of_kind(*PAYMENT_KINDS)


def _payer_account_owner(ctx: ScanContext, doc: Document) -> str | None:
    account = doc.buyer.account
    return ctx.by_account.get(account) if account else None


def detect_third_party_payers(ctx: ScanContext) -> list[FraudSignal]:
    """Payments made from an account that is not one of the buyer's registered accounts."""
    signals = []
    for facts in ctx.facts.values():
        trade = facts.trade
        buyer = ctx.orgs.get(trade.buyer_id)
        if buyer is None:
            continue
        for doc in _payments(trade):
            account = doc.buyer.account
            if not account or account in buyer.accounts:
                continue
            owner = _payer_account_owner(ctx, doc)
            who = _name(ctx, owner) if owner else "an account no member holds"
            signals.append(
                FraudSignal(
                    FraudType.THIRD_PARTY_PAYER,
                    trade.id,
                    f"{doc.kind.value} {doc.number} was paid from {account} ({who}), not from "
                    f"an account of the buyer {buyer.name}",
                    (doc.id,),
                    (trade.buyer_id,) + ((owner,) if owner else ()),
                )
            )
            break
    return signals


def detect_round_trips(ctx: ScanContext) -> list[FraudSignal]:
    """Payments whose money comes back to the payer: paid into an account of the payer, or
    followed within 30 days by a payment of about the same amount (10%) from the payee back to
    the payer."""
    signals = []
    outgoing: dict[tuple[str, str], list[tuple[Document, str]]] = defaultdict(list)
    for facts in ctx.facts.values():
        for doc in _payments(facts.trade):
            payer, payee = ctx.org_of(doc.buyer), ctx.org_of(doc.seller)
            if payer is not None and payee is not None:
                outgoing[(payer.id, payee.id)].append((doc, facts.trade.id))
    window = dt.timedelta(days=ROUND_TRIP_DAYS)
    for facts in ctx.facts.values():
        trade = facts.trade
        for doc in _payments(trade):
            if doc.total is None:
                continue
            payee_owner = ctx.by_account.get(doc.seller.account or "")
            if payee_owner is not None and payee_owner == trade.buyer_id:
                signals.append(
                    FraudSignal(
                        FraudType.ROUND_TRIP_PAYMENT,
                        trade.id,
                        f"{doc.kind.value} {doc.number} was paid into {doc.seller.account}, an "
                        f"account of the payer {_name(ctx, trade.buyer_id)}",
                        (doc.id,),
                        (trade.buyer_id, trade.seller_id),
                    )
                )
                break
            back = [
                (b, t)
                for b, t in outgoing.get((trade.seller_id, trade.buyer_id), [])
                if b.total is not None
                and b.total.currency == doc.total.currency
                and timedelta_between(doc.issue_date, b.issue_date, window)
                and abs(b.total.amount - doc.total.amount) <= doc.total.amount * ROUND_TRIP_AMOUNT
            ]
            if back:
                returned, other = back[0]
                signals.append(
                    FraudSignal(
                        FraudType.ROUND_TRIP_PAYMENT,
                        trade.id,
                        f"{doc.kind.value} {doc.number} of {doc.total} to "
                        f"{_name(ctx, trade.seller_id)} came back: {returned.number} of "
                        f"{returned.total} on {returned.issue_date}",
                        (doc.id, returned.id),
                        (trade.buyer_id, trade.seller_id),
                        (other,) if other != trade.id else (),
                    )
                )
                break
    return signals


def timedelta_between(first: dt.date, then: dt.date, window: dt.timedelta) -> bool:
    """True when ``then`` is on or after ``first`` and at most ``window`` later."""
    return dt.timedelta(0) <= then - first <= window


# --------------------------------------------------------------------------- volume spikes


def detect_volume_spikes(ctx: ScanContext) -> list[FraudSignal]:
    """Trades far above their relationship's own history (median and MAD, robust to the spike).

    Needs ``SPIKE_MIN_HISTORY`` other trades of the relationship; flags an amount at least
    ``SPIKE_RATIO`` times the median and ``SPIKE_ROBUST_Z`` scaled MADs above it.
    """
    signals = []
    for (seller_id, buyer_id), trade_ids in ctx.relationships.items():
        if len(trade_ids) <= SPIKE_MIN_HISTORY:
            continue
        amounts = [ctx.facts[t].amount for t in trade_ids]
        median = statistics.median(amounts)
        mad = statistics.median(abs(a - median) for a in amounts)
        spread = Decimal(MAD_SCALE) * mad
        for trade_id, amount in zip(trade_ids, amounts, strict=True):
            if median <= 0 or amount < median * SPIKE_RATIO:
                continue
            z = float((amount - median) / spread) if spread > 0 else float("inf")
            if z < SPIKE_ROBUST_Z:
                continue
            facts = ctx.facts[trade_id]
            signals.append(
                FraudSignal(
                    FraudType.VOLUME_SPIKE,
                    trade_id,
                    f"{amount} {facts.currency or ''} is {amount / median:.1f}x the median "
                    f"{median} of {len(trade_ids) - 1} other trades between "
                    f"{_name(ctx, seller_id)} and {_name(ctx, buyer_id)}",
                    tuple(d.id for d in facts.invoices),
                    (seller_id, buyer_id),
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
