"""Item views rendered many at a time (``items.render_items``, what ``GET /items?ids=`` renders
the views not kept from; issue 17: the portfolio's and the payables' first load rendered them
one by one): each view equal to the one read record by record for that item alone, for items
with splits, transfers, pledges and their financings, repayments routed to banks and holders,
a dispute raised and one withdrawn, a cancellation approved by both parties and by one, and
chain operations open and done about the items and their financings; an unknown id is left
out; on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses

from fourflow.adapters.db import SqlUnitOfWorkFactory
from fourflow.domain.facts import CancelApproval, DisputeAction, DisputeEvent
from fourflow.domain.financing import FinancingStatus
from fourflow.domain.parties import Role
from fourflow.services.items import views
from fourflow.services.ports import OpKind, OpStatus
from tests.integration.test_item_views import _one_at_a_time

from . import builders as b


def _store(uow_factory: SqlUnitOfWorkFactory) -> list[str]:
    """Six items of three parties in every state a view shows; their ids."""
    ids = [f"item-{n}" for n in range(1, 7)]
    with uow_factory() as u:
        b.add_parties(u)
        u.organisations.add(b.org(4, Role.SUPPLIER))
        for n, item_id in enumerate(ids, start=1):
            u.trades.add(b.trade(n))
            u.items.add(b.item(n, f"trade-{n}"))
            u.items.add_holding(b.holding(f"h-{n}", item_id, "org-1", 5_155_010))
        # item 1: split and transferred to org-4, the child pledged to the bank and financed
        u.items.add_holding(
            b.holding("h-1b", "item-1", "org-4", 1_000_000, parent_id="h-1",
                      acquired_from="org-1", pledge_bank_id="org-3", pledge=b.pledge())
        )  # fmt: skip
        u.financings.add(b.financing("fin-1", "item-1", "h-1b", FinancingStatus.ACTIVE))
        # item 2: repaid, routed to the bank and the holder; a second financing, superseded
        u.financings.add(b.financing("fin-2a", "item-2", "h-2", FinancingStatus.DECLINED))
        u.financings.add(b.financing("fin-2", "item-2", "h-2", FinancingStatus.REPAID))
        u.repayments.add(b.repayment("rep-2", "item-2", "h-2"))
        # item 3: disputed; item 4: a dispute raised and withdrawn
        for op_id, item_id, action in (
            ("op-d3", "item-3", DisputeAction.RAISED), ("op-d4", "item-4", DisputeAction.RAISED),
            ("op-w4", "item-4", DisputeAction.WITHDRAWN),
        ):  # fmt: skip
            u.disputes.add(DisputeEvent(item_id, action, "org-2", op_id, b.DAY, "short", "ab"))
        # item 5: cancelled by both parties; item 6: approved by its creditor only
        for item_id, party in (("item-5", "org-1"), ("item-5", "org-2"), ("item-6", "org-1")):
            u.cancel_approvals.add(CancelApproval(item_id, party, f"op-c-{item_id}-{party}"))
        # operations: open about items 1 and 6 and financing 1; done about item 2
        for op_id, subject in (("op-1", "item-1"), ("op-f1", "fin-1"), ("op-6", "item-6"),
                               ("op-2", "item-2")):  # fmt: skip
            u.outbox.add(b.op(op_id, subject))
        u.commit()
    with uow_factory() as u:
        done = u.outbox.get("op-2")
        assert done is not None
        u.outbox.update(dataclasses.replace(done, status=OpStatus.DONE, tx_hash="0x" + "1" * 64))
        u.commit()
    return ids


def test_many_views_are_each_as_read_alone(uow_factory: SqlUnitOfWorkFactory) -> None:
    ids = _store(uow_factory)
    many = views.render_items(uow_factory=uow_factory, item_ids=["item-none", *ids, ids[0]])
    assert sorted(many) == sorted(ids)
    for item_id in ids:
        alone = _one_at_a_time(uow_factory, item_id)
        assert many[item_id].body == alone
        assert views.render_item(uow_factory=uow_factory, item_id=item_id).body == alone
    shown = {k: v.body for k, v in many.items()}
    assert shown["item-1"]["pending"] and shown["item-1"]["holdings"][1]["pledge"] is not None
    assert shown["item-1"]["holdings"][1]["pending"]  # the financing's open operation
    assert shown["item-2"]["settled_by_party"] and shown["item-2"]["pending"] == []
    assert shown["item-3"]["disputed"] and not shown["item-4"]["disputed"]
    assert shown["item-5"]["status"] == "cancelled" and shown["item-6"]["status"] != "cancelled"
    assert shown["item-6"]["pending"][0]["op"] == OpKind.ISSUE_ITEM.value
    assert views.render_items(uow_factory=uow_factory, item_ids=[]) == {}
