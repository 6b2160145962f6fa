"""The built web app served beside the API (webui.WebApp): files as themselves, the app's
page for its own paths, never in place of an API answer or any route, its own CSP."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from fourflow.entrypoints.api.app import SecurityHeaders, openapi_document
from fourflow.entrypoints.api.webui import WebApp, page_csp
from fourflow.entrypoints.cli.main import app as cli_app

PAGE = "<!doctype html><title>FourFlow</title>"


def _client(directory: Path) -> TestClient:
    app = FastAPI(docs_url=None, redoc_url=None)
    app.add_api_route("/api/v1/health", lambda: {"ok": True})
    app.add_api_route("/metrics", lambda: {"route": "metrics"})
    app.add_middleware(WebApp, directory=directory)
    app.add_middleware(SecurityHeaders)
    return TestClient(app)


def _built(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir(parents=True)
    (tmp_path / "index.html").write_text(PAGE)
    (tmp_path / "assets" / "index-abc123.js").write_text("console.log(1)")
    (tmp_path.parent / "secret.txt").write_text("not to be served")
    return tmp_path


def test_files_pages_and_headers(tmp_path: Path) -> None:
    client = _client(_built(tmp_path / "webui"))
    for path in ("/", "/upload", "/admissions/", "/deep/link/in/the/app"):
        page = client.get(path)
        # the page with a fresh nonce (tests/web/test_csp.py checks the nonce in full)
        nonce = page.headers["content-security-policy"].split("'nonce-")[1].split("'")[0]
        assert page.status_code == 200, path
        assert page.text == f'<meta name="csp-nonce" content="{nonce}">' + PAGE, path
        assert page.headers["content-security-policy"] == page_csp(nonce)
        assert page.headers["cache-control"] == "no-store"
        assert page.headers["x-frame-options"] == "DENY"  # the API's other headers still added
    asset = client.get("/assets/index-abc123.js")
    assert asset.status_code == 200 and asset.text == "console.log(1)"
    assert "immutable" in asset.headers["cache-control"]
    assert "javascript" in asset.headers["content-type"]
    assert client.head("/").status_code == 200


def test_never_shadows_the_api_or_a_route(tmp_path: Path) -> None:
    client = _client(_built(tmp_path / "webui"))
    assert client.get("/api/v1/health").json() == {"ok": True}
    missing = client.get("/api/v1/no/such/route")
    assert missing.status_code == 404 and PAGE not in missing.text
    assert "default-src 'none'" in missing.headers["content-security-policy"]
    assert client.get("/api").status_code == 404
    assert client.get("/metrics").json() == {"route": "metrics"}
    assert client.post("/upload").status_code in (404, 405)  # only GET and HEAD are pages
    assert client.get("/docs").status_code == 404  # no framework docs UI
    assert client.get("/assets/missing-0000.js").status_code == 404
    assert client.get("/favicon.ico").status_code == 404


def test_refuses_paths_out_of_its_directory(tmp_path: Path) -> None:
    client = _client(_built(tmp_path / "webui"))
    for path in ("/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt", "/.env"):
        answer = client.get(path)
        assert "not to be served" not in answer.text, path


def test_says_how_to_build_it_when_missing(tmp_path: Path) -> None:
    client = _client(tmp_path / "nothing-built")
    answer = client.get("/")
    assert answer.status_code == 404 and "make setup" in answer.text
    assert client.get("/api/v1/health").status_code == 200


def test_fourflow_openapi_writes_the_document_the_client_is_generated_from(tmp_path: Path) -> None:
    out = tmp_path / "build" / "openapi.json"
    done = CliRunner().invoke(cli_app, ["openapi", "--out", str(out)])
    assert done.exit_code == 0, done.output
    written = json.loads(out.read_text(encoding="utf-8"))
    assert written == json.loads(json.dumps(openapi_document()))
    assert written["openapi"].startswith("3.1")
    for path in ("/api/v1/sessions", "/api/v1/registrations", "/api/v1/documents"):
        assert path in written["paths"], path
