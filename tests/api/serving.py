"""`fourflow serve` run as a process by the serve tests (on 127.0.0.1, waits bounded in time),
and `fourflow audit --json` run on the served home after it: the start-up and the audit those
tests share (test_serve_stop, test_serve_worker_restart, test_kill_restart)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.api import wait_serving
from sqlalchemy.engine import make_url

#: Seconds a served home may take to answer its health route.
WAIT_S = 120.0


def free_port() -> int:
    """A port on 127.0.0.1 nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_env(
    home: Path, url: str, chain_url: str, password: str = "api-test-password"
) -> dict[str, str]:
    """The environment of a process on the served home: this one's without its FOURFLOW_
    settings, the home's, and a rate limit the tests' requests never reach (no 429)."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("FOURFLOW_")},
        "FOURFLOW_HOME": str(home),
        "FOURFLOW_DATABASE_URL": url,
        "FOURFLOW_CHAIN_URL": chain_url,
        "FOURFLOW_KEYSTORE_PASSWORD": password,
        "FOURFLOW_API_RATE_PER_MINUTE": "1000000",
    }


def api_processes(url: str) -> int:
    """API processes to serve ``url`` with: one on SQLite, two on PostgreSQL (uvicorn's
    supervisor, as the page bench runs it)."""
    return 1 if make_url(url).get_backend_name() == "sqlite" else 2


@dataclass(frozen=True)
class Served:
    """A running ``fourflow serve``: its process, its base URL and its log."""

    process: subprocess.Popen[bytes]
    base: str
    log: Path

    def said(self) -> str:
        """What it logged so far."""
        return self.log.read_text()


@contextmanager
def serving(env: dict[str, str], log: Path, processes: int, *options: str) -> Iterator[Served]:
    """``fourflow serve`` on a free port of 127.0.0.1 with ``processes`` API processes, its
    worker passing every 0.2 s, and ``options``; yielded once it answers (within ``WAIT_S``),
    killed on the way out if it is still running (a test stops it with SIGTERM itself)."""
    port = free_port()
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "fourflow", "serve", "--host", "127.0.0.1", "--port",
             str(port), "--workers", str(processes), "--worker-interval", "0.2", *options],
            env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    served = Served(server, f"http://127.0.0.1:{port}", log)
    try:
        wait_serving(server, served.base, WAIT_S, poll_s=0.2, why=lambda: served.said()[-4000:])
        yield served
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=30)


def audited(env: dict[str, str]) -> dict[str, Any]:
    """`fourflow audit --json` on the home of ``env``, in a process of its own: its report,
    asserted clean (exit 0, ``ok``: the store and the chain agree, the trail is intact)."""
    run = subprocess.run(
        [sys.executable, "-m", "fourflow", "audit", "--json"],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    try:
        result: dict[str, Any] = json.loads(run.stdout)
    except json.JSONDecodeError:
        raise AssertionError(
            f"fourflow audit --json exited {run.returncode} without a JSON report: "
            f"{run.stdout[-2000:]!r} {run.stderr[-2000:]!r}"
        ) from None
    assert run.returncode == 0 and result["ok"], result
    return result
