"""The debtor's repayment route is fixed on the chain with its confirmation (issue 20): at
issuance with ``confirm``, or when it confirms an item issued on the evidence; a refused chain
operation changes nothing in the store."""

from __future__ import annotations

import pytest

from fourflow.domain.errors import ConflictError, DomainValueError
from fourflow.domain.settlement import RouteAction, RouteKind
from fourflow.services import accounts, items, settlement, supervision
from fourflow.services import commands as cmd
from fourflow.services.items.common import text_hash
from fourflow.services.ports import OpKind, OpStatus
from tests.services.conftest import MEMBERS, World


def _route_ops(world: World, item_id: str) -> list[tuple[OpKind, str, OpStatus]]:
    with world.uow() as uow:
        return [(o.kind, o.sender_org_id, o.status) for o in uow.outbox.for_subject(item_id)]


def test_issuance_with_the_debtors_confirmation_locks_its_route(world: World) -> None:
    item = world.item(confirm=True)
    core = world.org["core"]
    assert _route_ops(world, item.id) == [
        (OpKind.ISSUE_ITEM, world.id("tier1"), OpStatus.DONE),
        (OpKind.LOCK_ROUTE, core.id, OpStatus.DONE),  # the debtor's own transaction
    ]
    with world.uow() as uow:
        route = settlement.current_route(uow, item.id)
        (lock,) = [o for o in uow.outbox.for_subject(item.id) if o.kind is OpKind.LOCK_ROUTE]
    # By default: the collection account at the debtor's account bank (its own account).
    assert route is not None and route.action is RouteAction.LOCKED
    assert (route.kind, route.bank_id, route.account) == (
        RouteKind.ACCOUNT, world.id("bank"), MEMBERS["core"].account,
    )  # fmt: skip
    assert isinstance(lock.command, cmd.LockRoute)
    assert (lock.command.route_kind, lock.command.account_hash) == (
        2, text_hash(MEMBERS["core"].account),
    )  # fmt: skip
    # Locked once: the debtor cannot lock it again (a change needs every pledgee).
    with pytest.raises(ConflictError, match="locked already"):
        settlement.lock_route(uow_factory=world.uow, item_id=item.id, actor_id=core.id,
                              kind=RouteKind.TOKENS)  # fmt: skip


def test_a_later_confirmation_locks_the_route_the_debtor_names(world: World) -> None:
    item = world.item(confirm=False)  # on the evidence alone: the debtor has not acted yet
    assert [k for k, _s, _st in _route_ops(world, item.id)] == [OpKind.ISSUE_ITEM]
    with world.uow() as uow:
        assert settlement.current_route(uow, item.id) is None
    items.confirm_item(
        uow_factory=world.uow, ledger=world.ledger, clock=world.clock, item_id=item.id,
        actor_id=world.id("core"), route=RouteKind.TOKENS,
    )  # fmt: skip
    assert not world.relay().failed
    assert [k for k, _s, _st in _route_ops(world, item.id)] == [
        OpKind.ISSUE_ITEM, OpKind.CONFIRM_ITEM, OpKind.LOCK_ROUTE,
    ]  # fmt: skip
    with world.uow() as uow:
        route = settlement.current_route(uow, item.id)
        (lock,) = [o for o in uow.outbox.for_subject(item.id) if o.kind is OpKind.LOCK_ROUTE]
    assert route is not None and route.kind is RouteKind.TOKENS
    assert isinstance(lock.command, cmd.LockRoute)
    assert lock.command.allowance == item.face_value  # the debtor approves what is due


def test_a_route_is_the_debtors_to_name_with_its_confirmation(world: World) -> None:
    trade_id = world.trade()
    with pytest.raises(DomainValueError, match="locked with the debtor's confirmation"):
        items.issue_item(
            uow_factory=world.uow, ledger=world.ledger, clock=world.clock, trade_id=trade_id,
            as_of=world.clock.today(), confirm=False, route=RouteKind.TOKENS,
        )  # fmt: skip
    with world.uow() as uow:
        assert uow.items.by_trade(trade_id) is None  # nothing was issued


def test_a_refused_issuance_forgets_the_route_locked_with_it(world: World) -> None:
    world.ledger.refuse(OpKind.ISSUE_ITEM, "issuer: confirmation expired")
    trade_id = world.trade()
    issued = items.issue_item(
        uow_factory=world.uow, ledger=world.ledger, clock=world.clock, trade_id=trade_id,
        as_of=world.clock.today(), confirm=True,
    )  # fmt: skip
    failed = world.relay().failed
    assert failed[0][1] == "issuer: confirmation expired"
    with world.uow() as uow:
        refused = {o.kind: o.status for o in uow.outbox.for_subject(issued.id)}
    assert refused == {OpKind.ISSUE_ITEM: OpStatus.REFUSED, OpKind.LOCK_ROUTE: OpStatus.REFUSED}
    assert len(failed) == 2  # the issuance, and the lock that depended on it
    with world.uow() as uow:
        assert uow.items.get(issued.id) is None
        assert uow.settlement.routes(issued.id) == []
        assert issued.id not in uow.settlement.routed_items()
    assert OpKind.LOCK_ROUTE not in world.ledger.kinds()


def test_a_refused_lock_changes_nothing_but_the_confirmation_stands(world: World) -> None:
    item = world.item(confirm=False)
    world.ledger.refuse(OpKind.LOCK_ROUTE, "repayment: item is not active")
    items.confirm_item(
        uow_factory=world.uow, ledger=world.ledger, clock=world.clock, item_id=item.id,
        actor_id=world.id("core"),
    )  # fmt: skip
    failed = world.relay().failed
    assert [why for _op, why in failed] == ["repayment: item is not active"]
    with world.uow() as uow:
        assert uow.settlement.routes(item.id) == []
    # The debtor can lock it afterwards (the route was never fixed on the chain).
    world.ledger.allow(OpKind.LOCK_ROUTE)
    settlement.lock_route(uow_factory=world.uow, item_id=item.id, actor_id=world.id("core"),
                          kind=None)  # fmt: skip
    assert not world.relay().failed
    with world.uow() as uow:
        route = settlement.current_route(uow, item.id)
    assert route is not None and route.kind is RouteKind.ACCOUNT


class _Signer:
    """Signs route changes as the parties' wallets would (the fake chain checks none)."""

    def sign_route_change(
        self, org_id: str, item_id: str, route_kind: int, bank_address: str,
        account_hash: str, deadline: int,
    ) -> str:  # fmt: skip
        return "0x" + text_hash(f"{org_id}|{item_id}|{route_kind}|{account_hash}|{deadline}")


def test_the_regulator_sees_routes_locked_and_changed(world: World) -> None:
    item = world.item(confirm=True)
    world.item(confirm=False)  # no route yet: the debtor has not confirmed it
    settlement.change_route(
        uow_factory=world.uow, signer=_Signer(), item_id=item.id, actor_id=world.id("core"),
        kind=RouteKind.TOKENS, signer_ids=[world.id("core")],  # nothing pledged: the debtor
    )  # fmt: skip
    assert not world.relay().failed
    summary = supervision.regulator_summary(uow_factory=world.uow, as_of=world.clock.today())
    figures = summary["all"].as_dict()["settlement"]
    assert isinstance(figures, dict)
    assert figures["routes"] == {"locked": 1, "changed": 1, "items_changed": 1}
    assert figures["without_locked_route"]["count"] == 1
    assert figures["due_today"]["count"] == 0 and figures["defaulted"]["count"] == 0
    assert figures["bypassed_route"]["count"] == 0
    assert "settlement" not in summary["manufacturing"].as_dict()  # one view, under ``all``


def test_the_default_collection_account_is_held_at_the_items_account_bank(world: World) -> None:
    item = world.item(confirm=False)  # account bank named at issuance: the bank of core's BIN
    core = world.org["core"]
    # Later the debtor registers a settlement account at another bank: items issued from now
    # on name that bank; this item keeps its own, and so does its route's account.
    accounts.register_account(
        uow_factory=world.uow, org_id=core.id, bank_id=world.id("bank2"),
        account="6228880009990001", actor_id=core.id,
    )  # fmt: skip
    assert not world.relay().failed
    items.confirm_item(uow_factory=world.uow, ledger=world.ledger, clock=world.clock,
                       item_id=item.id, actor_id=core.id)  # fmt: skip
    assert not world.relay().failed
    with world.uow() as uow:
        route = settlement.current_route(uow, item.id)
    assert route is not None and route.kind is RouteKind.ACCOUNT
    assert (route.bank_id, route.account) == (world.id("bank"), MEMBERS["core"].account)
    fresh = world.item(confirm=True)
    with world.uow() as uow:
        route = settlement.current_route(uow, fresh.id)
    assert route is not None
    assert (route.bank_id, route.account) == (world.id("bank2"), "6228880009990001")
