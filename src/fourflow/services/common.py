"""Small helpers shared by the use cases: ids, canonical hashes, lookups that must succeed."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from fourflow.domain import facts
from fourflow.domain.debt import DebtItem, Holding
from fourflow.domain.errors import ConflictError, NotFoundError
from fourflow.domain.findings import VerificationReport
from fourflow.domain.parties import Organisation
from fourflow.services.ports import TradeRecord, UnitOfWork


def new_id(prefix: str) -> str:
    """A new unique id with a readable prefix (``item-...``, ``op-...``)."""
    return f"{prefix}-{uuid.uuid4().hex}"


def canonical_json(value: Any) -> bytes:
    """Canonical JSON for data made of str, int, bool, None, lists and dicts (RFC 8785 subset).

    With no floats, sorted keys, no insignificant white space and UTF-8 output, Python's
    encoder gives exactly the RFC 8785 form.
    """
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def report_payload(report: VerificationReport) -> dict[str, Any]:
    """The report as plain data, the form that is hashed and anchored."""
    return {
        "trade_id": report.trade_id,
        "status": report.status.value,
        "score": report.score,
        "rules_version": report.rules_version,
        "findings": [
            {
                "code": f.code,
                "severity": f.severity.value,
                "message": f.message,
                "documents": list(f.documents),
            }
            for f in report.findings
        ],
    }


def report_hash(report: VerificationReport) -> str:
    """Hex SHA-256 of the report's canonical JSON."""
    return hashlib.sha256(canonical_json(report_payload(report))).hexdigest()


def get_org(uow: UnitOfWork, org_id: str) -> Organisation:
    """The organisation, or NotFoundError."""
    org = uow.organisations.get(org_id)
    if org is None:
        raise NotFoundError(f"organisation {org_id} not found")
    return org


def find_org(uow: UnitOfWork, ref: str) -> Organisation:
    """An organisation by id, USCC or ``scheme:value`` key, or NotFoundError."""
    org = uow.organisations.get(ref) or uow.organisations.by_uscc(ref.upper())
    if org is None and ":" in ref:
        org = uow.organisations.by_key(ref)
    if org is None:
        raise NotFoundError(f"no organisation known as {ref!r}")
    return org


def get_trade(uow: UnitOfWork, trade_id: str) -> TradeRecord:
    """The trade, or NotFoundError."""
    trade = uow.trades.get(trade_id)
    if trade is None:
        raise NotFoundError(f"trade {trade_id} not found")
    return trade


def get_item(uow: UnitOfWork, item_id: str) -> DebtItem:
    """The debt item, or NotFoundError."""
    item = uow.items.get(item_id)
    if item is None:
        raise NotFoundError(f"debt item {item_id} not found")
    return item


def get_holding(uow: UnitOfWork, holding_id: str) -> Holding:
    """The holding, or NotFoundError."""
    holding = uow.items.get_holding(holding_id)
    if holding is None:
        raise NotFoundError(f"holding {holding_id} not found")
    return holding


def chain_address(org: Organisation) -> str:
    """The organisation's chain address; every onboarded member has one."""
    if org.chain_address is None:
        raise NotFoundError(f"organisation {org.name} has no chain account")
    return org.chain_address


def is_disputed(uow: UnitOfWork, item_id: str) -> bool:
    """True while the debtor's latest dispute of the item has not been lifted."""
    return facts.is_disputed(uow.disputes.for_item(item_id))


def refuse_if_disputed(uow: UnitOfWork, item_id: str) -> None:
    """Refuse to move, pledge or confirm an item its debtor disputes (the chain refuses too)."""
    if is_disputed(uow, item_id):
        raise ConflictError(f"debt item {item_id} is disputed by its debtor")
