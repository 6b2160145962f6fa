"""Printing for the CLI: Rich for people, one JSON document (or line) for machines."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import sys
from decimal import Decimal
from typing import Any

from rich.console import Console

console = Console()
err_console = Console(stderr=True)


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, frozenset | set | tuple):
        return list(value)
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def to_json(value: Any, *, indent: int | None = 2) -> str:
    """JSON text for CLI output (decimals as strings, dates ISO)."""
    return json.dumps(value, default=_default, ensure_ascii=False, indent=indent)


def emit_json(value: Any, *, line: bool = False) -> None:
    """Print ``value`` as JSON on stdout: indented, or one line for streams."""
    sys.stdout.write(to_json(value, indent=None if line else 2) + "\n")
    sys.stdout.flush()
