"""Audit: prove the store, its documents and the chain agree, record by record.

Every business record is compared with what the chain holds: debt items, holdings (holder,
amounts, pledge bank, principal, interest, rate), financings (principal, bank, rate, start and
state against the chain's pledge), disputes, warehouse receipts, anchored batches (their roots
recomputed from the store's members) and stored documents (the raw bytes re-read and re-hashed
against the stored fingerprint and the fingerprint on the chain; the stored payload against
what the raw bytes say). The chain side is read as a whole too, so a record deleted from the
store is found: every fingerprint a FourFlow document registration put on the chain must have
its document, every anchored batch its batch, every issued item its item.

Operations still pending, or failed, are named; a record that cannot be checked is named too,
never skipped. Each finding is a ``Discrepancy``: the record (kind and id), the field, the
store's value and the chain's.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fourflow.domain.debt import Basis, DebtItem, Holding, ItemStatus, day_number
from fourflow.domain.documents import Document
from fourflow.domain.errors import FourFlowError
from fourflow.domain.facts import DisputeEvent, is_disputed
from fourflow.domain.financing import Financing, FinancingStatus, GoodsFinancing
from fourflow.domain.hashing import HashAlgorithm, fingerprint, fingerprint_bytes, merkle_root
from fourflow.domain.money import CURRENCY_NUMERIC
from fourflow.domain.parties import Organisation
from fourflow.domain.receipts import GoodsRelease, ReceiptPledge, WarehouseReceipt
from fourflow.domain.settlement import RouteEvent
from fourflow.services import commands as cmd
from fourflow.services.common import canonical_json
from fourflow.services.items.common import text_hash
from fourflow.services.ports import (
    Batch,
    ChainOp,
    Ledger,
    OpKind,
    OpStatus,
    StoredDocument,
    TradeRecord,
    UnitOfWork,
    UnitOfWorkFactory,
)
from fourflow.services.reading import DocumentReader
from fourflow.services.receipts import live_pledge

ReaderFor = Callable[[str | None], DocumentReader]


@dataclass(frozen=True, slots=True)
class Discrepancy:
    """One difference between the store and the chain (or the store and its own documents).

    Attributes:
        kind: the record's kind (``item``, ``holding``, ``financing``, ``document``,
            ``batch``, ``dispute``, ``receipt``, ``goods_financing``, ``operation``, ``token``).
        record_id: the record's id (a fingerprint or chain key for a record the store lacks).
        field: what differs (``pledge_bank``, ``principal``, ``raw``, ``payload.total`` ...).
        store: the store's value (None: the store has no such record or value).
        chain: the chain's value (None: the chain has none); for a document's payload, what
            the raw bytes whose fingerprint is on the chain say.
        note: what it means, in words.
    """

    kind: str
    record_id: str
    field: str
    store: str | None
    chain: str | None
    note: str = ""

    def __str__(self) -> str:
        text = f"{self.kind} {self.record_id}: {self.field}: store {self.store} chain {self.chain}"
        return f"{text} ({self.note})" if self.note else text

    def as_dict(self) -> dict[str, str | None]:
        """The discrepancy as JSON-able fields."""
        return {
            "kind": self.kind,
            "id": self.record_id,
            "field": self.field,
            "store": self.store,
            "chain": self.chain,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class AuditReport:
    """The outcome of an audit.

    Attributes:
        items_checked: debt items compared.
        holdings_checked: holdings compared.
        financings_checked: financings compared.
        documents_checked: stored documents re-hashed and compared.
        batches_checked: anchoring batches recomputed and compared.
        receipts_checked: warehouse receipts compared.
        pending_ops: chain operations still queued (each also a discrepancy).
        failed_ops: chain operations the chain refused (each also a discrepancy).
        discrepancies: every difference found.
    """

    items_checked: int
    holdings_checked: int
    financings_checked: int
    documents_checked: int
    batches_checked: int
    receipts_checked: int
    pending_ops: int
    failed_ops: int
    discrepancies: tuple[Discrepancy, ...]

    @property
    def ok(self) -> bool:
        """True when nothing differs, nothing is pending and nothing failed."""
        return not self.discrepancies

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-able fields."""
        return {
            "ok": self.ok,
            "items_checked": self.items_checked,
            "holdings_checked": self.holdings_checked,
            "financings_checked": self.financings_checked,
            "documents_checked": self.documents_checked,
            "batches_checked": self.batches_checked,
            "receipts_checked": self.receipts_checked,
            "pending_ops": self.pending_ops,
            "failed_ops": self.failed_ops,
            "discrepancies": [d.as_dict() for d in self.discrepancies],
        }


# DebtItem item states on the chain for the store's statuses (pending items are not yet there).
CHAIN_STATE = {
    ItemStatus.ACTIVE: 1,
    ItemStatus.OVERDUE: 1,
    ItemStatus.SETTLED: 2,
    ItemStatus.DEFAULTED: 3,
}
CHAIN_CANCELLED = 4
ZERO_ADDRESS = "0" * 40
PLEDGED = (FinancingStatus.ACTIVE, FinancingStatus.REPAID, FinancingStatus.DEFAULTED)


def _hex(value: object) -> str:
    """Lower-case hex without ``0x`` or an algorithm prefix (``sha256:``)."""
    text = str(value).lower()
    return text.split(":", 1)[-1].removeprefix("0x")


def _text(value: object) -> str | None:
    return None if value is None else str(value)


# --------------------------------------------------------------------------- ops


def _op_amount(op: ChainOp) -> int:
    """The amount a token mint or burn moves: the one place audit reads an op's arguments.

    Works on the typed command (``op.command.amount``) and on the older ``params`` mapping.
    """
    command = getattr(op, "command", None)
    if command is not None:
        return int(getattr(command, "amount", 0))
    params: Mapping[str, Any] = getattr(op, "params", {})
    return int(params.get("amount", 0))


def _cancelled_items(ops: Sequence[ChainOp]) -> set[str]:
    """Items both creditor and debtor have cancelled on the chain."""
    calls: dict[str, set[str]] = {}
    for o in ops:
        if o.kind is OpKind.CANCEL_ITEM and o.status is OpStatus.DONE and o.subject_id:
            calls.setdefault(o.subject_id, set()).add(o.sender_org_id)
    return {item for item, senders in calls.items() if len(senders) >= 2}


# --------------------------------------------------------------------------- the snapshot


@dataclass(slots=True)
class _Store:
    """What the store holds, read in one transaction."""

    ops: list[ChainOp]
    items: list[DebtItem]
    holdings: dict[str, list[Holding]]
    orgs: dict[str, Organisation]
    financings: list[Financing]
    trades: dict[str, TradeRecord]
    documents: dict[str, StoredDocument]
    document_count: int
    proof_index: dict[str, int]
    batches: list[Batch]
    disputes: dict[str, list[DisputeEvent]]
    receipts: dict[str, ReceiptOnRecord]


@dataclass(frozen=True, slots=True)
class ReceiptOnRecord:
    """A warehouse receipt as the store records it: the lot, its pledges and its releases, and
    the goods financings against it."""

    receipt: WarehouseReceipt
    pledge: tuple[ReceiptPledge | None, int]
    releases: list[GoodsRelease]
    financings: tuple[GoodsFinancing, ...] = ()


def _snapshot(uow: UnitOfWork) -> _Store:
    trades = {t.id: t for t in uow.trades.list()}
    linked = [doc_id for t in trades.values() for doc_id in t.document_ids]
    documents = {d.document.id: d for d in uow.documents.get_many(list(dict.fromkeys(linked)))}
    for stored in uow.documents.unlinked():
        documents.setdefault(stored.document.id, stored)
    proof_index = {}
    for doc_id, stored in documents.items():
        if stored.batch_id is not None:
            proof = uow.documents.proof(doc_id)
            proof_index[doc_id] = int(json.loads(proof)["index"]) if proof else -1
    items = uow.items.list()
    ops = uow.outbox.list()
    applied = {o.op_id for o in ops if o.status is OpStatus.DONE}
    receipts: dict[str, ReceiptOnRecord] = {}
    for o in ops:
        if isinstance(o.command, cmd.ReceiptIssue) and o.status is OpStatus.DONE:
            record = uow.receipts.get(o.command.receipt_id)
            if record is not None:
                receipts[record.id] = ReceiptOnRecord(
                    record,
                    live_pledge(uow, record.id, lambda op_id: op_id in applied),
                    uow.receipts.releases(record.id),
                    tuple(uow.goods_financings.for_receipt(record.id)),
                )
    return _Store(
        ops=ops,
        items=items,
        holdings={i.id: uow.items.holdings(i.id) for i in items},
        orgs={o.id: o for o in uow.organisations.list()},
        financings=uow.financings.list(),
        trades=trades,
        documents=documents,
        document_count=uow.documents.count(),
        proof_index=proof_index,
        batches=uow.batches.list(),
        disputes={i.id: uow.disputes.for_item(i.id) for i in items},
        receipts=receipts,
    )


# --------------------------------------------------------------------------- the audit


class _Auditor:
    """Collects discrepancies while comparing one snapshot with the chain."""

    def __init__(self, store: _Store, ledger: Ledger, reader_for: ReaderFor) -> None:
        self.store = store
        self.ledger = ledger
        self.reader_for = reader_for
        self.found: list[Discrepancy] = []
        self.counts = {"items": 0, "holdings": 0, "financings": 0, "documents": 0}
        self.counts |= {"batches": 0, "receipts": 0}
        self.done_kinds: dict[str, set[OpKind]] = {}
        self.open_kinds: dict[str, set[OpKind]] = {}
        for o in store.ops:
            if o.subject_id:
                target = self.done_kinds if o.status is OpStatus.DONE else self.open_kinds
                target.setdefault(o.subject_id, set()).add(o.kind)

    def add(
        self, kind: str, record_id: str, field: str, store: object, chain: object, note: str = ""
    ) -> None:
        self.found.append(Discrepancy(kind, record_id, field, _text(store), _text(chain), note))

    def compare(self, kind: str, record_id: str, field: str, store: object, chain: object) -> None:
        if store != chain:
            self.add(kind, record_id, field, store, chain)

    def address_of(self, org_id: str | None) -> str | None:
        """The organisation's chain address as bare hex, or None if unknown."""
        org = self.store.orgs.get(org_id or "")
        if org is not None and org.chain_address:
            return _hex(org.chain_address)
        if org_id and len(_hex(org_id)) == 40:  # a pledge kept by address
            return _hex(org_id)
        return None

    def applied(self, subject: str, kind: OpKind) -> bool:
        return kind in self.done_kinds.get(subject, set())

    # ------------------------------------------------------------------ operations

    def operations(self) -> None:
        for o in self.store.ops:
            subject = f" of {o.subject_id}" if o.subject_id else ""
            if o.status in (OpStatus.PENDING, OpStatus.SENT):
                self.add("operation", o.op_id, "status", o.status.value, "not applied",
                         f"{o.kind.value}{subject} is not on the chain yet")  # fmt: skip
            elif o.status is OpStatus.FAILED:
                self.add("operation", o.op_id, "status", "failed", "refused",
                         f"{o.kind.value}{subject}: {o.error or 'no reason kept'}")  # fmt: skip

    # ------------------------------------------------------------------ items and holdings

    def items(self) -> None:
        cancelled = _cancelled_items(self.store.ops)
        applied = {o.op_id for o in self.store.ops if o.status is OpStatus.DONE}
        disputed = {
            item_id: is_disputed(e for e in events if e.op_id in applied)
            for item_id, events in self.store.disputes.items()
        }
        issued = 0
        for item in self.store.items:
            self.counts["items"] += 1
            if not self.applied(item.id, OpKind.ISSUE_ITEM):
                if OpKind.ISSUE_ITEM not in self.open_kinds.get(item.id, set()):
                    self.add("item", item.id, "issue", item.status.value, None,
                             "no issue operation applied or queued")  # fmt: skip
                continue  # its queued issue op is named among the operations
            issued += 1
            try:
                self.item(item, item.id in cancelled, disputed.get(item.id, False))
            except FourFlowError as exc:
                self.add("item", item.id, "read", item.status.value, None,
                         f"cannot be checked: {exc}")  # fmt: skip
        on_chain = int(self.ledger.read("item_count"))
        self.compare("item", "*", "count", issued, on_chain)
        per_trade: dict[str, int] = {}
        for item in self.store.items:
            per_trade[item.trade_id] = per_trade.get(item.trade_id, 0) + 1
        for trade_id, n in per_trade.items():
            if n > 1:
                self.add("trade", trade_id, "debt_items", n, 1, "more than one debt item")

    def item(self, item: DebtItem, cancelled: bool, disputed: bool) -> None:
        chain = self.ledger.read("item", item.id)
        if chain is None:
            self.add("item", item.id, "row", item.status.value, None, "not on the chain")
            return
        cmp = self.compare
        cmp("item", item.id, "debtor", self.address_of(item.debtor_id), _hex(chain["debtor"]))
        cmp("item", item.id, "creditor", self.address_of(item.creditor_id),
            _hex(chain["creditor"]))  # fmt: skip
        cmp("item", item.id, "currency", CURRENCY_NUMERIC.get(item.currency),
            int(chain["currency"]))  # fmt: skip
        cmp("item", item.id, "face_value", item.face_value, int(chain["face_value"]))
        cmp("item", item.id, "paid", item.paid, int(chain["paid"]))
        cmp("item", item.id, "issue_day", day_number(item.issue_date), int(chain["issue_day"]))
        cmp("item", item.id, "maturity_day", day_number(item.maturity_date),
            int(chain["maturity_day"]))  # fmt: skip
        cmp("item", item.id, "basis", int(Basis(item.basis)), int(chain["basis"]))
        cmp("item", item.id, "asset_type", int(item.asset_type), int(chain["asset_type"]))
        cmp("item", item.id, "report_hash", _hex(item.report_hash), _hex(chain["report_hash"]))
        trade = self.store.trades.get(item.trade_id)
        if trade is None:
            self.add("item", item.id, "trade", None, _hex(chain["trade_hash"]),
                     f"trade {item.trade_id} is not in the store")  # fmt: skip
        else:
            cmp("item", item.id, "trade_hash", self.trade_hash(trade), _hex(chain["trade_hash"]))
        want = CHAIN_CANCELLED if cancelled else CHAIN_STATE.get(item.status)
        if want is not None:
            cmp("item", item.id, "state", f"{item.status.value} ({want})", _state(chain))
        life = self.ledger.read("item_life", item.id)
        cmp("dispute", item.id, "disputed", disputed, bool(life["disputed"]))
        self.holdings(item)

    def trade_hash(self, trade: TradeRecord) -> str:
        """The trade's hash recomputed from the fingerprints of its stored documents."""
        prints = [
            self.store.documents[d].fingerprint
            for d in trade.document_ids
            if d in self.store.documents
        ]
        return hashlib.sha256(canonical_json(sorted(prints))).hexdigest()

    def holdings(self, item: DebtItem) -> None:
        stored = self.store.holdings.get(item.id, [])
        on_chain = [_hex(h) for h in self.ledger.read("item_holdings", item.id)]
        self.compare("item", item.id, "holdings", len(stored), len(on_chain))
        for holding in stored:
            self.counts["holdings"] += 1
            self.holding(holding)

    def holding(self, holding: Holding) -> None:
        hid = holding.id
        chain = self.ledger.read("holding", hid)
        if chain is None:
            self.add("holding", hid, "row", holding.amount, None, "not on the chain")
            return
        cmp = self.compare
        cmp("holding", hid, "holder", self.address_of(holding.holder_id), _hex(chain["holder"]))
        cmp("holding", hid, "amount", holding.amount, int(chain["amount"]))
        cmp("holding", hid, "outstanding", holding.outstanding, int(chain["outstanding"]))
        cmp("holding", hid, "received", holding.received, int(chain["paid_to_holder"]))
        pledge = holding.pledge
        bank_hex = _hex(chain["pledge_bank"])
        chain_bank = None if bank_hex == ZERO_ADDRESS else bank_hex
        store_bank = self.address_of(holding.pledge_bank_id) if holding.pledge_bank_id else None
        cmp("holding", hid, "pledge_bank", store_bank, chain_bank)
        if pledge is not None:
            cmp("holding", hid, "pledge.bank", self.address_of(pledge.bank), chain_bank)
        cmp("holding", hid, "pledge_principal", pledge.principal if pledge else 0,
            int(chain["pledge_principal"]))  # fmt: skip
        cmp("holding", hid, "pledge_interest", pledge.interest if pledge else 0,
            int(chain["pledge_interest"]))  # fmt: skip
        cmp("holding", hid, "pledge_rate_bps", pledge.rate_bps if pledge else 0,
            int(chain["pledge_rate_bps"]))  # fmt: skip
        cmp("holding", hid, "pledge_accrued_to", pledge.accrued_to if pledge else 0,
            int(chain["pledge_accrued_to"]))  # fmt: skip

    # ------------------------------------------------------------------ financings

    def financings(self) -> None:
        for financing in self.store.financings:
            self.counts["financings"] += 1
            try:
                self.financing(financing)
            except FourFlowError as exc:
                self.add("financing", financing.id, "read", financing.status.value, None,
                         f"cannot be checked: {exc}")  # fmt: skip

    def financing(self, f: Financing) -> None:
        if f.status not in PLEDGED:
            return  # nothing of it is on the chain yet (a queued pledge is named as an op)
        pledges = self.ledger.read("pledges", f.holding_id)
        if not pledges:
            self.add("financing", f.id, "pledge", f.status.value, None,
                     f"holding {f.holding_id} was never pledged on the chain")  # fmt: skip
            return
        bank = self.address_of(f.bank_id)
        mine = [p for p in pledges if _hex(p["bank"]) == bank] or pledges
        last = mine[-1]
        cmp = self.compare
        cmp("financing", f.id, "bank", bank, _hex(last["bank"]))
        cmp("financing", f.id, "principal", f.principal, int(last["principal"]))
        cmp("financing", f.id, "rate_bps", f.rate_bps, int(last["rate_bps"]))
        cmp("financing", f.id, "start_day", day_number(f.start_date), int(last["start_day"]))
        holding = self.ledger.read("holding", f.holding_id)
        if holding is None:
            self.add("financing", f.id, "holding", f.holding_id, None, "not on the chain")
            return
        owed = int(holding["pledge_principal"]) + int(holding["pledge_interest"])
        pledged_to = _hex(holding["pledge_bank"])
        chain_state = "active" if owed > 0 and pledged_to == bank else "repaid"
        if chain_state == "repaid" and _hex(holding["holder"]) == bank:
            recourse = self.ledger.read("recourse", f.holding_id)
            if recourse is not None and _hex(recourse["bank"]) == bank:
                chain_state = "defaulted"  # foreclosed: the holding passed to the bank
        cmp("financing", f.id, "state", f.status.value, chain_state)

    # ------------------------------------------------------------------ documents

    def documents(self, registered: Mapping[str, Mapping[str, Any]]) -> None:
        reached = len(self.store.documents)
        if reached != self.store.document_count:
            self.add("document", "*", "count", self.store.document_count, reached,
                     "documents neither in a trade nor unlinked cannot be reached")  # fmt: skip
        for doc_id, stored in self.store.documents.items():
            self.counts["documents"] += 1
            on_chain = _hex(stored.fingerprint) in registered
            if not on_chain:
                self.add("document", doc_id, "fingerprint", stored.fingerprint, None,
                         "not registered on the chain")  # fmt: skip
            self.document(stored, on_chain)

    def document(self, stored: StoredDocument, on_chain: bool) -> None:
        doc_id = stored.document.id
        chain_fp = stored.fingerprint if on_chain else None
        try:
            parsed = self.reparse(stored)
        except (FourFlowError, ValueError) as exc:
            self.add("document", doc_id, "raw", f"unreadable: {exc}", chain_fp,
                     "the stored raw bytes cannot be re-read")  # fmt: skip
            return
        match = next((p for p in parsed if p[0] == stored.fingerprint), None)
        if match is None:
            rehashed = ", ".join(p[0] for p in parsed) or "no document"
            self.add("document", doc_id, "raw", rehashed, chain_fp,
                     f"the raw bytes re-hash to another fingerprint than the stored "
                     f"{stored.fingerprint}")  # fmt: skip
            return
        from_raw = match[1]
        if from_raw is None:
            return  # a tabular row group: its payload is the canonical form just re-hashed
        mine = stored.document
        # Who submitted it and the scenario declared with it are not in the bytes.
        theirs = dataclasses.replace(
            from_raw, id=mine.id, submitted_by=mine.submitted_by, scenario=mine.scenario
        )
        for f in dataclasses.fields(Document):
            ours, raw_says = getattr(mine, f.name), getattr(theirs, f.name)
            if ours != raw_says:
                self.add("document", doc_id, f"payload.{f.name}", ours, raw_says,
                         "the stored payload differs from its raw bytes")  # fmt: skip

    def reparse(self, stored: StoredDocument) -> list[tuple[str, Document | None]]:
        """The fingerprints (and documents) the stored raw bytes give when read again."""
        algorithm = HashAlgorithm(stored.fingerprint.split(":", 1)[0])
        raw = stored.raw
        if raw[:1] == b"{":
            # A tabular export keeps each row group as {"document": canonical, "rows": [...]}.
            try:
                value = json.loads(raw)
            except ValueError:
                value = None
            if isinstance(value, dict) and set(value) == {"document", "rows"}:
                return [(fingerprint(canonical_json(value["document"]), algorithm), None)]
        reader = self.reader_for(stored.document.submitted_by)
        parsed = reader.read(raw, source=stored.source or stored.document.id)
        return [(fingerprint(p.canonical, algorithm), p.document) for p in parsed]

    def registrations(self, registered: Mapping[str, Mapping[str, Any]]) -> None:
        """Every fingerprint a FourFlow document registration put on the chain has its document."""
        stored = {_hex(d.fingerprint) for d in self.store.documents.values()}
        document_txs = {
            (o.tx_hash or "").lower(): o.op_id
            for o in self.store.ops
            if o.kind is OpKind.REGISTER_FINGERPRINTS
            and o.status is OpStatus.DONE
            and o.subject_id is None  # ingestion's own registrations; reports etc. have one
        }
        for fp, event in registered.items():
            op_id = document_txs.get(str(event["tx_hash"]).lower())
            if op_id is not None and fp not in stored:
                note = "a document registered on the chain is missing from the store"
                self.add("document", f"sha256:{fp}", "row", None, f"registered by {op_id}", note)

    # ------------------------------------------------------------------ batches

    def batches(self) -> None:
        members: dict[str, list[tuple[int, StoredDocument]]] = {}
        for doc_id, stored in self.store.documents.items():
            if stored.batch_id is not None:
                index = self.store.proof_index.get(doc_id, -1)
                members.setdefault(stored.batch_id, []).append((index, stored))
        anchored_roots = set()
        for batch in self.store.batches:
            self.counts["batches"] += 1
            docs = [s for _, s in sorted(members.get(batch.id, []), key=lambda m: m[0])]
            self.compare("batch", batch.id, "count", batch.count, len(docs))
            if docs:
                root = merkle_root([fingerprint_bytes(s.fingerprint) for s in docs]).hex()
                self.compare("batch", batch.id, "root", batch.root, root)
            if not self.applied(batch.id, OpKind.ANCHOR_BATCH):
                if OpKind.ANCHOR_BATCH not in self.open_kinds.get(batch.id, set()):
                    self.add("batch", batch.id, "anchor", batch.root, None,
                             "no anchoring operation applied or queued")  # fmt: skip
                continue
            anchor = self.ledger.read("anchor", batch.id)
            if anchor is None:
                self.add("batch", batch.id, "anchor", batch.root, None, "not anchored")
                continue
            anchored_roots.add(_hex(anchor["root"]))
            self.compare("batch", batch.id, "root", _hex(batch.root), _hex(anchor["root"]))
            self.compare("batch", batch.id, "count", batch.count, int(anchor["count"]))
            if docs:
                root = merkle_root([fingerprint_bytes(s.fingerprint) for s in docs]).hex()
                self.compare("batch", batch.id, "members_root", root, _hex(anchor["root"]))
        anchored_roots |= {_hex(b.root) for b in self.store.batches}  # its op is named if off
        # The API audit trail's daily heads (trail_anchor) and consents' grants and
        # revocations (consent_anchor) are anchored as batches of their own.
        anchored_roots |= {
            _hex(o.command.root)
            for o in self.store.ops
            if isinstance(o.command, cmd.AnchorBatch)
            and o.command.batch_id.startswith(("audit-head-", "consent-"))
        }
        for event in self.ledger.read("anchored_batches"):
            if _hex(event["root"]) not in anchored_roots:
                self.add("batch", _hex(event["batch_id"]), "row", None,
                         f"root {_hex(event['root'])} count {event['count']}",
                         "a batch anchored on the chain is missing from the store")  # fmt: skip

    # ------------------------------------------------------------------ receipts, tokens

    def receipts(self) -> None:
        issued = sorted(
            o.subject_id
            for o in self.store.ops
            if o.kind is OpKind.RECEIPT_ISSUE and o.status is OpStatus.DONE and o.subject_id
        )
        for receipt_id in issued:
            self.counts["receipts"] += 1
            chain = self.ledger.read("receipt", receipt_id)
            on_record = self.store.receipts.get(receipt_id)
            if chain is None:
                self.add("receipt", receipt_id, "row", "issued", None, "not on the chain")
            elif on_record is None:
                self.add("receipt", receipt_id, "row", None, "issued",
                         "issued on the chain, but the store has no record of it")  # fmt: skip
            else:
                self.receipt(on_record, chain)

    def receipt(self, on_record: ReceiptOnRecord, chain: Mapping[str, Any]) -> None:
        r, cmp = on_record.receipt, self.compare
        cmp("receipt", r.id, "warehouse", self.address_of(r.warehouse_id), _hex(chain["warehouse"]))
        cmp("receipt", r.id, "description_hash", _hex(r.description_hash),
            _hex(chain["description_hash"]))  # fmt: skip
        cmp("receipt", r.id, "evidence_hash", _hex(r.evidence_hash), _hex(chain["evidence_hash"]))
        cmp("receipt", r.id, "goods_code", r.goods_code, _text32(chain["goods_code"]))
        cmp("receipt", r.id, "unit", r.unit, _text32(chain["unit"]))
        cmp("receipt", r.id, "location", r.location, _text32(chain["location"]))
        applied = {o.op_id for o in self.store.ops if o.status is OpStatus.DONE}
        released = sum(x.quantity for x in on_record.releases if x.op_id in applied)
        cmp("receipt", r.id, "released", released, int(chain["released"]))
        live, owed = on_record.pledge
        bank = self.address_of(live.bank_id) if live and live.bank_id else None
        chain_bank = _hex(chain["pledge_bank"]) if int(chain["pledge_amount"]) else None
        cmp("receipt", r.id, "pledge_bank", bank, chain_bank)
        cmp("receipt", r.id, "pledge_amount", owed, int(chain["pledge_amount"]))
        # an active goods financing is a pledge the chain holds for its bank (issue 15)
        for fin in on_record.financings:
            if fin.status is FinancingStatus.ACTIVE:
                cmp("goods_financing", fin.id, "pledge_bank", self.address_of(fin.bank_id),
                    chain_bank)  # fmt: skip

    def routes(self, routes: Mapping[str, RouteEvent]) -> None:
        """Each issued item's locked repayment route (issue 20) against Repayment.route: a
        route the store records but the chain does not hold, or one locked on the chain
        outside the platform, is named."""
        status = {o.op_id: o.status for o in self.store.ops}
        for item in self.store.items:
            route = routes.get(item.id)
            if not self.applied(item.id, OpKind.ISSUE_ITEM):
                continue
            if route is not None and status.get(route.op_id) is not OpStatus.DONE:
                continue  # its lock or change op waits for the chain (named among the ops)
            chain = self.ledger.read("route", item.id)
            kind = int(chain["kind"])
            self.compare("route", item.id, "kind", route.kind.code if route else 0, kind)
            if route is not None and route.kind.value == "account" and kind == route.kind.code:
                self.compare("route", item.id, "bank", self.address_of(route.bank_id),
                             _hex(chain["bank"]))  # fmt: skip
                account = _hex(text_hash(route.account or "-"))
                self.compare("route", item.id, "account_hash", account, _hex(chain["account_hash"]))

    def tokens(self) -> None:
        flows = {OpKind.TOKEN_MINT: 0, OpKind.TOKEN_BURN: 0}
        for o in self.store.ops:
            if o.kind in flows and o.status is OpStatus.DONE:
                flows[o.kind] += _op_amount(o)
        if not any(o.kind in flows for o in self.store.ops):
            return
        supply = int(self.ledger.read("token_supply"))
        self.compare("token", "settlement", "supply",
                     flows[OpKind.TOKEN_MINT] - flows[OpKind.TOKEN_BURN], supply)  # fmt: skip


def _text32(value: object) -> str:
    """A left-aligned ASCII code read back from a bytes32 (unit, goods code, location)."""
    raw = value if isinstance(value, bytes) else bytes.fromhex(_hex(value))
    return raw.rstrip(b"\x00").decode("ascii", "replace")


def _state(chain_item: Mapping[str, Any]) -> str:
    names = {1: "active", 2: "settled", 3: "defaulted", 4: "cancelled"}
    state = int(chain_item.get("state", 0))
    return f"{names.get(state, 'unknown')} ({state})"


def audit(*, uow_factory: UnitOfWorkFactory, ledger: Ledger, reader_for: ReaderFor) -> AuditReport:
    """Compare every record in the store with the chain and every document with its bytes.

    ``reader_for(submitter_id)`` gives the document reader a submitter's documents were read
    with, to re-read the stored raw bytes.
    """
    with uow_factory() as uow:
        store = _snapshot(uow)
    auditor = _Auditor(store, ledger, reader_for)
    registered = {_hex(e["fingerprint"]): e for e in ledger.read("registered_fingerprints")}
    auditor.operations()
    auditor.items()
    auditor.financings()
    auditor.documents(registered)
    auditor.registrations(registered)
    auditor.batches()
    auditor.receipts()
    auditor.tokens()
    with uow_factory() as uow:
        auditor.routes(uow.settlement.routed_items())
    return AuditReport(
        items_checked=auditor.counts["items"],
        holdings_checked=auditor.counts["holdings"],
        financings_checked=auditor.counts["financings"],
        documents_checked=auditor.counts["documents"],
        batches_checked=auditor.counts["batches"],
        receipts_checked=auditor.counts["receipts"],
        pending_ops=sum(o.status in (OpStatus.PENDING, OpStatus.SENT) for o in store.ops),
        failed_ops=sum(o.status is OpStatus.FAILED for o in store.ops),
        discrepancies=tuple(auditor.found),
    )


def names(report: AuditReport, kind: str) -> set[tuple[str, str]]:
    """``(record_id, field)`` of the report's discrepancies about records of ``kind``."""
    return {(d.record_id, d.field) for d in report.discrepancies if d.kind == kind}


__all__ = ["AuditReport", "Discrepancy", "ReaderFor", "audit", "names"]
