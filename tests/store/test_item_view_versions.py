"""The item view's version (migration 0023's triggers, statement triggers on PostgreSQL since
0030, ``adapters.db.item_views``) on SQLite
and PostgreSQL: every committed change of what the view shows grows it, a change of another
item or an uncommitted one does not, and the triggers are all there at the head revision (a
later migration rebuilding one of the tables without them fails here)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from fourflow.adapters.db import SqlUnitOfWorkFactory
from fourflow.adapters.db.item_views import SqlItemViewVersions
from fourflow.domain.facts import CancelApproval, DisputeAction, DisputeEvent
from fourflow.domain.financing import FinancingStatus
from fourflow.domain.parties import Role
from fourflow.services.ports import OpStatus, UnitOfWork

from . import builders as b


@pytest.fixture
def versions(store_engine: Engine) -> Iterator[SqlItemViewVersions]:
    found = SqlItemViewVersions(store_engine)
    yield found
    found.close()


def test_every_change_of_the_view_grows_its_version(
    uow_factory: SqlUnitOfWorkFactory, store_engine: Engine, versions: SqlItemViewVersions
) -> None:
    uow = uow_factory
    with uow() as u:
        b.add_parties(u)
        u.trades.add(b.trade(1))
        u.trades.add(b.trade(2))
        u.commit()

    def version() -> int | None:
        found = versions.version("item-1")
        if versions.asynchronous:  # on an event loop (a new one each time), the same
            assert asyncio.run(versions.aversion("item-1")) == found
        return found

    mark = b.Mark(version, grows=True)  # not None: the triggers are all there

    def to_org_2(u: UnitOfWork) -> None:
        holding = u.items.get_holding("h-1")
        assert holding is not None
        u.items.update_holding(dataclasses.replace(holding, holder_id="org-2"))

    def op_done(u: UnitOfWork) -> None:
        op = u.outbox.get("op-item")
        assert op is not None
        u.outbox.update(dataclasses.replace(op, status=OpStatus.DONE))

    mark.after(uow, lambda u: u.items.add(b.item(1, "trade-1")), moves=True)
    mark.after(  # another item
        uow,
        lambda u: u.items.add(b.item(2, "trade-2")),
        lambda u: u.items.add_holding(b.holding("h-2", "item-2", "org-1", 10)),
        moves=False,
    )
    first = b.holding("h-1", "item-1", "org-1", 1_000_000)
    mark.after(uow, lambda u: u.items.add_holding(first), moves=True)
    with uow() as u:  # not committed: not seen
        u.items.add_holding(b.holding("h-x", "item-1", "org-1", 5))
        u.rollback()
    mark.same()
    mark.after(uow, to_org_2, moves=True)
    approved = b.financing("fin-1", "item-1", "h-1", FinancingStatus.APPROVED)
    mark.after(uow, lambda u: u.financings.add(approved), moves=True)
    mark.after(uow, lambda u: u.outbox.add(b.op("op-item", subject="item-1")), moves=True)
    # An op about the item's financing, then one about another item.
    mark.after(uow, lambda u: u.outbox.add(b.op("op-fin", subject="fin-1")), moves=True)
    mark.after(uow, lambda u: u.outbox.add(b.op("op-other", subject="item-2")), moves=False)
    mark.after(uow, op_done, moves=True)
    mark.after(uow, lambda u: u.repayments.add(b.repayment("pay-1", "item-1", "h-1")), moves=True)
    raised = DisputeEvent("item-1", DisputeAction.RAISED, "org-2", "op-item")
    mark.after(uow, lambda u: u.disputes.add(raised), moves=True)
    approval = CancelApproval("item-1", "org-1", "op-item")
    mark.after(uow, lambda u: u.cancel_approvals.add(approval), moves=True)
    mark.after_sql(store_engine, b.RENAME_BANK, moves=True)  # by another connection


def test_folding_keeps_the_version_and_few_rows(
    uow_factory: SqlUnitOfWorkFactory, store_engine: Engine
) -> None:
    versions = SqlItemViewVersions(store_engine, fold_at=3)
    try:
        with uow_factory() as u:
            u.organisations.add(b.org(1, Role.SUPPLIER))
            u.organisations.add(b.org(2, Role.CORE_ENTERPRISE))
            u.trades.add(b.trade(1))
            u.items.add(b.item(1, "trade-1"))
            u.items.add_holding(b.holding("h-1", "item-1", "org-1", 1_000))
            u.commit()
        first = versions.version("item-1")
        assert first == 2  # the item and its holding
        for n in range(1, 13):
            with uow_factory() as u:
                holding = u.items.get_holding("h-1")
                assert holding is not None
                u.items.update_holding(dataclasses.replace(holding, outstanding=1_000 - n))
                u.commit()
            assert versions.version("item-1") == first + n  # one more each change, folded or not
            with store_engine.connect() as connection:
                rows = connection.execute(
                    text("SELECT count(*) FROM item_changes WHERE item_id = 'item-1'")
                ).scalar_one()
            assert rows <= 4  # folded once over 3
        versions.fold("item-1")
        assert versions.version("item-1") == first + 12
    finally:
        versions.close()


def test_lookups_on_an_event_loop_are_sent_together(
    uow_factory: SqlUnitOfWorkFactory, store_engine: Engine, versions: SqlItemViewVersions
) -> None:
    """On PostgreSQL, lookups asked while one runs go as one statement, each answered with its
    own item's version; elsewhere there is no event-loop lookup (the API uses a thread)."""
    if store_engine.dialect.name != "postgresql":
        assert not versions.asynchronous
        with pytest.raises(RuntimeError, match="PostgreSQL"):
            asyncio.run(versions.aversion("item-1"))
        return
    assert versions.asynchronous
    with uow_factory() as u:
        u.organisations.add(b.org(1, Role.SUPPLIER))
        u.organisations.add(b.org(2, Role.CORE_ENTERPRISE))
        for n in range(1, 5):
            u.trades.add(b.trade(n))
            u.items.add(b.item(n, f"trade-{n}"))
            for h in range(n):  # item-n: its own row and n holdings' rows
                u.items.add_holding(b.holding(f"h-{n}-{h}", f"item-{n}", "org-1", 10))
        u.commit()
    asked = [f"item-{1 + i % 5}" for i in range(60)]  # item-5 does not exist
    expected = [versions.version(i) for i in asked]
    assert len(set(expected)) == 5

    async def all_at_once() -> list[int | None]:
        return list(await asyncio.gather(*(versions.aversion(i) for i in asked)))

    async def in_two_waves() -> list[int | None]:
        first = asyncio.gather(*(versions.aversion(i) for i in asked[:30]))
        # One turn of the loop: the first wave's lookups are all asked and their statement
        # is sent; the second wave is asked while it runs (its answer needs the server's).
        await asyncio.sleep(0)
        second = asyncio.gather(*(versions.aversion(i) for i in asked[30:]))
        return [*await first, *await second]

    # The order of the event loop's turns decides the statements, not the machine's speed.
    before = versions.statements_sent
    assert asyncio.run(all_at_once()) == expected
    assert versions.statements_sent - before == 1  # all asked before the first went
    before = versions.statements_sent
    assert asyncio.run(in_two_waves()) == expected
    assert versions.statements_sent - before == 2  # the second wave together, after the first


def test_a_statement_of_many_rows_grows_each_items_version_by_its_rows(
    uow_factory: SqlUnitOfWorkFactory, store_engine: Engine, versions: SqlItemViewVersions
) -> None:
    """A batch of decisions' writes (one statement a table, ``UnitOfWork.together``) grow each
    item's version by the rows naming it, as one statement a row did: on PostgreSQL the
    statement triggers of migration 0030 write one row an item and statement, weighing its
    rows (SQLite keeps a row a changed row); an op naming no item grows none."""
    with uow_factory() as u:
        b.add_parties(u)
        for n in (1, 2):
            u.trades.add(b.trade(n))
            u.items.add(b.item(n, f"trade-{n}"))
        for holding, item in (("h-1", 1), ("h-2", 2), ("h-3", 1)):
            u.items.add_holding(b.holding(holding, f"item-{item}", "org-1", 1_000))
        u.commit()
    before = {i: versions.version(i) for i in ("item-1", "item-2")}
    with store_engine.connect() as connection:
        rows_before = connection.execute(text("SELECT count(*) FROM item_changes")).scalar_one()
    with uow_factory() as u:
        with u.together():
            for holding, item in (("h-1", 1), ("h-2", 2), ("h-3", 1)):
                fin = f"fin-{holding}"
                u.financings.add(
                    b.financing(fin, f"item-{item}", holding, FinancingStatus.APPROVED)
                )
                for n in range(3):  # presentation, pledge, acceptance: the financing's own
                    u.outbox.add(b.op(f"op-{fin}-{n}", subject=fin))
                u.outbox.add(b.op(f"op-{fin}-anchor", subject=f"decision:{fin}"))
        u.commit()
    grown: dict[str, int] = {}
    for key, was in before.items():
        now = versions.version(key)
        assert was is not None and now is not None
        grown[key] = now - was
    assert grown == {"item-1": 2 + 6, "item-2": 1 + 3}  # financings, then ops
    with store_engine.connect() as connection:
        rows = connection.execute(text("SELECT count(*) FROM item_changes")).scalar_one()
    # a row a changed row on SQLite; a row an item and statement on PostgreSQL
    assert rows - rows_before == (4 if store_engine.dialect.name == "postgresql" else 12)
