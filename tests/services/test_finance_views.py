"""What a credit officer reads (issue 15): financings by name, amount and bank, filtered by
bank; monitoring in words and CNY instead of a dict of ids and minor units."""

from __future__ import annotations

import datetime as dt

from fourflow.entrypoints.cli.finance_cmd import monitor_lines
from fourflow.services import financing
from tests.services.conftest import World, no_cold_start


def _ask(world: World, bank: str) -> None:
    item = world.item()
    (holding,) = world.holdings(item.id)
    financing.request_financing(
        uow_factory=world.uow, holding_id=holding.id, bank_id=world.id(bank), amount=1_000_000,
        actor_id=world.id("tier1"), as_of=world.clock.today(), cold_start=no_cold_start,
    )  # fmt: skip


def test_financings_are_listed_with_names_and_filtered_by_bank(credit_world: World) -> None:
    world = credit_world
    _ask(world, "bank")
    _ask(world, "bank2")
    every = financing.list_financings(uow_factory=world.uow)
    assert [r.bank_name for r in every] == [world.org["bank"].name, world.org["bank2"].name]
    assert {r.borrower_name for r in every} == {world.org["tier1"].name}
    assert {r.debtor_name for r in every} == {world.org["core"].name}
    (only,) = financing.list_financings(uow_factory=world.uow, bank=world.org["bank2"].uscc)
    assert only.financing.bank_id == world.id("bank2")


def test_monitoring_reads_in_words_and_cny() -> None:
    figures = {"population": 812, "reference": 500, "outcomes": 120, "decisions": 20,
               "approval_rate": 0.65, "mean_pd_now": 0.051, "mean_pd_reference": 0.049,
               "psi": 0.0312, "auc": 0.7123}  # fmt: skip
    banks = {"org-9": {"name": "Jiangnan Commercial Bank", "decisions": 12, "approved": 8,
                       "approval_rate": 0.6667, "expected_loss": 123_456,
                       "realised_loss": 0}}  # fmt: skip
    text = "\n".join(monitor_lines("scorecard-1", dt.date(2025, 1, 20), figures, banks))
    assert "mean PD now 5.1%" in text and "approval rate 65.0%" in text
    assert "population stability (PSI) 0.031" in text
    assert "realised AUC 0.712 on 120 outcomes" in text
    assert ("Jiangnan Commercial Bank: 12 decisions, 8 approved (66.7%), expected loss "
            "CNY 1,234.56, realised loss CNY 0.00") in text  # fmt: skip
    assert "org-9" not in text and "{" not in text


def test_a_member_sees_what_it_holds_owes_financed_and_has_pending(credit_world: World) -> None:
    from fourflow.services import items, position

    world = credit_world
    _ask(world, "bank")  # tier 1 holds the core's item and financed it at the bank
    supply = world.item(seller="tier2", buyer="tier1")  # tier 1 owes tier 2
    (share,) = world.holdings(supply.id)
    items.split(uow_factory=world.uow, holding_id=share.id, amount=1_000 * 100,
                actor_id=world.id("tier2"))  # fmt: skip
    mine = position.member_position(uow_factory=world.uow, org_id=world.id("tier1"))
    assert mine["member"] == world.org["tier1"].name
    (held,) = mine["holds"]
    assert held["debtor"] == world.org["core"].name and held["pledged_to"] is not None
    (owed,) = mine["owes"]
    assert owed["creditor"] == world.org["tier2"].name
    assert owed["outstanding"]["amount"] == "113,000.00"
    (fin,) = mine["financed"]
    assert fin["bank"] == world.org["bank"].name and fin["status"] in ("approved", "active")
    theirs = position.member_position(uow_factory=world.uow, org_id=world.id("tier2"))
    assert [p["kind"] for p in theirs["pending"]] == ["split"]  # not yet on the chain
    assert len(theirs["holds"]) == 2


def test_the_regulator_sees_terms_and_days_to_pay(credit_world: World) -> None:
    from fourflow.services import items
    from fourflow.services.supervision import regulator_summary

    world = credit_world
    paid = world.item()
    world.item()
    items.pay(
        uow_factory=world.uow, ledger=world.ledger, item_id=paid.id, amount=paid.face_value,
        value_date=world.clock.today(), reference="CAMT-9", payer_id=world.id("bank"),
        method="attested",
    )  # fmt: skip
    assert not world.relay().failed
    figures = regulator_summary(uow_factory=world.uow, as_of=world.clock.today())["all"]
    shown = figures.as_dict()
    term = (paid.maturity_date - paid.issue_date).days
    assert term <= 90 and shown["term_distribution"] == {
        "<=90": 2, "91-183": 0, "184-365": 0, ">365": 0
    }  # fmt: skip
    assert shown["days_to_pay"] == {"settled": 1, "mean": 0.0, "over_60": 0}
