"""A JSON-RPC client for one EVM node: local signing, per-sender nonces, receipts, reverts.

Works the same against anvil and a Besu/GoQuorum consortium node: it uses only standard
``eth_*`` methods, legacy (type 0) transactions and the node's own gas price (0 on free-gas
networks). One process should be the only sender for each key it holds; a nonce clash with
another sender is detected and resynchronised, not prevented.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import requests
from eth_abi.abi import decode
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from web3 import HTTPProvider, Web3

from fourflow.adapters.chain.errors import ChainError, ChainTimeoutError, NodeError

RECEIPT_TIMEOUT = 60.0
REQUEST_TIMEOUT = 30.0
STALL = 1.0  # seconds without a new receipt before stalled transactions are nudged
SEND_BATCH = 256  # transactions per JSON-RPC batch (Besu accepts 1024 by default)
FILLER_GAS = 21_000
_ERROR_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)
_PANIC_SELECTOR = bytes.fromhex("4e487b71")  # Panic(uint256)
_NONCE_CLASH = ("nonce too low", "replacement transaction underpriced", "nonce has already")
_KNOWN_TX = ("already known", "known transaction", "already imported")
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class RpcError(ChainError):
    """The node answered a JSON-RPC request with an error object."""

    def __init__(self, method: str, error: Mapping[str, Any]) -> None:
        self.code = int(error.get("code", 0))
        self.message = str(error.get("message", ""))
        self.data = error.get("data")
        super().__init__(f"{method}: {self.message} (code {self.code})")


class CallRevertedError(ChainError):
    """A contract call or transaction reverted; ``reason`` is the decoded message."""

    def __init__(self, reason: str, tx_hash: str | None = None) -> None:
        super().__init__(f"reverted: {reason}")
        self.reason = reason
        self.tx_hash = tx_hash


@dataclass(frozen=True, slots=True)
class TxRequest:
    """A transaction to sign: target (None to deploy), calldata and gas limit."""

    to: str | None
    data: bytes
    gas: int


@dataclass(frozen=True, slots=True)
class Receipt:
    """The parts of a transaction receipt FourFlow uses.

    Attributes:
        tx_hash: 0x-hex transaction hash.
        block_number: block it was mined in.
        status: 1 success, 0 reverted.
        contract_address: the created contract, for deployments.
        gas_used: gas the transaction used.
        logs: raw JSON-RPC log objects.
    """

    tx_hash: str
    block_number: int
    status: int
    contract_address: str | None
    gas_used: int
    logs: tuple[Mapping[str, Any], ...]

    @classmethod
    def from_rpc(cls, raw: Mapping[str, Any]) -> Receipt:
        """Build from an ``eth_getTransactionReceipt`` result."""
        return cls(
            tx_hash=str(raw["transactionHash"]),
            block_number=int(raw["blockNumber"], 16),
            status=int(raw.get("status", "0x1"), 16),
            contract_address=raw.get("contractAddress"),
            gas_used=int(raw.get("gasUsed", "0x0"), 16),
            logs=tuple(raw.get("logs", ())),
        )


class NonceManager:
    """Next nonce per sender: the node's ``pending`` count once, then counted locally."""

    def __init__(self, client: ChainClient) -> None:
        self._client = client
        self._next: dict[str, int] = {}
        self._lock = threading.Lock()

    def take(self, address: str) -> int:
        """Reserve and return the next nonce of ``address``."""
        with self._lock:
            if address not in self._next:
                self._next[address] = self._client.pending_nonce(address)
            nonce = self._next[address]
            self._next[address] = nonce + 1
            return nonce

    def resync(self, address: str) -> None:
        """Forget the local count of ``address``; the next ``take`` asks the node again."""
        with self._lock:
            self._next.pop(address, None)


class ChainClient:
    """Standard Ethereum JSON-RPC over HTTP, with local signing and nonce management."""

    def __init__(
        self,
        url: str,
        *,
        receipt_timeout: float = RECEIPT_TIMEOUT,
        request_timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        self.url = url
        self.receipt_timeout = receipt_timeout
        session = requests.Session()
        # A loopback node must never be reached through a proxy from the environment.
        session.trust_env = urlparse(url).hostname not in _LOOPBACK
        self.w3 = Web3(
            HTTPProvider(url, request_kwargs={"timeout": request_timeout}, session=session)
        )
        self.nonces = NonceManager(self)
        self._chain_id: int | None = None
        self._gas_price: int | None = None
        self._anvil: bool | None = None
        self._unmined: dict[str, bytes] = {}  # signed bytes of sent transactions, by hash

    # ----------------------------------------------------------------- raw JSON-RPC

    def request(self, method: str, params: Sequence[Any] = ()) -> Any:
        """One JSON-RPC call; returns its result or raises ``RpcError``/``NodeError``."""
        try:
            response = self.w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
        except (requests.RequestException, OSError) as exc:
            raise NodeError(f"chain node at {self.url} is unreachable: {exc}") from exc
        if "error" in response:
            raise RpcError(method, response["error"])
        return response.get("result")

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """Several JSON-RPC calls in one HTTP request; each result or its ``RpcError``."""
        if not calls:
            return []
        try:
            responses = self.w3.provider.make_batch_request(  # type: ignore[attr-defined]
                [(method, list(params)) for method, params in calls]
            )
        except (requests.RequestException, OSError) as exc:
            raise NodeError(f"chain node at {self.url} is unreachable: {exc}") from exc
        if not isinstance(responses, list):
            raise RpcError("batch", responses.get("error", {"message": str(responses)}))
        return [
            RpcError(method, r["error"]) if "error" in r else r.get("result")
            for (method, _), r in zip(calls, responses, strict=True)
        ]

    # ----------------------------------------------------------------- node facts

    @property
    def chain_id(self) -> int:
        """The node's chain id (asked once)."""
        if self._chain_id is None:
            self._chain_id = int(self.request("eth_chainId"), 16)
        return self._chain_id

    def gas_price(self) -> int:
        """The node's gas price (asked once; 0 on a free-gas consortium network)."""
        if self._gas_price is None:
            self._gas_price = int(self.request("eth_gasPrice"), 16)
        return self._gas_price

    def block_number(self) -> int:
        """The latest block number."""
        return int(self.request("eth_blockNumber"), 16)

    def client_version(self) -> str:
        """The node software's version string."""
        return str(self.request("web3_clientVersion"))

    def pending_nonce(self, address: str) -> int:
        """The count of ``address``'s transactions including those pending."""
        return int(self.request("eth_getTransactionCount", [address, "pending"]), 16)

    # ----------------------------------------------------------------- reads

    def call(
        self, to: str, data: bytes, *, sender: str | None = None, block: Any = "latest"
    ) -> bytes:
        """``eth_call``; raises ``CallRevertedError`` with the decoded reason on revert."""
        tx: dict[str, Any] = {"to": to, "data": "0x" + data.hex()}
        if sender is not None:
            tx["from"] = sender
        try:
            result = self.request("eth_call", [tx, block])
        except RpcError as exc:
            raise CallRevertedError(revert_reason(exc)) from exc
        return bytes.fromhex(str(result)[2:])

    def call_many(self, calls: Sequence[tuple[str, bytes]]) -> list[bytes]:
        """Several ``eth_call``s at ``latest`` in one HTTP request."""
        results = self.batch(
            [("eth_call", [{"to": to, "data": "0x" + data.hex()}, "latest"]) for to, data in calls]
        )
        out = []
        for result in results:
            if isinstance(result, RpcError):
                raise CallRevertedError(revert_reason(result)) from result
            out.append(bytes.fromhex(str(result)[2:]))
        return out

    def estimate_gas(self, sender: str, tx: TxRequest) -> int:
        """``eth_estimateGas``; raises ``CallRevertedError`` when the transaction would revert."""
        body: dict[str, Any] = {"from": sender, "data": "0x" + tx.data.hex()}
        if tx.to is not None:
            body["to"] = tx.to
        try:
            return int(self.request("eth_estimateGas", [body]), 16)
        except RpcError as exc:
            raise CallRevertedError(revert_reason(exc)) from exc

    def logs(self, address: str, topics: Sequence[bytes | None], from_block: int = 0) -> list[Any]:
        """``eth_getLogs`` of one contract, filtered by topics, from ``from_block`` on."""
        query = {
            "address": address,
            "fromBlock": hex(from_block),
            "toBlock": "latest",
            "topics": [None if t is None else "0x" + t.hex() for t in topics],
        }
        return list(self.request("eth_getLogs", [query]))

    def receipt(self, tx_hash: str) -> Receipt | None:
        """The receipt of a mined transaction, or None while it is pending."""
        raw = self.request("eth_getTransactionReceipt", [tx_hash])
        return Receipt.from_rpc(raw) if raw else None

    # ----------------------------------------------------------------- writes

    def sign(self, account: LocalAccount, tx: TxRequest, nonce: int) -> tuple[bytes, str]:
        """Sign a legacy transaction; return the raw bytes and the 0x-hex hash."""
        fields: dict[str, Any] = {
            "nonce": nonce,
            "gasPrice": self.gas_price(),
            "gas": tx.gas,
            "value": 0,
            "data": tx.data,
            "chainId": self.chain_id,
        }
        if tx.to is not None:
            fields["to"] = tx.to
        signed = account.sign_transaction(fields)
        return bytes(signed.raw_transaction), "0x" + bytes(signed.hash).hex()

    def send(self, account: LocalAccount, tx: TxRequest) -> str:
        """Sign with the next nonce and send; resynchronise and retry once on a nonce clash."""
        for attempt in range(2):
            nonce = self.nonces.take(account.address)
            raw, tx_hash = self.sign(account, tx, nonce)
            self._unmined[tx_hash] = raw
            try:
                self.request("eth_sendRawTransaction", ["0x" + raw.hex()])
                return tx_hash
            except RpcError as exc:
                if _is_known(exc):
                    return tx_hash
                del self._unmined[tx_hash]
                self.nonces.resync(account.address)
                if attempt == 0 and _is_nonce_clash(exc):
                    continue
                raise
        raise ChainError("unreachable")  # pragma: no cover

    def send_many(self, items: Sequence[tuple[LocalAccount, TxRequest]]) -> list[str | ChainError]:
        """Sign with consecutive nonces per sender and send in JSON-RPC batches, in order.

        Returns each transaction's hash, or the error that kept it off the node. A send that
        fails would leave a nonce gap holding back the sender's later transactions, so the
        gap is filled: the transaction is retried once, else a zero-value transfer to self
        takes its nonce.
        """
        signed = []
        for account, tx in items:
            nonce = self.nonces.take(account.address)
            signed.append((account, tx, nonce, *self.sign(account, tx, nonce)))
        hashes: list[str | ChainError] = []
        for start in range(0, len(signed), SEND_BATCH):
            chunk = signed[start : start + SEND_BATCH]
            answers = self.batch(
                [("eth_sendRawTransaction", ["0x" + raw.hex()]) for *_, raw, _ in chunk]
            )
            for (account, tx, nonce, raw, tx_hash), answer in zip(chunk, answers, strict=True):
                self._unmined[tx_hash] = raw
                if isinstance(answer, RpcError) and not _is_known(answer):
                    del self._unmined[tx_hash]
                    hashes.append(self._recover(account, tx, nonce, raw, answer))
                else:
                    hashes.append(tx_hash)
        self._mine_now()
        return hashes

    def _recover(
        self, account: LocalAccount, tx: TxRequest, nonce: int, raw: bytes, error: RpcError
    ) -> str | ChainError:
        """After a failed batched send: resend, or fill the nonce gap and report the error."""
        if _is_nonce_clash(error):  # another sender used the nonce: no gap, send anew
            self.nonces.resync(account.address)
            try:
                return self.send(account, tx)
            except ChainError as exc:
                return exc
        tx_hash = "0x" + bytes(keccak(raw)).hex()
        try:
            self.request("eth_sendRawTransaction", ["0x" + raw.hex()])
        except RpcError as again:
            if not _is_known(again):
                self._fill_gap(account, nonce)
                return again
        self._unmined[tx_hash] = raw
        return tx_hash

    def _fill_gap(self, account: LocalAccount, nonce: int) -> None:
        """Use ``nonce`` with a zero-value transfer to self so later nonces can be mined."""
        raw, _ = self.sign(account, TxRequest(account.address, b"", FILLER_GAS), nonce)
        try:
            self.request("eth_sendRawTransaction", ["0x" + raw.hex()])
        except RpcError:
            self.nonces.resync(account.address)

    def wait(
        self, tx_hashes: Sequence[str], timeout: float | None = None, *, partial: bool = False
    ) -> dict[str, Receipt]:
        """Receipts of ``tx_hashes``, polling in batches.

        When some are not mined within ``timeout``: ``ChainTimeoutError``, or with
        ``partial=True`` the receipts found so far.
        """
        deadline = time.monotonic() + (timeout or self.receipt_timeout)
        waiting = list(dict.fromkeys(tx_hashes))
        found: dict[str, Receipt] = {}
        pause, progress = 0.005, time.monotonic()
        while waiting:
            before = len(found)
            results = self.batch([("eth_getTransactionReceipt", [h]) for h in waiting])
            for tx_hash, raw in zip(waiting, results, strict=True):
                if isinstance(raw, RpcError):
                    raise raw
                if raw:
                    found[tx_hash] = Receipt.from_rpc(raw)
                    self._unmined.pop(tx_hash, None)
            if len(found) > before:
                pause, progress = 0.005, time.monotonic()
            waiting = [h for h in waiting if h not in found]
            if not waiting or time.monotonic() > deadline:
                break
            if time.monotonic() - progress > STALL:
                self._nudge(waiting)
                progress = time.monotonic()
            time.sleep(pause)
            pause = min(pause * 2, 0.25)
        if waiting and not partial:
            raise ChainTimeoutError(f"{len(waiting)} transactions not mined in time")
        return found

    def _nudge(self, waiting: Sequence[str]) -> None:
        """Get stalled transactions mined: broadcast them again and, on anvil, mine a block.

        A node may drop pool transactions (eviction, restart); and anvil's automine can miss
        transactions that arrive in one concurrent JSON-RPC batch, leaving them ready but
        unmined. Re-sending the same signed bytes is harmless (same hash).
        """
        raws = [self._unmined[h] for h in waiting if h in self._unmined]
        self.batch([("eth_sendRawTransaction", ["0x" + raw.hex()]) for raw in raws])
        self._mine_now()

    def _mine_now(self) -> None:
        """On anvil, mine every ready transaction in one block now.

        anvil's automine reacts to each arriving transaction; a JSON-RPC batch of them is
        handled concurrently and then mined in a trickle of small (or empty) blocks, or left
        ready but unmined. A consortium node mines on its own schedule and is left alone.
        """
        if self.is_anvil():
            with contextlib.suppress(ChainError):
                self.request("evm_mine")

    def is_anvil(self) -> bool:
        """True when the node is anvil (asked once)."""
        if self._anvil is None:
            self._anvil = self.client_version().lower().startswith("anvil")
        return self._anvil

    def failure_reason(self, sender: str, tx: TxRequest, receipt: Receipt) -> str:
        """Why a mined transaction reverted, replayed with ``eth_call``.

        Replayed first on the state after its block (which holds the transactions before it
        in the block, as pipelined operations need), then on the state before the block.
        """
        if receipt.gas_used >= tx.gas:
            return f"out of gas (limit {tx.gas})"
        if tx.to is None:
            return "deployment reverted"
        for block in (receipt.block_number, max(receipt.block_number - 1, 0)):
            try:
                self.call(tx.to, tx.data, sender=sender, block=hex(block))
            except CallRevertedError as exc:
                return exc.reason
            except ChainError:
                break
        return "reverted (no reason given)"


def _is_known(error: RpcError) -> bool:
    """True when the node already has this very transaction."""
    text = error.message.lower().replace("_", " ")
    return any(k in text for k in _KNOWN_TX)


def _is_nonce_clash(error: RpcError) -> bool:
    """True when the nonce was already used (by this process earlier or by another)."""
    text = error.message.lower().replace("_", " ")
    return any(k in text for k in _NONCE_CLASH)


def revert_reason(error: RpcError) -> str:
    """The contract's revert message from a JSON-RPC error (``data`` or the message)."""
    data = error.data
    if isinstance(data, Mapping):
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x"):
        decoded = decode_revert_data(bytes.fromhex(data[2:]))
        if decoded:
            return decoded
    message = error.message
    for prefix in ("execution reverted: ", "Execution reverted: ", "execution reverted"):
        if message.startswith(prefix):
            return message[len(prefix) :] or "reverted (no reason given)"
    return message


def decode_revert_data(data: bytes) -> str | None:
    """Decode ``Error(string)`` or ``Panic(uint256)`` revert data; None for anything else."""
    try:
        if data[:4] == _ERROR_SELECTOR:
            return str(decode(["string"], data[4:])[0])
        if data[:4] == _PANIC_SELECTOR:
            return f"panic 0x{decode(['uint256'], data[4:])[0]:02x}"
    except Exception:  # malformed revert data: fall back to the node's message
        return None
    return None
