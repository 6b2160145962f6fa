"""``fourflow simulate``: write a synthetic supply network and its trades (docs/simulator.md)."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from fourflow.bootstrap import simulation_output
from fourflow.domain.scenarios import Scenario
from fourflow.entrypoints.cli.common import JsonOpt
from fourflow.entrypoints.cli.output import console, emit_json, err_console
from fourflow.simulation.generator import GENERATOR_VERSION, Simulation, SimulationParams


def run_simulation(params: SimulationParams, out: Path, *, show_progress: bool) -> dict[str, Any]:
    """Run the simulator into ``out``, write the manifest and return it (with the timing)."""
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with simulation_output(out) as sink:
        simulation = Simulation(params, sink)
        if show_progress:
            columns = (
                TextColumn("simulating"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("trades"),
                TimeRemainingColumn(),
            )
            with Progress(*columns, console=err_console, transient=True) as bar:
                task = bar.add_task("trades", total=params.trades)
                summary = simulation.run(lambda done: bar.update(task, completed=done))
        else:
            summary = simulation.run()
        manifest = {
            "generator": GENERATOR_VERSION,
            "parameters": params.as_json(),
            **summary,
            "documents_total": sink.written,
        }
        sink.manifest(manifest)
    seconds = time.perf_counter() - started
    return {
        **manifest,
        "seconds": round(seconds, 2),
        "documents_per_second": round(sink.written / seconds, 1) if seconds else None,
    }


def simulate(
    out: Annotated[Path, typer.Option(help="Output directory.")],
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same bytes.")] = 1,
    trades: Annotated[int, typer.Option(min=1, help="Number of trades.")] = 1000,
    scenario: Annotated[Scenario, typer.Option(help="Business scenario.")] = Scenario.MANUFACTURING,
    fraud_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of trades with an injected fraud.")
    ] = 0.05,
    start: Annotated[str, typer.Option(help="First order day (YYYY-MM-DD).")] = "2024-01-01",
    months: Annotated[int, typer.Option(min=1, help="Months of orders.")] = 12,
    tiers: Annotated[int, typer.Option(min=1, max=6, help="Supplier tiers.")] = 3,
    payment_stress: Annotated[
        float,
        typer.Option(
            min=0.1, max=5.0, help="Scale every payer's late-payment share (1 = calibrated)."
        ),
    ] = 1.0,
    no_progress: Annotated[bool, typer.Option("--no-progress", help="No progress bar.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Write a synthetic multi-tier supply network, its trades as documents, and fraud labels."""
    try:
        first = dt.date.fromisoformat(start)
    except ValueError:
        err_console.print(f"[red]error:[/red] --start {start!r} is not YYYY-MM-DD")
        raise typer.Exit(2) from None
    params = SimulationParams(
        seed=seed,
        trades=trades,
        scenario=scenario.value,
        fraud_rate=fraud_rate,
        start=first,
        months=months,
        tiers=tiers,
        payment_stress=payment_stress,
    )
    result = run_simulation(params, out, show_progress=not no_progress and not json_out)
    if json_out:
        emit_json(result)
        return
    console.print(
        f"wrote {result['documents_total']} documents of {result['trades']} trades "
        f"and {sum(result['labels'].values())} labels to {out} "
        f"in {result['seconds']} s ({result['documents_per_second']} documents/s)"
    )


def register(app: typer.Typer) -> None:
    """Add ``simulate`` to the ``fourflow`` app."""
    app.command()(simulate)
