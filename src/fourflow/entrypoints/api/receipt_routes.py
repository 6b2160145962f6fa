"""Warehouse receipts (仓单) over HTTP (issue 16 item 1: every party action of the CLI has an
endpoint calling the same service function, ``fourflow receipt ...``):

- ``POST /receipts``: the warehouse issues a receipt to the depositor for a lot it holds
  (``receipts.issue_receipt``, as ``fourflow receipt issue``);
- ``GET /receipts/{id}``: the receipt as the chain holds it and its operations
  (``receipts.describe_receipt``, as ``fourflow receipt show``);
- ``POST /receipts/{id}/pledge``: the holder pledges it to a bank; the bank's robot decides
  now (``receipts.pledge_receipt``, as ``fourflow receipt pledge``);
- ``POST /receipts/{id}/pledge/release``: the pledgee bank releases its pledge
  (``receipts.release_receipt_pledge``, as ``fourflow receipt release`` by the bank);
- ``POST /receipts/{id}/release-requests``: the holder asks for goods
  (``receipts.request_release``, as ``fourflow receipt release --quantity`` by the holder);
- ``POST /receipts/{id}/releases``: the issuing warehouse confirms goods released with the
  EPCIS shipping event (``receipts.confirm_release``, as ``fourflow receipt release
  --quantity --evidence``);
- ``POST /receipts/{id}/sales``: the holder offers units to a buyer, title passing as the buyer
  pays (``receipts.sell_receipt``, as ``fourflow receipt sell``);
- ``POST /receipts/{id}/payments``: the buyer pays (part of) a sale in settlement tokens
  (``receipts.pay_for_receipt``, as ``fourflow receipt pay``).

A receipt is seen only by its parties (the issuing warehouse, the holder, a bank it was pledged
to, a buyer of it; the operator and the regulator read any): another organisation's receipt is
404. Refusals change nothing and are problem details: 403 for a party the action is not for,
409 for a state that refuses it (or the chain's refusal), 422 for a bad quantity or amount or a
declined pledge.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from fourflow.domain.errors import NotFoundError
from fourflow.domain.identity import OrgType, Principal
from fourflow.domain.money import Money
from fourflow.domain.receipts import WarehouseReceipt
from fourflow.entrypoints.api.business_routes import Amount
from fourflow.entrypoints.api.routing import (
    ApiState,
    caller,
    refuse_on_chain_failure,
    relay_now,
    route,
    state,
)
from fourflow.services import onboarding, receipts

router = APIRouter()

Currency = Field(default="CNY", pattern=r"^[A-Z]{3}$")
Units = Field(le=10**15, description="Whole units (positive).")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReceiptIssueIn(Strict):
    holder: str = Field(min_length=1, max_length=100, description="The depositor (USCC or id).")
    goods_code: str = Field(min_length=1, max_length=64, description="GTIN or SKU.")
    description: str = Field(min_length=1, max_length=500, description="What the lot is.")
    quantity: int = Units
    unit: str = Field(
        min_length=1, max_length=8, description="UN/ECE Rec 20 unit code (TNE, KGM, EA)."
    )
    location: str = Field(min_length=1, max_length=100, description="Warehouse location code.")
    evidence: str = Field(
        min_length=1, max_length=500, description="EPCIS receiving event (id or fingerprint)."
    )


class ReceiptIssueOut(BaseModel):
    receipt_id: str
    warehouse_id: str
    holder_id: str
    quantity: int
    op_id: str


class ReceiptOut(BaseModel):
    receipt_id: str
    chain: dict[str, Any] | None = Field(description="The receipt's state on the chain.")
    history: list[dict[str, Any]] = Field(description="Its operations, oldest first.")


class ReceiptPledgeIn(Strict):
    bank: str = Field(min_length=1, max_length=100, description="The pledgee bank (USCC or id).")
    amount: str = Amount
    currency: str = Currency
    as_of: dt.date | None = Field(default=None, description="Decision day (default today).")


class ReceiptPledgeOut(BaseModel):
    receipt_id: str
    financing_id: str
    status: Literal["approved", "referred"] = Field(
        description="approved: pledged; referred: waits for a person's decision."
    )
    amount: str
    currency: str
    reasons: list[str]


class ReceiptPledgeReleaseOut(BaseModel):
    receipt_id: str
    pledge: Literal["released"]


class QuantityIn(Strict):
    quantity: int = Units


class ConfirmIn(Strict):
    quantity: int = Units
    evidence: str = Field(min_length=1, max_length=500, description="EPCIS shipping event.")


class GoodsReleaseOut(BaseModel):
    receipt_id: str
    state: Literal["requested", "released"]
    quantity: int


class ReceiptSaleIn(Strict):
    buyer: str = Field(min_length=1, max_length=100, description="The buyer (USCC or id).")
    quantity: int = Units
    price: str = Amount
    currency: str = Currency


class ReceiptSaleOut(BaseModel):
    receipt_id: str
    sale_id: str
    buyer_receipt_id: str = Field(description="The receipt the buyer's units pass into.")


class ReceiptPaymentIn(Strict):
    sale_id: str = Field(min_length=1, max_length=100)
    amount: str = Amount
    currency: str = Currency


class ReceiptPaymentOut(BaseModel):
    receipt_id: str
    sale_id: str
    amount: str
    currency: str


def _sees_all(who: Principal) -> bool:
    return bool(who.org_types & {OrgType.PLATFORM_OPERATOR, OrgType.REGULATOR})


def _receipt(api: ApiState, who: Principal, receipt_id: str) -> WarehouseReceipt:
    """A receipt issued here that the caller is a party of (or, the operator and the
    regulator, any), else 404."""
    with api.platform.uow_factory() as uow:
        receipt = uow.receipts.get(receipt_id)
        parties: set[str | None] = set()
        if receipt is not None:
            parties = {receipt.warehouse_id, receipt.holder_id}
            parties |= {p.bank_id for p in uow.receipts.pledges(receipt_id)}
            parties |= {s.buyer_id for s in uow.receipts.sales(receipt_id)}
    if receipt is None or (who.org_id not in parties and not _sees_all(who)):
        raise NotFoundError(f"warehouse receipt {receipt_id} does not exist")
    return receipt


@route(router, "POST", "/receipts", "receipts.issue", status_code=201)
def issue_receipt(request: Request, body: ReceiptIssueIn) -> ReceiptIssueOut:
    """The caller's warehouse issues a receipt to the depositor for a lot it holds, the EPCIS
    receiving event hashed on the chain. 403 for an organisation that is not a warehouse; 404
    for an unknown holder; 422 for a quantity that is not positive."""
    api, who = state(request), caller(request)
    p = api.platform
    with api.chain_lock:
        holder = onboarding.org_id(uow_factory=p.uow_factory, ref=body.holder)
        receipt_id = receipts.issue_receipt(
            uow_factory=p.uow_factory, warehouse_id=who.org_id, holder_id=holder,
            goods_code=body.goods_code, description=body.description, quantity=body.quantity,
            unit=body.unit, location=body.location, evidence=body.evidence,
        )  # fmt: skip
        refuse_on_chain_failure(relay_now(api))
    with p.uow_factory() as uow:
        issued = uow.receipts.get(receipt_id)
    assert issued is not None
    return ReceiptIssueOut(
        receipt_id=receipt_id, warehouse_id=issued.warehouse_id, holder_id=issued.holder_id,
        quantity=issued.quantity, op_id=issued.op_id,
    )  # fmt: skip


@route(router, "GET", "/receipts/{receipt_id}", "receipts.read")
def show_receipt(request: Request, receipt_id: str) -> ReceiptOut:
    """A receipt as the chain holds it now (holder and pledgee named), with its operations;
    also a buyer's receipt, which the units paid for pass into (read by the buyer, the seller
    and the warehouse)."""
    api, who = state(request), caller(request)
    with api.platform.uow_factory() as uow:
        sale = uow.receipts.sale_into(receipt_id)
        parent = uow.receipts.get(sale.receipt_id) if sale is not None else None
    if sale is None:
        _receipt(api, who, receipt_id)
    elif not _sees_all(who) and who.org_id not in (
        sale.buyer_id,
        sale.seller_id,
        parent.warehouse_id if parent else None,
    ):
        raise NotFoundError(f"warehouse receipt {receipt_id} does not exist")
    p = api.platform
    view = receipts.describe_receipt(
        uow_factory=p.uow_factory, ledger=p.require_contracts(), receipt_id=receipt_id
    )
    return ReceiptOut.model_validate(view)


@route(router, "POST", "/receipts/{receipt_id}/pledge", "receipts.pledge", status_code=201)
def pledge_receipt(request: Request, receipt_id: str, body: ReceiptPledgeIn) -> ReceiptPledgeOut:
    """The holder pledges its receipt to a bank for what it owes it (inventory financing); the
    bank's robot decides now: approved (pledged on the chain) or referred to a person. 403 for
    anyone but the holder; 409 when it is pledged already; 422 for a declined pledge (the
    reasons named) or an amount finer than the currency's minor unit."""
    api, who = state(request), caller(request)
    _receipt(api, who, receipt_id)
    p = api.platform
    minor = Money.of(body.amount, body.currency)
    with api.chain_lock:
        bank = onboarding.org_id(uow_factory=p.uow_factory, ref=body.bank)
        fin = receipts.pledge_receipt(
            uow_factory=p.uow_factory, receipt_id=receipt_id, bank_id=bank, amount=minor.minor,
            actor_id=who.org_id, as_of=body.as_of or p.clock.today(),
        )  # fmt: skip
        refuse_on_chain_failure(relay_now(api))
    reasons = [f"{r.code}: {r.message}" for r in fin.decision.reasons] if fin.decision else []
    return ReceiptPledgeOut(
        receipt_id=receipt_id, financing_id=fin.id,
        status="referred" if fin.status.value == "referred" else "approved",
        amount=minor.plain(), currency=body.currency, reasons=reasons,
    )  # fmt: skip


@route(router, "POST", "/receipts/{receipt_id}/pledge/release", "receipts.release_pledge")
def release_pledge(request: Request, receipt_id: str) -> ReceiptPledgeReleaseOut:
    """The pledgee bank releases its pledge of a receipt (repaid off chain); its goods
    financing is repaid. 403 for a party that is not the pledgee; 409 when not pledged."""
    api, who = state(request), caller(request)
    _receipt(api, who, receipt_id)
    p = api.platform
    with api.chain_lock:
        receipts.release_receipt_pledge(
            uow_factory=p.uow_factory, receipt_id=receipt_id, actor_id=who.org_id
        )
        refuse_on_chain_failure(relay_now(api))
    return ReceiptPledgeReleaseOut(receipt_id=receipt_id, pledge="released")


@route(
    router,
    "POST",
    "/receipts/{receipt_id}/release-requests",
    "receipts.request_release",
    status_code=201,
)
def request_release(request: Request, receipt_id: str, body: QuantityIn) -> GoodsReleaseOut:
    """The holder asks the issuing warehouse to release units of its goods (the warehouse
    releases no more than asked). 403 for anyone but the holder; 422 for a quantity that is
    not positive; the chain's refusal is 409."""
    api, who = state(request), caller(request)
    _receipt(api, who, receipt_id)
    p = api.platform
    with api.chain_lock:
        receipts.request_release(
            uow_factory=p.uow_factory, receipt_id=receipt_id, quantity=body.quantity,
            actor_id=who.org_id,
        )  # fmt: skip
        refuse_on_chain_failure(relay_now(api))
    return GoodsReleaseOut(receipt_id=receipt_id, state="requested", quantity=body.quantity)


@route(
    router, "POST", "/receipts/{receipt_id}/releases", "receipts.confirm_release", status_code=201
)
def confirm_release(request: Request, receipt_id: str, body: ConfirmIn) -> GoodsReleaseOut:
    """The issuing warehouse records goods released to the holder, within what the holder
    asked for (the chain refuses more: 409, nothing recorded), with the EPCIS shipping event.
    403 for anyone but the issuing warehouse; 422 for a quantity that is not positive."""
    api, who = state(request), caller(request)
    _receipt(api, who, receipt_id)
    p = api.platform
    with api.chain_lock:
        receipts.confirm_release(
            uow_factory=p.uow_factory, receipt_id=receipt_id, quantity=body.quantity,
            evidence=body.evidence, actor_id=who.org_id,
        )  # fmt: skip
        refuse_on_chain_failure(relay_now(api))
    return GoodsReleaseOut(receipt_id=receipt_id, state="released", quantity=body.quantity)


@route(router, "POST", "/receipts/{receipt_id}/sales", "receipts.sell", status_code=201)
def sell_receipt(request: Request, receipt_id: str, body: ReceiptSaleIn) -> ReceiptSaleOut:
    """The holder offers units of its receipt to a buyer for a price in settlement tokens;
    title passes to the buyer's receipt as the buyer pays (DvP). 403 for anyone but the
    holder; 404 for an unknown buyer; 422 for a quantity or price that is not positive."""
    api, who = state(request), caller(request)
    _receipt(api, who, receipt_id)
    p = api.platform
    price = Money.of(body.price, body.currency)
    with api.chain_lock:
        buyer = onboarding.org_id(uow_factory=p.uow_factory, ref=body.buyer)
        sale_id, buyer_receipt = receipts.sell_receipt(
            uow_factory=p.uow_factory, receipt_id=receipt_id, buyer_id=buyer,
            quantity=body.quantity, price=price.minor, actor_id=who.org_id,
        )  # fmt: skip
        refuse_on_chain_failure(relay_now(api))
    return ReceiptSaleOut(receipt_id=receipt_id, sale_id=sale_id, buyer_receipt_id=buyer_receipt)


@route(router, "POST", "/receipts/{receipt_id}/payments", "receipts.pay", status_code=201)
def pay_for_receipt(request: Request, receipt_id: str, body: ReceiptPaymentIn) -> ReceiptPaymentOut:
    """The buyer pays (part of) a sale in settlement tokens; title to the units paid for
    passes in the same transaction (a pledgee bank is paid first). 403 for anyone but the
    buyer; 409 for a sale of another receipt or the chain's refusal (too few tokens)."""
    api, who = state(request), caller(request)
    _receipt(api, who, receipt_id)
    p = api.platform
    paid = Money.of(body.amount, body.currency)
    with api.chain_lock:
        receipts.pay_for_receipt(
            uow_factory=p.uow_factory, receipt_id=receipt_id, sale_id=body.sale_id,
            amount=paid.minor, actor_id=who.org_id,
        )  # fmt: skip
        refuse_on_chain_failure(relay_now(api))
    return ReceiptPaymentOut(
        receipt_id=receipt_id, sale_id=body.sale_id, amount=paid.plain(), currency=body.currency
    )
