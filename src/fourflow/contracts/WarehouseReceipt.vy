# pragma version ~=0.4.3
# pragma evm-version paris
"""
@title FourFlow warehouse receipts (货权) with delivery versus payment
@custom:contract-name warehouse_receipt
@license Apache-2.0
@notice A warehouse member issues a receipt per lot of goods it stores; the
        receipt's holder owns the goods. A holder may pledge a receipt to a
        bank (inventory financing: the receipt is locked) and sell goods to
        a buyer against settlement tokens: each payment moves tokens from
        the buyer to the pledgee bank first (up to what it is owed), the
        rest to the seller, and in the same transaction passes title to
        the quantity paid for (pro rata to the price) to the buyer's
        receipt. A pledged receipt never changes holder and its goods never
        leave the warehouse, so title and pledge never diverge. Token moves
        come after every check and state change (checks-effects-
        interactions); the token is FourFlow's own hook-free ERC-20.
"""


# @dev The part of the registry the receipts consult.
interface IRegistry:
    def is_member(a: address) -> bool: view
    def has_role(a: address, role_bit: uint256) -> bool: view
    def paused() -> bool: view


# @dev The part of the settlement token the receipts use.
interface IToken:
    def transferFrom(owner: address, to: address, amount: uint256) -> bool: nonpayable


# @dev A lot (or the part of a lot passed by a sale) held by one member.
struct Receipt:
    warehouse: address
    holder: address
    goods_code: bytes32
    description_hash: bytes32
    quantity: uint256
    unit: bytes32
    location: bytes32
    evidence_hash: bytes32
    parent: bytes32
    pledge_bank: address
    pledge_amount: uint256
    released: uint256
    sale_id: bytes32


# @dev A sale of goods under a receipt, paid in settlement tokens.
struct Sale:
    receipt_id: bytes32
    seller: address
    buyer: address
    buyer_receipt_id: bytes32
    quantity: uint256
    price: uint256
    paid: uint256
    quantity_passed: uint256
    state: uint8


# @dev A holder's pledge offer, waiting for the bank's acceptance.
struct PledgeOffer:
    holder: address
    bank: address
    amount: uint256


# @dev Role bits in the registry.
_ROLE_WAREHOUSE: constant(uint256) = 16
_ROLE_BANK: constant(uint256) = 32

# @dev Sale states.
_SALE_OPEN: constant(uint8) = 1
_SALE_COMPLETED: constant(uint8) = 2
_SALE_CLOSED: constant(uint8) = 3

# @dev `OperationApplied` kinds.
_KIND_ISSUE: constant(uint8) = 1
_KIND_TRANSFER: constant(uint8) = 2
_KIND_PLEDGE: constant(uint8) = 3
_KIND_RELEASE_PLEDGE: constant(uint8) = 4
_KIND_OFFER: constant(uint8) = 5
_KIND_PAY: constant(uint8) = 6
_KIND_CLOSE_SALE: constant(uint8) = 7
_KIND_CONFIRM_RELEASE: constant(uint8) = 8
_KIND_REQUEST_RELEASE: constant(uint8) = 9
_KIND_ACCEPT_PLEDGE: constant(uint8) = 10

# @dev Largest pledge amount (as DebtItem's face values): sums never overflow.
_MAX_AMOUNT: constant(uint256) = 2**128


# @dev The consortium registry.
_REGISTRY: immutable(address)

# @dev The settlement token sales are paid in.
settlement_token: public(immutable(address))

# @dev Whether an operation id has been applied.
applied: public(HashMap[bytes32, bool])

_receipts: HashMap[bytes32, Receipt]
_sales: HashMap[bytes32, Sale]
_offers: HashMap[bytes32, PledgeOffer]


# @dev Quantity the holder asked the warehouse to release, not yet released.
release_requested: public(HashMap[bytes32, uint256])


event ReleaseRequested:
    receipt_id: indexed(bytes32)
    holder: indexed(address)
    quantity: uint256


event OperationApplied:
    op_id: indexed(bytes32)
    kind: uint8

event ReceiptIssued:
    receipt_id: indexed(bytes32)
    warehouse: indexed(address)
    holder: indexed(address)
    goods_code: bytes32
    quantity: uint256
    unit: bytes32
    location: bytes32
    evidence_hash: bytes32

event TitleTransferred:
    receipt_id: indexed(bytes32)
    from_holder: indexed(address)
    to_holder: indexed(address)
    quantity: uint256

event ReceiptPledged:
    receipt_id: indexed(bytes32)
    bank: indexed(address)
    amount: uint256

event PledgeOffered:
    receipt_id: indexed(bytes32)
    holder: indexed(address)
    bank: indexed(address)
    amount: uint256

event PledgeReleased:
    receipt_id: indexed(bytes32)
    bank: indexed(address)

event SaleOffered:
    sale_id: indexed(bytes32)
    receipt_id: indexed(bytes32)
    seller: address
    buyer: indexed(address)
    quantity: uint256
    price: uint256

event SalePaid:
    sale_id: indexed(bytes32)
    amount: uint256
    to_bank: uint256
    to_seller: uint256
    paid_total: uint256

event TitlePassed:
    sale_id: indexed(bytes32)
    from_receipt: indexed(bytes32)
    to_receipt: indexed(bytes32)
    quantity: uint256

event SaleCompleted:
    sale_id: indexed(bytes32)

event SaleClosed:
    sale_id: indexed(bytes32)
    paid: uint256
    quantity_passed: uint256

event GoodsReleased:
    receipt_id: indexed(bytes32)
    holder: indexed(address)
    quantity: uint256
    evidence_hash: bytes32


@deploy
def __init__(registry: address, token: address):
    """
    @dev Binds the receipts to the registry and the settlement token.
    @param registry The registry's address.
    @param token The SettlementToken sales are paid in.
    """
    _REGISTRY = registry
    settlement_token = token


@external
def issue(
    op_id: bytes32,
    receipt_id: bytes32,
    holder: address,
    goods_code: bytes32,
    description_hash: bytes32,
    quantity: uint256,
    unit: bytes32,
    location: bytes32,
    evidence_hash: bytes32,
):
    """
    @notice The warehouse issues a receipt for a lot it stores.
    @param op_id The operation id; an id is applied at most once.
    @param receipt_id The receipt id.
    @param holder The goods' owner: an active member.
    @param goods_code The goods' code (e.g. keccak256 of a GTIN).
    @param description_hash Hash of the goods' description.
    @param quantity Quantity in `unit`; not zero.
    @param unit UN/ECE Rec 20 unit code, left-aligned ASCII.
    @param location Storage location id (e.g. keccak256 of a GLN).
    @param evidence_hash Hash of the EPCIS event that put the goods there; not zero.
    """
    self._apply(op_id, _KIND_ISSUE)
    assert staticcall IRegistry(_REGISTRY).has_role(msg.sender, _ROLE_WAREHOUSE), "warehouse_receipt: caller is not a warehouse"
    assert staticcall IRegistry(_REGISTRY).is_member(holder), "warehouse_receipt: holder is not a member"
    assert self._receipts[receipt_id].warehouse == empty(address), "warehouse_receipt: receipt exists"
    assert quantity != 0, "warehouse_receipt: quantity is zero"
    assert evidence_hash != empty(bytes32), "warehouse_receipt: no evidence"
    self._receipts[receipt_id] = Receipt(
        warehouse=msg.sender,
        holder=holder,
        goods_code=goods_code,
        description_hash=description_hash,
        quantity=quantity,
        unit=unit,
        location=location,
        evidence_hash=evidence_hash,
        parent=empty(bytes32),
        pledge_bank=empty(address),
        pledge_amount=0,
        released=0,
        sale_id=empty(bytes32),
    )
    log ReceiptIssued(
        receipt_id=receipt_id,
        warehouse=msg.sender,
        holder=holder,
        goods_code=goods_code,
        quantity=quantity,
        unit=unit,
        location=location,
        evidence_hash=evidence_hash,
    )


@external
def transfer(op_id: bytes32, receipt_id: bytes32, to: address):
    """
    @notice Passes title to the whole receipt to `to`, without payment.
    @param op_id The operation id; an id is applied at most once.
    @param receipt_id The receipt; not pledged, not on sale.
    @param to The new holder: an active member other than the caller.
    """
    self._apply(op_id, _KIND_TRANSFER)
    r: Receipt = self._receipts[receipt_id]
    self._check_free(r)
    assert staticcall IRegistry(_REGISTRY).is_member(to), "warehouse_receipt: recipient is not a member"
    assert to != msg.sender, "warehouse_receipt: transfer to self"
    assert r.quantity != 0, "warehouse_receipt: nothing held"
    self._receipts[receipt_id].holder = to
    log TitleTransferred(receipt_id=receipt_id, from_holder=msg.sender, to_holder=to, quantity=r.quantity)


@external
def pledge(op_id: bytes32, receipt_id: bytes32, bank: address, amount: uint256):
    """
    @notice The holder offers the receipt to `bank` as a pledge for `amount`
            (inventory financing). Nothing is pledged until the bank accepts
            the same amount (`accept_pledge`); a new offer replaces an
            earlier one.
    @param op_id The operation id; an id is applied at most once.
    @param receipt_id The receipt; not pledged, not on sale.
    @param bank The bank offered the pledge: an active member with the bank role.
    @param amount What the bank would be owed, minor units; not zero, below 2**128.
    """
    self._apply(op_id, _KIND_PLEDGE)
    r: Receipt = self._receipts[receipt_id]
    self._check_free(r)
    self._check_pledgeable(r, bank, amount)
    self._offers[receipt_id] = PledgeOffer(holder=msg.sender, bank=bank, amount=amount)
    log PledgeOffered(receipt_id=receipt_id, holder=msg.sender, bank=bank, amount=amount)


@external
def accept_pledge(op_id: bytes32, receipt_id: bytes32, amount: uint256):
    """
    @notice The bank accepts the holder's pledge offer at the amount it set:
            the receipt is locked until the bank is paid or releases it.
    @param op_id The operation id; an id is applied at most once.
    @param receipt_id The receipt offered.
    @param amount The amount the bank lends against it; must equal the offer's.
    """
    self._apply(op_id, _KIND_ACCEPT_PLEDGE)
    o: PledgeOffer = self._offers[receipt_id]
    assert o.bank == msg.sender and msg.sender != empty(address), "warehouse_receipt: caller is not the offered bank"
    assert o.amount == amount, "warehouse_receipt: amount differs from the offer"
    r: Receipt = self._receipts[receipt_id]
    assert r.holder == o.holder, "warehouse_receipt: holder changed"
    assert staticcall IRegistry(_REGISTRY).is_member(o.holder), "warehouse_receipt: holder is not a member"
    assert r.pledge_amount == 0, "warehouse_receipt: receipt is pledged"
    assert r.sale_id == empty(bytes32), "warehouse_receipt: receipt is on sale"
    self._check_pledgeable(r, msg.sender, amount)
    self._offers[receipt_id] = empty(PledgeOffer)
    self._receipts[receipt_id].pledge_bank = msg.sender
    self._receipts[receipt_id].pledge_amount = amount
    log ReceiptPledged(receipt_id=receipt_id, bank=msg.sender, amount=amount)


@external
def release_pledge(op_id: bytes32, receipt_id: bytes32):
    """
    @notice The pledgee bank releases its pledge (repaid off chain).
    @param op_id The operation id; an id is applied at most once.
    @param receipt_id The pledged receipt.
    """
    self._apply(op_id, _KIND_RELEASE_PLEDGE)
    r: Receipt = self._receipts[receipt_id]
    assert r.pledge_amount != 0, "warehouse_receipt: receipt is not pledged"
    assert msg.sender == r.pledge_bank, "warehouse_receipt: caller is not the pledgee"
    self._receipts[receipt_id].pledge_amount = 0
    log PledgeReleased(receipt_id=receipt_id, bank=r.pledge_bank)


@external
def offer(
    op_id: bytes32,
    sale_id: bytes32,
    receipt_id: bytes32,
    buyer: address,
    buyer_receipt_id: bytes32,
    quantity: uint256,
    price: uint256,
):
    """
    @notice The holder offers `quantity` of the receipt's goods to `buyer`
            for `price` settlement-token units; title passes as it is paid.
    @dev A pledged receipt may be sold only for at least what its bank is
         owed, so that a sale paid in full pays the bank in full.
    @param op_id The operation id; an id is applied at most once.
    @param sale_id The sale id.
    @param receipt_id The seller's receipt; not on sale.
    @param buyer The buyer: an active member other than the seller.
    @param buyer_receipt_id The id of the buyer's receipt for the goods.
    @param quantity Quantity sold; not zero, at most the receipt's quantity.
    @param price Price in minor units; not zero.
    """
    self._apply(op_id, _KIND_OFFER)
    r: Receipt = self._receipts[receipt_id]
    self._check_holder(r)
    assert r.sale_id == empty(bytes32), "warehouse_receipt: receipt is on sale"
    assert self._sales[sale_id].state == 0, "warehouse_receipt: sale exists"
    assert staticcall IRegistry(_REGISTRY).is_member(buyer), "warehouse_receipt: buyer is not a member"
    assert buyer != msg.sender, "warehouse_receipt: sale to self"
    assert quantity != 0, "warehouse_receipt: quantity is zero"
    assert quantity <= r.quantity, "warehouse_receipt: quantity exceeds holding"
    assert price != 0, "warehouse_receipt: price is zero"
    assert price >= r.pledge_amount, "warehouse_receipt: price below pledge"
    assert self._receipts[buyer_receipt_id].warehouse == empty(address), "warehouse_receipt: receipt exists"
    self._sales[sale_id] = Sale(
        receipt_id=receipt_id,
        seller=msg.sender,
        buyer=buyer,
        buyer_receipt_id=buyer_receipt_id,
        quantity=quantity,
        price=price,
        paid=0,
        quantity_passed=0,
        state=_SALE_OPEN,
    )
    self._receipts[receipt_id].sale_id = sale_id
    log SaleOffered(sale_id=sale_id, receipt_id=receipt_id, seller=msg.sender, buyer=buyer, quantity=quantity, price=price)


@external
def pay(op_id: bytes32, sale_id: bytes32, amount: uint256):
    """
    @notice The buyer pays `amount` of the price: the pledgee bank is paid
            first (up to what it is owed), the seller the rest, and title to
            `floor(paid * quantity / price)` less what passed before moves
            to the buyer's receipt in the same transaction.
    @param op_id The operation id; an id is applied at most once.
    @param sale_id The sale.
    @param amount Minor units; not zero, at most the price still unpaid.
    """
    self._apply(op_id, _KIND_PAY)
    s: Sale = self._sales[sale_id]
    assert s.state != 0, "warehouse_receipt: no such sale"
    assert msg.sender == s.buyer, "warehouse_receipt: caller is not the buyer"
    assert s.state == _SALE_OPEN, "warehouse_receipt: sale is not open"
    assert amount != 0, "warehouse_receipt: amount is zero"
    assert amount <= s.price - s.paid, "warehouse_receipt: payment exceeds price"
    r: Receipt = self._receipts[s.receipt_id]

    to_bank: uint256 = min(amount, r.pledge_amount)
    to_seller: uint256 = amount - to_bank
    if to_bank != 0:
        self._receipts[s.receipt_id].pledge_amount = r.pledge_amount - to_bank
    s.paid += amount
    passed: uint256 = s.paid * s.quantity // s.price
    moved: uint256 = passed - s.quantity_passed
    s.quantity_passed = passed
    if moved != 0:
        self._pass_title(sale_id, s, r, moved)
    log SalePaid(sale_id=sale_id, amount=amount, to_bank=to_bank, to_seller=to_seller, paid_total=s.paid)
    if to_bank != 0 and to_bank == r.pledge_amount:
        log PledgeReleased(receipt_id=s.receipt_id, bank=r.pledge_bank)
    if s.paid == s.price:
        s.state = _SALE_COMPLETED
        self._receipts[s.receipt_id].sale_id = empty(bytes32)
        log SaleCompleted(sale_id=sale_id)
    self._sales[sale_id] = s

    # Interactions last: every check and state change is done.
    if to_bank != 0:
        assert extcall IToken(settlement_token).transferFrom(msg.sender, r.pledge_bank, to_bank)
    if to_seller != 0:
        assert extcall IToken(settlement_token).transferFrom(msg.sender, s.seller, to_seller)


@external
def close_sale(op_id: bytes32, sale_id: bytes32):
    """
    @notice Seller or buyer closes an open sale; title already passed stays
            passed and the rest stays with the seller.
    @param op_id The operation id; an id is applied at most once.
    @param sale_id The sale.
    """
    self._apply(op_id, _KIND_CLOSE_SALE)
    s: Sale = self._sales[sale_id]
    assert s.state != 0, "warehouse_receipt: no such sale"
    assert msg.sender == s.seller or msg.sender == s.buyer, "warehouse_receipt: caller may not close"
    assert s.state == _SALE_OPEN, "warehouse_receipt: sale is not open"
    self._sales[sale_id].state = _SALE_CLOSED
    self._receipts[s.receipt_id].sale_id = empty(bytes32)
    log SaleClosed(sale_id=sale_id, paid=s.paid, quantity_passed=s.quantity_passed)


@external
def request_release(op_id: bytes32, receipt_id: bytes32, quantity: uint256):
    """
    @notice The holder asks the warehouse to release `quantity` of its goods;
            the warehouse releases no more than the holder asked for. A
            pledged receipt's goods stay until the pledgee releases the
            pledge (its consent).
    @param op_id The operation id; an id is applied at most once.
    @param receipt_id The receipt; not pledged, not on sale.
    @param quantity Quantity to release; not zero, at most the receipt's quantity.
    """
    self._apply(op_id, _KIND_REQUEST_RELEASE)
    r: Receipt = self._receipts[receipt_id]
    self._check_holder(r)
    self._check_free(r)
    assert quantity != 0, "warehouse_receipt: quantity is zero"
    assert quantity <= r.quantity, "warehouse_receipt: quantity exceeds holding"
    self.release_requested[receipt_id] = quantity
    log ReleaseRequested(receipt_id=receipt_id, holder=msg.sender, quantity=quantity)


@external
def confirm_release(op_id: bytes32, receipt_id: bytes32, quantity: uint256, evidence_hash: bytes32):
    """
    @notice The issuing warehouse records goods physically released to the
            receipt's holder, within what the holder asked for
            (`request_release`), with the EPCIS shipping event as evidence.
    @param op_id The operation id; an id is applied at most once.
    @param receipt_id The receipt; not pledged, not on sale.
    @param quantity Quantity released; not zero, at most the receipt's quantity.
    @param evidence_hash Hash of the EPCIS shipping event; not zero.
    """
    self._apply(op_id, _KIND_CONFIRM_RELEASE)
    r: Receipt = self._receipts[receipt_id]
    assert msg.sender == r.warehouse and staticcall IRegistry(_REGISTRY).has_role(
        msg.sender, _ROLE_WAREHOUSE
    ), "warehouse_receipt: caller is not the warehouse"
    assert r.pledge_amount == 0, "warehouse_receipt: receipt is pledged"
    assert r.sale_id == empty(bytes32), "warehouse_receipt: receipt is on sale"
    assert quantity != 0, "warehouse_receipt: quantity is zero"
    assert quantity <= r.quantity, "warehouse_receipt: quantity exceeds holding"
    assert quantity <= self.release_requested[receipt_id], "warehouse_receipt: release not requested by the holder"
    assert evidence_hash != empty(bytes32), "warehouse_receipt: no evidence"
    self.release_requested[receipt_id] -= quantity
    self._receipts[receipt_id].quantity = r.quantity - quantity
    self._receipts[receipt_id].released = r.released + quantity
    log GoodsReleased(receipt_id=receipt_id, holder=r.holder, quantity=quantity, evidence_hash=evidence_hash)


@external
@view
def receipt(receipt_id: bytes32) -> Receipt:
    """
    @notice The receipt `receipt_id` (all zero if none).
    @param receipt_id The receipt id.
    @return Receipt The receipt.
    """
    return self._receipts[receipt_id]


@external
@view
def pledge_offer(receipt_id: bytes32) -> PledgeOffer:
    """
    @notice The holder's pledge offer waiting for its bank (all zero if none).
    @param receipt_id The receipt id.
    @return PledgeOffer The offer.
    """
    return self._offers[receipt_id]


@external
@view
def sale(sale_id: bytes32) -> Sale:
    """
    @notice The sale `sale_id` (all zero, state 0, if none).
    @param sale_id The sale id.
    @return Sale The sale.
    """
    return self._sales[sale_id]


@internal
def _apply(op_id: bytes32, kind: uint8):
    """
    @dev Refuses a second application of `op_id` and writes while the
         registry is paused; records the operation and emits `OperationApplied`.
    """
    assert not self.applied[op_id], "warehouse_receipt: operation already applied"
    assert not staticcall IRegistry(_REGISTRY).paused(), "warehouse_receipt: paused"
    self.applied[op_id] = True
    log OperationApplied(op_id=op_id, kind=kind)


@internal
@view
def _check_holder(r: Receipt):
    """
    @dev The caller must hold `r` and still be an active member.
    """
    assert r.holder == msg.sender, "warehouse_receipt: caller is not the holder"
    assert staticcall IRegistry(_REGISTRY).is_member(msg.sender), "warehouse_receipt: caller is not a member"


@internal
@view
def _check_free(r: Receipt):
    """
    @dev The caller holds `r`, which is neither pledged nor on sale.
    """
    self._check_holder(r)
    assert r.pledge_amount == 0, "warehouse_receipt: receipt is pledged"
    assert r.sale_id == empty(bytes32), "warehouse_receipt: receipt is on sale"


@internal
@view
def _check_pledgeable(r: Receipt, bank: address, amount: uint256):
    """
    @dev Checks shared by the offer and its acceptance.
    """
    assert staticcall IRegistry(_REGISTRY).has_role(bank, _ROLE_BANK), "warehouse_receipt: pledgee is not a bank"
    assert amount != 0, "warehouse_receipt: amount is zero"
    assert amount < _MAX_AMOUNT, "warehouse_receipt: amount too large"
    assert r.quantity != 0, "warehouse_receipt: nothing held"


@internal
def _pass_title(sale_id: bytes32, s: Sale, r: Receipt, moved: uint256):
    """
    @dev Moves `moved` units from the seller's receipt to the buyer's,
         creating the buyer's receipt on the first payment.
    """
    self._receipts[s.receipt_id].quantity = r.quantity - moved
    if self._receipts[s.buyer_receipt_id].warehouse == empty(address):
        self._receipts[s.buyer_receipt_id] = Receipt(
            warehouse=r.warehouse,
            holder=s.buyer,
            goods_code=r.goods_code,
            description_hash=r.description_hash,
            quantity=moved,
            unit=r.unit,
            location=r.location,
            evidence_hash=r.evidence_hash,
            parent=s.receipt_id,
            pledge_bank=empty(address),
            pledge_amount=0,
            released=0,
            sale_id=empty(bytes32),
        )
    else:
        # Only the receipt this sale created grows; an id taken meanwhile refuses the payment.
        b: Receipt = self._receipts[s.buyer_receipt_id]
        assert b.parent == s.receipt_id and b.holder == s.buyer, "warehouse_receipt: receipt exists"
        self._receipts[s.buyer_receipt_id].quantity = b.quantity + moved
    log TitlePassed(sale_id=sale_id, from_receipt=s.receipt_id, to_receipt=s.buyer_receipt_id, quantity=moved)
