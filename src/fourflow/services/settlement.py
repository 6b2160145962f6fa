"""Payment on its day (issue 20): the locked repayment route and settlement at maturity.

* ``lock_route``: right after issuance or confirmation the debtor fixes how it pays the item,
  on chain (``Repayment.lock_route``): settlement tokens approved to the DebtItem contract, or
  a collection account (回款专户) at its account bank whose attested statements alone count.
* ``change_route``: a new route needs the EIP-712 signatures of the debtor and every bank
  holding an open pledge on the item; the service refuses without them and so does the chain.
* ``settle_due``: the job run every day (``fourflow settle-due``): reminds debtors before
  maturity; on and after maturity collects what a token route holds (the Repayment contract
  decides the amount: min of outstanding, the debtor's balance and allowance) routed banks
  first, and tells holders and banks; short or unrouted, the item is overdue and they are told;
  past the grace days the product's default rule runs (pledged holdings pass to their banks,
  recourse to the pledgor kept on chain). Every chain change goes through the outbox, so a
  refused operation changes nothing. Run twice on one day it collects and notifies once.
* ``statement_payment``: a statement line paying the creditor's (or any holder's) own account
  instead of the route's collection account is not a payment of the item: the holders' banks
  are told (a ``bypass`` notice).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from fourflow.domain.debt import DebtItem, ItemStatus, day_number
from fourflow.domain.documents import Document, DocumentKind
from fourflow.domain.errors import (
    ConflictError,
    DomainValueError,
    NotFoundError,
    PermissionDeniedError,
)
from fourflow.domain.parties import Role
from fourflow.domain.settlement import Notice, NoticeKind, RouteAction, RouteEvent, RouteKind
from fourflow.services import commands as cmd
from fourflow.services import webhooks
from fourflow.services.common import chain_address, get_item, get_org
from fourflow.services.items import routes as _routes
from fourflow.services.items.common import is_cancelled, item_outstanding, queue, text_hash
from fourflow.services.items.payments import _route as route_payment_in_store
from fourflow.services.items.pledges import mark_default
from fourflow.services.items.routes import ZERO_HASH, queue_route_lock
from fourflow.services.ports import Ledger, StoredDocument, UnitOfWork, UnitOfWorkFactory
from fourflow.verification.linking import parties_overlap
from fourflow.verification.payments import payment_outcomes

ZERO_ADDRESS = "0x" + "00" * 20
DEFAULT_REMINDER_DAYS = 7
ROUTE_SIGNATURE_VALIDITY = dt.timedelta(days=1)

current_route = _routes.current_route  # the item's route as last locked or changed
default_route = _routes.default_route  # the route locked when the debtor names none


class RouteSigner(Protocol):
    """Signs a party's consent to a new route (the chain adapter, for keys the platform holds;
    in production each party signs client-side)."""

    def sign_route_change(
        self,
        org_id: str,
        item_id: str,
        route_kind: int,
        bank_address: str,
        account_hash: str,
        deadline: int,
    ) -> str: ...


# --------------------------------------------------------------------------- routes


def lock_route(
    *,
    uow_factory: UnitOfWorkFactory,
    item_id: str,
    actor_id: str,
    kind: RouteKind | None,
    account: str | None = None,
) -> RouteEvent:
    """The debtor fixes its item's repayment route, once (``Repayment.lock_route``): for an
    item issued on the evidence alone before the debtor confirms it (issuance with the
    debtor's confirmation, and the confirmation, lock it themselves).

    ``tokens``: the debtor approves DebtItem for what its token routes will collect and the
    Repayment contract collects at maturity. ``account``: ``account`` (default: the debtor's
    registered or first account) at the item's account bank is the collection account; only
    that bank's attested statements pay the item. ``None``: ``default_route``.
    """
    with uow_factory() as uow:
        uow.items.lock_item(item_id)
        item = get_item(uow, item_id)
        if actor_id != item.debtor_id:
            raise PermissionDeniedError(f"only the debtor locks the repayment route of {item_id}")
        if item.status not in (ItemStatus.PENDING, ItemStatus.ACTIVE) or is_cancelled(uow, item_id):
            raise ConflictError(f"debt item {item_id} is {item.status}: no route can be locked")
        event = queue_route_lock(uow, item, kind, account)
        uow.commit()
    return event


def change_route(
    *,
    uow_factory: UnitOfWorkFactory,
    signer: RouteSigner,
    item_id: str,
    actor_id: str,
    kind: RouteKind,
    signer_ids: Sequence[str],
    account: str | None = None,
    bank_id: str | None = None,
    deadline: int | None = None,
    now: dt.datetime | None = None,
) -> RouteEvent:
    """A new route for the item, signed by each of ``signer_ids``; the debtor and every bank
    holding an open pledge on the item must be among them (PermissionDeniedError naming who
    is missing; the chain refuses the same change)."""
    moment = now or dt.datetime.now(dt.UTC)
    valid_until = deadline or int((moment + ROUTE_SIGNATURE_VALIDITY).timestamp())
    with uow_factory() as uow:
        uow.items.lock_item(item_id)
        event = queue_route_change(
            uow, signer=signer, item_id=item_id, actor_id=actor_id, kind=kind,
            signer_ids=signer_ids, account=account, bank_id=bank_id, deadline=valid_until,
        )  # fmt: skip
        uow.commit()
    return event


def route_signers(uow: UnitOfWork, item: DebtItem) -> list[str]:
    """Who must sign a change of the item's route: its debtor and every bank holding an open
    pledge on it."""
    pledgees = sorted(
        {
            h.pledge_bank_id
            for h in uow.items.holdings(item.id)
            if h.locked and h.pledge_bank_id and h.outstanding
        }
    )
    return list(dict.fromkeys((item.debtor_id, *pledgees)))


def route_terms(
    uow: UnitOfWork, kind: RouteKind, account: str | None, bank_id: str | None
) -> tuple[str | None, str, str]:
    """A new route's collection account (spaces taken out), bank address and account hash as
    the chain takes them (zero for a token route); DomainValueError for an account route
    without its account and bank, or a bank that is not one."""
    if kind is not RouteKind.ACCOUNT:
        return None, ZERO_ADDRESS, ZERO_HASH
    if not account or not bank_id:
        raise DomainValueError("an account route needs the collection account and bank")
    bank = get_org(uow, bank_id)
    if not bank.has_role(Role.BANK):
        raise DomainValueError(f"{bank.name} is not a bank")
    number = account.replace(" ", "")
    return number, chain_address(bank), text_hash(number)


def queue_route_change(
    uow: UnitOfWork,
    *,
    signer: RouteSigner,
    item_id: str,
    actor_id: str,
    kind: RouteKind,
    signer_ids: Sequence[str],
    account: str | None,
    bank_id: str | None,
    deadline: int,
    signed: Mapping[str, str] | None = None,
) -> RouteEvent:
    """``change_route`` in ``uow`` (not committed; the item locked by the caller): the
    signatures in ``signed`` (org id -> 0x signature, made by parties holding their own key)
    are used as given, the others made by ``signer`` with the keys the platform holds."""
    item = get_item(uow, item_id)
    if current_route(uow, item_id) is None:
        raise ConflictError(f"debt item {item_id} has no locked route to change")
    missing = [o for o in route_signers(uow, item) if o not in set(signer_ids)]
    if missing:
        names = ", ".join(get_org(uow, o).name for o in missing)
        raise PermissionDeniedError(
            f"the route of {item_id} changes only with the debtor's and every pledgee's "
            f"signature: {names} did not sign"
        )
    number, bank_address, account_hash = route_terms(uow, kind, account, bank_id)
    given = signed or {}
    signatures = tuple(
        cmd.RouteSignature(
            org_id,
            given[org_id]
            if org_id in given
            else signer.sign_route_change(
                org_id, item_id, kind.code, bank_address, account_hash, deadline
            ),
        )
        for org_id in dict.fromkeys(signer_ids)
    )
    command = cmd.ChangeRoute(item_id, kind.code, bank_address, account_hash, deadline, signatures)
    op = queue(uow, command, actor_id, item_id)
    event = RouteEvent(
        item_id,
        RouteAction.CHANGED,
        kind,
        bank_id if kind is RouteKind.ACCOUNT else None,
        number,
        tuple(s.org_id for s in signatures),
        actor_id,
        op.op_id,
    )
    uow.settlement.add_route(event)
    return event


# --------------------------------------------------------------------------- settle-due


@dataclass(frozen=True, slots=True)
class ItemOutcome:
    """What the job did with one item.

    ``action``: ``reminded``, ``collected`` (paid in full), ``partial`` (collected what the
    route held), ``short`` (nothing to collect: overdue), ``unrouted`` (no token route: overdue
    unless its bank attests a payment), ``defaulted`` (the default rule ran: pledged holdings
    passed to their banks), ``past_grace`` (unpaid after grace with nothing pledged: marking it
    defaulted is left to Governance or a bank), ``done`` (already collected today),
    ``deferred`` (the debtor's other item was collected in this run: the next run, after the
    relay, collects this one from what is left).
    """

    item_id: str
    action: str
    amount: int = 0
    outstanding: int = 0
    op_id: str | None = None


@dataclass(slots=True)
class SettleReport:
    """One run of the job."""

    day: dt.date
    outcomes: list[ItemOutcome] = field(default_factory=list)
    notices: int = 0
    bypasses: list[StatementCheck] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Plain data."""
        count: dict[str, int] = {}
        for o in self.outcomes:
            count[o.action] = count.get(o.action, 0) + 1
        return {
            "day": self.day.isoformat(),
            "counts": dict(sorted(count.items())),
            "collected": sum(o.amount for o in self.outcomes),
            "notices": self.notices,
            "bypasses": [
                {
                    "document": c.document_id,
                    "reference": c.reference,
                    "item": c.item_id,
                    "payee_account": c.payee_account,
                    "amount": c.amount,
                    "told": c.notices,
                }
                for c in self.bypasses
            ],
            "items": [
                {
                    "item": o.item_id,
                    "action": o.action,
                    "amount": o.amount,
                    "outstanding": o.outstanding,
                    "op_id": o.op_id,
                }
                for o in self.outcomes
            ],
        }


def _parties(uow: UnitOfWork, item_id: str) -> tuple[list[str], list[str]]:
    """(holders with something outstanding, banks holding an open pledge) of the item."""
    holders: list[str] = []
    banks: list[str] = []
    for h in uow.items.holdings(item_id):
        if h.outstanding and h.holder_id not in holders:
            holders.append(h.holder_id)
        if h.locked and h.pledge_bank_id and h.pledge_bank_id not in banks:
            banks.append(h.pledge_bank_id)
    return holders, banks


def _notify(
    uow: UnitOfWork,
    kind: NoticeKind,
    subject_id: str,
    recipients: Sequence[str],
    on_day: dt.date,
    text: str,
    *,
    key_day: dt.date | None = None,
    amount: int | None = None,
    deadline: dt.date | None = None,
    op_id: str | None = None,
) -> int:
    """Give a notice to each recipient once (per ``key_day``, default ``on_day``)."""
    given = 0
    for recipient in dict.fromkeys(recipients):
        notice = Notice(
            key=Notice.key_of(kind, subject_id, recipient, key_day or on_day),
            kind=kind,
            subject_id=subject_id,
            recipient_id=recipient,
            on_day=on_day,
            text=text,
            amount=amount,
            deadline=deadline,
            op_id=op_id,
        )
        if uow.settlement.notify(notice):
            given += 1
            webhooks.notice_given(uow, notice)  # item.overdue, with the notice
    return given


def collection_reference(item_id: str, day: dt.date) -> str:
    """The reference of the job's collection of an item on a day (one per item and day)."""
    return f"maturity:{item_id}:{day.isoformat()}"


def settle_due(
    *,
    uow_factory: UnitOfWorkFactory,
    ledger: Ledger,
    operator_id: str,
    reminder_days: int = DEFAULT_REMINDER_DAYS,
    progress: Callable[[str], None] | None = None,
) -> SettleReport:
    """Settle every item due by the chain's today (see the module's docstring).

    Queues the chain operations (collections, defaults); the caller relays them. Items still
    waiting for the chain are left for the next run.
    """
    if reminder_days < 0:
        raise DomainValueError("reminder days must not be negative")
    today = ledger.chain_today()
    grace_days = int(ledger.read("terms")["grace_days"])
    report = SettleReport(today)
    # Statements ingested since the last run that show a payment outside an item's route.
    report.bypasses = [
        c for c in check_statements(uow_factory=uow_factory) if c.outcome == "bypass"
    ]
    report.notices += sum(c.notices for c in report.bypasses)
    with uow_factory() as uow:
        candidates = [
            i.id
            for i in uow.items.list()
            if i.status in (ItemStatus.ACTIVE, ItemStatus.DEFAULTED)
            and i.maturity_date - dt.timedelta(days=reminder_days) <= today
        ]
    # Debtors with a collection queued in this run: the chain's `collectable` of their other
    # items still counts the funds that collection will take, so those wait for the next run
    # (after the relay), never queued on the same funds to be refused.
    collecting: set[str] = set()
    for index, item_id in enumerate(candidates, 1):
        if progress is not None:
            progress(f"{index}/{len(candidates)} {item_id}")
        outcome = _settle_one(uow_factory, ledger, operator_id, item_id, today, report, collecting)
        if outcome is not None:
            report.outcomes.append(outcome)
        defaulted = _default_if_due(uow_factory, operator_id, item_id, today, grace_days, report)
        if defaulted is not None:
            report.outcomes.append(defaulted)
    return report


def _settle_one(
    uow_factory: UnitOfWorkFactory,
    ledger: Ledger,
    operator_id: str,
    item_id: str,
    today: dt.date,
    report: SettleReport,
    collecting: set[str],
) -> ItemOutcome | None:
    """Remind, collect or flag one item (``collecting``: debtors with a collection queued in
    this run; their further items are deferred to the next run)."""
    with uow_factory() as uow:
        uow.items.lock_item(item_id)
        item = get_item(uow, item_id)
        outstanding = item_outstanding(uow, item_id)
        if outstanding == 0 or is_cancelled(uow, item_id):
            return None
        holders, banks = _parties(uow, item_id)
        if today < item.maturity_date:
            report.notices += _notify(
                uow, NoticeKind.REMINDER, item_id, [item.debtor_id], today,
                f"debt item {item_id} of {outstanding} minor units falls due on "
                f"{item.maturity_date}: the repayment route must hold it by then",
                key_day=item.maturity_date, amount=outstanding,
            )  # fmt: skip
            route = current_route(uow, item_id)
            if route is not None and route.kind is RouteKind.TOKENS:
                # The allowance route's early warning: the debtor may spend its balance or
                # withdraw its approval before maturity (nothing is escrowed), so the holders
                # and their banks hear of a token route that would fall short, once.
                collectable = min(int(ledger.read("collectable", item_id)), outstanding)
                if collectable < outstanding:
                    report.notices += _notify(
                        uow, NoticeKind.UNDERFUNDED, item_id, [*holders, *banks], today,
                        f"debt item {item_id} falls due on {item.maturity_date}: its token "
                        f"route holds {collectable} of the {outstanding} minor units due (the "
                        "debtor's balance or its approval to DebtItem is short)",
                        key_day=item.maturity_date, amount=outstanding - collectable,
                    )  # fmt: skip
            uow.commit()
            return ItemOutcome(item_id, "reminded", 0, outstanding)
        reference = collection_reference(item_id, today)
        if any(r.reference == reference for r in uow.repayments.for_item(item_id)):
            return ItemOutcome(item_id, "done", 0, outstanding)
        route = current_route(uow, item_id)
        amount = 0
        if route is not None and route.kind is RouteKind.TOKENS:
            if item.debtor_id in collecting:
                return ItemOutcome(item_id, "deferred", 0, outstanding)
            amount = min(int(ledger.read("collectable", item_id)), outstanding)
        if amount:
            route_payment_in_store(uow, item, amount, today, reference)
            command = cmd.SettleAtMaturity(item_id, amount, day_number(today))
            op = queue(uow, command, operator_id, item_id)
            collecting.add(item.debtor_id)
            left = outstanding - amount
            kind = NoticeKind.COLLECTED if left == 0 else NoticeKind.SHORT
            recipients = [*holders, *banks] + ([] if left == 0 else [item.debtor_id])
            text = (
                f"debt item {item_id}: {amount} minor units collected at maturity through its "
                f"locked route, banks first; {left} outstanding"
            )
            report.notices += _notify(
                uow, kind, item_id, recipients, today, text, amount=amount, op_id=op.op_id
            )
            uow.commit()
            return ItemOutcome(
                item_id, "collected" if left == 0 else "partial", amount, left, op.op_id
            )
        kind = NoticeKind.SHORT if route is not None and route.kind is RouteKind.TOKENS else (
            NoticeKind.UNROUTED
        )  # fmt: skip
        why = (
            "its token route holds nothing to collect"
            if kind is NoticeKind.SHORT
            else "it has no token route (only its collection bank's attested statement pays it)"
        )
        report.notices += _notify(
            uow, kind, item_id, [*holders, *banks, item.debtor_id], today,
            f"debt item {item_id} is overdue since {item.maturity_date}: {why}; "
            f"{outstanding} minor units outstanding",
            key_day=item.maturity_date, amount=outstanding,
        )  # fmt: skip
        uow.commit()
        return ItemOutcome(item_id, kind.value, 0, outstanding)


def _default_if_due(
    uow_factory: UnitOfWorkFactory,
    operator_id: str,
    item_id: str,
    today: dt.date,
    grace_days: int,
    report: SettleReport,
) -> ItemOutcome | None:
    """Run the product's default rule on an item unpaid past maturity plus grace."""
    with uow_factory() as uow:
        item = get_item(uow, item_id)
        if item.status is not ItemStatus.ACTIVE or today <= item.maturity_date + dt.timedelta(
            days=grace_days
        ):
            return None
        outstanding = item_outstanding(uow, item_id)
        if outstanding == 0 or is_cancelled(uow, item_id):
            return None
        holders, banks = _parties(uow, item_id)
        pledgors = [h.holder_id for h in uow.items.holdings(item_id) if h.locked]
    if not banks:
        # The product's default rule passes pledged holdings to their banks; with nothing
        # pledged there is nothing to enforce, and marking the item defaulted is the
        # consortium's (Governance's) or a bank's decision (`item default`), not the job's.
        return ItemOutcome(item_id, "past_grace", 0, outstanding)
    actor = banks[0]  # the pledgee bank enforces its pledge
    foreclosed = mark_default(
        uow_factory=uow_factory, item_id=item_id, actor_id=actor, as_of=today,
        operator_id=operator_id, grace_days=grace_days,
    )  # fmt: skip
    with uow_factory() as uow:
        marks = uow.default_marks.for_item(item_id)
        op_id = marks[-1].op_id if marks else None
        passed = ", ".join(f"{h.id} to {get_org(uow, h.holder_id).name}" for h in foreclosed)
        report.notices += _notify(
            uow, NoticeKind.DEFAULTED, item_id, [*holders, *banks, *pledgors, item.debtor_id],
            today,
            f"debt item {item_id} defaulted: unpaid {grace_days} days after maturity "
            f"({outstanding} minor units); pledged holdings passed to their banks"
            + (f" ({passed})" if passed else ""),
            amount=outstanding, op_id=op_id,
        )  # fmt: skip
        uow.commit()
    return ItemOutcome(item_id, "defaulted", 0, outstanding, op_id)


# --------------------------------------------------------------------------- bypass


def _bypass(
    uow: UnitOfWork,
    item: DebtItem,
    *,
    reporter: str,
    payee_account: str,
    amount: int,
    value_date: dt.date,
    reference: str,
    fallback: str,
) -> list[Notice]:
    """Notices for a payment of ``item`` by its debtor to ``payee_account`` (not committed):
    none when that is the route's collection account, else one per holder's bank and the
    collection bank (``fallback`` when there is neither) per statement entry."""
    number = payee_account.replace(" ", "")
    route = current_route(uow, item.id)
    if route is not None and route.kind is RouteKind.ACCOUNT and route.account == number:
        return []
    _holders, banks = _parties(uow, item.id)
    recipients = [*banks] + ([route.bank_id] if route and route.bank_id else [])
    if not recipients:
        recipients = [fallback]
    owner = next(
        (
            o.name
            for o in uow.organisations.list()
            if number in {a.replace(" ", "") for a in o.accounts}
        ),
        "an account outside the route",
    )
    text = (
        f"statement {reference} of {reporter}: the debtor paid {amount} minor units for debt "
        f"item {item.id} on {value_date} to {owner} ({number}), not through the item's "
        "locked route: it is not a payment of the item"
    )
    notices: list[Notice] = []
    for recipient in dict.fromkeys(recipients):
        notice = Notice(
            key=f"bypass|{item.id}|{recipient}|{reference}",
            kind=NoticeKind.BYPASS,
            subject_id=item.id,
            recipient_id=recipient,
            on_day=value_date,
            text=text,
            amount=amount,
        )
        if uow.settlement.notify(notice):
            notices.append(notice)
    return notices


def statement_payment(
    *,
    uow_factory: UnitOfWorkFactory,
    item_id: str,
    bank_id: str,
    payee_account: str,
    amount: int,
    value_date: dt.date,
    reference: str,
) -> list[Notice]:
    """A bank reports one statement line by hand (``route statement``): the debtor paying
    ``amount`` to ``payee_account`` for the item. Paid to the route's collection account, it
    is an ordinary attested payment (returns no notice: the bank attests it with ``item pay
    --method attested``). Paid to any other account (the creditor's or a holder's own account
    elsewhere), it is not a payment of the item: the holders' banks (and the collection bank)
    are told, once per statement line. ``check_statements`` does the same from ingested
    camt.052/053/054 statements."""
    if amount <= 0:
        raise DomainValueError("a statement payment's amount must be positive")
    if not reference.strip():
        raise DomainValueError("a statement payment needs the bank's reference")
    with uow_factory() as uow:
        item = get_item(uow, item_id)  # NotFoundError for an unknown item
        bank = get_org(uow, bank_id)
        if not bank.has_role(Role.BANK):
            raise PermissionDeniedError(f"{bank.name} is not a bank: its statement is no evidence")
        notices = _bypass(
            uow, item, reporter=bank.name, payee_account=payee_account, amount=amount,
            value_date=value_date, reference=reference, fallback=bank.id,
        )  # fmt: skip
        uow.commit()
    return notices


#: Ingested statement entries the bypass check reads: camt.054 notifications (``payment``) and
#: camt.052/053 account reports and statements (``bank_statement_entry``).
STATEMENT_KINDS = (DocumentKind.PAYMENT, DocumentKind.BANK_STATEMENT_ENTRY)


@dataclass(frozen=True, slots=True)
class StatementCheck:
    """What the bypass check made of one ingested statement entry.

    ``outcome``: ``bypass`` (paid outside the route: ``notices`` were given, or had been),
    ``route`` (paid into the route's collection account), or why it is not a payment of an
    item by its debtor: ``no_item``, ``rejected`` (a bank reported the payment rejected or
    cancelled, pacs.002: no money moved, ``statuses`` names the reports), ``not_debtor``,
    ``before_issue``, ``no_payee_account``.
    """

    document_id: str
    reference: str
    outcome: str
    item_id: str | None = None
    payee_account: str | None = None
    amount: int = 0
    notices: int = 0
    statuses: tuple[str, ...] = ()


class _Statuses:
    """The payment statuses (pacs.002 ``payment_status`` documents) that may concern a
    statement entry: those linked to its trade, and those still unlinked that share a party
    with it (an end-to-end id alone is not unique across payers). Read once per run."""

    def __init__(self, uow: UnitOfWork, by_trade: dict[str, list[Document]] | None = None):
        self._uow = uow
        self._by_trade = by_trade if by_trade is not None else {}
        self._unlinked: list[Document] | None = None

    def of(self, stored: StoredDocument) -> list[Document]:
        found: list[Document] = []
        if stored.trade_id is not None:
            if stored.trade_id not in self._by_trade:
                record = self._uow.trades.get(stored.trade_id)
                docs = self._uow.documents.get_many(record.document_ids) if record else []
                self._by_trade[stored.trade_id] = _only_statuses(docs)
            found += self._by_trade[stored.trade_id]
        if self._unlinked is None:
            self._unlinked = _only_statuses(self._uow.documents.unlinked())
        found += [d for d in self._unlinked if parties_overlap(d, stored.document)]
        return found


def _only_statuses(stored: Sequence[StoredDocument]) -> list[Document]:
    return [s.document for s in stored if s.document.kind is DocumentKind.PAYMENT_STATUS]


def _rejected_by(doc: Document, statuses: Sequence[Document]) -> tuple[str, ...]:
    """The status reports that say ``doc``'s payment was rejected or cancelled (as
    verification counts them: also when another report calls it settled)."""
    if not statuses:
        return ()
    outcome = payment_outcomes([doc, *statuses]).get(doc.id)
    return outcome.rejected if outcome is not None and not outcome.counts else ()


def _paid_into_route(uow: UnitOfWork, item_id: str, payee_account: str) -> bool:
    route = current_route(uow, item_id)
    return (
        route is not None
        and route.kind is RouteKind.ACCOUNT
        and route.account == payee_account.replace(" ", "")
    )


def _item_of(uow: UnitOfWork, stored: StoredDocument) -> DebtItem | None:
    """The debt item an entry pays: its trade's (once linked), else the trade of an invoice it
    names in its remittance information."""
    trade_ids = [stored.trade_id] if stored.trade_id else []
    for number in stored.document.refs_to(DocumentKind.INVOICE):
        trade_ids += [d.trade_id for d in uow.documents.by_number(DocumentKind.INVOICE, number)
                      if d.trade_id]  # fmt: skip
    for trade_id in dict.fromkeys(trade_ids):
        item = uow.items.by_trade(trade_id)
        if item is not None:
            return item
    return None


def _check_entry(uow: UnitOfWork, stored: StoredDocument, statuses: _Statuses) -> StatementCheck:
    doc = stored.document
    check = StatementCheck(doc.id, doc.number, "no_item")
    item = _item_of(uow, stored)
    if item is None or is_cancelled(uow, item.id):
        return check
    payer = next((o for k in sorted(doc.buyer.keys()) if (o := uow.organisations.by_key(k))), None)
    amount = doc.total.minor if doc.total is not None else 0
    check = replace(check, item_id=item.id, payee_account=doc.seller.account, amount=amount)
    rejected = _rejected_by(doc, statuses.of(stored))
    if rejected:  # no money moved: nothing bypassed the route (nobody is told)
        return replace(check, outcome="rejected", statuses=rejected)
    if payer is None or payer.id != item.debtor_id:
        return replace(check, outcome="not_debtor")
    if doc.issue_date < item.issue_date:  # paid before issuance: the face value is net of it
        return replace(check, outcome="before_issue")
    if not doc.seller.account or amount <= 0:
        return replace(check, outcome="no_payee_account")
    reporter = get_org(uow, doc.submitted_by).name if doc.submitted_by else "its bank"
    reference = f"{doc.source_format}:{doc.number}"
    notices = _bypass(
        uow, item, reporter=f"{reporter} ({doc.source_format})",
        payee_account=doc.seller.account, amount=amount, value_date=doc.issue_date,
        reference=reference, fallback=doc.submitted_by or item.creditor_id,
    )  # fmt: skip
    if not notices and _paid_into_route(uow, item.id, doc.seller.account):
        return replace(check, outcome="route")
    return replace(check, outcome="bypass", notices=len(notices))


def check_statements(
    *, uow_factory: UnitOfWorkFactory, document_ids: Sequence[str] | None = None
) -> list[StatementCheck]:
    """Read ingested bank statements (camt.052/053/054 entries, as the documents adapter
    parsed them) for payments that bypassed an item's locked route.

    An entry pays an item when it is linked to the item's trade or names one of its invoices,
    and its payer is the item's debtor (by identifier or account). Paid after issuance into
    any account but the route's collection account (the creditor's own account elsewhere, a
    holder's), it is not a payment of the item: the holders' banks and the collection bank are
    told (a ``bypass`` notice, once per entry). An entry whose payment a bank reported
    rejected or cancelled (pacs.002, linked to its trade or unlinked and sharing a party with
    it) moved no money: ``rejected``, nobody is told. ``document_ids`` None: every statement
    entry linked to the trade of an item still owed (``settle-due`` runs this each day).
    """
    with uow_factory() as uow:
        statuses = _Statuses(uow)
        if document_ids is None:
            wanted: list[str] = []
            for item in uow.items.list():
                if item.status not in (ItemStatus.ACTIVE, ItemStatus.DEFAULTED):
                    continue  # paid in full or not on the chain yet: nothing to divert
                record = uow.trades.get(item.trade_id)
                if record is not None:
                    wanted += record.document_ids
            loaded = uow.documents.get_many(wanted)
            stored = [s for s in loaded if s.document.kind in STATEMENT_KINDS]
            by_trade: dict[str, list[Document]] = {s.trade_id: [] for s in loaded if s.trade_id}
            for s in loaded:
                if s.trade_id and s.document.kind is DocumentKind.PAYMENT_STATUS:
                    by_trade[s.trade_id].append(s.document)
            statuses = _Statuses(uow, by_trade)
        else:
            stored = []
            for doc_id in document_ids:
                found = uow.documents.get(doc_id)
                if found is None:
                    raise NotFoundError(f"no document {doc_id}")
                if found.document.kind not in STATEMENT_KINDS:
                    raise DomainValueError(
                        f"document {doc_id} is a {found.document.kind.value}, not a bank "
                        "statement entry or payment notification (camt.052/053/054)"
                    )
                stored.append(found)
        checks = [_check_entry(uow, s, statuses) for s in stored]
        uow.commit()
    return checks


def notices_for(*, uow_factory: UnitOfWorkFactory, subject_id: str | None = None) -> list[Notice]:
    """The notices given (about one item or receipt, or all), oldest first."""
    with uow_factory() as uow:
        return uow.settlement.notices(subject_id=subject_id)
