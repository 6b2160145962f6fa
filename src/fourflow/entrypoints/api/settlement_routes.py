"""An item's repayment route changed by its parties, and a bank's statement lines, over HTTP
(issue 16 item 1: the CLI's ``route change`` and ``route statement`` / ``route statements``
have endpoints calling the same service functions):

- ``POST /items/{id}/route/changes``: the debtor proposes a new route
  (``route_changes.propose``); the debtor and every bank holding an open pledge on the item
  must sign it, each for itself:
- ``POST /items/{id}/route/changes/approval``: a party whose key the platform holds approves
  (the platform signs for it with that key when the change is applied);
- ``GET /items/{id}/route/changes/typed-data`` and ``POST …/signature``: a party holding its
  own key fetches the EIP-712 ``RouteChange`` and sends its own signature;
- ``POST /items/{id}/route/changes/refusal``: a party asked refuses it (the debtor withdraws);
- ``GET /items/{id}/route/changes``: the item's proposals, who signed and who is awaited.
  Complete, the change is queued on chain (``settlement.queue_route_change``, as ``fourflow
  route change`` does with every signature at once) and relayed; past its deadline a proposal
  is expired.
- ``POST /items/{id}/statement-lines``: a bank reports a statement line of the item's debtor
  paying for it (``settlement.statement_payment``, as ``fourflow route statement``): paid
  outside the locked route, it is no payment and the holders' banks are told;
- ``POST /bank/statement-checks``: a bank checks the camt.052/053/054 statement entries it
  uploaded (``POST /documents``) for payments that bypassed a route
  (``settlement.check_statements``, as ``fourflow route statements``);
- ``GET /bank/statement-notices``: the bypass notices the caller's bank was given.

Refusals change nothing and are answered as problem details: 403 for a party the service
refuses, 404 for an item or document that is not the caller's, 409 for a state that refuses
it, 422 for bad input.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from fourflow.domain.errors import NotFoundError
from fourflow.domain.settlement import NoticeKind, RouteKind
from fourflow.entrypoints.api.business_routes import Amount, _item
from fourflow.entrypoints.api.routing import (
    ApiState,
    caller,
    refuse_on_chain_failure,
    relay_now,
    route,
    state,
)
from fourflow.services import items, onboarding, route_changes, settlement

router = APIRouter()
HEX = r"^0x([0-9a-fA-F]{2})+$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RouteChangeIn(Strict):
    kind: Literal["tokens", "account"] = Field(
        description="tokens, or account (a collection account at ``bank``)."
    )
    account: str | None = Field(
        default=None, min_length=1, max_length=64, description="The new collection account."
    )
    bank: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="The new collection bank (USCC or id), for an account route.",
    )


class RouteChangeSignatureIn(Strict):
    signature: str = Field(pattern=HEX, max_length=200, description="65 bytes, 0x-hex")


class RouteChangeRefusalIn(Strict):
    reason: str = Field(min_length=1, max_length=2000)


class RouteChangeOut(BaseModel):
    proposal_id: str
    item_id: str
    kind: str
    account: str | None
    bank_id: str | None
    proposed_by: str
    proposed_at: str
    deadline: int = Field(description="Unix time the signatures are void after.")
    status: Literal["pending", "applied", "refused", "expired", "failed"]
    required: list[str] = Field(description="Who signs: the debtor and every open pledgee.")
    signed: dict[str, Literal["platform", "own"]] = Field(
        description="Who signed: with the key the platform holds for it, or its own."
    )
    waiting_for: list[str]
    closed_by: str | None
    reason: str | None
    op_id: str | None = Field(description="The chain operation of the applied change.")


class RouteChangeToSignOut(BaseModel):
    proposal_id: str
    deadline: int
    typed_data: dict[str, Any] = Field(description="EIP-712, for eth_signTypedData_v4.")


def _ctx(api: ApiState) -> route_changes.Context:
    p = api.platform
    return route_changes.Context(
        uow_factory=p.uow_factory, ledger=p.require_contracts(), clock=p.clock,
        operator_id=p.operator_id(),
    )  # fmt: skip


def _out(change: route_changes.RouteChange) -> RouteChangeOut:
    d = change.as_dict()
    d.pop("signatures")
    return RouteChangeOut.model_validate({**d, "proposal_id": d.pop("id")})


def _applied(api: ApiState, change: route_changes.RouteChange) -> RouteChangeOut:
    """Relay a change just queued; the chain's refusal is recorded on the proposal (failed)
    and answered 409."""
    if change.status != route_changes.APPLIED or change.op_id is None:
        return _out(change)
    failed = relay_now(api)
    mine = [reason for op, reason in failed if op == change.op_id]
    if mine:
        route_changes.chain_refused(
            _ctx(api), item_id=change.item_id, op_id=change.op_id, reason=mine[0]
        )
    refuse_on_chain_failure(failed)
    return _out(change)


@route(router, "GET", "/items/{item_id}/route/changes", "routes.changes.read")
def route_changes_of(request: Request, item_id: str) -> list[RouteChangeOut]:
    """The item's route-change proposals, newest first: who must sign, who signed and how,
    who is awaited; a pending one past its deadline shows expired. 404 for an item the
    caller has no part in."""
    api, who = state(request), caller(request)
    _item(api, who, item_id)
    return [_out(c) for c in route_changes.history(_ctx(api), item_id=item_id)]


@route(router, "POST", "/items/{item_id}/route/changes", "routes.change.propose", status_code=201)
def propose_route_change(request: Request, item_id: str, body: RouteChangeIn) -> RouteChangeOut:
    """The debtor proposes a new repayment route for its item (a locked route, the item
    active). Its proposal is its approval when the platform holds its key; with no open
    pledge to ask, the change is applied at once. 403 for anyone but the debtor; 409 while
    another proposal waits; 422 for an account route without its account and bank."""
    api, who = state(request), caller(request)
    _item(api, who, item_id)
    p = api.platform
    with api.chain_lock:
        bank_id = onboarding.org_id(uow_factory=p.uow_factory, ref=body.bank) if body.bank else None
        change = route_changes.propose(
            _ctx(api), item_id=item_id, actor_id=who.org_id, kind=RouteKind(body.kind),
            account=body.account, bank_id=bank_id,
        )  # fmt: skip
        return _applied(api, change)


@route(router, "POST", "/items/{item_id}/route/changes/approval", "routes.change.sign")
def approve_route_change(request: Request, item_id: str) -> RouteChangeOut:
    """A party asked (the debtor, a bank with an open pledge) approves the pending change;
    the platform signs for it with the key it holds once every party has. 403 for a party
    not asked; 409 when none is pending, it expired, the caller signed already or holds its
    own key (it sends its signature instead)."""
    api, who = state(request), caller(request)
    _item(api, who, item_id)
    with api.chain_lock:
        change = route_changes.approve(_ctx(api), item_id=item_id, actor_id=who.org_id)
        return _applied(api, change)


@route(router, "GET", "/items/{item_id}/route/changes/typed-data", "routes.change.sign")
def route_change_to_sign(request: Request, item_id: str) -> RouteChangeToSignOut:
    """For a party holding its own key: the pending change's EIP-712 ``RouteChange`` to sign
    (bound to the route's current change nonce and the proposal's deadline)."""
    api, who = state(request), caller(request)
    _item(api, who, item_id)
    found = route_changes.to_sign(_ctx(api), item_id=item_id, actor_id=who.org_id)
    return RouteChangeToSignOut.model_validate(found)


@route(router, "POST", "/items/{item_id}/route/changes/signature", "routes.change.sign")
def sign_route_change(
    request: Request, item_id: str, body: RouteChangeSignatureIn
) -> RouteChangeOut:
    """A party holding its own key signs the pending change: refused (403, nothing changes)
    unless made by its address over this change."""
    api, who = state(request), caller(request)
    _item(api, who, item_id)
    with api.chain_lock:
        change = route_changes.submit_signature(
            _ctx(api), item_id=item_id, actor_id=who.org_id, signature=body.signature
        )
        return _applied(api, change)


@route(router, "POST", "/items/{item_id}/route/changes/refusal", "routes.change.sign")
def refuse_route_change(
    request: Request, item_id: str, body: RouteChangeRefusalIn
) -> RouteChangeOut:
    """A party asked refuses the pending change (the debtor withdraws its proposal): closed,
    the route unchanged."""
    api, who = state(request), caller(request)
    _item(api, who, item_id)
    with api.chain_lock:
        change = route_changes.refuse(
            _ctx(api), item_id=item_id, actor_id=who.org_id, reason=body.reason
        )
    return _out(change)


# ----------------------------------------------------------------------------- statements


class StatementLineIn(Strict):
    payee_account: str = Field(
        min_length=1, max_length=64, description="The account the debtor paid."
    )
    amount: str = Amount
    value_date: dt.date
    reference: str = Field(min_length=1, max_length=100, description="The entry's reference.")


class StatementLineOut(BaseModel):
    item_id: str
    bypassed: bool = Field(description="Paid outside the item's locked route: no payment.")
    told: list[str] = Field(description="The banks (and collection bank) told, once a line.")
    text: str


class StatementChecksIn(Strict):
    document_ids: list[str] = Field(
        min_length=1, max_length=200, description="Statement entries the caller uploaded."
    )


class StatementCheckOut(BaseModel):
    document_id: str
    reference: str
    outcome: str = Field(
        description="bypass, route, no_item, rejected, not_debtor, before_issue or no_payee_account"
    )
    item_id: str | None
    payee_account: str | None
    amount: int = Field(description="Minor units.")
    notices: int
    statuses: list[str]


class StatementNoticeOut(BaseModel):
    item_id: str
    on_day: dt.date
    amount: int | None = Field(description="Minor units.")
    text: str


@route(router, "POST", "/items/{item_id}/statement-lines", "statements.report", status_code=201)
def report_statement_line(
    request: Request, item_id: str, body: StatementLineIn
) -> StatementLineOut:
    """The caller's bank (the debtor's account bank or a pledgee of the item) reports a line
    of its statement: the debtor paid ``amount`` to ``payee_account`` for the item. Into the
    route's collection account it is an ordinary payment (attest it with POST
    /items/{id}/payments); into any other account it is no payment of the item and the
    holders' banks are told, once a line. 404 for an item the bank has no part in; 422 for
    an amount finer than a cent."""
    api, who = state(request), caller(request)
    _item(api, who, item_id)
    p = api.platform
    minor = items.amount_of(uow_factory=p.uow_factory, amount=body.amount, item_id=item_id)
    notices = settlement.statement_payment(
        uow_factory=p.uow_factory, item_id=item_id, bank_id=who.org_id,
        payee_account=body.payee_account, amount=minor.minor, value_date=body.value_date,
        reference=body.reference,
    )  # fmt: skip
    return StatementLineOut(
        item_id=item_id, bypassed=bool(notices), told=[n.recipient_id for n in notices],
        text=notices[0].text if notices else "paid into the route's collection account, or "
        "reported already",
    )  # fmt: skip


@route(router, "POST", "/bank/statement-checks", "statements.check")
def check_statement_entries(request: Request, body: StatementChecksIn) -> list[StatementCheckOut]:
    """Check camt.052/053/054 statement entries the caller's bank uploaded for payments of an
    item outside its locked route (the holders' banks are told, once an entry). 404 for a
    document the bank did not upload; 422 for one that is not a statement entry."""
    api, who = state(request), caller(request)
    p = api.platform
    with p.uow_factory() as uow:
        for doc_id in body.document_ids:
            found = uow.documents.get(doc_id)
            if found is None or found.document.submitted_by != who.org_id:
                raise NotFoundError(f"document {doc_id} does not exist")
    checks = settlement.check_statements(uow_factory=p.uow_factory, document_ids=body.document_ids)
    return [
        StatementCheckOut(
            document_id=c.document_id,
            reference=c.reference,
            outcome=c.outcome,
            item_id=c.item_id,
            payee_account=c.payee_account,
            amount=c.amount,
            notices=c.notices,
            statuses=list(c.statuses),
        )
        for c in checks
    ]


@route(router, "GET", "/bank/statement-notices", "statements.read")
def statement_notices(request: Request) -> list[StatementNoticeOut]:
    """The notices of payments that bypassed an item's route given to the caller's bank,
    oldest first."""
    api, who = state(request), caller(request)
    notices = settlement.notices_for(uow_factory=api.platform.uow_factory)
    return [
        StatementNoticeOut(item_id=n.subject_id, on_day=n.on_day, amount=n.amount, text=n.text)
        for n in notices
        if n.recipient_id == who.org_id and n.kind is NoticeKind.BYPASS
    ]
