"""Debt items: issue, split, pass up the chain, and the rest of an item's life.

After issue: the debtor's later confirmation or dispute, merges, dilution by a credit note both
parties agree, pledge release, payments (attested by the account bank, or in settlement
tokens), default with the pledged holdings passing to their banks, buy-back, cancellation;
and the views ``describe_item`` and ``item_history``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Literal

from fourflow.domain.debt import (
    AssetType,
    Basis,
    DebtItem,
    Holding,
    HoldingClaim,
    ItemStatus,
    day_number,
    route_payment,
)
from fourflow.domain.documents import DocumentKind
from fourflow.domain.errors import (
    ConflictError,
    DomainValueError,
    NotFoundError,
    PermissionDeniedError,
)
from fourflow.domain.facts import (
    CancelApproval,
    DefaultMark,
    DilutionEvent,
    DilutionStep,
    DisputeAction,
    DisputeEvent,
)
from fourflow.domain.financing import Financing, FinancingStatus
from fourflow.domain.findings import VerificationStatus
from fourflow.domain.money import Money
from fourflow.domain.parties import Role
from fourflow.services import commands as cmd
from fourflow.services import evidence
from fourflow.services.common import (
    canonical_json,
    chain_address,
    get_holding,
    get_item,
    get_org,
    get_trade,
    is_disputed,
    new_id,
    refuse_if_disputed,
)
from fourflow.services.ports import (
    ChainOp,
    Clock,
    Ledger,
    OpKind,
    Repayment,
    RoutedPart,
    UnitOfWork,
    UnitOfWorkFactory,
)
from fourflow.services.verification import load_trade
from fourflow.verification.rules import open_receivable

DEFAULT_MAX_TENOR_DAYS = 365
CONFIRMATION_VALIDITY = dt.timedelta(days=1)


class IssuanceRefusedError(ConflictError):
    """A debt item cannot be issued for the trade; ``reasons`` says why."""

    def __init__(self, trade_id: str, reasons: list[str]) -> None:
        self.trade_id = trade_id
        self.reasons = reasons
        super().__init__(f"trade {trade_id}: no debt item can be issued: " + "; ".join(reasons))


def _trade_hash(uow: UnitOfWork, document_ids: tuple[str, ...]) -> str:
    fingerprints = []
    for doc_id in document_ids:
        stored = uow.documents.get(doc_id)
        if stored is not None:
            fingerprints.append(stored.fingerprint)
    return hashlib.sha256(canonical_json(sorted(fingerprints))).hexdigest()


def issue_item(
    *,
    uow_factory: UnitOfWorkFactory,
    ledger: Ledger,
    clock: Clock,
    trade_id: str,
    as_of: dt.date,
    confirm: bool,
    asset_type: AssetType = AssetType.RECEIVABLE,
    max_tenor_days: int = DEFAULT_MAX_TENOR_DAYS,
) -> DebtItem:
    """Issue the digital debt item for a verified trade's open receivable.

    With ``confirm`` the debtor signs an EIP-712 confirmation of the payable (basis
    ``confirmed``); without it the item rests on the verified four flows (basis ``verified``),
    and an open fraud signal on the trade refuses it (``evidence.open_signals``).
    """
    signals = (
        [] if confirm
        else evidence.open_signals(uow_factory=uow_factory, trade_id=trade_id, as_of=as_of)
    )  # fmt: skip
    with uow_factory() as uow:
        record = get_trade(uow, trade_id)
        reasons: list[str] = []
        if record.report is None or record.report_hash is None:
            raise IssuanceRefusedError(trade_id, ["the trade has not been verified"])
        if record.report.status is VerificationStatus.FAILED:
            reasons.extend(
                f"{f.code}: {f.message}" for f in record.report.findings if f.severity == "error"
            )
            raise IssuanceRefusedError(trade_id, reasons or ["verification failed"])
        if signals:  # on the evidence alone, an open fraud signal refuses it
            raise IssuanceRefusedError(
                trade_id, [f"open fraud signal {x.fraud.value}: {x.message}" for x in signals]
            )
        if uow.items.by_trade(trade_id) is not None:
            raise ConflictError(f"trade {trade_id} already has a debt item")
        trade = load_trade(uow, record)
        receivable = open_receivable(trade)
        if receivable is None or receivable.amount <= 0:
            raise IssuanceRefusedError(trade_id, ["nothing is owed on the trade"])
        due_dates = [d.due_date for d in trade.of_kind(DocumentKind.INVOICE) if d.due_date]
        if not due_dates:
            raise IssuanceRefusedError(trade_id, ["no invoice states a due date"])
        maturity = max(due_dates)
        if maturity <= as_of:
            raise IssuanceRefusedError(trade_id, [f"the receivable fell due on {maturity}"])
        if (maturity - as_of).days > max_tenor_days:
            raise IssuanceRefusedError(
                trade_id, [f"tenor {(maturity - as_of).days} days exceeds {max_tenor_days}"]
            )
        creditor = get_org(uow, record.seller_id)
        debtor = get_org(uow, record.buyer_id)
        item = DebtItem(
            id=new_id("item"),
            trade_id=trade_id,
            debtor_id=debtor.id,
            creditor_id=creditor.id,
            currency=receivable.currency,
            face_value=receivable.minor,
            issue_date=as_of,
            maturity_date=maturity,
            basis=Basis.CONFIRMED if confirm else Basis.VERIFIED,
            asset_type=asset_type,
            report_hash=record.report_hash,
        )
        holding = Holding(
            id=new_id("holding"),
            item_id=item.id,
            holder_id=creditor.id,
            amount=item.face_value,
            outstanding=item.face_value,
        )
        command = cmd.IssueItem(
            item_id=item.id,
            holding_id=holding.id,
            debtor_address=chain_address(debtor),
            creditor_address=chain_address(creditor),
            currency=item.currency,
            face_value=item.face_value,
            issue_day=day_number(as_of),
            maturity_day=day_number(maturity),
            asset_type=int(asset_type),
            trade_hash=_trade_hash(uow, record.document_ids),
            report_hash=record.report_hash,
        )
        if confirm:
            deadline = int((clock.now() + CONFIRMATION_VALIDITY).timestamp())
            signed = ledger.sign_confirmation(debtor.id, command.terms(), deadline)
            command = replace(command, confirmation=signed)
        uow.items.add(item)
        uow.items.add_holding(holding)
        _queue(uow, command, creditor.id, item.id)
        uow.commit()
    return item


def _movable(uow: UnitOfWork, holding_id: str, actor_id: str, amount: int) -> Holding:
    uow.items.lock_holding(holding_id)  # one split or transfer of a holding at a time
    holding = get_holding(uow, holding_id)
    if holding.holder_id != actor_id:
        raise PermissionDeniedError(f"holding {holding_id} is not held by {actor_id}")
    if holding.locked:
        raise ConflictError(f"holding {holding_id} is pledged and locked")
    if amount <= 0:
        raise DomainValueError("amount must be positive")
    if amount > holding.outstanding:
        raise DomainValueError(
            f"amount {amount} exceeds the holding's outstanding {holding.outstanding}"
        )
    item = get_item(uow, holding.item_id)
    if item.status is ItemStatus.SETTLED:
        raise ConflictError(f"debt item {item.id} is settled")
    refuse_if_disputed(uow, item.id)  # the chain refuses it too: say so before queueing
    return holding


def _carve(uow: UnitOfWork, holding: Holding, amount: int, new_holder: str) -> Holding:
    uow.items.update_holding(
        replace(holding, amount=holding.amount - amount, outstanding=holding.outstanding - amount)
    )
    child = Holding(
        id=new_id("holding"),
        item_id=holding.item_id,
        holder_id=new_holder,
        amount=amount,
        outstanding=amount,
        parent_id=holding.id,
        acquired_from=holding.holder_id if new_holder != holding.holder_id else None,
    )
    uow.items.add_holding(child)
    return child


def split(
    *, uow_factory: UnitOfWorkFactory, holding_id: str, amount: int, actor_id: str
) -> Holding:
    """Split ``amount`` (minor units) off a holding into a new holding of the same holder."""
    with uow_factory() as uow:
        holding = _movable(uow, holding_id, actor_id, amount)
        child = _carve(uow, holding, amount, holding.holder_id)
        _queue(uow, cmd.Split(holding.id, child.id, amount), actor_id, holding.item_id)
        uow.commit()
    return child


def transfer(
    *,
    uow_factory: UnitOfWorkFactory,
    holding_id: str,
    amount: int,
    to_org_id: str,
    actor_id: str,
) -> Holding:
    """Pass ``amount`` of a holding to another member (e.g. the holder's own supplier)."""
    with uow_factory() as uow:
        if to_org_id == actor_id:
            raise DomainValueError("cannot transfer a holding to its own holder")
        recipient = get_org(uow, to_org_id)
        holding = _movable(uow, holding_id, actor_id, amount)
        child = _carve(uow, holding, amount, recipient.id)
        command = cmd.Transfer(holding.id, child.id, chain_address(recipient), amount)
        _queue(uow, command, actor_id, holding.item_id)
        uow.commit()
    return child


# --------------------------------------------------------------------------- the item's life
#
# Each function below changes the store and queues its chain operation in one transaction, as
# ``issue_item`` does; the relay applies it idempotently by op id.

DEFAULT_GRACE_DAYS = 5
PaymentMethod = Literal["debtor", "attested", "token"]
_PAYMENT_METHODS = ("attested", "debtor", "token")


def text_hash(text: str) -> str:
    """Hex SHA-256 of a text (dispute reasons, bank references) as the chain records it."""
    if not text.strip():
        raise DomainValueError("the text to record must not be empty")
    return hashlib.sha256(text.strip().encode("utf-8")).hexdigest()


def _queue(uow: UnitOfWork, command: cmd.Command, sender: str, subject: str) -> ChainOp:
    """Queue a chain command in the caller's transaction and return its op."""
    op = ChainOp(new_id("op"), command, sender, subject_id=subject)
    uow.outbox.add(op)
    return op


def _dilutions(
    uow: UnitOfWork, item_id: str, step: DilutionStep, digest: str
) -> list[DilutionEvent]:
    """The item's dilutions at ``step`` by the credit note hashed ``digest``, oldest first."""
    return [
        d
        for d in uow.dilutions.for_item(item_id)
        if d.step is step and d.credit_note_hash == digest
    ]


def is_cancelled(uow: UnitOfWork, item_id: str) -> bool:
    """True once both creditor and debtor have approved the item's cancellation."""
    item = get_item(uow, item_id)
    parties = {a.party_id for a in uow.cancel_approvals.for_item(item_id)}
    return {item.creditor_id, item.debtor_id} <= parties


def _open_item(uow: UnitOfWork, item_id: str, *, frozen_by_dispute: bool) -> DebtItem:
    """The item, refusing one settled, cancelled or (when it matters) disputed."""
    item = get_item(uow, item_id)
    if item.status is ItemStatus.SETTLED:
        raise ConflictError(f"debt item {item_id} is settled")
    if is_cancelled(uow, item_id):
        raise ConflictError(f"debt item {item_id} is cancelled")
    if frozen_by_dispute:
        refuse_if_disputed(uow, item_id)
    return item


def item_outstanding(uow: UnitOfWork, item_id: str) -> int:
    """What the debtor still owes: the sum of the holdings' outstanding (net of dilutions)."""
    return sum(h.outstanding for h in uow.items.holdings(item_id))


def confirm_item(
    *, uow_factory: UnitOfWorkFactory, ledger: Ledger, clock: Clock, item_id: str, actor_id: str
) -> DebtItem:
    """The debtor confirms an item issued on the evidence: its EIP-712 signature, basis 2."""
    with uow_factory() as uow:
        item = _open_item(uow, item_id, frozen_by_dispute=True)
        if actor_id != item.debtor_id:
            raise PermissionDeniedError(f"only the debtor may confirm debt item {item_id}")
        if item.basis is Basis.CONFIRMED:
            raise ConflictError(f"debt item {item_id} is already confirmed")
        if item.status is ItemStatus.PENDING:
            raise ConflictError(f"debt item {item_id} is not on the chain yet")
        debtor, creditor = get_org(uow, item.debtor_id), get_org(uow, item.creditor_id)
        terms = cmd.ConfirmationTerms(
            item_id=item.id,
            debtor_address=chain_address(debtor),
            creditor_address=chain_address(creditor),
            currency=item.currency,
            face_value=item.face_value,
            maturity_day=day_number(item.maturity_date),
            report_hash=item.report_hash,
        )
        deadline = int((clock.now() + CONFIRMATION_VALIDITY).timestamp())
        signed = ledger.sign_confirmation(debtor.id, terms, deadline)
        confirmed = replace(item, basis=Basis.CONFIRMED)
        uow.items.update(confirmed)
        _queue(uow, cmd.ConfirmItem(item.id, signed), actor_id, item.id)
        uow.commit()
    return confirmed


def dispute_item(
    *, uow_factory: UnitOfWorkFactory, item_id: str, reason: str, actor_id: str, on: dt.date
) -> str:
    """The debtor disputes an item on business day ``on`` (freezes moves and pledges).

    Returns the reason's hash. The day is kept with the dispute: the risk engine counts the
    debtor's disputes as known from that day on.
    """
    with uow_factory() as uow:
        item = _open_item(uow, item_id, frozen_by_dispute=True)
        if actor_id != item.debtor_id:
            raise PermissionDeniedError(f"only the debtor may dispute debt item {item_id}")
        if on < item.issue_date:
            raise DomainValueError(
                f"a dispute of debt item {item_id} cannot be dated {on}, before the item's "
                f"issue date {item.issue_date}"
            )
        digest = text_hash(reason)
        command = cmd.Dispute(item_id, digest, reason=reason.strip(), on=on)
        op = _queue(uow, command, actor_id, item_id)
        uow.disputes.add(
            DisputeEvent(
                item_id, DisputeAction.RAISED, actor_id, op.op_id, on, reason.strip(), digest
            )
        )
        uow.commit()
    return digest


def lift_dispute(
    *,
    uow_factory: UnitOfWorkFactory,
    item_id: str,
    actor_id: str,
    resolution: str | None = None,
    operator_id: str | None = None,
) -> None:
    """Lift a dispute: the debtor withdraws it, or the operator records a resolution."""
    with uow_factory() as uow:
        item = get_item(uow, item_id)
        if not is_disputed(uow, item_id):
            raise ConflictError(f"debt item {item_id} is not disputed")
        if actor_id == item.debtor_id and resolution is None:
            op = _queue(uow, cmd.WithdrawDispute(item_id), actor_id, item_id)
            uow.disputes.add(DisputeEvent(item_id, DisputeAction.WITHDRAWN, actor_id, op.op_id))
        elif operator_id is not None and actor_id == operator_id and resolution:
            digest = text_hash(resolution)
            command = cmd.ResolveDispute(item_id, digest, resolution=resolution.strip())
            op = _queue(uow, command, actor_id, item_id)
            uow.disputes.add(
                DisputeEvent(
                    item_id,
                    DisputeAction.RESOLVED,
                    actor_id,
                    op.op_id,
                    None,
                    resolution.strip(),
                    digest,
                )
            )
        else:
            raise PermissionDeniedError(
                "a dispute is lifted by the debtor (withdrawal) or by the operator "
                "with a recorded resolution"
            )
        uow.commit()


def merge(
    *, uow_factory: UnitOfWorkFactory, holding_id: str, other_holding_id: str, actor_id: str
) -> Holding:
    """Merge another holding of the same item and holder into ``holding_id``."""
    with uow_factory() as uow:
        if holding_id == other_holding_id:
            raise DomainValueError("cannot merge a holding with itself")
        into = get_holding(uow, holding_id)
        other = get_holding(uow, other_holding_id)
        for h in (into, other):
            if h.holder_id != actor_id:
                raise PermissionDeniedError(f"holding {h.id} is not held by {actor_id}")
            if h.locked:
                raise ConflictError(f"holding {h.id} is pledged and locked")
        if into.item_id != other.item_id:
            raise DomainValueError("the holdings belong to different debt items")
        if other.outstanding == 0:
            raise DomainValueError(f"holding {other.id} has nothing outstanding to merge")
        _open_item(uow, into.item_id, frozen_by_dispute=True)
        merged = replace(
            into,
            amount=into.amount + other.amount,
            outstanding=into.outstanding + other.outstanding,
        )
        uow.items.update_holding(merged)
        uow.items.update_holding(replace(other, amount=0, outstanding=0))
        _queue(uow, cmd.Merge(into.id, other.id), actor_id, into.item_id)
        uow.commit()
    return merged


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
        item = _open_item(uow, item_id, frozen_by_dispute=False)
        if actor_id != item.creditor_id:
            raise PermissionDeniedError(f"only the creditor may propose a dilution of {item_id}")
        if amount <= 0:
            raise DomainValueError("dilution amount must be positive")
        digest = credit_note_hash(uow, credit_note)
        if _dilutions(uow, item_id, DilutionStep.PROPOSED, digest):
            raise ConflictError(f"credit note {credit_note} was already used on {item_id}")
        dilution_plan(uow.items.holdings(item_id), item.creditor_id, amount)
        command = cmd.ProposeDilution(item_id, amount, digest, credit_note=credit_note)
        op = _queue(uow, command, actor_id, item_id)
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
        item = _open_item(uow, item_id, frozen_by_dispute=False)
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
        op = _queue(uow, cmd.AcceptDilution(item_id, digest, amount), actor_id, item_id)
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


def amount_of(
    *,
    uow_factory: UnitOfWorkFactory,
    amount: str | Decimal,
    item_id: str | None = None,
    holding_id: str | None = None,
) -> Money:
    """``amount`` (a decimal) as money in the currency of the item, or of the holding's item;
    finer than the currency's minor unit is refused."""
    with uow_factory() as uow:
        if holding_id is not None:
            item_id = get_holding(uow, holding_id).item_id
        if item_id is None:
            raise DomainValueError("an amount needs the item or holding it is of")
        currency = get_item(uow, item_id).currency
    return Money.of(amount, currency)


def release_pledge(*, uow_factory: UnitOfWorkFactory, holding_id: str, actor_id: str) -> Holding:
    """The pledgee bank releases a pledge (repaid off chain, or waived): the holding is free."""
    with uow_factory() as uow:
        holding = get_holding(uow, holding_id)
        if not holding.locked or holding.pledge is None:
            raise ConflictError(f"holding {holding_id} is not pledged")
        if holding.pledge_bank_id != actor_id:
            raise PermissionDeniedError(f"only the pledgee bank may release holding {holding_id}")
        released = replace(holding, pledge=replace(holding.pledge, principal=0, interest=0))
        uow.items.update_holding(released)
        financing = uow.financings.by_holding(holding_id)
        if financing is not None:
            uow.financings.update(replace(financing, status=FinancingStatus.REPAID))
        _queue(uow, cmd.ReleasePledge(holding_id), actor_id, holding.item_id)
        uow.commit()
    return released


def pay(
    *,
    uow_factory: UnitOfWorkFactory,
    ledger: Ledger,
    item_id: str,
    amount: int,
    value_date: dt.date,
    reference: str,
    payer_id: str,
    method: PaymentMethod = "attested",
) -> Repayment:
    """Record a payment of the item and route it, banks first, as the contract will.

    ``attested``: the debtor's account bank attests a payment it saw on its statement (the
    camt.054 entry's amount, value date and reference); ``token``: the debtor pays in settlement
    tokens; ``debtor``: the debtor declares it (``repay``). The same reference is refused twice
    for one item, so a statement ingested again cannot pay twice. A value date after the
    chain's own today is refused before anything is written (the contract would refuse it).
    """
    if method not in _PAYMENT_METHODS:
        raise DomainValueError(f"payment method {method!r} is not one of {list(_PAYMENT_METHODS)}")
    with uow_factory() as uow:
        uow.items.lock_item(item_id)  # one payment on an item at a time: routing reads it
        item = get_item(uow, item_id)
        if is_cancelled(uow, item_id):
            raise ConflictError(f"debt item {item_id} is cancelled")
        payer = get_org(uow, payer_id)
        if method == "attested" and not payer.has_role(Role.BANK):
            raise PermissionDeniedError(f"{payer.name} is not a bank: it cannot attest payments")
        if method != "attested" and payer_id != item.debtor_id:
            raise PermissionDeniedError(f"only the debtor pays debt item {item_id} directly")
        if not reference.strip():
            raise DomainValueError("a payment needs its bank reference")
        previous = uow.repayments.for_item(item_id)
        if any(r.reference == reference for r in previous):
            raise ConflictError(f"payment {reference} is already recorded on {item_id}")
        outstanding = item_outstanding(uow, item_id)
        if item.status is ItemStatus.SETTLED or outstanding == 0:
            raise ConflictError(f"debt item {item_id} is already settled")
        if amount <= 0:
            raise DomainValueError("payment amount must be positive")
        if amount > outstanding:
            raise DomainValueError(f"payment {amount} exceeds the outstanding {outstanding}")
        if previous and value_date < max(r.value_date for r in previous):
            raise DomainValueError("value date is before an earlier payment of this item")
        chain_today = ledger.chain_today()
        if value_date > chain_today:
            raise DomainValueError(
                f"value date {value_date} is in the future: the chain's clock is at {chain_today}"
            )
        repayment = _route(uow, item, amount, value_date, reference)
        value_day = day_number(value_date)
        command: cmd.Command
        if method == "attested":
            command = cmd.AttestPayment(
                item_id, amount, value_day, text_hash(reference), bank_reference=reference
            )
        elif method == "token":
            command = cmd.PayWithToken(item_id, amount, value_day)
        else:
            command = cmd.Repay(item_id, amount, value_day)
        _queue(uow, command, payer_id, item_id)
        uow.commit()
    return repayment


def _route(
    uow: UnitOfWork, item: DebtItem, amount: int, value_date: dt.date, reference: str
) -> Repayment:
    """Route a payment over the holdings (domain rule) and store the parts and new states."""
    holdings = uow.items.holdings(item.id)
    claims = [HoldingClaim(h.id, h.holder_id, h.outstanding, h.pledge) for h in holdings]
    routed, after = route_payment(claims, amount, day_number(value_date))
    payment_id = new_id("pay")
    parts: list[RoutedPart] = []
    by_id = {h.id: h for h in holdings}
    after_by_id = {c.holding_id: c for c in after}
    for part in routed:
        claim, holding = after_by_id[part.holding_id], by_id[part.holding_id]
        bank = holding.pledge_bank_id or ""
        for kind, payee, value in (
            ("bank_interest", bank, part.to_bank_interest),
            ("bank_principal", bank, part.to_bank - part.to_bank_interest),
            ("holder", holding.holder_id, part.to_holder),
        ):
            if value:
                parts.append(RoutedPart(payment_id, item.id, holding.id, payee, kind, value))
        uow.items.update_holding(
            replace(
                holding,
                outstanding=claim.outstanding,
                pledge=claim.pledge,
                received=holding.received + part.to_holder,
            )
        )
        if holding.locked and claim.pledge is not None and not claim.pledge.active:
            financing = uow.financings.by_holding(holding.id)
            if financing is not None:
                uow.financings.update(replace(financing, status=FinancingStatus.REPAID))
    repayment = Repayment(payment_id, item.id, amount, value_date, reference, tuple(parts))
    uow.repayments.add(repayment)
    paid = item.paid + amount
    left = sum(after_by_id[h.id].outstanding for h in holdings)
    uow.items.update(
        replace(item, paid=paid, status=ItemStatus.SETTLED if left == 0 else item.status)
    )
    return repayment


def mark_default(
    *,
    uow_factory: UnitOfWorkFactory,
    item_id: str,
    actor_id: str,
    as_of: dt.date,
    operator_id: str | None = None,
    grace_days: int = DEFAULT_GRACE_DAYS,
) -> list[Holding]:
    """Mark an overdue item defaulted: each pledged holding passes to its bank (recourse kept).

    Returns the holdings that passed to banks. Only the operator or a bank may do it, and only
    past maturity plus ``grace_days`` while something is unpaid.
    """
    with uow_factory() as uow:
        item = _open_item(uow, item_id, frozen_by_dispute=False)
        actor = get_org(uow, actor_id)
        if actor_id != operator_id and not actor.has_role(Role.BANK):
            raise PermissionDeniedError(f"{actor.name} may not mark a default")
        if item.status is ItemStatus.DEFAULTED:
            raise ConflictError(f"debt item {item_id} is already defaulted")
        if item.status_on(as_of, grace_days) is not ItemStatus.OVERDUE:
            raise ConflictError(
                f"debt item {item_id} is not overdue on {as_of} "
                f"(maturity {item.maturity_date}, grace {grace_days} days)"
            )
        foreclosed: list[Holding] = []
        for holding in uow.items.holdings(item_id):
            if not holding.locked or holding.pledge is None or holding.pledge_bank_id is None:
                continue
            closed = replace(
                holding,
                holder_id=holding.pledge_bank_id,
                acquired_from=holding.holder_id,
                pledge=replace(holding.pledge, principal=0, interest=0),
            )
            uow.items.update_holding(closed)
            foreclosed.append(closed)
            financing = uow.financings.by_holding(holding.id)
            if financing is not None and financing.status is FinancingStatus.ACTIVE:
                uow.financings.update(replace(financing, status=FinancingStatus.DEFAULTED))
        uow.items.update(replace(item, status=ItemStatus.DEFAULTED))
        op = _queue(uow, cmd.MarkDefault(item_id), actor_id, item_id)
        uow.default_marks.add(DefaultMark(item_id, actor_id, op.op_id, as_of))
        uow.commit()
    return foreclosed


def buy_back(*, uow_factory: UnitOfWorkFactory, holding_id: str, actor_id: str) -> Holding:
    """The pledgor takes a foreclosed holding back from its bank (paying the recourse price)."""
    with uow_factory() as uow:
        holding = get_holding(uow, holding_id)
        if holding.acquired_from != actor_id or holding.pledge_bank_id != holding.holder_id:
            raise PermissionDeniedError(
                f"{actor_id} is not the pledgor of foreclosed holding {holding_id}"
            )
        item = get_item(uow, holding.item_id)
        if item.status is not ItemStatus.DEFAULTED and not uow.default_marks.for_item(item.id):
            raise ConflictError(f"holding {holding_id} was never foreclosed")
        back = replace(holding, holder_id=actor_id, acquired_from=holding.holder_id)
        uow.items.update_holding(back)
        financing = uow.financings.by_holding(holding_id)
        if financing is not None and financing.status is FinancingStatus.DEFAULTED:
            # The pledgor pays the bank the recourse price: the financing is repaid.
            uow.financings.update(replace(financing, status=FinancingStatus.REPAID))
        _queue(uow, cmd.BuyBack(holding_id), actor_id, holding.item_id)
        uow.commit()
    return back


def cancel_item(*, uow_factory: UnitOfWorkFactory, item_id: str, actor_id: str) -> bool:
    """Creditor and debtor each approve cancelling an unmoved, unpaid, never-pledged item.

    Returns True when this approval completes the cancellation (the holding falls to zero).
    """
    with uow_factory() as uow:
        item = _open_item(uow, item_id, frozen_by_dispute=False)
        if actor_id not in (item.creditor_id, item.debtor_id):
            raise PermissionDeniedError("only the creditor and the debtor may cancel an item")
        if item.paid:
            raise ConflictError(f"debt item {item_id} has payments")
        holdings = uow.items.holdings(item_id)
        if len(holdings) != 1:
            raise ConflictError(f"debt item {item_id} has moved (split or transferred)")
        if holdings[0].pledge is not None:
            raise ConflictError(f"debt item {item_id} was pledged")
        approved = {a.party_id for a in uow.cancel_approvals.for_item(item_id)}
        if actor_id in approved:
            raise ConflictError(f"{actor_id} already approved cancelling {item_id}")
        done = len(approved | {actor_id}) == 2
        if done:
            uow.items.update_holding(replace(holdings[0], outstanding=0))
        op = _queue(uow, cmd.CancelItem(item_id), actor_id, item_id)
        uow.cancel_approvals.add(CancelApproval(item_id, actor_id, op.op_id))
        uow.commit()
    return done


def mint_tokens(
    *, uow_factory: UnitOfWorkFactory, bank_id: str, to_org_id: str, amount: int
) -> ChainOp:
    """A bank mints settlement tokens (tokenised deposits) to a member's account."""
    with uow_factory() as uow:
        bank = get_org(uow, bank_id)
        if not bank.has_role(Role.BANK):
            raise PermissionDeniedError(f"{bank.name} is not a bank: it cannot mint deposits")
        if amount <= 0:
            raise DomainValueError("mint amount must be positive")
        to = get_org(uow, to_org_id)
        command = cmd.TokenMint(chain_address(to), amount, to_org_id=to.id)
        op = _queue(uow, command, bank_id, to.id)
        uow.commit()
    return op


# --------------------------------------------------------------------------- views


def money_view(minor: int, currency: str) -> dict[str, Any]:
    """An amount as both a decimal string and minor units."""
    return {
        "amount": Money.from_minor(minor, currency).plain(),
        "minor": minor,
        "currency": currency,
    }


def describe_item(*, uow_factory: UnitOfWorkFactory, item_id: str) -> dict[str, Any]:
    """The item with its holdings (holder, value, pledge) and what each party has been paid."""
    with uow_factory() as uow:
        item = get_item(uow, item_id)
        orgs = {o.id: o for o in uow.organisations.list()}
        holdings = uow.items.holdings(item_id)
        repayments = uow.repayments.for_item(item_id)
        disputed, cancelled = is_disputed(uow, item_id), is_cancelled(uow, item_id)
        outstanding = item_outstanding(uow, item_id)
        financings = {h.id: uow.financings.by_holding(h.id) for h in holdings}
        waiting = _waiting_ops(uow, item_id, holdings, financings)
    cur = item.currency

    def name(org_id: str | None) -> str | None:
        return orgs[org_id].name if org_id in orgs else org_id

    settled: dict[str, int] = {}
    by_holding: dict[str, dict[str, int]] = {}
    for r in repayments:
        for p in r.parts:
            settled[p.payee_id] = settled.get(p.payee_id, 0) + p.amount
            slot = by_holding.setdefault(p.holding_id, {})
            slot[p.kind] = slot.get(p.kind, 0) + p.amount
    rows = []
    for h in holdings:
        pledge = None
        if h.pledge is not None:
            fin = financings.get(h.id)
            pledge = {
                "bank": name(h.pledge_bank_id),
                "bank_id": h.pledge_bank_id,
                "principal": money_view(h.pledge.principal, cur),
                "interest": money_view(h.pledge.interest, cur),
                "rate_bps": h.pledge.rate_bps,
                "status": "active" if h.pledge.active else "released",
                "financed_principal": money_view(fin.principal, cur) if fin else None,
            }
        paid = by_holding.get(h.id, {})
        rows.append(
            {
                "holding_id": h.id,
                "holder": name(h.holder_id),
                "holder_id": h.holder_id,
                "value": money_view(h.amount, cur),
                "outstanding": money_view(h.outstanding, cur),
                "parent_id": h.parent_id,
                "acquired_from": name(h.acquired_from),
                "pledge": pledge,
                "paid_to_holder": money_view(paid.get("holder", 0), cur),
                "paid_to_bank": money_view(
                    paid.get("bank_interest", 0) + paid.get("bank_principal", 0), cur
                ),
                "pending": any(h.id in op.undo.touches() for op in waiting),
            }
        )
    status = "cancelled" if cancelled else item.status.value
    return {
        "item_id": item.id,
        "trade_id": item.trade_id,
        "debtor": name(item.debtor_id),
        "creditor": name(item.creditor_id),
        "basis": item.basis.name.lower(),
        "status": status,
        "disputed": disputed,
        "issue_date": item.issue_date.isoformat(),
        "maturity_date": item.maturity_date.isoformat(),
        "face_value": money_view(item.face_value, cur),
        "paid": money_view(item.paid, cur),
        "outstanding": money_view(outstanding, cur),
        "holdings": rows,
        # Changes the store shows but the chain has not confirmed yet (the relay applies them;
        # a refused one is undone).
        "pending": [
            {"op_id": op.op_id, "op": op.kind.value, "status": op.status.value} for op in waiting
        ],
        "settled_by_party": [
            {"party": name(org_id), "party_id": org_id, **money_view(total, cur)}
            for org_id, total in sorted(settled.items(), key=lambda kv: -kv[1])
        ],
    }


def _waiting_ops(
    uow: UnitOfWork,
    item_id: str,
    holdings: list[Holding],
    financings: dict[str, Financing | None],
) -> list[ChainOp]:
    """Queued ops (not yet confirmed by the chain) that change this item or its holdings."""
    subjects = {item_id} | {f.id for f in financings.values() if f is not None}
    records = {item_id} | {h.id for h in holdings}
    return [
        op
        for op in uow.outbox.pending(10_000)
        if op.subject_id in subjects or op.undo.touches() & records
    ]


def item_history(*, uow_factory: UnitOfWorkFactory, item_id: str) -> list[dict[str, Any]]:
    """The item's provenance: every operation in order, who did it, to whom, and its tx."""
    with uow_factory() as uow:
        item = get_item(uow, item_id)
        orgs = {o.id: o for o in uow.organisations.list()}
        holdings = {h.id: h for h in uow.items.holdings(item_id)}
        ops = list(uow.outbox.for_subject(item_id))
        for h in holdings.values():
            fin = uow.financings.by_holding(h.id)
            if fin is not None:
                ops.extend(uow.outbox.for_subject(fin.id))
    ops.sort(key=lambda o: o.seq or 0)
    by_address = {(o.chain_address or "").lower(): o.name for o in orgs.values()}

    def name(org_id: str | None) -> str | None:
        return orgs[org_id].name if org_id in orgs else org_id

    events = []
    for op in ops:
        p = cmd.command_to_json(op.command)  # a view of what the command said, not a decision
        event: dict[str, Any] = {
            "op": op.kind.value,
            "by": name(op.sender_org_id),
            "status": op.status.value,
            "tx": op.tx_hash,
            "block": op.block_number,
        }
        if "amount" in p:
            event["amount"] = money_view(int(p["amount"]), item.currency)
        if op.kind in (OpKind.SPLIT, OpKind.TRANSFER):
            child = holdings.get(str(p["new_holding_id"]))
            event["from_holding"] = p["holding_id"]
            event["to_holding"] = p["new_holding_id"]
            event["to"] = (
                name(child.holder_id)
                if child
                else by_address.get(str(p.get("to_address", "")).lower())
            )
        elif op.kind is OpKind.PLEDGE:
            event["holding"] = p["holding_id"]
            event["to"] = by_address.get(str(p["bank_address"]).lower())
            event["principal"] = money_view(int(p["principal"]), item.currency)
            event["rate_bps"] = p["rate_bps"]
        elif "holding_id" in p:
            event["holding"] = p["holding_id"]
        for key in ("value_day", "reason", "credit_note", "bank_reference", "resolution"):
            if p.get(key):
                event[key] = p[key]
        if op.error:
            event["error"] = op.error
        events.append(event)
    return events
