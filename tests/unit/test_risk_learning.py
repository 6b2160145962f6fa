"""Champion/challenger promotion and drift monitoring on real fitted models (synthetic rows)."""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pytest

from fourflow.risk import learning
from fourflow.risk.features import FEATURE_NAMES, TrainingRow


def rows(n: int, *, seed: int, signal: bool = True) -> list[TrainingRow]:
    """Rows whose outcome depends on the debtor's late share (or on nothing, without signal)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        late = rng.random()
        features: dict[str, float | str] = {name: rng.random() for name in FEATURE_NAMES}
        features.update(debtor_late_share=late, scenario="manufacturing", basis="verified")
        p = 0.02 + 0.5 * late**2 if signal else 0.15
        out.append(TrainingRow(f"r{i}", dt.date(2024, 1, 1) + dt.timedelta(days=i // 5),
                               features, int(rng.random() < p)))  # fmt: skip
    return out


@pytest.fixture(scope="module")
def trained() -> dict[str, learning.Trained]:
    good = learning.train(rows(1_500, seed=1), kinds=["scorecard"], seed=0)[0]
    noise = learning.train(rows(1_500, seed=2, signal=False), kinds=["scorecard"], seed=0)[0]
    return {"good": good, "noise": noise}


def test_training_validates_out_of_time_and_drops_constant_features(
    trained: dict[str, learning.Trained],
) -> None:
    good = trained["good"]
    assert good.validation.rows == 375  # the newest 25%
    assert good.validation.auc > 0.7
    assert set(good.dropped) == {"scenario", "basis"}
    assert len(good.reference_pd) == 375


def test_not_enough_outcomes_is_refused_with_the_counts() -> None:
    with pytest.raises(learning.NotEnoughDataError, match=r"50 known outcomes \(\d+ bad\)"):
        learning.train(rows(50, seed=3), kinds=["scorecard"])


def test_a_challenger_is_promoted_only_when_it_beats_the_champion(
    trained: dict[str, learning.Trained],
) -> None:
    window = rows(800, seed=4)
    better = learning.compare(trained["noise"].model, trained["good"].model, window)
    assert better.promote and better.reason.startswith("promoted")
    assert better.challenger.auc > better.champion.auc + learning.MIN_AUC_GAIN  # type: ignore[union-attr]
    worse = learning.compare(trained["good"].model, trained["noise"].model, window)
    assert not worse.promote and "kept the champion" in worse.reason
    same = learning.compare(trained["good"].model, trained["good"].model, window)
    assert not same.promote  # equal is not better
    first = learning.compare(None, trained["noise"].model, window)
    assert first.promote and "no champion" in first.reason


def test_psi_drift_alerts_when_the_population_shifts(trained: dict[str, learning.Trained]) -> None:
    reference = trained["good"].reference_pd
    scorer = learning.ModelScorer("scorecard-1", trained["good"].model)
    same = scorer.pds([r.features for r in rows(600, seed=5)])
    assert not learning.monitor(reference_pd=reference, current_pd=list(same)).findings
    stressed = rows(600, seed=6)
    for r in stressed:  # every debtor now pays late far more often
        r.features["debtor_late_share"] = 0.7 + 0.3 * float(r.features["debtor_late_share"])
    shifted = scorer.pds([r.features for r in stressed])
    found = learning.monitor(reference_pd=reference, current_pd=list(shifted)).findings
    assert [(f.kind, f.severity, f.metric) for f in found] == [("drift", "alert", "psi")]
    assert found[0].value >= learning.PSI_ALERT


def test_realised_auc_below_the_validated_one_raises_a_performance_alert() -> None:
    rng = np.random.default_rng(0)
    pds = rng.random(200)
    outcomes = [(float(p), int(rng.random() < 0.2)) for p in pds]  # outcomes unrelated to PD
    found = learning.monitor(
        reference_pd=[], current_pd=[], validated_auc=0.80, outcomes=outcomes
    ).findings
    assert [(f.kind, f.metric) for f in found] == [("performance", "auc")]
    assert found[0].threshold == pytest.approx(0.75)


def test_scorer_explains_with_platform_descriptions(trained: dict[str, learning.Trained]) -> None:
    scorer = learning.ModelScorer("scorecard-1", trained["good"].model)
    risky = dict(rows(1, seed=7)[0].features, debtor_late_share=0.99)
    s = scorer.score(risky)
    assert s.model_version == "scorecard-1" and s.points is not None
    assert s.factors[0].feature == "debtor_late_share"
    assert s.factors[0].description == "share the debtor paid late"
    assert s.pd > scorer.score(dict(risky, debtor_late_share=0.01)).pd


def test_a_weak_challenger_is_not_promoted_and_the_figures_are_kept(
    trained: dict[str, learning.Trained],
) -> None:
    # a model fitted the same way on other rows is as good as the champion, no better
    twin = learning.train(rows(1_500, seed=9), kinds=["scorecard"], seed=0)[0]
    verdict = learning.compare(trained["good"].model, twin.model, rows(800, seed=10))
    assert not verdict.promote and verdict.reason.startswith("kept the champion")
    f = verdict.figures
    assert f["rows"] == 800 and f["bad"] > 50
    assert f["auc_gain_low"] <= f["auc_gain"] <= f["auc_gain_high"]
    assert f["auc_gain_low"] < learning.MIN_AUC_GAIN  # the interval does not clear the margin
    # a far better challenger clears the interval, and the figures say so
    better = learning.compare(trained["noise"].model, trained["good"].model, rows(800, seed=10))
    assert better.promote and better.figures["auc_gain_low"] > 0.1


def test_too_few_outcomes_on_the_window_keep_the_champion(
    trained: dict[str, learning.Trained],
) -> None:
    small = rows(60, seed=11)
    verdict = learning.compare(trained["noise"].model, trained["good"].model, small)
    assert not verdict.promote
    assert "a promotion needs at least 100" in verdict.reason
    assert verdict.figures["rows"] == 60


def test_the_auc_gain_interval_includes_zero_for_noise_and_not_for_a_real_gain() -> None:
    rng = np.random.default_rng(5)
    y = (rng.random(400) < 0.2).astype(int)
    signal = y + rng.normal(0, 1.0, 400)
    low, high = learning.auc_gain_interval(y, signal, signal + rng.normal(0, 0.05, 400))
    assert low < 0 < high
    low, high = learning.auc_gain_interval(y, rng.random(400), signal)
    assert low > 0.1
