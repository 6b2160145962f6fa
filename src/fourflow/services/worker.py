"""The platform's worker (issues 16 and 20): the relay and the scheduled jobs, outside requests.

One pass (``run_pass``):

0. **anchor**: documents stored but not yet in a batch (an ingest that stopped before
   anchoring) are put into one batch whose Merkle root is queued for the chain;
1. **audit head**, once per chain day when the platform keeps an API audit trail: the trail's
   head (last record's number and hash) queued for anchoring on chain
   (``trail_anchor.anchor_head``, op id ``op-audit-head-<day>``: a second pass or worker that
   day queues nothing), applied by this pass's relay;
2. **relay**: apply every queued chain operation (``relay.relay``), whoever queued it (the
   API, the CLI, ingest's batch anchors, the jobs below);
3. **settle-due**, once per chain day: ``settlement.settle_due`` on the chain's today, then a
   relay of what it queued; the day done is recorded in the store (``SETTLED_DAY_KEY``) so that
   several workers, and later passes, run it once a day (the job is idempotent besides: run
   twice on one day it pays once);
4. **margin watch**, once per chain day and only when a goods price feed is configured: the
   feed's prices recorded, every pledged receipt revalued, margin calls given (no buyer is
   named here, so an unmet call stays open for the bank to sell with ``fourflow margin watch
   --buyer``), then a relay;
5. **signers**, every pass when the platform runs on the consortium's development network
   (``follow_signers``, ``consortium.follow_signers``): the Registry follows the signers'
   decided Clique votes, as ``fourflow consortium record`` does, under ``chain_lock``
   (idempotent: a record that agrees sends nothing; an open vote waits for a later pass);
6. **webhooks**, every pass when the platform delivers them: one bounded delivery pass
   (``webhooks.deliver_webhooks``: new events queued for their endpoints, due deliveries
   posted, retried with backoff, dead-lettered); it sends no transaction, so it runs outside
   the chain lock (deliverers may run side by side: delivery is at least once, by event id).
7. **trade facts**, every pass: the invoice facts of the trades verified or given documents
   since the last pass computed and kept (``credit.history.fill_changed``; issue 16: they were
   computed inside the upload request). Nothing is read when the store's change mark has not
   moved; otherwise only the trades stamped since shortly before the last pass and not seen
   with that time already, every trade on a worker's first pass and hourly; at most
   ``history.PASS_BUDGET_S`` of computing a pass. No
   lock: the rows are upserted, so workers (and ``Platform.initialise``) side by side
   compute a trade twice at worst; readers decode a trade not kept yet.

On PostgreSQL (``claims``, ``Platform.relay_claims``) the relay step claims one sender at a
time by row lock with ``SKIP LOCKED`` (``relay.relay_by_sender``): several workers relay
different senders side by side, never one sender at once (its nonces stay in order), and an
op waits for an earlier op of another sender it builds on. On SQLite (no claims) the relay
runs under ``chain_lock`` (``Platform.chain_writer``: a file lock beside the database), as the
API's and the CLI's relays do: one relay at a time. The steps that queue and relay in one go
(anchor, settle-due, margin watch) run under ``chain_lock`` on either store, the lock the API's
processes take around their chain work too. Operations are keyed by their id on the chain
besides, so nothing is applied twice even after a crash.

A step that fails (the node unreachable, a lock held too long) is reported in the pass's
``errors`` and the next step still runs; the next pass tries again. A stop asked during a pass
(SIGTERM) lets the step under way finish and skips the rest (``abandoned``): each step leaves
the store whole, and what a skipped step would have done is done by the next pass.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fourflow.domain.errors import DomainValueError, FourFlowError
from fourflow.services import commands as cmd
from fourflow.services import ingest, margin, relay, settlement, trail_anchor
from fourflow.services.credit import history
from fourflow.services.identity import Identities
from fourflow.services.ports import Clock, Ledger, UnitOfWorkFactory
from fourflow.services.webhooks import DeliveryResult

#: The store setting naming the last chain day settle-due ran for (ISO date).
SETTLED_DAY_KEY = "worker.settle_due.day"
#: The store setting naming the last chain day the margin watch ran for (ISO date).
MARGIN_DAY_KEY = "worker.margin_watch.day"
DEFAULT_INTERVAL_S = 30.0


@dataclass(slots=True)
class PassReport:
    """What one pass did (``as_dict`` for ``fourflow worker --json``)."""

    number: int
    started: dt.datetime
    chain_day: dt.date | None = None
    anchored: dict[str, Any] | None = None
    audit_head: dict[str, Any] | None = None
    relayed: dict[str, Any] = field(
        default_factory=lambda: {"applied": 0, "recovered": 0, "failed": []}
    )
    settle_due: dict[str, Any] | None = None
    margin_watch: dict[str, Any] | None = None
    webhooks: dict[str, Any] | None = None
    signers: dict[str, Any] | None = None
    trade_facts: dict[str, Any] | None = None
    errors: list[str] = field(default_factory=list)
    abandoned: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def add_relay(self, result: relay.RelayResult) -> None:
        """Count a relay's applied, recovered and refused operations into the pass."""
        self.relayed["applied"] += result.applied
        self.relayed["recovered"] += result.recovered
        self.relayed["failed"].extend([op_id, reason] for op_id, reason in result.failed)

    def as_dict(self) -> dict[str, Any]:
        """Plain data."""
        return {
            "pass": self.number,
            "started": self.started.isoformat(),
            "chain_day": self.chain_day.isoformat() if self.chain_day else None,
            "anchored": self.anchored,
            "audit_head": self.audit_head,
            "relayed": self.relayed,
            "settle_due": self.settle_due,
            "margin_watch": self.margin_watch,
            "webhooks": self.webhooks,
            "signers": self.signers,
            "trade_facts": self.trade_facts,
            "errors": self.errors,
            "abandoned": self.abandoned,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True, slots=True)
class WorkerContext:
    """What a pass needs: the store, the chain, the clock, the operator and the lock around
    chain work.

    ``price_feed``: the goods price feed file (``Settings.price_feed``), or None (no margin
    watch); ``deliver_webhooks``: one webhook delivery pass, or None (no webhook step);
    ``claims``: one relay per sender by row lock (PostgreSQL), or None (SQLite: the relay runs
    under ``chain_lock``); ``identities``: the API audit trail's store, or None (no head
    anchoring); ``follow_signers``: the Registry follows the network's decided signer votes
    (``consortium.follow_signers`` bound to the network), or None (no consortium network);
    ``facts``: what this worker's passes filled of the trade facts (kept from pass to pass).
    """

    uow_factory: UnitOfWorkFactory
    ledger: Ledger
    clock: Clock
    operator_id: str
    chain_lock: Callable[[], AbstractContextManager[None]]
    price_feed: Path | None = None
    deliver_webhooks: Callable[[], DeliveryResult] | None = None
    claims: relay.SenderClaims | None = None
    identities: Identities | None = None
    follow_signers: Callable[[], dict[str, Any]] | None = None
    facts: history.FillState = field(default_factory=history.FillState)


def _anchor(ctx: WorkerContext, report: PassReport) -> None:
    with ctx.chain_lock():  # the API anchors under it too: no document in two batches
        batch = ingest.anchor_pending(
            uow_factory=ctx.uow_factory, clock=ctx.clock, operator_id=ctx.operator_id
        )
    if batch is not None:
        report.anchored = {"batch": batch.id, "documents": batch.count}


def _relay(ctx: WorkerContext, report: PassReport) -> None:
    if ctx.claims is not None:  # sender by sender, skipping those another relay holds
        report.add_relay(
            relay.relay(
                uow_factory=ctx.uow_factory, ledger=ctx.ledger, claims=ctx.claims, wait=False
            )
        )
        return
    with ctx.chain_lock():
        report.add_relay(relay.relay(uow_factory=ctx.uow_factory, ledger=ctx.ledger))


def _audit_head(ctx: WorkerContext, report: PassReport, ids: Identities, day: dt.date) -> None:
    op = trail_anchor.anchor_head(
        ids=ids, uow_factory=ctx.uow_factory, operator_id=ctx.operator_id, day=day
    )
    if op is not None and isinstance(op.command, cmd.AnchorBatch):
        report.audit_head = {"day": day.isoformat(), "seq": op.command.count, "op_id": op.op_id}


def _done_for(ctx: WorkerContext, key: str) -> str | None:
    with ctx.uow_factory() as uow:
        return uow.settings.get(key)


def _mark_done(ctx: WorkerContext, key: str, day: dt.date) -> None:
    with ctx.uow_factory() as uow:
        uow.settings.put(key, day.isoformat())
        uow.commit()


def _settle(ctx: WorkerContext, report: PassReport, day: dt.date) -> None:
    with ctx.chain_lock():
        if _done_for(ctx, SETTLED_DAY_KEY) == day.isoformat():  # read again under the lock
            return
        done = settlement.settle_due(
            uow_factory=ctx.uow_factory, ledger=ctx.ledger, operator_id=ctx.operator_id
        )
        report.add_relay(
            relay.relay(uow_factory=ctx.uow_factory, ledger=ctx.ledger, claims=ctx.claims)
        )
        if not any(o.action == "deferred" for o in done.outcomes):
            _mark_done(ctx, SETTLED_DAY_KEY, done.day)  # else again next pass, after the relay
    report.settle_due = done.as_dict()


def _margin(ctx: WorkerContext, report: PassReport, day: dt.date, feed: Path) -> None:
    with ctx.chain_lock():
        if _done_for(ctx, MARGIN_DAY_KEY) == day.isoformat():
            return
        margin.load_price_feed(uow_factory=ctx.uow_factory, path=feed)
        watched = margin.margin_watch(uow_factory=ctx.uow_factory, ledger=ctx.ledger)
        report.add_relay(
            relay.relay(uow_factory=ctx.uow_factory, ledger=ctx.ledger, claims=ctx.claims)
        )
        _mark_done(ctx, MARGIN_DAY_KEY, watched.day)
    report.margin_watch = watched.as_dict()


def _signers(ctx: WorkerContext, report: PassReport, follow: Callable[[], dict[str, Any]]) -> None:
    with ctx.chain_lock():  # the operator sends the records
        report.signers = follow()


def _webhooks(report: PassReport, deliver: Callable[[], DeliveryResult]) -> None:
    report.webhooks = asdict(deliver())


def _trade_facts(ctx: WorkerContext, report: PassReport) -> None:
    report.trade_facts = asdict(history.fill_changed(ctx.uow_factory, ctx.facts))


def fold_change_marks(uow_factory: UnitOfWorkFactory) -> None:
    """Fold the decisions' change marks (migration 0029) past their limit, as a batch of
    decisions does: every write to the watched tables adds a row, and a platform where nobody
    decides (ingest only) would otherwise grow the table without bound. The marks' sums, all
    the API processes compare, are kept."""
    with uow_factory() as uow:
        marks = getattr(uow, "decision_marks", None)  # the SQL store's; the fakes have none
        if marks is not None and marks(fold=True) is not None:
            uow.commit()


def run_pass(
    ctx: WorkerContext, number: int = 1, stop: threading.Event | None = None
) -> PassReport:
    """One pass: anchor, the audit head once per chain day, relay, settle-due and margin
    watch once per chain day, webhooks, trade facts, the change marks folded. Once ``stop``
    is set, the steps not yet begun are skipped (named in ``abandoned``)."""
    report = PassReport(number, ctx.clock.now())
    started = time.monotonic()
    steps: list[tuple[str, Callable[[], None]]] = [("anchor", lambda: _anchor(ctx, report))]
    try:
        report.chain_day = ctx.ledger.chain_today()
    except (FourFlowError, OSError) as exc:
        report.errors.append(f"chain: {exc}")
    day = report.chain_day
    ids = ctx.identities
    if day is not None and ids is not None:
        steps.append(("audit head", lambda: _audit_head(ctx, report, ids, day)))
    steps.append(("relay", lambda: _relay(ctx, report)))
    if day is not None:
        if _done_for(ctx, SETTLED_DAY_KEY) != day.isoformat():
            steps.append(("settle-due", lambda: _settle(ctx, report, day)))
        feed = ctx.price_feed
        if feed is not None and _done_for(ctx, MARGIN_DAY_KEY) != day.isoformat():
            steps.append(("margin watch", lambda: _margin(ctx, report, day, feed)))
    follow = ctx.follow_signers
    if follow is not None:
        steps.append(("signers", lambda: _signers(ctx, report, follow)))
    deliver = ctx.deliver_webhooks
    if deliver is not None:
        steps.append(("webhooks", lambda: _webhooks(report, deliver)))
    steps.append(("trade facts", lambda: _trade_facts(ctx, report)))
    steps.append(("change marks", lambda: fold_change_marks(ctx.uow_factory)))
    for name, step in steps:
        if stop is not None and stop.is_set():
            report.abandoned.append(name)
            continue
        try:
            step()
        except (FourFlowError, OSError) as exc:
            report.errors.append(f"{name}: {exc}")
    report.seconds = time.monotonic() - started
    return report


def passes(
    ctx: WorkerContext,
    *,
    interval_s: float = DEFAULT_INTERVAL_S,
    stop: threading.Event,
    max_passes: int | None = None,
) -> Iterator[PassReport]:
    """Run passes every ``interval_s`` seconds until ``stop`` is set (or ``max_passes`` ran).

    Waiting between passes is on ``stop``, so a stop request ends the wait at once; a pass
    under way finishes the step it is in and skips the rest.
    """
    if interval_s <= 0:
        raise DomainValueError("the worker's interval must be positive")
    if max_passes is not None and max_passes < 1:
        raise DomainValueError("the worker's number of passes must be at least 1")
    number = 0
    while not stop.is_set() and (max_passes is None or number < max_passes):
        number += 1
        yield run_pass(ctx, number, stop)
        if max_passes is not None and number >= max_passes:
            return
        stop.wait(interval_s)
