"""Reasons a credit officer can use: each feature in words and units, and the reason catalogue.

``describe`` turns one feature of a decision into a sentence with its unit (days, CNY, %,
counts), reading the other features of the same vector where a bare number would mislead ("no
repaid invoices yet" rather than "share paid late is 0"). ``pd_effect`` turns a model's
explanation term (scorecard points, LightGBM log-odds) into its effect on the PD, so both kinds
of model explain in the same unit. ``CATALOGUE`` lists every reason code a decision can carry,
in Chinese and English (docs/risk.md prints it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

#: Days since the last late payment when the debtor never paid late (features._NEVER).
NEVER_LATE = 9_999
#: Above this ratio the relationship had (almost) no volume in the earlier 90 days.
NEW_BUSINESS_RATIO = 1_000.0


def _money(amount: float, currency: str) -> str:
    return f"{currency} {amount:,.2f}"


def _pct(share: float) -> str:
    return f"{share * 100:.1f}%"


def _count(n: float, one: str, many: str) -> str:
    k = round(n)
    return f"{k} {one if k == 1 else many}"


def _num(features: Mapping[str, float | str], name: str) -> float | None:
    value = features.get(name)
    if isinstance(value, (int, float)) and not (isinstance(value, float) and math.isnan(value)):
        return float(value)
    return None


def describe(feature: str, features: Mapping[str, float | str], currency: str = "CNY") -> str:
    """The feature's value in a sentence, with its unit."""
    v = _num(features, feature)
    raw = features.get(feature)
    due = _num(features, "debtor_invoices_due")  # None: not in this vector
    no_record = "no invoices of the debtor have fallen due yet, so no repaid invoices to judge"
    if feature == "scenario":
        return f"business scenario {raw}"
    if feature == "basis":
        return "confirmed by the debtor" if raw == "confirmed" else "verified on the evidence alone"
    if v is None:
        return f"{feature}: {raw if raw is not None else 'not known'}"
    match feature:
        case "rel_age_days":
            if (_num(features, "rel_invoices") or 0.0) == 0:
                return "no earlier trade between creditor and debtor"
            return f"creditor and debtor have traded for {_count(v, 'day', 'days')}"
        case "rel_invoices":
            if v == 0:
                return "no earlier invoices between creditor and debtor"
            return f"{_count(v, 'earlier invoice', 'earlier invoices')} between creditor and debtor"
        case "rel_volume_365":
            return f"{_money(math.expm1(v), currency)} invoiced between them in the last 365 days"
        case "rel_volume_trend":
            if v >= NEW_BUSINESS_RATIO:
                return "new business: volume in the last 90 days, next to none in the 90 before"
            if v >= 1:
                return f"volume in the last 90 days is {v:.1f} times that of the 90 days before"
            return f"volume in the last 90 days is down {_pct(1 - v)} on the 90 days before"
        case "rel_volatility":
            return f"monthly volume between them varies by {_pct(v)} of its mean"
        case "debtor_invoices_due":
            if v == 0:
                return no_record
            return f"{_count(v, 'invoice', 'invoices')} of the debtor have fallen due (its record)"
        case "debtor_late_share" | "debtor_late30_share":
            if due == 0:
                return no_record
            late = "late" if feature == "debtor_late_share" else "30 or more days late"
            of = "due invoices" if due is None else _count(due, "due invoice", "due invoices")
            return f"the debtor paid {_pct(v)} of its {of} {late}"
        case "debtor_mean_days_late":
            if due == 0:
                return no_record
            return f"the debtor pays on average {v:.1f} days past due"
        case "debtor_p90_days_late":
            if due == 0:
                return no_record
            return f"one in ten of the debtor's invoices is paid {v:.0f} or more days past due"
        case "debtor_days_since_late":
            if v >= NEVER_LATE:
                return no_record if due == 0 else "the debtor has never paid late"
            if v == 0:
                return "the debtor has an invoice overdue today"
            return f"the debtor last paid late {_count(v, 'day', 'days')} ago"
        case "debtor_late_trend":
            if due == 0:
                return no_record
            points = v * 100
            word = "more" if points >= 0 else "fewer"
            return (f"in the last 90 days the debtor paid {abs(points):.1f} percentage points "
                    f"{word} of its invoices late than over its whole record")  # fmt: skip
        case "debtor_open_overdue":
            if v == 0:
                return "none of the debtor's invoices is overdue today"
            return f"{_count(v, 'invoice', 'invoices')} of the debtor overdue today"
        case "debtor_dilution_rate":
            return f"credit notes are {_pct(v)} of what the debtor was invoiced"
        case "rel_dilution_rate":
            return f"credit notes are {_pct(v)} of what this creditor invoiced the debtor"
        case "debtor_dispute_rate":
            return f"the debtor disputed {_pct(v)} of its debt items"
        case "concentration":
            return f"the debtor takes {_pct(v)} of the creditor's sales of the last 365 days"
        case "verification_score":
            return f"four-flow verification score {v:.0f} of 100"
        case "findings":
            if v == 0:
                return "no verification findings"
            return _count(v, "verification finding", "verification findings")
        case "logistics":
            got = round(v * 3)
            return f"{got} of 3 logistics documents (despatch, receipt, transport) on the platform"
        case "tier_depth":
            if v == 0:
                return "held by the original creditor"
            return f"held {_count(v, 'tier', 'tiers')} up the chain from the original creditor"
        case "tenor_days":
            return f"{_count(v, 'day', 'days')} to maturity"
        case "log_amount":
            return f"{_money(math.expm1(v), currency)} at risk"
        case _:
            return f"{feature} is {v:g}"


def pd_effect(pd: float, log_odds: float) -> float:
    """How much a term of ``log_odds`` (of the bad outcome) adds to ``pd``: the PD as it is
    less the PD with the term taken out, on the logistic scale."""
    p = min(max(pd, 1e-9), 1 - 1e-9)
    without = 1.0 / (1.0 + math.exp(-(math.log(p / (1 - p)) - log_odds)))
    return pd - without


def effect_words(effect: float) -> str:
    """A PD effect in percentage points, in words."""
    points = effect * 100
    if abs(points) < 0.05:
        return "hardly changes the PD"
    return f"{'raises' if points > 0 else 'lowers'} the PD by {abs(points):.1f} percentage points"


#: Every reason code a decision can carry: (Chinese, English). ``RISK_FACTOR:<feature>`` and
#: ``FINDING:<code>`` are families, one entry each.
CATALOGUE: dict[str, tuple[str, str]] = {
    "APPROVED": (
        "批准：违约概率、预期损失与现值均在政策范围内",
        "approved: PD, expected loss and value today within policy",
    ),
    "DUPLICATE_INVOICE": (
        "重复融资：该贸易的发票已先向其他机构出示",
        "an invoice of the trade was presented to another member first",
    ),
    "FRAUD_SIGNAL": ("存在未解除的欺诈信号", "an open fraud signal on the trade"),
    "EVIDENCE_SELF_ASSERTED": (
        "交易对手证据仅由借款人自行提交",
        "the counterparties' evidence came from the borrower alone",
    ),
    "GOODS_VALUE": (
        "质押金额超过仓单货物价值（价格×数量×(1−折扣率)）",
        "more asked than the pledged goods are worth after the haircut",
    ),
    "PAID_BY_TRANSFER": (
        "该应收账款已由债务人以转让的债权凭证支付",
        "the receivable was paid by a transferred share of another debt item",
    ),
    "VERIFICATION_FAILED": ("四流核验未通过", "the four flows did not verify"),
    "TERM_TOO_LONG": (
        "应收账款凭证期限超过一年（银发〔2025〕77号）",
        "the receivable's term is beyond the product's maximum (one year under 77号)",
    ),
    "TERM_OVER_PRINCIPLE": (
        "应收账款凭证期限超过六个月，需人工审核",
        "the receivable's term is beyond six months: a person decides",
    ),
    "SME_LATE_PAYMENTS": (
        "债务人逾期支付中小企业款项（60日规则）",
        "the debtor paid small or medium suppliers later than 60 days",
    ),
    "SCORE_TOO_LOW": ("核验分数低于政策下限", "verification score below the product's minimum"),
    "SCENARIO_NOT_ELIGIBLE": (
        "业务场景不在产品范围内",
        "the product does not finance this scenario",
    ),
    "BASIS_NOT_ELIGIBLE": (
        "债权依据不在产品范围内",
        "the product does not finance items on this basis",
    ),
    "CURRENCY": ("币种与产品不符", "the product lends in another currency"),
    "TENOR_TOO_SHORT": ("剩余期限过短", "too few days to maturity"),
    "TENOR_TOO_LONG": ("剩余期限过长", "too many days to maturity"),
    "ADVANCE_LIMIT": ("超过融资比例上限", "more than the advance rate allows"),
    "AMOUNT": ("申请金额须为正数", "the amount asked must be positive"),
    "LIMIT_BORROWER": ("超过借款人限额", "the borrower's limit would be exceeded"),
    "LIMIT_DEBTOR": ("超过债务人限额", "the debtor's limit would be exceeded"),
    "LIMIT_SCENARIO": ("超过场景限额", "the scenario's limit would be exceeded"),
    "LIMIT_INDUSTRY": ("超过行业限额", "the industry's limit would be exceeded"),
    "LIMIT_PROGRAMME": ("超过产品总额度", "the programme limit would be exceeded"),
    "CONCENTRATION_CAP": (
        "超过单一债务人集中度上限",
        "one debtor's share of the programme would exceed the cap",
    ),
    "PD_TOO_HIGH": (
        "违约概率超过上限",
        "probability of paying 30+ days late above the product's maximum",
    ),
    "PD_REFER": (
        "违约概率处于人工审核区间",
        "probability of paying 30+ days late in the referral band",
    ),
    "FINDINGS": ("核验发现过多，需人工审核", "more verification findings than the product accepts"),
    "RISK_FACTOR:<feature>": (
        "增加风险的主要因素（含对违约概率的影响）",
        "a factor that adds risk, with its effect on the PD",
    ),
    "FINDING:<code>": ("四流核验发现", "a finding of the four-flow verification"),
}


def catalogue_entry(code: str) -> tuple[str, str] | None:
    """The catalogue's words for ``code`` (a family member maps to its family)."""
    if code in CATALOGUE:
        return CATALOGUE[code]
    family = code.split(":", 1)[0]
    for key, words in CATALOGUE.items():
        if key.startswith(family + ":"):
            return words
    return None
