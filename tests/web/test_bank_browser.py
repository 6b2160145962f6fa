"""The bank's review queue and the supervision dashboard in a real browser: `fourflow serve` on
a fresh home on 127.0.0.1 with a four-eyes limit of 100,000.00; the world is built over HTTP
(the parties registered and admitted, a trade uploaded by its parties, verified, issued and
confirmed; the bank's policy refers every request, changed with four eyes; tier 1 asks for
225,000.00: referred). Then web/e2e/bank-queue.mjs drives Debian's chromium through
playwright-core: the approver's early second approval is refused in words, the credit officer
approves in English (a proposal above the limit), the approver's second approval takes effect,
the regulator finds the financing on its dashboard and the district's local government (in
English) its platform's trade. axe-core checks every page visited.
Screenshots are in the test's tmp directory. Needs `make setup` (the built app, chromium, the
web's node modules): it fails, never skips, without them."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest

from tests.api.world import (
    API,
    KYC,
    PASSWORD,
    Person,
    documents_by_issuer,
    invite,
    ok,
    register_and_admit,
    register_local_government,
    sign_in,
)
from tests.web.test_browser import BROWSER_TIMEOUT_S, Served, _chromium, serve_home

pytestmark = [pytest.mark.chain, pytest.mark.slow, pytest.mark.xdist_group("web-browser-bank")]

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "web" / "e2e" / "bank-queue.mjs"
FOUR_EYES_LIMIT = "100000"


@pytest.fixture
def served_limit(tmp_path: Path) -> Iterator[Served]:
    """`fourflow serve` on a fresh home (its own anvil node) on a free loopback port, with a
    four-eyes limit below the request."""
    with serve_home(tmp_path, FOURFLOW_FOUR_EYES_LIMIT=FOUR_EYES_LIMIT) as served:
        yield served


def _secret(person: Person) -> str:
    """The person's TOTP secret ("" when its sign-in needs no second factor)."""
    return str(pyotp.parse_uri(person.totp_uri).secret) if person.totp_uri else ""


def test_referral_decided_with_four_eyes_in_two_browsers(
    served_limit: Served, tmp_path: Path
) -> None:
    served = served_limit
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
            for key in ("core", "tier1", "logistics", "bank", "regulator")
        }
        bank, tier1, core = parties["bank"], parties["tier1"], parties["core"]
        officer = invite(client, bank, "credit_officer")  # type: ignore[arg-type]
        approver = invite(client, bank, "approver")  # type: ignore[arg-type]
        # A trade of tier 1 to the core enterprise, 20 days ago: verified, issued, confirmed.
        start = today - dt.timedelta(days=20)
        trade_ids: set[str] = set()
        for key, raw in documents_by_issuer("WEB-BANK", start):
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
        confirmed = ok(
            client.post(f"{API}/items/{item['item_id']}/confirmation", headers=core.admin.auth)
        )
        holding = confirmed["holdings"][0]["holding_id"]
        # The bank refers every request to its people (a policy change with four eyes).
        ok(client.put(f"{API}/policy", json={"fields": {"refer_pd": 0.0, "max_pd": 1.0}},
                      headers=bank.admin.auth), 202)  # fmt: skip
        ok(client.post(f"{API}/policy/approval", json={"agree": True}, headers=approver.auth))
        fin = ok(
            client.post(f"{API}/financings", json={"holding_id": holding, "bank": bank.org_id,
                        "amount": "225000.00"}, headers=tier1.admin.auth),
            201,
        )  # fmt: skip
        assert fin["status"] == "referred", fin
        # The district's scenario platform: its local government admits the trade's parties
        # and the bank, and reads its figures on the dashboard.
        district = register_local_government(client, operator, "district")  # type: ignore[arg-type]
        created = ok(client.post(f"{API}/platforms", headers=operator.auth, json={
            "name": "姑苏区供应链金融服务平台", "operator": district.org_id,
            "scenarios": ["manufacturing"], "region": "苏州市姑苏区"}), 201)  # fmt: skip
        platform = f"{API}/platforms/{created['id']}"
        for party in (core, tier1):
            admit = {"org": party.org_id, "checks": KYC, "note": "licence checked on site"}
            ok(client.post(f"{platform}/members", json=admit, headers=district.admin.auth), 201)
        ok(client.post(f"{platform}/banks", json={"bank": bank.org_id},
                       headers=district.admin.auth), 201)  # fmt: skip
    fin_id = fin["financing_id"]
    people = {
        "officer": {"email": officer.email, "totp_secret": _secret(officer)},
        "approver": {"email": approver.email, "totp_secret": _secret(approver)},
        "regulator": {"email": parties["regulator"].admin.email,
                      "totp_secret": _secret(parties["regulator"].admin)},
        "district": {"email": district.admin.email, "totp_secret": _secret(district.admin)},
    }  # fmt: skip
    out = tmp_path / "screenshots"
    env: dict[str, str] = {
        **os.environ,
        "BASE_URL": served.base, "OUT_DIR": str(out), "CHROMIUM": _chromium(),
        "PASSWORD": PASSWORD, "PEOPLE": json.dumps(people), "FINANCING_ID": fin_id,
        "TRADE_ID": trade_id, "PLATFORM_NAME": created["name"],
    }  # fmt: skip
    run = subprocess.run(
        ["node", str(SCRIPT)], cwd=SCRIPT.parent, env=env, capture_output=True, text=True,
        timeout=BROWSER_TIMEOUT_S, check=False,
    )  # fmt: skip
    lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
    assert lines, f"exit {run.returncode}\n{run.stdout}\n{run.stderr}"
    result: dict[str, Any] = json.loads(lines[-1])
    assert run.returncode == 0 and result["ok"], json.dumps(result, ensure_ascii=False, indent=1)
    # The early second approval was refused in words (the API's 404 problem detail).
    assert "404" in result["refusal"] and "no proposal waiting for approval" in result["refusal"]
    # The officer's approval above the limit was a proposal; the approver's made it a decision.
    assert "waits for a second person" in result["proposed"], result["proposed"]
    assert fin_id in result["approved"] and "已批准" in result["approved"], result["approved"]
    assert not result["violations"] and not result["csp"]
    visited = {p["name"] for p in result["pages"]}
    assert {"bank-queue-zh-approver", "bank-approval-refused-zh", "bank-decide-en",
            "bank-portfolio-en", "bank-policy-en", "bank-queue-zh-after",
            "bank-portfolio-zh", "supervision-zh", "supervision-platform-en"} <= visited  # fmt: skip
    assert all((out / f"{name}.png").is_file() for name in visited)
    # The decision is real, taken by both people.
    with httpx.Client(base_url=served.base, timeout=60) as client:
        seen = sign_in(client, approver)  # type: ignore[arg-type]
        decided = ok(client.get(f"{API}/financings/{fin_id}", headers=seen.auth))
    assert decided["status"] in ("approved", "active"), decided
    assert decided["principal"] == "225000.00"
    by = decided["decision"]["decided_by"]
    assert "credit_officer@bank.example.cn" in by and "approver@bank.example.cn" in by, by
