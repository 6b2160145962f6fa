"""Verified credentials kept in each API process (``identity.CredentialCache``): a revoked API
key stops working at once in the process that revoked it and within the bound
(``FOURFLOW_API_AUTH_CACHE_SECONDS``) in any other; an unknown or revoked credential is
never kept; on SQLite and PostgreSQL.

Two platforms over one store, each with its own app and cache, stand for two API processes;
the last test revokes a key from a third process while `fourflow serve --workers 2` serves it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from fourflow.adapters.chain.node import AnvilNode
from fourflow.bootstrap import Platform
from fourflow.domain.errors import DomainValueError
from fourflow.domain.identity import OrgType, Principal, UserRole, secret_digest
from fourflow.entrypoints.api.app import create_app
from fourflow.services import identity
from fourflow.services.identity import CredentialCache
from tests.api.conftest import api_settings

API = "/api/v1"
BOUND = 1.5  # seconds


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _principal(name: str = "erp") -> Principal:
    return Principal(
        org_id="org-1", org_types=frozenset({OrgType.ENTERPRISE}), role=UserRole.CLERK,
        user_id=None, credential_id="key-1", name=name,
    )  # fmt: skip


def test_a_kept_credential_is_trusted_within_the_bound_and_its_own_expiry() -> None:
    clock = FakeMonotonic()
    cache = CredentialCache(5.0, monotonic=clock)
    now = dt.datetime(2026, 12, 6, 12, tzinfo=dt.UTC)
    who = _principal()
    cache.keep("digest", who, expires_at=now + dt.timedelta(minutes=1))
    assert cache.get("digest", now) == who
    assert cache.get("other", now) is None
    clock.now += 4.9
    assert cache.get("digest", now) == who
    assert cache.get("digest", now + dt.timedelta(minutes=1)) is None  # the key's own expiry
    cache.keep("digest", who, expires_at=now + dt.timedelta(minutes=1))
    clock.now += 5.0
    assert cache.get("digest", now) is None  # past the bound: checked in the store again
    cache.keep("digest", who, expires_at=now + dt.timedelta(minutes=1))
    cache.clear()
    assert cache.get("digest", now) is None


def test_a_bound_of_zero_keeps_nothing_and_a_negative_one_is_refused() -> None:
    cache = CredentialCache(0.0)
    now = dt.datetime(2026, 12, 6, 12, tzinfo=dt.UTC)
    cache.keep("digest", _principal(), expires_at=now + dt.timedelta(minutes=1))
    assert cache.get("digest", now) is None
    with pytest.raises(DomainValueError, match="must not be negative"):
        CredentialCache(-1.0)


def test_the_cache_stays_within_its_capacity() -> None:
    clock = FakeMonotonic()
    cache = CredentialCache(5.0, monotonic=clock)
    now = dt.datetime(2026, 12, 6, 12, tzinfo=dt.UTC)
    for i in range(CredentialCache.CAPACITY + 10):
        cache.keep(f"d{i}", _principal(), expires_at=now + dt.timedelta(minutes=1))
    assert len(cache) <= CredentialCache.CAPACITY


@pytest.fixture
def two_processes(
    tmp_path: Path,
    store_url: str,
    anvil: AnvilNode,
) -> Iterator[tuple[Platform, TestClient, Platform, TestClient]]:
    settings = dataclasses.replace(
        api_settings(tmp_path / "home", store_url, anvil.url), api_auth_cache_seconds=BOUND
    )
    with Platform(settings) as a:
        a.initialise()
        with (
            Platform(settings) as b,
            TestClient(create_app(a)) as ca,
            TestClient(create_app(b)) as cb,
        ):
            yield a, ca, b, cb


def _operator(p: Platform) -> Principal:
    return Principal(
        org_id=p.operator_id(), org_types=frozenset({OrgType.PLATFORM_OPERATOR}),
        role=UserRole.ADMIN, user_id=None, credential_id="test", name="test",
    )  # fmt: skip


def test_a_revoked_key_stops_working_here_at_once_and_elsewhere_within_the_bound(
    two_processes: tuple[Platform, TestClient, Platform, TestClient],
) -> None:
    a, client_a, b, client_b = two_processes
    issued = identity.create_api_key(
        a.identities, admin=_operator(a), role=UserRole.AUDITOR, label="erp"
    )
    key = {"X-API-Key": issued.secret}
    for client in (client_a, client_b):
        assert client.get(f"{API}/me", headers=key).status_code == 200
    digest = secret_digest(issued.secret)
    cache_b = b.identities.credential_cache
    assert cache_b is not None and len(cache_b) == 1  # kept (how long: the unit tests above)

    identity.revoke_api_key(a.identities, admin=_operator(a), key_id=issued.credential.id)
    revoked_at = time.monotonic()
    assert client_a.get(f"{API}/me", headers=key).status_code == 401  # this process: at once
    # the other process checks it again once the bound has passed since it verified it
    time.sleep(max(0.0, revoked_at + BOUND - time.monotonic()))
    assert client_b.get(f"{API}/me", headers=key).status_code == 401
    for platform in (a, b):
        cache = platform.identities.credential_cache
        assert cache is not None and cache.get(digest, platform.clock.now()) is None
    assert client_a.get(f"{API}/me", headers=key).status_code == 401


def test_an_unknown_or_revoked_credential_is_never_kept(
    two_processes: tuple[Platform, TestClient, Platform, TestClient],
) -> None:
    a, client_a, _, _ = two_processes
    cache = a.identities.credential_cache
    assert cache is not None
    unknown = "ffk_" + "x" * 40
    for _ in range(2):
        assert client_a.get(f"{API}/me", headers={"X-API-Key": unknown}).status_code == 401
    assert cache.get(secret_digest(unknown), a.clock.now()) is None
    issued = identity.create_api_key(
        a.identities, admin=_operator(a), role=UserRole.AUDITOR, label="old"
    )
    identity.revoke_api_key(a.identities, admin=_operator(a), key_id=issued.credential.id)
    for _ in range(2):
        response = client_a.get(f"{API}/me", headers={"X-API-Key": issued.secret})
        assert response.status_code == 401
    assert cache.get(secret_digest(issued.secret), a.clock.now()) is None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _statuses(base: str, key: str, n: int = 16) -> list[int]:
    """``n`` requests, each on a connection of its own (spread over the server's processes)."""
    return [
        httpx.get(f"{base}/me", headers={"X-API-Key": key}, timeout=30).status_code
        for _ in range(n)
    ]


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_key_revoked_elsewhere_stops_working_in_both_served_processes_within_the_bound(
    tmp_path: Path, store_url: str, anvil: AnvilNode
) -> None:
    settings = api_settings(tmp_path / "home", store_url, anvil.url)
    with Platform(settings) as p:
        p.initialise()
        issued = identity.create_api_key(
            p.identities, admin=_operator(p), role=UserRole.AUDITOR, label="erp"
        )
    port = _free_port()
    assert settings.keystore_password is not None  # the served processes open the keystore
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FOURFLOW_")},
        "FOURFLOW_HOME": str(settings.home), "FOURFLOW_DATABASE_URL": store_url,
        "FOURFLOW_CHAIN_URL": anvil.url, "FOURFLOW_KEYSTORE_PASSWORD": settings.keystore_password,
        "FOURFLOW_API_AUTH_CACHE_SECONDS": str(BOUND), "FOURFLOW_API_RATE_PER_MINUTE": "100000",
    }  # fmt: skip
    server = subprocess.Popen(
        [sys.executable, "-m", "fourflow", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--workers", "2"],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "serve.log").open("wb"), start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}{API}"
    try:
        deadline = time.monotonic() + 240
        while True:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the API did not answer within 240 s"
            time.sleep(0.5)
        assert _statuses(base, issued.secret) == [200] * 16  # kept by the processes answering
        with Platform(settings) as third:  # another process revokes it
            identity.revoke_api_key(
                third.identities, admin=_operator(third), key_id=issued.credential.id
            )
        revoked_at = time.monotonic()
        soon = _statuses(base, issued.secret)  # within the bound: kept ones may still answer
        assert set(soon) <= {200, 401}
        time.sleep(max(0.0, revoked_at + BOUND - time.monotonic()))
        assert _statuses(base, issued.secret) == [401] * 16
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=30)


def test_a_check_begun_before_a_clear_is_not_kept() -> None:
    """A check that read the store before a revocation here committed (and cleared the cache)
    keeps nothing: the next request is checked again."""
    cache = CredentialCache(5.0, monotonic=FakeMonotonic())
    now = dt.datetime(2026, 12, 6, 12, tzinfo=dt.UTC)
    begun = cache.generation
    cache.clear()  # the revocation committed meanwhile
    cache.keep("digest", _principal(), expires_at=now + dt.timedelta(minutes=1), generation=begun)
    assert cache.get("digest", now) is None
    cache.keep(
        "digest", _principal(), expires_at=now + dt.timedelta(minutes=1),
        generation=cache.generation,
    )  # fmt: skip
    assert cache.get("digest", now) is not None


def test_requests_of_one_credential_at_once_share_one_store_check_but_not_across_a_clear(
    api_platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A burst of one caller's requests on a cold cache makes one store check, which each
    waits for (``routing._checked``); a request after this process cleared its cache (a
    revocation) is not given a check begun before: it makes its own."""
    p, burst = api_platform, 20
    issued = identity.create_api_key(
        p.identities, admin=_operator(p), role=UserRole.AUDITOR, label="erp"
    )
    arrived, checks = threading.Semaphore(0), []
    release = threading.Event()
    real_cached, real_authenticate = identity.cached_principal, identity.authenticate

    def cached(ids: identity.Identities, secret: str) -> Principal | None:
        arrived.release()  # every request asks the cache first, on the loop
        return real_cached(ids, secret)

    def authenticate(ids: identity.Identities, secret: str) -> Principal:
        checks.append(secret)
        assert release.wait(timeout=60), "the test never let the check finish"
        return real_authenticate(ids, secret)

    monkeypatch.setattr(identity, "cached_principal", cached)
    monkeypatch.setattr(identity, "authenticate", authenticate)
    key = {"X-API-Key": issued.secret}

    async def go() -> tuple[list[int], list[int]]:
        transport = httpx.ASGITransport(app=create_app(p))
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            first = [
                asyncio.ensure_future(client.get(f"{API}/me", headers=key)) for _ in range(burst)
            ]
            for _ in range(burst):  # all arrived (bounded): each made or joined a check
                assert await asyncio.to_thread(arrived.acquire, True, 60)
            deadline = time.monotonic() + 60
            while not checks:  # its thread started (bounded)
                assert time.monotonic() < deadline, "no check started"
                await asyncio.sleep(0.01)
            assert len(checks) == 1
            cache = p.identities.credential_cache
            assert cache is not None
            cache.clear()  # as a revocation in this process does
            after = asyncio.ensure_future(client.get(f"{API}/me", headers=key))
            assert await asyncio.to_thread(arrived.acquire, True, 60)
            deadline = time.monotonic() + 60
            while len(checks) < 2:  # its own check, not the one begun before the clear
                assert time.monotonic() < deadline, checks
                await asyncio.sleep(0.01)
            release.set()
            answered = await asyncio.gather(*first)
            return [r.status_code for r in answered], [(await after).status_code]

    statuses, later = asyncio.run(go())
    assert statuses == [200] * burst and later == [200]
    assert len(checks) == 2
