"""The authorisation table is the API's only answer to "who may call what".

Every route of the app has an entry (a route without one fails here), and every route is
walked for every organisation type × user role, on objects of the caller's own organisation
and of another one: refused by the table -> 403; allowed on another organisation's object ->
404 (as if it did not exist); allowed on its own -> neither (the service then decides).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Route

from fourflow.adapters.chain.node import AnvilNode
from fourflow.bootstrap import Platform
from fourflow.domain.identity import OrgType, Principal, UserRole, org_types
from fourflow.domain.parties import Role
from fourflow.entrypoints.api import policy
from fourflow.entrypoints.api.app import create_app
from fourflow.services import identity, onboarding, receipts, relay
from fourflow.services.demo import demo_uscc
from tests.api.world import (
    API,
    KYC,
    PASSWORD,
    http_world,
    invite,
    ok,
    register_local_government,
    upload_trade,
    verify_and_issue,
)

pytestmark = [pytest.mark.chain, pytest.mark.xdist_group("api-authorisation")]

OUTSIDERS = {
    OrgType.ENTERPRISE: Role.SUPPLIER,
    OrgType.CORE_ENTERPRISE: Role.CORE_ENTERPRISE,
    OrgType.BANK: Role.BANK,
    OrgType.LOGISTICS: Role.LOGISTICS,
    OrgType.WAREHOUSE: Role.WAREHOUSE,
    OrgType.LOCAL_GOVERNMENT: Role.LOCAL_GOVERNMENT,
}
#: Whose object each object kind is, by the caller's organisation type (the main path's world).
OWNERS: dict[str, dict[OrgType, str]] = {
    "trade": {OrgType.ENTERPRISE: "tier1", OrgType.CORE_ENTERPRISE: "core"},
    "item": {OrgType.ENTERPRISE: "tier1", OrgType.CORE_ENTERPRISE: "core", OrgType.BANK: "bank"},
    "holding": {OrgType.ENTERPRISE: "tier2"},
    "consent": {OrgType.CORE_ENTERPRISE: "core"},
    "receipt": {OrgType.WAREHOUSE: "warehouse", OrgType.ENTERPRISE: "tier2"},
    "financing": {OrgType.ENTERPRISE: "tier2", OrgType.BANK: "bank"},
    "platform": {
        OrgType.LOCAL_GOVERNMENT: "district",
        OrgType.BANK: "bank",
        OrgType.ENTERPRISE: "tier1",
        OrgType.CORE_ENTERPRISE: "core",
    },
}
ALL_SEEING = {
    "trade": {OrgType.PLATFORM_OPERATOR, OrgType.REGULATOR},  # the regulator: its signals
    "item": {OrgType.PLATFORM_OPERATOR, OrgType.REGULATOR},
    "holding": set(),
    "consent": {OrgType.PLATFORM_OPERATOR, OrgType.REGULATOR},
    "receipt": {OrgType.PLATFORM_OPERATOR, OrgType.REGULATOR},
    "financing": {OrgType.REGULATOR},
    "platform": {OrgType.PLATFORM_OPERATOR, OrgType.REGULATOR},
}
FUTURE = (dt.date.today() + dt.timedelta(days=400)).isoformat()


@dataclass(frozen=True)
class Case:
    """How the walk calls a route: the object its path names, and a valid body."""

    kind: str | None = None
    body: dict[str, Any] | None = None
    raw: bytes | None = None


#: Every non-public route, with a body valid enough to pass validation (so the table and the
#: object rules, not the schema, answer). A new route must be added here.
CASES: dict[tuple[str, str], Case] = {
    ("GET", "/me"): Case(),
    ("DELETE", "/sessions/current"): Case(),
    ("GET", "/users"): Case(),
    ("POST", "/invitations"): Case(
        body={"email": "new@x.example.cn", "name": "N", "role": "clerk"}
    ),
    ("POST", "/users/{user_id}/disable"): Case(),
    ("POST", "/api-keys"): Case(body={"role": "clerk", "label": "erp"}),
    ("GET", "/api-keys"): Case(),
    ("DELETE", "/api-keys/{key_id}"): Case(),
    ("GET", "/registrations"): Case(),
    ("POST", "/registrations/{application_id}/review"): Case(
        body={"admit": False, "checks": {}, "note": "walk"}
    ),
    ("POST", "/documents"): Case(raw=b'{"format": "fourflow-native/1", "documents": []}'),
    ("POST", "/trades/{trade_id}/verification"): Case("trade", {}),
    ("POST", "/items"): Case("trade_body", None),
    ("GET", "/items/{item_id}"): Case("item"),
    ("GET", "/items"): Case(),  # a list: the items asked the caller sees (none asked here)
    ("POST", "/items/{item_id}/confirmation"): Case("item"),
    ("GET", "/items/{item_id}/confirmation/typed-data"): Case("item"),
    ("POST", "/items/{item_id}/confirmation/signature"): Case(
        "item", {"nonce": 0, "deadline": 1, "signature": "0x00"}
    ),
    ("GET", "/custody/operations"): Case(),
    ("GET", "/custody/operations/{op_id}/transaction"): Case(),
    ("POST", "/custody/operations/{op_id}/transaction"): Case(body={"raw_transaction": "0x00"}),
    ("POST", "/holdings/{holding_id}/split"): Case("holding", {"amount": "0.01"}),
    ("POST", "/holdings/{holding_id}/transfers"): Case(
        "holding", {"amount": "0.01", "to": "nobody"}
    ),
    # a proof that does not check (422) and a key the platform keeps already (409): the walk
    # never moves an organisation's key
    ("POST", "/custody/own-key"): Case(
        body={"address": "0x" + "11" * 20, "proof": "0x" + "22" * 65}
    ),
    ("POST", "/custody/platform-key"): Case(),
    ("DELETE", "/custody/own-key"): Case(),  # nothing proposed: 404 where allowed
    # the walk's holding merged with itself (422); its item, moved, cannot be cancelled (409);
    # a dilution finer than a cent (422); a pledge release of a holding no bank has pledged
    # (404 for a bank with no part in it): nothing changes
    ("POST", "/holdings/{holding_id}/merge"): Case("holding", {}),  # body set in _call
    ("POST", "/items/{item_id}/cancellation"): Case("item"),
    ("POST", "/items/{item_id}/dilutions"): Case(
        "item", {"amount": "0.001", "credit_note": "walk"}
    ),
    ("POST", "/holdings/{holding_id}/pledge/release"): Case("holding"),
    # the walk's holding was never foreclosed: refused (409 for its holder)
    ("POST", "/holdings/{holding_id}/buyback"): Case("holding"),
    # the walk's item has its route locked by its confirmation (409 for the debtor); a bank
    # that does not exist (404): nothing changes
    ("POST", "/items/{item_id}/route"): Case("item", {"kind": "tokens"}),
    # a debtor's payment finer than a cent, a mint to no one: refused (422, 404)
    ("POST", "/items/{item_id}/repayments"): Case(
        "item", {"amount": "0.001", "value_date": FUTURE, "reference": "walk", "method": "token"}
    ),
    ("POST", "/tokens"): Case(body={"to": "nope", "amount": "1.00"}),
    # the walk's item is not overdue (409): nothing changes
    ("POST", "/items/{item_id}/default"): Case("item", {}),
    ("GET", "/account"): Case(),
    ("PUT", "/account"): Case(body={"bank": "nope", "account": "6214880000000000"}),
    # an agent that does not exist, a mandate that does not exist (404): nothing changes
    ("POST", "/mandates"): Case(body={"agent": "nope", "kinds": ["order"]}),
    ("GET", "/mandates"): Case(),
    ("POST", "/mandates/{mandate_id}/revocation"): Case(body={"reason": "walk"}),
    # the walk's trade has no open signal of this code (422): nothing recorded
    ("GET", "/trades/{trade_id}/signals"): Case("trade"),
    ("POST", "/trades/{trade_id}/signals/{code}/clearance"): Case(
        "trade", {"reason": "walk", "officer": "walk"}
    ),
    ("GET", "/position"): Case(),
    ("POST", "/financings"): Case("holding_body", None),
    ("GET", "/financings"): Case(),
    ("GET", "/financings/{financing_id}"): Case("financing"),
    ("POST", "/financings/{financing_id}/decision"): Case(
        "financing", {"approve": False, "reason": "walk"}
    ),
    ("POST", "/financings/{financing_id}/decision/approval"): Case("financing", {"agree": False}),
    ("GET", "/policy"): Case(),
    ("PUT", "/policy"): Case(body={"fields": {"refer_pd": 0.5}}),
    ("POST", "/policy/approval"): Case(body={"agree": False}),
    ("POST", "/items/{item_id}/payments"): Case(
        "item", {"amount": "0.01", "value_date": FUTURE, "reference": "walk"}
    ),
    ("GET", "/regulator/figures"): Case(),
    ("GET", "/trades"): Case(),
    ("GET", "/trades/{trade_id}/documents"): Case("trade"),
    ("GET", "/trades/{trade_id}/verification"): Case("trade"),
    # dated before the item's issue: the debtor is refused (422), nothing changes
    ("POST", "/items/{item_id}/dispute"): Case("item", {"reason": "walk", "as_of": "2000-01-01"}),
    # the walk's item is not disputed: the withdrawal is refused (409), nothing changes
    ("POST", "/items/{item_id}/dispute/withdrawal"): Case("item"),
    # the operator's list of disputed items, and its resolution of the walk's item, which is
    # not disputed: refused (409) where allowed, nothing changes
    ("GET", "/disputes"): Case(),
    ("POST", "/items/{item_id}/dispute/resolution"): Case(
        "item", {"outcome": "rejected", "reason": "walk"}
    ),
    ("GET", "/bank/review-queue"): Case(),
    ("GET", "/bank/proposals"): Case(),
    ("GET", "/bank/four-eyes"): Case(),
    ("GET", "/bank/models"): Case(),
    ("GET", "/bank/registrations"): Case(),
    ("POST", "/consents"): Case(
        body={
            "grantee": "nope",
            "kinds": ["trades"],
            "purpose": "credit_review",
            "valid_to": FUTURE,
        }
    ),
    ("GET", "/consents"): Case(),
    ("POST", "/consents/{consent_id}/revocation"): Case("consent", {"reason": "walk"}),
    ("GET", "/consents/{consent_id}/anchor"): Case("consent"),
    ("PUT", "/data/prices"): Case(body={"prices": {"trades": "0.01"}}),
    ("GET", "/data/prices"): Case(),
    ("GET", "/data/{grantor}/payment-history"): Case(),  # ?purpose= missing: 422 where allowed
    ("GET", "/data/{grantor}/trades"): Case(),
    ("GET", "/data/usage"): Case(),
    ("GET", "/data/statement"): Case(),
    ("GET", "/audit-trail"): Case(),
    ("GET", "/audit-trail/verification"): Case(),
    ("POST", "/webhooks"): Case(body={"url": "http://127.0.0.1:9/walk", "kinds": ["item.issued"]}),
    ("GET", "/webhooks"): Case(),
    ("GET", "/webhooks/dead-letters"): Case(),
    ("DELETE", "/webhooks/{webhook_id}"): Case(),
    ("GET", "/events/stream"): Case(),  # ends after the settings' events_stream_seconds
    ("POST", "/platforms"): Case(
        body={"name": "walk", "operator": "nope", "scenarios": ["manufacturing"]}
    ),
    ("GET", "/platforms"): Case(),
    ("GET", "/platforms/{platform_id}"): Case("platform"),
    ("GET", "/platforms/{platform_id}/figures"): Case("platform"),
    ("GET", "/platforms/{platform_id}/trades"): Case("platform"),
    ("GET", "/supervision/figures"): Case(),
    ("GET", "/supervision/alerts"): Case(),
    ("GET", "/supervision/trades"): Case(),  # ?figure= missing: 422 where allowed
    ("GET", "/supervision/trades/{trade_id}/evidence"): Case(),
    ("GET", "/supervision/network"): Case(),
    ("POST", "/platforms/{platform_id}/members"): Case("platform", {}),  # body set in _call
    ("POST", "/platforms/{platform_id}/banks"): Case("platform", {}),  # body set in _call
    ("GET", "/platforms/{platform_id}/registrations"): Case("platform"),
    # the walk's application to the platform (rejected by the first allowed caller: 409 after)
    ("POST", "/platforms/{platform_id}/registrations/{application_id}/review"): Case(
        "platform", {"admit": False, "checks": {}, "note": "walk"}
    ),
    # warehouse receipts: an issue to no one (404); the walk's receipt (the warehouse's, held
    # by tier 2) pledged or sold for an amount finer than a cent, goods asked for or released
    # in no units (422), a sale that does not exist paid (409): nothing changes
    ("POST", "/receipts"): Case(
        body={
            "holder": "nope",
            "goods_code": "G",
            "description": "walk",
            "quantity": 1,
            "unit": "EA",
            "location": "L",
            "evidence": "walk",
        }
    ),
    ("GET", "/receipts/{receipt_id}"): Case("receipt"),
    ("POST", "/receipts/{receipt_id}/pledge"): Case("receipt", {"bank": "nope", "amount": "0.001"}),
    ("POST", "/receipts/{receipt_id}/pledge/release"): Case("receipt"),
    ("POST", "/receipts/{receipt_id}/release-requests"): Case("receipt", {"quantity": 0}),
    ("POST", "/receipts/{receipt_id}/releases"): Case(
        "receipt", {"quantity": 0, "evidence": "walk"}
    ),
    ("POST", "/receipts/{receipt_id}/sales"): Case(
        "receipt", {"buyer": "nope", "quantity": 1, "price": "0.001"}
    ),
    ("POST", "/receipts/{receipt_id}/payments"): Case(
        "receipt", {"sale_id": "nope", "amount": "0.01"}
    ),
    ("POST", "/platforms/{platform_id}/products"): Case(
        "platform",
        {"name": "walk", "scenario": "manufacturing", "max_amount": "1.00", "max_term_days": 30},
    ),
    # a route change: the debtor's account route without its account and bank (422; 409 when
    # the route cannot change); nothing is pending to approve, sign or refuse (409); the
    # platform holds every walk party's key (typed data and signatures: 409)
    ("GET", "/items/{item_id}/route/changes"): Case("item"),
    ("POST", "/items/{item_id}/route/changes"): Case("item", {"kind": "account"}),
    ("POST", "/items/{item_id}/route/changes/approval"): Case("item"),
    ("GET", "/items/{item_id}/route/changes/typed-data"): Case("item"),
    ("POST", "/items/{item_id}/route/changes/signature"): Case("item", {"signature": "0x00"}),
    ("POST", "/items/{item_id}/route/changes/refusal"): Case("item", {"reason": "walk"}),
    # a statement line finer than a cent (422); a check of a document nobody uploaded (404)
    ("POST", "/items/{item_id}/statement-lines"): Case(
        "item",
        {"payee_account": "1", "amount": "0.001", "value_date": "2026-01-01", "reference": "w"},
    ),
    ("POST", "/bank/statement-checks"): Case(body={"document_ids": ["nope-0"]}),
    ("GET", "/bank/statement-notices"): Case(),
    # the council: the walk's chain is in its founding phase (409), an unknown organisation
    # (404), a proposal id that is not one (422): nothing is sent
    ("GET", "/governance"): Case(),
    ("GET", "/governance/proposals/{proposal_id}"): Case(),
    ("POST", "/governance/proposals"): Case(body={"action": "admit", "org": "nope"}),
    ("POST", "/governance/proposals/{proposal_id}/votes"): Case(),
    ("POST", "/governance/proposals/{proposal_id}/execution"): Case(),
    ("GET", "/governance/proposals/{proposal_id}/votes/transaction"): Case(),
    ("POST", "/governance/proposals/{proposal_id}/votes/transaction"): Case(
        body={"raw_transaction": "0x00"}
    ),
}


def _declared(app_routes: list[Any]) -> set[tuple[str, str]]:
    found = set()
    for r in app_routes:
        if isinstance(r, APIRoute | Route):
            for method in (r.methods or set()) - {"HEAD", "OPTIONS"}:
                found.add((method, r.path))
    return found


def test_every_route_has_an_entry_in_the_table(world: World) -> None:
    app = create_app(world.platform)
    declared = _declared(app.routes)
    assert declared, "the app has no routes"
    missing = sorted(declared - set(policy.ROUTES))
    assert not missing, f"routes without an authorisation entry: {missing}"
    for key in declared:
        action = policy.ROUTES[key]
        assert action in policy.PUBLIC or action in policy.TABLE, (key, action)
    walked = {(m, API + p) for m, p in CASES}
    not_walked = sorted(
        k for k in declared if policy.ROUTES[k] not in policy.PUBLIC and k not in walked
    )
    assert not not_walked, f"routes the authorisation walk does not call: {not_walked}"


def test_an_unknown_action_cannot_be_declared() -> None:
    from fastapi import APIRouter

    from fourflow.entrypoints.api.routing import route

    with pytest.raises(KeyError, match="no entry in the authorisation table"):
        route(APIRouter(), "GET", "/nowhere", "no.such.action")


# ----------------------------------------------------------------------------- the walk


@dataclass
class World:
    client: TestClient
    platform: Platform
    orgs: dict[str, str]  # key -> org id
    objects: dict[str, str]  # kind -> id
    keys: dict[tuple[str, UserRole], str]

    def key(self, org_key: str, role: UserRole) -> str:
        if (org_key, role) not in self.keys:
            org_id = self.orgs[org_key]
            with self.platform.uow_factory() as uow:
                org = uow.organisations.get(org_id)
            assert org is not None
            admin = Principal(org_id, org_types(org.roles), UserRole.ADMIN, None, "walk", "walk")
            issued = identity.create_api_key(
                self.platform.identities, admin=admin, role=role, label=f"walk {role}"
            )
            self.keys[(org_key, role)] = issued.secret
        return self.keys[(org_key, role)]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode) -> Iterator[World]:
    """The main path's world up to a referred financing (SQLite), and an outsider
    organisation of every type that has no part in it."""
    with http_world(tmp_path_factory.mktemp("authz"), anvil.url) as w:
        client, platform, operator, parties = w.client, w.platform, w.operator, w.parties
        invite(client, parties["bank"], "credit_officer")
        orgs = {k: p.org_id for k, p in parties.items()}
        orgs["operator"] = platform.operator_id()
        for n, (kind, role) in enumerate(OUTSIDERS.items()):
            org = onboarding.onboard(
                uow_factory=platform.uow_factory, keystore=platform.keystore,
                name=f"Outsider {kind.value}", uscc=demo_uscc("110000", f"MA1WALK0{n}"),
                roles=[role], accounts=[f"62148800000000{n:05d}"],
            )  # fmt: skip
            orgs[f"outsider:{kind.value}"] = org.id
        orgs["warehouse"] = onboarding.onboard(
            uow_factory=platform.uow_factory, keystore=platform.keystore, name="Walk warehouse",
            uscc=demo_uscc("110000", "MA1WALKWH"), roles=[Role.WAREHOUSE], accounts=[],
        ).id  # fmt: skip
        relay.relay(uow_factory=platform.uow_factory, ledger=platform.require_contracts())
        objects = _main_path_objects(client, platform, parties)
        objects["receipt"] = receipts.issue_receipt(
            uow_factory=platform.uow_factory, warehouse_id=orgs["warehouse"],
            holder_id=orgs["tier2"], goods_code="WALK", description="walk", quantity=10,
            unit="EA", location="L", evidence="walk",
        )  # fmt: skip
        relay.relay(uow_factory=platform.uow_factory, ledger=platform.require_contracts())
        district = register_local_government(client, operator, "district")
        orgs["district"] = district.org_id
        objects["platform"] = _scenario_platform(client, operator, district, orgs)
        objects["application"] = _platform_application(client, objects["platform"])
        yield World(client, platform, orgs, objects, {})


def _main_path_objects(
    client: TestClient, platform: Platform, parties: dict[str, Any]
) -> dict[str, str]:
    today = platform.clock.today()
    start = today - dt.timedelta(days=110)
    trade_id = upload_trade(client, parties, "WALK", start)
    tier1, tier2, bank = parties["tier1"], parties["tier2"], parties["bank"]
    item = verify_and_issue(client, tier1, trade_id, start + dt.timedelta(days=8))
    day = (start + dt.timedelta(days=8)).isoformat()
    holding = item["holdings"][0]["holding_id"]
    moved = ok(
        client.post(
            f"{API}/holdings/{holding}/transfers",
            json={"amount": "300000.00", "to": tier2.org_id},
            headers=tier1.admin.auth,
        ),
        201,
    )
    ok(
        client.put(
            f"{API}/policy",
            json={"fields": {"refer_pd": 0.0, "max_pd": 1.0}},
            headers=bank.admin.auth,
        ),
        202,
    )
    approver = invite(client, bank, "approver")
    ok(client.post(f"{API}/policy/approval", json={"agree": True}, headers=approver.auth))
    fin = ok(
        client.post(
            f"{API}/financings",
            json={
                "holding_id": moved["holding_id"],
                "bank": bank.org_id,
                "amount": "225000.00",
                "as_of": day,
            },
            headers=tier2.admin.auth,
        ),
        201,
    )
    assert fin["status"] == "referred"
    until = (today + dt.timedelta(days=30)).isoformat()
    consent = ok(
        client.post(
            f"{API}/consents",
            json={"grantee": bank.org_id, "kinds": ["trades"], "purpose": "credit_review",
                  "valid_to": until},
            headers=parties["core"].admin.auth,
        ),
        201,
    )  # fmt: skip
    return {
        "consent": consent["consent_id"],
        "trade": trade_id,
        "item": item["item_id"],
        "holding": moved["holding_id"],
        "financing": fin["financing_id"],
    }


def _scenario_platform(
    client: TestClient, operator: Any, district: Any, orgs: dict[str, str]
) -> str:
    """A scenario platform run by the district: core and tier 1 its members, the bank in it."""
    body = {"name": "walk platform", "operator": district.org_id, "scenarios": ["manufacturing"]}
    made = ok(client.post(f"{API}/platforms", json=body, headers=operator.auth), 201)
    for key in ("core", "tier1"):
        admit = {"org": orgs[key], "checks": KYC, "note": "walk"}
        ok(client.post(f"{API}/platforms/{made['id']}/members", json=admit,
                       headers=district.admin.auth), 201)  # fmt: skip
    ok(client.post(f"{API}/platforms/{made['id']}/banks", json={"bank": orgs["bank"]},
                   headers=district.admin.auth), 201)  # fmt: skip
    return str(made["id"])


def _platform_application(client: TestClient, platform_id: str) -> str:
    """An enterprise's application straight to the walk's platform, waiting for review."""
    body = {
        "name": "Walk applicant", "uscc": demo_uscc("110000", "MA1WALKAP"),
        "org_type": "enterprise", "licence": {"address": "walk"}, "accounts": [],
        "admin_email": "admin@applicant.example.cn", "admin_name": "applicant",
        "admin_password": PASSWORD, "platform_id": platform_id,
    }  # fmt: skip
    return str(ok(client.post(f"{API}/registrations", json=body), 201)["application"]["id"])


def _object_kind(case: Case) -> str | None:
    return {"trade_body": "trade", "holding_body": "holding"}.get(case.kind or "", case.kind)


def _call(
    world: World, method: str, path: str, case: Case, secret: str, object_id: str | None
) -> Any:
    kind = _object_kind(case)
    url = API + path
    body = case.body
    if "{application_id}" in path and "{platform_id}" in path:
        path = path.replace("{application_id}", world.objects["application"])
    if kind and object_id is not None and "{" in path:
        url = API + path.split("{", maxsplit=1)[0] + object_id + path.split("}", maxsplit=1)[1]
    elif "{" in path:
        url = API + path.split("{", maxsplit=1)[0] + "nope-0" + path.split("}")[1]
    if case.kind == "trade_body":
        body = {"trade_id": object_id}
    if path.endswith("/members"):  # already a member: 409 where allowed, nothing changes
        body = {"org": world.orgs["tier1"], "checks": KYC, "note": "walk"}
    if path.endswith("/banks"):  # already in: 409 where allowed
        body = {"bank": world.orgs["bank"]}
    if path.endswith("/merge"):
        body = {"other_holding_id": object_id or "nope-0"}
    if path.endswith("/transfers"):
        body = {"amount": "0.01", "to": world.orgs["tier1"]}
    if case.kind == "holding_body":
        body = {"holding_id": object_id, "bank": world.orgs["bank"], "amount": "0.01"}
    headers = {"X-API-Key": secret}
    if case.raw is not None:
        return world.client.request(method, url, content=case.raw, headers=headers)
    return world.client.request(method, url, json=body, headers=headers)


def _table_refusal(response: Any) -> bool:
    return response.status_code == 403 and " may not " in response.json()["detail"]


def _callers(kind: str | None) -> Iterator[tuple[OrgType, str, str]]:
    """(type, org key, whose) for every organisation type: its own organisation where the
    object is its own, and an organisation with no part in the object."""
    for t in OrgType:
        if t is OrgType.PLATFORM_OPERATOR:
            yield t, "operator", "all" if kind and t in ALL_SEEING[kind] else "own"
            continue
        if t is OrgType.REGULATOR:
            yield t, "regulator", "all" if kind and t in ALL_SEEING[kind] else "other"
            continue
        owner = OWNERS.get(kind or "", {}).get(t)
        if owner is not None:
            yield t, owner, "own"
        yield t, f"outsider:{t.value}", "other" if kind else "own"


@pytest.mark.parametrize("route_key", sorted(CASES), ids=lambda k: f"{k[0]} {k[1]}")
def test_the_table_answers_every_route_role_and_owner(
    world: World, route_key: tuple[str, str]
) -> None:
    method, path = route_key
    case = CASES[route_key]
    action = policy.ROUTES[(method, API + path)]
    kind = _object_kind(case)
    object_id = world.objects.get(kind) if kind else None
    for org_type, org_key, whose in _callers(kind):
        for role in UserRole:
            response = _call(world, method, path, case, world.key(org_key, role), object_id)
            where = (org_type.value, org_key, role.value, response.status_code, response.text[:200])
            assert response.status_code != 401, where
            if not policy.allowed(action, frozenset({org_type}), role):
                assert _table_refusal(response), where
            elif kind and whose == "other":
                assert response.status_code == 404, where
            else:
                assert not _table_refusal(response), where
                if kind:
                    assert response.status_code != 404, where
                assert response.status_code < 500, where


def test_secrets_are_stored_hashed_and_revocation_works(world: World) -> None:
    secret = world.key("tier1", UserRole.AUDITOR)
    assert ok(world.client.get(f"{API}/me", headers={"X-API-Key": secret}))["role"] == "auditor"
    from sqlalchemy import text

    with world.platform.engine.connect() as connection:
        stored = [r[0] for r in connection.execute(text("SELECT secret_hash FROM credentials"))]
        hashes = [
            r[0] for r in connection.execute(text("SELECT password_hash FROM platform_users"))
        ]
    assert secret not in stored and all(len(h) == 64 for h in stored)
    assert all(h.startswith("$argon2id$") for h in hashes) and PASSWORD not in hashes
    admin = world.key("tier1", UserRole.ADMIN)
    keys = ok(world.client.get(f"{API}/api-keys", headers={"X-API-Key": admin}))
    auditor = next(k for k in keys if k["label"] == "walk auditor")
    ok(world.client.delete(f"{API}/api-keys/{auditor['id']}", headers={"X-API-Key": admin}))
    assert world.client.get(f"{API}/me", headers={"X-API-Key": secret}).status_code == 401
    del world.keys[("tier1", UserRole.AUDITOR)]
