"""A member's own position (issue 15, "a supplier sees its own"): what it holds, what it owes,
what it financed and what is still waiting for the chain, in one call."""

from __future__ import annotations

from typing import Any

from fourflow.services.common import get_org
from fourflow.services.ports import UnitOfWorkFactory

#: Chain operations waiting shown, at most (the oldest).
PENDING_SHOWN = 1000


def _money(minor: int, currency: str) -> dict[str, Any]:
    return {"minor": minor, "amount": f"{minor / 100:,.2f}", "currency": currency}


def member_position(*, uow_factory: UnitOfWorkFactory, org_id: str) -> dict[str, Any]:
    """``holds``: the member's holdings with outstanding value (item, debtor, maturity, pledge
    bank); ``owes``: items it is the debtor of, with what is outstanding; ``financed``: its
    financing requests, receivable and goods (bank, status, principal); ``pending``: its chain
    operations not yet applied (the oldest ``PENDING_SHOWN``). Names, not ids, for the parties."""
    with uow_factory() as uow:
        me = get_org(uow, org_id)
        wanted: set[str] = set()  # the parties named, read together at the end

        def name(oid: str | None) -> str | None:
            if oid is not None:
                wanted.add(oid)
            return oid

        holds, owes = [], []
        items = {i.id: i for i in uow.items.list()}
        every = uow.items.holdings_many(list(items))  # one read, not one per item
        for item in items.values():
            holdings = every.get(item.id, [])
            for h in holdings:
                if h.holder_id == me.id and h.outstanding > 0:
                    holds.append({
                        "holding": h.id, "item": item.id, "debtor": name(item.debtor_id),
                        "maturity": item.maturity_date.isoformat(),
                        "outstanding": _money(h.outstanding, item.currency),
                        "pledged_to": name(h.pledge_bank_id),
                    })  # fmt: skip
            if item.debtor_id == me.id:
                owed = sum(h.outstanding for h in holdings)
                if owed > 0:
                    owes.append({
                        "item": item.id, "creditor": name(item.creditor_id),
                        "maturity": item.maturity_date.isoformat(),
                        "outstanding": _money(owed, item.currency),
                    })  # fmt: skip
        financed = [
            {
                "request": f.id, "bank": name(f.bank_id), "status": f.status.value,
                "requested": _money(f.requested, items[f.item_id].currency),
                "principal": _money(f.principal, items[f.item_id].currency),
                "rate_bps": f.rate_bps, "kind": f.kind.value,
            }
            for f in uow.financings.list()
            if f.borrower_id == me.id and f.item_id in items
        ]  # fmt: skip
        financed += [
            {
                "request": g.id, "bank": name(g.bank_id), "status": g.status.value,
                "requested": _money(g.requested, g.currency),
                "principal": _money(g.principal, g.currency), "rate_bps": g.rate_bps,
                "kind": g.kind.value, "receipt": g.receipt_id,
            }
            for g in uow.goods_financings.list()
            if g.borrower_id == me.id
        ]  # fmt: skip
        pending = [
            {"op": o.op_id, "kind": o.kind.value, "subject": o.subject_id,
             "status": o.status.value}
            for o in uow.outbox.pending(PENDING_SHOWN, sender_org_id=me.id)
        ]  # fmt: skip
        # every party's name in one read (not one query each)
        names = {i: o.name for i, o in uow.organisations.get_many(sorted(wanted)).items()}
    for rows, keys in (
        (holds, ("debtor", "pledged_to")),
        (owes, ("creditor",)),
        (financed, ("bank",)),
    ):
        for row in rows:
            for key in keys:
                named = row[key]
                if isinstance(named, str):
                    row[key] = names.get(named, named)
    return {"member": me.name, "holds": holds, "owes": owes, "financed": financed,
            "pending": pending}  # fmt: skip
