"""Payment on its day (issue 20), on a real anvil node whose clock the test moves forward.

Each test runs a platform on its own node (moving the clock must not disturb other tests):
* an item on a token route settles at maturity with no ``item pay``, routed bank first, and the
  job run twice that day pays once;
* a short-funded item is partly paid, overdue, then defaulted after grace with the pledge
  enforced (the bank becomes the holder; the pledgor's recourse is on chain);
* a route change without the pledgee's signature is refused by the service and by the chain;
  with it, the account bank moves;
* an unpledged item unpaid after grace is left to the consortium; a route moved on the chain
  outside the platform is named by the audit.
(The bypass check on ingested camt statements needs no chain: tests/services/
test_statement_bypass.py.)
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from fourflow.adapters.chain.client import TxRequest
from fourflow.adapters.chain.errors import OperationRejectedError
from fourflow.adapters.chain.node import AnvilNode
from fourflow.bootstrap import Platform, Settings
from fourflow.domain.errors import PermissionDeniedError
from fourflow.domain.parties import Role
from fourflow.domain.settlement import NoticeKind, RouteKind
from fourflow.services import commands as cmd
from fourflow.services import (
    items,
    margin,
    onboarding,
    receipts,
    relay,
    settlement,
    settlement_figures,
)
from fourflow.services.audit import audit, names
from fourflow.services.demo import demo_uscc
from fourflow.services.ports import ChainOp
from tests.integration.conftest import Run
from tests.integration.test_lifecycle import YUAN, Story, _pass_and_pledge, _story

pytestmark = pytest.mark.chain


@pytest.fixture
def own(tmp_path: Path) -> Iterator[Platform]:
    """A platform with its own local node (its clock is this test's to move), on SQLite."""
    settings = Settings(
        home=tmp_path / "home",
        database_url=f"sqlite:///{tmp_path / 'store.db'}",
        chain_url=None,
        keystore_password="settle-test",
    )
    with Platform(settings) as opened:
        opened.initialise()
        yield opened
        opened.stop_node()


def _move_clock(p: Platform, to: dt.date) -> None:
    """Move the chain's clock forward to ``to`` (noon UTC) through anvil's admin URL."""
    ledger = p.require_contracts()
    now = ledger.chain_today()
    assert to >= now
    seconds = int(dt.datetime(to.year, to.month, to.day, 12, tzinfo=dt.UTC).timestamp())
    admin = AnvilNode(p.settings.home).admin_url()
    for method, params in (("evm_setNextBlockTimestamp", [seconds]), ("evm_mine", [])):
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        request = urllib.request.Request(  # our own http://127.0.0.1 node
            admin, data=body.encode(), headers={"Content-Type": "application/json"}
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(request, timeout=10) as response:
            answer = json.loads(response.read())
        assert "error" not in answer, answer
    assert ledger.chain_today() == to


def _settle(s: Story) -> settlement.SettleReport:
    report = settlement.settle_due(
        uow_factory=s.p.uow_factory, ledger=s.p.require_contracts(), operator_id=s.p.operator_id()
    )
    s.relay()
    return report


def _balances(s: Story) -> dict[str, int]:
    ledger = s.p.require_contracts()
    return {k: int(ledger.read("token_balance", o.chain_address)) for k, o in s.org.items()}


def _audit_ok(p: Platform) -> None:
    report = audit(uow_factory=p.uow_factory, ledger=p.require_contracts(), reader_for=p.reader_for)
    assert report.ok, report.discrepancies


def _future_item(p: Platform, route: RouteKind | None = None, *, confirm: bool = True) -> Story:
    """The worked example's item issued recently, so it matures after the chain's today; the
    debtor's confirmation locks its route (``route``, default its collection account)."""
    s = _story(p, days_ago=40, route=route, confirm=confirm)
    assert s.item.maturity_date > p.require_contracts().chain_today()
    return s


def _fund_token_route(s: Story, funds: int) -> None:
    """The debtor's bank mints ``funds`` to it; the route its confirmation locked is tokens."""
    core, bank = s.org["core"], s.org["bank"]
    items.mint_tokens(uow_factory=s.p.uow_factory, bank_id=bank.id, to_org_id=core.id,
                      amount=funds)  # fmt: skip
    s.relay()
    ledger = s.p.require_contracts()
    assert int(ledger.read("route", s.item.id)["kind"]) == 1
    assert ledger.read("token_allowance", core.chain_address, "DebtItem") == 1_000_000 * YUAN


def test_an_item_settles_at_maturity_by_itself_bank_first_and_only_once(own: Platform) -> None:
    s = _future_item(own, RouteKind.TOKENS)
    _kept, _passed, _rate, _start = _pass_and_pledge(s)
    _fund_token_route(s, 1_000_000 * YUAN)
    maturity = s.item.maturity_date

    # A week before maturity the debtor is reminded, nothing is collected.
    _move_clock(own, maturity - dt.timedelta(days=5))
    early = _settle(s)
    assert [(o.item_id, o.action) for o in early.outcomes] == [(s.item.id, "reminded")]
    reminders = settlement.notices_for(uow_factory=own.uow_factory, subject_id=s.item.id)
    assert [(n.kind, n.recipient_id) for n in reminders] == [
        (NoticeKind.REMINDER, s.org["core"].id)
    ]

    _move_clock(own, maturity)
    before = _balances(s)
    report = _settle(s)
    assert [(o.action, o.amount) for o in report.outcomes] == [("collected", 1_000_000 * YUAN)]
    after = _balances(s)
    moved = {k: after[k] - before[k] for k in after}
    assert moved["core"] == -1_000_000 * YUAN
    assert moved["tier1"] == 700_000 * YUAN
    assert moved["bank"] > 270_000 * YUAN  # the pledgee: principal and interest, first
    assert moved["bank"] + moved["tier2"] == 300_000 * YUAN
    ledger = own.require_contracts()
    assert int(ledger.read("item", s.item.id)["state"]) == 2  # settled on chain
    with own.uow_factory() as uow:
        (repayment,) = uow.repayments.for_item(s.item.id)
        assert repayment.value_date == maturity
        assert uow.items.get(s.item.id).paid == 1_000_000 * YUAN  # type: ignore[union-attr]

    # Run twice the same day: nothing more is paid, nobody is told again.
    notices = len(settlement.notices_for(uow_factory=own.uow_factory, subject_id=s.item.id))
    again = _settle(s)
    assert all(o.amount == 0 for o in again.outcomes)
    assert _balances(s) == after
    assert len(settlement.notices_for(uow_factory=own.uow_factory, subject_id=s.item.id)) == (
        notices
    )
    _audit_ok(own)


def test_two_items_of_one_debtor_due_the_same_day_share_its_funds_without_a_refusal(
    own: Platform,
) -> None:
    """The chain's `collectable` of the second item still counts the funds the first one's
    collection takes: the job defers it to its next run instead of queuing a collection the
    chain would refuse, and the next run collects what is left (funds for one and a half)."""
    s = _future_item(own, RouteKind.TOKENS)
    other = _story(own, days_ago=40, route=RouteKind.TOKENS, org=s.org)
    assert other.item.maturity_date == s.item.maturity_date
    core, bank = s.org["core"], s.org["bank"]
    items.mint_tokens(uow_factory=own.uow_factory, bank_id=bank.id, to_org_id=core.id,
                      amount=1_500_000 * YUAN)  # fmt: skip
    s.relay()
    ledger = own.require_contracts()  # each confirmation approved its own item's face value
    assert ledger.read("token_allowance", core.chain_address, "DebtItem") == 2_000_000 * YUAN
    _move_clock(own, s.item.maturity_date)
    before = _balances(s)
    first = _settle(s)  # relays: nothing refused
    actions = sorted(o.action for o in first.outcomes)
    assert actions == ["collected", "deferred"], first.outcomes
    second = _settle(s)
    assert [(o.action, o.amount) for o in second.outcomes] == [("partial", 500_000 * YUAN)]
    assert _balances(s)["core"] - before["core"] == -1_500_000 * YUAN
    states = sorted(int(ledger.read("item", i.item.id)["state"]) for i in (s, other))
    assert states[1] == 2 and states[0] != 2  # one settled, the other half paid
    assert all(o.amount == 0 for o in _settle(s).outcomes)  # a third run pays nothing
    _audit_ok(own)


def test_short_funds_pay_part_then_default_after_grace_enforces_the_pledge(
    own: Platform,
) -> None:
    s = _future_item(own, RouteKind.TOKENS)
    _kept, passed, _rate, _start = _pass_and_pledge(s)
    _fund_token_route(s, 400_000 * YUAN)  # the debtor holds less than is due
    maturity = s.item.maturity_date
    # Nothing is escrowed: before maturity the holders and their banks hear that the token
    # route would fall short (once), beside the debtor's reminder.
    _move_clock(own, maturity - dt.timedelta(days=3))
    assert [o.action for o in _settle(s).outcomes] == ["reminded"]
    assert [o.action for o in _settle(s).outcomes] == ["reminded"]
    with own.uow_factory() as uow:
        warned = uow.settlement.notices(subject_id=s.item.id, kind=NoticeKind.UNDERFUNDED.value)
    assert sorted(n.recipient_id for n in warned) == sorted(
        {s.org["bank"].id, s.org["tier1"].id, s.org["tier2"].id}
    )
    assert {n.amount for n in warned} == {600_000 * YUAN}
    _move_clock(own, maturity)
    report = _settle(s)
    assert [(o.action, o.amount) for o in report.outcomes] == [("partial", 400_000 * YUAN)]
    with own.uow_factory() as uow:
        outstanding = sum(h.outstanding for h in uow.items.holdings(s.item.id))
        shorts = uow.settlement.notices(subject_id=s.item.id, kind=NoticeKind.SHORT.value)
    assert outstanding == 600_000 * YUAN
    told = {n.recipient_id for n in shorts}
    assert {s.org["bank"].id, s.org["tier1"].id, s.org["tier2"].id, s.org["core"].id} <= told

    # Within grace: overdue, nothing else happens (the route holds nothing more today).
    grace = int(own.require_contracts().read("terms")["grace_days"])
    _move_clock(own, maturity + dt.timedelta(days=grace))
    assert [o.action for o in _settle(s).outcomes] == ["short"]

    # After grace the default rule runs: the pledged holding passes to its bank.
    _move_clock(own, maturity + dt.timedelta(days=grace + 1))
    late = _settle(s)
    assert [o.action for o in late.outcomes] == ["short", "defaulted"]
    ledger = own.require_contracts()
    assert int(ledger.read("item", s.item.id)["state"]) == 3  # defaulted on chain
    holding = ledger.read("holding", passed.id)
    assert holding["holder"] == s.org["bank"].chain_address
    recourse = ledger.read("recourse", passed.id)
    assert recourse is not None and recourse["pledgor"] == s.org["tier2"].chain_address
    with own.uow_factory() as uow:
        assert uow.items.get_holding(passed.id).holder_id == s.org["bank"].id  # type: ignore[union-attr]
    # The job run again that day defaults nothing twice.
    assert "defaulted" not in [o.action for o in _settle(s).outcomes]
    _audit_ok(own)


def test_a_route_changes_only_with_every_pledgees_signature(own: Platform) -> None:
    s = _future_item(own)
    _pass_and_pledge(s)
    core, bank = s.org["core"], s.org["bank"]
    ledger = own.require_contracts()
    assert int(ledger.read("route", s.item.id)["kind"]) == 2  # locked with the confirmation
    with pytest.raises(PermissionDeniedError, match="did not sign"):
        settlement.change_route(
            uow_factory=own.uow_factory, signer=ledger, item_id=s.item.id, actor_id=core.id,
            kind=RouteKind.TOKENS, signer_ids=[core.id],
        )  # fmt: skip
    # Straight to the chain without the pledgee: the contract refuses it too.
    deadline = int(dt.datetime.now(dt.UTC).timestamp()) + 3_600
    zero = "00" * 32
    alone = ledger.sign_route_change(core.id, s.item.id, 1, "0x" + "00" * 20, zero, deadline)
    op = ChainOp(
        f"route-change-{s.item.id}",
        cmd.ChangeRoute(
            s.item.id, 1, "0x" + "00" * 20, zero, deadline, (cmd.RouteSignature(core.id, alone),)
        ),
        core.id,
    )
    with pytest.raises(OperationRejectedError, match="repayment: a pledgee has not signed"):
        ledger.apply(op)
    # The debtor cannot move the account bank alone on DebtItem either.
    assert bank.chain_address is not None
    moved = ChainOp(f"set-bank-{s.item.id}", cmd.SetAccountBank(s.item.id, bank.chain_address),
                    core.id)  # fmt: skip
    with pytest.raises(OperationRejectedError, match="caller is not the debtor"):
        ledger.apply(moved)
    # With the pledgee's signature the route changes.
    settlement.change_route(
        uow_factory=own.uow_factory, signer=ledger, item_id=s.item.id, actor_id=core.id,
        kind=RouteKind.TOKENS, signer_ids=[core.id, bank.id],
    )  # fmt: skip
    s.relay()
    assert int(ledger.read("route", s.item.id)["kind"]) == 1
    with own.uow_factory() as uow:
        route = settlement.current_route(uow, s.item.id)
    assert route is not None and route.kind is RouteKind.TOKENS
    assert set(route.signers) == {core.id, bank.id}
    _audit_ok(own)  # the store's route is the chain's (audit compares kind, bank, account)
    # A change the chain refuses (its signatures expired) changes nothing in the store.
    settlement.change_route(
        uow_factory=own.uow_factory, signer=ledger, item_id=s.item.id, actor_id=core.id,
        kind=RouteKind.ACCOUNT, signer_ids=[core.id, bank.id], account=core.accounts[0],
        bank_id=bank.id, deadline=1,
    )  # fmt: skip
    refused = relay.relay(uow_factory=own.uow_factory, ledger=ledger)
    assert [reason for _op, reason in refused.failed] == ["repayment: signatures expired"]
    with own.uow_factory() as uow:
        kept = settlement.current_route(uow, s.item.id)
    assert kept == route
    _audit_ok(own)


def test_a_price_drop_calls_the_margin_and_an_unmet_call_sells_the_goods_bank_first(
    own: Platform, tmp_path: Path
) -> None:
    s = _future_item(own)
    ledger = own.require_contracts()
    warehouse = onboarding.onboard(
        uow_factory=own.uow_factory, keystore=own.keystore, name="苏州保税仓储有限公司",
        uscc=demo_uscc("320500", "MA1FF0008"), roles=[Role.WAREHOUSE],
    )  # fmt: skip
    s.relay()
    seller, buyer, bank = s.org["tier1"], s.org["core"], s.org["bank"]
    code = "STEEL-COIL-Q235"
    receipt_id = receipts.issue_receipt(
        uow_factory=own.uow_factory, warehouse_id=warehouse.id, holder_id=seller.id,
        goods_code=code, description="Q235 hot-rolled coil, 1,000 t", quantity=1_000,
        unit="TNE", location="Suzhou bonded warehouse B-12",
        evidence="epcis:urn:uuid:storing-event",
    )  # fmt: skip
    s.relay()
    feed = tmp_path / "prices.csv"

    def price(value: str) -> None:  # the simulated feed: the operator's file, rewritten
        today = ledger.chain_today()
        margin.write_price_feed(feed, [margin.FeedPrice(code, Decimal(value), "CNY", today)])
        margin.load_price_feed(uow_factory=own.uow_factory, path=feed)

    def watch() -> list[tuple[str, str]]:
        report = margin.margin_watch(uow_factory=own.uow_factory, ledger=ledger,
                                     buyer_id=buyer.id)  # fmt: skip
        s.relay()
        return [(r.receipt_id, r.action) for r in report.receipts]

    price("4000")
    receipts.pledge_receipt(uow_factory=own.uow_factory, receipt_id=receipt_id,
                            bank_id=bank.id, amount=2_000_000 * YUAN, actor_id=seller.id)  # fmt: skip
    s.relay()
    assert watch() == [(receipt_id, "ok")]  # 2,800,000 after the haircut >= 1.2 x 2,000,000

    price("3200")  # 2,240,000 after the haircut: below the maintenance ratio
    assert watch() == [(receipt_id, "called")]
    calls = settlement.notices_for(uow_factory=own.uow_factory, subject_id=receipt_id)
    assert {(n.kind, n.recipient_id) for n in calls} == {
        (NoticeKind.MARGIN_CALL, bank.id),
        (NoticeKind.MARGIN_CALL, seller.id),
    }
    assert watch() == [(receipt_id, "open")]  # once: no second call the same day
    price("3600")  # 2,520,000: the margin is restored
    assert watch() == [(receipt_id, "met")]

    price("3000")  # 2,100,000: called again, and this time nobody restores it
    assert watch() == [(receipt_id, "called")]
    with own.uow_factory() as uow:
        call = margin.open_call(uow, receipt_id)
    assert call is not None and call.deadline is not None
    _move_clock(own, call.deadline)
    assert watch() == [(receipt_id, "open")]  # the deadline day is still the pledgor's
    _move_clock(own, call.deadline + dt.timedelta(days=1))
    report = margin.margin_watch(uow_factory=own.uow_factory, ledger=ledger, buyer_id=buyer.id)
    s.relay()
    (sold,) = report.receipts
    assert sold.action == "sold" and sold.sale_id is not None
    sale = ledger.read("sale", sold.sale_id)
    assert int(sale["price"]) == 3_000_000 * YUAN  # the market value, above the 2,000,000 owed
    # The buyer pays through the existing DvP sale: the bank is paid first.
    items.mint_tokens(uow_factory=own.uow_factory, bank_id=bank.id, to_org_id=buyer.id,
                      amount=3_000_000 * YUAN)  # fmt: skip
    s.relay()
    before = _balances(s)
    receipts.pay_for_receipt(uow_factory=own.uow_factory, receipt_id=receipt_id,
                             sale_id=sold.sale_id, amount=1_500_000 * YUAN,
                             actor_id=buyer.id)  # fmt: skip
    s.relay()
    after = _balances(s)
    assert after["bank"] - before["bank"] == 1_500_000 * YUAN  # all of it to the bank first
    assert after["tier1"] == before["tier1"]
    figures = settlement_figures.figures(uow_factory=own.uow_factory,
                                         as_of=ledger.chain_today())  # fmt: skip
    assert figures["margin_calls"] == {"open": 0, "met": 1, "sold": 1, "opened": 2}


def test_a_collection_the_chain_refuses_changes_nothing(own: Platform) -> None:
    s = _future_item(own, RouteKind.TOKENS)
    _pass_and_pledge(s)
    _fund_token_route(s, 1_000_000 * YUAN)
    _move_clock(own, s.item.maturity_date)
    with own.uow_factory() as uow:
        before = [
            (h.id, h.holder_id, h.outstanding, h.pledge) for h in uow.items.holdings(s.item.id)
        ]
    ledger = own.require_contracts()
    report = settlement.settle_due(
        uow_factory=own.uow_factory, ledger=ledger, operator_id=own.operator_id()
    )
    assert [o.action for o in report.outcomes] == ["collected"]
    # Before the relay sends it, the debtor withdraws its approval: the contract refuses the
    # collection (the route no longer holds what was routed).
    core = ledger.account(s.org["core"].id)
    token = ledger.addresses["SettlementToken"]
    data = ledger.abi("SettlementToken").encode_call("approve", (ledger.addresses["DebtItem"], 0))
    tx_hash = ledger.client.send(core, TxRequest(token, data, 120_000))
    assert ledger.client.wait([tx_hash])[tx_hash].status == 1
    result = relay.relay(uow_factory=own.uow_factory, ledger=ledger)
    assert [reason for _op, reason in result.failed] == ["repayment: nothing to collect"]
    with own.uow_factory() as uow:
        after = [
            (h.id, h.holder_id, h.outstanding, h.pledge) for h in uow.items.holdings(s.item.id)
        ]
        assert uow.repayments.for_item(s.item.id) == []
        assert uow.settlement.notices(subject_id=s.item.id, kind="collected") == []
    assert after == before
    assert int(ledger.read("item", s.item.id)["paid"]) == 0
    # The next run finds nothing to collect: the item is overdue, the holders are told.
    assert [o.action for o in _settle(s).outcomes] == ["short"]
    _audit_ok(own)


def test_settle_due_from_the_cli(run: Run) -> None:
    code, out, err = run("init", "--json")
    assert code == 0, err
    code, out, err = run("settle-due", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["counts"] == {} and data["collected"] == 0
    assert set(data["figures"]) >= {
        "due_today", "paid_on_time", "paid_late", "overdue_by_age", "defaulted",
        "margin_calls", "bypassed_route",
    }  # fmt: skip
    code, out, err = run("route", "figures", "--json")
    assert code == 0, err
    assert json.loads(out)["margin_calls"]["open"] == 0
    # The regulator's view carries the same figures, under ``all``.
    code, out, err = run("regulator", "--json")
    assert code == 0, err
    settled = json.loads(out)["all"]["settlement"]
    assert settled["routes"] == {"locked": 0, "changed": 0, "items_changed": 0}
    assert settled["bypassed_route"]["count"] == 0 and "overdue_by_age" in settled
    code, out, err = run("regulator")
    assert code == 0, err
    assert "Payment on its day" in out and "payments that bypassed the route" in out
    code, out, err = run("route", "statements", "--json")
    assert code == 0, err
    assert json.loads(out) == []
    code, _out, err = run("route", "lock", "item-none", "--as", "nobody")
    assert code == 2 and "only demo and simulation homes allow" in " ".join(err.split())


def test_an_unpledged_item_unpaid_after_grace_is_left_to_the_consortium(own: Platform) -> None:
    # Nothing pledged; a collection-account route (locked with the confirmation) whose bank saw
    # nothing. The debtor alone (no pledgee to sign) moves the route straight on the chain,
    # outside the platform: the audit names the difference.
    s = _future_item(own)
    ledger = own.require_contracts()
    core = s.org["core"]
    deadline = int(dt.datetime.now(dt.UTC).timestamp()) + 3_600
    elsewhere = "ab" * 32
    bank = s.org["bank"].chain_address
    assert bank is not None
    signed = ledger.sign_route_change(core.id, s.item.id, 2, bank, elsewhere, deadline)
    change = cmd.ChangeRoute(
        s.item.id, 2, bank, elsewhere, deadline, (cmd.RouteSignature(core.id, signed),)
    )
    ledger.apply(ChainOp(f"change-{s.item.id}", change, core.id))
    report = audit(uow_factory=own.uow_factory, ledger=ledger, reader_for=own.reader_for)
    assert names(report, "route") == {(s.item.id, "account_hash")}
    grace = int(own.require_contracts().read("terms")["grace_days"])
    _move_clock(own, s.item.maturity_date + dt.timedelta(days=grace + 1))
    assert [o.action for o in _settle(s).outcomes] == ["unrouted", "past_grace"]
    assert int(own.require_contracts().read("item", s.item.id)["state"]) == 1  # still active
    figures = settlement_figures.figures(
        uow_factory=own.uow_factory, as_of=own.require_contracts().chain_today()
    )
    assert figures["overdue_by_age"]["1-30"]["count"] == 1
    assert figures["defaulted"]["count"] == 0
