"""Translate the XPath 2.0 of the official Schematron rules into XPath 1.0 for libxslt.

The EN 16931 and Peppol BIS Billing 3 Schematron bind to XSLT 2.0, but their asserts use a
small part of XPath 2.0: ``xs:decimal`` casts, function calls as path steps
(``cac:X/xs:decimal(cbc:Y)``), ``exists``, ``upper-case``, ``every``/``some`` quantifiers,
``if then else`` and value comparisons. This module parses that subset and writes an
equivalent XPath 1.0 expression, so the rules run natively in libxml2/libxslt. A construct
outside the subset raises :class:`UntranslatableError`, naming it: the rule compiler reports such
asserts rather than guessing. Quantifiers whose body reads the rule's context are hoisted by
the caller into XSLT loops (see :class:`Hoisted`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from fourflow.adapters.documents import peppol_functions

__all__ = ["Hoisted", "Translation", "UntranslatableError", "constant_value", "translate"]


class UntranslatableError(ValueError):
    """An XPath 2.0 construct this translator does not render in XPath 1.0."""


# --- tokens -------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<str>'(?:[^']|'')*'|"(?:[^"]|"")*")
    | (?P<num>\d+(?:\.\d*)?|\.\d+)
    | (?P<var>\$[A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?)
    | (?P<op>//|::|\.\.|!=|<=|>=|[/()\[\],|=<>+\-*@.])
    | (?P<name>[A-Za-z_][\w.\-]*(?::(?:[A-Za-z_][\w.\-]*|\*))?)
    )""",
    re.VERBOSE,
)
_KEYWORD_OPS = {
    "and", "or", "div", "idiv", "mod", "eq", "ne", "lt", "le", "gt", "ge", "union",
    "intersect", "except", "to", "instance", "cast", "castable", "treat", "in", "satisfies",
    "return", "then", "else", "is",
}  # fmt: skip
_NODE_TYPES = {"text", "node", "comment", "processing-instruction"}


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # str num var op name
    text: str


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise UntranslatableError(f"cannot read XPath at {text[pos : pos + 20]!r}")
        kind = m.lastgroup or ""
        value = m.group(kind)
        # '*' and keyword names are operators only after an operand.
        if out and _ends_operand(out[-1]):
            if kind == "name" and value in _KEYWORD_OPS:
                kind = "op"
        elif kind == "op" and value == "*":
            kind = "name"
        if kind == "name" and value in ("every", "some", "for", "if") and _next_char(text, m):
            kind = "op" if _next_char(text, m) in "($" else kind
        out.append(_Tok(kind, value))
        pos = m.end()
        # skip XPath 2.0 comments (:  :)
    return out


def _next_char(text: str, m: re.Match[str]) -> str:
    rest = text[m.end() :].lstrip()
    return rest[:1]


def _ends_operand(tok: _Tok) -> bool:
    if tok.kind in ("str", "num", "var"):
        return True
    if tok.kind == "name":
        return True
    return tok.text in (")", "]", ".", "..")


# --- AST ----------------------------------------------------------------------------------


@dataclass(slots=True)
class Node:
    """Base of the expression tree."""


@dataclass(slots=True)
class Lit(Node):
    value: str  # the literal as written (with quotes)


@dataclass(slots=True)
class Num(Node):
    text: str


@dataclass(slots=True)
class Var(Node):
    name: str


@dataclass(slots=True)
class Ctx(Node):
    pass


@dataclass(slots=True)
class Call(Node):
    name: str
    args: list[Node]


@dataclass(slots=True)
class Seq(Node):
    items: list[Node]


@dataclass(slots=True)
class Bin(Node):
    op: str
    left: Node
    right: Node


@dataclass(slots=True)
class Neg(Node):
    operand: Node


@dataclass(slots=True)
class Step(Node):
    axis: str  # child, attribute, parent, self, descendant-or-self ...
    test: str
    preds: list[Node] = field(default_factory=list)


@dataclass(slots=True)
class Filter(Node):
    primary: Node
    preds: list[Node] = field(default_factory=list)


@dataclass(slots=True)
class Path(Node):
    root: str  # '', '/', '//'
    steps: list[tuple[str, Node]]  # (separator before the step, step); first sep is ''


@dataclass(slots=True)
class Quant(Node):
    kind: str  # every / some
    var: str
    seq: Node
    cond: Node


@dataclass(slots=True)
class If(Node):
    cond: Node
    then: Node
    other: Node


@dataclass(slots=True)
class For(Node):
    var: str
    seq: Node
    body: Node


@dataclass(slots=True)
class Cast(Node):
    operand: Node
    type: str
    castable: bool


# --- parser -------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0
        self.text = text

    def peek(self, offset: int = 0) -> _Tok | None:
        j = self.i + offset
        return self.toks[j] if j < len(self.toks) else None

    def at(self, *texts: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "op" and tok.text in texts

    def take(self, text: str | None = None) -> _Tok:
        tok = self.peek()
        if tok is None or (text is not None and tok.text != text):
            raise UntranslatableError(f"expected {text!r} in {self.text!r}")
        self.i += 1
        return tok

    def parse(self) -> Node:
        node = self.expr()
        if self.peek() is not None:
            raise UntranslatableError(f"unexpected {self.peek()!r} in {self.text!r}")
        return node

    def expr(self) -> Node:
        items = [self.single()]
        while self.at(","):
            self.take()
            items.append(self.single())
        return items[0] if len(items) == 1 else Seq(items)

    def single(self) -> Node:
        tok = self.peek()
        if tok is not None and tok.kind == "op" and tok.text in ("every", "some"):
            self.take()
            var = self.take().text[1:]
            self.take("in")
            seq = self.single()
            if self.at(","):
                raise UntranslatableError("quantifier over several variables")
            self.take("satisfies")
            return Quant(tok.text, var, seq, self.single())
        if tok is not None and tok.kind == "op" and tok.text == "for":
            self.take()
            var = self.take().text[1:]
            self.take("in")
            seq = self.single()
            if self.at(","):
                raise UntranslatableError("for over several variables")
            self.take("return")
            return For(var, seq, self.single())
        if tok is not None and tok.kind == "op" and tok.text == "if":
            self.take()
            self.take("(")
            cond = self.expr()
            self.take(")")
            self.take("then")
            then = self.single()
            self.take("else")
            return If(cond, then, self.single())
        return self.or_()

    def _binary(self, ops: tuple[str, ...], sub: str) -> Node:
        parse_sub = getattr(self, sub)
        node: Node = parse_sub()
        while self.at(*ops):
            op = self.take().text
            node = Bin(op, node, parse_sub())
        return node

    def or_(self) -> Node:
        return self._binary(("or",), "and_")

    def and_(self) -> Node:
        return self._binary(("and",), "comparison")

    def comparison(self) -> Node:
        node = self.additive()
        if self.at("=", "!=", "<", "<=", ">", ">=", "eq", "ne", "lt", "le", "gt", "ge", "is"):
            op = self.take().text
            node = Bin(op, node, self.additive())
        return node

    def additive(self) -> Node:
        return self._binary(("+", "-"), "multiplicative")

    def multiplicative(self) -> Node:
        return self._binary(("*", "div", "idiv", "mod"), "union")

    def union(self) -> Node:
        node = self.cast()
        while self.at("|", "union"):
            self.take()
            node = Bin("|", node, self.cast())
        return node

    def cast(self) -> Node:
        node = self.unary()
        if self.at("cast", "castable"):
            castable = self.take().text == "castable"
            self.take("as")
            type_ = self.take().text
            if self.at("?"):
                self.take()
            return Cast(node, type_, castable)
        if self.at("instance", "treat"):
            raise UntranslatableError("instance of / treat as")
        return node

    def unary(self) -> Node:
        if self.at("-"):
            self.take()
            return Neg(self.unary())
        if self.at("+"):
            self.take()
            return self.unary()
        return self.path()

    def path(self) -> Node:
        if self.at("/"):
            self.take()
            if self._starts_step():
                return self._rel("/")
            return Path("/", [])
        if self.at("//"):
            self.take()
            return self._rel("//")
        return self._rel("")

    def _starts_step(self) -> bool:
        tok = self.peek()
        if tok is None:
            return False
        if tok.kind in ("name", "str", "num", "var"):
            return True
        return tok.kind == "op" and tok.text in ("@", ".", "..", "(", "*")

    def _rel(self, root: str) -> Node:
        steps: list[tuple[str, Node]] = [("", self.step())]
        while self.at("/", "//"):
            sep = self.take().text
            steps.append((sep, self.step()))
        if root == "" and len(steps) == 1 and isinstance(steps[0][1], Filter):
            flt = steps[0][1]
            assert isinstance(flt, Filter)
            if not flt.preds:
                return flt.primary
        return Path(root, steps)

    def _preds(self) -> list[Node]:
        preds: list[Node] = []
        while self.at("["):
            self.take()
            preds.append(self.expr())
            self.take("]")
        return preds

    def step(self) -> Node:
        tok = self.peek()
        if tok is None:
            raise UntranslatableError(f"path ends early in {self.text!r}")
        if tok.kind == "op" and tok.text == "@":
            self.take()
            return Step("attribute", self.take().text, self._preds())
        if tok.kind == "op" and tok.text == "..":
            self.take()
            return Step("parent", "node()", self._preds())
        if tok.kind == "op" and tok.text == ".":
            self.take()
            preds = self._preds()
            return Filter(Ctx(), preds) if preds else Filter(Ctx())
        if tok.kind == "name":
            nxt = self.peek(1)
            if nxt is not None and nxt.kind == "op" and nxt.text == "::":
                self.take()
                self.take()
                test = self.take().text
                if self.at("("):
                    self.take()
                    self.take(")")
                    test += "()"
                return Step(tok.text, test, self._preds())
            if nxt is not None and nxt.kind == "op" and nxt.text == "(":
                if tok.text in _NODE_TYPES:
                    self.take()
                    self.take()
                    self.take(")")
                    return Step("child", tok.text + "()", self._preds())
                return Filter(self.call(), self._preds())
            self.take()
            return Step("child", tok.text, self._preds())
        return Filter(self.primary(), self._preds())

    def call(self) -> Node:
        name = self.take().text
        self.take("(")
        args: list[Node] = []
        if not self.at(")"):
            args.append(self.single())
            while self.at(","):
                self.take()
                args.append(self.single())
        self.take(")")
        return Call(name, args)

    def primary(self) -> Node:
        tok = self.take()
        if tok.kind == "str":
            return Lit(tok.text)
        if tok.kind == "num":
            return Num(tok.text)
        if tok.kind == "var":
            return Var(tok.text[1:])
        if tok.kind == "op" and tok.text == "(":
            if self.at(")"):
                self.take()
                return Seq([])
            inner = self.expr()
            self.take(")")
            return inner if isinstance(inner, Seq) else Seq([inner])
        raise UntranslatableError(f"unexpected {tok.text!r} in {self.text!r}")


def parse(text: str) -> Node:
    """The syntax tree of an XPath 2.0 expression (the subset the rules use)."""
    return _Parser(text).parse()


# --- emitter ------------------------------------------------------------------------------

_UPPER = "'abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'"
# Latin letters beyond ASCII with a one-letter upper case (U+00B5 to U+024F), for rules whose
# text has such letters ('GODKÄND FÖR F-SKATT'): upper-case() maps them as Unicode does.
_LATIN_LOWER = "".join(
    chr(c) for c in range(0xB5, 0x250) if len(chr(c).upper()) == 1 and chr(c).upper() != chr(c)
)
_UPPER_LATIN = (
    f"'abcdefghijklmnopqrstuvwxyz{_LATIN_LOWER}', "
    f"'ABCDEFGHIJKLMNOPQRSTUVWXYZ{''.join(c.upper() for c in _LATIN_LOWER)}'"
)
_LOWER = "'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'"
# Casts that keep a value's identity for comparisons and sums: on a node, drop them.
_VALUE_CASTS = {"xs:decimal", "xs:double", "xs:float", "number", "data", "xs:integer"}
_STRING_CASTS = {"string", "xs:string", "normalize-space"}
_COMPARE = {"eq": "=", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
_SAME_NAME = {
    "not", "count", "sum", "concat", "contains", "starts-with", "substring", "substring-before",
    "substring-after", "string-length", "normalize-space", "translate", "round", "floor",
    "ceiling", "boolean", "string", "number", "true", "false", "local-name", "name", "last",
    "position", "namespace-uri",
}  # fmt: skip


@dataclass(slots=True)
class Hoisted:
    """A quantifier lifted out of an expression into an XSLT loop.

    The expression refers to it as ``$name``: a string, empty when the quantifier holds for
    ``every`` (no member fails) and non-empty when it holds for ``some`` (a member passes).

    Attributes:
        name: the variable holding the loop's result.
        kind: ``every`` or ``some``.
        var: the quantified variable's name.
        seq: the XPath 1.0 node-set looped over (evaluated at the rule's context).
        numeric: bind the variable to the member's number rather than the node.
        cond: the XPath 1.0 condition (the rule's context is ``$ctx``).
        inner: quantifiers hoisted out of ``cond`` (evaluated inside the loop).
    """

    name: str
    kind: str
    var: str
    seq: str
    numeric: bool
    cond: str
    inner: list[Hoisted]


@dataclass(slots=True)
class Translation:
    """An XPath 1.0 expression and the quantifiers it needs computed first."""

    xpath: str
    hoisted: list[Hoisted]


class _Emitter:
    def __init__(
        self,
        prefix: str,
        known_functions: dict[str, str],
        pattern: bool,
        walks: dict[str, str] | None = None,
    ) -> None:
        self.pattern = pattern  # an XSLT match pattern: child and attribute axes only
        self.walks = walks  # absolute //name walks -> the variable computed once per document
        self.hoisted: list[Hoisted] = []
        self.prefix = prefix
        self.count = 0
        self.functions = known_functions  # XPath 2.0 user function -> extension function
        self.base: str | None = None  # rebase relative paths at top level onto this
        self.in_pred = 0
        self.latin = False  # the expression has letters beyond ASCII (see _UPPER_LATIN)

    # entry points
    def emit(self, node: Node) -> str:
        method = getattr(self, "_" + type(node).__name__.lower())
        result: str = method(node)
        return result

    def boolean(self, node: Node) -> str:
        return self.emit(node)

    # leaves
    def _lit(self, node: Lit) -> str:
        return node.value

    def _num(self, node: Num) -> str:
        return node.text

    def _var(self, node: Var) -> str:
        return "$" + node.name

    def _ctx(self, node: Ctx) -> str:
        if self.base is not None and not self.in_pred:
            return self.base
        return "."

    def _neg(self, node: Neg) -> str:
        return f"-({self.emit(node.operand)})"

    def _seq(self, node: Seq) -> str:
        if len(node.items) == 1:
            return f"({self.emit(node.items[0])})"
        if not node.items:
            return "/.."  # the empty sequence as an empty node-set
        if all(_is_nodeish(i) for i in node.items):
            # (a, b) of nodes: the same nodes as a | b (order aside), e.g. for exists()
            return "(" + " | ".join(self.emit(i) for i in node.items) + ")"
        raise UntranslatableError("sequence of several values outside a membership test")

    def _if(self, node: If) -> str:
        cond = self.emit(node.cond)
        if not (_booleanish(node.then) and _booleanish(node.other)):
            if _is_nodeish(node.then) and _is_nodeish(node.other):
                if not _context_free(node.cond):
                    raise UntranslatableError("if over nodes with a context-relative condition")
                # nodes: those of the branch the (document-wide) condition chooses
                then, other = self.emit(node.then), self.emit(node.other)
                return f"(({then})[{cond}] | ({other})[not({cond})])"
            # a string or number: the chosen branch's string (substring(s, 1 div false()) is '')
            then, other = self.emit(node.then), self.emit(node.other)
            return (
                f"concat(substring(string({then}), 1 div boolean({cond})), "
                f"substring(string({other}), 1 div not({cond})))"
            )
        return (
            f"((boolean({cond}) and boolean({self.emit(node.then)})) or "
            f"(not({cond}) and boolean({self.emit(node.other)})))"
        )

    def _cast(self, node: Cast) -> str:
        inner = self.emit(node.operand)
        if node.type in ("xs:decimal", "xs:double", "xs:integer"):
            if node.castable:
                return f"(string(number({inner})) != 'NaN')"
            return f"number({inner})"
        if node.type in ("xs:date",):
            if node.castable:
                return f"boolean(ff:is-date(string({inner})))"
            return f"number(translate({inner}, '-', ''))"
        if node.type in ("xs:string",):
            return f"string({inner})"
        raise UntranslatableError(f"cast as {node.type}")

    def _quant(self, node: Quant) -> str:
        member = _membership(node)
        if member is not None:
            return self.emit(member)
        if self.in_pred:
            raise UntranslatableError("quantifier inside a predicate")
        self.count += 1
        name = f"{self.prefix}q{self.count}"
        seq_node, numeric = _strip_value_cast(node.seq)
        seq = self.emit(seq_node)
        outer_hoisted, outer_base = self.hoisted, self.base
        self.hoisted = []
        self.base = "$ctx"
        try:
            cond = self.emit(node.cond)
        finally:
            inner, self.hoisted, self.base = self.hoisted, outer_hoisted, outer_base
        self.hoisted.append(Hoisted(name, node.kind, node.var, seq, numeric, cond, inner))
        return f"(string(${name}) = '')" if node.kind == "every" else f"(string(${name}) != '')"

    # operators
    def _bin(self, node: Bin) -> str:
        op = _COMPARE.get(node.op, node.op)
        if op in ("=", "!=", "<", "<=", ">", ">="):
            return self._compare(op, node.left, node.right)
        if op == "idiv":
            return f"floor(({self.emit(node.left)}) div ({self.emit(node.right)}))"
        if (
            op == "mod"
            and isinstance(node.left, Call)
            and node.left.name in ("xs:integer", "xs:decimal")
            and len(node.left.args) == 1
            and isinstance(node.left.args[0], Call)
            and node.left.args[0].name == "string-join"
        ):
            # a number built of digits (an IBAN's): exact, not as a double
            kind = "integer" if node.left.name == "xs:integer" else "decimal"
            value = self.emit(node.left.args[0])
            return f"ff:{kind}-mod({value}, {self.emit(node.right)})"
        if op == "is":
            raise UntranslatableError("node identity")
        if op in ("and", "or"):
            return f"({self.emit(node.left)} {op} {self.emit(node.right)})"
        if op == "|":
            return f"{self.emit(node.left)} | {self.emit(node.right)}"
        return f"({self.emit(node.left)} {op} {self.emit(node.right)})"

    def _compare(self, op: str, left: Node, right: Node) -> str:
        for side, b, flipped in ((left, right, False), (right, left, True)):
            a = side
            while isinstance(a, Seq) and len(a.items) == 1:
                a = a.items[0]
            if isinstance(a, Cast) and a.type == "xs:boolean" and not a.castable:
                a = a.operand
            if _is_boolean_literal(b):
                value = "true" if _boolean_value(b) else "false"
                if not _is_nodeish(a):
                    break
                lexical = (
                    "'true' or normalize-space(.) = '1'"
                    if value == "true"
                    else ("'false' or normalize-space(.) = '0'")
                )
                nodes = self.emit(a)
                test = f"boolean(({nodes})[normalize-space(.) = {lexical}])"
                return (
                    test
                    if op == "="
                    else f"boolean(({nodes})[normalize-space(.) != '']) and not({test})"
                )
            mapped = _mapped_call(a)
            if mapped is not None:
                base, call = mapped
                other = _flip(op) if flipped else op
                if not _context_free(b):
                    raise UntranslatableError("mapped call compared with a context-relative value")
                base_x = self.emit(base)
                self.in_pred += 1
                try:
                    inner = f"{self.emit(call)} {other} {self.emit(b)}"
                finally:
                    self.in_pred -= 1
                return f"boolean(({base_x})[{inner}])"
            seq = _literal_seq(b)
            if seq is not None and op == "=" and _one_string(a):
                listed = _word_list(seq)
                if listed is not None:
                    value = self.emit(a)
                    return (
                        f"(not(contains({value}, ' ')) and "
                        f"contains({listed}, concat(' ', {value}, ' ')))"
                    )
            if seq is not None and op in ("=", "!="):
                value = self.emit(a)
                tests = " or ".join(f"{value} = {self.emit(item)}" for item in seq)
                if op == "=":
                    return f"({tests})" if tests else "false()"
                raise UntranslatableError("!= against a sequence")
        if op in ("=", "!=") and _numeric(left, right):
            lx, rx = self._number(left), self._number(right)
            if op == "=":
                return f"(({lx}) - ({rx}) <= {_EPSILON} and ({rx}) - ({lx}) <= {_EPSILON})"
            return f"(({lx}) - ({rx}) > {_EPSILON} or ({rx}) - ({lx}) > {_EPSILON})"
        if op in ("<", ">", "<=", ">=") and _untyped(left) and _untyped(right):
            # two untyped values compare as strings in XPath 2.0 (dates as written), not
            # as the numbers XPath 1.0 would make of them
            lx, rx = self.emit(_unwrap(left)), self.emit(_unwrap(right))
            return f"ff:compare-strings({lx}, '{op}', {rx})"
        if op in ("<", ">", "<=", ">=") and _numeric(left, right):
            # strictly less: less by more than the rounding error; at most: not more by it.
            lx, rx = self._number(left), self._number(right)
            margin = {"<": "-", ">": "+", "<=": "+", ">=": "-"}[op]
            return f"({lx}) {op} ({rx}) {margin} {_EPSILON}"
        return f"{self.emit(left)} {op} {self.emit(right)}"

    def _number(self, node: Node) -> str:
        if isinstance(node, (Path, Filter, Var)):
            return f"number({self.emit(node)})"
        return self.emit(node)

    # paths
    def _path(self, node: Path) -> str:
        steps = list(node.steps)
        # A function call as the last step: map it over the nodes before it.
        if len(steps) > 1 and isinstance(steps[-1][1], Filter):
            last = steps[-1][1]
            assert isinstance(last, Filter)
            call = last.primary
            if (
                isinstance(call, Call)
                and call.name == "tokenize"
                and len(call.args) == 2
                and isinstance(call.args[0], Ctx)
                and steps[-1][0] == "/"
            ):
                # P/tokenize(., re)[p]: the tokens of each node of P, then filtered
                base_x = self.emit(Path(node.root, steps[:-1]))
                preds = "".join(self._pred(p) for p in last.preds)
                return f"(ff:tokenize({base_x}, {self.emit(call.args[1])})){preds}"
            if isinstance(last.primary, Call) and not last.preds:
                base = Path(node.root, steps[:-1])
                return self._mapped(base, steps[-1][0], last.primary)
        first_step = steps[0][1]
        if (
            self.pattern
            and len(steps) == 1
            and node.root == ""
            and isinstance(first_step, Filter)
            and isinstance(first_step.primary, Seq)
            and first_step.preds
            and _plain_preds(first_step)
        ):
            # a pattern (A | B)[p] (XSLT 3.0) as A[p] | B[p]
            alternatives = [
                _with_preds(a, first_step.preds) for a in _union_members(first_step.primary)
            ]
            return " | ".join(self.emit(a) for a in alternatives)
        parts: list[str] = []
        prefix = node.root
        if node.root == "" and self.base is not None and not self.in_pred:
            first = steps[0][1]
            if isinstance(first, Step) or (
                isinstance(first, Filter) and isinstance(first.primary, Ctx)
            ):
                prefix = self.base + "/"
        for i, (sep, step) in enumerate(steps):
            if (
                isinstance(step, Filter)
                and isinstance(step.primary, Seq)
                and (i > 0 or node.root)
                and len(step.primary.items) == 1
            ):
                inner = step.primary.items[0]
                if _booleanish(inner) and i == len(steps) - 1 and not step.preds:
                    # P/(test)  ->  some node of P passes the test
                    head = self.emit(Path(node.root, steps[:i])) if i else node.root + "."
                    return f"boolean(({head})[{self._pred_body(inner)}])"
                # P/(a|b)/rest  ->  (P/a | P/b)/rest
                alts = _union_members(step.primary)
                if i == 0:
                    union = " | ".join(node.root + self._step(_as_step(a)) for a in alts)
                else:
                    union = " | ".join(
                        self.emit(Path(node.root, [*steps[:i], (sep, _as_step(a))])) for a in alts
                    )
                tail = "".join(s + self._step(st) for s, st in steps[i + 1 :])
                preds = "".join(self._pred(p) for p in step.preds)
                return self._absolute(node, f"({union}){preds}{tail}")
            if _descendant(sep if i else node.root, step) and not self.pattern:
                # //x[p] as /descendant::x[p]: the same nodes for predicates that do not
                # count positions, found in one walk instead of a child step from every node.
                if i == 0 and self.walks is not None:
                    # The document's walk for x is made once (a global variable), not once
                    # per assert: $w[p] is /descendant::x[p] (same nodes, document order).
                    assert isinstance(step, Step)
                    prefix = ""
                    parts.append(self._walk(_indexed(step.test), _preds(self, step)))
                    continue
                if i == 0:
                    prefix = "/"
                parts.append(("/" if i else "") + "descendant::" + self._step(step))
                continue
            if (
                i == 0
                and node.root == "//"
                and self.walks is not None
                and not self.pattern
                and isinstance(step, Step)
                and step.axis == "attribute"
                and _plain_preds(step)
            ):
                # //@a[p]: the document's attributes named a, found once per document.
                prefix = ""
                parts.append(self._walk(_indexed_attribute(step.test), _preds(self, step)))
                continue
            parts.append(sep + self._step(step))
        return self._absolute(node, prefix + "".join(parts))

    def _absolute(self, node: Path, xpath: str) -> str:
        """An absolute path that needs no context: the document's value, computed once."""
        if (
            self.walks is None
            or self.pattern
            or node.root not in ("/", "//")
            or xpath == "/"
            or _GLOBAL_REF.fullmatch(xpath)
            or _LOCAL_REF.search(xpath)
            or "current()" in xpath
        ):
            return xpath
        return self._walk(xpath)

    def _walk(self, select: str, preds: str = "") -> str:
        """The global variable holding ``select`` (filtered by ``preds``, each once)."""
        assert self.walks is not None
        name = self.walks.get(select)
        if name is None:
            name = self.walks[select] = f"ffw{len(self.walks)}"
        if preds and not _LOCAL_REF.search(preds) and "current()" not in preds:
            return self._walk(f"${name}{preds}")
        return f"${name}{preds}"

    def _mapped(self, base: Path, sep: str, call: Call) -> str:
        name = call.name
        if (name in _VALUE_CASTS or name in ("string", "xs:string")) and len(call.args) == 1:
            arg = call.args[0]
            if isinstance(arg, Ctx):
                return self.emit(base)
            if isinstance(arg, Path) and arg.root == "":
                return self.emit(
                    Path(base.root, [*base.steps, (sep, arg.steps[0][1]), *arg.steps[1:]])
                )
        # f(args) over a base with at most one node: rebase the arguments' relative paths.
        base_x = self.emit(base)
        if sep == "//":
            raise UntranslatableError("function mapped over //")
        saved = self.base
        self.base = base_x
        try:
            return self.emit(call)
        finally:
            self.base = saved

    def _step(self, step: Node) -> str:
        if isinstance(step, Step):
            preds = "".join(self._pred(p) for p in step.preds)
            if step.axis == "child":
                return step.test + preds
            if step.axis == "attribute":
                return "@" + step.test + preds
            if step.axis == "parent" and step.test == "node()" and not step.preds:
                return ".."
            return f"{step.axis}::{step.test}{preds}"
        assert isinstance(step, Filter)
        preds = "".join(self._pred(p) for p in step.preds)
        if isinstance(step.primary, Ctx):
            return "." + preds if not preds else "self::node()" + preds
        saved, self.base = self.base, None
        try:
            inner = self.emit(step.primary)
        finally:
            self.base = saved
        return f"({inner}){preds}" if preds else inner

    def _pred_body(self, pred: Node) -> str:
        self.in_pred += 1
        try:
            return self.emit(pred)
        finally:
            self.in_pred -= 1

    def _pred(self, pred: Node) -> str:
        self.in_pred += 1
        try:
            return f"[{self.emit(pred)}]"
        finally:
            self.in_pred -= 1

    def _for(self, node: For) -> str:
        seq = node.seq
        if not (
            isinstance(seq, Call) and seq.name == "string-to-codepoints" and len(seq.args) == 1
        ):
            raise UntranslatableError("for over anything but string-to-codepoints()")
        body = _codepoint_body(node.body, node.var)
        key = "cp" + hashlib.sha256(repr(node.body).encode()).hexdigest()[:12]
        peppol_functions.register_body(key, body)
        return f"ff:map-codepoints(string({self.emit(seq.args[0])}), '{key}')"

    def _filter(self, node: Filter) -> str:
        preds = "".join(self._pred(p) for p in node.preds)
        inner = self.emit(node.primary)
        return f"({inner}){preds}" if preds else inner

    # functions
    def _call(self, node: Call) -> str:
        name, args = node.name, node.args

        def emitted(i: int) -> str:
            return self.emit(args[i])

        if name in ("xs:decimal", "xs:double", "xs:float", "xs:integer"):
            # XPath 1.0 number() refuses a leading '+', which xs:decimal accepts.
            value = emitted(0) if args else self._ctx(Ctx())
            if args and _arith(args[0]):
                return f"number({value})"
            return f"number(translate({value}, '+', ''))"
        if name == "number":
            return f"number({emitted(0) if args else self._ctx(Ctx())})"
        if name in ("xs:string", "string", "data"):
            return f"string({emitted(0) if args else self._ctx(Ctx())})"
        if name == "xs:date":
            return f"number(translate(normalize-space({emitted(0)}), '-', ''))"
        if name == "exists":
            return f"boolean({emitted(0)})"
        if name == "empty":
            return f"not({emitted(0)})"
        if name == "upper-case":
            return f"translate({emitted(0)}, {_UPPER_LATIN if self.latin else _UPPER})"
        if name == "lower-case":
            return f"translate({emitted(0)}, {_LOWER})"
        if name == "abs":
            x = emitted(0)
            return f"(({x}) * (({x} >= 0) - ({x} < 0)))"
        if name == "tokenize" and len(args) == 2:
            return f"ff:tokenize({emitted(0)}, {emitted(1)})"
        if name == "string-join":
            sep = emitted(1) if len(args) > 1 else "''"
            return f"ff:string-join({emitted(0)}, {sep})"
        if name == "replace" and len(args) == 3:
            return f"ff:replace(string({emitted(0)}), {emitted(1)}, {emitted(2)})"
        if name == "matches":
            return f"regexp:test(string({emitted(0)}), {emitted(1)})"
        if name == "ends-with":
            a, b = emitted(0), emitted(1)
            return f"(substring({a}, string-length({a}) - string-length({b}) + 1) = {b})"
        if name == "distinct-values":
            return f"set:distinct({emitted(0)})"
        if name in ("normalize-space", "string-length", "local-name", "name") and not args:
            return f"{name}({self._ctx(Ctx())})"
        if name in _SAME_NAME:
            return f"{name}({', '.join(self.emit(a) for a in args)})"
        if name in self.functions:
            return f"{self.functions[name]}({', '.join(self.emit(a) for a in args)})"
        raise UntranslatableError(f"function {name}()")


def _with_preds(node: Node, preds: list[Node]) -> Node:
    """``node`` (a path) with ``preds`` added to its last step."""
    if isinstance(node, Path) and isinstance(node.steps[-1][1], Step):
        sep, last = node.steps[-1]
        assert isinstance(last, Step)
        step = Step(last.axis, last.test, [*last.preds, *preds])
        return Path(node.root, [*node.steps[:-1], (sep, step)])
    raise UntranslatableError("predicate on a union of non-paths")


def _unwrap(node: Node) -> Node:
    while isinstance(node, Seq) and len(node.items) == 1:
        node = node.items[0]
    return node


def _untyped(node: Node) -> bool:
    """A path to elements or attributes (an untyped value, not a number or a cast)."""
    node = _unwrap(node)
    if not isinstance(node, Path) or _mapped_call(node) is not None:
        return False
    return all(isinstance(step, Step) for _sep, step in node.steps)


_STRING_CALLS = {
    "normalize-space", "string", "upper-case", "lower-case", "substring", "concat",
    "translate", "substring-before", "substring-after", "xs:string",
}  # fmt: skip


def _one_string(node: Node) -> bool:
    """An expression with at most one string value (so membership can be containment)."""
    node = _unwrap(node)
    if isinstance(node, Call):
        return node.name in _STRING_CALLS
    if isinstance(node, Path) and node.root == "" and len(node.steps) == 1:
        step = node.steps[0][1]
        return isinstance(step, Step) and step.axis == "attribute" and not step.preds
    return False


def _word_list(items: list[Node]) -> str | None:
    """A literal ``' A B C '`` for membership by containment, if the items allow it."""
    words: list[str] = []
    for item in items:
        if not isinstance(item, Lit) or len(items) < 4:
            return None
        words.append(_unquote(item.value))
    text = " " + " ".join(words) + " "
    if any(any(c in w for c in " '\"\t\n\r") for w in words):
        return None
    return f"'{text}'"


def _unquote(literal: str) -> str:
    quote = literal[0]
    return literal[1:-1].replace(quote + quote, quote)


def _codepoint_body(node: Node, var: str) -> Callable[[int], str]:
    """The body of ``for $var in string-to-codepoints(...) return BODY`` as Python.

    Atomic values only: the code point (an xs:integer), integer literals, arithmetic,
    comparisons, ``if``, ``string()`` and ``codepoints-to-string()``.
    """
    fn = _atomic(node, var)
    return lambda cp: peppol_functions.string_value(_xpath_value(fn(cp)))


def _xpath_value(value: object) -> object:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    return value


def _atomic(node: Node, var: str) -> Callable[[int], object]:
    node = _unwrap(node)
    if isinstance(node, Var) and node.name == var:
        return lambda cp: cp
    if isinstance(node, Num) and node.text.isdigit():
        value = int(node.text)
        return lambda _cp: value
    if isinstance(node, Lit):
        text = _unquote(node.value)
        return lambda _cp: text
    if isinstance(node, If):
        cond, then, other = (_atomic(n, var) for n in (node.cond, node.then, node.other))
        return lambda cp: then(cp) if cond(cp) else other(cp)
    if isinstance(node, Bin) and node.op in _INT_OPS:
        left, right, op = _atomic(node.left, var), _atomic(node.right, var), _INT_OPS[node.op]
        return lambda cp: op(left(cp), right(cp))
    if isinstance(node, Call) and len(node.args) == 1:
        arg = _atomic(node.args[0], var)
        if node.name in ("string", "xs:string"):
            return lambda cp: str(arg(cp))
        if node.name == "codepoints-to-string":
            return lambda cp: chr(int(arg(cp)))  # type: ignore[call-overload]
    raise UntranslatableError("for body outside integer arithmetic")


_INT_OPS: dict[str, Callable[[Any, Any], object]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    "=": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


def _as_step(node: Node) -> Node:
    if isinstance(node, Path) and node.root == "" and len(node.steps) == 1:
        return node.steps[0][1]
    if isinstance(node, Step):
        return node
    raise UntranslatableError("union of non-steps inside a path")


def _union_members(seq: Seq) -> list[Node]:
    if len(seq.items) != 1:
        raise UntranslatableError("sequence inside a path")
    out: list[Node] = []

    def walk(n: Node) -> None:
        if isinstance(n, Bin) and n.op == "|":
            walk(n.left)
            walk(n.right)
        else:
            out.append(n)

    walk(seq.items[0])
    return out


# Decimal arithmetic done in binary floating point: sums of amounts carry an error far below
# a cent, so two computed amounts are equal when they differ by less than this.
_EPSILON = "0.000001"
_NUMERIC_CALLS = {
    "round",
    "sum",
    "abs",
    "number",
    "xs:decimal",
    "xs:double",
    "xs:integer",
    "count",
    "floor",
    "ceiling",
    "string-length",
}


def _arith(node: Node) -> bool:
    while isinstance(node, Seq) and len(node.items) == 1:
        node = node.items[0]
    if isinstance(node, Bin):
        return node.op in ("+", "-", "*", "div", "mod", "idiv")
    if isinstance(node, Neg):
        return True
    return isinstance(node, Call) and node.name in _NUMERIC_CALLS


def _numeric(left: Node, right: Node) -> bool:
    """Both sides are numbers, one of them computed (so compare with a tolerance)."""

    def plain(n: Node) -> bool:
        return isinstance(n, (Path, Num)) and not _mapped_call(n)

    la, ra = _arith(left), _arith(right)
    return (la and (ra or plain(right))) or (ra and plain(left))


def _booleanish(node: Node) -> bool:
    if isinstance(node, Bin):
        return node.op in (
            "=",
            "!=",
            "<",
            "<=",
            ">",
            ">=",
            "eq",
            "ne",
            "lt",
            "le",
            "gt",
            "ge",
            "and",
            "or",
        )
    if isinstance(node, Call):
        return node.name in (
            "not",
            "exists",
            "empty",
            "boolean",
            "true",
            "false",
            "contains",
            "starts-with",
            "ends-with",
            "matches",
        )
    return isinstance(node, Quant)


def _descendant(sep: str, step: Node) -> bool:
    """A ``//name[...]`` step that ``/descendant::name[...]`` can replace."""
    return sep == "//" and isinstance(step, Step) and step.axis == "child" and _plain_preds(step)


def _indexed(test: str) -> str:
    """All the document's elements passing a name test: from the name index if it is a name."""
    prefix, _, local = test.rpartition(":")
    if prefix and local != "*" and "(" not in test:
        return f"key('ff-names', '{local}')[self::{test}]"
    return "/descendant::" + test


def _indexed_attribute(test: str) -> str:
    """All the document's attributes passing a name test: from the attribute index."""
    if re.fullmatch(r"[A-Za-z_][\w.-]*", test):
        return f"key('ff-attributes', '{test}')[namespace-uri() = '']"
    return "//@" + test


_LOCAL_REF = re.compile(r"\$(?!ffw\d)")
_GLOBAL_REF = re.compile(r"\$ffw\d+")


def _preds(emitter: _Emitter, step: Step) -> str:
    return "".join(emitter._pred(p) for p in step.preds)


def _plain_preds(step: Node) -> bool:
    """Predicates that do not depend on position (so they filter a shared node-set alike)."""
    preds = step.preds if isinstance(step, (Step, Filter)) else []
    return all(not isinstance(p, Num) and not _uses_position(p) for p in preds)


def _uses_position(node: Node) -> bool:
    if isinstance(node, Call):
        return node.name in ("position", "last") or any(_uses_position(a) for a in node.args)
    if isinstance(node, Bin):
        return _uses_position(node.left) or _uses_position(node.right)
    if isinstance(node, (Neg,)):
        return _uses_position(node.operand)
    if isinstance(node, Seq):
        return any(_uses_position(i) for i in node.items)
    return False


def _flip(op: str) -> str:
    return {"<": ">", ">": "<", "<=": ">=", ">=": "<="}.get(op, op)


def _is_boolean_literal(node: Node) -> bool:
    return isinstance(node, Call) and node.name in ("true", "false") and not node.args


def _boolean_value(node: Node) -> bool:
    assert isinstance(node, Call)
    return node.name == "true"


def _is_nodeish(node: Node) -> bool:
    return isinstance(node, (Path, Filter, Var))


def _mapped_call(node: Node) -> tuple[Path, Call] | None:
    """``P/f(args)`` where ``f`` changes the value (e.g. ``normalize-space``)."""
    if not isinstance(node, Path) or len(node.steps) < 2:
        return None
    sep, last = node.steps[-1]
    if sep != "/" or not isinstance(last, Filter) or last.preds:
        return None
    call = last.primary
    if not isinstance(call, Call) or call.name in _VALUE_CASTS:
        return None
    return Path(node.root, node.steps[:-1]), call


def _context_free(node: Node) -> bool:
    if isinstance(node, (Lit, Num, Var)):
        return True
    if isinstance(node, Filter):
        return _context_free(node.primary) and all(_context_free(p) for p in node.preds)
    if isinstance(node, Path):
        first = node.steps[0][1] if node.steps else None
        # $v[1]/x: rooted in a variable, not in the context
        return node.root != "" or (isinstance(first, Filter) and isinstance(first.primary, Var))
    if isinstance(node, Call):
        return all(_context_free(a) for a in node.args)
    if isinstance(node, (Seq,)):
        return all(_context_free(a) for a in node.items)
    if isinstance(node, Bin):
        return _context_free(node.left) and _context_free(node.right)
    if isinstance(node, Neg):
        return _context_free(node.operand)
    return False


def _literal_seq(node: Node) -> list[Node] | None:
    if (
        isinstance(node, Seq)
        and len(node.items) != 1
        and all(isinstance(i, (Lit, Num)) for i in node.items)
    ):
        return node.items
    return None


def _strip_value_cast(node: Node) -> tuple[Node, bool]:
    """A quantifier's sequence as nodes, and whether its members were cast to numbers."""
    if isinstance(node, Call) and node.name in _VALUE_CASTS and len(node.args) == 1:
        return node.args[0], True
    if isinstance(node, Path) and len(node.steps) > 1:
        sep, last = node.steps[-1]
        if isinstance(last, Filter) and isinstance(last.primary, Call) and not last.preds:
            call = last.primary
            if call.name in _VALUE_CASTS and len(call.args) == 1:
                arg = call.args[0]
                base = node.steps[:-1]
                if isinstance(arg, Ctx):
                    return Path(node.root, base), True
                if isinstance(arg, Path) and arg.root == "":
                    return Path(node.root, [*base, (sep, arg.steps[0][1]), *arg.steps[1:]]), True
    return node, False


def _membership(node: Quant) -> Node | None:
    """``some $x in ('A', 'B') satisfies $x = E`` as ``E = 'A' or E = 'B'``."""
    seq = _literal_seq(node.seq)
    cond = node.cond
    if (
        seq is None
        or node.kind != "some"
        or not isinstance(cond, Bin)
        or cond.op not in ("=", "eq")
    ):
        return None
    if isinstance(cond.left, Var) and cond.left.name == node.var:
        other = cond.right
    elif isinstance(cond.right, Var) and cond.right.name == node.var:
        other = cond.left
    else:
        return None
    return Bin("=", other, Seq(seq))


def _fold(node: Node, constants: dict[str, Node]) -> Node:
    """``node`` with constant variables replaced by their values and ``tokenize`` of
    literals done (a literal sequence)."""
    if isinstance(node, Var):
        return constants.get(node.name, node)
    if (
        isinstance(node, Call)
        and node.name == "tokenize"
        and len(node.args) == 2
        and all(isinstance(a, Lit) for a in node.args)
    ):
        text, regex = (_unquote(a.value) for a in node.args)  # type: ignore[attr-defined]
        words = peppol_functions.tokenize(text, regex)
        return Seq([Lit("'" + w.replace("'", "''") + "'") for w in words])
    for f in fields(node):
        value = getattr(node, f.name)
        if isinstance(value, Node):
            setattr(node, f.name, _fold(value, constants))
        elif isinstance(value, list):
            setattr(node, f.name, [_fold_item(v, constants) for v in value])
    return node


def _fold_item(value: Any, constants: dict[str, Node]) -> Any:
    if isinstance(value, Node):
        return _fold(value, constants)
    if isinstance(value, tuple):
        return tuple(_fold(v, constants) if isinstance(v, Node) else v for v in value)
    return value


def constant_value(text: str, constants: dict[str, Node] | None = None) -> Node | None:
    """The value of a ``let`` that is a literal or a sequence of literals (a code list such
    as ``tokenize('AD AE ...', '\\s')``), else None."""
    node = _fold(parse(text), constants or {})
    if isinstance(node, (Lit, Num)):
        return node
    if isinstance(node, Seq) and all(isinstance(i, (Lit, Num)) for i in node.items):
        return node
    return None


def translate(
    text: str,
    *,
    prefix: str = "h",
    functions: dict[str, str] | None = None,
    pattern: bool = False,
    walks: dict[str, str] | None = None,
    constants: dict[str, Node] | None = None,
) -> Translation:
    """The XPath 1.0 form of ``text`` and the quantifiers to compute before it.

    With ``walks``, an absolute ``//name`` or ``//@name`` step becomes a variable reference
    (``$ffw3``) and ``walks`` maps its select (``/descendant::cac:TaxCategory``) to the
    variable's name: the caller computes each walk once per document, not once per assert.

    Raises:
        UntranslatableError: ``text`` uses XPath 2.0 this translator does not render.
    """
    emitter = _Emitter(prefix, functions or {}, pattern, walks)
    emitter.latin = any(ord(c) > 127 for c in text)
    xpath = emitter.emit(_fold(parse(text), constants or {}))
    return Translation(xpath, emitter.hoisted)
