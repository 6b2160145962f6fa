"""Point-in-time credit features from FourFlow's own trade history (docs/risk.md).

Every feature of a decision on day ``D`` is computed from what the platform knew on ``D``:
invoices issued before ``D``, payments and credit notes dated on or before ``D``, and, for
an invoice still open on ``D``, only how overdue it is *so far* (a censored observation, never
its later outcome). A payment its bank reported rejected or cancelled (ISO 20022 pacs.002
``RJCT``/``CANC``) did not happen: it counts for nothing paid from the day the report is dated
(before that day the platform could not know, so it counted then). Other statuses (pending
``PDNG``, partially accepted ``PART``, accepted, settled) change nothing: a status that is not a
rejection is no reason to doubt the payment (docs/risk.md, docs/formats/iso20022.md).

The same code computes the features of a live financing request and of every training row
(each past invoice on its own issue date), so what a model learns from is exactly what it will
be shown.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from fourflow.domain.documents import Document, DocumentKind
from fourflow.domain.trades import Trade
from fourflow.verification.payments import payment_outcomes

#: Days past due from which an invoice counts as bad (the training label; docs/risk.md).
BAD_DAYS_PAST_DUE = 30
_NEVER = 9_999  # "no late payment ever" for recency features
_LOGISTICS = (
    DocumentKind.DESPATCH_ADVICE,
    DocumentKind.RECEIPT_ADVICE,
    DocumentKind.TRANSPORT_EVENT,
    DocumentKind.BILL_OF_LADING,
    DocumentKind.WAREHOUSE_RECEIPT,
)


@dataclass(frozen=True, slots=True)
class InvoiceFacts:
    """One invoice's life as the platform saw it (amounts in major units, floats).

    Attributes:
        key: a stable id (``number@trade_id``; sorts by number where dates tie).
        trade_id: the trade it belongs to.
        creditor: the seller organisation's id.
        debtor: the buyer organisation's id.
        scenario: the trade's scenario value.
        issue_date: the invoice date.
        due_date: the payment due date (issue date + 30 days when the invoice states none).
        amount: payable total.
        payments: (value date, amount) paid towards it, in date order.
        rejected: (value date, amount, day reported) of payments towards it that its bank
            reported rejected or cancelled (pacs.002): paid only as seen before that day.
        credits: (date, amount) of credit notes against it, in date order.
        disputes: dates on which the debtor disputed it (debt-item disputes).
        logistics: (date, kind) of the trade's logistics documents.
        ordered_on: the trade's order date, if there is an order.
    """

    key: str
    trade_id: str
    creditor: str
    debtor: str
    scenario: str
    issue_date: dt.date
    due_date: dt.date
    amount: float
    payments: tuple[tuple[dt.date, float], ...] = ()
    credits: tuple[tuple[dt.date, float], ...] = ()
    disputes: tuple[dt.date, ...] = ()
    logistics: tuple[tuple[dt.date, str], ...] = ()
    ordered_on: dt.date | None = None
    rejected: tuple[tuple[dt.date, float, dt.date], ...] = ()

    def paid(self, day: dt.date) -> list[tuple[dt.date, float]]:
        """The payments towards it as known on ``day``, in date order: a rejected payment only
        while its rejection was not yet reported (``day`` before the report's date)."""
        if not self.rejected:
            return list(self.payments)
        return sorted([*self.payments, *((d, a) for d, a, seen in self.rejected if seen > day)])

    def credited(self, day: dt.date) -> float:
        """Credit notes against it dated on or before ``day``."""
        return sum(a for d, a in self.credits if d <= day)

    def settled_on(self, day: dt.date) -> dt.date | None:
        """The day it was paid in full (net of credit notes), if that was on or before ``day``."""
        owed = self.amount - self.credited(day)
        if owed <= 0.005:
            return self.issue_date
        paid = 0.0
        for d, a in self.paid(day):
            if d > day:
                break
            paid += a
            if paid >= owed - 0.005:
                return d
        return None

    def days_late(self, day: dt.date) -> int | None:
        """Days past due known on ``day``: final if settled, so far if open and due, else None."""
        settled = self.settled_on(day)
        if settled is not None:
            return max(0, (settled - self.due_date).days)
        if self.due_date < day:
            return (day - self.due_date).days
        return None

    def outcome(self, day: dt.date, bad_days: int = BAD_DAYS_PAST_DUE) -> int | None:
        """1 (bad: paid ``bad_days`` or more past due, or never), 0 (good), None (not yet known)."""
        settled = self.settled_on(day)
        if settled is not None:
            return int((settled - self.due_date).days >= bad_days)
        if (day - self.due_date).days >= bad_days:
            return 1
        return None


def _money(doc: Document) -> float:
    return float(doc.total.amount) if doc.total is not None else 0.0


def _refers_to(doc: Document, number: str) -> bool:
    return any(
        r.number == number and r.kind in (DocumentKind.INVOICE, DocumentKind.CREDIT_NOTE)
        for r in doc.references
    )


def rejections(trade: Trade) -> dict[str, dt.date]:
    """The trade's payments its bank reported rejected or cancelled (pacs.002 ``RJCT``,
    ``CANC``; also when another report calls it settled: docs/verification.md), each with the
    day the first such report is dated (from then on the platform knew)."""
    if not trade.of_kind(DocumentKind.PAYMENT_STATUS):
        return {}
    dated = {d.id: d.issue_date for d in trade.documents}
    return {
        payment: min(dated[s] for s in outcome.rejected)
        for payment, outcome in payment_outcomes(trade.documents).items()
        if outcome.rejected
    }


def invoice_facts(
    trade: Trade, disputes: Mapping[str, Sequence[dt.date]] | None = None
) -> list[InvoiceFacts]:
    """The invoices of a trade with their payments and credit notes.

    Payments and credit notes are matched to the invoice they reference; those that reference
    none are applied to the trade's invoices oldest first (what a cash-allocation clerk does).
    A payment its bank reported rejected or cancelled (pacs.002) is allocated after the others
    the same way and kept apart (``InvoiceFacts.rejected``, with the report's date).
    ``disputes`` maps a trade id to the dates its debt item was disputed.
    """
    invoices = sorted(trade.of_kind(DocumentKind.INVOICE), key=lambda d: (d.issue_date, d.number))
    if not invoices:
        return []
    owed = {inv.number: _money(inv) for inv in invoices}
    reported = rejections(trade)
    payments = sorted(trade.of_kind(DocumentKind.PAYMENT), key=lambda d: d.issue_date)
    credits: dict[str, list[tuple[Document, float]]] = {n: [] for n in owed}
    pays: dict[str, list[tuple[Document, float]]] = {n: [] for n in owed}
    voided: dict[str, list[tuple[Document, float]]] = {n: [] for n in owed}
    for docs, target in (
        (sorted(trade.of_kind(DocumentKind.CREDIT_NOTE), key=lambda d: d.issue_date), credits),
        ([d for d in payments if d.id not in reported], pays),
        ([d for d in payments if d.id in reported], voided),
    ):
        for doc in docs:
            amount = _money(doc)
            number = next((n for n in owed if _refers_to(doc, n)), None)
            if number is not None:
                target[number].append((doc, amount))
                continue
            for n, total in owed.items():  # unreferenced: oldest open invoice first
                if amount <= 0:
                    break
                taken = [*pays[n], *credits[n], *(voided[n] if target is voided else ())]
                room = total - sum(a for _, a in taken)
                if room > 0.005:
                    part = min(room, amount)
                    target[n].append((doc, part))
                    amount -= part
            if amount > 0.005:
                target[invoices[-1].number].append((doc, amount))
    logistics = tuple(
        sorted(
            (d.delivery_date or d.issue_date, d.kind.value)
            for d in trade.documents
            if d.kind in _LOGISTICS
        )
    )
    orders = trade.of_kind(DocumentKind.ORDER)
    ordered_on = min((o.issue_date for o in orders), default=None)
    disputed = tuple(sorted((disputes or {}).get(trade.id, ())))
    return [
        InvoiceFacts(
            key=f"{inv.number}@{trade.id}",  # number first: a stable order across platforms
            trade_id=trade.id,
            creditor=trade.seller_id,
            debtor=trade.buyer_id,
            scenario=trade.scenario.value,
            issue_date=inv.issue_date,
            due_date=inv.due_date or inv.issue_date + dt.timedelta(days=30),
            amount=owed[inv.number],
            payments=tuple(sorted((d.issue_date, a) for d, a in pays[inv.number])),
            credits=tuple(sorted((d.issue_date, a) for d, a in credits[inv.number])),
            rejected=tuple(
                sorted((d.issue_date, a, reported[d.id]) for d, a in voided[inv.number])
            ),
            disputes=disputed,
            logistics=logistics,
            ordered_on=ordered_on,
        )
        for inv in invoices
    ]


@dataclass(frozen=True, slots=True)
class AssetTerms:
    """The asset a decision is about, as of the decision day.

    Attributes:
        creditor: who is owed (the seller on the invoice).
        debtor: who owes.
        scenario: the trade's scenario value.
        amount: the amount at risk (outstanding face value), major units.
        maturity: the maturity date.
        issued: the asset's issue date.
        basis: ``verified`` (on the evidence) or ``confirmed`` (by the debtor).
        tier_depth: hops from the original creditor to the holder (0 = the original creditor).
        verification_score: the trade's verification score as of the decision day (0-100).
        findings: warnings and errors in that verification.
        logistics: share of the expected logistics evidence present on the day (0-1).
        industry: the creditor's industry (profile fact), ``unknown`` if none.
    """

    creditor: str
    debtor: str
    scenario: str
    amount: float
    maturity: dt.date
    issued: dt.date
    basis: str = "verified"
    tier_depth: int = 0
    verification_score: float = 100.0
    findings: int = 0
    logistics: float = 1.0
    industry: str = "unknown"


@dataclass(frozen=True, slots=True)
class FeatureDef:
    """A feature's name, type, expected direction of risk, and meaning for a credit officer."""

    name: str
    kind: str  # "numeric" | "categorical"
    monotonic: str  # "ascending" (more = riskier), "descending", "auto", "none"
    description: str


FEATURES: tuple[FeatureDef, ...] = (
    FeatureDef("rel_age_days", "numeric", "descending", "age of the creditor–debtor relationship"),
    FeatureDef("rel_invoices", "numeric", "descending", "invoices between creditor and debtor"),
    FeatureDef("rel_volume_365", "numeric", "auto", "relationship volume, last 365 days (log)"),
    FeatureDef("rel_volume_trend", "numeric", "auto", "volume last 90 days vs the 90 before"),
    FeatureDef("rel_volatility", "numeric", "auto", "monthly volume volatility (CV)"),
    FeatureDef("debtor_invoices_due", "numeric", "descending", "debtor's invoices already due"),
    FeatureDef("debtor_late_share", "numeric", "ascending", "share the debtor paid late"),
    FeatureDef("debtor_mean_days_late", "numeric", "ascending", "debtor's mean days past due"),
    FeatureDef("debtor_p90_days_late", "numeric", "ascending", "debtor's 90th pct days past due"),
    FeatureDef("debtor_late30_share", "numeric", "ascending", "share paid 30+ days late"),
    FeatureDef("debtor_days_since_late", "numeric", "descending", "days since last late payment"),
    FeatureDef("debtor_late_trend", "numeric", "ascending", "late share, last 90 days minus all"),
    FeatureDef("debtor_open_overdue", "numeric", "ascending", "debtor's invoices overdue today"),
    FeatureDef("debtor_dilution_rate", "numeric", "ascending", "credit notes / invoiced, debtor"),
    FeatureDef("rel_dilution_rate", "numeric", "ascending", "credit notes / invoiced, relation"),
    FeatureDef("debtor_dispute_rate", "numeric", "ascending", "share of debtor's items disputed"),
    FeatureDef("concentration", "numeric", "auto", "debtor's share of the creditor's sales"),
    FeatureDef("verification_score", "numeric", "descending", "four-flow verification score"),
    FeatureDef("findings", "numeric", "ascending", "verification warnings and errors"),
    FeatureDef("logistics", "numeric", "descending", "logistics evidence present (0-1)"),
    FeatureDef("tier_depth", "numeric", "auto", "hops from the original creditor to the holder"),
    FeatureDef("tenor_days", "numeric", "auto", "days from the decision to maturity"),
    FeatureDef("log_amount", "numeric", "auto", "amount at risk (log)"),
    FeatureDef("scenario", "categorical", "none", "business scenario"),
    FeatureDef("basis", "categorical", "none", "verified on evidence or confirmed by debtor"),
)
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)
DESCRIPTIONS: dict[str, str] = {f.name: f.description for f in FEATURES}


@dataclass(slots=True)
class History:
    """The platform's invoice history, indexed for point-in-time look-ups."""

    by_debtor: dict[str, list[InvoiceFacts]] = field(default_factory=lambda: defaultdict(list))
    by_creditor: dict[str, list[InvoiceFacts]] = field(default_factory=lambda: defaultdict(list))
    _debtor_dates: dict[str, list[dt.date]] = field(default_factory=dict)
    _creditor_dates: dict[str, list[dt.date]] = field(default_factory=dict)

    @classmethod
    def of(cls, facts: Iterable[InvoiceFacts]) -> History:
        """Index invoices by debtor and by creditor, each in issue-date order."""
        history = cls()
        for f in facts:
            history.by_debtor[f.debtor].append(f)
            history.by_creditor[f.creditor].append(f)
        for index, dates in (
            (history.by_debtor, history._debtor_dates),
            (history.by_creditor, history._creditor_dates),
        ):
            for k, rows in index.items():
                rows.sort(key=lambda f: (f.issue_date, f.key))
                dates[k] = [f.issue_date for f in rows]
        return history

    def debtor_before(self, debtor: str, day: dt.date) -> list[InvoiceFacts]:
        """The debtor's invoices issued before ``day``."""
        rows = self.by_debtor.get(debtor, [])
        return rows[: bisect.bisect_left(self._debtor_dates.get(debtor, []), day)]

    def creditor_before(self, creditor: str, day: dt.date) -> list[InvoiceFacts]:
        """The creditor's invoices issued before ``day``."""
        rows = self.by_creditor.get(creditor, [])
        return rows[: bisect.bisect_left(self._creditor_dates.get(creditor, []), day)]

    def all(self) -> Iterable[InvoiceFacts]:
        """Every invoice once."""
        for rows in self.by_debtor.values():
            yield from rows


def _p90(values: list[int]) -> float:
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, math.ceil(0.9 * len(ordered)) - 1)])


def _volumes(rows: Sequence[InvoiceFacts], day: dt.date) -> tuple[float, float, float, float]:
    """Relationship volume in the last 365 days, trend, monthly CV, and all-time invoiced."""
    last90 = prior90 = year = total = 0.0
    months = [0.0] * 12
    for f in rows:
        age = (day - f.issue_date).days
        total += f.amount
        if age < 365:
            year += f.amount
            months[min(11, age // 30)] += f.amount
        if age < 90:
            last90 += f.amount
        elif age < 180:
            prior90 += f.amount
    trend = (last90 + 1.0) / (prior90 + 1.0)
    mean = sum(months) / 12
    volatility = statistics.pstdev(months) / mean if mean > 0 else 0.0
    return year, trend, volatility, total


def features(history: History, asset: AssetTerms, day: dt.date) -> dict[str, float | str]:
    """The feature vector of ``asset`` as known on ``day`` (see ``FEATURES``)."""
    debtor_rows = history.debtor_before(asset.debtor, day)
    rel = [f for f in debtor_rows if f.creditor == asset.creditor]
    year, trend, volatility, rel_total = _volumes(rel, day)
    lateness: list[int] = []
    recent: list[int] = []
    open_overdue = 0
    last_late: dt.date | None = None
    disputed = 0
    invoiced = credited = rel_credited = 0.0
    for f in debtor_rows:
        invoiced += f.amount
        c = f.credited(day)
        credited += c
        if f.creditor == asset.creditor:
            rel_credited += c
        if f.disputes and f.disputes[0] <= day:
            disputed += 1
        if f.due_date >= day:
            continue
        late = f.days_late(day)
        if late is None:
            continue
        lateness.append(late)
        if (day - f.due_date).days <= 90:
            recent.append(late)
        settled = f.settled_on(day)
        if settled is None:
            open_overdue += 1
            last_late = day
        elif late > 0 and (last_late is None or settled > last_late):
            last_late = settled
    n = len(lateness)
    late_share = sum(1 for x in lateness if x > 0) / n if n else 0.0
    recent_share = sum(1 for x in recent if x > 0) / len(recent) if recent else late_share
    creditor_year = sum(
        f.amount
        for f in history.creditor_before(asset.creditor, day)
        if (day - f.issue_date).days < 365
    )
    first = rel[0].issue_date if rel else day
    return {
        "rel_age_days": float((day - first).days),
        "rel_invoices": float(len(rel)),
        "rel_volume_365": math.log1p(year),
        "rel_volume_trend": trend,
        "rel_volatility": volatility,
        "debtor_invoices_due": float(n),
        "debtor_late_share": late_share,
        "debtor_mean_days_late": sum(lateness) / n if n else 0.0,
        "debtor_p90_days_late": _p90(lateness) if n else 0.0,
        "debtor_late30_share": sum(1 for x in lateness if x >= 30) / n if n else 0.0,
        "debtor_days_since_late": float((day - last_late).days if last_late else _NEVER),
        "debtor_late_trend": recent_share - late_share,
        "debtor_open_overdue": float(open_overdue),
        "debtor_dilution_rate": credited / invoiced if invoiced > 0 else 0.0,
        "rel_dilution_rate": rel_credited / rel_total if rel_total > 0 else 0.0,
        "debtor_dispute_rate": disputed / len(debtor_rows) if debtor_rows else 0.0,
        "concentration": year / creditor_year if creditor_year > 0 else 0.0,
        "verification_score": float(asset.verification_score),
        "findings": float(asset.findings),
        "logistics": float(asset.logistics),
        "tier_depth": float(asset.tier_depth),
        "tenor_days": float((asset.maturity - day).days),
        "log_amount": math.log1p(max(0.0, asset.amount)),
        "scenario": asset.scenario,
        "basis": asset.basis,
    }


def logistics_share(facts: InvoiceFacts, day: dt.date) -> float:
    """Share of the logistics evidence (despatch, receipt, transport) present on ``day``."""
    kinds = {k for d, k in facts.logistics if d <= day}
    wanted = (
        DocumentKind.DESPATCH_ADVICE.value,
        DocumentKind.RECEIPT_ADVICE.value,
        DocumentKind.TRANSPORT_EVENT.value,
    )
    return sum(1 for k in wanted if k in kinds) / len(wanted)


@dataclass(frozen=True, slots=True)
class TrainingRow:
    """One past invoice as a training example: its features on its issue date, its outcome."""

    key: str
    issue_date: dt.date
    features: dict[str, float | str]
    bad: int


def training_rows(
    history: History,
    as_of: dt.date,
    *,
    scores: Mapping[str, tuple[float, int]] | None = None,
    bad_days: int = BAD_DAYS_PAST_DUE,
    since: dt.date | None = None,
) -> list[TrainingRow]:
    """Every invoice whose outcome is known on ``as_of``, with its features on its issue date.

    ``scores`` maps a trade id to its point-in-time verification (score, findings) on the
    invoice date (the service computes it over the documents dated up to then); without it
    the score is unknown and taken as 100 with no findings.
    """
    rows: list[TrainingRow] = []
    for f in history.all():
        if since is not None and f.issue_date < since:
            continue
        bad = f.outcome(as_of, bad_days)
        if bad is None:
            continue
        score, found = (scores or {}).get(f.trade_id, (100.0, 0))
        asset = AssetTerms(
            creditor=f.creditor,
            debtor=f.debtor,
            scenario=f.scenario,
            amount=f.amount,
            maturity=f.due_date,
            issued=f.issue_date,
            verification_score=score,
            findings=found,
            logistics=logistics_share(f, f.issue_date),
        )
        rows.append(TrainingRow(f.key, f.issue_date, features(history, asset, f.issue_date), bad))
    rows.sort(key=lambda r: (r.issue_date, r.key))
    return rows
