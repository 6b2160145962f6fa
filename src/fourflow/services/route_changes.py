"""A change of an item's locked repayment route as a proposal its parties sign one by one
(issue 16 item 1: ``fourflow route change`` over the network, where each party acts for
itself only).

The debtor proposes the new route (``propose``); the debtor and every bank holding an open
pledge on the item must sign it. A party whose key the platform holds approves over an
authenticated request of its own people (``approve``: the platform signs for it when the change
is applied); a party holding its own key fetches the EIP-712 ``RouteChange`` (``to_sign``) and
sends its signature (``submit_signature``: refused unless made by its address over this
change). Once every party needed has signed, the change is queued on chain in the same
transaction (``settlement.queue_route_change``), sent by the operator (anyone may submit the
signatures). Any party asked may refuse it (``refuse``: the debtor withdraws its proposal
that way); past its deadline a proposal is expired and nothing more can be signed. A refused
request changes nothing. The proposals of an item are kept in the store's settings (the
precedent of ``key_custody``'s pending switch), every change under the item's lock.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol

from fourflow.domain.debt import DebtItem, ItemStatus
from fourflow.domain.errors import (
    ConflictError,
    DomainValueError,
    NotFoundError,
    PermissionDeniedError,
)
from fourflow.domain.settlement import RouteKind
from fourflow.services import webhooks
from fourflow.services.common import chain_address, get_item, get_org
from fourflow.services.items.common import is_cancelled
from fourflow.services.ports import Clock, UnitOfWork, UnitOfWorkFactory
from fourflow.services.settlement import (
    ROUTE_SIGNATURE_VALIDITY,
    RouteSigner,
    current_route,
    queue_route_change,
    route_signers,
    route_terms,
)

#: Kept per item: the most recent proposals (older ones are dropped).
KEEP = 20
PENDING, APPLIED, REFUSED, EXPIRED, FAILED = "pending", "applied", "refused", "expired", "failed"


class RouteChangeLedger(RouteSigner, Protocol):
    """What the chain adapter offers for route changes signed party by party."""

    def holds_own_key(self, org_id: str) -> bool: ...
    def route_change_to_sign(
        self, item_id: str, route_kind: int, bank_address: str, account_hash: str, deadline: int
    ) -> dict[str, Any]: ...
    def route_change_signer(
        self,
        item_id: str,
        route_kind: int,
        bank_address: str,
        account_hash: str,
        deadline: int,
        signature: str,
    ) -> str: ...


class RouteSignatureRefusedError(PermissionDeniedError):
    """A route-change signature that is not the party's own over this change."""


@dataclass(frozen=True, slots=True)
class Context:
    """What the proposals run on: the store, the chain (signing for the keys the platform
    holds, checking the signatures of those who hold their own), the clock and the operator
    who submits a complete change."""

    uow_factory: UnitOfWorkFactory
    ledger: RouteChangeLedger
    clock: Clock
    operator_id: str


@dataclass(frozen=True, slots=True)
class RouteChange:
    """One proposed change of an item's route.

    Attributes:
        id: the proposal's id.
        item_id: the item.
        kind: ``tokens`` or ``account``.
        account: the new collection account (account routes).
        bank_id: the new collection bank (account routes).
        proposed_by: the debtor's organisation.
        proposed_at: when (ISO 8601, UTC).
        deadline: Unix time the signatures are void after (the chain checks it too).
        required: who must sign: the debtor and every bank with an open pledge on the item
            (recomputed at each signature: a pledge taken meanwhile adds its bank).
        signed: org id -> ``platform`` (approved; the platform signs with the key it holds)
            or ``own`` (its own EIP-712 signature, in ``signatures``).
        signatures: org id -> 0x signature of the parties holding their own key.
        status: pending, applied (queued on chain: ``op_id``), refused, expired or failed
            (the chain refused the complete change: nothing changed).
        closed_by: who refused it.
        reason: why it was refused, or what the chain said.
        op_id: the chain operation of the applied change.
    """

    id: str
    item_id: str
    kind: str
    account: str | None
    bank_id: str | None
    proposed_by: str
    proposed_at: str
    deadline: int
    required: tuple[str, ...]
    signed: dict[str, str] = field(default_factory=dict)
    signatures: dict[str, str] = field(default_factory=dict)
    status: str = PENDING
    closed_by: str | None = None
    reason: str | None = None
    op_id: str | None = None

    @property
    def waiting_for(self) -> tuple[str, ...]:
        """Who is still to sign (pending proposals only)."""
        if self.status != PENDING:
            return ()
        return tuple(o for o in self.required if o not in self.signed)

    def as_dict(self) -> dict[str, Any]:
        """Plain data (as stored, with ``waiting_for``)."""
        return {
            **asdict(self),
            "required": list(self.required),
            "waiting_for": list(self.waiting_for),
        }


def _key(item_id: str) -> str:
    return f"route.change.{item_id}"


def _load(uow: UnitOfWork, item_id: str) -> list[RouteChange]:
    raw = uow.settings.get(_key(item_id))
    if not raw:
        return []
    rows = json.loads(raw)
    return [RouteChange(**{**r, "required": tuple(r["required"])}) for r in rows]


def _save(uow: UnitOfWork, item_id: str, changes: list[RouteChange]) -> None:
    rows = [asdict(c) for c in changes[-KEEP:]]
    for r in rows:
        r["required"] = list(r["required"])
    uow.settings.put(_key(item_id), json.dumps(rows, sort_keys=True))


def _now(ctx: Context) -> int:
    return int(ctx.clock.now().timestamp())


def _seen(ctx: Context, change: RouteChange) -> RouteChange:
    """``change`` as it stands now: a pending proposal past its deadline is expired."""
    if change.status == PENDING and change.deadline <= _now(ctx):
        return replace(
            change, status=EXPIRED, reason="its deadline passed before every party signed"
        )
    return change


def _open(uow: UnitOfWork, item_id: str) -> DebtItem:
    """The item, locked, with a route that can change: active on the chain, not cancelled,
    its route locked."""
    uow.items.lock_item(item_id)
    uow.settings.lock(_key(item_id))
    item = get_item(uow, item_id)  # NotFoundError
    if item.status is not ItemStatus.ACTIVE or is_cancelled(uow, item_id):
        raise ConflictError(f"debt item {item_id} is {item.status}: its route cannot change")
    if current_route(uow, item_id) is None:
        raise ConflictError(f"debt item {item_id} has no locked route to change")
    return item


def history(ctx: Context, *, item_id: str) -> list[RouteChange]:
    """The item's route-change proposals, newest first (a pending one past its deadline shown
    expired)."""
    with ctx.uow_factory() as uow:
        if uow.items.get(item_id) is None:
            raise NotFoundError(f"debt item {item_id} does not exist")
        return [_seen(ctx, c) for c in reversed(_load(uow, item_id))]


def _tell(uow: UnitOfWork, item: DebtItem, change: RouteChange) -> None:
    """``item.route_change`` for the parties asked to sign and the item's creditor: proposed,
    applied, refused or expired (each state once)."""
    webhooks.record(
        uow, key=f"route-change:{change.id}:{change.status}", kind="item.route_change",
        org_ids=(*change.required, item.creditor_id), subject_id=item.id,
        data={"item_id": item.id, "proposal_id": change.id, "status": change.status,
              "kind": change.kind, "bank_id": change.bank_id, "required": list(change.required),
              "waiting_for": list(change.waiting_for), "deadline": change.deadline,
              "op_id": change.op_id, "reason": change.reason},
    )  # fmt: skip


def _finish_if_complete(
    ctx: Context, uow: UnitOfWork, item: DebtItem, change: RouteChange
) -> RouteChange:
    """Queue the change on chain when every party needed has signed (in ``uow``)."""
    required = tuple(route_signers(uow, item))
    change = replace(change, required=required)
    if change.waiting_for:
        return change
    event = queue_route_change(
        uow, signer=ctx.ledger, item_id=item.id, actor_id=ctx.operator_id,
        kind=RouteKind(change.kind), signer_ids=required, account=change.account,
        bank_id=change.bank_id, deadline=change.deadline,
        signed={o: change.signatures[o] for o in required if change.signed.get(o) == "own"},
    )  # fmt: skip
    return replace(change, status=APPLIED, op_id=event.op_id)


def _store(uow: UnitOfWork, item: DebtItem, change: RouteChange) -> None:
    """Keep ``change`` in place of its earlier state; its parties told once it closes."""
    changes = [c if c.id != change.id else change for c in _load(uow, item.id)]
    _save(uow, item.id, changes)
    if change.status != PENDING:
        _tell(uow, item, change)


def propose(
    ctx: Context,
    *,
    item_id: str,
    actor_id: str,
    kind: RouteKind,
    account: str | None = None,
    bank_id: str | None = None,
) -> RouteChange:
    """The debtor proposes a new route for its item. Its proposal is its approval when the
    platform holds its key (a debtor holding its own key signs like the other parties); with
    no pledgee to ask, the change is applied at once. PermissionDeniedError for anyone but the
    debtor; DomainValueError for an account route without its account and bank; ConflictError
    for an item whose route cannot change or a proposal still waiting."""
    with ctx.uow_factory() as uow:
        item = _open(uow, item_id)
        if actor_id != item.debtor_id:
            raise PermissionDeniedError(
                f"only the debtor of {item_id} proposes a new repayment route"
            )
        route_terms(uow, kind, account, bank_id)  # checked before anything is stored
        changes = [_seen(ctx, c) for c in _load(uow, item_id)]
        waiting = [c for c in changes if c.status == PENDING]
        if waiting:
            raise ConflictError(
                f"route change {waiting[0].id} of {item_id} is still waiting for "
                f"{', '.join(get_org(uow, o).name for o in waiting[0].waiting_for)}"
            )
        moment = ctx.clock.now()
        change = RouteChange(
            id=f"rc_{uuid.uuid4().hex[:16]}", item_id=item_id, kind=kind.value,
            account=account.replace(" ", "") if account and kind is RouteKind.ACCOUNT else None,
            bank_id=bank_id if kind is RouteKind.ACCOUNT else None, proposed_by=actor_id,
            proposed_at=moment.isoformat(),
            deadline=int((moment + ROUTE_SIGNATURE_VALIDITY).timestamp()),
            required=tuple(route_signers(uow, item)),
        )  # fmt: skip
        _tell(uow, item, change)  # proposed: those asked are told
        if not ctx.ledger.holds_own_key(actor_id):
            change = replace(change, signed={actor_id: "platform"})
        change = _finish_if_complete(ctx, uow, item, change)
        _save(uow, item_id, [*changes, change])
        if change.status == APPLIED:
            _tell(uow, item, change)
        uow.commit()
    return change


def _pending(ctx: Context, uow: UnitOfWork, item: DebtItem, actor_id: str) -> RouteChange:
    """The item's pending proposal ``actor_id`` is asked to sign (ConflictError when none is
    waiting, or it expired: then it is recorded expired; PermissionDeniedError for a party not
    asked)."""
    changes = _load(uow, item.id)
    found = next((c for c in reversed(changes) if c.status == PENDING), None)
    if found is None:
        raise ConflictError(f"no route change of {item.id} is waiting for signatures")
    seen = _seen(ctx, found)
    if seen.status == EXPIRED:
        _save(uow, item.id, [c if c.id != found.id else seen for c in changes])
        _tell(uow, item, seen)
        uow.commit()  # the expiry is recorded; the request itself changes nothing
        raise ConflictError(f"route change {found.id} of {item.id} expired: propose it again")
    required = route_signers(uow, item)
    if actor_id not in required:
        raise PermissionDeniedError(
            f"route change {found.id} of {item.id} is signed by its debtor and the banks "
            "holding an open pledge on it, not by this organisation"
        )
    return found


def approve(ctx: Context, *, item_id: str, actor_id: str) -> RouteChange:
    """A party whose key the platform holds approves the pending change (the platform signs
    for it when the change is applied); the change is queued once every party has signed."""
    if ctx.ledger.holds_own_key(actor_id):
        raise ConflictError(
            f"organisation {actor_id} holds its own key: fetch the route change to sign "
            f"(GET /items/{item_id}/route/changes/typed-data) and send its signature"
        )
    with ctx.uow_factory() as uow:
        item = _open(uow, item_id)
        change = _pending(ctx, uow, item, actor_id)
        if actor_id in change.signed:
            raise ConflictError(f"route change {change.id} of {item_id} is signed by it already")
        change = _finish_if_complete(
            ctx, uow, item, replace(change, signed={**change.signed, actor_id: "platform"})
        )
        _store(uow, item, change)
        uow.commit()
    return change


def _terms(uow: UnitOfWork, change: RouteChange) -> tuple[int, str, str]:
    kind = RouteKind(change.kind)
    _, bank_address, account_hash = route_terms(uow, kind, change.account, change.bank_id)
    return kind.code, bank_address, account_hash


def _self_held(ctx: Context, actor_id: str, item_id: str) -> None:
    if not ctx.ledger.holds_own_key(actor_id):
        raise ConflictError(
            f"the platform holds the key of organisation {actor_id}: approve the route change "
            f"(POST /items/{item_id}/route/changes/approval)"
        )


def to_sign(ctx: Context, *, item_id: str, actor_id: str) -> dict[str, Any]:
    """For a party holding its own key: the pending change's EIP-712 ``RouteChange``
    (``eth_signTypedData_v4``), bound to the route's current change nonce and the proposal's
    deadline."""
    _self_held(ctx, actor_id, item_id)
    with ctx.uow_factory() as uow:
        item = _open(uow, item_id)
        change = _pending(ctx, uow, item, actor_id)
        code, bank_address, account_hash = _terms(uow, change)
    typed = ctx.ledger.route_change_to_sign(
        item_id, code, bank_address, account_hash, change.deadline
    )
    return {"proposal_id": change.id, "deadline": change.deadline, "typed_data": typed}


def submit_signature(ctx: Context, *, item_id: str, actor_id: str, signature: str) -> RouteChange:
    """A party holding its own key signs the pending change: refused
    (``RouteSignatureRefusedError``, nothing changes) unless signed by its address over this
    change at the route's current nonce; queued once every party has signed."""
    _self_held(ctx, actor_id, item_id)
    with ctx.uow_factory() as uow:
        item = _open(uow, item_id)
        change = _pending(ctx, uow, item, actor_id)
        code, bank_address, account_hash = _terms(uow, change)
        expected = chain_address(get_org(uow, actor_id))
        try:
            signer = ctx.ledger.route_change_signer(
                item_id, code, bank_address, account_hash, change.deadline, signature
            )
        except DomainValueError as exc:
            raise RouteSignatureRefusedError(f"route change {change.id}: {exc}") from exc
        if signer.lower() != expected.lower():
            raise RouteSignatureRefusedError(
                f"route change {change.id}: signed by {signer}, not by this organisation's "
                f"address {expected} over this change"
            )
        change = replace(
            change,
            signed={**change.signed, actor_id: "own"},
            signatures={**change.signatures, actor_id: signature},
        )
        change = _finish_if_complete(ctx, uow, item, change)
        _store(uow, item, change)
        uow.commit()
    return change


def refuse(ctx: Context, *, item_id: str, actor_id: str, reason: str) -> RouteChange:
    """A party asked to sign refuses the pending change (the debtor withdraws it so): it is
    closed and nothing changes on the route."""
    if not reason.strip():
        raise DomainValueError("a refusal of a route change needs its reason")
    with ctx.uow_factory() as uow:
        item = _open(uow, item_id)
        change = _pending(ctx, uow, item, actor_id)
        change = replace(change, status=REFUSED, closed_by=actor_id, reason=reason.strip())
        _store(uow, item, change)
        uow.commit()
    return change


def chain_refused(ctx: Context, *, item_id: str, op_id: str, reason: str) -> RouteChange | None:
    """Record that the chain refused the applied change ``op_id`` (the relay undid it in the
    store): the proposal is ``failed``, the route unchanged."""
    with ctx.uow_factory() as uow:
        uow.settings.lock(_key(item_id))
        item = get_item(uow, item_id)
        changes = _load(uow, item_id)
        found = next((c for c in changes if c.op_id == op_id), None)
        if found is None:
            return None
        failed = replace(found, status=FAILED, reason=reason)
        _store(uow, item, failed)
        uow.commit()
    return failed
