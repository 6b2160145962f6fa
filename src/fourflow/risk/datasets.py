"""Loaders for the three public credit datasets, with their feature engineering (docs/risk.md).

Each loader returns ``(frame, y, specs)``: the feature frame, the 0/1 target (1 = bad) and one
:class:`~fourflow.risk.models.FeatureSpec` per column of the frame. Monotonic trends are stated
as the direction of *risk* when the feature grows ("ascending" = riskier with larger values).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from fourflow.risk.models import FeatureSpec, Monotonic

Dataset = Literal["taiwan", "german", "ar"]
DATASETS: tuple[Dataset, ...] = ("taiwan", "german", "ar")

TAIWAN_FILE = "taiwan_default/default_of_credit_card_clients.csv"
GERMAN_FILE = "german_credit/german.data"
AR_FILE = "ibm_accounts_receivable/WA_Fn-UseC_-Accounts-Receivable.csv"
TAIWAN_TARGET = "default payment next month"

Loaded = tuple[pd.DataFrame, np.ndarray, tuple[FeatureSpec, ...]]


class DatasetError(ValueError):
    """A dataset file is missing or malformed (the message names the file and line)."""


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise DatasetError(f"{path}: file not found")


_CODE = re.compile(r"(X\d+|Y|ID)?")


def _is_code_row(row: Sequence[str]) -> bool:
    """A UCI variable-code row (``,X1,X2,...,X23,Y``), which the UCI Taiwan file has on top."""
    cells = [cell.strip() for cell in row]
    return any(cells) and all(_CODE.fullmatch(cell) for cell in cells)


def _read_csv(path: Path, required: Sequence[str]) -> pd.DataFrame:
    """Read a CSV whose header must hold ``required``; every row must have the header's width.

    A UCI variable-code row (``X1 ... Y``) just above or below the header is skipped.
    """
    _check_file(path)
    with path.open(encoding="utf-8-sig", newline="") as file:
        rows = list(csv.reader(file))
    if not rows:
        raise DatasetError(f"{path}: line 1: empty file, expected a header")
    at = 1 if len(rows) > 1 and _is_code_row(rows[0]) else 0
    header = [h.strip() for h in rows[at]]
    missing = [c for c in required if c not in header]
    if missing:
        raise DatasetError(f"{path}: line {at + 1}: header lacks column(s) {', '.join(missing)}")
    first = at + 1
    if len(rows) > first and _is_code_row(rows[first]):
        first += 1
    for number, row in enumerate(rows[first:], start=first + 1):
        if len(row) != len(header):
            raise DatasetError(
                f"{path}: line {number}: {len(row)} fields, the header has {len(header)}"
            )
    if len(rows) <= first:
        raise DatasetError(f"{path}: no data rows")
    frame = pd.DataFrame(rows[first:], columns=header)
    frame.attrs["lines"] = list(range(first + 1, len(rows) + 1))
    return frame


def _line(frame: pd.DataFrame, row: int) -> int:
    """The file's line number of the frame's ``row`` (kept by the reader in ``attrs``)."""
    lines: list[int] = frame.attrs["lines"]
    return lines[row]


def _numeric(frame: pd.DataFrame, column: str, path: Path) -> np.ndarray:
    values: np.ndarray = pd.to_numeric(frame[column].str.strip(), errors="coerce").to_numpy(
        dtype=float
    )
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        line = _line(frame, int(bad[0]))
        raise DatasetError(
            f"{path}: line {line}: column {column!r} is not a number: "
            f"{frame[column].iloc[bad[0]]!r}"
        )
    return values


def _dates(frame: pd.DataFrame, column: str, path: Path) -> np.ndarray:
    parsed = pd.to_datetime(frame[column].str.strip(), format="%m/%d/%Y", errors="coerce")
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if bad.size:
        line = _line(frame, int(bad[0]))
        raise DatasetError(
            f"{path}: line {line}: column {column!r} is not a M/D/YYYY date: "
            f"{frame[column].iloc[bad[0]]!r}"
        )
    days: np.ndarray = parsed.to_numpy().astype("datetime64[D]").astype(np.int64)
    return days


def _binary_target(
    frame: pd.DataFrame, values: np.ndarray, bad: float, good: float, what: str, path: Path
) -> np.ndarray:
    wrong = np.flatnonzero((values != bad) & (values != good))
    if wrong.size:
        raise DatasetError(
            f"{path}: line {_line(frame, int(wrong[0]))}: target {what} must be {good:g} or "
            f"{bad:g}, got {values[wrong[0]]:g}"
        )
    target: np.ndarray = (values == bad).astype(np.int8)
    return target


def _ratio(num: np.ndarray, den: np.ndarray, *, clip: float = 10.0) -> np.ndarray:
    """``num / den`` where ``den > 0``, NaN elsewhere, clipped to ``[-clip, clip]``."""
    out = np.full(num.shape, np.nan)
    ok = den > 0
    out[ok] = np.clip(num[ok] / den[ok], -clip, clip)
    return out


# --------------------------------------------------------------------------------------- Taiwan


def load_taiwan(path: Path) -> Loaded:
    """Taiwan default of credit card clients (Yeh & Lien 2009); target = default next month.

    Features: the raw limit, demographics, repayment statuses, bills and payments, plus
    utilisation (bill / limit), payment-to-previous-bill ratios, delinquency counts, worst and
    trend, bill trend and headroom. ``PAY_0`` is the latest month (September), ``PAY_6`` April.
    """
    months = ("PAY_0", "PAY_2", "PAY_3", "PAY_4", "PAY_5", "PAY_6")
    bills = tuple(f"BILL_AMT{i}" for i in range(1, 7))
    pays = tuple(f"PAY_AMT{i}" for i in range(1, 7))
    raw = _read_csv(
        path,
        ("LIMIT_BAL", "SEX", "EDUCATION", "MARRIAGE", "AGE", *months, *bills, *pays, TAIWAN_TARGET),
    )
    num = {c: _numeric(raw, c, path) for c in raw.columns if c != "ID"}
    y = _binary_target(raw, num[TAIWAN_TARGET], 1.0, 0.0, repr(TAIWAN_TARGET), path)
    limit = num["LIMIT_BAL"]
    status = np.column_stack([num[c] for c in months])
    bill = np.column_stack([num[c] for c in bills])
    pay = np.column_stack([num[c] for c in pays])
    late = status > 0
    education = num["EDUCATION"].astype(int)
    education[(education < 1) | (education > 3)] = 4  # 0, 5, 6 are undocumented: "other"
    marriage = num["MARRIAGE"].astype(int)
    marriage[(marriage < 1) | (marriage > 2)] = 3
    paid_share = _ratio(pay[:, :5], bill[:, 1:])  # PAY_AMTk pays the statement BILL_AMT(k+1)
    cols: dict[str, np.ndarray] = {
        "limit": limit,
        "age": num["AGE"],
        "sex": num["SEX"].astype(int).astype(str),
        "education": education.astype(str),
        "marriage": marriage.astype(str),
    }
    for i in range(len(months)):
        cols[f"status_{i + 1}"] = status[:, i]
    for i in range(6):
        cols[f"bill_{i + 1}"] = bill[:, i]
        cols[f"paid_{i + 1}"] = pay[:, i]
    for i in range(5):
        cols[f"paid_share_{i + 1}"] = paid_share[:, i]
    with np.errstate(invalid="ignore"):
        cols.update(
            {
                "util_1": bill[:, 0] / limit,
                "util_mean": bill.mean(axis=1) / limit,
                "util_max": bill.max(axis=1) / limit,
                "headroom": limit - bill[:, 0],
                "bill_trend": (bill[:, 0] - bill[:, 5]) / limit,
                "paid_total_share": _ratio(pay[:, :5].sum(axis=1), bill[:, 1:].sum(axis=1)),
                "paid_mean_share": _nanmean_rows(paid_share),
                "paid_total_limit": pay.sum(axis=1) / limit,
                "months_late": late.sum(axis=1).astype(float),
                "months_late_3": late[:, :3].sum(axis=1).astype(float),
                "worst_status": status.max(axis=1),
                "status_trend": status[:, 0] - status[:, 2],
                "months_no_use": (status == -2).sum(axis=1).astype(float),
                "months_paid_in_full": (status == -1).sum(axis=1).astype(float),
                "months_zero_paid": (pay == 0).sum(axis=1).astype(float),
            }
        )
    frame = pd.DataFrame(cols)
    described: dict[str, tuple[Monotonic, str]] = {
        "limit": ("descending", "credit limit (NT$)"),
        "age": ("auto", "age in years"),
        "sex": ("auto", "sex (1 male, 2 female)"),
        "education": (
            "auto",
            "education (1 graduate school, 2 university, 3 high school, 4 other)",
        ),
        "marriage": ("auto", "marital status (1 married, 2 single, 3 other)"),
        "util_1": ("auto", "latest bill / limit"),
        "util_mean": ("auto", "mean bill over 6 months / limit"),
        "util_max": ("auto", "highest bill over 6 months / limit"),
        "headroom": ("auto", "limit minus the latest bill"),
        "bill_trend": ("auto", "(latest bill - bill 6 months ago) / limit"),
        "paid_total_share": ("descending", "payments / previous bills over 5 months"),
        "paid_mean_share": ("descending", "mean monthly payment / previous bill"),
        "paid_total_limit": ("descending", "payments over 6 months / limit"),
        "months_late": ("ascending", "months with a payment delay"),
        "months_late_3": ("ascending", "months with a payment delay among the last 3"),
        "worst_status": ("auto", "worst repayment status over 6 months"),
        "status_trend": ("auto", "latest status minus status 3 months ago"),
        "months_no_use": ("auto", "months without consumption"),
        "months_paid_in_full": ("auto", "months paid in full"),
        "months_zero_paid": ("ascending", "months with no payment"),
    }
    for i in range(6):
        described[f"status_{i + 1}"] = ("auto", f"repayment status {i} month(s) before the latest")
        described[f"bill_{i + 1}"] = ("auto", f"bill statement {i} month(s) before the latest")
        described[f"paid_{i + 1}"] = ("auto", f"amount paid {i} month(s) before the latest")
    for i in range(5):
        described[f"paid_share_{i + 1}"] = ("auto", f"payment {i + 1} / the bill it pays")
    return frame, y, _specs(frame, described, categorical={"sex", "education", "marriage"})


def _specs(
    frame: pd.DataFrame, described: dict[str, tuple[Monotonic, str]], *, categorical: set[str]
) -> tuple[FeatureSpec, ...]:
    return tuple(
        FeatureSpec(
            name,
            "categorical" if name in categorical else "numeric",
            described[name][0],
            described[name][1],
        )
        for name in frame.columns
    )


def _nanmean_rows(values: np.ndarray) -> np.ndarray:
    count = (~np.isnan(values)).sum(axis=1)
    total = np.nansum(values, axis=1)
    out = np.full(values.shape[0], np.nan)
    ok = count > 0
    out[ok] = total[ok] / count[ok]
    return out


# --------------------------------------------------------------------------------------- German

GERMAN_COLUMNS: tuple[tuple[str, str, Monotonic, str], ...] = (
    ("checking", "categorical", "auto", "status of the checking account"),
    ("duration", "numeric", "ascending", "duration in months"),
    ("history", "categorical", "auto", "credit history"),
    ("purpose", "categorical", "auto", "purpose of the credit"),
    ("amount", "numeric", "auto", "credit amount (DM)"),
    ("savings", "categorical", "auto", "savings account / bonds"),
    ("employment", "categorical", "auto", "present employment since"),
    ("installment_rate", "numeric", "ascending", "instalment in % of disposable income"),
    ("status_sex", "categorical", "auto", "personal status and sex"),
    ("other_debtors", "categorical", "auto", "other debtors / guarantors"),
    ("residence", "numeric", "auto", "present residence since (years)"),
    ("property", "categorical", "auto", "most valuable property"),
    ("age", "numeric", "descending", "age in years"),
    ("other_plans", "categorical", "auto", "other instalment plans"),
    ("housing", "categorical", "auto", "housing"),
    ("existing_credits", "numeric", "auto", "number of existing credits at this bank"),
    ("job", "categorical", "auto", "job"),
    ("liable", "numeric", "auto", "people liable to provide maintenance for"),
    ("telephone", "categorical", "auto", "telephone registered"),
    ("foreign", "categorical", "auto", "foreign worker"),
)


def load_german(path: Path) -> Loaded:
    """UCI Statlog German credit, categorical version (``german.data``); target 2 = bad.

    The UCI file has no header; the shared copy has a header line added by its source
    repository, which is checked and skipped. Added features: monthly amount (amount /
    duration) and its log, and the log amount.
    """
    _check_file(path)
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    width = len(GERMAN_COLUMNS) + 1
    if not lines:
        raise DatasetError(f"{path}: no data rows")
    first = lines[0].split()
    headed = not first[:1] or not first[0].startswith("A")  # a data row starts with an A-code
    if headed and (len(first) != width or first[-1] != "target"):
        raise DatasetError(
            f"{path}: line 1: expected a header of {width} names ending in 'target', or a row "
            "of data"
        )
    rows: list[list[str]] = []
    numbers: list[int] = []
    for number, line in enumerate(lines[int(headed) :], start=1 + int(headed)):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != width:
            raise DatasetError(f"{path}: line {number}: {len(fields)} fields, expected {width}")
        rows.append(fields)
        numbers.append(number)
    if not rows:
        raise DatasetError(f"{path}: no data rows")
    names = [c[0] for c in GERMAN_COLUMNS]
    raw = pd.DataFrame(rows, columns=[*names, "target"])
    raw.attrs["lines"] = numbers
    y = _binary_target(raw, _numeric(raw, "target", path), 2.0, 1.0, "'target'", path)
    cols: dict[str, np.ndarray] = {}
    for name, kind, _, _ in GERMAN_COLUMNS:
        if kind == "numeric":
            cols[name] = _numeric(raw, name, path)
        else:
            values = raw[name].to_numpy(dtype=object)
            wrong = [i for i, v in enumerate(values) if not str(v).startswith("A")]
            if wrong:
                raise DatasetError(
                    f"{path}: line {_line(raw, wrong[0])}: column {name!r} is not an A-code: "
                    f"{values[wrong[0]]!r}"
                )
            cols[name] = values.astype(str)
    cols["monthly_amount"] = cols["amount"] / np.maximum(cols["duration"], 1.0)
    cols["log_amount"] = np.log1p(cols["amount"])
    frame = pd.DataFrame(cols)
    described: dict[str, tuple[Monotonic, str]] = {c[0]: (c[2], c[3]) for c in GERMAN_COLUMNS}
    described["monthly_amount"] = ("auto", "credit amount / duration")
    described["log_amount"] = ("auto", "log(1 + credit amount)")
    categorical = {c[0] for c in GERMAN_COLUMNS if c[1] == "categorical"}
    return frame, y, _specs(frame, described, categorical=categorical)


# ------------------------------------------------------------------------ accounts receivable

AR_COLUMNS = (
    "countryCode",
    "customerID",
    "PaperlessDate",
    "invoiceNumber",
    "InvoiceDate",
    "DueDate",
    "InvoiceAmount",
    "Disputed",
    "SettledDate",
    "PaperlessBill",
    "DaysToSettle",
    "DaysLate",
)


def _ar_table(path: Path) -> pd.DataFrame:
    raw = _read_csv(path, AR_COLUMNS)
    table = pd.DataFrame(
        {
            "customer": raw["customerID"].str.strip().to_numpy(dtype=object),
            "country": _numeric(raw, "countryCode", path).astype(int).astype(str),
            "invoice": _dates(raw, "InvoiceDate", path),
            "due": _dates(raw, "DueDate", path),
            "settled": _dates(raw, "SettledDate", path),
            "paperless_since": _dates(raw, "PaperlessDate", path),
            "amount": _numeric(raw, "InvoiceAmount", path),
            "days_late": _numeric(raw, "DaysLate", path),
            "disputed": (raw["Disputed"].str.strip() == "Yes").to_numpy(dtype=float),
        }
    )
    wrong = np.flatnonzero(table["settled"].to_numpy() < table["invoice"].to_numpy())
    if wrong.size:
        line = _line(raw, int(wrong[0]))
        raise DatasetError(f"{path}: line {line}: SettledDate before InvoiceDate")
    return table


def load_ar(path: Path, *, history: Sequence[Path] = ()) -> Loaded:
    """IBM accounts receivable; target = the invoice was paid late (``DaysLate > 0``).

    Only what is known on the invoice date is used: amount, country, paperless enrolment at that
    date, terms, calendar, and the customer's history built from its invoices *settled strictly
    before* the invoice date (count, late rate, days late, disputes, recency, amounts), plus its
    invoices open on that date (issued before, not yet settled; how many are already overdue).
    The invoice's own ``Disputed``, ``SettledDate``, ``DaysToSettle`` and ``DaysLate`` are not
    features.

    Args:
        path: the CSV whose invoices are returned.
        history: more CSVs of the same ledger whose invoices count as history only (for
            example the training file when ``path`` is a test file); their rows are not returned.
    """
    rows = _ar_table(path)
    past = pd.concat([rows, *(_ar_table(p) for p in history)], ignore_index=True)
    y = (rows["days_late"].to_numpy() > 0).astype(np.int8)
    features = _ar_features(rows, past)
    described: dict[str, tuple[Monotonic, str]] = {
        "amount": ("auto", "invoice amount"),
        "country": ("auto", "customer's country code"),
        "paperless": ("auto", "enrolled in paperless billing on the invoice date (1/0)"),
        "paperless_days": ("auto", "days since paperless enrolment (0 if not enrolled)"),
        "terms": ("auto", "payment terms in days (due date - invoice date)"),
        "month": ("none", "invoice month"),
        "weekday": ("none", "invoice weekday (0 Monday)"),
        "day": ("none", "invoice day of month"),
        "hist_count": ("auto", "customer's invoices settled before the invoice date"),
        "hist_late_rate": ("ascending", "share of them paid late"),
        "hist_late_rate_5": ("ascending", "share of the last 5 paid late"),
        "hist_days_late_mean": ("ascending", "mean days late of them"),
        "hist_days_late_max": ("ascending", "most days late among them"),
        "hist_days_late_last": ("ascending", "days late of the last settled one"),
        "hist_settle_mean": ("ascending", "mean days to settle of them"),
        "hist_settle_median": ("ascending", "median days to settle of them"),
        "hist_settle_5": ("ascending", "mean days to settle of the last 5"),
        "hist_settle_last": ("ascending", "days to settle of the last one"),
        "hist_settle_min": ("ascending", "fewest days to settle among them"),
        "hist_settle_std": ("auto", "spread of their days to settle"),
        "hist_settle_ewm": ("ascending", "days to settle, recent ones weighing most (0.7 decay)"),
        "hist_settle_channel": ("ascending", "mean days to settle of those billed the same way"),
        "hist_dispute_rate": ("auto", "share of them disputed"),
        "hist_amount_mean": ("auto", "mean amount of them"),
        "amount_vs_hist": ("auto", "invoice amount / their mean amount"),
        "days_since_settled": ("auto", "days since the customer's last settlement"),
        "days_since_invoice": ("auto", "days since the customer's previous invoice"),
        "open_count": ("auto", "customer's invoices open on the invoice date"),
        "open_overdue": ("ascending", "of which already past due"),
        "open_amount": ("auto", "amount of the open invoices"),
        "open_oldest_age": ("auto", "days since the oldest open invoice was issued"),
    }
    return features, y, _specs(features, described, categorical={"country"})


HISTORY_FEATURES = (
    "hist_count",
    "hist_late_rate",
    "hist_late_rate_5",
    "hist_days_late_mean",
    "hist_days_late_max",
    "hist_days_late_last",
    "hist_settle_mean",
    "hist_settle_median",
    "hist_settle_5",
    "hist_settle_last",
    "hist_settle_min",
    "hist_settle_std",
    "hist_settle_ewm",
    "hist_settle_channel",
    "hist_dispute_rate",
    "hist_amount_mean",
    "amount_vs_hist",
    "days_since_settled",
    "days_since_invoice",
    "open_count",
    "open_overdue",
    "open_amount",
    "open_oldest_age",
)


def _history(
    day: int, amount: float, paperless: bool, theirs: dict[str, np.ndarray]
) -> dict[str, float]:
    """One invoice's customer-history features from that customer's ledger rows."""
    nan = float("nan")
    out = dict.fromkeys(HISTORY_FEATURES, nan)
    issued, settled = theirs["invoice"], theirs["settled"]
    before = issued < day
    is_open = before & (settled >= day)
    out["open_count"] = float(is_open.sum())
    out["open_overdue"] = float((is_open & (theirs["due"] < day)).sum())
    out["open_amount"] = float(theirs["amount"][is_open].sum())
    out["open_oldest_age"] = float(day - issued[is_open].min()) if is_open.any() else 0.0
    if before.any():
        out["days_since_invoice"] = float(day - issued[before].max())
    known = settled < day  # settled strictly before the invoice date; rows sorted by settlement
    count = int(known.sum())
    out["hist_count"] = float(count)
    if count == 0:
        return out
    late = theirs["days_late"][known]
    settle = (settled - issued)[known].astype(float)
    weights = 0.7 ** np.arange(count)[::-1]  # the latest settlement weighs most
    same = theirs["paperless"][known] == paperless
    out.update(
        {
            "hist_late_rate": float((late > 0).mean()),
            "hist_late_rate_5": float((late[-5:] > 0).mean()),
            "hist_days_late_mean": float(late.mean()),
            "hist_days_late_max": float(late.max()),
            "hist_days_late_last": float(late[-1]),
            "hist_settle_mean": float(settle.mean()),
            "hist_settle_median": float(np.median(settle)),
            "hist_settle_5": float(settle[-5:].mean()),
            "hist_settle_last": float(settle[-1]),
            "hist_settle_min": float(settle.min()),
            "hist_settle_std": float(settle.std()),
            "hist_settle_ewm": float((weights * settle).sum() / weights.sum()),
            "hist_settle_channel": float(settle[same].mean()) if same.any() else nan,
            "hist_dispute_rate": float(theirs["disputed"][known].mean()),
            "hist_amount_mean": float(theirs["amount"][known].mean()),
            "amount_vs_hist": amount / max(float(theirs["amount"][known].mean()), 1e-9),
            "days_since_settled": float(day - settled[known].max()),
        }
    )
    return out


def _ar_features(rows: pd.DataFrame, past: pd.DataFrame) -> pd.DataFrame:
    """One row of features per invoice of ``rows``, history taken from ``past``."""
    invoice = rows["invoice"].to_numpy()
    enrolled = rows["paperless_since"].to_numpy() <= invoice
    past = past.assign(paperless=past["paperless_since"] <= past["invoice"])
    ledgers: dict[str, dict[str, np.ndarray]] = {}
    for customer, group in past.groupby("customer", sort=False):
        theirs = group.sort_values(["settled", "invoice"], kind="stable")
        ledgers[str(customer)] = {c: theirs[c].to_numpy() for c in theirs.columns}
    history = [
        _history(int(day), float(amount), bool(paper), ledgers[str(customer)])
        for customer, day, amount, paper in zip(
            rows["customer"], invoice, rows["amount"], enrolled, strict=True
        )
    ]
    dates = pd.to_datetime(invoice.astype("datetime64[D]"))
    frame = pd.DataFrame(
        {
            "amount": rows["amount"].to_numpy(),
            "country": rows["country"].to_numpy(dtype=object).astype(str),
            "paperless": enrolled.astype(float),
            "paperless_days": np.where(
                enrolled, invoice - rows["paperless_since"].to_numpy(), 0
            ).astype(float),
            "terms": (rows["due"].to_numpy() - invoice).astype(float),
            "month": dates.month.to_numpy().astype(float),
            "weekday": dates.day_of_week.to_numpy().astype(float),
            "day": dates.day.to_numpy().astype(float),
        }
    )
    for name in HISTORY_FEATURES:
        frame[name] = np.array([h[name] for h in history], dtype=float)
    return frame


def customers(path: Path) -> np.ndarray:
    """The customer id of each invoice row of an accounts-receivable CSV (for grouped splits)."""
    groups: np.ndarray = _ar_table(path)["customer"].to_numpy(dtype=object).astype(str)
    return groups


LOADERS: dict[Dataset, Callable[[Path], Loaded]] = {
    "taiwan": load_taiwan,
    "german": load_german,
    "ar": load_ar,
}


def resolve(dataset: Dataset, path: Path) -> Path:
    """``path`` itself, or the dataset's file when ``path`` is the shared ``credit`` folder."""
    if dataset not in LOADERS:
        raise ValueError(f"unknown dataset {dataset!r}: expected one of {', '.join(DATASETS)}")
    if path.is_dir():
        return path / {"taiwan": TAIWAN_FILE, "german": GERMAN_FILE, "ar": AR_FILE}[dataset]
    return path


def load(dataset: Dataset, path: Path) -> Loaded:
    """Load ``dataset`` from ``path`` (a file, or the shared ``credit`` folder)."""
    return LOADERS[dataset](resolve(dataset, path))
