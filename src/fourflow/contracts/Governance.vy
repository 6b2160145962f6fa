# pragma version ~=0.4.3
# pragma evm-version paris
"""
@title FourFlow consortium governance
@custom:contract-name governance
@license Apache-2.0
@notice The consortium's council decides what no single member may: it owns
        the Registry (admitting members, granting the bank, verifier and
        operator roles, suspending, pausing, naming the guardian), the
        SettlementToken (each bank's mint cap) and, through the Registry's
        owner, the DebtItem terms. A councillor proposes a call (target and
        calldata); councillors vote; the call runs once `threshold` current
        councillors back it and `delay` seconds have passed since the
        proposal (a proposal every councillor backs needs no delay: there is
        nobody left to warn). The threshold is always a majority of the
        council. The council changes itself only by its own proposals
        (`add_councillor`, `remove_councillor`, `set_threshold`, `set_delay`
        are callable by this contract alone).
        `execute` marks the proposal executed before its one external call,
        so a reentrant `execute` of the same proposal fails.
"""


# @dev Most councillors; bounds the vote count loop.
_MAX_COUNCIL: constant(uint256) = 32

# @dev Longest calldata of a proposal.
_MAX_CALLDATA: constant(uint256) = 1024

# @dev Longest timelock (30 days).
_MAX_DELAY: constant(uint256) = 30 * 86_400


# @dev A proposed call.
struct Proposal:
    proposer: address
    target: address
    created: uint256
    executed: bool
    cancelled: bool


council: public(DynArray[address, _MAX_COUNCIL])
threshold: public(uint256)
delay: public(uint256)
proposal_count: public(uint256)

_proposals: HashMap[uint256, Proposal]
_calldata: HashMap[uint256, Bytes[_MAX_CALLDATA]]
voted: public(HashMap[uint256, HashMap[address, bool]])


event Proposed:
    proposal_id: indexed(uint256)
    proposer: indexed(address)
    target: indexed(address)
    data: Bytes[_MAX_CALLDATA]

event Voted:
    proposal_id: indexed(uint256)
    councillor: indexed(address)

event Executed:
    proposal_id: indexed(uint256)

event Cancelled:
    proposal_id: indexed(uint256)

event CouncilChanged:
    councillor: indexed(address)
    added: bool

event ThresholdChanged:
    threshold: uint256

event DelayChanged:
    delay: uint256


@deploy
def __init__(founders: DynArray[address, _MAX_COUNCIL], threshold_: uint256, delay_: uint256):
    """
    @dev The founding council, its threshold (a majority of it) and timelock.
    @param founders The founding councillors; distinct, not zero, at least one.
    @param threshold_ Votes a proposal needs; more than half the council.
    @param delay_ Seconds between a proposal and its execution by a majority.
    """
    assert len(founders) != 0, "governance: no council"
    for f: address in founders:
        assert f != empty(address), "governance: zero address"
        assert f not in self.council, "governance: duplicate councillor"
        self.council.append(f)
    self._check_threshold(threshold_, len(founders))
    assert delay_ <= _MAX_DELAY, "governance: delay too long"
    self.threshold = threshold_
    self.delay = delay_


@external
def propose(target: address, data: Bytes[_MAX_CALLDATA]) -> uint256:
    """
    @notice A councillor proposes calling `target` with `data`; the proposer's
            vote is counted.
    @param target The contract to call (this contract for council changes).
    @param data The ABI-encoded call.
    @return uint256 The proposal id (from 1).
    """
    self._check_councillor()
    assert target != empty(address), "governance: zero target"
    assert len(data) >= 4, "governance: no call"
    pid: uint256 = self.proposal_count + 1
    self.proposal_count = pid
    self._proposals[pid] = Proposal(
        proposer=msg.sender, target=target, created=block.timestamp, executed=False, cancelled=False
    )
    self._calldata[pid] = data
    log Proposed(proposal_id=pid, proposer=msg.sender, target=target, data=data)
    self.voted[pid][msg.sender] = True
    log Voted(proposal_id=pid, councillor=msg.sender)
    return pid


@external
def vote(proposal_id: uint256):
    """
    @notice A councillor backs an open proposal.
    @param proposal_id The proposal.
    """
    self._check_councillor()
    self._check_open(proposal_id)
    assert not self.voted[proposal_id][msg.sender], "governance: already voted"
    self.voted[proposal_id][msg.sender] = True
    log Voted(proposal_id=proposal_id, councillor=msg.sender)


@external
def execute(proposal_id: uint256):
    """
    @notice Runs a proposal that `threshold` current councillors back, once
            `delay` has passed (at once if every councillor backs it).
            Anyone may call it; the call's revert reverts this.
    @param proposal_id The proposal.
    """
    self._check_open(proposal_id)
    p: Proposal = self._proposals[proposal_id]
    votes: uint256 = self._votes(proposal_id)
    assert votes >= self.threshold, "governance: not enough votes"
    if votes < len(self.council):
        assert block.timestamp >= p.created + self.delay, "governance: timelock"
    self._proposals[proposal_id].executed = True
    log Executed(proposal_id=proposal_id)
    raw_call(p.target, self._calldata[proposal_id])


@external
def cancel(proposal_id: uint256):
    """
    @notice The proposer withdraws its open proposal.
    @param proposal_id The proposal.
    """
    self._check_open(proposal_id)
    assert msg.sender == self._proposals[proposal_id].proposer, "governance: caller is not the proposer"
    self._proposals[proposal_id].cancelled = True
    log Cancelled(proposal_id=proposal_id)


@external
def add_councillor(councillor: address):
    """
    @notice Adds a councillor. By proposal only.
    @param councillor The new councillor.
    """
    self._check_self()
    assert councillor != empty(address), "governance: zero address"
    assert councillor not in self.council, "governance: already a councillor"
    self.council.append(councillor)
    log CouncilChanged(councillor=councillor, added=True)


@external
def remove_councillor(councillor: address):
    """
    @notice Removes a councillor; the threshold must stay a majority the
            remaining council can reach. By proposal only.
    @param councillor The councillor removed.
    """
    self._check_self()
    assert councillor in self.council, "governance: not a councillor"
    kept: DynArray[address, _MAX_COUNCIL] = []
    for c: address in self.council:
        if c != councillor:
            kept.append(c)
    self._check_threshold(self.threshold, len(kept))
    self.council = kept
    log CouncilChanged(councillor=councillor, added=False)


@external
def set_threshold(threshold_: uint256):
    """
    @notice Sets the votes a proposal needs: more than half the council and
            at most all of it. By proposal only.
    @param threshold_ The new threshold.
    """
    self._check_self()
    self._check_threshold(threshold_, len(self.council))
    self.threshold = threshold_
    log ThresholdChanged(threshold=threshold_)


@external
def set_delay(delay_: uint256):
    """
    @notice Sets the timelock in seconds (at most 30 days). By proposal only.
    @param delay_ The new delay.
    """
    self._check_self()
    assert delay_ <= _MAX_DELAY, "governance: delay too long"
    self.delay = delay_
    log DelayChanged(delay=delay_)


@external
@view
def proposal(proposal_id: uint256) -> (address, address, uint256, bool, bool, uint256):
    """
    @notice A proposal: proposer, target, creation time, executed, cancelled
            and the votes of current councillors.
    @param proposal_id The proposal.
    """
    p: Proposal = self._proposals[proposal_id]
    return p.proposer, p.target, p.created, p.executed, p.cancelled, self._votes(proposal_id)


@external
@view
def proposal_data(proposal_id: uint256) -> Bytes[_MAX_CALLDATA]:
    """
    @notice A proposal's calldata.
    @param proposal_id The proposal.
    """
    return self._calldata[proposal_id]


@external
@view
def is_councillor(a: address) -> bool:
    """
    @notice Whether `a` sits on the council.
    @param a The account.
    """
    return a in self.council


@internal
@view
def _votes(proposal_id: uint256) -> uint256:
    """
    @dev Votes of current councillors (a removed councillor's vote lapses).
    """
    n: uint256 = 0
    for c: address in self.council:
        if self.voted[proposal_id][c]:
            n += 1
    return n


@internal
@view
def _check_councillor():
    assert msg.sender in self.council, "governance: caller is not a councillor"


@internal
@view
def _check_self():
    assert msg.sender == self, "governance: only by proposal"


@internal
@view
def _check_open(proposal_id: uint256):
    p: Proposal = self._proposals[proposal_id]
    assert p.proposer != empty(address), "governance: no such proposal"
    assert not p.executed, "governance: already executed"
    assert not p.cancelled, "governance: cancelled"


@internal
@pure
def _check_threshold(threshold_: uint256, size: uint256):
    assert threshold_ * 2 > size and threshold_ <= size, "governance: threshold must be a majority"
