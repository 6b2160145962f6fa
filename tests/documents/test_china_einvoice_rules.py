"""数电票 business rules: amount and tax arithmetic and the parties' codes, at ingest and validate.

The variants are the special-invoice fixture with one number changed; with the rules on (as
ingest reads) a fatal rule refuses the invoice naming the element, a warning is kept as a
finding; without them (a reader built without rules) only the structure is checked.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fourflow.adapters.documents.business_rules import InvoiceRules, RuleEngine
from fourflow.adapters.documents.china_einvoice import validate
from fourflow.adapters.documents.errors import DocumentRejectedError
from fourflow.adapters.documents.registry import DetectingReader
from fourflow.adapters.documents.standards import standards_dir

FIXTURES = Path(__file__).parent / "fixtures"


def special() -> str:
    return (FIXTURES / "cn-einvoice-special.xml").read_text(encoding="utf-8")


def rules_reader() -> DetectingReader:
    return DetectingReader(submitter="org-7", rules=InvoiceRules(RuleEngine(standards_dir())))


CASES = {
    # gross total one cent above net + tax
    "gross": (("<TotalTax-includedAmount>25018.90<", "<TotalTax-includedAmount>25018.91<"),
              "CN-EINV-012", "TotalTax-includedAmount"),
    # the net total no longer the sum of the lines (and net + tax != gross follows)
    "net": (("<Amount>2250.00<", "<Amount>2250.01<"), "CN-EINV-013", "TotalAmWithoutTax"),
    # a line's tax is not its amount times its rate
    "line_tax": (("<ComTaxAm>135.00<", "<ComTaxAm>13.50<"), "CN-EINV-015", "ComTaxAm"),
    # a line's gross is not amount + tax
    "line_gross": (("<TotaltaxIncludedAmount>2385.00<", "<TotaltaxIncludedAmount>2386.00<"),
                   "CN-EINV-016", "TotaltaxIncludedAmount"),
    # the seller code is no taxpayer number at all
    "seller_code": (("<SellerIdNum>91320594MA1W8R2K7P<", "<SellerIdNum>not-a-code<"),
                    "CN-EINV-018", "SellerIdNum"),
}  # fmt: skip


def test_the_fixture_passes_the_rules() -> None:
    assert validate(special().encode("utf-8"), source="x.xml", rules=True) == []
    (parsed,) = rules_reader().read(special().encode("utf-8"), source="x.xml")
    assert parsed.findings == ()


@pytest.mark.parametrize("case", list(CASES))
def test_broken_arithmetic_or_codes_are_refused_at_ingest(case: str) -> None:
    (old, new), rule, where = CASES[case]
    xml = special()
    assert old in xml
    raw = xml.replace(old, new, 1).encode("utf-8")
    with pytest.raises(DocumentRejectedError) as refused:
        rules_reader().read(raw, source="x.xml")
    problems = [p for p in refused.value.problems if p.code == rule]
    assert problems, refused.value.problems
    assert where in problems[0].location and where in problems[0].message
    assert rule in {i.rule for i in validate(raw, source="x.xml", rules=True)}


def test_without_rules_only_the_structure_is_checked() -> None:
    raw = special().replace("<ComTaxAm>135.00<", "<ComTaxAm>13.50<", 1).encode("utf-8")
    (parsed,) = DetectingReader(submitter="org-7").read(raw, source="x.xml")
    assert parsed.document.number
    assert not [i for i in validate(raw, source="x.xml", rules=False) if i.rule == "CN-EINV-015"]


def test_quantity_times_price_off_is_a_finding_not_a_refusal() -> None:
    raw = special().replace("<UnPrice>180<", "<UnPrice>181<", 1).encode("utf-8")
    (parsed,) = rules_reader().read(raw, source="x.xml")
    assert [f["code"] for f in parsed.findings] == ["CN-EINV-017"]
