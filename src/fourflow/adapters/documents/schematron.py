"""Compile an official Schematron (XSLT 2.0 binding) into one XSLT 1.0 stylesheet for libxslt.

The rule text, id and flag are the Schematron's own; each assert's XPath 2.0 test is
translated by :mod:`fourflow.adapters.documents.xpath2`. The stylesheet follows the ISO
skeleton's semantics: one mode per pattern, walking every element and attribute; within a
pattern the first rule whose context matches a node fires (rules get falling priorities);
every assert of that rule is tested there. Instead of SVRL it writes one line per failed
assert: the assert's number and the offending node's path, which keeps the output cheap.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from fourflow.adapters.documents.xpath2 import Hoisted, UntranslatableError, translate

SCH = "http://purl.oclc.org/dsdl/schematron"
XSL = "http://www.w3.org/1999/XSL/Transform"
EXTENSIONS_NS = "urn:fourflow:rules"
_S = {"s": SCH}
_FIXED_NS = {
    "regexp": "http://exslt.org/regular-expressions",
    "set": "http://exslt.org/sets",
    "ff": EXTENSIONS_NS,
}


@dataclass(frozen=True, slots=True)
class Assertion:
    """One assert of the Schematron, as compiled.

    Attributes:
        rule: the rule id (``BR-CO-10``).
        flag: ``fatal`` or ``warning``.
        text: the assert's message.
        context: the rule context it is tested at.
        test: the official XPath 2.0 test.
        xpath: the XPath 1.0 translation, or None when it could not be translated.
        reason: why it could not be, else empty.
    """

    rule: str
    flag: str
    text: str
    context: str
    test: str
    xpath: str | None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class CompiledSchematron:
    """A Schematron compiled to XSLT 1.0: the asserts (in output numbering) and the text."""

    asserts: tuple[Assertion, ...]
    xslt: str
    namespaces: Mapping[str, str]

    @property
    def untranslated(self) -> tuple[Assertion, ...]:
        """Asserts left out because their XPath 2.0 could not be translated."""
        return tuple(a for a in self.asserts if a.xpath is None)


def _attr(text: str) -> str:
    return html.escape(text, quote=True)


def _message(node: etree._Element) -> str:
    return " ".join("".join(str(t) for t in node.itertext()).split())


class _Writer:
    def __init__(self, namespaces: Mapping[str, str], functions: Mapping[str, str]) -> None:
        self.namespaces = dict(namespaces)
        self.functions = dict(functions)
        self.asserts: list[Assertion] = []
        self.out: list[str] = []

    def check(self, xpath: str) -> None:
        etree.XPath(xpath, namespaces=self.namespaces)

    def hoisted(self, items: list[Hoisted]) -> None:
        for h in items:
            member = "number(.)" if h.numeric else "."
            self.out.append(f'<xsl:variable name="{h.name}"><xsl:for-each select="{_attr(h.seq)}">')
            self.out.append(f'<xsl:variable name="{h.var}" select="{member}"/>')
            self.hoisted(h.inner)
            cond = f"not({h.cond})" if h.kind == "every" else h.cond
            self.out.append(
                f'<xsl:if test="{_attr(cond)}">x</xsl:if></xsl:for-each></xsl:variable>'
            )

    def let(self, name: str, value: str, prefix: str) -> None:
        t = translate(value, prefix=prefix, functions=self.functions)
        if t.hoisted:
            raise UntranslatableError("quantifier in a let")
        self.check(t.xpath)
        self.out.append(f'<xsl:variable name="{name}" select="{_attr(t.xpath)}"/>')

    def rule(
        self, mode: str, priority: int, rule: etree._Element, lets: list[etree._Element]
    ) -> None:
        context = rule.get("context", "")
        match = translate(context, functions=self.functions, pattern=True)
        if match.hoisted:
            raise UntranslatableError(f"quantifier in rule context {context!r}")
        self.out.append(
            f'<xsl:template match="{_attr(match.xpath)}" priority="{priority}" mode="{mode}">'
            '<xsl:variable name="ctx" select="."/>'
        )
        for n, let in enumerate([*lets, *rule.iterfind("s:let", _S)]):
            self.let(let.get("name", ""), let.get("value", ""), f"l{n}")
        failing: list[tuple[int, str]] = []
        for node in rule:
            if node.tag not in (f"{{{SCH}}}assert", f"{{{SCH}}}report"):
                continue
            number = len(self.asserts)
            test = node.get("test", "")
            report = node.tag == f"{{{SCH}}}report"
            common = {
                "rule": node.get("id", ""),
                "flag": node.get("flag", "fatal") or "fatal",
                "text": _message(node),
                "context": context,
                "test": test,
            }
            try:
                t = translate(test, prefix=f"a{number}q", functions=self.functions)
                self.check(t.xpath)
            except (UntranslatableError, etree.XPathError) as exc:
                self.asserts.append(Assertion(**common, xpath=None, reason=str(exc)))
                continue
            self.asserts.append(Assertion(**common, xpath=t.xpath))
            self.hoisted(t.hoisted)
            failing.append((number, t.xpath if report else f"not({t.xpath})"))
        # Most nodes pass every assert: one test of them all, and each alone only if it fails.
        each = "".join(
            f'<xsl:if test="{_attr(fails)}">{number}<xsl:text>&#9;</xsl:text>'
            '<xsl:call-template name="ff-loc"/><xsl:text>&#10;</xsl:text></xsl:if>'
            for number, fails in failing
        )
        if len(failing) > 1:
            any_fails = " or ".join(f"({fails})" for _number, fails in failing)
            each = f'<xsl:if test="{_attr(any_fails)}">{each}</xsl:if>'
        self.out.append(each)
        self.out.append(f'<xsl:apply-templates select="@*|*" mode="{mode}"/></xsl:template>')


_LOCATION = """
<xsl:template name="ff-loc">
<xsl:for-each select="ancestor-or-self::*">/<xsl:value-of select="name()"/>[<xsl:value-of
 select="count(preceding-sibling::*[name() = name(current())]) + 1"/>]</xsl:for-each>
<xsl:if test="count(. | ../@*) = count(../@*)">/@<xsl:value-of select="name()"/></xsl:if>
</xsl:template>"""


def compile_schematron(
    path: Path,
    *,
    functions: Mapping[str, str] | None = None,
    phase_filter: Callable[[etree._Element], bool] | None = None,
) -> CompiledSchematron:
    """Compile the (include-free) Schematron at ``path`` into an XSLT 1.0 stylesheet.

    ``functions`` maps the Schematron's own XPath functions (``u:gln``) to extension
    functions registered under :data:`EXTENSIONS_NS` (``ff:gln``). Asserts whose XPath 2.0
    cannot be translated are kept in the result with the reason, and left out of the sheet.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    schema = etree.parse(str(path), parser).getroot()
    namespaces = {ns.get("prefix", ""): ns.get("uri", "") for ns in schema.iterfind("s:ns", _S)}
    all_ns = {**namespaces, **_FIXED_NS}
    writer = _Writer(all_ns, functions or {})
    globals_: list[str] = []
    for n, let in enumerate(schema.iterfind("s:let", _S)):
        before = len(writer.out)
        writer.let(let.get("name", ""), let.get("value", ""), f"g{n}")
        globals_.extend(writer.out[before:])
        del writer.out[before:]
    modes: list[str] = []
    for p, pattern in enumerate(schema.iterfind("s:pattern", _S)):
        if phase_filter is not None and not phase_filter(pattern):
            continue
        mode = f"M{p}"
        modes.append(mode)
        lets = list(pattern.iterfind("s:let", _S))
        rules = list(pattern.iterfind("s:rule", _S))
        for r, rule in enumerate(rules):
            writer.rule(mode, 1000 + len(rules) - r, rule, lets)
        writer.out.append(
            f'<xsl:template match="text()" priority="-1" mode="{mode}"/>'
            f'<xsl:template match="@*|node()" priority="-2" mode="{mode}">'
            f'<xsl:apply-templates select="@*|*" mode="{mode}"/></xsl:template>'
        )
    declarations = " ".join(f'xmlns:{p}="{_attr(u)}"' for p, u in all_ns.items() if p)
    prefixes = " ".join(p for p in all_ns if p)
    start = "".join(f'<xsl:apply-templates select="/" mode="{m}"/>' for m in modes)
    xslt = (
        f'<xsl:stylesheet version="1.0" xmlns:xsl="{XSL}" {declarations} '
        f'exclude-result-prefixes="{prefixes}"><xsl:output method="text"/>'
        + "".join(globals_)
        + f'<xsl:template match="/">{start}</xsl:template>'
        + _LOCATION
        + "".join(writer.out)
        + "</xsl:stylesheet>"
    )
    return CompiledSchematron(tuple(writer.asserts), xslt, namespaces)
