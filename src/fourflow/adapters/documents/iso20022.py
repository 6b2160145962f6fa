"""ISO 20022 cash-management and payment messages (docs/formats/iso20022.md).

* camt.052 / camt.053 (account reports, statements): each entry -> ``bank_statement_entry``;
* camt.054 (debit/credit notifications): each entry -> ``payment``;
* pain.001 (customer credit transfer initiation): each transaction -> ``payment``;
* pain.002 (payment status report): validated and recognised, maps to no document;
* pacs.002 (FI-to-FI payment status report): each transaction status -> ``payment_status``
  naming the payment it reports on (``pacs002``; checked structurally: no official XSD here);
* remt.001 (remittance advice): each ``RmtInf`` -> ``remittance``, referencing the invoices
  (and credit notes) the payment settles and the payment itself (its end-to-end id).

An entry whose ``TxDtls`` each carry their own amount (a batch booking) gives one document per
``TxDtls``; otherwise the entry gives one document and collects the references of all its
``TxDtls``. Messages are checked against the official XSD of their version where the standards
directory has it.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from lxml import etree

from fourflow.adapters.documents import pacs002
from fourflow.adapters.documents.errors import DocumentRejectedError, Problem
from fourflow.adapters.documents.registry import FormatSpec, ReadContext, Sniffed, ValidationIssue
from fourflow.adapters.documents.standards import StandardsMissingError, artefact, require
from fourflow.adapters.documents.xml import canonical_xml, parse_xml, text
from fourflow.adapters.documents.xsd import validate_xsd
from fourflow.domain.documents import Document, DocumentKind, DocumentRef
from fourflow.domain.errors import DomainValueError
from fourflow.domain.identifiers import IdScheme
from fourflow.domain.money import Money
from fourflow.domain.parties import Identifier, PartyRef
from fourflow.services.reading import ParsedDocument

_ISO_NS = re.compile(
    r"^urn:iso:std:iso:20022:tech:xsd:"
    r"(?P<msg>(?:camt\.05[234]|pain\.00[12]|pacs\.002|remt\.001)\.001\.\d{2})$"
)
# Swiss SIX implementation of pain.001/pain.002 (a restriction of the ISO version it names).
_SIX_NS = re.compile(
    r"^http://www\.six-interbank-clearing\.com/de/"
    r"(?P<msg>pain\.00[12]\.001\.\d{2})\.ch\.\d{2}\.xsd$"
)
_RECORDS = {
    "camt.052": ("BkToCstmrAcctRpt", "Rpt", DocumentKind.BANK_STATEMENT_ENTRY),
    "camt.053": ("BkToCstmrStmt", "Stmt", DocumentKind.BANK_STATEMENT_ENTRY),
    "camt.054": ("BkToCstmrDbtCdtNtfctn", "Ntfctn", DocumentKind.PAYMENT),
}
NOT_PROVIDED = "NOTPROVIDED"
MEDIA_TYPE = "application/xml"

# Referenced-document types (ExternalDocumentType / DocumentType codes) -> what they are.
_RFRD_DOC_KINDS = {
    "CREN": DocumentKind.CREDIT_NOTE,
    "CNFA": DocumentKind.CREDIT_NOTE,
    "PUOR": DocumentKind.ORDER,
    "DISP": DocumentKind.DESPATCH_ADVICE,
    "BOLD": DocumentKind.BILL_OF_LADING,
}
# An invoice keyword, an optional "No."/"Nr." and a token holding a digit ("Rg.-Nr. 001").
_INVOICE_IN_TEXT = re.compile(
    r"(?i)(?:\b(?:invoice|inv|rechnung|rg|facture|fact|factuur|fattura|faktura)\b|发票)"
    r"[\s.:#\-]*(?:(?:no|nr|nummer|number|num|n°|号码|号)(?![A-Z0-9])[\s.:#\-]*)?"
    r"(?P<nb>[A-Z0-9](?:[A-Z0-9\-/_.]{0,33}[A-Z0-9])?)"
)


@dataclass(frozen=True, slots=True)
class Message:
    """Which ISO 20022 message a document is.

    Attributes:
        name: the message identifier with version (``camt.054.001.08``).
        namespace: the root namespace as written.
        iso: True for the ISO namespace; False for a national variant (SIX).
    """

    name: str
    namespace: str
    iso: bool

    @property
    def family(self) -> str:
        """The message without its version (``camt.054``)."""
        return self.name[:8]


def message_of(namespace: str) -> Message | None:
    """The supported message a root namespace names, or None."""
    iso = _ISO_NS.match(namespace)
    if iso:
        return Message(iso.group("msg"), namespace, True)
    six = _SIX_NS.match(namespace)
    if six:
        return Message(six.group("msg"), namespace, False)
    return None


# --- XSD -------------------------------------------------------------------------------------


def xsd_path(message: Message) -> Path | None:
    """The official XSD of the message's version, if the standards directory has it."""
    if not message.iso:
        return None  # national variants have their own XSDs, not in the standards directory
    require("iso20022")  # the artefact itself must be there: a clear error naming it if not
    try:
        return artefact("iso20022", "xsd", f"{message.name}.xsd")
    except StandardsMissingError:
        return None  # a version the official set does not publish


def _check_schema(root: etree._Element, message: Message, source: str) -> None:
    path = xsd_path(message)
    issues = validate_xsd(root, path) if path else []
    if issues:
        raise DocumentRejectedError(
            [
                Problem("SCHEMA", f"{source}: {message.name}: {i.message}", i.location)
                for i in issues
            ]
        )


# --- reading helpers -------------------------------------------------------------------------


class _Tree:
    """Namespace-aware lookups by plain ISO 20022 tag paths (``Ntry/Amt``)."""

    def __init__(self, root: etree._Element, namespace: str) -> None:
        self.root = root
        self._ns = namespace
        self._paths = root.getroottree()

    def _q(self, path: str) -> str:
        return "/".join(f"{{{self._ns}}}{step}" for step in path.split("/"))

    def find(self, element: etree._Element, path: str) -> etree._Element | None:
        """The first element at ``path`` under ``element``."""
        return element.find(self._q(path))

    def all(self, element: etree._Element, path: str) -> list[etree._Element]:
        """Every element at ``path`` under ``element``."""
        return list(element.iterfind(self._q(path)))

    def text(self, element: etree._Element | None, path: str) -> str | None:
        """Stripped text at ``path`` under ``element``."""
        return None if element is None else text(self.find(element, path))

    def where(self, element: etree._Element) -> str:
        """A readable path of ``element`` for error messages."""
        path = self._paths.getelementpath(element)
        return "/" + re.sub(r"\{[^}]*\}", "", path)


def _found(t: _Tree, element: etree._Element, *paths: str) -> etree._Element | None:
    """The element at the first of ``paths`` that exists (lxml elements without children are
    falsy, so ``or`` cannot chain lookups)."""
    for path in paths:
        found = t.find(element, path)
        if found is not None:
            return found
    return None


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        raise DomainValueError(f"date {value!r} is not an ISO date") from None


def _date_of(t: _Tree, element: etree._Element | None, path: str) -> dt.date | None:
    if element is None:
        return None
    return _date(t.text(element, f"{path}/Dt") or t.text(element, f"{path}/DtTm"))


def _money(amount: etree._Element | None, where: str) -> Money:
    if amount is None or not (amount.text or "").strip():
        raise DomainValueError(f"{where}: amount is missing")
    currency = amount.get("Ccy")
    if not currency:
        raise DomainValueError(f"{where}: amount has no Ccy")
    return Money.of(amount.text.strip() if amount.text else "", currency)


def _identifier(scheme: IdScheme, value: str | None) -> Identifier | None:
    if not value:
        return None
    try:
        return Identifier.parse(scheme, value)
    except DomainValueError:
        return None  # a malformed BIC/LEI identifies nobody; the name and account remain


def _org_ids(t: _Tree, party: etree._Element) -> tuple[Identifier, ...]:
    org = t.find(party, "Id/OrgId")
    if org is None:
        return ()
    found = [
        _identifier(IdScheme.BIC, t.text(org, "AnyBIC") or t.text(org, "BICOrBEI")),
        _identifier(IdScheme.LEI, t.text(org, "LEI")),
    ]
    found.extend(_identifier(IdScheme.OTHER, t.text(o, "Id")) for o in t.all(org, "Othr"))
    return tuple(i for i in found if i is not None)


def _account(t: _Tree, account: etree._Element | None) -> str | None:
    if account is None:
        return None
    return (
        t.text(account, "Id/IBAN")
        or t.text(account, "Id/Othr/Id")
        or t.text(account, "Id/PrtryAcct/Id")  # version 01
    )


def _party(t: _Tree, holder: etree._Element | None, party_path: str, account_path: str) -> PartyRef:
    """A related party (``Dbtr``/``Cdtr``, plain or wrapped in ``Pty``) and its account."""
    if holder is None:
        return PartyRef()
    party = t.find(holder, f"{party_path}/Pty")
    if party is None:
        party = t.find(holder, party_path)
    account = _account(t, t.find(holder, account_path))
    if party is None:
        return PartyRef(account=account)
    return PartyRef(name=t.text(party, "Nm"), identifiers=_org_ids(t, party), account=account)


def _holder(t: _Tree, record: etree._Element) -> PartyRef:
    """The account holder of a statement, report or notification: ``Acct`` and its owner."""
    acct = t.find(record, "Acct")
    if acct is None:
        return PartyRef()
    owner = t.find(acct, "Ownr")
    return PartyRef(
        name=t.text(owner, "Nm"),
        identifiers=_org_ids(t, owner) if owner is not None else (),
        account=_account(t, acct),
    )


def _merge(primary: PartyRef, fallback: PartyRef) -> PartyRef:
    """``primary`` with its missing name, identifiers or account taken from ``fallback``."""
    return PartyRef(
        name=primary.name or fallback.name,
        identifiers=primary.identifiers or fallback.identifiers,
        account=primary.account or fallback.account,
    )


def invoice_numbers_in(remark: str) -> list[str]:
    """Invoice numbers stated in free text after an invoice keyword (``Rechnung 1001``)."""
    found = []
    for match in _INVOICE_IN_TEXT.finditer(remark):
        number = match.group("nb").rstrip(".")
        if any(c.isdigit() for c in number):
            found.append(number)
    return found


def _references(t: _Tree, tx: etree._Element) -> list[DocumentRef]:
    refs: list[DocumentRef] = []
    for doc in t.all(tx, "RmtInf/Strd/RfrdDocInf"):
        number = t.text(doc, "Nb")
        code = t.text(doc, "Tp/CdOrPrtry/Cd") or ""
        if number:
            refs.append(DocumentRef(_RFRD_DOC_KINDS.get(code, DocumentKind.INVOICE), number))
    for line in t.all(tx, "RmtInf/Ustrd"):
        refs.extend(
            DocumentRef(DocumentKind.INVOICE, n) for n in invoice_numbers_in(line.text or "")
        )
    end_to_end = t.text(tx, "Refs/EndToEndId") or t.text(tx, "PmtId/EndToEndId")
    if end_to_end and end_to_end != NOT_PROVIDED:
        refs.append(DocumentRef(DocumentKind.PAYMENT, end_to_end))
    # a camt booking's other identifiers of the payment it books, by which a bank's status
    # report (pacs.002) may name it: instruction id, transaction id, UETR, servicer's reference
    for path in _BOOKED_PAYMENT_IDS:
        value = t.text(tx, path)
        if value and value != NOT_PROVIDED:
            refs.append(DocumentRef(DocumentKind.PAYMENT, value))
    return refs


_BOOKED_PAYMENT_IDS = ("Refs/InstrId", "Refs/TxId", "Refs/UETR", "Refs/AcctSvcrRef")


def _unique(refs: list[DocumentRef]) -> tuple[DocumentRef, ...]:
    return tuple(dict.fromkeys(refs))


def _first(*values: str | None) -> str | None:
    for value in values:
        if value and value != NOT_PROVIDED:
            return value
    return None


def _pruned(target: etree._Element) -> bytes:
    """C14N of the whole message reduced to ``target``: its same-tag siblings are dropped on
    every level, so each entry's canonical form keeps its account and header context."""
    chain = []
    node: etree._Element | None = target
    while node is not None and node.getparent() is not None:
        parent = node.getparent()
        assert parent is not None
        chain.append(list(parent).index(node))
        node = parent
    assert node is not None
    copied = copy.deepcopy(node)
    current = copied
    for index in reversed(chain):
        keep = current[index]
        for sibling in list(current):
            if sibling is not keep and sibling.tag == keep.tag:
                current.remove(sibling)
        current = keep
    return canonical_xml(copied)


# --- camt ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Booking:
    """One document's worth of a camt entry: the entry and, for a batch, one transaction."""

    entry: etree._Element
    tx: etree._Element | None
    txs: tuple[etree._Element, ...]
    position: str


def _tx_amount(t: _Tree, tx: etree._Element) -> etree._Element | None:
    return _found(t, tx, "Amt", "AmtDtls/TxAmt/Amt", "AmtDtls/InstdAmt/Amt")


def _bookings(t: _Tree, entries: list[etree._Element], msg_pos: int) -> Iterator[_Booking]:
    for n, entry in enumerate(entries, start=msg_pos):
        txs = tuple(t.all(entry, "NtryDtls/TxDtls"))
        if len(txs) > 1 and all(_tx_amount(t, tx) is not None for tx in txs):
            for k, tx in enumerate(txs, start=1):
                yield _Booking(entry, tx, (tx,), f"{n}.{k}")
        else:
            yield _Booking(entry, txs[0] if len(txs) == 1 else None, txs, str(n))


def _booking_number(t: _Tree, b: _Booking, msg_id: str) -> str:
    entry_ref = t.text(b.entry, "AcctSvcrRef")
    single = b.tx if b.tx is not None and len(b.txs) == 1 else None
    split = b.tx is not None and "." in b.position
    candidates = [
        t.text(single, "Refs/AcctSvcrRef") if single is not None else None,
        None if split else entry_ref,
    ]
    if single is not None:
        candidates += [
            t.text(single, "Refs/EndToEndId"),
            t.text(single, "Refs/UETR"),
            t.text(single, "Refs/TxId"),
        ]
    if split and entry_ref:
        candidates.append(f"{entry_ref}/{b.position.split('.')[1]}")
    candidates.append(t.text(b.entry, "NtryRef"))
    return _first(*candidates) or f"{msg_id}:{b.position}"


def _camt_document(
    t: _Tree, b: _Booking, record: etree._Element, kind: DocumentKind, ctx: _Ctx
) -> Document:
    where = t.where(b.tx if b.tx is not None and "." in b.position else b.entry)
    amount = _money(
        _tx_amount(t, b.tx) if "." in b.position and b.tx is not None else t.find(b.entry, "Amt"),
        where,
    )
    credit = t.text(b.entry, "CdtDbtInd") == "CRDT"
    holder = _holder(t, record)
    related = t.find(b.txs[0], "RltdPties") if b.txs else None
    debtor = _party(t, related, "Dbtr", "DbtrAcct")
    creditor = _party(t, related, "Cdtr", "CdtrAcct")
    seller, buyer = (
        (_merge(holder, creditor), debtor) if credit else (creditor, _merge(holder, debtor))
    )
    issue = (
        _date_of(t, b.entry, "BookgDt")
        or _date_of(t, b.entry, "ValDt")
        or _date(t.text(record, "CreDtTm"))
        or ctx.created
    )
    number = _booking_number(t, b, ctx.msg_id)
    refs = [r for tx in b.txs for r in _references(t, tx) if r.number != number]
    return Document(
        id=ctx.new_id(),
        kind=kind,
        number=number,
        issue_date=issue,
        seller=seller,
        buyer=buyer,
        currency=amount.currency,
        total=amount,
        references=_unique(refs),
        source_format=ctx.message.name,
        submitted_by=ctx.submitter,
    )


@dataclass(frozen=True, slots=True)
class _Ctx:
    message: Message
    msg_id: str
    created: dt.date
    submitter: str | None
    new_id: Callable[[], str]


def _header(t: _Tree, body: etree._Element, source: str) -> tuple[str, dt.date]:
    msg_id = t.text(body, "GrpHdr/MsgId")
    created = _date(t.text(body, "GrpHdr/CreDtTm"))
    if not msg_id or created is None:
        raise DocumentRejectedError(
            [Problem("SCHEMA", f"{source}: GrpHdr/MsgId and GrpHdr/CreDtTm are required")]
        )
    return msg_id, created


def _read_camt(t: _Tree, body: etree._Element, ctx: _Ctx) -> list[tuple[Document, bytes]]:
    _wrapper, record_tag, kind = _RECORDS[ctx.message.family]
    out: list[tuple[Document, bytes]] = []
    problems: list[Problem] = []
    position = 1
    for record in t.all(body, record_tag):
        entries = t.all(record, "Ntry")
        for booking in _bookings(t, entries, position):
            target = (
                booking.tx if "." in booking.position and booking.tx is not None else booking.entry
            )
            try:
                out.append((_camt_document(t, booking, record, kind, ctx), _pruned(target)))
            except DomainValueError as exc:
                problems.append(Problem("BAD_VALUE", str(exc), t.where(target)))
        position += len(entries)
    if problems:
        raise DocumentRejectedError(problems)
    return out


# --- pain ------------------------------------------------------------------------------------


def _pain001_document(
    t: _Tree, info: etree._Element, tx: etree._Element, k: int, ctx: _Ctx
) -> Document:
    amount = _money(_found(t, tx, "Amt/InstdAmt", "Amt/EqvtAmt/Amt"), t.where(tx))
    pmt_inf_id = t.text(info, "PmtInfId") or ctx.msg_id
    number = (
        _first(t.text(tx, "PmtId/EndToEndId"), t.text(tx, "PmtId/InstrId")) or f"{pmt_inf_id}:{k}"
    )
    requested = _date(t.text(info, "ReqdExctnDt/Dt") or t.text(info, "ReqdExctnDt"))
    return Document(
        id=ctx.new_id(),
        kind=DocumentKind.PAYMENT,
        number=number,
        issue_date=requested or ctx.created,
        seller=_party(t, tx, "Cdtr", "CdtrAcct"),
        buyer=_party(t, info, "Dbtr", "DbtrAcct"),
        currency=amount.currency,
        total=amount,
        references=_unique([r for r in _references(t, tx) if r.number != number]),
        source_format=ctx.message.name,
        submitted_by=ctx.submitter,
    )


def _read_pain001(t: _Tree, body: etree._Element, ctx: _Ctx) -> list[tuple[Document, bytes]]:
    out: list[tuple[Document, bytes]] = []
    problems: list[Problem] = []
    for info in t.all(body, "PmtInf"):
        for k, tx in enumerate(t.all(info, "CdtTrfTxInf"), start=1):
            try:
                out.append((_pain001_document(t, info, tx, k, ctx), _pruned(tx)))
            except DomainValueError as exc:
                problems.append(Problem("BAD_VALUE", str(exc), t.where(tx)))
    if problems:
        raise DocumentRejectedError(problems)
    return out


# --- remt ------------------------------------------------------------------------------------


def _remt_references(t: _Tree, rmt: etree._Element) -> list[DocumentRef]:
    refs: list[DocumentRef] = []
    for doc in t.all(rmt, "Strd/RfrdDocInf"):
        number = t.text(doc, "Nb")
        code = t.text(doc, "Tp/CdOrPrtry/Cd") or ""
        if number:
            refs.append(DocumentRef(_RFRD_DOC_KINDS.get(code, DocumentKind.INVOICE), number))
    for line in t.all(rmt, "Ustrd"):
        refs.extend(
            DocumentRef(DocumentKind.INVOICE, n) for n in invoice_numbers_in(line.text or "")
        )
    end_to_end = t.text(rmt, "OrgnlPmtInf/Refs/EndToEndId")
    if end_to_end and end_to_end != NOT_PROVIDED:
        refs.append(DocumentRef(DocumentKind.PAYMENT, end_to_end))
    return refs


def _remitted(t: _Tree, rmt: etree._Element) -> Money:
    """The payment's amount, else the remitted amounts of its documents less credit notes."""
    stated = _found(t, rmt, "OrgnlPmtInf/Amt/InstdAmt", "OrgnlPmtInf/Amt/EqvtAmt/Amt")
    if stated is not None:
        return _money(stated, t.where(stated))
    paid = [_money(a, t.where(a)) for a in t.all(rmt, "Strd/RfrdDocAmt/RmtdAmt")]
    credited = [_money(a, t.where(a)) for a in t.all(rmt, "Strd/RfrdDocAmt/CdtNoteAmt")]
    if not paid:
        raise DomainValueError(f"{t.where(rmt)}: neither a payment amount nor remitted amounts")
    if len({a.currency for a in paid + credited}) != 1:
        raise DomainValueError(f"{t.where(rmt)}: remitted amounts in several currencies")
    total = sum((a.amount for a in paid), Decimal(0)) - sum(
        (a.amount for a in credited), Decimal(0)
    )
    return Money.of(total, paid[0].currency)


def _remt_document(t: _Tree, rmt: etree._Element, k: int, ctx: _Ctx) -> Document:
    original = t.find(rmt, "OrgnlPmtInf")
    amount = _remitted(t, rmt)
    number = (
        _first(t.text(rmt, "RmtId"), t.text(rmt, "OrgnlPmtInf/Refs/EndToEndId"))
        or f"{ctx.msg_id}:{k}"
    )
    return Document(
        id=ctx.new_id(),
        kind=DocumentKind.REMITTANCE,
        number=number,
        issue_date=_date_of(t, original, "ReqdExctnDt") or ctx.created,
        seller=_party(t, original, "Cdtr", "CdtrAcct"),
        buyer=_party(t, original, "Dbtr", "DbtrAcct"),
        currency=amount.currency,
        total=amount,
        references=_unique([r for r in _remt_references(t, rmt) if r.number != number]),
        source_format=ctx.message.name,
        submitted_by=ctx.submitter,
    )


def _read_remt(t: _Tree, body: etree._Element, ctx: _Ctx) -> list[tuple[Document, bytes]]:
    out: list[tuple[Document, bytes]] = []
    problems: list[Problem] = []
    for k, rmt in enumerate(t.all(body, "RmtInf"), start=1):
        try:
            out.append((_remt_document(t, rmt, k, ctx), _pruned(rmt)))
        except DomainValueError as exc:
            problems.append(Problem("BAD_VALUE", str(exc), t.where(rmt)))
    if problems:
        raise DocumentRejectedError(problems)
    return out


# --- entry points ----------------------------------------------------------------------------


def _message_or_refuse(root: etree._Element, source: str) -> Message:
    qname = etree.QName(root)
    message = message_of(qname.namespace or "")
    if message is not None and qname.localname == "Document":
        return message
    inner = etree.QName(root[0]).localname if len(root) else "nothing"
    if not qname.namespace:
        what = (
            f"ISO 20022 Document (holding {inner}) declares no namespace; it must name its "
            'message, e.g. xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.11"'
        )
    else:
        what = f"namespace {qname.namespace!r} is not a supported ISO 20022 message"
    raise DocumentRejectedError([Problem("UNSUPPORTED_MESSAGE", f"{source}: {what}", "/Document")])


def read_iso20022(raw: bytes, *, source: str, ctx: ReadContext) -> list[ParsedDocument]:
    """Parse, validate (XSD) and map an ISO 20022 camt/pain message to domain documents."""
    root = parse_xml(raw, source)
    message = _message_or_refuse(root, source)
    _check_schema(root, message, source)
    t = _Tree(root, message.namespace)
    if len(root) == 0:
        raise DocumentRejectedError([Problem("SCHEMA", f"{source}: empty Document", "/Document")])
    body = root[0]
    if message.family == "pain.002":
        return []  # a status report moves no money and evidences nothing (docs: iso20022.md)
    if message.family == "pacs.002":
        msg_id, created = pacs002.header(t, body, source)
        rctx = _Ctx(message, msg_id, created, ctx.submitter, ctx.new_id)
        return pacs002.read_pacs002(t, body, rctx, raw, source)
    msg_id, created = _header(t, body, source)
    rctx = _Ctx(message, msg_id, created, ctx.submitter, ctx.new_id)
    readers = {"pain.001": _read_pain001, "remt.001": _read_remt}
    reader = readers.get(message.family, _read_camt)
    mapped = reader(t, body, rctx)
    return [
        ParsedDocument(
            document=doc,
            canonical=canonical,
            raw=raw if len(mapped) == 1 else canonical,
            media_type=MEDIA_TYPE,
        )
        for doc, canonical in mapped
    ]


def validate_iso20022(raw: bytes, *, source: str, rules: bool) -> list[ValidationIssue]:
    """Check an ISO 20022 message against the XSD of its version (no business rules)."""
    root = parse_xml(raw, source)
    message = _message_or_refuse(root, source)
    path = xsd_path(message)
    if path is None and message.family == "pacs.002" and len(root):
        # no official XSD here: the structural checks of the reader (docs: iso20022.md)
        problems = pacs002.check_pacs002(_Tree(root, message.namespace), root[0], source)
        return [ValidationIssue(p.code, "fatal", p.message, p.location) for p in problems]
    return validate_xsd(root, path) if path else []


def _detect(sniffed: Sniffed) -> bool:
    if sniffed.kind != "xml" or sniffed.xml_root is None:
        return False
    namespace, local = sniffed.xml_root
    # A namespace-less ISO 20022 "Document" is claimed so it is refused with the exact reason.
    return local == "Document" and (namespace == "" or message_of(namespace) is not None)


FORMAT = FormatSpec("iso20022", _detect, read_iso20022, validate_iso20022)
