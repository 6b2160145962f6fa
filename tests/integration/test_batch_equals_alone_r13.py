"""A batch of financing decisions scores its requests' feature vectors in one call of the
model (985cf51, ``credit.score_reviews``) and reads its first reads in one statement on
PostgreSQL (5e64fbd, ``decision_reads``): each request of a batch must still be decided exactly
as it is decided alone, with the real store and the real champion (SQLite and PostgreSQL; 13th
session's review, R13): the same outcome, reasons (codes and texts), PD bit for bit, points,
expected loss, value and principal. The scorer's memo is emptied before each run, so that the
requests decided alone are scored alone by the model, not answered from what the batch kept.
The bank's limits are wide: a batch decides each request against the exposure the requests
before it left, which one decided alone does not see."""

from __future__ import annotations

import dataclasses

import pytest

from fourflow.bootstrap import Platform
from fourflow.domain.financing import Decision, Financing
from fourflow.services import financing
from fourflow.services.credit import review
from tests.integration.test_decision_running_state import _decide
from tests.integration.test_lifecycle import _story
from tests.integration.test_races import ASK, _parts

pytestmark = pytest.mark.chain

REQUESTS = 5


def _decided(
    p: Platform, requests: list[financing.FinanceRequest], monkeypatch: pytest.MonkeyPatch
) -> list[Decision]:
    """``requests`` decided in one batch, rolled back (nothing committed), scored afresh."""
    monkeypatch.setattr(review, "_SCORES", review._ScoreMemo())
    with p.uow_factory() as uow:
        running = financing._Running.of(uow)
        scorer = running.champion(uow)
        assert scorer is not None
        answers = financing._finance_many(
            uow, scorer=scorer, requests=requests, present=True, clock=p.clock, running=running
        )
    out = []
    for answer in answers:
        assert isinstance(answer, financing.FinancingRow), answer
        assert isinstance(answer.financing, Financing), answer.financing
        assert answer.financing.decision is not None
        out.append(answer.financing.decision)
    return out


def test_each_request_of_a_batch_is_decided_as_alone(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = _story(platform)
    parts = [h.id for h in _parts(s, REQUESTS + 1)]
    bank = s.org["bank"].id
    financing.set_product_policy(
        uow_factory=platform.uow_factory, bank=bank,
        fields={"refer_pd": 0.9, "max_pd": 1.0, "limit_per_borrower": 100 * REQUESTS * ASK},
    )  # fmt: skip
    _decide(platform, s, parts[-1])  # the champion learnt and registered (committed)
    asks = [ASK - k * 1_234_56 for k in range(REQUESTS)]  # a feature vector each (log_amount)
    requests = [
        financing.FinanceRequest(
            target=holding_id,
            bank=bank,
            amount=f"{ask // 100}.{ask % 100:02d}",
            as_of=s.item.issue_date,
            holder=s.org["tier1"].id,
            own_holding_of=s.org["tier1"].id,
        )
        for holding_id, ask in zip(parts, asks, strict=False)
    ]
    together = _decided(platform, requests, monkeypatch)
    alone = [_decided(platform, [r], monkeypatch)[0] for r in requests]
    # the requests differ (their amounts: expected losses, principals, reasons' texts)
    assert len({d.expected_loss for d in alone}) == REQUESTS, alone
    for batch, one in zip(together, alone, strict=True):
        # the input hash names the request's own (new) financing id: left out
        assert dataclasses.replace(batch, input_hash=None) == dataclasses.replace(
            one, input_hash=None
        )
        assert batch.pd is not None and one.pd is not None
        assert batch.pd.hex() == one.pd.hex()
        assert [r.code for r in batch.reasons] == [r.code for r in one.reasons]
