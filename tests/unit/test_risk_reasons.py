"""Reasons in words and units, effects on the PD, and the reason catalogue."""

from __future__ import annotations

import datetime as dt
import math
import re
from pathlib import Path

import pytest

from fourflow.risk.features import FEATURES
from fourflow.risk.reasons import CATALOGUE, catalogue_entry, describe, effect_words, pd_effect
from fourflow.risk.review import Exposure, Factor, ProductPolicy, Request, Scored, review

DOCS = Path(__file__).resolve().parents[2] / "docs" / "risk.md"

BASE: dict[str, float | str] = {
    "rel_age_days": 7.0, "rel_invoices": 2.0, "rel_volume_365": math.log1p(250_000.0),
    "rel_volume_trend": 1_000_001.0, "rel_volatility": 0.85, "debtor_invoices_due": 0.0,
    "debtor_late_share": 0.0, "debtor_mean_days_late": 0.0, "debtor_p90_days_late": 0.0,
    "debtor_late30_share": 0.0, "debtor_days_since_late": 9_999.0, "debtor_late_trend": 0.0,
    "debtor_open_overdue": 0.0, "debtor_dilution_rate": 0.023, "rel_dilution_rate": 0.0,
    "debtor_dispute_rate": 0.04, "concentration": 0.45, "verification_score": 85.0,
    "findings": 1.0, "logistics": 2 / 3, "tier_depth": 2.0, "tenor_days": 45.0,
    "log_amount": math.log1p(150_000.0), "scenario": "manufacturing", "basis": "verified",
}  # fmt: skip


def test_the_issues_bare_numbers_become_words_with_units() -> None:
    assert describe("rel_volume_trend", BASE) == (
        "new business: volume in the last 90 days, next to none in the 90 before"
    )
    assert describe("rel_age_days", BASE) == "creditor and debtor have traded for 7 days"
    assert "no repaid invoices" in describe("debtor_invoices_due", BASE)
    assert "no repaid invoices" in describe("debtor_late_share", BASE)
    assert describe("rel_volume_365", BASE) == (
        "CNY 250,000.00 invoiced between them in the last 365 days"
    )
    assert describe("log_amount", BASE) == "CNY 150,000.00 at risk"
    assert describe("concentration", BASE) == (
        "the debtor takes 45.0% of the creditor's sales of the last 365 days"
    )
    assert describe("tenor_days", BASE) == "45 days to maturity"
    assert describe("logistics", BASE).startswith("2 of 3 logistics documents")
    record = dict(
        BASE, debtor_invoices_due=12.0, debtor_late_share=0.25, debtor_days_since_late=9_999.0
    )
    assert (
        describe("debtor_late_share", record) == "the debtor paid 25.0% of its 12 due invoices late"
    )
    assert describe("debtor_days_since_late", record) == "the debtor has never paid late"
    assert describe("rel_volume_trend", dict(BASE, rel_volume_trend=0.6)) == (
        "volume in the last 90 days is down 40.0% on the 90 days before"
    )


def test_every_feature_reads_as_words_not_its_name() -> None:
    for f in FEATURES:
        text = describe(f.name, BASE)
        assert "_" not in text, text
        assert not re.search(r"\de[+-]\d", text), text  # no scientific notation


def test_effects_on_the_pd_from_points_and_from_log_odds() -> None:
    assert pd_effect(0.10, 0.0) == pytest.approx(0.0, abs=1e-12)
    up = pd_effect(0.10, math.log(2.0))  # the term doubled the odds: 1:9 from 1:18
    assert up == pytest.approx(0.10 - 1 / 19)
    assert pd_effect(0.10, -0.5) < 0
    assert effect_words(0.0123) == "raises the PD by 1.2 percentage points"
    assert effect_words(-0.004) == "lowers the PD by 0.4 percentage points"


def test_a_decision_states_the_factors_effect_on_the_pd_in_words() -> None:
    day = dt.date(2025, 3, 1)
    request = Request(
        id="f", borrower="S", debtor="B", scenario="manufacturing", industry="C", basis="verified",
        outstanding=1_000_000, requested=500_000, currency="CNY", as_of=day,
        maturity=day + dt.timedelta(days=45), verification_status="verified",
        verification_score=95,
    )  # fmt: skip
    features = dict(BASE, debtor_invoices_due=20.0, debtor_late_share=0.6)
    factors = (Factor("debtor_late_share", 0.6, 9.0, "share the debtor paid late", 0.021),)
    d = review(request=request, features=features, scored=Scored(0.05, factors, 590.0, "sc-1"),
               policy=ProductPolicy(bank_id="BANK"), exposure=Exposure())  # fmt: skip
    assert d.reasons[1].message == (
        "the debtor paid 60.0% of its 20 due invoices late (raises the PD by 2.1 percentage points)"
    )


def test_every_code_is_in_the_catalogue_and_in_the_docs() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for code, (zh, en) in CATALOGUE.items():
        assert zh and en
        assert f"`{code}`" in text, code
    assert catalogue_entry("RISK_FACTOR:debtor_late_share") == CATALOGUE["RISK_FACTOR:<feature>"]
    assert catalogue_entry("NOPE") is None
