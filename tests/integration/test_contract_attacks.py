"""Issue 14's probes end to end on anvil: the contracts, not the platform's goodwill, refuse.

A self-registered bank attests a payment on an item whose debtor banks elsewhere: the service
refuses it, the same call sent straight to the chain with the bank's own key is reverted by
DebtItem, and `audit` stays clean. Once the founding members hand the Registry to Governance,
`org add --role bank` admits nobody until the council votes the bank in.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest

from fourflow.adapters.chain.errors import ChainError, OperationRejectedError
from fourflow.adapters.chain.ids import key32
from fourflow.adapters.chain.ops import REGISTRY
from fourflow.bootstrap import Platform
from fourflow.domain.debt import day_number
from fourflow.domain.errors import PermissionDeniedError
from fourflow.domain.parties import ROLE_BITS, Role
from fourflow.services import commands as cmd
from fourflow.services import items, onboarding, relay
from fourflow.services.demo import demo_uscc
from fourflow.services.ports import ChainOp, OpStatus
from tests.integration.conftest import Run
from tests.integration.test_lifecycle import YUAN, _audit_ok, _story

pytestmark = pytest.mark.chain


def _rogue_bank(p: Platform, name: str) -> str:
    """A bank that registers itself with an account at another bank (BIN 622848)."""
    org = onboarding.onboard(
        uow_factory=p.uow_factory, keystore=p.keystore, name=name,
        uscc=_uscc(), roles=[Role.BANK], accounts=[f"622848{uuid.uuid4().int % 10**13:013d}"],
    )  # fmt: skip
    return org.id


def _uscc() -> str:
    return demo_uscc("320500", f"MA1R{uuid.uuid4().hex[:5].upper()}")


def test_a_rogue_bank_cannot_attest_a_payment_and_audit_stays_clean(platform: Platform) -> None:
    s = _story(platform)
    rogue = _rogue_bank(platform, "自注册测试银行")
    s.relay()
    ledger = platform.require_contracts()
    before = ledger.read("item", s.item.id)
    value_day = s.item.issue_date + dt.timedelta(days=10)

    # Through the service: refused before anything is written.
    with pytest.raises(PermissionDeniedError, match="does not hold the debtor's account"):
        items.pay(
            ledger=ledger, uow_factory=platform.uow_factory, item_id=s.item.id,
            amount=1_000_000 * YUAN, value_date=value_day, reference="FAKE-STMT-1",
            payer_id=rogue, method="attested",
        )  # fmt: skip
    # Straight to the chain with the bank's own key: DebtItem reverts.
    op = ChainOp(
        op_id=f"rogue-{uuid.uuid4().hex}",
        command=cmd.AttestPayment(
            s.item.id, 1_000_000 * YUAN, day_number(value_day), "0x" + "11" * 32
        ),
        sender_org_id=rogue,
    )
    with pytest.raises(OperationRejectedError, match="caller is not the account bank"):
        ledger.apply(op)
    assert ledger.read("item", s.item.id) == before
    _audit_ok(platform)


def test_a_self_registered_bank_waits_for_the_councils_votes(platform: Platform) -> None:
    p = platform
    ledger = p.require_contracts()
    operator = p.operator_id()
    founders = [_rogue_bank(p, f"创始银行{i}") for i in range(2)]
    result = relay.relay(uow_factory=p.uow_factory, ledger=ledger)
    assert not result.failed, result.failed
    ledger.hand_over(operator, [operator, *founders], threshold=2, delay=0)

    newcomer = _rogue_bank(p, "自注册新银行")  # `org add --role bank`
    result = relay.relay(uow_factory=p.uow_factory, ledger=ledger)
    (_, admit), (_, cap) = result.failed  # the cap op is queued on the admission: fails with it
    assert admit == "ownable: caller is not the owner" and "depends on" in cap
    with p.uow_factory() as uow:
        org = uow.organisations.get(newcomer)
        ops = uow.outbox.for_subject(newcomer)
    assert org is not None and org.chain_address
    assert {o.kind for o in ops} == {cmd.OpKind.ADMIT_MEMBER, cmd.OpKind.SET_MINT_CAP}
    assert all(o.status in (OpStatus.REFUSED, OpStatus.FAILED) for o in ops)
    assert not ledger.read("member", org.chain_address)["active"]

    # The operator's key alone no longer admits: a proposal needs a second councillor.
    bank_bit = ROLE_BITS[Role.BANK]
    args = (key32(f"admit-{newcomer}"), org.chain_address, key32(newcomer), bank_bit)
    proposal = ledger.propose(operator, REGISTRY, "admit", args)
    with pytest.raises(ChainError, match="not enough votes"):
        ledger.execute(operator, proposal)
    assert not ledger.read("member", org.chain_address)["active"]
    ledger.vote(founders[0], proposal)
    ledger.execute(founders[1], proposal)
    member = ledger.read("member", org.chain_address)
    assert member["active"] and member["roles"] == bank_bit


def test_org_add_of_a_bank_waits_for_the_council_through_the_cli(run: Run) -> None:
    """`org add --role bank` after the hand-over admits nobody; the council votes it in."""
    code, out, _ = run("init", "--demo", "--json")
    assert code == 0, out
    operator = json.loads(out)["operator"]["id"]
    a, b, newcomer = _uscc(), _uscc(), _uscc()
    for uscc, name in ((a, "创始银行甲"), (b, "创始银行乙")):
        code, out, _ = run("org", "add", "--name", name, "--uscc", uscc, "--role", "bank")
        assert code == 0, out
    code, out, err = run(
        "governance", "hand-over", "--council", operator, "--council", a, "--council", b,
        "--threshold", "2", "--delay", "0", "--json",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["threshold"] == 2

    code, out, err = run("org", "add", "--name", "自注册银行", "--uscc", newcomer, "--role", "bank")
    assert "ownable: caller is not the owner" in " ".join(err.split())
    code, out, err = run("governance", "propose-admit", newcomer, "--as", operator, "--json")
    assert code == 0, err
    proposal = str(json.loads(out)["proposal"])
    code, _, err = run("governance", "execute", proposal, "--as", operator)
    assert code == 1 and "not enough votes" in err
    assert run("governance", "vote", proposal, "--as", a)[0] == 0
    code, _, err = run("governance", "execute", proposal, "--as", b)
    assert code == 0, err
    code, _, err = run("governance", "execute", proposal, "--as", b)
    assert code == 1 and "already executed" in err


def test_after_fourflow_demo_the_operator_alone_admits_no_bank(run: Run) -> None:
    """`fourflow demo` ends in the governed phase: `org add --role bank` afterwards is refused
    on chain, and the operator's proposal runs only with the council's votes."""
    from fourflow.services.demo import MEMBERS

    code, out, err = run("demo", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert "Governance" in report["chain"]["contracts"]
    uscc = {m.key: m.uscc for m in MEMBERS}
    code, out, _ = run("init", "--json")
    operator = json.loads(out)["operator"]["id"]

    newcomer = _uscc()
    code, out, err = run(
        "org", "add", "--name", "演示后自注册银行", "--uscc", newcomer, "--role", "bank"
    )
    assert "ownable: caller is not the owner" in " ".join(err.split())
    code, out, err = run("governance", "propose-admit", newcomer, "--as", operator, "--json")
    assert code == 0, err
    proposal = str(json.loads(out)["proposal"])
    code, _, err = run("governance", "execute", proposal, "--as", operator)
    assert code == 1 and "not enough votes" in err
    assert run("governance", "vote", proposal, "--as", uscc["bank"])[0] == 0
    assert run("governance", "vote", proposal, "--as", uscc["core"])[0] == 0
    code, _, err = run("governance", "execute", proposal, "--as", operator)
    assert code == 0, err
    # Its mint cap is the council's too: until then it mints nothing.
    code, out, err = run("token", "mint", "10", "--to", uscc["core"], "--as", newcomer)
    assert "mint cap exceeded" in " ".join((out + err).split())
    code, out, err = run(
        "governance", "propose-mint-cap", newcomer, "--cap", "100000", "--as", operator, "--json"
    )
    assert code == 0, err
    cap = str(json.loads(out)["proposal"])
    for councillor in (uscc["bank"], uscc["core"]):
        assert run("governance", "vote", cap, "--as", councillor)[0] == 0
    assert run("governance", "execute", cap, "--as", operator)[0] == 0
    code, out, err = run(
        "token", "mint", "10", "--to", uscc["core"], "--reference", "STMT-NEW-1", "--as", newcomer,
        "--json",
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["deposit"] == "STMT-NEW-1"


def test_the_debtors_registered_account_bank_binds_its_new_items(platform: Platform) -> None:
    """The account bank is a registered fact: only the debtor registers or moves it (its own
    transaction); items issued before keep the bank named for them; a new item naming another
    bank than the registered one is refused by the Issuer, whoever signed its report."""
    from dataclasses import replace

    from fourflow.services import accounts

    s = _story(platform)
    second = _rogue_bank(platform, "第二开户银行")
    s.relay()
    ledger = platform.require_contracts()
    core, old_bank = s.org["core"], s.org["bank"]
    with pytest.raises(PermissionDeniedError, match=r"only .* itself may"):
        accounts.register_account(
            uow_factory=platform.uow_factory, org_id=core.id, bank_id=second,
            account="6228480001000000011", actor_id=old_bank.id,
        )  # fmt: skip
    accounts.register_account(
        uow_factory=platform.uow_factory, org_id=core.id, bank_id=second,
        account="6228480001000000011", actor_id=core.id,
    )  # fmt: skip
    s.relay()
    with platform.uow_factory() as uow:
        second_org = uow.organisations.get(second)
        assert second_org is not None
        assert accounts.account_bank(uow, core).id == second
        assert accounts.item_account_bank(uow, s.item.id, core).id == old_bank.id
        issue = next(
            o for o in uow.outbox.for_subject(s.item.id) if o.kind is cmd.OpKind.ISSUE_ITEM
        )
    on_chain = ledger.view("Registry", "account_of", core.chain_address)
    bank_on_chain = on_chain["bank"] if isinstance(on_chain, dict) else on_chain[0]
    assert bank_on_chain.lower() == (second_org.chain_address or "").lower()

    # The item issued before: its own account bank still attests, the new one may not.
    with pytest.raises(PermissionDeniedError, match="does not hold the debtor's account"):
        items.pay(
            ledger=ledger, uow_factory=platform.uow_factory, item_id=s.item.id,
            amount=1_000 * YUAN, value_date=s.item.issue_date + dt.timedelta(days=10),
            reference="STMT-NEW-BANK", payer_id=second, method="attested",
        )  # fmt: skip

    # A new item naming the old bank: the Issuer refuses it though the verifier signed it.
    assert isinstance(issue.command, cmd.IssueItem)
    tag = uuid.uuid4().hex[:8]
    stale = replace(
        issue.command, item_id=f"item-{tag}", holding_id=f"holding-{tag}", confirmation=None,
        account_bank_address=old_bank.chain_address or "",
    )  # fmt: skip
    stale = replace(stale, report_signatures=(ledger.sign_report(platform.operator_id(), stale),))
    with pytest.raises(OperationRejectedError, match="registered account bank"):
        ledger.apply(ChainOp(f"stale-{tag}", stale, issue.sender_org_id))
    fresh = replace(stale, account_bank_address=second_org.chain_address or "")
    fresh = replace(fresh, report_signatures=(ledger.sign_report(platform.operator_id(), fresh),))
    ledger.apply(ChainOp(f"fresh-{tag}", fresh, issue.sender_org_id))
    assert ledger.read("item", fresh.item_id)["state"] == 1
