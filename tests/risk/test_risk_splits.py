"""``bench/risk_splits.py``: the row-random train/test files it hands to ``evaluate``."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.risk_splits import split_files

from fourflow.risk import datasets

CREDIT = Path(__file__).resolve().parents[3] / "shared" / "data" / "credit"


@pytest.mark.parametrize("dataset", ["german", "ar"])
def test_split_files_are_a_stratified_70_30_partition_the_loaders_read(
    dataset: datasets.Dataset, tmp_path: Path
) -> None:
    if not CREDIT.is_dir():
        pytest.fail(f"{CREDIT} is missing: the shared data must sit beside the project")
    source = datasets.resolve(dataset, CREDIT)
    train, test = split_files(dataset, source, 7, 1.0, tmp_path)
    header, *rows = source.read_text(encoding="utf-8").splitlines()
    parts = [p.read_text(encoding="utf-8").splitlines() for p in (train, test)]
    assert all(p[0] == header for p in parts)
    n_train, n_test = len(parts[0]) - 1, len(parts[1]) - 1
    assert n_train + n_test == len(rows) and abs(n_test - 0.3 * len(rows)) <= 1
    if dataset == "german":
        assert sorted(parts[0][1:] + parts[1][1:]) == sorted(rows)
    _, y_train, _ = datasets.load(dataset, train)
    _, y_test, _ = datasets.load(dataset, test)
    _, y_all, _ = datasets.load(dataset, source)
    assert abs(y_train.mean() - y_all.mean()) < 0.01 and abs(y_test.mean() - y_all.mean()) < 0.02
    # the same seed gives the same split; --thin keeps that share of the rows first
    (tmp_path / "again").mkdir()
    again, _ = split_files(dataset, source, 7, 1.0, tmp_path / "again")
    assert again.read_bytes() == train.read_bytes()
    thin_train, thin_test = split_files(dataset, source, 7, 0.5, tmp_path)
    thin_rows = sum(
        len(p.read_text(encoding="utf-8").splitlines()) - 1 for p in (thin_train, thin_test)
    )
    assert thin_rows == round(0.5 * len(rows))
