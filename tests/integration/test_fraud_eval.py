"""Fraud detection end to end: the simulator's documents through the real services.

A platform with every fraud type is simulated on a seed no other test uses, onboarded, ingested
(UBL, camt.054, EPCIS and native files) and linked on SQLite, scanned, and scored against the
simulator's labels: precision and recall of at least 0.95 per fraud type, at most 1% of clean
trades flagged. Across banks, two platforms on one chain find a duplicate invoice through
salted fingerprints alone.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from fourflow.adapters.documents.writers.output import DirectorySink
from fourflow.bootstrap import Platform, Settings
from fourflow.domain.fraud import FraudType
from fourflow.domain.parties import Role
from fourflow.domain.scenarios import Scenario
from fourflow.services import fraud, relay
from fourflow.services.demo import MEMBERS, trade_bundle
from fourflow.services.ingest import SubmittedFile, ingest_files, ingest_many
from fourflow.services.linking import link_documents
from fourflow.services.onboarding import onboard
from fourflow.simulation.generator import Simulation, SimulationParams
from tests.integration.conftest import Consortium, unique

SEED = 90411  # used by no other test
AS_OF = dt.date(2025, 6, 30)


def _simulate(out: Path, *, seed: int, trades: int, rate: float) -> None:
    params = SimulationParams(seed=seed, trades=trades, scenario="manufacturing",
                              fraud_rate=rate, start=dt.date(2024, 1, 1), months=12, tiers=3)  # fmt: skip
    with DirectorySink(out) as sink:
        Simulation(params, sink).run()


def _onboard_parties(p: Platform, parties: list[dict[str, object]]) -> dict[str, str]:
    """Every simulated organisation, with its GLN, accounts and profile: ids by USCC."""
    ids = {}
    for party in parties:
        ids[str(party["uscc"])] = onboard(
            uow_factory=p.uow_factory, keystore=p.keystore, name=str(party["name"]),
            uscc=str(party["uscc"]), roles=[Role(str(r)) for r in party["roles"]],  # type: ignore[attr-defined]
            identifiers=[("gln", str(party["gln"]))], accounts=list(party["accounts"]),  # type: ignore[call-overload]
            profile=dict(party["profile"]), admit=False,  # type: ignore[call-overload]
        ).id  # fmt: skip
    return ids


def _ingest_by_sender(p: Platform, sim: Path, ids: dict[str, str]) -> list:  # type: ignore[type-arg]
    """Each document submitted by the member the simulator says sends it (senders.jsonl):
    the buyer its orders and receipts, the carrier its events, the bank its notifications,
    and for a self-asserted trade the seller everything."""
    by_sender: dict[str, list[SubmittedFile]] = {}
    for line in (sim / "senders.jsonl").read_text("utf-8").splitlines():
        row = json.loads(line)
        raw = (sim / row["file"]).read_bytes()
        by_sender.setdefault(ids[row["sender"]], []).append(SubmittedFile(row["file"], raw))
    outcomes = []
    for sender, files in sorted(by_sender.items()):
        outcomes.extend(ingest_files(uow_factory=p.uow_factory, reader=p.reader_for(sender),
                                     clock=p.clock, files=files, submitter_id=sender))  # fmt: skip
    return outcomes


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, object], list]]:  # type: ignore[type-arg]
    """The simulated platform ingested, linked and scanned: (evaluation, signals)."""
    root = tmp_path_factory.mktemp("fraud-eval")
    sim = root / "sim"
    _simulate(sim, seed=SEED, trades=450, rate=0.2)
    settings = Settings(root / "home", f"sqlite:///{root}/fourflow.db", None, "test-password")
    with Platform(settings) as p:
        ids = _onboard_parties(p, json.loads((sim / "parties.json").read_text("utf-8")))
        outcomes = _ingest_by_sender(p, sim, ids)
        assert not [o for o in outcomes if o.status == "rejected"]
        fraud.record_resubmissions(uow_factory=p.uow_factory, outcomes=outcomes)
        link_documents(uow_factory=p.uow_factory)
        signals = fraud.fraud_signals_by_trade(uow_factory=p.uow_factory, as_of=AS_OF)
        view, detailed = fraud.fraud_signals(uow_factory=p.uow_factory, as_of=AS_OF)
        evaluation = fraud.evaluate(
            signals=signals,
            labels=fraud.labels_from_jsonl((sim / "labels.jsonl").read_text("utf-8")),
            trades=view.trades,
            organisations={o.id: o for o in view.organisations},
        )
        yield evaluation, detailed


def test_every_fraud_type_is_found_with_precision_and_recall_of_095(
    scanned: tuple[dict[str, object], list],  # type: ignore[type-arg]
) -> None:
    evaluation, _ = scanned
    by_type: dict[str, dict[str, float]] = evaluation["by_type"]  # type: ignore[assignment]
    assert set(by_type) == {f.value for f in FraudType}
    for code, row in by_type.items():
        assert row["labelled"] >= 5, code
        assert row["precision"] >= 0.95, (code, row)
        assert row["recall"] >= 0.95, (code, row)
    assert evaluation["clean_flagged_rate"] <= 0.01  # type: ignore[operator]
    assert evaluation["unmatched_labels"] == []
    assert evaluation["met"] is True


def test_every_signal_explains_itself(
    scanned: tuple[dict[str, object], list],  # type: ignore[type-arg]
) -> None:
    _, signals = scanned
    assert signals
    for s in signals:
        assert s.message and s.documents and s.parties, s


# --------------------------------------------------------------------------- across banks


@pytest.fixture
def two_banks(tmp_path: Path, consortium: Consortium) -> Iterator[tuple[Platform, Platform]]:
    """Two members' platforms (own stores) on one chain, sharing the consortium salt."""
    opened = []
    for name in ("a", "b"):
        settings = Settings(tmp_path / name, f"sqlite:///{tmp_path}/{name}.db", consortium.node.url,
                            "test-password")  # fmt: skip
        opened.append(Platform(settings))
    a, b = opened
    with a.uow_factory() as uow:
        salt = fraud.consortium_salt(uow).hex()
        uow.commit()
    with b.uow_factory() as uow:
        uow.settings.put(fraud.SALT_SETTING, salt)
        uow.commit()
    yield a, b
    for p in opened:
        p.close()


def _one_trade(p: Platform, prefix: str) -> str:
    m = {x.key: x for x in MEMBERS}
    for x in MEMBERS[:5]:
        onboard(uow_factory=p.uow_factory, keystore=p.keystore, name=x.name, uscc=x.uscc,
                roles=x.roles, accounts=[x.account], admit=False)  # fmt: skip
    raw = trade_bundle(prefix=prefix, seller=m["tier1"], buyer=m["core"],
                           carrier=m["logistics"], lines=[("SKU-1", "100", "EA", "12.50")],
                           received_factor="1", day0=dt.date(2025, 3, 3), terms_days=90,
                           scenario=Scenario.MANUFACTURING)  # fmt: skip
    ingest_many(uow_factory=p.uow_factory, reader=p.reader_for(None), clock=p.clock,
                files=[("trade.json", raw)], submitter_id="supplier")  # fmt: skip
    (trade_id,) = link_documents(uow_factory=p.uow_factory).created
    return trade_id


@pytest.mark.chain
def test_an_invoice_presented_to_another_bank_first_is_a_duplicate(
    two_banks: tuple[Platform, Platform], consortium: Consortium
) -> None:
    a, b = two_banks
    prefix = unique("X")
    trade_a, trade_b = _one_trade(a, prefix), _one_trade(b, prefix)
    ledger = consortium.ledger

    shown = fraud.present_invoices(uow_factory=b.uow_factory, ledger=ledger, trade_id=trade_b,
                                   presenter_id="bank")  # fmt: skip
    assert len(shown.registered) == 1 and shown.presented_elsewhere == ()
    result = relay.relay(uow_factory=b.uow_factory, ledger=ledger)
    assert result.failed == ()

    # Bank A never saw bank B's documents: only the salted fingerprint on the chain.
    assert fraud.fraud_signals_by_trade(uow_factory=a.uow_factory, as_of=AS_OF, ledger=ledger) == {
        trade_a: ["DUPLICATE_INVOICE"]
    }
    again = fraud.present_invoices(uow_factory=a.uow_factory, ledger=ledger, trade_id=trade_a,
                                   presenter_id="supplier2")  # fmt: skip
    assert again.registered == () and len(again.presented_elsewhere) == 1
    # Bank B's own presentation is not a duplicate to bank B, nor is a scan without the chain.
    assert fraud.fraud_signals_by_trade(uow_factory=b.uow_factory, as_of=AS_OF, ledger=ledger) == {
        trade_b: []
    }
    assert fraud.fraud_signals_by_trade(uow_factory=a.uow_factory, as_of=AS_OF) == {trade_a: []}
