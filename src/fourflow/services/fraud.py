"""Fraud detection across the platform, the cross-bank duplicate check, and its evaluation.

``fraud_signals_by_trade`` loads every trade, document and organisation in a few batch queries,
asks the chain which invoices another consortium member presented first, and runs the pure
detectors of ``fourflow.verification.fraud``.

Cross-bank duplicates. No bank may see another bank's documents, so members compare salted
business-key fingerprints on the chain: ``SHA-256(salt || business_key_text(invoice))``, with
one consortium salt kept in the ``fraud.consortium_salt`` setting (created once; every member
of the consortium sets the same value). ``present_invoices`` runs when a verification or a
financing request presents a trade: it reads each fingerprint's owner on the Notary; one that
is registered and not by this platform's own presentations means another member was shown the
invoice first (a ``DUPLICATE_INVOICE`` signal), and the rest are queued as one
``REGISTER_FINGERPRINTS`` outbox operation (the Notary refuses a fingerprint registered twice,
so only new ones are sent). The salt makes the fingerprints useless for guessing invoices.

``evaluate`` scores signals against the simulator's labels: precision, recall and the
false-alarm rate per fraud type, and the share of clean trades flagged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fourflow.domain.documents import DocumentKind, business_key_text
from fourflow.domain.errors import NotFoundError
from fourflow.domain.facts import InvoicePresentation
from fourflow.domain.fraud import FraudLabel, FraudType
from fourflow.domain.parties import Organisation
from fourflow.domain.trades import Trade
from fourflow.services import commands as cmd
from fourflow.services.common import get_trade, new_id
from fourflow.services.ports import (
    ChainOp,
    Ledger,
    UnitOfWork,
    UnitOfWorkFactory,
)
from fourflow.services.verification import load_trades
from fourflow.verification.fraud import FraudSignal, PlatformView, codes_by_trade, scan

SALT_SETTING = "fraud.consortium_salt"
PRESENTATION_SUBJECT = "presented:"  # outbox subject of a trade's presentation op
MAX_FINGERPRINTS_PER_OP = 256
# Evaluation targets (issue 4): per fraud type, and for clean trades.
TARGET_PRECISION = 0.95
TARGET_RECALL = 0.95
TARGET_CLEAN_FLAGGED = 0.01


# --------------------------------------------------------------------------- salted fingerprints


def consortium_salt(uow: UnitOfWork) -> bytes:
    """The consortium's fingerprint salt, created (32 random bytes) on first use.

    Two processes' first uses at once agree on one: the creator holds the setting's lock
    until it commits and reads the setting again under it, so the second finds the first's
    salt instead of writing its own over it (an upsert of each would leave the last one, and
    the first process would fingerprint with a salt nobody else uses)."""
    value = uow.settings.get(SALT_SETTING)
    if value is None:
        uow.settings.lock(SALT_SETTING)
        value = uow.settings.get(SALT_SETTING)
        if value is None:
            value = secrets.token_hex(32)
            uow.settings.put(SALT_SETTING, value)
    return bytes.fromhex(value)


def salted_fingerprint(salt: bytes, key_text: str) -> str:
    """``sha256:`` hex of SHA-256(salt || business-key text)."""
    return "sha256:" + hashlib.sha256(salt + key_text.encode("utf-8")).hexdigest()


def invoice_fingerprints(salt: bytes, trade: Trade) -> dict[str, str]:
    """Invoice id -> salted business-key fingerprint, for the trade's invoices."""
    prints = {}
    for doc in trade.of_kind(DocumentKind.INVOICE):
        text = business_key_text(doc)
        if text is not None:
            prints[doc.id] = salted_fingerprint(salt, text)
    return prints


def _own_presentations(uow: UnitOfWork, prints: Iterable[str]) -> set[str]:
    """Which of ``prints`` this platform has registered or queued (failed ops excluded)."""
    return uow.presentations.known(list(prints))


def _elsewhere(ledger: Ledger, prints: Mapping[str, str], own: set[str]) -> set[str]:
    """Ids of the invoices whose fingerprint another member registered on the chain."""
    return {
        doc_id
        for doc_id, fp in prints.items()
        if fp not in own and ledger.read("fingerprint", fp) is not None
    }


@dataclass(frozen=True, slots=True)
class Presentation:
    """What presenting a trade's invoices to the consortium found and queued.

    Attributes:
        trade_id: the trade presented.
        registered: salted fingerprints queued for registration now.
        presented_elsewhere: ids of invoices another member presented first.
    """

    trade_id: str
    registered: tuple[str, ...]
    presented_elsewhere: tuple[str, ...]


def present_invoices(
    *, uow_factory: UnitOfWorkFactory, ledger: Ledger, trade_id: str, presenter_id: str
) -> Presentation:
    """Check a trade's invoices against the chain and queue the new salted fingerprints.

    Call it where an invoice is presented: verification (presenter: the seller) and a
    financing request (presenter: the bank asked). Fingerprints another member registered
    are reported, not registered again; the op goes out with the next relay.
    """
    with uow_factory() as uow:
        record = get_trade(uow, trade_id)
        trade = load_trades(uow, [record])[0]
        prints = invoice_fingerprints(consortium_salt(uow), trade)
        own = _own_presentations(uow, prints.values())
        elsewhere = _elsewhere(ledger, prints, own)
        new = sorted(
            {fp for doc_id, fp in prints.items() if fp not in own and doc_id not in elsewhere}
        )
        for start in range(0, len(new), MAX_FINGERPRINTS_PER_OP):
            chunk = new[start : start + MAX_FINGERPRINTS_PER_OP]
            op = ChainOp(
                op_id=new_id("op"),
                command=cmd.RegisterFingerprints(tuple(chunk)),
                sender_org_id=presenter_id,
                subject_id=PRESENTATION_SUBJECT + trade_id,
            )
            uow.outbox.add(op)
            for fp in chunk:
                uow.presentations.add(InvoicePresentation(fp, trade_id, presenter_id, op.op_id))
        uow.commit()
    return Presentation(trade_id, tuple(new), tuple(sorted(elsewhere)))


def queue_presentation(
    uow: UnitOfWork,
    *,
    trade: Trade,
    presenter_id: str,
    financing_id: str,
    seen: dict[str, bool] | None = None,
) -> str | None:
    """Queue the presentation of a trade's invoices (``trade``, with its documents) to the
    consortium for a financing request, in the caller's transaction, reading nothing from the
    chain; the first op's id (None: no invoice has a business key).

    The op carries every salted fingerprint of the trade's invoices (the Notary skips those the
    presenter registered before) and is the financing's (``subject_id``), so its pledge waits
    for it and fails with it. Fingerprints this platform had not presented yet are recorded
    as presented by it. Before the relay sends it, ``presented_elsewhere`` asks the chain
    whether another member was presented an invoice first: then the relay refuses it and the
    financing fails (``services.relay``), as a decline for a duplicate did when the request
    read the chain itself. ``seen``: whether each fingerprint is known presented, kept by the
    caller across the requests of one transaction (a batch of decisions): only those it does
    not hold are read, and those recorded here are added to it.
    """
    trade_id = trade.id
    prints = invoice_fingerprints(consortium_salt(uow), trade)
    if not prints:
        return None
    every = sorted(set(prints.values()))
    own = _own_presentations(uow, every) if seen is None else _own_seen(uow, every, seen)
    first: str | None = None
    for start in range(0, len(every), MAX_FINGERPRINTS_PER_OP):
        chunk = every[start : start + MAX_FINGERPRINTS_PER_OP]
        op = ChainOp(
            op_id=new_id("op"),
            command=cmd.RegisterFingerprints(tuple(chunk)),
            sender_org_id=presenter_id,
            subject_id=financing_id,
        )
        uow.outbox.add(op)
        first = first or op.op_id
        for fp in chunk:
            if fp not in own:
                uow.presentations.add(InvoicePresentation(fp, trade_id, presenter_id, op.op_id))
                if seen is not None:
                    seen[fp] = True
    return first


def _own_seen(uow: UnitOfWork, prints: Sequence[str], seen: dict[str, bool]) -> set[str]:
    """``_own_presentations`` with the answers kept in ``seen`` (those it lacks read now)."""
    unread = [fp for fp in prints if fp not in seen]
    if unread:
        known = _own_presentations(uow, unread)
        seen.update((fp, fp in known) for fp in unread)
    return {fp for fp in prints if seen[fp]}


def presented_elsewhere(uow: UnitOfWork, ledger: Ledger, op: ChainOp) -> tuple[str, ...]:
    """The fingerprints of a financing's presentation (``queue_presentation``) that another
    consortium member registered on the chain first: registered there, and not by an
    operation of this platform still standing (this op's own records left out). Empty when
    the chain applied ``op`` already (found after a crash)."""
    if not isinstance(op.command, cmd.RegisterFingerprints):
        return ()
    prints = op.command.fingerprints
    own = uow.presentations.known(list(prints), except_op=op.op_id)
    unknown = [fp for fp in prints if fp not in own]
    if not unknown or ledger.is_applied(op):
        return ()
    return tuple(fp for fp in unknown if ledger.read("fingerprint", fp))


# --------------------------------------------------------------------------- the platform view


def note_resubmissions(uow: UnitOfWork, doc_ids: Iterable[str]) -> None:
    """Count documents presented again as another file (in the caller's transaction)."""
    uow.resubmissions.note(list(doc_ids))


def record_resubmissions(*, uow_factory: UnitOfWorkFactory, outcomes: Iterable[Any]) -> int:
    """Remember documents submitted again byte for byte; return how many were.

    Ingest refuses such a file as a ``duplicate`` (its content fingerprint is known), so
    nothing new is stored; presenting an invoice twice is a fraud signal all the same. Takes
    ingest's ``DocumentOutcome`` records (``status``, ``document_id``, the earlier document).
    ``fourflow ingest`` records them itself (only copies sent under another file name).
    """
    again = [o.document_id for o in outcomes if o.status == "duplicate" and o.document_id]
    if not again:
        return 0
    with uow_factory() as uow:
        note_resubmissions(uow, again)
        uow.commit()
    return len(again)


class _TradeCache:
    """Trades with their decoded documents, kept in this process by their stored heads (id,
    scenario, parties and document ids): documents never change, and a trade that gains or
    loses a document has another head, so a kept trade is never stale. A platform scan then
    decodes only the documents of trades it has not seen; the trades it has seen are the same
    objects as before, which also makes the comparison of a view with the last one scanned
    (``scan_once``) cheap."""

    def __init__(self, size: int = 200_000) -> None:
        self._size = size
        self._kept: OrderedDict[tuple[object, ...], Trade] = OrderedDict()
        self._lock = threading.Lock()

    def trades(self, uow: UnitOfWork) -> tuple[Trade, ...]:
        """Every trade of the store, oldest first, with its documents."""
        heads = uow.trades.heads()
        keys = [(r.id, r.scenario, r.seller_id, r.buyer_id, r.document_ids) for r in heads]
        with self._lock:
            found = {k: self._kept[k] for k in keys if k in self._kept}
        missing = [r for r, k in zip(heads, keys, strict=True) if k not in found]
        for record, trade in zip(missing, load_trades(uow, missing), strict=True):
            found[(record.id, record.scenario, record.seller_id, record.buyer_id,
                   record.document_ids)] = trade  # fmt: skip
        with self._lock:
            for k in keys:
                self._kept[k] = found[k]
                self._kept.move_to_end(k)
            while len(self._kept) > self._size:
                self._kept.popitem(last=False)
        return tuple(found[k] for k in keys)


_TRADES = _TradeCache()


def load_view(uow: UnitOfWork, *, as_of: dt.date, ledger: Ledger | None = None) -> PlatformView:
    """Every trade, organisation and unlinked document, in a handful of batch queries (the
    documents of trades seen before in this process are not read again, ``_TradeCache``);
    with a ledger, which invoices another member presented first (one chain read per
    invoice)."""
    trades = _TRADES.trades(uow)
    organisations: tuple[Organisation, ...] = tuple(uow.organisations.list())
    loose = tuple(s.document for s in uow.documents.unlinked())
    resubmitted = frozenset(uow.resubmissions.counts())
    elsewhere: set[str] = set()
    if ledger is not None:
        salt = consortium_salt(uow)
        prints = [invoice_fingerprints(salt, trade) for trade in trades]
        own = _own_presentations(uow, (fp for p in prints for fp in p.values()))
        for trade_prints in prints:
            elsewhere |= _elsewhere(ledger, trade_prints, own)
    mandates = tuple(uow.mandates.list())
    return PlatformView(
        trades, organisations, as_of, loose, frozenset(elsewhere), resubmitted, mandates
    )


def fraud_signals(
    *, uow_factory: UnitOfWorkFactory, as_of: dt.date, ledger: Ledger | None = None
) -> tuple[PlatformView, list[FraudSignal]]:
    """Scan the whole platform: the view scanned and every signal with its evidence."""
    with uow_factory() as uow:
        view = load_view(uow, as_of=as_of, ledger=ledger)
        uow.commit()  # the consortium salt, if it was created now
    return view, scan(view)


def open_signals_in(
    uow: UnitOfWork, *, trade_id: str, as_of: dt.date, view: PlatformView | None = None
) -> tuple[list[FraudSignal], Trade]:
    """The fraud signals on ``trade_id`` no operator has cleared (a platform-wide scan, as
    ``evidence.open_signals``, in the caller's unit of work), and the trade with its
    documents; ``view``: the platform as of ``as_of``, if the caller read it in this
    transaction already (``load_view``: decisions read nothing it holds)."""
    view = load_view(uow, as_of=as_of) if view is None else view
    scanned = _scanned(view)  # the view's trades and signals indexed by trade, once a view
    trade = scanned.trades.get(trade_id)
    if trade is None:
        raise NotFoundError(f"trade {trade_id} not found")
    cleared = {c.code for c in uow.signal_clearances.for_trades([trade_id])}
    found = [s for s in scanned.signals.get(trade_id, ()) if s.fraud.value not in cleared]
    return found, trade


@dataclass(frozen=True, slots=True)
class _Scanned:
    """A view's scan (``scan_once``) indexed by trade: its trades by id (the first of an id,
    as a walk of ``view.trades`` finds it) and each trade's signals in the scan's order."""

    trades: Mapping[str, Trade]
    signals: Mapping[str, tuple[FraudSignal, ...]]

    @classmethod
    def of(cls, view: PlatformView, signals: Sequence[FraudSignal]) -> _Scanned:
        by_trade: dict[str, list[FraudSignal]] = {}
        for s in signals:
            by_trade.setdefault(s.trade_id, []).append(s)
        trades = {t.id: t for t in reversed(view.trades)}  # the first of an id wins
        return cls(trades, {k: tuple(v) for k, v in by_trade.items()})


_LAST_SCAN: list[tuple[PlatformView, tuple[FraudSignal, ...]]] = []
_LAST_SCAN_LOCK = threading.Lock()
#: The last view scanned, indexed (``_scanned``): the view and its index.
_LAST_INDEX: list[tuple[PlatformView, _Scanned]] = []


def scan_once(view: PlatformView) -> tuple[FraudSignal, ...]:
    """``scan(view)``, run once per platform state in this process: the detectors are pure, so
    the last view scanned (compared by value: every trade, document, organisation, mandate and
    resubmission, and the date) answers again while the store has not changed; any change
    gives another view, scanned afresh. The store is still read for every view."""
    with _LAST_SCAN_LOCK:
        kept = _LAST_SCAN[0] if _LAST_SCAN else None
    if kept is not None and kept[0] == view:
        return kept[1]
    signals = tuple(scan(view))
    with _LAST_SCAN_LOCK:
        _LAST_SCAN[:] = [(view, signals)]
    return signals


def _scanned(view: PlatformView) -> _Scanned:
    """``scan_once(view)`` indexed by trade (``_Scanned``), indexed once per view scanned: a
    decision finds its trade and the trade's signals without walking every trade and every
    signal of the platform."""
    with _LAST_SCAN_LOCK:
        kept = _LAST_INDEX[0] if _LAST_INDEX else None
    if kept is not None and (kept[0] is view or kept[0] == view):
        return kept[1]
    indexed = _Scanned.of(view, scan_once(view))
    with _LAST_SCAN_LOCK:
        _LAST_INDEX[:] = [(view, indexed)]
    return indexed


def fraud_signals_by_trade(
    *, uow_factory: UnitOfWorkFactory, as_of: dt.date, ledger: Ledger | None = None
) -> dict[str, list[str]]:
    """Trade id -> the sorted ``FraudType`` codes signalled for it (every trade is a key).

    Runs every detector over the whole platform as of ``as_of``. With a ``ledger``, an invoice
    whose salted business-key fingerprint another consortium member registered on the chain
    is a ``DUPLICATE_INVOICE`` too. Read-only apart from creating the consortium salt.
    """
    view, signals = fraud_signals(uow_factory=uow_factory, as_of=as_of, ledger=ledger)
    return codes_by_trade(signals, (t.id for t in view.trades))


# --------------------------------------------------------------------------- evaluation


def labels_from_jsonl(text: str) -> list[FraudLabel]:
    """Parse the simulator's ``labels.jsonl`` (one FraudLabel per line)."""
    labels = []
    for line in text.splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        labels.append(
            FraudLabel(
                fraud=FraudType(row["fraud"]),
                seller_uscc=row["seller_uscc"],
                invoice_numbers=tuple(row["invoice_numbers"]),
                note=row.get("note", ""),
            )
        )
    return labels


def _labelled(
    labels: Iterable[FraudLabel],
    trades: Iterable[Trade],
    organisations: Mapping[str, Organisation] | None,
) -> tuple[dict[str, set[str]], list[FraudLabel]]:
    """Trade id -> the fraud codes labelled on it; and labels that matched no trade."""
    by_invoice: dict[tuple[str, str], set[str]] = {}
    for trade in trades:
        seller_org = organisations.get(trade.seller_id) if organisations else None
        for doc in trade.of_kind(DocumentKind.INVOICE):
            usccs = {doc.seller.uscc(), seller_org.uscc if seller_org else None} - {None}
            for uscc in usccs:
                assert uscc is not None
                by_invoice.setdefault((uscc, doc.number), set()).add(trade.id)
    labelled: dict[str, set[str]] = {}
    unmatched = []
    for label in labels:
        hits = set().union(
            *(by_invoice.get((label.seller_uscc, n), set()) for n in label.invoice_numbers)
        )
        if not hits:
            unmatched.append(label)
        for trade_id in hits:
            labelled.setdefault(trade_id, set()).add(label.fraud.value)
    return labelled, unmatched


def _ratio(numerator: int, denominator: int, empty: float) -> float:
    return numerator / denominator if denominator else empty


def evaluate(
    *,
    signals: Mapping[str, Sequence[str]],
    labels: Iterable[FraudLabel],
    trades: Sequence[Trade],
    organisations: Mapping[str, Organisation] | None = None,
) -> dict[str, Any]:
    """Precision, recall and false-alarm rate per fraud type; the share of clean trades flagged.

    ``signals`` is ``fraud_signals_by_trade``'s result; ``labels`` the simulator's; ``trades``
    every trade scanned (with documents). A trade is labelled with a type when any of its
    invoices (by seller USCC and number) is in a label of that type, and flagged when the
    type is among its signals. Per type: precision = flagged and labelled / flagged; recall =
    flagged and labelled / labelled; false-alarm rate = flagged but not labelled / trades not
    labelled with it. Clean trades carry no label at all. ``organisations`` (by id) gives the
    seller's USCC where an invoice names its seller by another identifier.
    """
    labelled, unmatched = _labelled(labels, trades, organisations)
    trade_ids = [t.id for t in trades]
    total = len(trade_ids)
    by_type: dict[str, dict[str, Any]] = {}
    met = True
    for fraud in FraudType:
        code = fraud.value
        positive = {t for t in trade_ids if code in labelled.get(t, ())}
        flagged = {t for t in trade_ids if code in signals.get(t, ())}
        hits = len(positive & flagged)
        false_alarms = len(flagged - positive)
        row = {
            "labelled": len(positive),
            "flagged": len(flagged),
            "true_positives": hits,
            "false_positives": false_alarms,
            "missed": len(positive - flagged),
            "precision": round(_ratio(hits, len(flagged), 1.0), 4),
            "recall": round(_ratio(hits, len(positive), 1.0), 4),
            "false_alarm_rate": round(_ratio(false_alarms, total - len(positive), 0.0), 4),
        }
        row["met"] = row["precision"] >= TARGET_PRECISION and row["recall"] >= TARGET_RECALL
        met = met and bool(row["met"])
        by_type[code] = row
    clean = [t for t in trade_ids if t not in labelled]
    clean_flagged = [t for t in clean if signals.get(t)]
    clean_rate = _ratio(len(clean_flagged), len(clean), 0.0)
    met = met and clean_rate <= TARGET_CLEAN_FLAGGED
    return {
        "trades": total,
        "labelled_trades": total - len(clean),
        "clean_trades": len(clean),
        "clean_flagged": len(clean_flagged),
        "clean_flagged_rate": round(clean_rate, 4),
        "by_type": by_type,
        "unmatched_labels": [
            {
                "fraud": x.fraud.value,
                "seller_uscc": x.seller_uscc,
                "invoice_numbers": list(x.invoice_numbers),
            }
            for x in unmatched
        ],
        "targets": {
            "precision": TARGET_PRECISION,
            "recall": TARGET_RECALL,
            "clean_flagged_rate": TARGET_CLEAN_FLAGGED,
        },
        "met": met,
    }
