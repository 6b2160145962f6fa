"""Metrics against values computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fourflow.risk.metrics import PSI_EPSILON, auc, brier, ks, psi

Y = np.array([0, 0, 1, 1])
P = np.array([0.1, 0.4, 0.35, 0.8])


def test_auc_counts_the_ordered_pairs() -> None:
    # bad 0.35 beats good 0.1 but not 0.4; bad 0.8 beats both: 3 of 4 pairs
    assert auc(Y, P) == pytest.approx(0.75)
    assert auc(Y, 1 - P) == pytest.approx(0.25)
    assert auc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == pytest.approx(0.5)  # ties count one half


def test_ks_is_the_largest_gap_between_the_rates() -> None:
    # threshold 0.8: TPR 1/2, FPR 0; threshold 0.35: TPR 1, FPR 1/2
    assert ks(Y, P) == pytest.approx(0.5)
    assert ks([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4]) == pytest.approx(1.0)


def test_brier_is_the_mean_squared_error() -> None:
    assert brier(Y, P) == pytest.approx((0.01 + 0.16 + 0.4225 + 0.04) / 4)
    assert brier([0, 1], [0.0, 1.0]) == 0.0


def test_psi_on_quantile_bins_of_the_expected_scores() -> None:
    expected = np.arange(10.0)  # two bins split at the median 4.5: shares 1/2, 1/2
    assert psi(expected, expected, bins=2) == pytest.approx(0.0)
    actual = np.array([0.0, 1.0, 2.0, 9.0])  # shares 3/4, 1/4
    want = 0.25 * math.log(1.5) + (-0.25) * math.log(0.5)
    assert psi(expected, actual, bins=2) == pytest.approx(want)
    assert psi(expected, actual, bins=2) == pytest.approx(0.274653, abs=1e-6)


def test_psi_floors_empty_bins() -> None:
    expected = np.arange(10.0)
    actual = np.zeros(5)  # every actual score in the first bin, none in the second
    want = (1 - 0.5) * math.log(1 / 0.5) + (PSI_EPSILON - 0.5) * math.log(PSI_EPSILON / 0.5)
    assert psi(expected, actual, bins=2) == pytest.approx(want)
    assert math.isfinite(psi(expected, actual))


def test_psi_merges_duplicate_edges() -> None:
    expected = np.array([1.0] * 50 + [2.0] * 50)
    assert psi(expected, expected, bins=10) == pytest.approx(0.0)
    assert psi(expected, np.full(10, 2.0), bins=10) > 1.0


@pytest.mark.parametrize("metric", [auc, ks])
def test_one_class_is_refused(metric: object) -> None:
    with pytest.raises(ValueError, match="both classes"):
        metric([1, 1], [0.2, 0.3])  # type: ignore[operator]


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="same length"):
        auc([0, 1], [0.1])
    with pytest.raises(ValueError, match="0 \\(good\\) and 1"):
        brier([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="NaN"):
        ks([0, 1], [0.1, float("nan")])
