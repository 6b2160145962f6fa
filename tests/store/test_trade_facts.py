"""Each trade's invoice facts kept in the store (``trade_facts``, migration 0028; issue 17: the
review queue's first load in a process decoded its parties' invoices): the kept facts are those
``invoice_facts`` computes from the documents, field for field; the credit history read from
them equals the one decoded from the documents, without decoding; a trade given another
document since, or a row of another computation version, is decoded instead; ``fill`` keeps
exactly the trades without a current row; verification keeps none (issue 16: the worker
does, looking only at the trades changed since its last pass; readers decode meanwhile);
``put_many`` is an upsert that two writers can run at once; on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
import time
from collections.abc import Sequence

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from fourflow.adapters.db import SqlUnitOfWorkFactory
from fourflow.adapters.db.repositories import SqlTradeFacts
from fourflow.domain.documents import DocumentKind
from fourflow.domain.parties import Role
from fourflow.domain.trades import Trade
from fourflow.risk.features import History, invoice_facts
from fourflow.services import trade_facts
from fourflow.services.credit import history
from fourflow.services.ports import StoredFacts, TradeRecord, UnitOfWork
from fourflow.services.verification import load_trades, verify_many

from . import builders as b
from .test_credit_history_read import _store


def _decoded(uow_factory: SqlUnitOfWorkFactory, records: Sequence[TradeRecord]) -> History:
    with uow_factory() as u:
        return History.of(f for t in load_trades(u, records) for f in invoice_facts(t))


def _decoding(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The trades the credit history decodes from their documents from now on."""
    decoded: list[str] = []
    real = history.trade_contents

    def counted(uow: UnitOfWork, records: Sequence[TradeRecord]) -> list[Trade]:
        decoded.extend(r.id for r in records)
        return real(uow, records)

    monkeypatch.setattr(history, "trade_contents", counted)
    return decoded


def test_kept_facts_are_the_computed_ones_and_the_history_reads_them(
    uow_factory: SqlUnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = _store(uow_factory)
    expected = _decoded(uow_factory, records)
    assert history.fill(uow_factory) == len(records)
    assert history.fill(uow_factory) == 0  # nothing left to keep
    with uow_factory() as u:
        kept = u.trade_facts.get_many([r.id for r in records])
        trades = load_trades(u, records)
    for record, trade in zip(records, trades, strict=True):
        row = kept[record.id]
        assert trade_facts.current(row, record.document_ids)
        assert trade_facts.decode(row.facts) == invoice_facts(trade)  # floats, dates, tuples
    assert sum(1 for f in expected.all() if f.payments or f.credits or f.logistics) > 5
    decoded = _decoding(monkeypatch)
    with uow_factory() as u:
        read = history._FactsCache().history(u, records)
    assert decoded == []  # read from the kept rows, no document decoded
    assert list(read.all()) == list(expected.all())
    assert read.by_debtor == expected.by_debtor and read.by_creditor == expected.by_creditor


def test_a_trade_given_another_document_or_another_version_is_decoded(
    uow_factory: SqlUnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = _store(uow_factory)
    history.fill(uow_factory)
    # a payment linked to the first trade since its facts were kept
    first = records[0]
    paid = dataclasses.replace(
        b.document(9001, kind=DocumentKind.PAYMENT, number="PAY-09001"),
        issue_date=b.DAY,
    )
    with uow_factory() as u:
        u.documents.add(dataclasses.replace(b.stored(9001), document=paid))
        grown = dataclasses.replace(first, document_ids=(*first.document_ids, paid.id))
        u.trades.update(grown)
        u.commit()
    records = [grown, *records[1:]]
    expected = _decoded(uow_factory, records)
    decoded = _decoding(monkeypatch)
    with uow_factory() as u:
        read = history._FactsCache().history(u, records)
    assert decoded == [grown.id]  # its kept row is of the documents it had: not used
    assert list(read.all()) == list(expected.all())
    assert history.fill(uow_factory) == 1  # only that trade kept again
    decoded.clear()
    monkeypatch.setattr(trade_facts, "VERSION", trade_facts.VERSION + 1)
    with uow_factory() as u:
        read = history._FactsCache().history(u, records[:5])
    assert sorted(decoded) == sorted(r.id for r in records[:5])  # another computation's rows
    assert history.fill(uow_factory) == len(records)


def test_verification_keeps_no_facts_readers_decode_until_the_worker_keeps_them(
    uow_factory: SqlUnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 16: the facts are not computed inside the upload request; until a worker pass
    keeps them the history is decoded from the documents, equal all the same."""
    records = _store(uow_factory, trades=6)
    verify_many(uow_factory=uow_factory, trade_ids=[r.id for r in records[:4]], as_of=b.DAY)
    with uow_factory() as u:
        assert u.trade_facts.get_many([r.id for r in records]) == {}
        records = u.trades.verdicts()
    expected = _decoded(uow_factory, records)
    decoded = _decoding(monkeypatch)
    with uow_factory() as u:
        read = history._FactsCache().history(u, records)
    assert sorted(decoded) == sorted(r.id for r in records)
    assert list(read.all()) == list(expected.all())
    filled = history.fill_changed(uow_factory, history.FillState())
    assert (filled.kept, filled.looked_at, filled.full, filled.left) == (6, 6, True, False)
    decoded.clear()
    with uow_factory() as u:
        read = history._FactsCache().history(u, records)
    assert decoded == []  # the worker's rows read, nothing decoded
    assert list(read.all()) == list(expected.all())


def _pay(uow_factory: SqlUnitOfWorkFactory, record: TradeRecord, n: int) -> TradeRecord:
    """``record`` given a payment document (stamped now)."""
    paid = dataclasses.replace(
        b.document(n, kind=DocumentKind.PAYMENT, number=f"PAY-{n:05d}"), issue_date=b.DAY
    )
    with uow_factory() as u:
        u.documents.add(dataclasses.replace(b.stored(n), document=paid))
        grown = dataclasses.replace(record, document_ids=(*record.document_ids, paid.id))
        u.trades.update(grown)
        u.commit()
    return grown


def test_a_worker_pass_looks_only_at_trades_changed_since_the_last_one(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    records = _store(uow_factory)
    state = history.FillState()
    # the first pass looks at every trade; "now" put LOOK_BACK ahead so that the next pass
    # looks at the trades stamped after this pass began, not those of the last ten minutes
    ahead = lambda: dt.datetime.now(dt.UTC) + history.LOOK_BACK  # noqa: E731
    first = history.fill_changed(uow_factory, state, now=ahead)
    assert (first.looked_at, first.kept, first.full) == (len(records), len(records), True)
    idle = history.fill_changed(uow_factory, state, now=ahead)
    assert idle == history.Filled(unchanged=True)  # the change mark did not move: nothing read
    grown = _pay(uow_factory, records[3], 9002)
    second = history.fill_changed(uow_factory, state, now=ahead)
    assert (second.looked_at, second.kept, second.full) == (1, 1, False)
    with uow_factory() as u:
        row = u.trade_facts.get_many([grown.id])[grown.id]
        (trade,) = load_trades(u, [grown])
    assert trade_facts.current(row, grown.document_ids)
    assert trade_facts.decode(row.facts) == invoice_facts(trade)
    assert history.fill(uow_factory) == 0  # every trade current
    with uow_factory() as u:  # the mark moved by another table: the trades' times read only
        u.organisations.add(b.org(99, Role.SUPPLIER))
        u.commit()
    other = history.fill_changed(uow_factory, state, now=ahead)
    assert (other.unchanged, other.looked_at, other.kept) == (False, 0, 0)
    # an hour after the last full pass the next one looks at every trade again
    later = lambda: dt.datetime.now(dt.UTC) + history.LOOK_BACK + history.FULL_EVERY  # noqa: E731
    _pay(uow_factory, records[4], 9003)
    third = history.fill_changed(uow_factory, state, now=later)
    assert (third.looked_at, third.kept, third.full) == (len(records), 1, True)


def test_a_worker_pass_stops_on_its_budget_and_the_next_goes_on(
    uow_factory: SqlUnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = _store(uow_factory)
    monkeypatch.setattr(history, "FILL_CHUNK", 7)
    state = history.FillState()
    cut = history.fill_changed(uow_factory, state, budget_s=0.0)  # one chunk a pass
    assert (cut.kept, cut.left) == (7, True)
    assert state == history.FillState()  # not advanced: the next pass looks at them all again
    rest = history.fill_changed(uow_factory, state)
    assert (rest.looked_at, rest.kept, rest.left) == (len(records), len(records) - 7, False)
    assert history.fill(uow_factory) == 0


def _facts(ids: Sequence[str], key: str) -> list[StoredFacts]:
    return [StoredFacts(i, key, trade_facts.VERSION, f'[{{"writer": "{key}"}}]') for i in ids]


def test_two_writers_keeping_the_same_trades_at_once_do_not_collide(
    store_engine: Engine,
) -> None:
    """``put_many`` is an upsert: a writer keeping rows another writer holds uncommitted
    waits for it and replaces them (the delete-then-insert it was failed on the key on
    PostgreSQL: a worker beside ``Platform.initialise``). Some rows exist before (the update
    path), some not (the insert path)."""
    ids = [f"trade-{k:03d}" for k in range(40)]
    with Session(store_engine) as s:
        SqlTradeFacts(s).put_many(_facts(ids[:15], "before"))
        s.commit()
    failed: list[BaseException] = []
    pg = store_engine.dialect.name == "postgresql"

    def second() -> None:
        try:
            with Session(store_engine) as s:
                SqlTradeFacts(s).put_many(_facts(list(reversed(ids)), "second"))
                s.commit()
        except BaseException as exc:  # reported by the test, not lost in the thread
            failed.append(exc)

    with Session(store_engine) as s:
        SqlTradeFacts(s).put_many(_facts(ids, "first"))
        writer = threading.Thread(target=second)
        writer.start()
        if pg:  # the second writer waits on this transaction's rows before it commits
            pid = s.execute(text("SELECT pg_backend_pid()")).scalar_one()
            _until_blocked_by(store_engine, pid)
        s.commit()
    writer.join(timeout=120)
    assert not writer.is_alive()
    assert failed == []
    with Session(store_engine) as s:
        kept = SqlTradeFacts(s).get_many(ids)
    assert {r.documents_key for r in kept.values()} == {"second"}
    assert sorted(kept) == ids


def _until_blocked_by(engine: Engine, pid: int) -> None:
    """Wait (bounded: 60 s) until a session waits on a lock that ``pid`` holds."""
    query = text("SELECT count(*) FROM pg_stat_activity WHERE :pid = ANY(pg_blocking_pids(pid))")
    deadline = time.monotonic() + 60
    with engine.connect() as c:
        while c.execute(query, {"pid": pid}).scalar_one() == 0:
            assert time.monotonic() < deadline, "the second writer never waited on the first"
            time.sleep(0.02)
            c.rollback()
