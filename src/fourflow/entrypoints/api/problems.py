"""RFC 9457 problem details for every error the API returns: a type, a title, the status, a
detail naming what and where, never a stack trace."""

from __future__ import annotations

import contextlib
import secrets
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from fourflow.domain.errors import (
    ConflictError,
    DomainValueError,
    FourFlowError,
    NotFoundError,
    PermissionDeniedError,
)
from fourflow.domain.identity import AuthenticationError, ThrottledError
from fourflow.services.ports import ChainRejectedError

log = structlog.get_logger("fourflow.api")

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://fourflow.dev/problems/"

TITLES = {
    400: "Bad request",
    401: "Not signed in",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Invalid request",
    429: "Too many requests",
    500: "Internal error",
    503: "Service unavailable",
}


class Problem(BaseModel):
    """An RFC 9457 problem."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[dict[str, str]] | None = None


def _documented(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {MEDIA_TYPE: {"schema": Problem.model_json_schema()}},
    }


#: The error responses every route may give, documented in the OpenAPI.
RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _documented("Bad request"),
    401: _documented("Not signed in, or the credential is unknown, expired or revoked"),
    403: _documented("The authorisation table or the service refuses it"),
    404: _documented("Not found (or another organisation's)"),
    409: _documented("Conflicts with the current state, or the chain refused it"),
    413: _documented("Request body too large"),
    422: _documented("Invalid request"),
    429: _documented("Too many requests, or too many failed sign-ins (see Retry-After)"),
    500: _documented("Internal error (an error id, nothing more)"),
    503: _documented("The chain node or another dependency is unavailable"),
}


class ProblemError(Exception):
    """An error the API answers with a given status (raised by routes)."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        kind: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind
        self.headers = headers


def problem(
    status: int,
    detail: str,
    *,
    kind: str | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    """A problem-details response."""
    body: dict[str, Any] = {
        "type": TYPE_BASE + (kind or TITLES.get(status, "error").lower().replace(" ", "-")),
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if extra:
        body.update(extra)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def status_of(exc: FourFlowError) -> int:
    """The HTTP status a FourFlow error stands for."""
    if isinstance(exc, AuthenticationError):
        return 401
    if isinstance(exc, ThrottledError):
        return 429
    if isinstance(exc, PermissionDeniedError):
        return 403
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, ConflictError):
        return 409
    if isinstance(exc, DomainValueError):
        return 422
    if isinstance(exc, ChainRejectedError):
        return 409
    if isinstance(exc, RuntimeError):  # the chain node, the key store, the rule artefacts
        return 503
    return 400


def install(app: FastAPI) -> None:
    """Answer every error as problem details."""

    @app.exception_handler(ProblemError)
    async def _api(request: Request, exc: ProblemError) -> JSONResponse:
        return problem(
            exc.status, exc.detail, kind=exc.kind, instance=request.url.path, headers=exc.headers
        )

    @app.exception_handler(FourFlowError)
    async def _domain(request: Request, exc: FourFlowError) -> JSONResponse:
        status = status_of(exc)
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, ThrottledError) else None
        if status == 401:
            headers = {"WWW-Authenticate": "Bearer"}
        return problem(status, str(exc), instance=request.url.path, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "location": ".".join(str(p) for p in e.get("loc", ())),
                "message": str(e.get("msg", "")),
            }
            for e in exc.errors()
        ]
        detail = "; ".join(f"{e['location']}: {e['message']}" for e in errors) or "invalid"
        return problem(422, detail, instance=request.url.path, extra={"errors": errors})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail), instance=request.url.path)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        error_id = secrets.token_hex(8)
        with contextlib.suppress(Exception):  # a broken log sink must not break the answer
            log.error(
                "unexpected error", error_id=error_id, path=request.url.path,
                error=type(exc).__name__,
            )  # fmt: skip
        return problem(
            500,
            f"an internal error occurred (error id {error_id}); nothing more is disclosed",
            instance=request.url.path,
        )
