"""Mandates and signal clearances (issue 15) read back exactly, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, insert

from fourflow.adapters.db import SqlUnitOfWorkFactory
from fourflow.adapters.db import tables as t
from fourflow.domain.documents import DocumentKind
from fourflow.domain.errors import ConflictError, DomainValueError
from fourflow.domain.mandates import Mandate, SignalClearance
from fourflow.domain.transfers import InvoicePaidByTransfer

DAY = dt.date(2026, 3, 4)


def test_mandates_read_back_by_principal_and_an_id_is_stored_once(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    carrier = Mandate("m-1", "org-seller", "org-carrier", frozenset({DocumentKind.DESPATCH_ADVICE}),
                      DAY, None, DAY, "the carrier sends our despatch advices")  # fmt: skip
    erp = Mandate("m-2", "org-buyer", "org-erp",
                  frozenset({DocumentKind.ORDER, DocumentKind.RECEIPT_ADVICE}), DAY,
                  DAY + dt.timedelta(days=365))  # fmt: skip
    with uow_factory() as uow:
        uow.mandates.add(carrier)
        uow.mandates.add(erp)
        uow.commit()
    with uow_factory() as uow:
        assert uow.mandates.involving(["org-seller"]) == [carrier]
        assert uow.mandates.involving(["org-seller", "org-buyer", "org-x"]) == [carrier, erp]
        assert uow.mandates.list() == [carrier, erp]
        with pytest.raises(ConflictError, match="mandate m-1 exists"):
            uow.mandates.add(carrier)


def test_clearances_read_back_per_trade_in_order(uow_factory: SqlUnitOfWorkFactory) -> None:
    first = SignalClearance("trade-1", "VOLUME_SPIKE", "org-op", "a new plant, contract seen", DAY)
    second = SignalClearance("trade-1", "RELATED_PARTIES", "org-op", "disclosed group", DAY)
    other = SignalClearance("trade-2", "VOLUME_SPIKE", "org-op", "seasonal", DAY)
    with uow_factory() as uow:
        for c in (first, other, second):
            uow.signal_clearances.add(c)
        uow.commit()
    with uow_factory() as uow:
        assert uow.signal_clearances.for_trades(["trade-1"]) == [first, second]
        assert uow.signal_clearances.for_trades(["trade-3"]) == []
    with pytest.raises(DomainValueError, match="reason"):
        SignalClearance("trade-1", "VOLUME_SPIKE", "org-op", "  ", DAY)


def test_invoices_paid_by_transfers_read_back_without_a_refused_operation(
    uow_factory: SqlUnitOfWorkFactory, store_engine: Engine
) -> None:
    kept = InvoicePaidByTransfer("h-1", "trade-b", "INV-B", 30_000_000, "org-t1", "org-t2", DAY,
                                 "op-1")  # fmt: skip
    refused = InvoicePaidByTransfer("h-2", "trade-b", "INV-B", 1_000, "org-t1", "org-t2", DAY,
                                    "op-2")  # fmt: skip
    with uow_factory() as uow:
        uow.transfer_payments.add(kept)
        uow.transfer_payments.add(refused)
        uow.commit()
    now = dt.datetime.now(dt.UTC)
    with store_engine.begin() as connection:
        connection.execute(insert(t.outbox).values(
            op_id="op-2", kind="transfer", sender_org_id="org-t1", params={}, subject_id="x",
            status="failed", attempts=1, created_at=now, updated_at=now,
        ))  # fmt: skip
    with uow_factory() as uow:
        assert uow.transfer_payments.for_trades(["trade-b"]) == [kept]
        assert uow.transfer_payments.by_holding("h-1") == [kept]
        uow.transfer_payments.forget_op("op-1")
        assert uow.transfer_payments.for_trades(["trade-b"]) == []
    with pytest.raises(DomainValueError, match="positive"):
        InvoicePaidByTransfer("h", "t", "I", 0, "a", "b", DAY, "op")


def test_live_receipt_pledges_of_a_bank(uow_factory: SqlUnitOfWorkFactory) -> None:
    from fourflow.domain.receipts import PledgeAction, ReceiptPledge

    events = [
        ReceiptPledge("wr-1", PledgeAction.PLEDGED, "org-h", "op-1", "bank-a", 100),
        ReceiptPledge("wr-2", PledgeAction.PLEDGED, "org-h", "op-2", "bank-a", 200),
        ReceiptPledge("wr-2", PledgeAction.RELEASED, "bank-a", "op-3"),
        ReceiptPledge("wr-3", PledgeAction.PLEDGED, "org-h", "op-4", "bank-b", 300),
    ]
    with uow_factory() as uow:
        for e in events:
            uow.receipts.add_pledge(e)
        uow.commit()
    with uow_factory() as uow:
        a = [(p.receipt_id, p.amount) for p in uow.receipts.live_pledges("bank-a")]
        b = [(p.receipt_id, p.amount) for p in uow.receipts.live_pledges("bank-b")]
    assert a == [("wr-1", 100)] and b == [("wr-3", 300)]
