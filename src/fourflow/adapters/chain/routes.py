"""EIP-712 route changes the Repayment contract checks: signed by the debtor and every pledgee."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data

from fourflow.adapters.chain import confirmation

DOMAIN_NAME = "FourFlow Repayment"
DOMAIN_VERSION = "1"
TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": confirmation.TYPES["EIP712Domain"],
    "RouteChange": [
        {"name": "itemId", "type": "bytes32"},
        {"name": "kind", "type": "uint8"},
        {"name": "bank", "type": "address"},
        {"name": "accountHash", "type": "bytes32"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ],
}


@dataclass(frozen=True, slots=True)
class RouteChange:
    """A new route for an item: what the debtor and every pledgee sign."""

    item_id: bytes
    kind: int
    bank: str
    account_hash: bytes
    nonce: int
    deadline: int


def typed_data(change: RouteChange, *, chain_id: int, verifying_contract: str) -> dict[str, Any]:
    """The EIP-712 typed data of a route change for the Repayment contract."""
    return {
        "types": TYPES,
        "primaryType": "RouteChange",
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": chain_id,
            "verifyingContract": verifying_contract,
        },
        "message": {
            "itemId": change.item_id,
            "kind": change.kind,
            "bank": change.bank,
            "accountHash": change.account_hash,
            "nonce": change.nonce,
            "deadline": change.deadline,
        },
    }


def sign(change: RouteChange, private_key: bytes, *, chain_id: int, verifying_contract: str) -> str:
    """A party's 65-byte signature (0x hex) of a route change."""
    message = encode_typed_data(
        full_message=typed_data(change, chain_id=chain_id, verifying_contract=verifying_contract)
    )
    signed = Account.sign_message(message, private_key)
    return "0x" + bytes(signed.signature).hex()


def typed_data_json(
    change: RouteChange, *, chain_id: int, verifying_contract: str
) -> dict[str, Any]:
    """``typed_data`` with its bytes32 fields as 0x-hex (``eth_signTypedData_v4`` over JSON)."""
    found = typed_data(change, chain_id=chain_id, verifying_contract=verifying_contract)
    message = dict(found["message"])
    message["itemId"] = "0x" + bytes(change.item_id).hex()
    message["accountHash"] = "0x" + bytes(change.account_hash).hex()
    return {**found, "message": message}


def signer(change: RouteChange, signature: str, *, chain_id: int, verifying_contract: str) -> str:
    """The address that signed ``change`` (ValueError for a malformed signature)."""
    message = encode_typed_data(
        full_message=typed_data(change, chain_id=chain_id, verifying_contract=verifying_contract)
    )
    try:
        return str(Account.recover_message(message, signature=signature))
    except Exception as exc:  # eth_account raises several types for malformed input
        raise ValueError(f"not a valid EIP-712 signature ({exc})") from None
