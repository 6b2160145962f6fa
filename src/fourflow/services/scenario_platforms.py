"""Scenario platforms as tenants (issue 16 item 5).

A scenario platform (a district's culture-and-tourism financial service platform, an
agricultural products platform, an online government-procurement confirmation platform) is
run by its operator, a local-government organisation, for one or more business scenarios. Its
operator admits members after a recorded KYC review, names the banks taking part, and banks
offer their products on it.

Who sees what: the regulator and FourFlow's own operator see every platform; a local
government sees the platforms it operates; a bank those it takes part in; any other
organisation those it is a member of. Another platform is answered as if it did not exist
(``NotFoundError``).

Nothing crosses platforms except through a member of both: a platform's figures count a trade
only when its seller and its buyer are both members and its scenario is one of the platform's;
its items are those trades' items, and its financings those items' financings by banks taking
part. A trade between a member of platform A only and a member of platform B only counts on
neither; an enterprise that is a member of both carries its trades with each one's members to
that one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from fourflow.domain.debt import DebtItem, ItemStatus
from fourflow.domain.errors import ConflictError, DomainValueError, NotFoundError
from fourflow.domain.errors import PermissionDeniedError as Forbidden
from fourflow.domain.financing import Financing, FinancingStatus
from fourflow.domain.identity import KYC_CHECKS, OrgType, org_types
from fourflow.domain.money import Money
from fourflow.domain.scenarios import Scenario
from fourflow.services.common import find_org, new_id
from fourflow.services.ports import TradeRecord, UnitOfWorkFactory

#: Organisation types a platform admits as members (banks take part as banks instead).
MEMBER_TYPES = frozenset(
    {OrgType.ENTERPRISE, OrgType.CORE_ENTERPRISE, OrgType.LOGISTICS, OrgType.WAREHOUSE}
)
#: Types that see every platform.
ALL_SEEING = frozenset({OrgType.REGULATOR, OrgType.PLATFORM_OPERATOR})
MAX_NAME = 200


# ----------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class ScenarioPlatform:
    """A scenario platform.

    Attributes:
        id: its id.
        name: its name, unique (for example 苏州工业园区文旅金融服务平台).
        operator_org_id: the local-government organisation that operates it.
        scenarios: the business scenarios it serves.
        region: the district or region it serves (free text, may be empty).
        created_by: who created it (FourFlow's operator).
        created_at: when (UTC).
    """

    id: str
    name: str
    operator_org_id: str
    scenarios: tuple[Scenario, ...]
    region: str
    created_by: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class PlatformMember:
    """An organisation the platform's operator admitted, with the recorded KYC review."""

    platform_id: str
    org_id: str
    kyc: Mapping[str, Any]
    admitted_by: str
    admitted_at: dt.datetime


@dataclass(frozen=True, slots=True)
class PlatformBank:
    """A bank taking part in the platform."""

    platform_id: str
    bank_id: str
    added_by: str
    added_at: dt.datetime


@dataclass(frozen=True, slots=True)
class PlatformProduct:
    """A financing product a participating bank offers on the platform.

    Attributes:
        max_amount: the largest principal, minor units of ``currency``.
        max_term_days: the longest term it finances.
    """

    id: str
    platform_id: str
    bank_id: str
    name: str
    scenario: Scenario
    currency: str
    max_amount: int
    max_term_days: int
    created_by: str
    created_at: dt.datetime


class PlatformStore(Protocol):
    """Scenario platforms in the store; each call its own short transaction."""

    def add(self, platform: ScenarioPlatform) -> None: ...
    def get(self, platform_id: str) -> ScenarioPlatform | None: ...
    def all(self) -> list[ScenarioPlatform]: ...
    def add_member(self, member: PlatformMember) -> bool: ...
    def members(self, platform_id: str) -> list[PlatformMember]: ...
    def member_of(self, org_id: str) -> set[str]: ...
    def add_bank(self, bank: PlatformBank) -> bool: ...
    def banks(self, platform_id: str) -> list[PlatformBank]: ...
    def bank_of(self, bank_id: str) -> set[str]: ...
    def add_product(self, product: PlatformProduct) -> bool: ...
    def products(self, platform_id: str) -> list[PlatformProduct]: ...


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who asks: an organisation and its types (an API caller, or the home's operator in the
    CLI)."""

    org_id: str
    types: frozenset[OrgType]


def viewer_of(uow_factory: UnitOfWorkFactory, org_id: str) -> Viewer:
    """The viewer for an organisation (its types from its roles)."""
    with uow_factory() as uow:
        org = find_org(uow, org_id)
    return Viewer(org.id, org_types(org.roles))


# ----------------------------------------------------------------------------- who sees what


def _sees(store: PlatformStore, viewer: Viewer, platform: ScenarioPlatform) -> bool:
    if oversees(viewer, platform):
        return True
    if OrgType.BANK in viewer.types and platform.id in store.bank_of(viewer.org_id):
        return True
    return platform.id in store.member_of(viewer.org_id)


def oversees(viewer: Viewer, platform: ScenarioPlatform) -> bool:
    """True for the platform's local government, the regulator and FourFlow's operator: they
    see its members' KYC reviews and its figures (members and banks do not)."""
    return bool(viewer.types & ALL_SEEING) or platform.operator_org_id == viewer.org_id


def visible(store: PlatformStore, viewer: Viewer) -> list[ScenarioPlatform]:
    """The platforms ``viewer`` may see, oldest first."""
    return [p for p in store.all() if _sees(store, viewer, p)]


def platform_for(store: PlatformStore, viewer: Viewer, platform_id: str) -> ScenarioPlatform:
    """The platform if ``viewer`` may see it; NotFoundError otherwise (as if none existed)."""
    found = store.get(platform_id)
    if found is None or not _sees(store, viewer, found):
        raise NotFoundError(f"scenario platform {platform_id} not found")
    return found


def _operated(store: PlatformStore, viewer: Viewer, platform_id: str) -> ScenarioPlatform:
    """The platform if ``viewer`` runs it (its local government, or FourFlow's operator);
    NotFoundError when it may not even see it, Forbidden when it sees but does not run it."""
    found = platform_for(store, viewer, platform_id)
    if found.operator_org_id != viewer.org_id and OrgType.PLATFORM_OPERATOR not in viewer.types:
        raise Forbidden(f"only the operator of scenario platform {platform_id} may do this")
    return found


# ----------------------------------------------------------------------------- writes


def _scenarios(values: Iterable[str]) -> tuple[Scenario, ...]:
    found: list[Scenario] = []
    for value in values:
        try:
            scenario = Scenario(value)
        except ValueError:
            raise DomainValueError(
                f"scenario {value!r}: one of {[s.value for s in Scenario]}"
            ) from None
        if scenario not in found:
            found.append(scenario)
    if not found:
        raise DomainValueError("scenarios: give at least one scenario the platform serves")
    return tuple(found)


def create(
    store: PlatformStore,
    uow_factory: UnitOfWorkFactory,
    *,
    name: str,
    operator: str,
    scenarios: Sequence[str],
    region: str = "",
    by: str,
    now: dt.datetime,
) -> ScenarioPlatform:
    """A new scenario platform run by ``operator`` (a local-government organisation, by id,
    USCC or key) for ``scenarios``. The name is unique."""
    clean = name.strip()
    if not clean or len(clean) > MAX_NAME:
        raise DomainValueError(f"name: give the platform's name (1 to {MAX_NAME} characters)")
    kinds = _scenarios(scenarios)
    with uow_factory() as uow:
        org = find_org(uow, operator)
    if OrgType.LOCAL_GOVERNMENT not in org_types(org.roles):
        raise DomainValueError(
            f"operator {org.name!r} is not a local government (roles: "
            f"{', '.join(r.value for r in org.roles)}); a scenario platform is run by one"
        )
    if any(p.name == clean for p in store.all()):
        raise ConflictError(f"a scenario platform named {clean!r} already exists")
    platform = ScenarioPlatform(
        id=new_id("plt"), name=clean, operator_org_id=org.id, scenarios=kinds,
        region=region.strip(), created_by=by, created_at=now,
    )  # fmt: skip
    store.add(platform)
    return platform


def admit(
    store: PlatformStore,
    uow_factory: UnitOfWorkFactory,
    *,
    viewer: Viewer,
    platform_id: str,
    org: str,
    checks: Mapping[str, bool],
    note: str,
    by: str,
    now: dt.datetime,
) -> PlatformMember:
    """The platform's operator admits an organisation of FourFlow (an enterprise, core
    enterprise, logistics firm or warehouse) after a KYC review, recorded against the
    platform."""
    platform = _operated(store, viewer, platform_id)
    if not note.strip():
        raise DomainValueError("note: record what the KYC review found")
    unknown = sorted(set(checks) - set(KYC_CHECKS))
    if unknown:
        raise DomainValueError(f"checks: unknown check(s) {unknown}; known: {list(KYC_CHECKS)}")
    missing = [c for c in KYC_CHECKS if not checks.get(c)]
    if missing:
        raise DomainValueError(f"cannot admit before the KYC checks pass: {missing}")
    with uow_factory() as uow:
        member = find_org(uow, org)
    if not org_types(member.roles) & MEMBER_TYPES:
        raise DomainValueError(
            f"{member.name!r} cannot be a member: a platform admits enterprises, core "
            "enterprises, logistics firms and warehouses (banks take part as banks)"
        )
    record = PlatformMember(
        platform_id=platform.id, org_id=member.id,
        kyc={"checks": {c: True for c in KYC_CHECKS}, "note": note.strip()},
        admitted_by=by, admitted_at=now,
    )  # fmt: skip
    if not store.add_member(record):
        raise ConflictError(f"{member.name!r} is already a member of {platform.name!r}")
    return record


def add_bank(
    store: PlatformStore,
    uow_factory: UnitOfWorkFactory,
    *,
    viewer: Viewer,
    platform_id: str,
    bank: str,
    by: str,
    now: dt.datetime,
) -> PlatformBank:
    """The platform's operator names a bank of FourFlow as taking part in it."""
    platform = _operated(store, viewer, platform_id)
    with uow_factory() as uow:
        org = find_org(uow, bank)
    if OrgType.BANK not in org_types(org.roles):
        raise DomainValueError(f"{org.name!r} is not a bank")
    record = PlatformBank(platform.id, org.id, by, now)
    if not store.add_bank(record):
        raise ConflictError(f"{org.name!r} already takes part in {platform.name!r}")
    return record


def add_product(
    store: PlatformStore,
    *,
    viewer: Viewer,
    platform_id: str,
    bank_id: str | None,
    name: str,
    scenario: str,
    max_amount: str,
    currency: str = "CNY",
    max_term_days: int,
    by: str,
    now: dt.datetime,
) -> PlatformProduct:
    """A financing product of a participating bank on the platform: added by that bank (for
    itself) or by the platform's operator (naming the bank)."""
    platform = platform_for(store, viewer, platform_id)
    if OrgType.BANK in viewer.types and platform.operator_org_id != viewer.org_id:
        if bank_id not in (None, viewer.org_id):
            raise Forbidden("a bank adds its own products only")
        bank_id = viewer.org_id
    else:
        platform = _operated(store, viewer, platform_id)
    if not bank_id:
        raise DomainValueError("bank: name the bank offering the product")
    if bank_id not in {b.bank_id for b in store.banks(platform.id)}:
        raise DomainValueError(f"bank {bank_id} does not take part in {platform.name!r}")
    clean = name.strip()
    if not clean or len(clean) > MAX_NAME:
        raise DomainValueError(f"name: give the product's name (1 to {MAX_NAME} characters)")
    (kind,) = _scenarios([scenario])
    if kind not in platform.scenarios:
        raise DomainValueError(
            f"scenario {kind.value!r} is not one of {platform.name!r}'s: "
            f"{[s.value for s in platform.scenarios]}"
        )
    amount = Money.of(max_amount, currency)
    if amount.amount <= 0:
        raise DomainValueError("max_amount: give a positive amount")
    if not 1 <= max_term_days <= 3650:
        raise DomainValueError("max_term_days: give 1 to 3650 days")
    product = PlatformProduct(
        id=new_id("prd"), platform_id=platform.id, bank_id=bank_id, name=clean, scenario=kind,
        currency=amount.currency, max_amount=amount.minor, max_term_days=max_term_days,
        created_by=by, created_at=now,
    )  # fmt: skip
    if not store.add_product(product):
        raise ConflictError(f"bank {bank_id} already offers {clean!r} on {platform.name!r}")
    return product


# ----------------------------------------------------------------------------- reads


@dataclass(frozen=True, slots=True)
class PlatformView:
    """A platform with its members, banks and products, and their names."""

    platform: ScenarioPlatform
    operator_name: str
    members: list[tuple[PlatformMember, str]]
    banks: list[tuple[PlatformBank, str]]
    products: list[PlatformProduct]


def details(
    store: PlatformStore, uow_factory: UnitOfWorkFactory, *, viewer: Viewer, platform_id: str
) -> PlatformView:
    """The platform, its members, banks and products, if ``viewer`` may see it."""
    platform = platform_for(store, viewer, platform_id)
    members = store.members(platform.id)
    banks = store.banks(platform.id)
    products = store.products(platform.id)
    with uow_factory() as uow:

        def name(org_id: str) -> str:
            org = uow.organisations.get(org_id)
            return org.name if org else org_id

        return PlatformView(
            platform=platform,
            operator_name=name(platform.operator_org_id),
            members=[(m, name(m.org_id)) for m in members],
            banks=[(b, name(b.bank_id)) for b in banks],
            products=products,
        )


@dataclass(slots=True)
class PlatformFigures:
    """A platform's figures; amounts per currency."""

    platform_id: str
    as_of: dt.date
    members: int = 0
    banks: int = 0
    products: int = 0
    trades: int = 0
    verified: int = 0
    items_issued: int = 0
    issued_amount: dict[str, Decimal] = field(default_factory=dict)
    outstanding_amount: dict[str, Decimal] = field(default_factory=dict)
    financings: int = 0
    financed: int = 0
    financed_amount: dict[str, Decimal] = field(default_factory=dict)
    declined: int = 0
    referred: int = 0
    settled: int = 0
    overdue: int = 0
    overdue_amount: dict[str, Decimal] = field(default_factory=dict)
    by_scenario: dict[str, dict[str, int]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain data with amounts as decimal strings."""

        def amounts(values: dict[str, Decimal]) -> dict[str, str]:
            return {c: Money(v, c).plain() for c, v in sorted(values.items())}

        return {
            "platform_id": self.platform_id, "as_of": self.as_of.isoformat(),
            "members": self.members, "banks": self.banks, "products": self.products,
            "trades": self.trades, "verified": self.verified,
            "items_issued": self.items_issued, "issued_amount": amounts(self.issued_amount),
            "outstanding_amount": amounts(self.outstanding_amount),
            "financings": self.financings, "financed": self.financed,
            "financed_amount": amounts(self.financed_amount), "declined": self.declined,
            "referred": self.referred, "settled": self.settled, "overdue": self.overdue,
            "overdue_amount": amounts(self.overdue_amount), "by_scenario": self.by_scenario,
        }  # fmt: skip


_FINANCED = frozenset(
    {
        FinancingStatus.APPROVED,
        FinancingStatus.ACTIVE,
        FinancingStatus.REPAID,
        FinancingStatus.DEFAULTED,
    }
)


def _add(bucket: dict[str, Decimal], minor: int, currency: str) -> None:
    bucket[currency] = bucket.get(currency, Decimal(0)) + Money.from_minor(minor, currency).amount


@dataclass(frozen=True, slots=True)
class _Scope:
    """What belongs to a platform: trades between two of its members in its scenarios, their
    items, and those items' financings by its banks."""

    members: int
    banks: int
    trades: dict[str, TradeRecord]
    items: list[DebtItem]
    financings: list[Financing]


def _scope(
    store: PlatformStore, uow_factory: UnitOfWorkFactory, platform: ScenarioPlatform
) -> _Scope:
    members = {m.org_id for m in store.members(platform.id)}
    banks = {b.bank_id for b in store.banks(platform.id)}
    with uow_factory() as uow:
        trades = {
            t.id: t
            for t in uow.trades.list()
            if t.seller_id in members and t.buyer_id in members and t.scenario in platform.scenarios
        }
        items = [i for i in uow.items.list() if i.trade_id in trades]
        ids = {i.id for i in items}
        financings = [f for f in uow.financings.list() if f.item_id in ids and f.bank_id in banks]
    return _Scope(len(members), len(banks), trades, items, financings)


def trades(
    store: PlatformStore,
    uow_factory: UnitOfWorkFactory,
    *,
    viewer: Viewer,
    platform_id: str,
    as_of: dt.date,
    grace_days: int = 5,
) -> list[dict[str, Any]]:
    """The trades behind the platform's figures (who sees the figures sees them): each with
    its items (face value, outstanding, status as of ``as_of``) and their financings by the
    platform's banks; amounts as decimal strings."""
    platform = platform_for(store, viewer, platform_id)
    scope = _scope(store, uow_factory, platform)
    currency = {i.id: i.currency for i in scope.items}

    def amount(minor: int, code: str) -> str:
        return Money.from_minor(minor, code).plain()

    rows = []
    for t in scope.trades.values():
        mine = [i for i in scope.items if i.trade_id == t.id]
        rows.append({
            "trade_id": t.id, "scenario": t.scenario.value, "seller_id": t.seller_id,
            "buyer_id": t.buyer_id, "status": t.status,
            "items": [
                {"item_id": i.id, "currency": i.currency,
                 "face_value": amount(i.face_value, i.currency),
                 "outstanding": amount(i.outstanding, i.currency),
                 "status": i.status_on(as_of, grace_days).value,
                 "maturity_date": i.maturity_date.isoformat()}
                for i in mine
            ],
            "financings": [
                {"financing_id": f.id, "item_id": f.item_id, "bank_id": f.bank_id,
                 "status": f.status.value, "principal": amount(f.principal, currency[f.item_id])}
                for f in scope.financings if f.item_id in {i.id for i in mine}
            ],
        })  # fmt: skip
    return rows


def figures(
    store: PlatformStore,
    uow_factory: UnitOfWorkFactory,
    *,
    viewer: Viewer,
    platform_id: str,
    as_of: dt.date,
    grace_days: int = 5,
) -> PlatformFigures:
    """The platform's figures as of ``as_of``, if ``viewer`` may see it: members, banks,
    products; trades between two members in its scenarios (verified); their items (issued,
    outstanding, settled, overdue after ``grace_days``); those items' financings by its banks
    (requested, financed, declined, referred)."""
    platform = platform_for(store, viewer, platform_id)
    scope = _scope(store, uow_factory, platform)
    trades, items, financings = scope.trades, scope.items, scope.financings
    item_ids = {i.id: i for i in items}
    fig = PlatformFigures(platform.id, as_of, members=scope.members, banks=scope.banks)
    fig.products = len(store.products(platform.id))
    for trade in trades.values():
        fig.trades += 1
        fig.verified += trade.status in ("verified", "partial")
        row = fig.by_scenario.setdefault(trade.scenario.value, {"trades": 0, "items": 0})
        row["trades"] += 1
    for item in items:
        fig.items_issued += 1
        fig.by_scenario[trades[item.trade_id].scenario.value]["items"] += 1
        _add(fig.issued_amount, item.face_value, item.currency)
        status = item.status_on(as_of, grace_days)
        if status is ItemStatus.SETTLED:
            fig.settled += 1
            continue
        _add(fig.outstanding_amount, item.outstanding, item.currency)
        if status is ItemStatus.OVERDUE:
            fig.overdue += 1
            _add(fig.overdue_amount, item.outstanding, item.currency)
    for fin in financings:
        fig.financings += 1
        if fin.status is FinancingStatus.DECLINED:
            fig.declined += 1
        elif fin.status is FinancingStatus.REFERRED:
            fig.referred += 1
        elif fin.status in _FINANCED:
            fig.financed += 1
            _add(fig.financed_amount, fin.principal, item_ids[fin.item_id].currency)
    return fig
