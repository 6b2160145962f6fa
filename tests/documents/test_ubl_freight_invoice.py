"""UBL 2.1 FreightInvoice: a carrier's invoice for transport is read as transport evidence.

It is its own kind (``freight_invoice``, logistics flow), never an ``invoice``: the carrier is
its seller, the party billed its buyer, its lines the charges, and its consignment (shipment
ids, consignor, consignee) is kept. The document is written here (no public sample is in the
standards directory) and checked against the official UBL-FreightInvoice-2.1.xsd by the reader
itself.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from fourflow.adapters.db import codec
from fourflow.adapters.documents.errors import DocumentRejectedError
from fourflow.adapters.documents.registry import DetectingReader
from fourflow.domain.documents import DocumentKind, DocumentRef, Flow, business_key_text

FREIGHT = """<?xml version="1.0" encoding="UTF-8"?>
<FreightInvoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:FreightInvoice-2"
  xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
  xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:UBLVersionID>2.1</cbc:UBLVersionID>
  <cbc:ID>FRT-2026-0042</cbc:ID>
  <cbc:IssueDate>2026-09-05</cbc:IssueDate>
  <cbc:DocumentCurrencyCode>CNY</cbc:DocumentCurrencyCode>
  <cac:Shipment><cbc:ID>WB-7781</cbc:ID>
    <cac:Consignment><cbc:ID>CN-7781-1</cbc:ID>
      <cac:ConsigneeParty><cac:PartyName><cbc:Name>Core Buyer Ltd</cbc:Name></cac:PartyName>
      </cac:ConsigneeParty>
      <cac:ConsignorParty><cac:PartyName><cbc:Name>Parts Maker Co</cbc:Name></cac:PartyName>
      </cac:ConsignorParty>
    </cac:Consignment>
  </cac:Shipment>
  <cac:OrderReference><cbc:ID>PO-4410</cbc:ID></cac:OrderReference>
  <cac:BillingReference><cac:InvoiceDocumentReference><cbc:ID>FRT-2026-0041</cbc:ID>
  </cac:InvoiceDocumentReference></cac:BillingReference>
  <cac:DespatchDocumentReference><cbc:ID>DN-4410</cbc:ID></cac:DespatchDocumentReference>
  <cac:AccountingSupplierParty><cac:Party>
    <cac:PartyName><cbc:Name>Swift Freight Co</cbc:Name></cac:PartyName>
    <cac:PartyLegalEntity><cbc:RegistrationName>Swift Freight Co</cbc:RegistrationName>
      <cbc:CompanyID>91310000MA1FL0000X</cbc:CompanyID></cac:PartyLegalEntity>
  </cac:Party></cac:AccountingSupplierParty>
  <cac:AccountingCustomerParty><cac:Party>
    <cac:PartyName><cbc:Name>Core Buyer Ltd</cbc:Name></cac:PartyName>
  </cac:Party></cac:AccountingCustomerParty>
  <cac:TaxTotal><cbc:TaxAmount currencyID="CNY">90.00</cbc:TaxAmount></cac:TaxTotal>
  <cac:LegalMonetaryTotal>
    <cbc:LineExtensionAmount currencyID="CNY">1000.00</cbc:LineExtensionAmount>
    <cbc:PayableAmount currencyID="CNY">1090.00</cbc:PayableAmount>
  </cac:LegalMonetaryTotal>
  <cac:InvoiceLine>
    <cbc:ID>1</cbc:ID>
    <cbc:InvoicedQuantity unitCode="KGM">2000</cbc:InvoicedQuantity>
    <cbc:LineExtensionAmount currencyID="CNY">1000.00</cbc:LineExtensionAmount>
    <cac:Item><cbc:Name>Road freight Shanghai-Suzhou</cbc:Name></cac:Item>
    <cac:Price><cbc:PriceAmount currencyID="CNY">0.50</cbc:PriceAmount></cac:Price>
  </cac:InvoiceLine>
</FreightInvoice>
"""


def test_a_freight_invoice_is_read_as_the_carriers_transport_evidence() -> None:
    (parsed,) = DetectingReader(submitter="org-9").read(FREIGHT.encode(), source="frt.xml")
    doc = parsed.document
    assert doc.kind is DocumentKind.FREIGHT_INVOICE and doc.flow is Flow.LOGISTICS
    assert doc.number == "FRT-2026-0042" and doc.issue_date.isoformat() == "2026-09-05"
    assert doc.total is not None and doc.total.amount == Decimal("1090.00")
    assert doc.seller.name == "Swift Freight Co" and doc.buyer.name == "Core Buyer Ltd"
    assert DocumentRef(DocumentKind.ORDER, "PO-4410") in doc.references
    assert DocumentRef(DocumentKind.DESPATCH_ADVICE, "DN-4410") in doc.references
    assert [line.quantity for line in doc.lines] == [Decimal("2000")]
    # its own billing reference (an earlier freight invoice) is not a goods document it cites
    assert {r.kind for r in doc.references} == {DocumentKind.ORDER, DocumentKind.DESPATCH_ADVICE}
    assert doc.carriage is not None
    assert doc.carriage.shipment_ids == ("WB-7781", "CN-7781-1")
    assert doc.carriage.consignor is not None and doc.carriage.consignor.name == "Parts Maker Co"
    assert doc.carriage.consignee is not None and doc.carriage.consignee.name == "Core Buyer Ltd"
    assert business_key_text(doc) is None  # not an invoice: no invoice identity
    # it is stored and read back whole, its consignment included
    assert codec.decode_document(codec.encode_document(doc)) == doc


def test_a_schema_invalid_freight_invoice_is_refused_by_the_official_xsd() -> None:
    broken = FREIGHT.replace("<cbc:IssueDate>2026-09-05</cbc:IssueDate>", "")
    with pytest.raises(DocumentRejectedError) as refused:
        DetectingReader().read(broken.encode(), source="frt.xml")
    assert refused.value.problems[0].code == "SCHEMA"
