"""Sixty clean trades, submitted folder by folder by the parties who issue them (issue 15).

The simulator writes a platform of 60 clean trades (no fraud) into dated folders. Day by day,
each folder's documents are submitted by their own senders (the buyer its orders and receipt
advices, the seller its despatch advices and invoices, the carrier its events, the payee's bank
its payment notifications: ``senders.jsonl``), each folder linked (and trades that gained
documents verified again) as ``fourflow ingest`` does. The business day is the day every trade
has its first invoice; later folders have not happened yet.

Then, on the real SQLite store with the readers of production: every simulated trade is one
platform trade holding exactly its own documents (none elsewhere, none from another trade);
every trade is ``verified`` (authenticity), whether its payment state is paid, open or overdue;
every trade with money still owed gets its debt item on the evidence alone (no fraud signal,
nothing self-asserted), a paid trade none; and every financing request on those items is
decided without a fraud or evidence reason. The chain is the in-memory fake ledger: the
subject here is linking, provenance, verification, issuance and review.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fourflow.adapters.documents.writers.output import DirectorySink
from fourflow.bootstrap import Platform, Settings
from fourflow.domain.debt import DebtItem
from fourflow.domain.financing import FinancingStatus
from fourflow.domain.parties import Role
from fourflow.services import evidence, financing, items, linking, onboarding, relay, verification
from fourflow.services.demo import demo_uscc
from fourflow.services.ingest import SubmittedFile, ingest_files
from fourflow.services.items import IssuanceRefusedError
from fourflow.simulation.generator import Simulation, SimulationParams
from tests.fakes import FakeLedger, FixedClock

SEED = 15018  # used by no other test: its 60 trades all have an invoice by 2025-06-14
TRADES = 60
# Reasons a clean trade must never meet: it is neither a fraud nor self-asserted.
EVIDENCE_REASONS = {"FRAUD_SIGNAL", "DUPLICATE_INVOICE", "EVIDENCE_SELF_ASSERTED",
                    "SELF_ASSERTED_EVIDENCE", "VERIFICATION_FAILED", "FINDINGS",
                    "RELATED_PARTIES", "VOLUME_SPIKE"}  # fmt: skip


def _day_of(file: str) -> dt.date:
    """The issue day of a simulated document from its folder: documents/YYYY-MM/DD/..."""
    _, month, day, _name = Path(file).parts
    return dt.date(int(month[:4]), int(month[5:7]), int(day))


@dataclass
class Run:
    """The simulated platform after submission: what the tests read."""

    p: Platform
    sim: Path
    day: dt.date
    truth: list[dict[str, Any]]
    ids: dict[str, str]
    ledger: FakeLedger
    outcomes: collections.Counter[str]
    submitted: set[str]
    numbers: dict[tuple[str, str], str]  # (kind, number) -> platform trade id
    payment: dict[str, str]  # platform trade id -> its payment state on the day


def _onboard(p: Platform, parties: list[dict[str, Any]]) -> dict[str, str]:
    """Every simulated organisation; each bank also registers the bank identification
    numbers of the accounts it holds for its customers (so a debtor's account bank is known)."""
    bins: dict[str, set[str]] = collections.defaultdict(set)
    for party in parties:
        if "bank" not in party["roles"]:
            bins[party["bank_bic"]].update(a[:6] for a in party["accounts"])
    ids = {}
    for n, party in enumerate(parties):
        accounts = list(party["accounts"])
        if "bank" in party["roles"]:
            accounts += [f"{b}{n:03d}{0:010d}" for b in sorted(bins[party["bank_bic"]])]
        ids[party["uscc"]] = onboarding.onboard(
            uow_factory=p.uow_factory, keystore=p.keystore, name=party["name"],
            uscc=party["uscc"], roles=[Role(r) for r in party["roles"]],
            identifiers=[("gln", party["gln"])], accounts=accounts,
            profile=dict(party["profile"]),
        ).id  # fmt: skip
    return ids


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("clean-folders")
    sim = root / "sim"
    params = SimulationParams(seed=SEED, trades=TRADES, scenario="manufacturing",
                              fraud_rate=0.0, start=dt.date(2025, 3, 3), months=1, tiers=3)  # fmt: skip
    with DirectorySink(sim) as sink:
        Simulation(params, sink).run()
    truth = [json.loads(line) for line in (sim / "truth.jsonl").read_text("utf-8").splitlines()]
    senders = {
        row["file"]: row["sender"]
        for row in map(json.loads, (sim / "senders.jsonl").read_text("utf-8").splitlines())
    }
    invoice_day = {Path(f).stem: _day_of(f) for f in senders if "/INV-" in f}
    day = max(min(invoice_day[n] for n in r["invoices"]) for r in truth)
    clock = FixedClock(day)
    settings = Settings(root / "home", f"sqlite:///{root}/fourflow.db", None, "test-password")
    with Platform(settings, clock=clock) as p:
        ledger = FakeLedger(clock)
        operator = onboarding.onboard(
            uow_factory=p.uow_factory, keystore=p.keystore, name="FourFlow 平台运营",
            uscc=demo_uscc("320500", "MA1FF0000"), roles=[Role.OPERATOR], admit=False,
        )  # fmt: skip
        with p.uow_factory() as uow:
            uow.settings.put(onboarding.OPERATOR_ORG_KEY, operator.id)
            uow.commit()
        ids = _onboard(p, json.loads((sim / "parties.json").read_text("utf-8")))
        assert not relay.relay(uow_factory=p.uow_factory, ledger=ledger).failed
        outcomes: collections.Counter[str] = collections.Counter()
        due = sorted(f for f in senders if _day_of(f) <= day)
        for folder in sorted({str(Path(f).parent) for f in due}):  # one day's folder at a time
            by_sender: dict[str, list[SubmittedFile]] = collections.defaultdict(list)
            for f in due:
                if str(Path(f).parent) == folder:
                    by_sender[ids[senders[f]]].append(SubmittedFile(f, (sim / f).read_bytes()))
            for sender, files in sorted(by_sender.items()):
                found = ingest_files(uow_factory=p.uow_factory, reader=p.reader_for(sender),
                                     clock=clock, files=files, submitter_id=sender)  # fmt: skip
                outcomes.update(o.status for o in found)
            linked = linking.link_documents(uow_factory=p.uow_factory)
            evidence.reverify_extended(uow_factory=p.uow_factory, result=linked, as_of=day)
        with p.uow_factory() as uow:
            records = uow.trades.list()
            numbers = {
                (s.document.kind.value, s.document.number): r.id
                for r in records for s in uow.documents.get_many(list(r.document_ids))
            }  # fmt: skip
        states = verification.verify_many(
            uow_factory=p.uow_factory, trade_ids=[r.id for r in records], as_of=day
        )
        payment = {v.report.trade_id: v.payment_state for v in states}
        assert not relay.relay(uow_factory=p.uow_factory, ledger=ledger).failed
        submitted = {Path(f).stem for f in due}
        yield Run(p, sim, day, truth, ids, ledger, outcomes, submitted, numbers, payment)


def _documents(row: dict[str, Any]) -> list[tuple[str, str]]:
    """A simulated trade's commercial, logistics and invoice documents, by kind and number."""
    return (
        [("order", row["order"])]
        + [("despatch_advice", n) for n in row["despatches"]]
        + [("receipt_advice", n) for n in row["receipts"]]
        + [("invoice", n) for n in row["invoices"]]
    )


def test_every_document_is_accepted_and_joins_its_own_trade(run: Run) -> None:
    assert run.outcomes == {"accepted": sum(run.outcomes.values())}
    assert len(run.submitted) > 6 * TRADES
    with run.p.uow_factory() as uow:
        records = uow.trades.list()
    assert len(records) == TRADES
    joined: dict[str, str] = {}
    for row in run.truth:
        submitted = [k for k in _documents(row) if k[1] in run.submitted]
        assert ("order", row["order"]) in submitted and any(k[0] == "invoice" for k in submitted)
        trades = {run.numbers.get(k) for k in submitted}
        assert len(trades) == 1 and None not in trades, (row["trade_id"], trades)
        (trade_id,) = trades
        assert trade_id not in joined, f"{row['trade_id']} and {joined[trade_id]} share a trade"
        joined[str(trade_id)] = row["trade_id"]
    # no trade holds a document of another simulated trade
    owner = {k: row["trade_id"] for row in run.truth for k in _documents(row)}
    for key, trade_id in run.numbers.items():
        if key in owner:
            assert joined[trade_id] == owner[key], key


def test_every_trade_is_verified_whatever_its_payment_state(run: Run) -> None:
    with run.p.uow_factory() as uow:
        records = uow.trades.list()
    states = verification.verify_many(
        uow_factory=run.p.uow_factory, trade_ids=[r.id for r in records], as_of=run.day
    )
    not_verified = {
        v.report.trade_id: [f.code for f in v.report.findings if f.severity.value != "info"]
        for v in states if v.report.status.value != "verified"
    }  # fmt: skip
    assert not_verified == {}
    payment = collections.Counter(v.payment_state for v in states)
    assert payment["paid"] > 0 and payment["open"] + payment["overdue"] > 0, payment
    for r in records:
        assert (
            evidence.open_signals(uow_factory=run.p.uow_factory, trade_id=r.id, as_of=run.day) == []
        )


# Why issuance refuses a trade in each payment state (an open receivable is issued).
REFUSED_WHEN = {"paid": "nothing is owed on the trade", "overdue": "the receivable fell due on"}


@pytest.fixture(scope="module")
def issued(run: Run) -> list[DebtItem]:
    """An item issued on the evidence alone for every trade whose receivable is open."""
    with run.p.uow_factory() as uow:
        records = uow.trades.list()
    found: list[DebtItem] = []
    for record in records:
        state = run.payment[record.id]
        if state in REFUSED_WHEN:  # paid, or past its due date: nothing to issue
            with pytest.raises(IssuanceRefusedError, match=REFUSED_WHEN[state]):
                items.issue_item(uow_factory=run.p.uow_factory, ledger=run.ledger,
                                 clock=run.p.clock, trade_id=record.id, as_of=run.day,
                                 confirm=False)  # fmt: skip
            continue
        assert state == "open", (record.id, state)
        found.append(items.issue_item(uow_factory=run.p.uow_factory, ledger=run.ledger,
                                      clock=run.p.clock, trade_id=record.id, as_of=run.day,
                                      confirm=False))  # fmt: skip
    assert not relay.relay(uow_factory=run.p.uow_factory, ledger=run.ledger).failed
    return found


def test_every_open_receivable_gets_its_item_on_the_evidence(
    run: Run, issued: list[DebtItem]
) -> None:
    states = collections.Counter(run.payment.values())
    assert set(states) <= {"paid", "open", "overdue"} and sum(states.values()) == TRADES
    assert len(issued) == states["open"] >= 10, states
    assert {i.basis.name.lower() for i in issued} == {"verified"}
    # the simulator's truth agrees: the trades paid by the day are the paid ones
    paid_by_day = sum(
        1 for r in run.truth
        if r["paid_dates"] and r["status"] in ("paid", "paid_late")
        and max(dt.date.fromisoformat(d) for d in r["paid_dates"]) <= run.day
    )  # fmt: skip
    assert states["paid"] == paid_by_day


def test_every_request_on_those_items_is_decided_without_an_evidence_reason(
    run: Run, issued: list[DebtItem]
) -> None:
    with run.p.uow_factory() as uow:
        banks = [o.id for o in uow.organisations.list() if o.has_role(Role.BANK)]
        holdings = [uow.items.holdings(i.id)[0] for i in issued]
    decided: collections.Counter[str] = collections.Counter()
    for n, holding in enumerate(holdings):
        fin = financing.request_financing(
            uow_factory=run.p.uow_factory, holding_id=holding.id, bank_id=banks[n % len(banks)],
            amount=holding.outstanding // 2, actor_id=holding.holder_id, as_of=run.day,
            cold_start=run.p.cold_start,
        )  # fmt: skip
        assert fin.decision is not None and fin.decision.input_hash
        codes = {r.code for r in fin.decision.reasons}
        assert not codes & EVIDENCE_REASONS, (fin.id, fin.decision.reasons)
        decided[fin.status.value] += 1
    assert sum(decided.values()) == len(issued)
    assert decided[FinancingStatus.APPROVED.value] > 0, decided
