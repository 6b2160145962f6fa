"""The Peppol Order (T01) arithmetic rules against their own VEFA unit tests.

``peppol-poacc/unit-tests/unit-order`` holds, per rule, documents with the expected outcome
(error, warning or success). For every expectation about a rule FourFlow implements
(``order_rules.RULES``) the native check must give the same outcome.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from fourflow.adapters.documents.order_rules import NS, RULES, SCHEMATRON, check_order, rule_texts
from fourflow.adapters.documents.standards import standards_dir

VEFA = "http://difi.no/xsd/vefa/validator/1.0"
_EXPECTED = {"error": "fatal", "warning": "warning", "success": None}


def _schematron() -> Path:
    return standards_dir().joinpath(*SCHEMATRON)


def _cases() -> list[tuple[str, int, str, str, etree._Element]]:
    cases = []
    for path in sorted(
        (standards_dir() / "peppol-poacc" / "unit-tests" / "unit-order").glob("*.xml")
    ):
        root = etree.parse(str(path)).getroot()
        for n, test in enumerate(root.iterfind(f"{{{VEFA}}}test"), start=1):
            docs = [c for c in test if isinstance(c.tag, str) and etree.QName(c).namespace != VEFA]
            if not docs:
                continue
            document = etree.fromstring(etree.tostring(docs[0]))
            for e in test.iterfind(f"{{{VEFA}}}assert/*"):
                kind = etree.QName(e).localname
                rule = (e.text or "").strip()
                if kind in _EXPECTED and rule in RULES:
                    cases.append((path.name, n, rule, kind, document))
    return cases


def test_every_implemented_rule_exists_in_the_official_schematron() -> None:
    texts = rule_texts(_schematron())
    for rule in RULES:
        assert rule in texts, rule
        assert texts[rule][0] in ("fatal", "warning")


def test_order_arithmetic_agrees_with_the_peppol_unit_tests(
    capsys: pytest.CaptureFixture[str],
) -> None:
    cases = _cases()
    wrong = []
    for name, n, rule, kind, document in cases:
        fired: dict[str, str] = {}
        for issue in check_order(document, _schematron()):
            if fired.get(issue.rule) != "fatal":
                fired[issue.rule] = issue.flag
        if fired.get(rule) != _EXPECTED[kind]:
            wrong.append(f"{name}#{n} {rule}: expected {kind}, got {fired.get(rule)}")
    with capsys.disabled():
        print(f"\nPeppol T01 arithmetic: {len(cases) - len(wrong)}/{len(cases)} expectations agree")
    assert len(cases) >= 20
    assert not wrong, "\n".join(wrong)


ORDER_EXAMPLE = ("peppol-poacc", "examples", "examples", "Order_Example.xml")


def _reader() -> object:
    from fourflow.adapters.documents.business_rules import InvoiceRules, RuleEngine
    from fourflow.adapters.documents.registry import DetectingReader

    return DetectingReader(submitter="org-1", rules=InvoiceRules(RuleEngine(standards_dir())))


def test_an_order_whose_totals_do_not_add_up_is_refused_at_ingest() -> None:
    from fourflow.adapters.documents.errors import DocumentRejectedError
    from fourflow.adapters.documents.registry import DetectingReader

    raw = standards_dir().joinpath(*ORDER_EXAMPLE).read_text(encoding="utf-8")
    reader = _reader()
    assert isinstance(reader, DetectingReader)
    (parsed,) = reader.read(raw.encode("utf-8"), source="order.xml")
    assert parsed.findings == ()
    # one line's net amount one unit higher: the lines no longer add up to the total
    root = etree.fromstring(raw.encode("utf-8"))
    line = root.find("cac:OrderLine/cac:LineItem/cbc:LineExtensionAmount", NS)
    assert line is not None and line.text is not None
    line.text = str(Decimal(line.text) + 1)
    broken = etree.tostring(root, encoding="unicode")
    with pytest.raises(DocumentRejectedError) as refused:
        reader.read(broken.encode("utf-8"), source="order.xml")
    codes = {p.code for p in refused.value.problems}
    assert {"PEPPOL-T01-R008", "PEPPOL-T01-R024"} <= codes, codes
    problem = refused.value.problems[0]
    assert problem.message.startswith("order.xml: [PEPPOL-T01-R") and problem.location
    # without the rules (a reader built without them) the same bytes are read
    (plain,) = DetectingReader(submitter="org-1").read(broken.encode("utf-8"), source="o.xml")
    assert plain.document.number
