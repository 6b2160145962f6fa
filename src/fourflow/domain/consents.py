"""A core enterprise's data, opened to banks under its consent and paid for by the read
(issue 16, item 6).

A core enterprise (the *grantor*) consents that one bank (the *grantee*) reads some *kinds* of
its data (its payment history as a debtor, its trade records), about its trades with some
*counterparties* (or all of them), for one *purpose*, over a *term* of days; it may revoke the
consent at any time. It keeps a price list (per data kind, per read, in minor units of its
currency). Every read of its data by a bank is metered: who (the bank and the person or
machine client), what (the kind and the object read), when, for which purpose, under which
consent and for what fee. A read without a consent in force for exactly that bank, kind,
purpose and day is refused, and a refused read is not metered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from fourflow.domain.errors import DomainValueError, PermissionDeniedError


class DataKind(StrEnum):
    """What of a core enterprise's data a bank may read."""

    #: its invoices as a debtor and how it paid them (amounts, due dates, payments, credit
    #: notes, disputes): what the credit review's debtor features are computed from.
    PAYMENT_HISTORY = "payment_history"
    #: its trade records: the parties, scenario, verification status and score of each trade.
    TRADES = "trades"


class DataPurpose(StrEnum):
    """Why a bank reads a core enterprise's data (a consent names exactly one)."""

    CREDIT_REVIEW = "credit_review"
    POST_LOAN_MONITORING = "post_loan_monitoring"


#: The highest price of one read, minor units (one million in the currency).
MAX_PRICE_MINOR = 100_000_000
#: A consent's longest term, in days (a consent is renewed, not granted for ever).
MAX_TERM_DAYS = 3 * 366


class ConsentRequiredError(PermissionDeniedError):
    """No consent in force lets this bank read this data of this core enterprise for this
    purpose today: the read is refused and nothing is metered."""


def parse_kind(value: str) -> DataKind:
    """A data kind from its name, or DomainValueError naming the known ones."""
    try:
        return DataKind(value.strip())
    except ValueError:
        raise DomainValueError(
            f"data kind {value!r} is not one of {[k.value for k in DataKind]}"
        ) from None


def parse_purpose(value: str) -> DataPurpose:
    """A purpose from its name, or DomainValueError naming the known ones."""
    try:
        return DataPurpose(value.strip())
    except ValueError:
        raise DomainValueError(
            f"purpose {value!r} is not one of {[p.value for p in DataPurpose]}"
        ) from None


def parse_month(value: str) -> tuple[dt.date, dt.date]:
    """``YYYY-MM`` -> (its first day, the first day of the next month)."""
    try:
        start = dt.date.fromisoformat(value.strip() + "-01")
    except ValueError:
        raise DomainValueError(f"month {value!r} is not YYYY-MM (for example 2026-11)") from None
    end = dt.date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return start, end


@dataclass(frozen=True, slots=True)
class Consent:
    """A core enterprise's consent that one bank reads some of its data.

    Attributes:
        id: the consent's id.
        grantor_id: the core enterprise whose data it is.
        grantee_id: the bank that may read it.
        kinds: the data kinds it covers.
        counterparties: the organisations whose trades with the grantor it covers; empty:
            every counterparty.
        purpose: the one purpose the data may be read for.
        valid_from, valid_to: the term, both days included.
        granted_by: the grantor's person (or machine client) who granted it.
        granted_at: when.
        revoked_at, revoked_by, revoked_reason: its revocation, if revoked.
    """

    id: str
    grantor_id: str
    grantee_id: str
    kinds: frozenset[DataKind]
    purpose: DataPurpose
    valid_from: dt.date
    valid_to: dt.date
    granted_by: str
    granted_at: dt.datetime
    counterparties: tuple[str, ...] = ()
    revoked_at: dt.datetime | None = None
    revoked_by: str | None = None
    revoked_reason: str | None = None

    def __post_init__(self) -> None:
        if not self.kinds:
            raise DomainValueError("a consent names at least one data kind")
        if self.grantor_id == self.grantee_id:
            raise DomainValueError("a consent's grantee is another organisation than its grantor")
        if self.valid_to < self.valid_from:
            raise DomainValueError(
                f"valid_to {self.valid_to} is before valid_from {self.valid_from}"
            )
        if (self.valid_to - self.valid_from).days > MAX_TERM_DAYS:
            raise DomainValueError(
                f"a consent runs at most {MAX_TERM_DAYS} days; {self.valid_from} to "
                f"{self.valid_to} is longer"
            )

    def status(self, day: dt.date) -> str:
        """``revoked``, ``pending`` (before its term), ``expired`` or ``active`` on ``day``."""
        if self.revoked_at is not None:
            return "revoked"
        if day < self.valid_from:
            return "pending"
        if day > self.valid_to:
            return "expired"
        return "active"

    def covers(self, kind: DataKind, purpose: DataPurpose, day: dt.date) -> bool:
        """True when it is in force on ``day`` for ``kind`` read for ``purpose``."""
        return self.status(day) == "active" and kind in self.kinds and purpose is self.purpose

    def covers_counterparty(self, org_id: str) -> bool:
        """True when the grantor's trades with ``org_id`` are covered."""
        return not self.counterparties or org_id in self.counterparties


@dataclass(frozen=True, slots=True)
class DataPrice:
    """A core enterprise's price of one read of one kind of its data."""

    grantor_id: str
    kind: DataKind
    price_minor: int
    currency: str
    set_by: str
    set_at: dt.datetime

    def __post_init__(self) -> None:
        if not 0 <= self.price_minor <= MAX_PRICE_MINOR:
            raise DomainValueError(
                f"the price of a {self.kind.value} read is between 0 and {MAX_PRICE_MINOR} "
                "minor units"
            )


@dataclass(frozen=True, slots=True)
class DataUsage:
    """One metered read of a core enterprise's data by a bank.

    Attributes:
        id: the read's id.
        grantor_id: whose data was read.
        grantee_id: the bank that read it.
        reader: the bank's person or machine client (``robot`` for the review robot).
        kind: the data kind read.
        object_id: what was read (a financing request the robot reviewed, or the grantor
            for a direct read).
        records: how many records the read returned (invoices, trades).
        purpose: the purpose it was read for.
        consent_id: the consent that allowed it.
        fee_minor: the fee at the grantor's price in force then, minor units of ``currency``.
        currency: the price list's currency.
        read_at: when (UTC).
    """

    id: str
    grantor_id: str
    grantee_id: str
    reader: str
    kind: DataKind
    object_id: str
    records: int
    purpose: DataPurpose
    consent_id: str
    fee_minor: int
    currency: str
    read_at: dt.datetime


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One bank's reads of one data kind in a month, and their fees."""

    grantee_id: str
    kind: DataKind
    reads: int
    records: int
    fee_minor: int
    currency: str


@dataclass(frozen=True, slots=True)
class Statement:
    """A core enterprise's monthly statement of fees per bank and data kind."""

    grantor_id: str
    month: str
    lines: tuple[StatementLine, ...] = field(default_factory=tuple)

    @classmethod
    def of(cls, grantor_id: str, month: str, usage: Iterable[DataUsage]) -> Statement:
        """The statement of ``usage`` (the grantor's reads in ``month``)."""
        totals: dict[tuple[str, DataKind, str], list[int]] = {}
        for u in usage:
            if u.grantor_id != grantor_id:
                raise DomainValueError(f"read {u.id} is not of {grantor_id}'s data")
            row = totals.setdefault((u.grantee_id, u.kind, u.currency), [0, 0, 0])
            row[0] += 1
            row[1] += u.records
            row[2] += u.fee_minor
        lines = tuple(
            StatementLine(bank, kind, r, n, fee, cur)
            for (bank, kind, cur), (r, n, fee) in sorted(totals.items())
        )
        return cls(grantor_id, month, lines)

    def totals_by_bank(self) -> dict[tuple[str, str], int]:
        """(bank, currency) -> its fees for the month, minor units."""
        out: dict[tuple[str, str], int] = {}
        for line in self.lines:
            key = (line.grantee_id, line.currency)
            out[key] = out.get(key, 0) + line.fee_minor
        return out

    def total(self) -> dict[str, int]:
        """currency -> every bank's fees for the month, minor units."""
        out: dict[str, int] = {}
        for line in self.lines:
            out[line.currency] = out.get(line.currency, 0) + line.fee_minor
        return out
