"""SettlementToken: bank-only mint and burn, per-bank issuance, member-only transfers, pause."""

from __future__ import annotations

from collections.abc import Callable

import boa
import pytest

from tests.contracts.conftest import (
    CNY,
    Consortium,
    b32,
    events,
    new_op,
)

pytestmark = pytest.mark.contracts

ZERO = "0x" + "00" * 20


def test_a_bank_mints_against_deposits(consortium: Consortium) -> None:
    c = consortium
    op = new_op()
    with boa.env.prank(c.bank):
        c.token.mint(op, c.tier1, 5_000, b32("deposit-1"))
    assert events(c.token) == [
        ("OperationApplied", {"op_id": op, "kind": 1}),
        ("Transfer", {"sender": ZERO, "receiver": c.tier1, "value": 5_000}),
        (
            "Minted",
            {"bank": c.bank, "to": c.tier1, "amount": 5_000, "deposit_ref": b32("deposit-1")},
        ),
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
            c.token.mint(new_op(), to, amount, new_op())


def test_a_bank_burns_what_it_issued(consortium: Consortium) -> None:
    c = consortium
    with boa.env.prank(c.bank):
        c.token.mint(new_op(), c.bank, 100, new_op())
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
        c.token.mint(new_op(), c.bank2, 100, new_op())
    with boa.reverts("settlement_token: caller is not a bank"), boa.env.prank(c.tier1):
        c.token.burn(new_op(), 1)
    with boa.reverts("settlement_token: amount is zero"), boa.env.prank(c.bank):
        c.token.burn(new_op(), 0)
    # bank2 holds bank's tokens but issued none: it returns them to bank to redeem.
    with boa.reverts("settlement_token: burn exceeds issuance"), boa.env.prank(c.bank2):
        c.token.burn(new_op(), 1)
    with boa.env.prank(c.bank2):
        c.token.mint(new_op(), c.tier1, 1, new_op())
    with boa.reverts("erc20: burn amount exceeds balance"), boa.env.prank(c.bank):
        c.token.burn(new_op(), 1)


def test_transfers_between_members(consortium: Consortium) -> None:
    c = consortium
    with boa.env.prank(c.bank):
        c.token.mint(new_op(), c.tier1, 100, new_op())
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
        c.token.mint(new_op(), c.tier1, 100, new_op())
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
        calls: tuple[Callable[[], object], ...] = (
            lambda: c.token.transfer(c.tier2, 1),
            lambda: c.token.approve(c.tier2, 1),
        )
        for call in calls:
            with boa.reverts("settlement_token: paused"):
                call()
    with boa.reverts("settlement_token: paused"), boa.env.prank(c.bank):
        c.token.mint(new_op(), c.tier1, 1, new_op())


def test_an_operation_applies_once(consortium: Consortium) -> None:
    c = consortium
    op = new_op()
    with boa.env.prank(c.bank):
        c.token.mint(op, c.tier1, 1, new_op())
        with boa.reverts("settlement_token: operation already applied"):
            c.token.mint(op, c.tier1, 1, new_op())
        with boa.reverts("settlement_token: operation already applied"):
            c.token.burn(op, 1)


def test_mints_need_a_fresh_deposit_reference_and_stay_within_the_banks_cap(
    consortium: Consortium,
) -> None:
    """Probe: a bank minted without limit and without a deposit. Now: one mint per attested
    deposit reference, and never more outstanding than the cap governance set."""
    c = consortium
    with boa.env.prank(c.operator):
        c.token.set_mint_cap(new_op(), c.bank, 1_000)
    with boa.env.prank(c.bank):
        with boa.reverts("settlement_token: no deposit reference"):
            c.token.mint(new_op(), c.tier1, 1, b"\x00" * 32)
        c.token.mint(new_op(), c.tier1, 600, b32("deposit-a"))
        with boa.reverts("settlement_token: deposit already minted"):
            c.token.mint(new_op(), c.tier1, 1, b32("deposit-a"))
        with boa.reverts("settlement_token: mint cap exceeded"):
            c.token.mint(new_op(), c.tier1, 401, b32("deposit-b"))
        c.token.mint(new_op(), c.tier1, 400, b32("deposit-b"))
    # Redemption burns free room under the cap.
    with boa.env.prank(c.tier1):
        c.token.transfer(c.bank, 300)
    with boa.env.prank(c.bank):
        c.token.burn(new_op(), 300)
        c.token.mint(new_op(), c.tier1, 300, b32("deposit-c"))
    # A bank without a cap mints nothing.
    with boa.env.prank(c.operator):
        c.token.set_mint_cap(new_op(), c.bank2, 0)
    with boa.env.prank(c.bank2), boa.reverts("settlement_token: mint cap exceeded"):
        c.token.mint(new_op(), c.tier1, 1, b32("deposit-d"))


def test_only_the_owner_sets_mint_caps(consortium: Consortium) -> None:
    c = consortium
    for sender in (c.bank, c.tier1, c.outsider):
        with boa.env.prank(sender), boa.reverts("ownable: caller is not the owner"):
            c.token.set_mint_cap(new_op(), sender, 10**18)
