"""The platform's own history as the credit features read it, cached per store state."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

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
#: How far before a worker pass's start the next pass looks at trades' change times: a
#: writer's transaction that stamped a trade before the pass read and committed after it is
#: still seen (a write transaction lasts seconds; the hourly full look catches the rest).
LOOK_BACK = dt.timedelta(minutes=2)
#: A worker pass this long after the last one that looked at every trade looks at every
#: trade again (what a window could miss: a clock set back, a transaction open for longer).
FULL_EVERY = dt.timedelta(hours=1)
#: Seconds of computing after which a worker pass stops filling (the next pass goes on): the
#: pass's other steps (the relay) are not held up by a large backlog.
PASS_BUDGET_S = 10.0


def _fill(
    uow_factory: UnitOfWorkFactory, trade_ids: Sequence[str] | None, budget_s: float | None
) -> tuple[int, int, bool]:
    """Keep the facts of the trades of ``trade_ids`` (None: every trade) that have no current
    row, ``FILL_CHUNK`` a transaction, stopping after the chunk that passes ``budget_s``
    seconds: (trades looked at, kept, all kept)."""
    if trade_ids is not None and not trade_ids:
        return 0, 0, True
    with uow_factory() as uow:
        found = uow.trade_facts.candidates(trade_ids)
    stale = [
        r
        for r, kept in found
        if kept != (trade_facts.documents_key(r.document_ids), trade_facts.VERSION)
    ]
    started, done = time.monotonic(), 0
    for chunk in iter_chunks(stale, FILL_CHUNK):
        if budget_s is not None and done and time.monotonic() - started >= budget_s:
            return len(found), done, False
        with uow_factory() as uow:
            trades = trade_contents(uow, chunk)
            uow.trade_facts.put_many(
                trade_facts.rows_of((r.document_ids, t) for r, t in zip(chunk, trades, strict=True))
            )
            uow.commit()
        done += len(chunk)
    return len(found), done, True


def fill(uow_factory: UnitOfWorkFactory) -> int:
    """Keep the invoice facts of every trade that has no current row in ``trade_facts`` (a
    store older than revision 0028, trades verified or given documents since the worker last
    looked, a new ``trade_facts.VERSION``), ``FILL_CHUNK`` trades a transaction; how many were
    computed. With nothing to do it costs one read of every trade's id and document ids with
    its kept key (one statement)."""
    return _fill(uow_factory, None, None)[1]


@dataclass(slots=True)
class FillState:
    """What a worker's earlier passes did: the store's change mark when the last complete
    pass began (the same mark: no trade changed since), when that pass began (None: the next
    looks at every trade), the change time of each trade it saw changed in its window (a
    trade seen with the same time is not read again), when a pass last looked at every
    trade."""

    mark: str | None = None
    since: dt.datetime | None = None
    seen: dict[str, dt.datetime] = field(default_factory=dict)
    full_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Filled:
    """What ``fill_changed`` did: trades looked at, facts kept, whether it looked at every
    trade, whether the mark said nothing changed (nothing read), whether it stopped on its
    time budget with trades left for the next pass."""

    looked_at: int = 0
    kept: int = 0
    full: bool = False
    unchanged: bool = False
    left: bool = False


def _now() -> dt.datetime:
    """The wall clock trades' ``updated_at`` is stamped with (aware UTC)."""
    return dt.datetime.now(dt.UTC)


def fill_changed(
    uow_factory: UnitOfWorkFactory,
    state: FillState,
    *,
    now: Callable[[], dt.datetime] = _now,
    budget_s: float = PASS_BUDGET_S,
) -> Filled:
    """The worker's step: keep the facts of the trades verified or given documents since its
    last pass, not at verification (which is inside the upload request: issue 16).

    Nothing is read when the store's change mark (``change_mark()`` of the factory, moved by
    every committed change of ``trades``) is the one of the last complete pass. Otherwise it
    reads the change times of the trades stamped since ``LOOK_BACK`` before the last pass
    began (ids and times only) and looks only at those not seen with that time by an earlier
    pass; every trade on the first pass and ``FULL_EVERY`` after the last such pass (10,000
    trades: one statement of about half a second). A pass stops on ``budget_s`` with trades
    left; ``state`` then stays, so the next pass looks at them again. Readers decode what is
    not kept yet (``_FactsCache.history``), so nothing is wrong meanwhile, only slower."""
    read_mark = getattr(uow_factory, "change_mark", None)
    mark = read_mark() if callable(read_mark) else None
    if mark is not None and mark == state.mark:
        return Filled(unchanged=True)
    started = now()
    full = state.since is None or state.full_at is None or started - state.full_at >= FULL_EVERY
    window = started - LOOK_BACK if full or state.since is None else state.since - LOOK_BACK
    with uow_factory() as uow:  # read before the trades: a later change gets a later time
        stamps = uow.trade_facts.stamps(window)
    changed = None if full else [i for i, at in stamps.items() if state.seen.get(i) != at]
    looked_at, kept, complete = _fill(uow_factory, changed, budget_s)
    if complete:
        state.mark, state.since, state.seen = mark, started, stamps
        if full:
            state.full_at = started
    return Filled(looked_at, kept, full, left=not complete)


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
