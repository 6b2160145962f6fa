"""WarehouseReceipt: issue, transfer, pledge, delivery versus payment, physical release."""

from __future__ import annotations

from typing import Any

import boa
import pytest

from tests.contracts.conftest import Consortium, b32, events, named, new_op

pytestmark = pytest.mark.contracts

ZERO32 = b"\x00" * 32
TNE = b"TNE".ljust(32, b"\x00")  # UN/ECE Rec 20: tonne


def _as(sender: str, fn: Any, *args: Any) -> Any:
    with boa.env.prank(sender):
        return fn(new_op(), *args)


def _issue(c: Consortium, name: str = "lot-1", quantity: int = 100) -> bytes:
    _as(
        c.warehouse,
        c.receipts.issue,
        b32(name),
        c.tier1,
        b32("steel"),
        b32("desc"),
        quantity,
        TNE,
        b32("wh-a"),
        b32("epcis"),
    )
    return b32(name)


def _pledge(c: Consortium, lot: bytes, bank: str, amount: int, holder: str | None = None) -> None:
    """The holder offers the pledge and the bank accepts the same amount."""
    _as(holder or c.tier1, c.receipts.pledge, lot, bank, amount)
    _as(bank, c.receipts.accept_pledge, lot, amount)


def _fund(c: Consortium, who: str, amount: int) -> None:
    _as(c.bank2, c.token.mint, who, amount, new_op())
    with boa.env.prank(who):
        c.token.approve(c.receipts.address, amount)


def test_issue_records_the_lot(consortium: Consortium) -> None:
    c = consortium
    op = new_op()
    with boa.env.prank(c.warehouse):
        c.receipts.issue(
            op, b32("lot"), c.tier1, b32("steel"), b32("desc"), 100, TNE, b32("wh-a"), b32("epcis")
        )
    assert events(c.receipts) == [
        ("OperationApplied", {"op_id": op, "kind": 1}),
        (
            "ReceiptIssued",
            {
                "receipt_id": b32("lot"),
                "warehouse": c.warehouse,
                "holder": c.tier1,
                "goods_code": b32("steel"),
                "quantity": 100,
                "unit": TNE,
                "location": b32("wh-a"),
                "evidence_hash": b32("epcis"),
            },
        ),
    ]
    r = c.receipts.receipt(b32("lot"))
    assert (r.warehouse, r.holder, r.quantity, r.pledge_amount, r.released) == (
        c.warehouse,
        c.tier1,
        100,
        0,
        0,
    )


def test_issue_refuses(consortium: Consortium) -> None:
    c = consortium
    _issue(c, "taken")
    for sender, rid, holder, qty, ev, message in [
        (c.tier1, b32("x"), c.tier1, 1, b32("e"), "warehouse_receipt: caller is not a warehouse"),
        (
            c.warehouse,
            b32("x"),
            c.outsider,
            1,
            b32("e"),
            "warehouse_receipt: holder is not a member",
        ),
        (c.warehouse, b32("taken"), c.tier1, 1, b32("e"), "warehouse_receipt: receipt exists"),
        (c.warehouse, b32("x"), c.tier1, 0, b32("e"), "warehouse_receipt: quantity is zero"),
        (c.warehouse, b32("x"), c.tier1, 1, ZERO32, "warehouse_receipt: no evidence"),
    ]:
        with boa.reverts(message):
            _as(sender, c.receipts.issue, rid, holder, b32("g"), b32("d"), qty, TNE, b32("l"), ev)


def test_transfer_and_its_refusals(consortium: Consortium) -> None:
    c = consortium
    lot = _issue(c)
    with boa.reverts("warehouse_receipt: caller is not the holder"):
        _as(c.tier2, c.receipts.transfer, lot, c.tier2)
    with boa.reverts("warehouse_receipt: recipient is not a member"):
        _as(c.tier1, c.receipts.transfer, lot, c.outsider)
    with boa.reverts("warehouse_receipt: transfer to self"):
        _as(c.tier1, c.receipts.transfer, lot, c.tier1)
    _as(c.tier1, c.receipts.transfer, lot, c.tier2)
    assert named(c.receipts, "TitleTransferred") == [
        {"receipt_id": lot, "from_holder": c.tier1, "to_holder": c.tier2, "quantity": 100}
    ]
    assert c.receipts.receipt(lot).holder == c.tier2


def test_a_pledged_receipt_is_locked_until_released(consortium: Consortium) -> None:
    c = consortium
    lot = _issue(c)
    with boa.reverts("warehouse_receipt: pledgee is not a bank"):
        _as(c.tier1, c.receipts.pledge, lot, c.tier2, 1)
    with boa.reverts("warehouse_receipt: amount is zero"):
        _as(c.tier1, c.receipts.pledge, lot, c.bank, 0)
    _pledge(c, lot, c.bank, 500)
    assert named(c.receipts, "ReceiptPledged") == [
        {"receipt_id": lot, "bank": c.bank, "amount": 500}
    ]
    with boa.reverts("warehouse_receipt: receipt is pledged"):
        _as(c.tier1, c.receipts.transfer, lot, c.tier2)
    with boa.reverts("warehouse_receipt: receipt is pledged"):
        _as(c.tier1, c.receipts.pledge, lot, c.bank2, 1)
    with boa.reverts("warehouse_receipt: receipt is pledged"):
        _as(c.warehouse, c.receipts.confirm_release, lot, 1, b32("ship"))
    with boa.reverts("warehouse_receipt: caller is not the pledgee"):
        _as(c.tier1, c.receipts.release_pledge, lot)
    _as(c.bank, c.receipts.release_pledge, lot)
    assert named(c.receipts, "PledgeReleased") == [{"receipt_id": lot, "bank": c.bank}]
    with boa.reverts("warehouse_receipt: receipt is not pledged"):
        _as(c.bank, c.receipts.release_pledge, lot)
    _as(c.tier1, c.receipts.transfer, lot, c.tier2)


def test_a_receipt_pledge_needs_the_banks_acceptance(consortium: Consortium) -> None:
    """The holder's word alone pledges nothing: the bank accepts at the amount offered, and
    nobody else (another bank, the warehouse, the holder) can accept for it."""
    c = consortium
    lot = _issue(c)
    op = new_op()
    with boa.env.prank(c.tier1):
        c.receipts.pledge(op, lot, c.bank, 500)
    assert events(c.receipts) == [
        ("OperationApplied", {"op_id": op, "kind": 3}),
        ("PledgeOffered", {"receipt_id": lot, "holder": c.tier1, "bank": c.bank, "amount": 500}),
    ]
    assert c.receipts.pledge_offer(lot) == (c.tier1, c.bank, 500)
    r = c.receipts.receipt(lot)
    assert (r.pledge_bank, r.pledge_amount) == ("0x" + "00" * 20, 0)  # nothing pledged yet
    for who in (c.bank2, c.tier1, c.tier2, c.warehouse, c.outsider):
        with boa.reverts("warehouse_receipt: caller is not the offered bank"):
            _as(who, c.receipts.accept_pledge, lot, 500)
    with boa.reverts("warehouse_receipt: amount differs from the offer"):
        _as(c.bank, c.receipts.accept_pledge, lot, 501)
    with boa.reverts("warehouse_receipt: amount too large"):
        _as(c.tier1, c.receipts.pledge, lot, c.bank, 2**128)
    # The offer does not lock the receipt; once it moves, the offer is stale.
    with boa.env.anchor():
        _as(c.tier1, c.receipts.transfer, lot, c.tier2)
        with boa.reverts("warehouse_receipt: holder changed"):
            _as(c.bank, c.receipts.accept_pledge, lot, 500)
    with boa.env.anchor():
        _as(c.tier1, c.receipts.offer, b32("sale"), lot, c.tier2, b32("lot-b"), 10, 100)
        with boa.reverts("warehouse_receipt: receipt is on sale"):
            _as(c.bank, c.receipts.accept_pledge, lot, 500)
    op = new_op()
    with boa.env.prank(c.bank):
        c.receipts.accept_pledge(op, lot, 500)
    assert events(c.receipts) == [
        ("OperationApplied", {"op_id": op, "kind": 10}),
        ("ReceiptPledged", {"receipt_id": lot, "bank": c.bank, "amount": 500}),
    ]
    r = c.receipts.receipt(lot)
    assert (r.pledge_bank, r.pledge_amount) == (c.bank, 500)
    assert c.receipts.pledge_offer(lot).bank == "0x" + "00" * 20
    with boa.reverts("warehouse_receipt: caller is not the offered bank"):
        _as(c.bank, c.receipts.accept_pledge, lot, 500)  # the offer is used up


def test_delivery_versus_payment_pays_the_bank_first_and_passes_title_pro_rata(
    consortium: Consortium,
) -> None:
    c = consortium
    lot = _issue(c)
    _pledge(c, lot, c.bank, 400)
    _as(c.tier1, c.receipts.offer, b32("sale"), lot, c.tier2, b32("lot-1/b"), 80, 1_000)
    assert named(c.receipts, "SaleOffered") == [
        {
            "sale_id": b32("sale"),
            "receipt_id": lot,
            "seller": c.tier1,
            "buyer": c.tier2,
            "quantity": 80,
            "price": 1_000,
        }
    ]
    _fund(c, c.tier2, 1_000)
    op = new_op()
    with boa.env.prank(c.tier2):
        c.receipts.pay(op, b32("sale"), 250)
    assert named(c.receipts, "SalePaid") == [
        {"sale_id": b32("sale"), "amount": 250, "to_bank": 250, "to_seller": 0, "paid_total": 250}
    ]
    assert named(c.receipts, "TitlePassed") == [
        {"sale_id": b32("sale"), "from_receipt": lot, "to_receipt": b32("lot-1/b"), "quantity": 20}
    ]
    assert (c.token.balanceOf(c.bank), c.token.balanceOf(c.tier1)) == (250, 0)
    bought = c.receipts.receipt(b32("lot-1/b"))
    assert (bought.holder, bought.quantity, bought.parent, bought.pledge_amount) == (
        c.tier2,
        20,
        lot,
        0,
    )
    assert (c.receipts.receipt(lot).quantity, c.receipts.receipt(lot).pledge_amount) == (80, 150)

    _as(c.tier2, c.receipts.pay, b32("sale"), 333)  # bank's last 150, seller 183; 46 t in all
    assert named(c.receipts, "PledgeReleased") == [{"receipt_id": lot, "bank": c.bank}]
    assert named(c.receipts, "TitlePassed")[0]["quantity"] == 583 * 80 // 1_000 - 20
    _as(c.tier2, c.receipts.pay, b32("sale"), 417)
    assert named(c.receipts, "SaleCompleted") == [{"sale_id": b32("sale")}]
    assert (c.token.balanceOf(c.bank), c.token.balanceOf(c.tier1)) == (400, 600)
    assert (c.receipts.receipt(lot).quantity, c.receipts.receipt(b32("lot-1/b")).quantity) == (
        20,
        80,
    )
    assert c.receipts.sale(b32("sale")).state == 2
    _as(c.tier1, c.receipts.transfer, lot, c.bank2)  # free again: neither pledged nor on sale


def test_offer_and_pay_refuse(consortium: Consortium) -> None:
    c = consortium
    lot = _issue(c)
    _issue(c, "other")
    _pledge(c, lot, c.bank, 500)
    for args, message in [
        ((b32("s"), lot, c.outsider, b32("b"), 1, 500), "warehouse_receipt: buyer is not a member"),
        ((b32("s"), lot, c.tier1, b32("b"), 1, 500), "warehouse_receipt: sale to self"),
        ((b32("s"), lot, c.tier2, b32("b"), 0, 500), "warehouse_receipt: quantity is zero"),
        (
            (b32("s"), lot, c.tier2, b32("b"), 101, 500),
            "warehouse_receipt: quantity exceeds holding",
        ),
        ((b32("s"), lot, c.tier2, b32("b"), 1, 0), "warehouse_receipt: price is zero"),
        ((b32("s"), lot, c.tier2, b32("b"), 1, 499), "warehouse_receipt: price below pledge"),
        ((b32("s"), lot, c.tier2, b32("other"), 1, 500), "warehouse_receipt: receipt exists"),
    ]:
        with boa.reverts(message):
            _as(c.tier1, c.receipts.offer, *args)
    with boa.reverts("warehouse_receipt: caller is not the holder"):
        _as(c.tier2, c.receipts.offer, b32("s"), lot, c.tier2, b32("b"), 1, 500)
    _as(c.tier1, c.receipts.offer, b32("s"), lot, c.tier2, b32("b"), 10, 500)
    with boa.reverts("warehouse_receipt: receipt is on sale"):
        _as(c.tier1, c.receipts.offer, b32("s2"), lot, c.tier2, b32("b2"), 1, 500)
    with boa.reverts("warehouse_receipt: sale exists"):
        _as(c.tier1, c.receipts.offer, b32("s"), b32("other"), c.tier2, b32("b2"), 1, 500)
    with boa.reverts("warehouse_receipt: no such sale"):
        _as(c.tier2, c.receipts.pay, b32("none"), 1)
    with boa.reverts("warehouse_receipt: caller is not the buyer"):
        _as(c.bank, c.receipts.pay, b32("s"), 1)
    with boa.reverts("warehouse_receipt: amount is zero"):
        _as(c.tier2, c.receipts.pay, b32("s"), 0)
    with boa.reverts("warehouse_receipt: payment exceeds price"):
        _as(c.tier2, c.receipts.pay, b32("s"), 501)
    with boa.reverts("erc20: insufficient allowance"):
        _as(c.tier2, c.receipts.pay, b32("s"), 1)
    with boa.reverts("warehouse_receipt: caller may not close"):
        _as(c.bank, c.receipts.close_sale, b32("s"))
    _as(c.tier2, c.receipts.close_sale, b32("s"))
    assert named(c.receipts, "SaleClosed") == [
        {"sale_id": b32("s"), "paid": 0, "quantity_passed": 0}
    ]
    with boa.reverts("warehouse_receipt: sale is not open"):
        _as(c.tier2, c.receipts.pay, b32("s"), 1)
    with boa.reverts("warehouse_receipt: sale is not open"):
        _as(c.tier1, c.receipts.close_sale, b32("s"))
    with boa.reverts("warehouse_receipt: no such sale"):
        _as(c.tier1, c.receipts.close_sale, b32("none"))


def test_the_warehouse_releases_only_what_the_holder_asked_for(consortium: Consortium) -> None:
    """Probe: the warehouse released an unpledged receipt's goods without the holder."""
    c = consortium
    lot = _issue(c)
    with boa.reverts("warehouse_receipt: release not requested by the holder"):
        _as(c.warehouse, c.receipts.confirm_release, lot, 1, b32("ship"))
    for sender, qty, message in [
        (c.tier2, 1, "warehouse_receipt: caller is not the holder"),
        (c.warehouse, 1, "warehouse_receipt: caller is not the holder"),
        (c.tier1, 0, "warehouse_receipt: quantity is zero"),
        (c.tier1, 101, "warehouse_receipt: quantity exceeds holding"),
    ]:
        with boa.reverts(message):
            _as(sender, c.receipts.request_release, lot, qty)
    _as(c.tier1, c.receipts.request_release, lot, 30)
    with boa.reverts("warehouse_receipt: release not requested by the holder"):
        _as(c.warehouse, c.receipts.confirm_release, lot, 31, b32("ship"))
    _as(c.warehouse, c.receipts.confirm_release, lot, 30, b32("ship"))
    with boa.reverts("warehouse_receipt: release not requested by the holder"):
        _as(c.warehouse, c.receipts.confirm_release, lot, 1, b32("ship"))
    # Pledged goods stay until the pledgee releases the pledge.
    _pledge(c, lot, c.bank, 10)
    with boa.reverts("warehouse_receipt: receipt is pledged"):
        _as(c.tier1, c.receipts.request_release, lot, 1)


def test_the_warehouse_confirms_physical_release(consortium: Consortium) -> None:
    c = consortium
    lot = _issue(c)
    _as(c.tier1, c.receipts.request_release, lot, 30)
    for sender, qty, ev, message in [
        (c.tier1, 1, b32("ship"), "warehouse_receipt: caller is not the warehouse"),
        (c.warehouse, 0, b32("ship"), "warehouse_receipt: quantity is zero"),
        (c.warehouse, 101, b32("ship"), "warehouse_receipt: quantity exceeds holding"),
        (c.warehouse, 1, ZERO32, "warehouse_receipt: no evidence"),
    ]:
        with boa.reverts(message):
            _as(sender, c.receipts.confirm_release, lot, qty, ev)
    _as(c.warehouse, c.receipts.confirm_release, lot, 30, b32("ship"))
    assert named(c.receipts, "GoodsReleased") == [
        {"receipt_id": lot, "holder": c.tier1, "quantity": 30, "evidence_hash": b32("ship")}
    ]
    r = c.receipts.receipt(lot)
    assert (r.quantity, r.released) == (70, 30)
    _as(c.tier1, c.receipts.request_release, lot, 1)
    _as(c.tier1, c.receipts.offer, b32("s"), lot, c.tier2, b32("b"), 10, 5)
    with boa.reverts("warehouse_receipt: receipt is on sale"):
        _as(c.warehouse, c.receipts.confirm_release, lot, 1, b32("ship"))


def test_writes_wait_while_paused_and_apply_once(consortium: Consortium) -> None:
    c = consortium
    op = new_op()
    with boa.env.prank(c.operator):
        c.registry.pause()
    with boa.reverts("warehouse_receipt: paused"), boa.env.prank(c.warehouse):
        c.receipts.issue(op, b32("l"), c.tier1, b32("g"), b32("d"), 1, TNE, b32("l"), b32("e"))
    with boa.env.prank(c.operator):
        c.registry.unpause()
    with boa.env.prank(c.warehouse):
        c.receipts.issue(op, b32("l"), c.tier1, b32("g"), b32("d"), 1, TNE, b32("l"), b32("e"))
        with boa.reverts("warehouse_receipt: operation already applied"):
            c.receipts.issue(op, b32("l2"), c.tier1, b32("g"), b32("d"), 1, TNE, b32("l"), b32("e"))
