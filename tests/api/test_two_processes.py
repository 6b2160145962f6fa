"""The main path over HTTP against `fourflow serve --workers 2` on PostgreSQL: two API
processes on one store and one chain, every request going to either; then `fourflow audit`
proves the store, the chain and the API's audit trail agree."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from fourflow.adapters.chain.node import AnvilNode
from tests.api.main_path_flow import confirmed_holding, main_path
from tests.api.world import API, PASSWORD, Party, Person, ok, sign_in
from tests.store.fixtures import pg_schema_url, require_postgres

pytestmark = [pytest.mark.chain, pytest.mark.postgres]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def pg_url() -> Iterator[str]:
    with pg_schema_url(require_postgres()) as url:
        yield url


def _fifty_pledges_of_one_holding(
    client: httpx.Client, parties: dict[str, Party], approver: Person, today: dt.date
) -> None:
    """50 requests at once to finance one holding, spread over both processes: exactly one
    is approved and pledges it; every other one is refused (409) and changes nothing."""
    holding = confirmed_holding(client, parties, "HTTP-C", today)
    bank, tier1 = parties["bank"], parties["tier1"]
    policy = {"fields": {"refer_pd": 0.9, "max_pd": 1.0}}  # the robot decides alone again
    ok(client.put(f"{API}/policy", json=policy, headers=bank.admin.auth), 202)
    ok(client.post(f"{API}/policy/approval", json={"agree": True}, headers=approver.auth))
    body = {"holding_id": holding, "bank": bank.org_id, "amount": "500000.00",
            "as_of": (today - dt.timedelta(days=90)).isoformat()}  # fmt: skip

    def ask(_: int) -> httpx.Response:
        with httpx.Client(base_url=str(client.base_url), timeout=300) as own:
            return own.post(f"{API}/financings", json=body, headers=tier1.admin.auth)

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(ask, range(50)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] + [409] * 49, [a.text[:200] for a in answers if a.status_code != 409]
    (won,) = [a.json() for a in answers if a.status_code == 201]
    assert won["status"] == "approved" and won["principal"] == "500000.00"
    assert won["chain"]["state"] == "pending"  # answered at the store commit
    mine = ok(client.get(f"{API}/financings", headers=tier1.admin.auth))
    assert [f["financing_id"] for f in mine] == [won["financing_id"]]
    # The worker's relay applies the pledge: the financing turns active (bounded wait).
    deadline = time.monotonic() + 180
    while True:
        now = ok(client.get(f"{API}/financings/{won['financing_id']}", headers=tier1.admin.auth))
        if now["chain"]["state"] != "pending":
            break
        assert time.monotonic() < deadline, f"the pledge was not applied within 180 s: {now}"
        time.sleep(0.5)
    assert now["status"] == "active" and now["chain"] == {"state": "applied", "refusal": None}, now


def test_two_api_processes_on_postgresql_run_the_main_path(
    tmp_path: Path, pg_url: str, anvil: AnvilNode
) -> None:
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FOURFLOW_")},
        "FOURFLOW_HOME": str(tmp_path / "home"),
        "FOURFLOW_KEYSTORE_PASSWORD": "two-processes",
        "FOURFLOW_DATABASE_URL": pg_url,
        "FOURFLOW_CHAIN_URL": anvil.url,
        "FOURFLOW_FOUR_EYES_LIMIT": "100000",
        "FOURFLOW_NEW_USER_PASSWORD": PASSWORD,
    }

    def fourflow(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "fourflow", *args],
            env=env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip

    # The server's log goes to a file (a pipe nobody reads would block it once full), shown
    # below when the test fails: an error id in a 500 answer is found there.
    log = tmp_path / "serve.log"
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "fourflow", "serve", "--host", "127.0.0.1", "--port", str(port),
             "--workers", "2", "--worker-interval", "1"],  # the relay applies what was answered
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=sink,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while True:
            assert server.poll() is None, log.read_text(errors="replace")[-5000:]
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the API did not answer within 240 s"
            time.sleep(0.5)
        added = fourflow("user", "add", "--org", "operator", "--email", "admin@operator.example.cn",
                         "--name", "Operator Admin", "--json")  # fmt: skip
        assert added.returncode == 0, added.stderr
        operator = Person("admin@operator.example.cn", json.loads(added.stdout)["totp_uri"])
        with httpx.Client(base_url=base, timeout=120) as client:
            sign_in(client, operator)  # type: ignore[arg-type]
            today = dt.datetime.now(dt.UTC).date()
            parties, approver = main_path(client, operator, today)
            _fifty_pledges_of_one_holding(client, parties, approver, today)
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        finally:
            if server.poll() is None:
                server.kill()
            print(log.read_text(errors="replace")[-20000:])  # shown by pytest on failure
    audited = fourflow("audit", "--json")
    result = json.loads(audited.stdout)
    assert audited.returncode == 0 and result["ok"], result
    assert result["api_audit_trail"]["records"] > 20 and not result["api_audit_trail"]["problems"]
