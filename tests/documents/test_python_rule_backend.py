"""The rule engine's Python backend (``RuleEngine(backend="python")``) agrees with its XSLT
engine (which the agreement tests hold to the official XSLT on Saxon), rule by rule.

* CEN's VEFA rule unit tests: every expected error, warning and success holds;
* Peppol's VEFA unit tests: the same;
* every UBL and CII invoice or credit note in the standards directory (embedded ones too),
  against each rule set ingest applies to it (EN 16931, and Peppol BIS Billing 3 when it
  claims it), and 300 simulated invoices: the same (rule, flag, location), the same number of
  times, on both backends.
"""

from __future__ import annotations

from collections import Counter
from functools import cache

import pytest
from lxml import etree

from fourflow.adapters.documents import pyrules
from fourflow.adapters.documents.business_rules import RuleEngine, RuleSet, fired, rule_sets_for
from fourflow.adapters.documents.standards import standards_dir
from fourflow.adapters.documents.xml import parse_xml
from tests.documents.test_rule_engine_agreement import (
    _EXPECTED,
    RULE_SET,
    SUITES,
    VEFA,
    _embedded,
    _suite_files,
    sample_documents,
    simulated,
)

pytestmark = pytest.mark.xdist_group("rule-engine-agreement")


@cache
def python_engine() -> RuleEngine:
    return RuleEngine(standards_dir(), backend="python")


@cache
def xslt_engine() -> RuleEngine:
    return RuleEngine(standards_dir(), backend="xslt")


def _verdict(
    engine: RuleEngine, document: etree._Element, rule_set: RuleSet
) -> Counter[tuple[str, str, str]]:
    return Counter((i.rule, i.flag, i.location) for i in engine.check(document, rule_set))


def test_the_python_backend_compiles_nearly_every_assert(
    capsys: pytest.CaptureFixture[str],
) -> None:
    counts = {}
    for rule_set in RuleSet:
        backend = python_engine().python(rule_set)
        counts[rule_set.value] = (len(backend.python.native), len(backend.python.asserts))
        assert backend.python.native.isdisjoint(backend.python.fallback)
        assert len(backend.python.native) + len(backend.python.fallback) == len(
            backend.python.asserts
        )
        # the asserts left to the XSLT are the only ones its reduced sheet tests
        assert backend.xslt is not None
        tested = {n for n, a in enumerate(backend.xslt.asserts) if a.reason != "tested elsewhere"}
        assert tested == set(backend.python.fallback)
    with capsys.disabled():
        print(f"\nPython backend, native/all asserts: {counts}")
    assert counts["en16931-ubl"][0] >= 970


def test_python_backend_meets_every_cen_unit_test_expectation() -> None:
    base = standards_dir() / "en16931" / "unit-tests"
    total, wrong = 0, []
    for suite, name in _suite_files():
        path = base / suite / name
        root = parse_xml(path.read_bytes(), str(path))
        for n, test in enumerate(root.iterfind(f"{{{VEFA}}}test"), start=1):
            document = _embedded(test)
            assert document is not None
            got = fired(python_engine().check(document, RULE_SET[SUITES[suite]]))
            for e in test.iterfind(f"{{{VEFA}}}assert/*"):
                kind = etree.QName(e).localname
                if kind not in _EXPECTED:
                    continue
                rule = (e.text or "").strip()
                total += 1
                if got.get(rule) != _EXPECTED[kind]:
                    wrong.append(f"{suite}/{name}#{n} {rule}: expected {kind}, got {got.get(rule)}")
    assert total > 700
    assert not wrong, "\n".join(wrong)


def _differences(documents: list[tuple[str, etree._Element, str]]) -> tuple[int, list[str]]:
    compared, differ = 0, []
    for where, document, syntax in documents:
        for rule_set in rule_sets_for(document, syntax):
            compared += 1
            mine = _verdict(python_engine(), document, rule_set)
            theirs = _verdict(xslt_engine(), document, rule_set)
            if mine != theirs:
                differ.append(
                    f"{where} {rule_set.value}: python only {sorted(mine - theirs)[:3]}, "
                    f"xslt only {sorted(theirs - mine)[:3]}"
                )
    return compared, differ


def test_python_and_xslt_backends_agree_on_every_sample(
    capsys: pytest.CaptureFixture[str],
) -> None:
    compared, differ = _differences(list(sample_documents()))
    with capsys.disabled():
        print(f"\nPython vs XSLT backend on samples: {compared - len(differ)}/{compared} identical")
    assert compared > 1500
    assert not differ, "\n".join(differ)


def test_python_and_xslt_backends_agree_on_simulated_invoices() -> None:
    compared, differ = _differences(list(simulated(300)))
    assert compared > 250
    assert not differ, "\n".join(differ)


def test_numbers_print_as_xpath_2_does() -> None:
    assert [pyrules.numstr(x) for x in (5567321707.0, 1e7, 1.5e-7, 123.0, 0.5, float("nan"))] == [
        "5.567321707E9",
        "1.0E7",
        "1.5E-7",
        "123",
        "0.5",
        "NaN",
    ]


def test_a_python_failure_names_rule_text_and_path() -> None:
    xml = (standards_dir() / "en16931" / "ubl-examples" / "ubl-tc434-example1.xml").read_text()
    broken = xml.replace(
        '<cbc:PayableAmount currencyID="EUR">', '<cbc:PayableAmount currencyID="EUR">-'
    )
    issues = python_engine().check(etree.fromstring(broken.encode()), RuleSet.EN16931_UBL)
    found = {i.rule: i for i in issues}
    assert found, "a negated payable amount breaks the totals rules"
    issue = next(iter(found.values()))
    assert issue.message and issue.location.startswith("/Invoice[1]")
