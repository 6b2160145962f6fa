"""50 requests at once to finance one holding, over HTTP, against `fourflow serve --workers 2`
on PostgreSQL: exactly one wins (approved, pledged on the chain); the 49 others get a 409
problem saying the holding is taken and change nothing; the store and the chain agree."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fourflow.adapters.chain.node import AnvilNode
from fourflow.bootstrap import Platform, Settings
from fourflow.domain.identity import OrgType, Principal, UserRole
from fourflow.domain.scenarios import Scenario
from fourflow.services import audit, financing, identity, ingest, items, linking, relay
from fourflow.services.demo import MEMBERS, trade_bundle
from fourflow.services.onboarding import onboard
from fourflow.services.verification import verify
from tests.store.fixtures import pg_schema_url, require_postgres

pytestmark = [pytest.mark.chain, pytest.mark.postgres]

PASSWORD = "pledge-race"
REQUESTS = 50
MEMBER = {m.key: m for m in MEMBERS}


@pytest.fixture
def pg_url() -> Iterator[str]:
    with pg_schema_url(require_postgres()) as url:
        yield url


def _relay(p: Platform) -> None:
    result = relay.relay(uow_factory=p.uow_factory, ledger=p.require_contracts())
    assert not result.failed, result.failed


def _confirmed_holding(p: Platform, today: dt.date) -> tuple[str, str, str]:
    """Tier 1's holding of a confirmed item (through the services, as the CLI would), the
    bank's id, and an API key of tier 1's admin. The bank's robot decides alone."""
    p.initialise()
    orgs = {
        k: onboard(uow_factory=p.uow_factory, keystore=p.keystore, name=MEMBER[k].name,
                   uscc=MEMBER[k].uscc, roles=MEMBER[k].roles, accounts=[MEMBER[k].account])
        for k in ("core", "tier1", "logistics", "bank")
    }  # fmt: skip
    _relay(p)
    tier1 = orgs["tier1"].id
    start = today - dt.timedelta(days=20)
    raw = trade_bundle(
        prefix="RACE", seller=MEMBER["tier1"], buyer=MEMBER["core"], carrier=MEMBER["logistics"],
        lines=[("GEAR-HOUSING-Φ320", "500", "EA", "1200.00")], received_factor="1", day0=start,
        terms_days=90, scenario=Scenario.MANUFACTURING,
    )  # fmt: skip
    ingest.ingest_bytes(uow_factory=p.uow_factory, reader=p.reader_for(tier1), clock=p.clock,
                        raw=raw, source="race.json", submitter_id=tier1)  # fmt: skip
    ingest.anchor_pending(uow_factory=p.uow_factory, clock=p.clock, operator_id=p.operator_id())
    (trade_id,) = linking.link_documents(uow_factory=p.uow_factory).created
    issue_day = start + dt.timedelta(days=8)
    verify(uow_factory=p.uow_factory, trade_id=trade_id, as_of=issue_day)
    item = items.issue_item(uow_factory=p.uow_factory, ledger=p.require_contracts(),
                            clock=p.clock, trade_id=trade_id, as_of=issue_day, confirm=True)  # fmt: skip
    _relay(p)
    with p.uow_factory() as uow:
        (holding,) = uow.items.holdings(item.id)
    financing.set_product_policy(
        uow_factory=p.uow_factory, bank=orgs["bank"].id, fields={"refer_pd": 0.9, "max_pd": 1.0}
    )
    operator = Principal(
        org_id=p.operator_id(), org_types=frozenset({OrgType.PLATFORM_OPERATOR}),
        role=UserRole.ADMIN, user_id=None, credential_id="test", name="test",
    )  # fmt: skip
    key = identity.create_api_key(p.identities, admin=operator, role=UserRole.ADMIN,
                                  label="erp", org_id=tier1).secret  # fmt: skip
    return holding.id, orgs["bank"].id, key


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _all_at_once(base: str, key: str, body: dict[str, str]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=REQUESTS)
    async with httpx.AsyncClient(base_url=base, timeout=300, limits=limits) as client:
        asks = (
            client.post("/api/v1/financings", json=body, headers={"X-API-Key": key})
            for _ in range(REQUESTS)
        )
        return await asyncio.wait_for(asyncio.gather(*asks), timeout=600)


def test_fifty_concurrent_pledges_of_one_holding_exactly_one_wins(
    tmp_path: Path, pg_url: str, anvil: AnvilNode
) -> None:
    today = dt.datetime.now(dt.UTC).date()
    settings = Settings(tmp_path / "home", pg_url, anvil.url, PASSWORD)
    with Platform(settings) as p:
        holding_id, bank_id, key = _confirmed_holding(p, today)
    port = _free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FOURFLOW_")},
        "FOURFLOW_HOME": str(settings.home),
        "FOURFLOW_DATABASE_URL": pg_url,
        "FOURFLOW_CHAIN_URL": anvil.url,
        "FOURFLOW_KEYSTORE_PASSWORD": PASSWORD,
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "fourflow", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--workers", "2", "--no-worker"],
        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while True:
            assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the API did not answer within 240 s"
            time.sleep(0.3)
        body = {"holding_id": holding_id, "bank": bank_id, "amount": "400000.00",
                "as_of": (today - dt.timedelta(days=10)).isoformat()}  # fmt: skip
        answers = asyncio.run(_all_at_once(base, key, body))
    finally:
        server.terminate()
        try:
            server.communicate(timeout=60)
        finally:
            if server.poll() is None:
                server.kill()

    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] + [409] * (REQUESTS - 1), [a.text[:300] for a in answers]
    (won,) = [a.json() for a in answers if a.status_code == 201]
    assert won["status"] == "approved" and won["principal"] == "400000.00", won
    for lost in (a for a in answers if a.status_code == 409):
        assert lost.headers["content-type"].startswith("application/problem+json")
        problem = lost.json()
        assert problem["status"] == 409 and holding_id in problem["detail"], problem
        assert "already" in problem["detail"], problem  # "already financed" / "already pledged"

    with Platform(settings) as p:
        with p.uow_factory() as uow:
            holding = uow.items.get_holding(holding_id)
            assert holding is not None and holding.pledge_bank_id == bank_id
            fins = [f.financing for f in financing.list_financings(uow_factory=p.uow_factory)]
        assert [(f.id, getattr(f, "holding_id", None)) for f in fins] == [
            (won["financing_id"], holding_id)
        ]
        report = audit.audit(uow_factory=p.uow_factory, ledger=p.require_contracts(),
                             reader_for=p.stored_reader_for)  # fmt: skip
        assert report.ok, json.dumps(report.as_dict(), indent=1)[:3000]
        assert report.financings_checked == 1 and report.holdings_checked == 1
