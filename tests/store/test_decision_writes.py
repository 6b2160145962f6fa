"""What a financing decision writes and reads with fewer statements, on SQLite and PostgreSQL:
a chain operation queued without a savepoint (a known op id is still refused, and the
transaction goes on), trades listed without their reports, a holding updated from the state
its caller read under the row lock."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from typing import Any

import pytest
import sqlalchemy as sa

from fourflow.adapters.db import SqlUnitOfWorkFactory
from fourflow.domain.errors import ConflictError, NotFoundError
from fourflow.domain.facts import InvoicePresentation
from fourflow.domain.financing import FinancingStatus
from fourflow.domain.parties import Role
from fourflow.services.ports import OpKind, OpStatus

from . import builders as b


@pytest.fixture
def uow(uow_factory: SqlUnitOfWorkFactory) -> SqlUnitOfWorkFactory:
    with uow_factory() as u:
        u.organisations.add(b.org(1, Role.SUPPLIER))
        u.organisations.add(b.org(2, Role.CORE_ENTERPRISE))
        u.organisations.add(b.org(3, Role.BANK))
        u.commit()
    return uow_factory


def test_a_known_op_id_is_refused_and_the_transaction_goes_on(uow: SqlUnitOfWorkFactory) -> None:
    with uow() as u:
        u.outbox.add(b.op("op-1"))
        u.commit()
    with uow() as u:
        with pytest.raises(ConflictError, match="chain operation op-1 is already queued"):
            u.outbox.add(dataclasses.replace(b.op("op-1"), subject_id="item-2"))
        u.outbox.add(b.op("op-2"))  # the same transaction is still usable
        u.commit()
    with uow() as u:
        assert [op.op_id for op in u.outbox.pending(10)] == ["op-1", "op-2"]
        first = u.outbox.get("op-1")
        assert first is not None and first.subject_id == "item-1"  # not overwritten
        # as queued, fields and all (its seq is the store's)
        assert first.undo.empty and dataclasses.replace(first, seq=None) == b.op("op-1")


def test_trade_heads_are_the_trades_without_their_reports(uow: SqlUnitOfWorkFactory) -> None:
    verified = dataclasses.replace(
        b.trade(1), document_ids=("doc-1", "doc-4"), status="partial", score=72,
        report=b.report("trade-1"), report_hash="ef" * 32,
    )  # fmt: skip
    with uow() as u:
        u.trades.add(b.trade(1))
        u.trades.add(b.trade(2))
        u.trades.update(verified)
        u.commit()
    with uow() as u:
        heads = u.trades.heads()
        assert [(h.id, h.document_ids) for h in heads] == [
            (t.id, t.document_ids) for t in u.trades.list()
        ]
        assert heads[0] == dataclasses.replace(verified, status="unverified", score=None,
                                               report=None, report_hash=None)  # fmt: skip
        assert heads[1] == b.trade(2)


def test_a_holding_updated_from_the_state_read_under_its_lock(uow: SqlUnitOfWorkFactory) -> None:
    with uow() as u:
        u.trades.add(b.trade(1))
        u.items.add(b.item(1, "trade-1"))
        u.items.add_holding(b.holding("h-1", "item-1", "org-1", 1_000))
        u.commit()
    with uow() as u:
        locked = u.items.lock_holding("h-1")
        assert locked is not None
        pledged = dataclasses.replace(locked, pledge_bank_id="org-3", pledge=b.pledge())
        u.items.update_holding(pledged, before=locked)
        u.outbox.add(b.op("op-pledge", subject="fin-1"))  # takes the journal as its undo
        u.commit()
    with uow() as u:
        assert u.items.get_holding("h-1") == pledged
        op = u.outbox.get("op-pledge")
        assert op is not None and op.undo.holdings == (locked,)  # put back on a refusal


def test_a_savepoint_undoes_its_part_alone(uow: SqlUnitOfWorkFactory) -> None:
    """What a savepoint's block wrote is rolled back with its exception, the transaction goes
    on, and what the block journalled for undo reaches no later op."""
    _two_holdings(uow)
    with uow() as u:
        with u.savepoint():
            kept = u.items.lock_holding("h-1")
            assert kept is not None
            pledged = dataclasses.replace(kept, pledge_bank_id="org-3", pledge=b.pledge())
            u.items.update_holding(pledged, before=kept)
            u.outbox.add(b.op("op-kept", subject="fin-1"))
        with pytest.raises(ConflictError, match="refused"), u.savepoint():
            gone = u.items.lock_holding("h-2")
            assert gone is not None
            u.items.update_holding(
                dataclasses.replace(gone, pledge_bank_id="org-3", pledge=b.pledge()), before=gone
            )
            u.outbox.add(b.op("op-gone", subject="fin-2"))
            u.items.update_holding(  # journalled, then rolled back with the block
                dataclasses.replace(gone, amount=1), before=gone
            )
            raise ConflictError("refused")
        u.outbox.add(b.op("op-after", subject="fin-3"))  # the transaction goes on
        u.commit()
    with uow() as u:
        assert u.items.get_holding("h-1") == pledged
        untouched = u.items.get_holding("h-2")
        assert untouched is not None and not untouched.locked and untouched.amount == 2_000
        assert [op.op_id for op in u.outbox.pending(10)] == ["op-kept", "op-after"]
        after = u.outbox.get("op-after")
        assert after is not None and after.undo.empty  # nothing of the rolled-back block
        first = u.outbox.get("op-kept")
        assert first is not None and [h.id for h in first.undo.holdings] == ["h-1"]


def test_ops_added_together_are_stored_at_the_end_in_order(uow: SqlUnitOfWorkFactory) -> None:
    """A decision's chain operations in one insert: in the order added, each with the undo
    journalled before it; a known op id is refused at the block's end; a block that raises
    stores none of its ops."""
    with uow() as u:
        u.trades.add(b.trade(1))
        u.items.add(b.item(1, "trade-1"))
        u.items.add_holding(b.holding("h-1", "item-1", "org-1", 1_000))
        u.outbox.add(b.op("op-known"))
        u.commit()
    with uow() as u:
        with u.outbox.together():
            u.outbox.add(b.op("op-a", subject="fin-1"))
            locked = u.items.lock_holding("h-1")
            assert locked is not None
            pledged = dataclasses.replace(locked, pledge_bank_id="org-3", pledge=b.pledge())
            u.items.update_holding(pledged, before=locked)
            u.outbox.add(b.op("op-b", subject="fin-1"))
            u.outbox.add(b.op("op-c", subject="fin-1"))
            assert u.outbox.get("op-a") is None  # not stored before the block's end
        with pytest.raises(RuntimeError, match="gone"), u.outbox.together():
            u.outbox.add(b.op("op-gone", subject="fin-2"))
            raise RuntimeError("gone")
        refused = pytest.raises(ConflictError, match="op-known is already queued")
        with refused, u.savepoint(), u.outbox.together():
            u.outbox.add(b.op("op-d", subject="fin-3"))
            u.outbox.add(dataclasses.replace(b.op("op-known"), subject_id="fin-3"))
        u.commit()
    with uow() as u:
        ops = [op for op in u.outbox.pending(10) if op.subject_id == "fin-1"]
        assert [op.op_id for op in ops] == ["op-a", "op-b", "op-c"]
        assert ops[0].seq is not None and ops[0].seq < ops[1].seq < ops[2].seq  # type: ignore[operator]
        assert ops[0].undo.empty and [h.id for h in ops[1].undo.holdings] == ["h-1"]
        assert ops[2].undo.empty
        assert u.outbox.get("op-gone") is None and u.outbox.get("op-d") is None
        known = u.outbox.get("op-known")
        assert known is not None and known.subject_id == "item-1"


def test_ops_held_together_are_stored_in_the_order_given(uow: SqlUnitOfWorkFactory) -> None:
    """``order_held`` sorts the block's ops stably by its key, each keeping the undo it was
    added with; outside a block it is refused."""
    with uow() as u:
        u.trades.add(b.trade(1))
        u.items.add(b.item(1, "trade-1"))
        u.items.add_holding(b.holding("h-1", "item-1", "org-1", 1_000))
        u.commit()
    stage = {"fin-a": 1, "fin-b": 0}
    with uow() as u:
        with u.outbox.together():
            u.outbox.add(b.op("op-1", subject="fin-a"))
            locked = u.items.lock_holding("h-1")
            assert locked is not None
            u.items.update_holding(dataclasses.replace(locked, amount=900), before=locked)
            u.outbox.add(b.op("op-2", subject="fin-b"))  # takes the holding's undo
            u.outbox.add(b.op("op-3", subject="fin-a"))
            u.outbox.add(b.op("op-4", subject="fin-b"))
            u.outbox.order_held(lambda op: stage[op.subject_id or ""])
        with pytest.raises(RuntimeError, match="together"):
            u.outbox.order_held(lambda op: 0)
        u.commit()
    with uow() as u:
        ops = u.outbox.pending(10)
        assert [op.op_id for op in ops] == ["op-2", "op-4", "op-1", "op-3"]
        assert [h.id for h in ops[0].undo.holdings] == ["h-1"]
        assert all(op.undo.empty for op in ops[1:])


def test_progress_of_many_ops_recorded_in_one_write(uow: SqlUnitOfWorkFactory) -> None:
    """``update_status_many``: status, tx hash, block, error and attempts of each op, its
    command and undo as stored; an op not queued is refused."""
    with uow() as u:
        for n in (1, 2, 3):
            u.outbox.add(b.op(f"op-{n}", subject=f"fin-{n}"))
        u.commit()
    with uow() as u:
        done = [
            dataclasses.replace(op, status=OpStatus.DONE, tx_hash=f"0x{n}", block_number=n,
                                attempts=op.attempts + 1)
            for n, op in enumerate(u.outbox.pending(10)[:2], start=7)
        ]  # fmt: skip
        u.outbox.update_status_many(done)
        u.commit()
    with uow() as u:
        assert [op.op_id for op in u.outbox.pending(10)] == ["op-3"]
        first = u.outbox.get("op-1")
        assert first is not None and (first.status, first.tx_hash, first.block_number) == (
            OpStatus.DONE,
            "0x7",
            7,
        )
        assert first.attempts == 1 and dataclasses.replace(
            first, status=OpStatus.PENDING, tx_hash=None, block_number=None, attempts=0, seq=None
        ) == b.op("op-1", subject="fin-1")
    with uow() as u, pytest.raises(NotFoundError):
        u.outbox.update_status_many([b.op("op-unknown")])


def _two_holdings(uow: SqlUnitOfWorkFactory) -> None:
    with uow() as u:
        u.trades.add(b.trade(1))
        u.items.add(b.item(1, "trade-1"))
        u.items.add_holding(b.holding("h-2", "item-1", "org-1", 2_000))
        u.items.add_holding(b.holding("h-1", "item-1", "org-1", 1_000))
        u.commit()


def test_writes_held_together_are_read_back_and_stored_at_the_end(
    uow: SqlUnitOfWorkFactory,
) -> None:
    """A batch's writes in one statement a table (``UnitOfWork.together``): reads in the
    block see them, nothing is stored before the block ends, each op takes the
    undo journalled before it, and the holdings are locked in one read."""
    _two_holdings(uow)
    with uow() as u:
        with u.together():
            locked = u.items.lock_holdings(["h-2", "h-1", "h-9", "h-1"])
            assert sorted(locked) == ["h-1", "h-2"]  # an unknown id left out
            fin = b.financing("fin-1", "item-1", "h-1", FinancingStatus.APPROVED)
            u.financings.add(fin)
            pledged = dataclasses.replace(locked["h-1"], pledge_bank_id="org-3", pledge=b.pledge())
            u.items.update_holding(pledged, before=locked["h-1"])
            u.outbox.add(b.op("op-pledge", subject="fin-1"))
            u.presentations.add(InvoicePresentation("sha256:aa", "trade-1", "org-3", "op-pledge"))
            # read back in the block, as stored
            assert u.items.get_holding("h-1") == pledged == u.items.lock_holding("h-1")
            assert u.items.lock_holdings(["h-1"]) == {"h-1": pledged}
            assert u.financings.by_holding("h-1") == fin
            assert u.presentations.known(["sha256:aa", "sha256:bb"]) == {"sha256:aa"}
            assert u.presentations.known(["sha256:aa"], except_op="op-pledge") == set()
            # nothing stored yet: the reads with no view of the held writes find none
            assert u.financings.list() == [] and u.outbox.get("op-pledge") is None
        u.commit()
    with uow() as u:
        assert u.financings.get("fin-1") == fin
        assert u.items.get_holding("h-1") == pledged
        op = u.outbox.get("op-pledge")
        assert op is not None and op.undo.holdings == (locked["h-1"],)
        assert op.undo.added_financings == ("fin-1",)
        assert u.presentations.known(["sha256:aa"]) == {"sha256:aa"}


def test_a_block_held_together_that_raises_stores_nothing(uow: SqlUnitOfWorkFactory) -> None:
    _two_holdings(uow)
    with uow() as u:
        with pytest.raises(RuntimeError, match="broken"), u.together():
            u.financings.add(b.financing("fin-1", "item-1", "h-1", FinancingStatus.APPROVED))
            kept = u.items.lock_holding("h-1")
            assert kept is not None
            u.items.update_holding(dataclasses.replace(kept, amount=7), before=kept)
            u.outbox.add(b.op("op-gone", subject="fin-1"))
            raise RuntimeError("broken")
        u.commit()
    with uow() as u:
        assert u.financings.get("fin-1") is None and u.outbox.get("op-gone") is None
        found = u.items.get_holding("h-1")
        assert found is not None and found.amount == 1_000


def test_holdings_and_their_latest_financings_read_in_one_read(uow: SqlUnitOfWorkFactory) -> None:
    _two_holdings(uow)
    with uow() as u:
        u.financings.add(b.financing("fin-1", "item-1", "h-1", FinancingStatus.DECLINED))
        u.financings.add(b.financing("fin-2", "item-1", "h-1", FinancingStatus.APPROVED))
        u.commit()
    with uow() as u:
        found = u.items.get_holdings(["h-2", "h-9", "h-1", "h-2"])
        assert found == {"h-1": u.items.get_holding("h-1"), "h-2": u.items.get_holding("h-2")}
        latest = u.financings.by_holdings(["h-1", "h-2", "h-9"])
        assert latest == {"h-1": u.financings.by_holding("h-1")}
        assert latest["h-1"].id == "fin-2"
        with u.together():  # a financing held in the block is the latest
            u.financings.add(b.financing("fin-3", "item-1", "h-2", FinancingStatus.REFERRED))
            assert u.financings.by_holdings(["h-2"])["h-2"].id == "fin-3"


def test_ops_stored_together_are_the_rows_one_at_a_time_stores(uow: SqlUnitOfWorkFactory) -> None:
    """The block's one insert (on PostgreSQL an insert of one array a column) stores every
    column as ``add`` alone does: the command's JSON text, SQL NULL for no undo, the undo's
    JSON, status, attempts, no hash, block or error."""
    _two_holdings(uow)  # the amounts play no part: only the undo's holding is compared
    kinds = (OpKind.ISSUE_ITEM, OpKind.DISPUTE, OpKind.WITHDRAW_DISPUTE)
    for prefix, together in (("alone", False), ("held", True)):
        with uow() as u:
            block = u.outbox.together() if together else contextlib.nullcontext()
            with block:
                for n, kind in enumerate(kinds):
                    if n == 1:  # the next op takes the holding's undo
                        part = "h-1" if together else "h-2"
                        locked = u.items.lock_holding(part)
                        assert locked is not None
                        changed = dataclasses.replace(locked, amount=900)
                        u.items.update_holding(changed, before=locked)
                    u.outbox.add(b.op(f"{prefix}-{n}", subject=f"fin-{n}", kind=kind))
            u.commit()
    columns = "kind, sender_org_id, subject_id, status, tx_hash, block_number, error, attempts"
    query = sa.text(
        f"SELECT op_id, {columns}, CAST(params AS TEXT) AS params, CAST(undo AS TEXT) AS undo "
        "FROM outbox"
    )
    with uow() as u:
        session = u._session
        assert session is not None
        rows: dict[str, dict[str, Any]] = {r.op_id: r._asdict() for r in session.execute(query)}
    for n in range(len(kinds)):
        alone, held = rows[f"alone-{n}"], rows[f"held-{n}"]
        alone.pop("op_id"), held.pop("op_id")
        if n == 1:  # each names its own holding in its undo
            assert json.loads(alone.pop("undo"))["holdings"][0]["id"] == "h-2"
            assert json.loads(held.pop("undo"))["holdings"][0]["id"] == "h-1"
        else:
            assert held["undo"] is None  # SQL NULL, not JSON null
        assert held == alone


def test_financings_stored_together_are_the_rows_one_at_a_time_stores(
    uow: SqlUnitOfWorkFactory,
) -> None:
    """The block's one insert of financings (on PostgreSQL from one JSON document) stores
    every column as ``add`` alone does: the decision's JSON text (none: JSON null), amounts,
    dates, status, timestamps in UTC; and a second live financing of a holding is refused
    there as alone."""
    _two_holdings(uow)
    declined = dataclasses.replace(
        b.financing("x", "item-1", "h-1", FinancingStatus.DECLINED), decision=None
    )
    made = {
        "approved": b.financing("x", "item-1", "h-1", FinancingStatus.APPROVED),
        "declined": declined,
    }
    for prefix, together in (("alone", False), ("held", True)):
        with uow() as u:
            with u.together() if together else contextlib.nullcontext():
                for name, fin in made.items():
                    holding = "h-1" if together else "h-2"
                    u.financings.add(
                        dataclasses.replace(fin, id=f"{prefix}-{name}", holding_id=holding)
                    )
            u.commit()
    query = sa.text(
        "SELECT id, item_id, borrower_id, bank_id, requested, principal, rate_bps, start_date, "
        "maturity_date, status, CAST(decision AS TEXT) AS decision, decision IS NULL AS sql_null, "
        "created_at = updated_at AS same_time FROM financings"
    )
    with uow() as u:
        session = u._session
        assert session is not None
        rows: dict[str, dict[str, Any]] = {r.id: r._asdict() for r in session.execute(query)}
        stored = {f.id: f for f in u.financings.list()}
    for name, fin in made.items():
        alone, held = rows.pop(f"alone-{name}"), rows.pop(f"held-{name}")
        assert alone.pop("id") == f"alone-{name}" and held.pop("id") == f"held-{name}"
        assert held == alone
        assert stored[f"held-{name}"] == dataclasses.replace(
            fin, id=f"held-{name}", holding_id="h-1"
        )
    assert json.loads(alone["decision"]) is None and not alone["sql_null"]
    with (  # h-1 has a live financing: the held insert is refused
        uow() as u,
        pytest.raises(ConflictError, match="already has an approved or active"),
        u.together(),
    ):
        u.financings.add(dataclasses.replace(made["approved"], id="held-again"))
