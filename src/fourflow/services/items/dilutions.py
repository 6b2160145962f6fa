"""Reducing an item by a credit note: the creditor proposes, the debtor accepts."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from fourflow.domain.debt import Holding, ItemStatus
from fourflow.domain.documents import DocumentKind
from fourflow.domain.errors import (
    ConflictError,
    DomainValueError,
    NotFoundError,
    PermissionDeniedError,
)
from fourflow.domain.facts import DilutionEvent, DilutionStep
from fourflow.services import commands as cmd
from fourflow.services.common import get_item
from fourflow.services.items.common import item_outstanding, open_item, queue, text_hash
from fourflow.services.ports import UnitOfWork, UnitOfWorkFactory


def _dilutions(
    uow: UnitOfWork, item_id: str, step: DilutionStep, digest: str
) -> list[DilutionEvent]:
    """The item's dilutions at ``step`` by the credit note hashed ``digest``, oldest first."""
    return [
        d
        for d in uow.dilutions.for_item(item_id)
        if d.step is step and d.credit_note_hash == digest
    ]


def credit_note_hash(uow: UnitOfWork, number: str) -> str:
    """The hash naming a credit note: its stored fingerprint, else SHA-256 of its number."""
    stored = uow.documents.by_number(DocumentKind.CREDIT_NOTE, number)
    if stored:
        return stored[0].fingerprint
    return text_hash(f"credit_note:{number}")


def dilution_plan(holdings: list[Holding], creditor_id: str, amount: int) -> list[tuple[str, int]]:
    """Which holdings a dilution reduces: the creditor's own unpledged ones, oldest first."""
    plan: list[tuple[str, int]] = []
    left = amount
    for h in holdings:
        if left == 0:
            break
        if h.holder_id != creditor_id or h.locked or h.outstanding == 0:
            continue
        cut = min(left, h.outstanding)
        plan.append((h.id, cut))
        left -= cut
    if left:
        raise DomainValueError(
            f"dilution {amount} exceeds the creditor's unpledged outstanding {amount - left}"
        )
    return plan


def propose_dilution(
    *, uow_factory: UnitOfWorkFactory, item_id: str, amount: int, credit_note: str, actor_id: str
) -> str:
    """The creditor proposes to reduce the item by a credit note; returns the note's hash."""
    with uow_factory() as uow:
        item = open_item(uow, item_id, frozen_by_dispute=False)
        if actor_id != item.creditor_id:
            raise PermissionDeniedError(f"only the creditor may propose a dilution of {item_id}")
        if amount <= 0:
            raise DomainValueError("dilution amount must be positive")
        digest = credit_note_hash(uow, credit_note)
        if _dilutions(uow, item_id, DilutionStep.PROPOSED, digest):
            raise ConflictError(f"credit note {credit_note} was already used on {item_id}")
        dilution_plan(uow.items.holdings(item_id), item.creditor_id, amount)
        command = cmd.ProposeDilution(item_id, amount, digest, credit_note=credit_note)
        op = queue(uow, command, actor_id, item_id)
        uow.dilutions.add(
            DilutionEvent(
                item_id, DilutionStep.PROPOSED, digest, amount, actor_id, op.op_id, credit_note
            )
        )
        uow.commit()
    return digest


def accept_dilution(
    *, uow_factory: UnitOfWorkFactory, item_id: str, amount: int, credit_note: str, actor_id: str
) -> list[tuple[str, int]]:
    """The debtor accepts a proposed dilution; the creditor's holdings fall by ``amount``."""
    with uow_factory() as uow:
        item = open_item(uow, item_id, frozen_by_dispute=False)
        if actor_id != item.debtor_id:
            raise PermissionDeniedError(f"only the debtor may accept a dilution of {item_id}")
        digest = credit_note_hash(uow, credit_note)
        proposed = _dilutions(uow, item_id, DilutionStep.PROPOSED, digest)
        if not proposed:
            raise NotFoundError(f"no dilution by credit note {credit_note} was proposed")
        if proposed[0].amount != amount:
            raise DomainValueError(
                f"dilution amount differs: proposed {proposed[0].amount}, given {amount}"
            )
        if _dilutions(uow, item_id, DilutionStep.ACCEPTED, digest):
            raise ConflictError(f"the dilution by credit note {credit_note} is already applied")
        holdings = uow.items.holdings(item_id)
        plan = dilution_plan(holdings, item.creditor_id, amount)
        by_id = {h.id: h for h in holdings}
        for holding_id, cut in plan:
            h = by_id[holding_id]
            uow.items.update_holding(replace(h, outstanding=h.outstanding - cut))
        if item_outstanding(uow, item_id) == 0:
            uow.items.update(replace(item, status=ItemStatus.SETTLED))
        op = queue(uow, cmd.AcceptDilution(item_id, digest, amount), actor_id, item_id)
        uow.dilutions.add(
            DilutionEvent(
                item_id, DilutionStep.ACCEPTED, digest, amount, actor_id, op.op_id, credit_note
            )
        )
        uow.commit()
    return plan


@dataclass(frozen=True, slots=True)
class Dilution:
    """What one party's step of a dilution did.

    Attributes:
        state: ``proposed`` (the creditor's step) or ``applied`` (the debtor's acceptance).
        credit_note_hash: the hash naming the credit note.
        amount: the reduction, minor units.
        plan: the holdings reduced and by how much (applied only).
    """

    state: Literal["proposed", "applied"]
    credit_note_hash: str
    amount: int
    plan: tuple[tuple[str, int], ...] = ()


def dilute(
    *, uow_factory: UnitOfWorkFactory, item_id: str, amount: int, credit_note: str, actor_id: str
) -> Dilution:
    """One party's step of diluting an item by a credit note, chosen by its role: the creditor
    proposes (``propose_dilution``), the debtor accepts (``accept_dilution``); anyone else is
    refused."""
    with uow_factory() as uow:
        item = get_item(uow, item_id)
        digest = credit_note_hash(uow, credit_note)
    if actor_id == item.creditor_id:
        proposed = propose_dilution(
            uow_factory=uow_factory, item_id=item_id, amount=amount, credit_note=credit_note,
            actor_id=actor_id,
        )  # fmt: skip
        return Dilution("proposed", proposed, amount)
    if actor_id == item.debtor_id:
        plan = accept_dilution(
            uow_factory=uow_factory, item_id=item_id, amount=amount, credit_note=credit_note,
            actor_id=actor_id,
        )  # fmt: skip
        return Dilution("applied", digest, amount, tuple(plan))
    raise PermissionDeniedError(
        f"only the creditor (proposing) or the debtor (accepting) dilutes debt item {item_id}"
    )
