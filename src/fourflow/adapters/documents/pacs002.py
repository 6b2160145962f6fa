"""ISO 20022 pacs.002 (FI-to-FI payment status report): each transaction status becomes a
``payment_status`` document naming the payment it reports on (docs/formats/iso20022.md).

No official pacs.002 XSD is in the standards directory, so the message is checked
structurally here, from the ISO 20022 message definition (pacs.002.001.03 to .14): the
elements the reader relies on must be present and well-formed (identifiers of at most 35
characters, ISO dates, a UETR that is a UUID version 4, amounts with a currency) and every
status must be a code of the ISO external code list. This is not XSD validation: elements
the reader does not use are not checked beyond their names at the message's top level.

Problems of the message as a whole (header, original group) refuse the file. A transaction
status with a problem is reported and the others are kept (``PartlyRejectedError``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from lxml import etree

from fourflow.adapters.documents import iso20022 as iso
from fourflow.adapters.documents.errors import DocumentRejectedError, PartlyRejectedError, Problem
from fourflow.adapters.documents.xml import text
from fourflow.domain.documents import Document, DocumentKind, DocumentRef
from fourflow.domain.errors import DomainValueError
from fourflow.domain.money import Money
from fourflow.domain.payment_status import STATUS_CODES, PaymentStatus
from fourflow.services.reading import ParsedDocument

ROOT = "FIToFIPmtStsRpt"
# The children the message definition allows under FIToFIPmtStsRpt (every version).
_TOP_LEVEL = frozenset({"GrpHdr", "OrgnlGrpInfAndSts", "TxInfAndSts", "SplmtryData"})
_MAX35 = 35
_UETR = re.compile(r"^[a-f0-9]{8}-[a-f0-9]{4}-4[a-f0-9]{3}-[89ab][a-f0-9]{3}-[a-f0-9]{12}$")
_REASON = re.compile(r"^[A-Za-z0-9]{1,4}$")
# Identifiers of the original payment, in the order a payment document's number is looked for;
# last the account servicer's reference of the transaction (a camt.053/054 entry's number).
_ORIGINAL_IDS = ("OrgnlEndToEndId", "OrgnlUETR", "OrgnlTxId", "OrgnlInstrId", "AcctSvcrRef")


@dataclass(frozen=True, slots=True)
class _Group:
    """The original group a report refers to (``OrgnlGrpInfAndSts``)."""

    msg_id: str
    msg_type: str
    status: str | None


class _Problems:
    """Problems found while checking one part of the message, each with its path."""

    def __init__(self, t: iso._Tree) -> None:
        self.t = t
        self.found: list[Problem] = []

    def add(self, element: etree._Element, message: str) -> None:
        self.found.append(Problem("SCHEMA", message, self.t.where(element)))

    def text(
        self, parent: etree._Element, path: str, *, required: bool = False, max_len: int = _MAX35
    ) -> str | None:
        """The text at ``path`` under ``parent``: required and at most ``max_len`` long."""
        element = self.t.find(parent, path)
        value = text(element) if element is not None else None
        if not value:
            if required:
                where = self.t.where(parent)
                self.found.append(
                    Problem("SCHEMA", f"{path} is required in {where.rsplit('/', 1)[-1]}", where)
                )
            return None
        if len(value) > max_len:
            assert element is not None
            self.add(element, f"{path} is longer than {max_len} characters ({len(value)})")
            return None
        return value

    def status(self, parent: etree._Element, path: str) -> str | None:
        """A status code at ``path``: one of the ISO external code list."""
        code = self.text(parent, path, max_len=4)
        if code is not None and code not in STATUS_CODES:
            element = self.t.find(parent, path)
            assert element is not None
            self.add(
                element,
                f"{path} {code!r} is not an ISO 20022 payment status code "
                f"({', '.join(sorted(STATUS_CODES))})",
            )
            return None
        return code

    def datetime(self, parent: etree._Element, path: str, *, required: bool = False) -> str | None:
        """An ISO date-time (or date) at ``path``, as written."""
        value = self.text(parent, path, required=required, max_len=64)
        if value is None:
            return None
        try:
            if len(value) == 10:
                dt.date.fromisoformat(value)
            else:
                dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            element = self.t.find(parent, path)
            assert element is not None
            self.add(element, f"{path} {value!r} is not an ISO date-time")
            return None
        return value


def _header(t: iso._Tree, body: etree._Element, source: str) -> tuple[str, dt.date]:
    check = _Problems(t)
    unknown = [child for child in body if etree.QName(child).localname not in _TOP_LEVEL]
    for child in unknown:
        check.add(child, f"{etree.QName(child).localname} is not an element of {ROOT}")
    header = t.find(body, "GrpHdr")
    msg_id = created = None
    if header is None:
        check.found.append(Problem("SCHEMA", f"GrpHdr is required in {ROOT}", t.where(body)))
    else:
        msg_id = check.text(header, "MsgId", required=True)
        created = check.datetime(header, "CreDtTm", required=True)
    if check.found or msg_id is None or created is None:
        raise DocumentRejectedError(
            [Problem(p.code, f"{source}: pacs.002: {p.message}", p.location) for p in check.found]
        )
    return msg_id, dt.date.fromisoformat(created[:10])


def _groups(t: iso._Tree, body: etree._Element, source: str) -> list[_Group]:
    check = _Problems(t)
    groups = []
    for info in t.all(body, "OrgnlGrpInfAndSts"):
        msg_id = check.text(info, "OrgnlMsgId", required=True)
        msg_type = check.text(info, "OrgnlMsgNmId", required=True)
        status = check.status(info, "GrpSts")
        if msg_id and msg_type:
            groups.append(_Group(msg_id, msg_type, status))
    if check.found:
        raise DocumentRejectedError(
            [Problem(p.code, f"{source}: pacs.002: {p.message}", p.location) for p in check.found]
        )
    return groups


def _payment_ids(check: _Problems, tx: etree._Element) -> tuple[str, ...]:
    ids: list[str] = []
    for path in _ORIGINAL_IDS:
        value = check.text(tx, path, max_len=36 if path == "OrgnlUETR" else _MAX35)
        if value is None or value == iso.NOT_PROVIDED:
            continue
        if path == "OrgnlUETR" and not _UETR.match(value):
            element = check.t.find(tx, path)
            assert element is not None
            check.add(element, f"OrgnlUETR {value!r} is not a UUID version 4 (lower case)")
            continue
        ids.append(value)
    if not ids and not check.found:
        check.add(
            tx,
            "TxInfAndSts names no original payment: one of OrgnlEndToEndId, OrgnlUETR, "
            "OrgnlTxId, OrgnlInstrId, AcctSvcrRef is required",
        )
    return tuple(dict.fromkeys(ids))


def _status_of(
    check: _Problems, tx: etree._Element, groups: list[_Group], rctx: iso._Ctx
) -> PaymentStatus | None:
    code = check.status(tx, "TxSts")
    ids = _payment_ids(check, tx)
    reasons = []
    for reason in check.t.all(tx, "StsRsnInf/Rsn/Cd"):
        value = text(reason) or ""
        if not _REASON.match(value):
            check.add(reason, f"StsRsnInf/Rsn/Cd {value!r} is not a reason code (1-4 letters)")
        else:
            reasons.append(value)
    accepted = check.datetime(tx, "AccptncDtTm")
    group = _group_of(check, tx, groups)
    if code is None and not check.found:
        if group is None or group.status is None:
            check.add(tx, "TxSts is required when the original group has no GrpSts")
        else:
            code = group.status  # the group's status applies to each of its transactions
    if check.found or code is None:
        return None
    return PaymentStatus(
        code=code,
        payment_ids=ids,
        reasons=tuple(reasons),
        original_message=group.msg_id if group else None,
        original_message_type=group.msg_type if group else None,
        accepted_at=accepted,
    )


def _group_of(check: _Problems, tx: etree._Element, groups: list[_Group]) -> _Group | None:
    """The original group of a transaction: named by ``OrgnlGrpInf`` (versions 10 and later),
    else the report's only ``OrgnlGrpInfAndSts``."""
    named = check.text(tx, "OrgnlGrpInf/OrgnlMsgId")
    if named is not None:
        return next((g for g in groups if g.msg_id == named), None) or _Group(
            named, check.text(tx, "OrgnlGrpInf/OrgnlMsgNmId") or "", None
        )
    return groups[0] if len(groups) == 1 else None


def _amount(t: iso._Tree, tx: etree._Element) -> Money | None:
    amount = t.find(tx, "OrgnlTxRef/IntrBkSttlmAmt")
    if amount is None:
        return None
    money = iso._money(amount, t.where(amount))
    if money.amount < 0:
        raise DomainValueError(f"{t.where(amount)}: amount {money.amount} is negative")
    return money


def _document(
    t: iso._Tree, tx: etree._Element, k: int, status: PaymentStatus, rctx: iso._Ctx
) -> Document:
    amount = _amount(t, tx)
    ref = t.find(tx, "OrgnlTxRef")
    number = iso._first(t.text(tx, "StsId")) or f"{rctx.msg_id}:{k}"
    refs = [DocumentRef(DocumentKind.PAYMENT, i) for i in status.payment_ids]
    return Document(
        id=rctx.new_id(),
        kind=DocumentKind.PAYMENT_STATUS,
        number=number,
        issue_date=rctx.created,
        seller=iso._party(t, ref, "Cdtr", "CdtrAcct"),
        buyer=iso._party(t, ref, "Dbtr", "DbtrAcct"),
        currency=amount.currency if amount else None,
        total=amount,
        references=iso._unique([r for r in refs if r.number != number]),
        source_format=rctx.message.name,
        submitted_by=rctx.submitter,
        payment_status=status,
    )


def read_pacs002(
    t: iso._Tree, body: etree._Element, rctx: iso._Ctx, raw: bytes, source: str
) -> list[ParsedDocument]:
    """Every transaction status of a pacs.002 report; a bad one is reported, the rest kept."""
    groups = _groups(t, body, source)
    out: list[ParsedDocument] = []
    problems: list[Problem] = []
    txs = t.all(body, "TxInfAndSts")
    for k, tx in enumerate(txs, start=1):
        check = _Problems(t)
        status = _status_of(check, tx, groups, rctx)
        try:
            if status is not None:
                doc = _document(t, tx, k, status, rctx)
                canonical = iso._pruned(tx)
                out.append(
                    ParsedDocument(
                        document=doc,
                        canonical=canonical,
                        raw=raw if len(txs) == 1 else canonical,
                        media_type=iso.MEDIA_TYPE,
                    )
                )
        except DomainValueError as exc:
            check.found.append(Problem("BAD_VALUE", str(exc), t.where(tx)))
        problems.extend(
            Problem(p.code, f"{source}: pacs.002: TxInfAndSts {k}: {p.message}", p.location)
            for p in check.found
        )
    if problems:
        raise PartlyRejectedError(problems, out)
    return out


def check_pacs002(t: iso._Tree, body: etree._Element, source: str) -> list[Problem]:
    """Every structural problem of a pacs.002 report (for ``fourflow validate``)."""
    message = iso.message_of(etree.QName(t.root).namespace or "")
    assert message is not None
    try:
        msg_id, created = header(t, body, source)
        rctx = iso._Ctx(message, msg_id, created, None, lambda: "check")
        read_pacs002(t, body, rctx, b"", source)
    except DocumentRejectedError as exc:
        return list(exc.problems)
    return []


def header(t: iso._Tree, body: etree._Element, source: str) -> tuple[str, dt.date]:
    """The report's ``GrpHdr/MsgId`` and the date of ``GrpHdr/CreDtTm`` (checked)."""
    if etree.QName(body).localname != ROOT:
        raise DocumentRejectedError(
            [
                Problem(
                    "SCHEMA",
                    f"{source}: pacs.002: the message element must be {ROOT}, "
                    f"not {etree.QName(body).localname}",
                    t.where(body),
                )
            ]
        )
    return _header(t, body, source)
