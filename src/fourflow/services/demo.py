"""The demo: a small, realistic supply network runs the whole main path on the chain.

A core enterprise buys from a tier-1 supplier, who buys from tier 2, who buys from tier 3.
The story is a replay of the last quarter, so every value date is in the past and the chain
accepts it: the tier-1 receivable is verified and confirmed by the debtor, passed up the
chain in parts, one part is financed by a bank, and at maturity the debtor's payment is
routed bank first. A tier-2 receivable is issued on the evidence alone (its debtor does not
confirm), and a tier-3 trade with an inflated invoice fails verification and is refused.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fourflow.domain.debt import DebtItem
from fourflow.domain.documents import DocumentKind
from fourflow.domain.findings import VerificationReport
from fourflow.domain.identifiers import uscc_check_character
from fourflow.domain.money import Money
from fourflow.domain.parties import Organisation, Role
from fourflow.domain.scenarios import Scenario
from fourflow.risk.bootstrap import HistorySource
from fourflow.services import demo_settlement, financing, ingest, items, linking, onboarding, relay
from fourflow.services.items import IssuanceRefusedError
from fourflow.services.ports import Clock, KeyStore, Ledger, UnitOfWorkFactory
from fourflow.services.reading import DocumentReader
from fourflow.services.supervision import regulator_summary
from fourflow.services.verification import verify

RUNS_KEY = "demo.runs"


def demo_uscc(region: str, serial: str) -> str:
    """A valid USCC for a demo company: enterprise (91), region code, serial, check char."""
    first17 = f"91{region}{serial}"
    return first17 + uscc_check_character(first17)


@dataclass(frozen=True, slots=True)
class Member:
    """A demo organisation's identity."""

    key: str
    name: str
    name_en: str
    uscc: str
    roles: tuple[Role, ...]
    account: str


MEMBERS = (
    Member("core", "华东重工装备集团有限公司", "East China Heavy Equipment Group",
           demo_uscc("320500", "MA1FF0001"), (Role.CORE_ENTERPRISE,), "6222020001000000011"),
    Member("tier1", "苏州精工零部件有限公司", "Suzhou Precision Parts Co.",
           demo_uscc("320500", "MA1FF0002"), (Role.SUPPLIER,), "6222020001000000022"),
    Member("tier2", "无锡恒达铸造有限公司", "Wuxi Hengda Foundry Co.",
           demo_uscc("320200", "MA1FF0003"), (Role.SUPPLIER,), "6222020001000000033"),
    Member("tier3", "常州新材五金加工厂", "Changzhou Xincai Hardware Works",
           demo_uscc("320400", "MA1FF0004"), (Role.SUPPLIER,), "6222020001000000044"),
    Member("logistics", "顺畅供应链物流有限公司", "Shunchang Supply-Chain Logistics",
           demo_uscc("320500", "MA1FF0005"), (Role.LOGISTICS,), "6222020001000000055"),
    Member("bank", "江南商业银行股份有限公司", "Jiangnan Commercial Bank",
           demo_uscc("320000", "MA1FF0006"), (Role.BANK,), "6222020001000000066"),
    Member("regulator", "苏州市地方金融管理局", "Suzhou Local Financial Regulator",
           demo_uscc("320500", "MA1FF0007"), (Role.REGULATOR,), "6222020001000000077"),
)  # fmt: skip


@dataclass(slots=True)
class DemoReport:
    """Everything the demo did, for printing or as JSON (docs/cli.md)."""

    run: int
    as_of: dt.date
    parties: list[dict[str, Any]] = field(default_factory=list)
    trades: list[dict[str, Any]] = field(default_factory=list)
    items: list[dict[str, Any]] = field(default_factory=list)
    transfers: list[dict[str, Any]] = field(default_factory=list)
    financings: list[dict[str, Any]] = field(default_factory=list)
    refusals: list[dict[str, Any]] = field(default_factory=list)
    repayments: list[dict[str, Any]] = field(default_factory=list)
    regulator: dict[str, Any] = field(default_factory=dict)
    chain: dict[str, Any] = field(default_factory=dict)
    settled_at_maturity: dict[str, Any] = field(default_factory=dict)


def _party(m: Member) -> dict[str, str]:
    return {"name": m.name, "uscc": m.uscc, "account": m.account}


def _line(item: str, qty: str, unit: str, price: str) -> dict[str, str]:
    amount = Money.of(str(Decimal(qty) * Decimal(price)), "CNY").plain()
    return {"item": item, "quantity": qty, "unit": unit, "unit_price": price, "amount": amount}


def trade_bundle(
    *,
    prefix: str,
    seller: Member,
    buyer: Member,
    carrier: Member,
    lines: list[tuple[str, str, str, str]],
    received_factor: str,
    day0: dt.date,
    terms_days: int,
    scenario: Scenario,
) -> bytes:
    """A native bundle for one trade: order, despatch, transport, receipt, invoice."""
    order_lines = [_line(*spec) for spec in lines]
    received = [
        {**ln, "quantity": f"{(Decimal(ln['quantity']) * Decimal(received_factor)).normalize():f}"}
        for ln in order_lines
    ]
    net = sum(Decimal(ln["amount"]) for ln in order_lines)
    tax = (net * Decimal("0.13")).quantize(Decimal("0.01"))
    po, dn, rn, inv = f"PO-{prefix}", f"DN-{prefix}", f"GRN-{prefix}", f"INV-{prefix}"
    day = day0.isoformat
    qty_only = [{k: ln[k] for k in ("item", "quantity", "unit")} for ln in order_lines]
    docs = [
        {"kind": "order", "number": po, "issue_date": day(), "seller": _party(seller),
         "buyer": _party(buyer), "currency": "CNY", "lines": order_lines,
         "total": str(net + tax), "tax_total": str(tax)},
        {"kind": "despatch_advice", "number": dn,
         "issue_date": (day0 + dt.timedelta(days=3)).isoformat(),
         "seller": _party(seller), "buyer": _party(buyer), "lines": qty_only,
         "references": [{"kind": "order", "number": po}]},
        {"kind": "transport_event", "number": f"WB-{prefix}",
         "issue_date": (day0 + dt.timedelta(days=4)).isoformat(),
         "seller": _party(carrier), "buyer": _party(buyer), "lines": qty_only,
         "references": [{"kind": "despatch_advice", "number": dn}]},
        {"kind": "receipt_advice", "number": rn,
         "issue_date": (day0 + dt.timedelta(days=5)).isoformat(),
         "seller": _party(seller), "buyer": _party(buyer),
         "lines": [{k: ln[k] for k in ("item", "quantity", "unit")} for ln in received],
         "references": [{"kind": "despatch_advice", "number": dn},
                        {"kind": "order", "number": po}]},
        {"kind": "invoice", "number": inv,
         "issue_date": (day0 + dt.timedelta(days=6)).isoformat(),
         "due_date": (day0 + dt.timedelta(days=6 + terms_days)).isoformat(),
         "seller": _party(seller), "buyer": _party(buyer), "currency": "CNY",
         "lines": order_lines, "total": str(net + tax), "tax_total": str(tax),
         "references": [{"kind": "order", "number": po},
                        {"kind": "receipt_advice", "number": rn}]},
    ]  # fmt: skip
    bundle = {"format": "fourflow-native/1", "scenario": scenario.value, "documents": docs}
    return json.dumps(bundle, ensure_ascii=False).encode("utf-8")


def _report_row(trade_id: str, report: VerificationReport) -> dict[str, Any]:
    return {
        "trade_id": trade_id,
        "status": report.status.value,
        "score": report.score,
        "findings": [
            {"code": f.code, "severity": f.severity.value, "message": f.message}
            for f in report.findings
        ],
    }


@dataclass(slots=True)
class DemoContext:
    """What the demo runs on: the platform's wired services."""

    uow_factory: UnitOfWorkFactory
    keystore: KeyStore
    ledger: Ledger
    clock: Clock
    reader_for: Callable[[str], DocumentReader]
    operator_id: str
    cold_start: HistorySource
    progress: Callable[[str], None] = lambda _msg: None
    # Ends the founding phase with the given council (org ids): Governance then owns the
    # Registry and the settlement token (``Platform.govern``); None stays in the founding phase.
    govern: Callable[[Sequence[str]], str] | None = None


def _next_run(ctx: DemoContext) -> int:
    with ctx.uow_factory() as uow:
        run = int(uow.settings.get(RUNS_KEY) or "0") + 1
        uow.settings.put(RUNS_KEY, str(run))
        uow.commit()
    return run


def _relay(ctx: DemoContext) -> None:
    result = relay.relay(uow_factory=ctx.uow_factory, ledger=ctx.ledger)
    if result.failed:
        raise RuntimeError(f"chain refused operations: {result.failed}")


def _item_row(item: DebtItem, ctx: DemoContext, orgs: dict[str, Organisation]) -> dict[str, Any]:
    with ctx.uow_factory() as uow:
        ops = uow.outbox.for_subject(item.id)
        fresh = uow.items.get(item.id)
    issue = next((o for o in ops if o.kind.value == "issue_item"), None)
    current = fresh or item
    return {
        "item_id": item.id,
        "trade_id": item.trade_id,
        "debtor": orgs[item.debtor_id].name,
        "creditor": orgs[item.creditor_id].name,
        "face_value": Money.from_minor(item.face_value, item.currency).plain(),
        "currency": item.currency,
        "maturity": item.maturity_date.isoformat(),
        "basis": item.basis.name.lower(),
        "status": current.status.value,
        "issue_tx": issue.tx_hash if issue else None,
        "block": issue.block_number if issue else None,
    }


def _by_issuer(raw: bytes, seller: str, buyer: str) -> list[tuple[str, bytes]]:
    """A native bundle split by who issues each document: (member key, bundle bytes)."""
    bundle = json.loads(raw)
    issuer = {"order": buyer, "receipt_advice": buyer, "transport_event": "logistics"}
    parts: dict[str, list[Any]] = {}
    for doc in bundle["documents"]:
        parts.setdefault(issuer.get(doc["kind"], seller), []).append(doc)
    return [
        (key, json.dumps({**bundle, "documents": docs}, ensure_ascii=False).encode())
        for key, docs in parts.items()
    ]


def _trade_of_invoice(ctx: DemoContext, number: str) -> str:
    with ctx.uow_factory() as uow:
        (stored,) = uow.documents.by_number(DocumentKind.INVOICE, number)
    if stored.trade_id is None:
        raise RuntimeError(f"invoice {number} was not linked into a trade")
    return stored.trade_id


def run_demo(ctx: DemoContext, *, today: dt.date) -> DemoReport:
    """Run every step of the main path and report what happened."""
    run = _next_run(ctx)
    report = DemoReport(run=run, as_of=today)
    say = ctx.progress

    say("onboarding the supply network")
    orgs: dict[str, Organisation] = {}
    by_key: dict[str, Organisation] = {}
    for m in MEMBERS:
        org = onboarding.onboard(
            uow_factory=ctx.uow_factory, keystore=ctx.keystore, name=m.name, uscc=m.uscc,
            roles=m.roles, accounts=[m.account],
        )  # fmt: skip
        orgs[org.id] = org
        by_key[m.key] = org
        report.parties.append(
            {"key": m.key, "name": m.name, "name_en": m.name_en, "uscc": m.uscc,
             "roles": [r.value for r in m.roles], "address": org.chain_address}
        )  # fmt: skip
    _relay(ctx)
    if ctx.govern is not None:
        # The founding members are in: the operator, the bank and the core enterprise become
        # the council (2 of 3) and no single key admits, suspends or pauses from here on.
        council = ctx.govern([ctx.operator_id, by_key["bank"].id, by_key["core"].id])
        say(f"the consortium council governs the registry (Governance {council})")
    with ctx.uow_factory() as uow:
        orgs.update({o.id: o for o in uow.organisations.list()})
    member = {m.key: m for m in MEMBERS}

    say("ingesting the four flows of three trades")
    start = today - dt.timedelta(days=110)
    bundles = [
        ("tier1", trade_bundle(
            prefix=f"{run:03d}-A", seller=member["tier1"], buyer=member["core"],
            carrier=member["logistics"], day0=start, terms_days=90, received_factor="1",
            lines=[("GEAR-HOUSING-Φ320", "500", "EA", "1200.00"),
                   ("DRIVE-SHAFT-S45C", "225", "EA", "1266.47")],
            scenario=Scenario.MANUFACTURING)),
        ("tier2", trade_bundle(
            prefix=f"{run:03d}-B", seller=member["tier2"], buyer=member["tier1"],
            carrier=member["logistics"], day0=today - dt.timedelta(days=30), terms_days=60,
            received_factor="1", lines=[("CAST-BLANK-HT250", "2000", "EA", "118.50")],
            scenario=Scenario.MANUFACTURING)),
        ("tier3", trade_bundle(
            prefix=f"{run:03d}-C", seller=member["tier3"], buyer=member["tier2"],
            carrier=member["logistics"], day0=today - dt.timedelta(days=20), terms_days=60,
            received_factor="0.6", lines=[("BOLT-M16-8.8", "50000", "EA", "1.20")],
            scenario=Scenario.MANUFACTURING)),
    ]  # fmt: skip
    buyers = {"tier1": "core", "tier2": "tier1", "tier3": "tier2"}
    for seller, bundle_raw in bundles:
        # each document submitted by the party whose evidence it is (docs/verification.md,
        # "Provenance"): the buyer its order and receipt advice, the carrier its events
        for submitter, raw in _by_issuer(bundle_raw, seller, buyers[seller]):
            outcomes = ingest.ingest_bytes(
                uow_factory=ctx.uow_factory, reader=ctx.reader_for(by_key[submitter].id),
                clock=ctx.clock, raw=raw, source=f"demo-{seller}-{submitter}.json",
                submitter_id=by_key[submitter].id,
            )  # fmt: skip
            refused = [o.errors for o in outcomes if o.status == "rejected"]
            if refused:
                raise RuntimeError(f"demo documents were refused: {refused}")
    ingest.anchor_pending(uow_factory=ctx.uow_factory, clock=ctx.clock, operator_id=ctx.operator_id)
    linking.link_documents(uow_factory=ctx.uow_factory)
    _relay(ctx)

    say("verifying the trades")
    issue_dates = [start + dt.timedelta(days=8), today, today]
    # This run's trades, found by their invoices (a killed earlier run may have left
    # documents that were linked into trades of their own just now).
    trade_ids = [_trade_of_invoice(ctx, f"INV-{run:03d}-{tag}") for tag in "ABC"]
    reports = [
        verify(uow_factory=ctx.uow_factory, trade_id=t, as_of=d)
        for t, d in zip(trade_ids, issue_dates, strict=True)
    ]
    report.trades = [_report_row(t, r) for t, r in zip(trade_ids, reports, strict=True)]

    say("issuing digital debt items")
    item_a = items.issue_item(
        uow_factory=ctx.uow_factory, ledger=ctx.ledger, clock=ctx.clock,
        trade_id=trade_ids[0], as_of=issue_dates[0], confirm=True,
    )  # fmt: skip
    item_b = items.issue_item(
        uow_factory=ctx.uow_factory, ledger=ctx.ledger, clock=ctx.clock,
        trade_id=trade_ids[1], as_of=today, confirm=False,
    )  # fmt: skip
    try:
        items.issue_item(
            uow_factory=ctx.uow_factory, ledger=ctx.ledger, clock=ctx.clock,
            trade_id=trade_ids[2], as_of=today, confirm=False,
        )  # fmt: skip
    except IssuanceRefusedError as exc:
        report.refusals.append(
            {"trade_id": exc.trade_id, "supplier": by_key["tier3"].name,
             "stage": "issuance", "reasons": exc.reasons}
        )  # fmt: skip
    _relay(ctx)

    say("passing parts of the tier-1 item up the chain")
    with ctx.uow_factory() as uow:
        first_holding = uow.items.holdings(item_a.id)[0]
    cny = 100  # minor units per yuan
    to_tier2 = items.transfer(
        uow_factory=ctx.uow_factory, holding_id=first_holding.id, amount=300_000 * cny,
        to_org_id=by_key["tier2"].id, actor_id=by_key["tier1"].id,
    )  # fmt: skip
    to_tier3 = items.transfer(
        uow_factory=ctx.uow_factory, holding_id=to_tier2.id, amount=50_000 * cny,
        to_org_id=by_key["tier3"].id, actor_id=by_key["tier2"].id,
    )  # fmt: skip
    for holding, frm, to in ((to_tier2, "tier1", "tier2"), (to_tier3, "tier2", "tier3")):
        report.transfers.append(
            {"item_id": item_a.id, "from": by_key[frm].name, "to": by_key[to].name,
             "amount": Money.from_minor(holding.amount, "CNY").plain(), "holding_id": holding.id}
        )  # fmt: skip
    _relay(ctx)

    say("tier 2 asks the bank to finance its part")
    pledge_day = issue_dates[0] + dt.timedelta(days=5)
    fin = financing.request_financing(
        uow_factory=ctx.uow_factory, holding_id=to_tier2.id,
        bank_id=by_key["bank"].id, amount=225_000 * cny, actor_id=by_key["tier2"].id,
        as_of=pledge_day, cold_start=ctx.cold_start, ledger=ctx.ledger,
    )  # fmt: skip
    # Tier 3 asks for more than the advance rate allows: the policy declines it.
    declined = financing.request_financing(
        uow_factory=ctx.uow_factory, holding_id=to_tier3.id,
        bank_id=by_key["bank"].id, amount=50_000 * cny, actor_id=by_key["tier3"].id,
        as_of=pledge_day, cold_start=ctx.cold_start, ledger=ctx.ledger,
    )  # fmt: skip
    _relay(ctx)
    for f in (fin, declined):
        decision = f.decision
        assert decision is not None
        report.financings.append(
            {"financing_id": f.id, "borrower": orgs[f.borrower_id].name,
             "bank": orgs[f.bank_id].name, "outcome": decision.outcome.value,
             "requested": Money.from_minor(f.requested, "CNY").plain(),
             "principal": Money.from_minor(f.principal, "CNY").plain(),
             "rate_bps": f.rate_bps, "start": f.start_date.isoformat(),
             "reasons": [{"code": r.code, "message": r.message} for r in decision.reasons]}
        )  # fmt: skip

    say("the core enterprise pays at maturity; the contract routes the money")
    half = item_a.face_value // 2
    for amount, day in (
        (half, item_a.maturity_date - dt.timedelta(days=30)),
        (item_a.face_value - half, item_a.maturity_date),
    ):
        repayment = items.pay(
            ledger=ctx.ledger,
            uow_factory=ctx.uow_factory, item_id=item_a.id, amount=amount, value_date=day,
            reference=f"CAMT-{run:03d}-{day.isoformat()}", payer_id=by_key["core"].id,
            method="debtor",
        )  # fmt: skip
        _relay(ctx)
        with ctx.uow_factory() as uow:
            op = [o for o in uow.outbox.for_subject(item_a.id) if o.kind.value == "repay"][-1]
        report.repayments.append(
            {"item_id": item_a.id, "amount": Money.from_minor(amount, "CNY").plain(),
             "value_date": day.isoformat(), "tx": op.tx_hash,
             "parts": [{"payee": orgs[p.payee_id].name, "kind": p.kind,
                        "amount": Money.from_minor(p.amount, "CNY").plain()}
                       for p in repayment.parts]}
        )  # fmt: skip

    say("an item on a locked token route settles at maturity by itself")
    report.settled_at_maturity = demo_settlement.settle_at_maturity(ctx, by_key, run, today)

    report.items = [_item_row(i, ctx, orgs) for i in (item_a, item_b)]
    summary = regulator_summary(uow_factory=ctx.uow_factory, as_of=today)
    report.regulator = {k: v.as_dict() for k, v in sorted(summary.items())}
    info = ctx.ledger.info()
    report.chain = {
        "chain_id": info.chain_id,
        "block_number": info.block_number,
        "contracts": dict(info.contracts),
    }
    return report
