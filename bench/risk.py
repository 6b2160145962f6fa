"""Risk-engine benchmarks: batch scoring and single-decision latency.

``bench_risk(line)`` yields JSON figures made by ``line(name, value, unit, **context)``.
Models are trained on the cold-start history (a simulated platform of 3,000 trades), then:

* batch scoring: the champion scorecard and the LightGBM challenger score 1,000,000 feature
  rows (the training rows repeated) — rows per second, best of three;
* single decision: a SQLite platform built from the same simulated history (trades stored
  directly, no document parsing), with debt items on open trades; each decision is
  ``credit.review_request`` inside a unit of work (point-in-time features from the store,
  champion score and explanation, policy, limits over the bank's exposure, input hash) —
  p50/p99 over 300 decisions.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from fourflow.bootstrap import simulated_history
from fourflow.risk import learning
from fourflow.risk.features import History, training_rows

Line = Callable[..., str]


def _models() -> tuple[list[learning.Trained], list[dict[str, float | str]]]:
    facts = simulated_history(seed=4242, trades=3_000)
    rows = training_rows(History.of(facts), max(f.issue_date for f in facts))
    return learning.train(rows, kinds=["scorecard", "lightgbm"], seed=0), [r.features for r in rows]


def _batch(trained: learning.Trained, rows: list[dict[str, float | str]], n: int) -> float:
    one = learning.model_frame(trained.model, rows)
    frame = pd.concat([one] * (n // len(one) + 1), ignore_index=True).iloc[:n]
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        pds = trained.model.predict_pd(frame)
        best = min(best, time.perf_counter() - start)
    assert len(pds) == n and np.isfinite(pds).all()
    return n / best


def bench_risk(line: Line) -> Iterator[str]:
    """Batch scoring throughput per model kind, then single-decision latency."""
    trained, rows = _models()
    n = 1_000_000
    for t in trained:
        yield line(f"risk.batch_rows_per_s.{t.kind}", round(_batch(t, rows, n)), "rows/s",
                   rows=n, features=len(t.model.specs))  # fmt: skip
    yield from _decisions(line, trained[0])


def _decisions(line: Line, champion: learning.Trained) -> Iterator[str]:
    from bench.risk_platform import decision_platform  # noqa: PLC0415
    from fourflow.services import credit  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as tmp:
        uow_factory, holdings, bank, day = decision_platform(Path(tmp), champion)
        scorer = credit.champion_scorer(
            uow_factory=uow_factory, as_of=day, cold_start=simulated_history
        )

        def decide(i: int) -> float:
            holding = holdings[i % len(holdings)]
            start = time.perf_counter()
            with uow_factory() as uow:
                decision = credit.review_request(
                    uow=uow, scorer=scorer, request_id=f"bench-{i}", holding=holding,
                    bank_id=bank, amount=holding.outstanding // 2, as_of=day,
                )  # fmt: skip
            assert decision.input_hash
            return time.perf_counter() - start

        # First decision on each holding: its parties' trades are read and decoded (cold);
        # then 300 more, as on a running platform (their invoice facts are cached).
        cold = sorted(decide(i) for i in range(len(holdings)))
        warm = sorted(decide(i) for i in range(300))
        for label, times in (("cold", cold), ("warm", warm)):
            p99 = times[max(0, int(len(times) * 0.99) - 1)] * 1000
            yield line(f"risk.decision_ms.{label}.p50", round(statistics.median(times) * 1000, 2),
                       "ms", decisions=len(times), holdings=len(holdings))  # fmt: skip
            yield line(f"risk.decision_ms.{label}.p99", round(p99, 2), "ms",
                       decisions=len(times), target="< 20")  # fmt: skip
