"""``fourflow risk evaluate`` and the dataset loaders on the real public credit data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from fourflow.entrypoints.cli import risk_cmd
from fourflow.entrypoints.cli.risk_cmd import risk_app
from fourflow.risk import datasets
from fourflow.risk import evaluate as evaluate_module
from fourflow.risk.evaluate import CANDIDATES, evaluate
from fourflow.risk.models import fit_scorecard

CREDIT = Path(__file__).resolve().parents[3] / "shared" / "data" / "credit"


@pytest.fixture(scope="module")
def credit() -> Path:
    if not CREDIT.is_dir():
        pytest.fail(f"{CREDIT} is missing: the shared data must sit beside the project")
    return CREDIT


def run(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(risk_app, ["evaluate", *args, "--json"])
    assert result.exit_code == 0, result.output
    loaded: dict[str, Any] = json.loads(result.output)
    return loaded


def write_lines(path: Path, header: str, lines: list[str]) -> Path:
    path.write_text(header + "".join(lines), encoding="utf-8")
    return path


def split_file(source: Path, tmp_path: Path, first: int, second: int) -> tuple[Path, Path]:
    """The header and ``first`` rows, then the header and the next ``second`` rows."""
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    train = write_lines(tmp_path / f"train-{source.name}", header, rows[:first])
    test = write_lines(tmp_path / f"test-{source.name}", header, rows[first : first + second])
    return train, test


def test_german_scorecard_in_3_fold_cv(credit: Path) -> None:
    out = run("--dataset", "german", "--train", str(credit / datasets.GERMAN_FILE),
              "--cv", "3", "--model", "scorecard")  # fmt: skip
    assert out["dataset"] == "german" and out["model"] == "scorecard"
    assert out["n_train"] == 700 and out["cv"] == 3
    assert 0.72 < out["auc"] < 0.95
    assert 0.3 < out["ks"] < 0.8
    assert 0.10 < out["brier"] < 0.21  # the base rate alone gives 0.21
    assert set(out["models"]) == {"scorecard"}


def test_taiwan_lightgbm_on_a_small_train_test_split(credit: Path, tmp_path: Path) -> None:
    train, test = split_file(credit / datasets.TAIWAN_FILE, tmp_path, 3000, 1500)
    out = run("--dataset", "taiwan", "--train", str(train), "--test", str(test),
              "--model", "lightgbm")  # fmt: skip
    assert (out["n_train"], out["n_test"], out["cv"]) == (3000, 1500, None)
    assert out["auc"] > 0.72
    assert out["brier"] < 0.16


def test_ar_logistic_in_grouped_cv(credit: Path) -> None:
    out = run("--dataset", "ar", "--train", str(credit), "--cv", "3", "--model", "logistic")
    assert "group (customer)" in out["protocol"]
    assert out["auc"] > 0.78


def test_ar_test_file_takes_its_history_from_the_train_file(credit: Path, tmp_path: Path) -> None:
    train, test = split_file(credit / datasets.AR_FILE, tmp_path, 1200, 526)
    alone, _, _ = datasets.load_ar(test)
    with_history, y, _ = datasets.load_ar(test, history=(train,))
    assert len(with_history) == len(y) == 526
    assert (with_history["hist_count"] >= alone["hist_count"]).all()
    assert (with_history["hist_count"] > alone["hist_count"]).any()
    out = run("--dataset", "ar", "--train", str(train), "--test", str(test), "--model", "lightgbm")
    assert out["auc"] > 0.78


def test_best_model_is_chosen_without_the_test_labels(
    credit: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the scorecard's out-of-fold calibration does not change its AUC: skip it to save time
    fast = dict(evaluate_module.FITTERS)
    fast["scorecard"] = lambda f, y, s, seed: fit_scorecard(f, y, s, seed=seed, calibration_folds=0)
    monkeypatch.setattr(evaluate_module, "FITTERS", fast)
    train, test = split_file(credit / datasets.GERMAN_FILE, tmp_path, 490, 210)
    lines = test.read_text(encoding="utf-8").splitlines(keepends=True)
    flipped_rows = [
        line.rstrip("\n")[:-1] + ("2" if line.rstrip("\n").endswith("1") else "1") + "\n"
        for line in lines[1:]
    ]
    flipped = write_lines(tmp_path / "flipped.data", lines[0], flipped_rows)
    a = evaluate("german", train, test, seed=3)
    b = evaluate("german", train, flipped, seed=3)
    assert set(a.selection) == set(CANDIDATES)
    assert a.model in CANDIDATES and a.choices == (a.model,)
    # the choice and the inner-CV figures ignore the test labels; the test figures do not
    assert (a.model, a.selection) == (b.model, b.selection)
    assert a.auc > 0.7
    assert b.auc == pytest.approx(1 - a.auc)
    assert a.auc == max(a.models[a.model].auc, a.auc)


def test_cli_refuses_bad_arguments(credit: Path) -> None:
    runner = CliRunner()
    bad_dataset = runner.invoke(risk_app, ["evaluate", "--dataset", "x", "--train", str(credit)])
    assert bad_dataset.exit_code == 2 and "taiwan, german, ar" in bad_dataset.output
    both = runner.invoke(
        risk_app,
        ["evaluate", "--dataset", "german", "--train", str(credit), "--cv", "3",
         "--holdout", "0.3"],
    )  # fmt: skip
    assert both.exit_code == 2
    missing = runner.invoke(
        risk_app, ["evaluate", "--dataset", "german", "--train", str(credit / "nope.data")]
    )
    assert missing.exit_code == 2


def test_loaders_name_the_file_and_line_of_a_problem(credit: Path, tmp_path: Path) -> None:
    lines = (credit / datasets.GERMAN_FILE).read_text(encoding="utf-8").splitlines(keepends=True)
    broken = write_lines(tmp_path / "german.data", lines[0], [lines[1], "A11 6 A34\n"])
    with pytest.raises(datasets.DatasetError, match=r"german\.data: line 3: 3 fields"):
        datasets.load_german(broken)
    with pytest.raises(datasets.DatasetError, match="file not found"):
        datasets.load_taiwan(tmp_path / "none.csv")
    taiwan = (credit / datasets.TAIWAN_FILE).read_text(encoding="utf-8").splitlines(keepends=True)
    bad_cell = taiwan[2].replace(",", ",x", 1)
    path = write_lines(tmp_path / "taiwan.csv", taiwan[0], [taiwan[1], bad_cell])
    with pytest.raises(datasets.DatasetError, match=r"taiwan\.csv: line 3: column 'LIMIT_BAL'"):
        datasets.load_taiwan(path)
    result = CliRunner().invoke(
        risk_app, ["evaluate", "--dataset", "german", "--train", str(broken), "--cv", "2"]
    )
    # Rich wraps the message at the terminal width, wherever the temporary path puts it
    assert result.exit_code == 1 and "german.data:line3:3fields" in "".join(result.output.split())


def test_loaders_read_the_uci_originals_header_forms_too(credit: Path, tmp_path: Path) -> None:
    # UCI's german.data has no header line (the shared copy's was added by its source)
    german = (credit / datasets.GERMAN_FILE).read_text(encoding="utf-8").splitlines(keepends=True)
    headed = datasets.load_german(write_lines(tmp_path / "headed.data", german[0], german[1:40]))
    bare = datasets.load_german(write_lines(tmp_path / "bare.data", "", german[1:40]))
    assert bare[0].equals(headed[0]) and (bare[1] == headed[1]).all() and len(bare[1]) == 39
    marked = datasets.load_german(write_lines(tmp_path / "bom.data", "\ufeff", german[1:40]))
    assert marked[0].equals(headed[0])  # a byte-order mark, as Windows editors write it
    with pytest.raises(datasets.DatasetError, match=r"line 1: expected a header"):
        datasets.load_german(write_lines(tmp_path / "odd.data", "Status Duration\n", german[1:3]))
    wrong_code = german[2].replace("A", "B", 1)  # lines are counted in the file as it is
    with pytest.raises(datasets.DatasetError, match=r"bad\.data: line 3: column 'checking'"):
        datasets.load_german(write_lines(tmp_path / "bad.data", "", [german[1], "\n", wrong_code]))
    # UCI's Taiwan file carries a row of variable codes (X1 ... X23, Y) above the names; the
    # source repository's copy had it below them
    taiwan = (credit / datasets.TAIWAN_FILE).read_text(encoding="utf-8").splitlines(keepends=True)
    codes = ",".join(["ID", *(f"X{i}" for i in range(1, 24)), "Y"]) + "\n"
    plain = datasets.load_taiwan(write_lines(tmp_path / "plain.csv", taiwan[0], taiwan[1:30]))
    for name, header in (("above", codes + taiwan[0]), ("below", taiwan[0] + codes)):
        other = datasets.load_taiwan(write_lines(tmp_path / f"{name}.csv", header, taiwan[1:30]))
        assert other[0].equals(plain[0]) and len(other[1]) == 29
    bad_cell = taiwan[1].replace(",", ",x", 1)  # lines are counted in the file as it is
    with pytest.raises(datasets.DatasetError, match=r"x\.csv: line 3: column 'LIMIT_BAL'"):
        datasets.load_taiwan(write_lines(tmp_path / "x.csv", codes + taiwan[0], [bad_cell]))


def test_loaders_return_aligned_frames_and_specs(credit: Path) -> None:
    for name in datasets.DATASETS:
        frame, y, specs = datasets.load(name, credit)
        assert [s.name for s in specs] == list(frame.columns)
        assert len(frame) == len(y) and set(np.unique(y)) == {0, 1}
    _, y, _ = datasets.load("german", credit)
    assert len(y) == 700 and 0.25 < y.mean() < 0.35  # target 2 = bad: about 30 %


def test_ar_features_use_only_what_is_known_on_the_invoice_date(
    credit: Path, tmp_path: Path
) -> None:
    source = credit / datasets.AR_FILE
    table = datasets._ar_table(source)
    frame, _, _ = datasets.load_ar(source)
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    # pick an invoice with history; rewrite its own outcome and every invoice of the same
    # customer settled on or after its date: its features must not move
    row = int(np.flatnonzero(frame["hist_count"].to_numpy() >= 5)[0])
    customer, day = table["customer"][row], table["invoice"][row]
    changed = list(lines)
    for i in range(len(table)):
        if table["customer"][i] == customer and table["settled"][i] >= day:
            f = changed[i + 1].rstrip("\n").split(",")
            f[7] = "Yes" if f[7] == "No" else "No"  # Disputed
            f[10], f[11] = "99", "69"  # DaysToSettle, DaysLate
            f[8] = "12/31/2013"  # SettledDate
            changed[i + 1] = ",".join(f) + "\n"
    path = write_lines(tmp_path / "ar.csv", changed[0], changed[1:])
    rewritten, _, _ = datasets.load_ar(path)
    assert rewritten.iloc[row].equals(frame.iloc[row])
    assert not rewritten["hist_settle_mean"].equals(frame["hist_settle_mean"])


def test_ensemble_is_the_mean_of_its_three_members(credit: Path) -> None:
    frame, y, specs = datasets.load("german", credit)
    train, test = frame.iloc[:500], frame.iloc[500:]
    names = ("logistic", "scorecard", "lightgbm", "blend", "ensemble")
    p = evaluate_module.predict_candidates(names, train, y[:500], test, specs, seed=5)
    np.testing.assert_allclose(p["ensemble"], (p["logistic"] + p["scorecard"] + p["lightgbm"]) / 3)
    np.testing.assert_allclose(p["blend"], (p["scorecard"] + p["lightgbm"]) / 2)
    assert evaluate_module.MODEL_CHOICES == risk_cmd.MODEL_CHOICES
    out = run("--dataset", "german", "--train", str(credit), "--cv", "2", "--model", "ensemble")
    assert out["model"] == "ensemble" and out["auc"] > 0.72


def test_progress_counts_every_fit_round_and_changes_no_figure(credit: Path) -> None:
    """The CLI's progress bar is fed by ``progress``: (0, total) first, then one call a round
    of fits, ending at (total, total); the result is the same with or without it."""
    seen: list[tuple[int, int]] = []
    plain = evaluate("german", credit, cv=3, model="logistic", repeats=2)
    watched = evaluate(
        "german", credit, cv=3, model="logistic", repeats=2,
        progress=lambda done, total: seen.append((done, total)),
    )  # fmt: skip
    assert watched == plain
    assert seen == [(i, 6) for i in range(7)]  # 3 folds x 2 repeats, one round each
    # "best": each split's inner CV rounds too (5 repeats x 3 folds below 5,000 rows)
    assert evaluate_module._fit_rounds(True, 800) == 1 + 5 * 3
    assert evaluate_module._fit_rounds(True, 6_000) == 1 + 2 * 3
    assert evaluate_module._fit_rounds(False, 800) == 1
