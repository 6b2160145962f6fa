"""CLI for payment on its day (issue 20): ``fourflow settle-due``, ``fourflow route ...`` and
``fourflow margin ...`` (docs/routing.md). Commands that queue chain operations relay them
before returning; a refused operation changes nothing and is named on stderr."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from fourflow.bootstrap import Platform, Settings
from fourflow.domain.errors import DomainValueError
from fourflow.domain.settlement import RouteKind
from fourflow.entrypoints.cli import home_mode
from fourflow.entrypoints.cli.common import JsonOpt, platform, relay_now
from fourflow.entrypoints.cli.output import console, emit_json, err_console
from fourflow.services import margin, onboarding, settlement, settlement_figures

route_app = typer.Typer(
    help="Locked repayment routes: lock, change, show, statement checks, notices.",
    no_args_is_help=True,
)
margin_app = typer.Typer(
    help="Pledged goods revalued from the price feed: margin calls and forced sales.",
    no_args_is_help=True,
)
AsOrg = Annotated[
    str,
    typer.Option(
        "--as", help="Acting organisation (USCC or id).", callback=home_mode.as_org_callback
    ),
]


def _signers_callback(value: list[str]) -> list[str]:
    """``route change --signer`` signs for each named party with its key held here: another
    organisation's signature is made here only in demo and simulation homes."""
    for ref in value:
        if ref != "operator":
            home_mode.allow_acting(Settings.from_env().home, f"--signer {ref}")
    return value


def register(app: typer.Typer) -> None:
    """Add ``settle-due``, ``route`` and ``margin`` to ``fourflow``."""
    app.command("settle-due")(settle_due)
    app.add_typer(route_app, name="route")
    app.add_typer(margin_app, name="margin")


def _org(p: Platform, ref: str) -> str:
    return onboarding.org_id(uow_factory=p.uow_factory, ref=ref)


def _kind(text: str) -> RouteKind:
    try:
        return RouteKind(text)
    except ValueError:
        raise DomainValueError(f"route kind {text!r} is not 'tokens' or 'account'") from None


def settle_due(
    reminder_days: Annotated[
        int, typer.Option(help="Remind debtors this many days before maturity.")
    ] = settlement.DEFAULT_REMINDER_DAYS,
    json_out: JsonOpt = False,
) -> None:
    """Settle every item due by the chain's today: collect through locked token routes (banks
    first), flag short and unrouted items overdue, run the default rule after grace, remind
    debtors before maturity. Run twice on one day, it pays once."""
    with platform() as p:
        relay_now(p)  # the store and the chain agree before anything is collected
        with Progress(
            TextColumn("settle-due"), BarColumn(), TextColumn("{task.description}"),
            console=err_console, disable=json_out, transient=True,
        ) as bar:  # fmt: skip
            task = bar.add_task("", total=None)

            def progress(message: str) -> None:
                bar.update(task, description=message, advance=1)

            report = settlement.settle_due(
                uow_factory=p.uow_factory, ledger=p.require_contracts(),
                operator_id=p.operator_id(), reminder_days=reminder_days, progress=progress,
            )  # fmt: skip
        relay_now(p)
        figures = settlement_figures.figures(uow_factory=p.uow_factory, as_of=report.day)
    data = {**report.as_dict(), "figures": figures}
    if json_out:
        emit_json(data)
        return
    table = Table(title=f"settle-due {report.day}")
    for column in ("item", "action", "amount", "outstanding"):
        table.add_column(column)
    for row in data["items"]:
        table.add_row(row["item"], row["action"], str(row["amount"]), str(row["outstanding"]))
    console.print(table)
    console.print(f"notices given: {report.notices}")
    console.print(settlement_table(figures))


@route_app.command("lock")
def route_lock(
    item_id: str,
    as_org: AsOrg,
    kind: Annotated[
        str | None,
        typer.Option(
            help="tokens or account (default: account at the debtor's account bank if it has "
            "an account, else tokens)."
        ),
    ] = None,
    account: Annotated[
        str | None, typer.Option(help="Collection account number (account routes).")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """The debtor locks the repayment route (once) of an item issued on the evidence and not
    confirmed yet (its confirmation locks it otherwise)."""
    with platform() as p:
        event = settlement.lock_route(
            uow_factory=p.uow_factory, item_id=item_id, actor_id=_org(p, as_org),
            kind=_kind(kind) if kind else None, account=account,
        )  # fmt: skip
        relay_now(p)
        data = _route_view(p, item_id)
    data["op_id"] = event.op_id
    _show(data, json_out)


@route_app.command("change")
def route_change(
    item_id: str,
    as_org: AsOrg,
    signer: Annotated[
        list[str],
        typer.Option(
            help="A signing party (the debtor and every pledgee).", callback=_signers_callback
        ),
    ],
    kind: Annotated[str, typer.Option(help="tokens or account.")] = "tokens",
    account: Annotated[str | None, typer.Option(help="New collection account.")] = None,
    bank: Annotated[str | None, typer.Option(help="New collection bank.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Change a locked route with the signatures of the debtor and every pledgee."""
    with platform() as p:
        settlement.change_route(
            uow_factory=p.uow_factory, signer=p.require_contracts(), item_id=item_id,
            actor_id=_org(p, as_org), kind=_kind(kind),
            signer_ids=[_org(p, s) for s in signer], account=account,
            bank_id=_org(p, bank) if bank else None,
        )  # fmt: skip
        relay_now(p)
        data = _route_view(p, item_id)
    _show(data, json_out)


@route_app.command("show")
def route_show(item_id: str, json_out: JsonOpt = False) -> None:
    """An item's route in the store and on the chain."""
    with platform() as p:
        data = _route_view(p, item_id)
    _show(data, json_out)


@route_app.command("statement")
def route_statement(
    item_id: str,
    as_org: AsOrg,
    payee_account: Annotated[str, typer.Option(help="The account the debtor paid.")],
    amount: Annotated[int, typer.Option(help="Minor units paid.")],
    value_date: Annotated[str, typer.Option(help="Value date YYYY-MM-DD.")],
    reference: Annotated[str, typer.Option(help="The statement entry's reference.")],
    json_out: JsonOpt = False,
) -> None:
    """A bank reports a statement line of the debtor paying for the item: outside the locked
    route it is no payment, and the holders' banks are told."""
    with platform() as p:
        notices = settlement.statement_payment(
            uow_factory=p.uow_factory, item_id=item_id, bank_id=_org(p, as_org),
            payee_account=payee_account, amount=amount,
            value_date=dt.date.fromisoformat(value_date), reference=reference,
        )  # fmt: skip
    data: dict[str, Any] = {
        "item": item_id,
        "bypassed": bool(notices),
        "told": [n.recipient_id for n in notices],
        "text": notices[0].text if notices else "paid into the route's collection account",
    }
    _show(data, json_out)


@route_app.command("statements")
def route_statements(
    documents: Annotated[
        list[str] | None,
        typer.Argument(help="Ingested statement entries (default: every one linked to an item)."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Check ingested bank statements (camt.052/053/054, `fourflow documents ingest`) for
    payments of an item outside its locked route: the holders' banks are told (once)."""
    with platform() as p:
        checks = settlement.check_statements(
            uow_factory=p.uow_factory, document_ids=documents or None
        )
    rows = [
        {"document": c.document_id, "reference": c.reference, "outcome": c.outcome,
         "item": c.item_id, "payee_account": c.payee_account, "amount": c.amount,
         "told": c.notices, "statuses": list(c.statuses)}
        for c in checks
    ]  # fmt: skip
    if json_out:
        emit_json(rows)
        return
    for r in rows:
        console.print(f"{r['reference']} {r['outcome']:<16} {r['item'] or '-'} -> {r['told']} told")
    if not rows:
        console.print("no statement entries to check")


@route_app.command("notices")
def route_notices(
    subject: Annotated[str | None, typer.Argument(help="An item or receipt id.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """The notices the settlement job and the margin watcher gave."""
    with platform() as p:
        notices = settlement.notices_for(uow_factory=p.uow_factory, subject_id=subject)
    rows = [
        {
            "day": n.on_day.isoformat(), "kind": n.kind.value, "subject": n.subject_id,
            "to": n.recipient_id, "amount": n.amount,
            "deadline": n.deadline.isoformat() if n.deadline else None, "text": n.text,
        }
        for n in notices
    ]  # fmt: skip
    if json_out:
        emit_json(rows)
        return
    for r in rows:
        console.print(f"{r['day']} {r['kind']:<12} {r['subject']} -> {r['to']}: {r['text']}")


@route_app.command("figures")
def route_figures(
    as_of: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default: chain today).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """The regulator's settlement figures: due today, paid on time and late, overdue by age
    band, defaulted, without a locked route, margin calls, payments that bypassed the route."""
    with platform() as p:
        day = dt.date.fromisoformat(as_of) if as_of else p.require_contracts().chain_today()
        data = settlement_figures.figures(uow_factory=p.uow_factory, as_of=day)
    if json_out:
        emit_json(data)
    else:
        console.print(settlement_table(data))


@margin_app.command("watch")
def margin_watch(
    feed: Annotated[
        Path | None, typer.Option(help="Price feed CSV (default: FOURFLOW_PRICE_FEED).")
    ] = None,
    buyer: Annotated[
        str | None, typer.Option(help="Who buys the goods of unmet margin calls.")
    ] = None,
    maintenance: Annotated[
        str, typer.Option(help="Maintenance ratio: goods value / amount owed.")
    ] = str(margin.DEFAULT_MAINTENANCE_RATIO),
    deadline_days: Annotated[
        int, typer.Option(help="Days a margin call gives.")
    ] = margin.DEFAULT_DEADLINE_DAYS,
    json_out: JsonOpt = False,
) -> None:
    """Load the price feed, revalue every pledged receipt, call margins, sell unmet calls."""
    with platform() as p:
        path = feed or p.settings.price_feed
        if path is not None:
            margin.load_price_feed(uow_factory=p.uow_factory, path=path)
        report = margin.margin_watch(
            uow_factory=p.uow_factory, ledger=p.require_contracts(),
            buyer_id=_org(p, buyer) if buyer else None, maintenance_ratio=Decimal(maintenance),
            deadline_days=deadline_days,
        )  # fmt: skip
        relay_now(p)
    _show(report.as_dict(), json_out)


def _bucket_text(bucket: dict[str, Any]) -> str:
    amounts = ", ".join(f"{v} {c}" for c, v in sorted(bucket["amount"].items()))
    return f"{bucket['count']}" + (f" · {amounts} (minor units)" if amounts else "")


def settlement_table(figures: dict[str, Any]) -> Table:
    """The regulator's payment-on-its-day figures (``settlement_figures.figures``)."""
    table = Table("measure", "figure", title=f"Payment on its day (到期结算) {figures['as_of']}")
    for key, label in (
        ("due_today", "due today"),
        ("paid_on_time", "paid on time"),
        ("paid_late", "paid late"),
        ("defaulted", "defaulted"),
        ("without_locked_route", "without a locked route"),
    ):
        table.add_row(label, _bucket_text(figures[key]))
    for band, bucket in figures["overdue_by_age"].items():
        table.add_row(f"overdue {band} days", _bucket_text(bucket))
    routes = figures["routes"]
    table.add_row(
        "routes locked · changed",
        f"{routes['locked']} · {routes['changed']} changes on {routes['items_changed']} items",
    )
    calls = figures["margin_calls"]
    table.add_row(
        "margin calls open · met · sold",
        f"{calls['open']} · {calls['met']} · {calls['sold']} (of {calls['opened']})",
    )
    bypassed = figures["bypassed_route"]
    table.add_row(
        "payments that bypassed the route",
        f"{bypassed['count']} on {bypassed['items']} items · {bypassed['amount']} (minor units)",
    )
    return table


def _route_view(p: Platform, item_id: str) -> dict[str, Any]:
    with p.uow_factory() as uow:
        route = settlement.current_route(uow, item_id)
    chain = p.require_contracts().read("route", item_id)
    return {
        "item": item_id,
        "kind": route.kind.value if route else None,
        "bank": route.bank_id if route else None,
        "account": route.account if route else None,
        "signers": list(route.signers) if route else [],
        "chain": {k: (v.hex() if isinstance(v, bytes) else v) for k, v in chain.items()},
    }


def _show(data: dict[str, Any], json_out: bool) -> None:
    if json_out:
        emit_json(data)
    else:
        console.print(data)
