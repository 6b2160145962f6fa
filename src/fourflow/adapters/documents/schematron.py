"""Compile an official Schematron (XSLT 2.0 binding) into one XSLT 1.0 stylesheet for libxslt.

The rule text, id and flag are the Schematron's own; each assert's XPath 2.0 test is
translated by :mod:`fourflow.adapters.documents.xpath2`. The stylesheet keeps the ISO
skeleton's semantics (within a pattern, a node is the context of the first rule whose
context matches it; every assert of that rule is tested there) without walking the
document once per pattern: each rule selects its context nodes directly, named elements
from one name index (``xsl:key``) built per document, leaving out the nodes an earlier rule
of its pattern may match (unless the two contexts are provably disjoint). Absolute
``//name`` walks in the asserts are made once per document (global variables). Instead of
SVRL it writes one line per failed assert: the assert's number and the offending node's
path, which keeps the output cheap.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from fourflow.adapters.documents.xpath2 import (
    Hoisted,
    Node,
    UntranslatableError,
    constant_value,
    translate,
)

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
    def __init__(
        self,
        namespaces: Mapping[str, str],
        functions: Mapping[str, str],
        only: Collection[int] | None = None,
    ) -> None:
        # The asserts to emit (numbers in the Schematron's order); None: every one.
        self.only = only
        self.namespaces = dict(namespaces)
        self.functions = dict(functions)
        self.asserts: list[Assertion] = []
        self.out: list[str] = []
        # Absolute //name walks, each computed once per document as a global variable.
        self.walks: dict[str, str] = {}
        # lets whose value is a literal or a literal list (code lists): put in place
        self.constants: dict[str, Node] = {}
        # Each rule's for-each (its place in out), context pattern and excluded tests.
        self.contexts: list[tuple[int, str, list[str]]] = []
        # Value indexes: child test (``cbc:ID``) -> the element names indexed by it.
        self.value_keys: dict[str, list[str]] = {}

    def check(self, xpath: str) -> None:
        etree.XPath(xpath, namespaces=self.namespaces)

    def hoisted(self, items: list[Hoisted]) -> None:
        for h in items:
            member = "number(.)" if h.numeric else "."
            self.out.append(f'<xsl:variable name="{h.name}"><xsl:for-each select="{_attr(h.seq)}">')
            self.out.append(f'<xsl:variable name="{h.var}" select="{member}"/>')
            self.hoisted(h.inner)
            cond = f"not({h.cond})" if h.kind == "every" else h.cond
            for total, name in _repeated_sums(cond, f"{h.name}s"):
                self.out.append(f'<xsl:variable name="{name}" select="{_attr(total)}"/>')
                cond = cond.replace(total, f"${name}")
            self.out.append(
                f'<xsl:if test="{_attr(cond)}">x</xsl:if></xsl:for-each></xsl:variable>'
            )

    def opening(self, select: str, excluded: list[str]) -> str:
        """A rule's ``xsl:for-each`` over its context nodes, leaving out ``excluded``."""
        select = _BY_VALUE.sub(self._by_value, select)
        if excluded:
            select = f"({select})[not({' or '.join(excluded)})]"
        self.check(select)
        return f'<xsl:for-each select="{_attr(select)}">'

    def reselect(self) -> None:
        """Select again, from the parent's name index hit, the contexts whose last step is
        a leaf name under many parents in this Schematron (``ID``: dozens of hits in an
        invoice, each tested against the whole context, where its parent has a few).

        Leaf: the name is never a parent step of a context; many: at least
        :data:`_SHARED_PARENTS` different parent names.
        """
        parents: dict[str, set[str]] = {}
        inner: set[str] = set()
        for _opening, xpath, _excluded in self.contexts:
            for steps in _context(xpath).alternatives:
                inner.update(name.rpartition(":")[2] for _sep, name, _preds in steps[:-1])
                if (parent := _parent_local(list(steps))) is not None:
                    parents.setdefault(steps[-1][1].rpartition(":")[2], set()).add(parent)
        shared = frozenset(
            n for n, p in parents.items() if len(p) >= _SHARED_PARENTS and n not in inner
        )
        if not shared:
            return
        for opening, xpath, excluded in self.contexts:
            this = _context(xpath, shared)
            bound = '<xsl:variable name="ctx" select="."/>'
            suffix = bound if self.out[opening].endswith(bound) else ""
            self.out[opening] = self.opening(this.select, excluded) + suffix

    def value_key(self, element: str, child: str) -> str:
        """The name of the index of ``element`` nodes by ``normalize-space(child)``."""
        names = self.value_keys.setdefault(child, [])
        if element not in names:
            names.append(element)
        return f"ff-v{list(self.value_keys).index(child)}"

    def _by_value(self, found: re.Match[str]) -> str:
        element, child, value = found["element"], found["child"], found["value"]
        return (
            f"key('{self.value_key(element, child)}', '{value}')"
            f"[self::{element}[normalize-space({child}) = '{value}']"
        )

    def walk_by_value(self, select: str) -> str:
        """A global ``$ffwK[normalize-space(c) = 'v']…`` or ``$ffwK/e[normalize-space(c) =
        'v']…`` taken from a value index instead of testing every node of ``$ffwK``.

        Exact: the index holds every ``e`` element under its ``normalize-space(c)`` (the
        same string the predicate compares), in document order; ``$ffwK``'s own selection
        (a name index hit, then boolean predicates, see :meth:`_resolve`) becomes a test of
        the node or of its parent; the predicates after it are boolean, so they see the
        same nodes whatever the positions.
        """
        found = _VALUE_WALK.fullmatch(select)
        if found is None or not _boolean_predicates(found["rest"]):
            return select
        base = self._resolve(found["walk"])
        if base is None:
            return select
        element, preds = base
        child, value, rest = found["child"], found["value"], found["rest"]
        if found["step"] is None:
            key = self.value_key(element, child)
            return f"key('{key}', '{value}')[self::{element}]{preds}{rest}"
        step = found["step"]
        key = self.value_key(step, child)
        return f"key('{key}', '{value}')[self::{step}][parent::{element}{preds}]{rest}"

    def _resolve(self, walk: str, depth: int = 0) -> tuple[str, str] | None:
        """``$ffwK`` as (element name, boolean predicates) when it is the name index's hit
        for one element name, filtered only by boolean predicates; else None."""
        select = next((s for s, n in self.walks.items() if n == walk), None)
        if select is None or depth > 8:
            return None
        direct = _NAME_HIT.fullmatch(select)
        if direct is not None:
            return direct["element"], ""
        chained = re.fullmatch(r"\$(ffw\d+)(\[.*\])", select, re.S)
        if chained is None or not _boolean_predicates(chained[2]):
            return None
        base = self._resolve(chained[1], depth + 1)
        return None if base is None else (base[0], base[1] + chained[2])

    def let(self, name: str, value: str, prefix: str) -> None:
        constant = constant_value(value, self.constants)
        if constant is not None:
            self.constants[name] = constant
            return
        t = translate(
            value,
            prefix=prefix,
            functions=self.functions,
            walks=self.walks,
            constants=self.constants,
        )
        if t.hoisted:
            raise UntranslatableError("quantifier in a let")
        self.check(t.xpath)
        self.out.append(f'<xsl:variable name="{name}" select="{_attr(t.xpath)}"/>')

    def rule(
        self, earlier: list[_Context], rule: etree._Element, lets: list[etree._Element]
    ) -> None:
        """One rule: its context nodes selected (from the name index), its asserts at each.

        Within a pattern a node is the context of the first rule that matches it only, so
        the nodes an earlier rule of the pattern may match are left out.
        """
        context = rule.get("context", "")
        match = translate(context, functions=self.functions, pattern=True, constants=self.constants)
        if match.hoisted:
            raise UntranslatableError(f"quantifier in rule context {context!r}")
        this = _context(match.xpath)
        excluded = [e.test for e in earlier if e.overlaps(this)]
        earlier.append(this)
        if self.only is not None:
            first = len(self.asserts)
            tests = [n for n in rule if n.tag in (f"{{{SCH}}}assert", f"{{{SCH}}}report")]
            if not any(first + k in self.only for k in range(len(tests))):
                # no assert of this rule here: its context still shadows later rules
                for node in tests:
                    self.asserts.append(_skipped(node, context))
                return
        opening = len(self.out)
        self.out.append(self.opening(this.select, excluded))
        self.contexts.append((opening, match.xpath, excluded))
        for n, let in enumerate([*lets, *rule.iterfind("s:let", _S)]):
            self.let(let.get("name", ""), let.get("value", ""), f"l{n}")
        failing: list[tuple[int, str]] = []
        for node in rule:
            if node.tag not in (f"{{{SCH}}}assert", f"{{{SCH}}}report"):
                continue
            number = len(self.asserts)
            test = node.get("test", "")
            report = node.tag == f"{{{SCH}}}report"
            if self.only is not None and number not in self.only:
                self.asserts.append(_skipped(node, context))
                continue
            common = {
                "rule": node.get("id", ""),
                "flag": node.get("flag", "fatal") or "fatal",
                "text": _message(node),
                "context": context,
                "test": test,
            }
            try:
                t = translate(
                    test,
                    prefix=f"a{number}q",
                    functions=self.functions,
                    walks=self.walks,
                    constants=self.constants,
                )
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
            any_fails = _any_fails([fails for _number, fails in failing])
            each = f'<xsl:if test="{_attr(any_fails)}">{each}</xsl:if>'
        self.out.append(each)
        self.out.append("</xsl:for-each>")
        # The rule's context as $ctx only where a quantifier's body needs it: binding a
        # variable at each context node costs about as much as a simple assert.
        if any("$ctx" in part for part in self.out[opening + 1 :]):
            self.out[opening] += '<xsl:variable name="ctx" select="."/>'


def _skipped(node: etree._Element, context: str) -> Assertion:
    """An assert left out of this stylesheet (another engine tests it)."""
    return Assertion(
        node.get("id", ""),
        node.get("flag", "fatal") or "fatal",
        _message(node),
        context,
        node.get("test", ""),
        "",
        "tested elsewhere",
    )


Step3 = tuple[str, str, str]  # (separator before: "", "/" or "//"; name test; predicates)


_BY_VALUE = re.compile(
    r"key\('ff-names', '(?P<local>[\w.-]+)'\)"
    r"\[self::(?P<element>[\w.-]+:(?P=local))"
    r"\[normalize-space\((?P<child>[\w.-]+:[\w.-]+)\) = '(?P<value>[^']*)'\]"
)
_VALUE_WALK = re.compile(
    r"\$(?P<walk>ffw\d+)(?:/(?P<step>[\w.-]+:[\w.-]+))?"
    r"\[normalize-space\((?P<child>[\w.-]+:[\w.-]+)\) = '(?P<value>[^']*)'\](?P<rest>.*)",
    re.S,
)
_NAME_HIT = re.compile(
    r"key\('ff-names', '(?P<local>[\w.-]+)'\)\[self::(?P<element>[\w.-]+:(?P=local))\]"
)


_DESCENDANTS = re.compile(
    r"(?:(?<=^)|(?<=\()|(?<=\| ))//([A-Za-z_][\w.-]*):([A-Za-z_][\w.-]*)(?=\)| \||/|$)"
)


def _descendants_by_name(select: str) -> str:
    """``//p:name`` (every such element, in document order) taken from the name index:
    ``key('ff-names', 'name')[self::p:name]`` holds the same elements in the same order,
    without a walk of the whole document. Only where no predicate follows the step (a
    position would count differently) and the expression has no string literal."""
    if "'" in select or '"' in select:
        return select
    return _DESCENDANTS.sub(lambda m: f"key('ff-names', '{m[2]}')[self::{m[1]}:{m[2]}]", select)


def _boolean_predicates(preds: str) -> bool:
    """Whether ``preds`` is a run of predicates whose value is a boolean (a comparison,
    ``and``/``or``, ``boolean(…)``, ``not(…)``) that never asks for a position: their truth
    at a node does not depend on the node's position in the set filtered."""
    groups = _groups(preds)
    return (
        preds == "".join(f"[{g}]" for g in groups)
        and all(_is_boolean(g) for g in groups)
        and "position()" not in preds
        and "last()" not in preds
    )


_BOOLEAN_OPERATORS = (" or ", " and ", " = ", " != ", " < ", " > ", " <= ", " >= ")


def _is_boolean(expr: str) -> bool:
    """Whether ``expr`` (XPath 1.0) is a boolean at its top level, never a number."""
    expr = expr.strip()
    if len(_split(expr, _BOOLEAN_OPERATORS)) > 1:
        return True
    call = re.match(r"(boolean|not|true|false)\(", expr)
    return call is not None and _closes_at_end(expr, call.end() - 1)


def _repeated_sums(xpath: str, prefix: str) -> list[tuple[str, str]]:
    """The ``sum(...)`` calls written more than once in ``xpath``, each with a variable name.

    A quantifier's body (``every $rate in … satisfies T - 1 < sum(…) and T + 1 > sum(…)``,
    BR-S-08 and its siblings) repeats the same sums over the lines; bound once to a variable
    each is evaluated once. Exact: a sum has no side effect and cannot fail in XPath 1.0, so
    evaluating it before the test, where the test might have skipped it, changes no result.
    Longest first, so a sum inside another is replaced inside the longer one's text only
    after the longer one is bound.
    """
    found: Counter[str] = Counter()
    for start in (m.start() for m in re.finditer(r"(?<![\w.:-])sum\(", xpath)):
        end = _closing(xpath, start + len("sum"))
        if end is not None:
            found[xpath[start : end + 1]] += 1
    repeated = sorted((s for s, n in found.items() if n > 1), key=len, reverse=True)
    outer = [s for s in repeated if not any(s in other for other in repeated if other != s)]
    return [(s, f"{prefix}{n}") for n, s in enumerate(outer)]


def _closing(text: str, opening: int) -> int | None:
    """Where the bracket opened at ``opening`` closes (outside quotes), or None."""
    depth, quote = 0, ""
    for i in range(opening, len(text)):
        ch = text[i]
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
            if depth == 0:
                return i
    return None


def _any_fails(failing: list[str]) -> str:
    """One test that is true when any of ``failing`` is, cheapest first.

    An assert ``not(a/b/x:c)`` can only fail when the document holds an element named
    ``c``: such tests are grouped by that name behind one look-up in the name index, so
    the paths of the (many) asserts forbidding elements that are absent are not walked.
    """
    needs = [_needs_element(fails) for fails in failing]
    # Any named step of the path is a valid guard: take the one fewest paths name (the
    # forbidden leaf is mostly absent; a common name such as ID is mostly present).
    seen = Counter(name for names in needs for name in names)
    by_name: dict[str, list[str]] = {}
    rest: list[str] = []
    for fails, names in zip(failing, needs, strict=True):
        if not names:
            rest.append(fails)
        else:
            name = min(reversed(names), key=seen.__getitem__)
            by_name.setdefault(name, []).append(fails)
    guarded = [
        f"(key('ff-names', '{name}') and ({' or '.join(f'({f})' for f in group)}))"
        for name, group in by_name.items()
    ]
    return " or ".join([*guarded, *(f"({f})" for f in rest)])


_NAME = re.compile(r"(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)")
_FIRST = re.compile(r"\$ffw\d+|\((?:[A-Za-z_][\w.:-]*)(?: \| [A-Za-z_][\w.:-]*)*\)")


def _name_step(step: str) -> str | None:
    """The local name of a step ``p:name[...]...`` (only predicates after the name)."""
    found = _NAME.match(step)
    if found is None:
        return None
    rest = step[found.end() :]
    if rest != "".join(f"[{g}]" for g in _groups(rest)):
        return None
    return found.group(1)


def _needs_element(fails: str) -> list[str]:
    """For ``not(not(P))``, P a path of named child steps: the element steps' local names.

    P can only select something when the document holds an element of each name; empty
    when ``fails`` is not of that form.
    """
    if not (fails.startswith("not(not(") and _closes_at_end(fails, 3)):
        return []
    path = fails[len("not(not(") : -2]
    if not _closes_at_end("(" + path + ")", 0) or len(_split(path, ("|",))) != 1:
        return []
    steps = [step.strip() for step in _split(path, ("/",))[::2]]
    if steps[-1].startswith("@"):
        if _name_step(steps[-1][1:]) is None:
            return []
        steps = steps[:-1]
    if not steps:
        return []
    first = _FIRST.match(steps[0])
    if (
        first is not None
        and len(steps) > 1
        and steps[0][first.end() :] == "".join(f"[{g}]" for g in _groups(steps[0][first.end() :]))
    ):
        steps = steps[1:]
    names = [_name_step(step) for step in steps]
    return [] if None in names else [name for name in names if name is not None]


@dataclass(frozen=True, slots=True)
class _Context:
    """A rule context (an XSLT match pattern) as a selection and as a test of one node.

    Attributes:
        select: every node the pattern matches, in document order (elements named in a
            step come from the ``ff-names`` index, not a walk of the document).
        test: true at a node the pattern matches.
        alternatives: each ``|`` alternative's steps.
    """

    select: str
    test: str
    alternatives: tuple[tuple[Step3, ...], ...]

    def overlaps(self, other: _Context) -> bool:
        """Whether a node may match both (unless provably disjoint, see :func:`_disjoint`)."""
        return any(not _disjoint(a, b) for a in self.alternatives for b in other.alternatives)


def _disjoint(a: tuple[Step3, ...], b: tuple[Step3, ...]) -> bool:
    """Whether no node can match both step sequences (checked from the last step upwards).

    Proven only from: name tests that differ; a wildcard that requires a name suffix
    (``ends-with(name(), 'Amount')``) another name or suffix cannot have; predicates
    ``f(...) = 'x'`` / ``. = 'x'`` (one string) with different literals; the same proofs
    for parents while both steps are joined by ``/``.
    """
    i, j = len(a) - 1, len(b) - 1
    while i >= 0 and j >= 0:
        (sep_a, name_a, preds_a), (sep_b, name_b, preds_b) = a[i], b[j]
        if name_a.startswith("@") != name_b.startswith("@"):
            return True
        local_a, local_b = name_a.rpartition(":")[2], name_b.rpartition(":")[2]
        if "*" not in (local_a, local_b) and local_a != local_b:
            return True
        suffix_a, suffix_b = _suffix(local_a, preds_a), _suffix(local_b, preds_b)
        if (
            suffix_a is not None
            and suffix_b is not None
            and not (suffix_a.endswith(suffix_b) or suffix_b.endswith(suffix_a))
        ):
            return True
        values_a, values_b = _values(preds_a), _values(preds_b)
        if any(e in values_b and values_b[e] != v for e, v in values_a.items()):
            return True
        if sep_a != "/" or sep_b != "/" or i == 0 or j == 0:
            return False
        i, j = i - 1, j - 1
    return False


_ENDS_WITH = re.compile(
    r"\(substring\(name\(\.\), string-length\(name\(\.\)\) - string-length\('([\w.-]+)'\) \+ 1\)"
    r" = '\1'\)"
)


def _suffix(local: str, preds: str) -> str | None:
    """The name suffix a step requires: its local name, or a wildcard's ``ends-with``.

    A wildcard requires one when its first predicate has no ``or`` and starts with the
    translated ``ends-with(name(), 'x')`` as its first conjunct.
    """
    if local != "*":
        return local
    groups = _groups(preds)
    if not groups or " or " in groups[0]:
        return None
    found = _ENDS_WITH.match("(" + groups[0].lstrip("("))
    return found.group(1) if found is not None else None


def _groups(preds: str) -> list[str]:
    """The bodies of the top-level ``[...]`` predicates of a step."""
    out: list[str] = []
    depth, quote, start = 0, "", 0
    for i, ch in enumerate(preds):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([":
            if depth == 0 and ch == "[":
                start = i + 1
            depth += 1
        elif ch in ")]":
            depth -= 1
            if depth == 0 and ch == "]":
                out.append(preds[start:i])
    return out


_ONE_STRING = re.compile(r"(?:normalize-space|string|translate|substring)\(.*\)")


def _closes_at_end(text: str, opening: int) -> bool:
    """Whether the bracket opened at ``opening`` closes at the end of ``text``."""
    depth, quote = 0, ""
    for i in range(opening, len(text)):
        ch = text[i]
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
            if depth == 0:
                return i == len(text) - 1
    return False


def _values(preds: str) -> dict[str, str]:
    """Predicates ``expr = 'literal'`` whose ``expr`` is one string (a call, or ``.``)."""
    out: dict[str, str] = {}
    for body in _groups(preds):
        cut = _split(body, (" = ",))
        if len(cut) != 3:
            continue
        expr, literal = cut[0].strip(), cut[2].strip()
        one = expr == "." or (
            _ONE_STRING.fullmatch(expr) is not None and _closes_at_end(expr, expr.index("("))
        )
        if one and re.fullmatch(r"'[^']*'", literal):
            out[expr] = literal
    return out


def _split(text: str, separators: tuple[str, ...]) -> list[str]:
    """``text`` cut at the top-level separators (outside brackets and quotes), kept in."""
    out: list[str] = []
    depth, quote, start, i = 0, "", 0, 0
    while i < len(text):
        ch = text[i]
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif depth == 0:
            for sep in separators:
                if text.startswith(sep, i):
                    out.append(text[start:i])
                    out.append(sep)
                    i += len(sep)
                    start = i
                    break
            else:
                i += 1
            continue
        i += 1
    out.append(text[start:])
    return out


_NAME_TEST = re.compile(r"(@?)((?:[\w.-]+:)?(?:[\w.-]+|\*))(.*)", re.S)


def _context(pattern: str, shared: frozenset[str] = frozenset()) -> _Context:
    """The selection and node test of an XSLT 1.0 match pattern (child/attribute steps).

    A last step named in ``shared`` (a leaf name under many parents, such as ``ID``) is
    selected from its parent's name index hit when the parent is a named step.
    """
    selects: list[str] = []
    tests: list[str] = []
    alternatives: list[tuple[Step3, ...]] = []
    # alternatives selected as key('ff-names', local)[self::name preds anchor]: their
    # place in selects, by (local, name, preds), with the anchor (parent conditions)
    by_key: dict[tuple[str, str, str], list[tuple[int, str]]] = {}
    for alternative in _split(pattern, ("|",))[::2]:
        parts = [p.strip() for p in _split(alternative.strip(), ("//", "/"))]
        root = ""
        if parts[0] == "" and len(parts) > 1:
            root, parts = parts[1], parts[2:]
        steps: list[tuple[str, str, str]] = []  # (separator before, name test, predicates)
        sep = root
        for i, part in enumerate(parts):
            if i % 2:
                sep = part
                continue
            found = _NAME_TEST.fullmatch(part)
            if found is None or (found.group(3) and not found.group(3).startswith("[")):
                raise UntranslatableError(f"rule context step {part!r}")
            if found.group(1) and i != len(parts) - 1:
                raise UntranslatableError(f"attribute step inside rule context {pattern!r}")
            steps.append((sep, found.group(1) + found.group(2), found.group(3)))
        # The node test, from the last step up through its parents or ancestors.
        cond = ""
        for n, (before, name, preds) in enumerate(steps):
            anchor = "[not(parent::*)]" if n == 0 and before == "/" else ""
            if n:
                axis = "parent" if before == "/" else "ancestor"
                anchor += f"[{axis}::{cond}]"
            cond = f"{name}{preds}{anchor}"
        last = steps[-1][1]
        alternatives.append(tuple(steps))
        if last.startswith("@"):
            attr = last[1:]
            rest = cond[len(last) :]
            test = f"self::node()[count(. | ../@{attr}) = count(../@{attr})]{rest}"
            select = f"//@{attr}{rest}"
        else:
            test = f"self::{cond}"
            prefix, _, local = last.rpartition(":")
            if root == "/" and all(b == "/" for b, _n, _p in steps):
                select = alternative.strip()  # absolute child steps: as cheap as they come
            elif local in shared and prefix and (parent := _parent_local(steps)) is not None:
                # From the parent's name index hit down one step: a common name (ID) has
                # many hits to test, its parent few. Every node the test accepts has a
                # parent of that local name, so it is among the parent hits' children.
                select = f"key('ff-names', '{parent}')/{last}[{test}]"
            elif local != "*" and prefix:
                select = f"key('ff-names', '{local}')[{test}]"
                if anchor:
                    by_key.setdefault((local, last, steps[-1][2]), []).append(
                        (len(selects), anchor)
                    )
            elif (suffix := _suffix(local, steps[-1][2])) is not None:
                # ends-with(name(), 'x'): x holds no ':', so it is within the local name
                select = f"/descendant::*[contains(local-name(), '{suffix}')][{test}]"
            else:
                select = f"/descendant::*[{test}]"
        selects.append(select)
        tests.append(test)
    # Alternatives differing only in their parents (a line's X under cac:InvoiceLine or
    # cac:CreditNoteLine) as one selection: the node's own predicates are tested once.
    # Exact: each anchor is one boolean test of the node itself (its parent's or an
    # ancestor's conditions), so K[self::x[p][a1]] | K[self::x[p][a2]] is
    # K[self::x[p][a1 or a2]].
    for (local, name, preds), places in by_key.items():
        if len(places) < 2:
            continue
        either = " or ".join(f"({' and '.join(_groups(anchor))})" for _place, anchor in places)
        first = places[0][0]
        selects[first] = f"key('ff-names', '{local}')[self::{name}{preds}[{either}]]"
        for place, _anchor in places[1:]:
            selects[place] = ""
    selects = [select for select in selects if select]
    return _Context(" | ".join(selects), " or ".join(f"({t})" for t in tests), tuple(alternatives))


_SHARED_PARENTS = 3


def _parent_local(steps: list[tuple[str, str, str]]) -> str | None:
    """The local name of the last step's parent step, when the two are joined by ``/``
    and the parent is a named element; else None."""
    if len(steps) < 2 or steps[-1][0] != "/":
        return None
    prefix, _, local = steps[-2][1].rpartition(":")
    if not prefix or local == "*" or steps[-2][1].startswith("@"):
        return None
    return local


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
    only: Collection[int] | None = None,
) -> CompiledSchematron:
    """Compile the (include-free) Schematron at ``path`` into an XSLT 1.0 stylesheet.

    ``functions`` maps the Schematron's own XPath functions (``u:gln``) to extension
    functions registered under :data:`EXTENSIONS_NS` (``ff:gln``). Asserts whose XPath 2.0
    cannot be translated are kept in the result with the reason, and left out of the sheet.
    With ``only``, the sheet tests only the asserts of those numbers (their order in the
    Schematron); the others are listed with an empty ``xpath`` and the reason "tested elsewhere".
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    schema = etree.parse(str(path), parser).getroot()
    namespaces = {ns.get("prefix", ""): ns.get("uri", "") for ns in schema.iterfind("s:ns", _S)}
    all_ns = {**namespaces, **_FIXED_NS}
    writer = _Writer(all_ns, functions or {}, only)
    globals_: list[str] = []
    for n, let in enumerate(schema.iterfind("s:let", _S)):
        before = len(writer.out)
        writer.let(let.get("name", ""), let.get("value", ""), f"g{n}")
        globals_.extend(writer.out[before:])
        del writer.out[before:]
    for pattern in schema.iterfind("s:pattern", _S):
        if phase_filter is not None and not phase_filter(pattern):
            continue
        # A pattern's lets are global variables (as the ISO skeleton writes them): evaluated
        # at the document, and visible in the rule contexts.
        for n, let in enumerate(pattern.iterfind("s:let", _S), start=len(globals_)):
            before = len(writer.out)
            writer.let(let.get("name", ""), let.get("value", ""), f"p{n}")
            globals_.extend(writer.out[before:])
            del writer.out[before:]
        earlier: list[_Context] = []
        for rule in pattern.iterfind("s:rule", _S):
            writer.rule(earlier, rule, [])
    writer.reselect()
    walks = "".join(
        f'<xsl:variable name="{name}" '
        f'select="{_attr(_descendants_by_name(writer.walk_by_value(select)))}"/>'
        for select, name in writer.walks.items()
    )
    value_keys = "".join(
        f'<xsl:key name="ff-v{n}" match="{_attr(" | ".join(names))}" '
        f'use="normalize-space({_attr(child)})"/>'
        for n, (child, names) in enumerate(writer.value_keys.items())
    )
    declarations = " ".join(f'xmlns:{p}="{_attr(u)}"' for p, u in all_ns.items() if p)
    prefixes = " ".join(p for p in all_ns if p)
    # libxslt builds every declared key of a document at the first key() call: a sheet
    # declares only the indexes its rules use (a reduced sheet may use neither)
    used = walks + "".join(globals_) + "".join(writer.out)
    xslt = (
        f'<xsl:stylesheet version="1.0" xmlns:xsl="{XSL}" {declarations} '
        f'exclude-result-prefixes="{prefixes}"><xsl:output method="text"/>'
        + walks
        + "".join(globals_)
        + ('<xsl:key name="ff-names" match="*" use="local-name()"/>' if "ff-names" in used else "")
        + (
            '<xsl:key name="ff-attributes" match="@*" use="local-name()"/>'
            if "ff-attributes" in used
            else ""
        )
        + value_keys
        + '<xsl:template match="/">'
        + "".join(writer.out)
        + "</xsl:template>"
        + _LOCATION
        + "</xsl:stylesheet>"
    )
    return CompiledSchematron(tuple(writer.asserts), xslt, namespaces)
