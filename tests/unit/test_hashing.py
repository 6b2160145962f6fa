"""Fingerprints (SHA-256, SM3) and the Merkle tree's proofs."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fourflow.domain.errors import DomainValueError
from fourflow.domain.hashing import (
    HashAlgorithm,
    fingerprint,
    fingerprint_bytes,
    merkle_proofs,
    merkle_root,
    verify_merkle_proof,
)


def test_fingerprints_name_their_algorithm() -> None:
    assert fingerprint(b"abc") == "sha256:" + hashlib.sha256(b"abc").hexdigest()
    # GB/T 32905-2016 appendix A example 1: SM3("abc")
    assert fingerprint(b"abc", HashAlgorithm.SM3) == (
        "sm3:66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    )


def test_fingerprint_bytes_refuses_non_digests() -> None:
    with pytest.raises(DomainValueError, match="not 32 bytes"):
        fingerprint_bytes("sha256:abcd")


@given(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=70, unique=True))
def test_every_proof_leads_to_the_root(values: list[bytes]) -> None:
    root, proofs = merkle_proofs(values)
    assert root == merkle_root(values)
    for value, proof in zip(values, proofs, strict=True):
        assert verify_merkle_proof(value, proof, root)


def test_a_changed_leaf_does_not_verify() -> None:
    values = [bytes([i]) * 32 for i in range(5)]
    root, proofs = merkle_proofs(values)
    assert not verify_merkle_proof(b"\x09" * 32, proofs[0], root)
