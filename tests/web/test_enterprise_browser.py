"""The enterprise's and the core enterprise's screens in a real browser: `fourflow serve` on a
fresh home on 127.0.0.1; the world is built over HTTP (the parties registered and admitted, a
trade uploaded by its parties, verified and its item issued by tier 1 on the evidence, not yet
confirmed). Then web/e2e/enterprise.mjs drives Debian's chromium through playwright-core:
tier 1 (Chinese) picks its trade and sees its four flows side by side, opens its position and
the item's provenance tree, splits 1000.00 off its holding, passes 500.00 to the carrier (the
tree grows each time) and asks the bank to finance the new holding; the core enterprise
(English) confirms the payable, grants the bank a consent, reads the month's data-use statement
and revokes the consent with a reason. axe-core checks every page visited. Screenshots are in
the test's tmp directory. Needs `make setup` (the built app, chromium, the web's node modules):
it fails, never skips, without them."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest

from tests.api.world import (
    API,
    PASSWORD,
    Person,
    documents_by_issuer,
    ok,
    register_and_admit,
    sign_in,
)
from tests.web.test_browser import BROWSER_TIMEOUT_S, Served, _chromium, served

pytestmark = [
    pytest.mark.chain,
    pytest.mark.slow,
    pytest.mark.xdist_group("web-browser-enterprise"),
]

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "web" / "e2e" / "enterprise.mjs"
__all__ = ["served"]  # the fixture, imported for pytest


def _secret(person: Person) -> str:
    """The person's TOTP secret ("" when its sign-in needs no second factor)."""
    return str(pyotp.parse_uri(person.totp_uri).secret) if person.totp_uri else ""


def test_trade_position_split_confirmation_and_consent_in_two_browsers(
    served: Served, tmp_path: Path
) -> None:
    added = subprocess.run(
        [sys.executable, "-m", "fourflow", "user", "add", "--org", "operator",
         "--email", "admin@operator.example.cn", "--name", "Operator Admin", "--json"],
        env=served.env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    today = dt.date.today()
    with httpx.Client(base_url=served.base, timeout=120) as client:
        operator = sign_in(
            client,  # type: ignore[arg-type]
            Person("admin@operator.example.cn", json.loads(added.stdout)["totp_uri"]),
        )
        parties = {
            key: register_and_admit(client, operator, key)  # type: ignore[arg-type]
            for key in ("core", "tier1", "logistics", "bank")
        }
        tier1 = parties["tier1"]
        start = today - dt.timedelta(days=20)
        trade_ids: set[str] = set()
        for key, raw in documents_by_issuer("WEB-ENT", start):
            rows = ok(
                client.post(f"{API}/documents?source={key}.json", content=raw,
                            headers={**parties[key].admin.auth,
                                     "Content-Type": "application/json"}),
                201,
            )  # fmt: skip
            trade_ids |= {r["trade_id"] for r in rows if r["trade_id"]}
        (trade_id,) = trade_ids
        day = (start + dt.timedelta(days=8)).isoformat()
        ok(client.post(f"{API}/trades/{trade_id}/verification", json={"as_of": day},
                       headers=tier1.admin.auth))  # fmt: skip
        item = ok(client.post(f"{API}/items", json={"trade_id": trade_id, "as_of": day},
                              headers=tier1.admin.auth), 201)  # fmt: skip
        assert item["basis"] == "verified", item
    people = {
        key: {"email": parties[key].admin.email, "totp_secret": _secret(parties[key].admin)}
        for key in ("tier1", "core")
    }
    out = tmp_path / "screenshots"
    env: dict[str, str] = {
        **os.environ,
        "BASE_URL": served.base, "OUT_DIR": str(out), "CHROMIUM": _chromium(),
        "PASSWORD": PASSWORD, "PEOPLE": json.dumps(people), "TRADE_ID": trade_id,
        "ITEM_ID": item["item_id"], "BANK_ID": parties["bank"].org_id,
        "CARRIER_ID": parties["logistics"].org_id,
    }  # fmt: skip
    run = subprocess.run(
        ["node", str(SCRIPT)], cwd=SCRIPT.parent, env=env, capture_output=True, text=True,
        timeout=BROWSER_TIMEOUT_S, check=False,
    )  # fmt: skip
    lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
    assert lines, f"exit {run.returncode}\n{run.stdout}\n{run.stderr}"
    result: dict[str, Any] = json.loads(lines[-1])
    assert run.returncode == 0 and result["ok"], json.dumps(result, ensure_ascii=False, indent=1)
    assert not result["violations"] and not result["csp"]
    visited = {p["name"] for p in result["pages"]}
    assert {"trade-zh", "position-item-zh", "financing-zh", "payables-en", "consents-en"} <= visited
    # The financing request was answered with the robot's decision, listed with it.
    assert "已提交" in result["financing"], result["financing"]
    assert "900.00" in result["financingRow"], result["financingRow"]
    assert all((out / f"{name}.png").is_file() for name in visited)
    # The four flows were shown side by side, the split and the confirmation are real.
    assert result["flows"] == ["commercial", "logistics", "capital", "information", "trade"]
    with httpx.Client(base_url=served.base, timeout=60) as client:
        seen = sign_in(client, tier1.admin)  # type: ignore[arg-type]
        after = ok(client.get(f"{API}/items/{item['item_id']}", headers=seen.auth))
        grantor = sign_in(client, parties["core"].admin)  # type: ignore[arg-type]
        consents = ok(client.get(f"{API}/consents", headers=grantor.auth))
    assert after["basis"] == "confirmed", after
    amounts = sorted(h["value"]["amount"] for h in after["holdings"])
    assert "1000.00" in amounts and len(after["holdings"]) == 3, after["holdings"]
    (passed,) = [h for h in after["holdings"] if h["holder_id"] == parties["logistics"].org_id]
    assert passed["value"]["amount"] == "500.00", passed
    assert [c["grantee_id"] for c in consents] == [parties["bank"].org_id], consents
    assert consents[0]["status"] == "revoked", consents
    assert consents[0]["revoked_reason"] == "The credit review is finished", consents
    assert result["tree"] == 3, result
