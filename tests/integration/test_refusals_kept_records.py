"""A refused operation leaves no kept record pointing at a row its undo removed.

The chain refuses an operation that added rows (an item and its first holding, a split-off
part, a transferred part) while a financing was requested on what it added and its pledge
queued behind it. The relay fails the pledge with it and keeps the financing on record as
``failed`` (its parties told): on the holding the part came from when the holder split it
off its own holding; when nothing it was asked on ever existed (the item's issuance refused,
a part passed by someone else refused), the request goes with the rows it stood on, and the
parties are still told it failed. In every case: no foreign-key violation (SQLite and
PostgreSQL), every business table as before except the financing, the outbox marks the
refused ops ``refused``, the relay goes on with the next ops, and `audit` is clean.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from fourflow.bootstrap import Platform
from fourflow.domain.errors import ConflictError
from fourflow.domain.financing import Financing, FinancingStatus
from fourflow.domain.parties import Organisation
from fourflow.risk.review import ProductPolicy
from fourflow.services import credit, financing, items, receipts, relay
from fourflow.services.audit import audit
from fourflow.services.ports import OpStatus
from tests.integration.test_lifecycle import YUAN, _story
from tests.integration.test_refusals import _suspended
from tests.integration.test_settlement_paths import _warehouse
from tests.trades import ONE_LINE, tier1_sale, verified_trade

pytestmark = pytest.mark.chain

# Bookkeeping tables: compared on their own (the outbox) or not at all (settings, trails).
SKIPPED = {
    "alembic_version", "outbox", "settings", "webhook_events", "webhook_deliveries",
    "api_audit", "relay_senders", "sign_in_attempts",
    "item_changes", "supervision_changes",  # change marks for the pages' caches: every write
    "decision_changes",  # the decisions' change marks (a batch folds them, sum kept)
}  # fmt: skip
VOLATILE = {"updated_at", "created_at", "seq"}


def _tables(p: Platform) -> dict[str, list[tuple[Any, ...]]]:
    """Every table but the bookkeeping ones, rows sorted (volatile columns left out)."""
    engine = create_engine(p.settings.database_url)
    out: dict[str, list[tuple[Any, ...]]] = {}
    try:
        with engine.connect() as conn:
            for table in sorted(engine.dialect.get_table_names(conn)):
                if table in SKIPPED:
                    continue
                rows = conn.execute(text(f'SELECT * FROM "{table}"')).mappings().all()
                out[table] = sorted(
                    tuple(sorted((k, str(v)) for k, v in row.items() if k not in VOLATILE))
                    for row in rows
                )
    finally:
        engine.dispose()
    return out


def _diff(
    before: dict[str, list[tuple[Any, ...]]],
    after: dict[str, list[tuple[Any, ...]]],
    *,
    but: tuple[str, ...] = (),
) -> dict[str, tuple[list[Any], list[Any]]]:
    """Per table (except ``but``): (rows only before, rows only after); {} when the same."""
    out = {}
    for table in sorted(set(before) | set(after)):
        if table in but:
            continue
        was, now = before.get(table, []), after.get(table, [])
        if was != now:
            out[table] = ([r for r in was if r not in now], [r for r in now if r not in was])
    return out


def _warm(p: Platform, as_of: dt.date) -> None:
    """The robot's first champion model, trained before the snapshot (a request trains it
    once, whatever the chain does later)."""
    credit.champion_scorer(uow_factory=p.uow_factory, as_of=as_of, cold_start=p.cold_start)


def _relay(p: Platform) -> relay.RelayResult:
    """Relay as the worker does: on PostgreSQL sender by sender under claims, waiting."""
    return relay.relay(
        uow_factory=p.uow_factory, ledger=p.require_contracts(), claims=p.relay_claims(),
        wait=True,
    )  # fmt: skip


def _failed_told(p: Platform, financing_id: str) -> list[dict[str, Any]]:
    """The ``financing.decided`` (failed) events written for ``financing_id``."""
    engine = create_engine(p.settings.database_url)
    try:
        with engine.connect() as conn:
            rows = (
                conn.execute(
                    text("SELECT * FROM webhook_events WHERE subject_id = :s"), {"s": financing_id}
                )
                .mappings()
                .all()
            )
    finally:
        engine.dispose()
    return [dict(r) for r in rows if "failed" in str(r.get("data", ""))]


def _audit_clean(p: Platform) -> None:
    report = audit(uow_factory=p.uow_factory, ledger=p.require_contracts(), reader_for=p.reader_for)
    assert report.ok, report.discrepancies


def _request(p: Platform, holding_id: str, bank_id: str, borrower: str, amount: int,
             as_of: dt.date, *, present: bool = False) -> Financing:  # fmt: skip
    """An approved request; ``present``: the trade's invoices presented to the bank first, as
    the API does (their fingerprints queued ahead of the pledge)."""
    fin = financing.request_financing(
        uow_factory=p.uow_factory, holding_id=holding_id, bank_id=bank_id,
        cold_start=p.cold_start, amount=amount, actor_id=borrower, as_of=as_of,
        ledger=p.require_contracts() if present else None,
    )  # fmt: skip
    assert fin.status is FinancingStatus.APPROVED, fin
    return fin


def _refused_ops(p: Platform) -> dict[str, OpStatus]:
    with p.uow_factory() as uow:
        return {o.op_id: o.status for o in uow.outbox.list()}


def test_a_refused_split_keeps_the_financing_on_the_part_failed_on_its_parent(
    platform: Platform,
) -> None:
    """Tier 1 splits a part off its holding and finances the part at once; the chain refuses
    the split: the financing stays on record, failed, on the holding the part came from."""
    s = _story(platform)
    (first,) = s.holdings()
    tier1, bank = s.org["tier1"].id, s.org["bank"].id
    day = s.item.issue_date + dt.timedelta(days=5)
    _warm(platform, day)

    def split_and_finance() -> tuple[items.Holding, Financing]:
        """Tier 1 splits 200,000.00 off its holding and asks the bank 150,000.00 on it."""
        part = items.split(
            uow_factory=platform.uow_factory, holding_id=first.id, amount=200_000 * YUAN,
            actor_id=tier1,
        )  # fmt: skip
        return part, _request(platform, part.id, bank, tier1, 150_000 * YUAN, day)

    before = _tables(platform)
    part, fin = split_and_finance()
    with _suspended(platform, tier1):
        result = _relay(platform)
    reasons = dict(result.failed)
    assert len(reasons) == 3, result.failed  # the split, the pledge and the bank's acceptance
    assert any("not a member" in r for r in reasons.values()), result.failed
    states = _refused_ops(platform)
    assert all(states[op_id] is OpStatus.REFUSED for op_id in reasons)
    after = _tables(platform)
    assert _diff(before, after, but=("financings",)) == {}
    with platform.uow_factory() as uow:
        stored = uow.financings.get(fin.id)
        assert uow.items.get_holding(part.id) is None
        assert uow.items.get_holding(first.id) == first  # unpledged, whole again
    assert stored is not None and stored.status is FinancingStatus.FAILED
    assert stored.holding_id == first.id  # the holding the part was split off
    assert (stored.borrower_id, stored.bank_id, stored.item_id) == (tier1, bank, s.item.id)
    assert stored.decision == fin.decision and stored.requested == fin.requested
    assert len(after["financings"]) == len(before["financings"]) + 1
    assert _failed_told(platform, fin.id), "the borrower and the bank are told it failed"
    _audit_clean(platform)
    # The relay goes on: the same request again, now relayed and applied.
    _, again = split_and_finance()
    assert _relay(platform).failed == ()
    with platform.uow_factory() as uow:
        live = uow.financings.get(again.id)
        failed = uow.financings.get(fin.id)
    assert live is not None and live.status is FinancingStatus.ACTIVE
    assert failed is not None and failed.status is FinancingStatus.FAILED
    _audit_clean(platform)


def test_a_refused_split_fails_a_referral_on_the_part_and_keeps_a_decline(
    platform: Platform,
) -> None:
    """Requests on the part that queued no pledge (a referral waiting for a person, a
    decline): the split refused, both stay on record on the holding the part came from, the
    referral failed (nothing can be lent on a part that never existed; its parties told), the
    decline still a decline; no person can approve the referral any more."""
    s = _story(platform)
    (first,) = s.holdings()
    tier1, bank = s.org["tier1"].id, s.org["bank"].id
    day = s.item.issue_date + dt.timedelta(days=5)
    _warm(platform, day)
    refer_all = ProductPolicy(bank_id=bank, refer_pd=0.0, max_pd=1.0, min_verification_score=0,
                              max_findings_warnings=99)  # fmt: skip
    credit.set_policy(uow_factory=platform.uow_factory, policy=refer_all)
    before = _tables(platform)
    part = items.split(
        uow_factory=platform.uow_factory, holding_id=first.id, amount=200_000 * YUAN,
        actor_id=tier1,
    )  # fmt: skip

    def ask() -> Financing:
        return financing.request_financing(
            uow_factory=platform.uow_factory, holding_id=part.id, bank_id=bank,
            cold_start=platform.cold_start, amount=100_000 * YUAN, actor_id=tier1, as_of=day,
        )  # fmt: skip

    referred = ask()
    assert referred.status is FinancingStatus.REFERRED
    credit.set_policy(uow_factory=platform.uow_factory,
                      policy=ProductPolicy(bank_id=bank, refer_pd=0.0, max_pd=0.0,
                                           min_verification_score=0, max_findings_warnings=99))  # fmt: skip
    declined = ask()
    assert declined.status is FinancingStatus.DECLINED
    with _suspended(platform, tier1):
        result = _relay(platform)
    assert any("not a member" in r for _, r in result.failed), result.failed
    after = _tables(platform)
    assert _diff(before, after, but=("financings", "product_policies")) == {}
    with platform.uow_factory() as uow:
        now_referred = uow.financings.get(referred.id)
        now_declined = uow.financings.get(declined.id)
        assert uow.items.get_holding(part.id) is None
    assert now_referred is not None and now_declined is not None
    assert (now_referred.status, now_referred.holding_id) == (FinancingStatus.FAILED, first.id)
    assert (now_declined.status, now_declined.holding_id) == (FinancingStatus.DECLINED, first.id)
    assert now_referred.decision == referred.decision
    assert now_declined.decision == declined.decision
    assert _failed_told(platform, referred.id)
    assert not _failed_told(platform, declined.id)
    with pytest.raises(ConflictError):
        credit.decide_referral(
            uow_factory=platform.uow_factory, financing_id=referred.id, approve=True,
            reason="looks fine", person="li.wei", as_of=day,
        )  # fmt: skip
    _audit_clean(platform)
    assert _relay(platform).failed == ()


def test_a_refused_transfer_takes_the_recipients_request_on_it_along(
    platform: Platform,
) -> None:
    """Tier 1 passes a part to tier 2, which finances it at once; the chain refuses the
    transfer: the part never was tier 2's, so the request on it goes with it (told failed),
    and every table is as before."""
    s = _story(platform)
    (first,) = s.holdings()
    tier1, tier2, bank = s.org["tier1"].id, s.org["tier2"].id, s.org["bank"].id
    _warm(platform, s.item.issue_date + dt.timedelta(days=5))
    before = _tables(platform)
    passed = items.transfer(
        uow_factory=platform.uow_factory, holding_id=first.id, amount=300_000 * YUAN,
        to_org_id=tier2, actor_id=tier1,
    )  # fmt: skip
    fin = _request(platform, passed.id, bank, tier2, 200_000 * YUAN,
                   s.item.issue_date + dt.timedelta(days=5))  # fmt: skip
    with _suspended(platform, tier2):
        result = _relay(platform)
    assert any("recipient is not a member" in r for _, r in result.failed), result.failed
    assert len(result.failed) == 3, result.failed
    states = _refused_ops(platform)
    assert all(states[op_id] is OpStatus.REFUSED for op_id, _ in result.failed)
    assert _diff(before, _tables(platform)) == {}
    with platform.uow_factory() as uow:
        assert uow.financings.get(fin.id) is None
    assert _failed_told(platform, fin.id)
    _audit_clean(platform)
    assert _relay(platform).failed == ()


def _verified_trade(p: Platform, org: dict[str, Organisation]) -> tuple[str, dt.date]:
    """A trade ingested and verified (documents anchored): its id and issue day."""
    start = p.clock.today() - dt.timedelta(days=110)
    tag = uuid.uuid4().hex[:8]
    raw = tier1_sale(f"KR-{tag}", start, ONE_LINE)
    return verified_trade(p, [(org["tier1"].id, raw, "kept.json")], f"INV-KR-{tag}", start)


def test_a_refused_issuance_takes_the_request_on_its_holding_along(platform: Platform) -> None:
    """17-P's case: the item's issuance refused ('account bank is not a bank': the debtor's
    bank suspended) with a financing approved on its first holding, its pledge queued: the
    relay no longer fails on a foreign key; the item, its holding and the request on it go,
    the parties are told, and the relay goes on with the next ops."""
    s = _story(platform)  # the network, and one item issued and applied
    bank = s.org["bank"].id
    tier1 = s.org["tier1"].id
    with platform.uow_factory() as uow:  # ops queued before, already applied
        assert all(o.status is OpStatus.DONE for o in uow.outbox.list())
    trade_id, issue_day = _verified_trade(platform, s.org)
    assert _relay(platform).failed == ()  # the documents' anchors
    _warm(platform, issue_day + dt.timedelta(days=5))
    platform_before = _tables(platform)
    item = items.issue_item(
        uow_factory=platform.uow_factory, ledger=platform.require_contracts(),
        clock=platform.clock, trade_id=trade_id, as_of=issue_day, confirm=True,
    )  # fmt: skip
    with platform.uow_factory() as uow:
        (holding,) = uow.items.holdings(item.id)
    fin = _request(platform, holding.id, bank, tier1, 300_000 * YUAN,
                   issue_day + dt.timedelta(days=5), present=True)  # fmt: skip
    with platform.uow_factory() as uow:
        kinds = {o.kind.value for o in uow.outbox.for_subject(fin.id)}
    assert kinds == {"register_fingerprints", "pledge", "accept_pledge"}, kinds
    # A later, unrelated op of another sender: applied whatever the refusal.
    (first,) = s.holdings()
    other = items.split(
        uow_factory=platform.uow_factory, holding_id=first.id, amount=10_000 * YUAN,
        actor_id=tier1,
    )  # fmt: skip
    with _suspended(platform, bank):
        result = _relay(platform)
    reasons = dict(result.failed)
    assert any("account bank is not a bank" in r for r in reasons.values()), result.failed
    states = _refused_ops(platform)
    assert all(states[op_id] is OpStatus.REFUSED for op_id in reasons)
    with platform.uow_factory() as uow:
        assert uow.items.get(item.id) is None
        assert uow.items.get_holding(holding.id) is None
        assert uow.financings.get(fin.id) is None
        assert uow.items.get_holding(other.id) is not None
        split_ops = [o for o in uow.outbox.list() if o.subject_id == s.item.id
                     and o.status is not OpStatus.DONE]  # fmt: skip
    assert split_ops == [], "the unrelated split was applied"
    assert _failed_told(platform, fin.id)
    after = _tables(platform)
    assert _diff(platform_before, after, but=("holdings",)) == {}
    assert len(after["holdings"]) == len(platform_before["holdings"]) + 1  # the split part
    _audit_clean(platform)
    assert _relay(platform).failed == ()


def test_a_refused_receipt_issue_fails_the_goods_financing_asked_on_it(
    platform: Platform,
) -> None:
    """A warehouse receipt issued (its issuance queued) and pledged at once by its holder; the
    chain refuses the issuance: the receipt and the pledge's records go, the goods financing
    stays on record as failed (goods financings name their receipt by id only), nothing
    else changes, the relay goes on and `audit` is clean."""
    s = _story(platform)
    tier1, bank = s.org["tier1"].id, s.org["bank"].id
    warehouse = _warehouse(platform)
    credit.set_price(
        uow_factory=platform.uow_factory, goods_code="STEEL-COIL", price=4_000.0,
        currency="CNY", as_of=s.today,
    )  # fmt: skip
    assert _relay(platform).failed == ()
    before = _tables(platform)
    receipt_id = receipts.issue_receipt(
        uow_factory=platform.uow_factory, warehouse_id=warehouse.id, holder_id=tier1,
        goods_code="STEEL-COIL", description="热轧卷板 Q235", quantity=10, unit="TNE",
        location="WX-A1", evidence="urn:epcis:receiving:kept",
    )  # fmt: skip
    goods = receipts.pledge_receipt(
        uow_factory=platform.uow_factory, receipt_id=receipt_id, bank_id=bank,
        amount=1_000 * YUAN, actor_id=tier1,
    )  # fmt: skip
    assert goods.status is FinancingStatus.APPROVED, goods
    with _suspended(platform, warehouse.id):
        result = _relay(platform)
    assert len(result.failed) == 3, result.failed  # the issuance, the offer, the acceptance
    states = _refused_ops(platform)
    assert all(states[op_id] is OpStatus.REFUSED for op_id, _ in result.failed)
    after = _tables(platform)
    assert _diff(before, after, but=("goods_financings",)) == {}
    with platform.uow_factory() as uow:
        assert uow.receipts.get(receipt_id) is None
        stored = uow.goods_financings.get(goods.id)
    assert stored is not None and stored.status is FinancingStatus.FAILED
    _audit_clean(platform)
    assert _relay(platform).failed == ()
