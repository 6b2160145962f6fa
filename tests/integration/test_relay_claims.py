"""One relay per sender at a time on PostgreSQL (issue 16, item 1): the relay claims each
sender's row with ``SELECT ... FOR UPDATE SKIP LOCKED``.

* a sender another relay holds is skipped (its ops stay queued) while the other senders' ops
  are applied; a waiting claim gets it once released;
* two relays in two threads, each with its own platform (its own ledger and nonce counts, as
  two worker processes), drain a queue of four senders: every op applied exactly once (one
  transaction each, applied on the chain), no refusal, each sender's transactions in queue
  order (nonces rise with the queue), and no sender held by both at once;
* an op of one sender that builds on an earlier open op of another waits for it
  (``relay.eligible``);
* SQLite has no claims (``Platform.relay_claims`` is None): its relay runs under the
  chain-writer lock, as before.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from fourflow.adapters.chain.node import AnvilNode
from fourflow.adapters.db.relay_claims import SenderClaims
from fourflow.bootstrap import Platform, Settings
from fourflow.domain.parties import Role
from fourflow.services import commands as cmd
from fourflow.services import onboarding, relay
from fourflow.services.demo import demo_uscc
from fourflow.services.ports import ChainOp, OpStatus
from tests.store.fixtures import pg_schema_url, require_postgres, sqlite_url

pytestmark = pytest.mark.chain

DRAIN_TIMEOUT_S = 240.0


@pytest.fixture
def pg_home(tmp_path: Path, anvil: AnvilNode) -> Iterator[Settings]:
    """Settings of an initialised platform on PostgreSQL (a schema of its own)."""
    with pg_schema_url(require_postgres()) as url:
        settings = Settings(
            home=tmp_path / "home", database_url=url, chain_url=anvil.url,
            keystore_password="claims-test",
        )  # fmt: skip
        with Platform(settings) as p:
            p.initialise()
        yield settings


def _onboard(p: Platform, count: int, tag: str) -> list[str]:
    """Onboard ``count`` banks (each queues its admission and its mint cap): their ids."""
    return [
        onboarding.onboard(
            uow_factory=p.uow_factory, keystore=p.keystore, name=f"Claims test bank {tag}{i}",
            uscc=demo_uscc("310000", f"MC{tag}{i:03d}"), roles=[Role.BANK],
        ).id
        for i in range(count)
    ]  # fmt: skip


def _queue_anchors(p: Platform, senders: list[str], per_sender: int, tag: str) -> list[str]:
    """Queue ``per_sender`` batch anchors of each sender, interleaved; their op ids."""
    ids: list[str] = []
    with p.uow_factory() as uow:
        for n in range(per_sender):
            for s, sender in enumerate(senders):
                batch = f"claims-{tag}-{s}-{n}"
                op = ChainOp(
                    op_id=f"op-{batch}", command=cmd.AnchorBatch(batch, secrets.token_hex(32), 1),
                    sender_org_id=sender, subject_id=batch,
                )  # fmt: skip
                uow.outbox.add(op)
                ids.append(op.op_id)
        uow.commit()
    return ids


class RecordingClaims:
    """Claims that note when each sender was held, by which thread."""

    def __init__(self, inner: relay.SenderClaims, log: list[tuple[str, str, float, float]]):
        self.inner, self.log = inner, log

    @contextmanager
    def claim(self, sender_org_id: str, *, wait: bool) -> Iterator[bool]:
        with self.inner.claim(sender_org_id, wait=wait) as got:
            start = time.monotonic()
            try:
                yield got
            finally:
                if got:
                    name = threading.current_thread().name
                    self.log.append((sender_org_id, name, start, time.monotonic()))


@pytest.mark.postgres
def test_relays_claim_senders_skip_locked_and_apply_each_op_once_in_order(
    pg_home: Settings,
) -> None:
    tag = uuid.uuid4().hex[:4].upper()
    with Platform(pg_home) as p:
        senders = _onboard(p, 4, tag)
        claims = p.relay_claims()
        assert claims is not None
        ledger = p.require_contracts()
        first = relay.relay(uow_factory=p.uow_factory, ledger=ledger, claims=claims)
        assert first.applied == 8 and first.failed == ()  # admissions and mint caps

        # A sender held elsewhere is skipped; the others' ops go.
        held_ops = _queue_anchors(p, senders, 2, tag + "A")
        with claims.claim(senders[0], wait=False) as got:
            assert got
            with p.relay_claims().claim(senders[0], wait=False) as again:  # type: ignore[union-attr]
                assert not again  # SKIP LOCKED: held by the claim above
            skipped = relay.relay(
                uow_factory=p.uow_factory, ledger=ledger, claims=claims, wait=False
            )
            assert skipped.applied == 6 and skipped.failed == ()
            with p.uow_factory() as uow:
                open_ops = {op.op_id for op in uow.outbox.pending(100)}
        assert open_ops == {op_id for op_id in held_ops if op_id.startswith(f"op-claims-{tag}A-0-")}
        rest = relay.relay(uow_factory=p.uow_factory, ledger=ledger, claims=claims, wait=True)
        assert rest.applied == 2 and rest.failed == ()

        queued = _queue_anchors(p, senders, 8, tag + "B")

    # Two relays, each with a platform of its own (as two worker processes), side by side.
    log: list[tuple[str, str, float, float]] = []
    errors: list[BaseException] = []
    applied: list[int] = []

    def work() -> None:
        try:
            with Platform(pg_home) as own:
                mine = RecordingClaims(own.relay_claims(), log)  # type: ignore[arg-type]
                deadline = time.monotonic() + DRAIN_TIMEOUT_S
                while time.monotonic() < deadline:
                    r = relay.relay(
                        uow_factory=own.uow_factory, ledger=own.require_contracts(),
                        claims=mine, wait=False,
                    )  # fmt: skip
                    assert r.failed == () and r.recovered == 0, r
                    applied.append(r.applied)
                    with own.uow_factory() as uow:
                        if not uow.outbox.pending(1):
                            return
                raise AssertionError(f"the queue did not drain within {DRAIN_TIMEOUT_S} s")
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=work, name=f"relay-{i}") for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(DRAIN_TIMEOUT_S + 60)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    assert sum(applied) == len(queued) == 32

    # No sender was held by both relays at once.
    for sender in senders:
        spans = sorted((a, b, who) for s, who, a, b in log if s == sender)
        for (_, end, who), (start, _, other) in itertools.pairwise(spans):
            assert who == other or end <= start, (sender, spans)

    with Platform(pg_home) as p:
        ledger = p.require_contracts()
        with p.uow_factory() as uow:
            done = [uow.outbox.get(op_id) for op_id in queued]
        assert all(op is not None and op.status is OpStatus.DONE for op in done)
        ops = [op for op in done if op is not None]
        assert len({op.tx_hash for op in ops}) == 32  # one transaction each
        assert all(ledger.is_applied(op) for op in ops)
        for sender in senders:
            mine = sorted(
                (op for op in ops if op.sender_org_id == sender), key=lambda o: o.seq or 0
            )
            nonces = [
                int(ledger.client.request("eth_getTransactionByHash", [op.tx_hash])["nonce"], 16)
                for op in mine
            ]
            assert nonces == sorted(nonces) and len(set(nonces)) == 8, (sender, nonces)


def test_an_op_waits_for_an_earlier_open_op_of_another_sender_it_builds_on() -> None:
    def op(op_id: str, sender: str, command: object, subject: str | None = None) -> ChainOp:
        return ChainOp(op_id=op_id, command=command, sender_org_id=sender, subject_id=subject)  # type: ignore[arg-type]

    issue = op("op-1", "seller", cmd.AnchorBatch("b-1", "ab" * 32, 1), "item-1")
    other = op("op-2", "debtor", cmd.AnchorBatch("b-2", "cd" * 32, 1), "b-2")
    builds = op("op-3", "debtor", cmd.AnchorBatch("b-3", "ef" * 32, 1), "item-1")
    after = op("op-4", "debtor", cmd.AnchorBatch("b-4", "12" * 32, 1), "b-4")
    pending = [issue, other, builds, after]
    # The debtor's own queue stops at the op on the seller's open item (and after it: order).
    assert [o.op_id for o in relay.eligible(pending, "debtor")] == ["op-2"]
    assert [o.op_id for o in relay.eligible(pending, "seller")] == ["op-1"]
    # An op naming another sender (a member admitted, tokens minted to it) comes first.
    mint = op("op-5", "bank", cmd.TokenMint("0x" + "11" * 20, 5, to_org_id="debtor"))
    assert relay.eligible([mint, other], "debtor") == []
    # An op on no particular record waits for every earlier op, and every later op for it.
    global_op = op("op-6", "operator", cmd.RegisterFingerprints(("aa" * 32,)))
    assert relay.eligible([other, global_op], "operator") == []
    assert relay.eligible([global_op, other], "debtor") == []


def test_sqlite_keeps_one_writer_without_claims(tmp_path: Path, anvil: AnvilNode) -> None:
    settings = Settings(
        home=tmp_path / "home", database_url=sqlite_url(tmp_path), chain_url=anvil.url,
        keystore_password="claims-test",
    )  # fmt: skip
    with Platform(settings) as p:
        assert p.relay_claims() is None
        with pytest.raises(ValueError, match="PostgreSQL"):
            SenderClaims(p.engine, holder="test")
