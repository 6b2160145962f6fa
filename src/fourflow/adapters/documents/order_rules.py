"""The arithmetic rules of the Peppol BIS Order (T01), in exact decimals, for UBL orders.

The rules are those of ``peppol-poacc/schematron/parts/PEPPOL-M-T01.sch`` that compute with
amounts and quantities (PEPPOL-T01-R004, R006-R011, R016, R017, R022, R024, R025, R032); their
id, flag and text are read from that file, never restated here. The Schematron cannot be run
as it is published (it includes a generated part that is not in the release), so these
asserts are coded by hand from its expressions, in ``Decimal``. Agreement with the rules' own
VEFA unit tests (``peppol-poacc/unit-tests/unit-order``) is tested. A UBL despatch advice
carries no amounts: no arithmetic rule applies to it.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from pathlib import Path

from lxml import etree

from fourflow.adapters.documents.registry import ValidationIssue

SCHEMATRON = ("peppol-poacc", "schematron", "parts", "PEPPOL-M-T01.sch")
_SCH = "http://purl.oclc.org/dsdl/schematron"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
NS = {"cac": CAC, "cbc": CBC}
RULES = ("PEPPOL-T01-R004", "PEPPOL-T01-R006", "PEPPOL-T01-R007", "PEPPOL-T01-R008",
         "PEPPOL-T01-R009", "PEPPOL-T01-R010", "PEPPOL-T01-R011", "PEPPOL-T01-R016",
         "PEPPOL-T01-R017", "PEPPOL-T01-R022", "PEPPOL-T01-R024", "PEPPOL-T01-R025",
         "PEPPOL-T01-R032")  # fmt: skip
_CENT = Decimal("0.01")
_SLACK = Decimal("0.02")


@cache
def rule_texts(path: Path) -> dict[str, tuple[str, str]]:
    """Each rule id of the Schematron at ``path`` -> (flag, text)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    schema = etree.parse(str(path), parser)
    return {
        a.get("id", ""): (
            a.get("flag", "fatal") or "fatal",
            " ".join("".join(str(t) for t in a.itertext()).split()),
        )
        for a in schema.iter(f"{{{_SCH}}}assert")
    }


def _dec(node: etree._Element | None) -> Decimal | None:
    if node is None or node.text is None:
        return None
    try:
        return Decimal(node.text.strip())
    except InvalidOperation:
        return None


def _one(context: etree._Element, path: str) -> etree._Element | None:
    found = context.find(path, NS)
    return found


def _round2(value: Decimal) -> Decimal:
    """XPath ``round(x * 100) div 100``: halves go towards positive infinity."""
    mode = ROUND_HALF_UP if value >= 0 else ROUND_HALF_DOWN
    return (value * 100).to_integral_value(rounding=mode) / 100


def _sum_rounded(nodes: list[etree._Element]) -> Decimal:
    values = [_dec(n) for n in nodes]
    return _round2(sum((v for v in values if v is not None), Decimal(0))) if nodes else Decimal(0)


def _charges(parent: etree._Element, charge: bool) -> list[etree._Element]:
    flag = "true" if charge else "false"
    return [
        amount
        for ac in parent.findall("cac:AllowanceCharge", NS)
        if (ac.findtext("cbc:ChargeIndicator", "", NS) or "").strip() == flag
        for amount in ac.findall("cbc:Amount", NS)
    ]


def _location(node: etree._Element) -> str:
    tree = node.getroottree()
    return tree.getpath(node)


Check = Callable[[str, etree._Element], None]


def check_order(root: etree._Element, schematron: Path) -> list[ValidationIssue]:
    """The T01 arithmetic rules ``root`` (a UBL Order) breaks or is warned about."""
    texts = rule_texts(schematron)
    issues: list[ValidationIssue] = []

    def fail(rule: str, node: etree._Element) -> None:
        flag, text = texts[rule]
        issues.append(ValidationIssue(rule, flag, f"[{rule}]-{text}", _location(node)))

    total = _one(root, "cac:AnticipatedMonetaryTotal")
    if total is not None:
        _check_totals(root, total, fail)
    for ac in [*root.findall("cac:AllowanceCharge", NS),
               *root.findall("cac:OrderLine/cac:LineItem/cac:AllowanceCharge", NS)]:  # fmt: skip
        _check_allowance_charge(ac, fail)
    for item in root.findall("cac:OrderLine/cac:LineItem", NS):
        _check_line(item, fail)
    return issues


def _check_totals(root: etree._Element, total: etree._Element, fail: Check) -> None:
    def amount(name: str, default: Decimal | None = None) -> Decimal | None:
        node = _one(total, f"cbc:{name}")
        return _dec(node) if node is not None else default

    payable, lines = amount("PayableAmount"), amount("LineExtensionAmount")
    prepaid, rounding = (
        amount("PrepaidAmount", Decimal(0)),
        amount("PayableRoundingAmount", Decimal(0)),
    )
    inclusive = amount("TaxInclusiveAmount")
    allowances = amount("AllowanceTotalAmount", Decimal(0))
    charges = amount("ChargeTotalAmount", Decimal(0))
    exclusive = amount("TaxExclusiveAmount")
    if (
        exclusive is None
        and _one(total, "cbc:TaxExclusiveAmount") is None
        and None not in (lines, allowances, charges)
    ):
        assert lines is not None and allowances is not None and charges is not None
        exclusive = lines - allowances + charges
    sum_lines = _sum_rounded(root.findall("cac:OrderLine/cac:LineItem/cbc:LineExtensionAmount", NS))
    tax_node = root.find("cac:TaxTotal/cbc:TaxAmount", NS)
    tax = _dec(tax_node) if tax_node is not None else Decimal(0)
    # An absent operand makes an XPath 2.0 comparison false, so the assert fails.
    if payable is None or payable < 0:
        fail("PEPPOL-T01-R006", total)
    if lines is None or lines < 0:
        fail("PEPPOL-T01-R007", total)
    if lines is None or lines != sum_lines:
        fail("PEPPOL-T01-R008", total)
    if allowances is None or allowances != _sum_rounded(_charges(root, charge=False)):
        fail("PEPPOL-T01-R009", total)
    if charges is None or charges != _sum_rounded(_charges(root, charge=True)):
        fail("PEPPOL-T01-R010", total)
    if None in (exclusive, lines, allowances, charges) or exclusive != _dec_sum(
        lines, allowances, charges
    ):
        fail("PEPPOL-T01-R011", total)
    if inclusive and (
        None in (payable, prepaid, rounding) or payable != _dec_sum(inclusive, prepaid, rounding)
    ):
        fail("PEPPOL-T01-R016", total)
    has_tax_total = root.find("cac:TaxTotal", NS) is not None
    if (
        inclusive
        and has_tax_total
        and (exclusive is None or tax is None or inclusive != exclusive + tax)
    ):
        fail("PEPPOL-T01-R017", total)


def _dec_sum(a: Decimal | None, minus: Decimal | None, plus: Decimal | None) -> Decimal | None:
    """``a - minus + plus``, or None when an operand is absent."""
    if a is None or minus is None or plus is None:
        return None
    return a - minus + plus


def _check_allowance_charge(ac: etree._Element, fail: Check) -> None:
    base, factor = _dec(_one(ac, "cbc:BaseAmount")), _dec(_one(ac, "cbc:MultiplierFactorNumeric"))
    amount_node = _one(ac, "cbc:Amount")
    amount = _dec(amount_node) if amount_node is not None else Decimal(0)
    if (
        base is not None
        and factor is not None
        and amount is not None
        and abs(amount - base * factor / 100) > _SLACK
    ):
        fail("PEPPOL-T01-R022", ac)
    number = _dec(amount_node)
    if not (number is not None and number >= 0):
        fail("PEPPOL-T01-R032", ac)


def _check_line(item: etree._Element, fail: Check) -> None:
    def value(path: str, default: Decimal) -> Decimal | None:
        node = _one(item, path)
        return _dec(node) if node is not None else default

    line_amount = value("cbc:LineExtensionAmount", Decimal(0))
    quantity = value("cbc:Quantity", Decimal(1))
    price = value("cac:Price/cbc:PriceAmount", Decimal(0))
    base_node = _one(item, "cac:Price/cbc:BaseQuantity")
    base = _dec(base_node) if base_node is not None else None
    base_quantity = base if base not in (None, Decimal(0)) else Decimal(1)
    allowances = _sum_rounded(_charges(item, charge=False))
    charges = _sum_rounded(_charges(item, charge=True))
    if None not in (line_amount, quantity, price) and base_quantity is not None:
        assert line_amount is not None and quantity is not None and price is not None
        expected = quantity * (price / base_quantity) + charges - allowances
        if abs(line_amount - expected) > _SLACK:
            fail("PEPPOL-T01-R024", item)
    if base_node is not None and not (base is not None and base > 0):
        fail("PEPPOL-T01-R025", item)
    quantity_node = _one(item, "cbc:Quantity")
    ordered = _dec(quantity_node)
    if not (ordered is not None and ordered >= 0):
        fail("PEPPOL-T01-R004", item)
