"""The core enterprise earns from the data it opens (issue 16, item 6), over HTTP and the CLI:
without its consent the bank's robot refers instead of reading, a bank's direct read is 403
naming the missing consent and nothing is metered; with it, every read is metered at the core
enterprise's price list and the monthly statement (API and CLI alike) sums the reads."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from fourflow.adapters.chain.node import AnvilNode
from fourflow.bootstrap import Platform
from fourflow.domain.identity import Principal, UserRole, org_types
from fourflow.domain.parties import Role
from fourflow.domain.scenarios import Scenario
from fourflow.entrypoints.api.app import create_app
from fourflow.entrypoints.cli.main import app as cli_app
from fourflow.services import financing, identity, onboarding, relay
from fourflow.services.demo import MEMBERS, Member, demo_uscc, trade_bundle
from tests.api.conftest import api_settings
from tests.api.world import API, ok
from tests.services.conftest import small_champion

pytestmark = [pytest.mark.chain, pytest.mark.xdist_group("api-consents")]

MEMBER = {m.key: m for m in MEMBERS}
BANK2 = Member("bank2", "太湖农村商业银行股份有限公司", "Taihu Rural Commercial Bank",
               demo_uscc("320000", "MA1FF0008"), (Role.BANK,), "6222020001000000088")  # fmt: skip
KEYS = ("core", "tier1", "tier2", "logistics", "bank", "bank2")


@dataclass
class World:
    client: TestClient
    platform: Platform
    home: Path
    db: str
    chain: str
    orgs: dict[str, str]
    holdings: list[str]
    day: str
    keys: dict[tuple[str, UserRole], str]

    def h(self, org: str, role: UserRole = UserRole.ADMIN) -> dict[str, str]:
        """Headers of an API key of ``org`` with ``role``."""
        if (org, role) not in self.keys:
            org_id = self.orgs[org]
            with self.platform.uow_factory() as uow:
                found = uow.organisations.get(org_id)
            assert found is not None
            admin = Principal(org_id, org_types(found.roles), UserRole.ADMIN, None, "t", "t")
            issued = identity.create_api_key(
                self.platform.identities, admin=admin, role=role, label=f"{org} {role.value}"
            )
            self.keys[(org, role)] = issued.secret
        return {"X-API-Key": self.keys[(org, role)]}

    def usage(self) -> list[dict[str, Any]]:
        return ok(self.client.get(f"{API}/data/usage", headers=self.h("core")))  # type: ignore[no-any-return]


def _trade(seller: str, start: dt.date, run: str) -> list[tuple[str, bytes]]:
    raw = trade_bundle(
        prefix=run, seller=MEMBER[seller], buyer=MEMBER["core"], carrier=MEMBER["logistics"],
        day0=start, terms_days=90, received_factor="1",
        lines=[("GEAR-HOUSING", "500", "EA", "1200.00")], scenario=Scenario.MANUFACTURING,
    )  # fmt: skip
    bundle = json.loads(raw)
    issuer = {"order": "core", "receipt_advice": "core", "transport_event": "logistics"}
    parts: dict[str, list[Any]] = {}
    for doc in bundle["documents"]:
        parts.setdefault(issuer.get(doc["kind"], seller), []).append(doc)
    return [
        (k, json.dumps({**bundle, "documents": parts[k]}, ensure_ascii=False).encode())
        for k in ("core", "logistics", seller)
    ]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode) -> Iterator[World]:
    """The core enterprise buys from tier 1 and tier 2 (SQLite); tier 1's receivable is
    issued and split in two; both banks' products approve what the robot may read."""
    home: Path = tmp_path_factory.mktemp("consents") / "home"
    db = f"sqlite:///{home.parent / 'store.db'}"
    with Platform(api_settings(home, db, anvil.url)) as platform:
        platform.initialise()
        orgs = {}
        for key in KEYS:
            m = BANK2 if key == "bank2" else MEMBER[key]
            orgs[key] = onboarding.onboard(
                uow_factory=platform.uow_factory, keystore=platform.keystore, name=m.name,
                uscc=m.uscc, roles=m.roles, accounts=[m.account],
            ).id  # fmt: skip
        relay.relay(uow_factory=platform.uow_factory, ledger=platform.require_contracts())
        with platform.uow_factory() as uow:  # a stated champion: no cold-start training
            uow.risk_models.add(small_champion())
            uow.commit()
        for bank in ("bank", "bank2"):
            financing.set_product_policy(
                uow_factory=platform.uow_factory, bank=orgs[bank],
                fields={"refer_pd": 0.99, "max_pd": 1.0},
            )  # fmt: skip
        with TestClient(create_app(platform), raise_server_exceptions=False) as client:
            start = platform.clock.today() - dt.timedelta(days=110)
            day = (start + dt.timedelta(days=8)).isoformat()
            w = World(client, platform, home, db, anvil.url, orgs, [], day, {})
            trades = {}
            for seller in ("tier2", "tier1"):
                for key, raw in _trade(seller, start, f"CNS-{seller}"):
                    rows = ok(client.post(f"{API}/documents", content=raw, headers=w.h(key)), 201)
                    trades[seller] = next((r["trade_id"] for r in rows if r["trade_id"]), None)
            tid = trades["tier1"]
            ok(client.post(f"{API}/trades/{tid}/verification", json={"as_of": day},
                           headers=w.h("tier1")))  # fmt: skip
            item = ok(client.post(f"{API}/items", json={"trade_id": tid, "as_of": day},
                                  headers=w.h("tier1")), 201)  # fmt: skip
            first = item["holdings"][0]["holding_id"]
            part = ok(client.post(f"{API}/holdings/{first}/split", json={"amount": "200000.00"},
                                  headers=w.h("tier1")), 201)  # fmt: skip
            w.holdings = [first, part["holding_id"]]
            yield w


def _ask(w: World, holding: str, bank: str = "bank") -> dict[str, Any]:
    body = {"holding_id": holding, "bank": w.orgs[bank], "amount": "50000.00", "as_of": w.day}
    return ok(w.client.post(f"{API}/financings", json=body, headers=w.h("tier1")), 201)  # type: ignore[no-any-return]


def _read(w: World, bank: str, kind: str = "trades", purpose: str = "credit_review") -> Any:
    return w.client.get(
        f"{API}/data/{w.orgs['core']}/{kind}",
        params={"purpose": purpose},
        headers=w.h(bank, UserRole.CREDIT_OFFICER),
    )


def test_consent_gates_reads_meters_them_and_the_statement_sums_them(world: World) -> None:
    w, client = world, world.client
    core = w.orgs["core"]
    # no consent: the robot refers without reading; a direct read is 403 naming the consent
    referred = _ask(w, w.holdings[0])
    assert referred["status"] == "referred"
    assert referred["decision"]["reasons"][0]["code"] == "NO_CONSENT"
    refused = _read(w, "bank")
    assert refused.status_code == 403, refused.text
    problem = refused.json()
    assert "no consent of" in problem["detail"] and core in problem["detail"]
    assert "trades for credit_review" in problem["detail"]
    assert w.usage() == []

    # attackers: a bank granting itself consent, a supplier granting over its buyer's data
    until = (w.platform.clock.today() + dt.timedelta(days=30)).isoformat()
    body = {"grantee": w.orgs["bank"], "kinds": ["payment_history", "trades"],
            "purpose": "credit_review", "valid_to": until}  # fmt: skip
    for attacker in ("bank", "tier1"):
        denied = client.post(f"{API}/consents", json=body, headers=w.h(attacker))
        assert denied.status_code == 403 and " may not " in denied.json()["detail"]
    assert ok(client.get(f"{API}/consents", headers=w.h("bank"))) == []

    # the core enterprise prices its data and consents to one bank
    prices = {"prices": {"payment_history": "12.50", "trades": "3.00"}}
    ok(client.put(f"{API}/data/prices", json=prices, headers=w.h("core")))
    consent = ok(client.post(f"{API}/consents", json=body, headers=w.h("core")), 201)
    assert consent["status"] == "active" and consent["counterparties"] == "all"
    seen = ok(client.get(f"{API}/consents", headers=w.h("bank", UserRole.CREDIT_OFFICER)))
    assert [c["consent_id"] for c in seen] == [consent["consent_id"]]

    approved = _ask(w, w.holdings[1])
    assert approved["status"] == "approved", approved["decision"]
    (robot,) = w.usage()
    assert (robot["reader"], robot["object_id"], robot["kind"], robot["fee"]) == (
        "robot", approved["financing_id"], "payment_history", "12.50",
    )  # fmt: skip
    trades = ok(_read(w, "bank"))
    assert {t["trade_id"] for t in trades["records"]} and trades["read"]["fee"] == "3.00"
    assert {(t["seller_id"], t["buyer_id"]) for t in trades["records"]} == {
        (w.orgs["tier1"], core), (w.orgs["tier2"], core),
    }  # fmt: skip
    history = ok(_read(w, "bank", "payment-history"))
    assert history["read"]["records"] == len(history["records"]) == 2
    assert "credit_officer" in history["read"]["reader"]

    # refused, nothing metered: another bank, another purpose; then after revocation
    assert _read(w, "bank2").status_code == 403
    assert _read(w, "bank", purpose="post_loan_monitoring").status_code == 403
    assert len(w.usage()) == 3
    cid = consent["consent_id"]
    gone = client.post(f"{API}/consents/{cid}/revocation", json={"reason": "x"},
                       headers=w.h("tier1"))  # fmt: skip
    assert gone.status_code == 403  # a supplier may not revoke (the table)
    ok(client.post(f"{API}/consents/{cid}/revocation", json={"reason": "review done"},
                   headers=w.h("core")))  # fmt: skip
    assert _read(w, "bank").status_code == 403
    reads = w.usage()
    assert len(reads) == 3

    # the bank sees its own reads; the statement sums them; the CLI answers the same
    assert len(ok(client.get(f"{API}/data/usage", headers=w.h("bank2", UserRole.AUDITOR)))) == 0
    month = w.platform.clock.today().strftime("%Y-%m")
    statement = ok(client.get(f"{API}/data/statement", params={"month": month},
                              headers=w.h("core", UserRole.FINANCE_MANAGER)))  # fmt: skip
    assert statement["total"] == {"CNY": "28.00"}  # robot 12.50, trades 3.00, history 12.50
    assert statement["by_bank"] == [{"grantee_id": w.orgs["bank"], "currency": "CNY",
                                     "fees": "28.00"}]  # fmt: skip
    assert sum(Decimal(r["fee"]) for r in reads) == Decimal("28.00")
    lines = {(x["kind"], x["reads"], x["fees"]) for x in statement["lines"]}
    assert lines == {("payment_history", 2, "25.00"), ("trades", 1, "3.00")}
    cli = _cli(w, "data", "statement", "--org", core, "--month", month, "--json")
    assert json.loads(cli) == statement
    assert len(json.loads(_cli(w, "data", "usage", "--org", core, "--json"))) == 3

    # the bank's reads of the core enterprise's data are in the API's audit trail
    with w.platform.engine.connect() as c:
        audited = c.execute(text("SELECT status FROM api_audit WHERE action = 'data.read'"))
        assert sorted(r[0] for r in audited) == [200, 200, 403, 403, 403, 403]


def _cli(w: World, *args: str, code: int = 0) -> str:
    env = {
        "FOURFLOW_HOME": str(w.home), "FOURFLOW_DATABASE_URL": w.db,
        "FOURFLOW_CHAIN_URL": w.chain, "FOURFLOW_KEYSTORE_PASSWORD": "api-test-password",
    }  # fmt: skip
    result = CliRunner().invoke(cli_app, list(args), env=env)
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result.stdout + (result.stderr if code else "")


def test_the_cli_acts_for_the_core_enterprise_only_in_demo_homes(world: World) -> None:
    until = (world.platform.clock.today() + dt.timedelta(days=5)).isoformat()
    out = _cli(world, "consent", "grant", "--as", world.orgs["core"], "--to", world.orgs["bank"],
               "--kinds", "trades", "--purpose", "credit_review", "--until", until, code=2)  # fmt: skip
    assert "only demo and simulation homes allow" in " ".join(out.split())
    out = _cli(world, "data", "read", "trades", "--as", "operator", "--grantor",
               world.orgs["core"], "--purpose", "credit_review", code=1)  # fmt: skip
    assert "is not a bank" in " ".join(out.split())
