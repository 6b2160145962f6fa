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
        govern=platform.govern,
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

    # Issue 20: a fourth trade's item, on a locked token route, settles at maturity by itself
    # (no `item pay`): the daily job collects it on its maturity day, and run again pays nothing.
    due = report.settled_at_maturity
    assert due["collected"] == "141250.00" and due["value_date"] == due["maturity"]
    assert (due["action"], due["second_run"], due["payments"]) == ("collected", "none", 1)
    assert due["tx"].startswith("0x")
    assert [(p["payee"], p["kind"]) for p in due["parts"]] == [(names["tier1"], "holder")]

    regulator = report.regulator["manufacturing"]
    assert regulator["trades"] == 4 and regulator["verified"] == 3 and regulator["failed"] == 1
    assert regulator["items_issued"] == 3 and regulator["settled"] == 2
    assert regulator["financed_amount"] == {"CNY": "225000.00"}
    assert regulator["settled_amount"] == {"CNY": "1141250.00"}

    result = audit(
        uow_factory=platform.uow_factory,
        ledger=platform.require_contracts(),
        reader_for=platform.reader_for,
    )
    assert result.ok, result.discrepancies
    assert result.items_checked == 3 and result.holdings_checked == 5
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
    assert second.regulator["all"]["trades"] == 8
    assert {p["address"] for p in first.parties} == {p["address"] for p in second.parties}
    result = audit(
        uow_factory=platform.uow_factory,
        ledger=platform.require_contracts(),
        reader_for=platform.reader_for,
    )
    assert result.ok, result.discrepancies
    assert result.items_checked == 6


def test_after_the_demo_the_council_not_the_operator_admits_a_bank(platform: Platform) -> None:
    """The demo ends the founding phase: Governance (operator, bank, core; 2 of 3, one day's
    timelock) owns the Registry, so a bank onboarded afterwards is not admitted on the
    operator's word; the council's votes admit it."""
    from fourflow.adapters.chain.errors import ChainError
    from fourflow.adapters.chain.ops import GOVERNANCE
    from fourflow.domain.parties import ROLE_BITS, Role
    from fourflow.services import onboarding, relay
    from fourflow.services.demo import MEMBERS, demo_uscc

    report = _run(platform)
    ledger = platform.require_contracts()
    governance = report.chain["contracts"][GOVERNANCE]
    assert ledger.view("Registry", "owner").lower() == governance.lower()
    assert platform.govern(["ignored"]) == governance  # handed over once
    by_uscc = {m.uscc: m.key for m in MEMBERS}
    keys = {by_uscc[p["uscc"]]: p for p in report.parties}

    newcomer = onboarding.onboard(
        uow_factory=platform.uow_factory, keystore=platform.keystore, name="自荐新银行",
        uscc=demo_uscc("320500", "MA1GG0001"), roles=[Role.BANK],
        accounts=["6222020001000009999"],
    )  # fmt: skip
    assert newcomer.chain_address is not None  # a bank is given its chain account at onboarding
    result = relay.relay(uow_factory=platform.uow_factory, ledger=ledger)
    assert result.failed[0][1] == "ownable: caller is not the owner"
    assert not ledger.read("member", newcomer.chain_address)["active"]

    operator = platform.operator_id()
    with platform.uow_factory() as uow:
        ids = {o.chain_address: o.id for o in uow.organisations.list()}
    bank, core = ids[keys["bank"]["address"]], ids[keys["core"]["address"]]
    proposal = ledger.propose_admission(
        operator, newcomer.id, newcomer.chain_address, ROLE_BITS[Role.BANK]
    )
    with pytest.raises(ChainError, match="not enough votes"):
        ledger.execute(operator, proposal)
    ledger.vote(bank, proposal)
    with pytest.raises(ChainError, match="timelock"):  # 2 of 3: a minority sees it a day first
        ledger.execute(operator, proposal)
    ledger.vote(core, proposal)  # unanimous: no delay
    ledger.execute(operator, proposal)
    assert ledger.read("member", newcomer.chain_address)["roles"] == ROLE_BITS[Role.BANK]
