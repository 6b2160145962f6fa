"""The web application (issue 17, web/ in the tree) served at ``/`` beside the API.

``make setup`` builds it with Vite into ``fourflow/webui`` inside the package (so the wheel
carries it). A GET or HEAD outside ``/api/`` that no route of the application answers (404) is
answered from that directory: a file that exists as itself, any other path without a file
extension with ``index.html`` (the app routes in the browser). ``/api/`` is never shadowed: it
always goes to the API, which answers its own 404. The pages get their own
Content-Security-Policy (scripts only from this origin; Ant Design writes its styles into
<style> elements, hence ``style-src 'unsafe-inline'``); the API's ``default-src 'none'`` stays
on every API answer.
"""

from __future__ import annotations

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
        if found.is_file():
            cache = IMMUTABLE if parts[:1] == ("assets",) else "no-cache"
            return FileResponse(found, headers=_headers(cache))
        if parts and "." in parts[-1]:
            return PlainTextResponse("not found", status_code=404)  # a missing file, not a page
        return FileResponse(index, headers=_headers("no-cache"))


def _headers(cache: str) -> dict[str, str]:
    return {"content-security-policy": PAGE_CSP, "cache-control": cache}
