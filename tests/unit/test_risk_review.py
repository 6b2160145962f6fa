"""The review robot's policy, limits, reasons, pricing and valuation (pure logic)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, replace
from typing import Any

import pytest

from fourflow.domain.financing import Decision, Outcome
from fourflow.risk.review import (
    Exposure,
    Factor,
    ProductPolicy,
    Request,
    Scored,
    input_hash,
    limit_reasons,
    price_bps,
    review,
)
from fourflow.risk.valuation import expected_loss, value_goods, value_receivable

DAY = dt.date(2025, 3, 1)
REQ = Request(
    id="fin-1", borrower="S", debtor="B", scenario="manufacturing", industry="C33",
    basis="verified", outstanding=1_000_000, requested=500_000, currency="CNY", as_of=DAY,
    maturity=DAY + dt.timedelta(days=60), verification_status="verified",
    verification_score=95,
)  # fmt: skip
FEATURES: dict[str, float | str] = {"debtor_late_share": 0.4, "scenario": "manufacturing"}


def scored(pd: float) -> Scored:
    factors = (
        Factor("debtor_late_share", 0.4, 12.5, "share the debtor paid late"),
        Factor("rel_age_days", 30.0, 3.0, "age of the creditor–debtor relationship"),
        Factor("tenor_days", 60.0, -2.0, "days from the decision to maturity"),
    )
    return Scored(pd, factors, 580.0, "scorecard-1")


def decide(pd: float = 0.03, *, request: Request = REQ, policy: ProductPolicy | None = None,
           exposure: Exposure | None = None) -> Decision:  # fmt: skip
    return review(request=request, features=FEATURES, scored=scored(pd),
                  policy=policy or ProductPolicy(bank_id="BANK"), exposure=exposure or Exposure())  # fmt: skip


def codes(decision: Decision) -> list[str]:
    return [r.code for r in decision.reasons]


def test_a_good_request_is_approved_with_its_price_loss_value_and_top_factors() -> None:
    d = decide(0.03)
    assert d.outcome is Outcome.APPROVE and d.principal == 500_000
    assert codes(d)[:3] == ["APPROVED", "RISK_FACTOR:debtor_late_share", "RISK_FACTOR:rel_age_days"]
    assert (
        "the debtor paid 40.0% of its due invoices late (adds 12.5 points of risk)"
        in d.reasons[1].message
    )
    assert d.expected_loss == round(0.03 * (1 - 0.7) * 0.45 * 500_000)  # PD × (1 − cure) × LGD
    assert d.value is not None and 0 < d.value < 1_000_000
    assert d.model_version == "scorecard-1" and d.score == 580.0
    assert d.rate_bps == price_bps(ProductPolicy(bank_id="BANK"), 0.03, 0.3 * 0.45, 60)


def test_pd_bands_refer_then_decline() -> None:
    assert decide(0.15).outcome is Outcome.REFER
    assert codes(decide(0.15))[0] == "PD_REFER"
    d = decide(0.40)
    assert d.outcome is Outcome.DECLINE and codes(d)[0] == "PD_TOO_HIGH" and d.principal == 0


def test_every_hard_rule_gives_its_reason() -> None:
    bad = replace(REQ, verification_status="failed", basis="other", currency="USD",
                  maturity=DAY + dt.timedelta(days=400), requested=950_000, duplicates=2)  # fmt: skip
    policy = ProductPolicy(bank_id="BANK", scenarios=frozenset({"agriculture"}))
    d = decide(0.01, request=bad, policy=policy)
    assert d.outcome is Outcome.DECLINE
    for code in ("DUPLICATE_INVOICE", "VERIFICATION_FAILED", "SCENARIO_NOT_ELIGIBLE",
                 "BASIS_NOT_ELIGIBLE", "CURRENCY", "TENOR_TOO_LONG", "ADVANCE_LIMIT"):  # fmt: skip
        assert code in codes(d), code
    low = decide(0.01, request=replace(REQ, verification_score=60))
    assert "SCORE_TOO_LOW" in codes(low)
    nothing = decide(0.01, request=replace(REQ, requested=0))
    assert nothing.outcome is Outcome.DECLINE and codes(nothing)[0] == "AMOUNT"
    assert nothing.expected_loss == 0


def _limited(field: str, amount: int) -> ProductPolicy:
    """The default policy with its limit ``field`` (named by a test parameter) at ``amount``."""
    limit: dict[str, Any] = {field: amount}
    return replace(ProductPolicy(bank_id="BANK"), **limit)


@pytest.mark.parametrize(
    ("field", "exposure", "code"),
    [
        ("limit_per_borrower", Exposure(by_borrower={"S": 600_000}), "LIMIT_BORROWER"),
        ("limit_per_debtor", Exposure(by_debtor={"B": 600_000}), "LIMIT_DEBTOR"),
        ("limit_per_scenario", Exposure(by_scenario={"manufacturing": 600_000}), "LIMIT_SCENARIO"),
        ("limit_per_industry", Exposure(by_industry={"C33": 600_000}), "LIMIT_INDUSTRY"),
        ("programme_limit", Exposure(total=600_000), "LIMIT_PROGRAMME"),
    ],
)
def test_each_limit_binds_and_states_the_headroom(
    field: str, exposure: Exposure, code: str
) -> None:
    policy = _limited(field, 1_000_000)
    d = decide(0.01, policy=policy, exposure=exposure)
    assert d.outcome is Outcome.DECLINE and codes(d)[0] == code
    assert "at most CNY 4,000.00 more fits" in d.reasons[0].message
    # Just within the limit: approved.
    fits = _limited(field, 1_100_000)
    assert decide(0.01, policy=fits, exposure=exposure).outcome is Outcome.APPROVE


def test_the_concentration_cap_binds_on_the_debtors_share_of_the_programme() -> None:
    policy = ProductPolicy(bank_id="BANK", programme_limit=4_000_000, concentration_cap_bps=2_000)
    d = decide(0.01, policy=policy, exposure=Exposure(total=1_000_000, by_debtor={"B": 400_000}))
    assert codes(d)[0] == "CONCENTRATION_CAP"  # 400k + 500k > 20% of 4m = 800k
    ok = decide(0.01, policy=policy, exposure=Exposure(total=1_000_000, by_debtor={"B": 300_000}))
    assert ok.outcome is Outcome.APPROVE


def test_many_findings_refer_and_findings_are_reported() -> None:
    findings = tuple((f"W{i}", f"warning {i}") for i in range(4))
    d = decide(0.01, request=replace(REQ, findings=findings))
    assert d.outcome is Outcome.REFER and "FINDINGS" in codes(d) and "FINDING:W0" in codes(d)


def test_input_hash_covers_request_features_policy_and_model() -> None:
    policy = ProductPolicy(bank_id="BANK")
    base = input_hash(REQ, FEATURES, policy, "m1")
    assert base == input_hash(REQ, dict(FEATURES), policy, "m1")
    assert base != input_hash(replace(REQ, requested=1), FEATURES, policy, "m1")
    assert base != input_hash(REQ, {**FEATURES, "debtor_late_share": 0.5}, policy, "m1")
    assert base != input_hash(REQ, FEATURES, replace(policy, max_pd=0.3), "m1")
    assert base != input_hash(REQ, FEATURES, policy, "m2")


def test_policy_json_round_trip_and_bad_fields() -> None:
    policy = ProductPolicy(bank_id="BANK", scenarios=frozenset({"medical"}), limit_per_debtor=9)
    assert ProductPolicy.from_json(policy.as_json()) == policy
    with pytest.raises(ValueError, match="unknown policy field"):
        ProductPolicy.from_json({"bank_id": "BANK", "max_dp": 0.2})
    with pytest.raises(ValueError, match="refer_pd"):
        ProductPolicy(bank_id="BANK", refer_pd=0.5, max_pd=0.2)
    with pytest.raises(ValueError, match="programme_limit"):
        ProductPolicy(bank_id="BANK", concentration_cap_bps=1_000)


def test_expected_loss_and_valuation() -> None:
    assert expected_loss(0.1, 0.45, 1_000.0) == pytest.approx(45.0)
    with pytest.raises(ValueError, match="PD"):
        expected_loss(1.5, 0.45, 1.0)
    v = value_receivable(face=1_000.0, pd=0.1, lgd=0.5, dilution_rate=0.02, rate_bps=730,
                         as_of=DAY, maturity=DAY + dt.timedelta(days=50))  # fmt: skip
    assert v.expected_dilution == pytest.approx(20.0)
    assert v.expected_loss == pytest.approx(0.1 * 0.5 * 980.0)
    net = 980.0 - 49.0
    assert v.value == pytest.approx(net / (1 + 0.073 * 50 / 365))
    assert v.value + v.discount == pytest.approx(net)
    g = value_goods(quantity=100.0, price=52.5, haircut=0.3)
    assert g.market_value == pytest.approx(5_250.0) and g.value == pytest.approx(3_675.0)
    with pytest.raises(ValueError, match="haircut"):
        value_goods(quantity=1.0, price=1.0, haircut=1.0)


def test_realised_loss_far_above_expected_raises_a_bank_alert() -> None:
    from fourflow.domain.debt import AssetType, Basis, DebtItem, ItemStatus
    from fourflow.domain.financing import Decision, Financing, FinancingStatus
    from fourflow.services.credit import MIN_FINANCINGS, _bank_figures

    def fin(n: int, bank: str, status: FinancingStatus) -> Financing:
        decision = Decision(Outcome.APPROVE, (), 1_000, 500, "p", expected_loss=10)
        return Financing(f"f{n}", f"i{n}", f"h{n}", "S", bank, 1_000, 1_000, 500, DAY,
                         DAY + dt.timedelta(days=30), status, decision)  # fmt: skip

    def item(n: int, paid: int) -> DebtItem:
        return DebtItem(f"i{n}", f"t{n}", "B", "S", "CNY", 1_000, DAY - dt.timedelta(days=10),
                        DAY + dt.timedelta(days=30), Basis.VERIFIED, AssetType.RECEIVABLE,
                        "00" * 32, ItemStatus.ACTIVE, paid)  # fmt: skip

    n = MIN_FINANCINGS
    approved = [fin(i, "BANK", FinancingStatus.ACTIVE) for i in range(n)]
    declined = [fin(n + i, "BANK", FinancingStatus.DECLINED) for i in range(n)]
    # Half the items are unpaid 60 days after maturity; the rest were paid in full.
    items = {f"i{i}": item(i, 0 if i % 2 else 1_000) for i in range(n)}
    later = DAY + dt.timedelta(days=90)
    figures, found = _bank_figures(approved, approved + declined, items, later)["BANK"]
    assert figures["approval_rate"] == 0.5
    assert figures["expected_loss"] == 10 * n and figures["realised_loss"] == 1_000 * n // 2
    assert [(f.kind, f.severity) for f in found] == [("realised_loss", "alert")]
    assert "realised loss 100.00 is 50.0× the expected 2.00" in found[0].message
    _, quiet = _bank_figures(approved, approved, items, DAY)["BANK"]  # nothing due yet
    assert quiet == []


def test_the_cli_lists_the_datasets_and_models_the_library_has() -> None:
    from fourflow.entrypoints.cli import risk_cmd
    from fourflow.risk import datasets, evaluate

    assert risk_cmd.DATASETS == datasets.DATASETS
    assert risk_cmd.MODEL_CHOICES == evaluate.MODEL_CHOICES


def test_input_hash_is_the_hash_of_the_whole_canonical_json() -> None:
    """Written part by part and with each policy's text kept, the hash is still that of the
    whole payload as one canonical JSON document (sorted keys, no spaces), the request's
    dates in ISO form and its tuples as arrays; a policy changed (another object) is read
    afresh."""

    def whole(request: Request, features: dict[str, float | str], policy: ProductPolicy) -> str:
        payload = {
            "request": {
                k: (v.isoformat() if isinstance(v, dt.date) else v)
                for k, v in asdict(request).items()
            },
            "features": features,
            "policy": policy.as_json(),
            "model_version": "m1",
        }
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    policy = ProductPolicy(bank_id="BANK", scenarios=frozenset({"b", "a"}), sme_payment_days=60)
    odd = replace(
        REQ, findings=(("W1", "warning «1»"), ("W2", "two")), fraud_signals=(("S", "m"),),
        term_days=None, dilution_rate=0.125,
    )  # fmt: skip
    features: dict[str, float | str] = {"debtor_late_share": 0.4, "z": 1e-9, "a": "中文"}
    for request in (REQ, odd):
        for p in (policy, replace(policy, max_pd=0.3), policy):
            assert input_hash(request, features, p, "m1") == whole(request, features, p)


@pytest.mark.parametrize("pd", [0.03, 0.15, 0.40])
@pytest.mark.parametrize(
    "policy",
    [
        ProductPolicy(bank_id="BANK"),
        ProductPolicy(
            bank_id="BANK",
            limit_per_borrower=2_000_000,
            limit_per_debtor=1_200_000,
            programme_limit=5_000_000,
            concentration_cap_bps=4_000,
        ),
    ],
)
def test_the_exposure_counts_only_through_the_limits(pd: float, policy: ProductPolicy) -> None:
    """``credit.review`` decides before the banks' limits lock with nothing outstanding and
    keeps that decision under the lock when no limit is broken as the exposure is then
    (``PreparedReview.unlimited``): the exposure must weigh on nothing else."""
    alone = decide(pd, policy=policy)
    for used in (0, 400_000, 700_000, 1_600_000, 4_600_000):
        now = Exposure(total=used, by_borrower={"S": used}, by_debtor={"B": used},
                       by_scenario={"manufacturing": used}, by_industry={"C33": used})  # fmt: skip
        if not limit_reasons(REQ, policy, now):
            assert decide(pd, policy=policy, exposure=now) == alone, used
        else:
            assert decide(pd, policy=policy, exposure=now).outcome is Outcome.DECLINE
