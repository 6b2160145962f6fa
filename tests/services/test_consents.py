"""A core enterprise's data reaches a bank only under its consent, and every read is metered
(issue 16, item 6), on the fakes: the review robot and the direct reads obey the same gate."""

from __future__ import annotations

import datetime as dt

import pytest

from fourflow.domain.consents import ConsentRequiredError, DataKind, DataUsage, Statement
from fourflow.domain.errors import DomainValueError, NotFoundError, PermissionDeniedError
from fourflow.domain.financing import Financing, FinancingStatus
from fourflow.risk.review import ProductPolicy
from fourflow.services import consents, credit, financing
from tests.services.conftest import World, no_cold_start

MONTH = "2026-06"


@pytest.fixture
def core_world(credit_world: World) -> World:
    """The core enterprise buys from tier 1 and from tier 2; the bank's policy approves what
    the robot may read (only a missing consent refers)."""
    world = credit_world
    for bank in ("bank", "bank2"):
        policy = ProductPolicy(bank_id=world.id(bank), refer_pd=0.99, max_pd=1.0)
        credit.set_policy(uow_factory=world.uow, policy=policy)
    world.trade("tier2", "core")  # the core enterprise's trade with another supplier
    return world


def _ask(world: World, bank: str = "bank") -> Financing:
    item = world.item()
    (holding,) = world.holdings(item.id)
    return financing.request_financing(
        uow_factory=world.uow, holding_id=holding.id, bank_id=world.id(bank), amount=100_000,
        actor_id=world.id("tier1"), as_of=world.clock.today(), cold_start=no_cold_start,
        ledger=world.ledger, clock=world.clock,
    )  # fmt: skip


def _grant(world: World, bank: str = "bank", **kw: object) -> str:
    args: dict[str, object] = {
        "kinds": ["payment_history", "trades"], "purpose": "credit_review",
        "valid_to": world.clock.today() + dt.timedelta(days=30),
    }  # fmt: skip
    args.update(kw)
    consent = consents.grant(
        uow_factory=world.uow, clock=world.clock, grantor_id=world.id("core"),
        person="wang.fang@core", grantee=world.id(bank), **args,  # type: ignore[arg-type]
    )  # fmt: skip
    return consent.id


def _usage(world: World) -> list[DataUsage]:
    return consents.usage(uow_factory=world.uow, org_id=None)


def _read(world: World, bank: str = "bank", purpose: str = "credit_review") -> int:
    usage, rows = consents.read_trades(
        uow_factory=world.uow, clock=world.clock, reader_org=world.id(bank),
        reader="li.wei@bank", grantor=world.id("core"), purpose=purpose,
    )  # fmt: skip
    assert usage.records == len(rows)
    return len(rows)


def test_without_consent_the_robot_refers_and_reads_nothing(core_world: World) -> None:
    world = core_world
    fin = _ask(world)
    assert fin.status is FinancingStatus.REFERRED
    assert fin.decision is not None
    first = fin.decision.reasons[0]
    assert first.code == "NO_CONSENT" and world.id("core") in first.message
    assert "payment_history for credit_review" in first.message
    assert fin.decision.principal == 0
    assert _usage(world) == []


def test_with_consent_the_robot_reads_and_the_read_is_metered(core_world: World) -> None:
    world = core_world
    consents.set_prices(
        uow_factory=world.uow, clock=world.clock, grantor_id=world.id("core"),
        person="wang.fang@core", prices={"payment_history": "12.50", "trades": "3.00"},
    )  # fmt: skip
    consent_id = _grant(world)
    fin = _ask(world)
    assert fin.status is FinancingStatus.APPROVED, fin.decision
    (read,) = _usage(world)
    assert (read.grantee_id, read.grantor_id, read.reader) == (
        world.id("bank"),
        world.id("core"),
        consents.ROBOT,
    )
    assert (read.kind, read.object_id, read.consent_id) == (
        DataKind.PAYMENT_HISTORY,
        fin.id,
        consent_id,
    )
    assert read.records == 1 and read.fee_minor == 1250 and read.currency == "CNY"
    assert read.read_at == world.clock.now()


def test_a_consent_for_other_counterparties_reads_nothing_and_refers(core_world: World) -> None:
    world = core_world
    _grant(world, counterparties=[world.id("logistics")])
    assert _ask(world).status is FinancingStatus.REFERRED
    assert _usage(world) == []
    assert _read(world) == 0  # the direct read: none of its trades is with the logistics firm
    _grant(world, counterparties=[world.id("tier2")])
    assert _read(world) == 1
    assert _ask(world).status is FinancingStatus.APPROVED


@pytest.mark.parametrize("case", ["expired", "revoked", "other bank", "other purpose", "pending"])
def test_refused_reads_meter_nothing(core_world: World, case: str) -> None:
    world = core_world
    today = world.clock.today()
    if case == "other purpose":
        _grant(world, purpose="post_loan_monitoring")
    elif case == "pending":
        _grant(world, valid_from=today + dt.timedelta(days=1))
    else:
        consent_id = _grant(world, bank="bank2" if case == "other bank" else "bank")
    if case == "expired":
        world.clock.day = today + dt.timedelta(days=31)
    if case == "revoked":
        consents.revoke(
            uow_factory=world.uow, clock=world.clock, grantor_id=world.id("core"),
            person="wang.fang@core", consent_id=consent_id, reason="relationship ended",
        )  # fmt: skip
    with pytest.raises(ConsentRequiredError, match=r"no consent of .* in force on"):
        _read(world)
    fin = _ask(world)
    assert fin.status is FinancingStatus.REFERRED
    assert fin.decision is not None and fin.decision.reasons[0].code == "NO_CONSENT"
    assert _usage(world) == []


def test_the_statement_is_the_sum_of_the_reads(core_world: World) -> None:
    world = core_world
    core = world.id("core")
    consents.set_prices(
        uow_factory=world.uow, clock=world.clock, grantor_id=core, person="p",
        prices={"payment_history": "10.00", "trades": "2.00"},
    )  # fmt: skip
    _grant(world)
    _grant(world, bank="bank2")
    _ask(world)
    _read(world)
    _read(world, bank="bank2")
    consents.set_prices(  # a new price counts from the next read, not for the past ones
        uow_factory=world.uow, clock=world.clock, grantor_id=core, person="p",
        prices={"trades": "5.00"},
    )  # fmt: skip
    _read(world, bank="bank2")
    reads = _usage(world)
    assert len(reads) == 4
    st = consents.statement(uow_factory=world.uow, grantor=core, month=MONTH)
    assert st.total() == {"CNY": sum(u.fee_minor for u in reads)} == {"CNY": 1000 + 200 + 700}
    assert st.totals_by_bank() == {(world.id("bank"), "CNY"): 1200, (world.id("bank2"), "CNY"): 700}
    by_line = {(x.grantee_id, x.kind): (x.reads, x.fee_minor) for x in st.lines}
    assert by_line[(world.id("bank2"), DataKind.TRADES)] == (2, 700)
    assert consents.statement(uow_factory=world.uow, grantor=core, month="2026-07").lines == ()
    view = consents.statement_view(st)
    assert view["total"] == {"CNY": "19.00"}
    # the bank sees its own reads; the core enterprise sees every read of its data
    own = consents.usage(uow_factory=world.uow, org_id=world.id("bank2"), month=MONTH)
    assert {u.grantee_id for u in own} == {world.id("bank2")} and len(own) == 2
    assert len(consents.usage(uow_factory=world.uow, org_id=core, month=MONTH)) == 4


def test_only_the_core_enterprise_grants_over_its_own_data(core_world: World) -> None:
    world = core_world
    until = world.clock.today() + dt.timedelta(days=10)
    for actor in ("bank", "tier1"):  # a bank granting itself; a supplier over its buyer's data
        with pytest.raises(PermissionDeniedError, match="only a core enterprise grants"):
            consents.grant(
                uow_factory=world.uow, clock=world.clock, grantor_id=world.id(actor),
                person="x", grantee=world.id("bank"), kinds=["trades"],
                purpose="credit_review", valid_to=until,
            )  # fmt: skip
        with pytest.raises(PermissionDeniedError, match="only a core enterprise sets"):
            consents.set_prices(
                uow_factory=world.uow, clock=world.clock, grantor_id=world.id(actor),
                person="x", prices={"trades": "0.01"},
            )  # fmt: skip
    with pytest.raises(DomainValueError, match="is not a bank"):
        _grant(world, bank="tier1")
    with pytest.raises(DomainValueError, match="data kind 'ledger'"):
        _grant(world, kinds=["ledger"])
    with pytest.raises(DomainValueError, match=r"valid_to .* is before"):
        _grant(world, valid_to=world.clock.today() - dt.timedelta(days=1))
    consent_id = _grant(world)
    for actor in ("bank", "tier1"):  # nobody else revokes it
        with pytest.raises(NotFoundError, match=f"consent {consent_id} does not exist"):
            consents.revoke(
                uow_factory=world.uow, clock=world.clock, grantor_id=world.id(actor),
                person="x", consent_id=consent_id, reason="no",
            )  # fmt: skip
    with pytest.raises(PermissionDeniedError, match="is not a bank"):
        _read(world, bank="tier1")  # a supplier reading its buyer's data
    assert _usage(world) == []
    assert [c.id for c in consents.list_consents(uow_factory=world.uow, org_id=None)] == [
        consent_id
    ]


def test_a_statement_line_is_one_grantors() -> None:
    with pytest.raises(DomainValueError, match="month '2026-13'"):
        consents.statement(uow_factory=None, grantor="x", month="2026-13")  # type: ignore[arg-type]
    assert Statement.of("core", MONTH, []).total() == {}
