"""Typed chain commands: one frozen record per operation the outbox relays.

A service that changes business records queues the matching command in the outbox in the same
transaction; the chain adapter turns each command into one contract call in a single exhaustive
``match`` (``fourflow.adapters.chain.ops.build_call``), and the relay undoes a refused command's
business change in one compensating step per kind (``fourflow.services.relay``).

Commands are stored as versioned JSON (``{"v": 1, ...fields}``, see ``command_to_json``).
Amounts are integers in minor units, days are day numbers (``fourflow.domain.debt.day_number``),
hashes are hex strings, addresses 0x strings. A field that only describes the operation for
people (a dispute's reason text, a bank reference) is kept beside its hash, but no business
decision reads a command: every fact lives in its own record (docs/architecture.md).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from fourflow.domain.errors import DomainValueError

COMMAND_VERSION = 1


class OpKind(StrEnum):
    """Chain operations the outbox relays; each maps to one contract call."""

    ADMIT_MEMBER = "admit_member"
    SUSPEND_MEMBER = "suspend_member"
    REGISTER_FINGERPRINTS = "register_fingerprints"
    ANCHOR_BATCH = "anchor_batch"
    ISSUE_ITEM = "issue_item"
    SPLIT = "split"
    TRANSFER = "transfer"
    PLEDGE = "pledge"
    REPAY = "repay"
    CONFIRM_ITEM = "confirm_item"
    DISPUTE = "dispute"
    WITHDRAW_DISPUTE = "withdraw_dispute"
    RESOLVE_DISPUTE = "resolve_dispute"
    MERGE = "merge"
    PROPOSE_DILUTION = "propose_dilution"
    ACCEPT_DILUTION = "accept_dilution"
    RELEASE_PLEDGE = "release_pledge"
    ATTEST_PAYMENT = "attest_payment"
    PAY_WITH_TOKEN = "pay_with_token"  # noqa: S105
    MARK_DEFAULT = "mark_default"
    BUY_BACK = "buy_back"
    CANCEL_ITEM = "cancel_item"
    SET_MAX_TENOR = "set_max_tenor"
    SET_GRACE_DAYS = "set_grace_days"
    SET_SETTLEMENT_TOKEN = "set_settlement_token"  # noqa: S105
    TOKEN_MINT = "token_mint"  # noqa: S105
    TOKEN_BURN = "token_burn"  # noqa: S105
    RECEIPT_ISSUE = "receipt_issue"
    RECEIPT_TRANSFER = "receipt_transfer"
    RECEIPT_PLEDGE = "receipt_pledge"
    RECEIPT_RELEASE_PLEDGE = "receipt_release_pledge"
    RECEIPT_OFFER = "receipt_offer"
    RECEIPT_PAY = "receipt_pay"
    RECEIPT_CLOSE_SALE = "receipt_close_sale"
    RECEIPT_CONFIRM_RELEASE = "receipt_confirm_release"
    RECEIPT_ACCEPT_PLEDGE = "receipt_accept_pledge"
    SET_ACCOUNT = "set_account"
    ACCEPT_PLEDGE = "accept_pledge"
    SET_ACCOUNT_BANK = "set_account_bank"
    SET_MINT_CAP = "set_mint_cap"
    RECEIPT_REQUEST_RELEASE = "receipt_request_release"
    SET_ISSUER = "set_issuer"
    LOCK_ROUTE = "lock_route"
    CHANGE_ROUTE = "change_route"
    SETTLE_AT_MATURITY = "settle_at_maturity"
    SET_REPAYMENT = "set_repayment"


@dataclass(frozen=True, slots=True)
class Confirmation:
    """A debtor's EIP-712 confirmation of an item: its nonce, deadline and signature."""

    nonce: int
    deadline: int
    signature: str


@dataclass(frozen=True, slots=True)
class ConfirmationTerms:
    """What a debtor's EIP-712 confirmation binds: the item, both parties, amount, maturity."""

    item_id: str
    debtor_address: str
    creditor_address: str
    currency: str
    face_value: int
    maturity_day: int
    report_hash: str
    account_bank_address: str = ""


# --------------------------------------------------------------------------- registry, notary


@dataclass(frozen=True, slots=True)
class AdmitMember:
    """Registry.admit: a member's address, org id and role mask."""

    kind: ClassVar[OpKind] = OpKind.ADMIT_MEMBER
    member_org_id: str
    address: str
    roles: int


@dataclass(frozen=True, slots=True)
class SuspendMember:
    """Registry.suspend: a member's address stops being a member (its organisation moved to
    another address: ``key_custody``)."""

    kind: ClassVar[OpKind] = OpKind.SUSPEND_MEMBER
    member_org_id: str
    address: str


@dataclass(frozen=True, slots=True)
class RegisterFingerprints:
    """Notary.register: document (or report, or decision) fingerprints."""

    kind: ClassVar[OpKind] = OpKind.REGISTER_FINGERPRINTS
    fingerprints: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AnchorBatch:
    """Notary.anchor: a batch's Merkle root and leaf count."""

    kind: ClassVar[OpKind] = OpKind.ANCHOR_BATCH
    batch_id: str
    root: str
    count: int


# --------------------------------------------------------------------------- debt items


@dataclass(frozen=True, slots=True)
class IssueItem:
    """Issuer.issue with the verifiers' signed report (or issue_confirmed with the debtor's
    confirmation); ``account_bank_address`` is the debtor's account bank, the only bank whose
    attestation of a payment the contract accepts."""

    kind: ClassVar[OpKind] = OpKind.ISSUE_ITEM
    item_id: str
    holding_id: str
    debtor_address: str
    creditor_address: str
    currency: str
    face_value: int
    issue_day: int
    maturity_day: int
    asset_type: int
    trade_hash: str
    report_hash: str
    confirmation: Confirmation | None = None
    account_bank_address: str = ""
    report_signatures: tuple[str, ...] = ()

    def terms(self) -> ConfirmationTerms:
        """What the debtor's confirmation of this item binds."""
        return ConfirmationTerms(
            item_id=self.item_id,
            debtor_address=self.debtor_address,
            creditor_address=self.creditor_address,
            currency=self.currency,
            face_value=self.face_value,
            maturity_day=self.maturity_day,
            report_hash=self.report_hash,
            account_bank_address=self.account_bank_address,
        )


@dataclass(frozen=True, slots=True)
class Split:
    """DebtItem.split: carve ``amount`` of a holding into a new holding of the same holder."""

    kind: ClassVar[OpKind] = OpKind.SPLIT
    holding_id: str
    new_holding_id: str
    amount: int


@dataclass(frozen=True, slots=True)
class Transfer:
    """DebtItem.transfer: carve ``amount`` of a holding into a new holding of another member."""

    kind: ClassVar[OpKind] = OpKind.TRANSFER
    holding_id: str
    new_holding_id: str
    to_address: str
    amount: int


@dataclass(frozen=True, slots=True)
class Pledge:
    """DebtItem.pledge: lock a holding to a bank for a financing."""

    kind: ClassVar[OpKind] = OpKind.PLEDGE
    holding_id: str
    bank_address: str
    principal: int
    rate_bps: int
    start_day: int


@dataclass(frozen=True, slots=True)
class AcceptPledge:
    """DebtItem.accept_pledge: the bank accepts the holder's pledge offer at its terms."""

    kind: ClassVar[OpKind] = OpKind.ACCEPT_PLEDGE
    holding_id: str
    principal: int
    rate_bps: int


@dataclass(frozen=True, slots=True)
class SetAccountBank:
    """DebtItem.set_account_bank: the debtor names another account bank for an item."""

    kind: ClassVar[OpKind] = OpKind.SET_ACCOUNT_BANK
    item_id: str
    bank_address: str


@dataclass(frozen=True, slots=True)
class SetAccount:
    """Registry.set_account: a member registers its settlement account (its own transaction).

    ``bank_id`` and ``account`` are the store's side of the fact (the chain keeps the bank's
    address and the account number's hash).
    """

    kind: ClassVar[OpKind] = OpKind.SET_ACCOUNT
    bank_address: str
    account_hash: str
    bank_id: str = ""
    account: str = ""


@dataclass(frozen=True, slots=True)
class SetMintCap:
    """SettlementToken.set_mint_cap: the token's owner caps a bank's outstanding issuance."""

    kind: ClassVar[OpKind] = OpKind.SET_MINT_CAP
    bank_address: str
    cap: int


@dataclass(frozen=True, slots=True)
class SetIssuer:
    """DebtItem.set_issuer: the Issuer contract, set once at deployment."""

    kind: ClassVar[OpKind] = OpKind.SET_ISSUER
    issuer_address: str


@dataclass(frozen=True, slots=True)
class ReceiptRequestRelease:
    """WarehouseReceipt.request_release: the holder asks the warehouse to release goods."""

    kind: ClassVar[OpKind] = OpKind.RECEIPT_REQUEST_RELEASE
    receipt_id: str
    quantity: int


@dataclass(frozen=True, slots=True)
class Repay:
    """DebtItem.repay: the debtor declares a payment."""

    kind: ClassVar[OpKind] = OpKind.REPAY
    item_id: str
    amount: int
    value_day: int


@dataclass(frozen=True, slots=True)
class ConfirmItem:
    """DebtItem.confirm: the debtor's later confirmation of an item issued on evidence."""

    kind: ClassVar[OpKind] = OpKind.CONFIRM_ITEM
    item_id: str
    confirmation: Confirmation


@dataclass(frozen=True, slots=True)
class Dispute:
    """DebtItem.dispute: the debtor disputes the item (the reason's hash goes on chain)."""

    kind: ClassVar[OpKind] = OpKind.DISPUTE
    item_id: str
    reason_hash: str
    reason: str = ""
    on: dt.date | None = None


@dataclass(frozen=True, slots=True)
class WithdrawDispute:
    """DebtItem.withdraw_dispute."""

    kind: ClassVar[OpKind] = OpKind.WITHDRAW_DISPUTE
    item_id: str


@dataclass(frozen=True, slots=True)
class ResolveDispute:
    """DebtItem.resolve_dispute: the operator records a resolution."""

    kind: ClassVar[OpKind] = OpKind.RESOLVE_DISPUTE
    item_id: str
    resolution_hash: str
    resolution: str = ""


@dataclass(frozen=True, slots=True)
class Merge:
    """DebtItem.merge: fold another holding of the same holder into one."""

    kind: ClassVar[OpKind] = OpKind.MERGE
    holding_id: str
    other_holding_id: str


@dataclass(frozen=True, slots=True)
class ProposeDilution:
    """DebtItem.propose_dilution: the creditor proposes a credit note's reduction."""

    kind: ClassVar[OpKind] = OpKind.PROPOSE_DILUTION
    item_id: str
    amount: int
    credit_note_hash: str
    credit_note: str = ""


@dataclass(frozen=True, slots=True)
class AcceptDilution:
    """DebtItem.accept_dilution: the debtor accepts it."""

    kind: ClassVar[OpKind] = OpKind.ACCEPT_DILUTION
    item_id: str
    credit_note_hash: str
    amount: int


@dataclass(frozen=True, slots=True)
class ReleasePledge:
    """DebtItem.release_pledge: the pledgee bank releases a holding."""

    kind: ClassVar[OpKind] = OpKind.RELEASE_PLEDGE
    holding_id: str


@dataclass(frozen=True, slots=True)
class AttestPayment:
    """DebtItem.attest_payment: the debtor's account bank attests a payment it saw."""

    kind: ClassVar[OpKind] = OpKind.ATTEST_PAYMENT
    item_id: str
    amount: int
    value_day: int
    bank_reference_hash: str
    bank_reference: str = ""


@dataclass(frozen=True, slots=True)
class PayWithToken:
    """DebtItem.pay_with_token: the debtor pays in settlement tokens."""

    kind: ClassVar[OpKind] = OpKind.PAY_WITH_TOKEN
    item_id: str
    amount: int
    value_day: int


@dataclass(frozen=True, slots=True)
class MarkDefault:
    """DebtItem.mark_default: pledged holdings pass to their banks."""

    kind: ClassVar[OpKind] = OpKind.MARK_DEFAULT
    item_id: str


@dataclass(frozen=True, slots=True)
class BuyBack:
    """DebtItem.buy_back: the pledgor takes a foreclosed holding back."""

    kind: ClassVar[OpKind] = OpKind.BUY_BACK
    holding_id: str


@dataclass(frozen=True, slots=True)
class CancelItem:
    """DebtItem.cancel: one party's approval of cancelling an unmoved item."""

    kind: ClassVar[OpKind] = OpKind.CANCEL_ITEM
    item_id: str


@dataclass(frozen=True, slots=True)
class SetMaxTenor:
    """DebtItem.set_max_tenor (operator)."""

    kind: ClassVar[OpKind] = OpKind.SET_MAX_TENOR
    days: int


@dataclass(frozen=True, slots=True)
class SetGraceDays:
    """DebtItem.set_grace_days (operator)."""

    kind: ClassVar[OpKind] = OpKind.SET_GRACE_DAYS
    days: int


@dataclass(frozen=True, slots=True)
class SetSettlementToken:
    """DebtItem.set_settlement_token (operator, at deployment)."""

    kind: ClassVar[OpKind] = OpKind.SET_SETTLEMENT_TOKEN
    token_address: str


# --------------------------------------------------------------------------- settlement token


@dataclass(frozen=True, slots=True)
class TokenMint:
    """SettlementToken.mint: a bank mints tokenised deposits to a member."""

    kind: ClassVar[OpKind] = OpKind.TOKEN_MINT
    to_address: str
    amount: int
    to_org_id: str = ""
    deposit_hash: str = ""  # keccak of the bank's deposit reference: one mint per deposit
    deposit_reference: str = ""


@dataclass(frozen=True, slots=True)
class TokenBurn:
    """SettlementToken.burn."""

    kind: ClassVar[OpKind] = OpKind.TOKEN_BURN
    amount: int


# --------------------------------------------------------------------------- warehouse receipts


@dataclass(frozen=True, slots=True)
class ReceiptIssue:
    """WarehouseReceipt.issue: the warehouse issues a receipt for goods it holds."""

    kind: ClassVar[OpKind] = OpKind.RECEIPT_ISSUE
    receipt_id: str
    holder_address: str
    goods_code: str
    description_hash: str
    quantity: int
    unit: str
    location: str
    evidence_hash: str
    holder_id: str = ""
    description: str = ""


@dataclass(frozen=True, slots=True)
class ReceiptTransfer:
    """WarehouseReceipt.transfer."""

    kind: ClassVar[OpKind] = OpKind.RECEIPT_TRANSFER
    receipt_id: str
    to_address: str


@dataclass(frozen=True, slots=True)
class ReceiptPledge:
    """WarehouseReceipt.pledge: the holder pledges a receipt to a bank."""

    kind: ClassVar[OpKind] = OpKind.RECEIPT_PLEDGE
    receipt_id: str
    bank_address: str
    amount: int


@dataclass(frozen=True, slots=True)
class ReceiptAcceptPledge:
    """WarehouseReceipt.accept_pledge: the bank accepts the holder's pledge offer at its amount.

    ``offer_op_id`` is the holder's offer (``ReceiptPledge``) whose store record this acceptance
    makes effective; a refused acceptance forgets that record.
    """

    kind: ClassVar[OpKind] = OpKind.RECEIPT_ACCEPT_PLEDGE
    receipt_id: str
    amount: int
    offer_op_id: str = ""


@dataclass(frozen=True, slots=True)
class ReceiptReleasePledge:
    """WarehouseReceipt.release_pledge."""

    kind: ClassVar[OpKind] = OpKind.RECEIPT_RELEASE_PLEDGE
    receipt_id: str


@dataclass(frozen=True, slots=True)
class ReceiptOffer:
    """WarehouseReceipt.offer: a sale of part of a receipt to a buyer (DvP)."""

    kind: ClassVar[OpKind] = OpKind.RECEIPT_OFFER
    sale_id: str
    receipt_id: str
    buyer_address: str
    buyer_receipt_id: str
    quantity: int
    price: int
    buyer_id: str = ""


@dataclass(frozen=True, slots=True)
class ReceiptPay:
    """WarehouseReceipt.pay: the buyer pays (part of) a sale in tokens."""

    kind: ClassVar[OpKind] = OpKind.RECEIPT_PAY
    sale_id: str
    amount: int


@dataclass(frozen=True, slots=True)
class ReceiptCloseSale:
    """WarehouseReceipt.close_sale."""

    kind: ClassVar[OpKind] = OpKind.RECEIPT_CLOSE_SALE
    sale_id: str


@dataclass(frozen=True, slots=True)
class ReceiptConfirmRelease:
    """WarehouseReceipt.confirm_release: goods physically leave the warehouse."""

    kind: ClassVar[OpKind] = OpKind.RECEIPT_CONFIRM_RELEASE
    receipt_id: str
    quantity: int
    evidence_hash: str


# --------------------------------------------------------------------------- repayment routes


@dataclass(frozen=True, slots=True)
class LockRoute:
    """Repayment.lock_route: the debtor fixes its item's repayment route (once)."""

    kind: ClassVar[OpKind] = OpKind.LOCK_ROUTE
    item_id: str
    route_kind: int  # 1 settlement tokens, 2 collection account
    account_hash: str  # hex; zeros for a token route
    allowance: int = 0  # token route: the debtor's standing approval of DebtItem, minor units


@dataclass(frozen=True, slots=True)
class RouteSignature:
    """One party's EIP-712 signature of a route change."""

    org_id: str
    signature: str


@dataclass(frozen=True, slots=True)
class ChangeRoute:
    """Repayment.change_route: a new route signed by the debtor and every pledgee."""

    kind: ClassVar[OpKind] = OpKind.CHANGE_ROUTE
    item_id: str
    route_kind: int
    bank_address: str  # the new collection bank (account routes; zero address otherwise)
    account_hash: str
    deadline: int
    signatures: tuple[RouteSignature, ...]


@dataclass(frozen=True, slots=True)
class SettleAtMaturity:
    """Repayment.settle: collect what the token route holds on or after maturity."""

    kind: ClassVar[OpKind] = OpKind.SETTLE_AT_MATURITY
    item_id: str
    amount: int
    value_day: int


@dataclass(frozen=True, slots=True)
class SetRepayment:
    """DebtItem.set_repayment (operator, at deployment)."""

    kind: ClassVar[OpKind] = OpKind.SET_REPAYMENT
    repayment_address: str


Command = (
    AdmitMember
    | SuspendMember
    | RegisterFingerprints
    | AnchorBatch
    | IssueItem
    | Split
    | Transfer
    | Pledge
    | Repay
    | ConfirmItem
    | Dispute
    | WithdrawDispute
    | ResolveDispute
    | Merge
    | ProposeDilution
    | AcceptDilution
    | ReleasePledge
    | AttestPayment
    | PayWithToken
    | MarkDefault
    | BuyBack
    | CancelItem
    | SetMaxTenor
    | SetGraceDays
    | SetSettlementToken
    | TokenMint
    | TokenBurn
    | AcceptPledge
    | SetAccountBank
    | SetAccount
    | SetMintCap
    | SetIssuer
    | ReceiptRequestRelease
    | ReceiptIssue
    | ReceiptTransfer
    | ReceiptPledge
    | ReceiptAcceptPledge
    | ReceiptReleasePledge
    | ReceiptOffer
    | ReceiptPay
    | ReceiptCloseSale
    | ReceiptConfirmRelease
    | LockRoute
    | ChangeRoute
    | SettleAtMaturity
    | SetRepayment
)

COMMAND_TYPES: dict[OpKind, type[Any]] = {cls.kind: cls for cls in typing.get_args(Command)}


# --------------------------------------------------------------------------- JSON


def command_to_json(command: Command) -> dict[str, Any]:
    """The command as versioned JSON: ``{"v": 1, field: value ...}`` (dates ISO, tuples lists)."""
    out: dict[str, Any] = {"v": COMMAND_VERSION}
    for f in dataclasses.fields(command):
        out[f.name] = _dump(getattr(command, f.name))
    return out


def _dump(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_dump(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _dump(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def command_from_json(kind: OpKind | str, data: Mapping[str, Any]) -> Command:
    """Read a stored command of ``kind`` (version 1; rows written before versioning too).

    Raises DomainValueError naming the kind and the field that is missing or malformed.
    """
    try:
        op_kind = OpKind(kind)
    except ValueError as exc:
        raise DomainValueError(f"unknown chain operation kind {kind!r}") from exc
    version = data.get("v", COMMAND_VERSION)
    if version != COMMAND_VERSION:
        raise DomainValueError(f"{op_kind} command: unsupported version {version!r}")
    cls = COMMAND_TYPES[op_kind]
    return typing.cast(Command, _load(cls, data, str(op_kind)))


#: ``_fields`` of each class read so far.
_FIELDS: dict[type[Any], tuple[tuple[str, Any, bool], ...]] = {}


def _fields(cls: type[Any]) -> tuple[tuple[str, Any, bool], ...]:
    """A command class's fields: (name, type, required), worked out once a class (the type
    hints are evaluated from their strings: the relay reads every queued op of the outbox,
    again and again, and the hints were most of its CPU)."""
    found = _FIELDS.get(cls)
    if found is None:
        hints = typing.get_type_hints(cls)
        found = _FIELDS[cls] = tuple(
            (f.name, hints[f.name], f.default is dataclasses.MISSING)
            for f in dataclasses.fields(cls)
        )
    return found


def _load(cls: type[Any], data: Mapping[str, Any], where: str) -> Any:
    values: dict[str, Any] = {}
    for name, hint, required in _fields(cls):
        if name not in data or data[name] is None:
            if required:
                raise DomainValueError(f"{where} command lacks field {name!r}")
            continue
        try:
            values[name] = _coerce(hint, data[name], f"{where}.{name}")
        except (TypeError, ValueError) as exc:
            raise DomainValueError(f"{where} command: bad {name!r}: {exc}") from exc
    return cls(**values)


def _coerce(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        return _coerce(inner[0], value, where)
    if origin is tuple:
        (item_type, *_) = typing.get_args(hint)
        return tuple(_coerce(item_type, v, where) for v in value)
    if hint is int:
        if isinstance(value, bool) or (isinstance(value, str) and not value.lstrip("-").isdigit()):
            raise ValueError(f"{value!r} is not an integer")
        return int(value)
    if hint is str:
        return str(value)
    if hint is dt.date:
        return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    if dataclasses.is_dataclass(hint) and isinstance(value, Mapping):
        return _load(typing.cast(type[Any], hint), value, where)
    raise TypeError(f"cannot read {where} as {hint!r}")
