"""``fourflow consortium up | down | status``: the development network of the members.

The same members description (``--members``, the file ``consortium init`` reads for the Besu
QBFT network; without it the demo's four members) gives a Clique proof-of-authority network of
go-ethereum v1.13.15 on 127.0.0.1: one signer node per member, each with its own key and data
directory, static peers, ``--nodiscover`` (docs/consortium.md). The commands are added to the
``consortium`` group by ``register``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from fourflow.bootstrap import CLIQUE_CHAIN_ID, CliqueNetwork, Platform, Settings, clique_network
from fourflow.domain.errors import FourFlowError
from fourflow.entrypoints.cli import home_mode
from fourflow.entrypoints.cli.common import platform
from fourflow.entrypoints.cli.output import console, emit_json, err_console
from fourflow.services import consortium, onboarding

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]
DirOpt = Annotated[
    Path | None,
    typer.Option("--dir", help="The network's directory (default: FOURFLOW_HOME/consortium)."),
]
GethOpt = Annotated[
    Path | None,
    typer.Option(
        "--geth",
        help="geth v1.13.15 (default: FOURFLOW_GETH_BIN, else the `make geth` build in "
        "~/.cache/fourflow).",
    ),
]
CONFIRMATIONS = 2  # what `up` suggests for FOURFLOW_CHAIN_CONFIRMATIONS
SETTLE_SECONDS = 20.0  # how long `record` waits for the nodes to count a node the same way


def register(group: typer.Typer) -> None:
    """Add ``up``, ``down`` and ``status`` to the ``consortium`` command group."""
    group.command("up")(up)
    group.command("down")(down)
    group.command("status")(status)
    group.command("join")(join)
    group.command("vote")(vote)
    group.command("record")(record)


def _fail(exc: BaseException) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {exc}")
    return typer.Exit(1)


def up(
    members: Annotated[
        Path | None,
        typer.Option(help="Members file (JSON or YAML), as for `consortium init`."),
    ] = None,
    directory: DirOpt = None,
    geth: GethOpt = None,
    chain_id: Annotated[int, typer.Option(help="Chain id of a new network.")] = CLIQUE_CHAIN_ID,
    period: Annotated[int, typer.Option(help="Seconds between blocks.", min=1)] = 1,
    json_out: JsonOpt = False,
) -> None:
    """Create (first time) and start the development network; print its endpoints."""
    net = clique_network(directory, geth=geth)
    try:
        created = not net.exists()
        if created:
            spec = consortium.load_members(members) if members else consortium.dev_members()
            net.create_for(spec, chain_id=chain_id, period=period)
        elif members is not None:
            err_console.print(
                f"a network already exists in {net.dir}: starting it ({members} is not read)"
            )
        started = net.up()
    except (FourFlowError, OSError) as exc:
        raise _fail(exc) from None
    urls = ",".join(m.url for m in started)
    data = {
        "directory": str(net.dir),
        "created": created,
        "chain_id": net.chain_id(),
        "chain_url": urls,
        "confirmations": CONFIRMATIONS,
        "members": [
            {"name": m.name, "uscc": m.uscc, "signer": m.address, "url": m.url, "pid": m.pid}
            for m in started
        ],
    }
    if json_out:
        emit_json(data)
        return
    verb = "created and started" if created else "started"
    console.print(f"{verb} a {len(started)}-signer Clique network in {net.dir}")
    for m in started:
        console.print(f"  {m.name:<24} {m.address}  {m.url}")
    console.print("point FourFlow at it:")
    console.print(f"  export FOURFLOW_CHAIN_URL={urls}", soft_wrap=True)
    console.print(f"  export FOURFLOW_CHAIN_CONFIRMATIONS={CONFIRMATIONS}")


def down(directory: DirOpt = None, geth: GethOpt = None, json_out: JsonOpt = False) -> None:
    """Stop every node of the development network (its data stays for the next `up`)."""
    net = clique_network(directory, geth=geth)
    if not net.exists():
        raise _fail(FourFlowError(f"no consortium network in {net.dir}"))
    try:
        stopped = net.down()
    except (FourFlowError, OSError) as exc:
        raise _fail(exc) from None
    if json_out:
        emit_json({"directory": str(net.dir), "stopped": stopped})
        return
    console.print(f"stopped {stopped} node(s) of the network in {net.dir}")


def status(directory: DirOpt = None, geth: GethOpt = None, json_out: JsonOpt = False) -> None:
    """Each node: running, head block and hash, peers, the signers it sees."""
    net = clique_network(directory, geth=geth)
    try:
        rows = net.status()
        members = {m.url: m for m in net.members()}
    except (FourFlowError, OSError) as exc:
        raise _fail(exc) from None
    data: list[dict[str, Any]] = [
        {
            "name": s.name,
            "uscc": members[s.url].uscc,
            "address": members[s.url].address,
            "url": s.url,
            "running": s.running,
            "block": s.block,
            "head": s.head,
            "peers": s.peers,
            "signers": list(s.signers),
            "signer": members[s.url].address.lower() in {a.lower() for a in s.signers},
        }
        for s in rows
    ]
    registry = _registry_agreement(net)
    if json_out:
        emit_json({"directory": str(net.dir), "nodes": data, "registry": registry})
        return
    table = Table(title=f"consortium network in {net.dir}")
    for column in ("member", "url", "running", "block", "head", "peers", "signers", "signs"):
        table.add_column(column)
    for row in data:
        table.add_row(
            row["name"],
            row["url"],
            "yes" if row["running"] else "no",
            "-" if row["block"] is None else str(row["block"]),
            (row["head"] or "-")[:12],
            "-" if row["peers"] is None else str(row["peers"]),
            str(len(row["signers"])) if row["running"] else "-",
            "yes" if row["signer"] else "no",
        )
    console.print(table)
    if registry is None:
        console.print("registry: not compared (no FourFlow platform on this network here)")
    elif registry["agrees"]:
        console.print(f"registry: agrees with the network ({len(registry['signers'])} signers)")
    else:
        console.print(
            "registry: DISAGREES with the network: signers not recorded "
            f"{registry['not_recorded'] or '-'}, recorded but not signing "
            f"{registry['not_signing'] or '-'}, recorded signers elsewhere {registry['elsewhere']}"
        )


def join(
    name: Annotated[str, typer.Option(help="The member whose node joins.")],
    uscc: Annotated[str, typer.Option(help="Its USCC.")] = "",
    directory: DirOpt = None,
    geth: GethOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """A new member's node joins the running network (a signer only once voted in)."""
    net = clique_network(directory, geth=geth)
    try:
        member = net.add_member(name, uscc=uscc)
        net.wait_peers(sum(m.joined for m in net.members()) - 1)
    except (FourFlowError, OSError) as exc:
        raise _fail(exc) from None
    data = {"name": member.name, "uscc": member.uscc, "address": member.address,
            "enode": member.enode, "url": member.url}  # fmt: skip
    if json_out:
        emit_json(data)
        return
    console.print(f"{member.name}'s node joined: {member.url}, signer address {member.address}")
    console.print(f"make it a signer: fourflow consortium vote {member.address} --add")


def vote(
    address: Annotated[str, typer.Argument(help="The node's signer address (0x...).")],
    add: Annotated[bool, typer.Option("--add/--remove", help="Vote it in or out.")] = True,
    by: Annotated[
        str | None,
        typer.Option(help="Voting members (names or node1, node2...; default: every signer)."),
    ] = None,
    wait: Annotated[float, typer.Option(help="Seconds to wait for the decision (0: none).")] = 30,
    directory: DirOpt = None,
    geth: GethOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Signers vote a node in or out (``clique_propose``); a majority of signers decides."""
    net = clique_network(directory, geth=geth)
    wanted = address.lower()
    try:
        signers = net.signers()
        members = net.members()
        if by:
            voters = [net.member(v.strip()).slug for v in by.split(",") if v.strip()]
        else:
            voters = [m.slug for m in members if m.address.lower() in signers]
        if not voters:
            raise FourFlowError("no voters: name signers with --by")
        net.propose(address, add, voters)
        decided = False
        deadline = time.monotonic() + wait
        while wait > 0:
            decided = (wanted in net.signers()) == add
            if decided or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        if decided:
            net.discard(address, voters)
    except (FourFlowError, OSError) as exc:
        raise _fail(exc) from None
    data = {"address": address, "add": add, "voters": voters, "signers": len(signers),
            "decided": decided, "signer": wanted in net.signers()}  # fmt: skip
    if wait > 0 and not decided:
        heads = ", ".join(
            f"{s.name} {'down' if s.block is None else f'at block {s.block}'}" for s in net.status()
        )
        data["heads"] = heads
        err_console.print(
            f"[red]error:[/red] not decided within {wait:.0f} s: {len(voters)} of "
            f"{len(signers)} signers voted (more than half must); nodes: {heads}"
        )
        if json_out:
            emit_json(data)
        raise typer.Exit(1)
    if json_out:
        emit_json(data)
        return
    verb = "voted in" if add else "voted out"
    state = f"{verb} by {len(voters)} of {len(signers)} signers" if decided else "votes cast"
    console.print(f"{address}: {state}")


def _registry_agreement(net: CliqueNetwork) -> dict[str, Any] | None:
    """The network's signers beside FourFlow's Registry, when this home has a platform on
    this network (FOURFLOW_CHAIN_URL set, contracts deployed, same chain id); else None."""
    settings = Settings.from_env()
    if not settings.chain_url:
        return None
    sqlite = settings.database_url.partition(":///")
    if sqlite[0].startswith("sqlite") and not Path(sqlite[2]).is_file():
        return None  # no platform in this home: opening one would create it
    try:
        views = net.views()
        seen = next((v for v in views if v is not None), None)
        if seen is None:
            return None
        with Platform(settings) as p:
            ledger = p.ledger
            if not ledger.contracts or ledger.chain_id != net.chain_id():
                return None
            nodes = sorted({*net.node_addresses(), *seen[0]})
            recorded, count = ledger.recorded_nodes(nodes)
    except (FourFlowError, OSError):
        return None
    agreement = consortium.compare_signers(seen[0], recorded, count)
    return {
        "agrees": agreement.agrees,
        "signers": sorted(seen[0]),
        "not_recorded": list(agreement.not_recorded),
        "not_signing": list(agreement.not_signing),
        "elsewhere": agreement.elsewhere,
        "members": {n: m for n, (m, _) in recorded.items() if m},
    }


def record_decided_node(
    p: Platform, net: CliqueNetwork, org_id: str, node: str | None, as_org: str | None = None
) -> dict[str, Any]:
    """Record on the Registry the node organisation ``org_id`` runs and the network's decided
    signer vote on it (``consortium.record_decided_node``, which the worker runs too).
    Governed: ``as_org`` (a councillor) proposes."""
    actor = onboarding.org_id(uow_factory=p.uow_factory, ref=as_org) if as_org else None
    return consortium.record_decided_node(
        uow_factory=p.uow_factory, registry=p.require_contracts(), network=net,
        operator_id=p.operator_id(), org_id=org_id, node=node, as_org_id=actor,
        settle_s=SETTLE_SECONDS,
    )  # fmt: skip


def record(
    org: Annotated[str, typer.Argument(help="The member organisation (id, USCC or name).")],
    node: Annotated[
        str | None,
        typer.Option(help="Its node's address (default: the node the Registry records)."),
    ] = None,
    as_org: Annotated[
        str | None,
        typer.Option(
            "--as",
            help="Governed Registry: the councillor proposing the record (demo and simulation "
            "homes).",
            callback=home_mode.as_org_callback,
        ),
    ] = None,
    directory: DirOpt = None,
    geth: GethOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Record on the Registry a member's node and the signers' decided vote on it.

    Refused when the network has not decided (a vote pending, nodes not agreeing) or the
    node is not on the network; nothing is sent when the Registry already says so.
    """
    net = clique_network(directory, geth=geth)
    with platform() as p:
        org_id = onboarding.org_id(uow_factory=p.uow_factory, ref=org)
        try:
            data = record_decided_node(p, net, org_id, node, as_org)
        except (FourFlowError, OSError) as exc:
            raise _fail(exc) from None
    if json_out:
        emit_json(data)
        return
    role = "a signer" if data["signer"] else "not a signer"
    if data.get("already"):
        console.print(f"already recorded: {data['node']} of {org} is {role}")
    elif "proposal" in data:
        console.print(f"proposal {data['proposal']}: record {data['node']} of {org} as {role}")
    else:
        console.print(f"recorded: {data['node']} of {org} is {role} ({data['tx_hash']})")


def check_node_enode(enode: str) -> CliqueNetwork:
    """Before a member is admitted with its node: the enode URL is well formed and the
    development network exists here (otherwise FourFlowError, nothing changed)."""
    net = clique_network(None)
    consortium.check_admitted_node(net, enode)
    return net


def connect_admitted_node(
    p: Platform, net: CliqueNetwork, org_id: str, enode: str
) -> dict[str, Any]:
    """The member ``org_id`` was admitted with its node ``enode``: it joins the network and the
    Registry records it (``consortium.connect_admitted_node``, which the API's admission runs
    too)."""
    data = consortium.connect_admitted_node(
        uow_factory=p.uow_factory, registry=p.require_contracts(), network=net,
        operator_id=p.operator_id(), org_id=org_id, enode=enode,
    )  # fmt: skip
    if "warning" in data:
        err_console.print(f"[yellow]warning:[/yellow] {data.pop('warning')}")
    return data
