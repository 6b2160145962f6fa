"""The rest of an item's life over HTTP (issue 16 item 1: every party action of the CLI has an
endpoint calling the same service function):

- ``POST /holdings/{id}/merge``: the holder merges another of its holdings of the same item
  into this one (``items.merge``, as ``fourflow item merge``);
- ``POST /items/{id}/cancellation``: the creditor or the debtor approves cancelling an item
  (``items.cancel_item``, as ``fourflow item cancel``): cancelled once both approved;
- ``POST /items/{id}/dilutions``: a credit note reduces an item: the creditor proposes, the
  debtor accepts the same note and amount (``items.dilute``, as ``fourflow item dilute``);
- ``POST /holdings/{id}/pledge/release``: the pledgee bank releases a pledged holding, repaid
  off chain or waived (``items.release_pledge``, as ``fourflow item release``);
- ``POST /items/{id}/route``: the debtor locks the repayment route of an item issued on the
  evidence before confirming it (``settlement.lock_route``, as ``fourflow route lock``);
- ``POST /items/{id}/repayments``: the debtor pays in settlement tokens (``token``) or
  declares a payment itself (``debtor``) (``items.pay``, as ``fourflow item pay --method``);
- ``POST /tokens``: a bank mints settlement tokens to a member against a deposit it holds
  (``items.mint_tokens``, as ``fourflow token mint``);
- ``POST /items/{id}/default``: the operator, or a bank holding an open pledge of it, marks an
  overdue item defaulted past its grace days; pledged holdings pass to their banks
  (``items.mark_default``, as ``fourflow item default``);
- ``POST /holdings/{id}/buyback``: the pledgor takes a foreclosed holding back from its bank,
  paying the recourse price in settlement tokens (``items.buy_back``, as ``fourflow item
  buyback``);
- ``GET /bank/registrations``: the 中登网 registration record of each of the caller's bank's
  pledges (``registration.every_registration``, as ``fourflow finance registrations`` and
  ``fourflow item registration``);
- ``PUT /account`` and ``GET /account``: a member registers (or changes) its own settlement
  account and reads it with its account bank (``accounts.register_account``, as ``fourflow org
  account set`` / ``show``).

Each is refused (nothing changes) by the service's rules, answered as problem details: 403 for
a party the service refuses, 404 for an object that is not the caller's, 409 for a state that
refuses it, 422 for a bad amount; the chain's refusal of the queued operation is 409.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from fourflow.domain.errors import ConflictError, NotFoundError, PermissionDeniedError
from fourflow.domain.money import Money
from fourflow.domain.settlement import RouteKind
from fourflow.entrypoints.api.business_routes import (
    Amount,
    PaymentIn,
    _holding,
    _item,
    _money,
    pay_item,
)
from fourflow.entrypoints.api.routing import (
    ApiState,
    caller,
    refuse_on_chain_failure,
    relay_now,
    route,
    state,
)
from fourflow.services import accounts, items, onboarding, registration, settlement

router = APIRouter()


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MergeIn(Strict):
    other_holding_id: str = Field(
        min_length=1, max_length=100, description="The caller's holding merged into this one."
    )


class MergeOut(BaseModel):
    holding_id: str
    merged: str = Field(description="The holding merged in (now zero).")
    amount: str = Field(description="The merged holding's face amount.")
    outstanding: str


class CancellationOut(BaseModel):
    item_id: str
    cancelled: bool = Field(
        description="True when this approval completed the cancellation (both parties "
        "approved); false while the other party's approval is waited for."
    )


class DilutionIn(Strict):
    amount: str = Amount
    credit_note: str = Field(
        min_length=1, max_length=200, description="The credit note's number (the same for both)."
    )


class DilutedHolding(BaseModel):
    holding_id: str
    reduced_by: str


class DilutionOut(BaseModel):
    item_id: str
    state: Literal["proposed", "applied"] = Field(
        description="proposed: the creditor's step (the debtor must accept); applied: the "
        "debtor accepted and the creditor's holdings fell by the amount."
    )
    credit_note_hash: str
    amount: str
    holdings: list[DilutedHolding]


class ReleaseOut(BaseModel):
    holding_id: str
    pledge: Literal["released"]
    financing_id: str | None = Field(description="The financing marked repaid, if any.")


@route(router, "POST", "/holdings/{holding_id}/merge", "holdings.merge")
def merge_holdings(request: Request, holding_id: str, body: MergeIn) -> MergeOut:
    """Merge another of the caller's holdings of the same item into this one (neither pledged,
    the item open and not disputed). 404 for a holding that is not the caller's."""
    api, who = state(request), caller(request)
    _holding(api, who, holding_id)
    _holding(api, who, body.other_holding_id)
    p = api.platform
    with api.chain_lock:
        merged = items.merge(
            uow_factory=p.uow_factory, holding_id=holding_id,
            other_holding_id=body.other_holding_id, actor_id=who.org_id,
        )  # fmt: skip
        refuse_on_chain_failure(relay_now(api))
    with p.uow_factory() as uow:
        found = uow.items.get(merged.item_id)
    currency = found.currency if found else "CNY"
    return MergeOut(
        holding_id=merged.id,
        merged=body.other_holding_id,
        amount=Money.from_minor(merged.amount, currency).plain(),
        outstanding=Money.from_minor(merged.outstanding, currency).plain(),
    )


@route(router, "POST", "/items/{item_id}/cancellation", "items.cancel")
def cancel_item(request: Request, item_id: str) -> CancellationOut:
    """The creditor or the debtor approves cancelling an item never moved, paid or pledged;
    cancelled (its holding falls to zero, on the chain too) once both approved. 409 when the
    item moved, was paid or pledged, or the caller approved already."""
    api, who = state(request), caller(request)
    _item(api, who, item_id)
    with api.chain_lock:
        done = items.cancel_item(
            uow_factory=api.platform.uow_factory, item_id=item_id, actor_id=who.org_id
        )
        refuse_on_chain_failure(relay_now(api))
    return CancellationOut(item_id=item_id, cancelled=done)


@route(router, "POST", "/items/{item_id}/dilutions", "items.dilute")
def dilute_item(request: Request, item_id: str, body: DilutionIn) -> DilutionOut:
    """A credit note reduces an item: the creditor proposes (the note and the amount; its
    unpledged holdings must cover it), then the debtor accepts the same note and amount and
    the creditor's holdings fall by it. 403 for anyone else; 409 when the note was used."""
    api, who = state(request), caller(request)
    item, _ = _item(api, who, item_id)
    p = api.platform
    with api.chain_lock:
        minor = items.amount_of(uow_factory=p.uow_factory, amount=body.amount, item_id=item_id)
        done = items.dilute(
            uow_factory=p.uow_factory, item_id=item_id, amount=minor.minor,
            credit_note=body.credit_note, actor_id=who.org_id,
        )  # fmt: skip
        refuse_on_chain_failure(relay_now(api))
    return DilutionOut(
        item_id=item_id,
        state=done.state,
        credit_note_hash=done.credit_note_hash,
        amount=minor.plain(),
        holdings=[
            DilutedHolding(holding_id=h, reduced_by=Money.from_minor(cut, item.currency).plain())
            for h, cut in done.plan
        ],
    )


@route(router, "POST", "/holdings/{holding_id}/pledge/release", "pledges.release")
def release_pledge(request: Request, holding_id: str) -> ReleaseOut:
    """The pledgee bank releases its pledge of a holding (repaid off chain, or waived): the
    holding is free again and its financing repaid. 404 for a holding the caller's bank has
    no pledge of; 409 when it is not pledged."""
    api, who = state(request), caller(request)
    p = api.platform
    with p.uow_factory() as uow:
        holding = uow.items.get_holding(holding_id)
        financing = uow.financings.by_holding(holding_id)
    if holding is None or who.org_id not in (
        holding.pledge_bank_id,
        financing.bank_id if financing else None,
    ):
        raise NotFoundError(f"holding {holding_id} does not exist")
    with api.chain_lock:
        items.release_pledge(uow_factory=p.uow_factory, holding_id=holding_id, actor_id=who.org_id)
        refuse_on_chain_failure(relay_now(api))
    return ReleaseOut(
        holding_id=holding_id,
        pledge="released",
        financing_id=financing.id if financing else None,
    )


class RouteIn(Strict):
    kind: Literal["tokens", "account"] | None = Field(
        default=None,
        description="tokens, or account (a collection account at the item's account bank); "
        "omitted: account if the debtor has one, else tokens.",
    )
    account: str | None = Field(
        default=None, min_length=1, max_length=64, description="The collection account number."
    )


class RouteOut(BaseModel):
    item_id: str
    kind: str
    bank_id: str | None
    account: str | None
    signers: list[str]
    op_id: str


class AccountIn(Strict):
    bank: str = Field(min_length=1, max_length=100, description="The bank (USCC or id).")
    account: str = Field(min_length=1, max_length=64, description="The account number.")


class AccountOut(BaseModel):
    org_id: str
    registered: bool = Field(description="False: the bank is inferred from the account's BIN.")
    account: str | None
    bank_id: str | None
    bank: str | None
    op_id: str | None


@route(router, "POST", "/items/{item_id}/route", "items.route_lock")
def lock_route(request: Request, item_id: str, body: RouteIn) -> RouteOut:
    """The debtor locks its item's repayment route, once, on the chain (an item issued on the
    evidence, before its confirmation, which locks one otherwise). 403 for anyone but the
    debtor; 409 when a route is locked already or the item is settled or cancelled."""
    api, who = state(request), caller(request)
    _item(api, who, item_id)
    p = api.platform
    with api.chain_lock:
        event = settlement.lock_route(
            uow_factory=p.uow_factory, item_id=item_id, actor_id=who.org_id,
            kind=RouteKind(body.kind) if body.kind else None, account=body.account,
        )  # fmt: skip
        refuse_on_chain_failure(relay_now(api))
    return RouteOut(
        item_id=item_id, kind=event.kind.value, bank_id=event.bank_id, account=event.account,
        signers=list(event.signers), op_id=event.op_id,
    )  # fmt: skip


def _account(api: ApiState, org_id: str) -> AccountOut:
    with api.platform.uow_factory() as uow:
        org = uow.organisations.get(org_id)
        registered = accounts.registered_account(uow, org_id)
        try:
            bank = accounts.account_bank(uow, org) if org is not None else None
        except ConflictError:
            bank = None
    return AccountOut(
        org_id=org_id, registered=registered is not None,
        account=registered.account if registered else None,
        bank_id=bank.id if bank else None, bank=bank.name if bank else None,
        op_id=registered.op_id if registered else None,
    )  # fmt: skip


@route(router, "GET", "/account", "accounts.read")
def show_account(request: Request) -> AccountOut:
    """The caller's organisation's settlement account and account bank (registered, or
    inferred from the account number's BIN)."""
    return _account(state(request), caller(request).org_id)


@route(router, "PUT", "/account", "accounts.set")
def set_account(request: Request, body: AccountIn) -> AccountOut:
    """The caller's organisation registers (or changes) its settlement account at a bank: its
    own transaction on the chain (``Registry.set_account``); items issued to it as debtor
    afterwards name that bank. 404 for an unknown bank; 422 for a bank that is not one."""
    api, who = state(request), caller(request)
    p = api.platform
    with api.chain_lock:
        bank_id = onboarding.org_id(uow_factory=p.uow_factory, ref=body.bank)
        accounts.register_account(
            uow_factory=p.uow_factory, org_id=who.org_id, bank_id=bank_id,
            account=body.account, actor_id=who.org_id,
        )  # fmt: skip
        refuse_on_chain_failure(relay_now(api))
    return _account(api, who.org_id)


class RepaymentIn(PaymentIn):
    reference: str = Field(min_length=1, max_length=100, description="The payment's reference.")
    method: Literal["token", "debtor"] = Field(
        description="token: paid in settlement tokens the debtor holds; debtor: the debtor "
        "declares the payment itself (the account bank attests with POST /items/{id}/payments)."
    )


class RepaymentPart(BaseModel):
    holding_id: str
    payee_id: str
    kind: str
    amount: str


class RepaymentOut(BaseModel):
    payment_id: str
    item_id: str
    method: str
    amount: str
    currency: str
    parts: list[RepaymentPart]


class MintIn(Strict):
    to: str = Field(min_length=1, max_length=100, description="The member credited (USCC or id).")
    amount: str = Amount
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")
    reference: str | None = Field(
        default=None,
        max_length=100,
        description="The deposit's statement reference (each once; a fresh one when omitted).",
    )


class MintOut(BaseModel):
    to: str
    amount: str
    currency: str
    deposit: str
    op_id: str


@route(router, "POST", "/items/{item_id}/repayments", "items.repay", status_code=201)
def repay_item(request: Request, item_id: str, body: RepaymentIn) -> RepaymentOut:
    """The debtor pays its item: in settlement tokens (the contract moves them, banks first,
    then holders) or by declaring it. 403 for anyone but the debtor; 409 for a reference used
    already, a settled or cancelled item, or the chain's refusal (e.g. too few tokens: nothing
    recorded); 422 for an amount above the outstanding or a value date ahead of the chain."""
    repayment, cur = pay_item(request, item_id, body, body.method)
    return RepaymentOut(
        payment_id=repayment.id, item_id=item_id, method=body.method,
        amount=_money(repayment.amount, cur) or "0", currency=cur,
        parts=[
            RepaymentPart(holding_id=x.holding_id, payee_id=x.payee_id, kind=x.kind,
                          amount=_money(x.amount, cur) or "0")
            for x in repayment.parts
        ],
    )  # fmt: skip


@route(router, "POST", "/tokens", "tokens.mint", status_code=201)
def mint_tokens(request: Request, body: MintIn) -> MintOut:
    """The caller's bank mints settlement tokens (tokenised deposits) to a member against a
    deposit it holds, named by its statement reference (the contract takes each reference
    once, within the bank's mint cap: a refusal is 409 and nothing is recorded). 404 for an
    unknown member."""
    api, who = state(request), caller(request)
    p = api.platform
    minor = Money.of(body.amount, body.currency).minor
    with api.chain_lock:
        to = onboarding.org_id(uow_factory=p.uow_factory, ref=body.to)
        op = items.mint_tokens(
            uow_factory=p.uow_factory, bank_id=who.org_id, to_org_id=to, amount=minor,
            deposit_reference=body.reference,
        )  # fmt: skip
        refuse_on_chain_failure(relay_now(api))
    return MintOut(
        to=to, amount=Money.from_minor(minor, body.currency).plain(), currency=body.currency,
        deposit=str(getattr(op.command, "deposit_reference", "")), op_id=op.op_id,
    )  # fmt: skip


class RegistrationField(BaseModel):
    key: str
    label: str
    value: str | None = Field(description="None: a field the filing member fills.")
    source: str
    required: bool


class PledgeRegistrationOut(BaseModel):
    kind: str = Field(description="receivable (应收账款质押) or goods (仓单质押).")
    item_id: str | None
    holding_id: str | None
    receipt_id: str | None
    financing_id: str
    to_fill: list[str]
    fields: list[RegistrationField]


@route(router, "GET", "/bank/registrations", "registrations.read")
def bank_registrations(
    request: Request,
    kind: Literal["receivable", "goods"] | None = None,
    item_id: str | None = Query(default=None, max_length=100),
) -> list[PledgeRegistrationOut]:
    """The 中登网 registration record of every pledge of the caller's bank (approved, active,
    repaid or defaulted), receivable pledges first; ``kind`` and ``item_id`` narrow it. The
    fields FourFlow cannot know are listed in ``to_fill`` for the filing bank."""
    api, who = state(request), caller(request)
    records = registration.every_registration(
        uow_factory=api.platform.uow_factory, bank=who.org_id, kind=kind
    )
    return [
        PledgeRegistrationOut.model_validate(r.as_dict())
        for r in records
        if item_id is None or r.item_id == item_id
    ]


class DefaultIn(Strict):
    as_of: dt.date | None = Field(default=None, description="Business day (default today).")


class Foreclosed(BaseModel):
    holding_id: str
    bank_id: str


class DefaultOut(BaseModel):
    item_id: str
    status: Literal["defaulted"]
    foreclosed: list[Foreclosed]


@route(router, "POST", "/items/{item_id}/default", "items.default")
def mark_default(request: Request, item_id: str, body: DefaultIn) -> DefaultOut:
    """The platform operator, or a bank holding an open pledge of the item, marks it
    defaulted: past maturity plus the grace days while something is unpaid; each pledged
    holding passes to its bank (recourse kept). 403 for another bank; 409 when the item is
    not overdue on the day, or defaulted already."""
    api, who = state(request), caller(request)
    _, holdings = _item(api, who, item_id)
    p = api.platform
    if who.org_id != p.operator_id() and not any(
        h.pledge_bank_id == who.org_id and h.locked and h.outstanding > 0 for h in holdings
    ):  # the service's own rule, worded as the object rule it is
        raise PermissionDeniedError(
            f"only a bank holding an open pledge of debt item {item_id}, or the operator, "
            "marks its default"
        )
    with api.chain_lock:
        held = items.mark_default(
            uow_factory=p.uow_factory, item_id=item_id, actor_id=who.org_id,
            as_of=body.as_of or p.clock.today(), operator_id=p.operator_id(),
        )  # fmt: skip
        refuse_on_chain_failure(relay_now(api))
    return DefaultOut(
        item_id=item_id, status="defaulted",
        foreclosed=[Foreclosed(holding_id=h.id, bank_id=h.holder_id) for h in held],
    )  # fmt: skip


class BuyBackOut(BaseModel):
    holding_id: str
    holder_id: str
    from_bank: str | None = Field(description="The bank it was taken back from.")


@route(router, "POST", "/holdings/{holding_id}/buyback", "holdings.buyback")
def buy_back(request: Request, holding_id: str) -> BuyBackOut:
    """The pledgor takes back a holding its bank foreclosed on the item's default, paying the
    recourse price in settlement tokens (the chain refuses it without enough: 409, nothing
    recorded); its financing is repaid. 404 for a holding the caller never pledged."""
    api, who = state(request), caller(request)
    p = api.platform
    with p.uow_factory() as uow:
        holding = uow.items.get_holding(holding_id)
    if holding is None or who.org_id not in (holding.acquired_from, holding.holder_id):
        raise NotFoundError(f"holding {holding_id} does not exist")
    with api.chain_lock:
        back = items.buy_back(uow_factory=p.uow_factory, holding_id=holding_id, actor_id=who.org_id)
        refuse_on_chain_failure(relay_now(api))
    return BuyBackOut(holding_id=back.id, holder_id=back.holder_id, from_bank=back.acquired_from)
