"""An item's life on the fakes: split, transfer, merge, confirm, disputes, dilution, pledge
release, payments, default, buy-back and cancellation. Each test checks amounts, states and
refusals with their messages."""

from __future__ import annotations

import datetime as dt

import pytest

from fourflow.domain.debt import Basis, DebtItem, Holding, ItemStatus
from fourflow.domain.errors import (
    ConflictError,
    DomainValueError,
    NotFoundError,
    PermissionDeniedError,
)
from fourflow.domain.financing import FinancingStatus
from fourflow.services import financing, items
from fourflow.services.ports import OpKind
from tests.services.conftest import World, no_cold_start

FACE = 11_300_000


def _split(world: World, holding: Holding, amount: int, actor: str = "tier1") -> Holding:
    return items.split(
        uow_factory=world.uow, holding_id=holding.id, amount=amount, actor_id=world.id(actor)
    )


def _pledge(world: World, holding: Holding, amount: int) -> str:
    """Finance a holding at ``bank`` (approved by the stated model) and relay the pledge."""
    fin = financing.request_financing(
        uow_factory=world.uow, holding_id=holding.id, bank_id=world.id("bank"), amount=amount,
        actor_id=holding.holder_id, as_of=world.clock.today(), cold_start=no_cold_start,
    )  # fmt: skip
    assert fin.status is FinancingStatus.APPROVED, fin.decision
    assert not world.relay().failed
    return fin.id


def test_split_and_transfer_move_value_up_the_chain(world: World) -> None:
    item = world.item()
    (root,) = world.holdings(item.id)
    part = _split(world, root, 3_000_000)
    assert (part.holder_id, part.amount, part.parent_id) == (world.id("tier1"), 3_000_000, root.id)
    passed = items.transfer(
        uow_factory=world.uow, holding_id=part.id, amount=1_000_000,
        to_org_id=world.id("tier2"), actor_id=world.id("tier1"),
    )  # fmt: skip
    assert (passed.holder_id, passed.acquired_from) == (world.id("tier2"), world.id("tier1"))
    assert not world.relay().failed
    by_id = {h.id: h for h in world.holdings(item.id)}
    assert by_id[root.id].outstanding == FACE - 3_000_000
    assert by_id[part.id].outstanding == 2_000_000
    assert by_id[passed.id].outstanding == 1_000_000
    assert sum(h.outstanding for h in by_id.values()) == FACE
    assert world.ledger.kinds()[-2:] == [OpKind.SPLIT, OpKind.TRANSFER]

    with pytest.raises(PermissionDeniedError, match="is not held by"):
        _split(world, passed, 1, actor="tier1")
    with pytest.raises(DomainValueError, match="exceeds the holding's outstanding 1000000"):
        _split(world, passed, 1_000_001, actor="tier2")
    with pytest.raises(DomainValueError, match="its own holder"):
        items.transfer(
            uow_factory=world.uow, holding_id=passed.id, amount=1, to_org_id=world.id("tier2"),
            actor_id=world.id("tier2"),
        )  # fmt: skip


def test_merge_joins_two_holdings_of_one_holder(world: World) -> None:
    item = world.item()
    (root,) = world.holdings(item.id)
    part = _split(world, root, 4_000_000)
    merged = items.merge(
        uow_factory=world.uow, holding_id=root.id, other_holding_id=part.id,
        actor_id=world.id("tier1"),
    )  # fmt: skip
    assert (merged.amount, merged.outstanding) == (FACE, FACE)
    assert not world.relay().failed
    by_id = {h.id: h for h in world.holdings(item.id)}
    assert by_id[part.id].outstanding == 0 and by_id[root.id].outstanding == FACE
    with pytest.raises(DomainValueError, match="nothing outstanding to merge"):
        items.merge(
            uow_factory=world.uow, holding_id=root.id, other_holding_id=part.id,
            actor_id=world.id("tier1"),
        )  # fmt: skip
    with pytest.raises(DomainValueError, match="with itself"):
        items.merge(
            uow_factory=world.uow, holding_id=root.id, other_holding_id=root.id,
            actor_id=world.id("tier1"),
        )  # fmt: skip


def test_confirm_by_the_debtor_only(world: World) -> None:
    item = world.item()
    with pytest.raises(PermissionDeniedError, match="only the debtor may confirm"):
        items.confirm_item(
            uow_factory=world.uow, ledger=world.ledger, clock=world.clock, item_id=item.id,
            actor_id=world.id("tier1"),
        )  # fmt: skip
    confirmed = items.confirm_item(
        uow_factory=world.uow, ledger=world.ledger, clock=world.clock, item_id=item.id,
        actor_id=world.id("core"),
    )  # fmt: skip
    assert confirmed.basis is Basis.CONFIRMED
    assert not world.relay().failed
    assert world.get_item(item.id).basis is Basis.CONFIRMED
    with pytest.raises(ConflictError, match="already confirmed"):
        items.confirm_item(
            uow_factory=world.uow, ledger=world.ledger, clock=world.clock, item_id=item.id,
            actor_id=world.id("core"),
        )  # fmt: skip


def test_dispute_freezes_moves_until_withdrawn_or_resolved(world: World) -> None:
    item = world.item()
    (root,) = world.holdings(item.id)
    today = world.clock.today()
    digest = items.dispute_item(
        uow_factory=world.uow, item_id=item.id, reason="goods short", actor_id=world.id("core"),
        on=today,
    )  # fmt: skip
    assert digest == items.text_hash("goods short")
    with pytest.raises(ConflictError, match=f"debt item {item.id} is disputed by its debtor"):
        _split(world, root, 1_000)
    with world.uow() as uow:
        assert uow.items.disputes([item.trade_id]) == {item.trade_id: [today]}
        assert uow.disputes.raised_days() == {item.trade_id: [today]}
    items.lift_dispute(uow_factory=world.uow, item_id=item.id, actor_id=world.id("core"))
    _split(world, root, 1_000)

    items.dispute_item(
        uow_factory=world.uow, item_id=item.id, reason="price", actor_id=world.id("core"), on=today
    )
    with pytest.raises(PermissionDeniedError, match="lifted by the debtor"):
        items.lift_dispute(
            uow_factory=world.uow, item_id=item.id, actor_id=world.id("tier1"), resolution="x",
            operator_id=world.operator.id,
        )  # fmt: skip
    items.lift_dispute(
        uow_factory=world.uow, item_id=item.id, actor_id=world.operator.id,
        resolution="settled by credit note", operator_id=world.operator.id,
    )  # fmt: skip
    assert not world.relay().failed
    view = items.describe_item(uow_factory=world.uow, item_id=item.id)
    assert view["disputed"] is False
    with pytest.raises(ConflictError, match="is not disputed"):
        items.lift_dispute(uow_factory=world.uow, item_id=item.id, actor_id=world.id("core"))
    kinds = world.ledger.kinds()
    assert kinds.count(OpKind.DISPUTE) == 2 and OpKind.RESOLVE_DISPUTE in kinds


def test_dilution_proposed_by_the_creditor_and_accepted_by_the_debtor(world: World) -> None:
    item = world.item()
    (root,) = world.holdings(item.id)
    with pytest.raises(PermissionDeniedError, match="only the creditor may propose"):
        items.propose_dilution(
            uow_factory=world.uow, item_id=item.id, amount=500_000, credit_note="CN-1",
            actor_id=world.id("core"),
        )  # fmt: skip
    items.propose_dilution(
        uow_factory=world.uow, item_id=item.id, amount=500_000, credit_note="CN-1",
        actor_id=world.id("tier1"),
    )  # fmt: skip
    with pytest.raises(DomainValueError, match="proposed 500000, given 400000"):
        items.accept_dilution(
            uow_factory=world.uow, item_id=item.id, amount=400_000, credit_note="CN-1",
            actor_id=world.id("core"),
        )  # fmt: skip
    with pytest.raises(NotFoundError, match="CN-2 was proposed"):
        items.accept_dilution(
            uow_factory=world.uow, item_id=item.id, amount=500_000, credit_note="CN-2",
            actor_id=world.id("core"),
        )  # fmt: skip
    plan = items.accept_dilution(
        uow_factory=world.uow, item_id=item.id, amount=500_000, credit_note="CN-1",
        actor_id=world.id("core"),
    )  # fmt: skip
    assert plan == [(root.id, 500_000)]
    assert not world.relay().failed
    assert world.holdings(item.id)[0].outstanding == FACE - 500_000
    with pytest.raises(ConflictError, match="already applied"):
        items.accept_dilution(
            uow_factory=world.uow, item_id=item.id, amount=500_000, credit_note="CN-1",
            actor_id=world.id("core"),
        )  # fmt: skip


def test_release_pledge_by_the_pledgee_bank(credit_world: World) -> None:
    world = credit_world
    item = world.item()
    (root,) = world.holdings(item.id)
    fin_id = _pledge(world, root, 5_000_000)
    with pytest.raises(ConflictError, match="pledged and locked"):
        _split(world, root, 1_000)
    with pytest.raises(PermissionDeniedError, match="only the pledgee bank"):
        items.release_pledge(uow_factory=world.uow, holding_id=root.id, actor_id=world.id("bank2"))
    released = items.release_pledge(
        uow_factory=world.uow, holding_id=root.id, actor_id=world.id("bank")
    )
    assert not released.locked
    assert not world.relay().failed
    with world.uow() as uow:
        fin = uow.financings.get(fin_id)
    assert fin is not None and fin.status is FinancingStatus.REPAID
    _split(world, root, 1_000)  # free again
    with pytest.raises(ConflictError, match="is not pledged"):
        items.release_pledge(uow_factory=world.uow, holding_id=root.id, actor_id=world.id("bank"))


def _pay(world: World, item: DebtItem, amount: int, ref: str, payer: str, method: str) -> None:
    items.pay(
        uow_factory=world.uow, ledger=world.ledger, item_id=item.id, amount=amount,
        value_date=world.clock.today(), reference=ref, payer_id=world.id(payer),
        method=method,  # type: ignore[arg-type]
    )  # fmt: skip


def test_payments_route_to_the_bank_first_by_each_method(credit_world: World) -> None:
    world = credit_world
    item = world.item()
    (root,) = world.holdings(item.id)
    half = _split(world, root, FACE // 2)
    _pledge(world, half, 4_000_000)
    repayment = items.pay(
        uow_factory=world.uow, ledger=world.ledger, item_id=item.id, amount=FACE // 2,
        value_date=world.clock.today(), reference="CAMT-1", payer_id=world.id("bank"),
        method="attested",
    )  # fmt: skip
    to = {(p.holding_id, p.kind): p.amount for p in repayment.parts}
    # Each holding takes half; within the pledged one, the bank (no interest accrued yet).
    assert to == {
        (root.id, "holder"): FACE // 4,
        (half.id, "bank_principal"): FACE // 4,
    }
    _pay(world, item, FACE // 4, "TOKEN-1", "core", "token")
    _pay(world, item, FACE // 4, "DEBTOR-1", "core", "debtor")
    assert not world.relay().failed
    assert world.ledger.kinds()[-3:] == [OpKind.ATTEST_PAYMENT, OpKind.PAY_WITH_TOKEN, OpKind.REPAY]
    settled = world.get_item(item.id)
    assert (settled.paid, settled.status) == (FACE, ItemStatus.SETTLED)
    view = items.describe_item(uow_factory=world.uow, item_id=item.id)
    assert view["outstanding"]["minor"] == 0
    paid = {row["party_id"]: row["minor"] for row in view["settled_by_party"]}
    assert paid[world.id("bank")] == 4_000_000  # the principal, then the holder
    assert paid[world.id("bank")] + paid[world.id("tier1")] == FACE

    with pytest.raises(ConflictError, match=f"debt item {item.id} is already settled"):
        _pay(world, item, 1, "LATE", "core", "debtor")
    with pytest.raises(PermissionDeniedError, match="not a bank: it cannot attest"):
        _pay(world, world.item(), 1, "X", "tier2", "attested")


def test_payment_refusals_say_why(world: World) -> None:
    item = world.item()
    _pay(world, item, 1_000, "REF-1", "core", "debtor")
    with pytest.raises(ConflictError, match="payment REF-1 is already recorded"):
        _pay(world, item, 1_000, "REF-1", "core", "debtor")
    with pytest.raises(DomainValueError, match="exceeds the outstanding"):
        _pay(world, item, FACE, "REF-2", "core", "debtor")
    with pytest.raises(PermissionDeniedError, match="only the debtor pays"):
        _pay(world, item, 1, "REF-3", "tier1", "token")
    with pytest.raises(DomainValueError, match="is in the future"):
        items.pay(
            uow_factory=world.uow, ledger=world.ledger, item_id=item.id, amount=1,
            value_date=world.clock.today() + dt.timedelta(days=1), reference="REF-4",
            payer_id=world.id("core"), method="debtor",
        )  # fmt: skip


def test_default_forecloses_pledged_holdings_and_the_pledgor_buys_back(
    credit_world: World,
) -> None:
    world = credit_world
    item = world.item()
    (root,) = world.holdings(item.id)
    pledged = _split(world, root, 5_000_000)
    _pledge(world, pledged, 4_000_000)
    late = item.maturity_date + dt.timedelta(days=items.DEFAULT_GRACE_DAYS + 1)
    with pytest.raises(ConflictError, match="is not overdue"):
        items.mark_default(
            uow_factory=world.uow, item_id=item.id, actor_id=world.id("bank"),
            as_of=item.maturity_date, operator_id=world.operator.id,
        )  # fmt: skip
    for outsider in ("tier2", "bank2"):  # bank2 holds no pledge of this item
        with pytest.raises(PermissionDeniedError, match="may not mark a default"):
            items.mark_default(
                uow_factory=world.uow, item_id=item.id, actor_id=world.id(outsider), as_of=late,
                operator_id=world.operator.id,
            )  # fmt: skip
    foreclosed = items.mark_default(
        uow_factory=world.uow, item_id=item.id, actor_id=world.id("bank"), as_of=late,
        operator_id=world.operator.id,
    )  # fmt: skip
    assert [(h.id, h.holder_id, h.acquired_from) for h in foreclosed] == [
        (pledged.id, world.id("bank"), world.id("tier1"))
    ]
    assert not world.relay().failed
    assert world.get_item(item.id).status is ItemStatus.DEFAULTED
    with world.uow() as uow:
        (mark,) = uow.default_marks.for_item(item.id)
    assert (mark.marked_by, mark.as_of) == (world.id("bank"), late)

    with pytest.raises(PermissionDeniedError, match="is not the pledgor"):
        items.buy_back(uow_factory=world.uow, holding_id=pledged.id, actor_id=world.id("tier2"))
    back = items.buy_back(uow_factory=world.uow, holding_id=pledged.id, actor_id=world.id("tier1"))
    assert (back.holder_id, back.acquired_from) == (world.id("tier1"), world.id("bank"))
    assert not world.relay().failed
    assert world.ledger.kinds()[-2:] == [OpKind.MARK_DEFAULT, OpKind.BUY_BACK]


def test_cancel_needs_both_parties_and_an_unmoved_item(world: World) -> None:
    item = world.item()
    with pytest.raises(PermissionDeniedError, match="only the creditor and the debtor"):
        items.cancel_item(uow_factory=world.uow, item_id=item.id, actor_id=world.id("bank"))
    assert not items.cancel_item(uow_factory=world.uow, item_id=item.id, actor_id=world.id("tier1"))
    with pytest.raises(ConflictError, match="already approved cancelling"):
        items.cancel_item(uow_factory=world.uow, item_id=item.id, actor_id=world.id("tier1"))
    assert items.cancel_item(uow_factory=world.uow, item_id=item.id, actor_id=world.id("core"))
    assert not world.relay().failed
    view = items.describe_item(uow_factory=world.uow, item_id=item.id)
    assert (view["status"], view["outstanding"]["minor"]) == ("cancelled", 0)
    with pytest.raises(ConflictError, match="is cancelled"):
        _pay(world, item, 1, "R", "core", "debtor")

    moved = world.item()
    (root,) = world.holdings(moved.id)
    _split(world, root, 1_000)
    with pytest.raises(ConflictError, match="has moved"):
        items.cancel_item(uow_factory=world.uow, item_id=moved.id, actor_id=world.id("tier1"))


def test_dilute_proposes_or_accepts_by_the_actors_role(world: World) -> None:
    item = world.item()
    (root,) = world.holdings(item.id)
    proposed = items.dilute(
        uow_factory=world.uow, item_id=item.id, amount=300_000, credit_note="CN-9",
        actor_id=world.id("tier1"),
    )  # fmt: skip
    assert (proposed.state, proposed.amount, proposed.plan) == ("proposed", 300_000, ())
    assert proposed.credit_note_hash == items.text_hash("credit_note:CN-9")
    with pytest.raises(
        PermissionDeniedError, match=r"only the creditor \(proposing\) or the debtor"
    ):
        items.dilute(
            uow_factory=world.uow, item_id=item.id, amount=300_000, credit_note="CN-9",
            actor_id=world.id("bank"),
        )  # fmt: skip
    applied = items.dilute(
        uow_factory=world.uow, item_id=item.id, amount=300_000, credit_note="CN-9",
        actor_id=world.id("core"),
    )  # fmt: skip
    assert (applied.state, applied.plan) == ("applied", ((root.id, 300_000),))
    assert not world.relay().failed
    assert world.ledger.kinds()[-2:] == [OpKind.PROPOSE_DILUTION, OpKind.ACCEPT_DILUTION]


def test_amount_of_reads_the_items_currency(world: World) -> None:
    item = world.item()
    (root,) = world.holdings(item.id)
    money = items.amount_of(uow_factory=world.uow, amount="1234.56", holding_id=root.id)
    assert (money.minor, money.currency) == (123_456, "CNY")
    assert items.amount_of(uow_factory=world.uow, amount="1", item_id=item.id).minor == 100
    with pytest.raises(DomainValueError, match="more than 2 decimal places"):
        items.amount_of(uow_factory=world.uow, amount="0.005", item_id=item.id)
    with pytest.raises(NotFoundError, match="holding holding-x not found"):
        items.amount_of(uow_factory=world.uow, amount="1", holding_id="holding-x")
