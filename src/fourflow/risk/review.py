"""The review robot: a bank's product policy, its limits, a model's PD → a decision with reasons.

Pure logic (docs/risk.md, "Policy and decision"): the service gathers the request, the
features, the score and the bank's current exposures; ``review`` applies the policy in a fixed
order and returns approve, decline or refer with every reason that applies, in words a credit
officer accepts. Hard rules decline; a PD in the bank's referral band refers to a person.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from fourflow.domain.financing import Decision, Outcome, Reason
from fourflow.risk.reasons import describe, effect_words
from fourflow.risk.valuation import (
    DEFAULT_LGD,
    AssetClass,
    expected_loss,
    value_goods,
    value_receivable,
)


@dataclass(frozen=True, slots=True)
class Factor:
    """One explanation term: a feature's value and how much risk it adds (positive = riskier)."""

    feature: str
    value: object
    contribution: float
    description: str
    pd_effect: float | None = None  # what the term adds to the PD (reasons.pd_effect)


@dataclass(frozen=True, slots=True)
class Scored:
    """What a model says about one request.

    Attributes:
        pd: calibrated probability of the bad outcome (30+ days past due or never paid).
        factors: explanation terms, riskiest first.
        points: the scorecard's points (higher = safer), for a scorecard.
        model_version: the registered model's version.
    """

    pd: float
    factors: tuple[Factor, ...]
    points: float | None
    model_version: str


class Scorer(Protocol):
    """A registered model ready to score one request's features."""

    version: str

    def score(self, features: Mapping[str, float | str]) -> Scored:
        """PD and explanation of one feature vector."""
        ...


@dataclass(frozen=True, slots=True)
class ProductPolicy:
    """A bank's financing product: what it finances, how much, at what price, within which limits.

    Amounts are minor units of ``currency``; shares are basis points; ``None`` means no limit.

    Attributes:
        bank_id: the bank whose policy this is.
        version: recorded with every decision.
        currency: the currency limits are expressed in.
        scenarios: eligible scenarios (empty: all).
        bases: eligible bases (``verified``, ``confirmed``).
        min_tenor_days / max_tenor_days: remaining tenor accepted.
        advance_rate_bps: most lent against the outstanding value, per basis.
        min_verification_score: the lowest four-flow verification score accepted.
        refer_pd: PD from which a request goes to a person.
        max_pd: PD above which it is declined.
        limit_per_borrower / limit_per_debtor: outstanding principal per party.
        limit_per_scenario / limit_per_industry: outstanding principal per segment.
        programme_limit: the whole product's outstanding principal.
        concentration_cap_bps: most of ``programme_limit`` one debtor may take.
        base_rate_bps: the bank's funding cost, a year.
        margin_bps: the product's margin over funding cost and expected loss, a year.
        min_spread_bps / max_rate_bps: the least spread over funding cost, the highest rate.
        pd_horizon_days: the horizon the model's PD is read over when it is turned into the
            PD of a financing's own tenor (365: an annual PD).
        lgd: loss given default per asset class (docs/risk.md).
        max_findings_warnings: verification warnings above which a request is referred.
        goods_haircut_bps: haircut on pledged warehouse goods' market value.
        cure_rate: share of receivables 30+ days past due that are still paid in full (the
            models' "bad" is lateness, not default); loss follows only the rest.
        refer_signals: open fraud signals that send a request to a person (growth and
            disclosed relations can be genuine); any other open signal declines it.
        term_days_in_principle / term_days_max: the receivable's term (issue to maturity)
            beyond which a request is referred / declined (银发〔2025〕77号: 183 and 365;
            ``rules_in_force``); None: not checked.
        sme_payment_days: when set (60 under the 2025 SME payment regulation), the debtor's
            payments to SME suppliers later than this after delivery or acceptance are named.
        goods_price_max_age_days: a warehouse-receipt pledge valued at a price older than this
            on the decision day goes to a person (``PRICE_STALE``); None: not checked.
    """

    bank_id: str
    version: str = "product-1"
    currency: str = "CNY"
    scenarios: frozenset[str] = frozenset()
    bases: frozenset[str] = frozenset({"verified", "confirmed"})
    min_tenor_days: int = 7
    max_tenor_days: int = 180
    advance_rate_bps: Mapping[str, int] = field(
        default_factory=lambda: {"confirmed": 9_000, "verified": 8_000}
    )
    min_verification_score: int = 80
    refer_pd: float = 0.10
    max_pd: float = 0.25
    limit_per_borrower: int | None = None
    limit_per_debtor: int | None = None
    limit_per_scenario: int | None = None
    limit_per_industry: int | None = None
    programme_limit: int | None = None
    concentration_cap_bps: int | None = None
    base_rate_bps: int = 350
    min_spread_bps: int = 50
    max_rate_bps: int = 2_400
    margin_bps: int = 150
    pd_horizon_days: int = 365
    lgd: Mapping[str, float] = field(
        default_factory=lambda: {k.value: v for k, v in DEFAULT_LGD.items()}
    )
    max_findings_warnings: int = 3
    goods_haircut_bps: int = 3_000
    cure_rate: float = 0.7
    refer_signals: frozenset[str] = frozenset({"VOLUME_SPIKE", "RELATED_PARTIES"})
    term_days_in_principle: int | None = None
    term_days_max: int | None = None
    sme_payment_days: int | None = None
    goods_price_max_age_days: int | None = 30

    def __post_init__(self) -> None:
        if not 0.0 <= self.refer_pd <= self.max_pd <= 1.0:
            raise ValueError("policy needs 0 <= refer_pd <= max_pd <= 1")
        if self.min_tenor_days > self.max_tenor_days:
            raise ValueError("policy min_tenor_days exceeds max_tenor_days")
        for basis, bps in self.advance_rate_bps.items():
            if not 0 < bps <= 10_000:
                raise ValueError(f"advance rate for {basis} must be in (0, 10000] bps")
        if not 0.0 <= self.cure_rate < 1.0:
            raise ValueError("cure_rate must be in [0, 1)")
        if not 0 <= self.goods_haircut_bps < 10_000:
            raise ValueError("goods_haircut_bps must be in [0, 10000)")
        if self.pd_horizon_days < 1:
            raise ValueError("pd_horizon_days must be at least 1")
        if self.margin_bps < 0 or self.base_rate_bps < 0:
            raise ValueError("base_rate_bps and margin_bps must not be negative")
        if self.concentration_cap_bps is not None and self.programme_limit is None:
            raise ValueError("a concentration cap needs a programme_limit")
        if self.goods_price_max_age_days is not None and self.goods_price_max_age_days < 0:
            raise ValueError("goods_price_max_age_days must not be negative")

    def loss_given_bad(self, asset: AssetClass) -> float:
        """Loss per unit of exposure once a receivable is 30+ days past due: (1 − cure) × LGD."""
        return (1.0 - self.cure_rate) * float(self.lgd.get(asset.value, DEFAULT_LGD[asset]))

    def as_json(self) -> dict[str, Any]:
        """The policy as plain JSON."""
        data = asdict(self)
        data["scenarios"] = sorted(self.scenarios)
        data["bases"] = sorted(self.bases)
        data["refer_signals"] = sorted(self.refer_signals)
        data["advance_rate_bps"] = dict(self.advance_rate_bps)
        data["lgd"] = dict(self.lgd)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProductPolicy:
        """A policy from ``as_json`` output (or a hand-written file); unknown keys are errors."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown policy field(s): {', '.join(unknown)}")
        values = dict(data)
        for key in ("scenarios", "bases", "refer_signals"):
            if key in values:
                values[key] = frozenset(values[key])
        return cls(**values)


@dataclass(frozen=True, slots=True)
class Exposure:
    """A bank's outstanding principal (approved and active financings), minor units."""

    total: int = 0
    by_borrower: Mapping[str, int] = field(default_factory=dict)
    by_debtor: Mapping[str, int] = field(default_factory=dict)
    by_scenario: Mapping[str, int] = field(default_factory=dict)
    by_industry: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Request:
    """A financing request as the robot sees it.

    Attributes:
        id: the request's id (the financing id), so every decision's input hash is unique.
        borrower: the holder asking for the advance.
        debtor: who owes the receivable.
        scenario: the trade's scenario.
        industry: the debtor's industry (for the industry limit), ``unknown`` if not known.
        basis: ``verified`` or ``confirmed``.
        outstanding: the holding's outstanding value, minor units.
        requested: the advance asked for, minor units.
        currency: its currency.
        as_of: the decision day.
        maturity: the asset's maturity.
        verification_status: ``verified``, ``warnings``, ``failed`` or ``unverified``.
        verification_score: 0-100.
        findings: (code, message) of the verification's warnings and errors.
        dilution_rate: expected dilution (the relationship's credit-note rate).
        duplicates: invoices of this trade presented to another bank first.
        fraud_signals: (code, message) of the open fraud signals on the trade (cleared ones
            left out).
        term_days: the receivable's term, issue to maturity (None: not known).
        sme_late / sme_late_amount: the debtor's payments to SME suppliers later than the
            policy's ``sme_payment_days`` after delivery or acceptance (count, minor units).
        paid_by_transfer: minor units of the trade's receivable its debtor paid by passing a
            share of another debt item (a transfer naming the invoices); such a receivable is
            not financed again.
    """

    id: str
    borrower: str
    debtor: str
    scenario: str
    industry: str
    basis: str
    outstanding: int
    requested: int
    currency: str
    as_of: dt.date
    maturity: dt.date
    verification_status: str
    verification_score: int
    findings: tuple[tuple[str, str], ...] = ()
    dilution_rate: float = 0.0
    duplicates: int = 0
    fraud_signals: tuple[tuple[str, str], ...] = ()
    term_days: int | None = None
    sme_late: int = 0
    sme_late_amount: int = 0
    paid_by_transfer: int = 0


def _money(minor: int, currency: str) -> str:
    return f"{currency} {minor / 100:,.2f}"


def input_hash(
    request: Request, features: Mapping[str, float | str], policy: ProductPolicy, model: str
) -> str:
    """Hex SHA-256 of the decision's inputs, canonical JSON (sorted keys, no spaces):
    ``{"features": ..., "model_version": ..., "policy": ..., "request": ...}``.

    Written part by part (a JSON object with sorted keys is its members' texts in key order),
    the policy's text kept per policy object (``_policy_text``): a batch of decisions under one
    policy encodes it once, not once a decision."""
    fields = {
        name: (v.isoformat() if isinstance(v, dt.date) else v)
        for name in _REQUEST_FIELDS
        for v in (getattr(request, name),)
    }
    text = (
        f'{{"features":{_canonical(dict(features))},"model_version":{_canonical(model)},'
        f'"policy":{_policy_text(policy)},"request":{_canonical(fields)}}}'
    )
    return hashlib.sha256(text.encode()).hexdigest()


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


#: A request's fields in the input hash (its own, none nested: tuples stay JSON arrays).
_REQUEST_FIELDS = tuple(Request.__dataclass_fields__)
#: The canonical JSON of recent policies, by object (checked: the same object, not an equal
#: one at a reused address): ``id -> (policy, text)``.
_POLICY_TEXTS: dict[int, tuple[ProductPolicy, str]] = {}


def _policy_text(policy: ProductPolicy) -> str:
    kept = _POLICY_TEXTS.get(id(policy))
    if kept is not None and kept[0] is policy:
        return kept[1]
    text = _canonical(policy.as_json())
    if len(_POLICY_TEXTS) >= 64:
        _POLICY_TEXTS.clear()
    _POLICY_TEXTS[id(policy)] = (policy, text)
    return text


def limit_reasons(request: Request, policy: ProductPolicy, exposure: Exposure) -> list[Reason]:
    """Every limit the request would break, with the headroom left."""
    reasons: list[Reason] = []
    ask = request.requested
    cur = request.currency
    r, p, e = request, policy, exposure
    checks = (
        ("LIMIT_BORROWER", "borrower", p.limit_per_borrower, e.by_borrower.get(r.borrower, 0)),
        ("LIMIT_DEBTOR", "debtor", p.limit_per_debtor, e.by_debtor.get(r.debtor, 0)),
        ("LIMIT_SCENARIO", f"scenario {r.scenario}", p.limit_per_scenario,
         e.by_scenario.get(r.scenario, 0)),
        ("LIMIT_INDUSTRY", f"industry {r.industry}", p.limit_per_industry,
         e.by_industry.get(r.industry, 0)),
        ("LIMIT_PROGRAMME", "the programme", p.programme_limit, e.total),
    )  # fmt: skip
    for code, what, limit, used in checks:
        if limit is not None and used + ask > limit:
            reasons.append(
                Reason(
                    code,
                    f"the limit for {what} is {_money(limit, cur)}; {_money(used, cur)} is "
                    f"outstanding, so at most {_money(max(0, limit - used), cur)} more fits",
                )
            )
    if policy.concentration_cap_bps is not None and policy.programme_limit is not None:
        cap = policy.programme_limit * policy.concentration_cap_bps // 10_000
        used = exposure.by_debtor.get(request.debtor, 0)
        if used + ask > cap:
            reasons.append(
                Reason(
                    "CONCENTRATION_CAP",
                    f"one debtor may take at most {policy.concentration_cap_bps / 100:.0f}% of "
                    f"the programme ({_money(cap, cur)}); this debtor would reach "
                    f"{_money(used + ask, cur)}",
                )
            )
    return reasons


def _factor_reasons(
    scored: Scored, features: Mapping[str, float | str], currency: str, top: int = 3
) -> list[Reason]:
    """The top factors that add risk, in words and units, with their effect on the PD."""
    reasons = []
    for f in scored.factors[:top]:
        if f.contribution <= 0:
            break
        words = describe(f.feature, features, currency) if f.feature in features else (
            f"{f.description} is {f.value:.3g}" if isinstance(f.value, float)
            else f"{f.description} is {f.value}"
        )  # fmt: skip
        if f.pd_effect is not None:
            effect = effect_words(f.pd_effect)
        else:
            unit = "points" if scored.points is not None else "log-odds"
            effect = f"adds {abs(f.contribution):.3g} {unit} of risk"
        reasons.append(Reason(f"RISK_FACTOR:{f.feature}", f"{words} ({effect})"))
    return reasons


def pd_over_tenor(pd: float, days: int, horizon_days: int = 365) -> float:
    """The probability of the bad outcome within ``days``, from a PD over ``horizon_days``
    (a constant hazard: 1 − (1 − PD)^(days / horizon))."""
    if not 0.0 <= pd <= 1.0:
        raise ValueError(f"PD must be in [0, 1], got {pd}")
    if pd >= 1.0:
        return 1.0
    return float(1.0 - (1.0 - pd) ** (max(days, 1) / horizon_days))


def price_bps(policy: ProductPolicy, pd: float, lgd: float, days: int) -> int:
    """The rate a bank quotes, a year: funding cost + expected loss per year + the product's
    margin, at least funding cost + minimum spread, at most the cap.

    The expected loss is over the financing's own tenor (``pd_over_tenor`` of the model's PD
    read over ``policy.pd_horizon_days``, × ``lgd``), expressed per year (× 365 / days): so a
    7-day and a 360-day financing of the same risk cost about the same a year, and a riskier
    one never costs less.
    """
    tenor = max(days, 1)
    loss_per_year = pd_over_tenor(pd, tenor, policy.pd_horizon_days) * lgd * 365 / tenor
    rate = policy.base_rate_bps + math.ceil(loss_per_year * 10_000 - 1e-9) + policy.margin_bps
    floor = policy.base_rate_bps + policy.min_spread_bps
    return min(policy.max_rate_bps, max(floor, rate))


def review(
    *,
    request: Request,
    features: Mapping[str, float | str],
    scored: Scored,
    policy: ProductPolicy,
    exposure: Exposure,
    hashed: str | None = None,
) -> Decision:
    """Approve, decline or refer the request, with every reason that applies, worst first.
    ``hashed``: the ``input_hash`` of these request, features, policy and model, if the
    caller has it (worked out before the bank's limits lock, which only the exposure needs)."""
    declines: list[Reason] = []
    refers: list[Reason] = []
    cur = request.currency
    if request.duplicates:
        declines.append(
            Reason(
                "DUPLICATE_INVOICE",
                f"{request.duplicates} invoice(s) of this trade were presented to another "
                "member of the consortium first (salted fingerprint on the chain)",
            )
        )
    for code, message in request.fraud_signals:
        if code == "SELF_ASSERTED_EVIDENCE" and request.basis == "confirmed":
            continue  # the debtor's own confirmation is the counterparty's word
        signal = Reason("FRAUD_SIGNAL", f"open fraud signal {code}: {message}")
        (refers if code in policy.refer_signals else declines).append(signal)
    if request.paid_by_transfer > 0:
        declines.append(
            Reason(
                "PAID_BY_TRANSFER",
                f"{_money(request.paid_by_transfer, request.currency)} of this receivable was "
                "paid by the debtor passing a share of another debt item to the creditor; the "
                "passed share is the creditor's to finance, this receivable is not",
            )
        )
    self_asserted = [m for c, m in request.findings if c == "EVIDENCE_SELF_ASSERTED"]
    if self_asserted and request.basis != "confirmed":
        declines.append(
            Reason(
                "EVIDENCE_SELF_ASSERTED",
                "the counterparties' evidence came from the borrower's side alone, and the "
                "debtor has not confirmed the item: " + self_asserted[0],
            )
        )
    term = request.term_days
    if policy.term_days_max is not None and term is not None and term > policy.term_days_max:
        declines.append(
            Reason(
                "TERM_TOO_LONG",
                f"the receivable's term is {term} days (issue to maturity), more than the "
                f"{policy.term_days_max} days the product allows "
                "(银发〔2025〕77号: one year at most)",
            )
        )
    elif (
        policy.term_days_in_principle is not None
        and term is not None
        and term > policy.term_days_in_principle
    ):
        refers.append(
            Reason(
                "TERM_OVER_PRINCIPLE",
                f"the receivable's term is {term} days, beyond the {policy.term_days_in_principle}"
                " days allowed in principle (银发〔2025〕77号: six months): a person decides",
            )
        )
    if request.verification_status in ("failed", "unverified"):
        declines.append(
            Reason("VERIFICATION_FAILED", f"the four flows are {request.verification_status}")
        )
    elif request.verification_score < policy.min_verification_score:
        declines.append(
            Reason(
                "SCORE_TOO_LOW",
                f"verification score {request.verification_score} is below the minimum "
                f"{policy.min_verification_score}",
            )
        )
    if policy.scenarios and request.scenario not in policy.scenarios:
        declines.append(
            Reason("SCENARIO_NOT_ELIGIBLE", f"the product does not finance {request.scenario}")
        )
    if request.basis not in policy.bases:
        declines.append(
            Reason("BASIS_NOT_ELIGIBLE", f"items on basis {request.basis} are not financed")
        )
    if request.currency != policy.currency:
        declines.append(
            Reason("CURRENCY", f"the product lends in {policy.currency}, not {request.currency}")
        )
    days = (request.maturity - request.as_of).days
    if days < policy.min_tenor_days:
        declines.append(
            Reason(
                "TENOR_TOO_SHORT", f"{days} days to maturity, fewer than {policy.min_tenor_days}"
            )
        )
    if days > policy.max_tenor_days:
        declines.append(
            Reason("TENOR_TOO_LONG", f"{days} days to maturity, more than {policy.max_tenor_days}")
        )
    advance = policy.advance_rate_bps.get(request.basis, 0)
    most = request.outstanding * advance // 10_000
    if request.requested > most:
        declines.append(
            Reason(
                "ADVANCE_LIMIT",
                f"{_money(request.requested, cur)} asked; at most {advance / 100:.0f}% of "
                f"{_money(request.outstanding, cur)} outstanding = {_money(most, cur)}",
            )
        )
    if request.requested <= 0:
        declines.append(Reason("AMOUNT", "the amount asked must be positive"))
    declines.extend(limit_reasons(request, policy, exposure))
    if scored.pd > policy.max_pd:
        declines.append(
            Reason(
                "PD_TOO_HIGH",
                f"probability of paying 30+ days late {scored.pd:.1%} exceeds {policy.max_pd:.0%}",
            )
        )
    elif scored.pd > policy.refer_pd:
        refers.append(
            Reason(
                "PD_REFER",
                f"probability of paying 30+ days late {scored.pd:.1%} is in the referral band "
                f"({policy.refer_pd:.0%}-{policy.max_pd:.0%})",
            )
        )
    if len(request.findings) > policy.max_findings_warnings:
        refers.append(
            Reason("FINDINGS", f"{len(request.findings)} verification findings need a person's eye")
        )
    noted = [Reason(f"FINDING:{code}", message) for code, message in request.findings[:3]]
    if policy.sme_payment_days is not None and request.sme_late:
        noted.append(
            Reason(
                "SME_LATE_PAYMENTS",
                f"the debtor paid {request.sme_late} invoice(s) of small or medium suppliers "
                f"({_money(request.sme_late_amount, cur)}) more than {policy.sme_payment_days} "
                "days after delivery or acceptance (保障中小企业款项支付条例)",
            )
        )
    asset = (
        AssetClass.CONFIRMED_RECEIVABLE
        if request.basis == "confirmed"
        else AssetClass.VERIFIED_RECEIVABLE
    )
    lgd = policy.loss_given_bad(asset)
    rate = price_bps(policy, scored.pd, lgd, days)
    valuation = value_receivable(
        face=request.outstanding,
        pd=scored.pd,
        lgd=lgd,
        dilution_rate=request.dilution_rate,
        rate_bps=rate,
        as_of=request.as_of,
        maturity=request.maturity,
    )
    exposure_at_default = max(0, min(request.requested, request.outstanding))
    loss = round(expected_loss(scored.pd, lgd, exposure_at_default))
    factors = _factor_reasons(scored, features, request.currency)
    if declines:
        outcome, reasons, principal, rate_out = (
            Outcome.DECLINE,
            declines + refers + factors + noted,
            0,
            0,
        )
    elif refers:
        outcome, reasons, principal, rate_out = Outcome.REFER, refers + factors + noted, 0, rate
    else:
        approve = Reason(
            "APPROVED",
            f"PD {scored.pd:.1%}, expected loss {_money(loss, cur)}, value today "
            f"{_money(round(valuation.value), cur)}; within every limit",
        )
        outcome, reasons, principal, rate_out = (
            Outcome.APPROVE,
            [approve, *factors, *noted],
            request.requested,
            rate,
        )
    return Decision(
        outcome=outcome,
        reasons=tuple(reasons),
        principal=principal,
        rate_bps=rate_out,
        policy_version=policy.version,
        model_version=scored.model_version,
        pd=round(scored.pd, 6),
        expected_loss=loss,
        value=round(valuation.value),
        score=None if scored.points is None else round(scored.points, 2),
        input_hash=(
            hashed
            if hashed is not None
            else input_hash(request, features, policy, scored.model_version)
        ),
    )


@dataclass(frozen=True, slots=True)
class GoodsRequest:
    """A warehouse-receipt pledge as the robot sees it (inventory financing).

    Attributes:
        id: the receipt and the request's day, so every decision's input hash is unique.
        borrower: the receipt's holder.
        bank: the bank asked.
        goods: the goods code.
        quantity: units still in the warehouse.
        price: the latest price of one unit (major units).
        amount: what the holder asks to owe against it, minor units.
        currency: its currency.
        as_of: the decision day.
        price_as_of: the day of the price (None: not known).
    """

    id: str
    borrower: str
    bank: str
    goods: str
    quantity: float
    price: float
    amount: int
    currency: str
    as_of: dt.date
    price_as_of: dt.date | None = None


#: The scenario a warehouse-receipt pledge counts under in the bank's limits.
GOODS_SCENARIO = "warehouse_receipt"


def review_goods(*, request: GoodsRequest, policy: ProductPolicy, exposure: Exposure) -> Decision:
    """Approve, refer or decline a warehouse-receipt pledge: within the goods' value (price ×
    quantity × (1 − the bank's haircut)) and within the bank's limits (borrower, scenario
    ``warehouse_receipt``, programme), with every reason that applies and an input hash; a
    pledge valued at a price older than the policy's ``goods_price_max_age_days`` goes to a
    person (``PRICE_STALE``)."""
    cur = request.currency
    haircut = policy.goods_haircut_bps / 10_000
    goods = value_goods(quantity=request.quantity, price=request.price, haircut=haircut)
    value = round(goods.value * 100)
    reasons: list[Reason] = []
    if request.amount <= 0:
        reasons.append(Reason("AMOUNT", "the amount asked must be positive"))
    if request.currency != policy.currency:
        reasons.append(
            Reason("CURRENCY", f"the product lends in {policy.currency}, not {request.currency}")
        )
    if request.amount > value:
        reasons.append(
            Reason(
                "GOODS_VALUE",
                f"{_money(request.amount, cur)} asked against {request.quantity:g} units of "
                f"{request.goods} at {request.price:,.2f} less a {haircut:.0%} haircut = "
                f"{_money(value, cur)}",
            )
        )
    if policy.scenarios and GOODS_SCENARIO not in policy.scenarios:
        reasons.append(
            Reason("SCENARIO_NOT_ELIGIBLE", "the product does not finance warehouse receipts")
        )
    as_limits = Request(
        id=request.id, borrower=request.borrower, debtor="", scenario=GOODS_SCENARIO,
        industry="", basis="goods", outstanding=value, requested=request.amount,
        currency=cur, as_of=request.as_of, maturity=request.as_of,
        verification_status="verified", verification_score=100,
    )  # fmt: skip
    reasons.extend(
        r for r in limit_reasons(as_limits, policy, exposure)
        if r.code not in ("LIMIT_DEBTOR", "LIMIT_INDUSTRY", "CONCENTRATION_CAP")
    )  # fmt: skip
    payload = {
        "request": {k: (v.isoformat() if isinstance(v, dt.date) else v)
                    for k, v in asdict(request).items()},
        "policy": policy.as_json(),
        "haircut": haircut,
    }  # fmt: skip
    digest = hashlib.sha256(
        json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()
    ).hexdigest()
    if reasons:
        return Decision(
            outcome=Outcome.DECLINE, reasons=tuple(reasons), principal=0, rate_bps=0,
            policy_version=policy.version, model_version="goods-collateral",
            value=value, input_hash=digest,
        )  # fmt: skip
    age = None if request.price_as_of is None else (request.as_of - request.price_as_of).days
    limit = policy.goods_price_max_age_days
    if limit is not None and age is not None and age > limit:
        stale = Reason(
            "PRICE_STALE",
            f"the latest price of {request.goods} ({request.price:,.2f}) is from "
            f"{request.price_as_of}, {age} days before the decision (the product accepts "
            f"{limit}): a person checks the goods' value",
        )
        return Decision(
            outcome=Outcome.REFER, reasons=(stale,), principal=0,
            rate_bps=policy.base_rate_bps + policy.margin_bps, policy_version=policy.version,
            model_version="goods-collateral", value=value, input_hash=digest,
        )  # fmt: skip
    approve = Reason(
        "APPROVED",
        f"{_money(request.amount, cur)} within the goods' value {_money(value, cur)} "
        f"({request.quantity:g} × {request.price:,.2f} less {haircut:.0%}); within every limit",
    )
    return Decision(
        outcome=Outcome.APPROVE, reasons=(approve,), principal=request.amount,
        rate_bps=policy.base_rate_bps + policy.margin_bps, policy_version=policy.version,
        model_version="goods-collateral", value=value, input_hash=digest,
    )  # fmt: skip
