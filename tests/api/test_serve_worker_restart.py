"""`fourflow serve` supervises its worker: a worker that dies is logged, restarted with a backoff,
and ``GET /health`` tells a monitor (503 ``degraded`` while it is down); a worker that keeps
failing is given up loudly (the documented behaviour: the API stays up, health says ``failed``,
serve exits 1 when stopped).

The first test runs ``serve`` on 127.0.0.1 (SQLite one API process; PostgreSQL two), kills its
worker with SIGKILL, sees health go down then up with the restart counted, queues chain
operations while the worker is down (an enterprise onboarded from the store's side) and sees
the restarted worker apply them; then SIGTERM still stops everything (exit 0) and the audit
finds the store and the chain in agreement. The second runs the supervisor over real child
processes that fail at once."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import structlog
from fastapi.testclient import TestClient

from fourflow.adapters.chain.node import AnvilNode
from fourflow.bootstrap import Platform
from fourflow.domain.parties import Role
from fourflow.entrypoints.api import worker_health
from fourflow.entrypoints.api.server import WORKER_NICENESS, WorkerSupervisor
from fourflow.services import onboarding
from fourflow.services.demo import demo_uscc
from tests.api.conftest import api_settings
from tests.api.serving import api_processes, audited, serve_env, serving
from tests.api.test_serve_stop import STOP_BOUND_S, _prepared
from tests.integration.test_worker import _children

WAIT_S = 120.0
BACKOFF_S = 3.0  # long enough for health to be seen down on a loaded machine


def _health(base: str) -> tuple[int, dict[str, object]]:
    r = httpx.get(f"{base}/api/v1/health", timeout=10)
    return r.status_code, r.json()


def _worker_pids(server: subprocess.Popen[bytes]) -> list[int]:
    return [pid for pid, line in _children(server.pid) if " worker " in line]


@pytest.mark.chain
def test_serve_restarts_a_killed_worker_and_health_tells(
    tmp_path: Path, migrated_store_url: str, anvil: AnvilNode
) -> None:
    home = tmp_path / "home"
    _prepared(home, migrated_store_url, anvil.url)
    env = serve_env(home, migrated_store_url, anvil.url)
    processes = api_processes(migrated_store_url)
    backoff = ("--worker-backoff", str(BACKOFF_S))
    with serving(env, tmp_path / "serve.log", processes, *backoff) as served:
        server, base, log = served.process, served.base, served.log
        code, body = _health(base)
        assert code == 200 and body["status"] == "ok", body
        worker = body["worker"]
        assert isinstance(worker, dict) and worker["state"] == "running", body
        (first,) = _worker_pids(server)
        assert worker["pid"] == first and worker["restarts"] == 0
        # background work: the worker runs nicer than the API processes it serves beside
        nicer = min(19, os.getpriority(os.PRIO_PROCESS, server.pid) + WORKER_NICENESS)
        assert os.getpriority(os.PRIO_PROCESS, first) == nicer

        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + WAIT_S
        while (seen := _health(base))[0] != 503:
            assert time.monotonic() < deadline, (seen, log.read_text()[-4000:])
            time.sleep(0.1)
        code, body = seen
        assert body["status"] == "degraded", body
        down = body["worker"]
        assert isinstance(down, dict)
        assert down["state"] == "down" and down["last_exit_code"] == -signal.SIGKILL, body

        # queued while no worker runs: only a restarted worker can apply them
        with Platform(api_settings(home, migrated_store_url, anvil.url)) as p:
            org = onboarding.onboard(
                uow_factory=p.uow_factory, keystore=p.keystore, name="After Kill Co",
                uscc=demo_uscc("320500", "MA1XQ0PTY"), roles=[Role.SUPPLIER],
            )  # fmt: skip
            with p.uow_factory() as uow:
                queued = [op.op_id for op in uow.outbox.pending(1000)]
        assert queued  # onboarding queues the enterprise's chain operations

        while (seen := _health(base))[0] != 200:
            assert time.monotonic() < deadline, (seen, log.read_text()[-4000:])
            time.sleep(0.1)
        up = seen[1]["worker"]
        assert isinstance(up, dict)
        assert up["state"] == "running" and up["restarts"] == 1 and up["pid"] != first, seen
        assert _worker_pids(server) == [up["pid"]]
        assert os.getpriority(os.PRIO_PROCESS, up["pid"]) == nicer  # the restarted one too

        with Platform(api_settings(home, migrated_store_url, anvil.url)) as p:
            while True:
                with p.uow_factory() as uow:
                    ops = [uow.outbox.get(op_id) for op_id in queued]
                if all(op is not None and op.status.value == "done" for op in ops):
                    break
                assert time.monotonic() < deadline, (ops, log.read_text()[-4000:])
                time.sleep(0.2)
            with p.uow_factory() as uow:
                assert uow.organisations.get(org.id) is not None

        asked = time.monotonic()
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=STOP_BOUND_S)
        assert time.monotonic() - asked < STOP_BOUND_S
    said = log.read_text()
    assert code == 0, said[-4000:]
    assert "worker exited: restarting it" in said and '"exit_code": -9' in said, said[-4000:]
    assert "worker restarted" in said
    assert not Path(f"/proc/{up['pid']}").exists()
    assert not list((home / "run").glob("serve-*-worker.json"))  # cleaned up at stop
    audited(env)  # the ops applied by the restarted worker: the store and the chain agree


def test_a_worker_failing_at_start_is_given_up_loudly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state_path = tmp_path / "run" / "worker.json"
    supervisor = WorkerSupervisor(
        0.2, state_path, first_backoff_s=0.05, max_backoff_s=0.2, give_up_after=4, window_s=60.0,
        command=[sys.executable, "-c", "import sys; sys.exit(3)"],
    )  # fmt: skip
    started = time.monotonic()
    with structlog.testing.capture_logs() as logs:
        supervisor.start()
        supervisor._thread.join(timeout=WAIT_S)  # it ends when it gives up
        assert not supervisor._thread.is_alive()
    # backoffs 0.05 + 0.1 + 0.2 between the four starts: given up well within the bound
    assert time.monotonic() - started < WAIT_S
    assert supervisor.gave_up and supervisor.restarts == 3 and supervisor.child is None
    exited = [e for e in logs if e["event"] == "worker exited: restarting it"]
    assert [e["exit_code"] for e in exited] == [3, 3, 3]
    assert [e["restart_in_s"] for e in exited] == [0.05, 0.1, 0.2]  # doubled, bounded
    (gave_up,) = [e for e in logs if e["event"].startswith("worker gave up")]
    assert gave_up["log_level"] == "critical" and gave_up["exit_code"] == 3
    state = json.loads(state_path.read_text())
    assert state["state"] == "failed" and state["last_exit_code"] == 3 and state["exits"] == 4

    # an API process beside it reads that state (its health: the next test)
    assert worker_health.read(state_path) == state
    assert supervisor.stop() is None  # nothing left to stop; serve then exits 1 (gave_up)


def test_health_reads_the_state_serve_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, api_platform: Platform, client: TestClient
) -> None:
    state_path = tmp_path / "worker.json"
    assert api_platform.settings.serve_worker_state is None
    r = client.get("/api/v1/health")
    assert r.status_code == 200 and r.json() == {"status": "ok", "worker": None}
    # as serve gives it to its API processes (Settings.serve_worker_state)
    named = dataclasses.replace(api_platform.settings, serve_worker_state=state_path)
    monkeypatch.setattr(api_platform, "settings", named)
    for state, code, status in (
        ("running", 200, "ok"), ("down", 503, "degraded"), ("failed", 503, "degraded"),
    ):  # fmt: skip
        worker_health.write(state_path, {"state": state, "restarts": 2, "pid": 7, "since": 1.0})
        r = client.get("/api/v1/health")
        assert r.status_code == code, r.text
        assert r.json()["status"] == status and r.json()["worker"]["state"] == state
        assert r.json()["worker"]["restarts"] == 2
    state_path.unlink()
    r = client.get("/api/v1/health")
    assert r.status_code == 200 and r.json()["worker"]["state"] == "unknown"


def test_a_worker_stopped_by_the_signal_that_stops_serve_is_not_restarted(tmp_path: Path) -> None:
    """A terminal's Ctrl-C reaches the worker and serve at once: its exit 0 is not an error."""
    supervisor = WorkerSupervisor(
        0.2, tmp_path / "worker.json", first_backoff_s=0.05, asked_grace_s=WAIT_S,
        command=[sys.executable, "-c", "import sys; sys.exit(0)"],
    )  # fmt: skip
    with structlog.testing.capture_logs() as logs:
        supervisor.start()
        child = supervisor.child
        assert child is not None
        child.wait(timeout=WAIT_S)
        assert supervisor.stop() == 0  # serve stops within the grace
    assert supervisor.restarts == 0 and not supervisor.gave_up
    assert not [e for e in logs if e["event"].startswith("worker")], logs
    assert json.loads((tmp_path / "worker.json").read_text())["state"] == "stopped"
