"""The whole main path on a real anvil node and a real database (SQLite and PostgreSQL).

Documents -> verified trade -> debt item on chain -> passed up three tiers -> financed and
locked -> repaid and routed bank first; a failing trade refused; the regulator's figures; and
an audit proving the store and the chain agree.
"""

from __future__ import annotations

import datetime as dt

import pytest

from fourflow.bootstrap import Platform
from fourflow.domain.debt import accrued_interest, day_number
from fourflow.services.audit import audit
from fourflow.services.demo import DemoContext, DemoReport, run_demo

pytestmark = pytest.mark.chain

YUAN = 100


def _run(platform: Platform) -> DemoReport:
    ctx = DemoContext(
        uow_factory=platform.uow_factory,
        keystore=platform.keystore,
        ledger=platform.require_contracts(),
        clock=platform.clock,
        reader_for=platform.reader_for,
        operator_id=platform.operator_id(),
        cold_start=platform.cold_start,
    )
    return run_demo(ctx, today=platform.clock.today())


def _minor(text: str) -> int:
    units, _, cents = text.partition(".")
    return int(units) * YUAN + int(cents or 0)


def test_the_main_path_routes_the_repayment_bank_first(platform: Platform) -> None:
    report = _run(platform)

    statuses = [t["status"] for t in report.trades]
    assert statuses == ["verified", "verified", "failed"]
    failed = report.trades[2]
    assert [f["code"] for f in failed["findings"] if f["severity"] == "error"] == ["QTY_EXCEEDS"]
    assert report.refusals and "QTY_EXCEEDS" in report.refusals[0]["reasons"][0]

    item_a, item_b = report.items
    assert item_a["face_value"] == "1000000.00" and item_a["basis"] == "confirmed"
    assert item_a["status"] == "settled" and item_a["issue_tx"].startswith("0x")
    assert item_b["basis"] == "verified" and item_b["status"] == "active"

    approved, declined = report.financings
    assert approved["outcome"] == "approve" and approved["principal"] == "225000.00"
    assert declined["outcome"] == "decline"
    # The robot's hard rule first; then what drives the debtor's risk, in points.
    codes = [r["code"] for r in declined["reasons"]]
    assert codes[0] == "ADVANCE_LIMIT" and "ADVANCE_LIMIT" not in codes[1:]
    assert all(c.startswith("RISK_FACTOR:") for c in codes[1:])

    # Holdings: tier 1 700,000.00; tier 2 250,000.00 pledged for 225,000.00; tier 3 50,000.00.
    first, second = report.repayments
    start = dt.date.fromisoformat(approved["start"])
    pay1 = dt.date.fromisoformat(first["value_date"])
    pay2 = dt.date.fromisoformat(second["value_date"])
    rate = approved["rate_bps"]
    principal = 225_000 * YUAN
    interest1 = accrued_interest(principal, rate, (pay1 - start).days)
    parts1 = {(p["kind"], p["payee"]): _minor(p["amount"]) for p in first["parts"]}
    names = {p["key"]: p["name"] for p in report.parties}
    assert parts1 == {
        ("holder", names["tier1"]): 350_000 * YUAN,
        ("bank_interest", names["bank"]): interest1,
        ("bank_principal", names["bank"]): 125_000 * YUAN - interest1,
        ("holder", names["tier3"]): 25_000 * YUAN,
    }
    principal_left = principal - (125_000 * YUAN - interest1)
    interest2 = accrued_interest(principal_left, rate, (pay2 - pay1).days)
    parts2 = {(p["kind"], p["payee"]): _minor(p["amount"]) for p in second["parts"]}
    assert parts2 == {
        ("holder", names["tier1"]): 350_000 * YUAN,
        ("bank_interest", names["bank"]): interest2,
        ("bank_principal", names["bank"]): principal_left,
        ("holder", names["tier2"]): 125_000 * YUAN - principal_left - interest2,
        ("holder", names["tier3"]): 25_000 * YUAN,
    }
    assert sum(parts1.values()) == sum(parts2.values()) == 500_000 * YUAN

    regulator = report.regulator["manufacturing"]
    assert regulator["trades"] == 3 and regulator["verified"] == 2 and regulator["failed"] == 1
    assert regulator["items_issued"] == 2 and regulator["settled"] == 1
    assert regulator["financed_amount"] == {"CNY": "225000.00"}
    assert regulator["settled_amount"] == {"CNY": "1000000.00"}

    result = audit(
        uow_factory=platform.uow_factory,
        ledger=platform.require_contracts(),
        reader_for=platform.reader_for,
    )
    assert result.ok, result.discrepancies
    assert result.items_checked == 2 and result.holdings_checked == 4
    assert result.pending_ops == 0


def test_the_chain_holds_what_the_store_holds(platform: Platform) -> None:
    report = _run(platform)
    ledger = platform.require_contracts()
    item_a = report.items[0]
    on_chain = ledger.read("item", item_a["item_id"])
    assert int(on_chain["face_value"]) == 1_000_000 * YUAN
    assert int(on_chain["paid"]) == 1_000_000 * YUAN
    assert int(on_chain["basis"]) == 2
    assert int(on_chain["maturity_day"]) == day_number(dt.date.fromisoformat(item_a["maturity"]))
    assert len(ledger.read("item_holdings", item_a["item_id"])) == 3
    with platform.uow_factory() as uow:
        holdings = uow.items.holdings(item_a["item_id"])
    assert [h.amount for h in holdings] == [700_000 * YUAN, 250_000 * YUAN, 50_000 * YUAN]
    for holding in holdings:
        chain_holding = ledger.read("holding", holding.id)
        assert int(chain_holding["outstanding"]) == holding.outstanding == 0
        assert int(chain_holding["amount"]) == holding.amount


def test_running_twice_continues_the_same_chain_and_store(platform: Platform) -> None:
    first = _run(platform)
    second = _run(platform)
    assert second.run == first.run + 1
    assert second.chain["block_number"] > first.chain["block_number"]
    assert second.regulator["all"]["trades"] == 6
    assert {p["address"] for p in first.parties} == {p["address"] for p in second.parties}
    result = audit(
        uow_factory=platform.uow_factory,
        ledger=platform.require_contracts(),
        reader_for=platform.reader_for,
    )
    assert result.ok, result.discrepancies
    assert result.items_checked == 4
