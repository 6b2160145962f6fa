"""FourFlow's own local chain node: an ``anvil`` process whose state lives under the home dir.

Layout under ``<home>/chain/``: ``state.json`` (anvil ``--state``: loaded at start, dumped every
``state_interval`` seconds and on SIGTERM), ``node.json`` (pid, port, url, owner pid of the
running node), ``node.log`` (anvil's output) and ``node.lock`` (serialises starts).

The node runs in its own session, so a SIGKILL of the FourFlow process that started it leaves
it running; the next ``ensure_running`` of the same home finds and reuses it.
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
    """

    pid: int
    port: int
    url: str
    owner_pid: int
    chain_id: int
    started_at: float


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
    ) -> None:
        # Absolute: the state path in the node's command line identifies the node later.
        self.dir = Path(home).resolve() / "chain"
        self.state_path = self.dir / "state.json"
        self.record_path = self.dir / "node.json"
        self.log_path = self.dir / "node.log"
        self._binary = Path(binary) if binary is not None else None
        self.chain_id = chain_id
        self.state_interval = state_interval
        self.hardfork = hardfork
        self.startup_timeout = startup_timeout
        self.log_rpc = log_rpc
        self._process: subprocess.Popen[bytes] | None = None

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
            record = self.read_record()
            if record is not None and self._owns_pid(record.pid):
                if self._answers_within(record.url, self.startup_timeout):
                    return record.url
                # Alive but deaf (hung): two nodes must never share one state file.
                self._terminate(record.pid, STOP_TIMEOUT)
            return self._start().url

    def running(self) -> NodeRecord | None:
        """The record of this home's node if it is alive and answers JSON-RPC, else None."""
        record = self.read_record()
        if record is None or not self._owns_pid(record.pid):
            return None
        return record if _rpc_answers(record.url) else None

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
        record = self.read_record()
        stopped = False
        if record is not None and self._owns_pid(record.pid):
            stopped = True
            self._terminate(record.pid, timeout)
        self._process = None
        with contextlib.suppress(FileNotFoundError):
            self.record_path.unlink()
        return stopped

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
        ]  # fmt: skip
        if self.hardfork:
            cmd += ["--hardfork", self.hardfork]
        return cmd

    def binary(self) -> Path:
        """The anvil executable this node uses."""
        return self._binary if self._binary is not None else find_anvil()

    def _start(self) -> NodeRecord:
        """Start anvil in its own session, wait for its port, and record it in ``node.json``."""
        cmd = self.command()
        with self.log_path.open("ab") as log:
            log.write(f"\n--- start {time.ctime()}: {' '.join(cmd)}\n".encode())
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
        self._process = process
        port = self._wait_port(process, offset)
        record = NodeRecord(
            pid=process.pid,
            port=port,
            url=f"http://127.0.0.1:{port}",
            owner_pid=os.getpid(),
            chain_id=self.chain_id,
            started_at=time.time(),
        )
        self._wait_rpc(process, record.url)
        if not self.log_rpc:
            # anvil logs every request at info level: node.log would grow without bound.
            _rpc(record.url, "anvil_setLoggingEnabled", [False])
        _write_atomically(self.record_path, json.dumps(asdict(record), indent=2))
        return record

    def _wait_port(self, process: subprocess.Popen[bytes], offset: int) -> int:
        """Read the port anvil reports in its log, within the startup timeout."""
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            with self.log_path.open("rb") as log:
                log.seek(offset)
                found = _LISTENING.search(log.read().decode("utf-8", "replace"))
            if found:
                return int(found.group(1))
            if process.poll() is not None:
                raise NodeError(f"anvil exited with {process.returncode}: {self._log_tail()}")
            time.sleep(0.05)
        self._abandon(process)
        raise NodeError(f"anvil did not listen within {self.startup_timeout:.0f} s")

    def _wait_rpc(self, process: subprocess.Popen[bytes], url: str) -> None:
        """Wait until the node answers JSON-RPC, within the startup timeout."""
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if _rpc_answers(url):
                return
            if process.poll() is not None:
                raise NodeError(f"anvil exited with {process.returncode}: {self._log_tail()}")
            time.sleep(0.05)
        self._abandon(process)
        raise NodeError(f"anvil at {url} did not answer within {self.startup_timeout:.0f} s")

    def _terminate(self, pid: int, timeout: float) -> None:
        """SIGTERM ``pid`` (anvil dumps its state), wait up to ``timeout``, then SIGKILL."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if not self._wait_exit(pid, timeout):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            self._wait_exit(pid, 5.0)

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

    def _wait_exit(self, pid: int, timeout: float) -> bool:
        """Wait for ``pid`` to exit (reaping it when it is our child); True if it did."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.pid == pid:
                if self._process.poll() is not None:
                    return True
            elif not pid_alive(pid):
                return True
            time.sleep(0.05)
        return False

    def _owns_pid(self, pid: int) -> bool:
        """True when ``pid`` is alive and, where /proc tells, an anvil using this home's state."""
        if self._process is not None and self._process.pid == pid:
            return self._process.poll() is None
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


def find_anvil(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Locate the anvil binary: explicit, $FOURFLOW_ANVIL_BIN, the npm package, then PATH."""
    for candidate in _anvil_candidates(explicit):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    on_path = shutil.which("anvil")
    if on_path:
        return Path(on_path)
    raise NodeBinaryMissingError(
        "the anvil chain node is not installed: run `make setup` (it installs the npm package "
        "@foundry-rs/anvil into node_modules/), or set FOURFLOW_ANVIL_BIN to an anvil binary"
    )


def _anvil_candidates(explicit: str | os.PathLike[str] | None) -> Iterator[Path]:
    """Places the anvil binary may be, most specific first."""
    if explicit is not None:
        yield Path(explicit)
        return
    env = os.environ.get("FOURFLOW_ANVIL_BIN")
    if env:
        yield Path(env)
        return
    exe = "anvil.exe" if os.name == "nt" else "anvil"
    package = f"anvil-{_npm_os()}-{_ARCH.get(platform.machine().lower(), platform.machine())}"
    for root in _project_roots():
        yield root / "node_modules" / "@foundry-rs" / package / "bin" / exe
    for root in _project_roots():
        yield root / "node_modules" / ".bin" / exe


def _npm_os() -> str:
    """The OS part of the npm package name (linux, darwin, win32)."""
    system = platform.system().lower()
    return "win32" if system.startswith("win") else system


def _project_roots() -> Iterator[Path]:
    """$FOURFLOW_PROJECT_ROOT, else directories above this file or the cwd with node_modules."""
    env = os.environ.get("FOURFLOW_PROJECT_ROOT")
    if env:
        yield Path(env)
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
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
