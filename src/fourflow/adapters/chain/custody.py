"""Organisations that hold their own key: what they are given to sign, and checking what
they send back before the platform relays it.

The platform never signs for such an organisation. A chain operation queued in its name (a
bank's pledge acceptance, a holder's pledge offer, any call its role makes) waits in the
outbox; the organisation fetches the unsigned transaction (``unsigned_transaction``), signs it
with its own key and sends the raw transaction, which ``send_signed`` relays only when it is
signed by that organisation's address, for this chain, and makes exactly the call of that
operation (the same contract, function and arguments: a call the service built for an action
that organisation's role may take). The debtor's EIP-712 confirmation is checked the same
way before it is queued (``confirmation_typed_data``, ``confirmation_signer``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import rlp  # type: ignore[import-untyped]
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.typed_transactions.typed_transaction import TypedTransaction
from hexbytes import HexBytes

from fourflow.adapters.chain import confirmation
from fourflow.adapters.chain.client import CallRevertedError, Receipt, TxRequest
from fourflow.adapters.chain.errors import OperationRejectedError
from fourflow.adapters.chain.ids import address, currency_code, hash32, key32
from fourflow.adapters.chain.ops import GOVERNANCE, ISSUER, build_call
from fourflow.domain.errors import ConflictError, DomainValueError
from fourflow.services import commands as cmd
from fourflow.services.ports import ChainOp, ChainReceipt

if TYPE_CHECKING:
    from fourflow.adapters.chain.ledger import ChainLedger

_GAS_HEADROOM = 1.25


class SignedTransactionError(DomainValueError):
    """A signed transaction an organisation sent is not the one it may send: nothing is sent."""


def _expected(ledger: ChainLedger, op: ChainOp) -> tuple[str, str, TxRequest]:
    call = build_call(op)
    data = ledger.abi(call.contract).encode_call(call.function, call.args)
    return call.contract, call.function, TxRequest(ledger._address(call.contract), data, call.gas)


def unsigned_transaction(ledger: ChainLedger, op: ChainOp, sender: str) -> dict[str, Any]:
    """The legacy (EIP-155) transaction of ``op`` for ``sender`` to sign, with the contract
    and function it calls. ConflictError when the chain would refuse it now or applied it."""
    contract, function, tx = _expected(ledger, op)
    if bool(ledger.view(contract, "applied", key32(op.op_id))):
        raise ConflictError(f"operation {op.op_id} is already applied on the chain")
    try:
        gas = ledger.client.estimate_gas(sender, tx)
    except CallRevertedError as exc:
        raise ConflictError(
            f"operation {op.op_id}: the chain would refuse {contract}.{function} now: {exc}"
        ) from exc
    return {
        "op_id": op.op_id,
        "contract": contract,
        "function": function,
        "from": sender,
        "transaction": _legacy(ledger, tx, gas, sender),
    }


def _legacy(ledger: ChainLedger, tx: TxRequest, gas: int, sender: str) -> dict[str, Any]:
    """The legacy (EIP-155) transaction of ``tx`` for ``sender`` to sign, with headroom over
    the estimated ``gas``."""
    return {
        "chainId": ledger.client.chain_id,
        "nonce": ledger.client.pending_nonce(sender),
        "to": tx.to,
        "value": 0,
        "gas": int(gas * _GAS_HEADROOM) + 25_000,
        "gasPrice": ledger.client.gas_price(),
        "data": "0x" + tx.data.hex(),
    }


def _decode(raw: bytes) -> dict[str, Any]:
    """The fields of a raw legacy (EIP-155) or typed transaction that matter here."""
    if raw and raw[0] <= 0x7F:  # EIP-2718 typed
        fields = TypedTransaction.from_bytes(HexBytes(raw)).as_dict()
        to = fields.get("to")
        return {
            "chain_id": int(fields["chainId"]),
            "nonce": int(fields["nonce"]),
            "to": address(HexBytes(to).hex()) if to else None,
            "value": int(fields.get("value", 0)),
            "data": bytes(HexBytes(fields.get("data", b""))),
        }
    nonce, _price, _gas, to, value, data, v, _r, _s = rlp.decode(raw)
    v_int = int.from_bytes(v, "big")
    if v_int in (27, 28):
        raise SignedTransactionError("the transaction has no chain id (sign it per EIP-155)")
    return {
        "chain_id": (v_int - 35) // 2,
        "nonce": int.from_bytes(nonce, "big"),
        "to": address("0x" + bytes(to).hex()) if to else None,
        "value": int.from_bytes(value, "big"),
        "data": bytes(data),
    }


def describe_call(ledger: ChainLedger, to: str | None, data: bytes) -> str:
    """``Contract.function`` of a call to one of FourFlow's contracts, else what it is."""
    if to is None:
        return "a contract deployment"
    names = {a.lower(): n for n, a in ledger.addresses.items()}
    contract = names.get(to.lower())
    if contract is None:
        return f"the address {to}, which is none of FourFlow's contracts"
    abi = ledger.abi(contract)
    for name, selector in abi._selectors.items():
        if data[:4] == selector:
            return f"{contract}.{name}"
    return f"an unknown function of {contract}"


def _signed_by(ledger: ChainLedger, raw: bytes, sender: str) -> tuple[dict[str, Any], str]:
    """The fields and signer of ``raw``; SignedTransactionError unless it is a transaction
    signed by ``sender`` for this chain."""
    try:
        fields = _decode(raw)
        signer = str(Account.recover_transaction(raw))
    except SignedTransactionError:
        raise
    except Exception as exc:  # rlp and eth_account raise several types for malformed input
        raise SignedTransactionError(f"not a signed transaction: {exc}") from None
    if signer != address(sender):
        raise SignedTransactionError(
            f"the transaction is signed by {signer}, not by the organisation's address {sender}"
        )
    if fields["chain_id"] != ledger.client.chain_id:
        raise SignedTransactionError(
            f"the transaction is for chain {fields['chain_id']}, not {ledger.client.chain_id}"
        )
    return fields, signer


def _no_value(fields: dict[str, Any]) -> None:
    if fields["value"]:
        raise SignedTransactionError("the transaction sends value; FourFlow's calls send none")


def _send_at_next_nonce(
    ledger: ChainLedger, raw: bytes, fields: dict[str, Any], signer: str
) -> tuple[str, Receipt]:
    """Send ``raw`` and wait for its receipt: (hash, receipt); SignedTransactionError, with
    nothing sent, unless it has the signer's next nonce."""
    expected_nonce = ledger.client.pending_nonce(signer)
    if fields["nonce"] != expected_nonce:
        raise SignedTransactionError(
            f"the transaction has nonce {fields['nonce']}; the account's next is "
            f"{expected_nonce} (fetch the unsigned transaction again)"
        )
    tx_hash = str(ledger.client.request("eth_sendRawTransaction", ["0x" + raw.hex()]))
    return tx_hash, ledger.client.wait([tx_hash])[tx_hash]


def send_signed(ledger: ChainLedger, op: ChainOp, raw: bytes, sender: str) -> ChainReceipt:
    """Relay ``raw`` as the transaction of ``op`` signed by ``sender`` and wait for it.

    Refused, with nothing sent, unless it is signed by ``sender``, for this chain, with the
    sender's next nonce, without value, and calls exactly ``op``'s contract function with
    ``op``'s arguments. A mined transaction the contract reverted raises
    ``OperationRejectedError`` (the caller undoes the operation, as the relay does).
    """
    fields, signer = _signed_by(ledger, raw, sender)
    contract, function, tx = _expected(ledger, op)
    if fields["to"] != tx.to or fields["data"] != tx.data:
        what = describe_call(ledger, fields["to"], fields["data"])
        raise SignedTransactionError(
            f"the transaction calls {what}; operation {op.op_id} is {contract}.{function} "
            "with the arguments of the request (fetch its unsigned transaction)"
        )
    _no_value(fields)
    if bool(ledger.view(contract, "applied", key32(op.op_id))):
        raise ConflictError(f"operation {op.op_id} is already applied on the chain")
    _hash, receipt = _send_at_next_nonce(ledger, raw, fields, signer)
    return ledger._outcome(op, build_call(op), signer, tx, receipt)


def _confirmation(
    ledger: ChainLedger, terms: cmd.ConfirmationTerms, nonce: int, deadline: int
) -> confirmation.Confirmation:
    return confirmation.Confirmation(
        item_id=key32(terms.item_id),
        creditor=address(terms.creditor_address),
        debtor=address(terms.debtor_address),
        currency=currency_code(terms.currency),
        face_value=terms.face_value,
        maturity_day=terms.maturity_day,
        report_hash=hash32(terms.report_hash),
        account_bank=address(terms.account_bank_address),
        nonce=nonce,
        deadline=int(deadline),
    )


def confirmation_nonce(ledger: ChainLedger, debtor_address: str) -> int:
    """The debtor's current confirmation nonce on the Issuer."""
    return int(ledger.read("nonce", address(debtor_address)))


def confirmation_typed_data(
    ledger: ChainLedger, terms: cmd.ConfirmationTerms, nonce: int, deadline: int
) -> dict[str, Any]:
    """The debtor's EIP-712 confirmation to sign (``eth_signTypedData_v4`` shape)."""
    return confirmation.typed_data(
        _confirmation(ledger, terms, nonce, deadline),
        chain_id=ledger.client.chain_id,
        verifying_contract=ledger._address(ISSUER),
    )


def confirmation_signer(
    ledger: ChainLedger, terms: cmd.ConfirmationTerms, nonce: int, deadline: int, signature: str
) -> str:
    """The address that signed the confirmation of ``terms`` (SignedTransactionError if the
    signature is malformed)."""
    message = encode_typed_data(
        full_message=confirmation_typed_data(ledger, terms, nonce, deadline)
    )
    try:
        return str(Account.recover_message(message, signature=signature))
    except Exception as exc:  # eth_account raises several types for malformed input
        raise SignedTransactionError(f"not a valid EIP-712 signature ({exc})") from None


# ------------------------------------------------------------------ council transactions


def council_transaction(
    ledger: ChainLedger, function: str, args: tuple[Any, ...], sender: str
) -> dict[str, Any]:
    """The legacy (EIP-155) transaction of ``Governance.function(*args)`` for ``sender`` (a
    councillor holding its own key) to sign. ConflictError when the contract would refuse it."""
    data = ledger.abi(GOVERNANCE).encode_call(function, args)
    tx = TxRequest(ledger._address(GOVERNANCE), data, 0)
    try:
        gas = ledger.client.estimate_gas(sender, tx)
    except CallRevertedError as exc:
        raise ConflictError(f"the chain would refuse Governance.{function} now: {exc}") from exc
    return {
        "contract": GOVERNANCE,
        "function": function,
        "from": sender,
        "transaction": _legacy(ledger, tx, gas, sender),
    }


def send_council_signed(
    ledger: ChainLedger, function: str, args: tuple[Any, ...], raw: bytes, sender: str
) -> str:
    """Relay ``raw`` as ``sender``'s ``Governance.function(*args)`` and wait for it; refused,
    with nothing sent, unless signed by ``sender`` for this chain with its next nonce, without
    value, making exactly that call. Returns the transaction hash (OperationRejectedError when
    the contract reverted it)."""
    fields, signer = _signed_by(ledger, raw, sender)
    data = ledger.abi(GOVERNANCE).encode_call(function, args)
    if fields["to"] != ledger._address(GOVERNANCE) or fields["data"] != data:
        what = describe_call(ledger, fields["to"], fields["data"])
        raise SignedTransactionError(
            f"the transaction calls {what}, not Governance.{function} with the arguments of the "
            "request (fetch its unsigned transaction)"
        )
    _no_value(fields)
    tx_hash, receipt = _send_at_next_nonce(ledger, raw, fields, signer)
    if receipt.status != 1:
        raise OperationRejectedError(f"Governance.{function}", "reverted", tx_hash)
    return tx_hash
