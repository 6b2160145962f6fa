"""A JSON-RPC client for EVM nodes: local signing, per-sender nonces, receipts, reverts.

Works the same against anvil, a go-ethereum Clique network and a Besu/GoQuorum consortium: it
uses only standard ``eth_*`` methods, legacy (type 0) transactions and the node's own gas price
(0 on free-gas networks). One process should be the only sender for each key it holds; a nonce
clash with another sender is detected and resynchronised, not prevented.

On a consortium network (``url`` lists several nodes, comma-separated):

* **failover**: requests go to one healthy node; when it stops answering the client moves to
  the next one that answers, takes every sender's nonce again from that node's ``pending``
  count and gives it every transaction still unmined;
* **broadcast**: each signed transaction is sent to every node that answers (geth admits
  zero-price transactions from its own JSON-RPC only, and a node that dies with a transaction
  in its pool must not lose it);
* **confirmation depth**: with ``confirmations = N`` a transaction counts as mined only when
  its block is N blocks deep in the node's canonical chain (Clique has no finality). A
  transaction whose block left the canonical chain (a reorganisation) is sent again, with the
  same signed bytes, nonce and op id, and waited for anew; ``reorgs`` counts such returns.

On a priced network (gas price above 0), a transaction left in the pool below the price the
blocks now need (the base fee or the signers' minimum rose) is **replaced**: the same call
with the same nonce, signed again at a fee at least 10 % higher (and at least the node's
current ``eth_gasPrice``), at most ``MAX_REPLACEMENTS`` times. Only one transaction of a
nonce can be mined, so the operation is applied once; ``wait`` answers for the original hash
with whichever version was mined; ``replacements`` counts them.

A **nonce gap** holds back every later transaction of its sender on any node: a nonce taken and
never sent (a batch request that failed after the nonces were taken) or a transaction the node
dropped. A failed send gives the sender's nonce back to the node's count; and when the
transactions waited for stay stalled for ``GAP_STALLS`` nudges while the sender's mined count
is below the lowest nonce waited for, each missing nonce is sent again from its signed bytes
if the client holds them, else taken by a zero-value transfer to self; ``gaps_filled`` counts
the nonces so filled.
"""

from __future__ import annotations

import contextlib
import json
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
GAP_STALLS = 4  # nudges without progress before a sender's nonce gap is looked for
MAX_GAP_FILL = 256  # the most nonces one look fills per sender
#: Calls per JSON-RPC batch request (``Settings.chain_batch_calls``; Besu accepts 1024 by
#: default, geth 1000).
BATCH_CALLS = 256
#: Bytes per JSON-RPC batch request: half of anvil's body limit (2 MiB; geth's is 5 MB), so
#: that a large queue's batch goes in parts instead of being refused (``rpcguard``).
BATCH_BYTES = 1024 * 1024
_CALL_FRAME = 64  # bytes of a call's JSON besides its method and params ({"jsonrpc": ...})
FILLER_GAS = 21_000
MAX_REPLACEMENTS = 5  # fee bumps of one stuck transaction
PRICE_BUMP_PERCENT = 10  # geth's and Besu's minimum for replacing a pooled transaction
_ERROR_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)
_PANIC_SELECTOR = bytes.fromhex("4e487b71")  # Panic(uint256)
_NONCE_CLASH = ("nonce too low", "replacement transaction underpriced", "nonce has already")
_KNOWN_TX = ("already known", "known transaction", "already imported")
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
HEALTH_TIMEOUT = 3.0  # seconds for a health check or a broadcast to a secondary node
DOWN_FOR = 5.0  # seconds a node that failed is skipped before it is tried again


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
        block_hash: that block's hash (0x-hex; empty where the node gave none).
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
    block_hash: str = ""

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
            block_hash=str(raw.get("blockHash") or ""),
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

    def resync_all(self) -> None:
        """Forget every local count (after a failover: the new node's pool is the truth)."""
        with self._lock:
            self._next.clear()


def too_large(error: requests.HTTPError, calls: int) -> None:
    """Raise a clear ``NodeError`` when the node (or FourFlow's JSON-RPC guard) refused a
    request as too large (HTTP 413): a smaller request would pass, another node would not."""
    response = error.response
    if response is None or response.status_code != 413:
        return
    try:
        said = str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        said = response.text[:300]
    raise NodeError(f"a JSON-RPC request of {calls} call(s) is too large for the node: {said}")


def _session(url: str) -> requests.Session:
    session = requests.Session()
    # A loopback node must never be reached through a proxy from the environment.
    session.trust_env = urlparse(url).hostname not in _LOOPBACK
    return session


class ChainClient:
    """Standard Ethereum JSON-RPC over HTTP, with local signing and nonce management.

    Args:
        url: one node's JSON-RPC URL, or several separated by commas (failover, broadcast).
        receipt_timeout: seconds to wait for transactions to be mined (and confirmed).
        request_timeout: seconds for one JSON-RPC request to the active node.
        confirmations: blocks needed on top of a transaction's block (see the module).
        batch_calls: the most calls one JSON-RPC batch request carries (``batch`` sends
            more in several requests).
        batch_bytes: the most bytes (about) of one batch request; a single call larger than
            this goes alone.
    """

    def __init__(
        self,
        url: str,
        *,
        receipt_timeout: float = RECEIPT_TIMEOUT,
        request_timeout: float = REQUEST_TIMEOUT,
        confirmations: int = 0,
        batch_calls: int = BATCH_CALLS,
        batch_bytes: int = BATCH_BYTES,
    ) -> None:
        self.urls = [u.strip() for u in url.split(",") if u.strip()]
        if not self.urls:
            raise NodeError("no chain node URL given")
        if batch_calls < 1 or batch_bytes < 1:
            raise ValueError(
                f"chain client: a JSON-RPC batch needs room for at least one call "
                f"(batch_calls {batch_calls}, batch_bytes {batch_bytes}; "
                "FOURFLOW_CHAIN_BATCH_CALLS must be 1 or more)"
            )
        self.batch_calls = batch_calls
        self.batch_bytes = batch_bytes
        self.batch_requests = 0  # HTTP requests ``batch`` made (a batch may take several)
        self.receipt_timeout = receipt_timeout
        self.confirmations = confirmations
        self._w3s = [
            Web3(HTTPProvider(u, request_kwargs={"timeout": request_timeout}, session=_session(u)))
            for u in self.urls
        ]
        self._probes = [
            HTTPProvider(u, request_kwargs={"timeout": HEALTH_TIMEOUT}, session=_session(u))
            for u in self.urls
        ]
        self._active = 0
        self._down_until = [0.0] * len(self.urls)
        self._switch = threading.Lock()
        self.failovers = 0
        self.reorgs = 0
        self.replacements = 0
        self.price_reads_failed = 0  # stalls whose fee replacement was skipped: no gas price
        self.gaps_filled = 0  # missing nonces sent again or taken by a filler (see the module)
        self.nonces = NonceManager(self)
        self._chain_id: int | None = None
        self._gas_price: int | None = None
        self._anvil: bool | None = None
        self._unmined: dict[str, bytes] = {}  # signed bytes of sent transactions, by hash
        # What each transaction was signed from (to replace it at a higher fee), by hash.
        self._signed_from: dict[str, tuple[LocalAccount, TxRequest, int, int]] = {}
        self._versions: dict[str, list[str]] = {}  # original hash -> its replacements
        self._nonce_of: dict[str, tuple[LocalAccount, int]] = {}  # sender and nonce, by hash

    @property
    def url(self) -> str:
        """The URL of the node requests go to now."""
        return self.urls[self._active]

    @property
    def w3(self) -> Web3:
        """The web3 object of the active node."""
        return self._w3s[self._active]

    # ----------------------------------------------------------------- raw JSON-RPC

    def request(self, method: str, params: Sequence[Any] = ()) -> Any:
        """One JSON-RPC call; returns its result or raises ``RpcError``/``NodeError``.

        When the active node does not answer, fails over to the next that does and retries.
        """
        for _ in range(len(self.urls)):
            active = self._active
            try:
                response = self._w3s[active].provider.make_request(
                    method,  # type: ignore[arg-type]
                    list(params),
                )
            except requests.HTTPError as exc:
                too_large(exc, 1)
                self._fail_over(active, exc)
                continue
            except (requests.RequestException, OSError) as exc:
                self._fail_over(active, exc)
                continue
            if "error" in response:
                raise RpcError(method, response["error"])
            return response.get("result")
        raise NodeError(f"no chain node answers (tried {', '.join(self.urls)})")

    def batch(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """Several JSON-RPC calls, in as few HTTP requests as ``batch_calls`` and
        ``batch_bytes`` allow (one after another, in order); each result or its ``RpcError``."""
        out: list[Any] = []
        for part in self._parts(calls):
            out.extend(self._batch_request(part))
        return out

    def _parts(
        self, calls: Sequence[tuple[str, Sequence[Any]]]
    ) -> list[Sequence[tuple[str, Sequence[Any]]]]:
        """``calls`` cut into consecutive parts within ``batch_calls`` and ``batch_bytes``."""
        parts: list[Sequence[tuple[str, Sequence[Any]]]] = []
        start, size = 0, 0
        for index, (method, params) in enumerate(calls):
            length = _CALL_FRAME + len(method) + len(json.dumps(list(params)))
            if index > start and (
                index - start >= self.batch_calls or size + length > self.batch_bytes
            ):
                parts.append(calls[start:index])
                start, size = index, 0
            size += length
        if start < len(calls):
            parts.append(calls[start:])
        return parts

    def _batch_request(self, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
        """One HTTP request of ``calls``; each result or its ``RpcError``."""
        for _ in range(len(self.urls)):
            active = self._active
            try:
                self.batch_requests += 1
                responses = self._w3s[active].provider.make_batch_request(  # type: ignore[attr-defined]
                    [(method, list(params)) for method, params in calls]
                )
                break
            except requests.HTTPError as exc:
                too_large(exc, len(calls))
                self._fail_over(active, exc)
            except (requests.RequestException, OSError) as exc:
                self._fail_over(active, exc)
        else:
            raise NodeError(f"no chain node answers (tried {', '.join(self.urls)})")
        if not isinstance(responses, list):
            raise RpcError("batch", responses.get("error", {"message": str(responses)}))
        return [
            RpcError(method, r["error"]) if "error" in r else r.get("result")
            for (method, _), r in zip(calls, responses, strict=True)
        ]

    # ----------------------------------------------------------------- several nodes

    def _fail_over(self, failed: int, exc: BaseException) -> None:
        """The node at index ``failed`` did not answer: move to the next one that does."""
        with self._switch:
            if self._active != failed:  # another thread moved on already
                return
            self._down_until[failed] = time.monotonic() + DOWN_FOR
            for step in range(1, len(self.urls)):
                candidate = (failed + step) % len(self.urls)
                if self._healthy(candidate):
                    self._active = candidate
                    self.failovers += 1
                    break
            else:
                raise NodeError(f"chain node at {self.urls[failed]} is unreachable: {exc}")
        # The new node's pool is the truth for nonces; it gets every transaction not mined yet.
        self.nonces.resync_all()
        self._broadcast(list(self._unmined.values()), only=[self._active])

    def _healthy(self, index: int) -> bool:
        """True when node ``index`` answers ``eth_blockNumber`` within the health timeout."""
        try:
            answer = self._probes[index].make_request("eth_blockNumber", [])  # type: ignore[arg-type]
        except (requests.RequestException, OSError):
            self._down_until[index] = time.monotonic() + DOWN_FOR
            return False
        return "result" in answer

    def health(self) -> list[tuple[str, bool]]:
        """Each node's URL and whether it answers now."""
        return [(u, self._healthy(i)) for i, u in enumerate(self.urls)]

    def _broadcast(self, raws: Sequence[bytes], *, only: Sequence[int] | None = None) -> None:
        """Send signed transactions to the other nodes (or ``only`` these), ignoring errors."""
        if not raws:
            return
        targets = only if only is not None else range(len(self.urls))
        now = time.monotonic()
        for index in targets:
            if (only is None and index == self._active) or self._down_until[index] > now:
                continue
            calls = [("eth_sendRawTransaction", ["0x" + raw.hex()]) for raw in raws]
            for chunk in self._parts(calls):
                try:
                    part: Any = list(chunk)
                    self._probes[index].make_batch_request(part)
                except (requests.RequestException, OSError):
                    self._down_until[index] = time.monotonic() + DOWN_FOR
                    break

    # ----------------------------------------------------------------- node facts

    @property
    def chain_id(self) -> int:
        """The node's chain id (asked once)."""
        if self._chain_id is None:
            self._chain_id = int(self.request("eth_chainId"), 16)
        return self._chain_id

    def use_gas_price(self, price: int | None) -> None:
        """Sign with ``price`` (wei) instead of the node's suggestion; None asks the node.

        geth suggests 1 gwei even where blocks have base fee 0 and signers mine at price 0
        (FourFlow's Clique network): its free-gas setting is passed here.
        """
        self._gas_price = price

    def gas_price(self) -> int:
        """The price to sign with (asked once): 0 on a free-gas network, else the node's.

        A network whose blocks carry base fee 0 (Besu's ``zeroBaseFee``, FourFlow's Clique
        genesis) has free gas: its validators mine at price 0, while geth's ``eth_gasPrice``
        still suggests its 1 gwei floor, which accounts without ether could not pay.
        """
        if self._gas_price is None:
            head = self.request("eth_getBlockByNumber", ["latest", False])
            base_fee = head.get("baseFeePerGas") if isinstance(head, Mapping) else None
            if base_fee is not None and int(base_fee, 16) == 0:
                self._gas_price = 0
            else:
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

    def sign(
        self, account: LocalAccount, tx: TxRequest, nonce: int, price: int | None = None
    ) -> tuple[bytes, str]:
        """Sign a legacy transaction (at ``price``, default the gas price); return the raw
        bytes and the 0x-hex hash."""
        price = self.gas_price() if price is None else price
        fields: dict[str, Any] = {
            "nonce": nonce,
            "gasPrice": price,
            "gas": tx.gas,
            "value": 0,
            "data": tx.data,
            "chainId": self.chain_id,
        }
        if tx.to is not None:
            fields["to"] = tx.to
        signed = account.sign_transaction(fields)
        tx_hash = "0x" + bytes(signed.hash).hex()
        if price > 0:
            self._signed_from[tx_hash] = (account, tx, nonce, price)
        self._nonce_of[tx_hash] = (account, nonce)
        return bytes(signed.raw_transaction), tx_hash

    def send(self, account: LocalAccount, tx: TxRequest) -> str:
        """Sign with the next nonce and send; resynchronise and retry once on a nonce clash."""
        for attempt in range(2):
            nonce = self.nonces.take(account.address)
            raw, tx_hash = self.sign(account, tx, nonce)
            self._unmined[tx_hash] = raw
            try:
                self.request("eth_sendRawTransaction", ["0x" + raw.hex()])
                self._broadcast([raw])
                return tx_hash
            except RpcError as exc:
                if _is_known(exc):
                    self._broadcast([raw])
                    return tx_hash
                del self._unmined[tx_hash]
                self._nonce_of.pop(tx_hash, None)
                self.nonces.resync(account.address)
                if attempt == 0 and _is_nonce_clash(exc):
                    continue
                raise
            except BaseException:  # no answer: the node's count says whether it took the nonce
                self.nonces.resync(account.address)
                raise
        raise ChainError("unreachable")  # pragma: no cover

    def send_many(self, items: Sequence[tuple[LocalAccount, TxRequest]]) -> list[str | ChainError]:
        """Sign with consecutive nonces per sender and send in JSON-RPC batches, in order.

        Returns each transaction's hash, or the error that kept it off the node. A send that
        fails would leave a nonce gap holding back the sender's later transactions, so the
        gap is filled: the transaction is retried once, else a zero-value transfer to self
        takes its nonce.
        """
        signed: list[tuple[LocalAccount, TxRequest, int, bytes, str]] = []
        hashes: list[str | ChainError] = []
        try:
            for account, tx in items:
                nonce = self.nonces.take(account.address)
                signed.append((account, tx, nonce, *self.sign(account, tx, nonce)))
            self._send_signed(signed, hashes)
        except BaseException:
            # The nonces of what was not sent would be a gap: the node's count is the truth.
            for address in {account.address for account, _ in items}:
                self.nonces.resync(address)
            raise
        self._mine_now()
        return hashes

    def _send_signed(
        self,
        signed: Sequence[tuple[LocalAccount, TxRequest, int, bytes, str]],
        hashes: list[str | ChainError],
    ) -> None:
        """Send ``signed`` in JSON-RPC batches, appending each hash or error to ``hashes``."""
        for start in range(0, len(signed), self.batch_calls):
            chunk = signed[start : start + self.batch_calls]
            answers = self.batch(
                [("eth_sendRawTransaction", ["0x" + raw.hex()]) for *_, raw, _ in chunk]
            )
            for (account, tx, nonce, raw, tx_hash), answer in zip(chunk, answers, strict=True):
                self._unmined[tx_hash] = raw
                if isinstance(answer, RpcError) and not _is_known(answer):
                    del self._unmined[tx_hash]
                    self._nonce_of.pop(tx_hash, None)
                    hashes.append(self._recover(account, tx, nonce, raw, answer))
                else:
                    hashes.append(tx_hash)
            if len(self.urls) > 1:
                self._broadcast([raw for *_, raw, _ in chunk])

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
        raw, tx_hash = self.sign(account, TxRequest(account.address, b"", FILLER_GAS), nonce)
        self._signed_from.pop(tx_hash, None)
        self._nonce_of.pop(tx_hash, None)
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
        seen: dict[str, Receipt] = {}  # mined but not yet deep enough
        pause, progress, stalls = 0.005, time.monotonic(), 0
        while waiting:
            before = len(found)
            asked = [(h, v) for h in waiting for v in [h, *self._versions.get(h, ())]]
            calls: list[tuple[str, Sequence[Any]]] = [
                ("eth_getTransactionReceipt", [v]) for _, v in asked
            ]
            if self.confirmations:
                calls.append(("eth_blockNumber", []))
            answers = self.batch(calls)
            head = int(answers.pop(), 16) if self.confirmations else 0
            mined: dict[str, Any] = {}
            for (tx_hash, _), answer in zip(asked, answers, strict=True):
                if isinstance(answer, RpcError):
                    raise answer
                if answer or tx_hash not in mined:
                    mined[tx_hash] = answer  # one version of a nonce at most is mined
            for tx_hash, raw in mined.items():
                receipt = Receipt.from_rpc(raw) if raw else None
                earlier = seen.get(tx_hash)
                if earlier is not None and (
                    receipt is None or receipt.block_hash != earlier.block_hash
                ):
                    self._reorganised(tx_hash, earlier)
                    seen.pop(tx_hash)
                if receipt is None:
                    continue
                if not self.confirmations or head - receipt.block_number >= self.confirmations:
                    found[tx_hash] = receipt
                    self._forget(tx_hash)
                else:
                    seen[tx_hash] = receipt
            if len(found) > before:
                pause, progress, stalls = 0.005, time.monotonic(), 0
            waiting = [h for h in waiting if h not in found]
            if not waiting or time.monotonic() > deadline:
                break
            if time.monotonic() - progress > STALL * (1 + self.confirmations):
                stalled = [h for h in waiting if h not in seen]
                stalls += 1
                if stalls % GAP_STALLS == 0:
                    self._fill_gaps(stalled)
                self._nudge(stalled)
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
        latest = [(h, self._versions.get(h, [h])[-1]) for h in waiting]
        resent = [(h, self._unmined[v]) for h, v in latest if v in self._unmined]
        answers = self.batch([("eth_sendRawTransaction", ["0x" + r.hex()]) for _, r in resent])
        self._broadcast([raw for _, raw in resent])
        priced = [h for h, v in latest if v in self._signed_from]
        if priced:  # a priced transaction may sit below the price the blocks need now
            refused = {
                h for (h, _), a in zip(resent, answers, strict=True)
                if isinstance(a, RpcError) and not _is_known(a)
            }  # fmt: skip
            now = self._price_now()
            if now is not None:
                for original in priced:
                    self._replace(original, now, refused=original in refused)
        self._mine_now()

    def _fill_gaps(self, waiting: Sequence[str]) -> None:
        """Fill each sender's nonces between its mined count and the lowest nonce in
        ``waiting``: with the signed bytes this client holds for the nonce, else a filler.

        Only nonces below one this client is waiting for are touched, and a filler only takes a
        nonce at or above the node's ``pending`` count (which counts the pool's transactions
        that can be mined: anvil's and geth's stop at a gap), so a pooled transaction of another
        process, even one priced lower, is never replaced.
        """
        lowest: dict[str, tuple[LocalAccount, int]] = {}
        for h in waiting:
            known = self._nonce_of.get(self._versions.get(h, [h])[-1]) or self._nonce_of.get(h)
            if known is not None:
                account, nonce = known
                if account.address not in lowest or nonce < lowest[account.address][1]:
                    lowest[account.address] = (account, nonce)
        if not lowest:
            return
        counts = self.batch(
            [("eth_getTransactionCount", [a, tag]) for a in lowest for tag in ("latest", "pending")]
        )
        held: dict[tuple[str, int], bytes] = {}
        for tx_hash, signed in self._unmined.items():
            known = self._nonce_of.get(tx_hash)
            if known is not None:
                held[(known[0].address, known[1])] = signed
        for index, (address, (account, first)) in enumerate(lowest.items()):
            mined, pending = counts[2 * index], counts[2 * index + 1]
            if isinstance(mined, RpcError) or isinstance(pending, RpcError):
                continue
            start = int(mined, 16)
            for nonce in range(start, min(first, start + MAX_GAP_FILL)):
                raw = held.get((address, nonce))
                if raw is not None:
                    with contextlib.suppress(ChainError):
                        self.request("eth_sendRawTransaction", ["0x" + raw.hex()])
                elif nonce >= int(pending, 16):  # below: a transaction of the pool holds it
                    self._fill_gap(account, nonce)
                else:
                    continue
                self.gaps_filled += 1

    def why_unmined(self, tx_hash: str) -> str:
        """What the node says of a transaction still unmined: its nonce against its sender's
        mined and pending counts (a nonce above the mined count with nothing between is a gap),
        for the error that reports it; empty when the client does not know the transaction."""
        known = self._nonce_of.get(self._versions.get(tx_hash, [tx_hash])[-1])
        if known is None:
            return ""
        address, nonce = known[0].address, known[1]
        try:
            mined, pending = (
                int(answer, 16) if isinstance(answer, str) else -1
                for answer in self.batch(
                    [("eth_getTransactionCount", [address, tag]) for tag in ("latest", "pending")]
                )
            )
        except ChainError:
            return f"nonce {nonce} of {address}"
        return f"nonce {nonce} of {address}, whose mined count is {mined} and pending {pending}"

    def _price_now(self) -> int | None:
        """The node's gas price now; None when it does not answer (no replacement this stall:
        the transactions were sent again above, and the next stall asks again)."""
        try:
            return int(self.request("eth_gasPrice"), 16)
        except ChainError:
            self.price_reads_failed += 1
            return None

    def _replace(self, original: str, now: int, *, refused: bool) -> None:
        """A priced transaction still unmined below the node's price ``now`` (or refused when
        sent again): sign the same call with the same nonce at a fee ``PRICE_BUMP_PERCENT``
        higher (at least ``now``) and send it; at most ``MAX_REPLACEMENTS`` times each."""
        versions = self._versions.setdefault(original, [])
        current = versions[-1] if versions else original
        source = self._signed_from.get(current)
        if source is None or len(versions) >= MAX_REPLACEMENTS:
            return
        account, tx, nonce, price = source
        if price >= now and not refused:
            return  # priced right: it waits for a block, not for a fee
        bumped = max(-(-price * (100 + PRICE_BUMP_PERCENT) // 100), now)
        raw, tx_hash = self.sign(account, tx, nonce, bumped)
        try:
            self.request("eth_sendRawTransaction", ["0x" + raw.hex()])
        except RpcError as exc:
            self._signed_from.pop(tx_hash, None)
            if not _is_known(exc):
                return  # mined meanwhile (nonce too low), or still underpriced: next stall
        versions.append(tx_hash)
        self._unmined[tx_hash] = raw
        self._broadcast([raw])
        self.replacements += 1
        if self._gas_price is not None and bumped > self._gas_price:
            self._gas_price = bumped  # later transactions are signed at the price that works

    def _forget(self, original: str) -> None:
        """A transaction is done: drop its signed bytes and those of its replacements."""
        for h in [original, *self._versions.pop(original, ())]:
            self._unmined.pop(h, None)
            self._signed_from.pop(h, None)
            self._nonce_of.pop(h, None)

    def _reorganised(self, tx_hash: str, earlier: Receipt) -> None:
        """A transaction's block left the canonical chain: send the same bytes again.

        The signed bytes are kept until the transaction is confirmed; the node usually puts a
        reorganised transaction back in its pool itself, and sending it again is harmless.
        """
        self.reorgs += 1
        for version in [tx_hash, *self._versions.get(tx_hash, ())]:  # one of a nonce is mined
            raw = self._unmined.get(version)
            if raw is None:
                continue
            with contextlib.suppress(ChainError):
                self.request("eth_sendRawTransaction", ["0x" + raw.hex()])
            self._broadcast([raw])

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
