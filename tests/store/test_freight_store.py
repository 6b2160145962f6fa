"""A carrier's FreightInvoice through the real stores (SQLite and PostgreSQL): stored with its
consignment, linked into the goods trade by the order and despatch it names, shown in the
trade's verification as transport evidence, and out of the trade's receivable."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from fourflow.adapters.db import SqlUnitOfWorkFactory
from fourflow.adapters.documents.registry import DetectingReader
from fourflow.domain.documents import DocumentKind
from fourflow.domain.money import Money
from fourflow.domain.scenarios import Scenario
from fourflow.services import ingest, linking, onboarding, verification
from fourflow.services.demo import trade_bundle
from fourflow.services.verification import load_trade
from fourflow.verification.rules import open_receivable
from tests.fakes import FakeKeyStore, FixedClock
from tests.services.conftest import MEMBERS
from tests.services.test_freight_evidence import freight_invoice

TODAY = dt.date(2026, 6, 30)
DAY0 = TODAY - dt.timedelta(days=30)


def _ingest(uow: SqlUnitOfWorkFactory, clock: FixedClock, raw: bytes, sender: str) -> None:
    outcomes = ingest.ingest_bytes(
        uow_factory=uow, reader=DetectingReader(submitter=sender), clock=clock, raw=raw,
        source=f"{sender}.bin", submitter_id=sender,
    )  # fmt: skip
    assert {o.status for o in outcomes} == {"accepted"}, outcomes


def test_a_freight_invoice_is_stored_linked_and_verified_as_transport_evidence(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    clock = FixedClock(TODAY)
    org = {
        key: onboarding.onboard(
            uow_factory=uow_factory, keystore=FakeKeyStore(), name=MEMBERS[key].name,
            uscc=MEMBERS[key].uscc, roles=MEMBERS[key].roles, admit=False,
        ).id
        for key in ("tier1", "core", "logistics")
    }  # fmt: skip
    raw = trade_bundle(
        prefix="T001", seller=MEMBERS["tier1"], buyer=MEMBERS["core"],
        carrier=MEMBERS["logistics"], lines=[("GEAR-HOUSING", "100", "EA", "1000.00")],
        received_factor="1", day0=DAY0, terms_days=60, scenario=Scenario.MANUFACTURING,
    )  # fmt: skip
    bundle: dict[str, Any] = json.loads(raw)
    issuer = {"order": "core", "receipt_advice": "core", "transport_event": "logistics"}
    for party in ("core", "tier1", "logistics"):
        docs = [d for d in bundle["documents"] if issuer.get(d["kind"], "tier1") == party]
        _ingest(uow_factory, clock, json.dumps({**bundle, "documents": docs}).encode(), org[party])
    (trade_id,) = linking.link_documents(uow_factory=uow_factory).created

    _ingest(uow_factory, clock, freight_invoice("FRT-T001", "T001", DAY0), org["logistics"])
    linked = linking.link_documents(uow_factory=uow_factory)
    assert linked.extended == (trade_id,) and linked.unlinked == ()

    report = verification.verify(uow_factory=uow_factory, trade_id=trade_id, as_of=TODAY)
    assert report.status.value == "verified" and report.score == 100
    assert [f.code for f in report.findings if f.severity.value != "info"] == []
    (shown,) = [f for f in report.findings if f.code == "TRANSPORT_EVIDENCED"]
    with uow_factory() as uow:
        record = uow.trades.get(trade_id)
        assert record is not None
        trade = load_trade(uow, record)
    (freight,) = trade.of_kind(DocumentKind.FREIGHT_INVOICE)
    assert shown.documents[0] == freight.id
    assert freight.submitted_by == org["logistics"]
    assert freight.carriage is not None  # read back from the store whole
    assert freight.carriage.shipment_ids == ("WB-T001", "CN-T001")
    assert freight.carriage.consignor is not None
    assert freight.carriage.consignor.uscc() == MEMBERS["tier1"].uscc
    assert freight.total == Money(Decimal("1308.00"), "CNY")
    assert [d.number for d in trade.of_kind(DocumentKind.INVOICE)] == ["INV-T001"]
    assert open_receivable(trade) == Money(Decimal("113000.00"), "CNY")
