"""``fourflow worker``: the relay and the scheduled jobs outside the API's requests
(``services.worker``; docs/api.md, "The worker")."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Annotated, Any

import typer

from fourflow.bootstrap import Platform, clique_network
from fourflow.entrypoints.cli.common import JsonOpt, platform
from fourflow.entrypoints.cli.output import console, emit_json, err_console
from fourflow.services import consortium
from fourflow.services import worker as worker_service

PARENT_POLL_S = 1.0


def _watch_parent(parent_pid: int, stop: threading.Event) -> None:
    """Set ``stop`` once the process that started this worker is gone (``serve`` killed)."""
    while not stop.wait(PARENT_POLL_S):
        if os.getppid() != parent_pid:
            stop.set()


def _signer_follower(p: Platform) -> Callable[[], dict[str, Any]] | None:
    """The Registry follows the signers' votes when this home's consortium development
    network (``FOURFLOW_HOME/consortium``) is the chain the platform runs on; else None."""
    net = clique_network(None, settings=p.settings)
    if not net.exists() or p.ledger.chain_id != net.chain_id():
        return None
    ledger, operator = p.require_contracts(), p.operator_id()

    def follow() -> dict[str, Any]:
        return consortium.follow_signers(
            uow_factory=p.uow_factory, registry=ledger, network=net, operator_id=operator
        )

    return follow


def worker(
    once: Annotated[bool, typer.Option("--once", help="Run one pass, then exit.")] = False,
    interval: Annotated[
        float, typer.Option(min=0.1, max=86_400.0, help="Seconds between passes.")
    ] = worker_service.DEFAULT_INTERVAL_S,
    max_passes: Annotated[
        int | None,
        typer.Option(min=1, help="Stop after this many passes (default: run until stopped)."),
    ] = None,
    parent_pid: Annotated[
        int | None, typer.Option(hidden=True, help="Stop when this parent process is gone.")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Relay queued chain operations and run the scheduled jobs: the API audit trail's head
    anchored on chain, settle-due, and the margin watch when a price feed is configured, each
    once per chain day; webhook deliveries every pass. Runs a pass every
    --interval seconds until SIGTERM or SIGINT (a pass under way finishes the step it is in and
    skips the rest); --once runs one pass and exits 1 if a step of it failed."""
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {}
    if threading.current_thread() is threading.main_thread():  # signals reach the main thread
        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    if parent_pid is not None:
        threading.Thread(target=_watch_parent, args=(parent_pid, stop), daemon=True).start()
    failed = False
    try:
        with platform() as p:
            ctx = worker_service.WorkerContext(
                uow_factory=p.uow_factory, ledger=p.require_contracts(), clock=p.clock,
                operator_id=p.operator_id(), chain_lock=p.chain_writer,
                price_feed=p.settings.price_feed, deliver_webhooks=p.deliver_webhooks,
                claims=p.relay_claims(), identities=p.identities,
                follow_signers=_signer_follower(p),
            )  # fmt: skip
            for report in worker_service.passes(
                ctx, interval_s=interval, stop=stop, max_passes=1 if once else max_passes
            ):
                failed = bool(report.errors)
                if json_out:
                    emit_json(report.as_dict(), line=True)
                else:
                    _print(report)
    finally:
        stop.set()
        for s, handler in previous.items():
            signal.signal(s, handler)
    if once and failed:
        raise typer.Exit(1)


def _print(report: worker_service.PassReport) -> None:
    r = report.relayed
    line = (
        f"pass {report.number} (chain day {report.chain_day}): relayed {r['applied']} applied, "
        f"{r['recovered']} recovered, {len(r['failed'])} refused"
    )
    if report.anchored is not None:
        line += f"; anchored {report.anchored['documents']} documents"
    if report.audit_head is not None:
        line += f"; audit head {report.audit_head['seq']} queued for anchoring"
    if report.settle_due is not None:
        s = report.settle_due
        line += f"; settle-due {s['day']}: {s['counts']}, collected {s['collected']}"
    if report.margin_watch is not None:
        line += f"; margin watch: {len(report.margin_watch['receipts'])} receipts"
    if report.signers is not None and report.signers["recorded"]:
        line += f"; signer votes recorded: {len(report.signers['recorded'])}"
    if report.abandoned:
        line += f"; stopped before: {', '.join(report.abandoned)}"
    console.print(line)
    for op_id, reason in r["failed"]:
        err_console.print(f"[red]chain refused {op_id}:[/red] {reason}")
    for error in report.errors:
        err_console.print(f"[red]error:[/red] {error}")


def register(app: typer.Typer) -> None:
    """Add ``worker`` to ``fourflow``."""
    app.command("worker")(worker)
