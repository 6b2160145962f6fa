"""The web application in a real browser: `fourflow serve` on a fresh home on 127.0.0.1, then
web/e2e/main-path.mjs drives Debian's chromium through playwright-core (no downloaded
browser): a supplier signs in in Chinese, switches to English, drops real public documents
(../shared/data) and its own part of a trade on the upload screen and sees a result per file;
the trade's verification arrives live on the page's event stream; an enterprise registers and
the platform operator, signed in with its TOTP, admits it. axe-core checks every page visited.
Screenshots are in the test's tmp directory. Needs `make setup` (the built app, chromium,
the web's node modules): it fails, never skips, without them."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pyotp
import pytest

from fourflow.adapters.documents import standards
from fourflow.domain.identifiers import uscc_check_character
from fourflow.entrypoints.api.app import openapi_document
from fourflow.entrypoints.api.webui import BUILT
from tests.api.world import (
    API,
    PASSWORD,
    Person,
    documents_by_issuer,
    ok,
    register_and_admit,
    sign_in,
)

pytestmark = [pytest.mark.chain, pytest.mark.slow, pytest.mark.xdist_group("web-browser")]

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "web" / "e2e" / "main-path.mjs"
#: Public UBL 2.1 examples (OASIS): an order, an invoice, a despatch advice, a quotation.
DOCUMENTS = [
    "ubl/examples-2.1/UBL-Order-2.1-Example.xml",
    "ubl/examples-2.1/UBL-Invoice-2.1-Example.xml",
    "ubl/examples-2.1/UBL-DespatchAdvice-2.0-Example.xml",
    "ubl/examples-2.1/UBL-Quotation-2.1-Example.xml",
]
BROWSER_TIMEOUT_S = 420


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _uscc(first17: str) -> str:
    return first17 + uscc_check_character(first17)


@dataclass(frozen=True)
class Served:
    base: str
    env: dict[str, str]


@contextmanager
def serve_home(tmp_path: Path, **extra_env: str) -> Iterator[Served]:
    """`fourflow serve` on a fresh home (its own anvil node) on a free loopback port, with
    ``extra_env`` on top; stopped, and its node with it, at the end."""
    assert (BUILT / "index.html").is_file(), "the web app is not built: run `make setup`"
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FOURFLOW_")},
        "FOURFLOW_HOME": str(tmp_path / "home"),
        "FOURFLOW_KEYSTORE_PASSWORD": "web-browser-test",
        "FOURFLOW_NEW_USER_PASSWORD": PASSWORD,
        # An open event stream holds the server's shutdown until it ends: keep them short
        # (the page reconnects after each, from the last event it saw).
        "FOURFLOW_EVENTS_STREAM_SECONDS": "10",
        **extra_env,
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "fourflow", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--worker-interval", "1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while True:
            assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
            try:
                if httpx.get(f"{base}{API}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the API did not answer within 240 s"
            time.sleep(0.5)
        yield Served(base, env)
    finally:
        server.terminate()
        try:
            server.communicate(timeout=90)
        finally:
            if server.poll() is None:
                server.kill()
            subprocess.run(
                [sys.executable, "-m", "fourflow", "chain", "node", "stop"],
                env=env, capture_output=True, timeout=120, check=False,
            )  # fmt: skip


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """`fourflow serve` on a fresh home (its own anvil node) on a free loopback port."""
    with serve_home(tmp_path) as served:
        yield served


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "Debian's chromium is not installed: run `make setup`"
    return found


def test_supplier_uploads_and_operator_admits_in_the_browser(
    served: Served, tmp_path: Path
) -> None:
    added = subprocess.run(
        [sys.executable, "-m", "fourflow", "user", "add", "--org", "operator",
         "--email", "admin@operator.example.cn", "--name", "Operator Admin", "--json"],
        env=served.env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    # The typed client is generated from `fourflow openapi`: the very document served.
    served_spec = httpx.get(f"{served.base}{API}/openapi.json", timeout=30).json()
    assert served_spec == json.loads(json.dumps(openapi_document()))
    added_uri = json.loads(added.stdout)["totp_uri"]
    operator_secret = pyotp.parse_uri(added_uri).secret
    with httpx.Client(base_url=served.base, timeout=120) as client:
        operator = sign_in(client, Person("admin@operator.example.cn", added_uri))  # type: ignore[arg-type]
        # The supplier (tier 1) sells to the core enterprise; the logistics firm carries.
        parties = {
            k: register_and_admit(client, operator, k)  # type: ignore[arg-type]
            for k in ("core", "logistics", "tier1")
        }
        start = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=30)
        bundles = dict(documents_by_issuer("WEB-1", start))
        for key in ("core", "logistics"):  # the buyer's and the carrier's own evidence
            rows = ok(
                client.post(
                    f"{API}/documents?source={key}.json", content=bundles[key],
                    headers={**parties[key].admin.auth, "Content-Type": "application/json"},
                ),
                201,
            )  # fmt: skip
            assert all(r["status"] == "accepted" for r in rows), rows
    # The seller's part (its invoice completes the trade) goes through the browser.
    seller_bundle = tmp_path / "tier1-trade-WEB-1.json"
    seller_bundle.write_bytes(bundles["tier1"])
    applicant = {
        "name": "无锡新材料科技有限公司", "uscc": _uscc("91320214MA1WEB002"),
        "legal_representative": "王芳", "address": "无锡市新吴区太湖大道 8 号",
        "admin_name": "王芳", "admin_email": "admin@applicant.example.cn",
    }  # fmt: skip
    shared = standards.standards_dir()
    documents = [str(shared / d) for d in DOCUMENTS]
    for d in documents:
        assert Path(d).is_file(), f"the public sample {d} is missing"
    documents.append(str(seller_bundle))
    out = tmp_path / "screenshots"
    env: dict[str, str] = {
        **os.environ,
        "BASE_URL": served.base, "OUT_DIR": str(out), "CHROMIUM": _chromium(),
        "PASSWORD": PASSWORD, "SUPPLIER_EMAIL": parties["tier1"].admin.email,
        "OPERATOR_EMAIL": "admin@operator.example.cn", "OPERATOR_TOTP_SECRET": operator_secret,
        "DOCUMENTS": json.dumps(documents), "APPLICANT": json.dumps(applicant),
    }  # fmt: skip
    run = subprocess.run(
        ["node", str(SCRIPT)], cwd=SCRIPT.parent, env=env, capture_output=True, text=True,
        timeout=BROWSER_TIMEOUT_S, check=False,
    )  # fmt: skip
    lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
    assert lines, f"exit {run.returncode}\n{run.stdout}\n{run.stderr}"
    result = json.loads(lines[-1])
    shown = {**result, "uploads": [{**u, "finding": u["finding"][:300]} for u in result["uploads"]]}
    assert run.returncode == 0 and result["ok"], json.dumps(shown, ensure_ascii=False, indent=1)
    # One result per file dropped, each with its finding in words.
    assert sorted(u["file"] for u in result["uploads"]) == sorted(Path(d).name for d in documents)
    for u in result["uploads"]:
        assert re.fullmatch(r"(?:(?:Accepted|Duplicate|Rejected)\s*)+", u["result"]), u
        assert u["finding"].strip(), u
    assert not result["violations"] and not result["csp"]
    # The seller's bundle completed the trade; its verification arrived live in the page.
    assert result["trade_id"] and result["notifications"] >= 1, result
    visited = {p["name"] for p in result["pages"]}
    assert {"sign-in-zh", "upload-en-results", "register-zh", "admissions-zh"} <= visited
    assert all((out / f"{name}.png").is_file() for name in visited)
    # The admission is real: the applicant's admin signs in (an enterprise: no second factor).
    with httpx.Client(base_url=served.base, timeout=60) as client:
        signed = client.post(
            f"{API}/sessions",
            json={"email": applicant["admin_email"], "password": PASSWORD, "totp": None},
        )
        assert signed.status_code == 201, signed.text
        me = client.get(
            f"{API}/me", headers={"Authorization": f"Bearer {signed.json()['access_token']}"}
        ).json()
        assert me["org_types"] == ["enterprise"] and me["role"] == "admin"
