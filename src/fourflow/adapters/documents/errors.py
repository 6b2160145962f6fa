"""Errors raised while reading documents: each names what is wrong and where."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fourflow.domain.errors import FourFlowError


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem with a document.

    Attributes:
        code: stable code (``SCHEMA``, ``NOT_JSON``, ``BAD_VALUE`` ...).
        message: what is wrong.
        location: where (a JSON pointer, an XPath, a line number).
    """

    code: str
    message: str
    location: str = ""


class DocumentRejectedError(FourFlowError, ValueError):
    """A document could not be accepted; ``problems`` says why."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        text = "; ".join(
            f"{p.message} (at {p.location})" if p.location else p.message for p in problems[:5]
        )
        more = f" (+{len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(text + more)


class PartlyRejectedError(DocumentRejectedError):
    """Some documents of a file were refused, the others read: ``problems`` says why, and
    ``partial`` holds the documents read (ingest keeps them and reports the problems)."""

    def __init__(self, problems: list[Problem], partial: Sequence[object]) -> None:
        super().__init__(problems)
        self.partial = list(partial)
