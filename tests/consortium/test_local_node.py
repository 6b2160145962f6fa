"""The on-demand local node: shared by leases across processes, reachable only through a guard
that refuses anvil's cheat methods, on 127.0.0.1 only."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from fourflow.adapters.chain.node import AnvilNode

pytestmark = pytest.mark.chain

# One CLI-like process: opens the platform of a home, uses its on-demand node, waits for a
# line on stdin, reads the chain again, closes the platform (the end of a CLI command).
_USER = """
import sys
from pathlib import Path
from fourflow.bootstrap import Platform, Settings
settings = Settings(home=Path(sys.argv[1]), database_url="sqlite:///" + sys.argv[2],
                    chain_url=None, keystore_password="pw")
with Platform(settings) as p:
    url = p.chain_url()
    print("URL", url, flush=True)
    sys.stdin.readline()
    print("BLOCK", p.ledger.client.block_number(), flush=True)
"""


def _rpc(url: str, body: Any) -> Any:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as response:
        return json.loads(response.read())


def _call(url: str, method: str, params: list[Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = _rpc(
        url, {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}
    )
    return answer


def _user(home: Path, db: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _USER, str(home), str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen[str]) -> str:
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write("go\n")
    process.stdin.flush()
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return _tagged(out.splitlines(), "BLOCK")


def _tagged(lines: Any, tag: str) -> str:
    """The value of the first ``<tag> <value>`` line (the platform also logs to stdout)."""
    for line in lines:
        if line.startswith(tag + " "):
            return str(line.split(" ", 1)[1].strip())
    raise AssertionError(f"no {tag} line")


def _url(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    return _tagged(iter(process.stdout.readline, ""), "URL")


def test_the_node_outlives_the_process_that_started_it_while_another_uses_it(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    node = AnvilNode(home)
    first, second = _user(home, tmp_path / "a.db"), None
    try:
        url = _url(first)
        second = _user(home, tmp_path / "b.db")
        assert _url(second) == url
        # The starter ends first: the node must stay up for the other process.
        _finish(first)
        assert node.running() is not None
        assert int(_finish(second)) >= 0  # the second still reads the chain, then ends
        # The last lease is gone: the on-demand node is stopped.
        assert node.running() is None
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
        node.stop()


def test_a_lease_dies_with_its_holder_even_by_sigkill(tmp_path: Path) -> None:
    home = tmp_path / "home"
    node = AnvilNode(home)
    first, second = _user(home, tmp_path / "a.db"), None
    try:
        _url(first)
        second = _user(home, tmp_path / "b.db")
        _url(second)
        assert node.leases_held()
        os.kill(second.pid, signal.SIGKILL)
        second.wait(10)
        _finish(first)  # the killed one holds nothing any more: the node is stopped
        assert node.running() is None
        assert not node.leases_held()
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
        node.stop()


def test_the_public_url_refuses_cheat_methods_and_the_admin_url_is_separate(
    tmp_path: Path,
) -> None:
    node = AnvilNode(tmp_path)
    url = node.ensure_running()
    try:
        admin = node.admin_url()
        assert admin != url
        someone = "0x" + "11" * 20
        for method, params in (
            ("anvil_impersonateAccount", [someone]),
            ("anvil_setBalance", [someone, "0x1"]),
            ("hardhat_impersonateAccount", [someone]),
            ("evm_increaseTime", [3600]),
            ("evm_setNextBlockTimestamp", [2_000_000_000]),
            ("evm_mine", [2_000_000_000]),  # mining at a chosen time moves the clock
            ("eth_sendUnsignedTransaction", [{"from": someone}]),
        ):
            answer = _call(url, method, params)
            assert answer["error"]["code"] == -32601, (method, answer)
            assert method in answer["error"]["message"]
        before = int(_call(url, "eth_blockNumber")["result"], 16)
        assert "error" not in _call(url, "evm_mine")  # FourFlow's client mines batches now
        assert int(_call(url, "eth_blockNumber")["result"], 16) == before + 1
        # A batch: the refused call is answered in place, the others are forwarded.
        batch = _rpc(
            url,
            [
                {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
                {"jsonrpc": "2.0", "id": 2, "method": "anvil_impersonateAccount",
                 "params": [someone]},
                {"jsonrpc": "2.0", "id": 3, "method": "net_version", "params": []},
            ],
        )  # fmt: skip
        assert [("error" in a) for a in batch] == [False, True, False]
        assert [a["id"] for a in batch] == [1, 2, 3]
        # Nothing was impersonated through the guard; the admin URL (platform only) still can.
        assert "error" not in _call(admin, "anvil_impersonateAccount", [someone])
        assert (tmp_path / "chain" / "node.json").stat().st_mode & 0o077 == 0
    finally:
        node.stop()


def test_node_and_guard_listen_on_loopback_only(tmp_path: Path) -> None:
    node = AnvilNode(tmp_path)
    node.ensure_running()
    try:
        record = node.read_record()
        assert record is not None
        ports = {record.port, int(record.admin_url.rsplit(":", 1)[1])}
        listening = _listening_sockets()
        for port in ports:
            assert listening.get(port) == {"127.0.0.1"}, (port, listening.get(port))
    finally:
        node.stop()


def _listening_sockets() -> dict[int, set[str]]:
    """Listening TCP sockets from /proc/net/tcp{,6}: port -> local addresses."""
    out: dict[int, set[str]] = {}
    for name in ("tcp", "tcp6"):
        path = Path(f"/proc/net/{name}")
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "0A":  # LISTEN
                continue
            address, port = fields[1].split(":")
            if len(address) == 8:
                ip = ".".join(str(int(address[i : i + 2], 16)) for i in (6, 4, 2, 0))
            else:
                ip = "::" if set(address) == {"0"} else address
            out.setdefault(int(port, 16), set()).add(ip)
    return out


def test_release_stops_only_after_the_last_lease(tmp_path: Path) -> None:
    node, other = AnvilNode(tmp_path), AnvilNode(tmp_path)
    assert node.release() is False  # no lease held: nothing happens
    try:
        url, started = node.acquire()
        assert started and url.startswith("http://127.0.0.1:")
        again, started_again = other.acquire()
        assert again == url and not started_again
        assert node.release() is False
        assert node.running() is not None
        assert other.release() is True
        assert node.running() is None
    finally:
        node.stop()
    assert node.stop() is False
