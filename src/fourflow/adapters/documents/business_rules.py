"""The native business-rule engine: EN 16931 (UBL, CII) and Peppol BIS Billing 3 at ingest speed.

The official Schematron of each rule set is compiled once per process (on first use) into
one XSLT 1.0 stylesheet (:mod:`fourflow.adapters.documents.schematron`), which libxslt runs
over the tree the reader already parsed: no serialisation, no second parse, no JVM. The
asserts that are plain paths, counts, required values, code lists and decimals are decided
first by a native pass in C (:mod:`fourflow.adapters.documents.native_rules`, built by
``make setup``; without it the stylesheet tests them too), the stylesheet the rest. Rule id,
text and flag are the Schematron's own; each failure names the offending node's path.
Agreement with the official XSLT (run by Saxon, :mod:`fourflow.adapters.documents.en16931`)
is checked rule by rule by the tests (``tests/documents/test_rule_engine_agreement.py``).
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path

from lxml import etree

from fourflow.adapters.documents import native_rules, order_rules, peppol_functions, pyrules
from fourflow.adapters.documents.errors import DocumentRejectedError, Problem
from fourflow.adapters.documents.registry import ValidationIssue
from fourflow.adapters.documents.schematron import CompiledSchematron, compile_schematron
from fourflow.adapters.documents.standards import missing_path_error
from fourflow.domain.errors import FourFlowError


class RuleSet(StrEnum):
    """The rule sets the engine applies."""

    EN16931_UBL = "en16931-ubl"
    EN16931_CII = "en16931-cii"
    PEPPOL_UBL = "peppol-bis3-ubl"
    PEPPOL_CII = "peppol-bis3-cii"


@dataclass(frozen=True, slots=True)
class RuleSetSource:
    """Where a rule set's official Schematron is, and what it is.

    Attributes:
        title: the rule set's name.
        version: the release of the official artefacts.
        parts: the Schematron's path inside the standards directory.
    """

    title: str
    version: str
    parts: tuple[str, ...]


SOURCES: dict[RuleSet, RuleSetSource] = {
    RuleSet.EN16931_UBL: RuleSetSource(
        "EN 16931 business rules, UBL syntax binding (CEN/TC 434)",
        "1.3.16",
        (
            "en16931",
            "validation",
            "ubl",
            "schematron",
            "preprocessed",
            "EN16931-UBL-validation-preprocessed.sch",
        ),
    ),
    RuleSet.EN16931_CII: RuleSetSource(
        "EN 16931 business rules, UN/CEFACT CII syntax binding (CEN/TC 434)",
        "1.3.16",
        (
            "en16931",
            "validation",
            "cii",
            "schematron",
            "preprocessed",
            "EN16931-CII-validation-preprocessed.sch",
        ),
    ),
    RuleSet.PEPPOL_UBL: RuleSetSource(
        "Peppol BIS Billing 3 rules, UBL (OpenPeppol)",
        "3.0.19",
        ("peppol-billing", "schematron", "PEPPOL-EN16931-UBL.sch"),
    ),
    RuleSet.PEPPOL_CII: RuleSetSource(
        "Peppol BIS Billing 3 rules, CII (OpenPeppol)",
        "3.0.19",
        ("peppol-billing", "schematron", "PEPPOL-EN16931-CII.sch"),
    ),
}

# The Schematron's own functions (u:gln ...) and the XPath 2.0 helpers the translation calls.
peppol_functions.register()


# How many documents each rule set's stylesheet ran on in this process (every engine): none
# for a rule set whose every assert the native pass decides. The benches report it.
STYLESHEET_RUNS: Counter[RuleSet] = Counter()
_RUNS_LOCK = threading.Lock()


class RulesUnavailableError(FourFlowError, RuntimeError):
    """A rule set could not be compiled (its Schematron is missing or unreadable)."""


@cache
def compiled(path: Path) -> CompiledSchematron:
    """The compiled form of the Schematron at ``path`` (once per process)."""
    try:
        return compile_schematron(path, functions=peppol_functions.PEPPOL_FUNCTIONS)
    except (OSError, etree.XMLSyntaxError) as exc:
        raise RulesUnavailableError(f"cannot compile the rules in {path}: {exc}") from None


@dataclass(frozen=True, slots=True)
class Hybrid:
    """A rule set as the native pass and the XSLT share it: the asserts the C extension
    decides (:mod:`fourflow.adapters.documents.native_rules`) and the stylesheet of the rest
    (None when the pass decides every assert: no stylesheet runs)."""

    native: native_rules.NativePass
    xslt: CompiledSchematron | None


@cache
def hybrid(path: Path) -> Hybrid | None:
    """The Schematron at ``path`` split between the native pass and the XSLT (once per
    process), or None when the extension is not built or decides none of its asserts."""
    module = native_rules.load()
    if module is None:
        return None
    full = compiled(path)
    found = native_rules.native_pass(full, module)
    if found is None:
        return None
    rest = frozenset(range(len(full.asserts))) - found.numbers
    if not rest:
        return Hybrid(found, None)
    try:
        reduced = compile_schematron(path, functions=peppol_functions.PEPPOL_FUNCTIONS, only=rest)
    except (OSError, etree.XMLSyntaxError) as exc:
        raise RulesUnavailableError(f"cannot compile the rules in {path}: {exc}") from None
    return Hybrid(found, reduced)


@dataclass(frozen=True, slots=True)
class Backend:
    """A rule set as the engine runs it: the asserts compiled to Python, and the XSLT for
    the asserts left to it (None when there are none)."""

    python: pyrules.PythonRules
    xslt: CompiledSchematron | None
    # each assert's rule (its place among the Schematron's rules): issues keep that order
    rule_of: tuple[int, ...]


@cache
def python_backend(path: Path) -> Backend:
    """The Python form of the Schematron at ``path``, and the XSLT of its fallbacks
    (once per process)."""
    try:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        schema = etree.parse(str(path), parser).getroot()
        python = pyrules.compile_rules(schema)
        xslt = None
        if python.fallback:
            xslt = compile_schematron(
                path, functions=peppol_functions.PEPPOL_FUNCTIONS, only=frozenset(python.fallback)
            )
    except (OSError, etree.XMLSyntaxError) as exc:
        raise RulesUnavailableError(f"cannot compile the rules in {path}: {exc}") from None
    return Backend(python, xslt, tuple(a.rule_index for a in python.asserts))


class RuleEngine:
    """Applies the compiled rule sets to parsed documents (thread-safe).

    ``backend="xslt"`` (the default): the whole rule set as one XSLT 1.0 stylesheet; with
    ``native=True`` (the default) the asserts the native pass decides
    (:mod:`fourflow.adapters.documents.native_rules`, when its C extension is built) run
    there and the stylesheet tests the rest, with the same issues in the same order.
    ``backend="python"`` (experimental; 2-3 times slower per invoice, so not the default):
    each rule set's asserts run as generated Python (:mod:`fourflow.adapters.documents.pyrules`)
    over a one-pass index of the tree, and those the generator does not render as a reduced
    XSLT stylesheet; it is held to the same verdicts by the tests.
    Each thread gets its own libxslt stylesheet objects: a transformation then needs no lock.
    """

    def __init__(self, standards_dir: Path, backend: str = "xslt", native: bool = True) -> None:
        if backend not in ("python", "xslt"):
            raise ValueError(f"unknown rule engine backend {backend!r}")
        self._dir = standards_dir
        self.standards = standards_dir
        self.backend = backend
        self.native = native and backend == "xslt"
        self._local = threading.local()

    def path_of(self, rule_set: RuleSet) -> Path:
        """The Schematron a rule set is compiled from."""
        path = self._dir.joinpath(*SOURCES[rule_set].parts)
        if not path.is_file():
            raise RulesUnavailableError(str(missing_path_error(path)))
        return path

    def compiled(self, rule_set: RuleSet) -> CompiledSchematron:
        """The compiled rule set (its asserts, and the XSLT it runs)."""
        return compiled(self.path_of(rule_set))

    def python(self, rule_set: RuleSet) -> Backend:
        """The rule set as the Python backend runs it (its fallbacks included)."""
        return python_backend(self.path_of(rule_set))

    def hybrid(self, rule_set: RuleSet) -> Hybrid | None:
        """The rule set split between the native pass and the XSLT, or None (not native)."""
        return hybrid(self.path_of(rule_set)) if self.native else None

    def _stylesheet(self, rule_set: RuleSet) -> tuple[CompiledSchematron, etree.XSLT | None] | None:
        """The rule set's asserts and the stylesheet this thread runs for it (None: the
        native pass decides every assert), or None when there is neither."""
        sheets: dict[RuleSet, tuple[CompiledSchematron, etree.XSLT | None] | None] | None = getattr(
            self._local, "sheets", None
        )
        if sheets is None:
            sheets = self._local.sheets = {}
        if rule_set in sheets:
            return sheets[rule_set]
        natives: dict[RuleSet, native_rules.NativePass | None] = self._natives()
        natives[rule_set] = None
        if self.backend == "xslt":
            rules: CompiledSchematron | None = self.compiled(rule_set)
            split = self.hybrid(rule_set)
            if split is not None:
                # the whole rule set's asserts (numbers and texts), the stylesheet of the rest
                assert rules is not None
                natives[rule_set] = split.native
                sheet = None if split.xslt is None else _xslt(split.xslt.xslt)
                sheets[rule_set] = (rules, sheet)
                return sheets[rule_set]
        else:
            rules = self.python(rule_set).xslt
        found = sheets[rule_set] = None if rules is None else (rules, _xslt(rules.xslt))
        return found

    def _natives(self) -> dict[RuleSet, native_rules.NativePass | None]:
        natives: dict[RuleSet, native_rules.NativePass | None] | None = getattr(
            self._local, "natives", None
        )
        if natives is None:
            natives = self._local.natives = {}
        return natives

    def prepare(self, *rule_sets: RuleSet) -> None:
        """Compile ``rule_sets`` now for this thread (the first check would do it anyway)."""
        for rule_set in rule_sets or tuple(RuleSet):
            self._stylesheet(rule_set)

    def check(self, document: etree._Element, rule_set: RuleSet) -> list[ValidationIssue]:
        """The rules of ``rule_set`` that ``document`` breaks or is warned about."""
        sheet = self._stylesheet(rule_set)
        tree = document.getroottree() if document.getparent() is None else _own_tree(document)
        found: list[tuple[int, str]] = []
        if self.backend == "python":
            backend = self.python(rule_set)
            failed = backend.python.run(tree.getroot())
            if len(failed) > 1:
                # as the stylesheet lists them: by rule, then node, then assert
                order = {id(e): i for i, e in enumerate(tree.getroot().iter())}
                failed.sort(key=lambda f: (backend.rule_of[f[0]], _order_of(order, f[1]), f[0]))
            found.extend((n, pyrules.loc(node)) for n, node in failed)
        if sheet is not None and sheet[1] is not None:
            with _RUNS_LOCK:
                STYLESHEET_RUNS[rule_set] += 1
            for line in str(sheet[1](tree)).splitlines():
                text, _, location = line.partition("\t")
                found.append((int(text), location))
        native = self._local.natives.get(rule_set)
        if native is not None:
            root = tree.getroot()
            failed = native.failures(root)
            if failed:
                found = _merged(native, root, found, failed)
        if self.backend == "python" and sheet is not None:
            rule_of = backend.rule_of
            found.sort(key=lambda f: rule_of[f[0]])
        asserts = self.python(rule_set).python.asserts if self.backend == "python" else None
        issues: list[ValidationIssue] = []
        for number, location in found:
            if asserts is not None:
                p = asserts[number]
                issues.append(ValidationIssue(p.rule, p.flag, p.text, location))
            else:
                assert sheet is not None
                a = sheet[0].asserts[number]
                issues.append(ValidationIssue(a.rule, a.flag, a.text, location))
        return issues


def _merged(
    native: native_rules.NativePass,
    root: etree._Element,
    found: list[tuple[int, str]],
    failed: list[tuple[int, int]],
) -> list[tuple[int, str]]:
    """The stylesheet's issues (assert number, location) and the native pass's (assert
    number, element place) in the whole stylesheet's order: by rule, then node, then assert.
    In a rule the two share, a stylesheet issue's node is found by its location."""
    shared = {native.rule_of(n) for n, _ in failed} & native.mixed
    located = bool(shared) and any(native.rule_of(n) in shared for n, _ in found)
    whole = located or any(i for _, i in failed)
    elements = list(root.iter(etree.Element)) if whole else [root]
    places = {pyrules.loc(e): i for i, e in enumerate(elements)} if located else {}
    ordered = [
        (native.sort_key(n, places.get(location) if places and native.rule_of(n) in shared
                         else None), n, location)
        for n, location in found
    ]  # fmt: skip
    ordered.extend((native.sort_key(n, i), n, pyrules.loc(elements[i])) for n, i in failed)
    ordered.sort(key=lambda f: f[0])
    return [(n, location) for _, n, location in ordered]


def _order_of(order: dict[int, int], node: object) -> int:
    """A failed node's place in document order (an attribute at its element's)."""
    if isinstance(node, pyrules.Attr):
        node = node.parent
    if isinstance(node, pyrules.DocNode):
        return -1
    return order.get(id(node), -1)


@cache
def _sheet_document(text: str) -> etree._Element:
    return etree.fromstring(text.encode("utf-8"))


def _xslt(text: str) -> etree.XSLT:
    return etree.XSLT(_sheet_document(text))


def _own_tree(element: etree._Element) -> etree._ElementTree:
    """A document of its own for an element inside another (e.g. a test case's invoice)."""
    return etree.ElementTree(etree.fromstring(etree.tostring(element)))


def fired(issues: list[ValidationIssue]) -> dict[str, str]:
    """Each rule id that fired, mapped to its flag (``fatal`` beats ``warning``)."""
    out: dict[str, str] = {}
    for issue in issues:
        if out.get(issue.rule) != "fatal":
            out[issue.rule] = issue.flag
    return out


_SYNTAX_RULES = {"ubl": (RuleSet.EN16931_UBL,), "cii": (RuleSet.EN16931_CII,)}
_PEPPOL_RULES = {"ubl": RuleSet.PEPPOL_UBL, "cii": RuleSet.PEPPOL_CII}
# Peppol BIS Billing 3's specification identifier (PEPPOL-EN16931-R004 tests this prefix);
# Peppol's validation selects its rules by it, so a document claiming it gets them.
PEPPOL_CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
_CUSTOMIZATION = {
    "ubl": "{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}CustomizationID",
    "cii": (
        "{urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100}ExchangedDocumentContext/"
        "{urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100}"
        "GuidelineSpecifiedDocumentContextParameter/"
        "{urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100}ID"
    ),
}


def claims_peppol(root: etree._Element, syntax: str) -> bool:
    """Whether an invoice or credit note claims Peppol BIS Billing 3 (its CustomizationID,
    CII's guideline ID, starts with :data:`PEPPOL_CUSTOMIZATION`, extensions included)."""
    for element in root.iterfind(_CUSTOMIZATION[syntax]):
        if " ".join((element.text or "").split()).startswith(PEPPOL_CUSTOMIZATION):
            return True
    return False


def rule_sets_for(root: etree._Element, syntax: str) -> tuple[RuleSet, ...]:
    """The rule sets an invoice or credit note of ``syntax`` is checked against: EN 16931
    always, Peppol BIS Billing 3 when it claims that specification."""
    if claims_peppol(root, syntax):
        return (*_SYNTAX_RULES[syntax], _PEPPOL_RULES[syntax])
    return _SYNTAX_RULES[syntax]


class InvoiceRules:
    """The rules ingest applies to an invoice or credit note of one syntax (``ubl``/``cii``)."""

    def __init__(self, engine: RuleEngine) -> None:
        self.engine = engine

    def check_invoice(self, root: etree._Element, syntax: str) -> list[ValidationIssue]:
        """Every rule of the syntax's rule sets that ``root`` breaks or is warned about."""
        issues: list[ValidationIssue] = []
        for rule_set in rule_sets_for(root, syntax):
            issues.extend(self.engine.check(root, rule_set))
        return issues

    def check_order(self, root: etree._Element) -> list[ValidationIssue]:
        """The Peppol Order (T01) arithmetic rules ``root`` (a UBL Order) breaks."""
        path = self.engine.standards.joinpath(*order_rules.SCHEMATRON)
        if not path.is_file():
            raise RulesUnavailableError(str(missing_path_error(path)))
        return order_rules.check_order(root, path)


def enforce(
    rules: InvoiceRules | None, root: etree._Element, syntax: str, source: str
) -> tuple[dict[str, str], ...]:
    """Refuse ``root`` if it breaks a fatal rule; return the warnings as findings.

    Raises:
        DocumentRejectedError: one problem per fatal failure: the rule id as its code, the
            rule's text, the offending element's path.
    """
    if rules is None:
        return ()
    return refuse_or_keep(rules.check_invoice(root, syntax), source)


def enforce_order(
    rules: InvoiceRules | None, root: etree._Element, source: str
) -> tuple[dict[str, str], ...]:
    """As :func:`enforce`, with the order arithmetic rules (UBL Order)."""
    if rules is None:
        return ()
    return refuse_or_keep(rules.check_order(root), source)


def refuse_or_keep(issues: list[ValidationIssue], source: str) -> tuple[dict[str, str], ...]:
    """Refuse on any fatal issue (every one named); else the warnings as findings."""
    fatal = [i for i in issues if i.flag == "fatal"]
    if fatal:
        raise DocumentRejectedError(
            [Problem(i.rule, f"{source}: {i.message}", i.location) for i in fatal]
        )
    return tuple(
        {"code": i.rule, "flag": i.flag, "message": i.message, "location": i.location}
        for i in issues
    )
