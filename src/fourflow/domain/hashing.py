"""Fingerprints and Merkle trees (standard library only).

Fingerprints are ``"<algo>:<hex>"`` strings: SHA-256 by default, SM3 (GB/T 32905) on request
where the OpenSSL behind ``hashlib`` provides it.

The Merkle tree is domain-separated and order-independent per pair, so a proof is just the
list of sibling hashes: ``leaf = H(0x00 || digest)``, ``node = H(0x01 || min(a, b) || max(a, b))``,
with an odd node carried up unchanged. The root of one leaf is that leaf.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from enum import StrEnum

from fourflow.domain.errors import DomainValueError


class HashAlgorithm(StrEnum):
    """Digest algorithms for fingerprints."""

    SHA256 = "sha256"
    SM3 = "sm3"


def digest(data: bytes, algorithm: HashAlgorithm = HashAlgorithm.SHA256) -> bytes:
    """The raw digest of ``data``."""
    if algorithm is HashAlgorithm.SM3:
        try:
            return hashlib.new("sm3", data).digest()
        except ValueError:
            raise DomainValueError("SM3 is not available in this Python's OpenSSL") from None
    return hashlib.sha256(data).digest()


def fingerprint(data: bytes, algorithm: HashAlgorithm = HashAlgorithm.SHA256) -> str:
    """``"<algo>:<hex>"`` fingerprint of ``data``."""
    return f"{algorithm.value}:{digest(data, algorithm).hex()}"


def fingerprint_bytes(fp: str) -> bytes:
    """The 32 digest bytes of a ``"<algo>:<hex>"`` (or bare hex) fingerprint."""
    hexpart = fp.split(":", 1)[-1].removeprefix("0x")
    try:
        raw = bytes.fromhex(hexpart)
    except ValueError:
        raise DomainValueError(f"fingerprint {fp!r} is not hex") from None
    if len(raw) != 32:
        raise DomainValueError(f"fingerprint {fp!r} is not 32 bytes")
    return raw


def _leaf(value: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + value).digest()


def _node(a: bytes, b: bytes) -> bytes:
    lo, hi = (a, b) if a <= b else (b, a)
    return hashlib.sha256(b"\x01" + lo + hi).digest()


def merkle_levels(values: Sequence[bytes]) -> list[list[bytes]]:
    """Every level of the tree, leaves first, root last."""
    if not values:
        raise DomainValueError("a Merkle tree needs at least one leaf")
    level = [_leaf(v) for v in values]
    levels = [level]
    while len(level) > 1:
        nxt = [_node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
        levels.append(level)
    return levels


def merkle_root(values: Sequence[bytes]) -> bytes:
    """The root over ``values`` (each a fingerprint digest)."""
    return merkle_levels(values)[-1][0]


def merkle_proofs(values: Sequence[bytes]) -> tuple[bytes, list[list[bytes]]]:
    """The root and, for each value, the sibling hashes from its leaf up to the root."""
    levels = merkle_levels(values)
    proofs: list[list[bytes]] = []
    for index in range(len(values)):
        proof: list[bytes] = []
        i = index
        for level in levels[:-1]:
            sibling = i ^ 1
            if sibling < len(level):
                proof.append(level[sibling])
            i //= 2
        proofs.append(proof)
    return levels[-1][0], proofs


def verify_merkle_proof(value: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """True when ``proof`` leads from ``value`` to ``root``."""
    node = _leaf(value)
    for sibling in proof:
        node = _node(node, sibling)
    return node == root
