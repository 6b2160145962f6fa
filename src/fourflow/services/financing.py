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
import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, ClassVar, cast

from fourflow.domain.debt import DebtItem, Holding
from fourflow.domain.errors import (
    ConflictError,
    DomainValueError,
    FourFlowError,
    NotFoundError,
    PermissionDeniedError,
)
from fourflow.domain.financing import (
    Decision,
    Financing,
    FinancingKind,
    FinancingStatus,
    GoodsFinancing,
    Outcome,
)
from fourflow.domain.money import Money
from fourflow.domain.parties import Organisation, Role
from fourflow.domain.trades import Trade
from fourflow.risk.bootstrap import HistorySource
from fourflow.risk.review import Exposure, ProductPolicy, Scorer
from fourflow.services import commands as cmd
from fourflow.services import credit, fraud, receipts, webhooks
from fourflow.services.common import (
    find_org,
    get_holding,
    get_item,
    get_org,
    new_id,
    refuse_if_disputed,
)
from fourflow.services.group_commit import AsyncGroupCommit, GroupCommit
from fourflow.services.onboarding import OPERATOR_ORG_KEY
from fourflow.services.ports import (
    ChainOp,
    Clock,
    Ledger,
    OpStatus,
    UnitOfWork,
    UnitOfWorkFactory,
)
from fourflow.verification.fraud import PlatformView

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
        ready = _prepare(
            uow, scorer=scorer, holding_id=holding_id, bank=get_org(uow, bank_id),
            amount=amount, actor_id=actor_id, as_of=as_of, present=ledger is not None,
            clock=clock,
        ).ready(uow)  # fmt: skip
        decided = _decide(uow, ready)
        uow.commit()
    return decided.financing


@dataclass(frozen=True, slots=True)
class _Decided:
    financing: Financing
    item: DebtItem
    queued: bool  # chain operations of the financing's own were queued


@dataclass(frozen=True, slots=True)
class _Asked:
    """A request read and checked before any lock (``_prepare``)."""

    holding: Holding
    item: DebtItem
    bank: Organisation
    actor_id: str
    amount: int
    as_of: dt.date
    scorer: Scorer
    financing_id: str
    signals: tuple[tuple[str, str], ...]
    trade: Trade
    present: bool
    clock: Clock | None
    meter: bool

    def review(self, uow: UnitOfWork, holding: Holding) -> credit.PreparedReview:
        """The robot's reads and scoring of the request on ``holding`` as read."""
        return credit.score_reviews(self.scorer, [self.read(uow, holding)])[0]

    def read(self, uow: UnitOfWork, holding: Holding) -> credit.ReviewRead:
        """The robot's reads of the request on ``holding`` as read, not yet scored (a batch
        scores all its requests' at once, ``credit.score_reviews``)."""
        return credit.read_review(
            uow=uow, request_id=self.financing_id, holding=holding, bank_id=self.bank.id,
            amount=self.amount, as_of=self.as_of, fraud_signals=self.signals,
            clock=self.clock, item=self.item, meter=self.meter,
        )  # fmt: skip

    def ready(self, uow: UnitOfWork) -> _Ready:
        """The request read and scored, before any lock (``_settle`` decides it)."""
        return _Ready(self, self.review(uow, self.holding))


@dataclass(frozen=True, slots=True)
class _Ready:
    """A request read, checked and scored before any lock; ``_settle`` decides it under the
    locks."""

    asked: _Asked
    prepared: credit.PreparedReview


def _decide(uow: UnitOfWork, ready: _Ready) -> _Decided:
    """A request prepared (``_prepare``) decided and stored alone, in the caller's unit of
    work (it commits)."""
    # Locks, always in this order (docs/architecture.md, "Concurrency"), held from here to the
    # commit only: the bank's limits, read and used in one transaction; then the holding's
    # row, so of two requests on one holding the second waits and then sees the first one's
    # decision.
    uow.settings.lock(credit.LIMITS_LOCK + ready.asked.bank.id)
    return _settle(uow, ready)


def _prepare(
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
    view: PlatformView | None = None,
    meter: bool = True,
) -> _Asked:
    """The reads and checks of a decision, before any lock (nothing written); the robot's
    reads and scoring follow (``_Asked.ready``: with ``meter``, the metered read of a core
    enterprise's data written; without it, the read is metered by ``_settle``). ``view``:
    the fraud scan's platform view as of ``as_of``, if read already in this transaction."""
    holding = read[0] if read is not None else get_holding(uow, holding_id)
    if holding.holder_id != actor_id:
        raise PermissionDeniedError(f"holding {holding.id} is not held by {actor_id}")
    refuse_if_financed(uow, holding)  # a loser of a race learns it before any work
    if not bank.has_role(Role.BANK):
        raise DomainValueError(f"{bank.name} is not a bank")
    item = read[1] if read is not None else get_item(uow, holding.item_id)
    # the trade's open fraud signals gate the money (docs/verification.md, "Gating")
    found, trade = fraud.open_signals_in(uow, trade_id=item.trade_id, as_of=as_of, view=view)
    signals = tuple((s.fraud.value, s.message) for s in found)
    return _Asked(
        holding=holding, item=item, bank=bank, actor_id=actor_id, amount=amount, as_of=as_of,
        scorer=scorer, financing_id=new_id("fin"), signals=signals, trade=trade,
        present=present, clock=clock, meter=meter,
    )  # fmt: skip


def _settle(uow: UnitOfWork, ready: _Ready) -> _Decided:
    """Decide a prepared request and store it; the caller holds the bank's limits lock.
    Takes the holding's row lock (``_judge``)."""
    locked = uow.items.lock_holding(ready.asked.holding.id)
    holding, prepared, decision = _judge(uow, ready, locked, recheck_policy=True)
    with uow.together():  # the request's writes, one statement a table
        return _store(uow, ready.asked, holding, prepared, decision)


def _judge(
    uow: UnitOfWork,
    ready: _Ready,
    locked: Holding | None,
    now: Exposure | None = None,
    recheck_policy: bool = False,
) -> tuple[Holding, credit.PreparedReview, Decision]:
    """The checks and the decision of a prepared request under the bank's limits lock, with
    ``locked`` its holding as read under its row lock (a holding changed since it was read is
    checked and reviewed again as it is now): the holding, the review and the decision; a
    refusal raised. Nothing is written but, on the way of a request alone (``meter``), the
    metered read of a review made again. ``now``: the bank's exposure, if the caller keeps
    it. ``recheck_policy``: the bank's policy read again (under the lock: a version committed
    after the review read it is the one in force, and the request is reviewed again under
    it)."""
    asked, prepared = ready.asked, ready.prepared
    holding, item, bank, actor_id = asked.holding, asked.item, asked.bank, asked.actor_id
    if locked != holding:  # changed while it was reviewed: as it is now
        if locked is None:
            raise NotFoundError(f"holding {holding.id} does not exist")
        holding = locked
        if holding.holder_id != actor_id:
            raise PermissionDeniedError(f"holding {holding.id} is not held by {actor_id}")
        refuse_if_financed(uow, holding)
        prepared = asked.review(uow, holding)
    elif recheck_policy and credit.policy_in_force(uow, bank.id)[1] != prepared.version:
        prepared = asked.review(uow, holding)  # its bank's policy changed meanwhile
    refuse_if_disputed(uow, item.id)
    return holding, prepared, credit.decide_review(uow, prepared, bank.id, now)


def _store(
    uow: UnitOfWork,
    asked: _Asked,
    holding: Holding,
    prepared: credit.PreparedReview,
    decision: Decision,
    seen: dict[str, bool] | None = None,
) -> _Decided:
    """Store a decided request: the metered read its review left unmetered, the financing,
    its pledge and chain operations (``seen``: the batch's fingerprints known presented,
    ``fraud.queue_presentation``)."""
    item, bank, actor_id = asked.item, asked.bank, asked.actor_id
    financing_id = asked.financing_id
    credit.meter_read(uow, prepared)  # when ``_prepare`` left it unmetered
    queued = asked.present and (
        fraud.queue_presentation(
            uow, trade=asked.trade, presenter_id=bank.id, financing_id=financing_id, seen=seen
        )
        is not None
    )  # ahead of the pledge: it waits for it, and fails with it
    financing = Financing(
        id=financing_id,
        item_id=item.id,
        holding_id=holding.id,
        borrower_id=actor_id,
        bank_id=bank.id,
        requested=asked.amount,
        principal=decision.principal,
        rate_bps=decision.rate_bps,
        start_date=asked.as_of,
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
    asked = FinanceRequest(target, bank, amount, as_of, holder, own_holding_of)
    asker, holding, asset, lender, minor = _read_request(uow, asked)
    ready = _prepare(
        uow, scorer=scorer, holding_id=holding.id, bank=lender, amount=minor,
        actor_id=asker.id if asker else holding.holder_id, as_of=as_of,
        present=present, clock=clock, read=(holding, asset),
    ).ready(uow)  # fmt: skip
    decided = _decide(uow, ready)
    row = _answer(uow, decided, asker, lender)
    uow.commit()
    return row


def _read_request(
    uow: UnitOfWork, asked: FinanceRequest
) -> tuple[Organisation | None, Holding, DebtItem, Organisation, int]:
    """The asker (None: the holder), the holding and its item, the bank, and the amount in
    minor units of the item's currency, as ``finance`` reads them."""
    asker = find_org(uow, asked.holder) if asked.holder else None
    if asked.own_holding_of is not None:
        found = uow.items.get_holding(asked.target)
        if found is None or found.holder_id != asked.own_holding_of:
            raise NotFoundError(f"holding {asked.target} does not exist")
        holding = found
    else:
        holding = holding_to_finance(uow, asked.target, asker.id if asker else None)
    asset = get_item(uow, holding.item_id)
    lender = find_org(uow, asked.bank)
    return asker, holding, asset, lender, Money.of(asked.amount, asset.currency).minor


def _answer(
    uow: UnitOfWork, decided: _Decided, asker: Organisation | None, lender: Organisation
) -> FinancingRow:
    fin, item = decided.financing, decided.item
    borrower = asker if asker is not None else get_org(uow, fin.borrower_id)
    debtor = get_org(uow, item.debtor_id)
    chain = ChainWork("pending") if decided.queued else None
    return FinancingRow(fin, item.currency, borrower.name, lender.name, debtor.name, chain)


# ------------------------------------------------------------------- decisions in batches


@dataclass(frozen=True, slots=True)
class FinanceRequest:
    """One request as ``finance`` takes it (its own arguments; ``finance_many``)."""

    target: str
    bank: str
    amount: str | Decimal
    as_of: dt.date
    holder: str | None = None
    own_holding_of: str | None = None


#: What ``finance_many`` answers a request: its row, or why it was refused.
Answer = FinancingRow | Exception


def finance_many(
    *,
    uow_factory: UnitOfWorkFactory,
    requests: Sequence[FinanceRequest],
    cold_start: HistorySource,
    ledger: Ledger | None = None,
    clock: Clock | None = None,
) -> list[Answer]:
    """Decide several requests in ONE transaction, each exactly as ``finance`` would decide
    it alone, one after another; the answers in the order of ``requests``.

    The reads and the scoring of every request come first, without locks (the fraud scan's
    platform view read once for the batch); then the banks' limits locks (by bank id), the
    holdings' row locks (in one read, in id order), and each request in the order of its
    holding id: checked and decided against the bank's exposure as the requests before it in
    the batch left it (read once under the lock, then kept, ``credit.with_financing``), then
    stored. A request refused (a ``FourFlowError``: not the holder's, financed meanwhile,
    ...) is refused before it writes anything and answered with that error; the others go
    on. The batch's writes are held and stored at its end, one statement a table
    (``UnitOfWork.together``), and one commit stores them all. Anything else going wrong (a
    database error, a deadlock with another process, a write refused) rolls the whole batch
    back and each request is decided alone (``finance``).
    """
    if not requests:
        return []
    for _ in range(2):  # the champion read in the batch's own transaction
        try:
            with uow_factory() as uow:
                running = _Running.of(uow)
                scorer = running.champion(uow)
                if scorer is not None:
                    answers = _finance_many(
                        uow, scorer=scorer, requests=requests, present=ledger is not None,
                        clock=clock, running=running,
                    )  # fmt: skip
                    uow.commit()
                    running.committed()
                    return answers
        except Exception:  # the batch is broken: each request alone, below
            return [_alone(uow_factory, r, cold_start, ledger, clock) for r in requests]
        # none registered yet: the first champion is learnt (in transactions of its own)
        credit.champion_scorer(
            uow_factory=uow_factory, as_of=requests[0].as_of, cold_start=cold_start
        )
    raise RuntimeError("no champion model was registered")  # pragma: no cover


def _alone(
    uow_factory: UnitOfWorkFactory,
    asked: FinanceRequest,
    cold_start: HistorySource,
    ledger: Ledger | None,
    clock: Clock | None,
) -> Answer:
    try:
        return finance(
            uow_factory=uow_factory, target=asked.target, bank=asked.bank, amount=asked.amount,
            as_of=asked.as_of, cold_start=cold_start, holder=asked.holder, ledger=ledger,
            clock=clock, own_holding_of=asked.own_holding_of,
        )  # fmt: skip
    except Exception as exc:  # answered to its own request only
        return exc


def _finance_many(
    uow: UnitOfWork,
    *,
    scorer: Scorer,
    requests: Sequence[FinanceRequest],
    present: bool,
    clock: Clock | None,
    running: _Running | None = None,
) -> list[Answer]:
    """``finance_many`` in the caller's unit of work (the caller commits); a FourFlowError
    of one request is its answer, anything else is raised. ``running``: the process's state
    kept between batches (``_Running``), checked against the store's change marks."""
    running = running if running is not None else _Running.of(uow)
    answers: list[Answer | None] = [None] * len(requests)
    views: dict[dt.date, PlatformView] = {}
    ready: list[tuple[int, _Ready, Organisation | None]] = []
    kept = {
        "policies": running.policies(uow),
        "settings": running.settings(uow),
        "trades": running.trades(uow),
    }
    batch = _BatchReads(uow, _READ_ONCE, kept)
    # the organisations as the fraud view read them (kept under the same mark): the askers,
    # banks and debtors are not read one by one
    views[requests[0].as_of] = running.view(uow, requests[0].as_of)
    organisations = {o.id: o for o in views[requests[0].as_of].organisations}
    batch.prime("organisations", "get", organisations)
    _read_ahead(uow, batch, requests)
    reads = cast(UnitOfWork, batch)
    read: list[tuple[int, _Asked, credit.ReviewRead, Organisation | None]] = []
    for i, asked in enumerate(requests):  # reads: nothing written, no locks
        try:
            asker, holding, asset, lender, minor = _read_request(reads, asked)
            if asked.as_of not in views:
                views[asked.as_of] = running.view(uow, asked.as_of)
            one = _prepare(
                reads, scorer=scorer, holding_id=holding.id, bank=lender, amount=minor,
                actor_id=asker.id if asker else holding.holder_id, as_of=asked.as_of,
                present=present, clock=clock, read=(holding, asset),
                view=views[asked.as_of], meter=False,
            )  # fmt: skip
            read.append((i, one, one.read(reads, holding), asker))
        except FourFlowError as exc:
            answers[i] = exc
    # the scoring: the batch's distinct feature vectors in one call of the model (each
    # request's score is the one it gets alone)
    scored = credit.score_reviews(scorer, [r for _, _, r, _ in read])
    for (i, one, _, asker), prepared in zip(read, scored, strict=True):
        ready.append((i, _Ready(one, prepared), asker))
    for bank_id in sorted({r.asked.bank.id for _, r, _ in ready}):
        uow.settings.lock(credit.LIMITS_LOCK + bank_id)  # banks in one order, then holdings
    items = sorted({r.asked.item.id for _, r, _ in ready})
    # the marks, the holdings' row locks, the items' disputes and which of the presented
    # fingerprints are known in one statement, where the store can (``decision_locked_reads``:
    # PostgreSQL), else one read each
    at_once = getattr(uow, "decision_locked_reads", None) if ready else None
    prints = _fingerprints(reads, ready) if at_once else []
    holding_ids = [r.asked.holding.id for _, r, _ in ready]
    first = at_once(holding_ids, items, prints) if at_once else None
    marks = first.marks if first is not None else None
    exposures = running.exposures(uow, marks) if ready else {}  # as kept, if nobody changed them
    if running.policy_moved:  # a bank's policy committed since the batch read them: read afresh
        kept = {k: v for k, v in kept.items() if k != "policies"}
    under = _BatchReads(uow, _READ_ONCE_LOCKED, kept)
    under.prime("organisations", "get", organisations)  # no decision writes one
    if first is not None:
        under.prime("disputes", "for_item", first.disputes)
    elif len(items) > 1:  # the items' disputes in one read, not one an item
        disputes = uow.disputes.for_items(items)
        under.prime("disputes", "for_item", {i: disputes.get(i, []) for i in items})
    locked = cast(UnitOfWork, under)
    with uow.together():  # every write of the batch at its end, one statement a table
        _settle_batch(locked, sorted(ready, key=lambda r: (r[1].asked.holding.id, r[0])),
                      answers, exposures, recheck_policy=running.policy_moved,
                      rows=first.holdings if first is not None else None,
                      seen=None if first is None else {p: p in first.known for p in prints},
                      )  # fmt: skip
        uow.outbox.order_held(_queue_stage)  # the relay sends each stage in a run or so
    if ready:
        running.decided(uow, exposures)  # kept once the caller's commit succeeds
    return [a if a is not None else RuntimeError("not decided") for a in answers]


def _queue_stage(op: ChainOp) -> int:
    """Where a batch's chain op is queued: every presentation (in the order of the requests),
    then every holder's pledge offer, then every bank's acceptance, then every decision
    anchor. Each request's own ops keep their order (presentation, offer, acceptance,
    anchor), and those of two requests name different financings and holdings (one holding
    is pledged once a batch), so no op comes before one it builds on; and the relay, which
    sends a sender's ops up to the first that waits for another sender's, sends the batch in
    about four runs (one per stage) instead of two or three ops a run, alternating senders.
    """
    c = op.command
    if isinstance(c, cmd.Pledge):
        return 1
    if isinstance(c, cmd.AcceptPledge):
        return 2
    if isinstance(c, cmd.RegisterFingerprints):
        return 3 if (op.subject_id or "").startswith(credit.DECISION_SUBJECT) else 0
    raise RuntimeError(f"a decision does not queue {op.kind} operations")


def _read_ahead(uow: UnitOfWork, batch: _BatchReads, requests: Sequence[FinanceRequest]) -> None:
    """Read what every request of the batch reads first, in one read a table: the holdings
    named (as the API names them, ``own_holding_of``) and the latest financing of each; the
    holdings they were split from (a holder's depth, ``credit.review``), their items, the
    items' trades, and the trades' signal clearances and payments by transfer (read a trade
    at a time otherwise: a batch over many items paid five statements an item). A store that
    reads them all in one statement (``decision_reads``: PostgreSQL, one round trip instead
    of six) does."""
    named = [r.target for r in requests if r.own_holding_of is not None]
    if not named:
        return
    together = getattr(uow, "decision_reads", None)
    ahead = together(named) if together is not None else None
    if ahead is None:
        ahead = _Ahead.read(uow, named)
    else:  # the disputes raised on the trades its reviews read, read with the rest
        batch.wrap("disputes", _KnownDisputes(uow.disputes, ahead.near, ahead.disputed))
    holdings: Mapping[str, Holding] = ahead.holdings
    batch.prime("items", "get_holding", holdings)  # an unknown one is read (and told) alone
    batch.prime("financings", "by_holding", {h: ahead.latest.get(h) for h in holdings})
    parents = {h.parent_id for h in holdings.values() if h.parent_id} - set(holdings)
    # found ones only: an unknown one is read (and told) alone
    batch.prime("items", "get_holding", {k: v for k, v in ahead.parents.items() if k in parents})
    batch.prime("items", "get", {i.id: i for i in ahead.items})
    trade_ids = sorted({i.trade_id for i in ahead.items})
    if not trade_ids:
        return
    trades = batch.trades.get_many(trade_ids)  # as kept (``_Running.trades``), if kept
    batch.prime("trades", "get", {r.id: r for r in trades})
    for repository, rows in (
        ("signal_clearances", ahead.clearances),
        ("transfer_payments", ahead.payments),
    ):
        by_trade: dict[str, list[Any]] = {t: [] for t in trade_ids}
        for row in rows:  # in the store's order, as a read of one trade gives them
            by_trade[row.trade_id].append(row)
        batch.prime(repository, "for_trades", {(t,): found for t, found in by_trade.items()})


@dataclass(frozen=True, slots=True)
class _Ahead:
    """``_read_ahead``'s reads, one read a table (as ``decision_reads`` gives them at once)."""

    holdings: dict[str, Holding]
    latest: dict[str, Financing]
    parents: dict[str, Holding]
    items: list[DebtItem]
    clearances: list[Any]
    payments: list[Any]

    @classmethod
    def read(cls, uow: UnitOfWork, named: Sequence[str]) -> _Ahead:
        holdings = uow.items.get_holdings(named)
        latest = uow.financings.by_holdings(list(holdings))
        parents = sorted({h.parent_id for h in holdings.values() if h.parent_id} - set(holdings))
        items = uow.items.get_many(sorted({h.item_id for h in holdings.values()}))
        trade_ids = sorted({i.trade_id for i in items})
        return cls(
            holdings, latest, uow.items.get_holdings(parents) if parents else {}, items,
            uow.signal_clearances.for_trades(trade_ids) if trade_ids else [],
            uow.transfer_payments.for_trades(trade_ids) if trade_ids else [],
        )  # fmt: skip


def _settle_batch(
    uow: UnitOfWork,
    ready: Sequence[tuple[int, _Ready, Organisation | None]],
    answers: list[Answer | None],
    exposures: dict[str, Exposure],
    *,
    recheck_policy: bool = True,
    rows: Mapping[str, Holding] | None = None,
    seen: dict[str, bool] | None = None,
) -> None:
    """Decide and store a batch's requests under the banks' limits locks, in holding-id order,
    their writes held (``UnitOfWork.together``): the holdings' rows locked in one read, each
    request judged (``_judge``: a refusal is its answer, and it wrote nothing; with
    ``recheck_policy``, against its bank's policy as read under the lock), then stored;
    anything going wrong while storing is raised (the batch is broken). ``rows``: the
    holdings as read under their row locks already (``decision_locked_reads``); ``seen``: the
    presented fingerprints known presented or not, as read already."""
    if rows is None:
        rows = uow.items.lock_holdings([r.asked.holding.id for _, r, _ in ready])
    decided_on: set[str] = set()  # holdings of requests decided before in the batch
    if seen is None:
        seen = _presented(uow, ready)  # fingerprints known presented, or not
    for i, one, asker in ready:
        bank, holding_id = one.asked.bank, one.asked.holding.id
        now = exposures.get(bank.id)
        if now is None:
            now = exposures[bank.id] = credit.exposure(uow, bank.id)
        # a holding decided on before in the batch: as that decision left it
        locked = (
            uow.items.get_holding(holding_id) if holding_id in decided_on else rows.get(holding_id)
        )
        decided_on.add(holding_id)
        try:
            holding, prepared, decision = _judge(uow, one, locked, now, recheck_policy)
        except FourFlowError as exc:
            answers[i] = exc
            continue
        decided = _store(uow, one.asked, holding, prepared, decision, seen)
        answers[i] = _answer(uow, decided, asker, bank)
        fin, request = decided.financing, one.prepared.request
        if fin.status in credit.ACTIVE:  # the next request sees it in the bank's exposure
            exposures[bank.id] = credit.with_financing(
                now, principal=fin.principal, borrower=fin.borrower_id,
                debtor=decided.item.debtor_id, scenario=request.scenario,
                industry=request.industry,
            )  # fmt: skip


def _fingerprints(
    uow: UnitOfWork, ready: Sequence[tuple[int, _Ready, Organisation | None]]
) -> list[str]:
    """Every invoice fingerprint of the trades the batch presents (``fraud.queue_presentation``
    computes the same), sorted; under the banks' limits locks (the salt may be created)."""
    trades = {r.asked.trade.id: r.asked.trade for _, r, _ in ready if r.asked.present}
    if not trades:
        return []
    salt = fraud.consortium_salt(uow)
    return sorted(
        {fp for t in trades.values() for fp in fraud.invoice_fingerprints(salt, t).values()}
    )


def _presented(
    uow: UnitOfWork, ready: Sequence[tuple[int, _Ready, Organisation | None]]
) -> dict[str, bool]:
    """Whether each invoice fingerprint of the trades the batch presents is known presented
    (``fraud.queue_presentation``'s ``seen``), in one read for the batch's trades (not one a
    trade); a batch over one trade leaves it to ``queue_presentation`` (one read as well)."""
    trades = {r.asked.trade.id: r.asked.trade for _, r, _ in ready if r.asked.present}
    if len(trades) < 2:
        return {}
    salt = fraud.consortium_salt(uow)
    every = sorted(
        {fp for t in trades.values() for fp in fraud.invoice_fingerprints(salt, t).values()}
    )
    known = uow.presentations.known(every) if every else set()
    return {fp: fp in known for fp in every}


#: Reads a batch's requests repeat and its decisions do not change, answered once per batch:
#: before the locks (nothing written yet), and under them (the platform's settings, the banks'
#: policies and the items' disputes: none of them written by a decision).
_READ_ONCE = {
    "organisations": frozenset({"get"}),
    "items": frozenset({"get", "get_holding"}),
    "financings": frozenset({"by_holding"}),
    "trades": frozenset({"get", "involving"}),
    "disputes": frozenset({"raised_days", "for_item"}),
    "transfer_payments": frozenset({"for_trades"}),
    "signal_clearances": frozenset({"for_trades"}),
    "policies": frozenset({"latest"}),
    "settings": frozenset({"get"}),
}
_READ_ONCE_LOCKED = {
    "organisations": frozenset({"get"}),
    "settings": frozenset({"get"}),
    "policies": frozenset({"latest"}),
    "disputes": frozenset({"for_item"}),
}


class _Once:
    """A repository whose ``names`` read methods answer again what they answered before in
    this batch (``kept``; a None answer is read again, unless primed, ``_BatchReads.prime``);
    the rest pass through."""

    def __init__(self, inner: object, names: frozenset[str], kept: dict[Any, Any]) -> None:
        self._inner, self._names, self._kept = inner, names, kept

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._inner, name)
        if name not in self._names:
            return found

        def once(*args: Any) -> Any:
            key = (id(self), name, *(tuple(a) if isinstance(a, list) else a for a in args))
            if key in self._kept:
                kept = self._kept[key]
                return list(kept) if isinstance(kept, list) else kept
            value = found(*args)
            if value is not None:
                self._kept[key] = list(value) if isinstance(value, list) else value
            return value

        return once


class _BatchReads:
    """The batch's unit of work with the reads of ``repositories`` answered once (``_Once``);
    everything else is the unit of work's own."""

    def __init__(
        self,
        uow: UnitOfWork,
        repositories: Mapping[str, frozenset[str]],
        inner: Mapping[str, object] | None = None,
    ) -> None:
        self._uow = uow
        self._kept: dict[Any, Any] = {}
        inner = inner or {}
        self._once = {
            name: _Once(inner.get(name) or getattr(uow, name), methods, self._kept)
            for name, methods in repositories.items()
        }

    def __getattr__(self, name: str) -> Any:
        found = self._once.get(name)
        return found if found is not None else getattr(self._uow, name)

    def wrap(self, repository: str, inner: object) -> None:
        """Answer ``repository``'s reads from ``inner`` (then once a batch, as before)."""
        once = self._once[repository]
        self._once[repository] = _Once(inner, once._names, self._kept)

    def prime(self, repository: str, method: str, answers: Mapping[Any, Any]) -> None:
        """Answer ``repository.method(key)`` with ``answers[key]`` (None included), as if
        read already in this batch (a list argument: its tuple as the key)."""
        once = self._once[repository]
        for key, answer in answers.items():
            self._kept[(id(once), method, key)] = answer


class _KnownDisputes:
    """``uow.disputes`` with ``raised_days`` of trades among ``near`` answered from
    ``disputed`` (the (trade, day) pairs ``raised_days(near)`` gives, in store order, read by
    the batch's first statement: ``decision_reads``); other trades, and other reads, pass
    through."""

    def __init__(
        self, inner: Any, near: frozenset[str], disputed: Sequence[tuple[str, dt.date]]
    ) -> None:
        self._inner, self._near, self._disputed = inner, near, disputed

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def raised_days(self, trade_ids: Sequence[str] | None = None) -> dict[str, list[dt.date]]:
        if trade_ids is None or not self._near.issuperset(trade_ids):
            return cast(dict[str, list[dt.date]], self._inner.raised_days(trade_ids))
        wanted = set(trade_ids)
        out: dict[str, list[dt.date]] = {}
        for trade_id, day in self._disputed:
            if trade_id in wanted:
                out.setdefault(trade_id, []).append(day)
        return out


class _KeptPolicies:
    """The banks' policies as ``policies.latest`` answers them, kept in the process's running
    state while the store's ``policy`` mark stays (``_Running``); other reads pass through."""

    def __init__(self, inner: Any, kept: dict[str, Any]) -> None:
        self._inner, self._kept = inner, kept

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def latest(self, bank_id: str) -> Any:
        if bank_id not in self._kept:
            self._kept[bank_id] = self._inner.latest(bank_id)
        return self._kept[bank_id]


class _KeptTrades:
    """The trades as ``trades.get``, ``get_many`` and ``involving`` answer them, kept in the
    process's running state while the store's ``view`` mark stays (the trades' rows are of
    its group: a trade written in any process moves it, ``_Running``); other reads pass
    through. A trade not found is read again."""

    #: Answers kept under one mark at most (then dropped, and kept afresh).
    LIMIT = 4096

    def __init__(self, inner: Any, kept: dict[tuple[str, Any], Any]) -> None:
        self._inner, self._kept = inner, kept

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def _keep(self, key: tuple[str, Any], value: Any) -> None:
        if len(self._kept) >= self.LIMIT:
            self._kept.clear()
        self._kept[key] = value

    def get(self, trade_id: str) -> Any:
        found = self._kept.get(("get", trade_id))
        if found is None:
            found = self._inner.get(trade_id)
            if found is not None:
                self._keep(("get", trade_id), found)
        return found

    def get_many(self, trade_ids: Sequence[str]) -> list[Any]:
        """The trades with these ids, in the order of ``trade_ids`` (unknown ids skipped):
        those not kept in one read."""
        missing = [i for i in dict.fromkeys(trade_ids) if ("get", i) not in self._kept]
        found = {r.id: r for r in self._inner.get_many(missing)} if missing else {}
        for trade_id, record in found.items():
            self._keep(("get", trade_id), record)
        answer = []
        for trade_id in dict.fromkeys(trade_ids):
            record = found.get(trade_id) or self._kept.get(("get", trade_id))
            if record is not None:
                answer.append(record)
        return answer

    def involving(self, org_ids: Sequence[str]) -> list[Any]:
        key = ("involving", tuple(org_ids))
        found = self._kept.get(key)
        if found is None:
            found = self._inner.involving(org_ids)
            self._keep(key, found)
        return list(found)


class _KeptSettings:
    """The platform's settings as ``settings.get`` answers them, with its constants (the
    operator's organisation, the consortium's fingerprint salt: written once, when the
    platform starts or at its first presentation, and never changed) kept in the process's
    running state once a batch that read them has committed (``_Running.committed``); other
    settings and reads pass through."""

    #: The settings kept: written once, never changed.
    CONSTANTS = frozenset({OPERATOR_ORG_KEY, fraud.SALT_SETTING})

    def __init__(self, inner: Any, kept: Mapping[str, str], staged: dict[str, str]) -> None:
        self._inner, self._kept, self._staged = inner, kept, staged

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def get(self, key: str) -> str | None:
        found = self._kept.get(key)
        if found is not None:
            return found
        found = self._inner.get(key)
        if found is not None and key in self.CONSTANTS:
            self._staged[key] = found  # kept once this batch commits (it may have written it)
        return cast("str | None", found)


class _Running:
    """What an API process keeps between its batches of decisions, per store (engine): the
    champion's scorer, the fraud scan's platform view (by date) and the trades' records the
    reviews read (``_KeptTrades``), the banks' product policies and the banks' exposures,
    each under the store's change mark of its group (migration
    0029, ``SqlUnitOfWork.decision_marks``) read in the batch's own transaction: a group whose
    mark is the one it was kept under has not changed since (in any process: the marks are
    written by triggers in the writers' transactions), so the batch uses what is kept instead
    of reading its tables; a changed mark drops it, and the batch reads and keeps afresh.

    The marks of the view, the policies and the model are read as the batch starts (its reads
    are as of then, as they were as of its first statements); the exposure's mark is read again
    under the banks' limits locks, and once more after the batch's writes: the exposures the
    batch leaves (``credit.with_financing``) are kept under that last mark only if nothing but
    the batch's own writes moved it (on PostgreSQL the rows name their transaction; on SQLite
    the batch holds the write lock throughout), and only once the batch is committed
    (``committed``). A store without the marks (or a unit of work without
    ``decision_marks``: the fakes) keeps nothing: every batch reads everything."""

    _STATES: ClassVar[weakref.WeakKeyDictionary[Any, _RunningStore]] = weakref.WeakKeyDictionary()
    _LOCK: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, store: _RunningStore | None, marks: dict[str, tuple[int, int]] | None):
        self._store, self._marks = store, marks or {}
        self._staged: dict[str, tuple[int, Exposure]] = {}
        self._staged_settings: dict[str, str] = {}
        self.policy_moved = True  # a policy may have changed since the batch read them

    @classmethod
    def of(cls, uow: UnitOfWork) -> _Running:
        """The running state of ``uow``'s store, its marks read now (in ``uow``)."""
        read = getattr(uow, "decision_marks", None)
        session = getattr(uow, "_session", None)
        if read is None or session is None:
            return cls(None, None)
        marks = read(fold=True)
        if marks is None:
            return cls(None, None)
        engine = session.get_bind()
        with cls._LOCK:
            store = cls._STATES.get(engine)
            if store is None:
                store = cls._STATES[engine] = _RunningStore()
        return cls(store, marks)

    def _mark(self, group: str) -> int | None:
        found = self._marks.get(group)
        return None if found is None else found[0]

    def champion(self, uow: UnitOfWork) -> Scorer | None:
        """``credit.champion_in``, kept while the ``model`` mark stays."""
        mark, store = self._mark("model"), self._store
        if store is None or mark is None:
            return credit.champion_in(uow)
        with store.lock:
            if store.model is not None and store.model[0] == mark:
                return store.model[1]
        scorer = credit.champion_in(uow)
        if scorer is not None:
            with store.lock:
                store.model = (mark, scorer)
        return scorer

    def view(self, uow: UnitOfWork, as_of: dt.date) -> PlatformView:
        """``fraud.load_view`` as of ``as_of``, kept while the ``view`` mark stays. The rows
        it reads do not depend on the date (without a ledger, ``load_view`` reads every trade,
        organisation, loose document, resubmission and mandate whatever the date): the view
        of another date under the same mark is the kept one re-dated, not read again."""
        mark, store = self._mark("view"), self._store
        if store is None or mark is None:
            return fraud.load_view(uow, as_of=as_of)
        with store.lock:
            if store.views_mark != mark:
                store.views_mark, store.views = mark, {}
            found = store.views.get(as_of)
            read = next(iter(store.views.values()), None)
        if found is None and read is not None:
            found = replace(read, as_of=as_of)
            with store.lock:
                if store.views_mark == mark:
                    store.views[as_of] = found
                    while len(store.views) > 4:
                        store.views.pop(next(iter(store.views)))
        if found is None:
            found = fraud.load_view(uow, as_of=as_of)
            with store.lock:
                if store.views_mark == mark:
                    store.views[as_of] = found
                    while len(store.views) > 4:
                        store.views.pop(next(iter(store.views)))
        return found

    def policies(self, uow: UnitOfWork) -> object:
        """``uow.policies`` with ``latest`` kept while the ``policy`` mark stays."""
        mark, store = self._mark("policy"), self._store
        if store is None or mark is None:
            return uow.policies
        with store.lock:
            if store.policies_mark != mark:
                store.policies_mark, store.policies = mark, {}
            kept = store.policies
        return _KeptPolicies(uow.policies, kept)

    def trades(self, uow: UnitOfWork) -> object:
        """``uow.trades`` with its reads by id and by party kept while the ``view`` mark
        stays (``_KeptTrades``)."""
        mark, store = self._mark("view"), self._store
        if store is None or mark is None:
            return uow.trades
        with store.lock:
            if store.trades_mark != mark:
                store.trades_mark, store.trades = mark, {}
            kept = store.trades
        return _KeptTrades(uow.trades, kept)

    def settings(self, uow: UnitOfWork) -> object:
        """``uow.settings`` with the platform's constants kept (``_KeptSettings``)."""
        store = self._store
        if store is None:
            return uow.settings
        with store.lock:
            kept = dict(store.settings)
        return _KeptSettings(uow.settings, kept, self._staged_settings)

    def exposures(
        self, uow: UnitOfWork, marks: Mapping[str, tuple[int, int]] | None = None
    ) -> dict[str, Exposure]:
        """The banks' exposures kept under the ``exposure`` mark as read now (the caller holds
        the banks' limits locks; ``marks``: the marks as it read them under those locks, else
        read here); none if it moved. Sets ``policy_moved``: whether the ``policy`` mark moved
        since the batch started (a bank's policy committed between the batch's reads and its
        locks; True when the store cannot tell)."""
        store = self._store
        if store is None:
            return {}
        if marks is None:
            marks = getattr(uow, "decision_marks")()  # noqa: B009
        if marks is None or "exposure" not in marks:
            self._store = None
            return {}
        start, now = self._marks.get("policy"), marks.get("policy")
        self.policy_moved = start is None or now is None or start[0] != now[0]
        self._marks["exposure"] = marks["exposure"]
        mark = marks["exposure"][0]
        with store.lock:
            return {b: e for b, (m, e) in store.exposures.items() if m == mark}

    def decided(self, uow: UnitOfWork, exposures: Mapping[str, Exposure]) -> None:
        """After the batch's writes: its banks' exposures staged under the ``exposure`` mark
        now, if only the batch's own writes moved it since ``exposures`` read it."""
        before = self._marks.get("exposure")
        if self._store is None or before is None or not exposures:
            return
        marks = getattr(uow, "decision_marks")()  # noqa: B009
        after = marks.get("exposure") if marks else None
        if after is None or after[0] - after[1] != before[0] - before[1]:
            return  # another transaction's change committed meanwhile: kept by none
        self._staged = {b: (after[0], e) for b, e in exposures.items()}

    def committed(self) -> None:
        """The batch is committed: what it staged is kept."""
        if self._store is None or not (self._staged or self._staged_settings):
            return
        with self._store.lock:
            self._store.exposures.update(self._staged)
            self._store.settings.update(self._staged_settings)
        self._staged, self._staged_settings = {}, {}


class _RunningStore:
    """One store's running state (``_Running``)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.model: tuple[int, Scorer] | None = None
        self.views_mark: int | None = None
        self.views: dict[dt.date, PlatformView] = {}
        self.policies_mark: int | None = None
        self.policies: dict[str, Any] = {}
        self.trades_mark: int | None = None
        self.trades: dict[tuple[str, Any], Any] = {}  # ``_KeptTrades``
        self.exposures: dict[str, tuple[int, Exposure]] = {}
        self.settings: dict[str, str] = {}  # the platform's constants (``_KeptSettings``)


def forget_running_state() -> None:
    """Forget every store's running state (tests compare a cold batch with a kept one)."""
    with _Running._LOCK:
        _Running._STATES.clear()


def warm_up(*, uow_factory: UnitOfWorkFactory, as_of: dt.date | None = None) -> None:
    """Load the champion model, and the libraries it scores with, in this process now (an API
    process as it starts), not in the batch of its first decision (a third of a second); with
    ``as_of`` (today), the process's running state too (``_Running``): the champion and the
    fraud scan's platform view kept under the store's change marks, the view scanned once
    (``fraud.scan_once``), so that the first batch reads and scans neither (10-20 ms of CPU
    in the first batch of each process, docs/benchmarks.md), for any date while nothing
    the view reads changes."""
    with uow_factory() as uow:
        if as_of is None:
            credit.champion_in(uow)
            return
        running = _Running.of(uow)
        running.champion(uow)
        fraud.scan_once(running.view(uow, as_of))


class DecisionBatcher:
    """Group commit of financing decisions in one process (the API's ``POST /financings``).

    A request arriving while no batch runs is decided at once (a batch of one); requests
    arriving while a batch runs wait, and the next batch takes all of them (at most
    ``max_batch``), decided by ``finance_many`` in one transaction: each answered exactly
    its own result. Nothing waits for a timer: a lone request costs nothing more, and under
    load the batches grow with the requests in flight. Several processes stay safe as
    ``finance`` is: the banks' limits locks and the holdings' row locks are taken in one
    order, and a batch that fails as a whole is decided request by request.

    ``in_flight``: how many batches of ``finance_async`` run at once (``AsyncGroupCommit``);
    1 for a store whose transactions do not isolate each other (the tests' fakes keep the
    last commit).
    """

    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        cold_start: HistorySource,
        ledger: Ledger | None = None,
        clock: Clock | None = None,
        max_batch: int = 64,
        in_flight: int = 2,
    ) -> None:
        if max_batch < 1:
            raise DomainValueError(f"a batch holds at least one request, not {max_batch}")
        self._uow_factory = uow_factory
        self._cold_start = cold_start
        self._ledger = ledger
        self._clock = clock
        self._group: GroupCommit[FinanceRequest, FinancingRow] = GroupCommit(
            self._decide_all, max_batch
        )
        self._async: AsyncGroupCommit[FinanceRequest, FinancingRow] = AsyncGroupCommit(
            self._decide_all, max_batch, in_flight=in_flight
        )

    @property
    def max_batch(self) -> int:
        """The most requests one batch takes."""
        return self._group.max_batch or 0

    @property
    def batches(self) -> int:
        """Batches decided so far (for the bench and tests)."""
        return self._group.batches + self._async.batches

    @property
    def largest(self) -> int:
        """The most requests one batch held."""
        return max(self._group.largest, self._async.largest)

    def finance(self, asked: FinanceRequest) -> FinancingRow:
        """Decide ``asked`` in the next batch; its row, or its refusal raised."""
        return self._group.submit(asked)

    async def finance_async(self, asked: FinanceRequest) -> FinancingRow:
        """``finance`` for a caller on the event loop (an API request): it waits on the loop,
        and threads of the loop's executor decide the batches, two at most at once: requests
        arriving while a batch runs are decided in the next one at once, not when it ends (a
        burst's first request, decided alone as it came first, held the others of its
        process for its whole run: 26-240 ms, docs/benchmarks.md); the reads and scoring of
        the second overlap the first's, and their locked sections take turns on the banks'
        limits locks. Callers of ``finance`` (threads) are batched apart, and a batch of each
        may run at the same time: all of them as two processes' do (the limits and row locks
        keep them apart)."""
        return await self._async.submit(asked)

    def _decide_all(self, batch: list[FinanceRequest]) -> list[Answer]:
        return finance_many(
            uow_factory=self._uow_factory, requests=batch, cold_start=self._cold_start,
            ledger=self._ledger, clock=self._clock,
        )  # fmt: skip


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
        # names and items read once, not per financing (hundreds of them)
        names = {o.id: o.name for o in uow.organisations.list()}
        ids = [f.item_id for f in wanted if isinstance(f, Financing)]
        items = {i.id: i for i in uow.items.get_many(ids)}
        rows = [_row(uow, f, names, items) for f in wanted]
    return sorted(rows, key=lambda r: r.financing.start_date)


def _row(
    uow: UnitOfWork,
    fin: Financing | GoodsFinancing,
    names: Mapping[str, str] | None = None,
    items: Mapping[str, DebtItem] | None = None,
) -> FinancingRow:
    """The financing with its currency and the names of its parties (``names`` and ``items``:
    read already; what they lack is read)."""

    def name(org_id: str) -> str:
        return names[org_id] if names and org_id in names else get_org(uow, org_id).name

    if isinstance(fin, GoodsFinancing):
        receipt = uow.receipts.get(fin.receipt_id)
        other = name(receipt.warehouse_id) if receipt is not None else ""
        currency = fin.currency
    else:
        item = items[fin.item_id] if items and fin.item_id in items else get_item(uow, fin.item_id)
        other, currency = name(item.debtor_id), item.currency
    return FinancingRow(fin, currency, name(fin.borrower_id), name(fin.bank_id), other)


def get_financing(*, uow_factory: UnitOfWorkFactory, financing_id: str) -> FinancingRow:
    """One financing request, receivable or goods, with its currency and names (NotFoundError
    naming it if unknown).

    Its chain work is read first: on PostgreSQL (read committed) each statement sees the
    store as committed when it starts, and the relay commits an operation's outcome and the
    financing's new status together, so a financing read after chain work that shows
    ``applied`` shows the status that came with it (read the other way round, a commit
    between the two reads gave ``applied`` beside the ``approved`` of before: seen once in
    tests/api/test_two_processes.py under a loaded full run). The other way, a status just
    changed beside chain work still ``pending``, only shows it a moment early."""
    with uow_factory() as uow:
        chain = chain_work(uow, financing_id)
        fin: Financing | GoodsFinancing | None = uow.financings.get(financing_id)
        if fin is None:
            fin = uow.goods_financings.get(financing_id)
        if fin is None:
            raise NotFoundError(f"financing request {financing_id} does not exist")
        return replace(_row(uow, fin), chain=chain)


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
