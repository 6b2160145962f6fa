"""The credit review robot and its learning loop (docs/risk.md).

* ``review``: ``review_request`` scores a financing request with the champion model on
  point-in-time features, applies the bank's product policy and limits, and returns the
  decision (the financing service stores it and queues its input hash for the chain);
  ``decide_referral`` records a person's decision on a referred request, with the reason.
* ``registry``: ``train`` learns from the outcomes known so far, registers the new versions and
  promotes a challenger only when it beats the champion; the cold-start champion.
* ``monitoring``: ``monitor`` measures drift and realised performance and raises alerts.
* ``valuation``: ``value_item`` values a receivable today, ``value_receipt`` pledged goods.
* ``policies`` and ``history``: banks' product policies and exposure; the platform's history.

Callers keep ``from fourflow.services import credit`` and ``credit.<name>``.
"""

from __future__ import annotations

from fourflow.services.credit.history import (
    FACTS,
    POPULATION_DAYS,
    parties_by_key,
    platform_history,
    recent_population,
    scores_at_issue,
)
from fourflow.services.credit.monitoring import (
    MIN_FINANCINGS,
    REALISED_LOSS_RATIO,
    MonitorReport,
    _bank_figures,
    monitor,
)
from fourflow.services.credit.policies import (
    ACTIVE,
    LIMITS_LOCK,
    exposure,
    get_policy,
    policy_in_force,
    set_policy,
    set_policy_version,
    with_financing,
)
from fourflow.services.credit.registry import (
    BOOTSTRAP_LOCK,
    BOOTSTRAP_SEED,
    BOOTSTRAP_TRADES,
    REFERENCE_SIZE,
    TrainingReport,
    bootstrap_champion,
    champion_in,
    champion_scorer,
    train,
)
from fourflow.services.credit.review import (
    DECISION_SUBJECT,
    MeteredRead,
    PreparedReview,
    ReviewRead,
    asset_terms,
    decide_referral,
    decide_review,
    meter_read,
    pledge,
    prepare_review,
    queue_decision_anchor,
    read_review,
    review_request,
    score_reviews,
)
from fourflow.services.credit.valuation import (
    Price,
    get_price,
    set_price,
    value_item,
    value_receipt,
)

__all__ = [
    "ACTIVE",
    "BOOTSTRAP_LOCK",
    "BOOTSTRAP_SEED",
    "BOOTSTRAP_TRADES",
    "DECISION_SUBJECT",
    "FACTS",
    "LIMITS_LOCK",
    "MIN_FINANCINGS",
    "POPULATION_DAYS",
    "REALISED_LOSS_RATIO",
    "REFERENCE_SIZE",
    "MeteredRead",
    "MonitorReport",
    "PreparedReview",
    "Price",
    "ReviewRead",
    "TrainingReport",
    "_bank_figures",
    "asset_terms",
    "bootstrap_champion",
    "champion_in",
    "champion_scorer",
    "decide_referral",
    "decide_review",
    "exposure",
    "get_policy",
    "get_price",
    "meter_read",
    "monitor",
    "parties_by_key",
    "platform_history",
    "pledge",
    "policy_in_force",
    "prepare_review",
    "queue_decision_anchor",
    "read_review",
    "recent_population",
    "review_request",
    "score_reviews",
    "scores_at_issue",
    "set_policy",
    "set_policy_version",
    "set_price",
    "train",
    "value_item",
    "value_receipt",
    "with_financing",
]
