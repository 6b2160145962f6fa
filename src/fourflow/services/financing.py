"""Financing: a holder asks a bank to finance a holding; the review robot decides at once.

Approved, the holding is pledged (and locked on the chain); referred, it waits for a person
(``credit.decide_referral``); declined, the reasons are kept. Every decision is stored with
the model version and the hash of its inputs, and that hash is queued for the chain.

``finance``, ``decide``, ``list_financings`` and ``get_financing`` are the use cases as an
entry point calls them (one call per action, organisations by reference, amounts in the item's
currency): the CLI now, the API later.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from fourflow.domain.debt import DebtItem, Holding
from fourflow.domain.errors import (
    ConflictError,
    DomainValueError,
    NotFoundError,
    PermissionDeniedError,
)
from fourflow.domain.financing import (
    Financing,
    FinancingKind,
    FinancingStatus,
    GoodsFinancing,
    Outcome,
)
from fourflow.domain.money import Money
from fourflow.domain.parties import Organisation, Role
from fourflow.risk.bootstrap import HistorySource
from fourflow.risk.review import ProductPolicy, Scorer
from fourflow.services import credit, fraud, receipts, webhooks
from fourflow.services.common import (
    find_org,
    get_holding,
    get_item,
    get_org,
    new_id,
    refuse_if_disputed,
)
from fourflow.services.ports import Clock, Ledger, OpStatus, UnitOfWork, UnitOfWorkFactory

STATUS = {
    Outcome.APPROVE: FinancingStatus.APPROVED,
    Outcome.DECLINE: FinancingStatus.DECLINED,
    Outcome.REFER: FinancingStatus.REFERRED,
}


def refuse_if_financed(uow: UnitOfWork, holding: Holding) -> None:
    """ConflictError when the holding already has an approved or active financing."""
    live = uow.financings.by_holding(holding.id)
    if live is not None and live.status in credit.ACTIVE:
        raise ConflictError(
            f"holding {holding.id} is already financed: financing {live.id} by bank "
            f"{live.bank_id} is {live.status.value}"
        )
    if holding.locked:
        raise ConflictError(
            f"holding {holding.id} is already pledged to bank {holding.pledge_bank_id}"
        )


def request_financing(
    *,
    uow_factory: UnitOfWorkFactory,
    holding_id: str,
    bank_id: str,
    amount: int,
    actor_id: str,
    as_of: dt.date,
    cold_start: HistorySource,
    ledger: Ledger | None = None,
    clock: Clock | None = None,
) -> Financing:
    """Ask ``bank_id`` to lend ``amount`` (minor units) against a holding; the robot decides.

    The decision is made and stored in one transaction, and nothing in it waits for the
    chain: approval pledges the whole holding in the store (split first to pledge a part) and
    queues the pledge, shown as pending (``approved``) until the relay has applied it
    (``active``). With a ``ledger`` (the platform's chain) the trade's invoices are presented
    to the consortium too: their salted fingerprints are queued with the decision, ahead of
    the pledge (``fraud.queue_presentation``), and the relay asks the chain before it sends
    them; an invoice another member was presented first makes the relay refuse the
    presentation, and the pledge queued behind it fails with it (the financing ``failed``,
    the holding free, the parties told). ``cold_start`` gives the history the first champion
    model learns from when the platform has none yet. ``clock`` dates the robot's metered
    read of a core enterprise's data (``consents``); without one, the read is dated ``as_of``.

    Of two requests on one holding, one wins: the second waits for the holding's row lock and
    then sees the first one's decision (a ConflictError).
    """
    scorer = credit.champion_scorer(uow_factory=uow_factory, as_of=as_of, cold_start=cold_start)
    with uow_factory() as uow:
        decided = _decide(
            uow, scorer=scorer, holding_id=holding_id, bank=get_org(uow, bank_id),
            amount=amount, actor_id=actor_id, as_of=as_of, present=ledger is not None,
            clock=clock,
        )  # fmt: skip
        uow.commit()
    return decided.financing


@dataclass(frozen=True, slots=True)
class _Decided:
    financing: Financing
    item: DebtItem
    queued: bool  # chain operations of the financing's own were queued


def _decide(
    uow: UnitOfWork,
    *,
    scorer: Scorer,
    holding_id: str,
    bank: Organisation,
    amount: int,
    actor_id: str,
    as_of: dt.date,
    present: bool,
    clock: Clock | None,
    read: tuple[Holding, DebtItem] | None = None,
) -> _Decided:
    """``request_financing``'s decision in the caller's unit of work (it commits); ``read``:
    the holding and its item, read already in this transaction."""
    holding = read[0] if read is not None else get_holding(uow, holding_id)
    if holding.holder_id != actor_id:
        raise PermissionDeniedError(f"holding {holding.id} is not held by {actor_id}")
    refuse_if_financed(uow, holding)  # a loser of a race learns it before any work
    if not bank.has_role(Role.BANK):
        raise DomainValueError(f"{bank.name} is not a bank")
    item = read[1] if read is not None else get_item(uow, holding.item_id)
    # the trade's open fraud signals gate the money (docs/verification.md, "Gating")
    found, trade = fraud.open_signals_in(uow, trade_id=item.trade_id, as_of=as_of)
    signals = tuple((s.fraud.value, s.message) for s in found)
    financing_id = new_id("fin")

    def prepare(on: Holding) -> credit.PreparedReview:
        return credit.prepare_review(
            uow=uow, scorer=scorer, request_id=financing_id, holding=on, bank_id=bank.id,
            amount=amount, as_of=as_of, fraud_signals=signals, clock=clock, item=item,
        )  # fmt: skip

    prepared = prepare(holding)  # the reads and the scoring, before any lock
    # Locks, always in this order (docs/architecture.md, "Concurrency"), held from here to the
    # commit only: the bank's limits, read and used in one transaction; then the holding's
    # row, so of two requests on one holding the second waits and then sees the first one's
    # decision.
    uow.settings.lock(credit.LIMITS_LOCK + bank.id)
    locked = uow.items.lock_holding(holding_id)
    if locked != holding:  # changed while it was reviewed: as it is now
        if locked is None:
            raise NotFoundError(f"holding {holding_id} does not exist")
        holding = locked
        if holding.holder_id != actor_id:
            raise PermissionDeniedError(f"holding {holding.id} is not held by {actor_id}")
        refuse_if_financed(uow, holding)
        prepared = prepare(holding)
    refuse_if_disputed(uow, item.id)
    decision = credit.decide_review(uow, prepared, bank.id)
    queued = present and (
        fraud.queue_presentation(uow, trade=trade, presenter_id=bank.id, financing_id=financing_id)
        is not None
    )  # ahead of the pledge: it waits for it, and fails with it
    financing = Financing(
        id=financing_id,
        item_id=item.id,
        holding_id=holding.id,
        borrower_id=actor_id,
        bank_id=bank.id,
        requested=amount,
        principal=decision.principal,
        rate_bps=decision.rate_bps,
        start_date=as_of,
        maturity_date=item.maturity_date,
        status=STATUS[decision.outcome],
        decision=decision,
    )
    uow.financings.add(financing)
    if decision.outcome is Outcome.APPROVE:
        credit.pledge(uow, financing, holding, bank)
        queued = True
    credit.queue_decision_anchor(uow, financing.id, decision)
    if decision.outcome is Outcome.DECLINE:
        webhooks.financing_declined(uow, financing)
    return _Decided(financing, item, queued)


# ------------------------------------------------------------------- entry points' use cases


@dataclass(frozen=True, slots=True)
class ChainWork:
    """Where a financing's own chain operations (its presentation, its pledge and the bank's
    acceptance) stand.

    Attributes:
        state: ``pending`` (queued, the relay has not applied them all yet), ``applied``, or
            ``refused`` (the chain refused one: nothing was lent, the financing ``failed``).
        refusal: the chain's reason, when refused.
    """

    state: str
    refusal: str | None = None


def chain_work(uow: UnitOfWork, financing_id: str) -> ChainWork | None:
    """Where the financing's chain operations stand; None when it has none (a decline or a
    referral without a presentation)."""
    ops = uow.outbox.for_subject(financing_id)
    refused = [o for o in ops if o.status in (OpStatus.REFUSED, OpStatus.FAILED)]
    if refused:
        return ChainWork("refused", refused[0].error)
    if any(o.status in (OpStatus.PENDING, OpStatus.SENT) for o in ops):
        return ChainWork("pending")
    return ChainWork("applied") if ops else None


@dataclass(frozen=True, slots=True)
class FinancingRow:
    """A financing with the currency of its asset (what every view of it needs).

    Attributes:
        financing: the financing request and its decision: a receivable financing
            (``Financing``, kind ``receivable``) or one against a warehouse receipt
            (``GoodsFinancing``, kind ``goods``).
        currency: the ISO 4217 currency of the financed item or of the goods' price.
        borrower_name, bank_name: their names.
        debtor_name: the item's debtor (a receivable), or the warehouse holding the goods.
        chain: where its chain operations stand (``chain_work``), where read (one financing).
    """

    financing: Financing | GoodsFinancing
    currency: str
    borrower_name: str = ""
    bank_name: str = ""
    debtor_name: str = ""
    chain: ChainWork | None = None

    @property
    def kind(self) -> FinancingKind:
        """``receivable`` or ``goods``."""
        return self.financing.kind


def holding_to_finance(uow: UnitOfWork, target: str, holder_id: str | None = None) -> Holding:
    """The holding a request names: ``target`` is a holding id, or an item id standing for the
    holder's largest unpledged open holding of it (the holder: ``holder_id``, else the item's
    creditor)."""
    item = uow.items.get(target)
    if item is None:
        return get_holding(uow, target)
    holder = holder_id or item.creditor_id
    open_ = [h for h in uow.items.holdings(item.id) if h.holder_id == holder and h.pledgeable]
    if not open_:
        raise NotFoundError(f"{holder} holds no unpledged part of item {item.id}")
    return max(open_, key=lambda h: h.outstanding)


def finance(
    *,
    uow_factory: UnitOfWorkFactory,
    target: str,
    bank: str,
    amount: str | Decimal,
    as_of: dt.date,
    cold_start: HistorySource,
    holder: str | None = None,
    ledger: Ledger | None = None,
    clock: Clock | None = None,
    own_holding_of: str | None = None,
) -> FinancingRow:
    """Ask ``bank`` (USCC or id) to lend ``amount`` (a decimal in the item's currency) against
    ``target``, an item or a holding (``holding_to_finance``); ``holder`` (USCC or id) asks,
    by default the holder of the holding, or the item's creditor. The robot decides now, in
    one transaction (``request_financing``); the row says whether chain work waits
    (``chain``: pending). ``own_holding_of`` (an organisation id, the API's caller): ``target``
    must be a holding it holds, else the holding "does not exist" (NotFoundError), as the
    caller may not learn of others' holdings."""
    for _ in range(2):  # the champion read in the decision's own transaction
        with uow_factory() as uow:
            scorer = credit.champion_in(uow)
            if scorer is not None:
                return _finance(
                    uow, scorer=scorer, target=target, bank=bank, amount=amount, as_of=as_of,
                    holder=holder, present=ledger is not None, clock=clock,
                    own_holding_of=own_holding_of,
                )  # fmt: skip
        # none registered yet: the first champion is learnt (in transactions of its own)
        credit.champion_scorer(uow_factory=uow_factory, as_of=as_of, cold_start=cold_start)
    raise RuntimeError("no champion model was registered")  # pragma: no cover


def _finance(
    uow: UnitOfWork,
    *,
    scorer: Scorer,
    target: str,
    bank: str,
    amount: str | Decimal,
    as_of: dt.date,
    holder: str | None,
    present: bool,
    clock: Clock | None,
    own_holding_of: str | None,
) -> FinancingRow:
    """``finance`` in the caller's unit of work, which it commits."""
    asker = find_org(uow, holder) if holder else None
    if own_holding_of is not None:
        found = uow.items.get_holding(target)
        if found is None or found.holder_id != own_holding_of:
            raise NotFoundError(f"holding {target} does not exist")
        holding = found
    else:
        holding = holding_to_finance(uow, target, asker.id if asker else None)
    asset = get_item(uow, holding.item_id)
    lender = find_org(uow, bank)
    decided = _decide(
        uow, scorer=scorer, holding_id=holding.id, bank=lender,
        amount=Money.of(amount, asset.currency).minor,
        actor_id=asker.id if asker else holding.holder_id, as_of=as_of,
        present=present, clock=clock, read=(holding, asset),
    )  # fmt: skip
    fin, item = decided.financing, decided.item
    borrower = asker if asker is not None else get_org(uow, fin.borrower_id)
    debtor = get_org(uow, item.debtor_id)
    uow.commit()
    chain = ChainWork("pending") if decided.queued else None
    return FinancingRow(fin, item.currency, borrower.name, lender.name, debtor.name, chain)


def decide(
    *,
    uow_factory: UnitOfWorkFactory,
    financing_id: str,
    approve: bool,
    reason: str,
    person: str,
    as_of: dt.date,
) -> FinancingRow:
    """A person decides a referred request, receivable (``credit.decide_referral``) or goods
    (``receipts.decide_goods_referral``), with its currency and names."""
    with uow_factory() as uow:
        goods = uow.goods_financings.get(financing_id) is not None
    if goods:
        decided = receipts.decide_goods_referral(
            uow_factory=uow_factory, financing_id=financing_id, approve=approve, reason=reason,
            person=person, as_of=as_of,
        )  # fmt: skip
        return get_financing(uow_factory=uow_factory, financing_id=decided.id)
    fin = credit.decide_referral(
        uow_factory=uow_factory,
        financing_id=financing_id,
        approve=approve,
        reason=reason,
        person=person,
        as_of=as_of,
    )
    with uow_factory() as uow:
        return _row(uow, fin)


def list_financings(
    *,
    uow_factory: UnitOfWorkFactory,
    status: str | None = None,
    bank: str | None = None,
    kind: str | None = None,
) -> list[FinancingRow]:
    """Every financing request, receivable and goods (only those in ``status``, of ``bank``
    (USCC or id) and of ``kind`` (``receivable``, ``goods``), if given), by start date,
    with the names of borrower, bank and debtor (a goods financing: the warehouse)."""
    if status is not None and status not in {s.value for s in FinancingStatus}:
        raise DomainValueError(
            f"status {status!r} is not one of {[s.value for s in FinancingStatus]}"
        )
    if kind is not None and kind not in {k.value for k in FinancingKind}:
        raise DomainValueError(f"kind {kind!r} is not one of {[k.value for k in FinancingKind]}")
    with uow_factory() as uow:
        bank_id = None if bank is None else find_org(uow, bank).id
        every: list[Financing | GoodsFinancing] = [
            *uow.financings.list(),
            *uow.goods_financings.list(),
        ]
        wanted = [
            f for f in every
            if (status is None or f.status.value == status)
            and (bank_id is None or f.bank_id == bank_id)
            and (kind is None or f.kind.value == kind)
        ]  # fmt: skip
        rows = [_row(uow, f) for f in wanted]
    return sorted(rows, key=lambda r: r.financing.start_date)


def _row(uow: UnitOfWork, fin: Financing | GoodsFinancing) -> FinancingRow:
    """The financing with its currency and the names of its parties."""
    if isinstance(fin, GoodsFinancing):
        receipt = uow.receipts.get(fin.receipt_id)
        other = get_org(uow, receipt.warehouse_id).name if receipt is not None else ""
        currency = fin.currency
    else:
        item = get_item(uow, fin.item_id)
        other, currency = get_org(uow, item.debtor_id).name, item.currency
    return FinancingRow(
        fin, currency, get_org(uow, fin.borrower_id).name, get_org(uow, fin.bank_id).name, other
    )


def get_financing(*, uow_factory: UnitOfWorkFactory, financing_id: str) -> FinancingRow:
    """One financing request, receivable or goods, with its currency and names (NotFoundError
    naming it if unknown)."""
    with uow_factory() as uow:
        fin: Financing | GoodsFinancing | None = uow.financings.get(financing_id)
        if fin is None:
            fin = uow.goods_financings.get(financing_id)
        if fin is None:
            raise NotFoundError(f"financing request {financing_id} does not exist")
        return replace(_row(uow, fin), chain=chain_work(uow, fin.id))


def product_policy(*, uow_factory: UnitOfWorkFactory, bank: str) -> ProductPolicy:
    """The product policy in force at ``bank`` (USCC or id); the default product until it
    sets its own."""
    with uow_factory() as uow:
        return credit.get_policy(uow, find_org(uow, bank).id)


def set_product_policy(
    *, uow_factory: UnitOfWorkFactory, bank: str, fields: Mapping[str, Any]
) -> ProductPolicy:
    """Set ``bank``'s product policy from its JSON ``fields`` (those left out keep their
    defaults); an unknown field or a value out of range is a DomainValueError saying which."""
    with uow_factory() as uow:
        bank_id = find_org(uow, bank).id
    try:
        policy = ProductPolicy.from_json({**fields, "bank_id": bank_id})
    except (TypeError, ValueError) as exc:
        raise DomainValueError(str(exc)) from None
    return credit.set_policy(uow_factory=uow_factory, policy=policy)
