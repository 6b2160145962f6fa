"""CLI commands for evidence a bank can stake money on (docs/verification.md), registered by
main: ``fourflow mandate grant|revoke|list`` (who may send whose documents) and ``fourflow
signal list|clear`` (a trade's open fraud signals; an operator clears one with a reason)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer

from fourflow.domain.documents import DocumentKind
from fourflow.domain.errors import DomainValueError
from fourflow.domain.mandates import Mandate, SignalClearance
from fourflow.entrypoints.cli import home_mode
from fourflow.entrypoints.cli.common import JsonOpt, business_day, platform
from fourflow.entrypoints.cli.output import console, emit_json
from fourflow.services import evidence, onboarding

mandate_app = typer.Typer(
    help="Mandates: an agent (carrier, warehouse, ERP integrator) sends a party's documents.",
    no_args_is_help=True,
)
signal_app = typer.Typer(
    help="Fraud signals on a trade: list them; an operator clears one with a reason.",
    no_args_is_help=True,
)

DateOpt = Annotated[str | None, typer.Option(help="Business date YYYY-MM-DD (default today).")]


def register(app: typer.Typer) -> None:
    """Add ``mandate`` and ``signal`` to ``fourflow``."""
    app.add_typer(mandate_app, name="mandate")
    app.add_typer(signal_app, name="signal")


def _kinds(text: str) -> frozenset[DocumentKind]:
    """Document kinds from ``order,despatch_advice``; a clear error naming an unknown one."""
    known = {k.value: k for k in DocumentKind}
    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise DomainValueError(
            f"unknown document kind(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    if not names:
        raise DomainValueError("name at least one document kind (--kinds order,invoice)")
    return frozenset(known[n] for n in names)


def _day(text: str | None, what: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise DomainValueError(f"{what} {text!r} is not YYYY-MM-DD") from None


def mandate_view(m: Mandate, names: dict[str, str]) -> dict[str, Any]:
    """A mandate as JSON, parties by id and name."""
    return {
        "id": m.id,
        "principal": m.principal_id,
        "principal_name": names.get(m.principal_id, m.principal_id),
        "agent": m.agent_id,
        "agent_name": names.get(m.agent_id, m.agent_id),
        "kinds": sorted(k.value for k in m.kinds),
        "valid_from": m.valid_from.isoformat(),
        "valid_to": None if m.valid_to is None else m.valid_to.isoformat(),
        "granted_on": None if m.granted_on is None else m.granted_on.isoformat(),
        "note": m.note,
        "revoked_on": None if m.revoked_on is None else m.revoked_on.isoformat(),
        "revoked_by": m.revoked_by,
        "revoke_reason": m.revoke_reason,
    }


def _names(p: Any) -> dict[str, str]:
    with p.uow_factory() as uow:
        return {o.id: o.name for o in uow.organisations.list()}


def _print_mandate(v: dict[str, Any]) -> None:
    term = f"{v['valid_from']} to {v['valid_to'] or 'until revoked'}"
    state = (
        f"  [red]revoked on {v['revoked_on']}[/red]: {v['revoke_reason']}"
        if v["revoked_on"]
        else ""
    )
    console.print(
        f"[bold]{v['id']}[/bold] {v['agent_name']} sends {', '.join(v['kinds'])} for "
        f"{v['principal_name']}, {term}{state}"
    )


@mandate_app.command("grant")
def mandate_grant(
    principal: Annotated[str, typer.Option(help="Whose documents (USCC or id).")],
    agent: Annotated[str, typer.Option(help="Who sends them (USCC or id).")],
    kinds: Annotated[str, typer.Option(help="Document kinds, comma-separated.")],
    valid_from: Annotated[
        str | None, typer.Option("--from", help="First day (default today).")
    ] = None,
    valid_to: Annotated[str | None, typer.Option("--to", help="Last day (default: open).")] = None,
    note: Annotated[str, typer.Option(help="What the mandate is for.")] = "",
    json_out: JsonOpt = False,
) -> None:
    """Record the principal's mandate: the agent's documents of these kinds count as the
    principal's evidence within the term."""
    with platform() as p:
        today = p.clock.today()
        mandate = evidence.grant_mandate(
            uow_factory=p.uow_factory,
            principal_id=onboarding.org_id(uow_factory=p.uow_factory, ref=principal),
            agent_id=onboarding.org_id(uow_factory=p.uow_factory, ref=agent),
            kinds=_kinds(kinds),
            valid_from=_day(valid_from, "--from") or today,
            valid_to=_day(valid_to, "--to"),
            note=note,
            today=today,
        )
        view = mandate_view(mandate, _names(p))
    if json_out:
        emit_json(view)
    else:
        _print_mandate(view)


@mandate_app.command("revoke")
def mandate_revoke(
    mandate_id: Annotated[str, typer.Argument(help="The mandate (id from `mandate list`).")],
    as_org: Annotated[
        str,
        typer.Option(
            "--as",
            help="The principal revoking, or `operator` (another party: demo and simulation "
            "homes).",
            callback=home_mode.as_org_callback,
        ),
    ],
    reason: Annotated[str, typer.Option(help="Why (recorded with the revocation).")],
    on: Annotated[str | None, typer.Option(help="From this day (default today).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Revoke a mandate from a day: the agent's documents of that day or later no longer
    count as the principal's evidence. Who and why are recorded."""
    with platform() as p:
        actor = p.operator_id() if as_org == "operator" else as_org
        mandate = evidence.revoke_mandate(
            uow_factory=p.uow_factory,
            mandate_id=mandate_id,
            actor_id=onboarding.org_id(uow_factory=p.uow_factory, ref=actor),
            reason=reason,
            on=business_day(p, on),
        )
        view = mandate_view(mandate, _names(p))
    if json_out:
        emit_json(view)
    else:
        _print_mandate(view)


@mandate_app.command("list")
def mandate_list(
    org: Annotated[str | None, typer.Option(help="Only this party's (USCC or id).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Every mandate, oldest first, revoked ones included."""
    with platform() as p:
        names = _names(p)
        rows = [
            mandate_view(m, names)
            for m in evidence.list_mandates(uow_factory=p.uow_factory, org=org)
        ]
    if json_out:
        emit_json(rows)
        return
    for v in rows:
        _print_mandate(v)
    if not rows:
        console.print("no mandates")


def clearance_view(c: SignalClearance, names: dict[str, str]) -> dict[str, Any]:
    """A clearance as JSON: the signal, who cleared it (operator and officer), when and why."""
    return {
        "trade": c.trade_id,
        "code": c.code,
        "cleared_by": c.cleared_by,
        "cleared_by_name": names.get(c.cleared_by, c.cleared_by),
        "person": c.person,
        "on": c.on_day.isoformat(),
        "reason": c.reason,
    }


@signal_app.command("list")
def signal_list(
    trade_id: Annotated[str, typer.Argument(help="The trade.")],
    as_of: DateOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """A trade's open fraud signals (they gate issuance and financing) and the clearances
    recorded on it."""
    with platform() as p:
        day = business_day(p, as_of)
        cleared = evidence.signal_clearances(uow_factory=p.uow_factory, trade_id=trade_id)
        found = evidence.open_signals(uow_factory=p.uow_factory, trade_id=trade_id, as_of=day)
        names = _names(p)
    open_rows = [{"code": s.fraud.value, "message": s.message} for s in found]
    cleared_rows = [clearance_view(c, names) for c in cleared]
    data = {"trade": trade_id, "as_of": day.isoformat(), "open": open_rows,
            "cleared": cleared_rows}  # fmt: skip
    if json_out:
        emit_json(data)
        return
    for s in open_rows:
        console.print(f"[red]OPEN[/red] {s['code']}: {s['message']}")
    for c in cleared_rows:
        who = f"{c['person']} ({c['cleared_by_name']})" if c["person"] else c["cleared_by_name"]
        console.print(f"[green]CLEARED[/green] {c['code']} on {c['on']} by {who}: {c['reason']}")
    if not open_rows and not cleared_rows:
        console.print(f"no fraud signals on {trade_id}")


@signal_app.command("clear")
def signal_clear(
    trade_id: Annotated[str, typer.Argument(help="The trade.")],
    code: Annotated[str, typer.Argument(help="The signal's code (VOLUME_SPIKE ...).")],
    reason: Annotated[str, typer.Option(help="Why the signal is explained (recorded).")],
    by: Annotated[str, typer.Option(help="The officer who decides (recorded).")],
    as_org: Annotated[
        str | None,
        typer.Option(
            "--as",
            help="The operator organisation (default: the platform's).",
            callback=home_mode.as_org_callback,
        ),
    ] = None,
    as_of: DateOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Clear one open fraud signal of a trade: the operator, the officer, the day and the
    reason are recorded; the signal no longer gates issuance and financing."""
    with platform() as p:
        operator = (
            onboarding.org_id(uow_factory=p.uow_factory, ref=as_org)
            if as_org and as_org != "operator"
            else p.operator_id()
        )
        clearance = evidence.clear_signal(
            uow_factory=p.uow_factory,
            operator_id=operator,
            trade_id=trade_id,
            code=code,
            reason=reason,
            as_of=business_day(p, as_of),
            person=by,
        )
        view = clearance_view(clearance, _names(p))
    if json_out:
        emit_json(view)
    else:
        console.print(
            f"cleared {view['code']} on {view['trade']} by {view['person']} "
            f"({view['cleared_by_name']}): {view['reason']}"
        )
