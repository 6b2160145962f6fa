"""Parties signing in over HTTP: registration, the operator's admission, invitations, TOTP;
the worlds the API tests share (``http_world``), and a demo trade uploaded, verified and its
item issued (``upload_trade``, ``verify_and_issue``; through the services: ``issued_item``)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pyotp
from fastapi.testclient import TestClient

from fourflow.bootstrap import Platform
from fourflow.domain.debt import DebtItem
from fourflow.domain.identifiers import uscc_check_character
from fourflow.domain.identity import OrgType, Principal, UserRole
from fourflow.domain.parties import Role
from fourflow.entrypoints.api.app import create_app
from fourflow.services import identity, items, onboarding, relay
from fourflow.services.demo import MEMBERS, Member, demo_uscc
from fourflow.services.ports import Clock
from tests.api.conftest import api_settings
from tests.trades import TWO_LINES, tier1_sale, verified_trade

API = "/api/v1"
PASSWORD = "correct horse battery staple"
KYC = {"licence_verified": True, "legal_representative_verified": True, "sanctions_screened": True}
ORG_TYPES = {
    "core": "core_enterprise",
    "tier1": "enterprise",
    "tier2": "enterprise",
    "logistics": "logistics",
    "bank": "bank",
    "regulator": "regulator",
}
MEMBER = {m.key: m for m in MEMBERS}


def code(uri: str | None) -> str | None:
    """The current TOTP code of an enrolment URI."""
    if uri is None:
        return None
    totp = pyotp.parse_uri(uri)
    assert isinstance(totp, pyotp.TOTP)
    return totp.now()


@dataclass
class Person:
    """A signed-in user: its e-mail, TOTP enrolment and bearer headers."""

    email: str
    totp_uri: str | None
    token: str = ""

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Party:
    """An admitted organisation and its people by role."""

    key: str
    org_id: str
    people: dict[str, Person] = field(default_factory=dict)

    @property
    def admin(self) -> Person:
        return self.people["admin"]


def ok(response: Any, status: int = 200) -> Any:
    """The response's JSON, asserting its status (with the problem shown otherwise)."""
    assert response.status_code == status, (response.status_code, response.text)
    return response.json() if response.content else None


def assert_refused(response: Any, status: int, words: str = "") -> None:
    """A refusal: ``status``, as problem details whose detail says ``words``."""
    assert response.status_code == status, (status, response.status_code, response.text)
    assert response.headers["content-type"] == "application/problem+json"
    assert words in response.json()["detail"], response.json()


class HasClient(Protocol):
    @property
    def client(self) -> TestClient: ...


def post_as(w: HasClient, path: str, who: Person | Party | dict[str, str], body: Any = None) -> Any:
    """``POST {API}{path}`` with ``body`` as ``who`` (a person, a party's admin, or headers)."""
    auth = who.admin.auth if isinstance(who, Party) else who if isinstance(who, dict) else who.auth
    return w.client.post(f"{API}{path}", json=body, headers=auth)


def outsider_bank(
    platform: Platform, uscc_tail: str, account: str, roles: Sequence[UserRole], label: str
) -> list[dict[str, str]]:
    """An admitted bank with no part in anything (``uscc_tail``: its USCC's last nine
    characters before the check one): API key headers its admin issued, one for each of
    ``roles``."""
    org = onboarding.onboard(
        uow_factory=platform.uow_factory, keystore=platform.keystore, name="Outsider bank",
        uscc=demo_uscc("110000", uscc_tail), roles=[Role.BANK], accounts=[account],
    )  # fmt: skip
    admin = Principal(org.id, frozenset({OrgType.BANK}), UserRole.ADMIN, None, label, label)
    return [
        {"X-API-Key": identity.create_api_key(
            platform.identities, admin=admin, role=role, label=label
        ).secret}
        for role in roles
    ]  # fmt: skip


def sign_in(client: TestClient, person: Person) -> Person:
    body = {"email": person.email, "password": PASSWORD, "totp": code(person.totp_uri)}
    person.token = ok(client.post(f"{API}/sessions", json=body), 201)["access_token"]
    return person


def operator_admin(client: TestClient, platform: Platform) -> Person:
    """The operator's first admin (created as `fourflow user add --org operator` does), signed
    in with its password and TOTP."""
    new = identity.add_user(
        platform.identities, org_id=platform.operator_id(), email="admin@operator.example.cn",
        name="Operator Admin", role=UserRole.ADMIN, password=PASSWORD,
    )  # fmt: skip
    return sign_in(client, Person(new.user.email, new.totp_uri))


def register_and_admit(client: TestClient, operator: Person, key: str) -> Party:
    """``key`` (a demo member) registers over HTTP, the operator admits it after KYC, and its
    admin signs in."""
    m: Member = MEMBER[key]
    email = f"admin@{key}.example.cn"
    body = {
        "name": m.name,
        "uscc": m.uscc,
        "org_type": ORG_TYPES[key],
        "licence": {"address": f"{m.name_en}, {len(key) * 7 + ord(key[0])} Xinghu Street",
                    "legal_representative": f"Legal Rep of {m.name_en}",
                    "licence_number": m.uscc, "registered_capital": "CNY 50,000,000"},
        "accounts": [m.account],
        "admin_email": email,
        "admin_name": f"{key} admin",
        "admin_password": PASSWORD,
    }  # fmt: skip
    registered = ok(client.post(f"{API}/registrations", json=body), 201)
    app_id = registered["application"]["id"]
    review = {"admit": True, "checks": KYC, "note": "licence and legal representative checked"}
    admitted = ok(
        client.post(f"{API}/registrations/{app_id}/review", json=review, headers=operator.auth)
    )
    assert admitted["status"] == "admitted" and admitted["org_id"]
    admin = sign_in(client, Person(email, registered["totp_uri"]))
    return Party(key, admitted["org_id"], {"admin": admin})


#: Local governments that run scenario platforms: key -> (name, USCC of a government body).
LOCAL_GOVERNMENTS = {
    "district": ("苏州市姑苏区文化体育和旅游局", "11320508MB1958601"),
    "county": ("苏州市吴中区农业农村局", "11320506MB1958602"),
}


def register_local_government(client: TestClient, operator: Person, key: str) -> Party:
    """A local government (``LOCAL_GOVERNMENTS``) registers over HTTP with its USCC, the
    operator admits it after KYC, and its admin signs in (with TOTP)."""
    name, first17 = LOCAL_GOVERNMENTS[key]
    uscc = first17 + uscc_check_character(first17)
    body = {
        "name": name, "uscc": uscc, "org_type": "local_government",
        "licence": {"address": f"{key} government building", "legal_representative": "Director",
                    "licence_number": uscc},
        "accounts": [], "admin_email": f"admin@{key}.gov.example.cn",
        "admin_name": f"{key} admin", "admin_password": PASSWORD,
    }  # fmt: skip
    registered = ok(client.post(f"{API}/registrations", json=body), 201)
    app_id = registered["application"]["id"]
    review = {"admit": True, "checks": KYC, "note": "government body's registration checked"}
    admitted = ok(
        client.post(f"{API}/registrations/{app_id}/review", json=review, headers=operator.auth)
    )
    admin = sign_in(client, Person(f"admin@{key}.gov.example.cn", registered["totp_uri"]))
    return Party(key, admitted["org_id"], {"admin": admin})


def invite(client: TestClient, party: Party, role: str) -> Person:
    """The party's admin invites a person with ``role``, who accepts and signs in."""
    email = f"{role}@{party.key}.example.cn"
    body = {"email": email, "name": f"{party.key} {role}", "role": role}
    sent = ok(client.post(f"{API}/invitations", json=body, headers=party.admin.auth), 201)
    accepted = ok(
        client.post(
            f"{API}/invitations/accept",
            json={"invitation": sent["invitation"], "password": PASSWORD},
        ),
        201,
    )
    person = sign_in(client, Person(email, accepted["totp_uri"]))
    party.people[role] = person
    return person


def documents_by_issuer(run: str, start: dt.date) -> list[tuple[str, bytes]]:
    """One trade, tier 1 selling to the core enterprise, as (submitter key, bundle): the buyer
    its order and receipt advice, the carrier its waybill, the seller the rest."""
    bundle = json.loads(tier1_sale(run, start, TWO_LINES))
    issuer = {"order": "core", "receipt_advice": "core", "transport_event": "logistics"}
    parts: dict[str, list[Any]] = {}
    for doc in bundle["documents"]:
        parts.setdefault(issuer.get(doc["kind"], "tier1"), []).append(doc)
    order = ["core", "logistics", "tier1"]  # the seller's invoice last: it completes the trade
    return [
        (k, json.dumps({**bundle, "documents": parts[k]}, ensure_ascii=False).encode())
        for k in order
    ]


#: The demo members ``http_world`` registers and admits.
SIX_MEMBERS = ("core", "tier1", "tier2", "logistics", "bank", "regulator")


@dataclass
class HttpWorld:
    """A platform and its API over HTTP, with the operator's admin and the six members."""

    platform: Platform
    client: TestClient
    operator: Person
    parties: dict[str, Party]
    home: Path
    database_url: str


@contextmanager
def http_world(
    folder: Path, chain_url: str, clock: Clock | None = None, database_url: str | None = None
) -> Iterator[HttpWorld]:
    """A platform on a fresh SQLite home in ``folder`` on the chain at ``chain_url``,
    initialised; its API through an in-process client (server errors answered, not raised);
    the operator's admin signed in; and ``SIX_MEMBERS`` registered over HTTP, admitted after
    KYC and their admins signed in (``clock``: the platform's, default the system's;
    ``database_url``: the store, default SQLite in ``folder``). Closed at the end."""
    home = folder / "home"
    database_url = database_url or f"sqlite:///{folder / 'store.db'}"
    with Platform(api_settings(home, database_url, chain_url), clock) as platform:
        platform.initialise()
        with TestClient(create_app(platform), raise_server_exceptions=False) as client:
            operator = operator_admin(client, platform)
            parties = {k: register_and_admit(client, operator, k) for k in SIX_MEMBERS}
            yield HttpWorld(platform, client, operator, parties, home, database_url)


def upload_trade(
    client: TestClient, parties: dict[str, Party], run: str, start: dt.date, *, named: bool = False
) -> str:
    """``documents_by_issuer(run, start)`` uploaded by each issuer's admin (POST /documents,
    with ``?source=<issuer>.json`` when ``named``); the one trade they make."""
    trade_ids: set[str] = set()
    for key, raw in documents_by_issuer(run, start):
        query = f"?source={key}.json" if named else ""
        rows = ok(
            client.post(f"{API}/documents{query}", content=raw, headers=parties[key].admin.auth),
            201,
        )
        trade_ids |= {r["trade_id"] for r in rows if r["trade_id"]}
    (trade_id,) = trade_ids
    return trade_id


def verify_and_issue(client: TestClient, seller: Party, trade_id: str, day: dt.date) -> Any:
    """The seller's admin verifies the trade as of ``day`` and issues its debt item; the item."""
    ok(client.post(f"{API}/trades/{trade_id}/verification", json={"as_of": day.isoformat()},
                   headers=seller.admin.auth))  # fmt: skip
    return ok(client.post(f"{API}/items", json={"trade_id": trade_id, "as_of": day.isoformat()},
                          headers=seller.admin.auth), 201)  # fmt: skip


def issued_item(p: Platform, org: dict[str, str], run: str, start: dt.date) -> DebtItem:
    """The trade of ``documents_by_issuer(run, start)`` ingested by each issuer (``org`` maps
    a member's key to its organisation id; through the services, not HTTP), anchored, linked,
    verified on its eighth day and its debt item issued then on the evidence; the chain
    operations relayed, none failing. The item."""
    submitted = [(org[key], raw, f"{key}.json") for key, raw in documents_by_issuer(run, start)]
    trade_id, day = verified_trade(p, submitted, f"INV-{run}", start)
    item = items.issue_item(
        uow_factory=p.uow_factory, ledger=p.require_contracts(), clock=p.clock,
        trade_id=trade_id, as_of=day, confirm=False,
    )  # fmt: skip
    done = relay.relay(uow_factory=p.uow_factory, ledger=p.require_contracts())
    assert not done.failed, done.failed
    return item
