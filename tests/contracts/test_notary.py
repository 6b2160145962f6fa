"""Notary: fingerprint registration and batch anchors."""

from __future__ import annotations

import boa
import pytest

from tests.contracts.conftest import Consortium, b32, events, named, new_op

pytestmark = pytest.mark.contracts

ZERO32 = b"\x00" * 32
ZERO = "0x" + "00" * 20


def test_register_records_every_fingerprint(consortium: Consortium) -> None:
    c = consortium
    fps = [b32("doc-a"), b32("doc-b"), b32("doc-c")]
    op = new_op()
    with boa.env.prank(c.tier1):
        c.notary.register(op, fps)
    assert events(c.notary) == [
        ("OperationApplied", {"op_id": op, "kind": 1}),
        *[("FingerprintRegistered", {"fingerprint": fp, "submitter": c.tier1}) for fp in fps],
    ]
    assert [c.notary.fingerprint_owner(fp) for fp in fps] == [c.tier1] * 3
    assert c.notary.fingerprint_owner(b32("doc-unknown")) == ZERO
    assert c.notary.applied(op)


def test_register_refuses_an_empty_batch(consortium: Consortium) -> None:
    with boa.env.prank(consortium.tier1), boa.reverts("notary: empty batch"):
        consortium.notary.register(new_op(), [])


def test_a_fingerprint_another_member_took_first_does_not_block_mine(
    consortium: Consortium,
) -> None:
    """Squatting: tier2 registers tier1's fingerprint first; tier1's batch still goes through."""
    c = consortium
    with boa.env.prank(c.tier2):
        c.notary.register(new_op(), [b32("doc-a")])
    with boa.env.prank(c.tier1):
        c.notary.register(new_op(), [b32("doc-b"), b32("doc-a")])
    assert c.notary.registered(c.tier1, b32("doc-a"))
    assert c.notary.registered(c.tier1, b32("doc-b"))
    assert c.notary.registered(c.tier2, b32("doc-a"))
    assert not c.notary.registered(c.tier2, b32("doc-b"))
    # Who was first is a record, not a right.
    assert c.notary.fingerprint_owner(b32("doc-a")) == c.tier2
    assert c.notary.fingerprint_owner(b32("doc-b")) == c.tier1


def test_register_skips_a_fingerprint_twice_in_the_list_or_registered_before(
    consortium: Consortium,
) -> None:
    c = consortium
    with boa.env.prank(c.tier1):
        c.notary.register(new_op(), [b32("doc-a"), b32("doc-b"), b32("doc-a")])
        assert [e["fingerprint"] for e in named(c.notary, "FingerprintRegistered")] == [
            b32("doc-a"),
            b32("doc-b"),
        ]
        c.notary.register(new_op(), [b32("doc-a")])
        assert named(c.notary, "FingerprintRegistered") == []
    assert c.notary.fingerprint_owner(b32("doc-a")) == c.tier1


def test_anchor_records_the_batch(consortium: Consortium) -> None:
    c = consortium
    op = new_op()
    with boa.env.prank(c.regulator):
        c.notary.anchor(op, b32("batch-1"), b32("root-1"), 12)
    assert events(c.notary) == [
        ("OperationApplied", {"op_id": op, "kind": 2}),
        (
            "BatchAnchored",
            {
                "batch_id": b32("batch-1"),
                "root": b32("root-1"),
                "count": 12,
                "submitter": c.regulator,
            },
        ),
    ]
    assert c.notary.anchor_of(b32("batch-1")) == (
        b32("root-1"),
        12,
        boa.env.evm.patch.block_number,
        c.regulator,
    )
    assert c.notary.batch_of_root(b32("root-1")) == b32("batch-1")
    assert c.notary.anchor_of(b32("batch-unknown")) == (ZERO32, 0, 0, ZERO)
    assert c.notary.batch_of_root(b32("root-unknown")) == ZERO32


def test_a_root_names_its_first_batch(consortium: Consortium) -> None:
    c = consortium
    with boa.env.prank(c.tier1):
        c.notary.anchor(new_op(), b32("batch-1"), b32("root-1"), 2)
        c.notary.anchor(new_op(), b32("batch-2"), b32("root-1"), 2)
    assert c.notary.batch_of_root(b32("root-1")) == b32("batch-1")
    assert c.notary.anchor_of(b32("batch-2"))[0] == b32("root-1")


@pytest.mark.parametrize(
    ("batch", "root", "count", "message"),
    [
        ("batch-1", "root-2", 3, "notary: batch already anchored"),
        ("batch-2", "root-2", 0, "notary: empty batch"),
        ("batch-2", None, 3, "notary: zero root"),
    ],
)
def test_anchor_refuses(
    consortium: Consortium, batch: str, root: str | None, count: int, message: str
) -> None:
    c = consortium
    with boa.env.prank(c.tier1):
        c.notary.anchor(new_op(), b32("batch-1"), b32("root-1"), 2)
        with boa.reverts(message):
            c.notary.anchor(new_op(), b32(batch), b32(root) if root else ZERO32, count)


@pytest.mark.parametrize(
    ("function", "args"),
    [("register", ([b32("doc-a")],)), ("anchor", (b32("batch-1"), b32("root-1"), 1))],
)
def test_writers_must_be_active_members(
    consortium: Consortium, function: str, args: tuple[object, ...]
) -> None:
    c = consortium
    with boa.env.prank(c.outsider), boa.reverts("notary: caller is not a member"):
        getattr(c.notary, function)(new_op(), *args)
    with boa.env.prank(c.operator):
        c.registry.suspend(new_op(), c.tier1)
    with boa.env.prank(c.tier1), boa.reverts("notary: caller is not a member"):
        getattr(c.notary, function)(new_op(), *args)


@pytest.mark.parametrize(
    ("function", "args"),
    [("register", ([b32("doc-a")],)), ("anchor", (b32("batch-1"), b32("root-1"), 1))],
)
def test_writes_wait_while_paused(
    consortium: Consortium, function: str, args: tuple[object, ...]
) -> None:
    c = consortium
    with boa.env.prank(c.operator):
        c.registry.pause()
    with boa.env.prank(c.tier1), boa.reverts("notary: paused"):
        getattr(c.notary, function)(new_op(), *args)
    with boa.env.prank(c.operator):
        c.registry.unpause()
    with boa.env.prank(c.tier1):
        getattr(c.notary, function)(new_op(), *args)


@pytest.mark.parametrize(
    ("function", "first", "second"),
    [
        ("register", ([b32("doc-a")],), ([b32("doc-b")],)),
        ("anchor", (b32("batch-1"), b32("root-1"), 1), (b32("batch-2"), b32("root-2"), 1)),
    ],
)
def test_an_operation_applies_once(
    consortium: Consortium, function: str, first: tuple[object, ...], second: tuple[object, ...]
) -> None:
    c = consortium
    op = new_op()
    with boa.env.prank(c.tier1):
        getattr(c.notary, function)(op, *first)
        with boa.reverts("notary: operation already applied"):
            getattr(c.notary, function)(op, *second)
