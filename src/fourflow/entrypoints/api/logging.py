"""Structured logs with secrets and personal data redacted (structlog)."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

REDACTED = "[redacted]"
#: Keys whose values never reach a log.
SECRET_KEYS = re.compile(
    r"pass(word)?|secret|token|authori[sz]ation|api[_-]?key|cookie|totp|invitation|email",
    re.IGNORECASE,
)
#: FourFlow's own secrets, wherever they appear in a value.
SECRET_VALUES = re.compile(r"\bff[arki]_[A-Za-z0-9_\-]{8,}")
BEARER = re.compile(r"(?i)bearer\s+\S+")


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return BEARER.sub("Bearer " + REDACTED, SECRET_VALUES.sub(REDACTED, value))
    if isinstance(value, dict):
        return {k: REDACTED if SECRET_KEYS.search(str(k)) else _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def redact(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A structlog processor: secret keys' values and secret-looking values are replaced."""
    for key in list(event):
        if SECRET_KEYS.search(key):
            event[key] = REDACTED
        else:
            event[key] = _clean(event[key])
    return event


def configure(level_name: str) -> None:
    """JSON lines on stderr at ``level_name``, redacted."""
    level = logging.getLevelNamesMapping().get(level_name.upper(), logging.WARNING)
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )
