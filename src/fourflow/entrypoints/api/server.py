"""``fourflow serve``: the API under uvicorn on an initialised platform, in one process or
several (``--workers``) sharing one store, with ``fourflow worker`` beside it (unless
``worker=False``): the relay and the scheduled jobs outside the requests."""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
from types import FrameType

import uvicorn
from fastapi import FastAPI

from fourflow.bootstrap import Settings, open_platform
from fourflow.entrypoints.api import logging as api_logging
from fourflow.entrypoints.api.app import create_app
from fourflow.services import financing


def worker_app() -> FastAPI:
    """The app of one worker process (uvicorn's factory): its own platform on the settings
    of the environment, open for the life of the process."""
    settings = Settings.from_env()
    api_logging.configure(settings.log_level)
    platform = open_platform(settings)
    atexit.register(platform.close)
    financing.warm_up(uow_factory=platform.uow_factory)  # not in its first decision's batch
    return create_app(platform)


#: Seconds an API process may take to answer uvicorn's health check before uvicorn kills it
#: (uvicorn's default, 5 s, can kill a busy process on loaded shared cores, dropping its
#: connections (the likely cause of one disconnect in test_two_processes at load 28); a hung
#: process is still replaced).
WORKER_HEALTHCHECK_S = 60

#: Seconds ``serve`` gives its worker to finish its pass after SIGTERM before killing it.
WORKER_STOP_S = 60.0


def start_worker(interval_s: float) -> subprocess.Popen[bytes]:
    """``fourflow worker`` as a child process of this one (same environment, so the same
    home and store); it stops by itself if this process dies without stopping it."""
    command = [
        sys.executable, "-m", "fourflow", "worker", "--interval", str(interval_s),
        "--parent-pid", str(os.getpid()),
    ]  # fmt: skip
    return subprocess.Popen(command, stdin=subprocess.DEVNULL)


def stop_worker(child: subprocess.Popen[bytes]) -> int:
    """Ask the worker to stop (SIGTERM: it finishes its pass), kill it if it does not."""
    if child.poll() is None:
        child.terminate()
        try:
            return child.wait(timeout=WORKER_STOP_S)
        except subprocess.TimeoutExpired:
            child.kill()
    return child.wait(timeout=WORKER_STOP_S)


def serve(
    *,
    host: str,
    port: int,
    workers: int = 1,
    settings: Settings | None = None,
    worker: bool = True,
    worker_interval_s: float = 30.0,
) -> None:
    """Initialise the platform (operator, contracts; the local node started and kept) and
    serve the API until interrupted; with ``workers`` > 1, that many processes. With
    ``worker``, ``fourflow worker`` runs beside the API for as long as it serves."""
    settings = settings or Settings.from_env()
    api_logging.configure(settings.log_level)
    child: subprocess.Popen[bytes] | None = None
    # uvicorn ends on SIGTERM and then raises the signal again: without a handler of ours
    # that would kill this process before it stops its worker.
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        with open_platform(settings) as platform:
            platform.initialise()
            if platform.managed_node:
                platform.start_node()
            if worker:
                child = start_worker(worker_interval_s)
            if workers > 1:
                platform.close()
            else:
                uvicorn.run(
                    create_app(platform), host=host, port=port, log_config=None,
                    access_log=False, server_header=False, proxy_headers=False,
                )  # fmt: skip
                return
        uvicorn.run(
            "fourflow.entrypoints.api.server:worker_app", factory=True, workers=workers,
            host=host, port=port, log_config=None, access_log=False, server_header=False,
            proxy_headers=False, timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
        )  # fmt: skip
    finally:
        signal.signal(signal.SIGTERM, previous)
        if child is not None:
            stop_worker(child)


def _terminated(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)
