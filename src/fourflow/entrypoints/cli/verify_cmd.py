"""`fourflow verify`: verify trades, anchor the reports, show findings and fraud signals."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer

from fourflow.entrypoints.cli.common import JsonOpt, platform, relay_now
from fourflow.entrypoints.cli.output import console, emit_json, err_console
from fourflow.services.fraud import fraud_signals_by_trade
from fourflow.services.verification import TradeVerification, evaluate_fraud, verify_many


def verification_row(v: TradeVerification, fraud_signals: list[str]) -> dict[str, Any]:
    """One trade's verification as the JSON line ``fourflow verify --json`` prints."""
    r = v.report
    return {
        "trade_id": r.trade_id,
        "order_numbers": list(v.order_numbers),
        "invoice_numbers": list(v.invoice_numbers),
        "seller": v.seller,
        "buyer": v.buyer,
        "status": r.status.value,
        "score": r.score,
        "findings": [
            {
                "code": f.code,
                "severity": f.severity.value,
                "message": f.message,
                "documents": list(f.documents),
            }
            for f in r.findings
        ],
        "fraud_signals": fraud_signals,
        "report_hash": v.report_hash,
        "payment_state": v.payment_state,
    }


def verify(
    trade_id: Annotated[str | None, typer.Argument(help="The trade to verify.")] = None,
    all_trades: Annotated[bool, typer.Option("--all", help="Verify every trade.")] = False,
    as_of: Annotated[str | None, typer.Option(help="Verification date (YYYY-MM-DD).")] = None,
    eval_labels: Annotated[
        Path | None,
        typer.Option(
            "--eval",
            help="Simulator labels.jsonl: print precision and recall of the fraud signals.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Verify trades: status, score, findings with codes, and fraud signals (docs/verification.md).

    Each report is stored and its hash registered on the chain (once per distinct report).
    """
    if not trade_id and not all_trades:
        err_console.print("give a TRADE_ID or --all")
        raise typer.Exit(2)
    with platform() as p:
        day = dt.date.fromisoformat(as_of) if as_of else p.clock.today()
        ids = None if all_trades else [str(trade_id)]
        results = verify_many(uow_factory=p.uow_factory, trade_ids=ids, as_of=day)
        chain = p.operator() is not None and bool(p.ledger.contracts)
        if any(v.anchor_op for v in results) and chain:
            relay_now(p)
        ledger = p.require_contracts() if chain else None
        signals = fraud_signals_by_trade(uow_factory=p.uow_factory, as_of=day, ledger=ledger)
        evaluation = (
            evaluate_fraud(
                uow_factory=p.uow_factory,
                signals=signals,
                labels_text=eval_labels.read_text(encoding="utf-8"),
            )
            if eval_labels is not None
            else None
        )
    if evaluation is not None:
        _print_evaluation(evaluation, json_out=json_out)
        return
    for v in results:
        row = verification_row(v, signals.get(v.report.trade_id, []))
        if json_out:
            emit_json(row, line=True)
            continue
        r = v.report
        console.print(
            f"{r.trade_id}: [bold]{r.status.value}[/bold] score {r.score}, payment "
            f"{v.payment_state} "
            f"({v.seller} → {v.buyer}; orders {', '.join(v.order_numbers) or '-'}; "
            f"invoices {', '.join(v.invoice_numbers) or '-'})"
        )
        for f in r.findings:
            console.print(f"  {f.severity.value:<7} {f.code}: {f.message}")
        if row["fraud_signals"]:
            console.print(f"  [red]fraud signals:[/red] {', '.join(row['fraud_signals'])}")


def _print_evaluation(evaluation: dict[str, Any], *, json_out: bool) -> None:
    if json_out:
        emit_json(evaluation)
        return
    console.print(
        f"{evaluation['trades']} trades, {evaluation['labelled_trades']} labelled; clean flagged "
        f"{evaluation['clean_flagged']} ({evaluation['clean_flagged_rate']:.2%})"
    )
    for code, row in evaluation["by_type"].items():
        console.print(
            f"  {code:<24} labelled {row['labelled']:>5} flagged {row['flagged']:>5} "
            f"precision {row['precision']:.3f} recall {row['recall']:.3f}"
        )
    console.print("targets met" if evaluation["met"] else "[red]targets not met[/red]")


def register(app: typer.Typer) -> None:
    """Add the ``verify`` command to the ``fourflow`` app."""
    app.command()(verify)
