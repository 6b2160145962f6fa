"""What every CLI command module shares: opening the platform, relaying, logging, options."""

from __future__ import annotations

import datetime as dt
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import structlog
import typer

from fourflow.bootstrap import Platform, Settings, open_platform
from fourflow.domain.errors import DomainValueError, FourFlowError
from fourflow.entrypoints.cli.output import err_console
from fourflow.services import relay

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]


def configure_logging(settings: Settings | None = None) -> None:
    """Log to stderr (stdout carries results and JSON), at ``Settings.log_level``."""
    log_level = (settings or Settings.from_env()).log_level
    level = logging.getLevelNamesMapping().get(log_level.upper(), logging.WARNING)
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )


@contextmanager
def platform() -> Iterator[Platform]:
    """Open the platform; turn FourFlow errors into a clear message and exit code 1."""
    try:
        with open_platform() as opened:
            yield opened
    except FourFlowError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None


def relay_now(p: Platform) -> None:
    with p.chain_writer():  # one relay at a time beside the API and `fourflow worker`
        result = relay.relay(  # on PostgreSQL one relay per sender beside the workers
            uow_factory=p.uow_factory, ledger=p.require_contracts(), claims=p.relay_claims()
        )
    for op_id, reason in result.failed:
        err_console.print(f"[red]chain refused {op_id}:[/red] {reason}")


def business_day(p: Platform, text: str | None) -> dt.date:
    """A business date given as ``YYYY-MM-DD``, or the platform's today; a clear error if not."""
    try:
        return dt.date.fromisoformat(text) if text else p.clock.today()
    except ValueError:
        raise DomainValueError(f"date {text!r} is not YYYY-MM-DD") from None
