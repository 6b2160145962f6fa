"""The main path's chain operations on a 4-signer Clique network beside anvil, in one run.

Figures (one JSON line each, ``make bench`` / ``python -m bench consortium``):

* ``consortium.ops_per_s.<chain>.<n>_clients``: mixed debt-item operations (issue; split and
  transfer; pledge; repay: the main path's chain writes, as ``bench_chain_items`` builds them)
  per second, from one client and from four clients at once (one per node on Clique, each
  with its own senders); on Clique an operation counts only 2 blocks deep;
* ``consortium.confirm_latency_s.<chain>``: the median seconds from sending one operation to
  its receipt counting (2 blocks deep on Clique, mined on anvil), one at a time;
* ``consortium.rpcguard.calls_per_s.<via>``: ``eth_blockNumber`` calls per second to the
  managed anvil through its JSON-RPC guard and directly on its admin URL.

geth comes from ``make geth`` (``FOURFLOW_GETH_BIN`` overrides); without it the Clique figures
are left out with a note on stderr.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import requests

from fourflow.adapters.chain.clique import CliqueNetwork, find_geth
from fourflow.adapters.chain.errors import NodeBinaryMissingError
from fourflow.adapters.chain.ledger import ChainLedger
from fourflow.adapters.chain.node import AnvilNode
from fourflow.adapters.crypto.keystore import FileKeyStore
from fourflow.domain.parties import Role, role_mask
from fourflow.services import commands as cmd
from fourflow.services.ports import ChainOp

CONFIRMATIONS = 2


def _figures() -> Any:
    """bench.figures (which lists this module's benchmark, so it is imported late)."""
    from bench import figures  # noqa: PLC0415

    return figures


ROLES = {
    "core": (Role.CORE_ENTERPRISE,),
    "tier1": (Role.SUPPLIER,),
    "tier2": (Role.SUPPLIER,),
    "bank": (Role.BANK,),
}
NODE_NAMES = ("Core enterprise node", "Bank node", "Supplier node", "Regulator node")


def _items() -> int:
    return int(os.environ.get("FOURFLOW_BENCH_CONSORTIUM_ITEMS", "100"))


def _ledger(url: str, keystore: FileKeyStore, home: Path, confirmations: int) -> ChainLedger:
    ledger = ChainLedger(url, keystore, artifacts_home=home, receipt_timeout=300)
    ledger.client.confirmations = confirmations
    return ledger


def _senders(keystore: FileKeyStore, prefix: str) -> dict[str, Any]:
    """A client's own four organisations (its own keys, so no two clients share a nonce)."""
    return {
        key: SimpleNamespace(
            id=f"{prefix}-{key}", chain_address=str(keystore.create(f"{prefix}-{key}"))
        )
        for key in ROLES
    }


def _admit(ledger: ChainLedger, groups: list[dict[str, Any]]) -> None:
    ops = [
        ChainOp(f"admit-{org.id}-{time.time_ns()}",
                cmd.AdmitMember(org.id, org.chain_address, role_mask(ROLES[key])), "operator")
        for orgs in groups for key, org in orgs.items()
    ]  # fmt: skip
    ledger.apply_many(ops)


def _throughput(ledgers: list[ChainLedger], groups: list[dict[str, Any]]) -> tuple[float, int]:
    """Ops per second when each ledger runs the phases of its own group, all at once."""
    today = int(time.time()) // 86_400
    plans = [_figures()._mixed_item_ops(orgs, _items(), today) for orgs in groups]
    for ledger, orgs in zip(ledgers, groups, strict=True):
        for org in orgs.values():
            ledger.account(org.id)  # decrypt keys before timing
    errors: list[BaseException] = []

    def run(ledger: ChainLedger, phases: list[list[ChainOp]]) -> None:
        try:
            for phase in phases:
                ledger.apply_many(phase)
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=(ledger, phases))
        for ledger, phases in zip(ledgers, plans, strict=True)
    ]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    if errors:
        raise errors[0]
    ops = sum(len(phase) for phases in plans for phase in phases)
    return ops / seconds, ops


def _latency(ledger: ChainLedger, n: int = 8) -> float:
    """Median seconds for one operation to count (sent alone, waited for)."""
    samples = []
    for i in range(n):
        op = ChainOp(f"lat-{i}-{time.time_ns()}",
                     cmd.RegisterFingerprints((os.urandom(32).hex(),)), "operator")  # fmt: skip
        start = time.perf_counter()
        ledger.apply_many([op])
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _chain_figures(
    chain: str, urls: list[str], keystore: FileKeyStore, home: Path, confirmations: int
) -> Iterator[str]:
    deployer = _ledger(",".join(urls), keystore, home, 0)
    addresses = deployer.deploy("operator")
    one = [_ledger(",".join(urls), keystore, home, confirmations)]
    four = [_ledger(urls[i % len(urls)], keystore, home, confirmations) for i in range(4)]
    for ledger in [*one, *four]:
        ledger.use_contracts(addresses)
    tag = f"{chain}-{time.time_ns()}"
    groups_one = [_senders(keystore, f"{tag}-solo")]
    groups_four = [_senders(keystore, f"{tag}-c{i}") for i in range(4)]
    _admit(one[0], groups_one + groups_four)
    context = {"confirmations": confirmations, "items_per_client": _items(),
               "mix": "issue+split+transfer+pledge+repay"}  # fmt: skip
    if chain == "clique":
        context["nodes"] = len(urls)
        context["client"] = one[0].client.client_version()
    rate, ops = _throughput(one, groups_one)
    yield _figures().line(
        f"consortium.ops_per_s.{chain}.1_client", rate, "tx/s", ops=ops, **context
    )
    rate, ops = _throughput(four, groups_four)
    yield _figures().line(f"consortium.ops_per_s.{chain}.4_clients", rate, "tx/s", ops=ops,
                       one_node_each=len(urls) > 1, **context)  # fmt: skip
    seconds = _latency(one[0])
    yield _figures().line(f"consortium.confirm_latency_s.{chain}", seconds, "s", **context)


def _guard_overhead(node: AnvilNode) -> Iterator[str]:
    body = '{"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}'
    headers = {"Content-Type": "application/json"}
    for via, url in (("guard", node.url), ("direct", node.admin_url())):
        session = requests.Session()
        session.trust_env = False
        n = 2_000
        start = time.perf_counter()
        for _ in range(n):
            session.post(url, data=body, headers=headers, timeout=10).raise_for_status()
        seconds = time.perf_counter() - start
        yield _figures().line(f"consortium.rpcguard.calls_per_s.{via}", n / seconds, "calls/s",
                           method="eth_blockNumber", calls=n,
                           ms_per_call=round(1000 * seconds / n, 3))  # fmt: skip


def bench_consortium() -> Iterator[str]:
    """Clique (4 geth signers) and anvil, side by side; the rpcguard's cost on anvil."""
    home = Path(tempfile.mkdtemp(prefix="fourflow-bench-consortium-"))
    _figures()._HOMES.append(home)
    keystore = FileKeyStore(home, "bench")
    keystore.create("operator")
    node = AnvilNode(home / "anvil-home")
    node.ensure_running()
    try:
        yield from _chain_figures("anvil", [node.url], keystore, home, 0)
        yield from _guard_overhead(node)
    finally:
        node.stop()
    try:
        geth = find_geth(os.environ.get("FOURFLOW_GETH_BIN") or None)
    except NodeBinaryMissingError as exc:
        print(f"consortium: Clique figures left out: {exc}", file=sys.stderr)
        return
    network = CliqueNetwork(home / "clique", geth=geth)
    network.create(NODE_NAMES, period=1)
    try:
        network.up()
        yield from _chain_figures("clique", network.urls(), keystore, home, CONFIRMATIONS)
    finally:
        network.down()
