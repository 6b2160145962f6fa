"""What the browser tests share: an ASGI app served on a free loopback port in a thread, and a
browser script run with node whose last JSON line is its report."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn


def free_port() -> int:
    """A TCP port free on 127.0.0.1 at the time of asking."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(app: Any, *, start_timeout: float = 60.0, what: str = "the app") -> Iterator[str]:
    """``app`` served by uvicorn on 127.0.0.1 in a thread; its base URL. Waits until the server
    has started (at most ``start_timeout`` seconds) and stops it at the end."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        assert server.started, f"{what} did not start in {start_timeout:.0f} s"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


def run_script(script: Path, env: Mapping[str, str], *, timeout: int) -> tuple[int, dict[str, Any]]:
    """Run a browser script (``node script``, in its folder) with ``env``; its exit code and
    the report it printed last (a line of JSON), asserting there is one."""
    run = subprocess.run(
        ["node", str(script)], cwd=script.parent, env=dict(env), capture_output=True, text=True,
        timeout=timeout, check=False,
    )  # fmt: skip
    lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
    assert lines, f"exit {run.returncode}\n{run.stdout}\n{run.stderr}"
    report: dict[str, Any] = json.loads(lines[-1])
    return run.returncode, report
