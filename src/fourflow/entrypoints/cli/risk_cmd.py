"""``fourflow risk``: evaluate the credit models on public data (docs/risk-evaluation.md)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from fourflow.entrypoints.cli.common import JsonOpt
from fourflow.entrypoints.cli.output import console, emit_json, err_console

# The ML stack (pandas, scikit-learn, LightGBM, optbinning) loads when a command runs, not when
# `fourflow` starts; tests check these match fourflow.risk.datasets / fourflow.risk.evaluate.
DATASETS = ("taiwan", "german", "ar")
MODEL_CHOICES = ("best", "scorecard", "lightgbm", "logistic", "blend", "ensemble")

risk_app = typer.Typer(
    help="Credit models: train, monitor, value, evaluate on public data.", no_args_is_help=True
)


@risk_app.callback()
def _risk() -> None:
    """Credit models: train, monitor, value, evaluate on public data."""


@risk_app.command("evaluate")
def evaluate_cmd(
    dataset: Annotated[str, typer.Option(help=f"One of {', '.join(DATASETS)}.")],
    train: Annotated[
        Path, typer.Option(help="Train file (or the shared credit folder).", exists=True)
    ],
    test: Annotated[
        Path | None, typer.Option(help="Test file: fit on train, report on test.", exists=True)
    ] = None,
    cv: Annotated[
        int | None, typer.Option(min=2, help="K-fold CV of the train file (default 5).")
    ] = None,
    holdout: Annotated[
        float | None,
        typer.Option(min=0.01, max=0.99, help="Hold out this share of the train file."),
    ] = None,
    repeats: Annotated[int, typer.Option(min=1, help="Repeats of the CV.")] = 1,
    seed: Annotated[int, typer.Option(help="Seed of every split and fit.")] = 20250601,
    model: Annotated[
        str, typer.Option(help=f"One of {', '.join(MODEL_CHOICES)} (best: inner CV on train).")
    ] = "best",
    json_out: JsonOpt = False,
) -> None:
    """Fit and measure AUC, KS and Brier on held-out rows; "best" picks by inner CV on train."""
    if dataset not in DATASETS:
        err_console.print(f"[red]error:[/red] --dataset must be one of {', '.join(DATASETS)}")
        raise typer.Exit(2)
    if model not in MODEL_CHOICES:
        err_console.print(f"[red]error:[/red] --model must be one of {', '.join(MODEL_CHOICES)}")
        raise typer.Exit(2)
    if sum(x is not None for x in (test, cv, holdout)) > 1:
        err_console.print("[red]error:[/red] give at most one of --test, --cv and --holdout")
        raise typer.Exit(2)
    from fourflow.risk.datasets import DatasetError  # noqa: PLC0415
    from fourflow.risk.evaluate import evaluate  # noqa: PLC0415

    started = time.perf_counter()
    # each step fits every candidate once (an inner fold of "best", or a split): on standard
    # error, gone when done (docs/risk-evaluation.md gives the times)
    with Progress(
        TextColumn("fitting the models"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TimeRemainingColumn(), console=err_console, transient=True,
        disable=json_out,
    ) as bar:  # fmt: skip
        task = bar.add_task("fits", total=None)
        try:
            result = evaluate(
                dataset,  # type: ignore[arg-type]
                train,
                test,
                cv,
                seed,
                model,  # type: ignore[arg-type]
                holdout=holdout,
                repeats=repeats,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        except (DatasetError, ValueError) as exc:
            bar.stop()
            err_console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from None
    seconds = round(time.perf_counter() - started, 1)
    if json_out:
        emit_json({**result.as_json(), "seconds": seconds})
        return
    table = Table(title=f"{dataset}: {result.protocol} (seed {seed}, {seconds} s)")
    for column in ("model", "AUC", "± AUC", "KS", "Brier", "inner-CV AUC"):
        table.add_column(column, justify="left" if column == "model" else "right")
    for name, f in result.models.items():
        inner = result.selection.get(name)
        table.add_row(
            f"[bold]{name}[/bold]" if name == result.model else name,
            f"{f.auc:.4f}",
            f"{f.auc_std:.4f}" if result.cv else "",
            f"{f.ks:.4f}",
            f"{f.brier:.4f}",
            f"{inner:.4f}" if inner is not None else "",
        )
    console.print(table)
    chosen = f" (chosen per split: {', '.join(result.choices)})" if result.choices else ""
    console.print(
        f"{result.model}{chosen}: AUC {result.auc:.4f}, KS {result.ks:.4f}, "
        f"Brier {result.brier:.4f}; fitted on {result.n_train} rows, {result.n_test} held out"
    )
