# pragma version ~=0.4.3
# pragma evm-version paris
"""
@title FourFlow consortium registry
@custom:contract-name registry
@license Apache-2.0
@notice Admits consortium members, records their organisation id and role bits,
        suspends and reinstates them, and holds the consortium-wide pause switch
        that every other contract consults before every write. The deployer
        owns it while it admits the founding members, then hands ownership to
        the consortium's Governance contract (`transfer_ownership`): from then
        on admitting, changing roles, suspending and pausing need a threshold
        of the council's votes. A guardian named by governance may pause at
        once, but its pause lapses after `GUARDIAN_PAUSE_SECONDS` unless
        governance ratifies it with `pause`, and it is spent until governance
        names a guardian again.
        The contract holds no value and makes no external calls, so reentrancy
        is not a concern and no `@nonreentrant` lock (which would need storage
        locks under paris, which has no transient storage) is used.
"""


# @dev snekmate `ownable`: the deployer, then the Governance contract.
from snekmate.auth import ownable
initializes: ownable


exports: (ownable.owner, ownable.transfer_ownership)


# @dev How long a guardian's emergency pause lasts unless ratified.
GUARDIAN_PAUSE_SECONDS: public(constant(uint256)) = 3 * 86_400


# @dev A consortium member as the registry records it.
struct Member:
    org_id: bytes32
    roles: uint256
    active: bool
    admitted: bool


# @dev `OperationApplied` kinds.
_KIND_ADMIT: constant(uint8) = 1
_KIND_SET_ROLES: constant(uint8) = 2
_KIND_SUSPEND: constant(uint8) = 3
_KIND_REINSTATE: constant(uint8) = 4
_KIND_SET_ACCOUNT: constant(uint8) = 5
_KIND_SET_NODE: constant(uint8) = 6

# @dev Role bit of banks.
_ROLE_BANK: constant(uint256) = 32


# @dev A member's registered settlement account: the bank holding it and the
# hash of the account number (the number itself stays off chain).
struct Account:
    bank: address
    account_hash: bytes32


# @dev Whether an operation id has been applied.
applied: public(HashMap[bytes32, bool])

# @dev Number of members ever admitted (suspended members included).
member_count: public(uint256)

_members: HashMap[address, Member]

# @dev Each member's registered settlement account (set by the member alone).
_accounts: HashMap[address, Account]

# @dev The consortium-chain node each member runs (its node/signer address; zero: none),
# the member running each node, and whether the network's signers voted that node in
# (recorded by the owner after the vote was decided on the network: docs/consortium.md).
node_of: public(HashMap[address, address])
member_of_node: public(HashMap[address, address])
is_signer: public(HashMap[address, bool])

# @dev How many recorded nodes are signers.
signer_count: public(uint256)

# @dev The pause the owner (governance) set or ratified.
_paused: bool

# @dev Who may pause at once (zero: nobody), and whether its one pause is unspent.
guardian: public(address)
guardian_armed: public(bool)

# @dev End (timestamp, exclusive) of the guardian's pause.
guardian_pause_until: public(uint256)


event OperationApplied:
    op_id: indexed(bytes32)
    kind: uint8

event MemberAdmitted:
    member: indexed(address)
    org_id: bytes32
    roles: uint256

event RolesChanged:
    member: indexed(address)
    roles: uint256

event MemberSuspended:
    member: indexed(address)

event MemberReinstated:
    member: indexed(address)

event NodeRecorded:
    member: indexed(address)
    node: indexed(address)
    signer: bool

event Paused:
    by: indexed(address)
    until: uint256

event Unpaused:
    by: indexed(address)

event GuardianSet:
    guardian: indexed(address)

event AccountRegistered:
    member: indexed(address)
    bank: indexed(address)
    account_hash: bytes32


@deploy
def __init__():
    """
    @dev The deployer becomes the operator; the registry starts unpaused.
    """
    ownable.__init__()


@external
def admit(op_id: bytes32, member: address, org_id: bytes32, roles: uint256):
    """
    @notice Admits `member` as an active consortium member of organisation
            `org_id` holding the role bits `roles`. Owner only (the deployer
            for the founding members, then governance).
    @param op_id The operation id; an id is applied at most once.
    @param member The member's chain account.
    @param org_id The member's organisation id (keccak256 of FourFlow's id).
    @param roles The member's role bits (see docs/contracts.md).
    """
    self._apply(op_id, _KIND_ADMIT)
    ownable._check_owner()
    assert member != empty(address), "registry: zero address"
    assert not self._members[member].admitted, "registry: already a member"
    assert roles != 0, "registry: roles must not be empty"
    self._members[member] = Member(org_id=org_id, roles=roles, active=True, admitted=True)
    self.member_count += 1
    log MemberAdmitted(member=member, org_id=org_id, roles=roles)


@external
def set_roles(op_id: bytes32, member: address, roles: uint256):
    """
    @notice Replaces the role bits of an admitted member. Owner (governance) only.
    @param op_id The operation id; an id is applied at most once.
    @param member The member's chain account.
    @param roles The new role bits; must not be empty.
    """
    self._apply(op_id, _KIND_SET_ROLES)
    ownable._check_owner()
    assert self._members[member].admitted, "registry: not a member"
    assert roles != 0, "registry: roles must not be empty"
    self._members[member].roles = roles
    log RolesChanged(member=member, roles=roles)


@external
def suspend(op_id: bytes32, member: address):
    """
    @notice Suspends an admitted member: it stops being a member for
            `is_member` and `has_role` until reinstated. Owner (governance) only.
    @param op_id The operation id; an id is applied at most once.
    @param member The member's chain account.
    """
    self._apply(op_id, _KIND_SUSPEND)
    ownable._check_owner()
    assert self._members[member].admitted, "registry: not a member"
    self._members[member].active = False
    log MemberSuspended(member=member)


@external
def reinstate(op_id: bytes32, member: address):
    """
    @notice Reinstates a suspended member. Owner (governance) only.
    @param op_id The operation id; an id is applied at most once.
    @param member The member's chain account.
    """
    self._apply(op_id, _KIND_REINSTATE)
    ownable._check_owner()
    assert self._members[member].admitted, "registry: not a member"
    self._members[member].active = True
    log MemberReinstated(member=member)


@external
def set_node(op_id: bytes32, member: address, node: address, signer: bool):
    """
    @notice Records the consortium-chain node `node` that the admitted member
            `member` runs, and whether the network's signers voted it in as
            a signer (`signer`) or out. Owner (the operator before the
            handover, then governance) only: the contract cannot see the
            network's votes, so the caller records a decision the network
            has already taken (FourFlow checks it first). A member runs one
            node and a node belongs to one member.
    @param op_id The operation id; an id is applied at most once.
    @param member The member's chain account.
    @param node The node's address (its Clique signer / p2p key address).
    @param signer Whether the node is a signer of the network.
    """
    self._apply(op_id, _KIND_SET_NODE)
    ownable._check_owner()
    assert self._members[member].admitted, "registry: not a member"
    assert node != empty(address), "registry: zero address"
    assert self.member_of_node[node] in [empty(address), member], "registry: node of another member"
    assert self.node_of[member] in [empty(address), node], "registry: member has another node"
    if signer and not self.is_signer[node]:
        self.signer_count += 1
    elif not signer and self.is_signer[node]:
        self.signer_count -= 1
    self.node_of[member] = node
    self.member_of_node[node] = member
    self.is_signer[node] = signer
    log NodeRecorded(member=member, node=node, signer=signer)


@external
def pause():
    """
    @notice Pauses the consortium (or ratifies the guardian's pause, which
            then no longer lapses): every contract refuses writes while
            paused. Owner (governance) only.
    """
    ownable._check_owner()
    assert not self._paused, "registry: already paused"
    self._paused = True
    log Paused(by=msg.sender, until=max_value(uint256))


@external
def unpause():
    """
    @notice Lifts the pause, the guardian's included. Owner (governance) only.
    """
    ownable._check_owner()
    assert self._paused or block.timestamp < self.guardian_pause_until, "registry: not paused"
    self._paused = False
    self.guardian_pause_until = 0
    log Unpaused(by=msg.sender)


@external
def set_guardian(guardian: address):
    """
    @notice Names the guardian and arms its one emergency pause. Owner
            (governance) only; zero removes the guardian.
    @param guardian The guardian's account.
    """
    ownable._check_owner()
    self.guardian = guardian
    self.guardian_armed = guardian != empty(address)
    log GuardianSet(guardian=guardian)


@external
def guardian_pause():
    """
    @notice The guardian pauses the consortium for `GUARDIAN_PAUSE_SECONDS`;
            the pause lapses unless governance ratifies it with `pause`. The
            guardian's pause is spent until governance names it again.
    """
    assert msg.sender == self.guardian and self.guardian_armed, "registry: caller is not the guardian"
    self.guardian_armed = False
    until: uint256 = block.timestamp + GUARDIAN_PAUSE_SECONDS
    self.guardian_pause_until = until
    log Paused(by=msg.sender, until=until)


@external
def set_account(op_id: bytes32, bank: address, account_hash: bytes32):
    """
    @notice The caller registers its settlement account: the bank that holds
            it (the only bank whose word that the caller paid counts for the
            items issued on it afterwards) and the account number's hash.
            Only the member's own transaction sets or changes it: no owner,
            operator or bank can move a member's account.
    @param op_id The operation id; an id is applied at most once.
    @param bank The account's bank: an active member with the bank role.
    @param account_hash keccak256 of the account number; not zero.
    """
    self._apply(op_id, _KIND_SET_ACCOUNT)
    assert self._members[msg.sender].active, "registry: caller is not a member"
    m: Member = self._members[bank]
    assert m.active and m.roles & _ROLE_BANK != 0, "registry: account bank is not a bank"
    assert account_hash != empty(bytes32), "registry: no account"
    self._accounts[msg.sender] = Account(bank=bank, account_hash=account_hash)
    log AccountRegistered(member=msg.sender, bank=bank, account_hash=account_hash)


@external
@view
def account_of(member: address) -> Account:
    """
    @notice A member's registered settlement account (all zero if none).
    @param member The member's account.
    @return Account The bank and the account number's hash.
    """
    return self._accounts[member]


@external
@view
def paused() -> bool:
    """
    @notice Whether the consortium is paused (by governance, or by the
            guardian within its window).
    @return bool True while paused.
    """
    return self._paused or block.timestamp < self.guardian_pause_until


@external
@view
def is_member(a: address) -> bool:
    """
    @notice Whether `a` is an admitted member that is not suspended.
    @param a The account.
    @return bool True for an active member.
    """
    return self._members[a].active


@external
@view
def has_role(a: address, role_bit: uint256) -> bool:
    """
    @notice Whether `a` is an active member holding every bit of `role_bit`.
    @param a The account.
    @param role_bit The role bit (e.g. 32 for bank); zero is never held.
    @return bool True if the active member holds the role.
    """
    m: Member = self._members[a]
    return m.active and role_bit != 0 and m.roles & role_bit == role_bit


@external
@view
def member_of(a: address) -> (bytes32, uint256, bool):
    """
    @notice The registry's record of `a`.
    @param a The account.
    @return bytes32 The organisation id (zero if never admitted).
    @return uint256 The role bits.
    @return bool Whether the member is active (admitted and not suspended).
    """
    m: Member = self._members[a]
    return m.org_id, m.roles, m.active


@internal
def _apply(op_id: bytes32, kind: uint8):
    """
    @dev Records `op_id` as applied, refusing a second application, and
         emits `OperationApplied` so the relay can find the transaction.
    """
    assert not self.applied[op_id], "registry: operation already applied"
    self.applied[op_id] = True
    log OperationApplied(op_id=op_id, kind=kind)
