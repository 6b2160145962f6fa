"""A bank's payment status (pacs.002) linked to the statement entry it concerns (camt.054),
through the real stores (SQLite and PostgreSQL).

The bookings are a public sample: the Swiss PostFinance camt.054.001.04 notification
``200519_camt054-ESR-ASR_...xml`` of moov-io/iso20022 (``../shared/data/iso20022``,
SOURCES.md), read as it is: six credits to Robert Schneider SA's account from Bernasconi
Maria's, each numbered by its account servicer reference (``AcctSvcrRef``) and carrying the
end-to-end and instruction ids of the transfer. No pacs.002 sample is public there: the status
reports are written by ``tests.documents.test_iso20022_pacs002.pacs002``. The two parties are
onboarded with the sample's accounts and trade once: an order and an invoice of CHF 250.00
(native JSON written here), which the first booking pays.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from fourflow.adapters.db import SqlUnitOfWorkFactory
from fourflow.adapters.documents.registry import DetectingReader
from fourflow.domain.documents import Document, DocumentKind
from fourflow.domain.findings import Severity
from fourflow.domain.money import Money
from fourflow.domain.parties import Role
from fourflow.domain.trades import Trade
from fourflow.services import ingest, linking, onboarding, verification, workbench
from fourflow.services.demo import demo_uscc
from fourflow.services.status_links import UNMATCHED
from fourflow.services.verification import load_trade
from fourflow.verification.linking import reference_components
from fourflow.verification.rules import open_receivable
from tests.documents.test_iso20022_pacs002 import Tx, pacs002
from tests.fakes import FakeKeyStore, FixedClock
from tests.store.fixtures import *  # noqa: F403  (store_url, store_engine, uow_factory)

SAMPLE = Path(
    "/work/shared/data/iso20022/samples-moov/"
    "200519_camt054-ESR-ASR_P_CH2909000000250094239_1110092704_0_2019042500372179.xml"
)
TODAY = dt.date(2019, 4, 30)
PAYEE = ("Robert Schneider SA", "CH2909000000250094239")
PAYER = ("Bernasconi Maria", "CH5109000000250092291")
# The first booking of the sample: 250.00 CHF, as its bank numbers and references it.
ACCT_SVCR_REF, END_TO_END, INSTR_ID = (
    "180315CH02ZX5RI3",
    "EndToEndId-001-02-02",
    "InstrId-001-02-02",
)


def _sample() -> bytes:
    if not SAMPLE.is_file():  # the standards directory is part of the test environment
        raise FileNotFoundError(f"public camt.054 sample missing: {SAMPLE}")
    return SAMPLE.read_bytes()


def _tx(status: str = "RJCT", **ids: Any) -> Tx:
    """One status of the transfer of CHF 250.00 from the payer to the payee, naming it by
    ``ids`` only."""
    fields: dict[str, Any] = {"end_to_end": None, "uetr": None, "tx_id": None, **ids}
    return Tx(status=status, amount="250.00", currency="CHF", debtor=PAYER, creditor=PAYEE,
              reasons=("AM04",) if status == "RJCT" else (), **fields)  # fmt: skip


def _status(*, status: str = "RJCT", created: str = "2019-04-25T09:00:00", **ids: Any) -> bytes:
    """A pacs.002 from the payer's bank about the transfer from the payer to the payee."""
    return pacs002([_tx(status, **ids)], created=created)


def _read(raw: bytes) -> list[Document]:
    return [p.document for p in DetectingReader(submitter="org-bank").read(raw, source="x.xml")]


@pytest.mark.parametrize(
    ("ids", "entry"),
    [
        ({"account_ref": ACCT_SVCR_REF}, 0),  # the booking's number
        ({"end_to_end": "EndToEndId-001-02-01"}, 1),  # an end-to-end id it carries
        ({"instr_id": "InstrId-001-02-03"}, 2),  # an instruction id it carries
    ],
)
def test_a_status_joins_the_booking_it_names_in_the_public_sample(
    ids: dict[str, str], entry: int
) -> None:
    bookings = _read(_sample())
    assert [b.kind for b in bookings] == [DocumentKind.PAYMENT] * 6
    assert [b.number for b in bookings[:3]] == [ACCT_SVCR_REF, "180315CH02ZX5RI4",
                                                  "180315CH02ZX5RI5"]  # fmt: skip
    (status,) = _read(_status(**ids))
    groups = reference_components([*bookings, status])
    (joined,) = [g for g in groups if status in g]
    assert joined == [bookings[entry], status]
    # the same id from another payer's bank account names another payment: no join
    (stranger,) = _read(
        pacs002([replace(_tx(**ids), debtor=("Someone Else", "CH9300762011623852957"),
                         creditor=("Another One", "CH5604835012345678009"))])
    )  # fmt: skip
    assert [g for g in reference_components([*bookings, stranger]) if stranger in g] == [[stranger]]


def _ingest(uow: SqlUnitOfWorkFactory, raw: bytes, sender: str, source: str) -> list[str]:
    outcomes = ingest.ingest_bytes(
        uow_factory=uow, reader=DetectingReader(submitter=sender), clock=FixedClock(TODAY),
        raw=raw, source=source, submitter_id=sender,
    )  # fmt: skip
    assert {o.status for o in outcomes} == {"accepted"}, outcomes
    return [o.document_id for o in outcomes if o.document_id]


def _party(name: str, account: str) -> dict[str, str]:
    """As the bank knows them: by their accounts (so the bookings, which name no USCC, are
    between the same parties as the invoice)."""
    return {"name": name, "account": account}


def _setup(uow: SqlUnitOfWorkFactory) -> tuple[dict[str, str], str, str]:
    """The payee, the payer and a bank onboarded; the payee's order and invoice of CHF 250.00
    to the payer in one trade; the sample's bookings ingested by the payee's bank and linked
    (the first one pays the invoice). The org ids, the trade id and the first booking's id."""
    members = {
        "payee": (PAYEE[0], demo_uscc("320500", "MA1FP0001"), (Role.SUPPLIER,), PAYEE[1]),
        "payer": (PAYER[0], demo_uscc("320500", "MA1FP0002"), (Role.CORE_ENTERPRISE,), PAYER[1]),
        "bank": ("PostFinance AG", demo_uscc("320500", "MA1FP0003"), (Role.BANK,), "CH00POST"),
    }
    org = {
        key: onboarding.onboard(
            uow_factory=uow, keystore=FakeKeyStore(), name=name, uscc=uscc, roles=roles,
            accounts=[account], admit=False,
        ).id
        for key, (name, uscc, roles, account) in members.items()
    }  # fmt: skip
    seller, buyer = _party(*PAYEE), _party(*PAYER)
    line = {"item": "SERVICE-ESR", "quantity": "1", "unit": "EA", "unit_price": "250.00",
            "amount": "250.00"}  # fmt: skip
    docs = [
        {"kind": "order", "number": "PO-ESR-1", "issue_date": "2019-04-01", "seller": seller,
         "buyer": buyer, "currency": "CHF", "lines": [line], "total": "250.00",
         "tax_total": "0.00"},
        {"kind": "invoice", "number": "INV-ESR-1", "issue_date": "2019-04-05",
         "due_date": "2019-05-05", "seller": seller, "buyer": buyer, "currency": "CHF",
         "lines": [line], "total": "250.00", "tax_total": "0.00",
         "references": [{"kind": "order", "number": "PO-ESR-1"}]},
    ]  # fmt: skip
    bundle = {"format": "fourflow-native/1", "scenario": "manufacturing", "documents": docs}
    _ingest(uow, json.dumps(bundle).encode(), org["payee"], "trade.json")
    (trade_id,) = linking.link_documents(uow_factory=uow).created
    booked = _ingest(uow, _sample(), org["bank"], SAMPLE.name)
    assert len(booked) == 6
    linked = linking.link_documents(uow_factory=uow)
    assert linked.extended == (trade_id,), linked
    assert [d for d, _trade, _conf in linked.inferred] == [booked[0]]  # 250.00: the open amount
    return org, trade_id, booked[0]


def _trade(uow: SqlUnitOfWorkFactory, trade_id: str) -> Trade:
    with uow() as u:
        record = u.trades.get(trade_id)
        assert record is not None
        return load_trade(u, record)


@pytest.mark.parametrize(
    "ids",
    [{"account_ref": ACCT_SVCR_REF}, {"end_to_end": END_TO_END}, {"instr_id": INSTR_ID}],
    ids=["AcctSvcrRef", "OrgnlEndToEndId", "OrgnlInstrId"],
)
def test_a_rejection_joins_the_trade_of_the_booking_it_names(
    uow_factory: SqlUnitOfWorkFactory, ids: dict[str, str]
) -> None:
    org, trade_id, booking_id = _setup(uow_factory)
    assert open_receivable(_trade(uow_factory, trade_id)) == Money(Decimal("0.00"), "CHF")

    (status_id,) = _ingest(uow_factory, _status(**ids), org["bank"], "psr.xml")
    linked = linking.link_documents(uow_factory=uow_factory)
    assert linked.extended == (trade_id,)
    assert status_id not in {d for d, _why in linked.unlinked}  # the other five bookings wait
    assert linked.inferred == ()  # joined by the payment it names, never inferred

    trade = _trade(uow_factory, trade_id)
    assert status_id in {d.id for d in trade.of_kind(DocumentKind.PAYMENT_STATUS)}
    assert open_receivable(trade) == Money(Decimal("250.00"), "CHF")  # owed again
    report = verification.verify(uow_factory=uow_factory, trade_id=trade_id, as_of=TODAY)
    (rejected,) = [f for f in report.findings if f.code == "PAYMENT_REJECTED"]
    assert rejected.severity is Severity.WARNING
    assert rejected.documents == (booking_id, status_id)
    assert "RJCT (rejected; reason AM04)" in rejected.message
    # the trade's payment flow shows the status beside the booking, and the booking beside it
    flow = workbench.payment_flow(trade.documents)
    assert set(flow) == {booking_id, status_id}
    assert flow[booking_id]["counts"] is False
    (report,) = flow[booking_id]["reports"]
    assert (report["document_id"], report["code"], report["reasons"]) == (
        status_id, "RJCT", ["AM04"],
    )  # fmt: skip
    assert report["meaning"] == "rejected" and report["issue_date"] == "2019-04-25"
    assert flow[status_id]["payments"] == [booking_id] and flow[status_id]["rejected"] is True


def test_a_status_naming_an_unknown_payment_waits_with_a_finding(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    org, trade_id, _booking = _setup(uow_factory)
    (status_id,) = _ingest(
        uow_factory, _status(account_ref="180315CH02NOSUCH"), org["bank"], "psr.xml"
    )
    for _run in range(2):  # linking again keeps one finding, and nothing fails
        linked = linking.link_documents(uow_factory=uow_factory)
        assert linked.extended == () and linked.created == () and linked.inferred == ()
        why = dict(linked.unlinked)[status_id]
        assert "names no payment on the platform" in why
        assert "180315CH02NOSUCH" in why
    with uow_factory() as u:
        (finding,) = u.document_findings.for_document(status_id)
    assert finding.code == UNMATCHED and finding.flag == "warning"
    assert "180315CH02NOSUCH" in finding.message and "RJCT" in finding.message
    assert open_receivable(_trade(uow_factory, trade_id)) == Money(Decimal("0.00"), "CHF")


def test_a_pending_status_is_shown_beside_the_booking_and_changes_nothing(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    org, trade_id, booking_id = _setup(uow_factory)
    before = verification.verify(uow_factory=uow_factory, trade_id=trade_id, as_of=TODAY)
    raw = _status(status="PDNG", account_ref=ACCT_SVCR_REF)
    (status_id,) = _ingest(uow_factory, raw, org["bank"], "psr.xml")
    assert linking.link_documents(uow_factory=uow_factory).extended == (trade_id,)
    trade = _trade(uow_factory, trade_id)
    assert open_receivable(trade) == Money(Decimal("0.00"), "CHF")
    flow = workbench.payment_flow(trade.documents)
    assert flow[booking_id]["counts"] is True
    assert [r["code"] for r in flow[booking_id]["reports"]] == ["PDNG"]
    after = verification.verify(uow_factory=uow_factory, trade_id=trade_id, as_of=TODAY)
    assert (after.status, after.score) == (before.status, before.score)
    assert status_id in {d.id for d in trade.documents}
