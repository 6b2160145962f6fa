"""An organisation holding its own key confirms its payable in the browser (issue 17 item 3):
the core enterprise (the debtor) is onboarded with its own address, tier 1's item on it issued
on the evidence; web/e2e/own-key.mjs signs in its finance manager in Debian's chromium, who
types the key into the payables page: the EIP-712 confirmation is signed in the page (viem) and
only the signature is sent (every request is recorded: the key is in none); a wrong key is
refused in the page first. Then the payable is disputed with a reason, and the dispute
withdrawn. Checked over the store and the chain: confirmed by the debtor's own signature,
disputed, the dispute withdrawn."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import uuid
from pathlib import Path

import pytest
from eth_account import Account

from fourflow.adapters.chain.node import AnvilNode
from fourflow.bootstrap import Platform
from fourflow.domain.debt import Basis
from fourflow.domain.facts import DisputeAction
from fourflow.domain.identity import UserRole
from fourflow.entrypoints.api import webui
from fourflow.entrypoints.api.app import create_app
from fourflow.services import identity, onboarding
from fourflow.services.demo import MEMBERS
from fourflow.services.ports import OpStatus
from tests.api.conftest import api_settings
from tests.api.world import PASSWORD, issued_item
from tests.integration.conftest import anvil, worker_home  # noqa: F401  (fixtures)
from tests.web.serving import run_script, served

pytestmark = [pytest.mark.chain, pytest.mark.xdist_group("web-own-key")]
SCRIPT = Path(__file__).resolve().parents[2] / "web" / "e2e" / "own-key.mjs"
EMAIL = "fm@core.example.cn"


def test_the_debtor_signs_with_its_own_key_in_the_browser_then_disputes(
    tmp_path: Path,
    anvil: AnvilNode,  # noqa: F811
) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "Debian's chromium is not installed: run `make setup`"
    assert (webui.BUILT / "index.html").is_file(), "the web app is not built: run `make setup`"
    key = Account.create()
    home = tmp_path / "home"
    with Platform(api_settings(home, f"sqlite:///{tmp_path / 'store.db'}", anvil.url)) as p:
        p.initialise()
        org = {
            m.key: onboarding.onboard(
                uow_factory=p.uow_factory, keystore=p.keystore, name=m.name, uscc=m.uscc,
                roles=m.roles, accounts=[m.account],
                own_address=key.address if m.key == "core" else None,
            )
            for m in MEMBERS
        }  # fmt: skip
        start = p.clock.today() - dt.timedelta(days=110)
        ids = {k: o.id for k, o in org.items()}
        item = issued_item(p, ids, f"OK-{uuid.uuid4().hex[:8]}", start)
        identity.add_user(
            p.identities, org_id=org["core"].id, email=EMAIL, name="core finance manager",
            role=UserRole.FINANCE_MANAGER, password=PASSWORD,
        )  # fmt: skip
        with served(create_app(p), what="the API") as base:
            env = {
                **os.environ, "BASE_URL": base, "CHROMIUM": chromium, "EMAIL": EMAIL,
                "PASSWORD": PASSWORD, "ITEM": item.id, "OWN_KEY": "0x" + bytes(key.key).hex(),
                "OUT_DIR": str(tmp_path / "screenshots"),
            }  # fmt: skip
            code, report = run_script(SCRIPT, env, timeout=420)
        assert code == 0 and report["ok"], json.dumps(report, ensure_ascii=False, indent=1)
        assert report["keySent"] is False  # the key never left the page
        assert report["csp"] == [] and report["errors"] == []
        assert "债务人地址" in report["wrongKey"]  # refused in the page, before anything is sent
        path = f"/api/v1/items/{item.id}"
        assert f"POST {path}/confirmation/signature" in report["sent"]
        assert f"POST {path}/confirmation" not in report["sent"]  # never the platform's signing
        assert f"POST {path}/dispute" in report["sent"]
        assert f"POST {path}/dispute/withdrawal" in report["sent"]
        with p.uow_factory() as uow:
            stored = uow.items.get(item.id)
            raised, withdrawn = uow.disputes.for_item(item.id)
        assert stored is not None and stored.basis is Basis.CONFIRMED
        assert p.require_contracts().read("item", item.id)["basis"] == 2  # confirmed on chain
        assert raised.actor_id == org["core"].id and raised.text == "到货短少 20 件，质量不符"
        assert withdrawn.action is DisputeAction.WITHDRAWN and withdrawn.actor_id == org["core"].id
        # the debtor holds its own key: the withdrawal, as the dispute, waits in the outbox for
        # its signature (custody/operations), the relay leaves both alone
        with p.uow_factory() as uow:
            ops = [uow.outbox.get(e.op_id) for e in (raised, withdrawn)]
        assert [(o.command.kind.value, o.status) for o in ops if o is not None] == [
            ("dispute", OpStatus.PENDING),
            ("withdraw_dispute", OpStatus.PENDING),
        ]
