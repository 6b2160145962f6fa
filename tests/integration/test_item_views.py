"""The item view a read is answered from (``items.ItemViews``) is the store's, after every kind
of change of what it shows, on SQLite and PostgreSQL.

Two view caches stand for two API processes. After each change (a split, a transfer, a pledge,
a payment, a dispute and its lifting, an operation the chain applies or refuses, an
organisation renamed by another connection) both answer exactly what ``describe_item`` renders
from the store at that moment, and the change is visible in it; reading again with nothing
changed renders nothing (the kept view is used).

Each view is also checked equal to the one rendered from the records read one item at a time
(``_one_at_a_time``: the reads of one item each, as ``describe_item`` made them until
``items.render_items``; both render through ``views._view``), and the many-items read
(``ItemViews.aget_many``, what ``GET /items?ids=`` answers from) to the one-item read.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from sqlalchemy import create_engine, text

from fourflow.bootstrap import Platform
from fourflow.domain import facts
from fourflow.domain.financing import Outcome
from fourflow.services import financing, items, relay
from fourflow.services.items import ItemViews
from fourflow.services.items.views import OPEN, _view
from fourflow.services.ports import UnitOfWorkFactory
from tests.integration.test_lifecycle import YUAN, Story, _story
from tests.integration.test_refusals import _suspended

pytestmark = pytest.mark.chain
T = TypeVar("T")


def _one_at_a_time(uow_factory: UnitOfWorkFactory, item_id: str) -> dict[str, Any]:
    """An item's view from the reads ``describe_item`` made before ``render_items``: each
    record of the one item by its own reads (what the batched reads must equal). The records
    are turned into the view by the module's ``_view``, the rendering both share: what is
    checked here is which records the batched reads hand it, not the rendering."""
    with uow_factory() as uow:
        item = uow.items.get(item_id)
        assert item is not None
        holdings = uow.items.holdings(item_id)
        repayments = uow.repayments.for_item(item_id)
        disputed = facts.is_disputed(uow.disputes.for_item(item_id))
        approvals = {a.party_id for a in uow.cancel_approvals.for_item(item_id)}
        fins = {h.id: uow.financings.by_holding(h.id) for h in holdings}
        subjects = [item_id, *sorted({f.id for f in fins.values() if f is not None})]
        ops = [op for subject in subjects for op in uow.outbox.for_subject(subject)]
        waiting = sorted((op for op in ops if op.status in OPEN), key=lambda op: op.seq or 0)
        named: set[str | None] = {item.debtor_id, item.creditor_id}
        for h in holdings:
            named |= {h.holder_id, h.pledge_bank_id, h.acquired_from}
        named |= {p.payee_id for r in repayments for p in r.parts}
        orgs = {i: o for i in named if i and (o := uow.organisations.get(i)) is not None}
    view = _view(
        item, holdings, repayments, fins, waiting, orgs,
        disputed=disputed, cancelled={item.creditor_id, item.debtor_id} <= approvals,
    )  # fmt: skip
    return view.body


async def _in_thread(func: Callable[[], T]) -> T:
    return await asyncio.to_thread(func)


def _many(cache: ItemViews, ids: list[str]) -> dict[str, items.ItemView]:
    """``aget_many`` on an event loop of its own (as ``GET /items?ids=`` awaits it)."""
    return asyncio.run(cache.aget_many(ids, _in_thread))


class Readers:
    """Two processes' view caches of one item, checked against the store on every read."""

    def __init__(self, s: Story) -> None:
        self.s = s
        self.caches = [
            ItemViews(s.p.uow_factory, s.p.item_view_versions()),
            ItemViews(s.p.uow_factory, s.p.item_view_versions()),
        ]

    def read(self) -> dict[str, Any]:
        """Both caches' view (one read alone, the other with others): equal to a fresh render
        from the store, and to the store's view read one record at a time."""
        item_id = self.s.item.id
        truth = items.describe_item(uow_factory=self.s.p.uow_factory, item_id=item_id)
        assert truth == _one_at_a_time(self.s.p.uow_factory, item_id)
        alone = self.caches[0].get(item_id)
        with_others = _many(self.caches[1], ["item-does-not-exist", item_id, item_id])
        assert list(with_others) == [item_id]
        for view in (alone, with_others[item_id]):
            assert view.body == truth and json.loads(view.json) == truth
            assert view.parties >= {self.s.item.debtor_id, self.s.item.creditor_id}
        return truth

    def unchanged(self) -> dict[str, Any]:
        """A read with nothing changed: answered from the kept views, none rendered."""
        before = [c.rendered for c in self.caches]
        view = self.read()
        assert [c.rendered for c in self.caches] == before
        return view


def _relayed(s: Story) -> None:
    result = relay.relay(uow_factory=s.p.uow_factory, ledger=s.p.require_contracts())
    assert not result.failed, result.failed


def _holders(view: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted((h["holder_id"], h["value"]["amount"]) for h in view["holdings"])


def test_every_change_shows_in_the_next_read(platform: Platform) -> None:
    s = _story(platform)
    r = Readers(s)
    tier1, tier2, bank = s.org["tier1"].id, s.org["tier2"].id, s.org["bank"].id
    first = r.read()
    assert r.caches[0].rendered == 1 and r.unchanged() == first
    (holding,) = s.holdings()

    # a split: queued (pending), then applied by the chain
    part = items.split(
        uow_factory=platform.uow_factory, holding_id=holding.id, amount=400_000 * YUAN,
        actor_id=tier1,
    )  # fmt: skip
    view = r.read()
    assert [p["op"] for p in view["pending"]] == ["split"] and len(view["holdings"]) == 2
    r.unchanged()
    _relayed(s)
    view = r.read()
    assert view["pending"] == [] and not any(h["pending"] for h in view["holdings"])

    # a transfer to tier 2
    passed = items.transfer(
        uow_factory=platform.uow_factory, holding_id=part.id, amount=300_000 * YUAN,
        to_org_id=tier2, actor_id=tier1,
    )  # fmt: skip
    view = r.read()
    assert (tier2, "300000.00") in _holders(view) and view["pending"][0]["op"] == "transfer"
    _relayed(s)
    assert r.read()["pending"] == []

    # a pledge: the bank finances tier 2's holding
    fin = financing.request_financing(
        uow_factory=platform.uow_factory, cold_start=platform.cold_start, holding_id=passed.id,
        bank_id=bank, amount=270_000 * YUAN, actor_id=tier2,
        as_of=s.item.issue_date + dt.timedelta(days=5),
    )  # fmt: skip
    assert fin.decision is not None and fin.decision.outcome is Outcome.APPROVE
    view = r.read()
    (pledged,) = [h for h in view["holdings"] if h["holding_id"] == passed.id]
    assert pledged["pledge"]["bank_id"] == bank
    assert pledged["pledge"]["financed_principal"]["amount"] == "270000.00"
    _relayed(s)
    assert r.read()["pending"] == []
    r.unchanged()

    # a payment, routed banks first
    items.pay(
        uow_factory=platform.uow_factory, ledger=platform.require_contracts(), item_id=s.item.id,
        amount=100_000 * YUAN, value_date=platform.require_contracts().chain_today(),
        reference=f"CAMT-{uuid.uuid4().hex[:8]}", payer_id=bank, method="attested",
    )  # fmt: skip
    view = r.read()
    assert view["paid"]["amount"] == "100000.00" and view["settled_by_party"]
    _relayed(s)
    r.read()

    # a dispute, and its lifting
    items.dispute_item(
        uow_factory=platform.uow_factory, item_id=s.item.id, reason="short delivery",
        actor_id=s.item.debtor_id, on=s.today,
    )  # fmt: skip
    assert r.read()["disputed"] is True
    _relayed(s)
    items.lift_dispute(uow_factory=platform.uow_factory, item_id=s.item.id,
                       actor_id=s.item.debtor_id)  # fmt: skip
    assert r.read()["disputed"] is False
    _relayed(s)
    r.read()  # the relay applied the lifting
    settled = r.unchanged()

    # an operation the chain refuses: shown pending, then undone
    with _suspended(platform, tier2):
        items.transfer(
            uow_factory=platform.uow_factory, holding_id=holding.id, amount=1_000 * YUAN,
            to_org_id=tier2, actor_id=tier1,
        )  # fmt: skip
        view = r.read()
        assert [p["op"] for p in view["pending"]] == ["transfer"]
        refused = relay.relay(uow_factory=platform.uow_factory, ledger=platform.require_contracts())
        assert refused.failed
    view = r.read()
    assert view == settled

    # an organisation renamed by another connection (another process)
    engine = create_engine(platform.settings.database_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE organisations SET name = :name WHERE id = :id"),
                {"name": "Renamed Tier 1 Ltd", "id": tier1},
            )
    finally:
        engine.dispose()
    assert r.read()["creditor"] == "Renamed Tier 1 Ltd"
    r.unchanged()


def test_a_missing_item_is_not_found_and_not_kept(platform: Platform) -> None:
    cache = ItemViews(platform.uow_factory, platform.item_view_versions())
    for _ in range(2):
        with pytest.raises(items.NotFoundError):
            cache.get("item-does-not-exist")
        assert _many(cache, ["item-does-not-exist"]) == {}
    assert cache.rendered == 0
