"""Governance: the council, not one key, admits members, grants roles, suspends and pauses;
the probes of issue 14 ("one key rules all", "any bank can settle", "pledges need no bank")."""

from __future__ import annotations

from typing import Any

import boa
import pytest
from eth_abi.abi import encode
from eth_utils.abi import function_signature_to_4byte_selector as selector

from tests.contracts.conftest import (
    BANK,
    DAY0,
    OPERATOR,
    SUPPLIER,
    Consortium,
    b32,
    issue_item,
    new_op,
)

pytestmark = pytest.mark.contracts

DAY = 86_400


def _call(signature: str, types: list[str], values: list[Any]) -> bytes:
    return selector(signature) + encode(types, values)


@pytest.fixture
def governed(consortium: Consortium, deployers: dict[str, Any]) -> tuple[Consortium, Any, str]:
    """The registry and token handed to a council of the operator org and both banks (2 of 3,
    one day's timelock)."""
    c = consortium
    operator_org = boa.env.generate_address("operator-org")
    with boa.env.prank(c.operator):
        c.registry.admit(new_op(), operator_org, b32("org-operator"), OPERATOR)
    gov = deployers["Governance"].deploy([operator_org, c.bank, c.bank2], 2, DAY)
    with boa.env.prank(c.operator):
        c.registry.transfer_ownership(gov.address)
        c.token.transfer_ownership(gov.address)
    return c, gov, operator_org


def test_one_key_no_longer_admits_a_sock_puppet_bank(governed: tuple[Consortium, Any, str]) -> None:
    """Probe: the operator alone admitted members with any role. Now a proposal needs a
    majority of the council and the timelock."""
    c, gov, operator_org = governed
    for who in (c.operator, operator_org):
        with boa.env.prank(who), boa.reverts("ownable: caller is not the owner"):
            c.registry.admit(new_op(), c.outsider, b32("org-puppet"), BANK)
    data = _call(
        "admit(bytes32,address,bytes32,uint256)",
        ["bytes32", "address", "bytes32", "uint256"],
        [new_op(), c.outsider, b32("org-puppet"), BANK],
    )
    with boa.env.prank(operator_org):
        pid = gov.propose(c.registry.address, data)
        with boa.reverts("governance: not enough votes"):
            gov.execute(pid)
        with boa.reverts("governance: already voted"):
            gov.vote(pid)
    with boa.env.prank(c.tier1), boa.reverts("governance: caller is not a councillor"):
        gov.vote(pid)
    with boa.env.prank(c.bank):
        gov.vote(pid)
        with boa.reverts("governance: timelock"):
            gov.execute(pid)
    assert not c.registry.is_member(c.outsider)
    boa.env.time_travel(seconds=DAY)
    gov.execute(pid)
    assert c.registry.has_role(c.outsider, BANK)
    with boa.reverts("governance: already executed"):
        gov.execute(pid)


def test_a_unanimous_council_needs_no_delay_and_a_failing_call_reverts(
    governed: tuple[Consortium, Any, str],
) -> None:
    c, gov, operator_org = governed
    strip = _call(
        "set_roles(bytes32,address,uint256)",
        ["bytes32", "address", "uint256"],
        [new_op(), c.bank, SUPPLIER],
    )
    with boa.env.prank(operator_org):
        pid = gov.propose(c.registry.address, strip)
    for bank in (c.bank, c.bank2):
        with boa.env.prank(bank):
            gov.vote(pid)
    gov.execute(pid)
    assert not c.registry.has_role(c.bank, BANK)
    bad = _call("suspend(bytes32,address)", ["bytes32", "address"], [new_op(), c.outsider])
    with boa.env.prank(operator_org):
        pid = gov.propose(c.registry.address, bad)
    for bank in (c.bank, c.bank2):
        with boa.env.prank(bank):
            gov.vote(pid)
    with boa.reverts():
        gov.execute(pid)


def test_the_council_changes_only_by_its_own_proposals(
    governed: tuple[Consortium, Any, str],
) -> None:
    c, gov, operator_org = governed
    with boa.env.prank(operator_org), boa.reverts("governance: only by proposal"):
        gov.add_councillor(c.tier1)
    data = _call("remove_councillor(address)", ["address"], [c.bank2])
    with boa.env.prank(operator_org):
        pid = gov.propose(gov.address, data)
    with boa.env.prank(c.bank):
        gov.vote(pid)
    boa.env.time_travel(seconds=DAY)
    gov.execute(pid)
    assert not gov.is_councillor(c.bank2)
    # 2 of 2 now: the threshold stays a majority.
    data = _call("set_threshold(uint256)", ["uint256"], [1])
    with boa.env.prank(operator_org):
        pid = gov.propose(gov.address, data)
    with boa.env.prank(c.bank):
        gov.vote(pid)
    with boa.reverts("governance: threshold must be a majority"):
        gov.execute(pid)


def test_a_removed_councillors_vote_lapses_and_the_proposer_may_cancel(
    governed: tuple[Consortium, Any, str],
) -> None:
    c, gov, operator_org = governed
    with boa.env.prank(operator_org):
        pid = gov.propose(c.registry.address, _call("pause()", [], []))
    with boa.env.prank(c.bank), boa.reverts("governance: caller is not the proposer"):
        gov.cancel(pid)
    with boa.env.prank(operator_org):
        gov.cancel(pid)
    with boa.env.prank(c.bank), boa.reverts("governance: cancelled"):
        gov.vote(pid)


def test_mint_caps_are_set_by_governance(governed: tuple[Consortium, Any, str]) -> None:
    """Probe: the operator minted without limit and any bank too. Now caps come from the
    council, and mints need a fresh deposit reference."""
    c, gov, operator_org = governed
    with boa.env.prank(c.operator), boa.reverts("ownable: caller is not the owner"):
        c.token.set_mint_cap(new_op(), c.bank, 10**30)
    data = _call(
        "set_mint_cap(bytes32,address,uint256)",
        ["bytes32", "address", "uint256"],
        [new_op(), c.bank, 500],
    )
    with boa.env.prank(operator_org):
        pid = gov.propose(c.token.address, data)
    with boa.env.prank(c.bank2):
        gov.vote(pid)
    boa.env.time_travel(seconds=DAY)
    gov.execute(pid)
    with boa.env.prank(c.bank):
        c.token.mint(new_op(), c.tier1, 500, b32("dep-1"))
        with boa.reverts("settlement_token: mint cap exceeded"):
            c.token.mint(new_op(), c.tier1, 1, b32("dep-2"))


def test_a_rogue_bank_cannot_settle_another_banks_item(consortium: Consortium) -> None:
    """Probe: an unrelated bank attested a full payment on an item pledged to another bank;
    the item settled and the pledge was released with no money moved."""
    c = consortium
    item = issue_item(c, face_value=1_000_000)
    with boa.env.prank(c.tier1):
        c.debt.pledge(new_op(), item.holding_id, c.bank, 600_000, 450, DAY0)
    with boa.env.prank(c.bank):
        c.debt.accept_pledge(new_op(), item.holding_id, 600_000, 450)
    with boa.env.prank(c.bank2):
        with boa.reverts("debt_item: caller is not the account bank"):
            c.debt.attest_payment(new_op(), item.item_id, 1_000_000, DAY0 + 1, b32("fake"))
        with boa.reverts("debt_item: caller is not the debtor"):
            c.debt.repay(new_op(), item.item_id, 1_000_000, DAY0 + 1)
    # Even the debtor's own account bank cannot pay another bank's pledge on its word.
    with boa.env.prank(c.core.address):
        c.debt.set_account_bank(new_op(), item.item_id, c.bank2)
    with boa.env.prank(c.bank2), boa.reverts("debt_item: pledged to another bank"):
        c.debt.attest_payment(new_op(), item.item_id, 1_000_000, DAY0 + 1, b32("stmt"))
    it, h = c.debt.item(item.item_id), c.debt.holding(item.holding_id)
    assert (it.state, it.paid, h.pledge_principal) == (1, 0, 600_000)
    # The account bank is the debtor's to change, nobody else's.
    with boa.env.prank(c.bank), boa.reverts("debt_item: caller is not the debtor"):
        c.debt.set_account_bank(new_op(), item.item_id, c.bank)


def test_a_pledge_needs_the_banks_acceptance_and_a_bounded_rate(consortium: Consortium) -> None:
    """Probe: the holder alone pledged 100 units at rate 2**250, and every repayment of the
    item then reverted on overflow."""
    c = consortium
    item = issue_item(c, face_value=1_000_000)
    with boa.env.prank(c.tier1):
        with boa.reverts("debt_item: rate exceeds the cap"):
            c.debt.pledge(new_op(), item.holding_id, c.bank, 100, 2**250, DAY0)
        c.debt.pledge(new_op(), item.holding_id, c.bank, 100, 450, DAY0)
    assert c.debt.holding(item.holding_id).pledge_principal == 0  # an offer pledges nothing
    with boa.env.prank(c.bank2), boa.reverts("debt_item: caller is not the offered bank"):
        c.debt.accept_pledge(new_op(), item.holding_id, 100, 450)
    with boa.env.prank(c.bank), boa.reverts("debt_item: terms differ from the offer"):
        c.debt.accept_pledge(new_op(), item.holding_id, 100, 9_000)
    with boa.env.prank(c.bank):
        c.debt.accept_pledge(new_op(), item.holding_id, 100, 450)
    # At the highest rate and the longest time a uint32 day allows, interest still fits.
    with boa.env.prank(c.operator):
        c.debt.set_max_rate(new_op(), 100_000)
        with boa.reverts("debt_item: rate cap too high"):
            c.debt.set_max_rate(new_op(), 100_001)
    with boa.env.prank(c.core.address):
        c.debt.repay(new_op(), item.item_id, 1_000_000, DAY0 + 30)
    assert c.debt.item(item.item_id).state == 2


def test_the_council_sets_a_verifier_quorum_of_two(
    governed: tuple[Consortium, Any, str],
) -> None:
    """k of n verifiers, configured by governance: once the council raises the quorum to 2,
    one verifier's signature issues nothing, the same verifier twice issues nothing, and two
    distinct verifiers (admitted by the council too) issue the item."""
    from eth_account import Account
    from eth_utils.crypto import keccak

    from tests.contracts.conftest import CNY, VERIFIER, VERIFIER_KEY, report_signature

    c, gov, operator_org = governed
    for who in (c.operator, operator_org):  # the operator alone may no longer change it
        with boa.env.prank(who), boa.reverts("issuer: caller is not the operator"):
            c.issuer.set_verifier_quorum(new_op(), 2)
    second_key = keccak(text="council-second-verifier")
    second = Account.from_key(second_key).address
    admit = _call(
        "admit(bytes32,address,bytes32,uint256)",
        ["bytes32", "address", "bytes32", "uint256"],
        [new_op(), second, b32("org-verifier-2"), VERIFIER],
    )
    quorum = _call("set_verifier_quorum(bytes32,uint256)", ["bytes32", "uint256"], [new_op(), 2])
    with boa.env.prank(operator_org):
        p_admit = gov.propose(c.registry.address, admit)
        p_quorum = gov.propose(c.issuer.address, quorum)
    with boa.env.prank(c.bank):
        gov.vote(p_admit)
        gov.vote(p_quorum)
    boa.env.time_travel(seconds=DAY)
    gov.execute(p_admit)
    gov.execute(p_quorum)
    assert c.issuer.verifier_quorum() == 2 and c.registry.has_role(second, VERIFIER)

    item, face, maturity = b32("k2-item"), 1_000_000, DAY0 + 90
    trade, report = b32("k2-trade"), b32("k2-report")
    args = (
        new_op(), item, b32("k2-item/h0"), c.core.address, CNY, face, DAY0, maturity, 1,
        trade, report, c.bank,
    )  # fmt: skip

    def sig(key: bytes | None = None) -> bytes:
        return report_signature(
            c, item, c.tier1, c.core.address, face, maturity, trade, report, c.bank,
            key or VERIFIER_KEY,
        )  # fmt: skip

    one, two = sig(), sig(second_key)
    ordered = [one, two] if c.verifier.address.lower() < second.lower() else [two, one]
    with boa.env.prank(c.tier1):
        with boa.reverts("issuer: too few verifier signatures"):
            c.issuer.issue(*args, [one])
        with boa.reverts("issuer: signers not distinct and ascending"):
            c.issuer.issue(new_op(), *args[1:], [one, one])
        c.issuer.issue(new_op(), *args[1:], ordered)
    assert c.debt.item(item).state == 1 and c.debt.item(item).basis == 1
