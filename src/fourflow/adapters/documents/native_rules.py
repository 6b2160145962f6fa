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
A step may carry the predicates the VAT-category rules use (see :data:`_PREDICATES`: the
VAT-scheme test, a normalized ID, a charge indicator, a plain string comparison), and a
document-wide node set (a stylesheet global, ``$ffwN``) is a flag when it is elements by
name, by a value key (``key('ff-v0', 'S')``, with a parent), filtered by such predicates, or
a path below one of those.

The VAT breakdown's per-category rules (BR-S-05..10, BR-Z-, BR-E-, BR-AE-, BR-IC-, BR-G-,
BR-O-, BR-AF-, BR-AG-) are native too. Their contexts: a subtotal's category
(``/*/cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory[..]``, a grandparent under the document
element), a category by its code key under an allowance or a charge (the charges less those
that are also allowances), or under a line's item (a grandparent). Their numeric tests
(:data:`_NUMERIC`: a rate or a tax amount within 0.000001 of 0, a rate above or at 0) read
numbers with libxml2's own number() (``xmlXPathCastStringToNumber`` of lxml's libxml2, the
stylesheet's) and compare them as XPath's doubles; their sums by category and rate and the
tax amount's rounding (-08, -09) are C functions (``vat_sum_rate``, ``vat_sum_plain``,
``vat_amount``) taken only where the stylesheet's test is, character for character, the
text they implement (:data:`_RATE_SUM_STRICT`, :data:`_RATE_SUM`, :data:`_CATEGORY_SUM`,
:data:`_TAX_AMOUNT`): XPath's sum() in document order, round() as libxml2's (halves up),
built with ``-ffp-contract=off`` so no multiply-add changes a rounding. Hypothesis-drawn
breakdowns at those rules' edges hold them to the stylesheet's verdicts. So are two monetary
totals against their rounded sums (BR-CO-14, the tax total; BR-CO-10, the lines' total:
:data:`_TOTAL`, :data:`_TOTAL_LINES`, rulesnative.c's ``total_is``), and a line period's
end date not before its start (BR-30: :data:`_DATES`, ``date_not_before``), and a tax
subtotal's amount against its taxable amount and rate, and the rate's presence (BR-CO-17,
BR-48: :data:`_SUBTOTAL_TAX`, :data:`_SUBTOTAL_RATE`, ``subtotal_atom``), and the
intra-community supply's delivery (BR-IC-11, BR-IC-12: :data:`_IC_DELIVERY`,
``intra_community_atom``), and the total with VAT in the document's currency (BR-CO-15:
:data:`_CURRENCY_TOTAL`, ``currency_total_atom``), and a note's subject code (BR-CL-08:
:data:`_SUBJECT_CODE`, ``subject_code_atom``).

Every other assert whose test the pass can evaluate without the stylesheet is decided by
libxml2's own XPath from C (lxml's libxml2, the library libxslt evaluates the stylesheet's
tests with, so the verdict is the stylesheet's by construction): the whole test compiled
once and evaluated at each context element (kind 21, :func:`_whole_test`: XPath 1.0's own
functions, and the stylesheet's extension functions the pass registers with the XPath
context: libexslt's ``set:distinct``, ``ff:compare-strings``, ``regexp:test`` for
:data:`_PATTERNS`), a translated quantifier (kind 22,
:func:`_quantified`), and rules whose contexts the walk cannot match by names, their select
evaluated once a document (:func:`_selected`). The stylesheet's globals such tests read are
evaluated once a document and bound as variables, each ``key()`` written as the nodes it
returns (the name index's per-name sets gathered in one walk: :func:`_written`; a
``[self::p:N]`` filter of such a set, which every element of it passes, left out, and a
global that is such a set gathered in the walk too). The XPath context (its namespaces,
functions and object cache) is kept from one document to the next, its variables dropped at
the end of each run (they hold that document's nodes); each run binds its own. So every
EN 16931 assert (UBL and CII) is native, and
:class:`~fourflow.adapters.documents.business_rules.Hybrid` carries no stylesheet for them.

The extension is built by ``make setup`` (:func:`build`, into ``build/native`` of the source
tree); when it is absent, or fails its self-test, the engine logs it once and runs the
whole stylesheet.
"""

from __future__ import annotations

import ctypes
import logging
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from lxml import etree

from fourflow.adapters.documents import cextension
from fourflow.adapters.documents.schematron import XSL, CompiledSchematron

__all__ = ["NativePass", "build", "load", "native_pass"]

log = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("rulesnative.c")
BUILD_DIR = cextension.BUILD_DIR
MODULE = "_rulesnative"

_NAME = r"[A-Za-z_][\w.-]*"
_STEP = rf"{_NAME}:{_NAME}"
# a string literal without XML whitespace (so normalize-space(s) = it iff s trimmed is it)
_LIT = r"[^'\s]*"
_LOWER, _UPPER = "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# The predicates a step may carry (as the stylesheet writes them), see _predicate():
# some child whose first X upper-cased and normalized is (not) 'L' (the VAT-scheme test);
# the first child's (or the node's own) normalized string is (not) 'L'; some child whose
# normalized string is 'L1' or 'L2' (a charge indicator); some child whose string is 'L'.
_SCHEME = re.compile(
    rf"boolean\(\(({_STEP})\)\[normalize-space\(translate\(({_STEP}), '{_LOWER}', '{_UPPER}'\)\)"
    rf" (!?=) '({_LIT})'\]\)"
)
_NORMALIZED = re.compile(rf"normalize-space\(({_STEP}|\.)\) (!?=) '({_LIT})'")
_EITHER = re.compile(
    rf"boolean\(\(({_STEP})\)\[normalize-space\(\.\) = '({_LIT})' or "
    rf"normalize-space\(\.\) = '({_LIT})'\]\)"
)
_EQUALS = re.compile(rf"({_STEP}) = '({_LIT})'")
_PREDICATES = (_SCHEME, _NORMALIZED, _EITHER, _EQUALS)
_PRED = "".join(
    (
        r"\[(?:",
        "|".join(re.sub(r"\((?!\?)(?<!\\\()", "(?:", p.pattern) for p in _PREDICATES),
        r")\]",
    )
)
_STEPP = rf"{_STEP}(?:{_PRED})*"
_FIRST = rf"\(\s*{_STEP}(?:\s*\|\s*{_STEP})+\s*\)|{_STEPP}"
# child steps (the first may be a union of plain steps), each with predicates of _PREDICATES,
# an optional last attribute step; or . or @name
_PATH = rf"(?:(?:{_FIRST})(?:/{_STEPP})*(?:/@{_NAME})?|@{_NAME}|\.)"
_LIST = r"'( [^']*)'"
AND, OR, NOT = -1, -2, -3
# The atoms of the tests the pass decides (as the stylesheet writes them), each with its
# kind (rulesnative.c's atom()) and whether the atom is the kind's negation; the second
# group, if any, is the kind's aux. A test is atoms joined by and, or, not() and parentheses.
_ATOMS = (
    # P selects a node
    (re.compile(rf"boolean\(({_PATH})\)"), 0, False),
    # the first node of P does not normalize to ''
    (re.compile(rf"normalize-space\(({_PATH})\) != ''"), 3, True),
    # P selects at most N
    (re.compile(rf"\(count\(({_PATH})\)\) <= \((\d+)\) \+ 0\.000001"), 2, True),
    # P selects more than N
    (re.compile(rf"\(count\(({_PATH})\)\) > \((\d+)\) \+ 0\.000001"), 2, False),
    # P selects exactly N
    (re.compile(
        rf"\(\(count\(({_PATH})\)\) - \((\d+)\) <= 0\.000001 and "
        rf"\(\2\) - \(count\(\1\)\) <= 0\.000001\)"
    ), 7, False),
    # the first node of P, normalized, has no space and is in the code list
    (re.compile(
        rf"\(not\(contains\(normalize-space\(({_PATH})\), ' '\)\) and "
        rf"contains\({_LIST}, concat\(' ', normalize-space\(\1\), ' '\)\)\)"
    ), 4, True),
    # at most N characters after the first '.' of the first node of P
    (re.compile(
        rf"\(string-length\(substring-after\(({_PATH}), '\.'\)\)\) <= \((\d+)\) \+ 0\.000001"
    ), 5, True),
)  # fmt: skip
_BARE = re.compile(_PATH)
# counts of globals the pass can tell empty or not: A + B > 0 (A or B), A + B = 0, A = 0
_FLAG_FORMS = (
    (re.compile(r"\(\(\(count\(\$(ffw\d+)\) \+ count\(\$(ffw\d+)\)\)\)\) > \(0\) \+ 0\.000001"),
     False),
    (re.compile(
        r"\(\(\(count\(\$(ffw\d+)\) \+ count\(\$(ffw\d+)\)\)\)\) - \(0\) <= 0\.000001 and "
        r"\(0\) - \(\(\(count\(\$\1\) \+ count\(\$\2\)\)\)\) <= 0\.000001"
    ), True),
    (re.compile(
        r"\(count\(\$(ffw\d+)\)\) - \(0\) <= 0\.000001 and "
        r"\(0\) - \(count\(\$\1\)\) <= 0\.000001"
    ), True),
)  # fmt: skip
_VARIABLE = re.compile(r"(?:boolean\(\$(ffw\d+)\)|\$(ffw\d+))")
# document-wide node sets (the stylesheet's globals) the pass can tell empty or not
_ANY_ATTRIBUTE = re.compile(rf"key\('ff-attributes', '({_NAME})'\)\[namespace-uri\(\) = ''\]")
_ANY_ELEMENT = re.compile(rf"key\('ff-names', '({_NAME})'\)\[self::({_STEP})\]")
_UNDER = re.compile(rf"\$(ffw\d+)/({_PATH})")
_FILTERED = re.compile(rf"\$(ffw\d+)((?:{_PRED})+)")
_BY_KEY = re.compile(
    rf"key\('(ff-v\d+)', '({_LIT})'\)\[self::({_STEP})\](?:\[parent::({_STEP})((?:{_PRED})*)\])?"
    rf"((?:{_PRED})*)"
)
_ROOTS = re.compile(rf"/{_STEP}(?:\s*\|\s*/{_STEP})*")
# a rule context selecting elements by name, optionally with an attribute and a parent
_BY_NAME = re.compile(
    rf"key\('ff-names', '({_NAME})'\)\[self::({_STEP})(?:\[@({_NAME})\])?"
    rf"(?:\[parent::({_STEP})\])?\]"
)
_ENDS = (
    rf"\(substring\(name\(\.\), string-length\(name\(\.\)\) - string-length\('({_NAME})'\) \+ 1\)"
    rf" = '({_NAME})'\)"
)
_EVERY = rf"/descendant::\*\[contains\(local-name\(\), '({_NAME})'\)\]\[self::\*\["
# rule contexts selecting every element whose name ends with a suffix (UBL-DT-*: *Amount),
# optionally not with another and without an ancestor holding a given child
_BY_SUFFIX = re.compile(rf"{_EVERY}{_ENDS}\]\]")
_BY_SUFFIX_BUT = re.compile(
    rf"{_EVERY}\(\({_ENDS} and not\({_ENDS}\)\) and not\(ancestor::({_STEP})/({_STEP})\)\)\]\]"
)
_BY_PARENT = re.compile(
    rf"key\('ff-names', '({_NAME})'\)/({_STEP})\[self::({_STEP})(?:\[@({_NAME})\])?"
    rf"\[parent::({_STEP})\]\]"
)


# Numeric atoms (rulesnative.c's kinds 10-12) over one child step from the context element,
# or from its parent (``../``): number(translate(first, '+', '')) within 0.000001 of N; some
# node's number > N; >= N.
_ONE_STEP = rf"(?:\.\./)?{_STEP}(?:/{_STEP}){{0,3}}"
_NUMERIC = (
    (re.compile(
        rf"\(number\(translate\(({_ONE_STEP}), '\+', ''\)\)\) - \((\d+)\) <= 0\.000001 and "
        rf"\(\2\) - \(number\(translate\(\1, '\+', ''\)\)\) <= 0\.000001"
    ), 10),
    (re.compile(rf"\(({_ONE_STEP})\) > (\d+)(?![\d.])"), 11),
    (re.compile(rf"\(({_ONE_STEP})\) >= (\d+)(?![\d.])"), 12),
)  # fmt: skip
# A monetary total against the rounded sum of its parts (BR-CO-14: the tax total and its
# subtotals' amounts), exactly as the stylesheet writes it: number(translate(A, '+', '')) within
# 0.000001 of round(sum(B) * 10 * 10) div 100, both ways (rulesnative.c's kind 18, total_is:
# sum() in document order from 0, libxml2's round()).
_TOTAL = re.compile(
    rf"\(number\(translate\(({_ONE_STEP}), '\+', ''\)\)\) - \(\(round\(\(\(\(sum\(({_ONE_STEP})\) "
    r"\* 10\) \* 10\)\)\) div 100\)\) <= 0\.000001 and "
    r"\(\(round\(\(\(\(sum\(\2\) \* 10\) \* 10\)\)\) div 100\)\) - "
    r"\(number\(translate\(\1, '\+', ''\)\)\) <= 0\.000001"
)
# BR-CO-10: the sum of line amounts against the lines' (a global of every line's amount,
# :data:`_LINE_AMOUNTS`, checked by its text)
_TOTAL_LINES = re.compile(
    rf"\(number\(translate\(({_ONE_STEP}), '\+', ''\)\)\) - "
    r"\(number\(\(round\(\(\(sum\(\$(ffw\d+)\) \* 10\) \* 10\)\) div 100\)\)\) <= 0\.000001 and "
    r"\(number\(\(round\(\(\(sum\(\$\2\) \* 10\) \* 10\)\) div 100\)\)\) - "
    r"\(number\(translate\(\1, '\+', ''\)\)\) <= 0\.000001"
)
_LINE_AMOUNTS = (
    "(key('ff-names', 'InvoiceLine')[self::cac:InvoiceLine] | key('ff-names', 'CreditNoteLine')"
    "[self::cac:CreditNoteLine])/cbc:LineExtensionAmount"
)
# BR-29, BR-30: an end date not before a start date, as numbers of the dates without '-'
# (rulesnative.c's kind 20, date_not_before)
_DATES = re.compile(
    rf"number\(translate\(normalize-space\(({_ONE_STEP})\), '-', ''\)\) >= "
    rf"number\(translate\(normalize-space\(({_ONE_STEP})\), '-', ''\)\)"
)
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
# The VAT breakdown's arithmetic asserts of the EN 16931 UBL rules, exactly as the compiled
# stylesheet writes them (with the category {cat}, the assert {n} and the globals of every
# cac:InvoiceLine {il}, cac:CreditNoteLine {cl} and cac:AllowanceCharge {ac}): the pass
# decides them in C (rulesnative.c's vat_sum_rate, vat_sum_plain, vat_amount) only where the
# stylesheet's text is one of these; any other text stays with the stylesheet.
# their shared start: the sums by category and rate of a subtotal's category (the
# allowances, charges, credit note lines and invoice lines of that category and rate)
_RATE_SUMS = (
    '<xsl:variable name="a{n}qq1"><xsl:for-each select="cbc:Percent"><xsl:variable name="rate" '
    'select="number(.)"/><xsl:variable name="a{n}qq1s0" select="sum($ctx/../../../cac:Allowance'
    "Charge[boolean((cbc:ChargeIndicator)[normalize-space(.) = 'false' or normalize-space(.) = "
    "'0'])][boolean((cac:TaxCategory)[normalize-space(cbc:ID) = '{cat}'])][cac:TaxCategory/cbc:"
    'Percent = $rate]/cbc:Amount)"/><xsl:variable name="a{n}qq1s1" select="sum($ctx/../../../ca'
    "c:AllowanceCharge[boolean((cbc:ChargeIndicator)[normalize-space(.) = 'true' or normalize-s"
    "pace(.) = '1'])][boolean((cac:TaxCategory)[normalize-space(cbc:ID) = '{cat}'])][cac:TaxCat"
    'egory/cbc:Percent = $rate]/cbc:Amount)"/><xsl:variable name="a{n}qq1s2" select="sum($ctx/.'
    "./../../cac:CreditNoteLine[boolean((cac:Item/cac:ClassifiedTaxCategory)[normalize-space(cb"
    "c:ID) = '{cat}'])][cac:Item/cac:ClassifiedTaxCategory/cbc:Percent = $rate]/cbc:LineExtensi"
    'onAmount)"/><xsl:variable name="a{n}qq1s3" select="sum($ctx/../../../cac:InvoiceLine[boole'
    "an((cac:Item/cac:ClassifiedTaxCategory)[normalize-space(cbc:ID) = '{cat}'])][cac:Item/cac:"
    'ClassifiedTaxCategory/cbc:Percent = $rate]/cbc:LineExtensionAmount)"/><xsl:if test="not(('
)
_RATE_SUM_STRICT = (
    _RATE_SUMS
    + "(((((boolean(${il}[boolean((cac:Item/cac:ClassifiedTaxCategory)[normalize-space(cbc:ID) = "
    "'{cat}'])][cac:Item/cac:ClassifiedTaxCategory/cbc:Percent = $rate]) or boolean(${ac}[boole"
    "an((cac:TaxCategory)[normalize-space(cbc:ID) = '{cat}'])][cac:TaxCategory/cbc:Percent = $r"
    "ate]))) and ((((number(number(($ctx/../cbc:TaxableAmount - 1)))) &lt; (((($a{n}qq1s3 + $a{"
    "n}qq1s1) - $a{n}qq1s0))) - 0.000001) and ((number(number(($ctx/../cbc:TaxableAmount + 1)))"
    ") &gt; (((($a{n}qq1s3 + $a{n}qq1s1) - $a{n}qq1s0))) + 0.000001))))) or (((boolean(${cl}[bo"
    "olean((cac:Item/cac:ClassifiedTaxCategory)[normalize-space(cbc:ID) = '{cat}'])][cac:Item/c"
    "ac:ClassifiedTaxCategory/cbc:Percent = $rate]) or boolean(${ac}[boolean((cac:TaxCategory)["
    "normalize-space(cbc:ID) = '{cat}'])][cac:TaxCategory/cbc:Percent = $rate]))) and ((((numbe"
    "r(number(($ctx/../cbc:TaxableAmount - 1)))) &lt; (((($a{n}qq1s2 + $a{n}qq1s1) - $a{n}qq1s0"
    "))) - 0.000001) and ((number(number(($ctx/../cbc:TaxableAmount + 1)))) &gt; (((($a{n}qq1s2"
    ' + $a{n}qq1s1) - $a{n}qq1s0))) + 0.000001)))))))">x</xsl:if></xsl:for-each></xsl:variable>'
)
_RATE_SUM = (
    _RATE_SUMS
    + "(((boolean(${il}) and ((((number(number(($ctx/../cbc:TaxableAmount - 1)))) &lt; (((($a{n}q"
    "q1s3 + $a{n}qq1s1) - $a{n}qq1s0))) - 0.000001) and ((number(number(($ctx/../cbc:TaxableAmo"
    "unt + 1)))) &gt; (((($a{n}qq1s3 + $a{n}qq1s1) - $a{n}qq1s0))) + 0.000001))))) or ((boolean"
    "(${cl}) and ((((number(number(($ctx/../cbc:TaxableAmount - 1)))) &lt; (((($a{n}qq1s2 + $a{"
    "n}qq1s1) - $a{n}qq1s0))) - 0.000001) and ((number(number(($ctx/../cbc:TaxableAmount + 1)))"
    ') &gt; (((($a{n}qq1s2 + $a{n}qq1s1) - $a{n}qq1s0))) + 0.000001))))))))">x</xsl:if></xsl:fo'
    "r-each></xsl:variable>"
)
_CATEGORY_SUM = (
    "not((((boolean(${il}) and (((number(translate(../cbc:TaxableAmount, '+', ''))) - ((((sum(."
    "./../../cac:InvoiceLine[boolean((cac:Item/cac:ClassifiedTaxCategory)[normalize-space(cbc:I"
    "D) = '{cat}'])]/cbc:LineExtensionAmount) + sum(../../../cac:AllowanceCharge[boolean((cbc:C"
    "hargeIndicator)[normalize-space(.) = 'true' or normalize-space(.) = '1'])][boolean((cac:Ta"
    "xCategory)[normalize-space(cbc:ID) = '{cat}'])]/cbc:Amount)) - sum(../../../cac:AllowanceC"
    "harge[boolean((cbc:ChargeIndicator)[normalize-space(.) = 'false' or normalize-space(.) = '"
    "0'])][boolean((cac:TaxCategory)[normalize-space(cbc:ID) = '{cat}'])]/cbc:Amount)))) <= 0.0"
    "00001 and ((((sum(../../../cac:InvoiceLine[boolean((cac:Item/cac:ClassifiedTaxCategory)[no"
    "rmalize-space(cbc:ID) = '{cat}'])]/cbc:LineExtensionAmount) + sum(../../../cac:AllowanceCh"
    "arge[boolean((cbc:ChargeIndicator)[normalize-space(.) = 'true' or normalize-space(.) = '1'"
    "])][boolean((cac:TaxCategory)[normalize-space(cbc:ID) = '{cat}'])]/cbc:Amount)) - sum(../."
    "./../cac:AllowanceCharge[boolean((cbc:ChargeIndicator)[normalize-space(.) = 'false' or nor"
    "malize-space(.) = '0'])][boolean((cac:TaxCategory)[normalize-space(cbc:ID) = '{cat}'])]/cb"
    "c:Amount)))) - (number(translate(../cbc:TaxableAmount, '+', ''))) <= 0.000001)))) or ((boo"
    "lean(${cl}) and (((number(translate(../cbc:TaxableAmount, '+', ''))) - ((((sum(../../../ca"
    "c:CreditNoteLine[boolean((cac:Item/cac:ClassifiedTaxCategory)[normalize-space(cbc:ID) = '{"
    "cat}'])]/cbc:LineExtensionAmount) + sum(../../../cac:AllowanceCharge[boolean((cbc:ChargeIn"
    "dicator)[normalize-space(.) = 'true' or normalize-space(.) = '1'])][boolean((cac:TaxCatego"
    "ry)[normalize-space(cbc:ID) = '{cat}'])]/cbc:Amount)) - sum(../../../cac:AllowanceCharge[b"
    "oolean((cbc:ChargeIndicator)[normalize-space(.) = 'false' or normalize-space(.) = '0'])][b"
    "oolean((cac:TaxCategory)[normalize-space(cbc:ID) = '{cat}'])]/cbc:Amount)))) <= 0.000001 a"
    "nd ((((sum(../../../cac:CreditNoteLine[boolean((cac:Item/cac:ClassifiedTaxCategory)[normal"
    "ize-space(cbc:ID) = '{cat}'])]/cbc:LineExtensionAmount) + sum(../../../cac:AllowanceCharge"
    "[boolean((cbc:ChargeIndicator)[normalize-space(.) = 'true' or normalize-space(.) = '1'])]["
    "boolean((cac:TaxCategory)[normalize-space(cbc:ID) = '{cat}'])]/cbc:Amount)) - sum(../../.."
    "/cac:AllowanceCharge[boolean((cbc:ChargeIndicator)[normalize-space(.) = 'false' or normali"
    "ze-space(.) = '0'])][boolean((cac:TaxCategory)[normalize-space(cbc:ID) = '{cat}'])]/cbc:Am"
    "ount)))) - (number(translate(../cbc:TaxableAmount, '+', ''))) <= 0.000001))))))"
)
_TAX_AMOUNT = (
    "not(((((((number(translate(../cbc:TaxAmount, '+', ''))) * ((number(translate(../cbc:TaxAmo"
    "unt, '+', '')) >= 0) - (number(translate(../cbc:TaxAmount, '+', '')) < 0))) - 1)) < ((roun"
    "d(((((((number(translate(../cbc:TaxableAmount, '+', ''))) * ((number(translate(../cbc:Taxa"
    "bleAmount, '+', '')) >= 0) - (number(translate(../cbc:TaxableAmount, '+', '')) < 0))) * (("
    "number(translate(cbc:Percent, '+', '')) div 100)))) * 10) * 10)) div 100)) - 0.000001) and"
    " (((((number(translate(../cbc:TaxAmount, '+', ''))) * ((number(translate(../cbc:TaxAmount,"
    " '+', '')) >= 0) - (number(translate(../cbc:TaxAmount, '+', '')) < 0))) + 1)) > ((round((("
    "((((number(translate(../cbc:TaxableAmount, '+', ''))) * ((number(translate(../cbc:TaxableA"
    "mount, '+', '')) >= 0) - (number(translate(../cbc:TaxableAmount, '+', '')) < 0))) * ((numb"
    "er(translate(cbc:Percent, '+', '')) div 100)))) * 10) * 10)) div 100)) + 0.000001)))"
)

# BR-CO-17 and BR-48 at a cac:TaxSubtotal, exactly as the compiled stylesheet writes them
# (rulesnative.c's kind 23, subtotal_atom): the subtotal's tax amount against its taxable
# amount times its VAT category's rate, and the rate present unless the category is O
_VAT_PERCENT = (
    "cac:TaxCategory[boolean((cac:TaxScheme)[normalize-space(translate(cbc:ID, 'abcdefghijklm"
    "nopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ')) = 'VAT'])]/cbc:Percent"
)
_SUBTOTAL_TAX = (
    "not(((((((round({p})) - (0) <= 0.000001 and (0) - (round({p})) <= 0.000001) and (((round"
    "(number(translate(cbc:TaxAmount, '+', '')))) - (0) <= 0.000001 and (0) - (round(number(t"
    "ranslate(cbc:TaxAmount, '+', '')))) <= 0.000001)))) or ((((round({p})) - (0) > 0.000001 "
    "or (0) - (round({p})) > 0.000001) and (((((((number(translate(cbc:TaxAmount, '+', ''))) "
    "* ((number(translate(cbc:TaxAmount, '+', '')) >= 0) - (number(translate(cbc:TaxAmount, '"
    "+', '')) < 0))) - 1)) < ((round((((((number(translate(cbc:TaxableAmount, '+', ''))) * (("
    "number(translate(cbc:TaxableAmount, '+', '')) >= 0) - (number(translate(cbc:TaxableAmoun"
    "t, '+', '')) < 0))) * (({p} div 100))) * 10) * 10)) div 100)) - 0.000001) and (((((numbe"
    "r(translate(cbc:TaxAmount, '+', ''))) * ((number(translate(cbc:TaxAmount, '+', '')) >= 0"
    ") - (number(translate(cbc:TaxAmount, '+', '')) < 0))) + 1)) > ((round((((((number(transl"
    "ate(cbc:TaxableAmount, '+', ''))) * ((number(translate(cbc:TaxableAmount, '+', '')) >= 0"
    ") - (number(translate(cbc:TaxableAmount, '+', '')) < 0))) * (({p} div 100))) * 10) * 10)"
    ") div 100)) + 0.000001)))))) or ((not(boolean({p})) and (((round(number(translate(cbc:Ta"
    "xAmount, '+', '')))) - (0) <= 0.000001 and (0) - (round(number(translate(cbc:TaxAmount, "
    "'+', '')))) <= 0.000001))))))"
).replace("{p}", _VAT_PERCENT)
_SUBTOTAL_RATE = (
    f"not((boolean({_VAT_PERCENT}) or (boolean(({_VAT_PERCENT.removesuffix('/cbc:Percent')})"
    "[normalize-space(cbc:ID) = 'O']))))"
)

# BR-IC-11 and BR-IC-12 at the document element, exactly as the compiled stylesheet writes
# them (rulesnative.c's kind 24, intra_community_atom): with a VAT category K in the
# breakdown, an actual delivery date or an invoicing period, and the delivery's country
_K_CATEGORY = (
    f"cac:TaxTotal/cac:TaxSubtotal/{_VAT_PERCENT.removesuffix('/cbc:Percent')}"
    "/cbc:ID[normalize-space(.) = 'K']"
)
_IC_DELIVERY = tuple(
    text.replace("{k}", _K_CATEGORY)
    for text in (
        "not((((boolean({k}) and (((string-length(cac:Delivery/cbc:ActualDeliveryDate)) > (1) "
        "+ 0.000001 or (cac:InvoicePeriod/*))))) or (not({k}))))",
        "not((((boolean({k}) and ((string-length(cac:Delivery/cac:DeliveryLocation/cac:Address/"
        "cac:Country/cbc:IdentificationCode)) > (1) + 0.000001))) or (not({k}))))",
    )
)

# BR-CL-08 (a note's subject code: the text between its first two '#', when it has three
# characters, is in the code list), exactly as the compiled stylesheet writes it (the list
# aside; rulesnative.c's kind 26, subject_code_atom): it reads the context element's string
_SUBJECT_LENGTH = (
    "((string-length(substring-before(substring-after(., '#'), '#'))) - (3) <= 0.000001 and "
    "(3) - (string-length(substring-before(substring-after(., '#'), '#'))) <= 0.000001)"
)
_SUBJECT_CODE = re.compile(
    re.escape(f"not((((((contains(., '#') and {_SUBJECT_LENGTH}) and (contains(")
    + r"'([^']*)'"
    + re.escape(
        ", substring-before(substring-after(., '#'), '#'))))) or not(contains(., '#'))) or "
        f"not({_SUBJECT_LENGTH})))"
    )
)

# BR-CO-15's quantifier at the document element (the rule's variable a{n}qq1, namespace
# declarations left out), exactly as the compiled stylesheet writes it (rulesnative.c's kind
# 25, currency_total_atom): the total with VAT is the total without VAT plus the one tax
# total in the document's currency
_CURRENCY_TOTAL = (
    '<xsl:variable name="a{n}qq1"><xsl:for-each select="cbc:DocumentCurrencyCode"><xsl:variabl'
    'e name="Currency" select="."/><xsl:if test="not(((((count($ctx/cac:TaxTotal/cbc:TaxAmoun'
    "t[@currencyID = $Currency])) - (1) &lt;= 0.000001 and (1) - (count($ctx/cac:TaxTotal/cbc"
    ":TaxAmount[@currencyID = $Currency])) &lt;= 0.000001)) and (((number($ctx/cac:LegalMonet"
    "aryTotal/cbc:TaxInclusiveAmount)) - ((round((((($ctx/cac:LegalMonetaryTotal/cbc:TaxExclu"
    "siveAmount + $ctx/cac:TaxTotal/cbc:TaxAmount[@currencyID = $Currency])) * 10) * 10)) div"
    " 100)) &lt;= 0.000001 and ((round((((($ctx/cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount"
    " + $ctx/cac:TaxTotal/cbc:TaxAmount[@currencyID = $Currency])) * 10) * 10)) div 100)) - ("
    'number($ctx/cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount)) &lt;= 0.000001))))">x</xsl:i'
    "f></xsl:for-each></xsl:variable>"
)


def module_path(directory: Path = BUILD_DIR) -> Path:
    """Where the built extension is (its name carries this Python's ABI suffix)."""
    return cextension.module_path(MODULE, directory)


def build(directory: Path = BUILD_DIR) -> Path:
    """Compile ``rulesnative.c`` against this Python and lxml's libxml2 headers (without
    contracted multiply-adds: XPath's double arithmetic rounds every operation).

    Raises:
        RuntimeError: the compiler is missing or failed (its output in the message).
    """
    return cextension.build(SOURCE, MODULE, directory, ["-ffp-contract=off"])


def _off(reason: str) -> None:
    log.warning("native rule pass off: %s; the rules run on the XSLT engine alone", reason)


def load(directory: Path = BUILD_DIR) -> ModuleType | None:
    """The built extension, or None (logged once) when it is absent or fails its self-test."""
    return cextension.load(MODULE, directory, _self_test, _off)


def _self_test(module: ModuleType) -> None:
    """The extension decides as the XPath does on a small document, or it is not used."""
    ns = "urn:t"
    root = etree.fromstring(
        f'<r xmlns="{ns}" xmlns:o="urn:o"><a><b x="1"/><b/><o:b/></a><a><b> </b></a>'
        '<c y=" EUR ">1.255<d>x</d></c><e><s><i> vat </i></s><i>AE</i></e>'
        "<e><s><i>x</i></s><i> AE </i><k>true </k></e></r>"
    )
    spaces = {"t": ns, "o": "urn:o"}
    spaces.update((name.partition(":")[0], uri) for name, uri in _EXTENSIONS.items())
    tests = [
        ("not(not(t:a/t:b))", 1), ("not(boolean(t:a/t:b/@x))", 0), ("not(boolean(t:c/@x))", 1),
        ("not(((count((t:a | t:c))) <= (2) + 0.000001))", 1), ("not(not(t:a/o:b))", 1),
        ("not(normalize-space(t:a/t:b) != '')", 1), ("not(normalize-space(t:c) != '')", 0),
        ("not(((not(contains(normalize-space(t:c/@y), ' ')) and contains(' USD EUR ', "
         "concat(' ', normalize-space(t:c/@y), ' ')))))", 0),
        ("not(((not(contains(normalize-space(t:c), ' ')) and contains(' 1.255x ', "
         "concat(' ', normalize-space(t:c), ' ')))))", 0),
        ("not((string-length(substring-after(t:c, '.'))) <= (2) + 0.000001)", 1),
        ("not((string-length(substring-after(t:a, '.'))) <= (2) + 0.000001)", 0),
        ("not((boolean(t:x) or (boolean(t:c) and not(t:a/t:b/@x))))", 1),
        ("not((boolean(t:x) or (boolean(t:c) and not(t:a/t:b/@y))))", 0),
        ("not(((count(t:a)) - (2) <= 0.000001 and (2) - (count(t:a)) <= 0.000001))", 0),
        ("not(((count(t:a/t:b)) - (2) <= 0.000001 and (2) - (count(t:a/t:b)) <= 0.000001))", 1),
        # predicates on steps (the answers are libxml2's XPath's on this document)
        (f"not(boolean(t:e[boolean((t:s)[normalize-space(translate(t:i, '{_LOWER}', '{_UPPER}'))"
         " = 'VAT'])]/t:i[normalize-space(.) = 'AE']))", 0),
        ("not(((count(t:e[normalize-space(t:i) = 'AE'])) - (2) <= 0.000001 and "
         "(2) - (count(t:e[normalize-space(t:i) = 'AE'])) <= 0.000001))", 0),
        ("not((count(t:e[boolean((t:k)[normalize-space(.) = 'true' or normalize-space(.) = '1'])]))"
         " > (1) + 0.000001)", 1),
        ("not((count(t:e[boolean((t:k)[normalize-space(.) = 'true' or normalize-space(.) = '1'])]))"
         " > (0) + 0.000001)", 0),
        ("not(boolean(t:e[t:i = 'AE'][normalize-space(t:i) != 'AE']))", 1),
        (f"not(boolean(t:e[boolean((t:s)[normalize-space(translate(t:i, '{_LOWER}', '{_UPPER}'))"
         " != 'VAT'])]))", 0),
        ("not(boolean(t:e/t:i[normalize-space(.) = 'ae']))", 1),
    ]  # fmt: skip
    builder = _Builder(spaces)
    for number, (test, _) in enumerate(tests):
        parsed = _check(test, spaces)
        if parsed is None:
            raise RuntimeError(f"self-test cannot read {test}")
        builder.add_rule([(ns, "r", None, None, None, True, None, None, None)], [(number, parsed)])
    # libxml2's XPath from the pass: a whole test at the root with a named set and a global
    # (fails: three t:b), one that holds; a quantifier (fails: some t:e's t:i is 'AE' once
    # normalized, with $ctx bound); a selected context (every t:e with a t:k: the second, 13)
    xpath_rules = [
        ("not(count($ffn-t-b) != 3 and boolean($g))", 1),
        ("not(count($ffn-t-b) = 3)", 0),
    ]
    named = (("g", "//t:c"), ("ffn-t-b", "//t:b"))
    for offset, (test, _) in enumerate(xpath_rules, start=900):
        builder.add_rule(
            [(ns, "r", None, None, None, True, None, None, None)],
            [(offset, ([([], 21, (test, named))], [0]))],
        )
    each = "normalize-space($n/t:i) = 'AE' and $ctx"
    builder.add_rule(
        [(ns, "r", None, None, None, True, None, None, None)],
        [(902, ([([], 22, ("t:e", (("n", "."),), each, ()))], [0]))],
    )
    # the extension functions registered in C (fails: "AE" >= "AE", four distinct t:i,
    # Arabic-Indic digits are \d; holds: none of the three); a quantifier with two
    # variables, the second reading the first (fails: the second t:e)
    date = next(iter(_PATTERNS))
    extension_rules = [
        f"ff:compare-strings(t:e/t:i, '>=', 'AE') and count(set:distinct(//t:i)) = 4 and "
        f"regexp:test(' \u0662\u0660\u0662\u06640131 ', '{date}')",
        f"ff:compare-strings(t:e/t:i, '>', 'AE') or count(set:distinct(//t:i)) != 4 or "
        f"regexp:test('20241301', '{date}')",
    ]
    for offset, test in enumerate(extension_rules, start=904):
        builder.add_rule(
            [(ns, "r", None, None, None, True, None, None, None)],
            [(offset, ([([], 21, (test, ()))], [0]))],
        )
    lets = (("n", "."), ("m", "count($n/t:s)"))
    builder.add_rule(
        [(ns, "r", None, None, None, True, None, None, None)],
        [
            (
                906,
                (
                    [([], 22, ("t:e", lets, "$m = 1 and normalize-space($n/t:s/t:i) = 'x'", ()))],
                    [0],
                ),
            )
        ],
    )
    builder.add_rule([], [(903, ([([], 21, ("boolean(t:k)", ()))], [0]))], selected=("//t:e", ()))
    # every element named *b without @x; none under an element holding a t:c
    suffixed = _check("not((@x))", spaces)
    assert suffixed is not None
    number = len(tests)
    builder.add_rule(
        [("", "", None, None, None, False, ("b", None, None, None), None, None)],
        [(number, suffixed)],
    )
    builder.add_rule(
        [("", "", None, None, None, False, ("b", "ob", (ns, "r"), (ns, "c")), None, None)],
        [(number + 1, suffixed)],
    )
    # document-wide node sets: an element with @x anywhere; @z on any t:c; any t:d
    template = etree.fromstring(
        f'<xsl:stylesheet xmlns:xsl="{XSL}">'
        "<xsl:variable name=\"ffw0\" select=\"key('ff-attributes', 'x')[namespace-uri() = '']\"/>"
        "<xsl:variable name=\"ffw1\" select=\"key('ff-names', 'c')[self::t:c]\"/>"
        '<xsl:variable name="ffw2" select="$ffw1/@z"/>'
        "<xsl:variable name=\"ffw3\" select=\"key('ff-names', 'd')[self::t:d]\"/>"
        '<xsl:key name="ff-v0" match="t:e | t:c" use="normalize-space(t:i)"/>'
        "<xsl:variable name=\"ffw4\" select=\"key('ff-v0', 'AE')[self::t:e][boolean((t:k)"
        "[normalize-space(.) = 'true' or normalize-space(.) = '1'])]\"/>"
        '<xsl:variable name="ffw5" select="$ffw1[normalize-space(t:d) = \'x\']"/>'
        '<xsl:variable name="ffw6" select="$ffw5/t:d[normalize-space(.) = \'y\']"/>'
        f'<xsl:template match="/"/></xsl:stylesheet>'
    ).find(f"{{{XSL}}}template")
    assert template is not None
    flags = _Flags(template, spaces)
    flagged = [
        ("not(not($ffw0))", 1),
        ("not(not($ffw2))", 0),
        ("not((boolean($ffw3) and $ffw1))", 0),
        ("not(boolean($ffw4))", 0),
        ("not(boolean($ffw6))", 1),
        ("not(boolean($ffw5))", 0),
        ("not((((count($ffw6) + count($ffw4)))) > (0) + 0.000001)", 0),
        ("not(((((count($ffw6) + count($ffw6)))) - (0) <= 0.000001 and "
         "(0) - (((count($ffw6) + count($ffw6)))) <= 0.000001))", 0),
        ("not(((count($ffw4)) - (0) <= 0.000001 and (0) - (count($ffw4)) <= 0.000001))", 1),
    ]  # fmt: skip
    for offset, (test, _) in enumerate(flagged, start=number + 2):
        parsed = _check(test, spaces, flags)
        if parsed is None:
            raise RuntimeError(f"self-test cannot read {test}")
        builder.add_rule(
            [(ns, "r", None, None, None, True, None, None, None)], [(offset, parsed)], deferred=True
        )
    for flag, (contexts, alternatives) in enumerate(flags.sources):
        builder.add_rule(contexts, [(-(flag + 1), ([(alternatives, 0, 0)], [0]))])
    builder.flags = len(flags.sources)
    capsule = builder.prepare(module)
    got = module.failures(capsule, root)
    want = [x for number, (_, fails) in enumerate(tests) if fails for x in (number, 0)]
    want += [900, 0, 902, 0, 904, 0, 906, 0, len(tests), 3, len(tests), 4, len(tests), 6]
    want += [903, 13]
    want += [
        x for n, (_, fails) in enumerate(flagged, start=len(tests) + 2) if fails for x in (n, 0)
    ]
    if got != want:
        raise RuntimeError(f"self-test failed {got}, not {want}")


# A predicate on an element, as rulesnative.c decides it: ("exists", ns, local, sub or None),
# ("first", ns, local, transform, literal), ("self", transform, literal), ("and", a, b),
# ("or", a, b), ("not", a); transform 0 as is, 1 normalize-space, 2 upper-case then that.
Pred = tuple[Any, ...]
# a path's alternatives: child steps (namespace, local name, predicate or None), and the
# last attribute step or None
Alternatives = list[tuple[list[tuple[str, str, Pred | None]], str | None]]


class _Trie:
    """Paths from the context nodes of rules, as tries of (namespace, local name) steps."""

    def __init__(self) -> None:
        self.edges: list[dict[tuple[str, str, Pred | None], int]] = []
        self.ends: list[list[int]] = []
        self.attrs: list[list[tuple[str, int]]] = []

    def node(self) -> int:
        self.edges.append({})
        self.ends.append([])
        self.attrs.append([])
        return len(self.edges) - 1

    def add(self, root: int, alternatives: Alternatives, path: int) -> None:
        for steps, attribute in alternatives:
            at = root
            for step in steps:
                found = self.edges[at].get(step)
                if found is None:
                    found = self.edges[at][step] = self.node()
                at = found
            if attribute is None:
                self.ends[at].append(path)
            else:
                self.attrs[at].append((attribute, path))

    def nodes(
        self, intern: Callable[[Pred | None], int]
    ) -> list[tuple[list[tuple[str, str, int, int]], list[int], list[tuple[str, int]]]]:
        return [
            (
                sorted(
                    (
                        (ns, local, child, intern(pred))
                        for (ns, local, pred), child in edges.items()
                    ),
                    key=lambda e: (e[1].encode(), e[0].encode()),
                ),
                ends,
                attrs,
            )
            for edges, ends, attrs in zip(self.edges, self.ends, self.attrs, strict=True)
        ]


# a rule context: (namespace, local name, attribute, parent namespace, parent local name,
# the document element only, or for every element by a suffix of its name: (suffix, but not
# this suffix, without this ancestor, holding this child))
Suffix = tuple[str, str | None, tuple[str, str] | None, tuple[str, str] | None]
# ... and the predicates the element and its parent must satisfy (see Pred)
ContextSpec = tuple[
    str, str, str | None, str | None, str | None, bool, Suffix | None, "Pred | None", "Pred | None"
]
# a context's grandparent (namespace, local name; None: any) and whether the grandparent's
# parent (without a grandparent name: the parent's parent) is the document element (node)
Grand = tuple[str | None, str | None, bool]
# a parsed check: (alternatives of its path, kind, aux or a code list)
Parsed = tuple[list[tuple[Alternatives, int, Any]], list[int]]


class _Builder:
    """The rules the pass runs: each a program (a trie of its checks' paths) and the
    contexts that run it."""

    def __init__(self, namespaces: dict[str, str]) -> None:
        self.namespaces = namespaces
        self.trie = _Trie()
        self.paths = 0
        self.programs: list[tuple[int, int, int, int]] = []
        self.flags = 0
        self.contexts: list[tuple[Any, ...]] = []
        self.steps: list[tuple[int, list[tuple[str, str]]]] = []
        self.cats: list[str] = []
        self.preds: list[tuple[int, str | None, str | None, int, str | None, int, int]] = []
        self._pred_index: dict[Pred, int] = {}
        self.suffixed: list[tuple[Any, ...]] = []
        self.checks: list[tuple[int, int, list[int]]] = []
        self.atoms: list[tuple[int, int, int, int]] = []
        self.lists: list[list[str]] = []
        self.xpaths: list[tuple[str, str]] = []
        self.selected: list[tuple[int, int]] = []
        self.globals: dict[str, int] = {}  # name -> its select's place in xpaths
        self.named: dict[str, tuple[str, str]] = {}  # name -> (namespace, local name)

    def bind(self, globals_: tuple[tuple[str, str], ...]) -> None:
        """The globals (name, select) a test reads, each evaluated once a document (in the
        order first bound: a global after those it reads; the sets of every element of a
        name, ``//p:N``, gathered before them in one walk)."""
        for name, select in globals_:
            every = re.fullmatch(rf"//({_STEP})", select)
            same = re.fullmatch(r"\$(ffn-[\w.-]+)", select)  # a global that is such a set
            if every is not None:
                self.named.setdefault(name, _qname(every.group(1), self.namespaces))
            elif same is not None and same.group(1) in self.named:
                self.named.setdefault(name, self.named[same.group(1)])
            elif name not in self.globals:
                self.xpaths.append((select, ""))
                self.globals[name] = len(self.xpaths) - 1

    def add_rule(
        self,
        contexts: list[ContextSpec],
        checks: list[tuple[int, Parsed]],
        deferred: bool = False,
        grands: list[Grand | None] | None = None,
        selected: tuple[str, tuple[tuple[str, str], ...]] | None = None,
    ) -> None:
        """A rule: its contexts (or, ``selected``, a path from the root selecting them, and
        the globals it reads) and its checks (assert number, parsed test)."""
        program = len(self.programs)
        if selected is not None:
            self.bind(selected[1])
            self.xpaths.append((selected[0], ""))
            self.selected.append((program, len(self.xpaths) - 1))
        root = self.trie.node()
        first = self.paths
        for number, (atoms, code) in checks:
            base = len(self.atoms)
            for alternatives, kind, aux in atoms:
                path = self.paths
                self.paths += 1
                self.trie.add(root, alternatives, path)
                value, step = aux, 0
                if kind == 4:
                    self.lists.append(sorted(set(aux), key=str.encode))
                    value = len(self.lists) - 1
                elif kind in (10, 11, 12):
                    value, (up, names) = aux
                    self.steps.append((up, names))
                    step = len(self.steps) - 1
                elif kind in (13, 14, 15, 26):  # a VAT category code; 26: a code list
                    self.cats.append(aux)
                    value = len(self.cats) - 1
                elif kind == 18:  # steps of the value and the sum (None: the lines' amounts)
                    value = len(self.steps)
                    self.steps.extend(s for s in aux if s is not None)
                    step = value + 1 if aux[1] is not None else -1
                elif kind == 20:  # steps of the two dates
                    self.steps.extend(aux)
                    value, step = len(self.steps) - 2, len(self.steps) - 1
                elif kind == 21:  # a whole test, evaluated by libxml2's XPath
                    text, globals_ = aux
                    self.bind(globals_)
                    self.xpaths.append((text, ""))
                    value = len(self.xpaths) - 1
                elif kind == 22:  # some node of a path makes a test true (its variables)
                    nodes, lets, each, globals_ = aux
                    self.bind(globals_)
                    self.xpaths += [(nodes, ""), *((t, n) for n, t in lets), (each, "")]
                    value, step = len(self.xpaths) - 2 - len(lets), len(self.xpaths) - 1
                elif kind == 17:
                    name, (ns, local) = aux
                    self.cats.append(name)
                    value = len(self.cats) - 1
                    self.steps.append((0, [(ns, local)]))
                    step = len(self.steps) - 1
                self.atoms.append((path, kind, value, step))
            self.checks.append((program, number, [op + base if op >= 0 else op for op in code]))
        self.programs.append((root, first, self.paths, int(deferred)))
        for at, (
            ns,
            local,
            attribute,
            parent_ns,
            parent_local,
            at_root,
            suffix,
            own,
            up,
        ) in enumerate(contexts):
            grand = grands[at] if grands is not None else None
            if suffix is not None:
                if own is not None or up is not None:
                    raise ValueError("a suffix context has no predicates")
                end, but, ancestor, kid = suffix
                self.suffixed.append(
                    (end, but, *(ancestor or (None, None)), *(kid or (None, None)), program)
                )
                continue
            self.contexts.append((
                ns, local, attribute, parent_ns, parent_local, int(at_root), program,
                self.intern(own), self.intern(up),
                *(grand if grand is not None else (None, None, False)),
            ))  # fmt: skip

    def intern(self, pred: Pred | None) -> int:
        """A predicate's place in the table the extension gets (its operands first), or -1."""
        if pred is None:
            return -1
        found = self._pred_index.get(pred)
        if found is not None:
            return found
        op = pred[0]
        if op == "exists":
            row = (0, pred[1], pred[2], 0, None, self.intern(pred[3]), -1)
        elif op == "first":
            row = (1, pred[1], pred[2], pred[3], pred[4], -1, -1)
        elif op == "self":
            row = (2, None, None, pred[1], pred[2], -1, -1)
        elif op in ("and", "or"):
            row = (3 if op == "and" else 4, None, None, 0, None,
                   self.intern(pred[1]), self.intern(pred[2]))  # fmt: skip
        elif op == "not":
            row = (5, None, None, 0, None, self.intern(pred[1]), -1)
        else:
            raise ValueError(f"unknown predicate {pred!r}")
        self.preds.append(row)
        self._pred_index[pred] = len(self.preds) - 1
        return len(self.preds) - 1

    def tests(self) -> tuple[tuple[str, tuple[int, ...]], ...]:
        """Each XPath test's text and the asserts deciding by it (none for a global's or a
        context's select; a quantifier's path, its variables and its test all the same)."""
        numbers: dict[int, list[int]] = {}
        for _, number, code in self.checks:
            for op in code:
                if op < 0 or self.atoms[op][1] not in (21, 22):
                    continue
                _, kind, value, step = self.atoms[op]
                for at in range(value, (step if kind == 22 else value) + 1):
                    numbers.setdefault(at, []).append(number)
        names = {at: f"${name} := " for name, at in self.globals.items()}
        return tuple(
            (names.get(at, "") + text, tuple(numbers.get(at, ())))
            for at, (text, _) in enumerate(self.xpaths)
        )

    def prepare(self, module: ModuleType) -> Any:
        contexts = sorted(self.contexts, key=lambda c: c[1].encode())
        nodes = self.trie.nodes(self.intern)
        return module.prepare(
            nodes, self.paths, self.programs, contexts, self.suffixed, self.checks,
            self.atoms, self.lists, self.flags, etree._Element, self.preds, self.steps,
            self.cats, _to_number(), _EPSILON, self.xpaths, sorted(self.namespaces.items()),
            _xpath_functions(), self.selected, list(self.globals.items()),
            sorted(((v, ns, local) for v, (ns, local) in self.named.items()),
                   key=lambda n: (n[2].encode(), n[1].encode())),
        )  # fmt: skip


class _Flags:
    """The stylesheet's globals the pass can tell empty or not: every element with a no-
    namespace attribute, every element by name, a path below every element by name. Each
    one used is a flag set during the walk by a program of its own."""

    def __init__(self, template: etree._Element, namespaces: dict[str, str]) -> None:
        stylesheet = template.getparent()
        assert stylesheet is not None
        self.selects = {
            v.get("name", ""): v.get("select", "")
            for v in stylesheet.iterfind(f"{{{XSL}}}variable")
        }
        self.namespaces = namespaces
        # the keys: name -> (the names their match selects, their use expression)
        self.keys = {
            k.get("name", ""): (
                tuple(m.strip() for m in k.get("match", "").split("|")),
                k.get("use", ""),
            )
            for k in stylesheet.iterfind(f"{{{XSL}}}key")
        }
        self.flags: dict[str, int] = {}
        # per flag: the contexts and the path that make it set
        self.sources: list[tuple[list[ContextSpec], Alternatives]] = []

    def flag(self, name: str) -> int | None:
        found = self.flags.get(name)
        if found is not None:
            return found
        source = self._source(self.selects.get(name, ""))
        if source is None:
            return None
        self.flags[name] = len(self.sources)
        self.sources.append(source)
        return self.flags[name]

    def _source(self, select: str) -> tuple[list[ContextSpec], Alternatives] | None:
        try:
            if found := _BY_KEY.fullmatch(select):
                key, value, name, parent, parent_preds, preds = found.groups()
                matches, use = self.keys.get(key, ((), ""))
                use_step = re.fullmatch(rf"normalize-space\(({_STEP})\)", use)
                if name not in matches or use_step is None:
                    return None
                ns, local = _qname(name, self.namespaces)
                own = _all(
                    ("first", *_qname(use_step.group(1), self.namespaces), 1, value),
                    _predicates(preds or "", self.namespaces),
                )
                pns, plocal = _qname(parent, self.namespaces) if parent else (None, None)
                up = _all(None, _predicates(parent_preds or "", self.namespaces))
                keyed: ContextSpec = (ns, local, None, pns, plocal, False, None, own, up)
                return [keyed], [([], None)]
            if found := _FILTERED.fullmatch(select):
                base = self._source(self.selects.get(found.group(1), ""))
                if base is None or base[1] != [([], None)]:
                    return None
                extra = _predicates(found.group(2), self.namespaces)
                contexts = []
                for c in base[0]:
                    if c[6] is not None or c[0] == "":
                        return None
                    contexts.append((*c[:7], _all(c[7], extra), c[8]))
                return contexts, [([], None)]
            if found := _ANY_ATTRIBUTE.fullmatch(select):
                every: ContextSpec = (
                    "",
                    "",
                    None,
                    None,
                    None,
                    False,
                    ("", None, None, None),
                    None,
                    None,
                )
                return [every], [([], found.group(1))]
            if found := _ANY_ELEMENT.fullmatch(select):
                prefix, _, local = found.group(2).rpartition(":")
                if local != found.group(1):
                    return None
                named: ContextSpec = (
                    self.namespaces[prefix],
                    local,
                    None,
                    None,
                    None,
                    False,
                    None,
                    None,
                    None,
                )
                return [named], [([], None)]
            if found := _UNDER.fullmatch(select):
                base = self._source(self.selects.get(found.group(1), ""))
                if (
                    base is None
                    or base[1] != [([], None)]
                    or any(c[6] is not None for c in base[0])
                ):
                    return None
                return base[0], _parse_path(found.group(2), self.namespaces)
        except (KeyError, _UnreadableError):
            return None
        return None


class _UnreadableError(Exception):
    """A test outside what the pass decides."""


def _check(
    test: str,
    namespaces: dict[str, str],
    flags: _Flags | None = None,
    selects: dict[str, str] | None = None,
) -> Parsed | None:
    """An assert's failing test as the pass decides it: its atoms (path alternatives, kind,
    aux) and its postfix code over them, or None. With ``flags``, a global node set the pass
    can tell empty or not (``$ffwN``) is an atom too (kind 9); with the globals' ``selects``
    (when ``ff-names`` is the index of every element by local name), the sum of the lines'
    amounts (:data:`_LINE_AMOUNTS`) is one too."""
    atoms: list[tuple[Alternatives, int, Any]] = []
    code: list[int] = []
    at = 0

    def expect(text: str) -> None:
        nonlocal at
        if not test.startswith(text, at):
            raise _UnreadableError(test)
        at += len(text)

    def joined(word: str, op: int, operand: Callable[[], None]) -> None:
        """operands joined by ``word`` (left to right), each join ``op`` in the code"""
        nonlocal at
        operand()
        while test.startswith(word, at):
            at += len(word)
            operand()
            code.append(op)

    def either() -> None:
        joined(" or ", OR, both)

    def both() -> None:
        joined(" and ", AND, unary)

    def unary() -> None:
        nonlocal at
        if test.startswith("true()", at):
            code.append(len(atoms))
            atoms.append(([], 19, 0))
            at += len("true()")
            return
        if test.startswith("not(", at):
            at += 4
            either()
            expect(")")
            code.append(NOT)
            return
        found = _TOTAL.match(test, at)
        if found is not None and test.startswith(")", found.end()):
            code.append(len(atoms))
            atoms.append(([], 18, tuple(_steps(found.group(g), namespaces) for g in (1, 2))))
            at = found.end()
            return
        found = _DATES.match(test, at)
        if found is not None and test.startswith(")", found.end()):
            code.append(len(atoms))
            atoms.append(([], 20, tuple(_steps(found.group(g), namespaces) for g in (1, 2))))
            at = found.end()
            return
        found = _TOTAL_LINES.match(test, at)
        if (
            found is not None
            and test.startswith(")", found.end())
            and selects is not None
            and selects.get(found.group(2)) == _LINE_AMOUNTS
            and namespaces.get("cac") == CAC
            and namespaces.get("cbc") == CBC
        ):
            code.append(len(atoms))
            atoms.append(([], 18, (_steps(found.group(1), namespaces), None)))
            at = found.end()
            return
        for numeric, kind in _NUMERIC:
            found = numeric.match(test, at)
            if found is None or not (
                found.end() == len(test) or test.startswith((")", " and ", " or "), found.end())
            ):
                continue
            code.append(len(atoms))
            atoms.append(([], kind, (int(found.group(2)), _steps(found.group(1), namespaces))))
            at = found.end()
            return
        for form, kind, negated in _ATOMS:
            found = form.match(test, at)
            if found is None:
                continue
            aux: Any = 0
            if kind == 4:
                # ' v ' is in ' c1 c2 ... ' for a v without spaces iff v is a code between
                # two spaces (an empty v only where the list has two spaces in a row)
                aux = found.group(2).split(" ")[1:-1]
            elif found.lastindex and found.lastindex >= 2:
                aux = int(found.group(2))
                if aux >= 255:  # counts stop at 255
                    raise _UnreadableError(test)
            atom(found.group(1), kind, aux)
            if negated:
                code.append(NOT)
            at = found.end()
            return
        for form, negated in _FLAG_FORMS if flags is not None else ():
            found = form.match(test, at)
            if found is None or not (
                found.end() == len(test) or test.startswith((")", " and ", " or "), found.end())
            ):
                continue
            names = [found.group(1)] if form.groups == 1 else [found.group(1), found.group(2)]
            for n, name in enumerate(names):
                flag = flags.flag(name) if flags is not None else None
                if flag is None:
                    raise _UnreadableError(test)
                code.append(len(atoms))
                atoms.append(([], 9, flag))
                if n:
                    code.append(OR)
            if negated:
                code.append(NOT)
            at = found.end()
            return
        found = _VARIABLE.match(test, at)
        if (
            found is not None
            and flags is not None
            and (found.end() == len(test) or test.startswith((")", " and ", " or "), found.end()))
        ):
            flag = flags.flag(found.group(1) or found.group(2))
            if flag is None:
                raise _UnreadableError(test)
            code.append(len(atoms))
            atoms.append(([], 9, flag))
            at = found.end()
            return
        found = _BARE.match(test, at)
        if found is not None and (
            found.end() == len(test) or test.startswith((")", " and ", " or "), found.end())
        ):
            atom(found.group(0), 0, 0)
            at = found.end()
            return
        if test.startswith("(", at):
            at += 1
            either()
            expect(")")
            return
        raise _UnreadableError(test)

    def atom(path: str, kind: int, aux: Any) -> None:
        try:
            alternatives = _parse_path(path, namespaces)
        except KeyError:
            raise _UnreadableError(path) from None
        code.append(len(atoms))
        atoms.append((alternatives, kind, aux))

    try:
        either()
    except (_UnreadableError, KeyError):
        return None
    if at != len(test):
        return None
    return atoms, code


def _steps(path: str, namespaces: dict[str, str]) -> tuple[int, list[tuple[str, str]]]:
    """A numeric atom's path of :data:`_ONE_STEP`: (1 if from the parent, its child steps)."""
    up = path.startswith("../")
    return int(up), [_qname(n, namespaces) for n in path.removeprefix("../").split("/")]


def _parse_path(text: str, namespaces: dict[str, str]) -> Alternatives:
    """A path of :data:`_PATH` as its alternatives: (element steps, last attribute or None)."""

    def step(text: str) -> tuple[str, str, Pred | None]:
        name, bracket, preds = text.strip().partition("[")
        return (*_qname(name, namespaces), _all(None, _predicates(bracket + preds, namespaces)))

    if text == ".":
        return [([], None)]
    attribute = None
    if text.startswith("@"):
        return [([], text[1:])]
    parts = _outside(text, "/")
    if parts[-1].startswith("@"):
        attribute = parts.pop()[1:]
    if parts[0].startswith("("):
        starts = [step(s) for s in parts[0][1:-1].split("|")]
    else:
        starts = [step(parts[0])]
    tail = [step(s) for s in parts[1:]]
    return [([s, *tail], attribute) for s in dict.fromkeys(starts)]


def _outside(text: str, separator: str) -> list[str]:
    """``text`` split at ``separator`` outside brackets, parentheses and quotes."""
    out, depth, start, quoted = [], 0, 0, False
    for i, ch in enumerate(text):
        if ch == "'":
            quoted = not quoted
        elif quoted:
            continue
        elif ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        elif ch == separator and depth == 0:
            out.append(text[start:i])
            start = i + 1
    out.append(text[start:])
    return out


def _qname(name: str, namespaces: dict[str, str]) -> tuple[str, str]:
    prefix, _, local = name.strip().rpartition(":")
    return namespaces[prefix], local


def _all(first: Pred | None, more: list[Pred]) -> Pred | None:
    """The conjunction of predicates (None: none)."""
    out = first
    for p in more:
        out = p if out is None else ("and", out, p)
    return out


def _predicates(text: str, namespaces: dict[str, str]) -> list[Pred]:
    """The predicates ``[..][..]`` of a step (each one of :data:`_PREDICATES`).

    Raises:
        KeyError: an unknown prefix; _UnreadableError: another predicate.
    """
    out: list[Pred] = []
    depth, start, quoted = 0, 0, False
    for i, ch in enumerate(text):
        if ch == "'":
            quoted = not quoted
        elif quoted:
            continue
        elif ch in "[(":
            if depth == 0 and (ch != "[" or i != start):
                raise _UnreadableError(text)
            depth += 1
        elif ch in "])":
            depth -= 1
            if depth == 0:
                if ch != "]":
                    raise _UnreadableError(text)
                out.append(_predicate(text[start + 1 : i], namespaces))
                start = i + 1
        elif depth == 0:
            raise _UnreadableError(text)
    if depth or start != len(text):
        raise _UnreadableError(text)
    return out


def _predicate(body: str, namespaces: dict[str, str]) -> Pred:
    pred: Pred
    if found := _SCHEME.fullmatch(body):
        kid, inner, op, literal = found.groups()
        test: Pred = ("first", *_qname(inner, namespaces), 2, literal)
        return ("exists", *_qname(kid, namespaces), test if op == "=" else ("not", test))
    if found := _NORMALIZED.fullmatch(body):
        what, op, literal = found.groups()
        if what == ".":
            pred = ("self", 1, literal)
        else:
            pred = ("first", *_qname(what, namespaces), 1, literal)
        return pred if op == "=" else ("not", pred)
    if found := _EITHER.fullmatch(body):
        kid, one, two = found.groups()
        return ("exists", *_qname(kid, namespaces), ("or", ("self", 1, one), ("self", 1, two)))
    if found := _EQUALS.fullmatch(body):
        kid, literal = found.groups()
        return ("exists", *_qname(kid, namespaces), ("self", 0, literal))
    raise _UnreadableError(body)


@dataclass(frozen=True, slots=True)
class NativePass:
    """The asserts of one compiled rule set that the extension decides.

    Attributes:
        numbers: their numbers (the rule set's assert numbering).
        mixed: the rules (``xsl:for-each`` places) whose asserts the pass and the stylesheet
            share, at contexts other than the document element.
        order: each assert number's rule (its ``xsl:for-each``) in the stylesheet, and
            whether that rule's context is the document element alone; issues keep the
            stylesheet's order (by rule, then node, then assert).
        xpaths: what each of the tests the pass gives libxml2's XPath is (by its place, as
            a profiling build's ``profile()`` reports them): the asserts it decides (kinds 21
            and 22), or the global it binds (``$name``), or a rule's context select.
    """

    numbers: frozenset[int]
    mixed: frozenset[int]
    order: dict[int, tuple[int, bool]]
    _module: Any
    _capsule: Any
    xpaths: tuple[tuple[str, tuple[int, ...]], ...] = ()

    def failures(self, root: etree._Element) -> list[tuple[int, int]]:
        """The asserts of this pass that the document of ``root`` (its document element)
        fails: (assert number, the context element's place in document order, root 0)."""
        flat: list[int] = self._module.failures(self._capsule, root)
        return list(zip(flat[::2], flat[1::2], strict=True))

    def rule_of(self, number: int) -> int:
        """An assert's rule (its ``xsl:for-each`` place in the stylesheet)."""
        return self.order.get(number, (-1, False))[0]

    def sort_key(self, number: int, element: int | None) -> tuple[int, int, int]:
        """Where an issue goes among the stylesheet's (by rule, then node, then assert):
        ``element`` is its context element's place in document order, None for an issue of
        the stylesheet whose element is not known (its rule's issues keep their order)."""
        rule, document_element = self.order.get(number, (-1, False))
        if element is None:
            return (rule, 0, number if document_element else 0)
        return (rule, element, number)


def native_pass(compiled: CompiledSchematron, module: ModuleType) -> NativePass | None:
    """The asserts of ``compiled`` (the whole rule set's stylesheet) the extension decides,
    or None when there are none: at the document element every assert of the pass's forms;
    elsewhere only rules whose every assert is of those forms (a rule's issues are listed
    node by node, so a rule is decided in one place)."""
    sheet = etree.fromstring(compiled.xslt.encode("utf-8"))
    template = sheet.find(f"{{{XSL}}}template")
    assert template is not None
    namespaces = dict(compiled.namespaces)
    for name, uri in _EXTENSIONS.items():
        prefix = name.partition(":")[0]
        if sheet.nsmap.get(prefix) == uri:
            namespaces.setdefault(prefix, uri)
    seen: dict[int, int] = {}
    order: dict[int, tuple[int, bool]] = {}
    rules: list[
        tuple[
            list[ContextSpec],
            list[tuple[int, Parsed]],
            bool,
            int,
            int,
            list[Grand | None],
            tuple[str, tuple[tuple[str, str], ...]] | None,
        ]
    ] = []
    flags = _Flags(template, namespaces)
    for index, rule in enumerate(template):
        contexts = _contexts(rule, namespaces)
        grands: list[Grand | None] = [None] * len(contexts or ())
        if contexts is None and rule.tag == f"{{{XSL}}}for-each":
            found = _vat_contexts(rule.get("select") or "", namespaces, flags.keys)
            if found is None:
                found = _element_contexts(rule.get("select") or "", namespaces, flags.keys)
            if found is not None:
                contexts, grands = found
        selected = None
        if contexts is None and rule.tag == f"{{{XSL}}}for-each":
            selected = _selected(rule.get("select") or "", namespaces, flags)
            if selected is not None:
                contexts, grands = [], []
        # a subtotal's category (its grandparent under the document element)
        subtotal = len(grands) == 1 and grands[0] is not None and grands[0][2]
        at_root = bool(contexts) and all(c[5] for c in contexts or ())
        numbers: list[int] = []
        decided: list[tuple[int, Parsed]] = []
        for test in rule.iter(f"{{{XSL}}}if"):
            number = _assert_number(test)
            if number is None:
                continue
            numbers.append(number)
            seen[number] = seen.get(number, 0) + 1
            order[number] = (index, at_root)
            parent = test.getparent()
            if contexts is None or not (
                parent is rule or (parent is not None and parent.tag == test.tag
                                   and parent.getparent() is rule)
            ):  # fmt: skip
                continue
            # document-wide node sets only where the rule runs once: after the walk
            parsed = _vat_check(test, rule, namespaces, flags) if subtotal else None
            if parsed is None and at_root:
                parsed = _attribute_check(test.get("test", ""), namespaces, flags)
            if parsed is None:
                parsed = _check(
                    test.get("test", ""),
                    namespaces,
                    flags if at_root else None,
                    flags.selects
                    if flags.keys.get("ff-names") == (("*",), "local-name()")
                    else None,
                )
            if parsed is None:
                parsed = _subtotal_check(test.get("test", ""), namespaces)
            if parsed is None:
                parsed = _subject_code_check(test.get("test", ""))
            if parsed is None:
                parsed = _whole_test(test.get("test", ""), namespaces, flags, rule)
            if parsed is None:
                parsed = _currency_check(test.get("test", ""), rule, namespaces)
            if parsed is None:
                parsed = _quantified(test.get("test", ""), rule, namespaces, flags)
            kinds = {kind for _, kind, _ in parsed[0]} if parsed is not None else set()
            if parsed is not None and not (9 in kinds and max(kinds) >= 10):
                # (numeric atoms read the context element: not in a check run after the walk)
                decided.append((number, parsed))
        if contexts is None or not decided:
            continue
        rules.append((contexts, decided, at_root, index, len(numbers), grands, selected))
    builder = _Builder(namespaces)
    numbers_done: set[int] = set()
    mixed: set[int] = set()
    for contexts, decided, at_root, index, count, grands, selected in rules:
        checks = [c for c in decided if seen[c[0]] == 1]
        if not checks:
            continue
        flagged = [c for c in checks if any(kind == 9 for _, kind, _ in c[1][0])]
        plain = [c for c in checks if c not in flagged]
        if plain:
            builder.add_rule(contexts, plain, grands=grands, selected=selected)
        if flagged:
            builder.add_rule(contexts, flagged, deferred=True, grands=grands)
        numbers_done |= {c[0] for c in checks}
        if not at_root and len(checks) != count:
            mixed.add(index)
    if not numbers_done:
        return None
    for flag, (contexts, alternatives) in enumerate(flags.sources):
        # a check numbered -(flag + 1) sets the flag where its path selects a node
        builder.add_rule(contexts, [(-(flag + 1), ([(alternatives, 0, 0)], [0]))])
    builder.flags = len(flags.sources)
    capsule = builder.prepare(module)
    return NativePass(
        frozenset(numbers_done), frozenset(mixed), order, module, capsule, builder.tests()
    )


def _contexts(rule: etree._Element, namespaces: dict[str, str]) -> list[ContextSpec] | None:
    """The elements a rule's ``xsl:for-each`` selects, when it selects elements by name only
    (with an attribute, a parent, or being the document element), else None."""
    select = rule.get("select") or ""
    if rule.tag != f"{{{XSL}}}for-each":
        return None

    def step(name: str) -> tuple[str, str]:
        prefix, _, local = name.rpartition(":")
        return namespaces[prefix], local

    out: list[ContextSpec] = []
    try:
        if found := _BY_SUFFIX.fullmatch(select):
            suffix, one, two = found.groups()
            if not suffix == one == two:
                return None
            return [("", "", None, None, None, False, (suffix, None, None, None), None, None)]
        if found := _BY_SUFFIX_BUT.fullmatch(select):
            suffix, one, two, but, but2, ancestor, kid = found.groups()
            if not (suffix == one == two and but == but2):
                return None
            return [
                (
                    "",
                    "",
                    None,
                    None,
                    None,
                    False,
                    (suffix, but, step(ancestor), step(kid)),
                    None,
                    None,
                )
            ]
        if _ROOTS.fullmatch(select):
            for alternative in select.split("|"):
                ns, local = step(alternative.strip().lstrip("/"))
                out.append((ns, local, None, None, None, True, None, None, None))
            return out
        for alternative in _union(select):
            if found := _BY_NAME.fullmatch(alternative):
                key, name, attribute, parent = found.groups()
                ns, local = step(name)
                if local != key:
                    return None
                pns, plocal = step(parent) if parent else (None, None)
            elif found := _BY_PARENT.fullmatch(alternative):
                key, child, name, attribute, parent = found.groups()
                ns, local = step(name)
                pns, plocal = step(parent)
                if child != name or plocal != key:
                    return None
            else:
                return None
            out.append((ns, local, attribute, pns, plocal, False, None, None, None))
    except KeyError:
        return None
    return out


def _xpath_functions() -> tuple[int, ...]:
    """The addresses of libxml2's XPath functions in lxml's module (the libxml2 libxslt runs
    the stylesheet's tests on) that the pass evaluates whole tests with (kind 21)."""
    library = ctypes.CDLL(etree.__file__)
    return (
        *(
            int(ctypes.cast(getattr(library, name), ctypes.c_void_p).value or 0)
            for name in (
                "xmlXPathNewContext",
                "xmlXPathFreeContext",
                "xmlXPathRegisterNs",
                "xmlXPathCompile",
                "xmlXPathFreeCompExpr",
                "xmlXPathCompiledEvalToBoolean",
                "xmlXPathCompiledEval",
                "xmlXPathFreeObject",
                "xmlXPathRegisterVariable",
                "xmlXPathNewNodeSet",
                "xmlXPathContextSetCache",
                "xmlXPathNodeSetCreate",
                "xmlXPathNodeSetAddUnique",
                "xmlXPathWrapNodeSet",
                "xmlXPathRegisterFuncNS",
                "xmlXPathValuePop",
                "xmlXPathValuePush",
                "xmlXPathCastToString",
                "xmlXPathCastNodeToString",
                "xmlXPathNewBoolean",
                "xmlXPathErr",
                "exsltSetsXpathCtxtRegister",
            )
        ),
        # xmlFree is a variable holding the function (libxml2's deallocator)
        int(ctypes.c_void_p.in_dll(library, "xmlFree").value or 0),
        int(ctypes.cast(library.xmlXPathRegisteredVariablesCleanup, ctypes.c_void_p).value or 0),
    )


def _to_number() -> int:
    """The address of libxml2's ``xmlXPathCastStringToNumber`` (XPath's number() of a
    string) in lxml's module, the libxml2 the stylesheet runs on: the pass converts as it."""
    library = ctypes.CDLL(etree.__file__)
    return int(ctypes.cast(library.xmlXPathCastStringToNumber, ctypes.c_void_p).value or 0)


# the literal 0.000001 of the stylesheet's tests as libxml2 reads it
_EPSILON = float(etree.XPath("0.000001")(etree.Element("e")))  # type: ignore[arg-type]

_PREDS = rf"(?:{_PRED})*"
# the rule contexts of the VAT breakdown's categories: a subtotal's category; a category by
# its code (key 'ff-v0') under an allowance or charge (the charges but not the allowances),
# or under a line's item
_SUBTOTAL = re.compile(rf"/\*/({_STEP})/({_STEP})/({_STEP})({_PREDS})")
_SELF = rf"\[self::({_STEP})({_PREDS})"  # an element's name and predicates (its "]" after)
_KEYED = rf"key\('(ff-v\d+)', '({_LIT})'\){_SELF}"
_NAMED = rf"key\('ff-names', '({_NAME})'\){_SELF}"
_GRAND = rf"\[parent::({_STEP})\]"


def _parent(inner: str = "") -> str:
    """``[parent::q:P[..]inner]``: a parent's name and predicates (two groups), then ``inner``."""
    return rf"\[parent::({_STEP})({_PREDS}){inner}\]"


def _either(inner: str = "") -> str:
    """``[(parent::A inner) or (parent::B inner)]``: one of two parents."""
    return rf"\[\(parent::({_STEP}){inner}\) or \(parent::({_STEP}){inner}\)\]"


_UNDER_PARENT = re.compile(rf"{_KEYED}{_parent()}\]")
_UNDER_PARENT_BUT = re.compile(
    rf"\({_KEYED}{_parent()}\]\)\[not\(\(self::({_STEP})({_PREDS}){_parent()}\)\)\]"
)
_UNDER_GRANDPARENTS = re.compile(rf"{_KEYED}{_either(_GRAND)}\]")


def _vat_contexts(
    select: str, namespaces: dict[str, str], keys: dict[str, tuple[tuple[str, ...], str]]
) -> tuple[list[ContextSpec], list[Grand | None]] | None:
    """The elements a VAT-category rule's ``xsl:for-each`` selects (see :data:`_SUBTOTAL`),
    with their grandparents, or None."""

    def keyed(key: str, value: str, name: str, preds: str) -> tuple[str, str, Pred | None]:
        matches, use = keys.get(key, ((), ""))
        use_step = re.fullmatch(rf"normalize-space\(({_STEP})\)", use)
        if name not in matches or use_step is None:
            raise _UnreadableError(select)
        own = _all(
            ("first", *_qname(use_step.group(1), namespaces), 1, value),
            _predicates(preds, namespaces),
        )
        return (*_qname(name, namespaces), own)

    try:
        if found := _SUBTOTAL.fullmatch(select):
            grand, parent, name, preds = found.groups()
            ns, local = _qname(name, namespaces)
            pns, plocal = _qname(parent, namespaces)
            own = _all(None, _predicates(preds, namespaces))
            spec: ContextSpec = (ns, local, None, pns, plocal, False, None, own, None)
            return [spec], [(*_qname(grand, namespaces), True)]
        if found := _UNDER_PARENT.fullmatch(select):
            key, value, name, preds, parent, parent_preds = found.groups()
            ns, local, own = keyed(key, value, name, preds)
            pns, plocal = _qname(parent, namespaces)
            up = _all(None, _predicates(parent_preds, namespaces))
            return [(ns, local, None, pns, plocal, False, None, own, up)], [None]
        if found := _UNDER_PARENT_BUT.fullmatch(select):
            key, value, name, preds, parent, parent_preds, name2, preds2, parent2, but = (
                found.groups()
            )
            if (name2, preds2, parent2) != (name, preds, parent):
                return None
            ns, local, own = keyed(key, value, name, preds)
            pns, plocal = _qname(parent, namespaces)
            up = _all(None, _predicates(parent_preds, namespaces))
            shadow = _all(None, _predicates(but, namespaces))
            if up is None or shadow is None:
                return None
            up = ("and", up, ("not", shadow))
            return [(ns, local, None, pns, plocal, False, None, own, up)], [None]
        if found := _UNDER_GRANDPARENTS.fullmatch(select):
            key, value, name, preds, parent, grand, parent2, grand2 = found.groups()
            if parent2 != parent:
                return None
            ns, local, own = keyed(key, value, name, preds)
            pns, plocal = _qname(parent, namespaces)
            specs: list[ContextSpec] = [
                (ns, local, None, pns, plocal, False, None, own, None) for _ in (grand, grand2)
            ]
            grands: list[Grand | None] = [
                (*_qname(g, namespaces), False) for g in dict.fromkeys((grand, grand2))
            ]
            return specs[: len(grands)], grands
    except (KeyError, _UnreadableError):
        return None
    return None


_ROOT_CHILD = re.compile(rf"/({_STEP})/({_STEP})({_PREDS})")
_NAMED_UNDER_EITHER = re.compile(rf"{_NAMED}{_either()}\]")
_WITH_GRAND = _parent(f"(?:{_GRAND})?")  # the parent, perhaps with its parent
_NAMED_UNDER = re.compile(rf"{_NAMED}(?:{_WITH_GRAND})?\]")
_AT_ROOT = _parent(r"(\[not\(parent::\*\)\])?")  # the parent, perhaps the document element
_SHADOW = re.compile(rf"\(self::({_STEP})({_PREDS})(?:{_AT_ROOT})?\)")


def _element_contexts(
    select: str, namespaces: dict[str, str], keys: dict[str, tuple[tuple[str, ...], str]]
) -> tuple[list[ContextSpec], list[Grand | None]] | None:
    """The elements of an ``xsl:for-each`` selecting elements by name and predicates, with
    a parent (and its predicates), a grandparent, or one of two parents
    (``key('ff-names', 'N')[self::q:N[..][parent::P[..][parent::G]]]``,
    ``key('ff-names', 'N')[self::q:N[..][(parent::A) or (parent::B)]]``,
    ``/p:A/q:N[..] | /p:B/q:N[..]`` under the document element), perhaps less those an
    earlier rule of its pattern took (``(..)[not((self::q:N[..][parent::A[..]]) or ..)]``),
    or None."""
    shadows: list[tuple[str, str, str | None, str, bool]] = []
    if select.startswith("(") and select.endswith(")]"):
        depth, end = 0, 0
        for end, ch in enumerate(select):  # noqa: B007 (the end of the first parenthesis)
            depth += ch == "("
            depth -= ch == ")"
            if depth == 0:
                break
        rest = select[end + 1 :]
        if not (rest.startswith("[not(") and rest.endswith(")]")):
            return None
        for alternative in _outside_or(rest[len("[not(") : -2]):
            found = _SHADOW.fullmatch(alternative)
            if found is None:
                return None
            name, preds, parent, parent_preds, root = found.groups()
            shadows.append((name, preds, parent, parent_preds or "", root is not None))
        select = select[1:end]
    # (name, predicates, parent or None, its predicates, grandparent or None, parent at root)
    contexts: list[tuple[str, str, str | None, str, str | None, bool]] = []
    named_keys = keys.get("ff-names") == (("*",), "local-name()")
    if found := _NAMED_UNDER_EITHER.fullmatch(select):
        key, name, preds, one, two = found.groups()
        if not named_keys or name.partition(":")[2] != key:
            return None
        contexts = [(name, preds, p, "", None, False) for p in dict.fromkeys((one, two))]
    elif found := _NAMED_UNDER.fullmatch(select):
        key, name, preds, parent, parent_preds, grand = found.groups()
        if not named_keys or name.partition(":")[2] != key:
            return None
        contexts = [(name, preds, parent, parent_preds or "", grand, False)]
    else:
        for alternative in _union(select):
            found = _ROOT_CHILD.fullmatch(alternative)
            if found is None:
                return None
            parent, name, preds = found.groups()
            contexts.append((name, preds, parent, "", None, True))
    specs: list[ContextSpec] = []
    grands: list[Grand | None] = []
    try:
        for name, preds, parent, parent_preds, grand, root in contexts:
            own = _all(None, _predicates(preds, namespaces))
            up = _all(None, _predicates(parent_preds, namespaces))
            for shadow_name, shadow_preds, shadow_parent, shadow_up, shadow_root in shadows:
                if _qname(shadow_name, namespaces) != _qname(name, namespaces):
                    continue  # another element: it never shadows this context
                taken = _all(None, _predicates(shadow_preds, namespaces))
                taken_up = _all(None, _predicates(shadow_up, namespaces))
                if shadow_parent is not None:
                    if parent is None:
                        return None
                    if _qname(shadow_parent, namespaces) != _qname(parent, namespaces):
                        continue  # under another parent: never this context's elements
                    if shadow_root and not root:
                        return None
                if taken is not None and taken_up is not None:
                    return None
                if taken is not None:
                    own = _all(own, [("not", taken)])
                elif taken_up is not None:
                    up = _all(up, [("not", taken_up)])
                else:
                    return None  # every such element is shadowed: not read
            ns, local = _qname(name, namespaces)
            pns, plocal = _qname(parent, namespaces) if parent is not None else (None, None)
            if up is not None and parent is None:
                return None
            specs.append((ns, local, None, pns, plocal, False, None, own, up))
            if grand is not None:
                grands.append((*_qname(grand, namespaces), False))
            else:
                grands.append((None, None, True) if root else None)
    except (KeyError, _UnreadableError):
        return None
    return specs, grands


def _outside_or(text: str) -> list[str]:
    """``text`` split at `` or `` outside brackets, parentheses and quotes."""
    out, depth, start, quoted = [], 0, 0, False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch in "[(":
            depth += 1
        elif not quoted and ch in "])":
            depth -= 1
        elif not quoted and depth == 0 and text.startswith(" or ", i):
            out.append(text[start:i])
            start = i + 4
            i += 4
            continue
        i += 1
    out.append(text[start:])
    return out


_ALL_OF = "key('ff-names', '{0}')[self::cac:{0}]"
_NAMESPACE_DECLARATION = re.compile(r' xmlns:[\w.-]+="[^"]*"')


_ATTRIBUTES_ELSEWHERE = re.compile(
    r"not\(\(\(count\(\$(ffw\d+)\) - count\(\$(ffw\d+)\)\)\) <= \(0\) \+ 0\.000001\)"
)


def _attribute_check(test: str, namespaces: dict[str, str], flags: _Flags) -> Parsed | None:
    """``count($a) - count($b) > 0`` at the document element where ``$a`` is every
    no-namespace attribute ``@x`` of the document and ``$b`` every ``q:N/@x`` (UBL-DT-18's
    form): some element other than ``q:N`` has ``@x`` (``$b`` is part of ``$a``). One atom
    of kind 17, or None."""
    found = _ATTRIBUTES_ELSEWHERE.fullmatch(test)
    if found is None:
        return None
    if flags.keys.get("ff-attributes") != (("@*",), "local-name()"):
        return None
    if flags.keys.get("ff-names") != (("*",), "local-name()"):
        return None
    every = re.fullmatch(
        rf"key\('ff-attributes', '({_NAME})'\)\[namespace-uri\(\) = ''\]",
        flags.selects.get(found.group(1), ""),
    )
    some = re.fullmatch(rf"\$(ffw\d+)/@({_NAME})", flags.selects.get(found.group(2), ""))
    if every is None or some is None or some.group(2) != every.group(1):
        return None
    named = re.fullmatch(
        rf"key\('ff-names', '({_NAME})'\)\[self::({_STEP})\]", flags.selects.get(some.group(1), "")
    )
    if named is None or named.group(2).partition(":")[2] != named.group(1):
        return None
    try:
        element = _qname(named.group(2), namespaces)
    except KeyError:
        return None
    return [([], 17, (every.group(1), element))], [0]


def _subtotal_check(test: str, namespaces: dict[str, str]) -> Parsed | None:
    """BR-CO-17 or BR-48 at a cac:TaxSubtotal (an atom of kind 23), or BR-IC-11 or BR-IC-12
    (kind 24), as the pass decides them, when the test is :data:`_SUBTOTAL_TAX`,
    :data:`_SUBTOTAL_RATE` or one of :data:`_IC_DELIVERY` with UBL's namespaces; else None.
    (Each reads only the context element's subtree, so it holds at any context.)"""
    if namespaces.get("cac") != CAC or namespaces.get("cbc") != CBC:
        return None
    which = {_SUBTOTAL_TAX: 0, _SUBTOTAL_RATE: 1}.get(test)
    if which is not None:
        return [([], 23, which)], [0]
    which = {_IC_DELIVERY[0]: 0, _IC_DELIVERY[1]: 1}.get(test)
    return None if which is None else ([([], 24, which)], [0])


def _subject_code_check(test: str) -> Parsed | None:
    """BR-CL-08 as the pass decides it (an atom of kind 26, the code list its aux) when the
    test is, character for character, :data:`_SUBJECT_CODE`; else None. (It reads only the
    context element's string, so it holds at any context.)"""
    found = _SUBJECT_CODE.fullmatch(test)
    return None if found is None else ([([], 26, found.group(1))], [0])


def _currency_check(test: str, rule: etree._Element, namespaces: dict[str, str]) -> Parsed | None:
    """BR-CO-15 as the pass decides it (an atom of kind 25) when the test reads a quantifier
    variable of the rule whose text is :data:`_CURRENCY_TOTAL` and the rule binds ``$ctx``
    to its context, with UBL's namespaces; else None."""
    if namespaces.get("cac") != CAC or namespaces.get("cbc") != CBC:
        return None
    found = re.fullmatch(r"not\(\(string\(\$a(\d+)qq1\) = ''\)\)", test)
    ctx = rule.find(f"{{{XSL}}}variable")
    if found is None or ctx is None or (ctx.get("name"), ctx.get("select")) != ("ctx", "."):
        return None
    name = f"a{found.group(1)}qq1"
    variable = next((v for v in rule.iter(f"{{{XSL}}}variable") if v.get("name") == name), None)
    if variable is None:
        return None
    body = _NAMESPACE_DECLARATION.sub("", etree.tostring(variable, encoding="unicode"))
    if body != _CURRENCY_TOTAL.format(n=found.group(1)):
        return None
    return [([], 25, 0)], [0]


def _vat_check(
    test: etree._Element, rule: etree._Element, namespaces: dict[str, str], flags: _Flags
) -> Parsed | None:
    """An assert of the VAT breakdown's arithmetic at a subtotal's category, as the pass
    decides it (one atom of kind 13-16), when its text is one of :data:`_TAX_AMOUNT`,
    :data:`_CATEGORY_SUM`, :data:`_RATE_SUM`, :data:`_RATE_SUM_STRICT`; else None."""
    if namespaces.get("cac") != CAC or namespaces.get("cbc") != CBC:
        return None
    if flags.keys.get("ff-names") != (("*",), "local-name()"):
        return None
    text = test.get("test", "")
    if text == _TAX_AMOUNT:
        return [([], 16, 0)], [0]

    def all_of(variable: str, name: str) -> bool:
        return flags.selects.get(variable) == _ALL_OF.format(name)

    cat = re.search(rf"normalize-space\(cbc:ID\) = '({_LIT})'", text)
    lines = re.findall(r"boolean\(\$(ffw\d+)\)", text)
    if cat and len(lines) == 2:
        il, cl = lines
        if (
            cat.group(1)
            and text == _CATEGORY_SUM.format(cat=cat.group(1), il=il, cl=cl)
            and all_of(il, "InvoiceLine")
            and all_of(cl, "CreditNoteLine")
        ):
            return [([], 13, cat.group(1))], [0]
        return None
    found = re.fullmatch(r"not\(\(string\(\$a(\d+)qq1\) = ''\)\)", text)
    ctx = rule.find(f"{{{XSL}}}variable")
    if found is None or ctx is None or (ctx.get("name"), ctx.get("select")) != ("ctx", "."):
        return None
    n = found.group(1)
    variable = next(
        (v for v in rule.iter(f"{{{XSL}}}variable") if v.get("name") == f"a{n}qq1"), None
    )
    if variable is None:
        return None
    body = _NAMESPACE_DECLARATION.sub("", etree.tostring(variable, encoding="unicode"))
    cat = re.search(rf"normalize-space\(cbc:ID\) = '({_LIT})'", body)
    names = dict.fromkeys(re.findall(r"\$(ffw\d+)", body))
    if cat is None or not cat.group(1):
        return None
    roles = {
        role: v
        for v in names
        for role, name in (
            ("il", "InvoiceLine"),
            ("cl", "CreditNoteLine"),
            ("ac", "AllowanceCharge"),
        )
        if all_of(v, name)
    }
    for template, kind in ((_RATE_SUM_STRICT, 15), (_RATE_SUM, 14)):
        try:
            expected = template.format(n=n, cat=cat.group(1), **roles)
        except KeyError:
            continue
        if body == expected:
            return [([], kind, cat.group(1))], [0]
    return None


# XPath 1.0's own functions whose value does not depend on the for-each around the test
# (not position(), last(): the pass evaluates at a context of size 1; not id(): no DTD),
# the node tests written like calls, and the operators a parenthesis may follow
_CORE = frozenset((
    "boolean", "not", "true", "false", "count", "sum", "floor", "ceiling", "round", "number",
    "string", "concat", "starts-with", "contains", "substring-before", "substring-after",
    "substring", "string-length", "normalize-space", "translate", "local-name",
    "namespace-uri", "name", "lang", "text", "node", "comment", "processing-instruction",
    "and", "or", "div", "mod",
))  # fmt: skip
_CALL = re.compile(r"(?<![\w.:-])([A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?)\s*\(")
# the stylesheet's extension functions the pass registers with libxml2's XPath context
# (rulesnative.c): libexslt's set:distinct as libxslt has it, ff:compare-strings as
# peppol_functions.compare_strings, regexp:test for the patterns of _PATTERNS only;
# their prefixes as the stylesheet declares them (native_pass checks the URIs)
_EXTENSIONS = {
    "ff:compare-strings": "urn:fourflow:rules",
    "regexp:test": "http://exslt.org/regular-expressions",
    "set:distinct": "http://exslt.org/sets",
}
# regexp:test's patterns the pass matches in C exactly as lxml's regexp:test (Python's re,
# search, Unicode classes) does: CII-DT-097's date of format 102
_PATTERNS = frozenset((r"^\s*(\d{4})(1[0-2]|0[1-9]){1}(3[01]|[12][0-9]|0[1-9]){1}\s*$",))
_REGEXP_TEST = re.compile(r"regexp:test\(")
_REGEXP_CALL = re.compile(r"regexp:test\(string\(\.\), '([^']*)'\)")
_LITERAL = re.compile(r"'[^']*'|\"[^\"]*\"")


def _whole_test(
    test: str, namespaces: dict[str, str], flags: _Flags, rule: etree._Element | None = None
) -> Parsed | None:
    """An assert the pass decides by its whole test, compiled by libxml2's XPath and
    evaluated at each context element (kind 21): the stylesheet's own test on the library
    libxslt evaluates it with, so the verdict is the stylesheet's. Only tests that read the
    context's document alone: XPath 1.0's functions but position() and last(), no
    extension function; the stylesheet's globals it reads where they select nodes from the
    document's root whatever the context (:func:`_written`: evaluated once a document, as
    the stylesheet does), no other variable (a rule's). None for any other test, or one
    lxml cannot compile."""
    bound: Globals = {}
    written = _readable(test, namespaces, flags, bound, local=_locals(rule))
    if written is None:
        return None
    return [([], 21, (written, tuple(bound.items())))], [0]


def _locals(rule: etree._Element | None) -> frozenset[str]:
    """The variables a rule declares (they shadow the stylesheet's globals of their name)."""
    if rule is None:
        return frozenset()
    return frozenset(v.get("name", "") for v in rule.iter(f"{{{XSL}}}variable"))


def _readable(
    text: str,
    namespaces: dict[str, str],
    flags: _Flags,
    bound: Globals,
    keep: frozenset[str] = frozenset(),
    local: frozenset[str] = frozenset(),
) -> str | None:
    """``text`` as :func:`_written` writes it, when it and the globals it reads call XPath
    1.0's own functions only (:data:`_CORE`), read no variable but those and ``keep`` (none
    of the rule's own, ``local``), and compile; else None."""
    written = _written(text, flags, bound, keep=keep, local=local)
    if not written:
        return None
    bare = _LITERAL.sub("''", " | ".join((written, *bound.values())))
    if any(v not in bound and v not in keep for v in re.findall(r"\$([\w.-]+)", bare)):
        return None
    calls = _CALL.findall(bare)
    if any(
        name not in _CORE and namespaces.get(name.partition(":")[0]) != _EXTENSIONS.get(name)
        for name in calls
    ):
        return None
    if "regexp:test" in calls:
        every = " | ".join((written, *bound.values()))
        patterns = _REGEXP_CALL.findall(every)
        if len(patterns) != len(_REGEXP_TEST.findall(every)) or not set(patterns) <= _PATTERNS:
            return None
    try:
        for one in (written, *bound.values()):
            etree.XPath(one, namespaces=namespaces)
    except etree.XPathSyntaxError:
        return None
    return written


_GLOBAL = re.compile(r"\$([\w.-]+)")
_KEY_CALL = re.compile(rf"key\('({_NAME})', '({_LIT})'\)")


# the stylesheet's globals a test reads, each (name, its select as written by _written), a
# global after those its select reads: the pass evaluates them once a document, in order
Globals = dict[str, str]


def _written(
    text: str,
    flags: _Flags,
    bound: Globals,
    depth: int = 0,
    keep: frozenset[str] = frozenset(),
    local: frozenset[str] = frozenset(),
) -> str | None:
    """``text`` with each ``key('K', 'v')`` replaced by the node set it returns written as a
    path (:func:`_key_path`), and each of the stylesheet's globals it reads (``$ffwN``, the
    Schematron's own ``$profile`` ...) added to ``bound`` (its select written the same way,
    after the globals that reads; the pass evaluates them at the document node, as the
    stylesheet does); None when a variable is a rule's own (``local``) or not a global with a
    select, unless it is in ``keep``."""
    if depth > 8:
        return None
    out: list[str] = []
    last = 0
    for found in re.finditer(r"'[^']*'|\$[\w.-]+|key\(", text):
        lexeme = found.group(0)
        if lexeme.startswith("'"):
            continue
        out.append(text[last : found.start()])
        if lexeme == "key(":
            call = _KEY_CALL.match(text, found.start())
            path = _key_path(call.group(1), call.group(2), flags, bound) if call else None
            if path is not None and call is not None and path.startswith("(//*)"):
                # the name index filtered to one name: its elements by that name (one
                # walk comparing names, not local-name() called on every element)
                name = re.escape(call.group(2))
                own = re.compile(rf"\[self::({_NAME}):{name}(?![\w.:-])").match(text, call.end())
                # or a child step of them kept only under a parent by that name
                under = re.compile(
                    rf"/({_STEP})\[self::\1(?:\[@{_NAME}\])?\[parent::({_NAME}):{name}(?![\w.:-])"
                ).match(text, call.end())
                prefix = own.group(1) if own else under.group(2) if under else None
                if prefix is not None:
                    path = _every(f"{prefix}:{call.group(2)}", bound)
                if own is not None and text.startswith("]", own.end()):
                    # [self::p:N] alone holds for every element of the set: left out
                    assert path is not None
                    out.append(path)
                    last = own.end() + 1
                    continue
            if call is None or path is None:
                return None
            out.append(path)
            last = call.end()
            continue
        if lexeme[1:] in keep:
            out.append(lexeme)
            last = found.end()
            continue
        if lexeme[1:] in local:
            return None  # a rule's own variable (shadowing any global of its name)
        global_ = _GLOBAL.fullmatch(lexeme)
        select = flags.selects.get(global_.group(1)) if global_ else None
        if global_ is None or not select:
            return None
        if global_.group(1) not in bound:
            inner = _written(select, flags, bound, depth + 1)
            if inner is None:
                return None
            bound[global_.group(1)] = inner
        out.append(lexeme)
        last = found.end()
    out.append(text[last:])
    return "".join(out)


def _absolute(select: str) -> bool:
    """Every branch of the union ``select`` starts at the root, a key or a global (or is
    such a union in parentheses, then filtered or stepped from)."""
    for branch in _union(select):
        if branch.startswith(("/", "$", "key(")):
            continue
        if not branch.startswith("("):
            return False
        depth, end = 0, -1
        for end, ch in enumerate(branch):  # noqa: B007 (the end of the first parenthesis)
            depth += ch == "("
            depth -= ch == ")"
            if depth == 0:
                break
        if depth != 0 or not _absolute(branch[1:end]):
            return False
    return True


def _every(name: str, bound: Globals) -> str:
    """A variable holding every element named ``name`` (``p:N``) of the document, in
    document order (``//p:N``; the pass gathers them in one walk, not one XPath descendant
    scan each), added to ``bound``."""
    variable = "ffn-" + name.replace(":", "-")
    bound.setdefault(variable, f"//{name}")
    return f"${variable}"


def _key_path(key: str, value: str, flags: _Flags, bound: Globals) -> str | None:
    """``key(key, 'value')`` as a path from the root selecting the same elements in the same
    (document) order, for a key matching elements by name with a string ``use``: the name
    index (``match="*" use="local-name()"``) or a value key (``use="normalize-space(P)"``:
    its names' elements, :func:`_every`, filtered); None for any other key."""
    matches, use = flags.keys.get(key, ((), ""))
    if not matches or any(not re.fullmatch(rf"\*|{_STEP}", m) for m in matches):
        return None
    if use == "local-name()":
        test = f"local-name() = '{value}'"
    elif re.fullmatch(rf"normalize-space\({_STEP}\)", use):
        test = f"{use} = '{value}'"
    else:
        return None
    every = [_every(m, bound) if m != "*" else "//*" for m in matches]
    return "(" + " | ".join(every) + f")[{test}]"


_QUANTIFIED = re.compile(r"not\(\(string\(\$(a\d+qq\d+)\) = ''\)\)")


def _quantified(
    test: str, rule: etree._Element, namespaces: dict[str, str], flags: _Flags
) -> Parsed | None:
    """A translated quantifier (``some``/``every``) the pass decides (kind 22): the test
    ``string($v) = ''`` fails where the rule's variable ``v`` (an ``xsl:for-each`` over a
    path from the context, its variables evaluated at each node in order (``.``, ``number(.)``,
    sums reading those before), writing ``x`` where a test holds) is not empty, i.e. where
    some node of the path makes the test true. The path, the variables' selects and the test
    as :func:`_whole_test` takes them, but for those variables and ``$ctx`` (the rule's
    ``xsl:variable name="ctx" select="."``); else None."""
    found = _QUANTIFIED.fullmatch(test)
    if found is None:
        return None
    variable = next(
        (v for v in rule.iterfind(f"{{{XSL}}}variable") if v.get("name") == found.group(1)), None
    )
    if variable is None or len(variable) != 1 or (variable.text or "").strip():
        return None
    loop = variable[0]
    if loop.tag != f"{{{XSL}}}for-each" or (loop.text or "").strip():
        return None
    body = list(loop)
    # the for-each's variables, each evaluated at the node in order ("." the node itself,
    # number(.), a sum reading the ones before it)
    lets: list[tuple[str, str]] = []
    while body and body[0].tag == f"{{{XSL}}}variable":
        name, select = body[0].get("name") or "", body[0].get("select") or ""
        if not name or not select or len(body[0]) or (body[0].tail or "").strip():
            return None
        if (body[0].text or "").strip():
            return None
        lets.append((name, select))
        body = body[1:]
    if len(body) != 1 or body[0].tag != f"{{{XSL}}}if" or len(body[0]):
        return None
    if (body[0].text or "") != "x" or (body[0].tail or "").strip():
        return None
    keep = frozenset({"ctx"})
    ctx = rule.find(f"{{{XSL}}}variable")
    if ctx is None or (ctx.get("name"), ctx.get("select")) != ("ctx", "."):
        keep = frozenset()
    globals_: Globals = {}
    mine = _locals(rule)
    nodes = _readable(loop.get("select", ""), namespaces, flags, globals_, keep, mine - keep)
    if nodes is None:
        return None
    written_lets = []
    for name, select in lets:
        written = _readable(select, namespaces, flags, globals_, keep, mine - keep)
        if written is None:
            return None
        written_lets.append((name, written))
        keep |= {name}
    each = _readable(body[0].get("test", ""), namespaces, flags, globals_, keep, mine - keep)
    if each is None:
        return None
    return [([], 22, (nodes, tuple(written_lets), each, tuple(globals_.items())))], [0]


def _selected(
    select: str, namespaces: dict[str, str], flags: _Flags
) -> tuple[str, tuple[tuple[str, str], ...]] | None:
    """A rule's ``xsl:for-each`` select as a path from the root that libxml2 evaluates once a
    document (its keys written out, the globals it reads: :func:`_readable`), when it starts
    at the root and does not end at attributes or other nodes than elements; else None."""
    bound: Globals = {}
    written = _readable(select, namespaces, flags, bound)
    if written is None or not _absolute(written):
        return None
    bare = _LITERAL.sub("''", written)
    if re.search(r"(?:@|attribute::|text\(\)|node\(\)|comment\(\))[^\]\)]*$", bare):
        return None
    return written, tuple(bound.items())


def _union(select: str) -> list[str]:
    """The alternatives of a union, split at ``|`` outside brackets and parentheses."""
    out, depth, start, quoted = [], 0, 0, False
    for i, ch in enumerate(select):
        if ch == "'":
            quoted = not quoted
        elif quoted:
            continue
        elif ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        elif ch == "|" and depth == 0:
            out.append(select[start:i].strip())
            start = i + 1
    out.append(select[start:].strip())
    return out


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
