"""Declaring routes with their action, and the request's caller.

``route(router, "POST", "/items", "items.issue")`` declares a route whose action is checked
against the table (``policy.TABLE``) before the handler runs; the handler reads the caller
with ``caller(request)``. A route cannot be declared without an action.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from fourflow.bootstrap import Platform
from fourflow.domain.identity import AuthenticationError, Principal, secret_digest
from fourflow.entrypoints.api import policy, problems
from fourflow.entrypoints.api.problems import ProblemError
from fourflow.services import identity, relay
from fourflow.services.items import ItemViews

PREFIX = "/api/v1"
F = TypeVar("F", bound=Callable[..., Any])


class RateLimiter:
    """At most ``per_minute`` requests per caller in any 60 seconds (a sliding window kept in
    this process; several API processes each count their own)."""

    WINDOW = 60.0
    MAX_CALLERS = 100_000

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, caller: str) -> None:
        """Count a request; ProblemError 429 (with Retry-After) when over the limit."""
        now = time.monotonic()
        with self._lock:
            if len(self._seen) > self.MAX_CALLERS:  # forget the idle ones
                self._seen = {
                    k: v for k, v in self._seen.items() if v and v[-1] > now - self.WINDOW
                }
            times = self._seen.setdefault(caller, deque())
            while times and times[0] <= now - self.WINDOW:
                times.popleft()
            if len(times) >= self.per_minute:
                wait = max(1, int(times[0] + self.WINDOW - now) + 1)
                raise ProblemError(
                    429,
                    f"more than {self.per_minute} requests a minute; try again in {wait} s",
                    kind="rate-limited",
                    headers={"Retry-After": str(wait)},
                )
            times.append(now)


class ChainGuard:
    """One thread of one process at a time does chain work: a re-entrant lock in the process
    and, at the outermost level, the store-wide lock shared by every API process."""

    def __init__(self, store_lock: Callable[[], AbstractContextManager[None]]) -> None:
        self._store_lock = store_lock
        self._lock = threading.RLock()
        self._depth = 0
        self._held: AbstractContextManager[None] | None = None

    def __enter__(self) -> None:
        self._lock.acquire()
        try:
            if self._depth == 0:
                held = self._store_lock()
                held.__enter__()
                self._held = held
            self._depth += 1
        except BaseException:
            self._lock.release()
            raise

    def __exit__(self, *exc: object) -> None:
        try:
            self._depth -= 1
            if self._depth == 0 and self._held is not None:
                held, self._held = self._held, None
                held.__exit__(None, None, None)
        finally:
            self._lock.release()


@dataclass(slots=True)
class ApiState:
    """What the routes share: the platform, the chain lock, the limiter, the item views this
    process rendered, ``relay_lock``: one relay at a time in this process (they share its
    ledger client), taken inside ``chain_lock`` where both are held, and ``stopping``: set
    when the server was asked to stop (``server.EndsStreamsOnStop``), so that open event
    streams end instead of holding the graceful shutdown open."""

    platform: Platform
    four_eyes_limit: Decimal
    limiter: RateLimiter
    chain_lock: ChainGuard
    item_views: ItemViews
    relay_lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)


def state(request: Request) -> ApiState:
    """The app's shared state."""
    found: ApiState = request.app.state.fourflow
    return found


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    key = request.headers.get("x-api-key", "").strip()
    return key or None


def guard(action: str) -> Callable[[Request], Any]:
    """The dependency that authenticates the caller and checks ``action`` in the table.

    It runs on the event loop: a credential this process verified within its bound
    (``identity.CredentialCache``) costs no store access; any other is checked in a thread.
    """
    if action not in policy.PUBLIC and action not in policy.TABLE:
        raise KeyError(f"action {action!r} has no entry in the authorisation table")

    async def check(request: Request) -> None:
        request.state.principal = None
        request.state.action = action
        api = state(request)
        if action in policy.PUBLIC:
            api.limiter.hit("client:" + (request.client.host if request.client else "unknown"))
            return
        secret = _bearer(request)
        if secret is None:
            raise AuthenticationError("sign in: send 'Authorization: Bearer <token>' or X-API-Key")
        ids = api.platform.identities
        who = identity.cached_principal(ids, secret)
        if who is None:
            who = await _checked(ids, secret)
        api.limiter.hit(who.credential_id)
        request.state.principal = who
        if not policy.allowed(action, who.org_types, who.role):
            types = ", ".join(sorted(t.value for t in who.org_types))
            raise ProblemError(
                403,
                f"a {who.role.value} of a {types} organisation may not {action}",
                kind="forbidden",
            )

    return check


#: Credentials being checked in the store, by event loop, then by identities, digest and the
#: cache's generation (``_checked``).
_CHECKING: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple[int, str, int], asyncio.Future[Principal]]
] = weakref.WeakKeyDictionary()


async def _checked(ids: identity.Identities, secret: str) -> Principal:
    """``identity.authenticate`` in a thread; with a credential cache, requests of the same
    credential arriving while it is checked wait for that check instead of each making its own
    (a burst of one caller's requests on a process's first use or once its entry expired made
    one store lookup each: 2.3 ms of CPU a request in a burst of 50). Not across a clear of
    the cache (a revocation in this process): a request after it waits for a check begun
    after it. Without a cache (a bound of 0), each request is checked on its own."""
    cache = ids.credential_cache
    if cache is None or cache.seconds <= 0:
        return await run_in_threadpool(identity.authenticate, ids, secret)
    loop = asyncio.get_running_loop()
    checking = _CHECKING.setdefault(loop, {})
    key = (id(ids), secret_digest(secret), cache.generation)
    pending = checking.get(key)
    if pending is None:
        pending = asyncio.ensure_future(run_in_threadpool(identity.authenticate, ids, secret))
        checking[key] = pending

        def done(finished: asyncio.Future[Principal]) -> None:
            if checking.get(key) is finished:
                del checking[key]
            if not finished.cancelled():
                finished.exception()  # retrieved: told to every waiter, logged by none

        pending.add_done_callback(done)
    # shielded: a waiter that goes away (its client did) does not cancel the others' check
    return await asyncio.shield(pending)


def route(
    router: APIRouter, method: str, path: str, action: str, **kwargs: Any
) -> Callable[[F], F]:
    """Declare a route of ``router`` (mounted at PREFIX) with its action."""
    policy.ROUTES[(method, PREFIX + path)] = action
    dependencies = [Depends(guard(action)), *kwargs.pop("dependencies", [])]
    responses = {**problems.RESPONSES, **kwargs.pop("responses", {})}
    return router.api_route(
        path, methods=[method], dependencies=dependencies, responses=responses, **kwargs
    )


def caller(request: Request) -> Principal:
    """The authenticated caller of a non-public route."""
    who: Principal | None = getattr(request.state, "principal", None)
    if who is None:
        raise AuthenticationError("this route needs a signed-in caller")
    return who


def relay_now(api: ApiState) -> list[tuple[str, str]]:
    """Apply queued chain operations now (one relay at a time in this process); the refusals.

    A refused operation was undone in the store by the relay.
    """
    with api.chain_lock, api.relay_lock:
        result = relay.relay(
            uow_factory=api.platform.uow_factory, ledger=api.platform.require_contracts(),
            claims=api.platform.relay_claims(),  # PostgreSQL: waits for a sender a worker holds
        )  # fmt: skip
    return list(result.failed)


def relay_claimed(api: ApiState) -> list[tuple[str, str]] | None:
    """On PostgreSQL, ``relay_now`` without the platform-wide chain lock (as the worker
    relays): each sender under its claim (one relay per sender across processes), one relay at
    a time in this process; None on SQLite, where the relay needs ``chain_lock``."""
    claims = api.platform.relay_claims()
    if claims is None:
        return None
    with api.relay_lock:
        result = relay.relay(
            uow_factory=api.platform.uow_factory, ledger=api.platform.require_contracts(),
            claims=claims,
        )  # fmt: skip
    return list(result.failed)


def refuse_on_chain_failure(failed: list[tuple[str, str]]) -> None:
    """409 naming the operations the chain refused (nothing of them was recorded)."""
    if failed:
        named = "; ".join(f"{op}: {reason}" for op, reason in failed)
        raise ProblemError(409, f"the chain refused it and nothing was recorded: {named}")
