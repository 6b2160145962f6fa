"""``SqlUnitOfWork.decision_reads`` (one statement, ``row_to_json`` per table, the column types
restored) against hostile values (13th session's review, R13): amounts beyond a float's 53 bits,
NULL columns, dates at the ends of the calendar, unicode and JSON-special text, a decision's
JSON with floats, a session time zone far from UTC and an undated dispute recorded a moment
before UTC midnight (its day is the UTC day, as ``raised_days`` gives it). Each part must be
exactly what the repository's own read gives."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import Engine, text, update

from fourflow.adapters.db import SqlUnitOfWorkFactory
from fourflow.adapters.db import tables as t
from fourflow.domain.facts import DisputeAction, DisputeEvent
from fourflow.domain.financing import FinancingStatus
from fourflow.domain.mandates import SignalClearance
from fourflow.domain.transfers import InvoicePaidByTransfer
from fourflow.services.financing import _KnownDisputes

from . import builders as b

HUGE = 2**62 + 1  # not a float: 2**62 + 1 != float(2**62 + 1)
ODD = 'Φ "quoted" \\ back\\slash \u2028 line \U0001f600 </script> \t'


def test_decision_reads_keep_hostile_values_as_the_repositories_read_them(
    uow_factory: SqlUnitOfWorkFactory, store_engine: Engine
) -> None:
    with uow_factory() as u:
        b.add_parties(u)
        u.trades.add(b.trade(1))
        u.items.add(
            dataclasses.replace(
                b.item(1, "trade-1"), face_value=HUGE, issue_date=dt.date(1, 1, 1),
                maturity_date=dt.date(9999, 12, 31),
            )
        )  # fmt: skip
        u.items.add_holding(b.holding("h-1", "item-1", "org-1", HUGE, received=HUGE - 7))
        u.items.add_holding(
            b.holding("h-2", "item-1", "org-1", HUGE // 3, parent_id="h-1",
                      pledge_bank_id="org-3", pledge=b.pledge())
        )  # fmt: skip
        fin = b.financing("fin-1", "item-1", "h-2", FinancingStatus.APPROVED)
        u.financings.add(dataclasses.replace(fin, requested=HUGE, principal=HUGE - 1))
        u.signal_clearances.add(
            SignalClearance("trade-1", "VOLUME_SPIKE", "org-op", ODD, dt.date(9999, 12, 31), ODD)
        )
        u.transfer_payments.add(
            InvoicePaidByTransfer("h-2", "trade-1", ODD, HUGE, "org-1", "org-2",
                                  dt.date(1, 1, 1), "op-p")
        )  # fmt: skip
        u.disputes.add(
            DisputeEvent("item-1", DisputeAction.RAISED, "org-2", "op-d1", None, ODD, "ab" * 32)
        )
        u.commit()
    # the undated dispute recorded a microsecond before UTC midnight: its day is that UTC day
    late = dt.datetime(2026, 3, 4, 23, 59, 59, 999999, tzinfo=dt.UTC)
    with store_engine.begin() as connection:
        connection.execute(
            update(t.dispute_events).where(t.dispute_events.c.op_id == "op-d1").values(
                created_at=late
            )
        )  # fmt: skip
    named = ["h-2", "h-1"]
    with uow_factory() as u:
        if store_engine.dialect.name == "postgresql":  # a session far from UTC (+14:00)
            u._require_session().execute(text("SET TIME ZONE 'Pacific/Kiritimati'"))
        ahead = u.decision_reads(named)
        if store_engine.dialect.name != "postgresql":
            assert ahead is None
            return
        assert ahead is not None
        holdings = u.items.get_holdings(named)
        assert ahead.holdings == holdings
        assert ahead.holdings["h-1"].amount == HUGE and ahead.holdings["h-1"].received == HUGE - 7
        assert ahead.holdings["h-1"].parent_id is None and ahead.holdings["h-2"].parent_id == "h-1"
        assert ahead.latest == u.financings.by_holdings(named)
        assert ahead.latest["h-2"].requested == HUGE
        assert ahead.items == u.items.get_many(["item-1"])
        assert ahead.items[0].face_value == HUGE
        assert ahead.items[0].maturity_date == dt.date(9999, 12, 31)
        assert ahead.clearances == u.signal_clearances.for_trades(["trade-1"])
        assert ahead.clearances[0].reason == ODD
        assert ahead.payments == u.transfer_payments.for_trades(["trade-1"])
        assert ahead.payments[0].amount == HUGE and ahead.payments[0].invoice_number == ODD
        raised = u.disputes.raised_days(["trade-1"])
        assert raised == {"trade-1": [dt.date(2026, 3, 4)]}
        known = _KnownDisputes(u.disputes, ahead.near, ahead.disputed)
        assert known.raised_days(["trade-1"]) == raised


def test_decision_locked_reads_keep_hostile_values_as_the_repositories_read_them(
    uow_factory: SqlUnitOfWorkFactory, store_engine: Engine
) -> None:
    """``decision_locked_reads`` (f75c234: marks, holdings FOR UPDATE, disputes, known
    fingerprints in one statement) on the same hostile values, in a session at +14:00."""
    with uow_factory() as u:
        b.add_parties(u)
        u.trades.add(b.trade(1))
        u.items.add(dataclasses.replace(b.item(1, "trade-1"), face_value=HUGE))
        u.items.add_holding(b.holding("h-1", "item-1", "org-1", HUGE, received=HUGE - 7))
        for op, on in (("op-d1", None), ("op-d2", dt.date(9999, 12, 31))):
            u.disputes.add(
                DisputeEvent("item-1", DisputeAction.RAISED, "org-2", op, on, ODD, "ab" * 32)
            )
        u.commit()
    late = dt.datetime(2026, 3, 4, 23, 59, 59, 999999, tzinfo=dt.UTC)
    with store_engine.begin() as connection:
        connection.execute(
            update(t.dispute_events).where(t.dispute_events.c.op_id == "op-d1").values(
                created_at=late
            )
        )  # fmt: skip
    with uow_factory() as u:
        if store_engine.dialect.name == "postgresql":
            u._require_session().execute(text("SET TIME ZONE 'Pacific/Kiritimati'"))
        first = u.decision_locked_reads(["h-1"], ["item-1"], ["fp-unknown"])
        if store_engine.dialect.name != "postgresql":
            assert first is None
            return
        assert first is not None
        assert first.holdings == u.items.lock_holdings(["h-1"])
        assert first.holdings["h-1"].amount == HUGE
        assert first.disputes == {"item-1": u.disputes.for_item("item-1")}
        assert [e.text for e in first.disputes["item-1"]] == [ODD, ODD]
        assert [e.on for e in first.disputes["item-1"]] == [None, dt.date(9999, 12, 31)]
        assert first.known == frozenset()
