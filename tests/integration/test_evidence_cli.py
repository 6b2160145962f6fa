"""Issue 15 from the `fourflow` command on a fresh home with its own local node: a warehouse
receipt pledge is a financing (listed, shown, counted by the regulator, exported for 中登网
with the receivable pledges), mandates are granted, listed and revoked, fraud signals listed
and cleared only when open, each with --json."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from fourflow.services.demo import MEMBERS
from fourflow.services.registration import CSV_COLUMNS
from tests.integration.conftest import Run

pytestmark = pytest.mark.chain

WAREHOUSE = ("苏州港保税仓储有限公司", "91320500MA1FF0009R")
BANK, SUPPLIER = ((m.name, m.uscc) for key in ("bank", "tier1") for m in MEMBERS if m.key == key)


def test_a_receipt_pledge_is_a_financing_listed_counted_and_registered(
    run: Run, tmp_path: Path
) -> None:
    code, _, err = run("init", "--demo")  # members act with --as in a demo home
    assert code == 0, err
    members = [(WAREHOUSE, "warehouse"), (BANK, "bank"), (SUPPLIER, "supplier")]
    for (name, uscc), role in members:
        code, out, err = run("org", "add", "--name", name, "--uscc", uscc, "--role", role)
        assert code == 0 and "refused" not in err, err + out
    bank, tier1 = BANK[1], SUPPLIER[1]

    # a warehouse receipt of 10 t of rebar at 4,000.00 a tonne: 28,000.00 after a 30% haircut
    code, _, err = run("risk", "price", "REBAR-HRB400", "4000", "--json")
    assert code == 0, err
    code, out, err = run("receipt", "issue", "--holder", tier1, "--goods", "REBAR-HRB400",
                         "--description", "螺纹钢 HRB400", "--quantity", "10", "--unit", "TNE",
                         "--location", "SZ-A1", "--evidence", "urn:epcis:receiving:1",
                         "--as", WAREHOUSE[1], "--json")  # fmt: skip
    assert code == 0, err
    receipt = json.loads(out)["receipt_id"]
    code, _, err = run("receipt", "pledge", receipt, "--bank", bank, "--amount", "50000",
                       "--as", tier1, "--json")  # fmt: skip
    assert code == 1 and "GOODS_VALUE" in err and "financing request fin-" in " ".join(err.split())
    code, out, err = run("receipt", "pledge", receipt, "--bank", bank, "--amount", "20000",
                         "--as", tier1, "--json")  # fmt: skip
    assert code == 0, err
    pledged = json.loads(out)
    assert pledged["financing"].startswith("fin-") and pledged["chain_refused"] == []

    code, out, err = run("finance", "list", "--kind", "goods", "--json")
    assert code == 0, err
    goods = json.loads(out)
    assert [(g["kind"], g["status"]) for g in goods] == [("goods", "declined"),
                                                         ("goods", "active")]  # fmt: skip
    assert goods[1]["request"] == pledged["financing"] and goods[1]["receipt"] == receipt
    assert goods[1]["principal"] == "20000.00" and goods[1]["debtor_name"] == WAREHOUSE[0]
    assert len(goods[1]["decision"]["input_hash"]) == 64
    code, out, _ = run("finance", "show", pledged["financing"], "--json")
    assert json.loads(out)["decision"]["value"] == "28000.00"
    code, out, err = run("finance", "list")  # the table (narrow here) prints both rows
    assert code == 0 and out.count("│ fin") == 2, err + out

    code, out, err = run("regulator", "--json")
    assert code == 0, err
    figures = json.loads(out)["warehouse_receipt"]
    assert (figures["financed"], figures["declined"]) == (1, 1)
    assert figures["outstanding_amount"] == {"CNY": "20000.00"}

    # 中登网: the goods pledge as a 仓单质押 record (the declined request has nothing to register)
    code, out, err = run("finance", "registrations", "--json")
    assert code == 0, err
    (wr,) = json.loads(out)
    fields = {f["key"]: f["value"] for f in wr["fields"]}
    assert wr["kind"] == "goods" and fields["registration.type"] == "仓单质押"
    assert fields["registration.action"] == "初始登记"  # a live pledge: register it
    assert fields["property.receipt_number"] == receipt and fields["pledgee.uscc"] == bank
    code, out, err = run("finance", "registrations", "--kind", "goods", "--csv",
                         "--set", "secured.term_end=2027-06-30")  # fmt: skip
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert set(rows[0]) == set(CSV_COLUMNS) and {r["kind"] for r in rows} == {"goods"}
    assert next(r for r in rows if r["key"] == "secured.term_end")["value"] == "2027-06-30"
    code, _, err = run("finance", "registrations", "--set", "pledgor.adress=x")
    assert code == 1 and "no registration field named pledgor.adress" in err

    # audit: the active goods financing is the chain's pledge; a store that says otherwise is named
    code, out, err = run("audit", "--json")
    assert code == 0 and json.loads(out)["ok"], out + err
    moved = "UPDATE goods_financings SET bank_id = (SELECT id FROM organisations WHERE uscc = ?) "
    with closing(sqlite3.connect(tmp_path / "home" / "fourflow.db")) as db, db:
        db.execute(moved + "WHERE id = ?", (WAREHOUSE[1], pledged["financing"]))
    code, out, _ = run("audit", "--json")
    found = [(d["kind"], d["id"], d["field"]) for d in json.loads(out)["discrepancies"]]
    assert code == 1 and found == [("goods_financing", pledged["financing"], "pledge_bank")]
    with closing(sqlite3.connect(tmp_path / "home" / "fourflow.db")) as db, db:
        db.execute(moved + "WHERE id = ?", (bank, pledged["financing"]))
    code, out, _ = run("audit", "--json")
    assert code == 0, out

    # mandates: granted by the principal, revoked only by it (or the operator), with a reason
    code, out, err = run("mandate", "grant", "--principal", tier1, "--agent", WAREHOUSE[1],
                         "--kinds", "despatch_advice", "--from", "2026-01-01", "--json")  # fmt: skip
    assert code == 0, err
    mandate = json.loads(out)
    assert mandate["kinds"] == ["despatch_advice"] and mandate["revoked_on"] is None
    code, _, err = run("mandate", "grant", "--principal", tier1, "--agent", WAREHOUSE[1],
                       "--kinds", "despatch")  # fmt: skip
    assert code == 1 and "unknown document kind(s) despatch" in " ".join(err.split())
    code, _, err = run("mandate", "revoke", mandate["id"], "--as", WAREHOUSE[1], "--reason", "x")
    assert code == 1 and "only its principal" in " ".join(err.split())
    code, out, err = run("mandate", "revoke", mandate["id"], "--as", tier1,
                         "--reason", "we changed carriers", "--on", "2026-06-30", "--json")  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["revoked_on"] == "2026-06-30"
    code, out, _ = run("mandate", "list", "--org", WAREHOUSE[1], "--json")
    (listed,) = json.loads(out)
    assert listed["revoke_reason"] == "we changed carriers"


def test_receivable_pledges_are_registered_and_signals_listed_after_the_demo(run: Run) -> None:
    code, out, err = run("demo", "--json")
    assert code == 0, err
    demo = json.loads(out)
    code, out, err = run("finance", "registrations", "--json")
    assert code == 0, err
    (record,) = json.loads(out)  # the demo's repaid financing; its declined one has no pledge
    fields = {f["key"]: f["value"] for f in record["fields"]}
    assert record["kind"] == "receivable" and fields["registration.type"] == "应收账款质押"
    assert fields["registration.action"] == "注销登记"  # repaid and released: discharge it
    code, out, _ = run("finance", "list", "--kind", "receivable", "--json")
    assert [r["kind"] for r in json.loads(out)] == ["receivable", "receivable"]

    # fraud signals: a clean demo trade has none open; clearing one that is not open is refused
    trade = demo["trades"][0]["trade_id"]
    code, out, err = run("signal", "list", trade, "--json")
    assert code == 0, err
    assert json.loads(out)["open"] == [] and json.loads(out)["cleared"] == []
    code, _, err = run("signal", "clear", trade, "VOLUME_SPIKE", "--reason", "seasonal",
                       "--by", "wang.li")  # fmt: skip
    assert code == 1 and "has no open VOLUME_SPIKE signal" in " ".join(err.split())
    code, _, err = run("signal", "list", "trade-nope")
    assert code == 1 and "trade trade-nope does not exist" in err


def _words(text: str) -> str:
    """Text without the error box's borders and line breaks."""
    return " ".join(text.replace("│", " ").split())


def test_acting_for_another_party_needs_a_demo_home(run: Run) -> None:
    code, _, err = run("init")  # a platform home: the CLI acts as the operator only
    assert code == 0, err
    code, _, err = run("mandate", "revoke", "mandate-1", "--as", SUPPLIER[1], "--reason", "x")
    assert code == 2 and "acts as another organisation" in _words(err)
    code, _, err = run("signal", "clear", "trade-1", "VOLUME_SPIKE", "--reason", "x",
                       "--by", "wang.li", "--as", BANK[1])  # fmt: skip
    assert code == 2 and "acts as another organisation" in _words(err)
    code, _, err = run("mandate", "revoke", "mandate-1", "--as", "operator", "--reason", "x")
    assert code == 1 and "mandate mandate-1 does not exist" in err
