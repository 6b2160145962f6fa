"""The page reads in SQL (issue 17, pages under 1 s over 10,000 trades), on SQLite and
PostgreSQL, each equal to the Python computation over the same records: trades counted by
seller, buyer, scenario and status (``Trades.pairs``, GROUP BY), a page of trades with its total
(``Trades.page``: involving an organisation, between members, scenarios, statuses), the
verdicts of some trades, the holdings of many items in one read, the chain operations waiting of
one sender."""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from itertools import product

from fourflow.adapters.db import SqlUnitOfWorkFactory
from fourflow.domain.parties import Role
from fourflow.domain.scenarios import Scenario
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
