"""The API audit trail's head, anchored on chain daily (issue 16, item 8).

A worker pass anchors the trail's head (through the notary's batch anchoring) once per chain
day: a second pass that day queues nothing. `fourflow audit` then checks every anchored head
against the trail: the untouched platform is ok (the head's anchor is not taken for a batch
missing from the store); a record rewritten before the anchor, with every later hash
recomputed so that the hash chain itself still holds, is named by the anchor check.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fourflow.adapters.chain.node import AnvilNode
from fourflow.bootstrap import Platform, Settings
from fourflow.domain.identity import record_hash
from fourflow.entrypoints.cli.main import app
from fourflow.services import identity, trail_anchor
from fourflow.services import worker as worker_service
from fourflow.services.ports import OpStatus
from tests.store.fixtures import sqlite_url

pytestmark = pytest.mark.chain


def _audit(p: Platform, monkeypatch: pytest.MonkeyPatch) -> tuple[int, dict[str, object]]:
    monkeypatch.setenv("FOURFLOW_HOME", str(p.settings.home))
    monkeypatch.setenv("FOURFLOW_DATABASE_URL", p.settings.database_url)
    monkeypatch.setenv("FOURFLOW_CHAIN_URL", str(p.settings.chain_url))
    monkeypatch.setenv("FOURFLOW_KEYSTORE_PASSWORD", str(p.settings.keystore_password))
    result = CliRunner().invoke(app, ["audit", "--json"])
    data: dict[str, object] = json.loads(result.stdout)
    return result.exit_code, data


def _rewrite_from(p: Platform, db: Path, seq: int, path: str) -> None:
    """Change record ``seq``'s path and recompute its hash and every later link and hash (a
    rewrite the hash chain alone cannot tell)."""
    with p.identities.store() as store:
        records = [r for r in store.trail.records(0, 1000) if r.seq >= seq - 1]
    previous = records[0].hash
    with sqlite3.connect(db) as conn:
        for record in records[1:]:
            changed = replace(record, prev_hash=previous)
            if record.seq == seq:
                changed = replace(changed, path=path)
            previous = record_hash(changed)
            conn.execute(
                "UPDATE api_audit SET path = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                (changed.path, changed.prev_hash, previous, record.seq),
            )
        conn.commit()


def test_the_worker_anchors_the_audit_head_daily_and_audit_names_a_rewrite_before_it(
    tmp_path: Path, anvil: AnvilNode, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(
        home=tmp_path / "home", database_url=sqlite_url(tmp_path), chain_url=anvil.url,
        keystore_password="audit-head",
    )  # fmt: skip
    with Platform(settings) as p:
        p.initialise()
        for n in range(5):
            identity.record_request(
                p.identities,
                identity.AnsweredRequest(
                    principal=None, action="health", method="GET",
                    path=f"/api/v1/health?n={n}", client="127.0.0.1", status=200,
                ),
            )  # fmt: skip
        ctx = worker_service.WorkerContext(
            uow_factory=p.uow_factory, ledger=p.require_contracts(), clock=p.clock,
            operator_id=p.operator_id(), chain_lock=p.chain_writer,
            claims=p.relay_claims(), identities=p.identities,
        )  # fmt: skip
        first = worker_service.run_pass(ctx)
        assert first.errors == []
        day = p.require_contracts().chain_today()
        assert first.audit_head == {
            "day": day.isoformat(), "seq": 5, "op_id": trail_anchor.op_id(day)
        }  # fmt: skip
        second = worker_service.run_pass(ctx, 2)
        assert second.errors == [] and second.audit_head is None  # once per chain day
        with p.uow_factory() as uow:
            op = uow.outbox.get(trail_anchor.op_id(day))
        assert op is not None and op.status is OpStatus.DONE
        head = identity.verify_trail(p.identities)
        anchored = p.require_contracts().read("anchor", trail_anchor.anchor_id(day))
        assert anchored is not None and int(anchored["count"]) == 5
        assert str(anchored["root"]).removeprefix("0x") == head.head
        for n in range(2):  # requests after the anchor
            identity.record_request(
                p.identities,
                identity.AnsweredRequest(
                    principal=None, action="health", method="GET",
                    path=f"/api/v1/health?after={n}", client="127.0.0.1", status=200,
                ),
            )  # fmt: skip

    code, clean = _audit(p, monkeypatch)
    trail = clean["api_audit_trail"]
    assert code == 0 and clean["ok"], clean
    assert isinstance(trail, dict) and trail["anchored_heads"] == 1 and trail["records"] == 7
    assert trail["latest_anchor"]["seq"] == 5 and trail["problems"] == []

    # Record 2 rewritten, every later hash recomputed: the hash chain holds, the anchor not.
    with Platform(settings) as p:
        _rewrite_from(p, tmp_path / "fourflow.db", 2, "/api/v1/nothing-to-see")
        assert identity.verify_trail(p.identities).ok
    code, tampered = _audit(p, monkeypatch)
    problems = tampered["api_audit_trail"]["problems"]  # type: ignore[index]
    assert code == 1 and not tampered["ok"]
    assert len(problems) == 1 and problems[0].startswith(
        "audit trail records 1 to 5: changed after they were anchored on chain "
        f"(head of {day.isoformat()}, op {trail_anchor.op_id(day)}"
    ), problems
