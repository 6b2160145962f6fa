"""The supervision answers kept per store state (``supervision_views``' cache on PostgreSQL):
a repeated request and every page of a drill-down answer exactly what a fresh computation
(a unit-of-work factory without a change mark: nothing kept) answers on the same data, and a
write committed afterwards gives the new answer, never the kept one."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from fourflow.adapters.chain.node import AnvilNode
from fourflow.domain.identity import OrgType
from fourflow.services import scenario_platforms as sp
from fourflow.services import supervision_views as views
from fourflow.services.ports import UnitOfWork, UnitOfWorkFactory
from tests.api.test_supervision import World, built_world
from tests.api.world import API, Person, documents_by_issuer, ok
from tests.store.fixtures import pg_schema_url, require_postgres

pytestmark = [
    pytest.mark.chain,
    pytest.mark.postgres,
    pytest.mark.xdist_group("api-supervision-cache"),
]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, anvil: AnvilNode) -> Iterator[World]:
    """The supervision tests' world on PostgreSQL (a schema of its own)."""
    home: Path = tmp_path_factory.mktemp("supervision-cache") / "home"
    with pg_schema_url(require_postgres()) as url, built_world(home, url, anvil.url) as found:
        yield found


def _json(value: Any) -> Any:
    return json.loads(json.dumps(value))


def _get(world: World, path: str, who: Person, **params: Any) -> Any:
    return ok(world.client.get(f"{API}{path}", params=params, headers=who.auth))


def _fresh(world: World) -> Any:
    """The store's unit-of-work factory without its change mark: nothing is kept."""

    def factory() -> UnitOfWork:
        return world.platform.uow_factory()

    return factory


def _drill_downs(world: World) -> list[tuple[str, str | None]]:
    p = world.parties
    keyed = {
        "term": ["<=90", ">365"],
        "tier": ["1", "0", "none"],
        "core": [p["core"].org_id],
        "bank": [p["bank"].org_id],
    }
    return [(f, k) for f in views.FIGURES for k in keyed.get(f, [None])]


def _compare(world: World, who: Person, viewer: sp.Viewer, platform_id: str | None) -> None:
    """Each answer twice over HTTP (cold, then kept) against a fresh computation."""
    p = world.platform
    as_of = p.clock.today()
    scope = {"platform_id": platform_id} if platform_id else {}
    fresh = _fresh(world)
    views.clear_cache()
    first = _get(world, "/supervision/figures", who, **scope)
    kept = _get(world, "/supervision/figures", who, **scope)
    expected = views.figures(
        p.scenario_platforms, fresh, viewer=viewer, platform_id=platform_id, scenario=None,
        as_of=as_of,
    )  # fmt: skip
    assert first == kept == _json(expected)
    assert first["all"]["trades"] >= 1 and first["all"]["financing"]["issued"]["count"] == 1
    for figure, key in _drill_downs(world):
        for offset in (0, 1):
            params = {"figure": figure, "offset": offset, "limit": 1, **scope}
            if key is not None:
                params["key"] = key
            got = [_get(world, "/supervision/trades", who, **params) for _ in range(2)]
            want = views.trades(
                p.scenario_platforms, fresh, viewer=viewer, platform_id=platform_id,
                scenario=None, figure=figure, key=key, offset=offset, limit=1, as_of=as_of,
            )  # fmt: skip
            assert got[0] == got[1] == _json(want), (figure, key, offset)
    network = [_get(world, "/supervision/network", who, **scope) for _ in range(2)]
    want_network = views.network(
        p.scenario_platforms, fresh, viewer=viewer, platform_id=platform_id, scenario=None
    )
    assert network[0] == network[1] == _json(want_network)


def test_kept_answers_equal_a_fresh_computation(world: World) -> None:
    assert isinstance(views._mark(world.platform.uow_factory), str)  # PostgreSQL: kept
    regulator = world.parties["regulator"]
    district = world.parties["district"]
    _compare(
        world, regulator.admin, sp.Viewer(regulator.org_id, frozenset({OrgType.REGULATOR})), None
    )
    assert views._CACHE, "nothing was kept"
    _compare(
        world,
        district.admin,
        sp.Viewer(district.org_id, frozenset({OrgType.LOCAL_GOVERNMENT})),
        world.a,
    )


def test_a_write_gives_the_new_answer_not_the_kept_one(world: World) -> None:
    regulator = world.parties["regulator"]
    who = regulator.admin
    before = _get(world, "/supervision/figures", who)
    page = _get(world, "/supervision/trades", who, figure="trades", limit=5)
    net = _get(world, "/supervision/network", who)
    assert _get(world, "/supervision/figures", who) == before  # kept (or recomputed): same
    mark = views._mark(world.platform.uow_factory)
    start = world.start + dt.timedelta(days=3)
    for key, raw in documents_by_issuer("SUPC", start):  # a second trade tier1 -> core
        ok(world.client.post(f"{API}/documents", content=raw,
                             headers=world.parties[key].admin.auth), 201)  # fmt: skip
    after = _get(world, "/supervision/figures", who)
    assert after["all"]["trades"] == before["all"]["trades"] + 1
    later = _get(world, "/supervision/trades", who, figure="trades", limit=5)
    assert later["total"] == page["total"] + 1
    assert {r["trade_id"] for r in later["rows"]} > {r["trade_id"] for r in page["rows"]}
    edges = {(e["source"], e["target"]): e["trades"] for e in net["edges"]}
    tier1, core = world.parties["tier1"].org_id, world.parties["core"].org_id
    now = _get(world, "/supervision/network", who)
    assert {(e["source"], e["target"]): e["trades"] for e in now["edges"]}[(tier1, core)] == (
        edges[(tier1, core)] + 1
    )
    viewer = sp.Viewer(regulator.org_id, frozenset({OrgType.REGULATOR}))
    fresh = views.figures(
        world.platform.scenario_platforms, _fresh(world), viewer=viewer, platform_id=None,
        scenario=None, as_of=world.platform.clock.today(),
    )  # fmt: skip
    assert after == _json(fresh)
    assert views._mark(world.platform.uow_factory) != mark


def test_the_regulators_audited_reads_keep_the_mark(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each GET of the regulator writes an audit row (a committed write): the mark counts only
    the tables the views read, so the next requests are answered from what was kept (the
    store is not read again)."""
    who = world.parties["regulator"].admin
    engine = world.platform.engine

    def audited() -> int:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM api_audit")).scalar_one())

    first = _get(world, "/supervision/figures", who)
    mark = views._mark(world.platform.uow_factory)
    rows = audited()
    loads: list[object] = []
    real = views._load

    def counted(uow_factory: UnitOfWorkFactory, scope: views.Scope, as_of: dt.date) -> object:
        loads.append((uow_factory, scope, as_of))
        return real(uow_factory, scope, as_of)

    monkeypatch.setattr(views, "_load", counted)
    assert _get(world, "/supervision/figures", who) == first
    _get(world, "/supervision/trades", who, figure="trades", limit=5)
    _get(world, "/supervision/trades", who, figure="trades", limit=5, offset=5)
    assert audited() > rows  # the reads were audited (written)
    assert views._mark(world.platform.uow_factory) == mark
    assert loads == []  # nothing computed again
