"""Banks' product policies (every edit a new version) and what counts as a bank's exposure."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from fourflow.domain.errors import DomainValueError
from fourflow.domain.facts import PolicyVersion
from fourflow.domain.financing import FinancingStatus
from fourflow.domain.parties import Role
from fourflow.risk.review import GOODS_SCENARIO, Exposure, ProductPolicy
from fourflow.services.common import get_org
from fourflow.services.ports import UnitOfWork, UnitOfWorkFactory

#: Lock held while a bank's limits are checked and a decision on them stored.
LIMITS_LOCK = "risk.limits:"
# A bank's exposure: financings approved, lent, or lent and defaulted (not yet recovered).
ACTIVE = (FinancingStatus.APPROVED, FinancingStatus.ACTIVE, FinancingStatus.DEFAULTED)


def exposure(uow: UnitOfWork, bank_id: str) -> Exposure:
    """The bank's outstanding principal by borrower, debtor, scenario and industry: approved
    and active financings, and what holders owe against warehouse receipts pledged to it
    (scenario ``warehouse_receipt``)."""
    total = 0
    by: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    industries: dict[str, str] = {}
    for row in uow.financings.outstanding(bank_id, [s.value for s in ACTIVE]):
        if row.debtor_id not in industries:
            industries[row.debtor_id] = get_org(uow, row.debtor_id).fact("industry") or "unknown"
        total += row.principal
        by["borrower"][row.borrower_id] += row.principal
        by["debtor"][row.debtor_id] += row.principal
        by["scenario"][row.scenario] += row.principal
        by["industry"][industries[row.debtor_id]] += row.principal
    # warehouse-receipt pledges count too: what each holder owes against its pledged goods
    for pledge in uow.receipts.live_pledges(bank_id):
        receipt = uow.receipts.get(pledge.receipt_id)
        owed = pledge.amount or 0
        total += owed
        by["borrower"][receipt.holder_id if receipt else pledge.actor_id] += owed
        by["scenario"][GOODS_SCENARIO] += owed
    return Exposure(
        total=total,
        by_borrower=dict(by["borrower"]),
        by_debtor=dict(by["debtor"]),
        by_scenario=dict(by["scenario"]),
        by_industry=dict(by["industry"]),
    )


def with_financing(
    exposure: Exposure,
    *,
    principal: int,
    borrower: str,
    debtor: str,
    scenario: str,
    industry: str,
) -> Exposure:
    """``exposure`` with one more approved financing of ``principal`` (as ``exposure`` would
    read it once stored: the borrower, the item's debtor, the trade's scenario and the
    debtor's industry), for decisions that follow one another in one transaction."""

    def plus(by: Mapping[str, int], key: str) -> dict[str, int]:
        return {**by, key: by.get(key, 0) + principal}

    return Exposure(
        total=exposure.total + principal,
        by_borrower=plus(exposure.by_borrower, borrower),
        by_debtor=plus(exposure.by_debtor, debtor),
        by_scenario=plus(exposure.by_scenario, scenario),
        by_industry=plus(exposure.by_industry, industry),
    )


def policy_in_force(uow: UnitOfWork, bank_id: str) -> tuple[ProductPolicy, int | None]:
    """The bank's product policy and its stored version (the default product, version
    ``None``, until the bank sets its own).

    A stored version read once and kept (a batch's decisions, an API process's running
    state) gives the same policy object every time: read from its JSON once, and its input
    hash text encoded once (``risk.review.input_hash``)."""
    stored = uow.policies.latest(bank_id)
    if stored is None:
        return ProductPolicy(bank_id=bank_id), None
    kept = _PARSED.get(id(stored))
    if kept is not None and kept[0] is stored:
        return kept[1], stored.version
    policy = ProductPolicy.from_json(stored.policy)
    if len(_PARSED) >= 64:
        _PARSED.clear()
    _PARSED[id(stored)] = (stored, policy)  # the stored object kept: its id is not reused
    return policy, stored.version


#: Policies read from stored versions, by the stored object (``policy_in_force``).
_PARSED: dict[int, tuple[PolicyVersion, ProductPolicy]] = {}


def get_policy(uow: UnitOfWork, bank_id: str) -> ProductPolicy:
    """The bank's product policy (the default product until the bank sets its own)."""
    return policy_in_force(uow, bank_id)[0]


def set_policy(*, uow_factory: UnitOfWorkFactory, policy: ProductPolicy) -> ProductPolicy:
    """Store a bank's product policy as a new version; the earlier versions are kept, and each
    decision names the version it used (``Decision.policy_revision``)."""
    return set_policy_version(uow_factory=uow_factory, policy=policy)[0]


def set_policy_version(
    *, uow_factory: UnitOfWorkFactory, policy: ProductPolicy
) -> tuple[ProductPolicy, int]:
    """Store a bank's product policy as its next version; the policy and its version number."""
    with uow_factory() as uow:
        bank = get_org(uow, policy.bank_id)
        if not bank.has_role(Role.BANK):
            raise DomainValueError(f"{bank.name} is not a bank")
        uow.settings.lock(LIMITS_LOCK + bank.id)  # versions are numbered one writer at a time
        latest = uow.policies.latest(bank.id)
        version = 1 if latest is None else latest.version + 1
        uow.policies.add(PolicyVersion(bank.id, version, policy.as_json()))
        uow.commit()
    return policy, version
