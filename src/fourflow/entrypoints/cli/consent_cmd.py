"""CLI commands for a core enterprise's data and what banks pay to read it (issue 16 item 6,
docs/consents.md), registered by main: ``fourflow consent grant|revoke|list`` and ``fourflow
data price|read|usage|statement``.

Granting, revoking, pricing and reading act as an organisation (``--as``): a core enterprise
grants and prices, a bank reads. Acting as another party than the operator exists only in demo
and simulation homes; in a platform home each party does this over the API as itself. Reading
usage and statements is the operator's (``--org`` names whose).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer
from rich.table import Table

from fourflow.domain.consents import DataKind, parse_kind
from fourflow.domain.errors import DomainValueError
from fourflow.entrypoints.cli import home_mode
from fourflow.entrypoints.cli.common import JsonOpt, platform, relay_now
from fourflow.entrypoints.cli.output import console, emit_json
from fourflow.services import consents, onboarding

consent_app = typer.Typer(
    help="A core enterprise's consents: which bank reads which of its data, why, how long.",
    no_args_is_help=True,
)
data_app = typer.Typer(
    help="A core enterprise's data: its price list, banks' metered reads, monthly statements.",
    no_args_is_help=True,
)
price_app = typer.Typer(
    help="A core enterprise's price per read of its data.", no_args_is_help=True
)

AsOrg = Annotated[
    str,
    typer.Option(
        "--as",
        help="The organisation acting (USCC or id); another party than `operator`: demo and "
        "simulation homes only.",
        callback=home_mode.as_org_callback,
    ),
]
By = Annotated[str, typer.Option("--by", help="The person acting (recorded).")]
Month = Annotated[str, typer.Option(help="The month, YYYY-MM (for example 2026-11).")]


def register(app: typer.Typer) -> None:
    """Add ``consent`` and ``data`` to ``fourflow``."""
    app.add_typer(consent_app, name="consent")
    app.add_typer(data_app, name="data")
    data_app.add_typer(price_app, name="price")


def _actor(p: Any, as_org: str) -> str:
    ref = p.operator_id() if as_org == "operator" else as_org
    return onboarding.org_id(uow_factory=p.uow_factory, ref=ref)


def _list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _day(text: str | None, what: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise DomainValueError(f"{what} {text!r} is not a date YYYY-MM-DD") from None


def _print_consent(v: dict[str, Any]) -> None:
    whom = v["counterparties"] if v["counterparties"] == "all" else ", ".join(v["counterparties"])
    console.print(
        f"{v['consent_id']}  {v['status']:<8} {v['grantor_id']} -> {v['grantee_id']}  "
        f"{','.join(v['kinds'])} for {v['purpose']}  {v['valid_from']}..{v['valid_to']}  "
        f"counterparties: {whom}"
    )


@consent_app.command("grant")
def consent_grant(
    as_org: AsOrg,
    to: Annotated[str, typer.Option("--to", help="The bank (USCC or id).")],
    kinds: Annotated[str, typer.Option(help="payment_history,trades (comma-separated).")],
    purpose: Annotated[str, typer.Option(help="credit_review or post_loan_monitoring.")],
    until: Annotated[str, typer.Option("--until", help="Last day, YYYY-MM-DD.")],
    valid_from: Annotated[
        str | None, typer.Option("--from", help="First day (default today).")
    ] = None,
    counterparties: Annotated[
        str, typer.Option(help="Whose trades with you (USCC or ids, comma-separated); default all.")
    ] = "",
    by: By = "cli",
    json_out: JsonOpt = False,
) -> None:
    """A core enterprise consents that a bank reads kinds of its data for one purpose."""
    with platform() as p:
        consent = consents.grant(
            uow_factory=p.uow_factory, clock=p.clock, grantor_id=_actor(p, as_org), person=by,
            grantee=to, kinds=_list(kinds), purpose=purpose,
            valid_from=_day(valid_from, "--from"), valid_to=_day(until, "--until") or dt.date.min,
            counterparties=_list(counterparties),
        )  # fmt: skip
        relay_now(p)  # its anchor on chain (consent_anchor)
        view = consents.consent_view(consent, p.clock.today())
    emit_json(view) if json_out else _print_consent(view)


@consent_app.command("revoke")
def consent_revoke(
    consent_id: Annotated[str, typer.Argument(help="The consent (id from `consent list`).")],
    as_org: AsOrg,
    reason: Annotated[str, typer.Option(help="Why (recorded).")],
    by: By = "cli",
    json_out: JsonOpt = False,
) -> None:
    """The grantor revokes its consent now."""
    with platform() as p:
        consent = consents.revoke(
            uow_factory=p.uow_factory, clock=p.clock, grantor_id=_actor(p, as_org), person=by,
            consent_id=consent_id, reason=reason,
        )  # fmt: skip
        relay_now(p)  # its anchor on chain (consent_anchor)
        view = consents.consent_view(consent, p.clock.today())
    emit_json(view) if json_out else _print_consent(view)


@consent_app.command("list")
def consent_list(
    org: Annotated[str | None, typer.Option(help="Granted by or to (USCC or id).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Consents, oldest first, with their status today (revoked and expired included)."""
    with platform() as p:
        who = onboarding.org_id(uow_factory=p.uow_factory, ref=org) if org else None
        rows = [
            consents.consent_view(c, p.clock.today())
            for c in consents.list_consents(uow_factory=p.uow_factory, org_id=who)
        ]
    if json_out:
        emit_json(rows)
        return
    for v in rows:
        _print_consent(v)
    if not rows:
        console.print("no consents")


@price_app.command("set")
def price_set(
    prices: Annotated[list[str], typer.Argument(help="KIND=PRICE per read, e.g. trades=3.00")],
    as_org: AsOrg,
    currency: Annotated[str, typer.Option(help="ISO 4217 currency.")] = "CNY",
    by: By = "cli",
    json_out: JsonOpt = False,
) -> None:
    """A core enterprise sets its price per read of kinds of its data."""
    pairs: dict[str, str] = {}
    for item in prices:
        kind, sep, amount = item.partition("=")
        if not sep:
            raise DomainValueError(f"{item!r} is not KIND=PRICE (kinds: {list(DataKind)})")
        pairs[kind.strip()] = amount.strip()
    with platform() as p:
        rows = consents.set_prices(
            uow_factory=p.uow_factory, clock=p.clock, grantor_id=_actor(p, as_org), person=by,
            prices=pairs, currency=currency.upper(),
        )  # fmt: skip
    views = [consents.price_view(x) for x in rows]
    if json_out:
        emit_json(views)
        return
    for v in views:
        console.print(f"{v['kind']:<16} {v['currency']} {v['price']} per read")


@price_app.command("list")
def price_list(
    org: Annotated[str, typer.Option(help="The core enterprise (USCC or id).")],
    json_out: JsonOpt = False,
) -> None:
    """A core enterprise's price list."""
    with platform() as p:
        views = [consents.price_view(x) for x in consents.price_list(uow_factory=p.uow_factory,
                                                                     grantor=org)]  # fmt: skip
    if json_out:
        emit_json(views)
        return
    for v in views:
        console.print(f"{v['kind']:<16} {v['currency']} {v['price']} per read")
    if not views:
        console.print("no prices set: reads are free")


@data_app.command("read")
def data_read(
    kind: Annotated[str, typer.Argument(help="payment_history or trades.")],
    as_org: AsOrg,
    grantor: Annotated[str, typer.Option(help="The core enterprise (USCC or id).")],
    purpose: Annotated[str, typer.Option(help="credit_review or post_loan_monitoring.")],
    by: By = "cli",
    json_out: JsonOpt = False,
) -> None:
    """A bank reads a core enterprise's data under its consent (refused without); metered."""
    what = parse_kind(kind)
    read = (
        consents.read_payment_history if what is DataKind.PAYMENT_HISTORY else consents.read_trades
    )
    with platform() as p:
        usage, rows = read(
            uow_factory=p.uow_factory, clock=p.clock, reader_org=_actor(p, as_org), reader=by,
            grantor=grantor, purpose=purpose,
        )  # fmt: skip
    r = consents.usage_view(usage)
    if json_out:
        emit_json({"read": r, "records": rows})
        return
    console.print(
        f"read {r['read_id']}: {r['records']} {r['kind']} record(s) of {r['grantor_id']} under "
        f"consent {r['consent_id']}, fee {r['currency']} {r['fee']}"
    )


@data_app.command("usage")
def data_usage(
    org: Annotated[
        str | None, typer.Option(help="Whose data, or which bank's reads (USCC or id).")
    ] = None,
    month: Annotated[str | None, typer.Option(help="Only this month, YYYY-MM.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Every metered read: who (bank, person), what (kind, object), when, why, consent, fee."""
    with platform() as p:
        who = onboarding.org_id(uow_factory=p.uow_factory, ref=org) if org else None
        rows = [
            consents.usage_view(u)
            for u in consents.usage(uow_factory=p.uow_factory, org_id=who, month=month)
        ]
    if json_out:
        emit_json(rows)
        return
    table = Table("when", "bank", "reader", "kind", "object", "records", "purpose", "fee")
    for r in rows:
        table.add_row(r["read_at"], r["grantee_id"], r["reader"], r["kind"], r["object_id"],
                      str(r["records"]), r["purpose"], f"{r['currency']} {r['fee']}")  # fmt: skip
    console.print(table)


@data_app.command("statement")
def data_statement(
    org: Annotated[str, typer.Option(help="The core enterprise (USCC or id).")],
    month: Month,
    json_out: JsonOpt = False,
) -> None:
    """A core enterprise's monthly statement: reads and fees per bank and data kind."""
    with platform() as p:
        view = consents.statement_view(
            consents.statement(uow_factory=p.uow_factory, grantor=org, month=month)
        )
    if json_out:
        emit_json(view)
        return
    table = Table("bank", "kind", "reads", "records", "fees")
    for x in view["lines"]:
        table.add_row(x["grantee_id"], x["kind"], str(x["reads"]), str(x["records"]),
                      f"{x['currency']} {x['fees']}")  # fmt: skip
    console.print(table)
    for b in view["by_bank"]:
        console.print(f"{b['grantee_id']}: {b['currency']} {b['fees']}")
    total = ", ".join(f"{c} {v}" for c, v in view["total"].items()) or "nothing"
    console.print(f"total for {view['month']}: {total}")
