"""The web application (issue 17, web/ in the tree) served at ``/`` beside the API.

``make setup`` builds it with Vite into ``fourflow/webui`` inside the package (so the wheel
carries it). A GET or HEAD outside ``/api/`` that no route of the application answers (404) is
answered from that directory: a file that exists as itself, any other path without a file
extension with ``index.html`` (the app routes in the browser). ``/api/`` is never shadowed: it
always goes to the API, which answers its own 404. The pages get their own
Content-Security-Policy; the API's ``default-src 'none'`` stays on every API answer.

The page is answered with a fresh nonce each time (``page_csp``): scripts only from this
origin or carrying the nonce (the page's own script tags get it; there is no inline script),
``<style>`` elements only from this origin or carrying the nonce (Ant Design's CSS-in-JS is
given it by the page: ``<meta name="csp-nonce">``, read by web/src/csp.ts), and ``style``
attributes allowed (``style-src-attr 'unsafe-inline'``: the components position popups and
charts through them; an attribute cannot run script).
"""

from __future__ import annotations

import base64
import os
import re
from pathlib import Path, PurePosixPath

from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Where ``make setup`` puts the built application.
BUILT = Path(__file__).resolve().parents[2] / "webui"

PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "worker-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
#: The page's policy, with its nonce (``{n}``).
NONCED_CSP = (
    "default-src 'self'; script-src 'self' 'nonce-{n}'; style-src 'self' 'nonce-{n}'; "
    "style-src-attr 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
    "connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
_TAGS = re.compile(rb"<(script|link|style)\b", re.IGNORECASE)
_HEAD = re.compile(rb"<head[^>]*>", re.IGNORECASE)
#: FastAPI's documentation pages: switched off (docs_url=None), never answered by the app.
FRAMEWORK_PAGES = frozenset({"/docs", "/redoc", "/docs/oauth2-redirect"})
#: Vite names every asset by its content's hash: a browser may keep it for good.
IMMUTABLE = "public, max-age=31536000, immutable"


class WebApp:
    """Serve the built web application for GET/HEAD outside ``/api/``; hand the rest on."""

    def __init__(self, app: ASGIApp, directory: Path) -> None:
        self.app = app
        self.directory = directory.resolve()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", "")) if scope["type"] == "http" else ""
        if (
            scope["type"] != "http"
            or scope.get("method") not in ("GET", "HEAD")
            or path == "/api"
            or path.startswith("/api/")
        ):
            await self.app(scope, receive, send)
            return
        # Any route of the application comes first: only what it does not know (404) is
        # answered from the built directory.
        missed = False

        async def unless_missing(message: Message) -> None:
            nonlocal missed
            if message["type"] == "http.response.start" and message["status"] == 404:
                missed = True
            if not missed:
                await send(message)

        await self.app(scope, receive, unless_missing)
        if missed:
            await self.answer(path)(scope, receive, send)

    def answer(self, path: str) -> Response:
        """The file for ``path``: itself, the app's page, or 404."""
        index = self.directory / "index.html"
        if not index.is_file():
            return PlainTextResponse(
                "the web application is not built: run `make setup` (docs/web.md)",
                status_code=404,
                headers={"content-security-policy": "default-src 'none'"},
            )
        if path.rstrip("/") in FRAMEWORK_PAGES:
            return PlainTextResponse("not found", status_code=404)
        parts = PurePosixPath(path).parts[1:]
        if any(p in ("..", ".") or p.startswith(".") for p in parts):
            return PlainTextResponse("not found", status_code=404)
        found = self.directory.joinpath(*parts).resolve() if parts else index
        if not found.is_relative_to(self.directory):
            return PlainTextResponse("not found", status_code=404)
        if found == index:
            return page(index)
        if found.is_file():
            cache = IMMUTABLE if parts[:1] == ("assets",) else "no-cache"
            return FileResponse(found, headers=_headers(cache))
        if parts and "." in parts[-1]:
            return PlainTextResponse("not found", status_code=404)  # a missing file, not a page
        return page(index)


def new_nonce() -> str:
    """128 random bits, base64: a nonce used for one answer only."""
    return base64.b64encode(os.urandom(16)).decode()


def page_csp(nonce: str) -> str:
    """The page's Content-Security-Policy with ``nonce``."""
    return NONCED_CSP.format(n=nonce)


def with_nonce(html: bytes, nonce: str) -> bytes:
    """The page with ``nonce`` on each of its script, link and style tags, and told to the
    app in ``<meta name="csp-nonce">`` (after ``<head>``, or first when there is none)."""
    attr = f' nonce="{nonce}"'.encode()
    tagged = _TAGS.sub(lambda m: m.group(0) + attr, html)
    meta = f'<meta name="csp-nonce" content="{nonce}">'.encode()
    head = _HEAD.search(tagged)
    if head is None:
        return meta + tagged
    return tagged[: head.end()] + meta + tagged[head.end() :]


def page(index: Path) -> Response:
    """The app's page with a fresh nonce in its policy and its tags (never cached: the nonce
    is for this answer only)."""
    nonce = new_nonce()
    return Response(
        with_nonce(index.read_bytes(), nonce),
        media_type="text/html; charset=utf-8",
        headers={"content-security-policy": page_csp(nonce), "cache-control": "no-store"},
    )


def _headers(cache: str) -> dict[str, str]:
    return {"content-security-policy": PAGE_CSP, "cache-control": cache}
