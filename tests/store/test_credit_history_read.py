"""The credit history's read of documents (issue 17: the bank's review queue decoded the raw
bytes of every document of its parties' trades on its first load): the documents' contents
alone (``Documents.contents_many``) are the documents ``get_many`` reads, and the invoice facts
the cache builds from them are those built from ``load_trades``; the history a set of items'
features read (``items_history``: their debtors' purchases, their creditors' sales) gives the
features every trade of their parties gives; on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from decimal import Decimal

import pytest

from fourflow.adapters.db import SqlUnitOfWorkFactory
from fourflow.domain.documents import DocumentKind, DocumentRef
from fourflow.domain.money import Money
from fourflow.domain.parties import Role
from fourflow.risk.features import AssetTerms, History, features, invoice_facts
from fourflow.services.credit import valuation
from fourflow.services.credit.history import _FactsCache, trade_contents
from fourflow.services.credit.valuation import items_history
from fourflow.services.ports import TradeRecord
from fourflow.services.verification import load_trades

from . import builders as b

KINDS = (
    DocumentKind.INVOICE, DocumentKind.PAYMENT, DocumentKind.CREDIT_NOTE, DocumentKind.ORDER,
    DocumentKind.DESPATCH_ADVICE, DocumentKind.RECEIPT_ADVICE, DocumentKind.TRANSPORT_EVENT,
)  # fmt: skip


def _store(uow_factory: SqlUnitOfWorkFactory, trades: int = 30, orgs: int = 4) -> list[TradeRecord]:
    """``trades`` trades between ``orgs`` organisations, each with an invoice or two and a seeded
    mix of payments (referencing an invoice or not), credit notes, orders and logistics."""
    pick = random.Random(1717)
    parties = [
        b.org(k, Role.SUPPLIER if k % 2 else Role.CORE_ENTERPRISE) for k in range(1, orgs + 1)
    ]
    records, n = [], 0
    with uow_factory() as u:
        for o in parties:
            u.organisations.add(o)
        for k in range(trades):
            seller, buyer = pick.sample(parties, 2)
            ids, invoices = [], []
            for j in range(pick.randint(3, 8)):
                n += 1
                kind = DocumentKind.INVOICE if j < 1 + k % 2 else pick.choice(KINDS)
                number = f"{kind.value[:3].upper()}-{n:05d}"
                if kind is DocumentKind.INVOICE:
                    invoices.append(number)
                refs = (
                    (DocumentRef(DocumentKind.INVOICE, pick.choice(invoices)),)
                    if invoices and pick.random() < 0.5
                    else ()
                )
                doc = dataclasses.replace(
                    b.document(n, kind=kind, number=number, seller=seller, buyer=buyer),
                    issue_date=b.DAY + dt.timedelta(days=pick.randint(0, 120)),
                    total=Money.of(Decimal(pick.randint(100, 90_000)) / 10, "CNY"),
                    delivery_date=b.DAY + dt.timedelta(days=pick.randint(0, 60))
                    if pick.random() < 0.5
                    else None,
                    references=refs,
                )
                u.documents.add(dataclasses.replace(b.stored(n), document=doc))
                ids.append(doc.id)
            records.append(
                TradeRecord(
                    id=f"trade-{k}",
                    scenario=b.trade(k).scenario,
                    seller_id=seller.id,
                    buyer_id=buyer.id,
                    document_ids=tuple(ids),
                )
            )
        u.trades.add_many(records)
        u.commit()
    return records


def test_the_contents_are_the_documents_get_many_reads(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    records = _store(uow_factory)
    ids = [d for r in records for d in r.document_ids]
    with uow_factory() as u:
        full = [s.document for s in u.documents.get_many([*ids, "doc-unknown", ids[0]])]
        lean = u.documents.contents_many([*ids, "doc-unknown", ids[0]])
        assert lean == full
        assert len(lean) == len(ids) > 100
        assert u.documents.contents_many([]) == []
        assert trade_contents(u, records) == load_trades(u, records)


def test_the_facts_cache_gives_the_history_load_trades_gives(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    records = _store(uow_factory)
    with uow_factory() as u:
        expected = History.of(f for t in load_trades(u, records) for f in invoice_facts(t))
        cache = _FactsCache()
        cold = cache.history(u, records)
        warm = cache.history(u, records[::-1])  # every trade cached now, in another order
        some = cache.history(u, records[:7])
    assert list(cold.all()) == list(expected.all())
    assert cold.by_creditor == expected.by_creditor
    assert warm.by_debtor == expected.by_debtor  # each debtor's invoices in date order
    assert warm.by_creditor == expected.by_creditor
    assert sum(1 for f in cold.all() if f.payments or f.credits) > 5  # payments were matched
    assert {f.trade_id for f in some.all()} == {r.id for r in records[:7]}


def test_the_items_history_gives_the_features_every_trade_of_the_parties_gives(
    uow_factory: SqlUnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``items_history`` reads only the trades in which an item's debtor buys or its creditor
    sells (and the item's own): each item's features and own invoices are those read from
    every trade of its parties, which is more (the debtors' sales, the creditors' purchases)."""
    monkeypatch.setattr(valuation, "FACTS", _FactsCache())  # the ids repeat across tests
    records = _store(uow_factory, trades=60, orgs=8)
    debtor = records[0].buyer_id  # one debtor, its creditors in these trades: some buy too
    items = [
        b.item(k, r.id, debtor=r.buyer_id, creditor=r.seller_id)
        for k, r in enumerate(r for r in records if r.buyer_id == debtor)
    ][:3]
    parties = {p for i in items for p in (i.debtor_id, i.creditor_id)}
    with uow_factory() as u:
        narrow = items_history(u, items)
        every = [r for r in records if {r.seller_id, r.buyer_id} & parties]
        disputes = u.disputes.raised_days([r.id for r in every])
        full = History.of(f for t in load_trades(u, every) for f in invoice_facts(t, disputes))
    assert len(list(narrow.all())) < len(list(full.all()))  # fewer trades were read
    for item in items:
        for day in (b.DAY, b.DAY + dt.timedelta(days=70), b.DAY + dt.timedelta(days=200)):
            terms = AssetTerms(
                item.creditor_id, item.debtor_id, "manufacturing", 1000.0,
                day + dt.timedelta(days=60), day,
            )  # fmt: skip
            assert features(narrow, terms, day) == features(full, terms, day)
        own = [f for f in narrow.all() if f.trade_id == item.trade_id]
        assert own == [f for f in full.all() if f.trade_id == item.trade_id] != []
