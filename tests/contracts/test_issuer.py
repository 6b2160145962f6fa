"""Issuer: items on the verified basis need verifiers' signed reports, items on the confirmed
basis the debtor's own EIP-712 confirmation; DebtItem records only what the Issuer checked."""

from __future__ import annotations

from typing import Any

import boa
import pytest
from eth_account import Account
from eth_utils.crypto import keccak

from tests.contracts.conftest import (
    CNY,
    DAY0,
    VERIFIER,
    VERIFIER_KEY,
    Consortium,
    b32,
    issue_item,
    new_op,
    report_signature,
    typed_confirmation,
)

pytestmark = pytest.mark.contracts

FACE = 100_000_000


def _args(c: Consortium, name: str = "it", **over: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "item_id": b32(name),
        "holding_id": b32(f"{name}/h0"),
        "debtor": c.core.address,
        "currency": CNY,
        "face_value": FACE,
        "issue_day": DAY0,
        "maturity_day": DAY0 + 180,
        "asset_type": 1,
        "trade_hash": b32(f"trade-{name}"),
        "report_hash": b32(f"report-{name}"),
        "account_bank": c.bank,
    }
    args.update(over)
    return args


def _sig(c: Consortium, creditor: str, a: dict[str, Any], key: bytes | None = None) -> bytes:
    return report_signature(
        c, a["item_id"], creditor, a["debtor"], a["face_value"], a["maturity_day"],
        a["trade_hash"], a["report_hash"], a["account_bank"], key or VERIFIER_KEY,
    )  # fmt: skip


def _confirmation(
    c: Consortium, creditor: str, a: dict[str, Any], nonce: int, deadline: int, key: bytes
) -> bytes:
    typed = typed_confirmation(
        c.issuer,
        {
            "itemId": a["item_id"],
            "creditor": creditor,
            "debtor": a["debtor"],
            "currency": a["currency"],
            "faceValue": a["face_value"],
            "maturityDay": a["maturity_day"],
            "reportHash": a["report_hash"],
            "accountBank": a["account_bank"],
            "nonce": nonce,
            "deadline": deadline,
        },
    )
    return bytes(Account.sign_typed_data(key, full_message=typed).signature)


def _now() -> int:
    return int(boa.env.evm.patch.timestamp)


def test_a_verified_item_needs_the_verifiers_signed_report(consortium: Consortium) -> None:
    c = consortium
    a = _args(c)
    op = new_op()
    with boa.env.prank(c.tier1):
        c.issuer.issue(op, *a.values(), [_sig(c, c.tier1, a)])
    assert c.issuer.applied(op)
    assert c.debt.item(a["item_id"]).basis == 1
    assert c.debt.account_bank(a["item_id"]) == c.bank
    assert c.issuer.report_digest(
        a["item_id"], a["trade_hash"], a["report_hash"], c.tier1, c.core.address, CNY, FACE,
        a["maturity_day"], c.bank,
    ) != b"\x00" * 32  # fmt: skip


def test_issuance_on_a_made_up_report_fails(consortium: Consortium) -> None:
    """Probe: a member issued 10**15 "verified on evidence" against any debtor with a made-up
    report hash. Now the report must be signed by a verifier, over these very terms."""
    c = consortium
    a = _args(c, face_value=10**15)
    with boa.env.prank(c.tier1):
        with boa.reverts("issuer: too few verifier signatures"):
            c.issuer.issue(new_op(), *a.values(), [])
        # Signed by a member that is not a verifier (the creditor itself).
        rogue = keccak(text="rogue-signer")
        with boa.reverts("issuer: signer is not a verifier"):
            c.issuer.issue(new_op(), *a.values(), [_sig(c, c.tier1, a, rogue)])
        # The verifier's signature of other terms (a smaller amount) recovers another signer.
        honest = _sig(c, c.tier1, {**a, "face_value": 1_000})
        with boa.reverts("issuer: signer is not a verifier"):
            c.issuer.issue(new_op(), *a.values(), [honest])
    # Another creditor cannot reuse the report signed for tier 1.
    with boa.env.prank(c.tier2), boa.reverts("issuer: signer is not a verifier"):
        c.issuer.issue(new_op(), *a.values(), [_sig(c, c.tier1, a)])
    # DebtItem takes items from the Issuer only.
    with boa.env.prank(c.tier1), boa.reverts("debt_item: caller is not the issuer"):
        c.debt.register_issue(
            a["item_id"], a["holding_id"], c.tier1, c.core.address, CNY, FACE, DAY0,
            DAY0 + 180, 1, a["trade_hash"], a["report_hash"], 1, c.bank,
        )  # fmt: skip
    assert c.debt.item(a["item_id"]).state == 0


def test_k_of_n_verifiers(consortium: Consortium) -> None:
    c = consortium
    second_key = keccak(text="second-verifier")
    second = Account.from_key(second_key).address
    with boa.env.prank(c.operator):
        c.registry.admit(new_op(), second, b32("org-v2"), VERIFIER)
        c.issuer.set_verifier_quorum(new_op(), 2)
    a = _args(c)
    one = _sig(c, c.tier1, a)
    two = _sig(c, c.tier1, a, second_key)
    ordered = [one, two] if c.verifier.address.lower() < second.lower() else [two, one]
    with boa.env.prank(c.tier1):
        with boa.reverts("issuer: too few verifier signatures"):
            c.issuer.issue(new_op(), *a.values(), [one])
        with boa.reverts("issuer: signers not distinct and ascending"):
            c.issuer.issue(new_op(), *a.values(), [one, one])
        c.issuer.issue(new_op(), *a.values(), ordered)
    assert c.debt.item(a["item_id"]).state == 1
    with boa.env.prank(c.tier1), boa.reverts("issuer: caller is not the operator"):
        c.issuer.set_verifier_quorum(new_op(), 1)


def test_the_account_bank_must_be_a_bank(consortium: Consortium) -> None:
    c = consortium
    a = _args(c, account_bank=c.tier2)
    with boa.env.prank(c.tier1), boa.reverts("debt_item: account bank is not a bank"):
        c.issuer.issue(new_op(), *a.values(), [_sig(c, c.tier1, a)])


def test_a_confirmed_item_needs_the_debtors_own_signature(consortium: Consortium) -> None:
    c = consortium
    a = _args(c)
    deadline = _now() + 3_600
    good = _confirmation(c, c.tier1, a, 0, deadline, c.core.key)
    stranger = _confirmation(c, c.tier1, a, 0, deadline, keccak(text="platform"))
    other_bank = _confirmation(c, c.tier1, {**a, "account_bank": c.bank2}, 0, deadline, c.core.key)
    with boa.env.prank(c.tier1):
        for sig, message in [
            (stranger, "issuer: invalid confirmation signature"),
            (other_bank, "issuer: invalid confirmation signature"),
            (good[:64], "issuer: invalid confirmation signature"),
        ]:
            with boa.reverts(message):
                c.issuer.issue_confirmed(new_op(), *a.values(), 0, deadline, sig)
        with boa.reverts("issuer: bad nonce"):
            c.issuer.issue_confirmed(new_op(), *a.values(), 1, deadline, good)
        c.issuer.issue_confirmed(new_op(), *a.values(), 0, deadline, good)
    assert c.debt.item(a["item_id"]).basis == 2
    assert c.issuer.nonces(c.core.address) == 1
    # Replayed for another item: the nonce is spent.
    b = _args(c, "it2")
    with boa.env.prank(c.tier1), boa.reverts("issuer: bad nonce"):
        c.issuer.issue_confirmed(new_op(), *b.values(), 0, deadline, good)
    late = _confirmation(c, c.tier1, b, 1, _now() - 1, c.core.key)
    with boa.env.prank(c.tier1), boa.reverts("issuer: confirmation expired"):
        c.issuer.issue_confirmed(new_op(), *b.values(), 1, _now() - 1, late)


def test_confirm_upgrades_a_verified_item_with_the_debtors_signature(
    consortium: Consortium,
) -> None:
    c = consortium
    item = issue_item(c)
    it = c.debt.item(item.item_id)
    a = _args(
        c, "item-1", trade_hash=it.trade_hash, report_hash=it.report_hash,
        maturity_day=it.maturity_day,
    )  # fmt: skip
    deadline = _now() + 60
    sig = _confirmation(c, c.tier1, a, 0, deadline, c.core.key)
    with boa.env.prank(c.outsider), boa.reverts("issuer: caller is not a member"):
        c.issuer.confirm(new_op(), item.item_id, 0, deadline, sig)
    with boa.env.prank(c.tier1), boa.reverts("issuer: no such item"):
        c.issuer.confirm(new_op(), b32("none"), 0, deadline, sig)
    with boa.env.prank(c.tier2):  # any member may submit the debtor's signature
        c.issuer.confirm(new_op(), item.item_id, 0, deadline, sig)
    assert c.debt.item(item.item_id).basis == 2
    sig1 = _confirmation(c, c.tier1, a, 1, deadline, c.core.key)
    with boa.env.prank(c.tier2), boa.reverts("debt_item: already confirmed"):
        c.issuer.confirm(new_op(), item.item_id, 1, deadline, sig1)
    with boa.env.prank(c.tier1), boa.reverts("debt_item: caller is not the issuer"):
        c.debt.mark_confirmed(item.item_id, 5)


def test_the_domain_is_the_issuers(consortium: Consortium) -> None:
    c = consortium
    domain = c.issuer.eip712Domain()
    assert (domain[1], domain[2], domain[4]) == ("FourFlow DebtItem", "1", c.issuer.address)


def test_issuer_writes_wait_while_paused_and_apply_once(consortium: Consortium) -> None:
    c = consortium
    a = _args(c)
    sig = _sig(c, c.tier1, a)
    with boa.env.prank(c.operator):
        c.registry.pause()
    with boa.env.prank(c.tier1), boa.reverts("issuer: paused"):
        c.issuer.issue(new_op(), *a.values(), [sig])
    with boa.env.prank(c.operator):
        c.registry.unpause()
    op = new_op()
    with boa.env.prank(c.tier1):
        c.issuer.issue(op, *a.values(), [sig])
        with boa.reverts("issuer: operation already applied"):
            c.issuer.issue(op, *a.values(), [sig])


def test_a_registered_account_names_the_account_bank(consortium: Consortium) -> None:
    """Once the debtor registered its settlement account, no creditor, verifier or debtor's
    signature issues an item naming another bank as its account bank."""
    c = consortium
    with boa.env.prank(c.core.address):
        c.registry.set_account(new_op(), c.bank, b32("core-account"))
    a = _args(c, account_bank=c.bank2)  # the verifier signed bank2: not the registered bank
    with boa.env.prank(c.tier1), boa.reverts("issuer: not the debtor's registered account bank"):
        c.issuer.issue(new_op(), *a.values(), [_sig(c, c.tier1, a)])
    deadline = _now() + 3_600
    key = keccak(text="fourflow-test-core")
    confirmed = _confirmation(c, c.tier1, a, c.issuer.nonces(c.core.address), deadline, key)
    with boa.env.prank(c.tier1), boa.reverts("issuer: not the debtor's registered account bank"):
        c.issuer.issue_confirmed(
            new_op(), *a.values(), c.issuer.nonces(c.core.address), deadline, confirmed
        )
    good = _args(c, "registered", account_bank=c.bank)
    with boa.env.prank(c.tier1):
        c.issuer.issue(new_op(), *good.values(), [_sig(c, c.tier1, good)])
    assert c.debt.account_bank(good["item_id"]) == c.bank
