"""The main path over HTTP: each party uploads its own documents, trades are verified, the
seller issues, the debtor confirms with its own signature, holdings are split and passed on,
financing is asked for and decided (four eyes above a limit), the debtor's bank attests the
payment, the regulator reads its figures.

Every route calls the same service functions as the CLI, acting for the caller's organisation
only: the organisation comes from the credential, never from the request body.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from fourflow.domain.debt import DebtItem, Holding
from fourflow.domain.errors import ConflictError, DomainValueError, NotFoundError
from fourflow.domain.financing import Financing, FinancingStatus, GoodsFinancing
from fourflow.domain.identity import OrgType, Principal
from fourflow.domain.money import Money
from fourflow.domain.scenarios import Scenario
from fourflow.entrypoints.api.problems import ProblemError
from fourflow.entrypoints.api.routing import (
    ApiState,
    caller,
    refuse_on_chain_failure,
    relay_claimed,
    relay_now,
    route,
    state,
)
from fourflow.risk.review import ProductPolicy
from fourflow.services import (
    evidence,
    financing,
    identity,
    ingest,
    items,
    linking,
    onboarding,
    position,
    workbench,
)
from fourflow.services.accounts import account_bank
from fourflow.services.ports import TradeRecord
from fourflow.services.supervision import regulator_summary
from fourflow.services.verification import verify_many

router = APIRouter()

FINANCING_DECISION = "financing_decision"
PRODUCT_POLICY = "product_policy"
ALL_SEEING = frozenset({OrgType.PLATFORM_OPERATOR, OrgType.REGULATOR})


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


Amount = Field(min_length=1, max_length=32, pattern=r"^[0-9]+(\.[0-9]+)?$")
Day = Field(default=None, description="Business date YYYY-MM-DD (default today).")


class VerifyIn(Strict):
    as_of: dt.date | None = Day


class IssueIn(Strict):
    trade_id: str = Field(min_length=1, max_length=100)
    as_of: dt.date | None = Day


class SplitIn(Strict):
    amount: str = Amount


class TransferIn(Strict):
    amount: str = Amount
    to: str = Field(min_length=1, max_length=100, description="Recipient (USCC or id).")
    pays: list[str] = Field(default_factory=list, max_length=50)


class FinancingIn(Strict):
    holding_id: str = Field(min_length=1, max_length=100)
    bank: str = Field(min_length=1, max_length=100, description="The bank asked (USCC or id).")
    amount: str = Amount
    as_of: dt.date | None = Day


class DecisionIn(Strict):
    approve: bool
    reason: str = Field(min_length=1, max_length=2000)
    as_of: dt.date | None = Day


class ApprovalIn(Strict):
    agree: bool
    note: str = Field(default="", max_length=2000)


class PolicyIn(Strict):
    fields: dict[str, Any] = Field(max_length=50)


class PaymentIn(Strict):
    amount: str = Amount
    value_date: dt.date
    reference: str = Field(min_length=1, max_length=100)


# ----------------------------------------------------------------------------- object rules


def _sees_all(who: Principal) -> bool:
    return bool(who.org_types & ALL_SEEING)


def _trade(api: ApiState, who: Principal, trade_id: str) -> TradeRecord:
    """A trade the caller is a party to (operator: any), else 404."""
    with api.platform.uow_factory() as uow:
        record = uow.trades.get(trade_id)
    if record is None or not (
        OrgType.PLATFORM_OPERATOR in who.org_types
        or who.org_id in (record.seller_id, record.buyer_id)
    ):
        raise NotFoundError(f"trade {trade_id} does not exist")
    return record


def _item(api: ApiState, who: Principal, item_id: str) -> tuple[DebtItem, list[Holding]]:
    """An item the caller has a part in (debtor, creditor, holder, pledgee, the debtor's
    account bank; operator and regulator: any), else 404."""
    with api.platform.uow_factory() as uow:
        item = uow.items.get(item_id)
        if item is None:
            raise NotFoundError(f"debt item {item_id} does not exist")
        holdings = uow.items.holdings(item.id)
        involved = {item.debtor_id, item.creditor_id}
        involved |= {h.holder_id for h in holdings}
        involved |= {h.pledge_bank_id for h in holdings if h.pledge_bank_id}
        if OrgType.BANK in who.org_types and who.org_id not in involved:
            debtor = uow.organisations.get(item.debtor_id)
            try:
                if debtor is not None and account_bank(uow, debtor).id == who.org_id:
                    involved.add(who.org_id)
            except ConflictError:
                pass
    if not (_sees_all(who) or who.org_id in involved):
        raise NotFoundError(f"debt item {item_id} does not exist")
    return item, holdings


def _holding(api: ApiState, who: Principal, holding_id: str) -> Holding:
    """A holding the caller holds, else 404."""
    with api.platform.uow_factory() as uow:
        holding = uow.items.get_holding(holding_id)
    if holding is None or holding.holder_id != who.org_id:
        raise NotFoundError(f"holding {holding_id} does not exist")
    return holding


def _financing(api: ApiState, who: Principal, financing_id: str) -> financing.FinancingRow:
    """A financing of the caller's bank or of the caller as borrower (regulator: any)."""
    try:
        row = financing.get_financing(
            uow_factory=api.platform.uow_factory, financing_id=financing_id
        )
    except NotFoundError:
        row = None
    fin = row.financing if row else None
    if (
        row is None
        or fin is None
        or not (OrgType.REGULATOR in who.org_types or who.org_id in (fin.bank_id, fin.borrower_id))
    ):
        raise NotFoundError(f"financing request {financing_id} does not exist")
    return row


def _today(api: ApiState, day: dt.date | None) -> dt.date:
    return day or api.platform.clock.today()


def _money(minor: int | None, currency: str) -> str | None:
    return None if minor is None else Money.from_minor(minor, currency).plain()


def _financing_view(
    fin: Financing | GoodsFinancing,
    currency: str,
    chain: financing.ChainWork | None = None,
    about: dict[str, Any] | None = None,
) -> dict[str, Any]:
    d = fin.decision
    return {
        **({} if chain is None else {"chain": {"state": chain.state, "refusal": chain.refusal}}),
        "financing_id": fin.id,
        "status": fin.status.value,
        "item_id": getattr(fin, "item_id", None),
        "holding_id": getattr(fin, "holding_id", None),
        "receipt_id": getattr(fin, "receipt_id", None),
        "borrower_id": fin.borrower_id,
        "bank_id": fin.bank_id,
        "currency": currency,
        "requested": _money(fin.requested, currency),
        "principal": _money(fin.principal, currency),
        "rate_bps": fin.rate_bps,
        **({} if about is None else about),
        "decision": None
        if d is None
        else {
            "outcome": d.outcome.value,
            "reasons": [{"code": r.code, "message": r.message} for r in d.reasons],
            "decided_by": d.decided_by,
            "note": d.note,
            "pd": d.pd,
            "input_hash": d.input_hash,
        },
    }


# ----------------------------------------------------------------------------- documents


@route(
    router,
    "POST",
    "/documents",
    "documents.upload",
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "application/xml": {"schema": {"type": "string"}},
                "text/csv": {"schema": {"type": "string"}},
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def upload_document(
    request: Request, source: str = "upload", scenario: Scenario | None = None
) -> list[dict[str, Any]]:
    """Upload one document file (UBL, CII, native JSON bundle ...) as the caller's own
    evidence: detected, validated, fingerprinted, stored, linked into trades, anchored."""
    raw = await request.body()
    if not raw:
        raise ProblemError(422, "the request body is empty: send the document's bytes")
    who = caller(request)
    return await run_in_threadpool(_ingest, state(request), who, source[:200], raw, scenario)


def _ingest(
    api: ApiState, who: Principal, source: str, raw: bytes, scenario: Scenario | None
) -> list[dict[str, Any]]:
    p = api.platform
    # Reading, validating and storing need no chain lock (several processes ingest at once,
    # as the CLI does); anchoring and linking into trades do. On PostgreSQL the relay runs
    # after the lock, each sender under its claim (as the worker's): the next upload anchors
    # and links meanwhile, and its relay sends what has queued since. On SQLite, under it.
    claimed = p.relay_claims() is not None
    outcomes = ingest.ingest_files(
        uow_factory=p.uow_factory, reader=p.reader_for(who.org_id), clock=p.clock,
        files=[ingest.SubmittedFile(source, raw, None)], submitter_id=who.org_id,
        verifier=p.verifier, scenario=scenario,
        date_tolerance=dt.timedelta(days=p.settings.date_tolerance_days),
    )  # fmt: skip
    with api.chain_lock:
        ingest.anchor_pending(uow_factory=p.uow_factory, clock=p.clock, operator_id=p.operator_id())
        linked = linking.link_documents(uow_factory=p.uow_factory, in_hand=ingest.stored(outcomes))
        evidence.reverify_extended(uow_factory=p.uow_factory, result=linked, as_of=p.clock.today())
        if not claimed:
            refuse_on_chain_failure(relay_now(api))
    if claimed:
        refuse_on_chain_failure(relay_claimed(api) or [])
    # Where each document went is read after the lock: the next request need not wait for it.
    placed = evidence.placements(
        uow_factory=p.uow_factory,
        document_ids=[o.document_id for o in outcomes if o.document_id],
        result=linked,
    )
    rows = []
    for o in outcomes:
        where = placed.get(o.document_id or "")
        rows.append(
            {
                "source": o.source, "status": o.status, "document_id": o.document_id,
                "kind": o.parsed.document.kind.value if o.parsed else None,
                "number": o.parsed.document.number if o.parsed else None,
                "fingerprint": o.fingerprint, "errors": list(o.errors),
                "findings": [dict(f) for f in o.findings],
                "trade_id": where.trade_id if where else None,
                "trade_status": where.status if where else None,
                "waits": where.waits if where else "",
            }
        )  # fmt: skip
    return rows


# ----------------------------------------------------------------------------- trades, items


@route(router, "POST", "/trades/{trade_id}/verification", "trades.verify")
def verify_trade(request: Request, trade_id: str, body: VerifyIn) -> dict[str, Any]:
    """Verify a trade the caller is party to: status, score, findings; the report's hash is
    registered on the chain."""
    api, who = state(request), caller(request)
    _trade(api, who, trade_id)
    with api.chain_lock:
        (result,) = verify_many(
            uow_factory=api.platform.uow_factory, trade_ids=[trade_id],
            as_of=_today(api, body.as_of),
        )  # fmt: skip
        refuse_on_chain_failure(relay_now(api))
    r = result.report
    return {
        "trade_id": r.trade_id,
        "status": r.status.value,
        "score": r.score,
        "report_hash": result.report_hash,
        "payment_state": result.payment_state,
        "findings": [
            {"code": f.code, "severity": f.severity.value, "message": f.message} for f in r.findings
        ],
    }


@route(router, "POST", "/items", "items.issue", status_code=201)
def issue_item(request: Request, body: IssueIn) -> dict[str, Any]:
    """The seller issues the digital debt item of its verified trade (on the evidence: the
    debtor confirms it itself, ``POST /items/{id}/confirmation``)."""
    api, who = state(request), caller(request)
    record = _trade(api, who, body.trade_id)
    if record.seller_id != who.org_id:
        raise ProblemError(403, f"only the seller of trade {body.trade_id} issues its debt item")
    p = api.platform
    with api.chain_lock:
        item = items.issue_item(
            uow_factory=p.uow_factory, ledger=p.require_contracts(), clock=p.clock,
            trade_id=body.trade_id, as_of=_today(api, body.as_of), confirm=False,
        )  # fmt: skip
        refuse_on_chain_failure(relay_now(api))
    return items.describe_item(uow_factory=p.uow_factory, item_id=item.id)


@route(router, "GET", "/items/{item_id}", "items.read", response_model=dict[str, Any])
async def get_item(request: Request, item_id: str) -> Response:
    """An item the caller has a part in: holdings, pledges, what was settled to whom.

    Answered from the view this process keeps at the item's current version (one indexed
    lookup, on the event loop on PostgreSQL; ``items.ItemViews``), which also names who has a
    part in the item.
    """
    api, who = state(request), caller(request)
    view = await api.item_views.aget(item_id, run_in_threadpool)
    if not await _sees_item(api, who, view):
        raise NotFoundError(f"debt item {item_id} does not exist")
    return Response(view.json, media_type="application/json")


#: At most this many items are read by one ``GET /items?ids=``.
ITEMS_READ_MAX = 200


@route(router, "GET", "/items", "items.read", response_model=list[dict[str, Any]])
async def get_items(request: Request, ids: str) -> Response:
    """The items of ``ids`` (comma-separated, at most 200) the caller has a part in, each as
    ``GET /items/{item_id}`` answers it, in the order asked; an item that does not exist or
    that the caller may not see is left out. One request for a page that shows many items
    (the bank's portfolio, the core enterprise's payables) instead of one a row."""
    api, who = state(request), caller(request)
    wanted = list(dict.fromkeys(i.strip() for i in ids.split(",") if i.strip()))
    if len(wanted) > ITEMS_READ_MAX:
        raise ProblemError(
            422, f"ids: {len(wanted)} items asked, at most {ITEMS_READ_MAX} in one read"
        )
    found: list[bytes] = []
    banks: dict[str, bool] = {}  # debtor id: the caller holds its account (read once a debtor)
    views = await api.item_views.aget_many(wanted, run_in_threadpool)  # unknown ids left out
    for item_id in wanted:
        view = views.get(item_id)
        if view is not None and await _sees_item(api, who, view, banks):
            found.append(view.json)
    return Response(b"[" + b",".join(found) + b"]", media_type="application/json")


async def _sees_item(
    api: ApiState, who: Principal, view: items.ItemView, banks: dict[str, bool] | None = None
) -> bool:
    """Whether the caller sees the item: the operator and the regulator, a party to it, the
    bank holding its debtor's settlement account (``banks``: answers known, by debtor)."""
    if _sees_all(who) or who.org_id in view.parties:
        return True
    if OrgType.BANK not in who.org_types:
        return False
    known = banks if banks is not None else {}
    if view.debtor_id not in known:
        known[view.debtor_id] = await run_in_threadpool(_account_bank_of, api, who, view)
    return known[view.debtor_id]


def _account_bank_of(api: ApiState, who: Principal, view: items.ItemView) -> bool:
    """Whether the caller is the bank holding the item's debtor's settlement account."""
    if OrgType.BANK not in who.org_types:
        return False
    with api.platform.uow_factory() as uow:
        debtor = uow.organisations.get(view.debtor_id)
        try:
            return debtor is not None and account_bank(uow, debtor).id == who.org_id
        except ConflictError:
            return False


@route(router, "POST", "/items/{item_id}/confirmation", "items.confirm")
def confirm_item(request: Request, item_id: str) -> dict[str, Any]:
    """The debtor confirms an item issued on the evidence with its own EIP-712 signature."""
    api, who = state(request), caller(request)
    _item(api, who, item_id)
    p = api.platform
    with api.chain_lock:
        items.confirm_item(
            uow_factory=p.uow_factory, ledger=p.require_contracts(), clock=p.clock,
            item_id=item_id, actor_id=who.org_id,
        )  # fmt: skip
        refuse_on_chain_failure(relay_now(api))
    return items.describe_item(uow_factory=p.uow_factory, item_id=item_id)


@route(router, "POST", "/holdings/{holding_id}/split", "holdings.split", status_code=201)
def split_holding(request: Request, holding_id: str, body: SplitIn) -> dict[str, Any]:
    """Split an amount off the caller's holding into a new holding of its own."""
    api, who = state(request), caller(request)
    _holding(api, who, holding_id)
    p = api.platform
    with api.chain_lock:
        minor = items.amount_of(
            uow_factory=p.uow_factory, amount=body.amount, holding_id=holding_id
        ).minor
        child = items.split(
            uow_factory=p.uow_factory, holding_id=holding_id, amount=minor, actor_id=who.org_id
        )
        refuse_on_chain_failure(relay_now(api))
    return {"holding_id": child.id, "parent_id": holding_id, "amount": body.amount}


@route(router, "POST", "/holdings/{holding_id}/transfers", "holdings.transfer", status_code=201)
def transfer_holding(request: Request, holding_id: str, body: TransferIn) -> dict[str, Any]:
    """Pass an amount of the caller's holding to another member (its own supplier)."""
    api, who = state(request), caller(request)
    _holding(api, who, holding_id)
    p = api.platform
    with api.chain_lock:
        minor = items.amount_of(
            uow_factory=p.uow_factory, amount=body.amount, holding_id=holding_id
        ).minor
        to = onboarding.org_id(uow_factory=p.uow_factory, ref=body.to)
        child = items.transfer(
            uow_factory=p.uow_factory, holding_id=holding_id, amount=minor, to_org_id=to,
            actor_id=who.org_id, pays=body.pays, as_of=p.clock.today(),
        )  # fmt: skip
        refuse_on_chain_failure(relay_now(api))
    return {"holding_id": child.id, "parent_id": holding_id, "to": to, "amount": body.amount}


@route(router, "GET", "/position", "position.read")
def member_position(request: Request) -> dict[str, Any]:
    """What the caller's organisation holds, owes, financed and has waiting for the chain."""
    api = state(request)
    return position.member_position(
        uow_factory=api.platform.uow_factory, org_id=caller(request).org_id
    )


# ----------------------------------------------------------------------------- financing


@route(router, "POST", "/financings", "financings.request", status_code=201)
async def request_financing(request: Request, body: FinancingIn) -> dict[str, Any]:
    """Ask a bank to finance the caller's holding; the review robot decides now (approve,
    decline, or refer to the bank's people).

    Answered when the decision is stored: an approval's pledge (and the presentation of the
    trade's invoices to the consortium) is queued for the chain, ``chain.state`` ``pending``,
    and the worker's relay applies it (the financing turns ``active``). If the chain then
    refuses (an invoice presented to another member first, the pledge refused), the
    financing turns ``failed``, the holding is free again, the parties are told
    (``financing.decided`` webhook) and ``GET /financings/{id}`` gives the reason."""
    api, who = state(request), caller(request)
    asked = financing.FinanceRequest(
        target=body.holding_id, bank=body.bank, amount=body.amount,
        as_of=_today(api, body.as_of), holder=who.org_id,
        own_holding_of=who.org_id,  # another's holding: 404, in the decision's transaction
    )  # fmt: skip
    # decided with those in flight beside it: the request waits on the event loop, not on a
    # thread of its own (``DecisionBatcher.finance_async``)
    row = await _decisions(request, api).finance_async(asked)
    return _financing_view(row.financing, row.currency, row.chain)


_DECISIONS_MADE = threading.Lock()


def _decisions(request: Request, api: ApiState) -> financing.DecisionBatcher:
    """This app's group commit of financing decisions (``financing.DecisionBatcher``), made on
    first use: concurrent requests in this process are decided together in one transaction."""
    found: financing.DecisionBatcher | None = getattr(request.app.state, "decisions", None)
    if found is None:
        with _DECISIONS_MADE:
            found = getattr(request.app.state, "decisions", None)
            if found is None:
                p = api.platform
                found = financing.DecisionBatcher(
                    uow_factory=p.uow_factory, cold_start=p.cold_start,
                    ledger=p.require_contracts(), clock=p.clock,
                )  # fmt: skip
                request.app.state.decisions = found
    return found


@route(router, "GET", "/financings", "financings.read")
def list_financings(request: Request, status: str | None = None) -> list[dict[str, Any]]:
    """Financing requests the caller may see: its bank's, or its own as borrower."""
    api, who = state(request), caller(request)
    rows = financing.list_financings(uow_factory=api.platform.uow_factory, status=status)
    seen = [
        r
        for r in rows
        if OrgType.REGULATOR in who.org_types
        or who.org_id in (r.financing.bank_id, r.financing.borrower_id)
    ]
    abouts = _items_about(api, seen)
    return [_financing_view(r.financing, r.currency, about=abouts[r.financing.id]) for r in seen]


def _items_about(api: ApiState, rows: list[financing.FinancingRow]) -> dict[str, dict[str, Any]]:
    """By financing id: its receivable's ``scenario`` (the trade's) and debtor (``debtor_id``,
    ``debtor_name``), read in bulk; a goods financing's are null."""
    item_ids = [i for r in rows if (i := getattr(r.financing, "item_id", None)) is not None]
    found = workbench.items_about(uow_factory=api.platform.uow_factory, item_ids=item_ids)
    out: dict[str, dict[str, Any]] = {}
    for r in rows:
        about = found.get(getattr(r.financing, "item_id", None) or "")
        out[r.financing.id] = {
            "scenario": about.scenario if about else None,
            "debtor_id": about.debtor_id if about else None,
            "debtor_name": r.debtor_name if about else None,
        }
    return out


@route(router, "GET", "/financings/{financing_id}", "financings.read")
def get_financing(request: Request, financing_id: str) -> dict[str, Any]:
    """One financing request with its decision, and where its chain work stands."""
    api = state(request)
    row = _financing(api, caller(request), financing_id)
    about = _items_about(api, [row])[row.financing.id]
    return _financing_view(row.financing, row.currency, row.chain, about)


def _bank_financing(api: ApiState, who: Principal, financing_id: str) -> financing.FinancingRow:
    row = _financing(api, who, financing_id)
    if row.financing.bank_id != who.org_id:
        raise NotFoundError(f"financing request {financing_id} does not exist")
    if row.financing.status is not FinancingStatus.REFERRED:
        raise ConflictError(
            f"financing request {financing_id} is {row.financing.status.value}: only referred "
            "requests are decided by people"
        )
    return row


@route(router, "POST", "/financings/{financing_id}/decision", "financings.decide")
def decide_financing(request: Request, financing_id: str, body: DecisionIn) -> JSONResponse:
    """A credit officer decides a referred request; above the four-eyes limit its decision is
    a proposal (202) that an approver of the same bank must approve."""
    api, who = state(request), caller(request)
    row = _bank_financing(api, who, financing_id)
    limit = Money.of(api.four_eyes_limit, row.currency).minor
    p = api.platform
    if row.financing.requested > limit:
        proposal = identity.propose(
            p.identities, proposer=who, kind=FINANCING_DECISION, subject_id=financing_id,
            payload={"approve": body.approve, "reason": body.reason,
                     "as_of": _today(api, body.as_of).isoformat()},
        )  # fmt: skip
        view = _financing_view(row.financing, row.currency)
        view["awaiting_approval"] = {"proposal_id": proposal.id, "proposed_by": who.person}
        return JSONResponse(view, status_code=202)
    with api.chain_lock:
        decided = financing.decide(
            uow_factory=p.uow_factory, financing_id=financing_id, approve=body.approve,
            reason=body.reason, person=who.person, as_of=_today(api, body.as_of),
        )  # fmt: skip
        refuse_on_chain_failure(relay_now(api))
    return JSONResponse(_financing_view(decided.financing, decided.currency))


@route(router, "POST", "/financings/{financing_id}/decision/approval", "financings.approve")
def approve_decision(request: Request, financing_id: str, body: ApprovalIn) -> dict[str, Any]:
    """The second person (an approver, not the proposer) agrees with the officer's proposed
    decision, which then takes effect; disagreeing, the request stays referred."""
    api, who = state(request), caller(request)
    _bank_financing(api, who, financing_id)
    p = api.platform
    proposal, proposer = identity.second_person(
        p.identities, approver=who, kind=FINANCING_DECISION, subject_id=financing_id
    )
    if not body.agree:
        identity.settle(p.identities, proposal=proposal, approver=who, approve=False)
        return {"financing_id": financing_id, "proposal": "rejected", "status": "referred"}
    reason = str(proposal.payload["reason"])
    if body.note:
        reason = f"{reason} (approver: {body.note})"
    with api.chain_lock:
        decided = financing.decide(
            uow_factory=p.uow_factory, financing_id=financing_id,
            approve=bool(proposal.payload["approve"]), reason=reason,
            person=f"{proposer.email} (credit_officer) + {who.person}",
            as_of=dt.date.fromisoformat(str(proposal.payload["as_of"])),
        )  # fmt: skip
        identity.settle(p.identities, proposal=proposal, approver=who, approve=True)
        refuse_on_chain_failure(relay_now(api))
    return _financing_view(decided.financing, decided.currency)


@route(router, "GET", "/policy", "policy.read")
def get_policy(request: Request) -> dict[str, Any]:
    """The caller's bank's product policy."""
    api = state(request)
    policy = financing.product_policy(
        uow_factory=api.platform.uow_factory, bank=caller(request).org_id
    )
    return dict(policy.as_json())


@route(router, "PUT", "/policy", "policy.propose", status_code=202)
def propose_policy(request: Request, body: PolicyIn) -> dict[str, Any]:
    """Propose a change of the bank's product policy; an approver must approve it."""
    api, who = state(request), caller(request)
    try:
        ProductPolicy.from_json({**body.fields, "bank_id": who.org_id})
    except (TypeError, ValueError) as exc:
        raise DomainValueError(f"fields: {exc}") from None
    proposal = identity.propose(
        api.platform.identities, proposer=who, kind=PRODUCT_POLICY, subject_id=who.org_id,
        payload={"fields": body.fields},
    )  # fmt: skip
    return {"proposal_id": proposal.id, "status": "awaiting_approval", "fields": body.fields}


@route(router, "POST", "/policy/approval", "policy.approve")
def approve_policy(request: Request, body: ApprovalIn) -> dict[str, Any]:
    """An approver (not the proposer) approves or rejects the proposed policy change."""
    api, who = state(request), caller(request)
    p = api.platform
    proposal, _proposer = identity.second_person(
        p.identities, approver=who, kind=PRODUCT_POLICY, subject_id=who.org_id
    )
    if not body.agree:
        identity.settle(p.identities, proposal=proposal, approver=who, approve=False)
        return {"proposal_id": proposal.id, "status": "rejected"}
    policy = financing.set_product_policy(
        uow_factory=p.uow_factory, bank=who.org_id, fields=dict(proposal.payload["fields"])
    )
    identity.settle(p.identities, proposal=proposal, approver=who, approve=True)
    return dict(policy.as_json())


# ----------------------------------------------------------------------------- payments, figures


def pay_item(
    request: Request, item_id: str, body: PaymentIn, method: items.PaymentMethod
) -> tuple[items.Repayment, str]:
    """``items.pay`` for the caller, routed on the chain at once: the repayment and its
    currency (a refusal on the chain is raised, nothing recorded)."""
    api, who = state(request), caller(request)
    _item(api, who, item_id)
    p = api.platform
    with api.chain_lock:
        paid = items.amount_of(uow_factory=p.uow_factory, amount=body.amount, item_id=item_id)
        repayment = items.pay(
            uow_factory=p.uow_factory, ledger=p.require_contracts(), item_id=item_id,
            amount=paid.minor, value_date=body.value_date, reference=body.reference,
            payer_id=who.org_id, method=method,
        )  # fmt: skip
        refuse_on_chain_failure(relay_now(api))
    return repayment, paid.currency


@route(router, "POST", "/items/{item_id}/payments", "payments.attest", status_code=201)
def attest_payment(request: Request, item_id: str, body: PaymentIn) -> dict[str, Any]:
    """The debtor's account bank attests a payment it saw on the debtor's account; the
    contract routes it to the banks first, then the holders."""
    repayment, cur = pay_item(request, item_id, body, "attested")
    return {
        "payment_id": repayment.id,
        "item_id": item_id,
        "amount": _money(repayment.amount, cur),
        "currency": cur,
        "parts": [
            {"holding_id": x.holding_id, "payee_id": x.payee_id, "kind": x.kind,
             "amount": _money(x.amount, cur)}
            for x in repayment.parts
        ],
    }  # fmt: skip


@route(router, "GET", "/regulator/figures", "regulator.figures")
def regulator_figures(request: Request, as_of: dt.date | None = None) -> dict[str, Any]:
    """The regulator's figures by scenario: trades, verified, issued, financed, settled,
    overdue, referrals, terms and days to pay."""
    api = state(request)
    summary = regulator_summary(uow_factory=api.platform.uow_factory, as_of=_today(api, as_of))
    return {k: v.as_dict() for k, v in sorted(summary.items())}
