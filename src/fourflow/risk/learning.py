"""Learning from outcomes: training, champion/challenger promotion, monitoring (docs/risk.md).

Training rows are past invoices with known outcomes (``features.training_rows``), each with
its features on its own issue date. Models are validated *out of time*: fitted on the older
75% of rows, measured on the newest 25%, which is how they will be used (on requests that
come after). A challenger replaces the champion only when it beats it on the same, newest
window by a stated margin. Monitoring compares the population a model is scoring now with
the one it was validated on (PSI) and its realised discrimination (AUC, KS) with the
validated one, and raises alerts past stated thresholds.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fourflow.domain.errors import DomainValueError
from fourflow.risk import metrics
from fourflow.risk.features import DESCRIPTIONS, FEATURES, TrainingRow
from fourflow.risk.models import (
    PDO,
    CreditModel,
    FeatureSpec,
    ScorecardModel,
    explain_rows,
    fit_lightgbm,
    fit_scorecard,
    model_from_json,
)
from fourflow.risk.models import Factor as ModelFactor
from fourflow.risk.reasons import pd_effect
from fourflow.risk.review import Factor, Scored

#: Fewest known outcomes, and fewest bad ones, a model is trained on.
MIN_ROWS = 200
MIN_BAD = 20
#: Share of the newest rows held out for out-of-time validation.
VALIDATION_SHARE = 0.25
#: A challenger must beat the champion's AUC by this much on the same window ...
MIN_AUC_GAIN = 0.005
#: ... without a worse Brier score than this factor of the champion's.
MAX_BRIER_RATIO = 1.05
#: PSI thresholds: stable below 0.10, shift worth a look to 0.25, significant shift above.
PSI_WARNING = 0.10
PSI_ALERT = 0.25
#: A comparison needs at least this many outcomes on the window, this many of them bad ...
MIN_COMPARE_ROWS = 100
MIN_COMPARE_BAD = 10
#: ... and the lower end of the bootstrap interval of the AUC gain above zero.
BOOTSTRAP_RESAMPLES = 400
BOOTSTRAP_LEVEL = 0.90
#: Realised AUC this far below the validated AUC raises a performance alert.
AUC_DROP_ALERT = 0.05
#: Outcomes needed before realised AUC/KS are judged.
MIN_MONITOR_OUTCOMES = 50


class NotEnoughDataError(DomainValueError):
    """Too few known outcomes to train or judge a model."""


def feature_specs(exclude: Sequence[str] = ()) -> tuple[FeatureSpec, ...]:
    """The model library's specs of the platform's features."""
    return tuple(
        FeatureSpec(f.name, f.kind, f.monotonic, f.description)  # type: ignore[arg-type]
        for f in FEATURES
        if f.name not in exclude
    )


_DTYPES = {f.name: (object if f.kind == "categorical" else np.float64) for f in FEATURES}


def frame_of(rows: Sequence[Mapping[str, float | str]]) -> pd.DataFrame:
    """A model's input frame: one column per platform feature, in ``FEATURES`` order."""
    columns = {
        f.name: np.fromiter((r[f.name] for r in rows), dtype=_DTYPES[f.name], count=len(rows))
        if f.kind == "numeric"
        else np.array([str(r[f.name]) for r in rows], dtype=object)
        for f in FEATURES
    }
    return pd.DataFrame(columns, copy=False)


def model_frame(model: CreditModel, rows: Sequence[Mapping[str, float | str]]) -> pd.DataFrame:
    """The input frame of ``rows`` restricted to the features ``model`` was fitted on."""
    return frame_of(rows)[[s.name for s in model.specs]]


def data_hash(rows: Sequence[TrainingRow]) -> str:
    """Hex SHA-256 of the training rows (keys, features, outcomes), canonical JSON."""
    digest = hashlib.sha256()
    for r in rows:
        line = json.dumps([r.key, r.features, r.bad], sort_keys=True, separators=(",", ":"))
        digest.update(line.encode())
        digest.update(b"\n")
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Validation:
    """A model's figures on an out-of-time window."""

    auc: float
    ks: float
    brier: float
    rows: int
    bad_rate: float

    def as_json(self) -> dict[str, float]:
        """Plain JSON."""
        return {"auc": self.auc, "ks": self.ks, "brier": self.brier, "rows": self.rows,
                "bad_rate": self.bad_rate}  # fmt: skip


def validate(model: CreditModel, rows: Sequence[TrainingRow]) -> tuple[Validation, np.ndarray]:
    """A model's AUC, KS and Brier score on ``rows``, and its PDs there."""
    y = np.array([r.bad for r in rows])
    if len(set(y.tolist())) < 2:
        raise NotEnoughDataError("the validation window holds only one outcome class")
    pd_ = model.predict_pd(model_frame(model, [r.features for r in rows]))
    figures = Validation(
        auc=round(metrics.auc(y, pd_), 4),
        ks=round(metrics.ks(y, pd_), 4),
        brier=round(metrics.brier(y, pd_), 4),
        rows=len(rows),
        bad_rate=round(float(y.mean()), 4),
    )
    return figures, pd_


def split_out_of_time(
    rows: Sequence[TrainingRow], share: float = VALIDATION_SHARE
) -> tuple[list[TrainingRow], list[TrainingRow]]:
    """Older rows to fit on, the newest ``share`` to validate on (rows are in date order)."""
    ordered = sorted(rows, key=lambda r: (r.issue_date, r.key))
    cut = int(len(ordered) * (1 - share))
    return ordered[:cut], ordered[cut:]


def check_enough(rows: Sequence[TrainingRow]) -> None:
    """Refuse to train on too few outcomes, saying how many there are."""
    bad = sum(r.bad for r in rows)
    if len(rows) < MIN_ROWS or bad < MIN_BAD:
        raise NotEnoughDataError(
            f"{len(rows)} known outcomes ({bad} bad); training needs at least {MIN_ROWS} "
            f"with {MIN_BAD} bad"
        )


@dataclass(frozen=True, slots=True)
class Trained:
    """A freshly trained model and how it did out of time."""

    kind: str
    model: CreditModel
    validation: Validation
    reference_pd: tuple[float, ...]
    dropped: tuple[str, ...]


def train(rows: Sequence[TrainingRow], *, kinds: Sequence[str], seed: int = 0) -> list[Trained]:
    """Fit each kind (``scorecard``, ``lightgbm``) on the older rows, validate on the newest.

    Features constant over the fitting rows carry no information and are left out (named in
    ``dropped``).
    """
    check_enough(rows)
    fit_rows, valid_rows = split_out_of_time(rows)
    y = np.array([r.bad for r in fit_rows])
    if y.sum() < MIN_BAD // 2 or sum(r.bad for r in valid_rows) == 0:
        raise NotEnoughDataError("too few bad outcomes in the fitting or the validation window")
    frame = frame_of([r.features for r in fit_rows])
    dropped = tuple(c for c in frame.columns if frame[c].nunique(dropna=False) <= 1)
    specs = feature_specs(dropped)
    frame = frame.drop(columns=list(dropped))
    out = []
    for kind in kinds:
        if kind == "scorecard":
            model: CreditModel = fit_scorecard(frame, y, specs, seed=seed)
        elif kind == "lightgbm":
            model = fit_lightgbm(frame, y, specs, seed=seed)
        else:
            raise ValueError(f"unknown model kind {kind!r} (scorecard, lightgbm)")
        figures, pd_ = validate(model, valid_rows)
        out.append(Trained(kind, model, figures, tuple(float(p) for p in pd_), dropped))
    return out


@dataclass(frozen=True, slots=True)
class Promotion:
    """Whether a challenger replaces the champion, why in words, and the figures it rests on.

    ``figures`` (plain JSON, recorded with the challenger's registry entry): the window's rows
    and bad outcomes, both AUCs and Brier scores, the AUC gain and its bootstrap interval.
    """

    promote: bool
    reason: str
    champion: Validation | None
    challenger: Validation
    figures: dict[str, float] = field(default_factory=dict)


def auc_gain_interval(
    y: np.ndarray,
    champion_pd: np.ndarray,
    challenger_pd: np.ndarray,
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    level: float = BOOTSTRAP_LEVEL,
    seed: int = 0,
) -> tuple[float, float]:
    """Paired bootstrap interval of (challenger AUC − champion AUC) on the same outcomes.

    Rows are resampled with replacement, both models scored on the same resample; resamples
    holding one class only are skipped. Percentile interval at ``level``.
    """
    from scipy.stats import rankdata  # noqa: PLC0415 (loaded on first use)

    rng = np.random.default_rng(seed)
    n = len(y)
    gains = []
    for _ in range(resamples):
        idx = rng.integers(0, n, n)
        yy = y[idx]
        bad = int(yy.sum())
        if bad in (0, n):
            continue
        gains.append(_fast_auc(yy, challenger_pd[idx], bad, rankdata)
                     - _fast_auc(yy, champion_pd[idx], bad, rankdata))  # fmt: skip
    if not gains:
        return 0.0, 0.0
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(gains, [tail, 100 - tail])
    return round(float(low), 4), round(float(high), 4)


def _fast_auc(y: np.ndarray, p: np.ndarray, bad: int, rankdata: Any) -> float:
    """Mann-Whitney AUC (ties count one half) of one bootstrap resample."""
    ranks = rankdata(p)
    good = len(y) - bad
    return float((ranks[y == 1].sum() - bad * (bad + 1) / 2) / (bad * good))


def compare(
    champion: CreditModel | None,
    challenger: CreditModel,
    window: Sequence[TrainingRow],
    *,
    seed: int = 0,
) -> Promotion:
    """Judge champion and challenger on the same (newest) window of known outcomes.

    The challenger is promoted only when the window holds at least ``MIN_COMPARE_ROWS``
    outcomes with ``MIN_COMPARE_BAD`` bad, its AUC beats the champion's by ``MIN_AUC_GAIN``,
    the lower end of the paired bootstrap interval of that gain is above zero, and its Brier
    score is no worse than ``MAX_BRIER_RATIO`` × the champion's. Without a champion (a
    platform with no cold-start model) the first model is promoted; the platform's service
    registers the cold-start champion first, so this is for pure uses only.
    """
    mine, challenger_pd = validate(challenger, window)
    if champion is None:
        return Promotion(True, "no champion yet: the first model becomes champion", None, mine,
                         {"rows": mine.rows, "challenger_auc": mine.auc})  # fmt: skip
    theirs, champion_pd = validate(champion, window)
    y = np.array([r.bad for r in window])
    bad = int(y.sum())
    low, high = auc_gain_interval(y, champion_pd, challenger_pd, seed=seed)
    gain = round(mine.auc - theirs.auc, 4)
    figures: dict[str, float] = {
        "rows": len(window), "bad": bad,
        "champion_auc": theirs.auc, "challenger_auc": mine.auc, "auc_gain": gain,
        "auc_gain_low": low, "auc_gain_high": high, "ci_level": BOOTSTRAP_LEVEL,
        "champion_brier": theirs.brier, "challenger_brier": mine.brier,
    }  # fmt: skip
    interval = f"{BOOTSTRAP_LEVEL:.0%} interval of the gain {low:+.4f} to {high:+.4f}"
    if len(window) < MIN_COMPARE_ROWS or bad < MIN_COMPARE_BAD:
        reason = (
            f"kept the champion: {len(window)} outcomes ({bad} bad) on the comparison window; "
            f"a promotion needs at least {MIN_COMPARE_ROWS} with {MIN_COMPARE_BAD} bad"
        )
        return Promotion(False, reason, theirs, mine, figures)
    if mine.auc < theirs.auc + MIN_AUC_GAIN:
        reason = (
            f"kept the champion: challenger AUC {mine.auc:.4f} does not beat champion "
            f"{theirs.auc:.4f} by {MIN_AUC_GAIN} ({interval}, {len(window)} outcomes)"
        )
        return Promotion(False, reason, theirs, mine, figures)
    if low <= 0.0:
        reason = (
            f"kept the champion: challenger AUC {mine.auc:.4f} vs champion {theirs.auc:.4f} "
            f"is within the noise ({interval} includes zero, {len(window)} outcomes)"
        )
        return Promotion(False, reason, theirs, mine, figures)
    if mine.brier > theirs.brier * MAX_BRIER_RATIO:
        reason = (
            f"kept the champion: challenger Brier {mine.brier:.4f} is worse than champion "
            f"{theirs.brier:.4f} × {MAX_BRIER_RATIO}"
        )
        return Promotion(False, reason, theirs, mine, figures)
    reason = (
        f"promoted: challenger AUC {mine.auc:.4f} vs champion {theirs.auc:.4f} ({interval}), "
        f"Brier {mine.brier:.4f} vs {theirs.brier:.4f}, on {mine.rows} newest outcomes "
        f"({bad} bad)"
    )
    return Promotion(True, reason, theirs, mine, figures)


@dataclass(frozen=True, slots=True)
class Finding:
    """A monitoring finding before it is stored as an alert."""

    kind: str
    severity: str
    metric: str
    value: float
    threshold: float
    message: str


@dataclass(frozen=True, slots=True)
class Measured:
    """What monitoring measured (``psi``, ``auc`` where it could) and what it found."""

    figures: dict[str, float]
    findings: list[Finding]


def monitor(
    *,
    reference_pd: Sequence[float],
    current_pd: Sequence[float],
    validated_auc: float | None = None,
    outcomes: Sequence[tuple[float, int]] = (),
) -> Measured:
    """Population stability of the scores now, and realised discrimination where known.

    ``outcomes`` are (PD given at decision, realised bad) of requests whose outcome is known.
    """
    found: list[Finding] = []
    figures: dict[str, float] = {}
    if len(current_pd) >= 30 and len(reference_pd) >= 30:
        psi = round(metrics.psi(np.asarray(reference_pd), np.asarray(current_pd)), 4)
        figures["psi"] = psi
        if psi >= PSI_ALERT:
            found.append(
                Finding("drift", "alert", "psi", psi, PSI_ALERT,
                        f"score population shifted: PSI {psi:.3f} ≥ {PSI_ALERT} over "
                        f"{len(current_pd)} scores; review the model before relying on it")
            )  # fmt: skip
        elif psi >= PSI_WARNING:
            found.append(
                Finding("drift", "warning", "psi", psi, PSI_WARNING,
                        f"score population moving: PSI {psi:.3f} ≥ {PSI_WARNING}")
            )  # fmt: skip
    if validated_auc is not None and len(outcomes) >= MIN_MONITOR_OUTCOMES:
        p = np.array([o[0] for o in outcomes])
        y = np.array([o[1] for o in outcomes])
        if 0 < y.sum() < len(y):
            auc = round(metrics.auc(y, p), 4)
            figures["auc"] = auc
            floor = round(validated_auc - AUC_DROP_ALERT, 4)
            if auc < floor:
                found.append(
                    Finding("performance", "alert", "auc", auc, floor,
                            f"realised AUC {auc:.3f} on {len(y)} outcomes is below the "
                            f"validated {validated_auc:.3f} less {AUC_DROP_ALERT}")
                )  # fmt: skip
    return Measured(figures, found)


class ModelScorer:
    """A registered model, ready to score one request (``review.Scorer``)."""

    def __init__(self, version: str, model: CreditModel) -> None:
        self.version = version
        self.model = model

    @classmethod
    def from_artifact(cls, version: str, artifact: str) -> ModelScorer:
        """Load a registered model's JSON artifact."""
        return cls(version, model_from_json(json.loads(artifact)))

    def pds(self, rows: Sequence[Mapping[str, float | str]]) -> np.ndarray:
        """PDs of many feature vectors at once."""
        return self.model.predict_pd(model_frame(self.model, rows))

    def score(self, features: Mapping[str, float | str]) -> Scored:
        """PD, explanation and (for a scorecard) points of one feature vector."""
        return self.score_many([features])[0]

    def score_many(self, rows: Sequence[Mapping[str, float | str]]) -> list[Scored]:
        """``score`` of every feature vector, in one call of the model: one input frame, the
        model run once over all the rows (each row's PD, points and explanation are those it
        gets scored alone, bit for bit: the model's operations on a row do not depend on the
        rows beside it; tests/risk/test_score_many.py)."""
        if not rows:
            return []
        frame = model_frame(self.model, rows)
        assessed: list[tuple[float, float | None, list[ModelFactor]]]
        if isinstance(self.model, ScorecardModel):  # its points once, not three times
            assessed = list(self.model.assess_many(frame, top=5))
        else:
            pds = self.model.predict_pd(frame)
            explained = explain_rows(self.model, frame, top=5)
            assessed = [(float(pds[r]), None, explained[r]) for r in range(len(rows))]
        return [self._scored(pd_, points, factors) for pd_, points, factors in assessed]

    def _scored(self, pd_: float, points: float | None, explained: list[ModelFactor]) -> Scored:
        # a scorecard explains in points lost (PDO points double the odds), LightGBM in
        # log-odds: both become their effect on the PD
        per_unit = math.log(2.0) / PDO if points is not None else 1.0
        factors = tuple(
            Factor(f.feature, f.value, f.contribution, DESCRIPTIONS.get(f.feature, f.description),
                   pd_effect(pd_, f.contribution * per_unit))
            for f in explained
        )  # fmt: skip
        return Scored(pd_, factors, points, self.version)
