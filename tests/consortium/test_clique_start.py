"""``CliqueNetwork.up`` starts a network that grows, every time.

Four signers that each seal their own block 1 before they see each other's fork four ways and no
fork can grow (a signer of 4 seals one block in 3). ``up`` starts every node sealing with its
signer key locked (so each accepts its peers' blocks but seals none), unlocks one signer allowed
to seal the next block, waits until every node has that block, then unlocks the others. Here a
fresh network is brought up several times in a row, and a stopped one is started again: each
time every node passes three blocks past its head promptly, on one chain.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from fourflow.adapters.chain.clique import CliqueNetwork
from fourflow.adapters.chain.node import _rpc
from tests.consortium.conftest import MEMBERS, geth_or_skip

pytestmark = [pytest.mark.chain, pytest.mark.xdist_group("clique")]

#: Fresh networks brought up in a row, and how long each may take to pass its head by 3 blocks
#: once ``up`` returned (1 s blocks; a loaded 2-core machine).
FRESH_RUNS, GROWING_S = 3, 30.0


def _heads(net: CliqueNetwork) -> list[int | None]:
    heads = [_rpc(m.url, "eth_blockNumber", [], timeout=5.0) for m in net.members()]
    return [int(h, 16) if isinstance(h, str) else None for h in heads]


def _grows_past(net: CliqueNetwork, number: int) -> float:
    """Seconds until every node is past ``number``; fails after ``GROWING_S``."""
    start = time.monotonic()
    while True:
        heads = _heads(net)
        if all(h is not None and h > number for h in heads):
            return time.monotonic() - start
        assert time.monotonic() - start < GROWING_S, (
            f"the network did not pass block {number} within {GROWING_S:.0f} s: heads {heads}"
        )
        time.sleep(0.2)


def _block_hash(net: CliqueNetwork, node: int, number: int) -> str:
    return str(_rpc(net.member(node).url, "eth_getBlockByNumber", [hex(number), False])["hash"])


def test_a_fresh_network_grows_every_time_and_again_after_a_restart(tmp_path: Path) -> None:
    geth = geth_or_skip()
    for run in range(FRESH_RUNS):
        net = CliqueNetwork(tmp_path / f"net{run}", geth=geth)
        net.create(MEMBERS, period=1)
        try:
            net.up()
            _grows_past(net, 3)
            # One chain: every node has the same blocks 1..3 (no node kept a block 1 of its own).
            for number in (1, 2, 3):
                assert len({_block_hash(net, i, number) for i in range(4)}) == 1, number
            # Block 1 was sealed in turn by the one signer released first.
            signers = sorted(a.lower() for a in _rpc(net.urls()[0], "clique_getSigners", []))
            sealer = str(_rpc(net.urls()[0], "clique_getSigner", ["0x1"])).lower()
            assert sealer == signers[1 % len(signers)]
            if run == FRESH_RUNS - 1:
                # Stopped and started again: the same start-up from the head it stopped at.
                assert net.down() == 4
                net.up()
                head = max(h for h in _heads(net) if h is not None)
                _grows_past(net, head + 3)
                assert {s.peers for s in net.status()} == {3}
        finally:
            net.down()
