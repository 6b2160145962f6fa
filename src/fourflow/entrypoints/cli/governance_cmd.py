"""`fourflow governance`: end the founding phase and decide by the consortium's council.

After `hand-over`, the Registry and the settlement token belong to the Governance contract:
admitting a member (for instance a bank that ran `org add --role bank`) is a councillor's
proposal that runs once a majority of the council backs it and its timelock has passed.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from fourflow.entrypoints.cli import home_mode
from fourflow.entrypoints.cli.common import JsonOpt, platform
from fourflow.entrypoints.cli.output import console, emit_json
from fourflow.services import governance, onboarding

governance_app = typer.Typer(
    help="The consortium council: hand-over, proposals, votes.", no_args_is_help=True
)

AsOrg = Annotated[
    str,
    typer.Option(
        "--as",
        help="The councillor acting (USCC, name or id; demo and simulation homes).",
        callback=home_mode.as_org_callback,
    ),
]


def _emit(result: dict[str, Any], text: str, json_out: bool) -> None:
    if json_out:
        emit_json(result)
    else:
        console.print(text)


@governance_app.command("hand-over")
def hand_over(
    council: Annotated[list[str], typer.Option(help="A councillor; repeat for each.")],
    threshold: Annotated[int, typer.Option(help="Votes a proposal needs (a majority).")],
    delay: Annotated[int, typer.Option(help="Timelock in seconds.")] = 86_400,
    json_out: JsonOpt = False,
) -> None:
    """End the founding phase: Governance owns the Registry and the settlement token."""
    with platform() as p:
        ledger = p.require_contracts()
        ids = [onboarding.org_id(uow_factory=p.uow_factory, ref=c) for c in council]
        address = ledger.hand_over(p.operator_id(), ids, threshold, delay)
        p.save_contracts(ledger)
    result = {"governance": address, "council": ids, "threshold": threshold, "delay": delay}
    text = f"governance at {address}: {threshold} of {len(ids)}, timelock {delay} s"
    _emit(result, text, json_out)


@governance_app.command("propose-admit")
def propose_admit(org: str, as_org: AsOrg, json_out: JsonOpt = False) -> None:
    """Propose admitting an onboarded organisation with the roles it registered."""
    with platform() as p:
        org_id = onboarding.org_id(uow_factory=p.uow_factory, ref=org)
        actor = onboarding.org_id(uow_factory=p.uow_factory, ref=as_org)
        proposal = governance.propose_admission(
            uow_factory=p.uow_factory, ledger=p.require_contracts(), actor_id=actor,
            org_id=org_id,
        )  # fmt: skip
    _emit({"proposal": proposal, "org": org_id}, f"proposal {proposal}: admit {org}", json_out)


@governance_app.command("propose-mint-cap")
def propose_mint_cap(
    bank: str,
    as_org: AsOrg,
    cap: Annotated[
        int, typer.Option(help="Outstanding tokens the bank may mint, minor units (fen).")
    ] = onboarding.DEFAULT_MINT_CAP,
    json_out: JsonOpt = False,
) -> None:
    """Propose the mint cap of a bank the council admitted (the token's owner sets it)."""
    with platform() as p:
        bank_id = onboarding.org_id(uow_factory=p.uow_factory, ref=bank)
        actor = onboarding.org_id(uow_factory=p.uow_factory, ref=as_org)
        proposal = governance.propose_mint_cap(
            uow_factory=p.uow_factory, ledger=p.require_contracts(), actor_id=actor,
            bank_id=bank_id, cap=cap,
        )  # fmt: skip
    _emit(
        {"proposal": proposal, "bank": bank_id, "cap": cap},
        f"proposal {proposal}: mint cap {cap} for {bank}",
        json_out,
    )


@governance_app.command("vote")
def vote(proposal: int, as_org: AsOrg, json_out: JsonOpt = False) -> None:
    """Back a proposal."""
    with platform() as p:
        actor = onboarding.org_id(uow_factory=p.uow_factory, ref=as_org)
        governance.vote(
            uow_factory=p.uow_factory, ledger=p.require_contracts(), actor_id=actor,
            proposal_id=proposal,
        )  # fmt: skip
    _emit({"proposal": proposal, "voted": actor}, f"voted for proposal {proposal}", json_out)


@governance_app.command("execute")
def execute(proposal: int, as_org: AsOrg, json_out: JsonOpt = False) -> None:
    """Run a proposal the council backs (refused with the reason otherwise)."""
    with platform() as p:
        actor = onboarding.org_id(uow_factory=p.uow_factory, ref=as_org)
        governance.execute(
            uow_factory=p.uow_factory, ledger=p.require_contracts(), actor_id=actor,
            proposal_id=proposal,
        )  # fmt: skip
    _emit({"proposal": proposal, "executed": True}, f"proposal {proposal} executed", json_out)
