"""A JSON-RPC guard in front of FourFlow's local anvil: only standard methods pass.

anvil has no switch to turn off its cheat methods (``anvil_impersonateAccount``,
``anvil_setBalance``, ``evm_setNextBlockTimestamp``, ``hardhat_*`` ...): any process that can
reach its port could act as any account. FourFlow's local node therefore listens on a port
known only to the platform (the *admin* URL, in ``node.json``), and everybody else talks to this
guard, which forwards ``eth_*``, ``net_*`` and ``web3_*`` methods and ``evm_mine`` without
parameters (mining now, which FourFlow's client uses; a timestamp would move the clock), and
answers every other method with a JSON-RPC error.

A request body over the node's own limit (anvil takes at most 2 MiB: ``NODE_MAX_BODY``,
``--max-body``) is answered by the guard itself, HTTP 413 with a JSON-RPC error naming the size,
the limit and the remedy (smaller batches: ``FOURFLOW_CHAIN_BATCH_CALLS``); forwarded, anvil
would answer ``Invalid request``, or drop the connection mid-body (a 502 here). A body up to
``DRAIN_MAX`` is read to its end first, so the client gets the answer on a clean connection.

Run as ``python -m fourflow.adapters.chain.rpcguard --upstream URL --tag TEXT``; it prints
``Listening on 127.0.0.1:<port>`` once ready. ``--tag`` only identifies the process (the node
puts its state path there).
"""

from __future__ import annotations

import argparse
import http.client
import json
import signal
import sys
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlparse

ALLOWED_PREFIXES = ("eth_", "net_", "web3_")
# Standard-looking names that are anvil cheats: they send as an account without its key.
REFUSED = frozenset({"eth_sendUnsignedTransaction", "eth_sendTransaction", "eth_sign"})
#: The largest request body anvil takes (bytes): a larger one is not forwarded.
NODE_MAX_BODY = 2 * 1024 * 1024
#: The largest refused body still read to its end before the answer (then the connection stays
#: usable); a larger one is answered at once and the connection closed.
DRAIN_MAX = 64 * 1024 * 1024
NOT_ALLOWED = -32601
INVALID_REQUEST = -32600


def too_large(size: int, limit: int) -> dict[str, Any]:
    """The JSON-RPC error answer to a request body over ``limit`` bytes."""
    return {
        "jsonrpc": "2.0",
        "id": None,
        "error": {
            "code": INVALID_REQUEST,
            "message": f"request body of {size:,} bytes is larger than the node takes "
            f"({limit:,} bytes): send smaller JSON-RPC batches "
            "(FOURFLOW_CHAIN_BATCH_CALLS)",
        },
    }


def allowed(call: Any) -> bool:
    """True when a JSON-RPC call object may be forwarded to the node."""
    if not isinstance(call, dict):
        return False
    method = call.get("method")
    if not isinstance(method, str) or method in REFUSED:
        return False
    if method == "evm_mine":
        return not call.get("params")
    return method.startswith(ALLOWED_PREFIXES)


def refusal(call: Any) -> dict[str, Any]:
    """The JSON-RPC error answer to a refused call."""
    method = call.get("method") if isinstance(call, dict) else None
    return {
        "jsonrpc": "2.0",
        "id": call.get("id") if isinstance(call, dict) else None,
        "error": {
            "code": NOT_ALLOWED,
            "message": f"method {method!r} is not allowed on FourFlow's node "
            "(only eth_*, net_*, web3_* and evm_mine without parameters)",
        },
    }


class _Upstream(threading.local):
    """One keep-alive HTTP connection to the node per server thread."""

    connection: http.client.HTTPConnection | None = None


class Guard(ThreadingHTTPServer):
    """The HTTP server: forwards allowed calls to ``upstream``."""

    daemon_threads = True

    def __init__(
        self, listen: tuple[str, int], upstream: str, max_body: int = NODE_MAX_BODY
    ) -> None:
        parsed = urlparse(upstream)
        self.max_body = max_body
        if parsed.hostname is None or parsed.port is None:
            raise ValueError(f"upstream {upstream!r} needs a host and a port")
        self.upstream_host = parsed.hostname
        self.upstream_port = parsed.port
        self.upstream_path = parsed.path or "/"
        self.local = _Upstream()
        super().__init__(listen, _Handler)

    def forward(self, body: bytes) -> bytes:
        """POST ``body`` to the node; its answer (one reconnect on a dropped connection)."""
        for attempt in range(2):
            connection = self.local.connection
            if connection is None:
                connection = http.client.HTTPConnection(
                    self.upstream_host, self.upstream_port, timeout=120
                )
                self.local.connection = connection
            try:
                connection.request(
                    "POST", self.upstream_path, body, {"Content-Type": "application/json"}
                )
                return connection.getresponse().read()
            except (OSError, http.client.HTTPException):
                connection.close()
                self.local.connection = None
                if attempt:
                    raise
        raise OSError("unreachable")  # pragma: no cover


class _Handler(BaseHTTPRequestHandler):
    server: Guard
    protocol_version = "HTTP/1.1"
    # The reply's headers and body are two writes: with Nagle's algorithm the body waits for
    # the client's delayed ACK of the headers (40 ms a call on Linux).
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the node log would grow with every request."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length <= 0:
            self._reply(400, b'{"error":"bad request size"}')
            return
        if length > self.server.max_body:
            self._drain(length)
            self._reply(413, json.dumps(too_large(length, self.server.max_body)).encode())
            return
        body = self.rfile.read(length)
        try:
            payload = json.loads(body)
        except ValueError:
            self._reply(200, json.dumps(_parse_error()).encode())
            return
        try:
            answer = self._answer(payload, body)
        except (OSError, http.client.HTTPException) as exc:
            self._reply(502, json.dumps({"error": f"node unreachable: {exc}"}).encode())
            return
        self._reply(200, answer)

    def _answer(self, payload: Any, body: bytes) -> bytes:
        if isinstance(payload, list):
            if all(allowed(c) for c in payload) and payload:
                return self.server.forward(body)
            return json.dumps(self._batch(payload)).encode()
        if allowed(payload):
            return self.server.forward(body)
        return json.dumps(refusal(payload)).encode()

    def _batch(self, calls: Sequence[Any]) -> list[Any]:
        """A batch with refused calls: forward the allowed ones, answer the rest in place."""
        passing = [c for c in calls if allowed(c)]
        answers: list[Any] = []
        if passing:
            answers = list(json.loads(self.server.forward(json.dumps(passing).encode())))
        by_position = iter(answers)
        return [next(by_position) if allowed(c) else refusal(c) for c in calls]

    def _drain(self, length: int) -> None:
        """Read and drop a refused body (up to ``DRAIN_MAX``; beyond, close after answering)."""
        if length > DRAIN_MAX:
            self.close_connection = True
            return
        left = length
        while left > 0:
            chunk = self.rfile.read(min(left, 1024 * 1024))
            if not chunk:
                self.close_connection = True
                return
            left -= len(chunk)

    def _reply(self, status: int, data: bytes) -> None:
        self.send_response(status)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _parse_error() -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}}


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(prog="fourflow-rpcguard")
    parser.add_argument("--upstream", required=True, help="the node's JSON-RPC URL")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--tag", default="", help="identifies this guard's node")
    parser.add_argument(
        "--max-body", type=int, default=NODE_MAX_BODY,
        help=f"the node's largest request body in bytes (default {NODE_MAX_BODY}, anvil's)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    server = Guard(("127.0.0.1", args.port), args.upstream, args.max_body)

    def _stop(signum: int, frame: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(f"Listening on 127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
