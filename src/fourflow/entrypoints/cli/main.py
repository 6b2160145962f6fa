"""The ``fourflow`` command line: a thin shell over the services (docs/cli.md)."""

from __future__ import annotations

import datetime as dt
import gc
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape as rich_escape
from rich.table import Table

from fourflow.bootstrap import Platform, Settings, configure_standards
from fourflow.domain.errors import DomainValueError
from fourflow.domain.identifiers import IdScheme, validate_uscc
from fourflow.domain.parties import Organisation, Role
from fourflow.entrypoints.cli import (
    api_cmd,
    consent_cmd,
    consortium_cmd,
    documents_cmd,
    evidence_cmd,
    finance_cmd,
    home_mode,
    items_cmd,
    keys_cmd,
    platform_cmd,
    settlement_cmd,
    simulate_cmd,
    standards_cmd,
    verify_cmd,
    webhooks_cmd,
    worker_cmd,
)
from fourflow.entrypoints.cli.accounts_cmd import account_app
from fourflow.entrypoints.cli.common import JsonOpt, configure_logging, platform, relay_now
from fourflow.entrypoints.cli.governance_cmd import governance_app
from fourflow.entrypoints.cli.output import console, emit_json, err_console
from fourflow.entrypoints.cli.render import regulator_table, render_demo
from fourflow.entrypoints.cli.risk_cmd import risk_app
from fourflow.services import audit as audit_service
from fourflow.services import identity, onboarding, relay, trail_anchor
from fourflow.services.demo import DemoContext, run_demo
from fourflow.services.supervision import regulator_summary

app = typer.Typer(
    name="fourflow",
    help="FourFlow: trade-credit supply-chain finance on a consortium blockchain.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
org_app = typer.Typer(help="Consortium members.", no_args_is_help=True)
chain_app = typer.Typer(help="The chain node and contracts.", no_args_is_help=True)
node_app = typer.Typer(help="FourFlow's own local chain node.", no_args_is_help=True)
app.add_typer(org_app, name="org")
org_app.add_typer(account_app, name="account")
app.add_typer(chain_app, name="chain")
chain_app.add_typer(node_app, name="node")


@app.callback()
def _root() -> None:
    configure_logging()
    configure_standards(Settings.from_env())  # FOURFLOW_STANDARDS_DIR for every command


def _org_row(org: Organisation) -> dict[str, Any]:
    return {
        "id": org.id,
        "name": org.name,
        "uscc": org.uscc,
        "roles": [r.value for r in org.roles],
        "identifiers": [str(i) for i in org.identifiers],
        "accounts": list(org.accounts),
        "address": org.chain_address,
        "profile": dict(org.profile),
    }


@app.command()
def init(
    operator_name: Annotated[str | None, typer.Option(help="Operator's legal name.")] = None,
    operator_uscc: Annotated[str | None, typer.Option(help="Operator's USCC.")] = None,
    demo_home: Annotated[
        bool, typer.Option("--demo", help="Create a demo home (where --as ORG is allowed).")
    ] = False,
    simulation_home: Annotated[
        bool,
        typer.Option("--simulation", help="Create a simulation home (where --as ORG is allowed)."),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Create the store, the operator's account and deploy the contracts (idempotent).

    A platform home by default: the CLI acts as the operator, every other party through the
    API. ``--demo`` or ``--simulation`` creates a home where ``--as ORG`` acts as anyone."""
    with platform() as p:
        if demo_home or simulation_home:
            mode = home_mode.HomeMode.DEMO if demo_home else home_mode.HomeMode.SIMULATION
            home_mode.mark(p.settings.home, mode, fresh=p.operator() is None)
        kwargs: dict[str, Any] = {}
        if operator_name:
            kwargs["operator_name"] = operator_name
        addresses = p.initialise(operator_uscc=operator_uscc, **kwargs)
        operator = p.operator()
        assert operator is not None
        result = {
            "home": str(p.settings.home),
            "database": p.settings.describe_database(),
            "chain_url": p.chain_url(),
            "operator": _org_row(operator),
            "contracts": addresses,
        }
    if json_out:
        emit_json(result)
        return
    console.print(f"FourFlow home [bold]{result['home']}[/bold] is ready.")
    console.print(f"Operator: {operator.name} ({operator.uscc}) {operator.chain_address}")
    for name, address in addresses.items():
        console.print(f"  {name:<10} {address}")


@org_app.command("add")
def org_add(
    name: Annotated[str, typer.Option(help="Legal name.")],
    uscc: Annotated[str, typer.Option(help="Unified Social Credit Code (GB 32100-2015).")],
    role: Annotated[list[Role], typer.Option(help="Role; repeat for several.")],
    gln: Annotated[list[str] | None, typer.Option(help="GS1 GLN; repeatable.")] = None,
    lei: Annotated[list[str] | None, typer.Option(help="LEI; repeatable.")] = None,
    vat: Annotated[list[str] | None, typer.Option(help="VAT id; repeatable.")] = None,
    bic: Annotated[list[str] | None, typer.Option(help="BIC; repeatable.")] = None,
    account: Annotated[list[str] | None, typer.Option(help="Bank account; repeatable.")] = None,
    sm2_key: Annotated[
        list[str] | None, typer.Option(help="SM2 public key it signs documents with; repeatable.")
    ] = None,
    address: Annotated[str | None, typer.Option(help="Registered address.")] = None,
    legal_representative: Annotated[str | None, typer.Option(help="Legal representative.")] = None,
    phone: Annotated[str | None, typer.Option(help="Registered phone number.")] = None,
    industry: Annotated[str | None, typer.Option(help="Industry (e.g. GB/T 4754 code).")] = None,
    own_key_address: Annotated[
        str | None,
        typer.Option(
            help="It holds its own key at this address: the platform keeps no key for it and "
            "never signs for it (it sends signatures over the API). Needs --own-key-proof."
        ),
    ] = None,
    own_key_proof: Annotated[
        str | None,
        typer.Option(
            help="Its EIP-191 (personal_sign) signature, made with that key, of 'FourFlow "
            "registration: <USCC> holds the key of <address in lower case>' (the text the "
            "API's registration signs)."
        ),
    ] = None,
    node_enode: Annotated[
        str | None,
        typer.Option(
            help="It runs a node of the consortium network (enode://...): admitted, the node "
            "joins the development network as a static peer and the Registry records it."
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Onboard an organisation with its own chain account and admit it to the registry."""
    identifiers = [
        (scheme.value, value)
        for scheme, values in (
            (IdScheme.GLN, gln),
            (IdScheme.LEI, lei),
            (IdScheme.VAT, vat),
            (IdScheme.BIC, bic),
            (IdScheme.SM2_KEY, sm2_key),
        )
        for value in values or []
    ]
    with platform() as p:
        p.operator_id()
        if bool(own_key_proof) != bool(own_key_address):
            raise DomainValueError(
                "--own-key-address needs --own-key-proof: the EIP-191 signature, with that key, "
                f"of {identity.own_key_message(uscc.strip().upper(), own_key_address or '')!r}"
                if own_key_address
                else "--own-key-proof proves the key of --own-key-address: give both"
            )
        own = identity.proved_address(  # refused without a proof by that key
            p.identities, validate_uscc(uscc), own_key_address, own_key_proof
        )
        net = consortium_cmd.check_node_enode(node_enode) if node_enode else None
        org = onboarding.onboard(
            uow_factory=p.uow_factory,
            keystore=p.keystore,
            name=name,
            uscc=uscc,
            roles=role,
            identifiers=identifiers,
            accounts=account or [],
            profile={
                "address": address or "",
                "legal_representative": legal_representative or "",
                "phone": phone or "",
                "industry": industry or "",
            },
            own_address=own,
        )
        relay_now(p)
        node = None
        if net is not None and node_enode:
            node = consortium_cmd.connect_admitted_node(p, net, org.id, node_enode)
    if json_out:
        emit_json({**_org_row(org), **({"node": node} if node else {})})
    else:
        console.print(
            f"Onboarded {org.name} ({org.uscc}) as {org.id}, chain account {org.chain_address}"
        )
        if node:
            console.print(f"its node {node['node']} joined the network (recorded on the Registry)")


@org_app.command("import")
def org_import(
    path: Annotated[
        Path, typer.Argument(help="A JSON list of organisations (parties.json).", exists=True)
    ],
    json_out: JsonOpt = False,
) -> None:
    """Onboard many organisations from a file (e.g. the simulator's parties.json).

    Each entry: name, uscc, roles, and optionally accounts, gln, lei, vat, profile. Entries
    already onboarded (same USCC and name) are kept as they are.
    """
    entries = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(entries, list):
        raise typer.BadParameter(f"{path}: expected a JSON list of organisations")
    with platform() as p:
        p.operator_id()
        onboarded = []
        for n, entry in enumerate(entries):
            identifiers = [
                (scheme, str(entry[scheme]))
                for scheme in ("gln", "lei", "vat")
                if entry.get(scheme)
            ]
            try:
                org = onboarding.onboard(
                    uow_factory=p.uow_factory,
                    keystore=p.keystore,
                    name=entry["name"],
                    uscc=entry["uscc"],
                    roles=[Role(r) for r in entry["roles"]],
                    identifiers=identifiers,
                    accounts=entry.get("accounts", []),
                    profile=entry.get("profile") or {},
                )
            except (KeyError, ValueError) as exc:
                raise typer.BadParameter(f"{path}: entry {n}: {exc}") from None
            onboarded.append(org)
        relay_now(p)
    if json_out:
        emit_json([_org_row(o) for o in onboarded])
    else:
        console.print(f"{len(onboarded)} organisations onboarded from {path}")


@org_app.command("list")
def org_list(json_out: JsonOpt = False) -> None:
    """List the consortium's organisations."""
    with platform() as p, p.uow_factory() as uow:
        orgs = uow.organisations.list()
    if json_out:
        emit_json([_org_row(o) for o in orgs])
        return
    table = Table("name", "USCC", "roles", "chain account", title="Organisations")
    for org in orgs:
        table.add_row(
            org.name, org.uscc, ", ".join(r.value for r in org.roles), org.chain_address or ""
        )
    console.print(table)


def _status(p: Platform) -> dict[str, Any]:
    with p.uow_factory() as uow:
        counts = {
            "organisations": len(uow.organisations.list()),
            "documents": uow.documents.count(),
            "trades": len(uow.trades.list()),
            "debt_items": len(uow.items.list()),
            "financings": len(uow.financings.list()),
            "pending_chain_ops": len(uow.outbox.pending(100_000)),
        }
    return {
        "home": str(p.settings.home),
        "database": p.settings.describe_database(),
        "initialised": p.operator() is not None,
        "chain_url": p.settings.chain_url or "local node (started on demand)",
        "counts": counts,
    }


@app.command()
def status(json_out: JsonOpt = False) -> None:
    """Show where FourFlow keeps its state and what it holds."""
    with platform() as p:
        result = _status(p)
    if json_out:
        emit_json(result)
        return
    console.print(f"home      {result['home']}")
    console.print(f"database  {result['database']}")
    console.print(f"chain     {result['chain_url']}")
    console.print(f"ready     {'yes' if result['initialised'] else 'no: run `fourflow init`'}")
    for key, value in result["counts"].items():
        console.print(f"  {key:<18} {value}")


@chain_app.command("info")
def chain_info(json_out: JsonOpt = False) -> None:
    """Show the chain node and FourFlow's contracts."""
    with platform() as p:
        info = p.ledger.info()
    result = {
        "url": info.url,
        "chain_id": info.chain_id,
        "block_number": info.block_number,
        "client_version": info.client_version,
        "managed_node": info.managed_node,
        "contracts": dict(info.contracts),
    }
    if json_out:
        emit_json(result)
        return
    for key, value in result.items():
        console.print(f"{key:<15} {value}")


@node_app.command("start")
def node_start() -> None:
    """Start FourFlow's local node and leave it running (until `fourflow chain node stop`)."""
    with platform() as p:
        url = p.start_node()
    console.print(f"local node running at {url}")


@node_app.command("stop")
def node_stop() -> None:
    """Stop FourFlow's local node (it saves its state first)."""
    with platform() as p:
        stopped = p.stop_node()
    console.print("stopped" if stopped else "no local node was running")


@app.command("relay")
def relay_cmd(json_out: JsonOpt = False) -> None:
    """Apply queued chain operations (normally done by every command that queues them)."""
    with platform() as p, p.chain_writer():  # one relay at a time beside API and worker
        result = relay.relay(  # on PostgreSQL one relay per sender beside the workers
            uow_factory=p.uow_factory, ledger=p.require_contracts(), claims=p.relay_claims()
        )
    data = {"applied": result.applied, "recovered": result.recovered, "failed": list(result.failed)}
    if json_out:
        emit_json(data)
    else:
        console.print(data)


@app.command()
def audit(json_out: JsonOpt = False) -> None:
    """Prove the store, its documents and the chain agree, and the API's audit trail is
    unbroken; exit 1 on any finding.

    Names every discrepancy with its record (kind and id), field, store and chain value;
    operations pending or failed and documents not yet on the chain are findings too.
    """
    with platform() as p:
        report = audit_service.audit(
            uow_factory=p.uow_factory,
            ledger=p.require_contracts(),
            reader_for=p.stored_reader_for,
        )
        trail = trail_anchor.verify(  # the hash chain, and the heads anchored on chain daily
            ids=p.identities, uow_factory=p.uow_factory, ledger=p.require_contracts()
        )
    data = report.as_dict()
    data["api_audit_trail"] = {k: v for k, v in trail.as_dict().items() if k != "ok"}
    data["ok"] = report.ok and trail.ok
    if json_out:
        emit_json(data)
    else:
        verdict = "[green]store and chain agree[/green]" if report.ok else "[red]DISAGREE[/red]"
        console.print(verdict)
        for key, value in data.items():
            if key not in ("ok", "discrepancies"):
                console.print(f"  {key:<18} {value}")
        for found in report.discrepancies:
            console.print(f"  [red]-[/red] {rich_escape(str(found))}")
        for problem in trail.problems:
            console.print(f"  [red]- API audit trail:[/red] {rich_escape(problem)}")
    if not data["ok"]:
        raise typer.Exit(1)


@app.command()
def regulator(
    as_of: Annotated[str | None, typer.Option(help="Date of the figures (YYYY-MM-DD).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """The regulator's summary: counts and amounts by scenario, and payment on its day
    (due today, paid on time and late, overdue by age, defaulted, routes locked and changed,
    margin calls, payments that bypassed the locked route: ``all`` -> ``settlement``)."""
    with platform() as p:
        day = dt.date.fromisoformat(as_of) if as_of else p.clock.today()
        summary = regulator_summary(uow_factory=p.uow_factory, as_of=day)
    data = {k: v.as_dict() for k, v in sorted(summary.items())}
    if json_out:
        emit_json(data)
    else:
        console.print(regulator_table(data))
        if (settled := summary["all"].settlement) is not None:
            console.print(settlement_cmd.settlement_table(settled))


@app.command()
def demo(json_out: JsonOpt = False) -> None:
    """Run the whole main path on a small three-tier network and show what happened."""

    with platform() as p:
        if home_mode.mode_of(p.settings.home) is None:  # the demo acts as every party
            home_mode.mark(p.settings.home, home_mode.HomeMode.DEMO, fresh=p.operator() is None)
        steps: list[str] = []

        def progress(message: str) -> None:
            steps.append(message)
            if not json_out:
                err_console.print(f"[dim]· {message}[/dim]")

        p.ensure_initialised()
        relay.relay(uow_factory=p.uow_factory, ledger=p.require_contracts())
        ctx = DemoContext(
            uow_factory=p.uow_factory,
            keystore=p.keystore,
            ledger=p.require_contracts(),
            clock=p.clock,
            reader_for=p.reader_for,
            operator_id=p.operator_id(),
            cold_start=p.cold_start,
            progress=progress,
            govern=p.govern,  # the founding phase ends once the demo's members are in
        )
        report = run_demo(ctx, today=p.clock.today())
    if json_out:
        emit_json(report)
    else:
        render_demo(report)


documents_cmd.register(app)
items_cmd.register(app)
settlement_cmd.register(app)
simulate_cmd.register(app)
verify_cmd.register(app)
app.add_typer(risk_app, name="risk")
app.add_typer(governance_app, name="governance")
finance_cmd.register(app, risk_app)
evidence_cmd.register(app)
consent_cmd.register(app)
platform_cmd.register(app)
api_cmd.register(app)
worker_cmd.register(app)
webhooks_cmd.register(app)
keys_cmd.register(app)
standards_cmd.register(app)


def main() -> None:
    """Entry point of the ``fourflow`` command and of ``python -m fourflow``."""
    # Everything alive after start-up (modules, classes, constants) lives as long as the
    # command: keep it out of the garbage collector's generations so that every collection
    # afterwards is cheaper. (Not in the Typer callback: tests invoke `app` in-process.)
    gc.freeze()
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
