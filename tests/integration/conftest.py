"""A real anvil node per pytest(-xdist) worker, FourFlow's contracts on it, and member orgs."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fourflow.adapters.chain.ledger import ChainLedger
from fourflow.adapters.chain.node import AnvilNode
from fourflow.adapters.crypto.keystore import FileKeyStore
from fourflow.domain.parties import Role, role_mask
from fourflow.services.ports import ChainOp, OpKind

PASSWORD = "integration-test-password"
MEMBERS = {
    "supplier": (Role.SUPPLIER,),
    "supplier2": (Role.SUPPLIER,),
    "core": (Role.CORE_ENTERPRISE,),
    "bank": (Role.BANK,),
}


@dataclass(frozen=True)
class Consortium:
    """A deployed ledger with an operator and admitted members (org ids are the dict keys)."""

    home: Path
    node: AnvilNode
    keystore: FileKeyStore
    ledger: ChainLedger
    addresses: dict[str, str]

    def today(self) -> int:
        """Today's day number by the chain's clock."""
        return int(time.time()) // 86400


def unique(prefix: str) -> str:
    """A fresh id, so tests sharing one chain never collide."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def worker_home(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """A FourFlow home of this xdist worker (``master`` without xdist)."""
    return tmp_path_factory.mktemp(f"fourflow-{worker_id}")


@pytest.fixture(scope="session")
def anvil(worker_home: Path) -> Iterator[AnvilNode]:
    """This worker's anvil node, stopped at the end of the session."""
    node = AnvilNode(worker_home)
    node.ensure_running()
    yield node
    node.stop()


@pytest.fixture(scope="session")
def consortium(worker_home: Path, anvil: AnvilNode) -> Consortium:
    """FourFlow's contracts deployed by ``operator`` and every org of ``MEMBERS`` admitted."""
    keystore = FileKeyStore(worker_home, PASSWORD)
    for org_id in ("operator", *MEMBERS):
        keystore.create(org_id)
    ledger = ChainLedger(anvil.url, keystore, artifacts_home=worker_home, managed_node=True)
    ledger.deploy("operator")
    addresses = {org: str(keystore.address(org)) for org in ("operator", *MEMBERS)}
    admits = [
        ChainOp(
            unique("admit"),
            OpKind.ADMIT_MEMBER,
            "operator",
            {"member_org_id": org, "address": addresses[org], "roles": role_mask(roles)},
        )
        for org, roles in MEMBERS.items()
    ]
    ledger.apply_many(admits)
    return Consortium(worker_home, anvil, keystore, ledger, addresses)
