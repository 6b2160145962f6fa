"""Large JSON-RPC batches on the real anvil node behind FourFlow's JSON-RPC guard.

Relaying a very large queue in one pass once got a 502 from the guard: anvil takes a request
body of at most 2 MiB (a larger one is answered ``Invalid request``; a far larger one it drops
mid-body, and the guard, still sending, answered 502), and the client sent a whole queue's calls
as one JSON-RPC batch. Now:

* the guard answers a body over the node's limit itself: HTTP 413 with a JSON-RPC error naming
  the size, the limit and the remedy (a body at the limit passes);
* the client sends a batch in parts of at most ``batch_calls`` calls (``Settings.
  chain_batch_calls``) and ``batch_bytes`` bytes, the answers in the calls' order; a single call
  over the node's limit is a clear ``NodeError``, not a failover;
* a queue whose transactions together are over the node's limit relays completely in one pass.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest
import requests

from fourflow.adapters.chain.client import ChainClient
from fourflow.adapters.chain.errors import NodeError
from fourflow.adapters.chain.node import AnvilNode
from fourflow.adapters.chain.rpcguard import NODE_MAX_BODY
from fourflow.bootstrap import Platform, Settings
from fourflow.services import commands as cmd
from fourflow.services import relay
from fourflow.services.ports import ChainOp, OpStatus

pytestmark = pytest.mark.chain

MIB = 1024 * 1024
#: Fingerprint registrations of one fingerprint repeated (the notary skips repeats: a large
#: transaction, cheap to mine), and batch anchors, all of the operator, queued at once.
LARGE_OPS, REPEATS, ANCHORS = 150, 250, 300


def _post(url: str, size: int) -> requests.Response:
    """A JSON-RPC batch of one ``eth_blockNumber`` padded with spaces to ``size`` bytes."""
    call = json.dumps([{"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}])
    body = (call[:-1] + " " * (size - len(call)) + "]").encode()
    assert len(body) == size
    return requests.post(url, data=body, headers={"Content-Type": "application/json"}, timeout=120)


def test_the_guard_answers_a_body_over_the_node_limit_with_a_clear_error(anvil: AnvilNode) -> None:
    assert NODE_MAX_BODY == 2 * MIB  # anvil's own limit
    at_limit = _post(anvil.url, NODE_MAX_BODY)
    assert at_limit.status_code == 200
    assert at_limit.json()[0]["result"].startswith("0x")
    for size in (NODE_MAX_BODY + 1, 16 * MIB):  # was: anvil's "Invalid request", then a 502
        over = _post(anvil.url, size)
        assert over.status_code == 413, (size, over.status_code, over.text[:200])
        error = over.json()["error"]
        assert error["code"] == -32600
        assert f"{size:,} bytes" in error["message"]
        assert "2,097,152" in error["message"] and "smaller" in error["message"]
    assert _post(anvil.url, 1000).status_code == 200  # the guard still answers


def test_a_batch_over_the_node_limit_is_sent_in_parts(anvil: AnvilNode) -> None:
    """20,000 receipt lookups are about 3 MB as one body: sent in parts, answered in order."""
    client = ChainClient(anvil.url, batch_calls=1000)
    unknown = [f"0x{n:064x}" for n in range(20_000)]
    calls = [("eth_getTransactionReceipt", [h]) for h in unknown]
    assert len(json.dumps([{"method": m, "params": p} for m, p in calls])) > 2 * MIB
    before = client.batch_requests
    assert client.batch(calls) == [None] * 20_000
    assert client.batch_requests - before == 20  # 1,000 calls a part (each part ~150 kB)
    mixed = [("eth_chainId", []), *calls[:3], ("eth_blockNumber", []), ("eth_chainId", [])]
    answers = client.batch(mixed)
    assert answers[0] == answers[5] == hex(client.chain_id) and answers[1:4] == [None] * 3
    assert int(answers[4], 16) >= 0


def test_parts_are_bounded_in_bytes_too(anvil: AnvilNode) -> None:
    """Calls of 200 kB each: at most ``batch_bytes`` a part, whatever ``batch_calls`` allows."""
    client = ChainClient(anvil.url, batch_calls=256, batch_bytes=MIB)
    nobody = "0x" + "00" * 19 + "01"
    calls = [
        ("eth_call", [{"to": nobody, "data": "0x" + secrets.token_hex(100_000)}, "latest"])
        for _ in range(30)
    ]  # 6 MB in all
    before = client.batch_requests
    assert client.batch(calls) == ["0x"] * 30
    assert client.batch_requests - before == 6  # 5 calls of ~200 kB a part, under 1 MiB
    alone = [("eth_call", [{"to": nobody, "data": "0x" + "ab" * (3 * MIB // 2)}, "latest"])]
    with pytest.raises(NodeError, match=r"larger than the node takes .*2,097,152"):
        client.batch(alone)  # one call over the node's own limit: a clear error
    assert client.failovers == 0


def test_a_queue_over_the_node_limit_relays_completely_in_one_pass(platform: Platform) -> None:
    """150 registrations of ~16 kB each (2.4 MB as one batch of transactions) and 300 anchors
    of the operator, queued at once: one relay pass applies every one, on the chain too."""
    operator = platform.operator_id()
    fingerprints = [secrets.token_hex(32) for _ in range(LARGE_OPS)]
    roots = [secrets.token_hex(32) for _ in range(ANCHORS)]
    tag = secrets.token_hex(4)
    ops = [
        ChainOp(f"op-fp-{tag}-{n}", cmd.RegisterFingerprints((fp,) * REPEATS), operator)
        for n, fp in enumerate(fingerprints)
    ] + [
        ChainOp(f"op-anchor-{tag}-{n}", cmd.AnchorBatch(f"batch-{tag}-{n}", root, 1), operator,
                subject_id=f"batch-{tag}-{n}")
        for n, root in enumerate(roots)
    ]  # fmt: skip
    with platform.uow_factory() as uow:
        for op in ops:
            uow.outbox.add(op)
        uow.commit()
    ledger = platform.require_contracts()
    calls = [("eth_sendRawTransaction", ["0x" + "00" * (REPEATS * 32 + 100)])] * LARGE_OPS
    assert len(json.dumps(calls)) > 2 * MIB  # the registrations alone: over anvil's limit
    result = relay.relay(uow_factory=platform.uow_factory, ledger=ledger)
    assert result.failed == ()
    assert (result.applied, result.recovered) == (LARGE_OPS + ANCHORS, 0)
    with platform.uow_factory() as uow:
        states = {op.op_id: uow.outbox.get(op.op_id) for op in ops}
    assert all(s is not None and s.status is OpStatus.DONE for s in states.values())
    operator_address = ledger.account(operator).address.lower()
    for fp in fingerprints:
        found = ledger.read("fingerprint", fp)
        assert found is not None and str(found).lower() == operator_address
    for n, root in enumerate(roots):
        anchor = ledger.read("anchor", f"batch-{tag}-{n}")
        assert anchor is not None and int(anchor["root"], 16) == int(root, 16), n


def test_the_batch_size_is_a_setting(tmp_path: Path, anvil: AnvilNode) -> None:
    env = {"FOURFLOW_HOME": str(tmp_path), "FOURFLOW_CHAIN_URL": anvil.url}
    assert Settings.from_env(env).chain_batch_calls == 256
    settings = Settings.from_env({**env, "FOURFLOW_CHAIN_BATCH_CALLS": "64"})
    assert settings.chain_batch_calls == 64
    with Platform(settings) as p:
        assert p.ledger.client.batch_calls == 64
    with pytest.raises(ValueError, match="FOURFLOW_CHAIN_BATCH_CALLS must be 1 or more"):
        ChainClient(anvil.url, batch_calls=0)
