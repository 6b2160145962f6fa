"""How FourFlow's string ids, hashes and currencies become contract arguments."""

from __future__ import annotations

from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from fourflow.domain.errors import DomainValueError
from fourflow.domain.money import CURRENCY_NUMERIC

ZERO32 = b"\x00" * 32
ZERO_ADDRESS = "0x" + "00" * 20
_HASH_PREFIXES = ("sha256:", "sm3:", "keccak256:", "0x")


def key32(fourflow_id: str) -> bytes:
    """The bytes32 key of a FourFlow string id: ``keccak256(utf8(id))``."""
    if not fourflow_id:
        raise DomainValueError("chain: an id must not be empty")
    return bytes(keccak(fourflow_id.encode("utf-8")))


def hash32(value: str | bytes) -> bytes:
    """A 32-byte hash given as hex (optionally ``sha256:``/``sm3:``/``0x``-prefixed) or bytes."""
    if isinstance(value, bytes):
        raw = value
    else:
        text = value.strip()
        for prefix in _HASH_PREFIXES:
            if text.lower().startswith(prefix):
                text = text[len(prefix) :]
        if text.lower().startswith("0x"):
            text = text[2:]
        try:
            raw = bytes.fromhex(text)
        except ValueError as exc:
            raise DomainValueError(f"chain: {value!r} is not a hex hash") from exc
    if len(raw) != 32:
        raise DomainValueError(f"chain: a hash must be 32 bytes, got {len(raw)}")
    return raw


def hex32(value: bytes) -> str:
    """A bytes32 as ``0x``-prefixed lower-case hex."""
    return "0x" + bytes(value).hex()


def currency_code(alpha: str) -> int:
    """The ISO 4217 numeric code of an alphabetic currency code (``"CNY"`` -> 156)."""
    try:
        return CURRENCY_NUMERIC[alpha.upper()]
    except KeyError as exc:
        raise DomainValueError(f"chain: unknown currency {alpha!r}") from exc


def address(value: str) -> str:
    """A checksummed address, refusing anything that is not 20 bytes of hex."""
    try:
        return str(to_checksum_address(value))
    except ValueError as exc:
        raise DomainValueError(f"chain: {value!r} is not an address") from exc


def optional_address(value: str) -> str | None:
    """A checksummed address, or None for the zero address."""
    checksummed = address(value)
    return None if int(checksummed, 16) == 0 else checksummed
