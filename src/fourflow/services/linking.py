"""Linking documents into trades: by the references they carry, else by inference.

Documents that reference each other (an invoice naming its order, a payment naming its
invoice ...) form one trade; a new document that references a document already in a trade
joins that trade. A group with an order or contract starts a new trade. A group without one
(a payment, a receipt, an invoice with no usable reference) is scored against the trades of
the same seller and buyer in its date window (``fourflow.verification.linking``) and joins
the one it fits with enough confidence; otherwise an invoice starts a trade of its own and
anything else waits, unlinked, for a later run. The trade's seller and buyer are the parties
of its order, else its invoice.

Work grows with the documents being linked, not with the store: references resolve within the
new documents first, then by one batched number lookup; inference looks only at documents of
the same seller and buyer in a date window.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from fourflow.domain.documents import Document, DocumentKind
from fourflow.domain.parties import PartyRef
from fourflow.domain.scenarios import Scenario
from fourflow.services import status_links
from fourflow.services.common import new_id
from fourflow.services.ports import StoredDocument, TradeRecord, UnitOfWork, UnitOfWorkFactory
from fourflow.verification.linking import (
    ANCHORS,
    BY_REFERENCE_ONLY,
    GOODS_WINDOW_DAYS,
    PAYMENT_KINDS,
    PAYMENT_WINDOW_DAYS,
    choose_trade,
    missing_references,
    reference_components,
)

_PARTY_SOURCES = (
    DocumentKind.ORDER,
    DocumentKind.CONTRACT,
    DocumentKind.INVOICE,
    DocumentKind.ORDER_RESPONSE,
    DocumentKind.DESPATCH_ADVICE,
)
# How far back inference looks for a trade's documents (a payment may come long after the
# order: terms plus the payment window).
_LOOKBACK_DAYS = GOODS_WINDOW_DAYS + PAYMENT_WINDOW_DAYS + 180


@dataclass(frozen=True, slots=True)
class LinkResult:
    """What linking did.

    Attributes:
        created: ids of new trades.
        extended: ids of existing trades that gained documents.
        unlinked: ids of documents left unlinked, with the reason.
        inferred: documents linked without a reference: (document id, trade id, confidence).
    """

    created: tuple[str, ...]
    extended: tuple[str, ...]
    unlinked: tuple[tuple[str, str], ...]
    inferred: tuple[tuple[str, str, float], ...] = ()


@dataclass(slots=True)
class _Run:
    """One linking run's working state: trades touched, their documents, party lookups."""

    uow: UnitOfWork
    records: dict[str, TradeRecord] = field(default_factory=dict)
    documents: dict[str, list[Document]] = field(default_factory=dict)
    added: dict[str, list[str]] = field(default_factory=dict)
    created: list[str] = field(default_factory=list)
    by_pair: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    org_ids: dict[str, str | None] = field(default_factory=dict)

    def org_id(self, party: PartyRef) -> str | None:
        """The onboarded organisation a party reference names (identifiers before accounts)."""
        for key in sorted(party.keys(), key=lambda k: (k.startswith("account:"), k)):
            if key not in self.org_ids:
                org = self.uow.organisations.by_key(key)
                self.org_ids[key] = org.id if org else None
            if self.org_ids[key] is not None:
                return self.org_ids[key]
        return None

    def pair(self, doc: Document) -> tuple[str, str] | None:
        """(seller org id, buyer org id) of a document, when both are onboarded."""
        seller, buyer = self.org_id(doc.seller), self.org_id(doc.buyer)
        return (seller, buyer) if seller and buyer else None

    def load(self, trade_id: str) -> TradeRecord | None:
        """A trade and its documents, read once per run."""
        if trade_id not in self.records:
            record = self.uow.trades.get(trade_id)
            if record is None:
                return None
            self.records[trade_id] = record
            stored = self.uow.documents.get_many(record.document_ids)
            self.documents[trade_id] = [s.document for s in stored]
            self.by_pair.setdefault((record.seller_id, record.buyer_id), set()).add(trade_id)
        return self.records[trade_id]

    def add(self, trade_id: str, docs: Sequence[Document]) -> None:
        """Put documents into a loaded or new trade."""
        self.documents[trade_id].extend(docs)
        self.added.setdefault(trade_id, []).extend(d.id for d in docs)

    def create(self, docs: list[Document], parties: tuple[str, str], scenario: Scenario) -> str:
        """Start a new trade with these documents."""
        docs.sort(key=lambda d: (d.issue_date, d.kind.value, d.number))
        trade_id = new_id("trade")
        self.records[trade_id] = TradeRecord(trade_id, scenario, parties[0], parties[1], ())
        self.documents[trade_id] = []
        self.by_pair.setdefault(parties, set()).add(trade_id)
        self.created.append(trade_id)
        self.add(trade_id, docs)
        return trade_id

    def candidates(self, lead: Document, pair: tuple[str, str]) -> dict[str, list[Document]]:
        """Trades of the same seller and buyer with documents in the lead's date window."""
        since = lead.issue_date - dt.timedelta(days=_LOOKBACK_DAYS)
        until = lead.issue_date + dt.timedelta(days=PAYMENT_WINDOW_DAYS)
        for stored in self.uow.documents.linked_between(lead.seller, lead.buyer, since, until):
            if stored.trade_id is not None:
                self.load(stored.trade_id)
        return {t: self.documents[t] for t in sorted(self.by_pair.get(pair, ()))}


def _resolve_parties(run: _Run, docs: list[Document]) -> tuple[str, str] | None:
    for kind in _PARTY_SOURCES:
        for doc in docs:
            if doc.kind is kind and (pair := run.pair(doc)) is not None:
                return pair
    return None


def _referenced_in_store(
    uow: UnitOfWork, docs: Sequence[Document], batch: set[tuple[DocumentKind, str]]
) -> list[StoredDocument]:
    wanted = [
        (ref.kind, ref.number)
        for doc in docs
        for ref in doc.references
        if (ref.kind, ref.number) not in batch
    ] + status_links.store_lookups(docs)
    return [s for s in uow.documents.by_numbers(wanted) if s.trade_id is not None] if wanted else []


def link_documents(
    *,
    uow_factory: UnitOfWorkFactory,
    default_scenario: Scenario = Scenario.MANUFACTURING,
    in_hand: Sequence[Document] = (),
) -> LinkResult:
    """Link every unlinked document into a new or existing trade, or say why it waits.

    ``in_hand``: documents the caller has just stored (ingest's accepted ones), exactly as
    stored. Those still unlinked are taken from there instead of being read and decoded from
    the store again; any other unlinked document is read. Which documents are unlinked is the
    store's answer either way, so one linked meanwhile by another process is left alone.
    """
    with uow_factory() as uow:
        unlinked_ids = uow.documents.unlinked_ids()
        if not unlinked_ids:
            return LinkResult((), (), ())
        run = _Run(uow)
        new_docs = _unlinked_documents(uow, unlinked_ids, in_hand)
        new_ids = {d.id for d in new_docs}
        in_store = _referenced_in_store(uow, new_docs, {(d.kind, d.number) for d in new_docs})
        trade_of = {s.document.id: s.trade_id for s in in_store}
        everything = new_docs + [s.document for s in in_store if s.document.id not in new_ids]
        pending: list[list[Document]] = []
        for component in reference_components(everything):
            fresh = [d for d in component if d.id in new_ids]
            if not fresh:
                continue
            trade_ids = sorted({t for d in component if (t := trade_of.get(d.id)) is not None})
            if trade_ids and run.load(trade_ids[0]) is not None:
                run.add(trade_ids[0], fresh)
            elif any(d.kind in ANCHORS for d in fresh):
                _start_trade(run, fresh, default_scenario, pending)
            else:
                pending.append(fresh)
        inferred, left = _infer(run, pending, default_scenario)
        extended = _write(run)
        uow.commit()
    return LinkResult(tuple(run.created), extended, tuple(left), tuple(inferred))


def _unlinked_documents(
    uow: UnitOfWork, unlinked_ids: Sequence[str], in_hand: Sequence[Document]
) -> list[Document]:
    """The unlinked documents, oldest first: those in hand as they are, the rest read."""
    held = {d.id: d for d in in_hand}
    missing = [doc_id for doc_id in unlinked_ids if doc_id not in held]
    if missing:
        held.update((s.document.id, s.document) for s in uow.documents.get_many(missing))
    return [held[doc_id] for doc_id in unlinked_ids if doc_id in held]


def _start_trade(
    run: _Run, docs: list[Document], scenario: Scenario, pending: list[list[Document]]
) -> str | None:
    parties = _resolve_parties(run, docs)
    if parties is None:
        pending.append(docs)
        return None
    chosen = next((d.scenario for d in docs if d.scenario), scenario)
    return run.create(docs, parties, chosen)


def _infer(
    run: _Run, pending: list[list[Document]], scenario: Scenario
) -> tuple[list[tuple[str, str, float]], list[tuple[str, str]]]:
    """Place groups without references: the trade they fit, a trade of their own, or none."""
    inferred: list[tuple[str, str, float]] = []
    left: list[tuple[str, str]] = []
    # Oldest first, goods before payments: a later partial delivery or payment sees what the
    # earlier ones already took.
    pending.sort(key=lambda c: (min(d.issue_date for d in c), c[0].kind in PAYMENT_KINDS))
    for component in pending:
        # goods documents lead: a carrier's freight invoice names the carrier, not the seller
        lead = min(
            [d for d in component if d.kind not in BY_REFERENCE_ONLY] or component,
            key=lambda d: (d.issue_date, d.id),
        )
        pair = run.pair(lead)
        reason = "seller or buyer is not an onboarded organisation"
        if pair is not None and not any(d.kind in ANCHORS for d in component):
            candidates = run.candidates(lead, pair)
            if (held := status_links.trade_of(component, candidates)) is not None:
                run.add(held, component)  # by the payment it names: not inferred
                continue
            choice = choose_trade(component, candidates)
            if choice.trade_key is not None and choice.score is not None:
                run.add(choice.trade_key, component)
                inferred.extend(
                    (d.id, choice.trade_key, choice.score.confidence) for d in component
                )
                continue
            reason = choice.reason
        waits = missing_references(component)
        if waits and not any(d.kind in ANCHORS for d in component):
            # it names an order or delivery not on the platform yet: it joins that trade
            # when the document arrives (every run links the unlinked documents again)
            named = ", ".join(f"{k.value.replace('_', ' ')} {n}" for k, n in waits)
            left.extend((d.id, f"waits for {named}") for d in component)
            continue
        if any(d.kind in (DocumentKind.INVOICE, *ANCHORS) for d in component):
            fallback: list[list[Document]] = []
            if _start_trade(run, list(component), scenario, fallback) is not None:
                continue
            reason = "seller or buyer is not an onboarded organisation"
        left.extend((d.id, reason) for d in component)
        status_links.note_unmatched(run.uow, component)
    return inferred, left


def _write(run: _Run) -> tuple[str, ...]:
    """Store new trades and the documents added to existing ones; the extended trade ids."""
    extended: list[str] = []
    created = set(run.created)
    new_trades: list[TradeRecord] = []
    links: dict[str, str] = {}
    for trade_id, doc_ids in run.added.items():
        record = run.records[trade_id]
        record = replace(record, document_ids=record.document_ids + tuple(doc_ids))
        if trade_id in created:
            new_trades.append(record)
        else:
            run.uow.trades.update(record)
            extended.append(trade_id)
        links.update(dict.fromkeys(doc_ids, trade_id))
    # New trades in one statement, every document's link in another (not one per trade).
    run.uow.trades.add_many(new_trades)
    run.uow.documents.set_trades(links)
    return tuple(extended)
