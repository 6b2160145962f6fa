"""Organisations holding their own key (issue 16, Keys) on a real anvil, over HTTP: the
debtor confirms an item with its own EIP-712 signature and the bank accepts a pledge with its
own signed transaction, both signed here client-side with eth_account; signatures by another
key, replays, transactions from another sender or to a function the operation is not are
refused and change nothing."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct, encode_typed_data
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient

from fourflow.adapters.chain.node import AnvilNode
from fourflow.adapters.crypto.keystore import SelfCustodyError
from fourflow.bootstrap import Platform
from fourflow.domain.debt import Basis
from fourflow.domain.documents import DocumentKind
from fourflow.domain.financing import Outcome
from fourflow.domain.identity import UserRole
from fourflow.domain.parties import Organisation
from fourflow.entrypoints.api.app import create_app
from fourflow.services import financing, identity, ingest, items, linking, onboarding, relay
from fourflow.services.commands import OpKind
from fourflow.services.demo import MEMBERS, demo_uscc
from fourflow.services.ports import OpStatus
from fourflow.services.verification import verify
from tests.api.conftest import api_settings
from tests.api.world import (
    API,
    KYC,
    PASSWORD,
    Person,
    documents_by_issuer,
    ok,
    operator_admin,
    sign_in,
)

pytestmark = [pytest.mark.chain, pytest.mark.xdist_group("api-custody")]
YUAN = 100


@dataclass
class World:
    client: TestClient
    p: Platform
    org: dict[str, Organisation]
    item_id: str
    day: dt.date
    debtor_key: LocalAccount
    bank_key: LocalAccount
    debtor: Person
    bank: Person

    def relay(self) -> None:
        result = relay.relay(uow_factory=self.p.uow_factory, ledger=self.p.require_contracts())
        assert not result.failed, result.failed

    def pending(self) -> list[Any]:
        with self.p.uow_factory() as uow:
            return uow.outbox.pending(1000)

    def chain_item(self) -> dict[str, Any]:
        found: dict[str, Any] = self.p.require_contracts().read("item", self.item_id)
        return found


def _person(client: TestClient, p: Platform, org_id: str, email: str, role: UserRole) -> Person:
    new = identity.add_user(
        p.identities, org_id=org_id, email=email, name=email, role=role, password=PASSWORD
    )
    return sign_in(client, Person(new.user.email, new.totp_uri))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode) -> Iterator[World]:
    """The demo network where the core enterprise (the debtor) and the bank hold their own
    keys, and tier 1's item on the core enterprise issued on the evidence (SQLite)."""
    home: Path = tmp_path_factory.mktemp("custody") / "home"
    debtor_key, bank_key = Account.create(), Account.create()
    own = {"core": debtor_key.address, "bank": bank_key.address}
    with Platform(api_settings(home, f"sqlite:///{home.parent / 'store.db'}", anvil.url)) as p:
        p.initialise()
        org = {
            m.key: onboarding.onboard(
                uow_factory=p.uow_factory,
                keystore=p.keystore,
                name=m.name,
                uscc=m.uscc,
                roles=m.roles,
                accounts=[m.account],
                own_address=own.get(m.key),
            )
            for m in MEMBERS
        }
        start = p.clock.today() - dt.timedelta(days=110)
        tag = f"SC-{uuid.uuid4().hex[:8]}"
        for key, raw in documents_by_issuer(tag, start):  # each party sends its own evidence
            ingest.ingest_bytes(
                uow_factory=p.uow_factory, reader=p.reader_for(org[key].id), clock=p.clock,
                raw=raw, source=f"{key}.json", submitter_id=org[key].id,
            )  # fmt: skip
        ingest.anchor_pending(uow_factory=p.uow_factory, clock=p.clock, operator_id=p.operator_id())
        linking.link_documents(uow_factory=p.uow_factory)
        with p.uow_factory() as uow:
            (invoice,) = uow.documents.by_number(DocumentKind.INVOICE, f"INV-{tag}")
        day = start + dt.timedelta(days=8)
        assert invoice.trade_id is not None
        verify(uow_factory=p.uow_factory, trade_id=invoice.trade_id, as_of=day)
        item = items.issue_item(
            uow_factory=p.uow_factory, ledger=p.require_contracts(), clock=p.clock,
            trade_id=invoice.trade_id, as_of=day, confirm=False,
        )  # fmt: skip
        with TestClient(create_app(p), raise_server_exceptions=False) as client:
            w = World(
                client, p, org, item.id, day, debtor_key, bank_key,
                debtor=_person(client, p, org["core"].id, "fm@core.example.cn",
                               UserRole.FINANCE_MANAGER),
                bank=_person(client, p, org["bank"].id, "co@bank.example.cn",
                             UserRole.CREDIT_OFFICER),
            )  # fmt: skip
            w.relay()  # admissions (sent by the operator) and the issuance (by tier 1)
            yield w


def test_the_platform_never_signs_for_an_organisation_holding_its_own_key(world: World) -> None:
    for key in ("core", "bank"):
        assert world.p.keystore.holds_own_key(world.org[key].id)
        with pytest.raises(SelfCustodyError, match="holds its own key"):
            world.p.keystore.private_key(world.org[key].id)
    assert world.org["core"].chain_address == world.debtor_key.address
    member = world.p.require_contracts().read("member", world.bank_key.address)
    assert member["active"]  # admitted on the chain at its own address


def _sign_typed(key: LocalAccount, typed: dict[str, Any]) -> str:
    return "0x" + bytes(key.sign_message(encode_typed_data(full_message=typed)).signature).hex()


def test_a_debtor_confirms_with_its_own_eip712_signature(world: World) -> None:
    c, url = world.client, f"{API}/items/{world.item_id}/confirmation"
    auth = world.debtor.auth
    offer = ok(c.get(f"{url}/typed-data", headers=auth))
    typed = offer["typed_data"]
    assert typed["primaryType"] == "Confirmation"
    assert typed["message"]["debtor"] == world.debtor_key.address

    def submit(signature: str, nonce: int | None = None, deadline: int | None = None) -> Any:
        body = {
            "nonce": offer["nonce"] if nonce is None else nonce,
            "deadline": offer["deadline"] if deadline is None else deadline,
            "signature": signature,
        }
        return c.post(f"{url}/signature", json=body, headers=auth)

    def unchanged() -> None:
        with world.p.uow_factory() as uow:
            assert uow.items.get(world.item_id).basis is Basis.VERIFIED  # type: ignore[union-attr]
        assert not [op for op in world.pending() if op.kind is OpKind.CONFIRM_ITEM]
        assert world.chain_item()["basis"] != 2  # not confirmed on the chain

    signs_for_it = c.post(url, headers=auth)  # the route where the platform would sign
    assert signs_for_it.status_code == 409 and "holds its own key" in signs_for_it.text
    unchanged()
    attacker = Account.create()
    refused = submit(_sign_typed(attacker, typed))  # signed by another key
    assert refused.status_code == 403 and "not by the debtor's address" in refused.text
    unchanged()
    stale = {**typed, "message": {**typed["message"], "nonce": offer["nonce"] + 1}}
    refused = submit(_sign_typed(world.debtor_key, stale), nonce=offer["nonce"] + 1)
    assert refused.status_code == 403 and "not the debtor's current" in refused.text
    other_item = {**typed, "message": {**typed["message"], "faceValue": 1}}  # other terms
    refused = submit(_sign_typed(world.debtor_key, other_item))
    assert refused.status_code == 403
    past = int(world.p.clock.now().timestamp()) - 60
    expired = {**typed, "message": {**typed["message"], "deadline": past}}
    refused = submit(_sign_typed(world.debtor_key, expired), deadline=past)
    assert refused.status_code == 403 and "deadline has passed" in refused.text
    unchanged()

    signature = _sign_typed(world.debtor_key, typed)
    confirmed = ok(submit(signature))
    assert confirmed["basis"] == "confirmed"
    assert world.chain_item()["basis"] == 2  # Issuer.confirm applied with the debtor's signature
    replay = submit(signature)  # the same signature again
    assert replay.status_code == 409 and "already confirmed" in replay.text


def _sign_raw(key: LocalAccount, tx: dict[str, Any]) -> str:
    return "0x" + bytes(key.sign_transaction(tx).raw_transaction).hex()


def test_a_bank_accepts_a_pledge_with_its_own_transaction(world: World) -> None:
    p, c, auth = world.p, world.client, world.bank.auth
    with p.uow_factory() as uow:
        (holding,) = uow.items.holdings(world.item_id)
    fin = financing.request_financing(
        uow_factory=p.uow_factory, cold_start=p.cold_start, holding_id=holding.id,
        bank_id=world.org["bank"].id, amount=270_000 * YUAN, actor_id=world.org["tier1"].id,
        as_of=world.day + dt.timedelta(days=5),
    )  # fmt: skip
    assert fin.decision is not None and fin.decision.outcome is Outcome.APPROVE
    world.relay()  # the holder's offer goes; the bank's acceptance waits for the bank
    listed = ok(c.get(f"{API}/custody/operations", headers=auth))
    assert [o["kind"] for o in listed] == ["accept_pledge"]
    op_id = listed[0]["op_id"]
    # the debtor's own fingerprint registration (it sent documents) waits for it too: signed
    (fingerprints,) = ok(c.get(f"{API}/custody/operations", headers=world.debtor.auth))
    assert fingerprints["kind"] == "register_fingerprints"
    theirs = f"{API}/custody/operations/{fingerprints['op_id']}/transaction"
    unsigned = ok(c.get(theirs, headers=world.debtor.auth))
    assert (unsigned["contract"], unsigned["function"]) == ("Notary", "register")
    body = {"raw_transaction": _sign_raw(world.debtor_key, unsigned["transaction"])}
    ok(c.post(theirs, json=body, headers=world.debtor.auth))
    assert ok(c.get(f"{API}/custody/operations", headers=world.debtor.auth)) == []
    ledger = p.require_contracts()

    def unchanged() -> None:
        (op,) = [o for o in world.pending() if o.op_id == op_id]
        assert op.status is OpStatus.PENDING
        assert ledger.read("holding", holding.id)["pledge_bank"] != world.bank_key.address
        assert ledger.client.pending_nonce(world.bank_key.address) == 0

    unsigned = ok(c.get(f"{API}/custody/operations/{op_id}/transaction", headers=auth))
    assert (unsigned["contract"], unsigned["function"]) == ("DebtItem", "accept_pledge")
    assert unsigned["from"] == world.bank_key.address
    tx = unsigned["transaction"]
    url = f"{API}/custody/operations/{op_id}/transaction"

    def submit(raw: str) -> Any:
        return c.post(url, json={"raw_transaction": raw}, headers=auth)

    refused = submit(_sign_raw(Account.create(), tx))  # another sender
    assert refused.status_code == 403 and "not by the organisation's address" in refused.text
    registry = ledger.addresses["Registry"]
    admit = ledger.abi("Registry").encode_call(
        "admit", (b"\x01" * 32, world.bank_key.address, b"\x02" * 32, 1)
    )
    refused = submit(_sign_raw(world.bank_key, {**tx, "to": registry, "data": "0x" + admit.hex()}))
    assert refused.status_code == 403 and "calls Registry.admit" in refused.text
    larger = ledger.abi("DebtItem").encode_call(  # the right function, other terms
        "accept_pledge", (bytes.fromhex(tx["data"][10:74]), bytes.fromhex(tx["data"][74:138]),
                          1, 1)
    )  # fmt: skip
    refused = submit(_sign_raw(world.bank_key, {**tx, "data": "0x" + larger.hex()}))
    assert refused.status_code == 403 and "DebtItem.accept_pledge" in refused.text
    refused = submit(_sign_raw(world.bank_key, {**tx, "nonce": 5}))
    assert refused.status_code == 403 and "nonce 5" in refused.text
    refused = submit(_sign_raw(world.bank_key, {**tx, "chainId": tx["chainId"] + 1}))
    assert refused.status_code == 403 and "for chain" in refused.text
    unchanged()

    raw = _sign_raw(world.bank_key, tx)
    sent = ok(submit(raw))
    assert sent["op_id"] == op_id and sent["tx_hash"]
    pledged = ledger.read("holding", holding.id)
    assert pledged["pledge_bank"] == world.bank_key.address
    assert pledged["pledge_principal"] == 270_000 * YUAN
    with p.uow_factory() as uow:
        assert uow.outbox.get(op_id).status is OpStatus.DONE  # type: ignore[union-attr]
        assert uow.financings.get(fin.id).status.value == "active"  # type: ignore[union-attr]
    replay = submit(raw)  # the same signed transaction again
    assert replay.status_code == 409 and "not awaiting a signature" in replay.text
    assert ok(c.get(f"{API}/custody/operations", headers=auth)) == []


def test_an_organisation_registers_over_http_holding_its_own_key(world: World) -> None:
    c, p = world.client, world.p
    operator = operator_admin(c, p)
    key, uscc = Account.create(), demo_uscc("110000", "MA1KEYWN1")
    body = {
        "name": "自持密钥银行", "uscc": uscc, "org_type": "bank",
        "licence": {"address": "1 Bund", "legal_representative": "Rep"},
        "accounts": [], "admin_email": "admin@ownkey.example.cn", "admin_name": "admin",
        "admin_password": PASSWORD, "own_key_address": key.address,
    }  # fmt: skip
    message = identity.own_key_message(uscc, key.address)

    def proof(signer: LocalAccount) -> str:
        return "0x" + bytes(signer.sign_message(encode_defunct(text=message)).signature).hex()

    refused = c.post(
        f"{API}/registrations", json={**body, "own_key_proof": proof(Account.create())}
    )
    assert refused.status_code == 403 and "not with the key of" in refused.text
    missing = c.post(f"{API}/registrations", json=body)
    assert missing.status_code == 422 and "own_key_proof" in missing.text
    listed = ok(c.get(f"{API}/registrations", headers=operator.auth))
    assert uscc not in {a["uscc"] for a in listed}  # nothing was registered
    made = ok(c.post(f"{API}/registrations", json={**body, "own_key_proof": proof(key)}), 201)
    assert made["application"]["own_key_address"] == key.address
    review = {"admit": True, "checks": KYC, "note": "licence checked; key proved"}
    admitted = ok(
        c.post(
            f"{API}/registrations/{made['application']['id']}/review",
            json=review, headers=operator.auth,
        )
    )  # fmt: skip
    org_id = admitted["org_id"]
    assert p.keystore.holds_own_key(org_id) and p.keystore.address(org_id) == key.address
    with pytest.raises(SelfCustodyError):
        p.keystore.private_key(org_id)
    world.relay()  # the operator admits it on the chain at its own address
    assert p.require_contracts().read("member", key.address)["active"]


def test_the_operator_onboards_an_organisation_holding_its_own_key_from_the_cli(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from fourflow.entrypoints.cli.main import app

    s = world.p.settings
    for name, value in {
        "FOURFLOW_HOME": str(s.home), "FOURFLOW_DATABASE_URL": s.database_url,
        "FOURFLOW_CHAIN_URL": str(s.chain_url),
        "FOURFLOW_KEYSTORE_PASSWORD": str(s.keystore_password),
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    key, uscc = Account.create(), demo_uscc("110000", "MA1KEYWN2")
    args = ["org", "add", "--name", "自持密钥物流", "--uscc", uscc,
            "--role", "logistics", "--own-key-address", key.address, "--json"]  # fmt: skip

    def proof(signer: LocalAccount, text: str) -> list[str]:
        signed = signer.sign_message(encode_defunct(text=text)).signature
        return ["--own-key-proof", "0x" + bytes(signed).hex()]

    def members() -> int:
        with world.p.uow_factory() as uow:
            return len(uow.organisations.list())

    before = members()
    # no proof, a proof by another key, a proof of another text: refused, nothing onboarded
    missing = CliRunner().invoke(app, args)
    assert missing.exit_code == 1 and "needs --own-key-proof" in " ".join(missing.stderr.split())
    message = identity.own_key_message(uscc, key.address)
    other = CliRunner().invoke(app, [*args, *proof(Account.create(), message)])
    assert other.exit_code == 1 and "not with the key of" in " ".join(other.stderr.split())
    wrong = CliRunner().invoke(app, [*args, *proof(key, message + " and more")])
    assert wrong.exit_code == 1 and "not with the key of" in " ".join(wrong.stderr.split())
    alone = CliRunner().invoke(app, [*args[:8], *proof(key, message)])
    assert alone.exit_code == 1 and "give both" in alone.stderr
    assert members() == before
    args = [*args, *proof(key, message)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.stderr
    with world.p.uow_factory() as uow:
        (org,) = [o for o in uow.organisations.list() if o.chain_address == key.address]
    assert world.p.keystore.holds_own_key(org.id)
    assert world.p.require_contracts().read("member", key.address)["active"]
    uscc3 = demo_uscc("110000", "MA1KEYWN3")  # one address, one member
    again = [
        *args[:5],
        uscc3,
        *args[6:-2],
        *proof(key, identity.own_key_message(uscc3, key.address)),
    ]
    refused = CliRunner().invoke(app, again)
    assert refused.exit_code == 1 and "belongs to" in refused.stderr


def test_a_transaction_the_organisation_sent_to_the_node_itself_is_recorded(
    world: World,
) -> None:
    p, c, auth = world.p, world.client, world.debtor.auth
    core = world.org["core"].id
    start = p.clock.today() - dt.timedelta(days=30)
    key, raw = documents_by_issuer(f"SD-{uuid.uuid4().hex[:8]}", start)[0]
    assert key == "core"
    # Earlier tests of this world may have left the debtor's other operations waiting.
    waiting = {o["op_id"] for o in ok(c.get(f"{API}/custody/operations", headers=auth))}
    ingest.ingest_bytes(
        uow_factory=p.uow_factory, reader=p.reader_for(core), clock=p.clock,
        raw=raw, source="direct.json", submitter_id=core,
    )  # fmt: skip
    world.relay()
    listed = ok(c.get(f"{API}/custody/operations", headers=auth))
    (op,) = [o for o in listed if o["op_id"] not in waiting]  # its fingerprints wait
    unsigned = ok(c.get(f"{API}/custody/operations/{op['op_id']}/transaction", headers=auth))
    ledger = p.require_contracts()
    tx_hash = ledger.client.request(  # straight to the node, not through the API
        "eth_sendRawTransaction", [_sign_raw(world.debtor_key, unsigned["transaction"])]
    )
    ledger.client.wait([tx_hash])
    world.relay()  # finds it applied: recorded from its log, nothing signed
    with p.uow_factory() as uow:
        done = uow.outbox.get(op["op_id"])
    assert done is not None and done.status is OpStatus.DONE and done.tx_hash == tx_hash
    left = {o["op_id"] for o in ok(c.get(f"{API}/custody/operations", headers=auth))}
    assert op["op_id"] not in left and left <= waiting
