"""Members and signers on the 4-signer Clique network, through ``fourflow consortium join`` and
``vote``: a new member's node joins as a static peer; it becomes a signer only when a majority
of the signers vote it in (``clique_propose``), and a majority votes it out again."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fourflow.adapters.chain.clique import CliqueNetwork
from fourflow.adapters.chain.node import _rpc
from fourflow.entrypoints.cli.main import app
from tests.consortium.conftest import geth_or_skip

pytestmark = [pytest.mark.chain, pytest.mark.xdist_group("clique")]


def _until(what: str, done: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout:.0f} s"
        time.sleep(0.2)


def _block(url: str) -> int:
    return int(_rpc(url, "eth_blockNumber", []), 16)


def _sealers(url: str, first: int, last: int) -> set[str]:
    return {str(_rpc(url, "clique_getSigner", [hex(n)])).lower() for n in range(first, last + 1)}


def test_a_fifth_node_is_voted_in_as_signer_by_a_majority_and_voted_out(
    network: CliqueNetwork, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FOURFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FOURFLOW_GETH_BIN", str(geth_or_skip()))
    runner = CliRunner()

    def run(*args: str) -> tuple[int, dict[str, object], str]:
        result = runner.invoke(app, ["consortium", *args, "--dir", str(network.dir), "--json"])
        text = result.stdout + result.stderr
        start = result.stdout.find("{")
        return result.exit_code, json.loads(result.stdout[start:]) if start >= 0 else {}, text

    code, joined, out = run("join", "--name", "Fifth bank node", "--uscc", "91320000MA1FF0009X")
    assert code == 0, out
    new = network.member("Fifth bank node")
    assert joined["address"] == new.address and joined["url"] == new.url
    address = new.address.lower()
    # It runs its own node, peered with every member (static and trusted peers both ways).
    network.wait_peers(4, timeout=30)
    assert all(f'"{new.enode}"' in (network.dir / m.slug / "config.toml").read_text()
               for m in network.members()[:4])  # fmt: skip
    _until("the new node syncing", lambda: _block(new.url) >= _block(network.urls()[0]) - 1)
    assert address not in network.signers()

    # Two of four votes are not a majority: after every signer sealed again, still no signer.
    code, result, out = run("vote", new.address, "--add", "--by", "node1,node2", "--wait", "8")
    assert code == 1 and "not decided within 8 s: 2 of 4 signers voted" in out, out
    assert result["decided"] is False and address not in network.signers()
    # The third vote decides (3 of 4 > half).
    code, result, out = run("vote", new.address, "--add", "--by", "node3", "--wait", "120")
    assert code == 0 and result["decided"] is True, out
    _until("every node counting it", lambda: all(address in network.signers(i) for i in range(5)))
    joined_at = _block(network.urls()[0])
    _until("a block sealed by the new signer", lambda: address in _sealers(
        network.urls()[0], joined_at, _block(network.urls()[0])), timeout=30)  # fmt: skip
    code, status, out = run("status")
    assert code == 0, out
    nodes = {n["name"]: n for n in status["nodes"]}  # type: ignore[attr-defined]
    assert nodes["Fifth bank node"]["signer"] and len(nodes["Fifth bank node"]["signers"]) == 5

    # Voting out: every signer votes by default; 3 of the 5 would be a majority.
    code, result, out = run("vote", new.address, "--remove", "--wait", "120")
    assert code == 0 and result["decided"] is True and result["signers"] == 5, out
    assert len(network.signers(0)) == 4
    left = _block(network.urls()[0])
    _until("five blocks after", lambda: _block(network.urls()[0]) >= left + 5)
    assert address not in _sealers(network.urls()[0], left + 1, left + 5)
    assert _block(new.url) >= left + 3  # it still follows the chain, as a plain node
