"""Races: one winner per holding, first-use work done once, on SQLite and PostgreSQL.

Every race here is real: two threads (each with its own unit of work and connection) or two
processes start at one barrier against the real store and the real anvil node, and what the
store and the chain hold afterwards is checked, not only what the callers were told.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import pytest

from fourflow.adapters.chain.node import AnvilNode
from fourflow.bootstrap import Platform, Settings
from fourflow.domain.debt import Holding
from fourflow.domain.errors import ConflictError
from fourflow.domain.financing import Financing, FinancingStatus, Outcome
from fourflow.domain.parties import Role
from fourflow.services import financing, items, onboarding, relay
from fourflow.services.audit import audit
from fourflow.services.demo import demo_uscc
from tests.integration.test_lifecycle import YUAN, Story, _story

pytestmark = pytest.mark.chain

T = TypeVar("T")
ROUNDS = 20
PART = 20_000 * YUAN
ASK = 18_000 * YUAN


def race(*calls: Callable[[], T]) -> list[T | BaseException]:
    """Run ``calls`` in threads released together; each one's result or exception."""
    barrier = threading.Barrier(len(calls), timeout=60)

    def run(call: Callable[[], T]) -> T | BaseException:
        barrier.wait()
        try:
            return call()
        except Exception as exc:  # the loser's refusal is a result here
            return exc

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def _second_bank(p: Platform) -> str:
    bank = onboarding.onboard(
        uow_factory=p.uow_factory, keystore=p.keystore, name="常州农村商业银行 (race test)",
        uscc=demo_uscc("320400", "MA1FF0099"), roles=[Role.BANK],
    )  # fmt: skip
    return bank.id


def _parts(s: Story, count: int) -> list[Holding]:
    """``count`` holdings of PART split off tier 1's holding, on the chain."""
    (whole,) = s.holdings()
    parts = [
        items.split(uow_factory=s.p.uow_factory, holding_id=whole.id, amount=PART,
                    actor_id=s.org["tier1"].id)
        for _ in range(count)
    ]  # fmt: skip
    s.relay()
    return parts


def _ask(s: Story, holding_id: str, bank_id: str) -> Callable[[], Financing]:
    def call() -> Financing:
        return financing.request_financing(
            uow_factory=s.p.uow_factory, holding_id=holding_id, bank_id=bank_id, amount=ASK,
            cold_start=s.p.cold_start,
            actor_id=s.org["tier1"].id, as_of=s.item.issue_date,
        )  # fmt: skip

    return call


def test_two_requests_on_one_holding_approve_once_in_every_round(platform: Platform) -> None:
    """Two banks asked at the same moment for the same holding: exactly one approval each
    round, the other refused naming the holding and the winning financing; the chain takes
    every pledge and the audit finds the store and the chain agree."""
    s = _story(platform)
    banks = (s.org["bank"].id, _second_bank(platform))
    parts = _parts(s, ROUNDS)
    for number, part in enumerate(parts, 1):
        first, second = race(_ask(s, part.id, banks[0]), _ask(s, part.id, banks[1]))
        won = [r for r in (first, second) if isinstance(r, Financing)]
        lost = [r for r in (first, second) if isinstance(r, BaseException)]
        assert len(won) == 1 and len(lost) == 1, f"round {number}: {first!r} / {second!r}"
        (winner,), (refusal,) = won, lost
        assert winner.status is FinancingStatus.APPROVED, f"round {number}: {winner.decision}"
        assert isinstance(refusal, ConflictError), f"round {number}: {refusal!r}"
        assert part.id in str(refusal) and winner.id in str(refusal), str(refusal)
    s.relay()
    with platform.uow_factory() as uow:
        stored = [f for f in uow.financings.list() if f.holding_id in {p.id for p in parts}]
        holdings = {h.id: h for h in uow.items.holdings(s.item.id)}
    assert len(stored) == ROUNDS
    assert {f.status for f in stored} == {FinancingStatus.ACTIVE}
    for fin in stored:
        assert holdings[fin.holding_id].pledge_bank_id == fin.bank_id
    ledger = platform.require_contracts()
    for fin in stored:  # the chain took one pledge per holding, to the winner's bank
        (pledged,) = ledger.read("pledges", fin.holding_id)
        assert pledged["principal"] == fin.principal, pledged
    report = audit(uow_factory=platform.uow_factory, ledger=ledger, reader_for=platform.reader_for)
    assert report.ok, report.discrepancies


def test_same_bank_twice_on_one_holding_approves_once(platform: Platform) -> None:
    """The same bank asked twice at once for one holding: one approval, one refusal."""
    s = _story(platform)
    (part,) = _parts(s, 1)
    bank = s.org["bank"].id
    results = race(_ask(s, part.id, bank), _ask(s, part.id, bank))
    assert sorted(type(r).__name__ for r in results) == ["ConflictError", "Financing"]
    s.relay()
    with platform.uow_factory() as uow:
        fin = uow.financings.by_holding(part.id)
    assert fin is not None and fin.status is FinancingStatus.ACTIVE


def test_first_requests_on_a_fresh_platform_register_one_cold_start_model(
    platform: Platform,
) -> None:
    """Two first requests at once (no model yet) on two holdings: both decided by the robot,
    and the cold-start scorecard is registered once."""
    s = _story(platform)
    with platform.uow_factory() as uow:
        assert uow.risk_models.list() == []
    one, two = _parts(s, 2)
    results = race(_ask(s, one.id, s.org["bank"].id), _ask(s, two.id, s.org["bank"].id))
    assert all(isinstance(r, Financing) for r in results), results
    for fin in results:
        assert isinstance(fin, Financing) and fin.decision is not None
        assert fin.decision.outcome is Outcome.APPROVE
    with platform.uow_factory() as uow:
        models = uow.risk_models.list()
    assert [m.id for m in models] == ["scorecard-1"]
    assert {
        f.decision.model_version for f in results if isinstance(f, Financing) and f.decision
    } == {"scorecard-1"}
    assert not relay.relay(uow_factory=platform.uow_factory, ledger=platform.ledger).failed


OPEN = """
import json, sys
from pathlib import Path
from fourflow.bootstrap import Platform, Settings
settings = Settings(home=Path(sys.argv[1]), database_url=sys.argv[2], chain_url=sys.argv[3],
                    keystore_password=None)
with Platform(settings) as p:
    addresses = p.initialise()
    print(json.dumps({"addresses": addresses, "operator": p.operator_id()}))
"""


def test_processes_opening_a_fresh_home_at_once_deploy_once(
    tmp_path: Path, store_url: str, anvil: AnvilNode
) -> None:
    """Three processes open one fresh home at once: one operator, one deployment, one secret,
    and every process ends with the same contract addresses."""
    home = tmp_path / "fresh"
    args = [sys.executable, "-c", OPEN, str(home), store_url, anvil.url]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    procs = [
        subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for _ in range(3)
    ]
    outputs = [proc.communicate(timeout=300) for proc in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    opened = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    assert len({json.dumps(o, sort_keys=True) for o in opened}) == 1, opened
    settings = Settings(home=home, database_url=store_url, chain_url=anvil.url,
                        keystore_password=None)  # fmt: skip
    with Platform(settings) as p:
        with p.uow_factory() as uow:
            operators = [o for o in uow.organisations.list() if o.has_role(Role.OPERATOR)]
        assert [o.id for o in operators] == [opened[0]["operator"]]
        assert p.initialise() == opened[0]["addresses"]  # nothing left to deploy
        p.require_contracts().check_deployed()
    assert not list(home.glob("keystore.secret.*"))  # no draft secret left behind


def test_two_cli_requests_on_one_holding_one_exits_1(platform: Platform) -> None:
    """Two `fourflow finance request` processes at once on one holding: exit 0 and exit 1,
    the second with the refusal naming the holding."""
    s = _story(platform)
    (part,) = _parts(s, 1)
    financing_env = {
        **os.environ,
        "FOURFLOW_HOME": str(platform.settings.home),
        "FOURFLOW_DATABASE_URL": platform.settings.database_url,
        "FOURFLOW_CHAIN_URL": str(platform.settings.chain_url),
        "FOURFLOW_KEYSTORE_PASSWORD": str(platform.settings.keystore_password),
        "COLUMNS": "200",
    }
    # Register the cold-start model first: the race under test is the holding's, not the
    # model's (that one has its own test), and two cold starts would double the wait.
    with platform.uow_factory() as uow:
        uow_models = uow.risk_models.list()
    if not uow_models:
        from fourflow.services import credit

        credit.bootstrap_champion(
            uow_factory=platform.uow_factory, as_of=s.item.issue_date,
            cold_start=platform.cold_start,
        )  # fmt: skip
    command = [
        sys.executable, "-m", "fourflow", "finance", "request", part.id,
        "--bank", s.org["bank"].id, "--amount", str(ASK // YUAN),
        "--as-of", s.item.issue_date.isoformat(),
    ]  # fmt: skip
    procs = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=financing_env)
        for _ in range(2)
    ]  # fmt: skip
    outputs = [proc.communicate(timeout=300) for proc in procs]
    codes = sorted(proc.returncode for proc in procs)
    assert codes == [0, 1], outputs
    (_, refusal) = next(o for p, o in zip(procs, outputs, strict=True) if p.returncode == 1)
    assert "error:" in refusal and part.id in refusal and "already" in refusal, refusal
    with platform.uow_factory() as uow:
        fin = uow.financings.by_holding(part.id)
        stored = [f for f in uow.financings.list() if f.holding_id == part.id]
    assert len(stored) == 1 and fin is not None and fin.status is FinancingStatus.ACTIVE
