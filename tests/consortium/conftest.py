"""A 4-signer go-ethereum Clique network for the consortium tests (module-scoped)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from fourflow.adapters.chain.clique import CliqueNetwork, default_geth_cache, find_geth
from fourflow.adapters.chain.errors import NodeBinaryMissingError

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


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliqueNetwork]:
    """Four signers, one per member, running until the module ends."""
    geth = geth_or_skip()
    net = CliqueNetwork(tmp_path_factory.mktemp("clique"), geth=geth)
    net.create(MEMBERS, period=1)
    try:
        net.up()
        yield net
    finally:
        net.down()
