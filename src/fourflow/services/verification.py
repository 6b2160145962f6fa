"""Verifying trades: gather the trade's documents and parties, run the rules, store the report."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from fourflow.domain.findings import VerificationReport
from fourflow.domain.parties import Organisation
from fourflow.domain.trades import Trade
from fourflow.services.common import get_trade, report_hash
from fourflow.services.ports import TradeRecord, UnitOfWork, UnitOfWorkFactory
from fourflow.verification.rules import TradeContext, verify_trade


def load_trade(uow: UnitOfWork, record: TradeRecord) -> Trade:
    """The domain trade with its documents, in link order."""
    docs = []
    for doc_id in record.document_ids:
        stored = uow.documents.get(doc_id)
        if stored is not None:
            docs.append(stored.document)
    return Trade(
        id=record.id,
        scenario=record.scenario,
        seller_id=record.seller_id,
        buyer_id=record.buyer_id,
        documents=tuple(docs),
    )


def _parties(uow: UnitOfWork, trade: Trade) -> dict[str, Organisation]:
    parties: dict[str, Organisation] = {}
    for doc in trade.documents:
        for key in doc.seller.keys() | doc.buyer.keys():
            if key not in parties:
                org = uow.organisations.by_key(key)
                if org is not None:
                    parties[key] = org
    return parties


def verify(*, uow_factory: UnitOfWorkFactory, trade_id: str, as_of: dt.date) -> VerificationReport:
    """Verify one trade as of a date and store the report with its hash."""
    with uow_factory() as uow:
        record = get_trade(uow, trade_id)
        trade = load_trade(uow, record)
        report = verify_trade(TradeContext(trade, _parties(uow, trade), as_of))
        uow.trades.update(
            replace(
                record,
                status=report.status.value,
                score=report.score,
                report=report,
                report_hash=report_hash(report),
            )
        )
        uow.commit()
    return report


def verify_all(
    *, uow_factory: UnitOfWorkFactory, as_of: dt.date, only_unverified: bool = False
) -> list[VerificationReport]:
    """Verify every trade (or only those not verified yet)."""
    with uow_factory() as uow:
        ids = [t.id for t in uow.trades.list() if not only_unverified or t.report is None]
    return [verify(uow_factory=uow_factory, trade_id=i, as_of=as_of) for i in ids]
