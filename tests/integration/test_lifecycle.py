"""A debt item's whole life on the real anvil node, through the same ChainLedger as production.

The worked example (docs/routing.md): a CNY item of 1,000,000.00; tier 1 passes 300,000.00 to
tier 2 and keeps 700,000.00; tier 2 pledges its 300,000.00 to the bank for 270,000.00; the
debtor pays 500,000.00 and then the rest. Every routed amount is asserted in the store and on
the chain, and the audit proves the two agree. Value dates are in the past (day numbers may
not be in the chain's future).
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from dataclasses import dataclass

import pytest

from fourflow.bootstrap import Platform
from fourflow.domain.debt import DebtItem, accrued_interest
from fourflow.domain.financing import FinancingStatus, Outcome
from fourflow.domain.parties import Organisation
from fourflow.domain.settlement import RouteKind
from fourflow.risk.features import features
from fourflow.services import common, credit, financing, items, onboarding, relay
from fourflow.services.audit import audit
from fourflow.services.demo import MEMBERS
from fourflow.services.ports import OpStatus
from tests.trades import TWO_LINES, tier1_sale, verified_trade

pytestmark = pytest.mark.chain

YUAN = 100


@dataclass
class Story:
    """The network and the tier-1 item of one test."""

    p: Platform
    org: dict[str, Organisation]
    item: DebtItem
    today: dt.date

    def relay(self) -> None:
        result = relay.relay(uow_factory=self.p.uow_factory, ledger=self.p.require_contracts())
        assert not result.failed, result.failed

    def holdings(self) -> list[items.Holding]:
        with self.p.uow_factory() as uow:
            return uow.items.holdings(self.item.id)


def _story(
    p: Platform,
    *,
    days_ago: int = 110,
    route: RouteKind | None = None,
    confirm: bool = True,
    org: dict[str, Organisation] | None = None,
) -> Story:
    """Onboard the demo network (unless ``org`` holds it already), ingest and verify one trade,
    issue its confirmed item (its repayment route locked with the confirmation: ``route``,
    default the debtor's account)."""
    today = p.clock.today()
    if org is None:
        org = {}
        for m in MEMBERS:
            org[m.key] = onboarding.onboard(
                uow_factory=p.uow_factory, keystore=p.keystore, name=m.name, uscc=m.uscc,
                roles=m.roles, accounts=[m.account],
            )  # fmt: skip
    start = today - dt.timedelta(days=days_ago)
    tag = uuid.uuid4().hex[:8]
    raw = tier1_sale(f"LC-{tag}", start, TWO_LINES)
    trade_id, issue_day = verified_trade(
        p, [(org["tier1"].id, raw, "lifecycle.json")], f"INV-LC-{tag}", start
    )
    item = items.issue_item(
        uow_factory=p.uow_factory, ledger=p.require_contracts(), clock=p.clock,
        trade_id=trade_id, as_of=issue_day, confirm=confirm, route=route,
    )  # fmt: skip
    story = Story(p, org, item, today)
    story.relay()
    assert item.face_value == 1_000_000 * YUAN
    return story


def _pass_and_pledge(s: Story) -> tuple[items.Holding, items.Holding, int, dt.date]:
    """Tier 1 passes 300,000.00 to tier 2, which pledges it for 270,000.00."""
    (first,) = s.holdings()
    to_tier2 = items.transfer(
        uow_factory=s.p.uow_factory, holding_id=first.id, amount=300_000 * YUAN,
        to_org_id=s.org["tier2"].id, actor_id=s.org["tier1"].id,
    )  # fmt: skip
    s.relay()
    pledge_day = s.item.issue_date + dt.timedelta(days=5)
    fin = financing.request_financing(
        uow_factory=s.p.uow_factory, cold_start=s.p.cold_start, holding_id=to_tier2.id,
        bank_id=s.org["bank"].id, amount=270_000 * YUAN, actor_id=s.org["tier2"].id,
        as_of=pledge_day,
    )  # fmt: skip
    assert fin.decision is not None and fin.decision.outcome is Outcome.APPROVE
    assert fin.principal == 270_000 * YUAN
    s.relay()
    return first, to_tier2, fin.rate_bps, pledge_day


def _parts(repayment: items.Repayment) -> dict[tuple[str, str], int]:
    return {(p.kind, p.payee_id): p.amount for p in repayment.parts}


def _audit_ok(p: Platform) -> None:
    report = audit(uow_factory=p.uow_factory, ledger=p.require_contracts(), reader_for=p.reader_for)
    assert report.ok, report.discrepancies
    assert report.pending_ops == 0


@pytest.mark.parametrize("method", ["debtor", "attested"])
def test_worked_example_routes_the_bank_first_then_the_holders(
    platform: Platform, method: items.PaymentMethod
) -> None:
    s = _story(platform)
    tier1, tier2, bank = s.org["tier1"].id, s.org["tier2"].id, s.org["bank"].id
    kept, passed, rate, start = _pass_and_pledge(s)
    assert [h.amount for h in s.holdings()] == [700_000 * YUAN, 300_000 * YUAN]

    payer = bank if method == "attested" else s.org["core"].id
    pay1 = s.item.maturity_date - dt.timedelta(days=30)
    first = items.pay(
        ledger=platform.require_contracts(),
        uow_factory=platform.uow_factory, item_id=s.item.id, amount=500_000 * YUAN,
        value_date=pay1, reference=f"CAMT054-{uuid.uuid4().hex[:6]}-1", payer_id=payer,
        method=method,
    )  # fmt: skip
    s.relay()
    interest1 = accrued_interest(270_000 * YUAN, rate, (pay1 - start).days)
    assert interest1 > 0
    assert _parts(first) == {
        ("holder", tier1): 350_000 * YUAN,
        ("bank_interest", bank): interest1,
        ("bank_principal", bank): 150_000 * YUAN - interest1,
    }

    pay2 = s.item.maturity_date
    second = items.pay(
        ledger=platform.require_contracts(),
        uow_factory=platform.uow_factory, item_id=s.item.id, amount=500_000 * YUAN,
        value_date=pay2, reference=f"CAMT054-{uuid.uuid4().hex[:6]}-2", payer_id=payer,
        method=method,
    )  # fmt: skip
    s.relay()
    principal_left = 270_000 * YUAN - (150_000 * YUAN - interest1)
    interest2 = accrued_interest(principal_left, rate, (pay2 - pay1).days)
    assert _parts(second) == {
        ("holder", tier1): 350_000 * YUAN,
        ("bank_interest", bank): interest2,
        ("bank_principal", bank): principal_left,
        ("holder", tier2): 150_000 * YUAN - principal_left - interest2,
    }
    # The bank has its principal plus interest; tier 2 the rest of its 300,000.00.
    assert principal_left + (150_000 * YUAN - interest1) == 270_000 * YUAN

    ledger = platform.require_contracts()
    chain_item = ledger.read("item", s.item.id)
    assert int(chain_item["paid"]) == 1_000_000 * YUAN and int(chain_item["state"]) == 2
    chain_pledged = ledger.read("holding", passed.id)
    assert int(chain_pledged["paid_to_bank"]) == 270_000 * YUAN + interest1 + interest2
    assert int(chain_pledged["paid_to_holder"]) == 150_000 * YUAN - principal_left - interest2
    assert int(ledger.read("holding", kept.id)["paid_to_holder"]) == 700_000 * YUAN

    view = items.describe_item(uow_factory=platform.uow_factory, item_id=s.item.id)
    assert view["status"] == "settled" and view["outstanding"]["minor"] == 0
    pledged_row = next(h for h in view["holdings"] if h["holding_id"] == passed.id)
    assert pledged_row["pledge"]["status"] == "released"
    assert pledged_row["paid_to_bank"]["minor"] == 270_000 * YUAN + interest1 + interest2
    settled = {r["party_id"]: r["minor"] for r in view["settled_by_party"]}
    assert settled == {
        tier1: 700_000 * YUAN,
        bank: 270_000 * YUAN + interest1 + interest2,
        tier2: 150_000 * YUAN - principal_left - interest2,
    }
    with platform.uow_factory() as uow:
        fin = uow.financings.by_holding(passed.id)
    assert fin is not None and fin.status is FinancingStatus.REPAID
    _audit_ok(platform)


def test_history_shows_who_held_what_from_whom(platform: Platform) -> None:
    s = _story(platform)
    _, passed, _, _ = _pass_and_pledge(s)
    history = items.item_history(uow_factory=platform.uow_factory, item_id=s.item.id)
    # The debtor's route, locked with its confirmation; the holder's pledge offer, then the
    # bank's own acceptance.
    assert [e["op"] for e in history] == [
        "issue_item", "lock_route", "transfer", "pledge", "accept_pledge",
    ]  # fmt: skip
    assert history[1]["by"] == s.org["core"].name
    assert history[4]["by"] == s.org["bank"].name
    transfer = history[2]
    assert transfer["by"] == s.org["tier1"].name and transfer["to"] == s.org["tier2"].name
    assert transfer["amount"] == {"amount": "300000.00", "minor": 30_000_000, "currency": "CNY"}
    assert history[3]["to"] == s.org["bank"].name and history[3]["holding"] == passed.id
    assert all(e["status"] == "done" and str(e["tx"]).startswith("0x") for e in history)


def test_a_payment_reference_is_recorded_once(platform: Platform) -> None:
    s = _story(platform)
    reference = f"CAMT054-{uuid.uuid4().hex[:6]}"
    kwargs = dict(
        ledger=platform.require_contracts(),
        uow_factory=platform.uow_factory, item_id=s.item.id, amount=1_000 * YUAN,
        value_date=s.item.issue_date + dt.timedelta(days=10), reference=reference,
        payer_id=s.org["core"].id, method="debtor",
    )  # fmt: skip
    items.pay(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(items.ConflictError, match=reference):
        items.pay(**kwargs)  # type: ignore[arg-type]
    s.relay()
    _audit_ok(platform)


def test_default_passes_the_pledged_holding_to_the_bank(platform: Platform) -> None:
    s = _story(platform)  # matured 14 days ago: overdue past the 5 grace days
    tier1, tier2, bank = s.org["tier1"].id, s.org["tier2"].id, s.org["bank"].id
    kept, passed, _, _ = _pass_and_pledge(s)
    foreclosed = items.mark_default(
        uow_factory=platform.uow_factory, item_id=s.item.id, actor_id=bank, as_of=s.today
    )
    s.relay()
    assert [h.id for h in foreclosed] == [passed.id]
    ledger = platform.require_contracts()
    assert int(ledger.read("item", s.item.id)["state"]) == 3
    chain_h = ledger.read("holding", passed.id)
    assert chain_h["holder"].lower() == str(s.org["bank"].chain_address).lower()
    recourse = ledger.read("recourse", passed.id)
    assert recourse is not None and int(recourse["principal"]) == 270_000 * YUAN
    assert recourse["pledgor"].lower() == str(s.org["tier2"].chain_address).lower()
    _audit_ok(platform)

    # A late payment still routes: the bank now holds tier 2's part outright.
    late = items.pay(
        ledger=platform.require_contracts(),
        uow_factory=platform.uow_factory, item_id=s.item.id, amount=100_000 * YUAN,
        value_date=s.today - dt.timedelta(days=1), reference=f"LATE-{uuid.uuid4().hex[:6]}",
        payer_id=s.org["core"].id, method="debtor",
    )  # fmt: skip
    s.relay()
    assert _parts(late) == {("holder", tier1): 70_000 * YUAN, ("holder", bank): 30_000 * YUAN}
    assert tier2 not in {p.payee_id for p in late.parts}
    assert kept.holder_id == tier1
    _audit_ok(platform)
    with platform.uow_factory() as uow:
        ops = uow.outbox.for_subject(s.item.id)
    assert all(o.status is OpStatus.DONE for o in ops)


def test_a_dispute_freezes_the_item_and_counts_for_the_risk_engine_from_its_day(
    platform: Platform,
) -> None:
    s = _story(platform)
    core, tier1, trade_id = s.org["core"].id, s.org["tier1"].id, s.item.trade_id
    day = s.item.issue_date + dt.timedelta(days=10)
    dispute = functools.partial(
        items.dispute_item, uow_factory=platform.uow_factory, item_id=s.item.id,
        reason="short delivery",
    )  # fmt: skip
    with pytest.raises(items.PermissionDeniedError, match="only the debtor"):
        dispute(actor_id=tier1, on=day)
    with pytest.raises(items.DomainValueError, match="before the item's issue date"):
        dispute(actor_id=core, on=s.item.issue_date - dt.timedelta(days=1))
    digest = dispute(actor_id=core, on=day)
    assert digest == items.text_hash("short delivery")
    s.relay()

    # Frozen while it stands: no transfer, no second dispute, no financing.
    (first,) = s.holdings()
    with pytest.raises(items.ConflictError, match="disputed"):
        items.transfer(
            uow_factory=platform.uow_factory, holding_id=first.id, amount=1_000 * YUAN,
            to_org_id=s.org["tier2"].id, actor_id=tier1,
        )  # fmt: skip
    with pytest.raises(items.ConflictError, match="disputed"):
        dispute(actor_id=core, on=day)
    with pytest.raises(items.ConflictError, match="disputed"):
        financing.request_financing(
            uow_factory=platform.uow_factory, holding_id=first.id, bank_id=s.org["bank"].id,
            cold_start=platform.cold_start,
            amount=100_000 * YUAN, actor_id=tier1, as_of=day,
        )  # fmt: skip

    # The risk engine sees the dispute from its day on, not before.
    def dispute_rate(as_of: dt.date) -> float:
        with platform.uow_factory() as uow:
            involved = uow.trades.involving([core, tier1])
            history = credit.FACTS.history(uow, involved)
            own = [f for f in history.all() if f.trade_id == trade_id]
            terms, _ = credit.asset_terms(uow, s.item, first, own, as_of)
        return float(features(history, terms, as_of)["debtor_dispute_rate"])

    with platform.uow_factory() as uow:
        assert uow.items.disputes([trade_id]) == {trade_id: [day]}
    assert dispute_rate(day - dt.timedelta(days=1)) == 0.0
    assert dispute_rate(day) > 0.0

    # Only the debtor withdraws it, or the operator resolves it with a recorded resolution.
    lift = functools.partial(
        items.lift_dispute, uow_factory=platform.uow_factory, item_id=s.item.id
    )
    with pytest.raises(items.PermissionDeniedError, match="lifted by the debtor"):
        lift(actor_id=tier1, resolution="paid")
    lift(actor_id=core)
    s.relay()
    with platform.uow_factory() as uow:
        assert not common.is_disputed(uow, s.item.id)
    again = day + dt.timedelta(days=3)
    dispute(actor_id=core, on=again)
    operator = platform.operator_id()
    lift(actor_id=operator, operator_id=operator, resolution="credit note agreed")
    s.relay()
    moved = items.transfer(
        uow_factory=platform.uow_factory, holding_id=first.id, amount=1_000 * YUAN,
        to_org_id=s.org["tier2"].id, actor_id=tier1,
    )  # fmt: skip
    s.relay()
    assert moved.amount == 1_000 * YUAN
    # A dispute raised counts even once lifted: it says how this debtor behaves.
    with platform.uow_factory() as uow:
        assert uow.items.disputes([trade_id]) == {trade_id: [day, again]}
        assert uow.items.disputes()[trade_id] == [day, again]
    history = items.item_history(uow_factory=platform.uow_factory, item_id=s.item.id)
    assert [e["op"] for e in history][2:6] == [  # after issue_item and the route's lock_route
        "dispute", "withdraw_dispute", "dispute", "resolve_dispute"
    ]  # fmt: skip
    _audit_ok(platform)
