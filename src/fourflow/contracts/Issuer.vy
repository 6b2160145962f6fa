# pragma version ~=0.4.3
# pragma evm-version paris
"""
@title FourFlow debt item issuer: issuance on evidence or on confirmation
@custom:contract-name issuer
@license Apache-2.0
@notice The one way debt items come into being. An item on the verified
        basis needs the verification report signed (EIP-712
        `VerificationReport`) by `verifier_quorum` distinct active members
        holding the verifier role, bound to the item, the trade and report
        hashes, creditor, debtor, currency, amount, maturity and the debtor's
        account bank; an item on the confirmed basis needs the debtor's own
        EIP-712 `Confirmation` of the same terms. The caller is the creditor.
        The Issuer checks the signatures and has DebtItem record the item
        (`register_issue`), so DebtItem itself carries no signature code (it
        stays within the EIP-170 size limit). The only external calls are
        to the registry (view) and to DebtItem, FourFlow's own contract.
"""


from snekmate.utils import eip712_domain_separator as eip712
initializes: eip712

from snekmate.utils import ecdsa


exports: eip712.eip712Domain


# @dev A member's registered settlement account, as the registry returns it.
struct Account:
    bank: address
    account_hash: bytes32


interface IRegistry:
    def is_member(a: address) -> bool: view
    def has_role(a: address, role_bit: uint256) -> bool: view
    def paused() -> bool: view
    def owner() -> address: view
    def account_of(member: address) -> Account: view


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


interface IDebtItem:
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
    ): nonpayable
    def mark_confirmed(item_id: bytes32, nonce: uint256): nonpayable
    def item(item_id: bytes32) -> Item: view
    def account_bank(item_id: bytes32) -> address: view


# @dev Role bit of verifiers in the registry.
_ROLE_VERIFIER: constant(uint256) = 256

# @dev Most verifier signatures on one report.
_MAX_SIGNATURES: constant(uint256) = 8

_BASIS_VERIFIED: constant(uint8) = 1
_BASIS_CONFIRMED: constant(uint8) = 2

# @dev `OperationApplied` kinds (as DebtItem numbered them before the split).
_KIND_ISSUE: constant(uint8) = 1
_KIND_ISSUE_CONFIRMED: constant(uint8) = 2
_KIND_CONFIRM: constant(uint8) = 7
_KIND_SET_QUORUM: constant(uint8) = 27

_CONFIRMATION_TYPEHASH: constant(bytes32) = keccak256(
    "Confirmation(bytes32 itemId,address creditor,address debtor,uint16 currency,uint256 faceValue,uint32 maturityDay,bytes32 reportHash,address accountBank,uint256 nonce,uint256 deadline)"
)

_REPORT_TYPEHASH: constant(bytes32) = keccak256(
    "VerificationReport(bytes32 itemId,bytes32 tradeHash,bytes32 reportHash,address creditor,address debtor,uint16 currency,uint256 faceValue,uint32 maturityDay,address accountBank)"
)


_REGISTRY: immutable(address)

# @dev The DebtItem contract the issuer records items in.
debt_item: public(immutable(address))

# @dev Whether an operation id has been applied.
applied: public(HashMap[bytes32, bool])

# @dev The next confirmation nonce of each debtor.
nonces: public(HashMap[address, uint256])

# @dev Distinct verifiers whose signatures a verified item needs (k of n).
verifier_quorum: public(uint256)


event OperationApplied:
    op_id: indexed(bytes32)
    kind: uint8

event VerifierQuorumChanged:
    quorum: uint256


@deploy
def __init__(registry: address, debt: address):
    """
    @dev Binds the issuer to the registry and DebtItem; the EIP-712 domain is
         `name="FourFlow DebtItem"`, `version="1"`, this contract verifying.
    @param registry The registry's address.
    @param debt The DebtItem's address.
    """
    eip712.__init__("FourFlow DebtItem", "1")
    _REGISTRY = registry
    debt_item = debt
    self.verifier_quorum = 1


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
    account_bank: address,
    report_signatures: DynArray[Bytes[65], _MAX_SIGNATURES],
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
    @param account_bank The debtor's account bank: an active bank.
    @param report_signatures Verifiers' signatures of the `VerificationReport`,
           signers in ascending address order.
    """
    self._apply(op_id, _KIND_ISSUE)
    digest: bytes32 = self._report_digest(
        item_id, trade_hash, report_hash, msg.sender, debtor, currency, face_value, maturity_day, account_bank
    )
    last: address = empty(address)
    for sig: Bytes[65] in report_signatures:
        signer: address = self._signer_of(digest, sig)
        assert convert(signer, uint256) > convert(last, uint256), "issuer: signers not distinct and ascending"
        assert staticcall IRegistry(_REGISTRY).has_role(signer, _ROLE_VERIFIER), "issuer: signer is not a verifier"
        last = signer
    assert len(report_signatures) >= self.verifier_quorum, "issuer: too few verifier signatures"
    self._register(
        item_id, holding_id, debtor, currency, face_value, issue_day, maturity_day,
        asset_type, trade_hash, report_hash, _BASIS_VERIFIED, account_bank,
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
    account_bank: address,
    nonce: uint256,
    deadline: uint256,
    signature: Bytes[65],
):
    """
    @notice Issues a debt item the debtor confirmed (basis `confirmed`): as
            `issue`, with the debtor's EIP-712 signature of `Confirmation`
            in place of the verifiers'.
    @param op_id The operation id; an id is applied at most once.
    @param item_id The item id.
    @param holding_id The id of the creditor's first holding.
    @param debtor The debtor's account (the signer).
    @param currency ISO 4217 numeric currency code.
    @param face_value Face value in minor units.
    @param issue_day Issue day number.
    @param maturity_day Maturity day number.
    @param asset_type 1 receivable, 2 contract right.
    @param trade_hash Hash of the verified trade.
    @param report_hash Hash of the verification report; not zero.
    @param account_bank The debtor's account bank, as the debtor signed it.
    @param nonce The debtor's current confirmation nonce (`nonces(debtor)`).
    @param deadline Last timestamp (seconds) at which the confirmation is valid.
    @param signature The debtor's 65-byte (r, s, v) EIP-712 signature.
    """
    self._apply(op_id, _KIND_ISSUE_CONFIRMED)
    self._check_confirmation(
        item_id, msg.sender, debtor, currency, face_value, maturity_day, report_hash,
        account_bank, nonce, deadline, signature,
    )
    self._register(
        item_id, holding_id, debtor, currency, face_value, issue_day, maturity_day,
        asset_type, trade_hash, report_hash, _BASIS_CONFIRMED, account_bank,
    )


@external
def confirm(op_id: bytes32, item_id: bytes32, nonce: uint256, deadline: uint256, signature: Bytes[65]):
    """
    @notice Upgrades an item issued on the evidence alone to basis
            `confirmed` with the debtor's EIP-712 `Confirmation` of the
            item's stored terms and account bank.
    @dev Any member may submit the signature: it binds the item, both
         parties, the terms, the debtor's nonce and a deadline.
    @param op_id The operation id; an id is applied at most once.
    @param item_id The item confirmed.
    @param nonce The debtor's current confirmation nonce.
    @param deadline Last timestamp (seconds) at which the confirmation is valid.
    @param signature The debtor's 65-byte (r, s, v) EIP-712 signature.
    """
    self._apply(op_id, _KIND_CONFIRM)
    assert staticcall IRegistry(_REGISTRY).is_member(msg.sender), "issuer: caller is not a member"
    it: Item = staticcall IDebtItem(debt_item).item(item_id)
    assert it.state != 0, "issuer: no such item"
    self._check_confirmation(
        item_id, it.creditor, it.debtor, it.currency, it.face_value, it.maturity_day,
        it.report_hash, staticcall IDebtItem(debt_item).account_bank(item_id), nonce, deadline, signature,
    )
    extcall IDebtItem(debt_item).mark_confirmed(item_id, nonce)


@external
def set_verifier_quorum(op_id: bytes32, quorum: uint256):
    """
    @notice Sets how many distinct verifiers must sign a report (k of n).
            Operator (the registry's owner: governance) only.
    @param op_id The operation id; an id is applied at most once.
    @param quorum At least 1, at most 8.
    """
    self._apply(op_id, _KIND_SET_QUORUM)
    assert msg.sender == staticcall IRegistry(_REGISTRY).owner(), "issuer: caller is not the operator"
    assert quorum != 0 and quorum <= _MAX_SIGNATURES, "issuer: bad quorum"
    self.verifier_quorum = quorum
    log VerifierQuorumChanged(quorum=quorum)


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
    account_bank: address,
    nonce: uint256,
    deadline: uint256,
) -> bytes32:
    """
    @notice The EIP-712 digest a debtor signs to confirm an item.
    @return bytes32 The digest.
    """
    return self._confirmation_digest(
        item_id, creditor, debtor, currency, face_value, maturity_day, report_hash, account_bank, nonce, deadline
    )


@external
@view
def report_digest(
    item_id: bytes32,
    trade_hash: bytes32,
    report_hash: bytes32,
    creditor: address,
    debtor: address,
    currency: uint16,
    face_value: uint256,
    maturity_day: uint32,
    account_bank: address,
) -> bytes32:
    """
    @notice The EIP-712 digest a verifier signs for a verified item.
    @return bytes32 The digest.
    """
    return self._report_digest(
        item_id, trade_hash, report_hash, creditor, debtor, currency, face_value, maturity_day, account_bank
    )


@internal
def _register(
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
    account_bank: address,
):
    """
    @dev Has DebtItem record the item. A debtor that registered its settlement
         account names its account bank: no creditor, verifier or signature
         can name another.
    """
    registered: address = (staticcall IRegistry(_REGISTRY).account_of(debtor)).bank
    assert registered == empty(address) or registered == account_bank, "issuer: not the debtor's registered account bank"
    extcall IDebtItem(debt_item).register_issue(
        item_id, holding_id, msg.sender, debtor, currency, face_value, issue_day, maturity_day,
        asset_type, trade_hash, report_hash, basis, account_bank,
    )


@internal
def _check_confirmation(
    item_id: bytes32,
    creditor: address,
    debtor: address,
    currency: uint16,
    face_value: uint256,
    maturity_day: uint32,
    report_hash: bytes32,
    account_bank: address,
    nonce: uint256,
    deadline: uint256,
    signature: Bytes[65],
):
    """
    @dev Checks the debtor's confirmation and uses its nonce.
    """
    assert block.timestamp <= deadline, "issuer: confirmation expired"
    assert nonce == self.nonces[debtor], "issuer: bad nonce"
    digest: bytes32 = self._confirmation_digest(
        item_id, creditor, debtor, currency, face_value, maturity_day, report_hash, account_bank, nonce, deadline
    )
    assert self._signer_of(digest, signature) == debtor, "issuer: invalid confirmation signature"
    self.nonces[debtor] = nonce + 1


@internal
def _apply(op_id: bytes32, kind: uint8):
    assert not self.applied[op_id], "issuer: operation already applied"
    assert not staticcall IRegistry(_REGISTRY).paused(), "issuer: paused"
    self.applied[op_id] = True
    log OperationApplied(op_id=op_id, kind=kind)


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
    account_bank: address,
    nonce: uint256,
    deadline: uint256,
) -> bytes32:
    return eip712._hash_typed_data_v4(
        keccak256(
            abi_encode(
                _CONFIRMATION_TYPEHASH, item_id, creditor, debtor, currency, face_value,
                maturity_day, report_hash, account_bank, nonce, deadline,
            )
        )
    )


@internal
@view
def _report_digest(
    item_id: bytes32,
    trade_hash: bytes32,
    report_hash: bytes32,
    creditor: address,
    debtor: address,
    currency: uint16,
    face_value: uint256,
    maturity_day: uint32,
    account_bank: address,
) -> bytes32:
    return eip712._hash_typed_data_v4(
        keccak256(
            abi_encode(
                _REPORT_TYPEHASH, item_id, trade_hash, report_hash, creditor, debtor,
                currency, face_value, maturity_day, account_bank,
            )
        )
    )


@internal
@pure
def _signer_of(digest: bytes32, signature: Bytes[65]) -> address:
    """
    @dev The signer of `digest`, or zero for a malformed signature (length,
         `v`, high `s` checked first so the revert is this contract's own).
    """
    if len(signature) != 65:
        return empty(address)
    v: uint256 = convert(slice(signature, 64, 1), uint256)
    s: uint256 = extract32(signature, 32, output_type=uint256)
    if (v != 27 and v != 28) or s > ecdsa._MALLEABILITY_THRESHOLD:
        return empty(address)
    return ecdsa._recover_sig(digest, signature)
