"""The consortium council's decisions (``fourflow governance``; over HTTP, issue 16 item 1).

After the hand-over the Registry and the settlement token belong to the Governance contract:
admitting a member and a bank's mint cap are a councillor's proposal that runs once enough
councillors back it and its timelock has passed. Each function checks first what the
contract would refuse (not a councillor, no such proposal, voted already, too few votes, the
timelock) and names it, so that a refused request sends nothing; the councillor's transaction
is signed with the key the platform holds for it. A councillor holding its own key votes with
the transaction it signs itself (``vote_to_sign``, ``submit_vote``); it proposes and executes
from its own wallet on the Governance contract.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from fourflow.domain.errors import (
    ConflictError,
    DomainValueError,
    NotFoundError,
    PermissionDeniedError,
)
from fourflow.domain.parties import Role, role_mask
from fourflow.services.common import get_org
from fourflow.services.onboarding import DEFAULT_MINT_CAP
from fourflow.services.ports import UnitOfWorkFactory


class CouncilLedger(Protocol):
    """The Governance contract as the chain adapter shows it (``ChainLedger``)."""

    @property
    def addresses(self) -> dict[str, str]: ...
    def council(self) -> dict[str, Any] | None: ...
    def proposal(self, proposal_id: int) -> dict[str, Any]: ...
    def voted(self, proposal_id: int, councillor: str) -> bool: ...
    def chain_time(self) -> int: ...
    def holds_own_key(self, org_id: str) -> bool: ...
    def read(self, what: str, *args: Any) -> Any: ...
    def propose_admission(
        self, org_id: str, member_org_id: str, member_address: str, roles: int
    ) -> int: ...
    def propose_mint_cap(
        self, org_id: str, bank_org_id: str, bank_address: str, cap: int
    ) -> int: ...
    def vote(self, org_id: str, proposal_id: int) -> None: ...
    def council_transaction(
        self, function: str, proposal_id: int, sender: str
    ) -> dict[str, Any]: ...
    def send_council_signed(
        self, function: str, proposal_id: int, raw: bytes, sender: str
    ) -> str: ...
    def execute(self, org_id: str, proposal_id: int) -> None: ...


ProposalState = Literal["open", "ready", "executed", "cancelled"]


@dataclass(frozen=True, slots=True)
class Councillor:
    address: str
    org_id: str | None
    name: str | None


@dataclass(frozen=True, slots=True)
class Council:
    """The council now: its Governance contract, members, threshold and timelock."""

    address: str
    councillors: tuple[Councillor, ...]
    threshold: int
    delay: int
    proposal_count: int


@dataclass(frozen=True, slots=True)
class Proposal:
    """A council proposal as the chain holds it.

    ``target``: the contract it calls (``Registry``, ``SettlementToken``, ... or its address);
    ``runs_from``: the chain time its timelock ends (its creation once every councillor backs
    it); ``state``: ``open`` (voting),
    ``ready`` (enough votes and past its timelock: it can be executed), ``executed`` or
    ``cancelled``."""

    proposal_id: int
    proposer: str
    proposer_org_id: str | None
    target: str
    created: int
    runs_from: int
    votes: int
    threshold: int
    voters: tuple[str, ...]
    state: ProposalState


def _org_by_address(uow_factory: UnitOfWorkFactory) -> dict[str, tuple[str, str]]:
    with uow_factory() as uow:
        return {
            o.chain_address.lower(): (o.id, o.name)
            for o in uow.organisations.list()
            if o.chain_address
        }


def _council(ledger: CouncilLedger) -> dict[str, Any]:
    found = ledger.council()
    if found is None:
        raise ConflictError(
            "the consortium is in its founding phase: no council decides yet (the operator "
            "hands over with `fourflow governance hand-over`)"
        )
    return found


def council(*, uow_factory: UnitOfWorkFactory, ledger: CouncilLedger) -> Council | None:
    """The council, or None in the founding phase."""
    found = ledger.council()
    if found is None:
        return None
    known = _org_by_address(uow_factory)
    members = tuple(Councillor(a, *known.get(a.lower(), (None, None))) for a in found["council"])
    return Council(
        found["address"], members, found["threshold"], found["delay"], found["proposal_count"]
    )


class CouncilSignatureRefusedError(PermissionDeniedError):
    """A council transaction that is not the councillor's own for this vote."""


def _councillor(
    uow_factory: UnitOfWorkFactory,
    ledger: CouncilLedger,
    actor_id: str,
    *,
    council: bool = True,
    own: bool = False,
) -> str:
    """The actor's chain address when it is on the council (``council``; the contract lets
    anyone execute a proposal the council backs) and the platform holds its key (``own``: it
    holds its own key)."""
    found = _council(ledger)
    with uow_factory() as uow:
        org = get_org(uow, actor_id)
    address = org.chain_address or ""
    if council and address.lower() not in {a.lower() for a in found["council"]}:
        raise PermissionDeniedError(f"{org.name} is not on the consortium's council")
    if own and not ledger.holds_own_key(actor_id):
        raise ConflictError(
            f"the platform holds the key of {org.name}: it votes with POST "
            "/governance/proposals/{id}/votes"
        )
    if not own and ledger.holds_own_key(actor_id):
        raise ConflictError(
            f"{org.name} holds its own key: it signs its vote itself (GET "
            "/governance/proposals/{id}/votes/transaction); the platform signs only with keys "
            "it holds"
        )
    return address


def proposal(
    *, uow_factory: UnitOfWorkFactory, ledger: CouncilLedger, proposal_id: int
) -> Proposal:
    """A proposal (NotFoundError for an id the council never gave)."""
    found = _council(ledger)
    if not 1 <= proposal_id <= found["proposal_count"]:
        raise NotFoundError(f"council proposal {proposal_id} does not exist")
    p = ledger.proposal(proposal_id)
    names = {a.lower(): n for n, a in ledger.addresses.items()}
    voters = tuple(a for a in found["council"] if ledger.voted(proposal_id, a))
    # backed by every councillor it runs at once; else once the timelock has passed
    everyone = p["votes"] >= len(found["council"])
    runs_from = p["created"] + (0 if everyone else found["delay"])
    state: ProposalState
    if p["executed"]:
        state = "executed"
    elif p["cancelled"]:
        state = "cancelled"
    elif p["votes"] >= found["threshold"] and ledger.chain_time() >= runs_from:
        state = "ready"
    else:
        state = "open"
    known = _org_by_address(uow_factory)
    return Proposal(
        proposal_id=proposal_id, proposer=p["proposer"],
        proposer_org_id=known.get(p["proposer"].lower(), (None, None))[0],
        target=names.get(p["target"].lower(), p["target"]), created=p["created"],
        runs_from=runs_from, votes=p["votes"], threshold=found["threshold"], voters=voters,
        state=state,
    )  # fmt: skip


def _member_address(uow_factory: UnitOfWorkFactory, org_id: str) -> tuple[str, int, bool]:
    with uow_factory() as uow:
        record = get_org(uow, org_id)  # NotFoundError
    if not record.chain_address:
        raise ConflictError(f"organisation {record.name} has no chain account")
    return record.chain_address, role_mask(record.roles), record.has_role(Role.BANK)


def propose_admission(
    *, uow_factory: UnitOfWorkFactory, ledger: CouncilLedger, actor_id: str, org_id: str
) -> int:
    """A councillor proposes admitting an onboarded organisation with the roles it registered
    (its vote counts); ConflictError when it is an active member already."""
    _councillor(uow_factory, ledger, actor_id)
    address, roles, _ = _member_address(uow_factory, org_id)
    member = ledger.read("member", address) or {}
    if member.get("active"):
        raise ConflictError(f"organisation {org_id} is an active member already")
    return ledger.propose_admission(actor_id, org_id, address, roles)


def propose_mint_cap(
    *,
    uow_factory: UnitOfWorkFactory,
    ledger: CouncilLedger,
    actor_id: str,
    bank_id: str,
    cap: int = DEFAULT_MINT_CAP,
) -> int:
    """A councillor proposes the mint cap (minor units outstanding) of a bank."""
    if cap <= 0:
        raise DomainValueError(f"a mint cap must be positive, not {cap}")
    _councillor(uow_factory, ledger, actor_id)
    address, _, bank = _member_address(uow_factory, bank_id)
    if not bank:
        raise DomainValueError(f"organisation {bank_id} is not a bank: it mints no tokens")
    return ledger.propose_mint_cap(actor_id, bank_id, address, cap)


def vote(
    *, uow_factory: UnitOfWorkFactory, ledger: CouncilLedger, actor_id: str, proposal_id: int
) -> Proposal:
    """A councillor backs an open proposal (once)."""
    address = _councillor(uow_factory, ledger, actor_id)
    _votable(uow_factory, ledger, proposal_id, address)
    ledger.vote(actor_id, proposal_id)
    return proposal(uow_factory=uow_factory, ledger=ledger, proposal_id=proposal_id)


def _votable(
    uow_factory: UnitOfWorkFactory, ledger: CouncilLedger, proposal_id: int, address: str
) -> None:
    found = proposal(uow_factory=uow_factory, ledger=ledger, proposal_id=proposal_id)
    if found.state in ("executed", "cancelled"):
        raise ConflictError(f"council proposal {proposal_id} is already {found.state}")
    if address.lower() in {v.lower() for v in found.voters}:
        raise ConflictError(f"council proposal {proposal_id} has this councillor's vote already")


def vote_to_sign(
    *, uow_factory: UnitOfWorkFactory, ledger: CouncilLedger, actor_id: str, proposal_id: int
) -> dict[str, Any]:
    """For a councillor holding its own key: the unsigned ``Governance.vote`` transaction of
    its vote (EIP-155, its next nonce) to sign and send back."""
    address = _councillor(uow_factory, ledger, actor_id, own=True)
    _votable(uow_factory, ledger, proposal_id, address)
    return ledger.council_transaction("vote", proposal_id, address)


def submit_vote(
    *,
    uow_factory: UnitOfWorkFactory,
    ledger: CouncilLedger,
    actor_id: str,
    proposal_id: int,
    raw: bytes,
) -> Proposal:
    """A councillor holding its own key votes with its own signed transaction: refused
    (``CouncilSignatureRefusedError``, nothing sent) unless signed by its address for this
    chain with its next nonce and making exactly this vote."""
    address = _councillor(uow_factory, ledger, actor_id, own=True)
    _votable(uow_factory, ledger, proposal_id, address)
    try:
        ledger.send_council_signed("vote", proposal_id, raw, address)
    except DomainValueError as exc:
        raise CouncilSignatureRefusedError(f"vote on proposal {proposal_id}: {exc}") from exc
    return proposal(uow_factory=uow_factory, ledger=ledger, proposal_id=proposal_id)


def execute(
    *, uow_factory: UnitOfWorkFactory, ledger: CouncilLedger, actor_id: str, proposal_id: int
) -> Proposal:
    """A member runs a proposal the council backs once its timelock has passed (at once when
    every councillor backs it)."""
    _councillor(uow_factory, ledger, actor_id, council=False)
    found = proposal(uow_factory=uow_factory, ledger=ledger, proposal_id=proposal_id)
    if found.state in ("executed", "cancelled"):
        raise ConflictError(f"council proposal {proposal_id} is already {found.state}")
    if found.votes < found.threshold:
        raise ConflictError(
            f"not enough votes: council proposal {proposal_id} has {found.votes} of the "
            f"{found.threshold} it needs"
        )
    if found.state != "ready":
        at = dt.datetime.fromtimestamp(found.runs_from, dt.UTC).isoformat()
        raise ConflictError(f"council proposal {proposal_id} is timelocked until {at}")
    ledger.execute(actor_id, proposal_id)
    return proposal(uow_factory=uow_factory, ledger=ledger, proposal_id=proposal_id)
