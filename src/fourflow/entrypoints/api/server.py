"""``fourflow serve``: the API under uvicorn on an initialised platform, in one process or
several (``--workers``) sharing one store, with ``fourflow worker`` beside it (unless
``worker=False``): the relay and the scheduled jobs outside the requests."""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from types import FrameType

import structlog
import uvicorn
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from fourflow.bootstrap import Settings, open_platform
from fourflow.entrypoints.api import logging as api_logging
from fourflow.entrypoints.api.app import create_app
from fourflow.entrypoints.api.routing import ApiState
from fourflow.services import financing

log = structlog.get_logger("fourflow.api")

#: The signals uvicorn stops on (gracefully: it waits for open responses to finish).
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class EndsStreamsOnStop:
    """The API app, whose open event streams end when the server is asked to stop.

    uvicorn stops on SIGTERM or SIGINT by closing its sockets, then waits for every open
    response to finish (with no bound by default): an open event stream would hold the process
    for the rest of its time budget (minutes). When the app's lifespan starts (uvicorn runs it
    in the main thread with its own signal handlers installed), this puts a handler in front
    of uvicorn's for those signals: it sets ``ApiState.stopping`` (each stream ends within its
    poll interval), calls ``on_stop``, then hands the signal to uvicorn's handler. The previous
    handlers are put back when the lifespan ends."""

    def __init__(self, app: FastAPI, on_stop: Callable[[], None] | None = None) -> None:
        self.app = app
        api: ApiState = app.state.fourflow
        self.stopping = api.stopping
        self.on_stop = on_stop

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan" or threading.current_thread() is not threading.main_thread():
            await self.app(scope, receive, send)
            return
        previous = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
        for sig, handler in previous.items():
            if callable(handler):
                signal.signal(sig, self._in_front_of(handler))
        try:
            await self.app(scope, receive, send)
        finally:
            for sig, handler in previous.items():
                if callable(handler):
                    signal.signal(sig, handler)

    def _in_front_of(
        self, handler: Callable[[int, FrameType | None], object]
    ) -> Callable[[int, FrameType | None], None]:
        def stop(signum: int, frame: FrameType | None) -> None:
            self.stopping.set()
            if self.on_stop is not None:
                self.on_stop()
            handler(signum, frame)

        return stop


def worker_app() -> EndsStreamsOnStop:
    """The app of one worker process (uvicorn's factory): its own platform on the settings
    of the environment, open for the life of the process."""
    settings = Settings.from_env()
    api_logging.configure(settings.log_level)
    platform = open_platform(settings)
    atexit.register(platform.close)
    financing.warm_up(uow_factory=platform.uow_factory)  # not in its first decision's batch
    return EndsStreamsOnStop(create_app(platform))


#: Seconds an API process may take to answer uvicorn's health check before uvicorn kills it
#: (uvicorn's default, 5 s, can kill a busy process on loaded shared cores, dropping its
#: connections (the likely cause of one disconnect in test_two_processes at load 28); a hung
#: process is still replaced).
WORKER_HEALTHCHECK_S = 60

#: Seconds ``serve`` gives its worker to stop after SIGTERM (it ends its pass at the next
#: step, ``worker.run_pass``) before killing it: a step cut short is safe (each store write is
#: a transaction, each chain operation keyed by its id: tests/api/test_kill_restart.py).
WORKER_STOP_S = 20.0


def start_worker(interval_s: float) -> subprocess.Popen[bytes]:
    """``fourflow worker`` as a child process of this one (same environment, so the same
    home and store); it stops by itself if this process dies without stopping it."""
    command = [
        sys.executable, "-m", "fourflow", "worker", "--interval", str(interval_s),
        "--parent-pid", str(os.getpid()),
    ]  # fmt: skip
    return subprocess.Popen(command, stdin=subprocess.DEVNULL)


def stop_worker(child: subprocess.Popen[bytes]) -> int:
    """Ask the worker to stop (SIGTERM: it ends its pass at the next step), kill it if it does
    not within ``WORKER_STOP_S``; its exit code (negative: killed)."""
    if child.poll() is None:
        child.terminate()
        try:
            return child.wait(timeout=WORKER_STOP_S)
        except subprocess.TimeoutExpired:
            log.warning("worker did not stop: killed", seconds=WORKER_STOP_S, pid=child.pid)
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
    serve the API until SIGTERM or SIGINT; with ``workers`` > 1, that many processes. With
    ``worker``, ``fourflow worker`` runs beside the API for as long as it serves.

    On SIGTERM or SIGINT the API stops taking connections, ends its event streams, finishes
    the requests under way, and the worker ends its pass at the next step; then this returns
    (exit 0). SystemExit(1) if the worker had to be killed or had failed."""
    settings = settings or Settings.from_env()
    api_logging.configure(settings.log_level)
    child: subprocess.Popen[bytes] | None = None
    stopping = threading.Event()  # set once uvicorn took a stop signal (one process)

    def terminated(signum: int, _frame: FrameType | None) -> None:
        # Before uvicorn serves, a stop signal ends the start. uvicorn, once stopped gracefully
        # on a signal, raises it again: then it is done with (without a handler of ours it
        # would kill this process before it stops its worker).
        if not stopping.is_set():
            raise SystemExit(128 + signum)

    previous = {sig: signal.signal(sig, terminated) for sig in STOP_SIGNALS}
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
                app = create_app(platform)
                stopping = app.state.fourflow.stopping
                on_stop = child.terminate if child is not None else None  # both stop at once
                uvicorn.run(
                    EndsStreamsOnStop(app, on_stop), host=host, port=port, log_config=None,
                    access_log=False, server_header=False, proxy_headers=False,
                )  # fmt: skip
                return
        # uvicorn's supervisor takes the signals, stops its processes and returns
        uvicorn.run(
            "fourflow.entrypoints.api.server:worker_app", factory=True, workers=workers,
            host=host, port=port, log_config=None, access_log=False, server_header=False,
            proxy_headers=False, timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
        )  # fmt: skip
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if child is not None:
            code = stop_worker(child)
            if code not in (0, -signal.SIGTERM):  # -SIGTERM: stopped before it had started
                log.error("worker ended with an error", exit_code=code)
                raise SystemExit(1)
