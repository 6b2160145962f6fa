"""GS1 EPCIS 2.0 event documents, JSON-LD and XML (docs/formats/epcis.md).

Each event of an ``EPCISDocument`` becomes one logistics document: ``warehouse_receipt`` when
its business step puts goods into storage (``storing``, ``putting_away``), ``transport_event``
otherwise. XML events are first read into the JSON shape, so one mapping serves both syntaxes.
JSON is checked against the official JSON Schema, XML against the official XSD.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import re
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import rfc8785
from lxml import etree

from fourflow.adapters.documents.errors import DocumentRejectedError, Problem
from fourflow.adapters.documents.jsonsafe import load_json
from fourflow.adapters.documents.jsonschemas import validate_epcis
from fourflow.adapters.documents.registry import FormatSpec, ReadContext, Sniffed, ValidationIssue
from fourflow.adapters.documents.standards import artefact
from fourflow.adapters.documents.xml import canonical_xml, parse_xml, text
from fourflow.adapters.documents.xsd import issues_as_problems, validate_xsd
from fourflow.domain.documents import Document, DocumentKind, DocumentLine, DocumentRef
from fourflow.domain.errors import DomainValueError
from fourflow.domain.identifiers import IdScheme, gs1_check_digit
from fourflow.domain.parties import Identifier, PartyRef
from fourflow.services.reading import ParsedDocument

XML_NS = "urn:epcglobal:epcis:xsd:2"
XSD = ("epcis", "schema", "XSD", "EPCglobal-epcis-2_0.xsd")
FORMAT_JSON = "epcis-2.0-json"
FORMAT_XML = "epcis-2.0-xml"
EVENT_TYPES = frozenset(
    {
        "ObjectEvent",
        "AggregationEvent",
        "TransactionEvent",
        "TransformationEvent",
        "AssociationEvent",
    }
)
COUNT_UNIT = "EA"  # an EPC list or a quantity without uom counts instances

# CBV 2.0 business transaction types -> the kind of document they name.
BIZ_TRANSACTION_KINDS = {
    "po": DocumentKind.ORDER,
    "poc": DocumentKind.ORDER_RESPONSE,
    "desadv": DocumentKind.DESPATCH_ADVICE,
    "inv": DocumentKind.INVOICE,
    "recadv": DocumentKind.RECEIPT_ADVICE,
    "bol": DocumentKind.BILL_OF_LADING,
}
STORAGE_STEPS = frozenset({"storing", "putting_away"})
MOVEMENT_STEPS = frozenset(
    {"shipping", "departing", "arriving", "receiving", "accepting", "storing", "putting_away"}
)
# The lists that hold what an event is about, per event type: (EPC lists, quantity lists).
_GOODS = {
    "ObjectEvent": (("epcList",), ("quantityList",)),
    "TransactionEvent": (("epcList",), ("quantityList",)),
    "AggregationEvent": (("childEPCs",), ("childQuantityList",)),
    "AssociationEvent": (("childEPCs",), ("childQuantityList",)),
    "TransformationEvent": (("outputEPCList",), ("outputQuantityList",)),
}
_EPC_LISTS = ("epcList", "childEPCs", "inputEPCList", "outputEPCList")
_QTY_LISTS = ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList")
_CBV_BT = re.compile(r"^urn:epcglobal:cbv:bt:(?P<gln>\d{13}):(?P<number>.+)$")
_SGLN = re.compile(r"^urn:epc:id:sgln:(?P<cp>\d+)\.(?P<ref>\d*)\.(?P<ext>.*)$")
_PGLN = re.compile(r"^urn:epc:id:pgln:(?P<cp>\d+)\.(?P<ref>\d*)$")
_DL_GLN = re.compile(r"^https?://[^/]+/(?:414|417)/(?P<gln>\d{13})(?:/|$)")
_SGTIN = re.compile(r"^urn:epc:(?:id|idpat|class):(?:sgtin|lgtin):(?P<cp>\d+)\.(?P<ref>\d+)\.")
_DL_GTIN = re.compile(r"^https?://[^/]+/01/(?P<gtin>\d{14})(?:/|$)")


# --- vocabulary and identifiers --------------------------------------------------------------


def cbv_term(value: str | None) -> str:
    """The bare CBV term of a bizStep, disposition or type, whatever its spelling.

    ``receiving``, ``urn:epcglobal:cbv:bizstep:receiving`` and
    ``https://ref.gs1.org/cbv/BizStep-receiving`` all give ``receiving``.
    """
    if not value:
        return ""
    value = value.strip()
    if value.startswith("urn:epcglobal:cbv:"):
        return value.rsplit(":", 1)[1]
    if value.startswith("https://ref.gs1.org/cbv/"):
        return value.rsplit("-", 1)[1] if "-" in value else ""
    return value if re.fullmatch(r"[a-z_]+", value) else ""


def gln_of(uri: str) -> str | None:
    """The GLN named by an SGLN or PGLN URN or a GS1 Digital Link (AI 414/417), if any."""
    uri = uri.strip()
    for pattern in (_SGLN, _PGLN):
        match = pattern.match(uri)
        if match and len(match.group("cp") + match.group("ref")) == 12:
            body = match.group("cp") + match.group("ref")
            return body + gs1_check_digit(body)
    link = _DL_GLN.match(uri)
    return link.group("gln") if link else None


def gtin_of(uri: str) -> str | None:
    """The GTIN-14 of an SGTIN/LGTIN EPC or class, or of a Digital Link (AI 01), if any."""
    link = _DL_GTIN.match(uri.strip())
    if link:
        return link.group("gtin")
    match = _SGTIN.match(uri.strip())
    if not match or len(match.group("cp") + match.group("ref")) != 13:
        return None
    ref = match.group("ref")
    body = ref[0] + match.group("cp") + ref[1:]
    return body + gs1_check_digit(body)


def _party(uri: str) -> PartyRef:
    gln = gln_of(uri)
    if gln is None:
        return PartyRef(name=uri)  # not a GS1 party id: keep what the event says
    return PartyRef(identifiers=(Identifier(IdScheme.GLN, gln),))


def _pick_party(entries: list[Mapping[str, Any]], key: str) -> PartyRef:
    by_type = {cbv_term(e.get("type")): str(e.get(key, "")) for e in entries}
    for wanted in ("owning_party", "possessing_party"):
        if by_type.get(wanted):
            return _party(by_type[wanted])
    return PartyRef()


# --- mapping ---------------------------------------------------------------------------------


def _event_date(event: Mapping[str, Any]) -> dt.date:
    stamp = str(event.get("eventTime", ""))
    try:
        moment = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        raise DomainValueError(f"eventTime {stamp!r} is not an ISO date-time") from None
    offset = str(event.get("eventTimeZoneOffset", ""))
    if moment.tzinfo is not None and re.fullmatch(r"[+-]\d{2}:\d{2}", offset):
        sign = -1 if offset[0] == "-" else 1
        zone = dt.timezone(sign * dt.timedelta(hours=int(offset[1:3]), minutes=int(offset[4:])))
        moment = moment.astimezone(zone)  # the business date is the one where it happened
    return moment.date()


def _quantity(value: object, where: str) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise DomainValueError(f"{where}: quantity {value!r} is not a number") from None


def _lines(event: Mapping[str, Any]) -> tuple[DocumentLine, ...]:
    epc_lists, qty_lists = _GOODS.get(str(event.get("type")), ((), ()))
    totals: dict[tuple[str, str], Decimal] = {}
    for name in epc_lists:
        for epc in event.get(name) or ():
            key = (gtin_of(str(epc)) or str(epc), COUNT_UNIT)
            totals[key] = totals.get(key, Decimal(0)) + 1
    for name in qty_lists:
        for element in event.get(name) or ():
            klass = str(element.get("epcClass", ""))
            key = (gtin_of(klass) or klass, str(element.get("uom") or COUNT_UNIT))
            amount = _quantity(element.get("quantity", 1), name)
            totals[key] = totals.get(key, Decimal(0)) + amount
    return tuple(
        DocumentLine(line_id=str(n), item=item, quantity=quantity, unit=unit)
        for n, ((item, unit), quantity) in enumerate(totals.items(), start=1)
    )


def biz_transaction_ref(kind_term: str, value: str) -> DocumentRef | None:
    """The document a CBV bizTransaction names, or None for untyped or other types."""
    kind = BIZ_TRANSACTION_KINDS.get(kind_term)
    if kind is None or not value.strip():
        return None
    match = _CBV_BT.match(value.strip())
    return DocumentRef(kind, match.group("number") if match else value.strip())


def _references(event: Mapping[str, Any]) -> tuple[DocumentRef, ...]:
    refs = (
        biz_transaction_ref(cbv_term(bt.get("type")), str(bt.get("bizTransaction", "")))
        for bt in event.get("bizTransactionList") or ()
    )
    return tuple(dict.fromkeys(r for r in refs if r is not None))


def _number(event: Mapping[str, Any], canonical: bytes) -> str:
    event_id = str(event.get("eventID") or "").strip()
    if event_id:
        return event_id
    # No eventID: a content hash of the event's canonical form (not the CBV event hash).
    return f"ni:///sha-256;{hashlib.sha256(canonical).hexdigest()}?ver=fourflow-c14n"


def map_event(
    event: Mapping[str, Any], canonical: bytes, *, fmt: str, ctx: ReadContext
) -> Document:
    """One EPCIS event (in its JSON shape) as a logistics document."""
    step = cbv_term(event.get("bizStep"))
    day = _event_date(event)
    return Document(
        id=ctx.new_id(),
        kind=DocumentKind.WAREHOUSE_RECEIPT
        if step in STORAGE_STEPS
        else DocumentKind.TRANSPORT_EVENT,
        number=_number(event, canonical),
        issue_date=day,
        seller=_pick_party(list(event.get("sourceList") or ()), "source"),
        buyer=_pick_party(list(event.get("destinationList") or ()), "destination"),
        lines=_lines(event),
        delivery_date=day if step in MOVEMENT_STEPS else None,
        references=_references(event),
        source_format=fmt,
        submitted_by=ctx.submitter,
    )


def _build(
    items: Sequence[tuple[Mapping[str, Any], bytes, str]],
    raw: bytes,
    fmt: str,
    media_type: str,
    ctx: ReadContext,
) -> list[ParsedDocument]:
    parsed: list[ParsedDocument] = []
    problems: list[Problem] = []
    for event, canonical, where in items:
        try:
            document = map_event(event, canonical, fmt=fmt, ctx=ctx)
        except DomainValueError as exc:
            problems.append(Problem("BAD_VALUE", str(exc), where))
            continue
        one = raw if len(items) == 1 else canonical
        parsed.append(ParsedDocument(document, canonical, one, media_type))
    if problems:
        raise DocumentRejectedError(problems)
    if not parsed:
        raise DocumentRejectedError([Problem("NO_EVENTS", "the EPCIS document holds no event")])
    return parsed


# --- JSON-LD ---------------------------------------------------------------------------------


def _jcs_ready(value: Any) -> Any:
    """Decimals as JSON numbers for RFC 8785, which defines numbers as IEEE 754 doubles."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _jcs_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jcs_ready(v) for v in value]
    return value


def _json_events(data: dict[str, Any]) -> Iterator[tuple[Mapping[str, Any], bytes, str]]:
    events = data.get("epcisBody", {}).get("eventList", [])
    for index, event in enumerate(events):
        # The canonical form is the document holding only this event (header and @context
        # kept: they give the event's extension keys their meaning).
        one = dict(data, epcisBody=dict(data["epcisBody"], eventList=[event]))
        yield event, bytes(rfc8785.dumps(_jcs_ready(one))), f"/epcisBody/eventList/{index}"


def _load_json_document(raw: bytes, source: str) -> dict[str, Any]:
    data = load_json(raw, source)
    if not isinstance(data, dict) or data.get("type") != "EPCISDocument":
        raise DocumentRejectedError(
            [Problem("UNSUPPORTED", f"{source}: not an EPCIS 2.0 EPCISDocument", "/type")]
        )
    return data


def read_epcis_json(raw: bytes, *, source: str, ctx: ReadContext) -> list[ParsedDocument]:
    """Parse, validate (JSON Schema) and map an EPCIS 2.0 JSON-LD document."""
    data = _load_json_document(raw, source)
    issues = validate_epcis(data)
    if issues:
        raise DocumentRejectedError(issues_as_problems(source, issues))
    return _build(list(_json_events(data)), raw, FORMAT_JSON, "application/ld+json", ctx)


def validate_epcis_json(raw: bytes, *, source: str, rules: bool) -> list[ValidationIssue]:
    """Check an EPCIS 2.0 JSON-LD document against the official JSON Schema."""
    return validate_epcis(_load_json_document(raw, source))


# --- XML -------------------------------------------------------------------------------------


def _children(element: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in element if isinstance(c.tag, str) and c.tag == name]


def _child_text(element: etree._Element, name: str) -> str | None:
    found = _children(element, name)
    return text(found[0]) if found else None


def _xml_list(event: etree._Element, name: str, item: str) -> list[etree._Element]:
    return [i for holder in _children(event, name) for i in _children(holder, item)]


def xml_event(event: etree._Element) -> dict[str, Any]:
    """An XML event read into the JSON shape of EPCIS 2.0 (the fields FourFlow maps)."""
    shape: dict[str, Any] = {"type": etree.QName(event).localname}
    for name in ("eventID", "eventTime", "eventTimeZoneOffset", "bizStep", "disposition"):
        value = _child_text(event, name)
        if value is not None:
            shape[name] = value
    for name in _EPC_LISTS:
        shape[name] = [text(e) or "" for e in _xml_list(event, name, "epc")]
    for name in _QTY_LISTS:
        shape[name] = [
            {
                "epcClass": _child_text(q, "epcClass") or "",
                "quantity": _child_text(q, "quantity") or "1",
                "uom": _child_text(q, "uom"),
            }
            for q in _xml_list(event, name, "quantityElement")
        ]
    shape["bizTransactionList"] = [
        {"type": b.get("type"), "bizTransaction": text(b) or ""}
        for b in _xml_list(event, "bizTransactionList", "bizTransaction")
    ]
    for name, item in (("sourceList", "source"), ("destinationList", "destination")):
        shape[name] = [
            {"type": s.get("type"), item: text(s) or ""} for s in _xml_list(event, name, item)
        ]
    return shape


def _xml_event_elements(root: etree._Element) -> Iterator[etree._Element]:
    for event_list in root.iterfind("EPCISBody/EventList"):
        for element in event_list:
            if not isinstance(element.tag, str):
                continue
            if element.tag == "extension":  # EPCIS 1.x wrapping, still seen in the wild
                yield from (e for e in element if isinstance(e.tag, str))
            elif element.tag in EVENT_TYPES:
                yield element


def _pruned_event(root: etree._Element, event: etree._Element) -> bytes:
    """C14N of the document reduced to ``event`` (header and namespaces kept)."""
    shell = copy.deepcopy(root)
    for event_list in shell.iterfind("EPCISBody/EventList"):
        event_list.getparent().remove(event_list)  # type: ignore[union-attr]
    body = shell.find("EPCISBody")
    if body is None:
        body = etree.SubElement(shell, "EPCISBody")
    single = copy.deepcopy(event)
    single.tail = None
    etree.SubElement(body, "EventList").append(single)
    return canonical_xml(shell)


def _xml_root(raw: bytes, source: str) -> etree._Element:
    root = parse_xml(raw, source)
    if etree.QName(root).text != f"{{{XML_NS}}}EPCISDocument":
        raise DocumentRejectedError(
            [Problem("UNSUPPORTED", f"{source}: not an EPCIS 2.0 EPCISDocument", "/")]
        )
    return root


def read_epcis_xml(raw: bytes, *, source: str, ctx: ReadContext) -> list[ParsedDocument]:
    """Parse, validate (XSD) and map an EPCIS 2.0 XML document."""
    root = _xml_root(raw, source)
    issues = validate_xsd(root, artefact(*XSD))
    if issues:
        raise DocumentRejectedError(issues_as_problems(source, issues))
    paths = root.getroottree()
    items = [
        (xml_event(e), _pruned_event(root, e), paths.getelementpath(e))
        for e in _xml_event_elements(root)
    ]
    return _build(items, raw, FORMAT_XML, "application/xml", ctx)


def validate_epcis_xml(raw: bytes, *, source: str, rules: bool) -> list[ValidationIssue]:
    """Check an EPCIS 2.0 XML document against the official XSD."""
    return validate_xsd(_xml_root(raw, source), artefact(*XSD))


def _detect_json(sniffed: Sniffed) -> bool:
    value = sniffed.json_value
    return isinstance(value, dict) and value.get("type") == "EPCISDocument"


def _detect_xml(sniffed: Sniffed) -> bool:
    return sniffed.xml_root == (XML_NS, "EPCISDocument")


FORMATS = [
    FormatSpec(FORMAT_JSON, _detect_json, read_epcis_json, validate_epcis_json),
    FormatSpec(FORMAT_XML, _detect_xml, read_epcis_xml, validate_epcis_xml),
]
