"""Consents anchored on chain (issue 16, items 6 and 8): every grant and revocation made over
HTTP is anchored through the notary (its record's SHA-256, in a block), so the core enterprise
and the bank can prove later what was granted when; a consent changed in the store after its
anchor (a term extended, a revocation undone) is named by ``GET /audit-trail/verification``
and by ``fourflow audit`` alike."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from fourflow.adapters.chain.node import AnvilNode
from fourflow.bootstrap import Platform
from fourflow.domain.identity import Principal, UserRole, org_types
from fourflow.domain.parties import Role
from fourflow.entrypoints.api.app import create_app
from fourflow.entrypoints.cli.main import app as cli_app
from fourflow.services import consent_anchor, identity, onboarding, relay
from fourflow.services.demo import MEMBERS, demo_uscc
from tests.api.conftest import api_settings
from tests.api.world import API, ok

pytestmark = [pytest.mark.chain, pytest.mark.xdist_group("api-consent-anchor")]


def _key(p: Platform, org_id: str) -> dict[str, str]:
    with p.uow_factory() as uow:
        org = uow.organisations.get(org_id)
    assert org is not None
    admin = Principal(org_id, org_types(org.roles), UserRole.ADMIN, None, "t", "t")
    issued = identity.create_api_key(p.identities, admin=admin, role=UserRole.ADMIN, label="t")
    return {"X-API-Key": issued.secret}


def _audit(p: Platform) -> tuple[int, dict[str, object]]:
    s = p.settings
    env = {
        "FOURFLOW_HOME": str(s.home), "FOURFLOW_DATABASE_URL": s.database_url,
        "FOURFLOW_CHAIN_URL": str(s.chain_url),
        "FOURFLOW_KEYSTORE_PASSWORD": str(s.keystore_password),
    }  # fmt: skip
    result = CliRunner().invoke(cli_app, ["audit", "--json"], env=env)
    data: dict[str, object] = json.loads(result.stdout)
    return result.exit_code, data


def test_consents_are_anchored_and_a_change_after_the_anchor_is_named(
    tmp_path: Path, anvil: AnvilNode
) -> None:
    db = tmp_path / "store.db"
    with (
        Platform(api_settings(tmp_path / "home", f"sqlite:///{db}", anvil.url)) as p,
        TestClient(create_app(p), raise_server_exceptions=False) as c,
    ):
        p.initialise()
        orgs = {
            m.key: onboarding.onboard(
                uow_factory=p.uow_factory, keystore=p.keystore, name=m.name, uscc=m.uscc,
                roles=m.roles, accounts=[m.account],
            ).id
            for m in MEMBERS
            if m.key in ("core", "bank")
        }  # fmt: skip
        relay.relay(uow_factory=p.uow_factory, ledger=p.require_contracts())
        core, operator = _key(p, orgs["core"]), _key(p, p.operator_id())
        until = (p.clock.today() + dt.timedelta(days=90)).isoformat()
        grant = {"grantee": orgs["bank"], "kinds": ["trades"], "purpose": "credit_review",
                 "valid_to": until}  # fmt: skip
        kept = ok(c.post(f"{API}/consents", json=grant, headers=core), 201)["consent_id"]
        ended = ok(c.post(f"{API}/consents", json={**grant, "kinds": ["payment_history"]},
                          headers=core), 201)["consent_id"]  # fmt: skip
        ok(c.post(f"{API}/consents/{ended}/revocation", json={"reason": "review done"},
                  headers=core))  # fmt: skip
        # queued with the records, applied by the relay (the worker's pass)
        applied = relay.relay(uow_factory=p.uow_factory, ledger=p.require_contracts())
        assert not applied.failed and applied.applied >= 3
        ledger = p.require_contracts()

        # what the bank (or the core enterprise) proves: the record's hash is on chain, in a block
        with p.uow_factory() as uow:
            record = uow.consents.get(kept)
        assert record is not None
        anchor = ledger.read("anchor", consent_anchor.batch_id(kept, "granted"))
        assert anchor is not None and int(anchor["block_number"]) > 0
        assert str(anchor["root"]).removeprefix("0x") == consent_anchor.digest(record, "granted")
        assert ledger.read("anchor", consent_anchor.batch_id(kept, "revoked")) is None

        # the grantee and the grantor get the proof over the API; another bank does not
        bank = _key(p, orgs["bank"])
        shown = ok(c.get(f"{API}/consents/{kept}/anchor", headers=bank))
        (granted,) = shown["events"]
        assert granted["matches"] and granted["digest"] == consent_anchor.digest(record, "granted")
        assert granted["anchor"]["block_number"] == int(anchor["block_number"])
        assert json.loads(granted["canonical"]) == granted["record"]
        assert granted["record"]["valid_to"] == until and granted["record"]["kinds"] == ["trades"]
        both = ok(c.get(f"{API}/consents/{ended}/anchor", headers=core))["events"]
        assert [(e["event"], e["matches"]) for e in both] == [("granted", True), ("revoked", True)]
        other_bank = onboarding.onboard(
            uow_factory=p.uow_factory, keystore=p.keystore, name="太湖农村商业银行股份有限公司",
            uscc=demo_uscc("320000", "MA1FF0008"), roles=[Role.BANK],
        )  # fmt: skip
        relay.relay(uow_factory=p.uow_factory, ledger=ledger)  # its admission
        assert (
            c.get(f"{API}/consents/{kept}/anchor", headers=_key(p, other_bank.id)).status_code
            == 404
        )

        clean = ok(c.get(f"{API}/audit-trail/verification", headers=operator))
        assert clean["ok"] and clean["anchored_consents"] == 3, clean
        code, data = _audit(p)
        assert code == 0 and data["ok"], data  # no anchor taken for a batch missing

        # the term extended in the store after the grant was anchored
        with p.engine.begin() as conn:
            conn.execute(text("UPDATE data_consents SET valid_to = :d WHERE id = :i"),
                         {"d": dt.date.fromisoformat(until) + dt.timedelta(days=300), "i": kept})  # fmt: skip
        changed = ok(c.get(f"{API}/consents/{kept}/anchor", headers=bank))["events"][0]
        assert not changed["matches"] and changed["anchor"]["root"] == granted["digest"]
        tampered = ok(c.get(f"{API}/audit-trail/verification", headers=operator))
        assert not tampered["ok"]
        (problem,) = tampered["problems"]
        assert problem.startswith(
            f"consent {kept}: changed after its granted was anchored on chain (op "
            f"{consent_anchor.op_id(kept, 'granted')}, block {anchor['block_number']}"
        ), problem
        # the revocation undone in the store
        with p.engine.begin() as conn:
            conn.execute(text("UPDATE data_consents SET revoked_at = NULL, revoked_by = NULL, "
                              "revoked_reason = NULL WHERE id = :i"), {"i": ended})  # fmt: skip
        found = ok(c.get(f"{API}/audit-trail/verification", headers=operator))["problems"]
        assert len(found) == 2 and any(
            f"consent {ended}: its revocation was anchored on chain" in x
            and "the store shows it not revoked" in x
            for x in found
        ), found
        # a consent written into the store behind the service's back was never anchored
        with p.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO data_consents (id, grantor_id, grantee_id, kinds, counterparties, "
                "purpose, valid_from, valid_to, granted_by, granted_at) SELECT 'consent-forged', "
                "grantor_id, grantee_id, kinds, counterparties, purpose, valid_from, valid_to, "
                "granted_by, granted_at FROM data_consents WHERE id = :i"), {"i": kept})  # fmt: skip
        code, data = _audit(p)
        problems = data["api_audit_trail"]["problems"]  # type: ignore[index]
        assert code == 1 and not data["ok"] and len(problems) == 3, problems
        assert set(found) < set(problems)
        assert any(x.startswith("consent consent-forged: granted in the store, but no anchoring")
                   for x in problems)  # fmt: skip
