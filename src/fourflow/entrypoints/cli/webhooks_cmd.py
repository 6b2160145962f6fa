"""``fourflow webhooks deliver --once``: one bounded webhook delivery pass (docs/api.md,
Notifications). ``fourflow worker`` may call ``Platform.deliver_webhooks`` on each pass."""

from __future__ import annotations

from typing import Annotated

import typer

from fourflow.entrypoints.cli.common import JsonOpt, platform
from fourflow.entrypoints.cli.output import console, emit_json

webhooks_app = typer.Typer(help="Webhook deliveries (notifications).", no_args_is_help=True)


@webhooks_app.command("deliver")
def deliver(
    once: Annotated[
        bool, typer.Option("--once", help="One pass (the only mode: loop it from the worker).")
    ] = False,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Deliveries in the pass.")] = 200,
    as_json: JsonOpt = False,
) -> None:
    """Queue new events for the organisations' endpoints and POST the due deliveries once:
    signed, each bounded by FOURFLOW_WEBHOOK_TIMEOUT_SECONDS, retried with backoff, dead
    after FOURFLOW_WEBHOOK_MAX_ATTEMPTS."""
    if not once:
        raise typer.BadParameter("say --once (a long-running loop is `fourflow worker`'s)")
    with platform() as p:
        result = p.deliver_webhooks(limit=limit)
    figures = {
        "queued": result.queued,
        "delivered": result.delivered,
        "retried": result.retried,
        "dead": result.dead,
    }
    if as_json:
        emit_json(figures)
        return
    console.print(", ".join(f"{k} {v}" for k, v in figures.items()))


def register(app: typer.Typer) -> None:
    """Add ``fourflow webhooks`` to the CLI."""
    app.add_typer(webhooks_app, name="webhooks")
