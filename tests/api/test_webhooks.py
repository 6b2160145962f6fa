"""Notifications over HTTP: webhook registration and its authorisation, real signed deliveries
to a receiver on 127.0.0.1, retries then the dead letter, replay of one event id, a receiver
that hangs, and the server-sent event stream."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from fourflow.adapters.webhook_http import UrllibPoster
from fourflow.bootstrap import Platform
from fourflow.services import webhooks
from tests.api.world import (
    API,
    Party,
    documents_by_issuer,
    ok,
    operator_admin,
    register_and_admit,
)
from tests.web.serving import served

pytestmark = [pytest.mark.chain]


@dataclass
class Receiver:
    """A real HTTP receiver on 127.0.0.1: answers each POST with the next status of
    ``statuses`` (then 200); a POST to ``hang_path`` hangs until ``release`` is set."""

    statuses: list[int] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""
    hang_path: str | None = None

    def seen(self) -> dict[str, bytes]:
        """What an idempotent receiver keeps: one body per event id."""
        with self.lock:
            return {h["fourflow-event-id"]: b for h, b in self.received}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            with state.lock:
                state.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                hang = self.path == state.hang_path and not state.release.is_set()
                status = 0 if hang else state.statuses.pop(0) if state.statuses else 200
            if status == 0:
                state.release.wait(20)  # hang (bounded) until the test is done
                status = 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture
def two(client: TestClient, api_platform: Platform) -> dict[str, Party]:
    operator = operator_admin(client, api_platform)
    return {k: register_and_admit(client, operator, k) for k in ("tier1", "core")}


def _register(client: TestClient, party: Party, url: str, kinds: list[str]) -> dict[str, Any]:
    body = {"url": url, "kinds": kinds}
    found: dict[str, Any] = ok(
        client.post(f"{API}/webhooks", json=body, headers=party.admin.auth), 201
    )
    return found


def _event(platform: Platform, key: str, kind: str, org_ids: list[str]) -> list[str]:
    with platform.uow_factory() as uow:
        new = webhooks.record(
            uow, key=key, kind=kind, org_ids=org_ids, subject_id="item-1", data={"n": key}
        )
        uow.commit()
    return new


class Clock:
    def __init__(self) -> None:
        self.at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)

    def __call__(self) -> dt.datetime:
        return self.at


def test_registration_and_another_organisation_cannot_see_or_delete_it(
    client: TestClient, two: dict[str, Party], receiver: Receiver
) -> None:
    tier1, core = two["tier1"], two["core"]
    made = _register(client, tier1, receiver.url, ["item.issued", "item.confirmed"])
    assert made["secret"].startswith("whsec_") and made["kinds"] == [
        "item.issued",
        "item.confirmed",
    ]
    mine = ok(client.get(f"{API}/webhooks", headers=tier1.admin.auth))
    assert [w["id"] for w in mine] == [made["id"]] and "secret" not in mine[0]
    assert ok(client.get(f"{API}/webhooks", headers=core.admin.auth)) == []
    gone = client.delete(f"{API}/webhooks/{made['id']}", headers=core.admin.auth)
    assert gone.status_code == 404, gone.text
    assert len(ok(client.get(f"{API}/webhooks", headers=tier1.admin.auth))) == 1
    for bad, why in (
        ({"url": "ftp://127.0.0.1/hook", "kinds": ["item.issued"]}, "only http and https"),
        ({"url": "file:///etc/passwd", "kinds": ["item.issued"]}, "only http and https"),
        ({"url": receiver.url, "kinds": ["item.eaten"]}, "unknown item.eaten"),
    ):
        refused = client.post(f"{API}/webhooks", json=bad, headers=tier1.admin.auth)
        assert refused.status_code == 422 and why in refused.json()["detail"], refused.text
    assert len(ok(client.get(f"{API}/webhooks", headers=tier1.admin.auth))) == 1
    deleted = ok(client.delete(f"{API}/webhooks/{made['id']}", headers=tier1.admin.auth))
    assert deleted["active"] is False
    assert ok(client.get(f"{API}/webhooks", headers=tier1.admin.auth)) == []
    again = client.delete(f"{API}/webhooks/{made['id']}", headers=tier1.admin.auth)
    assert again.status_code == 404


def test_a_real_delivery_is_signed_and_only_the_wanted_events_of_the_org_go(
    client: TestClient, api_platform: Platform, two: dict[str, Party], receiver: Receiver
) -> None:
    tier1, core = two["tier1"], two["core"]
    made = _register(client, tier1, receiver.url, ["item.issued"])
    both = [tier1.org_id, core.org_id]
    assert len(_event(api_platform, "op-1", "item.issued", both)) == 2
    assert _event(api_platform, "op-1", "item.issued", both) == []  # once per event id
    _event(api_platform, "op-2", "item.confirmed", [tier1.org_id])  # not wanted
    result = api_platform.deliver_webhooks()
    assert (result.queued, result.delivered, result.retried, result.dead) == (1, 1, 0, 0)
    ((headers, body),) = receiver.received
    sent = json.loads(body)
    assert sent["kind"] == "item.issued" and sent["org_id"] == tier1.org_id
    assert (
        headers["fourflow-event-id"]
        == sent["id"]
        == webhooks.event_id("op-1", "item.issued", tier1.org_id)
    )
    stamp = int(headers["fourflow-timestamp"])
    signature = headers["fourflow-signature"]
    assert webhooks.verify(made["secret"], signature, body, now=stamp + 5)
    assert not webhooks.verify(made["secret"], signature, body + b" ", now=stamp)
    assert not webhooks.verify("whsec_other", signature, body, now=stamp)
    assert not webhooks.verify(made["secret"], signature, body, now=stamp + 301)  # replayed
    again = api_platform.deliver_webhooks()
    assert (again.queued, again.delivered) == (0, 0) and len(receiver.received) == 1


def test_a_failing_receiver_is_retried_with_backoff_then_dead_lettered(
    client: TestClient, api_platform: Platform, two: dict[str, Party], receiver: Receiver
) -> None:
    tier1, core = two["tier1"], two["core"]
    receiver.statuses = [500, 503, 500]
    _register(client, tier1, receiver.url, ["financing.decided"])
    (eid,) = _event(api_platform, "op-9", "financing.decided", [tier1.org_id])
    clock = Clock()

    def deliver() -> webhooks.DeliveryResult:
        return webhooks.deliver_webhooks(
            api_platform.webhooks, UrllibPoster(), now=clock, max_attempts=3,
            backoff_seconds=10, timeout_seconds=5,
        )  # fmt: skip

    assert deliver().retried == 1
    assert deliver().retried == 0 and len(receiver.received) == 1  # waits its backoff
    clock.at += dt.timedelta(seconds=9)
    assert deliver().retried == 0
    clock.at += dt.timedelta(seconds=1)
    assert deliver().retried == 1 and len(receiver.received) == 2
    clock.at += dt.timedelta(seconds=19)  # the second wait doubles: 20 s
    assert deliver().retried == 0
    clock.at += dt.timedelta(seconds=1)
    assert deliver().dead == 1 and len(receiver.received) == 3
    clock.at += dt.timedelta(days=1)
    assert deliver() == webhooks.DeliveryResult(0, 0, 0, 0)
    (letter,) = ok(client.get(f"{API}/webhooks/dead-letters", headers=tier1.admin.auth))
    assert letter["event_id"] == eid and letter["attempts"] == 3
    assert letter["last_error"] == "answered HTTP 500"
    assert ok(client.get(f"{API}/webhooks/dead-letters", headers=core.admin.auth)) == []


def test_a_redelivered_event_keeps_its_id_and_a_hanging_receiver_blocks_no_other(
    client: TestClient, api_platform: Platform, two: dict[str, Party], receiver: Receiver
) -> None:
    tier1, core = two["tier1"], two["core"]
    receiver.hang_path = "/hook/core"  # core's receiver hangs until released
    hanging = _register(client, core, receiver.url + "/core", ["item.disputed"])
    _register(client, tier1, receiver.url, ["item.disputed"])
    clock = Clock()

    def deliver() -> webhooks.DeliveryResult:
        return webhooks.deliver_webhooks(
            api_platform.webhooks, UrllibPoster(), now=clock, max_attempts=5,
            backoff_seconds=1, timeout_seconds=1.0,
        )  # fmt: skip

    _event(api_platform, "op-7", "item.disputed", [core.org_id])
    first = deliver()  # core's receiver hangs past the timeout
    assert (first.delivered, first.retried) == (0, 1)
    _event(api_platform, "op-8", "item.disputed", [tier1.org_id])
    clock.at += dt.timedelta(seconds=1)
    second = deliver()
    assert (second.delivered, second.retried) == (1, 1), second
    receiver.release.set()
    clock.at += dt.timedelta(seconds=2)
    third = deliver()
    assert third.delivered == 1
    core_posts = [(h, b) for h, b in receiver.received if h["fourflow-event-id"].startswith("evt")]
    ids = [h["fourflow-event-id"] for h, _ in core_posts]
    core_id = webhooks.event_id("op-7", "item.disputed", core.org_id)
    assert ids.count(core_id) == 3  # delivered at least once: the same id each time
    assert len(receiver.seen()) == 2  # an idempotent receiver keeps one of each
    secret_of_core = api_platform.webhooks.secret(hanging["id"])
    for h, b in core_posts:
        if h["fourflow-event-id"] == core_id:
            assert webhooks.verify(
                secret_of_core, h["fourflow-signature"], b, now=int(h["fourflow-timestamp"])
            )


def test_the_event_stream_sends_the_callers_organisations_events(
    client: TestClient, api_platform: Platform, two: dict[str, Party]
) -> None:
    tier1, core = two["tier1"], two["core"]
    # streams here may stay open up to 60 s (the tests' settings end them after 0.2 s)
    api_platform.settings = replace(api_platform.settings, events_stream_seconds=60)
    after = api_platform.webhooks.last_seq(tier1.org_id)
    got: dict[str, Any] = {}

    def listen() -> None:
        response = client.get(
            f"{API}/events/stream?after={after}&limit=1&seconds=60", headers=tier1.admin.auth
        )
        got["status"], got["type"], got["text"] = (
            response.status_code, response.headers["content-type"], response.text
        )  # fmt: skip

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    _event(api_platform, "op-5", "item.overdue", [core.org_id])  # not tier1's
    _event(api_platform, "op-6", "item.issued", [tier1.org_id])
    listener.join(60)
    assert not listener.is_alive()
    assert got["status"] == 200 and got["type"].startswith("text/event-stream")
    frames = [f for f in got["text"].split("\n\n") if f.startswith("id: ")]
    assert len(frames) == 1 and "event: item.issued" in frames[0]
    data = json.loads(frames[0].split("data: ", 1)[1])
    assert data["id"] == webhooks.event_id("op-6", "item.issued", tier1.org_id)
    # resuming from Last-Event-ID 0 gives the first of tier1's events at once
    resumed = client.get(
        f"{API}/events/stream?limit=1&seconds=30",
        headers={**tier1.admin.auth, "Last-Event-ID": "0"},
    )
    assert "event: item.issued" in resumed.text
    # a stream with nothing to send ends after its time
    quiet = client.get(f"{API}/events/stream?seconds=0.3", headers=core.admin.auth)
    assert quiet.status_code == 200 and "id: " not in quiet.text


def test_the_main_path_writes_its_events_and_delivers_them(
    client: TestClient, api_platform: Platform, receiver: Receiver
) -> None:
    """Real facts: the seller verifies the trade and issues the item over HTTP; the events are
    written with the facts (the item's by the relay once the chain applied it)."""
    operator = operator_admin(client, api_platform)
    members = ("core", "tier1", "logistics", "bank")
    parties = {k: register_and_admit(client, operator, k) for k in members}
    tier1, core = parties["tier1"], parties["core"]
    made = _register(client, tier1, receiver.url, ["document.verified", "item.issued"])
    start = api_platform.clock.today() - dt.timedelta(days=110)
    trade_ids = set()
    for key, raw in documents_by_issuer("HOOK", start):
        rows = ok(
            client.post(f"{API}/documents", content=raw, headers=parties[key].admin.auth), 201
        )
        trade_ids |= {r["trade_id"] for r in rows if r["trade_id"]}
    (trade_id,) = trade_ids
    day = (start + dt.timedelta(days=8)).isoformat()
    verified = ok(
        client.post(
            f"{API}/trades/{trade_id}/verification", json={"as_of": day}, headers=tier1.admin.auth
        )
    )
    assert verified["status"] == "verified"
    item = ok(
        client.post(
            f"{API}/items", json={"trade_id": trade_id, "as_of": day}, headers=tier1.admin.auth
        ),
        201,
    )
    kinds = {
        org: [e.kind for e in api_platform.webhooks.events(org, 0, 100)]
        for org in (tier1.org_id, core.org_id)
    }
    assert kinds[tier1.org_id] == ["document.verified", "item.issued"], kinds
    assert kinds[core.org_id] == ["document.verified", "item.issued"], kinds
    result = api_platform.deliver_webhooks()
    assert result.delivered == 2 and result.dead == 0, result
    bodies = {json.loads(b)["kind"]: json.loads(b) for _, b in receiver.received}  # parallel
    assert sorted(bodies) == ["document.verified", "item.issued"]
    assert bodies["item.issued"]["subject_id"] == item["item_id"]
    assert bodies["document.verified"]["data"]["trade_id"] == trade_id
    for h, b in receiver.received:
        stamp = int(h["fourflow-timestamp"])
        assert webhooks.verify(made["secret"], h["fourflow-signature"], b, now=stamp)


def test_an_overdue_notice_is_an_item_overdue_event_once(
    api_platform: Platform, two: dict[str, Party]
) -> None:
    from fourflow.domain.settlement import Notice, NoticeKind

    tier1 = two["tier1"]
    day = dt.date(2026, 9, 30)

    def notice(kind: NoticeKind, op_id: str | None) -> Notice:
        return Notice(
            key=Notice.key_of(kind, "item-9", tier1.org_id, day), kind=kind, subject_id="item-9",
            recipient_id=tier1.org_id, on_day=day, text="due today, no route", amount=100,
            op_id=op_id,
        )  # fmt: skip

    with api_platform.uow_factory() as uow:
        webhooks.notice_given(uow, notice(NoticeKind.UNROUTED, None))
        webhooks.notice_given(uow, notice(NoticeKind.UNROUTED, None))  # the same notice
        webhooks.notice_given(uow, notice(NoticeKind.SHORT, "op-settle"))  # told when applied
        webhooks.notice_given(uow, notice(NoticeKind.REMINDER, None))  # not overdue
        uow.commit()
    (event,) = api_platform.webhooks.events(tier1.org_id, 0, 10)
    assert event.kind == "item.overdue" and event.subject_id == "item-9"
    assert event.data["notice"] == "unrouted" and event.data["amount"] == 100


def test_a_stream_whose_client_went_away_ends_at_once(
    client: TestClient, api_platform: Platform, two: dict[str, Party], monkeypatch: Any
) -> None:
    """A browser leaving a page closes its stream: the server stops polling for it within a
    poll or two, not after the stream's time (each page left used to keep a thread polling
    the store five times a second for a minute). Over a real socket (uvicorn on 127.0.0.1)."""
    api_platform.settings = replace(api_platform.settings, events_stream_seconds=60)
    polls: list[float] = []
    store = type(api_platform.webhooks)  # a new store object each time: its class counts
    events = store.events

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        polls.append(time.monotonic())
        return events(self, *args, **kwargs)

    monkeypatch.setattr(store, "events", counted)
    with served(client.app, what="the API") as base:
        url = f"{base}{API}/events/stream?seconds=60"
        with httpx.stream("GET", url, headers=two["tier1"].admin.auth, timeout=10) as answer:
            assert answer.status_code == 200
            chunks = answer.iter_text()
            next(chunks)  # connected
            deadline = time.monotonic() + 10
            while len(polls) < 3 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert len(polls) >= 3, list(chunks)  # polling while the client is there
        closed = time.monotonic()
        time.sleep(1.5)
        after = [t for t in polls if t > closed + 0.5]
        assert after == [], f"{len(after)} polls after the client went away"
