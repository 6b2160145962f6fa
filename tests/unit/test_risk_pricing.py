"""Pricing a bank would quote: funding cost + expected loss per year over the financing's own
tenor + margin; monotone in risk and sane at 7 and at 360 days."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from fourflow.domain.financing import Outcome
from fourflow.risk.review import (
    Exposure,
    ProductPolicy,
    Request,
    Scored,
    pd_over_tenor,
    price_bps,
    review,
)
from fourflow.risk.valuation import AssetClass

POLICY = ProductPolicy(bank_id="BANK", max_tenor_days=365)
DAY = dt.date(2025, 3, 1)
PDS = [0.001, 0.005, 0.01, 0.02, 0.05, 0.08, 0.1, 0.15, 0.2, 0.25]


def rate(pd: float, days: int, lgd: float = 0.135) -> int:
    return price_bps(POLICY, pd, lgd, days)


@pytest.mark.parametrize("days", [7, 30, 90, 180, 360])
def test_the_rate_never_falls_as_risk_rises(days: int) -> None:
    rates = [rate(pd, days) for pd in PDS]
    assert rates == sorted(rates)
    assert rates[-1] > rates[0]  # and risk is actually priced
    lgds = [rate(0.05, days, lgd) for lgd in (0.05, 0.1, 0.2, 0.4)]
    assert lgds == sorted(lgds) and lgds[-1] > lgds[0]


def test_a_7_day_and_a_360_day_financing_of_the_same_risk_cost_about_the_same_a_year() -> None:
    for pd in PDS:
        short, long = rate(pd, 7), rate(pd, 360)
        # the per-year loss of a constant hazard hardly depends on the tenor (−ln(1 − PD) a
        # year at the short end, PD at a year): within 10% of the rate
        assert abs(short - long) <= max(20, 0.10 * long), (pd, short, long)
        floor = POLICY.base_rate_bps + POLICY.min_spread_bps
        assert floor <= short <= POLICY.max_rate_bps and floor <= long <= POLICY.max_rate_bps


def test_the_rate_is_funding_cost_plus_expected_loss_per_year_plus_margin() -> None:
    # PD 10% a year, loss given bad 13.5%: 1.35% a year of expected loss
    assert rate(0.10, 365) == 350 + 135 + 150
    assert rate(0.10, 7) == 350 + 143 + 150  # (1 − 0.9^(7/365)) × 365/7 ≈ −ln 0.9, × 13.5%
    # a safe debtor pays the funding cost and the margin; an extreme one the cap
    assert rate(0.0, 30) == 350 + 150
    assert price_bps(POLICY, 0.99, 0.45, 30) == POLICY.max_rate_bps


def test_pd_over_the_tenor_comes_from_the_annual_pd() -> None:
    assert pd_over_tenor(0.1, 365) == pytest.approx(0.1)
    assert pd_over_tenor(0.1, 730) == pytest.approx(0.19)
    assert pd_over_tenor(0.1, 7) == pytest.approx(1 - 0.9 ** (7 / 365))
    assert pd_over_tenor(0.1, 90, horizon_days=90) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="PD"):
        pd_over_tenor(1.2, 30)


def test_the_issues_case_a_short_core_receivable_is_not_dearer_than_a_long_tier_3_one() -> None:
    core = rate(0.02, 31)  # a core enterprise's receivable, 31 days left
    tier3 = rate(0.08, 120)  # a riskier one further up the chain
    assert core < tier3
    assert core < 600  # 3.5% funding + 1.5% margin + a little expected loss


def request(days: int) -> Request:
    return Request(
        id=f"fin-{days}", borrower="S", debtor="B", scenario="manufacturing", industry="C33",
        basis="confirmed", outstanding=1_000_000, requested=500_000, currency="CNY", as_of=DAY,
        maturity=DAY + dt.timedelta(days=days), verification_status="verified",
        verification_score=95,
    )  # fmt: skip


@pytest.mark.parametrize("days", [7, 360])
def test_the_review_quotes_the_tenors_rate(days: int) -> None:
    scored = Scored(0.04, (), 600.0, "scorecard-1")
    d = review(request=request(days), features={}, scored=scored, policy=POLICY,
               exposure=Exposure())  # fmt: skip
    assert d.outcome is Outcome.APPROVE
    lgd = POLICY.loss_given_bad(AssetClass.CONFIRMED_RECEIVABLE)
    assert d.rate_bps == price_bps(POLICY, 0.04, lgd, days)
    assert 500 <= d.rate_bps <= 560


def test_policy_refuses_a_zero_horizon_and_a_negative_margin() -> None:
    with pytest.raises(ValueError, match="pd_horizon_days"):
        replace(POLICY, pd_horizon_days=0)
    with pytest.raises(ValueError, match="margin_bps"):
        replace(POLICY, margin_bps=-1)
