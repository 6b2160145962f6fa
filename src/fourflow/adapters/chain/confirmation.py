"""EIP-712 messages the Issuer checks: the debtor's confirmation and the verifiers' report."""

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
        {"name": "accountBank", "type": "address"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ],
    "VerificationReport": [
        {"name": "itemId", "type": "bytes32"},
        {"name": "tradeHash", "type": "bytes32"},
        {"name": "reportHash", "type": "bytes32"},
        {"name": "creditor", "type": "address"},
        {"name": "debtor", "type": "address"},
        {"name": "currency", "type": "uint16"},
        {"name": "faceValue", "type": "uint256"},
        {"name": "maturityDay", "type": "uint32"},
        {"name": "accountBank", "type": "address"},
    ],
}


@dataclass(frozen=True, slots=True)
class Confirmation:
    """What a debtor confirms: the Confirmation struct the Issuer contract checks."""

    item_id: bytes
    creditor: str
    debtor: str
    currency: int
    face_value: int
    maturity_day: int
    report_hash: bytes
    account_bank: str
    nonce: int
    deadline: int


@dataclass(frozen=True, slots=True)
class Report:
    """What a verifier signs for an item on the verified basis (VerificationReport)."""

    item_id: bytes
    trade_hash: bytes
    report_hash: bytes
    creditor: str
    debtor: str
    currency: int
    face_value: int
    maturity_day: int
    account_bank: str


def _types(primary: str) -> dict[str, list[dict[str, str]]]:
    return {"EIP712Domain": TYPES["EIP712Domain"], primary: TYPES[primary]}


def typed_data(c: Confirmation, *, chain_id: int, verifying_contract: str) -> dict[str, Any]:
    """The full EIP-712 message (``eth_signTypedData_v4`` shape) of a confirmation."""
    return {
        "types": _types("Confirmation"),
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
            "accountBank": c.account_bank,
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


def report_typed_data(r: Report, *, chain_id: int, verifying_contract: str) -> dict[str, Any]:
    """The full EIP-712 message of a verifier's report on an item."""
    return {
        "types": _types("VerificationReport"),
        "primaryType": "VerificationReport",
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": chain_id,
            "verifyingContract": verifying_contract,
        },
        "message": {
            "itemId": hex32(r.item_id),
            "tradeHash": hex32(r.trade_hash),
            "reportHash": hex32(r.report_hash),
            "creditor": r.creditor,
            "debtor": r.debtor,
            "currency": r.currency,
            "faceValue": r.face_value,
            "maturityDay": r.maturity_day,
            "accountBank": r.account_bank,
        },
    }


def sign_report(r: Report, private_key: bytes, *, chain_id: int, verifying_contract: str) -> str:
    """A verifier's 65-byte signature of a report, as 0x-hex."""
    message = encode_typed_data(
        full_message=report_typed_data(r, chain_id=chain_id, verifying_contract=verifying_contract)
    )
    signed = Account.sign_message(message, private_key)
    return "0x" + bytes(signed.signature).hex()
