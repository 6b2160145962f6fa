"""`fourflow serve` stops promptly and cleanly on SIGTERM with an event stream open.

uvicorn's graceful shutdown waits for every open response, and a browser keeps a server-sent
event stream open (minutes): the page bench's SIGTERM at its end was not answered within 30 s.
Here ``serve`` runs on 127.0.0.1 with its worker passing every 0.2 s — on SQLite with one API
process, on PostgreSQL with two (uvicorn's supervisor, as the page bench runs it) — a client
holds the event stream open and another sends requests while the signal comes. Then: ``serve``
and its worker have exited 0 within ``STOP_BOUND_S``, the stream ended with the server's
goodbye, every request answered was answered 200, the worker's passes had no error, and
``fourflow audit`` finds the store and the chain in agreement.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from fourflow.adapters.chain.node import AnvilNode
from fourflow.bootstrap import Platform
from fourflow.domain.identity import Principal, UserRole, org_types
from fourflow.domain.parties import Role
from fourflow.services import identity, onboarding, relay
from fourflow.services.demo import demo_uscc
from tests.api.conftest import api_settings
from tests.api.serving import WAIT_S, api_processes, audited, serve_env, serving
from tests.integration.test_worker import _children

pytestmark = pytest.mark.chain

#: Seconds ``serve`` may take to exit after SIGTERM (it takes about 1 s; a stream it waited
#: for would hold it FOURFLOW_EVENTS_STREAM_SECONDS, 300 by default).
STOP_BOUND_S = 30.0


def _prepared(home: Path, url: str, chain_url: str) -> str:
    """An initialised platform with one admitted enterprise: its admin's API key."""
    with Platform(api_settings(home, url, chain_url)) as p:
        p.initialise()
        org = onboarding.onboard(
            uow_factory=p.uow_factory, keystore=p.keystore, name="Stop Test Co",
            uscc=demo_uscc("320500", "MA1XQ0PTX"), roles=[Role.SUPPLIER],
        )  # fmt: skip
        relay.relay(uow_factory=p.uow_factory, ledger=p.require_contracts())
        admin = Principal(org.id, org_types(org.roles), UserRole.ADMIN, None, "cli", "cli")
        made = identity.create_api_key(p.identities, admin=admin, role=UserRole.ADMIN, label="stop")
        return made.secret


class Stream(threading.Thread):
    """Holds GET /events/stream open and keeps what it receives."""

    def __init__(self, base: str, headers: dict[str, str]) -> None:
        super().__init__(daemon=True, name="event-stream")
        self.base, self.headers = base, headers
        self.text = ""
        self.connected = threading.Event()
        self.ended_at: float | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            url = f"{self.base}/api/v1/events/stream?seconds=3600"
            with httpx.stream("GET", url, headers=self.headers, timeout=WAIT_S * 3) as r:
                assert r.status_code == 200, r.read()
                for chunk in r.iter_text():
                    self.text += chunk
                    if ": connected" in self.text:
                        self.connected.set()
        except BaseException as exc:  # reported by the test's thread
            self.error = exc
        finally:
            self.ended_at = time.monotonic()


class Caller(threading.Thread):
    """Sends GET /me one after another until the server no longer answers."""

    def __init__(self, base: str, headers: dict[str, str]) -> None:
        super().__init__(daemon=True, name="caller")
        self.base, self.headers = base, headers
        self.statuses: list[int] = []

    def run(self) -> None:
        deadline = time.monotonic() + WAIT_S
        with httpx.Client(base_url=self.base, headers=self.headers, timeout=WAIT_S) as client:
            while time.monotonic() < deadline:
                try:
                    self.statuses.append(client.get("/api/v1/me").status_code)
                except httpx.TransportError:
                    return  # the server has stopped taking connections


def test_serve_stops_promptly_and_cleanly_on_sigterm_with_an_event_stream_open(
    tmp_path: Path, migrated_store_url: str, anvil: AnvilNode
) -> None:
    home = tmp_path / "home"
    key = _prepared(home, migrated_store_url, anvil.url)
    env = serve_env(home, migrated_store_url, anvil.url)
    with serving(env, tmp_path / "serve.log", api_processes(migrated_store_url)) as served:
        server, base, log = served.process, served.base, served.log
        workers = [pid for pid, line in _children(server.pid) if " worker " in line]
        assert len(workers) == 1, _children(server.pid)
        deadline = time.monotonic() + WAIT_S
        while "pass 2 (" not in log.read_text():  # the worker is looping
            assert time.monotonic() < deadline, log.read_text()[-4000:]
            time.sleep(0.2)
        headers = {"Authorization": f"Bearer {key}"}
        stream, caller = Stream(base, headers), Caller(base, headers)
        stream.start()
        assert stream.connected.wait(WAIT_S), stream.error
        caller.start()
        time.sleep(0.5)  # requests under way when the signal comes
        asked = time.monotonic()
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=STOP_BOUND_S)
        stopped_s = time.monotonic() - asked
    said = log.read_text()
    assert code == 0, said[-4000:]
    assert stopped_s < STOP_BOUND_S
    stream.join(timeout=WAIT_S)
    caller.join(timeout=WAIT_S)
    assert stream.error is None and stream.ended_at is not None
    assert stream.text.endswith(": server stopping\n\n"), stream.text
    assert caller.statuses and set(caller.statuses) == {200}, caller.statuses
    assert not Path(f"/proc/{workers[0]}").exists()  # the worker stopped with it
    assert "error:" not in said and "Traceback" not in said, said[-4000:]
    audited(env)  # the store and the chain agree
