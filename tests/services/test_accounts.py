"""The debtor's account bank is a registered fact: set and changed by the member alone."""

from __future__ import annotations

import pytest

from fourflow.domain.errors import DomainValueError, PermissionDeniedError
from fourflow.services import accounts
from fourflow.services import commands as cmd
from fourflow.services.ports import OpKind
from tests.services.conftest import World


def test_a_member_registers_its_own_settlement_account(world: World) -> None:
    core = world.org["core"]
    with world.uow() as uow:  # never registered: the founding rule (the BIN) names the bank
        assert accounts.registered_account(uow, core.id) is None
        assert accounts.account_bank(uow, core).id == world.id("bank")
    with pytest.raises(PermissionDeniedError, match=r"only .+ itself may"):
        accounts.register_account(
            uow_factory=world.uow, org_id=core.id, bank_id=world.id("bank2"),
            account="6222 0200 0100 0000 011", actor_id=world.id("bank2"),
        )  # fmt: skip
    with pytest.raises(DomainValueError, match="is not a bank"):
        accounts.register_account(
            uow_factory=world.uow, org_id=core.id, bank_id=world.id("tier1"),
            account="6222020001000000011", actor_id=core.id,
        )  # fmt: skip
    registered = accounts.register_account(
        uow_factory=world.uow, org_id=core.id, bank_id=world.id("bank2"),
        account="6222 0200 0100 0000 011", actor_id=core.id,
    )  # fmt: skip
    assert registered.account == "6222020001000000011"
    with world.uow() as uow:
        assert accounts.account_bank(uow, core).id == world.id("bank2")
        (op,) = [o for o in uow.outbox.for_subject(core.id) if o.kind is OpKind.SET_ACCOUNT]
    assert op.sender_org_id == core.id  # the member's own transaction
    assert isinstance(op.command, cmd.SetAccount)
    assert op.command.bank_address == world.org["bank2"].chain_address
    assert world.relay().failed == ()


def test_a_refused_registration_leaves_the_earlier_account(world: World) -> None:
    core = world.org["core"]
    accounts.register_account(
        uow_factory=world.uow, org_id=core.id, bank_id=world.id("bank2"),
        account="6222020001000000011", actor_id=core.id,
    )  # fmt: skip
    assert world.relay().failed == ()
    world.ledger.refuse(OpKind.SET_ACCOUNT, "registry: account bank is not a bank")
    accounts.register_account(
        uow_factory=world.uow, org_id=core.id, bank_id=world.id("bank"),
        account="6222020001000000099", actor_id=core.id,
    )  # fmt: skip
    with world.uow() as uow:
        assert accounts.account_bank(uow, core).id == world.id("bank")
    assert len(world.relay().failed) == 1
    with world.uow() as uow:
        current = accounts.registered_account(uow, core.id)
        assert current is not None and current.account == "6222020001000000011"
        assert accounts.account_bank(uow, core).id == world.id("bank2")
