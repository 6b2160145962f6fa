"""Provenance: a document counts as its issuing party's evidence only when that party (or an
agent it mandated) sent it; counterparty evidence from the seller alone is self-asserted."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from fourflow.domain.documents import Document, DocumentKind
from fourflow.domain.errors import DomainValueError
from fourflow.domain.findings import Finding, Severity, VerificationReport, VerificationStatus
from fourflow.domain.mandates import Mandate
from fourflow.domain.scenarios import Scenario
from fourflow.domain.trades import Trade
from fourflow.verification.rules import TradeContext, verify_trade
from tests.unit.test_verification_rules import (
    BUYER,
    CARRIER,
    D0,
    PARTIES,
    SELLER,
    STRANGER,
    _doc,
    clean_documents,
)

AS_OF = D0 + dt.timedelta(days=10)


def sent(docs: list[Document], by: dict[DocumentKind, str]) -> list[Document]:
    return [dataclasses.replace(d, submitted_by=by[d.kind]) for d in docs]


HONEST = {
    DocumentKind.ORDER: BUYER.id,
    DocumentKind.DESPATCH_ADVICE: SELLER.id,
    DocumentKind.RECEIPT_ADVICE: BUYER.id,
    DocumentKind.INVOICE: SELLER.id,
    DocumentKind.TRANSPORT_EVENT: CARRIER.id,
}
SELLER_ALONE = dict.fromkeys(HONEST, SELLER.id)


def with_event(docs: list[Document]) -> list[Document]:
    return [*docs, _doc(DocumentKind.TRANSPORT_EVENT, "EV-1", 4)]


def verify(docs: list[Document], mandates: tuple[Mandate, ...] = ()) -> VerificationReport:
    trade = Trade("t-1", Scenario.MANUFACTURING, SELLER.id, BUYER.id, tuple(docs))
    return verify_trade(TradeContext(trade, PARTIES, AS_OF, mandates))


def finding(report: VerificationReport, code: str) -> Finding | None:
    return next((f for f in report.findings if f.code == code), None)


def test_each_party_sending_its_own_documents_verifies() -> None:
    report = verify(sent(with_event(clean_documents()), HONEST))
    assert report.status is VerificationStatus.VERIFIED and report.score == 100
    assert finding(report, "EVIDENCE_SELF_ASSERTED") is None
    assert finding(report, "EVIDENCE_NOT_FROM_ISSUER") is None


def test_the_seller_sending_its_buyers_and_carriers_word_is_self_asserted() -> None:
    report = verify(sent(with_event(clean_documents()), SELLER_ALONE))
    assert report.status is VerificationStatus.PARTIAL
    f = finding(report, "EVIDENCE_SELF_ASSERTED")
    assert f is not None and f.severity is Severity.WARNING
    # each document named, with who should have sent it
    assert "order PO-1 should come from the buyer Buyer Co (or an agent it mandated), " \
           "not Seller Co" in f.message  # fmt: skip
    assert "receipt advice GRN-1 should come from the buyer Buyer Co" in f.message
    assert "transport event EV-1 should come from a carrier or warehouse" in f.message
    assert set(f.documents) == {"doc-PO-1", "doc-GRN-1", "doc-EV-1"}
    assert "cannot be financed on this evidence alone" in f.message


def test_one_attested_counterparty_document_is_enough_but_the_rest_are_reported() -> None:
    by = {**SELLER_ALONE, DocumentKind.RECEIPT_ADVICE: BUYER.id}
    report = verify(sent(with_event(clean_documents()), by))
    assert finding(report, "EVIDENCE_SELF_ASSERTED") is None
    info = finding(report, "EVIDENCE_NOT_FROM_ISSUER")
    assert info is not None and info.severity is Severity.INFO
    assert set(info.documents) == {"doc-PO-1", "doc-EV-1"}
    assert report.status is VerificationStatus.VERIFIED


def test_an_invoice_sent_in_the_sellers_name_by_someone_else_is_reported() -> None:
    by = {**HONEST, DocumentKind.INVOICE: STRANGER.id}
    report = verify(sent(clean_documents(), by))
    info = finding(report, "EVIDENCE_NOT_FROM_ISSUER")
    assert info is not None and info.documents == ("doc-INV-1",)
    assert "invoice INV-1 should come from the seller Seller Co" in info.message
    assert "not Stranger Co" in info.message


def test_a_mandated_agent_sends_for_its_principal_within_scope_and_term() -> None:
    # an ERP integrator (the stranger) sends the buyer's order and receipt advice
    by = {**SELLER_ALONE, DocumentKind.ORDER: STRANGER.id, DocumentKind.RECEIPT_ADVICE: STRANGER.id}
    docs = sent(clean_documents(), by)
    assert finding(verify(docs), "EVIDENCE_NOT_FROM_ISSUER") is not None
    mandate = Mandate("m-1", BUYER.id, STRANGER.id,
                      frozenset({DocumentKind.ORDER, DocumentKind.RECEIPT_ADVICE}), D0)  # fmt: skip
    report = verify(docs, (mandate,))
    assert finding(report, "EVIDENCE_NOT_FROM_ISSUER") is None
    assert report.status is VerificationStatus.VERIFIED
    # out of its term, or for another kind, the mandate does not count
    expired = dataclasses.replace(mandate, valid_to=D0 + dt.timedelta(days=2))
    assert finding(verify(docs, (expired,)), "EVIDENCE_NOT_FROM_ISSUER") is not None
    narrow = dataclasses.replace(mandate, kinds=frozenset({DocumentKind.ORDER}))
    outside = finding(verify(docs, (narrow,)), "EVIDENCE_NOT_FROM_ISSUER")
    assert outside is not None and set(outside.documents) == {"doc-GRN-1"}


def test_a_carrier_acting_for_the_seller_sends_its_despatch_advice() -> None:
    by = {**HONEST, DocumentKind.DESPATCH_ADVICE: CARRIER.id}
    docs = sent(clean_documents(), by)
    assert finding(verify(docs), "EVIDENCE_NOT_FROM_ISSUER") is not None
    mandate = Mandate("m-2", SELLER.id, CARRIER.id, frozenset({DocumentKind.DESPATCH_ADVICE}), D0)
    assert verify(docs, (mandate,)).status is VerificationStatus.VERIFIED
    assert finding(verify(docs, (mandate,)), "EVIDENCE_NOT_FROM_ISSUER") is None


def test_the_sellers_agent_sending_the_buyers_word_is_still_self_asserted() -> None:
    mandate = Mandate("m-3", SELLER.id, STRANGER.id, frozenset({DocumentKind.INVOICE}), D0)
    by = {**HONEST, DocumentKind.ORDER: STRANGER.id, DocumentKind.RECEIPT_ADVICE: STRANGER.id}
    report = verify(sent(clean_documents(), by), (mandate,))
    assert finding(report, "EVIDENCE_SELF_ASSERTED") is not None


def test_documents_with_no_known_sender_are_not_judged() -> None:
    assert verify(clean_documents()).status is VerificationStatus.VERIFIED


def test_a_mandate_is_checked() -> None:
    with pytest.raises(DomainValueError, match="other than its principal"):
        Mandate("m", BUYER.id, BUYER.id, frozenset({DocumentKind.ORDER}), D0)
    with pytest.raises(DomainValueError, match="at least one document kind"):
        Mandate("m", BUYER.id, SELLER.id, frozenset(), D0)
    with pytest.raises(DomainValueError, match="ends"):
        Mandate("m", BUYER.id, SELLER.id, frozenset({DocumentKind.ORDER}), D0,
                D0 - dt.timedelta(days=1))  # fmt: skip
