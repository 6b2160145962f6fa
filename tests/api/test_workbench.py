"""The workbench's routes (issue 17, items 2-4) over HTTP on a real chain: my trades, a
trade's evidence chain checked against the chain alone, the bank's review queue valued today
with the proposal waiting, the proposals and the four-eyes limit, the model registry and its
alerts, and the debtor's dispute (recorded, audited, the creditor told; refused otherwise)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fourflow.adapters.chain.node import AnvilNode
from fourflow.bootstrap import Platform
from fourflow.domain.identity import OrgType, Principal, UserRole
from fourflow.domain.parties import Role
from fourflow.risk.valuation import AssetClass
from fourflow.services import credit, identity, onboarding, proofs
from fourflow.services.demo import demo_uscc
from fourflow.services.ports import RiskAlert
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

pytestmark = [pytest.mark.chain, pytest.mark.xdist_group("api-workbench")]


@dataclass
class World:
    client: TestClient
    platform: Platform
    parties: dict[str, Party]
    officer: Person
    approver: Person
    operator: Person
    other_bank: dict[str, str]  # X-API-Key header of a bank with no part in anything
    other_core: dict[str, str]  # ... and of a core enterprise
    trade_id: str
    item_id: str
    tier1_holding: str
    financing_id: str


def _outsider_key(platform: Platform, n: int, role: Role, kind: OrgType) -> dict[str, str]:
    org = onboarding.onboard(
        uow_factory=platform.uow_factory, keystore=platform.keystore,
        name=f"Outsider {kind.value}", uscc=demo_uscc("110000", f"MA1WBENC{n}"),
        roles=[role], accounts=[f"62148800000100{n:05d}"],
    )  # fmt: skip
    admin = Principal(org.id, frozenset({kind}), UserRole.ADMIN, None, "wb", "wb")
    issued = identity.create_api_key(
        platform.identities, admin=admin, role=UserRole.ADMIN, label="wb"
    )
    return {"X-API-Key": issued.secret}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode) -> Iterator[World]:
    """Tier 1 sells to the core enterprise (uploaded by each party), verified and issued;
    300,000.00 passed to tier 2, who asks the bank for 225,000.00: referred (the bank's
    policy refers everything; above the four-eyes limit of 100,000)."""
    with http_world(tmp_path_factory.mktemp("workbench"), anvil.url) as w:
        client, platform, operator, parties = w.client, w.platform, w.operator, w.parties
        officer = invite(client, parties["bank"], "credit_officer")
        approver = invite(client, parties["bank"], "approver")
        other_bank = _outsider_key(platform, 1, Role.BANK, OrgType.BANK)
        other_core = _outsider_key(platform, 2, Role.CORE_ENTERPRISE, OrgType.CORE_ENTERPRISE)
        start = platform.clock.today() - dt.timedelta(days=100)
        trade_id = upload_trade(client, parties, "WB", start, named=True)
        tier1, tier2, bank = parties["tier1"], parties["tier2"], parties["bank"]
        item = verify_and_issue(client, tier1, trade_id, start + dt.timedelta(days=8))
        day = (start + dt.timedelta(days=8)).isoformat()
        holding = item["holdings"][0]["holding_id"]
        moved = ok(client.post(f"{API}/holdings/{holding}/transfers",
                               json={"amount": "300000.00", "to": tier2.org_id},
                               headers=tier1.admin.auth), 201)  # fmt: skip
        ok(client.put(f"{API}/policy", json={"fields": {"refer_pd": 0.0, "max_pd": 1.0}},
                      headers=bank.admin.auth), 202)  # fmt: skip
        ok(client.post(f"{API}/policy/approval", json={"agree": True}, headers=approver.auth))
        fin = ok(
            client.post(f"{API}/financings",
                        json={"holding_id": moved["holding_id"], "bank": bank.org_id,
                              "amount": "225000.00", "as_of": day},
                        headers=tier2.admin.auth),
            201,
        )  # fmt: skip
        assert fin["status"] == "referred", fin
        yield World(
            client, platform, parties, officer, approver, operator, other_bank, other_core,
            trade_id, item["item_id"], holding, fin["financing_id"],
        )  # fmt: skip


def _get(w: World, path: str, headers: dict[str, str], status: int = 200) -> Any:
    return ok(w.client.get(f"{API}{path}", headers=headers), status)


# ----------------------------------------------------------------------------- trades


def test_my_trades_are_paged_with_their_verification_state(world: World) -> None:
    w = world
    tier1, core, tier2 = (w.parties[k] for k in ("tier1", "core", "tier2"))
    mine = _get(w, "/trades", tier1.admin.auth)
    assert mine["total"] == 1 and mine["offset"] == 0 and mine["limit"] == 50
    (row,) = mine["trades"]
    assert row["trade_id"] == w.trade_id and row["role"] == "seller"
    assert row["status"] == "verified" and row["score"] is not None and row["report_hash"]
    assert row["item_id"] == w.item_id and row["seller_id"] == tier1.org_id
    assert row["buyer_id"] == core.org_id and row["buyer_name"] and row["documents"] >= 4
    (bought,) = _get(w, "/trades", core.admin.auth)["trades"]
    assert bought["trade_id"] == w.trade_id and bought["role"] == "buyer"
    # a holder of a part of its item is no party to the trade
    assert _get(w, "/trades", tier2.admin.auth) == {
        "total": 0, "offset": 0, "limit": 50, "trades": []
    }  # fmt: skip
    assert _get(w, "/trades?offset=1&limit=1", tier1.admin.auth)["trades"] == []
    assert _get(w, "/trades?status=failed", tier1.admin.auth)["total"] == 0
    assert _get(w, "/trades?status=verified", tier1.admin.auth)["total"] == 1
    for bad in ("limit=0", "limit=201", "offset=-1"):
        assert w.client.get(f"{API}/trades?{bad}", headers=tier1.admin.auth).status_code == 422
    assert _get(w, "/trades", w.operator.auth)["total"] == 1  # the operator sees every trade
    assert w.client.get(f"{API}/trades", headers=w.parties["bank"].admin.auth).status_code == 403


def test_a_trades_evidence_chain_checks_against_the_chain_alone(world: World) -> None:
    w = world
    found = _get(w, f"/trades/{w.trade_id}/documents", w.parties["core"].admin.auth)
    assert found["trade_id"] == w.trade_id and found["status"] == "verified"
    docs = found["documents"]
    submitters = {d["submitted_by"] for d in docs}
    assert submitters == {w.parties[k].org_id for k in ("core", "logistics", "tier1")}
    kinds = {d["kind"]: d["submitted_by"] for d in docs}
    assert kinds["order"] == w.parties["core"].org_id
    assert kinds["invoice"] == w.parties["tier1"].org_id
    ledger = w.platform.require_contracts()
    for d in docs:
        assert d["submitted_by_name"] and d["fingerprint"].startswith("sha256:")
        assert dt.datetime.fromisoformat(d["submitted_at"]).tzinfo is not None
        anchor = d["anchor"]
        assert anchor["state"] == "anchored", anchor
        assert anchor["tx_hash"] and isinstance(anchor["block_number"], int)
        rebuilt = {
            "format": proofs.PROOF_FORMAT,
            "fingerprint": d["fingerprint"],
            "merkle": anchor["merkle"],
            "anchor": {k: v for k, v in anchor.items() if k not in ("state", "merkle")},
        }
        checked = proofs.check_proof(rebuilt, ledger=ledger)
        assert checked.ok, checked.messages
        # a changed fingerprint does not check
        forged = {**rebuilt, "fingerprint": "sha256:" + "0" * 64}
        assert not proofs.check_proof(forged, ledger=ledger).ok
    # the trade's parties and the operator read it; others: 404; a bank: refused by the table
    assert _get(w, f"/trades/{w.trade_id}/documents", w.operator.auth)["documents"] == docs
    for outsider in (w.parties["tier2"].admin.auth, w.other_core):
        assert (
            w.client.get(f"{API}/trades/{w.trade_id}/documents", headers=outsider).status_code
            == 404
        )
    refused = w.client.get(f"{API}/trades/{w.trade_id}/documents", headers=w.other_bank)
    assert refused.status_code == 403


def test_a_trades_latest_verification_is_read_as_it_was_answered(world: World) -> None:
    """GET .../verification answers what the last POST answered, without verifying again
    (the page of a trade shows it at once; verifying is the button's)."""
    w = world
    tier1 = w.parties["tier1"].admin.auth
    path = f"/trades/{w.trade_id}/verification"
    verified = ok(w.client.post(f"{API}{path}", json={}, headers=tier1))
    read = _get(w, path, tier1)
    assert read == verified and read["status"] == "verified" and read["report_hash"]
    assert read["payment_state"] in ("open", "overdue", "paid") and read["findings"]
    with w.platform.uow_factory() as uow:
        before = uow.trades.get(w.trade_id)
    assert _get(w, path, w.parties["core"].admin.auth) == read  # the buyer
    assert _get(w, path, w.operator.auth) == read
    with w.platform.uow_factory() as uow:
        assert uow.trades.get(w.trade_id) == before  # reading wrote nothing
    for outsider in (w.parties["tier2"].admin.auth, w.other_core):
        assert w.client.get(f"{API}{path}", headers=outsider).status_code == 404
    assert w.client.get(f"{API}{path}", headers=w.other_bank).status_code == 403
    missing = w.client.get(f"{API}/trades/trade-nope/verification", headers=tier1)
    assert missing.status_code == 404


# ----------------------------------------------------------------------------- the bank


def test_financings_carry_the_items_scenario_and_debtor(world: World) -> None:
    """The portfolio's exposure by scenario: ``GET /financings`` (and one financing) gives
    the financed item's scenario (its trade's, as stored) and its debtor."""
    w = world
    core = w.parties["core"]
    with w.platform.uow_factory() as uow:
        trade = uow.trades.get(w.trade_id)
        debtor = uow.organisations.get(core.org_id)
    assert trade is not None and debtor is not None
    for who in (w.parties["bank"].admin.auth, w.parties["tier2"].admin.auth, w.officer.auth):
        (row,) = [r for r in _get(w, "/financings", who) if r["financing_id"] == w.financing_id]
        one = _get(w, f"/financings/{w.financing_id}", who)
        for view in (row, one):
            assert view["scenario"] == trade.scenario.value == "manufacturing"
            assert view["debtor_id"] == core.org_id and view["debtor_name"] == debtor.name
    assert _get(w, "/financings", w.other_bank) == []  # another bank sees none of it


def test_the_review_queue_values_today_and_shows_the_proposal_waiting(world: World) -> None:
    w = world
    bank, tier2 = w.parties["bank"], w.parties["tier2"]
    (row,) = _get(w, "/bank/review-queue", w.officer.auth)
    assert row["financing_id"] == w.financing_id and row["status"] == "referred"
    assert row["borrower_name"] and row["bank_name"] and row["debtor_name"]
    assert row["debtor_id"] == w.parties["core"].org_id and row["scenario"] == "manufacturing"
    assert row["proposal"] is None
    v = row["valuation"]
    assert v["state"] == "valued" and v["pd"] == row["decision"]["pd"]
    with w.platform.uow_factory() as uow:
        policy = credit.get_policy(uow, bank.org_id)
        item = uow.items.get(w.item_id)
    assert item is not None
    lgd = policy.loss_given_bad(AssetClass.VERIFIED_RECEIVABLE)  # issued on the evidence
    assert v["lgd"] == round(lgd, 6) and v["exposure"] == "225000.00"
    assert v["expected_loss"] == f"{round(v['pd'] * lgd * 225000.00, 2):.2f}"
    assert v["discount_rate_bps"] == policy.base_rate_bps + policy.min_spread_bps
    assert v["maturity_date"] == item.maturity_date.isoformat()
    today = w.platform.clock.today()
    assert v["days_to_maturity"] == max(0, (item.maturity_date - today).days)
    # the holding's value today: less than its face (loss and discount), more than nothing
    assert 0 < float(v["value_today"]) < float(v["holding_outstanding"]) == 300000.00
    # the same figures as the risk computation on the review's PD, for the holding's share
    valued, _ = credit.value_item(
        uow_factory=w.platform.uow_factory, item_id=w.item_id, as_of=today,
        cold_start=w.platform.cold_start, bank_id=bank.org_id, pd=v["pd"],
    )  # fmt: skip
    share = 30_000_000 / item.outstanding
    assert v["value_today"] == f"{round(valued.value * share, 2):.2f}"

    # the four-eyes limit is published; above it the officer's decision is a proposal
    assert _get(w, "/bank/four-eyes", w.approver.auth)["limit"] == "100000.00"
    assert _get(w, "/bank/proposals", w.approver.auth) == []
    decision = {"approve": True, "reason": "confirmed buyer, limits fine"}
    ok(w.client.post(f"{API}/financings/{w.financing_id}/decision", json=decision,
                     headers=w.officer.auth), 202)  # fmt: skip
    (waiting,) = _get(w, "/bank/proposals", w.approver.auth)
    assert waiting["kind"] == "financing_decision" and waiting["subject_id"] == w.financing_id
    assert waiting["content"]["approve"] is True
    assert waiting["content"]["reason"] == "confirmed buyer, limits fine"
    assert waiting["proposed_by"] == "credit_officer@bank.example.cn"
    assert waiting["requested"] == "225000.00" and waiting["borrower_name"]
    (row,) = _get(w, "/bank/review-queue", w.approver.auth)
    assert row["proposal"]["proposal_id"] == waiting["proposal_id"]
    assert row["proposal"]["content"] == waiting["content"]
    # another bank sees none of it; a borrower is refused by the table
    assert _get(w, "/bank/review-queue", w.other_bank) == []
    assert _get(w, "/bank/proposals", w.other_bank) == []
    assert w.client.get(f"{API}/bank/review-queue", headers=tier2.admin.auth).status_code == 403
    assert w.client.get(f"{API}/bank/proposals", headers=tier2.admin.auth).status_code == 403
    # the approver agrees: nothing waits, the request is approved and still valued
    ok(w.client.post(f"{API}/financings/{w.financing_id}/decision/approval",
                     json={"agree": True}, headers=w.approver.auth))  # fmt: skip
    assert _get(w, "/bank/proposals", w.approver.auth) == []
    assert _get(w, "/bank/review-queue", w.officer.auth) == []
    approved = [
        r
        for status in ("approved", "active")  # active once the chain applied the pledge
        for r in _get(w, f"/bank/review-queue?status={status}", w.officer.auth)
    ]
    assert [r["financing_id"] for r in approved] == [w.financing_id]
    assert approved[0]["valuation"]["state"] == "valued" and approved[0]["proposal"] is None


def test_the_model_registry_and_its_alerts_by_bank(world: World) -> None:
    w = world
    bank = w.parties["bank"]
    with w.platform.uow_factory() as uow:
        champion = uow.risk_models.champion()
        other_bank_id = next(o.id for o in uow.organisations.list() if o.name == "Outsider bank")
        for n, bank_id in enumerate((bank.org_id, other_bank_id, None)):
            uow.risk_alerts.add(
                RiskAlert(
                    id=f"alert-wb-{n}", kind="drift", severity="warning", metric="psi",
                    value=0.2 + n / 100, threshold=0.1, model_id=champion.id if champion else None,
                    bank_id=bank_id, as_of=w.platform.clock.today(), message=f"drift {n}",
                )
            )  # fmt: skip
        uow.commit()
    assert champion is not None  # the robot's review registered the cold-start champion
    seen = _get(w, "/bank/models", w.officer.auth)
    assert seen["champion"] == champion.id
    first = seen["models"][0]
    assert first["model_id"] == champion.id and first["role"] == "champion"
    assert first["validation"]["auc"] == champion.metrics["auc"]
    assert first["training_rows"] == champion.training_rows and first["reference_size"] > 0
    assert "reference_pd" not in first["validation"]
    mine = {a["alert_id"] for a in seen["alerts"]}
    assert {"alert-wb-0", "alert-wb-2"} <= mine and "alert-wb-1" not in mine
    every = {
        a["alert_id"] for a in _get(w, "/bank/models", w.parties["regulator"].admin.auth)["alerts"]
    }
    assert {"alert-wb-0", "alert-wb-1", "alert-wb-2"} <= every
    refused = w.client.get(f"{API}/bank/models", headers=w.parties["tier1"].admin.auth)
    assert refused.status_code == 403


# ----------------------------------------------------------------------------- the dispute


def test_only_the_debtor_disputes_and_the_creditor_is_told(world: World) -> None:
    w = world
    core, tier1 = w.parties["core"], w.parties["tier1"]
    url = f"{API}/items/{w.item_id}/dispute"
    body = {"reason": "goods short by 20 units on delivery"}
    assert w.client.post(url, json=body, headers=tier1.admin.auth).status_code == 403
    assert w.client.post(url, json=body, headers=w.other_core).status_code == 404
    assert w.client.post(url, json={"reason": ""}, headers=core.admin.auth).status_code == 422
    early = w.client.post(url, json={**body, "as_of": "2000-01-01"}, headers=core.admin.auth)
    assert early.status_code == 422 and "before the item's issue date" in early.json()["detail"]
    with w.platform.uow_factory() as uow:
        assert uow.disputes.for_item(w.item_id) == []  # nothing of the refusals recorded
    done = ok(w.client.post(url, json=body, headers=core.admin.auth))
    assert done["disputed"] is True and done["item_id"] == w.item_id and done["reason_hash"]
    with w.platform.uow_factory() as uow:
        (raised,) = uow.disputes.for_item(w.item_id)
    assert raised.actor_id == core.org_id and raised.text == body["reason"]
    assert ok(w.client.get(f"{API}/items/{w.item_id}", headers=tier1.admin.auth))["disputed"]
    # the creditor is told (its webhooks and event stream carry item.disputed)
    told = [
        e for e in w.platform.webhooks.events(tier1.org_id, 0, 1000) if e.kind == "item.disputed"
    ]
    assert [e.subject_id for e in told] == [w.item_id]
    # recorded in the audit trail
    disputes = [r for r in _audit(w) if r.get("action") == "items.dispute"]
    assert [r["status"] for r in disputes][-1] == 200 and 403 in [r["status"] for r in disputes]
    # disputed: again refused, and the creditor's holding is frozen
    again = w.client.post(url, json=body, headers=core.admin.auth)
    assert again.status_code == 409 and "disputed" in again.json()["detail"]
    frozen = w.client.post(f"{API}/holdings/{w.tier1_holding}/split", json={"amount": "1.00"},
                           headers=tier1.admin.auth)  # fmt: skip
    assert frozen.status_code == 409


def _audit(w: World) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for _ in range(100):  # bounded: pages of 1000
        page = ok(w.client.get(f"{API}/audit-trail?after={len(records)}&limit=1000",
                               headers=w.operator.auth))  # fmt: skip
        records += page
        if len(page) < 1000:
            return records
    raise AssertionError("the audit trail has more than 100,000 records")


def test_only_the_debtor_withdraws_its_dispute_and_the_creditor_is_told(world: World) -> None:
    w = world
    core, tier1 = w.parties["core"], w.parties["tier1"]
    url = f"{API}/items/{w.item_id}/dispute/withdrawal"
    if not ok(w.client.get(f"{API}/items/{w.item_id}", headers=core.admin.auth))["disputed"]:
        ok(w.client.post(f"{API}/items/{w.item_id}/dispute", json={"reason": "short"},
                         headers=core.admin.auth))  # fmt: skip
    with w.platform.uow_factory() as uow:
        before = uow.disputes.for_item(w.item_id)
    assert before[-1].action.value == "raised"
    # refused, nothing changes: the creditor (403), another core enterprise (404), a bank (403)
    assert w.client.post(url, headers=tier1.admin.auth).status_code == 403
    assert w.client.post(url, headers=w.other_core).status_code == 404
    assert w.client.post(url, headers=w.parties["bank"].admin.auth).status_code == 403
    with w.platform.uow_factory() as uow:
        assert uow.disputes.for_item(w.item_id) == before
    done = ok(w.client.post(url, headers=core.admin.auth))
    assert done == {"item_id": w.item_id, "disputed": False, "withdrawn": True}
    with w.platform.uow_factory() as uow:
        after = uow.disputes.for_item(w.item_id)
    assert after[: len(before)] == before and len(after) == len(before) + 1
    assert after[-1].action.value == "withdrawn" and after[-1].actor_id == core.org_id
    assert not ok(w.client.get(f"{API}/items/{w.item_id}", headers=tier1.admin.auth))["disputed"]
    # the creditor is told as of the dispute (webhooks and event stream)
    told = [
        e
        for e in w.platform.webhooks.events(tier1.org_id, 0, 1000)
        if e.kind == "item.dispute_withdrawn"
    ]
    assert [e.subject_id for e in told] == [w.item_id]
    # audited, the refusals too
    statuses = [r["status"] for r in _audit(w) if r.get("action") == "items.withdraw_dispute"]
    assert statuses[-1] == 200 and 403 in statuses and 404 in statuses
    # not disputed any more: a second withdrawal is refused, the creditor's holding moves again
    again = w.client.post(url, headers=core.admin.auth)
    assert again.status_code == 409 and "not disputed" in again.json()["detail"]
    moved = w.client.post(f"{API}/holdings/{w.tier1_holding}/split", json={"amount": "1.00"},
                          headers=tier1.admin.auth)  # fmt: skip
    assert moved.status_code == 201, moved.text


def test_many_items_are_read_at_once_as_each_alone(world: World) -> None:
    """``GET /items?ids=``: the items asked the caller sees, each as ``GET /items/{id}``
    answers it, in the order asked, once; one unknown or not the caller's is left out."""
    w = world
    core, tier1 = w.parties["core"], w.parties["tier1"]
    asked = f"/items?ids={w.item_id},nope-1, {w.item_id}"
    for who in (core.admin.auth, tier1.admin.auth, w.operator.auth):
        one = _get(w, f"/items/{w.item_id}", who)
        assert _get(w, asked, who) == [one]
        assert one["item_id"] == w.item_id
    for outsider in (w.other_core, w.other_bank):
        _get(w, f"/items/{w.item_id}", outsider, 404)
        assert _get(w, asked, outsider) == []
    assert _get(w, "/items?ids=", core.admin.auth) == []
    many = ",".join(f"nope-{k}" for k in range(201))
    refused = _get(w, f"/items?ids={many}", core.admin.auth, 422)
    assert "at most 200" in refused["detail"]
