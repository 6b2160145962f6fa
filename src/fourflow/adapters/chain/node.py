"""FourFlow's own local chain node: an ``anvil`` process whose state lives under the home dir.

Layout under ``<home>/chain/``: ``state.json`` (anvil ``--state``: loaded at start, dumped every
``state_interval`` seconds and on SIGTERM), ``node.json`` (pids, urls, owner pid of the
running node; mode 0600), ``node.log`` (anvil's output), ``guard.log``, ``node.lock``
(serialises starts and stops) and ``lease.lock`` (one shared lock per process using the node).

anvil listens on 127.0.0.1 only, at the *admin* URL known to the platform; everybody else uses
the public URL of a JSON-RPC guard (``rpcguard``) that refuses anvil's cheat methods
(``anvil_*``, ``hardhat_*``, ``evm_*`` but a plain ``evm_mine``).

The node runs in its own session, so a SIGKILL of the FourFlow process that started it leaves
it running; the next ``ensure_running`` of the same home finds and reuses it. Processes that
share an on-demand node hold a *lease* (a shared ``flock`` on ``lease.lock``, released by the
kernel when a holder dies, even by SIGKILL): ``release`` stops the node only when no other
process holds one.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fourflow.adapters.chain.errors import NodeBinaryMissingError, NodeError

DEFAULT_CHAIN_ID = 1337
DEFAULT_STATE_INTERVAL = 2
BLOCK_GAS_LIMIT = 1_000_000_000
# Block states anvil keeps for calls at past blocks (a failed transaction is replayed at its
# block and the one before to read its revert reason, right after it is mined).
HISTORY_STATES = 256
STARTUP_TIMEOUT = 20.0
STOP_TIMEOUT = 20.0
_LISTENING = re.compile(r"Listening on 127\.0\.0\.1:(\d+)")
_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}


@dataclass(frozen=True, slots=True)
class NodeRecord:
    """What ``node.json`` says about a running node.

    Attributes:
        pid: the anvil process id.
        port: the TCP port it listens on (127.0.0.1 only).
        url: its JSON-RPC URL.
        owner_pid: the FourFlow process that started it.
        chain_id: the chain id it was started with.
        started_at: UNIX time of the start.
        admin_url: anvil's own URL, with its cheat methods (for the platform only).
        guard_pid: the JSON-RPC guard process serving ``url``.
    """

    pid: int
    port: int
    url: str
    owner_pid: int
    chain_id: int
    started_at: float
    admin_url: str = ""
    guard_pid: int = 0


class AnvilNode:
    """Starts, finds and stops the anvil node of one FourFlow home directory."""

    def __init__(
        self,
        home: str | os.PathLike[str],
        *,
        binary: str | os.PathLike[str] | None = None,
        chain_id: int = DEFAULT_CHAIN_ID,
        state_interval: int = DEFAULT_STATE_INTERVAL,
        hardfork: str | None = None,
        startup_timeout: float = STARTUP_TIMEOUT,
        log_rpc: bool = False,
        project_root: str | os.PathLike[str] | None = None,
    ) -> None:
        # Absolute: the state path in the node's command line identifies the node later.
        self.dir = Path(home).resolve() / "chain"
        self.state_path = self.dir / "state.json"
        self.record_path = self.dir / "node.json"
        self.log_path = self.dir / "node.log"
        self.guard_log_path = self.dir / "guard.log"
        self._binary = Path(binary) if binary is not None else None
        self._project_root = Path(project_root) if project_root is not None else None
        self.chain_id = chain_id
        self.state_interval = state_interval
        self.hardfork = hardfork
        self.startup_timeout = startup_timeout
        self.log_rpc = log_rpc
        self._process: subprocess.Popen[bytes] | None = None
        self._guard: subprocess.Popen[bytes] | None = None
        self._lease: Any = None  # the open lease.lock while this object holds a lease

    @property
    def url(self) -> str:
        """The JSON-RPC URL of the running node (raises if none is running)."""
        record = self.running()
        if record is None:
            raise NodeError(f"no chain node is running for {self.dir}")
        return record.url

    def ensure_running(self) -> str:
        """Return the URL of this home's node, starting one unless a live one exists."""
        self.dir.mkdir(parents=True, exist_ok=True)
        with self._start_lock():
            return self._ensure_running_locked().url

    def _ensure_running_locked(self) -> NodeRecord:
        record = self.read_record()
        if (
            record is not None
            and self._alive(record)
            and self._answers_within(record.url, self.startup_timeout)
        ):
            return record
        if record is not None:
            # Alive but deaf (hung), or half of it gone: two nodes must never share one state.
            self._terminate_record(record, STOP_TIMEOUT)
        return self._start()

    def acquire(self) -> tuple[str, bool]:
        """Take a lease on this home's node, starting it if needed: (public URL, started).

        The lease lasts until ``release`` or the end of this process (however it ends).
        """
        self.dir.mkdir(parents=True, exist_ok=True)
        with self._start_lock():
            before = self.read_record()
            record = self._ensure_running_locked()
            if self._lease is None:
                handle = (self.dir / "lease.lock").open("a")
                fcntl.flock(handle, fcntl.LOCK_SH)
                self._lease = handle
            return record.url, before is None or before.pid != record.pid

    def release(self, *, stop_if_last: bool = True) -> bool:
        """Give the lease back; with ``stop_if_last``, stop the node if nobody else holds one.

        True when the node was stopped. Without a lease held it does nothing.
        """
        if self._lease is None:
            return False
        with self._start_lock():
            handle, self._lease = self._lease, None
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()
            if not stop_if_last or self.leases_held():
                return False
            return self._stop_locked(STOP_TIMEOUT)

    def leases_held(self) -> bool:
        """True when some process (this one included) holds a lease on this home's node."""
        path = self.dir / "lease.lock"
        if not path.exists():
            return False
        with path.open("a") as probe:
            try:
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(probe, fcntl.LOCK_UN)
            return False

    def running(self) -> NodeRecord | None:
        """The record of this home's node if it is alive and answers JSON-RPC, else None."""
        record = self.read_record()
        if record is None or not self._alive(record):
            return None
        return record if _rpc_answers(record.url) else None

    def admin_url(self) -> str:
        """anvil's own URL, with its cheat methods: for the platform and its tests only."""
        record = self.running()
        if record is None:
            raise NodeError(f"no chain node is running for {self.dir}")
        return record.admin_url or record.url

    def _alive(self, record: NodeRecord) -> bool:
        """True when the node and its guard (if it has one) are both alive."""
        if not self._owns_pid(record.pid, self._process):
            return False
        return record.guard_pid == 0 or self._owns_pid(record.guard_pid, self._guard)

    def read_record(self) -> NodeRecord | None:
        """What ``node.json`` says, or None when it is absent or unreadable."""
        try:
            data: dict[str, Any] = json.loads(self.record_path.read_text(encoding="utf-8"))
            return NodeRecord(**data)
        except (OSError, ValueError, TypeError):
            return None

    def stop(self, timeout: float = STOP_TIMEOUT) -> bool:
        """Stop this home's node with SIGTERM (anvil dumps its state); True if one was stopped.

        Waits up to ``timeout`` seconds, then kills. Safe to call when nothing runs.
        """
        if self.dir.is_dir():
            with self._start_lock():
                return self._stop_locked(timeout)
        return self._stop_locked(timeout)

    def _stop_locked(self, timeout: float) -> bool:
        record = self.read_record()
        stopped = False
        if record is not None:
            stopped = self._owns_pid(record.pid, self._process)
            self._terminate_record(record, timeout)
        self._process = None
        self._guard = None
        with contextlib.suppress(FileNotFoundError):
            self.record_path.unlink()
        return stopped

    def _terminate_record(self, record: NodeRecord, timeout: float) -> None:
        """Stop the guard, then anvil (which dumps its state on SIGTERM)."""
        if record.guard_pid and self._owns_pid(record.guard_pid, self._guard):
            self._terminate(record.guard_pid, timeout, self._guard)
        if self._owns_pid(record.pid, self._process):
            self._terminate(record.pid, timeout, self._process)

    def command(self) -> list[str]:
        """The anvil command line this node runs."""
        cmd = [
            str(self.binary()),
            "--host", "127.0.0.1",
            "--port", "0",
            "--state", str(self.state_path),
            "--state-interval", str(self.state_interval),
            "--chain-id", str(self.chain_id),
            # Free gas, as on a Besu/GoQuorum consortium chain: accounts need no balance.
            "--gas-price", "0",
            "--base-fee", "0",
            "--disable-min-priority-fee",
            # Room for a whole pipelined batch in one block: anvil's automine does not mine
            # again until a new transaction arrives, so ready ones beyond a full block wait.
            "--gas-limit", str(BLOCK_GAS_LIMIT),
            "--accounts", "0",
            # Keep the states of the last blocks in memory only. By default anvil writes the
            # state of every older block to ~/.foundry/anvil/tmp as JSON and leaves it there
            # when it is killed: gigabytes per busy node, and a full disk on a long test run.
            "--prune-history", str(HISTORY_STATES),
        ]  # fmt: skip
        if self.hardfork:
            cmd += ["--hardfork", self.hardfork]
        return cmd

    def binary(self) -> Path:
        """The anvil executable this node uses."""
        if self._binary is not None:
            return find_anvil(self._binary)
        return find_anvil(project_root=self._project_root)

    def _start(self) -> NodeRecord:
        """Start anvil and its guard in their own sessions, wait for both, record them."""
        cmd = self.command()
        process, offset = self._spawn(cmd, self.log_path, f"{time.ctime()}: {' '.join(cmd)}")
        self._process = process
        port = self._wait_port(process, offset, self.log_path, "anvil")
        admin_url = f"http://127.0.0.1:{port}"
        self._wait_rpc(process, admin_url)
        if not self.log_rpc:
            # anvil logs every request at info level: node.log would grow without bound.
            _rpc(admin_url, "anvil_setLoggingEnabled", [False])
        try:
            guard, guard_port = self._start_guard(admin_url)
        except NodeError:
            self._abandon(process)
            raise
        record = NodeRecord(
            pid=process.pid,
            port=guard_port,
            url=f"http://127.0.0.1:{guard_port}",
            owner_pid=os.getpid(),
            chain_id=self.chain_id,
            started_at=time.time(),
            admin_url=admin_url,
            guard_pid=guard.pid,
        )
        self._wait_rpc(guard, record.url)
        _write_atomically(self.record_path, json.dumps(asdict(record), indent=2))
        return record

    def _start_guard(self, admin_url: str) -> tuple[subprocess.Popen[bytes], int]:
        """Start the JSON-RPC guard in front of ``admin_url``; (process, port)."""
        cmd = [
            sys.executable, "-m", "fourflow.adapters.chain.rpcguard",
            "--upstream", admin_url, "--tag", str(self.state_path),
        ]  # fmt: skip
        guard, offset = self._spawn(cmd, self.guard_log_path, time.ctime())
        self._guard = guard
        return guard, self._wait_port(guard, offset, self.guard_log_path, "the JSON-RPC guard")

    def _spawn(
        self, cmd: list[str], log_path: Path, banner: str
    ) -> tuple[subprocess.Popen[bytes], int]:
        """Start ``cmd`` in its own session, appending to ``log_path``; (process, log offset)."""
        with log_path.open("ab") as log:
            log.write(f"\n--- start {banner}\n".encode())
            log.flush()
            offset = log.tell()
            process = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=self.dir,
            )
        return process, offset

    def _wait_port(
        self, process: subprocess.Popen[bytes], offset: int, log_path: Path, what: str
    ) -> int:
        """Read the port a process reports in its log, within the startup timeout."""
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            with log_path.open("rb") as log:
                log.seek(offset)
                found = _LISTENING.search(log.read().decode("utf-8", "replace"))
            if found:
                return int(found.group(1))
            if process.poll() is not None:
                raise NodeError(f"{what} exited with {process.returncode}: {self._log_tail()}")
            time.sleep(0.05)
        self._abandon(process)
        raise NodeError(f"{what} did not listen within {self.startup_timeout:.0f} s")

    def _wait_rpc(self, process: subprocess.Popen[bytes], url: str) -> None:
        """Wait until the node answers JSON-RPC, within the startup timeout."""
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if _rpc_answers(url):
                return
            if process.poll() is not None:
                raise NodeError(f"process {process.pid} exited with {process.returncode}")
            time.sleep(0.05)
        self._abandon(process)
        raise NodeError(f"the node at {url} did not answer within {self.startup_timeout:.0f} s")

    def _terminate(
        self, pid: int, timeout: float, child: subprocess.Popen[bytes] | None = None
    ) -> None:
        """SIGTERM ``pid`` (anvil dumps its state), wait up to ``timeout``, then SIGKILL."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if not self._wait_exit(pid, timeout, child):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            self._wait_exit(pid, 5.0, child)

    @staticmethod
    def _answers_within(url: str, timeout: float) -> bool:
        """True when ``url`` answers JSON-RPC within ``timeout`` seconds (it may be busy)."""
        deadline = time.monotonic() + timeout
        while not _rpc_answers(url):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.2)
        return True

    def _abandon(self, process: subprocess.Popen[bytes]) -> None:
        """Kill a node that failed to start."""
        process.kill()
        process.wait(5)

    @staticmethod
    def _wait_exit(pid: int, timeout: float, child: subprocess.Popen[bytes] | None) -> bool:
        """Wait for ``pid`` to exit (reaping it when it is our child); True if it did."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if child is not None and child.pid == pid:
                if child.poll() is not None:
                    return True
            elif not pid_alive(pid):
                return True
            time.sleep(0.05)
        return False

    def _owns_pid(self, pid: int, child: subprocess.Popen[bytes] | None = None) -> bool:
        """True when ``pid`` is alive and, where /proc tells, a process of this home's node."""
        if child is not None and child.pid == pid:
            return child.poll() is None
        if not pid_alive(pid):
            return False
        cmdline = Path(f"/proc/{pid}/cmdline")
        if not cmdline.exists():
            return True
        try:
            args = cmdline.read_bytes().split(b"\0")
        except OSError:
            return False
        return str(self.state_path).encode() in args

    def _log_tail(self, lines: int = 15) -> str:
        """The last lines of the node log, for error messages."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    @contextlib.contextmanager
    def _start_lock(self) -> Iterator[None]:
        """Hold an exclusive lock on ``node.lock`` so two processes never start two nodes."""
        with (self.dir / "node.lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def find_anvil(
    explicit: str | os.PathLike[str] | None = None,
    *,
    project_root: str | os.PathLike[str] | None = None,
) -> Path:
    """Locate the anvil binary: ``explicit`` (Settings.anvil_bin, FOURFLOW_ANVIL_BIN), else the
    npm package under ``project_root`` (FOURFLOW_PROJECT_ROOT) or above this file or the cwd,
    then PATH."""
    for candidate in _anvil_candidates(explicit, project_root):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    on_path = shutil.which("anvil")
    if on_path:
        return Path(on_path)
    raise NodeBinaryMissingError(
        "the anvil chain node is not installed: run `make setup` (it installs the npm package "
        "@foundry-rs/anvil into node_modules/), or set FOURFLOW_ANVIL_BIN to an anvil binary"
    )


def _anvil_candidates(
    explicit: str | os.PathLike[str] | None, project_root: str | os.PathLike[str] | None
) -> Iterator[Path]:
    """Places the anvil binary may be, most specific first."""
    if explicit is not None:
        yield Path(explicit)
        return
    exe = "anvil.exe" if os.name == "nt" else "anvil"
    package = f"anvil-{_npm_os()}-{_ARCH.get(platform.machine().lower(), platform.machine())}"
    for root in _project_roots(project_root):
        yield root / "node_modules" / "@foundry-rs" / package / "bin" / exe
    for root in _project_roots(project_root):
        yield root / "node_modules" / ".bin" / exe


def _npm_os() -> str:
    """The OS part of the npm package name (linux, darwin, win32)."""
    system = platform.system().lower()
    return "win32" if system.startswith("win") else system


def _project_roots(project_root: str | os.PathLike[str] | None) -> Iterator[Path]:
    """``project_root``, then directories above this file or the cwd with node_modules."""
    if project_root is not None:
        yield Path(project_root)
    seen: set[Path] = set()
    for start in (Path(__file__).resolve(), Path.cwd().resolve()):
        for directory in (start, *start.parents):
            if directory in seen:
                continue
            seen.add(directory)
            if (directory / "package.json").is_file() and (directory / "node_modules").is_dir():
                yield directory


def pid_alive(pid: int) -> bool:
    """True when a process with ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    with contextlib.suppress(OSError, IndexError):
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return True


def _rpc_answers(url: str) -> bool:
    """True when ``url`` answers ``eth_chainId``."""
    return _rpc(url, "eth_chainId", []) is not None


def _rpc(url: str, method: str, params: list[Any], timeout: float = 2.0) -> Any:
    """One JSON-RPC call to the local node; its result, or None on any failure."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
    request = urllib.request.Request(  # noqa: S310 (the URL is our own http://127.0.0.1)
        url, data=body.encode(), headers={"Content-Type": "application/json"}
    )
    # Loopback only: never send it through an HTTP proxy from the environment.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as response:
            return json.loads(response.read()).get("result")
    except (OSError, ValueError, urllib.error.URLError):
        return None


def _write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so readers never see a half-written file."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # holds the admin URL
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)
