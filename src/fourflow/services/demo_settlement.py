"""The demo's payment on its day (issue 20): an item on a locked token route settles at
maturity by itself.

The core enterprise buys once more from tier 1 on 30-day terms that end today; the item is
issued with the debtor's confirmation, which locks its token route on the chain (its
settlement tokens approved to DebtItem); its
bank mints the deposit, and the daily job (``settle_due``) collects the item on its maturity
day through the Repayment contract with nobody typing a payment in. Run again, it pays nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from fourflow.domain.money import Money
from fourflow.domain.parties import Organisation
from fourflow.domain.scenarios import Scenario
from fourflow.domain.settlement import RouteKind
from fourflow.services import demo, ingest, items, linking, relay, settlement
from fourflow.services.verification import verify

if TYPE_CHECKING:
    from fourflow.services.demo import DemoContext

TERMS_DAYS = 30


def _relay(ctx: DemoContext) -> None:
    result = relay.relay(uow_factory=ctx.uow_factory, ledger=ctx.ledger)
    if result.failed:
        raise RuntimeError(f"chain refused operations: {result.failed}")


def settle_at_maturity(
    ctx: DemoContext, by_key: dict[str, Organisation], run: int, today: dt.date
) -> dict[str, Any]:
    """Issue an item maturing ``today``, lock its token route, fund it and run the job twice."""
    member = {m.key: m for m in demo.MEMBERS}
    day0 = today - dt.timedelta(days=6 + TERMS_DAYS)  # the invoice falls due today
    raw = demo.trade_bundle(
        prefix=f"{run:03d}-D", seller=member["tier1"], buyer=member["core"],
        carrier=member["logistics"], day0=day0, terms_days=TERMS_DAYS, received_factor="1",
        lines=[("BEARING-6312-2RS", "400", "EA", "312.50")], scenario=Scenario.MANUFACTURING,
    )  # fmt: skip
    for submitter, part in demo._by_issuer(raw, "tier1", "core"):
        ingest.ingest_bytes(
            uow_factory=ctx.uow_factory, reader=ctx.reader_for(by_key[submitter].id),
            clock=ctx.clock, raw=part, source=f"demo-maturity-{submitter}.json",
            submitter_id=by_key[submitter].id,
        )  # fmt: skip
    ingest.anchor_pending(uow_factory=ctx.uow_factory, clock=ctx.clock, operator_id=ctx.operator_id)
    linking.link_documents(uow_factory=ctx.uow_factory)
    trade_id = demo._trade_of_invoice(ctx, f"INV-{run:03d}-D")
    issued_on = day0 + dt.timedelta(days=8)
    verify(uow_factory=ctx.uow_factory, trade_id=trade_id, as_of=issued_on)
    item = items.issue_item(
        uow_factory=ctx.uow_factory, ledger=ctx.ledger, clock=ctx.clock, trade_id=trade_id,
        as_of=issued_on, confirm=True, route=RouteKind.TOKENS,
    )  # fmt: skip  # the debtor's confirmation locks its token route on the chain with it
    _relay(ctx)
    core, bank = by_key["core"], by_key["bank"]
    items.mint_tokens(uow_factory=ctx.uow_factory, bank_id=bank.id, to_org_id=core.id,
                      amount=item.face_value)  # fmt: skip
    _relay(ctx)
    runs: list[settlement.ItemOutcome | None] = []
    for _ in range(6):  # the daily job, run twice the same day: it pays once
        report = settlement.settle_due(
            uow_factory=ctx.uow_factory, ledger=ctx.ledger, operator_id=ctx.operator_id
        )
        _relay(ctx)
        outcome = next((o for o in report.outcomes if o.item_id == item.id), None)
        if outcome is not None and outcome.action == "deferred":
            continue  # the debtor's other item due today was collected first (a rerun)
        runs.append(outcome)
        if len(runs) == 2:
            break
    with ctx.uow_factory() as uow:
        payments = uow.repayments.for_item(item.id)
        orgs = {o.id: o.name for o in uow.organisations.list()}
        op = uow.outbox.get(runs[0].op_id) if runs[0] and runs[0].op_id else None
    first, second = (*runs, None, None)[:2]
    return {
        "item_id": item.id,
        "maturity": item.maturity_date.isoformat(),
        "route": RouteKind.TOKENS.value,
        "collected": Money.from_minor(first.amount if first else 0, item.currency).plain(),
        "action": first.action if first else "none",
        "second_run": second.action if second else "none",
        "payments": len(payments),
        "value_date": payments[0].value_date.isoformat() if payments else None,
        "tx": op.tx_hash if op else None,
        "parts": [
            {"payee": orgs.get(p.payee_id, p.payee_id), "kind": p.kind,
             "amount": Money.from_minor(p.amount, item.currency).plain()}
            for r in payments for p in r.parts
        ],
    }  # fmt: skip
