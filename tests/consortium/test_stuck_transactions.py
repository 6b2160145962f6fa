"""Issue 18 item 2, stuck transactions replaced: on a priced network a transaction left in
the pool below the price the blocks now need is signed again with the same nonce at a fee at
least 10 % higher, a bounded number of times, and its operation is applied once.

anvil with a base fee and manual mining: the Registry's ``admit`` is sent at the node's price,
then the next block's base fee jumps tenfold, so the pooled transaction cannot be mined.

go-ethereum v1.13.15 (Clique, London, base fee above 0): its signer takes only transactions
tipping at least its floor (``--miner.gasprice``, its own JSON-RPC's too: ``--txpool.nolocals``);
the ``admit`` is pooled at the node's price, then the signer raises its floor above it
(``miner_setGasPrice``), which drops it from the pool: sent again it is refused as underpriced."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_utils.crypto import keccak
from web3 import Web3

from fourflow.adapters.chain.abi import ContractAbi
from fourflow.adapters.chain.artifacts import load_artifact
from fourflow.adapters.chain.client import (
    MAX_REPLACEMENTS,
    CallRevertedError,
    ChainClient,
    RpcError,
    TxRequest,
)
from fourflow.adapters.chain.clique import CliqueNetwork, free_port
from fourflow.adapters.chain.node import _rpc, find_anvil
from fourflow.bootstrap import Settings
from tests.consortium.conftest import geth_or_skip

pytestmark = pytest.mark.chain

GWEI = 10**9
# anvil's first default account (its well-known development key, funded at genesis).
OWNER = Account.from_key("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")


@pytest.fixture
def priced_anvil(tmp_path: Path) -> Iterator[str]:
    """anvil on 127.0.0.1 with a 1 gwei base fee, mining only when asked (evm_mine)."""
    port = free_port()
    log = (tmp_path / "anvil.log").open("w")
    cmd = [str(find_anvil()), "--host", "127.0.0.1", "--port", str(port), "--chain-id", "31337",
           "--base-fee", str(GWEI), "--no-mining", "--hardfork", "paris"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while _rpc(url, "eth_chainId", []) is None:
            assert proc.poll() is None and time.monotonic() < deadline, "anvil did not start"
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def test_a_transaction_stuck_below_the_price_is_replaced_at_a_bumped_fee_and_applied_once(
    priced_anvil: str, tmp_path: Path
) -> None:
    client = ChainClient(priced_anvil, receipt_timeout=30)
    registry = load_artifact("Registry", Settings.from_env().artifacts_cache or tmp_path)
    abi = ContractAbi("Registry", registry.abi)
    price = client.gas_price()
    assert price >= GWEI  # a priced network: the client signs at the node's price
    deployed = client.send(OWNER, TxRequest(None, bytes.fromhex(registry.bytecode[2:]), 3_000_000))
    client.request("evm_mine")
    created = client.wait([deployed])[deployed].contract_address
    assert created
    address = Web3.to_checksum_address(created)

    op_id = keccak(text="admit-stuck-member")
    member = Account.create().address
    call = abi.encode_call("admit", (op_id, member, keccak(text="org-stuck"), 32))
    original = client.send(OWNER, TxRequest(address, call, 200_000))
    # The price the blocks need jumps tenfold before the transaction is mined.
    client.request("anvil_setNextBlockBaseFeePerGas", [hex(10 * price)])
    client.request("evm_mine")
    assert client.receipt(original) is None  # stuck below the base fee

    receipt = client.wait([original], timeout=30)[original]  # stalls, then replaces it
    assert receipt.status == 1 and receipt.tx_hash != original
    assert 1 <= client.replacements <= MAX_REPLACEMENTS
    mined = client.request("eth_getTransactionByHash", [receipt.tx_hash])
    assert int(mined["nonce"], 16) == 1  # the same nonce as the stuck one (0 was the deploy)
    assert int(mined["gasPrice"], 16) >= price * 110 // 100
    assert client.receipt(original) is None  # only one transaction of the nonce was mined
    assert client.pending_nonce(OWNER.address) == 2

    # Applied once: the op is recorded, one member admitted, the op id refused again.
    def view(function: str, *args: object) -> object:
        return abi.decode_result(function, client.call(address, abi.encode_call(function, args)))

    assert view("applied", op_id) is True and view("member_count") == 1
    with pytest.raises((CallRevertedError, RpcError), match="operation already applied"):
        client.estimate_gas(OWNER.address, TxRequest(address, call, 200_000))
    # Later transactions are signed at the price that works now.
    assert client.gas_price() > price


@pytest.fixture
def priced_clique(tmp_path: Path) -> Iterator[tuple[CliqueNetwork, Any]]:
    """One geth Clique signer on 127.0.0.1: base fee above 0, a 1 gwei tip floor, an account
    funded at genesis."""
    owner = Account.create()
    net = CliqueNetwork(tmp_path / "priced", geth=geth_or_skip())
    net.create(["Priced signer"], period=1, min_tip=GWEI, base_fee=10**6,
               alloc={owner.address: 10**21})  # fmt: skip
    try:
        net.up()
        yield net, owner
    finally:
        net.down()


def _until(what: str, done: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout:.0f} s"
        time.sleep(0.05)


def test_on_geth_a_transaction_dropped_below_the_signers_floor_is_replaced_and_applied_once(
    priced_clique: tuple[CliqueNetwork, Any], tmp_path: Path
) -> None:
    net, owner = priced_clique
    url = net.urls()[0]
    client = ChainClient(url, receipt_timeout=60)
    assert client.client_version().startswith("Geth/v1.13.15")
    registry = load_artifact("Registry", Settings.from_env().artifacts_cache or tmp_path)
    abi = ContractAbi("Registry", registry.abi)
    price = client.gas_price()
    assert price >= GWEI  # a priced network: the client signs at the node's price
    deployed = client.send(owner, TxRequest(None, bytes.fromhex(registry.bytecode[2:]), 3_000_000))
    created = client.wait([deployed])[deployed].contract_address
    assert created
    address = Web3.to_checksum_address(created)

    # The signer stops sealing, the admit waits in its pool at the node's price ...
    _rpc(url, "miner_stop", [])
    _until("the signer stopping", lambda: _rpc(url, "eth_mining", []) is False)
    op_id = keccak(text="admit-stuck-member-geth")
    call = abi.encode_call("admit", (op_id, Account.create().address, keccak(text="org"), 32))
    original = client.send(owner, TxRequest(address, call, 200_000))
    assert _rpc(url, "eth_getTransactionByHash", [original]) is not None  # pooled
    # ... and the signer raises its floor above that price: the pool drops it.
    assert _rpc(url, "miner_setGasPrice", [hex(price * 105 // 100)]) is True
    assert _rpc(url, "eth_getTransactionByHash", [original]) is None
    _rpc(url, "miner_start", [])

    receipt = client.wait([original], timeout=60)[original]  # stalls, refused, replaced
    assert receipt.status == 1 and receipt.tx_hash != original
    assert 1 <= client.replacements <= MAX_REPLACEMENTS
    mined = client.request("eth_getTransactionByHash", [receipt.tx_hash])
    assert int(mined["nonce"], 16) == 1  # the same nonce as the dropped one (0 was the deploy)
    assert int(mined["gasPrice"], 16) >= price * 110 // 100
    assert client.receipt(original) is None
    assert client.pending_nonce(owner.address) == 2

    def view(function: str, *args: object) -> object:
        return abi.decode_result(function, client.call(address, abi.encode_call(function, args)))

    assert view("applied", op_id) is True and view("member_count") == 1
    with pytest.raises((CallRevertedError, RpcError), match="operation already applied"):
        client.estimate_gas(owner.address, TxRequest(address, call, 200_000))
    assert client.gas_price() >= price * 110 // 100  # later transactions at the working price
