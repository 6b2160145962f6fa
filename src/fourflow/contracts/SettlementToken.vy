# pragma version ~=0.4.3
# pragma evm-version paris
"""
@title FourFlow settlement token (tokenised deposits)
@custom:contract-name settlement_token
@license Apache-2.0
@notice An ERC-20 token for one currency, each unit a claim on a deposit
        held by the member bank that minted it. Only active member banks
        mint, each against a deposit it attests (its reference, used once)
        and within the cap the owner (the consortium's Governance) set for
        it, and burn (on redemption); the
        token records each bank's issuance and burns, so that
        `totalSupply == sum(issued) - sum(burned)`. Tokens move only between
        active consortium members and not while the consortium is paused.
        Built on snekmate's `erc20`; its `mint`, `burn`, `permit` and
        minter-role functions are not exposed, and the token has no
        transfer hooks (no reentrancy into callers).
"""


from snekmate.auth import ownable
initializes: ownable

from snekmate.tokens import erc20
initializes: erc20[ownable := ownable]


# @dev The ERC-20 views come from snekmate; the writes are this contract's
# own so that they consult the registry first. The owner (the deployer, then
# Governance) sets the banks' mint caps.
exports: (
    ownable.owner,
    ownable.transfer_ownership,
    erc20.name,
    erc20.symbol,
    erc20.decimals,
    erc20.totalSupply,
    erc20.balanceOf,
    erc20.allowance,
)


# @dev The part of the registry the token consults.
interface IRegistry:
    def is_member(a: address) -> bool: view
    def has_role(a: address, role_bit: uint256) -> bool: view
    def paused() -> bool: view


# @dev Role bit of banks in the registry.
_ROLE_BANK: constant(uint256) = 32

# @dev `OperationApplied` kinds.
_KIND_MINT: constant(uint8) = 1
_KIND_BURN: constant(uint8) = 2
_KIND_SET_MINT_CAP: constant(uint8) = 3


# @dev The consortium registry.
_REGISTRY: immutable(address)

# @dev ISO 4217 numeric code of the deposits' currency (156 = CNY).
currency: public(immutable(uint16))

# @dev Whether an operation id has been applied.
applied: public(HashMap[bytes32, bool])

# @dev Tokens each bank has minted.
issued: public(HashMap[address, uint256])

# @dev Tokens each bank has burned.
burned: public(HashMap[address, uint256])

# @dev Most tokens a bank may have outstanding (issued less burned).
mint_cap: public(HashMap[address, uint256])

# @dev Deposit references each bank has minted against.
deposit_used: public(HashMap[address, HashMap[bytes32, bool]])


event OperationApplied:
    op_id: indexed(bytes32)
    kind: uint8

event Minted:
    bank: indexed(address)
    to: indexed(address)
    amount: uint256
    deposit_ref: bytes32

event MintCapSet:
    bank: indexed(address)
    cap: uint256

event Burned:
    bank: indexed(address)
    amount: uint256


@deploy
def __init__(registry: address, name_: String[25], symbol_: String[5], decimals_: uint8, currency_: uint16):
    """
    @dev Binds the token to the registry; the EIP-712 domain (unused: no
         `permit`) is `name_`, version "1".
    @param registry The registry's address.
    @param name_ The token's name.
    @param symbol_ The token's symbol.
    @param decimals_ The token's decimals (2 for CNY minor units).
    @param currency_ ISO 4217 numeric currency code.
    """
    ownable.__init__()
    erc20.__init__(name_, symbol_, decimals_, name_, "1")
    # snekmate makes the deployer a minter; minting here is by banks only.
    erc20.is_minter[msg.sender] = False
    _REGISTRY = registry
    currency = currency_


@external
def transfer(to: address, amount: uint256) -> bool:
    """
    @notice Moves `amount` tokens from the caller to `to`; both must be
            active members and the consortium must not be paused.
    @param to The recipient.
    @param amount The amount in minor units.
    @return bool True (failures revert).
    """
    self._check_transfer(msg.sender, to)
    erc20._transfer(msg.sender, to, amount)
    return True


@external
def approve(spender: address, amount: uint256) -> bool:
    """
    @notice Allows `spender` (e.g. the DebtItem or WarehouseReceipt
            contract) to move up to `amount` of the caller's tokens.
    @param spender The spender.
    @param amount The allowance in minor units.
    @return bool True (failures revert).
    """
    assert not staticcall IRegistry(_REGISTRY).paused(), "settlement_token: paused"
    erc20._approve(msg.sender, spender, amount)
    return True


@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    """
    @notice Moves `amount` of `owner`'s tokens to `to` within the caller's
            allowance; both must be active members, not while paused.
    @param owner The tokens' owner.
    @param to The recipient.
    @param amount The amount in minor units.
    @return bool True (failures revert).
    """
    self._check_transfer(owner, to)
    erc20._spend_allowance(owner, msg.sender, amount)
    erc20._transfer(owner, to, amount)
    return True


@external
def mint(op_id: bytes32, to: address, amount: uint256, deposit_ref: bytes32):
    """
    @notice A member bank mints `amount` tokens to `to` against the deposit
            `deposit_ref` it holds for `to`, within its mint cap.
    @param op_id The operation id; an id is applied at most once.
    @param to The recipient: an active member.
    @param amount The amount in minor units; not zero.
    @param deposit_ref The bank's reference of the deposit; not zero, used once.
    """
    self._apply(op_id, _KIND_MINT)
    assert staticcall IRegistry(_REGISTRY).has_role(msg.sender, _ROLE_BANK), "settlement_token: caller is not a bank"
    assert staticcall IRegistry(_REGISTRY).is_member(to), "settlement_token: recipient is not a member"
    assert amount != 0, "settlement_token: amount is zero"
    assert deposit_ref != empty(bytes32), "settlement_token: no deposit reference"
    assert not self.deposit_used[msg.sender][deposit_ref], "settlement_token: deposit already minted"
    issued: uint256 = self.issued[msg.sender] + amount
    assert issued - self.burned[msg.sender] <= self.mint_cap[msg.sender], "settlement_token: mint cap exceeded"
    self.deposit_used[msg.sender][deposit_ref] = True
    self.issued[msg.sender] = issued
    erc20._mint(to, amount)
    log Minted(bank=msg.sender, to=to, amount=amount, deposit_ref=deposit_ref)


@external
def set_mint_cap(op_id: bytes32, bank: address, cap: uint256):
    """
    @notice Sets the most tokens `bank` may have outstanding. Owner
            (governance) only; a cap below the outstanding stops new mints.
    @param op_id The operation id; an id is applied at most once.
    @param bank The bank.
    @param cap The cap in minor units.
    """
    self._apply(op_id, _KIND_SET_MINT_CAP)
    ownable._check_owner()
    self.mint_cap[bank] = cap
    log MintCapSet(bank=bank, cap=cap)


@external
def burn(op_id: bytes32, amount: uint256):
    """
    @notice A member bank burns `amount` of its own tokens when it pays the
            deposit out; a bank burns no more than it has issued.
    @param op_id The operation id; an id is applied at most once.
    @param amount The amount in minor units; not zero.
    """
    self._apply(op_id, _KIND_BURN)
    assert staticcall IRegistry(_REGISTRY).has_role(msg.sender, _ROLE_BANK), "settlement_token: caller is not a bank"
    assert amount != 0, "settlement_token: amount is zero"
    burned: uint256 = self.burned[msg.sender] + amount
    assert burned <= self.issued[msg.sender], "settlement_token: burn exceeds issuance"
    self.burned[msg.sender] = burned
    erc20._burn(msg.sender, amount)
    log Burned(bank=msg.sender, amount=amount)


@internal
def _apply(op_id: bytes32, kind: uint8):
    """
    @dev Refuses a second application of `op_id` and writes while the
         registry is paused; records the operation and emits `OperationApplied`.
    """
    assert not self.applied[op_id], "settlement_token: operation already applied"
    assert not staticcall IRegistry(_REGISTRY).paused(), "settlement_token: paused"
    self.applied[op_id] = True
    log OperationApplied(op_id=op_id, kind=kind)


@internal
@view
def _check_transfer(owner: address, to: address):
    """
    @dev Tokens move only between active members, and not while paused.
    """
    assert not staticcall IRegistry(_REGISTRY).paused(), "settlement_token: paused"
    assert staticcall IRegistry(_REGISTRY).is_member(owner), "settlement_token: sender is not a member"
    assert staticcall IRegistry(_REGISTRY).is_member(to), "settlement_token: recipient is not a member"
