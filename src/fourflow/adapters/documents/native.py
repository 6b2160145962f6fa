"""The native FourFlow JSON format (docs/formats/native.md): read, validate, map, canonicalise."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
import jsonschema_rs
import rfc8785

from fourflow.adapters.documents.errors import DocumentRejectedError, Problem
from fourflow.adapters.documents.jsonsafe import load_json
from fourflow.adapters.documents.registry import FormatSpec, ReadContext, Sniffed
from fourflow.domain.documents import Document, DocumentKind, DocumentLine, DocumentRef
from fourflow.domain.errors import DomainValueError
from fourflow.domain.identifiers import IdScheme
from fourflow.domain.money import Money
from fourflow.domain.parties import Identifier, PartyRef
from fourflow.domain.scenarios import Scenario
from fourflow.services.reading import ParsedDocument

FORMAT_NAME = "native-json"
FORMAT_TAG = "fourflow-native/1"
_PARTY_SCHEMES = ("uscc", "gln", "lei", "vat", "bic", "iban")


@cache
def native_schema() -> dict[str, Any]:
    """The JSON Schema of the native format."""
    text = resources.files("fourflow.adapters.documents").joinpath("schemas/native-v1.json")
    schema: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    return schema


def _branch(root: str) -> dict[str, Any]:
    # Validate against the one branch the data claims to be, so errors name real fields
    # rather than "not valid under any of the given schemas".
    return {"$ref": f"#/$defs/{root}", "$defs": native_schema()["$defs"]}


@cache
def _validator(root: str) -> jsonschema.Draft202012Validator:
    """The validator that names every problem (``jsonschema``: interpreted, slow)."""
    return jsonschema.Draft202012Validator(_branch(root))


@cache
def _fast_validator(root: str) -> jsonschema_rs.Draft202012Validator:
    """The same schema compiled by ``jsonschema-rs`` (some fifty times faster): it says
    whether a document is valid; only a document it refuses goes to ``_validator`` for the
    problems. Formats are not asserted by either (2020-12's default); its patterns are
    ECMA-262 regular expressions, whose ``$`` does not match before a final newline as
    Python's does: stricter, so at worst a valid document is checked twice."""
    return jsonschema_rs.Draft202012Validator(_branch(root), validate_formats=False)


def schema_errors(root: str, data: Any) -> list[jsonschema.ValidationError]:
    """The schema errors of ``data`` against the ``root`` branch, in document order."""
    if _fast_validator(root).is_valid(data):
        return []
    return sorted(
        _validator(root).iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]
    )


def looks_native(raw: bytes) -> bool:
    """True when ``raw`` is JSON naming the native format or shaped like a native document."""
    head = raw.lstrip()[:1]
    return head == b"{" and (FORMAT_TAG.encode() in raw[:4096] or b'"kind"' in raw[:4096])


def _pointer(path: Any) -> str:
    return "/" + "/".join(str(p) for p in path)


def _party(data: Mapping[str, Any]) -> PartyRef:
    identifiers = tuple(
        Identifier.parse(IdScheme(scheme), data[scheme])
        for scheme in _PARTY_SCHEMES
        if scheme in data
    )
    return PartyRef(name=data.get("name"), identifiers=identifiers, account=data.get("account"))


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _money(value: str | None, currency: str | None) -> Money | None:
    if value is None or currency is None:
        return None
    return Money.of(value, currency)


def _document(
    data: Mapping[str, Any], doc_id: str, submitter: str | None, scenario: str | None
) -> Document:
    currency = data.get("currency")
    lines = tuple(
        DocumentLine(
            line_id=line.get("id", str(n)),
            item=line["item"],
            quantity=Decimal(line["quantity"]),
            unit=line["unit"],
            unit_price=Decimal(line["unit_price"]) if "unit_price" in line else None,
            amount=Decimal(line["amount"]) if "amount" in line else None,
        )
        for n, line in enumerate(data.get("lines", ()), start=1)
    )
    issue_date = _date(data["issue_date"])
    assert issue_date is not None
    return Document(
        id=doc_id,
        kind=DocumentKind(data["kind"]),
        number=data["number"],
        issue_date=issue_date,
        seller=_party(data["seller"]),
        buyer=_party(data["buyer"]),
        currency=currency,
        lines=lines,
        total=_money(data.get("total"), currency),
        tax_total=_money(data.get("tax_total"), currency),
        due_date=_date(data.get("due_date")),
        delivery_date=_date(data.get("delivery_date")),
        references=tuple(
            DocumentRef(DocumentKind(r["kind"]), r["number"]) for r in data.get("references", ())
        ),
        source_format=FORMAT_NAME,
        submitted_by=submitter,
        scenario=Scenario(scenario) if scenario else None,
    )


def _canonical(data: Any) -> bytes:
    # RFC 8785 has no Decimal; the native format keeps amounts as strings, so any Decimal
    # here came from a stray JSON number and was refused by the schema already.
    return bytes(rfc8785.dumps(data))


class NativeJsonReader:
    """Reads native FourFlow JSON: a single document or a bundle of them."""

    def __init__(
        self,
        *,
        submitter: str | None = None,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self._submitter = submitter
        self._new_id = new_id

    def read(self, raw: bytes, *, source: str) -> list[ParsedDocument]:
        """Parse, validate and map ``raw``; raise ``DocumentRejectedError`` listing problems."""
        data = load_json(raw, source)
        if not isinstance(data, dict):
            raise DocumentRejectedError([Problem("SCHEMA", "expected a JSON object", "/")])
        root = "bundle" if "documents" in data else "document"
        errors = schema_errors(root, data)
        if errors:
            raise DocumentRejectedError(
                [Problem("SCHEMA", e.message, _pointer(e.absolute_path)) for e in errors[:20]]
            )
        items = data.get("documents", [data])
        bundle_scenario = data.get("scenario") if "documents" in data else None
        parsed: list[ParsedDocument] = []
        problems: list[Problem] = []
        for index, item in enumerate(items):
            where = f"/documents/{index}" if "documents" in data else ""
            scenario = item.get("scenario", bundle_scenario)
            try:
                document = _document(item, self._new_id(), self._submitter, scenario)
            except DomainValueError as exc:
                problems.append(Problem("BAD_VALUE", str(exc), where))
                continue
            canonical = _canonical({k: v for k, v in item.items() if k != "format"})
            parsed.append(
                ParsedDocument(
                    document=document,
                    canonical=canonical,
                    raw=canonical if "documents" in data else raw,
                    media_type="application/json",
                    scenario=Scenario(scenario) if scenario else None,
                )
            )
        if problems:
            raise DocumentRejectedError(problems)
        return parsed


def _detect(sniffed: Sniffed) -> bool:
    if sniffed.kind != "json":
        return False
    if sniffed.json_value is None:
        return True  # broken JSON: the native reader reports what is wrong and where
    keys = sniffed.json_keys
    value = sniffed.json_value
    return (isinstance(value, dict) and value.get("format") == FORMAT_TAG) or (
        "kind" in keys and "number" in keys
    )


def _parse(raw: bytes, *, source: str, ctx: ReadContext) -> list[ParsedDocument]:
    return NativeJsonReader(submitter=ctx.submitter, new_id=ctx.new_id).read(raw, source=source)


FORMAT = FormatSpec(FORMAT_NAME, _detect, _parse)
