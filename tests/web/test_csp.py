"""The web app's page under a nonce Content-Security-Policy (entrypoints/api/webui.py): a
fresh nonce per answer in the header, on the page's script tags and told to the app; no
'unsafe-inline' for scripts or style elements; and in Debian's chromium the built app loads
and renders with no violation while injected inline script and style are refused."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fourflow.entrypoints.api import webui
from fourflow.entrypoints.api.app import SecurityHeaders
from fourflow.entrypoints.api.webui import WebApp, page_csp, with_nonce
from tests.web.serving import run_script, served

SCRIPT = Path(__file__).resolve().parents[2] / "web" / "e2e" / "csp.mjs"
PAGE = (
    '<!doctype html><html><head><meta charset="UTF-8" /><title>FourFlow</title>'
    '<script type="module" crossorigin src="/assets/index-abc.js"></script>'
    '<link rel="stylesheet" href="/assets/index-abc.css"></head><body><div id="root"></div>'
    "</body></html>"
)
NONCE = re.compile(r"'nonce-([A-Za-z0-9+/=]+)'")


def _client(directory: Path) -> TestClient:
    app = FastAPI(docs_url=None, redoc_url=None)
    app.add_api_route("/api/v1/health", lambda: {"ok": True})
    app.add_middleware(WebApp, directory=directory)
    app.add_middleware(SecurityHeaders)
    return TestClient(app)


def test_each_page_has_its_own_nonce_in_header_tags_and_meta(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text(PAGE)
    (tmp_path / "assets" / "index-abc.js").write_text("console.log(1)")
    client = _client(tmp_path)
    seen = set()
    for path in ("/", "/index.html", "/trade", "/bank/queue"):
        page = client.get(path)
        assert page.status_code == 200, path
        csp = page.headers["content-security-policy"]
        (nonce,) = set(NONCE.findall(csp))
        assert csp == page_csp(nonce)
        assert page.headers["cache-control"] == "no-store"
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
        assert directives["script-src"] == f"'self' 'nonce-{nonce}'"
        assert directives["style-src"] == f"'self' 'nonce-{nonce}'"
        assert "unsafe" not in directives["script-src"] + directives["style-src"]
        assert directives["style-src-attr"] == "'unsafe-inline'"
        html = page.text
        assert f'<script nonce="{nonce}" type="module"' in html
        assert f'<link nonce="{nonce}" rel="stylesheet"' in html
        assert f'<head><meta name="csp-nonce" content="{nonce}">' in html
        assert len(nonce) >= 22
        seen.add(nonce)
    assert len(seen) == 4  # never the same nonce twice
    asset = client.get("/assets/index-abc.js")
    assert "nonce" not in asset.text and asset.headers["content-security-policy"] == webui.PAGE_CSP
    assert client.head("/").status_code == 200
    api = client.get("/api/v1/nope")
    assert api.headers["content-security-policy"].startswith("default-src 'none'")


def test_a_page_without_a_head_gets_the_meta_first() -> None:
    assert with_nonce(b"<p>x</p><script src=a.js></script>", "N") == (
        b'<meta name="csp-nonce" content="N"><p>x</p><script nonce="N" src=a.js></script>'
    )


@pytest.fixture
def served_app() -> Iterator[str]:
    """The built app (make setup / make web) behind WebApp on 127.0.0.1, in a thread."""
    assert (webui.BUILT / "index.html").is_file(), "the web app is not built: run `make setup`"
    app = FastAPI(docs_url=None, redoc_url=None)
    app.add_middleware(WebApp, directory=webui.BUILT)
    app.add_middleware(SecurityHeaders)
    with served(app, start_timeout=30, what="the test server") as base:
        yield base


@pytest.mark.xdist_group("web-csp")
def test_the_built_app_loads_under_the_nonce_policy(served_app: str) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Debian's chromium is not installed: run `make setup`"
    assert (SCRIPT.parents[1] / "node_modules" / "playwright-core").is_dir(), "run `make setup`"
    env = {**os.environ, "BASE_URL": served_app, "CHROMIUM": chromium}
    code, report = run_script(SCRIPT, env, timeout=180)
    assert code == 0 and report["ok"], json.dumps(report, indent=1)
    (nonce,) = set(NONCE.findall(report["header"]))
    assert report["nonceInPage"] == nonce
    assert report["errors"] == []
    assert report["loadViolations"] == [], report["loadViolations"]
    assert all(report["styleElements"])  # any made in the page is nonced
    # Ant Design's styles: the app's stylesheet (style-src 'self'), none generated in the page
    (sheet,) = report["stylesheets"]
    assert sheet["path"].startswith("/assets/") and sheet["rules"] > 1000, sheet
    assert report["antdStylesMadeHere"] == 0
    assert report["buttonBackground"] not in ("rgba(0, 0, 0, 0)", "transparent")
    assert report["codeStyleApplied"] is True
    injected = report["injectedHandlerRan"]
    assert injected == {"ran": False, "styled": False}
    refused = {v["directive"] for v in report["afterInjection"]}
    assert {"script-src-attr", "style-src-elem"} <= refused, report["afterInjection"]
