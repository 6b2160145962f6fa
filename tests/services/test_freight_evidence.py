"""A carrier's UBL FreightInvoice in a goods trade (issue 19, item 5): linked by the order and
despatch it cites as the trade's transport evidence, never counted as the seller's invoice.

The FreightInvoice is written here (there is no public sample, only the schema) and checked
against the official UBL 2.1 FreightInvoice XSD in the standards directory. Its charge line
names the goods' item, bills the same quantity and falls due later than the goods invoice, so
any code that took it for the seller's invoice would change the trade's invoiced quantity,
receivable or maturity, and these tests would fail.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from lxml import etree

from fourflow.adapters.documents import ubl
from fourflow.adapters.documents.registry import DetectingReader
from fourflow.domain.debt import DebtItem
from fourflow.domain.documents import DocumentKind, Flow
from fourflow.domain.findings import Severity, VerificationReport
from fourflow.domain.money import Money
from fourflow.services import fraud, ingest, items, linking, verification
from fourflow.services.demo import Member
from fourflow.services.verification import load_trade
from fourflow.verification.rules import open_receivable
from tests.services.conftest import MEMBERS, World

DAYS_AGO = 30  # the goods trade's order date, before the world's today
TERMS = 60  # the goods invoice's payment terms


def party(member: Member, tag: str = "cac:Party") -> str:
    return (
        f"<{tag}><cac:PartyName><cbc:Name>{member.name_en}</cbc:Name></cac:PartyName>"
        f"<cac:PartyLegalEntity><cbc:RegistrationName>{member.name}</cbc:RegistrationName>"
        f"<cbc:CompanyID>{member.uscc}</cbc:CompanyID></cac:PartyLegalEntity></{tag}>"
    )


def freight_invoice(
    number: str,
    prefix: str,
    day0: dt.date,
    *,
    cites: bool = True,
    currency: str = "CNY",
    consignee: str = "core",
) -> bytes:
    """The carrier's (logistics) FreightInvoice billing the seller (tier1) for carrying
    ``prefix``'s goods from tier1 to ``consignee``: 100 EA of the goods' own item at 12.00
    plus 9% tax, due 90 days after the goods invoice. ``cites``: it names the order and
    despatch advice."""
    issued = day0 + dt.timedelta(days=5)  # after the despatch (day 3), before the goods invoice
    due = day0 + dt.timedelta(days=6 + TERMS + 90)
    refs = (
        f"<cac:OrderReference><cbc:ID>PO-{prefix}</cbc:ID></cac:OrderReference>"
        f"<cac:DespatchDocumentReference><cbc:ID>DN-{prefix}</cbc:ID>"
        "</cac:DespatchDocumentReference>"
        if cites
        else ""
    )
    tier1, core, carrier = MEMBERS["tier1"], MEMBERS[consignee], MEMBERS["logistics"]
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<FreightInvoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:FreightInvoice-2"
  xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
  xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:UBLVersionID>2.1</cbc:UBLVersionID>
  <cbc:ID>{number}</cbc:ID>
  <cbc:IssueDate>{issued.isoformat()}</cbc:IssueDate>
  <cbc:DocumentCurrencyCode>{currency}</cbc:DocumentCurrencyCode>
  <cac:Shipment><cbc:ID>WB-{prefix}</cbc:ID>
    <cac:Consignment><cbc:ID>CN-{prefix}</cbc:ID>
      {party(core, "cac:ConsigneeParty")}
      {party(tier1, "cac:ConsignorParty")}
    </cac:Consignment>
    <cac:Delivery>
      <cbc:ActualDeliveryDate>{(day0 + dt.timedelta(days=4)).isoformat()}</cbc:ActualDeliveryDate>
    </cac:Delivery>
  </cac:Shipment>
  {refs}
  <cac:AccountingSupplierParty>{party(carrier)}</cac:AccountingSupplierParty>
  <cac:AccountingCustomerParty>{party(tier1)}</cac:AccountingCustomerParty>
  <cac:PaymentMeans><cbc:PaymentMeansCode>42</cbc:PaymentMeansCode>
    <cbc:PaymentDueDate>{due.isoformat()}</cbc:PaymentDueDate></cac:PaymentMeans>
  <cac:TaxTotal><cbc:TaxAmount currencyID="{currency}">108.00</cbc:TaxAmount></cac:TaxTotal>
  <cac:LegalMonetaryTotal>
    <cbc:LineExtensionAmount currencyID="{currency}">1200.00</cbc:LineExtensionAmount>
    <cbc:PayableAmount currencyID="{currency}">1308.00</cbc:PayableAmount>
  </cac:LegalMonetaryTotal>
  <cac:InvoiceLine>
    <cbc:ID>1</cbc:ID>
    <cbc:InvoicedQuantity unitCode="EA">100</cbc:InvoicedQuantity>
    <cbc:LineExtensionAmount currencyID="{currency}">1200.00</cbc:LineExtensionAmount>
    <cac:Item><cbc:Name>GEAR-HOUSING</cbc:Name></cac:Item>
    <cac:Price><cbc:PriceAmount currencyID="{currency}">12.00</cbc:PriceAmount></cac:Price>
  </cac:InvoiceLine>
</FreightInvoice>
""".encode()


def submit(world: World, raw: bytes, source: str, sender: str = "logistics") -> str:
    """Ingest ``raw`` as ``sender``'s document (the reader checks the official XSD); its id."""
    (outcome,) = ingest.ingest_bytes(
        uow_factory=world.uow, reader=DetectingReader(submitter=world.id(sender)),
        clock=world.clock, raw=raw, source=source, submitter_id=world.id(sender),
    )  # fmt: skip
    assert outcome.status == "accepted", outcome
    assert outcome.document_id is not None
    return outcome.document_id


def issue(world: World, trade_id: str) -> DebtItem:
    """The trade's item on the verified evidence (no debtor confirmation)."""
    return items.issue_item(
        uow_factory=world.uow, ledger=world.ledger, clock=world.clock, trade_id=trade_id,
        as_of=world.clock.today(), confirm=False,
    )  # fmt: skip


def day0(world: World) -> dt.date:
    return world.clock.today() - dt.timedelta(days=DAYS_AGO)


def report(world: World, trade_id: str) -> VerificationReport:
    with world.uow() as uow:
        record = uow.trades.get(trade_id)
        assert record is not None and record.report is not None
        return record.report


def without_transport(found: VerificationReport) -> list[tuple[str, Severity]]:
    return sorted((f.code, f.severity) for f in found.findings if f.code != "TRANSPORT_EVIDENCED")


def test_the_freight_invoice_is_valid_against_the_official_ubl_21_schema() -> None:
    raw = freight_invoice("FRT-1", "T001", dt.date(2026, 5, 31))
    root = etree.fromstring(raw)
    kind = ubl.ubl_kind(root)
    assert kind.root == "FreightInvoice" and kind.schema[-1] == "UBL-FreightInvoice-2.1.xsd"
    assert ubl.schema_issues(root, kind) == []
    broken = etree.fromstring(raw.replace(b"<cbc:ID>1</cbc:ID>", b"<cbc:Bogus>1</cbc:Bogus>"))
    assert ubl.schema_issues(broken, kind)  # the same schema refuses an altered copy


def test_it_links_into_the_goods_trade_as_logistics_evidence_and_changes_no_figure(
    world: World,
) -> None:
    plain = world.trade(days_ago=DAYS_AGO, terms_days=TERMS)  # T001: the same trade without it
    carried = world.trade(days_ago=DAYS_AGO, terms_days=TERMS)  # T002: gets the freight invoice
    before = report(world, carried)
    assert before.status.value == "verified"

    doc_id = submit(world, freight_invoice("FRT-T002", "T002", day0(world)), "frt.xml")
    linked = linking.link_documents(uow_factory=world.uow)
    assert linked.extended == (carried,) and linked.created == () and linked.unlinked == ()
    assert linked.inferred == ()  # joined by the order and despatch it names
    with world.uow() as uow:
        record = uow.trades.get(carried)
        assert record is not None and doc_id in record.document_ids
        trade = load_trade(uow, record)
        stored = uow.documents.get(doc_id)
    assert stored is not None
    freight = stored.document
    assert freight.kind is DocumentKind.FREIGHT_INVOICE and freight.flow is Flow.LOGISTICS
    assert freight.carriage is not None
    assert freight.carriage.shipment_ids == ("WB-T002", "CN-T002")
    assert freight.carriage.consignee is not None
    assert freight.carriage.consignee.uscc() == MEMBERS["core"].uscc
    # the trade's invoices are still the seller's one; its receivable that invoice's total
    assert [d.number for d in trade.of_kind(DocumentKind.INVOICE)] == ["INV-T002"]
    assert open_receivable(trade) == Money(Decimal("113000.00"), "CNY")

    after = verification.verify(uow_factory=world.uow, trade_id=carried, as_of=world.clock.today())
    assert (after.status, after.score) == (before.status, before.score)
    assert without_transport(after) == without_transport(before)
    (shown,) = [f for f in after.findings if f.code == "TRANSPORT_EVIDENCED"]
    assert shown.severity is Severity.INFO and doc_id in shown.documents
    assert "Shunchang Logistics" in shown.message or MEMBERS["logistics"].name in shown.message
    assert "WB-T002" in shown.message and "DN-T002" in shown.message
    # the carrier's waybill event of the same shipment (WB-T002) is named beside it
    assert "the same shipment as transport event WB-T002" in shown.message
    assert "not the receivable" in shown.message
    # the verification's summary of the trade names only the seller's invoice
    (summary,) = verification.verify_many(
        uow_factory=world.uow, trade_ids=[carried], as_of=world.clock.today()
    )
    assert summary.invoice_numbers == ("INV-T002",)

    # items issued on both trades: the same face value and maturity (the goods invoice's)
    issued = [issue(world, t) for t in (plain, carried)]
    goods_due = day0(world) + dt.timedelta(days=6 + TERMS)
    for item in issued:
        assert (item.currency, item.face_value) == ("CNY", 11_300_000)
        assert item.maturity_date == goods_due
    assert not world.relay().failed


def test_fraud_checks_do_not_count_it_as_an_invoice(world: World) -> None:
    plain = world.trade(days_ago=DAYS_AGO, terms_days=TERMS)
    carried = world.trade(days_ago=DAYS_AGO, terms_days=TERMS)
    submit(world, freight_invoice("FRT-T002", "T002", day0(world)), "frt.xml")
    linking.link_documents(uow_factory=world.uow)
    # 100 GEAR-HOUSING invoiced by the seller, 100 received: the carrier's 100 are not added
    signals = fraud.fraud_signals_by_trade(uow_factory=world.uow, as_of=world.clock.today())
    assert signals[carried] == signals[plain] == []
    with world.uow() as uow:
        view = fraud.load_view(uow, as_of=world.clock.today())
    (trade,) = [t for t in view.trades if t.id == carried]
    assert any(d.kind is DocumentKind.FREIGHT_INVOICE for d in trade.documents)
    from fourflow.verification import fraud as detectors

    ctx = detectors.scan_context(view)
    assert [d.number for d in ctx.facts[carried].invoices] == ["INV-T002"]
    assert detectors.excess(trade) == {}
    assert ctx.facts[carried].value == ctx.facts[plain].value


def test_a_freight_invoice_in_another_currency_changes_nothing_either(world: World) -> None:
    carried = world.trade(days_ago=DAYS_AGO, terms_days=TERMS)
    before = report(world, carried)
    submit(world, freight_invoice("FRT-USD", "T001", day0(world), currency="USD"), "usd.xml")
    assert linking.link_documents(uow_factory=world.uow).extended == (carried,)
    after = verification.verify(uow_factory=world.uow, trade_id=carried, as_of=world.clock.today())
    assert (after.status, after.score) == (before.status, before.score)
    assert without_transport(after) == without_transport(before)  # no CURRENCY_MISMATCH
    with world.uow() as uow:
        record = uow.trades.get(carried)
        assert record is not None
        assert open_receivable(load_trade(uow, record)) == Money(Decimal("113000.00"), "CNY")


def test_without_a_reference_it_joins_no_trade_and_is_never_inferred(world: World) -> None:
    world.trade(days_ago=DAYS_AGO, terms_days=TERMS)
    doc_id = submit(world, freight_invoice("FRT-LOOSE", "T001", day0(world), cites=False), "x.xml")
    linked = linking.link_documents(uow_factory=world.uow)
    assert linked.created == () and linked.extended == () and linked.inferred == ()
    assert dict(linked.unlinked) == {
        doc_id: "a freight invoice joins a trade only by the order or despatch it names"
    }


def test_naming_an_order_not_yet_on_the_platform_it_waits_and_then_joins(world: World) -> None:
    # the carrier bills before the goods' documents arrive: it waits for the order
    doc_id = submit(world, freight_invoice("FRT-EARLY", "T001", day0(world)), "early.xml")
    waiting = linking.link_documents(uow_factory=world.uow)
    assert waiting.created == () and dict(waiting.unlinked)[doc_id].startswith("waits for")
    trade_id = world.trade(days_ago=DAYS_AGO, terms_days=TERMS)  # T001 arrives; linked
    with world.uow() as uow:
        record = uow.trades.get(trade_id)
        assert record is not None and doc_id in record.document_ids
        assert record.seller_id == world.id("tier1") and record.buyer_id == world.id("core")


def test_goods_carried_to_another_member_make_the_trade_partial(world: World) -> None:
    trade_id = world.trade(days_ago=DAYS_AGO, terms_days=TERMS)
    raw = freight_invoice("FRT-ELSE", "T001", day0(world), consignee="tier2")
    submit(world, raw, "else.xml")
    assert linking.link_documents(uow_factory=world.uow).extended == (trade_id,)
    found = verification.verify(uow_factory=world.uow, trade_id=trade_id, as_of=world.clock.today())
    assert found.status.value == "partial"
    (warned,) = [f for f in found.findings if f.code == "TRANSPORT_MISMATCH"]
    assert MEMBERS["tier2"].name in warned.message and "not to the trade's buyer" in warned.message
