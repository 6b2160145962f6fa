"""``fourflow serve``: the API under uvicorn on an initialised platform, in one process or
several (``--workers``) sharing one store, with ``fourflow worker`` beside it (unless
``worker=False``): the relay and the scheduled jobs outside the requests."""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import errno
import gc
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import structlog
import uvicorn
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send
from uvicorn.supervisors import Multiprocess

from fourflow.bootstrap import Platform, Settings, export_serve_worker_state, open_platform
from fourflow.entrypoints.api import logging as api_logging
from fourflow.entrypoints.api import worker_health
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


#: Seconds a thread holding the GIL runs on while another waits for it, in an API process
#: (``hand_over_gil_often``; Python's default: 5 ms).
GIL_SWITCH_INTERVAL_S = 0.0005


def hand_over_gil_often() -> None:
    """Make this process's threads hand the GIL over every ``GIL_SWITCH_INTERVAL_S``, not
    every 5 ms: an API process runs its event loop and the decisions' batches
    (``financing.DecisionBatcher``, two at once) and audit appends on threads. A thread back
    from a database round trip waits for the GIL until the thread holding it (another
    batch's scoring, the loop parsing a burst's requests) reaches the switch interval: 5 ms
    a round trip, which a batch holding the bank's limits lock paid on each of its
    statements (a batch of one held the lock 144 ms for 10.7 ms of CPU beside its process's
    big batch, the other process waiting for it: docs/benchmarks.md, 13th session's
    timeline). 30 round trips beside a CPU-bound thread: 156-302 ms at 5 ms, 26-46 ms at
    0.5 ms; two CPU-bound threads take the same CPU at either."""
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)


def worker_app() -> EndsStreamsOnStop:
    """The app of one worker process (uvicorn's factory): its own platform on the settings
    of the environment, open for the life of the process."""
    hand_over_gil_often()
    settings = Settings.from_env()
    api_logging.configure(settings.log_level)
    platform = open_platform(settings)
    atexit.register(platform.close)
    app = EndsStreamsOnStop(create_app(platform))
    ready_to_serve(platform)
    return app


def ready_to_serve(platform: Platform) -> None:
    """What an API process does once, before it listens: the decisions' running state warmed
    (``financing.warm_up``: the champion, the fraud scan's view as of today, scanned), not in
    its first burst; then everything alive, which lives as long as the process, is frozen out
    of the garbage collector's generations (as the ``fourflow`` command does,
    ``cli.main``; uvicorn's spawned API processes do not run it): a full collection then
    scans only what requests made since, not the whole start-up heap (150-530 ms each in an
    API process before, 13.6 ms one during a burst of decisions after; one of the former in
    a burst would hold every answer of it: issue 16, docs/benchmarks.md).

    A warm-up that fails (the store's platform view not read or not scanned: a stored value
    that no longer decodes, the store away for a moment) is logged and the process serves all
    the same: its first batch reads what is not kept (and answers that batch's error, if it is
    still there), where a start failing again would be restarted by uvicorn forever, no
    route served."""
    try:
        financing.warm_up(uow_factory=platform.uow_factory, as_of=platform.clock.today())
    except Exception as error:  # an optimisation: never a reason not to serve
        log.warning("decisions not warmed up: the first batch reads it all", error=repr(error))
    gc.collect()
    gc.freeze()


class SharedPort(socket.socket):
    """The API's listening address, held by ``serve`` for its API processes: each process
    listens on a socket of its own bound to it (``SO_REUSEPORT``), and the kernel spreads the
    incoming connections evenly over them.

    uvicorn hands its processes one listening socket: one accept queue, drained by whichever
    process wakes first (asyncio accepts up to 100 connections a wakeup), so a burst of
    connections went mostly to one process (40 of 50, 43 of 50) while the other core idled
    (issue 16). This socket, bound here but never listening, keeps the port (with port 0, the
    one the kernel chose); handed to a process (pickled, as uvicorn hands its sockets), it
    becomes a new socket of that process's own on the same address (``_own_socket``); a
    process uvicorn starts again gets a new one too. Only a process of the same user can bind
    to a port shared so (Linux)."""

    def __reduce__(self) -> tuple[Any, tuple[int, str, int]]:
        host, port = self.getsockname()[:2]
        return (_own_socket, (int(self.family), str(host), int(port)))


_Socket = TypeVar("_Socket", bound=socket.socket)


def _bound(sock: _Socket, host: str, port: int, *, reuseport: bool = True) -> _Socket:
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuseport:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def shared_port(host: str, port: int) -> SharedPort:
    """``SharedPort`` bound to ``host``:``port`` (an address with ':' is IPv6); OSError
    (EADDRINUSE) when something listens there already.

    ``SO_REUSEPORT`` lets any process of the same user bind the port too: without the check a
    second ``serve`` on a port in use, or one started while API processes of a ``serve`` killed
    with SIGKILL still listen, would bind beside them, and the kernel would spread the
    connections over both (another home, another store) instead of refusing the start. The
    check binds a socket without ``SO_REUSEPORT`` (with ``SO_REUSEADDR``: a port left in
    TIME_WAIT by a stopped serve is free), which a listening socket on the address refuses."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    if port != 0:
        with socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    return _bound(SharedPort(family, socket.SOCK_STREAM, socket.IPPROTO_TCP), host, port)


def reuseport_works() -> bool:
    """Whether this host lets a socket set ``SO_REUSEPORT`` (missing on some systems, refused
    by some sandboxes: ``ENOPROTOOPT``/``EOPNOTSUPP``/``EINVAL``)."""
    option = getattr(socket, "SO_REUSEPORT", None)
    if option is None:
        return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP) as probe:
        try:
            probe.setsockopt(socket.SOL_SOCKET, option, 1)
        except OSError as error:
            if error.errno in (errno.ENOPROTOOPT, errno.EOPNOTSUPP, errno.EINVAL):
                return False
            raise
    return True


def listening_address(host: str, port: int) -> socket.socket:
    """What ``serve --workers N`` hands its API processes: a ``SharedPort`` (a socket of
    each process's own, the connections spread by the kernel) where the host has
    ``SO_REUSEPORT``, else one listening socket they all accept from, as uvicorn does (the
    connections of a burst then go mostly to whichever process wakes first, and the start
    says so in the log); OSError (EADDRINUSE) when something listens there already."""
    if reuseport_works():
        return shared_port(host, port)
    log.warning(
        "SO_REUSEPORT is not available here: the API processes share one accept queue",
        host=host, port=port,
    )  # fmt: skip
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    return _bound(sock, host, port, reuseport=False)


def _own_socket(family: int, host: str, port: int) -> socket.socket:
    """In an API process: its own socket on the shared address (``SharedPort``)."""
    return _bound(socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP), host, port)


#: Seconds an API process may take to answer uvicorn's health check before uvicorn kills it
#: (uvicorn's default, 5 s, can kill a busy process on loaded shared cores, dropping its
#: connections (the likely cause of one disconnect in test_two_processes at load 28); a hung
#: process is still replaced).
WORKER_HEALTHCHECK_S = 60

#: Seconds ``serve`` gives its worker to stop after SIGTERM (it ends its pass at the next
#: step, ``worker.run_pass``) before killing it: a step cut short is safe (each store write is
#: a transaction, each chain operation keyed by its id: tests/api/test_kill_restart.py).
WORKER_STOP_S = 20.0


#: How much nicer (lower CPU priority) than ``serve`` its worker runs (``start_worker``).
WORKER_NICENESS = 10


def start_worker(interval_s: float) -> subprocess.Popen[bytes]:
    """``fourflow worker`` as a child process of this one (same environment, so the same
    home and store); it stops by itself if this process dies without stopping it.

    It runs ``WORKER_NICENESS`` nicer than the API processes: its work (relaying chain
    operations, signing and sending their transactions, the scheduled jobs) is background
    work whose figure is minutes, while a request is waited for. Without it, a worker pass
    that began relaying a burst's first committed pledges took a core from the burst's
    decisions (10 ms of worker CPU a pledge). When the cores are idle it runs as fast as
    before; a host that refuses the change (``OSError``) keeps the worker at this process's
    priority, with a warning."""
    command = [
        sys.executable, "-m", "fourflow", "worker", "--interval", str(interval_s),
        "--parent-pid", str(os.getpid()),
    ]  # fmt: skip
    child = subprocess.Popen(command, stdin=subprocess.DEVNULL)
    try:
        mine = os.getpriority(os.PRIO_PROCESS, 0)
        os.setpriority(os.PRIO_PROCESS, child.pid, min(19, mine + WORKER_NICENESS))
    except OSError as error:
        log.warning("worker priority not lowered", pid=child.pid, error=str(error))
    return child


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


#: Exit codes of a worker that was asked to stop (SIGTERM/SIGINT, handled or not).
_ASKED_TO_STOP = frozenset({0, -signal.SIGTERM, -signal.SIGINT})


class WorkerSupervisor:
    """``fourflow worker`` beside the API, restarted when it ends while ``serve`` serves.

    A thread waits on the child. When it exits unasked, this logs it (``worker exited``, error,
    with its exit code and pid), writes the state ``down`` and starts it again after a backoff
    of ``first_backoff_s`` doubled at each failure in a row, at most ``max_backoff_s`` (a worker
    that ran ``healthy_s`` before it failed counts as a first failure again). After
    ``give_up_after`` exits within ``window_s`` it gives up: ``worker gave up`` (critical), the
    state ``failed``; the API keeps serving (queued chain operations wait in the store's outbox
    for the next worker) and ``GET /health`` answers 503 until ``serve`` is restarted.

    A worker that exits 0 or on SIGTERM/SIGINT was asked to stop, usually by the same signal
    as ``serve`` (a terminal's Ctrl-C, a service manager's stop): it is restarted only if
    ``serve`` is still serving ``asked_grace_s`` later (then as any other exit; its state
    stays ``running`` meanwhile).

    A restart cannot double work: the old worker has been waited for (it is dead) before the
    new one starts; a relay claims each sender by locking its ``relay_senders`` row (PostgreSQL,
    ``FOR UPDATE SKIP LOCKED``, dropped with a dead process's connection) or holds the
    chain-writer file lock (SQLite); each store write is a transaction and each chain operation
    keyed by its id (tests/api/test_kill_restart.py), so a pass cut short is redone, not doubled."""

    def __init__(
        self,
        interval_s: float,
        state_path: Path,
        *,
        first_backoff_s: float = 1.0,
        max_backoff_s: float = 60.0,
        give_up_after: int = 5,
        window_s: float = 300.0,
        healthy_s: float = 60.0,
        asked_grace_s: float = 5.0,
        command: list[str] | None = None,
    ) -> None:
        self.interval_s = interval_s
        self.state_path = state_path
        self.first_backoff_s = first_backoff_s
        self.max_backoff_s = max_backoff_s
        self.give_up_after = give_up_after
        self.window_s = window_s
        self.healthy_s = healthy_s
        self.asked_grace_s = asked_grace_s
        self.command = command
        self.restarts = 0
        self.gave_up = False
        self._started = 0.0
        self.child: subprocess.Popen[bytes] | None = None
        self._exits: list[float] = []  # monotonic times of unasked exits within the window
        self._stopping = threading.Event()
        self._lock = threading.Lock()  # the child is started or stopped under it
        self._thread = threading.Thread(target=self._watch, name="worker-supervisor", daemon=True)

    def start(self) -> None:
        """Start the worker and the thread watching it."""
        with self._lock:
            self._spawn()
        self._thread.start()

    def stop(self) -> int | None:
        """No more restarts; ask the worker to stop (``stop_worker``); its exit code, None if
        none was running (given up, or between two starts)."""
        with self._lock:
            self._stopping.set()
            child = self.child
        code = None if child is None else stop_worker(child)
        self._thread.join(timeout=WORKER_STOP_S)
        self._write("stopped", last_exit_code=code)
        return code

    def terminate(self) -> None:
        """Ask the worker to stop now, with no restart (from a signal handler: no waiting)."""
        self._stopping.set()
        child = self.child
        if child is not None and child.poll() is None:
            child.terminate()

    def _spawn(self) -> None:
        if self.command is None:
            self.child = start_worker(self.interval_s)
        else:
            self.child = subprocess.Popen(self.command, stdin=subprocess.DEVNULL)
        self._started = time.monotonic()
        self._write("running", pid=self.child.pid)

    def _write(self, state: str, **fields: object) -> None:
        try:
            worker_health.write(
                self.state_path,
                {"state": state, "restarts": self.restarts, "since": time.time(), **fields},
            )
        except OSError as error:  # the state is for monitors: never stops the supervision
            log.warning("worker state not written", path=str(self.state_path), error=str(error))

    def _backoff(self) -> float:
        return float(min(self.max_backoff_s, self.first_backoff_s * 2 ** (len(self._exits) - 1)))

    def _watch(self) -> None:
        while True:
            child = self.child
            if child is None:
                return
            code = child.wait()
            ended = time.monotonic()
            if code in _ASKED_TO_STOP and self._stopping.wait(self.asked_grace_s):
                return  # stopped by the signal that stops serve (a terminal's Ctrl-C): quiet
            if self._stopping.is_set():
                return
            now = time.monotonic()
            ran_s = ended - self._started
            if ran_s >= self.healthy_s:
                self._exits.clear()
            self._exits = [t for t in self._exits if now - t < self.window_s] + [now]
            if len(self._exits) >= self.give_up_after:
                log.critical(
                    "worker gave up: it exited too often; the relay and scheduled jobs are not "
                    "running until serve is restarted",
                    exit_code=code, pid=child.pid, exits=len(self._exits),
                    window_s=self.window_s,
                )  # fmt: skip
                with self._lock:
                    self.child = None
                    self.gave_up = True
                    if not self._stopping.is_set():
                        self._write("failed", last_exit_code=code, exits=len(self._exits))
                return
            delay = self._backoff()
            log.error(
                "worker exited: restarting it", exit_code=code, pid=child.pid,
                ran_s=round(ran_s, 1), restart_in_s=delay, exits=len(self._exits),
            )  # fmt: skip
            self._write("down", last_exit_code=code, restart_in_s=delay)
            if self._stopping.wait(delay):
                return
            with self._lock:
                if self._stopping.is_set():
                    return
                self.restarts += 1
                self._spawn()
                pid = self.child.pid if self.child is not None else None
            log.warning("worker restarted", pid=pid, restarts=self.restarts)


def worker_state_path(settings: Settings) -> Path:
    """Where ``serve`` writes its worker's state for its API processes (one file a serve)."""
    return settings.home / "run" / f"serve-{os.getpid()}-worker.json"


def serve(
    *,
    host: str,
    port: int,
    workers: int = 1,
    settings: Settings | None = None,
    worker: bool = True,
    worker_interval_s: float = 30.0,
    worker_backoff_s: float = 1.0,
) -> None:
    """Initialise the platform (operator, contracts; the local node started and kept) and
    serve the API until SIGTERM or SIGINT; with ``workers`` > 1, that many processes. With
    ``worker``, ``fourflow worker`` runs beside the API for as long as it serves.

    On SIGTERM or SIGINT the API stops taking connections, ends its event streams, finishes
    the requests under way, and the worker ends its pass at the next step; then this returns
    (exit 0). SystemExit(1) if the worker had to be killed or had failed.

    The worker is supervised (``WorkerSupervisor``): restarted with a backoff if it exits while
    serving, given up after too many exits (the API keeps serving, ``GET /health`` says so)."""
    settings = settings or Settings.from_env()
    api_logging.configure(settings.log_level)
    supervisor: WorkerSupervisor | None = None
    stopping = threading.Event()  # set once uvicorn took a stop signal (one process)

    def terminated(signum: int, _frame: FrameType | None) -> None:
        # Before uvicorn serves, a stop signal ends the start. uvicorn, once stopped gracefully
        # on a signal, raises it again: then it is done with (without a handler of ours it
        # would kill this process before it stops its worker).
        if not stopping.is_set():
            raise SystemExit(128 + signum)

    if worker:  # its state, for the health of the API processes (this one, or those started)
        settings = dataclasses.replace(settings, serve_worker_state=worker_state_path(settings))
        export_serve_worker_state(settings.serve_worker_state)
    previous = {sig: signal.signal(sig, terminated) for sig in STOP_SIGNALS}
    try:
        with open_platform(settings) as platform:
            platform.initialise()
            if platform.managed_node:
                platform.start_node()
            if worker:
                supervisor = WorkerSupervisor(
                    worker_interval_s, worker_state_path(settings), first_backoff_s=worker_backoff_s
                )
                supervisor.start()
            if workers > 1:
                platform.close()
            else:
                app = create_app(platform)
                stopping = app.state.fourflow.stopping
                on_stop = supervisor.terminate if supervisor is not None else None  # at once
                hand_over_gil_often()
                uvicorn.run(
                    EndsStreamsOnStop(app, on_stop), host=host, port=port, log_config=None,
                    access_log=False, server_header=False, proxy_headers=False,
                )  # fmt: skip
                return
        # uvicorn's supervisor takes the signals, stops its processes and returns (as
        # uvicorn.run does with workers, but each process listens on a socket of its own)
        config = uvicorn.Config(
            "fourflow.entrypoints.api.server:worker_app", factory=True, workers=workers,
            host=host, port=port, log_config=None, access_log=False, server_header=False,
            proxy_headers=False, timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
        )  # fmt: skip
        with listening_address(host, port) as held, contextlib.suppress(KeyboardInterrupt):
            Multiprocess(config, sockets=[held]).run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if worker:
            export_serve_worker_state(None)
        if supervisor is not None:
            code = supervisor.stop()
            supervisor.state_path.unlink(missing_ok=True)
            if supervisor.gave_up or code not in (None, 0, -signal.SIGTERM):
                # -SIGTERM: stopped before it had started
                log.error("worker ended with an error", exit_code=code, gave_up=supervisor.gave_up)
                raise SystemExit(1)
