"""The platform's own history as the credit features read it, cached per store state."""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import replace

from fourflow.domain.documents import DocumentKind
from fourflow.domain.findings import Severity
from fourflow.domain.parties import Organisation
from fourflow.domain.trades import Trade
from fourflow.risk.features import (
    AssetTerms,
    History,
    InvoiceFacts,
    features,
    invoice_facts,
    logistics_share,
)
from fourflow.services import trade_facts
from fourflow.services.ports import TradeRecord, UnitOfWork, UnitOfWorkFactory, iter_chunks
from fourflow.services.verification import assemble_trades, load_trades
from fourflow.verification.rules import TradeContext, verify_trade


def parties_by_key(uow: UnitOfWork) -> dict[str, Organisation]:
    return {k: o for o in uow.organisations.list() for k in o.known_as()}


def platform_history(uow: UnitOfWork) -> tuple[History, list[Trade]]:
    """Every trade, and its invoices with their payments and credit notes, indexed."""
    trades = load_trades(uow, uow.trades.list())
    disputes = uow.disputes.raised_days()
    return History.of(f for t in trades for f in invoice_facts(t, disputes)), trades


def scores_at_issue(
    trades: Sequence[Trade], parties: Mapping[str, Organisation]
) -> dict[str, tuple[float, int]]:
    """Each trade's verification (score, warnings and errors) on its first invoice's date.

    The rules see only the documents dated on or before that day, so a training row never
    learns from a verification that used its own later payments.
    """
    out: dict[str, tuple[float, int]] = {}
    for trade in trades:
        invoices = [d.issue_date for d in trade.of_kind(DocumentKind.INVOICE)]
        if not invoices:
            continue
        day = min(invoices)
        docs = tuple(d for d in trade.documents if d.issue_date <= day)
        report = verify_trade(TradeContext(replace(trade, documents=docs), parties, as_of=day))
        weighing = sum(1 for f in report.findings if f.severity is not Severity.INFO)
        out[trade.id] = (float(report.score), weighing)
    return out


def trade_contents(uow: UnitOfWork, records: Sequence[TradeRecord]) -> list[Trade]:
    """Domain trades with their documents' contents (``load_trades`` without each document's
    raw bytes and anchoring, which the invoice facts never read: a quarter of its time)."""
    wanted = [doc_id for r in records for doc_id in r.document_ids]
    return assemble_trades(records, {d.id: d for d in uow.documents.contents_many(wanted)})


class _FactsCache:
    """Invoice facts per trade, keyed by the trade's document ids (documents never change).

    A decision reads the debtor's and the creditor's trades; decoding their documents again
    for every decision would dominate its latency. A trade whose documents change (a payment
    linked to it) gets a new key, so a stale entry is never served. Facts not kept here are
    read from the store's ``trade_facts`` when it holds them for the trade's documents now
    (``services.trade_facts``), else decoded from the documents. Disputes are not
    documents: they are read afresh on every call and added to the cached facts.
    """

    def __init__(self, size: int = 50_000) -> None:
        self._size = size
        self._facts: OrderedDict[tuple[str, tuple[str, ...]], list[InvoiceFacts]] = OrderedDict()
        self._lock = threading.Lock()

    def history(self, uow: UnitOfWork, records: Sequence[TradeRecord]) -> History:
        """The invoice history of ``records``, decoding only trades not seen before."""
        keys = [(r.id, r.document_ids) for r in records]
        with self._lock:
            found = {k: self._facts[k] for k in keys if k in self._facts}
            for k in found:
                self._facts.move_to_end(k)
        missing = [r for r, k in zip(records, keys, strict=True) if k not in found]
        kept = uow.trade_facts.get_many([r.id for r in missing]) if missing else {}
        undecoded = []
        for record in missing:
            row = kept.get(record.id)
            if row is not None and trade_facts.current(row, record.document_ids):
                found[(record.id, record.document_ids)] = trade_facts.decode(row.facts)
            else:
                undecoded.append(record)
        for record, trade in zip(undecoded, trade_contents(uow, undecoded), strict=True):
            found[(record.id, record.document_ids)] = invoice_facts(trade)
        with self._lock:
            for k in keys:
                self._facts[k] = found[k]
            while len(self._facts) > self._size:
                self._facts.popitem(last=False)
        disputes = uow.disputes.raised_days([r.id for r in records])
        return History.of(
            replace(f, disputes=tuple(sorted(disputes[f.trade_id])))
            if f.trade_id in disputes
            else f
            for k in keys
            for f in found[k]
        )


FACTS = _FactsCache()
#: Trades whose facts ``fill`` computes in one transaction.
FILL_CHUNK = 500


def fill(uow_factory: UnitOfWorkFactory) -> int:
    """Keep the invoice facts of every trade that has no current row in ``trade_facts`` (a
    store older than revision 0028, trades given documents since they were verified, a new
    ``trade_facts.VERSION``), ``FILL_CHUNK`` trades a transaction; how many were computed.
    With nothing to do it costs one read of every trade's id and document ids and one of the
    kept keys."""
    with uow_factory() as uow:
        kept = uow.trade_facts.keys()
        stale = [
            r
            for r in uow.trades.verdicts()
            if kept.get(r.id) != (trade_facts.documents_key(r.document_ids), trade_facts.VERSION)
        ]
    for chunk in iter_chunks(stale, FILL_CHUNK):
        with uow_factory() as uow:
            trades = trade_contents(uow, chunk)
            uow.trade_facts.put_many(
                trade_facts.rows_of((r.document_ids, t) for r, t in zip(chunk, trades, strict=True))
            )
            uow.commit()
    return len(stale)


#: Days of invoices that make a scoring population (the reference at training, and now).
POPULATION_DAYS = 90


def recent_population(
    history: History,
    scores: Mapping[str, tuple[float, int]],
    as_of: dt.date,
    window_days: int = POPULATION_DAYS,
) -> list[dict[str, float | str]]:
    """Feature vectors of the invoices issued in the ``window_days`` before ``as_of``, each on
    its issue date: the population a model scores (for PSI, like with like)."""
    start = as_of - dt.timedelta(days=window_days)
    return [
        features(
            history,
            AssetTerms(f.creditor, f.debtor, f.scenario, f.amount, f.due_date, f.issue_date,
                       verification_score=scores.get(f.trade_id, (100.0, 0))[0],
                       findings=scores.get(f.trade_id, (100.0, 0))[1],
                       logistics=logistics_share(f, f.issue_date)),
            f.issue_date,
        )
        for f in history.all()
        if start <= f.issue_date < as_of
    ]  # fmt: skip
