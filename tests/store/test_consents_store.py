"""Consents, price lists and metered reads (issue 16 item 6) read back exactly, on SQLite and
PostgreSQL: a revocation, a price replaced, reads by month (UTC, end exclusive)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from fourflow.adapters.db import SqlUnitOfWorkFactory
from fourflow.domain.consents import Consent, DataKind, DataPrice, DataPurpose, DataUsage
from fourflow.domain.errors import ConflictError, NotFoundError

AT = dt.datetime(2026, 11, 30, 23, 59, 59, tzinfo=dt.UTC)


def _consent(cid: str, bank: str, **kw: object) -> Consent:
    base = Consent(
        id=cid, grantor_id="org-core", grantee_id=bank,
        kinds=frozenset({DataKind.PAYMENT_HISTORY, DataKind.TRADES}),
        purpose=DataPurpose.CREDIT_REVIEW, valid_from=dt.date(2026, 11, 1),
        valid_to=dt.date(2027, 1, 31), granted_by="wang.fang (admin)", granted_at=AT,
        counterparties=("org-tier2", "org-tier3"),
    )  # fmt: skip
    return replace(base, **kw)  # type: ignore[arg-type]


def _read(rid: str, bank: str, at: dt.datetime, fee: int) -> DataUsage:
    return DataUsage(rid, "org-core", bank, "li.wei (credit_officer)", DataKind.TRADES,
                     "org-core", 3, DataPurpose.CREDIT_REVIEW, "c-1", fee, "CNY", at)  # fmt: skip


def test_consents_prices_and_reads_read_back(uow_factory: SqlUnitOfWorkFactory) -> None:
    first = _consent("c-1", "org-bank")
    other = _consent(
        "c-2", "org-bank2", counterparties=(), purpose=DataPurpose.POST_LOAN_MONITORING
    )
    with uow_factory() as uow:
        uow.consents.add(first)
        uow.consents.add(other)
        uow.commit()
    revoked = replace(
        first, revoked_at=AT + dt.timedelta(hours=1), revoked_by="x", revoked_reason="done"
    )
    with uow_factory() as uow:
        assert uow.consents.get("c-1") == first
        assert uow.consents.between(grantor_id="org-core") == [first, other]
        assert uow.consents.between(grantor_id="org-core", grantee_id="org-bank2") == [other]
        assert uow.consents.between(grantee_id="org-nobody") == []
        with pytest.raises(ConflictError, match="consent c-1 exists"):
            uow.consents.add(first)
        uow.consents.revoke(revoked)
        with pytest.raises(NotFoundError, match="consent c-9"):
            uow.consents.revoke(replace(revoked, id="c-9"))
        uow.commit()
    with uow_factory() as uow:
        assert uow.consents.get("c-1") == revoked

    price = DataPrice("org-core", DataKind.TRADES, 300, "CNY", "admin", AT)
    with uow_factory() as uow:
        uow.consents.set_price(price)
        uow.consents.set_price(replace(price, price_minor=500))  # replaces, never two rows
        uow.consents.set_price(replace(price, kind=DataKind.PAYMENT_HISTORY, price_minor=1250))
        uow.commit()
    with uow_factory() as uow:
        assert [(p.kind, p.price_minor) for p in uow.consents.prices("org-core")] == [
            (DataKind.PAYMENT_HISTORY, 1250), (DataKind.TRADES, 500),
        ]  # fmt: skip
        assert uow.consents.prices("org-other") == []

    november = _read("r-1", "org-bank", AT, 300)
    december = _read("r-2", "org-bank2", AT + dt.timedelta(seconds=1), 500)
    with uow_factory() as uow:
        uow.consents.record(november)
        uow.consents.record(december)
        uow.commit()
    start, end = dt.datetime(2026, 11, 1, tzinfo=dt.UTC), dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    with uow_factory() as uow:
        assert uow.consents.usage(grantor_id="org-core") == [november, december]
        assert uow.consents.usage(grantor_id="org-core", start=start, end=end) == [november]
        assert uow.consents.usage(grantee_id="org-bank2", start=end) == [december]
        with pytest.raises(ConflictError, match="read r-1 was metered before"):
            uow.consents.record(november)
