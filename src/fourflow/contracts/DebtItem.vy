# pragma version ~=0.4.3
# pragma evm-version paris
"""
@title FourFlow digital debt items
@custom:contract-name debt_item
@license Apache-2.0
@notice A debt item is a debtor's payable to a creditor for one verified trade.
        Its value is held in holdings, which can be split, transferred to other
        consortium members and pledged to banks. The debtor's repayments are
        routed over the open holdings exactly as `fourflow.domain.debt.route_payment`
        routes them: pro rata on outstanding value in creation order, floors,
        then the leftover minor units one each to the first holdings with room;
        within a pledged holding, the bank is paid accrued interest then
        principal first. The contract records claims only: it holds no value
        and its only external calls are `view` calls to the registry, so
        reentrancy is not a concern and no `@nonreentrant` lock (a storage
        lock under paris, which has no transient storage) is used.
"""


# @dev snekmate modules: the EIP-712 domain separator (stateful, so
# initialised here) and ECDSA recovery (stateless, used directly).
from snekmate.utils import eip712_domain_separator as eip712
initializes: eip712

from snekmate.utils import ecdsa


# @dev EIP-5267: clients read the signing domain from the contract.
exports: eip712.eip712Domain


# @dev The part of the registry the debt item consults.
interface IRegistry:
    def is_member(a: address) -> bool: view
    def has_role(a: address, role_bit: uint256) -> bool: view
    def paused() -> bool: view


# @dev A debt item.
struct Item:
    debtor: address
    creditor: address
    currency: uint16
    face_value: uint256
    paid: uint256
    issue_day: uint32
    maturity_day: uint32
    basis: uint8
    asset_type: uint8
    trade_hash: bytes32
    report_hash: bytes32
    state: uint8
    last_value_day: uint32


# @dev A part of a debt item held by one member, possibly pledged to a bank.
struct Holding:
    item_id: bytes32
    holder: address
    amount: uint256
    outstanding: uint256
    parent: bytes32
    pledge_bank: address
    pledge_principal: uint256
    pledge_interest: uint256
    pledge_rate_bps: uint256
    pledge_accrued_to: uint32
    paid_to_bank: uint256
    paid_to_holder: uint256


# @dev Most holdings per item; bounds the routing loop.
_MAX_HOLDINGS: constant(uint256) = 64

# @dev Role bit of banks in the registry.
_ROLE_BANK: constant(uint256) = 32

# @dev Item states.
_STATE_ACTIVE: constant(uint8) = 1
_STATE_SETTLED: constant(uint8) = 2

# @dev Item bases.
_BASIS_VERIFIED: constant(uint8) = 1
_BASIS_CONFIRMED: constant(uint8) = 2

# @dev Asset types.
_ASSET_RECEIVABLE: constant(uint8) = 1
_ASSET_CONTRACT_RIGHT: constant(uint8) = 2

# @dev `PaymentRouted` parts.
_PART_BANK_INTEREST: constant(uint8) = 1
_PART_BANK_PRINCIPAL: constant(uint8) = 2
_PART_HOLDER: constant(uint8) = 3

# @dev `OperationApplied` kinds.
_KIND_ISSUE: constant(uint8) = 1
_KIND_ISSUE_CONFIRMED: constant(uint8) = 2
_KIND_SPLIT: constant(uint8) = 3
_KIND_TRANSFER: constant(uint8) = 4
_KIND_PLEDGE: constant(uint8) = 5
_KIND_REPAY: constant(uint8) = 6

# @dev Simple interest: principal * rate_bps * days // (10_000 bps * 365 days).
_BPS_DAYS: constant(uint256) = 3_650_000
_SECONDS_PER_DAY: constant(uint256) = 86_400

# @dev The EIP-712 type hash of the debtor's confirmation.
_CONFIRMATION_TYPEHASH: constant(bytes32) = keccak256(
    "Confirmation(bytes32 itemId,address creditor,address debtor,uint16 currency,uint256 faceValue,uint32 maturityDay,bytes32 reportHash,uint256 nonce,uint256 deadline)"
)


# @dev The consortium registry.
_REGISTRY: immutable(address)

# @dev Whether an operation id has been applied.
applied: public(HashMap[bytes32, bool])

# @dev The next confirmation nonce of each debtor.
nonces: public(HashMap[address, uint256])

# @dev How many items have been issued (audits compare it with the store's count).
item_count: public(uint256)

_items: HashMap[bytes32, Item]
_holdings: HashMap[bytes32, Holding]
_item_holdings: HashMap[bytes32, DynArray[bytes32, _MAX_HOLDINGS]]


event OperationApplied:
    op_id: indexed(bytes32)
    kind: uint8

event ItemIssued:
    item_id: indexed(bytes32)
    debtor: indexed(address)
    creditor: indexed(address)
    face_value: uint256
    currency: uint16
    maturity_day: uint32
    basis: uint8
    report_hash: bytes32

event HoldingCreated:
    item_id: indexed(bytes32)
    holding_id: indexed(bytes32)
    holder: indexed(address)
    amount: uint256
    parent: bytes32

event HoldingTransferred:
    item_id: indexed(bytes32)
    from_holding: bytes32
    to_holding: bytes32
    from_holder: indexed(address)
    to_holder: indexed(address)
    amount: uint256

event HoldingPledged:
    item_id: indexed(bytes32)
    holding_id: indexed(bytes32)
    bank: indexed(address)
    principal: uint256
    rate_bps: uint256
    start_day: uint32

event PaymentRouted:
    item_id: indexed(bytes32)
    holding_id: indexed(bytes32)
    payee: indexed(address)
    amount: uint256
    part: uint8

event PledgeReleased:
    item_id: indexed(bytes32)
    holding_id: indexed(bytes32)
    bank: indexed(address)

event ItemRepaid:
    item_id: indexed(bytes32)
    amount: uint256
    value_day: uint32
    paid_total: uint256

event ItemSettled:
    item_id: indexed(bytes32)


@deploy
def __init__(registry: address):
    """
    @dev Binds the contract to the consortium registry and sets the EIP-712
         domain (`name="FourFlow DebtItem"`, `version="1"`).
    @param registry The registry's address.
    """
    eip712.__init__("FourFlow DebtItem", "1")
    _REGISTRY = registry


@external
def issue(
    op_id: bytes32,
    item_id: bytes32,
    holding_id: bytes32,
    debtor: address,
    currency: uint16,
    face_value: uint256,
    issue_day: uint32,
    maturity_day: uint32,
    asset_type: uint8,
    trade_hash: bytes32,
    report_hash: bytes32,
):
    """
    @notice Issues a debt item on the verified four flows (basis `verified`).
            The caller is the creditor and receives the first holding.
    @param op_id The operation id; an id is applied at most once.
    @param item_id The item id (keccak256 of FourFlow's item id).
    @param holding_id The id of the creditor's first holding.
    @param debtor The debtor's account (an active member, not the caller).
    @param currency ISO 4217 numeric currency code (156 = CNY).
    @param face_value Face value in minor units; not zero.
    @param issue_day Issue day number; not in the future.
    @param maturity_day Maturity day number; after `issue_day`.
    @param asset_type 1 receivable, 2 contract right.
    @param trade_hash Hash of the verified trade.
    @param report_hash Hash of the verification report; not zero.
    """
    self._apply(op_id, _KIND_ISSUE)
    self._issue(
        item_id,
        holding_id,
        debtor,
        currency,
        face_value,
        issue_day,
        maturity_day,
        asset_type,
        trade_hash,
        report_hash,
        _BASIS_VERIFIED,
    )


@external
def issue_confirmed(
    op_id: bytes32,
    item_id: bytes32,
    holding_id: bytes32,
    debtor: address,
    currency: uint16,
    face_value: uint256,
    issue_day: uint32,
    maturity_day: uint32,
    asset_type: uint8,
    trade_hash: bytes32,
    report_hash: bytes32,
    nonce: uint256,
    deadline: uint256,
    signature: Bytes[65],
):
    """
    @notice Issues a debt item the debtor confirmed (basis `confirmed`): as
            `issue`, with the debtor's EIP-712 signature of `Confirmation`.
    @param op_id The operation id; an id is applied at most once.
    @param item_id The item id (keccak256 of FourFlow's item id).
    @param holding_id The id of the creditor's first holding.
    @param debtor The debtor's account (an active member, not the caller).
    @param currency ISO 4217 numeric currency code (156 = CNY).
    @param face_value Face value in minor units; not zero.
    @param issue_day Issue day number; not in the future.
    @param maturity_day Maturity day number; after `issue_day`.
    @param asset_type 1 receivable, 2 contract right.
    @param trade_hash Hash of the verified trade.
    @param report_hash Hash of the verification report; not zero.
    @param nonce The debtor's current confirmation nonce (`nonces(debtor)`).
    @param deadline Last timestamp (seconds) at which the confirmation is valid.
    @param signature The debtor's 65-byte (r, s, v) EIP-712 signature.
    """
    self._apply(op_id, _KIND_ISSUE_CONFIRMED)
    self._issue(
        item_id,
        holding_id,
        debtor,
        currency,
        face_value,
        issue_day,
        maturity_day,
        asset_type,
        trade_hash,
        report_hash,
        _BASIS_CONFIRMED,
    )
    assert block.timestamp <= deadline, "debt_item: confirmation expired"
    assert nonce == self.nonces[debtor], "debt_item: bad nonce"
    digest: bytes32 = self._confirmation_digest(
        item_id, msg.sender, debtor, currency, face_value, maturity_day, report_hash, nonce, deadline
    )
    assert self._signer_of(digest, signature) == debtor, "debt_item: invalid confirmation signature"
    self.nonces[debtor] = nonce + 1


@external
def split(op_id: bytes32, holding_id: bytes32, new_holding_id: bytes32, amount: uint256):
    """
    @notice Splits `amount` off the caller's holding into a new holding of
            the caller; the parent's amount and outstanding fall by `amount`.
    @param op_id The operation id; an id is applied at most once.
    @param holding_id The holding to split; not pledged.
    @param new_holding_id The id of the new holding.
    @param amount Minor units; not zero and at most the holding's outstanding.
    """
    self._apply(op_id, _KIND_SPLIT)
    self._check_movable(holding_id, amount)
    self._carve(holding_id, new_holding_id, msg.sender, amount)


@external
def transfer(
    op_id: bytes32, holding_id: bytes32, new_holding_id: bytes32, to: address, amount: uint256
):
    """
    @notice Transfers `amount` of the caller's holding to `to` as a new
            holding; the parent's amount and outstanding fall by `amount`.
    @param op_id The operation id; an id is applied at most once.
    @param holding_id The holding to transfer from; not pledged.
    @param new_holding_id The id of the recipient's new holding.
    @param to The recipient: an active member other than the caller.
    @param amount Minor units; not zero and at most the holding's outstanding.
    """
    self._apply(op_id, _KIND_TRANSFER)
    self._check_movable(holding_id, amount)
    assert staticcall IRegistry(_REGISTRY).is_member(to), "debt_item: recipient is not a member"
    assert to != msg.sender, "debt_item: transfer to self"
    item_id: bytes32 = self._carve(holding_id, new_holding_id, to, amount)
    log HoldingTransferred(
        item_id=item_id,
        from_holding=holding_id,
        to_holding=new_holding_id,
        from_holder=msg.sender,
        to_holder=to,
        amount=amount,
    )


@external
def pledge(
    op_id: bytes32,
    holding_id: bytes32,
    bank: address,
    principal: uint256,
    rate_bps: uint256,
    start_day: uint32,
):
    """
    @notice Pledges the caller's whole holding to `bank` for `principal` at a
            simple annual rate of `rate_bps`, accruing from `start_day`. The
            holding is locked until the bank is paid in full.
    @param op_id The operation id; an id is applied at most once.
    @param holding_id The holding to pledge; not already pledged.
    @param bank The pledgee: an active member with the bank role.
    @param principal Minor units lent; not zero and at most the outstanding.
    @param rate_bps Annual simple interest rate in basis points.
    @param start_day Day number from which interest accrues; not in the future.
    """
    self._apply(op_id, _KIND_PLEDGE)
    h: Holding = self._holdings[holding_id]
    self._check_holder(h)
    assert not self._is_pledged(h), "debt_item: holding is pledged"
    assert self._items[h.item_id].state != _STATE_SETTLED, "debt_item: item is settled"
    assert staticcall IRegistry(_REGISTRY).has_role(bank, _ROLE_BANK), "debt_item: pledgee is not a bank"
    assert principal != 0, "debt_item: principal is zero"
    assert principal <= h.outstanding, "debt_item: principal exceeds outstanding"
    assert convert(start_day, uint256) <= self._today(), "debt_item: start date in the future"
    h.pledge_bank = bank
    h.pledge_principal = principal
    h.pledge_interest = 0
    h.pledge_rate_bps = rate_bps
    h.pledge_accrued_to = start_day
    self._holdings[holding_id] = h
    log HoldingPledged(
        item_id=h.item_id,
        holding_id=holding_id,
        bank=bank,
        principal=principal,
        rate_bps=rate_bps,
        start_day=start_day,
    )


@external
def repay(op_id: bytes32, item_id: bytes32, amount: uint256, value_day: uint32):
    """
    @notice Records the debtor's payment of `amount` with value day
            `value_day` and routes it over the item's open holdings (see the
            contract notice); emits one `PaymentRouted` per non-zero part.
    @dev The caller is the debtor, or an active bank attesting a payment it saw.
    @param op_id The operation id; an id is applied at most once.
    @param item_id The item repaid.
    @param amount Minor units; not zero and at most the item's outstanding.
    @param value_day Day number of the payment: not before the item's last
           value day or any open pledge's accrual day, and not in the future.
    """
    self._apply(op_id, _KIND_REPAY)
    it: Item = self._items[item_id]
    assert it.state != 0, "debt_item: no such item"
    assert msg.sender == it.debtor or staticcall IRegistry(_REGISTRY).has_role(
        msg.sender, _ROLE_BANK
    ), "debt_item: caller may not repay"
    assert it.state != _STATE_SETTLED, "debt_item: item is settled"
    assert amount != 0, "debt_item: amount is zero"
    outstanding: uint256 = it.face_value - it.paid
    assert amount <= outstanding, "debt_item: payment exceeds outstanding"
    assert value_day >= it.last_value_day, "debt_item: value date out of order"
    assert convert(value_day, uint256) <= self._today(), "debt_item: value date in the future"

    self._route(item_id, amount, outstanding, value_day)

    it.paid += amount
    it.last_value_day = value_day
    if it.paid == it.face_value:
        it.state = _STATE_SETTLED
    self._items[item_id] = it
    log ItemRepaid(item_id=item_id, amount=amount, value_day=value_day, paid_total=it.paid)
    if it.state == _STATE_SETTLED:
        log ItemSettled(item_id=item_id)


@external
@view
def item(item_id: bytes32) -> Item:
    """
    @notice The debt item `item_id` (all zero, state 0, if none).
    @param item_id The item id.
    @return Item The item.
    """
    return self._items[item_id]


@external
@view
def holding(holding_id: bytes32) -> Holding:
    """
    @notice The holding `holding_id` (all zero if none).
    @param holding_id The holding id.
    @return Holding The holding.
    """
    return self._holdings[holding_id]


@external
@view
def item_holdings(item_id: bytes32) -> DynArray[bytes32, _MAX_HOLDINGS]:
    """
    @notice The item's holdings in creation order (the routing order).
    @param item_id The item id.
    @return DynArray The holding ids.
    """
    return self._item_holdings[item_id]


@external
@view
def domain_separator() -> bytes32:
    """
    @notice The EIP-712 domain separator of this contract on this chain.
    @return bytes32 The domain separator.
    """
    return eip712._domain_separator_v4()


@external
@view
def confirmation_digest(
    item_id: bytes32,
    creditor: address,
    debtor: address,
    currency: uint16,
    face_value: uint256,
    maturity_day: uint32,
    report_hash: bytes32,
    nonce: uint256,
    deadline: uint256,
) -> bytes32:
    """
    @notice The EIP-712 digest a debtor signs to confirm an item.
    @param item_id The item id.
    @param creditor The creditor (the account that will call `issue_confirmed`).
    @param debtor The debtor (the signer).
    @param currency ISO 4217 numeric currency code.
    @param face_value Face value in minor units.
    @param maturity_day Maturity day number.
    @param report_hash Hash of the verification report.
    @param nonce The debtor's confirmation nonce.
    @param deadline Last timestamp (seconds) at which the confirmation is valid.
    @return bytes32 The digest.
    """
    return self._confirmation_digest(
        item_id, creditor, debtor, currency, face_value, maturity_day, report_hash, nonce, deadline
    )


@internal
def _apply(op_id: bytes32, kind: uint8):
    """
    @dev Refuses a second application of `op_id` and writes while the
         registry is paused; records the operation and emits `OperationApplied`.
    """
    assert not self.applied[op_id], "debt_item: operation already applied"
    assert not staticcall IRegistry(_REGISTRY).paused(), "debt_item: paused"
    self.applied[op_id] = True
    log OperationApplied(op_id=op_id, kind=kind)


@internal
def _issue(
    item_id: bytes32,
    holding_id: bytes32,
    debtor: address,
    currency: uint16,
    face_value: uint256,
    issue_day: uint32,
    maturity_day: uint32,
    asset_type: uint8,
    trade_hash: bytes32,
    report_hash: bytes32,
    basis: uint8,
):
    """
    @dev Checks and records a new item and the creditor's first holding.
    """
    assert staticcall IRegistry(_REGISTRY).is_member(msg.sender), "debt_item: caller is not a member"
    assert staticcall IRegistry(_REGISTRY).is_member(debtor), "debt_item: debtor is not a member"
    assert debtor != msg.sender, "debt_item: debtor is the creditor"
    assert self._items[item_id].state == 0, "debt_item: item exists"
    assert self._holdings[holding_id].holder == empty(address), "debt_item: holding exists"
    assert face_value != 0, "debt_item: face value is zero"
    assert maturity_day > issue_day, "debt_item: maturity before issue"
    assert convert(issue_day, uint256) <= self._today(), "debt_item: issue date in the future"
    assert report_hash != empty(bytes32), "debt_item: no verification report"
    assert (
        asset_type == _ASSET_RECEIVABLE or asset_type == _ASSET_CONTRACT_RIGHT
    ), "debt_item: bad asset type"
    self._items[item_id] = Item(
        debtor=debtor,
        creditor=msg.sender,
        currency=currency,
        face_value=face_value,
        paid=0,
        issue_day=issue_day,
        maturity_day=maturity_day,
        basis=basis,
        asset_type=asset_type,
        trade_hash=trade_hash,
        report_hash=report_hash,
        state=_STATE_ACTIVE,
        last_value_day=0,
    )
    self.item_count += 1
    log ItemIssued(
        item_id=item_id,
        debtor=debtor,
        creditor=msg.sender,
        face_value=face_value,
        currency=currency,
        maturity_day=maturity_day,
        basis=basis,
        report_hash=report_hash,
    )
    self._create_holding(item_id, holding_id, msg.sender, face_value, empty(bytes32))


@internal
def _check_holder(h: Holding):
    """
    @dev The caller must hold `h` and still be an active member.
    """
    assert h.holder == msg.sender, "debt_item: caller is not the holder"
    assert staticcall IRegistry(_REGISTRY).is_member(msg.sender), "debt_item: caller is not a member"


@internal
def _check_movable(holding_id: bytes32, amount: uint256):
    """
    @dev Checks shared by `split` and `transfer`.
    """
    h: Holding = self._holdings[holding_id]
    self._check_holder(h)
    assert not self._is_pledged(h), "debt_item: holding is pledged"
    assert amount != 0, "debt_item: amount is zero"
    assert amount <= h.outstanding, "debt_item: split exceeds outstanding"


@internal
def _carve(holding_id: bytes32, new_holding_id: bytes32, holder: address, amount: uint256) -> bytes32:
    """
    @dev Moves `amount` of `holding_id` into a new holding of `holder`;
         returns the item id.
    """
    item_id: bytes32 = self._holdings[holding_id].item_id
    self._holdings[holding_id].amount -= amount
    self._holdings[holding_id].outstanding -= amount
    self._create_holding(item_id, new_holding_id, holder, amount, holding_id)
    return item_id


@internal
def _create_holding(
    item_id: bytes32, holding_id: bytes32, holder: address, amount: uint256, parent: bytes32
):
    """
    @dev Records a new unpledged holding at the end of the item's routing order.
    """
    assert self._holdings[holding_id].holder == empty(address), "debt_item: holding exists"
    assert len(self._item_holdings[item_id]) < _MAX_HOLDINGS, "debt_item: too many holdings"
    self._holdings[holding_id] = Holding(
        item_id=item_id,
        holder=holder,
        amount=amount,
        outstanding=amount,
        parent=parent,
        pledge_bank=empty(address),
        pledge_principal=0,
        pledge_interest=0,
        pledge_rate_bps=0,
        pledge_accrued_to=0,
        paid_to_bank=0,
        paid_to_holder=0,
    )
    self._item_holdings[item_id].append(holding_id)
    log HoldingCreated(
        item_id=item_id, holding_id=holding_id, holder=holder, amount=amount, parent=parent
    )


@internal
def _route(item_id: bytes32, amount: uint256, outstanding: uint256, value_day: uint32):
    """
    @dev Routes `amount` over the open holdings of `item_id`, whose
         outstanding values add up to `outstanding`, exactly as
         `fourflow.domain.debt.route_payment` does.
    """
    ids: DynArray[bytes32, _MAX_HOLDINGS] = self._item_holdings[item_id]
    shares: DynArray[uint256, _MAX_HOLDINGS] = []
    given: uint256 = 0
    for hid: bytes32 in ids:
        share: uint256 = amount * self._holdings[hid].outstanding // outstanding
        shares.append(share)
        given += share
    # Fewer than len(ids) units are left by the floors; one each to the first
    # holdings whose share is still below their outstanding.
    remainder: uint256 = amount - given
    for i: uint256 in range(len(ids), bound=_MAX_HOLDINGS):
        if remainder == 0:
            break
        if self._holdings[ids[i]].outstanding > shares[i]:
            shares[i] += 1
            remainder -= 1
    for i: uint256 in range(len(ids), bound=_MAX_HOLDINGS):
        self._pay_holding(item_id, ids[i], shares[i], value_day)


@internal
def _pay_holding(item_id: bytes32, holding_id: bytes32, share: uint256, value_day: uint32):
    """
    @dev Pays one open holding its `share`: a pledgee bank first (accrued
         interest, then principal), the holder the rest.
    """
    h: Holding = self._holdings[holding_id]
    if h.outstanding == 0:
        return
    to_bank: uint256 = 0
    if self._is_pledged(h):
        assert value_day >= h.pledge_accrued_to, "debt_item: value date out of order"
        days: uint256 = convert(value_day - h.pledge_accrued_to, uint256)
        interest: uint256 = h.pledge_interest + h.pledge_principal * h.pledge_rate_bps * days // _BPS_DAYS
        to_interest: uint256 = min(share, interest)
        to_principal: uint256 = min(share - to_interest, h.pledge_principal)
        to_bank = to_interest + to_principal
        h.pledge_interest = interest - to_interest
        h.pledge_principal -= to_principal
        h.pledge_accrued_to = value_day
        h.paid_to_bank += to_bank
        if to_interest != 0:
            log PaymentRouted(
                item_id=item_id,
                holding_id=holding_id,
                payee=h.pledge_bank,
                amount=to_interest,
                part=_PART_BANK_INTEREST,
            )
        if to_principal != 0:
            log PaymentRouted(
                item_id=item_id,
                holding_id=holding_id,
                payee=h.pledge_bank,
                amount=to_principal,
                part=_PART_BANK_PRINCIPAL,
            )
        if not self._is_pledged(h):
            log PledgeReleased(item_id=item_id, holding_id=holding_id, bank=h.pledge_bank)
    to_holder: uint256 = share - to_bank
    h.paid_to_holder += to_holder
    h.outstanding -= share
    self._holdings[holding_id] = h
    if to_holder != 0:
        log PaymentRouted(
            item_id=item_id, holding_id=holding_id, payee=h.holder, amount=to_holder, part=_PART_HOLDER
        )


@internal
@pure
def _is_pledged(h: Holding) -> bool:
    """
    @dev A holding is pledged while its bank is owed principal or interest.
    """
    return h.pledge_principal != 0 or h.pledge_interest != 0


@internal
@view
def _today() -> uint256:
    """
    @dev The current day number.
    """
    return block.timestamp // _SECONDS_PER_DAY


@internal
@view
def _confirmation_digest(
    item_id: bytes32,
    creditor: address,
    debtor: address,
    currency: uint16,
    face_value: uint256,
    maturity_day: uint32,
    report_hash: bytes32,
    nonce: uint256,
    deadline: uint256,
) -> bytes32:
    """
    @dev The EIP-712 digest of a `Confirmation`.
    """
    struct_hash: bytes32 = keccak256(
        abi_encode(
            _CONFIRMATION_TYPEHASH,
            item_id,
            creditor,
            debtor,
            currency,
            face_value,
            maturity_day,
            report_hash,
            nonce,
            deadline,
        )
    )
    return eip712._hash_typed_data_v4(struct_hash)


@internal
@pure
def _signer_of(digest: bytes32, signature: Bytes[65]) -> address:
    """
    @dev The signer of `digest`, or zero for a malformed signature. Checks
         what `ecdsa` would revert on (length, `v`, high `s`) first so that
         a malformed signature fails with this contract's own message.
    """
    if len(signature) != 65:
        return empty(address)
    v: uint256 = convert(slice(signature, 64, 1), uint256)
    s: uint256 = extract32(signature, 32, output_type=uint256)
    if (v != 27 and v != 28) or s > ecdsa._MALLEABILITY_THRESHOLD:
        return empty(address)
    return ecdsa._recover_sig(digest, signature)
