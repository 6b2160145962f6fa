"""A refused operation changes nothing: the chain refuses, the relay undoes, audit is clean.

Each case queues a change through the real service (the store passes its own checks), makes
the real chain refuse it (the acting member suspended in the Registry for a moment, or a value
date the chain's clock has not reached), relays, and compares every business table with its
state before the command: equal. The refused op is recorded ``failed`` with the chain's
reason, and after reinstating the member `audit` finds nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from fourflow.adapters.chain.client import TxRequest
from fourflow.adapters.chain.ids import key32
from fourflow.adapters.chain.ledger import ChainLedger
from fourflow.adapters.chain.ops import REGISTRY
from fourflow.bootstrap import Platform
from fourflow.domain.documents import DocumentKind
from fourflow.domain.errors import DomainValueError
from fourflow.domain.financing import FinancingStatus
from fourflow.domain.scenarios import Scenario
from fourflow.services import common, credit, financing, ingest, items, linking, receipts, relay
from fourflow.services.audit import audit
from fourflow.services.demo import MEMBERS, trade_bundle
from fourflow.services.ports import OpStatus
from tests.integration.test_lifecycle import YUAN, Story, _story
from tests.integration.test_settlement_paths import _warehouse

# The store is the subject here, not the database engine: SQLite (the races and tamper drills
# run on PostgreSQL too).
pytestmark = [pytest.mark.chain, pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)]

# Business tables compared before and after (the outbox and settings are bookkeeping).
TABLES = (
    "debt_items", "holdings", "financings", "repayments", "routed_parts", "dispute_events",
    "dilution_events", "cancel_approvals", "default_marks", "warehouse_receipts",
    "receipt_pledges", "receipt_sales", "receipt_sale_events", "goods_releases",
    "report_anchors", "invoice_presentations", "invoice_transfer_payments",
)  # fmt: skip
VOLATILE = {"updated_at", "created_at", "seq"}


def _snapshot(p: Platform) -> dict[str, list[tuple[Any, ...]]]:
    engine = create_engine(p.settings.database_url)
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        names = set(engine.dialect.get_table_names(conn))
        for table in TABLES:
            assert table in names, f"no table {table}"
            rows = conn.execute(text(f"SELECT * FROM {table}")).mappings().all()
            out[table] = sorted(
                tuple(sorted((k, str(v)) for k, v in row.items() if k not in VOLATILE))
                for row in rows
            )
    engine.dispose()
    return out


def _registry_call(ledger: ChainLedger, operator: str, function: str, member: str) -> None:
    data = ledger.abi(REGISTRY).encode_call(
        function, (key32(f"test-{function}-{uuid.uuid4().hex}"), member)
    )
    tx = TxRequest(ledger.addresses[REGISTRY], data, 200_000)
    sent = ledger.client.send(ledger.account(operator), tx)
    assert ledger.client.wait([sent])[sent].status == 1


@contextmanager
def _suspended(p: Platform, org_id: str) -> Iterator[None]:
    """The member suspended on chain (by the operator) for the duration of the block."""
    ledger = p.require_contracts()
    with p.uow_factory() as uow:
        org = uow.organisations.get(org_id)
    assert org is not None and org.chain_address
    _registry_call(ledger, p.operator_id(), "suspend", org.chain_address)
    try:
        yield
    finally:
        _registry_call(ledger, p.operator_id(), "reinstate", org.chain_address)


def _refused_and_undone(
    p: Platform, change: Callable[[], object], expect: str
) -> list[tuple[str, str]]:
    """Run ``change``, relay, and check the chain refused it and the store is as before."""
    before = _snapshot(p)
    change()
    result = relay.relay(uow_factory=p.uow_factory, ledger=p.require_contracts())
    assert result.failed, "the chain should have refused the operation"
    assert any(expect in reason for _, reason in result.failed), result.failed
    assert _snapshot(p) == before
    with p.uow_factory() as uow:
        states = {o.op_id: o.status for o in uow.outbox.list()}
    assert all(states[op_id] is OpStatus.REFUSED for op_id, _ in result.failed)
    return list(result.failed)


def _audit_clean(p: Platform) -> None:
    report = audit(uow_factory=p.uow_factory, ledger=p.require_contracts(), reader_for=p.reader_for)
    assert report.ok, report.discrepancies


class _ClockAhead:
    """The real ledger, but its idea of the chain's today is a year ahead (so the service's
    own check lets a future value date through and the chain has to refuse it)."""

    def __init__(self, ledger: ChainLedger) -> None:
        self._ledger = ledger

    def chain_today(self) -> dt.date:
        return self._ledger.chain_today() + dt.timedelta(days=365)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ledger, name)


def _pay(s: Story, ledger: Any, value_date: dt.date, method: items.PaymentMethod) -> None:
    payer = s.org["bank"].id if method == "attested" else s.org["core"].id
    items.pay(
        uow_factory=s.p.uow_factory, ledger=ledger, item_id=s.item.id, amount=100 * YUAN,
        value_date=value_date, reference=f"CAMT-{uuid.uuid4().hex[:8]}", payer_id=payer,
        method=method,
    )  # fmt: skip


def test_a_future_value_date_is_refused_before_anything_is_written(platform: Platform) -> None:
    s = _story(platform)
    before = _snapshot(platform)
    tomorrow = platform.require_contracts().chain_today() + dt.timedelta(days=1)
    with pytest.raises(DomainValueError, match="in the future: the chain's clock"):
        _pay(s, platform.require_contracts(), tomorrow, "attested")
    assert _snapshot(platform) == before
    _audit_clean(platform)


@pytest.mark.parametrize("method", ["attested", "debtor", "token"])
def test_a_payment_the_chain_refuses_is_undone(
    platform: Platform, method: items.PaymentMethod
) -> None:
    s = _story(platform)
    ledger = platform.require_contracts()
    future = ledger.chain_today() + dt.timedelta(days=10)
    _refused_and_undone(
        platform, lambda: _pay(s, _ClockAhead(ledger), future, method), "value date"
    )
    _audit_clean(platform)


def test_a_refused_split_and_the_transfer_queued_on_it_are_undone(platform: Platform) -> None:
    s = _story(platform)
    (first,) = s.holdings()
    tier1 = s.org["tier1"].id

    def split_then_pass() -> None:
        part = items.split(
            uow_factory=platform.uow_factory, holding_id=first.id, amount=200_000 * YUAN,
            actor_id=tier1,
        )  # fmt: skip
        items.transfer(
            uow_factory=platform.uow_factory, holding_id=part.id, amount=50_000 * YUAN,
            to_org_id=s.org["tier2"].id, actor_id=tier1,
        )  # fmt: skip

    with _suspended(platform, tier1):
        failed = _refused_and_undone(platform, split_then_pass, "not a member")
    assert len(failed) == 2  # the split, and the transfer of the part it would have made
    _audit_clean(platform)


def test_a_refused_transfer_is_undone(platform: Platform) -> None:
    s = _story(platform)
    (first,) = s.holdings()

    def transfer_shown_pending() -> None:
        items.transfer(
            uow_factory=platform.uow_factory,
            holding_id=first.id,
            amount=1_000 * YUAN,
            to_org_id=s.org["tier2"].id,
            actor_id=s.org["tier1"].id,
        )
        view = items.describe_item(uow_factory=platform.uow_factory, item_id=s.item.id)
        assert [p["op"] for p in view["pending"]] == ["transfer"]
        assert all(h["pending"] for h in view["holdings"])  # the source and the new holding

    with _suspended(platform, s.org["tier2"].id):
        _refused_and_undone(platform, transfer_shown_pending, "recipient is not a member")
    view = items.describe_item(uow_factory=platform.uow_factory, item_id=s.item.id)
    assert view["pending"] == [] and not any(h["pending"] for h in view["holdings"])
    _audit_clean(platform)


def _supply_invoice(s: Story) -> tuple[str, str]:
    """Tier 2 sold to tier 1 (its invoice on the platform, linked): (trade id, invoice number)."""
    member = {m.key: m for m in MEMBERS}
    tag = uuid.uuid4().hex[:8]
    raw = trade_bundle(
        prefix=f"SUP-{tag}", seller=member["tier2"], buyer=member["tier1"],
        carrier=member["logistics"], day0=s.today - dt.timedelta(days=20), terms_days=60,
        received_factor="1", lines=[("CASTING-HT250", "100", "EA", "800.00")],
        scenario=Scenario.MANUFACTURING,
    )  # fmt: skip
    tier2 = s.org["tier2"].id
    outcomes = ingest.ingest_bytes(
        uow_factory=s.p.uow_factory, reader=s.p.reader_for(tier2), clock=s.p.clock, raw=raw,
        source="supply.json", submitter_id=tier2,
    )  # fmt: skip
    assert all(o.status == "accepted" for o in outcomes)
    linking.link_documents(uow_factory=s.p.uow_factory)
    s.relay()  # the submitter's document fingerprints on the chain
    number = f"INV-SUP-{tag}"
    with s.p.uow_factory() as uow:
        (invoice,) = uow.documents.by_number(DocumentKind.INVOICE, number)
    assert invoice.trade_id is not None
    return invoice.trade_id, number


def test_a_refused_transfer_forgets_the_invoices_it_would_have_paid(platform: Platform) -> None:
    """A transfer naming the supplier invoice it pays, refused by the chain: the holding
    and the paid-invoice rows (invoice_transfer_payments) are gone, not merely hidden."""
    s = _story(platform)
    (first,) = s.holdings()
    trade_id, number = _supply_invoice(s)

    def pay_tier2() -> None:
        items.transfer(
            uow_factory=platform.uow_factory, holding_id=first.id, amount=20_000 * YUAN,
            to_org_id=s.org["tier2"].id, actor_id=s.org["tier1"].id, pays=[number],
            as_of=s.today,
        )  # fmt: skip
        with platform.uow_factory() as uow:  # while it waits for the chain, the invoice is paid
            (paid,) = uow.transfer_payments.for_trades([trade_id])
        assert (paid.invoice_number, paid.amount) == (number, 20_000 * YUAN)

    with _suspended(platform, s.org["tier2"].id):
        failed = _refused_and_undone(platform, pay_tier2, "recipient is not a member")
    assert len(failed) == 1
    with platform.uow_factory() as uow:
        assert uow.transfer_payments.for_trades([trade_id]) == []
    _audit_clean(platform)
    # paid again once the recipient is back: recorded and applied
    pay_tier2()
    assert relay.relay(uow_factory=platform.uow_factory, ledger=platform.require_contracts()
                       ).failed == ()  # fmt: skip
    with platform.uow_factory() as uow:
        assert [p.amount for p in uow.transfer_payments.for_trades([trade_id])] == [20_000 * YUAN]
    _audit_clean(platform)


def test_a_refused_pledge_leaves_the_holding_free_and_the_financing_failed(
    platform: Platform,
) -> None:
    s = _story(platform)
    (first,) = s.holdings()
    tier1 = s.org["tier1"].id
    before = _snapshot(platform)
    with _suspended(platform, tier1):
        fin = financing.request_financing(
            uow_factory=platform.uow_factory, holding_id=first.id, bank_id=s.org["bank"].id,
            cold_start=platform.cold_start,
            amount=100_000 * YUAN, actor_id=tier1, as_of=s.item.issue_date + dt.timedelta(days=5),
        )  # fmt: skip
        assert fin.status is FinancingStatus.APPROVED
        result = relay.relay(uow_factory=platform.uow_factory, ledger=platform.require_contracts())
    assert any("not a member" in reason for _, reason in result.failed), result.failed
    with platform.uow_factory() as uow:
        holding = uow.items.get_holding(first.id)
        stored = uow.financings.get(fin.id)
    assert holding is not None and holding.pledge is None and holding.pledge_bank_id is None
    assert stored is not None and stored.status is FinancingStatus.FAILED
    after = _snapshot(platform)
    assert {k: v for k, v in after.items() if k != "financings"} == {
        k: v for k, v in before.items() if k != "financings"
    }
    _audit_clean(platform)


def test_a_refused_dispute_and_cancellation_are_forgotten(platform: Platform) -> None:
    s = _story(platform)
    core, tier1 = s.org["core"].id, s.org["tier1"].id
    with _suspended(platform, core):
        _refused_and_undone(
            platform,
            lambda: items.dispute_item(
                uow_factory=platform.uow_factory,
                item_id=s.item.id,
                reason="short delivery",
                actor_id=core,
                on=s.item.issue_date + dt.timedelta(days=1),
            ),
            "debt_item: caller is not the debtor",
        )
    with _suspended(platform, tier1):
        _refused_and_undone(
            platform,
            lambda: items.cancel_item(
                uow_factory=platform.uow_factory, item_id=s.item.id, actor_id=tier1
            ),
            "debt_item:",
        )
    _audit_clean(platform)


def test_every_other_refusable_command_is_undone_in_turn(platform: Platform) -> None:
    """Merge, dilution (proposed, then accepted), mint and receipt issue: each refused by the
    chain in turn on one story, each undone, the story going on after."""
    s = _story(platform)
    uow = platform.uow_factory
    tier1, core, bank = s.org["tier1"].id, s.org["core"].id, s.org["bank"].id
    (first,) = s.holdings()
    part = items.split(uow_factory=uow, holding_id=first.id, amount=100_000 * YUAN, actor_id=tier1)
    s.relay()

    with _suspended(platform, tier1):
        _refused_and_undone(
            platform,
            lambda: items.merge(
                uow_factory=uow, holding_id=first.id, other_holding_id=part.id, actor_id=tier1
            ),
            "debt_item:",
        )
        _refused_and_undone(
            platform,
            lambda: items.propose_dilution(
                uow_factory=uow,
                item_id=s.item.id,
                amount=1_000 * YUAN,
                credit_note="CN-REFUSED-1",
                actor_id=tier1,
            ),
            "debt_item:",
        )
    items.propose_dilution(
        uow_factory=uow, item_id=s.item.id, amount=1_000 * YUAN, credit_note="CN-1",
        actor_id=tier1,
    )  # fmt: skip
    s.relay()
    with _suspended(platform, core):
        _refused_and_undone(
            platform,
            lambda: items.accept_dilution(
                uow_factory=uow,
                item_id=s.item.id,
                amount=1_000 * YUAN,
                credit_note="CN-1",
                actor_id=core,
            ),
            "debt_item:",
        )

    fin = financing.request_financing(
        uow_factory=uow, holding_id=part.id, bank_id=bank, amount=50_000 * YUAN,
        actor_id=tier1, as_of=s.item.issue_date + dt.timedelta(days=5),
        cold_start=platform.cold_start,
    )  # fmt: skip
    assert fin.status is FinancingStatus.APPROVED, fin.decision
    s.relay()
    # (The pledgee may release its pledge even while suspended: the chain has no rule a
    # release breaks without the store knowing, so its undo is tested on the fakes.)
    with _suspended(platform, bank):
        _refused_and_undone(
            platform,
            lambda: items.mint_tokens(
                uow_factory=uow, bank_id=bank, to_org_id=core, amount=10_000 * YUAN
            ),
            ":",
        )

    warehouse = _warehouse(platform)
    with _suspended(platform, tier1):
        _refused_and_undone(
            platform,
            lambda: receipts.issue_receipt(
                uow_factory=uow,
                warehouse_id=warehouse.id,
                holder_id=tier1,
                goods_code="STEEL-COIL",
                description="热轧卷板 Q235",
                quantity=10,
                unit="TNE",
                location="WX-A1",
                evidence="urn:epcis:receiving:refused",
            ),
            ":",
        )
    receipt_id = receipts.issue_receipt(
        uow_factory=uow, warehouse_id=warehouse.id, holder_id=tier1, goods_code="STEEL-COIL",
        description="热轧卷板 Q235", quantity=10, unit="TNE", location="WX-A1",
        evidence="urn:epcis:receiving:1",
    )  # fmt: skip
    s.relay()
    credit.set_price(
        uow_factory=uow, goods_code="STEEL-COIL", price=4_000.0, currency="CNY",
        as_of=s.today,
    )  # fmt: skip
    with _suspended(platform, tier1):
        _refused_and_undone(
            platform,
            lambda: receipts.pledge_receipt(
                uow_factory=uow,
                receipt_id=receipt_id,
                bank_id=bank,
                amount=1_000 * YUAN,
                actor_id=tier1,
            ),
            ":",
        )
    with uow() as unit:  # the goods financing stays on record, refused by the chain: nothing lent
        (goods,) = unit.goods_financings.for_receipt(receipt_id)
    assert goods.status is FinancingStatus.FAILED

    # The debtor's dispute, lifted by a suspended debtor: refused, the dispute stays open.
    items.dispute_item(
        uow_factory=uow, item_id=s.item.id, reason="late delivery", actor_id=core,
        on=s.item.issue_date + dt.timedelta(days=2),
    )  # fmt: skip
    s.relay()
    with _suspended(platform, core):
        _refused_and_undone(
            platform,
            lambda: items.lift_dispute(uow_factory=uow, item_id=s.item.id, actor_id=core),
            "debt_item:",
        )
    with uow() as unit:
        assert common.is_disputed(unit, s.item.id)
    items.lift_dispute(uow_factory=uow, item_id=s.item.id, actor_id=core)
    s.relay()

    # Default, marked by a suspended bank: refused, the pledged part stays the borrower's.
    with _suspended(platform, bank):
        _refused_and_undone(
            platform,
            lambda: items.mark_default(
                uow_factory=uow, item_id=s.item.id, actor_id=bank, as_of=s.today
            ),
            "debt_item:",
        )
    _audit_clean(platform)
