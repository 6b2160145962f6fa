"""Credit models the review robot scores with: a compiled scorecard, LightGBM, logistic regression.

Every model predicts a calibrated probability of default (PD, 1 = bad), explains one row as
:class:`Factor` terms (positive = riskier) and serialises to plain JSON (no pickle) that
:func:`model_from_json` reads back. See docs/risk-evaluation.md.

Scorecard scaling (``pdo_odds``): 600 points at good:bad odds of 50:1 and 20 points to double
the odds, so ``points = offset - factor * logit(PD_lr)`` with ``factor = 20 / ln 2`` and
``offset = 600 - factor * ln 50``; more points are safer. Points are not rounded.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
import pandas as pd  # type: ignore[import-untyped]

if TYPE_CHECKING:
    import lightgbm as lgb

# LightGBM, optbinning and scikit-learn load where they are used: scoring a scorecard needs
# numpy and pandas alone, and every `fourflow` command that scores starts faster for it.

FloatArray = npt.NDArray[np.float64]
Kind = Literal["numeric", "categorical"]
Monotonic = Literal["auto", "ascending", "descending", "peak", "valley", "none"]
ModelKind = Literal["scorecard", "lightgbm", "logistic", "blend"]

KINDS: tuple[Kind, ...] = ("numeric", "categorical")
MONOTONIC: tuple[Monotonic, ...] = ("auto", "ascending", "descending", "peak", "valley", "none")
FORMAT_VERSION = 1

PDO = 20.0
BASE_POINTS = 600.0
BASE_ODDS = 50.0
FACTOR = PDO / math.log(2.0)
OFFSET = BASE_POINTS - FACTOR * math.log(BASE_ODDS)

#: FeatureSpec.monotonic -> optbinning's ``monotonic_trend`` (trend of the bad rate).
OPTBINNING_TREND: dict[Monotonic, str | None] = {
    "auto": "auto_asc_desc",
    "ascending": "ascending",
    "descending": "descending",
    "peak": "peak",
    "valley": "valley",
    "none": None,
}
#: FeatureSpec.monotonic -> LightGBM's monotone constraint on the log-odds of bad.
LIGHTGBM_CONSTRAINT: dict[Monotonic, int] = {"ascending": 1, "descending": -1}


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """One model input.

    Attributes:
        name: the column of the frame.
        kind: "numeric" (float, NaN = missing) or "categorical" (text, NaN = missing).
        monotonic: how the risk moves as the value grows: "ascending" (riskier), "descending",
            "peak", "valley", "none" (no constraint) or "auto" (the binning picks ascending or
            descending; LightGBM leaves it free). Ignored for categorical features.
        description: what the feature means, shown in explanations.
    """

    name: str
    kind: Kind
    monotonic: Monotonic = "auto"
    description: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a FeatureSpec needs a name")
        if self.kind not in KINDS:
            raise ValueError(f"feature {self.name!r}: kind {self.kind!r} is not one of {KINDS}")
        if self.monotonic not in MONOTONIC:
            raise ValueError(
                f"feature {self.name!r}: monotonic {self.monotonic!r} is not one of {MONOTONIC}"
            )

    def as_json(self) -> dict[str, str]:
        """The spec as a JSON object."""
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True)
class Factor:
    """One term of an explanation.

    Attributes:
        feature: the feature's name.
        value: the row's value (None when missing).
        contribution: points below the feature's average for the scorecard, SHAP log-odds for
            LightGBM, log-odds versus the average for logistic regression; positive = riskier.
        description: the feature's description and what the value scored.
    """

    feature: str
    value: object
    contribution: float
    description: str


@runtime_checkable
class CreditModel(Protocol):
    """What every credit model offers."""

    @property
    def kind(self) -> ModelKind:
        """ "scorecard", "lightgbm", "logistic" or "blend"."""
        ...

    @property
    def specs(self) -> tuple[FeatureSpec, ...]:
        """The features the model reads."""
        ...

    def predict_pd(self, frame: pd.DataFrame) -> FloatArray:
        """Calibrated probability of default of each row."""
        ...

    def explain(self, frame: pd.DataFrame, top: int = 5) -> list[Factor]:
        """The ``top`` factors of a one-row frame, riskiest first."""
        ...

    def to_json(self) -> dict[str, Any]:
        """The model as plain JSON."""
        ...


# ------------------------------------------------------------------------------ shared helpers


def specs_from_json(items: Sequence[dict[str, Any]]) -> tuple[FeatureSpec, ...]:
    """FeatureSpecs from their JSON objects."""
    return tuple(
        FeatureSpec(i["name"], i["kind"], i.get("monotonic", "auto"), i.get("description", ""))
        for i in items
    )


def check_training(
    frame: pd.DataFrame, y: npt.ArrayLike, specs: Sequence[FeatureSpec]
) -> npt.NDArray[np.int8]:
    """Check a training frame against its specs and return the 0/1 target as an array."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError("frame must be a pandas DataFrame")
    if not specs:
        raise ValueError("no feature specs given")
    names = [s.name for s in specs]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(f"feature(s) specified twice: {', '.join(map(repr, duplicated))}")
    unknown = [c for c in frame.columns if c not in set(names)]
    if unknown:
        raise ValueError(
            f"column(s) {', '.join(map(repr, map(str, unknown)))} have no FeatureSpec "
            "(drop them or describe them)"
        )
    check_columns(frame, specs)
    target = np.asarray(y)
    if target.ndim != 1 or len(target) != len(frame):
        raise ValueError(f"y has {target.shape} values for {len(frame)} rows")
    if not np.isin(target, (0, 1)).all():
        raise ValueError("y must hold 0 (good) and 1 (bad) only")
    if target.min() == target.max():
        raise ValueError("y holds a single class: nothing to learn")
    return target.astype(np.int8)


def check_columns(frame: pd.DataFrame, specs: Sequence[FeatureSpec]) -> None:
    """Raise a ValueError naming the specified columns the frame lacks or cannot use."""
    missing = [s.name for s in specs if s.name not in frame.columns]
    if missing:
        raise ValueError(f"missing column(s) {', '.join(map(repr, missing))}")
    for s in specs:
        if s.kind == "numeric" and not (
            pd.api.types.is_numeric_dtype(frame[s.name])
            or pd.api.types.is_bool_dtype(frame[s.name])
        ):
            raise ValueError(
                f"column {s.name!r} is numeric in the specs but holds {frame[s.name].dtype}"
            )


def numeric_values(frame: pd.DataFrame, name: str) -> FloatArray:
    """A numeric column as float64 (NaN = missing)."""
    values: FloatArray = frame[name].to_numpy(dtype=np.float64, na_value=np.nan)
    return values


def categorical_values(frame: pd.DataFrame, name: str) -> npt.NDArray[np.object_]:
    """A categorical column as text (None = missing)."""
    column = frame[name]
    raw = column.to_numpy(dtype=object)
    missing = pd.isna(raw)
    text: npt.NDArray[np.object_] = column.astype(str).to_numpy(dtype=object)
    if missing.any():
        text[missing] = None
    return text


def category_codes(
    values: npt.NDArray[np.object_], categories: Sequence[str]
) -> npt.NDArray[np.intp]:
    """The index of each value in ``categories``; -1 for missing or unseen."""
    codes: npt.NDArray[np.intp] = pd.Index(list(categories), dtype=object).get_indexer(values)
    return codes


def sigmoid(x: FloatArray) -> FloatArray:
    """The logistic function, without overflow warnings."""
    out: FloatArray = 0.5 * (1.0 + np.tanh(0.5 * x))
    return out


@dataclass(frozen=True, slots=True)
class Platt:
    """Platt scaling: ``PD = sigmoid(a * x + b)`` on a model's raw output ``x``."""

    a: float
    b: float

    @classmethod
    def fit(cls, x: FloatArray, y: npt.ArrayLike) -> Platt:
        """Fit on held-out or out-of-fold outputs (almost unpenalised logistic regression)."""
        from sklearn.linear_model import LogisticRegression  # noqa: PLC0415

        lr = LogisticRegression(C=1e6, max_iter=1000)
        lr.fit(np.asarray(x, dtype=float).reshape(-1, 1), np.asarray(y))
        return cls(float(lr.coef_[0, 0]), float(lr.intercept_[0]))

    def __call__(self, x: FloatArray) -> FloatArray:
        return sigmoid(self.a * x + self.b)

    def as_json(self) -> dict[str, Any]:
        """The calibration as JSON."""
        return {"method": "platt", "a": self.a, "b": self.b}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Platt:
        """Read :meth:`as_json` back."""
        if d.get("method") != "platt":
            raise ValueError(f"unknown calibration method {d.get('method')!r}")
        return cls(float(d["a"]), float(d["b"]))


def one_row(frame: pd.DataFrame) -> None:
    """Check that an explanation is asked for exactly one row."""
    if len(frame) != 1:
        raise ValueError(f"explain takes a frame of one row, got {len(frame)}")


def display_value(value: object) -> object:
    """A JSON-friendly value for a Factor (None for missing)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def rank_factors(factors: list[Factor], top: int) -> list[Factor]:
    """The ``top`` factors, largest contribution (riskiest) first, ties by name."""
    return sorted(factors, key=lambda f: (-f.contribution, f.feature))[: max(top, 0)]


# ----------------------------------------------------------------------------------- scorecard


@dataclass(frozen=True, slots=True)
class NumericTable:
    """A numeric characteristic: bin ``i`` holds ``splits[i-1] <= x < splits[i]``."""

    splits: FloatArray
    points: FloatArray
    missing: float

    def score(self, x: FloatArray) -> FloatArray:
        """Points of each value (vectorised)."""
        out: FloatArray = self.points[np.searchsorted(self.splits, x, side="right")]
        nan = np.isnan(x)
        if nan.any():
            out[nan] = self.missing
        return out

    def as_json(self) -> dict[str, Any]:
        """The table as JSON."""
        return {
            "splits": self.splits.tolist(),
            "points": self.points.tolist(),
            "missing": self.missing,
        }


@dataclass(frozen=True, slots=True)
class CategoricalTable:
    """A categorical characteristic: points per category; ``other`` for unseen and missing."""

    categories: tuple[str, ...]
    points: FloatArray
    other: float

    def score(self, values: npt.NDArray[np.object_]) -> FloatArray:
        """Points of each value (vectorised through a hash index)."""
        lookup = np.append(self.points, self.other)
        out: FloatArray = lookup[category_codes(values, self.categories)]
        return out

    def as_json(self) -> dict[str, Any]:
        """The table as JSON: ``{"points": {category: points}, "other": points}``."""
        return {
            "points": dict(zip(self.categories, self.points.tolist(), strict=True)),
            "other": self.other,
        }


Table = NumericTable | CategoricalTable


@dataclass(frozen=True)
class ScorecardModel:
    """A points scorecard compiled to plain arrays; scoring needs numpy only.

    Attributes:
        specs: every input the model was given (the frame must carry them).
        tables: the characteristics kept by the fit, in spec order.
        average: each characteristic's mean points on the training data (explanations).
        calibration: Platt scaling of the total points, fitted out of fold.
    """

    specs: tuple[FeatureSpec, ...]
    tables: dict[str, Table]
    average: dict[str, float]
    calibration: Platt
    kind: ModelKind = "scorecard"

    def _points(self, frame: pd.DataFrame) -> dict[str, FloatArray]:
        check_columns(frame, [s for s in self.specs if s.name in self.tables])
        out: dict[str, FloatArray] = {}
        for name, table in self.tables.items():
            if isinstance(table, NumericTable):
                out[name] = table.score(numeric_values(frame, name))
            else:
                out[name] = table.score(categorical_values(frame, name))
        return out

    def score_points(self, frame: pd.DataFrame) -> FloatArray:
        """Total points of each row (higher = safer)."""
        total: FloatArray = np.zeros(len(frame))
        for points in self._points(frame).values():
            total += points
        return total

    def predict_pd(self, frame: pd.DataFrame) -> FloatArray:
        """Calibrated PD of each row."""
        return self.calibration(self.score_points(frame))

    def explain(self, frame: pd.DataFrame, top: int = 5) -> list[Factor]:
        """Characteristics ranked by points lost against their training average."""
        return self.assess(frame, top)[2]

    def explain_many(self, frame: pd.DataFrame, top: int = 5) -> list[list[Factor]]:
        """``explain`` of every row (``assess_many``)."""
        return [factors for _, _, factors in self.assess_many(frame, top)]

    def assess(self, frame: pd.DataFrame, top: int = 5) -> tuple[float, float, list[Factor]]:
        """PD, total points and explanation (``explain``) of one row, its characteristics'
        points computed once (what ``predict_pd``, ``score_points`` and ``explain`` give)."""
        one_row(frame)
        return self.assess_many(frame, top)[0]

    def assess_many(
        self, frame: pd.DataFrame, top: int = 5
    ) -> list[tuple[float, float, list[Factor]]]:
        """``assess`` of every row, the tables and the calibration run once over all the rows
        (each row's figures are those ``assess`` gives it alone: the same operations on each
        element)."""
        per = self._points(frame)
        total: FloatArray = np.zeros(len(frame))
        for points in per.values():
            total += points
        pds = self.calibration(total)
        described = {s.name: s.description or s.name for s in self.specs}
        values = {name: frame[name].to_numpy() for name in per}
        out = []
        for i in range(len(frame)):
            factors = []
            for name, points in per.items():
                got = float(points[i])
                factors.append(
                    Factor(
                        name,
                        display_value(values[name][i]),
                        self.average[name] - got,
                        f"{described[name]}: {got:.1f} points (average {self.average[name]:.1f})",
                    )
                )
            out.append((float(pds[i]), float(total[i]), rank_factors(factors, top)))
        return out

    def to_json(self) -> dict[str, Any]:
        """The compiled tables, the scaling and the calibration as plain JSON."""
        return {
            "kind": "scorecard",
            "format": FORMAT_VERSION,
            "scaling": {"base_points": BASE_POINTS, "base_odds": BASE_ODDS, "pdo": PDO},
            "specs": [s.as_json() for s in self.specs],
            "tables": {
                name: {
                    "kind": "numeric" if isinstance(t, NumericTable) else "categorical",
                    **t.as_json(),
                }
                for name, t in self.tables.items()
            },
            "average": self.average,
            "calibration": self.calibration.as_json(),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ScorecardModel:
        """Read :meth:`to_json` back."""
        tables: dict[str, Table] = {}
        for name, t in d["tables"].items():
            if t["kind"] == "numeric":
                tables[name] = NumericTable(
                    np.asarray(t["splits"], dtype=float),
                    np.asarray(t["points"], dtype=float),
                    float(t["missing"]),
                )
            else:
                tables[name] = CategoricalTable(
                    tuple(t["points"]),
                    np.asarray(list(t["points"].values()), dtype=float),
                    float(t["other"]),
                )
        return cls(
            specs_from_json(d["specs"]),
            tables,
            {k: float(v) for k, v in d["average"].items()},
            Platt.from_json(d["calibration"]),
        )


@dataclass(frozen=True, slots=True)
class ScorecardOptions:
    """How a scorecard is fitted (see :func:`fit_scorecard`)."""

    min_iv: float = 0.02
    max_n_prebins: int = 20
    min_prebin_size: float = 0.05
    max_n_bins: int | None = 8
    min_bin_size: float | None = 0.04
    c: float = 1.0

    def binning_process(self, specs: Sequence[FeatureSpec], *, select: bool) -> Any:
        """An unfitted optbinning BinningProcess over ``specs``."""
        fit_params: dict[str, dict[str, Any]] = {}
        for s in specs:
            if s.kind == "numeric":
                fit_params[s.name] = {"monotonic_trend": OPTBINNING_TREND[s.monotonic]}
        from optbinning import BinningProcess  # noqa: PLC0415

        return BinningProcess(
            variable_names=[s.name for s in specs],
            categorical_variables=[s.name for s in specs if s.kind == "categorical"],
            max_n_prebins=self.max_n_prebins,
            min_prebin_size=self.min_prebin_size,
            max_n_bins=self.max_n_bins,
            min_bin_size=self.min_bin_size,
            selection_criteria={"iv": {"min": self.min_iv}} if select and self.min_iv > 0 else None,
            binning_fit_params=fit_params,
        )

    def estimator(self) -> Any:
        """The logistic regression fitted on the WoE."""
        from sklearn.linear_model import LogisticRegression  # noqa: PLC0415

        return LogisticRegression(C=self.c, max_iter=2000)


def binning_input(frame: pd.DataFrame, specs: Sequence[FeatureSpec]) -> pd.DataFrame:
    """The frame as optbinning takes it: floats and text (None = missing)."""
    return pd.DataFrame(
        {
            s.name: numeric_values(frame, s.name)
            if s.kind == "numeric"
            else pd.Series(categorical_values(frame, s.name), index=frame.index, dtype=object)
            for s in specs
        },
        index=frame.index,
    )


def _compile_scorecard(
    x: pd.DataFrame, y: npt.NDArray[np.int8], specs: tuple[FeatureSpec, ...], opts: ScorecardOptions
) -> tuple[dict[str, Table], list[str]]:
    """Bin, fit the logistic regression on the WoE and compile the points tables."""
    process = opts.binning_process(specs, select=True)
    process.fit(x, y)
    kept = [str(n) for n in process.get_support(names=True)]
    woe = process.transform(x, metric="woe", metric_missing="empirical")
    # Drop characteristics whose coefficient has the wrong sign (WoE is higher for safer bins,
    # so every coefficient on the log-odds of bad must be <= 0), one at a time.
    while True:
        if not kept:
            raise ValueError("no feature carries enough information to build a scorecard")
        lr = opts.estimator().fit(woe[kept].to_numpy(), y)
        coefs = lr.coef_[0]
        if coefs.max() <= 0:
            break
        kept.pop(int(np.argmax(coefs)))
    intercept = float(lr.intercept_[0])
    n = len(kept)
    tables: dict[str, Table] = {}
    for name, c in zip(kept, coefs, strict=True):
        optb = process.get_binned_variable(name)
        bt = optb.binning_table.build(add_totals=False)
        woe_bins = bt["WoE"].to_numpy(dtype=float)
        points = -(woe_bins * float(c) + intercept / n) * FACTOR + OFFSET / n
        n_bins = len(points) - 2  # the last two rows are Special and Missing
        if optb.dtype == "numerical":
            tables[name] = NumericTable(
                np.asarray(optb.splits, dtype=float), points[:n_bins].copy(), float(points[-1])
            )
        else:
            categories: list[str] = []
            per_category: list[float] = []
            for i, members in enumerate(optb.splits):
                for category in members:
                    categories.append(str(category))
                    per_category.append(float(points[i]))
            tables[name] = CategoricalTable(
                tuple(categories), np.asarray(per_category, dtype=float), float(points[-1])
            )
    return tables, kept


def fit_scorecard(
    frame: pd.DataFrame,
    y: npt.ArrayLike,
    specs: Sequence[FeatureSpec],
    *,
    seed: int = 0,
    calibration_folds: int = 3,
    options: ScorecardOptions | None = None,
) -> ScorecardModel:
    """Fit a points scorecard and compile it.

    optbinning bins each feature (monotonic trends from the specs; characteristics with an
    information value below ``options.min_iv`` are dropped), a logistic regression is fitted on
    the weights of evidence (characteristics with a counter-intuitive sign are dropped one by
    one), the points are scaled (module docstring) and compiled to split/category tables.
    The PD is Platt scaling of the total points, fitted on out-of-fold points from
    ``calibration_folds`` refits (0: the logistic regression's own in-sample mapping).

    Args:
        frame: one column per spec, nothing else.
        y: 1 = bad, 0 = good.
        specs: the features.
        seed: the fold split's seed (the fit is otherwise deterministic).
        calibration_folds: folds for the out-of-fold calibration.
        options: binning and regression settings.
    """
    target = check_training(frame, y, specs)
    specs = tuple(specs)
    opts = options or ScorecardOptions()
    x = binning_input(frame, specs)
    tables, kept = _compile_scorecard(x, target, specs, opts)
    model = ScorecardModel(specs, tables, {}, Platt(-1.0 / FACTOR, OFFSET / FACTOR))
    parts = model._points(frame)
    average = {name: float(parts[name].mean()) for name in kept}
    if calibration_folds >= 2:
        oof = np.zeros(len(frame))
        from sklearn.model_selection import StratifiedKFold  # noqa: PLC0415

        folds = StratifiedKFold(calibration_folds, shuffle=True, random_state=seed)
        for fit_idx, held_idx in folds.split(x, target):
            fold_tables, _ = _compile_scorecard(x.iloc[fit_idx], target[fit_idx], specs, opts)
            fold = ScorecardModel(specs, fold_tables, {}, model.calibration)
            oof[held_idx] = fold.score_points(frame.iloc[held_idx])
        calibration = Platt.fit(oof, target)
    else:
        calibration = model.calibration
    return ScorecardModel(specs, tables, average, calibration)


# ------------------------------------------------------------------------------------ LightGBM

DEFAULT_LGB_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 15,
    "max_depth": 6,
    "min_data_in_leaf": 40,
    "feature_fraction": 0.7,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 5.0,
    "min_data_per_group": 30,
    "cat_smooth": 20.0,
    "max_cat_to_onehot": 8,
    "max_bin": 127,
    # "advanced" can break the constraints (LightGBM issues #5358, #6155; seen with 4.7)
    "monotone_constraints_method": "intermediate",
    "num_boost_round": 600,
    "early_stopping_round": 100,
    "validation_fraction": 0.2,
}


@dataclass(frozen=True)
class GBMModel:
    """A LightGBM booster with its category codes and a Platt calibration of its log-odds.

    Attributes:
        specs: the features, in the booster's column order.
        categories: each categorical feature's known categories (code = position).
        booster: the trained booster.
        calibration: Platt scaling of the raw log-odds, fitted on the validation split.
        num_threads: threads used for prediction (0 = OpenMP default).
    """

    specs: tuple[FeatureSpec, ...]
    categories: dict[str, tuple[str, ...]]
    booster: lgb.Booster
    calibration: Platt
    num_threads: int = 0
    kind: ModelKind = "lightgbm"

    def matrix(self, frame: pd.DataFrame) -> FloatArray:
        """The booster's input: floats, categories as codes (NaN = missing or unseen)."""
        check_columns(frame, self.specs)
        return encode_matrix(frame, self.specs, self.categories)

    def raw_score(self, frame: pd.DataFrame) -> FloatArray:
        """Uncalibrated log-odds of bad."""
        out: FloatArray = np.asarray(
            self.booster.predict(self.matrix(frame), raw_score=True, num_threads=self.num_threads),
            dtype=float,
        )
        return out

    def predict_pd(self, frame: pd.DataFrame) -> FloatArray:
        """Calibrated PD of each row."""
        return self.calibration(self.raw_score(frame))

    def explain(self, frame: pd.DataFrame, top: int = 5) -> list[Factor]:
        """TreeSHAP contributions (log-odds of bad) of each feature."""
        one_row(frame)
        return self.explain_many(frame, top)[0]

    def explain_many(self, frame: pd.DataFrame, top: int = 5) -> list[list[Factor]]:
        """``explain`` of every row, in one call of the booster."""
        rows = np.asarray(
            self.booster.predict(self.matrix(frame), pred_contrib=True, num_threads=1)
        )
        values = {s.name: frame[s.name].to_numpy() for s in self.specs}
        return [
            rank_factors(
                [
                    Factor(
                        s.name,
                        display_value(values[s.name][r]),
                        float(contrib[i]),
                        f"{s.description or s.name}: {contrib[i]:+.3f} log-odds",
                    )
                    for i, s in enumerate(self.specs)
                ],
                top,
            )
            for r, contrib in enumerate(rows)
        ]

    def to_json(self) -> dict[str, Any]:
        """The booster as LightGBM's model text, codes and calibration as JSON."""
        return {
            "kind": "lightgbm",
            "format": FORMAT_VERSION,
            "specs": [s.as_json() for s in self.specs],
            "categories": {k: list(v) for k, v in self.categories.items()},
            "booster": self.booster.model_to_string(),
            "calibration": self.calibration.as_json(),
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> GBMModel:
        """Read :meth:`to_json` back."""
        import lightgbm as lgb  # noqa: PLC0415

        return cls(
            specs_from_json(d["specs"]),
            {k: tuple(v) for k, v in d["categories"].items()},
            lgb.Booster(model_str=d["booster"]),
            Platt.from_json(d["calibration"]),
        )


def encode_matrix(
    frame: pd.DataFrame, specs: Sequence[FeatureSpec], categories: dict[str, tuple[str, ...]]
) -> FloatArray:
    """A float matrix of the specs' columns; categories as codes, NaN for missing or unseen."""
    out = np.empty((len(frame), len(specs)), dtype=np.float64)
    for j, s in enumerate(specs):
        if s.kind == "numeric":
            out[:, j] = numeric_values(frame, s.name)
        else:
            codes = category_codes(categorical_values(frame, s.name), categories[s.name])
            column = codes.astype(np.float64)
            column[codes < 0] = np.nan
            out[:, j] = column
    return out


def fit_lightgbm(
    frame: pd.DataFrame,
    y: npt.ArrayLike,
    specs: Sequence[FeatureSpec],
    *,
    seed: int = 0,
    params: dict[str, Any] | None = None,
) -> GBMModel:
    """Fit a LightGBM challenger.

    Categorical features use LightGBM's categorical splits; numeric features whose spec is
    ascending or descending get a monotone constraint. A stratified ``validation_fraction`` of
    the rows is held out for early stopping and the Platt calibration of the log-odds; the
    booster is trained on the rest.

    Args:
        frame: one column per spec, nothing else.
        y: 1 = bad, 0 = good.
        specs: the features.
        seed: seed of the split and of LightGBM's bagging.
        params: LightGBM parameters overriding :data:`DEFAULT_LGB_PARAMS` (plus
            ``num_boost_round``, ``early_stopping_round`` and ``validation_fraction``).
    """
    target = check_training(frame, y, specs)
    specs = tuple(specs)
    settings = {**DEFAULT_LGB_PARAMS, **(params or {})}
    rounds = int(settings.pop("num_boost_round"))
    patience = int(settings.pop("early_stopping_round"))
    fraction = float(settings.pop("validation_fraction"))
    categories: dict[str, tuple[str, ...]] = {}
    for s in specs:
        if s.kind == "categorical":
            values = categorical_values(frame, s.name)
            categories[s.name] = tuple(sorted({str(v) for v in values if v is not None}))
    x = encode_matrix(frame, specs, categories)
    from sklearn.model_selection import train_test_split  # noqa: PLC0415

    fit_idx, val_idx = train_test_split(
        np.arange(len(frame)), test_size=fraction, stratify=target, random_state=seed
    )
    booster_params: dict[str, Any] = {
        **settings,
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
        "verbosity": -1,
        "num_threads": settings.get("num_threads", 1),  # small data: one thread is fastest
        "monotone_constraints": [
            LIGHTGBM_CONSTRAINT.get(s.monotonic, 0) if s.kind == "numeric" else 0 for s in specs
        ],
    }
    names = [s.name for s in specs]
    cat_index = [j for j, s in enumerate(specs) if s.kind == "categorical"]
    import lightgbm as lgb  # noqa: PLC0415

    train_set = lgb.Dataset(
        x[fit_idx],
        target[fit_idx],
        feature_name=names,
        categorical_feature=cat_index,
        params={"max_bin": booster_params["max_bin"], "verbosity": -1},
        free_raw_data=True,
    )
    valid_set = lgb.Dataset(x[val_idx], target[val_idx], reference=train_set)
    booster = lgb.train(
        booster_params,
        train_set,
        num_boost_round=rounds,
        valid_sets=[valid_set],
        callbacks=[lgb.early_stopping(patience, verbose=False)],
    )
    booster.free_dataset()
    # keep only the best iteration so that the saved model is what was validated
    booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=booster.best_iteration))
    margin = np.asarray(booster.predict(x[val_idx], raw_score=True), dtype=float)
    return GBMModel(specs, categories, booster, Platt.fit(margin, target[val_idx]))


# ------------------------------------------------------------------------------------ logistic


@dataclass(frozen=True)
class LogisticModel:
    """Logistic regression on clipped, standardised numbers and one-hot categories.

    Missing numbers take the training median (and a missing flag when the training data had
    missing values); unseen categories have no column. The output is the PD directly.
    """

    specs: tuple[FeatureSpec, ...]
    numeric: dict[str, dict[str, float]]
    categorical: dict[str, dict[str, float]]
    intercept: float
    average: dict[str, float]
    kind: ModelKind = "logistic"

    def terms(self, frame: pd.DataFrame) -> dict[str, FloatArray]:
        """Each feature's log-odds term per row."""
        check_columns(frame, self.specs)
        out: dict[str, FloatArray] = {}
        for name, p in self.numeric.items():
            x = numeric_values(frame, name)
            nan = np.isnan(x)
            z = (np.clip(np.where(nan, p["median"], x), p["low"], p["high"]) - p["mean"]) / p["std"]
            out[name] = p["coef"] * z + p.get("missing_coef", 0.0) * nan
        for name, coefs in self.categorical.items():
            categories = tuple(coefs)
            lookup = np.append(np.asarray(list(coefs.values()), dtype=float), 0.0)
            out[name] = lookup[category_codes(categorical_values(frame, name), categories)]
        return out

    def predict_pd(self, frame: pd.DataFrame) -> FloatArray:
        """PD of each row."""
        total: FloatArray = np.full(len(frame), self.intercept)
        for term in self.terms(frame).values():
            total += term
        return sigmoid(total)

    def explain(self, frame: pd.DataFrame, top: int = 5) -> list[Factor]:
        """Each feature's log-odds term against its training average."""
        one_row(frame)
        return self.explain_many(frame, top)[0]

    def explain_many(self, frame: pd.DataFrame, top: int = 5) -> list[list[Factor]]:
        """``explain`` of every row, the terms worked out once over all the rows."""
        described = {s.name: s.description or s.name for s in self.specs}
        terms = self.terms(frame)
        values = {name: frame[name].to_numpy() for name in terms}
        return [
            rank_factors(
                [
                    Factor(
                        name,
                        display_value(values[name][r]),
                        float(term[r]) - self.average[name],
                        f"{described[name]}: {float(term[r]) - self.average[name]:+.3f} log-odds",
                    )
                    for name, term in terms.items()
                ],
                top,
            )
            for r in range(len(frame))
        ]

    def to_json(self) -> dict[str, Any]:
        """Coefficients and preprocessing as JSON."""
        return {
            "kind": "logistic",
            "format": FORMAT_VERSION,
            "specs": [s.as_json() for s in self.specs],
            "numeric": self.numeric,
            "categorical": self.categorical,
            "intercept": self.intercept,
            "average": self.average,
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> LogisticModel:
        """Read :meth:`to_json` back."""
        return cls(
            specs_from_json(d["specs"]),
            d["numeric"],
            d["categorical"],
            float(d["intercept"]),
            d["average"],
        )


def fit_logistic(
    frame: pd.DataFrame,
    y: npt.ArrayLike,
    specs: Sequence[FeatureSpec],
    *,
    seed: int = 0,
    c: float = 0.1,
) -> LogisticModel:
    """Fit the logistic-regression baseline (L2, ``C = c``)."""
    del seed  # lbfgs is deterministic
    target = check_training(frame, y, specs)
    specs = tuple(specs)
    columns: list[FloatArray] = []
    layout: list[tuple[str, str]] = []
    numeric: dict[str, dict[str, float]] = {}
    for s in specs:
        if s.kind != "numeric":
            continue
        x = numeric_values(frame, s.name)
        nan = np.isnan(x)
        seen = x[~nan]
        if seen.size == 0:
            continue
        low, high = np.quantile(seen, [0.01, 0.99])
        median = float(np.median(seen))
        clipped = np.clip(np.where(nan, median, x), low, high)
        std = float(clipped.std()) or 1.0
        numeric[s.name] = {
            "low": float(low),
            "high": float(high),
            "median": median,
            "mean": float(clipped.mean()),
            "std": std,
        }
        columns.append((clipped - clipped.mean()) / std)
        layout.append((s.name, "coef"))
        if nan.any():
            columns.append(nan.astype(float))
            layout.append((s.name, "missing_coef"))
    categorical: dict[str, dict[str, float]] = {}
    for s in specs:
        if s.kind != "categorical":
            continue
        values = categorical_values(frame, s.name)
        categories = sorted({str(v) for v in values if v is not None})
        categorical[s.name] = {}
        for category in categories:
            columns.append((values == category).astype(float))
            layout.append((s.name, category))
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415

    lr = LogisticRegression(C=c, max_iter=5000).fit(np.column_stack(columns), target)
    for (name, slot), coef in zip(layout, lr.coef_[0], strict=True):
        if name in numeric and slot in ("coef", "missing_coef"):
            numeric[name][slot] = float(coef)
        else:
            categorical[name][slot] = float(coef)
    model = LogisticModel(specs, numeric, categorical, float(lr.intercept_[0]), {})
    average = {name: float(term.mean()) for name, term in model.terms(frame).items()}
    return dataclasses.replace(model, average=average)


# --------------------------------------------------------------------------------------- blend


@dataclass(frozen=True)
class BlendModel:
    """The weighted mean of member models' PDs; explanations come from the first member."""

    members: tuple[CreditModel, ...]
    weights: tuple[float, ...]
    kind: ModelKind = "blend"

    @property
    def specs(self) -> tuple[FeatureSpec, ...]:
        """The first member's specs."""
        return self.members[0].specs

    def predict_pd(self, frame: pd.DataFrame) -> FloatArray:
        """Weighted mean of the members' PDs."""
        total: FloatArray = np.zeros(len(frame))
        for model, weight in zip(self.members, self.weights, strict=True):
            total += weight * model.predict_pd(frame)
        return total / sum(self.weights)

    def explain(self, frame: pd.DataFrame, top: int = 5) -> list[Factor]:
        """The first member's explanation."""
        return self.members[0].explain(frame, top)

    def explain_many(self, frame: pd.DataFrame, top: int = 5) -> list[list[Factor]]:
        """The first member's explanation of every row (``explain_rows``)."""
        return explain_rows(self.members[0], frame, top)

    def to_json(self) -> dict[str, Any]:
        """The members' JSON and the weights."""
        return {
            "kind": "blend",
            "format": FORMAT_VERSION,
            "members": [m.to_json() for m in self.members],
            "weights": list(self.weights),
        }


def explain_rows(model: CreditModel, frame: pd.DataFrame, top: int = 5) -> list[list[Factor]]:
    """``model.explain`` of every row of ``frame``: in one pass over the rows where the model
    explains many at once (``explain_many``), a row at a time otherwise."""
    many = getattr(model, "explain_many", None)
    if many is not None:
        explained: list[list[Factor]] = many(frame, top)
        return explained
    return [model.explain(frame.iloc[[r]], top) for r in range(len(frame))]


def model_from_json(d: dict[str, Any]) -> CreditModel:
    """A model from its :meth:`to_json` object."""
    if d.get("format") != FORMAT_VERSION:
        raise ValueError(f"unsupported model format {d.get('format')!r} (expected 1)")
    kind = d.get("kind")
    if kind == "scorecard":
        return ScorecardModel.from_json(d)
    if kind == "lightgbm":
        return GBMModel.from_json(d)
    if kind == "logistic":
        return LogisticModel.from_json(d)
    if kind == "blend":
        return BlendModel(
            tuple(model_from_json(m) for m in d["members"]),
            tuple(float(w) for w in d["weights"]),
        )
    raise ValueError(f"unknown model kind {kind!r}")
