"""The fact records of issue 13 read back exactly, on SQLite and PostgreSQL.

A fact carried by a chain operation is left out once that operation has failed for good.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, insert, update

from fourflow.adapters.db import SqlUnitOfWorkFactory
from fourflow.adapters.db import tables as t
from fourflow.domain.errors import ConflictError
from fourflow.domain.facts import (
    CancelApproval,
    DefaultMark,
    DilutionEvent,
    DilutionStep,
    DisputeAction,
    DisputeEvent,
    GoodsPrice,
    InvoicePresentation,
    PolicyVersion,
    ReportAnchor,
    is_disputed,
)
from fourflow.domain.receipts import (
    GoodsRelease,
    PledgeAction,
    ReceiptPledge,
    ReceiptSale,
    SaleAction,
    SaleEvent,
    WarehouseReceipt,
)

from . import builders as b


@pytest.fixture
def uow(uow_factory: SqlUnitOfWorkFactory) -> SqlUnitOfWorkFactory:
    """Three organisations (supplier, core enterprise, bank) and item-1 on trade-1."""
    with uow_factory() as u:
        b.add_parties(u)
        u.trades.add(b.trade(1))
        u.items.add(b.item(1, "trade-1"))
        u.commit()
    return uow_factory


def _fail(engine: Engine, *op_ids: str) -> None:
    """Queue outbox rows for ``op_ids`` (raw rows: the facts only need their status) and mark
    them failed, as the relay does when the chain refuses an operation for good."""
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as connection:
        for op_id in op_ids:
            connection.execute(
                insert(t.outbox).values(
                    op_id=op_id, kind="dispute", sender_org_id="org-2", params={},
                    subject_id="item-1", status="pending", attempts=0, created_at=now,
                    updated_at=now,
                )
            )  # fmt: skip
        connection.execute(
            update(t.outbox).where(t.outbox.c.op_id.in_(op_ids)).values(status="failed")
        )


def test_disputes_read_back_in_order_without_failed_ones(
    uow: SqlUnitOfWorkFactory, store_engine: Engine
) -> None:
    raised = DisputeEvent(
        "item-1", DisputeAction.RAISED, "org-2", "op-1", dt.date(2026, 3, 4), "short", "ab" * 32
    )
    refused = DisputeEvent("item-1", DisputeAction.RAISED, "org-2", "op-2", dt.date(2026, 3, 5))
    withdrawn = DisputeEvent("item-1", DisputeAction.WITHDRAWN, "org-2", "op-3")
    again = DisputeEvent("item-1", DisputeAction.RAISED, "org-2", "op-4", dt.date(2026, 3, 9))
    resolved = DisputeEvent(
        "item-1", DisputeAction.RESOLVED, "org-9", "op-5", None, "credit note agreed", "cd" * 32
    )
    with uow() as u:
        for event in (raised, refused, withdrawn, again):
            u.disputes.add(event)
        u.commit()
    _fail(store_engine, "op-2")
    with uow() as u:
        events = u.disputes.for_item("item-1")
        assert [e.op_id for e in events] == ["op-1", "op-3", "op-4"]
        assert events[0] == DisputeEvent(
            "item-1", DisputeAction.RAISED, "org-2", "op-1", dt.date(2026, 3, 4), "short",
            "ab" * 32, seq=events[0].seq,
        )  # fmt: skip
        assert is_disputed(events)
        assert u.disputes.raised_days(["trade-1"]) == {
            "trade-1": [dt.date(2026, 3, 4), dt.date(2026, 3, 9)]
        }
        assert u.disputes.raised_days() == u.disputes.raised_days(["trade-1"])
        assert u.disputes.raised_days(["trade-9"]) == {}
        assert u.disputes.raised_days([]) == {}
        u.disputes.add(resolved)
        u.commit()
    with uow() as u:
        events = u.disputes.for_item("item-1")
        assert events[-1].text == "credit note agreed"
        assert not is_disputed(events)
        assert u.disputes.for_item("item-9") == []


def test_a_raised_dispute_without_its_day_counts_on_its_recording_day(
    uow: SqlUnitOfWorkFactory,
) -> None:
    before = dt.datetime.now(dt.UTC).date()
    with uow() as u:
        u.disputes.add(DisputeEvent("item-1", DisputeAction.RAISED, "org-2", "op-1"))
        u.commit()
    with uow() as u:
        (day,) = u.disputes.raised_days()["trade-1"]
    assert day in (before, dt.datetime.now(dt.UTC).date())


def test_a_fact_needs_its_item(uow: SqlUnitOfWorkFactory) -> None:
    with uow() as u, pytest.raises(ConflictError, match="item-9"):
        u.disputes.add(DisputeEvent("item-9", DisputeAction.RAISED, "org-2", "op-1"))


def test_dilutions_cancellations_and_defaults(
    uow: SqlUnitOfWorkFactory, store_engine: Engine
) -> None:
    proposed = DilutionEvent(
        "item-1", DilutionStep.PROPOSED, "sha256:" + "1" * 64, 12_345, "org-1", "op-1", "CN-7"
    )
    accepted = DilutionEvent(
        "item-1", DilutionStep.ACCEPTED, "sha256:" + "1" * 64, 12_345, "org-2", "op-2"
    )
    with uow() as u:
        u.dilutions.add(proposed)
        u.dilutions.add(accepted)
        u.cancel_approvals.add(CancelApproval("item-1", "org-1", "op-3"))
        u.cancel_approvals.add(CancelApproval("item-1", "org-2", "op-4"))
        u.default_marks.add(DefaultMark("item-1", "org-3", "op-5", dt.date(2026, 6, 1)))
        u.commit()
    with uow() as u:
        got = u.dilutions.for_item("item-1")
        assert [(d.step, d.amount, d.credit_note, d.actor_id) for d in got] == [
            (DilutionStep.PROPOSED, 12_345, "CN-7", "org-1"),
            (DilutionStep.ACCEPTED, 12_345, None, "org-2"),
        ]
        assert got[0].credit_note_hash == "sha256:" + "1" * 64
        assert [a.party_id for a in u.cancel_approvals.for_item("item-1")] == ["org-1", "org-2"]
        (mark,) = u.default_marks.for_item("item-1")
        assert (mark.marked_by, mark.op_id, mark.as_of) == ("org-3", "op-5", dt.date(2026, 6, 1))
    _fail(store_engine, "op-2", "op-4", "op-5")
    with uow() as u:
        assert [d.op_id for d in u.dilutions.for_item("item-1")] == ["op-1"]
        assert [a.party_id for a in u.cancel_approvals.for_item("item-1")] == ["org-1"]
        assert u.default_marks.for_item("item-1") == []


def test_warehouse_receipts_with_pledges_sales_and_releases(
    uow: SqlUnitOfWorkFactory, store_engine: Engine
) -> None:
    receipt = WarehouseReceipt(
        id="wr-1", warehouse_id="org-1", holder_id="org-2", goods_code="CU-CATHODE",
        description="copper cathode, 99.99%", description_hash="aa" * 32, quantity=250,
        unit="t", location="Shanghai bonded zone", evidence_hash="bb" * 32, op_id="op-1",
    )  # fmt: skip
    sale = ReceiptSale("sale-1", "wr-1", "org-2", "org-1", "wr-2", 40, 2_680_000_00, "op-4")
    with uow() as u:
        u.receipts.add(receipt)
        u.receipts.add_pledge(
            ReceiptPledge("wr-1", PledgeAction.PLEDGED, "org-2", "op-2", "org-3", 9_000_000_00)
        )
        u.receipts.add_pledge(ReceiptPledge("wr-1", PledgeAction.RELEASED, "org-3", "op-3"))
        u.receipts.add_sale(sale)
        u.receipts.add_sale_event(SaleEvent("sale-1", SaleAction.PAID, "org-1", "op-5", 1_000))
        u.receipts.add_sale_event(SaleEvent("sale-1", SaleAction.PAID, "org-1", "op-6", 2_000))
        u.receipts.add_sale_event(SaleEvent("sale-1", SaleAction.CLOSED, "org-2", "op-7"))
        u.receipts.add_release(GoodsRelease("wr-1", 10, "cc" * 32, "org-1", "op-8"))
        u.commit()
    with uow() as u:
        assert u.receipts.get("wr-1") == receipt
        assert u.receipts.get("wr-2") is None
        pledges = u.receipts.pledges("wr-1")
        assert [(p.action, p.bank_id, p.amount) for p in pledges] == [
            (PledgeAction.PLEDGED, "org-3", 9_000_000_00),
            (PledgeAction.RELEASED, None, None),
        ]
        assert u.receipts.get_sale("sale-1") == sale
        assert u.receipts.sale_into("wr-2") == sale
        assert u.receipts.sale_into("wr-1") is None
        assert u.receipts.sales("wr-1") == [sale]
        events = u.receipts.sale_events("sale-1")
        assert [(e.action, e.amount) for e in events] == [
            (SaleAction.PAID, 1_000), (SaleAction.PAID, 2_000), (SaleAction.CLOSED, None),
        ]  # fmt: skip
        (release,) = u.receipts.releases("wr-1")
        assert (release.quantity, release.evidence_hash, release.actor_id) == (
            10,
            "cc" * 32,
            "org-1",
        )
    with uow() as u, pytest.raises(ConflictError, match="wr-1"):
        u.receipts.add(receipt)
    _fail(store_engine, "op-1", "op-6", "op-4")
    with uow() as u:
        assert u.receipts.get("wr-1") is None
        assert u.receipts.get_sale("sale-1") is None
        assert [e.op_id for e in u.receipts.sale_events("sale-1")] == ["op-5", "op-7"]


def test_goods_prices_keep_every_price_and_give_the_latest(uow: SqlUnitOfWorkFactory) -> None:
    first = GoodsPrice("CU-CATHODE", 67_000.5, "CNY", dt.date(2026, 3, 1))
    second = GoodsPrice("CU-CATHODE", 68_250.25, "CNY", dt.date(2026, 3, 2), previous=67_000.5)
    with uow() as u:
        assert u.prices.latest("CU-CATHODE") is None
        u.prices.add(first)
        u.prices.add(GoodsPrice("AL-INGOT", 19_000.0, "CNY", dt.date(2026, 3, 1)))
        u.prices.add(second)
        u.commit()
    with uow() as u:
        assert u.prices.latest("CU-CATHODE") == second
        assert u.prices.latest("AL-INGOT") == GoodsPrice(
            "AL-INGOT", 19_000.0, "CNY", dt.date(2026, 3, 1)
        )


def test_policies_are_versioned_per_bank(uow: SqlUnitOfWorkFactory) -> None:
    v1 = PolicyVersion("org-3", 1, {"bank_id": "org-3", "max_pd": 0.25, "bases": ["verified"]})
    v2 = PolicyVersion("org-3", 2, {"bank_id": "org-3", "max_pd": 0.2, "bases": ["verified"]})
    with uow() as u:
        assert u.policies.latest("org-3") is None
        u.policies.add(v1)
        u.policies.add(v2)
        u.commit()
    with uow() as u:
        latest = u.policies.latest("org-3")
        assert latest is not None
        assert (latest.version, dict(latest.policy)) == (2, dict(v2.policy))
        assert latest.created_at is not None
        assert [v.version for v in u.policies.versions("org-3")] == [1, 2]
        first = u.policies.get("org-3", 1)
        assert first is not None and dict(first.policy) == dict(v1.policy)
        assert u.policies.get("org-3", 3) is None
        assert u.policies.versions("org-1") == []
    with uow() as u, pytest.raises(ConflictError, match="version 2 of org-3"):
        u.policies.add(v2)


def test_report_anchors_and_resubmissions(uow: SqlUnitOfWorkFactory) -> None:
    with uow() as u:
        u.report_anchors.add(ReportAnchor("ab" * 32, "op-1"))
        u.report_anchors.add(ReportAnchor("cd" * 32, "op-1"))
        u.resubmissions.note(["doc-1", "doc-2", "doc-1"])
        u.commit()
    with uow() as u:
        assert u.report_anchors.known(["ab" * 32, "ef" * 32, "cd" * 32]) == {"ab" * 32, "cd" * 32}
        assert u.report_anchors.known([]) == set()
        u.resubmissions.note(["doc-2"])
        assert u.resubmissions.counts() == {"doc-1": 2, "doc-2": 2}
    with uow() as u, pytest.raises(ConflictError, match="anchored already"):
        u.report_anchors.add(ReportAnchor("ab" * 32, "op-2"))


def test_forget_op_deletes_what_a_refused_operation_carried(uow: SqlUnitOfWorkFactory) -> None:
    receipt = WarehouseReceipt(
        "wr-1", "org-1", "org-2", "CU", "copper", "aa" * 32, 5, "t", "SH", "bb" * 32, "op-1"
    )
    with uow() as u:
        u.disputes.add(DisputeEvent("item-1", DisputeAction.RAISED, "org-2", "op-2"))
        u.dilutions.add(
            DilutionEvent("item-1", DilutionStep.PROPOSED, "cd" * 32, 5, "org-1", "op-3")
        )
        u.cancel_approvals.add(CancelApproval("item-1", "org-1", "op-4"))
        u.default_marks.add(DefaultMark("item-1", "org-3", "op-5"))
        u.receipts.add(receipt)
        u.receipts.add_sale(ReceiptSale("sale-1", "wr-1", "org-2", "org-1", "wr-2", 1, 9, "op-6"))
        u.receipts.add_sale_event(SaleEvent("sale-1", SaleAction.PAID, "org-1", "op-7", 9))
        u.report_anchors.add(ReportAnchor("ab" * 32, "op-8"))
        u.commit()
    with uow() as u:
        for repo in (u.disputes, u.dilutions, u.cancel_approvals, u.default_marks):
            repo.forget_op("op-9")  # another op: nothing goes
        for op_id in ("op-2", "op-3", "op-4", "op-5", "op-6", "op-7"):
            for repo in (u.disputes, u.dilutions, u.cancel_approvals, u.default_marks):
                repo.forget_op(op_id)
            u.receipts.forget_op(op_id)
        u.report_anchors.forget_op("op-8")
        u.commit()
    with uow() as u:
        assert u.disputes.for_item("item-1") == []
        assert u.dilutions.for_item("item-1") == []
        assert u.cancel_approvals.for_item("item-1") == []
        assert u.default_marks.for_item("item-1") == []
        assert u.receipts.get("wr-1") == receipt
        assert u.receipts.get_sale("sale-1") is None
        assert u.receipts.sale_events("sale-1") == []
        assert u.report_anchors.known(["ab" * 32]) == set()


def test_presentations_known_unless_their_operation_failed(
    uow: SqlUnitOfWorkFactory, store_engine: Engine
) -> None:
    with uow() as u:
        u.presentations.add(InvoicePresentation("sha256:" + "1" * 64, "trade-1", "org-1", "op-1"))
        u.presentations.add(InvoicePresentation("sha256:" + "2" * 64, "trade-1", "org-1", "op-1"))
        u.presentations.add(InvoicePresentation("sha256:" + "3" * 64, "trade-1", "org-3", "op-2"))
        u.commit()
    prints = ["sha256:" + c * 64 for c in "1234"]
    with uow() as u:
        assert u.presentations.known(prints) == set(prints[:3])
        assert u.presentations.known([]) == set()
    _fail(store_engine, "op-2")
    with uow() as u:
        assert u.presentations.known(prints) == set(prints[:2])
        u.presentations.forget_op("op-1")
        assert u.presentations.known(prints) == set()
