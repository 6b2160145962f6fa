"""Format detection from content and dispatch to the reader of each format.

Each format module exposes ``FORMAT: FormatSpec``. Detection looks at the bytes, never the
file name: JSON by its keys, XML by its root element's namespace and name, CSV/XLSX by a
column-mapping file given with them.
"""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, NoReturn, Protocol

from lxml import etree

from fourflow.adapters.documents.errors import DocumentRejectedError, Problem
from fourflow.adapters.documents.jsonsafe import load_json
from fourflow.adapters.documents.xml import parse_xml, root_name
from fourflow.domain.errors import FourFlowError
from fourflow.services.reading import ParsedDocument

if TYPE_CHECKING:
    from fourflow.adapters.documents.business_rules import InvoiceRules


@dataclass(frozen=True, slots=True)
class ReadContext:
    """What every reader is given besides the bytes.

    Attributes:
        submitter: the submitting organisation's id, if known.
        new_id: makes ids for the documents read.
        options: per-call options (e.g. ``mapping`` for CSV/XLSX column mappings).
        rules: the business rules invoices and credit notes must pass (EN 16931, Peppol);
            None reads them with their schema only.
    """

    submitter: str | None = None
    new_id: Callable[[], str] = field(default=lambda: str(uuid.uuid4()))
    options: dict[str, object] = field(default_factory=dict)
    rules: InvoiceRules | None = None


@dataclass(frozen=True, slots=True)
class Sniffed:
    """What detection knows about the bytes.

    Attributes:
        kind: ``xml``, ``json``, ``zip`` or ``text``.
        xml_root: ``(namespace, local name)`` of the XML root, for XML.
        json_keys: the top-level keys of a JSON object, for JSON.
        json_value: the parsed JSON (only for JSON, parsed once for every sniffer).
    """

    kind: str
    xml_root: tuple[str, str] | None = None
    json_keys: frozenset[str] = frozenset()
    json_value: object = None


@dataclass(frozen=True, slots=True)
class ValidationIssue:
    """One failed validation rule.

    Attributes:
        rule: the rule id (``BR-CO-15``, ``XSD``, ``PEPPOL-EN16931-R001`` ...).
        flag: ``fatal`` or ``warning``.
        message: what the rule says is wrong.
        location: where (XPath, line, JSON pointer).
    """

    rule: str
    flag: str
    message: str
    location: str = ""


class Validate(Protocol):
    """A format's validator: schema always; business rules when ``rules`` is true."""

    def __call__(self, raw: bytes, *, source: str, rules: bool) -> list[ValidationIssue]: ...


class Parse(Protocol):
    """A format's reader function."""

    def __call__(self, raw: bytes, *, source: str, ctx: ReadContext) -> list[ParsedDocument]: ...


class ParseMany(Protocol):
    """A format's reader of a group of files, stage by stage (``FormatSpec.parse_many``)."""

    def __call__(
        self, files: Sequence[tuple[bytes, str]], *, ctx: ReadContext
    ) -> list[list[ParsedDocument] | FourFlowError]: ...


@dataclass(frozen=True, slots=True)
class FormatSpec:
    """One supported format.

    Attributes:
        name: the format's name as reported (``ubl-2.1``, ``camt.054`` ...).
        detect: True when the sniffed bytes are this format.
        parse: reads the bytes into domain documents (and refuses what is schema-invalid).
        validate: checks the bytes against the format's schema and, with ``rules``, its
            business rules (e.g. EN 16931), without storing anything.
        parse_many: reads a group of ``(raw, source)`` files at once (each file's answer its
            documents, or the error ``parse`` raises for it), when the format has a faster
            way than one file after the other; None: ``parse`` each.
    """

    name: str
    detect: Callable[[Sniffed], bool]
    parse: Parse
    validate: Validate | None = None
    parse_many: ParseMany | None = None


# Format modules, tried in this order; each defines ``FORMAT`` (or ``FORMATS``).
FORMAT_MODULES: tuple[str, ...] = (
    "fourflow.adapters.documents.native",
    "fourflow.adapters.documents.ubl",
    "fourflow.adapters.documents.cii",
    "fourflow.adapters.documents.china_einvoice",
    "fourflow.adapters.documents.iso20022",
    "fourflow.adapters.documents.epcis",
    "fourflow.adapters.documents.dcsa",
    "fourflow.adapters.documents.tabular",  # keep last: it claims any text or ZIP bytes
)


@cache
def _formats() -> list[FormatSpec]:
    specs: list[FormatSpec] = []
    for name in FORMAT_MODULES:
        module = importlib.import_module(name)
        specs.extend(getattr(module, "FORMATS", ()) or [module.FORMAT])
    return specs


def sniff(raw: bytes) -> Sniffed:
    """Tell XML from JSON from ZIP (XLSX) from text by the first bytes."""
    head = raw.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if raw[:2] == b"PK":
        return Sniffed("zip")
    if head == b"<":
        return Sniffed("xml", xml_root=root_name(raw))
    if head in (b"{", b"["):
        try:
            value = load_json(raw, "sniff")
        except DocumentRejectedError:
            return Sniffed("json")  # the reader will report exactly what is wrong
        keys = frozenset(value) if isinstance(value, dict) else frozenset()
        return Sniffed("json", json_keys=keys, json_value=value)
    return Sniffed("text")


def detect(raw: bytes, sniffed: Sniffed | None = None) -> FormatSpec | None:
    """The format of ``raw``, or None when no reader recognises it."""
    sniffed = sniffed or sniff(raw)
    for spec in _formats():
        if spec.detect(sniffed):
            return spec
    return None


class DetectingReader:
    """The ``DocumentReader`` of the platform: detect the format, then read it."""

    def __init__(
        self,
        *,
        submitter: str | None = None,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
        options: dict[str, object] | None = None,
        rules: InvoiceRules | None = None,
    ) -> None:
        self._ctx = ReadContext(
            submitter=submitter, new_id=new_id, options=options or {}, rules=rules
        )

    def read(self, raw: bytes, *, source: str) -> list[ParsedDocument]:
        """Detect and read; refuse what no reader recognises."""
        sniffed = sniff(raw)
        spec = detect(raw, sniffed)
        if spec is not None:
            return spec.parse(raw, source=source, ctx=self._ctx)
        return self._unknown(raw, source, sniffed)

    def read_many(
        self, files: Sequence[tuple[bytes, str]]
    ) -> list[list[ParsedDocument] | FourFlowError]:
        """``read`` of each ``(raw, source)``, in order: each file's documents, or the error
        ``read`` raises for it. Consecutive files of a format that reads a group at once
        (``FormatSpec.parse_many``: UBL, stage by stage) are read together; the others one
        after the other (ids are drawn in file order either way). Errors other than
        ``FourFlowError`` are raised."""
        answers: list[list[ParsedDocument] | FourFlowError] = [[] for _ in files]
        run: list[int] = []  # consecutive files of ``run_spec``, not read yet
        run_spec: FormatSpec | None = None

        def read_run() -> None:
            if run_spec is not None and run_spec.parse_many is not None and run:
                read = run_spec.parse_many([files[n] for n in run], ctx=self._ctx)
                for n, answer in zip(run, read, strict=True):
                    answers[n] = answer
            run.clear()

        for n, (raw, source) in enumerate(files):
            sniffed = sniff(raw)
            spec = detect(raw, sniffed)
            if spec is not run_spec:
                read_run()
                run_spec = spec
            if spec is not None and spec.parse_many is not None:
                run.append(n)
                continue
            try:
                answers[n] = (
                    spec.parse(raw, source=source, ctx=self._ctx)
                    if spec is not None
                    else self._unknown(raw, source, sniffed)
                )
            except FourFlowError as exc:
                answers[n] = exc
        read_run()
        return answers

    @staticmethod
    def _unknown(raw: bytes, source: str, sniffed: Sniffed) -> NoReturn:
        """Refuse bytes no reader recognises, saying why."""
        what = "not a document format FourFlow reads"
        if sniffed.kind == "xml":
            root = parse_xml(raw, source)  # hostile or broken XML: say exactly why
            what = f"XML root {etree.QName(root).text!r} is not a document FourFlow reads"
        raise DocumentRejectedError([Problem("UNKNOWN_FORMAT", f"{source}: {what}")])
