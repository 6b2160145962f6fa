"""The model registry: the cold-start champion, training on the platform's outcomes,
promotion of a challenger only when it beats the champion."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from fourflow.risk.bootstrap import HistorySource
from fourflow.risk.features import History, TrainingRow, training_rows
from fourflow.services.credit.history import (
    parties_by_key,
    platform_history,
    recent_population,
    scores_at_issue,
)
from fourflow.services.ports import ModelRecord, UnitOfWork, UnitOfWorkFactory

if TYPE_CHECKING:  # the ML stack (pandas, scikit-learn, LightGBM) loads on first use
    from fourflow.risk import learning

#: Lock held while the cold-start model is registered (once per platform).
BOOTSTRAP_LOCK = "risk.bootstrap"
#: The cold-start history: a clean simulated platform (docs/risk.md, "Cold start").
BOOTSTRAP_SEED = 20_261_129
BOOTSTRAP_TRADES = 2_000
#: PDs kept with a model as its reference population for PSI.
REFERENCE_SIZE = 2_000
#: Loaded champion scorers kept per process (by model id and artifact hash), oldest dropped.
_SCORERS_KEPT = 4
_SCORERS: dict[tuple[str, bytes], learning.ModelScorer] = {}
_SCORERS_LOCK = threading.Lock()


def _next_id(uow: UnitOfWork, kind: str) -> str:
    return f"{kind}-{sum(1 for m in uow.risk_models.list() if m.kind == kind) + 1}"


def _record(
    uow: UnitOfWork,
    trained: learning.Trained,
    *,
    role: str,
    as_of: dt.date,
    rows: Sequence[TrainingRow],
    note: str,
    source: str,
    verdict: Mapping[str, float] | None = None,
) -> ModelRecord:
    from fourflow.risk import learning  # noqa: PLC0415 (heavy: loaded on first use)

    reference = trained.reference_pd[:REFERENCE_SIZE]
    record = ModelRecord(
        id=_next_id(uow, trained.kind),
        kind=trained.kind,
        role=role,
        as_of=as_of,
        training_rows=len(rows),
        data_hash=learning.data_hash(rows),
        metrics={
            **trained.validation.as_json(),
            "reference_pd": [round(p, 6) for p in reference],
            "dropped": list(trained.dropped),
            "source": source,
            # the promotion's or refusal's figures against the champion (learning.compare)
            **({"verdict": dict(verdict)} if verdict is not None else {}),
        },
        artifact=json.dumps(trained.model.to_json(), separators=(",", ":")),
        note=note,
    )
    uow.risk_models.add(record)
    return record


@functools.cache
def _bootstrap_model(
    cold_start: HistorySource,
) -> tuple[learning.Trained, tuple[TrainingRow, ...]]:
    """The cold-start scorecard and its rows (deterministic: fitted once per process)."""
    from fourflow.risk import learning  # noqa: PLC0415 (heavy: loaded on first use)

    facts = cold_start(seed=BOOTSTRAP_SEED, trades=BOOTSTRAP_TRADES)
    rows = training_rows(History.of(facts), max(f.issue_date for f in facts))
    (trained,) = learning.train(rows, kinds=["scorecard"], seed=0)
    return trained, tuple(rows)


def bootstrap_champion(
    *, uow_factory: UnitOfWorkFactory, as_of: dt.date, cold_start: HistorySource
) -> ModelRecord:
    """Register a cold-start scorecard learnt from ``cold_start``'s simulated history (if no
    champion is registered)."""
    with uow_factory() as uow:
        existing = uow.risk_models.champion()
        if existing is not None:
            return existing
    trained, rows = _bootstrap_model(cold_start)
    with uow_factory() as uow:
        # One registration however many processes ask at once: the lock, then a re-read.
        uow.settings.lock(BOOTSTRAP_LOCK)
        existing = uow.risk_models.champion()
        if existing is not None:  # another process got there first
            return existing
        record = _record(
            uow, trained, role="champion", as_of=as_of, rows=rows,
            note=f"bootstrap: cold-start scorecard on a simulated history (seed "
                 f"{BOOTSTRAP_SEED}, {BOOTSTRAP_TRADES} trades); retrain on the platform's "
                 "own outcomes with `fourflow risk train`",
            source="simulated",
        )  # fmt: skip
        uow.commit()
    return record


def champion_scorer(
    *, uow_factory: UnitOfWorkFactory, as_of: dt.date, cold_start: HistorySource
) -> learning.ModelScorer:
    """The champion model, ready to score (bootstrapped from ``cold_start`` on first use)."""
    with uow_factory() as uow:
        record = uow.risk_models.champion()
    if record is None:
        record = bootstrap_champion(uow_factory=uow_factory, as_of=as_of, cold_start=cold_start)
    return _loaded(record)


def champion_in(uow: UnitOfWork) -> learning.ModelScorer | None:
    """The champion model, ready to score, read in the caller's unit of work; None while none
    is registered (``champion_scorer`` bootstraps one, in transactions of its own)."""
    record = uow.risk_models.champion()
    return None if record is None else _loaded(record)


def _loaded(record: ModelRecord) -> learning.ModelScorer:
    """A registered model's scorer. A registered model never changes (a retraining registers
    a new version): its loaded scorer is kept in this process by version and its artifact,
    and a promotion is seen at once (the champion is read from the store each time)."""
    from fourflow.risk import learning  # noqa: PLC0415 (heavy: loaded on first use)

    key = (record.id, hashlib.sha256(record.artifact.encode()).digest())
    with _SCORERS_LOCK:
        scorer = _SCORERS.get(key)
    if scorer is None:
        scorer = learning.ModelScorer.from_artifact(record.id, record.artifact)
        with _SCORERS_LOCK:
            if len(_SCORERS) >= _SCORERS_KEPT:
                _SCORERS.pop(next(iter(_SCORERS)))
            _SCORERS[key] = scorer
    return scorer


@dataclass(frozen=True, slots=True)
class TrainingReport:
    """What a retraining cycle did."""

    as_of: dt.date
    rows: int
    bad: int
    registered: tuple[ModelRecord, ...]
    champion: str
    promoted: bool
    reason: str


def train(
    *,
    uow_factory: UnitOfWorkFactory,
    as_of: dt.date,
    seed: int = 0,
    kinds: Sequence[str] = ("scorecard", "lightgbm"),
    cold_start: HistorySource | None = None,
) -> TrainingReport:
    """Learn from every outcome known on ``as_of``; promote the best new model if it wins.

    New versions are validated out of time; the best of them (by AUC on the newest window)
    challenges the champion on that same window and replaces it only when it beats it by
    ``learning.MIN_AUC_GAIN`` without a worse Brier score (``learning.compare``).
    """
    from fourflow.risk import learning  # noqa: PLC0415 (heavy: loaded on first use)

    if cold_start is not None:  # the cold-start champion first: a new model must beat it
        bootstrap_champion(uow_factory=uow_factory, as_of=as_of, cold_start=cold_start)
    with uow_factory() as uow:
        history, trades = platform_history(uow)
        parties = parties_by_key(uow)
        champion = uow.risk_models.champion()
    scores = scores_at_issue(trades, parties)
    rows = training_rows(history, as_of, scores=scores)
    learning.check_enough(rows)
    trained = learning.train(rows, kinds=kinds, seed=seed)
    # Each model's reference population for drift: its scores of the last POPULATION_DAYS of
    # invoices as of training (what monitoring will score later, like with like).
    population = recent_population(history, scores, as_of)
    if len(population) >= 30:
        trained = [
            replace(t, reference_pd=tuple(
                float(p) for p in t.model.predict_pd(learning.model_frame(t.model, population))
            ))
            for t in trained
        ]  # fmt: skip
    best = max(trained, key=lambda t: t.validation.auc)
    _, window = learning.split_out_of_time(rows)
    current = (
        None
        if champion is None
        else learning.ModelScorer.from_artifact(champion.id, champion.artifact).model
    )
    verdict = learning.compare(current, best.model, window, seed=seed)
    registered = []
    with uow_factory() as uow:
        for t in trained:
            winner = t is best and verdict.promote
            note = verdict.reason if t is best else f"challenger (best new model: {best.kind})"
            registered.append(
                _record(uow, t, role="champion" if winner else "challenger", as_of=as_of,
                        rows=rows, note=note, source="platform",
                        verdict=verdict.figures if t is best else None)
            )  # fmt: skip
        if verdict.promote and champion is not None:
            uow.risk_models.set_role(champion.id, "retired", verdict.reason)
        uow.commit()
    new_champion = next((r.id for r in registered if r.role == "champion"), None)
    return TrainingReport(
        as_of=as_of,
        rows=len(rows),
        bad=sum(r.bad for r in rows),
        registered=tuple(registered),
        champion=new_champion or (champion.id if champion else ""),
        promoted=verdict.promote,
        reason=verdict.reason,
    )
