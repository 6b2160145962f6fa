"""DebtItem: issue, confirmed issue (EIP-712), split, transfer, pledge and repay."""

from __future__ import annotations

from typing import Any

import boa
import pytest

from tests.contracts.conftest import (
    CNY,
    DAY0,
    TODAY,
    Consortium,
    Issued,
    b32,
    events,
    issue_item,
    named,
    new_op,
    pledge,
    report_signature,
)

pytestmark = pytest.mark.contracts

ZERO32 = b"\x00" * 32
ZERO = "0x" + "00" * 20
BANK_INTEREST, BANK_PRINCIPAL, HOLDER = 1, 2, 3


# --------------------------------------------------------------------------- helpers


def _issue_args(c: Consortium, **overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "item_id": b32("item-1"),
        "holding_id": b32("item-1/h0"),
        "debtor": c.core.address,
        "currency": CNY,
        "face_value": 100_000_000,
        "issue_day": DAY0,
        "maturity_day": DAY0 + 180,
        "asset_type": 1,
        "trade_hash": b32("trade-1"),
        "report_hash": b32("report-1"),
    }
    args.update(overrides)
    return args


def _issue(c: Consortium, sender: str, args: dict[str, Any], op: bytes | None = None) -> None:
    """Issue through the Issuer with the verifier's signed report of exactly these terms."""
    sig = report_signature(
        c,
        args["item_id"],
        sender,
        args["debtor"],
        args["face_value"],
        args["maturity_day"],
        args["trade_hash"],
        args["report_hash"],
        c.bank,
        currency=args["currency"],
    )
    with boa.env.prank(sender):
        c.issuer.issue(op or new_op(), *args.values(), c.bank, [sig])


def _now() -> int:
    return int(boa.env.evm.patch.timestamp)


def _transfer(c: Consortium, sender: str, holding: bytes, new: str, to: str, amount: int) -> bytes:
    with boa.env.prank(sender):
        c.debt.transfer(new_op(), holding, b32(new), to, amount)
    return b32(new)


def _pledge(
    c: Consortium, sender: str, holding: bytes, principal: int, rate: int, start: int
) -> None:
    pledge(c, sender, holding, c.bank, principal, rate, start)


def _repay(c: Consortium, item: Issued, amount: int, day: int, sender: str | None = None) -> None:
    with boa.env.prank(sender or c.core.address):
        c.debt.repay(new_op(), item.item_id, amount, day)


def _routed(c: Consortium) -> list[tuple[bytes, str, int, int]]:
    return [
        (e["holding_id"], e["payee"], e["amount"], e["part"])
        for e in named(c.debt, "PaymentRouted")
    ]


# --------------------------------------------------------------------------- issue


def test_issue_creates_the_item_and_the_first_holding(consortium: Consortium) -> None:
    c = consortium
    args = _issue_args(c)
    op = new_op()
    count = c.debt.item_count()
    _issue(c, c.tier1, args, op)
    assert c.debt.item_count() == count + 1
    # The Issuer's call to DebtItem: DebtItem's own events (ItemIssued, HoldingCreated,
    # AccountBankSet) are checked on anvil by tests/integration (audit reads them).
    item = c.debt.item(args["item_id"])
    assert (item.debtor, item.creditor, item.currency, item.face_value, item.paid) == (
        c.core.address,
        c.tier1,
        CNY,
        100_000_000,
        0,
    )
    assert (item.issue_day, item.maturity_day, item.basis, item.asset_type) == (
        DAY0,
        DAY0 + 180,
        1,
        1,
    )
    assert (item.trade_hash, item.report_hash, item.state, item.last_value_day) == (
        args["trade_hash"],
        args["report_hash"],
        1,
        0,
    )
    holding = c.debt.holding(args["holding_id"])
    assert (holding.item_id, holding.holder, holding.amount, holding.outstanding) == (
        args["item_id"],
        c.tier1,
        100_000_000,
        100_000_000,
    )
    assert holding.parent == ZERO32 and holding.pledge_bank == ZERO
    assert c.debt.item_holdings(args["item_id"]) == [args["holding_id"]]
    assert c.issuer.applied(op)
    assert c.debt.account_bank(args["item_id"]) == c.bank


def test_issue_accepts_a_contract_right_issued_today(consortium: Consortium) -> None:
    c = consortium
    _issue(c, c.tier1, _issue_args(c, asset_type=2, issue_day=TODAY, maturity_day=TODAY + 1))
    assert c.debt.item(b32("item-1")).asset_type == 2


@pytest.mark.parametrize(
    ("sender", "overrides", "message"),
    [
        ("outsider", {}, "debt_item: caller is not a member"),
        ("tier1", {"debtor": "outsider"}, "debt_item: debtor is not a member"),
        ("core", {}, "debt_item: debtor is the creditor"),
        ("tier1", {"item_id": b32("existing")}, "debt_item: item exists"),
        ("tier1", {"holding_id": b32("existing/h0")}, "debt_item: holding exists"),
        ("tier1", {"face_value": 0}, "debt_item: face value is zero"),
        ("tier1", {"maturity_day": DAY0 - 1}, "debt_item: maturity before issue"),
        ("tier1", {"maturity_day": DAY0}, "debt_item: maturity before issue"),
        (
            "tier1",
            {"issue_day": TODAY + 1, "maturity_day": TODAY + 90},
            "debt_item: issue date in the future",
        ),
        ("tier1", {"report_hash": ZERO32}, "debt_item: no verification report"),
        ("tier1", {"asset_type": 0}, "debt_item: bad asset type"),
        ("tier1", {"asset_type": 3}, "debt_item: bad asset type"),
    ],
)
def test_issue_refuses(
    consortium: Consortium, sender: str, overrides: dict[str, Any], message: str
) -> None:
    c = consortium
    issue_item(c, "existing")
    resolved = {k: (getattr(c, v) if v == "outsider" else v) for k, v in overrides.items()}
    account = c.core.address if sender == "core" else getattr(c, sender)
    with boa.reverts(message):
        _issue(c, account, _issue_args(c, **resolved))


def test_issue_refuses_a_suspended_debtor(consortium: Consortium) -> None:
    c = consortium
    with boa.env.prank(c.operator):
        c.registry.suspend(new_op(), c.core.address)
    with boa.reverts("debt_item: debtor is not a member"):
        _issue(c, c.tier1, _issue_args(c))


# --------------------------------------------------------------------------- split


def test_split_creates_a_child_holding_of_the_same_holder(consortium: Consortium) -> None:
    c = consortium
    item = issue_item(c)
    op = new_op()
    with boa.env.prank(c.tier1):
        c.debt.split(op, item.holding_id, b32("h1"), 25_000_000)
    assert events(c.debt) == [
        ("OperationApplied", {"op_id": op, "kind": 3}),
        (
            "HoldingCreated",
            {
                "item_id": item.item_id,
                "holding_id": b32("h1"),
                "holder": c.tier1,
                "amount": 25_000_000,
                "parent": item.holding_id,
            },
        ),
    ]
    parent, child = c.debt.holding(item.holding_id), c.debt.holding(b32("h1"))
    assert (parent.amount, parent.outstanding) == (75_000_000, 75_000_000)
    assert (child.holder, child.amount, child.outstanding, child.parent) == (
        c.tier1,
        25_000_000,
        25_000_000,
        item.holding_id,
    )
    assert c.debt.item_holdings(item.item_id) == [item.holding_id, b32("h1")]


def test_split_of_a_partly_paid_holding_moves_outstanding(consortium: Consortium) -> None:
    c = consortium
    item = issue_item(c, face_value=1_000)
    _repay(c, item, 400, DAY0 + 1)
    with boa.env.prank(c.tier1):
        c.debt.split(new_op(), item.holding_id, b32("h1"), 600)
    parent = c.debt.holding(item.holding_id)
    assert (parent.amount, parent.outstanding, parent.paid_to_holder) == (400, 0, 400)
    with boa.env.prank(c.tier1), boa.reverts("debt_item: split exceeds outstanding"):
        c.debt.split(new_op(), item.holding_id, b32("h2"), 1)


def _movable_failure_setup(c: Consortium) -> Issued:
    item = issue_item(c)
    _transfer(c, c.tier1, item.holding_id, "pledged", c.tier2, 10_000_000)
    _pledge(c, c.tier2, b32("pledged"), 5_000_000, 500, DAY0)
    return item


MOVE_FAILURES = [
    ("tier2", "item-1/h0", "new", 1, "debt_item: caller is not the holder"),
    ("tier1", "unknown", "new", 1, "debt_item: caller is not the holder"),
    ("tier2", "pledged", "new", 1, "debt_item: holding is pledged"),
    ("tier1", "item-1/h0", "new", 90_000_001, "debt_item: split exceeds outstanding"),
    ("tier1", "item-1/h0", "new", 0, "debt_item: amount is zero"),
    ("tier1", "item-1/h0", "pledged", 1, "debt_item: holding exists"),
]


@pytest.mark.parametrize(("sender", "holding", "new", "amount", "message"), MOVE_FAILURES)
def test_split_refuses(
    consortium: Consortium, sender: str, holding: str, new: str, amount: int, message: str
) -> None:
    c = consortium
    _movable_failure_setup(c)
    with boa.env.prank(getattr(c, sender)), boa.reverts(message):
        c.debt.split(new_op(), b32(holding), b32(new), amount)


def test_split_refuses_a_suspended_holder(consortium: Consortium) -> None:
    c = consortium
    item = issue_item(c)
    with boa.env.prank(c.operator):
        c.registry.suspend(new_op(), c.tier1)
    with boa.env.prank(c.tier1), boa.reverts("debt_item: caller is not a member"):
        c.debt.split(new_op(), item.holding_id, b32("h1"), 1)


def test_an_item_has_at_most_64_holdings(consortium: Consortium) -> None:
    c = consortium
    item = issue_item(c)
    with boa.env.prank(c.tier1):
        for i in range(1, 64):
            c.debt.split(new_op(), item.holding_id, b32(f"h{i}"), 1)
        assert len(c.debt.item_holdings(item.item_id)) == 64
        with boa.reverts("debt_item: too many holdings"):
            c.debt.split(new_op(), item.holding_id, b32("h64"), 1)
        with boa.reverts("debt_item: too many holdings"):
            c.debt.transfer(new_op(), item.holding_id, b32("h64"), c.tier2, 1)
    # A full item still routes a payment over all 64 holdings.
    _repay(c, item, item.face_value, DAY0 + 1)
    assert len(_routed(c)) == 64
    assert c.debt.item(item.item_id).state == 2


# --------------------------------------------------------------------------- transfer


def test_transfer_moves_part_of_a_holding_to_another_member(consortium: Consortium) -> None:
    c = consortium
    item = issue_item(c)
    op = new_op()
    with boa.env.prank(c.tier1):
        c.debt.transfer(op, item.holding_id, b32("h1"), c.tier2, 30_000_000)
    assert events(c.debt) == [
        ("OperationApplied", {"op_id": op, "kind": 4}),
        (
            "HoldingCreated",
            {
                "item_id": item.item_id,
                "holding_id": b32("h1"),
                "holder": c.tier2,
                "amount": 30_000_000,
                "parent": item.holding_id,
            },
        ),
        (
            "HoldingTransferred",
            {
                "item_id": item.item_id,
                "from_holding": item.holding_id,
                "to_holding": b32("h1"),
                "from_holder": c.tier1,
                "to_holder": c.tier2,
                "amount": 30_000_000,
            },
        ),
    ]
    assert c.debt.holding(item.holding_id).outstanding == 70_000_000
    assert c.debt.holding(b32("h1")).holder == c.tier2


def test_transfer_of_a_whole_holding(consortium: Consortium) -> None:
    c = consortium
    item = issue_item(c)
    _transfer(c, c.tier1, item.holding_id, "h1", c.tier2, item.face_value)
    assert c.debt.holding(item.holding_id).outstanding == 0
    _repay(c, item, 10, DAY0 + 1)
    assert _routed(c) == [(b32("h1"), c.tier2, 10, HOLDER)]


@pytest.mark.parametrize(("sender", "holding", "new", "amount", "message"), MOVE_FAILURES)
def test_transfer_refuses_as_split(
    consortium: Consortium, sender: str, holding: str, new: str, amount: int, message: str
) -> None:
    c = consortium
    _movable_failure_setup(c)
    with boa.env.prank(getattr(c, sender)), boa.reverts(message):
        c.debt.transfer(new_op(), b32(holding), b32(new), c.bank2, amount)


@pytest.mark.parametrize(
    ("to", "message"),
    [
        ("outsider", "debt_item: recipient is not a member"),
        ("tier1", "debt_item: transfer to self"),
    ],
)
def test_transfer_refuses_the_recipient(consortium: Consortium, to: str, message: str) -> None:
    c = consortium
    item = issue_item(c)
    with boa.env.prank(c.tier1), boa.reverts(message):
        c.debt.transfer(new_op(), item.holding_id, b32("h1"), getattr(c, to), 1)


def test_transfer_refuses_a_suspended_recipient(consortium: Consortium) -> None:
    c = consortium
    item = issue_item(c)
    with boa.env.prank(c.operator):
        c.registry.suspend(new_op(), c.tier2)
    with boa.env.prank(c.tier1), boa.reverts("debt_item: recipient is not a member"):
        c.debt.transfer(new_op(), item.holding_id, b32("h1"), c.tier2, 1)


# --------------------------------------------------------------------------- pledge


def test_pledge_locks_the_holding_for_the_bank(consortium: Consortium) -> None:
    c = consortium
    item = issue_item(c)
    op = new_op()
    terms = {"principal": 60_000_000, "rate_bps": 450, "start_day": DAY0 + 5}
    with boa.env.prank(c.tier1):
        c.debt.pledge(op, item.holding_id, c.bank, 60_000_000, 450, DAY0 + 5)
    ids = {"item_id": item.item_id, "holding_id": item.holding_id, "bank": c.bank}
    assert events(c.debt) == [
        ("OperationApplied", {"op_id": op, "kind": 5}),
        ("PledgeOffered", {**ids, **terms}),
    ]
    # An offer pledges nothing: the holding moves freely until the bank accepts.
    assert c.debt.holding(item.holding_id).pledge_principal == 0
    assert c.debt.pledge_offer(item.holding_id).bank == c.bank
    op = new_op()
    with boa.env.prank(c.bank):
        c.debt.accept_pledge(op, item.holding_id, 60_000_000, 450)
    assert events(c.debt) == [
        ("OperationApplied", {"op_id": op, "kind": 23}),
        ("HoldingPledged", {**ids, **terms}),
    ]
    assert c.debt.pledge_offer(item.holding_id).bank == ZERO
    h = c.debt.holding(item.holding_id)
    assert (h.pledge_bank, h.pledge_principal, h.pledge_interest) == (c.bank, 60_000_000, 0)
    assert (h.pledge_rate_bps, h.pledge_accrued_to) == (450, DAY0 + 5)
    with boa.env.prank(c.tier1), boa.reverts("debt_item: holding is pledged"):
        c.debt.transfer(new_op(), item.holding_id, b32("h1"), c.tier2, 1)


@pytest.mark.parametrize(
    ("sender", "bank", "principal", "start", "message"),
    [
        ("tier2", "bank", 1, DAY0, "debt_item: caller is not the holder"),
        ("tier1", "tier2", 1, DAY0, "debt_item: pledgee is not a bank"),
        ("tier1", "outsider", 1, DAY0, "debt_item: pledgee is not a bank"),
        ("tier1", "bank", 100_000_001, DAY0, "debt_item: principal exceeds outstanding"),
        ("tier1", "bank", 0, DAY0, "debt_item: principal is zero"),
        ("tier1", "bank", 1, TODAY + 1, "debt_item: start date in the future"),
    ],
)
def test_pledge_refuses(
    consortium: Consortium, sender: str, bank: str, principal: int, start: int, message: str
) -> None:
    c = consortium
    item = issue_item(c)
    with boa.env.prank(getattr(c, sender)), boa.reverts(message):
        c.debt.pledge(new_op(), item.holding_id, getattr(c, bank), principal, 450, start)


def test_pledge_refuses_a_pledged_holding(consortium: Consortium) -> None:
    c = consortium
    item = issue_item(c)
    _pledge(c, c.tier1, item.holding_id, 1_000, 450, DAY0)
    with boa.env.prank(c.tier1), boa.reverts("debt_item: holding is pledged"):
        c.debt.pledge(new_op(), item.holding_id, c.bank2, 1_000, 450, DAY0)


def test_pledge_refuses_a_suspended_bank(consortium: Consortium) -> None:
    c = consortium
    item = issue_item(c)
    with boa.env.prank(c.operator):
        c.registry.suspend(new_op(), c.bank)
    with boa.env.prank(c.tier1), boa.reverts("debt_item: pledgee is not a bank"):
        c.debt.pledge(new_op(), item.holding_id, c.bank, 1_000, 450, DAY0)


def test_pledge_refuses_a_settled_item(consortium: Consortium) -> None:
    c = consortium
    item = issue_item(c, face_value=1_000)
    _repay(c, item, 1_000, DAY0 + 1)
    with boa.env.prank(c.tier1), boa.reverts("debt_item: item is not active"):
        c.debt.pledge(new_op(), item.holding_id, c.bank, 1, 450, DAY0)


def test_a_released_holding_can_be_moved_and_pledged_again(consortium: Consortium) -> None:
    c = consortium
    item = issue_item(c, face_value=1_000_000)
    _pledge(c, c.tier1, item.holding_id, 100_000, 0, DAY0)
    _repay(c, item, 400_000, DAY0 + 10)
    assert named(c.debt, "PledgeReleased") == [
        {"item_id": item.item_id, "holding_id": item.holding_id, "bank": c.bank}
    ]
    _transfer(c, c.tier1, item.holding_id, "h1", c.tier2, 100_000)
    _pledge(c, c.tier1, item.holding_id, 100_000, 0, DAY0 + 10)
    assert c.debt.holding(item.holding_id).paid_to_bank == 100_000


# --------------------------------------------------------------------------- repay


def test_repay_pays_the_holder_and_records_the_payment(consortium: Consortium) -> None:
    c = consortium
    item = issue_item(c)
    op = new_op()
    with boa.env.prank(c.core.address):
        c.debt.repay(op, item.item_id, 40_000_000, DAY0 + 30)
    assert events(c.debt) == [
        ("OperationApplied", {"op_id": op, "kind": 6}),
        (
            "PaymentRouted",
            {
                "item_id": item.item_id,
                "holding_id": item.holding_id,
                "payee": c.tier1,
                "amount": 40_000_000,
                "part": HOLDER,
            },
        ),
        (
            "ItemRepaid",
            {
                "item_id": item.item_id,
                "amount": 40_000_000,
                "value_day": DAY0 + 30,
                "paid_total": 40_000_000,
            },
        ),
    ]
    it = c.debt.item(item.item_id)
    assert (it.paid, it.state, it.last_value_day) == (40_000_000, 1, DAY0 + 30)
    h = c.debt.holding(item.holding_id)
    assert (h.amount, h.outstanding, h.paid_to_holder) == (100_000_000, 60_000_000, 40_000_000)


def test_repay_in_full_settles_the_item(consortium: Consortium) -> None:
    c = consortium
    item = issue_item(c, face_value=1_000)
    _repay(c, item, 1_000, TODAY)
    assert [name for name, _ in events(c.debt)][-2:] == ["ItemRepaid", "ItemSettled"]
    assert named(c.debt, "ItemSettled") == [{"item_id": item.item_id}]
    assert c.debt.item(item.item_id).state == 2


def test_no_bank_may_repay_in_the_debtors_name(consortium: Consortium) -> None:
    """Probe: plain repay() by an unrelated bank succeeded. Now only the debtor repays."""
    c = consortium
    item = issue_item(c, face_value=1_000)
    for bank in (c.bank2, c.bank):
        with boa.reverts("debt_item: caller is not the debtor"):
            _repay(c, item, 300, DAY0 + 1, sender=bank)
    assert c.debt.item(item.item_id).paid == 0


def test_remainder_goes_one_unit_each_to_the_first_holdings(consortium: Consortium) -> None:
    c = consortium
    item = issue_item(c, face_value=3)
    _transfer(c, c.tier1, item.holding_id, "h1", c.tier2, 1)
    _transfer(c, c.tier1, item.holding_id, "h2", c.bank2, 1)
    _repay(c, item, 2, DAY0 + 1)
    assert _routed(c) == [
        (item.holding_id, c.tier1, 1, HOLDER),
        (b32("h1"), c.tier2, 1, HOLDER),
    ]


@pytest.mark.parametrize(
    ("sender", "item_name", "amount", "day", "message"),
    [
        ("tier1", "item-1", 1, DAY0 + 20, "debt_item: caller is not the debtor"),
        ("outsider", "item-1", 1, DAY0 + 20, "debt_item: caller is not the debtor"),
        ("core", "unknown", 1, DAY0 + 20, "debt_item: no such item"),
        ("core", "item-1", 999_001, DAY0 + 20, "debt_item: payment exceeds outstanding"),
        ("core", "item-1", 0, DAY0 + 20, "debt_item: amount is zero"),
        ("core", "item-1", 1, DAY0 + 9, "debt_item: value date out of order"),
        ("core", "item-1", 1, TODAY + 1, "debt_item: value date in the future"),
    ],
)
def test_repay_refuses(
    consortium: Consortium, sender: str, item_name: str, amount: int, day: int, message: str
) -> None:
    c = consortium
    item = issue_item(c, face_value=1_000_000)
    _repay(c, item, 1_000, DAY0 + 10)
    account = c.core.address if sender == "core" else getattr(c, sender)
    with boa.env.prank(account), boa.reverts(message):
        c.debt.repay(new_op(), b32(item_name), amount, day)


def test_repay_refuses_a_value_day_before_a_pledges_accrual(consortium: Consortium) -> None:
    c = consortium
    item = issue_item(c)
    _pledge(c, c.tier1, item.holding_id, 1_000, 450, DAY0 + 50)
    with boa.reverts("debt_item: value date out of order"):
        _repay(c, item, 1, DAY0 + 49)
    _repay(c, item, 1, DAY0 + 50)


def test_repay_refuses_a_settled_item(consortium: Consortium) -> None:
    c = consortium
    item = issue_item(c, face_value=1_000)
    _repay(c, item, 1_000, DAY0 + 1)
    with boa.reverts("debt_item: item is settled"):
        _repay(c, item, 1, DAY0 + 2)


def test_repay_value_day_may_be_today_and_repeat(consortium: Consortium) -> None:
    c = consortium
    item = issue_item(c, face_value=1_000)
    _repay(c, item, 100, TODAY)
    _repay(c, item, 100, TODAY)
    assert c.debt.item(item.item_id).paid == 200


# --------------------------------------------------------------------------- pause, idempotency


def _every_write(c: Consortium) -> list[tuple[str, str, tuple[Any, ...]]]:
    item = issue_item(c, "paused-item")
    with boa.env.prank(c.tier1):
        c.debt.split(new_op(), item.holding_id, b32("offered"), 10)
        c.debt.pledge(new_op(), b32("offered"), c.bank, 1, 450, DAY0)
    return [
        ("accept_pledge", c.bank, (b32("offered"), 1, 450)),
        ("set_account_bank", c.core.address, (item.item_id, c.bank2)),
        ("split", c.tier1, (item.holding_id, b32("s1"), 1)),
        ("transfer", c.tier1, (item.holding_id, b32("t1"), c.tier2, 1)),
        ("pledge", c.tier1, (item.holding_id, c.bank, 1, 450, DAY0)),
        ("repay", c.core.address, (item.item_id, 1, DAY0 + 1)),
    ]


@pytest.mark.parametrize("index", range(6))
def test_writes_wait_while_paused(consortium: Consortium, index: int) -> None:
    c = consortium
    function, sender, args = _every_write(c)[index]
    with boa.env.prank(c.operator):
        c.registry.pause()
    with boa.env.prank(sender), boa.reverts("debt_item: paused"):
        getattr(c.debt, function)(new_op(), *args)
    with boa.env.prank(c.operator):
        c.registry.unpause()
    with boa.env.prank(sender):
        getattr(c.debt, function)(new_op(), *args)


@pytest.mark.parametrize("index", range(6))
def test_an_operation_applies_once(consortium: Consortium, index: int) -> None:
    c = consortium
    function, sender, args = _every_write(c)[index]
    op = new_op()
    with boa.env.prank(sender):
        getattr(c.debt, function)(op, *args)
        kind = [23, 24, 3, 4, 5, 6][index]
        assert named(c.debt, "OperationApplied") == [{"op_id": op, "kind": kind}]
        assert c.debt.applied(op)
        with boa.reverts("debt_item: operation already applied"):
            getattr(c.debt, function)(op, *args)


# --------------------------------------------------------------------------- worked example


def test_worked_example(consortium: Consortium) -> None:
    """docs/contracts.md: a CNY 1,000,000.00 item, 300,000.00 transferred and pledged."""
    c = consortium
    item = issue_item(c, "worked", face_value=100_000_000)
    h1 = item.holding_id
    h2 = _transfer(c, c.tier1, h1, "worked/h2", c.tier2, 30_000_000)
    assert c.debt.holding(h1).outstanding == 70_000_000

    # Tier 2 pledges its holding for CNY 270,000.00 at 4.50 % a year from day 10.
    _pledge(c, c.tier2, h2, 27_000_000, 450, DAY0 + 10)

    # The debtor repays CNY 500,000.00 on day 100: 90 days of interest.
    _repay(c, item, 50_000_000, DAY0 + 100)
    # 27,000,000 * 450 * 90 / 3,650,000 = 299,589.04 -> 299,589
    interest1 = 299_589
    assert interest1 == 27_000_000 * 450 * 90 // 3_650_000
    assert _routed(c) == [
        (h1, c.tier1, 35_000_000, HOLDER),
        (h2, c.bank, interest1, BANK_INTEREST),
        (h2, c.bank, 15_000_000 - interest1, BANK_PRINCIPAL),
    ]
    assert named(c.debt, "PledgeReleased") == []
    pledged = c.debt.holding(h2)
    principal_left = 27_000_000 - (15_000_000 - interest1)
    assert principal_left == 12_299_589
    assert (pledged.pledge_principal, pledged.pledge_interest, pledged.pledge_accrued_to) == (
        principal_left,
        0,
        DAY0 + 100,
    )

    # The remaining CNY 500,000.00 on day 190: 90 more days on the principal left.
    _repay(c, item, 50_000_000, DAY0 + 190)
    # 12,299,589 * 450 * 90 / 3,650,000 = 136,474.89 -> 136,474
    interest2 = 136_474
    assert interest2 == principal_left * 450 * 90 // 3_650_000
    tier2_rest = 15_000_000 - interest2 - principal_left
    assert tier2_rest == 2_563_937
    assert _routed(c) == [
        (h1, c.tier1, 35_000_000, HOLDER),
        (h2, c.bank, interest2, BANK_INTEREST),
        (h2, c.bank, principal_left, BANK_PRINCIPAL),
        (h2, c.tier2, tier2_rest, HOLDER),
    ]
    assert named(c.debt, "PledgeReleased") == [
        {"item_id": item.item_id, "holding_id": h2, "bank": c.bank}
    ]
    assert named(c.debt, "ItemRepaid") == [
        {
            "item_id": item.item_id,
            "amount": 50_000_000,
            "value_day": DAY0 + 190,
            "paid_total": 100_000_000,
        }
    ]
    assert named(c.debt, "ItemSettled") == [{"item_id": item.item_id}]

    # The bank has its principal plus 436,063 of interest; tier 2 the rest.
    bank_total = c.debt.holding(h2).paid_to_bank
    assert bank_total == 27_000_000 + interest1 + interest2 == 27_436_063
    assert c.debt.holding(h2).paid_to_holder == 30_000_000 - bank_total
    assert c.debt.holding(h1).paid_to_holder == 70_000_000
    assert c.debt.item(item.item_id).state == 2
