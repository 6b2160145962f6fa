"""How each FourFlow chain operation becomes one contract call (arguments and gas)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, assert_never

from fourflow.adapters.chain.ids import address, currency_code, hash32, key32
from fourflow.domain.debt import AssetType, day_number
from fourflow.domain.errors import DomainValueError
from fourflow.domain.parties import ROLE_BITS, Role, role_mask
from fourflow.services import commands as cmd
from fourflow.services.ports import ChainOp, OpKind

REGISTRY = "Registry"
NOTARY = "Notary"
DEBT_ITEM = "DebtItem"
SETTLEMENT_TOKEN = "SettlementToken"  # noqa: S105  (a contract name)
WAREHOUSE_RECEIPT = "WarehouseReceipt"
ISSUER = "Issuer"
GOVERNANCE = "Governance"
REPAYMENT = "Repayment"

# Gas limits for pipelined sends (a dependent op cannot be estimated before its parent is
# mined): measured use (anvil, paris) plus 60-80 %; gas is free on the consortium chain.
# Measured: admit 144k, anchor 167k, issue 464k (confirmed 494k), split/transfer 250k,
# pledge 177k, register 54k + 24.3k per fingerprint, repay 4.0M with 63 holdings (40 pledged).
GAS = {
    OpKind.ADMIT_MEMBER: 250_000,
    OpKind.SUSPEND_MEMBER: 120_000,
    OpKind.ANCHOR_BATCH: 300_000,
    OpKind.ISSUE_ITEM: 850_000,
    OpKind.SPLIT: 450_000,
    OpKind.TRANSFER: 450_000,
    OpKind.PLEDGE: 320_000,
    OpKind.REPAY: 6_500_000,
    OpKind.CONFIRM_ITEM: 300_000,
    OpKind.DISPUTE: 200_000,
    OpKind.WITHDRAW_DISPUTE: 150_000,
    OpKind.RESOLVE_DISPUTE: 150_000,
    OpKind.MERGE: 300_000,
    OpKind.PROPOSE_DILUTION: 250_000,
    OpKind.ACCEPT_DILUTION: 3_000_000,
    OpKind.RELEASE_PLEDGE: 200_000,
    OpKind.ATTEST_PAYMENT: 6_500_000,
    OpKind.PAY_WITH_TOKEN: 9_000_000,
    OpKind.MARK_DEFAULT: 6_000_000,
    OpKind.BUY_BACK: 400_000,
    OpKind.CANCEL_ITEM: 250_000,
    OpKind.SET_MAX_TENOR: 120_000,
    OpKind.SET_GRACE_DAYS: 120_000,
    OpKind.SET_SETTLEMENT_TOKEN: 120_000,
    OpKind.TOKEN_MINT: 200_000,
    OpKind.TOKEN_BURN: 200_000,
    OpKind.RECEIPT_ISSUE: 600_000,
    OpKind.RECEIPT_TRANSFER: 200_000,
    OpKind.RECEIPT_PLEDGE: 200_000,
    OpKind.RECEIPT_RELEASE_PLEDGE: 150_000,
    OpKind.RECEIPT_OFFER: 400_000,
    OpKind.RECEIPT_PAY: 900_000,
    OpKind.RECEIPT_CLOSE_SALE: 150_000,
    OpKind.RECEIPT_CONFIRM_RELEASE: 200_000,
    OpKind.RECEIPT_ACCEPT_PLEDGE: 200_000,
    OpKind.SET_ACCOUNT: 150_000,
    OpKind.ACCEPT_PLEDGE: 250_000,
    OpKind.SET_ACCOUNT_BANK: 150_000,
    OpKind.SET_MINT_CAP: 120_000,
    OpKind.RECEIPT_REQUEST_RELEASE: 150_000,
    OpKind.SET_ISSUER: 120_000,
    # Repayment (issue 20): a settlement is a pay_with_token through the Repayment contract.
    OpKind.LOCK_ROUTE: 200_000,
    OpKind.CHANGE_ROUTE: 1_500_000,
    OpKind.SETTLE_AT_MATURITY: 9_500_000,
    OpKind.SET_REPAYMENT: 120_000,
}
# Ops whose contract pulls settlement tokens from the sender with transferFrom: the ledger
# approves the spender first when the allowance is short.
TOKEN_PULLING = frozenset(
    {OpKind.PAY_WITH_TOKEN, OpKind.BUY_BACK, OpKind.RECEIPT_PAY, OpKind.LOCK_ROUTE}
)  # a token route (LOCK_ROUTE) approves DebtItem for what the debtor's routes will collect
REGISTER_GAS_BASE = 100_000
UINT256 = 2**256
# A new fingerprint costs the Notary about 46,500 gas (two fresh storage slots, cold reads,
# its log): 9,403,025 for 200 on anvil. At 40,000 every batch of more than about a dozen new
# fingerprints ran out of gas in the pipelined send, was mined as a failure and sent again
# with an estimate (``Ledger.apply``): twice the chain work of an upload of 200 documents.
REGISTER_GAS_PER_FINGERPRINT = 50_000

CONTRACT_OF = {
    OpKind.ADMIT_MEMBER: REGISTRY,
    OpKind.SUSPEND_MEMBER: REGISTRY,
    OpKind.SET_ACCOUNT: REGISTRY,
    OpKind.REGISTER_FINGERPRINTS: NOTARY,
    OpKind.ANCHOR_BATCH: NOTARY,
    OpKind.ISSUE_ITEM: ISSUER,
    OpKind.CONFIRM_ITEM: ISSUER,
    OpKind.ACCEPT_PLEDGE: DEBT_ITEM,
    OpKind.SET_ACCOUNT_BANK: DEBT_ITEM,
    OpKind.SET_ISSUER: DEBT_ITEM,
    OpKind.SET_REPAYMENT: DEBT_ITEM,
    OpKind.LOCK_ROUTE: REPAYMENT,
    OpKind.CHANGE_ROUTE: REPAYMENT,
    OpKind.SETTLE_AT_MATURITY: REPAYMENT,
    OpKind.SET_MINT_CAP: SETTLEMENT_TOKEN,
    OpKind.RECEIPT_REQUEST_RELEASE: WAREHOUSE_RECEIPT,
    OpKind.SPLIT: DEBT_ITEM,
    OpKind.TRANSFER: DEBT_ITEM,
    OpKind.PLEDGE: DEBT_ITEM,
    OpKind.REPAY: DEBT_ITEM,
    **{
        kind: DEBT_ITEM
        for kind in (
            OpKind.DISPUTE, OpKind.WITHDRAW_DISPUTE, OpKind.RESOLVE_DISPUTE,
            OpKind.MERGE, OpKind.PROPOSE_DILUTION, OpKind.ACCEPT_DILUTION, OpKind.RELEASE_PLEDGE,
            OpKind.ATTEST_PAYMENT, OpKind.PAY_WITH_TOKEN, OpKind.MARK_DEFAULT, OpKind.BUY_BACK,
            OpKind.CANCEL_ITEM, OpKind.SET_MAX_TENOR, OpKind.SET_GRACE_DAYS,
            OpKind.SET_SETTLEMENT_TOKEN,
        )
    },
    OpKind.TOKEN_MINT: SETTLEMENT_TOKEN,
    OpKind.TOKEN_BURN: SETTLEMENT_TOKEN,
    **{
        kind: WAREHOUSE_RECEIPT
        for kind in (
            OpKind.RECEIPT_ISSUE, OpKind.RECEIPT_TRANSFER, OpKind.RECEIPT_PLEDGE,
            OpKind.RECEIPT_RELEASE_PLEDGE, OpKind.RECEIPT_OFFER, OpKind.RECEIPT_PAY,
            OpKind.RECEIPT_CLOSE_SALE, OpKind.RECEIPT_CONFIRM_RELEASE,
            OpKind.RECEIPT_ACCEPT_PLEDGE,
        )
    },
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class ContractCall:
    """One contract function call: which contract, which function, its arguments, a gas limit."""

    contract: str
    function: str
    args: tuple[Any, ...]
    gas: int


def build_call(op: ChainOp) -> ContractCall:
    """The contract call that applies ``op`` (``DomainValueError`` for malformed arguments)."""
    try:
        function, args = _call_of(op.command)
    except (TypeError, ValueError) as exc:
        raise DomainValueError(f"chain: {op.kind} op {op.op_id} has bad arguments: {exc}") from exc
    for value in args:
        if isinstance(value, int) and not 0 <= value < UINT256:
            raise DomainValueError(
                f"chain: {op.kind} op {op.op_id}: {value} is not an unsigned 256-bit integer"
            )
    return ContractCall(CONTRACT_OF[op.kind], function, (key32(op.op_id), *args), _gas(op))


def _gas(op: ChainOp) -> int:
    """The gas limit of ``op``."""
    if isinstance(op.command, cmd.RegisterFingerprints):
        count = len(op.command.fingerprints)
        return REGISTER_GAS_BASE + REGISTER_GAS_PER_FINGERPRINT * count
    return GAS[op.kind]


Args = tuple[str, tuple[Any, ...]]


def _signature(confirmation: cmd.Confirmation) -> bytes:
    return bytes.fromhex(confirmation.signature.removeprefix("0x"))


def _call_of(c: cmd.Command) -> Args:
    """The contract function and arguments (after the op id) of a command: one case per kind."""
    match c:
        case cmd.AdmitMember():
            return "admit", (address(c.address), key32(c.member_org_id), roles(c.roles))
        case cmd.SuspendMember():
            return "suspend", (address(c.address),)
        case cmd.RegisterFingerprints():
            return "register", ([hash32(f) for f in c.fingerprints],)
        case cmd.AnchorBatch():
            return "anchor", (key32(c.batch_id), hash32(c.root), c.count)
        case cmd.IssueItem():
            args = (
                key32(c.item_id),
                key32(c.holding_id),
                address(c.debtor_address),
                currency_code(c.currency),
                c.face_value,
                c.issue_day,
                c.maturity_day,
                c.asset_type,
                hash32(c.trade_hash),
                hash32(c.report_hash),
                address(c.account_bank_address),
            )
            if c.confirmation is None:
                signatures = [bytes.fromhex(s.removeprefix("0x")) for s in c.report_signatures]
                return "issue", (*args, signatures)
            k = c.confirmation
            return "issue_confirmed", (*args, k.nonce, k.deadline, _signature(k))
        case cmd.Split():
            return "split", (key32(c.holding_id), key32(c.new_holding_id), c.amount)
        case cmd.Transfer():
            ids = (key32(c.holding_id), key32(c.new_holding_id))
            return "transfer", (*ids, address(c.to_address), c.amount)
        case cmd.Pledge():
            return "pledge", (
                key32(c.holding_id),
                address(c.bank_address),
                c.principal,
                c.rate_bps,
                c.start_day,
            )
        case cmd.AcceptPledge():
            return "accept_pledge", (key32(c.holding_id), c.principal, c.rate_bps)
        case cmd.SetAccountBank():
            return "set_account_bank", (key32(c.item_id), address(c.bank_address))
        case cmd.SetAccount():
            return "set_account", (address(c.bank_address), hash32(c.account_hash))
        case cmd.SetMintCap():
            return "set_mint_cap", (address(c.bank_address), c.cap)
        case cmd.SetIssuer():
            return "set_issuer", (address(c.issuer_address),)
        case cmd.ReceiptRequestRelease():
            return "request_release", (key32(c.receipt_id), c.quantity)
        case cmd.Repay():
            return "repay", (key32(c.item_id), c.amount, c.value_day)
        case cmd.ConfirmItem():
            k = c.confirmation
            return "confirm", (key32(c.item_id), k.nonce, k.deadline, _signature(k))
        case cmd.Dispute():
            return "dispute", (key32(c.item_id), hash32(c.reason_hash))
        case cmd.WithdrawDispute():
            return "withdraw_dispute", (key32(c.item_id),)
        case cmd.ResolveDispute():
            return "resolve_dispute", (key32(c.item_id), hash32(c.resolution_hash))
        case cmd.Merge():
            return "merge", (key32(c.holding_id), key32(c.other_holding_id))
        case cmd.ProposeDilution():
            return "propose_dilution", (key32(c.item_id), c.amount, hash32(c.credit_note_hash))
        case cmd.AcceptDilution():
            return "accept_dilution", (key32(c.item_id), hash32(c.credit_note_hash), c.amount)
        case cmd.ReleasePledge():
            return "release_pledge", (key32(c.holding_id),)
        case cmd.AttestPayment():
            return "attest_payment", (
                key32(c.item_id),
                c.amount,
                c.value_day,
                hash32(c.bank_reference_hash),
            )
        case cmd.PayWithToken():
            return "pay_with_token", (key32(c.item_id), c.amount, c.value_day)
        case cmd.MarkDefault():
            return "mark_default", (key32(c.item_id),)
        case cmd.BuyBack():
            return "buy_back", (key32(c.holding_id),)
        case cmd.CancelItem():
            return "cancel", (key32(c.item_id),)
        case cmd.SetMaxTenor():
            return "set_max_tenor", (c.days,)
        case cmd.SetGraceDays():
            return "set_grace_days", (c.days,)
        case cmd.SetSettlementToken():
            return "set_settlement_token", (address(c.token_address),)
        case cmd.TokenMint():
            return "mint", (address(c.to_address), c.amount, hash32(c.deposit_hash))
        case cmd.TokenBurn():
            return "burn", (c.amount,)
        case cmd.ReceiptIssue():
            return "issue", (
                key32(c.receipt_id),
                address(c.holder_address),
                text32(c.goods_code),
                hash32(c.description_hash),
                c.quantity,
                text32(c.unit),
                text32(c.location),
                hash32(c.evidence_hash),
            )
        case cmd.ReceiptTransfer():
            return "transfer", (key32(c.receipt_id), address(c.to_address))
        case cmd.ReceiptPledge():
            return "pledge", (key32(c.receipt_id), address(c.bank_address), c.amount)
        case cmd.ReceiptAcceptPledge():
            return "accept_pledge", (key32(c.receipt_id), c.amount)
        case cmd.ReceiptReleasePledge():
            return "release_pledge", (key32(c.receipt_id),)
        case cmd.ReceiptOffer():
            return "offer", (
                key32(c.sale_id),
                key32(c.receipt_id),
                address(c.buyer_address),
                key32(c.buyer_receipt_id),
                c.quantity,
                c.price,
            )
        case cmd.ReceiptPay():
            return "pay", (key32(c.sale_id), c.amount)
        case cmd.ReceiptCloseSale():
            return "close_sale", (key32(c.sale_id),)
        case cmd.ReceiptConfirmRelease():
            return "confirm_release", (key32(c.receipt_id), c.quantity, hash32(c.evidence_hash))
        case cmd.LockRoute():
            return "lock_route", (key32(c.item_id), c.route_kind, hash32(c.account_hash))
        case cmd.ChangeRoute():
            signatures = [bytes.fromhex(s.signature.removeprefix("0x")) for s in c.signatures]
            return "change_route", (
                key32(c.item_id),
                c.route_kind,
                address(c.bank_address),
                hash32(c.account_hash),
                c.deadline,
                signatures,
            )
        case cmd.SettleAtMaturity():
            return "settle", (key32(c.item_id), c.amount, c.value_day)
        case cmd.SetRepayment():
            return "set_repayment", (address(c.repayment_address),)
        case _:
            assert_never(c)


def text32(value: Any) -> bytes:
    """A short code (unit, goods code, location) as left-aligned ASCII in 32 bytes."""
    raw = str(value).encode("ascii")
    if len(raw) > 32:
        raise ValueError(f"{value!r} is longer than 32 ASCII characters")
    return raw.ljust(32, b"\x00")


def day(value: Any) -> int:
    """A day number from an int, a ``date`` or an ISO date string."""
    if isinstance(value, dt.date):
        return day_number(value)
    if isinstance(value, str) and "-" in value:
        return day_number(dt.date.fromisoformat(value))
    return int(value)


def asset_type(value: Any) -> int:
    """The asset type code from its number or name (``receivable``, ``contract_right``)."""
    if isinstance(value, str) and not value.isdigit():
        return int(AssetType[value.upper()])
    return int(value)


def roles(value: Any) -> int:
    """The registry role mask from an int or a list of role names."""
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        value = [value]
    mask = role_mask(tuple(Role(name) for name in value))
    if mask == 0 or mask >= 2 * max(ROLE_BITS.values()):
        raise ValueError(f"no roles in {value!r}")
    return mask
