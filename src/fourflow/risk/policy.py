"""A bank's simple financing policy (docs/policy.md): rules in, a decision with reasons out.

This is the foundation's transparent policy; the risk engine replaces it with scored models.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from fourflow.domain.debt import Basis, DebtItem, Holding
from fourflow.domain.financing import Decision, Outcome, Reason
from fourflow.domain.findings import VerificationReport, VerificationStatus
from fourflow.domain.money import Money


@dataclass(frozen=True, slots=True)
class SimplePolicy:
    """What a bank finances and at what price.

    Attributes:
        version: policy version recorded with every decision.
        bases: the bases the bank finances (verified on evidence, confirmed by the debtor).
        min_score: the lowest verification score accepted.
        advance_rate_bps: most that may be lent against a holding's outstanding value.
        min_days_to_maturity: the shortest remaining tenor accepted.
        max_days_to_maturity: the longest remaining tenor accepted.
        base_rate_bps: the bank's base rate.
        spread_bps: the margin per basis (a debtor's confirmation is priced better).
    """

    version: str = "simple-1"
    bases: frozenset[Basis] = frozenset({Basis.VERIFIED, Basis.CONFIRMED})
    min_score: int = 80
    advance_rate_bps: int = 9_000
    min_days_to_maturity: int = 7
    max_days_to_maturity: int = 365
    base_rate_bps: int = 350
    spread_bps: dict[Basis, int] = field(
        default_factory=lambda: {Basis.CONFIRMED: 100, Basis.VERIFIED: 200}
    )

    def decide(
        self,
        *,
        item: DebtItem,
        holding: Holding,
        report: VerificationReport | None,
        requested: int,
        as_of: dt.date,
    ) -> Decision:
        """Approve, or decline with every reason that applies."""
        reasons: list[Reason] = []
        if report is None or report.status is VerificationStatus.FAILED:
            reasons.append(Reason("VERIFICATION_FAILED", "the trade did not pass verification"))
        elif report.score < self.min_score:
            reasons.append(
                Reason(
                    "SCORE_TOO_LOW",
                    f"verification score {report.score} is below the minimum {self.min_score}",
                )
            )
        if item.basis not in self.bases:
            reasons.append(
                Reason("BASIS_NOT_ELIGIBLE", f"items on basis {item.basis.name} are not financed")
            )
        days = (item.maturity_date - as_of).days
        if days < self.min_days_to_maturity:
            reasons.append(
                Reason("TENOR_TOO_SHORT", f"{days} days to maturity, fewer than the minimum")
            )
        if days > self.max_days_to_maturity:
            reasons.append(Reason("TENOR_TOO_LONG", f"{days} days to maturity exceeds the limit"))
        limit = holding.outstanding * self.advance_rate_bps // 10_000
        if requested > limit:
            asked = Money.from_minor(requested, item.currency)
            most = Money.from_minor(limit, item.currency)
            reasons.append(
                Reason(
                    "ADVANCE_LIMIT",
                    f"requested {asked} exceeds {self.advance_rate_bps / 100:g}% of the "
                    f"holding's outstanding value ({most})",
                )
            )
        if requested <= 0:
            reasons.append(Reason("AMOUNT_INVALID", "the requested amount must be positive"))
        rate = self.base_rate_bps + self.spread_bps.get(item.basis, 0)
        if reasons:
            return Decision(Outcome.DECLINE, tuple(reasons), 0, 0, self.version)
        approve = Reason(
            "WITHIN_POLICY",
            f"verified trade (score {report.score if report else 0}), basis {item.basis.name}, "
            f"{days} days to maturity, advance within {self.advance_rate_bps / 100:g}%",
        )
        return Decision(Outcome.APPROVE, (approve,), requested, rate, self.version)
