"""Registration straight to a scenario platform over HTTP (issue 16, Identities): an
enterprise registers naming the platform; that platform's local government reviews it once,
recorded, which makes it a member of FourFlow (its chain admission included) and of the
platform at once; its first user is its admin and invites the others. FourFlow's operator
does not review it a second time; the operator of another platform, the applicant itself, a
clerk and an admitted enterprise cannot admit it and change nothing. Two reviews of one
application at once, through two apps on one store, admit it once (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fourflow.bootstrap import Platform
from fourflow.domain.identifiers import uscc_check_character
from fourflow.entrypoints.api.app import create_app
from fourflow.services import relay
from fourflow.services.commands import AdmitMember
from tests.api.world import (
    API,
    KYC,
    PASSWORD,
    Party,
    Person,
    invite,
    ok,
    operator_admin,
    register_and_admit,
    register_local_government,
    sign_in,
)

pytestmark = [pytest.mark.chain, pytest.mark.xdist_group("api-platform-registration")]


def _uscc(first17: str) -> str:
    return first17 + uscc_check_character(first17)


def _application(uscc: str, key: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": f"苏州{key}文旅有限公司", "uscc": uscc, "org_type": "enterprise",
        "licence": {"address": f"{key} Pingjiang Road", "legal_representative": f"Rep {key}",
                    "licence_number": uscc},
        "accounts": [f"62220200{abs(hash(key)) % 10**11:011d}"],
        "admin_email": f"admin@{key}.example.cn", "admin_name": f"{key} admin",
        "admin_password": PASSWORD, **extra,
    }  # fmt: skip


def _orgs(platform: Platform) -> int:
    with platform.uow_factory() as uow:
        return len(uow.organisations.list())


def _admissions(platform: Platform, org_id: str) -> int:
    with platform.uow_factory() as uow:
        return sum(
            1
            for op in uow.outbox.list()
            if isinstance(op.command, AdmitMember) and op.command.member_org_id == org_id
        )


def _review(client: TestClient, by: Person, platform_id: str, app_id: str, **body: Any) -> Any:
    review = {"admit": True, "checks": KYC, "note": "licence checked at the district office"}
    return client.post(
        f"{API}/platforms/{platform_id}/registrations/{app_id}/review",
        json={**review, **body}, headers=by.auth,
    )  # fmt: skip


def test_an_enterprise_registers_straight_to_a_platform_and_its_operator_admits_it(
    client: TestClient, api_platform: Platform
) -> None:
    c, p = client, api_platform
    operator = operator_admin(c, p)
    district = register_local_government(c, operator, "district")
    county = register_local_government(c, operator, "county")
    ids = {}
    for key, gov in (("district", district), ("county", county)):
        body = {"name": f"{key} platform", "operator": gov.org_id, "scenarios": ["culture_tourism"]}
        ids[key] = ok(c.post(f"{API}/platforms", json=body, headers=operator.auth), 201)["id"]
    a, b = ids["district"], ids["county"]
    clerk = invite(c, district, "clerk")

    # refused applications: a platform that does not exist, a bank (banks take part as banks)
    uscc = _uscc("91320508MA1PLT001")
    body = _application(uscc, "tour1", platform_id=a)
    assert (
        c.post(f"{API}/registrations", json={**body, "platform_id": "plt-nope"}).status_code == 404
    )
    bank = c.post(f"{API}/registrations", json={**body, "org_type": "bank"})
    assert bank.status_code == 422 and "a bank registers with FourFlow" in bank.json()["detail"]
    made = ok(c.post(f"{API}/registrations", json=body), 201)
    app_id = made["application"]["id"]
    assert made["application"]["platform_id"] == a and made["application"]["status"] == "pending"
    before = _orgs(p)

    # FourFlow's operator does not review it a second time: its review is refused, naming
    # the platform's route
    by_fourflow = c.post(
        f"{API}/registrations/{app_id}/review",
        json={"admit": True, "checks": KYC, "note": "x"}, headers=operator.auth,
    )  # fmt: skip
    assert by_fourflow.status_code == 409 and f"/platforms/{a}/registrations" in by_fourflow.text
    # the operator of another platform: neither listed nor admitted (404)
    assert c.get(f"{API}/platforms/{a}/registrations", headers=county.admin.auth).status_code == 404
    assert _review(c, county.admin, a, app_id).status_code == 404
    assert _review(c, county.admin, b, app_id).status_code == 404  # not an application to B
    assert ok(c.get(f"{API}/platforms/{b}/registrations", headers=county.admin.auth)) == []
    # the applicant itself: its admin waits for the review and cannot sign in, so cannot act
    signin = {"email": "admin@tour1.example.cn", "password": PASSWORD}
    assert c.post(f"{API}/sessions", json=signin).status_code == 401
    # a clerk of the platform's operator lists but may not admit; an admitted enterprise
    # (another applicant's admin, signed in) may not admit either
    listed = ok(c.get(f"{API}/platforms/{a}/registrations", headers=clerk.auth))
    assert [x["id"] for x in listed] == [app_id]
    assert _review(c, clerk, a, app_id).status_code == 403
    tier1 = register_and_admit(c, operator, "tier1")
    before += 1
    assert _review(c, tier1.admin, a, app_id).status_code == 403
    # an application to FourFlow itself is not the platform's to review (404), nor listed
    to_fourflow = _application(_uscc("91320508MA1PLT003"), "tour3")
    plain = ok(c.post(f"{API}/registrations", json=to_fourflow), 201)["application"]["id"]
    assert _review(c, district.admin, a, plain).status_code == 404
    assert plain not in {x["id"] for x in ok(c.get(f"{API}/platforms/{a}/registrations",
                                                   headers=district.admin.auth))}  # fmt: skip
    # the KYC checks must pass to admit
    short = _review(c, district.admin, a, app_id, checks={"licence_verified": True})
    assert short.status_code == 422 and "KYC checks pass" in short.text
    assert _orgs(p) == before
    assert ok(c.get(f"{API}/platforms/{a}/registrations?status=pending",
                    headers=district.admin.auth))[0]["id"] == app_id  # fmt: skip

    # a member's node is checked before anything changes: a malformed enode (422), and one
    # for a home without a consortium development network (409)
    bad = _review(c, district.admin, a, app_id, node_enode="enode://not-a-key@127.0.0.1:1")
    assert bad.status_code == 422, bad.text
    enode = "enode://" + "ab" * 64 + "@127.0.0.1:30399"
    no_network = _review(c, district.admin, a, app_id, node_enode=enode)
    assert no_network.status_code == 409 and "no consortium network in" in no_network.text
    assert _orgs(p) == before

    # the district admits it: one review, recorded; a member of FourFlow and of A at once
    admitted = ok(_review(c, district.admin, a, app_id))
    assert admitted["node"] is None
    org_id = admitted["org_id"]
    assert admitted["status"] == "admitted" and org_id and _orgs(p) == before + 1
    assert admitted["kyc"]["checks"] == KYC and admitted["kyc"]["admit"] is True
    relay.relay(uow_factory=p.uow_factory, ledger=p.require_contracts())
    with p.uow_factory() as uow:
        org = uow.organisations.get(org_id)
    assert org is not None and org.uscc == uscc
    assert p.require_contracts().read("member", str(org.chain_address))["active"]
    assert _admissions(p, org_id) == 1
    shown = ok(c.get(f"{API}/platforms/{a}", headers=district.admin.auth))
    (member,) = [m for m in shown["members"] if m["org_id"] == org_id]
    assert member["kyc"]["application_id"] == app_id and member["kyc"]["checks"] == KYC
    assert member["admitted_by"] == "admin@district.gov.example.cn (admin)"
    # reviewed once: again is a conflict, and nothing more is queued
    assert _review(c, district.admin, a, app_id).status_code == 409
    assert _admissions(p, org_id) == 1
    # its first user is its admin: signs in, sees platform A (only), invites the others
    admin = sign_in(c, Person("admin@tour1.example.cn", made["totp_uri"]))
    party = Party("tour1", org_id, {"admin": admin})
    assert {x["id"] for x in ok(c.get(f"{API}/platforms", headers=admin.auth))} == {a}
    finance = invite(c, party, "finance_manager")
    assert ok(c.get(f"{API}/me", headers=finance.auth))["org_id"] == org_id
    # FourFlow's operator sees the application and its review (oversight)
    (seen,) = [x for x in ok(c.get(f"{API}/registrations", headers=operator.auth))
               if x["id"] == app_id]  # fmt: skip
    assert seen["platform_id"] == a and seen["status"] == "admitted"


def test_two_reviews_of_one_application_at_once_admit_it_once(
    client: TestClient, api_platform: Platform
) -> None:
    c, p = client, api_platform
    operator = operator_admin(c, p)
    district = register_local_government(c, operator, "district")
    body = {"name": "district platform", "operator": district.org_id, "scenarios": ["travel"]}
    a = ok(c.post(f"{API}/platforms", json=body, headers=operator.auth), 201)["id"]
    second = invite(c, district, "admin")  # a second admin of the district
    made = ok(c.post(f"{API}/registrations",
                     json=_application(_uscc("91320508MA1PLT002"), "tour2", platform_id=a)), 201)  # fmt: skip
    app_id = made["application"]["id"]
    before = _orgs(p)
    answers: list[int] = []
    gate = threading.Barrier(2, timeout=30)
    # a second platform on the same home and store: its own app and chain guard, as a second
    # API process has (the store-wide lock, not this process's, keeps the reviews apart)
    with (
        Platform(p.settings) as other,
        TestClient(create_app(other), raise_server_exceptions=False) as c2,
    ):

        def review(client: TestClient, by: Person) -> None:
            gate.wait()
            answers.append(_review(client, by, a, app_id).status_code)

        threads = [
            threading.Thread(target=review, args=(c, district.admin)),
            threading.Thread(target=review, args=(c2, second)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    assert sorted(answers) == [200, 409], answers
    assert _orgs(p) == before + 1
    shown = ok(c.get(f"{API}/platforms/{a}", headers=district.admin.auth))
    assert len(shown["members"]) == 1
    (org_id,) = [m["org_id"] for m in shown["members"]]
    assert _admissions(p, org_id) == 1
