"""ISO 20022 pacs.002 (FI-to-FI payment status report): one ``payment_status`` per transaction
status, naming the payment it reports on.

Neither a pacs.002 sample nor its XSD is in the standards directory: the messages are written
here (``pacs002``) from the ISO 20022 message definition, and the reader's checks are
structural (docs/formats/iso20022.md), which these tests exercise element by element.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import pytest

from fourflow.adapters.documents.errors import DocumentRejectedError, PartlyRejectedError
from fourflow.adapters.documents.iso20022 import validate_iso20022
from fourflow.adapters.documents.registry import DetectingReader
from fourflow.domain.documents import DocumentKind, DocumentRef, Flow

UETR = "7a562c67-ca16-48ba-b074-65581be6f001"


@dataclass(frozen=True, slots=True)
class Tx:
    """One ``TxInfAndSts`` to write; ``None`` leaves an element out."""

    status: str | None = "RJCT"
    end_to_end: str | None = "E2E-1"
    uetr: str | None = UETR
    tx_id: str | None = "TX-1"
    instr_id: str | None = None
    status_id: str | None = "STS-1"
    reasons: tuple[str, ...] = ("AC04",)
    accepted: str | None = None
    account_ref: str | None = None  # AcctSvcrRef: the account servicer's reference
    amount: str | None = "113000.00"
    currency: str = "CNY"
    debtor: tuple[str, str] | None = ("East China Heavy Equipment Group", "6222020001000000011")
    creditor: tuple[str, str] | None = ("Suzhou Precision Parts Co.", "6222020001000000022")
    extra: str = ""


def _party(tag: str, party: tuple[str, str] | None, wrapped: bool) -> str:
    if party is None:
        return ""
    name, account = party
    inner = f"<Nm>{name}</Nm>"
    body = f"<{tag}><Pty>{inner}</Pty></{tag}>" if wrapped else f"<{tag}>{inner}</{tag}>"
    return f"{body}<{tag}Acct><Id><Othr><Id>{account}</Id></Othr></Id></{tag}Acct>"


def _el(tag: str, value: str | None) -> str:
    return "" if value is None else f"<{tag}>{value}</{tag}>"


def pacs002(
    txs: Sequence[Tx] = (Tx(),),
    *,
    version: str = "10",
    msg_id: str | None = "PSR-2026-0001",
    created: str | None = "2026-06-20T10:15:00",
    group: bool = True,
    group_status: str | None = None,
    original_msg_type: str | None = "pacs.008.001.08",
    top_extra: str = "",
) -> bytes:
    """A pacs.002 report of version ``version`` with the transaction statuses ``txs``.

    From version 08 the parties of the original transaction are wrapped in ``Pty``
    (Party40Choice), as the message definition has them; before, they are plain.
    """
    wrapped = int(version) >= 8
    rows = []
    for tx in txs:
        reasons = "".join(f"<StsRsnInf><Rsn><Cd>{r}</Cd></Rsn></StsRsnInf>" for r in tx.reasons)
        amount = (
            f'<IntrBkSttlmAmt Ccy="{tx.currency}">{tx.amount}</IntrBkSttlmAmt>'
            if tx.amount is not None
            else ""
        )
        ref = (
            f"<OrgnlTxRef>{amount}<RmtInf><Ustrd>Invoice INV-T001</Ustrd></RmtInf>"
            f"{_party('Dbtr', tx.debtor, wrapped)}{_party('Cdtr', tx.creditor, wrapped)}"
            "</OrgnlTxRef>"
        )
        rows.append(
            "<TxInfAndSts>"
            + _el("StsId", tx.status_id)
            + _el("OrgnlInstrId", tx.instr_id)
            + _el("OrgnlEndToEndId", tx.end_to_end)
            + _el("OrgnlTxId", tx.tx_id)
            + _el("OrgnlUETR", tx.uetr)
            + _el("TxSts", tx.status)
            + reasons
            + _el("AccptncDtTm", tx.accepted)
            + _el("AcctSvcrRef", tx.account_ref)
            + ref
            + tx.extra
            + "</TxInfAndSts>"
        )
    header = "<GrpHdr>" + _el("MsgId", msg_id) + _el("CreDtTm", created) + "</GrpHdr>"
    original = (
        "<OrgnlGrpInfAndSts><OrgnlMsgId>PACS008-77</OrgnlMsgId>"
        + _el("OrgnlMsgNmId", original_msg_type)
        + _el("GrpSts", group_status)
        + "</OrgnlGrpInfAndSts>"
        if group
        else ""
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pacs.002.001.{version}">'
        f"<FIToFIPmtStsRpt>{header}{original}{''.join(rows)}{top_extra}</FIToFIPmtStsRpt>"
        "</Document>"
    ).encode()


def read(raw: bytes):  # type: ignore[no-untyped-def]
    return DetectingReader(submitter="org-bank").read(raw, source="psr.xml")


def refused(raw: bytes) -> DocumentRejectedError:
    with pytest.raises(DocumentRejectedError) as caught:
        read(raw)
    return caught.value


@pytest.mark.parametrize("version", ["03", "07", "08", "10", "12"])
def test_a_rejection_names_its_payment_by_every_identifier(version: str) -> None:
    (parsed,) = read(pacs002(version=version))
    doc = parsed.document
    assert doc.kind is DocumentKind.PAYMENT_STATUS and doc.flow is Flow.CAPITAL
    assert doc.source_format == f"pacs.002.001.{version}"
    assert doc.number == "STS-1" and doc.issue_date.isoformat() == "2026-06-20"
    status = doc.payment_status
    assert status is not None
    assert (status.code, status.rejected, status.settled) == ("RJCT", True, False)
    assert status.payment_ids == ("E2E-1", UETR, "TX-1") and status.reasons == ("AC04",)
    assert (status.original_message, status.original_message_type) == (
        "PACS008-77", "pacs.008.001.08",
    )  # fmt: skip
    assert doc.references == tuple(
        DocumentRef(DocumentKind.PAYMENT, n) for n in ("E2E-1", UETR, "TX-1")
    )
    assert doc.total is not None and (doc.total.amount, doc.total.currency) == (
        Decimal("113000.00"), "CNY",
    )  # fmt: skip
    assert doc.buyer.account == "6222020001000000011"
    assert doc.seller.account == "6222020001000000022"
    assert doc.seller.name == "Suzhou Precision Parts Co."
    assert parsed.raw.startswith(b"<?xml")  # one status: the file as submitted


def test_a_settlement_and_the_group_status_for_transactions_without_their_own() -> None:
    txs = [
        Tx(status="ACSC", status_id="S-1", reasons=(), accepted="2026-06-20T09:00:00Z"),
        Tx(status=None, end_to_end="E2E-2", uetr=None, tx_id=None, status_id="S-2", reasons=()),
    ]
    first, second = (p.document for p in read(pacs002(txs, group_status="ACCP")))
    assert first.payment_status is not None and second.payment_status is not None
    assert first.payment_status.settled and first.payment_status.code == "ACSC"
    assert first.payment_status.accepted_at == "2026-06-20T09:00:00Z"
    assert second.payment_status.code == "ACCP"  # the group's status
    assert second.payment_status.payment_ids == ("E2E-2",)


def test_each_status_of_a_report_has_its_own_canonical_form_and_number() -> None:
    txs = [Tx(status_id=None, end_to_end=f"E2E-{i}", uetr=None, tx_id=None) for i in (1, 2)]
    first, second = read(pacs002(txs))
    assert (first.document.number, second.document.number) == (
        "PSR-2026-0001:1", "PSR-2026-0001:2",
    )  # fmt: skip
    assert first.canonical != second.canonical
    assert b"E2E-2" not in first.canonical and b"E2E-1" in first.canonical
    assert b"PSR-2026-0001" in first.canonical  # the header stays
    assert first.raw == first.canonical  # several statuses: each its own part


@pytest.mark.parametrize(
    ("raw", "code", "words", "where"),
    [
        (pacs002(msg_id=None), "SCHEMA", "MsgId is required in GrpHdr", "GrpHdr"),
        (pacs002(created="20 June 2026"), "SCHEMA", "CreDtTm '20 June 2026' is not", "CreDtTm"),
        (pacs002(msg_id="M" * 36), "SCHEMA", "MsgId is longer than 35", "MsgId"),
        (pacs002(original_msg_type=None), "SCHEMA", "OrgnlMsgNmId is required", "OrgnlGrpInf"),
        (pacs002(group_status="DONE"), "SCHEMA", "GrpSts 'DONE' is not an ISO", "GrpSts"),
        (pacs002(top_extra="<Bogus/>"), "SCHEMA", "Bogus is not an element of", "Bogus"),
    ],
)
def test_a_malformed_report_is_refused_naming_the_element_and_path(
    raw: bytes, code: str, words: str, where: str
) -> None:
    problems = refused(raw).problems
    assert not isinstance(refused(raw), PartlyRejectedError)
    assert any(p.code == code and words in p.message for p in problems), problems
    assert any(where in p.location for p in problems), problems
    assert all("psr.xml: pacs.002" in p.message for p in problems)


def test_the_wrong_message_element_is_refused() -> None:
    raw = pacs002().replace(b"FIToFIPmtStsRpt", b"CstmrPmtStsRpt")
    (problem,) = refused(raw).problems
    assert "must be FIToFIPmtStsRpt, not CstmrPmtStsRpt" in problem.message


BAD = {
    "unknown status": (Tx(status="DONE", status_id="B"), "TxSts 'DONE' is not an ISO 20022"),
    "no payment named": (
        Tx(end_to_end=None, uetr=None, tx_id=None, status_id="B"),
        "names no original payment",
    ),
    "uetr not a uuid": (Tx(uetr="not-a-uuid", status_id="B"), "OrgnlUETR 'not-a-uuid'"),
    "no status at all": (Tx(status=None, status_id="B"), "TxSts is required"),
    "bad reason": (Tx(reasons=("TOOLONG",), status_id="B"), "StsRsnInf/Rsn/Cd 'TOOLONG'"),
    "bad acceptance": (Tx(accepted="yesterday", status_id="B"), "AccptncDtTm 'yesterday'"),
    "bad amount": (Tx(amount="12,50", status_id="B"), "is not a decimal number"),
    "bad currency": (Tx(currency="XXQ", status_id="B"), "XXQ"),
    "negative amount": (Tx(amount="-5.00", status_id="B"), "is negative"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_batch_keeps_the_good_statuses_and_reports_the_bad_one(case: str) -> None:
    bad, words = BAD[case]
    good = [Tx(status_id="G-1", end_to_end="E2E-G1"), Tx(status_id="G-2", end_to_end="E2E-G2")]
    raw = pacs002([good[0], bad, good[1]])
    with pytest.raises(PartlyRejectedError) as caught:
        read(raw)
    (problem,) = caught.value.problems
    assert words in problem.message and "TxInfAndSts 2" in problem.message, problem
    assert "/FIToFIPmtStsRpt/TxInfAndSts[2]" in problem.location
    kept = [p.document.number for p in caught.value.partial]  # type: ignore[attr-defined]
    assert kept == ["G-1", "G-2"]
    # `fourflow validate` reports the same problem
    (issue,) = validate_iso20022(raw, source="psr.xml", rules=False)
    assert issue.flag == "fatal" and words in issue.message


def test_a_report_whose_every_status_is_bad_is_refused_whole() -> None:
    raw = pacs002([Tx(status="DONE")])
    error = refused(raw)
    assert error.problems and not getattr(error, "partial", None)


def test_a_group_only_report_records_nothing() -> None:
    assert read(pacs002([], group_status="RJCT")) == []
    assert validate_iso20022(pacs002([], group_status="RJCT"), source="x", rules=False) == []


def test_a_transaction_status_without_a_group_or_own_status_is_refused() -> None:
    with pytest.raises(DocumentRejectedError) as caught:
        read(pacs002([Tx(status=None)], group=False))
    assert "TxSts is required when the original group has no GrpSts" in str(caught.value)


def test_other_pacs_messages_are_still_not_claimed() -> None:
    raw = pacs002().replace(b"pacs.002.001.10", b"pacs.008.001.08")
    (problem,) = refused(raw).problems
    assert problem.code == "UNKNOWN_FORMAT"


def test_the_account_servicers_reference_names_the_payment_too() -> None:
    # AcctSvcrRef (after AccptncDtTm, before OrgnlTxRef in every version): the reference a
    # camt.053/054 entry of the same bank carries; it is enough to name the payment
    for version in ("03", "10"):
        (parsed,) = read(
            pacs002([Tx(end_to_end=None, uetr=None, tx_id=None, instr_id="INSTR-7",
                        account_ref="ASR-2026-0042")], version=version)
        )  # fmt: skip
        status = parsed.document.payment_status
        assert status is not None and status.payment_ids == ("INSTR-7", "ASR-2026-0042")
        (alone,) = read(
            pacs002([Tx(end_to_end=None, uetr=None, tx_id=None, account_ref="ASR-9")],
                    version=version)
        )  # fmt: skip
        assert alone.document.references == (DocumentRef(DocumentKind.PAYMENT, "ASR-9"),)
    too_long = refused(pacs002([Tx(account_ref="A" * 36)]))
    assert "AcctSvcrRef is longer than 35 characters" in str(too_long)
