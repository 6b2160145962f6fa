"""The debtor's EIP-712 confirmation of a debt item, as DebtItem.issue_confirmed checks it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data

from fourflow.adapters.chain.ids import hex32

DOMAIN_NAME = "FourFlow DebtItem"
DOMAIN_VERSION = "1"
TYPES: dict[str, list[dict[str, str]]] = {
    "EIP712Domain": [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ],
    "Confirmation": [
        {"name": "itemId", "type": "bytes32"},
        {"name": "creditor", "type": "address"},
        {"name": "debtor", "type": "address"},
        {"name": "currency", "type": "uint16"},
        {"name": "faceValue", "type": "uint256"},
        {"name": "maturityDay", "type": "uint32"},
        {"name": "reportHash", "type": "bytes32"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ],
}


@dataclass(frozen=True, slots=True)
class Confirmation:
    """What a debtor confirms: the Confirmation struct of the DebtItem contract."""

    item_id: bytes
    creditor: str
    debtor: str
    currency: int
    face_value: int
    maturity_day: int
    report_hash: bytes
    nonce: int
    deadline: int


def typed_data(c: Confirmation, *, chain_id: int, verifying_contract: str) -> dict[str, Any]:
    """The full EIP-712 message (``eth_signTypedData_v4`` shape) of a confirmation."""
    return {
        "types": TYPES,
        "primaryType": "Confirmation",
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": chain_id,
            "verifyingContract": verifying_contract,
        },
        "message": {
            "itemId": hex32(c.item_id),
            "creditor": c.creditor,
            "debtor": c.debtor,
            "currency": c.currency,
            "faceValue": c.face_value,
            "maturityDay": c.maturity_day,
            "reportHash": hex32(c.report_hash),
            "nonce": c.nonce,
            "deadline": c.deadline,
        },
    }


def sign(c: Confirmation, private_key: bytes, *, chain_id: int, verifying_contract: str) -> str:
    """The 65-byte (r, s, v with v in 27/28) signature of a confirmation, as 0x-hex."""
    message = encode_typed_data(
        full_message=typed_data(c, chain_id=chain_id, verifying_contract=verifying_contract)
    )
    signed = Account.sign_message(message, private_key)
    return "0x" + bytes(signed.signature).hex()
