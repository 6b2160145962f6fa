"""The supervision views' change mark (migration 0026's triggers, ``SqlUnitOfWorkFactory.
change_mark``) on SQLite and PostgreSQL: every committed change of a table the views read gives
a new mark; a write elsewhere (the outbox, settings: what an audited read or the relay writes),
an uncommitted one and a read do not; folding the rows keeps the mark; the triggers are all
there at the head revision (a later migration rebuilding one of the tables without them fails
here)."""

from __future__ import annotations

import dataclasses

from sqlalchemy import Engine, text

from fourflow.adapters.db import SqlUnitOfWorkFactory
from fourflow.adapters.db.uow import CHANGES_FOLD
from fourflow.domain.financing import FinancingStatus
from fourflow.domain.parties import Role
from fourflow.services.ports import UnitOfWork

from . import builders as b

#: The tables the supervision views read (migration 0026).
WATCHED = {
    "trades", "debt_items", "financings", "repayments", "organisations", "scenario_platforms",
    "scenario_platform_members", "scenario_platform_banks",
}  # fmt: skip


def test_every_change_the_views_read_gives_a_new_mark(
    uow_factory: SqlUnitOfWorkFactory, store_engine: Engine
) -> None:
    uow = uow_factory
    mark = b.Mark(uow.change_mark)

    def activate(u: UnitOfWork) -> None:
        found = u.financings.get("fin-1")
        assert found is not None
        u.financings.update(dataclasses.replace(found, status=FinancingStatus.ACTIVE))

    mark.same()  # reading the mark is no change
    mark.after(uow, b.add_parties, moves=True)
    mark.after(uow, lambda u: u.trades.add(b.trade(1)), moves=True)
    with uow() as u:  # reads only
        assert len(u.trades.verdicts()) == 1 and len(u.organisations.list()) == 3
    mark.same()
    with uow() as u:  # not committed: not seen
        u.trades.add(b.trade(2))
        u.rollback()
    mark.same()
    mark.after(uow, lambda u: u.items.add(b.item(1, "trade-1")), moves=True)
    holding = b.holding("h-1", "item-1", "org-1", 1_000_000)
    mark.after(uow, lambda u: u.items.add_holding(holding), moves=False)  # not read by the views
    approved = b.financing("fin-1", "item-1", "h-1", FinancingStatus.APPROVED)
    mark.after(uow, lambda u: u.financings.add(approved), moves=True)
    mark.after(uow, activate, moves=True)
    mark.after(  # the relay's and the audit trail's kind of write
        uow,
        lambda u: u.outbox.add(b.op("op-item", subject="item-1")),
        lambda u: u.settings.put("bench-note", "x"),
        moves=False,
    )
    mark.after(uow, lambda u: u.repayments.add(b.repayment("pay-1", "item-1", "h-1")), moves=True)
    # A rename, then a deletion, each by another connection.
    mark.after_sql(store_engine, b.RENAME_BANK, moves=True)
    mark.after_sql(store_engine, "DELETE FROM repayments WHERE id = 'pay-1'", moves=True)


def test_folding_keeps_the_mark_and_few_rows(
    uow_factory: SqlUnitOfWorkFactory, store_engine: Engine
) -> None:
    with uow_factory() as u:
        u.organisations.add(b.org(1, Role.SUPPLIER))
        u.commit()
    for n in range(CHANGES_FOLD + 5):
        with store_engine.begin() as connection:
            connection.execute(
                text("UPDATE organisations SET name = :name WHERE id = 'org-1'"), {"name": f"n{n}"}
            )
    first = uow_factory.change_mark()  # read, then folded
    with store_engine.connect() as connection:
        rows = connection.execute(text("SELECT count(*) FROM supervision_changes")).scalar_one()
    assert rows == 1
    assert uow_factory.change_mark() == first
    with store_engine.begin() as connection:
        connection.execute(text("UPDATE organisations SET name = 'last' WHERE id = 'org-1'"))
    assert uow_factory.change_mark() != first


def test_the_triggers_are_all_there(store_engine: Engine) -> None:
    with store_engine.connect() as connection:
        if store_engine.dialect.name == "postgresql":
            tables = connection.execute(
                text(
                    "SELECT c.relname FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid "
                    "WHERE g.tgname LIKE 'supervision_changes_%' AND c.relnamespace = "
                    "(SELECT oid FROM pg_namespace WHERE nspname = current_schema())"
                )
            ).scalars()
            assert set(tables) == WATCHED
        else:
            counts = connection.execute(
                text(
                    "SELECT tbl_name, count(*) FROM sqlite_master WHERE type = 'trigger' "
                    "AND name LIKE 'supervision_changes_%' GROUP BY tbl_name"
                )
            ).all()
            # insert, update, delete
            assert {name: count for name, count in counts} == dict.fromkeys(WATCHED, 3)
