"""``fourflow standards status|fetch|list``: the official schemas and rule artefacts the
validators read, found through FOURFLOW_STANDARDS_DIR (docs/standards.md)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from fourflow.bootstrap import (
    Settings,
    standards_fetch_into,
    standards_manifest,
    standards_status,
)
from fourflow.domain.errors import FourFlowError
from fourflow.entrypoints.cli.common import JsonOpt
from fourflow.entrypoints.cli.output import console, emit_json, err_console

standards_app = typer.Typer(
    help="Official schemas and rule artefacts (UBL, CII, ISO 20022, EPCIS, EN 16931 ...).",
    no_args_is_help=True,
)


def _fail(exc: FourFlowError) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {exc}")
    return typer.Exit(1)


@standards_app.command("list")
def list_artefacts(json_out: JsonOpt = False) -> None:
    """The pinned artefacts: name, release, size, what reads them, where they come from."""
    rows: list[dict[str, Any]] = [
        {
            "name": a.name,
            "title": a.title,
            "version": a.version,
            "directory": a.directory,
            "files": len(a.files),
            "bytes": a.size,
            "used_by": list(a.used_by),
            "license": a.license,
            "origin": list(a.origin),
        }
        for a in standards_manifest()
    ]
    if json_out:
        emit_json(rows)
        return
    table = Table("name", "release", "files", "directory", "used by")
    for r in rows:
        table.add_row(
            r["name"], r["version"], str(r["files"]), r["directory"], "; ".join(r["used_by"])
        )
    console.print(table)


@standards_app.command("status")
def status(
    verify: Annotated[
        bool, typer.Option("--verify", help="Also check every file's SHA-256 against its pin.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Each artefact present, missing, incomplete or altered in the standards directory.

    Exit code 1 when any is not present (with --verify: or altered)."""
    settings = Settings.from_env()
    try:
        root, states = standards_status(settings, verify=verify)
    except FourFlowError as exc:
        raise _fail(exc) from None
    rows: list[dict[str, Any]] = [
        {
            "name": s.artefact.name,
            "state": s.state,
            "directory": s.artefact.directory,
            "files": len(s.artefact.files),
            "missing": list(s.missing),
            "altered": list(s.altered),
        }
        for s in states
    ]
    ok = all(r["state"] == "present" for r in rows)
    if json_out:
        emit_json({"directory": str(root) if root else None, "complete": ok, "artefacts": rows})
    else:
        console.print(f"Standards directory: {root if root else '(none found)'}")
        table = Table("name", "state", "files", "directory")
        for r in rows:
            colour = "green" if r["state"] == "present" else "red"
            shown = f"{r['files'] - len(r['missing'])}/{r['files']}"
            table.add_row(r["name"], f"[{colour}]{r['state']}[/{colour}]", shown, r["directory"])
        console.print(table)
        if not ok:
            console.print("Run `fourflow standards fetch` to download what is missing.")
    if not ok:
        raise typer.Exit(1)


@standards_app.command("fetch")
def fetch(
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Only this artefact; repeatable.")
    ] = None,
    mirror: Annotated[
        str | None,
        typer.Option(
            help="A copy laid out like a standards directory (path, file:// or http(s):// URL) "
            "to download from instead of the official addresses."
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option(min=1, max=600, help="Seconds each download may wait.")
    ] = 30.0,
    force: Annotated[
        bool, typer.Option("--force", help="Download again even what is present and verified.")
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Download the artefacts from their official addresses into FOURFLOW_STANDARDS_DIR (else
    FOURFLOW_HOME/standards), each file checked against its pinned SHA-256 before anything is
    installed: one mismatch refuses the fetch and keeps nothing."""
    settings = Settings.from_env()
    names = set(only or [])
    total = sum(a.size for a in standards_manifest() if not names or a.name in names)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err_console,
        disable=json_out or not err_console.is_terminal,
    ) as bar:
        task = bar.add_task("standards", total=total)

        def advance(name: str, path: str, size: int) -> None:
            bar.update(task, advance=size, description=name)

        try:
            result = standards_fetch_into(
                settings,
                only=only or (),
                mirror=mirror,
                timeout=timeout,
                force=force,
                progress=advance,
            )
        except FourFlowError as exc:
            raise _fail(exc) from None
    figures = {
        "directory": str(result.target),
        "installed": result.installed,
        "already_present": result.already,
        "bytes": result.bytes,
    }
    if json_out:
        emit_json(figures)
        return
    for name in result.installed:
        console.print(f"installed {name}")
    for name in result.already:
        console.print(f"{name} already present and verified")
    console.print(f"Standards directory: {result.target} ({result.bytes:,} bytes downloaded)")


def register(app: typer.Typer) -> None:
    """Add ``fourflow standards`` to the root command."""
    app.add_typer(standards_app, name="standards")
