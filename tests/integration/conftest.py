"""A real anvil node per pytest(-xdist) worker, FourFlow's contracts on it, and member orgs;
a platform on that node over each store backend; the CLI on a fresh home."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest
from typer.testing import CliRunner

from fourflow.adapters.chain.ledger import ChainLedger
from fourflow.adapters.chain.node import AnvilNode
from fourflow.adapters.crypto.keystore import FileKeyStore
from fourflow.bootstrap import Platform, Settings
from fourflow.domain.parties import Role, role_mask
from fourflow.entrypoints.cli.main import app
from fourflow.services.commands import AdmitMember
from fourflow.services.ports import ChainOp
from tests.store.fixtures import (  # noqa: F401  (fixtures, used by `platform`)
    migrated_store_url,
    pg_template,
    sqlite_template,
    store_url,
)

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
        ChainOp(unique("admit"), AdmitMember(org, addresses[org], role_mask(roles)), "operator")
        for org, roles in MEMBERS.items()
    ]
    ledger.apply_many(admits)
    return Consortium(worker_home, anvil, keystore, ledger, addresses)


@pytest.fixture
def platform(tmp_path: Path, migrated_store_url: str, anvil: AnvilNode) -> Iterator[Platform]:  # noqa: F811
    """An initialised platform on this worker's node, over SQLite and over PostgreSQL (a store
    already at the head revision: opening it checks the revision)."""
    settings = Settings(
        home=tmp_path / "home",
        database_url=migrated_store_url,
        chain_url=anvil.url,
        keystore_password="test-password",
    )
    with Platform(settings) as opened:
        opened.initialise()
        yield opened


class Run(Protocol):
    """The ``run`` fixture: ``fourflow`` with these arguments, answering (code, out, err)."""

    def __call__(self, *args: str) -> tuple[int, str, str]: ...


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Run]:
    """Run ``fourflow`` commands on a fresh home with its own local node: (code, out, err)."""
    for name in ("FOURFLOW_DATABASE_URL", "FOURFLOW_CHAIN_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FOURFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FOURFLOW_KEYSTORE_PASSWORD", "cli-test")
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str, str]:
        result = runner.invoke(app, list(args))
        return result.exit_code, result.stdout, result.stderr

    yield invoke
    invoke("chain", "node", "stop")
