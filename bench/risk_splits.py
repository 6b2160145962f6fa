"""Repeated train/test-file evaluation of the credit models (docs/risk-evaluation.md).

The issue's targets are measured on a held-out 30% of each dataset that is not in the shared
folder. This script comes as close as the shared files allow: for each seed it splits the
shared train file into a seeded, stratified, row-random 70/30 pair of files and runs exactly
what ``fourflow risk evaluate --dataset D --train TRAIN --test TEST`` runs (the model chosen by
an inner CV on TRAIN only). ``--thin S`` first keeps a seeded random share S of the file's
rows: on the accounts-receivable data this shows how the figure moves with the density of the
customers' histories (the real test rows see a denser ledger than any split of the train file).

Usage::

    python -m bench.risk_splits --dataset ar --seeds 10 [--thin 0.7] [--model best]

One JSON line per seed, then a summary line (mean, standard deviation, min, max).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from fourflow.risk import datasets
from fourflow.risk.evaluate import MODEL_CHOICES, evaluate

CREDIT = Path(__file__).resolve().parents[2] / "shared" / "data" / "credit"


def split_files(
    dataset: datasets.Dataset, source: Path, seed: int, thin: float, folder: Path
) -> tuple[Path, Path]:
    """A stratified row-random 70/30 split of ``source`` written as two files of its format."""
    if dataset == "german":
        lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
        header, rows = lines[0], lines[1:]
        frame = pd.DataFrame({"line": rows, "target": [r.split()[-1] for r in rows]})
    else:
        frame = pd.read_csv(source, dtype=str, keep_default_na=False)
    if thin < 1.0:
        frame = frame.sample(frac=thin, random_state=seed)
    target = {
        "german": lambda f: f["target"],
        "taiwan": lambda f: f["default payment next month"],
        "ar": lambda f: f["DaysLate"].astype(float) > 0,
    }[dataset](frame)
    train, test = train_test_split(frame, test_size=0.3, random_state=seed, stratify=target)
    paths = []
    for name, part in (("train", train), ("test", test)):
        path = folder / f"{dataset}-{seed}-{name}{source.suffix}"
        if dataset == "german":
            path.write_text(header + "".join(part["line"]), encoding="utf-8")
        else:
            part.to_csv(path, index=False)
        paths.append(path)
    return paths[0], paths[1]


def main(argv: list[str] | None = None) -> int:
    """Run the splits and print the JSON lines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=datasets.DATASETS, required=True)
    parser.add_argument("--seeds", type=int, default=10, help="split seeds 1..N")
    parser.add_argument("--thin", type=float, default=1.0, help="share of rows kept first")
    parser.add_argument("--model", choices=MODEL_CHOICES, default="best")
    parser.add_argument("--data", type=Path, default=CREDIT, help="the shared credit folder")
    args = parser.parse_args(argv)
    if not 0.0 < args.thin <= 1.0:
        parser.error(f"--thin must be in (0, 1], got {args.thin}")
    source = datasets.resolve(args.dataset, args.data)
    aucs: list[float] = []
    with tempfile.TemporaryDirectory(prefix="fourflow-splits-") as tmp:
        for seed in range(1, args.seeds + 1):
            started = time.perf_counter()
            train, test = split_files(args.dataset, source, seed, args.thin, Path(tmp))
            result = evaluate(args.dataset, train, test, model=args.model).as_json()
            aucs.append(result["auc"])
            line = {
                "dataset": args.dataset,
                "split_seed": seed,
                "thin": args.thin,
                "model": result["model"],
                "auc": result["auc"],
                "ks": result["ks"],
                "brier": result["brier"],
                "candidates": {k: v["auc"] for k, v in result["models"].items()},
                "inner_cv": result.get("selection", {}),
                "seconds": round(time.perf_counter() - started, 1),
            }
            print(json.dumps(line), flush=True)
    summary = {
        "dataset": args.dataset,
        "thin": args.thin,
        "splits": len(aucs),
        "auc_mean": round(statistics.fmean(aucs), 4),
        "auc_std": round(statistics.pstdev(aucs), 4),
        "auc_min": round(min(aucs), 4),
        "auc_max": round(max(aucs), 4),
        "splits_at_or_above": {
            "0.79": int(np.sum(np.array(aucs) >= 0.79)),
            "0.87": int(np.sum(np.array(aucs) >= 0.87)),
        },
    }
    print(json.dumps(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
