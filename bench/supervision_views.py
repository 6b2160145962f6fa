"""The supervision answers in-process on a built PostgreSQL store (issue 17): each request
timed (wall and CPU) through ``services.supervision_views`` as the API calls it, once with the
store's unit-of-work factory (answers kept per store state) and once with a factory without
a change mark (every request computes afresh, as before the cache). Read-only.

    .venv/bin/python -m bench.supervision_views postgresql+psycopg://postgres@127.0.0.1:5432/DB

prints one JSON line per (mode, request): the first request, the median and the largest of
``REPEAT``, and the median CPU time. A write anywhere in the PostgreSQL cluster (other
databases too) changes the mark, so on a shared server some kept requests compute again.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from fourflow.adapters.db.engine import make_engine
from fourflow.adapters.db.scenario_platforms import SqlPlatformStore
from fourflow.adapters.db.uow import SqlUnitOfWork, SqlUnitOfWorkFactory
from fourflow.domain.identity import OrgType, org_types
from fourflow.services import scenario_platforms as sp
from fourflow.services import supervision_views as views

REPEAT = 20
PAGES = [("trades", None), ("financed", None), ("overdue", None), ("term", "<=90")]


def _timed(what: str, mode: str, run: Callable[[], Any]) -> str:
    wall, cpu = [], []
    for _ in range(REPEAT):
        w, c = time.perf_counter(), time.process_time()
        run()
        wall.append((time.perf_counter() - w) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return json.dumps({
        "name": f"supervision_views.{what}", "mode": mode, "n": REPEAT,
        "first_ms": round(wall[0], 1), "median_ms": round(statistics.median(wall), 1),
        "max_ms": round(max(wall), 1), "median_cpu_ms": round(statistics.median(cpu), 1),
    })  # fmt: skip


def main(url: str) -> None:
    engine = make_engine(url)
    kept = SqlUnitOfWorkFactory(engine)
    store = SqlPlatformStore(engine)

    def fresh() -> SqlUnitOfWork:
        return kept()

    with kept() as uow:
        orgs = uow.organisations.list()
        trades = len(uow.trades.verdicts())
    regulator = next(o for o in orgs if OrgType.REGULATOR in org_types(o.roles))
    viewer = sp.Viewer(regulator.id, frozenset({OrgType.REGULATOR}))
    as_of = dt.date.today()
    print(json.dumps({"name": "supervision_views.store", "trades": trades}))
    common: dict[str, Any] = {"viewer": viewer, "platform_id": None, "scenario": None}
    for mode, factory in (("fresh", fresh), ("kept", kept)):
        views.clear_cache()
        run = partial(views.figures, store, factory, as_of=as_of, **common)
        print(_timed("figures", mode, run))
        for figure, key in PAGES:
            page = partial(
                views.trades, store, factory, figure=figure, key=key, offset=0, limit=20,
                as_of=as_of, **common,
            )  # fmt: skip
            print(_timed(f"trades.{figure}", mode, page))
        print(_timed("network", mode, partial(views.network, store, factory, **common)))
    print(_timed("change_mark", "kept", kept.change_mark))


if __name__ == "__main__":
    main(sys.argv[1])
