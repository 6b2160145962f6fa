"""ISO 20022 camt.054.001.08 writer: one credit notification per payment.

The payee's bank notifies the payee's account (``Ntfctn/Acct``) of one booked credit entry with
one transaction: the payer in ``RltdPties/Dbtr`` (USCC as an organisation ``Othr`` id) and
``DbtrAcct``, the invoice in ``RmtInf/Strd/RfrdDocInf/Nb`` and the payer's end-to-end id.
"""

from __future__ import annotations

from decimal import Decimal

from lxml import etree

from fourflow.domain.issued import Payment

NS = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"


def _el(parent: etree._Element, name: str, text: str | None = None, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, f"{{{NS}}}{name}", attrs)
    if text is not None:
        el.text = text
    return el


def _path(parent: etree._Element, path: str, text: str) -> None:
    el = parent
    for name in path.split("/"):
        el = _el(el, name)
    el.text = text


def _party(parent: etree._Element, name: str, uscc: str) -> None:
    party = _el(parent, "Pty")
    _el(party, "Nm", name)
    other = _el(_el(_el(party, "Id"), "OrgId"), "Othr")
    _el(other, "Id", uscc)
    _path(other, "SchmeNm/Prtry", "USCC")


def _account(parent: etree._Element, number: str) -> None:
    _path(parent, "Id/Othr/Id", number)


def _amount(value: Decimal) -> str:
    return f"{value:.2f}"


def camt054_xml(payment: Payment) -> bytes:
    """A camt.054.001.08 credit notification of one payment on the payee's account."""
    root = etree.Element(f"{{{NS}}}Document", nsmap={None: NS})  # type: ignore[dict-item]
    message = _el(root, "BkToCstmrDbtCdtNtfctn")
    stamp = f"{payment.booking_date.isoformat()}T18:00:00+08:00"
    header = _el(message, "GrpHdr")
    _el(header, "MsgId", payment.msg_id)
    _el(header, "CreDtTm", stamp)
    notification = _el(message, "Ntfctn")
    _el(notification, "Id", payment.msg_id)
    _el(notification, "CreDtTm", stamp)
    account = _el(notification, "Acct")
    _account(account, payment.payee_account)
    _el(account, "Ccy", payment.currency)
    _path(account, "Ownr/Nm", payment.payee.name)
    _path(account, "Svcr/FinInstnId/BICFI", payment.payee.bank_bic)
    entry = _el(notification, "Ntry")
    _el(entry, "Amt", _amount(payment.amount), Ccy=payment.currency)
    _el(entry, "CdtDbtInd", "CRDT")
    _path(entry, "Sts/Cd", "BOOK")
    _path(entry, "BookgDt/Dt", payment.booking_date.isoformat())
    _path(entry, "ValDt/Dt", payment.booking_date.isoformat())
    code = _el(_el(entry, "BkTxCd"), "Domn")
    _el(code, "Cd", "PMNT")
    family = _el(code, "Fmly")
    _el(family, "Cd", "RCDT")
    _el(family, "SubFmlyCd", "DMCT")
    tx = _el(_el(entry, "NtryDtls"), "TxDtls")
    _path(tx, "Refs/EndToEndId", payment.number)
    _el(tx, "Amt", _amount(payment.amount), Ccy=payment.currency)
    _el(tx, "CdtDbtInd", "CRDT")
    parties = _el(tx, "RltdPties")
    _party(_el(parties, "Dbtr"), payment.payer_name, payment.payer_uscc)
    _account(_el(parties, "DbtrAcct"), payment.payer_account)
    _party(_el(parties, "Cdtr"), payment.payee.name, payment.payee.uscc)
    _account(_el(parties, "CdtrAcct"), payment.payee_account)
    agents = _el(tx, "RltdAgts")
    _path(agents, "DbtrAgt/FinInstnId/BICFI", payment.payer_bic)
    _path(agents, "CdtrAgt/FinInstnId/BICFI", payment.payee.bank_bic)
    remittance = _el(tx, "RmtInf")
    if payment.unstructured:
        _el(remittance, "Ustrd", payment.unstructured)
    if payment.invoice_number:
        document = _el(_el(remittance, "Strd"), "RfrdDocInf")
        _path(document, "Tp/CdOrPrtry/Cd", "CINV")
        _el(document, "Nb", payment.invoice_number)
        if payment.invoice_date:
            _el(document, "RltdDt", payment.invoice_date.isoformat())
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
