"""Placeholder while the epcis reader is written: detects nothing."""

from fourflow.adapters.documents.registry import FormatSpec


def _never(*_args: object, **_kwargs: object) -> list[object]:
    return []


FORMAT = FormatSpec("epcis", lambda _s: False, _never)  # type: ignore[arg-type]
