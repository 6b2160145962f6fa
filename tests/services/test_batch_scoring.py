"""A batch of decisions scores its requests' feature vectors in ONE call of the model
(``credit.score_reviews``, ``_ScoreMemo.score_many``) and decides each exactly as it is
decided alone: same PD, explanation (reason codes) and outcome, on different trades, holders,
debtors and amounts (on the fakes; tests/integration has the batches on SQLite and
PostgreSQL)."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from fourflow.domain.financing import Financing
from fourflow.risk import learning
from fourflow.risk.models import LogisticModel
from fourflow.risk.review import ProductPolicy, Scored
from fourflow.services import credit, financing, items
from fourflow.services.credit import review
from fourflow.services.ports import ModelRecord
from tests.services.conftest import TODAY, World, no_cold_start

#: The stated champion's log-odds per unit of each feature (standardised as stated).
COEFS = {"log_amount": 0.8, "tenor_days": 0.02, "debtor_dispute_rate": 3.0, "rel_invoices": -0.3}


def _champion() -> ModelRecord:
    """A logistic champion over several features, so that different requests get different
    PDs and explanations (the services' usual champion reads one feature)."""
    specs = tuple(s for s in learning.feature_specs() if s.name in COEFS)
    scale = {"low": -1e9, "high": 1e9, "median": 0.0, "std": 1.0}
    model = LogisticModel(
        specs=specs,
        numeric={
            s.name: {
                **scale,
                "mean": 10.0 if s.name == "log_amount" else 0.0,
                "coef": COEFS[s.name],
            }
            for s in specs
        },
        categorical={},
        intercept=math.log(0.02 / 0.98),
        average={s.name: 0.0 for s in specs},
    )
    return ModelRecord(
        id="logistic-4", kind="logistic", role="champion", as_of=TODAY, training_rows=0,
        data_hash="0" * 64, metrics={"reference_pd": [], "source": "stated"},
        artifact=json.dumps(model.to_json()), note="batch scoring tests: stated coefficients",
    )  # fmt: skip


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A fresh score memo (nothing scored before), and the model's calls counted: the
    vectors of each call of ``ModelScorer.score_many``."""
    monkeypatch.setattr(review, "_SCORES", review._ScoreMemo())
    calls: list[int] = []
    real = learning.ModelScorer.score_many

    def score_many(
        scorer: learning.ModelScorer, rows: Sequence[Mapping[str, float | str]]
    ) -> list[Scored]:
        calls.append(len(rows))
        return real(scorer, rows)

    monkeypatch.setattr(learning.ModelScorer, "score_many", score_many)
    return calls


def _holdings(world: World) -> list[tuple[str, str]]:
    """(holder, holding) of different trades, holders, debtors and amounts: 3 items of
    different pairs, each split into parts of different amounts."""
    out = []
    for k, (seller, buyer) in enumerate((("tier1", "core"), ("tier2", "tier1"), ("tier2", "core"))):
        item = world.item(seller=seller, buyer=buyer)
        (root,) = world.holdings(item.id)
        for j in range(3):
            part = items.split(
                uow_factory=world.uow, holding_id=root.id, amount=root.amount * (5 + j + 3 * k) // 40,
                actor_id=world.id(seller),
            )  # fmt: skip
            out.append((seller, part.id))
    assert not world.relay().failed
    return out


def _ask(world: World, holder: str, holding_id: str) -> financing.FinanceRequest:
    return financing.FinanceRequest(
        target=holding_id, bank=world.id("bank"), amount="1000.00", as_of=world.clock.today(),
        holder=world.id(holder), own_holding_of=world.id(holder),
    )  # fmt: skip


def _decided(row: financing.FinancingRow) -> tuple[Any, ...]:
    """What must not differ between a batch and one by one (ids and input hashes do)."""
    fin = row.financing
    assert isinstance(fin, Financing) and fin.decision is not None, fin
    decision = dataclasses.replace(fin.decision, input_hash=None)
    return (fin.holding_id, fin.status, fin.principal, fin.rate_bps, decision)


def test_a_batch_scores_once_and_decides_each_request_as_alone(
    world: World, counted: list[int]
) -> None:
    with world.uow() as uow:
        uow.risk_models.add(_champion())
        uow.commit()
    credit.set_policy(
        uow_factory=world.uow,
        policy=ProductPolicy(bank_id=world.id("bank"), refer_pd=0.9, max_pd=1.0),
    )
    asked = [_ask(world, holder, h) for holder, h in _holdings(world)]
    before = world.uow.committed.copy()
    alone = [
        financing.finance(
            uow_factory=world.uow, target=a.target, bank=a.bank, amount=a.amount,
            as_of=a.as_of, cold_start=no_cold_start, holder=a.holder, ledger=world.ledger,
            own_holding_of=a.own_holding_of,
        )
        for a in sorted(asked, key=lambda a: a.target)
    ]  # fmt: skip
    assert counted == [1] * len(asked)  # alone: one vector a call
    world.uow.committed = before
    review._SCORES = review._ScoreMemo()  # nothing kept: the batch scores every vector
    counted.clear()
    batch = financing.finance_many(
        uow_factory=world.uow, requests=asked, cold_start=no_cold_start, ledger=world.ledger
    )
    assert counted == [len(asked)]  # ONE call of the model for the batch's 9 vectors
    rows = [r for r in batch if isinstance(r, financing.FinancingRow)]
    assert len(rows) == len(asked), batch
    by_holding = {_decided(r)[0]: _decided(r) for r in rows}
    assert [by_holding[_decided(r)[0]] for r in alone] == [_decided(r) for r in alone]
    decisions = [_decided(r)[4] for r in alone]
    assert len({d.pd for d in decisions}) == len(asked)  # every request scored differently
    assert all(d.reasons for d in decisions)  # their reason codes compared above, code by code


class _Batch:
    """A scorer answering a PD per vector that scores many at once, counting its calls."""

    version = "m-1"

    def __init__(self) -> None:
        self.calls: list[list[float]] = []

    def score(self, features: Mapping[str, float | str]) -> Scored:
        return self.score_many([features])[0]

    def score_many(self, rows: Sequence[Mapping[str, float | str]]) -> list[Scored]:
        self.calls.append([float(r["x"]) for r in rows])
        return [Scored(float(r["x"]) / 100, (), None, self.version) for r in rows]


class _OneByOne:
    """A scorer that scores one vector at a time, counting them."""

    version = "m-2"

    def __init__(self) -> None:
        self.scored = 0

    def score(self, features: Mapping[str, float | str]) -> Scored:
        self.scored += 1
        return Scored(float(features["x"]) / 100, (), None, self.version)


def test_the_memo_scores_the_unknown_distinct_vectors_in_one_call() -> None:
    memo = review._ScoreMemo(size=8)
    scorer = _Batch()
    memo.score(scorer, {"x": 1.0})
    got = memo.score_many(scorer, [{"x": v} for v in (1.0, 2.0, 3.0, 2.0, 4.0)])
    assert [s.pd for s in got] == [0.01, 0.02, 0.03, 0.02, 0.04]
    assert scorer.calls == [[1.0], [2.0, 3.0, 4.0]]  # the kept one not again, a repeat once
    assert memo.score_many(scorer, [{"x": 4.0}, {"x": 3.0}]) == [got[4], got[2]]
    assert len(scorer.calls) == 2  # all kept: the model not called
    assert memo.score_many(scorer, []) == []
    plain = _OneByOne()  # another scorer: afresh, one vector at a time
    assert [s.pd for s in memo.score_many(plain, [{"x": 5.0}, {"x": 6.0}, {"x": 5.0}])] == [
        0.05, 0.06, 0.05,
    ]  # fmt: skip
    assert plain.scored == 2
