"""Debt items: issue, split, pass up the chain, and the rest of an item's life.

One module per part of that life, each use case one function that changes the store and queues
its chain command in one transaction (the relay applies it idempotently by op id):

* ``issue``: issue on a verified trade, the debtor's later confirmation, cancellation;
* ``moves``: split, transfer, merge;
* ``disputes``: the debtor's dispute, its withdrawal, the operator's resolution;
* ``dilutions``: reduction by a credit note (the creditor proposes, the debtor accepts);
* ``payments``: payments routed banks first, settlement tokens minted;
* ``pledges``: a pledge released, foreclosed on default, bought back;
* ``views``: ``describe_item`` and ``item_history``.

The rules on an item's and a holding's state are the domain records' own
(``DebtItem.check_open``, ``Holding.check_move``, ``Holding.pledgeable`` ...). Callers keep
``from fourflow.services import items`` and ``items.<use case>``.
"""

from __future__ import annotations

from fourflow.domain.debt import DebtItem, Holding
from fourflow.domain.errors import (
    ConflictError,
    DomainValueError,
    NotFoundError,
    PermissionDeniedError,
)
from fourflow.services.items.common import (
    CONFIRMATION_VALIDITY,
    DEFAULT_GRACE_DAYS,
    amount_of,
    is_cancelled,
    item_outstanding,
    open_item,
    queue,
    text_hash,
)
from fourflow.services.items.dilutions import (
    Dilution,
    accept_dilution,
    credit_note_hash,
    dilute,
    dilution_plan,
    propose_dilution,
)
from fourflow.services.items.disputes import dispute_item, lift_dispute, open_disputes
from fourflow.services.items.issue import (
    DEFAULT_MAX_TENOR_DAYS,
    IssuanceRefusedError,
    cancel_item,
    confirm_item,
    issue_item,
)
from fourflow.services.items.moves import merge, split, transfer
from fourflow.services.items.payments import PaymentMethod, mint_tokens, pay
from fourflow.services.items.pledges import buy_back, mark_default, release_pledge
from fourflow.services.items.views import (
    ItemView,
    ItemViews,
    describe_item,
    item_history,
    money_view,
)
from fourflow.services.ports import Repayment

__all__ = [
    "CONFIRMATION_VALIDITY",
    "DEFAULT_GRACE_DAYS",
    "DEFAULT_MAX_TENOR_DAYS",
    "ConflictError",
    "DebtItem",
    "Dilution",
    "DomainValueError",
    "Holding",
    "IssuanceRefusedError",
    "ItemView",
    "ItemViews",
    "NotFoundError",
    "PaymentMethod",
    "PermissionDeniedError",
    "Repayment",
    "accept_dilution",
    "amount_of",
    "buy_back",
    "cancel_item",
    "confirm_item",
    "credit_note_hash",
    "describe_item",
    "dilute",
    "dilution_plan",
    "dispute_item",
    "is_cancelled",
    "issue_item",
    "item_history",
    "item_outstanding",
    "lift_dispute",
    "mark_default",
    "merge",
    "mint_tokens",
    "money_view",
    "open_disputes",
    "open_item",
    "pay",
    "propose_dilution",
    "queue",
    "release_pledge",
    "split",
    "text_hash",
    "transfer",
]
