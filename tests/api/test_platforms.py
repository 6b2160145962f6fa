"""Scenario platforms as tenants over HTTP (issue 16 item 5): FourFlow's operator creates two
platforms, each run by its own local government; each local government admits its members and
banks and reads its own platform's figures; the regulator sees both; nothing crosses platforms
except through a member of both; attacks across platforms answer 404 and change nothing."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from fourflow.adapters.chain.node import AnvilNode
from fourflow.bootstrap import Platform
from fourflow.entrypoints.cli.main import app as cli_app
from fourflow.services import identity
from tests.api.world import (
    API,
    KYC,
    Party,
    Person,
    http_world,
    invite,
    ok,
    register_local_government,
    upload_trade,
    verify_and_issue,
)

pytestmark = [pytest.mark.chain, pytest.mark.xdist_group("api-platforms")]


@dataclass
class World:
    client: TestClient
    platform: Platform
    operator: Person
    parties: dict[str, Party]
    a: str  # the district's culture-and-tourism / manufacturing platform
    b: str  # the county's agriculture / manufacturing platform
    trade_id: str
    env: dict[str, str]  # the home, store and node, for the CLI


def _admit(client: TestClient, by: Party, platform_id: str, org_id: str) -> Any:
    body = {"org": org_id, "checks": KYC, "note": "licence and legal representative checked"}
    return client.post(f"{API}/platforms/{platform_id}/members", json=body, headers=by.admin.auth)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode) -> Iterator[World]:
    """Two platforms on one SQLite home: A (district: core, tier1; the bank) and B (county:
    tier1, tier2); one verified, issued trade tier1 -> core."""
    with http_world(tmp_path_factory.mktemp("platforms"), anvil.url) as w:
        client, platform, operator, parties = w.client, w.platform, w.operator, w.parties
        for key in ("district", "county"):
            parties[key] = register_local_government(client, operator, key)
        invite(client, parties["bank"], "credit_officer")
        ids = {}
        for key, name, scenarios in (
            ("district", "姑苏区文旅金融服务平台", ["culture_tourism", "manufacturing"]),
            ("county", "吴中区农产品金融服务平台", ["agriculture", "manufacturing"]),
        ):
            created = ok(
                client.post(
                    f"{API}/platforms",
                    json={"name": name, "operator": parties[key].org_id,
                          "scenarios": scenarios, "region": key},
                    headers=operator.auth,
                ),
                201,
            )  # fmt: skip
            ids[key] = created["id"]
        district, county = parties["district"], parties["county"]
        for key in ("core", "tier1"):
            ok(_admit(client, district, ids["district"], parties[key].org_id), 201)
        for key in ("tier1", "tier2"):
            ok(_admit(client, county, ids["county"], parties[key].org_id), 201)
        ok(
            client.post(
                f"{API}/platforms/{ids['district']}/banks",
                json={"bank": parties["bank"].org_id}, headers=district.admin.auth,
            ),
            201,
        )  # fmt: skip
        trade_id = _issued_trade(client, platform, parties)
        env = {
            "FOURFLOW_HOME": str(w.home), "FOURFLOW_DATABASE_URL": w.database_url,
            "FOURFLOW_CHAIN_URL": anvil.url, "FOURFLOW_KEYSTORE_PASSWORD": "api-test-password",
        }  # fmt: skip
        yield World(
            client, platform, operator, parties, ids["district"], ids["county"], trade_id, env
        )


def _issued_trade(client: TestClient, platform: Platform, parties: dict[str, Party]) -> str:
    start = platform.clock.today() - dt.timedelta(days=110)
    trade_id = upload_trade(client, parties, "PLT", start)
    verify_and_issue(client, parties["tier1"], trade_id, start + dt.timedelta(days=8))
    return trade_id


def _figures(world: World, platform_id: str, who: Person) -> Any:
    return world.client.get(f"{API}/platforms/{platform_id}/figures", headers=who.auth)


def test_each_local_government_reads_its_own_platforms_figures(world: World) -> None:
    p = world.parties
    a = ok(_figures(world, world.a, p["district"].admin))
    assert (a["members"], a["banks"], a["trades"], a["verified"], a["items_issued"]) == (
        2, 1, 1, 1, 1,
    )  # fmt: skip
    assert a["issued_amount"] == {"CNY": "1000000.00"}
    # issued 102 days ago on 90-day terms, unpaid: overdue
    assert a["overdue"] == 1 and a["overdue_amount"] == {"CNY": "1000000.00"}
    assert a["by_scenario"] == {"manufacturing": {"trades": 1, "items": 1}}
    # tier1 is a member of both, but the trade's buyer (core) is not a member of B: the
    # trade stays on A.
    b = ok(_figures(world, world.b, p["county"].admin))
    assert (b["members"], b["banks"], b["trades"], b["items_issued"]) == (2, 0, 0, 0)
    # the drill-down: the trades behind A's figures, with their items
    (row,) = ok(world.client.get(f"{API}/platforms/{world.a}/trades",
                                 headers=p["district"].admin.auth))  # fmt: skip
    assert row["trade_id"] == world.trade_id and row["status"] == "verified"
    assert [(i["face_value"], i["status"]) for i in row["items"]] == [("1000000.00", "overdue")]
    assert ok(world.client.get(f"{API}/platforms/{world.b}/trades",
                               headers=p["county"].admin.auth)) == []  # fmt: skip
    assert world.client.get(f"{API}/platforms/{world.a}/trades",
                            headers=p["county"].admin.auth).status_code == 404  # fmt: skip
    assert world.client.get(f"{API}/platforms/{world.a}/trades",
                            headers=p["tier1"].admin.auth).status_code == 403  # fmt: skip
    # the regulator and FourFlow's operator read the same figures of both
    assert ok(_figures(world, world.a, p["regulator"].admin)) == a
    assert ok(_figures(world, world.b, p["regulator"].admin)) == b
    # the local government's reads of its platform are in the API's audit trail
    trail = identity.trail_records(world.platform.identities, after=0, limit=1000)
    assert any(
        r.action == "platforms.figures" and r.org_id == p["district"].org_id and r.status == 200
        for r in trail
    )


def test_each_party_lists_only_the_platforms_it_may_see(world: World) -> None:
    p = world.parties

    def listed(who: Person) -> set[str]:
        return {x["id"] for x in ok(world.client.get(f"{API}/platforms", headers=who.auth))}

    assert listed(p["regulator"].admin) == {world.a, world.b}
    assert listed(world.operator) == {world.a, world.b}
    assert listed(p["district"].admin) == {world.a}
    assert listed(p["county"].admin) == {world.b}
    assert listed(p["bank"].admin) == {world.a}
    assert listed(p["tier1"].admin) == {world.a, world.b}  # the member of both
    assert listed(p["core"].admin) == {world.a}
    assert listed(p["logistics"].admin) == set()
    shown = ok(world.client.get(f"{API}/platforms/{world.a}", headers=p["bank"].admin.auth))
    assert {m["org_id"] for m in shown["members"]} == {p["core"].org_id, p["tier1"].org_id}
    # the members' KYC reviews are for the local government, the regulator and the operator
    assert {m["kyc"] for m in shown["members"]} == {None}
    shown = ok(world.client.get(f"{API}/platforms/{world.a}", headers=p["district"].admin.auth))
    assert shown["members"][0]["kyc"]["checks"] == KYC
    assert shown["members"][0]["admitted_by"] == "admin@district.gov.example.cn (admin)"


def test_a_local_government_cannot_read_or_change_another_platform(world: World) -> None:
    p, c = world.parties, world.client
    district = p["district"]
    before = ok(c.get(f"{API}/platforms/{world.b}", headers=p["regulator"].admin.auth))
    assert c.get(f"{API}/platforms/{world.b}", headers=district.admin.auth).status_code == 404
    assert _figures(world, world.b, district.admin).status_code == 404
    # admitting into B, naming a bank of B, adding a product on B: 404, nothing changes
    assert _admit(c, district, world.b, p["core"].org_id).status_code == 404
    bank = {"bank": p["bank"].org_id}
    assert c.post(f"{API}/platforms/{world.b}/banks", json=bank,
                  headers=district.admin.auth).status_code == 404  # fmt: skip
    product = {"bank": p["bank"].org_id, "name": "x", "scenario": "manufacturing",
               "max_amount": "1000.00", "max_term_days": 90}  # fmt: skip
    assert c.post(f"{API}/platforms/{world.b}/products", json=product,
                  headers=district.admin.auth).status_code == 404  # fmt: skip
    after = ok(c.get(f"{API}/platforms/{world.b}", headers=p["regulator"].admin.auth))
    assert after == before
    # a local government is no regulator: the platform-wide figures and items are refused
    assert c.get(f"{API}/regulator/figures", headers=district.admin.auth).status_code == 403
    # a member reads its platform but not its figures; a non-member not even the platform
    assert c.get(f"{API}/platforms/{world.a}", headers=p["tier1"].admin.auth).status_code == 200
    assert _figures(world, world.a, p["tier1"].admin).status_code == 403
    assert c.get(f"{API}/platforms/{world.a}", headers=p["tier2"].admin.auth).status_code == 404


def test_a_bank_sees_and_offers_only_on_platforms_it_takes_part_in(world: World) -> None:
    p, c = world.parties, world.client
    officer = p["bank"].people["credit_officer"]
    product = {"name": "文旅贷", "scenario": "manufacturing", "max_amount": "5000000.00",
               "max_term_days": 180}  # fmt: skip
    made = ok(c.post(f"{API}/platforms/{world.a}/products", json=product,
                     headers=officer.auth), 201)  # fmt: skip
    assert made["bank_id"] == p["bank"].org_id and made["max_amount"] == "5000000.00"
    again = c.post(f"{API}/platforms/{world.a}/products", json=product, headers=officer.auth)
    assert again.status_code == 409
    # not on B (it does not take part): as if B did not exist
    assert c.get(f"{API}/platforms/{world.b}", headers=officer.auth).status_code == 404
    assert c.post(f"{API}/platforms/{world.b}/products", json=product,
                  headers=officer.auth).status_code == 404  # fmt: skip
    # a scenario A does not serve is refused, naming it
    wrong = c.post(f"{API}/platforms/{world.a}/products",
                   json={**product, "name": "农贷", "scenario": "agriculture"},
                   headers=officer.auth)  # fmt: skip
    assert wrong.status_code == 422 and "agriculture" in wrong.json()["detail"]
    shown = ok(c.get(f"{API}/platforms/{world.a}", headers=p["district"].admin.auth))
    assert [x["name"] for x in shown["products"]] == ["文旅贷"]
    # and a bank is no member: the local government may not admit it as one
    refused = _admit(c, p["district"], world.a, p["bank"].org_id)
    assert refused.status_code == 422 and "banks take part as banks" in refused.json()["detail"]


def test_a_member_of_both_platforms_is_the_only_bridge(world: World) -> None:
    p, c = world.parties, world.client
    # the county admits core too: the tier1 -> core trade now counts on B as well (both
    # parties are members of B), and still on A
    ok(_admit(c, p["county"], world.b, p["core"].org_id), 201)
    b = ok(_figures(world, world.b, p["county"].admin))
    a = ok(_figures(world, world.a, p["district"].admin))
    assert (b["trades"], b["items_issued"], a["trades"]) == (1, 1, 1)
    again = _admit(c, p["county"], world.b, p["core"].org_id)
    assert again.status_code == 409


def test_only_a_local_government_runs_a_platform(world: World) -> None:
    c, p = world.client, world.parties
    body = {"name": "x", "operator": p["bank"].org_id, "scenarios": ["travel"]}
    refused = c.post(f"{API}/platforms", json=body, headers=world.operator.auth)
    assert refused.status_code == 422 and "not a local government" in refused.json()["detail"]
    taken = {"name": "姑苏区文旅金融服务平台", "operator": p["county"].org_id,
             "scenarios": ["travel"]}  # fmt: skip
    assert c.post(f"{API}/platforms", json=taken, headers=world.operator.auth).status_code == 409
    assert c.post(f"{API}/platforms", json={**body, "operator": p["county"].org_id},
                  headers=p["county"].admin.auth).status_code == 403  # fmt: skip
    assert len(ok(c.get(f"{API}/platforms", headers=world.operator.auth))) == 2


def _cli(world: World, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli_app, list(args), env=world.env)
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result.stdout + (result.stderr if code else "")


def test_the_operators_cli_lists_shows_and_manages_platforms(world: World) -> None:
    p = world.parties
    listed = json.loads(_cli(world, "platform", "list", "--json"))
    assert [x["id"] for x in listed] == [world.a, world.b]
    api = ok(_figures(world, world.a, p["regulator"].admin))
    cli = json.loads(_cli(world, "platform", "figures", world.a, "--json"))
    assert cli == api
    drill = ok(world.client.get(f"{API}/platforms/{world.a}/trades",
                                headers=p["regulator"].admin.auth))  # fmt: skip
    assert json.loads(_cli(world, "platform", "trades", world.a, "--json")) == drill
    # FourFlow's operator manages a platform from its own home; acting as the local
    # government is for demo homes only
    checks = "licence_verified,legal_representative_verified,sanctions_screened"
    out = _cli(world, "platform", "admit", world.b, p["logistics"].org_id, "--note",
               "carrier checked", "--checks", checks, "--as", p["county"].org_id, code=2)  # fmt: skip
    assert "only demo and simulation homes allow" in " ".join(out.split())
    out = _cli(world, "platform", "admit", world.b, p["logistics"].org_id, "--note",
               "carrier checked", "--checks", "licence_verified", code=1)  # fmt: skip
    assert "KYC checks pass" in " ".join(out.split())
    _cli(world, "platform", "admit", world.b, p["logistics"].org_id, "--note",
         "carrier checked", "--checks", checks)  # fmt: skip
    shown = json.loads(_cli(world, "platform", "show", world.b, "--json"))
    assert p["logistics"].org_id in {m["org_id"] for m in shown["members"]}
    assert shown["members"][-1]["admitted_by"] == "operator (CLI)"
    out = _cli(world, "platform", "create", "x", "--operator", p["bank"].org_id,
               "--scenario", "travel", code=1)  # fmt: skip
    assert "not a local government" in " ".join(out.split())
