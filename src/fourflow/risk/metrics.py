"""Discrimination, calibration and stability metrics on numpy arrays (docs/risk-evaluation.md).

``y`` is 1 for bad, 0 for good; ``p`` is a score that grows with risk (a PD, not points).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

PSI_EPSILON = 1e-4


def _pair(
    y: npt.ArrayLike, p: npt.ArrayLike
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.float64]]:
    target = np.asarray(y)
    score = np.asarray(p, dtype=np.float64)
    if target.ndim != 1 or target.shape != score.shape:
        raise ValueError(
            f"y and p must be 1-D of the same length, got {target.shape} and {score.shape}"
        )
    if not np.isin(target, (0, 1)).all():
        raise ValueError("y must hold 0 (good) and 1 (bad) only")
    if np.isnan(score).any():
        raise ValueError("p holds NaN")
    return target.astype(np.int8), score


def _two_classes(target: npt.NDArray[np.int8]) -> None:
    if target.size == 0 or target.min() == target.max():
        raise ValueError("y must hold both classes")


def auc(y: npt.ArrayLike, p: npt.ArrayLike) -> float:
    """Area under the ROC curve (ties count one half)."""
    target, score = _pair(y, p)
    _two_classes(target)
    from sklearn.metrics import roc_auc_score  # noqa: PLC0415 (loaded on first use)

    return float(roc_auc_score(target, score))


def ks(y: npt.ArrayLike, p: npt.ArrayLike) -> float:
    """Kolmogorov-Smirnov statistic: the largest TPR - FPR over all thresholds."""
    target, score = _pair(y, p)
    _two_classes(target)
    from sklearn.metrics import roc_curve  # noqa: PLC0415 (loaded on first use)

    fpr, tpr, _ = roc_curve(target, score)
    return float(np.max(tpr - fpr))


def brier(y: npt.ArrayLike, p: npt.ArrayLike) -> float:
    """Brier score: the mean squared error of the probabilities."""
    target, score = _pair(y, p)
    if target.size == 0:
        raise ValueError("y is empty")
    return float(np.mean((score - target) ** 2))


def psi(expected_scores: npt.ArrayLike, actual_scores: npt.ArrayLike, bins: int = 10) -> float:
    """Population stability index of ``actual_scores`` against ``expected_scores``.

    The bins are the quantiles of the expected population (duplicate edges merged, the outer
    edges open); each share is floored at ``PSI_EPSILON`` so empty bins stay finite.
    ``PSI = sum((a - e) * ln(a / e))``.
    """
    expected = np.asarray(expected_scores, dtype=np.float64)
    actual = np.asarray(actual_scores, dtype=np.float64)
    if expected.ndim != 1 or actual.ndim != 1 or expected.size == 0 or actual.size == 0:
        raise ValueError("psi takes two non-empty 1-D score arrays")
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    if np.isnan(expected).any() or np.isnan(actual).any():
        raise ValueError("psi scores hold NaN")
    inner = np.unique(np.quantile(expected, np.linspace(0.0, 1.0, bins + 1)[1:-1]))
    e = np.bincount(np.searchsorted(inner, expected, side="right"), minlength=inner.size + 1)
    a = np.bincount(np.searchsorted(inner, actual, side="right"), minlength=inner.size + 1)
    e_share = np.maximum(e / expected.size, PSI_EPSILON)
    a_share = np.maximum(a / actual.size, PSI_EPSILON)
    return float(np.sum((a_share - e_share) * np.log(a_share / e_share)))
