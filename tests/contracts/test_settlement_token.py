"""SettlementToken: bank-only mint and burn, per-bank issuance, member-only transfers, pause."""

from __future__ import annotations

import boa
import pytest

from tests.contracts.conftest import CNY, Consortium, events, new_op

pytestmark = pytest.mark.contracts

ZERO = "0x" + "00" * 20


def test_a_bank_mints_against_deposits(consortium: Consortium) -> None:
    c = consortium
    op = new_op()
    with boa.env.prank(c.bank):
        c.token.mint(op, c.tier1, 5_000)
    assert events(c.token) == [
        ("OperationApplied", {"op_id": op, "kind": 1}),
        ("Transfer", {"sender": ZERO, "receiver": c.tier1, "value": 5_000}),
        ("Minted", {"bank": c.bank, "to": c.tier1, "amount": 5_000}),
    ]
    assert (c.token.balanceOf(c.tier1), c.token.totalSupply(), c.token.issued(c.bank)) == (
        5_000,
    ) * 3
    assert (c.token.currency(), c.token.decimals(), c.token.symbol()) == (CNY, 2, "fCNY")


def test_mint_refuses(consortium: Consortium) -> None:
    c = consortium
    for sender, to, amount, message in [
        (c.tier1, c.tier1, 1, "settlement_token: caller is not a bank"),
        (c.operator, c.tier1, 1, "settlement_token: caller is not a bank"),
        (c.bank, c.outsider, 1, "settlement_token: recipient is not a member"),
        (c.bank, c.tier1, 0, "settlement_token: amount is zero"),
    ]:
        with boa.reverts(message), boa.env.prank(sender):
            c.token.mint(new_op(), to, amount)


def test_a_bank_burns_what_it_issued(consortium: Consortium) -> None:
    c = consortium
    with boa.env.prank(c.bank):
        c.token.mint(new_op(), c.bank, 100)
        op = new_op()
        c.token.burn(op, 40)
    assert events(c.token) == [
        ("OperationApplied", {"op_id": op, "kind": 2}),
        ("Transfer", {"sender": c.bank, "receiver": ZERO, "value": 40}),
        ("Burned", {"bank": c.bank, "amount": 40}),
    ]
    assert (c.token.totalSupply(), c.token.burned(c.bank)) == (60, 40)


def test_burn_refuses(consortium: Consortium) -> None:
    c = consortium
    with boa.env.prank(c.bank):
        c.token.mint(new_op(), c.bank2, 100)
    with boa.reverts("settlement_token: caller is not a bank"), boa.env.prank(c.tier1):
        c.token.burn(new_op(), 1)
    with boa.reverts("settlement_token: amount is zero"), boa.env.prank(c.bank):
        c.token.burn(new_op(), 0)
    # bank2 holds bank's tokens but issued none: it returns them to bank to redeem.
    with boa.reverts("settlement_token: burn exceeds issuance"), boa.env.prank(c.bank2):
        c.token.burn(new_op(), 1)
    with boa.env.prank(c.bank2):
        c.token.mint(new_op(), c.tier1, 1)
    with boa.reverts("erc20: burn amount exceeds balance"), boa.env.prank(c.bank):
        c.token.burn(new_op(), 1)


def test_transfers_between_members(consortium: Consortium) -> None:
    c = consortium
    with boa.env.prank(c.bank):
        c.token.mint(new_op(), c.tier1, 100)
    with boa.env.prank(c.tier1):
        assert c.token.transfer(c.tier2, 30)
        assert c.token.approve(c.bank, 50)
    with boa.env.prank(c.bank):
        assert c.token.transferFrom(c.tier1, c.bank2, 50)
    assert (c.token.balanceOf(c.tier1), c.token.balanceOf(c.tier2), c.token.balanceOf(c.bank2)) == (
        20,
        30,
        50,
    )


def test_transfers_refuse(consortium: Consortium) -> None:
    c = consortium
    with boa.env.prank(c.bank):
        c.token.mint(new_op(), c.tier1, 100)
    with boa.reverts("settlement_token: recipient is not a member"), boa.env.prank(c.tier1):
        c.token.transfer(c.outsider, 1)
    with boa.reverts("settlement_token: sender is not a member"), boa.env.prank(c.outsider):
        c.token.transfer(c.tier1, 0)
    with boa.reverts("erc20: insufficient allowance"), boa.env.prank(c.bank):
        c.token.transferFrom(c.tier1, c.bank, 1)
    with boa.reverts("erc20: transfer amount exceeds balance"), boa.env.prank(c.tier1):
        c.token.transfer(c.tier2, 101)
    with boa.env.prank(c.operator):
        c.registry.pause()
    with boa.env.prank(c.tier1):
        for call in (lambda: c.token.transfer(c.tier2, 1), lambda: c.token.approve(c.tier2, 1)):
            with boa.reverts("settlement_token: paused"):
                call()
    with boa.reverts("settlement_token: paused"), boa.env.prank(c.bank):
        c.token.mint(new_op(), c.tier1, 1)


def test_an_operation_applies_once(consortium: Consortium) -> None:
    c = consortium
    op = new_op()
    with boa.env.prank(c.bank):
        c.token.mint(op, c.tier1, 1)
        with boa.reverts("settlement_token: operation already applied"):
            c.token.mint(op, c.tier1, 1)
        with boa.reverts("settlement_token: operation already applied"):
            c.token.burn(op, 1)
