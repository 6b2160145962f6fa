"""Members and signers on the 4-signer Clique network: a new member's node joins as a static
peer; it becomes a signer only when a majority of the signers vote it in (``clique_propose``),
and a majority votes it out again."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from fourflow.adapters.chain.clique import CliqueNetwork
from fourflow.adapters.chain.node import _rpc

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
    network: CliqueNetwork,
) -> None:
    new = network.add_member("Fifth bank node", uscc="91320000MA1FF0009X")
    address = new.address.lower()
    # It runs its own node, peered with every member (static and trusted peers both ways).
    network.wait_peers(4, timeout=30)
    assert all(f'"{new.enode}"' in (network.dir / m.slug / "config.toml").read_text()
               for m in network.members()[:4])  # fmt: skip
    _until("the new node syncing", lambda: _block(new.url) >= _block(network.urls()[0]) - 1)
    assert address not in network.signers()

    # Two of four votes are not a majority: after every signer sealed again, still no signer.
    network.propose(new.address, True, voters=[0, 1])
    start = _block(network.urls()[0])
    _until("six more blocks", lambda: _block(network.urls()[0]) >= start + 6)
    assert address not in network.signers()
    # The third vote decides (3 of 4 > half).
    network.propose(new.address, True, voters=[2])
    _until("the vote in", lambda: address in network.signers(0), timeout=30)
    network.discard(new.address, voters=[0, 1, 2])
    _until("every node counting it", lambda: all(address in network.signers(i) for i in range(5)))
    joined = _block(network.urls()[0])
    _until("a block sealed by the new signer", lambda: address in _sealers(
        network.urls()[0], joined, _block(network.urls()[0])), timeout=30)  # fmt: skip
    status = {s.name: s for s in network.status()}
    assert len(status["Fifth bank node"].signers) == 5

    # Voting out: 3 of the 5 signers are a majority.
    network.propose(new.address, False, voters=[0, 1, 2])
    _until("the vote out", lambda: address not in network.signers(0), timeout=30)
    network.discard(new.address, voters=[0, 1, 2])
    assert len(network.signers(0)) == 4
    left = _block(network.urls()[0])
    _until("six blocks after", lambda: _block(network.urls()[0]) >= left + 6)
    assert address not in _sealers(network.urls()[0], left + 1, left + 6)
    assert _block(new.url) >= left + 4  # it still follows the chain, as a plain node
