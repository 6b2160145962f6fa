"""Audit: prove the store and the chain agree, item by item, holding by holding."""

from __future__ import annotations

from dataclasses import dataclass

from fourflow.domain.debt import Basis, ItemStatus, day_number
from fourflow.domain.hashing import fingerprint_bytes
from fourflow.services.ports import ChainOp, Ledger, OpKind, OpStatus, UnitOfWorkFactory


@dataclass(frozen=True, slots=True)
class AuditReport:
    """The outcome of an audit.

    Attributes:
        items_checked: debt items compared.
        holdings_checked: holdings compared.
        documents_checked: document fingerprints compared.
        batches_checked: anchored batch roots compared.
        pending_ops: chain operations still queued (not yet a disagreement).
        failed_ops: chain operations the chain refused.
        discrepancies: every disagreement found, in words.
    """

    items_checked: int
    holdings_checked: int
    documents_checked: int
    batches_checked: int
    pending_ops: int
    failed_ops: int
    discrepancies: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when nothing disagrees and nothing failed."""
        return not self.discrepancies and self.failed_ops == 0


# DebtItem item states on the chain for the store's statuses (pending items are not yet there).
CHAIN_STATE = {
    ItemStatus.ACTIVE: 1,
    ItemStatus.OVERDUE: 1,
    ItemStatus.SETTLED: 2,
    ItemStatus.DEFAULTED: 3,
}
CHAIN_CANCELLED = 4


def _hex(value: object) -> str:
    text = str(value).lower()
    return text.removeprefix("0x")


def _cancelled_items(ops: list[ChainOp]) -> set[str]:
    """Items both creditor and debtor have cancelled on the chain."""
    calls: dict[str, set[str]] = {}
    for o in ops:
        if o.kind is OpKind.CANCEL_ITEM and o.status is OpStatus.DONE and o.subject_id:
            calls.setdefault(o.subject_id, set()).add(o.sender_org_id)
    return {item for item, senders in calls.items() if len(senders) >= 2}


def _token_flows(ops: list[ChainOp]) -> tuple[int, int]:
    """Settlement tokens minted and burned through applied operations."""
    totals = {OpKind.TOKEN_MINT: 0, OpKind.TOKEN_BURN: 0}
    for o in ops:
        if o.kind in totals and o.status is OpStatus.DONE:
            totals[o.kind] += int(o.params["amount"])
    return totals[OpKind.TOKEN_MINT], totals[OpKind.TOKEN_BURN]


def audit(*, uow_factory: UnitOfWorkFactory, ledger: Ledger) -> AuditReport:
    """Compare every applied record in the store with the chain's state."""
    problems: list[str] = []
    with uow_factory() as uow:
        ops = uow.outbox.list()
        pending_subjects = {o.subject_id for o in ops if o.status is not OpStatus.DONE}
        issued_ids = {
            o.subject_id for o in ops if o.kind is OpKind.ISSUE_ITEM and o.status is OpStatus.DONE
        }
        cancelled = _cancelled_items(ops)
        minted, burned = _token_flows(ops)
        items = uow.items.list()
        holdings = {i.id: uow.items.holdings(i.id) for i in items}
        orgs = {o.id: o for o in uow.organisations.list()}
        applied_fps = [
            fp
            for o in ops
            if o.status is OpStatus.DONE and o.kind is OpKind.REGISTER_FINGERPRINTS
            for fp in o.params["fingerprints"]
        ]
        batches = [
            b
            for b in uow.batches.list()
            if not any(o.subject_id == b.id and o.status is not OpStatus.DONE for o in ops)
        ]
    n_holdings = 0
    for item in items:
        if item.id in pending_subjects:
            continue
        chain_item = ledger.read("item", item.id)
        if not chain_item or int(chain_item.get("state", 0)) == 0:
            problems.append(f"debt item {item.id} is in the store but not on the chain")
            continue
        expected = {
            "face_value": item.face_value,
            "paid": item.paid,
            "maturity_day": day_number(item.maturity_date),
            "basis": int(Basis(item.basis)),
        }
        state = int(chain_item.get("state", 0))
        want = CHAIN_STATE.get(item.status)
        if item.id in cancelled:
            want = CHAIN_CANCELLED
        if want is not None and state != want:
            problems.append(f"item {item.id}: state store {item.status.value} chain {state}")
        for key, value in expected.items():
            if int(chain_item[key]) != value:
                problems.append(f"item {item.id}: {key} store {value} chain {chain_item[key]}")
        if _hex(chain_item["report_hash"]) != _hex(item.report_hash):
            problems.append(f"item {item.id}: report hash differs")
        on_chain = [_hex(h) for h in ledger.read("item_holdings", item.id)]
        if len(on_chain) != len(holdings[item.id]):
            problems.append(
                f"item {item.id}: {len(holdings[item.id])} holdings in the store, "
                f"{len(on_chain)} on the chain"
            )
        for holding in holdings[item.id]:
            n_holdings += 1
            chain_h = ledger.read("holding", holding.id)
            holder = orgs.get(holding.holder_id)
            if holder is None or _hex(chain_h["holder"]) != _hex(holder.chain_address):
                problems.append(f"holding {holding.id}: holder differs")
            for key, value in (("outstanding", holding.outstanding), ("amount", holding.amount)):
                if int(chain_h[key]) != value:
                    problems.append(
                        f"holding {holding.id}: {key} store {value} chain {chain_h[key]}"
                    )
            if int(chain_h.get("paid_to_holder", holding.received)) != holding.received:
                problems.append(
                    f"holding {holding.id}: paid to holder store {holding.received} "
                    f"chain {chain_h['paid_to_holder']}"
                )
            principal = holding.pledge.principal if holding.pledge else 0
            if int(chain_h["pledge_principal"]) != principal:
                problems.append(
                    f"holding {holding.id}: pledged principal store {principal} "
                    f"chain {chain_h['pledge_principal']}"
                )
    issued = [i for i in items if i.id in issued_ids]
    on_chain_count = int(ledger.read("item_count"))
    if on_chain_count != len(issued):
        problems.append(
            f"{on_chain_count} debt items on the chain, {len(issued)} issued in the store"
        )
    trades_with_items = [i.trade_id for i in items]
    for trade_id in {t for t in trades_with_items if trades_with_items.count(t) > 1}:
        problems.append(f"trade {trade_id} has more than one debt item")
    supply = int(ledger.read("token_supply"))
    if supply != minted - burned:
        problems.append(
            f"settlement token supply {supply} on the chain, {minted - burned} minted less "
            "burned in the store"
        )
    for fp in applied_fps:
        if ledger.read("fingerprint", fp) is None:
            problems.append(f"fingerprint {fp} is not registered on the chain")
    for batch in batches:
        anchor = ledger.read("anchor", batch.id)
        if anchor is None or _hex(anchor["root"]) != _hex(fingerprint_bytes(batch.root).hex()):
            problems.append(f"batch {batch.id}: root not anchored on the chain")
    return AuditReport(
        items_checked=len(items),
        holdings_checked=n_holdings,
        documents_checked=len(applied_fps),
        batches_checked=len(batches),
        pending_ops=sum(o.status in (OpStatus.PENDING, OpStatus.SENT) for o in ops),
        failed_ops=sum(o.status is OpStatus.FAILED for o in ops),
        discrepancies=tuple(problems),
    )
