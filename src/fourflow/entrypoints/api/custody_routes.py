"""Organisations that hold their own key (issue 16, Keys): what they sign and what they send.

The platform never signs for such an organisation. Its people fetch what to sign and send the
signature: the debtor's EIP-712 confirmation of an item, and the raw transaction of every
chain operation queued in its name (a bank's pledge acceptance, a holder's pledge offer, ...),
which the platform relays only when it is signed by the organisation's address and makes
exactly that operation's call (``services.custody``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from fourflow.entrypoints.api.business_routes import _item
from fourflow.entrypoints.api.routing import (
    caller,
    refuse_on_chain_failure,
    relay_now,
    route,
    state,
)
from fourflow.services import custody, items, key_custody

router = APIRouter()
HEX = r"^0x([0-9a-fA-F]{2})+$"


class SignedTransactionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    raw_transaction: str = Field(
        pattern=HEX, max_length=200_000, description="the signed transaction, 0x-hex"
    )


class ConfirmationSignatureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    nonce: int = Field(ge=0, lt=2**256, description="as given with the typed data")
    deadline: int = Field(ge=0, lt=2**64, description="as given with the typed data")
    signature: str = Field(pattern=HEX, max_length=200, description="65 bytes, 0x-hex")


def _op(op: Any) -> dict[str, Any]:
    return {
        "op_id": op.op_id,
        "kind": op.kind.value,
        "subject_id": op.subject_id,
        "status": op.status.value,
    }


@route(router, "GET", "/custody/operations", "custody.read")
def awaiting_signature(request: Request) -> list[dict[str, Any]]:
    """The caller's organisation's queued chain operations waiting for its own signed
    transaction, oldest first (empty for an organisation whose key the platform holds)."""
    api, who = state(request), caller(request)
    if not api.platform.keystore.holds_own_key(who.org_id):
        return []
    return [_op(op) for op in custody.awaiting(uow_factory=api.platform.uow_factory,
                                                org_id=who.org_id)]  # fmt: skip


@route(router, "GET", "/custody/operations/{op_id}/transaction", "custody.sign")
def unsigned_transaction(request: Request, op_id: str) -> dict[str, Any]:
    """The unsigned (legacy, EIP-155) transaction of one of the organisation's queued
    operations: sign ``transaction`` with the organisation's key, send it back raw."""
    api, who = state(request), caller(request)
    p = api.platform
    return custody.unsigned_transaction(
        uow_factory=p.uow_factory, ledger=p.require_contracts(), org_id=who.org_id, op_id=op_id
    )


@route(router, "POST", "/custody/operations/{op_id}/transaction", "custody.sign")
def submit_transaction(request: Request, op_id: str, body: SignedTransactionIn) -> dict[str, Any]:
    """Relay the organisation's signed transaction of its queued operation: refused (403,
    nothing sent) unless signed by the organisation's address for this chain and making
    exactly that operation's call; recorded as applied once mined."""
    api, who = state(request), caller(request)
    p = api.platform
    raw = bytes.fromhex(body.raw_transaction[2:])
    with api.chain_lock:
        receipt = custody.submit_signed_transaction(
            uow_factory=p.uow_factory, ledger=p.require_contracts(), org_id=who.org_id,
            op_id=op_id, raw=raw,
        )  # fmt: skip
        refuse_on_chain_failure(relay_now(api))  # what waited for it
    return {"op_id": op_id, "tx_hash": receipt.tx_hash, "block_number": receipt.block_number}


@route(router, "GET", "/items/{item_id}/confirmation/typed-data", "items.confirm")
def confirmation_to_sign(request: Request, item_id: str) -> dict[str, Any]:
    """For a debtor holding its own key: the EIP-712 confirmation of the item to sign
    (``eth_signTypedData_v4``), with the nonce and deadline to send back."""
    api, who = state(request), caller(request)
    _item(api, who, item_id)
    p = api.platform
    return custody.confirmation_to_sign(
        uow_factory=p.uow_factory, ledger=p.require_contracts(), clock=p.clock,
        item_id=item_id, actor_id=who.org_id,
    )  # fmt: skip


@route(router, "POST", "/items/{item_id}/confirmation/signature", "items.confirm")
def submit_confirmation(
    request: Request, item_id: str, body: ConfirmationSignatureIn
) -> dict[str, Any]:
    """A debtor holding its own key confirms the item with its own EIP-712 signature: refused
    (403, nothing changes) unless made by the debtor's address over this item's terms with
    its current nonce and an unexpired deadline."""
    api, who = state(request), caller(request)
    _item(api, who, item_id)
    p = api.platform
    with api.chain_lock:
        custody.submit_confirmation(
            uow_factory=p.uow_factory, ledger=p.require_contracts(), clock=p.clock,
            item_id=item_id, actor_id=who.org_id, nonce=body.nonce, deadline=body.deadline,
            signature=body.signature,
        )  # fmt: skip
        refuse_on_chain_failure(relay_now(api))
    return items.describe_item(uow_factory=p.uow_factory, item_id=item_id)


class OwnKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    address: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$", description="the new key's address")
    proof: str = Field(
        pattern=r"^0x[0-9a-fA-F]{130}$",
        description="EIP-191 signature with that key of 'FourFlow registration: <USCC> holds "
        "the key of <address in lower case>'",
    )


class CustodySwitchOut(BaseModel):
    org_id: str
    custody: str = Field(description="self: it holds its own key; platform: the platform does")
    old_address: str = Field(description="suspended on the Registry; its key retired")
    new_address: str = Field(description="admitted on the Registry with the same roles")
    ops: list[str] = Field(description="the chain operations that moved it (applied)")
    proposals: list[int] = Field(
        default_factory=list,
        description="governed phase: the council's proposals that move it (admit, suspend)",
    )
    done: bool = Field(
        default=True,
        description="false (202): proposed to the council; send the same request again once "
        "the council executed them",
    )


def _custody(request: Request) -> key_custody.Context:
    api = state(request)
    p = api.platform
    ledger = p.require_contracts()
    return key_custody.Context(
        uow_factory=p.uow_factory, keys=p.keystore, ledger=ledger, clock=p.clock,
        relay=lambda: relay_now(api), council=ledger,
    )  # fmt: skip


def _switched(done: key_custody.Switch) -> CustodySwitchOut:
    return CustodySwitchOut(
        org_id=done.org_id, custody=done.custody, old_address=done.old_address,
        new_address=done.new_address, ops=list(done.ops), proposals=list(done.proposals),
        done=done.done,
    )  # fmt: skip


@route(
    router,
    "POST",
    "/custody/own-key",
    "custody.switch",
    responses={202: {"model": CustodySwitchOut, "description": "Proposed to the council."}},
)
def move_to_own_key(request: Request, response: Response, body: OwnKeyIn) -> CustodySwitchOut:
    """The caller's organisation holds its own key from now on (with the proof of it): the
    Registry admits the new address and suspends the old one, and the platform's key of it is
    destroyed. Refused while it has chain operations open or records on chain the contracts
    cannot move to another address. Once Governance owns the Registry: 202 with the council's
    proposals; the same request again, after the council executed them, finishes it."""
    api, who = state(request), caller(request)
    with api.chain_lock:  # the chain side is relayed within this request
        done = key_custody.to_own_key(
            _custody(request), api.platform.identities, org_id=who.org_id,
            address=body.address, proof=body.proof,
        )  # fmt: skip
    if not done.done:
        response.status_code = 202
    return _switched(done)


@route(router, "POST", "/custody/platform-key", "custody.switch")
def move_to_platform_key(request: Request) -> CustodySwitchOut:
    """The platform keeps a new key for the caller's organisation from now on (it held its
    own): the Registry admits the new key's address and suspends its own key's."""
    api, who = state(request), caller(request)
    with api.chain_lock:
        done = key_custody.to_platform_key(_custody(request), org_id=who.org_id)
    return _switched(done)


class WithdrawnOut(BaseModel):
    org_id: str
    cancelled: list[int] = Field(description="the council's proposals withdrawn")


@route(router, "DELETE", "/custody/own-key", "custody.switch")
def withdraw_own_key(request: Request) -> WithdrawnOut:
    """Withdraw the caller's organisation's move to its own key proposed to the council and not
    carried out (the operator cancels its proposals); 404 when none is pending, 409 once the
    council executed any of them."""
    api, who = state(request), caller(request)
    with api.chain_lock:
        cancelled = key_custody.withdraw_own_key(_custody(request), org_id=who.org_id)
    return WithdrawnOut(org_id=who.org_id, cancelled=list(cancelled))
