"""Document signatures: secp256k1 per EIP-191 (personal_sign) and SM2 with SM3 (GB/T 32918).

What is signed is the text ``FourFlow document sha256:<hex>``, the SHA-256 of the file's exact
bytes, so a wallet shows the signer what it signs and any change to the file breaks it.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from eth_account import Account
from eth_account.messages import encode_defunct
from gmssl import sm2

from fourflow.domain.errors import DomainValueError
from fourflow.domain.hashing import fingerprint
from fourflow.domain.identifiers import IdScheme, validate_sm2_key
from fourflow.domain.parties import Organisation

SECP256K1 = "secp256k1-eip191"
SM2 = "sm2-sm3"
ALGORITHMS = (SECP256K1, SM2)


class SignatureError(DomainValueError):
    """A signature is malformed, does not verify, or was made by someone else."""


def signed_message(raw: bytes) -> str:
    """The text a submitter signs for a file's bytes."""
    return f"FourFlow document {fingerprint(raw)}"


def sign_secp256k1(private_key: bytes, raw: bytes) -> dict[str, str]:
    """Sign a file's bytes with an Ethereum key (EIP-191); the detached signature object."""
    signed = Account.sign_message(encode_defunct(text=signed_message(raw)), private_key)
    return {"algorithm": SECP256K1, "signature": "0x" + bytes(signed.signature).hex()}


def sm2_public_key(private_key_hex: str) -> str:
    """The SM2 public key (x || y hex) of a private key."""
    signer = sm2.CryptSM2(private_key=private_key_hex, public_key="")
    return validate_sm2_key(signer._kg(int(private_key_hex, 16), sm2.default_ecc_table["g"]))


def sign_sm2(private_key_hex: str, raw: bytes) -> dict[str, str]:
    """Sign a file's bytes with SM2 (SM3 with the signer's Z value); the signature object."""
    public = sm2_public_key(private_key_hex)
    signer = sm2.CryptSM2(private_key=private_key_hex, public_key=public)
    message = signed_message(raw).encode("utf-8")
    signature = signer.sign_with_sm3(message, secrets.token_hex(32))
    return {"algorithm": SM2, "signature": signature, "public_key": public}


def _field(signature: Mapping[str, object], name: str) -> str:
    value = signature.get(name)
    if not isinstance(value, str) or not value:
        raise SignatureError(f"signature: {name!r} is missing")
    return value


def verify_signature(
    signature: Mapping[str, object], raw: bytes, org: Organisation
) -> dict[str, str]:
    """Check that ``org`` signed ``raw``; return what to keep with the document.

    secp256k1: the recovered address must be the organisation's chain account.
    SM2: the public key must be one the organisation registered (identifier ``sm2key``).
    """
    algorithm = _field(signature, "algorithm")
    value = _field(signature, "signature")
    message = signed_message(raw)
    if algorithm == SECP256K1:
        try:
            signer = Account.recover_message(encode_defunct(text=message), signature=value)
        except Exception as exc:  # eth_account raises several types for malformed input
            raise SignatureError(f"signature: not a valid secp256k1 signature ({exc})") from None
        if org.chain_address is None or signer.lower() != org.chain_address.lower():
            raise SignatureError(f"signature: made by {signer}, not by {org.name}")
    elif algorithm == SM2:
        public = validate_sm2_key(_field(signature, "public_key"))
        registered = {i.value for i in org.identifiers if i.scheme is IdScheme.SM2_KEY}
        if public not in registered:
            raise SignatureError(f"signature: SM2 key is not registered for {org.name}")
        verifier = sm2.CryptSM2(private_key="", public_key=public)
        try:
            good = verifier.verify_with_sm3(value, message.encode("utf-8"))
        except (ValueError, TypeError):
            good = False
        if not good:
            raise SignatureError("signature: the SM2 signature does not verify")
        signer = public
    else:
        raise SignatureError(f"signature: algorithm {algorithm!r} is not one of {ALGORITHMS}")
    return {"algorithm": algorithm, "signer": signer, "signature": value, "message": message}


def recover_text_signer(text: str, signature: str) -> str:
    """The checksummed address whose key signed ``text`` per EIP-191 (``personal_sign``);
    SignatureError when the signature is malformed."""
    try:
        return str(Account.recover_message(encode_defunct(text=text), signature=signature))
    except Exception as exc:  # eth_account raises several types for malformed input
        raise SignatureError(f"signature: not a valid secp256k1 signature ({exc})") from None
