"""Moving an organisation between the two custody modes over HTTP, on a real anvil node
(issue 16, Keys): its admin moves it to holding its own key (with the proof of the new key;
the Registry admits the new address and suspends the old one; the platform's key of it is
destroyed), then back (the platform generates a new key; the own key's address suspended), and
the platform signs for it again. Refused while an operation waits for its signature; a clerk,
another organisation's admin and a proof by another key change nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient

from fourflow.adapters.chain.node import AnvilNode
from fourflow.adapters.crypto.keystore import SelfCustodyError
from fourflow.bootstrap import Platform
from fourflow.domain.identity import UserRole
from fourflow.domain.parties import role_mask
from fourflow.entrypoints.api.app import create_app
from fourflow.services import commands as cmd
from fourflow.services import identity, onboarding, relay
from fourflow.services.common import new_id
from fourflow.services.demo import MEMBERS
from fourflow.services.ports import ChainOp, OpStatus
from tests.api.conftest import api_settings
from tests.api.test_custody import _sign_raw
from tests.api.world import API, PASSWORD, Person, issued_item, ok, sign_in

pytestmark = [pytest.mark.chain, pytest.mark.xdist_group("api-key-custody")]


@dataclass
class World:
    client: TestClient
    p: Platform
    org: dict[str, str]
    people: dict[str, Person]

    def address(self, key: str) -> str:
        with self.p.uow_factory() as uow:
            org = uow.organisations.get(self.org[key])
        assert org is not None and org.chain_address
        return org.chain_address

    def member(self, address: str) -> dict[str, object]:
        found: dict[str, object] = self.p.require_contracts().read("member", address)
        return found

    def queue_own_op(self, key: str) -> str:
        """A chain operation in the organisation's name (its fingerprint registration)."""
        fingerprint = hashlib.sha256(new_id("fp").encode()).hexdigest()
        op = ChainOp(new_id("op"), cmd.RegisterFingerprints((fingerprint,)), self.org[key])
        with self.p.uow_factory() as uow:
            uow.outbox.add(op)
            uow.commit()
        return op.op_id

    def status(self, op_id: str) -> OpStatus:
        with self.p.uow_factory() as uow:
            op = uow.outbox.get(op_id)
        assert op is not None
        return op.status


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode) -> Iterator[World]:
    home: Path = tmp_path_factory.mktemp("key-custody") / "home"
    with (
        Platform(api_settings(home, f"sqlite:///{home.parent / 'store.db'}", anvil.url)) as p,
        TestClient(create_app(p), raise_server_exceptions=False) as client,
    ):
        p.initialise()
        org = {
            m.key: onboarding.onboard(
                uow_factory=p.uow_factory, keystore=p.keystore, name=m.name, uscc=m.uscc,
                roles=m.roles, accounts=[m.account],
            ).id
            for m in MEMBERS
            if m.key in ("core", "tier1", "tier2", "logistics", "bank")
        }  # fmt: skip
        relay.relay(uow_factory=p.uow_factory, ledger=p.require_contracts())
        people = {}
        for key, org_key, role in (
            ("admin", "tier1", UserRole.ADMIN),
            ("clerk", "tier1", UserRole.CLERK),
            ("other", "tier2", UserRole.ADMIN),
            ("core", "core", UserRole.ADMIN),
        ):
            new = identity.add_user(
                p.identities, org_id=org[org_key], email=f"{key}@{org_key}.example.cn",
                name=key, role=role, password=PASSWORD,
            )  # fmt: skip
            people[key] = sign_in(client, Person(new.user.email, new.totp_uri))
        yield World(client, p, org, people)


def _proof(key: LocalAccount, uscc: str, address: str) -> str:
    text = identity.own_key_message(uscc, address)
    return "0x" + bytes(key.sign_message(encode_defunct(text=text)).signature).hex()


def _uscc(world: World, key: str) -> str:
    with world.p.uow_factory() as uow:
        org = uow.organisations.get(world.org[key])
    assert org is not None
    return org.uscc


def test_an_admin_moves_its_organisation_to_its_own_key_and_back(world: World) -> None:
    c, p, tier1 = world.client, world.p, world.org["tier1"]
    admin, clerk, other = (world.people[k] for k in ("admin", "clerk", "other"))
    platform_address = world.address("tier1")
    own = Account.create()
    body = {"address": own.address, "proof": _proof(own, _uscc(world, "tier1"), own.address)}

    # attackers and bad proofs change nothing
    assert c.post(f"{API}/custody/own-key", json=body, headers=clerk.auth).status_code == 403
    stranger = Account.create()
    forged = {**body, "proof": _proof(stranger, _uscc(world, "tier1"), own.address)}
    refused = c.post(f"{API}/custody/own-key", json=forged, headers=admin.auth)
    assert refused.status_code == 403 and "not with the key of" in refused.text
    # another organisation's admin acts on its own organisation only: tier 1's proof does not
    # prove tier 2's text, and tier 2's key the platform keeps already
    assert c.post(f"{API}/custody/own-key", json=body, headers=other.auth).status_code == 403
    assert c.post(f"{API}/custody/platform-key", headers=other.auth).status_code == 409
    assert c.post(f"{API}/custody/platform-key", headers=admin.auth).status_code == 409
    assert world.address("tier1") == platform_address and not p.keystore.holds_own_key(tier1)

    # its admin moves it to its own key
    moved = ok(c.post(f"{API}/custody/own-key", json=body, headers=admin.auth))
    assert moved["custody"] == "self" and moved["old_address"] == platform_address
    assert moved["new_address"] == own.address and len(moved["ops"]) == 2
    assert world.address("tier1") == own.address
    assert p.keystore.holds_own_key(tier1) and p.keystore.address(tier1) == own.address
    with pytest.raises(SelfCustodyError):
        p.keystore.private_key(tier1)
    keys_dir = p.settings.home / "keys"
    assert tier1 not in json.loads((keys_dir / "data-keys.json").read_text())["keys"]
    record = json.loads((keys_dir / f"{tier1}.json").read_text())
    assert "chain_key" not in record and record["retired"][0]["address"] == platform_address
    new_member, old_member = world.member(own.address), world.member(platform_address)
    assert new_member["active"] and new_member["org_id"] == old_member["org_id"]
    assert old_member["active"] is False  # the platform's old key is no member any more
    again = c.post(f"{API}/custody/own-key", json=body, headers=admin.auth)
    assert again.status_code == 409 and "already holds its own key" in again.text

    # an operation waits for its own signature: moving back is refused until it signs it
    waiting = world.queue_own_op("tier1")
    relay.relay(uow_factory=p.uow_factory, ledger=p.require_contracts())
    assert world.status(waiting) is OpStatus.PENDING
    blocked = c.post(f"{API}/custody/platform-key", headers=admin.auth)
    assert blocked.status_code == 409 and waiting in blocked.text
    assert world.address("tier1") == own.address and p.keystore.holds_own_key(tier1)
    unsigned = ok(c.get(f"{API}/custody/operations/{waiting}/transaction", headers=admin.auth))
    raw = _sign_raw(own, unsigned["transaction"])
    ok(c.post(f"{API}/custody/operations/{waiting}/transaction",
              json={"raw_transaction": raw}, headers=admin.auth))  # fmt: skip
    assert world.status(waiting) is OpStatus.DONE

    # back to the platform keeping a new key for it
    assert c.post(f"{API}/custody/platform-key", headers=clerk.auth).status_code == 403
    back = ok(c.post(f"{API}/custody/platform-key", headers=admin.auth))
    fresh = back["new_address"]
    assert back["custody"] == "platform" and back["old_address"] == own.address
    assert fresh not in (own.address, platform_address) and world.address("tier1") == fresh
    assert not p.keystore.holds_own_key(tier1) and p.keystore.address(tier1) == fresh
    assert Account.from_key(p.keystore.private_key(tier1)).address == fresh
    assert world.member(fresh)["active"] and world.member(own.address)["active"] is False
    # the platform signs for it again, with the new key
    signed = world.queue_own_op("tier1")
    result = relay.relay(uow_factory=p.uow_factory, ledger=p.require_contracts())
    assert not result.failed and world.status(signed) is OpStatus.DONE
    assert p.require_contracts().account(tier1).address == fresh


def test_an_organisation_with_records_at_its_address_cannot_move_its_key(world: World) -> None:
    """The contracts check parties by address and cannot re-key a debt item: the debtor of an
    unsettled item keeps its address (409 naming the item), and nothing changes."""
    p, core = world.p, world.org["core"]
    start = p.clock.today() - dt.timedelta(days=20)
    item = issued_item(p, world.org, f"KC-{uuid.uuid4().hex[:8]}", start)
    before = world.address("core")
    own = Account.create()
    body = {"address": own.address, "proof": _proof(own, _uscc(world, "core"), own.address)}
    refused = world.client.post(
        f"{API}/custody/own-key", json=body, headers=world.people["core"].auth
    )
    assert refused.status_code == 409 and f"debt item {item.id}" in refused.text
    assert "cannot move to another address" in refused.text
    assert world.address("core") == before and not p.keystore.holds_own_key(core)
    assert world.member(own.address)["active"] is False  # nothing was admitted


def test_a_switch_that_stopped_after_the_admission_resumes(world: World) -> None:
    """The chain admitted the new address for this organisation, then the switch stopped (a
    crash before the suspension): a retry suspends the old address and finishes it."""
    p, tier2 = world.p, world.org["tier2"]
    old, own, operator = world.address("tier2"), Account.create(), p.operator_id()
    with p.uow_factory() as uow:
        org = uow.organisations.get(tier2)
        assert org is not None
        admit = ChainOp(new_id("op"), cmd.AdmitMember(tier2, own.address, role_mask(org.roles)),
                        operator, subject_id=tier2)  # fmt: skip
        uow.outbox.add(admit)
        uow.commit()
    assert not relay.relay(uow_factory=p.uow_factory, ledger=p.require_contracts()).failed
    body = {"address": own.address, "proof": _proof(own, _uscc(world, "tier2"), own.address)}
    done = ok(world.client.post(f"{API}/custody/own-key", json=body,
                                headers=world.people["other"].auth))  # fmt: skip
    assert done["new_address"] == own.address and len(done["ops"]) == 1  # the suspension only
    assert world.address("tier2") == own.address and p.keystore.holds_own_key(tier2)
    assert world.member(old)["active"] is False and world.member(own.address)["active"]
    # an address admitted for another organisation is refused, not taken over
    stranger = Account.create()
    with p.uow_factory() as uow:
        uow.outbox.add(ChainOp(new_id("op"), cmd.AdmitMember("org-someone-else", stranger.address, 1),
                               operator, subject_id="org-someone-else"))  # fmt: skip
        uow.commit()
    assert not relay.relay(uow_factory=p.uow_factory, ledger=p.require_contracts()).failed
    new = identity.add_user(
        p.identities, org_id=world.org["logistics"], email="admin@logistics.example.cn",
        name="admin", role=UserRole.ADMIN, password=PASSWORD,
    )  # fmt: skip
    carrier = sign_in(world.client, Person(new.user.email, new.totp_uri))
    taken = {"address": stranger.address,
             "proof": _proof(stranger, _uscc(world, "logistics"), stranger.address)}  # fmt: skip
    refused = world.client.post(f"{API}/custody/own-key", json=taken, headers=carrier.auth)
    assert refused.status_code == 409 and "already a consortium member" in refused.text

    # a switch back to platform custody that stopped right after the key store made its new
    # key (before the chain): sent again, it moves the chain and the store to that key
    _old, fresh = p.keystore.change_custody(tier2, None)
    assert world.address("tier2") == own.address  # the store and the chain still say "own"
    back = ok(world.client.post(f"{API}/custody/platform-key", headers=world.people["other"].auth))
    assert back["new_address"] == fresh and back["old_address"] == own.address
    assert world.address("tier2") == fresh and not p.keystore.holds_own_key(tier2)
    assert world.member(fresh)["active"] and world.member(own.address)["active"] is False


def test_once_governance_owns_the_registry_the_council_moves_the_member(
    tmp_path: Path, anvil: AnvilNode
) -> None:
    """In the governed phase the operator cannot admit or suspend alone: the switch proposes
    both to the council (202, nothing changed yet), and finishes when sent again after the
    council executed them. Moving back to platform custody is refused there."""
    home = tmp_path / "home"
    with (
        Platform(api_settings(home, f"sqlite:///{tmp_path / 'store.db'}", anvil.url)) as p,
        TestClient(create_app(p), raise_server_exceptions=False) as client,
    ):
        p.initialise()
        org = {
            m.key: onboarding.onboard(
                uow_factory=p.uow_factory, keystore=p.keystore, name=m.name, uscc=m.uscc,
                roles=m.roles, accounts=[m.account],
            )
            for m in MEMBERS
            if m.key in ("core", "tier1", "bank")
        }  # fmt: skip
        ledger = p.require_contracts()
        relay.relay(uow_factory=p.uow_factory, ledger=ledger)
        operator = p.operator_id()
        council = [operator, org["core"].id, org["bank"].id]
        governance = ledger.hand_over(operator, council, 2, 3600)
        assert str(ledger.read("registry_owner")).lower() == governance.lower()
        tier1 = org["tier1"]
        new = identity.add_user(
            p.identities, org_id=tier1.id, email="admin@tier1.example.cn", name="admin",
            role=UserRole.ADMIN, password=PASSWORD,
        )  # fmt: skip
        admin = sign_in(client, Person(new.user.email, new.totp_uri))
        with p.uow_factory() as uow:
            ops_before = len(uow.outbox.list())
        own = Account.create()
        body = {"address": own.address, "proof": _proof(own, tier1.uscc, own.address)}

        proposed = client.post(f"{API}/custody/own-key", json=body, headers=admin.auth)
        assert proposed.status_code == 202, proposed.text
        shown = proposed.json()
        assert not shown["done"] and len(shown["proposals"]) == 2 and shown["ops"] == []
        waiting = client.post(f"{API}/custody/own-key", json=body, headers=admin.auth)
        assert waiting.status_code == 202 and waiting.json()["proposals"] == shown["proposals"]
        other = Account.create()
        elsewhere = {"address": other.address,
                     "proof": _proof(other, tier1.uscc, other.address)}  # fmt: skip
        clash = client.post(f"{API}/custody/own-key", json=elsewhere, headers=admin.auth)
        assert clash.status_code == 409 and "proposed to the council already" in clash.text
        with p.uow_factory() as uow:  # nothing queued, nothing moved yet
            assert len(uow.outbox.list()) == ops_before
            current = uow.organisations.get(tier1.id)
        assert current is not None and current.chain_address == tier1.chain_address
        assert not p.keystore.holds_own_key(tier1.id)
        assert ledger.read("member", own.address)["active"] is False

        # withdrawn before the council acted: its proposals cancelled, nothing pending
        withdrawn = ok(client.delete(f"{API}/custody/own-key", headers=admin.auth))
        assert withdrawn["cancelled"] == shown["proposals"]
        assert all(ledger.proposal_state(x) == (False, True) for x in shown["proposals"])
        assert client.delete(f"{API}/custody/own-key", headers=admin.auth).status_code == 404
        again = client.post(f"{API}/custody/own-key", json=body, headers=admin.auth)
        assert again.status_code == 202, again.text
        proposals = again.json()["proposals"]
        assert not set(proposals) & set(shown["proposals"])

        def carry(proposal: int) -> None:  # every councillor backs it: no timelock
            for councillor in council[1:]:
                ledger.vote(councillor, proposal)
            ledger.execute(operator, proposal)

        carry(proposals[0])  # the admission executed: the move can no longer be withdrawn
        late = client.delete(f"{API}/custody/own-key", headers=admin.auth)
        assert late.status_code == 409 and "executed" in late.text
        assert client.post(f"{API}/custody/own-key", json=body,
                           headers=admin.auth).status_code == 202  # fmt: skip
        for proposal in proposals[1:]:
            carry(proposal)
        done = ok(client.post(f"{API}/custody/own-key", json=body, headers=admin.auth))
        assert done["done"] and done["new_address"] == own.address
        assert done["old_address"] == tier1.chain_address
        with p.uow_factory() as uow:
            moved = uow.organisations.get(tier1.id)
        assert moved is not None and moved.chain_address == own.address
        assert p.keystore.holds_own_key(tier1.id)
        assert ledger.read("member", own.address)["active"]
        assert ledger.read("member", str(tier1.chain_address))["active"] is False
        back = client.post(f"{API}/custody/platform-key", headers=admin.auth)
        assert back.status_code == 409 and "Governance" in back.text
