"""Monitoring the champion: drift, realised performance, approval rates and losses, with
alerts for the banks and the regulator."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from fourflow.domain.debt import DebtItem, ItemStatus
from fourflow.domain.financing import Financing, FinancingStatus
from fourflow.risk.bootstrap import HistorySource
from fourflow.risk.features import training_rows
from fourflow.services.common import new_id
from fourflow.services.credit.history import (
    POPULATION_DAYS,
    parties_by_key,
    platform_history,
    recent_population,
    scores_at_issue,
)
from fourflow.services.credit.policies import ACTIVE
from fourflow.services.credit.registry import champion_scorer
from fourflow.services.ports import RiskAlert, UnitOfWorkFactory

if TYPE_CHECKING:  # the ML stack (pandas, scikit-learn, LightGBM) loads on first use
    from fourflow.risk import learning

#: Realised loss above this multiple of the expected loss raises an alert ...
REALISED_LOSS_RATIO = 2.0
#: ... once a bank has this many approved financings by the model.
MIN_FINANCINGS = 20


def _bank_figures(
    approved: Sequence[Financing],
    decided: Sequence[Financing],
    items_by_id: Mapping[str, DebtItem],
    as_of: dt.date,
) -> dict[str, tuple[dict[str, Any], list[learning.Finding]]]:
    """Per bank: approval rate, expected and realised loss (principal of financings whose
    item defaulted or is overdue on ``as_of``), and an alert when realised runs past
    ``REALISED_LOSS_RATIO`` × expected."""
    from fourflow.risk import learning  # noqa: PLC0415 (heavy: loaded on first use)

    out: dict[str, tuple[dict[str, Any], list[learning.Finding]]] = {}
    for bank in sorted({f.bank_id for f in decided}):
        mine = [f for f in decided if f.bank_id == bank]
        ok = [f for f in approved if f.bank_id == bank]
        expected = sum((f.decision.expected_loss or 0) for f in ok if f.decision)
        realised = 0
        for f in ok:
            item = items_by_id.get(f.item_id)
            if item is not None and item.status_on(as_of, 0) in (
                ItemStatus.OVERDUE,
                ItemStatus.DEFAULTED,
            ):
                realised += min(f.principal, item.outstanding)
        figures = {"decisions": len(mine), "approved": len(ok),
                   "approval_rate": round(len(ok) / len(mine), 4),
                   "expected_loss": expected, "realised_loss": realised}  # fmt: skip
        found = []
        if len(ok) >= MIN_FINANCINGS and realised > REALISED_LOSS_RATIO * max(expected, 1):
            ratio = round(realised / max(expected, 1), 2)
            found.append(learning.Finding(
                "realised_loss", "alert", "realised_to_expected_loss", ratio,
                REALISED_LOSS_RATIO,
                f"realised loss {realised / 100:,.2f} is {ratio}× the expected "
                f"{expected / 100:,.2f} over {len(ok)} financings",
            ))  # fmt: skip
        out[bank] = (figures, found)
    return out


@dataclass(frozen=True, slots=True)
class MonitorReport:
    """What monitoring measured on a day, and the alerts it raised."""

    as_of: dt.date
    model_id: str
    figures: dict[str, Any] = field(default_factory=dict)
    alerts: tuple[RiskAlert, ...] = ()
    names: dict[str, str] = field(default_factory=dict)  # the banks' names by id


def monitor(
    *,
    uow_factory: UnitOfWorkFactory,
    as_of: dt.date,
    cold_start: HistorySource,
    window_days: int = POPULATION_DAYS,
) -> MonitorReport:
    """Measure the champion on the platform now and store alerts: PSI of its scores of the
    invoices of the last ``window_days`` against the same window's scores when it was trained;
    realised AUC/KS on the outcomes known since; approval rate and realised loss per bank."""
    from fourflow.risk import learning  # noqa: PLC0415 (heavy: loaded on first use)

    scorer = champion_scorer(uow_factory=uow_factory, as_of=as_of, cold_start=cold_start)
    with uow_factory() as uow:
        record = uow.risk_models.get(scorer.version)
        assert record is not None
        history, trades = platform_history(uow)
        parties = parties_by_key(uow)
        financings = uow.financings.list()
        items_by_id = {i.id: i for i in uow.items.list()}
    scores = scores_at_issue(trades, parties)
    vectors = recent_population(history, scores, as_of, window_days)
    current = [float(p) for p in scorer.pds(vectors)] if vectors else []
    known = training_rows(history, as_of, scores=scores, since=record.as_of)
    outcomes: list[tuple[float, int]] = []
    if known:
        pds = scorer.pds([r.features for r in known])
        outcomes = [(float(p), r.bad) for p, r in zip(pds, known, strict=True)]
    reference = [float(p) for p in record.metrics.get("reference_pd", [])]
    measured = learning.monitor(
        reference_pd=reference,
        current_pd=current,
        validated_auc=record.metrics.get("auc"),
        outcomes=outcomes,
    )
    decided = [f for f in financings if f.decision and f.decision.model_version == record.id]
    approved = [f for f in decided if f.status in (*ACTIVE, FinancingStatus.REPAID)]
    figures: dict[str, Any] = {
        "population": len(current),
        "reference": len(reference),
        "outcomes": len(outcomes),
        "decisions": len(decided),
        "approval_rate": round(len(approved) / len(decided), 4) if decided else None,
        "mean_pd_now": round(float(np.mean(current)), 4) if current else None,
        "mean_pd_reference": round(float(np.mean(reference)), 4) if reference else None,
        **measured.figures,
    }
    found = measured.findings
    banks = _bank_figures(approved, decided, items_by_id, as_of)
    figures["banks"] = {b: v for b, (v, _) in banks.items()}
    alerts = tuple(
        RiskAlert(
            id=new_id("alert"), kind=f.kind, severity=f.severity, metric=f.metric,
            value=f.value, threshold=f.threshold, model_id=record.id, bank_id=bank,
            as_of=as_of, message=f.message,
        )
        for bank, f in [(None, f) for f in found]
        + [(b, f) for b, (_, fs) in banks.items() for f in fs]
    )  # fmt: skip
    if alerts:
        with uow_factory() as uow:
            for alert in alerts:
                uow.risk_alerts.add(alert)
            uow.commit()
    with uow_factory() as uow:
        names = {b: org.name for b in banks if (org := uow.organisations.get(b)) is not None}
    return MonitorReport(
        as_of=as_of, model_id=record.id, figures=figures, alerts=alerts, names=names
    )
