"""The workbench's reads and the debtor's dispute (issue 17, items 2-4).

- ``GET /trades``: my trades, a page at a time, with their verification state;
- ``GET /trades/{id}/documents``: a trade's evidence chain (submitter, signer, time,
  fingerprint, the anchor on the chain with its Merkle proof);
- ``POST /items/{id}/dispute``: the debtor disputes an item (``items.dispute_item``: recorded,
  frozen on the chain, the creditor and holders told by the ``item.disputed`` event);
- ``POST /items/{id}/dispute/withdrawal``: the debtor withdraws its dispute
  (``items.lift_dispute``: recorded, lifted on the chain, ``item.dispute_withdrawn``);
- ``GET /disputes``: the operator's list of items disputed now (``items.open_disputes``);
- ``POST /items/{id}/dispute/resolution``: the operator resolves a dispute, upheld or
  rejected with its reason (``items.lift_dispute`` with the resolution, as the CLI's
  ``item dispute --resolution``: recorded, lifted on the chain);
- ``GET /bank/review-queue``: the bank's requests with expected loss and value today,
  scenario, debtor and names, and the four-eyes proposal waiting on each;
- ``GET /bank/proposals``: every four-eyes proposal of the bank waiting, with its content;
- ``GET /bank/four-eyes``: the four-eyes limit;
- ``GET /bank/models``: the model registry (champion, challengers, validation figures) and
  the monitoring's alerts (drift ...).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from fourflow.domain.errors import DomainValueError
from fourflow.domain.identity import OrgType
from fourflow.domain.money import Money
from fourflow.entrypoints.api.business_routes import (
    FINANCING_DECISION,
    PRODUCT_POLICY,
    _financing_view,
    _item,
    _today,
    _trade,
)
from fourflow.entrypoints.api.routing import (
    caller,
    refuse_on_chain_failure,
    relay_now,
    route,
    state,
)
from fourflow.services import items, workbench

router = APIRouter()


class DisputeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000, description="Why the debtor disputes it.")
    as_of: dt.date | None = Field(
        default=None, description="The dispute's business day YYYY-MM-DD (default today)."
    )


class ResolutionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: Literal["upheld", "rejected"] = Field(
        description="upheld: the debtor's dispute is found right (the creditor then cancels or "
        "dilutes the item); rejected: the item stands as issued."
    )
    reason: str = Field(
        min_length=1, max_length=2000, description="The operator's reasons, recorded."
    )


class AmountOut(BaseModel):
    amount: str = Field(description="Decimal, in the currency's minor unit's precision.")
    minor: int
    currency: str


class DisputeOut(BaseModel):
    item_id: str
    trade_id: str
    status: str = Field(description="The item's status (active, overdue ...).")
    debtor_id: str
    debtor_name: str
    creditor_id: str
    creditor_name: str
    face_value: AmountOut
    outstanding: AmountOut
    maturity_date: dt.date
    raised_on: dt.date | None = Field(description="The dispute's business day.")
    raised_by: str
    reason: str | None
    reason_hash: str | None = Field(description="Hex SHA-256 of the reason, as on the chain.")


class ResolutionOut(BaseModel):
    item_id: str
    disputed: bool
    outcome: Literal["upheld", "rejected"]
    resolution_hash: str = Field(description="Hex SHA-256 of the recorded resolution.")


@route(router, "GET", "/trades", "trades.read")
def list_trades(
    request: Request,
    status: str | None = Query(default=None, max_length=40),
    offset: int = Query(default=0, ge=0),
    limit: int = Query(default=50, ge=1, le=workbench.MAX_PAGE),
) -> dict[str, Any]:
    """The trades the caller's organisation sells or buys in (the operator: every trade),
    newest first, each with its verification state and the item issued on it; ``status``
    (``unverified``, ``verified``, ``failed`` ...) filters."""
    api, who = state(request), caller(request)
    everyone = OrgType.PLATFORM_OPERATOR in who.org_types
    page = workbench.my_trades(
        uow_factory=api.platform.uow_factory, org_id=None if everyone else who.org_id,
        status=status, offset=offset, limit=limit,
    )  # fmt: skip
    return {"total": page.total, "offset": page.offset, "limit": page.limit, "trades": page.rows}


@route(router, "GET", "/trades/{trade_id}/documents", "trades.read")
def trade_documents(request: Request, trade_id: str) -> dict[str, Any]:
    """A trade the caller is party to, and each of its documents' evidence: who submitted it
    and when, who signed it, its fingerprint, and its anchor on the chain with the Merkle
    proof (``state`` ``anchored``), or ``pending`` while its batch waits."""
    api, who = state(request), caller(request)
    record = _trade(api, who, trade_id)
    docs = workbench.trade_documents(
        uow_factory=api.platform.uow_factory, ledger=api.platform.require_contracts(),
        record=record,
    )  # fmt: skip
    return {
        "trade_id": record.id,
        "status": record.status,
        "score": record.score,
        "report_hash": record.report_hash,
        "documents": docs,
    }


@route(router, "GET", "/trades/{trade_id}/verification", "trades.read")
def trade_verification(request: Request, trade_id: str) -> dict[str, Any]:
    """A trade the caller is party to: its latest verification as ``POST`` on this address
    answered it (status, score, findings, the report's hash; the payment state today), read,
    not run again. ``status`` ``unverified`` (no findings) for a trade never verified."""
    api, who = state(request), caller(request)
    record = _trade(api, who, trade_id)
    return workbench.latest_verification(
        uow_factory=api.platform.uow_factory, record=record, as_of=_today(api, None)
    )


@route(router, "POST", "/items/{item_id}/dispute", "items.dispute")
def dispute_item(request: Request, item_id: str, body: DisputeIn) -> dict[str, Any]:
    """The debtor disputes an item: moves, pledges and confirmation stop until the dispute is
    lifted; the chain records the reason's hash; the creditor and holders are told
    (``item.disputed``). Refused (nothing changes) when the caller is not the debtor (403),
    the item is settled, cancelled or already disputed (409), or the day is before its issue."""
    api, who = state(request), caller(request)
    _item(api, who, item_id)
    p = api.platform
    day = _today(api, body.as_of)
    with api.chain_lock:
        digest = items.dispute_item(
            uow_factory=p.uow_factory, item_id=item_id, reason=body.reason, actor_id=who.org_id,
            on=day,
        )  # fmt: skip
        refuse_on_chain_failure(relay_now(api))
    return {"item_id": item_id, "disputed": True, "reason_hash": digest, "on": day.isoformat()}


@route(router, "POST", "/items/{item_id}/dispute/withdrawal", "items.withdraw_dispute")
def withdraw_dispute(request: Request, item_id: str) -> dict[str, Any]:
    """The debtor withdraws its dispute of an item: the chain lifts it (moves, pledges and
    confirmation are open again); the creditor and holders are told
    (``item.dispute_withdrawn``). Refused (nothing changes) when the item is not disputed
    (409) or the caller is not its debtor (403). The operator's resolution is
    ``POST /items/{id}/dispute/resolution``."""
    api, who = state(request), caller(request)
    _item(api, who, item_id)
    with api.chain_lock:
        items.lift_dispute(
            uow_factory=api.platform.uow_factory, item_id=item_id, actor_id=who.org_id
        )
        refuse_on_chain_failure(relay_now(api))
    return {"item_id": item_id, "disputed": False, "withdrawn": True}


@route(router, "GET", "/disputes", "disputes.read")
def open_disputes(request: Request) -> list[DisputeOut]:
    """The items their debtors dispute now (raised, not withdrawn or resolved), oldest
    dispute first: item, trade, debtor and creditor with names, face value, outstanding,
    maturity, and the dispute's day, reason and its hash. What the operator resolves."""
    api = state(request)
    return [DisputeOut(**row) for row in items.open_disputes(uow_factory=api.platform.uow_factory)]


@route(router, "POST", "/items/{item_id}/dispute/resolution", "items.resolve_dispute")
def resolve_dispute(request: Request, item_id: str, body: ResolutionIn) -> ResolutionOut:
    """The platform operator resolves a debtor's dispute: its resolution (``upheld: ...`` or
    ``rejected: ...`` with the reason) is recorded, its hash put on the chain, and the item
    is open again to moves, pledges and confirmation (an upheld dispute is then settled by the
    creditor's cancellation or dilution). Refused (nothing changes) when the item is not
    disputed (409); 404 for an item that does not exist."""
    api, who = state(request), caller(request)
    _item(api, who, item_id)
    if not body.reason.strip():
        raise DomainValueError("reason: give the operator's reasons for the resolution")
    p = api.platform
    resolution = f"{body.outcome}: {body.reason.strip()}"
    with api.chain_lock:
        items.lift_dispute(
            uow_factory=p.uow_factory, item_id=item_id, actor_id=who.org_id,
            resolution=resolution, operator_id=p.operator_id(),
        )  # fmt: skip
        refuse_on_chain_failure(relay_now(api))
    return ResolutionOut(
        item_id=item_id,
        disputed=False,
        outcome=body.outcome,
        resolution_hash=items.text_hash(resolution),
    )


@route(router, "GET", "/bank/review-queue", "bank.queue")
async def review_queue(
    request: Request, status: str | None = Query(default=None, max_length=40)
) -> list[dict[str, Any]]:
    """The bank's requests (default: referred), each as ``GET /financings/{id}`` gives it,
    with ``valuation`` (expected loss and value today from the credit review's PD, the
    policy's LGD and discount rate and the item's due date), the scenario, the debtor,
    the parties' names, and ``proposal``: the four-eyes proposal waiting on it with its
    content (None when none waits)."""
    api, who = state(request), caller(request)
    p = api.platform

    def read() -> list[tuple[Any, dict[str, Any], dict[str, Any] | None]]:
        return workbench.review_queue(
            uow_factory=p.uow_factory, ids=p.identities, bank_id=who.org_id, status=status,
            as_of=p.clock.today(), cold_start=p.cold_start, decision_kind=FINANCING_DECISION,
        )  # fmt: skip

    rows = await run_in_threadpool(read)
    out = []
    for row, valued, waiting in rows:
        view = _financing_view(row.financing, row.currency)
        view.update(
            borrower_name=row.borrower_name, bank_name=row.bank_name,
            debtor_name=row.debtor_name, debtor_id=valued.get("debtor_id"),
            scenario=valued.get("scenario"), valuation=valued, proposal=waiting,
        )  # fmt: skip
        out.append(view)
    return out


@route(router, "GET", "/bank/proposals", "bank.proposals")
def bank_proposals(request: Request) -> list[dict[str, Any]]:
    """The bank's four-eyes proposals waiting for a second person, with their content (the
    officer's decision and reason on a referred request; a policy change's fields): what
    an approver agrees to."""
    api, who = state(request), caller(request)
    return workbench.waiting_proposals(
        uow_factory=api.platform.uow_factory, ids=api.platform.identities, bank_id=who.org_id,
        kinds=(FINANCING_DECISION, PRODUCT_POLICY),
    )  # fmt: skip


@route(router, "GET", "/bank/four-eyes", "bank.four_eyes")
def four_eyes(
    request: Request, currency: str = Query(default="CNY", pattern=r"^[A-Z]{3}$")
) -> dict[str, Any]:
    """The four-eyes limit: a referred request for more than this is decided by a credit
    officer's proposal and an approver's agreement (``currency``: the limit in its minor
    unit's precision)."""
    limit = state(request).four_eyes_limit
    return {
        "limit": Money.of(limit, currency).plain(),
        "currency": currency,
        "applies_to": "financing_decision: a referred request whose requested amount is above it",
    }


@route(router, "GET", "/bank/models", "models.read")
def model_registry(request: Request) -> dict[str, Any]:
    """The credit model registry: the champion (scores every request), the challengers and
    retired models with their validation figures (AUC, KS, Brier ...) and promotion notes;
    the monitoring's alerts (drift as PSI, performance, approval rate, realised loss) for the
    caller's bank and the platform (the regulator: all)."""
    api, who = state(request), caller(request)
    bank = None if OrgType.REGULATOR in who.org_types else who.org_id
    return workbench.model_registry(uow_factory=api.platform.uow_factory, bank_id=bank)
