"""Financing requests, decisions and financings of pledged debt-item holdings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar


class Outcome(StrEnum):
    """What a credit review decided."""

    APPROVE = "approve"
    DECLINE = "decline"
    REFER = "refer"


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason for a decision, in a credit officer's words.

    Attributes:
        code: stable reason code (documented in docs/policy.md).
        message: what it means for this request.
    """

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Decision:
    """A credit decision on a financing request.

    Attributes:
        outcome: approve, decline or refer.
        reasons: why, most important first.
        principal: the advance granted, minor units (0 unless approved).
        rate_bps: annual rate in basis points.
        policy_version: which policy decided (the policy's own label).
        policy_revision: the stored version of the bank's policy that decided (1 for the
            bank's first policy, one more per edit; ``None``: the default product, never set).
        model_version: the credit model that scored the request, if one did.
        pd: the calibrated probability of the bad outcome (30+ days late or never paid).
        expected_loss: PD × LGD × EAD, minor units.
        value: the asset's value on the decision day (docs/risk.md), minor units.
        score: the scorecard points, where the model is a scorecard.
        input_hash: hex SHA-256 of the decision's canonical inputs (anchored on the chain).
        decided_by: ``robot`` or ``person:<name>`` for a person deciding a referral.
        note: the person's recorded reason.
        review: the robot's referral a person decided on.
    """

    outcome: Outcome
    reasons: tuple[Reason, ...]
    principal: int
    rate_bps: int
    policy_version: str
    model_version: str | None = None
    pd: float | None = None
    expected_loss: int | None = None
    value: int | None = None
    score: float | None = None
    input_hash: str | None = None
    decided_by: str = "robot"
    note: str | None = None
    review: Decision | None = None
    policy_revision: int | None = None


class FinancingStatus(StrEnum):
    """Where a financing stands."""

    REQUESTED = "requested"
    DECLINED = "declined"
    REFERRED = "referred"
    APPROVED = "approved"  # approved, pledge waiting for the chain
    ACTIVE = "active"  # pledged on chain and disbursed
    REPAID = "repaid"
    FAILED = "failed"  # approved, but the chain refused the pledge: nothing was lent
    DEFAULTED = "defaulted"  # the debtor defaulted: the pledged holding passed to the bank


class FinancingKind(StrEnum):
    """What a financing is secured on (each kind is registered as its own 中登网 type)."""

    RECEIVABLE = "receivable"  # a pledged debt-item holding (应收账款质押)
    GOODS = "goods"  # a pledged warehouse receipt (仓单质押)


@dataclass(frozen=True, slots=True)
class Financing:
    """A bank's financing of a debt-item holding (kind ``receivable``).

    Attributes:
        id: FourFlow's id.
        item_id: the debt item.
        holding_id: the pledged holding.
        borrower_id: the holder who borrows.
        bank_id: the financing bank.
        requested: the principal asked for, minor units.
        principal: the principal granted, minor units.
        rate_bps: annual simple rate, basis points.
        start_date: disbursement (value) date.
        maturity_date: the repayment date (the item's maturity).
        status: where it stands.
        decision: the credit decision.
    """

    id: str
    item_id: str
    holding_id: str
    borrower_id: str
    bank_id: str
    requested: int
    principal: int
    rate_bps: int
    start_date: dt.date
    maturity_date: dt.date
    status: FinancingStatus
    decision: Decision | None = None

    kind: ClassVar[FinancingKind] = FinancingKind.RECEIVABLE


@dataclass(frozen=True, slots=True)
class GoodsFinancing:
    """A bank's financing against a pledged warehouse receipt (kind ``goods``, 仓单质押).

    Reviewed by the same robot, limits and reasons as a receivable financing
    (``risk.review.review_goods``), stored with its decision whatever the outcome, and its
    input hash anchored on the chain. Approved, it waits for the chain's pledge (``active``
    once applied, ``failed`` if refused); it ends ``repaid`` when the bank releases the pledge
    or a buyer's payment clears what the holder owed.

    Attributes:
        id: FourFlow's id.
        receipt_id: the pledged warehouse receipt.
        borrower_id: the receipt's holder, who borrows.
        bank_id: the financing bank (the pledgee).
        requested: what the holder asked to owe, minor units.
        principal: what the bank lends, minor units (0 unless approved).
        rate_bps: annual simple rate, basis points.
        start_date: the decision (value) day.
        currency: the ISO 4217 currency of the amounts.
        goods_code: the goods, as the price feed codes them.
        quantity: units in the warehouse when valued.
        status: where it stands.
        decision: the credit decision.
        pledge_op_id: the chain operation pledging the receipt (approved only).
        closed_op_id: the operation that ended the pledge (release, or a buyer's payment).
        maturity_date: the repayment date, if agreed (a receipt pledge has none by default).
    """

    id: str
    receipt_id: str
    borrower_id: str
    bank_id: str
    requested: int
    principal: int
    rate_bps: int
    start_date: dt.date
    currency: str
    goods_code: str
    quantity: int
    status: FinancingStatus
    decision: Decision | None = None
    pledge_op_id: str | None = None
    closed_op_id: str | None = None
    maturity_date: dt.date | None = None

    kind: ClassVar[FinancingKind] = FinancingKind.GOODS
