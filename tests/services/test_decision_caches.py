"""What a financing decision keeps in its process, and when it must not: trades with their
decoded documents (read again when the trade's documents change), and a scorer's answers by
feature vector (only of that scorer object)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from fourflow.risk.review import Scored
from fourflow.services import fraud
from fourflow.services.credit import review
from fourflow.services.financing import _Running, _RunningStore
from fourflow.services.onboarding import OPERATOR_ORG_KEY
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


class _Settings:
    """Settings read by a batch, counted."""

    def __init__(self, values: dict[str, str]) -> None:
        self.values, self.reads = values, 0

    def get(self, key: str) -> str | None:
        self.reads += 1
        return self.values.get(key)


class _Uow:
    def __init__(self, settings: _Settings) -> None:
        self.settings = settings


def test_the_platforms_constants_are_kept_once_a_batch_that_read_them_commits() -> None:
    """The operator's organisation and the consortium's salt, written once and never changed,
    are kept between batches, but only once the batch that read them has committed (one that
    rolled back may have written them itself); other settings are read every time."""
    store = _RunningStore()
    inner = _Settings({OPERATOR_ORG_KEY: "org-op", fraud.SALT_SETTING: "ab" * 32, "other": "x"})
    uow: Any = _Uow(inner)

    rolled_back = _Running(store, {})
    assert rolled_back.settings(uow).get(OPERATOR_ORG_KEY) == "org-op"  # type: ignore[attr-defined]
    # no commit: nothing kept
    first = _Running(store, {})
    kept: Any = first.settings(uow)
    assert kept.get(OPERATOR_ORG_KEY) == "org-op" and kept.get(fraud.SALT_SETTING) == "ab" * 32
    assert kept.get("other") == "x" and inner.reads == 4
    first.committed()
    later: Any = _Running(store, {}).settings(uow)
    assert later.get(OPERATOR_ORG_KEY) == "org-op" and later.get(fraud.SALT_SETTING) == "ab" * 32
    assert inner.reads == 4  # kept: not read again
    assert later.get("other") == "x" and inner.reads == 5  # not a constant: read every time
    assert _Running(None, None).settings(uow) is inner  # a store without marks keeps nothing
