"""A scorecard's one-row assessment (its points computed once, as the credit robot scores a
request) gives what ``predict_pd`` and ``score_points`` give, and explains by the points each
characteristic lost against its training average, riskiest first."""

from __future__ import annotations

import numpy as np

from fourflow.risk.models import ScorecardModel, fit_scorecard
from tests.risk.test_models import SPECS, synthetic


def test_assess_equals_predict_points_and_ranks_points_lost() -> None:
    frame, y = synthetic(n=1500, seed=11)
    model: ScorecardModel = fit_scorecard(frame, y, SPECS, seed=2)
    rows = frame.sample(25, random_state=5).reset_index(drop=True)
    rows.iloc[0, 0] = np.nan  # a missing value scores its "missing" points
    for i in range(len(rows)):
        one = rows.iloc[[i]].reset_index(drop=True)
        pd_, points, factors = model.assess(one, top=3)
        assert pd_ == float(model.predict_pd(one)[0])
        assert points == float(model.score_points(one)[0])
        lost = {
            name: model.average[name] - float(table_points[0])
            for name, table_points in model._points(one).items()
        }
        expected = sorted(lost, key=lambda n: (-lost[n], n))[:3]
        assert [f.feature for f in factors] == expected
        assert [f.contribution for f in factors] == [lost[n] for n in expected]
