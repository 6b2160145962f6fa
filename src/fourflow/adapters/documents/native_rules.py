"""The native pass of the business-rule engine: path asserts decided in C over libxml2's tree.

Most asserts of the EN 16931 UBL rules (UBL-CR: the elements the standard does not use, and
UBL-SR's "at most once") test, at the document element, whether a plain path of element
names selects a node, or more than one: ``not(cac:Delivery/cac:Shipment)``,
``count(cac:InvoicePeriod) <= 1``. In the XSLT 1.0 stylesheet
(:mod:`fourflow.adapters.documents.schematron`) each is an XPath evaluation; here they are
compiled once per rule set into one trie of those paths, which a small C extension
(``rulesnative.c``) walks over the parsed tree in one pass, and the stylesheet is compiled
without them (``compile_schematron(only=...)``). The rule ids, texts, flags, locations and
the order of the issues are those of the whole stylesheet; the tests hold the two engines to
the same output on every sample (``tests/documents/test_native_rules.py``).

Which asserts: those whose test in the compiled stylesheet is ``not(P)``, ``boolean(P)`` or
``count(P) <= 1`` with ``P`` child steps of prefixed names (the first may be a union of
such steps) and an optional last attribute step, and whose rule's context is the document
element itself (an ``xsl:for-each`` selecting ``/p:Name | /q:Name`` only: nothing shadows it).

The extension is built by ``make setup`` (:func:`build`, into ``build/native`` of the source
tree); when it is absent, or fails its self-test, the engine logs it once and runs the
whole stylesheet.
"""

from __future__ import annotations

import importlib.util
import logging
import re
import shlex
import subprocess
import sys
import sysconfig
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import lxml
from lxml import etree

from fourflow.adapters.documents.schematron import XSL, CompiledSchematron

__all__ = ["NativePass", "build", "load", "native_pass"]

log = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("rulesnative.c")
# build/native of the source tree (src/fourflow/adapters/documents -> the repository root)
BUILD_DIR = Path(__file__).resolve().parents[4] / "build" / "native"
MODULE = "_rulesnative"

_NAME = r"[A-Za-z_][\w.-]*"
_STEP = rf"{_NAME}:{_NAME}"
_FIRST = rf"\(\s*{_STEP}(?:\s*\|\s*{_STEP})+\s*\)|{_STEP}"
_PATH = rf"(?:{_FIRST})(?:/{_STEP})*(?:/@{_NAME})?"
# kind 0: fails when P selects a node; 1: when it selects none; 2: when it selects two or more
_FORMS = (
    (re.compile(rf"not\(not\(({_PATH})\)\)"), 0),
    (re.compile(rf"not\(boolean\(({_PATH})\)\)"), 1),
    (re.compile(rf"not\(\(?\(count\(({_PATH})\)\) <= \(1\) \+ 0\.000001\)?\)"), 2),
)
_ROOTS = re.compile(rf"/{_STEP}(?:\s*\|\s*/{_STEP})*")


def module_path(directory: Path = BUILD_DIR) -> Path:
    """Where the built extension is (its name carries this Python's ABI suffix)."""
    return directory / (MODULE + str(sysconfig.get_config_var("EXT_SUFFIX") or ".so"))


def build(directory: Path = BUILD_DIR) -> Path:
    """Compile ``rulesnative.c`` against this Python and lxml's libxml2 headers.

    Raises:
        RuntimeError: the compiler is missing or failed (its output in the message).
    """
    directory.mkdir(parents=True, exist_ok=True)
    target = module_path(directory)
    compiler = shlex.split(str(sysconfig.get_config_var("CC") or "cc"))
    includes = [sysconfig.get_paths()["include"], *lxml.get_include()]  # type: ignore[attr-defined]
    with tempfile.TemporaryDirectory(dir=directory) as scratch:
        out = Path(scratch) / target.name
        command = [
            *compiler,
            "-O2",
            "-shared",
            "-fPIC",
            "-Wall",
            *(f"-I{i}" for i in includes),
            str(SOURCE),
            "-o",
            str(out),
        ]
        try:
            done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RuntimeError(f"cannot run the C compiler {compiler[0]}: {exc}") from None
        if done.returncode != 0:
            raise RuntimeError(f"{shlex.join(command)} failed:\n{done.stderr.strip()}")
        out.replace(target)
    return target


_LOCK = threading.Lock()
_LOADED: dict[Path, ModuleType | None] = {}


def load(directory: Path = BUILD_DIR) -> ModuleType | None:
    """The built extension, or None (logged once) when it is absent or fails its self-test."""
    path = module_path(directory)
    with _LOCK:
        if path in _LOADED:
            return _LOADED[path]
        module: ModuleType | None = None
        reason = ""
        if not path.is_file():
            reason = f"{path} is not built (make setup builds it)"
        else:
            try:
                spec = importlib.util.spec_from_file_location(MODULE, path)
                if spec is None or spec.loader is None:
                    raise ImportError(f"no loader for {path}")
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                _self_test(module)
            except Exception as exc:  # an extension for another Python, or a wrong build
                reason = f"{path} cannot be used: {exc}"
                module = None
        if module is None:
            log.warning("native rule pass off: %s; the rules run on the XSLT engine alone", reason)
        _LOADED[path] = module
        return module


def _self_test(module: ModuleType) -> None:
    """The extension counts as the XPath does on a small document, or it is not used."""
    ns = "urn:t"
    root = etree.fromstring(
        f'<r xmlns="{ns}" xmlns:o="urn:o"><a><b x="1"/><b/><o:b/></a><a><b/></a><c y="2"/></r>'
    )
    paths = ["a/b", "a/b/@x", "c/@x", "(a | c)", "a/o:b", "d"]
    trie = _Trie()
    for number, text in enumerate(paths):
        trie.add(_parse_path(text, {"t": ns, "o": "urn:o"}, default="t"), number)
    checks = [(n, n, 0) for n in range(len(paths))]
    capsule = module.prepare(trie.nodes(), len(paths), checks, etree._Element)
    got = list(module.count(capsule, root))
    if got != [3, 1, 0, 3, 1, 0]:
        raise RuntimeError(f"self-test counted {got}")
    if module.failures(capsule, root) != [0, 1, 3, 4]:
        raise RuntimeError("self-test verdicts differ")


class _Trie:
    """Paths from one context node, as a trie of (namespace, local name) steps."""

    def __init__(self) -> None:
        self.edges: list[dict[tuple[str, str], int]] = [{}]
        self.ends: list[list[int]] = [[]]
        self.attrs: list[list[tuple[str, int]]] = [[]]

    def add(self, alternatives: Alternatives, path: int) -> None:
        for steps, attribute in alternatives:
            at = 0
            for step in steps:
                found = self.edges[at].get(step)
                if found is None:
                    found = self.edges[at][step] = len(self.edges)
                    self.edges.append({})
                    self.ends.append([])
                    self.attrs.append([])
                at = found
            if attribute is None:
                self.ends[at].append(path)
            else:
                self.attrs[at].append((attribute, path))

    def nodes(self) -> list[tuple[list[tuple[str, str, int]], list[int], list[tuple[str, int]]]]:
        return [
            (
                sorted(
                    ((ns, local, child) for (ns, local), child in edges.items()),
                    key=lambda e: (e[1].encode(), e[0].encode()),
                ),
                ends,
                attrs,
            )
            for edges, ends, attrs in zip(self.edges, self.ends, self.attrs, strict=True)
        ]


Alternatives = list[tuple[list[tuple[str, str]], str | None]]


def _parse_path(text: str, namespaces: dict[str, str], default: str | None = None) -> Alternatives:
    """A path of :data:`_PATH` as its alternatives: (element steps, last attribute or None).
    ``default``: a prefix for unprefixed names (the self-test only)."""

    def step(name: str) -> tuple[str, str]:
        name = name.strip()
        prefix, _, local = name.rpartition(":")
        if not prefix:
            if default is None:
                raise KeyError(name)
            prefix = default
        return namespaces[prefix], local

    attribute = None
    if "/@" in text:
        text, _, attribute = text.rpartition("/@")
    elif text.startswith("@"):
        raise KeyError(text)
    first, _, rest = text.partition(")") if text.startswith("(") else ("", "", text)
    if first:
        starts = [step(s) for s in first[1:].split("|")]
        rest = rest.lstrip("/")
    else:
        head, _, rest = text.partition("/")
        starts = [step(head)]
    tail = [step(s) for s in rest.split("/")] if rest else []
    unique = list(dict.fromkeys(starts))
    return [([s, *tail], attribute) for s in unique]


@dataclass(frozen=True, slots=True)
class NativePass:
    """The asserts of one compiled rule set that the extension decides.

    Attributes:
        numbers: their numbers (the rule set's assert numbering).
        roots: the Clark names of the document elements their rule context selects.
        order: each assert number's rule context (its ``xsl:for-each``) in the stylesheet,
            and whether that context is the document element alone; issues keep that order.
    """

    numbers: frozenset[int]
    roots: frozenset[str]
    order: dict[int, tuple[int, bool]]
    _module: Any
    _capsule: Any

    def failures(self, root: etree._Element) -> list[int]:
        """The numbers of the asserts of this pass that ``root`` (a document element) fails."""
        if root.tag not in self.roots:
            return []
        failed: list[int] = self._module.failures(self._capsule, root)
        return failed

    def sort_key(self, number: int) -> tuple[int, int]:
        """Where an issue of assert ``number`` goes among the stylesheet's output."""
        rule, document_element = self.order.get(number, (-1, False))
        return (rule, number if document_element else 0)


def native_pass(compiled: CompiledSchematron, module: ModuleType) -> NativePass | None:
    """The asserts of ``compiled`` (the whole rule set's stylesheet) the extension decides,
    or None when there are none."""
    template = etree.fromstring(compiled.xslt.encode("utf-8")).find(f"{{{XSL}}}template")
    assert template is not None
    namespaces = dict(compiled.namespaces)
    seen: dict[int, int] = {}
    order: dict[int, tuple[int, bool]] = {}
    # per set of document elements a rule context selects: (assert, its path, kind)
    candidates: dict[frozenset[str], list[tuple[int, Alternatives, int]]] = {}
    for index, rule in enumerate(template):
        tags = _document_elements(rule, namespaces)
        for test in rule.iter(f"{{{XSL}}}if"):
            number = _assert_number(test)
            if number is None:
                continue
            seen[number] = seen.get(number, 0) + 1
            order[number] = (index, tags is not None)
            parent = test.getparent()
            if tags is None or not (
                parent is rule or (parent is not None and parent.tag == test.tag
                                   and parent.getparent() is rule)
            ):  # fmt: skip
                continue
            for form, kind in _FORMS:
                found = form.fullmatch(test.get("test", ""))
                if found is None:
                    continue
                try:
                    alternatives = _parse_path(found.group(1), namespaces)
                except KeyError:
                    break
                candidates.setdefault(tags, []).append((number, alternatives, kind))
                break
    if not candidates:
        return None
    # the document elements most of them are tested at (EN 16931 UBL: Invoice or CreditNote)
    roots, most = max(candidates.items(), key=lambda c: len(c[1]))
    chosen = [(n, a, k) for n, a, k in most if seen[n] == 1]
    if not chosen:
        return None
    trie = _Trie()
    checks: list[tuple[int, int, int]] = []
    for path, (number, alternatives, kind) in enumerate(chosen):
        trie.add(alternatives, path)
        checks.append((number, path, kind))
    capsule = module.prepare(trie.nodes(), len(chosen), checks, etree._Element)
    return NativePass(frozenset(n for n, _, _ in chosen), roots, order, module, capsule)


def _document_elements(rule: etree._Element, namespaces: dict[str, str]) -> frozenset[str] | None:
    """The Clark names of the document elements a rule's ``xsl:for-each`` selects when it
    selects nothing else (``/ubl:Invoice | /cn:CreditNote``), else None."""
    select = rule.get("select") or ""
    if rule.tag != f"{{{XSL}}}for-each" or _ROOTS.fullmatch(select) is None:
        return None
    tags: set[str] = set()
    try:
        for alternative in select.split("|"):
            ((steps, attribute),) = _parse_path(alternative.strip().lstrip("/"), namespaces)
            if len(steps) != 1 or attribute is not None:
                return None
            ns, local = steps[0]
            tags.add(f"{{{ns}}}{local}")
    except (KeyError, ValueError):
        return None
    return frozenset(tags)


def _assert_number(test: etree._Element) -> int | None:
    """The assert number an ``xsl:if`` writes when its test fails (the stylesheet writes the
    number, a tab and the node's location), else None."""
    text = (test.text or "").strip()
    if not text.isdigit() or len(test) < 2:
        return None
    first, second = test[0], test[1]
    if first.tag != f"{{{XSL}}}text" or first.text != "\t":
        return None
    if second.tag != f"{{{XSL}}}call-template" or second.get("name") != "ff-loc":
        return None
    return int(text)


if __name__ == "__main__":
    # python -m fourflow.adapters.documents.native_rules --build [directory]
    if sys.argv[1:2] != ["--build"]:
        sys.exit("usage: python -m fourflow.adapters.documents.native_rules --build [directory]")
    target_dir = Path(sys.argv[2]) if len(sys.argv) > 2 else BUILD_DIR
    try:
        built = build(target_dir)
    except RuntimeError as exc:
        sys.exit(f"native rule pass not built ({exc}); the rules will run on the XSLT engine alone")
    if load(target_dir) is None:
        sys.exit(f"{built} was built but failed its self-test")
    print(f"native rule pass built: {built}")
