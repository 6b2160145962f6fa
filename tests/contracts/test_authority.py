"""The attacker suite: one table of who may call what, every external function of every
contract called by every role (outsider, member, holder, other holder, debtor, other debtor,
pledgee, other bank, verifier, operator, guardian, governance).

A role outside a function's ``allowed`` set gets the function's exact ``denied`` revert; a
role inside it gets past the authority check (its call applies, or fails only for a reason
that is not authority). Views are callable by anyone. ``test_every_external_function_has_an_
entry`` enumerates the compiled ABIs, so a new function without an entry fails the suite.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boa
import pytest
from vyper.compiler import output

from tests.contracts.conftest import (
    CORE_ENTERPRISE,
    DAY0,
    OPERATOR,
    Consortium,
    b32,
    issue_item,
    new_op,
)

pytestmark = pytest.mark.contracts

ROLES = (
    "outsider", "member", "holder", "other_holder", "debtor", "other_debtor", "pledgee",
    "other_bank", "verifier", "operator", "guardian", "governance",
)  # fmt: skip
ANYONE = frozenset(ROLES)
MEMBERS = ANYONE - {"outsider", "governance", "guardian"}


@dataclass(frozen=True)
class Rule:
    """Who may call a function, and the revert everybody else gets."""

    allowed: frozenset[str]
    denied: str | None = None  # None: a view, or a write anyone may send


def _r(allowed: set[str] | frozenset[str], denied: str | None = None) -> Rule:
    return Rule(frozenset(allowed), denied)


VIEW = Rule(ANYONE)
GOV = {"governance"}
OWNER = "ownable: caller is not the owner"

AUTHORITY: dict[str, dict[str, Rule]] = {
    "Registry": {
        "admit": _r(GOV, OWNER),
        "set_roles": _r(GOV, OWNER),
        "suspend": _r(GOV, OWNER),
        "reinstate": _r(GOV, OWNER),
        "pause": _r(GOV, OWNER),
        "unpause": _r(GOV, OWNER),
        "set_guardian": _r(GOV, OWNER),
        # A member's node and its signer vote, recorded after the network decided.
        "set_node": _r(GOV, OWNER),
        "transfer_ownership": _r(GOV, OWNER),
        "guardian_pause": _r({"guardian"}, "registry: caller is not the guardian"),
        # A member's own settlement account: its own transaction, nobody else's.
        "set_account": _r(MEMBERS, "registry: caller is not a member"),
        **{
            v: VIEW
            for v in (
                "is_member",
                "has_role",
                "member_of",
                "member_count",
                "account_of",
                "node_of",
                "member_of_node",
                "is_signer",
                "signer_count",
                "paused",
                "applied",
                "owner",
                "guardian",
                "guardian_armed",
                "guardian_pause_until",
                "GUARDIAN_PAUSE_SECONDS",
            )
        },
    },
    "Governance": {
        "propose": _r(
            {"operator", "pledgee", "other_bank"}, "governance: caller is not a councillor"
        ),
        "vote": _r({"operator", "pledgee", "other_bank"}, "governance: caller is not a councillor"),
        "execute": Rule(ANYONE),
        "cancel": _r({"operator"}, "governance: caller is not the proposer"),
        "add_councillor": _r({"governance"}, "governance: only by proposal"),
        "remove_councillor": _r({"governance"}, "governance: only by proposal"),
        "set_threshold": _r({"governance"}, "governance: only by proposal"),
        "set_delay": _r({"governance"}, "governance: only by proposal"),
        **{
            v: VIEW
            for v in (
                "council",
                "threshold",
                "delay",
                "proposal_count",
                "voted",
                "proposal",
                "proposal_data",
                "is_councillor",
            )
        },
    },
    "Notary": {
        "register": _r(MEMBERS, "notary: caller is not a member"),
        "anchor": _r(MEMBERS, "notary: caller is not a member"),
        **{
            v: VIEW
            for v in ("fingerprint_owner", "registered", "anchor_of", "batch_of_root", "applied")
        },
    },
    "Issuer": {
        "issue": _r(MEMBERS - {"debtor"}, "issuer: signer is not a verifier"),
        "issue_confirmed": _r(MEMBERS - {"debtor"}, "issuer: invalid confirmation signature"),
        "confirm": _r(MEMBERS, "issuer: caller is not a member"),
        "set_verifier_quorum": _r(GOV, "issuer: caller is not the operator"),
        **{
            v: VIEW
            for v in (
                "eip712Domain",
                "debt_item",
                "applied",
                "nonces",
                "verifier_quorum",
                "domain_separator",
                "confirmation_digest",
                "report_digest",
            )
        },
    },
    "DebtItem": {
        "register_issue": _r(set(), "debt_item: caller is not the issuer"),
        "mark_confirmed": _r(set(), "debt_item: caller is not the issuer"),
        "set_account_bank": _r({"debtor"}, "debt_item: caller is not the debtor"),
        "split": _r({"holder"}, "debt_item: caller is not the holder"),
        "transfer": _r({"holder"}, "debt_item: caller is not the holder"),
        "merge": _r({"holder"}, "debt_item: caller is not the holder"),
        "pledge": _r({"holder"}, "debt_item: caller is not the holder"),
        "accept_pledge": _r({"pledgee"}, "debt_item: caller is not the offered bank"),
        "release_pledge": _r({"pledgee"}, "debt_item: caller is not the pledgee"),
        "repay": _r({"debtor"}, "debt_item: caller is not the debtor"),
        "pay_with_token": _r({"debtor"}, "debt_item: caller is not the debtor"),
        "attest_payment": _r({"pledgee"}, "debt_item: caller is not the account bank"),
        "dispute": _r({"debtor"}, "debt_item: caller is not the debtor"),
        "withdraw_dispute": _r({"debtor"}, "debt_item: caller is not the debtor"),
        "resolve_dispute": _r(GOV, "debt_item: caller is not the operator"),
        "propose_dilution": _r({"holder"}, "debt_item: caller is not the creditor"),
        "accept_dilution": _r({"debtor"}, "debt_item: caller is not the debtor"),
        "cancel": _r({"holder", "debtor"}, "debt_item: caller may not cancel"),
        "mark_default": _r(GOV | {"pledgee"}, "debt_item: caller may not mark default"),
        "buy_back": _r({"holder"}, "debt_item: caller is not the pledgor"),
        "set_max_tenor": _r(GOV, "debt_item: caller is not the operator"),
        "set_grace_days": _r(GOV, "debt_item: caller is not the operator"),
        "set_max_rate": _r(GOV, "debt_item: caller is not the operator"),
        "set_settlement_token": _r(GOV, "debt_item: caller is not the operator"),
        "set_issuer": _r(GOV, "debt_item: caller is not the operator"),
        "set_repayment": _r(GOV, "debt_item: caller is not the operator"),
        **{
            v: VIEW
            for v in (
                "applied",
                "item_count",
                "max_tenor_days",
                "grace_days",
                "settlement_token",
                "max_rate_bps",
                "issuer",
                "repayment",
                "account_bank",
                "item",
                "holding",
                "item_holdings",
                "pledge_offer",
                "item_life",
                "outstanding",
                "overdue",
                "recourse",
                "buy_back_price",
                "dilution",
            )
        },
    },
    "SettlementToken": {
        "mint": _r({"pledgee", "other_bank"}, "settlement_token: caller is not a bank"),
        "burn": _r({"pledgee", "other_bank"}, "settlement_token: caller is not a bank"),
        "set_mint_cap": _r(GOV, OWNER),
        "transfer_ownership": _r(GOV, OWNER),
        "transfer": _r(MEMBERS, "settlement_token: sender is not a member"),
        "approve": Rule(ANYONE),
        # Only a spender the owner approved (DebtItem, WarehouseReceipt): nobody here is one.
        "transferFrom": _r(set(), "erc20: insufficient allowance"),
        **{
            v: VIEW
            for v in (
                "name",
                "symbol",
                "decimals",
                "totalSupply",
                "balanceOf",
                "allowance",
                "currency",
                "applied",
                "issued",
                "burned",
                "mint_cap",
                "deposit_used",
                "owner",
            )
        },
    },
    # Issue 20's locked repayment routes: the debtor locks; a route changes only with the
    # debtor's and every pledgee's signatures (whoever submits them); settlement at maturity is
    # permissionless (it collects exactly what is due, from the debtor's approved tokens).
    "Repayment": {
        "lock_route": _r({"debtor"}, "repayment: caller is not the debtor"),
        "change_route": _r({"debtor"}, "repayment: debtor has not signed"),
        "settle": Rule(ANYONE),
        **{
            v: VIEW
            for v in (
                "eip712Domain",
                "route",
                "collectable",
                "route_change_digest",
                "debt_item",
                "applied",
            )
        },
    },
    "WarehouseReceipt": {
        "issue": _r(set(), "warehouse_receipt: caller is not a warehouse"),
        "transfer": _r({"holder"}, "warehouse_receipt: caller is not the holder"),
        "pledge": _r({"holder"}, "warehouse_receipt: caller is not the holder"),
        "accept_pledge": _r({"pledgee"}, "warehouse_receipt: caller is not the offered bank"),
        "release_pledge": _r({"pledgee"}, "warehouse_receipt: caller is not the pledgee"),
        "offer": _r({"holder"}, "warehouse_receipt: caller is not the holder"),
        "pay": _r({"other_holder"}, "warehouse_receipt: caller is not the buyer"),
        "close_sale": _r({"holder"}, "warehouse_receipt: caller is not the seller"),
        "request_release": _r({"holder"}, "warehouse_receipt: caller is not the holder"),
        "confirm_release": _r(set(), "warehouse_receipt: caller is not the warehouse"),
        **{
            v: VIEW
            for v in (
                "receipt",
                "sale",
                "applied",
                "settlement_token",
                "release_requested",
                "pledge_offer",
            )
        },
    },
}

# Functions whose arguments this suite cannot build for a role-by-role call: their
# authority is proved by the named test instead (kept short on purpose).
PROVED_ELSEWHERE = {
    ("Issuer", "issue"): "test_issuer.py::test_issuance_on_a_made_up_report_fails",
    (
        "Issuer",
        "issue_confirmed",
    ): "test_issuer.py::test_a_confirmed_item_needs_the_debtors_own_signature",
    ("Governance", "execute"): "test_governance.py",
    ("DebtItem", "buy_back"): "test_debt_item_lifecycle.py::test_buy_back_refuses",
    ("WarehouseReceipt", "pay"): "test_warehouse_receipt.py",
    (
        "Repayment",
        "change_route",
    ): "test_repayment.py (the debtor's and every pledgee's signatures)",
    ("WarehouseReceipt", "close_sale"): "test_warehouse_receipt.py",
    ("WarehouseReceipt", "release_pledge"): "test_warehouse_receipt.py",
}


def _abi(deployer: Any) -> set[str]:
    return {
        e["name"]
        for e in output.build_abi_output(deployer.compiler_data)
        if e["type"] == "function"
    }


def test_every_external_function_has_an_entry(deployers: dict[str, Any]) -> None:
    assert set(AUTHORITY) == set(deployers)
    for name, deployer in deployers.items():
        missing = _abi(deployer) - set(AUTHORITY[name])
        stale = set(AUTHORITY[name]) - _abi(deployer)
        assert not missing, f"{name}: no authority entry for {sorted(missing)}"
        assert not stale, f"{name}: entries for functions that do not exist: {sorted(stale)}"


# --------------------------------------------------------------------------- the stage


@dataclass
class Stage:
    c: Consortium
    gov: Any
    repayment: Any  # deployed, not set on DebtItem (set, it would own set_account_bank)
    actors: dict[str, str]
    item: bytes
    held: bytes  # the holder's free holding
    pledged: bytes  # the holder's holding pledged to the pledgee
    offered: bytes  # the holder's holding offered to the pledgee
    lot: bytes  # the holder's warehouse receipt


@pytest.fixture
def stage(consortium: Consortium, deployers: dict[str, Any]) -> Stage:
    c = consortium
    other_debtor = boa.env.generate_address("other-debtor")
    guardian = boa.env.generate_address("guardian")
    with boa.env.prank(c.operator):
        c.registry.admit(new_op(), other_debtor, b32("org-core2"), CORE_ENTERPRISE)
        operator_org = boa.env.generate_address("operator-org")
        c.registry.admit(new_op(), operator_org, b32("org-operator"), OPERATOR)
        c.registry.set_guardian(guardian)
    item = issue_item(c)
    h = item.holding_id
    with boa.env.prank(c.tier1):
        c.debt.split(new_op(), h, b32("pledged"), 10_000)
        c.debt.split(new_op(), h, b32("offered"), 10_000)
        c.debt.transfer(new_op(), h, b32("other"), c.tier2, 10_000)
        c.debt.pledge(new_op(), b32("pledged"), c.bank, 5_000, 450, DAY0)
    with boa.env.prank(c.bank):
        c.debt.accept_pledge(new_op(), b32("pledged"), 5_000, 450)
    with boa.env.prank(c.tier1):
        c.debt.pledge(new_op(), b32("offered"), c.bank, 5_000, 450, DAY0)
    lot = b32("lot")
    with boa.env.prank(c.warehouse):
        c.receipts.issue(
            new_op(), lot, c.tier1, b32("g"), b32("d"), 100, b"TNE".ljust(32, b"\0"), b32("l"),
            b32("e"),
        )  # fmt: skip
    with boa.env.prank(c.tier1):  # the holder's offer of the lot, waiting for the bank
        c.receipts.pledge(new_op(), lot, c.bank, 7)
    # Hand the registry and the token to a council of the operator and both banks.
    gov = deployers["Governance"].deploy([operator_org, c.bank, c.bank2], 2, 86_400)
    with boa.env.prank(c.operator):
        c.registry.transfer_ownership(gov.address)
        c.token.transfer_ownership(gov.address)
    actors = {
        "outsider": c.outsider,
        "member": c.regulator,
        "holder": c.tier1,
        "other_holder": c.tier2,
        "debtor": c.core.address,
        "other_debtor": other_debtor,
        "pledgee": c.bank,
        "other_bank": c.bank2,
        "verifier": c.verifier.address,
        "operator": operator_org,
        "guardian": guardian,
        "governance": gov.address,
    }
    repayment = deployers["Repayment"].deploy(c.registry.address, c.debt.address)
    return Stage(c, gov, repayment, actors, item.item_id, h, b32("pledged"), b32("offered"), lot)


def _target(s: Stage, contract: str) -> Any:
    return {
        "Registry": s.c.registry,
        "Governance": s.gov,
        "Notary": s.c.notary,
        "Issuer": s.c.issuer,
        "DebtItem": s.c.debt,
        "SettlementToken": s.c.token,
        "WarehouseReceipt": s.c.receipts,
        "Repayment": s.repayment,
    }[contract]


def _args(s: Stage, contract: str, fn: str) -> tuple[Any, ...]:
    """Arguments that pass every check but the caller's authority (op ids added later)."""
    c, a = s.c, s.actors
    op = new_op
    table: dict[tuple[str, str], tuple[Any, ...]] = {
        ("Registry", "admit"): (op(), c.outsider, b32("org-x"), 2),
        ("Registry", "set_roles"): (op(), c.tier2, 2 | 32),
        ("Registry", "suspend"): (op(), c.tier2),
        ("Registry", "reinstate"): (op(), c.tier2),
        ("Registry", "pause"): (),
        ("Registry", "unpause"): (),
        ("Registry", "set_guardian"): (a["guardian"],),
        ("Registry", "transfer_ownership"): (s.gov.address,),
        ("Registry", "guardian_pause"): (),
        ("Registry", "set_account"): (op(), c.bank, b32("account")),
        ("Registry", "set_node"): (op(), c.bank, a["guardian"], True),
        ("Governance", "propose"): (c.registry.address, b"\x8a\x5f\x1d\x0e"),
        ("Governance", "vote"): (1,),
        ("Governance", "cancel"): (1,),
        ("Governance", "add_councillor"): (c.tier2,),
        ("Governance", "remove_councillor"): (c.bank2,),
        ("Governance", "set_threshold"): (3,),
        ("Governance", "set_delay"): (60,),
        ("Notary", "register"): (op(), [b32("fp")]),
        ("Notary", "anchor"): (op(), b32("batch"), b32("root"), 1),
        ("Issuer", "confirm"): (op(), s.item, 0, 2**255, b"\x00" * 65),
        ("Issuer", "set_verifier_quorum"): (op(), 1),
        ("DebtItem", "register_issue"): (
            b32("x"),
            b32("x/h"),
            c.tier1,
            c.core.address,
            156,
            1,
            DAY0,
            DAY0 + 9,
            1,
            b32("t"),
            b32("r"),
            1,
            c.bank,
        ),
        ("DebtItem", "mark_confirmed"): (s.item, 0),
        ("DebtItem", "set_account_bank"): (op(), s.item, c.bank2),
        ("DebtItem", "split"): (op(), s.held, b32("new"), 1),
        ("DebtItem", "transfer"): (op(), s.held, b32("new"), c.regulator, 1),
        ("DebtItem", "merge"): (op(), s.held, b32("offered")),
        ("DebtItem", "pledge"): (op(), s.held, c.bank2, 1, 0, DAY0),
        ("DebtItem", "accept_pledge"): (op(), s.offered, 5_000, 450),
        ("DebtItem", "release_pledge"): (op(), s.pledged),
        ("DebtItem", "repay"): (op(), s.item, 1, DAY0 + 1),
        ("DebtItem", "pay_with_token"): (op(), s.item, 1, DAY0 + 1),
        ("DebtItem", "attest_payment"): (op(), s.item, 1, DAY0 + 1, b32("stmt")),
        ("DebtItem", "dispute"): (op(), s.item, b32("why")),
        ("DebtItem", "withdraw_dispute"): (op(), s.item),
        ("DebtItem", "resolve_dispute"): (op(), s.item, b32("how")),
        ("DebtItem", "propose_dilution"): (op(), s.item, 1, b32("cn")),
        ("DebtItem", "accept_dilution"): (op(), s.item, b32("cn"), 1),
        ("DebtItem", "cancel"): (op(), s.item),
        ("DebtItem", "mark_default"): (op(), s.item),
        ("DebtItem", "set_max_tenor"): (op(), 100),
        ("DebtItem", "set_grace_days"): (op(), 3),
        ("DebtItem", "set_max_rate"): (op(), 500),
        ("DebtItem", "set_settlement_token"): (op(), c.token.address),
        ("DebtItem", "set_issuer"): (op(), c.issuer.address),
        ("DebtItem", "set_repayment"): (op(), c.regulator),
        ("SettlementToken", "mint"): (op(), c.tier1, 1, op()),
        ("SettlementToken", "burn"): (op(), 1),
        ("SettlementToken", "set_mint_cap"): (op(), c.bank, 10),
        ("SettlementToken", "transfer_ownership"): (s.gov.address,),
        ("SettlementToken", "transfer"): (c.tier1, 0),
        ("SettlementToken", "approve"): (c.debt.address, 1),
        ("SettlementToken", "transferFrom"): (c.tier1, c.tier2, 1),
        ("WarehouseReceipt", "issue"): (
            op(),
            b32("lot2"),
            c.tier1,
            b32("g"),
            b32("d"),
            1,
            b32("u"),
            b32("l"),
            b32("e"),
        ),
        ("WarehouseReceipt", "transfer"): (op(), s.lot, c.tier2),
        ("WarehouseReceipt", "pledge"): (op(), s.lot, c.bank, 1),
        ("WarehouseReceipt", "accept_pledge"): (op(), s.lot, 7),
        ("WarehouseReceipt", "offer"): (op(), b32("sale"), s.lot, c.tier2, b32("lot3"), 1, 1),
        ("WarehouseReceipt", "request_release"): (op(), s.lot, 1),
        ("Repayment", "lock_route"): (op(), s.item, 2, b32("collection-account")),
        ("WarehouseReceipt", "confirm_release"): (op(), s.lot, 1, b32("ship")),
    }
    return table[(contract, fn)]


def _cases() -> list[tuple[str, str, str]]:
    return [
        (contract, fn, role)
        for contract, rules in AUTHORITY.items()
        for fn, rule in rules.items()
        if rule.denied is not None and (contract, fn) not in PROVED_ELSEWHERE
        for role in ROLES
    ]


@pytest.mark.parametrize(("contract", "fn", "role"), _cases())
def test_who_may_call_what(stage: Stage, contract: str, fn: str, role: str) -> None:
    rule = AUTHORITY[contract][fn]
    assert rule.denied is not None
    s = stage
    target = getattr(_target(s, contract), fn)
    args = _args(s, contract, fn)
    if contract == "Governance" and fn in ("vote", "cancel"):
        with boa.env.prank(s.actors["operator"]):
            s.gov.propose(s.c.registry.address, b"\x8a\x5f\x1d\x0e")
    if role in rule.allowed:
        try:
            with boa.env.prank(s.actors[role]):
                target(*args)
        except boa.BoaError as exc:  # allowed: any refusal must not be about authority
            assert rule.denied not in str(exc), f"{role} was refused {contract}.{fn}"
    else:
        with boa.env.prank(s.actors[role]), boa.reverts(rule.denied):
            target(*args)


@pytest.mark.parametrize(
    ("contract", "fn"),
    [(c, f) for c, rules in AUTHORITY.items() for f, r in rules.items() if r is VIEW],
)
def test_views_are_open_to_anyone(
    stage: Stage, contract: str, fn: str, deployers: dict[str, Any]
) -> None:
    abi = next(
        e for e in output.build_abi_output(deployers[contract].compiler_data) if e.get("name") == fn
    )
    assert abi["stateMutability"] in ("view", "pure")
