"""The consortium council over HTTP (issue 16 item 1: the CLI's ``governance propose-admit``,
``propose-mint-cap``, ``vote`` and ``execute`` have endpoints calling the same service
functions, ``services.governance``):

- ``GET /governance``: the council (members, threshold, timelock), or the founding phase;
- ``POST /governance/proposals``: a councillor proposes admitting a member or a bank's mint
  cap (its vote counts);
- ``GET /governance/proposals/{id}``: a proposal, its votes and state;
- ``POST /governance/proposals/{id}/votes``: a councillor backs it;
- ``POST /governance/proposals/{id}/execution``: a member runs it once enough councillors
  back it and its timelock has passed (at once when every councillor backs it).

The councillor is the caller's organisation; its transaction is signed with the key the
platform holds for it. Refusals send nothing: 403 for an organisation not on the council,
404 for an unknown proposal or organisation, 409 in the founding phase, for a proposal
executed, cancelled, voted already, short of votes or timelocked, and for a councillor
holding its own key (it sends its transactions to Governance itself); 422 for a bad cap.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from fourflow.entrypoints.api.routing import ApiState, caller, route, state
from fourflow.services import governance, onboarding

router = APIRouter()


class CouncillorOut(BaseModel):
    address: str
    org_id: str | None
    name: str | None


class CouncilOut(BaseModel):
    phase: Literal["founding", "governed"] = Field(
        description="founding: the operator alone runs the Registry; governed: the council."
    )
    address: str | None = Field(description="The Governance contract.")
    council: list[CouncillorOut]
    threshold: int | None
    delay: int | None = Field(description="Timelock, seconds.")
    proposal_count: int


class CouncilProposalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: Literal["admit", "mint_cap"] = Field(
        description="admit: an onboarded organisation with the roles it registered; "
        "mint_cap: the outstanding settlement tokens a bank may mint."
    )
    org: str = Field(min_length=1, max_length=100, description="The organisation (USCC or id).")
    cap: int | None = Field(
        default=None, ge=0, lt=2**128, description="mint_cap: minor units (default 10^13)."
    )


class CouncilProposalOut(BaseModel):
    proposal_id: int
    proposer: str
    proposer_org_id: str | None
    target: str = Field(description="The contract it calls (Registry, SettlementToken, ...).")
    created: int = Field(description="Chain time it was proposed.")
    runs_from: int = Field(description="Chain time its timelock ends.")
    votes: int
    threshold: int
    voters: list[str]
    state: Literal["open", "ready", "executed", "cancelled"]


def _proposal(found: governance.Proposal) -> CouncilProposalOut:
    return CouncilProposalOut(
        proposal_id=found.proposal_id, proposer=found.proposer,
        proposer_org_id=found.proposer_org_id, target=found.target, created=found.created,
        runs_from=found.runs_from, votes=found.votes, threshold=found.threshold,
        voters=list(found.voters), state=found.state,
    )  # fmt: skip


def _ledger(api: ApiState) -> governance.CouncilLedger:
    return api.platform.require_contracts()


@route(router, "GET", "/governance", "governance.read")
def council(request: Request) -> CouncilOut:
    """The consortium's council: its members, the votes a proposal needs, the timelock."""
    api = state(request)
    found = governance.council(uow_factory=api.platform.uow_factory, ledger=_ledger(api))
    if found is None:
        return CouncilOut(
            phase="founding", address=None, council=[], threshold=None, delay=None,
            proposal_count=0,
        )  # fmt: skip
    return CouncilOut(
        phase="governed", address=found.address,
        council=[CouncillorOut(address=c.address, org_id=c.org_id, name=c.name)
                 for c in found.councillors],
        threshold=found.threshold, delay=found.delay, proposal_count=found.proposal_count,
    )  # fmt: skip


@route(router, "GET", "/governance/proposals/{proposal_id}", "governance.read")
def council_proposal(request: Request, proposal_id: int) -> CouncilProposalOut:
    """A council proposal: who proposed it, what it calls, its votes and state."""
    api = state(request)
    return _proposal(
        governance.proposal(
            uow_factory=api.platform.uow_factory, ledger=_ledger(api), proposal_id=proposal_id
        )
    )


@route(router, "POST", "/governance/proposals", "governance.propose", status_code=201)
def propose(request: Request, body: CouncilProposalIn) -> CouncilProposalOut:
    """The caller's organisation, a councillor, proposes admitting an onboarded organisation
    or a bank's mint cap; its vote counts."""
    api, who = state(request), caller(request)
    p = api.platform
    with api.chain_lock:
        org_id = onboarding.org_id(uow_factory=p.uow_factory, ref=body.org)
        if body.action == "admit":
            number = governance.propose_admission(
                uow_factory=p.uow_factory, ledger=_ledger(api), actor_id=who.org_id,
                org_id=org_id,
            )  # fmt: skip
        else:
            number = governance.propose_mint_cap(
                uow_factory=p.uow_factory, ledger=_ledger(api), actor_id=who.org_id,
                bank_id=org_id,
                cap=onboarding.DEFAULT_MINT_CAP if body.cap is None else body.cap,
            )  # fmt: skip
        found = governance.proposal(uow_factory=p.uow_factory, ledger=_ledger(api),
                                    proposal_id=number)  # fmt: skip
    return _proposal(found)


@route(router, "POST", "/governance/proposals/{proposal_id}/votes", "governance.vote")
def vote(request: Request, proposal_id: int) -> CouncilProposalOut:
    """The caller's organisation, a councillor, backs an open proposal (once)."""
    api, who = state(request), caller(request)
    with api.chain_lock:
        found = governance.vote(
            uow_factory=api.platform.uow_factory, ledger=_ledger(api), actor_id=who.org_id,
            proposal_id=proposal_id,
        )  # fmt: skip
    return _proposal(found)


@route(router, "POST", "/governance/proposals/{proposal_id}/execution", "governance.execute")
def execute(request: Request, proposal_id: int) -> CouncilProposalOut:
    """The caller's organisation (a member: the contract lets anyone) runs a proposal the
    council backs once its timelock has passed, at once when every councillor backs it."""
    api, who = state(request), caller(request)
    with api.chain_lock:
        found = governance.execute(
            uow_factory=api.platform.uow_factory, ledger=_ledger(api), actor_id=who.org_id,
            proposal_id=proposal_id,
        )  # fmt: skip
    return _proposal(found)


class CouncilTransactionOut(BaseModel):
    contract: str
    function: str
    sender: str = Field(alias="from", description="The councillor's own address.")
    transaction: dict[str, Any] = Field(description="Legacy (EIP-155) transaction to sign.")

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class CouncilSignedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    raw_transaction: str = Field(
        pattern=r"^0x([0-9a-fA-F]{2})+$", max_length=200_000, description="signed, 0x-hex"
    )


@route(router, "GET", "/governance/proposals/{proposal_id}/votes/transaction", "governance.vote")
def vote_to_sign(request: Request, proposal_id: int) -> CouncilTransactionOut:
    """For a councillor holding its own key: the unsigned ``Governance.vote`` transaction of
    its vote (its next nonce) to sign and send back raw. 409 for one whose key the platform
    holds (it votes with POST …/votes), a proposal executed or voted already."""
    api, who = state(request), caller(request)
    found = governance.vote_to_sign(
        uow_factory=api.platform.uow_factory, ledger=_ledger(api), actor_id=who.org_id,
        proposal_id=proposal_id,
    )  # fmt: skip
    return CouncilTransactionOut.model_validate(found)


@route(router, "POST", "/governance/proposals/{proposal_id}/votes/transaction", "governance.vote")
def submit_vote(request: Request, proposal_id: int, body: CouncilSignedIn) -> CouncilProposalOut:
    """A councillor holding its own key votes with its own signed transaction: refused (403,
    nothing sent) unless signed by its address for this chain with its next nonce and making
    exactly this vote."""
    api, who = state(request), caller(request)
    with api.chain_lock:
        found = governance.submit_vote(
            uow_factory=api.platform.uow_factory, ledger=_ledger(api), actor_id=who.org_id,
            proposal_id=proposal_id, raw=bytes.fromhex(body.raw_transaction[2:]),
        )  # fmt: skip
    return _proposal(found)
