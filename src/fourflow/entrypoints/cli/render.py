"""Rich renderings of the demo report and the regulator's figures."""

from __future__ import annotations

from typing import Any

from rich.panel import Panel
from rich.table import Table

from fourflow.entrypoints.cli.output import console
from fourflow.services.demo import DemoReport


def _amounts(values: dict[str, str]) -> str:
    return ", ".join(f"{v} {c}" for c, v in values.items()) or "-"


def short(text: str | None, keep: int = 10) -> str:
    """A long id or hash shortened for a table: head and tail."""
    if not text:
        return "-"
    return text if len(text) <= 2 * keep + 1 else f"{text[:keep]}…{text[-6:]}"


_REGULATOR_ROWS = (
    ("trades", "trades 贸易", None),
    ("verified", "verified 验真通过", None),
    ("failed", "failed 验真未通过", None),
    ("items_issued", "items issued 债项", "issued_amount"),
    ("financed", "financed 融资", "financed_amount"),
    (None, "outstanding 未结清", "outstanding_amount"),
    ("settled", "settled 已结清", "settled_amount"),
    ("overdue", "overdue 逾期", "overdue_amount"),
    ("declined", "declined 拒绝", None),
    ("referred", "referred 待人工审批", None),
    ("risk_alerts", "risk alerts 风险预警", None),
)


def regulator_table(data: dict[str, dict[str, Any]]) -> Table:
    """The regulator's figures: one row per measure, one column per scenario."""
    scenarios = list(data)
    table = Table("measure", *scenarios, title="Regulator view (监管视图)")
    for count_key, label, amount_key in _REGULATOR_ROWS:
        cells = []
        for scenario in scenarios:
            fig = data[scenario]
            parts = [str(fig[count_key])] if count_key else []
            if amount_key:
                parts.append(_amounts(fig[amount_key]))
            cells.append(" · ".join(parts))
        table.add_row(label, *cells)
    if all("term_distribution" in data[s] for s in scenarios):
        table.add_row("items by term, days (77号)", *(
            " · ".join(f"{b}: {n}" for b, n in data[s]["term_distribution"].items())
            for s in scenarios
        ))  # fmt: skip
        table.add_row("days to pay (settled items)", *(
            "-" if (d := data[s]["days_to_pay"])["mean"] is None
            else f"mean {d['mean']} · over 60: {d['over_60']} of {d['settled']}"
            for s in scenarios
        ))  # fmt: skip
    return table


def render_demo(report: DemoReport) -> None:
    """Print the demo's story: parties, trades, items, financing, routing, regulator."""
    console.print(
        Panel.fit(
            f"FourFlow demo run {report.run} — business date {report.as_of} — "
            f"chain {report.chain['chain_id']} at block {report.chain['block_number']}",
            style="bold",
        )
    )
    parties = Table("party", "English", "USCC", "roles", "chain account", title="Parties (参与方)")
    for p in report.parties:
        parties.add_row(
            p["name"], p["name_en"], p["uscc"], ", ".join(p["roles"]), short(p["address"])
        )
    console.print(parties)

    trades = Table(
        "trade", "status", "score", "findings", title="Trades and verification (贸易验真)"
    )
    for t in report.trades:
        findings = "\n".join(f"{f['severity']} {f['code']}: {f['message']}" for f in t["findings"])
        colour = {"verified": "green", "partial": "yellow"}.get(t["status"], "red")
        trades.add_row(
            t["trade_id"], f"[{colour}]{t['status']}[/{colour}]", str(t["score"]), findings or "-"
        )
    console.print(trades)

    items = Table(
        "item",
        "debtor → creditor",
        "face value",
        "maturity",
        "basis",
        "status",
        "issue tx (block)",
        title="Digital debt items (数字债项)",
    )
    for i in report.items:
        items.add_row(
            short(i["item_id"]), f"{i['debtor']} → {i['creditor']}",
            f"{i['face_value']} {i['currency']}", i["maturity"], i["basis"], i["status"],
            f"{short(i['issue_tx'])} ({i['block']})",
        )  # fmt: skip
    console.print(items)

    transfers = Table("from", "to", "amount", title="Passed up the chain (多级流转)")
    for t in report.transfers:
        transfers.add_row(t["from"], t["to"], f"{t['amount']} CNY")
    console.print(transfers)

    fin = Table(
        "borrower",
        "bank",
        "outcome",
        "requested",
        "principal",
        "rate",
        "reasons",
        title="Financing (融资)",
    )
    for f in report.financings:
        colour = "green" if f["outcome"] == "approve" else "red"
        fin.add_row(
            f["borrower"], f["bank"], f"[{colour}]{f['outcome']}[/{colour}]", f["requested"],
            f["principal"], f"{f['rate_bps'] / 100:.2f}%",
            "\n".join(f"{r['code']}: {r['message']}" for r in f["reasons"]),
        )  # fmt: skip
    console.print(fin)

    for r in report.refusals:
        console.print(
            f"[red]Refused[/red] trade {short(r['trade_id'])} of {r['supplier']} at {r['stage']}: "
            + "; ".join(r["reasons"])
        )

    for rep in report.repayments:
        table = Table(
            "payee",
            "part",
            "amount",
            title=f"Repayment {rep['amount']} CNY on {rep['value_date']}, tx {short(rep['tx'])}",
        )
        for part in rep["parts"]:
            table.add_row(part["payee"], part["kind"], part["amount"])
        console.print(table)

    due = report.settled_at_maturity
    if due:
        table = Table(
            "payee", "part", "amount",
            title=f"Settled at maturity by itself: item {short(due['item_id'])} "
            f"{due['collected']} CNY on {due['value_date']} (locked {due['route']} route, "
            f"settle-due run twice: {due['action']}, then {due['second_run']})",
        )  # fmt: skip
        for part in due["parts"]:
            table.add_row(part["payee"], part["kind"], part["amount"])
        console.print(table)

    console.print(regulator_table(report.regulator))
