"""`fourflow org account`: a member's registered settlement account (its account bank).

The account bank of a debtor's items is a registered fact, set and changed only by the member
itself (its own transaction on the chain: ``Registry.set_account``); the Issuer names no other
bank for items issued afterwards, and only that bank's payment attestations count.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from fourflow.domain.errors import ConflictError
from fourflow.entrypoints.cli.common import JsonOpt, platform, relay_now
from fourflow.entrypoints.cli.items_cmd import AsOrg
from fourflow.entrypoints.cli.output import console, emit_json
from fourflow.services import accounts, onboarding

account_app = typer.Typer(
    help="A member's settlement account and the bank that holds it.", no_args_is_help=True
)


def _row(p: Any, org_id: str) -> dict[str, Any]:
    with p.uow_factory() as uow:
        org = uow.organisations.get(org_id)
        registered = accounts.registered_account(uow, org_id)
        try:
            bank = accounts.account_bank(uow, org) if org is not None else None
        except ConflictError:
            bank = None
    return {
        "org_id": org_id,
        "registered": registered is not None,
        "account": registered.account if registered else None,
        "bank_id": bank.id if bank else None,
        "bank": bank.name if bank else None,
        "op_id": registered.op_id if registered else None,
    }


@account_app.command("set")
def account_set(
    org: Annotated[str, typer.Argument(help="The member whose account it is (USCC or id).")],
    bank: Annotated[str, typer.Option(help="The bank that holds the account (USCC or id).")],
    account: Annotated[str, typer.Option(help="The settlement account number.")],
    as_org: AsOrg,
    json_out: JsonOpt = False,
) -> None:
    """Register (or change) a member's settlement account; only the member itself may."""
    with platform() as p:
        org_id = onboarding.org_id(uow_factory=p.uow_factory, ref=org)
        accounts.register_account(
            uow_factory=p.uow_factory,
            org_id=org_id,
            bank_id=onboarding.org_id(uow_factory=p.uow_factory, ref=bank),
            account=account,
            actor_id=onboarding.org_id(uow_factory=p.uow_factory, ref=as_org),
        )
        relay_now(p)
        row = _row(p, org_id)
    if json_out:
        emit_json(row)
    else:
        console.print(f"{org}: settlement account {row['account']} at {row['bank']}")


@account_app.command("show")
def account_show(
    org: Annotated[str, typer.Argument(help="The member (USCC or id).")],
    json_out: JsonOpt = False,
) -> None:
    """A member's settlement account and account bank (registered, or inferred from the BIN)."""
    with platform() as p:
        row = _row(p, onboarding.org_id(uow_factory=p.uow_factory, ref=org))
    if json_out:
        emit_json(row)
    else:
        how = "registered" if row["registered"] else "inferred from the account number"
        console.print(f"{org}: account bank {row['bank'] or 'unknown'} ({how})")
