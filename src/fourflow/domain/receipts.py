"""Warehouse receipts (仓单) as the store records them: issue, pledges, sales and releases.

The chain holds a receipt's current state; these records are what the platform did with it,
each naming the chain operation that carries it (``op_id``). A record whose operation the chain
refused for good is left out of every read.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class WarehouseReceipt:
    """A receipt a warehouse issued for a lot it holds.

    Attributes:
        id: the receipt id.
        warehouse_id: the issuing warehouse.
        holder_id: the depositor it was issued to.
        goods_code: what the lot is (the price feed's code).
        description: the goods in words.
        description_hash: hex SHA-256 of ``description``.
        quantity: units issued.
        unit: the unit of ``quantity``.
        location: where the goods are kept.
        evidence_hash: hex SHA-256 of the receiving event.
        op_id: the issue operation.
    """

    id: str
    warehouse_id: str
    holder_id: str
    goods_code: str
    description: str
    description_hash: str
    quantity: int
    unit: str
    location: str
    evidence_hash: str
    op_id: str


class PledgeAction(StrEnum):
    """A receipt is pledged to a bank, and released by it."""

    PLEDGED = "pledged"
    RELEASED = "released"


@dataclass(frozen=True, slots=True)
class ReceiptPledge:
    """A pledge of a receipt to a bank, or the bank's release of it.

    Attributes:
        receipt_id: the receipt.
        action: pledged or released.
        actor_id: the holder pledging, or the bank releasing.
        op_id: the chain operation.
        bank_id: the pledgee bank (a pledge; ``None`` on a release).
        amount: what the holder owes the bank, minor units (a pledge).
        seq: the store's order.
    """

    receipt_id: str
    action: PledgeAction
    actor_id: str
    op_id: str
    bank_id: str | None = None
    amount: int | None = None
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class ReceiptSale:
    """An offer of part of a receipt to a buyer, delivered against payment.

    Attributes:
        id: the sale id.
        receipt_id: the receipt sold from.
        seller_id: the holder offering it.
        buyer_id: the buyer.
        buyer_receipt_id: the receipt the buyer's units pass into.
        quantity: units offered.
        price: the whole price, minor units of the settlement token.
        op_id: the offer operation.
    """

    id: str
    receipt_id: str
    seller_id: str
    buyer_id: str
    buyer_receipt_id: str
    quantity: int
    price: int
    op_id: str


class SaleAction(StrEnum):
    """What happens to a sale after the offer."""

    PAID = "paid"
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class SaleEvent:
    """A payment toward a sale (title passes pro rata), or its closing.

    Attributes:
        sale_id: the sale.
        action: paid or closed.
        actor_id: the buyer paying, or the party closing.
        op_id: the chain operation.
        amount: minor units paid (a payment).
        seq: the store's order.
    """

    sale_id: str
    action: SaleAction
    actor_id: str
    op_id: str
    amount: int | None = None
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class GoodsRelease:
    """Goods the issuing warehouse released physically from a receipt.

    Attributes:
        receipt_id: the receipt.
        quantity: units released.
        evidence_hash: hex SHA-256 of the shipping event.
        actor_id: the warehouse.
        op_id: the chain operation.
        seq: the store's order.
    """

    receipt_id: str
    quantity: int
    evidence_hash: str
    actor_id: str
    op_id: str
    seq: int | None = None
