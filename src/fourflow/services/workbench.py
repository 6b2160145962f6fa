"""What the web workbench reads that no other view gives: my trades, a trade's evidence
chain (who submitted and signed each document, when, and its anchor on the chain), a bank's
review queue with expected loss and value today, the four-eyes proposals waiting with their
content, and the model registry with its validation figures and drift alerts.

Every function reads; none changes anything. The object rules (whose trade, whose bank) are
the caller's (the API's routes) to apply before calling.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from fourflow.domain.debt import Basis
from fourflow.domain.documents import Document
from fourflow.domain.errors import ConflictError, DomainValueError, NotFoundError
from fourflow.domain.financing import Financing, FinancingStatus
from fourflow.domain.identity import Approval
from fourflow.domain.money import Money
from fourflow.domain.payment_status import STATUS_CODES
from fourflow.risk.bootstrap import HistorySource
from fourflow.risk.features import History
from fourflow.risk.valuation import AssetClass, expected_loss
from fourflow.services import credit, financing, identity, proofs
from fourflow.services.credit.valuation import items_history
from fourflow.services.ports import (
    Ledger,
    TradeQuery,
    TradeRecord,
    UnitOfWork,
    UnitOfWorkFactory,
)
from fourflow.services.verification import load_trades
from fourflow.verification.payments import payment_outcomes
from fourflow.verification.rules import TradeContext, payment_state

#: The most trades one page of ``my_trades`` gives.
MAX_PAGE = 200
#: Validation figures of a model shown (the reference PDs kept for PSI are left out).
MODEL_FIGURES = ("auc", "ks", "brier", "rows", "bad_rate", "source")


def _names(uow: Any, ids: set[str]) -> dict[str, str]:
    found = uow.organisations.get_many(sorted(ids))  # one read, not one query each
    return {org_id: found[org_id].name if org_id in found else "" for org_id in ids}


# ----------------------------------------------------------------------------- trades


@dataclass(frozen=True, slots=True)
class TradePage:
    """One page of trades, newest first, and how many there are in all."""

    total: int
    offset: int
    limit: int
    rows: list[dict[str, Any]]


def my_trades(
    *,
    uow_factory: UnitOfWorkFactory,
    org_id: str | None,
    status: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> TradePage:
    """The trades ``org_id`` sells or buys in (``None``: every trade), newest first, with
    their verification state (status, score, the report's hash), the parties' names and the
    debt item issued on each, if one was; only those of ``status`` if given."""
    if not 1 <= limit <= MAX_PAGE:
        raise DomainValueError(f"limit {limit} is not between 1 and {MAX_PAGE}")
    if offset < 0:
        raise DomainValueError(f"offset {offset} is negative")
    with uow_factory() as uow:
        total, page = uow.trades.page(
            TradeQuery(
                involving=None if org_id is None else frozenset({org_id}),
                statuses=None if status is None else frozenset({status}),
                offset=offset, limit=limit,
            )
        )  # fmt: skip
        names = _names(uow, {t.seller_id for t in page} | {t.buyer_id for t in page})
        rows = []
        for t in page:
            item = uow.items.by_trade(t.id)
            rows.append(
                {
                    "trade_id": t.id,
                    "scenario": t.scenario.value,
                    "role": "seller" if t.seller_id == org_id else
                            "buyer" if t.buyer_id == org_id else None,
                    "seller_id": t.seller_id, "seller_name": names[t.seller_id],
                    "buyer_id": t.buyer_id, "buyer_name": names[t.buyer_id],
                    "documents": len(t.document_ids),
                    "status": t.status, "score": t.score, "report_hash": t.report_hash,
                    "item_id": item.id if item is not None else None,
                }
            )  # fmt: skip
    return TradePage(total, offset, limit, rows)


def trade_documents(
    *, uow_factory: UnitOfWorkFactory, ledger: Ledger, record: TradeRecord
) -> list[dict[str, Any]]:
    """The trade's documents in link order, each with its evidence: who submitted it and
    when, who signed it (the verified signature's signer and algorithm), its content
    fingerprint, and its anchor on the chain with the Merkle proof (``proofs.document_proof``:
    checkable against the chain alone), or the anchor's state while it waits; beside a payment
    and a bank's status of it (pacs.002), what the one says of the other (``payment_flow``)."""
    with uow_factory() as uow:
        stored = uow.documents.get_many(list(record.document_ids))
        names = _names(uow, {s.document.submitted_by for s in stored if s.document.submitted_by})
    by_id = {s.document.id: s for s in stored}
    flow = payment_flow([s.document for s in stored])
    rows = []
    # every proof read in one transaction, each batch once, the ledger's info once
    found = proofs.document_proofs(uow_factory=uow_factory, ledger=ledger, stored=stored)
    for doc_id in record.document_ids:
        s = by_id.get(doc_id)
        if s is None:
            continue
        d = s.document
        sig = s.signature
        proof = found[doc_id]
        anchor: dict[str, Any] = (
            {"state": "pending", "batch_id": s.batch_id, "reason": str(proof)}
            if isinstance(proof, ConflictError)
            else {"state": "anchored", **proof["anchor"], "merkle": proof["merkle"]}
        )
        rows.append(
            {
                "document_id": d.id, "kind": d.kind.value, "number": d.number,
                "issue_date": d.issue_date.isoformat(), "source_format": d.source_format,
                "media_type": s.media_type, "source": s.source,
                "submitted_by": d.submitted_by,
                "submitted_by_name": names.get(d.submitted_by or "", ""),
                "submitted_at": s.created_at.isoformat() if s.created_at else None,
                "signature": None if sig is None else {
                    "algorithm": sig.get("algorithm"), "signer": sig.get("signer"),
                },
                "fingerprint": s.fingerprint,
                "anchor": anchor,
                "payment_status": flow.get(d.id),
            }
        )  # fmt: skip
    return rows


def latest_verification(
    *, uow_factory: UnitOfWorkFactory, record: TradeRecord, as_of: dt.date
) -> dict[str, Any]:
    """A trade's latest verification as ``POST /trades/{id}/verification`` answered it, read
    without verifying again: the stored report (status, score, findings) and its hash, and the
    payment state on ``as_of`` from the trade's documents (nothing is written, nothing goes to
    the chain). A trade never verified: status ``unverified``, no score, hash or findings."""
    report = record.report
    with uow_factory() as uow:
        (trade,) = load_trades(uow, [record])
    return {
        "trade_id": record.id,
        "status": report.status.value if report else record.status,
        "score": report.score if report else None,
        "report_hash": record.report_hash if report else None,
        # the payment state reads only the trade's own documents, not who its parties are
        "payment_state": payment_state(TradeContext(trade, {}, as_of)),
        "findings": [
            {"code": f.code, "severity": f.severity.value, "message": f.message}
            for f in (report.findings if report else ())
        ],
    }


def _status_report(doc: Document) -> dict[str, Any]:
    status = doc.payment_status
    assert status is not None
    return {
        "document_id": doc.id, "number": doc.number, "issue_date": doc.issue_date.isoformat(),
        "code": status.code, "meaning": STATUS_CODES[status.code],
        "reasons": list(status.reasons), "rejected": status.rejected, "settled": status.settled,
    }  # fmt: skip


def payment_flow(documents: Sequence[Document]) -> dict[str, dict[str, Any]]:
    """What banks reported (pacs.002) about a trade's payments, by document id: beside each
    payment, statement entry or remittance a status names, ``counts`` (False when rejected or
    cancelled: it paid nothing) and the ``reports`` (code, meaning, reasons, date); beside each
    status, its own report and the ``payments`` it names. Documents without are left out."""
    if not any(d.payment_status is not None for d in documents):
        return {}
    by_id = {d.id: d for d in documents}
    outcomes = payment_outcomes(documents)
    named: dict[str, list[str]] = {}
    flow: dict[str, dict[str, Any]] = {}
    for payment_id, outcome in outcomes.items():
        reports = [*outcome.rejected, *outcome.settled, *outcome.other]
        for status_id in reports:
            named.setdefault(status_id, []).append(payment_id)
        flow[payment_id] = {
            "counts": outcome.counts,
            "reports": [_status_report(by_id[s]) for s in reports],
        }
    for doc in documents:
        if doc.payment_status is not None:
            flow[doc.id] = {**_status_report(doc), "payments": sorted(named.get(doc.id, []))}
    return flow


# ----------------------------------------------------------------------------- financed items


@dataclass(frozen=True, slots=True)
class ItemAbout:
    """What a financing view shows of its receivable: the trade's scenario and the debtor."""

    scenario: str
    debtor_id: str


def items_about(*, uow_factory: UnitOfWorkFactory, item_ids: list[str]) -> dict[str, ItemAbout]:
    """The scenario and debtor of each of these debt items, by item id (unknown ids left
    out), read in bulk: one query for the items and one for their trades, however many."""
    if not item_ids:
        return {}
    with uow_factory() as uow:
        items = uow.items.get_many(item_ids)
        # the trades' scenarios only: their reports are not decoded
        trades = {tr.id: tr for tr in uow.trades.verdicts([i.trade_id for i in items])}
    return {
        i.id: ItemAbout(trades[i.trade_id].scenario.value, i.debtor_id)
        for i in items
        if i.trade_id in trades
    }


# ----------------------------------------------------------------------------- the bank's queue


def _proposal(ids: identity.Identities, found: Approval | None) -> dict[str, Any] | None:
    """A waiting proposal with its content and who proposed it."""
    if found is None:
        return None
    with ids.store() as store:
        user = store.users.get(found.proposed_by)
    return {
        "proposal_id": found.id,
        "kind": found.kind,
        "subject_id": found.subject_id,
        "proposed_by": user.email if user is not None else found.proposed_by,
        "proposed_at": found.created_at.isoformat(),
        "content": dict(found.payload),
    }


def waiting_proposals(
    *,
    uow_factory: UnitOfWorkFactory,
    ids: identity.Identities,
    bank_id: str,
    kinds: tuple[str, str],
) -> list[dict[str, Any]]:
    """The four-eyes proposals of ``bank_id`` waiting for a second person, with their
    content: a decision on each referred request (``kinds[0]``) and a policy change
    (``kinds[1]``)."""
    decision_kind, policy_kind = kinds
    rows = financing.list_financings(
        uow_factory=uow_factory, status=FinancingStatus.REFERRED.value, bank=bank_id
    )
    out = []
    for r in rows:
        found = _proposal(
            ids, identity.pending_proposal(ids, kind=decision_kind, subject_id=r.financing.id)
        )
        if found is not None:
            found["borrower_name"] = r.borrower_name
            found["debtor_name"] = r.debtor_name
            found["requested"] = Money.from_minor(r.financing.requested, r.currency).plain()
            found["currency"] = r.currency
            out.append(found)
    policy = _proposal(ids, identity.pending_proposal(ids, kind=policy_kind, subject_id=bank_id))
    if policy is not None:
        out.append(policy)
    return out


def _valuation(
    *,
    uow_factory: UnitOfWorkFactory,
    fin: Financing,
    currency: str,
    as_of: dt.date,
    cold_start: HistorySource,
    history: History | None = None,
) -> dict[str, Any]:
    """Expected loss and value today of a receivable financing, from its credit review's PD,
    the bank's policy's LGD and discount rate, and the item's due date
    (``credit.value_item``: value = (face − dilution − PD × LGD × exposure) discounted to
    maturity), for the financed holding's share of the item."""
    d = fin.decision
    if d is None or d.pd is None:
        return {"state": "no_review"}
    with uow_factory() as uow:
        item = uow.items.get(fin.item_id)
        holding = uow.items.get_holding(fin.holding_id)
        trade = uow.trades.get(item.trade_id) if item is not None else None
        policy = credit.get_policy(uow, fin.bank_id)
    if item is None or holding is None or item.outstanding <= 0:
        return {"state": "settled"}
    valuation, _ = credit.value_item(
        uow_factory=uow_factory, item_id=item.id, as_of=as_of, cold_start=cold_start,
        bank_id=fin.bank_id, pd=d.pd, history=history,
    )  # fmt: skip
    share = min(1.0, holding.outstanding / item.outstanding)
    asset = (
        AssetClass.CONFIRMED_RECEIVABLE
        if item.basis is Basis.CONFIRMED
        else AssetClass.VERIFIED_RECEIVABLE
    )
    lgd = policy.loss_given_bad(asset)
    ead = min(fin.requested, holding.outstanding)

    def money(major: float) -> str:
        return Money.from_minor(round(major * 100), currency).plain()

    return {
        "state": "valued",
        "as_of": as_of.isoformat(),
        "pd": d.pd,
        "lgd": round(lgd, 6),
        "exposure": Money.from_minor(ead, currency).plain(),
        "expected_loss": money(expected_loss(d.pd, lgd, ead / 100)),
        "expected_loss_at_decision": None
        if d.expected_loss is None
        else Money.from_minor(d.expected_loss, currency).plain(),
        "holding_outstanding": Money.from_minor(holding.outstanding, currency).plain(),
        "value_today": money(valuation.value * share),
        "value_at_decision": None
        if d.value is None
        else Money.from_minor(d.value, currency).plain(),
        "discount_rate_bps": policy.base_rate_bps + policy.min_spread_bps,
        "days_to_maturity": valuation.days,
        "maturity_date": item.maturity_date.isoformat(),
        "scenario": trade.scenario.value if trade is not None else None,
        "debtor_id": item.debtor_id,
        "basis": item.basis.value,
    }


def review_queue(
    *,
    uow_factory: UnitOfWorkFactory,
    ids: identity.Identities,
    bank_id: str,
    status: str | None,
    as_of: dt.date,
    cold_start: HistorySource,
    decision_kind: str,
) -> list[tuple[financing.FinancingRow, dict[str, Any], dict[str, Any] | None]]:
    """The bank's requests (``status``; default referred), each with its valuation today
    (``_valuation``; receivables still open) and the four-eyes proposal waiting on it."""
    out = []
    # every read in one transaction: the valuations' reads (a dozen a row, each in a unit of
    # work of its own) would otherwise each begin and end one (a connection's checkout, ping,
    # BEGIN and ROLLBACK: more round trips than the reads themselves)
    with uow_factory() as uow:
        lent = _lent(uow)
        rows = financing.list_financings(
            uow_factory=lent, status=status or FinancingStatus.REFERRED.value, bank=bank_id
        )
        history = _queue_history(lent, rows)
        valuations: list[dict[str, Any]] = []
        for r in rows:
            fin = r.financing
            valued: dict[str, Any] = {"state": "not_a_receivable"}
            if isinstance(fin, Financing) and fin.status not in LIVE:
                valued = {"state": fin.status.value}
            elif isinstance(fin, Financing):
                try:
                    valued = _valuation(
                        uow_factory=lent, fin=fin, currency=r.currency, as_of=as_of,
                        cold_start=cold_start, history=history,
                    )  # fmt: skip
                except (NotFoundError, ValueError) as exc:  # one request's data, not the queue
                    valued = {"state": "not_valued", "reason": str(exc)}
            valuations.append(valued)
    for r, valued in zip(rows, valuations, strict=True):
        fin = r.financing
        waiting = (
            _proposal(ids, identity.pending_proposal(ids, kind=decision_kind, subject_id=fin.id))
            if fin.status is FinancingStatus.REFERRED
            else None
        )
        out.append((r, valued, waiting))
    return out


class _Lent:
    """A unit of work already open, lent to reads that open their own (``with factory()``):
    entering and leaving it neither begins nor ends its transaction. Only for reads (those of
    the review queue: none commits)."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def __enter__(self) -> UnitOfWork:
        return self._uow

    def __exit__(self, *exc: object) -> None:
        return None


def _lent(uow: UnitOfWork) -> UnitOfWorkFactory:
    """A factory whose units of work are ``uow`` (``_Lent``)."""
    return lambda: cast(UnitOfWork, _Lent(uow))


def _queue_history(
    uow_factory: UnitOfWorkFactory, rows: list[financing.FinancingRow]
) -> History | None:
    """One invoice history for every receivable the queue values: the trades of all their
    debtors and creditors, read once (each valuation reads only its own parties' facts)."""
    fins = [r.financing for r in rows if isinstance(r.financing, Financing)]
    wanted = [f.item_id for f in fins if f.status in LIVE]
    if not wanted:
        return None
    with uow_factory() as uow:
        found = uow.items.get_many(wanted)
        return items_history(uow, found)


#: Requests valued in the queue: those still at stake.
LIVE = frozenset(
    {
        FinancingStatus.REFERRED,
        FinancingStatus.APPROVED,
        FinancingStatus.ACTIVE,
        FinancingStatus.DEFAULTED,
    }
)


# ----------------------------------------------------------------------------- model registry


def model_registry(*, uow_factory: UnitOfWorkFactory, bank_id: str | None) -> dict[str, Any]:
    """The registered credit models (champion first, then challengers, then retired) with
    their validation figures and promotion notes, and the monitoring's alerts (drift,
    performance, approval rate, realised loss) for ``bank_id`` and the platform-wide ones
    (``None``: every alert). Alerts are raised by ``credit.monitor`` (``fourflow risk
    monitor``); this reads what it stored."""
    with uow_factory() as uow:
        models = uow.risk_models.list()
        alerts = uow.risk_alerts.list(bank_id)
    order = {"champion": 0, "challenger": 1}
    rows = []
    for m in sorted(models, key=lambda m: (order.get(m.role, 2), m.id)):
        metrics = m.metrics
        rows.append(
            {
                "model_id": m.id, "kind": m.kind, "role": m.role,
                "as_of": m.as_of.isoformat(), "training_rows": m.training_rows,
                "data_hash": m.data_hash, "note": m.note,
                "validation": {k: metrics[k] for k in MODEL_FIGURES if k in metrics},
                "verdict": metrics.get("verdict"),
                "reference_size": len(metrics.get("reference_pd", [])),
                "dropped": list(metrics.get("dropped", [])),
            }
        )  # fmt: skip
    champion = next((r["model_id"] for r in rows if r["role"] == "champion"), None)
    return {
        "champion": champion,
        "models": rows,
        "alerts": [
            {
                "alert_id": a.id, "kind": a.kind, "severity": a.severity, "metric": a.metric,
                "value": a.value, "threshold": a.threshold, "model_id": a.model_id,
                "bank_id": a.bank_id, "as_of": a.as_of.isoformat(), "message": a.message,
            }
            for a in reversed(alerts)
        ],
    }  # fmt: skip
