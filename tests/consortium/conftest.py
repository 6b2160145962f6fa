"""A 4-signer go-ethereum Clique network for the consortium tests (module-scoped)."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fourflow.adapters.chain.clique import CliqueNetwork, default_geth_cache, find_geth
from fourflow.adapters.chain.errors import NodeBinaryMissingError
from fourflow.adapters.chain.node import _rpc

MEMBERS = ("Bank of Ningbo node", "Core enterprise node", "Second bank node", "Regulator node")


def geth_or_skip() -> Path:
    """The geth binary; without it: a failure under CI, else a skip naming how to build it."""
    try:
        return find_geth(os.environ.get("FOURFLOW_GETH_BIN") or None)
    except NodeBinaryMissingError as exc:
        if os.environ.get("CI", "").lower() == "true":
            raise
        if shutil.which("go") is None and not Path("/usr/local/go/bin/go").exists():
            pytest.skip(f"Go is not installed, so geth cannot be built: {exc}")
        pytest.skip(f"run `make geth` first (expected at {default_geth_cache()}): {exc}")


#: How long a fresh network may take to pass block 2 once ``up`` returned.
GROWING_S = 60.0


def wait_growing(net: CliqueNetwork, past: int = 2, timeout: float = GROWING_S) -> None:
    """Return once every node is past block ``past``; fail with the heads after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        heads = [_rpc(m.url, "eth_blockNumber", [], timeout=5.0) for m in net.members()]
        if all(isinstance(h, str) and int(h, 16) > past for h in heads):
            return
        if time.monotonic() > deadline:
            pytest.fail(
                f"the fresh Clique network in {net.dir} did not pass block {past} within "
                f"{timeout:.0f} s (heads {heads}); `up` releases one signer first so this "
                "should not happen: see each node's geth.log"
            )
        time.sleep(0.25)


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliqueNetwork]:
    """Four signers, one per member, running until the module ends."""
    geth = geth_or_skip()
    net = CliqueNetwork(tmp_path_factory.mktemp("clique"), geth=geth)
    net.create(MEMBERS, period=1)
    try:
        net.up()
        wait_growing(net)
        yield net
    finally:
        net.down()
