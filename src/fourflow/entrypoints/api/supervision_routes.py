"""Supervision (issue 17 item 5): the figures of the whole platform or of one scenario
platform, by scenario and by platform; the trades behind each figure, paginated; a trade's
on-chain evidence; the fraud and model alerts; the supply network by tier.

The regulator and FourFlow's operator read the whole platform (no ``platform_id``) or any
scenario platform; a local government only the platforms it runs (another answers 404; the
whole platform 403). Computed by ``services.supervision_views``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from fourflow.entrypoints.api.routing import caller, route, state
from fourflow.services import scenario_platforms as sp
from fourflow.services import supervision_views as views

router = APIRouter()

PlatformQ = Annotated[
    str | None,
    Query(max_length=64, description="A scenario platform (omit: the whole platform)."),
]
ScenarioQ = Annotated[str | None, Query(max_length=40, description="Only this scenario.")]


def _viewer(request: Request) -> sp.Viewer:
    who = caller(request)
    return sp.Viewer(who.org_id, who.org_types)


def _as_of(request: Request, as_of: dt.date | None) -> dt.date:
    return as_of or state(request).platform.clock.today()


@route(router, "GET", "/supervision/figures", "supervision.read")
def supervision_figures(
    request: Request,
    platform_id: PlatformQ = None,
    scenario: ScenarioQ = None,
    as_of: dt.date | None = None,
    settlement: Annotated[
        bool, Query(description="Whole platform: add the settlement figures (slower).")
    ] = False,
) -> dict[str, Any]:
    """The figures in scope (``all``, ``by_scenario``; the whole platform also
    ``by_platform``, and ``settlement`` when asked): enterprises registered and financed,
    SMEs financed by tier, trades verified and failed, items, financing issued, outstanding
    and settled, declined and referred, rates, overdue and non-performing ratios, days to pay
    against the 60-day rule, the term distribution, concentration by core enterprise and by
    bank, the model alerts. Amounts are decimal strings per currency."""
    p = state(request).platform
    return views.figures(
        p.scenario_platforms, p.uow_factory, viewer=_viewer(request),
        platform_id=platform_id, scenario=scenario, as_of=_as_of(request, as_of),
        settlement=settlement,
    )  # fmt: skip


@route(router, "GET", "/supervision/alerts", "supervision.read")
def supervision_alerts(
    request: Request,
    platform_id: PlatformQ = None,
    scenario: ScenarioQ = None,
    as_of: dt.date | None = None,
) -> dict[str, Any]:
    """The fraud signals on the trades in scope (every detector, by type) and the risk
    engine's model alerts (drift, performance)."""
    p = state(request).platform
    return views.fraud_alerts(
        p.scenario_platforms, p.uow_factory, viewer=_viewer(request),
        platform_id=platform_id, scenario=scenario, as_of=_as_of(request, as_of),
    )  # fmt: skip


@route(router, "GET", "/supervision/trades", "supervision.read")
def supervision_trades(
    request: Request,
    figure: Annotated[str, Query(max_length=40, description=f"One of {list(views.FIGURES)}.")],
    key: Annotated[
        str | None,
        Query(
            max_length=64,
            description="term: a bucket; tier: a number or none; core, bank: an organisation id.",
        ),
    ] = None,
    platform_id: PlatformQ = None,
    scenario: ScenarioQ = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=views.MAX_PAGE)] = 20,
    as_of: dt.date | None = None,
) -> dict[str, Any]:
    """The trades behind a figure, newest first, a page at a time (``total`` says how many),
    each with its items and financings."""
    p = state(request).platform
    return views.trades(
        p.scenario_platforms, p.uow_factory, viewer=_viewer(request),
        platform_id=platform_id, scenario=scenario, figure=figure, key=key, offset=offset,
        limit=limit, as_of=_as_of(request, as_of),
    )  # fmt: skip


@route(router, "GET", "/supervision/trades/{trade_id}/evidence", "supervision.read")
def supervision_evidence(
    request: Request, trade_id: str, platform_id: PlatformQ = None, as_of: dt.date | None = None
) -> dict[str, Any]:
    """A trade's evidence: its documents' fingerprints and anchors on the chain, the
    verification, its item's and financings' chain operations (outside the scope: 404)."""
    p = state(request).platform
    return views.evidence(
        p.scenario_platforms, p.uow_factory, viewer=_viewer(request),
        platform_id=platform_id, trade_id=trade_id, as_of=_as_of(request, as_of),
    )  # fmt: skip


@route(router, "GET", "/supervision/network", "supervision.read")
def supervision_network(
    request: Request, platform_id: PlatformQ = None, scenario: ScenarioQ = None
) -> dict[str, Any]:
    """The supply network in scope: organisations (type, tier = distance from the nearest
    core enterprise), trades between them (seller -> buyer, how many), organisations per
    tier."""
    p = state(request).platform
    return views.network(
        p.scenario_platforms, p.uow_factory, viewer=_viewer(request),
        platform_id=platform_id, scenario=scenario,
    )  # fmt: skip
