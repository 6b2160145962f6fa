"""Supervision over HTTP (issue 17 item 5): the figures of the whole platform and of a
scenario platform, the trades behind each figure (paginated), a trade's on-chain evidence and
the supply network by tier, each visible only within the caller's scope: the regulator and
the operator everything, a local government the platform it runs (another's answers 404, the
whole platform 403)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fourflow.adapters.chain.node import AnvilNode
from fourflow.bootstrap import Platform
from fourflow.entrypoints.api.app import create_app
from fourflow.services import financing, relay
from tests.api.conftest import api_settings
from tests.api.world import (
    API,
    KYC,
    Party,
    Person,
    documents_by_issuer,
    ok,
    operator_admin,
    register_and_admit,
    register_local_government,
)
from tests.services.conftest import small_champion

pytestmark = [pytest.mark.chain, pytest.mark.xdist_group("api-supervision")]


@dataclass
class World:
    client: TestClient
    operator: Person
    parties: dict[str, Party]
    a: str  # the district's platform: core, tier1, the bank
    b: str  # the county's platform: tier2 only
    trade_id: str
    financing: dict[str, Any]
    platform: Platform
    start: dt.date


def _platform(client: TestClient, operator: Person, by: Party, name: str) -> str:
    body = {"name": name, "operator": by.org_id, "scenarios": ["manufacturing"]}
    return str(ok(client.post(f"{API}/platforms", json=body, headers=operator.auth), 201)["id"])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode) -> Iterator[World]:
    """The world of ``built_world`` on SQLite."""
    home: Path = tmp_path_factory.mktemp("supervision") / "home"
    with built_world(home, f"sqlite:///{home.parent / 'store.db'}", anvil.url) as found:
        yield found


@contextmanager
def built_world(home: Path, db: str, chain: str) -> Iterator[World]:
    """One trade tier1 -> core, verified, issued, confirmed by the core enterprise and financed
    by the bank (a stated champion model: no cold-start training); two platforms."""
    with Platform(api_settings(home, db, chain)) as platform:
        platform.initialise()
        with platform.uow_factory() as uow:
            uow.risk_models.add(small_champion())
            uow.commit()
        with TestClient(create_app(platform), raise_server_exceptions=False) as client:
            operator = operator_admin(client, platform)
            parties = {
                k: register_and_admit(client, operator, k)
                for k in ("core", "tier1", "tier2", "logistics", "bank", "regulator")
            }
            for key in ("district", "county"):
                parties[key] = register_local_government(client, operator, key)
            a = _platform(client, operator, parties["district"], "姑苏区供应链金融服务平台")
            b = _platform(client, operator, parties["county"], "吴中区供应链金融服务平台")
            district, county = parties["district"], parties["county"]
            for key in ("core", "tier1"):
                body = {"org": parties[key].org_id, "checks": KYC, "note": "licence checked"}
                ok(client.post(f"{API}/platforms/{a}/members", json=body,
                               headers=district.admin.auth), 201)  # fmt: skip
            body = {"org": parties["tier2"].org_id, "checks": KYC, "note": "licence checked"}
            ok(client.post(f"{API}/platforms/{b}/members", json=body, headers=county.admin.auth),
               201)  # fmt: skip
            ok(client.post(f"{API}/platforms/{a}/banks", json={"bank": parties["bank"].org_id},
                           headers=district.admin.auth), 201)  # fmt: skip
            financing.set_product_policy(
                uow_factory=platform.uow_factory, bank=parties["bank"].org_id,
                fields={"refer_pd": 0.99, "max_pd": 1.0},
            )  # fmt: skip
            start = platform.clock.today() - dt.timedelta(days=30)
            trade_ids: set[str] = set()
            for key, raw in documents_by_issuer("SUP", start):
                rows = ok(client.post(f"{API}/documents", content=raw,
                                      headers=parties[key].admin.auth), 201)  # fmt: skip
                trade_ids |= {r["trade_id"] for r in rows if r["trade_id"]}
            (trade_id,) = trade_ids
            tier1, core = parties["tier1"], parties["core"]
            day = (start + dt.timedelta(days=8)).isoformat()
            ok(client.post(f"{API}/trades/{trade_id}/verification", json={"as_of": day},
                           headers=tier1.admin.auth))  # fmt: skip
            item = ok(client.post(f"{API}/items", json={"trade_id": trade_id, "as_of": day},
                                  headers=tier1.admin.auth), 201)  # fmt: skip
            confirmed = ok(client.post(f"{API}/items/{item['item_id']}/confirmation",
                                       headers=core.admin.auth))  # fmt: skip
            holding = confirmed["holdings"][0]["holding_id"]
            fin = ok(client.post(f"{API}/financings", headers=tier1.admin.auth, json={
                "holding_id": holding, "bank": parties["bank"].org_id, "amount": "100000.00"}),
                201)  # fmt: skip
            assert fin["status"] in ("approved", "active"), fin
            relay.relay(uow_factory=platform.uow_factory, ledger=platform.require_contracts())
            yield World(client, operator, parties, a, b, trade_id, fin, platform, start)


def _get(world: World, path: str, who: Person, **params: Any) -> Any:
    return world.client.get(f"{API}{path}", params=params, headers=who.auth)


def test_the_regulator_sees_every_figure_of_the_whole_platform(world: World) -> None:
    p = world.parties
    found = ok(_get(world, "/supervision/figures", p["regulator"].admin))
    fig = found["all"]
    assert (fig["trades"], fig["verified"], fig["failed"]) == (1, 1, 0)
    assert fig["items"]["count"] == 1 and fig["outstanding"]["count"] == 1
    assert fig["enterprises_registered"] == 3  # core, tier1, tier2
    assert fig["enterprises_financed"] == 1
    # tier1 sells to the core enterprise: tier 1
    assert [(t["tier"], t["enterprises"], t["count"]) for t in fig["smes_financed_by_tier"]] == [
        (1, 1, 1)
    ]
    assert fig["financing"]["issued"] == {"count": 1, "amount": {"CNY": "100000.00"}}
    assert fig["financing"]["outstanding"]["count"] == 1
    assert fig["financing"]["settled"]["count"] == 0
    rates = fig["rates"]
    assert rates["count"] == 1 and rates["min_pct"] == rates["max_pct"] == rates["mean_pct"] > 0
    assert fig["term_distribution"] == {"<=90": 1, "91-183": 0, "184-365": 0, ">365": 0}
    assert fig["days_to_pay"] == {"settled": 0, "mean": None, "within_60": 0, "over_60": 0}
    assert fig["overdue_ratio"] == {"CNY": 0.0} and fig["non_performing_ratio"] == {"CNY": 0.0}
    (core,) = fig["concentration"]["core"]
    assert (core["org_id"], core["share"], core["amount"]) == (
        p["core"].org_id, 1.0, "100000.00",
    )  # fmt: skip
    (bank,) = fig["concentration"]["bank"]
    assert bank["org_id"] == p["bank"].org_id
    assert set(found["by_scenario"]) == {"manufacturing"}
    rows = {r["platform_id"]: r for r in found["by_platform"]}
    assert (rows[world.a]["trades"], rows[world.b]["trades"]) == (1, 0)
    assert rows[world.a]["financing"]["issued"]["count"] == 1
    assert "settlement" not in found and found["alerts"]["model"] == 0
    with_settlement = _get(world, "/supervision/figures", p["regulator"].admin, settlement=True)
    assert ok(with_settlement)["settlement"]["routes"]["locked"] == 1
    # one scenario only: none in agriculture
    empty = ok(_get(world, "/supervision/figures", p["regulator"].admin, scenario="agriculture"))
    assert empty["all"]["trades"] == 0
    assert (
        _get(world, "/supervision/figures", p["regulator"].admin, scenario="nope").status_code
        == 422
    )


def test_a_local_government_sees_its_own_platform_only(world: World) -> None:
    p = world.parties
    mine = ok(_get(world, "/supervision/figures", p["district"].admin, platform_id=world.a))
    assert mine["platform_id"] == world.a and mine["all"]["trades"] == 1
    assert "by_platform" not in mine and "settlement" not in mine
    assert mine["all"]["enterprises_registered"] == 2  # its members that trade
    theirs = ok(_get(world, "/supervision/figures", p["county"].admin, platform_id=world.b))
    assert theirs["all"]["trades"] == 0  # tier2 alone: no trade between two members
    for path in ("/supervision/figures", "/supervision/network"):
        other = _get(world, path, p["county"].admin, platform_id=world.a)
        assert other.status_code == 404, other.text
        whole = _get(world, path, p["district"].admin)
        assert whole.status_code == 403 and "platform_id" in whole.json()["detail"]
    refused = _get(world, "/supervision/figures", p["bank"].admin, platform_id=world.a)
    assert refused.status_code == 403 and " may not " in refused.json()["detail"]
    evidence = _get(world, f"/supervision/trades/{world.trade_id}/evidence", p["county"].admin,
                    platform_id=world.b)  # fmt: skip
    assert evidence.status_code == 404


def test_every_figure_drills_down_to_its_trades(world: World) -> None:
    p = world.parties
    for who, platform in ((p["regulator"].admin, None), (p["district"].admin, world.a)):
        params: dict[str, Any] = {"platform_id": platform} if platform else {}
        for figure, key, total in (
            ("trades", None, 1), ("verified", None, 1), ("failed", None, 0),
            ("financed", None, 1), ("outstanding", None, 1), ("settled", None, 0),
            ("overdue", None, 0), ("term", "<=90", 1), ("term", ">365", 0), ("tier", "1", 1),
            ("tier", "2", 0), ("core", p["core"].org_id, 1), ("bank", p["bank"].org_id, 1),
            ("bank", p["tier1"].org_id, 0),
        ):  # fmt: skip
            extra = {"key": key} if key else {}
            page = ok(_get(world, "/supervision/trades", who, figure=figure, **params, **extra))
            assert page["total"] == total, (figure, key, page)
            assert len(page["rows"]) == total
        row = ok(_get(world, "/supervision/trades", who, figure="financed", **params))["rows"][0]
        assert row["trade_id"] == world.trade_id and row["seller_tier"] == 1
        assert row["financings"][0]["financing_id"] == world.financing["financing_id"]
    # pagination and bad input
    page = ok(_get(world, "/supervision/trades", p["regulator"].admin, figure="trades", offset=1))
    assert (page["total"], page["rows"]) == (1, [])
    for bad in ({"figure": "nope"}, {"figure": "tier"}, {"figure": "trades", "limit": 0},
                {"figure": "tier", "key": "x"}):  # fmt: skip
        answer = _get(world, "/supervision/trades", p["regulator"].admin, **bad)
        assert answer.status_code == 422, (bad, answer.text)


def test_a_trade_opens_its_on_chain_evidence(world: World) -> None:
    p = world.parties
    found = ok(_get(world, f"/supervision/trades/{world.trade_id}/evidence",
                    p["district"].admin, platform_id=world.a))  # fmt: skip
    assert found["trade_id"] == world.trade_id and found["status"] == "verified"
    assert found["report_hash"]
    kinds = {d["kind"] for d in found["documents"]}
    assert {"order", "invoice"} <= kinds
    for doc in found["documents"]:
        assert doc["fingerprint"].startswith("sha256:") or len(doc["fingerprint"]) == 64
        assert doc["anchor"] is not None, doc  # anchored on upload
        assert doc["anchor"]["operations"][0]["status"] == "done", doc
    (item,) = found["items"]
    assert item["chain"] and all(op["status"] == "done" for op in item["chain"]), item
    (fin,) = found["financings"]
    assert fin["status"] == "active" and fin["chain"], fin
    missing = _get(world, "/supervision/trades/trd-nope/evidence", p["regulator"].admin)
    assert missing.status_code == 404


def test_the_supply_network_by_tier(world: World) -> None:
    p = world.parties
    net = ok(_get(world, "/supervision/network", p["regulator"].admin))
    tiers = {n["id"]: n["tier"] for n in net["nodes"]}
    assert tiers == {p["core"].org_id: 0, p["tier1"].org_id: 1}
    assert net["edges"] == [{"source": p["tier1"].org_id, "target": p["core"].org_id, "trades": 1}]
    assert net["tiers"] == [{"tier": 0, "organisations": 1}, {"tier": 1, "organisations": 1}]
    county = ok(_get(world, "/supervision/network", p["county"].admin, platform_id=world.b))
    assert county == {"nodes": [], "edges": [], "tiers": []}


def test_alerts_count_fraud_signals_and_model_alerts(world: World) -> None:
    p = world.parties
    found = ok(_get(world, "/supervision/alerts", p["regulator"].admin))
    assert found["fraud_signals"] == 0 and found["trades_signalled"] == 0
    assert found["model"] == 0 and found["model_latest"] == []
    page = ok(_get(world, "/supervision/trades", p["regulator"].admin, figure="alerts"))
    assert page["total"] == 0
