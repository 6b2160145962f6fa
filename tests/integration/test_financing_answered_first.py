"""A financing is answered when its decision is stored; the chain may still refuse it after.

The robot's approval is stored with its pledge and the presentation of the trade's invoices
queued for the chain (what ``POST /financings`` answers, ``pending``). Then, before the relay
runs, another consortium member registers the invoice's salted fingerprint on the real chain
(anvil): the relay asks the chain before it sends the presentation, refuses it, and fails the
pledge queued behind it. The financing ends ``failed`` with the reason, the holding is free,
every other business table is as before the request, the parties are told, and `audit` is
clean. A second request on the same holding, once the invoice is no longer presented
elsewhere, is not blocked by the failed one.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from fourflow.adapters.chain.client import TxRequest
from fourflow.adapters.chain.ids import hash32, key32
from fourflow.adapters.chain.ledger import ChainLedger
from fourflow.adapters.chain.ops import NOTARY
from fourflow.bootstrap import Platform
from fourflow.domain.financing import FinancingStatus
from fourflow.services import commands as cmd
from fourflow.services import financing, relay
from fourflow.services.ports import OpStatus
from tests.api.test_custody import World, _sign_raw, world  # noqa: F401  (fixture)
from tests.api.world import API
from tests.integration.test_lifecycle import YUAN, _story
from tests.integration.test_refusals import _audit_clean, _snapshot

pytestmark = pytest.mark.chain
SQLITE = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)


def _register_elsewhere(ledger: ChainLedger, member_id: str, fingerprint: str) -> None:
    """``member_id`` registers ``fingerprint`` on the Notary with its own transaction, as a
    member presented the invoice on its own platform would: nothing of it is in this store."""
    op = key32(f"elsewhere-{uuid.uuid4().hex}")
    data = ledger.abi(NOTARY).encode_call("register", (op, [hash32(fingerprint)]))
    tx = TxRequest(ledger.addresses[NOTARY], data, 300_000)
    sent = ledger.client.send(ledger.account(member_id), tx)
    assert ledger.client.wait([sent])[sent].status == 1


@SQLITE
def test_an_approval_answered_before_its_chain_work_and_then_refused_ends_failed(
    platform: Platform,
) -> None:
    s = _story(platform)
    (first,) = s.holdings()
    tier1, bank = s.org["tier1"].id, s.org["bank"].id
    ledger = platform.require_contracts()
    as_of = s.item.issue_date + dt.timedelta(days=5)
    before = _snapshot(platform)

    fin = financing.request_financing(
        uow_factory=platform.uow_factory, holding_id=first.id, bank_id=bank,
        amount=100_000 * YUAN, actor_id=tier1, as_of=as_of, cold_start=platform.cold_start,
        ledger=ledger,
    )  # fmt: skip
    # Answered: approved, the holding pledged in the store, the chain work waiting.
    assert fin.status is FinancingStatus.APPROVED, fin.decision
    row = financing.get_financing(uow_factory=platform.uow_factory, financing_id=fin.id)
    assert row.chain == financing.ChainWork("pending")
    with platform.uow_factory() as uow:
        pledged = uow.items.get_holding(first.id)
        ops = uow.outbox.for_subject(fin.id)
    assert pledged is not None and pledged.pledge_bank_id == bank
    kinds = [type(o.command) for o in ops]
    assert kinds == [cmd.RegisterFingerprints, cmd.Pledge, cmd.AcceptPledge], kinds
    presentation = ops[0].command
    assert isinstance(presentation, cmd.RegisterFingerprints)
    nothing_sent = ledger.read("fingerprint", presentation.fingerprints[0])
    assert nothing_sent is None  # the request itself sent nothing to the chain

    # Meanwhile another member is presented the invoice first, on its own platform.
    _register_elsewhere(ledger, s.org["logistics"].id, presentation.fingerprints[0])
    result = relay.relay(uow_factory=platform.uow_factory, ledger=ledger)

    refused = dict(result.failed)
    assert set(refused) == {o.op_id for o in ops}, result.failed
    assert "presented to another member of the consortium first" in refused[ops[0].op_id]
    with platform.uow_factory() as uow:
        holding = uow.items.get_holding(first.id)
        stored = uow.financings.get(fin.id)
        states = {o.op_id: o.status for o in uow.outbox.for_subject(fin.id)}
    events = [
        e
        for org in (tier1, bank)
        for e in platform.webhooks.events(org, 0, 10_000)
        if e.subject_id == fin.id
    ]
    assert holding == first  # free again, as it was
    assert stored is not None and stored.status is FinancingStatus.FAILED
    assert set(states.values()) == {OpStatus.REFUSED}
    assert {e.org_id for e in events} == {tier1, bank}
    assert all(e.data["status"] == "failed" for e in events)
    row = financing.get_financing(uow_factory=platform.uow_factory, financing_id=fin.id)
    assert row.chain is not None and row.chain.state == "refused"
    assert row.chain.refusal is not None and "another member" in row.chain.refusal
    after = _snapshot(platform)
    assert {k: v for k, v in after.items() if k != "financings"} == {
        k: v for k, v in before.items() if k != "financings"
    }
    _audit_clean(platform)


def test_a_bank_holding_its_own_key_cannot_send_a_presentation_another_member_had_first(
    world: World,  # noqa: F811
) -> None:
    """The same check where the bank signs its own transactions: the relay leaves its
    presentation (and the offer queued behind it) for the bank to sign; when the bank sends it,
    the chain shows the invoice presented elsewhere first, and nothing is sent or kept."""
    p, client, auth = world.p, world.client, world.bank.auth
    ledger = p.require_contracts()
    with p.uow_factory() as uow:
        (holding,) = uow.items.holdings(world.item_id)
    fin = financing.request_financing(
        uow_factory=p.uow_factory, cold_start=p.cold_start, holding_id=holding.id,
        bank_id=world.org["bank"].id, amount=270_000 * YUAN, actor_id=world.org["tier1"].id,
        as_of=world.day + dt.timedelta(days=5), ledger=ledger,
    )  # fmt: skip
    assert fin.status is FinancingStatus.APPROVED, fin.decision
    world.relay()  # the bank's presentation waits for its signature, the offer behind it too
    with p.uow_factory() as uow:
        ops = uow.outbox.for_subject(fin.id)
    assert [o.status for o in ops] == [OpStatus.PENDING] * 3
    presentation = ops[0].command
    assert isinstance(presentation, cmd.RegisterFingerprints)

    _register_elsewhere(ledger, world.org["logistics"].id, presentation.fingerprints[0])
    url = f"{API}/custody/operations/{ops[0].op_id}/transaction"
    unsigned = client.get(url, headers=auth)
    assert unsigned.status_code == 200, unsigned.text
    raw = _sign_raw(world.bank_key, unsigned.json()["transaction"])
    refused = client.post(url, json={"raw_transaction": raw}, headers=auth)
    assert refused.status_code == 409, refused.text
    assert "presented to another member of the consortium first" in refused.text
    assert ledger.client.pending_nonce(world.bank_key.address) == 0  # nothing was sent
    with p.uow_factory() as uow:
        stored = uow.financings.get(fin.id)
        after = uow.items.get_holding(holding.id)
        states = [o.status for o in uow.outbox.for_subject(fin.id)]
    assert stored is not None and stored.status is FinancingStatus.FAILED
    assert after == holding
    assert states == [OpStatus.REFUSED] * 3
