"""Shared titanoboa fixtures: the contracts deployed and a small consortium admitted.

Sources are compiled and deployed once per session; every test runs inside
``boa.env.anchor()``, so each starts from the same chain state.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boa
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak

from fourflow.adapters.chain import confirmation as eip712

CONTRACTS = Path(__file__).resolve().parents[2] / "src" / "fourflow" / "contracts"

CORE_ENTERPRISE = 1
SUPPLIER = 2
DISTRIBUTOR = 4
LOGISTICS = 8
WAREHOUSE = 16
BANK = 32
REGULATOR = 64
OPERATOR = 128
VERIFIER = 256

CNY = 156
SECONDS_PER_DAY = 86_400
# 2026-01-01, a day number comfortably before the chain's "today" in these tests.
DAY0 = 20_454
TODAY = DAY0 + 400


def b32(text: str) -> bytes:
    """The bytes32 id of a FourFlow string id (keccak256, as the adapter computes it)."""
    return keccak(text=text)


_op_counter = itertools.count()
DEPOSITS = itertools.count()  # fresh deposit references for mints


def new_op() -> bytes:
    """A fresh operation id."""
    return b32(f"op-{next(_op_counter)}")


@dataclass(frozen=True)
class Consortium:
    """Deployed contracts and member accounts."""

    registry: Any
    notary: Any
    debt: Any
    issuer: Any  # the only way items are issued
    token: Any  # CNY settlement token, set on ``debt``
    receipts: Any  # WarehouseReceipt paid in ``token``
    operator: str
    core: LocalAccount  # the debtor: a core enterprise with a signing key
    tier1: str  # first-tier supplier
    tier2: str  # second-tier supplier
    bank: str
    bank2: str
    regulator: str
    warehouse: str
    verifier: LocalAccount  # holds the verifier role: signs verification reports
    outsider: str  # never admitted


VERIFIER_KEY = keccak(text="fourflow-test-verifier")
MINT_CAP = 10**15


@pytest.fixture(scope="session")
def deployers() -> dict[str, Any]:
    """Compiled contract deployers, shared by the whole session."""
    return {
        name: boa.load_partial(str(CONTRACTS / f"{name}.vy"))
        for name in (
            "Registry",
            "Notary",
            "DebtItem",
            "SettlementToken",
            "WarehouseReceipt",
            "Issuer",
            "Governance",
            "Repayment",
        )
    }


@pytest.fixture(scope="session")
def deployed(deployers: dict[str, Any]) -> Consortium:
    """The contracts deployed once per session and a small consortium admitted."""
    boa.env.evm.patch.timestamp = TODAY * SECONDS_PER_DAY + 3_600
    operator = boa.env.generate_address("operator")
    with boa.env.prank(operator):
        registry = deployers["Registry"].deploy()
    notary = deployers["Notary"].deploy(registry.address)
    debt = deployers["DebtItem"].deploy(registry.address)
    issuer = deployers["Issuer"].deploy(registry.address, debt.address)
    core = Account.from_key(keccak(text="fourflow-test-core"))
    verifier = Account.from_key(VERIFIER_KEY)
    members = {
        "core": (core.address, CORE_ENTERPRISE),
        "tier1": (boa.env.generate_address("tier1"), SUPPLIER),
        "tier2": (boa.env.generate_address("tier2"), SUPPLIER),
        "bank": (boa.env.generate_address("bank"), BANK),
        "bank2": (boa.env.generate_address("bank2"), BANK),
        "regulator": (boa.env.generate_address("regulator"), REGULATOR),
        "warehouse": (boa.env.generate_address("warehouse"), WAREHOUSE),
        "verifier": (verifier.address, VERIFIER),
    }
    with boa.env.prank(operator):
        for name, (address, roles) in members.items():
            registry.admit(new_op(), address, b32(f"org-{name}"), roles)
    with boa.env.prank(operator):
        token = deployers["SettlementToken"].deploy(
            registry.address, "FourFlow CNY", "fCNY", 2, CNY
        )
    receipts = deployers["WarehouseReceipt"].deploy(registry.address, token.address)
    with boa.env.prank(operator):
        debt.set_settlement_token(new_op(), token.address)
        debt.set_issuer(new_op(), issuer.address)
        for bank in ("bank", "bank2"):
            token.set_mint_cap(new_op(), members[bank][0], MINT_CAP)
    return Consortium(
        registry=registry,
        notary=notary,
        debt=debt,
        issuer=issuer,
        token=token,
        receipts=receipts,
        operator=operator,
        core=core,
        tier1=members["tier1"][0],
        tier2=members["tier2"][0],
        bank=members["bank"][0],
        bank2=members["bank2"][0],
        regulator=members["regulator"][0],
        warehouse=members["warehouse"][0],
        verifier=verifier,
        outsider=boa.env.generate_address("outsider"),
    )


@pytest.fixture
def consortium(deployed: Consortium) -> Iterator[Consortium]:
    """The deployed consortium, every change rolled back after the test."""
    with boa.env.anchor():
        boa.env.evm.patch.timestamp = TODAY * SECONDS_PER_DAY + 3_600
        yield deployed


def events(contract: Any) -> list[tuple[str, dict[str, Any]]]:
    """The events of the contract's last call, in order, as (name, arguments)."""
    return [
        (type(log).__name__, {k: v for k, v in log._asdict().items() if k != "address"})
        for log in contract.get_logs()
    ]


def named(contract: Any, name: str) -> list[dict[str, Any]]:
    """The arguments of the named events of the contract's last call."""
    return [args for event, args in events(contract) if event == name]


@dataclass(frozen=True)
class Issued:
    """An item issued by ``tier1`` to ``core`` with its first holding."""

    item_id: bytes
    holding_id: bytes
    face_value: int


def report_signature(
    c: Consortium,
    item_id: bytes,
    creditor: str,
    debtor: str,
    face_value: int,
    maturity_day: int,
    trade_hash: bytes,
    report_hash: bytes,
    account_bank: str,
    key: bytes = VERIFIER_KEY,
    currency: int = CNY,
) -> bytes:
    """A verifier's EIP-712 signature of the report on an item (the adapter's typed data)."""
    report = eip712.Report(
        item_id,
        trade_hash,
        report_hash,
        creditor,
        debtor,
        currency,
        face_value,
        maturity_day,
        account_bank,
    )
    signature = eip712.sign_report(
        report, key, chain_id=boa.env.evm.patch.chain_id, verifying_contract=c.issuer.address
    )
    return bytes.fromhex(signature.removeprefix("0x"))


def issue_item(
    c: Consortium,
    name: str = "item-1",
    face_value: int = 100_000_000,
    creditor: str | None = None,
    issue_day: int = DAY0,
    maturity_day: int = DAY0 + 180,
    account_bank: str | None = None,
) -> Issued:
    """Issues a verified item of ``face_value`` from ``creditor`` (tier 1) on ``core``, with the
    verifier's signed report; ``account_bank`` (default ``bank``) is the debtor's account bank."""
    item_id, holding_id = b32(name), b32(f"{name}/h0")
    creditor = creditor or c.tier1
    bank = account_bank or c.bank
    trade, report = b32(f"trade-{name}"), b32(f"report-{name}")
    sig = report_signature(
        c, item_id, creditor, c.core.address, face_value, maturity_day, trade, report, bank
    )
    with boa.env.prank(creditor):
        c.issuer.issue(
            new_op(),
            item_id,
            holding_id,
            c.core.address,
            CNY,
            face_value,
            issue_day,
            maturity_day,
            1,
            trade,
            report,
            bank,
            [sig],
        )
    return Issued(item_id, holding_id, face_value)


def pledge(
    c: Consortium,
    holder: str,
    holding_id: bytes,
    bank: str,
    principal: int,
    rate_bps: int,
    start_day: int,
) -> None:
    """The holder offers the pledge and the bank accepts it at the same terms."""
    with boa.env.prank(holder):
        c.debt.pledge(new_op(), holding_id, bank, principal, rate_bps, start_day)
    with boa.env.prank(bank):
        c.debt.accept_pledge(new_op(), holding_id, principal, rate_bps)


def mint(c: Consortium, bank: str, to: str, amount: int) -> None:
    """The bank mints ``amount`` to ``to`` against a fresh deposit reference."""
    with boa.env.prank(bank):
        c.token.mint(new_op(), to, amount, new_op())


def typed_confirmation(issuer: Any, message: dict[str, Any]) -> dict[str, Any]:
    """The EIP-712 typed data of a debtor's Confirmation for the Issuer at ``issuer``.

    The struct and domain come from the chain adapter (what production signs), so these tests
    check that the contract accepts exactly what the adapter produces.
    """
    return {
        "types": {
            "EIP712Domain": eip712.TYPES["EIP712Domain"],
            "Confirmation": eip712.TYPES["Confirmation"],
        },
        "primaryType": "Confirmation",
        "domain": {
            "name": eip712.DOMAIN_NAME,
            "version": eip712.DOMAIN_VERSION,
            "chainId": boa.env.evm.patch.chain_id,
            "verifyingContract": issuer.address,
        },
        "message": message,
    }
