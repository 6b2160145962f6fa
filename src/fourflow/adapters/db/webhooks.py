"""Webhooks in the store (issue 16): the event outbox inside the unit of work
(``ports.Notifications``), and endpoints and deliveries (``services.webhooks.WebhookStore``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy import Engine, Row, and_, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fourflow.adapters.db import tables as t
from fourflow.adapters.db.repositories import utc_now
from fourflow.services.webhooks import Delivery, Endpoint, Event

#: How a sealed secret begins (``envelope.SEALED_PREFIX``; the adapters are independent).
SEALED_PREFIX = "enc1:"
E, V, D = t.webhook_endpoints, t.webhook_events, t.webhook_deliveries


class SqlNotifications:
    """Events written in the unit of work's transaction, once per event id."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(
        self, *, event_id: str, org_id: str, kind: str, subject_id: str | None,
        data: dict[str, Any],
    ) -> bool:  # fmt: skip
        """Record the event; False when its id was recorded before (by anyone: one statement,
        ``ON CONFLICT DO NOTHING``, no savepoint; the relay records two a pledge)."""
        make = (
            postgresql.insert
            if self._session.get_bind().dialect.name == "postgresql"
            else sqlite.insert
        )
        stmt = (
            make(V)
            .values(
                event_id=event_id, org_id=org_id, kind=kind, subject_id=subject_id, data=data,
                created_at=utc_now(),
            )
            .on_conflict_do_nothing(index_elements=[V.c.event_id])
            .returning(V.c.seq)
        )  # fmt: skip
        return self._session.execute(stmt).first() is not None


def _endpoint(r: Row[Any]) -> Endpoint:
    return Endpoint(r.id, r.org_id, r.url, tuple(r.kinds), bool(r.active), r.created_at)


def _event(r: Row[Any]) -> Event:
    return Event(r.seq, r.event_id, r.org_id, r.kind, r.subject_id, dict(r.data), r.created_at)


def _delivery(r: Row[Any]) -> Delivery:
    return Delivery(
        r.endpoint_id, r.event_id, r.status, r.attempts, r.next_at, r.last_error, r.updated_at
    )


class SecretSealer(Protocol):
    """Seals the endpoints' signing secrets at rest (the key store's ``SecretBox``: AES-256-GCM
    under a data key wrapped by the master key)."""

    def seal(self, secret: str) -> str: ...
    def open(self, value: str) -> str: ...
    def is_sealed(self, value: str) -> bool: ...


class SqlWebhookStore:
    """Endpoints, events and deliveries, each call its own short transaction. Signing secrets
    are stored sealed by ``secrets``; a plaintext one (stored before they were) still reads,
    and ``seal_plaintext_secrets`` seals it in place."""

    def __init__(self, engine: Engine, secrets: SecretSealer) -> None:
        self.engine = engine
        self._secrets = secrets

    def add_endpoint(self, endpoint: Endpoint, secret: str) -> None:
        with self.engine.begin() as c:
            c.execute(
                insert(E).values(
                    id=endpoint.id, org_id=endpoint.org_id, url=endpoint.url,
                    kinds=list(endpoint.kinds), secret=self._secrets.seal(secret),
                    active=endpoint.active,
                    created_at=endpoint.created_at,
                )
            )  # fmt: skip

    def endpoints(self, org_id: str | None = None) -> list[Endpoint]:
        """Active endpoints (of ``org_id``), oldest first."""
        stmt = select(E).where(E.c.active.is_(True)).order_by(E.c.created_at, E.c.id)
        if org_id is not None:
            stmt = stmt.where(E.c.org_id == org_id)
        with self.engine.connect() as c:
            return [_endpoint(r) for r in c.execute(stmt)]

    def endpoint(self, endpoint_id: str) -> Endpoint | None:
        with self.engine.connect() as c:
            r = c.execute(select(E).where(E.c.id == endpoint_id)).first()
        return None if r is None else _endpoint(r)

    def secret(self, endpoint_id: str) -> str:
        with self.engine.connect() as c:
            found = str(c.execute(select(E.c.secret).where(E.c.id == endpoint_id)).scalar_one())
        return self._secrets.open(found) if self._secrets.is_sealed(found) else found

    def seal_plaintext_secrets(self) -> int:
        """Seal every secret still stored in plaintext (each row only if unchanged since it
        was read); returns how many were sealed."""
        sealed = 0
        with self.engine.begin() as c:
            plain = select(E.c.id, E.c.secret).where(E.c.secret.not_like(f"{SEALED_PREFIX}%"))
            for row in c.execute(plain).all():
                if self._secrets.is_sealed(row.secret):
                    continue
                done = c.execute(
                    update(E)
                    .where(and_(E.c.id == row.id, E.c.secret == row.secret))
                    .values(secret=self._secrets.seal(row.secret))
                )
                sealed += done.rowcount
        return sealed

    def deactivate(self, endpoint_id: str) -> None:
        with self.engine.begin() as c:
            c.execute(update(E).where(E.c.id == endpoint_id).values(active=False))

    def events(self, org_id: str, after_seq: int, limit: int) -> list[Event]:
        stmt = (
            select(V)
            .where(V.c.org_id == org_id, V.c.seq > after_seq)
            .order_by(V.c.seq)
            .limit(limit)
        )
        with self.engine.connect() as c:
            return [_event(r) for r in c.execute(stmt)]

    def last_seq(self, org_id: str) -> int:
        with self.engine.connect() as c:
            found = c.execute(
                select(V.c.seq).where(V.c.org_id == org_id).order_by(V.c.seq.desc()).limit(1)
            ).scalar()
        return int(found or 0)

    def event(self, event_id: str) -> Event | None:
        with self.engine.connect() as c:
            r = c.execute(select(V).where(V.c.event_id == event_id)).first()
        return None if r is None else _event(r)

    def queue_new(self, endpoints: Sequence[Endpoint], now: dt.datetime) -> int:
        """A pending delivery for each event an endpoint wants and has not had queued (events
        recorded since the endpoint was registered); the number queued."""
        queued = 0
        for ep in endpoints:
            missing = (
                select(V.c.event_id)
                .where(
                    V.c.org_id == ep.org_id,
                    V.c.kind.in_(ep.kinds),
                    V.c.created_at >= ep.created_at,
                    ~select(D.c.event_id)
                    .where(and_(D.c.endpoint_id == ep.id, D.c.event_id == V.c.event_id))
                    .exists(),
                )
                .order_by(V.c.seq)
                .limit(1000)
            )
            with self.engine.begin() as c:
                ids = list(c.execute(missing).scalars())
            for eid in ids:
                try:
                    with self.engine.begin() as c:
                        c.execute(
                            insert(D).values(
                                endpoint_id=ep.id, event_id=eid, status="pending", attempts=0,
                                next_at=now, last_error=None, updated_at=now,
                            )
                        )  # fmt: skip
                    queued += 1
                except IntegrityError:  # another deliverer queued it first
                    continue
        return queued

    def due(self, now: dt.datetime, limit: int) -> list[Delivery]:
        stmt = (
            select(D)
            .where(D.c.status == "pending", D.c.next_at <= now)
            .order_by(D.c.next_at)
            .limit(limit)
        )
        with self.engine.connect() as c:
            return [_delivery(r) for r in c.execute(stmt)]

    def update_delivery(self, delivery: Delivery) -> None:
        with self.engine.begin() as c:
            c.execute(
                update(D)
                .where(D.c.endpoint_id == delivery.endpoint_id, D.c.event_id == delivery.event_id)
                .values(
                    status=delivery.status, attempts=delivery.attempts, next_at=delivery.next_at,
                    last_error=delivery.last_error, updated_at=delivery.updated_at,
                )
            )  # fmt: skip

    def deliveries(self, org_id: str, status: str) -> list[tuple[Delivery, Event]]:
        """``org_id``'s deliveries in ``status`` with their events, oldest first."""
        stmt = (
            select(D, V)
            .join(V, V.c.event_id == D.c.event_id)
            .join(E, E.c.id == D.c.endpoint_id)
            .where(E.c.org_id == org_id, D.c.status == status)
            .order_by(V.c.seq)
        )
        with self.engine.connect() as c:
            return [(_delivery(r), _event(r)) for r in c.execute(stmt)]
