"""The consortium council over HTTP on a real chain (issue 16 item 1: the CLI's `governance
propose-admit`, `propose-mint-cap`, `vote` and `execute` have endpoints calling the same
service functions): councillors propose, vote and execute for their own organisation; an
organisation not on the council (403), a wrong role (403), an unknown proposal or
organisation (404), the founding phase, a second vote, too few votes or a proposal executed
(409) and a bad cap (422) are refused and send nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient

from fourflow.adapters.chain.node import AnvilNode
from fourflow.bootstrap import Platform
from fourflow.domain.identity import OrgType, Principal, UserRole
from fourflow.domain.parties import Organisation, Role
from fourflow.services import identity, onboarding, relay
from fourflow.services.demo import demo_uscc
from tests.api.world import API, Party, Person, assert_refused, http_world, invite, ok, post_as

pytestmark = [pytest.mark.chain, pytest.mark.xdist_group("api-governance-routes")]


@dataclass
class World:
    client: TestClient
    platform: Platform
    parties: dict[str, Party]
    operator: Person
    bank_clerk: Person
    newcomer: Organisation  # a bank onboarded after the hand-over: not admitted on chain
    own_key: LocalAccount  # the key of a councillor holding its own
    own_admin: dict[str, str]  # that councillor's admin (an API key)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode) -> Iterator[World]:
    with http_world(tmp_path_factory.mktemp("governance-routes"), anvil.url) as w:
        bank_clerk = invite(w.client, w.parties["bank"], "clerk")
        founding = ok(w.client.get(f"{API}/governance", headers=w.operator.auth))
        assert founding["phase"] == "founding" and founding["council"] == []
        refused = w.client.post(
            f"{API}/governance/proposals",
            json={"action": "admit", "org": w.parties["tier2"].org_id},
            headers=w.operator.auth,
        )
        assert refused.status_code == 409 and "founding phase" in refused.text
        p = w.platform
        own_key = Account.create()
        own = onboarding.onboard(
            uow_factory=p.uow_factory, keystore=p.keystore, name="Own-key councillor",
            uscc=demo_uscc("110000", "MA1WNKG62"), roles=[Role.SUPPLIER], accounts=[],
            own_address=own_key.address,
        )  # fmt: skip
        ledger = p.require_contracts()
        done = relay.relay(uow_factory=p.uow_factory, ledger=ledger)  # its admission
        assert not done.failed, done.failed
        admin = Principal(own.id, frozenset({OrgType.ENTERPRISE}), UserRole.ADMIN, None, "g", "g")
        own_admin = identity.create_api_key(p.identities, admin=admin, role=UserRole.ADMIN,
                                            label="g")  # fmt: skip
        council = [p.operator_id(), w.parties["bank"].org_id, w.parties["core"].org_id, own.id]
        ledger.hand_over(p.operator_id(), council, 3, 0)
        p.save_contracts(ledger)
        newcomer = onboarding.onboard(
            uow_factory=p.uow_factory, keystore=p.keystore, name="Council newcomer bank",
            uscc=demo_uscc("110000", "MA1BANKG7"), roles=[Role.BANK], accounts=[],
        )  # fmt: skip
        relay.relay(uow_factory=p.uow_factory, ledger=ledger)  # its admission: refused
        yield World(w.client, p, w.parties, w.operator, bank_clerk, newcomer, own_key,
                    {"X-API-Key": own_admin.secret})  # fmt: skip


def _chain(w: World) -> tuple[int, bool]:
    """The council's proposal count, and whether the newcomer is an active member."""
    ledger = w.platform.require_contracts()
    found = ledger.council()
    assert found is not None and w.newcomer.chain_address
    member = ledger.read("member", w.newcomer.chain_address) or {}
    return found["proposal_count"], bool(member.get("active"))


def test_the_council_admits_a_member_by_its_votes(world: World) -> None:
    w = world
    bank, core, tier1 = w.parties["bank"], w.parties["core"], w.parties["tier1"]
    council = ok(w.client.get(f"{API}/governance", headers=w.parties["regulator"].admin.auth))
    assert council["phase"] == "governed" and council["threshold"] == 3
    assert len(council["council"]) == 4 and {
        w.platform.operator_id(), bank.org_id, core.org_id} < {c["org_id"] for c in council["council"]}  # fmt: skip
    assert_refused(w.client.get(f"{API}/governance", headers=w.bank_clerk.auth), 403,
             " may not governance.read")  # fmt: skip
    admit = {"action": "admit", "org": w.newcomer.id}
    before = _chain(w)
    assert before[1] is False
    assert_refused(post_as(w, "/governance/proposals", tier1, admit), 403, "not on the consortium")
    assert_refused(post_as(w, "/governance/proposals", w.bank_clerk, admit), 403,
             " may not governance.propose")  # fmt: skip
    assert_refused(
        post_as(w, "/governance/proposals", w.parties["regulator"], admit), 403, " may not "
    )
    assert_refused(post_as(w, "/governance/proposals", bank, {**admit, "org": "nope"}), 404, "")
    assert_refused(post_as(w, "/governance/proposals", bank, {"action": "mint_cap", "org": tier1.org_id}),
             422, "is not a bank")  # fmt: skip
    assert_refused(post_as(w, "/governance/proposals", bank,
                   {"action": "mint_cap", "org": w.newcomer.id, "cap": 0}), 422, "positive")  # fmt: skip
    assert_refused(post_as(w, "/governance/proposals", bank, {"action": "admit", "org": tier1.org_id}),
             409, "active member already")  # fmt: skip
    assert _chain(w) == before  # nothing was sent

    made = ok(post_as(w, "/governance/proposals", bank, admit), 201)
    number = made["proposal_id"]
    assert made["state"] == "open" and made["votes"] == 1 and made["target"] == "Registry"
    assert made["proposer_org_id"] == bank.org_id and made["threshold"] == 3
    assert _chain(w) == (before[0] + 1, False)
    read = ok(w.client.get(f"{API}/governance/proposals/{number}",
                           headers=w.parties["regulator"].admin.auth))  # fmt: skip
    assert read == made
    assert_refused(w.client.get(f"{API}/governance/proposals/999", headers=bank.admin.auth), 404,
             "does not exist")  # fmt: skip
    url = f"/governance/proposals/{number}"
    assert_refused(post_as(w, f"{url}/execution", core), 409, "not enough votes")
    assert_refused(post_as(w, f"{url}/votes", bank), 409, "vote already")
    assert_refused(post_as(w, f"{url}/votes", tier1), 403, "not on the consortium")
    assert_refused(post_as(w, f"{url}/votes", w.bank_clerk), 403, " may not governance.vote")
    assert_refused(post_as(w, "/governance/proposals/999/votes", core), 404, "does not exist")
    assert _chain(w) == (before[0] + 1, False)
    assert ok(w.client.get(f"{API}{url}", headers=bank.admin.auth))["votes"] == 1

    voted = ok(post_as(w, f"{url}/votes", core))
    assert voted["votes"] == 2 and voted["state"] == "open"
    assert_refused(
        post_as(w, f"{url}/execution", tier1), 409, "not enough votes"
    )  # any member runs it
    voted = ok(post_as(w, f"{url}/votes", w.operator))
    assert voted["votes"] == 3 and voted["state"] == "ready" and len(voted["voters"]) == 3
    done = ok(post_as(w, f"{url}/execution", w.operator))
    assert done["state"] == "executed"
    assert _chain(w) == (before[0] + 1, True)  # admitted on the chain
    assert_refused(post_as(w, f"{url}/execution", core), 409, "already executed")
    assert_refused(post_as(w, f"{url}/votes", w.operator), 409, "already executed")

    # its mint cap: the council's too
    cap = ok(post_as(w, "/governance/proposals", w.operator,
                   {"action": "mint_cap", "org": w.newcomer.id, "cap": 100_000}), 201)  # fmt: skip
    assert cap["target"] == "SettlementToken" and cap["state"] == "open"
    ok(post_as(w, f"/governance/proposals/{cap['proposal_id']}/votes", bank))
    ok(post_as(w, f"/governance/proposals/{cap['proposal_id']}/votes", core))
    ran = ok(post_as(w, f"/governance/proposals/{cap['proposal_id']}/execution", core))
    assert ran["state"] == "executed"
    # every request, allowed or refused, is in the API's audit trail
    trail = identity.trail_records(w.platform.identities, after=0, limit=100_000)
    seen = {(r.action, r.status) for r in trail if r.path.startswith(f"{API}/governance")}
    assert {("governance.propose", 201), ("governance.propose", 403),
            ("governance.vote", 200), ("governance.vote", 409),
            ("governance.execute", 200), ("governance.execute", 409)} <= seen  # fmt: skip


def test_a_councillor_holding_its_own_key_signs_its_vote(world: World) -> None:
    w = world
    bank = w.parties["bank"]
    made = ok(post_as(w, "/governance/proposals", bank,
                    {"action": "mint_cap", "org": w.newcomer.id, "cap": 300_000}), 201)  # fmt: skip
    url = f"{API}/governance/proposals/{made['proposal_id']}"
    own = w.own_admin
    refused = w.client.post(f"{url}/votes", headers=own)  # where the platform would sign
    assert refused.status_code == 409 and "holds its own key" in refused.text
    custodial = w.client.get(f"{url}/votes/transaction", headers=bank.admin.auth)
    assert custodial.status_code == 409 and "platform holds the key" in custodial.text
    unsigned = ok(w.client.get(f"{url}/votes/transaction", headers=own))
    assert (unsigned["contract"], unsigned["function"]) == ("Governance", "vote")
    assert unsigned["from"] == w.own_key.address
    tx = unsigned["transaction"]

    def send(key: LocalAccount, transaction: dict[str, Any]) -> Any:
        raw = "0x" + bytes(key.sign_transaction(transaction).raw_transaction).hex()
        return w.client.post(f"{url}/votes/transaction", json={"raw_transaction": raw},
                             headers=own)  # fmt: skip

    def votes() -> int:
        return int(ok(w.client.get(url, headers=bank.admin.auth))["votes"])

    forged = send(Account.create(), tx)  # another sender
    assert forged.status_code == 403 and "not by the organisation's address" in forged.text
    ledger = w.platform.require_contracts()
    other = "0x" + ledger.abi("Governance").encode_call("vote", (1,)).hex()
    wrong = send(w.own_key, {**tx, "data": other})  # a vote on another proposal
    assert wrong.status_code == 403 and "not Governance.vote" in wrong.text
    bad = w.client.post(f"{url}/votes/transaction", json={"raw_transaction": "0x00"}, headers=own)
    assert bad.status_code == 403, bad.text
    assert votes() == 1 and ledger.client.pending_nonce(w.own_key.address) == 0  # nothing sent
    voted = ok(send(w.own_key, tx))
    assert voted["votes"] == 2 and w.own_key.address in voted["voters"]
    again = w.client.get(f"{url}/votes/transaction", headers=own)
    assert again.status_code == 409 and "vote already" in again.text
