"""Tamper drills: `audit` names each direct change to the store, with its record and field.

One platform per store backend (SQLite, PostgreSQL) is built by the real services on a real
anvil node: the demo's main path (documents, trades, items passed up three tiers, a financing,
repayments), a public UBL invoice, everything relayed and anchored. Each drill changes the store
with plain SQL, checks what `audit` names, and puts the store back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, update

from fourflow.adapters.chain.node import AnvilNode
from fourflow.adapters.db import make_engine
from fourflow.adapters.db import tables as t
from fourflow.adapters.documents.standards import standards_dir
from fourflow.bootstrap import Platform, Settings
from fourflow.domain.documents import DocumentKind
from fourflow.domain.financing import Financing, FinancingStatus
from fourflow.domain.scenarios import Scenario
from fourflow.services import ingest, relay
from fourflow.services.audit import AuditReport, audit
from fourflow.services.demo import MEMBERS, DemoContext, run_demo, trade_bundle
from fourflow.services.ports import StoredDocument
from tests.store.fixtures import BACKENDS, pg_schema_url, require_postgres, sqlite_url

pytestmark = pytest.mark.chain

UBL = ("en16931", "ubl-examples", "ubl-tc434-example1.xml")


@dataclass(frozen=True)
class Built:
    """A platform built by the real services, and an engine on its store for tampering."""

    platform: Platform
    engine: Engine
    ubl: StoredDocument
    invoice: StoredDocument
    financing: Financing


def _audit(p: Platform) -> AuditReport:
    return audit(uow_factory=p.uow_factory, ledger=p.require_contracts(), reader_for=p.reader_for)


def _named(report: AuditReport) -> set[tuple[str, str, str]]:
    return {(d.kind, d.record_id, d.field) for d in report.discrepancies}


def _build(home: Path, url: str, anvil: AnvilNode) -> Iterator[Built]:
    settings = Settings(home=home, database_url=url, chain_url=anvil.url, keystore_password="pw")
    with Platform(settings) as p:
        p.initialise()
        ctx = DemoContext(
            uow_factory=p.uow_factory, keystore=p.keystore, ledger=p.require_contracts(),
            clock=p.clock, reader_for=p.reader_for, operator_id=p.operator_id(),
            cold_start=p.cold_start,
        )  # fmt: skip
        run_demo(ctx, today=p.clock.today())
        with p.uow_factory() as uow:
            tier1 = next(o for o in uow.organisations.list() if o.uscc == MEMBERS[1].uscc)
        raw = standards_dir().joinpath(*UBL).read_bytes()
        outcomes = ingest.ingest_many(
            uow_factory=p.uow_factory, reader=p.reader_for(tier1.id), clock=p.clock,
            files=[("ubl-invoice.xml", raw)], submitter_id=tier1.id,
        )  # fmt: skip
        assert [o.status for o in outcomes] == ["accepted"], outcomes
        relay.relay(uow_factory=p.uow_factory, ledger=p.require_contracts())
        ingest.anchor_pending(uow_factory=p.uow_factory, clock=p.clock, operator_id=p.operator_id())
        relay.relay(uow_factory=p.uow_factory, ledger=p.require_contracts())
        with p.uow_factory() as uow:
            ubl = uow.documents.get(str(outcomes[0].document_id))
            financing = next(
                f for f in uow.financings.list() if f.status in (FinancingStatus.ACTIVE,
                                                                   FinancingStatus.REPAID)
            )  # fmt: skip
            item = uow.items.get(financing.item_id)
            assert item is not None
            trade = uow.trades.get(item.trade_id)
            assert trade is not None
            invoice = next(
                d for d in uow.documents.get_many(list(trade.document_ids))
                if d.document.kind is DocumentKind.INVOICE
            )  # fmt: skip
        assert ubl is not None
        engine = make_engine(url)
        try:
            yield Built(p, engine, ubl, invoice, financing)
        finally:
            engine.dispose()


@pytest.fixture(scope="module", params=BACKENDS)
def built(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode
) -> Iterator[Built]:
    """The platform, built once per module and backend."""
    home = tmp_path_factory.mktemp("audit")
    if request.param == "sqlite":
        yield from _build(home / "home", sqlite_url(home), anvil)
        return
    with pg_schema_url(require_postgres()) as url:
        yield from _build(home / "home", url, anvil)


def _set(engine: Engine, table: Any, key: Any, key_value: str, **values: Any) -> dict[str, Any]:
    """UPDATE one row; return the columns' old values (to put them back)."""
    with engine.begin() as conn:
        row = conn.execute(select(table).where(key == key_value)).mappings().one()
        conn.execute(update(table).where(key == key_value).values(**values))
    return {name: row[name] for name in values}


def _check_and_restore(
    b: Built, table: Any, key: Any, key_value: str, values: dict[str, Any]
) -> AuditReport:
    old = _set(b.engine, table, key, key_value, **values)
    try:
        return _audit(b.platform)
    finally:
        _set(b.engine, table, key, key_value, **old)


def test_the_untouched_platform_is_ok(built: Built) -> None:
    report = _audit(built.platform)
    assert report.ok, [str(d) for d in report.discrepancies]
    assert report.items_checked == 3 and report.holdings_checked == 5
    assert report.financings_checked == 2 and report.batches_checked >= 1
    assert report.documents_checked >= 16 and report.pending_ops == report.failed_ops == 0


def test_a_holdings_pledge_bank(built: Built) -> None:
    f = built.financing
    report = _check_and_restore(
        built, t.holdings, t.holdings.c.id, f.holding_id, {"pledge_bank_id": f.borrower_id}
    )
    assert ("holding", f.holding_id, "pledge_bank") in _named(report)
    assert not report.ok
    assert _audit(built.platform).ok


def test_a_financings_principal_and_bank(built: Built) -> None:
    f = built.financing
    fin = t.financings
    report = _check_and_restore(built, fin, fin.c.id, f.id, {"principal": f.principal + 100})
    found = next(d for d in report.discrepancies if (d.kind, d.field) == ("financing", "principal"))
    assert (found.record_id, found.store, found.chain) == (
        f.id, str(f.principal + 100), str(f.principal),
    )  # fmt: skip
    report = _check_and_restore(built, fin, fin.c.id, f.id, {"bank_id": f.borrower_id})
    assert ("financing", f.id, "bank") in _named(report)
    assert _audit(built.platform).ok


def test_an_invoices_total_in_its_payload(built: Built) -> None:
    doc = built.invoice.document
    assert doc.total is not None
    with built.engine.connect() as conn:
        payload = dict(conn.execute(select(t.documents.c.payload).where(
            t.documents.c.id == doc.id)).scalar_one())  # fmt: skip
    payload["total"] = {"amount": str(doc.total.amount + 1), "currency": doc.total.currency}
    docs = t.documents
    report = _check_and_restore(built, docs, docs.c.id, doc.id, {"payload": payload})
    found = next(d for d in report.discrepancies if d.field == "payload.total")
    assert found.kind == "document" and found.record_id == doc.id
    assert found.chain == str(doc.total) and found.store != found.chain
    assert _audit(built.platform).ok


def test_an_invoices_raw_xml_and_payload(built: Built) -> None:
    ubl = built.ubl
    docs = t.documents
    tampered = ubl.raw.replace(b">250.33</cbc:PayableAmount>", b">260.33</cbc:PayableAmount>")
    assert tampered != ubl.raw
    report = _check_and_restore(built, docs, docs.c.id, ubl.document.id, {"raw": tampered})
    found = next(d for d in report.discrepancies if d.field == "raw")
    assert found.kind == "document" and found.record_id == ubl.document.id
    assert found.chain == ubl.fingerprint and found.store != ubl.fingerprint

    with built.engine.connect() as conn:
        payload = dict(conn.execute(select(docs.c.payload).where(
            docs.c.id == ubl.document.id)).scalar_one())  # fmt: skip
    payload["number"] = payload["number"] + "-X"
    report = _check_and_restore(built, docs, docs.c.id, ubl.document.id, {"payload": payload})
    assert ("document", ubl.document.id, "payload.number") in _named(report)
    assert _audit(built.platform).ok


def test_a_deleted_invoice_is_found_from_the_chain(built: Built) -> None:
    stored = built.invoice
    doc_id = stored.document.id
    with built.engine.begin() as conn:
        doc_row = dict(conn.execute(select(t.documents).where(t.documents.c.id == doc_id))
                       .mappings().one())  # fmt: skip
        anchor_rows = [dict(r) for r in conn.execute(select(t.document_anchors).where(
            t.document_anchors.c.doc_id == doc_id)).mappings()]  # fmt: skip
        conn.execute(t.document_anchors.delete().where(t.document_anchors.c.doc_id == doc_id))
        conn.execute(t.documents.delete().where(t.documents.c.id == doc_id))
    try:
        report = _audit(built.platform)
    finally:
        with built.engine.begin() as conn:
            conn.execute(t.documents.insert().values(**doc_row))
            for row in anchor_rows:
                conn.execute(t.document_anchors.insert().values(**row))
    named = _named(report)
    assert ("document", stored.fingerprint, "row") in named
    assert ("item", built.financing.item_id, "trade_hash") in named
    assert any(kind == "batch" and field in ("count", "members_root")
               for kind, _, field in named)  # fmt: skip
    assert _audit(built.platform).ok


def test_after_a_killed_ingest_the_documents_not_on_chain_are_named(built: Built) -> None:
    """kill -9 after the store's commit and before the relay: documents stored, op pending."""
    p = built.platform
    m = {x.key: x for x in MEMBERS}
    bundle = trade_bundle(
        prefix="KILLED", seller=m["tier2"], buyer=m["core"], carrier=m["logistics"],
        lines=[("SKU-9", "3", "EA", "10.00")], received_factor="1",
        day0=dt.date(2026, 9, 1), terms_days=60, scenario=Scenario.MANUFACTURING,
    )  # fmt: skip
    with p.uow_factory() as uow:
        tier2 = next(o for o in uow.organisations.list() if o.uscc == m["tier2"].uscc)
    outcomes = ingest.ingest_many(
        uow_factory=p.uow_factory, reader=p.reader_for(tier2.id), clock=p.clock,
        files=[("killed.json", bundle)], submitter_id=tier2.id,
    )  # fmt: skip
    new_ids = {str(o.document_id) for o in outcomes if o.status == "accepted"}
    assert len(new_ids) == 5
    report = _audit(p)
    assert not report.ok and report.pending_ops == 1
    unregistered = {d.record_id for d in report.discrepancies if d.field == "fingerprint"}
    assert unregistered == new_ids
    assert any(d.kind == "operation" and d.store == "pending" for d in report.discrepancies)
    relay.relay(uow_factory=p.uow_factory, ledger=p.require_contracts())
    assert _audit(p).ok


def test_a_failed_operation_is_never_an_empty_disagreement(built: Built) -> None:
    with built.platform.uow_factory() as uow:
        op = uow.outbox.list()[-1]
    out = t.outbox
    report = _check_and_restore(
        built, out, out.c.op_id, op.op_id, {"status": "failed", "error": "drill"}
    )
    assert not report.ok and report.failed_ops == 1
    assert [(d.kind, d.record_id, d.field) for d in report.discrepancies] == [
        ("operation", op.op_id, "status")
    ]
    assert _audit(built.platform).ok
