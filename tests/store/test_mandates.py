"""Mandates (and their revocation), signal clearances and goods financings (issue 15) read
back exactly, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from sqlalchemy import Engine, insert

from fourflow.adapters.db import SqlUnitOfWorkFactory
from fourflow.adapters.db import tables as t
from fourflow.domain.documents import DocumentKind
from fourflow.domain.errors import ConflictError, DomainValueError, NotFoundError
from fourflow.domain.financing import (
    Decision,
    FinancingStatus,
    GoodsFinancing,
    Outcome,
    Reason,
)
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


def test_a_revocation_and_the_clearing_officer_read_back(
    uow_factory: SqlUnitOfWorkFactory,
) -> None:
    carrier = Mandate("m-1", "org-seller", "org-carrier", frozenset({DocumentKind.DESPATCH_ADVICE}),
                      DAY)  # fmt: skip
    officer = SignalClearance("trade-1", "VOLUME_SPIKE", "org-op", "contract seen", DAY, "wang.li")
    with uow_factory() as uow:
        uow.mandates.add(carrier)
        uow.signal_clearances.add(officer)
        uow.commit()
    revoked = replace(carrier, revoked_on=DAY + dt.timedelta(days=30), revoked_by="org-seller",
                      revoke_reason="we changed carriers")  # fmt: skip
    with uow_factory() as uow:
        assert uow.mandates.get("m-1") == carrier and uow.mandates.get("m-9") is None
        uow.mandates.revoke(revoked)
        uow.commit()
    with uow_factory() as uow:
        assert uow.mandates.list() == [revoked]
        assert uow.signal_clearances.for_trades(["trade-1"]) == [officer]
        with pytest.raises(NotFoundError, match="mandate m-9"):
            uow.mandates.revoke(replace(revoked, id="m-9"))
    day = DAY + dt.timedelta(days=29)
    assert revoked.covers("org-seller", "org-carrier", DocumentKind.DESPATCH_ADVICE, day)
    assert not revoked.covers("org-seller", "org-carrier", DocumentKind.DESPATCH_ADVICE,
                              day + dt.timedelta(days=1))  # fmt: skip


def test_goods_financings_read_back_and_update(uow_factory: SqlUnitOfWorkFactory) -> None:
    decision = Decision(Outcome.APPROVE, (Reason("APPROVED", "within the goods' value"),),
                        400_000, 450, "policy-1", model_version="goods-collateral",
                        value=434_000, input_hash="ab" * 32)  # fmt: skip
    fin = GoodsFinancing("fin-g1", "wr-1", "org-1", "org-3", 400_000, 400_000, 450, DAY, "CNY",
                         "REBAR-HRB400", 1, FinancingStatus.APPROVED, decision, "op-p")  # fmt: skip
    other = replace(fin, id="fin-g2", receipt_id="wr-2", status=FinancingStatus.DECLINED,
                    principal=0, pledge_op_id=None)  # fmt: skip
    with uow_factory() as uow:
        uow.goods_financings.add(fin)
        uow.goods_financings.add(other)
        uow.commit()
    repaid = replace(fin, status=FinancingStatus.REPAID, closed_op_id="op-r")
    with uow_factory() as uow:
        assert uow.goods_financings.get("fin-g1") == fin
        assert uow.goods_financings.list() == [fin, other]
        assert uow.goods_financings.for_receipt("wr-2") == [other]
        uow.goods_financings.update(repaid)
        with pytest.raises(ConflictError, match="fin-g2 exists"):
            uow.goods_financings.add(other)
        uow.commit()
    with uow_factory() as uow:
        assert uow.goods_financings.get("fin-g1") == repaid
        with pytest.raises(NotFoundError, match="fin-g9"):
            uow.goods_financings.update(replace(fin, id="fin-g9"))
