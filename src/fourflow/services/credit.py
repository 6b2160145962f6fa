"""The credit review robot and its learning loop (docs/risk.md).

* ``review_request`` scores a financing request with the champion model on point-in-time
  features, applies the bank's product policy and limits, and returns the decision; the
  financing service stores it and queues its input hash for the chain.
* ``decide_referral`` records a person's decision on a referred request, with the reason.
* ``train`` learns from the outcomes known so far, registers the new versions and promotes a
  challenger only when it beats the champion; ``monitor`` measures drift and realised
  performance and raises alerts; ``value_item`` values a receivable today.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from fourflow.domain.debt import DebtItem, Holding, ItemStatus, PledgeState, day_number
from fourflow.domain.documents import DocumentKind
from fourflow.domain.errors import ConflictError, DomainValueError, NotFoundError
from fourflow.domain.facts import GoodsPrice, PolicyVersion
from fourflow.domain.financing import Decision, Financing, FinancingStatus, Outcome, Reason
from fourflow.domain.findings import Severity
from fourflow.domain.parties import Organisation, Role
from fourflow.domain.trades import Trade
from fourflow.risk.bootstrap import HistorySource
from fourflow.risk.features import (
    AssetTerms,
    History,
    InvoiceFacts,
    TrainingRow,
    features,
    invoice_facts,
    logistics_share,
    training_rows,
)
from fourflow.risk.review import (
    Exposure,
    ProductPolicy,
    Request,
    Scorer,
    limit_reasons,
    review,
)
from fourflow.risk.valuation import (
    AssetClass,
    GoodsValuation,
    Valuation,
    value_goods,
    value_receivable,
)
from fourflow.services import commands as cmd
from fourflow.services.common import (
    canonical_json,
    chain_address,
    get_holding,
    get_item,
    get_org,
    new_id,
    refuse_if_disputed,
)
from fourflow.services.onboarding import OPERATOR_ORG_KEY
from fourflow.services.ports import (
    ChainOp,
    Ledger,
    ModelRecord,
    RiskAlert,
    TradeRecord,
    UnitOfWork,
    UnitOfWorkFactory,
)
from fourflow.services.verification import load_trades
from fourflow.verification.rules import TradeContext, verify_trade

if TYPE_CHECKING:  # the ML stack (pandas, scikit-learn, LightGBM) loads on first use
    from fourflow.risk import learning

#: Lock held while a bank's limits are checked and a decision on them stored.
LIMITS_LOCK = "risk.limits:"
#: Lock held while the cold-start model is registered (once per platform).
BOOTSTRAP_LOCK = "risk.bootstrap"
#: The cold-start history: a clean simulated platform (docs/risk.md, "Cold start").
BOOTSTRAP_SEED = 20_261_129
BOOTSTRAP_TRADES = 2_000
#: PDs kept with a model as its reference population for PSI.
REFERENCE_SIZE = 2_000
# A bank's exposure: financings approved, lent, or lent and defaulted (not yet recovered).
ACTIVE = (FinancingStatus.APPROVED, FinancingStatus.ACTIVE, FinancingStatus.DEFAULTED)


# --------------------------------------------------------------------------- policies


def policy_in_force(uow: UnitOfWork, bank_id: str) -> tuple[ProductPolicy, int | None]:
    """The bank's product policy and its stored version (the default product, version
    ``None``, until the bank sets its own)."""
    stored = uow.policies.latest(bank_id)
    if stored is None:
        return ProductPolicy(bank_id=bank_id), None
    return ProductPolicy.from_json(stored.policy), stored.version


def get_policy(uow: UnitOfWork, bank_id: str) -> ProductPolicy:
    """The bank's product policy (the default product until the bank sets its own)."""
    return policy_in_force(uow, bank_id)[0]


def set_policy(*, uow_factory: UnitOfWorkFactory, policy: ProductPolicy) -> ProductPolicy:
    """Store a bank's product policy as a new version; the earlier versions are kept, and each
    decision names the version it used (``Decision.policy_revision``)."""
    return set_policy_version(uow_factory=uow_factory, policy=policy)[0]


def set_policy_version(
    *, uow_factory: UnitOfWorkFactory, policy: ProductPolicy
) -> tuple[ProductPolicy, int]:
    """Store a bank's product policy as its next version; the policy and its version number."""
    with uow_factory() as uow:
        bank = get_org(uow, policy.bank_id)
        if not bank.has_role(Role.BANK):
            raise DomainValueError(f"{bank.name} is not a bank")
        uow.settings.lock(LIMITS_LOCK + bank.id)  # versions are numbered one writer at a time
        latest = uow.policies.latest(bank.id)
        version = 1 if latest is None else latest.version + 1
        uow.policies.add(PolicyVersion(bank.id, version, policy.as_json()))
        uow.commit()
    return policy, version


# --------------------------------------------------------------------------- history


def _parties(uow: UnitOfWork) -> dict[str, Organisation]:
    return {k: o for o in uow.organisations.list() for k in o.known_as()}


def platform_history(uow: UnitOfWork) -> tuple[History, list[Trade]]:
    """Every trade, and its invoices with their payments and credit notes, indexed."""
    trades = load_trades(uow, uow.trades.list())
    disputes = uow.disputes.raised_days()
    return History.of(f for t in trades for f in invoice_facts(t, disputes)), trades


def scores_at_issue(
    trades: Sequence[Trade], parties: Mapping[str, Organisation]
) -> dict[str, tuple[float, int]]:
    """Each trade's verification (score, warnings and errors) on its first invoice's date.

    The rules see only the documents dated on or before that day, so a training row never
    learns from a verification that used its own later payments.
    """
    out: dict[str, tuple[float, int]] = {}
    for trade in trades:
        invoices = [d.issue_date for d in trade.of_kind(DocumentKind.INVOICE)]
        if not invoices:
            continue
        day = min(invoices)
        docs = tuple(d for d in trade.documents if d.issue_date <= day)
        report = verify_trade(TradeContext(replace(trade, documents=docs), parties, as_of=day))
        weighing = sum(1 for f in report.findings if f.severity is not Severity.INFO)
        out[trade.id] = (float(report.score), weighing)
    return out


class _FactsCache:
    """Invoice facts per trade, keyed by the trade's document ids (documents never change).

    A decision reads the debtor's and the creditor's trades; decoding their documents again
    for every decision would dominate its latency. A trade whose documents change (a payment
    linked to it) gets a new key, so a stale entry is never served. Disputes are not
    documents: they are read afresh on every call and added to the cached facts.
    """

    def __init__(self, size: int = 50_000) -> None:
        self._size = size
        self._facts: OrderedDict[tuple[str, tuple[str, ...]], list[InvoiceFacts]] = OrderedDict()
        self._lock = threading.Lock()

    def history(self, uow: UnitOfWork, records: Sequence[TradeRecord]) -> History:
        """The invoice history of ``records``, decoding only trades not seen before."""
        keys = [(r.id, r.document_ids) for r in records]
        with self._lock:
            found = {k: self._facts[k] for k in keys if k in self._facts}
            for k in found:
                self._facts.move_to_end(k)
        missing = [r for r, k in zip(records, keys, strict=True) if k not in found]
        for record, trade in zip(missing, load_trades(uow, missing), strict=True):
            found[(record.id, record.document_ids)] = invoice_facts(trade)
        with self._lock:
            for k in keys:
                self._facts[k] = found[k]
            while len(self._facts) > self._size:
                self._facts.popitem(last=False)
        disputes = uow.disputes.raised_days([r.id for r in records])
        return History.of(
            replace(f, disputes=tuple(sorted(disputes[f.trade_id])))
            if f.trade_id in disputes
            else f
            for k in keys
            for f in found[k]
        )


FACTS = _FactsCache()


# --------------------------------------------------------------------------- registry


def _next_id(uow: UnitOfWork, kind: str) -> str:
    return f"{kind}-{sum(1 for m in uow.risk_models.list() if m.kind == kind) + 1}"


def _record(
    uow: UnitOfWork,
    trained: learning.Trained,
    *,
    role: str,
    as_of: dt.date,
    rows: Sequence[TrainingRow],
    note: str,
    source: str,
    verdict: Mapping[str, float] | None = None,
) -> ModelRecord:
    from fourflow.risk import learning  # noqa: PLC0415 (heavy: loaded on first use)

    reference = trained.reference_pd[:REFERENCE_SIZE]
    record = ModelRecord(
        id=_next_id(uow, trained.kind),
        kind=trained.kind,
        role=role,
        as_of=as_of,
        training_rows=len(rows),
        data_hash=learning.data_hash(rows),
        metrics={
            **trained.validation.as_json(),
            "reference_pd": [round(p, 6) for p in reference],
            "dropped": list(trained.dropped),
            "source": source,
            # the promotion's or refusal's figures against the champion (learning.compare)
            **({"verdict": dict(verdict)} if verdict is not None else {}),
        },
        artifact=json.dumps(trained.model.to_json(), separators=(",", ":")),
        note=note,
    )
    uow.risk_models.add(record)
    return record


@functools.cache
def _bootstrap_model(
    cold_start: HistorySource,
) -> tuple[learning.Trained, tuple[TrainingRow, ...]]:
    """The cold-start scorecard and its rows (deterministic: fitted once per process)."""
    from fourflow.risk import learning  # noqa: PLC0415 (heavy: loaded on first use)

    facts = cold_start(seed=BOOTSTRAP_SEED, trades=BOOTSTRAP_TRADES)
    rows = training_rows(History.of(facts), max(f.issue_date for f in facts))
    (trained,) = learning.train(rows, kinds=["scorecard"], seed=0)
    return trained, tuple(rows)


def bootstrap_champion(
    *, uow_factory: UnitOfWorkFactory, as_of: dt.date, cold_start: HistorySource
) -> ModelRecord:
    """Register a cold-start scorecard learnt from ``cold_start``'s simulated history (if no
    champion is registered)."""
    with uow_factory() as uow:
        existing = uow.risk_models.champion()
        if existing is not None:
            return existing
    trained, rows = _bootstrap_model(cold_start)
    with uow_factory() as uow:
        # One registration however many processes ask at once: the lock, then a re-read.
        uow.settings.lock(BOOTSTRAP_LOCK)
        existing = uow.risk_models.champion()
        if existing is not None:  # another process got there first
            return existing
        record = _record(
            uow, trained, role="champion", as_of=as_of, rows=rows,
            note=f"bootstrap: cold-start scorecard on a simulated history (seed "
                 f"{BOOTSTRAP_SEED}, {BOOTSTRAP_TRADES} trades); retrain on the platform's "
                 "own outcomes with `fourflow risk train`",
            source="simulated",
        )  # fmt: skip
        uow.commit()
    return record


def champion_scorer(
    *, uow_factory: UnitOfWorkFactory, as_of: dt.date, cold_start: HistorySource
) -> learning.ModelScorer:
    """The champion model, ready to score (bootstrapped from ``cold_start`` on first use)."""
    from fourflow.risk import learning  # noqa: PLC0415 (heavy: loaded on first use)

    with uow_factory() as uow:
        record = uow.risk_models.champion()
    if record is None:
        record = bootstrap_champion(uow_factory=uow_factory, as_of=as_of, cold_start=cold_start)
    return learning.ModelScorer.from_artifact(record.id, record.artifact)


@dataclass(frozen=True, slots=True)
class TrainingReport:
    """What a retraining cycle did."""

    as_of: dt.date
    rows: int
    bad: int
    registered: tuple[ModelRecord, ...]
    champion: str
    promoted: bool
    reason: str


def train(
    *,
    uow_factory: UnitOfWorkFactory,
    as_of: dt.date,
    seed: int = 0,
    kinds: Sequence[str] = ("scorecard", "lightgbm"),
    cold_start: HistorySource | None = None,
) -> TrainingReport:
    """Learn from every outcome known on ``as_of``; promote the best new model if it wins.

    New versions are validated out of time; the best of them (by AUC on the newest window)
    challenges the champion on that same window and replaces it only when it beats it by
    ``learning.MIN_AUC_GAIN`` without a worse Brier score (``learning.compare``).
    """
    from fourflow.risk import learning  # noqa: PLC0415 (heavy: loaded on first use)

    if cold_start is not None:  # the cold-start champion first: a new model must beat it
        bootstrap_champion(uow_factory=uow_factory, as_of=as_of, cold_start=cold_start)
    with uow_factory() as uow:
        history, trades = platform_history(uow)
        parties = _parties(uow)
        champion = uow.risk_models.champion()
    scores = scores_at_issue(trades, parties)
    rows = training_rows(history, as_of, scores=scores)
    learning.check_enough(rows)
    trained = learning.train(rows, kinds=kinds, seed=seed)
    # Each model's reference population for drift: its scores of the last POPULATION_DAYS of
    # invoices as of training (what monitoring will score later, like with like).
    population = recent_population(history, scores, as_of)
    if len(population) >= 30:
        trained = [
            replace(t, reference_pd=tuple(
                float(p) for p in t.model.predict_pd(learning.model_frame(t.model, population))
            ))
            for t in trained
        ]  # fmt: skip
    best = max(trained, key=lambda t: t.validation.auc)
    _, window = learning.split_out_of_time(rows)
    current = (
        None
        if champion is None
        else learning.ModelScorer.from_artifact(champion.id, champion.artifact).model
    )
    verdict = learning.compare(current, best.model, window, seed=seed)
    registered = []
    with uow_factory() as uow:
        for t in trained:
            winner = t is best and verdict.promote
            note = verdict.reason if t is best else f"challenger (best new model: {best.kind})"
            registered.append(
                _record(uow, t, role="champion" if winner else "challenger", as_of=as_of,
                        rows=rows, note=note, source="platform",
                        verdict=verdict.figures if t is best else None)
            )  # fmt: skip
        if verdict.promote and champion is not None:
            uow.risk_models.set_role(champion.id, "retired", verdict.reason)
        uow.commit()
    new_champion = next((r.id for r in registered if r.role == "champion"), None)
    return TrainingReport(
        as_of=as_of,
        rows=len(rows),
        bad=sum(r.bad for r in rows),
        registered=tuple(registered),
        champion=new_champion or (champion.id if champion else ""),
        promoted=verdict.promote,
        reason=verdict.reason,
    )


# --------------------------------------------------------------------------- the review


def _depth(uow: UnitOfWork, holding: Holding) -> int:
    depth, current = 0, holding
    while current.parent_id is not None and depth < 64:
        parent = uow.items.get_holding(current.parent_id)
        if parent is None:
            break
        depth += int(parent.holder_id != current.holder_id)
        current = parent
    return depth


def exposure(uow: UnitOfWork, bank_id: str) -> Exposure:
    """The bank's outstanding principal by borrower, debtor, scenario and industry."""
    total = 0
    by: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    industries: dict[str, str] = {}
    for row in uow.financings.outstanding(bank_id, [s.value for s in ACTIVE]):
        if row.debtor_id not in industries:
            industries[row.debtor_id] = get_org(uow, row.debtor_id).fact("industry") or "unknown"
        total += row.principal
        by["borrower"][row.borrower_id] += row.principal
        by["debtor"][row.debtor_id] += row.principal
        by["scenario"][row.scenario] += row.principal
        by["industry"][industries[row.debtor_id]] += row.principal
    return Exposure(
        total=total,
        by_borrower=dict(by["borrower"]),
        by_debtor=dict(by["debtor"]),
        by_scenario=dict(by["scenario"]),
        by_industry=dict(by["industry"]),
    )


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
    )
    return terms, request


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
) -> Decision:
    """The robot's decision on one request, inside the caller's unit of work
    (``fraud_signals``: (code, message) of the trade's open fraud signals)."""
    item = get_item(uow, holding.item_id)
    # The features read the debtor's invoices and the creditor's sales, nothing else.
    history = FACTS.history(uow, uow.trades.involving([item.debtor_id, item.creditor_id]))
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
    )
    policy, version = policy_in_force(uow, bank_id)
    decision = review(
        request=request,
        features=vector,
        scored=scorer.score(vector),
        policy=policy,
        exposure=exposure(uow, bank_id),
    )
    return replace(decision, policy_revision=version)


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
            subject_id=f"decision:{financing_id}",
        )
    )
    return op_id


def pledge(uow: UnitOfWork, financing: Financing, holding: Holding, bank: Organisation) -> None:
    """Pledge the whole holding to the bank and queue the pledge on the chain."""
    state = PledgeState(
        bank=bank.id,
        principal=financing.principal,
        interest=0,
        rate_bps=financing.rate_bps,
        accrued_to=day_number(financing.start_date),
    )
    uow.items.update_holding(replace(holding, pledge_bank_id=bank.id, pledge=state))
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
        queue_decision_anchor(uow, fin.id, decision)
        uow.commit()
    return updated


def _person_hash(robot: Decision, outcome: Outcome, person: str, reason: str, day: dt.date) -> str:
    payload = {"review": robot.input_hash, "outcome": outcome.value, "person": person,
               "reason": reason.strip(), "day": day.isoformat()}  # fmt: skip
    return hashlib.sha256(canonical_json(payload)).hexdigest()


# --------------------------------------------------------------------------- valuation


def value_item(
    *,
    uow_factory: UnitOfWorkFactory,
    item_id: str,
    as_of: dt.date,
    cold_start: HistorySource,
    bank_id: str | None = None,
) -> tuple[Valuation, Mapping[str, float | str]]:
    """A receivable's value on ``as_of`` (outstanding face less expected dilution and loss,
    discounted at the bank's rate), from the champion's PD on that day's features."""
    scorer = champion_scorer(uow_factory=uow_factory, as_of=as_of, cold_start=cold_start)
    with uow_factory() as uow:
        item = get_item(uow, item_id)
        holdings = uow.items.holdings(item.id)
        history = FACTS.history(uow, uow.trades.involving([item.debtor_id, item.creditor_id]))
        own = [f for f in history.all() if f.trade_id == item.trade_id]
        root = holdings[0] if holdings else None
        if root is None:
            raise NotFoundError(f"item {item_id} has no holdings")
        whole = replace(root, outstanding=item.outstanding)
        terms, _ = asset_terms(uow, item, whole, own, as_of)
        vector = features(history, terms, as_of)
        policy = get_policy(uow, bank_id) if bank_id else ProductPolicy(bank_id="")
    scored = scorer.score(vector)
    asset = (
        AssetClass.CONFIRMED_RECEIVABLE
        if terms.basis == "confirmed"
        else AssetClass.VERIFIED_RECEIVABLE
    )
    lgd = policy.loss_given_bad(asset)
    valuation = value_receivable(
        face=item.outstanding / 100,
        pd=scored.pd,
        lgd=lgd,
        dilution_rate=float(vector["rel_dilution_rate"]),
        rate_bps=policy.base_rate_bps + policy.min_spread_bps,
        as_of=as_of,
        maturity=item.maturity_date,
    )
    return valuation, vector


#: The latest price of a goods code (per unit, major units) and its previous one.
Price = GoodsPrice


def set_price(
    *, uow_factory: UnitOfWorkFactory, goods_code: str, price: float, currency: str,
    as_of: dt.date,
) -> Price:  # fmt: skip
    """Record a price from the feed; pledged goods are revalued at it from now on."""
    if not price > 0:
        raise DomainValueError(f"price of {goods_code} must be positive")
    with uow_factory() as uow:
        old = get_price(uow, goods_code)
        new = Price(goods_code, float(price), currency, as_of, old.price if old else None)
        uow.prices.add(new)
        uow.commit()
    return new


def get_price(uow: UnitOfWork, goods_code: str) -> Price | None:
    """The latest price of ``goods_code``, if the feed gave one."""
    return uow.prices.latest(goods_code)


def _goods_code(uow: UnitOfWork, receipt_id: str) -> str:
    """The goods code of a receipt: from its issue, or from the receipt it was sold out of."""
    receipt = uow.receipts.get(receipt_id)
    if receipt is not None:
        return receipt.goods_code
    sale = uow.receipts.sale_into(receipt_id)
    if sale is not None:
        return _goods_code(uow, sale.receipt_id)
    raise NotFoundError(f"warehouse receipt {receipt_id} is not known on this platform")


def value_receipt(
    *, uow_factory: UnitOfWorkFactory, ledger: Ledger, receipt_id: str,
    bank_id: str | None = None,
) -> tuple[GoodsValuation, Price]:  # fmt: skip
    """Pledged goods' value now: the quantity still in the warehouse (on the chain) × the
    latest price × (1 − the bank's haircut)."""
    with uow_factory() as uow:
        code = _goods_code(uow, receipt_id)
        price = get_price(uow, code)
        policy = get_policy(uow, bank_id) if bank_id else ProductPolicy(bank_id="")
    if price is None:
        raise NotFoundError(
            f"no price for goods {code}; record one with `fourflow risk price {code} PRICE`"
        )
    state = ledger.read("receipt", receipt_id)
    if state is None:
        raise NotFoundError(f"warehouse receipt {receipt_id} is not on the chain (yet)")
    quantity = int(state["quantity"]) - int(state["released"])
    valuation = value_goods(
        quantity=float(quantity), price=price.price, haircut=policy.goods_haircut_bps / 10_000
    )
    return valuation, price


# --------------------------------------------------------------------------- monitoring

#: Realised loss above this multiple of the expected loss raises an alert ...
REALISED_LOSS_RATIO = 2.0
#: ... once a bank has this many approved financings by the model.
MIN_FINANCINGS = 20


def _bank_figures(
    approved: Sequence[Financing],
    decided: Sequence[Financing],
    items_by_id: Mapping[str, DebtItem],
    as_of: dt.date,
) -> dict[str, tuple[dict[str, Any], list[learning.Finding]]]:
    """Per bank: approval rate, expected and realised loss (principal of financings whose
    item defaulted or is overdue on ``as_of``), and an alert when realised runs past
    ``REALISED_LOSS_RATIO`` × expected."""
    from fourflow.risk import learning  # noqa: PLC0415 (heavy: loaded on first use)

    out: dict[str, tuple[dict[str, Any], list[learning.Finding]]] = {}
    for bank in sorted({f.bank_id for f in decided}):
        mine = [f for f in decided if f.bank_id == bank]
        ok = [f for f in approved if f.bank_id == bank]
        expected = sum((f.decision.expected_loss or 0) for f in ok if f.decision)
        realised = 0
        for f in ok:
            item = items_by_id.get(f.item_id)
            if item is not None and item.status_on(as_of, 0) in (
                ItemStatus.OVERDUE,
                ItemStatus.DEFAULTED,
            ):
                realised += min(f.principal, item.outstanding)
        figures = {"decisions": len(mine), "approved": len(ok),
                   "approval_rate": round(len(ok) / len(mine), 4),
                   "expected_loss": expected, "realised_loss": realised}  # fmt: skip
        found = []
        if len(ok) >= MIN_FINANCINGS and realised > REALISED_LOSS_RATIO * max(expected, 1):
            ratio = round(realised / max(expected, 1), 2)
            found.append(learning.Finding(
                "realised_loss", "alert", "realised_to_expected_loss", ratio,
                REALISED_LOSS_RATIO,
                f"realised loss {realised / 100:,.2f} is {ratio}× the expected "
                f"{expected / 100:,.2f} over {len(ok)} financings",
            ))  # fmt: skip
        out[bank] = (figures, found)
    return out


@dataclass(frozen=True, slots=True)
class MonitorReport:
    """What monitoring measured on a day, and the alerts it raised."""

    as_of: dt.date
    model_id: str
    figures: dict[str, Any] = field(default_factory=dict)
    alerts: tuple[RiskAlert, ...] = ()


#: Days of invoices that make a scoring population (the reference at training, and now).
POPULATION_DAYS = 90


def recent_population(
    history: History,
    scores: Mapping[str, tuple[float, int]],
    as_of: dt.date,
    window_days: int = POPULATION_DAYS,
) -> list[dict[str, float | str]]:
    """Feature vectors of the invoices issued in the ``window_days`` before ``as_of``, each on
    its issue date: the population a model scores (for PSI, like with like)."""
    start = as_of - dt.timedelta(days=window_days)
    return [
        features(
            history,
            AssetTerms(f.creditor, f.debtor, f.scenario, f.amount, f.due_date, f.issue_date,
                       verification_score=scores.get(f.trade_id, (100.0, 0))[0],
                       findings=scores.get(f.trade_id, (100.0, 0))[1],
                       logistics=logistics_share(f, f.issue_date)),
            f.issue_date,
        )
        for f in history.all()
        if start <= f.issue_date < as_of
    ]  # fmt: skip


def monitor(
    *,
    uow_factory: UnitOfWorkFactory,
    as_of: dt.date,
    cold_start: HistorySource,
    window_days: int = POPULATION_DAYS,
) -> MonitorReport:
    """Measure the champion on the platform now and store alerts: PSI of its scores of the
    invoices of the last ``window_days`` against the same window's scores when it was trained;
    realised AUC/KS on the outcomes known since; approval rate and realised loss per bank."""
    from fourflow.risk import learning  # noqa: PLC0415 (heavy: loaded on first use)

    scorer = champion_scorer(uow_factory=uow_factory, as_of=as_of, cold_start=cold_start)
    with uow_factory() as uow:
        record = uow.risk_models.get(scorer.version)
        assert record is not None
        history, trades = platform_history(uow)
        parties = _parties(uow)
        financings = uow.financings.list()
        items_by_id = {i.id: i for i in uow.items.list()}
    scores = scores_at_issue(trades, parties)
    vectors = recent_population(history, scores, as_of, window_days)
    current = [float(p) for p in scorer.pds(vectors)] if vectors else []
    known = training_rows(history, as_of, scores=scores, since=record.as_of)
    outcomes: list[tuple[float, int]] = []
    if known:
        pds = scorer.pds([r.features for r in known])
        outcomes = [(float(p), r.bad) for p, r in zip(pds, known, strict=True)]
    reference = [float(p) for p in record.metrics.get("reference_pd", [])]
    measured = learning.monitor(
        reference_pd=reference,
        current_pd=current,
        validated_auc=record.metrics.get("auc"),
        outcomes=outcomes,
    )
    decided = [f for f in financings if f.decision and f.decision.model_version == record.id]
    approved = [f for f in decided if f.status in (*ACTIVE, FinancingStatus.REPAID)]
    figures: dict[str, Any] = {
        "population": len(current),
        "reference": len(reference),
        "outcomes": len(outcomes),
        "decisions": len(decided),
        "approval_rate": round(len(approved) / len(decided), 4) if decided else None,
        "mean_pd_now": round(float(np.mean(current)), 4) if current else None,
        "mean_pd_reference": round(float(np.mean(reference)), 4) if reference else None,
        **measured.figures,
    }
    found = measured.findings
    banks = _bank_figures(approved, decided, items_by_id, as_of)
    figures["banks"] = {b: v for b, (v, _) in banks.items()}
    alerts = tuple(
        RiskAlert(
            id=new_id("alert"), kind=f.kind, severity=f.severity, metric=f.metric,
            value=f.value, threshold=f.threshold, model_id=record.id, bank_id=bank,
            as_of=as_of, message=f.message,
        )
        for bank, f in [(None, f) for f in found]
        + [(b, f) for b, (_, fs) in banks.items() for f in fs]
    )  # fmt: skip
    if alerts:
        with uow_factory() as uow:
            for alert in alerts:
                uow.risk_alerts.add(alert)
            uow.commit()
    return MonitorReport(as_of=as_of, model_id=record.id, figures=figures, alerts=alerts)
