"""CLI commands for debt items, warehouse receipts and the consortium (registered by main).

``fourflow item ...``, ``fourflow receipt ...``, ``fourflow token mint`` and ``fourflow
consortium init`` (docs/items-cli.md). Amounts are given as decimals in the item's currency and
shown both as decimal strings and minor units. Commands that queue chain operations relay them
before returning.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from fourflow.bootstrap import Platform
from fourflow.domain.errors import DomainValueError, FourFlowError
from fourflow.domain.money import Money
from fourflow.domain.settlement import RouteKind
from fourflow.entrypoints.cli import consortium_cmd, home_mode
from fourflow.entrypoints.cli.common import business_day, platform
from fourflow.entrypoints.cli.output import console, emit_json, err_console
from fourflow.services import (
    consortium,
    financing,
    items,
    onboarding,
    position,
    receipts,
    registration,
    relay,
)

item_app = typer.Typer(
    help="Digital debt items: issue, move, pledge, pay, inspect.", no_args_is_help=True
)
receipt_app = typer.Typer(
    help="Warehouse receipts: issue, pledge, sell (DvP), release.", no_args_is_help=True
)
token_app = typer.Typer(help="The settlement token (tokenised deposits).", no_args_is_help=True)
consortium_app = typer.Typer(
    help="The consortium's network: Besu QBFT files (init), a geth Clique dev network (up).",
    no_args_is_help=True,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]
AsOrg = Annotated[
    str,
    typer.Option(
        "--as",
        help="Acting organisation (USCC or id; demo and simulation homes).",
        callback=home_mode.as_org_callback,
    ),
]
DateOpt = Annotated[str | None, typer.Option(help="Business date YYYY-MM-DD (default today).")]


def register(app: typer.Typer) -> None:
    """Add the ``item``, ``receipt``, ``token`` and ``consortium`` commands to ``fourflow``."""
    app.add_typer(item_app, name="item")
    app.add_typer(receipt_app, name="receipt")
    app.add_typer(token_app, name="token")
    app.add_typer(consortium_app, name="consortium")
    consortium_cmd.register(consortium_app)


# --------------------------------------------------------------------------- helpers


def _org(p: Platform, ref: str) -> str:
    """The id of the organisation known as ``ref``."""
    return onboarding.org_id(uow_factory=p.uow_factory, ref=ref)


def _relay(p: Platform) -> list[tuple[str, str]]:
    """Relay queued chain ops; report refusals on stderr."""
    with p.chain_writer():  # one relay at a time beside the API and `fourflow worker`
        result = relay.relay(  # on PostgreSQL one relay per sender beside the workers
            uow_factory=p.uow_factory, ledger=p.require_contracts(), claims=p.relay_claims()
        )
    for op_id, reason in result.failed:
        err_console.print(f"[red]chain refused {op_id}:[/red] {reason}")
    return list(result.failed)


def _minor(amount: str, currency: str) -> int:
    """Minor units of a decimal amount in ``currency`` (refusing sub-minor precision)."""
    return Money.of(amount, currency).minor


def _amount(
    p: Platform, amount: str, *, item_id: str | None = None, holding_id: str | None = None
) -> Money:
    """``amount`` in the currency of an item, or of a holding's item."""
    return items.amount_of(
        uow_factory=p.uow_factory, amount=amount, item_id=item_id, holding_id=holding_id
    )


def _done(json_out: bool, data: dict[str, Any], message: str, failed: list[Any]) -> None:
    """Print the outcome; exit 1 when the chain refused an operation.

    A refused operation was undone in the store by the relay: the message then says so
    instead of the success message.
    """
    data["chain_refused"] = [list(f) for f in failed]
    # A command's own status (a financing's decision) stays unless the chain refused it.
    data["status"] = "refused" if failed else data.get("status", "done")
    if json_out:
        emit_json(data)
    elif failed:
        err_console.print("[red]refused:[/red] the chain refused it; nothing was recorded")
    else:
        console.print(message)
    if failed:
        raise typer.Exit(1)


def _run(action: Callable[[Platform], tuple[dict[str, Any], str]], json_out: bool) -> None:
    """Run a state-changing command: the action, then the relay, then the output."""
    with platform() as p:
        data, message = action(p)
        failed = _relay(p)
    _done(json_out, data, message, failed)


# --------------------------------------------------------------------------- item

RouteOpt = Annotated[
    str | None,
    typer.Option(
        "--route",
        help="The debtor's repayment route, locked with its confirmation: tokens or account "
        "(default: account at its account bank if it has an account, else tokens).",
    ),
]
RouteAccountOpt = Annotated[
    str | None, typer.Option("--route-account", help="Collection account (account routes).")
]


def _route_kind(text: str | None) -> RouteKind | None:
    if text is None:
        return None
    try:
        return RouteKind(text)
    except ValueError:
        raise DomainValueError(f"route kind {text!r} is not 'tokens' or 'account'") from None


@item_app.command("issue")
def item_issue(
    trade_id: Annotated[str, typer.Argument(help="The verified trade.")],
    confirm: Annotated[
        bool,
        typer.Option(
            help="The debtor signs a confirmation (demo and simulation homes).",
            callback=home_mode.acting_flag_callback,
        ),
    ] = False,
    route: RouteOpt = None,
    route_account: RouteAccountOpt = None,
    as_of: DateOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Issue the digital debt item of a verified trade's receivable (with --confirm the
    debtor's repayment route is locked on the chain with it)."""

    def act(p: Platform) -> tuple[dict[str, Any], str]:
        item = items.issue_item(
            uow_factory=p.uow_factory,
            ledger=p.require_contracts(),
            clock=p.clock,
            trade_id=trade_id,
            as_of=business_day(p, as_of),
            confirm=confirm,
            route=_route_kind(route),
            route_account=route_account,
        )
        view = items.describe_item(uow_factory=p.uow_factory, item_id=item.id)
        return view, f"issued {item.id}: {view['face_value']['amount']} {item.currency}"

    _run(act, json_out)


@item_app.command("split")
def item_split(holding_id: str, amount: str, as_org: AsOrg, json_out: JsonOpt = False) -> None:
    """Split AMOUNT off a holding into a new holding of the same holder."""

    def act(p: Platform) -> tuple[dict[str, Any], str]:
        minor = _amount(p, amount, holding_id=holding_id).minor
        child = items.split(
            uow_factory=p.uow_factory, holding_id=holding_id, amount=minor, actor_id=_org(p, as_org)
        )
        return {
            "holding_id": child.id,
            "parent_id": holding_id,
            "amount": amount,
            "minor": minor,
        }, f"new holding {child.id} of {amount}"

    _run(act, json_out)


@item_app.command("transfer")
def item_transfer(
    holding_id: str,
    amount: str,
    to: Annotated[str, typer.Option(help="Recipient (USCC or id).")],
    as_org: AsOrg,
    pays: Annotated[
        list[str] | None,
        typer.Option(help="The recipient's invoice this transfer pays (repeatable)."),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Pass AMOUNT of a holding to another member (e.g. the holder's own supplier); with
    --pays, the supplier's invoice(s) it pays, whose open receivable falls by AMOUNT."""

    def act(p: Platform) -> tuple[dict[str, Any], str]:
        minor = _amount(p, amount, holding_id=holding_id).minor
        child = items.transfer(
            uow_factory=p.uow_factory,
            holding_id=holding_id,
            amount=minor,
            to_org_id=_org(p, to),
            actor_id=_org(p, as_org),
            pays=pays or (),
            as_of=business_day(p, None),
        )
        return {
            "holding_id": child.id,
            "parent_id": holding_id,
            "to": child.holder_id,
            "amount": amount,
            "minor": minor,
            "pays": list(pays or ()),
        }, f"passed {amount} as {child.id}"

    _run(act, json_out)


@item_app.command("pledge")
def item_pledge(
    holding_id: str,
    bank: Annotated[str, typer.Option(help="The financing bank (USCC or id).")],
    amount: Annotated[str, typer.Option(help="Principal asked for.")],
    as_org: AsOrg,
    as_of: DateOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Ask a bank to finance a holding; approved, the whole holding is pledged and locked."""

    def act(p: Platform) -> tuple[dict[str, Any], str]:
        row = financing.finance(
            uow_factory=p.uow_factory,
            target=holding_id,
            bank=bank,
            amount=amount,
            holder=as_org,
            as_of=business_day(p, as_of),
            cold_start=p.cold_start,
            clock=p.clock,
        )
        fin, cur = row.financing, row.currency
        reasons = [
            {"code": r.code, "message": r.message}
            for r in (fin.decision.reasons if fin.decision else ())
        ]
        data: dict[str, Any] = {
            "financing_id": fin.id,
            "status": fin.status.value,
            "rate_bps": fin.rate_bps,
            "principal": items.money_view(fin.principal, cur),
            "reasons": reasons,
        }
        return data, f"{fin.status.value}: principal {data['principal']['amount']} {cur}"

    _run(act, json_out)


@item_app.command("pay")
def item_pay(
    item_id: str,
    amount: str,
    value_date: Annotated[str, typer.Option(help="Value date YYYY-MM-DD (not in the future).")],
    reference: Annotated[str, typer.Option(help="Bank reference (camt.054 entry reference).")],
    as_org: AsOrg,
    method: Annotated[str, typer.Option(help="attested (account bank), token, or debtor.")] = (
        "attested"
    ),
    json_out: JsonOpt = False,
) -> None:
    """Record a payment of an item; the contract routes it to banks first, then holders."""
    if method not in ("attested", "token", "debtor"):
        err_console.print(f"[red]error:[/red] --method {method!r}: attested, token or debtor")
        raise typer.Exit(2)

    def act(p: Platform) -> tuple[dict[str, Any], str]:
        paid = _amount(p, amount, item_id=item_id)
        cur = paid.currency
        repayment = items.pay(
            uow_factory=p.uow_factory,
            ledger=p.require_contracts(),
            item_id=item_id,
            amount=paid.minor,
            value_date=dt.date.fromisoformat(value_date),
            reference=reference,
            payer_id=_org(p, as_org),
            method=method,  # type: ignore[arg-type]
        )
        parts = [
            {
                "holding_id": x.holding_id,
                "payee_id": x.payee_id,
                "kind": x.kind,
                **items.money_view(x.amount, cur),
            }
            for x in repayment.parts
        ]
        data = {
            "payment_id": repayment.id,
            "item_id": item_id,
            **items.money_view(repayment.amount, cur),
            "parts": parts,
        }
        return data, f"paid {amount} {cur} on {item_id} in {len(parts)} parts"

    _run(act, json_out)


@item_app.command("list")
def item_list(as_org: AsOrg, json_out: JsonOpt = False) -> None:
    """What a member holds, owes, financed and has waiting for the chain."""
    with platform() as p:
        view = position.member_position(uow_factory=p.uow_factory, org_id=_org(p, as_org))
    if json_out:
        emit_json(view)
        return
    console.print(f"[bold]{view['member']}[/bold]")
    for h in view["holds"]:
        pledged = f", pledged to {h['pledged_to']}" if h["pledged_to"] else ""
        console.print(
            f"  holds {h['outstanding']['currency']} {h['outstanding']['amount']} of "
            f"{h['debtor']}'s item {h['item']} due {h['maturity']} (holding {h['holding']}"
            f"{pledged})"
        )
    for o in view["owes"]:
        console.print(
            f"  owes {o['outstanding']['currency']} {o['outstanding']['amount']} to the holders "
            f"of item {o['item']} (creditor {o['creditor']}) due {o['maturity']}"
        )
    for f in view["financed"]:
        console.print(
            f"  financing {f['request']} at {f['bank']}: {f['status']}, principal "
            f"{f['principal']['currency']} {f['principal']['amount']}"
        )
    for op in view["pending"]:
        console.print(f"  pending on the chain: {op['kind']} {op['subject']} ({op['status']})")
    if not any(view[k] for k in ("holds", "owes", "financed", "pending")):
        console.print("  nothing held, owed, financed or pending")


@item_app.command("show")
def item_show(item_id: str, json_out: JsonOpt = False) -> None:
    """Show an item: holdings with holder, value, pledge, and the settled amount per party."""
    with platform() as p:
        view = items.describe_item(uow_factory=p.uow_factory, item_id=item_id)
    if json_out:
        emit_json(view)
        return
    console.print(
        f"[bold]{view['item_id']}[/bold] {view['status']} ({view['basis']}) "
        f"{view['debtor']} owes {view['face_value']['amount']} "
        f"{view['face_value']['currency']}, due {view['maturity_date']}, "
        f"outstanding {view['outstanding']['amount']}"
    )
    for h in view["holdings"]:
        pledge = h["pledge"]
        lock = (
            (
                f" pledged to {pledge['bank']} ({pledge['status']}, principal "
                f"{pledge['principal']['amount']})"
            )
            if pledge
            else ""
        )
        waiting = "  [yellow](pending on chain)[/yellow]" if h["pending"] else ""
        console.print(
            f"  {h['holding_id']}  {h['holder']:<24} value {h['value']['amount']:>14}"
            f"  outstanding {h['outstanding']['amount']:>14}{lock}{waiting}"
        )
    for row in view["settled_by_party"]:
        console.print(f"  settled to {row['party']}: {row['amount']}")
    for op in view["pending"]:
        console.print(f"  [yellow]pending:[/yellow] {op['op']} {op['op_id']} ({op['status']})")


@item_app.command("history")
def item_history(item_id: str, json_out: JsonOpt = False) -> None:
    """Show an item's provenance: who held what, from whom, with the chain transactions."""
    with platform() as p:
        events = items.item_history(uow_factory=p.uow_factory, item_id=item_id)
    if json_out:
        emit_json(events)
        return
    for e in events:
        amount = f" {e['amount']['amount']}" if "amount" in e else ""
        to = f" -> {e['to']}" if e.get("to") else ""
        console.print(f"{e['op']:<18} {e['by']}{to}{amount}  [{e['status']}] {e['tx'] or ''}")


@item_app.command("registration")
def item_registration(
    item_id: str,
    fill: Annotated[list[str] | None, typer.Option("--set", help="KEY=VALUE for a field.")] = None,
    csv_out: Annotated[bool, typer.Option("--csv", help="Print CSV.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """The 中登网 receivable-pledge registration record of each pledge of an item."""
    overrides = dict(part.split("=", 1) for part in fill or [] if "=" in part)
    with platform() as p:
        records = registration.pledge_registrations(
            uow_factory=p.uow_factory, item_id=item_id, overrides=overrides
        )
    if csv_out:
        sys.stdout.write(registration.to_csv(records))
    elif json_out:
        emit_json([r.as_dict() for r in records])
    else:
        for r in records:
            console.print(f"[bold]pledge of {r.holding_id}[/bold] (financing {r.financing_id})")
            for f in r.fields:
                value = f.value if f.value is not None else "[yellow]<member fills>[/yellow]"
                console.print(f"  {f.label}: {value}")
        if not records:
            console.print("no pledges to register")


@item_app.command("confirm")
def item_confirm(
    item_id: str,
    as_org: AsOrg,
    route: RouteOpt = None,
    route_account: RouteAccountOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """The debtor confirms an item issued on the evidence (EIP-712 signature); its repayment
    route is locked on the chain with it, unless it locked one already."""

    def act(p: Platform) -> tuple[dict[str, Any], str]:
        items.confirm_item(
            uow_factory=p.uow_factory,
            ledger=p.require_contracts(),
            clock=p.clock,
            item_id=item_id,
            actor_id=_org(p, as_org),
            route=_route_kind(route),
            route_account=route_account,
        )
        return {"item_id": item_id, "basis": "confirmed"}, f"{item_id} confirmed"

    _run(act, json_out)


@item_app.command("dispute")
def item_dispute(
    item_id: str,
    as_org: AsOrg,
    reason: Annotated[str | None, typer.Option(help="Why the debtor disputes it.")] = None,
    withdraw: Annotated[bool, typer.Option(help="The debtor withdraws its dispute.")] = False,
    resolution: Annotated[str | None, typer.Option(help="Operator: the resolution.")] = None,
    as_of: DateOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Dispute an item (debtor) on a business day, withdraw the dispute, or resolve it (operator).

    The dispute's day (``--as-of``, default today) is what the risk engine counts it from.
    """

    def act(p: Platform) -> tuple[dict[str, Any], str]:
        actor = _org(p, as_org)
        if withdraw or resolution:
            if as_of:
                raise DomainValueError(
                    "--as-of dates a dispute; a withdrawal or resolution has none"
                )
            items.lift_dispute(
                uow_factory=p.uow_factory,
                item_id=item_id,
                actor_id=actor,
                resolution=resolution,
                operator_id=p.operator_id(),
            )
            return {"item_id": item_id, "disputed": False}, f"dispute of {item_id} lifted"
        if not reason:
            raise DomainValueError("give --reason, --withdraw or --resolution")
        day = business_day(p, as_of)
        digest = items.dispute_item(
            uow_factory=p.uow_factory, item_id=item_id, reason=reason, actor_id=actor, on=day
        )
        view = {"item_id": item_id, "disputed": True, "reason_hash": digest, "on": day.isoformat()}
        return view, f"{item_id} disputed on {day}"

    _run(act, json_out)


@item_app.command("merge")
def item_merge(
    holding_id: str, other_holding_id: str, as_org: AsOrg, json_out: JsonOpt = False
) -> None:
    """Merge OTHER_HOLDING_ID into HOLDING_ID (same item, same holder, neither pledged)."""

    def act(p: Platform) -> tuple[dict[str, Any], str]:
        merged = items.merge(
            uow_factory=p.uow_factory,
            holding_id=holding_id,
            other_holding_id=other_holding_id,
            actor_id=_org(p, as_org),
        )
        return {"holding_id": merged.id, "minor": merged.amount}, f"merged into {merged.id}"

    _run(act, json_out)


@item_app.command("dilute")
def item_dilute(
    item_id: str,
    amount: str,
    credit_note: Annotated[str, typer.Option(help="The credit note's number.")],
    as_org: AsOrg,
    json_out: JsonOpt = False,
) -> None:
    """Dilute an item by a credit note: the creditor proposes, then the debtor accepts."""

    def act(p: Platform) -> tuple[dict[str, Any], str]:
        minor = _amount(p, amount, item_id=item_id).minor
        done = items.dilute(
            uow_factory=p.uow_factory,
            item_id=item_id,
            amount=minor,
            credit_note=credit_note,
            actor_id=_org(p, as_org),
        )
        if done.state == "proposed":
            return {
                "item_id": item_id,
                "state": "proposed",
                "credit_note_hash": done.credit_note_hash,
                "minor": minor,
            }, "dilution proposed; the debtor must accept"
        return {
            "item_id": item_id,
            "state": "applied",
            "holdings": [{"holding_id": h, "minor": m} for h, m in done.plan],
        }, "diluted"

    _run(act, json_out)


@item_app.command("release")
def item_release(holding_id: str, as_org: AsOrg, json_out: JsonOpt = False) -> None:
    """The pledgee bank releases a pledged holding (repaid off chain or waived)."""

    def act(p: Platform) -> tuple[dict[str, Any], str]:
        items.release_pledge(
            uow_factory=p.uow_factory, holding_id=holding_id, actor_id=_org(p, as_org)
        )
        return {"holding_id": holding_id, "pledge": "released"}, f"{holding_id} released"

    _run(act, json_out)


@item_app.command("default")
def item_default(
    item_id: str, as_org: AsOrg, as_of: DateOpt = None, json_out: JsonOpt = False
) -> None:
    """Mark an overdue item defaulted: pledged holdings pass to their banks."""

    def act(p: Platform) -> tuple[dict[str, Any], str]:
        held = items.mark_default(
            uow_factory=p.uow_factory,
            item_id=item_id,
            actor_id=_org(p, as_org),
            as_of=business_day(p, as_of),
            operator_id=p.operator_id(),
        )
        data = {
            "item_id": item_id,
            "status": "defaulted",
            "foreclosed": [{"holding_id": h.id, "bank_id": h.holder_id} for h in held],
        }
        return data, f"{item_id} defaulted; {len(held)} holding(s) passed to banks"

    _run(act, json_out)


@item_app.command("buyback")
def item_buyback(holding_id: str, as_org: AsOrg, json_out: JsonOpt = False) -> None:
    """The pledgor buys a foreclosed holding back from its bank (in settlement tokens)."""

    def act(p: Platform) -> tuple[dict[str, Any], str]:
        h = items.buy_back(
            uow_factory=p.uow_factory, holding_id=holding_id, actor_id=_org(p, as_org)
        )
        return {"holding_id": h.id, "holder_id": h.holder_id}, f"{h.id} bought back"

    _run(act, json_out)


@item_app.command("cancel")
def item_cancel(item_id: str, as_org: AsOrg, json_out: JsonOpt = False) -> None:
    """Approve cancelling an item; cancelled once both creditor and debtor approve."""

    def act(p: Platform) -> tuple[dict[str, Any], str]:
        done = items.cancel_item(
            uow_factory=p.uow_factory, item_id=item_id, actor_id=_org(p, as_org)
        )
        message = "cancelled" if done else "approved; waiting for the other party"
        return {"item_id": item_id, "cancelled": done}, message

    _run(act, json_out)


# --------------------------------------------------------------------------- token


@token_app.command("mint")
def token_mint(
    amount: str,
    to: Annotated[str, typer.Option(help="Member credited (USCC or id).")],
    as_org: AsOrg,
    currency: Annotated[str, typer.Option(help="The token's currency.")] = "CNY",
    reference: Annotated[
        str | None,
        typer.Option(
            help="The bank's statement reference of the deposit minted against (each once; "
            "a fresh one when omitted)."
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """A bank mints settlement tokens against deposits it holds (its deposit attestation)."""

    def act(p: Platform) -> tuple[dict[str, Any], str]:
        minor = _minor(amount, currency)
        op = items.mint_tokens(
            uow_factory=p.uow_factory, bank_id=_org(p, as_org), to_org_id=_org(p, to),
            amount=minor, deposit_reference=reference,
        )  # fmt: skip
        deposit = getattr(op.command, "deposit_reference", "")
        data = {**items.money_view(minor, currency), "op_id": op.op_id, "deposit": deposit}
        return data, f"minted {amount} {currency} against deposit {deposit}"

    _run(act, json_out)


# --------------------------------------------------------------------------- receipts


@receipt_app.command("issue")
def receipt_issue(
    holder: Annotated[str, typer.Option(help="The depositor (USCC or id).")],
    goods: Annotated[str, typer.Option(help="Goods code (GTIN or SKU).")],
    description: Annotated[str, typer.Option(help="What the lot is.")],
    quantity: Annotated[int, typer.Option(help="Quantity in whole units.")],
    unit: Annotated[str, typer.Option(help="UN/ECE Rec 20 unit code (TNE, KGM, EA).")],
    location: Annotated[str, typer.Option(help="Warehouse location code.")],
    evidence: Annotated[str, typer.Option(help="EPCIS receiving event (id or fingerprint).")],
    as_org: AsOrg,
    json_out: JsonOpt = False,
) -> None:
    """The warehouse issues a receipt for a lot it holds."""

    def act(p: Platform) -> tuple[dict[str, Any], str]:
        rid = receipts.issue_receipt(
            uow_factory=p.uow_factory,
            warehouse_id=_org(p, as_org),
            holder_id=_org(p, holder),
            goods_code=goods,
            description=description,
            quantity=quantity,
            unit=unit,
            location=location,
            evidence=evidence,
        )
        return {"receipt_id": rid}, f"issued receipt {rid}"

    _run(act, json_out)


@receipt_app.command("pledge")
def receipt_pledge(
    receipt_id: str,
    bank: Annotated[str, typer.Option(help="The pledgee bank.")],
    amount: Annotated[str, typer.Option(help="What the holder owes the bank.")],
    as_org: AsOrg,
    currency: Annotated[str, typer.Option()] = "CNY",
    as_of: DateOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """The holder pledges a receipt to a bank (inventory financing); the bank's robot decides
    now (a referral waits for `fourflow finance decide`)."""

    def act(p: Platform) -> tuple[dict[str, Any], str]:
        minor = _minor(amount, currency)
        fin = receipts.pledge_receipt(
            uow_factory=p.uow_factory,
            receipt_id=receipt_id,
            bank_id=_org(p, bank),
            amount=minor,
            actor_id=_org(p, as_org),
            as_of=business_day(p, as_of),
        )
        data = {"receipt_id": receipt_id, "financing": fin.id, "status": fin.status.value,
                **items.money_view(minor, currency)}  # fmt: skip
        if fin.status.value == "referred":
            why = "; ".join(r.message for r in fin.decision.reasons) if fin.decision else ""
            return data, f"referred to a person (goods financing {fin.id}): {why}"
        return data, f"pledged (goods financing {fin.id})"

    _run(act, json_out)


@receipt_app.command("release")
def receipt_release(
    receipt_id: str,
    as_org: AsOrg,
    quantity: Annotated[int | None, typer.Option(help="Warehouse: units released.")] = None,
    evidence: Annotated[str | None, typer.Option(help="Warehouse: EPCIS shipping event.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Holder: ask for goods (--quantity); warehouse: confirm goods released (--quantity,
    --evidence); bank: release its pledge."""

    def act(p: Platform) -> tuple[dict[str, Any], str]:
        actor = _org(p, as_org)
        if quantity is not None and evidence is None:
            receipts.request_release(
                uow_factory=p.uow_factory, receipt_id=receipt_id, quantity=quantity, actor_id=actor
            )
            return {"receipt_id": receipt_id, "requested": quantity}, "release requested"
        if quantity is not None:
            receipts.confirm_release(
                uow_factory=p.uow_factory,
                receipt_id=receipt_id,
                quantity=quantity,
                evidence=evidence or "",
                actor_id=actor,
            )
            return {"receipt_id": receipt_id, "released": quantity}, "goods released"
        receipts.release_receipt_pledge(
            uow_factory=p.uow_factory, receipt_id=receipt_id, actor_id=actor
        )
        return {"receipt_id": receipt_id, "pledge": "released"}, "pledge released"

    _run(act, json_out)


@receipt_app.command("sell")
def receipt_sell(
    receipt_id: str,
    buyer: Annotated[str, typer.Option(help="The buyer (USCC or id).")],
    quantity: Annotated[int, typer.Option(help="Units sold.")],
    price: Annotated[str, typer.Option(help="Total price in settlement tokens.")],
    as_org: AsOrg,
    currency: Annotated[str, typer.Option()] = "CNY",
    json_out: JsonOpt = False,
) -> None:
    """Offer units of a receipt to a buyer; title passes as the buyer pays (DvP)."""

    def act(p: Platform) -> tuple[dict[str, Any], str]:
        sale, buyer_receipt = receipts.sell_receipt(
            uow_factory=p.uow_factory,
            receipt_id=receipt_id,
            buyer_id=_org(p, buyer),
            quantity=quantity,
            price=_minor(price, currency),
            actor_id=_org(p, as_org),
        )
        return {"sale_id": sale, "buyer_receipt_id": buyer_receipt}, f"offered as {sale}"

    _run(act, json_out)


@receipt_app.command("pay")
def receipt_pay(
    receipt_id: str,
    sale_id: str,
    amount: str,
    as_org: AsOrg,
    currency: Annotated[str, typer.Option()] = "CNY",
    json_out: JsonOpt = False,
) -> None:
    """The buyer pays (part of) a sale in settlement tokens; title passes in the same tx."""

    def act(p: Platform) -> tuple[dict[str, Any], str]:
        minor = _minor(amount, currency)
        receipts.pay_for_receipt(
            uow_factory=p.uow_factory,
            receipt_id=receipt_id,
            sale_id=sale_id,
            amount=minor,
            actor_id=_org(p, as_org),
        )
        return {"sale_id": sale_id, **items.money_view(minor, currency)}, "paid"

    _run(act, json_out)


@receipt_app.command("show")
def receipt_show(receipt_id: str, json_out: JsonOpt = False) -> None:
    """Show a receipt's state on the chain and its history."""
    with platform() as p:
        view = receipts.describe_receipt(
            uow_factory=p.uow_factory, ledger=p.require_contracts(), receipt_id=receipt_id
        )
    if json_out:
        emit_json(view)
    else:
        console.print(view)


# --------------------------------------------------------------------------- consortium


@consortium_app.command("init")
def consortium_init(
    members: Annotated[Path, typer.Option(help="Members file (JSON or YAML).")],
    out: Annotated[Path, typer.Option(help="Output directory (new or empty).")] = Path(
        "consortium"
    ),
    json_out: JsonOpt = False,
) -> None:
    """Write a Besu QBFT network: genesis, node keys, enodes, permissioning, configs, README."""
    try:
        spec = consortium.load_members(members)
        files = consortium.init_consortium(spec=spec, out_dir=out)
    except (FourFlowError, OSError) as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    data = {
        "directory": str(files.directory),
        "chain_id": files.chain_id,
        "extra_data": files.extra_data,
        "validators": [
            {"name": v.member.name, "uscc": v.member.uscc, "address": v.address, "enode": v.enode}
            for v in files.validators
        ],
        "files": list(files.files),
    }
    if json_out:
        emit_json(data)
        return
    console.print(f"wrote a {len(files.validators)}-validator QBFT network to {files.directory}")
    for v in files.validators:
        console.print(f"  {v.member.name:<24} {v.address}  {v.member.host}:{v.member.p2p_port}")
    console.print(f"next: read {files.directory / 'README.md'}")
