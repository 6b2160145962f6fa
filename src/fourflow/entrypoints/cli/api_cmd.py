"""``fourflow serve`` and the operator's ``fourflow user add`` (docs/api.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from fourflow.bootstrap import Settings
from fourflow.domain.errors import DomainValueError
from fourflow.domain.identity import UserRole
from fourflow.entrypoints.cli.common import JsonOpt, platform
from fourflow.entrypoints.cli.output import console, emit_json
from fourflow.services import identity, onboarding

user_app = typer.Typer(help="Platform users (the operator's side).", no_args_is_help=True)


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="API processes sharing the store and the port.")
    ] = 1,
    worker: Annotated[
        bool, typer.Option("--worker/--no-worker", help="Run `fourflow worker` beside the API.")
    ] = True,
    worker_interval: Annotated[
        float, typer.Option(min=0.1, max=86_400.0, help="Seconds between the worker's passes.")
    ] = 30.0,
    worker_backoff: Annotated[
        float,
        typer.Option(
            min=0.1,
            max=3_600.0,
            help="Seconds before restarting a worker that exited (doubled at each exit in a "
            "row, at most 60 s; given up after 5 exits in 5 minutes: docs/api.md).",
        ),
    ] = 1.0,
) -> None:
    """Serve the HTTP API (OpenAPI at /api/v1/openapi.json) on an initialised platform, with
    the worker (relay, settle-due, margin watch) beside it unless --no-worker."""
    from fourflow.entrypoints.api.server import serve as run  # noqa: PLC0415 (uvicorn only when serving)

    run(
        host=host, port=port, workers=workers, worker=worker, worker_interval_s=worker_interval,
        worker_backoff_s=worker_backoff,
    )  # fmt: skip


@user_app.command("add")
def user_add(
    org: Annotated[str, typer.Option(help="The organisation (USCC or id; `operator`).")],
    email: Annotated[str, typer.Option(help="The user's e-mail address.")],
    name: Annotated[str, typer.Option(help="The user's name.")],
    role: Annotated[UserRole, typer.Option(help="The user's role.")] = UserRole.ADMIN,
    json_out: JsonOpt = False,
) -> None:
    """Create a user directly: the first admin of an organisation onboarded with `org add`, or
    the operator's own. The password is prompted, or read from FOURFLOW_NEW_USER_PASSWORD."""
    password = Settings.from_env().new_user_password or typer.prompt(
        "password", hide_input=True, confirmation_prompt=True
    )
    with platform() as p:
        org_id = (
            p.operator_id()
            if org == "operator"
            else onboarding.org_id(uow_factory=p.uow_factory, ref=org)
        )
        if not password:
            raise DomainValueError("give a password")
        new = identity.add_user(
            p.identities, org_id=org_id, email=email, name=name, role=role, password=password
        )
    data = {
        "user_id": new.user.id,
        "org_id": org_id,
        "email": new.user.email,
        "role": new.user.role.value,
        "totp_uri": new.totp_uri,
    }
    if json_out:
        emit_json(data)
        return
    console.print(f"user {new.user.email} ({new.user.role.value}) of {org_id}: {new.user.id}")
    if new.totp_uri:
        console.print(f"enrol the second factor (shown once): {new.totp_uri}")


def openapi(
    out: Annotated[
        Path | None, typer.Option(help="Write it to this file (default: standard output).")
    ] = None,
) -> None:
    """Print the API's OpenAPI document (what /api/v1/openapi.json serves) without opening a
    platform: the web app's typed client is generated from it (docs/web.md)."""
    from fourflow.entrypoints.api.app import openapi_document  # noqa: PLC0415 (FastAPI only here)

    text = json.dumps(openapi_document(), ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    if out is None:
        sys.stdout.write(text)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")


def register(app: typer.Typer) -> None:
    """Add ``serve``, ``openapi`` and ``user`` to ``fourflow``."""
    app.command("serve")(serve)
    app.command("openapi")(openapi)
    app.add_typer(user_app, name="user")
