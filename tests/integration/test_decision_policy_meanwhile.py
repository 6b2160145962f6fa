"""A bank's policy version committed after a decision read its policy (before the bank's limits
lock) and before it took that lock is the one the decision applies (reviewer R11's finding (a)),
in a batch (``finance_many``: the ``policy`` change mark read again under the lock) and alone
(``finance``), on SQLite and PostgreSQL with the real node.

The new version is written as the decision asks for the bank's limits lock: on PostgreSQL by
another transaction, committed (as another process's ``finance policy set``); on SQLite, whose
deciding transaction holds the store's write lock from its first statement (nobody else can
commit meanwhile), in the deciding transaction itself, which the decision must see all the
same."""

from __future__ import annotations

import pytest

from fourflow.adapters.db.repositories import SqlProductPolicies, SqlSettings
from fourflow.bootstrap import Platform
from fourflow.domain.facts import PolicyVersion
from fourflow.domain.financing import FinancingStatus
from fourflow.risk.review import ProductPolicy
from fourflow.services import credit, financing
from tests.integration.test_lifecycle import _story
from tests.integration.test_races import ASK, _parts

pytestmark = pytest.mark.chain

#: The first version approves what the robot is asked here; the one set meanwhile refers all.
APPROVES = {"refer_pd": 0.9, "max_pd": 1.0}
REFERS = {"refer_pd": 0.0, "max_pd": 1.0}


class Meanwhile:
    """Once ``armed`` with a bank id, the first time a decision asks for that bank's limits
    lock, the bank's policy that refers everything is stored as its next version, just before
    the lock is taken (``stored``: that version)."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.armed: str | None = None
        self.stored: int | None = None
        self.busy = False

    def before_lock(self, settings: SqlSettings, name: str) -> None:
        bank = self.armed
        if bank is None or name != credit.LIMITS_LOCK + bank or self.busy or self.stored:
            return
        self.busy = True  # the version's own lock, below, passes through
        policy = ProductPolicy.from_json({**REFERS, "bank_id": bank})
        if self.platform.engine.dialect.name == "postgresql":  # another transaction commits it
            self.stored = credit.set_policy_version(
                uow_factory=self.platform.uow_factory, policy=policy
            )[1]
        else:  # the deciding transaction holds the write lock: written in it
            policies = SqlProductPolicies(settings._session)
            latest = policies.latest(bank)
            self.stored = 1 if latest is None else latest.version + 1
            policies.add(PolicyVersion(bank, self.stored, policy.as_json()))
        self.busy = False


@pytest.fixture
def meanwhile(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> Meanwhile:
    """``Meanwhile`` in place around ``SqlSettings.lock``."""
    found = Meanwhile(platform)
    lock = SqlSettings.lock

    def set_then_lock(self: SqlSettings, name: str) -> None:
        found.before_lock(self, name)
        lock(self, name)

    monkeypatch.setattr(SqlSettings, "lock", set_then_lock)
    return found


@pytest.mark.parametrize("way", ["batch", "alone"])
def test_a_policy_set_before_the_lock_is_applied(
    platform: Platform, meanwhile: Meanwhile, way: str
) -> None:
    s = _story(platform)
    parts = [h.id for h in _parts(s, 3)]
    bank, tier1 = s.org["bank"].id, s.org["tier1"].id
    first = financing.set_product_policy(
        uow_factory=platform.uow_factory, bank=bank, fields=APPROVES
    )
    assert first.refer_pd == APPROVES["refer_pd"]
    amount = f"{ASK // 100}.{ASK % 100:02d}"

    def asked(holding: str) -> financing.FinanceRequest:
        return financing.FinanceRequest(
            target=holding, bank=bank, amount=amount, as_of=s.item.issue_date, holder=tier1,
            own_holding_of=tier1,
        )  # fmt: skip

    def decide(holdings: list[str]) -> list[financing.FinancingRow]:
        if way == "alone":
            return [
                financing.finance(
                    uow_factory=platform.uow_factory,
                    target=h,
                    bank=bank,
                    amount=amount,
                    as_of=s.item.issue_date,
                    cold_start=platform.cold_start,
                    holder=tier1,
                    ledger=platform.require_contracts(),
                    clock=platform.clock,
                    own_holding_of=tier1,
                )
                for h in holdings
            ]
        answers = financing.finance_many(
            uow_factory=platform.uow_factory, requests=[asked(h) for h in holdings],
            cold_start=platform.cold_start, ledger=platform.require_contracts(),
            clock=platform.clock,
        )  # fmt: skip
        rows = [a for a in answers if isinstance(a, financing.FinancingRow)]
        assert len(rows) == len(answers), answers
        return rows

    # the process's running state (policies kept under the mark) is warm: one decision first
    (warm,) = decide(parts[:1])
    assert warm.financing.status is FinancingStatus.APPROVED, warm.financing.decision
    meanwhile.armed = bank
    rows = decide(parts[1:])
    assert meanwhile.stored is not None and meanwhile.stored > 1
    for row in rows:
        decision = row.financing.decision
        assert decision is not None
        assert decision.policy_revision == meanwhile.stored, decision
        assert row.financing.status is FinancingStatus.REFERRED, decision.reasons
    with platform.uow_factory() as uow:  # stored so, and the holdings left unpledged
        for row in rows:
            stored = uow.financings.get(row.financing.id)
            assert stored is not None and stored.status is FinancingStatus.REFERRED
            holding = uow.items.get_holding(stored.holding_id)
            assert holding is not None and not holding.locked
