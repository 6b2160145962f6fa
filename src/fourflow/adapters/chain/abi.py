"""Encode calls to, and decode results and events of, one contract from its ABI."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from eth_abi.abi import decode, encode
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from fourflow.adapters.chain.errors import ChainError

Json = dict[str, Any]


def abi_type(param: Mapping[str, Any]) -> str:
    """The canonical ABI type of a parameter, expanding tuples (``(address,uint256)[]``)."""
    kind = str(param["type"])
    if not kind.startswith("tuple"):
        return kind
    inner = ",".join(abi_type(c) for c in param["components"])
    return f"({inner}){kind[len('tuple') :]}"


def signature(entry: Mapping[str, Any]) -> str:
    """``name(type,...)`` of a function or event."""
    return f"{entry['name']}({','.join(abi_type(p) for p in entry['inputs'])})"


def plain(value: Any, kind: str) -> Any:
    """A decoded ABI value as plain JSON-able Python: 0x-hex bytes, checksummed addresses."""
    if kind.endswith("]"):
        element = kind[: kind.rindex("[")]
        return [plain(v, element) for v in value]
    if kind == "address":
        return _checksummed(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return value


class ContractAbi:
    """One contract's functions and events, keyed for fast encoding and decoding."""

    def __init__(self, name: str, abi: Sequence[Mapping[str, Any]]) -> None:
        self.name = name
        self.functions: dict[str, Mapping[str, Any]] = {}
        self.events: dict[bytes, Mapping[str, Any]] = {}
        self.constructor: Mapping[str, Any] = {"inputs": []}
        for entry in abi:
            if entry.get("type") == "function":
                self.functions.setdefault(str(entry["name"]), entry)
            elif entry.get("type") == "event":
                self.events[bytes(keccak(text=signature(entry)))] = entry
            elif entry.get("type") == "constructor":
                self.constructor = entry
        self._selectors = {
            name: bytes(keccak(text=signature(f)))[:4] for name, f in self.functions.items()
        }

    def event_topic(self, event_name: str) -> bytes:
        """topic0 of an event."""
        for topic, entry in self.events.items():
            if entry["name"] == event_name:
                return topic
        raise ChainError(f"{self.name} has no event {event_name}")

    def encode_call(self, function: str, args: Sequence[Any]) -> bytes:
        """Calldata of ``function(*args)``."""
        entry = self._function(function)
        types = [abi_type(p) for p in entry["inputs"]]
        if len(types) != len(args):
            raise ChainError(f"{self.name}.{function} takes {len(types)} arguments")
        return self._selectors[function] + encode(types, list(args))

    def encode_constructor(self, args: Sequence[Any]) -> bytes:
        """ABI-encoded constructor arguments (appended to the deployment bytecode)."""
        types = [abi_type(p) for p in self.constructor["inputs"]]
        return encode(types, list(args)) if types else b""

    def decode_result(self, function: str, data: bytes) -> Any:
        """The plain result of ``function``: a value, or a dict for a struct or several outputs."""
        outputs = self._function(function)["outputs"]
        values = decode([abi_type(p) for p in outputs], data)
        if len(outputs) == 1 and outputs[0]["type"] == "tuple":
            return _named(outputs[0]["components"], values[0])
        if len(outputs) == 1:
            return plain(values[0], abi_type(outputs[0]))
        return [plain(v, abi_type(p)) for p, v in zip(outputs, values, strict=True)]

    def decode_log(self, topics: Sequence[bytes], data: bytes) -> Json | None:
        """``{"event": name, **args}`` for a log of this contract, or None if unknown."""
        entry = self.events.get(topics[0]) if topics else None
        if entry is None:
            return None
        indexed = [p for p in entry["inputs"] if p.get("indexed")]
        others = [p for p in entry["inputs"] if not p.get("indexed")]
        kinds = [abi_type(p) for p in others]
        fast = _decode_words(kinds, data)
        decoded = decode(kinds, data) if fast is None else fast
        values = dict(zip((p["name"] for p in others), decoded, strict=True))
        for param, topic in zip(indexed, topics[1:], strict=True):
            # An indexed dynamic value is stored as its hash: keep the topic itself.
            kind = abi_type(param)
            if _is_dynamic(kind):
                values[param["name"]] = topic
                continue
            word = _decode_words([kind], topic)
            values[param["name"]] = decode([kind], topic)[0] if word is None else word[0]
        event: Json = {"event": entry["name"]}
        for param in entry["inputs"]:
            kind = abi_type(param)
            if param.get("indexed") and _is_dynamic(kind):
                kind = "bytes32"
            event[param["name"]] = plain(values[param["name"]], kind)
        return event

    def _function(self, function: str) -> Mapping[str, Any]:
        """The ABI entry of ``function``."""
        try:
            return self.functions[function]
        except KeyError as exc:
            raise ChainError(f"{self.name} has no function {function}") from exc


def _named(components: Sequence[Mapping[str, Any]], values: Sequence[Any]) -> Json:
    """A decoded struct as a dict of its fields."""
    return {str(c["name"]): plain(v, abi_type(c)) for c, v in zip(components, values, strict=True)}


_WORD_TYPE = re.compile(r"^(address|bool|uint(\d+)|int(\d+)|bytes(\d+))$")


@lru_cache(maxsize=8192)
def _checksummed(address: str | bytes) -> str:
    """EIP-55 form of an address (a keccak each: the few addresses a node's logs name are
    kept)."""
    return str(to_checksum_address(address))


def _decode_words(kinds: Sequence[str], data: bytes) -> list[Any] | None:
    """What ``eth_abi.decode(kinds, data)`` returns when every type is one 32-byte word
    (address, bool, intN, uintN, bytesN): read directly, about twenty times faster (a
    transaction registering a batch's fingerprints logs hundreds of events). None for any
    other type, short data or a word ``eth_abi`` would refuse (it decodes, or refuses, then).
    """
    if len(data) < 32 * len(kinds):
        return None
    values: list[Any] = []
    for index, kind in enumerate(kinds):
        found = _WORD_TYPE.match(kind)
        if found is None:
            return None
        word = data[32 * index : 32 * index + 32]
        value = _word(found, word)
        if value is None:
            return None
        values.append(value)
    return values


def _word(found: re.Match[str], word: bytes) -> Any:
    """One word as its type's value, or None when it is not a valid one."""
    name, unsigned, signed, fixed = found.groups()
    if name == "address":
        return _checksummed(word[12:]) if not any(word[:12]) else None
    if name == "bool":
        return None if any(word[:31]) or word[31] > 1 else word[31] == 1
    if unsigned is not None:
        number = int.from_bytes(word, "big")
        return number if number < 1 << int(unsigned) else None
    if signed is not None:
        number = int.from_bytes(word, "big", signed=True)
        bound = 1 << (int(signed) - 1)
        return number if -bound <= number < bound else None
    size = int(fixed)
    return word[:size] if 0 < size <= 32 and not any(word[size:]) else None


def _is_dynamic(kind: str) -> bool:
    """True for ABI types whose indexed topic is a hash rather than the value."""
    return kind in ("string", "bytes") or kind.endswith("]") or kind.startswith("(")
