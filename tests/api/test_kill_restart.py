"""kill -9 of the API and the worker under load, then restart: nothing lost or doubled (issue
16, done-when).

`fourflow serve --no-worker` and `fourflow worker` run as real processes on 127.0.0.1, on
PostgreSQL and the session's anvil node. Two client threads upload distinct documents (a trade's
seller part each, as its seller); once some uploads were accepted, both processes get SIGKILL
in the middle of the load. A client whose request failed retries it once the platform answers
again (as a real client would). After the restart the worker drains what the killed API left
(documents stored but not anchored, ops queued but not sent, or sent but not recorded). Then:

* every upload ends answered 2xx, each of its documents stored exactly once (the retry of one
  the killed API had stored answers ``duplicate`` with the same document id);
* every stored document is anchored; every queued op applied (none pending, refused or
  failed), each in a transaction of its own; the chain's batch anchors are exactly the store's
  batches and the audit trail's anchored heads, none twice;
* `fourflow audit` finds store, chain and audit trail in agreement.

Every wait is on a condition with a deadline.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from bench.api import wait_serving
from sqlalchemy import text

from fourflow.adapters.chain.node import AnvilNode
from fourflow.adapters.db.engine import make_engine
from fourflow.bootstrap import Platform, Settings
from tests.api.serving import audited, free_port
from tests.api.world import API, PASSWORD, Person, documents_by_issuer, register_and_admit
from tests.api.world import sign_in as world_sign_in
from tests.store.fixtures import pg_schema_url, require_postgres

pytestmark = [pytest.mark.chain, pytest.mark.postgres]

UPLOADS_PER_CLIENT = 8
KILL_AFTER_ACCEPTED = 4
START_TIMEOUT_S = 240.0
LOAD_TIMEOUT_S = 300.0
DRAIN_TIMEOUT_S = 240.0
POLL_S = 0.2


@pytest.fixture
def pg_url() -> Iterator[str]:
    with pg_schema_url(require_postgres()) as url:
        yield url


class Processes:
    """`fourflow serve --no-worker` and `fourflow worker` on one home."""

    def __init__(self, env: dict[str, str], port: int, logs: Path) -> None:
        self.env, self.port, self.logs = env, port, logs
        self.api: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.starts += 1
        fourflow = [sys.executable, "-m", "fourflow"]
        with (self.logs / f"api-{self.starts}.log").open("wb") as api_log:
            self.api = subprocess.Popen(
                [*fourflow, "serve", "--no-worker", "--host", "127.0.0.1", "--port",
                 str(self.port)],
                env=self.env, stdout=subprocess.DEVNULL, stderr=api_log,
            )  # fmt: skip
        wait_serving(
            self.api, self.base, START_TIMEOUT_S, poll_s=POLL_S, why=lambda: self.log("api")
        )
        with (self.logs / f"worker-{self.starts}.log").open("wb") as worker_log:
            self.worker = subprocess.Popen(
                [*fourflow, "worker", "--interval", "0.2", "--json"],
                env=self.env, stdout=worker_log, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def kill(self) -> None:
        """SIGKILL both, and wait until they are gone."""
        for p in (self.api, self.worker):
            if p is not None and p.poll() is None:
                os.kill(p.pid, signal.SIGKILL)
        for p in (self.api, self.worker):
            if p is not None:
                p.wait(timeout=60)
                assert p.returncode == -signal.SIGKILL, p.returncode

    def stop(self) -> None:
        """SIGTERM both (the worker finishes its pass), SIGKILL what is left after 60 s."""
        for p in (self.worker, self.api):
            if p is not None and p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(timeout=30)

    def log(self, name: str) -> str:
        path = self.logs / f"{name}-{self.starts}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""


class Uploader(threading.Thread):
    """Uploads its bundles one after another; on a transport error waits for the restart and
    sends the same bundle again. Notes every answer."""

    def __init__(
        self, name: str, base: str, auth: dict[str, str], bundles: list[bytes],
        accepted: threading.Semaphore, restarted: threading.Event,
    ) -> None:  # fmt: skip
        super().__init__(name=name, daemon=True)
        self.base, self.auth, self.bundles = base, auth, bundles
        self.accepted, self.restarted = accepted, restarted
        self.answers: dict[int, list[dict[str, Any]]] = {}
        self.transport_errors = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            deadline = time.monotonic() + LOAD_TIMEOUT_S
            headers = {**self.auth, "Content-Type": "application/json"}
            with httpx.Client(base_url=self.base, timeout=120) as client:
                for n, raw in enumerate(self.bundles):
                    while time.monotonic() < deadline:
                        try:
                            r = client.post(
                                f"{API}/documents?source={self.name}-{n}.json",
                                content=raw, headers=headers,
                            )  # fmt: skip
                        except httpx.TransportError:
                            self.transport_errors += 1
                            assert self.restarted.wait(LOAD_TIMEOUT_S), "no restart"
                            continue
                        assert r.status_code == 201, (r.status_code, r.text[:500])
                        self.answers.setdefault(n, []).extend(r.json())
                        self.accepted.release()
                        break
                    else:
                        raise AssertionError(f"{self.name}: load not done in {LOAD_TIMEOUT_S} s")
        except BaseException as exc:  # reported by the test's thread
            self.error = exc


def _bundles(client_tag: str, today: dt.date) -> list[bytes]:
    """The seller's (tier 1's) part of ``UPLOADS_PER_CLIENT`` distinct trades."""
    out = []
    for n in range(UPLOADS_PER_CLIENT):
        parts = dict(documents_by_issuer(f"K9{client_tag}{n:02d}", today - dt.timedelta(days=60)))
        out.append(parts["tier1"])
    return out


def _wait_for(what: str, check: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"{what}: not within {timeout_s} s"
        time.sleep(POLL_S)


def test_kill_9_of_the_api_and_the_worker_under_load_loses_and_doubles_nothing(
    tmp_path: Path, pg_url: str, anvil: AnvilNode
) -> None:
    home = tmp_path / "home"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FOURFLOW_")},
        "FOURFLOW_HOME": str(home),
        "FOURFLOW_KEYSTORE_PASSWORD": "kill-restart",
        "FOURFLOW_DATABASE_URL": pg_url,
        "FOURFLOW_CHAIN_URL": anvil.url,
        "FOURFLOW_NEW_USER_PASSWORD": PASSWORD,
    }
    logs = tmp_path / "logs"
    logs.mkdir()
    procs = Processes(env, free_port(), logs)
    try:
        procs.start()
        added = subprocess.run(
            [sys.executable, "-m", "fourflow", "user", "add", "--org", "operator", "--email",
             "admin@operator.example.cn", "--name", "Operator Admin", "--json"],
            env=env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        operator = Person("admin@operator.example.cn", json.loads(added.stdout)["totp_uri"])
        with httpx.Client(base_url=procs.base, timeout=120) as client:
            world_sign_in(client, operator)  # type: ignore[arg-type]
            seller = register_and_admit(client, operator, "tier1")  # type: ignore[arg-type]

        today = dt.datetime.now(dt.UTC).date()
        accepted = threading.Semaphore(0)
        restarted = threading.Event()
        uploaders = [
            Uploader(f"client{i}", procs.base, seller.admin.auth, _bundles(f"C{i}", today),
                     accepted, restarted)
            for i in range(2)
        ]  # fmt: skip
        for u in uploaders:
            u.start()
        for _ in range(KILL_AFTER_ACCEPTED):  # some uploads through, the rest still to come
            assert accepted.acquire(timeout=LOAD_TIMEOUT_S), [u.error for u in uploaders]
        procs.kill()
        procs.start()
        restarted.set()
        for u in uploaders:
            u.join(LOAD_TIMEOUT_S + 60)
        assert not any(u.is_alive() for u in uploaders)
        assert [u.error for u in uploaders] == [None, None]
        assert sum(u.transport_errors for u in uploaders) >= 1  # killed in the middle of it

        settings = Settings(
            home=home, database_url=pg_url, chain_url=anvil.url, keystore_password="kill-restart"
        )
        engine = make_engine(pg_url)
        try:

            def drained() -> bool:
                with engine.connect() as c:
                    open_ops = int(
                        c.execute(
                            text("SELECT count(*) FROM outbox WHERE status IN ('pending', 'sent')")
                        ).scalar_one()
                    )
                    unanchored = int(
                        c.execute(
                            text("SELECT count(*) FROM document_anchors WHERE batch_id IS NULL")
                        ).scalar_one()
                    )
                return open_ops == 0 and unanchored == 0

            _wait_for("the outbox drained by the restarted worker", drained, DRAIN_TIMEOUT_S)
            with engine.connect() as c:
                docs = c.execute(text("SELECT id, fingerprint FROM documents")).all()
                anchors: dict[str, str | None] = dict(
                    c.execute(text("SELECT doc_id, batch_id FROM document_anchors")).all()
                )
                batches = {r[0] for r in c.execute(text("SELECT id FROM batches")).all()}
                ops = c.execute(
                    text("SELECT op_id, kind, status, tx_hash, subject_id FROM outbox")
                ).all()
        finally:
            engine.dispose()
    finally:
        procs.stop()

    # Every upload answered 2xx in the end, each document stored once under one id.
    answered: dict[str, set[str]] = {}
    for u in uploaders:
        assert sorted(u.answers) == list(range(UPLOADS_PER_CLIENT))
        for n, rows in u.answers.items():
            assert rows and all(r["status"] in ("accepted", "duplicate") for r in rows), rows
            for r in rows:
                answered.setdefault(f"{u.name}-{n}-{r['number']}-{r['kind']}", set()).add(
                    r["document_id"]
                )
    assert all(len(ids) == 1 for ids in answered.values()), answered
    uploaded = {next(iter(ids)) for ids in answered.values()}
    stored = {doc_id for doc_id, _ in docs}
    assert uploaded <= stored and len(uploaded) == len(answered)
    assert len({fp for _, fp in docs}) == len(docs)  # no document twice
    assert all(anchors.get(doc_id) in batches for doc_id in stored)  # every one anchored

    # Every op applied, each once; the chain's anchors are the store's, none twice.
    assert {status for _, _, status, _, _ in ops} == {"done"}, ops
    assert len({tx for _, _, _, tx, _ in ops}) == len(ops)
    anchor_ops = [subject for _, kind, _, _, subject in ops if kind == "anchor_batch"]
    heads = [s for s in anchor_ops if s.startswith("audit-head-")]
    assert sorted(s for s in anchor_ops if s not in heads) == sorted(batches)
    assert heads  # the audit trail's head, once per chain day the test ran in
    with Platform(settings) as p:
        ledger = p.require_contracts()
        on_chain = ledger.read("anchored_batches")
    assert len(on_chain) == len(anchor_ops)
    assert len({str(e["batch_id"]) for e in on_chain}) == len(on_chain)

    trail = audited(env)["api_audit_trail"]
    assert trail["problems"] == [] and trail["anchored_heads"] == len(heads)
