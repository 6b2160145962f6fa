"""`fourflow serve` on a fresh home: a real uvicorn on 127.0.0.1 with FourFlow's own node."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.api.world import PASSWORD

pytestmark = pytest.mark.chain


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_initialises_a_fresh_home_and_answers_on_loopback(tmp_path: Path) -> None:
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FOURFLOW_")},
        "FOURFLOW_HOME": str(tmp_path / "home"),
        "FOURFLOW_KEYSTORE_PASSWORD": "serve-test",
        "FOURFLOW_LOG_LEVEL": "info",
        "FOURFLOW_API_MAX_BODY_BYTES": "4096",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "fourflow", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        deadline = time.monotonic() + 240
        while True:
            assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the API did not answer within 240 s"
            time.sleep(0.5)
        spec = httpx.get(f"{base}/openapi.json", timeout=10).json()
        assert spec["openapi"].startswith("3.1")
        body = {
            "name": "Serve Test Co", "uscc": "91110000600037341L", "org_type": "enterprise",
            "admin_email": "admin@serve.example.cn", "admin_name": "Admin",
            "admin_password": PASSWORD,
        }  # fmt: skip
        registered = httpx.post(f"{base}/registrations", json=body, timeout=30)
        assert registered.status_code == 201, registered.text
        refused = httpx.post(
            f"{base}/sessions",
            json={"email": "admin@serve.example.cn", "password": PASSWORD},
            timeout=30,
        )
        assert refused.status_code == 401  # waits for the operator's admission
        assert refused.headers["content-type"] == "application/problem+json"
        big = httpx.post(f"{base}/registrations", content=b"x" * 5000, timeout=10)
        assert big.status_code == 413
    finally:
        server.terminate()
        try:
            _, err = server.communicate(timeout=60)
        finally:
            if server.poll() is None:
                server.kill()
    logs = err.decode()
    assert '"path": "/api/v1/registrations"' in logs and '"status": 201' in logs
    assert PASSWORD not in logs and "admin@serve.example.cn" not in logs

    def fourflow(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "fourflow", *args],
            env=env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip

    try:
        # `fourflow audit` proves the API's audit trail: registration, sign-in, 413 ...
        audited = fourflow("audit", "--json")
        result = json.loads(audited.stdout)
        assert audited.returncode == 0 and result["ok"], result
        assert result["api_audit_trail"]["records"] >= 2
        with sqlite3.connect(tmp_path / "home" / "fourflow.db") as db:
            db.execute("UPDATE api_audit SET client = '10.9.9.9' WHERE seq = 1")
        tampered = fourflow("audit", "--json")
        assert tampered.returncode == 1
        assert json.loads(tampered.stdout)["api_audit_trail"]["problems"] == [
            "record 1: its content does not match its hash"
        ]
    finally:
        fourflow("chain", "node", "stop")
