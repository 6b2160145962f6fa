"""The outbox relay: apply queued chain operations, record receipts, update business state.

Operations are taken in queue order. A run of consecutive operations from one sender is
pipelined (their nonces order them); a change of sender waits for the previous run, so an
operation never overtakes one it depends on. Every operation is keyed by its id on the chain,
so relaying again after a crash cannot apply anything twice.

When the chain refuses an operation for good, the relay undoes its business change in the same
transaction that marks it failed (``compensate``: one step per command kind), together with
every later queued operation that built on the same records, so a refused operation changes
nothing in the store.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from typing import Protocol, assert_never, runtime_checkable

from fourflow.domain.debt import Holding, ItemStatus
from fourflow.domain.financing import Financing, FinancingStatus
from fourflow.services import commands as cmd
from fourflow.services import fraud, receipts, webhooks
from fourflow.services.accounts import forget_account
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
from fourflow.services.undo import UndoLog

#: A financing in these states fails when the chain refuses its presentation or its pledge.
LENDABLE = (FinancingStatus.APPROVED, FinancingStatus.REFERRED, FinancingStatus.ACTIVE)
#: Why the relay refuses a financing's presentation (``fraud.presented_elsewhere``).
PRESENTED_ELSEWHERE = (
    "{count} invoice(s) of this trade were presented to another member of the consortium "
    "first (salted fingerprint on the chain): nothing is lent on them"
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


def _on_applied(uow: UnitOfWork, op: ChainOp, receipt: ChainReceipt) -> None:
    """Business state that changes once the chain has applied an operation."""
    if op.kind is OpKind.ISSUE_ITEM and op.subject_id:
        item = uow.items.get(op.subject_id)
        if item is not None and item.status is ItemStatus.PENDING:
            status = ItemStatus.SETTLED if item.paid == item.face_value else ItemStatus.ACTIVE
            uow.items.update(replace(item, status=status))
    elif op.kind is OpKind.ACCEPT_PLEDGE and op.subject_id:  # the bank took the offer
        financing = uow.financings.get(op.subject_id)
        if financing is not None and financing.status is FinancingStatus.APPROVED:
            uow.financings.update(replace(financing, status=FinancingStatus.ACTIVE))
    elif op.kind is OpKind.RECEIPT_ACCEPT_PLEDGE and op.subject_id:
        receipts.pledge_applied(uow, op)  # the bank accepted: its goods financing is active
    elif isinstance(op.command, cmd.MarkDefault):
        # The contract closes each foreclosed pledge on the chain's own day of default.
        days = [int(e["day"]) for e in receipt.events if e.get("event") == "ItemDefaulted"]
        if days:
            for before in op.undo.holdings:
                holding = uow.items.get_holding(before.id)
                if holding is not None and holding.pledge is not None:
                    closed = replace(holding.pledge, accrued_to=days[0])
                    uow.items.update_holding(replace(holding, pledge=closed))


def _record(uow_factory: UnitOfWorkFactory, op: ChainOp, receipt: ChainReceipt) -> None:
    """Record one op the chain applied (``_record_all``)."""
    _record_all(uow_factory, [(op, receipt)])


def _record_all(
    uow_factory: UnitOfWorkFactory, done: Sequence[tuple[ChainOp, ChainReceipt]]
) -> None:
    """Record the ops of a run the chain applied, in order, in one transaction (one commit a
    run, not one an op: an op whose record is lost to a crash is found applied by the next
    relay, ``already_applied``)."""
    if not done:
        return
    with uow_factory() as uow:
        uow.outbox.update_status_many(
            [
                replace(
                    op,
                    status=OpStatus.DONE,
                    tx_hash=receipt.tx_hash,
                    block_number=receipt.block_number,
                    attempts=op.attempts + 1,
                    error=None,
                )
                for op, receipt in done
            ]
        )
        for op, receipt in done:
            _on_applied(uow, op, receipt)
            webhooks.on_applied(uow, op)  # its events, with the fact
        uow.commit()


#: A financing in these states stays as it is when the holding it was asked on goes (a
#: decision given, or a financing over); any other (requested, referred, approved, active)
#: fails with the holding: nothing can be lent on a holding that never existed.
CLOSED = (
    FinancingStatus.DECLINED,
    FinancingStatus.FAILED,
    FinancingStatus.REPAID,
    FinancingStatus.DEFAULTED,
)
#: At most this many financings are moved off one holding, and this many parents walked up.
_MOST = 10_000


def restore(uow: UnitOfWork, log: UndoLog, told: list[Financing] | None = None) -> None:
    """Put back what a command's business change replaced (its ``UndoLog``).

    The financings the change added go with it. A financing kept (one the change did not
    add: a request on a part the change split off, on a holding it passed, on the item it
    issued) never points at a holding or item the undo removes: before the holding goes, each
    financing asked on it moves to the holding the part was split off (the same holder's,
    still there: the financing keeps its record on the holding the borrower asked about, as it
    stands now), else goes with it (nothing it was asked on ever existed). Either way one
    still open fails (``CLOSED``). Each financing failed or removed here is appended to
    ``told`` (its parties are told it failed, ``_fail``)."""
    for repayment_id in log.added_repayments:
        uow.repayments.remove(repayment_id)
    for holding in log.holdings:
        uow.items.update_holding(holding)
    for item in log.items:
        uow.items.update(item)
    for financing_id, status in log.financings:
        financing = uow.financings.get(financing_id)
        if financing is not None:
            uow.financings.update(replace(financing, status=status))
    for financing_id in log.added_financings:
        uow.financings.remove(financing_id)
    going = set(log.added_holdings)
    for holding_id in log.added_holdings:
        _move_financings(uow, holding_id, going, told)
        uow.items.remove_holding(holding_id)
    for item_id in log.added_items:
        holdings = uow.items.holdings(item_id)  # all go with the item
        going |= {h.id for h in holdings}
        for holding in holdings:
            _move_financings(uow, holding.id, going, told)
        uow.items.remove(item_id)


def _move_financings(
    uow: UnitOfWork, holding_id: str, going: set[str], told: list[Financing] | None
) -> None:
    """Move (or remove) every financing asked on ``holding_id`` before the holding goes."""
    holding = uow.items.get_holding(holding_id)
    for _ in range(_MOST):
        financing = uow.financings.by_holding(holding_id)
        if financing is None:
            return
        home = None if holding is None else _home(uow, holding, financing, going)
        status = financing.status if financing.status in CLOSED else FinancingStatus.FAILED
        moved = replace(financing, status=status, holding_id=home.id if home else holding_id)
        if home is None:
            uow.financings.remove(financing.id)
        else:
            uow.financings.update(moved)
        if told is not None and (status is not financing.status or home is None):
            told.append(moved)
    raise RuntimeError(f"more than {_MOST} financings asked on holding {holding_id}")


def _home(
    uow: UnitOfWork, holding: Holding, financing: Financing, going: set[str]
) -> Holding | None:
    """The holding ``holding`` was split off, of the financing's borrower, of the same item and
    staying (the nearest such ancestor); None when there is none (a part passed by another
    holder, an item's first holding)."""
    parent_id = holding.parent_id
    for _ in range(_MOST):
        parent = uow.items.get_holding(parent_id) if parent_id else None
        if (
            parent is None
            or parent.holder_id != financing.borrower_id
            or parent.item_id != financing.item_id
        ):
            return None
        if parent.id not in going:
            return parent
        parent_id = parent.parent_id
    return None


def compensate(uow: UnitOfWork, op: ChainOp, told: list[Financing] | None = None) -> None:
    """Undo ``op``'s business change after the chain refused it: one step per command kind.

    Commands that change debt items, holdings, financings or repayments put back their undo
    log; commands that carry a fact in its own record forget the rows written for the op (a
    transfer the invoices it paid, a receipt step its records; a refused receipt pledge leaves
    its goods financing ``failed``);
    commands that change no business record (registry, notary, settings, tokens) need nothing.
    A financing kept on a holding or item the undo removes is moved or removed (``restore``),
    and appended to ``told``.
    """

    def put_back(log: UndoLog) -> None:
        restore(uow, log, told)

    c = op.command
    match c:
        case cmd.Transfer():
            put_back(op.undo)
            uow.transfer_payments.forget_op(op.op_id)  # the invoices it would have paid
        case (
            cmd.IssueItem()
            | cmd.Split()
            | cmd.Merge()
            | cmd.Repay()
            | cmd.AttestPayment()
            | cmd.PayWithToken()
            | cmd.ReleasePledge()
            | cmd.BuyBack()
            | cmd.ConfirmItem()
            | cmd.AcceptDilution()
        ):
            put_back(op.undo)
            if isinstance(c, cmd.AcceptDilution):
                uow.dilutions.forget_op(op.op_id)
        case cmd.Pledge() | cmd.AcceptPledge():
            # The financing stays on record as refused by the chain, the holding unpledged.
            put_back(replace(op.undo, added_financings=()))
            if isinstance(c, cmd.AcceptPledge):  # the offer carried the holding's undo
                holding = uow.items.get_holding(c.holding_id)
                if holding is not None and holding.pledge is not None:
                    uow.items.update_holding(replace(holding, pledge_bank_id=None, pledge=None))
            if op.subject_id is not None:
                financing = uow.financings.get(op.subject_id)
                if financing is not None:
                    uow.financings.update(replace(financing, status=FinancingStatus.FAILED))
        case cmd.Dispute() | cmd.WithdrawDispute() | cmd.ResolveDispute():
            put_back(op.undo)
            uow.disputes.forget_op(op.op_id)
        case cmd.ProposeDilution():
            put_back(op.undo)
            uow.dilutions.forget_op(op.op_id)
        case cmd.CancelItem():
            put_back(op.undo)
            uow.cancel_approvals.forget_op(op.op_id)
        case cmd.MarkDefault():
            put_back(op.undo)
            uow.default_marks.forget_op(op.op_id)
        case cmd.ReceiptAcceptPledge():
            # The holder's offer carried the pledge's record: without the bank's acceptance
            # nothing is pledged (an offer alone pledges nothing on the chain either).
            put_back(op.undo)
            uow.receipts.forget_op(c.offer_op_id)
            receipts.forget_financing_op(uow, replace(op, op_id=c.offer_op_id))  # failed
        case (
            cmd.ReceiptIssue()
            | cmd.ReceiptTransfer()
            | cmd.ReceiptPledge()
            | cmd.ReceiptReleasePledge()
            | cmd.ReceiptOffer()
            | cmd.ReceiptPay()
            | cmd.ReceiptCloseSale()
            | cmd.ReceiptConfirmRelease()
            | cmd.ReceiptRequestRelease()
        ):
            put_back(op.undo)
            uow.receipts.forget_op(op.op_id)
            receipts.forget_financing_op(uow, op)  # a pledge failed, a release undone
        case cmd.SetAccount():
            forget_account(uow, op.sender_org_id, op.op_id)  # the earlier account stands
        case cmd.RegisterFingerprints():
            uow.report_anchors.forget_op(op.op_id)
            uow.presentations.forget_op(op.op_id)
            # A financing's presentation (``fraud.queue_presentation``): refused, nothing is
            # lent on it (its pledge, queued behind it, fails with it); a decline stays one.
            financing = uow.financings.get(op.subject_id) if op.subject_id else None
            if financing is not None and financing.status in LENDABLE:
                uow.financings.update(replace(financing, status=FinancingStatus.FAILED))
        case (
            cmd.AdmitMember()
            | cmd.SuspendMember()
            | cmd.AnchorBatch()
            | cmd.SetMaxTenor()
            | cmd.SetGraceDays()
            | cmd.SetSettlementToken()
            | cmd.TokenMint()
            | cmd.TokenBurn()
            | cmd.SetMintCap()
            | cmd.SetIssuer()
            | cmd.SetAccountBank()
            | cmd.SetRepayment()
        ):
            put_back(op.undo)
        case cmd.LockRoute() | cmd.ChangeRoute() | cmd.SettleAtMaturity():
            # A route that was never locked or changed, a collection that never happened: its
            # payment (undo log), route event and the notices it gave go.
            put_back(op.undo)
            uow.settlement.forget_op(op.op_id)
        case _:
            assert_never(c)


def held_for_signature(pending: Sequence[ChainOp], ledger: Ledger) -> set[str]:
    """Ids of the ``pending`` ops the relay must leave alone: those of a sender holding its own
    key (the platform never signs for it; its signed transaction comes over the API,
    ``services.custody``) and every later op building on one of them (same records). One the
    chain has applied already (its sender sent the transaction itself, or a submission timed
    out) is not held: the relay records it from its log, signing nothing."""
    holds: Callable[[str], bool] | None = getattr(ledger, "holds_own_key", None)
    if holds is None:
        return set()
    own: dict[str, bool] = {}
    held: set[str] = set()
    touched: set[str] = set()
    for op in pending:
        records = set(op.undo.touches()) | {op.subject_id or op.op_id}
        if op.sender_org_id not in own:
            own[op.sender_org_id] = holds(op.sender_org_id)
        if (own[op.sender_org_id] or records & touched) and not ledger.is_applied(op):
            held.add(op.op_id)
            touched |= records
    return held


def _dependents(
    uow: UnitOfWork, ledger: Ledger, refused: ChainOp
) -> tuple[list[ChainOp], list[ChainOp]]:
    """Later queued ops whose business change builds on ``refused``'s (same records).

    Returns (not applied: to fail with it, applied already by the chain: left alone).
    """
    touched = set(refused.undo.touches()) | {refused.subject_id or refused.op_id}
    doomed: list[ChainOp] = []
    applied: list[ChainOp] = []
    for later in uow.outbox.pending(10_000):
        if (later.seq or 0) <= (refused.seq or 0) or later.op_id == refused.op_id:
            continue
        if not (later.undo.touches() & touched or later.subject_id in touched):
            continue
        if ledger.is_applied(later):
            applied.append(later)
            continue
        doomed.append(later)
        touched |= later.undo.touches() | {later.subject_id or later.op_id}
    return doomed, applied


def _fail(
    uow_factory: UnitOfWorkFactory, ledger: Ledger, op: ChainOp, reason: str
) -> list[tuple[str, str]]:
    """Mark ``op`` failed and undo its business change, with every queued op built on it.

    All in one transaction: the store is as it was before ``op`` (and the ops that depended on
    it) were queued. Returns ``(op_id, reason)`` of each op failed.
    """
    failed: list[tuple[str, str]] = []
    told: list[Financing] = []  # failed (or removed) by an undo: their holding went
    with uow_factory() as uow:
        current = uow.outbox.get(op.op_id) or op
        doomed, applied = _dependents(uow, ledger, current)
        if applied:
            # The chain applied a later op on the same records: putting back this op's
            # before-images would erase that op's change. Record the refusal only; `audit`
            # names the difference for the operator.
            names = ", ".join(o.op_id for o in applied)
            reason = f"{reason} (not undone in the store: {names} applied after it)"
        else:
            for later in reversed(doomed):
                compensate(uow, later, told)
                why = f"not applied: it depends on {op.op_id}, which the chain refused"
                uow.outbox.update(
                    replace(later, status=OpStatus.REFUSED, error=why, attempts=later.attempts)
                )
                failed.append((later.op_id, why))
            compensate(uow, current, told)
        status = OpStatus.FAILED if applied else OpStatus.REFUSED
        uow.outbox.update(
            replace(current, status=status, error=reason, attempts=current.attempts + 1)
        )
        if not applied:  # the parties of a financing that failed with it are told
            failing: dict[str, Financing] = {}
            for subject in dict.fromkeys(o.subject_id for o in (current, *doomed)):
                financing = uow.financings.get(subject) if subject else None
                if financing is not None:
                    failing[financing.id] = financing
            for financing in told:  # as they are now, or as they were when they went
                failing[financing.id] = uow.financings.get(financing.id) or financing
            for financing in failing.values():
                if financing.status is FinancingStatus.FAILED:
                    webhooks.financing_failed(uow, financing, reason)
        uow.commit()
    failed.insert(0, (op.op_id, reason))
    return failed


class SenderClaims(Protocol):
    """One relay per sender at a time across processes (``adapters.db.relay_claims``)."""

    def claim(self, sender_org_id: str, *, wait: bool) -> AbstractContextManager[bool]:
        """Hold the sender for the block; yields False when another relay holds it and
        ``wait`` is False."""
        ...


@runtime_checkable
class NonceResync(Protocol):
    """A ledger that can forget its count of a sender's nonces (another process sent)."""

    def resync_nonce(self, org_id: str) -> None:
        """Ask the node for the sender's next nonce before its next transaction."""
        ...


@dataclass(slots=True)
class _Tally:
    applied: int = 0
    recovered: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    gone: set[str] = field(default_factory=set)

    def result(self) -> RelayResult:
        return RelayResult(self.applied, self.recovered, tuple(self.failed))


def _without_presented_elsewhere(
    uow_factory: UnitOfWorkFactory, ledger: Ledger, run: Sequence[ChainOp], tally: _Tally
) -> list[ChainOp]:
    """``run`` less each financing's presentation showing an invoice another consortium
    member was presented first (``fraud.presented_elsewhere``, asked of the chain now, one op
    after the other): those are refused as the chain would, with the pledge built on them."""
    kept: list[ChainOp] = []
    asked = [op for op in run if op.op_id not in tally.gone and _presentation(op)]
    first: dict[str, str | None] = {}
    if asked:  # the run's presentations asked in one transaction
        with uow_factory() as uow:
            first = {op.op_id: _refusal_in(uow, ledger, op) for op in asked}
    refusing = False  # after a refusal, each is asked again alone (its undo changed the store)
    for op in run:
        if op.op_id in tally.gone:
            continue
        alone = refusing and _presentation(op)
        reason = presentation_refusal(uow_factory, ledger, op) if alone else first.get(op.op_id)
        if reason is not None:
            refused = _fail(uow_factory, ledger, op, reason)
            tally.gone.update(op_id for op_id, _ in refused)
            tally.failed.extend(refused)
            refusing = True
            continue
        kept.append(op)
    return kept


def _presentation(op: ChainOp) -> bool:
    return isinstance(op.command, cmd.RegisterFingerprints) and bool(op.subject_id)


def presentation_refusal(uow_factory: UnitOfWorkFactory, ledger: Ledger, op: ChainOp) -> str | None:
    """Why ``op``, a financing's presentation (``fraud.queue_presentation``), must not be sent:
    the chain shows an invoice of it presented to another consortium member first; None for
    any other op, or when none was. Asked before the relay sends it, and before a presenter
    holding its own key has its signed transaction sent (``services.custody``)."""
    if not _presentation(op):
        return None
    with uow_factory() as uow:
        return _refusal_in(uow, ledger, op)


def _refusal_in(uow: UnitOfWork, ledger: Ledger, op: ChainOp) -> str | None:
    """``presentation_refusal`` in the caller's unit of work."""
    if not _presentation(op) or op.subject_id is None:
        return None
    ours = uow.financings.get(op.subject_id) is not None
    elsewhere = fraud.presented_elsewhere(uow, ledger, op) if ours else ()
    return PRESENTED_ELSEWHERE.format(count=len(elsewhere)) if elsewhere else None


def _apply_run(
    uow_factory: UnitOfWorkFactory, ledger: Ledger, whole: Sequence[ChainOp], tally: _Tally
) -> None:
    """Apply one sender's consecutive ops pipelined; on a refusal one by one to find it."""
    run = _without_presented_elsewhere(
        uow_factory, ledger, [op for op in whole if op.op_id not in tally.gone], tally
    )
    if not run:
        return
    done: list[tuple[ChainOp, ChainReceipt]] = []
    try:
        done = list(zip(run, ledger.apply_many(run), strict=True))
    except ChainRejectedError:
        # Somewhere in the run the chain refused an op: apply one by one to find it,
        # keeping every op that does apply (those applied already come back as such).
        for op in run:
            if op.op_id in tally.gone:
                continue
            try:
                done.append((op, ledger.apply(op)))
            except ChainRejectedError as exc:
                refused = _fail(uow_factory, ledger, op, exc.reason)
                tally.gone.update(op_id for op_id, _ in refused)
                tally.failed.extend(refused)
    _record_all(uow_factory, done)
    for _op, receipt in done:
        if receipt.already_applied:
            tally.recovered += 1
        else:
            tally.applied += 1


def relay(
    *,
    uow_factory: UnitOfWorkFactory,
    ledger: Ledger,
    limit: int = 10_000,
    claims: SenderClaims | None = None,
    wait: bool = True,
) -> RelayResult:
    """Apply every pending operation (up to ``limit``), oldest first.

    Without ``claims`` the caller is the only relay (it holds the store-wide chain-writer
    lock: SQLite, tests, the demo). With ``claims`` (PostgreSQL) the relay works sender by
    sender, each under its claim (``relay_by_sender``); ``wait`` False skips a sender another
    relay holds (a worker), True waits for it (a request that reports its refusals).
    """
    if claims is not None:
        return relay_by_sender(
            uow_factory=uow_factory, ledger=ledger, claims=claims, limit=limit, wait=wait
        )
    with uow_factory() as uow:
        pending = uow.outbox.pending(limit)
    held = held_for_signature(pending, ledger)  # waiting for their senders' own signatures
    pending = [op for op in pending if op.op_id not in held]
    tally = _Tally()
    for whole in _runs(pending):
        _apply_run(uow_factory, ledger, whole, tally)
    return tally.result()


def _records(op: ChainOp) -> frozenset[str]:
    """What an op builds on or changes: its undo log's records, its subject, its own id, its
    sender, and every ``*_id`` field of its command (an item, a holding, an offer, a member)."""
    named = {
        str(value)
        for name in getattr(op.command, "__dataclass_fields__", {})
        if name.endswith("_id") and (value := getattr(op.command, name))
    }
    return frozenset(
        {op.op_id, op.sender_org_id, *named, *op.undo.touches()}
        | ({op.subject_id} if op.subject_id else set())
    )


def _global(op: ChainOp) -> bool:
    """An op on no particular record (a registry setting, fingerprints, a mint cap): every
    later op of another sender waits for it, and it for every earlier one."""
    return not (op.subject_id or op.undo.touches()) and not any(
        name.endswith("_id") and getattr(op.command, name)
        for name in getattr(op.command, "__dataclass_fields__", {})
    )


def eligible(pending: Sequence[ChainOp], sender_org_id: str) -> list[ChainOp]:
    """The ops of ``sender_org_id`` that may be sent now: its queue up to the first op that
    builds on an earlier op of another sender still open (shared records, or either of the
    two global), so that no op overtakes one it depends on. ``pending`` is in queue order."""
    others: list[tuple[frozenset[str], bool]] = []
    ready: list[ChainOp] = []
    for op in pending:
        if op.sender_org_id != sender_org_id:
            others.append((_records(op), _global(op)))
            continue
        mine, is_global = _records(op), _global(op)
        if any(is_global or theirs_global or (mine & theirs) for theirs, theirs_global in others):
            break
        ready.append(op)
    return ready


def _before(ops: Sequence[ChainOp], held: set[str]) -> list[ChainOp]:
    """``ops`` up to the first held one."""
    ready: list[ChainOp] = []
    for op in ops:
        if op.op_id in held:
            break
        ready.append(op)
    return ready


def relay_by_sender(
    *,
    uow_factory: UnitOfWorkFactory,
    ledger: Ledger,
    claims: SenderClaims,
    limit: int = 10_000,
    wait: bool = False,
) -> RelayResult:
    """Apply pending operations sender by sender, each sender under its claim.

    Under the claim the sender's open ops are read again (another relay may have sent them)
    and those eligible now (``eligible``) are sent in one pipelined run. Rounds repeat while
    they make progress (an op that waited for another sender's may go once that one is
    applied), at most once per op first found. Ops first found pending that another relay
    refused meanwhile are reported as failed too, so a caller learns its ops' refusals.
    """
    with uow_factory() as uow:
        first = uow.outbox.pending(limit)
    tally = _Tally()
    skipped: set[str] = set()
    for _round in range(len(first) + 1):
        with uow_factory() as uow:
            pending = uow.outbox.pending(limit)
        senders = [s for s in dict.fromkeys(op.sender_org_id for op in pending) if s not in skipped]
        progress = False
        for sender in senders:
            with claims.claim(sender, wait=wait) as claimed:
                if not claimed:
                    skipped.add(sender)  # another relay sends its ops
                    continue
                with uow_factory() as uow:
                    open_ops = uow.outbox.pending(limit)
                ready = [op for op in eligible(open_ops, sender) if op.op_id not in tally.gone]
                ready = _before(ready, held_for_signature(open_ops, ledger))  # sign themselves
                if not ready:
                    continue
                if isinstance(ledger, NonceResync):
                    ledger.resync_nonce(sender)  # another process may have sent for it
                _apply_run(uow_factory, ledger, ready, tally)
                progress = True
        if not progress:
            break
    reported = {op_id for op_id, _ in tally.failed}
    with uow_factory() as uow:
        for op in first:
            if op.op_id in reported:
                continue
            now = uow.outbox.get(op.op_id)
            if now is not None and now.status in (OpStatus.REFUSED, OpStatus.FAILED):
                tally.failed.append((op.op_id, now.error or "refused by the chain"))
    return tally.result()
