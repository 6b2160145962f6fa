"""FourFlow's own anvil node: state survives restarts, a live node is reused, stop is safe."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fourflow.adapters.chain.errors import NodeBinaryMissingError
from fourflow.adapters.chain.ledger import ChainLedger
from fourflow.adapters.chain.node import AnvilNode, _rpc, find_anvil
from fourflow.adapters.crypto.keystore import FileKeyStore
from fourflow.services.commands import AdmitMember
from fourflow.services.ports import ChainOp

pytestmark = pytest.mark.chain


def test_restart_keeps_block_height_and_contract_state(tmp_path: Path, worker_home: Path) -> None:
    # A long dump interval: only the dump on SIGTERM can have saved the state.
    node = AnvilNode(tmp_path, state_interval=3600)
    keystore = FileKeyStore(tmp_path, "pw")
    keystore.create("operator")
    member = keystore.create("member")
    try:
        ledger = ChainLedger(node.ensure_running(), keystore, artifacts_home=worker_home)
        addresses = ledger.deploy("operator")
        admit = ChainOp("admit-member", AdmitMember("member", member, 2), "operator")
        first = ledger.apply(admit)
        height = ledger.info().block_number
        node.stop()
        assert (tmp_path / "chain" / "state.json").is_file()

        restarted = ChainLedger(
            node.ensure_running(), keystore, addresses, artifacts_home=worker_home
        )
        assert restarted.info().block_number == height
        assert restarted.read("member", member)["active"] is True
        again = restarted.apply(admit)
        assert again.already_applied and again.tx_hash == first.tx_hash
    finally:
        node.stop()


def test_ensure_running_reuses_the_live_node(anvil: AnvilNode) -> None:
    record = anvil.read_record()
    assert record is not None
    other = AnvilNode(anvil.dir.parent)
    assert other.ensure_running() == anvil.url
    assert other.read_record() == record
    assert record.url.startswith("http://127.0.0.1:")
    assert record.owner_pid == os.getpid()


def test_node_outlives_a_killed_owner_and_is_reused(tmp_path: Path) -> None:
    script = (
        "import sys, time\n"
        "from fourflow.adapters.chain.node import AnvilNode\n"
        "print(AnvilNode(sys.argv[1]).ensure_running(), flush=True)\n"
        "time.sleep(60)\n"
    )
    owner = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    node = AnvilNode(tmp_path)
    try:
        assert owner.stdout is not None
        url = owner.stdout.readline().strip()
        owner.send_signal(signal.SIGKILL)
        owner.wait(10)
        record = node.read_record()
        assert record is not None and record.owner_pid == owner.pid
        assert node.ensure_running() == url
        assert node.read_record() == record
    finally:
        if owner.poll() is None:
            owner.kill()
        node.stop()


def test_stop_is_safe_twice_and_removes_the_record(tmp_path: Path) -> None:
    node = AnvilNode(tmp_path)
    node.ensure_running()
    pid = node.read_record().pid  # type: ignore[union-attr]
    assert node.stop() is True
    assert node.stop() is False
    assert node.running() is None
    assert not (tmp_path / "chain" / "node.json").exists()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_stale_record_starts_a_new_node(tmp_path: Path) -> None:
    node = AnvilNode(tmp_path)
    node.ensure_running()
    pid = node.read_record().pid  # type: ignore[union-attr]
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while node.running() is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        node.ensure_running()
        record = node.read_record()
        assert record is not None and record.pid != pid
    finally:
        node.stop()


def test_missing_binary_names_the_setup_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(NodeBinaryMissingError, match="make setup"):
        find_anvil(tmp_path / "nowhere" / "anvil")


def test_binary_is_found_in_the_npm_package() -> None:
    binary = find_anvil()
    assert binary.is_file()
    assert binary.stat().st_mode & stat.S_IXUSR


def test_past_block_states_stay_off_the_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """anvil writes older block states under ~/.foundry/anvil/tmp unless told to prune them:
    gigabytes per busy node, left behind when it is killed. The node keeps them in memory only."""
    home = tmp_path / "user-home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    node = AnvilNode(tmp_path / "fourflow")
    node.ensure_running()
    try:
        url = node.admin_url()
        _rpc(url, "anvil_setBalance", ["0x" + "11" * 20, hex(10**18)])
        for _ in range(15):
            _rpc(url, "anvil_mine", [hex(100)], timeout=30)
        assert int(_rpc(url, "eth_blockNumber", []), 16) >= 1500
    finally:
        node.stop()
    written = [p for p in (home / ".foundry").rglob("*") if p.is_file()]
    assert written == [], f"anvil wrote {len(written)} files under the user's home"
