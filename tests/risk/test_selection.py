"""``risk evaluate`` chooses its model by repeated CV and, within the noise, the simpler one."""

from __future__ import annotations

import numpy as np

from fourflow.risk.evaluate import CANDIDATES, choose


def folds(mean: float, noise: np.ndarray) -> list[float]:
    """Per-fold AUCs whose mean is exactly ``mean``."""
    return [float(mean + e) for e in noise - noise.mean()]


def test_within_the_noise_the_simpler_model_is_chosen() -> None:
    rng = np.random.default_rng(0)
    shared = rng.normal(0, 0.02, 15)  # the folds' shared difficulty
    scores = {
        "logistic": folds(0.781, shared + rng.normal(0, 0.01, 15)),
        "scorecard": folds(0.781, shared + rng.normal(0, 0.01, 15)),
        "lightgbm": folds(0.782, shared + rng.normal(0, 0.01, 15)),
        "blend": folds(0.782, shared + rng.normal(0, 0.01, 15)),
        "ensemble": folds(0.783, shared + rng.normal(0, 0.01, 15)),
    }
    means = {n: np.mean(v) for n, v in scores.items()}
    assert max(means, key=means.__getitem__) != "logistic"  # the raw best is another one
    assert choose(CANDIDATES, scores) == "logistic"


def test_a_clearly_better_model_is_chosen_even_if_complex() -> None:
    rng = np.random.default_rng(1)
    shared = rng.normal(0, 0.02, 15)
    scores = {
        "logistic": folds(0.74, shared + rng.normal(0, 0.003, 15)),
        "scorecard": folds(0.75, shared + rng.normal(0, 0.003, 15)),
        "lightgbm": folds(0.80, shared + rng.normal(0, 0.003, 15)),
        "blend": folds(0.78, shared + rng.normal(0, 0.003, 15)),
        "ensemble": folds(0.77, shared + rng.normal(0, 0.003, 15)),
    }
    assert choose(CANDIDATES, scores) == "lightgbm"


def test_the_averaged_model_wins_a_tie_with_the_single_boosted_one() -> None:
    rng = np.random.default_rng(2)
    shared = rng.normal(0, 0.02, 15)
    scores = {
        "logistic": folds(0.70, shared),
        "scorecard": folds(0.71, shared),
        "lightgbm": folds(0.801, shared + rng.normal(0, 0.01, 15)),
        "blend": folds(0.800, shared + rng.normal(0, 0.01, 15)),
    }
    assert choose(("logistic", "scorecard", "lightgbm", "blend"), scores) == "blend"
