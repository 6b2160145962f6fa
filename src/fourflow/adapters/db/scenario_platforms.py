"""Scenario platforms in the store (issue 16 item 5): ``services.scenario_platforms
.PlatformStore`` over SQLAlchemy, each call its own short transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, Row, insert, select
from sqlalchemy.exc import IntegrityError

from fourflow.adapters.db import tables as t
from fourflow.domain.errors import ConflictError
from fourflow.domain.scenarios import Scenario
from fourflow.services.scenario_platforms import (
    PlatformBank,
    PlatformMember,
    PlatformProduct,
    ScenarioPlatform,
)

P, M, B, R = (
    t.scenario_platforms,
    t.scenario_platform_members,
    t.scenario_platform_banks,
    t.scenario_platform_products,
)


def _platform(r: Row[Any]) -> ScenarioPlatform:
    return ScenarioPlatform(
        r.id, r.name, r.operator_org_id, tuple(Scenario(s) for s in r.scenarios), r.region,
        r.created_by, r.created_at,
    )  # fmt: skip


def _product(r: Row[Any]) -> PlatformProduct:
    return PlatformProduct(
        r.id, r.platform_id, r.bank_id, r.name, Scenario(r.scenario), r.currency,
        int(r.max_amount), int(r.max_term_days), r.created_by, r.created_at,
    )  # fmt: skip


class SqlPlatformStore:
    """Platforms, members, banks and products."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _insert(self, table: Any, **values: Any) -> bool:
        """Insert a row; False when its key (or a unique column) was taken."""
        try:
            with self.engine.begin() as c:
                c.execute(insert(table).values(**values))
        except IntegrityError:
            return False
        return True

    def add(self, platform: ScenarioPlatform) -> None:
        added = self._insert(
            P, id=platform.id, name=platform.name, operator_org_id=platform.operator_org_id,
            scenarios=[s.value for s in platform.scenarios], region=platform.region,
            created_by=platform.created_by, created_at=platform.created_at,
        )  # fmt: skip
        if not added:
            raise ConflictError(f"a scenario platform named {platform.name!r} already exists")

    def get(self, platform_id: str) -> ScenarioPlatform | None:
        with self.engine.connect() as c:
            r = c.execute(select(P).where(P.c.id == platform_id)).first()
        return None if r is None else _platform(r)

    def all(self) -> list[ScenarioPlatform]:
        with self.engine.connect() as c:
            return [_platform(r) for r in c.execute(select(P).order_by(P.c.created_at, P.c.id))]

    def add_member(self, member: PlatformMember) -> bool:
        return self._insert(
            M, platform_id=member.platform_id, org_id=member.org_id, kyc=dict(member.kyc),
            admitted_by=member.admitted_by, admitted_at=member.admitted_at,
        )  # fmt: skip

    def members(self, platform_id: str) -> list[PlatformMember]:
        stmt = select(M).where(M.c.platform_id == platform_id).order_by(M.c.admitted_at)
        with self.engine.connect() as c:
            return [
                PlatformMember(r.platform_id, r.org_id, dict(r.kyc), r.admitted_by, r.admitted_at)
                for r in c.execute(stmt)
            ]

    def member_of(self, org_id: str) -> set[str]:
        with self.engine.connect() as c:
            return set(c.execute(select(M.c.platform_id).where(M.c.org_id == org_id)).scalars())

    def add_bank(self, bank: PlatformBank) -> bool:
        return self._insert(
            B, platform_id=bank.platform_id, bank_id=bank.bank_id, added_by=bank.added_by,
            added_at=bank.added_at,
        )  # fmt: skip

    def banks(self, platform_id: str) -> list[PlatformBank]:
        stmt = select(B).where(B.c.platform_id == platform_id).order_by(B.c.added_at)
        with self.engine.connect() as c:
            return [
                PlatformBank(r.platform_id, r.bank_id, r.added_by, r.added_at)
                for r in c.execute(stmt)
            ]

    def bank_of(self, bank_id: str) -> set[str]:
        with self.engine.connect() as c:
            return set(c.execute(select(B.c.platform_id).where(B.c.bank_id == bank_id)).scalars())

    def add_product(self, product: PlatformProduct) -> bool:
        return self._insert(
            R, id=product.id, platform_id=product.platform_id, bank_id=product.bank_id,
            name=product.name, scenario=product.scenario.value, currency=product.currency,
            max_amount=product.max_amount, max_term_days=product.max_term_days,
            created_by=product.created_by, created_at=product.created_at,
        )  # fmt: skip

    def products(self, platform_id: str) -> list[PlatformProduct]:
        stmt = select(R).where(R.c.platform_id == platform_id).order_by(R.c.created_at, R.c.id)
        with self.engine.connect() as c:
            return [_product(r) for r in c.execute(stmt)]
