"""Identities and hardening over HTTP, without a chain: registration with a checked USCC,
sign-in with argon2id and TOTP, throttling, token expiry and refresh rotation, invitations,
disabling, problem details, body limits, CORS, security headers, OpenAPI 3.1, log redaction."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from fastapi.testclient import TestClient

from fourflow.bootstrap import Platform, Settings
from fourflow.domain.identity import UserRole
from fourflow.domain.parties import Role
from fourflow.entrypoints.api.app import create_app
from fourflow.entrypoints.api.logging import REDACTED, redact
from fourflow.services import identity, onboarding
from fourflow.services.demo import demo_uscc
from tests.api.world import API, PASSWORD

BASE = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


class MovingClock:
    """A clock the test moves forward."""

    def __init__(self) -> None:
        self.at = BASE

    def now(self) -> dt.datetime:
        return self.at

    def today(self) -> dt.date:
        return self.at.date()


@dataclass
class Home:
    platform: Platform
    clock: MovingClock
    client: TestClient
    bank_id: str
    supplier_id: str

    def code(self, uri: str | None) -> str | None:
        if uri is None:
            return None
        totp = pyotp.parse_uri(uri)
        assert isinstance(totp, pyotp.TOTP)
        return totp.at(self.clock.now())

    def user(self, org_id: str, email: str, role: UserRole = UserRole.ADMIN) -> identity.NewUser:
        return identity.add_user(
            self.platform.identities, org_id=org_id, email=email, name=email.split("@", maxsplit=1)[0],
            role=role, password=PASSWORD,
        )  # fmt: skip

    def sign_in(
        self, email: str, totp: str | None = None, password: str = PASSWORD
    ) -> httpx.Response:
        body = {"email": email, "password": password, "totp": totp}
        # starlette's TestClient derives from httpx2's Client (not installed): Any to mypy
        response: httpx.Response = self.client.post(f"{API}/sessions", json=body)
        return response


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    settings = Settings(
        home=tmp_path / "home",
        database_url=f"sqlite:///{tmp_path / 'store.db'}",
        chain_url="http://127.0.0.1:9",  # never reached: these routes do not touch the chain
        keystore_password="identity-test",
        api_max_body_bytes=64 * 1024,
    )
    return replace(settings, **overrides)  # type: ignore[arg-type]


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Home]:
    """A platform with an operator, a bank and a supplier onboarded (no chain), and the API."""
    clock = MovingClock()
    with Platform(_settings(tmp_path), clock=clock) as platform:
        ids = {}
        for n, (name, role) in enumerate(
            [("Operator", Role.OPERATOR), ("Bank", Role.BANK), ("Supplier", Role.SUPPLIER)]
        ):
            org = onboarding.onboard(
                uow_factory=platform.uow_factory, keystore=platform.keystore, name=name,
                uscc=demo_uscc("310000", f"MA1DEN{n}00"), roles=[role], admit=False,
            )  # fmt: skip
            ids[role] = org.id
        with platform.uow_factory() as uow:
            uow.settings.put(onboarding.OPERATOR_ORG_KEY, ids[Role.OPERATOR])
            uow.commit()
        with TestClient(create_app(platform), raise_server_exceptions=False) as client:
            yield Home(platform, clock, client, ids[Role.BANK], ids[Role.SUPPLIER])


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    assert "Traceback" not in str(body)
    return body


def test_openapi_31_security_headers_and_closed_cors(home: Home) -> None:
    response = home.client.get(
        f"{API}/openapi.json", headers={"Origin": "https://evil.example.com"}
    )
    spec = response.json()
    assert spec["openapi"].startswith("3.1")
    assert f"{API}/items/{{item_id}}/confirmation" in spec["paths"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
    assert "access-control-allow-origin" not in response.headers
    preflight = home.client.options(
        f"{API}/me",
        headers={"Origin": "https://evil.example.com", "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    assert home.client.get("/docs").status_code == 404  # no docs UI served


def test_cors_allows_only_the_configured_origin(tmp_path: Path) -> None:
    settings = _settings(tmp_path, api_cors_origins=("https://erp.example.cn",))
    with Platform(settings) as platform, TestClient(create_app(platform)) as client:
        ok = client.options(
            f"{API}/me",
            headers={"Origin": "https://erp.example.cn", "Access-Control-Request-Method": "GET"},
        )
        assert ok.headers["access-control-allow-origin"] == "https://erp.example.cn"
        other = client.options(
            f"{API}/me",
            headers={"Origin": "https://evil.example.com", "Access-Control-Request-Method": "GET"},
        )
        assert "access-control-allow-origin" not in other.headers


def test_errors_are_problem_details_without_internals(home: Home) -> None:
    body = _problem(home.client.get(f"{API}/me"), 401)
    assert "Bearer" in str(body["detail"])
    _problem(home.client.get(f"{API}/me", headers={"Authorization": "Bearer ffa_nope"}), 401)
    _problem(home.client.get(f"{API}/no/such/route"), 404)
    invalid = _problem(home.client.post(f"{API}/sessions", json={"email": "x"}), 422)
    assert any(e["location"] == "body.password" for e in invalid["errors"])
    unknown_field = _problem(
        home.client.post(f"{API}/sessions", json={"email": "a@b.cn", "password": "x", "admin": 1}),
        422,
    )
    assert "admin" in str(unknown_field["detail"])

    app = create_app(home.platform)

    def boom() -> None:
        raise RuntimeError("database password is hunter2")

    app.add_api_route("/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as client:
        crashed = _problem(client.get("/boom"), 500)
    assert "hunter2" not in str(crashed) and "error id" in str(crashed["detail"])


def test_bodies_over_the_limit_are_refused(home: Home) -> None:
    big = b"x" * (64 * 1024 + 1)
    _problem(home.client.post(f"{API}/registrations", content=big), 413)

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for _ in range(20):
            yield b"y" * 8192

    _problem(home.client.post(f"{API}/registrations", content=chunks()), 413)


def test_registration_checks_the_uscc_and_waits_for_admission(home: Home) -> None:
    body = {
        "name": "苏州新创电子有限公司", "uscc": "91320500MA1FF00012", "org_type": "enterprise",
        "licence": {"address": "苏州工业园区 8 号", "legal_representative": "李四"},
        "accounts": ["6222020001000000999"], "admin_email": "Boss@XinChuang.example.cn",
        "admin_name": "Li Si", "admin_password": PASSWORD,
    }  # fmt: skip
    bad = _problem(home.client.post(f"{API}/registrations", json=body), 422)
    assert "91320500MA1FF00012" in str(bad["detail"])
    body["uscc"] = demo_uscc("320500", "MA1XC0001")
    registered = home.client.post(f"{API}/registrations", json=body)
    assert registered.status_code == 201, registered.text
    data = registered.json()
    assert data["application"]["status"] == "pending" and data["totp_uri"] is None
    again = _problem(home.client.post(f"{API}/registrations", json=body), 409)
    assert "waiting for review" in str(again["detail"])
    # not admitted yet: the admin cannot sign in
    _problem(home.sign_in("boss@xinchuang.example.cn"), 401)
    body["org_type"] = "platform_operator"
    _problem(home.client.post(f"{API}/registrations", json=body), 422)


def test_bank_users_need_their_second_factor_enterprise_users_do_not(home: Home) -> None:
    banker = home.user(home.bank_id, "officer@bank.example.cn", UserRole.CREDIT_OFFICER)
    clerk = home.user(home.supplier_id, "clerk@supplier.example.cn", UserRole.CLERK)
    assert banker.totp_uri and clerk.totp_uri is None
    _problem(home.sign_in(banker.user.email), 401)
    _problem(home.sign_in(banker.user.email, totp="000000"), 401)
    assert home.sign_in(banker.user.email, totp=home.code(banker.totp_uri)).status_code == 201
    assert home.sign_in(clerk.user.email).status_code == 201


def test_sign_in_is_throttled_per_account(home: Home) -> None:
    clerk = home.user(home.supplier_id, "clerk@supplier.example.cn", UserRole.CLERK)
    for _ in range(5):
        _problem(home.sign_in(clerk.user.email, password="wrong password!"), 401)
    throttled = home.sign_in(clerk.user.email)  # the right password, too late
    _problem(throttled, 429)
    assert int(throttled.headers["retry-after"]) > 0
    home.clock.at += dt.timedelta(minutes=16)
    assert home.sign_in(clerk.user.email).status_code == 201


def test_access_tokens_expire_and_refresh_tokens_rotate(home: Home) -> None:
    clerk = home.user(home.supplier_id, "clerk@supplier.example.cn", UserRole.CLERK)
    tokens = home.sign_in(clerk.user.email).json()
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert home.client.get(f"{API}/me", headers=auth).json()["role"] == "clerk"
    assert tokens["expires_in"] == 15 * 60
    home.clock.at += dt.timedelta(minutes=16)
    _problem(home.client.get(f"{API}/me", headers=auth), 401)

    renewed = home.client.post(
        f"{API}/sessions/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert renewed.status_code == 201
    fresh = {"Authorization": f"Bearer {renewed.json()['access_token']}"}
    assert home.client.get(f"{API}/me", headers=fresh).status_code == 200
    # the used refresh token presented again: stolen or replayed -> signed out everywhere
    replay = home.client.post(
        f"{API}/sessions/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    _problem(replay, 401)
    _problem(home.client.get(f"{API}/me", headers=fresh), 401)


def test_sign_out_revokes_the_token(home: Home) -> None:
    clerk = home.user(home.supplier_id, "clerk@supplier.example.cn", UserRole.CLERK)
    tokens = home.sign_in(clerk.user.email).json()
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert home.client.delete(f"{API}/sessions/current", headers=auth).status_code == 204
    _problem(home.client.get(f"{API}/me", headers=auth), 401)
    _problem(
        home.client.post(
            f"{API}/sessions/refresh", json={"refresh_token": tokens["refresh_token"]}
        ),
        401,
    )


def test_invitations_are_used_once_and_disabled_users_are_out(home: Home) -> None:
    admin = home.user(home.supplier_id, "admin@supplier.example.cn")
    auth = {"Authorization": f"Bearer {home.sign_in(admin.user.email).json()['access_token']}"}
    sent = home.client.post(
        f"{API}/invitations",
        json={"email": "fm@supplier.example.cn", "name": "FM", "role": "finance_manager"},
        headers=auth,
    ).json()
    accept = {"invitation": sent["invitation"], "password": PASSWORD}
    user = home.client.post(f"{API}/invitations/accept", json=accept)
    assert user.status_code == 201 and user.json()["user"]["role"] == "finance_manager"
    _problem(home.client.post(f"{API}/invitations/accept", json=accept), 401)
    fm = home.sign_in("fm@supplier.example.cn").json()
    fm_auth = {"Authorization": f"Bearer {fm['access_token']}"}
    _problem(home.client.post(f"{API}/invitations", json={"email": "z@z.example.cn", "name": "Z",
                                                          "role": "admin"}, headers=fm_auth), 403)  # fmt: skip
    listed = home.client.get(f"{API}/users", headers=auth).json()
    assert {u["email"] for u in listed} == {"admin@supplier.example.cn", "fm@supplier.example.cn"}
    disabled = home.client.post(f"{API}/users/{user.json()['user']['id']}/disable", headers=auth)
    assert disabled.json()["status"] == "disabled"
    _problem(home.client.get(f"{API}/me", headers=fm_auth), 401)
    _problem(home.sign_in("fm@supplier.example.cn"), 401)


def test_logs_never_carry_secrets_or_addresses() -> None:
    event = {
        "event": "sign in ffa_abcdefghijklmnop and Bearer xyz.abc",
        "password": "hunter2",
        "email": "a@b.cn",
        "headers": {"Authorization": "Bearer ffk_secretsecretsecret", "accept": "json"},
        "path": "/api/v1/me",
    }
    cleaned = redact(None, "info", dict(event))
    assert cleaned["password"] == REDACTED and cleaned["email"] == REDACTED
    assert cleaned["headers"] == {"Authorization": REDACTED, "accept": "json"}
    assert "ffa_" not in cleaned["event"] and "xyz.abc" not in cleaned["event"]
    assert cleaned["path"] == "/api/v1/me"


def test_each_caller_is_rate_limited(tmp_path: Path) -> None:
    settings = _settings(tmp_path, api_rate_per_minute=3)
    with Platform(settings) as platform, TestClient(create_app(platform)) as client:
        for _ in range(3):
            assert client.get(f"{API}/health").status_code == 200
        limited = _problem(client.get(f"{API}/health"), 429)
        assert "3 requests a minute" in str(limited["detail"])


def test_an_unreachable_chain_is_503_not_an_internal_error(home: Home) -> None:
    clerk = home.user(home.supplier_id, "clerk@supplier.example.cn", UserRole.CLERK)
    tokens = home.sign_in(clerk.user.email).json()
    response = home.client.post(
        f"{API}/documents?source=x.json",
        content=b'{"format": "fourflow-native/1", "documents": []}',
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    _problem(response, 503)


def test_the_audit_trail_records_changes_and_proves_tampering(home: Home) -> None:
    operator_id = home.platform.operator_id()
    auditor = home.user(operator_id, "auditor@operator.example.cn", UserRole.AUDITOR)
    clerk = home.user(home.supplier_id, "clerk@supplier.example.cn", UserRole.CLERK)
    home.sign_in(clerk.user.email, password="wrong password!")  # a failed attempt, recorded
    clerk_token = home.sign_in(clerk.user.email).json()["access_token"]
    clerk_auth = {"Authorization": f"Bearer {clerk_token}"}
    assert home.client.get(f"{API}/me", headers=clerk_auth).status_code == 200  # not recorded
    home.client.post(f"{API}/invitations", json={"email": "x@y.example.cn", "name": "X",
                                                 "role": "clerk"}, headers=clerk_auth)  # fmt: skip
    token = home.sign_in(auditor.user.email, totp=home.code(auditor.totp_uri)).json()
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    _problem(home.client.get(f"{API}/audit-trail", headers=clerk_auth), 403)

    trail = home.client.get(f"{API}/audit-trail", headers=auth).json()
    assert [(r["action"], r["status"]) for r in trail] == [
        ("sign_in", 401), ("sign_in", 201), ("users.invite", 403), ("sign_in", 201),
    ]  # fmt: skip
    assert trail[2]["org_id"] == home.supplier_id and trail[2]["actor"] == clerk.user.id
    assert all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(trail))
    assert "clerk@supplier" not in str(trail)  # who by id, never by e-mail
    check = home.client.get(f"{API}/audit-trail/verification", headers=auth).json()
    assert check["ok"] and check["records"] == 4 and check["head"] == trail[-1]["hash"]

    from sqlalchemy import text

    with home.platform.engine.begin() as connection:
        connection.execute(text("UPDATE api_audit SET status = 200 WHERE seq = :s"),
                           {"s": trail[2]["seq"]})  # fmt: skip
    check = home.client.get(f"{API}/audit-trail/verification", headers=auth).json()
    assert not check["ok"]
    assert check["problems"] == [f"record {trail[2]['seq']}: its content does not match its hash"]
    with home.platform.engine.begin() as connection:
        connection.execute(text("DELETE FROM api_audit WHERE seq = :s"), {"s": trail[1]["seq"]})
    check = home.client.get(f"{API}/audit-trail/verification", headers=auth).json()
    assert any("links to" in p for p in check["problems"])
