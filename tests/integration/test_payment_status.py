"""pacs.002 payment statuses through the real stores (SQLite and PostgreSQL): ingested,
stored with their status, linked to the payment they name in its trade, and used by
verification: a rejected payment is no evidence of settlement, a settled one is confirmed.

The trade's payment is a pain.001 credit transfer written here (checked against the official
pain.001.001.03 XSD by the reader); the status reports are written by
``tests.documents.test_iso20022_pacs002.pacs002``.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from fourflow.adapters.db import SqlUnitOfWorkFactory
from fourflow.adapters.documents.registry import DetectingReader
from fourflow.domain.documents import DocumentKind
from fourflow.domain.findings import Severity
from fourflow.domain.money import Money
from fourflow.domain.scenarios import Scenario
from fourflow.domain.trades import Trade
from fourflow.services import ingest, linking, onboarding, verification
from fourflow.services.demo import trade_bundle
from fourflow.services.verification import load_trade
from fourflow.verification import fraud
from fourflow.verification.rules import TradeContext, open_receivable, payment_state
from tests.documents.test_iso20022_pacs002 import Tx, pacs002
from tests.fakes import FakeKeyStore, FixedClock
from tests.services.conftest import MEMBERS
from tests.store.fixtures import *  # noqa: F403  (store_url, store_engine, uow_factory)

TODAY = dt.date(2026, 6, 30)
DAY0 = TODAY - dt.timedelta(days=30)
CORE, TIER1 = MEMBERS["core"], MEMBERS["tier1"]


def pain001(end_to_end: str, amount: str = "113000.00") -> bytes:
    """The buyer's credit transfer of ``amount`` CNY to the seller for INV-T001."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.03">
 <CstmrCdtTrfInitn>
  <GrpHdr><MsgId>PAIN-{end_to_end}</MsgId><CreDtTm>2026-06-18T08:00:00</CreDtTm>
   <NbOfTxs>1</NbOfTxs><InitgPty><Nm>{CORE.name_en}</Nm></InitgPty></GrpHdr>
  <PmtInf><PmtInfId>PI-{end_to_end}</PmtInfId><PmtMtd>TRF</PmtMtd>
   <ReqdExctnDt>2026-06-18</ReqdExctnDt>
   <Dbtr><Nm>{CORE.name_en}</Nm></Dbtr>
   <DbtrAcct><Id><Othr><Id>{CORE.account}</Id></Othr></Id></DbtrAcct>
   <DbtrAgt><FinInstnId><BIC>ICBKCNBJSZN</BIC></FinInstnId></DbtrAgt>
   <CdtTrfTxInf><PmtId><EndToEndId>{end_to_end}</EndToEndId></PmtId>
    <Amt><InstdAmt Ccy="CNY">{amount}</InstdAmt></Amt>
    <Cdtr><Nm>{TIER1.name_en}</Nm></Cdtr>
    <CdtrAcct><Id><Othr><Id>{TIER1.account}</Id></Othr></Id></CdtrAcct>
    <RmtInf><Strd><RfrdDocInf><Nb>INV-T001</Nb></RfrdDocInf></Strd></RmtInf>
   </CdtTrfTxInf>
  </PmtInf>
 </CstmrCdtTrfInitn>
</Document>
""".encode()


def parties() -> dict[str, Any]:
    return {
        "debtor": (CORE.name_en, CORE.account),
        "creditor": (TIER1.name_en, TIER1.account),
    }


def _ingest(
    uow: SqlUnitOfWorkFactory, raw: bytes, sender: str, statuses: tuple[str, ...] = ("accepted",)
) -> list[ingest.DocumentOutcome]:
    outcomes = ingest.ingest_bytes(
        uow_factory=uow, reader=DetectingReader(submitter=sender), clock=FixedClock(TODAY),
        raw=raw, source=f"{sender}.xml", submitter_id=sender,
    )  # fmt: skip
    assert tuple(o.status for o in outcomes) == statuses, outcomes
    return outcomes


def _setup(uow: SqlUnitOfWorkFactory) -> tuple[dict[str, str], str, str]:
    """Members onboarded, a verified goods trade, and its payment (pain.001 E2E-T001) linked:
    the org ids, the trade id and the payment's id."""
    org = {
        key: onboarding.onboard(
            uow_factory=uow, keystore=FakeKeyStore(), name=MEMBERS[key].name,
            uscc=MEMBERS[key].uscc, roles=MEMBERS[key].roles, accounts=[MEMBERS[key].account],
            admit=False,
        ).id
        for key in ("tier1", "core", "logistics", "bank")
    }  # fmt: skip
    raw = trade_bundle(
        prefix="T001", seller=TIER1, buyer=CORE, carrier=MEMBERS["logistics"],
        lines=[("GEAR-HOUSING", "100", "EA", "1000.00")], received_factor="1", day0=DAY0,
        terms_days=60, scenario=Scenario.MANUFACTURING,
    )  # fmt: skip
    bundle: dict[str, Any] = json.loads(raw)
    issuer = {"order": "core", "receipt_advice": "core", "transport_event": "logistics"}
    for party in ("core", "tier1", "logistics"):
        docs = [d for d in bundle["documents"] if issuer.get(d["kind"], "tier1") == party]
        outcomes = ingest.ingest_bytes(
            uow_factory=uow, reader=DetectingReader(submitter=org[party]),
            clock=FixedClock(TODAY), raw=json.dumps({**bundle, "documents": docs}).encode(),
            source=f"{party}.json", submitter_id=org[party],
        )  # fmt: skip
        assert {o.status for o in outcomes} == {"accepted"}
    (trade_id,) = linking.link_documents(uow_factory=uow).created
    (paid,) = _ingest(uow, pain001("E2E-T001"), org["core"])
    assert linking.link_documents(uow_factory=uow).extended == (trade_id,)
    assert paid.document_id is not None
    return org, trade_id, paid.document_id


def _trade(uow: SqlUnitOfWorkFactory, trade_id: str) -> Trade:
    with uow() as u:
        record = u.trades.get(trade_id)
        assert record is not None
        return load_trade(u, record)


def test_a_rejected_payment_is_no_evidence_of_settlement(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    org, trade_id, payment_id = _setup(uow_factory)
    before = verification.verify(uow_factory=uow_factory, trade_id=trade_id, as_of=TODAY)
    trade = _trade(uow_factory, trade_id)
    assert open_receivable(trade) == Money(Decimal("0.00"), "CNY")
    assert payment_state(TradeContext(trade, {}, TODAY)) == "paid"
    assert fraud._paid_numbers(trade) == {"INV-T001"}  # its invoice counts as the paid one

    (status,) = _ingest(uow_factory, pacs002([Tx(end_to_end="E2E-T001", **parties())]), org["bank"])
    linked = linking.link_documents(uow_factory=uow_factory)
    assert linked.extended == (trade_id,) and linked.unlinked == ()
    assert linked.inferred == ()  # joined by the payment it names

    trade = _trade(uow_factory, trade_id)
    (stored,) = trade.of_kind(DocumentKind.PAYMENT_STATUS)
    assert stored.id == status.document_id and stored.payment_status is not None
    assert stored.payment_status.code == "RJCT"  # read back from the store whole
    assert stored.payment_status.payment_ids == (
        "E2E-T001",
        "7a562c67-ca16-48ba-b074-65581be6f001",
        "TX-1",
    )
    assert stored.payment_status.reasons == ("AC04",)
    # the rejected payment pays nothing: the invoice is owed again
    assert open_receivable(trade) == Money(Decimal("113000.00"), "CNY")
    assert payment_state(TradeContext(trade, {}, TODAY)) == "open"
    # nor for the fraud detectors (which invoice of two copies was paid, money flows)
    assert fraud._paid_numbers(trade) == set()

    after = verification.verify(uow_factory=uow_factory, trade_id=trade_id, as_of=TODAY)
    (rejected,) = [f for f in after.findings if f.code == "PAYMENT_REJECTED"]
    assert rejected.severity is Severity.WARNING
    assert rejected.documents == (payment_id, stored.id)
    assert "RJCT (rejected; reason AC04)" in rejected.message and "E2E-T001" in rejected.message
    assert after.score < before.score and after.status.value == "partial"
    codes = {f.code for f in after.findings}
    assert "PAYMENT_NOT_YET_DUE" in codes  # as if no payment had come
    assert "PAYMENT_SETTLEMENT_CONFIRMED" not in codes
    assert "PARTY_MISMATCH" not in codes


def test_a_settled_payment_is_confirmed_and_changes_no_figure(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    org, trade_id, payment_id = _setup(uow_factory)
    before = verification.verify(uow_factory=uow_factory, trade_id=trade_id, as_of=TODAY)
    raw = pacs002([Tx(status="ACSC", reasons=(), end_to_end="E2E-T001", uetr=None, tx_id=None,
                      **parties())])  # fmt: skip
    _ingest(uow_factory, raw, org["bank"])
    assert linking.link_documents(uow_factory=uow_factory).extended == (trade_id,)
    after = verification.verify(uow_factory=uow_factory, trade_id=trade_id, as_of=TODAY)
    (confirmed,) = [f for f in after.findings if f.code == "PAYMENT_SETTLEMENT_CONFIRMED"]
    assert confirmed.severity is Severity.INFO and confirmed.documents[0] == payment_id
    assert (after.status, after.score) == (before.status, before.score)
    assert open_receivable(_trade(uow_factory, trade_id)) == Money(Decimal("0.00"), "CNY")


def test_a_status_for_an_unknown_payment_waits_unlinked(uow_factory: SqlUnitOfWorkFactory) -> None:
    org, trade_id, _payment = _setup(uow_factory)
    raw = pacs002([Tx(end_to_end="E2E-ELSEWHERE", uetr=None, tx_id=None, **parties())])
    (status,) = _ingest(uow_factory, raw, org["bank"])
    linked = linking.link_documents(uow_factory=uow_factory)
    assert linked.extended == () and linked.created == () and linked.inferred == ()
    assert [d for d, _why in linked.unlinked] == [status.document_id]
    assert open_receivable(_trade(uow_factory, trade_id)) == Money(Decimal("0.00"), "CNY")


def test_a_batch_with_a_bad_status_stores_the_good_ones_only(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    org, trade_id, _payment = _setup(uow_factory)
    raw = pacs002(
        [
            Tx(status_id="G-1", end_to_end="E2E-T001", uetr=None, tx_id=None, **parties()),
            Tx(status="DONE", status_id="B-2", end_to_end="E2E-X", **parties()),
        ]
    )
    outcomes = _ingest(uow_factory, raw, org["bank"], ("rejected", "accepted"))
    bad, good = outcomes
    assert bad.errors and "TxSts 'DONE'" in bad.errors[0]["message"]
    assert good.parsed is not None and good.parsed.document.number == "G-1"
    with uow_factory() as u:
        stored = u.documents.by_numbers([(DocumentKind.PAYMENT_STATUS, "B-2")])
        kept = u.documents.by_numbers([(DocumentKind.PAYMENT_STATUS, "G-1")])
    assert stored == [] and len(kept) == 1
    assert linking.link_documents(uow_factory=uow_factory).extended == (trade_id,)


def test_a_refused_report_stores_nothing(uow_factory: SqlUnitOfWorkFactory) -> None:
    org, _trade_id, _payment = _setup(uow_factory)
    with uow_factory() as u:
        before = len(u.documents.unlinked())
    outcomes = _ingest(uow_factory, pacs002(msg_id=None), org["bank"], ("rejected",))
    assert "MsgId is required" in outcomes[0].errors[0]["message"]
    with uow_factory() as u:
        assert len(u.documents.unlinked()) == before
        assert u.documents.by_numbers([(DocumentKind.PAYMENT_STATUS, "STS-1")]) == []
