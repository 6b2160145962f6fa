"""Mandates and fraud-signal clearances over HTTP (issue 16 item 1: the CLI's ``mandate
grant`` / ``revoke`` / ``list`` and ``signal list`` / ``clear`` have endpoints calling the same
service functions, ``services.evidence``):

- ``POST /mandates``: the caller's organisation (the principal) lets an agent (e.g. its
  carrier or its warehouse) send its documents of some kinds: within the term, they count as
  the principal's evidence;
- ``GET /mandates``: the mandates the caller's organisation is principal or agent of (the
  operator: every one), revoked ones included;
- ``POST /mandates/{id}/revocation``: the principal (or the platform operator) revokes a
  mandate from a day, with the reason recorded;
- ``GET /trades/{id}/signals``: a trade's open fraud signals (they gate issuance and
  financing) and the clearances recorded on it (the operator, the regulator);
- ``POST /trades/{id}/signals/{code}/clearance``: the operator's admin clears one open signal
  with the reason and the officer who decided, recorded.

Another organisation's mandate answers 404; refusals change nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from fourflow.domain.documents import DocumentKind
from fourflow.domain.errors import DomainValueError, NotFoundError
from fourflow.domain.identity import OrgType, Principal
from fourflow.domain.mandates import Mandate, SignalClearance
from fourflow.entrypoints.api.routing import ApiState, caller, route, state
from fourflow.services import evidence, onboarding

router = APIRouter()


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MandateIn(Strict):
    agent: str = Field(min_length=1, max_length=100, description="Who sends (USCC or id).")
    kinds: list[DocumentKind] = Field(min_length=1, max_length=len(DocumentKind))
    valid_from: dt.date | None = Field(default=None, description="First day (default today).")
    valid_to: dt.date | None = Field(default=None, description="Last day (default: open).")
    note: str = Field(default="", max_length=500, description="What the mandate is for.")


class MandateRevocationIn(Strict):
    reason: str = Field(min_length=1, max_length=2000, description="Why (recorded).")
    on: dt.date | None = Field(default=None, description="From this day (default today).")


class MandateOut(BaseModel):
    id: str
    principal: str
    principal_name: str
    agent: str
    agent_name: str
    kinds: list[str]
    valid_from: dt.date
    valid_to: dt.date | None
    granted_on: dt.date | None
    note: str
    revoked_on: dt.date | None
    revoked_by: str | None
    revoke_reason: str | None


def _out(api: ApiState, m: Mandate) -> MandateOut:
    with api.platform.uow_factory() as uow:
        names: dict[str, Any] = {
            org_id: (org.name if (org := uow.organisations.get(org_id)) else org_id)
            for org_id in (m.principal_id, m.agent_id)
        }
    return MandateOut(
        id=m.id, principal=m.principal_id, principal_name=names[m.principal_id],
        agent=m.agent_id, agent_name=names[m.agent_id], kinds=sorted(k.value for k in m.kinds),
        valid_from=m.valid_from, valid_to=m.valid_to, granted_on=m.granted_on, note=m.note,
        revoked_on=m.revoked_on, revoked_by=m.revoked_by, revoke_reason=m.revoke_reason,
    )  # fmt: skip


def _sees_all(who: Principal) -> bool:
    return OrgType.PLATFORM_OPERATOR in who.org_types


@route(router, "POST", "/mandates", "mandates.grant", status_code=201)
def grant_mandate(request: Request, body: MandateIn) -> MandateOut:
    """The caller's organisation (the principal) lets ``agent`` send its documents of
    ``kinds``: within the term they count as its own evidence (docs/verification.md). 404 for
    an unknown agent; 422 for a term that ends before it starts or an agent that is the
    principal itself."""
    api, who = state(request), caller(request)
    p = api.platform
    today = p.clock.today()
    agent = onboarding.org_id(uow_factory=p.uow_factory, ref=body.agent)
    if agent == who.org_id:
        raise DomainValueError("agent: an organisation needs no mandate from itself")
    start = body.valid_from or today
    if body.valid_to is not None and body.valid_to < start:
        raise DomainValueError(f"valid_to {body.valid_to} is before valid_from {start}")
    mandate = evidence.grant_mandate(
        uow_factory=p.uow_factory, principal_id=who.org_id, agent_id=agent,
        kinds=body.kinds, valid_from=start, valid_to=body.valid_to, note=body.note.strip(),
        today=today,
    )  # fmt: skip
    return _out(api, mandate)


@route(router, "GET", "/mandates", "mandates.read")
def list_mandates(request: Request) -> list[MandateOut]:
    """The mandates the caller's organisation is principal or agent of, oldest first, revoked
    ones included (the operator: every mandate)."""
    api, who = state(request), caller(request)
    found = evidence.list_mandates(
        uow_factory=api.platform.uow_factory, org=None if _sees_all(who) else who.org_id
    )
    return [_out(api, m) for m in found]


@route(router, "POST", "/mandates/{mandate_id}/revocation", "mandates.revoke")
def revoke_mandate(request: Request, mandate_id: str, body: MandateRevocationIn) -> MandateOut:
    """The principal (or the platform operator) revokes a mandate from ``on`` (default
    today): the agent's documents of that day or later no longer count as the principal's.
    403 for the agent; 404 for a mandate the caller has no part in; 409 when revoked
    already."""
    api, who = state(request), caller(request)
    p = api.platform
    with p.uow_factory() as uow:
        found = uow.mandates.get(mandate_id)
    if found is None or not (_sees_all(who) or who.org_id in (found.principal_id, found.agent_id)):
        raise NotFoundError(f"mandate {mandate_id} does not exist")
    revoked = evidence.revoke_mandate(
        uow_factory=p.uow_factory, mandate_id=mandate_id, actor_id=who.org_id,
        reason=body.reason, on=body.on or p.clock.today(),
    )  # fmt: skip
    return _out(api, revoked)


class ClearanceIn(Strict):
    reason: str = Field(min_length=1, max_length=2000, description="Why it is explained.")
    officer: str | None = Field(
        default=None, max_length=200, description="The officer who decided (default: the caller)."
    )
    as_of: dt.date | None = Field(default=None, description="Business day (default today).")


class SignalOut(BaseModel):
    code: str
    message: str


class ClearanceOut(BaseModel):
    trade: str
    code: str
    cleared_by: str
    cleared_by_name: str
    person: str | None
    on: dt.date
    reason: str


class SignalsOut(BaseModel):
    trade: str
    as_of: dt.date
    open: list[SignalOut]
    cleared: list[ClearanceOut]


def _clearance(api: ApiState, c: SignalClearance) -> ClearanceOut:
    with api.platform.uow_factory() as uow:
        org = uow.organisations.get(c.cleared_by)
    return ClearanceOut(
        trade=c.trade_id, code=c.code, cleared_by=c.cleared_by,
        cleared_by_name=org.name if org else c.cleared_by, person=c.person, on=c.on_day,
        reason=c.reason,
    )  # fmt: skip


@route(router, "GET", "/trades/{trade_id}/signals", "signals.read")
def trade_signals(request: Request, trade_id: str, as_of: dt.date | None = None) -> SignalsOut:
    """A trade's open fraud signals as of ``as_of`` (default today; a platform-wide scan) and
    the clearances recorded on it. 404 for a trade that does not exist."""
    api = state(request)
    p = api.platform
    day = as_of or p.clock.today()
    cleared = evidence.signal_clearances(uow_factory=p.uow_factory, trade_id=trade_id)
    found = evidence.open_signals(uow_factory=p.uow_factory, trade_id=trade_id, as_of=day)
    return SignalsOut(
        trade=trade_id, as_of=day,
        open=[SignalOut(code=s.fraud.value, message=s.message) for s in found],
        cleared=[_clearance(api, c) for c in cleared],
    )  # fmt: skip


@route(router, "POST", "/trades/{trade_id}/signals/{code}/clearance", "signals.clear")
def clear_signal(request: Request, trade_id: str, code: str, body: ClearanceIn) -> ClearanceOut:
    """The operator clears one open fraud signal of a trade: the reason, the officer (default:
    the caller) and the day are recorded; the signal no longer gates issuance and financing.
    404 for a trade that does not exist; 422 for a signal not open on it or a blank reason."""
    api, who = state(request), caller(request)
    p = api.platform
    evidence.signal_clearances(uow_factory=p.uow_factory, trade_id=trade_id)  # 404 if none
    if not body.reason.strip():
        raise DomainValueError("reason: say why the signal is explained")
    officer = (body.officer or "").strip() or who.person
    clearance = evidence.clear_signal(
        uow_factory=p.uow_factory, operator_id=who.org_id, trade_id=trade_id, code=code,
        reason=body.reason, as_of=body.as_of or p.clock.today(), person=officer,
    )  # fmt: skip
    return _clearance(api, clearance)
