"""The credit review: a request scored on point-in-time features, the bank's policy and
limits applied, the decision anchored; an approval pledges the holding; a person decides a
referral."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from fourflow.domain.consents import Consent, DataKind
from fourflow.domain.debt import DebtItem, Holding, PledgeState, day_number
from fourflow.domain.errors import ConflictError, DomainValueError, NotFoundError
from fourflow.domain.financing import Decision, Financing, FinancingStatus, Outcome, Reason
from fourflow.domain.findings import Severity
from fourflow.domain.parties import Organisation, Role
from fourflow.risk.features import AssetTerms, InvoiceFacts, features, logistics_share
from fourflow.risk.review import (
    Exposure,
    ProductPolicy,
    Request,
    Scored,
    Scorer,
    input_hash,
    limit_reasons,
    review,
)
from fourflow.risk.rules_in_force import sme_late_payments
from fourflow.services import commands as cmd
from fourflow.services import consents, webhooks
from fourflow.services.common import (
    canonical_json,
    chain_address,
    get_holding,
    get_item,
    get_org,
    new_id,
    refuse_if_disputed,
)
from fourflow.services.credit.history import FACTS
from fourflow.services.credit.policies import LIMITS_LOCK, exposure, policy_in_force
from fourflow.services.onboarding import OPERATOR_ORG_KEY
from fourflow.services.ports import ChainOp, Clock, UnitOfWork, UnitOfWorkFactory


def _depth(uow: UnitOfWork, holding: Holding) -> int:
    depth, current = 0, holding
    while current.parent_id is not None and depth < 64:
        parent = uow.items.get_holding(current.parent_id)
        if parent is None:
            break
        depth += int(parent.holder_id != current.holder_id)
        current = parent
    return depth


def asset_terms(
    uow: UnitOfWork,
    item: DebtItem,
    holding: Holding,
    facts: Sequence[InvoiceFacts],
    as_of: dt.date,
) -> tuple[AssetTerms, Request]:
    """The asset's terms and the request skeleton (amount filled in by the caller)."""
    record = uow.trades.get(item.trade_id)
    if record is None:
        raise NotFoundError(f"trade {item.trade_id} does not exist")
    report = record.report
    industry = get_org(uow, item.debtor_id).fact("industry") or "unknown"
    basis = item.basis.name.lower()
    score = report.score if report else 0
    # Warnings and errors weigh on a decision; informational findings do not.
    findings = (
        tuple((f.code, f.message) for f in report.findings if f.severity is not Severity.INFO)
        if report
        else ()
    )
    logistics = max((logistics_share(f, as_of) for f in facts), default=0.0)
    terms = AssetTerms(
        creditor=item.creditor_id,
        debtor=item.debtor_id,
        scenario=record.scenario.value,
        amount=holding.outstanding / 100,
        maturity=item.maturity_date,
        issued=item.issue_date,
        basis=basis,
        tier_depth=_depth(uow, holding),
        verification_score=float(score),
        findings=len(findings),
        logistics=logistics,
        industry=industry,
    )
    request = Request(
        id="",
        borrower=holding.holder_id,
        debtor=item.debtor_id,
        scenario=record.scenario.value,
        industry=industry,
        basis=basis,
        outstanding=holding.outstanding,
        requested=0,
        currency=item.currency,
        as_of=as_of,
        maturity=item.maturity_date,
        verification_status=report.status.value if report else "unverified",
        verification_score=score,
        findings=findings,
        term_days=(item.maturity_date - item.issue_date).days,
    )
    return terms, request


class _ScoreMemo:
    """The last scorer's answers by feature vector, in this process: a model's score (PD,
    explanation, points) is a pure function of the vector, so a vector scored before by the
    same scorer object (the champion, kept per version by ``registry.champion_scorer``) is
    answered again without running the model; another scorer starts afresh."""

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._owner: Scorer | None = None
        self._kept: OrderedDict[tuple[tuple[str, float | str], ...], Scored] = OrderedDict()
        self._lock = threading.Lock()

    def score(self, scorer: Scorer, vector: Mapping[str, float | str]) -> Scored:
        return self.score_many(scorer, [vector])[0]

    def score_many(
        self, scorer: Scorer, vectors: Sequence[Mapping[str, float | str]]
    ) -> list[Scored]:
        """The scores of ``vectors``, in their order: those kept answered again, the others
        (each distinct vector once) scored in ONE call of the model when the scorer scores
        many at once (it has ``score_many(vectors) -> list[Scored]``, as
        ``risk.learning.ModelScorer``), one by one otherwise."""
        keys = [tuple(v.items()) for v in vectors]
        found: dict[tuple[tuple[str, float | str], ...], Scored] = {}
        with self._lock:
            if self._owner is not scorer:
                self._owner, self._kept = scorer, OrderedDict()
            for key in keys:
                kept = self._kept.get(key)
                if kept is not None:
                    self._kept.move_to_end(key)
                    found[key] = kept
        wanted = {k: v for k, v in zip(keys, vectors, strict=True) if k not in found}
        if wanted:
            many = getattr(scorer, "score_many", None)
            fresh: list[Scored] = (
                list(many(list(wanted.values())))
                if many is not None
                else [scorer.score(v) for v in wanted.values()]
            )
            found.update(zip(wanted, fresh, strict=True))
            with self._lock:
                if self._owner is scorer:
                    for key in wanted:
                        self._kept[key] = found[key]
                    while len(self._kept) > self._size:
                        self._kept.popitem(last=False)
        return [found[key] for key in keys]


_SCORES = _ScoreMemo()


@dataclass(frozen=True, slots=True)
class ReviewRead:
    """A request read and put to the bank's policy, not yet scored (``read_review``; scored
    by ``score_reviews``): ``PreparedReview``'s attributes but the score and what follows
    from it."""

    request: Request
    features: Mapping[str, float | str]
    policy: ProductPolicy
    version: int | None
    lacking: str | None
    unmetered: MeteredRead | None = None


@dataclass(frozen=True, slots=True)
class PreparedReview:
    """A request read, scored and put to the bank's policy, before the bank's limits.

    Attributes:
        request: the request as the policy sees it.
        features: its point-in-time feature vector.
        scored: the champion model's score of it.
        policy: the bank's product policy in force, and ``version`` its stored version.
        lacking: why the robot read none of the debtor's own data (no consent), or None.
        unmetered: the read of the debtor's data under its consent still to be metered
            (``meter_read``), when ``prepare_review`` was asked not to meter it.
        input_hash: the decision's input hash (``risk.review.input_hash``), worked out here,
            before the bank's limits lock.
        unlimited: the robot's decision as it stands if the request breaks none of the bank's
            limits (``risk.review.review`` reads the exposure only for ``limit_reasons``),
            worked out here, before the lock; None when it breaks one even with nothing
            outstanding. ``decide_review`` takes it when no limit is broken as the exposure is
            now, and reviews the request again otherwise.
    """

    request: Request
    features: Mapping[str, float | str]
    scored: Scored
    policy: ProductPolicy
    version: int | None
    lacking: str | None
    unmetered: MeteredRead | None = None
    input_hash: str | None = None
    unlimited: Decision | None = None


@dataclass(frozen=True, slots=True)
class MeteredRead:
    """A read of a core enterprise's data under its consent, to be metered (``meter_read``)."""

    consent: Consent
    object_id: str
    records: int
    at: dt.datetime


def meter_read(uow: UnitOfWork, prepared: PreparedReview) -> None:
    """Meter the read ``prepare_review(meter=False)`` left unmetered, if any."""
    read = prepared.unmetered
    if read is not None:
        consents.meter(
            uow, consent=read.consent, reader=consents.ROBOT, kind=DataKind.PAYMENT_HISTORY,
            object_id=read.object_id, records=read.records, at=read.at,
        )  # fmt: skip


def prepare_review(
    *,
    uow: UnitOfWork,
    scorer: Scorer,
    request_id: str,
    holding: Holding,
    bank_id: str,
    amount: int,
    as_of: dt.date,
    duplicates: int = 0,
    fraud_signals: tuple[tuple[str, str], ...] = (),
    clock: Clock | None = None,
    item: DebtItem | None = None,
    meter: bool = True,
) -> PreparedReview:
    """Everything of the robot's review but the bank's limits, inside the caller's unit of work
    (``fraud_signals``: (code, message) of the trade's open fraud signals): the reads and the
    scoring, done before the bank's limits are locked (``decide_review``): ``read_review``
    then ``score_reviews`` (a batch reads each request, then scores them all at once)."""
    read = read_review(
        uow=uow, request_id=request_id, holding=holding, bank_id=bank_id, amount=amount,
        as_of=as_of, duplicates=duplicates, fraud_signals=fraud_signals, clock=clock,
        item=item, meter=meter,
    )  # fmt: skip
    return score_reviews(scorer, [read])[0]


def score_reviews(scorer: Scorer, reads: Sequence[ReviewRead]) -> list[PreparedReview]:
    """The requests read (``read_review``) scored, their distinct feature vectors in one call
    of the model (``_ScoreMemo.score_many``: each request's score is the one it gets alone),
    and each put to the bank's policy as far as it goes before the limits (``PreparedReview``),
    in their order."""
    scores = _SCORES.score_many(scorer, [r.features for r in reads])
    return [_prepared(read, scored) for read, scored in zip(reads, scores, strict=True)]


def _prepared(read: ReviewRead, scored: Scored) -> PreparedReview:
    hashed = input_hash(read.request, read.features, read.policy, scored.model_version)
    prepared = PreparedReview(
        read.request, read.features, scored, read.policy, read.version, read.lacking,
        read.unmetered, hashed,
    )  # fmt: skip
    if limit_reasons(read.request, read.policy, _NOTHING_OUT):
        return prepared
    return replace(prepared, unlimited=_decided(prepared, _NOTHING_OUT))


def read_review(
    *,
    uow: UnitOfWork,
    request_id: str,
    holding: Holding,
    bank_id: str,
    amount: int,
    as_of: dt.date,
    duplicates: int = 0,
    fraud_signals: tuple[tuple[str, str], ...] = (),
    clock: Clock | None = None,
    item: DebtItem | None = None,
    meter: bool = True,
) -> ReviewRead:
    """The reads of the robot's review (``prepare_review``'s, the scoring left to
    ``score_reviews``): the request, its feature vector and the bank's policy in force.

    A core enterprise's trades with others than the creditor are read only under its consent
    (``consents.debtor_records``), and that read is metered in this unit of work; without a
    consent the robot reads none of them and refers the request (``NO_CONSENT``) instead of
    approving it. ``clock`` dates the read (the consent must be in force today); without
    one, ``as_of``. ``item``: the holding's item, if the caller has read it. ``meter``
    False: the read is not metered here but kept in ``unmetered`` (nothing is written), for
    the caller to meter with the decision (``meter_read``)."""
    item = (
        item if item is not None and item.id == holding.item_id else get_item(uow, holding.item_id)
    )
    # The features read the debtor's invoices and the creditor's sales, nothing else; the
    # debtor's trades with others only under its consent.
    day = clock.today() if clock else as_of
    readable, consent, read, lacking = consents.debtor_records(
        uow, records=uow.trades.involving([item.debtor_id, item.creditor_id]),
        debtor_id=item.debtor_id, presenters={item.creditor_id, holding.holder_id},
        bank_id=bank_id, day=day,
    )  # fmt: skip
    history = FACTS.history(uow, readable)
    unmetered = None
    if consent is not None:
        ids = {r.id for r in read}
        unmetered = MeteredRead(
            consent=consent, object_id=request_id,
            records=sum(1 for f in history.all() if f.trade_id in ids),
            at=clock.now() if clock else dt.datetime.combine(as_of, dt.time(), dt.UTC),
        )  # fmt: skip
        if meter:
            consents.meter(
                uow, consent=consent, reader=consents.ROBOT, kind=DataKind.PAYMENT_HISTORY,
                object_id=request_id, records=unmetered.records, at=unmetered.at,
            )  # fmt: skip
            unmetered = None
    own = [f for f in history.all() if f.trade_id == item.trade_id]
    terms, skeleton = asset_terms(uow, item, holding, own, as_of)
    vector = features(history, terms, as_of)
    request = replace(
        skeleton,
        id=request_id,
        requested=amount,
        duplicates=duplicates,
        dilution_rate=float(vector["rel_dilution_rate"]),
        fraud_signals=fraud_signals,
        paid_by_transfer=sum(p.amount for p in uow.transfer_payments.for_trades([item.trade_id])),
    )
    policy, version = policy_in_force(uow, bank_id)
    if policy.sme_payment_days is not None:  # the 2025 SME payment rule (rules_in_force)
        creditors = {f.creditor for f in history.debtor_before(item.debtor_id, as_of)}
        smes = {c for c in creditors if not get_org(uow, c).has_role(Role.CORE_ENTERPRISE)}
        late = sme_late_payments(history, item.debtor_id, as_of, smes, policy.sme_payment_days)
        request = replace(request, sme_late=late.count, sme_late_amount=round(late.amount * 100))
    return ReviewRead(request, vector, policy, version, lacking, unmetered)


#: A bank's exposure with nothing outstanding (``PreparedReview.unlimited``).
_NOTHING_OUT = Exposure()


def decide_review(
    uow: UnitOfWork, prepared: PreparedReview, bank_id: str, now: Exposure | None = None
) -> Decision:
    """The robot's decision on a prepared request against the bank's exposure as it is now
    (the caller holds the bank's limits lock, ``LIMITS_LOCK``, until it stores the decision);
    ``now``: that exposure, if the caller keeps it (read under the lock, plus the approvals
    stored since in this transaction, ``policies.with_financing``). The review worked out
    before the lock (``PreparedReview.unlimited``) when the request breaks none of the limits
    as they are now: ``risk.review.review`` reads the exposure for nothing else."""
    now = exposure(uow, bank_id) if now is None else now
    if prepared.unlimited is not None and not limit_reasons(prepared.request, prepared.policy, now):
        return prepared.unlimited
    return _decided(prepared, now)


def _decided(prepared: PreparedReview, now: Exposure) -> Decision:
    """The robot's decision on a prepared request against the exposure ``now``."""
    decision = review(
        request=prepared.request,
        features=prepared.features,
        scored=prepared.scored,
        policy=prepared.policy,
        exposure=now,
        hashed=prepared.input_hash,
    )
    decision = replace(decision, policy_revision=prepared.version)
    lacking = prepared.lacking
    return decision if lacking is None else _without_consent(decision, lacking)


def review_request(
    *,
    uow: UnitOfWork,
    scorer: Scorer,
    request_id: str,
    holding: Holding,
    bank_id: str,
    amount: int,
    as_of: dt.date,
    duplicates: int = 0,
    fraud_signals: tuple[tuple[str, str], ...] = (),
    clock: Clock | None = None,
) -> Decision:
    """The robot's decision on one request, inside the caller's unit of work: ``prepare_review``
    then ``decide_review``."""
    prepared = prepare_review(
        uow=uow, scorer=scorer, request_id=request_id, holding=holding, bank_id=bank_id,
        amount=amount, as_of=as_of, duplicates=duplicates, fraud_signals=fraud_signals,
        clock=clock,
    )  # fmt: skip
    return decide_review(uow, prepared, bank_id)


def _without_consent(decision: Decision, lacking: str) -> Decision:
    """The robot did not read the debtor's own data: it approves nothing on less than the
    bank would see with consent, it refers (a decline stays a decline)."""
    reason = Reason(
        "NO_CONSENT",
        f"{lacking}; the robot did not read the debtor's data and refers the request",
    )
    if decision.outcome is Outcome.DECLINE:
        return replace(decision, reasons=(*decision.reasons, reason))
    kept = tuple(r for r in decision.reasons if r.code != "APPROVED")
    return replace(decision, outcome=Outcome.REFER, principal=0, reasons=(reason, *kept))


#: The subject of a decision's anchor op (its input hash registered on the chain).
DECISION_SUBJECT = "decision:"


def queue_decision_anchor(uow: UnitOfWork, financing_id: str, decision: Decision) -> str | None:
    """Queue the registration of the decision's input hash on the chain; the op id."""
    operator = uow.settings.get(OPERATOR_ORG_KEY)
    if operator is None or decision.input_hash is None:
        return None
    op_id = new_id("op")
    uow.outbox.add(
        ChainOp(
            op_id=op_id,
            command=cmd.RegisterFingerprints((f"sha256:{decision.input_hash}",)),
            sender_org_id=operator,
            subject_id=DECISION_SUBJECT + financing_id,
        )
    )
    return op_id


def pledge(uow: UnitOfWork, financing: Financing, holding: Holding, bank: Organisation) -> None:
    """Pledge the whole holding (as read under its row lock, ``lock_holding``) to the bank
    and queue the pledge on the chain: the holder's offer, then the bank's acceptance."""
    state = PledgeState(
        bank=bank.id,
        principal=financing.principal,
        interest=0,
        rate_bps=financing.rate_bps,
        accrued_to=day_number(financing.start_date),
    )
    # ``holding`` was read under its row lock (the caller's): the store's state, journalled
    uow.items.update_holding(replace(holding, pledge_bank_id=bank.id, pledge=state), before=holding)
    uow.outbox.add(
        ChainOp(
            new_id("op"),
            cmd.Pledge(
                holding_id=holding.id,
                bank_address=chain_address(bank),
                principal=financing.principal,
                rate_bps=financing.rate_bps,
                start_day=day_number(financing.start_date),
            ),
            financing.borrower_id,
            subject_id=financing.id,
        )
    )
    # The pledge is the holder's offer; the bank's own transaction accepts it at its terms
    # (the platform signs for the bank only as the bank, after the bank's robot approved).
    uow.outbox.add(
        ChainOp(
            new_id("op"),
            cmd.AcceptPledge(
                holding_id=holding.id,
                principal=financing.principal,
                rate_bps=financing.rate_bps,
            ),
            bank.id,
            subject_id=financing.id,
        )
    )


def decide_referral(
    *,
    uow_factory: UnitOfWorkFactory,
    financing_id: str,
    approve: bool,
    reason: str,
    person: str,
    as_of: dt.date,
) -> Financing:
    """A person decides a referred request; the decision keeps the robot's review and reason."""
    if not reason.strip():
        raise DomainValueError("a person's decision needs a reason")
    with uow_factory() as uow:
        fin = uow.financings.get(financing_id)
        if fin is None:
            raise NotFoundError(f"financing request {financing_id} does not exist")
        uow.settings.lock(LIMITS_LOCK + fin.bank_id)
        uow.items.lock_holding(fin.holding_id)  # after the bank's lock, as financing does
        fin = uow.financings.get(financing_id) or fin  # as it is once we hold the locks
        if fin.status is not FinancingStatus.REFERRED or fin.decision is None:
            raise ConflictError(
                f"request {financing_id} is {fin.status.value}; only referred requests "
                "are decided by a person"
            )
        holding = get_holding(uow, fin.holding_id)
        robot = fin.decision
        if approve and holding.locked:
            raise ConflictError(f"holding {holding.id} was pledged meanwhile")
        revision = robot.policy_revision
        if approve:  # the bank's limits still bind a person: check them as they are now
            item = get_item(uow, holding.item_id)
            refuse_if_disputed(uow, item.id)  # disputed meanwhile: it cannot be pledged
            _, skeleton = asset_terms(uow, item, holding, [], as_of)
            ask = replace(skeleton, id=fin.id, requested=fin.requested)
            policy, revision = policy_in_force(uow, fin.bank_id)
            breaches = limit_reasons(ask, policy, exposure(uow, fin.bank_id))
            if breaches:
                raise ConflictError(
                    "approving would break the bank's limits: "
                    + "; ".join(f"{r.code}: {r.message}" for r in breaches)
                )
        outcome = Outcome.APPROVE if approve else Outcome.DECLINE
        decision = replace(
            robot,
            outcome=outcome,
            reasons=(Reason("PERSON_" + outcome.name, reason.strip()), *robot.reasons),
            principal=fin.requested if approve else 0,
            rate_bps=robot.rate_bps if approve else 0,
            decided_by=f"person:{person}",
            note=reason.strip(),
            review=robot,
            input_hash=_person_hash(robot, outcome, person, reason, as_of),
            policy_revision=revision,
        )
        status = FinancingStatus.APPROVED if approve else FinancingStatus.DECLINED
        updated = replace(
            fin,
            status=status,
            decision=decision,
            principal=decision.principal,
            rate_bps=decision.rate_bps,
            start_date=as_of,
        )
        uow.financings.update(updated)
        if approve:
            pledge(uow, updated, holding, get_org(uow, fin.bank_id))
        else:
            webhooks.financing_declined(uow, updated)
        queue_decision_anchor(uow, fin.id, decision)
        uow.commit()
    return updated


def _person_hash(robot: Decision, outcome: Outcome, person: str, reason: str, day: dt.date) -> str:
    payload = {"review": robot.input_hash, "outcome": outcome.value, "person": person,
               "reason": reason.strip(), "day": day.isoformat()}  # fmt: skip
    return hashlib.sha256(canonical_json(payload)).hexdigest()
