"""The rest of an item's life over HTTP on a real chain (issue 16 item 1: the CLI's `item
merge`, `item cancel`, `item dilute` and `item release` have endpoints calling the same
service functions): each allowed for its party, refused for a wrong role (403), another
organisation's object (404) and a state that refuses it (409), and a refusal changes nothing."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fourflow.adapters.chain.node import AnvilNode
from fourflow.bootstrap import Platform
from fourflow.domain.financing import FinancingStatus
from fourflow.domain.identity import UserRole
from fourflow.services import financing, relay
from tests.api.world import (
    API,
    Party,
    Person,
    assert_refused,
    documents_by_issuer,
    http_world,
    invite,
    ok,
    outsider_bank,
    post_as,
    upload_trade,
    verify_and_issue,
)

pytestmark = [pytest.mark.chain, pytest.mark.xdist_group("api-item-routes")]


@dataclass
class World:
    client: TestClient
    platform: Platform
    parties: dict[str, Party]
    clerk: Person  # tier 1's clerk (no right to move or cancel)
    officer: Person  # the bank's credit officer
    approver: Person  # the bank's approver (no right to release)
    start: dt.date
    operator: Person  # the platform operator's admin


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode) -> Iterator[World]:
    """The six members over HTTP; the bank's robot approves alone (refer_pd 0.99)."""
    with http_world(tmp_path_factory.mktemp("item-routes"), anvil.url) as w:
        parties = w.parties
        clerk = invite(w.client, parties["tier1"], "clerk")
        officer = invite(w.client, parties["bank"], "credit_officer")
        approver = invite(w.client, parties["bank"], "approver")
        financing.set_product_policy(
            uow_factory=w.platform.uow_factory, bank=parties["bank"].org_id,
            fields={"refer_pd": 0.99, "max_pd": 1.0},
        )  # fmt: skip
        start = w.platform.clock.today() - dt.timedelta(days=100)
        yield World(w.client, w.platform, parties, clerk, officer, approver, start, w.operator)


def _issued(w: World, run: str, start: dt.date | None = None) -> dict[str, Any]:
    """A new trade of tier 1 selling to the core enterprise from ``start`` (default the
    world's), verified on its eighth day and its item issued then."""
    day0 = start or w.start
    trade_id = upload_trade(w.client, w.parties, run, day0)
    return dict(verify_and_issue(w.client, w.parties["tier1"], trade_id, day0 + dt.timedelta(8)))


def _snapshot(w: World, item_id: str) -> tuple[Any, ...]:
    with w.platform.uow_factory() as uow:
        return (
            uow.items.get(item_id),
            sorted(uow.items.holdings(item_id), key=lambda h: h.id),
            list(uow.dilutions.for_item(item_id)),
            list(uow.cancel_approvals.for_item(item_id)),
        )


def test_the_holder_merges_its_holdings(world: World) -> None:
    w = world
    tier1, core, tier2 = w.parties["tier1"], w.parties["core"], w.parties["tier2"]
    item = _issued(w, "IRM")
    parent = item["holdings"][0]["holding_id"]
    child = ok(post_as(w, f"/holdings/{parent}/split", tier1, {"amount": "1000.00"}), 201)
    child_id = child["holding_id"]
    url = f"/holdings/{parent}/merge"
    body = {"other_holding_id": child_id}
    before = _snapshot(w, item["item_id"])
    assert_refused(post_as(w, url, w.clerk, body), 403, " may not holdings.merge")
    assert_refused(post_as(w, url, w.parties["bank"], body), 403, " may not ")
    assert_refused(post_as(w, url, tier2, body), 404, "does not exist")  # not its holding
    assert_refused(post_as(w, url, core, body), 404, "does not exist")
    assert_refused(post_as(w, url, tier1, {"other_holding_id": parent}), 422, "itself")
    # disputed by its debtor: the item is frozen (409)
    ok(post_as(w, f"/items/{item['item_id']}/dispute", core, {"reason": "short delivery"}))
    frozen = _snapshot(w, item["item_id"])
    assert_refused(post_as(w, url, tier1, body), 409, "disputed")
    assert _snapshot(w, item["item_id"]) == frozen
    ok(post_as(w, f"/items/{item['item_id']}/dispute/withdrawal", core))
    assert _snapshot(w, item["item_id"])[1] == before[1]  # the refusals moved nothing
    merged = ok(post_as(w, url, tier1, body))
    assert merged == {"holding_id": parent, "merged": child_id, "amount": "1000000.00",
                      "outstanding": "1000000.00"}  # fmt: skip
    holdings = {h.id: h for h in _snapshot(w, item["item_id"])[1]}
    assert holdings[parent].outstanding == 100_000_000 and holdings[child_id].outstanding == 0
    # merged already: the other holding has nothing left to merge
    assert_refused(post_as(w, url, tier1, body), 422, "nothing outstanding")


def test_creditor_and_debtor_cancel_an_item_together(world: World) -> None:
    w = world
    tier1, core, tier2 = w.parties["tier1"], w.parties["core"], w.parties["tier2"]
    item = _issued(w, "IRC")
    item_id = item["item_id"]
    url = f"/items/{item_id}/cancellation"
    before = _snapshot(w, item_id)
    assert_refused(post_as(w, url, w.clerk), 403, " may not items.cancel")
    assert_refused(post_as(w, url, w.officer), 403, " may not ")
    assert_refused(post_as(w, url, tier2), 404, "does not exist")
    assert _snapshot(w, item_id) == before
    assert ok(post_as(w, url, tier1)) == {"item_id": item_id, "cancelled": False}
    waiting = _snapshot(w, item_id)
    assert_refused(post_as(w, url, tier1), 409, "already approved")
    assert _snapshot(w, item_id) == waiting
    assert ok(post_as(w, url, core)) == {"item_id": item_id, "cancelled": True}
    view = ok(w.client.get(f"{API}/items/{item_id}", headers=tier1.admin.auth))
    assert view["status"] == "cancelled" and view["outstanding"]["minor"] == 0, view
    assert_refused(post_as(w, url, core), 409, "cancelled")
    # an item that moved (split) cannot be cancelled: 409, nothing changes
    moved = _issued(w, "IRC2")
    ok(post_as(w, f"/holdings/{moved['holdings'][0]['holding_id']}/split", tier1,
             {"amount": "10.00"}), 201)  # fmt: skip
    kept = _snapshot(w, moved["item_id"])
    assert_refused(post_as(w, f"/items/{moved['item_id']}/cancellation", tier1), 409, "has moved")
    assert _snapshot(w, moved["item_id"]) == kept


def test_a_credit_note_dilutes_an_item_proposed_and_accepted(world: World) -> None:
    w = world
    tier1, core, tier2 = w.parties["tier1"], w.parties["core"], w.parties["tier2"]
    item = _issued(w, "IRD")
    item_id = item["item_id"]
    url = f"/items/{item_id}/dilutions"
    note = {"amount": "2500.00", "credit_note": "CN-IRD-1"}
    before = _snapshot(w, item_id)
    assert_refused(post_as(w, url, w.clerk, note), 403, " may not items.dilute")
    assert_refused(post_as(w, url, tier2, note), 404, "does not exist")
    assert_refused(post_as(w, url, tier1, {**note, "amount": "0.001"}), 422, "")
    assert_refused(post_as(w, url, tier1, {**note, "amount": "99999999.00"}), 422, "exceeds")
    assert_refused(post_as(w, url, core, note), 404, "was proposed")  # nothing proposed yet
    assert _snapshot(w, item_id) == before
    proposed = ok(post_as(w, url, tier1, note))
    assert proposed["state"] == "proposed" and proposed["amount"] == "2500.00"
    assert proposed["holdings"] == [] and proposed["credit_note_hash"]
    assert_refused(post_as(w, url, tier1, note), 409, "already used")
    waiting = _snapshot(w, item_id)
    assert_refused(post_as(w, url, core, {**note, "amount": "2000.00"}), 422, "differs")
    assert _snapshot(w, item_id) == waiting
    applied = ok(post_as(w, url, core, note))
    holding = item["holdings"][0]["holding_id"]
    assert applied == {
        "item_id": item_id, "state": "applied", "credit_note_hash": proposed["credit_note_hash"],
        "amount": "2500.00", "holdings": [{"holding_id": holding, "reduced_by": "2500.00"}],
    }  # fmt: skip
    (h,) = _snapshot(w, item_id)[1]
    assert h.outstanding == 100_000_000 - 250_000
    assert_refused(post_as(w, url, core, note), 409, "already applied")


def test_the_pledgee_bank_releases_its_pledge(world: World) -> None:
    w = world
    tier1, core, bank = w.parties["tier1"], w.parties["core"], w.parties["bank"]
    item = _issued(w, "IRR", w.platform.clock.today() - dt.timedelta(days=30))  # not yet due
    ok(post_as(w, f"/items/{item['item_id']}/confirmation", core))
    holding = item["holdings"][0]["holding_id"]
    url = f"/holdings/{holding}/pledge/release"
    # nothing pledged yet: the bank has no pledge of it (404)
    assert_refused(post_as(w, url, w.officer), 404, "does not exist")
    asked = {"holding_id": holding, "bank": bank.org_id, "amount": "100000.00"}
    fin = ok(post_as(w, "/financings", tier1, asked), 201)
    assert fin["status"] in ("approved", "active"), fin["decision"]
    done = relay.relay(uow_factory=w.platform.uow_factory, ledger=w.platform.require_contracts())
    assert not done.failed, done.failed
    before = _snapshot(w, item["item_id"])
    assert_refused(post_as(w, url, tier1), 403, " may not pledges.release")
    assert_refused(post_as(w, url, w.approver), 403, " may not pledges.release")
    (other,) = outsider_bank(
        w.platform, "MA1BANKR9", "6214880000099001", [UserRole.CREDIT_OFFICER], "ir"
    )
    assert_refused(w.client.post(f"{API}{url}", headers=other), 404, "does not exist")
    assert _snapshot(w, item["item_id"]) == before
    frozen = post_as(w, f"/holdings/{holding}/split", tier1, {"amount": "1.00"})
    assert frozen.status_code == 409, frozen.text  # pledged and locked
    # the pledge's 中登网 registration record: the pledgee bank's, no other's
    regs = ok(w.client.get(f"{API}/bank/registrations?item_id={item['item_id']}",
                           headers=w.officer.auth))  # fmt: skip
    (reg,) = regs
    assert reg["kind"] == "receivable" and reg["financing_id"] == fin["financing_id"]
    assert reg["holding_id"] == holding and reg["fields"] and isinstance(reg["to_fill"], list)
    assert ok(w.client.get(f"{API}/bank/registrations", headers=other)) == []
    assert_refused(w.client.get(f"{API}/bank/registrations", headers=tier1.admin.auth), 403,
             " may not registrations.read")  # fmt: skip
    released = ok(post_as(w, url, w.officer))
    assert released == {"holding_id": holding, "pledge": "released",
                        "financing_id": fin["financing_id"]}  # fmt: skip
    with w.platform.uow_factory() as uow:
        found = uow.financings.get(fin["financing_id"])
    assert found is not None and found.status is FinancingStatus.REPAID
    # released: the holding moves again; a second release is refused (409)
    assert post_as(w, f"/holdings/{holding}/split", tier1, {"amount": "1.00"}).status_code == 201
    assert_refused(post_as(w, url, w.officer), 409, "not pledged")


def test_the_debtor_locks_the_repayment_route_once(world: World) -> None:
    w = world
    tier1, core, tier2 = w.parties["tier1"], w.parties["core"], w.parties["tier2"]
    item = _issued(w, "IRL")
    item_id = item["item_id"]
    url = f"/items/{item_id}/route"

    def routes() -> list[Any]:
        with w.platform.uow_factory() as uow:
            return list(uow.settlement.routes(item_id))

    assert routes() == []
    assert_refused(post_as(w, url, w.clerk, {"kind": "tokens"}), 403, " may not items.route_lock")
    assert_refused(post_as(w, url, w.officer, {"kind": "tokens"}), 403, " may not ")
    assert_refused(post_as(w, url, tier1, {"kind": "tokens"}), 403, "only the debtor")
    assert_refused(post_as(w, url, tier2, {"kind": "tokens"}), 404, "does not exist")
    assert_refused(post_as(w, url, core, {"kind": "cheque"}), 422, "")
    assert routes() == []
    locked = ok(post_as(w, url, core, {"kind": "tokens"}))
    assert locked["item_id"] == item_id and locked["kind"] == "tokens"
    assert locked["signers"] == [core.org_id] and locked["op_id"]
    (event,) = routes()
    assert event.op_id == locked["op_id"]
    with w.platform.uow_factory() as uow:
        op = uow.outbox.get(locked["op_id"])
    assert op is not None and op.status.value == "done", op  # applied on the chain
    assert_refused(post_as(w, url, core, {"kind": "tokens"}), 409, "locked already")
    assert routes() == [event]


def test_a_member_registers_its_own_settlement_account(world: World) -> None:
    w = world
    tier2, bank = w.parties["tier2"], w.parties["bank"]
    before = ok(w.client.get(f"{API}/account", headers=tier2.admin.auth))
    assert before["org_id"] == tier2.org_id and before["registered"] is False
    body = {"bank": bank.org_id, "account": "6214 8800 0001 2345"}
    invite(w.client, tier2, "clerk")
    assert_refused(w.client.put(f"{API}/account", json=body, headers=tier2.people["clerk"].auth),
             403, " may not accounts.set")  # fmt: skip
    assert_refused(w.client.put(f"{API}/account", json=body,
                          headers=w.parties["regulator"].admin.auth), 403, " may not ")  # fmt: skip
    assert_refused(w.client.put(f"{API}/account", json={**body, "bank": "nope"},
                          headers=tier2.admin.auth), 404, "")  # fmt: skip
    assert_refused(w.client.put(f"{API}/account", json={**body, "bank": w.parties["tier1"].org_id},
                          headers=tier2.admin.auth), 422, "is not a bank")  # fmt: skip
    assert ok(w.client.get(f"{API}/account", headers=tier2.admin.auth)) == before
    done = ok(w.client.put(f"{API}/account", json=body, headers=tier2.admin.auth))
    assert done["registered"] is True and done["account"] == "6214880000012345"
    assert done["bank_id"] == bank.org_id and done["op_id"]
    with w.platform.uow_factory() as uow:
        op = uow.outbox.get(done["op_id"])
    assert op is not None and op.status.value == "done", op  # its own transaction, applied
    assert ok(w.client.get(f"{API}/account", headers=tier2.admin.auth)) == done


def test_a_principal_grants_and_revokes_a_mandate(world: World) -> None:
    w = world
    core, logistics, tier1 = w.parties["core"], w.parties["logistics"], w.parties["tier1"]
    body = {"agent": logistics.org_id, "kinds": ["receipt_advice"], "note": "goods receipt"}

    def stored() -> list[Any]:
        with w.platform.uow_factory() as uow:
            return list(uow.mandates.list())

    before = stored()
    assert_refused(post_as(w, "/mandates", w.clerk, body), 403, " may not mandates.grant")
    assert_refused(post_as(w, "/mandates", w.parties["regulator"], body), 403, " may not ")
    assert_refused(post_as(w, "/mandates", core, {**body, "agent": "nope"}), 404, "")
    assert_refused(post_as(w, "/mandates", core, {**body, "agent": core.org_id}), 422, "itself")
    assert_refused(post_as(w, "/mandates", core, {**body, "kinds": ["letter"]}), 422, "")
    assert_refused(post_as(w, "/mandates", core, {**body, "valid_from": "2026-12-01",
                                          "valid_to": "2026-11-01"}), 422, "before")  # fmt: skip
    assert stored() == before
    granted = ok(post_as(w, "/mandates", core, body), 201)
    assert granted["principal"] == core.org_id and granted["agent"] == logistics.org_id
    assert granted["kinds"] == ["receipt_advice"] and granted["revoked_on"] is None
    assert granted["valid_from"] == w.platform.clock.today().isoformat()
    mandate_id = granted["id"]
    # principal and agent see it; a third party does not; the operator sees every one
    for party in (core, logistics):
        listed = ok(w.client.get(f"{API}/mandates", headers=party.admin.auth))
        assert mandate_id in [m["id"] for m in listed], party.key
    assert ok(w.client.get(f"{API}/mandates", headers=tier1.admin.auth)) == []
    url = f"/mandates/{mandate_id}/revocation"
    revoke = {"reason": "the carrier no longer receives for us"}
    kept = stored()
    assert_refused(post_as(w, url, tier1, revoke), 404, "does not exist")  # no part in it
    assert_refused(post_as(w, url, logistics, revoke), 403, "only its principal")  # the agent
    assert_refused(post_as(w, url, core, {"reason": "  "}), 422, "reason")
    assert stored() == kept
    revoked = ok(post_as(w, url, core, revoke))
    assert revoked["revoked_by"] == core.org_id and revoked["revoke_reason"] == revoke["reason"]
    assert revoked["revoked_on"] == w.platform.clock.today().isoformat()
    assert_refused(post_as(w, url, core, revoke), 409, "was revoked")


def test_the_operator_clears_a_fraud_signal_with_its_reason(world: World) -> None:
    w = world
    tier1 = w.parties["tier1"]
    # the seller submits every document of a trade itself: self-asserted evidence, a signal
    docs = [
        d for _, raw in documents_by_issuer("IRS", w.start) for d in json.loads(raw)["documents"]
    ]
    bundle = {**json.loads(documents_by_issuer("IRS", w.start)[0][1]), "documents": docs}
    rows = ok(w.client.post(f"{API}/documents", content=json.dumps(bundle, ensure_ascii=False)
                            .encode(), headers=tier1.admin.auth), 201)  # fmt: skip
    (trade_id,) = {r["trade_id"] for r in rows if r["trade_id"]}
    ok(post_as(w, f"/trades/{trade_id}/verification", tier1, {}))
    url = f"{API}/trades/{trade_id}/signals"
    found = ok(w.client.get(url, headers=w.operator.auth))
    assert found["trade"] == trade_id and found["cleared"] == []
    codes = [s["code"] for s in found["open"]]
    assert "SELF_ASSERTED_EVIDENCE" in codes, found
    assert ok(w.client.get(url, headers=w.parties["regulator"].admin.auth))["open"] == found["open"]
    assert_refused(w.client.get(url, headers=tier1.admin.auth), 403, " may not signals.read")
    assert_refused(w.client.get(f"{API}/trades/nope-0/signals", headers=w.operator.auth), 404, "")
    clear = f"/trades/{trade_id}/signals/SELF_ASSERTED_EVIDENCE/clearance"
    body = {"reason": "the buyer confirmed the documents by phone", "officer": "Li Wei"}

    def kept() -> list[Any]:
        with w.platform.uow_factory() as uow:
            return list(uow.signal_clearances.for_trades([trade_id]))

    assert_refused(post_as(w, clear, tier1, body), 403, " may not signals.clear")
    assert_refused(post_as(w, clear, w.parties["regulator"], body), 403, " may not ")
    assert_refused(post_as(w, clear, w.operator, {"reason": "  "}), 422, "reason")
    assert_refused(post_as(w, f"/trades/{trade_id}/signals/VOLUME_SPIKE/clearance", w.operator, body),
             422, "no open VOLUME_SPIKE")  # fmt: skip
    assert_refused(post_as(w, "/trades/nope-0/signals/SELF_ASSERTED_EVIDENCE/clearance", w.operator,
                   body), 404, "")  # fmt: skip
    assert kept() == []
    done = ok(post_as(w, clear, w.operator, body))
    assert done["code"] == "SELF_ASSERTED_EVIDENCE" and done["person"] == "Li Wei"
    assert done["reason"] == body["reason"] and done["trade"] == trade_id
    after = ok(w.client.get(url, headers=w.operator.auth))
    assert "SELF_ASSERTED_EVIDENCE" not in [s["code"] for s in after["open"]]
    assert [c["code"] for c in after["cleared"]] == ["SELF_ASSERTED_EVIDENCE"]
    # cleared: no longer open, a second clearance is refused (nothing recorded)
    assert_refused(post_as(w, clear, w.operator, body), 422, "no open SELF_ASSERTED_EVIDENCE")
    assert len(kept()) == 1


def test_a_bank_mints_tokens_and_the_debtor_pays_with_them(world: World) -> None:
    w = world
    tier1, core, tier2, bank = (w.parties[k] for k in ("tier1", "core", "tier2", "bank"))
    ledger = w.platform.require_contracts()
    with w.platform.uow_factory() as uow:
        core_org = uow.organisations.get(core.org_id)
    assert core_org is not None

    def balance() -> int:
        return int(ledger.read("token_balance", core_org.chain_address))

    start = balance()
    mint = {"to": core.org_id, "amount": "1000.00", "reference": "DEP-IRT-1"}
    assert_refused(post_as(w, "/tokens", core, mint), 403, " may not tokens.mint")
    assert_refused(post_as(w, "/tokens", w.officer, mint), 403, " may not tokens.mint")
    assert_refused(post_as(w, "/tokens", bank, {**mint, "to": "nope"}), 404, "")
    assert_refused(post_as(w, "/tokens", bank, {**mint, "amount": "0.001"}), 422, "")
    assert balance() == start
    minted = ok(post_as(w, "/tokens", bank, mint), 201)
    assert minted == {"to": core.org_id, "amount": "1000.00", "currency": "CNY",
                      "deposit": "DEP-IRT-1", "op_id": minted["op_id"]}  # fmt: skip
    assert balance() == start + 100_000
    # the same deposit minted again: the contract refuses it, nothing recorded
    assert_refused(post_as(w, "/tokens", bank, mint), 409, "refused")
    assert balance() == start + 100_000
    # the debtor pays 600.00 of an item in tokens: routed to the holder (tier 1)
    item = _issued(w, "IRT", w.platform.clock.today() - dt.timedelta(days=30))
    item_id = item["item_id"]
    url = f"/items/{item_id}/repayments"
    today = w.platform.clock.today().isoformat()
    pay = {"amount": "600.00", "value_date": today, "reference": "PAY-IRT-1", "method": "token"}

    def repayments() -> list[Any]:
        with w.platform.uow_factory() as uow:
            return list(uow.repayments.for_item(item_id))

    assert_refused(post_as(w, url, tier1, pay), 403, "only the debtor")
    assert_refused(post_as(w, url, w.clerk, pay), 403, " may not items.repay")
    assert_refused(post_as(w, url, tier2, pay), 404, "does not exist")
    assert_refused(post_as(w, url, core, {**pay, "method": "cheque"}), 422, "")
    assert_refused(post_as(w, url, core, {**pay, "amount": "99999999.00"}), 422, "exceeds")
    # more tokens than the debtor holds: the chain refuses, nothing recorded
    assert_refused(post_as(w, url, core, {**pay, "amount": "2000.00", "reference": "PAY-IRT-X"}), 409,
             "refused")  # fmt: skip
    assert repayments() == [] and balance() == start + 100_000
    paid = ok(post_as(w, url, core, pay), 201)
    assert paid["method"] == "token" and paid["amount"] == "600.00" and paid["currency"] == "CNY"
    assert [(x["payee_id"], x["amount"]) for x in paid["parts"]] == [(tier1.org_id, "600.00")]
    assert balance() == start + 40_000
    (recorded,) = repayments()
    assert recorded.reference == "PAY-IRT-1"
    assert_refused(post_as(w, url, core, pay), 409, "already recorded")
    # a payment the debtor declares itself (method debtor)
    declared = ok(post_as(w, url, core, {**pay, "reference": "PAY-IRT-2", "method": "debtor",
                                       "amount": "10.00"}), 201)  # fmt: skip
    assert declared["method"] == "debtor" and len(repayments()) == 2


def test_the_operator_marks_an_overdue_item_defaulted(world: World) -> None:
    w = world
    tier1, core, tier2 = w.parties["tier1"], w.parties["core"], w.parties["tier2"]
    today = w.platform.clock.today()
    old = _issued(w, "IRF", today - dt.timedelta(days=200))  # due about 100 days ago
    item_id = old["item_id"]
    url = f"/items/{item_id}/default"
    before = _snapshot(w, item_id)
    assert_refused(post_as(w, url, tier1, {}), 403, " may not items.default")
    assert_refused(post_as(w, url, core, {}), 403, " may not items.default")
    assert_refused(
        post_as(w, url, w.officer, {}), 403, "open pledge"
    )  # the account bank, no pledge
    assert_refused(post_as(w, url, w.approver, {}), 403, " may not items.default")
    # not overdue yet on a day before its maturity
    early = (today - dt.timedelta(days=150)).isoformat()
    assert_refused(post_as(w, url, w.operator, {"as_of": early}), 409, "not overdue")
    assert _snapshot(w, item_id) == before
    done = ok(post_as(w, url, w.operator, {}))
    assert done == {"item_id": item_id, "status": "defaulted", "foreclosed": []}
    view = ok(w.client.get(f"{API}/items/{item_id}", headers=tier1.admin.auth))
    assert view["status"] == "defaulted", view
    assert_refused(post_as(w, url, w.operator, {}), 409, "already defaulted")
    # a recent item is not overdue: refused, nothing changes
    fresh = _issued(w, "IRF2", today - dt.timedelta(days=30))
    kept = _snapshot(w, fresh["item_id"])
    assert_refused(
        post_as(w, f"/items/{fresh['item_id']}/default", w.operator, {}), 409, "not overdue"
    )
    assert _snapshot(w, fresh["item_id"]) == kept
    assert tier2  # the tier-2 supplier has no part: its view of the items is 404
    assert_refused(w.client.get(f"{API}/items/{item_id}", headers=tier2.admin.auth), 404, "")


def test_a_bank_forecloses_on_default_and_the_pledgor_buys_the_holding_back(world: World) -> None:
    w = world
    tier1, core, tier2, bank = (w.parties[k] for k in ("tier1", "core", "tier2", "bank"))
    start = w.platform.clock.today() - dt.timedelta(days=200)
    item = _issued(w, "IRB", start)  # due about 100 days ago, unpaid
    item_id = item["item_id"]
    ok(post_as(w, f"/items/{item_id}/confirmation", core))
    holding = item["holdings"][0]["holding_id"]
    asked = {
        "holding_id": holding,
        "bank": bank.org_id,
        "amount": "100000.00",
        "as_of": (start + dt.timedelta(days=10)).isoformat(),
    }  # financed back then
    fin = ok(post_as(w, "/financings", tier1, asked), 201)
    assert fin["status"] in ("approved", "active"), fin["decision"]
    done = relay.relay(uow_factory=w.platform.uow_factory, ledger=w.platform.require_contracts())
    assert not done.failed, done.failed
    back_url = f"/holdings/{holding}/buyback"
    assert_refused(
        post_as(w, back_url, tier1), 403, "not the pledgor of foreclosed"
    )  # not foreclosed
    # the pledgee bank marks the default: the pledged holding passes to it
    defaulted = ok(post_as(w, f"/items/{item_id}/default", w.officer, {}))
    assert defaulted["foreclosed"] == [{"holding_id": holding, "bank_id": bank.org_id}]
    before = _snapshot(w, item_id)
    assert_refused(post_as(w, back_url, w.clerk), 403, " may not holdings.buyback")
    assert_refused(post_as(w, back_url, tier2), 404, "does not exist")
    assert_refused(post_as(w, back_url, core), 404, "does not exist")
    assert_refused(post_as(w, back_url, bank), 403, " may not ")
    assert _snapshot(w, item_id) == before
    # the recourse price is paid in settlement tokens: minted to the pledgor by its bank
    ok(post_as(w, "/tokens", bank, {"to": tier1.org_id, "amount": "500000.00",
                                  "reference": "DEP-IRB-1"}), 201)  # fmt: skip
    got = ok(post_as(w, back_url, tier1))
    assert got == {"holding_id": holding, "holder_id": tier1.org_id, "from_bank": bank.org_id}
    with w.platform.uow_factory() as uow:
        found = uow.financings.get(fin["financing_id"])
        held = uow.items.get_holding(holding)
    assert found is not None and found.status is FinancingStatus.REPAID
    assert held is not None and held.holder_id == tier1.org_id
    assert_refused(post_as(w, back_url, tier1), 403, "not the pledgor")  # taken back already
