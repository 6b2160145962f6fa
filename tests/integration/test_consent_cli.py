"""`fourflow consent` and `fourflow data` in a demo home, where `--as` acts for the core
enterprise and the bank: a read without consent is refused and not metered; the core
enterprise prices and grants; the bank's read is metered at the price; the statement sums it;
a bank cannot grant itself; after revocation the read is refused again."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from fourflow.services.demo import MEMBERS
from tests.integration.conftest import Run

pytestmark = pytest.mark.chain

USCC = {m.key: m.uscc for m in MEMBERS}


def test_consent_and_metered_reads_from_the_cli(run: Run) -> None:
    code, _, err = run("demo", "--json")
    assert code == 0, err
    core, bank = USCC["core"], USCC["bank"]
    read = ("data", "read", "trades", "--as", bank, "--grantor", core, "--purpose",
            "credit_review", "--by", "li.wei", "--json")  # fmt: skip
    code, _, err = run(*read)
    assert code == 1 and "no consent of" in " ".join(err.split()), err
    code, out, err = run("data", "price", "set", "trades=2.50", "--as", core, "--json")
    assert code == 0, err
    assert json.loads(out)[0]["price"] == "2.50"
    until = (dt.date.today() + dt.timedelta(days=700)).isoformat()
    grant = ("consent", "grant", "--to", bank, "--kinds", "trades", "--purpose",
             "credit_review", "--until", until, "--json")  # fmt: skip
    code, _, err = run(*grant, "--as", bank)  # a bank granting itself
    assert code == 1 and "only a core enterprise grants" in " ".join(err.split()), err
    code, out, err = run(*grant, "--as", core, "--by", "wang.fang")
    assert code == 0, err
    consent = json.loads(out)
    assert consent["status"] == "active" and consent["granted_by"] == "wang.fang"

    code, out, err = run(*read)
    assert code == 0, err
    done = json.loads(out)
    assert done["read"]["fee"] == "2.50" and done["read"]["reader"] == "li.wei"
    assert done["read"]["records"] == len(done["records"]) >= 1
    month = done["read"]["read_at"][:7]
    code, out, err = run("data", "statement", "--org", core, "--month", month, "--json")
    assert code == 0, err
    assert json.loads(out)["total"] == {"CNY": "2.50"}

    code, _, err = run("consent", "revoke", consent["consent_id"], "--as", core, "--reason", "done")
    assert code == 0, err
    code, _, err = run(*read)
    assert code == 1 and "no consent of" in " ".join(err.split())
    code, out, err = run("data", "usage", "--org", core, "--json")
    assert code == 0, err
    assert [u["read_id"] for u in json.loads(out)] == [done["read"]["read_id"]]
    code, out, _ = run("consent", "list", "--org", core, "--json")
    assert [c["status"] for c in json.loads(out)] == ["revoked"]
    # the grant and the revocation were anchored on chain as the CLI recorded them
    code, out, err = run("audit", "--json")
    trail = json.loads(out)["api_audit_trail"]
    assert trail["anchored_consents"] == 2 and trail["problems"] == [], (trail, err)
