# pragma version ~=0.4.3
# pragma evm-version paris
# pragma optimize codesize
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
        principal first. The contract records claims and never holds value:
        token payments (`pay_with_token`, `buy_back`) move the settlement
        token straight from the payer to each payee with `transferFrom`, after
        every check and state change (checks-effects-interactions). The token
        is FourFlow's own snekmate ERC-20, which has no transfer hooks, so no
        `@nonreentrant` lock (a storage lock under paris, which has no
        transient storage) is used.
        Authority: items are issued only through the Issuer contract, which
        checks the verifiers' signed report or the debtor's signed
        confirmation; only the debtor repays and only the item's account
        bank (named at issuance, changed by the debtor alone) attests a
        payment, and then only while every pledge on the item is its own;
        a pledge is the holder's offer and the bank's acceptance at the same
        terms, with the rate capped by `max_rate_bps`.
"""


# @dev The part of the registry the debt item consults.
interface IRegistry:
    def is_member(a: address) -> bool: view
    def has_role(a: address, role_bit: uint256) -> bool: view
    def paused() -> bool: view
    def owner() -> address: view


# @dev The part of the settlement token the debt item uses.
interface IToken:
    def transferFrom(owner: address, to: address, amount: uint256) -> bool: nonpayable
    def currency() -> uint16: view


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


# @dev What happened to an item besides payments (kept apart from `Item` so
# that `item()` keeps its ABI and payments read no more storage than before).
struct ItemLife:
    diluted: uint256
    cancelled: uint256
    disputed: bool
    dispute_hash: bytes32
    default_day: uint32
    creditor_cancels: bool
    debtor_cancels: bool


# @dev What a pledgor owed its bank when the item defaulted and the bank
# took the holding over.
struct Recourse:
    pledgor: address
    bank: address
    principal: uint256
    interest: uint256
    holder_paid_at_default: uint256
    open: bool


# @dev A credit note proposed by the creditor (state 1) or applied (state 2).
struct Dilution:
    amount: uint256
    state: uint8


# @dev A token transfer a payment owes one payee.
struct Payout:
    payee: address
    amount: uint256


# @dev A holder's pledge offer, waiting for the bank's acceptance.
struct PledgeOffer:
    holder: address
    bank: address
    principal: uint256
    rate_bps: uint256
    start_day: uint32


# @dev Most holdings per item; bounds the routing loop.
_MAX_HOLDINGS: constant(uint256) = 64

# @dev Role bit of banks in the registry.
_ROLE_BANK: constant(uint256) = 32

# @dev Item states.
_STATE_ACTIVE: constant(uint8) = 1
_STATE_SETTLED: constant(uint8) = 2
_STATE_DEFAULTED: constant(uint8) = 3
_STATE_CANCELLED: constant(uint8) = 4

# @dev Dilution states.
_DILUTION_PROPOSED: constant(uint8) = 1
_DILUTION_APPLIED: constant(uint8) = 2

# @dev Defaults of the configurable terms.
_DEFAULT_MAX_TENOR_DAYS: constant(uint32) = 365
_DEFAULT_GRACE_DAYS: constant(uint32) = 5

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
_KIND_CONFIRM: constant(uint8) = 7
_KIND_DISPUTE: constant(uint8) = 8
_KIND_WITHDRAW_DISPUTE: constant(uint8) = 9
_KIND_RESOLVE_DISPUTE: constant(uint8) = 10
_KIND_MERGE: constant(uint8) = 11
_KIND_PROPOSE_DILUTION: constant(uint8) = 12
_KIND_ACCEPT_DILUTION: constant(uint8) = 13
_KIND_RELEASE_PLEDGE: constant(uint8) = 14
_KIND_ATTEST_PAYMENT: constant(uint8) = 15
_KIND_PAY_WITH_TOKEN: constant(uint8) = 16
_KIND_MARK_DEFAULT: constant(uint8) = 17
_KIND_BUY_BACK: constant(uint8) = 18
_KIND_CANCEL: constant(uint8) = 19
_KIND_SET_MAX_TENOR: constant(uint8) = 20
_KIND_SET_GRACE_DAYS: constant(uint8) = 21
_KIND_SET_SETTLEMENT_TOKEN: constant(uint8) = 22
_KIND_ACCEPT_PLEDGE: constant(uint8) = 23
_KIND_SET_ACCOUNT_BANK: constant(uint8) = 24
_KIND_SET_MAX_RATE: constant(uint8) = 25
_KIND_SET_ISSUER: constant(uint8) = 26
_KIND_SET_REPAYMENT: constant(uint8) = 28

# @dev Largest face value (so that interest never overflows) and rate cap.
_MAX_FACE_VALUE: constant(uint256) = 2**128
_RATE_LIMIT_BPS: constant(uint256) = 100_000
_DEFAULT_MAX_RATE_BPS: constant(uint256) = 10_000

# @dev Simple interest: principal * rate_bps * days // (10_000 bps * 365 days).
_BPS_DAYS: constant(uint256) = 3_650_000
_SECONDS_PER_DAY: constant(uint256) = 86_400

# @dev The consortium registry.
_REGISTRY: immutable(address)

# @dev Whether an operation id has been applied.
applied: public(HashMap[bytes32, bool])

# @dev How many items have been issued (audits compare it with the store's count).
item_count: public(uint256)

# @dev Longest tenor (maturity day minus issue day) an item may have.
max_tenor_days: public(uint32)

# @dev Days after maturity before an unpaid item is overdue and may default.
grace_days: public(uint32)

# @dev The settlement token for `pay_with_token` and `buy_back` (zero until set).
settlement_token: public(address)

# @dev Highest annual pledge rate a bank may accept, in basis points.
max_rate_bps: public(uint256)

# @dev The Issuer contract, the only caller of `register_issue` and `mark_confirmed`.
issuer: public(address)

# @dev The Repayment contract (locked routes): it may pay in tokens for the
# debtor and is the only one to move an item's account bank once set.
repayment: public(address)

# @dev The debtor's account bank named for each item: the only bank whose
# word that a payment happened counts.
account_bank: public(HashMap[bytes32, address])

_offers: HashMap[bytes32, PledgeOffer]
_items: HashMap[bytes32, Item]
_holdings: HashMap[bytes32, Holding]
_item_holdings: HashMap[bytes32, DynArray[bytes32, _MAX_HOLDINGS]]
_lives: HashMap[bytes32, ItemLife]
_recourses: HashMap[bytes32, Recourse]
_dilutions: HashMap[bytes32, HashMap[bytes32, Dilution]]


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

event PledgeOffered:
    item_id: indexed(bytes32)
    holding_id: indexed(bytes32)
    bank: indexed(address)
    principal: uint256
    rate_bps: uint256
    start_day: uint32

event AccountBankSet:
    item_id: indexed(bytes32)
    bank: indexed(address)

event MaxRateChanged:
    rate_bps: uint256

event IssuerSet:
    issuer: address

event RepaymentSet:
    repayment: address

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

event MaxTenorChanged:
    days: uint32

event GraceDaysChanged:
    days: uint32

event SettlementTokenSet:
    token: address

event ItemConfirmed:
    item_id: indexed(bytes32)
    debtor: indexed(address)
    nonce: uint256

event ItemDisputed:
    item_id: indexed(bytes32)
    debtor: indexed(address)
    reason_hash: bytes32

event DisputeLifted:
    item_id: indexed(bytes32)
    by: indexed(address)
    resolution_hash: bytes32

event HoldingsMerged:
    item_id: indexed(bytes32)
    into_holding: indexed(bytes32)
    from_holding: bytes32
    holder: indexed(address)
    amount: uint256

event DilutionProposed:
    item_id: indexed(bytes32)
    credit_note_hash: indexed(bytes32)
    amount: uint256

event HoldingDiluted:
    item_id: indexed(bytes32)
    holding_id: indexed(bytes32)
    amount: uint256

event ItemDiluted:
    item_id: indexed(bytes32)
    credit_note_hash: indexed(bytes32)
    amount: uint256
    diluted_total: uint256

event PaymentAttested:
    item_id: indexed(bytes32)
    bank: indexed(address)
    amount: uint256
    value_day: uint32
    bank_reference: bytes32

event HoldingForeclosed:
    item_id: indexed(bytes32)
    holding_id: indexed(bytes32)
    bank: indexed(address)
    pledgor: address
    principal: uint256
    interest: uint256

event ItemDefaulted:
    item_id: indexed(bytes32)
    day: uint32
    outstanding: uint256

event HoldingBoughtBack:
    item_id: indexed(bytes32)
    holding_id: indexed(bytes32)
    pledgor: indexed(address)
    bank: address
    price: uint256

event CancellationApproved:
    item_id: indexed(bytes32)
    party: indexed(address)

event ItemCancelled:
    item_id: indexed(bytes32)
    amount: uint256


@deploy
def __init__(registry: address):
    """
    @dev Binds the contract to the consortium registry.
    @param registry The registry's address.
    """
    _REGISTRY = registry
    self.max_rate_bps = _DEFAULT_MAX_RATE_BPS
    self.max_tenor_days = _DEFAULT_MAX_TENOR_DAYS
    self.grace_days = _DEFAULT_GRACE_DAYS


@external
def register_issue(
    item_id: bytes32,
    holding_id: bytes32,
    creditor: address,
    debtor: address,
    currency: uint16,
    face_value: uint256,
    issue_day: uint32,
    maturity_day: uint32,
    asset_type: uint8,
    trade_hash: bytes32,
    report_hash: bytes32,
    basis: uint8,
    account_bank: address,
):
    """
    @notice Records an item the Issuer has checked (the verifiers' report or
            the debtor's confirmation) and the creditor's first holding.
            Issuer only.
    @param item_id The item id (keccak256 of FourFlow's item id).
    @param holding_id The id of the creditor's first holding.
    @param creditor The creditor (the account that called the Issuer).
    @param debtor The debtor's account (an active member, not the creditor).
    @param currency ISO 4217 numeric currency code (156 = CNY).
    @param face_value Face value in minor units; not zero, below 2**128.
    @param issue_day Issue day number; not in the future.
    @param maturity_day Maturity day number; after `issue_day`.
    @param asset_type 1 receivable, 2 contract right.
    @param trade_hash Hash of the verified trade.
    @param report_hash Hash of the verification report; not zero.
    @param basis 1 verified, 2 confirmed.
    @param account_bank The debtor's account bank: an active bank.
    """
    if msg.sender != self.issuer or msg.sender == empty(address):
        self._fail("debt_item: caller is not the issuer")
    if staticcall IRegistry(_REGISTRY).paused():
        self._fail("debt_item: paused")
    if not self._is_bank(account_bank):
        self._fail("debt_item: account bank is not a bank")
    self._issue(
        item_id,
        holding_id,
        creditor,
        debtor,
        currency,
        face_value,
        issue_day,
        maturity_day,
        asset_type,
        trade_hash,
        report_hash,
        basis,
    )
    self.account_bank[item_id] = account_bank
    log AccountBankSet(item_id=item_id, bank=account_bank)


@external
def mark_confirmed(item_id: bytes32, nonce: uint256):
    """
    @notice Records the debtor's confirmation the Issuer has checked: the
            item's basis becomes `confirmed`. Issuer only.
    @param item_id The item.
    @param nonce The debtor's confirmation nonce used.
    """
    if msg.sender != self.issuer or msg.sender == empty(address):
        self._fail("debt_item: caller is not the issuer")
    if staticcall IRegistry(_REGISTRY).paused():
        self._fail("debt_item: paused")
    it: Item = self._existing(item_id)
    if it.state != _STATE_ACTIVE:
        self._fail("debt_item: item is not active")
    if it.basis == _BASIS_CONFIRMED:
        self._fail("debt_item: already confirmed")
    if self._lives[item_id].disputed:
        self._fail("debt_item: item is disputed")
    self._items[item_id].basis = _BASIS_CONFIRMED
    log ItemConfirmed(item_id=item_id, debtor=it.debtor, nonce=nonce)


@external
def set_account_bank(op_id: bytes32, item_id: bytes32, bank: address):
    """
    @notice The debtor names another account bank for its item (it moved
            its account); only the debtor's own transaction changes it.
    @param op_id The operation id; an id is applied at most once.
    @param item_id The item.
    @param bank The new account bank: an active bank.
    """
    self._apply(op_id, _KIND_SET_ACCOUNT_BANK)
    it: Item = self._existing(item_id)
    # Routes are locked once the Repayment contract is set: only it (having checked the
    # debtor's and every pledgee's signatures) moves the account bank; before, the debtor.
    if msg.sender != self.repayment:
        self._check_debtor(it.debtor if self.repayment == empty(address) else empty(address))
    if it.state != _STATE_ACTIVE:
        self._fail("debt_item: item is not active")
    if not self._is_bank(bank):
        self._fail("debt_item: account bank is not a bank")
    self.account_bank[item_id] = bank
    log AccountBankSet(item_id=item_id, bank=bank)


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
    if not self._is_member(to):
        self._fail("debt_item: recipient is not a member")
    if to == msg.sender:
        self._fail("debt_item: transfer to self")
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
    @notice The holder offers its whole holding to `bank` as a pledge for
            `principal` at a simple annual rate of `rate_bps`, accruing from
            `start_day`. Nothing is pledged until the bank accepts the same
            terms (`accept_pledge`); a new offer replaces an earlier one.
    @param op_id The operation id; an id is applied at most once.
    @param holding_id The holding offered; not pledged.
    @param bank The bank offered the pledge: an active member with the bank role.
    @param principal Minor units lent; not zero and at most the outstanding.
    @param rate_bps Annual simple interest rate in basis points; at most `max_rate_bps`.
    @param start_day Day number from which interest accrues; not in the future.
    """
    self._apply(op_id, _KIND_PLEDGE)
    h: Holding = self._holdings[holding_id]
    self._check_holder(h)
    self._check_pledgeable(holding_id, h, bank, principal, rate_bps, start_day)
    self._offers[holding_id] = PledgeOffer(
        holder=msg.sender, bank=bank, principal=principal, rate_bps=rate_bps, start_day=start_day
    )
    log PledgeOffered(
        item_id=h.item_id,
        holding_id=holding_id,
        bank=bank,
        principal=principal,
        rate_bps=rate_bps,
        start_day=start_day,
    )


@external
def accept_pledge(op_id: bytes32, holding_id: bytes32, principal: uint256, rate_bps: uint256):
    """
    @notice The bank accepts the holder's pledge offer at the terms it set:
            the holding is pledged and locked until the bank is paid in full
            or releases it.
    @param op_id The operation id; an id is applied at most once.
    @param holding_id The holding offered.
    @param principal The principal the bank lends; must equal the offer's.
    @param rate_bps The bank's rate; must equal the offer's.
    """
    self._apply(op_id, _KIND_ACCEPT_PLEDGE)
    o: PledgeOffer = self._offers[holding_id]
    if o.bank != msg.sender or msg.sender == empty(address):
        self._fail("debt_item: caller is not the offered bank")
    if o.principal != principal or o.rate_bps != rate_bps:
        self._fail("debt_item: terms differ from the offer")
    h: Holding = self._holdings[holding_id]
    if h.holder != o.holder or not self._is_member(o.holder):
        self._fail("debt_item: holder changed")
    self._check_pledgeable(holding_id, h, msg.sender, principal, rate_bps, o.start_day)
    self._offers[holding_id] = empty(PledgeOffer)
    h.pledge_bank = msg.sender
    h.pledge_principal = principal
    h.pledge_interest = 0
    h.pledge_rate_bps = rate_bps
    h.pledge_accrued_to = o.start_day
    self._holdings[holding_id] = h
    log HoldingPledged(
        item_id=h.item_id,
        holding_id=holding_id,
        bank=msg.sender,
        principal=principal,
        rate_bps=rate_bps,
        start_day=o.start_day,
    )


@external
def repay(op_id: bytes32, item_id: bytes32, amount: uint256, value_day: uint32):
    """
    @notice Records the debtor's payment of `amount` with value day
            `value_day` and routes it over the item's open holdings (see the
            contract notice); emits one `PaymentRouted` per non-zero part.
    @dev The debtor only (a bank's word goes through `attest_payment`).
    @param op_id The operation id; an id is applied at most once.
    @param item_id The item repaid.
    @param amount Minor units; not zero and at most the item's outstanding.
    @param value_day Day number of the payment: not before the item's last
           value day or any open pledge's accrual day, and not in the future.
    """
    self._apply(op_id, _KIND_REPAY)
    it: Item = self._existing(item_id)
    self._check_debtor(it.debtor)
    self._record_payment(item_id, it, amount, value_day)


@external
def set_max_tenor(op_id: bytes32, days: uint32):
    """
    @notice Sets the longest tenor (maturity day minus issue day) of new
            items. Operator only.
    @param op_id The operation id; an id is applied at most once.
    @param days The longest tenor in days; not zero.
    """
    self._apply(op_id, _KIND_SET_MAX_TENOR)
    self._check_operator()
    if days == 0:
        self._fail("debt_item: tenor is zero")
    self.max_tenor_days = days
    log MaxTenorChanged(days=days)


@external
def set_grace_days(op_id: bytes32, days: uint32):
    """
    @notice Sets the days after maturity before an unpaid item is overdue
            and may be marked defaulted. Operator only.
    @param op_id The operation id; an id is applied at most once.
    @param days The grace period in days.
    """
    self._apply(op_id, _KIND_SET_GRACE_DAYS)
    self._check_operator()
    self.grace_days = days
    log GraceDaysChanged(days=days)


@external
def set_settlement_token(op_id: bytes32, token: address):
    """
    @notice Sets, once, the settlement token used by `pay_with_token` and
            `buy_back`. Operator only.
    @param op_id The operation id; an id is applied at most once.
    @param token The SettlementToken contract.
    """
    self._apply(op_id, _KIND_SET_SETTLEMENT_TOKEN)
    self._check_operator()
    if token == empty(address):
        self._fail("debt_item: zero address")
    if self.settlement_token != empty(address):
        self._fail("debt_item: settlement token already set")
    self.settlement_token = token
    log SettlementTokenSet(token=token)


@external
def set_max_rate(op_id: bytes32, rate_bps: uint256):
    """
    @notice Sets the highest annual rate a pledge may carry. Operator (the
            registry's owner: governance) only.
    @param op_id The operation id; an id is applied at most once.
    @param rate_bps The cap in basis points; at most 100,000 (1,000 %).
    """
    self._apply(op_id, _KIND_SET_MAX_RATE)
    self._check_operator()
    if rate_bps > _RATE_LIMIT_BPS:
        self._fail("debt_item: rate cap too high")
    self.max_rate_bps = rate_bps
    log MaxRateChanged(rate_bps=rate_bps)


@external
def set_issuer(op_id: bytes32, issuer: address):
    """
    @notice Sets, once, the Issuer contract. Operator only.
    @param op_id The operation id; an id is applied at most once.
    @param issuer The Issuer contract.
    """
    self._apply(op_id, _KIND_SET_ISSUER)
    self._check_operator()
    if issuer == empty(address):
        self._fail("debt_item: zero address")
    if self.issuer != empty(address):
        self._fail("debt_item: issuer already set")
    self.issuer = issuer
    log IssuerSet(issuer=issuer)


@external
def set_repayment(op_id: bytes32, repayment: address):
    """
    @notice Sets, once, the Repayment contract (locked repayment routes).
            Operator only.
    @param op_id The operation id; an id is applied at most once.
    @param repayment The Repayment contract.
    """
    self._apply(op_id, _KIND_SET_REPAYMENT)
    self._check_operator()
    if self.repayment != empty(address) or repayment == empty(address):
        self._fail("debt_item: repayment already set")
    self.repayment = repayment
    log RepaymentSet(repayment=repayment)


@external
def dispute(op_id: bytes32, item_id: bytes32, reason_hash: bytes32):
    """
    @notice The debtor disputes an item: no split, transfer, merge, pledge
            or confirmation until the dispute is lifted.
    @param op_id The operation id; an id is applied at most once.
    @param item_id The item disputed.
    @param reason_hash Hash of the debtor's statement of the dispute; not zero.
    """
    self._apply(op_id, _KIND_DISPUTE)
    it: Item = self._existing(item_id)
    self._check_debtor(it.debtor)
    if it.state != _STATE_ACTIVE:
        self._fail("debt_item: item is not active")
    if self._lives[item_id].disputed:
        self._fail("debt_item: item is disputed")
    if reason_hash == empty(bytes32):
        self._fail("debt_item: no reason")
    self._lives[item_id].disputed = True
    self._lives[item_id].dispute_hash = reason_hash
    log ItemDisputed(item_id=item_id, debtor=msg.sender, reason_hash=reason_hash)


@external
def withdraw_dispute(op_id: bytes32, item_id: bytes32):
    """
    @notice The debtor withdraws its dispute of an item.
    @param op_id The operation id; an id is applied at most once.
    @param item_id The disputed item.
    """
    self._apply(op_id, _KIND_WITHDRAW_DISPUTE)
    it: Item = self._existing(item_id)
    self._check_debtor(it.debtor)
    self._lift_dispute(item_id, empty(bytes32))


@external
def resolve_dispute(op_id: bytes32, item_id: bytes32, resolution_hash: bytes32):
    """
    @notice The operator lifts a dispute after a recorded resolution. It
            changes no value: a resolution that reduces the item is a
            dilution that creditor and debtor agree.
    @param op_id The operation id; an id is applied at most once.
    @param item_id The disputed item.
    @param resolution_hash Hash of the recorded resolution; not zero.
    """
    self._apply(op_id, _KIND_RESOLVE_DISPUTE)
    if self._items[item_id].state == 0:
        self._fail("debt_item: no such item")
    self._check_operator()
    if resolution_hash == empty(bytes32):
        self._fail("debt_item: no resolution")
    self._lift_dispute(item_id, resolution_hash)


@external
def merge(op_id: bytes32, holding_id: bytes32, other_holding_id: bytes32):
    """
    @notice Merges the caller's holding `other_holding_id` into its holding
            `holding_id` of the same item; `other` keeps its place in the
            routing order with nothing outstanding.
    @param op_id The operation id; an id is applied at most once.
    @param holding_id The holding that grows; not pledged.
    @param other_holding_id The holding merged in; not pledged.
    """
    self._apply(op_id, _KIND_MERGE)
    h: Holding = self._holdings[holding_id]
    other: Holding = self._holdings[other_holding_id]
    self._check_holder(h)
    if other.holder != msg.sender:
        self._fail("debt_item: caller is not the holder")
    if holding_id == other_holding_id:
        self._fail("debt_item: merge with itself")
    if h.item_id != other.item_id:
        self._fail("debt_item: holdings of different items")
    if not (not self._is_pledged(h) and not self._is_pledged(other)):
        self._fail("debt_item: holding is pledged")
    self._check_unfrozen(holding_id, h.item_id)
    self._check_unfrozen(other_holding_id, h.item_id)
    if other.outstanding == 0:
        self._fail("debt_item: amount is zero")
    amount: uint256 = other.outstanding
    self._holdings[holding_id].amount += other.amount
    self._holdings[holding_id].outstanding += amount
    self._holdings[other_holding_id].amount = 0
    self._holdings[other_holding_id].outstanding = 0
    log HoldingsMerged(
        item_id=h.item_id,
        into_holding=holding_id,
        from_holding=other_holding_id,
        holder=msg.sender,
        amount=amount,
    )


@external
def release_pledge(op_id: bytes32, holding_id: bytes32):
    """
    @notice The pledgee bank releases its pledge (repaid off chain or
            waived); the holding is free again.
    @param op_id The operation id; an id is applied at most once.
    @param holding_id The pledged holding.
    """
    self._apply(op_id, _KIND_RELEASE_PLEDGE)
    h: Holding = self._holdings[holding_id]
    if not self._is_pledged(h):
        self._fail("debt_item: holding is not pledged")
    if msg.sender != h.pledge_bank:
        self._fail("debt_item: caller is not the pledgee")
    self._holdings[holding_id].pledge_principal = 0
    self._holdings[holding_id].pledge_interest = 0
    log PledgeReleased(item_id=h.item_id, holding_id=holding_id, bank=h.pledge_bank)


@external
def propose_dilution(op_id: bytes32, item_id: bytes32, amount: uint256, credit_note_hash: bytes32):
    """
    @notice The creditor proposes a credit note reducing the item by
            `amount`; the debtor must accept it (`accept_dilution`).
    @param op_id The operation id; an id is applied at most once.
    @param item_id The item.
    @param amount Minor units; not zero and at most the creditor's own
           unpledged outstanding on the item.
    @param credit_note_hash Hash of the credit note; not zero, used once per item.
    """
    self._apply(op_id, _KIND_PROPOSE_DILUTION)
    it: Item = self._existing(item_id)
    if not (msg.sender == it.creditor and self._is_member(msg.sender)):
        self._fail("debt_item: caller is not the creditor")
    if it.state != _STATE_ACTIVE:
        self._fail("debt_item: item is not active")
    if amount == 0:
        self._fail("debt_item: amount is zero")
    if credit_note_hash == empty(bytes32):
        self._fail("debt_item: no credit note")
    if self._dilutions[item_id][credit_note_hash].state != 0:
        self._fail("debt_item: credit note already used")
    if amount > self._dilutable(item_id, it.creditor):
        self._fail("debt_item: dilution exceeds unpledged outstanding")
    self._dilutions[item_id][credit_note_hash] = Dilution(amount=amount, state=_DILUTION_PROPOSED)
    log DilutionProposed(item_id=item_id, credit_note_hash=credit_note_hash, amount=amount)


@external
def accept_dilution(op_id: bytes32, item_id: bytes32, credit_note_hash: bytes32, amount: uint256):
    """
    @notice The debtor accepts the creditor's credit note: the original
            creditor's own unpledged holdings fall by `amount`, in creation
            order (`fourflow.domain.debt.dilute`).
    @param op_id The operation id; an id is applied at most once.
    @param item_id The item.
    @param credit_note_hash The proposed credit note.
    @param amount The amount the debtor agrees to; must equal the proposal.
    """
    self._apply(op_id, _KIND_ACCEPT_DILUTION)
    it: Item = self._existing(item_id)
    self._check_debtor(it.debtor)
    if it.state != _STATE_ACTIVE:
        self._fail("debt_item: item is not active")
    d: Dilution = self._dilutions[item_id][credit_note_hash]
    if d.state != _DILUTION_PROPOSED:
        self._fail("debt_item: no such dilution")
    if d.amount != amount:
        self._fail("debt_item: dilution amount differs")
    if amount > self._dilutable(item_id, it.creditor):
        self._fail("debt_item: dilution exceeds unpledged outstanding")
    self._dilutions[item_id][credit_note_hash].state = _DILUTION_APPLIED
    left: uint256 = amount
    for hid: bytes32 in self._item_holdings[item_id]:
        if left == 0:
            break
        h: Holding = self._holdings[hid]
        if h.holder != it.creditor or self._is_pledged(h) or h.outstanding == 0:
            continue
        cut: uint256 = min(left, h.outstanding)
        self._holdings[hid].outstanding = h.outstanding - cut
        left -= cut
        log HoldingDiluted(item_id=item_id, holding_id=hid, amount=cut)
    diluted: uint256 = self._lives[item_id].diluted + amount
    self._lives[item_id].diluted = diluted
    log ItemDiluted(item_id=item_id, credit_note_hash=credit_note_hash, amount=amount, diluted_total=diluted)
    if it.paid + diluted == it.face_value:
        self._items[item_id].state = _STATE_SETTLED
        log ItemSettled(item_id=item_id)


@external
def attest_payment(
    op_id: bytes32, item_id: bytes32, amount: uint256, value_day: uint32, bank_reference: bytes32
):
    """
    @notice The item's account bank attests a payment it saw on the
            debtor's account; routed as `repay`. Refused while any open
            holding is pledged to another bank: that pledgee is paid in
            tokens, or acknowledges its payment by releasing its pledge. The
            `PaymentRouted` events are the routing instructions the banks
            execute off chain.
    @param op_id The operation id; an id is applied at most once.
    @param item_id The item paid.
    @param amount Minor units; not zero and at most the item's outstanding.
    @param value_day Day number of the payment (as `repay`).
    @param bank_reference The bank's reference of the payment; not zero.
    """
    self._apply(op_id, _KIND_ATTEST_PAYMENT)
    it: Item = self._existing(item_id)
    if not (msg.sender == self.account_bank[item_id] and self._is_bank(msg.sender)):
        self._fail("debt_item: caller is not the account bank")
    for hid: bytes32 in self._item_holdings[item_id]:
        h: Holding = self._holdings[hid]
        if h.outstanding != 0 and self._is_pledged(h) and h.pledge_bank != msg.sender:
            self._fail("debt_item: pledged to another bank")
    if bank_reference == empty(bytes32):
        self._fail("debt_item: no bank reference")
    self._record_payment(item_id, it, amount, value_day)
    log PaymentAttested(
        item_id=item_id, bank=msg.sender, amount=amount, value_day=value_day, bank_reference=bank_reference
    )


@external
def pay_with_token(op_id: bytes32, item_id: bytes32, amount: uint256, value_day: uint32):
    """
    @notice The debtor pays in settlement tokens: routed as `repay`, then
            the tokens move from the debtor to each payee with
            `transferFrom` (the debtor approves this contract first).
    @param op_id The operation id; an id is applied at most once.
    @param item_id The item paid.
    @param amount Minor units; not zero and at most the item's outstanding.
    @param value_day Day number of the payment (as `repay`).
    """
    self._apply(op_id, _KIND_PAY_WITH_TOKEN)
    it: Item = self._existing(item_id)
    if msg.sender != it.debtor and msg.sender != self.repayment:
        self._fail("debt_item: caller is not the debtor")
    token: address = self.settlement_token
    if token == empty(address):
        self._fail("debt_item: no settlement token")
    if staticcall IToken(token).currency() != it.currency:
        self._fail("debt_item: token currency mismatch")
    payouts: DynArray[Payout, 2 * _MAX_HOLDINGS] = self._record_payment(item_id, it, amount, value_day)
    # Interactions last: every check and state change is done.
    for p: Payout in payouts:
        assert extcall IToken(token).transferFrom(it.debtor, p.payee, p.amount), "debt_item: token transfer failed"


@external
def mark_default(op_id: bytes32, item_id: bytes32):
    """
    @notice Marks an overdue item defaulted. Every pledged holding passes to
            its bank: interest is accrued to today, the bank becomes the
            holder, the pledge is closed and what was owed is recorded for
            the pledgor's buy-back.
    @dev The operator (the registry's owner: governance) or an active bank
         that is the pledgee of an open pledged holding of this item; a
         third bank cannot foreclose pledges it has no part in. Only after
         maturity plus grace.
    @param op_id The operation id; an id is applied at most once.
    @param item_id The item.
    """
    self._apply(op_id, _KIND_MARK_DEFAULT)
    it: Item = self._existing(item_id)
    if not (msg.sender == self._operator() or self._is_pledgee(item_id, msg.sender)):
        self._fail("debt_item: caller may not mark default")
    if it.state != _STATE_ACTIVE:
        self._fail("debt_item: item is not active")
    today: uint256 = self._today()
    if today <= convert(it.maturity_day, uint256) + convert(self.grace_days, uint256):
        self._fail("debt_item: not overdue")
    day: uint32 = convert(today, uint32)
    for hid: bytes32 in self._item_holdings[item_id]:
        h: Holding = self._holdings[hid]
        if not self._is_pledged(h) or h.outstanding == 0:
            continue
        days: uint256 = today - convert(h.pledge_accrued_to, uint256)
        interest: uint256 = h.pledge_interest + h.pledge_principal * h.pledge_rate_bps * days // _BPS_DAYS
        self._recourses[hid] = Recourse(
            pledgor=h.holder,
            bank=h.pledge_bank,
            principal=h.pledge_principal,
            interest=interest,
            holder_paid_at_default=h.paid_to_holder,
            open=True,
        )
        log HoldingForeclosed(
            item_id=item_id,
            holding_id=hid,
            bank=h.pledge_bank,
            pledgor=h.holder,
            principal=h.pledge_principal,
            interest=interest,
        )
        h.holder = h.pledge_bank
        h.pledge_principal = 0
        h.pledge_interest = 0
        h.pledge_accrued_to = day
        self._holdings[hid] = h
    self._items[item_id].state = _STATE_DEFAULTED
    self._lives[item_id].default_day = day
    log ItemDefaulted(item_id=item_id, day=day, outstanding=self._outstanding(item_id, it))


@external
def buy_back(op_id: bytes32, holding_id: bytes32):
    """
    @notice The pledgor of a foreclosed holding takes it back by paying the
            bank `buy_back_price(holding_id)` in settlement tokens (the
            pledgor approves this contract first).
    @param op_id The operation id; an id is applied at most once.
    @param holding_id The foreclosed holding.
    """
    self._apply(op_id, _KIND_BUY_BACK)
    r: Recourse = self._recourses[holding_id]
    if not r.open:
        self._fail("debt_item: no recourse")
    if not (msg.sender == r.pledgor and self._is_member(msg.sender)):
        self._fail("debt_item: caller is not the pledgor")
    h: Holding = self._holdings[holding_id]
    price: uint256 = self._buy_back_price(r, h)
    token: address = self.settlement_token
    if not (price == 0 or token != empty(address)):
        self._fail("debt_item: no settlement token")
    self._recourses[holding_id].open = False
    self._holdings[holding_id].holder = r.pledgor
    log HoldingBoughtBack(item_id=h.item_id, holding_id=holding_id, pledgor=r.pledgor, bank=r.bank, price=price)
    # Interactions last: every check and state change is done.
    if price != 0:
        assert extcall IToken(token).transferFrom(r.pledgor, r.bank, price), "debt_item: token transfer failed"


@external
def cancel(op_id: bytes32, item_id: bytes32):
    """
    @notice Creditor and debtor each call this to cancel an item (the trade
            is unwound); the second call cancels it. Only an active item with
            no payment, one holding only and no pledge ever may be cancelled.
    @param op_id The operation id; an id is applied at most once.
    @param item_id The item.
    """
    self._apply(op_id, _KIND_CANCEL)
    it: Item = self._existing(item_id)
    is_creditor: bool = msg.sender == it.creditor
    if not ((is_creditor or msg.sender == it.debtor) and self._is_member(msg.sender)):
        self._fail("debt_item: caller may not cancel")
    if it.state != _STATE_ACTIVE:
        self._fail("debt_item: item is not active")
    if it.paid != 0:
        self._fail("debt_item: item has payments")
    ids: DynArray[bytes32, _MAX_HOLDINGS] = self._item_holdings[item_id]
    if len(ids) != 1:
        self._fail("debt_item: item has moved")
    if self._holdings[ids[0]].pledge_bank != empty(address):
        self._fail("debt_item: item was pledged")
    life: ItemLife = self._lives[item_id]
    if is_creditor:
        if life.creditor_cancels:
            self._fail("debt_item: cancellation already approved")
        life.creditor_cancels = True
    else:
        if life.debtor_cancels:
            self._fail("debt_item: cancellation already approved")
        life.debtor_cancels = True
    log CancellationApproved(item_id=item_id, party=msg.sender)
    if life.creditor_cancels and life.debtor_cancels:
        amount: uint256 = self._holdings[ids[0]].outstanding
        self._holdings[ids[0]].outstanding = 0
        life.cancelled = amount
        self._items[item_id].state = _STATE_CANCELLED
        log ItemCancelled(item_id=item_id, amount=amount)
    self._lives[item_id] = life


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
def pledge_offer(holding_id: bytes32) -> PledgeOffer:
    """
    @notice The holder's pledge offer waiting for its bank (all zero if none).
    @param holding_id The holding id.
    @return PledgeOffer The offer.
    """
    return self._offers[holding_id]


@external
@view
def item_life(item_id: bytes32) -> ItemLife:
    """
    @notice Dilution, cancellation, dispute and default record of an item.
    @param item_id The item id.
    @return ItemLife The record.
    """
    return self._lives[item_id]


@external
@view
def outstanding(item_id: bytes32) -> uint256:
    """
    @notice What the debtor still owes on the item: face value less paid,
            diluted and cancelled.
    @param item_id The item id.
    @return uint256 Minor units.
    """
    return self._outstanding(item_id, self._items[item_id])


@external
@view
def overdue(item_id: bytes32) -> bool:
    """
    @notice Whether the item is unpaid after maturity plus the grace days.
    @param item_id The item id.
    @return bool True when overdue (defaulted items included).
    """
    it: Item = self._items[item_id]
    if it.state != _STATE_ACTIVE and it.state != _STATE_DEFAULTED:
        return False
    return self._today() > convert(it.maturity_day, uint256) + convert(self.grace_days, uint256)


@external
@view
def recourse(holding_id: bytes32) -> Recourse:
    """
    @notice What the pledgor of a foreclosed holding owed its bank at default.
    @param holding_id The holding id.
    @return Recourse The record (all zero if the holding was never foreclosed).
    """
    return self._recourses[holding_id]


@external
@view
def buy_back_price(holding_id: bytes32) -> uint256:
    """
    @notice What the pledgor pays to buy a foreclosed holding back: owed at
            default less what the bank has been paid on it since (not below zero).
    @param holding_id The holding id.
    @return uint256 Minor units (zero without an open recourse).
    """
    r: Recourse = self._recourses[holding_id]
    if not r.open:
        return 0
    return self._buy_back_price(r, self._holdings[holding_id])


@external
@view
def dilution(item_id: bytes32, credit_note_hash: bytes32) -> Dilution:
    """
    @notice A credit note's dilution of an item.
    @param item_id The item id.
    @param credit_note_hash The credit note.
    @return Dilution Amount and state (0 none, 1 proposed, 2 applied).
    """
    return self._dilutions[item_id][credit_note_hash]


@internal
@pure
def _fail(reason: String[64]):
    """
    @dev Reverts with `reason`. Every check reverts through here: an inline
         `assert` repeats ~130 bytes of ABI-encoding code per message, and
         with them the contract would pass the EIP-170 size limit (24,576
         bytes) that anvil and Besu enforce.
    """
    raise reason


@internal
def _apply(op_id: bytes32, kind: uint8):
    """
    @dev Refuses a second application of `op_id` and writes while the
         registry is paused; records the operation and emits `OperationApplied`.
    """
    if self.applied[op_id]:
        self._fail("debt_item: operation already applied")
    if staticcall IRegistry(_REGISTRY).paused():
        self._fail("debt_item: paused")
    self.applied[op_id] = True
    log OperationApplied(op_id=op_id, kind=kind)


@internal
@view
def _is_member(a: address) -> bool:
    """
    @dev Whether `a` is an active consortium member.
    """
    return staticcall IRegistry(_REGISTRY).is_member(a)


@internal
@view
def _is_bank(a: address) -> bool:
    """
    @dev Whether `a` is an active member with the bank role.
    """
    return staticcall IRegistry(_REGISTRY).has_role(a, _ROLE_BANK)


@internal
@view
def _operator() -> address:
    """
    @dev The operator: the registry's owner.
    """
    return staticcall IRegistry(_REGISTRY).owner()


@internal
@view
def _existing(item_id: bytes32) -> Item:
    """
    @dev The item `item_id`; reverts if there is none.
    """
    it: Item = self._items[item_id]
    if it.state == 0:
        self._fail("debt_item: no such item")
    return it


@internal
@view
def _check_operator():
    """
    @dev The caller must be the operator (the registry's owner).
    """
    if msg.sender != self._operator():
        self._fail("debt_item: caller is not the operator")


@internal
@view
def _check_debtor(debtor: address):
    """
    @dev The caller must be the item's debtor and an active member.
    """
    if not (msg.sender == debtor and self._is_member(msg.sender)):
        self._fail("debt_item: caller is not the debtor")


@internal
@view
def _check_unfrozen(holding_id: bytes32, item_id: bytes32):
    """
    @dev A holding of a disputed item, or one under an open recourse, stays put.
    """
    if self._lives[item_id].disputed:
        self._fail("debt_item: item is disputed")
    if self._recourses[holding_id].open:
        self._fail("debt_item: holding is under recourse")


@internal
def _lift_dispute(item_id: bytes32, resolution_hash: bytes32):
    """
    @dev Lifts a dispute and logs who lifted it.
    """
    if not self._lives[item_id].disputed:
        self._fail("debt_item: item is not disputed")
    self._lives[item_id].disputed = False
    log DisputeLifted(item_id=item_id, by=msg.sender, resolution_hash=resolution_hash)


@internal
@view
def _outstanding(item_id: bytes32, it: Item) -> uint256:
    """
    @dev Face value less paid, diluted and cancelled.
    """
    life: ItemLife = self._lives[item_id]
    return it.face_value - it.paid - life.diluted - life.cancelled


@internal
@view
def _dilutable(item_id: bytes32, creditor: address) -> uint256:
    """
    @dev The outstanding of the creditor's own unpledged holdings.
    """
    total: uint256 = 0
    for hid: bytes32 in self._item_holdings[item_id]:
        h: Holding = self._holdings[hid]
        if h.holder == creditor and not self._is_pledged(h):
            total += h.outstanding
    return total


@internal
@pure
def _buy_back_price(r: Recourse, h: Holding) -> uint256:
    """
    @dev Owed at default less what the bank was paid as holder since.
    """
    owed: uint256 = r.principal + r.interest
    received: uint256 = h.paid_to_holder - r.holder_paid_at_default
    if received >= owed:
        return 0
    return owed - received


@internal
def _record_payment(
    item_id: bytes32, it: Item, amount: uint256, value_day: uint32
) -> DynArray[Payout, 2 * _MAX_HOLDINGS]:
    """
    @dev The checks and effects shared by `repay`, `attest_payment` and
         `pay_with_token`; returns the token transfers the payment owes.
    """
    if it.state == _STATE_SETTLED:
        self._fail("debt_item: item is settled")
    if it.state == _STATE_CANCELLED:
        self._fail("debt_item: item is cancelled")
    if amount == 0:
        self._fail("debt_item: amount is zero")
    outstanding: uint256 = self._outstanding(item_id, it)
    if amount > outstanding:
        self._fail("debt_item: payment exceeds outstanding")
    if value_day < it.last_value_day:
        self._fail("debt_item: value date out of order")
    if convert(value_day, uint256) > self._today():
        self._fail("debt_item: value date in the future")

    payouts: DynArray[Payout, 2 * _MAX_HOLDINGS] = self._route(item_id, amount, outstanding, value_day)

    paid: uint256 = it.paid + amount
    self._items[item_id].paid = paid
    self._items[item_id].last_value_day = value_day
    log ItemRepaid(item_id=item_id, amount=amount, value_day=value_day, paid_total=paid)
    if amount == outstanding:
        self._items[item_id].state = _STATE_SETTLED
        log ItemSettled(item_id=item_id)
    return payouts


@internal
def _issue(
    item_id: bytes32,
    holding_id: bytes32,
    creditor: address,
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
    if not self._is_member(creditor):
        self._fail("debt_item: caller is not a member")
    if not self._is_member(debtor):
        self._fail("debt_item: debtor is not a member")
    if debtor == creditor:
        self._fail("debt_item: debtor is the creditor")
    if self._items[item_id].state != 0:
        self._fail("debt_item: item exists")
    if self._holdings[holding_id].holder != empty(address):
        self._fail("debt_item: holding exists")
    if face_value == 0:
        self._fail("debt_item: face value is zero")
    if face_value >= _MAX_FACE_VALUE:
        self._fail("debt_item: face value too large")
    if maturity_day <= issue_day:
        self._fail("debt_item: maturity before issue")
    if maturity_day - issue_day > self.max_tenor_days:
        self._fail("debt_item: tenor exceeds maximum")
    if convert(issue_day, uint256) > self._today():
        self._fail("debt_item: issue date in the future")
    if report_hash == empty(bytes32):
        self._fail("debt_item: no verification report")
    if not (
        asset_type == _ASSET_RECEIVABLE or asset_type == _ASSET_CONTRACT_RIGHT
    ):
        self._fail("debt_item: bad asset type")
    self._items[item_id] = Item(
        debtor=debtor,
        creditor=creditor,
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
        creditor=creditor,
        face_value=face_value,
        currency=currency,
        maturity_day=maturity_day,
        basis=basis,
        report_hash=report_hash,
    )
    self._create_holding(item_id, holding_id, creditor, face_value, empty(bytes32))


@internal
def _check_holder(h: Holding):
    """
    @dev The caller must hold `h` and still be an active member.
    """
    if h.holder != msg.sender:
        self._fail("debt_item: caller is not the holder")
    if not self._is_member(msg.sender):
        self._fail("debt_item: caller is not a member")


@internal
def _check_pledgeable(
    holding_id: bytes32, h: Holding, bank: address, principal: uint256, rate_bps: uint256, start_day: uint32
):
    """
    @dev Checks shared by the pledge offer and its acceptance.
    """
    if self._is_pledged(h):
        self._fail("debt_item: holding is pledged")
    self._check_unfrozen(holding_id, h.item_id)
    state: uint8 = self._items[h.item_id].state
    if state != _STATE_ACTIVE:
        self._fail("debt_item: item is not active")
    if not self._is_bank(bank):
        self._fail("debt_item: pledgee is not a bank")
    if principal == 0:
        self._fail("debt_item: principal is zero")
    if principal > h.outstanding:
        self._fail("debt_item: principal exceeds outstanding")
    if rate_bps > self.max_rate_bps:
        self._fail("debt_item: rate exceeds the cap")
    if convert(start_day, uint256) > self._today():
        self._fail("debt_item: start date in the future")


@internal
def _check_movable(holding_id: bytes32, amount: uint256):
    """
    @dev Checks shared by `split` and `transfer`.
    """
    h: Holding = self._holdings[holding_id]
    self._check_holder(h)
    if self._is_pledged(h):
        self._fail("debt_item: holding is pledged")
    self._check_unfrozen(holding_id, h.item_id)
    if amount == 0:
        self._fail("debt_item: amount is zero")
    if amount > h.outstanding:
        self._fail("debt_item: split exceeds outstanding")


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
    if self._holdings[holding_id].holder != empty(address):
        self._fail("debt_item: holding exists")
    if len(self._item_holdings[item_id]) >= _MAX_HOLDINGS:
        self._fail("debt_item: too many holdings")
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
def _route(
    item_id: bytes32, amount: uint256, outstanding: uint256, value_day: uint32
) -> DynArray[Payout, 2 * _MAX_HOLDINGS]:
    """
    @dev Routes `amount` over the open holdings of `item_id`, whose
         outstanding values add up to `outstanding`, exactly as
         `fourflow.domain.debt.route_payment` does; returns the payouts.
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
    payouts: DynArray[Payout, 2 * _MAX_HOLDINGS] = []
    for i: uint256 in range(len(ids), bound=_MAX_HOLDINGS):
        # A holding with nothing outstanding takes no share and accrues nothing.
        if self._holdings[ids[i]].outstanding == 0:
            continue
        bank: address = empty(address)
        to_bank: uint256 = 0
        holder: address = empty(address)
        to_holder: uint256 = 0
        bank, to_bank, holder, to_holder = self._pay_holding(item_id, ids[i], shares[i], value_day)
        if to_bank != 0:
            payouts.append(Payout(payee=bank, amount=to_bank))
        if to_holder != 0:
            payouts.append(Payout(payee=holder, amount=to_holder))
    return payouts


@internal
def _pay_holding(
    item_id: bytes32, holding_id: bytes32, share: uint256, value_day: uint32
) -> (address, uint256, address, uint256):
    """
    @dev Pays one open holding its non-zero `share`: a pledgee bank first
         (accrued interest, then principal), the holder the rest. Returns
         (bank, paid to the bank, holder, paid to the holder).
    """
    h: Holding = self._holdings[holding_id]
    to_bank: uint256 = 0
    if self._is_pledged(h):
        if value_day < h.pledge_accrued_to:
            self._fail("debt_item: value date out of order")
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
    return h.pledge_bank, to_bank, h.holder, to_holder


@internal
@view
def _is_pledgee(item_id: bytes32, bank: address) -> bool:
    """
    @dev Whether `bank` is an active bank holding an open pledge of the item.
    """
    if not self._is_bank(bank):
        return False
    for hid: bytes32 in self._item_holdings[item_id]:
        h: Holding = self._holdings[hid]
        if h.pledge_bank == bank and h.outstanding != 0 and self._is_pledged(h):
            return True
    return False


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
