"""Credit features and what banks reported about the payments (ISO 20022 pacs.002).

A payment its bank reported rejected (``RJCT``) or cancelled (``CANC``) did not happen: the
invoice it was to pay is unpaid in the features from the day the report is dated, and before
that day it counted (the platform could not know). Pending (``PDNG``), a transaction of a
partially accepted group (``PART``) and other intermediate statuses change nothing.

The statuses are read by the real pacs.002 reader from reports written by
``tests.documents.test_iso20022_pacs002.pacs002`` (no pacs.002 sample is public in
``../shared/data``); the invoice and payment are domain documents between the same parties.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from fourflow.domain.documents import Document, DocumentKind, DocumentRef
from fourflow.domain.money import Money
from fourflow.domain.parties import PartyRef
from fourflow.domain.scenarios import Scenario
from fourflow.domain.trades import Trade
from fourflow.risk.features import AssetTerms, History, features, invoice_facts, rejections
from tests.documents.test_iso20022_pacs002 import Tx, pacs002, read

D = dt.date
SELLER = PartyRef("Suzhou Precision Parts Co.", account="6222020001000000022")
BUYER = PartyRef("East China Heavy Equipment Group", account="6222020001000000011")
ISSUED, DUE, PAID_ON = D(2026, 5, 1), D(2026, 5, 31), D(2026, 5, 20)
REPORTED = D(2026, 5, 22)  # the status reports' date (GrpHdr/CreDtTm)


def _invoice(number: str = "INV-1", issued: D = ISSUED, due: D = DUE) -> Document:
    return Document(
        id=f"doc-{number}", kind=DocumentKind.INVOICE, number=number, issue_date=issued,
        seller=SELLER, buyer=BUYER, currency="CNY", total=Money(Decimal("1000.00"), "CNY"),
        due_date=due,
    )  # fmt: skip


def _payment(e2e: str = "E2E-1", invoice: str | None = "INV-1", on: D = PAID_ON) -> Document:
    refs = (DocumentRef(DocumentKind.INVOICE, invoice),) if invoice else ()
    return Document(
        id=f"doc-{e2e}", kind=DocumentKind.PAYMENT, number=e2e, issue_date=on, seller=SELLER,
        buyer=BUYER, currency="CNY", total=Money(Decimal("1000.00"), "CNY"), references=refs,
        source_format="pain.001.001.03",
    )  # fmt: skip


def _statuses(*txs: Tx, group_status: str | None = None) -> list[Document]:
    raw = pacs002(txs, created=f"{REPORTED.isoformat()}T09:00:00", group_status=group_status)
    return [p.document for p in read(raw)]


def _trade(*docs: Document) -> Trade:
    return Trade("trade-1", Scenario.MANUFACTURING, "org-seller", "org-buyer", tuple(docs))


def _tx(status: str | None, e2e: str = "E2E-1", status_id: str = "STS-1") -> Tx:
    return Tx(status=status, end_to_end=e2e, uetr=None, tx_id=None, status_id=status_id,
              reasons=("AM04",) if status == "RJCT" else ())  # fmt: skip


def _day_features(trade: Trade, day: D) -> dict[str, float | str]:
    asset = AssetTerms("org-seller", "org-buyer", "manufacturing", 500.0, D(2026, 9, 30), day)
    return features(History.of(invoice_facts(trade)), asset, day)


def test_a_rejected_payment_does_not_count_as_paid() -> None:
    payment = _payment()
    (status,) = _statuses(_tx("RJCT"))
    assert status.payment_status is not None and status.payment_status.rejected
    (paid,) = invoice_facts(_trade(_invoice(), payment))
    assert paid.payments == ((PAID_ON, 1000.0),) and paid.rejected == ()
    (facts,) = invoice_facts(_trade(_invoice(), payment, status))
    assert rejections(_trade(_invoice(), payment, status)) == {payment.id: REPORTED}
    assert facts.payments == ()
    assert facts.rejected == ((PAID_ON, 1000.0, REPORTED),)
    # from the report's day on, the invoice is unpaid: overdue and, 30 days past due, bad
    assert facts.settled_on(D(2026, 7, 15)) is None
    assert facts.days_late(D(2026, 7, 15)) == 45
    assert facts.outcome(D(2026, 7, 15)) == 1
    assert paid.outcome(D(2026, 7, 15)) == 0  # the same trade without the report: paid early
    # before the report the platform could not know: it counted as paid then
    assert facts.settled_on(D(2026, 5, 21)) == PAID_ON
    assert facts.settled_on(REPORTED) is None


def test_the_debtors_features_see_the_rejection_from_its_day() -> None:
    trade_paid = _trade(_invoice(), _payment())
    trade_rejected = _trade(_invoice(), _payment(), *_statuses(_tx("RJCT")))
    late = D(2026, 7, 15)
    paid, rejected = _day_features(trade_paid, late), _day_features(trade_rejected, late)
    assert paid["debtor_open_overdue"] == 0.0 and paid["debtor_late_share"] == 0.0
    assert rejected["debtor_open_overdue"] == 1.0 and rejected["debtor_late_share"] == 1.0
    assert rejected["debtor_mean_days_late"] == 45.0
    assert rejected["debtor_days_since_late"] == 0.0  # overdue today
    # on a day before the report, the two are the same
    early = D(2026, 5, 21)
    assert _day_features(trade_rejected, early) == _day_features(trade_paid, early)


def test_a_cancelled_payment_and_a_settled_and_rejected_one_do_not_count() -> None:
    for txs in ((_tx("CANC"),), (_tx("ACSC", status_id="S-1"), _tx("RJCT", status_id="S-2"))):
        (facts,) = invoice_facts(_trade(_invoice(), _payment(), *_statuses(*txs)))
        assert facts.payments == () and len(facts.rejected) == 1, txs


def test_pending_partly_accepted_and_settled_statuses_change_nothing() -> None:
    (plain,) = invoice_facts(_trade(_invoice(), _payment()))
    # PART is a group status: a transaction listed without its own TxSts takes it, and it
    # says only that some transactions of the group were accepted (nothing of this one)
    part = _statuses(_tx(None), group_status="PART")
    assert [s.payment_status.code for s in part if s.payment_status] == ["PART"]
    for statuses in (_statuses(_tx("PDNG")), part, _statuses(_tx("ACSC")), _statuses(_tx("ACSP"))):
        (facts,) = invoice_facts(_trade(_invoice(), _payment(), *statuses))
        assert (facts.payments, facts.rejected) == (plain.payments, ()), statuses
        assert facts.settled_on(D(2026, 7, 15)) == PAID_ON


def test_a_rejected_unreferenced_payment_frees_the_invoice_for_the_next_payment() -> None:
    # Two invoices, two payments naming none: the first payment (rejected) would have paid
    # the oldest invoice; the second payment now pays that one, and the rejected payment is
    # allocated after the counting ones (to what they leave open), counting only before the
    # report's day.
    first, second = _invoice("INV-1"), _invoice("INV-2", D(2026, 5, 5), D(2026, 6, 4))
    rejected = _payment("E2E-1", invoice=None, on=D(2026, 5, 20))
    good = _payment("E2E-2", invoice=None, on=D(2026, 6, 1))
    statuses = _statuses(_tx("RJCT", e2e="E2E-1"))
    facts = {f.key.split("@")[0]: f for f in invoice_facts(_trade(first, second, rejected, good,
                                                                  *statuses))}  # fmt: skip
    assert facts["INV-1"].payments == ((D(2026, 6, 1), 1000.0),)
    assert facts["INV-1"].rejected == ()
    assert facts["INV-2"].payments == ()
    assert facts["INV-2"].rejected == ((D(2026, 5, 20), 1000.0, REPORTED),)
    assert facts["INV-1"].settled_on(D(2026, 7, 1)) == D(2026, 6, 1)
    assert facts["INV-2"].settled_on(D(2026, 7, 1)) is None
    assert facts["INV-2"].settled_on(D(2026, 5, 21)) == D(2026, 5, 20)


def test_a_status_naming_another_payment_changes_nothing() -> None:
    (plain,) = invoice_facts(_trade(_invoice(), _payment()))
    (facts,) = invoice_facts(_trade(_invoice(), _payment(), *_statuses(_tx("RJCT", "E2E-9"))))
    assert facts == plain
