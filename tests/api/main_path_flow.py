"""The main path over HTTP, step by step (used in-process and against served processes)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.api.world import (
    API,
    KYC,
    Party,
    Person,
    documents_by_issuer,
    invite,
    ok,
    register_and_admit,
    register_local_government,
)


def main_path(client: Any, operator: Person, today: dt.date) -> tuple[dict[str, Party], Person]:
    """The whole main path over HTTP with ``client`` (an in-process TestClient or an httpx
    client of a served API), the operator's admin signed in; asserting every step. Returns the
    parties and the bank's approver."""
    parties = {
        key: register_and_admit(client, operator, key)
        for key in ("core", "tier1", "tier2", "logistics", "bank", "regulator")
    }
    core, tier1, tier2, bank = (parties[k] for k in ("core", "tier1", "tier2", "bank"))
    officer = invite(client, bank, "credit_officer")
    approver = invite(client, bank, "approver")
    me = ok(client.get(f"{API}/me", headers=officer.auth))
    assert me == {"org_id": bank.org_id, "org_types": ["bank"], "role": "credit_officer",
                  "user_id": me["user_id"], "via": "user"}  # fmt: skip

    # Each party uploads its own evidence.
    start = today - dt.timedelta(days=110)
    trade_ids: set[str] = set()
    for key, raw in documents_by_issuer("HTTP-A", start):
        rows = ok(
            client.post(
                f"{API}/documents?source={key}.json", content=raw,
                headers={**parties[key].admin.auth, "Content-Type": "application/json"},
            ),
            201,
        )  # fmt: skip
        assert all(r["status"] == "accepted" for r in rows), rows
        trade_ids |= {r["trade_id"] for r in rows if r["trade_id"]}
    (trade_id,) = trade_ids

    # The seller verifies and issues; the buyer may not issue its supplier's item.
    issue_day = start + dt.timedelta(days=8)
    verified = ok(
        client.post(f"{API}/trades/{trade_id}/verification",
                    json={"as_of": issue_day.isoformat()}, headers=tier1.admin.auth)
    )  # fmt: skip
    assert verified["status"] == "verified", verified
    refused = client.post(f"{API}/items", json={"trade_id": trade_id}, headers=core.admin.auth)
    assert refused.status_code == 403 and refused.headers["content-type"].startswith(
        "application/problem+json"
    )
    item = ok(
        client.post(f"{API}/items", json={"trade_id": trade_id, "as_of": issue_day.isoformat()},
                    headers=tier1.admin.auth),
        201,
    )  # fmt: skip
    item_id = item["item_id"]
    assert item["basis"] == "verified" and item["face_value"]["amount"] == "1000000.00"

    # Only the debtor confirms, with its own signature; tier 2 does not even see the item.
    assert (
        client.post(f"{API}/items/{item_id}/confirmation", headers=tier1.admin.auth).status_code
        == 403
    )
    assert (
        client.post(f"{API}/items/{item_id}/confirmation", headers=tier2.admin.auth).status_code
        == 404
    )
    confirmed = ok(client.post(f"{API}/items/{item_id}/confirmation", headers=core.admin.auth))
    assert confirmed["basis"] == "confirmed"

    # Tier 1 splits and passes 300,000.00 to tier 2.
    holding = confirmed["holdings"][0]["holding_id"]
    split = ok(client.post(f"{API}/holdings/{holding}/split", json={"amount": "100000.00"},
                           headers=tier1.admin.auth), 201)  # fmt: skip
    assert split["parent_id"] == holding
    moved = ok(
        client.post(f"{API}/holdings/{holding}/transfers",
                    json={"amount": "300000.00", "to": tier2.org_id}, headers=tier1.admin.auth),
        201,
    )  # fmt: skip
    tier2_holding = moved["holding_id"]
    assert client.post(f"{API}/holdings/{tier2_holding}/split", json={"amount": "1.00"},
                       headers=tier1.admin.auth).status_code == 404  # fmt: skip

    # The bank's policy refers every request to its people: proposed, then approved (4 eyes).
    proposal = ok(client.put(f"{API}/policy", json={"fields": {"refer_pd": 0.0, "max_pd": 1.0}},
                             headers=bank.admin.auth), 202)  # fmt: skip
    assert proposal["status"] == "awaiting_approval"
    assert client.post(f"{API}/policy/approval", json={"agree": True},
                       headers=bank.admin.auth).status_code == 403  # fmt: skip
    policy = ok(client.post(f"{API}/policy/approval", json={"agree": True}, headers=approver.auth))
    assert policy["refer_pd"] == 0.0

    # Tier 2 asks for 225,000.00: referred; above the limit the officer's decision waits for
    # the approver, who cannot be the officer.
    pledge_day = issue_day + dt.timedelta(days=5)
    fin = ok(
        client.post(f"{API}/financings", json={"holding_id": tier2_holding, "bank": bank.org_id,
                    "amount": "225000.00", "as_of": pledge_day.isoformat()},
                    headers=tier2.admin.auth),
        201,
    )  # fmt: skip
    assert fin["status"] == "referred", fin
    fin_id = fin["financing_id"]
    decision = {
        "approve": True,
        "reason": "core enterprise confirmed; limits fine",
        "as_of": pledge_day.isoformat(),
    }
    waiting = ok(client.post(f"{API}/financings/{fin_id}/decision", json=decision,
                             headers=officer.auth), 202)  # fmt: skip
    assert waiting["status"] == "referred" and waiting["awaiting_approval"]["proposal_id"]
    assert client.post(f"{API}/financings/{fin_id}/decision/approval", json={"agree": True},
                       headers=officer.auth).status_code == 403  # fmt: skip
    assert client.get(f"{API}/financings/{fin_id}", headers=core.admin.auth).status_code == 404
    approved = ok(client.post(f"{API}/financings/{fin_id}/decision/approval",
                              json={"agree": True}, headers=approver.auth))  # fmt: skip
    assert approved["status"] == "approved" and approved["principal"] == "225000.00"
    assert "credit_officer@bank.example.cn" in approved["decision"]["decided_by"]
    assert "approver@bank.example.cn" in approved["decision"]["decided_by"]
    seen = ok(client.get(f"{API}/financings", headers=tier2.admin.auth))
    assert [f["financing_id"] for f in seen] == [fin_id]
    assert ok(client.get(f"{API}/financings", headers=tier1.admin.auth)) == []

    # The debtor's account bank attests the payment at maturity: the bank is paid first.
    maturity = confirmed["maturity_date"]
    paid = ok(
        client.post(f"{API}/items/{item_id}/payments",
                    json={"amount": "1000000.00", "value_date": maturity,
                          "reference": "CAMT-HTTP-A"}, headers=bank.admin.auth),
        201,
    )  # fmt: skip
    kinds = {(p["kind"], p["payee_id"]) for p in paid["parts"]}
    assert ("bank_principal", bank.org_id) in kinds and ("bank_interest", bank.org_id) in kinds
    assert sum(float(p["amount"]) for p in paid["parts"]) == pytest.approx(1_000_000.00)
    settled = ok(client.get(f"{API}/items/{item_id}", headers=tier2.admin.auth))
    assert settled["status"] == "settled"

    # The regulator reads its figures; an enterprise may not.
    figures = ok(client.get(f"{API}/regulator/figures", headers=parties["regulator"].admin.auth))
    manufacturing = figures["manufacturing"]
    assert manufacturing["trades"] == 1 and manufacturing["items_issued"] == 1
    assert manufacturing["settled"] == 1 and manufacturing["financed_amount"] == {
        "CNY": "225000.00"
    }
    assert client.get(f"{API}/regulator/figures", headers=tier1.admin.auth).status_code == 403

    # The district's local government runs a scenario platform: FourFlow's operator creates
    # it, the local government admits the trade's parties and the bank after KYC, and reads
    # its platform's figures (not the regulator's).
    district = register_local_government(client, operator, "district")
    created = ok(client.post(f"{API}/platforms", headers=operator.auth, json={
        "name": "姑苏区供应链金融服务平台", "operator": district.org_id,
        "scenarios": ["manufacturing", "culture_tourism"], "region": "苏州市姑苏区"}), 201)  # fmt: skip
    platform = f"{API}/platforms/{created['id']}"
    for party in (core, tier1, tier2):
        admit = {"org": party.org_id, "checks": KYC, "note": "licence checked on site"}
        ok(client.post(f"{platform}/members", json=admit, headers=district.admin.auth), 201)
    ok(client.post(f"{platform}/banks", json={"bank": bank.org_id},
                   headers=district.admin.auth), 201)  # fmt: skip
    local = ok(client.get(f"{platform}/figures", headers=district.admin.auth))
    assert (local["members"], local["banks"], local["trades"], local["items_issued"]) == (
        3, 1, 1, 1,
    )  # fmt: skip
    assert local["settled"] == 1 and local["overdue"] == 0
    assert local["financed"] == 1 and local["financed_amount"] == {"CNY": "225000.00"}
    assert ok(client.get(f"{platform}/figures", headers=parties["regulator"].admin.auth)) == local
    assert client.get(f"{API}/regulator/figures", headers=district.admin.auth).status_code == 403
    return parties, approver


def confirmed_holding(client: Any, parties: dict[str, Party], run: str, today: dt.date) -> str:
    """Another trade of tier 1 to the core enterprise, uploaded by its parties, verified,
    issued and confirmed over HTTP: tier 1's holding of its item."""
    start = today - dt.timedelta(days=110)
    trade_ids: set[str] = set()
    for key, raw in documents_by_issuer(run, start):
        rows = ok(
            client.post(f"{API}/documents?source={key}.json", content=raw,
                        headers={**parties[key].admin.auth, "Content-Type": "application/json"}),
            201,
        )  # fmt: skip
        trade_ids |= {r["trade_id"] for r in rows if r["trade_id"]}
    (trade_id,) = trade_ids
    tier1, core = parties["tier1"], parties["core"]
    day = (start + dt.timedelta(days=8)).isoformat()
    ok(client.post(f"{API}/trades/{trade_id}/verification", json={"as_of": day},
                   headers=tier1.admin.auth))  # fmt: skip
    item = ok(client.post(f"{API}/items", json={"trade_id": trade_id, "as_of": day},
                          headers=tier1.admin.auth), 201)  # fmt: skip
    confirmed = ok(
        client.post(f"{API}/items/{item['item_id']}/confirmation", headers=core.admin.auth)
    )
    return str(confirmed["holdings"][0]["holding_id"])
