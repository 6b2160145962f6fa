"""The credit models on synthetic data whose answer is known."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from optbinning import Scorecard

from fourflow.risk.metrics import auc
from fourflow.risk.models import (
    BASE_ODDS,
    BASE_POINTS,
    PDO,
    CategoricalTable,
    CreditModel,
    FeatureSpec,
    GBMModel,
    NumericTable,
    ScorecardModel,
    ScorecardOptions,
    binning_input,
    fit_lightgbm,
    fit_logistic,
    fit_scorecard,
    model_from_json,
)

SPECS = (
    FeatureSpec("driver", "numeric", "ascending", "the risk driver"),
    FeatureSpec("safety", "numeric", "descending", "a protective factor"),
    FeatureSpec("noise", "numeric", "auto", "pure noise, partly missing"),
    FeatureSpec("region", "categorical", "auto", "region"),
)


def synthetic(n: int = 4000, seed: int = 7) -> tuple[pd.DataFrame, np.ndarray]:
    """Risk rises steeply with ``driver``, falls gently with ``safety``, region C is riskier."""
    rng = np.random.default_rng(seed)
    driver = rng.uniform(0, 1, n)
    safety = rng.normal(0, 1, n)
    noise = rng.normal(0, 1, n)
    noise[rng.random(n) < 0.1] = np.nan
    region = rng.choice(["A", "B", "C"], n, p=[0.5, 0.3, 0.2])
    logit = -2.5 + 5.0 * driver - 0.4 * safety + 0.6 * (region == "C")
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int8)
    frame = pd.DataFrame({"driver": driver, "safety": safety, "noise": noise, "region": region})
    return frame, y


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    return synthetic()


@pytest.fixture(scope="module")
def scorecard(data: tuple[pd.DataFrame, np.ndarray]) -> ScorecardModel:
    return fit_scorecard(*data, SPECS, seed=1)


@pytest.fixture(scope="module")
def gbm(data: tuple[pd.DataFrame, np.ndarray]) -> GBMModel:
    return fit_lightgbm(*data, SPECS, seed=1)


@pytest.fixture(scope="module")
def models(
    data: tuple[pd.DataFrame, np.ndarray], scorecard: ScorecardModel, gbm: GBMModel
) -> list[CreditModel]:
    return [scorecard, gbm, fit_logistic(*data, SPECS, seed=1)]


def scoring_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows to score, with a missing number, a missing and an unseen category."""
    rows = frame.head(200).copy()
    rows.loc[rows.index[0], "driver"] = np.nan
    rows.loc[rows.index[1], "region"] = None
    rows.loc[rows.index[2], "region"] = "never seen"
    return rows


def test_every_model_learns_and_is_calibrated(
    data: tuple[pd.DataFrame, np.ndarray], models: list[CreditModel]
) -> None:
    test_frame, test_y = synthetic(3000, seed=99)
    for model in models:
        assert isinstance(model, CreditModel)
        pd_ = model.predict_pd(test_frame)
        assert pd_.shape == (3000,)
        assert ((pd_ > 0) & (pd_ < 1)).all()
        assert auc(test_y, pd_) > 0.75, model.kind
        assert abs(pd_.mean() - test_y.mean()) < 0.03, model.kind


def test_scorecard_bins_follow_the_monotonic_trends(scorecard: ScorecardModel) -> None:
    driver = scorecard.tables["driver"]
    safety = scorecard.tables["safety"]
    assert isinstance(driver, NumericTable) and isinstance(safety, NumericTable)
    assert len(driver.points) >= 3
    # more points = safer: the risk driver loses points bin after bin, safety gains them
    assert (np.diff(driver.points) < 0).all(), driver.points
    assert (np.diff(safety.points) > 0).all(), safety.points
    region = scorecard.tables["region"]
    assert isinstance(region, CategoricalTable)
    points = dict(zip(region.categories, region.points, strict=True))
    assert points["C"] < points["A"]


def test_points_follow_the_stated_scaling(data: tuple[pd.DataFrame, np.ndarray]) -> None:
    frame, y = data
    # without out-of-fold calibration the PD is the regression's own mapping of the points
    plain = fit_scorecard(frame, y, SPECS, calibration_folds=0)
    p = plain.calibration(np.array([BASE_POINTS, BASE_POINTS + PDO, BASE_POINTS - 2 * PDO]))
    odds = (1 - p) / p  # good:bad
    np.testing.assert_allclose(odds, [BASE_ODDS, 2 * BASE_ODDS, BASE_ODDS / 4])
    np.testing.assert_allclose(
        plain.tables["driver"].points, fit_scorecard(frame, y, SPECS).tables["driver"].points
    )


def test_compiled_scoring_equals_optbinning_scorecard_points(
    data: tuple[pd.DataFrame, np.ndarray], scorecard: ScorecardModel
) -> None:
    frame, y = data
    kept = [s for s in SPECS if s.name in scorecard.tables]
    opts = ScorecardOptions()
    reference = Scorecard(
        binning_process=opts.binning_process(kept, select=False),
        estimator=opts.estimator(),
        scaling_method="pdo_odds",
        scaling_method_params={"pdo": PDO, "odds": BASE_ODDS, "scorecard_points": BASE_POINTS},
    )
    reference.fit(binning_input(frame, kept), y, metric_missing="empirical")
    rows = scoring_frame(frame)
    want = reference.score(binning_input(rows, kept))
    np.testing.assert_allclose(scorecard.score_points(rows), want, rtol=0, atol=1e-9)
    np.testing.assert_allclose(
        scorecard.score_points(frame), reference.score(binning_input(frame, kept)), atol=1e-9
    )


def test_json_round_trip_predicts_identically(
    data: tuple[pd.DataFrame, np.ndarray], models: list[CreditModel]
) -> None:
    frame, _ = data
    rows = scoring_frame(frame)
    for model in models:
        text = json.dumps(model.to_json())
        loaded = model_from_json(json.loads(text))
        assert loaded.kind == model.kind
        assert loaded.specs == model.specs
        np.testing.assert_array_equal(loaded.predict_pd(rows), model.predict_pd(rows))
        assert loaded.explain(rows.iloc[[5]]) == model.explain(rows.iloc[[5]])


def test_scorecard_json_is_plain_tables(scorecard: ScorecardModel) -> None:
    d: dict[str, Any] = json.loads(json.dumps(scorecard.to_json()))
    assert d["kind"] == "scorecard"
    assert d["scaling"] == {"base_points": 600.0, "base_odds": 50.0, "pdo": 20.0}
    driver = d["tables"]["driver"]
    assert len(driver["points"]) == len(driver["splits"]) + 1
    assert set(d["tables"]["region"]["points"]) == {"A", "B", "C"}
    assert d["calibration"]["method"] == "platt"


def test_explain_ranks_the_risk_driver_first(
    data: tuple[pd.DataFrame, np.ndarray], models: list[CreditModel]
) -> None:
    frame, _ = data
    row = pd.DataFrame({"driver": [0.98], "safety": [0.0], "noise": [0.0], "region": ["B"]})
    safe = pd.DataFrame({"driver": [0.02], "safety": [0.0], "noise": [0.0], "region": ["B"]})
    for model in models:
        factors = model.explain(row, top=3)
        assert factors[0].feature == "driver", (model.kind, factors)
        assert factors[0].contribution > 0
        assert factors[0].value == pytest.approx(0.98)
        assert factors[0].description.startswith("the risk driver")
        contributions = [f.contribution for f in factors]
        assert contributions == sorted(contributions, reverse=True)
        low = {f.feature: f.contribution for f in model.explain(safe, top=10)}
        assert low["driver"] < 0, model.kind
    with pytest.raises(ValueError, match="one row"):
        models[0].explain(frame.head(2))


def test_lightgbm_respects_the_monotone_constraints(
    data: tuple[pd.DataFrame, np.ndarray], gbm: GBMModel
) -> None:
    frame, _ = data
    grid = np.linspace(-0.5, 1.5, 41)
    base = frame.sample(30, random_state=3)
    for feature, sign, values in (("driver", 1, grid), ("safety", -1, grid * 4 - 2)):
        for _, row in base.iterrows():
            rows = pd.DataFrame([row] * len(values))
            rows[feature] = values
            raw = gbm.raw_score(rows)
            assert (sign * np.diff(raw) >= -1e-12).all(), feature
    assert "monotone_constraints" in gbm.booster.model_to_string()


def test_fits_are_deterministic(data: tuple[pd.DataFrame, np.ndarray]) -> None:
    frame, y = data
    small, y_small = frame.head(1500), y[:1500]
    a = fit_lightgbm(small, y_small, SPECS, seed=3).to_json()
    b = fit_lightgbm(small, y_small, SPECS, seed=3).to_json()
    assert a == b
    c = fit_scorecard(small, y_small, SPECS, seed=3).to_json()
    d = fit_scorecard(small, y_small, SPECS, seed=3).to_json()
    assert c == d


def test_bad_columns_are_named(
    data: tuple[pd.DataFrame, np.ndarray], models: list[CreditModel]
) -> None:
    frame, y = data
    for fit in (fit_scorecard, fit_lightgbm, fit_logistic):
        with pytest.raises(ValueError, match=r"missing column.*'safety'"):
            fit(frame.drop(columns=["safety"]), y, SPECS)
        with pytest.raises(ValueError, match="'extra' have no FeatureSpec"):
            fit(frame.assign(extra=1.0), y, SPECS)
        with pytest.raises(ValueError, match="'driver' is numeric"):
            fit(frame.assign(driver="high"), y, SPECS)
        with pytest.raises(ValueError, match="specified twice: 'driver'"):
            fit(frame, y, (*SPECS, SPECS[0]))
    for model in models:
        with pytest.raises(ValueError, match=r"missing column.*'driver'"):
            model.predict_pd(frame.drop(columns=["driver"]))
        # extra columns (ids, labels) are ignored when scoring
        np.testing.assert_array_equal(
            model.predict_pd(frame.head(5).assign(id=1)), model.predict_pd(frame.head(5))
        )
    with pytest.raises(ValueError, match="kind 'text'"):
        FeatureSpec("x", "text")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="monotonic 'up'"):
        FeatureSpec("x", "numeric", "up")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown model kind"):
        model_from_json({"format": 1, "kind": "svm"})
