"""Fit the simulator's lead-time and lateness parameters from the shared CSVs and print them.

    .venv/bin/python tools/calibrate.py [--data ../shared/data]

Sources (see ../shared/data/SOURCES.md):
* ``supply_chain/scms_delivery_history/SCMS_Delivery_History_Dataset.csv`` (USAID SCMS):
  ``PO Sent to Vendor Date`` (m/d/yy), ``Scheduled Delivery Date`` and
  ``Delivered to Client Date`` (d-Mon-yy), ``Shipment Mode``.
* ``credit/ibm_accounts_receivable/WA_Fn-UseC_-Accounts-Receivable.csv`` (IBM AR):
  ``customerID``, ``InvoiceDate``, ``DueDate`` (m/d/yyyy), ``DaysToSettle``, ``DaysLate``,
  ``Disputed``.

The printed JSON keys are the names of the constants in
``src/fourflow/simulation/calibration.py``; ``tests/simulation/test_calibration.py`` calls
``fit`` and compares.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import math
import statistics
import time
from collections import Counter
from pathlib import Path

SCMS = Path("supply_chain/scms_delivery_history/SCMS_Delivery_History_Dataset.csv")
IBM_AR = Path("credit/ibm_accounts_receivable/WA_Fn-UseC_-Accounts-Receivable.csv")


def _date(text: str, fmt: str) -> dt.date | None:
    try:
        parsed = time.strptime(text.strip(), fmt)
        return dt.date(parsed.tm_year, parsed.tm_mon, parsed.tm_mday)
    except ValueError:
        return None  # "Date Not Captured", "N/A - From RI (Direct)", "Pre-PQ Process" ...


def _lognormal(days: list[int]) -> tuple[float, float]:
    logs = [math.log(d) for d in days]
    return round(statistics.fmean(logs), 4), round(statistics.stdev(logs), 4)


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4)


def fit_scms(path: Path) -> dict[str, float]:
    """Delivery delay (delivered - scheduled) and lead time (scheduled - PO sent), in days."""
    delays: list[int] = []
    leads: list[int] = []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            scheduled = _date(row["Scheduled Delivery Date"], "%d-%b-%y")
            delivered = _date(row["Delivered to Client Date"], "%d-%b-%y")
            po_sent = _date(row["PO Sent to Vendor Date"], "%m/%d/%y")
            if scheduled and delivered:
                delays.append((delivered - scheduled).days)
            if scheduled and po_sent and (scheduled - po_sent).days > 0:
                leads.append((scheduled - po_sent).days)
    late = [d for d in delays if d > 0]
    early = [-d for d in delays if d < 0]
    late_mu, late_sigma = _lognormal(late)
    early_mu, early_sigma = _lognormal(early)
    lead_mu, lead_sigma = _lognormal(leads)
    return {
        "SCMS_SHIPMENTS": len(delays),
        "DELIVERY_LATE_SHARE": _share(len(late), len(delays)),
        "DELIVERY_EARLY_SHARE": _share(len(early), len(delays)),
        "DELIVERY_LATE_MU": late_mu,
        "DELIVERY_LATE_SIGMA": late_sigma,
        "DELIVERY_EARLY_MU": early_mu,
        "DELIVERY_EARLY_SIGMA": early_sigma,
        "SCMS_LEAD_SAMPLES": len(leads),
        "LEAD_TIME_MU": lead_mu,
        "LEAD_TIME_SIGMA": lead_sigma,
        "LEAD_TIME_MEDIAN_DAYS": float(statistics.median(leads)),
    }


def fit_ibm_ar(path: Path) -> dict[str, float]:
    """Payment terms, share paid late, days late and early, disputes (IBM accounts receivable)."""
    terms: Counter[int] = Counter()
    late: list[int] = []
    early: list[int] = []
    on_due = 0
    disputed = 0
    late_when_disputed: list[int] = []
    late_when_not: list[int] = []
    total = 0
    per_customer: dict[str, list[int]] = {}  # customer -> [invoices, disputed]
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            issued = _date(row["InvoiceDate"], "%m/%d/%Y")
            due = _date(row["DueDate"], "%m/%d/%Y")
            if issued is None or due is None:
                continue
            total += 1
            term = (due - issued).days
            terms[term] += 1
            days_late = int(row["DaysLate"])
            is_disputed = row["Disputed"].strip() == "Yes"
            disputed += is_disputed
            counts = per_customer.setdefault(row["customerID"].strip(), [0, 0])
            counts[0] += 1
            counts[1] += is_disputed
            if days_late > 0:
                late.append(days_late)
                (late_when_disputed if is_disputed else late_when_not).append(days_late)
                continue
            ahead = term - int(row["DaysToSettle"])
            if ahead > 0:
                early.append(ahead)
            else:
                on_due += 1
    late_mu, late_sigma = _lognormal(late)
    early_mu, early_sigma = _lognormal(early)
    (modal_term, modal_count), *_ = terms.most_common(1)
    return {
        "AR_INVOICES": total,
        "AR_MODAL_TERMS_DAYS": float(modal_term),
        "AR_MODAL_TERMS_SHARE": _share(modal_count, total),
        "PAID_LATE_SHARE": _share(len(late), total),
        "PAID_ON_DUE_SHARE": _share(on_due, total),
        "DAYS_LATE_MU": late_mu,
        "DAYS_LATE_SIGMA": late_sigma,
        "DAYS_LATE_MEAN": round(statistics.fmean(late), 2),
        "DAYS_EARLY_MU": early_mu,
        "DAYS_EARLY_SIGMA": early_sigma,
        "DISPUTED_SHARE": _share(disputed, total),
        "PAID_LATE_SHARE_DISPUTED": _share(len(late_when_disputed), disputed),
        "PAID_LATE_SHARE_UNDISPUTED": _share(len(late_when_not), total - disputed),
        "DAYS_LATE_MU_DISPUTED": _lognormal(late_when_disputed)[0],
        "DAYS_LATE_MU_UNDISPUTED": _lognormal(late_when_not)[0],
        "DISPUTE_STRENGTH": _beta_strength(list(per_customer.values()), disputed / total),
    }


def _beta_strength(counts: list[list[int]], mean: float) -> float:
    """a + b of a Beta distribution of customers' dispute propensities (method of moments).

    The spread of the customers' dispute rates, less what their invoice counts alone would
    give (binomial noise), is the spread of the propensities: mean (1 - mean) / (a + b + 1).
    """
    rates = [d / n for n, d in counts]
    noise = statistics.fmean(mean * (1 - mean) / n for n, _ in counts)
    between = statistics.pvariance(rates) - noise
    return round(mean * (1 - mean) / between - 1, 2)


def fit(data_dir: Path) -> dict[str, float]:
    """All fitted figures, keyed by the constant names of ``calibration.py``."""
    return {**fit_scms(data_dir / SCMS), **fit_ibm_ar(data_dir / IBM_AR)}


def main() -> None:
    """Print the fitted figures as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parents[2] / "shared" / "data"
    parser.add_argument("--data", type=Path, default=default, help="the shared data directory")
    args = parser.parse_args()
    print(json.dumps(fit(args.data), indent=2))


if __name__ == "__main__":
    main()
