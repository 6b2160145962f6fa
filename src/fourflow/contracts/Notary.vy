# pragma version ~=0.4.3
# pragma evm-version paris
"""
@title FourFlow notary: document fingerprints and batch anchors
@custom:contract-name notary
@license Apache-2.0
@notice Records which members registered each document fingerprint (per
        submitter, so nobody can squat another member's fingerprint) and
        anchors the Merkle roots of document batches. Writers must be active members of
        the consortium registry, and nothing is written while the registry is
        paused. The contract holds no value and its only external calls are
        `view` calls to the registry, so reentrancy is not a concern and no
        `@nonreentrant` lock (a storage lock under paris) is used.
"""


# @dev The part of the registry the notary consults.
interface IRegistry:
    def is_member(a: address) -> bool: view
    def paused() -> bool: view


# @dev An anchored batch.
struct Anchor:
    root: bytes32
    count: uint256
    block_number: uint256
    submitter: address


# @dev `OperationApplied` kinds.
_KIND_REGISTER: constant(uint8) = 1
_KIND_ANCHOR: constant(uint8) = 2

# @dev Most fingerprints in one `register` call.
_MAX_BATCH: constant(uint256) = 256


# @dev The consortium registry.
_REGISTRY: immutable(address)

# @dev Whether an operation id has been applied.
applied: public(HashMap[bytes32, bool])

# @dev Who registered a fingerprint first (zero if nobody has). Informational
# only: being first gives no rights and blocks nobody.
fingerprint_owner: public(HashMap[bytes32, address])

# @dev Whether a submitter registered a fingerprint.
registered: public(HashMap[address, HashMap[bytes32, bool]])

# @dev The batch a root was first anchored as.
batch_of_root: public(HashMap[bytes32, bytes32])

_anchors: HashMap[bytes32, Anchor]


event OperationApplied:
    op_id: indexed(bytes32)
    kind: uint8

event FingerprintRegistered:
    fingerprint: indexed(bytes32)
    submitter: indexed(address)

event BatchAnchored:
    batch_id: indexed(bytes32)
    root: indexed(bytes32)
    count: uint256
    submitter: address


@deploy
def __init__(registry: address):
    """
    @dev Binds the notary to the consortium registry.
    @param registry The registry's address.
    """
    _REGISTRY = registry


@external
def register(op_id: bytes32, fingerprints: DynArray[bytes32, _MAX_BATCH]):
    """
    @notice Registers document fingerprints for the caller. Each fingerprint
            is registered per submitter: one the caller registered before (or
            that appears twice in the list) is skipped, and one another member
            registered first does not stop the caller's registration, so no
            fingerprint can make a batch revert.
    @param op_id The operation id; an id is applied at most once.
    @param fingerprints The fingerprints (SHA-256 of canonical documents).
    """
    self._apply(op_id, _KIND_REGISTER)
    assert len(fingerprints) != 0, "notary: empty batch"
    for fp: bytes32 in fingerprints:
        if self.registered[msg.sender][fp]:
            continue
        self.registered[msg.sender][fp] = True
        if self.fingerprint_owner[fp] == empty(address):
            self.fingerprint_owner[fp] = msg.sender
        log FingerprintRegistered(fingerprint=fp, submitter=msg.sender)


@external
def anchor(op_id: bytes32, batch_id: bytes32, root: bytes32, count: uint256):
    """
    @notice Anchors the Merkle root of a batch of `count` documents.
    @param op_id The operation id; an id is applied at most once.
    @param batch_id The batch id (keccak256 of FourFlow's batch id).
    @param root The batch's Merkle root; must not be zero.
    @param count The number of leaves; must not be zero.
    """
    self._apply(op_id, _KIND_ANCHOR)
    assert self._anchors[batch_id].root == empty(bytes32), "notary: batch already anchored"
    assert count != 0, "notary: empty batch"
    assert root != empty(bytes32), "notary: zero root"
    self._anchors[batch_id] = Anchor(
        root=root, count=count, block_number=block.number, submitter=msg.sender
    )
    # A root names its first batch; a later batch with the same leaves keeps its own record.
    if self.batch_of_root[root] == empty(bytes32):
        self.batch_of_root[root] = batch_id
    log BatchAnchored(batch_id=batch_id, root=root, count=count, submitter=msg.sender)


@external
@view
def anchor_of(batch_id: bytes32) -> (bytes32, uint256, uint256, address):
    """
    @notice The anchor of a batch (all zero if never anchored).
    @param batch_id The batch id.
    @return bytes32 The Merkle root.
    @return uint256 The number of leaves.
    @return uint256 The block it was anchored in.
    @return address Who anchored it.
    """
    a: Anchor = self._anchors[batch_id]
    return a.root, a.count, a.block_number, a.submitter


@internal
def _apply(op_id: bytes32, kind: uint8):
    """
    @dev Refuses a second application of `op_id`, writes while paused and
         callers that are not active members; records the operation and
         emits `OperationApplied`.
    """
    assert not self.applied[op_id], "notary: operation already applied"
    assert not staticcall IRegistry(_REGISTRY).paused(), "notary: paused"
    assert staticcall IRegistry(_REGISTRY).is_member(msg.sender), "notary: caller is not a member"
    self.applied[op_id] = True
    log OperationApplied(op_id=op_id, kind=kind)
