"""Verifying trades: gather the trade's documents and parties, run the rules, store the report.

Every stored report is anchored: the SHA-256 of its canonical JSON is queued as a
``REGISTER_FINGERPRINTS`` outbox operation signed by the platform operator, in the same
transaction as the report, so a later financing can cite a report the chain has seen. A hash
already queued or registered is not sent again (the Notary refuses a second registration).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from fourflow.domain.documents import Document, DocumentKind
from fourflow.domain.facts import ReportAnchor
from fourflow.domain.findings import VerificationReport
from fourflow.domain.parties import Organisation
from fourflow.domain.trades import Trade
from fourflow.services import commands as cmd
from fourflow.services import webhooks
from fourflow.services.common import get_trade, new_id, report_hash
from fourflow.services.onboarding import OPERATOR_ORG_KEY
from fourflow.services.ports import (
    ChainOp,
    TradeRecord,
    UnitOfWork,
    UnitOfWorkFactory,
    iter_chunks,
)
from fourflow.verification.rules import TradeContext, payment_state, verify_trade

MAX_FINGERPRINTS_PER_OP = 256
# Trades verified per database transaction by ``verify_many``.
TRADES_PER_TRANSACTION = 500


@dataclass(frozen=True, slots=True)
class TradeVerification:
    """One trade's verification with what identifies the trade to a reader.

    Attributes:
        report: the stored report.
        report_hash: hex SHA-256 of its canonical JSON (``sha256:`` prefixed when anchored).
        order_numbers: numbers of the trade's orders and contracts.
        invoice_numbers: numbers of its invoices.
        seller: the seller's USCC.
        buyer: the buyer's USCC.
        anchor_op: the outbox op queued to register the hash now (None: already registered,
            or the platform has no operator yet).
        payment_state: ``open``, ``overdue``, ``paid`` or ``none`` on the verification day
            (``rules.payment_state``): how the debtor pays, beside the authenticity status.
    """

    report: VerificationReport
    report_hash: str
    order_numbers: tuple[str, ...]
    invoice_numbers: tuple[str, ...]
    seller: str
    buyer: str
    anchor_op: str | None
    payment_state: str = ""


def load_trade(uow: UnitOfWork, record: TradeRecord) -> Trade:
    """The domain trade with its documents, in link order."""
    return load_trades(uow, [record])[0]


def load_trades(uow: UnitOfWork, records: Sequence[TradeRecord]) -> list[Trade]:
    """Domain trades with their documents, read in one batched query."""
    wanted = [doc_id for r in records for doc_id in r.document_ids]
    return assemble_trades(
        records, {s.document.id: s.document for s in uow.documents.get_many(wanted)}
    )


def assemble_trades(records: Sequence[TradeRecord], docs: Mapping[str, Document]) -> list[Trade]:
    """The domain trades of ``records`` with their documents found in ``docs``, in link order."""
    return [
        Trade(
            id=r.id,
            scenario=r.scenario,
            seller_id=r.seller_id,
            buyer_id=r.buyer_id,
            documents=tuple(docs[i] for i in r.document_ids if i in docs),
        )
        for r in records
    ]


def _parties(uow: UnitOfWork, trade: Trade) -> dict[str, Organisation]:
    parties: dict[str, Organisation] = {}
    for doc in trade.documents:
        for key in doc.party_keys():  # a freight invoice's consignor and consignee too
            if key not in parties:
                org = uow.organisations.by_key(key)
                if org is not None:
                    parties[key] = org
    # who sent each document (provenance: a carrier's or bank's role is read from it)
    known = {o.id for o in parties.values()}
    for sender in {d.submitted_by for d in trade.documents if d.submitted_by} - known:
        org = uow.organisations.get(sender)
        if org is not None:
            parties.update(dict.fromkeys(org.known_as(), org))
    return parties


def _queue_anchors(uow: UnitOfWork, hashes: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Queue registration of report hashes not registered before; trade id -> op id."""
    operator = uow.settings.get(OPERATOR_ORG_KEY)
    if operator is None:
        return {}
    known = uow.report_anchors.known([h for _, h in hashes])  # anchored or queued before
    fresh = [(t, h) for t, h in dict.fromkeys(hashes) if h not in known]
    queued: dict[str, str] = {}
    for chunk in iter_chunks(fresh, MAX_FINGERPRINTS_PER_OP):
        op_id = new_id("op")
        subject = f"report:{chunk[0][0]}" if len(chunk) == 1 else f"reports:{op_id}"
        uow.outbox.add(
            ChainOp(
                op_id=op_id,
                command=cmd.RegisterFingerprints(tuple(f"sha256:{h}" for _, h in chunk)),
                sender_org_id=operator,
                subject_id=subject,
            )
        )
        for trade_id, digest in chunk:
            if digest not in known:
                uow.report_anchors.add(ReportAnchor(digest, op_id))
                known.add(digest)
            queued[trade_id] = op_id
    return queued


def _verify_in(
    uow: UnitOfWork,
    records: Sequence[TradeRecord],
    as_of: dt.date,
    parties: dict[str, Organisation] | None,
) -> list[TradeVerification]:
    """Verify trades inside one unit of work: store each report and queue its anchor."""
    results: list[tuple[TradeRecord, Trade, VerificationReport, str]] = []
    states: dict[str, str] = {}
    for record, trade in zip(records, load_trades(uow, records), strict=True):
        mandates = tuple(uow.mandates.involving([trade.seller_id, trade.buyer_id]))
        ctx = TradeContext(
            trade, parties if parties is not None else _parties(uow, trade), as_of, mandates
        )
        report = verify_trade(ctx)
        states[record.id] = payment_state(ctx)
        digest = report_hash(report)
        uow.trades.update(
            replace(
                record, status=report.status.value, score=report.score, report=report,
                report_hash=digest,
            )
        )  # fmt: skip
        results.append((record, trade, report, digest))
        webhooks.trade_verified(
            uow, trade_id=record.id, org_ids=(record.seller_id, record.buyer_id),
            status=report.status.value, report_hash=digest,
        )  # fmt: skip
    # the invoice facts the credit features read are kept by the worker, not here (issue 16:
    # inside the upload request they cost uploads about 8 %): ``credit.history.fill_changed``
    ops = _queue_anchors(uow, [(r.id, d) for r, _, _, d in results])
    orgs: dict[str, Organisation | None] = {}
    out = []
    for record, trade, report, digest in results:
        for org_id in (record.seller_id, record.buyer_id):
            if org_id not in orgs:
                orgs[org_id] = uow.organisations.get(org_id)
        seller, buyer = orgs[record.seller_id], orgs[record.buyer_id]
        out.append(
            TradeVerification(
                report=report,
                report_hash=digest,
                order_numbers=tuple(
                    d.number for d in trade.of_kind(DocumentKind.ORDER, DocumentKind.CONTRACT)
                ),
                invoice_numbers=tuple(d.number for d in trade.of_kind(DocumentKind.INVOICE)),
                seller=seller.uscc if seller else record.seller_id,
                buyer=buyer.uscc if buyer else record.buyer_id,
                anchor_op=ops.get(record.id),
                payment_state=states[record.id],
            )
        )
    return out


def verify(*, uow_factory: UnitOfWorkFactory, trade_id: str, as_of: dt.date) -> VerificationReport:
    """Verify one trade as of a date, store the report with its hash and queue its anchor."""
    return verify_many(uow_factory=uow_factory, trade_ids=[trade_id], as_of=as_of)[0].report


def verify_many(
    *, uow_factory: UnitOfWorkFactory, trade_ids: Sequence[str] | None, as_of: dt.date
) -> list[TradeVerification]:
    """Verify the given trades (None: every trade), a few hundred per transaction."""
    with uow_factory() as uow:
        records = uow.trades.list() if trade_ids is None else [get_trade(uow, t) for t in trade_ids]
    results: list[TradeVerification] = []
    for chunk in _chunks(records):
        with uow_factory() as uow:
            # Many trades: every organisation by every key, read once.
            parties = (
                {k: o for o in uow.organisations.list() for k in o.known_as()}
                if len(chunk) > 1
                else None
            )
            results.extend(_verify_in(uow, chunk, as_of, parties))
            uow.commit()
    return results


def _chunks(records: Sequence[TradeRecord]) -> Iterator[Sequence[TradeRecord]]:
    return iter_chunks(records, TRADES_PER_TRANSACTION)


def verify_all(
    *, uow_factory: UnitOfWorkFactory, as_of: dt.date, only_unverified: bool = False
) -> list[VerificationReport]:
    """Verify every trade (or only those not verified yet)."""
    with uow_factory() as uow:
        ids = [t.id for t in uow.trades.list() if not only_unverified or t.report is None]
    return [v.report for v in verify_many(uow_factory=uow_factory, trade_ids=ids, as_of=as_of)]


def evaluate_fraud(
    *, uow_factory: UnitOfWorkFactory, signals: Mapping[str, Sequence[str]], labels_text: str
) -> dict[str, Any]:
    """Score fraud signals (``fraud_signals_by_trade``) against the simulator's labels.jsonl."""
    from fourflow.services import fraud  # noqa: PLC0415 (fraud imports this module)

    with uow_factory() as uow:
        trades = load_trades(uow, uow.trades.list())
        organisations = {o.id: o for o in uow.organisations.list()}
    return fraud.evaluate(
        signals=signals,
        labels=fraud.labels_from_jsonl(labels_text),
        trades=trades,
        organisations=organisations,
    )
