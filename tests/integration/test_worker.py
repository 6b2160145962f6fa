"""`fourflow worker` (issues 16 and 20): the relay and the scheduled jobs outside requests.

* documents an ingest left unanchored are batched and anchored by a pass;
* on SQLite with the managed local node, an operation a service queued is applied by
  `worker --once`, and settle-due runs in that pass once for the chain's day;
* an item due on a locked token route is collected by a worker pass on its maturity day; a
  second pass that day pays nothing, and a pass on the next chain day runs the job again and
  still pays nothing more;
* two workers (separate processes) on one PostgreSQL store run at the same time: every queued
  operation is applied exactly once (no op recovered as applied by the other, none refused),
  and settle-due runs in one of them only;
* with a price feed configured, a pass calls the margin of a pledged receipt whose goods
  fell, once a chain day;
* a pass delivers the webhooks due (signed), the next pass has nothing to deliver;
* a pass keeps the trade facts of the trades verified since (verification keeps none), a
  second pass keeps nothing;
* a looping worker relays what is queued while it runs and stops cleanly on SIGTERM;
* a pass asked to stop during a step finishes that step and leaves the rest to the next pass;
* `fourflow serve` starts a worker beside the API (its first pass runs settle-due) and stops it
  with itself; `--no-worker` starts none.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from fourflow.adapters.chain.node import AnvilNode
from fourflow.bootstrap import Platform, Settings
from fourflow.domain.parties import Role
from fourflow.domain.settlement import NoticeKind, RouteKind
from fourflow.entrypoints.cli.main import app
from fourflow.services import (
    ingest,
    margin,
    onboarding,
    receipts,
    settlement,
    trade_facts,
    verification,
    webhooks,
)
from fourflow.services import worker as worker_service
from fourflow.services.demo import demo_uscc
from fourflow.services.ingest import SubmittedFile
from fourflow.services.linking import link_documents
from fourflow.services.ports import OpStatus
from tests.api.test_webhooks import Receiver, receiver  # noqa: F401  (fixture)
from tests.integration.test_documents_ingest import _bundle, _members
from tests.integration.test_lifecycle import YUAN, _pass_and_pledge
from tests.integration.test_settle_due import (
    _balances,
    _fund_token_route,
    _future_item,
    _move_clock,
    own,  # noqa: F401  (fixture: a platform on its own node, SQLite)
)
from tests.store.fixtures import pg_schema_url, require_postgres

pytestmark = pytest.mark.chain

WORKER_TIMEOUT_S = 300


def _worker_once(p: Platform, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """`fourflow worker --once --json` on ``p``'s home and store; its pass report."""
    monkeypatch.delenv("FOURFLOW_CHAIN_URL", raising=False)
    monkeypatch.setenv("FOURFLOW_HOME", str(p.settings.home))
    monkeypatch.setenv("FOURFLOW_DATABASE_URL", p.settings.database_url)
    monkeypatch.setenv("FOURFLOW_KEYSTORE_PASSWORD", str(p.settings.keystore_password))
    result = CliRunner().invoke(app, ["worker", "--once", "--json"])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    (line,) = result.stdout.strip().splitlines()
    report: dict[str, object] = json.loads(line)
    assert report["errors"] == []
    return report


def _onboard(p: Platform, count: int, tag: str) -> list[str]:
    """Onboard ``count`` banks (each queues its admission and its mint cap): their ids."""
    return [
        onboarding.onboard(
            uow_factory=p.uow_factory, keystore=p.keystore, name=f"Worker test bank {tag}{i}",
            uscc=demo_uscc("310000", f"MA{tag}{i:03d}"), roles=[Role.BANK],
        ).id
        for i in range(count)
    ]  # fmt: skip


def test_worker_once_applies_what_a_service_queued_and_settles_once_a_day(
    own: Platform,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (bank_id,) = _onboard(own, 1, "WK1A")
    with own.uow_factory() as uow:
        queued = uow.outbox.for_subject(bank_id)
    assert len(queued) == 2 and all(op.status is OpStatus.PENDING for op in queued)

    first = _worker_once(own, monkeypatch)
    assert first["relayed"] == {"applied": 2, "recovered": 0, "failed": []}
    today = own.require_contracts().chain_today()
    assert first["chain_day"] == today.isoformat()
    settled = first["settle_due"]
    assert isinstance(settled, dict) and settled["day"] == today.isoformat()
    ledger = own.require_contracts()
    with own.uow_factory() as uow:
        applied = uow.outbox.for_subject(bank_id)
        assert uow.settings.get(worker_service.SETTLED_DAY_KEY) == today.isoformat()
    assert all(op.status is OpStatus.DONE and op.tx_hash for op in applied)
    assert all(ledger.is_applied(op) for op in applied)

    second = _worker_once(own, monkeypatch)
    assert second["relayed"] == {"applied": 0, "recovered": 0, "failed": []}
    assert second["settle_due"] is None  # once per chain day
    assert second["margin_watch"] is None  # no price feed configured


def test_a_worker_pass_anchors_documents_an_ingest_left_unanchored(
    own: Platform,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    orgs = _members(own)
    outcomes = ingest.ingest_files(
        uow_factory=own.uow_factory, reader=own.reader_for(orgs["tier1"].id), clock=own.clock,
        files=[SubmittedFile("wa.json", _bundle("WA1"))], submitter_id=orgs["tier1"].id,
    )  # fmt: skip
    assert [o.status for o in outcomes] == ["accepted"] * 5
    with own.uow_factory() as uow:
        assert len(uow.documents.unanchored_fingerprints(100)) == 5  # stopped before anchoring
        queued = len(uow.outbox.pending(100))  # what ingest queued itself

    report = _worker_once(own, monkeypatch)
    anchored = report["anchored"]
    assert isinstance(anchored, dict) and anchored["documents"] == 5
    assert report["relayed"] == {"applied": queued + 1, "recovered": 0, "failed": []}
    with own.uow_factory() as uow:
        assert uow.documents.unanchored_fingerprints(100) == []
        (op,) = uow.outbox.for_subject(str(anchored["batch"]))
    assert op.status is OpStatus.DONE and own.require_contracts().is_applied(op)
    assert _worker_once(own, monkeypatch)["anchored"] is None  # nothing left


def test_a_worker_pass_keeps_the_trade_facts_of_the_trades_verified_since(
    own: Platform,  # noqa: F811
) -> None:
    """Issue 16: verification (inside the upload request) keeps no trade facts; the worker's
    pass does, and a later pass of the same worker keeps nothing again."""
    orgs = _members(own)
    ingest.ingest_files(
        uow_factory=own.uow_factory, reader=own.reader_for(orgs["tier1"].id), clock=own.clock,
        files=[SubmittedFile("wf.json", _bundle("WF1"))], submitter_id=orgs["tier1"].id,
    )  # fmt: skip
    link_documents(uow_factory=own.uow_factory)
    with own.uow_factory() as uow:
        trade_ids = [t.id for t in uow.trades.list()]
    assert trade_ids
    verification.verify_many(
        uow_factory=own.uow_factory, trade_ids=trade_ids, as_of=own.clock.today()
    )
    with own.uow_factory() as uow:
        assert uow.trade_facts.get_many(trade_ids) == {}
    ctx = worker_service.WorkerContext(
        uow_factory=own.uow_factory, ledger=own.require_contracts(), clock=own.clock,
        operator_id=own.operator_id(), chain_lock=own.chain_writer,
    )  # fmt: skip
    first = worker_service.run_pass(ctx, 1, threading.Event())
    assert first.errors == [], first.as_dict()
    assert first.trade_facts is not None and first.trade_facts["kept"] == len(trade_ids)
    assert first.as_dict()["trade_facts"]["full"] is True  # a worker's first pass
    with own.uow_factory() as uow:
        records = uow.trades.verdicts(trade_ids)
        kept = uow.trade_facts.get_many(trade_ids)
    assert all(trade_facts.current(kept[r.id], r.document_ids) for r in records)
    second = worker_service.run_pass(ctx, 2, threading.Event())
    assert second.trade_facts is not None and second.trade_facts["kept"] == 0


def test_a_worker_pass_delivers_webhooks(
    own: Platform,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    receiver: Receiver,  # noqa: F811
) -> None:
    (bank_id,) = _onboard(own, 1, "WKH1")
    endpoint, secret = webhooks.register(
        own.webhooks, org_id=bank_id, url=receiver.url, kinds=["item.issued"],
        now=dt.datetime.now(dt.UTC),
    )  # fmt: skip
    with own.uow_factory() as uow:
        (event_id,) = webhooks.record(
            uow, key=f"worker-test-{uuid.uuid4().hex}", kind="item.issued", org_ids=[bank_id],
            subject_id="item-worker-test", data={"item": "item-worker-test"},
        )  # fmt: skip
        uow.commit()

    report = _worker_once(own, monkeypatch)
    assert report["webhooks"] == {"queued": 1, "delivered": 1, "retried": 0, "dead": 0}
    seen = receiver.seen()
    assert list(seen) == [event_id]
    ((headers, body),) = receiver.received
    signature = headers[webhooks.SIGNATURE_HEADER.lower()]
    assert webhooks.verify(secret, signature, body, now=int(time.time()))  # signed
    again = _worker_once(own, monkeypatch)
    assert again["webhooks"] == {"queued": 0, "delivered": 0, "retried": 0, "dead": 0}
    assert endpoint.org_id == bank_id


def test_a_worker_pass_with_a_price_feed_calls_a_margin_once_a_day(
    own: Platform,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    s = _future_item(own)
    warehouse = onboarding.onboard(
        uow_factory=own.uow_factory, keystore=own.keystore, name="苏州保税仓储有限公司",
        uscc=demo_uscc("320500", "MA1FF0008"), roles=[Role.WAREHOUSE],
    )  # fmt: skip
    s.relay()
    seller, bank = s.org["tier1"], s.org["bank"]
    code = "STEEL-COIL-Q235"
    receipt_id = receipts.issue_receipt(
        uow_factory=own.uow_factory, warehouse_id=warehouse.id, holder_id=seller.id,
        goods_code=code, description="Q235 hot-rolled coil, 1,000 t", quantity=1_000,
        unit="TNE", location="Suzhou bonded warehouse B-12",
        evidence="epcis:urn:uuid:storing-event",
    )  # fmt: skip
    s.relay()
    feed = tmp_path / "prices.csv"
    today = own.require_contracts().chain_today()
    margin.write_price_feed(feed, [margin.FeedPrice(code, Decimal("4000"), "CNY", today)])
    margin.load_price_feed(uow_factory=own.uow_factory, path=feed)
    receipts.pledge_receipt(uow_factory=own.uow_factory, receipt_id=receipt_id,
                            bank_id=bank.id, amount=2_000_000 * YUAN, actor_id=seller.id)  # fmt: skip
    s.relay()

    # The feed drops: 2,240,000 after the haircut, below 1.2 x 2,000,000.
    margin.write_price_feed(feed, [margin.FeedPrice(code, Decimal("3200"), "CNY", today)])
    monkeypatch.setenv("FOURFLOW_PRICE_FEED", str(feed))
    report = _worker_once(own, monkeypatch)
    watched = report["margin_watch"]
    assert isinstance(watched, dict)
    assert [(r["receipt"], r["action"]) for r in watched["receipts"]] == [(receipt_id, "called")]
    calls = settlement.notices_for(uow_factory=own.uow_factory, subject_id=receipt_id)
    assert {(n.kind, n.recipient_id) for n in calls} == {
        (NoticeKind.MARGIN_CALL, bank.id),
        (NoticeKind.MARGIN_CALL, seller.id),
    }
    assert _worker_once(own, monkeypatch)["margin_watch"] is None  # once per chain day


def test_a_worker_pass_settles_a_due_item_and_a_second_pass_pays_nothing(
    own: Platform,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = _future_item(own, RouteKind.TOKENS)  # the debtor's confirmation locked a token route
    _pass_and_pledge(s)
    _fund_token_route(s, 1_000_000 * YUAN)
    _move_clock(own, s.item.maturity_date)
    before = _balances(s)

    report = _worker_once(own, monkeypatch)
    settled = report["settle_due"]
    assert isinstance(settled, dict)
    assert settled["day"] == s.item.maturity_date.isoformat()
    assert settled["counts"] == {"collected": 1}
    assert settled["collected"] == 1_000_000 * YUAN
    relayed = report["relayed"]
    assert isinstance(relayed, dict) and relayed["applied"] >= 1 and relayed["failed"] == []
    after = _balances(s)
    assert after["core"] - before["core"] == -1_000_000 * YUAN
    assert after["bank"] - before["bank"] > 270_000 * YUAN  # the pledgee first
    assert int(own.require_contracts().read("item", s.item.id)["state"]) == 2  # settled

    again = _worker_once(own, monkeypatch)
    assert again["settle_due"] is None
    assert again["relayed"] == {"applied": 0, "recovered": 0, "failed": []}
    assert _balances(s) == after

    # The next chain day the job runs again (it is idempotent): the settled item pays nothing.
    _move_clock(own, s.item.maturity_date + dt.timedelta(days=1))
    next_day = _worker_once(own, monkeypatch)
    settled_again = next_day["settle_due"]
    assert isinstance(settled_again, dict) and settled_again["collected"] == 0
    assert _balances(s) == after
    with own.uow_factory() as uow:
        assert len(uow.repayments.for_item(s.item.id)) == 1


@pytest.fixture
def pg_platform(tmp_path: Path, anvil: AnvilNode) -> Iterator[Platform]:
    """An initialised platform on PostgreSQL (a schema of its own) and this worker's node."""
    with pg_schema_url(require_postgres()) as url:
        settings = Settings(
            home=tmp_path / "home", database_url=url, chain_url=anvil.url,
            keystore_password="worker-test",
        )  # fmt: skip
        with Platform(settings) as opened:
            opened.initialise()
            yield opened


@pytest.mark.postgres
def test_two_workers_on_postgresql_apply_every_op_once(pg_platform: Platform) -> None:
    p = pg_platform
    tag = uuid.uuid4().hex[:4].upper()
    banks = _onboard(p, 6, tag)
    with p.uow_factory() as uow:
        queued = [op for op in uow.outbox.list() if op.subject_id in banks]
        operator_id = p.operator_id()
    assert len(queued) == 12 and all(op.status is OpStatus.PENDING for op in queued)
    assert {op.sender_org_id for op in queued} == {operator_id}

    env = {
        **os.environ,
        "FOURFLOW_HOME": str(p.settings.home),
        "FOURFLOW_DATABASE_URL": p.settings.database_url,
        "FOURFLOW_CHAIN_URL": str(p.settings.chain_url),
        "FOURFLOW_KEYSTORE_PASSWORD": "worker-test",
    }
    command = [sys.executable, "-m", "fourflow", "worker", "--once", "--json"]
    workers = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    reports = []
    for w in workers:
        try:
            out, err = w.communicate(timeout=WORKER_TIMEOUT_S)
        finally:
            if w.poll() is None:
                w.kill()
                w.wait(timeout=30)
        assert w.returncode == 0, err.decode()
        (line,) = out.decode().strip().splitlines()
        reports.append(json.loads(line))

    assert all(r["errors"] == [] for r in reports)
    assert sum(r["relayed"]["applied"] for r in reports) == 12
    assert all(r["relayed"]["recovered"] == 0 and r["relayed"]["failed"] == [] for r in reports)
    # settle-due ran for the chain's day in exactly one of the two.
    assert sum(r["settle_due"] is not None for r in reports) == 1
    ledger = p.require_contracts()
    with p.uow_factory() as uow:
        done = [uow.outbox.get(op.op_id) for op in queued]
    assert all(op is not None and op.status is OpStatus.DONE for op in done)
    hashes = [op.tx_hash for op in done if op is not None]
    assert len(set(hashes)) == 12  # one transaction each
    assert all(ledger.is_applied(op) for op in done if op is not None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of the live processes whose parent is ``pid`` (Linux /proc)."""
    found: list[tuple[int, str]] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue  # gone meanwhile
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append((int(entry.name), cmdline))
    return found


def _serve(env: dict[str, str], port: int, *extra: str) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [sys.executable, "-m", "fourflow", "serve", "--host", "127.0.0.1", "--port", str(port),
         *extra],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 240
    while True:
        assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the API did not answer within 240 s"
        time.sleep(0.5)


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.communicate(timeout=120)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=30)


def _setting(db: Path, key: str) -> str | None:
    with sqlite3.connect(db) as connection:
        row = connection.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def test_serve_runs_a_worker_beside_the_api_unless_told_not_to(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FOURFLOW_")},
        "FOURFLOW_HOME": str(tmp_path / "home"),
        "FOURFLOW_KEYSTORE_PASSWORD": "serve-worker-test",
    }
    db = tmp_path / "home" / "fourflow.db"
    try:
        server = _serve(env, _free_port(), "--worker-interval", "0.5")
        try:
            workers = [c for c in _children(server.pid) if " worker " in c[1]]
            assert len(workers) == 1, _children(server.pid)
            worker_pid = workers[0][0]
            deadline = time.monotonic() + 120
            while _setting(db, worker_service.SETTLED_DAY_KEY) is None:  # its first pass
                assert time.monotonic() < deadline, "the worker ran no pass within 120 s"
                time.sleep(0.2)
        finally:
            _stop(server)
        assert not Path(f"/proc/{worker_pid}").exists()  # stopped with the API

        quiet = _serve(env, _free_port(), "--no-worker")
        try:
            assert not [c for c in _children(quiet.pid) if " worker " in c[1]]
        finally:
            _stop(quiet)
    finally:
        subprocess.run(
            [sys.executable, "-m", "fourflow", "chain", "node", "stop"],
            env=env, capture_output=True, timeout=120, check=False,
        )  # fmt: skip


def test_a_looping_worker_stops_cleanly_on_sigterm(
    own: Platform,  # noqa: F811
) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FOURFLOW_")},
        "FOURFLOW_HOME": str(own.settings.home),
        "FOURFLOW_DATABASE_URL": own.settings.database_url,
        "FOURFLOW_KEYSTORE_PASSWORD": str(own.settings.keystore_password),
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "fourflow", "worker", "--interval", "0.2", "--json"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert worker.stdout is not None
        first = json.loads(worker.stdout.readline())  # blocks until its first pass is out
        assert first["pass"] == 1 and first["errors"] == []
        (bank_id,) = _onboard(own, 1, "WK9T")  # queued while the worker loops
        deadline = time.monotonic() + 120
        applied = 0
        while applied < 2:
            assert time.monotonic() < deadline, "the looping worker relayed nothing in 120 s"
            line = worker.stdout.readline()
            assert line, worker.stderr.read().decode() if worker.stderr else ""
            applied += json.loads(line)["relayed"]["applied"]
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=120)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=30)
    assert worker.returncode == 0, err.decode()
    with own.uow_factory() as uow:
        assert all(op.status is OpStatus.DONE for op in uow.outbox.for_subject(bank_id))
    for text in out.decode().splitlines():  # the pass under way when stopped ended cleanly
        assert json.loads(text)["errors"] == []


def test_a_pass_stopped_during_a_step_ends_it_and_leaves_the_rest_to_the_next_pass(
    own: Platform,  # noqa: F811
) -> None:
    (bank_id,) = _onboard(own, 1, "WKP1")
    stop = threading.Event()

    @contextmanager
    def lock_then_stop() -> Iterator[None]:
        with own.chain_writer():
            yield
        stop.set()  # SIGTERM during the pass's first step (anchor, under the lock)

    ctx = worker_service.WorkerContext(
        uow_factory=own.uow_factory, ledger=own.require_contracts(), clock=own.clock,
        operator_id=own.operator_id(), chain_lock=lock_then_stop,
    )  # fmt: skip
    stopped = worker_service.run_pass(ctx, 1, stop)
    assert stopped.errors == [] and stopped.abandoned[0] == "relay", stopped.as_dict()
    assert "anchor" not in stopped.abandoned
    assert stopped.relayed == {"applied": 0, "recovered": 0, "failed": []}
    with own.uow_factory() as uow:
        assert all(op.status is OpStatus.PENDING for op in uow.outbox.for_subject(bank_id))

    ctx = worker_service.WorkerContext(
        uow_factory=own.uow_factory, ledger=own.require_contracts(), clock=own.clock,
        operator_id=own.operator_id(), chain_lock=own.chain_writer,
    )  # fmt: skip
    after = worker_service.run_pass(ctx, 2, threading.Event())
    assert after.abandoned == [] and after.errors == []
    assert after.relayed == {"applied": 2, "recovered": 0, "failed": []}
    with own.uow_factory() as uow:
        assert all(op.status is OpStatus.DONE for op in uow.outbox.for_subject(bank_id))
