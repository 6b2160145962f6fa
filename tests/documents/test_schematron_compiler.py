"""The Schematron compiler's shortcuts keep the ISO semantics.

The compiled stylesheet selects each rule's context nodes from a name index instead of walking
the document per pattern, leaves out nodes an earlier rule of the pattern may match unless the
two contexts are provably disjoint, and guards asserts that forbid an element with a look-up of
that element's name. These tests hold each shortcut to what the skeleton would report, on a
small Schematron written here (the official rule sets are held to Saxon by
``test_rule_engine_agreement.py``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

from fourflow.adapters.documents.business_rules import _xslt
from fourflow.adapters.documents.schematron import (
    _boolean_predicates,
    _context,
    _descendants_by_name,
    _needs_element,
    _repeated_sums,
    compile_schematron,
)
from fourflow.adapters.documents.xpath2 import translate

Fired = Callable[[etree._Element], Counter[str]]
A = "urn:example:a"
B = "urn:example:b"

SCHEMA = f"""<schema xmlns="http://purl.oclc.org/dsdl/schematron" queryBinding="xslt2">
  <ns prefix="a" uri="{A}"/>
  <ns prefix="b" uri="{B}"/>
  <pattern id="first-match">
    <rule context="a:Tax[normalize-space(b:ID) = 'S']">
      <assert id="S-RATE" flag="fatal" test="b:Rate &gt; 0">S needs a rate</assert>
    </rule>
    <rule context="a:Tax[normalize-space(b:ID) = 'Z']">
      <assert id="Z-RATE" flag="fatal" test="not(b:Rate) or b:Rate = 0">Z has no rate</assert>
    </rule>
    <rule context="a:Line/a:Tax">
      <assert id="LINE-TAX" flag="warning" test="b:ID">a line's tax names its category</assert>
    </rule>
    <rule context="a:Tax">
      <assert id="ANY-TAX" flag="warning" test="false()">every other tax</assert>
    </rule>
  </pattern>
  <pattern id="forbidden">
    <rule context="/a:Doc">
      <assert id="NO-EXT" flag="fatal" test="not(a:Head/b:Extension)">no extension</assert>
      <assert id="NO-NOTE-LANG" flag="fatal" test="not(a:Line/b:Note/@lang)">no note lang</assert>
      <assert id="ONE-HEAD" flag="fatal" test="count(a:Head) = 1">one head</assert>
      <assert id="NO-DEEP" flag="warning" test="not(//b:Deep)">nothing deep</assert>
    </rule>
  </pattern>
  <pattern id="wildcard">
    <rule context="//*[ends-with(name(), 'Amount')]">
      <assert id="AMOUNT-CCY" flag="fatal" test="@currency">an amount has a currency</assert>
    </rule>
    <rule context="b:TotalAmount">
      <assert id="NEVER" flag="fatal" test="false()">shadowed by the wildcard rule</assert>
    </rule>
    <rule context="b:Rate">
      <assert id="RATE-NUM" flag="fatal" test="number(.) = number(.)">a rate is a number</assert>
    </rule>
  </pattern>
</schema>"""


def _doc(body: str) -> etree._Element:
    return etree.fromstring(f'<a:Doc xmlns:a="{A}" xmlns:b="{B}">{body}</a:Doc>')


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Fired:
    path: Path = tmp_path_factory.mktemp("sch") / "rules.sch"
    path.write_text(SCHEMA, encoding="utf-8")
    compiled = compile_schematron(path)
    assert not compiled.untranslated
    sheet = _xslt(compiled.xslt)

    def fired(document: etree._Element) -> Counter[str]:
        out = str(sheet(document.getroottree()))
        return Counter(compiled.asserts[int(line.split("\t")[0])].rule for line in out.splitlines())

    return fired


def test_a_node_is_the_context_of_the_first_matching_rule_only(run: Fired) -> None:
    got = run(
        _doc(
            "<a:Head/>"
            "<a:Tax><b:ID> S </b:ID><b:Rate>0</b:Rate></a:Tax>"  # S, rate 0: S-RATE only
            "<a:Tax><b:ID>Z</b:ID><b:Rate>5</b:Rate></a:Tax>"  # Z with a rate: Z-RATE only
            "<a:Line><a:Tax><b:Rate>1</b:Rate></a:Tax></a:Line>"  # line rule, not ANY-TAX
            "<a:Tax><b:ID>E</b:ID></a:Tax>"  # no earlier rule: ANY-TAX
        )
    )
    assert got == Counter({"S-RATE": 1, "Z-RATE": 1, "LINE-TAX": 1, "ANY-TAX": 1})


def test_a_line_tax_of_category_s_gets_the_s_rule_not_the_line_rule(run: Fired) -> None:
    got = run(_doc("<a:Head/><a:Line><a:Tax><b:ID>S</b:ID><b:Rate>-1</b:Rate></a:Tax></a:Line>"))
    assert got == Counter({"S-RATE": 1})


def test_forbidden_elements_fire_when_present_and_only_then(run: Fired) -> None:
    assert run(_doc("<a:Head/><a:Line><b:Note>x</b:Note></a:Line>")) == Counter()
    got = run(
        _doc(
            '<a:Head><b:Extension/></a:Head><a:Head/><a:Line><b:Note lang="en">x</b:Note></a:Line>'
            "<a:Other><b:Deep/><b:Deep/></a:Other>"
        )
    )
    assert got == Counter({"NO-EXT": 1, "NO-NOTE-LANG": 1, "ONE-HEAD": 1, "NO-DEEP": 1})
    got = run(_doc('<a:Head/><a:Line><b:Note lang="en">x</b:Note></a:Line>'))
    assert got == Counter({"NO-NOTE-LANG": 1})
    # An element of the forbidden name elsewhere does not make the path select anything.
    assert run(_doc("<a:Head/><a:Other><b:Extension/></a:Other>")) == Counter()


def test_wildcard_context_shadows_later_rules_and_needs_its_suffix(run: Fired) -> None:
    got = run(
        _doc(
            '<a:Head/><b:TotalAmount>1</b:TotalAmount><b:TaxAmount currency="EUR">1</b:TaxAmount>'
            "<b:AmountDue>2</b:AmountDue><a:Tax><b:ID>E</b:ID><b:Rate>x</b:Rate></a:Tax>"
        )
    )
    # TotalAmount: the wildcard rule (no currency), never the later b:TotalAmount rule;
    # AmountDue contains "Amount" but does not end with it; the rate is not a number.
    assert got == Counter({"AMOUNT-CCY": 1, "RATE-NUM": 1, "ANY-TAX": 1})


def test_a_failure_names_the_offending_node(tmp_path: Path) -> None:
    path = tmp_path / "rules.sch"
    path.write_text(SCHEMA, encoding="utf-8")
    compiled = compile_schematron(path)
    out = str(
        _xslt(compiled.xslt)(
            _doc("<a:Head/><a:Head/><a:Tax><b:ID>Z</b:ID><b:Rate>2</b:Rate></a:Tax>").getroottree()
        )
    )
    located = {
        compiled.asserts[int(n)].rule: where
        for n, where in (line.split("\t") for line in out.splitlines())
    }
    assert located == {"ONE-HEAD": "/a:Doc[1]", "Z-RATE": "/a:Doc[1]/a:Tax[1]"}


@pytest.mark.parametrize(
    ("fails", "names"),
    [
        ("not(not(cac:Delivery/cbc:ID))", ["Delivery", "ID"]),
        ("not(not((cac:InvoiceLine | cac:CreditNoteLine)/cbc:UUID))", ["UUID"]),
        ("not(not(cac:A/cbc:ID/@schemeAgencyID))", ["A", "ID"]),
        ("not(not($ffw3[x]/cac:AllowanceCharge/cbc:Reason))", ["AllowanceCharge", "Reason"]),
        ("not(not(a:b[c/d = 'x']))", ["b"]),
        # not provably "needs an element of that name": no guard
        ("not(not((a | b)/c | d/e))", []),
        ("not(not(a/b[1] + c[2]))", []),
        ("not(not(a/b = 'x'))", []),
        ("not(not(a/b[x]/..))", []),
        ("not(not(a//b))", []),
        ("not(not(a/*))", []),
        ("not(not(@x))", []),
        ("not(not(a)) or not(not(b))", []),
        ("not(not(a/b) and c)", []),
    ],
)
def test_only_pure_paths_of_named_steps_are_guarded(fails: str, names: list[str]) -> None:
    assert _needs_element(fails) == names


@pytest.mark.parametrize(
    ("first", "second", "overlap"),
    [
        ("a:T[normalize-space(b:ID) = 'S']", "a:T[normalize-space(b:ID) = 'Z']", False),
        ("a:T[normalize-space(b:ID) = 'S']", "a:T", True),
        # a node-set compared with a value may equal both: not disjoint
        ("a:T[b:ID = 'S']", "a:T[b:ID = 'Z']", True),
        ("a:T[. = 'S']", "a:T[. = 'Z']", False),
        ("a:P/a:T", "a:Q/a:T", False),
        ("a:P//a:T", "a:Q/a:T", True),
        ("a:T", "a:U", False),
        ("//*[ends-with(name(), 'Amount')]", "b:TaxAmount", True),
        ("//*[ends-with(name(), 'Amount')]", "b:Rate", False),
        ("//*[ends-with(name(), 'Amount') or true()]", "b:Rate", True),
        ("//*[ends-with(name(), 'Amount')]", "//*[ends-with(name(), 'Object')]", False),
        ("//*[ends-with(name(), 'Amount')]", "//*[ends-with(name(), 'TaxAmount')]", True),
    ],
)
def test_contexts_are_disjoint_only_when_provably_so(
    first: str, second: str, overlap: bool
) -> None:
    a, b = (_context(translate(c, pattern=True).xpath) for c in (first, second))
    assert a.overlaps(b) is overlap
    assert b.overlaps(a) is overlap


VALUES = f"""<schema xmlns="http://purl.oclc.org/dsdl/schematron" queryBinding="xslt2">
  <ns prefix="a" uri="{A}"/>
  <ns prefix="b" uri="{B}"/>
  <pattern id="values">
    <rule context="/a:Doc">
      <assert id="HAS-S" flag="fatal"
        test="exists(//a:Tax[normalize-space(b:ID) = 'S'])">a tax of category S</assert>
      <assert id="NO-CHARGE-Z" flag="warning"
        test="not(//a:Charge[b:Flag = 'true']/a:Tax[normalize-space(b:ID) = 'Z'])">no Z charge</assert>
      <assert id="RATE-IS-SUM" flag="fatal" test="every $r in a:Tax/b:Rate satisfies
        (sum(//b:Amt) - 1 &lt; $r and sum(//b:Amt) + 1 &gt; $r)">each rate is the total</assert>
    </rule>
  </pattern>
</schema>"""


@pytest.fixture(scope="module")
def values(tmp_path_factory: pytest.TempPathFactory) -> tuple[Fired, str]:
    path: Path = tmp_path_factory.mktemp("sch") / "values.sch"
    path.write_text(VALUES, encoding="utf-8")
    compiled = compile_schematron(path)
    assert not compiled.untranslated
    sheet = _xslt(compiled.xslt)

    def fired(document: etree._Element) -> Counter[str]:
        out = str(sheet(document.getroottree()))
        return Counter(compiled.asserts[int(line.split("\t")[0])].rule for line in out.splitlines())

    return fired, compiled.xslt


def test_value_indexes_and_bound_sums_keep_the_semantics(values: tuple[Fired, str]) -> None:
    run, xslt = values
    # the shortcuts under test are in the sheet: a value index, a sum bound once
    assert "key(&#x27;ff-v0&#x27;, &#x27;S&#x27;)" in xslt
    assert "[parent::a:Charge[b:Flag = &#x27;true&#x27;]]" in xslt
    assert xslt.count("sum(") == 1
    tax = "<a:Tax><b:ID>{}</b:ID><b:Rate>{}</b:Rate></a:Tax>"
    assert run(_doc(tax.format(" S ", 10) + "<b:Amt>4</b:Amt><b:Amt>6</b:Amt>")) == Counter()
    # normalize-space(b:ID) is the first ID's: a second ID of S does not make an S tax
    two_ids = "<a:Tax><b:ID>Z</b:ID><b:ID>S</b:ID><b:Rate>10</b:Rate></a:Tax><b:Amt>10</b:Amt>"
    assert run(_doc(two_ids)) == Counter({"HAS-S": 1})
    # only a Z tax of a charge flagged true, and each rate against the total
    got = run(
        _doc(
            tax.format("S", 10)
            + "<a:Charge><b:Flag>true</b:Flag>" + tax.format("Z", 12) + "</a:Charge>"
            + "<a:Charge><b:Flag>false</b:Flag>" + tax.format("Z", 10) + "</a:Charge>"
            + "<b:Amt>10</b:Amt>"
        )
    )  # fmt: skip
    assert got == Counter({"NO-CHARGE-Z": 1})
    got = run(_doc("<a:Charge><b:Flag>false</b:Flag>" + tax.format("Z", 1) + "</a:Charge>"
                   + tax.format("S", 3) + tax.format("E", 7) + "<b:Amt>3</b:Amt>"))  # fmt: skip
    assert got == Counter({"RATE-IS-SUM": 1})


@pytest.mark.parametrize(
    ("preds", "boolean"),
    [
        ("[boolean(a/b)]", True),
        ("[not(a)][b = 'x']", True),
        ("[a = 'x' or b]", True),
        ("[normalize-space(.) != 'O']", True),
        ("", True),
        # a number, a node-set, or a position: the node's place in the set matters or may
        ("[1]", False),
        ("[count(a)]", False),
        ("[a]", False),
        ("[position() = 1]", False),
        ("[not(a)][last()]", False),
        ("[boolean(a)] x", False),
    ],
)
def test_only_boolean_predicates_move_to_another_set(preds: str, boolean: bool) -> None:
    assert _boolean_predicates(preds) is boolean


def test_only_sums_written_twice_are_bound_outermost_first() -> None:
    xpath = "sum(a[sum(b) > 1]) < $r and sum(a[sum(b) > 1]) > sum(c) and ff:checksum(d) = sum(c) - sum(e)"
    assert _repeated_sums(xpath, "v") == [("sum(a[sum(b) > 1])", "v0"), ("sum(c)", "v1")]


SHARED = f"""<schema xmlns="http://purl.oclc.org/dsdl/schematron" queryBinding="xslt2">
  <ns prefix="a" uri="{A}"/>
  <ns prefix="b" uri="{B}"/>
  <pattern id="ids">
    <rule context="a:P/b:ID[@scheme]">
      <assert id="P-SCHEME" flag="fatal" test="@scheme = 'x'">a P's ID scheme is x</assert>
    </rule>
    <rule context="a:P/b:ID">
      <assert id="P-ID" flag="fatal" test="string-length(.) = 2">a P's ID has 2 characters</assert>
    </rule>
    <rule context="a:Q/b:ID">
      <assert id="Q-ID" flag="warning" test="false()">every Q's ID</assert>
    </rule>
    <rule context="a:R[b:On = 'yes']/b:ID">
      <assert id="R-ID" flag="fatal" test="false()">every ID of an R that is on</assert>
    </rule>
  </pattern>
</schema>"""


def test_a_leaf_name_under_many_parents_is_selected_from_its_parents(tmp_path: Path) -> None:
    path = tmp_path / "shared.sch"
    path.write_text(SHARED, encoding="utf-8")
    compiled = compile_schematron(path)
    assert "key(&#x27;ff-names&#x27;, &#x27;P&#x27;)/b:ID[" in compiled.xslt
    sheet = _xslt(compiled.xslt)

    def run(body: str) -> Counter[str]:
        out = str(sheet(_doc(body).getroottree()))
        return Counter(compiled.asserts[int(line.split("\t")[0])].rule for line in out.splitlines())

    got = run(
        '<a:P><b:ID scheme="y">ab</b:ID><b:ID>abc</b:ID></a:P>'  # first rule, then second
        f'<a:Q><b:ID>1</b:ID></a:Q><x:P xmlns:x="{B}"><b:ID>abc</b:ID></x:P>'  # b:P: no rule
        "<a:R><b:On>no</b:On><b:ID>1</b:ID></a:R><a:R><b:On>yes</b:On><b:ID>2</b:ID></a:R>"
        "<a:S><b:ID>abc</b:ID></a:S><a:P><a:Q><b:ID>1</b:ID></a:Q></a:P>"  # S: none; Q: one
    )
    assert got == Counter({"P-SCHEME": 1, "P-ID": 1, "Q-ID": 2, "R-ID": 1})


def test_alternatives_differing_in_their_parents_are_one_selection(tmp_path: Path) -> None:
    path = tmp_path / "either.sch"
    path.write_text(
        f"""<schema xmlns="http://purl.oclc.org/dsdl/schematron" queryBinding="xslt2">
  <ns prefix="a" uri="{A}"/>
  <ns prefix="b" uri="{B}"/>
  <pattern id="either">
    <rule context="a:P/b:Amt[. &gt; 1] | a:Q/a:R/b:Amt[. &gt; 1] | a:S//b:Amt[. &gt; 1]">
      <assert id="AMT" flag="fatal" test="false()">every large amount of a P or an R</assert>
    </rule>
  </pattern>
</schema>""",
        encoding="utf-8",
    )
    compiled = compile_schematron(path)
    select = _context(compiled.asserts[0].context.replace("&gt;", ">")).select
    assert select == (
        "key('ff-names', 'Amt')[self::b:Amt[. > 1]"
        "[(parent::a:P) or (parent::a:R[parent::a:Q]) or (ancestor::a:S)]]"
    )
    sheet = _xslt(compiled.xslt)
    out = str(
        sheet(
            _doc(
                "<a:P><b:Amt>2</b:Amt><b:Amt>1</b:Amt></a:P><a:Q><a:R><b:Amt>5</b:Amt></a:R>"
                "<b:Amt>5</b:Amt></a:Q><a:S><a:T><b:Amt>3</b:Amt></a:T></a:S><a:R><b:Amt>9</b:Amt>"
                "</a:R>"
            ).getroottree()
        )
    )
    assert [line.split("\t")[1] for line in out.splitlines()] == [
        "/a:Doc[1]/a:P[1]/b:Amt[1]",
        "/a:Doc[1]/a:Q[1]/a:R[1]/b:Amt[1]",
        "/a:Doc[1]/a:S[1]/a:T[1]/b:Amt[1]",
    ]


@pytest.mark.parametrize(
    ("walk", "expected"),
    [
        ("(//cac:InvoiceLine | //cac:CreditNoteLine)/cbc:LineExtensionAmount",
         "(key('ff-names', 'InvoiceLine')[self::cac:InvoiceLine] | "
         "key('ff-names', 'CreditNoteLine')[self::cac:CreditNoteLine])/cbc:LineExtensionAmount"),
        ("//cbc:X/@a", "key('ff-names', 'X')[self::cbc:X]/@a"),
        ("//cbc:X//cbc:Y", "key('ff-names', 'X')[self::cbc:X]//cbc:Y"),
        ("//cbc:X[1]", "//cbc:X[1]"),  # a position counts along the walk
        ("a//cbc:X", "a//cbc:X"),
        ("//cbc:X[. = 'a']", "//cbc:X[. = 'a']"),
    ],
)  # fmt: skip
def test_a_walk_by_name_comes_from_the_name_index(walk: str, expected: str) -> None:
    assert _descendants_by_name(walk) == expected


def test_a_walk_from_the_name_index_selects_the_same_nodes() -> None:
    xml = (
        '<r xmlns:c="urn:c" xmlns:d="urn:d"><c:L><c:A>1</c:A></c:L><d:L><c:A>2</c:A></d:L>'
        "<x><c:L><c:A>3</c:A><c:L><c:A>4</c:A></c:L></c:L></x><c:M><c:A>5</c:A></c:M></r>"
    )
    walk = "(//c:L | //c:M)/c:A"
    keyed = _descendants_by_name(walk)
    assert keyed != walk
    sheet = (
        '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" '
        'xmlns:c="urn:c"><xsl:output method="text"/>'
        '<xsl:key name="ff-names" match="*" use="local-name()"/>'
        '<xsl:template match="/"><xsl:for-each select="{}"><xsl:value-of select="."/>'
        "</xsl:for-each></xsl:template></xsl:stylesheet>"
    )
    document = etree.fromstring(xml).getroottree()
    walked = str(_xslt(sheet.format(walk))(document))
    assert walked == "1345"
    assert str(_xslt(sheet.format(keyed.replace("'", "&apos;")))(document)) == walked
