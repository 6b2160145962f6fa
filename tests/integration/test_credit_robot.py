"""The credit review robot on a simulated platform, end to end on SQLite and a real anvil node.

A clean platform is simulated (seed used by no other test), and only the documents filed up to
TODAY are ingested: the platform knows the past, not the future. It is verified, a champion is
trained on the outcomes known on TODAY, debt items are issued on the trades still open, and
financing requests go to the robot under bank policies whose limits and caps must bind. A
referral is decided by a person with a recorded reason; every decision's input hash reaches the
chain. A second platform, the same network under payment stress, is monitored with the first
one's champion and raises a drift alert.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from fourflow.adapters.chain.node import AnvilNode
from fourflow.adapters.documents.writers.output import DirectorySink
from fourflow.bootstrap import Platform, Settings
from fourflow.domain.debt import DebtItem, Holding
from fourflow.domain.errors import ConflictError
from fourflow.domain.financing import FinancingStatus, Outcome
from fourflow.domain.parties import Role
from fourflow.risk.review import ProductPolicy
from fourflow.services import credit, financing, items, relay
from fourflow.services.commands import RegisterFingerprints
from fourflow.services.ingest import SubmittedFile, ingest_files
from fourflow.services.linking import link_documents
from fourflow.services.onboarding import onboard
from fourflow.services.verification import verify_all
from fourflow.simulation.generator import Simulation, SimulationParams

SEED = 60607  # used by no other test
TODAY = dt.date(2025, 1, 20)
TRADES = 700

pytestmark = [pytest.mark.chain, pytest.mark.slow, pytest.mark.xdist_group("credit-robot")]


def _simulate(out: Path, stress: float) -> None:
    params = SimulationParams(seed=SEED, trades=TRADES, scenario="manufacturing", fraud_rate=0.0,
                              start=dt.date(2024, 1, 1), months=12, tiers=3,
                              payment_stress=stress)  # fmt: skip
    with DirectorySink(out) as sink:
        Simulation(params, sink).run()


def _filed_by(sim: Path, day: dt.date) -> list[SubmittedFile]:
    """The documents filed on or before ``day`` (their folder is documents/YYYY-MM/DD)."""
    files = []
    for f in sorted((sim / "documents").rglob("*")):
        if not f.is_file():
            continue
        month, dd = f.relative_to(sim / "documents").parts[:2]
        if dt.date.fromisoformat(f"{month}-{dd}") <= day:
            files.append(SubmittedFile(str(f.relative_to(sim)), f.read_bytes()))
    return files


def _build(root: Path, anvil: AnvilNode, stress: float) -> Platform:
    sim = root / "sim"
    _simulate(sim, stress)
    settings = Settings(root / "home", f"sqlite:///{root}/fourflow.db", anvil.url, "test-pw")
    p = Platform(settings)
    p.__enter__()
    p.initialise()
    submitter = ""
    for party in json.loads((sim / "parties.json").read_text("utf-8")):
        submitter = onboard(
            uow_factory=p.uow_factory, keystore=p.keystore, name=party["name"],
            uscc=party["uscc"], roles=[Role(r) for r in party["roles"]],
            identifiers=[("gln", party["gln"])], accounts=list(party["accounts"]),
            profile=dict(party["profile"]), admit=True,
        ).id  # fmt: skip
    outcomes = ingest_files(uow_factory=p.uow_factory, reader=p.reader_for(submitter),
                            clock=p.clock, files=_filed_by(sim, TODAY), submitter_id=submitter)  # fmt: skip
    assert not [o for o in outcomes if o.status == "rejected"]
    link_documents(uow_factory=p.uow_factory)
    verify_all(uow_factory=p.uow_factory, as_of=TODAY)
    return p


World = tuple[Platform, credit.TrainingReport, list[DebtItem]]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode) -> Iterator[World]:
    """The platform, its first training, and debt items issued on the trades open on TODAY."""
    p = _build(tmp_path_factory.mktemp("credit"), anvil, stress=1.0)
    report = credit.train(uow_factory=p.uow_factory, as_of=TODAY, seed=0)
    issued: list[DebtItem] = []
    with p.uow_factory() as uow:
        trades = [t for t in uow.trades.list() if t.report is not None]
    for t in reversed(trades):  # the newest trades are the ones still open
        if len(issued) == 12:
            break
        try:
            issued.append(items.issue_item(uow_factory=p.uow_factory, ledger=p.require_contracts(),
                                           clock=p.clock, trade_id=t.id, as_of=TODAY, confirm=False))  # fmt: skip
        except ConflictError:
            continue
        except Exception as exc:  # refused issuance (settled, failed ...): try the next trade
            if type(exc).__name__ != "IssuanceRefusedError":
                raise
    assert len(issued) >= 9, "too few open trades to finance"
    yield p, report, issued
    p.__exit__(None, None, None)


def _bank(p: Platform, n: int = 0) -> str:
    with p.uow_factory() as uow:
        return [o.id for o in uow.organisations.list() if o.has_role(Role.BANK)][n]


def _holding(p: Platform, item: DebtItem) -> Holding:
    with p.uow_factory() as uow:
        return uow.items.holdings(item.id)[0]


def test_training_on_known_outcomes_registers_a_champion(world: World) -> None:
    p, report, _ = world
    assert report.rows >= 200 and report.bad >= 20
    assert report.promoted and report.champion
    with p.uow_factory() as uow:
        models = {m.id: m for m in uow.risk_models.list()}
        champion = uow.risk_models.champion()
    assert champion is not None and champion.id == report.champion
    assert {m.kind for m in models.values()} == {"scorecard", "lightgbm"}
    # Learnt from the platform's own history: the payers' habits are predictable out of time.
    assert champion.metrics["auc"] > 0.6, champion.metrics
    assert champion.metrics["source"] == "platform"
    assert len(champion.data_hash) == 64


def test_a_second_cycle_on_the_same_outcomes_keeps_the_champion(world: World) -> None:
    p, first, _ = world
    again = credit.train(uow_factory=p.uow_factory, as_of=TODAY, seed=0)
    assert not again.promoted
    assert again.champion == first.champion
    assert "kept the champion" in again.reason
    with p.uow_factory() as uow:
        assert {m.role for m in again.registered} == {"challenger"}
        champion = uow.risk_models.champion()
    assert champion is not None and champion.id == first.champion


def test_the_robot_reviews_every_request_with_reasons_and_anchors_its_inputs(world: World) -> None:
    p, report, issued = world
    bank = _bank(p, 0)
    decisions = []
    for item in issued[:4]:
        h = _holding(p, item)
        fin = financing.request_financing(
            uow_factory=p.uow_factory, cold_start=p.cold_start, holding_id=h.id, bank_id=bank,
            amount=h.outstanding // 2, actor_id=h.holder_id, as_of=TODAY,
            ledger=p.require_contracts(),
        )  # fmt: skip
        d = fin.decision
        assert d is not None and d.reasons, fin
        assert d.model_version == report.champion
        assert d.pd is not None and 0 <= d.pd <= 1
        assert d.input_hash is not None and len(d.input_hash) == 64
        assert fin.status is {Outcome.APPROVE: FinancingStatus.APPROVED,
                              Outcome.DECLINE: FinancingStatus.DECLINED,
                              Outcome.REFER: FinancingStatus.REFERRED}[d.outcome]  # fmt: skip
        decisions.append((fin, d))
    result = relay.relay(uow_factory=p.uow_factory, ledger=p.require_contracts())
    assert not result.failed, result.failed
    ledger = p.require_contracts()
    for fin, d in decisions:
        with p.uow_factory() as uow:
            ops = uow.outbox.for_subject(f"decision:{fin.id}")
        assert len(ops) == 1 and ops[0].status.value == "done"
        assert ops[0].command == RegisterFingerprints((f"sha256:{d.input_hash}",))
        assert ledger.is_applied(ops[0])


def test_limits_and_concentration_caps_bind(world: World) -> None:
    p, _, issued = world
    bank = _bank(p, 1)
    first, second = issued[4], issued[5]
    h1, h2 = _holding(p, first), _holding(p, second)
    ask1, ask2 = h1.outstanding // 2, h2.outstanding // 2
    # Everything else generous; the per-borrower limit fits the first request only.
    policy = ProductPolicy(bank_id=bank, refer_pd=0.99, max_pd=1.0, min_verification_score=0,
                           max_findings_warnings=99, limit_per_borrower=ask1 + ask2 - 1)  # fmt: skip
    credit.set_policy(uow_factory=p.uow_factory, policy=policy)
    same_borrower = h1.holder_id == h2.holder_id
    fin1 = financing.request_financing(uow_factory=p.uow_factory, holding_id=h1.id, bank_id=bank,
                                       amount=ask1, actor_id=h1.holder_id, as_of=TODAY, cold_start=p.cold_start)  # fmt: skip
    assert fin1.status is FinancingStatus.APPROVED, fin1.decision
    assert fin1.decision is not None
    codes = {r.code for r in fin1.decision.reasons}
    assert "APPROVED" in codes
    assert fin1.decision.policy_revision == 1
    fin2 = financing.request_financing(uow_factory=p.uow_factory, holding_id=h2.id, bank_id=bank,
                                       amount=ask2, actor_id=h2.holder_id, as_of=TODAY, cold_start=p.cold_start)  # fmt: skip
    assert fin2.decision is not None
    codes2 = {r.code for r in fin2.decision.reasons}
    if same_borrower:
        assert fin2.status is FinancingStatus.DECLINED and "LIMIT_BORROWER" in codes2
    # A concentration cap: one debtor may take 10% of a programme smaller than ten such loans.
    third = issued[6]
    h3 = _holding(p, third)
    ask3 = h3.outstanding // 2
    capped = replace(policy, limit_per_borrower=None, programme_limit=ask3 * 5,
                     concentration_cap_bps=1_000, version="product-2")  # fmt: skip
    credit.set_policy(uow_factory=p.uow_factory, policy=capped)
    fin3 = financing.request_financing(uow_factory=p.uow_factory, holding_id=h3.id, bank_id=bank,
                                       amount=ask3, actor_id=h3.holder_id, as_of=TODAY, cold_start=p.cold_start)  # fmt: skip
    assert fin3.status is FinancingStatus.DECLINED and fin3.decision is not None
    reasons = {r.code: r.message for r in fin3.decision.reasons}
    assert "CONCENTRATION_CAP" in reasons and "10%" in reasons["CONCENTRATION_CAP"]
    assert fin3.decision.policy_version == "product-2"
    # Each edit is a new stored version; the decision names the one it used, and keeps it.
    assert fin3.decision.policy_revision == 2
    with p.uow_factory() as uow:
        assert [v.version for v in uow.policies.versions(bank)] == [1, 2]
        stored = uow.financings.get(fin3.id)
        assert stored is not None and stored.decision is not None
        assert stored.decision.policy_revision == 2
        assert credit.policy_in_force(uow, bank) == (capped, 2)
    # The advance rate binds too.
    fin4 = financing.request_financing(uow_factory=p.uow_factory, holding_id=h3.id, bank_id=bank,
                                       amount=h3.outstanding, actor_id=h3.holder_id, as_of=TODAY, cold_start=p.cold_start)  # fmt: skip
    assert fin4.decision is not None
    assert "ADVANCE_LIMIT" in {r.code for r in fin4.decision.reasons}


def test_a_referral_is_decided_by_a_person_with_a_recorded_reason(world: World) -> None:
    p, _, issued = world
    bank = _bank(p, 2)
    credit.set_policy(uow_factory=p.uow_factory,
                      policy=ProductPolicy(bank_id=bank, refer_pd=0.0, max_pd=1.0,
                                           min_verification_score=0, max_findings_warnings=99))  # fmt: skip
    h = _holding(p, issued[7])
    fin = financing.request_financing(uow_factory=p.uow_factory, holding_id=h.id, bank_id=bank,
                                      amount=h.outstanding // 2, actor_id=h.holder_id, as_of=TODAY, cold_start=p.cold_start)  # fmt: skip
    assert fin.status is FinancingStatus.REFERRED
    assert fin.decision is not None and fin.decision.reasons[0].code == "PD_REFER"
    decided = credit.decide_referral(
        uow_factory=p.uow_factory, financing_id=fin.id, approve=True,
        reason="debtor's CFO confirmed the payment run by phone", person="li.wei", as_of=TODAY,
    )  # fmt: skip
    assert decided.status is FinancingStatus.APPROVED
    d = decided.decision
    assert d is not None and d.decided_by == "person:li.wei"
    assert d.note == "debtor's CFO confirmed the payment run by phone"
    assert d.review is not None and d.review.outcome is Outcome.REFER
    assert d.input_hash != d.review.input_hash
    with p.uow_factory() as uow:
        stored = uow.financings.get(fin.id)
        holding = uow.items.get_holding(h.id)
    assert stored is not None and stored.decision == d  # stored with the robot's review
    assert holding is not None and holding.locked
    with pytest.raises(ConflictError):
        credit.decide_referral(uow_factory=p.uow_factory, financing_id=fin.id, approve=False,
                               reason="again", person="x", as_of=TODAY)  # fmt: skip
    assert not relay.relay(uow_factory=p.uow_factory, ledger=p.require_contracts()).failed


def test_a_person_cannot_approve_past_the_banks_limits(world: World) -> None:
    p, _, issued = world
    bank = _bank(p, 3)
    refer_all = ProductPolicy(bank_id=bank, refer_pd=0.0, max_pd=1.0, min_verification_score=0,
                              max_findings_warnings=99)  # fmt: skip
    credit.set_policy(uow_factory=p.uow_factory, policy=refer_all)
    h = _holding(p, issued[8])
    ask = h.outstanding // 2
    fin = financing.request_financing(uow_factory=p.uow_factory, holding_id=h.id, bank_id=bank,
                                      amount=ask, actor_id=h.holder_id, as_of=TODAY, cold_start=p.cold_start)  # fmt: skip
    assert fin.status is FinancingStatus.REFERRED
    # Meanwhile the bank lowers the borrower limit below the amount asked.
    credit.set_policy(uow_factory=p.uow_factory,
                      policy=replace(refer_all, limit_per_borrower=ask - 1))  # fmt: skip
    with pytest.raises(ConflictError, match="would break the bank's limits: LIMIT_BORROWER"):
        credit.decide_referral(uow_factory=p.uow_factory, financing_id=fin.id, approve=True,
                               reason="looks fine", person="zhao", as_of=TODAY)  # fmt: skip
    declined = credit.decide_referral(uow_factory=p.uow_factory, financing_id=fin.id,
                                      approve=False, reason="over the new limit", person="zhao",
                                      as_of=TODAY)  # fmt: skip
    assert declined.status is FinancingStatus.DECLINED and declined.principal == 0


def test_valuation_prices_the_receivable_below_face(world: World) -> None:
    p, _, issued = world
    valuation, vector = credit.value_item(uow_factory=p.uow_factory, item_id=issued[8].id,
                                          as_of=TODAY, bank_id=_bank(p, 0), cold_start=p.cold_start)  # fmt: skip
    assert 0 < valuation.value < valuation.face
    assert valuation.expected_loss > 0 and valuation.discount > 0
    assert vector["tenor_days"] == valuation.days
    # Revalued after the maturity passed unpaid: the debtor's own overdue count rises.
    later, later_vector = credit.value_item(uow_factory=p.uow_factory, item_id=issued[8].id,
                                            as_of=TODAY + dt.timedelta(days=120), cold_start=p.cold_start)  # fmt: skip
    before, after = vector["debtor_open_overdue"], later_vector["debtor_open_overdue"]
    assert not isinstance(before, str) and not isinstance(after, str) and after >= before
    assert later.pd >= valuation.pd - 1e-9


def test_a_shifted_population_raises_a_drift_alert(
    world: World, tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode
) -> None:
    p, report, _ = world
    calm = credit.monitor(uow_factory=p.uow_factory, cold_start=p.cold_start, as_of=TODAY)
    assert calm.model_id == report.champion
    # The population it was trained on, measured the same way: stable.
    assert calm.figures["psi"] < 0.10 and not calm.alerts, calm
    # The same network, its payers three times as often late: the champion is carried over.
    stressed = _build(tmp_path_factory.mktemp("stressed"), anvil, stress=3.0)
    try:
        with p.uow_factory() as uow:
            champion = uow.risk_models.champion()
        assert champion is not None
        with stressed.uow_factory() as uow:
            uow.risk_models.add(champion)
            uow.commit()
        shifted = credit.monitor(
            uow_factory=stressed.uow_factory, cold_start=stressed.cold_start, as_of=TODAY
        )
        drift = [a for a in shifted.alerts if a.kind == "drift"]
        assert drift and drift[0].severity == "alert", shifted.figures
        assert drift[0].value >= 0.25
        with stressed.uow_factory() as uow:
            assert [a.id for a in uow.risk_alerts.list()] == [a.id for a in shifted.alerts]
    finally:
        stressed.__exit__(None, None, None)
