"""The platform operator's side of a debtor's dispute over HTTP on a real chain (issue 16,
item 1: the CLI's ``item dispute --resolution`` has its endpoint calling the same service):
``GET /disputes`` lists the items disputed now; ``POST /items/{id}/dispute/resolution``
resolves one (upheld or rejected, with the reason): recorded, lifted on the chain, audited;
refused for any other role or organisation, for an item not disputed, and nothing changes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fourflow.adapters.chain.node import AnvilNode
from fourflow.bootstrap import Platform
from fourflow.domain.facts import DisputeAction
from fourflow.services.items import text_hash
from tests.api.world import (
    API,
    Party,
    Person,
    http_world,
    invite,
    ok,
    upload_trade,
    verify_and_issue,
)

pytestmark = [pytest.mark.chain, pytest.mark.xdist_group("api-disputes")]


@dataclass
class World:
    client: TestClient
    platform: Platform
    parties: dict[str, Party]
    operator: Party  # the platform operator: its admin and a clerk
    item_id: str
    holding_id: str


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode) -> Iterator[World]:
    """Tier 1 sells to the core enterprise, verified and issued (each party uploads its own
    documents); the operator's admin and a clerk signed in."""
    with http_world(tmp_path_factory.mktemp("disputes"), anvil.url) as w:
        operator = Party("operator", w.platform.operator_id(), {"admin": w.operator})
        invite(w.client, operator, "clerk")
        start = w.platform.clock.today() - dt.timedelta(days=100)
        trade_id = upload_trade(w.client, w.parties, "DSP", start)
        item = verify_and_issue(w.client, w.parties["tier1"], trade_id, start + dt.timedelta(8))
        yield World(
            w.client, w.platform, w.parties, operator, item["item_id"],
            item["holdings"][0]["holding_id"],
        )  # fmt: skip


def _dispute(w: World, reason: str) -> None:
    ok(w.client.post(f"{API}/items/{w.item_id}/dispute", json={"reason": reason},
                     headers=w.parties["core"].admin.auth))  # fmt: skip


def _events(w: World) -> list[Any]:
    with w.platform.uow_factory() as uow:
        return list(uow.disputes.for_item(w.item_id))


def _audit(w: World, action: str) -> list[int]:
    records: list[dict[str, Any]] = []
    for _ in range(100):  # bounded: pages of 1000
        page = ok(w.client.get(f"{API}/audit-trail?after={len(records)}&limit=1000",
                               headers=w.operator.admin.auth))  # fmt: skip
        records += page
        if len(page) < 1000:
            return [r["status"] for r in records if r.get("action") == action]
    raise AssertionError("the audit trail has more than 100,000 records")


def _split(w: World, who: Person) -> int:
    done = w.client.post(f"{API}/holdings/{w.holding_id}/split", json={"amount": "1.00"},
                         headers=who.auth)  # fmt: skip
    return int(done.status_code)


def test_the_operator_lists_the_items_disputed_now(world: World) -> None:
    w = world
    core, tier1 = w.parties["core"], w.parties["tier1"]
    assert ok(w.client.get(f"{API}/disputes", headers=w.operator.admin.auth)) == []
    _dispute(w, "goods short by 20 units on delivery")
    for who in (w.operator.admin, w.operator.people["clerk"]):
        (row,) = ok(w.client.get(f"{API}/disputes", headers=who.auth))
        assert row["item_id"] == w.item_id and row["debtor_id"] == core.org_id
        assert row["creditor_id"] == tier1.org_id and row["debtor_name"] and row["creditor_name"]
        assert row["reason"] == "goods short by 20 units on delivery"
        assert row["reason_hash"] == text_hash(row["reason"]) and row["raised_by"] == core.org_id
        assert row["raised_on"] == w.platform.clock.today().isoformat()
        assert row["face_value"]["minor"] > 0 and row["outstanding"]["currency"] == "CNY"
    # no other organisation type reads the list (the table: 403)
    for party in (core, tier1, w.parties["bank"], w.parties["regulator"]):
        refused = w.client.get(f"{API}/disputes", headers=party.admin.auth)
        assert refused.status_code == 403 and " may not " in refused.json()["detail"]
        assert refused.headers["content-type"] == "application/problem+json"


def test_only_the_operators_admin_resolves_and_a_refusal_changes_nothing(world: World) -> None:
    w = world
    core, tier1 = w.parties["core"], w.parties["tier1"]
    if not ok(w.client.get(f"{API}/items/{w.item_id}", headers=core.admin.auth))["disputed"]:
        _dispute(w, "goods short")
    url = f"{API}/items/{w.item_id}/dispute/resolution"
    body = {"outcome": "rejected", "reason": "the receipt advice shows every unit received"}
    before = _events(w)
    assert before[-1].action is DisputeAction.RAISED
    # the debtor, the creditor, a bank, the regulator and the operator's clerk: 403 (table)
    for who in (core.admin, tier1.admin, w.parties["bank"].admin,
                w.parties["regulator"].admin, w.operator.people["clerk"]):  # fmt: skip
        refused = w.client.post(url, json=body, headers=who.auth)
        assert refused.status_code == 403 and " may not " in refused.json()["detail"], who.email
    # bad bodies: 422 (a blank reason, an outcome not named, a field too many)
    admin = w.operator.admin.auth
    for bad in ({"outcome": "rejected", "reason": "   "}, {"outcome": "maybe", "reason": "x"},
                {"reason": "x"}, {**body, "extra": 1}):  # fmt: skip
        refused = w.client.post(url, json=bad, headers=admin)
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
    # an item that does not exist: 404
    missing = w.client.post(f"{API}/items/nope-0/dispute/resolution", json=body, headers=admin)
    assert missing.status_code == 404 and "does not exist" in missing.json()["detail"]
    assert _events(w) == before  # nothing of the refusals recorded
    assert _split(w, tier1.admin) == 409  # still frozen on the chain
    # the operator's admin resolves it: recorded, lifted on the chain, off the list, audited
    done = ok(w.client.post(url, json=body, headers=admin))
    resolution = "rejected: the receipt advice shows every unit received"
    assert done == {"item_id": w.item_id, "disputed": False, "outcome": "rejected",
                    "resolution_hash": text_hash(resolution)}  # fmt: skip
    after = _events(w)
    assert after[: len(before)] == before and len(after) == len(before) + 1
    resolved = after[-1]
    assert resolved.action is DisputeAction.RESOLVED and resolved.actor_id == w.operator.org_id
    assert resolved.text == resolution and resolved.text_hash == text_hash(resolution)
    assert not ok(w.client.get(f"{API}/items/{w.item_id}", headers=tier1.admin.auth))["disputed"]
    assert ok(w.client.get(f"{API}/disputes", headers=admin)) == []
    statuses = _audit(w, "items.resolve_dispute")
    assert statuses[-1] == 200 and {403, 404, 422} <= set(statuses)
    # not disputed any more: a second resolution is refused (409), nothing changes
    again = w.client.post(url, json=body, headers=admin)
    assert again.status_code == 409 and "not disputed" in again.json()["detail"]
    assert again.headers["content-type"] == "application/problem+json"
    assert _events(w) == after
    assert _split(w, tier1.admin) == 201  # the chain lifted the freeze


def test_an_upheld_dispute_is_recorded_as_upheld(world: World) -> None:
    w = world
    _dispute(w, "the price invoiced is above the order's")
    url = f"{API}/items/{w.item_id}/dispute/resolution"
    body = {"outcome": "upheld", "reason": "the invoice exceeds the order by 2%"}
    done = ok(w.client.post(url, json=body, headers=w.operator.admin.auth))
    assert done["outcome"] == "upheld" and done["disputed"] is False
    last = _events(w)[-1]
    assert last.action is DisputeAction.RESOLVED
    assert last.text == "upheld: the invoice exceeds the order by 2%"
    # the debtor and the creditor are told (webhooks and event stream), with the outcome
    for party in ("core", "tier1"):
        told = [
            e
            for e in w.platform.webhooks.events(w.parties[party].org_id, 0, 10_000)
            if e.kind == "item.dispute_resolved" and e.data.get("resolution") == last.text
        ]
        assert [e.subject_id for e in told] == [w.item_id], party
    history = ok(w.client.get(f"{API}/items/{w.item_id}", headers=w.operator.admin.auth))
    assert history["disputed"] is False
