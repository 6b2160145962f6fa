"""The page reads in SQL (issue 17, pages under 1 s over 10,000 trades), on SQLite and
PostgreSQL, each equal to the Python computation over the same records: trades counted by
seller, buyer, scenario and status (``Trades.pairs``, GROUP BY), a page of trades with its total
(``Trades.page``: involving an organisation, between members, scenarios, statuses), the
verdicts of some trades, the holdings of many items in one read, the chain operations waiting of
one sender; and the supervision views' answers over those reads equal the same views with
the trades read and counted in Python."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections import Counter
from collections.abc import Sequence
from itertools import product
from typing import Any

from sqlalchemy import Engine

from fourflow.adapters.db import SqlUnitOfWorkFactory
from fourflow.adapters.db.scenario_platforms import SqlPlatformStore
from fourflow.domain.financing import FinancingStatus
from fourflow.domain.identity import OrgType
from fourflow.domain.parties import Role
from fourflow.domain.scenarios import Scenario
from fourflow.services import scenario_platforms as sp
from fourflow.services import supervision_views as views
from fourflow.services.ports import OpStatus, TradePair, TradeQuery, TradeRecord

from . import builders as b

SCENARIOS = (Scenario.MANUFACTURING, Scenario.AGRICULTURE, Scenario.MEDICAL)
STATUSES = ("unverified", "verified", "partial", "failed")
ORGS = 6


def _trades(uow: SqlUnitOfWorkFactory, n: int = 60) -> list[TradeRecord]:
    """``n`` trades between six organisations, over three scenarios and four statuses, drawn
    from a seeded generator (the combinations uneven, so a wrong grouping or filter shows)."""
    with uow() as u:
        for k in range(1, ORGS + 1):
            u.organisations.add(b.org(k, Role.SUPPLIER if k % 3 else Role.CORE_ENTERPRISE))
        made = []
        pick = random.Random(17)  # the same trades every run
        for k in range(n):
            seller, buyer = pick.sample(range(1, ORGS + 1), 2)
            status = pick.choice(STATUSES)
            made.append(
                dataclasses.replace(
                    b.trade(k, f"org-{seller}", f"org-{buyer}"),
                    scenario=pick.choice(SCENARIOS),
                    status=status,
                    score=None if status == "unverified" else 50 + k,
                    report_hash=None if status == "unverified" else f"{k:064x}",
                )
            )
        u.trades.add_many(made)
        u.commit()
    return made


def test_pairs_count_the_trades_as_python_does(uow_factory: SqlUnitOfWorkFactory) -> None:
    _trades(uow_factory)
    with uow_factory() as u:
        every = u.trades.verdicts()
        pairs = u.trades.pairs()
    counted = Counter((t.seller_id, t.buyer_id, t.scenario, t.status) for t in every)
    expected = sorted(
        (TradePair(*k, n) for k, n in counted.items()),
        key=lambda p: (p.seller_id, p.buyer_id, p.scenario.value, p.status),
    )
    assert pairs == expected
    assert sum(p.trades for p in pairs) == len(every) == 60
    assert len(pairs) > 10  # grouped, not one row per trade nor one in all


def test_a_page_of_trades_is_the_python_filter_newest_first(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    _trades(uow_factory)
    with uow_factory() as u:
        every = u.trades.verdicts()
        members = frozenset({"org-1", "org-2", "org-4"})
        queries = [
            TradeQuery(),
            TradeQuery(involving=frozenset({"org-3"})),
            TradeQuery(involving=frozenset({"org-3"}), statuses=frozenset({"failed"})),
            TradeQuery(between=members),
            TradeQuery(between=members, scenarios=frozenset({"agriculture", "medical"})),
            TradeQuery(between=frozenset()),  # an empty platform: nothing
            TradeQuery(statuses=frozenset({"verified", "partial"}), scenarios=frozenset()),
            TradeQuery(statuses=frozenset({"verified", "partial"})),
        ]
        pages = [(0, 7), (5, 7), (55, 20), (0, 200), (300, 5)]
        for asked, (offset, limit) in product(queries, pages):
            q = dataclasses.replace(asked, offset=offset, limit=limit)

            def wanted(t: TradeRecord, q: TradeQuery = q) -> bool:
                return (
                    (q.involving is None or bool({t.seller_id, t.buyer_id} & q.involving))
                    and (q.between is None or {t.seller_id, t.buyer_id} <= q.between)
                    and (q.scenarios is None or t.scenario.value in q.scenarios)
                    and (q.statuses is None or t.status in q.statuses)
                )

            chosen = [t for t in reversed(every) if wanted(t)]
            assert u.trades.page(q) == (len(chosen), chosen[offset : offset + limit]), q
        total, _ = u.trades.page(TradeQuery(involving=frozenset({"org-3"})))
        assert 0 < total < len(every)


def test_verdicts_of_some_trades(uow_factory: SqlUnitOfWorkFactory) -> None:
    made = _trades(uow_factory)
    with uow_factory() as u:
        every = u.trades.verdicts()
        ids = [made[k].id for k in (40, 3, 17, 3)] + ["trade-unknown"]
        assert u.trades.verdicts(ids) == [t for t in every if t.id in set(ids)]
        assert [t.id for t in u.trades.verdicts(ids)] == [made[k].id for k in (3, 17, 40)]
        assert u.trades.verdicts([]) == []
        assert all(t.report is None for t in every)


def test_holdings_of_many_items_in_one_read(uow_factory: SqlUnitOfWorkFactory) -> None:
    with uow_factory() as u:
        b.add_parties(u)
        for n in (1, 2, 3):
            u.trades.add(b.trade(n))
            u.items.add(b.item(n, f"trade-{n}"))
        u.items.add_holding(b.holding("h-1a", "item-1", "org-1", 100))
        u.items.add_holding(b.holding("h-2a", "item-2", "org-1", 200))
        u.items.add_holding(b.holding("h-1b", "item-1", "org-3", 50))
        u.commit()
    with uow_factory() as u:
        found = u.items.holdings_many(["item-1", "item-2", "item-3", "item-x"])
        assert found == {i: u.items.holdings(i) for i in ("item-1", "item-2")}
        assert [h.id for h in found["item-1"]] == ["h-1a", "h-1b"]  # creation order
        assert u.items.holdings_many([]) == {}


def test_the_operations_waiting_of_one_sender(uow_factory: SqlUnitOfWorkFactory) -> None:
    with uow_factory() as u:
        for n in range(8):
            op = b.op(f"op-{n}", subject=f"item-{n}")
            sender = "org-2" if n % 3 == 0 else "org-1"
            u.outbox.add(dataclasses.replace(op, sender_org_id=sender))
        u.commit()
    with uow_factory() as u:
        done = u.outbox.get("op-3")
        assert done is not None
        u.outbox.update(dataclasses.replace(done, status=OpStatus.DONE))
        u.commit()
    with uow_factory() as u:
        every = u.outbox.pending(100)
        for sender, limit in product(("org-1", "org-2", "org-9"), (1, 2, 100)):
            mine = [o for o in every if o.sender_org_id == sender][:limit]
            assert u.outbox.pending(limit, sender_org_id=sender) == mine
        assert [o.op_id for o in u.outbox.pending(100, sender_org_id="org-2")] == ["op-0", "op-6"]


# ----------------------------------------------------------------------------- the views


class _PythonTrades:
    """The trade reads the supervision views use, computed in Python over every trade's
    verdict (as the views did before ``pairs`` and ``page``); the rest from the store."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def verdicts(self, trade_ids: Sequence[str] | None = None) -> list[TradeRecord]:
        every: list[TradeRecord] = self._inner.verdicts()
        return every if trade_ids is None else [t for t in every if t.id in set(trade_ids)]

    def pairs(self) -> list[TradePair]:
        counted = Counter((t.seller_id, t.buyer_id, t.scenario, t.status) for t in self.verdicts())
        return [TradePair(*k, n) for k, n in counted.items()]  # in no particular order

    def page(self, q: TradeQuery) -> tuple[int, list[TradeRecord]]:
        chosen = [
            t for t in reversed(self.verdicts())
            if (q.between is None or {t.seller_id, t.buyer_id} <= q.between)
            and (q.scenarios is None or t.scenario.value in q.scenarios)
            and (q.statuses is None or t.status in q.statuses)
        ]  # fmt: skip
        return len(chosen), chosen[q.offset : q.offset + q.limit]


class _PythonUnitOfWork:
    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __enter__(self) -> _PythonUnitOfWork:
        self._inner.__enter__()
        self.trades = _PythonTrades(self._inner.trades)  # the repositories exist once entered
        return self

    def __exit__(self, *exc: object) -> Any:
        return self._inner.__exit__(*exc)


def _world(uow: SqlUnitOfWorkFactory, engine: Engine) -> tuple[SqlPlatformStore, str]:
    """Trades between two core enterprises and three suppliers (``_trades``' way), items on a
    third of them (some overdue), financings by the bank in every status, and a scenario
    platform of four of them in two scenarios with the bank. (The store, the platform's id.)"""
    pick = random.Random(1717)
    roles = {1: Role.SUPPLIER, 2: Role.CORE_ENTERPRISE, 3: Role.BANK, 4: Role.SUPPLIER,
             5: Role.SUPPLIER, 6: Role.CORE_ENTERPRISE, 7: Role.LOCAL_GOVERNMENT,
             8: Role.REGULATOR}  # fmt: skip
    traders = [1, 2, 4, 5, 6]
    statuses = list(FinancingStatus)
    with uow() as u:
        for k, role in roles.items():
            u.organisations.add(b.org(k, role))
        trades = []
        for k in range(90):
            seller, buyer = pick.sample(traders, 2)
            status = pick.choice(STATUSES)
            trades.append(
                dataclasses.replace(
                    b.trade(k, f"org-{seller}", f"org-{buyer}"),
                    scenario=pick.choice(SCENARIOS), status=status,
                    score=None if status == "unverified" else k,
                )
            )  # fmt: skip
        u.trades.add_many(trades)
        for n, trade in enumerate(pick.sample(trades, 30)):
            issued = b.DAY - dt.timedelta(days=pick.randrange(0, 400))
            item = dataclasses.replace(
                b.item(n, trade.id, debtor=trade.buyer_id, creditor=trade.seller_id),
                issue_date=issued, maturity_date=issued + dt.timedelta(days=pick.randrange(20, 400)),
            )  # fmt: skip
            u.items.add(item)
            u.items.add_holding(b.holding(f"h-{n}", item.id, trade.seller_id, item.face_value))
            if n < 20:
                fin = b.financing(f"fin-{n}", item.id, f"h-{n}", statuses[n % len(statuses)])
                u.financings.add(dataclasses.replace(fin, borrower_id=trade.seller_id,
                                                     rate_bps=300 + 10 * n))  # fmt: skip
        u.commit()
    store = SqlPlatformStore(engine)
    at = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    platform = sp.ScenarioPlatform("plt-1", "姑苏区平台", "org-7",
                                   (Scenario.MANUFACTURING, Scenario.AGRICULTURE), "", "op", at)  # fmt: skip
    store.add(platform)
    for k in (1, 2, 4, 6):
        store.add_member(sp.PlatformMember(platform.id, f"org-{k}", {}, "org-7", at))
    store.add_bank(sp.PlatformBank(platform.id, "org-3", "org-7", at))
    return store, platform.id


def test_the_views_answer_as_with_every_trade_read_in_python(
    uow_factory: SqlUnitOfWorkFactory, store_engine: Engine
) -> None:
    """Figures, network and every drill-down (each figure and key, three pages) with the trades
    counted and paged in SQL equal the same views with those reads done in Python."""
    store, platform_id = _world(uow_factory, store_engine)

    def sql() -> Any:
        return uow_factory()

    def python() -> Any:
        return _PythonUnitOfWork(uow_factory())

    regulator = sp.Viewer("org-8", frozenset({OrgType.REGULATOR}))
    district = sp.Viewer("org-7", frozenset({OrgType.LOCAL_GOVERNMENT}))
    as_of = b.DAY
    scopes = [(regulator, None, None), (regulator, None, "agriculture"),
              (district, platform_id, None), (district, platform_id, "manufacturing")]  # fmt: skip
    answers = 0
    for viewer, pid, scenario in scopes:
        c: dict[str, Any] = {"viewer": viewer, "platform_id": pid, "scenario": scenario}
        found = views.figures(store, sql, as_of=as_of, **c)
        assert found == views.figures(store, python, as_of=as_of, **c)
        assert views.network(store, sql, **c) == views.network(store, python, **c)
        every = found["all"]
        assert every["trades"] > every["verified"] > 0 and every["items"]["count"] > 0
        asks: list[tuple[str, str | None]] = [
            (f, None) for f in views.FIGURES if f not in ("term", "tier", "core", "bank")
        ]
        asks += [("term", k) for k in every["term_distribution"]]
        asks += [("tier", "none" if r["tier"] is None else str(r["tier"]))
                 for r in every["smes_financed_by_tier"]]  # fmt: skip
        asks += [(k, r["org_id"]) for k in ("core", "bank") for r in every["concentration"][k]]
        for figure, key in asks:
            for offset, limit in ((0, 5), (5, 5), (0, 200)):
                ask: dict[str, Any] = {
                    "figure": figure,
                    "key": key,
                    "offset": offset,
                    "limit": limit,
                }
                mine = views.trades(store, sql, as_of=as_of, **ask, **c)
                assert mine == views.trades(store, python, as_of=as_of, **ask, **c), ask
                answers += 1
    assert answers > 150
