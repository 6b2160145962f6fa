"""CLI commands for the credit review robot (docs/risk.md), registered by main.

``fourflow finance request|decide|list|show|registrations|policy`` and the platform side of
``fourflow risk``: ``train``, ``models``, ``monitor``, ``alerts``, ``value``.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from fourflow.bootstrap import Platform
from fourflow.domain.errors import DomainValueError
from fourflow.domain.financing import Decision, Financing, GoodsFinancing
from fourflow.domain.money import Money
from fourflow.entrypoints.cli import home_mode
from fourflow.entrypoints.cli.common import JsonOpt, business_day, platform, relay_now
from fourflow.entrypoints.cli.output import console, emit_json
from fourflow.services import credit, financing, onboarding, registration

finance_app = typer.Typer(
    help="Financing requests and the credit review robot.", no_args_is_help=True
)
policy_app = typer.Typer(help="A bank's financing product policy.", no_args_is_help=True)
finance_app.add_typer(policy_app, name="policy")

AsOrg = Annotated[
    str | None,
    typer.Option(
        "--as",
        help="Requesting holder (USCC or id; demo and simulation homes); default: the creditor.",
        callback=home_mode.as_org_callback,
    ),
]
DateOpt = Annotated[str | None, typer.Option(help="Business date YYYY-MM-DD (default today).")]


def register(app: typer.Typer, risk_app: typer.Typer) -> None:
    """Add ``finance`` to ``fourflow`` and the platform's model commands to ``risk``."""
    app.add_typer(finance_app, name="finance")
    risk_app.command("train")(risk_train)
    risk_app.command("models")(risk_models)
    risk_app.command("monitor")(risk_monitor)
    risk_app.command("alerts")(risk_alerts)
    risk_app.command("value")(risk_value)
    risk_app.command("price")(risk_price)
    risk_app.command("value-receipt")(risk_value_receipt)


def _money(minor: int | None, currency: str) -> str | None:
    return None if minor is None else Money.from_minor(minor, currency).plain()


def decision_view(decision: Decision | None, currency: str) -> dict[str, Any] | None:
    """A decision as JSON: outcome, reasons, model, PD, EL, value, input hash, who decided."""
    if decision is None:
        return None
    return {
        "outcome": decision.outcome.value,
        "reasons": [{"code": r.code, "message": r.message} for r in decision.reasons],
        "principal": _money(decision.principal, currency),
        "rate_bps": decision.rate_bps,
        "policy_version": decision.policy_version,
        "model_version": decision.model_version,
        "pd": decision.pd,
        "score": decision.score,
        "expected_loss": _money(decision.expected_loss, currency),
        "value": _money(decision.value, currency),
        "input_hash": decision.input_hash,
        "decided_by": decision.decided_by,
        "note": decision.note,
        "review": decision_view(decision.review, currency),
    }


def financing_view(fin: Financing | GoodsFinancing, currency: str) -> dict[str, Any]:
    """A financing request as JSON: ``kind`` receivable (item and holding) or goods (the
    warehouse receipt, goods code and units valued)."""
    asset: dict[str, Any] = (
        {"receipt": fin.receipt_id, "goods_code": fin.goods_code, "quantity": fin.quantity,
         "item": None, "holding": None}
        if isinstance(fin, GoodsFinancing)
        else {"item": fin.item_id, "holding": fin.holding_id}
    )  # fmt: skip
    return {
        "request": fin.id,
        "kind": fin.kind.value,
        "status": fin.status.value,
        **asset,
        "borrower": fin.borrower_id,
        "bank": fin.bank_id,
        "currency": currency,
        "requested": _money(fin.requested, currency),
        "principal": _money(fin.principal, currency),
        "rate_bps": fin.rate_bps,
        "decision": decision_view(fin.decision, currency),
    }


def _print_financing(view: dict[str, Any]) -> None:
    d = view["decision"] or {}
    console.print(
        f"[bold]{view['request']}[/bold] {view['status'].upper()}  requested "
        f"{view['requested']} {view['currency']}, principal {view['principal']}, "
        f"rate {view['rate_bps'] / 100:.2f}%"
    )
    if d and d["pd"] is None:  # a goods financing: valued, not scored
        console.print(
            f"  {view['kind']}: receipt {view.get('receipt')}, {view.get('quantity')} units of "
            f"{view.get('goods_code')} valued {d['value']}  decided by {d['decided_by']}"
        )
    elif d:
        console.print(
            f"  model {d['model_version']}  PD {d['pd']:.2%}  EL {d['expected_loss']}  "
            f"value {d['value']}  decided by {d['decided_by']}"
        )
        for r in d["reasons"]:
            console.print(f"  [cyan]{r['code']}[/cyan] {r['message']}")
        console.print(f"  input hash {d['input_hash']}")


@finance_app.command("request")
def finance_request(
    target: Annotated[str, typer.Argument(help="Debt item id (or a holding id).")],
    bank: Annotated[str, typer.Option(help="The bank asked (USCC or id).")],
    amount: Annotated[str, typer.Option(help="Advance asked for, in the item's currency.")],
    as_org: AsOrg = None,
    as_of: DateOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Ask a bank to finance an item (the holder's holding); the review robot decides now.

    The decision is stored first and its chain work (the invoices' presentation, the pledge)
    relayed at once: the financing is shown as it stands after that relay (``failed`` with
    the chain's reason, and exit 1, when the chain refused it)."""
    with platform() as p:
        row = financing.finance(
            uow_factory=p.uow_factory,
            target=target,
            bank=bank,
            amount=amount,
            holder=as_org,
            as_of=business_day(p, as_of),
            cold_start=p.cold_start,
            ledger=p.require_contracts(),
            clock=p.clock,
        )
        relay_now(p)
        row = financing.get_financing(uow_factory=p.uow_factory, financing_id=row.financing.id)
    view = financing_view(row.financing, row.currency)
    if row.chain is not None:
        view["chain"] = {"state": row.chain.state, "refusal": row.chain.refusal}
    if json_out:
        emit_json(view)
    else:
        _print_financing(view)
        if row.chain is not None and row.chain.state != "applied":
            console.print(f"  chain: {row.chain.state}  {row.chain.refusal or ''}".rstrip())
    if row.chain is not None and row.chain.state == "refused":
        raise typer.Exit(1)


@finance_app.command("decide")
def finance_decide(
    request: Annotated[str, typer.Argument(help="The referred request (financing id).")],
    approve: Annotated[bool, typer.Option("--approve/--decline", help="The decision.")],
    reason: Annotated[str, typer.Option(help="Why (recorded with the decision).")],
    by: Annotated[str, typer.Option(help="Who decides (the credit officer).")] = "officer",
    as_of: DateOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """A credit officer decides a referred request, with a recorded reason."""
    with platform() as p:
        row = financing.decide(
            uow_factory=p.uow_factory,
            financing_id=request,
            approve=approve,
            reason=reason,
            person=by,
            as_of=business_day(p, as_of),
        )
        relay_now(p)
    view = financing_view(row.financing, row.currency)
    if json_out:
        emit_json(view)
    else:
        _print_financing(view)


@finance_app.command("list")
def finance_list(
    status: Annotated[str | None, typer.Option(help="Only this status (referred ...).")] = None,
    bank: Annotated[str | None, typer.Option(help="Only this bank's (USCC or id).")] = None,
    kind: Annotated[
        str | None, typer.Option(help="Only this kind: receivable, or goods (warehouse receipts).")
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Financing requests, receivable and goods, oldest first: borrower, bank and debtor (for
    goods: the warehouse) by name, amounts in the asset's currency, rate, PD and who decided."""
    with platform() as p:
        found = financing.list_financings(
            uow_factory=p.uow_factory, status=status, bank=bank, kind=kind
        )
    rows = [
        {**financing_view(r.financing, r.currency), "borrower_name": r.borrower_name,
         "bank_name": r.bank_name, "debtor_name": r.debtor_name}
        for r in found
    ]  # fmt: skip
    if json_out:
        emit_json(rows)
        return
    table = Table(title="Financing requests (融资申请)")
    for col in ("request", "kind", "status", "borrower", "bank", "debtor", "requested",
                "principal", "rate", "PD", "by"):  # fmt: skip
        table.add_column(col)
    for r in rows:
        d = r["decision"] or {}
        table.add_row(
            r["request"], r["kind"], r["status"], r["borrower_name"], r["bank_name"],
            r["debtor_name"],
            f"{r['currency']} {r['requested']}", f"{r['currency']} {r['principal']}",
            f"{r['rate_bps'] / 100:.2f}%", f"{d.get('pd') or 0:.2%}", str(d.get("decided_by")),
        )  # fmt: skip
    console.print(table)


@finance_app.command("show")
def finance_show(request: str, json_out: JsonOpt = False) -> None:
    """One request with its decision, reasons and the robot's review."""
    with platform() as p:
        row = financing.get_financing(uow_factory=p.uow_factory, financing_id=request)
    view = financing_view(row.financing, row.currency)
    if json_out:
        emit_json(view)
    else:
        _print_financing(view)


@finance_app.command("registrations")
def finance_registrations(
    bank: Annotated[str | None, typer.Option(help="Only this bank's (USCC or id).")] = None,
    kind: Annotated[
        str | None, typer.Option(help="Only this kind: receivable, or goods (warehouse receipts).")
    ] = None,
    fill: Annotated[list[str] | None, typer.Option("--set", help="KEY=VALUE for a field.")] = None,
    csv_out: Annotated[bool, typer.Option("--csv", help="Print CSV, one row per field.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """The 中登网 registration record of every financing's pledge: receivable pledges
    (应收账款质押) and warehouse-receipt pledges (仓单质押), approved, active, repaid or
    defaulted; fields FourFlow cannot know are marked for the filing bank to fill."""
    bad = [part for part in fill or [] if "=" not in part]
    if bad:
        raise DomainValueError(f"--set takes KEY=VALUE, not {bad[0]!r}")
    overrides = dict(part.split("=", 1) for part in fill or [])
    with platform() as p:
        records = registration.every_registration(
            uow_factory=p.uow_factory, bank=bank, kind=kind, overrides=overrides
        )
    if csv_out:
        sys.stdout.write(registration.to_csv(records))
        return
    if json_out:
        emit_json([r.as_dict() for r in records])
        return
    for r in records:
        asset = f"receipt {r.receipt_id}" if r.receipt_id else f"holding {r.holding_id}"
        console.print(
            f"[bold]{r.value('registration.type')}[/bold] {asset} (financing {r.financing_id})"
        )
        for f in r.fields:
            value = f.value if f.value is not None else "[yellow]<member fills>[/yellow]"
            console.print(f"  {f.label}: {value}")
    if not records:
        console.print("no pledges to register")


@policy_app.command("show")
def policy_show(
    bank: Annotated[str, typer.Argument(help="The bank (USCC or id).")],
) -> None:
    """Print a bank's product policy as JSON."""
    with platform() as p:
        emit_json(financing.product_policy(uow_factory=p.uow_factory, bank=bank).as_json())


@policy_app.command("set")
def policy_set(
    bank: Annotated[str, typer.Argument(help="The bank (USCC or id).")],
    file: Annotated[Path, typer.Argument(help="Policy JSON (fields of `policy show`).")],
) -> None:
    """Set a bank's product policy from a JSON file (fields left out keep their defaults)."""
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DomainValueError(f"{file}: not a readable JSON policy ({exc})") from None
    if not isinstance(data, dict):
        raise DomainValueError(f"{file}: a policy is a JSON object")
    with platform() as p:
        try:
            policy = financing.set_product_policy(uow_factory=p.uow_factory, bank=bank, fields=data)
        except DomainValueError as exc:
            raise DomainValueError(f"{file}: {exc}") from None
    emit_json(policy.as_json())


# --------------------------------------------------------------------------- risk (platform)


def _model_row(m: Any) -> dict[str, Any]:
    metrics = {k: v for k, v in m.metrics.items() if k != "reference_pd"}
    return {
        "id": m.id, "kind": m.kind, "role": m.role, "as_of": m.as_of.isoformat(),
        "training_rows": m.training_rows, "data_hash": m.data_hash, "metrics": metrics,
        "note": m.note,
    }  # fmt: skip


def risk_train(
    as_of: DateOpt = None,
    seed: Annotated[int, typer.Option(help="Random seed of the fits.")] = 0,
    json_out: JsonOpt = False,
) -> None:
    """Retrain on the outcomes known so far; promote a challenger only if it beats the champion."""
    with platform() as p:
        report = credit.train(uow_factory=p.uow_factory, as_of=business_day(p, as_of), seed=seed,
                              cold_start=p.cold_start)  # fmt: skip
    data: dict[str, Any] = {
        "as_of": report.as_of.isoformat(), "rows": report.rows, "bad": report.bad,
        "registered": [_model_row(m) for m in report.registered],
        "champion": report.champion, "promoted": report.promoted, "reason": report.reason,
    }  # fmt: skip
    if json_out:
        emit_json(data)
        return
    console.print(f"{report.rows} outcomes ({report.bad} bad) known on {report.as_of}")
    for m in data["registered"]:
        mt = m["metrics"]
        console.print(
            f"  {m['id']} {m['role']}: AUC {mt['auc']:.3f} KS {mt['ks']:.3f} "
            f"Brier {mt['brier']:.4f} (out of time, {mt['rows']} rows)"
        )
    console.print(f"champion: {report.champion} — {report.reason}")


def risk_models(json_out: JsonOpt = False) -> None:
    """The model registry: versions, roles, validation figures."""
    with platform() as p, p.uow_factory() as uow:
        rows = [_model_row(m) for m in uow.risk_models.list()]
    if json_out:
        emit_json(rows)
        return
    table = Table(title="Model registry (模型登记)")
    for col in ("id", "role", "as of", "rows", "AUC", "KS", "Brier", "note"):
        table.add_column(col)
    for r in rows:
        mt = r["metrics"]
        table.add_row(
            r["id"], r["role"], r["as_of"], str(r["training_rows"]), f"{mt['auc']:.3f}",
            f"{mt['ks']:.3f}", f"{mt['brier']:.4f}", r["note"] or "",
        )  # fmt: skip
    console.print(table)


def risk_monitor(
    as_of: DateOpt = None,
    window: Annotated[int, typer.Option(help="Days of recent invoices scored.")] = 90,
    bank: Annotated[str | None, typer.Option(help="Only this bank's figures (name, id).")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Measure the champion now (PSI, realised AUC, approval rate) and raise alerts."""
    with platform() as p:
        report = credit.monitor(
            uow_factory=p.uow_factory,
            as_of=business_day(p, as_of),
            cold_start=p.cold_start,
            window_days=window,
        )
    names = report.names
    figures = dict(report.figures)
    banks = {
        b: {**v, "name": names.get(b, b)}
        for b, v in dict(figures.pop("banks", {})).items()
        if bank is None or bank in (b, names.get(b))
    }
    alerts = [
        _alert_row(a) for a in report.alerts if bank is None or a.bank_id in banks
    ]  # fmt: skip
    data: dict[str, Any] = {
        "as_of": report.as_of.isoformat(), "model": report.model_id,
        "figures": {**figures, "banks": banks}, "alerts": alerts,
    }  # fmt: skip
    if json_out:
        emit_json(data)
        return
    for line in monitor_lines(report.model_id, report.as_of, figures, banks):
        console.print(line)
    for a in alerts:
        console.print(f"[red]{a['severity'].upper()}[/red] {a['kind']}: {a['message']}")


def monitor_lines(
    model: str, day: dt.date, figures: dict[str, Any], banks: dict[str, dict[str, Any]]
) -> list[str]:
    """Monitoring figures in words: counts, percentages, amounts in CNY, banks by name."""

    def pct(x: Any) -> str:
        return "n/a" if x is None else f"{float(x):.1%}"

    lines = [f"model {model} on {day}"]
    lines.append(
        f"  scored {figures.get('population', 0)} invoices of the window "
        f"(reference {figures.get('reference', 0)}); mean PD now "
        f"{pct(figures.get('mean_pd_now'))}, at training {pct(figures.get('mean_pd_reference'))}"
    )
    if "psi" in figures:
        lines.append(f"  population stability (PSI) {figures['psi']:.3f}")
    if "auc" in figures:
        lines.append(f"  realised AUC {figures['auc']:.3f} on {figures.get('outcomes')} outcomes")
    else:
        lines.append(f"  {figures.get('outcomes', 0)} outcomes known since training")
    lines.append(
        f"  {figures.get('decisions', 0)} decisions, approval rate "
        f"{pct(figures.get('approval_rate'))}"
    )
    for v in banks.values():
        lines.append(
            f"  {v['name']}: {v['decisions']} decisions, {v['approved']} approved "
            f"({pct(v['approval_rate'])}), expected loss CNY {v['expected_loss'] / 100:,.2f}, "
            f"realised loss CNY {v['realised_loss'] / 100:,.2f}"
        )
    return lines


def _alert_row(a: Any) -> dict[str, Any]:
    return {
        "id": a.id, "kind": a.kind, "severity": a.severity, "metric": a.metric,
        "value": a.value, "threshold": a.threshold, "model": a.model_id, "bank": a.bank_id,
        "as_of": a.as_of.isoformat(), "message": a.message,
    }  # fmt: skip


def risk_alerts(json_out: JsonOpt = False) -> None:
    """Monitoring alerts raised so far (what banks and the regulator see)."""
    with platform() as p, p.uow_factory() as uow:
        rows = [_alert_row(a) for a in uow.risk_alerts.list()]
    if json_out:
        emit_json(rows)
        return
    for a in rows:
        console.print(f"{a['as_of']} {a['severity'].upper()} {a['kind']}: {a['message']}")
    if not rows:
        console.print("no alerts")


def _optional_org_id(p: Platform, key: str | None) -> str | None:
    """The id of the organisation known by ``key`` (USCC or other key), or None without one."""
    if not key:
        return None
    return onboarding.org_id(uow_factory=p.uow_factory, ref=key)


def risk_value(
    item: Annotated[str, typer.Argument(help="Debt item id.")],
    bank: Annotated[str | None, typer.Option(help="Value at this bank's rate and LGD.")] = None,
    as_of: DateOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """The value of a receivable today: face less expected dilution and loss, discounted."""
    with platform() as p:
        bank_id = _optional_org_id(p, bank)
        valuation, vector = credit.value_item(
            uow_factory=p.uow_factory,
            item_id=item,
            as_of=business_day(p, as_of),
            cold_start=p.cold_start,
            bank_id=bank_id,
        )
    data = {
        "item": item, "face": round(valuation.face, 2),
        "expected_dilution": round(valuation.expected_dilution, 2),
        "expected_loss": round(valuation.expected_loss, 2),
        "discount": round(valuation.discount, 2), "value": round(valuation.value, 2),
        "pd": round(valuation.pd, 6), "lgd": valuation.lgd, "days": valuation.days,
        "features": dict(vector),
    }  # fmt: skip
    if json_out:
        emit_json(data)
    else:
        console.print(
            f"{item}: face {data['face']:,.2f} − dilution {data['expected_dilution']:,.2f} − "
            f"expected loss {data['expected_loss']:,.2f} − discount {data['discount']:,.2f} "
            f"= [bold]{data['value']:,.2f}[/bold] (PD {data['pd']:.2%}, LGD {data['lgd']:.0%}, "
            f"{data['days']} days)"
        )


def risk_price(
    goods_code: Annotated[str, typer.Argument(help="Goods code (as on the warehouse receipt).")],
    price: Annotated[float, typer.Argument(help="Price per unit, major units.")],
    currency: Annotated[str, typer.Option(help="ISO 4217 currency.")] = "CNY",
    as_of: DateOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Record a price from the feed; receipts of these goods are revalued at it."""
    with platform() as p:
        new = credit.set_price(uow_factory=p.uow_factory, goods_code=goods_code, price=price,
                               currency=currency, as_of=business_day(p, as_of))  # fmt: skip
    data = {"goods_code": new.goods_code, "price": new.price, "currency": new.currency,
            "as_of": new.as_of.isoformat(), "previous": new.previous}  # fmt: skip
    if json_out:
        emit_json(data)
    else:
        console.print(f"{goods_code}: {new.price:,.2f} {currency} (was {new.previous})")


def risk_value_receipt(
    receipt: Annotated[str, typer.Argument(help="Warehouse receipt id.")],
    bank: Annotated[str | None, typer.Option(help="Apply this bank's haircut.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Pledged goods' value now: quantity in the warehouse × latest price × (1 − haircut)."""
    with platform() as p:
        bank_id = _optional_org_id(p, bank)
        valuation, price = credit.value_receipt(uow_factory=p.uow_factory,
                                                ledger=p.require_contracts(),
                                                receipt_id=receipt, bank_id=bank_id)  # fmt: skip
    data = {
        "receipt": receipt, "goods_code": price.goods_code, "quantity": valuation.quantity,
        "price": valuation.price, "currency": price.currency,
        "price_as_of": price.as_of.isoformat(), "haircut": valuation.haircut,
        "market_value": round(valuation.market_value, 2), "value": round(valuation.value, 2),
    }  # fmt: skip
    if json_out:
        emit_json(data)
    else:
        console.print(
            f"{receipt}: {valuation.quantity:g} × {valuation.price:,.2f} {price.currency} = "
            f"{valuation.market_value:,.2f}; after a {valuation.haircut:.0%} haircut "
            f"[bold]{valuation.value:,.2f}[/bold]"
        )
