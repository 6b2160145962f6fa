"""Registry: admission, roles, suspension, pause, and operation idempotency."""

from __future__ import annotations

import boa
import pytest

from tests.contracts.conftest import (
    BANK,
    SUPPLIER,
    Consortium,
    b32,
    events,
    new_op,
)

pytestmark = pytest.mark.contracts

ZERO = "0x" + "00" * 20


def test_admit_records_an_active_member(consortium: Consortium) -> None:
    c = consortium
    newcomer = boa.env.generate_address("newcomer")
    op = new_op()
    count = c.registry.member_count()
    with boa.env.prank(c.operator):
        c.registry.admit(op, newcomer, b32("org-new"), SUPPLIER | BANK)
    assert events(c.registry) == [
        ("OperationApplied", {"op_id": op, "kind": 1}),
        (
            "MemberAdmitted",
            {"member": newcomer, "org_id": b32("org-new"), "roles": SUPPLIER | BANK},
        ),
    ]
    assert c.registry.is_member(newcomer)
    assert c.registry.has_role(newcomer, BANK)
    assert c.registry.has_role(newcomer, SUPPLIER | BANK)
    assert not c.registry.has_role(newcomer, 1)
    assert not c.registry.has_role(newcomer, 0)
    assert c.registry.member_of(newcomer) == (b32("org-new"), SUPPLIER | BANK, True)
    assert c.registry.member_count() == count + 1
    assert c.registry.applied(op)


def test_the_deployer_is_the_operator(consortium: Consortium) -> None:
    assert consortium.registry.owner() == consortium.operator


def test_unknown_account_is_not_a_member(consortium: Consortium) -> None:
    c = consortium
    assert not c.registry.is_member(c.outsider)
    assert not c.registry.has_role(c.outsider, BANK)
    assert c.registry.member_of(c.outsider) == (b"\x00" * 32, 0, False)


@pytest.mark.parametrize(
    ("who", "member", "roles", "message"),
    [
        ("outsider", "newcomer", SUPPLIER, "ownable: caller is not the owner"),
        ("tier1", "newcomer", SUPPLIER, "ownable: caller is not the owner"),
        ("operator", "tier1", SUPPLIER, "registry: already a member"),
        ("operator", "newcomer", 0, "registry: roles must not be empty"),
        ("operator", "zero", SUPPLIER, "registry: zero address"),
    ],
)
def test_admit_refuses(
    consortium: Consortium, who: str, member: str, roles: int, message: str
) -> None:
    c = consortium
    accounts = {
        "outsider": c.outsider,
        "tier1": c.tier1,
        "operator": c.operator,
        "newcomer": boa.env.generate_address("newcomer"),
        "zero": ZERO,
    }
    with boa.env.prank(accounts[who]), boa.reverts(message):
        c.registry.admit(new_op(), accounts[member], b32("org-x"), roles)


def test_suspended_member_cannot_be_admitted_again(consortium: Consortium) -> None:
    c = consortium
    with boa.env.prank(c.operator):
        c.registry.suspend(new_op(), c.tier2)
        with boa.reverts("registry: already a member"):
            c.registry.admit(new_op(), c.tier2, b32("org-x"), SUPPLIER)


def test_set_roles_replaces_the_bits(consortium: Consortium) -> None:
    c = consortium
    op = new_op()
    with boa.env.prank(c.operator):
        c.registry.set_roles(op, c.tier2, SUPPLIER | BANK)
    assert events(c.registry) == [
        ("OperationApplied", {"op_id": op, "kind": 2}),
        ("RolesChanged", {"member": c.tier2, "roles": SUPPLIER | BANK}),
    ]
    assert c.registry.has_role(c.tier2, BANK)
    assert c.registry.member_of(c.tier2)[1] == SUPPLIER | BANK


@pytest.mark.parametrize(
    ("who", "member", "roles", "message"),
    [
        ("tier1", "tier2", BANK, "ownable: caller is not the owner"),
        ("operator", "outsider", BANK, "registry: not a member"),
        ("operator", "tier2", 0, "registry: roles must not be empty"),
    ],
)
def test_set_roles_refuses(
    consortium: Consortium, who: str, member: str, roles: int, message: str
) -> None:
    c = consortium
    with boa.env.prank(getattr(c, who)), boa.reverts(message):
        c.registry.set_roles(new_op(), getattr(c, member), roles)


def test_suspend_and_reinstate(consortium: Consortium) -> None:
    c = consortium
    op_suspend, op_reinstate = new_op(), new_op()
    with boa.env.prank(c.operator):
        c.registry.suspend(op_suspend, c.bank)
        assert events(c.registry) == [
            ("OperationApplied", {"op_id": op_suspend, "kind": 3}),
            ("MemberSuspended", {"member": c.bank}),
        ]
        assert not c.registry.is_member(c.bank)
        assert not c.registry.has_role(c.bank, BANK)
        assert c.registry.member_of(c.bank) == (b32("org-bank"), BANK, False)

        c.registry.reinstate(op_reinstate, c.bank)
        assert events(c.registry) == [
            ("OperationApplied", {"op_id": op_reinstate, "kind": 4}),
            ("MemberReinstated", {"member": c.bank}),
        ]
    assert c.registry.is_member(c.bank)
    assert c.registry.has_role(c.bank, BANK)


@pytest.mark.parametrize("function", ["suspend", "reinstate"])
def test_suspend_and_reinstate_refuse(consortium: Consortium, function: str) -> None:
    c = consortium
    with boa.env.prank(c.tier1), boa.reverts("ownable: caller is not the owner"):
        getattr(c.registry, function)(new_op(), c.tier2)
    with boa.env.prank(c.operator), boa.reverts("registry: not a member"):
        getattr(c.registry, function)(new_op(), c.outsider)


def test_pause_and_unpause(consortium: Consortium) -> None:
    c = consortium
    with boa.env.prank(c.operator):
        c.registry.pause()
        assert events(c.registry) == [("Paused", {"by": c.operator, "until": 2**256 - 1})]
        assert c.registry.paused()
        with boa.reverts("registry: already paused"):
            c.registry.pause()
        c.registry.unpause()
        assert events(c.registry) == [("Unpaused", {"by": c.operator})]
        assert not c.registry.paused()
        with boa.reverts("registry: not paused"):
            c.registry.unpause()


def test_the_guardians_pause_lapses_unless_ratified(consortium: Consortium) -> None:
    c = consortium
    guardian = boa.env.generate_address("guardian")
    with boa.env.prank(c.tier1), boa.reverts("registry: caller is not the guardian"):
        c.registry.guardian_pause()
    with boa.env.prank(c.operator):
        c.registry.set_guardian(guardian)
    with boa.env.prank(guardian):
        c.registry.guardian_pause()
        assert c.registry.paused()
        # One pause only, until governance names the guardian again.
        with boa.reverts("registry: caller is not the guardian"):
            c.registry.guardian_pause()
    window = c.registry.GUARDIAN_PAUSE_SECONDS()
    boa.env.time_travel(seconds=window)
    assert not c.registry.paused()
    # Ratified: the owner's pause does not lapse.
    with boa.env.prank(c.operator):
        c.registry.set_guardian(guardian)
    with boa.env.prank(guardian):
        c.registry.guardian_pause()
    with boa.env.prank(c.operator):
        c.registry.pause()
    boa.env.time_travel(seconds=window + 1)
    assert c.registry.paused()


@pytest.mark.parametrize("function", ["pause", "unpause"])
def test_pause_and_unpause_are_operator_only(consortium: Consortium, function: str) -> None:
    c = consortium
    with boa.env.prank(c.tier1), boa.reverts("ownable: caller is not the owner"):
        getattr(c.registry, function)()


def test_registry_writes_stay_open_while_paused(consortium: Consortium) -> None:
    c = consortium
    with boa.env.prank(c.operator):
        c.registry.pause()
        c.registry.suspend(new_op(), c.tier2)
    assert not c.registry.is_member(c.tier2)


def test_operator_role_can_be_handed_over(consortium: Consortium) -> None:
    c = consortium
    successor = boa.env.generate_address("successor")
    with boa.env.prank(c.operator):
        c.registry.transfer_ownership(successor)
        with boa.reverts("ownable: caller is not the owner"):
            c.registry.admit(new_op(), c.outsider, b32("org-out"), SUPPLIER)
    with boa.env.prank(successor):
        c.registry.admit(new_op(), c.outsider, b32("org-out"), SUPPLIER)
    assert c.registry.is_member(c.outsider)


@pytest.mark.parametrize(
    ("function", "args"),
    [
        ("admit", ("outsider", b32("org-out"), SUPPLIER)),
        ("set_roles", ("tier2", SUPPLIER | BANK)),
        ("suspend", ("tier2",)),
        ("reinstate", ("tier2",)),
    ],
)
def test_an_operation_applies_once(
    consortium: Consortium, function: str, args: tuple[object, ...]
) -> None:
    c = consortium
    resolved = [getattr(c, a) if isinstance(a, str) else a for a in args]
    op = new_op()
    with boa.env.prank(c.operator):
        getattr(c.registry, function)(op, *resolved)
        assert c.registry.applied(op)
        with boa.reverts("registry: operation already applied"):
            getattr(c.registry, function)(op, *resolved)


def test_a_member_registers_its_own_settlement_account(consortium: Consortium) -> None:
    """The debtor's account bank is a registered fact: the member's own transaction sets and
    changes it; nobody else (operator, bank) can, and the bank must be an active bank."""
    c = consortium
    core = c.core.address
    account = b32("6222020001000000011")
    assert c.registry.account_of(core) == ("0x" + "00" * 20, b"\x00" * 32)
    with boa.env.prank(c.outsider), boa.reverts("registry: caller is not a member"):
        c.registry.set_account(new_op(), c.bank, account)
    with boa.env.prank(core):
        with boa.reverts("registry: account bank is not a bank"):
            c.registry.set_account(new_op(), c.tier1, account)
        with boa.reverts("registry: no account"):
            c.registry.set_account(new_op(), c.bank, b"\x00" * 32)
        op = new_op()
        c.registry.set_account(op, c.bank, account)
    assert [type(e).__name__ for e in c.registry.get_logs()] == [
        "OperationApplied",
        "AccountRegistered",
    ]
    assert c.registry.account_of(core) == (c.bank, account)
    # The operator's or a bank's call sets *its own* account, never the debtor's.
    with boa.env.prank(c.bank2):
        c.registry.set_account(new_op(), c.bank2, b32("bank2-own"))
    assert c.registry.account_of(core) == (c.bank, account)
    with boa.env.prank(c.operator), boa.reverts("registry: caller is not a member"):
        c.registry.set_account(new_op(), c.bank2, account)
    with boa.env.prank(core):  # the debtor moves its account
        c.registry.set_account(new_op(), c.bank2, b32("new-account"))
    assert c.registry.account_of(core).bank == c.bank2
    with boa.env.prank(core), boa.reverts("registry: operation already applied"):
        c.registry.set_account(op, c.bank, account)


def test_a_members_node_and_its_signer_vote_are_recorded_by_the_owner(
    consortium: Consortium,
) -> None:
    """Registry.set_node: the owner records the node a member runs and whether the network's
    signers voted it in or out; a node belongs to one member, a member runs one node."""
    c = consortium
    node = boa.env.generate_address("bank-node")
    other = boa.env.generate_address("other-node")
    with boa.env.prank(c.bank), boa.reverts("ownable: caller is not the owner"):
        c.registry.set_node(new_op(), c.bank, node, True)  # not the member itself
    with boa.env.prank(c.operator):
        with boa.reverts("registry: not a member"):
            c.registry.set_node(new_op(), c.outsider, node, False)
        with boa.reverts("registry: zero address"):
            c.registry.set_node(new_op(), c.bank, ZERO, False)
        c.registry.set_node(new_op(), c.bank, node, False)  # it joined: a plain node
        assert (c.registry.node_of(c.bank), c.registry.member_of_node(node)) == (node, c.bank)
        assert not c.registry.is_signer(node) and c.registry.signer_count() == 0
        c.registry.set_node(new_op(), c.bank, node, True)  # voted in
        assert [type(e).__name__ for e in c.registry.get_logs()] == [
            "OperationApplied",
            "NodeRecorded",
        ]
        assert c.registry.is_signer(node) and c.registry.signer_count() == 1
        c.registry.set_node(new_op(), c.bank, node, True)  # recorded again: counted once
        assert c.registry.signer_count() == 1
        with boa.reverts("registry: node of another member"):
            c.registry.set_node(new_op(), c.bank2, node, True)
        with boa.reverts("registry: member has another node"):
            c.registry.set_node(new_op(), c.bank, other, True)
        c.registry.set_node(new_op(), c.bank, node, False)  # voted out
        assert not c.registry.is_signer(node) and c.registry.signer_count() == 0
        assert c.registry.node_of(c.bank) == node
