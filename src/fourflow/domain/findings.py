"""Findings of trade verification, and the report that gathers them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    """How much a finding weighs: an error fails the trade, a warning makes it partial."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing verification found about a trade.

    Attributes:
        code: stable code, documented in docs/verification.md (e.g. ``FLOW_MISSING``).
        severity: info, warning or error.
        message: what was found, in words a credit officer reads.
        documents: ids of the documents that show it.
    """

    code: str
    severity: Severity
    message: str
    documents: tuple[str, ...] = ()


class VerificationStatus(StrEnum):
    """The outcome of verifying a trade."""

    VERIFIED = "verified"
    PARTIAL = "partial"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class VerificationReport:
    """The verdict on one trade.

    Attributes:
        trade_id: the trade verified.
        status: verified, partial or failed.
        score: 0-100, higher is more consistent.
        findings: every finding, errors first.
        rules_version: the version of the rule set that produced it.
    """

    trade_id: str
    status: VerificationStatus
    score: int
    findings: tuple[Finding, ...]
    rules_version: str

    @property
    def financeable(self) -> bool:
        """True when the trade may back a debt item (no error findings)."""
        return self.status is not VerificationStatus.FAILED
