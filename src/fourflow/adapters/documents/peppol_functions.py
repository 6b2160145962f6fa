"""The Peppol BIS Billing 3 Schematron's own XSLT 2.0 functions, as libxslt extension functions.

``PEPPOL-EN16931-{UBL,CII}.sch`` (3.0.19) declares ``u:gln``, ``u:slack``, ``u:mod11``,
``u:mod97-0208``, ``u:checkCodiceIPA``, ``u:checkCF``/``checkCF16``, ``u:checkPIVAseIT``/
``checkPIVA``/``addPIVA``, ``u:abn``, ``u:TinVerification`` and ``u:checkSEOrgnr`` as
``xsl:function`` bodies in XPath 2.0. Each is written here in Python with the same XPath 2.0
behaviour (1-based ``substring`` with its rounding rules, ``number()`` giving NaN, ``mod``
taking the dividend's sign, ``xs:integer`` castability, a shorter string giving the empty
sequence, hence ``false``), and registered under :data:`EXTENSIONS_NS` with the XPath 2.0
helpers the translated rules call (``tokenize``, ``replace``, ``string-join``, ``castable as
xs:date``, string ordering of untyped values, exact ``xs:integer``/``xs:decimal`` ``mod``, a
``for`` over code points). Registration is process-wide (:func:`register`); the compiled
stylesheets name them ``ff:...``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

EXTENSIONS_NS = "urn:fourflow:rules"

# The Schematron function (prefix u, namespace "utils") -> its extension function name.
PEPPOL_FUNCTIONS = {
    "u:gln": "ff:gln",
    "u:slack": "ff:slack",
    "u:mod11": "ff:mod11",
    "u:mod97-0208": "ff:mod97-0208",
    "u:checkCodiceIPA": "ff:checkCodiceIPA",
    "u:checkCF": "ff:checkCF",
    "u:checkCF16": "ff:checkCF16",
    "u:checkPIVAseIT": "ff:checkPIVAseIT",
    "u:checkPIVA": "ff:checkPIVA",
    "u:addPIVA": "ff:addPIVA",
    "u:abn": "ff:abn",
    "u:TinVerification": "ff:TinVerification",
    "u:checkSEOrgnr": "ff:checkSEOrgnr",
}

_NAN = float("nan")

# --- XPath 2.0 value helpers ---------------------------------------------------------------


def string_value(value: Any) -> str:
    """The string an argument atomizes to (first item of a sequence; '' for none)."""
    if isinstance(value, list):
        if not value:
            return ""
        value = value[0]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _double_string(value)
    if isinstance(value, etree._Element):
        return "".join(str(t) for t in value.itertext())
    return str(value)


def _items(value: Any) -> list[str]:
    """Each item of an argument as a string (a node-set gives one per node)."""
    if isinstance(value, list):
        return [string_value(v) for v in value]
    return [string_value(value)]


def _double_string(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "INF" if value > 0 else "-INF"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return format(value, ".15g")


_DOUBLE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def number(text: str) -> float:
    """XPath 2.0 ``number()`` of a string: its xs:double, else NaN."""
    text = text.strip(" \t\n\r")
    if _DOUBLE.fullmatch(text):
        return float(text)
    return {"INF": math.inf, "+INF": math.inf, "-INF": -math.inf}.get(text, _NAN)


_INTEGER = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")


def castable_integer(text: str) -> bool:
    """``$text castable as xs:integer`` (whitespace collapsed)."""
    return _INTEGER.fullmatch(text.strip(" \t\n\r")) is not None


def _integer(text: str) -> int:
    """``xs:integer($text)``; ValueError when not castable (a dynamic error in XPath)."""
    if not castable_integer(text):
        raise ValueError(f"cannot cast {text!r} to xs:integer")
    return int(text.strip(" \t\n\r"))


def decimal_of(value: Any, *, computed: bool = False) -> Decimal:
    """An argument as xs:decimal: a string or node by its lexical form, a number to 15
    significant digits; ``computed``: a string of 16 or more significant digits too (how
    libxml2 writes a number it computed)."""
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ValueError("NaN or INF is not an xs:decimal")
        # XPath 1.0 computed this in binary floating point; 15 significant digits drop the
        # representation error that xs:decimal arithmetic would not have had.
        return Decimal(format(value, ".15g"))
    text = string_value(value).strip(" \t\n\r")
    if not _DECIMAL.fullmatch(text):
        raise ValueError(f"cannot cast {text!r} to xs:decimal")
    exact = Decimal(text)
    if computed and len(exact.as_tuple().digits) > 15:
        # libxml2 writes a number it computed (an if/then/else branch) with 16-17 digits
        # ('8.289999999999999' for 8.29): the same 15 significant digits as above
        return Decimal(format(float(exact), ".15g"))
    return exact


def substring(text: str, start: float, length: float | None = None) -> str:
    """XPath ``substring`` (1-based, positions rounded, NaN/INF as the spec says)."""
    if math.isnan(start):
        return ""
    first = _round(start)
    if length is None:
        last = math.inf
    else:
        if math.isnan(length):
            return ""
        last = first + _round(length)
    out = []
    for position, char in enumerate(text, start=1):
        if first <= position < last:
            out.append(char)
    return "".join(out)


def _round(value: float) -> float:
    if math.isinf(value):
        return value
    return math.floor(value + 0.5)


def xmod(a: float, b: float) -> float:
    """XPath ``mod``: the remainder takes the dividend's sign (NaN for a zero divisor)."""
    if b == 0 or math.isnan(a) or math.isnan(b) or math.isinf(a):
        return _NAN
    return math.fmod(a, b)


def _codepoints(text: str) -> list[int]:
    return [ord(c) for c in text]


# --- the Schematron's functions -----------------------------------------------------------


def gln(value: Any) -> bool:
    """``u:gln``: the GS1 check digit of a GLN."""
    val = string_value(value)
    length = len(val) - 1
    digits = list(reversed([c - 48 for c in _codepoints(substring(val, 0, length + 1))]))
    weighted = sum(digits[i] * (1 + (((i + 1) % 2) * 2)) for i in range(0, length))
    return xmod(10 - xmod(weighted, 10), 10) == number(substring(val, length + 1, 1))


def slack(expected: Any, value: Any, tolerance: Any) -> bool:
    """``u:slack``: ``value`` within ``tolerance`` of ``expected`` (xs:decimal arithmetic)."""
    exp, val, tol = (decimal_of(v, computed=True) for v in (expected, value, tolerance))
    return exp + tol >= val and exp - tol <= val


def mod11(value: Any) -> bool:
    """``u:mod11``: the modulus 11 check digit (Norwegian organisation number)."""
    val = string_value(value)
    length = len(val) - 1
    digits = list(reversed([c - 48 for c in _codepoints(substring(val, 0, length + 1))]))
    weighted = sum(digits[i] * ((i % 6) + 2) for i in range(0, length))
    return number(val) > 0 and xmod(11 - xmod(weighted, 11), 11) == number(
        substring(val, length + 1, 1)
    )


def mod97_0208(value: Any) -> bool:
    """``u:mod97-0208``: the Belgian enterprise number's check digits."""
    val = string_value(value)
    check = substring(val, 9, 2)
    calculated = str(97 - int(xmod(_integer(substring(val, 1, 8)), 97)))
    return number(check) == number(calculated)


_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _only(text: str, allowed: str) -> bool:
    return all(c in allowed for c in text)


def check_codice_ipa(value: Any) -> bool:
    """``u:checkCodiceIPA``: six letters or digits."""
    arg = string_value(value)
    return _only(arg, _LETTERS + "0123456789") and len(arg) == 6


def check_cf(value: Any) -> bool:
    """``u:checkCF``: an Italian tax code (16 characters, or 11 digits)."""
    arg = string_value(value)
    if len(arg) == 16:
        return check_cf16(arg)
    if len(arg) == 11:
        return castable_integer(arg)
    return False


def check_cf16(value: Any) -> bool:
    """``u:checkCF16``: the shape of a 16-character codice fiscale."""
    arg = string_value(value)
    return (
        _only(substring(arg, 1, 6), _LETTERS)
        and castable_integer(substring(arg, 7, 2))
        and _only(substring(arg, 9, 1), _LETTERS)
        and castable_integer(substring(arg, 10, 2))
        and castable_integer(substring(arg, 15, 1))
        and _only(substring(arg, 16, 1), _LETTERS)
    )


def check_piva_se_it(value: Any) -> bool:
    """``u:checkPIVAseIT``: an Italian VAT number (IT + 11 digits with a valid check)."""
    arg = string_value(value)
    country, code = substring(arg, 1, 2), substring(arg, 3)
    if country in ("IT", "it"):
        return len(code) == 11 and check_piva(code) == 0
    return True


def check_piva(value: Any) -> int:
    """``u:checkPIVA``: 0 when the Partita IVA's Luhn-like sum is a multiple of 10."""
    arg = string_value(value)
    if not castable_integer(arg):
        return 1
    return int(xmod(add_piva(arg, 0), 10))


def add_piva(value: Any, even: Any) -> int:
    """``u:addPIVA``: the recursive digit sum of ``u:checkPIVA``."""
    arg = string_value(value)
    pari = int(even) if not isinstance(even, list) else int(number(string_value(even)))
    total = 0
    while castable_integer(arg):
        first = _integer(substring(arg, 1, 1))
        total += int(substring("0246813579", first + 1, 1)) if pari == 1 else first
        arg = substring(arg, 2)
        pari = 1 if pari == 0 else 0
    return total


def abn(value: Any) -> bool:
    """``u:abn``: the Australian Business Number's modulus 89 check."""
    val = string_value(value)
    weights = (1, 3, 5, 7, 9, 11, 13, 15, 17, 19)
    chars = [substring(val, i, 1) for i in range(1, 12)]
    if any(len(c) != 1 for c in chars):
        return False  # a missing character is the empty sequence: () mod 89 = 0 is false
    total = (ord(chars[0]) - 49) * 10
    total += sum((ord(c) - 48) * w for c, w in zip(chars[1:], weights, strict=True))
    return xmod(total, 89) == 0


def tin_verification(value: Any) -> bool:
    """``u:TinVerification``: the Greek TIN's check digit (the ninth character)."""
    digits = list(string_value(value))

    def digit(n: int) -> float:
        return number(digits[n - 1]) if n <= len(digits) else _NAN

    checksum = sum(digit(9 - k) * 2**k for k in range(1, 9))
    return xmod(xmod(checksum, 11), 10) == digit(9)


def check_se_orgnr(value: Any) -> bool:
    """``u:checkSEOrgnr``: a Swedish organisation number's Luhn check digit."""
    text = string_value(value)
    if re.fullmatch(r"\d+", text) is None:
        return False
    main, check = substring(text, 1, 9), substring(text, 10, 1)
    total = 0.0
    for pos in range(1, len(main) + 1):
        d = number(substring(main, len(main) - pos + 1, 1))
        if math.isnan(d):
            raise ValueError("not a digit")  # idiv of NaN is a dynamic error in XPath
        total += (d * 2) % 10 + (d * 2) // 10 if pos % 2 == 1 else d
    return xmod(10 - xmod(total, 10), 10) == number(check)


# --- XPath 2.0 helpers the translation calls ------------------------------------------------


def xsd_regex(pattern: str) -> re.Pattern[str]:
    """An XML Schema regular expression (as XPath 2.0 ``matches`` reads it) in Python."""
    return _regex(pattern)


_REGEX_CACHE: dict[str, re.Pattern[str]] = {}


def _regex(pattern: str) -> re.Pattern[str]:
    found = _REGEX_CACHE.get(pattern)
    if found is None:
        found = _REGEX_CACHE[pattern] = re.compile(_python_regex(pattern))
    return found


def _python_regex(pattern: str) -> str:
    """XPath 2.0 regex semantics in Python: ``\\s`` is ``[ \\t\\n\\r]`` only, and ``$``
    (outside a class) is the end of the string, not also before a final newline."""
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            pair = pattern[i : i + 2]
            if pair == "\\s":
                out.append(" \\t\\n\\r" if in_class else "[ \\t\\n\\r]")
            else:
                out.append(pair)
            i += 2
            continue
        if ch == "[" and not in_class:
            in_class = True
        elif ch == "]" and in_class:
            in_class = False
        elif ch == "$" and not in_class:
            ch = "\\Z"
        out.append(ch)
        i += 1
    return "".join(out)


def tokenize(value: Any, pattern: Any) -> list[str]:
    """``tokenize($value, $pattern)``, mapped over each item (empty input: no tokens)."""
    out: list[str] = []
    regex = _regex(string_value(pattern))
    for text in _items(value):
        if text:
            out.extend(regex.split(text) if regex.groups == 0 else _split_keep(regex, text))
    return out


def _split_keep(regex: re.Pattern[str], text: str) -> list[str]:
    """``re.split`` without the captured groups (XPath tokenize drops them)."""
    out, start = [], 0
    for m in regex.finditer(text):
        out.append(text[start : m.start()])
        start = m.end()
    out.append(text[start:])
    return out


def matches(value: Any, pattern: Any) -> bool:
    """``matches($value, $pattern)`` with XPath 2.0 anchors."""
    return _regex(string_value(pattern)).search(string_value(value)) is not None


def replace(value: Any, pattern: Any, replacement: Any) -> str:
    """``replace($value, $pattern, $replacement)`` (``$n`` group references)."""
    repl = re.sub(r"\\([\\$])|\$(\d)", _repl_part, string_value(replacement))
    return _regex(string_value(pattern)).sub(repl, string_value(value))


def _repl_part(m: re.Match[str]) -> str:
    if m.group(1):
        return "\\\\" if m.group(1) == "\\" else "$"
    return f"\\g<{m.group(2)}>"


def string_join(value: Any, separator: Any = "") -> str:
    """``string-join($value, $separator)``."""
    return string_value(separator).join(_items(value))


_DATE = re.compile(r"-?(\d{4,})-(\d{2})-(\d{2})(Z|[+-](\d{2}):(\d{2}))?")


def is_date(value: Any) -> bool:
    """``$value castable as xs:date``."""
    m = _DATE.fullmatch(string_value(value).strip(" \t\n\r"))
    if m is None:
        return False
    year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if len(m.group(1)) > 4 and m.group(1).startswith("0"):
        return False
    if m.group(5) is not None:
        hours, minutes = int(m.group(5)), int(m.group(6))
        if minutes > 59 or hours > 14 or (hours == 14 and minutes):
            return False
    if not 1 <= month <= 12:
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days = (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[month - 1]
    return 1 <= day <= days


def compare_strings(left: Any, op: str, right: Any) -> bool:
    """A general comparison of two untyped sequences: as strings, any pair (XPath 2.0)."""
    ops: dict[str, Callable[[str, str], bool]] = {
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }
    test = ops[op]
    return any(test(a, b) for a in _items(left) for b in _items(right))


def decimal_mod(value: Any, divisor: Any) -> float:
    """``xs:decimal($value) mod $divisor`` (or ``xs:integer``) exactly; NaN if not castable."""
    try:
        dividend = decimal_of(string_value(value))
        result = dividend % decimal_of(divisor)  # Decimal % keeps the dividend's sign
    except (ValueError, InvalidOperation, ArithmeticError):
        return _NAN
    return float(result)


def integer_mod(value: Any, divisor: Any) -> float:
    """``xs:integer($value) mod $divisor`` exactly; NaN if not castable."""
    text = string_value(value)
    if not castable_integer(text):
        return _NAN
    return decimal_mod(text, divisor)


# ``for $v in string-to-codepoints($s) return BODY``: BODY compiled to a Python function of the
# code point (see xpath2.CodepointBody); registered under a key the stylesheet passes.
_BODIES: dict[str, Callable[[int], str]] = {}


def register_body(key: str, body: Callable[[int], str]) -> None:
    """Make a ``for`` body callable from a stylesheet as ``ff:map-codepoints(s, key)``."""
    _BODIES[key] = body


def map_codepoints(value: Any, key: Any) -> list[str]:
    """Each code point of ``value`` through the registered body (as strings)."""
    body = _BODIES[string_value(key)]
    return [body(c) for c in _codepoints(string_value(value))]


def _ext(function: Callable[..., Any]) -> Callable[..., Any]:
    def call(_context: Any, *args: Any) -> Any:
        try:
            return function(*args)
        except (ValueError, InvalidOperation, ArithmeticError, IndexError):
            # A dynamic error in XPath 2.0 (a failed cast): the assert does not hold.
            return False

    return call


_EXTENSIONS: dict[str, Callable[..., Any]] = {
    "gln": gln,
    "slack": slack,
    "mod11": mod11,
    "mod97-0208": mod97_0208,
    "checkCodiceIPA": check_codice_ipa,
    "checkCF": check_cf,
    "checkCF16": check_cf16,
    "checkPIVAseIT": check_piva_se_it,
    "checkPIVA": check_piva,
    "addPIVA": add_piva,
    "abn": abn,
    "TinVerification": tin_verification,
    "checkSEOrgnr": check_se_orgnr,
    "tokenize": tokenize,
    "matches": matches,
    "replace": replace,
    "string-join": string_join,
    "is-date": is_date,
    "compare-strings": compare_strings,
    "decimal-mod": decimal_mod,
    "integer-mod": integer_mod,
    "map-codepoints": map_codepoints,
}


def register() -> None:
    """Register the extension functions with lxml (process-wide; idempotent)."""
    namespace = etree.FunctionNamespace(EXTENSIONS_NS)
    for name, function in _EXTENSIONS.items():
        if name not in namespace:
            namespace[name] = _ext(function)


def names() -> Sequence[str]:
    """The registered functions' local names."""
    return tuple(_EXTENSIONS)
