"""Repayment.vy (issue 20): the locked repayment route and settlement at maturity.

The debtor locks its item's route once; on or after maturity anyone may have the Repayment
contract collect exactly what the token route holds (min of outstanding, the debtor's balance
and its allowance to DebtItem), routed banks first, once a day; a route changes only with the
EIP-712 signatures of the debtor and every pledgee, and the account bank no longer moves on
the debtor's word alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boa
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak

from fourflow.adapters.chain import routes
from tests.contracts.conftest import (
    SECONDS_PER_DAY,
    TODAY,
    Consortium,
    Issued,
    b32,
    issue_item,
    named,
    new_op,
    pledge,
)

pytestmark = pytest.mark.contracts

CONTRACTS = Path(__file__).resolve().parents[2] / "src" / "fourflow" / "contracts"
TOKENS, ACCOUNT = 1, 2
ACTIVE, SETTLED = 1, 2
ZERO = "0x" + "00" * 20
ACCOUNT_HASH = keccak(text="6222020200112233445")  # the collection account (回款专户)
BANK_KEY = keccak(text="fourflow-test-route-bank")


@pytest.fixture(scope="module")
def repayment_deployer() -> Any:
    return boa.load_partial(str(CONTRACTS / "Repayment.vy"))


@pytest.fixture
def wired(consortium: Consortium, repayment_deployer: Any) -> tuple[Consortium, Any, LocalAccount]:
    """The consortium with a Repayment contract set on DebtItem, and a bank with a signing key
    (admitted with the bank role) to sign route changes as a pledgee."""
    c = consortium
    repayment = repayment_deployer.deploy(c.registry.address, c.debt.address)
    keyed_bank = Account.from_key(BANK_KEY)
    with boa.env.prank(c.operator):
        c.debt.set_repayment(new_op(), repayment.address)
        c.registry.admit(new_op(), keyed_bank.address, b32("org-keyed-bank"), 32)
        c.token.set_mint_cap(new_op(), keyed_bank.address, 10**15)
    return c, repayment, keyed_bank


def _mint_and_approve(c: Consortium, amount: int, allowance: int) -> None:
    with boa.env.prank(c.bank):
        c.token.mint(new_op(), c.core.address, amount, new_op())
    with boa.env.prank(c.core.address):
        c.token.approve(c.debt.address, allowance)


def _at_day(day: int) -> None:
    boa.env.evm.patch.timestamp = day * SECONDS_PER_DAY + 3_600


def _item(c: Consortium, name: str, maturity: int = TODAY + 30) -> Issued:
    return issue_item(c, name, face_value=1_000_000, issue_day=TODAY - 100, maturity_day=maturity)


def _lock(c: Consortium, repayment: Any, item: Issued, kind: int = TOKENS) -> None:
    with boa.env.prank(c.core.address):
        repayment.lock_route(new_op(), item.item_id, kind, ACCOUNT_HASH)


def _sign(repayment: Any, key: bytes, item: Issued, kind: int, bank: str, deadline: int) -> bytes:
    change = routes.RouteChange(
        item.item_id, kind, bank, ACCOUNT_HASH, repayment.route(item.item_id).nonce, deadline
    )
    signature = routes.sign(
        change, key, chain_id=boa.env.evm.patch.chain_id, verifying_contract=repayment.address
    )
    return bytes.fromhex(signature.removeprefix("0x"))


def test_only_the_debtor_locks_a_route_and_only_once(wired: Any) -> None:
    c, repayment, _ = wired
    item = _item(c, "lock-1")
    with boa.reverts("repayment: caller is not the debtor"), boa.env.prank(c.tier1):
        repayment.lock_route(new_op(), item.item_id, TOKENS, ACCOUNT_HASH)
    with boa.reverts("repayment: bad route kind"), boa.env.prank(c.core.address):
        repayment.lock_route(new_op(), item.item_id, 3, ACCOUNT_HASH)
    with boa.reverts("repayment: no collection account"), boa.env.prank(c.core.address):
        repayment.lock_route(new_op(), item.item_id, ACCOUNT, b"\x00" * 32)
    _lock(c, repayment, item, ACCOUNT)
    assert named(repayment, "RouteLocked")[0]["kind"] == ACCOUNT
    route = repayment.route(item.item_id)
    assert (route.kind, route.bank, route.account_hash) == (ACCOUNT, c.bank, ACCOUNT_HASH)
    with boa.reverts("repayment: route is locked"), boa.env.prank(c.core.address):
        repayment.lock_route(new_op(), item.item_id, TOKENS, ACCOUNT_HASH)


def test_settles_at_maturity_bank_first_once_a_day(wired: Any) -> None:
    c, repayment, _ = wired
    maturity = TODAY + 30
    item = _item(c, "settle-1", maturity)
    # tier 1 pledges the whole holding to the bank for 600,000 at 5 %.
    pledge(c, c.tier1, item.holding_id, c.bank, 600_000, 500, TODAY)
    _lock(c, repayment, item)
    _mint_and_approve(c, 1_000_000, 1_000_000)
    with boa.reverts("repayment: not yet due"):
        repayment.settle(new_op(), item.item_id, 1_000_000, TODAY)
    _at_day(maturity)
    assert repayment.collectable(item.item_id) == 1_000_000
    with boa.reverts("repayment: amount is not what is due"):
        repayment.settle(new_op(), item.item_id, 999_999, maturity)  # a keeper cannot short it
    with boa.reverts("repayment: value date is not today"):
        repayment.settle(new_op(), item.item_id, 1_000_000, maturity - 1)
    bank0, tier0 = c.token.balanceOf(c.bank), c.token.balanceOf(c.tier1)
    with boa.env.prank(c.outsider):  # anyone may trigger it: the contract decides the amount
        repayment.settle(new_op(), item.item_id, 1_000_000, maturity)
    assert named(repayment, "Collected")[0]["amount"] == 1_000_000
    interest = 600_000 * 500 * 30 // 3_650_000
    assert c.token.balanceOf(c.bank) - bank0 == 600_000 + interest
    assert c.token.balanceOf(c.tier1) - tier0 == 1_000_000 - 600_000 - interest
    assert c.debt.item(item.item_id).state == SETTLED
    with boa.reverts("repayment: item is not payable"):
        repayment.settle(new_op(), item.item_id, 1, maturity)


def test_short_funds_collect_what_there_is_then_the_rest_another_day(wired: Any) -> None:
    c, repayment, _ = wired
    maturity = TODAY + 10
    item = _item(c, "short-1", maturity)
    _lock(c, repayment, item)
    _mint_and_approve(c, 400_000, 1_000_000)  # the balance is short
    _at_day(maturity)
    repayment.settle(new_op(), item.item_id, 400_000, maturity)
    assert c.debt.outstanding(item.item_id) == 600_000
    assert c.debt.item(item.item_id).state == ACTIVE
    with boa.env.prank(c.bank):
        c.token.mint(new_op(), c.core.address, 1_000_000, new_op())
    with boa.reverts("repayment: already collected today"):
        repayment.settle(new_op(), item.item_id, 600_000, maturity)
    _at_day(maturity + 1)
    assert repayment.collectable(item.item_id) == 600_000  # allowance left: 600,000
    repayment.settle(new_op(), item.item_id, 600_000, maturity + 1)
    assert c.debt.item(item.item_id).state == SETTLED
    assert repayment.route(item.item_id).collected == 1_000_000


def test_nothing_to_collect_and_account_routes_are_refused(wired: Any) -> None:
    c, repayment, _ = wired
    maturity = TODAY + 5
    tokens, account = _item(c, "empty-1", maturity), _item(c, "account-1", maturity)
    _lock(c, repayment, tokens)
    _lock(c, repayment, account, ACCOUNT)
    _at_day(maturity)
    with boa.reverts("repayment: nothing to collect"):
        repayment.settle(new_op(), tokens.item_id, 0, maturity)
    with boa.reverts("repayment: not a token route"):
        repayment.settle(new_op(), account.item_id, 0, maturity)


def test_route_change_needs_the_debtor_and_every_pledgee(wired: Any) -> None:
    c, repayment, keyed_bank = wired
    item = _item(c, "change-1")
    pledge(c, c.tier1, item.holding_id, keyed_bank.address, 500_000, 400, TODAY)
    _lock(c, repayment, item, ACCOUNT)
    deadline = TODAY * SECONDS_PER_DAY + 86_400
    new_bank = c.bank2
    by_debtor = _sign(repayment, c.core.key, item, ACCOUNT, new_bank, deadline)
    by_pledgee = _sign(repayment, BANK_KEY, item, ACCOUNT, new_bank, deadline)
    args = (item.item_id, ACCOUNT, new_bank, ACCOUNT_HASH, deadline)
    with boa.reverts("repayment: a pledgee has not signed"):
        repayment.change_route(new_op(), *args, [by_debtor])
    with boa.reverts("repayment: debtor has not signed"):
        repayment.change_route(new_op(), *args, [by_pledgee])
    with boa.reverts("repayment: invalid signature"):
        repayment.change_route(new_op(), *args, [by_debtor, b"\x01" * 65])
    # The debtor can no longer move its account bank alone on DebtItem either.
    with boa.reverts(), boa.env.prank(c.core.address):
        c.debt.set_account_bank(new_op(), item.item_id, new_bank)
    assert c.debt.account_bank(item.item_id) == c.bank
    repayment.change_route(new_op(), *args, [by_pledgee, by_debtor])
    assert named(repayment, "RouteChanged")[0]["signers"] == 2
    assert c.debt.account_bank(item.item_id) == new_bank
    route = repayment.route(item.item_id)
    assert (route.bank, route.nonce) == (new_bank, 1)
    # The signatures were for nonce 0: replayed, they recover to nobody who counts.
    with boa.reverts("repayment: debtor has not signed"):
        repayment.change_route(new_op(), *args, [by_pledgee, by_debtor])
    # A token route changes with the same consent (the account bank stays).
    tokens = (item.item_id, TOKENS, ZERO, ACCOUNT_HASH, deadline)
    signed = [_sign(repayment, k, item, TOKENS, ZERO, deadline) for k in (c.core.key, BANK_KEY)]
    repayment.change_route(new_op(), *tokens, signed)
    assert repayment.route(item.item_id).kind == TOKENS
