"""Point-in-time credit features: nothing a decision could not have known on its day."""

from __future__ import annotations

import datetime as dt

import pytest

from fourflow.risk.features import (
    FEATURE_NAMES,
    AssetTerms,
    History,
    InvoiceFacts,
    features,
    training_rows,
)

D = dt.date


def inv(key: str, debtor: str, issued: D, due: D, amount: float = 100.0, *,
        paid: tuple[tuple[D, float], ...] = (), credits: tuple[tuple[D, float], ...] = (),
        creditor: str = "S") -> InvoiceFacts:  # fmt: skip
    return InvoiceFacts(key, f"t-{key}", creditor, debtor, "manufacturing", issued, due, amount,
                        payments=paid, credits=credits)  # fmt: skip


def asset(debtor: str = "B", creditor: str = "S") -> AssetTerms:
    return AssetTerms(creditor, debtor, "manufacturing", 500.0, D(2025, 6, 30), D(2025, 3, 1))


def test_outcome_is_unknown_until_it_happens() -> None:
    f = inv("1", "B", D(2025, 1, 1), D(2025, 1, 31), paid=((D(2025, 3, 10), 100.0),))
    assert f.outcome(D(2025, 2, 15)) is None  # 15 days past due, still open
    assert f.outcome(D(2025, 3, 2)) == 1  # 30 days past due and unpaid: bad, known now
    assert f.days_late(D(2025, 2, 15)) == 15  # censored: so far
    assert f.days_late(D(2025, 4, 1)) == 38  # final
    good = inv("2", "B", D(2025, 1, 1), D(2025, 1, 31), paid=((D(2025, 2, 5), 100.0),))
    assert good.outcome(D(2025, 2, 5)) == 0
    assert good.outcome(D(2025, 2, 4)) is None


def test_credit_notes_reduce_what_is_owed() -> None:
    f = inv("1", "B", D(2025, 1, 1), D(2025, 1, 31), paid=((D(2025, 1, 20), 80.0),),
            credits=((D(2025, 1, 10), 20.0),))  # fmt: skip
    assert f.settled_on(D(2025, 2, 1)) == D(2025, 1, 20)
    assert f.outcome(D(2025, 2, 1)) == 0


def test_features_ignore_what_happened_after_the_decision_day() -> None:
    # A debtor paid everything on time until the decision day; afterwards it paid very late.
    past = [inv(str(i), "B", D(2024, 1 + i, 1), D(2024, 1 + i, 28),
                paid=((D(2024, 1 + i, 25), 100.0),)) for i in range(6)]  # fmt: skip
    future = [inv("late", "B", D(2025, 1, 1), D(2025, 1, 31), paid=((D(2025, 5, 1), 100.0),))]
    day = D(2024, 12, 1)
    with_future = features(History.of(past + future), asset(), day)
    without = features(History.of(past), asset(), day)
    assert with_future == without
    assert without["debtor_late_share"] == 0.0
    assert without["debtor_invoices_due"] == 6
    assert without["rel_invoices"] == 6
    # A payment made after the day is not known on the day: the invoice is overdue so far.
    open_then = inv("o", "B", D(2024, 10, 1), D(2024, 10, 31), paid=((D(2024, 12, 20), 100.0),))
    seen = features(History.of([*past, open_then]), asset(), day)
    assert seen["debtor_open_overdue"] == 1
    assert seen["debtor_mean_days_late"] == pytest.approx(31 / 7)


def test_lateness_concentration_and_dilution() -> None:
    rows = [
        inv("a", "B", D(2024, 1, 1), D(2024, 1, 31), paid=((D(2024, 3, 5), 100.0),)),  # 34 late
        inv("b", "B", D(2024, 2, 1), D(2024, 3, 2), paid=((D(2024, 3, 1), 100.0),)),  # on time
        inv(
            "c",
            "B",
            D(2024, 3, 1),
            D(2024, 3, 31),
            100.0,
            paid=((D(2024, 3, 30), 90.0),),
            credits=((D(2024, 3, 20), 10.0),),
        ),
        inv("x", "OTHER", D(2024, 3, 1), D(2024, 3, 31), 300.0, paid=((D(2024, 3, 30), 300.0),)),
    ]
    f = features(History.of(rows), asset(), D(2024, 6, 1))
    assert f["debtor_late_share"] == pytest.approx(1 / 3)
    assert f["debtor_late30_share"] == pytest.approx(1 / 3)
    assert f["debtor_p90_days_late"] == 34
    assert f["debtor_days_since_late"] == (D(2024, 6, 1) - D(2024, 3, 5)).days
    assert f["concentration"] == pytest.approx(300 / 600)  # B's share of S's sales
    assert f["debtor_dilution_rate"] == pytest.approx(10 / 300)
    assert f["tenor_days"] == (D(2025, 6, 30) - D(2024, 6, 1)).days
    assert set(f) == set(FEATURE_NAMES)


def test_training_rows_use_features_on_each_invoice_date_and_known_outcomes_only() -> None:
    rows = [inv(str(i), "B", D(2024, 1, 1) + dt.timedelta(days=20 * i),
                D(2024, 1, 31) + dt.timedelta(days=20 * i),
                paid=((D(2024, 2, 10) + dt.timedelta(days=20 * i), 100.0),))
            for i in range(10)]  # fmt: skip
    as_of = D(2024, 5, 1)
    out = training_rows(History.of(rows), as_of)
    # Invoices due after as_of and unpaid then have no known outcome yet.
    assert all(r.issue_date < as_of for r in out)
    assert [r.features["rel_invoices"] for r in out] == list(range(len(out)))
    assert all(r.bad == 0 for r in out)
