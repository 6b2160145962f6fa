"""Honest evaluation of the credit models on the public datasets (docs/risk-evaluation.md).

Protocols:

* ``test_path``: fit on the train file, report on the test file.
* ``holdout``: a seeded stratified split of the train file (grouped by customer for ``ar``).
* ``cv``: stratified K-fold on the train file (grouped by customer for ``ar``), ``repeats``
  times with different shuffles; figures are means over the folds.

Candidates are logistic regression, the scorecard, LightGBM, ``blend`` (the mean of the
scorecard's and LightGBM's PDs) and ``ensemble`` (the mean of all three models' PDs). With
``model="best"`` the candidate is chosen, for each outer split, by its AUC in a repeated inner
CV on that split's training rows only (the test rows never take part in the choice); within
one standard error of the best, the simpler or the averaged model is preferred (``choose``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd  # type: ignore[import-untyped]
from sklearn.model_selection import (  # type: ignore[import-untyped]
    GroupShuffleSplit,
    StratifiedGroupKFold,
    StratifiedKFold,
    train_test_split,
)

from fourflow.risk import datasets, metrics
from fourflow.risk.models import (
    BlendModel,
    CreditModel,
    FeatureSpec,
    fit_lightgbm,
    fit_logistic,
    fit_scorecard,
)

ModelChoice = Literal["best", "scorecard", "lightgbm", "logistic", "blend", "ensemble"]
MODEL_CHOICES: tuple[ModelChoice, ...] = (
    "best",
    "scorecard",
    "lightgbm",
    "logistic",
    "blend",
    "ensemble",
)
CANDIDATES: tuple[str, ...] = ("logistic", "scorecard", "lightgbm", "blend", "ensemble")
# the combined candidates and the models they average (equal weights)
MEMBERS: dict[str, tuple[str, ...]] = {
    "blend": ("scorecard", "lightgbm"),
    "ensemble": ("logistic", "scorecard", "lightgbm"),
}
INNER_FOLDS = 3
# below this many training rows the inner CV is repeated (with other shuffles) this many times:
# on small files one 3-fold CV picks a candidate by noise as often as by merit
SMALL_ROWS = 5_000
SMALL_REPEATS = 5
# above it, twice (6 folds give the standard error the choice needs)
LARGE_REPEATS = 2
# within the noise of the best inner-CV AUC, the first of these is chosen: the simpler model,
# then the averaged ones, the single boosted model last
PREFERENCE: tuple[str, ...] = ("logistic", "scorecard", "ensemble", "blend", "lightgbm")

Fitter = Callable[[pd.DataFrame, npt.NDArray[Any], Sequence[FeatureSpec], int], CreditModel]

FITTERS: dict[str, Fitter] = {
    "logistic": lambda f, y, s, seed: fit_logistic(f, y, s, seed=seed),
    "scorecard": lambda f, y, s, seed: fit_scorecard(f, y, s, seed=seed),
    "lightgbm": lambda f, y, s, seed: fit_lightgbm(f, y, s, seed=seed),
}


@dataclass(frozen=True, slots=True)
class Figures:
    """A model's figures on held-out rows (means over folds in CV)."""

    auc: float
    ks: float
    brier: float
    auc_std: float = 0.0

    def as_json(self) -> dict[str, float]:
        """The figures, rounded to 4 decimals."""
        return {
            "auc": round(self.auc, 4),
            "ks": round(self.ks, 4),
            "brier": round(self.brier, 4),
            "auc_std": round(self.auc_std, 4),
        }


@dataclass(frozen=True)
class EvaluationResult:
    """What :func:`evaluate` measured.

    Attributes:
        dataset: "taiwan", "german" or "ar".
        model: the model reported (for "best", the candidate chosen most often).
        auc: its AUC on the held-out rows (mean over folds in CV).
        ks: its KS.
        brier: its Brier score.
        n_train: rows of the train file.
        n_test: held-out rows scored (per repeat in CV).
        cv: folds, or None for a test file or holdout.
        protocol: how the held-out rows were made.
        seed: the seed of every split and fit.
        models: every candidate's figures on the same held-out rows.
        selection: each candidate's mean inner-CV AUC (train rows only), for "best".
        choices: the candidate chosen on each outer split, for "best".
    """

    dataset: str
    model: str
    auc: float
    ks: float
    brier: float
    n_train: int
    n_test: int
    cv: int | None
    protocol: str
    seed: int
    models: dict[str, Figures] = field(default_factory=dict)
    selection: dict[str, float] = field(default_factory=dict)
    choices: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The result as one JSON object."""
        return {
            "dataset": self.dataset,
            "model": self.model,
            "auc": round(self.auc, 4),
            "ks": round(self.ks, 4),
            "brier": round(self.brier, 4),
            "n_train": self.n_train,
            "n_test": self.n_test,
            "cv": self.cv,
            "protocol": self.protocol,
            "seed": self.seed,
            "models": {k: v.as_json() for k, v in self.models.items()},
            "selection": {k: round(v, 4) for k, v in self.selection.items()},
            "choices": list(self.choices),
        }


def figures(y: npt.ArrayLike, p: npt.ArrayLike) -> Figures:
    """AUC, KS and Brier of one set of predictions."""
    return Figures(metrics.auc(y, p), metrics.ks(y, p), metrics.brier(y, p))


def mean_figures(parts: Sequence[Figures]) -> Figures:
    """The mean of per-fold figures, with the spread of the AUC."""
    aucs = [f.auc for f in parts]
    return Figures(
        float(np.mean(aucs)),
        float(np.mean([f.ks for f in parts])),
        float(np.mean([f.brier for f in parts])),
        float(np.std(aucs)),
    )


def _folds(
    y: npt.NDArray[Any], groups: npt.NDArray[Any] | None, k: int, seed: int
) -> Iterator[tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]]:
    if groups is None:
        yield from StratifiedKFold(k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y)
    else:
        splitter = StratifiedGroupKFold(k, shuffle=True, random_state=seed)
        yield from splitter.split(np.zeros(len(y)), y, groups)


def holdout_split(
    y: npt.NDArray[Any], groups: npt.NDArray[Any] | None, share: float, seed: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Seeded split of row indices: stratified, or by whole groups when ``groups`` is given."""
    rows = np.arange(len(y))
    if groups is None:
        fit_idx, test_idx = train_test_split(rows, test_size=share, stratify=y, random_state=seed)
    else:
        splitter = GroupShuffleSplit(n_splits=1, test_size=share, random_state=seed)
        fit_idx, test_idx = next(splitter.split(rows, y, groups))
    return np.sort(fit_idx), np.sort(test_idx)


def predict_candidates(
    names: Sequence[str],
    train: pd.DataFrame,
    y_train: npt.NDArray[Any],
    test: pd.DataFrame,
    specs: Sequence[FeatureSpec],
    seed: int,
) -> dict[str, npt.NDArray[np.float64]]:
    """Fit each named candidate on ``train`` and predict ``test`` (a combination reuses its
    members' fits)."""
    fitted: dict[str, CreditModel] = {}
    wanted = set(names)
    for name in names:
        wanted |= set(MEMBERS.get(name, ()))
    for name, fit in FITTERS.items():
        if name in wanted:
            fitted[name] = fit(train, y_train, specs, seed)
    for name, members in MEMBERS.items():
        if name in wanted:
            fitted[name] = BlendModel(
                tuple(fitted[m] for m in members), tuple(1.0 for _ in members)
            )
    return {name: fitted[name].predict_pd(test) for name in names}


def choose(names: Sequence[str], scores: dict[str, list[float]]) -> str:
    """The candidate to use, given each candidate's AUC on the same inner folds.

    The best mean AUC is only an estimate: a candidate whose mean is within one standard error
    of the best (the standard error of the paired per-fold differences, so the folds' shared
    difficulty cancels) is as good within the noise, and among those the first in
    :data:`PREFERENCE` wins: the simpler model, then the averaged one, the single boosted model
    last. On a few hundred rows that stops a lucky fold from picking the most flexible model.
    """
    means = {n: float(np.mean(scores[n])) for n in names}
    top = max(names, key=lambda n: (means[n], -names.index(n)))
    tied = []
    for n in names:
        diff = np.asarray(scores[top]) - np.asarray(scores[n])
        noise = float(diff.std(ddof=1) / np.sqrt(diff.size)) if diff.size > 1 else 0.0
        if float(diff.mean()) <= noise:
            tied.append(n)
    return min(tied, key=lambda n: (PREFERENCE.index(n) if n in PREFERENCE else len(PREFERENCE),
                                     -means[n]))  # fmt: skip


def select(
    names: Sequence[str],
    frame: pd.DataFrame,
    y: npt.NDArray[Any],
    specs: Sequence[FeatureSpec],
    groups: npt.NDArray[Any] | None,
    seed: int,
    folds: int = INNER_FOLDS,
    repeats: int | None = None,
    tick: Callable[[], None] | None = None,
) -> tuple[str, dict[str, float]]:
    """The candidate chosen by a ``folds``-fold CV of these rows only, repeated ``repeats``
    times with other shuffles (default: :data:`SMALL_REPEATS` below :data:`SMALL_ROWS` rows,
    else :data:`LARGE_REPEATS`), by :func:`choose`; and each candidate's mean AUC there.
    ``tick`` is called after each inner fold's fits (progress only)."""
    if repeats is None:
        repeats = _inner_repeats(len(y))
    scores: dict[str, list[float]] = {n: [] for n in names}
    for repeat in range(repeats):
        for fit_idx, val_idx in _folds(y, groups, folds, seed + 1 + repeat):
            predicted = predict_candidates(
                names, frame.iloc[fit_idx], y[fit_idx], frame.iloc[val_idx], specs, seed
            )
            for name, p in predicted.items():
                scores[name].append(metrics.auc(y[val_idx], p))
            if tick is not None:
                tick()
    means = {n: float(np.mean(v)) for n, v in scores.items()}
    return choose(names, scores), means


def _inner_repeats(rows: int) -> int:
    return SMALL_REPEATS if rows < SMALL_ROWS else LARGE_REPEATS


def _fit_rounds(best: bool, train_rows: int) -> int:
    """Times one split fits the candidates: its inner folds (for "best") and the split itself."""
    return 1 + (_inner_repeats(train_rows) * INNER_FOLDS if best else 0)


#: Called with (rounds done, rounds in all) after each fit of the candidates (progress only).
Progress = Callable[[int, int], None]


class _Ticks:
    def __init__(self, total: int, progress: Progress | None) -> None:
        self.done, self.total, self.progress = 0, total, progress
        if progress is not None:
            progress(0, total)

    def __call__(self) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.total)


def _split_run(
    names: Sequence[str],
    best: bool,
    train: tuple[pd.DataFrame, npt.NDArray[Any], npt.NDArray[Any] | None],
    test: tuple[pd.DataFrame, npt.NDArray[Any]],
    specs: Sequence[FeatureSpec],
    seed: int,
    tick: Callable[[], None] | None = None,
) -> tuple[dict[str, Figures], str | None, dict[str, float]]:
    frame, y, groups = train
    chosen: str | None = None
    inner: dict[str, float] = {}
    if best:
        chosen, inner = select(names, frame, y, specs, groups, seed, tick=tick)
    predicted = predict_candidates(names, frame, y, test[0], specs, seed)
    if tick is not None:
        tick()
    return {n: figures(test[1], p) for n, p in predicted.items()}, chosen, inner


def _rows_run(
    names: Sequence[str],
    best: bool,
    data: tuple[pd.DataFrame, npt.NDArray[Any], npt.NDArray[Any] | None],
    split: tuple[npt.NDArray[Any], npt.NDArray[Any]],
    specs: Sequence[FeatureSpec],
    seed: int,
    tick: Callable[[], None] | None = None,
) -> tuple[dict[str, Figures], str | None, dict[str, float]]:
    """``_split_run`` on rows of one file: fitted on the rows ``split[0]`` of ``data`` (frame,
    outcomes, customer groups or None), tested on the rows ``split[1]`` (a holdout, a CV fold)."""
    frame, y, groups = data
    fit_idx, test_idx = split
    fit_groups = None if groups is None else groups[fit_idx]
    return _split_run(
        names,
        best,
        (frame.iloc[fit_idx], y[fit_idx], fit_groups),
        (frame.iloc[test_idx], y[test_idx]),
        specs,
        seed,
        tick,
    )


def evaluate(
    dataset: datasets.Dataset,
    train_path: Path,
    test_path: Path | None = None,
    cv: int | None = None,
    seed: int = 20250601,
    model: ModelChoice = "best",
    *,
    holdout: float | None = None,
    repeats: int = 1,
    progress: Progress | None = None,
) -> EvaluationResult:
    """Evaluate a model (or choose the best) on one dataset; see the module docstring.

    Args:
        dataset: "taiwan", "german" or "ar".
        train_path: the train file (or the shared ``credit`` folder).
        test_path: a test file of the same dataset.
        cv: folds of a cross-validation of the train file (default 5 without test or holdout).
        seed: seed of every split and fit.
        model: a candidate, or "best" to choose by inner CV on training rows only.
        holdout: share of the train file held out (stratified, grouped for ``ar``).
        repeats: repetitions of the CV with different shuffles.
        progress: called with (fit rounds done, in all) as it goes (the CLI's progress bar);
            it does not change the result.
    """
    if dataset not in datasets.DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}: expected one of {datasets.DATASETS}")
    if model not in MODEL_CHOICES:
        raise ValueError(f"unknown model {model!r}: expected one of {MODEL_CHOICES}")
    if sum(x is not None for x in (test_path, cv, holdout)) > 1:
        raise ValueError("give at most one of a test file, cv and holdout")
    if cv is not None and cv < 2:
        raise ValueError(f"cv needs at least 2 folds, got {cv}")
    if holdout is not None and not 0.0 < holdout < 1.0:
        raise ValueError(f"holdout must be between 0 and 1, got {holdout}")
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    best = model == "best"
    names: list[str] = list(CANDIDATES) if best else [model]
    frame, y, specs = datasets.load(dataset, train_path)
    groups = datasets.customers(datasets.resolve(dataset, train_path)) if dataset == "ar" else None
    if test_path is not None:
        if dataset == "ar":
            test_frame, y_test, _ = datasets.load_ar(
                datasets.resolve(dataset, test_path),
                history=(datasets.resolve(dataset, train_path),),
            )
        else:
            test_frame, y_test, _ = datasets.load(dataset, test_path)
        ticks = _Ticks(_fit_rounds(best, len(y)), progress)
        per_model, chosen, inner = _split_run(
            names, best, (frame, y, groups), (test_frame, y_test), specs, seed, ticks
        )
        return _result(
            dataset,
            model,
            per_model,
            [chosen] if chosen else [],
            inner,
            n_train=len(y),
            n_test=len(y_test),
            cv=None,
            protocol="train file -> test file",
            seed=seed,
        )
    if holdout is not None:
        fit_idx, test_idx = holdout_split(y, groups, holdout, seed)
        ticks = _Ticks(_fit_rounds(best, len(fit_idx)), progress)
        per_model, chosen, inner = _rows_run(
            names, best, (frame, y, groups), (fit_idx, test_idx), specs, seed, ticks
        )
        how = "group (customer) holdout" if groups is not None else "stratified holdout"
        return _result(
            dataset,
            model,
            per_model,
            [chosen] if chosen else [],
            inner,
            n_train=len(fit_idx),
            n_test=len(test_idx),
            cv=None,
            protocol=f"{how} of {holdout:.0%} of the train file",
            seed=seed,
        )
    folds = cv or 5
    per_fold: dict[str, list[Figures]] = {n: [] for n in names}
    chosen_fold: list[Figures] = []
    choices: list[str] = []
    inner_all: dict[str, list[float]] = {n: [] for n in names}
    splits = [s for r in range(repeats) for s in _folds(y, groups, folds, seed + 1000 * r)]
    ticks = _Ticks(sum(_fit_rounds(best, len(fit_idx)) for fit_idx, _ in splits), progress)
    for fit_idx, test_idx in splits:
        per_model, chosen, inner = _rows_run(
            names, best, (frame, y, groups), (fit_idx, test_idx), specs, seed, ticks
        )
        for n, f in per_model.items():
            per_fold[n].append(f)
        if chosen is not None:
            choices.append(chosen)
            chosen_fold.append(per_model[chosen])
            for n, v in inner.items():
                inner_all[n].append(v)
    summary = {n: mean_figures(v) for n, v in per_fold.items()}
    grouped = "stratified group (customer)" if groups is not None else "stratified"
    protocol = f"{grouped} {folds}-fold CV of the train file" + (
        f", {repeats} repeats" if repeats > 1 else ""
    )
    if best:
        reported = mean_figures(chosen_fold)
        name = Counter(choices).most_common(1)[0][0]
        selection = {n: float(np.mean(v)) for n, v in inner_all.items()}
    else:
        reported = summary[model]
        name = model
        selection = {}
    return EvaluationResult(
        dataset,
        name,
        reported.auc,
        reported.ks,
        reported.brier,
        len(y),
        len(y),
        folds,
        protocol,
        seed,
        summary,
        selection,
        tuple(choices),
    )


def _result(
    dataset: str,
    model: str,
    per_model: dict[str, Figures],
    choices: list[str],
    inner: dict[str, float],
    *,
    n_train: int,
    n_test: int,
    cv: int | None,
    protocol: str,
    seed: int,
) -> EvaluationResult:
    name = choices[0] if choices else model
    f = per_model[name]
    return EvaluationResult(
        dataset,
        name,
        f.auc,
        f.ks,
        f.brier,
        n_train,
        n_test,
        cv,
        protocol,
        seed,
        per_model,
        inner,
        tuple(choices),
    )
