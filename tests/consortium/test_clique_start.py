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
from collections.abc import Callable
from pathlib import Path

import pytest

from fourflow.adapters.chain.clique import CliqueMember, CliqueNetwork
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


def _stop(url: str) -> None:
    _rpc(url, "miner_stop", [])
    deadline = time.monotonic() + 10
    while _rpc(url, "eth_mining", []) is not False:
        assert time.monotonic() < deadline, f"{url} did not stop sealing"
        time.sleep(0.05)


def _head(url: str) -> tuple[int, str]:
    head = _rpc(url, "eth_getBlockByNumber", ["latest", False])
    return int(head["number"], 16), str(head["hash"])


def _until(what: str, done: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout:.0f} s"
        time.sleep(0.1)


def _quiet(urls: list[str], seconds: float = 3.0, timeout: float = 30.0) -> int:
    """Once no node got a new block for ``seconds`` (a seal under way when sealing stopped
    lands within a period and the out-of-turn delay): the common head."""
    deadline = time.monotonic() + timeout
    last, since = [_head(u) for u in urls], time.monotonic()
    while True:
        heads = [_head(u) for u in urls]
        if heads != last:
            last, since = heads, time.monotonic()
        elif time.monotonic() - since >= seconds and len(set(heads)) == 1:
            return heads[0][0]
        assert time.monotonic() < deadline, f"the nodes did not settle: {heads}"
        time.sleep(0.1)


def _link(a: CliqueMember, b: CliqueMember) -> None:
    for x, y in ((a, b), (b, a)):
        _rpc(x.url, "admin_addPeer", [y.enode])
        _rpc(x.url, "admin_addTrustedPeer", [y.enode])


def test_three_signers_deadlocked_on_a_tie_fork_are_mended_and_seal_on(tmp_path: Path) -> None:
    """Three signers of 4 left must seal in strict turn. Built on purpose here: the in-turn
    signer T of block n+1 seals block n out of turn, so the two others X and Y may both seal
    block n+1 out of turn (equal difficulty); each seals it cut off from the other, the fourth
    (W) is cut off, and X, Y, T meet again: X and Y each keep their own block, and every one
    of the three is a recent signer on its own chain: no block can come. ``wait_growing``
    finds the stall and rewinds the node off the chain most hold; the three seal on."""
    net = CliqueNetwork(tmp_path / "tie", geth=geth_or_skip())
    net.create(MEMBERS, period=1)
    try:
        net.up()
        _grows_past(net, 3)
        members = net.members()
        by_address = {m.address.lower(): m for m in members}
        signers = sorted(by_address)
        urls = [m.url for m in members]
        for _ in range(8):  # until the in-turn signer of n+2 may seal n+1 (bounded)
            for u in urls:
                _stop(u)
            n = _quiet(urls)
            snap = _rpc(urls[0], "clique_getSnapshot", [hex(n)])
            recent = {str(a).lower() for s, a in snap["recents"].items() if int(s) > n - 2}
            t = signers[(n + 2) % 4]
            if t not in recent:
                break
            for u in urls:
                _rpc(u, "miner_start", [])
            _until("a block", lambda n=n: _head(urls[0])[0] > n)  # type: ignore[misc]
        else:
            pytest.fail("no height where the next block's in-turn signer could seal first")
        big_t = by_address[t]
        _rpc(big_t.url, "miner_start", [])
        _until("T's block n+1", lambda: all(_head(u)[0] == n + 1 for u in urls))
        _stop(big_t.url)
        w = by_address[str(_rpc(urls[0], "clique_getSigner", [hex(n)])).lower()]
        x, y = (by_address[a] for a in signers if by_address[a] not in (big_t, w))
        net.isolate(x.slug)
        net.isolate(y.slug)
        for m in (x, y):  # each seals block n+2 alone, out of turn
            _rpc(m.url, "miner_start", [])
        _until("X's and Y's own blocks n+2", lambda: _head(x.url)[0] == _head(y.url)[0] == n + 2)
        net.isolate(w.slug)
        _link(x, y)
        _link(x, big_t)
        _link(y, big_t)
        _rpc(big_t.url, "miner_start", [])
        _until("T taking one of them", lambda: _head(big_t.url)[0] == n + 2, timeout=60)
        # Deadlocked: every one of the three signed one of the last 2 blocks of its own chain.
        assert _head(x.url)[1] != _head(y.url)[1]
        for m in (x, y, big_t):
            number, block = _head(m.url)
            snap = _rpc(m.url, "clique_getSnapshotAtHash", [block])
            recent = {str(a).lower() for s, a in snap["recents"].items() if int(s) > number - 2}
            assert m.address.lower() in recent, (m.name, number, snap["recents"])
        heads = net.wait_growing([x, y, big_t], blocks=3, timeout=120)
        assert min(heads) >= n + 5
        assert len({_block_hash(net, members.index(m), n + 4) for m in (x, y, big_t)}) == 1
    finally:
        net.down()
