"""Views of an item: ``describe_item`` (holdings, pledges, what each party was paid),
``ItemViews`` (the rendered views of this process, one version lookup a read) and
``item_history`` (its provenance)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from fourflow.domain import facts
from fourflow.domain.debt import DebtItem, Holding
from fourflow.domain.financing import Financing
from fourflow.domain.money import Money
from fourflow.domain.parties import Organisation
from fourflow.services import commands as cmd
from fourflow.services.common import get_item
from fourflow.services.ports import ChainOp, OpKind, OpStatus, Repayment, UnitOfWorkFactory

_T = TypeVar("_T")
#: Operations the chain has not confirmed or refused yet.
OPEN = (OpStatus.PENDING, OpStatus.SENT)


def money_view(minor: int, currency: str) -> dict[str, Any]:
    """An amount as both a decimal string and minor units."""
    return {
        "amount": Money.from_minor(minor, currency).plain(),
        "minor": minor,
        "currency": currency,
    }


@dataclass(frozen=True, slots=True)
class ItemView:
    """An item's rendered view and who has a part in it.

    Attributes:
        body: what ``describe_item`` returns.
        json: ``body`` as compact UTF-8 JSON.
        parties: the debtor, the creditor, every holder and pledgee bank (the object rule:
            they see the item; the operator, the regulator and the debtor's account bank too).
        debtor_id: the debtor (a bank not among the parties sees the item as its account bank).
    """

    body: dict[str, Any]
    json: bytes
    parties: frozenset[str]
    debtor_id: str


class ItemViewVersions(Protocol):
    """The version of an item's view: it grows with every committed change of what the view
    shows (``adapters.db.item_views``); None when the store cannot tell."""

    def version(self, item_id: str) -> int | None:
        """The item's view version."""
        ...

    @property
    def asynchronous(self) -> bool:
        """True when ``aversion`` may be awaited on an event loop."""
        ...

    async def aversion(self, item_id: str) -> int | None:
        """``version``, awaited on an event loop (without a thread)."""
        ...


class Offload(Protocol):
    """Runs a blocking call off the event loop (the API's thread pool)."""

    def __call__(self, func: Callable[[], _T], /) -> Awaitable[_T]: ...


class ItemViews:
    """The item views this process rendered, each kept with the version it was rendered at.

    A read looks the item's version up (one indexed statement) and answers from the view kept
    at that version, or renders it again from the store. The version is read *before* the view
    is rendered and only grows as changes commit, so a kept view is never older than its
    version: a change committed anywhere (another process, the worker's relay) shows in the
    next read. At most ``capacity`` items are kept (least recently read forgotten first).
    """

    def __init__(
        self, uow_factory: UnitOfWorkFactory, versions: ItemViewVersions, capacity: int = 4096
    ) -> None:
        self._uow_factory = uow_factory
        self._versions = versions
        self._capacity = capacity
        self._kept: OrderedDict[str, tuple[int, ItemView]] = OrderedDict()
        self._lock = threading.Lock()
        self.rendered = 0  # how many reads rendered the view (the others were kept ones)

    def get(self, item_id: str) -> ItemView:
        """The item's current view; NotFoundError when there is no such item."""
        version = self._versions.version(item_id)
        return self._kept_at(item_id, version) or self._render(item_id, version)

    async def aget(self, item_id: str, offload: Offload) -> ItemView:
        """``get`` on an event loop: the version looked up without a thread where the store
        allows it, a view rendered by ``offload`` (a thread); NotFoundError as ``get``."""
        if not self._versions.asynchronous:
            return await offload(lambda: self.get(item_id))
        version = await self._versions.aversion(item_id)
        kept = self._kept_at(item_id, version)
        if kept is not None:
            return kept
        return await offload(lambda: self._render(item_id, version))

    async def aget_many(self, item_ids: Sequence[str], offload: Offload) -> dict[str, ItemView]:
        """``aget`` of each of ``item_ids``, by id (an item that does not exist is left out):
        the versions looked up together (one statement on PostgreSQL), the views not kept at
        their version rendered together (``render_items``: a few statements for all)."""
        wanted = list(dict.fromkeys(item_ids))
        if self._versions.asynchronous:
            found = await asyncio.gather(*(self._versions.aversion(i) for i in wanted))
            versions = dict(zip(wanted, found, strict=True))
        else:
            versions = await offload(lambda: {i: self._versions.version(i) for i in wanted})
        kept = {i: self._kept_at(i, versions[i]) for i in wanted}
        missing = [i for i in wanted if kept[i] is None]
        if missing:
            rendered = await offload(lambda: self._render_many(missing, versions))
        else:
            rendered = {}
        out = {}
        for i in wanted:
            view = kept[i] or rendered.get(i)
            if view is not None:
                out[i] = view
        return out

    def _render_many(
        self, item_ids: list[str], versions: dict[str, int | None]
    ) -> dict[str, ItemView]:
        views = render_items(uow_factory=self._uow_factory, item_ids=item_ids)
        for item_id, view in views.items():
            self._keep(item_id, versions[item_id], view)
        return views

    def _kept_at(self, item_id: str, version: int | None) -> ItemView | None:
        if version is None:
            return None
        with self._lock:
            kept = self._kept.get(item_id)
            if kept is not None and kept[0] == version:
                self._kept.move_to_end(item_id)
                return kept[1]
        return None

    def _render(self, item_id: str, version: int | None) -> ItemView:
        view = render_item(uow_factory=self._uow_factory, item_id=item_id)
        self._keep(item_id, version, view)
        return view

    def _keep(self, item_id: str, version: int | None, view: ItemView) -> None:
        with self._lock:
            self.rendered += 1
            if version is not None:
                kept = self._kept.get(item_id)
                if kept is None or kept[0] <= version:
                    self._kept[item_id] = (version, view)
                    self._kept.move_to_end(item_id)
                while len(self._kept) > self._capacity:
                    self._kept.popitem(last=False)


def describe_item(*, uow_factory: UnitOfWorkFactory, item_id: str) -> dict[str, Any]:
    """The item with its holdings (holder, value, pledge) and what each party has been paid."""
    return render_item(uow_factory=uow_factory, item_id=item_id).body


def render_item(*, uow_factory: UnitOfWorkFactory, item_id: str) -> ItemView:
    """The item's view from the store: only its own records, the organisations it names and
    the open operations about it (the item and its financings). NotFoundError when there is
    no such item."""
    found = render_items(uow_factory=uow_factory, item_ids=[item_id])
    if item_id not in found:
        with uow_factory() as uow:
            get_item(uow, item_id)  # raises NotFoundError
    return found[item_id]


def render_items(*, uow_factory: UnitOfWorkFactory, item_ids: Sequence[str]) -> dict[str, ItemView]:
    """The views of the items of ``item_ids`` that exist, by id, each as ``render_item``
    gives it, from one read of each kind of record for all of them (one transaction, a few
    statements whatever their number; not a dozen statements an item)."""
    with uow_factory() as uow:
        found = uow.items.get_many(list(dict.fromkeys(item_ids)))
        wanted = [i.id for i in found]
        holdings = uow.items.holdings_many(wanted)
        repayments = uow.repayments.for_items(wanted)
        disputes = uow.disputes.for_items(wanted)
        approvals = uow.cancel_approvals.for_items(wanted)
        every_holding = [h.id for hs in holdings.values() for h in hs]
        financed = uow.financings.by_holdings(every_holding)
        subjects = [*wanted, *sorted({f.id for f in financed.values()})]
        ops = uow.outbox.for_subjects(subjects)
        named: set[str] = set()
        for item in found:
            named |= {item.debtor_id, item.creditor_id}
            for h in holdings.get(item.id, []):
                named |= {x for x in (h.holder_id, h.pledge_bank_id, h.acquired_from) if x}
            named |= {p.payee_id for r in repayments.get(item.id, []) for p in r.parts}
        orgs = uow.organisations.get_many(sorted(named))
    views = {}
    for item in found:
        own = holdings.get(item.id, [])
        fins = {h.id: financed.get(h.id) for h in own}
        subjects_of = [item.id, *sorted({f.id for f in fins.values() if f is not None})]
        waiting = sorted(
            (op for subject in subjects_of for op in ops.get(subject, []) if op.status in OPEN),
            key=lambda op: op.seq or 0,
        )
        parties = {a.party_id for a in approvals.get(item.id, [])}
        views[item.id] = _view(
            item, own, repayments.get(item.id, []), fins, waiting, orgs,
            disputed=facts.is_disputed(disputes.get(item.id, [])),
            cancelled={item.creditor_id, item.debtor_id} <= parties,
        )  # fmt: skip
    return views


def _view(
    item: DebtItem,
    holdings: list[Holding],
    repayments: list[Repayment],
    financings: dict[str, Financing | None],
    waiting: list[ChainOp],
    orgs: dict[str, Organisation],
    *,
    disputed: bool,
    cancelled: bool,
) -> ItemView:
    """The view of ``item`` from its records (read by ``render_items``)."""
    outstanding = sum(h.outstanding for h in holdings)
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
    body = {
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
    parties = {item.debtor_id, item.creditor_id}
    parties |= {h.holder_id for h in holdings}
    parties |= {h.pledge_bank_id for h in holdings if h.pledge_bank_id}
    return ItemView(
        body=body,
        json=json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode(),
        parties=frozenset(parties),
        debtor_id=item.debtor_id,
    )


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
