"""ISO 20022 camt/pain reader: every sample through DetectingReader, hand-read fields, and the
genkgo/camt peer suite (its expected JSON beside each camt file)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from fourflow.adapters.documents.errors import DocumentRejectedError
from fourflow.adapters.documents.iso20022 import invoice_numbers_in
from fourflow.adapters.documents.registry import DetectingReader, detect
from fourflow.adapters.documents.standards import artefact
from fourflow.domain.documents import DocumentKind, DocumentRef
from fourflow.domain.money import Money
from fourflow.services.reading import ParsedDocument

ISO = artefact("iso20022")
GENKGO = sorted((ISO / "samples-genkgo").glob("*.xml"))
MOOV = sorted((ISO / "samples-moov").glob("*.xml"))
# Messages outside the supported set (acmt, auth, reda, camt.055 and direct debits).
UNSUPPORTED = {
    "valid_acmt_v03.xml",
    "valid_auth_v02.xml",
    "valid_reda_v01.xml",
    "valid_camt_v09.xml",
    "pain008-musterfile.xml",
}


def _read(path: Path) -> list[ParsedDocument]:
    return DetectingReader(submitter="org-1").read(path.read_bytes(), source=path.name)


SUPPORTED = [
    p for p in GENKGO + MOOV if p.name not in UNSUPPORTED and p.name != "invalid_pain_v11.xml"
]


@pytest.mark.parametrize("path", SUPPORTED, ids=lambda p: p.name)
def test_every_supported_sample_is_accepted(path: Path) -> None:
    parsed = _read(path)
    numbers = [p.document.number for p in parsed]
    assert all(n.strip() for n in numbers)
    assert len({p.canonical for p in parsed}) == len(parsed), "each entry has its own fingerprint"
    assert all(p.document.source_format.startswith(("camt.", "pain.")) for p in parsed)


def test_deliberately_invalid_pain_is_refused_naming_the_missing_namespace() -> None:
    with pytest.raises(DocumentRejectedError) as err:
        _read(ISO / "samples-moov" / "invalid_pain_v11.xml")
    assert err.value.problems[0].code == "UNSUPPORTED_MESSAGE"
    assert "declares no namespace" in str(err.value)
    assert "CstmrPmtStsRpt" in str(err.value)


@pytest.mark.parametrize("name", sorted(UNSUPPORTED))
def test_other_iso20022_messages_are_not_claimed(name: str) -> None:
    raw = (ISO / "samples-moov" / name).read_bytes()
    assert detect(raw) is None


def test_schema_invalid_camt_is_refused_with_the_xsd_error() -> None:
    raw = (ISO / "samples-genkgo" / "camt053.v4.xml").read_bytes()
    broken = raw.replace(b"<CdtDbtInd>CRDT</CdtDbtInd>", b"<CdtDbtInd>UP</CdtDbtInd>", 1)
    with pytest.raises(DocumentRejectedError) as err:
        DetectingReader().read(broken, source="broken.xml")
    assert err.value.problems[0].code == "SCHEMA"
    assert "camt.053.001.04" in str(err.value) and "CdtDbtInd" in str(err.value)


def test_camt053_v4_entry_read_by_hand() -> None:
    (doc,) = [p.document for p in _read(ISO / "samples-genkgo" / "camt053.v4.xml")]
    assert doc.kind is DocumentKind.BANK_STATEMENT_ENTRY
    assert doc.number == "AAAASESS-FP-CN_98765/01"
    assert doc.issue_date == dt.date(2014, 12, 31)
    assert doc.total == Money.of("8.85", "EUR") and doc.currency == "EUR"
    assert doc.seller.account == "NL26VAYB8060476890"  # a credit: the holder is paid
    assert doc.buyer.account == "NL56AGDH9619008421" and doc.buyer.name == "NAME NAME"


def test_camt054_v4_batch_gives_one_payment_per_transaction() -> None:
    docs = [p.document for p in _read(ISO / "samples-genkgo" / "camt054.v4.xml")]
    assert [d.total for d in docs] == [Money.of("3.1", "CHF"), *[Money.of("3.2", "CHF")] * 2]
    first = docs[0]
    assert first.kind is DocumentKind.PAYMENT
    assert first.number == "UXC06170000006PI00001EE00001"
    assert first.buyer.account == "CH2801234000123456789"  # a debit: the holder pays
    assert first.seller.name == "Example Creditor 3 - V1"
    assert first.seller.account == "CH4112345003131313131"


def test_camt054_structured_invoice_reference_and_debtor_ids() -> None:
    docs = [p.document for p in _read(ISO / "samples-moov" / "FI_camt_052_sample.xml.xml")]
    assert docs[0].number == "21892819"
    assert docs[0].total == Money.of("2120.00", "EUR")
    assert docs[0].refs_to(DocumentKind.INVOICE) == ("US20291092",)
    assert docs[0].seller.name == "BANK ACCOUNT OWNER"
    assert docs[0].seller.account == "FI7433010001222090"


def test_pain001_swiss_musterfile_transactions() -> None:
    docs = [p.document for p in _read(ISO / "samples-moov" / "musterfile_pain.001_Nov2020.xml")]
    assert len(docs) == 8
    first = docs[0]
    assert first.kind is DocumentKind.PAYMENT and first.source_format == "pain.001.001.03"
    assert first.number == "EndToEndId-01-01"
    assert first.issue_date == dt.date(2020, 7, 28)
    assert first.total == Money.of("6.20", "CHF")
    assert first.buyer.name == "Robert Schneider"
    assert first.buyer.account == "CH0309000000250090342"
    assert first.seller.name == "Maria Bernasconi"
    assert first.seller.account == "CH5109000000250092291"
    assert first.references == (DocumentRef(DocumentKind.INVOICE, "1122"),)


def test_pain002_status_reports_are_recognised_and_map_to_nothing() -> None:
    for path in (ISO / "samples-moov").glob("*pain002*.xml"):
        assert _read(path) == []
    assert _read(ISO / "samples-moov" / "valid_pain_v11.xml") == []


@pytest.mark.parametrize(
    ("remark", "numbers"),
    [
        ("Rechnung 1001", ["1001"]),
        ("Rg.-Nr. 001", ["001"]),
        ("Invoice No. INV-2024-17, thanks", ["INV-2024-17"]),
        ("Rechnung 20200615636.365", ["20200615636.365"]),
        ("Mitteilung Lohn", []),
        ("Salaire Juli", []),
        ("invoice for services", []),
    ],
)
def test_invoice_numbers_in_unstructured_remittance(remark: str, numbers: list[str]) -> None:
    assert invoice_numbers_in(remark) == numbers


# --- genkgo/camt peer suite ------------------------------------------------------------------


def _day(value: dict[str, Any] | None) -> dt.date | None:
    return dt.date.fromisoformat(value["0"][:10]) if value else None


def _e2e(tx: dict[str, Any]) -> str | None:
    value = (tx.get("getReference") or {}).get("getEndToEndId")
    return value if value and value != "NOTPROVIDED" else None


def _minor(money: Money) -> int:
    return int(money.amount.scaleb(2))  # genkgo (moneyphp) holds 2-decimal minor units


@pytest.mark.parametrize("path", GENKGO, ids=lambda p: p.name)
def test_genkgo_peer_agreement(path: Path) -> None:
    expected = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    docs = [p.document for p in _read(path)]
    (entry,) = expected["getEntries"]  # every genkgo sample holds one entry
    details = [entry["getTransactionDetail"], *entry["getTransactionDetails"][1:]]
    details = [d for d in details if d]
    holder = entry["getRecord"]["getAccount"]["getIdentification"]
    credit = entry["getCreditDebitIndicator"] == "CRDT"
    booked = _day(entry["getBookingDate"]) or _day(entry["getValueDate"])
    if len(docs) == 1:
        (doc,) = docs
        amount = entry["getAmount"]
        assert doc.total is not None
        assert _minor(doc.total) == abs(int(amount["getAmount"]))
        assert doc.currency == amount["getCurrency"]["getCode"]
        if entry["getAccountServicerReference"]:
            assert doc.number == entry["getAccountServicerReference"]
        pairs = [(doc, d) for d in details]
    else:  # a batch: one document per transaction, amounts as genkgo reads them
        assert len(docs) == len(details)
        for doc, tx in zip(docs, details, strict=True):
            assert doc.total is not None
            assert _minor(doc.total) == abs(int(tx["getAmount"]["getAmount"]))
            assert doc.currency == tx["getAmount"]["getCurrency"]["getCode"]
        pairs = list(zip(docs, details, strict=True))
    for doc in docs:
        assert (doc.seller if credit else doc.buyer).account == holder
        if booked:
            assert doc.issue_date == booked
        assert doc.total is not None and doc.total.amount >= Decimal(0)
    for doc, tx in pairs:
        e2e = _e2e(tx)
        if e2e:
            assert e2e == doc.number or DocumentRef(DocumentKind.PAYMENT, e2e) in doc.references
