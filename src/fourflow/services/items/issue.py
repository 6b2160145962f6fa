"""An item's existence: issue on a verified trade, the debtor's later confirmation, and
cancellation by both parties."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import replace

from fourflow.domain.debt import AssetType, Basis, DebtItem, Holding, ItemStatus, day_number
from fourflow.domain.documents import DocumentKind
from fourflow.domain.errors import ConflictError, DomainValueError, PermissionDeniedError
from fourflow.domain.facts import CancelApproval
from fourflow.domain.findings import VerificationStatus
from fourflow.domain.money import Money
from fourflow.domain.settlement import RouteKind
from fourflow.services import commands as cmd
from fourflow.services import evidence
from fourflow.services.accounts import account_bank, item_account_bank
from fourflow.services.common import canonical_json, chain_address, get_org, get_trade, new_id
from fourflow.services.items.common import CONFIRMATION_VALIDITY, open_item, queue
from fourflow.services.items.routes import current_route, queue_route_lock
from fourflow.services.onboarding import OPERATOR_ORG_KEY
from fourflow.services.ports import Clock, Ledger, UnitOfWork, UnitOfWorkFactory
from fourflow.services.verification import load_trade
from fourflow.verification.rules import open_receivable

DEFAULT_MAX_TENOR_DAYS = 365


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
    route: RouteKind | None = None,
    route_account: str | None = None,
) -> DebtItem:
    """Issue the digital debt item for a verified trade's open receivable.

    With ``confirm`` the debtor signs an EIP-712 confirmation of the payable (basis
    ``confirmed``) and its repayment route is locked on the chain right after the issuance,
    in the same operation (``route``/``route_account``, default ``settlement.default_route``);
    without it the item rests on the verified four flows (basis ``verified``), an open fraud
    signal on the trade refuses it (``evidence.open_signals``), and the route is locked when
    the debtor confirms it (or locks it with ``settlement.lock_route``).
    """
    if not confirm and (route is not None or route_account is not None):
        raise DomainValueError(
            "the repayment route is the debtor's: it is locked with the debtor's confirmation"
        )
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
        # what the buyer paid by passing its own receivable (a transfer naming the invoices)
        passed = sum(x.amount for x in uow.transfer_payments.for_trades([trade_id]))
        if receivable is not None and passed:
            receivable = receivable - Money.from_minor(passed, receivable.currency)
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
            account_bank_address=chain_address(account_bank(uow, debtor)),
        )
        if confirm:
            deadline = int((clock.now() + CONFIRMATION_VALIDITY).timestamp())
            signed = ledger.sign_confirmation(debtor.id, command.terms(), deadline)
            command = replace(command, confirmation=signed)
        else:  # the platform's verification service signs its report with the verifier key
            verifier = uow.settings.get(OPERATOR_ORG_KEY)
            if verifier is None:
                raise ConflictError("the platform has no operator yet; run `fourflow init`")
            command = replace(command, report_signatures=(ledger.sign_report(verifier, command),))
        uow.items.add(item)
        uow.items.add_holding(holding)
        queue(uow, command, creditor.id, item.id)
        if confirm:  # the debtor's route, fixed on the chain right after the issuance
            queue_route_lock(uow, item, route, route_account)
        uow.commit()
    return item


def confirm_item(
    *,
    uow_factory: UnitOfWorkFactory,
    ledger: Ledger,
    clock: Clock,
    item_id: str,
    actor_id: str,
    route: RouteKind | None = None,
    route_account: str | None = None,
) -> DebtItem:
    """The debtor confirms an item issued on the evidence: its EIP-712 signature, basis 2;
    with it the debtor's repayment route is locked on the chain (``route``/``route_account``,
    default ``settlement.default_route``) unless the debtor locked one already."""
    with uow_factory() as uow:
        item = open_item(uow, item_id, frozen_by_dispute=True)
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
            account_bank_address=chain_address(item_account_bank(uow, item.id, debtor)),
        )
        deadline = int((clock.now() + CONFIRMATION_VALIDITY).timestamp())
        signed = ledger.sign_confirmation(debtor.id, terms, deadline)
        locked = current_route(uow, item.id) is not None
        if locked and (route is not None or route_account is not None):
            raise ConflictError(f"the repayment route of {item_id} is locked already")
        confirmed = replace(item, basis=Basis.CONFIRMED)
        uow.items.update(confirmed)
        queue(uow, cmd.ConfirmItem(item.id, signed), actor_id, item.id)
        if not locked:
            queue_route_lock(uow, confirmed, route, route_account)
        uow.commit()
    return confirmed


def cancel_item(*, uow_factory: UnitOfWorkFactory, item_id: str, actor_id: str) -> bool:
    """Creditor and debtor each approve cancelling an unmoved, unpaid, never-pledged item.

    Returns True when this approval completes the cancellation (the holding falls to zero).
    """
    with uow_factory() as uow:
        item = open_item(uow, item_id, frozen_by_dispute=False)
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
        op = queue(uow, cmd.CancelItem(item_id), actor_id, item_id)
        uow.cancel_approvals.add(CancelApproval(item_id, actor_id, op.op_id))
        uow.commit()
    return done
