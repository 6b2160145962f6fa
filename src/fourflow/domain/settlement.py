"""Repayment routes and settlement notices: the records of issue 20's locked repayment path.

An item's *route* says how its debtor pays: ``tokens`` (settlement tokens the debtor approved
to the DebtItem contract, collected at maturity by the Repayment contract) or ``account`` (a
collection account at the debtor's bank: only that bank's attested statements pay the item).
A *notice* is what the maturity job or the margin watcher told a party, keyed so that it is
given once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import IntEnum, StrEnum


class RouteKind(StrEnum):
    """How a debtor pays an item (the Repayment contract's route kinds)."""

    TOKENS = "tokens"
    ACCOUNT = "account"

    @property
    def code(self) -> int:
        """The contract's route kind number."""
        return RouteCode[self.name].value


class RouteCode(IntEnum):
    """Route kinds as the Repayment contract numbers them."""

    TOKENS = 1
    ACCOUNT = 2


class RouteAction(StrEnum):
    """What happened to a route."""

    LOCKED = "locked"
    CHANGED = "changed"


@dataclass(frozen=True, slots=True)
class RouteEvent:
    """One lock or change of an item's repayment route.

    Attributes:
        item_id: the item.
        action: locked (by the debtor) or changed (by the debtor and every pledgee).
        kind: tokens or account.
        bank_id: the collection account's bank (account routes).
        account: the collection account's number (account routes).
        signers: the organisations whose signatures made the change.
        actor_id: who submitted it.
        op_id: the chain operation that carries it.
    """

    item_id: str
    action: RouteAction
    kind: RouteKind
    bank_id: str | None
    account: str | None
    signers: tuple[str, ...]
    actor_id: str
    op_id: str
    seq: int | None = None


class NoticeKind(StrEnum):
    """What a settlement notice tells its recipient."""

    REMINDER = "reminder"  # the debtor: maturity is near, the route must hold the funds
    UNDERFUNDED = "underfunded"  # holders and banks: near maturity, the token route holds less
    COLLECTED = "collected"  # holders and banks: paid at maturity through the route
    SHORT = "short"  # holders and banks: the route held less than was due; item overdue
    UNROUTED = "unrouted"  # holders and banks: due today, no collectable route
    DEFAULTED = "defaulted"  # holders, banks and pledgors: default rule ran after grace
    MARGIN_CALL = "margin_call"  # bank and pledgor: receipt's value below maintenance
    MARGIN_MET = "margin_met"  # bank and pledgor: value restored or debt reduced in time
    MARGIN_SALE = "margin_sale"  # bank and pledgor: the unmet call sold the goods, bank first
    BYPASS = "bypass"  # holders' banks: a statement shows payment outside the route


@dataclass(frozen=True, slots=True)
class Notice:
    """One notice given to one party.

    Attributes:
        key: unique per notice (kind, subject, recipient, day): a second run gives none again.
        kind: what it says.
        subject_id: the item or receipt it is about.
        recipient_id: who is told.
        on_day: the (chain's) day it was given.
        amount: the amount it is about, minor units (None if none).
        deadline: the day by which something must happen (margin calls).
        text: the message, in English.
        op_id: the chain operation it came with (collections, defaults, sales), if any.
    """

    key: str
    kind: NoticeKind
    subject_id: str
    recipient_id: str
    on_day: dt.date
    text: str
    amount: int | None = None
    deadline: dt.date | None = None
    op_id: str | None = None
    seq: int | None = None

    @staticmethod
    def key_of(kind: NoticeKind, subject_id: str, recipient_id: str, on_day: dt.date) -> str:
        """The notice key: one notice of a kind per subject, recipient and day."""
        return f"{kind.value}|{subject_id}|{recipient_id}|{on_day.isoformat()}"
