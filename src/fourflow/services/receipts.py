"""Warehouse receipts (仓单): issue per lot, pledge, sell with delivery versus payment, release.

A warehouse issues a receipt for a lot it holds; the holder may pledge it to a bank (inventory
financing) or sell it: the buyer pays in settlement tokens and the contract passes title to the
units paid for in the same transaction (the bank paid first when the receipt is pledged). The
warehouse confirms the physical release of goods. Each change is queued through the outbox and
recorded in the store in the same transaction (the receipt, its pledges, sales, payments and
releases: ``fourflow.domain.receipts``); the chain holds the receipt's current state
(``describe_receipt`` reads both).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from fourflow.domain.errors import (
    ConflictError,
    DomainValueError,
    NotFoundError,
    PermissionDeniedError,
)
from fourflow.domain.financing import Decision, FinancingStatus, GoodsFinancing, Outcome, Reason
from fourflow.domain.parties import Organisation, Role
from fourflow.domain.receipts import (
    GoodsRelease,
    PledgeAction,
    ReceiptPledge,
    ReceiptSale,
    SaleAction,
    SaleEvent,
    WarehouseReceipt,
)
from fourflow.risk.review import GoodsRequest, review_goods
from fourflow.services import commands as cmd
from fourflow.services.common import canonical_json, chain_address, get_org, new_id
from fourflow.services.credit.policies import LIMITS_LOCK, exposure, policy_in_force
from fourflow.services.credit.review import queue_decision_anchor
from fourflow.services.items import text_hash
from fourflow.services.ports import ChainOp, Ledger, OpStatus, UnitOfWork, UnitOfWorkFactory


def _queue(uow: UnitOfWork, command: cmd.Command, sender: str, receipt_id: str) -> ChainOp:
    """Queue a receipt command in the caller's transaction."""
    op = ChainOp(new_id("op"), command, sender, subject_id=receipt_id)
    uow.outbox.add(op)
    return op


def _issued(uow: UnitOfWork, receipt_id: str) -> WarehouseReceipt:
    """The receipt as issued (ConflictError naming the receipt if it was not issued here)."""
    receipt = uow.receipts.get(receipt_id)
    if receipt is None:
        raise ConflictError(f"warehouse receipt {receipt_id} was not issued on this platform")
    return receipt


def _held(uow: UnitOfWork, receipt_id: str, actor_id: str, what: str) -> WarehouseReceipt:
    """The receipt as issued, when ``actor_id`` holds it (PermissionDeniedError otherwise)."""
    receipt = _issued(uow, receipt_id)
    if receipt.holder_id != actor_id:
        raise PermissionDeniedError(f"only the holder of warehouse receipt {receipt_id} {what}")
    return receipt


def _positive(value: int, what: str) -> int:
    """``value`` if positive, else DomainValueError naming ``what``."""
    if value <= 0:
        raise DomainValueError(f"{what} must be positive")
    return value


def issue_receipt(
    *,
    uow_factory: UnitOfWorkFactory,
    warehouse_id: str,
    holder_id: str,
    goods_code: str,
    description: str,
    quantity: int,
    unit: str,
    location: str,
    evidence: str,
) -> str:
    """A warehouse issues a receipt to the depositor for a lot; returns the receipt id.

    ``evidence`` is the EPCIS receiving event (its fingerprint or text), hashed on chain.
    """
    with uow_factory() as uow:
        warehouse = get_org(uow, warehouse_id)
        if not warehouse.has_role(Role.WAREHOUSE):
            raise PermissionDeniedError(f"{warehouse.name} is not a warehouse")
        holder = get_org(uow, holder_id)
        receipt_id = new_id("wr")
        command = cmd.ReceiptIssue(
            receipt_id=receipt_id,
            holder_address=chain_address(holder),
            holder_id=holder.id,
            goods_code=goods_code,
            description=description,
            description_hash=text_hash(description),
            quantity=_positive(quantity, "quantity"),
            unit=unit,
            location=location,
            evidence_hash=text_hash(evidence),
        )
        op = _queue(uow, command, warehouse_id, receipt_id)
        uow.receipts.add(
            WarehouseReceipt(
                id=receipt_id,
                warehouse_id=warehouse.id,
                holder_id=holder.id,
                goods_code=goods_code,
                description=description,
                description_hash=command.description_hash,
                quantity=command.quantity,
                unit=unit,
                location=location,
                evidence_hash=command.evidence_hash,
                op_id=op.op_id,
            )
        )
        uow.commit()
    return receipt_id


class PledgeDeclinedError(DomainValueError):
    """The bank's review declined a warehouse-receipt pledge; ``decision`` says why and
    ``financing`` is the declined request as stored."""

    def __init__(self, receipt_id: str, financing: GoodsFinancing) -> None:
        assert financing.decision is not None
        self.decision: Decision = financing.decision
        self.financing = financing
        why = "; ".join(f"{r.code}: {r.message}" for r in self.decision.reasons)
        super().__init__(
            f"the pledge of warehouse receipt {receipt_id} was declined (financing request "
            f"{financing.id}): {why}"
        )


def _review(
    uow: UnitOfWork,
    receipt: WarehouseReceipt,
    bank_id: str,
    amount: int,
    request_id: str,
    as_of: dt.date | None,
) -> tuple[Decision, GoodsRequest]:
    """The bank's robot on a pledge of ``receipt`` for ``amount``, inside the caller's unit of
    work (which holds the bank's limits and the receipt's row): the decision and its request."""
    events = uow.receipts.pledges(receipt.id)
    if events and events[-1].action is PledgeAction.PLEDGED:
        live = events[-1]
        raise ConflictError(
            f"warehouse receipt {receipt.id} is already pledged to {live.bank_id} "
            f"(operation {live.op_id})"
        )
    price = uow.prices.latest(receipt.goods_code)
    if price is None:
        raise NotFoundError(
            f"no price for goods {receipt.goods_code}; record one with "
            f"`fourflow risk price {receipt.goods_code} PRICE` before pledging"
        )
    left = (
        receipt.quantity
        - sum(r.quantity for r in uow.receipts.releases(receipt.id))
        - sum(x.quantity for x in uow.receipts.sales(receipt.id))
    )
    policy, version = policy_in_force(uow, bank_id)
    request = GoodsRequest(
        id=request_id, borrower=receipt.holder_id, bank=bank_id, goods=receipt.goods_code,
        quantity=float(max(left, 0)), price=price.price, amount=amount, currency=price.currency,
        as_of=as_of or price.as_of, price_as_of=price.as_of,
    )  # fmt: skip
    decision = review_goods(request=request, policy=policy, exposure=exposure(uow, bank_id))
    return replace(decision, policy_revision=version), request


def _queue_pledge(
    uow: UnitOfWork, financing: GoodsFinancing, bank: Organisation, actor_id: str
) -> GoodsFinancing:
    """Queue the holder's pledge offer and the bank's acceptance of an approved financing,
    with the pledge's record; the financing with its pledge operation."""
    command = cmd.ReceiptPledge(
        financing.receipt_id, chain_address(bank), _positive(financing.principal, "pledge amount")
    )
    op = _queue(uow, command, actor_id, financing.receipt_id)
    uow.receipts.add_pledge(
        ReceiptPledge(financing.receipt_id, PledgeAction.PLEDGED, actor_id, op.op_id, bank.id,
                      financing.principal)
    )  # fmt: skip
    # The holder's pledge is an offer; the bank's own transaction accepts it at the amount its
    # review approved (the platform signs for the bank only as the bank, after the bank's robot
    # or its officer approved). Refused, it unpledges the receipt.
    accept = cmd.ReceiptAcceptPledge(financing.receipt_id, financing.principal, op.op_id)
    _queue(uow, accept, bank.id, financing.receipt_id)
    return replace(financing, pledge_op_id=op.op_id)


STATUS = {
    Outcome.APPROVE: FinancingStatus.APPROVED,
    Outcome.DECLINE: FinancingStatus.DECLINED,
    Outcome.REFER: FinancingStatus.REFERRED,
}


def pledge_receipt(
    *,
    uow_factory: UnitOfWorkFactory,
    receipt_id: str,
    bank_id: str,
    amount: int,
    actor_id: str,
    as_of: dt.date | None = None,
) -> GoodsFinancing:
    """The holder pledges a receipt to a bank for ``amount`` (minor units) it owes.

    One pledge at a time: the receipt's row is locked, and a receipt pledged (or with a pledge
    waiting for the chain) is refused, naming the bank it is pledged to. The bank's review
    decides first, like every financing (``risk.review.review_goods``): within the goods'
    value (units still in the warehouse × the latest price × (1 − the bank's haircut)) and the
    bank's limits, which count every live receipt pledge; a price older than the product
    accepts refers it to a person (``decide_goods_referral``). An approved pledge queues the
    holder's offer and the bank's own acceptance (``WarehouseReceipt.accept_pledge``: the
    contract pledges nothing on the holder's word). Every decision is stored as a goods
    financing (``GoodsFinancing``: listed, counted by the regulator, exported for 中登网) and
    its input hash queued for the chain. A declined pledge pledges nothing and raises
    ``PledgeDeclinedError`` with the reasons and the stored request. The approved (or
    referred) financing. ``as_of``: the decision day (default: the price's day).
    """
    with uow_factory() as uow:
        bank = get_org(uow, bank_id)
        if not bank.has_role(Role.BANK):
            raise DomainValueError(f"{bank.name} is not a bank")
        # Lock order as every financing: the bank's limits, then the asset's row.
        uow.settings.lock(LIMITS_LOCK + bank.id)
        uow.receipts.lock(receipt_id)
        receipt = _held(uow, receipt_id, actor_id, "pledges it")
        financing_id = new_id("fin")
        decision, request = _review(uow, receipt, bank.id, amount, financing_id, as_of)
        financing = GoodsFinancing(
            id=financing_id, receipt_id=receipt_id, borrower_id=receipt.holder_id,
            bank_id=bank.id, requested=amount, principal=decision.principal,
            rate_bps=decision.rate_bps, start_date=request.as_of, currency=request.currency,
            goods_code=receipt.goods_code, quantity=int(request.quantity),
            status=STATUS[decision.outcome], decision=decision,
        )  # fmt: skip
        if decision.outcome is Outcome.APPROVE:
            financing = _queue_pledge(uow, financing, bank, actor_id)
        uow.goods_financings.add(financing)
        queue_decision_anchor(uow, financing.id, decision)
        uow.commit()
    if financing.status is FinancingStatus.DECLINED:
        raise PledgeDeclinedError(receipt_id, financing)
    return financing


def decide_goods_referral(
    *,
    uow_factory: UnitOfWorkFactory,
    financing_id: str,
    approve: bool,
    reason: str,
    person: str,
    as_of: dt.date,
) -> GoodsFinancing:
    """A person decides a referred warehouse-receipt pledge, with a recorded reason; the
    decision keeps the robot's review. Approving pledges the receipt as an approval by the
    robot does, and only if it is still free and the pledge is still within the goods' value
    and the bank's limits as they are now (ConflictError naming what it would break)."""
    if not reason.strip():
        raise DomainValueError("a person's decision needs a reason")
    with uow_factory() as uow:
        fin = uow.goods_financings.get(financing_id)
        if fin is None:
            raise NotFoundError(f"financing request {financing_id} does not exist")
        uow.settings.lock(LIMITS_LOCK + fin.bank_id)
        uow.receipts.lock(fin.receipt_id)
        fin = uow.goods_financings.get(financing_id) or fin  # as it is under the locks
        if fin.status is not FinancingStatus.REFERRED or fin.decision is None:
            raise ConflictError(
                f"request {financing_id} is {fin.status.value}; only referred requests "
                "are decided by a person"
            )
        robot = fin.decision
        revision = robot.policy_revision
        if approve:  # the goods' value and the bank's limits bind a person too: as they are now
            now, _ = _review(uow, _issued(uow, fin.receipt_id), fin.bank_id, fin.requested,
                             fin.id, as_of)  # fmt: skip
            if now.outcome is Outcome.DECLINE:
                raise ConflictError(
                    "approving would break the bank's product: "
                    + "; ".join(f"{r.code}: {r.message}" for r in now.reasons)
                )
            revision = now.policy_revision
        outcome = Outcome.APPROVE if approve else Outcome.DECLINE
        payload = {"review": robot.input_hash, "outcome": outcome.value, "person": person,
                   "reason": reason.strip(), "day": as_of.isoformat()}  # fmt: skip
        decision = replace(
            robot,
            outcome=outcome,
            reasons=(Reason("PERSON_" + outcome.name, reason.strip()), *robot.reasons),
            principal=fin.requested if approve else 0,
            rate_bps=robot.rate_bps if approve else 0,
            decided_by=f"person:{person}",
            note=reason.strip(),
            review=robot,
            input_hash=hashlib.sha256(canonical_json(payload)).hexdigest(),
            policy_revision=revision,
        )
        updated = replace(
            fin, status=STATUS[outcome], decision=decision, principal=decision.principal,
            rate_bps=decision.rate_bps, start_date=as_of,
        )  # fmt: skip
        if approve:
            updated = _queue_pledge(uow, updated, get_org(uow, fin.bank_id), fin.borrower_id)
        uow.goods_financings.update(updated)
        queue_decision_anchor(uow, fin.id, decision)
        uow.commit()
    return updated


def _live_financing(uow: UnitOfWork, receipt_id: str) -> GoodsFinancing | None:
    """The receipt's approved or active goods financing, if any."""
    live = (FinancingStatus.APPROVED, FinancingStatus.ACTIVE)
    found = [f for f in uow.goods_financings.for_receipt(receipt_id) if f.status in live]
    return found[-1] if found else None


def _close_financing(uow: UnitOfWork, receipt_id: str, op_id: str) -> None:
    """The receipt's live financing is repaid by operation ``op_id`` (a release, or a buyer's
    payment that cleared what the holder owed)."""
    live = _live_financing(uow, receipt_id)
    if live is not None:
        uow.goods_financings.update(
            replace(live, status=FinancingStatus.REPAID, closed_op_id=op_id)
        )


def pledge_applied(uow: UnitOfWork, op: ChainOp) -> None:
    """The chain applied the bank's acceptance of a receipt pledge (``ReceiptAcceptPledge``,
    naming the holder's offer): the offer's approved financing is active (relay)."""
    c = op.command
    offer = c.offer_op_id if isinstance(c, cmd.ReceiptAcceptPledge) else op.op_id
    for fin in uow.goods_financings.for_receipt(op.subject_id or ""):
        if fin.pledge_op_id == offer and fin.status is FinancingStatus.APPROVED:
            uow.goods_financings.update(replace(fin, status=FinancingStatus.ACTIVE))


def forget_financing_op(uow: UnitOfWork, op: ChainOp) -> None:
    """The chain refused ``op`` (relay's ``compensate``): a refused pledge leaves its
    financing ``failed`` (on record, nothing lent); a refused release or payment leaves the
    financing it had ended live again, as it was."""
    for fin in uow.goods_financings.for_receipt(op.subject_id or ""):
        if fin.pledge_op_id == op.op_id:
            uow.goods_financings.update(replace(fin, status=FinancingStatus.FAILED))
        elif fin.closed_op_id == op.op_id:
            pledged = uow.outbox.get(fin.pledge_op_id or "")
            applied = pledged is not None and pledged.status is OpStatus.DONE
            status = FinancingStatus.ACTIVE if applied else FinancingStatus.APPROVED
            uow.goods_financings.update(replace(fin, status=status, closed_op_id=None))


def release_receipt_pledge(
    *, uow_factory: UnitOfWorkFactory, receipt_id: str, actor_id: str
) -> None:
    """The pledgee bank releases its pledge of a receipt (repaid off chain)."""
    with uow_factory() as uow:
        _issued(uow, receipt_id)
        live, _owed = live_pledge(uow, receipt_id)
        if live is None:
            raise ConflictError(f"warehouse receipt {receipt_id} is not pledged")
        if live.bank_id != actor_id:
            raise PermissionDeniedError(
                f"only the pledgee bank releases the pledge of warehouse receipt {receipt_id}"
            )
        op = _queue(uow, cmd.ReceiptReleasePledge(receipt_id), actor_id, receipt_id)
        uow.receipts.add_pledge(
            ReceiptPledge(receipt_id, PledgeAction.RELEASED, actor_id, op.op_id)
        )
        _close_financing(uow, receipt_id, op.op_id)
        uow.commit()


def sell_receipt(
    *,
    uow_factory: UnitOfWorkFactory,
    receipt_id: str,
    buyer_id: str,
    quantity: int,
    price: int,
    actor_id: str,
) -> tuple[str, str]:
    """Offer ``quantity`` of a receipt to a buyer for ``price``; returns (sale, buyer's receipt).

    Title passes to the buyer's receipt as the buyer pays (``pay_for_receipt``), pro rata.
    """
    with uow_factory() as uow:
        _held(uow, receipt_id, actor_id, "sells it")
        if buyer_id == actor_id:
            raise DomainValueError("a receipt cannot be sold to its own holder")
        buyer = get_org(uow, buyer_id)
        sale_id, buyer_receipt_id = new_id("sale"), new_id("wr")
        command = cmd.ReceiptOffer(
            sale_id=sale_id,
            receipt_id=receipt_id,
            buyer_address=chain_address(buyer),
            buyer_id=buyer.id,
            buyer_receipt_id=buyer_receipt_id,
            quantity=_positive(quantity, "quantity"),
            price=_positive(price, "price"),
        )
        op = _queue(uow, command, actor_id, receipt_id)
        uow.receipts.add_sale(
            ReceiptSale(
                id=sale_id,
                receipt_id=receipt_id,
                seller_id=actor_id,
                buyer_id=buyer.id,
                buyer_receipt_id=buyer_receipt_id,
                quantity=command.quantity,
                price=command.price,
                op_id=op.op_id,
            )
        )
        uow.commit()
    return sale_id, buyer_receipt_id


def live_pledge(
    uow: UnitOfWork, receipt_id: str, counted: Callable[[str], bool] = lambda _op: True
) -> tuple[ReceiptPledge | None, int]:
    """The receipt's live pledge and what its bank is still owed, as the contract keeps them.

    Pledges, releases and the buyers' payments of sales, in the order their operations were
    queued (``counted`` picks which operations count, e.g. only those the chain applied): a
    payment goes to the pledgee first, and the pledge ends once the bank is paid in full.
    """
    steps: list[tuple[int, int, ReceiptPledge | SaleEvent]] = []
    for pledge in uow.receipts.pledges(receipt_id):
        if counted(pledge.op_id):
            steps.append((_op_seq(uow, pledge.op_id), 1, pledge))
    for sale in uow.receipts.sales(receipt_id):
        for event in uow.receipts.sale_events(sale.id):
            if event.action is SaleAction.PAID and counted(event.op_id):
                steps.append((_op_seq(uow, event.op_id), 0, event))
    live: ReceiptPledge | None = None
    owed = 0
    for _seq, _order, step in sorted(steps, key=lambda s: (s[0], s[1])):
        if isinstance(step, ReceiptPledge):
            live = step if step.action is PledgeAction.PLEDGED else None
            owed = (step.amount or 0) if live else 0
        else:
            owed -= min(step.amount or 0, owed)
            if owed == 0:
                live = None
    return live, owed


def _op_seq(uow: UnitOfWork, op_id: str) -> int:
    op = uow.outbox.get(op_id)
    return (op.seq or 0) if op is not None else 0


def pay_for_receipt(
    *, uow_factory: UnitOfWorkFactory, receipt_id: str, sale_id: str, amount: int, actor_id: str
) -> None:
    """The buyer pays (part of) a sale in settlement tokens; title passes in the same tx."""
    with uow_factory() as uow:
        sale = uow.receipts.get_sale(sale_id)
        if sale is None or sale.receipt_id != receipt_id:
            raise ConflictError(f"no sale {sale_id} of receipt {receipt_id}")
        if sale.buyer_id != actor_id:
            raise PermissionDeniedError(f"only the buyer pays sale {sale_id}")
        paid = _positive(amount, "payment")
        pledge, owed = live_pledge(uow, receipt_id)
        op = _queue(uow, cmd.ReceiptPay(sale_id, paid), actor_id, receipt_id)
        uow.receipts.add_sale_event(SaleEvent(sale_id, SaleAction.PAID, actor_id, op.op_id, paid))
        if pledge is not None and 0 < owed <= paid:
            # The contract pays the pledgee first and releases the pledge once it is paid.
            uow.receipts.add_pledge(
                ReceiptPledge(receipt_id, PledgeAction.RELEASED, pledge.bank_id or actor_id,
                              op.op_id)
            )  # fmt: skip
            _close_financing(uow, receipt_id, op.op_id)
        uow.commit()


def request_release(
    *, uow_factory: UnitOfWorkFactory, receipt_id: str, quantity: int, actor_id: str
) -> None:
    """The holder asks the issuing warehouse to release ``quantity`` of its goods: the
    warehouse releases no more than its holder asked for (the contract holds it to that)."""
    with uow_factory() as uow:
        _held(uow, receipt_id, actor_id, "asks for its goods")
        command = cmd.ReceiptRequestRelease(receipt_id, _positive(quantity, "quantity"))
        _queue(uow, command, actor_id, receipt_id)
        uow.commit()


def confirm_release(
    *, uow_factory: UnitOfWorkFactory, receipt_id: str, quantity: int, evidence: str, actor_id: str
) -> None:
    """The issuing warehouse records goods physically released to the holder, within what the
    holder asked for (``request_release``), with the EPCIS shipping event as evidence."""
    with uow_factory() as uow:
        issued = _issued(uow, receipt_id)
        if issued.warehouse_id != actor_id:
            raise PermissionDeniedError(
                f"only the issuing warehouse releases goods of {receipt_id}"
            )
        command = cmd.ReceiptConfirmRelease(
            receipt_id, _positive(quantity, "quantity"), text_hash(evidence)
        )
        op = _queue(uow, command, actor_id, receipt_id)
        uow.receipts.add_release(
            GoodsRelease(receipt_id, quantity, command.evidence_hash, actor_id, op.op_id)
        )
        uow.commit()


def describe_receipt(
    *, uow_factory: UnitOfWorkFactory, ledger: Ledger, receipt_id: str
) -> dict[str, Any]:
    """A receipt as the chain holds it now, with its operations from the store."""
    with uow_factory() as uow:
        orgs = {(o.chain_address or "").lower(): o.name for o in uow.organisations.list()}
        ops = uow.outbox.for_subject(receipt_id)
    state = ledger.read("receipt", receipt_id)
    if state is not None:
        state = {k: orgs.get(str(v).lower(), v) for k, v in state.items()}
    return {
        "receipt_id": receipt_id,
        "chain": state,
        "history": [
            {"op": o.kind.value, "status": o.status.value, "tx": o.tx_hash,
             **{k: v for k, v in cmd.command_to_json(o.command).items()
                if not k.endswith("_address") and k != "v"}}
            for o in ops
        ],
    }  # fmt: skip
