"""A small supply network on the in-memory fakes: members, trades and items built by the
services themselves (onboard, ingest, link, verify, issue), relayed to a ``FakeLedger``."""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field
from typing import Any

import pytest

from fourflow.adapters.documents.registry import DetectingReader
from fourflow.domain.debt import DebtItem, Holding
from fourflow.domain.parties import Organisation, Role
from fourflow.domain.scenarios import Scenario
from fourflow.services import ingest, items, linking, onboarding, relay, verification
from fourflow.services.demo import Member, demo_uscc, trade_bundle
from fourflow.services.ports import ModelRecord
from tests.fakes import FakeKeyStore, FakeLedger, FakeUnitOfWorkFactory, FixedClock

TODAY = dt.date(2026, 6, 30)

MEMBERS = {
    "core": Member("core", "华东重工装备集团有限公司", "East China Heavy Equipment",
                   demo_uscc("320500", "MA1FF0001"), (Role.CORE_ENTERPRISE,), "6222020001000000011"),
    "tier1": Member("tier1", "苏州精工零部件有限公司", "Suzhou Precision Parts",
                    demo_uscc("320500", "MA1FF0002"), (Role.SUPPLIER,), "6222020001000000022"),
    "tier2": Member("tier2", "无锡恒达铸造有限公司", "Wuxi Hengda Foundry",
                    demo_uscc("320200", "MA1FF0003"), (Role.SUPPLIER,), "6222020001000000033"),
    "logistics": Member("logistics", "顺畅供应链物流有限公司", "Shunchang Logistics",
                        demo_uscc("320500", "MA1FF0005"), (Role.LOGISTICS,), "6222020001000000055"),
    "bank": Member("bank", "江南商业银行股份有限公司", "Jiangnan Commercial Bank",
                   demo_uscc("320000", "MA1FF0006"), (Role.BANK,), "6222020001000000066"),
    "bank2": Member("bank2", "太湖农村商业银行股份有限公司", "Taihu Rural Commercial Bank",
                    demo_uscc("320000", "MA1FF0008"), (Role.BANK,), "6222020001000000088"),
    "warehouse": Member("warehouse", "苏州港保税仓储有限公司", "Suzhou Port Bonded Warehouse",
                        demo_uscc("320500", "MA1FF0009"), (Role.WAREHOUSE,), "6222020001000000099"),
}  # fmt: skip


@dataclass
class World:
    """The fakes and the members onboarded on them (``org["tier1"]`` ...)."""

    uow: FakeUnitOfWorkFactory
    ledger: FakeLedger
    clock: FixedClock
    keys: FakeKeyStore
    operator: Organisation
    org: dict[str, Organisation] = field(default_factory=dict)
    trades: int = 0

    def id(self, key: str) -> str:
        """The organisation id of member ``key``."""
        return self.org[key].id

    def relay(self) -> relay.RelayResult:
        """Relay every queued op to the fake ledger."""
        return relay.relay(uow_factory=self.uow, ledger=self.ledger)

    def trade(
        self,
        seller: str = "tier1",
        buyer: str = "core",
        *,
        days_ago: int = 30,
        terms_days: int = 60,
        received_factor: str = "1",
    ) -> str:
        """Ingest one trade's four flows (native JSON), each document submitted by the party
        whose evidence it is (order and receipt advice the buyer, waybill the carrier, despatch
        advice and invoice the seller); link and verify them. The trade id."""
        self.trades += 1
        prefix = f"T{self.trades:03d}"
        raw = trade_bundle(
            prefix=prefix, seller=MEMBERS[seller], buyer=MEMBERS[buyer],
            carrier=MEMBERS["logistics"], lines=[("GEAR-HOUSING", "100", "EA", "1000.00")],
            received_factor=received_factor, day0=self.clock.today() - dt.timedelta(days_ago),
            terms_days=terms_days, scenario=Scenario.MANUFACTURING,
        )  # fmt: skip
        bundle = json.loads(raw)
        issuer = {"order": buyer, "receipt_advice": buyer, "transport_event": "logistics"}
        by_party: dict[str, list[Any]] = {}
        for doc in bundle["documents"]:
            by_party.setdefault(issuer.get(doc["kind"], seller), []).append(doc)
        for party, docs in by_party.items():
            part = json.dumps({**bundle, "documents": docs}, ensure_ascii=False).encode()
            outcomes = ingest.ingest_bytes(
                uow_factory=self.uow, reader=DetectingReader(submitter=self.id(party)),
                clock=self.clock, raw=part, source=f"{prefix}-{party}.json",
                submitter_id=self.id(party),
            )  # fmt: skip
            assert [o.status for o in outcomes] == ["accepted"] * len(docs), outcomes
        linked = linking.link_documents(uow_factory=self.uow)
        (trade_id,) = linked.created
        verification.verify(uow_factory=self.uow, trade_id=trade_id, as_of=self.clock.today())
        return trade_id

    def item(
        self, *, confirm: bool = False, seller: str = "tier1", buyer: str = "core"
    ) -> DebtItem:
        """A verified trade's item, issued and relayed (active on the fake chain)."""
        issued = items.issue_item(
            uow_factory=self.uow, ledger=self.ledger, clock=self.clock,
            trade_id=self.trade(seller, buyer), as_of=self.clock.today(), confirm=confirm,
        )  # fmt: skip
        assert not self.relay().failed
        return self.get_item(issued.id)

    def get_item(self, item_id: str) -> DebtItem:
        with self.uow() as uow:
            found = uow.items.get(item_id)
        assert found is not None
        return found

    def holdings(self, item_id: str) -> list[Holding]:
        with self.uow() as uow:
            return uow.items.holdings(item_id)


def new_world() -> World:
    """Operator and members onboarded, admissions relayed."""
    clock = FixedClock(TODAY)
    uow = FakeUnitOfWorkFactory(clock)
    keys = FakeKeyStore()
    ledger = FakeLedger(clock)
    operator = onboarding.onboard(
        uow_factory=uow, keystore=keys, name="FourFlow 平台运营", uscc=demo_uscc("320500", "MA1FF0000"),
        roles=[Role.OPERATOR], admit=False,
    )  # fmt: skip
    with uow() as u:
        u.settings.put(onboarding.OPERATOR_ORG_KEY, operator.id)
        u.commit()
    world = World(uow, ledger, clock, keys, operator)
    for key, m in MEMBERS.items():
        world.org[key] = onboarding.onboard(
            uow_factory=uow, keystore=keys, name=m.name, uscc=m.uscc, roles=m.roles,
            accounts=[m.account],
        )  # fmt: skip
    banks = sum(Role.BANK in m.roles for m in MEMBERS.values())  # each also gets a mint cap
    assert world.relay().applied == len(MEMBERS) + banks
    return world


@pytest.fixture
def world() -> World:
    """A fresh network on fresh fakes."""
    return new_world()


#: The champion's PD for a debtor with no disputes (its intercept), and the log-odds each unit
#: of the debtor's dispute rate adds.
BASE_PD = 0.02
DISPUTE_COEF = 3.0


def small_champion() -> ModelRecord:
    """A champion logistic model with stated coefficients: PD ``BASE_PD`` for a debtor that
    never disputed, rising with its dispute rate. Scored by the real ``ModelScorer`` on the
    real point-in-time features; registered so that no cold-start training runs."""
    from fourflow.risk import learning
    from fourflow.risk.models import LogisticModel

    (spec,) = [s for s in learning.feature_specs() if s.name == "debtor_dispute_rate"]
    scale = {"low": 0.0, "high": 1.0, "median": 0.0, "mean": 0.0, "std": 1.0}
    model = LogisticModel(
        specs=(spec,),
        numeric={spec.name: {**scale, "coef": DISPUTE_COEF}},
        categorical={},
        intercept=math.log(BASE_PD / (1 - BASE_PD)),
        average={spec.name: 0.0},
    )
    return ModelRecord(
        id="logistic-1", kind="logistic", role="champion", as_of=TODAY, training_rows=0,
        data_hash="0" * 64, metrics={"reference_pd": [], "source": "stated"},
        artifact=json.dumps(model.to_json()), note="service tests: stated coefficients",
    )  # fmt: skip


@pytest.fixture
def credit_world(world: World) -> World:
    """``world`` with a champion model registered (so no cold-start training runs)."""
    with world.uow() as uow:
        uow.risk_models.add(small_champion())
        uow.commit()
    return world


def no_cold_start(*, seed: int, trades: int) -> list[Any]:
    """The cold-start history source of the credit tests: never asked, a champion is registered."""
    raise AssertionError(f"cold-start training ran (seed {seed}, {trades} trades)")
