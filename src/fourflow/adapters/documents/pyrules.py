"""The business rules compiled to Python: each rule context and assert of the official
Schematron, from its XPath 2.0 syntax tree (:mod:`fourflow.adapters.documents.xpath2`), as
direct Python over an index of the parsed tree built in one pass per document.

Generated once per rule set and process (one module of Python source, compiled with
``compile()``). Values follow XPath 2.0 as Saxon computes them: nodes atomize to untyped
strings, ``xs:decimal`` is :class:`decimal.Decimal` (exact), untyped values in arithmetic and
``number()`` are doubles, general comparisons are existential with XPath 2.0's type promotion.
An assert whose evaluation meets a dynamic error (a failed cast) does not hold.

What the generator does not render (a construct, function or axis outside the subset it
knows) is left to the XSLT engine (:mod:`fourflow.adapters.documents.schematron`), assert by
assert: :attr:`PythonRules.fallback` lists those asserts; a rule context the generator cannot
match sends its whole pattern to the XSLT (first-match order within a pattern needs every
rule of it in one engine).

Experimental: on the EN 16931 UBL example it takes about 2.3 times the XSLT engine's CPU per
invoice (docs/formats/business-rules.md, "2026-12-07: a Python backend"), so
:class:`fourflow.adapters.documents.business_rules.RuleEngine` runs it only when asked
(``backend="python"``); the tests hold it to the XSLT engine's verdicts.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

from lxml import etree

from fourflow.adapters.documents import peppol_functions as pf
from fourflow.adapters.documents.xpath2 import (
    Bin,
    Call,
    Cast,
    Ctx,
    Filter,
    For,
    If,
    Lit,
    Neg,
    Node,
    Num,
    Path,
    Quant,
    Seq,
    Step,
    UntranslatableError,
    Var,
    _fold,
    _uses_position,
    constant_value,
    parse,
)

__all__ = ["PythonRules", "RuleAssert", "compile_rules"]

SCH = "http://purl.oclc.org/dsdl/schematron"
_S = {"s": SCH}


class Unsupported(UntranslatableError):  # noqa: N818 - a kind of UntranslatableError
    """A construct the Python generator leaves to the XSLT engine."""


class DynamicError(Exception):
    """An XPath 2.0 dynamic error (a failed cast): the assert does not hold."""


# --- runtime -----------------------------------------------------------------------------


class Attr:
    """An attribute node: its element, name and value."""

    __slots__ = ("name", "parent", "value")

    def __init__(self, parent: etree._Element, name: str, value: str) -> None:
        self.parent = parent
        self.name = name
        self.value = value


_STRING = etree.XPath("string()")
_WS = re.compile(r"[ \t\r\n]+")


def sv(node: Any) -> str:
    """The string value of a node."""
    if type(node) is Attr:
        return node.value
    if type(node) is DocNode:
        return sv(node.root)
    if len(node) == 0:
        text = node.text
        return "" if text is None else text
    return str(_STRING(node))


def s1(nodes: list[Any]) -> str:
    """The string value of the first node, '' for none."""
    return sv(nodes[0]) if nodes else ""


def ns(text: str) -> str:
    """``normalize-space``."""
    if text.isascii():
        return " ".join(text.split())
    return _WS.sub(" ", text).strip(" ")


_DEC = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_DBL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_NAN = float("nan")


def dec(text: str) -> Decimal:
    """``xs:decimal`` of a string (an error unless its lexical form is a decimal)."""
    text = text.strip(" \t\r\n")
    if _DEC.fullmatch(text) is None:
        raise DynamicError(text)
    return Decimal(text)


def decn(value: Any) -> Decimal | None:
    """``xs:decimal`` of a number (None: the empty sequence)."""
    if value is None or type(value) is Decimal:
        return value
    if type(value) is bool:
        return Decimal(int(value))
    if type(value) is float:
        if math.isnan(value) or math.isinf(value):
            raise DynamicError(value)
        return Decimal(value)
    if type(value) is str:
        return dec(value)
    return Decimal(value)


def dbl(text: str) -> float:
    """An untyped value as xs:double (an error unless it is a number's lexical form)."""
    t = text.strip(" \t\r\n")
    if _DBL.fullmatch(t) is not None:
        return float(t)
    special = {"INF": math.inf, "-INF": -math.inf, "NaN": _NAN}.get(t)
    if special is None:
        raise DynamicError(text)
    return special


def number(text: str) -> float:
    """``number()`` of a string: NaN when it is not a number."""
    return pf.number(text)


def num_of(value: Any) -> Any:
    """A number for ``number()``: a number unchanged (as double), None as NaN."""
    if value is None:
        return _NAN
    if type(value) is bool:
        return 1.0 if value else 0.0
    return float(value)


def arith(op: str, a: Any, b: Any) -> Any:
    """XPath 2.0 arithmetic (None: the empty sequence)."""
    if a is None or b is None:
        return None
    if type(a) is bool or type(b) is bool:
        raise DynamicError("arithmetic on a boolean")
    if type(a) is float or type(b) is float:
        x, y = float(a), float(b)
        if op == "+":
            return x + y
        if op == "-":
            return x - y
        if op == "*":
            return x * y
        if op == "div":
            if y == 0:
                if x == 0 or math.isnan(x):
                    return _NAN
                return math.copysign(math.inf, x) * math.copysign(1.0, y)
            return x / y
        if op == "mod":
            return pf.xmod(x, y)
        raise DynamicError(op)
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "div":
        if b == 0:
            raise DynamicError("division by zero")
        return Decimal(a) / Decimal(b)
    if op == "mod":
        if b == 0:
            raise DynamicError("modulo by zero")
        r = Decimal(a) % Decimal(b)
        return int(r) if type(a) is int and type(b) is int else r
    raise DynamicError(op)


def neg(a: Any) -> Any:
    return None if a is None else -a


def xround(a: Any) -> Any:
    if a is None:
        return None
    if type(a) is float:
        if math.isnan(a) or math.isinf(a):
            return a
        return float(math.floor(a + 0.5))
    if type(a) is int:
        return a
    return (a + Decimal("0.5")).to_integral_value(rounding=ROUND_FLOOR)


def xabs(a: Any) -> Any:
    return None if a is None else abs(a)


def xfloor(a: Any) -> Any:
    if a is None or type(a) is int:
        return a
    if type(a) is float:
        return a if math.isnan(a) or math.isinf(a) else float(math.floor(a))
    return a.to_integral_value(rounding=ROUND_FLOOR)


def xceiling(a: Any) -> Any:
    if a is None or type(a) is int:
        return a
    if type(a) is float:
        return a if math.isnan(a) or math.isinf(a) else float(math.ceil(a))
    return a.to_integral_value(rounding=ROUND_CEILING)


def numstr(a: Any) -> str:
    """The string of a number (XPath 2.0 canonical form)."""
    if a is None:
        return ""
    if type(a) is bool:
        return "true" if a else "false"
    if type(a) is int:
        return str(a)
    if type(a) is float:
        if math.isnan(a):
            return "NaN"
        if math.isinf(a):
            return "INF" if a > 0 else "-INF"
        if a == 0:
            return "-0" if math.copysign(1.0, a) < 0 else "0"
        if 1e-6 <= abs(a) < 1e6:
            text = repr(a)
            if "e" in text:
                text = format(Decimal(text), "f")
            return text[:-2] if text.endswith(".0") else text
        # scientific: one digit, a point, at least one more digit, E, the exponent
        sign, digits, exponent = Decimal(repr(a)).normalize().as_tuple()
        text = "".join(map(str, digits))
        power = len(text) - 1 + int(exponent)
        mantissa = text[0] + "." + (text[1:] or "0")
        return ("-" if sign else "") + f"{mantissa}E{power}"
    text = format(a, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def anystr(a: Any) -> str:
    """The string of an atomic value."""
    if type(a) is str:
        return a
    return numstr(a)


def ubool(text: str) -> bool:
    """An untyped value cast to xs:boolean."""
    t = text.strip(" \t\r\n")
    if t in ("true", "1"):
        return True
    if t in ("false", "0"):
        return False
    raise DynamicError(text)


def ebv_atoms(items: list[Any]) -> bool:
    """The effective boolean value of a sequence of atomic values."""
    if not items:
        return False
    if len(items) > 1:
        raise DynamicError("effective boolean value of several atomic values")
    a = items[0]
    if type(a) is str:
        return a != ""
    if type(a) is bool:
        return a
    if type(a) is float:
        return not (a == 0 or math.isnan(a))
    return bool(a != 0)


def ebv_num(a: Any) -> bool:
    if a is None:
        return False
    if type(a) is float:
        return not (a == 0 or math.isnan(a))
    return bool(a != 0)


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def numcmp(op: str, a: Any, b: Any) -> bool:
    """Numeric comparison (a decimal against a double compares as doubles)."""
    if type(a) is float or type(b) is float:
        a, b = float(a), float(b)
    return _OPS[op](a, b)


def first_dbl(nodes: list[Any]) -> float | None:
    return dbl(sv(nodes[0])) if nodes else None


def first_dec(nodes: list[Any]) -> Decimal | None:
    return dec(sv(nodes[0])) if nodes else None


def first_number(nodes: list[Any]) -> float:
    return number(sv(nodes[0])) if nodes else _NAN


def first_bool(nodes: list[Any]) -> bool:
    return ubool(sv(nodes[0])) if nodes else False


def opt1(a: Any) -> tuple[Any, ...]:
    return () if a is None else (a,)


def mcmp(op: str, a: Any, b: Any) -> bool:
    return a is not None and b is not None and numcmp(op, a, b)


def sum_nums(items: list[Any]) -> Any:
    if not items:
        return 0
    if any(type(i) is float for i in items):
        return sum(map(float, items))
    return sum(items)


def _pair(op: str, a: Any, ka: str, b: Any, kb: str) -> bool:
    """One pair of a general comparison: kinds U (untyped), S, M (number), B."""
    if ka == "U":
        if kb in ("U", "S"):
            return _OPS[op](a, b)
        if kb == "M":
            return numcmp(op, dbl(a), b)
        return _OPS[op](ubool(a), b)
    if kb == "U":
        return _pair(_FLIP[op], b, kb, a, ka)
    if ka == kb == "M":
        return numcmp(op, a, b)
    if ka == kb:
        return _OPS[op](a, b)
    raise DynamicError("comparison of different types")


_FLIP = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def kind_of(a: Any) -> str:
    t = type(a)
    if t is str:
        return "S"
    if t is bool:
        return "B"
    return "M"


def gcmp(op: str, xs: Iterable[Any], kx: str, ys: list[Any], ky: str) -> bool:
    """A general comparison: true if some pair compares true (kinds: U, S, M, B, or A for
    atoms of any kind)."""
    for x in xs:
        k1 = kind_of(x) if kx == "A" else kx
        for y in ys:
            if _pair(op, x, k1, y, kind_of(y) if ky == "A" else ky):
                return True
    return False


def vcmp(op: str, xs: list[Any], kx: str, ys: list[Any], ky: str) -> Any:
    """A value comparison (``eq`` ...): untyped compares as a string; None if a side is empty."""
    if not xs or not ys:
        return False
    if len(xs) > 1 or len(ys) > 1:
        raise DynamicError("value comparison of a sequence")
    kx = "S" if kx == "U" else (kind_of(xs[0]) if kx == "A" else kx)
    ky = "S" if ky == "U" else (kind_of(ys[0]) if ky == "A" else ky)
    return _pair(op, xs[0], kx, ys[0], ky)


def xsubstring(text: str, start: Any, length: Any = None) -> str:
    start = _NAN if start is None else float(start)
    if length is None:
        return pf.substring(text, start)
    return pf.substring(text, start, float(length))


def substring_after(a: str, b: str) -> str:
    i = a.find(b)
    return "" if i < 0 else a[i + len(b) :]


def substring_before(a: str, b: str) -> str:
    i = a.find(b)
    return "" if i < 0 else a[:i]


def translate_(a: str, b: str, c: str) -> str:
    table: dict[int, int | None] = {}
    for i, ch in enumerate(b):
        if ord(ch) not in table:
            table[ord(ch)] = ord(c[i]) if i < len(c) else None
    return a.translate(table)


_REGEX_CACHE: dict[str, re.Pattern[str]] = {}


def regex(pattern: str) -> re.Pattern[str]:
    """An XPath regular expression (the subset :func:`_regex_ok` admits) for Python's re."""
    found = _REGEX_CACHE.get(pattern)
    if found is None:
        out = []
        in_class = False
        i = 0
        while i < len(pattern):
            ch = pattern[i]
            if ch == "\\" and i + 1 < len(pattern):
                nxt = pattern[i + 1]
                if nxt == "s":
                    out.append(" \\t\\n\\r" if in_class else "[ \\t\\n\\r]")
                elif nxt == "S":
                    out.append("^ \\t\\n\\r" if in_class else "[^ \\t\\n\\r]")
                else:
                    out.append(pattern[i : i + 2])
                i += 2
                continue
            if ch == "[" and not in_class:
                in_class = True
            elif ch == "]" and in_class:
                in_class = False
            elif ch == "$" and not in_class:
                out.append("\\Z")
                i += 1
                continue
            out.append(ch)
            i += 1
        found = _REGEX_CACHE[pattern] = re.compile("".join(out))
    return found


def _regex_ok(pattern: str) -> bool:
    return not re.search(r"\\[pPiIcCwW]|-\[|\(\?|\{[^}]*,\}|\\[0-9]", pattern)


def loc(node: Any) -> str:
    """The node's path as the stylesheet's ``ff-loc`` writes it."""
    if type(node) is Attr:
        return loc(node.parent) + "/@" + node.name
    parts = []
    e = node
    while e is not None:
        name = qn(e)
        n = 1
        for s in e.itersiblings(preceding=True):
            if isinstance(s.tag, str) and qn(s) == name:
                n += 1
        parts.append(f"/{name}[{n}]")
        e = e.getparent()
    return "".join(reversed(parts))


def qn(e: etree._Element) -> str:
    """``name()`` of an element: its prefix as written, and its local name."""
    tag = e.tag
    local = tag[tag.rfind("}") + 1 :]
    prefix = e.prefix
    return f"{prefix}:{local}" if prefix else local


def name_of(nodes: list[Any]) -> str:
    if not nodes:
        return ""
    n = nodes[0]
    return n.name if type(n) is Attr else qn(n)


def local_name_of(nodes: list[Any]) -> str:
    if not nodes:
        return ""
    n = nodes[0]
    return n.name if type(n) is Attr else etree.QName(n).localname


def attrs(nodes: list[Any], name: str) -> list[Any]:
    out = []
    for p in nodes:
        if type(p) is not Attr:
            v = p.get(name)
            if v is not None:
                out.append(Attr(p, name, v))
    return out


def kids(nodes: list[Any], tag: str) -> list[Any]:
    if len(nodes) == 1:
        p = nodes[0]
        return [] if type(p) is Attr else list(p.iterchildren(tag))
    return [c for p in nodes if type(p) is not Attr for c in p.iterchildren(tag)]


def kids_any(nodes: list[Any]) -> list[Any]:
    return [c for p in nodes if type(p) is not Attr for c in p.iterchildren(etree.Element)]


class DocNode:
    """The document node (the parent of the root element), as ``..`` of the root reaches it."""

    __slots__ = ("root",)
    tag = "#document"

    def __init__(self, root: etree._Element) -> None:
        self.root = root

    def __len__(self) -> int:
        return 1

    def iterchildren(self, tag: Any = None) -> Iterable[Any]:
        if tag is None or tag is etree.Element or self.root.tag == tag:
            yield self.root

    def iterdescendants(self, tag: Any = None) -> Iterable[Any]:
        return self.root.iter(tag) if tag is not None else self.root.iter()

    def getparent(self) -> None:
        return None

    def get(self, _name: str) -> None:
        return None


def parents(nodes: list[Any]) -> list[Any]:
    out: list[Any] = []
    seen: set[int] = set()
    for n in nodes:
        if type(n) is DocNode:
            continue
        p = n.parent if type(n) is Attr else n.getparent()
        if p is None and type(n) is not Attr:
            if -1 not in seen:
                seen.add(-1)  # the document node, once
                out.append(DocNode(n))
            continue
        if p is not None and id(p) not in seen:
            seen.add(id(p))
            out.append(p)
    return out


def ancestors(nodes: list[Any], tag: str | None) -> list[Any]:
    out: list[Any] = []
    seen: set[int] = set()
    for n in nodes:
        p = n.parent if type(n) is Attr else n.getparent()
        while p is not None:
            if (tag is None or p.tag == tag) and id(p) not in seen:
                seen.add(id(p))
                out.append(p)
            p = p.getparent()
    return out


def selfs(nodes: list[Any], tag: str) -> list[Any]:
    return [n for n in nodes if type(n) is not Attr and n.tag == tag]


def descendants(nodes: list[Any], tag: str) -> list[Any]:
    if len(nodes) == 1:
        p = nodes[0]
        return [] if type(p) is Attr else list(p.iterdescendants(tag))
    out: list[Any] = []
    seen: set[int] = set()
    for p in nodes:
        if type(p) is Attr:
            continue
        for c in p.iterdescendants(tag):
            if id(c) not in seen:
                seen.add(id(c))
                out.append(c)
    return out


def concat_nodes(*lists: list[Any]) -> list[Any]:
    out: list[Any] = []
    for items in lists:
        out.extend(items)
    return out


# //@name, one compiled XPath per attribute name (libxml2 walks the tree in C)
_ATTRIBUTE_WALKS: dict[str, etree.XPath] = {}


class Doc:
    """One document's index: elements by tag (document order), tags present, attributes
    by name (on first use), document order (on first use)."""

    __slots__ = ("_attrs", "_order", "g", "gr", "ix", "m", "nm", "root", "tags")

    def __init__(self, root: etree._Element) -> None:
        self.root = root
        ix: dict[Any, list[Any]] = {}
        for e in root.iter():
            found = ix.get(e.tag)
            if found is None:
                ix[e.tag] = [e]
            else:
                found.append(e)
        self.ix = ix
        self.tags = set(ix)
        self._attrs: dict[str, list[Attr]] | None = None
        self._order: dict[int, int] | None = None
        self.g: dict[int, Any] = {}
        self.m: dict[int, Any] = {}
        self.nm: dict[tuple[int, Any], Any] = {}
        self.gr: dict[int, dict[str, list[Any]]] = {}

    def all_attrs(self, name: str) -> list[Attr]:
        if self._attrs is None:
            self._attrs = {}
        found = self._attrs.get(name)
        if found is None:
            select = _ATTRIBUTE_WALKS.get(name)
            if select is None:
                select = _ATTRIBUTE_WALKS[name] = etree.XPath(f"//@{name}")
            hits: Any = select(self.root)
            found = self._attrs[name] = [Attr(a.getparent(), name, str(a)) for a in hits]
        return found

    def elements(self) -> list[Any]:
        return [e for e in self.root.iter(etree.Element)]

    def union(self, a: list[Any], b: list[Any]) -> list[Any]:
        """``a | b``: without duplicates, in document order."""
        if not b and len(a) < 2:
            return a
        if not a and len(b) < 2:
            return b
        out: list[Any] = []
        seen: set[Any] = set()
        for n in (*a, *b):
            k = (id(n.parent), n.name) if type(n) is Attr else id(n)
            if k not in seen:
                seen.add(k)
                out.append(n)
        if len(out) > 1 and a and b:
            order = self.order()
            out.sort(
                key=lambda n: (order[id(n.parent)], 1) if type(n) is Attr else (order[id(n)], 0)
            )
        return out

    def suffixed(self, suffix: str) -> list[Any]:
        """The elements whose local name ends with ``suffix``, in document order."""
        return self.merged(
            *(
                found
                for tag, found in self.ix.items()
                if isinstance(tag, str) and tag[tag.rfind("}") + 1 :].endswith(suffix)
            )
        )

    def merged(self, *lists: list[Any]) -> list[Any]:
        """Elements of distinct names, each list in document order: all in document order."""
        full = [x for x in lists if x]
        if len(full) < 2:
            return full[0] if full else []
        order = self.order()
        out = [n for x in full for n in x]
        out.sort(key=lambda n: order[id(n)])
        return out

    def order(self) -> dict[int, int]:
        if self._order is None:
            self._order = {id(e): i for i, e in enumerate(self.root.iter())}
        return self._order


def _runtime() -> dict[str, Any]:
    """What the generated code may call: this module's functions, classes and Decimal."""
    return {
        name: value
        for name, value in globals().items()
        if not name.startswith("__") and (callable(value) or isinstance(value, type))
    }


# --- the generator -----------------------------------------------------------------------

# Static types: N nodes (list), E one node, S string, M number or None, B boolean,
# L atoms (list; kind in Gen.kinds: S, M, A)


@dataclass
class _Var:
    py: str
    type: str
    kind: str = "A"


class _Gen:
    def __init__(
        self,
        namespaces: Mapping[str, str],
        constants: dict[str, Node],
        globals_: dict[str, _Var],
    ) -> None:
        self.namespaces = namespaces
        self.constants = constants
        self.globals = globals_
        self.consts: list[Any] = []
        self.const_names: dict[tuple[str, Any], str] = {}
        self.tmp = 0
        self.memos: dict[str, int] = {}  # context-free code -> its slot in Doc.m
        self.hoisting: Node | None = None
        # node-dependent expressions: how often each is written (this pass, the pass before)
        self.node_counts: dict[str, int] = {}
        self.previous_counts: dict[str, int] = {}
        self.node_memos: dict[str, int] = {}
        self.groups: dict[tuple[str, str], int] = {}  # (node list, key function) -> slot
        self.functions: list[str] = []  # module-level functions (guarded asserts)

    def const(self, value: Any) -> str:
        key = (type(value).__name__, value if not isinstance(value, (list, set)) else repr(value))
        if isinstance(value, frozenset):
            key = ("frozenset", repr(sorted(value)))
        elif isinstance(value, dict):
            key = ("dict", repr(sorted(value.items())))
        found = self.const_names.get(key)
        if found is None:
            found = self.const_names[key] = f"K{len(self.consts)}"
            self.consts.append(value)
        return found

    def fresh(self, stem: str) -> str:
        self.tmp += 1
        return f"_{stem}{self.tmp}"

    def tag(self, test: str) -> str:
        if ":" in test:
            prefix, local = test.split(":", 1)
            if local == "*" or prefix not in self.namespaces:
                raise Unsupported(f"name test {test}")
            return "{" + self.namespaces[prefix] + "}" + local
        if test == "*":
            raise Unsupported("wildcard")
        return test

    # conversions --------------------------------------------------------------------
    def as_nodes(self, code: str, t: str) -> str:
        if t == "N":
            return code
        if t == "E":
            return f"[{code}]"
        raise Unsupported(f"{t} used as nodes")

    def as_bool(self, code: str, t: str) -> str:
        if t == "B":
            return code
        if t == "N":
            return f"bool({code})"
        if t == "E":
            return "True"
        if t == "S":
            return f"({code} != '')"
        if t == "M":
            return f"ebv_num({code})"
        return f"ebv_atoms({code})"

    def as_str(self, code: str, t: str) -> str:
        if t == "S":
            return code
        if t == "N":
            return f"s1({code})"
        if t == "E":
            return f"sv({code})"
        if t == "M":
            return f"numstr({code})"
        if t == "B":
            return f"('true' if {code} else 'false')"
        return f"(anystr({code}[0]) if {code} else '')"

    def as_num(self, code: str, t: str) -> str:
        """An operand of arithmetic: untyped nodes as doubles."""
        if t == "M":
            return code
        if t == "N":
            return f"first_dbl({code})"
        if t == "E":
            return f"dbl(sv({code}))"
        raise Unsupported(f"arithmetic on {t}")

    def as_atoms(self, code: str, t: str, kind: str = "A") -> tuple[str, str]:
        """(a Python iterable of atoms, their comparison kind)."""
        if t == "N":
            return f"map(sv, {code})", "U"
        if t == "E":
            return f"(sv({code}),)", "U"
        if t == "S":
            return f"({code},)", "S"
        if t == "B":
            return f"({code},)", "B"
        if t == "M":
            return f"opt1({code})", "M"
        return code, kind

    # expressions --------------------------------------------------------------------
    def expr(
        self, node: Node, env: dict[str, _Var], ctx: str, doc_ctx: bool = False
    ) -> tuple[str, str, str]:
        """(Python code, static type, atom kind for L); an expression that does not depend on
        the context (an absolute path, a function of such) is computed once per document."""
        if (
            not doc_ctx
            and node is not self.hoisting
            and isinstance(node, (Path, Call, Bin, Quant, Filter))
            and _has_absolute(node)
            and _free(node, set(env))
        ):
            outer, self.hoisting = self.hoisting, node
            try:
                code, t, k = self.expr(node, {}, "_none_")
            finally:
                self.hoisting = outer
            return self.memo(code), t, k
        if (
            not doc_ctx
            and node is not self.hoisting
            and isinstance(node, (Path, Call, Filter, Bin))
            and _steps_in(node) >= 2
            and _free(node, set(env), True)
        ):
            # depends on the context node only: once per node when written more than once
            outer, self.hoisting = self.hoisting, node
            try:
                code, t, k = self.expr(node, {}, "__CTX__")
            finally:
                self.hoisting = outer
            canonical = _canonical(code)
            self.node_counts[canonical] = self.node_counts.get(canonical, 0) + 1
            if self.previous_counts.get(canonical, 0) >= 2:
                slot = self.node_memos.setdefault(canonical, len(self.node_memos))
                return f"nmemo(D, {slot}, {ctx}, N{slot})", t, k
            return code.replace("__CTX__", ctx), t, k
        return self._expr(node, env, ctx, doc_ctx)

    def memo(self, code: str) -> str:
        found = self.memos.get(code)
        if found is None:
            found = self.memos[code] = len(self.memos)
        return f"memo(D, {found}, H{found})"

    def _expr(
        self, node: Node, env: dict[str, _Var], ctx: str, doc_ctx: bool = False
    ) -> tuple[str, str, str]:
        if isinstance(node, Lit):
            return self.const(node.value[1:-1].replace(node.value[0] * 2, node.value[0])), "S", "S"
        if isinstance(node, Num):
            value: Any = int(node.text) if node.text.isdigit() else Decimal(node.text)
            return self.const(value), "M", "M"
        if isinstance(node, Var):
            var = env.get(node.name) or self.globals.get(node.name)
            if var is None:
                raise Unsupported(f"variable ${node.name}")
            return var.py, var.type, var.kind
        if isinstance(node, Ctx):
            if doc_ctx:
                raise Unsupported("the document node as a value")
            return ctx, "E", "A"
        if isinstance(node, Seq):
            return self.seq(node, env, ctx, doc_ctx)
        if isinstance(node, Filter):
            if node.preds:
                return self.path(Path("", [("", node)]), env, ctx, doc_ctx)
            return self.expr(node.primary, env, ctx, doc_ctx)
        if isinstance(node, (Path, Step)):
            path = node if isinstance(node, Path) else Path("", [("", node)])
            return self.path(path, env, ctx, doc_ctx)
        if isinstance(node, Neg):
            code, t, _ = self.expr(node.operand, env, ctx, doc_ctx)
            return f"neg({self.as_num(code, t)})", "M", "M"
        if isinstance(node, Bin):
            return self.binary(node, env, ctx, doc_ctx)
        if isinstance(node, Call):
            return self.call(node, env, ctx, doc_ctx)
        if isinstance(node, Quant):
            return self.quant(node, env, ctx, doc_ctx)
        if isinstance(node, If):
            c, ct, _ = self.expr(node.cond, env, ctx, doc_ctx)
            a, at, ak = self.expr(node.then, env, ctx, doc_ctx)
            b, bt, bk = self.expr(node.other, env, ctx, doc_ctx)
            if at != bt or ak != bk:
                raise Unsupported("if with branches of different types")
            return f"({a} if {self.as_bool(c, ct)} else {b})", at, ak
        if isinstance(node, Cast):
            return self.cast(node, env, ctx, doc_ctx)
        if isinstance(node, For):
            raise Unsupported("for")
        raise Unsupported(type(node).__name__)

    def seq(self, node: Seq, env: dict[str, _Var], ctx: str, doc_ctx: bool) -> tuple[str, str, str]:
        if len(node.items) == 1:
            return self.expr(node.items[0], env, ctx, doc_ctx)
        if not node.items:
            return "[]", "N", "A"
        parts = [self.expr(i, env, ctx, doc_ctx) for i in node.items]
        if all(t in ("N", "E") for _c, t, _k in parts):
            return (
                "concat_nodes(" + ", ".join(self.as_nodes(c, t) for c, t, _k in parts) + ")",
                "N",
                "A",
            )
        if all(t in ("S", "M") and c.startswith("K") for c, t, _k in parts):
            values = [self.consts[int(c[1:])] for c, _t, _k in parts]
            kinds = {t for _c, t, _k in parts}
            return self.const(values), "L", (kinds.pop() if len(kinds) == 1 else "A")
        raise Unsupported("sequence of values")

    def binary(
        self, node: Bin, env: dict[str, _Var], ctx: str, doc_ctx: bool
    ) -> tuple[str, str, str]:
        op = node.op
        if op in ("and", "or"):
            a, at, _ = self.expr(node.left, env, ctx, doc_ctx)
            b, bt, _ = self.expr(node.right, env, ctx, doc_ctx)
            return f"({self.as_bool(a, at)} {op} {self.as_bool(b, bt)})", "B", "B"
        if op == "|":
            a, at, _ = self.expr(node.left, env, ctx, doc_ctx)
            b, bt, _ = self.expr(node.right, env, ctx, doc_ctx)
            return f"D.union({self.as_nodes(a, at)}, {self.as_nodes(b, bt)})", "N", "A"
        if op in ("+", "-", "*", "div", "mod"):
            a, at, _ = self.expr(node.left, env, ctx, doc_ctx)
            b, bt, _ = self.expr(node.right, env, ctx, doc_ctx)
            return f"arith({op!r}, {self.as_num(a, at)}, {self.as_num(b, bt)})", "M", "M"
        if op in ("=", "!=", "<", "<=", ">", ">="):
            return self.compare(op, node.left, node.right, env, ctx, doc_ctx), "B", "B"
        if op in ("eq", "ne", "lt", "le", "gt", "ge"):
            value_op = {"eq": "=", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}[op]
            a, at, ak = self.expr(node.left, env, ctx, doc_ctx)
            b, bt, bk = self.expr(node.right, env, ctx, doc_ctx)
            xa, ka = self.as_atoms(a, at, ak)
            xb, kb = self.as_atoms(b, bt, bk)
            return f"vcmp({value_op!r}, list({xa}), {ka!r}, list({xb}), {kb!r})", "B", "B"
        raise Unsupported(f"operator {op}")

    def compare(
        self, op: str, left: Node, right: Node, env: dict[str, _Var], ctx: str, doc_ctx: bool
    ) -> str:
        a, at, ak = self.expr(left, env, ctx, doc_ctx)
        b, bt, bk = self.expr(right, env, ctx, doc_ctx)
        # fast forms: nodes or a string against one string; numbers against numbers
        if at == "S" and bt == "S":
            return f"({a} {op if op != '=' else '=='} {b})"
        if at == "M" and bt == "M":
            return f"mcmp({op!r}, {a}, {b})"
        if at in ("N", "E") and bt == "S" and op in ("=", "!="):
            pyop = "==" if op == "=" else "!="
            if at == "E":
                return f"(sv({a}) {pyop} {b})"
            v = self.fresh("v")
            return f"any(sv({v}) {pyop} {b} for {v} in {a})"
        if at == "S" and bt in ("N", "E") and op in ("=", "!="):
            return self.compare(op, right, left, env, ctx, doc_ctx)
        xa, ka = self.as_atoms(a, at, ak)
        xb, kb = self.as_atoms(b, bt, bk)
        return f"gcmp({op!r}, {xa}, {ka!r}, list({xb}), {kb!r})"

    def quant(
        self, node: Quant, env: dict[str, _Var], ctx: str, doc_ctx: bool
    ) -> tuple[str, str, str]:
        seq, st, sk = self.expr(node.seq, env, ctx, doc_ctx)
        py = self.fresh("q")
        if st in ("N", "E"):
            var = _Var(py, "E")
            seq = self.as_nodes(seq, st)
        elif st == "L" and sk in ("S", "M"):
            var = _Var(py, sk, sk)
        elif st == "S":
            var, seq = _Var(py, "S", "S"), f"({seq},)"
        elif st == "M":
            var, seq = _Var(py, "M", "M"), f"(() if {seq} is None else ({seq},))"
        else:
            raise Unsupported("quantifier over values of unknown type")
        inner = {**env, node.var: var}
        c, ct, _ = self.expr(node.cond, inner, ctx, doc_ctx)
        word = "all" if node.kind == "every" else "any"
        return f"{word}({self.as_bool(c, ct)} for {py} in {seq})", "B", "B"

    def cast(
        self, node: Cast, env: dict[str, _Var], ctx: str, doc_ctx: bool
    ) -> tuple[str, str, str]:
        code, t, _ = self.expr(node.operand, env, ctx, doc_ctx)
        if node.type == "xs:boolean" and not node.castable:
            if t in ("N", "E"):
                nodes = self.as_nodes(code, t)
                return f"first_bool({nodes})", "B", "B"
            if t == "S":
                return f"ubool({code})", "B", "B"
        raise Unsupported(f"cast as {node.type}")

    # paths ----------------------------------------------------------------------------
    def path(
        self, node: Path, env: dict[str, _Var], ctx: str, doc_ctx: bool
    ) -> tuple[str, str, str]:
        if (
            node.root in ("/", "//")
            and not doc_ctx
            and all(isinstance(st, Step) for _s, st in node.steps)
        ):
            return self.absolute(node, env)
        steps = list(node.steps)
        if node.root == "/":
            if not steps:
                raise Unsupported("the document node")
            cur, t = self.from_doc(steps[0][1], env)
            steps = steps[1:]
        elif node.root == "//":
            cur, t = self.everywhere(steps[0][1], env)
            steps = steps[1:]
        else:
            first = steps[0][1]
            if isinstance(first, Filter) and not isinstance(first.primary, Ctx):
                # a primary expression (a variable, a call, a parenthesised union) first
                cur, t, k = self.expr(first.primary, env, ctx, doc_ctx)
                if first.preds:
                    cur, t = self.filter_preds(self.as_nodes(cur, t), first.preds, env), "N"
                steps = steps[1:]
                if not steps:
                    return cur, t, k
            elif doc_ctx:
                if isinstance(first, Step) and first.axis == "child":
                    cur, t = self.from_doc(first, env)
                    steps = steps[1:]
                else:
                    raise Unsupported("a path from the document node")
            else:
                cur, t = ctx, "E"
        kind = "A"
        # a path of named child steps finds nothing unless the document has every name
        names = [
            self.tag(step.test)
            for _sep, step in steps
            if isinstance(step, Step)
            and step.axis == "child"
            and step.test != "*"
            and not step.test.endswith("()")
        ]
        guard = self.const(frozenset(names)) if len(names) >= 1 and t in ("N", "E") else None
        cur, t, kind = self._steps(cur, t, steps, env)
        if guard is not None and t == "N":
            cur = f"({cur} if D.tags >= {guard} else [])"
        return cur, t, kind

    def absolute(self, node: Path, env: dict[str, _Var]) -> tuple[str, str, str]:
        """An absolute path of steps, each prefix that depends on nothing local computed once
        per document (shared by every expression that starts with it)."""
        bound = set(env)
        free = True
        cur = ""
        for i, (sep, step) in enumerate(node.steps):
            assert isinstance(step, Step)
            bare = Step(step.axis, step.test, [])
            if i == 0:
                if any(_positional(p) for p in step.preds):
                    raise Unsupported("positional predicate after //")
                cur, _t = (self.from_doc if node.root == "/" else self.everywhere)(bare, env)
            else:
                if step.preds and any(_positional(p) for p in step.preds):
                    raise Unsupported("positional predicate in an absolute path")
                cur, _t, _k = self._steps(cur, "N", [(sep, bare)], env)
            if free:
                cur = self.memo(cur)
            for pred in step.preds:
                cur = self.filter_preds(cur, [pred], env)
                free = free and _free(pred, bound, True)
                if free:
                    cur = self.memo(cur)
        return cur, "N", "A"

    def _steps(
        self, cur: str, t: str, steps: list[tuple[str, Node]], env: dict[str, _Var]
    ) -> tuple[str, str, str]:
        kind = "A"
        for sep, step in steps:
            if t not in ("N", "E"):
                raise Unsupported("a step after atomic values")
            if sep == "//":
                if (
                    isinstance(step, Step)
                    and step.axis == "child"
                    and step.test != "*"
                    and not step.test.endswith("()")
                ):
                    tag = self.tag(step.test)
                    cur, t = f"descendants({self.as_nodes(cur, t)}, {self.const(tag)})", "N"
                    if step.preds:
                        cur = self.filter_preds(cur, step.preds, env)
                    continue
                raise Unsupported("// before a step that is not a name")
            if isinstance(step, Step):
                cur, t = self.step(self.as_nodes(cur, t) if t == "N" else cur, t, step, env), "N"
            elif isinstance(step, Filter):
                if isinstance(step.primary, Ctx):
                    if step.preds:
                        cur, t = self.filter_preds(self.as_nodes(cur, t), step.preds, env), "N"
                    continue
                # an expression evaluated at each node (E/xs:decimal(...), E/(a|b))
                v = self.fresh("p")
                code, et, _ek = self.expr(step.primary, env, v)
                if step.preds:
                    raise Unsupported("predicates on a mapped expression")
                nodes = self.as_nodes(cur, t)
                if et in ("N",):
                    cur, t = f"D.union([], [{'x'}{v} for {v} in {nodes} for x{v} in {code}])", "N"
                elif et == "E":
                    cur, t = f"[{code} for {v} in {nodes}]", "N"
                elif et in ("S", "B"):
                    cur, t, kind = f"[{code} for {v} in {nodes}]", "L", et
                elif et == "M":
                    w = self.fresh("w")
                    cur, t, kind = (
                        f"[{w} for {v} in {nodes} for {w} in (({code}),) if {w} is not None]",
                        "L",
                        "M",
                    )
                else:
                    raise Unsupported("a mapped sequence")
            else:
                raise Unsupported("step")
        return cur, t, kind

    def from_doc(self, step: Node, env: dict[str, _Var]) -> tuple[str, str]:
        if not isinstance(step, Step) or step.axis != "child":
            raise Unsupported("a step from the document node")
        if step.test == "*":
            cur = "[R]"
        else:
            tag = self.const(self.tag(step.test))
            cur = f"([R] if R.tag == {tag} else [])"
        if step.preds:
            cur = self.filter_preds(cur, step.preds, env)
        return cur, "N"

    def everywhere(self, step: Node, env: dict[str, _Var]) -> tuple[str, str]:
        if not isinstance(step, Step):
            if isinstance(step, Filter) and not step.preds and isinstance(step.primary, (Seq, Bin)):
                # //(a | b): each alternative everywhere
                inner = (
                    step.primary.items[0]
                    if isinstance(step.primary, Seq) and len(step.primary.items) == 1
                    else step.primary
                )
                alts: list[Node] = []

                def walk(n: Node) -> None:
                    if isinstance(n, Bin) and n.op == "|":
                        walk(n.left)
                        walk(n.right)
                    else:
                        alts.append(n)

                walk(inner)
                codes = []
                for alt in alts:
                    if not isinstance(alt, Step):
                        raise Unsupported("//(expression)")
                    codes.append(self.everywhere(alt, env)[0])
                code = codes[0]
                for c in codes[1:]:
                    code = f"D.union({code}, {c})"
                return code, "N"
            raise Unsupported("// before an expression")
        if any(_positional(p) for p in step.preds):
            raise Unsupported("positional predicate after //")
        if step.axis == "child" and step.test == "*":
            cur = "D.elements()"
        elif step.axis == "child" and not step.test.endswith("()"):
            cur = f"D.ix.get({self.const(self.tag(step.test))}, [])"
        elif step.axis == "attribute" and step.test != "*" and ":" not in step.test:
            cur = f"D.all_attrs({self.const(step.test)})"
        else:
            raise Unsupported(f"//{step.axis}::{step.test}")
        if step.preds:
            cur = self.filter_preds(cur, step.preds, env)
        return cur, "N"

    def step(self, cur: str, t: str, step: Step, env: dict[str, _Var]) -> str:
        nodes = self.as_nodes(cur, t)
        axis, test = step.axis, step.test
        if axis == "child":
            if test == "*":
                out = f"kids_any({nodes})"
            elif test.endswith("()"):
                raise Unsupported(f"child::{test}")
            else:
                tag = self.const(self.tag(test))
                out = f"list({cur}.iterchildren({tag}))" if t == "E" else f"kids({nodes}, {tag})"
        elif axis == "attribute":
            if test == "*" or ":" in test:
                raise Unsupported(f"@{test}")
            out = f"attrs({nodes}, {self.const(test)})"
        elif axis == "parent" and test == "node()":
            out = f"parents({nodes})"
        elif axis == "self" and not test.endswith("()") and test != "*":
            out = f"selfs({nodes}, {self.const(self.tag(test))})"
        elif axis == "ancestor" and not test.endswith("()"):
            named = None if test == "*" else self.tag(test)
            out = f"ancestors({nodes}, {self.const(named)})"
        else:
            raise Unsupported(f"axis {axis}::{test}")
        if step.preds:
            several = axis not in ("child", "attribute", "self") or t != "E"
            if several and any(_positional(p) for p in step.preds):
                raise Unsupported("positional predicate on several parents")
            out = self.filter_preds(out, step.preds, env)
        return out

    def filter_preds(self, nodes: str, preds: list[Node], env: dict[str, _Var]) -> str:
        for pred in preds:
            if isinstance(pred, Num) and pred.text.isdigit():
                n = int(pred.text)
                v = self.fresh("f")
                nodes = f"({nodes})[{n - 1}:{n}]"
                continue
            if _positional(pred):
                raise Unsupported("positional predicate")
            grouped = self.grouped(nodes, pred) if nodes.startswith("memo(D, ") else None
            if grouped is not None:
                nodes = grouped
                continue
            v = self.fresh("c")
            code, t, _ = self.expr(pred, env, v)
            if t == "M":
                raise Unsupported("numeric predicate")
            nodes = f"[{v} for {v} in {nodes} if {self.as_bool(code, t)}]"
        return nodes

    def grouped(self, nodes: str, pred: Node) -> str | None:
        """``nodes[value-of-node = 'literal']`` on a once-per-document node list: the list
        grouped by that value once per document (a value index), then one look-up."""
        if not (isinstance(pred, Bin) and pred.op == "="):
            return None
        if isinstance(pred.right, Lit):
            side, lit = pred.left, pred.right
        elif isinstance(pred.left, Lit):
            side, lit = pred.right, pred.left
        else:
            return None
        if not _free(side, set(), True) or _has_absolute(side):
            return None
        code, t, k = self.expr(side, {}, "c")
        if t == "S":
            keys = f"({code},)"
        elif t in ("N", "E"):
            keys = f"map(sv, {self.as_nodes(code, t)})"
        elif t == "L" and k == "S":
            keys = code
        else:
            return None
        keyfn = _canonical(f"lambda D, c: {keys}")
        slot = self.groups.setdefault((nodes, keyfn), len(self.groups))
        value, _t, _k = self.expr(lit, {}, "c")
        return f"group(D, {slot}, {nodes}, GK{slot}).get({value}, [])"

    # functions ------------------------------------------------------------------------
    def call(
        self, node: Call, env: dict[str, _Var], ctx: str, doc_ctx: bool
    ) -> tuple[str, str, str]:
        name, args = node.name, node.args
        if name.startswith("fn:"):
            name = name[3:]

        def arg(i: int) -> tuple[str, str, str]:
            return self.expr(args[i], env, ctx, doc_ctx)

        def sarg(i: int) -> str:
            c, t, _ = arg(i)
            return self.as_str(c, t)

        def ctx_or_arg() -> tuple[str, str]:
            if args:
                c, t, _ = arg(0)
                return c, t
            if doc_ctx:
                raise Unsupported("the document node's string")
            return ctx, "E"

        n = len(args)
        if name == "not" and n == 1:
            c, t, _ = arg(0)
            return f"(not {self.as_bool(c, t)})", "B", "B"
        if name in ("exists", "empty") and n == 1:
            c, t, _ = arg(0)
            if t == "N":
                code = f"bool({c})"
            elif t == "M":
                code = f"({c} is not None)"
            elif t == "L":
                code = f"bool({c})"
            else:
                code = "True"
            return (code if name == "exists" else f"(not {code})"), "B", "B"
        if name == "boolean" and n == 1:
            c, t, _ = arg(0)
            return self.as_bool(c, t), "B", "B"
        if name in ("true", "false") and n == 0:
            return ("True" if name == "true" else "False"), "B", "B"
        if name == "normalize-space" and n <= 1:
            c, t = ctx_or_arg()
            return f"ns({self.as_str(c, t)})", "S", "S"
        if name in ("string", "data") and n <= 1:
            c, t = ctx_or_arg()
            if name == "data" and t == "N":
                raise Unsupported("data() of nodes")
            return self.as_str(c, t), "S", "S"
        if name == "string-length" and n <= 1:
            c, t = ctx_or_arg()
            return f"len({self.as_str(c, t)})", "M", "M"
        if name == "upper-case" and n == 1:
            return f"{sarg(0)}.upper()", "S", "S"
        if name == "lower-case" and n == 1:
            return f"{sarg(0)}.lower()", "S", "S"
        if name == "concat" and n >= 2:
            return "(" + " + ".join(sarg(i) for i in range(n)) + ")", "S", "S"
        if name == "contains" and n == 2:
            return f"({sarg(1)} in {sarg(0)})", "B", "B"
        if name == "starts-with" and n == 2:
            return f"{sarg(0)}.startswith({sarg(1)})", "B", "B"
        if name == "ends-with" and n == 2:
            return f"{sarg(0)}.endswith({sarg(1)})", "B", "B"
        if name == "substring-after" and n == 2:
            return f"substring_after({sarg(0)}, {sarg(1)})", "S", "S"
        if name == "substring-before" and n == 2:
            return f"substring_before({sarg(0)}, {sarg(1)})", "S", "S"
        if name == "translate" and n == 3:
            return f"translate_({sarg(0)}, {sarg(1)}, {sarg(2)})", "S", "S"
        if name == "substring" and n in (2, 3):
            nums = []
            for i in range(1, n):
                c, t, _ = arg(i)
                nums.append(self.as_num(c, t))
            return f"xsubstring({sarg(0)}, {', '.join(nums)})", "S", "S"
        if name == "count" and n == 1:
            c, t, _ = arg(0)
            if t in ("N", "L"):
                return f"len({c})", "M", "M"
            raise Unsupported("count of a value")
        if name == "sum" and n == 1:
            c, t, k = arg(0)
            if t == "N":
                v = self.fresh("s")
                return f"(sum(dbl(sv({v})) for {v} in {c}) if {c} else 0)", "M", "M"
            if t == "L" and k == "M":
                v = self.fresh("s")
                return f"sum_nums({c})", "M", "M"
            raise Unsupported("sum of values")
        if name in ("xs:decimal", "xs:double", "number", "xs:float") and n <= 1:
            c, t = ctx_or_arg()
            if name == "xs:decimal":
                if t in ("N", "E"):
                    v = self.fresh("d")
                    return f"first_dec({self.as_nodes(c, t)})", "M", "M"
                if t == "S":
                    return f"dec({c})", "M", "M"
                if t == "M":
                    return f"decn({c})", "M", "M"
                raise Unsupported("xs:decimal of a value")
            if name == "number":
                if t in ("N", "E"):
                    v = self.fresh("d")
                    return f"first_number({self.as_nodes(c, t)})", "M", "M"
                if t == "S":
                    return f"number({c})", "M", "M"
                if t == "M":
                    return f"num_of({c})", "M", "M"
                raise Unsupported("number of a value")
            raise Unsupported(name)
        if name in ("round", "abs", "floor", "ceiling") and n == 1:
            c, t, _ = arg(0)
            fn = {"round": "xround", "abs": "xabs", "floor": "xfloor", "ceiling": "xceiling"}[name]
            return f"{fn}({self.as_num(c, t)})", "M", "M"
        if name == "matches" and n == 2 and isinstance(args[1], Lit):
            pattern = args[1].value[1:-1]
            if not _regex_ok(pattern):
                raise Unsupported(f"regex {pattern}")
            return f"(regex({self.const(pattern)}).search({sarg(0)}) is not None)", "B", "B"
        if name in ("name", "local-name") and n <= 1:
            c, t = ctx_or_arg()
            fn = "name_of" if name == "name" else "local_name_of"
            return f"{fn}({self.as_nodes(c, t)})", "S", "S"
        raise Unsupported(f"function {name}/{n}")


def memo(doc: Doc, slot: int, compute: Callable[[Doc], Any]) -> Any:
    """A context-free value, computed once per document."""
    m = doc.m
    if slot in m:
        return m[slot]
    value = m[slot] = compute(doc)
    return value


_IMPLICIT = {
    "normalize-space",
    "string",
    "string-length",
    "name",
    "local-name",
    "number",
    "position",
    "last",
}


def _has_absolute(node: Node) -> bool:
    if isinstance(node, Path):
        if node.root in ("/", "//"):
            return True
        return any(_has_absolute(s) for _sep, s in node.steps)
    if isinstance(node, Step):
        return any(_has_absolute(p) for p in node.preds)
    if isinstance(node, Filter):
        return _has_absolute(node.primary) or any(_has_absolute(p) for p in node.preds)
    if isinstance(node, Call):
        return any(_has_absolute(a) for a in node.args)
    if isinstance(node, Bin):
        return _has_absolute(node.left) or _has_absolute(node.right)
    if isinstance(node, (Neg,)):
        return _has_absolute(node.operand)
    if isinstance(node, Seq):
        return any(_has_absolute(i) for i in node.items)
    if isinstance(node, Quant):
        return _has_absolute(node.seq) or _has_absolute(node.cond)
    if isinstance(node, If):
        return _has_absolute(node.cond) or _has_absolute(node.then) or _has_absolute(node.other)
    return False


def _free(node: Node, bound: set[str], inner: bool = False) -> bool:
    """Whether ``node`` does not depend on the context node nor on a local variable
    (``inner``: inside a predicate or a mapped step, where the context is the step's own)."""
    if isinstance(node, (Lit, Num)):
        return True
    if isinstance(node, Var):
        return node.name not in bound
    if isinstance(node, Ctx):
        return inner
    if isinstance(node, Path):
        steps = node.steps
        if node.root == "" and not inner:
            first = steps[0][1]
            if not (
                isinstance(first, Filter)
                and not isinstance(first.primary, Ctx)
                and _free(first.primary, bound)
            ):
                return False
            if not all(_free(p, bound, True) for p in first.preds):
                return False
            steps = steps[1:]
        return all(_free(s, bound, True) for _sep, s in steps)
    if isinstance(node, Step):
        return inner and all(_free(p, bound, True) for p in node.preds)
    if isinstance(node, Filter):
        return _free(node.primary, bound, inner) and all(_free(p, bound, True) for p in node.preds)
    if isinstance(node, Call):
        if not node.args and node.name in _IMPLICIT and not inner:
            return False
        return all(_free(a, bound, inner) for a in node.args)
    if isinstance(node, Bin):
        return _free(node.left, bound, inner) and _free(node.right, bound, inner)
    if isinstance(node, Neg):
        return _free(node.operand, bound, inner)
    if isinstance(node, Seq):
        return all(_free(i, bound, inner) for i in node.items)
    if isinstance(node, Quant):
        return _free(node.seq, bound, inner) and _free(node.cond, bound - {node.var}, inner)
    if isinstance(node, If):
        return all(_free(n, bound, inner) for n in (node.cond, node.then, node.other))
    if isinstance(node, Cast):
        return _free(node.operand, bound, inner)
    return False


def group(
    doc: Doc, slot: int, nodes: list[Any], keys: Callable[[Doc, Any], Iterable[str]]
) -> dict[str, list[Any]]:
    """``nodes`` by each of their values (``keys``), once per document."""
    found = doc.gr.get(slot)
    if found is None:
        found = doc.gr[slot] = {}
        for n in nodes:
            try:
                values = set(keys(doc, n))
            except (DynamicError, InvalidOperation, ArithmeticError, TypeError, ValueError):
                continue
            for value in values:
                hit = found.get(value)
                if hit is None:
                    found[value] = [n]
                else:
                    hit.append(n)
    return found


def nmemo(doc: Doc, slot: int, node: Any, compute: Callable[[Doc, Any], Any]) -> Any:
    """A value that depends on the context node only, computed once per node."""
    m = doc.nm
    key = (slot, node)
    if key in m:
        return m[key]
    value = m[key] = compute(doc, node)
    return value


_LOCAL = re.compile(r"\b_[a-z]+\d+\b")


def _canonical(code: str) -> str:
    """``code`` with its generated local names numbered in order of appearance."""
    names: dict[str, str] = {}

    def rename(m: re.Match[str]) -> str:
        return names.setdefault(m.group(0), f"_v{len(names)}")

    return _LOCAL.sub(rename, code)


def _steps_in(node: Node) -> int:
    if isinstance(node, Step):
        return 1 + sum(_steps_in(p) for p in node.preds)
    if isinstance(node, Path):
        return sum(_steps_in(s) for _sep, s in node.steps)
    if isinstance(node, Filter):
        return _steps_in(node.primary) + sum(_steps_in(p) for p in node.preds)
    if isinstance(node, Call):
        return sum(_steps_in(a) for a in node.args)
    if isinstance(node, Bin):
        return _steps_in(node.left) + _steps_in(node.right)
    if isinstance(node, Neg):
        return _steps_in(node.operand)
    if isinstance(node, Seq):
        return sum(_steps_in(i) for i in node.items)
    return 0


def _needs(gen: _Gen, test: Node) -> set[str]:
    """Names (tags) the document must hold for ``test`` to be false (empty: no such set)."""
    if isinstance(test, Seq) and len(test.items) == 1:
        return _needs(gen, test.items[0])
    if isinstance(test, Bin) and test.op == "or":
        return _needs(gen, test.left) | _needs(gen, test.right)
    if isinstance(test, Bin) and test.op == "and":
        return _needs(gen, test.left) & _needs(gen, test.right)
    if isinstance(test, Call) and test.name == "not" and len(test.args) == 1:
        return _path_names(gen, test.args[0])
    return set()


def _path_names(gen: _Gen, node: Node) -> set[str]:
    """Names every node of a non-empty ``node`` (a path) needs in the document."""
    if isinstance(node, Seq) and len(node.items) == 1:
        return _path_names(gen, node.items[0])
    if isinstance(node, Step):
        node = Path("", [("", node)])
    if not isinstance(node, Path):
        return set()
    names: set[str] = set()
    for _sep, step in node.steps:
        if isinstance(step, Step) and step.axis in ("child", "descendant") and step.test != "*":
            if step.test.endswith("()"):
                continue
            try:
                names.add(gen.tag(step.test))
            except UntranslatableError:
                return set()
    return names


def _free_prefix(node: Path, bound: set[str]) -> tuple[int, int] | None:
    """Where an absolute path stops being context-free: (step, predicate) of the first
    predicate that is not; None if the whole path is free or its first step is not."""
    for i, (_sep, step) in enumerate(node.steps):
        if not isinstance(step, Step):
            return None
        for j, pred in enumerate(step.preds):
            if not _free(pred, bound, True):
                return None if (i, j) == (0, 0) and not step.test else (i, j)
    return None


def _name_suffix(preds: list[Node]) -> str | None:
    """The literal of ``ends-with(name(), 'Amount')`` that a wildcard's first predicate
    requires (a conjunct), else None."""
    if not preds:
        return None
    todo = [preds[0]]
    while todo:
        node = todo.pop()
        if isinstance(node, Seq) and len(node.items) == 1:
            todo.append(node.items[0])
        elif isinstance(node, Bin) and node.op == "and":
            todo.extend((node.left, node.right))
        elif (
            isinstance(node, Call)
            and node.name == "ends-with"
            and len(node.args) == 2
            and isinstance(node.args[0], Call)
            and node.args[0].name in ("name", "local-name")
            and not node.args[0].args
            and isinstance(node.args[1], Lit)
        ):
            suffix = node.args[1].value[1:-1]
            if suffix and ":" not in suffix and "'" not in suffix and '"' not in suffix:
                return suffix
    return None


def _positional(pred: Node) -> bool:
    return isinstance(pred, Num) or _uses_position(pred)


# --- patterns (rule contexts) -------------------------------------------------------------


def _branches(node: Node) -> list[Node]:
    if isinstance(node, Bin) and node.op == "|":
        return _branches(node.left) + _branches(node.right)
    if isinstance(node, Seq) and len(node.items) == 1:
        return _branches(node.items[0])
    return [node]


class _Matcher:
    """Python for a rule context: candidate nodes and a test of each."""

    def __init__(self, gen: _Gen, context: str) -> None:
        self.gen = gen
        self.candidates: list[str] = []  # per branch: the code listing its candidates
        self.tests: list[str] = []  # per branch: a boolean on node `n`
        tree = _fold(parse(context), gen.constants)
        for branch in _branches(tree):
            self._branch(branch)

    def _branch(self, node: Node) -> None:
        if isinstance(node, Step):
            node = Path("", [("", node)])
        if not isinstance(node, Path) or not node.steps:
            raise Unsupported("rule context")
        steps = node.steps
        for sep, step in steps:
            if sep == "//":
                raise Unsupported("// inside a rule context")
            if not isinstance(step, Step) or step.axis != "child" or step.test.endswith("()"):
                raise Unsupported("rule context step")
            if any(_positional(p) for p in step.preds):
                raise Unsupported("positional predicate in a rule context")
        gen = self.gen
        last = steps[-1][1]
        assert isinstance(last, Step)
        conds: list[str] = []
        if last.test == "*":
            suffix = _name_suffix(last.preds)
            candidates = "D.elements()" if suffix is None else f"D.suffixed({gen.const(suffix)})"
        else:
            candidates = f"D.ix.get({gen.const(gen.tag(last.test))}, [])"
            conds.append(f"n.tag == {gen.const(gen.tag(last.test))}")
        var = "n"
        for i in range(len(steps) - 1, -1, -1):
            step = steps[i][1]
            assert isinstance(step, Step)
            if i < len(steps) - 1:
                parent = gen.fresh("a")
                conds.append(f"({parent} := {var}.getparent()) is not None")
                var = parent
                if step.test != "*":
                    conds.append(f"{var}.tag == {gen.const(gen.tag(step.test))}")
            for pred in step.preds:
                code, t, _ = gen.expr(pred, {}, var)
                if t == "M":
                    raise Unsupported("numeric predicate in a rule context")
                conds.append(gen.as_bool(code, t))
        if node.root == "/":
            conds.append(f"{var}.getparent() is None")
        self.candidates.append(candidates)
        self.tests.append(" and ".join(conds) if conds else "True")


# --- compiling a Schematron ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RuleAssert:
    """One assert as the Python backend holds it (``number``: its place in the Schematron)."""

    number: int
    rule: str
    flag: str
    text: str
    report: bool
    rule_index: int


@dataclass
class PythonRules:
    """A Schematron's rules as Python: ``run(root)`` lists (assert number, node) of failures
    of the asserts it holds; ``fallback`` are the assert numbers left to the XSLT engine."""

    asserts: list[RuleAssert]
    native: set[int]
    fallback: dict[int, str]
    source: str
    run: Callable[[etree._Element], list[tuple[int, Any]]] = field(repr=False)
    node_counts: dict[str, int] = field(default_factory=dict, repr=False)


def _message(node: etree._Element) -> str:
    return " ".join("".join(str(t) for t in node.itertext()).split())


def compile_rules(
    schema: etree._Element, functions: Mapping[str, str] | None = None
) -> PythonRules:
    """The Python form of the Schematron ``schema`` (asserts numbered in document order,
    as :func:`fourflow.adapters.documents.schematron.compile_schematron` numbers them).

    Two passes: the first counts how often each expression of the context node is written,
    the second computes those written more than once once per node."""
    first = _compile(schema, {})
    return _compile(schema, first.node_counts)


def _compile(schema: etree._Element, counts: dict[str, int]) -> PythonRules:
    namespaces = {n.get("prefix", ""): n.get("uri", "") for n in schema.iterfind("s:ns", _S)}
    constants: dict[str, Node] = {}
    globals_: dict[str, _Var] = {}
    gen = _Gen(namespaces, constants, globals_)
    gen.previous_counts = counts
    body: list[str] = [
        "def run(root):",
        "    D = Doc(root)",
        "    R = root",
        "    G = D.g",
        "    out = []",
    ]
    asserts: list[RuleAssert] = []
    native: set[int] = set()
    fallback: dict[int, str] = {}
    rule_counter = 0
    functions: list[str] = []
    lets = [*schema.iterfind("s:let", _S)]
    for let in lets:
        _global_let(gen, body, let)
    for pattern in schema.iterfind("s:pattern", _S):
        for let in pattern.iterfind("s:let", _S):
            _global_let(gen, body, let)
        rules = list(pattern.iterfind("s:rule", _S))
        matchers: list[_Matcher | None] = []
        reason = ""
        for rule in rules:
            try:
                matchers.append(_Matcher(gen, rule.get("context", "")))
            except UntranslatableError as exc:
                matchers.append(None)
                reason = f"pattern context: {exc}"
        whole_pattern_falls_back = any(m is None for m in matchers)
        pattern_lines: list[str] = (
            ["    claimed = set()"] if len(rules) > 1 else ["    claimed = None"]
        )
        for rule, matcher in zip(rules, matchers, strict=True):
            rule_counter += 1
            numbered: list[tuple[int, etree._Element]] = []
            for node in rule:
                if node.tag in (f"{{{SCH}}}assert", f"{{{SCH}}}report"):
                    number = len(asserts)
                    asserts.append(
                        RuleAssert(
                            number,
                            node.get("id", ""),
                            node.get("flag", "fatal") or "fatal",
                            _message(node),
                            node.tag == f"{{{SCH}}}report",
                            rule_counter,
                        )
                    )
                    numbered.append((number, node))
            if whole_pattern_falls_back or matcher is None:
                for number, _node in numbered:
                    fallback[number] = reason
                continue
            code = _rule_code(
                gen, rule, matcher, numbered, asserts, native, fallback, len(rules) > 1
            )
            name = f"rule{rule_counter}"
            functions.append(f"def {name}(D, R, G, out, claimed):")
            functions.extend(code)
            pattern_lines.append(f"    {name}(D, R, G, out, claimed)")
        if not whole_pattern_falls_back:
            body.extend(pattern_lines)
    body.append("    return out")
    source = "\n".join(body + functions) + "\n"
    namespace: dict[str, Any] = _runtime()
    for i, value in enumerate(gen.consts):
        namespace[f"K{i}"] = frozenset(value) if isinstance(value, set) else value
    for text, slot in gen.memos.items():
        source += f"def H{slot}(D):\n    R = D.root\n    G = D.g\n    return {text}\n"
    for text in gen.functions:
        source += text + "\n"
    source += "A = {" + ", ".join(f"{n}: A{n}" for n in sorted(_guarded_numbers(gen))) + "}\n"
    for (_nodes, keyfn), slot in gen.groups.items():
        source += f"GK{slot} = {keyfn}\n"
    for text, slot in gen.node_memos.items():
        body_text = text.replace("__CTX__", "c")
        source += f"def N{slot}(D, c):\n    R = D.root\n    G = D.g\n    return {body_text}\n"
    module = compile(source, "<business rules>", "exec")
    exec(module, namespace)  # noqa: S102 - our own generated code
    return PythonRules(asserts, native, fallback, source, namespace["run"], gen.node_counts)


def _guarded_numbers(gen: _Gen) -> list[int]:
    return [int(text[5 : text.index("(")]) for text in gen.functions if text.startswith("def A")]


def _global_let(gen: _Gen, body: list[str], let: etree._Element) -> None:
    name, value = let.get("name", ""), let.get("value", "")
    constant = constant_value(value, gen.constants)
    if constant is not None:
        gen.constants[name] = constant
        return
    try:
        code, t, k = gen.expr(_fold(parse(value), gen.constants), {}, "R", doc_ctx=True)
    except UntranslatableError:
        return  # the rules using it fall back
    py = f"G[{len(gen.globals)}]"
    body.append("    try:")
    body.append(f"        {py} = {code}")
    body.append("    except DynamicError:")
    body.append(f"        {py} = None")
    gen.globals[name] = _Var(py, t, k)


# what an assert's evaluation may raise: an XPath 2.0 dynamic error, so the assert fails
_ERRORS = "(DynamicError, InvalidOperation, ArithmeticError, TypeError, ValueError)"


def _rule_code(
    gen: _Gen,
    rule: etree._Element,
    matcher: _Matcher,
    numbered: list[tuple[int, etree._Element]],
    asserts: list[RuleAssert],
    native: set[int],
    fallback: dict[int, str],
    claim: bool,
) -> list[str]:
    lines: list[str] = []
    env: dict[str, _Var] = {}
    let_lines: list[str] = []
    let_ok = True
    for let in rule.iterfind("s:let", _S):
        try:
            code, t, k = gen.expr(_fold(parse(let.get("value", "")), gen.constants), env, "n")
        except UntranslatableError:
            let_ok = False
            break
        py = gen.fresh("L")
        env[let.get("name", "")] = _Var(py, t, k)
        let_lines.append(f"{py} = {code}")
    checks: list[str] = []
    guarded: list[tuple[str, int]] = []
    for number, node in numbered:
        if not let_ok:
            fallback[number] = "rule let"
            continue
        try:
            tree = _fold(parse(node.get("test", "")), gen.constants)
            code, t, _ = gen.expr(tree, env, "n")
            test = gen.as_bool(code, t)
        except UntranslatableError as exc:
            fallback[number] = str(exc)
            continue
        native.add(number)
        fails = test if asserts[number].report else f"not ({test})"
        need = set() if let_lines or asserts[number].report else _needs(gen, tree)
        if need:
            # fails only if the document has every one of these names: tested only then
            gen.functions.append(f"def A{number}(D, R, G, n):\n    return {fails}")
            guarded.append((gen.const(frozenset(need)), number))
            continue
        checks.append(
            f"try:\n    _f = {fails}\nexcept {_ERRORS}:\n    _f = True\n"
            f"if _f:\n    out.append(({number}, n))"
        )
    # the loop over the rule's context nodes (claimed: this pattern's earlier rules took them)
    cands = list(dict.fromkeys(matcher.candidates))
    select = cands[0]
    if len(cands) > 1 and "D.elements()" not in cands:
        select = f"D.merged({', '.join(cands)})"
    else:
        for c in cands[1:]:
            select = f"D.union({select}, {c})"
    test = " or ".join(f"({t})" for t in matcher.tests)
    lines.append(f"    for n in {select}:")
    lines.append(f"        if not ({test}):")
    lines.append("            continue")
    if claim:
        lines.append("        if n in claimed:")
        lines.append("            continue")
        lines.append("        claimed.add(n)")
    if guarded:
        # each guarded assert filed under one of its names: only the names the document
        # has are looked at (a set intersection), then the assert's other names
        by_name: dict[str, list[tuple[frozenset[str], int]]] = {}
        for k, number in guarded:
            need = gen.consts[int(k[1:])]
            by_name.setdefault(min(need), []).append((need, number))
        table = gen.const({name: tuple(items) for name, items in by_name.items()})
        keys = gen.const(frozenset(by_name))
        lines.insert(
            0,
            f"    live = sorted((number, A[number]) for name in D.tags & {keys} "
            f"for need, number in {table}[name] if need <= D.tags)",
        )
        checks.append(
            "for number, test in live:\n    try:\n        _f = test(D, R, G, n)\n"
            f"    except {_ERRORS}:\n"
            "        _f = True\n    if _f:\n        out.append((number, n))"
        )
    if not checks:
        return lines
    for text in let_lines:
        lines.append(
            f"        try:\n            {text}\n        except {_ERRORS}:\n"
            f"            {text.split(' = ')[0]} = None"
        )
    for check in checks:
        lines.extend("        " + line for line in check.split("\n"))
    return lines


__all__ += ["Attr", "Doc", "DynamicError", "Unsupported"]
_ = (Cast, For, Iterable, xsubstring)
