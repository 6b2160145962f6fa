"""A batch of decisions' first reads in one statement on PostgreSQL
(``SqlUnitOfWork.decision_reads``): each part exactly as its repository's own read gives it
(dates, UTC timestamps, a decision's JSON, store order, a refused transfer or dispute left
out, the disputes raised on the parties' trades); SQLite reads them a table at a time (None)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import Engine, insert, text
from sqlalchemy.exc import OperationalError

from fourflow.adapters.db import SqlUnitOfWorkFactory
from fourflow.adapters.db import tables as t
from fourflow.domain.facts import DisputeAction, DisputeEvent, InvoicePresentation
from fourflow.domain.financing import FinancingStatus
from fourflow.domain.mandates import SignalClearance
from fourflow.domain.transfers import InvoicePaidByTransfer
from fourflow.services.financing import _KnownDisputes

from . import builders as b

DAY = dt.date(2026, 3, 4)


def test_a_batchs_first_reads_in_one_statement_as_each_repository_reads_them(
    uow_factory: SqlUnitOfWorkFactory, store_engine: Engine
) -> None:
    with uow_factory() as u:
        b.add_parties(u)
        for n in (1, 2, 3):
            u.trades.add(b.trade(n))
            u.items.add(b.item(n, f"trade-{n}"))
        u.trades.add(b.trade(4, "org-3", "org-3"))  # not the parties': its disputes not read
        u.items.add(b.item(4, "trade-4", "org-3", "org-3"))
        for item, action, op, on in (
            ("item-2", DisputeAction.RAISED, "op-d1", None),  # the day it was recorded
            ("item-1", DisputeAction.RAISED, "op-d2", DAY),
            ("item-1", DisputeAction.WITHDRAWN, "op-d3", DAY),
            ("item-3", DisputeAction.RAISED, "op-d4", DAY),  # refused below
            ("item-1", DisputeAction.RAISED, "op-d5", DAY + dt.timedelta(days=2)),
            ("item-4", DisputeAction.RAISED, "op-d6", DAY),
        ):
            u.disputes.add(DisputeEvent(item, action, "org-2", op, on, "why", "ab" * 32))
        u.items.add_holding(b.holding("h-1", "item-1", "org-1", 1_000))
        u.items.add_holding(b.holding("h-2", "item-1", "org-1", 400, parent_id="h-1",
                                      pledge_bank_id="org-3", pledge=b.pledge()))  # fmt: skip
        u.items.add_holding(b.holding("h-3", "item-2", "org-1", 700, acquired_from="org-2"))
        u.items.add_holding(b.holding("h-4", "item-3", "org-1", 900))
        u.financings.add(b.financing("fin-1", "item-1", "h-2", FinancingStatus.DECLINED))
        u.financings.add(b.financing("fin-2", "item-1", "h-2", FinancingStatus.APPROVED))
        u.financings.add(b.financing("fin-3", "item-3", "h-4", FinancingStatus.APPROVED))
        for trade, code in (
            ("trade-2", "VOLUME_SPIKE"),
            ("trade-1", "RELATED_PARTIES"),
            ("trade-2", "RELATED_PARTIES"),
            ("trade-3", "VOLUME_SPIKE"),
        ):
            u.signal_clearances.add(SignalClearance(trade, code, "org-op", "seen", DAY, "Ann"))
        for n, (holding, trade) in enumerate(
            (("h-3", "trade-2"), ("h-9", "trade-1"), ("h-8", "trade-2"), ("h-7", "trade-3"))
        ):
            u.transfer_payments.add(
                InvoicePaidByTransfer(
                    holding, trade, f"INV-{n}", 1_000 + n, "org-1", "org-2", DAY, f"op-{n}"
                )
            )
        u.commit()  # fmt: skip
    now = dt.datetime.now(dt.UTC)
    with store_engine.begin() as connection:  # op-2's payment, op-d4's dispute: refused
        for op in ("op-2", "op-d4"):
            connection.execute(insert(t.outbox).values(
                op_id=op, kind="transfer", sender_org_id="org-1", params={}, subject_id="x",
                status="refused", attempts=1, created_at=now, updated_at=now,
            ))  # fmt: skip
    named = ["h-3", "h-2", "h-unknown", "h-3", "h-1"]
    with uow_factory() as u:
        ahead = u.decision_reads(named)
        if store_engine.dialect.name != "postgresql":
            assert ahead is None
            return
        assert ahead is not None
        holdings = u.items.get_holdings(named)
        assert ahead.holdings == holdings and set(holdings) == {"h-1", "h-2", "h-3"}
        assert ahead.latest == u.financings.by_holdings(list(holdings))
        assert ahead.latest["h-2"].id == "fin-2" and ahead.latest["h-2"].decision is not None
        assert ahead.parents == u.items.get_holdings(["h-1"])
        assert ahead.items == u.items.get_many(["item-1", "item-2"])
        trades = ["trade-1", "trade-2"]
        assert ahead.clearances == u.signal_clearances.for_trades(trades)
        assert [c.trade_id for c in ahead.clearances] == ["trade-2", "trade-1", "trade-2"]
        assert ahead.payments == u.transfer_payments.for_trades(trades)
        assert [p.op_id for p in ahead.payments] == ["op-0", "op-1"]
        near = {r.id for r in u.trades.involving(["org-2", "org-1"])}
        assert ahead.near == near == {"trade-1", "trade-2", "trade-3"}
        raised = u.disputes.raised_days(sorted(near))
        assert set(raised) == {"trade-1", "trade-2"} and raised["trade-1"][0] == DAY
        known = _KnownDisputes(u.disputes, ahead.near, ahead.disputed)
        for asked in (sorted(near), ["trade-2"], ["trade-3"], ["trade-4", "trade-1"], None):
            assert known.raised_days(asked) == u.disputes.raised_days(asked), asked
        with u.together():  # writes held: the reads are the repositories' own again
            assert u.decision_reads(named) is None
        none = u.decision_reads(["h-unknown"])
        assert none is not None
        assert dataclasses.astuple(none) == ({}, {}, {}, [], [], [], frozenset(), [])


def test_a_batchs_first_reads_under_the_limits_lock_in_one_statement(
    uow_factory: SqlUnitOfWorkFactory, store_engine: Engine
) -> None:
    """``decision_locked_reads``: the marks, the holdings' rows LOCKED (another transaction
    cannot lock one until the batch ends), the items' standing dispute events and the
    fingerprints known presented (a failed op's not), each as its own read gives it; SQLite:
    None."""
    with uow_factory() as u:
        b.add_parties(u)
        for n in (1, 2):
            u.trades.add(b.trade(n))
            u.items.add(b.item(n, f"trade-{n}"))
        u.items.add_holding(b.holding("h-1", "item-1", "org-1", 1_000))
        u.items.add_holding(b.holding("h-2", "item-1", "org-1", 400, parent_id="h-1",
                                      pledge_bank_id="org-3", pledge=b.pledge()))  # fmt: skip
        u.items.add_holding(b.holding("h-3", "item-2", "org-1", 700))
        for action, op in ((DisputeAction.RAISED, "op-d1"), (DisputeAction.WITHDRAWN, "op-d2"),
                           (DisputeAction.RAISED, "op-d3")):  # fmt: skip
            u.disputes.add(DisputeEvent("item-1", action, "org-2", op, DAY, "why", "ab" * 32))
        u.financings.add(b.financing("fin-1", "item-1", "h-2", FinancingStatus.APPROVED))
        u.commit()
    now = dt.datetime.now(dt.UTC)
    with store_engine.begin() as connection:  # op-d3's dispute: refused, so not read
        connection.execute(insert(t.outbox).values(
            op_id="op-d3", kind="raise_dispute", sender_org_id="org-2", params={},
            subject_id="item-1", status="refused", attempts=1, created_at=now, updated_at=now,
        ))  # fmt: skip
    with uow_factory() as u:  # fp-2's op refused below: not known
        for fp, op in (("fp-1", "op-p1"), ("fp-2", "op-p2"), ("fp-3", "op-p3")):
            u.presentations.add(InvoicePresentation(fp, "trade-1", "org-3", op))
        u.commit()
    with store_engine.begin() as connection:
        connection.execute(insert(t.outbox).values(
            op_id="op-p2", kind="register_fingerprints", sender_org_id="org-3", params={},
            subject_id="fin-x", status="failed", attempts=1, created_at=now, updated_at=now,
        ))  # fmt: skip
    ids, items = ["h-3", "h-2", "h-unknown"], ["item-2", "item-1"]
    prints = ["fp-2", "fp-1", "fp-9", "fp-3"]
    with uow_factory() as u:
        first = u.decision_locked_reads(ids, items, prints)
        if store_engine.dialect.name != "postgresql":
            assert first is None
            return
        assert first is not None
        assert first.marks == u.decision_marks() and "exposure" in first.marks
        assert first.holdings == u.items.lock_holdings(ids)
        assert list(first.holdings) == ["h-2", "h-3"]
        assert first.disputes == {i: u.disputes.for_item(i) for i in items}
        assert [e.op_id for e in first.disputes["item-1"]] == ["op-d1", "op-d2"]
        assert first.disputes["item-2"] == []
        assert first.known == u.presentations.known(prints) == {"fp-1", "fp-3"}
        assert u.decision_locked_reads(ids, items).known == frozenset()  # type: ignore[union-attr]
        with store_engine.connect() as other:  # the rows are locked until the batch ends
            for holding in ("h-2", "h-3"):
                with (
                    pytest.raises(OperationalError, match="could not obtain lock"),
                    other.begin(),
                ):
                    other.execute(text(
                            "SELECT id FROM holdings WHERE id = :h FOR UPDATE NOWAIT"
                        ), {"h": holding})  # fmt: skip
            with other.begin():  # a holding not asked for is not locked
                other.execute(text("SELECT id FROM holdings WHERE id = 'h-1' FOR UPDATE NOWAIT"))
        with u.together():
            assert u.decision_locked_reads(ids, items) is None
