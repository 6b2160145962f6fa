"""`serve --workers N`'s listening address (server.SharedPort): each API process listens on a
socket of its own on the one port, and the kernel spreads connections over them (issue 16: a
burst on one shared accept queue went mostly to one process)."""

from __future__ import annotations

import errno
import io
import pickle
import selectors
import socket
import time
from multiprocessing.reduction import ForkingPickler

import pytest

from fourflow.entrypoints.api import server
from fourflow.entrypoints.api.server import (
    SharedPort,
    listening_address,
    reuseport_works,
    shared_port,
)


def _handed_over(held: socket.socket) -> socket.socket:
    """What an API process gets of ``held`` (uvicorn pickles its sockets to its processes)."""
    buffer = io.BytesIO()
    ForkingPickler(buffer, pickle.HIGHEST_PROTOCOL).dump(held)
    found = pickle.loads(buffer.getvalue())
    assert isinstance(found, socket.socket)
    return found


def test_each_process_gets_a_socket_of_its_own_on_the_held_port() -> None:
    with shared_port("127.0.0.1", 0) as held:
        port = held.getsockname()[1]
        assert port > 0
        first, second = _handed_over(held), _handed_over(held)
        with first, second:
            assert first.fileno() != held.fileno() and second.fileno() != first.fileno()
            assert first.getsockname() == second.getsockname() == ("127.0.0.1", port)
            assert first.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1
            assert first.get_inheritable()


def test_connections_are_spread_over_the_processes_sockets_each_accepted_once() -> None:
    connections = 64
    with shared_port("127.0.0.1", 0) as held:
        port = held.getsockname()[1]
        listeners = [_handed_over(held), _handed_over(held)]
        clients: list[socket.socket] = []
        accepted: dict[int, list[socket.socket]] = {0: [], 1: []}
        try:
            with selectors.DefaultSelector() as selector:
                for n, listener in enumerate(listeners):
                    listener.listen(connections)
                    listener.setblocking(False)
                    selector.register(listener, selectors.EVENT_READ, n)
                for _ in range(connections):
                    clients.append(socket.create_connection(("127.0.0.1", port), timeout=10))
                deadline = time.monotonic() + 30
                while sum(map(len, accepted.values())) < connections:
                    assert time.monotonic() < deadline, {n: len(a) for n, a in accepted.items()}
                    for key, _ in selector.select(timeout=1):
                        try:
                            conn, _ = key.fileobj.accept()  # type: ignore[union-attr]
                        except BlockingIOError:
                            continue
                        accepted[key.data].append(conn)
            # each connection once, and both processes' sockets took some (all 64 on one
            # of two sockets hashed at random: 2 in 2**64)
            peers = sorted(c.getpeername() for a in accepted.values() for c in a)
            assert peers == sorted(c.getsockname() for c in clients)
            assert accepted[0] and accepted[1], {n: len(a) for n, a in accepted.items()}
        finally:
            for c in [*clients, *listeners, *(c for a in accepted.values() for c in a)]:
                c.close()


def test_the_held_socket_itself_takes_no_connection() -> None:
    """Bound to keep the port, never listening: a connection to the port while no process
    listens is refused, not queued where no one accepts it."""
    with shared_port("127.0.0.1", 0) as held:
        port = held.getsockname()[1]
        try:
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        except ConnectionRefusedError:
            return
        raise AssertionError("a connection was queued on the held, not listening, socket")


def test_a_port_another_process_listens_on_is_refused() -> None:
    """SO_REUSEPORT would let a second serve (or one started while a killed serve's API
    processes still listen) bind beside them and take half their connections: refused."""
    with shared_port("127.0.0.1", 0) as held:
        port = held.getsockname()[1]
        with _handed_over(held) as listening:
            listening.listen(8)
            try:
                shared_port("127.0.0.1", port).close()
            except OSError as error:
                assert error.errno == errno.EADDRINUSE
            else:
                raise AssertionError("a second serve bound the port its processes listen on")
        with shared_port("127.0.0.1", port):  # free again once no one listens
            pass


def test_without_so_reuseport_the_processes_share_one_listening_socket(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A host without SO_REUSEPORT (or a sandbox refusing it) still serves with --workers:
    one socket, as uvicorn hands it, every process accepting from its one queue."""
    warned: list[str] = []

    class _Log:  # the start's warning, kept (not printed to a stream another test may close)
        def warning(self, event: str, **_: object) -> None:
            warned.append(event)

    monkeypatch.setattr(server, "log", _Log())
    monkeypatch.delattr(socket, "SO_REUSEPORT")
    assert not reuseport_works()
    with listening_address("127.0.0.1", 0) as held:
        assert not isinstance(held, SharedPort)
        assert warned == [
            "SO_REUSEPORT is not available here: the API processes share one accept queue"
        ]
        port = held.getsockname()[1]
        held.listen(8)
        with _handed_over(held) as copy, socket.create_connection(("127.0.0.1", port), 10):
            copy.settimeout(10)
            conn, _ = copy.accept()  # the process's copy accepts from the one queue
            conn.close()
        with pytest.raises(OSError) as refused:  # a port in use is still refused
            listening_address("127.0.0.1", port).close()
        assert refused.value.errno == errno.EADDRINUSE


def test_a_refused_option_counts_as_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: socket.socket, *args: object) -> None:
        raise OSError(errno.ENOPROTOOPT, "Protocol not available")

    assert reuseport_works()  # this host has it (the tests above rely on it)
    monkeypatch.setattr(socket.socket, "setsockopt", refuse)
    assert not reuseport_works()


def test_with_so_reuseport_the_address_is_the_shared_port() -> None:
    with listening_address("127.0.0.1", 0) as held:
        assert isinstance(held, SharedPort)
