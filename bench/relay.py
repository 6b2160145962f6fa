"""Relay throughput on PostgreSQL with one and with two relays side by side (issue 16, item 1).

Four senders (banks) each queue batch anchors; then one relay, or two relays in two threads
(each with a platform of its own: its own ledger and nonce counts, as two worker processes),
drain the queue sender by sender under their row claims (``SKIP LOCKED``). The figure is the
operations applied per second, against the session's own anvil node.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg

from fourflow.adapters.chain.node import AnvilNode
from fourflow.bootstrap import Platform, Settings
from fourflow.domain.parties import Role
from fourflow.services import commands as cmd
from fourflow.services import onboarding, relay
from fourflow.services.demo import demo_uscc
from fourflow.services.ports import ChainOp

PG_URL = os.environ.get("FOURFLOW_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DATABASE = "bench_relay"
PASSWORD = "bench-relay"
SENDERS, OPS_PER_SENDER = 4, 40
DRAIN_TIMEOUT_S = 600.0
Line = Callable[..., str]


def _database_url() -> str:
    base = PG_URL.rsplit("/", 1)[0]
    with psycopg.connect(PG_URL.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DATABASE}")
    return f"{base}/{DATABASE}"


def _queue(p: Platform, senders: list[str], tag: str) -> int:
    with p.uow_factory() as uow:
        for n in range(OPS_PER_SENDER):
            for s, sender in enumerate(senders):
                batch = f"bench-relay-{tag}-{s}-{n}"
                uow.outbox.add(
                    ChainOp(f"op-{batch}", cmd.AnchorBatch(batch, secrets.token_hex(32), 1),
                            sender, subject_id=batch)
                )  # fmt: skip
        uow.commit()
    return OPS_PER_SENDER * len(senders)


def _drain(settings: Settings, relays: int) -> int:
    applied: list[int] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            with Platform(settings) as own:
                claims = own.relay_claims()
                deadline = time.monotonic() + DRAIN_TIMEOUT_S
                while time.monotonic() < deadline:
                    r = relay.relay(
                        uow_factory=own.uow_factory, ledger=own.require_contracts(),
                        claims=claims, wait=False,
                    )  # fmt: skip
                    if r.failed:
                        raise RuntimeError(f"refused: {r.failed[:3]}")
                    applied.append(r.applied)
                    with own.uow_factory() as uow:
                        if not uow.outbox.pending(1):
                            return
                raise RuntimeError(f"the queue did not drain in {DRAIN_TIMEOUT_S} s")
        except BaseException as exc:  # re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(relays)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(DRAIN_TIMEOUT_S + 60)
    if errors:
        raise errors[0]
    return sum(applied)


def bench_relay(line: Line) -> Iterator[str]:
    """Operations per second relayed by one relay and by two relays side by side."""
    home = Path(tempfile.mkdtemp(prefix="fourflow-bench-relay-"))
    node = AnvilNode(home)
    try:
        url = _database_url()
        chain = node.ensure_running()
        settings = Settings(home, url, chain, PASSWORD)
        with Platform(settings) as p:
            p.initialise()
            senders = [
                onboarding.onboard(
                    uow_factory=p.uow_factory, keystore=p.keystore, name=f"Relay bench bank {i}",
                    uscc=demo_uscc("310000", f"MARLY{i:04d}"), roles=[Role.BANK],
                ).id
                for i in range(SENDERS)
            ]  # fmt: skip
            relay.relay(uow_factory=p.uow_factory, ledger=p.require_contracts())
        for relays in (1, 2):
            with Platform(settings) as p:
                queued = _queue(p, senders, f"r{relays}")
            start = time.perf_counter()
            applied = _drain(settings, relays)
            seconds = time.perf_counter() - start
            if applied != queued:
                raise RuntimeError(f"{relays} relays applied {applied} of {queued} ops")
            yield line("relay.ops_per_s", queued / seconds, "ops/s", relays=relays,
                       senders=SENDERS, ops=queued, store="postgresql")  # fmt: skip
    finally:
        node.stop()
        shutil.rmtree(home, ignore_errors=True)
