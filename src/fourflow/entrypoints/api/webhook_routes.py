"""Notifications (issue 16): an organisation's webhooks, its dead letters, and a server-sent
event stream of its events for browsers."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from fourflow.entrypoints.api.routing import caller, route, state
from fourflow.services import webhooks
from fourflow.services.webhooks import EVENT_KINDS, Endpoint

router = APIRouter()

#: How often an open stream looks for new events.
POLL_SECONDS = 0.2


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(min_length=8, max_length=webhooks.MAX_URL, description="http(s) only")
    kinds: list[str] = Field(
        min_length=1, max_length=len(EVENT_KINDS), description=f"of: {', '.join(EVENT_KINDS)}"
    )


class WebhookOut(BaseModel):
    id: str
    url: str
    kinds: list[str]
    active: bool
    created_at: dt.datetime


class NewWebhookOut(WebhookOut):
    secret: str = Field(
        description="Shown once: the key of the HMAC-SHA256 signature of every delivery."
    )


class DeadLetterOut(BaseModel):
    webhook_id: str
    event_id: str
    kind: str
    subject_id: str | None
    attempts: int
    last_error: str | None
    dead_since: dt.datetime
    data: dict[str, Any]


def _out(e: Endpoint) -> WebhookOut:
    return WebhookOut(
        id=e.id, url=e.url, kinds=list(e.kinds), active=e.active, created_at=e.created_at
    )


@route(router, "POST", "/webhooks", "webhooks.manage", status_code=201)
def create_webhook(request: Request, body: WebhookIn) -> NewWebhookOut:
    """Register an endpoint for the caller's organisation's events (its secret shown once)."""
    endpoint, secret = webhooks.register(
        state(request).platform.webhooks, org_id=caller(request).org_id, url=body.url,
        kinds=body.kinds, now=dt.datetime.now(dt.UTC),
    )  # fmt: skip
    return NewWebhookOut(secret=secret, **_out(endpoint).model_dump())


@route(router, "GET", "/webhooks", "webhooks.manage")
def list_webhooks(request: Request) -> list[WebhookOut]:
    """The organisation's active endpoints (never their secrets)."""
    return [_out(e) for e in state(request).platform.webhooks.endpoints(caller(request).org_id)]


@route(router, "GET", "/webhooks/dead-letters", "webhooks.manage")
def dead_letters(request: Request) -> list[DeadLetterOut]:
    """Deliveries to the organisation's endpoints given up after the last attempt."""
    found = state(request).platform.webhooks.deliveries(caller(request).org_id, "dead")
    out = []
    for d, e in found:
        letter = DeadLetterOut(
            webhook_id=d.endpoint_id, event_id=e.event_id, kind=e.kind, subject_id=e.subject_id,
            attempts=d.attempts, last_error=d.last_error, dead_since=d.updated_at, data=e.data,
        )  # fmt: skip
        out.append(letter)
    return out


@route(router, "DELETE", "/webhooks/{webhook_id}", "webhooks.manage")
def delete_webhook(request: Request, webhook_id: str) -> WebhookOut:
    """Delete an endpoint of the organisation: nothing more is delivered to it."""
    store = state(request).platform.webhooks
    return _out(webhooks.delete(store, caller(request).org_id, webhook_id))


@route(
    router, "GET", "/events/stream", "events.stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-sent events"}},
)  # fmt: skip
def event_stream(
    request: Request,
    after: int | None = Query(default=None, ge=0, description="Send events after this id"),
    limit: int = Query(default=1000, ge=1, le=10_000, description="End after this many"),
    seconds: float | None = Query(default=None, gt=0, le=3600, description="End after this"),
) -> StreamingResponse:
    """The caller's organisation's events as server-sent events (``id`` is the event's
    sequence number: reconnect with ``Last-Event-ID`` or ``after`` to resume). The stream ends
    after ``limit`` events or ``seconds`` (at most, and by default,
    FOURFLOW_EVENTS_STREAM_SECONDS), and when the server stops (within ``POLL_SECONDS``: a
    stream would otherwise hold uvicorn's graceful shutdown open until it ends)."""
    api = state(request)
    org_id = caller(request).org_id
    store = api.platform.webhooks
    last = request.headers.get("last-event-id", "").strip()
    start_after = after if after is not None else int(last) if last.isdigit() else None
    if start_after is None:
        start_after = store.last_seq(org_id)  # only what happens from now on
    longest = api.platform.settings.events_stream_seconds
    budget = min(seconds, longest) if seconds is not None else longest

    stopping = api.stopping

    async def stream() -> AsyncIterator[str]:
        # An async generator: a stream waits between polls without holding a thread, and ends
        # when its client goes away (StreamingResponse cancels it on the disconnect). A
        # generator run in the thread pool was not cancelled: every page a browser left kept
        # its stream polling the store five times a second, in a thread of its own, until the
        # stream's time ran out (a minute for the web app).
        cursor, sent = start_after, 0
        deadline = time.monotonic() + budget
        yield "retry: 2000\n: connected\n\n"
        while sent < limit and time.monotonic() < deadline and not stopping.is_set():
            found = await run_in_threadpool(store.events, org_id, cursor, min(100, limit - sent))
            for e in found:
                payload = json.loads(webhooks.body_of(e))
                yield f"id: {e.seq}\nevent: {e.kind}\ndata: {json.dumps(payload)}\n\n"
                cursor, sent = e.seq, sent + 1
            if not found:
                await anyio.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))
        if stopping.is_set():
            yield ": server stopping\n\n"  # the client reconnects (Last-Event-ID) after retry

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"X-Accel-Buffering": "no"}
    )
