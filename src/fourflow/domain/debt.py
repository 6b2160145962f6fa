"""Digital debt items (数字债项), their holdings and pledges, and the payment routing rule.

Amounts here are integer minor units, exactly as the debt-item contract holds them, so that
the pure routing function below and the contract can be compared number for number.

Routing rule (docs/routing.md):

1. Every open holding of an item is a claim of equal rank on the debtor. A payment ``P`` is
   shared across holdings in proportion to their outstanding value ``v_i`` (``V = sum v_i``):
   ``share_i = floor(P * v_i / V)``. The ``r = P - sum share_i`` minor units left by rounding
   (``r`` is less than the number of holdings) go one each to the first ``r`` holdings in the
   order they were created. The shares always add up to ``P`` exactly.
2. Within a pledged holding, the bank is paid first: accrued interest, then principal, up to
   what it is owed; the holder receives the rest of the holding's share.
3. Interest is simple, actual/365, on the outstanding principal, accrued in whole days between
   value dates and rounded down to a minor unit: ``floor(principal * rate_bps * days /
   3_650_000)``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from enum import IntEnum, StrEnum

from fourflow.domain.errors import ConflictError, DomainValueError, PermissionDeniedError

EPOCH = dt.date(1970, 1, 1)
BPS_DAYS = 10_000 * 365


def day_number(day: dt.date) -> int:
    """Days since 1970-01-01, the date unit the contracts use."""
    return (day - EPOCH).days


def from_day_number(days: int) -> dt.date:
    """The date ``days`` after 1970-01-01."""
    return EPOCH + dt.timedelta(days=days)


class Basis(IntEnum):
    """Why a debt item may be trusted; the same numbers are stored on the chain."""

    VERIFIED = 1  # issued on the verified four flows alone (transaction credit)
    CONFIRMED = 2  # the debtor signed a confirmation of the payable


class AssetType(IntEnum):
    """What the item is a claim to."""

    RECEIVABLE = 1  # an accounts receivable backed by invoices
    CONTRACT_RIGHT = 2  # a contracted payment right (procurement payments, ticket revenue)


class ItemStatus(StrEnum):
    """Where a debt item is in its life."""

    PENDING = "pending"  # accepted, waiting for the chain
    ACTIVE = "active"
    SETTLED = "settled"
    OVERDUE = "overdue"
    DEFAULTED = "defaulted"


class PledgeStatus(StrEnum):
    """A pledge is active until the bank has been paid in full."""

    ACTIVE = "active"
    RELEASED = "released"


def accrued_interest(principal: int, rate_bps: int, days: int) -> int:
    """Simple actual/365 interest in minor units, rounded down."""
    if principal < 0 or rate_bps < 0 or days < 0:
        raise DomainValueError("interest: principal, rate and days must not be negative")
    return principal * rate_bps * days // BPS_DAYS


@dataclass(frozen=True, slots=True)
class PledgeState:
    """What a bank is owed on a pledged holding.

    Attributes:
        bank: the pledgee (bank organisation id or chain address).
        principal: principal still outstanding, minor units.
        interest: interest accrued and unpaid up to ``accrued_to``, minor units.
        rate_bps: annual simple rate in basis points.
        accrued_to: day number up to which interest has been accrued.
    """

    bank: str
    principal: int
    interest: int
    rate_bps: int
    accrued_to: int

    def owed_at(self, day: int) -> tuple[int, int]:
        """(interest, principal) owed on ``day`` after accruing since ``accrued_to``."""
        if day < self.accrued_to:
            raise DomainValueError(f"value day {day} is before the last accrual {self.accrued_to}")
        extra = accrued_interest(self.principal, self.rate_bps, day - self.accrued_to)
        return self.interest + extra, self.principal

    @property
    def active(self) -> bool:
        """True while the bank is owed something."""
        return self.principal > 0 or self.interest > 0


@dataclass(frozen=True, slots=True)
class HoldingClaim:
    """One holding's claim on the debtor, as routing needs it.

    Attributes:
        holding_id: the holding.
        holder: who holds it.
        outstanding: the part of the face value not yet paid, minor units.
        pledge: what the bank is owed, if the holding is pledged.
    """

    holding_id: str
    holder: str
    outstanding: int
    pledge: PledgeState | None = None


@dataclass(frozen=True, slots=True)
class RoutedPayment:
    """How much of a payment went where, for one holding.

    Attributes:
        holding_id: the holding the share belongs to.
        share: the holding's whole share of the payment.
        to_bank: paid to the pledgee bank (interest first, then principal).
        to_bank_interest: the interest part of ``to_bank``.
        to_holder: paid to the holder.
        bank: the pledgee, when there is one.
        holder: the holder.
    """

    holding_id: str
    holder: str
    share: int
    to_bank: int
    to_bank_interest: int
    to_holder: int
    bank: str | None


def split_pro_rata(payment: int, weights: list[int]) -> list[int]:
    """Share ``payment`` over ``weights``: floors, then one unit each to the first holdings."""
    total = sum(weights)
    if payment < 0:
        raise DomainValueError("payment must not be negative")
    if total <= 0:
        raise DomainValueError("nothing is outstanding to pay")
    if payment > total:
        raise DomainValueError(f"payment {payment} exceeds the outstanding {total}")
    shares = [payment * w // total for w in weights]
    remainder = payment - sum(shares)
    for i in range(len(shares)):
        if remainder == 0:
            break
        if weights[i] > shares[i]:
            shares[i] += 1
            remainder -= 1
    return shares


def route_payment(
    claims: list[HoldingClaim], payment: int, value_day: int
) -> tuple[list[RoutedPayment], list[HoldingClaim]]:
    """Route a debtor's payment over the holdings of one item.

    Returns the routed parts (one per holding with a non-zero outstanding) and the claims
    as they stand after the payment.
    """
    open_claims = [c for c in claims if c.outstanding > 0]
    shares = split_pro_rata(payment, [c.outstanding for c in open_claims])
    routed: list[RoutedPayment] = []
    after: dict[str, HoldingClaim] = {}
    for claim, share in zip(open_claims, shares, strict=True):
        to_bank = to_interest = 0
        pledge = claim.pledge
        if pledge is not None and pledge.active:
            interest, principal = pledge.owed_at(value_day)
            to_interest = min(share, interest)
            to_principal = min(share - to_interest, principal)
            to_bank = to_interest + to_principal
            pledge = replace(
                pledge,
                interest=interest - to_interest,
                principal=principal - to_principal,
                accrued_to=value_day,
            )
        routed.append(
            RoutedPayment(
                holding_id=claim.holding_id,
                holder=claim.holder,
                share=share,
                to_bank=to_bank,
                to_bank_interest=to_interest,
                to_holder=share - to_bank,
                bank=claim.pledge.bank if claim.pledge else None,
            )
        )
        after[claim.holding_id] = replace(
            claim, outstanding=claim.outstanding - share, pledge=pledge
        )
    return routed, [after.get(c.holding_id, c) for c in claims]


@dataclass(frozen=True, slots=True)
class Holding:
    """A part of a debt item held by one party.

    Attributes:
        id: FourFlow's id for the holding.
        item_id: the debt item it is part of.
        holder_id: the organisation holding it.
        amount: its face value in minor units (what it was split or transferred as).
        outstanding: what the debtor still owes on it, minor units.
        parent_id: the holding it was split from, if any (provenance).
        acquired_from: the organisation it was transferred from, if any.
        pledge_bank_id: the bank it is pledged to, if pledged.
        pledge: what the bank is owed, if pledged.
        received: what the holder itself has been paid from settlements, minor units.
    """

    id: str
    item_id: str
    holder_id: str
    amount: int
    outstanding: int
    parent_id: str | None = None
    acquired_from: str | None = None
    pledge_bank_id: str | None = None
    pledge: PledgeState | None = None
    received: int = 0

    @property
    def locked(self) -> bool:
        """A pledged holding cannot be split, transferred or pledged again until released."""
        return self.pledge is not None and self.pledge.active

    @property
    def pledgeable(self) -> bool:
        """Something is owed on it and no bank holds a live pledge of it."""
        return self.outstanding > 0 and not self.locked

    @property
    def foreclosed(self) -> bool:
        """It passed to its pledgee bank when its item defaulted (the pledgor may buy it back)."""
        return (
            self.pledge_bank_id is not None
            and self.pledge_bank_id == self.holder_id
            and self.acquired_from is not None
        )

    def check_move(self, actor_id: str, amount: int) -> None:
        """Refuse ``actor_id`` splitting or transferring ``amount`` of it, saying why: only its
        holder moves it, never while pledged, a positive amount up to what is outstanding."""
        if self.holder_id != actor_id:
            raise PermissionDeniedError(f"holding {self.id} is not held by {actor_id}")
        if self.locked:
            raise ConflictError(f"holding {self.id} is pledged and locked")
        if amount <= 0:
            raise DomainValueError("amount must be positive")
        if amount > self.outstanding:
            raise DomainValueError(
                f"amount {amount} exceeds the holding's outstanding {self.outstanding}"
            )

    def movable_by(self, actor_id: str, amount: int) -> bool:
        """True when ``actor_id`` may split or transfer ``amount`` of it (``check_move``)."""
        try:
            self.check_move(actor_id, amount)
        except (ConflictError, DomainValueError, PermissionDeniedError):
            return False
        return True

    def check_buy_back(self, actor_id: str) -> None:
        """Refuse anyone but the pledgor taking back a foreclosed holding."""
        if not self.foreclosed or self.acquired_from != actor_id:
            raise PermissionDeniedError(
                f"{actor_id} is not the pledgor of foreclosed holding {self.id}"
            )


@dataclass(frozen=True, slots=True)
class DebtItem:
    """A digital debt item: the debtor's payable for one verified trade, on the chain.

    Attributes:
        id: FourFlow's id for the item.
        trade_id: the verified trade it rests on.
        debtor_id: who owes (the buyer, often a core enterprise).
        creditor_id: to whom it was first issued (the seller).
        currency: ISO 4217 currency.
        face_value: minor units.
        issue_date: when it was issued.
        maturity_date: when the debtor must pay.
        basis: confirmed by the debtor's signature, or verified on the evidence alone.
        asset_type: receivable or contracted payment right.
        report_hash: hex hash of the verification report it cites.
        status: pending, active, settled, overdue or defaulted.
        paid: minor units the debtor has paid so far.
    """

    id: str
    trade_id: str
    debtor_id: str
    creditor_id: str
    currency: str
    face_value: int
    issue_date: dt.date
    maturity_date: dt.date
    basis: Basis
    asset_type: AssetType
    report_hash: str
    status: ItemStatus = ItemStatus.PENDING
    paid: int = 0

    def __post_init__(self) -> None:
        if self.face_value <= 0:
            raise DomainValueError(f"debt item {self.id}: face value must be positive")
        if self.maturity_date <= self.issue_date:
            raise DomainValueError(f"debt item {self.id}: maturity must be after the issue date")

    @property
    def outstanding(self) -> int:
        """What the debtor still owes, minor units."""
        return self.face_value - self.paid

    @property
    def is_open(self) -> bool:
        """Not settled: its life goes on (moves, payments, disputes, default)."""
        return self.status is not ItemStatus.SETTLED

    def check_open(self, *, cancelled: bool = False, disputed: bool = False) -> None:
        """Refuse a change to an item settled, cancelled (both parties approved) or, where the
        change matters to a dispute, disputed by its debtor; the chain refuses them too."""
        if not self.is_open:
            raise ConflictError(f"debt item {self.id} is settled")
        if cancelled:
            raise ConflictError(f"debt item {self.id} is cancelled")
        if disputed:
            raise ConflictError(f"debt item {self.id} is disputed by its debtor")

    def status_on(self, day: dt.date, grace_days: int) -> ItemStatus:
        """The status implied by the date: overdue past maturity plus grace while unpaid."""
        if self.outstanding == 0:
            return ItemStatus.SETTLED
        if self.status is ItemStatus.PENDING:
            return ItemStatus.PENDING
        if day > self.maturity_date + dt.timedelta(days=grace_days):
            return ItemStatus.OVERDUE
        return ItemStatus.ACTIVE


DEFAULT_MAX_TENOR_DAYS = 365  # DebtItem.max_tenor_days() until the operator changes it
DEFAULT_GRACE_DAYS = 5  # DebtItem.grace_days() until the operator changes it


def dilute(claims: list[HoldingClaim], creditor: str, amount: int) -> list[HoldingClaim]:
    """Apply a credit note of ``amount`` as the DebtItem contract does.

    Only the original ``creditor``'s own unpledged holdings are reduced, in creation order, each
    down to zero before the next; transferees' and pledged holdings are never diluted.
    """
    if amount <= 0:
        raise DomainValueError("dilution: amount must be positive")
    dilutable = [
        c for c in claims if c.holder == creditor and not (c.pledge is not None and c.pledge.active)
    ]
    if amount > sum(c.outstanding for c in dilutable):
        raise DomainValueError("dilution exceeds the creditor's unpledged outstanding")
    left = amount
    cuts: dict[str, int] = {}
    for claim in dilutable:
        cut = min(left, claim.outstanding)
        cuts[claim.holding_id] = cut
        left -= cut
    return [replace(c, outstanding=c.outstanding - cuts.get(c.holding_id, 0)) for c in claims]


def is_overdue(maturity_day: int, grace_days: int, today: int, outstanding: int) -> bool:
    """Overdue, as DebtItem.overdue: unpaid after maturity plus the grace days."""
    return outstanding > 0 and today > maturity_day + grace_days


def buy_back_price(principal: int, interest: int, bank_received_since_default: int) -> int:
    """What a pledgor pays to take back a foreclosed holding, as DebtItem.buy_back_price."""
    return max(principal + interest - bank_received_since_default, 0)
