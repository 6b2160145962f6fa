"""The decisions' change marks (migration 0029) where nobody decides: every write to a watched
table adds a row; the worker's pass folds them past ``CHANGES_FOLD`` (a platform that only
ingests would otherwise grow the table without bound), keeping each group's sum, which every
API process compares, on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Engine, text

from fourflow.adapters.db import SqlUnitOfWorkFactory
from fourflow.adapters.db.uow import CHANGES_FOLD
from fourflow.services.worker import fold_change_marks

from . import builders as b


def _rows(engine: Engine) -> tuple[int, dict[str, int]]:
    with engine.connect() as c:
        sums = c.execute(text("SELECT grp, sum(weight) FROM decision_changes GROUP BY grp"))
        count = c.execute(text("SELECT count(*) FROM decision_changes")).scalar_one()
        return int(count), {str(g): int(w) for g, w in sums}


def test_the_worker_folds_the_marks_of_writes_nobody_decided_on(
    uow_factory: SqlUnitOfWorkFactory, store_engine: Engine
) -> None:
    with uow_factory() as u:
        b.add_parties(u)
        u.commit()
    for n in range(CHANGES_FOLD + 20):  # one trade a transaction, as ingest links them
        with uow_factory() as u:
            u.trades.add(b.trade(n + 1))
            u.commit()
    count, sums = _rows(store_engine)
    assert count > CHANGES_FOLD
    fold_change_marks(uow_factory)
    folded, kept = _rows(store_engine)
    assert folded == len(sums) <= 4  # one row a group
    assert kept == sums  # the marks the API processes compare did not move
    fold_change_marks(uow_factory)  # under the limit: nothing to do
    assert _rows(store_engine) == (folded, kept)
