"""A payment of an item outside its locked route, read from an ingested ISO 20022 statement
(issue 20): the camt.054 credit notification of the creditor's own account showing the debtor
paying the item's invoice is not a payment of the item, and the banks are told once; the same
payment into the route's collection account is the route; a public camt.053 of unrelated
accounts raises nothing."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from fourflow.adapters.documents.registry import DetectingReader
from fourflow.adapters.documents.writers.camt import camt054_xml
from fourflow.domain.documents import DocumentKind
from fourflow.domain.errors import DomainValueError, PermissionDeniedError
from fourflow.domain.issued import Party, Payment
from fourflow.domain.settlement import NoticeKind
from fourflow.services import ingest, linking, settlement, settlement_figures
from tests.documents.test_iso20022_pacs002 import Tx, pacs002
from tests.services.conftest import MEMBERS, World

SAMPLES = Path("/work/shared/data/iso20022")


def _party(key: str) -> Party:
    m = MEMBERS[key]
    return Party(
        id=key, name=m.name, uscc=m.uscc, gln="6901234000002", roles=(), tier=None,
        accounts=(m.account,), bank_bic="JNCBCNBSXXX", address="", legal_representative="",
        phone="", industry="", city="",
    )  # fmt: skip


def _ingest_camt(world: World, payee: str, account: str, number: str, invoice: str) -> str:
    """The payee's bank notifies a credit of 50,000.00 from the debtor for ``invoice``; the
    payee submits the notification. The stored entry's id."""
    core = MEMBERS["core"]
    raw = camt054_xml(
        Payment(
            number=number, msg_id=f"MSG-{number}", booking_date=world.clock.today(),
            amount=Decimal("50000.00"), currency="CNY", payee=_party(payee),
            payee_account=account, payer_name=core.name, payer_uscc=core.uscc,
            payer_account=core.account, payer_bic="JNCBCNBSXXX", invoice_number=invoice,
        )
    )  # fmt: skip
    outcomes = ingest.ingest_bytes(
        uow_factory=world.uow, reader=DetectingReader(submitter=world.id(payee)),
        clock=world.clock, raw=raw, source=f"{number}.xml", submitter_id=world.id(payee),
    )  # fmt: skip
    assert [o.status for o in outcomes] == ["accepted"], outcomes
    linking.link_documents(uow_factory=world.uow)
    with world.uow() as uow:
        (stored,) = uow.documents.by_number(DocumentKind.PAYMENT, number)
    return stored.document.id


def test_a_camt054_payment_to_the_creditors_own_account_is_a_bypass(world: World) -> None:
    item = world.item(confirm=True)  # its route: the debtor's collection account at its bank
    with world.uow() as uow:
        (invoice,) = [
            d.document.number
            for d in uow.documents.get_many(uow.trades.get(item.trade_id).document_ids)  # type: ignore[union-attr]
            if d.document.kind is DocumentKind.INVOICE
        ]
    doc_id = _ingest_camt(world, "tier1", MEMBERS["tier1"].account, "E2E-BYPASS-1", invoice)

    (check,) = settlement.check_statements(uow_factory=world.uow, document_ids=[doc_id])
    assert (check.outcome, check.item_id, check.amount) == ("bypass", item.id, 5_000_000)
    assert check.payee_account == MEMBERS["tier1"].account and check.notices == 1
    notices = settlement.notices_for(uow_factory=world.uow, subject_id=item.id)
    assert [(n.kind, n.recipient_id) for n in notices] == [(NoticeKind.BYPASS, world.id("bank"))]
    assert MEMBERS["tier1"].name in notices[0].text and "camt.054" in notices[0].text
    with world.uow() as uow:
        assert uow.repayments.for_item(item.id) == []  # no payment of the item was recorded

    # The daily job reads every linked statement again: nobody is told twice.
    again = settlement.check_statements(uow_factory=world.uow)
    assert [(c.document_id, c.outcome, c.notices) for c in again] == [(doc_id, "bypass", 0)]
    assert len(settlement.notices_for(uow_factory=world.uow, subject_id=item.id)) == 1
    figures = settlement_figures.figures(uow_factory=world.uow, as_of=world.clock.today())
    assert figures["bypassed_route"] == {"count": 1, "items": 1, "amount": 5_000_000}

    # Paid into the route's collection account instead, it is the route: nobody is told.
    paid_in = _ingest_camt(world, "core", MEMBERS["core"].account, "E2E-ROUTE-1", invoice)
    (routed,) = settlement.check_statements(uow_factory=world.uow, document_ids=[paid_in])
    assert (routed.outcome, routed.notices) == ("route", 0)


def test_a_public_camt053_statement_of_unrelated_accounts_raises_nothing(world: World) -> None:
    world.item(confirm=True)
    raw = (SAMPLES / "samples-genkgo" / "camt053.v2.minimal.xml").read_bytes()
    outcomes = ingest.ingest_bytes(
        uow_factory=world.uow, reader=DetectingReader(submitter=world.id("bank")),
        clock=world.clock, raw=raw, source="camt053.v2.minimal.xml", submitter_id=world.id("bank"),
    )  # fmt: skip
    ids = [o.document_id for o in outcomes if o.document_id]
    assert ids and all(o.status == "accepted" for o in outcomes)
    checks = settlement.check_statements(uow_factory=world.uow, document_ids=ids)
    assert {c.outcome for c in checks} == {"no_item"}
    assert settlement.notices_for(uow_factory=world.uow) == []


def test_only_statement_entries_are_checked(world: World) -> None:
    item = world.item(confirm=True)
    with world.uow() as uow:
        doc_id = uow.trades.get(item.trade_id).document_ids[0]  # type: ignore[union-attr]
    with pytest.raises(DomainValueError, match="not a bank statement entry"):
        settlement.check_statements(uow_factory=world.uow, document_ids=[doc_id])
    assert settlement.notices_for(uow_factory=world.uow) == []


def test_a_statement_line_a_bank_reports_by_hand(world: World) -> None:
    item = world.item(confirm=True)
    bank, tier1 = world.org["bank"], world.org["tier1"]
    found = settlement.statement_payment(
        uow_factory=world.uow, item_id=item.id, bank_id=bank.id,
        payee_account=tier1.accounts[0], amount=100_000, value_date=world.clock.today(),
        reference="CAMT053-BYPASS-1",
    )  # fmt: skip
    assert [(n.kind, n.recipient_id) for n in found] == [(NoticeKind.BYPASS, bank.id)]
    assert tier1.name in found[0].text
    paid_in = settlement.statement_payment(
        uow_factory=world.uow, item_id=item.id, bank_id=bank.id,
        payee_account=MEMBERS["core"].account, amount=100_000,
        value_date=world.clock.today(), reference="CAMT053-ROUTE-1",
    )  # fmt: skip
    assert paid_in == []  # the route's collection account: the bank attests it as usual
    with pytest.raises(PermissionDeniedError, match="is not a bank"):
        settlement.statement_payment(
            uow_factory=world.uow, item_id=item.id, bank_id=tier1.id,
            payee_account=tier1.accounts[0], amount=100_000,
            value_date=world.clock.today(), reference="CAMT053-BYPASS-2",
        )  # fmt: skip
    with world.uow() as uow:
        assert uow.repayments.for_item(item.id) == []


def _status(world: World, end_to_end: str, status: str, *, link: bool = True) -> str:
    """The debtor's bank reports (pacs.002) the payment ``end_to_end`` from the debtor's
    account to the creditor's with ``status``; the status document's id (linked if it can,
    when ``link``)."""
    core, tier1 = MEMBERS["core"], MEMBERS["tier1"]
    raw = pacs002(
        [Tx(status=status, end_to_end=end_to_end, uetr=None, tx_id=None, amount="50000.00",
            reasons=("AM04",) if status == "RJCT" else (), debtor=(core.name, core.account),
            creditor=(tier1.name, tier1.account))],
        created=f"{world.clock.today().isoformat()}T12:00:00",
    )  # fmt: skip
    (outcome,) = ingest.ingest_bytes(
        uow_factory=world.uow, reader=DetectingReader(submitter=world.id("bank")),
        clock=world.clock, raw=raw, source=f"psr-{end_to_end}.xml", submitter_id=world.id("bank"),
    )  # fmt: skip
    assert outcome.status == "accepted" and outcome.document_id, outcome
    if link:
        linking.link_documents(uow_factory=world.uow)
    return outcome.document_id


def _invoice_of(world: World, trade_id: str) -> str:
    with world.uow() as uow:
        record = uow.trades.get(trade_id)
        assert record is not None
        (number,) = [
            d.document.number
            for d in uow.documents.get_many(record.document_ids)
            if d.document.kind is DocumentKind.INVOICE
        ]
    return number


def test_a_payment_its_bank_rejected_bypassed_nothing(world: World) -> None:
    item = world.item(confirm=True)
    invoice = _invoice_of(world, item.trade_id)
    pending = _ingest_camt(world, "tier1", MEMBERS["tier1"].account, "E2E-BYPASS-P", invoice)
    doc_id = _ingest_camt(world, "tier1", MEMBERS["tier1"].account, "E2E-BYPASS-R", invoice)
    _status(world, "E2E-BYPASS-P", "PDNG")  # pending: the payment stands
    status_id = _status(world, "E2E-BYPASS-R", "RJCT")
    with world.uow() as uow:  # joined the entry's trade by the end-to-end id it names
        record = uow.trades.get(item.trade_id)
        assert record is not None and status_id in record.document_ids

    checks = settlement.check_statements(uow_factory=world.uow, document_ids=[doc_id, pending])
    rejected, bypass = checks
    assert (rejected.outcome, rejected.item_id, rejected.notices) == ("rejected", item.id, 0)
    assert rejected.statuses == (status_id,)
    assert (bypass.outcome, bypass.notices) == ("bypass", 1)
    notices = settlement.notices_for(uow_factory=world.uow, subject_id=item.id)
    assert [n.amount for n in notices] == [5_000_000]  # the pending payment's only
    assert all("E2E-BYPASS-R" not in n.text for n in notices)
    # the daily run (every entry of the item's trade) agrees, and tells nobody again
    daily = {c.document_id: c for c in settlement.check_statements(uow_factory=world.uow)}
    assert (daily[doc_id].outcome, daily[doc_id].statuses) == ("rejected", (status_id,))
    assert daily[pending].outcome == "bypass" and daily[pending].notices == 0
    assert len(settlement.notices_for(uow_factory=world.uow, subject_id=item.id)) == 1


def test_a_rejection_not_linked_yet_counts_too(world: World) -> None:
    item = world.item(confirm=True)
    invoice = _invoice_of(world, item.trade_id)
    doc_id = _ingest_camt(world, "tier1", MEMBERS["tier1"].account, "E2E-BYPASS-U", invoice)
    # the bank's rejection is ingested but linking has not run since: it is still unlinked
    status_id = _status(world, "E2E-BYPASS-U", "RJCT", link=False)
    with world.uow() as uow:
        assert status_id in {s.document.id for s in uow.documents.unlinked()}
    (check,) = settlement.check_statements(uow_factory=world.uow, document_ids=[doc_id])
    assert (check.outcome, check.statuses, check.notices) == ("rejected", (status_id,), 0)
    assert settlement.notices_for(uow_factory=world.uow, subject_id=item.id) == []


def test_a_rejection_of_another_payers_payment_is_not_this_ones(world: World) -> None:
    item = world.item(confirm=True)
    invoice = _invoice_of(world, item.trade_id)
    doc_id = _ingest_camt(world, "tier1", MEMBERS["tier1"].account, "E2E-BYPASS-O", invoice)
    raw = pacs002(
        [Tx(end_to_end="E2E-BYPASS-O", uetr=None, tx_id=None, amount="50000.00",
            debtor=("Someone Else Ltd", "9999000011112222"),
            creditor=("Another Payee Ltd", "9999000033334444"))],
    )  # fmt: skip
    (outcome,) = ingest.ingest_bytes(
        uow_factory=world.uow, reader=DetectingReader(submitter=world.id("bank")),
        clock=world.clock, raw=raw, source="psr-other.xml", submitter_id=world.id("bank"),
    )  # fmt: skip
    assert outcome.status == "accepted"
    linking.link_documents(uow_factory=world.uow)  # shares no party: it stays unlinked
    (check,) = settlement.check_statements(uow_factory=world.uow, document_ids=[doc_id])
    assert (check.outcome, check.statuses, check.notices) == ("bypass", (), 1)
