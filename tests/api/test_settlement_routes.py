"""A locked route changed by its parties, and a bank's statement lines, over HTTP on a real
chain (issue 16 item 1: the CLI's `route change` and `route statement` / `statements` have
endpoints calling the same service functions): each allowed for its party, refused for a
wrong role (403), a party not asked (403), another organisation's item (404), a state that
refuses it (409) and bad input (422); a refusal changes nothing; the parties are told
(webhook events) and every request is in the audit trail."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient

from fourflow.adapters.chain.node import AnvilNode
from fourflow.adapters.documents.writers.camt import camt054_xml
from fourflow.bootstrap import Platform
from fourflow.domain.identity import OrgType, Principal, UserRole
from fourflow.domain.issued import Party as IssuedParty
from fourflow.domain.issued import Payment
from fourflow.entrypoints.api.app import create_app
from fourflow.services import financing, identity, items, onboarding, relay
from fourflow.services.demo import MEMBERS
from tests.api.conftest import api_settings
from tests.api.world import (
    API,
    MEMBER,
    PASSWORD,
    Party,
    Person,
    assert_refused,
    documents_by_issuer,
    http_world,
    invite,
    ok,
    outsider_bank,
    post_as,
    sign_in,
    upload_trade,
    verify_and_issue,
)
from tests.store.fixtures import pg_schema_url, require_postgres
from tests.trades import verified_trade

pytestmark = [pytest.mark.chain, pytest.mark.xdist_group("api-settlement-routes")]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """The route-change and statement tests on SQLite and on PostgreSQL."""
    if "store" in metafunc.fixturenames:
        metafunc.parametrize(
            "store",
            ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
            indirect=True,
            scope="module",
        )


class MovingClock:
    """The system's time, moved forward by the test (a proposal's expiry)."""

    def __init__(self) -> None:
        self.ahead = dt.timedelta()

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.ahead

    def today(self) -> dt.date:
        return self.now().date()


@dataclass
class World:
    client: TestClient
    platform: Platform
    parties: dict[str, Party]
    clerk: Person  # tier 1's clerk
    officer: Person  # the bank's credit officer
    approver: Person  # the bank's approver (no right to sign a route change)
    bank_clerk: Person  # the bank's clerk (reports statement lines)
    outsider: dict[str, str]  # an admitted bank with no part in anything (credit officer)
    outsider_clerk: dict[str, str]  # its clerk


@pytest.fixture(scope="module")
def store(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The world's store: SQLite (None: http_world's), or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield None
        return
    with pg_schema_url(require_postgres()) as url:
        yield url


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode, store: str | None
) -> Iterator[World]:
    """The six members over HTTP; the bank's robot approves alone (refer_pd 0.99)."""
    folder = tmp_path_factory.mktemp("settlement-routes")
    with http_world(folder, anvil.url, MovingClock(), store) as w:
        parties = w.parties
        clerk = invite(w.client, parties["tier1"], "clerk")
        officer = invite(w.client, parties["bank"], "credit_officer")
        approver = invite(w.client, parties["bank"], "approver")
        bank_clerk = invite(w.client, parties["bank"], "clerk")
        financing.set_product_policy(
            uow_factory=w.platform.uow_factory, bank=parties["bank"].org_id,
            fields={"refer_pd": 0.99, "max_pd": 1.0},
        )  # fmt: skip
        outsider, outsider_clerk = outsider_bank(
            w.platform, "MA1BANKR8", "6214880000099002",
            [UserRole.CREDIT_OFFICER, UserRole.CLERK], "sr",
        )  # fmt: skip
        yield World(w.client, w.platform, parties, clerk, officer, approver, bank_clerk,
                    outsider, outsider_clerk)  # fmt: skip


def _get(w: World, path: str, who: Person | Party | dict[str, str]) -> Any:
    auth = who.admin.auth if isinstance(who, Party) else who if isinstance(who, dict) else who.auth
    return w.client.get(f"{API}{path}", headers=auth)


def _pledged_item(w: World, run: str) -> dict[str, Any]:
    """A new item of tier 1 on the core enterprise, not yet due, confirmed by its debtor (its
    route locked so), part of it pledged to the bank (approved by its robot, relayed)."""
    start = w.platform.clock.today() - dt.timedelta(days=30)
    trade_id = upload_trade(w.client, w.parties, run, start)
    item = verify_and_issue(w.client, w.parties["tier1"], trade_id, start + dt.timedelta(8))
    ok(post_as(w, f"/items/{item['item_id']}/confirmation", w.parties["core"]))
    holding = item["holdings"][0]["holding_id"]
    asked = {"holding_id": holding, "bank": w.parties["bank"].org_id, "amount": "100000.00"}
    fin = ok(post_as(w, "/financings", w.parties["tier1"], asked), 201)
    assert fin["status"] in ("approved", "active"), fin["decision"]
    done = relay.relay(uow_factory=w.platform.uow_factory, ledger=w.platform.require_contracts())
    assert not done.failed, done.failed
    return dict(item)


def _state(w: World, item_id: str) -> tuple[Any, ...]:
    """What a refused request must leave as it was: the route's events, the proposals, the
    chain operations of the item, the chain's route."""
    with w.platform.uow_factory() as uow:
        routes = list(uow.settlement.routes(item_id))
        proposals = uow.settings.get(f"route.change.{item_id}")
        ops = sorted(op.op_id for op in uow.outbox.for_subjects([item_id]).get(item_id, []))
    chain = w.platform.require_contracts().read("route", item_id)
    return routes, proposals, ops, chain


def _events(w: World, key: str, kind: str) -> list[Any]:
    return [e for e in w.platform.webhooks.events(w.parties[key].org_id, 0, 10_000)
            if e.kind == kind]  # fmt: skip


def test_a_route_changes_once_the_debtor_and_every_pledgee_signed(world: World) -> None:
    w = world
    tier1, core, tier2 = w.parties["tier1"], w.parties["core"], w.parties["tier2"]
    bank = w.parties["bank"]
    item = _pledged_item(w, "SRC")
    item_id = item["item_id"]
    url = f"/items/{item_id}/route/changes"
    assert ok(_get(w, url, core)) == [] and ok(_get(w, url, w.officer)) == []
    assert_refused(_get(w, url, tier2), 404, "does not exist")
    assert_refused(_get(w, url, w.outsider), 404, "does not exist")
    before = _state(w, item_id)
    assert before[0][-1].kind.value == "account"  # locked by the confirmation
    tokens = {"kind": "tokens"}
    assert_refused(post_as(w, url, w.clerk, tokens), 403, " may not routes.change.propose")
    assert_refused(post_as(w, url, w.officer, tokens), 403, " may not routes.change.propose")
    assert_refused(post_as(w, url, tier1, tokens), 403, "only the debtor")
    assert_refused(post_as(w, url, tier2, tokens), 404, "does not exist")
    assert_refused(post_as(w, url, core, {"kind": "account"}), 422, "collection account and bank")
    assert_refused(post_as(w, url, core, {"kind": "account", "account": "1", "bank": tier1.org_id}), 422,
             "is not a bank")  # fmt: skip
    assert_refused(post_as(w, url, core, {"kind": "cheque"}), 422)
    assert_refused(post_as(w, f"{url}/approval", w.officer), 409, "no route change")
    assert _state(w, item_id) == before  # the refusals changed nothing

    proposed = ok(post_as(w, url, core, tokens), 201)
    assert proposed["status"] == "pending" and proposed["kind"] == "tokens"
    assert proposed["required"] == [core.org_id, bank.org_id]
    assert proposed["signed"] == {core.org_id: "platform"}  # its proposal is its approval
    assert proposed["waiting_for"] == [bank.org_id]
    assert ok(_get(w, url, w.officer))[0]["proposal_id"] == proposed["proposal_id"]
    asked = _events(w, "bank", "item.route_change")
    assert [e.data["status"] for e in asked] == ["pending"]  # the pledgee is told it is asked
    assert asked[0].data["proposal_id"] == proposed["proposal_id"]
    pending = _state(w, item_id)
    assert pending[0] == before[0] and pending[2] == before[2]  # nothing on the route yet
    assert_refused(post_as(w, url, core, tokens), 409, "still waiting")
    assert_refused(post_as(w, f"{url}/approval", tier1), 403, "not by this organisation")
    assert_refused(post_as(w, f"{url}/approval", w.approver), 403, " may not routes.change.sign")
    assert_refused(post_as(w, f"{url}/approval", w.outsider), 404, "does not exist")
    assert_refused(post_as(w, f"{url}/approval", core), 409, "signed by it already")
    assert_refused(_get(w, f"{url}/typed-data", w.officer), 409, "the platform holds the key")
    assert_refused(post_as(w, f"{url}/signature", w.officer, {"signature": "0x" + "11" * 65}), 409,
             "the platform holds the key")  # fmt: skip
    assert_refused(post_as(w, f"{url}/refusal", w.officer, {"reason": ""}), 422)
    assert _state(w, item_id) == pending

    applied = ok(post_as(w, f"{url}/approval", w.officer))
    assert applied["status"] == "applied" and applied["waiting_for"] == []
    assert applied["signed"] == {core.org_id: "platform", bank.org_id: "platform"}
    routes, _, _, chain = _state(w, item_id)
    assert routes[-1].op_id == applied["op_id"] and routes[-1].kind.value == "tokens"
    assert routes[-1].signers == (core.org_id, bank.org_id)
    assert chain["kind"] == 1 and chain["nonce"] == before[3]["nonce"] + 1  # on the chain
    with w.platform.uow_factory() as uow:
        op = uow.outbox.get(applied["op_id"])
    assert op is not None and op.status.value == "done", op
    told = [e.data["status"] for e in _events(w, "core", "item.route_change")]
    assert told == ["pending", "applied"]
    assert [e.data["status"] for e in _events(w, "tier1", "item.route_change")] == [
        "pending", "applied"]  # fmt: skip
    assert_refused(post_as(w, f"{url}/approval", w.officer), 409, "no route change")
    listed = ok(_get(w, url, core))
    assert [c["status"] for c in listed] == ["applied"]
    # every request, allowed or refused, is in the API's audit trail
    trail = identity.trail_records(w.platform.identities, after=0, limit=100_000)
    mine = [(r.action, r.status) for r in trail if r.path == f"{API}{url}/approval"]
    assert ("routes.change.sign", 200) in mine and ("routes.change.sign", 403) in mine
    assert ("routes.change.sign", 409) in mine


def test_a_pledgee_refuses_and_a_proposal_expires(world: World) -> None:
    w = world
    core, bank = w.parties["core"], w.parties["bank"]
    item = _pledged_item(w, "SRX")
    item_id = item["item_id"]
    url = f"/items/{item_id}/route/changes"
    before = _state(w, item_id)
    body = {"kind": "account", "account": "6214 8800 0000 7777", "bank": bank.org_id}
    proposed = ok(post_as(w, url, core, body), 201)
    assert proposed["account"] == "6214880000007777" and proposed["bank_id"] == bank.org_id
    refused = ok(post_as(w, f"{url}/refusal", w.officer, {"reason": "the pledge needs tokens"}))
    assert refused["status"] == "refused" and refused["closed_by"] == bank.org_id
    assert refused["reason"] == "the pledge needs tokens"
    assert_refused(post_as(w, f"{url}/approval", w.officer), 409, "no route change")
    after = _state(w, item_id)
    assert after[0] == before[0] and after[2] == before[2] and after[3] == before[3]
    assert [e.data["status"] for e in _events(w, "core", "item.route_change")
            if e.subject_id == item_id] == ["pending", "refused"]  # fmt: skip
    # a new proposal, left past its deadline: expired, nothing more can be signed (two days
    # on, the people's sessions have ended: their API keys act)
    again = ok(post_as(w, url, core, {"kind": "tokens"}), 201)
    clock = w.platform.clock
    assert isinstance(clock, MovingClock)
    debtor, officer = (
        _key(w, "core", UserRole.FINANCE_MANAGER),
        _key(w, "bank", UserRole.CREDIT_OFFICER),
    )
    clock.ahead = dt.timedelta(days=2)
    try:
        assert ok(_get(w, url, officer))[0]["status"] == "expired"
        assert_refused(post_as(w, f"{url}/approval", officer), 409, "expired")
        assert [c["status"] for c in ok(_get(w, url, debtor))] == ["expired", "refused"]
        routes, _, ops, chain = _state(w, item_id)
        assert routes == before[0] and ops == before[2] and chain == before[3]
        assert [e.data["status"] for e in _events(w, "bank", "item.route_change")
                if e.subject_id == item_id] == ["pending", "refused", "pending", "expired"]  # fmt: skip
        # expired: the debtor may propose again
        fresh = ok(post_as(w, url, debtor, {"kind": "tokens"}), 201)
        assert fresh["proposal_id"] != again["proposal_id"] and fresh["status"] == "pending"
        ok(post_as(w, f"{url}/refusal", debtor, {"reason": "withdrawn"}))  # the debtor withdraws
    finally:
        clock.ahead = dt.timedelta()


def _key(w: World, party: str, role: UserRole) -> dict[str, str]:
    """An API key of ``party`` for ``role`` (its admin issues it)."""
    org_id = w.parties[party].org_id
    types = frozenset({OrgType.BANK if party == "bank" else OrgType.CORE_ENTERPRISE})
    admin = Principal(org_id, types, UserRole.ADMIN, None, "sr", "sr")
    issued = identity.create_api_key(w.platform.identities, admin=admin, role=role, label="sr")
    return {"X-API-Key": issued.secret}


def test_a_bank_reports_statement_lines_and_checks_its_statements(world: World) -> None:
    w = world
    tier1, core, bank = w.parties["tier1"], w.parties["core"], w.parties["bank"]
    item = _pledged_item(w, "SRS")
    item_id = item["item_id"]
    url = f"/items/{item_id}/statement-lines"
    today = w.platform.clock.today().isoformat()
    with w.platform.uow_factory() as uow:
        route = uow.settlement.routes(item_id)[-1]
        creditor = uow.organisations.get(tier1.org_id)
    assert creditor is not None and route.account
    line = {"payee_account": creditor.accounts[0], "amount": "5000.00", "value_date": today,
            "reference": "STMT-SRS-1"}  # fmt: skip

    def notices() -> list[Any]:
        with w.platform.uow_factory() as uow:
            return uow.settlement.notices(subject_id=item_id)

    before = notices()
    assert_refused(post_as(w, url, tier1, line), 403, " may not statements.report")
    assert_refused(post_as(w, url, w.officer, line), 403, " may not statements.report")
    assert_refused(post_as(w, url, w.outsider, line), 403, " may not ")  # a credit officer
    assert_refused(post_as(w, url, w.outsider_clerk, line), 404, "does not exist")  # no part in it
    assert_refused(post_as(w, url, w.bank_clerk, {**line, "amount": "0.001"}), 422, "")
    assert_refused(post_as(w, "/items/nope-1/statement-lines", w.bank_clerk, line), 404, "")
    assert notices() == before
    # paid to the creditor's own account, not the route's collection account: no payment
    told = ok(post_as(w, url, w.bank_clerk, line), 201)
    assert told["bypassed"] is True and bank.org_id in told["told"]
    assert "not through the item's locked route" in told["text"]
    assert len(notices()) == len(before) + len(told["told"])
    again = ok(post_as(w, url, w.bank_clerk, line), 201)  # the same line: told once
    assert again["bypassed"] is False and again["told"] == []
    into_route = ok(post_as(w, url, w.bank_clerk, {**line, "payee_account": route.account,
                                                  "reference": "STMT-SRS-2"}), 201)  # fmt: skip
    assert into_route["bypassed"] is False
    listed = ok(_get(w, "/bank/statement-notices", w.officer))
    assert [n for n in listed if n["item_id"] == item_id][-1]["amount"] == 500_000
    assert ok(_get(w, "/bank/statement-notices", w.outsider)) == []
    assert_refused(_get(w, "/bank/statement-notices", core), 403, " may not statements.read")
    # a camt.054 the bank uploaded: the debtor paid the creditor's own account for the item
    raw = _camt054(w, "SRS-E2E-1", "INV-SRS", creditor.accounts[0])
    uploaded = ok(w.client.post(f"{API}/documents?source=SRS-E2E-1.xml", content=raw,
                                headers=bank.admin.auth), 201)  # fmt: skip
    (doc_id,) = [r["document_id"] for r in uploaded]
    checks = "/bank/statement-checks"
    seller_doc = item_documents(w, item["trade_id"])[0]
    assert_refused(
        post_as(w, checks, w.bank_clerk, {"document_ids": ["nope-1"]}), 404, "does not exist"
    )
    assert_refused(post_as(w, checks, w.bank_clerk, {"document_ids": [seller_doc]}), 404,
             "does not exist")  # not the bank's upload  # fmt: skip
    assert_refused(post_as(w, checks, w.outsider, {"document_ids": [doc_id]}), 403, " may not ")
    assert_refused(
        post_as(w, checks, w.outsider_clerk, {"document_ids": [doc_id]}), 404, "not exist"
    )
    assert_refused(
        post_as(w, checks, core, {"document_ids": [doc_id]}), 403, " may not statements.check"
    )
    assert_refused(post_as(w, checks, w.bank_clerk, {"document_ids": []}), 422)
    counted = len(notices())
    (check,) = ok(post_as(w, checks, w.bank_clerk, {"document_ids": [doc_id]}))
    assert (check["outcome"], check["item_id"], check["amount"]) == ("bypass", item_id, 5_000_000)
    assert check["notices"] >= 1 and len(notices()) == counted + check["notices"]
    (again,) = ok(post_as(w, checks, w.bank_clerk, {"document_ids": [doc_id]}))
    assert again["outcome"] == "bypass" and again["notices"] == 0  # told once
    assert len(notices()) == counted + check["notices"]


def item_documents(w: World, trade_id: str) -> list[str]:
    with w.platform.uow_factory() as uow:
        record = uow.trades.get(trade_id)
    assert record is not None
    return list(record.document_ids)


def _camt054(w: World, number: str, invoice: str, payee_account: str) -> bytes:
    """The creditor's bank notifies a credit of 50,000.00 from the debtor for ``invoice``
    (the project's own camt.054 writer)."""
    core, tier1 = MEMBER["core"], MEMBER["tier1"]
    payee = IssuedParty(
        id="tier1", name=tier1.name, uscc=tier1.uscc, gln="6901234000002", roles=(), tier=None,
        accounts=(tier1.account,), bank_bic="JNCBCNBSXXX", address="", legal_representative="",
        phone="", industry="", city="",
    )  # fmt: skip
    return camt054_xml(
        Payment(
            number=number,
            msg_id=f"MSG-{number}",
            booking_date=w.platform.clock.today(),
            amount=Decimal("50000.00"),
            currency="CNY",
            payee=payee,
            payee_account=payee_account,
            payer_name=core.name,
            payer_uscc=core.uscc,
            payer_account=core.account,
            payer_bic="JNCBCNBSXXX",
            invoice_number=invoice,
        )
    )


# ----------------------------------------------------------------------------- own key


@dataclass
class OwnKeyWorld:
    client: TestClient
    platform: Platform
    item_id: str
    debtor_key: LocalAccount
    debtor: Person  # the core enterprise's finance manager; the core holds its own key

    def sign_pending(self) -> None:
        """The debtor signs and sends the transaction of each of its queued operations."""
        c, auth = self.client, self.debtor.auth
        for _ in range(20):
            waiting = ok(c.get(f"{API}/custody/operations", headers=auth))
            if not waiting:
                return
            url = f"{API}/custody/operations/{waiting[0]['op_id']}/transaction"
            unsigned = ok(c.get(url, headers=auth))
            raw = self.debtor_key.sign_transaction(unsigned["transaction"]).raw_transaction
            ok(c.post(url, json={"raw_transaction": "0x" + bytes(raw).hex()}, headers=auth))
        raise AssertionError("the debtor's operations kept coming")


@pytest.fixture(scope="module")
def own_key_world(
    tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode
) -> Iterator[OwnKeyWorld]:
    """The demo members, the core enterprise (the debtor) holding its own key; tier 1's item
    on it issued on the evidence, its route locked by the debtor's own transaction (SQLite)."""
    home = tmp_path_factory.mktemp("settlement-own-key") / "home"
    debtor_key = Account.create()
    with Platform(api_settings(home, f"sqlite:///{home.parent / 'store.db'}", anvil.url)) as p:
        p.initialise()
        org = {
            m.key: onboarding.onboard(
                uow_factory=p.uow_factory, keystore=p.keystore, name=m.name, uscc=m.uscc,
                roles=m.roles, accounts=[m.account],
                own_address=debtor_key.address if m.key == "core" else None,
            )
            for m in MEMBERS
        }  # fmt: skip
        start = p.clock.today() - dt.timedelta(days=30)
        submitted = [
            (org[k].id, raw, f"{k}.json") for k, raw in documents_by_issuer("SROWN", start)
        ]
        trade_id, day = verified_trade(p, submitted, "INV-SROWN", start)
        item = items.issue_item(
            uow_factory=p.uow_factory, ledger=p.require_contracts(), clock=p.clock,
            trade_id=trade_id, as_of=day, confirm=False,
        )  # fmt: skip
        with TestClient(create_app(p), raise_server_exceptions=True) as client:
            new = identity.add_user(
                p.identities, org_id=org["core"].id, email="fm@core.example.cn", name="fm",
                role=UserRole.FINANCE_MANAGER, password=PASSWORD,
            )  # fmt: skip
            debtor = sign_in(client, Person(new.user.email, new.totp_uri))
            w = OwnKeyWorld(client, p, item.id, debtor_key, debtor)
            relay.relay(uow_factory=p.uow_factory, ledger=p.require_contracts())  # admissions
            w.sign_pending()  # its documents' fingerprints
            relay.relay(uow_factory=p.uow_factory, ledger=p.require_contracts())  # the issuance
            ok(client.post(f"{API}/items/{item.id}/route", json={"kind": "account"},
                           headers=debtor.auth))  # fmt: skip
            w.sign_pending()  # its route lock
            done = relay.relay(uow_factory=p.uow_factory, ledger=p.require_contracts())
            assert not done.failed, done.failed
            yield w


def test_a_debtor_holding_its_own_key_signs_the_route_change_itself(
    own_key_world: OwnKeyWorld,
) -> None:
    w = own_key_world
    c, auth, item_id = w.client, w.debtor.auth, w.item_id
    url = f"{API}/items/{item_id}/route/changes"
    ledger = w.platform.require_contracts()
    before_chain = ledger.read("route", item_id)
    assert before_chain["kind"] == 2  # the collection account its own transaction locked
    proposed = ok(c.post(url, json={"kind": "tokens"}, headers=auth), 201)
    assert proposed["signed"] == {} and proposed["waiting_for"] == proposed["required"]
    refused = c.post(f"{url}/approval", headers=auth)  # where the platform would sign
    assert refused.status_code == 409 and "holds its own key" in refused.text
    offer = ok(c.get(f"{url}/typed-data", headers=auth))
    typed = offer["typed_data"]
    assert typed["primaryType"] == "RouteChange" and offer["deadline"] == proposed["deadline"]

    def sign(key: LocalAccount, message: dict[str, Any]) -> str:
        signed = key.sign_message(encode_typed_data(full_message=message))
        return "0x" + bytes(signed.signature).hex()

    def unchanged() -> None:
        listed = ok(c.get(url, headers=auth))
        assert listed[0]["status"] == "pending" and listed[0]["signed"] == {}
        assert ledger.read("route", item_id) == before_chain

    attacker = sign(Account.create(), typed)
    forged = c.post(f"{url}/signature", json={"signature": attacker}, headers=auth)
    assert forged.status_code == 403 and "not by this organisation's address" in forged.text
    other = {**typed, "message": {**typed["message"], "kind": 2}}  # not this change
    wrong = c.post(f"{url}/signature", json={"signature": sign(w.debtor_key, other)},
                   headers=auth)  # fmt: skip
    assert wrong.status_code == 403, wrong.text
    bad = c.post(f"{url}/signature", json={"signature": "0x1234"}, headers=auth)
    assert bad.status_code == 403 and "signature" in bad.text
    unchanged()
    applied = ok(c.post(f"{url}/signature", json={"signature": sign(w.debtor_key, typed)},
                        headers=auth))  # fmt: skip
    assert applied["status"] == "applied" and applied["signed"] == {applied["required"][0]: "own"}
    assert applied["proposed_by"] == applied["required"][0]  # the debtor alone: no pledge
    after = ledger.read("route", item_id)
    assert after["kind"] == 1 and after["nonce"] == before_chain["nonce"] + 1
