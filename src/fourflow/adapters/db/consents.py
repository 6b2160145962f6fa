"""A core enterprise's data consents, price list and metered reads in the store
(``ports.DataConsents``, issue 16 item 6), inside the unit of work's transaction."""

from __future__ import annotations

import builtins
import datetime as dt
from typing import Any

from sqlalchemy import Row, delete, insert, select, update

from fourflow.adapters.db import tables as t
from fourflow.adapters.db.repositories import _Repository
from fourflow.domain.consents import Consent, DataKind, DataPrice, DataPurpose, DataUsage

C, P, U = t.data_consents, t.data_prices, t.data_usage


def _consent(r: Row[Any]) -> Consent:
    return Consent(
        id=r.id, grantor_id=r.grantor_id, grantee_id=r.grantee_id,
        kinds=frozenset(DataKind(k) for k in r.kinds), purpose=DataPurpose(r.purpose),
        valid_from=r.valid_from, valid_to=r.valid_to, granted_by=r.granted_by,
        granted_at=r.granted_at, counterparties=tuple(r.counterparties),
        revoked_at=r.revoked_at, revoked_by=r.revoked_by, revoked_reason=r.revoked_reason,
    )  # fmt: skip


def _usage(r: Row[Any]) -> DataUsage:
    return DataUsage(
        id=r.id, grantor_id=r.grantor_id, grantee_id=r.grantee_id, reader=r.reader,
        kind=DataKind(r.kind), object_id=r.object_id, records=r.records,
        purpose=DataPurpose(r.purpose), consent_id=r.consent_id, fee_minor=r.fee_minor,
        currency=r.currency, read_at=r.read_at,
    )  # fmt: skip


class SqlDataConsents(_Repository):
    """Consents, prices and reads (``ports.DataConsents``)."""

    def add(self, consent: Consent) -> None:
        """Record a consent; an id already stored is a ConflictError."""
        stmt = insert(C).values(
            id=consent.id, grantor_id=consent.grantor_id, grantee_id=consent.grantee_id,
            kinds=sorted(k.value for k in consent.kinds),
            counterparties=list(consent.counterparties), purpose=consent.purpose.value,
            valid_from=consent.valid_from, valid_to=consent.valid_to,
            granted_by=consent.granted_by, granted_at=consent.granted_at,
            revoked_at=consent.revoked_at, revoked_by=consent.revoked_by,
            revoked_reason=consent.revoked_reason,
        )  # fmt: skip
        self._insert(stmt, lambda: f"consent {consent.id} exists")

    def get(self, consent_id: str) -> Consent | None:
        row = self._row(select(C).where(C.c.id == consent_id))
        return None if row is None else _consent(row)

    def revoke(self, consent: Consent) -> None:
        """Record the consent's revocation."""
        stmt = (
            update(C)
            .where(C.c.id == consent.id)
            .values(revoked_at=consent.revoked_at, revoked_by=consent.revoked_by,
                    revoked_reason=consent.revoked_reason)
        )  # fmt: skip
        self._update(stmt, f"consent {consent.id}")

    def between(
        self, *, grantor_id: str | None = None, grantee_id: str | None = None
    ) -> builtins.list[Consent]:
        stmt = select(C).order_by(C.c.granted_at, C.c.id)
        if grantor_id is not None:
            stmt = stmt.where(C.c.grantor_id == grantor_id)
        if grantee_id is not None:
            stmt = stmt.where(C.c.grantee_id == grantee_id)
        return [_consent(r) for r in self._rows(stmt)]

    def set_price(self, price: DataPrice) -> None:
        """Replace the grantor's price of the kind."""
        self._session.execute(
            delete(P).where(P.c.grantor_id == price.grantor_id, P.c.kind == price.kind.value)
        )
        stmt = insert(P).values(
            grantor_id=price.grantor_id, kind=price.kind.value, price_minor=price.price_minor,
            currency=price.currency, set_by=price.set_by, set_at=price.set_at,
        )  # fmt: skip
        self._insert(stmt, lambda: f"the price of {price.kind.value} of {price.grantor_id}")

    def prices(self, grantor_id: str) -> builtins.list[DataPrice]:
        stmt = select(P).where(P.c.grantor_id == grantor_id).order_by(P.c.kind)
        return [
            DataPrice(r.grantor_id, DataKind(r.kind), r.price_minor, r.currency, r.set_by,
                      r.set_at)
            for r in self._rows(stmt)
        ]  # fmt: skip

    def record(self, usage: DataUsage) -> None:
        stmt = insert(U).values(
            id=usage.id, grantor_id=usage.grantor_id, grantee_id=usage.grantee_id,
            reader=usage.reader, kind=usage.kind.value, object_id=usage.object_id,
            records=usage.records, purpose=usage.purpose.value, consent_id=usage.consent_id,
            fee_minor=usage.fee_minor, currency=usage.currency, read_at=usage.read_at,
        )  # fmt: skip
        self._insert(stmt, lambda: f"read {usage.id} was metered before")

    def usage(
        self, *, grantor_id: str | None = None, grantee_id: str | None = None,
        start: dt.datetime | None = None, end: dt.datetime | None = None,
    ) -> builtins.list[DataUsage]:  # fmt: skip
        stmt = select(U).order_by(U.c.seq)
        if grantor_id is not None:
            stmt = stmt.where(U.c.grantor_id == grantor_id)
        if grantee_id is not None:
            stmt = stmt.where(U.c.grantee_id == grantee_id)
        if start is not None:
            stmt = stmt.where(U.c.read_at >= start)
        if end is not None:
            stmt = stmt.where(U.c.read_at < end)
        return [_usage(r) for r in self._rows(stmt)]
