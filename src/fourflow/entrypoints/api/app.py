"""The API application: routes, problem details, body limits, CORS closed by default,
security headers, request logs."""

from __future__ import annotations

import contextlib
import time
from decimal import Decimal, InvalidOperation
from types import ModuleType
from typing import Any

import structlog
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.telemetry import TelemetryConfig
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fourflow.bootstrap import Platform
from fourflow.domain.errors import DomainValueError
from fourflow.domain.identity import OrgType, Principal
from fourflow.entrypoints.api import (
    business_routes,
    consent_routes,
    custody_routes,
    evidence_routes,
    governance_routes,
    identity_routes,
    item_routes,
    platform_routes,
    policy,
    problems,
    receipt_routes,
    settlement_routes,
    supervision_routes,
    webhook_routes,
    webui,
    workbench_routes,
)
from fourflow.entrypoints.api.routing import PREFIX, ApiState, ChainGuard, RateLimiter
from fourflow.entrypoints.api.webui import WebApp
from fourflow.services import identity
from fourflow.services.items import ItemViews

log = structlog.get_logger("fourflow.api")

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"cache-control", b"no-store"),
    (b"strict-transport-security", b"max-age=63072000; includeSubDomains"),
    (b"cross-origin-resource-policy", b"same-origin"),
]


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413 (by Content-Length, and by counting
    what is actually received)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(send)
            return
        if declared is not None:
            await self.app(scope, receive, send)  # the server stops reading at its length
            return
        # No length given (chunked): read it whole, up to the limit, then hand it on.
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.limit:
                await self._refuse(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send) -> None:
        response = problems.problem(413, f"the request body is larger than {self.limit} bytes")
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", problems.MEDIA_TYPE.encode()),
                    (b"content-length", str(len(response.body)).encode()),
                    *SECURITY_HEADERS,
                ],
            }
        )
        await send({"type": "http.response.body", "body": bytes(response.body)})


class SecurityHeaders:
    """Add the security headers to every response, and log each request (no personal data:
    method, route, status, duration)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 0

        async def with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *[(k, v) for k, v in SECURITY_HEADERS if k not in names],
                ]
            await send(message)

        try:
            await self.app(scope, receive, with_headers)
        finally:
            with contextlib.suppress(Exception):  # a broken log sink never breaks an answer
                log.info(
                    "request", method=scope.get("method"), path=scope.get("path"),
                    status=status, ms=round((time.perf_counter() - start) * 1000, 1),
                )  # fmt: skip


#: Reads recorded in the audit trail: by the operator, the regulator and a local government
#: (its platforms' figures), of others' data.
ALL_SEEING = frozenset({OrgType.PLATFORM_OPERATOR, OrgType.REGULATOR, OrgType.LOCAL_GOVERNMENT})


class AuditTrail:
    """Record every state-changing request, and every read by the operator or the regulator
    (of other organisations' data), in the hash-chained audit trail: before the response
    starts, so that no answered change goes unrecorded."""

    def __init__(self, app: ASGIApp, api: ApiState) -> None:
        self.app = app
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def recorded(message: Message) -> None:
            if message["type"] == "http.response.start":
                await self._record(scope, int(message["status"]))
            await send(message)

        await self.app(scope, receive, recorded)

    async def _record(self, scope: Scope, status: int) -> None:
        found = scope.get("state") or {}
        action = found.get("action")
        if action is None or action in ("openapi", "health"):
            return
        principal: Principal | None = found.get("principal")
        method = str(scope.get("method"))
        reading = principal is not None and bool(principal.org_types & ALL_SEEING)
        reading = reading or action == "data.read"  # a bank reading a core enterprise's data
        if method == "GET" and not (reading and action not in ("me", "audit.read")):
            return
        client = scope.get("client")
        answered = identity.AnsweredRequest(
            principal=principal, action=str(action), method=method, path=str(scope.get("path")),
            client=str(client[0]) if client else "unknown", status=status,
        )  # fmt: skip
        # waits on the loop, appended in a group
        await identity.record_request_async(self.api.platform.identities, answered)


#: FastAPI's native OpenTelemetry off: FourFlow exports none (only ``opentelemetry-api`` is
#: installed, as FastAPI's dependency, no SDK), and with it on FastAPI asked the global
#: tracer, meter and logger providers on every request whether one had been configured
#: (3.6 us of the event loop's CPU a request; 0.08 us off).
NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


#: The routers, in the order of the OpenAPI document.
_ROUTED = (
    identity_routes, business_routes, consent_routes, webhook_routes, custody_routes,
    platform_routes, supervision_routes, workbench_routes, item_routes, evidence_routes,
    receipt_routes, settlement_routes, governance_routes,
)  # fmt: skip
#: The routers in the order a request is matched against them (``create_app``): the business
#: routes (the financing decisions) first. FastAPI tries the routes one by one (each included
#: router's in turn, twice for the one that answers): POST /financings was tried against the
#: 17 identity routes before its own router's 10 (0.04 ms of the event loop's CPU a decision,
#: 10 % of its HTTP side). No path of the business routes is matched by an identity route
#: or the reverse (every declared path, with sample values, answers the same route or 405 in
#: either order: tests/unit/test_route_order.py).
_SERVED = (business_routes, *(m for m in _ROUTED if m is not business_routes))


class _Served(FastAPI):
    """The served application: its routers in the order of ``_SERVED``, its OpenAPI document
    the one of ``_ROUTED`` (``openapi_document``), as it was before the order changed."""

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI document (made once)."""
        if not self.openapi_schema:
            self.openapi_schema = openapi_document()
        return self.openapi_schema


def _routed_app(
    routers: tuple[ModuleType, ...] = _ROUTED, kind: type[FastAPI] = FastAPI
) -> FastAPI:
    """The application's routes and problem details, without a platform."""
    app = kind(
        title="FourFlow",
        version="1",
        description="Trade-credit supply-chain finance: every party signs in and acts only as "
        "itself (docs/api.md).",
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
        telemetry=NO_TELEMETRY,
    )
    policy.ROUTES[("GET", f"{PREFIX}/openapi.json")] = "openapi"
    problems.install(app)
    for module in routers:
        app.include_router(module.router, prefix=PREFIX)
    return app


def openapi_document() -> dict[str, Any]:
    """The API's OpenAPI document, as /api/v1/openapi.json serves it (no platform needed:
    the web app's typed client is generated from it at build time)."""
    return _routed_app().openapi()


def create_app(platform: Platform) -> FastAPI:
    """The API over an opened, initialised platform."""
    settings = platform.settings
    try:
        limit = Decimal(settings.four_eyes_limit)
    except InvalidOperation:
        raise DomainValueError(
            f"FOURFLOW_FOUR_EYES_LIMIT {settings.four_eyes_limit!r} is not a decimal amount"
        ) from None
    app = _routed_app(_SERVED, _Served)
    app.state.fourflow = ApiState(
        platform=platform,
        four_eyes_limit=limit,
        limiter=RateLimiter(settings.api_rate_per_minute),
        chain_lock=ChainGuard(platform.chain_writer),
        item_views=ItemViews(platform.uow_factory, platform.item_view_versions()),
    )
    if settings.api_cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.api_cors_origins),
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-API-Key"],
        )
    app.add_middleware(WebApp, directory=webui.BUILT)
    app.add_middleware(AuditTrail, api=app.state.fourflow)
    app.add_middleware(BodyLimit, limit=settings.api_max_body_bytes)
    app.add_middleware(SecurityHeaders)
    return app
