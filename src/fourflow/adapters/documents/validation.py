"""Validation without storing (``fourflow validate``): a file's format and every failed rule.

A format with a validator reports each failed schema or business rule with its flag; a format
without one is parsed, and what the parser refuses is reported as fatal.
"""

from __future__ import annotations

from dataclasses import dataclass

from fourflow.adapters.documents.registry import ReadContext, ValidationIssue, detect
from fourflow.domain.errors import FourFlowError


@dataclass(frozen=True, slots=True)
class DocumentValidation:
    """What validating one file found.

    Attributes:
        format: the detected format's name, None when no format FourFlow reads matches.
        issues: every failed rule (``fatal`` or ``warning``).
    """

    format: str | None
    issues: tuple[ValidationIssue, ...]

    @property
    def valid(self) -> bool:
        """True when no issue is fatal."""
        return not any(i.flag == "fatal" for i in self.issues)


def _problems(exc: FourFlowError) -> list[ValidationIssue]:
    problems = getattr(exc, "problems", None) or []
    if not problems:
        return [ValidationIssue(type(exc).__name__, "fatal", str(exc))]
    return [ValidationIssue(pr.code, "fatal", pr.message, pr.location) for pr in problems]


def validate_document(raw: bytes, *, source: str, rules: bool) -> DocumentValidation:
    """Detect the format of ``raw`` and validate it (with ``rules``: business rules too)."""
    spec = detect(raw)
    issues: list[ValidationIssue] = []
    if spec is None:
        issues.append(ValidationIssue("FORMAT", "fatal", "not a document format FourFlow reads"))
    elif spec.validate is None:
        try:
            spec.parse(raw, source=source, ctx=ReadContext())
        except FourFlowError as exc:
            issues.extend(_problems(exc))
    else:
        try:
            issues.extend(spec.validate(raw, source=source, rules=rules))
        except FourFlowError as exc:
            issues.extend(_problems(exc))
    return DocumentValidation(spec.name if spec else None, tuple(issues))
