"""Distribution parameters of the simulator, fitted from public data or stated as assumptions.

Fitted figures come from ``tools/calibrate.py`` (run it to reproduce them); the test
``tests/simulation/test_calibration.py`` recomputes them from ``../shared/data`` and checks
these constants. Every figure says where it came from. Days are whole days.
"""

from __future__ import annotations

from decimal import Decimal

# --- USAID SCMS delivery history ------------------------------------------------------------
# ../shared/data/supply_chain/scms_delivery_history/SCMS_Delivery_History_Dataset.csv,
# 7,227 shipments. Delivery delay = "Delivered to Client Date" - "Scheduled Delivery Date".
SCMS_SHIPMENTS = 7227
DELIVERY_LATE_SHARE = 0.1158  # share delivered after the scheduled date
DELIVERY_EARLY_SHARE = 0.2718  # share delivered before it (the rest: on the day)
DELIVERY_LATE_MU = 2.4067  # ln(days late) of late shipments: mean ...
DELIVERY_LATE_SIGMA = 1.1884  # ... and standard deviation (lognormal fit)
DELIVERY_EARLY_MU = 2.8498  # ln(days early) of early shipments (lognormal fit)
DELIVERY_EARLY_SIGMA = 1.1713
# Lead time = "Scheduled Delivery Date" - "PO Sent to Vendor Date" (m/d/yy; 2,938 rows with
# both dates and a positive difference), lognormal fit; median 99 days.
SCMS_LEAD_SAMPLES = 2938
LEAD_TIME_MU = 4.4551
LEAD_TIME_SIGMA = 0.9002
LEAD_TIME_MEDIAN_DAYS = 99.0

# Assumption: SCMS ships health commodities between continents (mostly by air); a domestic
# manufacturing chain keeps the shape but runs about four times faster. Lead times and delivery
# delays are multiplied by this factor (median lead time 99 -> ~25 days), then clamped.
DOMESTIC_TIME_SCALE = 0.25
LEAD_TIME_MIN_DAYS = 3
LEAD_TIME_MAX_DAYS = 120
DELIVERY_DELAY_MAX_DAYS = 60

# --- IBM accounts receivable ----------------------------------------------------------------
# ../shared/data/credit/ibm_accounts_receivable/WA_Fn-UseC_-Accounts-Receivable.csv,
# 1,726 invoices. Terms = "DueDate" - "InvoiceDate"; lateness from "DaysLate" and
# "DaysToSettle".
AR_INVOICES = 1726
AR_MODAL_TERMS_DAYS = 30.0  # every IBM invoice has 30-day terms ...
AR_MODAL_TERMS_SHARE = 1.0
PAID_LATE_SHARE = 0.3615  # "DaysLate" > 0
PAID_ON_DUE_SHARE = 0.033  # settled exactly on the due date (the rest: early)
DAYS_LATE_MU = 1.9388  # ln("DaysLate") of late invoices (lognormal fit), mean 9.56 days
DAYS_LATE_SIGMA = 0.8713
DAYS_LATE_MEAN = 9.56
DAYS_EARLY_MU = 2.1748  # ln(terms - "DaysToSettle") of invoices paid early (lognormal fit)
DAYS_EARLY_SIGMA = 0.8444
DISPUTED_SHARE = 0.2213  # "Disputed" = Yes
PAID_LATE_SHARE_DISPUTED = 0.7016  # late share of the disputed invoices ...
PAID_LATE_SHARE_UNDISPUTED = 0.2649  # ... and of the others
DAYS_LATE_MU_DISPUTED = 2.2412  # ln("DaysLate") of late invoices that were disputed ...
DAYS_LATE_MU_UNDISPUTED = 1.7112  # ... and of the others (both spreads are near DAYS_LATE_SIGMA)
# Customers differ in how often they dispute: their propensities are Beta(mean DISPUTED_SHARE,
# a + b = DISPUTE_STRENGTH), fitted by moments on the customers' dispute rates (less the
# binomial noise of their invoice counts). 1.73 is a wide spread: many never dispute.
DISPUTE_STRENGTH = 1.73

# ... so the 30/60/90 mix is an assumption (Chinese B2B practice: core enterprises pay their
# suppliers on longer terms than small firms pay each other). Weights by buyer kind.
TERMS_WEIGHTS: dict[str, tuple[tuple[int, float], ...]] = {
    "core": ((30, 0.20), (60, 0.45), (90, 0.35)),
    "supplier": ((30, 0.55), (60, 0.35), (90, 0.10)),
    "distributor": ((30, 0.60), (60, 0.30), (90, 0.10)),
}

# --- Assumptions (no public source in ../shared/data fits a Chinese B2B network) ------------
# Payers differ: each payer's late share is Beta(mean PAID_LATE_SHARE, strength) (a lasting
# habit the risk engine can learn from its history; see docs/simulator.md).
DISCIPLINE_STRENGTH = 4.0
# IBM AR gives no dispute dates: a dispute is raised 1 to DISPUTE_RAISED_MAX_DAYS days after the
# invoice (and before it is paid), when the buyer has checked it against the goods.
DISPUTE_RAISED_MAX_DAYS = 15
DEFAULT_SHARE = 0.015  # invoices never paid
DEFAULT_SHARE_SMALL_BUYER = 0.03  # ... when the buyer is a tier-2 supplier or deeper
INSTALMENT_SHARE = 0.10  # paid invoices paid in two instalments
SECOND_INSTALMENT_MISSING_SHARE = 0.10  # of those, the second never comes (partially paid)
DELIVERY_COUNT_WEIGHTS = ((1, 0.78), (2, 0.17), (3, 0.05))  # partial deliveries
SPLIT_INVOICE_SHARE = 0.20
SHORT_DELIVERY_SHARE = 0.04  # deliveries where 1-5 % of a line is not received
RETURN_SHARE = 0.06  # trades with a credit note for returned goods
WAREHOUSE_SHARE = 0.35  # deliveries to core/distributors stored by a warehouse
VAT_RATE = Decimal("0.13")  # PRC standard VAT rate on goods
CURRENCY = "CNY"
ORDER_SIGMA = 0.30  # ln-spread of one edge's order values around its base
EDGE_SIGMA = 0.50  # ln-spread of edge base values around the tier median
# Median order value (CNY, incl. nothing: net) by (seller kind, buyer kind).
EDGE_MEDIAN_CNY: dict[str, Decimal] = {
    "tier1": Decimal(600_000),
    "tier2": Decimal(150_000),
    "tier3": Decimal(40_000),
    "deeper": Decimal(15_000),
    "core": Decimal(300_000),  # core enterprise -> distributor
}
# Orders per day by month (Spring Festival in Feb, National Day week in Oct, year-end peak).
MONTH_WEIGHTS = (0.95, 0.62, 1.05, 1.0, 1.0, 1.05, 0.95, 0.95, 1.05, 0.9, 1.1, 1.2)
SEASON_VALUE_EXPONENT = 0.3  # order values scale with the month's weight to this power
