"""What supervisors see (issue 17 item 5): the figures of the whole platform or of one scenario
platform, by scenario; the trades behind each figure (paginated); each trade's evidence
(document fingerprints and anchors, the item's and the financings' chain operations); the supply
network by tier.

Scope: the regulator and FourFlow's operator see everything (``platform_id`` None) or any
scenario platform; a local government only the platforms it runs (another answers 404, as if
it did not exist; the whole platform is refused, 403). A platform's scope is its trades between
two of its members in its scenarios, their items and those items' financings by its banks
(``scenario_platforms``). Figures reuse ``supervision`` (term buckets, the 60-day rule),
``settlement_figures`` (payment on its day, whole platform), ``fraud`` (signals) and the risk
engine's monitoring alerts (model drift and performance).

Tier: an organisation's distance from the nearest core enterprise along the trades (a supplier
selling to a core enterprise is tier 1, its own supplier tier 2), computed with networkx over
the trades in scope; a core enterprise is tier 0, an organisation with no path to one has none.

Cache: a unit-of-work factory with a ``change_mark()`` (``SqlUnitOfWorkFactory``: the store and
a count of the committed changes of the tables these views read, kept by triggers, migration
0026) lets this process compute a scope's records, facts, figures and each drill-down's trade
list once per state of those tables: the mark is read before the store, and an answer is kept
under the mark (with the scope, the date and the grace days), so a repeated request and every
page of a drill-down reuse one computation until a write of those tables commits (a new mark).
Writes elsewhere (the API's audit row of each GET, the outbox, sessions) keep the mark. The
scenario platforms' store is read on every request (the scope), and lives in the same database.
Without a mark every request computes afresh.
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import networkx as nx

from fourflow.domain.debt import DebtItem, ItemStatus
from fourflow.domain.errors import DomainValueError, NotFoundError, PermissionDeniedError
from fourflow.domain.financing import Financing, FinancingStatus
from fourflow.domain.identity import OrgType, org_types
from fourflow.domain.money import Money
from fourflow.domain.parties import Organisation, Role
from fourflow.domain.scenarios import Scenario
from fourflow.services import fraud, settlement_figures
from fourflow.services import scenario_platforms as sp
from fourflow.services.ports import TradePair, TradeQuery, TradeRecord, UnitOfWorkFactory
from fourflow.services.supervision import (
    DEFAULT_GRACE_DAYS,
    SME_PAYMENT_DAYS,
    TERM_BUCKETS,
    term_bucket,
)

#: Non-performing: defaulted, or overdue more than this many days (the settlement figures'
#: last overdue band).
NON_PERFORMING_DAYS = 90
#: Rows per page of a drill-down, at most.
MAX_PAGE = 200
FINANCED = frozenset(
    {
        FinancingStatus.APPROVED,
        FinancingStatus.ACTIVE,
        FinancingStatus.REPAID,
        FinancingStatus.DEFAULTED,
    }
)
LIVE = frozenset({FinancingStatus.APPROVED, FinancingStatus.ACTIVE, FinancingStatus.DEFAULTED})
ENTERPRISE_TYPES = frozenset({OrgType.ENTERPRISE, OrgType.CORE_ENTERPRISE})
#: The verification statuses counted as verified.
VERIFIED = ("verified", "partial")
#: The figures a drill-down names (``figure``; some take a ``key``).
FIGURES = (
    "trades", "verified", "failed", "items", "financed", "outstanding", "settled", "declined",
    "referred", "overdue", "non_performing", "over_60", "term", "tier", "core", "bank",
    "alerts",
)  # fmt: skip


# ----------------------------------------------------------------------------- scope


@dataclass(frozen=True, slots=True)
class Scope:
    """What a viewer asked about: the whole platform (``platform`` None) or one scenario
    platform, and optionally one scenario."""

    platform: sp.ScenarioPlatform | None
    scenario: str | None
    members: frozenset[str] | None  # a platform's members (None: everyone)
    banks: frozenset[str] | None


def scope_for(
    store: sp.PlatformStore, *, viewer: sp.Viewer, platform_id: str | None, scenario: str | None
) -> Scope:
    """The scope ``viewer`` may read: a local government names its platform; the regulator and
    the operator may name none (the whole platform) or any."""
    if scenario is not None and scenario not in _scenario_values():
        raise DomainValueError(f"scenario {scenario!r}: one of {sorted(_scenario_values())}")
    if platform_id is None:
        if not viewer.types & {OrgType.REGULATOR, OrgType.PLATFORM_OPERATOR}:
            raise PermissionDeniedError(
                "a local government reads the figures of the platform it runs: give platform_id"
            )
        return Scope(None, scenario, None, None)
    platform = sp.platform_for(store, viewer, platform_id)
    if not sp.oversees(viewer, platform):
        raise NotFoundError(f"scenario platform {platform_id} not found")
    members = frozenset(m.org_id for m in store.members(platform.id))
    banks = frozenset(b.bank_id for b in store.banks(platform.id))
    return Scope(platform, scenario, members, banks)


def _scenario_values() -> set[str]:
    return {s.value for s in Scenario}


@dataclass(frozen=True, slots=True)
class _Data:
    """The records in scope, read once: every trade counted by seller, buyer, scenario and
    status (``pairs``, in SQL), and only the trades with an item (``trades``, oldest first)."""

    pairs: list[TradePair]
    trades: dict[str, TradeRecord]
    items: list[DebtItem]
    financings: list[Financing]
    orgs: dict[str, Organisation]
    last_paid: dict[str, dt.date]
    as_of: dt.date


def _in_scope(scope: Scope, trade: TradeRecord | TradePair) -> bool:
    if scope.scenario is not None and trade.scenario.value != scope.scenario:
        return False
    if scope.platform is None or scope.members is None:
        return True
    return (
        trade.seller_id in scope.members
        and trade.buyer_id in scope.members
        and trade.scenario in scope.platform.scenarios
    )


#: Answers kept per (store mark, what was asked), the newest last; at most this many.
CACHE_SIZE = 64
_CACHE: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_CACHE_LOCK = threading.Lock()
#: The answers being computed: a lock each, held by the computing request.
_COMPUTING: dict[tuple[Any, ...], threading.Lock] = {}


def _mark(uow_factory: UnitOfWorkFactory) -> str | None:
    """The store's change mark (``SqlUnitOfWorkFactory.change_mark``), or None: no cache."""
    read = getattr(uow_factory, "change_mark", None)
    found = read() if callable(read) else None
    return found if isinstance(found, str) else None


def _cached(key: tuple[Any, ...] | None, compute: Callable[[], Any]) -> Any:
    """``compute()``, kept under ``key`` (None: not kept); answers of older marks are dropped.
    Computed once however many requests ask at the same time: a page asks for its figures and
    its drill-down's first page at once, and both need the scope's records (``_scoped``);
    the later caller waits for the first one's answer instead of computing it again beside it
    (two computations on the same cores take about twice as long each)."""
    if key is None:
        return compute()
    with _CACHE_LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
        computing = _COMPUTING.setdefault(key, threading.Lock())
    with computing:
        with _CACHE_LOCK:
            if key in _CACHE:  # computed by the caller this one waited for
                _CACHE.move_to_end(key)
                return _CACHE[key]
        try:
            found = compute()
        except BaseException:
            with _CACHE_LOCK:
                _COMPUTING.pop(key, None)  # a waiting caller computes it itself
            raise
        with _CACHE_LOCK:
            _COMPUTING.pop(key, None)
            for old in [k for k in _CACHE if k[0] != key[0]]:
                del _CACHE[old]
            _CACHE[key] = found
            while len(_CACHE) > CACHE_SIZE:
                _CACHE.popitem(last=False)
    return found


def clear_cache() -> None:
    """Forget every kept answer (tests compare a cold computation with a kept one)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def _scope_key(scope: Scope) -> tuple[Any, ...]:
    platform = scope.platform
    return (
        None
        if platform is None
        else (platform.id, tuple(sorted(s.value for s in platform.scenarios))),
        scope.scenario,
        scope.members,
        scope.banks,
    )


def _key(mark: str | None, scope: Scope, *rest: Any) -> tuple[Any, ...] | None:
    return None if mark is None else (mark, _scope_key(scope), *rest)


def _scoped(
    uow_factory: UnitOfWorkFactory, scope: Scope, as_of: dt.date, grace: int, mark: str | None
) -> tuple[_Data, _Facts]:
    """The records in scope and their facts, computed once per store mark."""

    def compute() -> tuple[_Data, _Facts]:
        data = _load(uow_factory, scope, as_of)
        return data, _facts(data, grace)

    found: tuple[_Data, _Facts] = _cached(_key(mark, scope, "data", as_of, grace), compute)
    return found


def _load(uow_factory: UnitOfWorkFactory, scope: Scope, as_of: dt.date) -> _Data:
    """The trades counted in SQL (``Trades.pairs``), not read one by one: only those with an
    item are (a few hundred where there are tens of thousands of trades)."""
    with uow_factory() as uow:
        pairs = [p for p in uow.trades.pairs() if _in_scope(scope, p)]
        every = uow.items.list()
        trades = {
            t.id: t for t in uow.trades.verdicts([i.trade_id for i in every])
            if _in_scope(scope, t)
        }  # fmt: skip
        items = [i for i in every if i.trade_id in trades]
        ids = {i.id for i in items}
        financings = [
            f for f in uow.financings.list()
            if f.item_id in ids and (scope.banks is None or f.bank_id in scope.banks)
        ]  # fmt: skip
        orgs = {o.id: o for o in uow.organisations.list()}
        last_paid: dict[str, dt.date] = {}
        for r in uow.repayments.list():
            if r.item_id in ids and r.value_date <= as_of:
                last_paid[r.item_id] = max(r.value_date, last_paid.get(r.item_id, r.value_date))
    return _Data(pairs, trades, items, financings, orgs, last_paid, as_of)


# ----------------------------------------------------------------------------- tiers


def tiers(
    trades: Iterable[TradeRecord | TradePair], orgs: dict[str, Organisation]
) -> dict[str, int]:
    """Organisation id -> tier: 0 for a core enterprise trading in scope, n for a seller n
    trades up the supply chain from the nearest one (networkx, multi-source shortest paths
    on the buyer -> seller graph; a trade or a pair of ``Trades.pairs``, the same edges).
    Organisations with no path to a core enterprise are absent."""
    graph: nx.DiGraph[str] = nx.DiGraph()
    for t in trades:
        graph.add_edge(t.buyer_id, t.seller_id)
    cores = [
        n for n in graph.nodes
        if n in orgs and orgs[n].has_role(Role.CORE_ENTERPRISE)
    ]  # fmt: skip
    if not cores:
        return {}
    found = nx.multi_source_dijkstra_path_length(graph, cores)
    return {k: int(v) for k, v in found.items()}


# ----------------------------------------------------------------------------- figures


def _money(minor: int, currency: str) -> str:
    return Money.from_minor(minor, currency).plain()


class _Sums:
    """Count and amount per currency (minor units)."""

    def __init__(self) -> None:
        self.count = 0
        self.minor: dict[str, int] = defaultdict(int)

    def add(self, minor: int, currency: str) -> None:
        self.count += 1
        self.minor[currency] += minor

    def as_dict(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "amount": {c: _money(v, c) for c, v in sorted(self.minor.items())},
        }


def _ratio(part: dict[str, int], whole: dict[str, int]) -> dict[str, float]:
    return {c: round(part.get(c, 0) / v, 4) for c, v in sorted(whole.items()) if v}


def _overdue_days(item: DebtItem, as_of: dt.date, grace: int) -> int:
    return (as_of - item.maturity_date).days - grace


@dataclass(frozen=True, slots=True)
class _Facts:
    """Per-record classification shared by the figures and the drill-down."""

    item_status: dict[str, ItemStatus]
    non_performing: set[str]  # trade ids
    financed_trades: set[str]
    tier_of: dict[str, int]
    currency_of: dict[str, str]


def _facts(data: _Data, grace: int) -> _Facts:
    status = {i.id: i.status_on(data.as_of, grace) for i in data.items}
    defaulted = {f.item_id for f in data.financings if f.status is FinancingStatus.DEFAULTED}
    item_trade = {i.id: i.trade_id for i in data.items}
    npl = {
        i.trade_id for i in data.items
        if i.id in defaulted or (status[i.id] is ItemStatus.OVERDUE
                                 and _overdue_days(i, data.as_of, grace) > NON_PERFORMING_DAYS)
    }  # fmt: skip
    financed = {item_trade[f.item_id] for f in data.financings if f.status in FINANCED}
    return _Facts(
        status,
        npl,
        financed,
        tiers(data.pairs, data.orgs),
        {i.id: i.currency for i in data.items},
    )


#: Which trades of a scope a block of figures is about (None: all of them).
Where = Callable[[TradeRecord | TradePair], bool] | None


def _block(
    data: _Data, facts: _Facts, where: Where, members: frozenset[str] | None
) -> dict[str, Any]:
    """The figures over the trades of ``data`` ``where`` says; enterprises registered: those
    of ``members`` (None: every one of FourFlow). Trades are counted from the pairs."""
    pairs = [p for p in data.pairs if where is None or where(p)]
    chosen = {t.id for t in data.trades.values() if where is None or where(t)}
    items = [i for i in data.items if i.trade_id in chosen]
    item_ids = {i.id for i in items}
    fins = [f for f in data.financings if f.item_id in item_ids]
    cur = facts.currency_of
    issued, outstanding, settled, overdue, npl = _Sums(), _Sums(), _Sums(), _Sums(), _Sums()
    terms: Counter[str] = Counter()
    days_to_pay: list[int] = []
    for i in items:
        issued.add(i.face_value, i.currency)
        terms[term_bucket((i.maturity_date - i.issue_date).days)] += 1
        st = facts.item_status[i.id]
        if st is ItemStatus.SETTLED:
            settled.add(i.paid, i.currency)
            if i.id in data.last_paid:
                days_to_pay.append((data.last_paid[i.id] - i.issue_date).days)
            continue
        outstanding.add(i.outstanding, i.currency)
        if st is ItemStatus.OVERDUE:
            overdue.add(i.outstanding, i.currency)
        if i.trade_id in facts.non_performing:
            npl.add(i.outstanding, i.currency)
    financed, fin_live, fin_repaid = _Sums(), _Sums(), _Sums()
    declined = referred = 0
    rates: list[tuple[int, int]] = []  # (rate bps, principal)
    borrowers: set[str] = set()
    by_tier: dict[int | None, dict[str, Any]] = {}
    by_core: dict[tuple[str, str], _Sums] = defaultdict(_Sums)
    by_bank: dict[tuple[str, str], _Sums] = defaultdict(_Sums)
    debtor_of = {i.id: i.debtor_id for i in items}
    for f in fins:
        if f.status is FinancingStatus.DECLINED:
            declined += 1
            continue
        if f.status is FinancingStatus.REFERRED:
            referred += 1
            continue
        if f.status not in FINANCED:
            continue
        c = cur[f.item_id]
        financed.add(f.principal, c)
        if f.status in LIVE:
            fin_live.add(f.principal, c)
        if f.status is FinancingStatus.REPAID:
            fin_repaid.add(f.principal, c)
        rates.append((f.rate_bps, f.principal))
        borrowers.add(f.borrower_id)
        tier = facts.tier_of.get(f.borrower_id)
        row = by_tier.setdefault(tier, {"borrowers": set(), "sums": _Sums()})
        row["borrowers"].add(f.borrower_id)
        row["sums"].add(f.principal, c)
        by_core[(debtor_of[f.item_id], c)].add(f.principal, c)
        by_bank[(f.bank_id, c)].add(f.principal, c)
    enterprises = [
        o for o in data.orgs.values()
        if org_types(o.roles) & ENTERPRISE_TYPES and (members is None or o.id in members)
    ]  # fmt: skip
    total_rate = sum(p for _, p in rates)
    return {
        "enterprises_registered": len(enterprises),
        "enterprises_financed": len(borrowers),
        "smes_financed_by_tier": [
            {"tier": t, "enterprises": len(v["borrowers"]), **v["sums"].as_dict()}
            for t, v in sorted(by_tier.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))
        ],
        "trades": sum(p.trades for p in pairs),
        "verified": sum(p.trades for p in pairs if p.status in VERIFIED),
        "failed": sum(p.trades for p in pairs if p.status == "failed"),
        "items": issued.as_dict(),
        "outstanding": outstanding.as_dict(),
        "settled": settled.as_dict(),
        "overdue": overdue.as_dict(),
        "overdue_ratio": _ratio(overdue.minor, outstanding.minor),
        "non_performing": npl.as_dict(),
        "non_performing_ratio": _ratio(npl.minor, outstanding.minor),
        "financing": {
            "issued": financed.as_dict(),
            "outstanding": fin_live.as_dict(),
            "settled": fin_repaid.as_dict(),
            "declined": declined,
            "referred": referred,
        },
        "rates": (
            {
                "count": len(rates),
                "mean_pct": round(sum(r for r, _ in rates) / len(rates) / 100, 4),
                "weighted_pct": round(sum(r * p for r, p in rates) / total_rate / 100, 4)
                if total_rate
                else None,
                "min_pct": min(r for r, _ in rates) / 100,
                "max_pct": max(r for r, _ in rates) / 100,
            }
            if rates
            else {
                "count": 0,
                "mean_pct": None,
                "weighted_pct": None,
                "min_pct": None,
                "max_pct": None,
            }
        ),
        "days_to_pay": {
            "settled": len(days_to_pay),
            "mean": round(sum(days_to_pay) / len(days_to_pay), 1) if days_to_pay else None,
            "within_60": sum(d <= SME_PAYMENT_DAYS for d in days_to_pay),
            "over_60": sum(d > SME_PAYMENT_DAYS for d in days_to_pay),
        },
        "term_distribution": {b: terms.get(b, 0) for b in TERM_BUCKETS},
        "concentration": {
            "core": _shares(by_core, data.orgs),
            "bank": _shares(by_bank, data.orgs),
        },
    }


def _shares(
    sums: dict[tuple[str, str], _Sums], orgs: dict[str, Organisation]
) -> list[dict[str, Any]]:
    totals: dict[str, int] = defaultdict(int)
    for (_, c), s in sums.items():
        totals[c] += s.minor[c]
    rows = [
        {"org_id": k, "name": orgs[k].name if k in orgs else k, "currency": c,
         "count": s.count, "amount": _money(s.minor[c], c),
         "share": round(s.minor[c] / totals[c], 4) if totals[c] else 0.0}
        for (k, c), s in sums.items()
    ]  # fmt: skip
    return sorted(rows, key=lambda r: (r["currency"], -float(r["share"]), r["org_id"]))


def figures(
    store: sp.PlatformStore,
    uow_factory: UnitOfWorkFactory,
    *,
    viewer: sp.Viewer,
    platform_id: str | None,
    scenario: str | None,
    as_of: dt.date,
    grace_days: int = DEFAULT_GRACE_DAYS,
    settlement: bool = False,
) -> dict[str, Any]:
    """The figures in scope: ``all`` and ``by_scenario`` blocks (``_block``); for the whole
    platform also ``by_platform`` (each scenario platform's block) and, with ``settlement``,
    the settlement figures (``settlement_figures``: one read per item, slow on a large
    platform); the model alerts (``alerts``)."""
    mark = _mark(uow_factory)
    scope = scope_for(store, viewer=viewer, platform_id=platform_id, scenario=scenario)
    key = _key(mark, scope, "figures", as_of, grace_days, settlement)
    found = _cached(
        key, lambda: _figures(store, uow_factory, scope, as_of, grace_days, settlement, mark)
    )
    return copy.deepcopy(found) if key is not None else found  # type: ignore[no-any-return]


def _figures(
    store: sp.PlatformStore,
    uow_factory: UnitOfWorkFactory,
    scope: Scope,
    as_of: dt.date,
    grace_days: int,
    settlement: bool,
    mark: str | None,
) -> dict[str, Any]:
    scenario = scope.scenario
    data, facts = _scoped(uow_factory, scope, as_of, grace_days, mark)
    by_scenario = sorted({p.scenario.value for p in data.pairs})
    out: dict[str, Any] = {
        "as_of": as_of.isoformat(),
        "platform_id": scope.platform.id if scope.platform else None,
        "scenario": scenario,
        "all": _block(data, facts, None, scope.members),
        "by_scenario": {k: _block(data, facts, _of(k), scope.members) for k in by_scenario},
    }
    if scope.platform is None:
        rows = []
        for platform in store.all():
            members = frozenset(m.org_id for m in store.members(platform.id))
            banks = frozenset(b.bank_id for b in store.banks(platform.id))
            part = Scope(platform, scenario, members, banks)
            theirs = [f for f in data.financings if f.bank_id in banks]
            sub = _Data(data.pairs, data.trades, data.items, theirs, data.orgs, data.last_paid,
                        as_of)  # fmt: skip
            block = _block(sub, facts, partial(_in_scope, part), members)
            rows.append({"platform_id": platform.id, "name": platform.name, **block})
        out["by_platform"] = rows
        if settlement:
            out["settlement"] = settlement_figures.figures(uow_factory=uow_factory, as_of=as_of)
    out["alerts"] = _model_alerts(uow_factory, scope)
    return out


def _of(scenario: str) -> Callable[[TradeRecord | TradePair], bool]:
    return lambda t: t.scenario.value == scenario


def _model_alerts(uow_factory: UnitOfWorkFactory, scope: Scope) -> dict[str, Any]:
    """The risk engine's monitoring alerts (drift, performance ...) in scope: every one for
    the whole platform, its banks' for a platform."""
    with uow_factory() as uow:
        found = [
            a for a in uow.risk_alerts.list()
            if scope.banks is None or a.bank_id is None or a.bank_id in scope.banks
        ]  # fmt: skip
    kinds = Counter(a.kind for a in found)
    latest = sorted(found, key=lambda a: a.as_of, reverse=True)[:20]
    return {
        "model": len(found),
        "model_by_kind": dict(sorted(kinds.items())),
        "model_latest": [
            {"id": a.id, "kind": a.kind, "severity": a.severity, "metric": a.metric,
             "value": a.value, "threshold": a.threshold, "model_id": a.model_id,
             "bank_id": a.bank_id, "as_of": a.as_of.isoformat(), "message": a.message}
            for a in latest
        ],
    }  # fmt: skip


def fraud_alerts(
    store: sp.PlatformStore,
    uow_factory: UnitOfWorkFactory,
    *,
    viewer: sp.Viewer,
    platform_id: str | None,
    scenario: str | None,
    as_of: dt.date,
) -> dict[str, Any]:
    """The fraud signals on the trades in scope (``fraud.fraud_signals``: every detector over
    the whole platform, cached while the store is unchanged), counted by type, and the
    model alerts."""
    scope = scope_for(store, viewer=viewer, platform_id=platform_id, scenario=scenario)
    codes = _fraud_codes(uow_factory, as_of, scope)
    by_type: Counter[str] = Counter(c for cs in codes.values() for c in cs)
    return {
        "fraud_signals": sum(len(c) for c in codes.values()),
        "trades_signalled": len(codes),
        "fraud_by_type": dict(sorted(by_type.items())),
        **_model_alerts(uow_factory, scope),
    }


def _fraud_codes(
    uow_factory: UnitOfWorkFactory, as_of: dt.date, scope: Scope
) -> dict[str, list[str]]:
    """The signals of each trade in scope with any (only the signalled trades read)."""
    found = fraud.fraud_signals_by_trade(uow_factory=uow_factory, as_of=as_of)
    signalled = [k for k, v in found.items() if v]
    with uow_factory() as uow:
        kept = {t.id for t in uow.trades.verdicts(signalled) if _in_scope(scope, t)}
    return {k: found[k] for k in signalled if k in kept}


# ----------------------------------------------------------------------------- drill-down


def trades(
    store: sp.PlatformStore,
    uow_factory: UnitOfWorkFactory,
    *,
    viewer: sp.Viewer,
    platform_id: str | None,
    scenario: str | None,
    figure: str,
    key: str | None,
    offset: int,
    limit: int,
    as_of: dt.date,
    grace_days: int = DEFAULT_GRACE_DAYS,
) -> dict[str, Any]:
    """The trades behind ``figure`` (one of ``FIGURES``; ``term`` takes a term bucket as
    ``key``, ``tier`` a tier number, ``core`` and ``bank`` an organisation id), newest first,
    ``limit`` from ``offset``, with the total."""
    if figure not in FIGURES:
        raise DomainValueError(f"figure {figure!r}: one of {list(FIGURES)}")
    if figure in ("term", "tier", "core", "bank") and not key:
        raise DomainValueError(f"figure {figure!r} needs a key")
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise DomainValueError(f"limit: 1 to {MAX_PAGE}; offset: 0 or more")
    mark = _mark(uow_factory)
    scope = scope_for(store, viewer=viewer, platform_id=platform_id, scenario=scenario)
    data, facts = _scoped(uow_factory, scope, as_of, grace_days, mark)
    if figure in BY_STATUS:  # any trade: a page in SQL
        with uow_factory() as uow:
            total, page = uow.trades.page(
                TradeQuery(between=scope.members, scenarios=_scenarios(scope),
                           statuses=BY_STATUS[figure], offset=offset, limit=limit)
            )  # fmt: skip
    else:  # the trades with an item, or signalled ones

        def choose() -> list[TradeRecord]:
            if figure == "alerts":
                codes = _fraud_codes(uow_factory, data.as_of, scope)
                with uow_factory() as uow:
                    return list(reversed(uow.trades.verdicts(list(codes))))
            pick = _picker(data, facts, figure, key)
            return [t for t in reversed(list(data.trades.values())) if pick(t.id)]

        chosen: list[TradeRecord] = _cached(
            _key(mark, scope, "trades", as_of, grace_days, figure, key), choose
        )
        total, page = len(chosen), chosen[offset : offset + limit]
    return {
        "figure": figure, "key": key, "total": total, "offset": offset, "limit": limit,
        "rows": [_row(data, facts, t) for t in page],
    }  # fmt: skip


#: The drill-downs of the trades of some verification statuses (None: every trade).
BY_STATUS: dict[str, frozenset[str] | None] = {
    "trades": None, "verified": frozenset(VERIFIED), "failed": frozenset({"failed"}),
}  # fmt: skip


def _scenarios(scope: Scope) -> frozenset[str] | None:
    """The scenarios of a scope's trades (None: any), as ``_in_scope`` has them."""
    found = None if scope.scenario is None else frozenset({scope.scenario})
    if scope.platform is not None and scope.members is not None:
        theirs = frozenset(s.value for s in scope.platform.scenarios)
        found = theirs if found is None else found & theirs
    return found


def _picker(data: _Data, facts: _Facts, figure: str, key: str | None) -> Callable[[str], bool]:
    """Whether a trade with an item is behind ``figure`` (``key``)."""
    items_of: dict[str, list[DebtItem]] = defaultdict(list)
    for i in data.items:
        items_of[i.trade_id].append(i)
    fins_of: dict[str, list[Financing]] = defaultdict(list)
    trade_of = {i.id: i.trade_id for i in data.items}
    for f in data.financings:
        fins_of[trade_of[f.item_id]].append(f)
    status = facts.item_status

    def item_is(*wanted: ItemStatus) -> Callable[[str], bool]:
        return lambda t: any(status[i.id] in wanted for i in items_of[t])

    def fin_is(wanted: frozenset[FinancingStatus]) -> Callable[[str], bool]:
        return lambda t: any(f.status in wanted for f in fins_of[t])

    if figure == "items":
        return lambda t: bool(items_of[t])
    if figure == "financed":
        return fin_is(FINANCED)
    if figure == "outstanding":
        return fin_is(LIVE)
    if figure == "settled":
        return item_is(ItemStatus.SETTLED)
    if figure == "declined":
        return fin_is(frozenset({FinancingStatus.DECLINED}))
    if figure == "referred":
        return fin_is(frozenset({FinancingStatus.REFERRED}))
    if figure == "overdue":
        return item_is(ItemStatus.OVERDUE)
    if figure == "non_performing":
        return lambda t: t in facts.non_performing
    if figure == "over_60":
        return lambda t: any(
            i.id in data.last_paid and (data.last_paid[i.id] - i.issue_date).days > SME_PAYMENT_DAYS
            for i in items_of[t]
        )
    if figure == "term":
        return lambda t: any(
            term_bucket((i.maturity_date - i.issue_date).days) == key for i in items_of[t]
        )
    if figure == "tier":
        wanted = None if key == "none" else _int(key)
        return lambda t: any(
            f.status in FINANCED and facts.tier_of.get(f.borrower_id) == wanted for f in fins_of[t]
        )
    if figure == "core":
        return lambda t: any(
            f.status in FINANCED and i.debtor_id == key
            for i in items_of[t] for f in fins_of[t] if f.item_id == i.id
        )  # fmt: skip
    if figure != "bank":
        raise DomainValueError(f"figure {figure!r}: not one of the trades with an item")
    return lambda t: any(f.status in FINANCED and f.bank_id == key for f in fins_of[t])


def _int(key: str | None) -> int:
    try:
        return int(key or "")
    except ValueError:
        raise DomainValueError(f"key {key!r}: a tier number, or none") from None


def _row(data: _Data, facts: _Facts, t: TradeRecord) -> dict[str, Any]:
    def name(org_id: str) -> str:
        return data.orgs[org_id].name if org_id in data.orgs else org_id

    mine = [i for i in data.items if i.trade_id == t.id]
    ids = {i.id for i in mine}
    return {
        "trade_id": t.id, "scenario": t.scenario.value, "status": t.status, "score": t.score,
        "seller_id": t.seller_id, "seller": name(t.seller_id),
        "seller_tier": facts.tier_of.get(t.seller_id),
        "buyer_id": t.buyer_id, "buyer": name(t.buyer_id),
        "items": [
            {"item_id": i.id, "currency": i.currency,
             "face_value": _money(i.face_value, i.currency),
             "outstanding": _money(i.outstanding, i.currency),
             "status": facts.item_status[i.id].value, "issue_date": i.issue_date.isoformat(),
             "maturity_date": i.maturity_date.isoformat(),
             "term_days": (i.maturity_date - i.issue_date).days}
            for i in mine
        ],
        "financings": [
            {"financing_id": f.id, "item_id": f.item_id, "bank_id": f.bank_id,
             "bank": name(f.bank_id), "borrower_id": f.borrower_id,
             "status": f.status.value, "rate_pct": f.rate_bps / 100,
             "principal": _money(f.principal, facts.currency_of[f.item_id])}
            for f in data.financings if f.item_id in ids
        ],
    }  # fmt: skip


# ----------------------------------------------------------------------------- evidence


def evidence(
    store: sp.PlatformStore,
    uow_factory: UnitOfWorkFactory,
    *,
    viewer: sp.Viewer,
    platform_id: str | None,
    trade_id: str,
    as_of: dt.date,
    grace_days: int = DEFAULT_GRACE_DAYS,
) -> dict[str, Any]:
    """A trade in scope with its on-chain evidence: each document's content fingerprint, its
    anchoring batch and the batch's anchor on the chain (status, transaction, block); the
    verification (status, score, report hash); each item and financing with the state of its
    chain operations. Outside the scope: NotFoundError."""
    scope = scope_for(store, viewer=viewer, platform_id=platform_id, scenario=None)
    with uow_factory() as uow:
        trade = uow.trades.get(trade_id)
        if trade is None or not _in_scope(scope, trade):
            raise NotFoundError(f"trade {trade_id} not found")
        docs = uow.documents.get_many(list(trade.document_ids))
        batches = {d.batch_id for d in docs if d.batch_id}
        anchors = {b: uow.outbox.for_subject(b) for b in batches}
        item = uow.items.by_trade(trade_id)
        items = [item] if item is not None else []
        fins = [
            f for f in uow.financings.list()
            if item is not None and f.item_id == item.id
            and (scope.banks is None or f.bank_id in scope.banks)
        ]  # fmt: skip
        ops = {x: uow.outbox.for_subject(x) for x in [i.id for i in items] + [f.id for f in fins]}
        names = {o.id: o.name for o in uow.organisations.list()}

    def chain(found: Sequence[Any]) -> list[dict[str, Any]]:
        return [
            {"op_id": o.op_id, "kind": o.kind.value, "status": o.status.value,
             "tx_hash": o.tx_hash, "block_number": o.block_number, "error": o.error}
            for o in found
        ]  # fmt: skip

    def anchor(batch: str | None) -> dict[str, Any] | None:
        if batch is None:
            return None
        done = chain(anchors.get(batch, []))
        return {"batch_id": batch, "operations": done}

    return {
        "trade_id": trade.id, "scenario": trade.scenario.value, "status": trade.status,
        "score": trade.score, "report_hash": trade.report_hash,
        "seller": names.get(trade.seller_id, trade.seller_id),
        "buyer": names.get(trade.buyer_id, trade.buyer_id),
        "documents": [
            {"document_id": d.document.id, "kind": d.document.kind.value,
             "number": d.document.number, "issue_date": d.document.issue_date.isoformat(),
             "submitted_by": names.get(d.document.submitted_by or "", d.document.submitted_by),
             "fingerprint": d.fingerprint, "business_key": d.business_key,
             "signed": d.signature is not None, "anchor": anchor(d.batch_id)}
            for d in docs
        ],
        "items": [
            {"item_id": i.id, "status": i.status_on(as_of, grace_days).value,
             "basis": i.basis.value, "currency": i.currency,
             "face_value": _money(i.face_value, i.currency),
             "outstanding": _money(i.outstanding, i.currency),
             "report_hash": i.report_hash, "chain": chain(ops.get(i.id, []))}
            for i in items
        ],
        "financings": [
            {"financing_id": f.id, "bank": names.get(f.bank_id, f.bank_id),
             "status": f.status.value, "rate_pct": f.rate_bps / 100,
             "chain": chain(ops.get(f.id, []))}
            for f in fins
        ],
    }  # fmt: skip


# ----------------------------------------------------------------------------- network


def network(
    store: sp.PlatformStore,
    uow_factory: UnitOfWorkFactory,
    *,
    viewer: sp.Viewer,
    platform_id: str | None,
    scenario: str | None,
) -> dict[str, Any]:
    """The supply network in scope: nodes (organisations with their type and tier), edges
    (seller -> buyer with the number of trades), and how many organisations sit at each tier."""
    mark = _mark(uow_factory)
    scope = scope_for(store, viewer=viewer, platform_id=platform_id, scenario=scenario)
    key = _key(mark, scope, "network")
    answer = _cached(key, lambda: _network(uow_factory, scope))
    return copy.deepcopy(answer) if key is not None else answer  # type: ignore[no-any-return]


def _network(uow_factory: UnitOfWorkFactory, scope: Scope) -> dict[str, Any]:
    with uow_factory() as uow:
        found = [p for p in uow.trades.pairs() if _in_scope(scope, p)]  # counted in SQL
        orgs = {o.id: o for o in uow.organisations.list()}
    tier_of = tiers(found, orgs)
    edges: Counter[tuple[str, str]] = Counter()
    for p in found:
        edges[(p.seller_id, p.buyer_id)] += p.trades
    ids = sorted({a for a, _ in edges} | {b for _, b in edges})
    nodes = [
        {"id": i, "name": orgs[i].name if i in orgs else i,
         "types": sorted(t.value for t in org_types(orgs[i].roles)) if i in orgs else [],
         "tier": tier_of.get(i)}
        for i in ids
    ]  # fmt: skip
    levels = Counter(n["tier"] for n in nodes)
    return {
        "nodes": nodes,
        "edges": [{"source": a, "target": b, "trades": n} for (a, b), n in sorted(edges.items())],
        "tiers": [
            {"tier": t, "organisations": n}
            for t, n in sorted(levels.items(), key=lambda kv: (kv[0] is None, kv[0] or 0))
        ],
    }
