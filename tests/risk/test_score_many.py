"""A registered model scores many feature vectors in one call (``ModelScorer.score_many``, as a
batch of decisions does) exactly as it scores each alone: the same PD, points and explanation
(reason codes, contributions, values, descriptions), bit for bit, for every kind of model the
platform registers (scorecard, LightGBM, logistic, blend), with missing values and unseen
categories among the vectors."""

from __future__ import annotations

import datetime as dt
import math
import random

import numpy as np
import pytest

from fourflow.risk import learning
from fourflow.risk.features import FEATURE_NAMES, TrainingRow
from fourflow.risk.models import BlendModel, CreditModel, fit_logistic

KINDS = ("scorecard", "lightgbm", "logistic", "blend")
SCENARIOS = ("manufacturing", "trading", "construction")


def _vector(rng: random.Random) -> dict[str, float | str]:
    """A platform feature vector; the outcome leans on the debtor's late share and tenor."""
    out: dict[str, float | str] = {name: rng.random() for name in FEATURE_NAMES}
    out.update(
        debtor_late_share=rng.random(), tenor_days=float(rng.randint(7, 180)),
        log_amount=math.log1p(rng.randint(10_000, 5_000_000)),
        scenario=rng.choice(SCENARIOS), basis=rng.choice(("verified", "confirmed")),
    )  # fmt: skip
    return out


@pytest.fixture(scope="module")
def scorers() -> dict[str, learning.ModelScorer]:
    rng = random.Random(3)
    rows = []
    for i in range(500):
        features = _vector(rng)
        late, tenor = float(features["debtor_late_share"]), float(features["tenor_days"])
        bad = int(rng.random() < 0.03 + 0.4 * late**2 + 0.1 * tenor / 180)
        day = dt.date(2024, 1, 1) + dt.timedelta(days=i // 4)
        rows.append(TrainingRow(f"r{i}", day, features, bad))
    trained = {t.kind: t.model for t in learning.train(rows, kinds=["scorecard", "lightgbm"])}
    frame = learning.frame_of([r.features for r in rows])
    y = np.array([r.bad for r in rows])
    logistic = fit_logistic(frame, y, learning.feature_specs())
    models: dict[str, CreditModel] = {
        **trained, "logistic": logistic,
        "blend": BlendModel((trained["lightgbm"], logistic), (1.0, 2.0)),
    }  # fmt: skip
    return {kind: learning.ModelScorer(f"{kind}-1", m) for kind, m in models.items()}


def _batch() -> list[dict[str, float | str]]:
    """25 different vectors, a few with a missing number or an unseen category, and two
    repeated (a batch may ask twice for one vector)."""
    rng = random.Random(11)
    vectors = [_vector(rng) for _ in range(23)]
    vectors[3]["rel_volatility"] = math.nan
    vectors[7]["scenario"] = "never-seen"
    vectors[9]["debtor_p90_days_late"] = math.nan
    return [*vectors, dict(vectors[4]), dict(vectors[0])]


@pytest.mark.parametrize("kind", KINDS)
def test_a_batch_scores_each_vector_as_it_scores_alone(
    scorers: dict[str, learning.ModelScorer], kind: str
) -> None:
    scorer = scorers[kind]
    vectors = _batch()
    together = scorer.score_many(vectors)
    alone = [scorer.score(v) for v in vectors]
    assert together == alone  # PD, points and every factor, float for float
    assert len({s.pd for s in together}) >= 20  # the vectors are scored differently
    for scored in together:
        assert scored.model_version == f"{kind}-1" and len(scored.factors) == 5
        assert (scored.points is not None) == (kind == "scorecard")
    # and as the model's own one-row PD (``predict_pd`` on a frame of that row alone)
    model = scorer.model
    for vector, scored in zip(vectors, together, strict=True):
        assert scored.pd == float(model.predict_pd(learning.model_frame(model, [vector]))[0])


def test_no_vector_scores_nothing(scorers: dict[str, learning.ModelScorer]) -> None:
    assert scorers["scorecard"].score_many([]) == []
