"""Scenario platforms as tenants (issue 16 item 5): FourFlow's operator creates a platform
run by a local government; that local government admits members, names the banks taking part
and reads its platform's figures; banks add their products; the regulator sees every platform.
Another platform's objects answer 404 (``services.scenario_platforms``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from fourflow.domain.identity import KYC_CHECKS, Principal
from fourflow.domain.money import Money
from fourflow.domain.scenarios import Scenario
from fourflow.entrypoints.api.identity_routes import (
    ApplicationOut,
    ReviewIn,
    ReviewOut,
    admit_node,
    application_out,
    checked_node_network,
)
from fourflow.entrypoints.api.routing import caller, route, state
from fourflow.services import platform_registration
from fourflow.services import scenario_platforms as sp

router = APIRouter()

Short = Field(min_length=1, max_length=sp.MAX_NAME)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlatformIn(Strict):
    name: str = Short
    operator: str = Field(
        min_length=1, max_length=200, description="The local government (org id or USCC)."
    )
    scenarios: list[Scenario] = Field(min_length=1, max_length=len(Scenario))
    region: str = Field(default="", max_length=200)


class MemberIn(Strict):
    org: str = Field(min_length=1, max_length=200, description="Organisation id or USCC.")
    checks: dict[str, bool] = Field(description=f"The KYC checks done: {', '.join(KYC_CHECKS)}")
    note: str = Field(min_length=1, max_length=2000)


class BankIn(Strict):
    bank: str = Field(min_length=1, max_length=200, description="The bank's org id or USCC.")


class ProductIn(Strict):
    bank: str | None = Field(
        default=None, max_length=200, description="The bank (a bank adding its own: omit)."
    )
    name: str = Short
    scenario: Scenario
    max_amount: str = Field(min_length=1, max_length=40, description="Decimal, e.g. 5000000.00")
    currency: str = Field(default="CNY", min_length=3, max_length=3)
    max_term_days: int = Field(ge=1, le=3650)


class PlatformOut(BaseModel):
    id: str
    name: str
    operator_org_id: str
    scenarios: list[str]
    region: str
    created_at: dt.datetime


class MemberOut(BaseModel):
    org_id: str
    name: str
    kyc: dict[str, Any] | None = Field(
        description="The KYC review (the platform's local government, the regulator and the "
        "operator see it; members and banks: null)."
    )
    admitted_by: str | None
    admitted_at: dt.datetime


class BankOut(BaseModel):
    bank_id: str
    name: str
    added_at: dt.datetime


class ProductOut(BaseModel):
    id: str
    bank_id: str
    name: str
    scenario: str
    currency: str
    max_amount: str
    max_term_days: int
    created_at: dt.datetime


class PlatformDetailOut(PlatformOut):
    operator_name: str
    members: list[MemberOut]
    banks: list[BankOut]
    products: list[ProductOut]


def _platform(p: sp.ScenarioPlatform) -> PlatformOut:
    return PlatformOut(
        id=p.id, name=p.name, operator_org_id=p.operator_org_id,
        scenarios=[s.value for s in p.scenarios], region=p.region, created_at=p.created_at,
    )  # fmt: skip


def _product(p: sp.PlatformProduct) -> ProductOut:
    return ProductOut(
        id=p.id, bank_id=p.bank_id, name=p.name, scenario=p.scenario.value, currency=p.currency,
        max_amount=Money.from_minor(p.max_amount, p.currency).plain(),
        max_term_days=p.max_term_days, created_at=p.created_at,
    )  # fmt: skip


def _member(m: sp.PlatformMember, name: str, *, review: bool = True) -> MemberOut:
    return MemberOut(
        org_id=m.org_id, name=name, kyc=dict(m.kyc) if review else None,
        admitted_by=m.admitted_by if review else None, admitted_at=m.admitted_at,
    )  # fmt: skip


def _viewer(who: Principal) -> sp.Viewer:
    return sp.Viewer(who.org_id, who.org_types)


def _now(request: Request) -> dt.datetime:
    return state(request).platform.identities.clock.now()


@route(router, "POST", "/platforms", "platforms.create", status_code=201)
def create_platform(request: Request, body: PlatformIn) -> PlatformOut:
    """FourFlow's operator creates a scenario platform run by a local government."""
    api = state(request)
    created = sp.create(
        api.platform.scenario_platforms, api.platform.uow_factory, name=body.name,
        operator=body.operator, scenarios=[s.value for s in body.scenarios], region=body.region,
        by=caller(request).person, now=_now(request),
    )  # fmt: skip
    return _platform(created)


@route(router, "GET", "/platforms", "platforms.read")
def list_platforms(request: Request) -> list[PlatformOut]:
    """The platforms the caller may see (the regulator: all; a local government: those it
    runs; a bank: those it takes part in; others: those they are members of)."""
    store = state(request).platform.scenario_platforms
    return [_platform(p) for p in sp.visible(store, _viewer(caller(request)))]


@route(router, "GET", "/platforms/{platform_id}", "platforms.read")
def show_platform(request: Request, platform_id: str) -> PlatformDetailOut:
    """A platform with its members, banks and products (the members' KYC reviews for its
    local government, the regulator and the operator only)."""
    api = state(request)
    viewer = _viewer(caller(request))
    view = sp.details(
        api.platform.scenario_platforms, api.platform.uow_factory, viewer=viewer,
        platform_id=platform_id,
    )  # fmt: skip
    review = sp.oversees(viewer, view.platform)
    return PlatformDetailOut(
        **_platform(view.platform).model_dump(),
        operator_name=view.operator_name,
        members=[_member(m, n, review=review) for m, n in view.members],
        banks=[BankOut(bank_id=b.bank_id, name=n, added_at=b.added_at) for b, n in view.banks],
        products=[_product(p) for p in view.products],
    )


@route(router, "GET", "/platforms/{platform_id}/figures", "platforms.figures")
def platform_figures(
    request: Request, platform_id: str, as_of: dt.date | None = None
) -> dict[str, Any]:
    """The platform's figures: members, banks, products; trades between its members in its
    scenarios, their items (issued, outstanding, settled, overdue) and financings by its
    banks (financed, declined, referred), amounts per currency."""
    api = state(request)
    found = sp.figures(
        api.platform.scenario_platforms, api.platform.uow_factory,
        viewer=_viewer(caller(request)), platform_id=platform_id,
        as_of=as_of or api.platform.clock.today(),
    )  # fmt: skip
    return found.as_dict()


@route(router, "GET", "/platforms/{platform_id}/trades", "platforms.figures")
def platform_trades(
    request: Request, platform_id: str, as_of: dt.date | None = None
) -> list[dict[str, Any]]:
    """The trades behind the platform's figures (between two of its members, in its
    scenarios), with their items and their financings by its banks: the drill-down of whoever
    reads the figures."""
    api = state(request)
    return sp.trades(
        api.platform.scenario_platforms, api.platform.uow_factory,
        viewer=_viewer(caller(request)), platform_id=platform_id,
        as_of=as_of or api.platform.clock.today(),
    )  # fmt: skip


@route(router, "POST", "/platforms/{platform_id}/members", "platforms.admit", status_code=201)
def admit_member(request: Request, platform_id: str, body: MemberIn) -> MemberOut:
    """The platform's local government admits an organisation of FourFlow after a KYC
    review, recorded against the platform."""
    api = state(request)
    who = caller(request)
    member = sp.admit(
        api.platform.scenario_platforms, api.platform.uow_factory, viewer=_viewer(who),
        platform_id=platform_id, org=body.org, checks=body.checks, note=body.note,
        by=who.person, now=_now(request),
    )  # fmt: skip
    with api.platform.uow_factory() as uow:
        org = uow.organisations.get(member.org_id)
    return _member(member, org.name if org else member.org_id)


@route(router, "GET", "/platforms/{platform_id}/registrations", "platforms.applications.list")
def platform_registrations(
    request: Request, platform_id: str, status: str | None = None
) -> list[ApplicationOut]:
    """The applications to the platform (``POST /registrations`` with its ``platform_id``),
    oldest first, for its local government (``status``: pending, admitted, rejected)."""
    api = state(request)
    found = platform_registration.applications(
        api.platform.identities, api.platform.scenario_platforms,
        viewer=_viewer(caller(request)), platform_id=platform_id, status=status,
    )  # fmt: skip
    return [application_out(a) for a in found]


@route(
    router,
    "POST",
    "/platforms/{platform_id}/registrations/{application_id}/review",
    "platforms.applications.review",
)
def review_platform_registration(
    request: Request, platform_id: str, application_id: str, body: ReviewIn
) -> ReviewOut:
    """The platform's local government reviews an application to its platform, once and
    recorded: admitted, the organisation is a member of FourFlow (its own chain account, its
    admission put on the chain) and of the platform, and its first user its admin; with
    ``node_enode`` its node joins the consortium's development network and the Registry
    records it (checked first: refused, nothing changes)."""
    api = state(request)
    who = caller(request)
    net = checked_node_network(api, body)
    with api.chain_lock:  # one review of an application at a time, across API processes
        reviewed = platform_registration.review(
            api.platform.identities, api.platform.scenario_platforms, viewer=_viewer(who),
            reviewer=who, platform_id=platform_id, application_id=application_id,
            admit=body.admit, checks=body.checks, note=body.note,
        )  # fmt: skip
        node = admit_node(api, reviewed, net, body.node_enode)
    return ReviewOut(**application_out(reviewed).model_dump(), node=node)


@route(router, "POST", "/platforms/{platform_id}/banks", "platforms.banks", status_code=201)
def add_bank(request: Request, platform_id: str, body: BankIn) -> BankOut:
    """The platform's local government names a bank taking part in it."""
    api = state(request)
    who = caller(request)
    added = sp.add_bank(
        api.platform.scenario_platforms, api.platform.uow_factory, viewer=_viewer(who),
        platform_id=platform_id, bank=body.bank, by=who.person, now=_now(request),
    )  # fmt: skip
    with api.platform.uow_factory() as uow:
        org = uow.organisations.get(added.bank_id)
    return BankOut(
        bank_id=added.bank_id, name=org.name if org else added.bank_id, added_at=added.added_at
    )


@route(router, "POST", "/platforms/{platform_id}/products", "platforms.products", status_code=201)
def add_product(request: Request, platform_id: str, body: ProductIn) -> ProductOut:
    """A participating bank adds its financing product (or the local government adds one,
    naming the bank)."""
    api = state(request)
    who = caller(request)
    bank_id = body.bank
    if bank_id:
        with api.platform.uow_factory() as uow:
            found = uow.organisations.get(bank_id) or uow.organisations.by_uscc(bank_id.upper())
        bank_id = found.id if found else bank_id
    product = sp.add_product(
        api.platform.scenario_platforms, viewer=_viewer(who), platform_id=platform_id,
        bank_id=bank_id, name=body.name, scenario=body.scenario.value,
        max_amount=body.max_amount, currency=body.currency, max_term_days=body.max_term_days,
        by=who.person, now=_now(request),
    )  # fmt: skip
    return _product(product)
