"""Views of an item: ``describe_item`` (holdings, pledges, what each party was paid) and
``item_history`` (its provenance)."""

from __future__ import annotations

from typing import Any

from fourflow.domain.debt import Holding
from fourflow.domain.financing import Financing
from fourflow.domain.money import Money
from fourflow.services import commands as cmd
from fourflow.services.common import get_item, is_disputed
from fourflow.services.items.common import is_cancelled, item_outstanding
from fourflow.services.ports import ChainOp, OpKind, UnitOfWork, UnitOfWorkFactory


def money_view(minor: int, currency: str) -> dict[str, Any]:
    """An amount as both a decimal string and minor units."""
    return {
        "amount": Money.from_minor(minor, currency).plain(),
        "minor": minor,
        "currency": currency,
    }


def describe_item(*, uow_factory: UnitOfWorkFactory, item_id: str) -> dict[str, Any]:
    """The item with its holdings (holder, value, pledge) and what each party has been paid."""
    with uow_factory() as uow:
        item = get_item(uow, item_id)
        orgs = {o.id: o for o in uow.organisations.list()}
        holdings = uow.items.holdings(item_id)
        repayments = uow.repayments.for_item(item_id)
        disputed, cancelled = is_disputed(uow, item_id), is_cancelled(uow, item_id)
        outstanding = item_outstanding(uow, item_id)
        financings = {h.id: uow.financings.by_holding(h.id) for h in holdings}
        waiting = _waiting_ops(uow, item_id, holdings, financings)
    cur = item.currency

    def name(org_id: str | None) -> str | None:
        return orgs[org_id].name if org_id in orgs else org_id

    settled: dict[str, int] = {}
    by_holding: dict[str, dict[str, int]] = {}
    for r in repayments:
        for p in r.parts:
            settled[p.payee_id] = settled.get(p.payee_id, 0) + p.amount
            slot = by_holding.setdefault(p.holding_id, {})
            slot[p.kind] = slot.get(p.kind, 0) + p.amount
    rows = []
    for h in holdings:
        pledge = None
        if h.pledge is not None:
            fin = financings.get(h.id)
            pledge = {
                "bank": name(h.pledge_bank_id),
                "bank_id": h.pledge_bank_id,
                "principal": money_view(h.pledge.principal, cur),
                "interest": money_view(h.pledge.interest, cur),
                "rate_bps": h.pledge.rate_bps,
                "status": "active" if h.pledge.active else "released",
                "financed_principal": money_view(fin.principal, cur) if fin else None,
            }
        paid = by_holding.get(h.id, {})
        rows.append(
            {
                "holding_id": h.id,
                "holder": name(h.holder_id),
                "holder_id": h.holder_id,
                "value": money_view(h.amount, cur),
                "outstanding": money_view(h.outstanding, cur),
                "parent_id": h.parent_id,
                "acquired_from": name(h.acquired_from),
                "pledge": pledge,
                "paid_to_holder": money_view(paid.get("holder", 0), cur),
                "paid_to_bank": money_view(
                    paid.get("bank_interest", 0) + paid.get("bank_principal", 0), cur
                ),
                "pending": any(h.id in op.undo.touches() for op in waiting),
            }
        )
    status = "cancelled" if cancelled else item.status.value
    return {
        "item_id": item.id,
        "trade_id": item.trade_id,
        "debtor": name(item.debtor_id),
        "creditor": name(item.creditor_id),
        "basis": item.basis.name.lower(),
        "status": status,
        "disputed": disputed,
        "issue_date": item.issue_date.isoformat(),
        "maturity_date": item.maturity_date.isoformat(),
        "face_value": money_view(item.face_value, cur),
        "paid": money_view(item.paid, cur),
        "outstanding": money_view(outstanding, cur),
        "holdings": rows,
        # Changes the store shows but the chain has not confirmed yet (the relay applies them;
        # a refused one is undone).
        "pending": [
            {"op_id": op.op_id, "op": op.kind.value, "status": op.status.value} for op in waiting
        ],
        "settled_by_party": [
            {"party": name(org_id), "party_id": org_id, **money_view(total, cur)}
            for org_id, total in sorted(settled.items(), key=lambda kv: -kv[1])
        ],
    }


def _waiting_ops(
    uow: UnitOfWork,
    item_id: str,
    holdings: list[Holding],
    financings: dict[str, Financing | None],
) -> list[ChainOp]:
    """Queued ops (not yet confirmed by the chain) that change this item or its holdings."""
    subjects = {item_id} | {f.id for f in financings.values() if f is not None}
    records = {item_id} | {h.id for h in holdings}
    return [
        op
        for op in uow.outbox.pending(10_000)
        if op.subject_id in subjects or op.undo.touches() & records
    ]


def item_history(*, uow_factory: UnitOfWorkFactory, item_id: str) -> list[dict[str, Any]]:
    """The item's provenance: every operation in order, who did it, to whom, and its tx."""
    with uow_factory() as uow:
        item = get_item(uow, item_id)
        orgs = {o.id: o for o in uow.organisations.list()}
        holdings = {h.id: h for h in uow.items.holdings(item_id)}
        ops = list(uow.outbox.for_subject(item_id))
        for h in holdings.values():
            fin = uow.financings.by_holding(h.id)
            if fin is not None:
                ops.extend(uow.outbox.for_subject(fin.id))
    ops.sort(key=lambda o: o.seq or 0)
    by_address = {(o.chain_address or "").lower(): o.name for o in orgs.values()}

    def name(org_id: str | None) -> str | None:
        return orgs[org_id].name if org_id in orgs else org_id

    events = []
    for op in ops:
        p = cmd.command_to_json(op.command)  # a view of what the command said, not a decision
        event: dict[str, Any] = {
            "op": op.kind.value,
            "by": name(op.sender_org_id),
            "status": op.status.value,
            "tx": op.tx_hash,
            "block": op.block_number,
        }
        if "amount" in p:
            event["amount"] = money_view(int(p["amount"]), item.currency)
        if op.kind in (OpKind.SPLIT, OpKind.TRANSFER):
            child = holdings.get(str(p["new_holding_id"]))
            event["from_holding"] = p["holding_id"]
            event["to_holding"] = p["new_holding_id"]
            event["to"] = (
                name(child.holder_id)
                if child
                else by_address.get(str(p.get("to_address", "")).lower())
            )
        elif op.kind is OpKind.PLEDGE:
            event["holding"] = p["holding_id"]
            event["to"] = by_address.get(str(p["bank_address"]).lower())
            event["principal"] = money_view(int(p["principal"]), item.currency)
            event["rate_bps"] = p["rate_bps"]
        elif "holding_id" in p:
            event["holding"] = p["holding_id"]
        for key in ("value_day", "reason", "credit_note", "bank_reference", "resolution"):
            if p.get(key):
                event[key] = p[key]
        if op.error:
            event["error"] = op.error
        events.append(event)
    return events
