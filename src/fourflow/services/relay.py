"""The outbox relay: apply queued chain operations, record receipts, update business state.

Operations are taken in queue order. A run of consecutive operations from one sender is
pipelined (their nonces order them); a change of sender waits for the previous run, so an
operation never overtakes one it depends on. Every operation is keyed by its id on the chain,
so relaying again after a crash cannot apply anything twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from fourflow.domain.debt import ItemStatus
from fourflow.domain.financing import FinancingStatus
from fourflow.services.ports import (
    ChainOp,
    ChainReceipt,
    ChainRejectedError,
    Ledger,
    OpKind,
    OpStatus,
    UnitOfWork,
    UnitOfWorkFactory,
)


@dataclass(frozen=True, slots=True)
class RelayResult:
    """What one relay pass did.

    Attributes:
        applied: operations applied now.
        recovered: operations the chain had already applied (found after a crash).
        failed: operations the chain refused, with the reason.
    """

    applied: int
    recovered: int
    failed: tuple[tuple[str, str], ...]


def _runs(ops: Sequence[ChainOp]) -> list[list[ChainOp]]:
    runs: list[list[ChainOp]] = []
    for op in ops:
        if runs and runs[-1][0].sender_org_id == op.sender_org_id:
            runs[-1].append(op)
        else:
            runs.append([op])
    return runs


def _on_applied(uow: UnitOfWork, op: ChainOp) -> None:
    """Business state that changes once the chain has applied an operation."""
    if op.kind is OpKind.ISSUE_ITEM and op.subject_id:
        item = uow.items.get(op.subject_id)
        if item is not None and item.status is ItemStatus.PENDING:
            status = ItemStatus.SETTLED if item.paid == item.face_value else ItemStatus.ACTIVE
            uow.items.update(replace(item, status=status))
    elif op.kind is OpKind.PLEDGE and op.subject_id:
        financing = uow.financings.get(op.subject_id)
        if financing is not None and financing.status is FinancingStatus.APPROVED:
            uow.financings.update(replace(financing, status=FinancingStatus.ACTIVE))


def _record(uow_factory: UnitOfWorkFactory, op: ChainOp, receipt: ChainReceipt) -> None:
    with uow_factory() as uow:
        uow.outbox.update(
            replace(
                op,
                status=OpStatus.DONE,
                tx_hash=receipt.tx_hash,
                block_number=receipt.block_number,
                attempts=op.attempts + 1,
                error=None,
            )
        )
        _on_applied(uow, op)
        uow.commit()


def _fail(uow_factory: UnitOfWorkFactory, op: ChainOp, reason: str) -> None:
    with uow_factory() as uow:
        uow.outbox.update(
            replace(op, status=OpStatus.FAILED, error=reason, attempts=op.attempts + 1)
        )
        uow.commit()


def relay(*, uow_factory: UnitOfWorkFactory, ledger: Ledger, limit: int = 10_000) -> RelayResult:
    """Apply every pending operation (up to ``limit``), oldest first."""
    with uow_factory() as uow:
        pending = uow.outbox.pending(limit)
    applied = recovered = 0
    failed: list[tuple[str, str]] = []
    for run in _runs(pending):
        done: list[tuple[ChainOp, ChainReceipt]] = []
        try:
            done = list(zip(run, ledger.apply_many(run), strict=True))
        except ChainRejectedError:
            # Somewhere in the run the chain refused an op: apply one by one to find it,
            # keeping every op that does apply (those applied already come back as such).
            for op in run:
                try:
                    done.append((op, ledger.apply(op)))
                except ChainRejectedError as exc:
                    _fail(uow_factory, op, exc.reason)
                    failed.append((op.op_id, exc.reason))
        for op, receipt in done:
            _record(uow_factory, op, receipt)
            if receipt.already_applied:
                recovered += 1
            else:
                applied += 1
    return RelayResult(applied, recovered, tuple(failed))
