"""EN 16931 business rules against CEN's own rule unit tests (VEFA testSets, tc434-ubl/-cii).

Each ``<test>`` in ``en16931/unit-tests`` expects a rule to fire as an error or a warning, or
not to fire (success), on the document embedded in it. We run the official compiled XSLT
(``fourflow.adapters.documents.en16931``) on every embedded document and compare. Tests of one
suite share an xdist group, so each worker compiles the stylesheets once and reuses outcomes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from lxml import etree

from fourflow.adapters.documents.en16931 import Syntax, fired_rules
from fourflow.adapters.documents.standards import standards_dir
from fourflow.adapters.documents.xml import parse_xml

VEFA = "http://difi.no/xsd/vefa/validator/1.0"
_EXPECTED_FLAG = {"error": "fatal", "warning": "warning", "success": None}
# Suite folder -> (syntax, xdist group). The invoice suite is the largest; it has a worker.
SUITES: dict[str, tuple[Syntax, str]] = {
    "Invoice-unit-UBL": (Syntax.UBL, "en16931-ubl-invoice"),
    "CreditNote-unit-UBL": (Syntax.UBL, "en16931-creditnote-cii"),
    "cii": (Syntax.CII, "en16931-creditnote-cii"),
}


def unit_tests_dir() -> Path:
    """Where CEN's rule unit tests are in the standards directory."""
    return standards_dir() / "en16931" / "unit-tests"


@dataclass(frozen=True, slots=True)
class Outcome:
    """One expectation of one ``<test>`` and what the XSLT did.

    Attributes:
        where: ``suite/file.xml#n`` (n counts the file's tests from 1).
        rule: the rule id the test is about.
        expected: ``error``, ``warning`` or ``success``.
        actual: the flag the rule fired with (``fatal``/``warning``), or None.
    """

    where: str
    rule: str
    expected: str
    actual: str | None

    @property
    def agrees(self) -> bool:
        """True when the rule fired as the test expects (or did not fire, for success)."""
        return _EXPECTED_FLAG[self.expected] == self.actual


def _embedded(test: etree._Element) -> etree._Element | None:
    for child in test:
        if isinstance(child.tag, str) and etree.QName(child).namespace != VEFA:
            return child
    return None


def _expectations(test: etree._Element) -> list[tuple[str, str]]:
    return [
        (etree.QName(e).localname, (e.text or "").strip())
        for e in test.iterfind(f"{{{VEFA}}}assert/*")
        if etree.QName(e).localname in _EXPECTED_FLAG
    ]


@cache
def file_outcomes(suite: str, name: str) -> tuple[Outcome, ...]:
    """Run every test of one testSet file (cached per worker)."""
    syntax = SUITES[suite][0]
    path = unit_tests_dir() / suite / name
    root = parse_xml(path.read_bytes(), str(path))
    outcomes: list[Outcome] = []
    for n, test in enumerate(root.iterfind(f"{{{VEFA}}}test"), start=1):
        document = _embedded(test)
        assert document is not None, f"{suite}/{name}#{n}: no embedded document"
        fired = fired_rules(document, syntax)
        outcomes.extend(
            Outcome(f"{suite}/{name}#{n}", rule, expected, fired.get(rule))
            for expected, rule in _expectations(test)
        )
    return tuple(outcomes)


def suite_files(suite: str) -> list[str]:
    """The testSet files of a suite, sorted."""
    return sorted(p.name for p in (unit_tests_dir() / suite).glob("*.xml"))


def _describe(outcome: Outcome) -> str:
    return (
        f"{outcome.where} {outcome.rule}: expected {outcome.expected}, XSLT gave {outcome.actual}"
    )


def _cases() -> list[object]:
    return [
        pytest.param(suite, name, id=f"{suite}/{name}", marks=pytest.mark.xdist_group(group))
        for suite, (_syntax, group) in SUITES.items()
        for name in suite_files(suite)
    ]


@pytest.mark.parametrize(("suite", "name"), _cases())
def test_testset_file_agrees_with_official_rules(suite: str, name: str) -> None:
    """Every expectation of one testSet file holds on the official XSLT."""
    outcomes = file_outcomes(suite, name)
    assert outcomes, f"{suite}/{name}: no expectations found"
    disagreements = [_describe(o) for o in outcomes if not o.agrees]
    assert not disagreements, "\n".join(disagreements)


@pytest.mark.parametrize(
    "suite",
    [pytest.param(s, marks=pytest.mark.xdist_group(g)) for s, (_x, g) in SUITES.items()],
)
def test_suite_agreement_rate_is_100_percent(
    suite: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The agreement rate over a whole suite: printed, and required to be 100 %."""
    outcomes = [o for name in suite_files(suite) for o in file_outcomes(suite, name)]
    agreed = sum(o.agrees for o in outcomes)
    rate = agreed / len(outcomes)
    with capsys.disabled():
        print(f"\nEN 16931 {suite}: {agreed}/{len(outcomes)} expectations agree ({rate:.2%})")
    assert rate == 1.0, "\n".join(_describe(o) for o in outcomes if not o.agrees)
