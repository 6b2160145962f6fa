"""FourFlow on a 4-signer Clique network of go-ethereum v1.13.15: contracts deploy, operations
are confirmed N blocks deep, and nothing is lost or doubled when a signer is killed, a node is
cut off and healed."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import pytest

from fourflow.adapters.chain.clique import CliqueNetwork
from fourflow.adapters.chain.ids import key32
from fourflow.adapters.chain.ledger import ChainLedger
from fourflow.adapters.chain.node import _rpc
from fourflow.adapters.crypto.keystore import FileKeyStore
from fourflow.services.commands import AdmitMember
from fourflow.services.ports import ChainOp

pytestmark = [pytest.mark.chain, pytest.mark.xdist_group("clique")]

CONFIRMATIONS = 2


@pytest.fixture(scope="module")
def keystore(tmp_path_factory: pytest.TempPathFactory) -> FileKeyStore:
    store = FileKeyStore(tmp_path_factory.mktemp("keys"), "clique-test")
    store.create("operator")
    return store


@pytest.fixture(scope="module")
def addresses(
    network: CliqueNetwork, keystore: FileKeyStore, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """FourFlow's contracts, deployed through all four nodes at confirmation depth 2."""
    ledger = _ledger(network, keystore, {}, network.urls())
    ledger._artifacts_home = tmp_path_factory.mktemp("artifacts")
    return ledger.deploy("operator")


def _ledger(
    network: CliqueNetwork, keystore: FileKeyStore, addresses: dict[str, str], urls: list[str]
) -> ChainLedger:
    ledger = ChainLedger(",".join(urls), keystore, addresses, receipt_timeout=90)
    ledger.client.confirmations = CONFIRMATIONS
    ledger.client.use_gas_price(0)  # the network's free gas (base fee 0, miners at price 0)
    return ledger


def _admit(keystore: FileKeyStore, n: int) -> list[ChainOp]:
    """``n`` admissions of new members (each op applies once, by its op id)."""
    ops = []
    for _ in range(n):
        org = f"member-{uuid.uuid4().hex[:10]}"
        address = str(keystore.create(org))
        ops.append(ChainOp(f"admit-{org}", AdmitMember(org, address, 2), "operator"))
    return ops


def _applications(ledger: ChainLedger, op: ChainOp) -> int:
    """How many times the chain applied ``op`` (OperationApplied logs with its id)."""
    topic = ledger.abi("Registry").event_topic("OperationApplied")
    return len(ledger.client.logs(ledger.addresses["Registry"], [topic, key32(op.op_id)]))


def _heads(network: CliqueNetwork) -> list[int | None]:
    return [s.block for s in network.status()]


def test_contracts_deploy_and_operations_confirm_on_four_signers(
    network: CliqueNetwork, keystore: FileKeyStore, addresses: dict[str, str]
) -> None:
    ledger = _ledger(network, keystore, addresses, network.urls())
    ledger.check_deployed()
    ops = _admit(keystore, 6)
    receipts = ledger.apply_many(ops)
    head = ledger.client.block_number()
    assert all(head - r.block_number >= CONFIRMATIONS for r in receipts)
    assert all(_applications(ledger, op) == 1 for op in ops)
    # Blocks are sealed by several signers in turn, and every node agrees on the chain.
    sealers = {
        _rpc(network.urls()[0], "clique_getSigner", [hex(n)]) for n in range(head - 7, head + 1)
    }
    assert len(sealers) >= 3
    assert len(network.signers()) == 4
    statuses = network.status()
    assert all(s.peers == 3 for s in statuses)
    assert ledger.client.client_version().startswith("Geth/v1.13.15")


def test_a_killed_signer_under_load_loses_and_doubles_nothing(
    network: CliqueNetwork, keystore: FileKeyStore, addresses: dict[str, str]
) -> None:
    # The client's first node is the one that dies.
    ledger = _ledger(network, keystore, addresses, network.urls())
    batches = [_admit(keystore, 8) for _ in range(6)]
    errors: list[BaseException] = []

    def load() -> None:
        try:
            for batch in batches:
                ledger.apply_many(batch)
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=load)
    worker.start()
    time.sleep(2.0)
    network.kill(0)
    killed_at = max(h for h in _heads(network) if h is not None)
    worker.join(180)
    assert not worker.is_alive(), "the load did not finish within 180 s"
    assert errors == []
    assert ledger.client.failovers >= 1
    # Sealing went on without the dead signer (3 of 4 sign in turn).
    assert max(h for h in _heads(network) if h is not None) > killed_at + 3
    for batch in batches:
        for op in batch:
            assert ledger.is_applied(op)
            assert _applications(ledger, op) == 1, op.op_id
    # The node restarts and catches up with the others.
    network.start(0)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        heads = _heads(network)
        if heads[0] is not None and heads[0] >= max(h or 0 for h in heads[1:]) - 1:
            break
        time.sleep(0.5)
    heads = _heads(network)
    assert heads[0] is not None and heads[0] >= max(h or 0 for h in heads[1:]) - 1, heads


def test_partition_and_heal_of_one_node(
    network: CliqueNetwork, keystore: FileKeyStore, addresses: dict[str, str], tmp_path: Path
) -> None:
    ledger = _ledger(network, keystore, addresses, network.urls()[:3])
    network.isolate(3)
    try:
        ops = _admit(keystore, 5)
        ledger.apply_many(ops)  # the three connected signers go on sealing
    finally:
        network.connect_all()
    network.wait_peers(3)
    cut_off = _ledger(network, keystore, addresses, [network.member(3).url])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not all(cut_off.is_applied(op) for op in ops):
        time.sleep(0.5)
    assert all(cut_off.is_applied(op) and _applications(cut_off, op) == 1 for op in ops)
