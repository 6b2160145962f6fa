"""In-memory fakes of the service ports, for fast service tests (no database, no chain).

``FakeUnitOfWorkFactory`` keeps one committed store; each ``FakeUnitOfWork`` works on its own
copy of it and publishes that copy on ``commit`` (rollback, or leaving the block, discards it),
so a use case that raises changes nothing, as on the SQL store. The repositories raise
``ConflictError`` and ``NotFoundError`` where the SQL ones do, hide facts whose chain operation
was refused or failed (``_standing``), and journal before-images into an ``UndoJournal`` exactly
as ``adapters.db.repositories`` does, so the relay's compensation runs on them unchanged.

``FakeLedger`` applies operations by recording them (idempotently by op id), refuses the kinds
it is told to refuse with ``ChainRejectedError``, signs deterministic confirmations, and answers
the reads the services make (``fingerprint``, ``receipt``). ``FixedClock`` and ``FakeKeyStore``
complete the ports.
"""

from __future__ import annotations

import builtins
import dataclasses
import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any, Self, TypeVar

from eth_utils.address import to_checksum_address

from fourflow.domain.consents import Consent, DataPrice, DataUsage
from fourflow.domain.debt import DebtItem, Holding
from fourflow.domain.documents import Document, DocumentKind
from fourflow.domain.errors import ConflictError, DomainValueError, NotFoundError
from fourflow.domain.facts import (
    CancelApproval,
    DefaultMark,
    DilutionEvent,
    DisputeAction,
    DisputeEvent,
    DocumentFinding,
    GoodsPrice,
    InvoicePresentation,
    PolicyVersion,
    ReportAnchor,
)
from fourflow.domain.financing import Financing, FinancingStatus, GoodsFinancing
from fourflow.domain.identifiers import IdScheme
from fourflow.domain.mandates import Mandate, SignalClearance
from fourflow.domain.parties import Organisation, PartyRef
from fourflow.domain.receipts import (
    GoodsRelease,
    PledgeAction,
    ReceiptPledge,
    ReceiptSale,
    SaleEvent,
    WarehouseReceipt,
)
from fourflow.domain.settlement import Notice, RouteEvent
from fourflow.domain.transfers import InvoicePaidByTransfer
from fourflow.services import commands as cmd
from fourflow.services.ports import (
    Batch,
    ChainInfo,
    ChainOp,
    ChainReceipt,
    ChainRejectedError,
    ModelRecord,
    OpKind,
    OpStatus,
    Outstanding,
    Repayment,
    RiskAlert,
    StoredDocument,
    StoredFacts,
    TradePair,
    TradeQuery,
    TradeRecord,
    UnitOfWork,
)
from fourflow.services.undo import UndoJournal

R = TypeVar("R")
_ACTIVE_FINANCING = (FinancingStatus.APPROVED, FinancingStatus.ACTIVE)


# --------------------------------------------------------------------------- the store


@dataclass(slots=True)
class _Store:
    """Every table of the store: dicts keep insertion order, which is the store's ``seq``.

    Records are frozen dataclasses, so a copy of the containers is a copy of the store.
    """

    orgs: dict[str, Organisation] = field(default_factory=dict)
    documents: dict[str, StoredDocument] = field(default_factory=dict)
    proofs: dict[str, str] = field(default_factory=dict)
    trades: dict[str, TradeRecord] = field(default_factory=dict)
    trade_facts: dict[str, StoredFacts] = field(default_factory=dict)
    items: dict[str, DebtItem] = field(default_factory=dict)
    holdings: dict[str, Holding] = field(default_factory=dict)
    financings: dict[str, Financing] = field(default_factory=dict)
    goods_financings: dict[str, GoodsFinancing] = field(default_factory=dict)
    repayments: dict[str, Repayment] = field(default_factory=dict)
    batches: dict[str, Batch] = field(default_factory=dict)
    outbox: dict[str, ChainOp] = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)
    models: dict[str, ModelRecord] = field(default_factory=dict)
    alerts: list[RiskAlert] = field(default_factory=list)
    disputes: list[DisputeEvent] = field(default_factory=list)
    dilutions: list[DilutionEvent] = field(default_factory=list)
    cancel_approvals: list[CancelApproval] = field(default_factory=list)
    default_marks: list[DefaultMark] = field(default_factory=list)
    route_events: list[RouteEvent] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    receipts: dict[str, WarehouseReceipt] = field(default_factory=dict)
    receipt_pledges: list[ReceiptPledge] = field(default_factory=list)
    sales: dict[str, ReceiptSale] = field(default_factory=dict)
    sale_events: list[SaleEvent] = field(default_factory=list)
    releases: list[GoodsRelease] = field(default_factory=list)
    prices: list[GoodsPrice] = field(default_factory=list)
    policies: list[PolicyVersion] = field(default_factory=list)
    report_anchors: dict[str, ReportAnchor] = field(default_factory=dict)
    presentations: list[InvoicePresentation] = field(default_factory=list)
    resubmissions: dict[str, int] = field(default_factory=dict)
    mandates: list[Mandate] = field(default_factory=list)
    clearances: list[SignalClearance] = field(default_factory=list)
    transfer_payments: list[InvoicePaidByTransfer] = field(default_factory=list)
    document_findings: list[DocumentFinding] = field(default_factory=list)
    consents: dict[str, Consent] = field(default_factory=dict)
    data_prices: dict[tuple[str, str], DataPrice] = field(default_factory=dict)
    data_usage: list[DataUsage] = field(default_factory=list)
    seq: int = 0

    def copy(self) -> _Store:
        """A copy of every container (the records themselves are immutable)."""
        values: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            values[f.name] = value.copy() if isinstance(value, dict | list) else value
        return _Store(**values)

    def next_seq(self) -> int:
        """The store's next sequence number."""
        self.seq += 1
        return self.seq

    def unapplied_ops(self) -> set[str]:
        """Ids of operations the chain refused or failed for good."""
        return {op_id for op_id, op in self.outbox.items() if op.status.unapplied}


class _Repo:
    """A repository over the unit of work's working copy of the store."""

    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow

    @property
    def _s(self) -> _Store:
        return self._uow.store


def _standing(store: _Store, rows: Sequence[R], op_id: Callable[[R], str]) -> list[R]:
    """The rows whose chain operation the chain has not refused (as the SQL ``_standing``)."""
    gone = store.unapplied_ops()
    return [r for r in rows if op_id(r) not in gone]


# --------------------------------------------------------------------------- organisations


class FakeOrganisations(_Repo):
    """``ports.Organisations``: a key another member holds is a ConflictError."""

    def add(self, org: Organisation) -> None:
        if org.id in self._s.orgs:
            raise ConflictError(f"organisation {org.id} already exists")
        self._claim(org)
        self._s.orgs[org.id] = org

    def update(self, org: Organisation) -> None:
        if org.id not in self._s.orgs:
            raise NotFoundError(f"organisation {org.id} does not exist")
        self._claim(org)
        self._s.orgs[org.id] = org

    def _claim(self, org: Organisation) -> None:
        for other in self._s.orgs.values():
            if other.id == org.id:
                continue
            if other.uscc == org.uscc:
                raise ConflictError(
                    f"organisation {org.id}: USCC {org.uscc} is already registered to {other.id}"
                )
            clash = sorted(org.known_as() & other.known_as())
            if clash:
                raise ConflictError(
                    f"organisation {org.id}: {clash[0]} already identifies {other.id}"
                )

    def get(self, org_id: str) -> Organisation | None:
        return self._s.orgs.get(org_id)

    def get_many(self, org_ids: Sequence[str]) -> dict[str, Organisation]:
        return {i: self._s.orgs[i] for i in org_ids if i in self._s.orgs}

    def by_uscc(self, uscc: str) -> Organisation | None:
        return next((o for o in self._s.orgs.values() if o.uscc == uscc), None)

    def by_key(self, key: str) -> Organisation | None:
        return next((o for o in self._s.orgs.values() if key in o.known_as()), None)

    def list(self) -> builtins.list[Organisation]:
        return list(self._s.orgs.values())


# --------------------------------------------------------------------------- documents


def _party_key(party: PartyRef) -> str | None:
    """The key a party reference is best known by (as the SQL store keys documents)."""
    uscc = party.uscc()
    if uscc is not None:
        return f"{IdScheme.USCC.value}:{uscc}"
    keys = sorted(party.keys())
    return keys[0] if keys else None


class FakeDocuments(_Repo):
    """``ports.Documents``: a fingerprint stored twice is a ConflictError."""

    def add(self, stored: StoredDocument) -> None:
        self.add_many([stored])

    def add_many(self, stored: Sequence[StoredDocument]) -> None:
        known = {s.fingerprint: s.document.id for s in self._s.documents.values()}
        for s in stored:
            if s.document.id in self._s.documents:
                raise ConflictError(f"document {s.document.id} already exists")
            if s.fingerprint in known:
                raise ConflictError(
                    f"document {s.document.id}: fingerprint {s.fingerprint} is already stored "
                    f"as document {known[s.fingerprint]}"
                )
            known[s.fingerprint] = s.document.id
        for s in stored:
            self._s.documents[s.document.id] = s

    def known_fingerprints(self, fingerprints: Sequence[str]) -> dict[str, str]:
        wanted = set(fingerprints)
        return {
            s.fingerprint: s.document.id
            for s in self._s.documents.values()
            if s.fingerprint in wanted
        }

    def get(self, doc_id: str) -> StoredDocument | None:
        return self._s.documents.get(doc_id)

    def by_fingerprint(self, fingerprint: str) -> StoredDocument | None:
        return next((s for s in self._s.documents.values() if s.fingerprint == fingerprint), None)

    def _where(self, keep: Callable[[StoredDocument], bool]) -> builtins.list[StoredDocument]:
        return [s for s in self._s.documents.values() if keep(s)]

    def by_business_key(self, business_key: str) -> builtins.list[StoredDocument]:
        return self._where(lambda s: s.business_key == business_key)

    def by_number(self, kind: DocumentKind, number: str) -> builtins.list[StoredDocument]:
        return self._where(lambda s: s.document.kind is kind and s.document.number == number)

    def unlinked(self) -> builtins.list[StoredDocument]:
        return self._where(lambda s: s.trade_id is None)

    def unlinked_ids(self) -> builtins.list[str]:
        return [s.document.id for s in self.unlinked()]

    def get_many(self, doc_ids: Sequence[str]) -> builtins.list[StoredDocument]:
        wanted = set(doc_ids)
        return self._where(lambda s: s.document.id in wanted)

    def contents_many(self, doc_ids: Sequence[str]) -> builtins.list[Document]:
        return [s.document for s in self.get_many(doc_ids)]

    def by_numbers(self, refs: Sequence[tuple[DocumentKind, str]]) -> builtins.list[StoredDocument]:
        wanted = set(refs)
        return self._where(lambda s: (s.document.kind, s.document.number) in wanted)

    def linked_between(
        self, seller: PartyRef, buyer: PartyRef, since: dt.date, until: dt.date
    ) -> builtins.list[StoredDocument]:
        seller_key, buyer_key = _party_key(seller), _party_key(buyer)
        if seller_key is None or buyer_key is None:
            return []
        return self._where(
            lambda s: (
                _party_key(s.document.seller) == seller_key
                and _party_key(s.document.buyer) == buyer_key
                and since <= s.document.issue_date <= until
                and s.trade_id is not None
            )
        )

    def unanchored(self, limit: int) -> builtins.list[StoredDocument]:
        return self._where(lambda s: s.batch_id is None)[:limit]

    def unanchored_fingerprints(self, limit: int) -> builtins.list[tuple[str, str]]:
        return [(s.document.id, s.fingerprint) for s in self.unanchored(limit)]

    def set_trade(self, doc_ids: Sequence[str], trade_id: str) -> None:
        for doc_id in doc_ids:
            stored = self._s.documents.get(doc_id)
            if stored is not None:
                self._s.documents[doc_id] = replace(stored, trade_id=trade_id)

    def trade_ids(self, doc_ids: Sequence[str]) -> dict[str, str | None]:
        return {d: s.trade_id for d in doc_ids if (s := self._s.documents.get(d)) is not None}

    def set_trades(self, links: Mapping[str, str]) -> None:
        for doc_id, trade_id in links.items():
            self.set_trade([doc_id], trade_id)

    def set_batch(self, doc_ids: Sequence[str], batch_id: str, proofs: Mapping[str, str]) -> None:
        for doc_id in doc_ids:
            stored = self._s.documents.get(doc_id)
            if stored is not None:
                self._s.documents[doc_id] = replace(stored, batch_id=batch_id)
                proof = proofs.get(doc_id)
                if proof is None:
                    self._s.proofs.pop(doc_id, None)
                else:
                    self._s.proofs[doc_id] = proof

    def proof(self, doc_id: str) -> str | None:
        return self._s.proofs.get(doc_id)

    def count(self) -> int:
        return len(self._s.documents)


# --------------------------------------------------------------------------- trades


class FakeTrades(_Repo):
    """``ports.Trades``."""

    def add(self, trade: TradeRecord) -> None:
        if trade.id in self._s.trades:
            raise ConflictError(f"trade {trade.id} already exists")
        self._s.trades[trade.id] = trade

    def add_many(self, trades: Sequence[TradeRecord]) -> None:
        if any(trade.id in self._s.trades for trade in trades):
            raise ConflictError(f"one of {len(trades)} trades already exists")
        for trade in trades:
            self._s.trades[trade.id] = trade

    def update(self, trade: TradeRecord) -> None:
        if trade.id not in self._s.trades:
            raise NotFoundError(f"trade {trade.id} does not exist")
        self._s.trades[trade.id] = trade

    def get(self, trade_id: str) -> TradeRecord | None:
        return self._s.trades.get(trade_id)

    def verdicts(self, trade_ids: Sequence[str] | None = None) -> builtins.list[TradeRecord]:
        wanted = None if trade_ids is None else set(trade_ids)
        return [replace(t, report=None) for t in self._s.trades.values()
                if wanted is None or t.id in wanted]  # fmt: skip

    def verdicts_of(
        self, buyers: Sequence[str], sellers: Sequence[str]
    ) -> builtins.list[TradeRecord]:
        return [replace(t, report=None) for t in self._s.trades.values()
                if t.buyer_id in buyers or t.seller_id in sellers]  # fmt: skip

    def pairs(self) -> builtins.list[TradePair]:
        counted = Counter((t.seller_id, t.buyer_id, t.scenario, t.status)
                          for t in self._s.trades.values())  # fmt: skip
        found = [TradePair(*k, n) for k, n in counted.items()]
        return sorted(found, key=lambda p: (p.seller_id, p.buyer_id, p.scenario.value, p.status))

    def page(self, query: TradeQuery) -> tuple[int, builtins.list[TradeRecord]]:
        def wanted(t: TradeRecord) -> bool:
            q = query
            return (
                (q.involving is None or t.seller_id in q.involving or t.buyer_id in q.involving)
                and (q.between is None or (t.seller_id in q.between and t.buyer_id in q.between))
                and (q.scenarios is None or t.scenario.value in q.scenarios)
                and (q.statuses is None or t.status in q.statuses)
            )

        found = [t for t in reversed(self.verdicts()) if wanted(t)]
        return len(found), found[query.offset : query.offset + query.limit]

    def get_many(self, trade_ids: Sequence[str]) -> builtins.list[TradeRecord]:
        return [self._s.trades[i] for i in dict.fromkeys(trade_ids) if i in self._s.trades]

    def list(self) -> builtins.list[TradeRecord]:
        return list(self._s.trades.values())

    def heads(self) -> builtins.list[TradeRecord]:
        return [replace(t, status="unverified", score=None, report=None, report_hash=None)
                for t in self._s.trades.values()]  # fmt: skip

    def involving(self, org_ids: Sequence[str]) -> builtins.list[TradeRecord]:
        ids = set(org_ids)
        return [t for t in self._s.trades.values() if t.seller_id in ids or t.buyer_id in ids]


# --------------------------------------------------------------------------- debt items


class FakeTradeFacts(_Repo):
    """``ports.TradeFacts``."""

    def get_many(self, trade_ids: Sequence[str]) -> dict[str, StoredFacts]:
        return {i: self._s.trade_facts[i] for i in trade_ids if i in self._s.trade_facts}

    def stamps(self, since: dt.datetime) -> dict[str, dt.datetime]:
        """Every trade, stamped ``since`` (the fakes keep no change times: more, allowed)."""
        return dict.fromkeys(self._s.trades, since)

    def candidates(
        self, trade_ids: Sequence[str] | None
    ) -> builtins.list[tuple[TradeRecord, tuple[str, int] | None]]:
        kept = self._s.trade_facts
        return [
            (replace(t, report=None),
             (kept[t.id].documents_key, kept[t.id].version) if t.id in kept else None)
            for t in self._s.trades.values()
            if trade_ids is None or t.id in trade_ids
        ]  # fmt: skip

    def put_many(self, rows: Sequence[StoredFacts]) -> None:
        self._s.trade_facts.update((r.trade_id, r) for r in rows)


class FakeDebtItems(_Repo):
    """``ports.DebtItems``, each write journalled for undo as ``SqlDebtItems`` does."""

    def __init__(self, uow: FakeUnitOfWork, journal: UndoJournal) -> None:
        super().__init__(uow)
        self._journal = journal

    def add(self, item: DebtItem) -> None:
        self._journal.added_items.append(item.id)
        if item.id in self._s.items or any(
            i.trade_id == item.trade_id for i in self._s.items.values()
        ):
            raise ConflictError(f"debt item {item.id}: the item or its trade's item exists")
        self._s.items[item.id] = item

    def update(self, item: DebtItem) -> None:
        self._journal.item_before(self.get(item.id))
        if item.id not in self._s.items:
            raise NotFoundError(f"debt item {item.id} does not exist")
        self._s.items[item.id] = item

    def get(self, item_id: str) -> DebtItem | None:
        return self._s.items.get(item_id)

    def by_trade(self, trade_id: str) -> DebtItem | None:
        return next((i for i in self._s.items.values() if i.trade_id == trade_id), None)

    def list(self) -> builtins.list[DebtItem]:
        return list(self._s.items.values())

    def get_many(self, item_ids: Sequence[str]) -> builtins.list[DebtItem]:
        wanted = set(item_ids)
        return [i for i in self._s.items.values() if i.id in wanted]

    def add_holding(self, holding: Holding) -> None:
        self._journal.added_holdings.append(holding.id)
        if holding.id in self._s.holdings:
            raise ConflictError(f"holding {holding.id} already exists")
        if holding.item_id not in self._s.items:
            raise ConflictError(f"holding {holding.id}: debt item {holding.item_id} is unknown")
        self._s.holdings[holding.id] = holding

    def update_holding(self, holding: Holding, *, before: Holding | None = None) -> None:
        before = self.get_holding(holding.id)  # the store's own, whatever the caller read
        self._journal.holding_before(before)
        if before is None:
            raise NotFoundError(f"holding {holding.id} does not exist")
        # Its item and creation order stay, as in the SQL store.
        self._s.holdings[holding.id] = replace(holding, item_id=before.item_id)

    def remove(self, item_id: str) -> None:
        for holding_id in [h.id for h in self._s.holdings.values() if h.item_id == item_id]:
            del self._s.holdings[holding_id]
        self._s.items.pop(item_id, None)

    def remove_holding(self, holding_id: str) -> None:
        self._s.holdings.pop(holding_id, None)

    def get_holding(self, holding_id: str) -> Holding | None:
        return self._s.holdings.get(holding_id)

    def get_holdings(self, holding_ids: Sequence[str]) -> dict[str, Holding]:
        return {h: self._s.holdings[h] for h in holding_ids if h in self._s.holdings}

    def lock_holding(self, holding_id: str) -> Holding | None:
        return self.get_holding(holding_id)

    def lock_holdings(self, holding_ids: Sequence[str]) -> dict[str, Holding]:
        found = (self.get_holding(h) for h in sorted(set(holding_ids)))
        return {h.id: h for h in found if h is not None}

    def lock_item(self, item_id: str) -> DebtItem | None:
        return self.get(item_id)

    def holdings(self, item_id: str) -> builtins.list[Holding]:
        return [h for h in self._s.holdings.values() if h.item_id == item_id]

    def holdings_many(self, item_ids: Sequence[str]) -> dict[str, builtins.list[Holding]]:
        found: dict[str, builtins.list[Holding]] = {}
        for h in self._s.holdings.values():
            if h.item_id in set(item_ids):
                found.setdefault(h.item_id, []).append(h)
        return found

    def disputes(self, trade_ids: Sequence[str] | None = None) -> dict[str, builtins.list[dt.date]]:
        """As the SQL store: the dispute records' raised days (``Disputes.raised_days``)."""
        return FakeDisputes(self._uow).raised_days(trade_ids)


# --------------------------------------------------------------------------- financings


class FakeFinancings(_Repo):
    """``ports.Financings``: one approved or active financing per holding (the partial index)."""

    def __init__(self, uow: FakeUnitOfWork, journal: UndoJournal) -> None:
        super().__init__(uow)
        self._journal = journal

    def _check_live(self, financing: Financing) -> None:
        if financing.status not in _ACTIVE_FINANCING:
            return
        for other in self._s.financings.values():
            if (
                other.id != financing.id
                and other.holding_id == financing.holding_id
                and other.status in _ACTIVE_FINANCING
            ):
                raise ConflictError(
                    f"financing {financing.id}: it exists, or holding {financing.holding_id} "
                    "already has an approved or active financing"
                )

    def add(self, financing: Financing) -> None:
        self._journal.added_financings.append(financing.id)
        if financing.id in self._s.financings:
            raise ConflictError(f"financing {financing.id}: it exists")
        self._check_live(financing)
        self._s.financings[financing.id] = financing

    def update(self, financing: Financing) -> None:
        before = self.get(financing.id)
        self._journal.financing_before(financing.id, None if before is None else before.status)
        if before is None:
            raise NotFoundError(f"financing {financing.id} does not exist")
        self._check_live(financing)
        self._s.financings[financing.id] = financing

    def get(self, financing_id: str) -> Financing | None:
        return self._s.financings.get(financing_id)

    def by_holding(self, holding_id: str) -> Financing | None:
        found = [f for f in self._s.financings.values() if f.holding_id == holding_id]
        return found[-1] if found else None

    def by_holdings(self, holding_ids: Sequence[str]) -> dict[str, Financing]:
        wanted = set(holding_ids)
        return {f.holding_id: f for f in self._s.financings.values() if f.holding_id in wanted}

    def remove(self, financing_id: str) -> None:
        self._s.financings.pop(financing_id, None)

    def list(self) -> builtins.list[Financing]:
        return list(self._s.financings.values())

    def outstanding(self, bank_id: str, statuses: Sequence[str]) -> builtins.list[Outstanding]:
        out = []
        for f in self._s.financings.values():
            if f.bank_id != bank_id or f.status.value not in statuses:
                continue
            item = self._s.items[f.item_id]
            trade = self._s.trades[item.trade_id]
            out.append(
                Outstanding(f.principal, f.borrower_id, item.debtor_id, trade.scenario.value)
            )
        return out


# --------------------------------------------------------------------------- repayments


class FakeRepayments(_Repo):
    """``ports.Repayments`` (additions journalled for undo)."""

    def __init__(self, uow: FakeUnitOfWork, journal: UndoJournal) -> None:
        super().__init__(uow)
        self._journal = journal

    def add(self, repayment: Repayment) -> None:
        self._journal.added_repayments.append(repayment.id)
        if repayment.id in self._s.repayments:
            raise ConflictError(f"repayment {repayment.id} already exists")
        for part in repayment.parts:
            if part.holding_id not in self._s.holdings or part.item_id not in self._s.items:
                raise ConflictError(
                    f"repayment {repayment.id}: a routed part names an unknown record"
                )
        self._s.repayments[repayment.id] = repayment

    def remove(self, repayment_id: str) -> None:
        self._s.repayments.pop(repayment_id, None)

    def for_item(self, item_id: str) -> builtins.list[Repayment]:
        return [r for r in self._s.repayments.values() if r.item_id == item_id]

    def for_items(self, item_ids: Sequence[str]) -> dict[str, builtins.list[Repayment]]:
        return {i: found for i in item_ids if (found := self.for_item(i))}

    def list(self) -> builtins.list[Repayment]:
        return list(self._s.repayments.values())


# --------------------------------------------------------------------------- batches, outbox


class FakeBatches(_Repo):
    """``ports.Batches``."""

    def add(self, batch: Batch) -> None:
        if batch.id in self._s.batches:
            raise ConflictError(f"batch {batch.id} already exists")
        self._s.batches[batch.id] = batch

    def get(self, batch_id: str) -> Batch | None:
        return self._s.batches.get(batch_id)

    def list(self) -> builtins.list[Batch]:
        return list(self._s.batches.values())


class FakeOutbox(_Repo):
    """``ports.Outbox``: an op takes what the repositories journalled since the last op."""

    def __init__(self, uow: FakeUnitOfWork, journal: UndoJournal) -> None:
        super().__init__(uow)
        self._journal = journal
        self._block: set[str] | None = None  # the op ids before the ``together`` block

    def add(self, op: ChainOp) -> None:
        journalled = self._journal.take()
        if op.undo.empty:
            op = replace(op, undo=journalled)
        if op.op_id in self._s.outbox:
            raise ConflictError(f"chain operation {op.op_id} is already queued")
        self._s.outbox[op.op_id] = replace(op, seq=self._s.next_seq())

    @contextmanager
    def together(self) -> Iterator[None]:
        """Ops are stored as added; a block that raises takes back those it added."""
        if self._block is not None:  # inside another block: that one answers for them
            yield
            return
        before = set(self._s.outbox)
        self._block = before
        try:
            yield
        except BaseException:
            for op_id in set(self._s.outbox) - before:
                del self._s.outbox[op_id]
            raise
        finally:
            self._block = None

    def order_held(self, key: Callable[[ChainOp], int]) -> None:
        """The ops added in the ``together`` block, stably sorted by ``key`` (their seqs
        given again in that order)."""
        before = self._block
        if before is None:
            raise RuntimeError("order_held is for ops held in a 'together' block")
        added = [op for op_id, op in self._s.outbox.items() if op_id not in before]
        seqs = sorted(op.seq or 0 for op in added)
        for op_id in [op.op_id for op in added]:
            del self._s.outbox[op_id]
        for seq, op in zip(seqs, sorted(added, key=key), strict=True):
            self._s.outbox[op.op_id] = replace(op, seq=seq)

    def get(self, op_id: str) -> ChainOp | None:
        return self._s.outbox.get(op_id)

    def pending(self, limit: int, sender_org_id: str | None = None) -> builtins.list[ChainOp]:
        open_states = (OpStatus.PENDING, OpStatus.SENT)
        return [
            op for op in self._s.outbox.values()
            if op.status in open_states and sender_org_id in (None, op.sender_org_id)
        ][:limit]  # fmt: skip

    def update(self, op: ChainOp) -> None:
        stored = self._s.outbox.get(op.op_id)
        if stored is None:
            raise NotFoundError(f"chain operation {op.op_id} does not exist")
        self._s.outbox[op.op_id] = replace(op, seq=stored.seq)

    def update_status_many(self, ops: Sequence[ChainOp]) -> None:
        for op in ops:
            stored = self._s.outbox.get(op.op_id)
            if stored is None:
                raise NotFoundError(f"chain operation {op.op_id} does not exist")
            self._s.outbox[op.op_id] = replace(
                stored, status=op.status, tx_hash=op.tx_hash, block_number=op.block_number,
                error=op.error, attempts=op.attempts,
            )  # fmt: skip

    def for_subject(self, subject_id: str) -> builtins.list[ChainOp]:
        return [op for op in self._s.outbox.values() if op.subject_id == subject_id]

    def for_subjects(self, subject_ids: Sequence[str]) -> dict[str, builtins.list[ChainOp]]:
        return {i: found for i in subject_ids if (found := self.for_subject(i))}

    def list(self) -> builtins.list[ChainOp]:
        return list(self._s.outbox.values())


class FakeSettings(_Repo):
    """``ports.Settings``; ``lock`` is a no-op (one writer at a time in a test)."""

    def get(self, key: str) -> str | None:
        return self._s.settings.get(key)

    def put(self, key: str, value: str) -> None:
        self._s.settings[key] = value

    def lock(self, name: str) -> None:
        del name


# --------------------------------------------------------------------------- risk


class FakeRiskModels(_Repo):
    """``ports.RiskModels``."""

    def add(self, model: ModelRecord) -> None:
        if model.id in self._s.models:
            raise ConflictError(f"model {model.id} already exists")
        self._s.models[model.id] = model

    def set_role(self, model_id: str, role: str, note: str | None) -> None:
        model = self._s.models.get(model_id)
        if model is None:
            raise NotFoundError(f"model {model_id} does not exist")
        self._s.models[model_id] = replace(model, role=role, note=note)

    def get(self, model_id: str) -> ModelRecord | None:
        return self._s.models.get(model_id)

    def champion(self) -> ModelRecord | None:
        found = [m for m in self._s.models.values() if m.role == "champion"]
        return found[-1] if found else None

    def list(self) -> builtins.list[ModelRecord]:
        return list(self._s.models.values())


class FakeRiskAlerts(_Repo):
    """``ports.RiskAlerts``."""

    def add(self, alert: RiskAlert) -> None:
        if any(a.id == alert.id for a in self._s.alerts):
            raise ConflictError(f"alert {alert.id} already exists")
        self._s.alerts.append(alert)

    def list(self, bank_id: str | None = None) -> builtins.list[RiskAlert]:
        return [a for a in self._s.alerts if bank_id is None or a.bank_id in (bank_id, None)]


# --------------------------------------------------------------------------- facts


class FakeDisputes(_Repo):
    """``ports.Disputes``."""

    def add(self, event: DisputeEvent) -> None:
        self._s.disputes.append(replace(event, seq=self._s.next_seq()))

    def for_item(self, item_id: str) -> builtins.list[DisputeEvent]:
        rows = [e for e in self._s.disputes if e.item_id == item_id]
        return _standing(self._s, rows, lambda e: e.op_id)

    def for_items(self, item_ids: Sequence[str]) -> dict[str, builtins.list[DisputeEvent]]:
        return {i: found for i in item_ids if (found := self.for_item(i))}

    def raised_days(
        self, trade_ids: Sequence[str] | None = None
    ) -> dict[str, builtins.list[dt.date]]:
        wanted = None if trade_ids is None else set(trade_ids)
        out: dict[str, builtins.list[dt.date]] = {}
        for e in _standing(self._s, self._s.disputes, lambda e: e.op_id):
            item = self._s.items.get(e.item_id)
            if e.action is not DisputeAction.RAISED or item is None:
                continue
            if wanted is None or item.trade_id in wanted:
                out.setdefault(item.trade_id, []).append(e.on or self._uow.factory.clock.today())
        return out

    def forget_op(self, op_id: str) -> None:
        self._s.disputes = [e for e in self._s.disputes if e.op_id != op_id]


class FakeDilutions(_Repo):
    """``ports.Dilutions``."""

    def add(self, event: DilutionEvent) -> None:
        self._s.dilutions.append(replace(event, seq=self._s.next_seq()))

    def for_item(self, item_id: str) -> builtins.list[DilutionEvent]:
        rows = [e for e in self._s.dilutions if e.item_id == item_id]
        return _standing(self._s, rows, lambda e: e.op_id)

    def forget_op(self, op_id: str) -> None:
        self._s.dilutions = [e for e in self._s.dilutions if e.op_id != op_id]


class FakeCancelApprovals(_Repo):
    """``ports.CancelApprovals``."""

    def add(self, approval: CancelApproval) -> None:
        self._s.cancel_approvals.append(replace(approval, seq=self._s.next_seq()))

    def for_item(self, item_id: str) -> builtins.list[CancelApproval]:
        rows = [a for a in self._s.cancel_approvals if a.item_id == item_id]
        return _standing(self._s, rows, lambda a: a.op_id)

    def for_items(self, item_ids: Sequence[str]) -> dict[str, builtins.list[CancelApproval]]:
        return {i: found for i in item_ids if (found := self.for_item(i))}

    def forget_op(self, op_id: str) -> None:
        self._s.cancel_approvals = [a for a in self._s.cancel_approvals if a.op_id != op_id]


class FakeDefaultMarks(_Repo):
    """``ports.DefaultMarks``."""

    def add(self, mark: DefaultMark) -> None:
        self._s.default_marks.append(replace(mark, seq=self._s.next_seq()))

    def for_item(self, item_id: str) -> builtins.list[DefaultMark]:
        rows = [m for m in self._s.default_marks if m.item_id == item_id]
        return _standing(self._s, rows, lambda m: m.op_id)

    def forget_op(self, op_id: str) -> None:
        self._s.default_marks = [m for m in self._s.default_marks if m.op_id != op_id]


class FakeSettlementRecords(_Repo):
    """``ports.SettlementRecords``."""

    def add_route(self, event: RouteEvent) -> None:
        self._s.route_events.append(replace(event, seq=self._s.next_seq()))

    def routes(self, item_id: str) -> builtins.list[RouteEvent]:
        rows = [e for e in self._s.route_events if e.item_id == item_id]
        return _standing(self._s, rows, lambda e: e.op_id)

    def routed_items(self) -> dict[str, RouteEvent]:
        return {e.item_id: e for e in _standing(self._s, self._s.route_events, lambda e: e.op_id)}

    def notify(self, notice: Notice) -> bool:
        if any(n.key == notice.key for n in self._s.notices):
            return False
        self._s.notices.append(replace(notice, seq=self._s.next_seq()))
        return True

    def notices(
        self, *, subject_id: str | None = None, kind: str | None = None
    ) -> builtins.list[Notice]:
        rows = [
            n for n in self._s.notices
            if (subject_id is None or n.subject_id == subject_id)
            and (kind is None or n.kind == kind)
        ]  # fmt: skip
        return _standing(self._s, rows, lambda n: n.op_id or "")

    def forget_op(self, op_id: str) -> None:
        self._s.route_events = [e for e in self._s.route_events if e.op_id != op_id]
        self._s.notices = [n for n in self._s.notices if n.op_id != op_id]


class FakeWarehouseReceipts(_Repo):
    """``ports.WarehouseReceipts``."""

    def add(self, receipt: WarehouseReceipt) -> None:
        if receipt.id in self._s.receipts:
            raise ConflictError(f"warehouse receipt {receipt.id} already exists")
        self._s.receipts[receipt.id] = receipt

    def lock(self, receipt_id: str) -> None:
        """Nothing to lock: the fake store has one writer."""

    def get(self, receipt_id: str) -> WarehouseReceipt | None:
        found = self._s.receipts.get(receipt_id)
        if found is None or found.op_id in self._s.unapplied_ops():
            return None
        return found

    def add_pledge(self, pledge: ReceiptPledge) -> None:
        self._s.receipt_pledges.append(replace(pledge, seq=self._s.next_seq()))

    def pledges(self, receipt_id: str) -> builtins.list[ReceiptPledge]:
        rows = [p for p in self._s.receipt_pledges if p.receipt_id == receipt_id]
        return _standing(self._s, rows, lambda p: p.op_id)

    def live_pledges(self, bank_id: str) -> builtins.list[ReceiptPledge]:
        last = {p.receipt_id: p for p in _standing(self._s, self._s.receipt_pledges,
                                                   lambda p: p.op_id)}  # fmt: skip
        return [
            e for e in last.values() if e.action is PledgeAction.PLEDGED and e.bank_id == bank_id
        ]

    def add_sale(self, sale: ReceiptSale) -> None:
        if sale.id in self._s.sales:
            raise ConflictError(f"sale {sale.id} already exists")
        self._s.sales[sale.id] = sale

    def _sales(self, keep: Callable[[ReceiptSale], bool]) -> builtins.list[ReceiptSale]:
        rows = [s for s in self._s.sales.values() if keep(s)]
        return _standing(self._s, rows, lambda s: s.op_id)

    def get_sale(self, sale_id: str) -> ReceiptSale | None:
        found = self._sales(lambda s: s.id == sale_id)
        return found[0] if found else None

    def sale_into(self, buyer_receipt_id: str) -> ReceiptSale | None:
        found = self._sales(lambda s: s.buyer_receipt_id == buyer_receipt_id)
        return found[0] if found else None

    def sales(self, receipt_id: str) -> builtins.list[ReceiptSale]:
        return self._sales(lambda s: s.receipt_id == receipt_id)

    def add_sale_event(self, event: SaleEvent) -> None:
        self._s.sale_events.append(replace(event, seq=self._s.next_seq()))

    def sale_events(self, sale_id: str) -> builtins.list[SaleEvent]:
        rows = [e for e in self._s.sale_events if e.sale_id == sale_id]
        return _standing(self._s, rows, lambda e: e.op_id)

    def add_release(self, release: GoodsRelease) -> None:
        self._s.releases.append(replace(release, seq=self._s.next_seq()))

    def releases(self, receipt_id: str) -> builtins.list[GoodsRelease]:
        rows = [r for r in self._s.releases if r.receipt_id == receipt_id]
        return _standing(self._s, rows, lambda r: r.op_id)

    def forget_op(self, op_id: str) -> None:
        s = self._s
        s.receipts = {k: r for k, r in s.receipts.items() if r.op_id != op_id}
        s.receipt_pledges = [p for p in s.receipt_pledges if p.op_id != op_id]
        s.sales = {k: x for k, x in s.sales.items() if x.op_id != op_id}
        s.sale_events = [e for e in s.sale_events if e.op_id != op_id]
        s.releases = [r for r in s.releases if r.op_id != op_id]


class FakeGoodsPrices(_Repo):
    """``ports.GoodsPrices``."""

    def add(self, price: GoodsPrice) -> None:
        self._s.prices.append(price)

    def latest(self, goods_code: str) -> GoodsPrice | None:
        found = [p for p in self._s.prices if p.goods_code == goods_code]
        return found[-1] if found else None


class FakeProductPolicies(_Repo):
    """``ports.ProductPolicies``: a version number stored twice is a ConflictError."""

    def add(self, version: PolicyVersion) -> None:
        if self.get(version.bank_id, version.version) is not None:
            raise ConflictError(f"policy version {version.version} of {version.bank_id} exists")
        created = version.created_at or self._uow.factory.clock.now()
        self._s.policies.append(replace(version, created_at=created))

    def latest(self, bank_id: str) -> PolicyVersion | None:
        found = self.versions(bank_id)
        return found[-1] if found else None

    def get(self, bank_id: str, version: int) -> PolicyVersion | None:
        return next(
            (p for p in self._s.policies if p.bank_id == bank_id and p.version == version), None
        )

    def versions(self, bank_id: str) -> builtins.list[PolicyVersion]:
        return sorted(
            (p for p in self._s.policies if p.bank_id == bank_id), key=lambda p: p.version
        )


class FakeReportAnchors(_Repo):
    """``ports.ReportAnchors``: a report hash anchored twice is a ConflictError."""

    def add(self, anchor: ReportAnchor) -> None:
        if anchor.report_hash in self._s.report_anchors:
            raise ConflictError(f"report hash {anchor.report_hash} is anchored already")
        self._s.report_anchors[anchor.report_hash] = anchor

    def known(self, report_hashes: Sequence[str]) -> set[str]:
        return {h for h in report_hashes if h in self._s.report_anchors}

    def forget_op(self, op_id: str) -> None:
        self._s.report_anchors = {
            h: a for h, a in self._s.report_anchors.items() if a.op_id != op_id
        }


class FakeDocumentFindings(_Repo):
    """``ports.DocumentFindings``."""

    def add_many(self, findings: Sequence[DocumentFinding]) -> None:
        self._s.document_findings.extend(findings)

    def for_document(self, doc_id: str) -> list[DocumentFinding]:
        return [f for f in self._s.document_findings if f.doc_id == doc_id]


class FakePresentations(_Repo):
    """``ports.Presentations``."""

    def add(self, presentation: InvoicePresentation) -> None:
        self._s.presentations.append(presentation)

    def known(self, fingerprints: Sequence[str], *, except_op: str | None = None) -> set[str]:
        wanted = set(fingerprints)
        rows = _standing(self._s, self._s.presentations, lambda p: p.op_id)
        return {p.fingerprint for p in rows if p.fingerprint in wanted and p.op_id != except_op}

    def forget_op(self, op_id: str) -> None:
        self._s.presentations = [p for p in self._s.presentations if p.op_id != op_id]


class FakeResubmissions(_Repo):
    """``ports.Resubmissions``."""

    def note(self, doc_ids: Sequence[str]) -> None:
        for doc_id in doc_ids:
            self._s.resubmissions[doc_id] = self._s.resubmissions.get(doc_id, 0) + 1

    def counts(self) -> dict[str, int]:
        return dict(self._s.resubmissions)


# --------------------------------------------------------------------------- unit of work


class FakeMandates(_Repo):
    """``ports.Mandates``: an id stored twice is a ConflictError."""

    def add(self, mandate: Mandate) -> None:
        if any(m.id == mandate.id for m in self._s.mandates):
            raise ConflictError(f"mandate {mandate.id} exists")
        self._s.mandates.append(mandate)

    def involving(self, org_ids: Sequence[str]) -> list[Mandate]:
        wanted = set(org_ids)
        return sorted((m for m in self._s.mandates if m.principal_id in wanted), key=lambda m: m.id)

    def get(self, mandate_id: str) -> Mandate | None:
        return next((m for m in self._s.mandates if m.id == mandate_id), None)

    def revoke(self, mandate: Mandate) -> None:
        if self.get(mandate.id) is None:
            raise NotFoundError(f"mandate {mandate.id} does not exist")
        self._s.mandates = [mandate if m.id == mandate.id else m for m in self._s.mandates]

    def list(self) -> list[Mandate]:
        return list(self._s.mandates)


class FakeSignalClearances(_Repo):
    """``ports.SignalClearances``."""

    def add(self, clearance: SignalClearance) -> None:
        self._s.clearances.append(clearance)

    def for_trades(self, trade_ids: Sequence[str]) -> list[SignalClearance]:
        wanted = set(trade_ids)
        return [c for c in self._s.clearances if c.trade_id in wanted]


class FakeTransferPayments(_Repo):
    """``ports.TransferPayments``: rows of a refused operation are left out."""

    def add(self, payment: InvoicePaidByTransfer) -> None:
        self._s.transfer_payments.append(payment)

    def for_trades(self, trade_ids: Sequence[str]) -> list[InvoicePaidByTransfer]:
        wanted = set(trade_ids)
        rows = _standing(self._s, self._s.transfer_payments, lambda p: p.op_id)
        return [p for p in rows if p.trade_id in wanted]

    def by_holding(self, holding_id: str) -> list[InvoicePaidByTransfer]:
        rows = _standing(self._s, self._s.transfer_payments, lambda p: p.op_id)
        return [p for p in rows if p.holding_id == holding_id]

    def forget_op(self, op_id: str) -> None:
        self._s.transfer_payments = [p for p in self._s.transfer_payments if p.op_id != op_id]


class FakeDataConsents(_Repo):
    """``ports.DataConsents``."""

    def add(self, consent: Consent) -> None:
        if consent.id in self._s.consents:
            raise ConflictError(f"consent {consent.id} exists")
        self._s.consents[consent.id] = consent

    def get(self, consent_id: str) -> Consent | None:
        return self._s.consents.get(consent_id)

    def revoke(self, consent: Consent) -> None:
        if consent.id not in self._s.consents:
            raise NotFoundError(f"consent {consent.id} does not exist")
        self._s.consents[consent.id] = consent

    def between(
        self, *, grantor_id: str | None = None, grantee_id: str | None = None
    ) -> list[Consent]:
        return [
            c for c in self._s.consents.values()
            if grantor_id in (None, c.grantor_id) and grantee_id in (None, c.grantee_id)
        ]  # fmt: skip

    def set_price(self, price: DataPrice) -> None:
        self._s.data_prices[(price.grantor_id, price.kind.value)] = price

    def prices(self, grantor_id: str) -> list[DataPrice]:
        return sorted(
            (p for p in self._s.data_prices.values() if p.grantor_id == grantor_id),
            key=lambda p: p.kind.value,
        )

    def record(self, usage: DataUsage) -> None:
        if any(u.id == usage.id for u in self._s.data_usage):
            raise ConflictError(f"read {usage.id} was metered before")
        self._s.data_usage.append(usage)

    def usage(
        self, *, grantor_id: str | None = None, grantee_id: str | None = None,
        start: dt.datetime | None = None, end: dt.datetime | None = None,
    ) -> list[DataUsage]:  # fmt: skip
        return [
            u for u in self._s.data_usage
            if grantor_id in (None, u.grantor_id) and grantee_id in (None, u.grantee_id)
            and (start is None or u.read_at >= start) and (end is None or u.read_at < end)
        ]  # fmt: skip


class FakeGoodsFinancings(_Repo):
    """``ports.GoodsFinancings``."""

    def add(self, financing: GoodsFinancing) -> None:
        if financing.id in self._s.goods_financings:
            raise ConflictError(f"goods financing {financing.id} exists")
        self._s.goods_financings[financing.id] = financing

    def update(self, financing: GoodsFinancing) -> None:
        if financing.id not in self._s.goods_financings:
            raise NotFoundError(f"goods financing {financing.id} does not exist")
        self._s.goods_financings[financing.id] = financing

    def get(self, financing_id: str) -> GoodsFinancing | None:
        return self._s.goods_financings.get(financing_id)

    def for_receipt(self, receipt_id: str) -> list[GoodsFinancing]:
        return [f for f in self._s.goods_financings.values() if f.receipt_id == receipt_id]

    def list(self) -> list[GoodsFinancing]:
        return list(self._s.goods_financings.values())


class FakeNotifications:
    """The event outbox (``ports.Notifications``): events kept on the unit of work."""

    def __init__(self) -> None:
        self.added: dict[str, dict[str, Any]] = {}

    def add(
        self, *, event_id: str, org_id: str, kind: str, subject_id: str | None,
        data: dict[str, Any],
    ) -> bool:  # fmt: skip
        if event_id in self.added:
            return False
        self.added[event_id] = {"org_id": org_id, "kind": kind, "subject_id": subject_id}
        return True


class FakeUnitOfWork:
    """One "transaction" over a private copy of the store (``ports.UnitOfWork``)."""

    organisations: FakeOrganisations
    documents: FakeDocuments
    trades: FakeTrades
    trade_facts: FakeTradeFacts
    items: FakeDebtItems
    financings: FakeFinancings
    goods_financings: FakeGoodsFinancings
    repayments: FakeRepayments
    batches: FakeBatches
    outbox: FakeOutbox
    settings: FakeSettings
    risk_models: FakeRiskModels
    risk_alerts: FakeRiskAlerts
    disputes: FakeDisputes
    dilutions: FakeDilutions
    cancel_approvals: FakeCancelApprovals
    default_marks: FakeDefaultMarks
    settlement: FakeSettlementRecords
    notifications: FakeNotifications
    receipts: FakeWarehouseReceipts
    prices: FakeGoodsPrices
    policies: FakeProductPolicies
    report_anchors: FakeReportAnchors
    resubmissions: FakeResubmissions
    presentations: FakePresentations
    mandates: FakeMandates
    signal_clearances: FakeSignalClearances
    document_findings: FakeDocumentFindings
    consents: FakeDataConsents

    def __init__(self, factory: FakeUnitOfWorkFactory) -> None:
        self.factory = factory
        self._store: _Store | None = None

    @property
    def store(self) -> _Store:
        """The working copy (only inside the ``with`` block)."""
        if self._store is None:
            raise RuntimeError("use the unit of work inside a 'with' block")
        return self._store

    def __enter__(self) -> Self:
        if self._store is not None:
            raise RuntimeError("this unit of work is already in use; make a new one")
        self._store = self.factory.committed.copy()
        journal = UndoJournal()
        self._journal = journal
        self.organisations = FakeOrganisations(self)
        self.documents = FakeDocuments(self)
        self.trades = FakeTrades(self)
        self.trade_facts = FakeTradeFacts(self)
        self.items = FakeDebtItems(self, journal)
        self.financings = FakeFinancings(self, journal)
        self.goods_financings = FakeGoodsFinancings(self)
        self.repayments = FakeRepayments(self, journal)
        self.batches = FakeBatches(self)
        self.outbox = FakeOutbox(self, journal)
        self.settings = FakeSettings(self)
        self.risk_models = FakeRiskModels(self)
        self.risk_alerts = FakeRiskAlerts(self)
        self.disputes = FakeDisputes(self)
        self.dilutions = FakeDilutions(self)
        self.cancel_approvals = FakeCancelApprovals(self)
        self.default_marks = FakeDefaultMarks(self)
        self.settlement = FakeSettlementRecords(self)
        self.notifications = FakeNotifications()
        self.receipts = FakeWarehouseReceipts(self)
        self.prices = FakeGoodsPrices(self)
        self.policies = FakeProductPolicies(self)
        self.report_anchors = FakeReportAnchors(self)
        self.resubmissions = FakeResubmissions(self)
        self.presentations = FakePresentations(self)
        self.mandates = FakeMandates(self)
        self.signal_clearances = FakeSignalClearances(self)
        self.transfer_payments = FakeTransferPayments(self)
        self.document_findings = FakeDocumentFindings(self)
        self.consents = FakeDataConsents(self)
        self.factory.opened += 1
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Discard anything not committed."""
        self._store = None

    def commit(self) -> None:
        """Publish the working copy; later work in the block starts from it."""
        self.factory.committed = self.store.copy()
        self.factory.commits += 1

    def rollback(self) -> None:
        """Discard the changes since the last commit."""
        self._store = self.factory.committed.copy()
        self._journal.take()

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """An exception in the block puts the working copy back as it was at its start."""
        kept = self.store.copy()
        self._journal.take()
        try:
            yield
        except BaseException:
            self._store = kept
            self._journal.take()
            raise

    @contextmanager
    def together(self) -> Iterator[None]:
        """Writes are stored as made; a block that raises takes back what it wrote (the
        store's ``together`` stores none of them)."""
        kept = self.store.copy()
        try:
            with self.outbox.together():  # its ops may be ordered (``order_held``)
                yield
        except BaseException:
            self._store = kept
            raise


class FakeUnitOfWorkFactory:
    """Makes ``FakeUnitOfWork``s over one committed in-memory store (``UnitOfWorkFactory``)."""

    def __init__(self, clock: FixedClock | None = None) -> None:
        self.committed = _Store()
        self.clock = clock or FixedClock(dt.date(2026, 6, 30))
        self.opened = 0
        self.commits = 0

    def __call__(self) -> UnitOfWork:
        return FakeUnitOfWork(self)

    def snapshot(self) -> dict[str, Any]:
        """The committed store as plain data, to compare before and after (``seq`` left out)."""
        s = self.committed
        return {f.name: getattr(s, f.name) for f in dataclasses.fields(s) if f.name != "seq"}


# --------------------------------------------------------------------------- clock, keys


class FixedClock:
    """``ports.Clock`` standing still at noon UTC of ``day`` (move it with ``day = ...``)."""

    def __init__(self, day: dt.date) -> None:
        self.day = day

    def today(self) -> dt.date:
        return self.day

    def now(self) -> dt.datetime:
        return dt.datetime.combine(self.day, dt.time(12, 0), tzinfo=dt.UTC)


class FakeKeyStore:
    """``ports.KeyStore`` with deterministic accounts derived from the organisation id.

    As the real key store (``adapters.crypto.keystore.EnvelopeKeyStore``): an organisation
    has at most one account, either a key the store keeps (``create``) or its own key, of
    which only the address is recorded (``hold_own``); the store never gives out a key it
    does not keep.
    """

    def __init__(self) -> None:
        self._keys: dict[str, bytes] = {}
        self._own: dict[str, str] = {}  # organisations holding their own key: their address

    def create(self, org_id: str) -> str:
        if org_id in self._keys or org_id in self._own:
            raise ConflictError(f"{org_id} already has an account")
        self._keys[org_id] = hashlib.sha256(f"key:{org_id}".encode()).digest()
        return self._address(org_id)

    def _address(self, org_id: str) -> str:
        return "0x" + hashlib.sha256(self._keys[org_id]).hexdigest()[:40]

    def address(self, org_id: str) -> str | None:
        if org_id in self._own:
            return self._own[org_id]
        return self._address(org_id) if org_id in self._keys else None

    def private_key(self, org_id: str) -> bytes:
        if org_id in self._own:
            raise ConflictError(f"{org_id} holds its own key; the platform never signs for it")
        if org_id not in self._keys:
            raise NotFoundError(f"{org_id} has no account")
        return self._keys[org_id]

    def holds_own_key(self, org_id: str) -> bool:
        return org_id in self._own

    def hold_own(self, org_id: str, address: str) -> str:
        """Record that ``org_id`` holds its own key at ``address``; the checksummed address
        (DomainValueError when it is not one; ConflictError when it has an account)."""
        try:
            checksummed = str(to_checksum_address(address))
        except ValueError as exc:
            raise DomainValueError(f"key store: {address!r} is not an address") from exc
        if org_id in self._keys or org_id in self._own:
            raise ConflictError(f"{org_id} already has an account")
        self._own[org_id] = checksummed
        return checksummed


# --------------------------------------------------------------------------- ledger


class FakeLedger:
    """``ports.Ledger`` that records the commands it applies.

    ``refuse(kind, reason)`` makes every later op of that kind raise ``ChainRejectedError``
    (``allow(kind)`` lifts it). ``apply_many`` refuses a whole run when any op in it is refused,
    applying none, so the relay goes on one by one as it does after a real revert.
    """

    def __init__(self, clock: FixedClock) -> None:
        self.clock = clock
        self.applied: dict[str, ChainOp] = {}
        self.refusals: dict[OpKind, str] = {}
        self.fingerprints: dict[str, str] = {}
        self.receipts: dict[str, dict[str, Any]] = {}
        self.nonce = 0

    def refuse(self, kind: OpKind, reason: str) -> None:
        self.refusals[kind] = reason

    def allow(self, kind: OpKind) -> None:
        self.refusals.pop(kind, None)

    def kinds(self) -> list[OpKind]:
        """The kinds of the commands applied, in order."""
        return [op.kind for op in self.applied.values()]

    def _receipt(self, op: ChainOp, *, again: bool) -> ChainReceipt:
        block = list(self.applied).index(op.op_id) + 1
        tx = "0x" + hashlib.sha256(op.op_id.encode()).hexdigest()
        return ChainReceipt(op.op_id, tx, block, already_applied=again)

    def apply(self, op: ChainOp) -> ChainReceipt:
        if op.op_id in self.applied:
            return self._receipt(op, again=True)
        reason = self.refusals.get(op.kind)
        if reason is not None:
            raise ChainRejectedError(op.op_id, reason)
        self.applied[op.op_id] = op
        self._effect(op)
        return self._receipt(op, again=False)

    def apply_many(self, ops: Sequence[ChainOp]) -> builtins.list[ChainReceipt]:
        for op in ops:
            reason = self.refusals.get(op.kind)
            if op.op_id not in self.applied and reason is not None:
                raise ChainRejectedError(op.op_id, reason)
        return [self.apply(op) for op in ops]

    def is_applied(self, op: ChainOp) -> bool:
        return op.op_id in self.applied

    def info(self) -> ChainInfo:
        return ChainInfo("fake://ledger", 31337, len(self.applied), "FakeLedger/1", {})

    def sign_confirmation(
        self, debtor_org_id: str, terms: cmd.ConfirmationTerms, deadline: int
    ) -> cmd.Confirmation:
        self.nonce += 1
        digest = hashlib.sha256(f"{debtor_org_id}|{terms}|{deadline}".encode()).hexdigest()
        return cmd.Confirmation(nonce=self.nonce, deadline=deadline, signature="0x" + digest)

    def sign_report(self, verifier_org_id: str, issue: cmd.IssueItem) -> str:
        digest = hashlib.sha256(f"{verifier_org_id}|{issue}".encode()).hexdigest()
        return "0x" + digest

    def chain_today(self) -> dt.date:
        return self.clock.today()

    def read(self, what: str, *args: Any) -> Any:
        if what == "fingerprint":
            submitter = self.fingerprints.get(str(args[0]))
            return None if submitter is None else {"submitter": submitter}
        if what == "receipt":
            state = self.receipts.get(str(args[0]))
            return None if state is None else dict(state)
        raise NotImplementedError(f"FakeLedger cannot read {what!r}")

    def _effect(self, op: ChainOp) -> None:
        """The state the services read back (notary fingerprints, warehouse receipts)."""
        c = op.command
        if isinstance(c, cmd.RegisterFingerprints):
            for fp in c.fingerprints:
                self.fingerprints.setdefault(fp, op.sender_org_id)
        elif isinstance(c, cmd.ReceiptIssue):
            self.receipts[c.receipt_id] = {
                "warehouse": op.sender_org_id, "holder": c.holder_address,
                "quantity": c.quantity, "released": 0, "pledgee": None,
            }  # fmt: skip
        elif isinstance(c, cmd.ReceiptPledge) and c.receipt_id in self.receipts:
            self.receipts[c.receipt_id]["pledgee"] = c.bank_address
        elif isinstance(c, cmd.ReceiptReleasePledge) and c.receipt_id in self.receipts:
            self.receipts[c.receipt_id]["pledgee"] = None
        elif isinstance(c, cmd.ReceiptConfirmRelease) and c.receipt_id in self.receipts:
            self.receipts[c.receipt_id]["released"] += c.quantity
