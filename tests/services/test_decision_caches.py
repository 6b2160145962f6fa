"""What a financing decision keeps in its process, and when it must not: trades with their
decoded documents (read again when the trade's documents change), and a scorer's answers by
feature vector (only of that scorer object)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from fourflow.risk.review import Scored
from fourflow.services import fraud
from fourflow.services.credit import review
from tests.services.conftest import World


def test_trades_are_decoded_once_and_again_when_their_documents_change(world: World) -> None:
    trade_id = world.trade()
    today = world.clock.today()
    with world.uow() as uow:
        first = fraud.load_view(uow, as_of=today)
        again = fraud.load_view(uow, as_of=today)
    (trade,) = [t for t in first.trades if t.id == trade_id]
    (kept,) = [t for t in again.trades if t.id == trade_id]
    assert kept is trade and len(trade.documents) >= 2  # the same decoded trade
    assert fraud.scan_once(again) is fraud.scan_once(first)
    with world.uow() as uow:
        record = uow.trades.get(trade_id)
        assert record is not None
        uow.trades.update(dataclasses.replace(record, document_ids=record.document_ids[:-1]))
        uow.commit()
    with world.uow() as uow:
        changed = fraud.load_view(uow, as_of=today)
    (now,) = [t for t in changed.trades if t.id == trade_id]
    assert [d.id for d in now.documents] == list(record.document_ids[:-1])
    assert changed != first


class _Counting:
    """A scorer answering a fixed PD and counting the vectors it scored."""

    def __init__(self, version: str, pd: float) -> None:
        self.version, self.pd, self.scored = version, pd, 0

    def score(self, features: Mapping[str, float | str]) -> Scored:
        self.scored += 1
        return Scored(self.pd, (), None, self.version)


def test_a_scorer_answers_a_vector_once_and_another_scorer_afresh() -> None:
    memo = review._ScoreMemo(size=2)
    one, other = _Counting("m-1", 0.05), _Counting("m-2", 0.2)
    vector: dict[str, float | str] = {"rel_age_days": 4.0, "industry": "C36"}
    first = memo.score(one, vector)
    assert memo.score(one, dict(vector)) is first and one.scored == 1
    assert memo.score(one, {**vector, "rel_age_days": 5.0}).pd == 0.05 and one.scored == 2
    assert memo.score(other, vector).pd == 0.2 and other.scored == 1  # another model
    assert memo.score(one, vector) is not first and one.scored == 3  # started afresh
    for days in (6.0, 7.0, 8.0):  # bounded: the oldest answers go
        memo.score(one, {**vector, "rel_age_days": days})
    memo.score(one, vector)
    assert one.scored == 7
