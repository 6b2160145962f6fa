"""Strict, bounded JSON loading shared by every JSON reader."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from fourflow.adapters.documents.errors import DocumentRejectedError, Problem

MAX_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 64
# Strings (skipped whole, so brackets inside them do not count) or a bracket.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in JSON text (strings are skipped)."""
    depth = deepest = 0
    for match in _TOKENS.finditer(text):
        mark = match.group()
        if mark in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif mark in "]}":
            depth -= 1
    return deepest


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a number")


def load_json(raw: bytes, source: str) -> Any:
    """Decode and parse JSON bytes strictly (UTF-8, no NaN/Infinity, no duplicate keys)."""
    if len(raw) > MAX_BYTES:
        raise DocumentRejectedError(
            [Problem("TOO_LARGE", f"{source}: {len(raw)} bytes exceeds {MAX_BYTES}")]
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentRejectedError(
            [Problem("ENCODING", f"{source}: not UTF-8 ({exc.reason})", f"byte {exc.start}")]
        ) from None

    # NUL cannot be stored (PostgreSQL text) and has no place in a trade document.
    if "\x00" in text or "\\u0000" in text:
        raise DocumentRejectedError(
            [Problem("BAD_CHARACTER", f"{source}: contains a NUL character")]
        )
    # Python's JSON parser recurses in C: hostile nesting must be refused before parsing.
    depth = json_depth(text)
    if depth > MAX_DEPTH:
        raise DocumentRejectedError(
            [Problem("TOO_DEEP", f"{source}: nesting depth {depth} exceeds {MAX_DEPTH}")]
        )

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                raise ValueError(f"duplicate key {key!r}")
            result[key] = value
        return result

    try:
        return json.loads(
            text,
            parse_float=Decimal,
            parse_constant=_reject_constant,
            object_pairs_hook=no_duplicates,
        )
    except json.JSONDecodeError as exc:
        raise DocumentRejectedError(
            [Problem("NOT_JSON", f"{source}: {exc.msg}", f"line {exc.lineno} column {exc.colno}")]
        ) from None
    except (ValueError, RecursionError) as exc:
        raise DocumentRejectedError([Problem("NOT_JSON", f"{source}: {exc}")]) from None
