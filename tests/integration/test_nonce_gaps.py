"""A sender's nonce gap on the real anvil node: healed, never waited out.

A CI run once failed with 64 of 77 pipelined operations "not mined within 62 s", and the same
operations again in the next relay: every later transaction of a sender waits behind a nonce the
node never got. Two ways there: a batch request that fails after the nonces were taken (the
client counted them as used), and a nonce lost some other way (a node that dropped the
transaction). Now a failed send gives the nonces back to the node's count, and a stalled wait
fills the missing nonces of the senders it waits for.
"""

from __future__ import annotations

import pytest
from eth_account import Account

from fourflow.adapters.chain.client import FILLER_GAS, ChainClient, TxRequest
from fourflow.adapters.chain.errors import NodeError
from fourflow.adapters.chain.node import AnvilNode

pytestmark = pytest.mark.chain


def _transfers(account: object, count: int) -> list[tuple[object, TxRequest]]:
    address = account.address  # type: ignore[attr-defined]
    return [(account, TxRequest(address, b"", FILLER_GAS)) for _ in range(count)]


def _mined_count(client: ChainClient, address: str) -> int:
    return int(client.request("eth_getTransactionCount", [address, "latest"]), 16)


def test_a_nonce_taken_and_never_sent_is_filled_and_the_later_ones_are_mined(
    anvil: AnvilNode,
) -> None:
    client = ChainClient(anvil.url, receipt_timeout=60)
    account = Account.create()
    first = client.send_many(_transfers(account, 1))  # type: ignore[arg-type]
    client.wait([str(first[0])])
    lost = client.nonces.take(account.address)  # taken, never sent: a gap
    assert lost == 1
    hashes = client.send_many(_transfers(account, 3))  # type: ignore[arg-type]
    assert all(isinstance(h, str) for h in hashes)
    assert client.why_unmined(str(hashes[0])) == (
        f"nonce 2 of {account.address}, whose mined count is 1 and pending 1"
    )
    receipts = client.wait([str(h) for h in hashes])  # was: ChainTimeoutError after 60 s
    assert {r.status for r in receipts.values()} == {1}
    assert client.gaps_filled == 1
    assert _mined_count(client, account.address) == 5  # 1 + the filler + 3


def test_a_send_that_fails_gives_the_nonces_back(
    anvil: AnvilNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = ChainClient(anvil.url, receipt_timeout=60)
    account = Account.create()
    real = client._batch_request

    def down(calls: object) -> list[object]:
        raise NodeError("chain node at 127.0.0.1 is unreachable: connection refused")

    monkeypatch.setattr(client, "_batch_request", down)
    with pytest.raises(NodeError):
        client.send_many(_transfers(account, 4))  # type: ignore[arg-type]
    monkeypatch.setattr(client, "_batch_request", real)
    hashes = client.send_many(_transfers(account, 2))  # type: ignore[arg-type]
    receipts = client.wait([str(h) for h in hashes])
    assert {r.status for r in receipts.values()} == {1}
    assert client.gaps_filled == 0  # no gap was left to fill
    assert _mined_count(client, account.address) == 2
