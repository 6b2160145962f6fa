"""Each trade's invoice facts kept in the store (``trade_facts``, migration 0028; issue 17: the
review queue's first load in a process decoded its parties' invoices): the kept facts are those
``invoice_facts`` computes from the documents, field for field; the credit history read from
them equals the one decoded from the documents, without decoding; a trade given another
document since, or a row of another computation version, is decoded instead; ``fill`` keeps
exactly the trades without a current row, and verification keeps the facts of the trades it
verifies; on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest

from fourflow.adapters.db import SqlUnitOfWorkFactory
from fourflow.domain.documents import DocumentKind
from fourflow.domain.trades import Trade
from fourflow.risk.features import History, invoice_facts
from fourflow.services import trade_facts
from fourflow.services.credit import history
from fourflow.services.ports import TradeRecord, UnitOfWork
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


def test_verification_keeps_the_facts_of_the_trades_it_verifies(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    records = _store(uow_factory, trades=6)
    verify_many(uow_factory=uow_factory, trade_ids=[r.id for r in records[:4]], as_of=b.DAY)
    with uow_factory() as u:
        kept = u.trade_facts.get_many([r.id for r in records])
        trades = load_trades(u, records)
    assert set(kept) == {r.id for r in records[:4]}
    for record, trade in zip(records[:4], trades[:4], strict=True):
        assert trade_facts.current(kept[record.id], record.document_ids)
        assert trade_facts.decode(kept[record.id].facts) == invoice_facts(trade)
    assert history.fill(uow_factory) == 2  # the two not verified
