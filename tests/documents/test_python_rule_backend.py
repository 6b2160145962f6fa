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

import re
from collections import Counter
from collections.abc import Callable
from functools import cache

import pytest
from lxml import etree

from fourflow.adapters.documents import pyrules
from fourflow.adapters.documents.business_rules import (
    RuleEngine,
    RuleSet,
    fired,
    refuse_or_keep,
    rule_sets_for,
)
from fourflow.adapters.documents.errors import DocumentRejectedError
from fourflow.adapters.documents.standards import standards_dir
from fourflow.adapters.documents.xml import parse_xml
from tests.documents.test_peppol_rules import RULE_SET as PEPPOL_RULE_SET
from tests.documents.test_peppol_rules import vefa_cases
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


def test_python_backend_meets_every_cen_unit_test_expectation(
    capsys: pytest.CaptureFixture[str],
) -> None:
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
    with capsys.disabled():
        print(f"\nPython backend on CEN unit tests: {total - len(wrong)}/{total} agree")
    assert total > 700
    assert not wrong, "\n".join(wrong)


def test_python_backend_meets_every_peppol_unit_test_expectation(
    capsys: pytest.CaptureFixture[str],
) -> None:
    total, wrong = 0, []
    for where, document, syntax, expected in vefa_cases():
        got = fired(python_engine().check(document, PEPPOL_RULE_SET[syntax]))
        for kind, rule in expected:
            total += 1
            if got.get(rule) != _EXPECTED[kind]:
                wrong.append(f"{where} {rule}: expected {kind}, got {got.get(rule)}")
    with capsys.disabled():
        print(f"\nPython backend on Peppol unit tests: {total - len(wrong)}/{total} agree")
    assert total > 550
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


def _set(xml: str, tag: str, value: str) -> str:
    out, n = re.subn(rf"(<cbc:{tag}\b[^>]*>)[^<]*(</cbc:{tag}>)", rf"\g<1>{value}\g<2>", xml)
    assert n, tag
    return out


def _negate_amounts(xml: str) -> str:
    return re.sub(r"(<cbc:\w*Amount\b[^>]*>)([0-9.]+)(</cbc:\w*Amount>)", r"\1-\2\3", xml)


# issue 19's hostile invoices that the rules refuse (the fourth, dated five years ahead, is
# refused by ingest's date check, tests/integration/test_ingest_rules.py)
HOSTILE: dict[str, tuple[Callable[[str], str], str]] = {
    "negative_payable": (lambda x: _set(x, "PayableAmount", "-250.33"), "BR-CO-16"),
    "all_negative": (_negate_amounts, "BR-27"),
    "totals_off_by_a_cent": (lambda x: _set(x, "TaxInclusiveAmount", "250.34"), "BR-CO-15"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_python_backend_refuses_the_hostile_invoices_as_the_xslt_engine_does(case: str) -> None:
    mutate, rule = HOSTILE[case]
    path = standards_dir() / "en16931" / "ubl-examples" / "ubl-tc434-example1.xml"
    document = etree.fromstring(mutate(path.read_text(encoding="utf-8")).encode("utf-8"))
    issues = python_engine().check(document, RuleSet.EN16931_UBL)
    assert issues == xslt_engine().check(document, RuleSet.EN16931_UBL)
    with pytest.raises(DocumentRejectedError) as refused:
        refuse_or_keep(issues, "hostile.xml")
    problems = {p.code: p for p in refused.value.problems}
    assert rule in problems
    assert problems[rule].location.startswith("/Invoice[1]")
    assert rule in problems[rule].message
