"""DebtItem, issue 5: confirmation, disputes, merge, dilution, payments, default, cancellation."""

from __future__ import annotations

from typing import Any

import boa
import pytest

from tests.contracts.conftest import (
    CNY,
    DAY0,
    SECONDS_PER_DAY,
    TODAY,
    Consortium,
    Issued,
    b32,
    events,
    issue_item,
    named,
    new_op,
    pledge,
)

pytestmark = pytest.mark.contracts

ZERO32 = b"\x00" * 32
BANK_INTEREST, BANK_PRINCIPAL, HOLDER = 1, 2, 3
ACTIVE, SETTLED, DEFAULTED, CANCELLED = 1, 2, 3, 4


# --------------------------------------------------------------------------- helpers


def _as(sender: str, fn: Any, *args: Any) -> Any:
    with boa.env.prank(sender):
        return fn(new_op(), *args)


def _transfer(c: Consortium, holding: bytes, new: str, to: str, amount: int) -> bytes:
    _as(c.tier1, c.debt.transfer, holding, b32(new), to, amount)
    return b32(new)


def _mint(c: Consortium, to: str, amount: int, bank: str | None = None) -> None:
    _as(bank or c.bank, c.token.mint, to, amount, new_op())


def _approve(c: Consortium, owner: str, spender: str, amount: int) -> None:
    with boa.env.prank(owner):
        c.token.approve(spender, amount)


def _conserved(c: Consortium, item: Issued) -> None:
    """Holdings outstanding + paid + diluted + cancelled == face value."""
    it = c.debt.item(item.item_id)
    life = c.debt.item_life(item.item_id)
    held = sum(c.debt.holding(h).outstanding for h in c.debt.item_holdings(item.item_id))
    assert held + it.paid + life.diluted + life.cancelled == it.face_value
    assert c.debt.outstanding(item.item_id) == held


# --------------------------------------------------------------------------- settings


def test_operator_sets_tenor_and_grace(consortium: Consortium) -> None:
    c = consortium
    assert (c.debt.max_tenor_days(), c.debt.grace_days()) == (365, 5)
    _as(c.operator, c.debt.set_max_tenor, 90)
    assert named(c.debt, "MaxTenorChanged") == [{"days": 90}]
    _as(c.operator, c.debt.set_grace_days, 0)
    assert named(c.debt, "GraceDaysChanged") == [{"days": 0}]
    assert (c.debt.max_tenor_days(), c.debt.grace_days()) == (90, 0)
    issue_item(c, "ninety", maturity_day=DAY0 + 90)
    with boa.reverts("debt_item: tenor exceeds maximum"):
        issue_item(c, "ninety-one", maturity_day=DAY0 + 91)


def test_issue_refuses_a_tenor_beyond_365_days(consortium: Consortium) -> None:
    issue_item(consortium, "year", maturity_day=DAY0 + 365)
    with boa.reverts("debt_item: tenor exceeds maximum"):
        issue_item(consortium, "longer", maturity_day=DAY0 + 366)


@pytest.mark.parametrize("sender", ["tier1", "bank", "regulator"])
def test_settings_are_operator_only(consortium: Consortium, sender: str) -> None:
    c = consortium
    who = getattr(c, sender)
    for fn, arg in ((c.debt.set_max_tenor, 10), (c.debt.set_grace_days, 1)):
        with boa.reverts("debt_item: caller is not the operator"):
            _as(who, fn, arg)
    with boa.reverts("debt_item: caller is not the operator"):
        _as(who, c.debt.set_settlement_token, c.token.address)


def test_setting_refusals(consortium: Consortium) -> None:
    c = consortium
    with boa.reverts("debt_item: tenor is zero"):
        _as(c.operator, c.debt.set_max_tenor, 0)
    with boa.reverts("debt_item: settlement token already set"):
        _as(c.operator, c.debt.set_settlement_token, c.token.address)
    fresh = boa.load_partial(c.debt.filename).deploy(c.registry.address)
    with boa.reverts("debt_item: zero address"):
        _as(c.operator, fresh.set_settlement_token, "0x" + "00" * 20)
    _as(c.operator, fresh.set_settlement_token, c.token.address)
    assert named(fresh, "SettlementTokenSet") == [{"token": c.token.address}]


# --------------------------------------------------------------------------- disputes


def test_a_dispute_freezes_the_item_until_withdrawn(consortium: Consortium) -> None:
    c = consortium
    item = issue_item(c)
    op = new_op()
    with boa.env.prank(c.core.address):
        c.debt.dispute(op, item.item_id, b32("quality"))
    assert events(c.debt) == [
        ("OperationApplied", {"op_id": op, "kind": 8}),
        (
            "ItemDisputed",
            {"item_id": item.item_id, "debtor": c.core.address, "reason_hash": b32("quality")},
        ),
    ]
    assert c.debt.item_life(item.item_id).disputed
    with boa.reverts("debt_item: item is disputed"):
        _as(c.tier1, c.debt.split, item.holding_id, b32("s"), 1)
    with boa.reverts("debt_item: item is disputed"):
        _as(c.tier1, c.debt.transfer, item.holding_id, b32("t"), c.tier2, 1)
    with boa.reverts("debt_item: item is disputed"):
        pledge(c, c.tier1, item.holding_id, c.bank, 1, 0, DAY0)
    _as(c.core.address, c.debt.repay, item.item_id, 1, DAY0)  # payment is never blocked
    _as(c.core.address, c.debt.withdraw_dispute, item.item_id)
    assert named(c.debt, "DisputeLifted") == [
        {"item_id": item.item_id, "by": c.core.address, "resolution_hash": ZERO32}
    ]
    _as(c.tier1, c.debt.split, item.holding_id, b32("s"), 1)


def test_the_operator_lifts_a_dispute_after_a_resolution(consortium: Consortium) -> None:
    c = consortium
    item = issue_item(c)
    _as(c.core.address, c.debt.dispute, item.item_id, b32("quality"))
    with boa.reverts("debt_item: no resolution"):
        _as(c.operator, c.debt.resolve_dispute, item.item_id, ZERO32)
    with boa.reverts("debt_item: caller is not the operator"):
        _as(c.tier1, c.debt.resolve_dispute, item.item_id, b32("award"))
    _as(c.operator, c.debt.resolve_dispute, item.item_id, b32("award"))
    assert named(c.debt, "DisputeLifted") == [
        {"item_id": item.item_id, "by": c.operator, "resolution_hash": b32("award")}
    ]
    assert not c.debt.item_life(item.item_id).disputed
    assert c.debt.holding(item.holding_id).outstanding == item.face_value


def test_dispute_refuses(consortium: Consortium) -> None:
    c = consortium
    item = issue_item(c)
    with boa.reverts("debt_item: no such item"):
        _as(c.core.address, c.debt.dispute, b32("none"), b32("r"))
    with boa.reverts("debt_item: caller is not the debtor"):
        _as(c.tier1, c.debt.dispute, item.item_id, b32("r"))
    with boa.reverts("debt_item: no reason"):
        _as(c.core.address, c.debt.dispute, item.item_id, ZERO32)
    with boa.reverts("debt_item: item is not disputed"):
        _as(c.core.address, c.debt.withdraw_dispute, item.item_id)
    _as(c.core.address, c.debt.dispute, item.item_id, b32("r"))
    with boa.reverts("debt_item: item is disputed"):
        _as(c.core.address, c.debt.dispute, item.item_id, b32("r"))
    with boa.reverts("debt_item: caller is not the debtor"):
        _as(c.tier1, c.debt.withdraw_dispute, item.item_id)
    _as(c.core.address, c.debt.repay, item.item_id, item.face_value, DAY0)
    _as(c.core.address, c.debt.withdraw_dispute, item.item_id)
    with boa.reverts("debt_item: item is not active"):
        _as(c.core.address, c.debt.dispute, item.item_id, b32("r"))


# --------------------------------------------------------------------------- merge


def test_merge_joins_two_holdings_of_the_holder(consortium: Consortium) -> None:
    c = consortium
    item = issue_item(c)
    _as(c.tier1, c.debt.split, item.holding_id, b32("part"), 40_000_000)
    op = new_op()
    with boa.env.prank(c.tier1):
        c.debt.merge(op, item.holding_id, b32("part"))
    assert events(c.debt) == [
        ("OperationApplied", {"op_id": op, "kind": 11}),
        (
            "HoldingsMerged",
            {
                "item_id": item.item_id,
                "into_holding": item.holding_id,
                "from_holding": b32("part"),
                "holder": c.tier1,
                "amount": 40_000_000,
            },
        ),
    ]
    assert c.debt.holding(item.holding_id).outstanding == item.face_value
    assert c.debt.holding(b32("part")).outstanding == 0
    _as(c.core.address, c.debt.repay, item.item_id, 10_000_000, DAY0)
    assert [e["holding_id"] for e in named(c.debt, "PaymentRouted")] == [item.holding_id]
    _conserved(c, item)


def test_merge_refuses(consortium: Consortium) -> None:
    c = consortium
    item = issue_item(c)
    other = issue_item(c, "other")
    _as(c.tier1, c.debt.split, item.holding_id, b32("part"), 1_000)
    _as(c.tier1, c.debt.split, item.holding_id, b32("pledged"), 1_000)
    _transfer(c, item.holding_id, "theirs", c.tier2, 1_000)
    pledge(c, c.tier1, b32("pledged"), c.bank, 500, 0, DAY0)
    h = item.holding_id
    cases = [
        (c.tier2, h, b32("part"), "debt_item: caller is not the holder"),
        (c.tier1, h, b32("theirs"), "debt_item: caller is not the holder"),
        (c.tier1, h, h, "debt_item: merge with itself"),
        (c.tier1, h, other.holding_id, "debt_item: holdings of different items"),
        (c.tier1, h, b32("pledged"), "debt_item: holding is pledged"),
    ]
    for sender, a, b, message in cases:
        with boa.reverts(message):
            _as(sender, c.debt.merge, a, b)
    _as(c.tier1, c.debt.merge, h, b32("part"))
    with boa.reverts("debt_item: amount is zero"):
        _as(c.tier1, c.debt.merge, h, b32("part"))


# --------------------------------------------------------------------------- release_pledge


def test_the_bank_releases_its_pledge(consortium: Consortium) -> None:
    c = consortium
    item = issue_item(c)
    pledge(c, c.tier1, item.holding_id, c.bank, 50_000_000, 0, DAY0)
    with boa.reverts("debt_item: caller is not the pledgee"):
        _as(c.bank2, c.debt.release_pledge, item.holding_id)
    with boa.reverts("debt_item: caller is not the pledgee"):
        _as(c.tier1, c.debt.release_pledge, item.holding_id)
    op = new_op()
    with boa.env.prank(c.bank):
        c.debt.release_pledge(op, item.holding_id)
    assert events(c.debt) == [
        ("OperationApplied", {"op_id": op, "kind": 14}),
        (
            "PledgeReleased",
            {"item_id": item.item_id, "holding_id": item.holding_id, "bank": c.bank},
        ),
    ]
    with boa.reverts("debt_item: holding is not pledged"):
        _as(c.bank, c.debt.release_pledge, item.holding_id)
    _transfer(c, item.holding_id, "free", c.tier2, 1)


# --------------------------------------------------------------------------- dilution


def test_a_credit_note_dilutes_only_the_creditors_unpledged_holdings(
    consortium: Consortium,
) -> None:
    c = consortium
    item = issue_item(c)
    h = item.holding_id
    _transfer(c, h, "tier2", c.tier2, 30_000_000)
    _as(c.tier1, c.debt.split, h, b32("pledged"), 20_000_000)
    pledge(c, c.tier1, b32("pledged"), c.bank, 10_000_000, 0, DAY0)
    _as(c.tier1, c.debt.split, h, b32("second"), 10_000_000)
    # tier 1 keeps 40,000,000 in h and 10,000,000 in "second", both unpledged.
    op = new_op()
    with boa.env.prank(c.tier1):
        c.debt.propose_dilution(op, item.item_id, 45_000_000, b32("cn-1"))
    assert named(c.debt, "DilutionProposed") == [
        {"item_id": item.item_id, "credit_note_hash": b32("cn-1"), "amount": 45_000_000}
    ]
    assert c.debt.dilution(item.item_id, b32("cn-1")) == (45_000_000, 1)
    op = new_op()
    with boa.env.prank(c.core.address):
        c.debt.accept_dilution(op, item.item_id, b32("cn-1"), 45_000_000)
    assert events(c.debt) == [
        ("OperationApplied", {"op_id": op, "kind": 13}),
        ("HoldingDiluted", {"item_id": item.item_id, "holding_id": h, "amount": 40_000_000}),
        (
            "HoldingDiluted",
            {"item_id": item.item_id, "holding_id": b32("second"), "amount": 5_000_000},
        ),
        (
            "ItemDiluted",
            {
                "item_id": item.item_id,
                "credit_note_hash": b32("cn-1"),
                "amount": 45_000_000,
                "diluted_total": 45_000_000,
            },
        ),
    ]
    assert c.debt.holding(b32("tier2")).outstanding == 30_000_000
    assert c.debt.holding(b32("pledged")).outstanding == 20_000_000
    assert c.debt.dilution(item.item_id, b32("cn-1")) == (45_000_000, 2)
    _conserved(c, item)
    assert c.debt.outstanding(item.item_id) == 55_000_000


def test_dilution_of_everything_left_settles_the_item(consortium: Consortium) -> None:
    c = consortium
    item = issue_item(c)
    _as(c.core.address, c.debt.repay, item.item_id, 60_000_000, DAY0)
    _as(c.tier1, c.debt.propose_dilution, item.item_id, 40_000_000, b32("cn"))
    _as(c.core.address, c.debt.accept_dilution, item.item_id, b32("cn"), 40_000_000)
    assert named(c.debt, "ItemSettled") == [{"item_id": item.item_id}]
    assert c.debt.item(item.item_id).state == SETTLED
    _conserved(c, item)


def test_dilution_refuses(consortium: Consortium) -> None:
    c = consortium
    item = issue_item(c)
    _transfer(c, item.holding_id, "tier2", c.tier2, 90_000_000)
    i = item.item_id
    cases = [
        (c.tier1, b32("none"), 1, b32("cn"), "debt_item: no such item"),
        (c.tier2, i, 1, b32("cn"), "debt_item: caller is not the creditor"),
        (c.tier1, i, 0, b32("cn"), "debt_item: amount is zero"),
        (c.tier1, i, 1, ZERO32, "debt_item: no credit note"),
        (c.tier1, i, 10_000_001, b32("cn"), "debt_item: dilution exceeds unpledged outstanding"),
    ]
    for sender, item_id, amount, note, message in cases:
        with boa.reverts(message):
            _as(sender, c.debt.propose_dilution, item_id, amount, note)
    _as(c.tier1, c.debt.propose_dilution, i, 10_000_000, b32("cn"))
    with boa.reverts("debt_item: credit note already used"):
        _as(c.tier1, c.debt.propose_dilution, i, 1, b32("cn"))
    with boa.reverts("debt_item: caller is not the debtor"):
        _as(c.tier1, c.debt.accept_dilution, i, b32("cn"), 10_000_000)
    with boa.reverts("debt_item: no such dilution"):
        _as(c.core.address, c.debt.accept_dilution, i, b32("other"), 10_000_000)
    with boa.reverts("debt_item: dilution amount differs"):
        _as(c.core.address, c.debt.accept_dilution, i, b32("cn"), 9_000_000)
    pledge(c, c.tier1, item.holding_id, c.bank, 1, 0, DAY0)
    with boa.reverts("debt_item: dilution exceeds unpledged outstanding"):
        _as(c.core.address, c.debt.accept_dilution, i, b32("cn"), 10_000_000)


# --------------------------------------------------------------------------- payments


def _worked_setup(c: Consortium) -> tuple[Issued, bytes, bytes]:
    item = issue_item(c, "worked", face_value=100_000_000)
    h2 = _transfer(c, item.holding_id, "worked/h2", c.tier2, 30_000_000)
    pledge(c, c.tier2, h2, c.bank, 27_000_000, 450, DAY0 + 10)
    return item, item.holding_id, h2


def test_worked_example_paid_in_settlement_tokens(consortium: Consortium) -> None:
    c = consortium
    item, h1, h2 = _worked_setup(c)
    _mint(c, c.core.address, 100_000_000, bank=c.bank2)
    _approve(c, c.core.address, c.debt.address, 100_000_000)
    with boa.env.prank(c.core.address):
        c.debt.pay_with_token(new_op(), item.item_id, 50_000_000, DAY0 + 100)
    interest1 = 27_000_000 * 450 * 90 // 3_650_000
    assert [
        (e["holding_id"], e["payee"], e["amount"], e["part"])
        for e in named(c.debt, "PaymentRouted")
    ] == [
        (h1, c.tier1, 35_000_000, HOLDER),
        (h2, c.bank, interest1, BANK_INTEREST),
        (h2, c.bank, 15_000_000 - interest1, BANK_PRINCIPAL),
    ]
    assert c.token.balanceOf(c.tier1) == 35_000_000
    assert c.token.balanceOf(c.bank) == 15_000_000
    assert c.token.balanceOf(c.tier2) == 0
    with boa.env.prank(c.core.address):
        c.debt.pay_with_token(new_op(), item.item_id, 50_000_000, DAY0 + 190)
    assert c.token.balanceOf(c.bank) == 27_436_063
    assert c.token.balanceOf(c.tier2) == 30_000_000 - 27_436_063
    assert c.token.balanceOf(c.tier1) == 70_000_000
    assert c.token.balanceOf(c.core.address) == 0
    assert c.token.balanceOf(c.debt.address) == 0
    assert c.debt.item(item.item_id).state == SETTLED


def test_attested_and_token_payments_end_in_the_same_state(consortium: Consortium) -> None:
    c = consortium
    states = []
    for how in ("attest", "token", "repay"):
        with boa.env.anchor():
            item, h1, h2 = _worked_setup(c)
            if how == "attest":
                op = new_op()
                with boa.env.prank(c.bank):
                    c.debt.attest_payment(op, item.item_id, 50_000_000, DAY0 + 100, b32("stmt-1"))
                assert events(c.debt)[0] == ("OperationApplied", {"op_id": op, "kind": 15})
                assert named(c.debt, "PaymentAttested") == [
                    {
                        "item_id": item.item_id,
                        "bank": c.bank,
                        "amount": 50_000_000,
                        "value_day": DAY0 + 100,
                        "bank_reference": b32("stmt-1"),
                    }
                ]
            elif how == "token":
                _mint(c, c.core.address, 50_000_000)
                _approve(c, c.core.address, c.debt.address, 50_000_000)
                _as(c.core.address, c.debt.pay_with_token, item.item_id, 50_000_000, DAY0 + 100)
            else:
                _as(c.core.address, c.debt.repay, item.item_id, 50_000_000, DAY0 + 100)
            states.append((c.debt.item(item.item_id), c.debt.holding(h1), c.debt.holding(h2)))
    assert states[0] == states[1] == states[2]


def test_attest_payment_refuses(consortium: Consortium) -> None:
    c = consortium
    item = issue_item(c)
    with boa.reverts("debt_item: no such item"):
        _as(c.bank, c.debt.attest_payment, b32("none"), 1, DAY0, b32("ref"))
    for sender in (c.core.address, c.bank2):
        with boa.reverts("debt_item: caller is not the account bank"):
            _as(sender, c.debt.attest_payment, item.item_id, 1, DAY0, b32("ref"))
    with boa.reverts("debt_item: no bank reference"):
        _as(c.bank, c.debt.attest_payment, item.item_id, 1, DAY0, ZERO32)
    with boa.reverts("debt_item: payment exceeds outstanding"):
        _as(c.bank, c.debt.attest_payment, item.item_id, item.face_value + 1, DAY0, b32("ref"))


def test_pay_with_token_refuses(consortium: Consortium) -> None:
    c = consortium
    item = issue_item(c)
    with boa.reverts("debt_item: no such item"):
        _as(c.core.address, c.debt.pay_with_token, b32("none"), 1, DAY0)
    with boa.reverts("debt_item: caller is not the debtor"):
        _as(c.bank, c.debt.pay_with_token, item.item_id, 1, DAY0)
    with boa.reverts("erc20: insufficient allowance"):
        _as(c.core.address, c.debt.pay_with_token, item.item_id, 1, DAY0)
    _approve(c, c.core.address, c.debt.address, 10)
    with boa.reverts("erc20: transfer amount exceeds balance"):
        _as(c.core.address, c.debt.pay_with_token, item.item_id, 10, DAY0)
    usd = boa.load_partial(c.token.filename).deploy(
        c.registry.address, "FourFlow USD", "fUSD", 2, 840
    )
    fresh = boa.load_partial(c.debt.filename).deploy(c.registry.address)
    _as(c.operator, fresh.set_issuer, c.tier1)  # tier 1 stands in for an Issuer here
    with boa.env.prank(c.tier1):
        fresh.register_issue(
            b32("i"), b32("h"), c.tier1, c.core.address, CNY, 100, DAY0, DAY0 + 10, 1,
            b32("t"), b32("r"), 1, c.bank,
        )  # fmt: skip
    with boa.reverts("debt_item: no settlement token"):
        _as(c.core.address, fresh.pay_with_token, b32("i"), 1, DAY0)
    _as(c.operator, fresh.set_settlement_token, usd.address)
    with boa.reverts("debt_item: token currency mismatch"):
        _as(c.core.address, fresh.pay_with_token, b32("i"), 1, DAY0)


# --------------------------------------------------------------------------- overdue and default


def test_overdue_after_maturity_plus_grace(consortium: Consortium) -> None:
    c = consortium
    item = issue_item(c, issue_day=TODAY - 30, maturity_day=TODAY - 5)
    assert not c.debt.overdue(item.item_id)  # today == maturity + 5 grace days
    with boa.reverts("debt_item: not overdue"):
        _as(c.operator, c.debt.mark_default, item.item_id)
    boa.env.evm.patch.timestamp += SECONDS_PER_DAY
    assert c.debt.overdue(item.item_id)
    _as(c.core.address, c.debt.repay, item.item_id, item.face_value, TODAY)
    assert not c.debt.overdue(item.item_id)


def test_default_passes_pledged_holdings_to_their_banks(consortium: Consortium) -> None:
    c = consortium
    item, _, h2 = _worked_setup(c)  # maturity DAY0 + 180, today DAY0 + 400
    _as(c.core.address, c.debt.repay, item.item_id, 50_000_000, DAY0 + 100)
    principal = c.debt.holding(h2).pledge_principal
    assert principal == 12_299_589
    interest = principal * 450 * (TODAY - (DAY0 + 100)) // 3_650_000
    op = new_op()
    with boa.env.prank(c.bank):  # the pledgee (or the operator: governance)
        c.debt.mark_default(op, item.item_id)
    assert events(c.debt) == [
        ("OperationApplied", {"op_id": op, "kind": 17}),
        (
            "HoldingForeclosed",
            {
                "item_id": item.item_id,
                "holding_id": h2,
                "bank": c.bank,
                "pledgor": c.tier2,
                "principal": principal,
                "interest": interest,
            },
        ),
        ("ItemDefaulted", {"item_id": item.item_id, "day": TODAY, "outstanding": 50_000_000}),
    ]
    held = c.debt.holding(h2)
    assert (held.holder, held.pledge_principal, held.pledge_interest) == (c.bank, 0, 0)
    assert c.debt.item(item.item_id).state == DEFAULTED
    assert c.debt.item_life(item.item_id).default_day == TODAY
    assert c.debt.recourse(h2) == (c.tier2, c.bank, principal, interest, 0, True)
    assert c.debt.buy_back_price(h2) == principal + interest
    with boa.reverts("debt_item: holding is under recourse"):
        _as(c.bank, c.debt.transfer, h2, b32("sold"), c.bank2, 1)

    # A late payment still routes: the bank is now the holder of tier 2's part.
    _as(c.core.address, c.debt.repay, item.item_id, 10_000_000, TODAY)
    assert named(c.debt, "PaymentRouted")[1] == {
        "item_id": item.item_id,
        "holding_id": h2,
        "payee": c.bank,
        "amount": 3_000_000,
        "part": HOLDER,
    }
    price = principal + interest - 3_000_000
    assert c.debt.buy_back_price(h2) == price

    # Recourse: tier 2 buys its holding back with settlement tokens.
    _mint(c, c.tier2, price)
    _approve(c, c.tier2, c.debt.address, price)
    op = new_op()
    with boa.env.prank(c.tier2):
        c.debt.buy_back(op, h2)
    assert named(c.debt, "HoldingBoughtBack") == [
        {
            "item_id": item.item_id,
            "holding_id": h2,
            "pledgor": c.tier2,
            "bank": c.bank,
            "price": price,
        }
    ]
    assert named(c.debt, "OperationApplied") == [{"op_id": op, "kind": 18}]
    assert c.debt.holding(h2).holder == c.tier2
    assert c.token.balanceOf(c.bank) == price
    assert not c.debt.recourse(h2).open
    _as(c.core.address, c.debt.repay, item.item_id, 40_000_000, TODAY)
    assert c.debt.item(item.item_id).state == SETTLED
    _conserved(c, item)


def test_mark_default_refuses(consortium: Consortium) -> None:
    c = consortium
    item = issue_item(c)
    with boa.reverts("debt_item: no such item"):
        _as(c.operator, c.debt.mark_default, b32("none"))
    with boa.reverts("debt_item: caller may not mark default"):
        _as(c.tier1, c.debt.mark_default, item.item_id)
    _as(c.operator, c.debt.mark_default, item.item_id)
    with boa.reverts("debt_item: item is not active"):
        _as(c.operator, c.debt.mark_default, item.item_id)
    with boa.reverts("debt_item: item is not active"):
        pledge(c, c.tier1, item.holding_id, c.bank, 1, 0, DAY0)


def test_only_a_pledgee_of_the_item_or_the_operator_marks_default(consortium: Consortium) -> None:
    """A third bank cannot foreclose pledges it has no part in; nor can a bank whose own
    pledge was repaid, nor a suspended pledgee, nor a holder."""
    c = consortium
    item, _, h2 = _worked_setup(c)  # h2 pledged to bank; overdue (maturity DAY0 + 180)
    assert c.debt.overdue(item.item_id)
    for who in (c.bank2, c.tier1, c.tier2, c.core.address, c.regulator, c.outsider):
        with boa.reverts("debt_item: caller may not mark default"):
            _as(who, c.debt.mark_default, item.item_id)
    # bank2's own pledge on another item gives it no say over this one.
    other = issue_item(c, "other-item")
    pledge(c, c.tier1, other.holding_id, c.bank2, 1_000, 0, DAY0)
    with boa.reverts("debt_item: caller may not mark default"):
        _as(c.bank2, c.debt.mark_default, item.item_id)
    # A suspended pledgee may not.
    with boa.env.prank(c.operator):
        c.registry.suspend(new_op(), c.bank)
    with boa.reverts("debt_item: caller may not mark default"):
        _as(c.bank, c.debt.mark_default, item.item_id)
    with boa.env.prank(c.operator):
        c.registry.reinstate(new_op(), c.bank)
    # Once bank's pledge is released it is no longer a party either.
    with boa.env.anchor():
        _as(c.bank, c.debt.release_pledge, h2)
        with boa.reverts("debt_item: caller may not mark default"):
            _as(c.bank, c.debt.mark_default, item.item_id)
        _as(c.operator, c.debt.mark_default, item.item_id)  # the operator (governance) may
        assert c.debt.item(item.item_id).state == DEFAULTED
    _as(c.bank, c.debt.mark_default, item.item_id)  # the pledgee may
    assert c.debt.item(item.item_id).state == DEFAULTED
    assert c.debt.holding(h2).holder == c.bank


def test_buy_back_refuses(consortium: Consortium) -> None:
    c = consortium
    item, _, h2 = _worked_setup(c)
    with boa.reverts("debt_item: no recourse"):
        _as(c.tier2, c.debt.buy_back, h2)
    _as(c.operator, c.debt.mark_default, item.item_id)
    with boa.reverts("debt_item: caller is not the pledgor"):
        _as(c.tier1, c.debt.buy_back, h2)
    with boa.reverts("erc20: insufficient allowance"):
        _as(c.tier2, c.debt.buy_back, h2)


# --------------------------------------------------------------------------- cancel


def test_creditor_and_debtor_cancel_an_untouched_item(consortium: Consortium) -> None:
    c = consortium
    item = issue_item(c)
    op = new_op()
    with boa.env.prank(c.core.address):
        c.debt.cancel(op, item.item_id)
    assert events(c.debt) == [
        ("OperationApplied", {"op_id": op, "kind": 19}),
        ("CancellationApproved", {"item_id": item.item_id, "party": c.core.address}),
    ]
    assert c.debt.item(item.item_id).state == ACTIVE
    with boa.reverts("debt_item: cancellation already approved"):
        _as(c.core.address, c.debt.cancel, item.item_id)
    _as(c.tier1, c.debt.cancel, item.item_id)
    assert named(c.debt, "ItemCancelled") == [{"item_id": item.item_id, "amount": item.face_value}]
    assert c.debt.item(item.item_id).state == CANCELLED
    assert c.debt.holding(item.holding_id).outstanding == 0
    _conserved(c, item)
    with boa.reverts("debt_item: item is cancelled"):
        _as(c.core.address, c.debt.repay, item.item_id, 1, DAY0)
    with boa.reverts("debt_item: split exceeds outstanding"):
        _as(c.tier1, c.debt.split, item.holding_id, b32("x"), 1)


def test_cancel_refuses(consortium: Consortium) -> None:
    c = consortium
    paid, moved, pledged = issue_item(c, "paid"), issue_item(c, "moved"), issue_item(c, "pledged")
    with boa.reverts("debt_item: no such item"):
        _as(c.tier1, c.debt.cancel, b32("none"))
    with boa.reverts("debt_item: caller may not cancel"):
        _as(c.tier2, c.debt.cancel, paid.item_id)
    _as(c.core.address, c.debt.repay, paid.item_id, 1, DAY0)
    with boa.reverts("debt_item: item has payments"):
        _as(c.tier1, c.debt.cancel, paid.item_id)
    _as(c.tier1, c.debt.split, moved.holding_id, b32("m"), 1)
    with boa.reverts("debt_item: item has moved"):
        _as(c.tier1, c.debt.cancel, moved.item_id)
    pledge(c, c.tier1, pledged.holding_id, c.bank, 1, 0, DAY0)
    _as(c.bank, c.debt.release_pledge, pledged.holding_id)
    with boa.reverts("debt_item: item was pledged"):
        _as(c.tier1, c.debt.cancel, pledged.item_id)
    _as(c.core.address, c.debt.repay, paid.item_id, paid.face_value - 1, DAY0)
    with boa.reverts("debt_item: item is not active"):
        _as(c.tier1, c.debt.cancel, paid.item_id)


# --------------------------------------------------------------------------- the operator


def test_no_admin_path_moves_a_holders_value(consortium: Consortium) -> None:
    c = consortium
    item = issue_item(c)
    h = item.holding_id
    op = c.operator
    attempts = [
        (c.debt.split, (h, b32("x"), 1), "debt_item: caller is not the holder"),
        (c.debt.transfer, (h, b32("x"), op, 1), "debt_item: caller is not the holder"),
        (c.debt.merge, (h, h), "debt_item: caller is not the holder"),
        (c.debt.pledge, (h, c.bank, 1, 0, DAY0), "debt_item: caller is not the holder"),
        (c.debt.repay, (item.item_id, 1, DAY0), "debt_item: caller is not the debtor"),
        (
            c.debt.attest_payment,
            (item.item_id, 1, DAY0, b32("r")),
            "debt_item: caller is not the account bank",
        ),
        (c.debt.pay_with_token, (item.item_id, 1, DAY0), "debt_item: caller is not the debtor"),
        (c.debt.cancel, (item.item_id,), "debt_item: caller may not cancel"),
        (
            c.debt.propose_dilution,
            (item.item_id, 1, b32("cn")),
            "debt_item: caller is not the creditor",
        ),
        (c.debt.buy_back, (h,), "debt_item: no recourse"),
        (c.token.mint, (op, 1, b32("dep")), "settlement_token: caller is not a bank"),
    ]
    for fn, args, message in attempts:
        with boa.reverts(message):
            _as(op, fn, *args)
    with boa.reverts("erc20: insufficient allowance"), boa.env.prank(op):
        c.token.transferFrom(c.tier1, c.tier2, 1)
    assert c.debt.holding(h).holder == c.tier1
    assert c.debt.holding(h).outstanding == item.face_value


@pytest.mark.parametrize(
    "name,args",
    [
        ("set_account_bank", ("item", "0x" + "02" * 20)),
        ("set_max_rate", (100,)),
        ("dispute", ("item", b"r" * 32)),
        ("withdraw_dispute", ("item",)),
        ("resolve_dispute", ("item", b"r" * 32)),
        ("merge", ("h", "h")),
        ("release_pledge", ("h",)),
        ("propose_dilution", ("item", 1, b"c" * 32)),
        ("accept_dilution", ("item", b"c" * 32, 1)),
        ("attest_payment", ("item", 1, DAY0, b"r" * 32)),
        ("pay_with_token", ("item", 1, DAY0)),
        ("mark_default", ("item",)),
        ("buy_back", ("h",)),
        ("cancel", ("item",)),
        ("set_max_tenor", (10,)),
        ("set_grace_days", (1,)),
        ("set_settlement_token", (b"\x01" * 20,)),
    ],
)
def test_new_writes_wait_while_paused_and_apply_once(
    consortium: Consortium, name: str, args: tuple[Any, ...]
) -> None:
    c = consortium
    item = issue_item(c)
    concrete = tuple(
        item.item_id if a == "item" else item.holding_id if a == "h" else a for a in args
    )
    if name == "set_settlement_token":
        concrete = ("0x" + "01" * 20,)
    op = new_op()
    with boa.env.prank(c.operator):
        c.registry.pause()
    with boa.reverts("debt_item: paused"), boa.env.prank(c.tier1):
        getattr(c.debt, name)(op, *concrete)
    with boa.env.prank(c.operator):
        c.registry.unpause()
    _as(c.tier1, c.debt.split, item.holding_id, b32("used"), 1)  # any applied op id
    used = c.debt.get_logs()[0].op_id
    with boa.reverts("debt_item: operation already applied"), boa.env.prank(c.tier1):
        getattr(c.debt, name)(used, *concrete)


# --------------------------------------------------------------------------- repayment hook


def test_the_repayment_hook_is_set_once_and_then_alone_moves_the_account_bank(
    consortium: Consortium,
) -> None:
    """Issue 20's hook: the operator names the Repayment contract once; it may then pay in
    tokens for the debtor (the debtor's allowance still bounds it) and is the only one who
    moves an item's account bank (it checks the debtor's and the pledgees' signatures)."""
    c = consortium
    item = issue_item(c)
    route = c.regulator  # stands in for the Repayment contract: any member account
    with boa.reverts("debt_item: caller is not the operator"):
        _as(c.tier1, c.debt.set_repayment, route)
    with boa.reverts("debt_item: repayment already set"):
        _as(c.operator, c.debt.set_repayment, "0x" + "00" * 20)
    _as(c.operator, c.debt.set_repayment, route)
    assert named(c.debt, "RepaymentSet") == [{"repayment": route}]
    assert c.debt.repayment() == route
    with boa.reverts("debt_item: repayment already set"):
        _as(c.operator, c.debt.set_repayment, c.tier2)

    with boa.reverts("debt_item: caller is not the debtor"):  # the debtor alone no longer
        _as(c.core.address, c.debt.set_account_bank, item.item_id, c.bank2)
    _as(route, c.debt.set_account_bank, item.item_id, c.bank2)
    assert c.debt.account_bank(item.item_id) == c.bank2

    _mint(c, c.core.address, 1_000)
    _approve(c, c.core.address, c.debt.address, 1_000)
    with boa.reverts("debt_item: caller is not the debtor"):
        _as(c.tier2, c.debt.pay_with_token, item.item_id, 1_000, TODAY)
    _as(route, c.debt.pay_with_token, item.item_id, 1_000, TODAY)
    assert c.token.balanceOf(c.core.address) == 0
    assert c.token.balanceOf(c.tier1) == 1_000  # the holder was paid from the debtor's tokens
    assert c.debt.item(item.item_id).paid == 1_000
