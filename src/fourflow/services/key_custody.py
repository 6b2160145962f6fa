"""Moving an organisation between the two custody modes (issue 16, Keys; docs/security.md).

An organisation's admin moves it from the platform keeping its chain key to holding its own
key (``to_own_key``, with the proof of the new key: its EIP-191 signature of
``identity.own_key_message``), or back (``to_platform_key``: the platform generates a new key
and keeps it). Its chain address changes either way, and the Registry keys members by address,
so the chain side is:

1. ``Registry.admit(new address, org id, roles)`` by the Registry's owner, relayed; only once
   the chain applied it,
2. ``Registry.suspend(old address)`` by the owner (the old key, wherever it is, stops being a
   member: no contract takes its transactions) and, for a bank, ``SettlementToken.set_mint_cap``
   for the new address; then
3. the store's address changes and the key store follows: moving to self-custody the sealed
   platform key is not carried over and its data key is deleted (destroyed); moving to
   platform custody the new key is sealed under a new data key. The old address is kept as
   retired (address only).

The Registry's owner is the operator during the founding phase. Once Governance owns it
(``fourflow governance hand-over``) the operator cannot admit or suspend alone: moving to
self-custody is proposed to the council (``Context.propose_move``; the switch answers the
proposals, ``done`` False) and finished when asked again after the council executed them
(``_governed_to_own``); moving back to platform custody is refused there.

Refused, changing nothing, while the organisation has chain operations open (waiting for its
signature or the relay), and while it has records on chain at its address that the contracts
cannot move to another address (debt items it owes or was issued that are not settled,
holdings it holds with something outstanding, financings it lends or borrows that are live,
settlement tokens): the contracts check parties by address and offer no re-keying, so those
would be stranded at the old address.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from fourflow.domain.debt import ItemStatus
from fourflow.domain.errors import ConflictError, FourFlowError, NotFoundError
from fourflow.domain.errors import PermissionDeniedError as Forbidden
from fourflow.domain.financing import FinancingStatus
from fourflow.domain.parties import Organisation, Role, role_mask
from fourflow.services import commands as cmd
from fourflow.services import identity
from fourflow.services.common import new_id
from fourflow.services.onboarding import DEFAULT_MINT_CAP, OPERATOR_ORG_KEY
from fourflow.services.ports import ChainOp, Clock, Ledger, OpStatus, UnitOfWorkFactory

Custody = Literal["self", "platform"]
#: Relays the queued operations now; returns the refusals (op id, reason).
Relay = Callable[[], list[tuple[str, str]]]
_LIVE_FINANCINGS = frozenset({FinancingStatus.APPROVED, FinancingStatus.ACTIVE})


class CustodyKeys(Protocol):
    """The key store's custody operations (``adapters.crypto.keystore.EnvelopeKeyStore``)."""

    def holds_own_key(self, org_id: str) -> bool: ...
    def address(self, org_id: str) -> str | None: ...
    def change_custody(
        self, org_id: str, own_address: str | None, *, at: str = ""
    ) -> tuple[str, str]: ...


class Council(Protocol):
    """Governance proposals (``adapters.chain.ledger.ChainLedger``)."""

    def propose_member_move(
        self, org_id: str, member_org_id: str, old: str, new: str, roles: int
    ) -> list[int]: ...
    def proposal_state(self, proposal_id: int) -> tuple[bool, bool]: ...
    def cancel_proposal(self, org_id: str, proposal_id: int) -> None: ...


@dataclass(frozen=True, slots=True)
class Switch:
    """A custody change done: the organisation, its custody now, its old and new address and
    the chain operations that moved it."""

    org_id: str
    custody: Custody
    old_address: str
    new_address: str
    ops: tuple[str, ...]
    proposals: tuple[int, ...] = ()
    done: bool = True


@dataclass(frozen=True, slots=True)
class Context:
    """What a switch runs on."""

    uow_factory: UnitOfWorkFactory
    keys: CustodyKeys
    ledger: Ledger
    clock: Clock
    relay: Relay
    #: Governed phase: the council's proposals (``ChainLedger``); None: not offered.
    council: Council | None = None


GOVERNED = (
    "the Registry belongs to the consortium's Governance ({owner}), not the operator: moving a "
    "member to another address is an admission of the new address and a suspension of the old "
    "one by council proposal"
)


def _org(ctx: Context, org_id: str) -> tuple[Organisation, str, str | None]:
    """The organisation, the operator's org id, and the Registry's owner when it is not the
    operator (Governance: the governed phase), else None."""
    with ctx.uow_factory() as uow:
        org = uow.organisations.get(org_id)
        operator = uow.settings.get(OPERATOR_ORG_KEY)
        operator_org = uow.organisations.get(operator) if operator else None
    if org is None or not org.chain_address:
        raise NotFoundError(f"organisation {org_id} has no chain account")
    if operator is None or operator_org is None:
        raise ConflictError("the platform has no operator yet; run `fourflow init`")
    if org.id == operator:
        raise Forbidden("the platform operator's own key is the platform's; it does not move")
    owner = str(ctx.ledger.read("registry_owner"))
    governed = owner.lower() != (operator_org.chain_address or "").lower()
    return org, operator, owner if governed else None


def _refuse_open(ctx: Context, org: Organisation, new_address: str | None) -> bool:
    """ConflictError naming what keeps ``org`` at its address. True when ``new_address`` is
    already admitted as this organisation (a switch that stopped after the chain admitted it:
    it resumes from the suspension)."""
    with ctx.uow_factory() as uow:
        waiting = [
            op.op_id
            for op in uow.outbox.pending(100_000)
            if org.id in (op.sender_org_id, op.subject_id)
        ]
        if waiting:
            raise ConflictError(
                f"{org.name} has {len(waiting)} chain operation(s) waiting for its signature or "
                f"the relay ({', '.join(waiting[:5])}): they are signed with its current key; "
                "sign or settle them before moving its key"
            )
        held: list[str] = []
        for item in uow.items.list():
            if item.status is ItemStatus.SETTLED:
                continue
            if org.id in (item.debtor_id, item.creditor_id):
                held.append(f"debt item {item.id}")
            held += [
                f"holding {h.id}"
                for h in uow.items.holdings(item.id)
                if h.holder_id == org.id and h.outstanding > 0
            ]
        held += [
            f"financing {f.id}"
            for f in uow.financings.list()
            if f.status in _LIVE_FINANCINGS and org.id in (f.bank_id, f.borrower_id)
        ]
        others = [o for o in uow.organisations.list() if o.id != org.id]
    if held:
        raise ConflictError(
            f"{org.name} has records on chain at {org.chain_address} that the contracts cannot "
            f"move to another address ({', '.join(held[:5])}"
            f"{', ...' if len(held) > 5 else ''}); its key can move once they are settled"
        )
    balance = int(ctx.ledger.read("token_balance", org.chain_address))
    if balance:
        raise ConflictError(
            f"{org.name} holds {balance} settlement-token units at {org.chain_address}; "
            "redeem or pay them out before moving its key"
        )
    if new_address is not None:
        taken = [o for o in others if (o.chain_address or "").lower() == new_address.lower()]
        if taken or new_address.lower() == (org.chain_address or "").lower():
            raise ConflictError(f"chain address {new_address} is taken")
        member = ctx.ledger.read("member", new_address)
        if member and int(str(member.get("org_id", "0")), 16) != 0:
            mine = ctx.ledger.read("member", org.chain_address)
            if mine and str(mine.get("org_id")) == str(member.get("org_id")):
                return True  # admitted for this organisation by a switch that stopped there
            raise ConflictError(f"chain address {new_address} is already a consortium member")
    return False


def _run(ctx: Context, ops: list[ChainOp], what: str) -> None:
    """Queue ``ops``, relay them now; ConflictError naming the chain's reason if refused."""
    with ctx.uow_factory() as uow:
        for op in ops:
            uow.outbox.add(op)
        uow.commit()
    ctx.relay()
    with ctx.uow_factory() as uow:
        done = [uow.outbox.get(op.op_id) for op in ops]
    refused = [op for op in done if op is None or op.status is not OpStatus.DONE]
    if refused:
        reasons = "; ".join(f"{op.op_id}: {op.status} {op.error or ''}" for op in refused if op)
        owner = ""
        if "owner" in reasons:
            owner = (
                " (the Registry belongs to Governance: the council admits and suspends by "
                "proposal, which this switch does not make)"
            )
        raise ConflictError(f"the chain did not apply {what}{owner}: {reasons}")


def _move(
    ctx: Context, org: Organisation, operator: str, new_address: str, *, admitted: bool = False
) -> tuple[str, ...]:
    """The chain side: admit the new address (unless ``admitted`` already), then suspend the
    old one (and cap a bank's minting at the new one)."""
    assert org.chain_address is not None
    admit = ChainOp(
        op_id=new_id("op"),
        command=cmd.AdmitMember(org.id, new_address, role_mask(org.roles)),
        sender_org_id=operator, subject_id=org.id,
    )  # fmt: skip
    if not admitted:
        _run(ctx, [admit], f"the admission of {new_address}")
    after = [
        ChainOp(
            op_id=new_id("op"),
            command=cmd.SuspendMember(org.id, org.chain_address),
            sender_org_id=operator,
            subject_id=org.id,
        )
    ]
    if Role.BANK in org.roles:
        after.append(
            ChainOp(
                op_id=new_id("op"),
                command=cmd.SetMintCap(new_address, DEFAULT_MINT_CAP),
                sender_org_id=operator,
                subject_id=org.id,
            )
        )
    _run(ctx, after, f"the suspension of {org.chain_address}")
    return (*([] if admitted else [admit.op_id]), *(op.op_id for op in after))


def _record(ctx: Context, org: Organisation, new_address: str) -> None:
    with ctx.uow_factory() as uow:
        current = uow.organisations.get(org.id)
        assert current is not None
        uow.organisations.update(replace(current, chain_address=new_address))
        uow.commit()


def to_own_key(
    ctx: Context, ids: identity.Identities, *, org_id: str, address: str, proof: str
) -> Switch:
    """The organisation holds its own key at ``address`` from now on (``proof``: its EIP-191
    signature with that key of ``identity.own_key_message``); the platform's key of it is
    destroyed once the chain moved it. Run under the chain-writer lock."""
    org, operator, governed = _org(ctx, org_id)
    if ctx.keys.holds_own_key(org.id):
        raise ConflictError(f"{org.name} already holds its own key")
    own = identity.proved_address(ids, org.uscc, address, proof)
    assert own is not None and org.chain_address is not None
    if governed is not None:
        return _governed_to_own(ctx, org, operator, own, governed)
    resumed = _refuse_open(ctx, org, own)
    ops = _move(ctx, org, operator, own, admitted=resumed)
    _record(ctx, org, own)
    old, new = ctx.keys.change_custody(org.id, own, at=ctx.clock.now().isoformat())
    return Switch(org.id, "self", old, new, ops)


def to_platform_key(ctx: Context, *, org_id: str) -> Switch:
    """The platform keeps a new key for the organisation from now on (it held its own); its
    own key's address is suspended on chain. Run under the chain-writer lock."""
    org, operator, governed = _org(ctx, org_id)
    if governed is not None:
        raise ConflictError(
            GOVERNED.format(owner=governed) + ", and a new platform key would have to wait "
            "unused for the council's vote: moving back to platform custody is not offered in "
            "the governed phase; nothing was changed"
        )
    if not ctx.keys.holds_own_key(org.id):
        kept = ctx.keys.address(org.id)
        if kept and org.chain_address and kept.lower() != org.chain_address.lower():
            # a switch back that stopped after the key store had its new key: resume it
            resumed = _refuse_open(ctx, org, kept)
            ops = _move(ctx, org, operator, kept, admitted=resumed)
            _record(ctx, org, kept)
            return Switch(org.id, "platform", org.chain_address, kept, ops)
        raise ConflictError(f"the platform already keeps {org.name}'s key")
    _refuse_open(ctx, org, None)
    assert org.chain_address is not None
    at = ctx.clock.now().isoformat()
    old, new = ctx.keys.change_custody(org.id, None, at=at)
    try:
        _refuse_open(ctx, org, new)
        ops = _move(ctx, org, operator, new)
    except BaseException:
        ctx.keys.change_custody(org.id, old, at=at)  # back to its own key; the new one dropped
        raise
    _record(ctx, org, new)
    return Switch(org.id, "platform", old, new, ops)


def _pending_key(org_id: str) -> str:
    return f"custody.switch.{org_id}"


def _governed_to_own(
    ctx: Context, org: Organisation, operator: str, own: str, owner: str
) -> Switch:
    """The governed phase: the operator (a councillor) proposes admitting ``own`` for the
    organisation and suspending its current address; the council votes and executes. Sent
    again (the same address and proof) once the chain shows both done, the switch finishes:
    the store's address changes and the platform's key is destroyed. Until then it answers
    the proposals (``done`` False) and the platform keeps signing with the current key."""
    assert org.chain_address is not None
    with ctx.uow_factory() as uow:
        raw = uow.settings.get(_pending_key(org.id))
    state = json.loads(raw) if raw else None
    if state is not None and str(state["address"]).lower() == own.lower():
        proposals = tuple(int(p) for p in state["proposals"])
        new_member = ctx.ledger.read("member", own) or {}
        old_member = ctx.ledger.read("member", org.chain_address) or {}
        admitted = int(str(new_member.get("org_id", "0")), 16) != 0 and str(
            new_member.get("org_id")
        ) == str(old_member.get("org_id"))
        if not (admitted and old_member.get("active") is False):
            return Switch(org.id, "self", org.chain_address, own, (), proposals, done=False)
        _record(ctx, org, own)
        old, new = ctx.keys.change_custody(org.id, own, at=ctx.clock.now().isoformat())
        with ctx.uow_factory() as uow:
            uow.settings.put(_pending_key(org.id), "")
            uow.commit()
        return Switch(org.id, "self", old, new, (), proposals)
    if state is not None:
        raise ConflictError(
            f"{org.name}: a move to {state['address']} is proposed to the council already "
            f"(proposals {state['proposals']})"
        )
    _refuse_open(ctx, org, own)
    if ctx.council is None:
        raise ConflictError(GOVERNED.format(owner=owner) + "; nothing was changed")
    try:
        proposals = tuple(
            ctx.council.propose_member_move(
                operator, org.id, org.chain_address, own, role_mask(org.roles)
            )
        )
    except FourFlowError as exc:
        raise ConflictError(
            GOVERNED.format(owner=owner) + f", and the operator could not propose it: {exc}"
        ) from None
    with ctx.uow_factory() as uow:
        uow.settings.put(
            _pending_key(org.id), json.dumps({"address": own, "proposals": list(proposals)})
        )
        uow.commit()
    return Switch(org.id, "self", org.chain_address, own, (), proposals, done=False)


def withdraw_own_key(ctx: Context, *, org_id: str) -> tuple[int, ...]:
    """Withdraw a move to self-custody proposed to the council and not carried out: the
    operator cancels its proposals and the pending move is forgotten (the platform keeps its
    key). Refused once the council executed any of them (the move then finishes when asked
    again after the rest); NotFoundError when none is pending. Returns the proposals."""
    org, operator, _governed = _org(ctx, org_id)
    with ctx.uow_factory() as uow:
        raw = uow.settings.get(_pending_key(org.id))
    if not raw:
        raise NotFoundError(f"{org.name} has no move of its key proposed to the council")
    if ctx.council is None:
        raise ConflictError("this platform cannot reach the council's proposals")
    proposals = tuple(int(p) for p in json.loads(raw)["proposals"])
    states = {p: ctx.council.proposal_state(p) for p in proposals}
    executed = [p for p, (done, _cancelled) in states.items() if done]
    if executed:
        raise ConflictError(
            f"the council executed proposal(s) {executed} of {org.name}'s move already: it is "
            "not withdrawn; it finishes once the rest are executed (send the move again)"
        )
    for proposal, (_done, cancelled) in states.items():
        if not cancelled:
            ctx.council.cancel_proposal(operator, proposal)
    with ctx.uow_factory() as uow:
        uow.settings.put(_pending_key(org.id), "")
        uow.commit()
    return proposals
