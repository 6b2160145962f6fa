"""The ``Ledger`` port over FourFlow's Registry, Notary and DebtItem contracts.

Every operation is keyed by its op id (``key32(op_id)``) and each contract refuses a second
application of an id, so ``apply`` is idempotent: when the chain already applied an op, the
original transaction is found through its ``OperationApplied(op_id)`` log and returned with
``already_applied=True``.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount

from fourflow.adapters.chain import confirmation, custody, routes
from fourflow.adapters.chain.abi import ContractAbi
from fourflow.adapters.chain.artifacts import Artifact, load_artifacts
from fourflow.adapters.chain.client import (
    BATCH_CALLS,
    CallRevertedError,
    ChainClient,
    Receipt,
    TxRequest,
)
from fourflow.adapters.chain.errors import (
    ChainError,
    ChainTimeoutError,
    NotDeployedError,
    OperationRejectedError,
    batch_error,
)
from fourflow.adapters.chain.ids import (
    address,
    currency_code,
    hash32,
    key32,
    optional_address,
)
from fourflow.adapters.chain.ops import (
    DEBT_ITEM,
    GOVERNANCE,
    ISSUER,
    NOTARY,
    REGISTRY,
    REPAYMENT,
    SETTLEMENT_TOKEN,
    TOKEN_PULLING,
    WAREHOUSE_RECEIPT,
    ContractCall,
    build_call,
)
from fourflow.domain.errors import ConflictError, DomainValueError, FourFlowError
from fourflow.domain.parties import ROLE_BITS, Role
from fourflow.services import commands as cmd
from fourflow.services.ports import ChainInfo, ChainOp, ChainReceipt, KeyStore

_ALREADY_APPLIED = "operation already applied"
_GAS_HEADROOM = 1.25
# Contracts of issue 5, deployed next to the core three when their sources are present.
EXTENSIONS = (SETTLEMENT_TOKEN, WAREHOUSE_RECEIPT)
# Registry role bit of verifiers (contracts/Issuer.vy): the keys whose signed reports issue
# items on the verified basis. The platform operator holds it (its verification service).
VERIFIER_ROLE = 256
# The settlement token: a tokenised CNY deposit in minor units (fen).
TOKEN_ARGS = ("FourFlow CNY Deposit", "FCNY", 2, 156)


@dataclass(frozen=True, slots=True)
class _Sent:
    """An operation whose transaction was sent and awaits its receipt."""

    index: int
    op: ChainOp
    call: ContractCall
    sender: str
    tx: TxRequest
    tx_hash: str


#: Governance.vy's _MAX_COUNCIL.
_MAX_COUNCIL = 32


class ChainLedger:
    """FourFlow's contracts on any EVM JSON-RPC node (anvil locally, Besu/GoQuorum in production).

    Args:
        url: the node's JSON-RPC URL.
        keystore: where each organisation's signing key is kept.
        addresses: deployed contract addresses by name (``Registry``, ``Notary``, ``DebtItem``);
            None or empty until ``deploy`` is called.
        artifacts_home: the FourFlow home whose ``artifacts/`` caches compiled contracts;
            None compiles without caching (the composition root passes ``Settings.home``).
        managed_node: True when FourFlow runs the node itself (reported by ``info``).
        from_block: the block the contracts were deployed in (where log searches start).
        receipt_timeout: seconds to wait for a transaction to be mined.
        batch_calls: the most calls of one JSON-RPC batch request (``ChainClient``).
    """

    def __init__(
        self,
        url: str,
        keystore: KeyStore,
        addresses: Mapping[str, str] | None = None,
        *,
        artifacts_home: str | os.PathLike[str] | None = None,
        managed_node: bool = False,
        from_block: int = 0,
        receipt_timeout: float = 60.0,
        batch_calls: int = BATCH_CALLS,
    ) -> None:
        self.client = ChainClient(url, receipt_timeout=receipt_timeout, batch_calls=batch_calls)
        self.keystore = keystore
        self.managed_node = managed_node
        self.from_block = from_block
        self._addresses = {name: address(a) for name, a in (addresses or {}).items()}
        self._artifacts_home = artifacts_home
        self._artifacts: dict[str, Artifact] | None = None
        self._abis: dict[str, ContractAbi] = {}
        self._accounts: dict[str, LocalAccount] = {}
        self._lock = threading.Lock()

    # ----------------------------------------------------------------- setup

    @property
    def addresses(self) -> dict[str, str]:
        """Deployed contract addresses by contract name (empty before ``deploy``)."""
        return dict(self._addresses)

    @property
    def contracts(self) -> dict[str, str]:
        """Same as ``addresses``."""
        return self.addresses

    @property
    def chain_id(self) -> int:
        """The node's chain id."""
        return self.client.chain_id

    def use_contracts(self, addresses: Mapping[str, str]) -> None:
        """Use contracts deployed before (addresses as ``deploy`` returned them)."""
        self._addresses = {name: address(a) for name, a in addresses.items()}

    def check_deployed(self) -> None:
        """Raise ``NotDeployedError`` unless every contract's address holds code."""
        if not self._deployed():
            raise NotDeployedError(
                f"FourFlow's contracts are not on the chain at {self.client.url} "
                f"(addresses {self._addresses or 'none'}); deploy them first"
            )

    def deploy(self, operator_org_id: str) -> dict[str, str]:
        """Deploy Registry, Notary and DebtItem from the operator's account; return addresses.

        The operator owns the Registry and is admitted as a member with the operator role (so
        it may anchor batches). Returns the existing addresses if they already hold code.
        """
        if self._deployed():
            self._deploy_extensions(operator_org_id)
            return self.addresses
        operator = self.account(operator_org_id)
        artifacts = self.artifacts()
        registry = self._deploy_one(operator, artifacts[REGISTRY], ())
        self._addresses[REGISTRY] = registry
        others = [
            (name, self._send_deploy(operator, artifacts[name], (registry,)))
            for name in (NOTARY, DEBT_ITEM)
        ]
        receipts = self.client.wait([tx_hash for _, tx_hash in others])
        for name, tx_hash in others:
            self._addresses[name] = self._deployed_address(name, receipts[tx_hash])
        debt = self._addresses[DEBT_ITEM]
        self._addresses[ISSUER] = self._deploy_one(operator, artifacts[ISSUER], (registry, debt))
        self.apply(self._admit_operator_op(operator_org_id, operator.address, registry))
        self.apply(
            ChainOp(
                op_id=f"deploy:{debt}:set-issuer",
                command=cmd.SetIssuer(issuer_address=self._addresses[ISSUER]),
                sender_org_id=operator_org_id,
            )
        )
        self._deploy_extensions(operator_org_id)
        return self.addresses

    def _deploy_extensions(self, operator_org_id: str) -> None:
        """Deploy SettlementToken and WarehouseReceipt where missing; wire the token in."""
        missing = [name for name in EXTENSIONS if not self._has_code(name)]
        if not missing:
            return
        operator = self.account(operator_org_id)
        registry = self._address(REGISTRY)
        if SETTLEMENT_TOKEN in missing:
            token = self._deploy_one(
                operator, self.artifacts()[SETTLEMENT_TOKEN], (registry, *TOKEN_ARGS)
            )
            self._addresses[SETTLEMENT_TOKEN] = token
            self.apply(
                ChainOp(
                    op_id=f"deploy:{token}:set-settlement-token",
                    command=cmd.SetSettlementToken(token_address=token),
                    sender_org_id=operator_org_id,
                )
            )
        if WAREHOUSE_RECEIPT in missing:
            args = (registry, self._address(SETTLEMENT_TOKEN))
            self._addresses[WAREHOUSE_RECEIPT] = self._deploy_one(
                operator, self.artifacts()[WAREHOUSE_RECEIPT], args
            )
        self._deploy_repayment(operator_org_id)

    def _deploy_repayment(self, operator_org_id: str) -> None:
        """Deploy the Repayment contract (locked routes, settlement at maturity) where missing
        and make it DebtItem's one payer besides the debtor (``set_repayment``, once)."""
        if self._has_code(REPAYMENT):
            return
        operator = self.account(operator_org_id)
        debt = self._address(DEBT_ITEM)
        args = (self._address(REGISTRY), debt)
        repayment = self._deploy_one(operator, self.artifacts()[REPAYMENT], args)
        self._addresses[REPAYMENT] = repayment
        self.apply(
            ChainOp(
                op_id=f"deploy:{debt}:set-repayment",
                command=cmd.SetRepayment(repayment_address=repayment),
                sender_org_id=operator_org_id,
            )
        )

    def _has_code(self, name: str) -> bool:
        """True when contract ``name`` has an address holding code."""
        if name not in self._addresses:
            return False
        code = self.client.request("eth_getCode", [self._addresses[name], "latest"])
        return isinstance(code, str) and len(code) > 2

    def artifacts(self) -> dict[str, Artifact]:
        """The compiled contracts (compiled once, cached under ``artifacts_home``)."""
        if self._artifacts is None:
            self._artifacts = load_artifacts(self._artifacts_home)
        return self._artifacts

    def abi(self, contract: str) -> ContractAbi:
        """The ABI codec of a contract."""
        if contract not in self._abis:
            self._abis[contract] = ContractAbi(contract, self.artifacts()[contract].abi)
        return self._abis[contract]

    def account(self, org_id: str) -> LocalAccount:
        """The signing account of an organisation (decrypted once; decrypted again when its
        key store entry names another address: its custody changed, ``key_custody``, in this
        process or another). The key store answers the address from its cache while the key
        file is unchanged (``EnvelopeKeyStore.address``: a stat, not a read of the file)."""
        with self._lock:
            cached = self._accounts.get(org_id)
            if cached is not None and cached.address != self.keystore.address(org_id):
                forget = getattr(self.keystore, "forget", None)
                if callable(forget):
                    forget(org_id)
                del self._accounts[org_id]
            if org_id not in self._accounts:
                key = self.keystore.private_key(org_id)
                self._accounts[org_id] = Account.from_key(key)
            return self._accounts[org_id]

    def resync_nonce(self, org_id: str) -> None:
        """Forget this process's count of the organisation's nonces: the next transaction asks
        the node (another process may have sent for it since; ``relay.relay_by_sender``)."""
        self.client.nonces.resync(self.account(org_id).address)

    # ----------------------------------------------------------------- Ledger port

    def apply(self, op: ChainOp) -> ChainReceipt:
        """Apply one operation; a retry of an applied op returns the first receipt."""
        call = build_call(op)
        if self._is_applied(call):
            return self._original(op, call)
        self._approve_token_pulls([(op, call)])
        sender = self.account(op.sender_org_id)
        tx = self._tx(call)
        try:
            gas = self.client.estimate_gas(sender.address, tx)
        except CallRevertedError as exc:
            return self._on_revert(op, call, exc.reason, None)
        tx = TxRequest(tx.to, tx.data, int(gas * _GAS_HEADROOM) + 25_000)
        tx_hash = self.client.send(sender, tx)
        receipt = self.client.wait([tx_hash])[tx_hash]
        return self._outcome(op, call, sender.address, tx, receipt)

    def apply_many(self, ops: Sequence[ChainOp]) -> list[ChainReceipt]:
        """Apply ops pipelined: send all with consecutive nonces, then collect the receipts.

        Raises ``BatchRejectedError`` (a ``ChainRejectedError``) if the chain refused any op, or
        ``BatchApplyError`` for other failures; ``results`` holds a receipt or error per op.
        """
        results: list[ChainReceipt | ChainError | None] = [None] * len(ops)
        calls = self._build_all(ops, results)
        applied = self._applied_flags(calls)
        fresh: list[tuple[int, ContractCall]] = []
        for index, call in enumerate(calls):
            if call is not None and applied[index]:
                results[index] = self._try(partial(self._original, ops[index], call))
            elif call is not None:
                fresh.append((index, call))
        try:
            self._approve_token_pulls([(ops[i], c) for i, c in fresh])
        except FourFlowError as exc:  # the allowance could not be set: those ops wait
            for index, _call in fresh:
                if ops[index].kind in TOKEN_PULLING:
                    results[index] = ChainError(f"operation {ops[index].op_id}: {exc}")
            fresh = [(i, c) for i, c in fresh if ops[i].kind not in TOKEN_PULLING]
        sent = self._send_all(ops, fresh, results)
        self._collect(sent, results)
        return self._finish(results)

    def is_applied(self, op: ChainOp) -> bool:
        """True when the chain has already applied ``op``."""
        return self._is_applied(build_call(op))

    # ----------------------------------------------------------------- governance

    def hand_over(
        self, operator_org_id: str, council_org_ids: Sequence[str], threshold: int, delay: int
    ) -> str:
        """End the founding phase: deploy Governance with the council (a majority ``threshold``,
        a timelock of ``delay`` seconds) and hand it the Registry and the SettlementToken.

        From then on admitting members, changing roles, suspending, pausing and the banks'
        mint caps need the council's votes; the operator's key alone no longer does them.
        Returns the Governance contract's address.
        """
        operator = self.account(operator_org_id)
        council = [self._address_of(org_id) for org_id in council_org_ids]
        args = (council, int(threshold), int(delay))
        governance = self._deploy_one(operator, self.artifacts()[GOVERNANCE], args)
        self._addresses[GOVERNANCE] = governance
        for name in (REGISTRY, SETTLEMENT_TOKEN):
            self._send_call(operator, name, "transfer_ownership", (governance,))
        return governance

    def _address_of(self, org_id: str) -> str:
        """An organisation's chain address (one holding its own key too)."""
        own = self.keystore.address(org_id) if self.keystore.holds_own_key(org_id) else None
        return own or self.account(org_id).address

    def propose(self, org_id: str, contract: str, function: str, args: Sequence[Any]) -> int:
        """A councillor proposes calling ``contract.function(*args)``; its vote counts. Returns
        the proposal id (ChainError with the contract's reason if refused)."""
        data = self.abi(contract).encode_call(function, tuple(args))
        receipt = self._send_call(
            self.account(org_id), GOVERNANCE, "propose", (self._address(contract), data)
        )
        for event in self.decode_events(receipt):
            if event.get("event") == "Proposed":
                return int(event["proposal_id"])
        raise ChainError(f"governance: no proposal in {receipt.tx_hash}")

    def propose_admission(
        self, org_id: str, member_org_id: str, member_address: str, roles: int
    ) -> int:
        """A councillor proposes admitting ``member_address`` (organisation ``member_org_id``)
        with the role mask ``roles``; returns the proposal id."""
        args = (key32(f"admit-{member_org_id}"), address(member_address), key32(member_org_id))
        return self.propose(org_id, REGISTRY, "admit", (*args, int(roles)))

    def propose_mint_cap(self, org_id: str, bank_org_id: str, bank_address: str, cap: int) -> int:
        """A councillor proposes capping the outstanding settlement tokens the bank
        ``bank_address`` (organisation ``bank_org_id``) may mint at ``cap`` minor units;
        returns the proposal id."""
        op = key32(f"mint-cap-{bank_org_id}-{int(cap)}")
        return self.propose(
            org_id, SETTLEMENT_TOKEN, "set_mint_cap", (op, address(bank_address), int(cap))
        )

    def propose_member_move(
        self, org_id: str, member_org_id: str, old: str, new: str, roles: int
    ) -> list[int]:
        """A councillor proposes moving organisation ``member_org_id`` from address ``old``
        to ``new``: ``Registry.admit(new, its org key, roles)`` and ``Registry.suspend(old)``
        (and, for a bank, its mint cap at ``new``); returns the proposal ids."""
        tag = f"{member_org_id}-{new.lower()}"
        proposals = [
            self.propose(
                org_id, REGISTRY, "admit",
                (key32(f"custody-admit-{tag}"), address(new), key32(member_org_id), int(roles)),
            ),
            self.propose(
                org_id, REGISTRY, "suspend", (key32(f"custody-suspend-{tag}"), address(old))
            ),
        ]  # fmt: skip
        if int(roles) & 32:  # a bank: the token's owner caps its minting at the new address
            cap = (key32(f"custody-mint-cap-{tag}"), address(new), 10**13)
            proposals.append(self.propose(org_id, SETTLEMENT_TOKEN, "set_mint_cap", cap))
        return proposals

    def council(self) -> dict[str, Any] | None:
        """The council (addresses), its threshold, timelock and proposal count; None in the
        founding phase (no Governance deployed)."""
        if GOVERNANCE not in self._addresses:
            return None
        council: list[str] = []
        for index in range(_MAX_COUNCIL):  # the public array's getter takes an index
            try:
                council.append(str(self.view(GOVERNANCE, "council", index)))
            except CallRevertedError:  # past its end
                break
        return {
            "address": self._addresses[GOVERNANCE],
            "council": council,
            "threshold": int(self.view(GOVERNANCE, "threshold")),
            "delay": int(self.view(GOVERNANCE, "delay")),
            "proposal_count": int(self.view(GOVERNANCE, "proposal_count")),
        }

    def proposal(self, proposal_id: int) -> dict[str, Any]:
        """A Governance proposal: its proposer and target addresses, when it was made (chain
        time), whether it was executed or cancelled, and its votes."""
        found = self.view(GOVERNANCE, "proposal", int(proposal_id))
        return {
            "proposer": str(found[0]), "target": str(found[1]), "created": int(found[2]),
            "executed": bool(found[3]), "cancelled": bool(found[4]), "votes": int(found[5]),
        }  # fmt: skip

    def council_transaction(self, function: str, proposal_id: int, sender: str) -> dict[str, Any]:
        """The unsigned ``Governance.function(proposal_id)`` (``vote``, ``execute``) for a
        councillor holding its own key, ``sender``, to sign."""
        return custody.council_transaction(self, function, (int(proposal_id),), sender)

    def send_council_signed(self, function: str, proposal_id: int, raw: bytes, sender: str) -> str:
        """Relay the councillor's own signed ``Governance.function(proposal_id)``; its hash."""
        return custody.send_council_signed(self, function, (int(proposal_id),), raw, sender)

    def voted(self, proposal_id: int, councillor: str) -> bool:
        """Whether ``councillor`` (an address) backs the proposal."""
        return bool(self.view(GOVERNANCE, "voted", int(proposal_id), address(councillor)))

    def proposal_state(self, proposal_id: int) -> tuple[bool, bool]:
        """Whether a Governance proposal was executed, and whether it was cancelled."""
        found = self.view(GOVERNANCE, "proposal", int(proposal_id))
        return bool(found[3]), bool(found[4])

    def cancel_proposal(self, org_id: str, proposal_id: int) -> None:
        """The proposer ``org_id`` withdraws its open proposal."""
        self._send_call(self.account(org_id), GOVERNANCE, "cancel", (int(proposal_id),))

    # ----------------------------------------------------------------- consortium nodes

    def node_record(self, member_address: str) -> tuple[str | None, bool]:
        """The node the Registry records for a member (None: none) and whether it is
        recorded as a signer."""
        node = str(self.view(REGISTRY, "node_of", address(member_address)))
        if int(node, 16) == 0:
            return None, False
        return node, bool(self.view(REGISTRY, "is_signer", address(node)))

    def recorded_nodes(
        self, nodes: Sequence[str]
    ) -> tuple[dict[str, tuple[str | None, bool]], int]:
        """For each node address: the member the Registry records running it (None: none)
        and whether it is recorded as a signer; and how many recorded signers there are."""
        out: dict[str, tuple[str | None, bool]] = {}
        for node in nodes:
            member = str(self.view(REGISTRY, "member_of_node", address(node)))
            signer = bool(self.view(REGISTRY, "is_signer", address(node)))
            out[node.lower()] = (None if int(member, 16) == 0 else member, signer)
        return out, int(self.view(REGISTRY, "signer_count"))

    def record_node(
        self, operator_org_id: str, member_address: str, node: str, signer: bool
    ) -> str:
        """The operator records on the Registry the node a member runs and whether the
        network's signers voted it in (a decision the caller checked on the network).
        Refused (nothing sent) once Governance owns the Registry: the council proposes it
        (``propose_node``). Returns the transaction hash."""
        operator = self.account(operator_org_id)
        owner = str(self.view(REGISTRY, "owner"))
        if owner.lower() != operator.address.lower():
            raise ConflictError(
                f"the Registry is governed by the council (owner {owner}): a councillor "
                "proposes the record (`fourflow consortium record ... --as <councillor>`), "
                "then `fourflow governance vote` and `execute`"
            )
        receipt = self._send_call(operator, REGISTRY, "set_node", self._node_args(
            member_address, node, signer))  # fmt: skip
        return receipt.tx_hash

    def propose_node(self, org_id: str, member_address: str, node: str, signer: bool) -> int:
        """A councillor proposes recording a member's node and its signer vote; returns the
        proposal id."""
        return self.propose(
            org_id, REGISTRY, "set_node", self._node_args(member_address, node, signer)
        )

    @staticmethod
    def _node_args(member_address: str, node: str, signer: bool) -> tuple[Any, ...]:
        op = key32(f"node-{member_address.lower()}-{node.lower()}-{signer}-{uuid.uuid4().hex}")
        return (op, address(member_address), address(node), bool(signer))

    def vote(self, org_id: str, proposal_id: int) -> None:
        """A councillor backs a proposal."""
        self._send_call(self.account(org_id), GOVERNANCE, "vote", (int(proposal_id),))

    def execute(self, org_id: str, proposal_id: int) -> None:
        """Run a proposal the council backs (ChainError with the reason if it may not run)."""
        self._send_call(self.account(org_id), GOVERNANCE, "execute", (int(proposal_id),))

    def _send_call(
        self, sender: LocalAccount, contract: str, function: str, args: tuple[Any, ...]
    ) -> Receipt:
        """Send one contract call outside the outbox (deployment, governance) and wait for it;
        a call the contract refuses raises ChainError naming its reason."""
        data = self.abi(contract).encode_call(function, args)
        request = TxRequest(self._address(contract), data, 0)
        try:
            estimate = self.client.estimate_gas(sender.address, request)
        except CallRevertedError as exc:
            raise ChainError(f"{contract}.{function} refused: {exc}") from exc
        tx = TxRequest(request.to, data, int(estimate * _GAS_HEADROOM))
        tx_hash = self.client.send(sender, tx)
        receipt = self.client.wait([tx_hash])[tx_hash]
        if receipt.status != 1:
            raise ChainError(f"{contract}.{function} failed in {tx_hash}")
        return receipt

    # ----------------------------------------------------------------- self-held keys

    def holds_own_key(self, org_id: str) -> bool:
        """True when the organisation holds its own key: the platform never signs for it
        (its queued operations wait for its signed transactions; adapters/chain/custody.py)."""
        return self.keystore.holds_own_key(org_id)

    def unsigned_transaction(self, op: ChainOp, sender: str) -> dict[str, Any]:
        """The transaction of ``op`` for ``sender`` to sign itself."""
        return custody.unsigned_transaction(self, op, sender)

    def send_signed(self, op: ChainOp, raw: bytes, sender: str) -> ChainReceipt:
        """Relay ``sender``'s signed transaction of ``op`` once it is exactly that call."""
        return custody.send_signed(self, op, raw, sender)

    def confirmation_nonce(self, debtor_address: str) -> int:
        """The debtor's current EIP-712 confirmation nonce."""
        return custody.confirmation_nonce(self, debtor_address)

    def confirmation_to_sign(
        self, terms: cmd.ConfirmationTerms, nonce: int, deadline: int
    ) -> dict[str, Any]:
        """The debtor's EIP-712 confirmation of ``terms`` for it to sign itself."""
        return custody.confirmation_typed_data(self, terms, nonce, deadline)

    def confirmation_signer(
        self, terms: cmd.ConfirmationTerms, nonce: int, deadline: int, signature: str
    ) -> str:
        """Who signed a confirmation of ``terms`` (the debtor's address when it is valid)."""
        return custody.confirmation_signer(self, terms, nonce, deadline, signature)

    def info(self) -> ChainInfo:
        """The node and the deployed contracts."""
        return ChainInfo(
            url=self.client.url,
            chain_id=self.client.chain_id,
            block_number=self.client.block_number(),
            client_version=self.client.client_version(),
            contracts=self.addresses,
            managed_node=self.managed_node,
        )

    def sign_confirmation(
        self, debtor_org_id: str, terms: cmd.ConfirmationTerms, deadline: int
    ) -> cmd.Confirmation:
        """The debtor's EIP-712 confirmation of an item's ``terms``.

        The signature binds the creditor that will call ``issue_confirmed``. The nonce is the
        debtor's current ``nonces(debtor)``, so a debtor's confirmed items must be issued one
        after another.
        """
        debtor = self.account(debtor_org_id)
        if address(terms.debtor_address) != debtor.address:
            raise DomainValueError(f"chain: {debtor_org_id} is not the debtor of this item")
        nonce = int(self.read("nonce", debtor.address))
        message = confirmation.Confirmation(
            item_id=key32(terms.item_id),
            creditor=address(terms.creditor_address),
            debtor=debtor.address,
            currency=currency_code(terms.currency),
            face_value=terms.face_value,
            maturity_day=terms.maturity_day,
            report_hash=hash32(terms.report_hash),
            account_bank=address(terms.account_bank_address),
            nonce=nonce,
            deadline=int(deadline),
        )
        signature = confirmation.sign(
            message,
            bytes(debtor.key),
            chain_id=self.client.chain_id,
            verifying_contract=self._address(ISSUER),
        )
        return cmd.Confirmation(nonce=nonce, deadline=int(deadline), signature=signature)

    def sign_report(self, verifier_org_id: str, issue: cmd.IssueItem) -> str:
        """The verifier's EIP-712 signature of the verification report on an item to issue.

        The signature binds the item, the trade and report hashes, both parties, amount,
        maturity and the debtor's account bank; the Issuer accepts it only from a key holding
        the verifier role.
        """
        verifier = self.account(verifier_org_id)
        report = confirmation.Report(
            item_id=key32(issue.item_id),
            trade_hash=hash32(issue.trade_hash),
            report_hash=hash32(issue.report_hash),
            creditor=address(issue.creditor_address),
            debtor=address(issue.debtor_address),
            currency=currency_code(issue.currency),
            face_value=issue.face_value,
            maturity_day=issue.maturity_day,
            account_bank=address(issue.account_bank_address),
        )
        return confirmation.sign_report(
            report,
            bytes(verifier.key),
            chain_id=self.client.chain_id,
            verifying_contract=self._address(ISSUER),
        )

    def sign_route_change(
        self,
        org_id: str,
        item_id: str,
        route_kind: int,
        bank_address: str,
        account_hash: str,
        deadline: int,
    ) -> str:
        """A party's EIP-712 signature of a new route for an item (Repayment.change_route);
        bound to the route's current change nonce."""
        change = self._route_change(item_id, route_kind, bank_address, account_hash, deadline)
        return routes.sign(
            change,
            bytes(self.account(org_id).key),
            chain_id=self.client.chain_id,
            verifying_contract=self._address(REPAYMENT),
        )

    def _route_change(
        self, item_id: str, route_kind: int, bank_address: str, account_hash: str, deadline: int
    ) -> routes.RouteChange:
        route = self.view(REPAYMENT, "route", key32(item_id))
        return routes.RouteChange(
            item_id=key32(item_id),
            kind=int(route_kind),
            bank=address(bank_address),
            account_hash=hash32(account_hash),
            nonce=int(route["nonce"]),
            deadline=int(deadline),
        )

    def route_change_to_sign(
        self, item_id: str, route_kind: int, bank_address: str, account_hash: str, deadline: int
    ) -> dict[str, Any]:
        """The EIP-712 route change a party holding its own key signs itself (JSON shape),
        bound to the route's current change nonce."""
        change = self._route_change(item_id, route_kind, bank_address, account_hash, deadline)
        return routes.typed_data_json(
            change, chain_id=self.client.chain_id, verifying_contract=self._address(REPAYMENT)
        )

    def route_change_signer(
        self,
        item_id: str,
        route_kind: int,
        bank_address: str,
        account_hash: str,
        deadline: int,
        signature: str,
    ) -> str:
        """The address that signed this route change at the route's current nonce
        (DomainValueError for a malformed signature)."""
        change = self._route_change(item_id, route_kind, bank_address, account_hash, deadline)
        try:
            return routes.signer(
                change, signature, chain_id=self.client.chain_id,
                verifying_contract=self._address(REPAYMENT),
            )  # fmt: skip
        except ValueError as exc:
            raise DomainValueError(str(exc)) from None

    def chain_today(self) -> dt.date:
        """The date (UTC) of the chain's latest block: value dates after it are refused."""
        return dt.datetime.fromtimestamp(self.chain_time(), dt.UTC).date()

    def chain_time(self) -> int:
        """The timestamp (seconds) of the chain's latest block."""
        block = self.client.request("eth_getBlockByNumber", ["latest", False])
        return int(str(block["timestamp"]), 16)

    def read(self, what: str, *args: Any) -> Any:
        """Contract state as plain values.

        ``item``(item_id) and ``holding``(holding_id) -> dict or None when absent;
        ``item_holdings``(item_id) -> [0x-hex]; ``fingerprint``(hex) -> owner or None;
        ``anchor``(batch_id) -> dict or None; ``batch_of_root``(root) -> 0x-hex or None;
        ``member``(address) -> dict; ``nonce``(address) -> int; ``item_count``() -> int;
        ``registered_fingerprints``() and ``anchored_batches``() -> [dict] (the notary's
        events, with ``tx_hash``); ``pledges``(holding_id) -> [dict] (HoldingPledged events).
        """
        reader = _READERS.get(what)
        if reader is None:
            raise DomainValueError(f"chain: cannot read {what!r}; one of {sorted(_READERS)}")
        return reader(self, *args)

    # ----------------------------------------------------------------- contract calls

    def view(self, contract: str, function: str, *args: Any) -> Any:
        """Call a view function and decode its result."""
        abi = self.abi(contract)
        data = self.client.call(self._address(contract), abi.encode_call(function, args))
        return abi.decode_result(function, data)

    def decode_events(self, receipt: Receipt) -> tuple[dict[str, Any], ...]:
        """The events of a receipt emitted by FourFlow's contracts, as plain dicts."""
        by_address = {a.lower(): name for name, a in self._addresses.items()}
        events = []
        for log in receipt.logs:
            contract = by_address.get(str(log["address"]).lower())
            if contract is None:
                continue
            topics = [bytes.fromhex(t[2:]) for t in log["topics"]]
            event = self.abi(contract).decode_log(topics, bytes.fromhex(log["data"][2:]))
            if event is not None:
                events.append(event)
        return tuple(events)

    # ----------------------------------------------------------------- internals

    def _approve_token_pulls(self, pending: Sequence[tuple[ChainOp, ContractCall]]) -> None:
        """Approve each contract that will pull settlement tokens from a sender, if short.

        ``pay_with_token``, ``buy_back`` and a receipt sale's ``pay`` move tokens with
        ``transferFrom(sender, ...)``; the sender must have approved the contract for the sum
        of its pending pulls. ERC-20 ``approve`` sets (not adds) the allowance, so sending it
        again after a crash is harmless.
        """
        needed: dict[tuple[str, str], int] = {}
        for op, call in pending:
            if op.kind not in TOKEN_PULLING:
                continue
            command = op.command
            if isinstance(command, cmd.LockRoute):
                if command.allowance:  # a token route: the debtor's standing approval
                    key = (op.sender_org_id, self._address(DEBT_ITEM))
                    needed[key] = needed.get(key, 0) + command.allowance
                continue
            if isinstance(command, cmd.BuyBack):
                amount = int(self.view(DEBT_ITEM, "buy_back_price", key32(command.holding_id)))
            elif isinstance(command, cmd.PayWithToken | cmd.ReceiptPay):
                amount = command.amount
            else:
                continue
            if amount:
                key = (op.sender_org_id, self._address(call.contract))
                needed[key] = needed.get(key, 0) + amount
        hashes = []
        for (org_id, spender), amount in needed.items():
            owner = self.account(org_id)
            allowance = int(self.view(SETTLEMENT_TOKEN, "allowance", owner.address, spender))
            if allowance >= amount:
                continue
            data = self.abi(SETTLEMENT_TOKEN).encode_call("approve", (spender, amount))
            tx = TxRequest(self._address(SETTLEMENT_TOKEN), data, 120_000)
            hashes.append(self.client.send(owner, tx))
        if hashes:
            receipts = self.client.wait(hashes)
            failed = [h for h in hashes if receipts[h].status != 1]
            if failed:
                raise ChainError(f"settlement token approval failed in {', '.join(failed)}")

    def _address(self, contract: str) -> str:
        """The deployed address of a contract."""
        try:
            return self._addresses[contract]
        except KeyError as exc:
            raise NotDeployedError(f"{contract} is not deployed; run deploy first") from exc

    def _tx(self, call: ContractCall) -> TxRequest:
        """The transaction of a contract call."""
        data = self.abi(call.contract).encode_call(call.function, call.args)
        return TxRequest(self._address(call.contract), data, call.gas)

    def _is_applied(self, call: ContractCall) -> bool:
        """``applied(op_id)`` of the contract the call goes to."""
        return bool(self.view(call.contract, "applied", call.args[0]))

    def _applied_flags(self, calls: Sequence[ContractCall | None]) -> list[bool]:
        """``applied(op_id)`` of many calls in one JSON-RPC batch."""
        wanted = [(i, c) for i, c in enumerate(calls) if c is not None]
        requests = [
            (self._address(c.contract), self.abi(c.contract).encode_call("applied", c.args[:1]))
            for _, c in wanted
        ]
        flags = [False] * len(calls)
        for (index, call), data in zip(wanted, self.client.call_many(requests), strict=True):
            flags[index] = bool(self.abi(call.contract).decode_result("applied", data))
        return flags

    def _original(self, op: ChainOp, call: ContractCall) -> ChainReceipt:
        """The receipt of the transaction that applied ``op`` before (found by its log)."""
        abi = self.abi(call.contract)
        logs = self.client.logs(
            self._address(call.contract),
            [abi.event_topic("OperationApplied"), call.args[0]],
            self.from_block,
        )
        if not logs:
            raise ChainError(f"operation {op.op_id} is applied but its log was not found")
        receipt = self.client.receipt(str(logs[0]["transactionHash"]))
        if receipt is None:
            raise ChainError(f"operation {op.op_id}: receipt of its transaction not found")
        return self._receipt(op, receipt, already_applied=True)

    def _receipt(self, op: ChainOp, receipt: Receipt, *, already_applied: bool) -> ChainReceipt:
        """A ``ChainReceipt`` with the decoded events of ``receipt``."""
        return ChainReceipt(
            op_id=op.op_id,
            tx_hash=receipt.tx_hash,
            block_number=receipt.block_number,
            events=self.decode_events(receipt),
            already_applied=already_applied,
        )

    def _outcome(
        self, op: ChainOp, call: ContractCall, sender: str, tx: TxRequest, receipt: Receipt
    ) -> ChainReceipt:
        """The receipt of a mined transaction, or the error of a reverted one."""
        if receipt.status == 1:
            return self._receipt(op, receipt, already_applied=False)
        reason = self.client.failure_reason(sender, tx, receipt)
        return self._on_revert(op, call, reason, receipt.tx_hash)

    def _on_revert(
        self, op: ChainOp, call: ContractCall, reason: str, tx_hash: str | None
    ) -> ChainReceipt:
        """Treat "already applied" as success (a concurrent or earlier apply); raise otherwise."""
        if reason.endswith(_ALREADY_APPLIED):
            return self._original(op, call)
        raise OperationRejectedError(op.op_id, reason, tx_hash)

    def _build_all(
        self, ops: Sequence[ChainOp], results: list[ChainReceipt | ChainError | None]
    ) -> list[ContractCall | None]:
        """The call of each op; an op with bad params gets its error in ``results``."""
        calls: list[ContractCall | None] = []
        for index, op in enumerate(ops):
            try:
                calls.append(build_call(op))
            except DomainValueError as exc:
                results[index] = OperationRejectedError(op.op_id, str(exc))
                calls.append(None)
        return calls

    def _send_all(
        self,
        ops: Sequence[ChainOp],
        fresh: Sequence[tuple[int, ContractCall]],
        results: list[ChainReceipt | ChainError | None],
    ) -> list[_Sent]:
        """Sign and send the ``fresh`` ops in order without waiting; record send errors."""
        ready: list[tuple[int, ContractCall, LocalAccount, TxRequest]] = []
        for index, call in fresh:
            try:
                ready.append((index, call, self.account(ops[index].sender_org_id), self._tx(call)))
            except FourFlowError as exc:  # no key for the sender: refused for good
                results[index] = OperationRejectedError(ops[index].op_id, str(exc))
        hashes = self.client.send_many([(account, tx) for _, _, account, tx in ready])
        sent = []
        for (index, call, account, tx), tx_hash in zip(ready, hashes, strict=True):
            if isinstance(tx_hash, ChainError):
                results[index] = tx_hash
            else:
                sent.append(_Sent(index, ops[index], call, account.address, tx, tx_hash))
        return sent

    def _collect(
        self, sent: Sequence[_Sent], results: list[ChainReceipt | ChainError | None]
    ) -> None:
        """Wait for the receipts of ``sent`` and record each op's outcome."""
        timeout = self.client.receipt_timeout + len(sent) / 50
        receipts = self.client.wait([s.tx_hash for s in sent], timeout, partial=True)
        explained = False
        for item in sent:
            receipt = receipts.get(item.tx_hash)
            if receipt is None:
                why = "" if explained else self.client.why_unmined(item.tx_hash)
                explained = True  # the first one says why: the node is asked once
                results[item.index] = ChainTimeoutError(
                    f"operation {item.op.op_id}: {item.tx_hash} not mined within {timeout:.0f} s"
                    + (f" ({why})" if why else "")
                )
                continue
            outcome = partial(self._outcome, item.op, item.call, item.sender, item.tx, receipt)
            results[item.index] = self._try(outcome)

    @staticmethod
    def _try(action: Callable[[], ChainReceipt]) -> ChainReceipt | ChainError:
        """Run ``action``; return its chain error instead of raising it."""
        try:
            return action()
        except ChainError as exc:
            return exc

    @staticmethod
    def _finish(results: Sequence[ChainReceipt | ChainError | None]) -> list[ChainReceipt]:
        """The receipts, or ``BatchApplyError`` when any op failed."""
        receipts = [r for r in results if isinstance(r, ChainReceipt)]
        if len(receipts) != len(results):
            raise batch_error(list(results))
        return receipts

    def _deployed(self) -> bool:
        """True when every contract has an address holding code."""
        names = (REGISTRY, NOTARY, DEBT_ITEM, ISSUER)
        if any(name not in self._addresses for name in names):
            return False
        codes = self.client.batch(
            [("eth_getCode", [self._addresses[name], "latest"]) for name in names]
        )
        return all(isinstance(code, str) and len(code) > 2 for code in codes)

    def _send_deploy(self, sender: LocalAccount, artifact: Artifact, args: tuple[Any, ...]) -> str:
        """Send a deployment transaction; return its hash."""
        data = bytes.fromhex(artifact.bytecode.removeprefix("0x"))
        data += self.abi(artifact.name).encode_constructor(args)
        estimate = self.client.estimate_gas(sender.address, TxRequest(None, data, 0))
        return self.client.send(sender, TxRequest(None, data, int(estimate * _GAS_HEADROOM)))

    def _deploy_one(self, sender: LocalAccount, artifact: Artifact, args: tuple[Any, ...]) -> str:
        """Deploy one contract and wait for its address."""
        tx_hash = self._send_deploy(sender, artifact, args)
        return self._deployed_address(artifact.name, self.client.wait([tx_hash])[tx_hash])

    def _deployed_address(self, name: str, receipt: Receipt) -> str:
        """The address a deployment receipt created, and remember where logs start."""
        if receipt.status != 1 or not receipt.contract_address:
            raise ChainError(f"deployment of {name} failed in {receipt.tx_hash}")
        if self.from_block == 0:
            self.from_block = receipt.block_number
        return address(receipt.contract_address)

    @staticmethod
    def _admit_operator_op(org_id: str, operator: str, registry: str) -> ChainOp:
        """The op admitting the operator to its own registry (unique per deployment)."""
        return ChainOp(
            op_id=f"deploy:{registry}:admit-operator",
            command=cmd.AdmitMember(
                member_org_id=org_id,
                address=operator,
                roles=ROLE_BITS[Role.OPERATOR] | VERIFIER_ROLE,
            ),
            sender_org_id=org_id,
        )


# ----------------------------------------------------------------- readers


def _read_item(ledger: ChainLedger, item_id: str) -> dict[str, Any] | None:
    """The Item struct of ``item_id``, or None when no such item exists."""
    item: dict[str, Any] = ledger.view(DEBT_ITEM, "item", key32(item_id))
    return item if item.get("state") else None


def _read_holding(ledger: ChainLedger, holding_id: str) -> dict[str, Any] | None:
    """The Holding struct of ``holding_id``, or None when no such holding exists."""
    holding: dict[str, Any] = ledger.view(DEBT_ITEM, "holding", key32(holding_id))
    return holding if optional_address(holding["holder"]) else None


def _read_item_holdings(ledger: ChainLedger, item_id: str) -> list[str]:
    """The item's holding keys (0x-hex), in creation order."""
    return list(ledger.view(DEBT_ITEM, "item_holdings", key32(item_id)))


def _read_fingerprint(ledger: ChainLedger, fingerprint: str) -> str | None:
    """Who registered a fingerprint, or None."""
    return optional_address(ledger.view(NOTARY, "fingerprint_owner", hash32(fingerprint)))


def _read_anchor(ledger: ChainLedger, batch_id: str) -> dict[str, Any] | None:
    """The anchor of a batch (root, count, block_number, submitter), or None."""
    root, count, block_number, submitter = ledger.view(NOTARY, "anchor_of", key32(batch_id))
    if int(root, 16) == 0:
        return None
    return {"root": root, "count": count, "block_number": block_number, "submitter": submitter}


def _read_batch_of_root(ledger: ChainLedger, root: str) -> str | None:
    """The batch key (0x-hex) anchored with ``root``, or None."""
    batch = str(ledger.view(NOTARY, "batch_of_root", hash32(root)))
    return None if int(batch, 16) == 0 else batch


def _read_registry_owner(ledger: ChainLedger) -> str:
    """The Registry's owner: the operator's account in the founding phase, then Governance."""
    return str(ledger.view(REGISTRY, "owner"))


def _read_member(ledger: ChainLedger, member: str) -> dict[str, Any]:
    """A member's org key, role mask and whether it is active (org_id zero if never admitted)."""
    org_id, roles, active = ledger.view(REGISTRY, "member_of", address(member))
    return {"org_id": org_id, "roles": roles, "active": active}


def _read_nonce(ledger: ChainLedger, debtor: str) -> int:
    """The debtor's next confirmation nonce."""
    return int(ledger.view(ISSUER, "nonces", address(debtor)))


def _read_item_count(ledger: ChainLedger) -> int:
    """How many items have ever been issued on the DebtItem contract."""
    return int(ledger.view(DEBT_ITEM, "item_count"))


def _read_item_life(ledger: ChainLedger, item_id: str) -> dict[str, Any]:
    """The item's life after issue: diluted, cancelled, dispute, default day, cancel approvals."""
    return dict(ledger.view(DEBT_ITEM, "item_life", key32(item_id)))


def _read_recourse(ledger: ChainLedger, holding_id: str) -> dict[str, Any] | None:
    """What a bank was owed on a foreclosed holding, or None when there is no recourse."""
    recourse: dict[str, Any] = dict(ledger.view(DEBT_ITEM, "recourse", key32(holding_id)))
    return recourse if optional_address(recourse["bank"]) else None


def _read_buy_back_price(ledger: ChainLedger, holding_id: str) -> int:
    """What the pledgor pays its bank to take a foreclosed holding back."""
    return int(ledger.view(DEBT_ITEM, "buy_back_price", key32(holding_id)))


def _read_overdue(ledger: ChainLedger, item_id: str) -> bool:
    """True when the item is past maturity plus grace and not paid."""
    return bool(ledger.view(DEBT_ITEM, "overdue", key32(item_id)))


def _read_dilution(ledger: ChainLedger, item_id: str, credit_note_hash: str) -> dict[str, Any]:
    """A dilution's amount and state (0 none, 1 proposed, 2 applied)."""
    amount, state = ledger.view(DEBT_ITEM, "dilution", key32(item_id), hash32(credit_note_hash))
    return {"amount": int(amount), "state": int(state)}


def _read_terms(ledger: ChainLedger) -> dict[str, int]:
    """The operator-configured maximum tenor and grace days."""
    return {
        "max_tenor_days": int(ledger.view(DEBT_ITEM, "max_tenor_days")),
        "grace_days": int(ledger.view(DEBT_ITEM, "grace_days")),
    }


def _read_token_balance(ledger: ChainLedger, owner: str) -> int:
    """An account's settlement-token balance, minor units."""
    return int(ledger.view(SETTLEMENT_TOKEN, "balanceOf", address(owner)))


def _read_token_supply(ledger: ChainLedger) -> int:
    """The settlement token's total supply, minor units."""
    return int(ledger.view(SETTLEMENT_TOKEN, "totalSupply"))


def _read_receipt(ledger: ChainLedger, receipt_id: str) -> dict[str, Any] | None:
    """A warehouse receipt, or None when no such receipt exists."""
    receipt: dict[str, Any] = dict(ledger.view(WAREHOUSE_RECEIPT, "receipt", key32(receipt_id)))
    return receipt if optional_address(receipt["warehouse"]) else None


def _read_sale(ledger: ChainLedger, sale_id: str) -> dict[str, Any] | None:
    """A receipt sale, or None when no such sale exists."""
    sale: dict[str, Any] = dict(ledger.view(WAREHOUSE_RECEIPT, "sale", key32(sale_id)))
    return sale if int(sale["state"]) else None


def _events(
    ledger: ChainLedger, contract: str, event: str, *topics: bytes | None
) -> list[dict[str, Any]]:
    """Every ``event`` the contract emitted (filtered by indexed ``topics``), oldest first,
    each with the ``tx_hash`` and ``block_number`` of the transaction that emitted it."""
    abi = ledger.abi(contract)
    logs = ledger.client.logs(ledger._address(contract), [abi.event_topic(event), *topics])
    found = []
    for log in logs:
        raw_topics = [bytes.fromhex(str(t)[2:]) for t in log["topics"]]
        decoded = abi.decode_log(raw_topics, bytes.fromhex(str(log["data"])[2:]))
        if decoded is not None:
            decoded["tx_hash"] = str(log["transactionHash"]).lower()
            decoded["block_number"] = int(str(log["blockNumber"]), 16)
            found.append(decoded)
    return found


def _read_registered_fingerprints(ledger: ChainLedger) -> list[dict[str, Any]]:
    """Every fingerprint registration on the notary: fingerprint, submitter, tx_hash."""
    return _events(ledger, NOTARY, "FingerprintRegistered")


def _read_anchored_batches(ledger: ChainLedger) -> list[dict[str, Any]]:
    """Every batch anchored on the notary: batch_id (key), root, count, submitter, tx_hash."""
    return _events(ledger, NOTARY, "BatchAnchored")


def _read_route(ledger: ChainLedger, item_id: str) -> dict[str, Any]:
    """The item's repayment route on the Repayment contract (kind 0 when none is locked)."""
    return dict(ledger.view(REPAYMENT, "route", key32(item_id)))


def _read_collectable(ledger: ChainLedger, item_id: str) -> int:
    """What Repayment.settle would collect now: min(outstanding, debtor's balance, allowance)."""
    return int(ledger.view(REPAYMENT, "collectable", key32(item_id)))


def _read_token_allowance(ledger: ChainLedger, owner: str, spender: str) -> int:
    """An owner's settlement-token allowance to a spender (a contract name or an address)."""
    target = ledger.addresses.get(spender, spender)
    return int(ledger.view(SETTLEMENT_TOKEN, "allowance", address(owner), address(target)))


def _read_pledges(ledger: ChainLedger, holding_id: str) -> list[dict[str, Any]]:
    """Every pledge of a holding: bank, principal, rate_bps, start_day, tx_hash; oldest first."""
    return _events(ledger, DEBT_ITEM, "HoldingPledged", None, key32(holding_id))


_READERS: dict[str, Callable[..., Any]] = {
    "route": _read_route,
    "collectable": _read_collectable,
    "token_allowance": _read_token_allowance,
    "item_life": _read_item_life,
    "recourse": _read_recourse,
    "buy_back_price": _read_buy_back_price,
    "overdue": _read_overdue,
    "dilution": _read_dilution,
    "terms": _read_terms,
    "token_balance": _read_token_balance,
    "token_supply": _read_token_supply,
    "receipt": _read_receipt,
    "sale": _read_sale,
    "item_count": _read_item_count,
    "item": _read_item,
    "holding": _read_holding,
    "item_holdings": _read_item_holdings,
    "fingerprint": _read_fingerprint,
    "anchor": _read_anchor,
    "batch_of_root": _read_batch_of_root,
    "member": _read_member,
    "registry_owner": _read_registry_owner,
    "nonce": _read_nonce,
    "registered_fingerprints": _read_registered_fingerprints,
    "anchored_batches": _read_anchored_batches,
    "pledges": _read_pledges,
}
