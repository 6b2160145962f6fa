"""``GET /audit-trail/verification`` checks what ``fourflow audit`` checks (one service
function, ``trail_anchor.verify``): the hash chain and every head anchored on chain. A trail
rewritten before an anchor, every later hash recomputed so that the hash chain holds, is
reported over the API as it is by the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from fourflow.adapters.chain.node import AnvilNode
from fourflow.bootstrap import Platform
from fourflow.entrypoints.api.app import create_app
from fourflow.entrypoints.cli.main import app as cli_app
from fourflow.services import identity, trail_anchor
from fourflow.services import worker as worker_service
from tests.api.conftest import api_settings
from tests.api.world import API, ok, operator_admin
from tests.integration.test_audit_head_anchor import _rewrite_from

pytestmark = [pytest.mark.chain, pytest.mark.xdist_group("api-audit-verification")]


def _pass(p: Platform) -> worker_service.PassReport:
    ctx = worker_service.WorkerContext(
        uow_factory=p.uow_factory, ledger=p.require_contracts(), clock=p.clock,
        operator_id=p.operator_id(), chain_lock=p.chain_writer, claims=p.relay_claims(),
        identities=p.identities,
    )  # fmt: skip
    report = worker_service.run_pass(ctx)
    assert report.errors == [], report.errors
    return report


def _cli_audit(p: Platform) -> tuple[int, dict[str, object]]:
    s = p.settings
    env = {
        "FOURFLOW_HOME": str(s.home), "FOURFLOW_DATABASE_URL": s.database_url,
        "FOURFLOW_CHAIN_URL": str(s.chain_url),
        "FOURFLOW_KEYSTORE_PASSWORD": str(s.keystore_password),
    }  # fmt: skip
    result = CliRunner().invoke(cli_app, ["audit", "--json"], env=env)
    data: dict[str, object] = json.loads(result.stdout)
    return result.exit_code, data


def test_the_api_verification_names_a_rewrite_before_an_anchor(
    tmp_path: Path, anvil: AnvilNode
) -> None:
    db = tmp_path / "store.db"
    with (
        Platform(api_settings(tmp_path / "home", f"sqlite:///{db}", anvil.url)) as p,
        TestClient(create_app(p), raise_server_exceptions=False) as client,
    ):
        p.initialise()
        operator = operator_admin(client, p)  # its sign-in is recorded
        for _ in range(3):  # the operator's reads are recorded
            ok(client.get(f"{API}/registrations", headers=operator.auth))
        day = p.require_contracts().chain_today()
        assert _pass(p).audit_head is not None  # the head anchored on chain
        ok(client.get(f"{API}/registrations", headers=operator.auth))  # after the anchor
        clean = ok(client.get(f"{API}/audit-trail/verification", headers=operator.auth))
        assert clean["ok"] and clean["problems"] == [], clean
        assert clean["anchored_heads"] == 1
        anchored = clean["latest_anchor"]
        assert anchored["day"] == day.isoformat() and anchored["op_id"] == trail_anchor.op_id(day)
        seq = int(anchored["seq"])
        assert seq >= 4 and clean["records"] > seq

        # Record 2 rewritten, every later link and hash recomputed: the hash chain alone holds
        _rewrite_from(p, db, 2, "/api/v1/nothing-to-see")
        assert identity.verify_trail(p.identities).ok
        tampered = ok(client.get(f"{API}/audit-trail/verification", headers=operator.auth))
        assert not tampered["ok"] and tampered["anchored_heads"] == 1
        (problem,) = tampered["problems"]
        assert problem.startswith(
            f"audit trail records 1 to {seq}: changed after they were anchored on chain "
            f"(head of {day.isoformat()}, op {trail_anchor.op_id(day)}"
        ), problem
        # the CLI's audit reports the same finding from the same function
        code, data = _cli_audit(p)
        assert code == 1 and not data["ok"]
        assert data["api_audit_trail"]["problems"] == [problem]  # type: ignore[index]
