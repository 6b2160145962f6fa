"""Mandates: a party lets an agent send its evidence for it (docs/verification.md, "Provenance").

A document counts as its issuing party's evidence only when that party, or an agent it has
mandated on the platform, submitted it: a carrier sending the seller's despatch advice, a
warehouse its receipt, an ERP integrator the buyer's orders. A mandate names the principal,
the agent, the document kinds it covers and its term; it is recorded on the platform by the
principal.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from fourflow.domain.documents import DocumentKind
from fourflow.domain.errors import DomainValueError


@dataclass(frozen=True, slots=True)
class Mandate:
    """A principal's standing authority for an agent to submit documents of some kinds.

    Attributes:
        id: FourFlow's id for the mandate.
        principal_id: the organisation whose evidence the agent sends.
        agent_id: the organisation that sends it (carrier, warehouse, ERP integrator ...).
        kinds: the document kinds the mandate covers.
        valid_from: first day of its term.
        valid_to: last day of its term (None: until revoked).
        granted_on: the day it was recorded.
        note: what the mandate is for, in words.
        revoked_on: the day the principal revoked it (it covers no day from then on).
        revoked_by: who revoked it (the principal's id, or a person acting for it).
        revoke_reason: why, in words.
    """

    id: str
    principal_id: str
    agent_id: str
    kinds: frozenset[DocumentKind]
    valid_from: dt.date
    valid_to: dt.date | None = None
    granted_on: dt.date | None = None
    note: str = ""
    revoked_on: dt.date | None = None
    revoked_by: str | None = None
    revoke_reason: str | None = None

    def __post_init__(self) -> None:
        if self.principal_id == self.agent_id:
            raise DomainValueError("a mandate needs an agent other than its principal")
        if not self.kinds:
            raise DomainValueError("a mandate must cover at least one document kind")
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise DomainValueError(
                f"a mandate's term ends ({self.valid_to}) before it starts ({self.valid_from})"
            )

    def covers(self, principal_id: str, agent_id: str, kind: DocumentKind, day: dt.date) -> bool:
        """True when this mandate lets ``agent_id`` send ``principal_id``'s ``kind`` on ``day``."""
        return (
            self.principal_id == principal_id
            and self.agent_id == agent_id
            and kind in self.kinds
            and self.valid_from <= day
            and (self.valid_to is None or day <= self.valid_to)
            and (self.revoked_on is None or day < self.revoked_on)
        )


@dataclass(frozen=True, slots=True)
class SignalClearance:
    """An operator's decision that a fraud signal on a trade is explained, and why.

    Until a signal is cleared it blocks issuance on evidence and declines or refers financing
    (docs/verification.md, "Gating"). A clearance names the trade and the signal's code; a
    later signal of another code is not cleared by it. ``cleared_by`` is the operator
    organisation, ``person`` the officer who decided (when named).
    """

    trade_id: str
    code: str
    cleared_by: str
    reason: str
    on_day: dt.date
    person: str | None = None

    def __post_init__(self) -> None:
        if not self.reason.strip():
            raise DomainValueError("clearing a fraud signal needs a reason in words")
