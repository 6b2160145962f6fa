"""ChainLedger against a real anvil node: deploy, members, notary, the debt-item lifecycle."""

from __future__ import annotations

import dataclasses
import hashlib
import time
from typing import Any

import pytest

from fourflow.adapters.chain.errors import BatchRejectedError, OperationRejectedError
from fourflow.adapters.chain.ids import hash32, hex32, key32
from fourflow.adapters.chain.ledger import VERIFIER_ROLE
from fourflow.domain.debt import HoldingClaim, PledgeState, route_payment
from fourflow.domain.parties import ROLE_BITS, Role
from fourflow.services.commands import IssueItem, RegisterFingerprints, command_from_json
from fourflow.services.ports import ChainOp, ChainReceipt, ChainRejectedError, OpKind
from tests.integration.conftest import Consortium, unique

pytestmark = pytest.mark.chain


def fingerprint() -> str:
    """A fresh ``sha256:`` fingerprint."""
    return "sha256:" + hashlib.sha256(unique("doc").encode()).hexdigest()


def events(receipt: ChainReceipt, name: str) -> list[dict[str, Any]]:
    """The receipt's events called ``name``."""
    return [dict(e) for e in receipt.events if e["event"] == name]


def issue_params(c: Consortium, *, face_value: int = 1_000_000, **extra: Any) -> dict[str, Any]:
    """Params of an ISSUE_ITEM by ``supplier`` on ``core``, issued today, due in 90 days."""
    today = c.today()
    return {
        "item_id": unique("item"),
        "holding_id": unique("holding"),
        "debtor_address": c.addresses["core"],
        "creditor_address": c.addresses["supplier"],
        "currency": "CNY",
        "face_value": face_value,
        "issue_day": today - 10,
        "maturity_day": today + 90,
        "asset_type": 1,
        "trade_hash": fingerprint(),
        "report_hash": fingerprint(),
        "account_bank_address": c.addresses["bank"],
        **extra,
    }


def issue_op(c: Consortium, sender: str, **params: Any) -> ChainOp:
    """An ISSUE_ITEM on the verified basis, with the operator's (verifier's) signed report."""
    issue = command_from_json(OpKind.ISSUE_ITEM, params)
    assert isinstance(issue, IssueItem)
    signature = c.ledger.sign_report("operator", issue)
    return ChainOp(unique("op"), dataclasses.replace(issue, report_signatures=(signature,)), sender)


def op(kind: OpKind, sender: str, **params: Any) -> ChainOp:
    """A fresh op."""
    return ChainOp(unique("op"), command_from_json(kind, params), sender)


def test_deploy_admits_the_operator(consortium: Consortium) -> None:
    info = consortium.ledger.info()
    assert info.chain_id == 1337
    assert info.client_version.startswith("anvil/")
    assert set(info.contracts) == {
        "Registry", "Notary", "DebtItem", "SettlementToken", "WarehouseReceipt", "Issuer",
        "Repayment",
    }  # fmt: skip
    assert info.managed_node is True
    operator = consortium.ledger.read("member", consortium.addresses["operator"])
    assert operator == {
        "org_id": hex32(key32("operator")),
        "roles": ROLE_BITS[Role.OPERATOR] | VERIFIER_ROLE,
        "active": True,
    }
    assert consortium.ledger.deploy("operator") == info.contracts


def test_admitted_members_and_a_second_admission_refused(consortium: Consortium) -> None:
    bank = consortium.ledger.read("member", consortium.addresses["bank"])
    assert bank["roles"] == ROLE_BITS[Role.BANK] and bank["active"]
    again = op(
        OpKind.ADMIT_MEMBER,
        "operator",
        member_org_id="bank",
        address=consortium.addresses["bank"],
        roles=ROLE_BITS[Role.BANK],
    )
    with pytest.raises(OperationRejectedError) as refused:
        consortium.ledger.apply(again)
    assert refused.value.reason == "registry: already a member"
    assert isinstance(refused.value, ChainRejectedError)


def test_only_the_operator_admits(consortium: Consortium) -> None:
    stranger = consortium.keystore.create(unique("stranger"))
    admit = op(
        OpKind.ADMIT_MEMBER,
        "supplier",
        member_org_id="x",
        address=stranger,
        roles=ROLE_BITS[Role.SUPPLIER],
    )
    with pytest.raises(OperationRejectedError, match="ownable: caller is not the owner"):
        consortium.ledger.apply(admit)


def test_register_fingerprints_per_submitter(consortium: Consortium) -> None:
    ledger = consortium.ledger
    prints = [fingerprint() for _ in range(5)]
    receipt = ledger.apply(op(OpKind.REGISTER_FINGERPRINTS, "supplier", fingerprints=prints))
    registered = events(receipt, "FingerprintRegistered")
    assert [e["fingerprint"] for e in registered] == [hex32(hash32(p)) for p in prints]
    assert {e["submitter"] for e in registered} == {consortium.addresses["supplier"]}
    assert ledger.read("fingerprint", prints[0]) == consortium.addresses["supplier"]
    assert ledger.read("fingerprint", fingerprint()) is None

    # Another member registering the same fingerprint is not refused (no squatting either
    # way); the first registrant stays on record.
    ledger.apply(op(OpKind.REGISTER_FINGERPRINTS, "supplier2", fingerprints=[prints[2]]))
    assert ledger.read("fingerprint", prints[2]) == consortium.addresses["supplier"]


def test_anchor_a_batch(consortium: Consortium) -> None:
    ledger = consortium.ledger
    batch_id = unique("batch")
    root = "sha256:" + hashlib.sha256(batch_id.encode()).hexdigest()
    receipt = ledger.apply(
        op(OpKind.ANCHOR_BATCH, "operator", batch_id=batch_id, root=root, count=7)
    )
    anchored = events(receipt, "BatchAnchored")[0]
    assert anchored["batch_id"] == hex32(key32(batch_id))
    assert anchored["count"] == 7
    anchor = ledger.read("anchor", batch_id)
    assert anchor is not None
    assert anchor["root"] == hex32(hash32(root))
    assert anchor["count"] == 7
    assert anchor["block_number"] == receipt.block_number
    assert anchor["submitter"] == consortium.addresses["operator"]
    assert ledger.read("batch_of_root", root) == hex32(key32(batch_id))
    assert ledger.read("anchor", unique("batch")) is None


def test_a_non_member_cannot_write(consortium: Consortium) -> None:
    outsider = unique("outsider")
    consortium.keystore.create(outsider)
    with pytest.raises(OperationRejectedError, match="notary: caller is not a member"):
        consortium.ledger.apply(
            op(OpKind.REGISTER_FINGERPRINTS, outsider, fingerprints=[fingerprint()])
        )


def test_apply_is_idempotent(consortium: Consortium) -> None:
    ledger = consortium.ledger
    params = issue_params(consortium)
    issue = issue_op(consortium, "supplier", **params)
    assert not ledger.is_applied(issue)
    first = ledger.apply(issue)
    height = ledger.info().block_number
    item = ledger.read("item", params["item_id"])

    second = ledger.apply(issue)
    assert second.already_applied and not first.already_applied
    assert (second.tx_hash, second.block_number) == (first.tx_hash, first.block_number)
    assert second.events == first.events
    assert ledger.is_applied(issue)
    assert ledger.info().block_number == height  # nothing was sent
    assert ledger.read("item", params["item_id"]) == item


def test_issue_verified_item(consortium: Consortium) -> None:
    ledger = consortium.ledger
    params = issue_params(consortium)
    receipt = ledger.apply(issue_op(consortium, "supplier", **params))
    issued = events(receipt, "ItemIssued")[0]
    assert issued["item_id"] == hex32(key32(params["item_id"]))
    assert issued["creditor"] == consortium.addresses["supplier"]
    assert (issued["basis"], issued["currency"]) == (1, 156)
    item = ledger.read("item", params["item_id"])
    assert item["state"] == 1 and item["basis"] == 1
    assert item["face_value"] == params["face_value"] and item["paid"] == 0
    assert item["report_hash"] == hex32(hash32(params["report_hash"]))
    assert item["maturity_day"] == params["maturity_day"]
    holding = ledger.read("holding", params["holding_id"])
    assert holding["holder"] == consortium.addresses["supplier"]
    assert holding["outstanding"] == params["face_value"]
    assert ledger.read("item_holdings", params["item_id"]) == [hex32(key32(params["holding_id"]))]
    assert ledger.read("item", unique("item")) is None


def test_issue_confirmed_by_the_debtor(consortium: Consortium) -> None:
    ledger = consortium.ledger
    params = issue_params(consortium)
    nonce = ledger.read("nonce", consortium.addresses["core"])
    deadline = int(time.time()) + 3600
    issue = command_from_json(OpKind.ISSUE_ITEM, params)
    assert isinstance(issue, IssueItem)
    signed = ledger.sign_confirmation("core", issue.terms(), deadline)
    assert signed.nonce == nonce

    receipt = ledger.apply(
        ChainOp(unique("op"), dataclasses.replace(issue, confirmation=signed), "supplier")
    )
    assert events(receipt, "ItemIssued")[0]["basis"] == 2
    assert ledger.read("item", params["item_id"])["basis"] == 2
    assert ledger.read("nonce", consortium.addresses["core"]) == nonce + 1


def test_a_confirmation_for_another_creditor_is_refused(consortium: Consortium) -> None:
    ledger = consortium.ledger
    params = issue_params(consortium, creditor_address=consortium.addresses["supplier2"])
    issue = command_from_json(OpKind.ISSUE_ITEM, params)
    assert isinstance(issue, IssueItem)
    signed = ledger.sign_confirmation("core", issue.terms(), int(time.time()) + 3600)
    with pytest.raises(OperationRejectedError) as refused:
        ledger.apply(
            ChainOp(unique("op"), dataclasses.replace(issue, confirmation=signed), "supplier")
        )
    assert refused.value.reason == "issuer: invalid confirmation signature"


def test_split_transfer_pledge_and_repay_route_the_payment(consortium: Consortium) -> None:
    c, ledger = consortium, consortium.ledger
    today = c.today()
    params = issue_params(c, face_value=1_000_000)
    item_id, first = params["item_id"], params["holding_id"]
    ledger.apply(issue_op(consortium, "supplier", **params))
    moved, kept = unique("holding"), unique("holding")

    transfer = ledger.apply(
        op(OpKind.TRANSFER, "supplier", holding_id=first, new_holding_id=moved,
           to_address=c.addresses["supplier2"], amount=400_000)
    )  # fmt: skip
    transferred = events(transfer, "HoldingTransferred")[0]
    assert transferred["to_holder"] == c.addresses["supplier2"]
    assert transferred["amount"] == 400_000
    ledger.apply(
        op(OpKind.SPLIT, "supplier2", holding_id=moved, new_holding_id=kept, amount=100_000)
    )
    pledge = ledger.apply(
        op(OpKind.PLEDGE, "supplier2", holding_id=moved, bank_address=c.addresses["bank"],
           principal=250_000, rate_bps=500, start_day=today - 30)
    )  # fmt: skip
    assert events(pledge, "PledgeOffered")[0]["bank"] == c.addresses["bank"]
    assert ledger.read("holding", moved)["pledge_principal"] == 0  # an offer pledges nothing
    accept = ledger.apply(
        op(OpKind.ACCEPT_PLEDGE, "bank", holding_id=moved, principal=250_000, rate_bps=500)
    )
    assert events(accept, "HoldingPledged")[0]["bank"] == c.addresses["bank"]
    assert ledger.read("holding", moved)["pledge_principal"] == 250_000

    repay = ledger.apply(op(OpKind.REPAY, "core", item_id=item_id, amount=500_000, value_day=today))
    expected, _ = route_payment(
        [
            HoldingClaim(first, "supplier", 600_000),
            HoldingClaim(moved, "supplier2", 300_000,
                         PledgeState("bank", 250_000, 0, 500, today - 30)),
            HoldingClaim(kept, "supplier2", 100_000),
        ],
        500_000,
        today,
    )  # fmt: skip
    routed = {
        (e["holding_id"], e["part"]): (e["payee"], e["amount"])
        for e in events(repay, "PaymentRouted")
    }
    want: dict[tuple[str, int], tuple[str, int]] = {}
    for part in expected:
        key = hex32(key32(part.holding_id))
        bank, holder = c.addresses["bank"], c.addresses[part.holder]
        for kind, payee, amount in (
            (1, bank, part.to_bank_interest),
            (2, bank, part.to_bank - part.to_bank_interest),
            (3, holder, part.to_holder),
        ):
            if amount:
                want[(key, kind)] = (payee, amount)
    assert routed == want
    assert want[(hex32(key32(moved)), 1)][1] > 0  # the bank was paid interest
    assert events(repay, "ItemRepaid")[0]["paid_total"] == 500_000
    assert ledger.read("item", item_id)["paid"] == 500_000

    settle = ledger.apply(
        op(OpKind.REPAY, "core", item_id=item_id, amount=500_000, value_day=today)
    )
    assert events(settle, "ItemSettled") == [
        {"event": "ItemSettled", "item_id": hex32(key32(item_id))}
    ]
    assert ledger.read("item", item_id)["state"] == 2


def test_apply_many_pipelines_200_operations(consortium: Consortium) -> None:
    c, ledger = consortium, consortium.ledger
    ops: list[ChainOp] = []
    for _ in range(50):
        params = issue_params(c, face_value=10_000)
        part, moved = unique("holding"), unique("holding")
        ops += [
            issue_op(consortium, "supplier", **params),
            op(OpKind.SPLIT, "supplier", holding_id=params["holding_id"], new_holding_id=part,
               amount=4_000),
            op(OpKind.TRANSFER, "supplier", holding_id=part, new_holding_id=moved,
               to_address=c.addresses["supplier2"], amount=1_000),
            op(OpKind.PLEDGE, "supplier", holding_id=params["holding_id"],
               bank_address=c.addresses["bank"], principal=5_000, rate_bps=400,
               start_day=c.today()),
        ]  # fmt: skip
    started = time.perf_counter()
    receipts = ledger.apply_many(ops)
    elapsed = time.perf_counter() - started
    print(f"\napply_many: {len(ops)} ops in {elapsed:.2f} s = {len(ops) / elapsed:.0f} tx/s")
    assert [r.op_id for r in receipts] == [o.op_id for o in ops]
    assert not any(r.already_applied for r in receipts)
    last = ops[-4].command
    assert isinstance(last, IssueItem)
    assert len(ledger.read("item_holdings", last.item_id)) == 3

    again = ledger.apply_many(ops[:10])
    assert all(r.already_applied for r in again)
    assert [r.tx_hash for r in again] == [r.tx_hash for r in receipts[:10]]


def test_apply_many_reports_each_refused_op(consortium: Consortium) -> None:
    ledger = consortium.ledger
    good = op(OpKind.REGISTER_FINGERPRINTS, "supplier", fingerprints=[fingerprint()])
    applied = ledger.apply(
        op(OpKind.REGISTER_FINGERPRINTS, "supplier", fingerprints=[fingerprint()])
    )
    duplicate_fp = op(  # an empty batch: the notary refuses it
        OpKind.ANCHOR_BATCH, "supplier", batch_id=unique("batch"), root=fingerprint(), count=0
    )
    later = op(OpKind.REGISTER_FINGERPRINTS, "supplier", fingerprints=[fingerprint()])
    already = ChainOp(applied.op_id, RegisterFingerprints(()), "supplier")
    # A malformed argument (a negative amount) is refused before anything is sent.
    bad = op(OpKind.SPLIT, "supplier", holding_id="h", new_holding_id="n", amount=-1)
    with pytest.raises(BatchRejectedError) as failed:
        ledger.apply_many([good, duplicate_fp, later, already, bad])
    results = failed.value.results
    assert isinstance(results[0], ChainReceipt) and not results[0].already_applied
    assert isinstance(results[1], OperationRejectedError)
    assert results[1].reason == "notary: empty batch"
    assert results[1].tx_hash is not None
    assert isinstance(results[2], ChainReceipt)
    assert isinstance(results[3], ChainReceipt) and results[3].already_applied
    assert isinstance(results[4], OperationRejectedError) and results[4].tx_hash is None
    assert failed.value.op_id == duplicate_fp.op_id
