"""Scenario platforms on fakes (fast): what each viewer sees, and that nothing crosses
platforms except through a member of both — in trades, items and financings."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from fourflow.domain.errors import ConflictError, DomainValueError, NotFoundError
from fourflow.domain.errors import PermissionDeniedError as Forbidden
from fourflow.domain.financing import FinancingStatus
from fourflow.domain.identity import KYC_CHECKS, OrgType
from fourflow.domain.parties import Role
from fourflow.services import scenario_platforms as sp
from tests.fakes import FakeUnitOfWorkFactory
from tests.store.builders import financing, item, org, trade

NOW = dt.datetime(2026, 6, 30, 12, tzinfo=dt.UTC)
KYC = {c: True for c in KYC_CHECKS}


class MemoryPlatforms:
    """``sp.PlatformStore`` in memory."""

    def __init__(self) -> None:
        self.platforms: dict[str, sp.ScenarioPlatform] = {}
        self.members_: dict[tuple[str, str], sp.PlatformMember] = {}
        self.banks_: dict[tuple[str, str], sp.PlatformBank] = {}
        self.products_: dict[tuple[str, str, str], sp.PlatformProduct] = {}

    def add(self, platform: sp.ScenarioPlatform) -> None:
        self.platforms[platform.id] = platform

    def get(self, platform_id: str) -> sp.ScenarioPlatform | None:
        return self.platforms.get(platform_id)

    def all(self) -> list[sp.ScenarioPlatform]:
        return list(self.platforms.values())

    def add_member(self, member: sp.PlatformMember) -> bool:
        key = (member.platform_id, member.org_id)
        if key in self.members_:
            return False
        self.members_[key] = member
        return True

    def members(self, platform_id: str) -> list[sp.PlatformMember]:
        return [m for (p, _), m in self.members_.items() if p == platform_id]

    def member_of(self, org_id: str) -> set[str]:
        return {p for (p, o) in self.members_ if o == org_id}

    def add_bank(self, bank: sp.PlatformBank) -> bool:
        key = (bank.platform_id, bank.bank_id)
        if key in self.banks_:
            return False
        self.banks_[key] = bank
        return True

    def banks(self, platform_id: str) -> list[sp.PlatformBank]:
        return [b for (p, _), b in self.banks_.items() if p == platform_id]

    def bank_of(self, bank_id: str) -> set[str]:
        return {p for (p, b) in self.banks_ if b == bank_id}

    def add_product(self, product: sp.PlatformProduct) -> bool:
        key = (product.platform_id, product.bank_id, product.name)
        if key in self.products_:
            return False
        self.products_[key] = product
        return True

    def products(self, platform_id: str) -> list[sp.PlatformProduct]:
        return [x for (p, _, _), x in self.products_.items() if p == platform_id]


def _viewer(org_id: str, *types: OrgType) -> sp.Viewer:
    return sp.Viewer(org_id, frozenset(types))


LG_A = _viewer("org-6", OrgType.LOCAL_GOVERNMENT)
LG_B = _viewer("org-7", OrgType.LOCAL_GOVERNMENT)
REGULATOR = _viewer("org-8", OrgType.REGULATOR)
BANK_IN_A = _viewer("org-3", OrgType.BANK)
BANK_OUTSIDE = _viewer("org-5", OrgType.BANK)


@pytest.fixture
def world() -> tuple[MemoryPlatforms, FakeUnitOfWorkFactory, str, str]:
    """org-1 (supplier) in A and B; org-2 (core) in A only; org-4 (supplier) in B only; org-3
    a bank in A, org-5 a bank nowhere. Trades 1->2 (A), 4->2 (neither), 1->4 (B); item-1 is
    financed by org-3 (in A) and by org-5 (outside)."""
    uow_factory = FakeUnitOfWorkFactory()
    with uow_factory() as uow:
        for n, role in ((1, Role.SUPPLIER), (2, Role.CORE_ENTERPRISE), (3, Role.BANK),
                        (4, Role.SUPPLIER), (5, Role.BANK), (6, Role.LOCAL_GOVERNMENT),
                        (7, Role.LOCAL_GOVERNMENT), (8, Role.REGULATOR)):  # fmt: skip
            uow.organisations.add(org(n, role))
        for n, seller, buyer in ((1, "org-1", "org-2"), (2, "org-4", "org-2"),
                                 (3, "org-1", "org-4")):  # fmt: skip
            uow.trades.add(trade(n, seller, buyer))
            uow.items.add(item(n, f"trade-{n}", debtor=buyer, creditor=seller))
        active = financing("fin-1", "item-1", "h-1", FinancingStatus.ACTIVE)
        uow.financings.add(active)
        uow.financings.add(
            dataclasses.replace(active, id="fin-2", holding_id="h-2", bank_id="org-5")
        )
        uow.commit()
    store = MemoryPlatforms()
    a = sp.create(store, uow_factory, name="A", operator="org-6",
                  scenarios=["manufacturing", "culture_tourism"], by="op", now=NOW).id  # fmt: skip
    b = sp.create(store, uow_factory, name="B", operator="org-7",
                  scenarios=["manufacturing"], by="op", now=NOW).id  # fmt: skip
    for viewer, pid, member in ((LG_A, a, "org-1"), (LG_A, a, "org-2"), (LG_B, b, "org-1"),
                                (LG_B, b, "org-4")):  # fmt: skip
        sp.admit(store, uow_factory, viewer=viewer, platform_id=pid, org=member, checks=KYC,
                 note="checked", by="lg", now=NOW)  # fmt: skip
    sp.add_bank(store, uow_factory, viewer=LG_A, platform_id=a, bank="org-3", by="lg", now=NOW)
    return store, uow_factory, a, b


def test_figures_count_only_trades_between_members_and_financings_by_its_banks(
    world: tuple[MemoryPlatforms, FakeUnitOfWorkFactory, str, str],
) -> None:
    store, uow_factory, a, b = world
    day = dt.date(2026, 7, 1)
    fa = sp.figures(store, uow_factory, viewer=LG_A, platform_id=a, as_of=day)
    fb = sp.figures(store, uow_factory, viewer=LG_B, platform_id=b, as_of=day)
    # trade 4 -> 2 crosses (org-4 only in B, org-2 only in A): on neither
    assert (fa.trades, fa.items_issued, fb.trades, fb.items_issued) == (1, 1, 1, 1)
    # item-1's financing by org-5 (not in A) is not A's
    assert (fa.financings, fa.financed, fa.financed_amount) == (1, 1, {"CNY": Decimal("9000")})
    assert fb.financings == 0
    assert fa.as_dict()["issued_amount"] == {"CNY": "51550.10"}
    assert sp.figures(store, uow_factory, viewer=REGULATOR, platform_id=b, as_of=day) == fb
    rows = sp.trades(store, uow_factory, viewer=LG_A, platform_id=a, as_of=day)
    assert [(r["trade_id"], [f["financing_id"] for f in r["financings"]]) for r in rows] == [
        ("trade-1", ["fin-1"])
    ]


def test_each_viewer_sees_only_its_platforms_and_refusals_change_nothing(
    world: tuple[MemoryPlatforms, FakeUnitOfWorkFactory, str, str],
) -> None:
    store, uow_factory, a, b = world

    def seen(viewer: sp.Viewer) -> set[str]:
        return {x.id for x in sp.visible(store, viewer)}

    assert seen(REGULATOR) == {a, b}
    assert (seen(LG_A), seen(LG_B), seen(BANK_IN_A), seen(BANK_OUTSIDE)) == ({a}, {b}, {a}, set())
    assert seen(_viewer("org-1", OrgType.ENTERPRISE)) == {a, b}
    before = (dict(store.members_), dict(store.banks_), dict(store.products_))
    with pytest.raises(NotFoundError):
        sp.figures(store, uow_factory, viewer=LG_A, platform_id=b, as_of=dt.date(2026, 7, 1))
    with pytest.raises(NotFoundError):
        sp.admit(store, uow_factory, viewer=LG_A, platform_id=b, org="org-2", checks=KYC,
                 note="x", by="lg", now=NOW)  # fmt: skip
    with pytest.raises(NotFoundError):
        sp.add_product(store, viewer=BANK_OUTSIDE, platform_id=a, bank_id=None, name="p",
                       scenario="manufacturing", max_amount="1", max_term_days=30, by="b",
                       now=NOW)  # fmt: skip
    with pytest.raises(Forbidden):  # a member sees A but does not run it
        sp.admit(store, uow_factory, viewer=_viewer("org-1", OrgType.ENTERPRISE),
                 platform_id=a, org="org-4", checks=KYC, note="x", by="e", now=NOW)  # fmt: skip
    with pytest.raises(Forbidden):  # a bank adds its own products only
        sp.add_product(store, viewer=BANK_IN_A, platform_id=a, bank_id="org-5", name="p",
                       scenario="manufacturing", max_amount="1", max_term_days=30, by="b",
                       now=NOW)  # fmt: skip
    with pytest.raises(DomainValueError, match="KYC checks pass"):
        sp.admit(store, uow_factory, viewer=LG_A, platform_id=a, org="org-4",
                 checks={"licence_verified": True}, note="x", by="lg", now=NOW)  # fmt: skip
    with pytest.raises(DomainValueError, match="not a local government"):
        sp.create(store, uow_factory, name="C", operator="org-3", scenarios=["travel"],
                  by="op", now=NOW)  # fmt: skip
    with pytest.raises(ConflictError):
        sp.create(store, uow_factory, name="A", operator="org-7", scenarios=["travel"],
                  by="op", now=NOW)  # fmt: skip
    assert (dict(store.members_), dict(store.banks_), dict(store.products_)) == before
    assert len(store.platforms) == 2
