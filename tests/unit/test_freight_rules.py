"""A carrier's freight invoice in the basic rules (``check_transport``): transport evidence
that never counts as the seller's invoice, with its own party and date checks."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from fourflow.domain.documents import Carriage, Document, DocumentKind, DocumentLine, DocumentRef
from fourflow.domain.findings import Finding, Severity, VerificationStatus
from fourflow.domain.money import Money
from fourflow.domain.scenarios import Scenario
from fourflow.domain.trades import Trade
from fourflow.verification import linking
from fourflow.verification.rules import TradeContext, check_transport, verify_trade
from tests.unit.test_verification_rules import (
    BUYER,
    CARRIER,
    D0,
    PARTIES,
    SELLER,
    STRANGER,
    _ref,
    clean_documents,
)

AS_OF = D0 + dt.timedelta(days=30)


def freight(day: int = 4, **kw: object) -> Document:
    """Carrier Co bills the seller for carrying DN-1 (PO-1) from the seller to the buyer; its
    charge line names the goods' item and quantity."""
    fields: dict[str, object] = {
        "id": "doc-FRT-1",
        "kind": DocumentKind.FREIGHT_INVOICE,
        "number": "FRT-1",
        "issue_date": D0 + dt.timedelta(days=day),
        "seller": _ref(CARRIER),
        "buyer": _ref(SELLER),
        "currency": "CNY",
        "lines": (DocumentLine("1", "SKU-1", Decimal(100), "EA", Decimal(2), Decimal(200)),),
        "total": Money(Decimal("218.00"), "CNY"),
        "tax_total": Money(Decimal("18.00"), "CNY"),
        "due_date": D0 + dt.timedelta(days=200),
        "references": (
            DocumentRef(DocumentKind.ORDER, "PO-1"),
            DocumentRef(DocumentKind.DESPATCH_ADVICE, "DN-1"),
        ),
        "carriage": Carriage(("WB-1",), _ref(SELLER), _ref(BUYER)),
    }
    fields.update(kw)
    return Document(**fields)  # type: ignore[arg-type]


def ctx(docs: list[Document]) -> TradeContext:
    trade = Trade("t-1", Scenario.MANUFACTURING, SELLER.id, BUYER.id, tuple(docs))
    return TradeContext(trade, PARTIES, AS_OF)


def codes(findings: list[Finding] | tuple[Finding, ...]) -> list[tuple[str, Severity]]:
    return sorted((f.code, f.severity) for f in findings)


def test_a_clean_trade_with_its_freight_invoice_verifies_as_without_it() -> None:
    plain = verify_trade(ctx(clean_documents()))
    carried = verify_trade(ctx([*clean_documents(), freight()]))
    assert plain.status is carried.status is VerificationStatus.VERIFIED
    assert carried.score == plain.score == 100
    assert codes(carried.findings) == sorted(
        [*codes(plain.findings), ("TRANSPORT_EVIDENCED", Severity.INFO)]
    )
    (shown,) = [f for f in carried.findings if f.code == "TRANSPORT_EVIDENCED"]
    assert shown.documents == ("doc-FRT-1", "doc-DN-1")
    assert "Carrier Co" in shown.message and "shipment WB-1" in shown.message


def test_its_parties_must_include_the_trades_seller_or_buyer() -> None:
    stranger = _ref(STRANGER)
    found = check_transport(
        ctx([*clean_documents(), freight(buyer=stranger, carriage=Carriage(("WB-1",)))])
    )
    assert ("PARTY_MISMATCH", Severity.ERROR) in codes(found)
    # billed to the buyer instead (freight collect): fine
    assert codes(check_transport(ctx([*clean_documents(), freight(buyer=_ref(BUYER))]))) == [
        ("TRANSPORT_EVIDENCED", Severity.INFO)
    ]


def test_goods_carried_elsewhere_or_billed_before_the_despatch_are_warnings() -> None:
    elsewhere = freight(carriage=Carriage(("WB-1",), _ref(SELLER), _ref(STRANGER)))
    found = check_transport(ctx([*clean_documents(), elsewhere]))
    assert ("TRANSPORT_MISMATCH", Severity.WARNING) in codes(found)
    assert any("carried to Stranger Co" in f.message for f in found)
    early = check_transport(ctx([*clean_documents(), freight(day=1)]))  # DN-1 is day 3
    (warned,) = [f for f in early if f.code == "TRANSPORT_MISMATCH"]
    assert "dated before despatch DN-1" in warned.message
    assert verify_trade(ctx([*clean_documents(), freight(day=1)])).status.value == "partial"


def test_its_carrier_being_the_seller_is_said_to_be_no_independent_evidence() -> None:
    own = freight(seller=_ref(SELLER), buyer=_ref(BUYER))
    (shown,) = check_transport(ctx([*clean_documents(), own]))
    assert "the seller itself, so not independent" in shown.message


def test_it_stands_for_the_logistics_flow_but_not_for_received_goods() -> None:
    docs = [d for d in clean_documents() if d.kind in (DocumentKind.ORDER, DocumentKind.INVOICE)]
    found = codes(verify_trade(ctx([*docs, freight()])).findings)
    assert ("FLOW_MISSING", Severity.ERROR) not in found
    assert ("RECEIPT_MISSING", Severity.WARNING) in found  # nobody says the goods arrived
    without = codes(verify_trade(ctx(docs)).findings)
    assert ("FLOW_MISSING", Severity.ERROR) in without


def test_inference_never_places_it_and_its_consignee_joins_it_by_reference() -> None:
    (order, despatch, *_rest) = clean_documents()
    loose = freight(references=())
    assert linking.score_link([loose], [order, despatch]) is None
    assert linking.choose_trade([loose], {"t-1": [order]}).trade_key is None
    # billed to a forwarder (no party of the order) but consigned to the buyer: joins by DN-1
    forwarded = freight(buyer=_ref(STRANGER))
    groups = linking.reference_components([order, despatch, forwarded])
    assert len(groups) == 1
    anonymous = dataclasses.replace(forwarded, carriage=None)
    assert len(linking.reference_components([order, despatch, anonymous])) == 2
