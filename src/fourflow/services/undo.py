"""What a chain command's business change replaced, so a refusal can put the store back.

A service changes business records and queues a chain command in one transaction. The unit of
work's repositories journal, as they write, the state each debt item and holding had before
the transaction first touched it, each financing's status, and the ids of the items, holdings
and repayments it added (``UndoJournal``); the outbox takes the journal into the command's
``UndoLog`` when the command is queued. If the chain refuses the command, the relay restores
that state in the same transaction that marks the command failed (``services.relay``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from fourflow.domain.debt import (
    AssetType,
    Basis,
    DebtItem,
    Holding,
    ItemStatus,
    PledgeState,
)
from fourflow.domain.errors import DomainValueError
from fourflow.domain.financing import FinancingStatus


@dataclass(frozen=True, slots=True)
class UndoLog:
    """The state a command's business change replaced.

    Attributes:
        items: debt items as they were before the change.
        holdings: holdings as they were before the change.
        financings: ``(financing id, status before)`` of the financings it changed.
        added_items: items the change created (removed on undo, with their holdings).
        added_holdings: holdings the change created.
        added_repayments: repayments (and their routed parts) the change recorded.
        added_financings: financings the change created.
    """

    items: tuple[DebtItem, ...] = ()
    holdings: tuple[Holding, ...] = ()
    financings: tuple[tuple[str, FinancingStatus], ...] = ()
    added_items: tuple[str, ...] = ()
    added_holdings: tuple[str, ...] = ()
    added_repayments: tuple[str, ...] = ()
    added_financings: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """True when the change replaced nothing."""
        return not any(getattr(self, f.name) for f in dataclasses.fields(self))

    def touches(self) -> frozenset[str]:
        """The ids of every record the change wrote."""
        return frozenset(
            [i.id for i in self.items]
            + [h.id for h in self.holdings]
            + [f for f, _ in self.financings]
            + list(self.added_items + self.added_holdings)
            + list(self.added_repayments + self.added_financings)
        )


@dataclass(slots=True)
class UndoJournal:
    """Collects before-images as repositories write, until the outbox takes them."""

    items: dict[str, DebtItem] = field(default_factory=dict)
    holdings: dict[str, Holding] = field(default_factory=dict)
    financings: dict[str, FinancingStatus] = field(default_factory=dict)
    added_items: list[str] = field(default_factory=list)
    added_holdings: list[str] = field(default_factory=list)
    added_repayments: list[str] = field(default_factory=list)
    added_financings: list[str] = field(default_factory=list)

    def item_before(self, item: DebtItem | None) -> None:
        """Note an item's state before its first change (no-op for one added here)."""
        if item is not None and item.id not in self.items and item.id not in self.added_items:
            self.items[item.id] = item

    def holding_before(self, holding: Holding | None) -> None:
        """Note a holding's state before its first change."""
        if (
            holding is not None
            and holding.id not in self.holdings
            and holding.id not in self.added_holdings
        ):
            self.holdings[holding.id] = holding

    def financing_before(self, financing_id: str, status: FinancingStatus | None) -> None:
        """Note a financing's status before its first change."""
        if (
            status is not None
            and financing_id not in self.financings
            and financing_id not in self.added_financings
        ):
            self.financings[financing_id] = status

    def take(self) -> UndoLog:
        """The log so far; the journal starts again empty."""
        log = UndoLog(
            items=tuple(self.items.values()),
            holdings=tuple(self.holdings.values()),
            financings=tuple(self.financings.items()),
            added_items=tuple(self.added_items),
            added_holdings=tuple(self.added_holdings),
            added_repayments=tuple(self.added_repayments),
            added_financings=tuple(self.added_financings),
        )
        self.items.clear()
        self.holdings.clear()
        self.financings.clear()
        self.added_items.clear()
        self.added_holdings.clear()
        self.added_repayments.clear()
        self.added_financings.clear()
        return log


# --------------------------------------------------------------------------- JSON


def undo_to_json(log: UndoLog) -> dict[str, Any] | None:
    """The log as JSON (None when empty)."""
    if log.empty:
        return None
    return {
        "items": [_item_json(i) for i in log.items],
        "holdings": [_holding_json(h) for h in log.holdings],
        "financings": [[fid, str(status)] for fid, status in log.financings],
        "added_items": list(log.added_items),
        "added_holdings": list(log.added_holdings),
        "added_repayments": list(log.added_repayments),
        "added_financings": list(log.added_financings),
    }


def undo_from_json(data: Mapping[str, Any] | None) -> UndoLog:
    """Read a stored log (None: an empty log)."""
    if not data:
        return UndoLog()
    try:
        return UndoLog(
            items=tuple(_item_from(d) for d in data.get("items", ())),
            holdings=tuple(_holding_from(d) for d in data.get("holdings", ())),
            financings=tuple((str(f), FinancingStatus(s)) for f, s in data.get("financings", ())),
            added_items=tuple(data.get("added_items", ())),
            added_holdings=tuple(data.get("added_holdings", ())),
            added_repayments=tuple(data.get("added_repayments", ())),
            added_financings=tuple(data.get("added_financings", ())),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise DomainValueError(f"stored undo log is malformed: {exc}") from exc


def _item_json(item: DebtItem) -> dict[str, Any]:
    out = {f.name: getattr(item, f.name) for f in dataclasses.fields(item)}
    out["issue_date"] = item.issue_date.isoformat()
    out["maturity_date"] = item.maturity_date.isoformat()
    out["basis"] = int(item.basis)
    out["asset_type"] = int(item.asset_type)
    out["status"] = str(item.status)
    return out


def _item_from(data: Mapping[str, Any]) -> DebtItem:
    values = dict(data)
    values["issue_date"] = dt.date.fromisoformat(values["issue_date"])
    values["maturity_date"] = dt.date.fromisoformat(values["maturity_date"])
    values["basis"] = Basis(values["basis"])
    values["asset_type"] = AssetType(values["asset_type"])
    values["status"] = ItemStatus(values["status"])
    return DebtItem(**values)


def _holding_json(holding: Holding) -> dict[str, Any]:
    out = {f.name: getattr(holding, f.name) for f in dataclasses.fields(holding)}
    pledge = holding.pledge
    out["pledge"] = None if pledge is None else dataclasses.asdict(pledge)
    return out


def _holding_from(data: Mapping[str, Any]) -> Holding:
    values = dict(data)
    pledge = values.get("pledge")
    values["pledge"] = None if pledge is None else PledgeState(**pledge)
    return Holding(**values)
