"""``fourflow keys``: the master key that wraps every organisation's data key
(docs/security.md, Keys)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fourflow.bootstrap import create_master_key_file
from fourflow.domain.errors import FourFlowError
from fourflow.entrypoints.cli.common import JsonOpt, platform
from fourflow.entrypoints.cli.output import console, emit_json, err_console

keys_app = typer.Typer(help="The master key of the organisations' keys.", no_args_is_help=True)


@keys_app.command("new-master-key")
def new_master_key(
    out: Annotated[Path, typer.Option("--out", help="The key file to create (mode 0600).")],
) -> None:
    """Create a file holding a new random 256-bit master key (base64); it never overwrites."""
    try:
        key_id = create_master_key_file(out)
    except FourFlowError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    console.print(f"master key {key_id} written to {out}")


@keys_app.command("rotate-master")
def rotate_master(
    new_key_file: Annotated[
        Path, typer.Option("--new-key-file", help="The new master key (see new-master-key).")
    ],
    as_json: JsonOpt = False,
) -> None:
    """Rewrap every data key under the new master key in one atomic step (a failure changes
    nothing). The current key (FOURFLOW_MASTER_KEY or FOURFLOW_MASTER_KEY_FILE) then opens
    nothing: point FOURFLOW_MASTER_KEY_FILE at the new file before the next start."""
    with platform() as p:
        count, key_id = p.rotate_master_key(new_key_file)
    if as_json:
        emit_json({"rewrapped": count, "master_key_id": key_id})
        return
    console.print(
        f"rewrapped {count} data keys under master key {key_id}; set "
        f"FOURFLOW_MASTER_KEY_FILE={new_key_file} (and unset FOURFLOW_MASTER_KEY) for every "
        "FourFlow process before its next start"
    )


def register(app: typer.Typer) -> None:
    """Add ``fourflow keys`` to the CLI."""
    app.add_typer(keys_app, name="keys")
