"""Event logs decoded word by word (``abi._decode_words``: static one-word types) answer what
eth_abi's decoder answers, for every such type, indexed or not; anything else (a dynamic type,
a word eth_abi refuses) goes to eth_abi."""

from __future__ import annotations

import random
from typing import Any

import pytest
from eth_abi.abi import encode
from eth_abi.exceptions import DecodingError
from eth_utils.crypto import keccak

from fourflow.adapters.chain import abi
from fourflow.adapters.chain.abi import ContractAbi, signature

PARAMS = [
    ("who", "address", True), ("amount", "uint256", False), ("delta", "int128", False),
    ("ok", "bool", False), ("hash", "bytes32", True), ("tag", "bytes4", False),
    ("day", "uint8", True), ("to", "address", False),
]  # fmt: skip
EVENT = {
    "type": "event",
    "name": "Everything",
    "inputs": [{"name": n, "type": t, "indexed": i} for n, t, i in PARAMS],
}
DYNAMIC = {
    "type": "event",
    "name": "Dynamic",
    "inputs": [
        {"name": "note", "type": "string", "indexed": False},
        {"name": "ids", "type": "uint256[]", "indexed": False},
        {"name": "who", "type": "address", "indexed": True},
    ],
}


def _value(kind: str, rng: random.Random) -> Any:
    if kind == "address":
        return "0x" + rng.randbytes(20).hex()
    if kind == "bool":
        return rng.random() < 0.5
    if kind.startswith("uint"):
        return rng.choice([0, 1, (1 << int(kind[4:])) - 1, rng.getrandbits(int(kind[4:]))])
    if kind.startswith("int"):
        bits = int(kind[3:])
        return rng.choice([0, -1, -(1 << (bits - 1)), (1 << (bits - 1)) - 1])
    return rng.randbytes(int(kind[5:]))


def _log(entry: dict[str, Any], values: dict[str, Any]) -> tuple[list[bytes], bytes]:
    topics = [bytes(keccak(text=signature(entry)))]
    data_kinds, data_values = [], []
    for p in entry["inputs"]:
        if p["indexed"]:
            topics.append(encode([p["type"]], [values[p["name"]]]))
        else:
            data_kinds.append(p["type"])
            data_values.append(values[p["name"]])
    return topics, encode(data_kinds, data_values)


def _both(entry: dict[str, Any], topics: list[bytes], data: bytes) -> tuple[Any, Any]:
    contract = ContractAbi("C", [entry])
    fast = contract.decode_log(topics, data)
    real = abi._decode_words
    try:
        abi._decode_words = lambda kinds, data: None
        slow = contract.decode_log(topics, data)
    finally:
        abi._decode_words = real
    return fast, slow


def test_word_types_decode_as_eth_abi_decodes_them() -> None:
    rng = random.Random(16)
    for _ in range(300):
        values = {n: _value(t, rng) for n, t, _ in PARAMS}
        fast, slow = _both(EVENT, *_log(EVENT, values))
        assert fast == slow
        assert fast is not None and fast["amount"] == values["amount"]
        assert fast["who"].lower() == values["who"]  # checksummed


def test_other_types_and_refused_words_go_to_eth_abi() -> None:
    values = {"note": "héllo", "ids": [1, 2, 3], "who": "0x" + "ab" * 20}
    fast, slow = _both(DYNAMIC, *_log(DYNAMIC, values))
    assert fast == slow
    assert fast is not None and fast["note"] == "héllo" and fast["ids"] == [1, 2, 3]
    topics, data = _log(EVENT, {n: _value(t, random.Random(1)) for n, t, _ in PARAMS})
    bad_bool = data[: 32 * 2] + (2).to_bytes(32, "big") + data[32 * 3 :]  # "ok" is 2
    for bad in (bad_bool, data[:40]):  # not a bool; too short
        assert abi._decode_words(["uint256", "int128", "bool", "bytes4", "address"], bad) is None
        with pytest.raises(DecodingError):
            ContractAbi("C", [EVENT]).decode_log(topics, bad)
