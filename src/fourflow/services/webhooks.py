"""Notifications (issue 16): per-organisation webhooks and the event outbox they read.

Events that concern an organisation are written to the event outbox (``Notifications``) in the
transaction that records their fact, once per organisation, each with a unique, deterministic
event id. ``deliver_webhooks`` is one bounded delivery pass: it queues a delivery for every
active endpoint that wants a new event of its organisation, then POSTs the due ones, in
parallel with a bounded timeout each (a receiver that hangs holds one worker for at most the
timeout, never the others), signed with HMAC-SHA256 over ``timestamp + "." + body``. A failed
attempt is retried with exponential backoff; after ``max_attempts`` the delivery is dead
(listed by the API). Delivery is at least once: a receiver must be idempotent by event id.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, Protocol
from urllib.parse import urlsplit

from fourflow.domain.errors import DomainValueError, NotFoundError
from fourflow.domain.financing import Financing
from fourflow.domain.settlement import Notice
from fourflow.services import commands as cmd
from fourflow.services.ports import ChainOp, UnitOfWork

#: The kinds of event an endpoint may ask for.
EVENT_KINDS = (
    "document.verified",
    "document.failed",
    "item.issued",
    "item.confirmed",
    "item.disputed",
    "item.dispute_withdrawn",
    "item.dispute_resolved",
    "item.overdue",
    "item.defaulted",
    "item.route_change",
    "financing.decided",
    "payment.routed",
)
SIGNATURE_HEADER = "FourFlow-Signature"
EVENT_ID_HEADER = "FourFlow-Event-Id"
TIMESTAMP_HEADER = "FourFlow-Timestamp"
KIND_HEADER = "FourFlow-Event-Kind"
#: Receivers should refuse a timestamp further than this from their clock (replay).
TOLERANCE_SECONDS = 300
MAX_URL = 2000


class WebhookError(DomainValueError):
    """A webhook request the platform refuses (bad URL, unknown kind, not found)."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: str
    org_id: str
    url: str
    kinds: tuple[str, ...]
    active: bool
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Event:
    seq: int
    event_id: str
    org_id: str
    kind: str
    subject_id: str | None
    data: dict[str, Any]
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Delivery:
    endpoint_id: str
    event_id: str
    status: str  # pending, delivered, dead
    attempts: int
    next_at: dt.datetime
    last_error: str | None
    updated_at: dt.datetime


class WebhookStore(Protocol):
    """Endpoints, events and deliveries in the store (``adapters.db.webhooks``)."""

    def add_endpoint(self, endpoint: Endpoint, secret: str) -> None: ...
    def endpoints(self, org_id: str | None = None) -> list[Endpoint]: ...
    def endpoint(self, endpoint_id: str) -> Endpoint | None: ...
    def secret(self, endpoint_id: str) -> str: ...
    def deactivate(self, endpoint_id: str) -> None: ...
    def events(self, org_id: str, after_seq: int, limit: int) -> list[Event]: ...
    def last_seq(self, org_id: str) -> int: ...
    def event(self, event_id: str) -> Event | None: ...
    def queue_new(self, endpoints: Sequence[Endpoint], now: dt.datetime) -> int: ...
    def due(self, now: dt.datetime, limit: int) -> list[Delivery]: ...
    def update_delivery(self, delivery: Delivery) -> None: ...
    def deliveries(self, org_id: str, status: str) -> list[tuple[Delivery, Event]]: ...


class Poster(Protocol):
    """POSTs a body; returns the HTTP status, raises OSError when nothing came back in time."""

    def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> int: ...


# ----------------------------------------------------------------------------- endpoints


def check_url(url: str) -> str:
    """The URL if it is an absolute http(s) URL with a host; WebhookError otherwise."""
    if len(url) > MAX_URL:
        raise WebhookError(f"webhook url: longer than {MAX_URL} characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise WebhookError(f"webhook url {url!r}: only http and https URLs are accepted")
    if not parts.hostname:
        raise WebhookError(f"webhook url {url!r}: no host")
    if parts.username or parts.password:
        raise WebhookError(f"webhook url {url!r}: credentials in the URL are not accepted")
    return url


def check_kinds(kinds: Iterable[str]) -> tuple[str, ...]:
    """The kinds, each one of EVENT_KINDS, at least one."""
    wanted = tuple(dict.fromkeys(kinds))
    if not wanted:
        raise WebhookError("webhook kinds: name at least one event kind")
    unknown = [k for k in wanted if k not in EVENT_KINDS]
    if unknown:
        raise WebhookError(
            f"webhook kinds: unknown {', '.join(unknown)} (known: {', '.join(EVENT_KINDS)})"
        )
    return wanted


def register(
    store: WebhookStore, *, org_id: str, url: str, kinds: Iterable[str], now: dt.datetime
) -> tuple[Endpoint, str]:
    """Register an endpoint of ``org_id``; returns it and its signing secret (shown once)."""
    endpoint = Endpoint(
        id=f"wh_{uuid.uuid4().hex[:20]}", org_id=org_id, url=check_url(url),
        kinds=check_kinds(kinds), active=True, created_at=now,
    )  # fmt: skip
    secret = f"whsec_{secrets.token_urlsafe(32)}"
    store.add_endpoint(endpoint, secret)
    return endpoint, secret


def owned(store: WebhookStore, org_id: str, endpoint_id: str) -> Endpoint:
    """``org_id``'s active endpoint; another organisation's is not found, as if it were not."""
    found = store.endpoint(endpoint_id)
    if found is None or found.org_id != org_id or not found.active:
        raise NotFoundError(f"webhook {endpoint_id} not found")
    return found


def delete(store: WebhookStore, org_id: str, endpoint_id: str) -> Endpoint:
    """Deactivate ``org_id``'s endpoint: nothing more is delivered to it."""
    found = owned(store, org_id, endpoint_id)
    store.deactivate(found.id)
    return replace(found, active=False)


# ----------------------------------------------------------------------------- events


def event_id(key: str, kind: str, org_id: str) -> str:
    """The deterministic id of the event ``kind`` of fact ``key`` for ``org_id``."""
    return "evt_" + hashlib.sha256(f"{key}|{kind}|{org_id}".encode()).hexdigest()[:32]


def record(
    uow: UnitOfWork, *, key: str, kind: str, org_ids: Iterable[str | None],
    subject_id: str | None, data: dict[str, Any],
) -> list[str]:  # fmt: skip
    """Write event ``kind`` of fact ``key`` for each organisation it concerns (in ``uow``'s
    transaction); the ids of the events new now."""
    if kind not in EVENT_KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    new = []
    for org_id in dict.fromkeys(o for o in org_ids if o):
        eid = event_id(key, kind, org_id)
        if uow.notifications.add(
            event_id=eid, org_id=org_id, kind=kind, subject_id=subject_id, data=data
        ):
            new.append(eid)
    return new


def trade_verified(
    uow: UnitOfWork, *, trade_id: str, org_ids: Sequence[str], status: str, report_hash: str
) -> None:
    """``document.verified`` (the trade's documents verified) or ``document.failed`` (partial
    or failed) for its seller and buyer; once per report."""
    kind = "document.verified" if status == "verified" else "document.failed"
    record(
        uow, key=f"verify:{trade_id}:{report_hash}", kind=kind, org_ids=org_ids,
        subject_id=trade_id,
        data={"trade_id": trade_id, "status": status, "report_hash": report_hash},
    )  # fmt: skip


def financing_declined(uow: UnitOfWork, financing: Financing) -> None:
    """``financing.decided`` (declined) for the borrower and the bank; an approval's event is
    written when the chain applies the bank's acceptance of the pledge (``on_applied``)."""
    record(
        uow, key=f"decline:{financing.id}", kind="financing.decided",
        org_ids=(financing.borrower_id, financing.bank_id), subject_id=financing.id,
        data={"financing_id": financing.id, "item_id": financing.item_id,
              "decision": "declined", "status": "declined", "principal": 0},
    )  # fmt: skip


def financing_failed(uow: UnitOfWork, financing: Financing, reason: str) -> None:
    """``financing.decided`` (failed: the chain refused its presentation or its pledge after
    the robot's decision, so nothing was lent) for the borrower and the bank."""
    record(
        uow, key=f"failed:{financing.id}", kind="financing.decided",
        org_ids=(financing.borrower_id, financing.bank_id), subject_id=financing.id,
        data={"financing_id": financing.id, "item_id": financing.item_id,
              "decision": financing.decision.outcome.value if financing.decision else None,
              "status": "failed", "principal": 0, "reason": reason},
    )  # fmt: skip


OVERDUE_NOTICES = frozenset({"short", "unrouted"})


def notice_given(uow: UnitOfWork, notice: Notice) -> None:
    """``item.overdue`` for the recipient of a settlement notice saying the item was not paid
    in full on its day. A notice that came with a chain operation is told when the chain
    applied it (``on_applied``): a refused operation's notice is forgotten with it."""
    if notice.kind.value not in OVERDUE_NOTICES or notice.op_id is not None:
        return
    _overdue(uow, notice)


def _overdue(uow: UnitOfWork, notice: Notice) -> None:
    record(
        uow, key=f"notice:{notice.key}", kind="item.overdue", org_ids=(notice.recipient_id,),
        subject_id=notice.subject_id,
        data={"item_id": notice.subject_id, "notice": notice.kind.value,
              "on_day": notice.on_day.isoformat(), "amount": notice.amount,
              "text": notice.text},
    )  # fmt: skip


def on_applied(uow: UnitOfWork, op: ChainOp) -> None:
    """Record the events of a chain operation just applied (the relay's transaction)."""
    c = op.command
    kind: str | None = None
    item_id: str | None = None
    match c:
        case cmd.IssueItem():
            kind, item_id = "item.issued", c.item_id
        case cmd.ConfirmItem():
            kind, item_id = "item.confirmed", c.item_id
        case cmd.Dispute():
            kind, item_id = "item.disputed", c.item_id
        case cmd.WithdrawDispute():
            kind, item_id = "item.dispute_withdrawn", c.item_id
        case cmd.ResolveDispute():
            kind, item_id = "item.dispute_resolved", c.item_id
        case cmd.MarkDefault():
            kind, item_id = "item.defaulted", c.item_id
        case cmd.AttestPayment() | cmd.SettleAtMaturity():
            kind, item_id = "payment.routed", c.item_id
        case cmd.Pledge():
            # The holder's offer: nothing is lent until the bank accepts it (the acceptance
            # tells; a refused acceptance tells ``failed`` instead), so no event here.
            return
        case cmd.AcceptPledge():
            financing = uow.financings.get(op.subject_id) if op.subject_id else None
            if financing is not None:
                record(
                    uow, key=op.op_id, kind="financing.decided",
                    org_ids=(financing.borrower_id, financing.bank_id),
                    subject_id=financing.id,
                    data={"financing_id": financing.id, "item_id": financing.item_id,
                          "decision": "approved", "status": "active",
                          "principal": financing.principal, "op_id": op.op_id},
                )  # fmt: skip
            return
        case _:
            return
    if isinstance(c, cmd.SettleAtMaturity):  # a short collection: the item is overdue
        for notice in uow.settlement.notices(subject_id=c.item_id):
            if notice.op_id == op.op_id and notice.kind.value in OVERDUE_NOTICES:
                _overdue(uow, notice)
    item = uow.items.get(item_id)
    if item is None:
        return
    data: dict[str, Any] = {"item_id": item.id, "trade_id": item.trade_id, "op_id": op.op_id}
    if isinstance(c, cmd.AttestPayment | cmd.SettleAtMaturity):
        data["amount"] = c.amount
    if isinstance(c, cmd.ResolveDispute):  # the operator's recorded outcome and reason
        data["resolution"] = c.resolution
    holders = [h.holder_id for h in uow.items.holdings(item.id)]
    record(
        uow, key=op.op_id, kind=kind, org_ids=(item.debtor_id, item.creditor_id, *holders),
        subject_id=item.id, data=data,
    )  # fmt: skip


# ----------------------------------------------------------------------------- delivery


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value: ``t=<timestamp>,v1=<hex HMAC-SHA256>`` over
    ``"<timestamp>." + body`` with the endpoint's secret."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(
    secret: str, header: str, body: bytes, *, now: int, tolerance: int = TOLERANCE_SECONDS
) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent."""
    fields = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        timestamp = int(fields.get("t", ""))
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header)


def body_of(event: Event) -> bytes:
    """The JSON body POSTed for ``event``."""
    return json.dumps(
        {
            "id": event.event_id,
            "kind": event.kind,
            "org_id": event.org_id,
            "subject_id": event.subject_id,
            "created_at": event.created_at.isoformat(),
            "data": event.data,
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode()


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    queued: int
    delivered: int
    retried: int
    dead: int


def deliver_webhooks(
    store: WebhookStore,
    poster: Poster,
    *,
    now: Callable[[], dt.datetime],
    max_attempts: int = 6,
    backoff_seconds: float = 2.0,
    timeout_seconds: float = 5.0,
    limit: int = 200,
    workers: int = 8,
) -> DeliveryResult:
    """One delivery pass: queue new events for active endpoints, then POST the due deliveries
    (at most ``limit``, ``workers`` at a time, each bounded by ``timeout_seconds``).

    A 2xx answer delivers; anything else (or no answer in time) is retried after
    ``backoff_seconds * 2**(attempts-1)``, and after ``max_attempts`` attempts is dead.
    """
    if max_attempts < 1 or timeout_seconds <= 0 or limit < 1 or workers < 1:
        raise ValueError("deliver_webhooks: attempts, timeout, limit and workers must be > 0")
    endpoints = {e.id: e for e in store.endpoints()}
    queued = store.queue_new(list(endpoints.values()), now())
    due = [d for d in store.due(now(), limit) if d.endpoint_id in endpoints]

    def attempt(d: Delivery) -> tuple[Delivery, str | None]:
        event = store.event(d.event_id)
        endpoint = endpoints[d.endpoint_id]
        if event is None:
            return d, "the event is gone"
        body = body_of(event)
        stamp = int(now().timestamp())
        headers = {
            "Content-Type": "application/json",
            EVENT_ID_HEADER: event.event_id,
            KIND_HEADER: event.kind,
            TIMESTAMP_HEADER: str(stamp),
            SIGNATURE_HEADER: sign(store.secret(endpoint.id), stamp, body),
        }
        try:
            status = poster.post(endpoint.url, body, headers, timeout_seconds)
        except OSError as exc:
            return d, f"no answer: {type(exc).__name__}: {exc}"[:500]
        return d, None if 200 <= status < 300 else f"answered HTTP {status}"

    delivered = retried = dead = 0
    with ThreadPoolExecutor(max_workers=min(workers, max(1, len(due)))) as pool:
        outcomes = list(pool.map(attempt, due))
    for d, error in outcomes:
        at = now()
        tries = d.attempts + 1
        if error is None:
            store.update_delivery(
                replace(d, status="delivered", attempts=tries, last_error=None, updated_at=at)
            )
            delivered += 1
        elif tries >= max_attempts:
            store.update_delivery(
                replace(d, status="dead", attempts=tries, last_error=error, updated_at=at)
            )
            dead += 1
        else:
            wait = dt.timedelta(seconds=backoff_seconds * 2 ** (tries - 1))
            store.update_delivery(
                replace(d, attempts=tries, next_at=at + wait, last_error=error, updated_at=at)
            )
            retried += 1
    return DeliveryResult(queued, delivered, retried, dead)
