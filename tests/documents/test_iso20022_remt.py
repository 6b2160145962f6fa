"""ISO 20022 remt.001 (remittance advice): which invoices a payment settles.

The message is written here (no public remt.001 sample is in the standards directory) and the
reader checks it against the official remt.001.001.04 XSD.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from fourflow.adapters.documents.errors import DocumentRejectedError
from fourflow.adapters.documents.registry import DetectingReader
from fourflow.domain.documents import DocumentKind, DocumentRef

REMT = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:remt.001.001.04">
  <RmtAdvc>
    <GrpHdr>
      <MsgId>RA-2026-0007</MsgId>
      <CreDtTm>2026-10-02T09:30:00</CreDtTm>
      <InitgPty><Nm>Core Buyer Ltd</Nm></InitgPty>
    </GrpHdr>
    <RmtInf>
      <RmtId>RA-7-1</RmtId>
      <Strd>
        <RfrdDocInf>
          <Tp><CdOrPrtry><Cd>CINV</Cd></CdOrPrtry></Tp>
          <Nb>INV-4410</Nb>
        </RfrdDocInf>
        <RfrdDocAmt><RmtdAmt Ccy="CNY">1130.00</RmtdAmt></RfrdDocAmt>
      </Strd>
      <Strd>
        <RfrdDocInf>
          <Tp><CdOrPrtry><Cd>CREN</Cd></CdOrPrtry></Tp>
          <Nb>CN-0091</Nb>
        </RfrdDocInf>
        <RfrdDocAmt><CdtNoteAmt Ccy="CNY">130.00</CdtNoteAmt></RfrdDocAmt>
      </Strd>
      <OrgnlPmtInf>
        <Refs><EndToEndId>E2E-4410</EndToEndId></Refs>
        <ReqdExctnDt><Dt>2026-10-03</Dt></ReqdExctnDt>
        <Dbtr><Nm>Core Buyer Ltd</Nm></Dbtr>
        <DbtrAcct><Id><IBAN>DE89370400440532013000</IBAN></Id></DbtrAcct>
        <Cdtr><Nm>Tier One Supplier</Nm></Cdtr>
      </OrgnlPmtInf>
    </RmtInf>
  </RmtAdvc>
</Document>
"""


def test_a_remittance_advice_names_the_invoices_a_payment_settles() -> None:
    (parsed,) = DetectingReader(submitter="org-3").read(REMT.encode(), source="ra.xml")
    doc = parsed.document
    assert doc.kind is DocumentKind.REMITTANCE and doc.source_format == "remt.001.001.04"
    assert doc.number == "RA-7-1" and doc.issue_date.isoformat() == "2026-10-03"
    assert doc.total is not None and (doc.total.amount, doc.total.currency) == (
        Decimal("1000.00"), "CNY",
    )  # fmt: skip
    assert doc.references == (
        DocumentRef(DocumentKind.INVOICE, "INV-4410"),
        DocumentRef(DocumentKind.CREDIT_NOTE, "CN-0091"),
        DocumentRef(DocumentKind.PAYMENT, "E2E-4410"),
    )
    assert doc.buyer.name == "Core Buyer Ltd" and doc.seller.name == "Tier One Supplier"
    assert doc.buyer.account == "DE89370400440532013000"


def test_a_remittance_advice_invalid_against_the_xsd_is_refused() -> None:
    broken = REMT.replace("<InitgPty><Nm>Core Buyer Ltd</Nm></InitgPty>", "")
    with pytest.raises(DocumentRejectedError) as refused:
        DetectingReader().read(broken.encode(), source="ra.xml")
    assert refused.value.problems[0].code == "SCHEMA"
