"""The ports the services need: repositories, unit of work, ledger, key store, clock.

Adapters implement these Protocols (``fourflow.adapters.db``, ``fourflow.adapters.chain``,
``fourflow.adapters.crypto``); services depend only on this module and the domain.
"""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from enum import StrEnum
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar

from fourflow.domain.consents import Consent, DataPrice, DataUsage
from fourflow.domain.debt import DebtItem, Holding
from fourflow.domain.documents import Document, DocumentKind
from fourflow.domain.errors import FourFlowError
from fourflow.domain.facts import (
    CancelApproval,
    DefaultMark,
    DilutionEvent,
    DisputeEvent,
    DocumentFinding,
    GoodsPrice,
    InvoicePresentation,
    PolicyVersion,
    ReportAnchor,
)
from fourflow.domain.financing import Financing, GoodsFinancing
from fourflow.domain.findings import VerificationReport
from fourflow.domain.mandates import Mandate, SignalClearance
from fourflow.domain.parties import Organisation, PartyRef
from fourflow.domain.receipts import (
    GoodsRelease,
    ReceiptPledge,
    ReceiptSale,
    SaleEvent,
    WarehouseReceipt,
)
from fourflow.domain.scenarios import Scenario
from fourflow.domain.settlement import Notice, RouteEvent
from fourflow.domain.transfers import InvoicePaidByTransfer
from fourflow.services.commands import Command, Confirmation, ConfirmationTerms, IssueItem
from fourflow.services.commands import OpKind as OpKind  # noqa: PLC0414  (re-exported)
from fourflow.services.undo import UndoLog

T = TypeVar("T")

# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class StoredDocument:
    """A document as stored, with what proves it.

    Attributes:
        document: the parsed document.
        fingerprint: hex content fingerprint of its canonical form (``sha256:...``).
        business_key: hex business-key fingerprint (invoices, credit notes), if any.
        raw: the bytes exactly as submitted.
        media_type: ``application/json``, ``application/xml`` ...
        trade_id: the trade it was linked to, if linked.
        batch_id: the anchoring batch it belongs to, once anchored.
        created_at: when it was stored (UTC).
        signature: the submitter's verified signature (``algorithm``, ``signer``,
            ``signature``, ``message``), if the document was signed.
        source: the file name it was first submitted under.
    """

    document: Document
    fingerprint: str
    business_key: str | None
    raw: bytes
    media_type: str
    trade_id: str | None = None
    batch_id: str | None = None
    created_at: dt.datetime | None = None
    signature: Mapping[str, str] | None = None
    source: str | None = None


@dataclass(frozen=True, slots=True)
class TradeRecord:
    """A trade as stored: its documents by id, and the latest verification.

    Attributes:
        id: the trade id.
        scenario: business scenario.
        seller_id: the seller organisation (creditor).
        buyer_id: the buyer organisation (debtor).
        document_ids: ids of its documents, in link order.
        status: ``unverified``, or the latest report's status.
        score: the latest report's score, if verified.
        report: the latest verification report, if any.
        report_hash: hex SHA-256 of the latest report's canonical JSON.
    """

    id: str
    scenario: Scenario
    seller_id: str
    buyer_id: str
    document_ids: tuple[str, ...]
    status: str = "unverified"
    score: int | None = None
    report: VerificationReport | None = None
    report_hash: str | None = None


class OpStatus(StrEnum):
    """Outbox row state.

    ``refused``: the chain refused the command and the relay undid its business change (the
    store is as if it had never been queued); ``failed``: refused, but its change could not be
    undone (a later operation on the same records was applied first), which ``audit`` names.
    """

    PENDING = "pending"
    SENT = "sent"
    DONE = "done"
    FAILED = "failed"
    REFUSED = "refused"

    @property
    def unapplied(self) -> bool:
        """True for an operation the chain will never apply (refused or failed)."""
        return self in (OpStatus.FAILED, OpStatus.REFUSED)


@dataclass(frozen=True, slots=True)
class ChainOp:
    """One chain write, queued in the outbox in the same transaction as its business change.

    Attributes:
        op_id: unique id; the contracts refuse a second application of the same id.
        command: the typed command (``fourflow.services.commands``): which contract call, with
            what arguments.
        sender_org_id: the organisation whose chain account signs it.
        subject_id: the business record it concerns (item, holding, batch ...), for lookups.
        status: outbox state.
        tx_hash: the transaction hash once known.
        block_number: the block it was mined in, once done.
        error: why it failed, if it did.
        attempts: how many times the relay tried it.
        seq: insertion order (assigned by the store).
        undo: what the business change replaced, for the relay to put back if the chain
            refuses the command (``fourflow.services.undo``); empty for commands that change
            no business record.
    """

    op_id: str
    command: Command
    sender_org_id: str
    subject_id: str | None = None
    status: OpStatus = OpStatus.PENDING
    tx_hash: str | None = None
    block_number: int | None = None
    error: str | None = None
    attempts: int = 0
    seq: int | None = None
    undo: UndoLog = field(default_factory=UndoLog)

    @property
    def kind(self) -> OpKind:
        """The command's operation kind."""
        return self.command.kind


@dataclass(frozen=True, slots=True)
class ChainReceipt:
    """The outcome of applying a chain operation.

    Attributes:
        op_id: the operation.
        tx_hash: hash of the transaction that applied it.
        block_number: where it was mined.
        events: decoded events of that transaction (name and arguments).
        already_applied: True when the chain had applied it before this attempt.
    """

    op_id: str
    tx_hash: str
    block_number: int
    events: tuple[Mapping[str, Any], ...] = ()
    already_applied: bool = False


@dataclass(frozen=True, slots=True)
class ChainInfo:
    """What the node and the deployed contracts are."""

    url: str
    chain_id: int
    block_number: int
    client_version: str
    contracts: Mapping[str, str] = field(default_factory=dict)
    managed_node: bool = False


@dataclass(frozen=True, slots=True)
class RoutedPart:
    """One routed part of a settlement as stored (one row per payee and holding).

    Attributes:
        payment_id: the repayment it belongs to.
        item_id: the debt item.
        holding_id: the holding whose share it is.
        payee_id: the organisation paid (bank or holder).
        kind: ``bank_interest``, ``bank_principal`` or ``holder``.
        amount: minor units.
    """

    payment_id: str
    item_id: str
    holding_id: str
    payee_id: str
    kind: str
    amount: int


@dataclass(frozen=True, slots=True)
class Repayment:
    """A debtor's payment of a debt item.

    Attributes:
        id: FourFlow id.
        item_id: the item paid.
        amount: minor units.
        value_date: the value date of the payment.
        reference: the bank reference or payment document number.
        parts: how it was routed.
    """

    id: str
    item_id: str
    amount: int
    value_date: dt.date
    reference: str
    parts: tuple[RoutedPart, ...] = ()


@dataclass(frozen=True, slots=True)
class Batch:
    """An anchoring batch: the Merkle root over its documents' fingerprints.

    Attributes:
        id: batch id.
        root: hex Merkle root.
        count: number of leaves.
        created_at: when it was formed (UTC).
    """

    id: str
    root: str
    count: int
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class ModelRecord:
    """A registered credit model (docs/risk.md, "Learning").

    Attributes:
        id: the model version (``scorecard-3``, ``lightgbm-4``).
        kind: ``scorecard`` | ``lightgbm``.
        role: ``champion`` (scores every request), ``challenger`` (scored alongside, not used)
            or ``retired``.
        as_of: the day its training outcomes were read.
        training_rows: how many past invoices it learnt from.
        data_hash: hex SHA-256 of its training rows (features and outcomes).
        metrics: its validation figures (auc, ks, brier, psi reference scores ...).
        artifact: the model itself as JSON text (no pickle).
        note: why it holds its role (the promotion decision).
        created_at: when it was registered (UTC).
    """

    id: str
    kind: str
    role: str
    as_of: dt.date
    training_rows: int
    data_hash: str
    metrics: Mapping[str, Any]
    artifact: str
    note: str | None = None
    created_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class RiskAlert:
    """A monitoring alert raised for the banks and the regulator.

    Attributes:
        id: alert id.
        kind: ``drift`` | ``performance`` | ``approval_rate`` | ``realised_loss``.
        severity: ``warning`` or ``alert``.
        metric: the figure (``psi``, ``auc``, ``ks`` ...).
        value: its value.
        threshold: the threshold it crossed.
        model_id: the model concerned.
        bank_id: the bank concerned, if any.
        as_of: the day measured.
        message: what happened, in words.
        created_at: when it was raised (UTC).
    """

    id: str
    kind: str
    severity: str
    metric: str
    value: float
    threshold: float
    model_id: str | None
    bank_id: str | None
    as_of: dt.date
    message: str
    created_at: dt.datetime | None = None


# --------------------------------------------------------------------------- repositories


class Organisations(Protocol):
    """Consortium members."""

    def add(self, org: Organisation) -> None: ...
    def update(self, org: Organisation) -> None: ...
    def get(self, org_id: str) -> Organisation | None: ...
    def get_many(self, org_ids: Sequence[str]) -> dict[str, Organisation]:
        """The organisations of ``org_ids`` that exist, by id, in one read."""
        ...

    def by_uscc(self, uscc: str) -> Organisation | None: ...
    def by_key(self, key: str) -> Organisation | None:
        """The organisation known by ``scheme:value`` (any identifier or account)."""
        ...

    def list(self) -> builtins.list[Organisation]: ...


class Documents(Protocol):
    """Stored documents."""

    def add(self, stored: StoredDocument) -> None: ...
    def add_many(self, stored: Sequence[StoredDocument]) -> None:
        """Store several documents at once (a known fingerprint is a ConflictError)."""
        ...

    def known_fingerprints(self, fingerprints: Sequence[str]) -> dict[str, str]:
        """Which of ``fingerprints`` are stored, mapped to their document ids."""
        ...

    def get(self, doc_id: str) -> StoredDocument | None: ...
    def by_fingerprint(self, fingerprint: str) -> StoredDocument | None: ...
    def by_business_key(self, business_key: str) -> builtins.list[StoredDocument]: ...
    def by_number(self, kind: DocumentKind, number: str) -> builtins.list[StoredDocument]: ...
    def unlinked(self) -> builtins.list[StoredDocument]: ...
    def unlinked_ids(self) -> builtins.list[str]:
        """The ids of the documents not yet linked to a trade, oldest first (not read)."""
        ...

    def get_many(self, doc_ids: Sequence[str]) -> builtins.list[StoredDocument]:
        """The stored documents with these ids (unknown ids are skipped)."""
        ...

    def contents_many(self, doc_ids: Sequence[str]) -> builtins.list[Document]:
        """The contents of the documents with these ids (unknown ids are skipped), oldest
        first: the decoded documents only, without their raw bytes, anchoring or signature."""
        ...

    def by_numbers(self, refs: Sequence[tuple[DocumentKind, str]]) -> builtins.list[StoredDocument]:
        """Documents matching any ``(kind, number)`` of ``refs``."""
        ...

    def linked_between(
        self, seller: PartyRef, buyer: PartyRef, since: dt.date, until: dt.date
    ) -> builtins.list[StoredDocument]:
        """Documents already in a trade, between these two parties, issued in a date window."""
        ...

    def unanchored(self, limit: int) -> builtins.list[StoredDocument]: ...
    def unanchored_fingerprints(self, limit: int) -> builtins.list[tuple[str, str]]:
        """``(id, fingerprint)`` of documents not yet anchored, oldest first."""
        ...

    def set_trade(self, doc_ids: Sequence[str], trade_id: str) -> None: ...
    def set_trades(self, links: Mapping[str, str]) -> None:
        """Link each document (key) to its trade (value), all at once."""
        ...

    def trade_ids(self, doc_ids: Sequence[str]) -> dict[str, str | None]:
        """The trade of each stored document (None while unlinked); unknown ids left out."""
        ...

    def set_batch(self, doc_ids: Sequence[str], batch_id: str, proofs: Mapping[str, str]) -> None:
        """Record batch membership; ``proofs`` maps doc id to its JSON-encoded Merkle proof."""
        ...

    def proof(self, doc_id: str) -> str | None: ...
    def count(self) -> int: ...


@dataclass(frozen=True, slots=True)
class TradePair:
    """How many trades ``seller_id`` sold to ``buyer_id`` in ``scenario`` with ``status``."""

    seller_id: str
    buyer_id: str
    scenario: Scenario
    status: str
    trades: int


@dataclass(frozen=True, slots=True)
class TradeQuery:
    """Which trades a page shows (each condition None: none): those in which one of
    ``involving`` sells or buys; those between two of ``between`` (seller and buyer both); in
    one of ``scenarios``; with a status of ``statuses``."""

    involving: frozenset[str] | None = None
    between: frozenset[str] | None = None
    scenarios: frozenset[str] | None = None
    statuses: frozenset[str] | None = None
    offset: int = 0
    limit: int = 50


class Trades(Protocol):
    """Trades and their latest verification."""

    def add(self, trade: TradeRecord) -> None: ...
    def add_many(self, trades: Sequence[TradeRecord]) -> None:
        """Store new trades at once (a known id is a ConflictError)."""
        ...

    def update(self, trade: TradeRecord) -> None: ...
    def get(self, trade_id: str) -> TradeRecord | None: ...
    def verdicts(self, trade_ids: Sequence[str] | None = None) -> builtins.list[TradeRecord]:
        """Every trade (or those of ``trade_ids``; unknown ids skipped), oldest first, with its
        status, score and report hash but not its report (``report`` None; not decoded): for
        figures over many trades."""
        ...

    def verdicts_of(
        self, buyers: Sequence[str], sellers: Sequence[str]
    ) -> builtins.list[TradeRecord]:
        """The trades in which one of ``buyers`` buys or one of ``sellers`` sells, oldest
        first, as ``verdicts`` gives them (the history a set of items' features read)."""
        ...

    def pairs(self) -> builtins.list[TradePair]:
        """The trades counted by seller, buyer, scenario and status, one row each (ordered by
        those): the supply network and the trade counts without reading each trade."""
        ...

    def page(self, query: TradeQuery) -> tuple[int, builtins.list[TradeRecord]]:
        """How many trades ``query`` matches, and ``query.limit`` of them from
        ``query.offset``, newest first, as ``verdicts`` gives them (no report)."""
        ...

    def get_many(self, trade_ids: Sequence[str]) -> builtins.list[TradeRecord]:
        """The trades with these ids (unknown ids are skipped)."""
        ...

    def list(self) -> builtins.list[TradeRecord]: ...
    def heads(self) -> builtins.list[TradeRecord]:
        """Every trade, oldest first, without its verification (``report`` None): for readers
        of its parties and documents only (nothing decoded but those)."""
        ...

    def involving(self, org_ids: Sequence[str]) -> builtins.list[TradeRecord]:
        """Trades in which any of ``org_ids`` sells or buys, oldest first."""
        ...


class DebtItems(Protocol):
    """Debt items and their holdings."""

    def add(self, item: DebtItem) -> None: ...
    def update(self, item: DebtItem) -> None: ...
    def get(self, item_id: str) -> DebtItem | None: ...
    def by_trade(self, trade_id: str) -> DebtItem | None: ...
    def list(self) -> builtins.list[DebtItem]: ...
    def get_many(self, item_ids: Sequence[str]) -> builtins.list[DebtItem]:
        """The debt items with these ids (unknown ids are skipped), oldest first."""
        ...

    def add_holding(self, holding: Holding) -> None: ...
    def update_holding(self, holding: Holding, *, before: Holding | None = None) -> None:
        """Replace a holding's state; ``before``: the holding as stored now, if the caller
        read it under its row lock (``lock_holding``), so it is not read again for the undo
        journal."""
        ...

    def remove(self, item_id: str) -> None:
        """Delete an item that never reached the chain, with its holdings (undo of issue)."""
        ...

    def remove_holding(self, holding_id: str) -> None:
        """Delete a holding that never reached the chain (undo of a split or transfer)."""
        ...

    def get_holding(self, holding_id: str) -> Holding | None: ...
    def get_holdings(self, holding_ids: Sequence[str]) -> dict[str, Holding]:
        """The holdings by id (unknown ids left out), in one read."""
        ...

    def lock_holding(self, holding_id: str) -> Holding | None:
        """The holding, its row locked until the transaction ends (one writer at a time)."""
        ...

    def lock_holdings(self, holding_ids: Sequence[str]) -> dict[str, Holding]:
        """The holdings by id (unknown ids left out), their rows locked in id order until the
        transaction ends, in one read."""
        ...

    def lock_item(self, item_id: str) -> DebtItem | None:
        """The debt item, its row locked until the transaction ends (one writer at a time)."""
        ...

    def holdings(self, item_id: str) -> builtins.list[Holding]:
        """The item's holdings in creation order (the routing order)."""
        ...

    def holdings_many(self, item_ids: Sequence[str]) -> dict[str, builtins.list[Holding]]:
        """Each of these items' holdings in creation order (an item without any: absent)."""
        ...

    def disputes(self, trade_ids: Sequence[str] | None = None) -> dict[str, builtins.list[dt.date]]:
        """The days each trade's item was disputed by its debtor (``None``: every trade), as
        ``Disputes.raised_days`` gives them."""
        ...


@dataclass(frozen=True, slots=True)
class Outstanding:
    """One financing's principal with what a bank's limits are counted by.

    Attributes:
        principal: the financed principal in minor units.
        borrower_id: the borrowing organisation.
        debtor_id: the debtor of the financed item.
        scenario: the item's trade's scenario value.
    """

    principal: int
    borrower_id: str
    debtor_id: str
    scenario: str


class Financings(Protocol):
    """Financing requests and financings."""

    def add(self, financing: Financing) -> None: ...
    def update(self, financing: Financing) -> None: ...
    def get(self, financing_id: str) -> Financing | None: ...
    def by_holding(self, holding_id: str) -> Financing | None: ...
    def by_holdings(self, holding_ids: Sequence[str]) -> dict[str, Financing]:
        """The latest financing requested on each of the holdings that has one, in one read."""
        ...

    def remove(self, financing_id: str) -> None:
        """Delete a financing that never reached the chain (undo)."""
        ...

    def list(self) -> builtins.list[Financing]: ...
    def outstanding(self, bank_id: str, statuses: Sequence[str]) -> builtins.list[Outstanding]: ...


class GoodsFinancings(Protocol):
    """Financings against pledged warehouse receipts (``GoodsFinancing``), every decision."""

    def add(self, financing: GoodsFinancing) -> None:
        """Store a new goods financing (an id already stored is a ConflictError)."""
        ...

    def update(self, financing: GoodsFinancing) -> None: ...
    def get(self, financing_id: str) -> GoodsFinancing | None: ...
    def for_receipt(self, receipt_id: str) -> builtins.list[GoodsFinancing]:
        """The receipt's financings, oldest first."""
        ...

    def list(self) -> builtins.list[GoodsFinancing]: ...


class Repayments(Protocol):
    """Repayments and their routed parts."""

    def add(self, repayment: Repayment) -> None: ...
    def remove(self, repayment_id: str) -> None:
        """Delete a repayment and its routed parts (undo of a refused payment)."""
        ...

    def for_item(self, item_id: str) -> builtins.list[Repayment]: ...
    def for_items(self, item_ids: Sequence[str]) -> dict[str, builtins.list[Repayment]]:
        """``for_item`` of each of ``item_ids`` that has repayments, in one read."""
        ...

    def list(self) -> builtins.list[Repayment]: ...


class Batches(Protocol):
    """Anchoring batches."""

    def add(self, batch: Batch) -> None: ...
    def get(self, batch_id: str) -> Batch | None: ...
    def list(self) -> builtins.list[Batch]: ...


class Outbox(Protocol):
    """Chain operations waiting to be relayed, and their outcomes."""

    def add(self, op: ChainOp) -> None: ...
    def together(self) -> AbstractContextManager[None]:
        """Ops added in the block are stored at its end, in order, in one write (none of them
        if the block raises)."""
        ...

    def order_held(self, key: Callable[[ChainOp], int]) -> None:
        """Sort the ops added so far in the ``together`` block by ``key``, stably (those of
        one key stay in the order added): the order they are stored, so relayed, in. Each
        keeps its undo log. The caller answers for the order: an op must not come before
        one it builds on."""
        ...

    def get(self, op_id: str) -> ChainOp | None: ...
    def pending(self, limit: int, sender_org_id: str | None = None) -> builtins.list[ChainOp]:
        """Ops not yet done or failed (of ``sender_org_id`` if given), oldest first (``seq``
        order)."""
        ...

    def update(self, op: ChainOp) -> None: ...
    def update_status_many(self, ops: Sequence[ChainOp]) -> None:
        """Record the progress of each of ``ops`` (status, tx hash, block, error, attempts),
        in one write; NotFoundError if one of them is not queued."""
        ...

    def for_subject(self, subject_id: str) -> builtins.list[ChainOp]: ...
    def for_subjects(self, subject_ids: Sequence[str]) -> dict[str, builtins.list[ChainOp]]:
        """``for_subject`` of each of ``subject_ids`` that has operations, in one read."""
        ...

    def list(self) -> builtins.list[ChainOp]: ...


class Settings(Protocol):
    """Key-value platform settings kept in the store (deployed contract addresses ...)."""

    def get(self, key: str) -> str | None: ...
    def put(self, key: str, value: str) -> None: ...
    def lock(self, name: str) -> None:
        """Hold the lock ``name`` until the transaction ends."""
        ...


class RiskModels(Protocol):
    """The model registry."""

    def add(self, model: ModelRecord) -> None: ...
    def set_role(self, model_id: str, role: str, note: str | None) -> None: ...
    def get(self, model_id: str) -> ModelRecord | None: ...
    def champion(self) -> ModelRecord | None: ...
    def list(self) -> builtins.list[ModelRecord]: ...


class RiskAlerts(Protocol):
    """Monitoring alerts."""

    def add(self, alert: RiskAlert) -> None: ...
    def list(self, bank_id: str | None = None) -> builtins.list[RiskAlert]: ...


# Issue 13: every fact in a record of its own. Reads of facts carried by a chain operation
# leave out those whose operation failed for good (the chain refused it: it never happened).


class Disputes(Protocol):
    """Disputes of debt items: raised, withdrawn, resolved."""

    def add(self, event: DisputeEvent) -> None: ...
    def for_item(self, item_id: str) -> builtins.list[DisputeEvent]:
        """The item's dispute events, oldest first."""
        ...

    def for_items(self, item_ids: Sequence[str]) -> dict[str, builtins.list[DisputeEvent]]:
        """``for_item`` of each of ``item_ids`` that has events, in one read."""
        ...

    def raised_days(
        self, trade_ids: Sequence[str] | None = None
    ) -> dict[str, builtins.list[dt.date]]:
        """The business days each trade's item was disputed on (``None``: every trade)."""
        ...

    def forget_op(self, op_id: str) -> None:
        """Delete what ``op_id`` carried (the relay, when the chain refuses it for good)."""
        ...


class Dilutions(Protocol):
    """Dilutions of debt items by credit notes: proposed, accepted."""

    def add(self, event: DilutionEvent) -> None: ...
    def for_item(self, item_id: str) -> builtins.list[DilutionEvent]:
        """The item's dilution events, oldest first."""
        ...

    def forget_op(self, op_id: str) -> None:
        """Delete what ``op_id`` carried (the relay, when the chain refuses it for good)."""
        ...


class CancelApprovals(Protocol):
    """Each party's approval of cancelling a debt item."""

    def add(self, approval: CancelApproval) -> None: ...
    def for_item(self, item_id: str) -> builtins.list[CancelApproval]: ...
    def for_items(self, item_ids: Sequence[str]) -> dict[str, builtins.list[CancelApproval]]:
        """``for_item`` of each of ``item_ids`` that has approvals, in one read."""
        ...

    def forget_op(self, op_id: str) -> None:
        """Delete what ``op_id`` carried (the relay, when the chain refuses it for good)."""
        ...


class Notifications(Protocol):
    """The event outbox of webhooks and the event stream (issue 16): written in the
    transaction that records the fact."""

    def add(
        self, *, event_id: str, org_id: str, kind: str, subject_id: str | None,
        data: dict[str, Any],
    ) -> bool:  # fmt: skip
        """Record an event for ``org_id`` once per ``event_id``; False when it was already."""
        ...


class SettlementRecords(Protocol):
    """Locked repayment routes and the settlement notices given (issue 20)."""

    def add_route(self, event: RouteEvent) -> None: ...
    def routes(self, item_id: str) -> builtins.list[RouteEvent]:
        """The item's route events (standing: their op not refused), oldest first."""
        ...

    def routed_items(self) -> dict[str, RouteEvent]:
        """Every item's current route (its latest standing event)."""
        ...

    def notify(self, notice: Notice) -> bool:
        """Record a notice; False (nothing written) when its key was given before."""
        ...

    def notices(
        self, *, subject_id: str | None = None, kind: str | None = None
    ) -> builtins.list[Notice]: ...
    def forget_op(self, op_id: str) -> None:
        """Delete the route events and notices ``op_id`` carried (the chain refused it)."""
        ...


class DefaultMarks(Protocol):
    """Debt items marked defaulted."""

    def add(self, mark: DefaultMark) -> None: ...
    def for_item(self, item_id: str) -> builtins.list[DefaultMark]: ...
    def forget_op(self, op_id: str) -> None:
        """Delete what ``op_id`` carried (the relay, when the chain refuses it for good)."""
        ...


class WarehouseReceipts(Protocol):
    """Warehouse receipts with their pledges, sales (offer, payments, closing) and releases."""

    def add(self, receipt: WarehouseReceipt) -> None: ...
    def lock(self, receipt_id: str) -> None:
        """Hold the receipt's row until the transaction ends (one writer at a time)."""
        ...

    def get(self, receipt_id: str) -> WarehouseReceipt | None: ...
    def add_pledge(self, pledge: ReceiptPledge) -> None: ...
    def pledges(self, receipt_id: str) -> builtins.list[ReceiptPledge]: ...
    def live_pledges(self, bank_id: str) -> builtins.list[ReceiptPledge]:
        """The receipts pledged to ``bank_id`` now (each receipt's last event)."""
        ...

    def add_sale(self, sale: ReceiptSale) -> None: ...
    def get_sale(self, sale_id: str) -> ReceiptSale | None: ...
    def sale_into(self, buyer_receipt_id: str) -> ReceiptSale | None:
        """The sale whose buyer's units pass into ``buyer_receipt_id``."""
        ...

    def sales(self, receipt_id: str) -> builtins.list[ReceiptSale]: ...
    def add_sale_event(self, event: SaleEvent) -> None: ...
    def sale_events(self, sale_id: str) -> builtins.list[SaleEvent]: ...
    def add_release(self, release: GoodsRelease) -> None: ...
    def releases(self, receipt_id: str) -> builtins.list[GoodsRelease]: ...
    def forget_op(self, op_id: str) -> None:
        """Delete what ``op_id`` carried (the relay, when the chain refuses it for good)."""
        ...


class GoodsPrices(Protocol):
    """Goods prices from the feed, every price kept."""

    def add(self, price: GoodsPrice) -> None: ...
    def latest(self, goods_code: str) -> GoodsPrice | None: ...


class ProductPolicies(Protocol):
    """Banks' product policies, one version per edit."""

    def add(self, version: PolicyVersion) -> None:
        """Store a version (a version number already stored is a ConflictError)."""
        ...

    def latest(self, bank_id: str) -> PolicyVersion | None: ...
    def get(self, bank_id: str, version: int) -> PolicyVersion | None: ...
    def versions(self, bank_id: str) -> builtins.list[PolicyVersion]: ...


class ReportAnchors(Protocol):
    """Which operation registers each verification report's hash."""

    def add(self, anchor: ReportAnchor) -> None: ...
    def known(self, report_hashes: Sequence[str]) -> set[str]:
        """Which of ``report_hashes`` are anchored or queued already."""
        ...

    def forget_op(self, op_id: str) -> None:
        """Delete what ``op_id`` carried (the relay, when the chain refuses it for good)."""
        ...


class DocumentFindings(Protocol):
    """Warnings kept with stored documents (business rules and date checks that do not refuse)."""

    def add_many(self, findings: Sequence[DocumentFinding]) -> None: ...
    def for_document(self, doc_id: str) -> builtins.list[DocumentFinding]: ...


class Presentations(Protocol):
    """Invoice fingerprints this platform registered on the consortium's Notary."""

    def add(self, presentation: InvoicePresentation) -> None: ...
    def known(self, fingerprints: Sequence[str], *, except_op: str | None = None) -> set[str]:
        """Which of ``fingerprints`` this platform registered or queued (by another operation
        than ``except_op``, if given)."""
        ...

    def forget_op(self, op_id: str) -> None:
        """Delete what ``op_id`` carried (the relay, when the chain refuses it for good)."""
        ...


class Resubmissions(Protocol):
    """How many times each stored document was submitted again byte for byte."""

    def note(self, doc_ids: Sequence[str]) -> None:
        """Count one more submission of each of ``doc_ids`` (a repeated id counts each time)."""
        ...

    def counts(self) -> dict[str, int]: ...


class Mandates(Protocol):
    """Who may send whose documents: a principal's mandates to its agents."""

    def add(self, mandate: Mandate) -> None:
        """Record a mandate (an id already stored is a ConflictError)."""
        ...

    def involving(self, org_ids: Sequence[str]) -> builtins.list[Mandate]:
        """Mandates whose principal is one of ``org_ids``."""
        ...

    def get(self, mandate_id: str) -> Mandate | None: ...
    def revoke(self, mandate: Mandate) -> None:
        """Record ``mandate``'s revocation (its ``revoked_on``, ``revoked_by``, reason)."""
        ...

    def list(self) -> builtins.list[Mandate]: ...


class DataConsents(Protocol):
    """A core enterprise's data consents, its price list, and the metered reads (issue 16)."""

    def add(self, consent: Consent) -> None:
        """Record a consent (an id already stored is a ConflictError)."""
        ...

    def get(self, consent_id: str) -> Consent | None: ...
    def revoke(self, consent: Consent) -> None:
        """Record ``consent``'s revocation (its ``revoked_at``, ``revoked_by``, reason)."""
        ...

    def between(
        self, *, grantor_id: str | None = None, grantee_id: str | None = None
    ) -> builtins.list[Consent]:
        """Consents of ``grantor_id`` and/or to ``grantee_id``, oldest first."""
        ...

    def set_price(self, price: DataPrice) -> None:
        """Set the grantor's price of a read of ``price.kind`` (replacing the former one)."""
        ...

    def prices(self, grantor_id: str) -> builtins.list[DataPrice]: ...
    def record(self, usage: DataUsage) -> None:
        """Meter one read."""
        ...

    def usage(
        self, *, grantor_id: str | None = None, grantee_id: str | None = None,
        start: dt.datetime | None = None, end: dt.datetime | None = None,
    ) -> builtins.list[DataUsage]:  # fmt: skip
        """Reads of ``grantor_id``'s data and/or by ``grantee_id``, ``start`` <= read_at <
        ``end``, oldest first."""
        ...


class SignalClearances(Protocol):
    """Fraud signals an operator cleared, each with its reason."""

    def add(self, clearance: SignalClearance) -> None: ...
    def for_trades(self, trade_ids: Sequence[str]) -> builtins.list[SignalClearance]: ...


class TransferPayments(Protocol):
    """Supplier invoices paid by transfers of debt items."""

    def add(self, payment: InvoicePaidByTransfer) -> None: ...
    def for_trades(self, trade_ids: Sequence[str]) -> builtins.list[InvoicePaidByTransfer]: ...
    def by_holding(self, holding_id: str) -> builtins.list[InvoicePaidByTransfer]: ...
    def forget_op(self, op_id: str) -> None:
        """Delete what ``op_id`` carried (the relay, when the chain refuses it for good)."""
        ...


@dataclass(frozen=True, slots=True)
class StoredFacts:
    """A trade's invoice facts as kept in the store (``services.trade_facts``).

    Attributes:
        trade_id: the trade.
        documents_key: the key of the document set they were computed from.
        version: the version of the computation.
        facts: the facts as JSON text.
    """

    trade_id: str
    documents_key: str
    version: int
    facts: str


class TradeFacts(Protocol):
    """Each trade's invoice facts, kept so that readers need not decode its documents."""

    def get_many(self, trade_ids: Sequence[str]) -> dict[str, StoredFacts]:
        """The kept facts of each of ``trade_ids`` that has a row, by trade id."""
        ...

    def stamps(self, since: dt.datetime) -> dict[str, dt.datetime]:
        """When each trade changed at or after ``since`` was last changed, by trade id (a
        store may give more trades)."""
        ...

    def candidates(
        self, trade_ids: Sequence[str] | None
    ) -> list[tuple[TradeRecord, tuple[str, int] | None]]:
        """Every trade (or those of ``trade_ids``), oldest first, without its report, with the
        (documents key, version) kept for it, or None when it has no row."""
        ...

    def put_many(self, rows: Sequence[StoredFacts]) -> None:
        """Keep these rows, replacing a trade's earlier row (an upsert: writers at once do
        not collide)."""
        ...


class UnitOfWork(Protocol):
    """One database transaction over every repository. Repositories never commit."""

    @property
    def organisations(self) -> Organisations: ...
    @property
    def documents(self) -> Documents: ...
    @property
    def trades(self) -> Trades: ...
    @property
    def trade_facts(self) -> TradeFacts: ...
    @property
    def items(self) -> DebtItems: ...
    @property
    def financings(self) -> Financings: ...
    @property
    def goods_financings(self) -> GoodsFinancings: ...
    @property
    def repayments(self) -> Repayments: ...
    @property
    def batches(self) -> Batches: ...
    @property
    def outbox(self) -> Outbox: ...
    @property
    def settings(self) -> Settings: ...
    @property
    def risk_models(self) -> RiskModels: ...
    @property
    def risk_alerts(self) -> RiskAlerts: ...
    @property
    def disputes(self) -> Disputes: ...
    @property
    def dilutions(self) -> Dilutions: ...
    @property
    def cancel_approvals(self) -> CancelApprovals: ...
    @property
    def default_marks(self) -> DefaultMarks: ...
    @property
    def settlement(self) -> SettlementRecords: ...
    @property
    def notifications(self) -> Notifications: ...
    @property
    def receipts(self) -> WarehouseReceipts: ...
    @property
    def prices(self) -> GoodsPrices: ...
    @property
    def policies(self) -> ProductPolicies: ...
    @property
    def report_anchors(self) -> ReportAnchors: ...
    @property
    def resubmissions(self) -> Resubmissions: ...
    @property
    def presentations(self) -> Presentations: ...
    @property
    def mandates(self) -> Mandates: ...
    @property
    def signal_clearances(self) -> SignalClearances: ...
    @property
    def transfer_payments(self) -> TransferPayments: ...
    @property
    def document_findings(self) -> DocumentFindings: ...
    @property
    def consents(self) -> DataConsents: ...

    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back anything not committed."""
        ...

    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def savepoint(self) -> AbstractContextManager[None]:
        """A part of the transaction undone alone: an exception inside the block rolls back
        what the block wrote (and what the repositories journalled for undo since it began,
        ``services.undo``) and is raised again; the rest of the transaction goes on."""
        ...

    def together(self) -> AbstractContextManager[None]:
        """Writes held to the block's end and stored there set-based, one statement a table:
        new financings, holding updates, presentations and chain operations (in the order
        added, ``Outbox.together``). Reads in the block see them. What the repositories
        journal for undo is journalled as each write is made. If the block raises, none is
        stored; a write refused when stored is raised at the block's end (the transaction
        can then only be rolled back)."""
        ...


class UnitOfWorkFactory(Protocol):
    """Makes a fresh unit of work per use case."""

    def __call__(self) -> UnitOfWork: ...


# --------------------------------------------------------------------------- chain, keys, clock


class ChainRejectedError(FourFlowError, RuntimeError):
    """The chain refused an operation for good (a revert); retrying it cannot succeed.

    Any other exception from a ``Ledger`` (node unreachable, timeout) leaves the operation
    queued for the next relay.
    """

    def __init__(self, op_id: str, reason: str) -> None:
        self.op_id = op_id
        self.reason = reason
        super().__init__(f"chain refused {op_id}: {reason}")


class Ledger(Protocol):
    """The consortium chain, seen through FourFlow's contracts."""

    def apply(self, op: ChainOp) -> ChainReceipt:
        """Apply one operation; idempotent by ``op.op_id`` (a retry returns the first receipt)."""
        ...

    def apply_many(self, ops: Sequence[ChainOp]) -> builtins.list[ChainReceipt]:
        """Apply several operations, pipelined; same guarantees as ``apply`` for each."""
        ...

    def is_applied(self, op: ChainOp) -> bool:
        """True when the chain has already applied ``op``."""
        ...

    def info(self) -> ChainInfo: ...

    def sign_confirmation(
        self, debtor_org_id: str, terms: ConfirmationTerms, deadline: int
    ) -> Confirmation:
        """The debtor's EIP-712 confirmation of an item's ``terms`` (to be issued, or issued).

        In production a debtor signs client-side instead.
        """
        ...

    def sign_report(self, verifier_org_id: str, issue: IssueItem) -> str:
        """The verifier's EIP-712 signature of the verification report on an item to issue
        (bound to its trade and report hashes, parties, amount, maturity and account bank)."""
        ...

    def chain_today(self) -> dt.date:
        """The chain's clock as a date (UTC): the contracts refuse value dates after it."""
        ...

    def read(self, what: str, *args: Any) -> Any:
        """Read contract state for audits: ``item``, ``holding``, ``item_holdings``,
        ``fingerprint``, ``anchor``, ``member``. Returns plain Python values."""
        ...


class KeyStore(Protocol):
    """Each organisation's chain account, kept encrypted."""

    def create(self, org_id: str) -> str:
        """Create and store a new account for ``org_id``; return its 0x address."""
        ...

    def address(self, org_id: str) -> str | None: ...
    def private_key(self, org_id: str) -> bytes:
        """Decrypt the organisation's key (for local signing inside the chain adapter)."""
        ...

    def holds_own_key(self, org_id: str) -> bool:
        """True when the organisation holds its own key (the platform never signs for it)."""
        ...

    def hold_own(self, org_id: str, address: str) -> str:
        """Record that ``org_id`` holds its own key at ``address``; the checksummed address."""
        ...


class Clock(Protocol):
    """Today's business date (tests and the demo replay a timeline)."""

    def today(self) -> dt.date: ...
    def now(self) -> dt.datetime: ...


def iter_chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Yield ``items`` in slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
