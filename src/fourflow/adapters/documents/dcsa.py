"""DCSA eBL 3.0 transport documents (docs/formats/dcsa.md).

A ``TransportDocument`` (as PINT transfers it) or an eBL issuance request carrying one becomes a
``bill_of_lading``. Shipping instructions are recognised and refused: they are the shipper's
request for a bill of lading, not the carrier's evidence of shipment. Payloads are validated
against the ``components.schemas`` of the official DCSA OpenAPI 3.0.0 specifications.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import rfc8785

from fourflow.adapters.documents.errors import DocumentRejectedError, Problem
from fourflow.adapters.documents.jsonsafe import load_json
from fourflow.adapters.documents.jsonschemas import validate_openapi
from fourflow.adapters.documents.registry import FormatSpec, ReadContext, Sniffed, ValidationIssue
from fourflow.adapters.documents.xsd import issues_as_problems
from fourflow.domain.documents import Document, DocumentKind, DocumentLine, DocumentRef
from fourflow.domain.errors import DomainValueError
from fourflow.domain.identifiers import IdScheme
from fourflow.domain.parties import Identifier, PartyRef
from fourflow.services.reading import ParsedDocument

FORMAT_NAME = "dcsa-ebl-3.0"
EBL_SPEC = ("dcsa", "schema", "EBL_v3.0.0.yaml")
ISSUANCE_SPEC = ("dcsa", "schema", "EBL_ISS_v3.0.0.yaml")
# DCSA reference types naming a purchase order (shipper's, consignee's).
ORDER_REFERENCE_TYPES = frozenset({"SPO", "CPO", "PO"})
# identifyingCodes.codeListProvider -> the scheme of partyCode.
_CODE_LIST_SCHEMES = {"GLEIF": IdScheme.LEI, "LEI": IdScheme.LEI, "GS1": IdScheme.GLN}
_TAX_SCHEMES = {"VAT": IdScheme.VAT, "USCC": IdScheme.USCC}


def _shape(data: object) -> str:
    """``transport_document``, ``issuance``, ``shipping_instructions``, or ``""``."""
    if not isinstance(data, dict):
        return ""
    inner = data.get("document")
    if isinstance(inner, dict) and "transportDocumentReference" in inner and "issueTo" in data:
        return "issuance"
    if "transportDocumentReference" in data and "documentParties" in data:
        return "transport_document"
    if {"consignmentItems", "documentParties", "transportDocumentTypeCode"} <= set(data):
        return "shipping_instructions"
    return ""


def _identifier(scheme: IdScheme, value: object) -> Identifier | None:
    try:
        return Identifier.parse(scheme, str(value))
    except DomainValueError:
        return None  # a malformed code identifies nobody; the name remains


def party(data: Mapping[str, Any] | None) -> PartyRef:
    """A DCSA document party with its identifying codes and tax/legal references."""
    if not data:
        return PartyRef()
    found = [
        _identifier(
            _CODE_LIST_SCHEMES.get(str(c.get("codeListProvider", "")).upper(), IdScheme.OTHER),
            c.get("partyCode", ""),
        )
        for c in data.get("identifyingCodes") or ()
    ]
    found += [
        _identifier(
            _TAX_SCHEMES.get(str(t.get("type", "")).upper(), IdScheme.OTHER), t.get("value")
        )
        for t in data.get("taxLegalReferences") or ()
    ]
    return PartyRef(
        name=data.get("partyName"), identifiers=tuple(i for i in found if i is not None)
    )


def _date(value: object, what: str) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise DomainValueError(f"{what} {value!r} is not an ISO date") from None


def _decimal(value: object, what: str) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise DomainValueError(f"{what} {value!r} is not a number") from None


def lines(items: list[Mapping[str, Any]]) -> tuple[DocumentLine, ...]:
    """One line per cargo item: its goods description and gross weight (quantity, unit)."""
    out: list[DocumentLine] = []
    for i, item in enumerate(items, start=1):
        goods = "; ".join(item.get("descriptionOfGoods") or ()) or "goods"
        for j, cargo in enumerate(item.get("cargoItems") or (), start=1):
            weight = cargo.get("cargoGrossWeight") or {}
            out.append(
                DocumentLine(
                    line_id=f"{i}.{j}",
                    item=goods,
                    quantity=_decimal(weight.get("value"), f"consignmentItems/{i - 1} weight"),
                    unit=str(weight.get("unit", "KGM")),
                )
            )
    return tuple(out)


def references(doc: Mapping[str, Any]) -> tuple[DocumentRef, ...]:
    """Booking (the carriage contract) and purchase-order references of a transport document."""
    refs: list[DocumentRef] = []
    items = doc.get("consignmentItems") or ()
    for item in items:
        if item.get("carrierBookingReference"):
            refs.append(DocumentRef(DocumentKind.CONTRACT, str(item["carrierBookingReference"])))
    for ref in doc.get("references") or ():
        if str(ref.get("type")) in ORDER_REFERENCE_TYPES:
            refs.append(DocumentRef(DocumentKind.ORDER, str(ref["value"])))
    for item in items:
        for ref in item.get("references") or ():
            if str(ref.get("type")) in ORDER_REFERENCE_TYPES:
                refs.extend(DocumentRef(DocumentKind.ORDER, str(v)) for v in ref.get("values", ()))
    return tuple(dict.fromkeys(refs))


def map_transport_document(doc: Mapping[str, Any], *, ctx: ReadContext) -> Document:
    """A DCSA transport document as a ``bill_of_lading``."""
    shipped = _date(doc.get("shippedOnBoardDate"), "shippedOnBoardDate") or _date(
        doc.get("receivedForShipmentDate"), "receivedForShipmentDate"
    )
    issued = _date(doc.get("issueDate"), "issueDate") or shipped
    if issued is None:
        raise DomainValueError(
            f"transport document {doc.get('transportDocumentReference')}: no issueDate, "
            "shippedOnBoardDate or receivedForShipmentDate"
        )
    parties = doc.get("documentParties") or {}
    return Document(
        id=ctx.new_id(),
        kind=DocumentKind.BILL_OF_LADING,
        number=str(doc["transportDocumentReference"]),
        issue_date=issued,
        seller=party(parties.get("shipper")),
        buyer=party(parties.get("consignee")),
        lines=lines(list(doc.get("consignmentItems") or ())),
        delivery_date=shipped,
        references=references(doc),
        source_format=FORMAT_NAME,
        submitted_by=ctx.submitter,
    )


def _jcs_ready(value: Any) -> Any:
    """Decimals as JSON numbers for RFC 8785, which defines numbers as IEEE 754 doubles."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _jcs_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jcs_ready(v) for v in value]
    return value


def _schema_issues(data: Any, shape: str) -> list[ValidationIssue]:
    if shape == "issuance":
        # The envelope's signed manifest is the platform-to-platform transfer's business;
        # FourFlow checks and records the transport document it carries.
        issues = validate_openapi(data["document"], spec=ISSUANCE_SPEC, name="TransportDocument")
        return [
            ValidationIssue(i.rule, i.flag, i.message, "/document" + i.location) for i in issues
        ]
    return validate_openapi(data, spec=EBL_SPEC, name="TransportDocument")


def _load(raw: bytes, source: str) -> tuple[dict[str, Any], str]:
    data = load_json(raw, source)
    shape = _shape(data)
    if shape == "shipping_instructions":
        raise DocumentRejectedError(
            [
                Problem(
                    "NOT_A_TRANSPORT_DOCUMENT",
                    f"{source}: DCSA shipping instructions are the shipper's request for a bill "
                    "of lading, not one; submit the transport document the carrier issued",
                    "/",
                )
            ]
        )
    if not shape:
        raise DocumentRejectedError(
            [Problem("UNSUPPORTED", f"{source}: not a DCSA eBL 3.0 transport document", "/")]
        )
    return data, shape


def read_dcsa(raw: bytes, *, source: str, ctx: ReadContext) -> list[ParsedDocument]:
    """Parse, validate (OpenAPI JSON Schema) and map a DCSA eBL 3.0 transport document."""
    data, shape = _load(raw, source)
    issues = _schema_issues(data, shape)
    if issues:
        raise DocumentRejectedError(issues_as_problems(source, issues))
    doc = data["document"] if shape == "issuance" else data
    try:
        document = map_transport_document(doc, ctx=ctx)
    except DomainValueError as exc:
        raise DocumentRejectedError([Problem("BAD_VALUE", f"{source}: {exc}")]) from None
    canonical = bytes(rfc8785.dumps(_jcs_ready(doc)))
    return [ParsedDocument(document, canonical, raw, "application/json")]


def validate_dcsa(raw: bytes, *, source: str, rules: bool) -> list[ValidationIssue]:
    """Check a DCSA transport document (or issuance request) against the OpenAPI schemas."""
    data, shape = _load(raw, source)
    return _schema_issues(data, shape)


def _detect(sniffed: Sniffed) -> bool:
    return sniffed.kind == "json" and bool(_shape(sniffed.json_value))


FORMAT = FormatSpec(FORMAT_NAME, _detect, read_dcsa, validate_dcsa)
