"""The payment routing rule: pro rata across holdings, banks first within a pledged holding."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from fourflow.domain.debt import (
    HoldingClaim,
    PledgeState,
    accrued_interest,
    route_payment,
    split_pro_rata,
)

YUAN = 100


def test_worked_example_from_the_issue() -> None:
    """1,000,000.00 item; tier 2 holds 300,000.00 pledged for 270,000.00 at 6%."""
    pledge = PledgeState("bank", principal=270_000 * YUAN, interest=0, rate_bps=600, accrued_to=0)
    claims = [
        HoldingClaim("h1", "tier1", 700_000 * YUAN),
        HoldingClaim("h2", "tier2", 300_000 * YUAN, pledge),
    ]
    routed, after = route_payment(claims, 500_000 * YUAN, value_day=30)
    assert [r.share for r in routed] == [350_000 * YUAN, 150_000 * YUAN]
    assert routed[0].to_holder == 350_000 * YUAN and routed[0].to_bank == 0
    assert routed[1].to_bank == 150_000 * YUAN and routed[1].to_holder == 0
    interest_30 = 270_000 * YUAN * 600 * 30 // 3_650_000
    assert routed[1].to_bank_interest == interest_30
    principal_left = 270_000 * YUAN - (150_000 * YUAN - interest_30)
    assert after[1].pledge is not None
    assert after[1].pledge.principal == principal_left

    routed, after = route_payment(after, 500_000 * YUAN, value_day=90)
    interest_60 = principal_left * 600 * 60 // 3_650_000
    bank = routed[1]
    assert bank.to_bank == principal_left + interest_60
    assert bank.to_holder == 150_000 * YUAN - bank.to_bank
    assert after[1].pledge is not None and not after[1].pledge.active
    assert all(c.outstanding == 0 for c in after)


def test_rounding_gives_leftover_units_to_the_first_holdings() -> None:
    assert split_pro_rata(10, [10, 10, 10]) == [4, 3, 3]
    assert split_pro_rata(2, [3, 3, 3]) == [1, 1, 0]
    assert split_pro_rata(3, [1, 5, 1]) == [1, 2, 0]


def test_interest_is_simple_actual_365_rounded_down() -> None:
    assert accrued_interest(365_00, 10_000, 365) == 365_00
    assert accrued_interest(100, 1, 1) == 0


@given(
    weights=st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=64),
    fraction=st.fractions(min_value=0, max_value=1),
)
def test_shares_add_up_exactly_and_never_exceed_a_holding(
    weights: list[int], fraction: Fraction
) -> None:
    total = sum(weights)
    if total == 0:
        return
    payment = int(total * fraction)
    shares = split_pro_rata(payment, weights)
    assert sum(shares) == payment
    assert all(0 <= s <= w for s, w in zip(shares, weights, strict=True))


@given(
    outstanding=st.integers(min_value=1, max_value=10**12),
    principal_share=st.fractions(min_value=0, max_value=1),
    rate=st.integers(min_value=0, max_value=5_000),
    days=st.integers(min_value=0, max_value=400),
    pay_share=st.fractions(min_value=0, max_value=1),
)
def test_bank_is_paid_before_the_holder(
    outstanding: int, principal_share: Fraction, rate: int, days: int, pay_share: Fraction
) -> None:
    principal = int(outstanding * principal_share)
    pledge = PledgeState("bank", principal, 0, rate, 0)
    payment = int(outstanding * pay_share)
    if payment == 0:
        return
    (part,), _ = route_payment([HoldingClaim("h", "x", outstanding, pledge)], payment, days)
    owed = principal + accrued_interest(principal, rate, days)
    assert part.to_bank == min(payment, owed)
    assert part.to_bank + part.to_holder == payment
