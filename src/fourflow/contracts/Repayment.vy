# pragma version ~=0.4.3
# pragma evm-version paris
"""
@title FourFlow repayment routes: a locked path and settlement at maturity
@custom:contract-name repayment
@license Apache-2.0
@notice Fixes each debt item's repayment route on chain and settles the item
        at maturity without anyone's say-so.
        A route is locked once by the debtor (its transaction is its
        signature), right after issuance or confirmation:
        - kind 1 `tokens`: the debtor's settlement tokens, approved to the
          DebtItem contract; on or after the maturity day anyone may call
          `settle`, which collects exactly min(outstanding, the debtor's
          balance, its allowance) and pays it through DebtItem (routed over
          the holdings, banks first) on the chain's own day;
        - kind 2 `account`: a collection account (回款专户) at the debtor's
          account bank; only that bank's attested statements
          (`DebtItem.attest_payment`) pay the item.
        Changing a locked route needs the EIP-712 `RouteChange` signatures of
        the debtor and of every bank holding an open pledge on the item; the
        new collection bank becomes DebtItem's account bank, which from then
        on only this contract may change.
        The contract never holds tokens: DebtItem moves them from the debtor
        to each payee with `transferFrom`.
"""


from snekmate.utils import eip712_domain_separator as eip712
initializes: eip712

from snekmate.utils import ecdsa


exports: eip712.eip712Domain


interface IRegistry:
    def is_member(a: address) -> bool: view
    def has_role(a: address, role_bit: uint256) -> bool: view
    def paused() -> bool: view


# @dev The item as DebtItem returns it.
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


# @dev A holding as DebtItem returns it.
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


interface IDebtItem:
    def item(item_id: bytes32) -> Item: view
    def outstanding(item_id: bytes32) -> uint256: view
    def item_holdings(item_id: bytes32) -> DynArray[bytes32, 64]: view
    def holding(holding_id: bytes32) -> Holding: view
    def account_bank(item_id: bytes32) -> address: view
    def settlement_token() -> address: view
    def pay_with_token(op_id: bytes32, item_id: bytes32, amount: uint256, value_day: uint32): nonpayable
    def set_account_bank(op_id: bytes32, item_id: bytes32, bank: address): nonpayable


interface IToken:
    def balanceOf(owner: address) -> uint256: view
    def allowance(owner: address, spender: address) -> uint256: view


# @dev A locked route.
struct Route:
    kind: uint8
    bank: address
    account_hash: bytes32
    locked_day: uint32
    nonce: uint256
    collected_day: uint32
    collected: uint256


_ROUTE_TOKENS: constant(uint8) = 1
_ROUTE_ACCOUNT: constant(uint8) = 2

_STATE_ACTIVE: constant(uint8) = 1
_STATE_DEFAULTED: constant(uint8) = 3

_ROLE_BANK: constant(uint256) = 32

# @dev Most signatures on one route change: the debtor and up to 64 pledgees.
_MAX_SIGNATURES: constant(uint256) = 65

_SECONDS_PER_DAY: constant(uint256) = 86_400

_KIND_LOCK_ROUTE: constant(uint8) = 1
_KIND_CHANGE_ROUTE: constant(uint8) = 2
_KIND_SETTLE: constant(uint8) = 3

_ROUTE_CHANGE_TYPEHASH: constant(bytes32) = keccak256(
    "RouteChange(bytes32 itemId,uint8 kind,address bank,bytes32 accountHash,uint256 nonce,uint256 deadline)"
)


_REGISTRY: immutable(address)

# @dev The DebtItem contract whose items this contract routes.
debt_item: public(immutable(address))

# @dev Whether an operation id has been applied.
applied: public(HashMap[bytes32, bool])

_routes: HashMap[bytes32, Route]


event OperationApplied:
    op_id: indexed(bytes32)
    kind: uint8

event RouteLocked:
    item_id: indexed(bytes32)
    kind: uint8
    bank: indexed(address)
    account_hash: bytes32

event RouteChanged:
    item_id: indexed(bytes32)
    kind: uint8
    bank: indexed(address)
    account_hash: bytes32
    signers: uint256

event Collected:
    item_id: indexed(bytes32)
    amount: uint256
    day: uint32
    outstanding: uint256


@deploy
def __init__(registry: address, debt: address):
    """
    @dev Binds the contract to the registry and DebtItem; EIP-712 domain
         `name="FourFlow Repayment"`, `version="1"`.
    @param registry The registry's address.
    @param debt The DebtItem's address.
    """
    eip712.__init__("FourFlow Repayment", "1")
    _REGISTRY = registry
    debt_item = debt


@external
def lock_route(op_id: bytes32, item_id: bytes32, kind: uint8, account_hash: bytes32):
    """
    @notice The debtor fixes its item's repayment route, once.
    @param op_id The operation id; an id is applied at most once.
    @param item_id The item.
    @param kind 1 settlement tokens (approved to DebtItem), 2 collection
           account at the item's account bank.
    @param account_hash Hash of the collection account's number; not zero
           for kind 2.
    """
    self._apply(op_id, _KIND_LOCK_ROUTE)
    it: Item = staticcall IDebtItem(debt_item).item(item_id)
    assert it.state != 0, "repayment: no such item"
    assert msg.sender == it.debtor, "repayment: caller is not the debtor"
    assert it.state == _STATE_ACTIVE, "repayment: item is not active"
    assert self._routes[item_id].kind == 0, "repayment: route is locked"
    bank: address = self._check_kind(kind, account_hash, staticcall IDebtItem(debt_item).account_bank(item_id))
    self._routes[item_id] = Route(
        kind=kind,
        bank=bank,
        account_hash=account_hash,
        locked_day=convert(self._today(), uint32),
        nonce=0,
        collected_day=0,
        collected=0,
    )
    log RouteLocked(item_id=item_id, kind=kind, bank=bank, account_hash=account_hash)


@external
def change_route(
    op_id: bytes32,
    item_id: bytes32,
    kind: uint8,
    bank: address,
    account_hash: bytes32,
    deadline: uint256,
    signatures: DynArray[Bytes[65], _MAX_SIGNATURES],
):
    """
    @notice Changes a locked route with the EIP-712 `RouteChange` signatures
            of the debtor and every bank holding an open pledge on the item
            (any order; anyone may submit them). A new collection bank
            becomes DebtItem's account bank.
    @param op_id The operation id; an id is applied at most once.
    @param item_id The item.
    @param kind The new kind (1 tokens, 2 collection account).
    @param bank The new collection bank (kind 2: an active bank; kind 1:
           ignored, the account bank stays).
    @param account_hash The new collection account's hash (kind 2).
    @param deadline Unix time after which the signatures are void.
    @param signatures The signatures of the `RouteChange` digest.
    """
    self._apply(op_id, _KIND_CHANGE_ROUTE)
    r: Route = self._routes[item_id]
    assert r.kind != 0, "repayment: no route"
    it: Item = staticcall IDebtItem(debt_item).item(item_id)
    assert it.state == _STATE_ACTIVE, "repayment: item is not active"
    assert block.timestamp <= deadline, "repayment: signatures expired"
    current: address = staticcall IDebtItem(debt_item).account_bank(item_id)
    new_bank: address = current
    if kind == _ROUTE_ACCOUNT:
        new_bank = bank
    collection_bank: address = self._check_kind(kind, account_hash, new_bank)
    # The signers sign the change exactly as submitted.
    digest: bytes32 = self._digest(item_id, kind, bank, account_hash, r.nonce, deadline)
    signers: DynArray[address, _MAX_SIGNATURES] = []
    for signature: Bytes[65] in signatures:
        signer: address = self._signer_of(digest, signature)
        assert signer != empty(address), "repayment: invalid signature"
        signers.append(signer)
    assert it.debtor in signers, "repayment: debtor has not signed"
    for hid: bytes32 in staticcall IDebtItem(debt_item).item_holdings(item_id):
        h: Holding = staticcall IDebtItem(debt_item).holding(hid)
        if h.outstanding != 0 and (h.pledge_principal != 0 or h.pledge_interest != 0):
            assert h.pledge_bank in signers, "repayment: a pledgee has not signed"
    self._routes[item_id] = Route(
        kind=kind,
        bank=collection_bank,
        account_hash=account_hash,
        locked_day=r.locked_day,
        nonce=r.nonce + 1,
        collected_day=r.collected_day,
        collected=r.collected,
    )
    log RouteChanged(
        item_id=item_id, kind=kind, bank=collection_bank, account_hash=account_hash, signers=len(signers)
    )
    if new_bank != current:
        extcall IDebtItem(debt_item).set_account_bank(op_id, item_id, new_bank)


@external
def settle(op_id: bytes32, item_id: bytes32, amount: uint256, value_day: uint32):
    """
    @notice Collects what is due on a token route on or after maturity:
            exactly min(outstanding, the debtor's token balance, its
            allowance to DebtItem), at most once a day, paid through DebtItem
            on the chain's day (routed over the holdings, banks first).
            Anyone may call it; `amount` must be that figure, so the caller
            cannot collect less (or more).
    @param op_id The operation id; an id is applied at most once.
    @param item_id The item.
    @param amount What the caller expects to collect.
    @param value_day The day the caller routed it on: must be the chain's
           today, so the payment's value date is the one the caller recorded.
    """
    self._apply(op_id, _KIND_SETTLE)
    r: Route = self._routes[item_id]
    assert r.kind == _ROUTE_TOKENS, "repayment: not a token route"
    it: Item = staticcall IDebtItem(debt_item).item(item_id)
    assert it.state == _STATE_ACTIVE or it.state == _STATE_DEFAULTED, "repayment: item is not payable"
    today: uint256 = self._today()
    assert convert(value_day, uint256) == today, "repayment: value date is not today"
    assert today >= convert(it.maturity_day, uint256), "repayment: not yet due"
    assert convert(r.collected_day, uint256) != today, "repayment: already collected today"
    due: uint256 = self._collectable(item_id, it.debtor)
    assert due != 0, "repayment: nothing to collect"
    assert amount == due, "repayment: amount is not what is due"
    day: uint32 = convert(today, uint32)
    self._routes[item_id].collected_day = day
    self._routes[item_id].collected = r.collected + amount
    outstanding: uint256 = staticcall IDebtItem(debt_item).outstanding(item_id)
    log Collected(item_id=item_id, amount=amount, day=day, outstanding=outstanding - amount)
    extcall IDebtItem(debt_item).pay_with_token(op_id, item_id, amount, day)


@external
@view
def route(item_id: bytes32) -> Route:
    """
    @notice The item's route (kind 0 when none is locked).
    @param item_id The item.
    @return The route.
    """
    return self._routes[item_id]


@external
@view
def collectable(item_id: bytes32) -> uint256:
    """
    @notice What `settle` would collect now on a token route: the least of
            the outstanding, the debtor's balance and its allowance.
    @param item_id The item.
    @return Minor units.
    """
    it: Item = staticcall IDebtItem(debt_item).item(item_id)
    return self._collectable(item_id, it.debtor)


@external
@view
def route_change_digest(
    item_id: bytes32, kind: uint8, bank: address, account_hash: bytes32, nonce: uint256, deadline: uint256
) -> bytes32:
    """
    @notice The EIP-712 digest the debtor and the pledgees sign to change a route.
    @return The digest.
    """
    return self._digest(item_id, kind, bank, account_hash, nonce, deadline)


@internal
def _apply(op_id: bytes32, kind: uint8):
    assert not self.applied[op_id], "repayment: operation already applied"
    assert not staticcall IRegistry(_REGISTRY).paused(), "repayment: paused"
    self.applied[op_id] = True
    log OperationApplied(op_id=op_id, kind=kind)


@internal
@view
def _check_kind(kind: uint8, account_hash: bytes32, bank: address) -> address:
    """
    @dev The collection bank of a route of `kind` (zero for a token route).
    """
    if kind == _ROUTE_TOKENS:
        return empty(address)
    assert kind == _ROUTE_ACCOUNT, "repayment: bad route kind"
    assert account_hash != empty(bytes32), "repayment: no collection account"
    assert staticcall IRegistry(_REGISTRY).has_role(bank, _ROLE_BANK), "repayment: collection bank is not a bank"
    return bank


@internal
@view
def _collectable(item_id: bytes32, debtor: address) -> uint256:
    token: address = staticcall IDebtItem(debt_item).settlement_token()
    if token == empty(address):
        return 0
    outstanding: uint256 = staticcall IDebtItem(debt_item).outstanding(item_id)
    balance: uint256 = staticcall IToken(token).balanceOf(debtor)
    allowance: uint256 = staticcall IToken(token).allowance(debtor, debt_item)
    return min(outstanding, min(balance, allowance))


@internal
@view
def _digest(
    item_id: bytes32, kind: uint8, bank: address, account_hash: bytes32, nonce: uint256, deadline: uint256
) -> bytes32:
    return eip712._hash_typed_data_v4(
        keccak256(abi_encode(_ROUTE_CHANGE_TYPEHASH, item_id, kind, bank, account_hash, nonce, deadline))
    )


@internal
@pure
def _signer_of(digest: bytes32, signature: Bytes[65]) -> address:
    """
    @dev The signer of `digest`, or zero for a malformed signature.
    """
    if len(signature) != 65:
        return empty(address)
    v: uint256 = convert(slice(signature, 64, 1), uint256)
    s: uint256 = extract32(signature, 32, output_type=uint256)
    if (v != 27 and v != 28) or s > ecdsa._MALLEABILITY_THRESHOLD:
        return empty(address)
    return ecdsa._recover_sig(digest, signature)


@internal
@view
def _today() -> uint256:
    return block.timestamp // _SECONDS_PER_DAY
