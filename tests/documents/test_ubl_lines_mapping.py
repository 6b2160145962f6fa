"""The UBL line mapping (one pass over each line's children, for ingest speed) gives exactly
what the index-based mapping it replaced gave: the same lines, or the same error, on every
UBL document in the standards directory and on written edge cases (comments inside values,
several prices, empty ids, a base quantity, lines without a quantity, bad numbers).

``reference_lines`` is the replaced code, kept here as the reference.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from fourflow.adapters.documents import ubl
from fourflow.adapters.documents.standards import standards_dir
from fourflow.adapters.documents.xml import text
from fourflow.domain.documents import DocumentLine
from fourflow.domain.errors import DomainValueError

_ITEM_NAMES = tuple(
    ubl._steps(path)
    for path in (
        "cac:SellersItemIdentification/cbc:ID",
        "cac:StandardItemIdentification/cbc:ID",
        "cbc:Name",
        "cac:BuyersItemIdentification/cbc:ID",
        "cbc:Description",
    )
)


def _reference_item(line: ubl.Index, line_id: str) -> str:
    items = line.get(ubl._ITEM_TAG)
    if not items:
        return line_id
    index = ubl._index(items[0])
    for steps in _ITEM_NAMES:
        name = ubl._text(index, steps)
        if name:
            return name
    return line_id


def reference_lines(root: ubl.Index, kind: ubl.UblKind) -> tuple[DocumentLine, ...]:
    """The line mapping as it was before the one-pass version."""
    lines: list[DocumentLine] = []
    quantity_steps = ubl._steps(kind.quantity)
    for n, element in enumerate(ubl._all(root, ubl._steps(kind.line)), start=1):
        line = ubl._index(element)
        line_id = ubl._text(line, ubl._ID) or str(n)
        where = f"{kind.line}[{n}]"
        quantity_el = ubl._find(line, quantity_steps)
        quantity = ubl._decimal_at(text(quantity_el), where, kind.quantity)
        if quantity is None or quantity_el is None:
            continue
        amount = ubl._decimal_at(ubl._text(line, ubl._LINE_AMOUNT), where, "amount")
        lines.append(
            ubl.signed_line(
                line_id,
                _reference_item(line, line_id),
                quantity,
                quantity_el.get("unitCode", ""),
                ubl._unit_price(line, where),
                amount,
            )
        )
    return tuple(lines)


def _outcome(fn, root: etree._Element, kind: ubl.UblKind) -> object:  # type: ignore[no-untyped-def]
    try:
        return fn(ubl._index(root), kind)
    except DomainValueError as exc:
        return ("error", str(exc))


def _ubl_samples() -> list[Path]:
    base = standards_dir()
    found = []
    for folder in ("ubl", "en16931", "peppol-billing", "peppol-logistics", "peppol-poacc"):
        for path in sorted((base / folder).rglob("*.xml")):
            head = path.read_bytes()[:4096]
            if b"urn:oasis:names:specification:ubl:schema:xsd:" in head:
                found.append(path)
    return found


def test_every_ubl_sample_maps_to_the_same_lines() -> None:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    compared = 0
    for path in _ubl_samples():
        try:
            root = etree.parse(str(path), parser).getroot()
        except etree.XMLSyntaxError:
            continue  # deliberately broken files of the test suites
        qname = etree.QName(root)
        kind = ubl.ROOTS.get((qname.namespace or "", qname.localname))
        if kind is None:
            continue
        new, old = _outcome(ubl._lines, root, kind), _outcome(reference_lines, root, kind)
        assert new == old, path
        compared += 1
    assert compared > 100  # 111 UBL documents here (the rule suites wrap theirs in test files)


EDGE = """<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
 xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
{lines}
</Invoice>"""

LINES = [
    # comments inside values (string value joins the text nodes; text() takes the first)
    "<cac:InvoiceLine><cbc:ID>A<!-- c -->1</cbc:ID>"
    "<cbc:InvoicedQuantity unitCode='KGM'>2<!-- x -->0</cbc:InvoicedQuantity>"
    "<cbc:LineExtensionAmount>1<!-- y -->0.00</cbc:LineExtensionAmount>"
    "<cac:Item><cbc:Name>N<!-- z -->ame</cbc:Name></cac:Item></cac:InvoiceLine>",
    # empty id, two prices, base quantity, seller's id empty then standard id
    "<cac:InvoiceLine><cbc:ID> </cbc:ID><cbc:InvoicedQuantity>3</cbc:InvoicedQuantity>"
    "<cac:Item><cac:SellersItemIdentification><cbc:ID></cbc:ID></cac:SellersItemIdentification>"
    "<cac:SellersItemIdentification><cbc:ID>S2</cbc:ID></cac:SellersItemIdentification>"
    "<cac:StandardItemIdentification><cbc:ID>GTIN</cbc:ID></cac:StandardItemIdentification>"
    "</cac:Item><cac:Price><cbc:BaseQuantity>2</cbc:BaseQuantity></cac:Price>"
    "<cac:Price><cbc:PriceAmount>9.00</cbc:PriceAmount></cac:Price></cac:InvoiceLine>",
    # one price with a base quantity of 4; buyer's id and description only
    "<cac:InvoiceLine><cbc:ID>3</cbc:ID><cbc:InvoicedQuantity>-1</cbc:InvoicedQuantity>"
    "<cac:Item><cbc:Description>D</cbc:Description><cac:BuyersItemIdentification><cbc:ID>B"
    "</cbc:ID></cac:BuyersItemIdentification></cac:Item><cac:Price>"
    "<cbc:PriceAmount>8</cbc:PriceAmount><cbc:BaseQuantity>4</cbc:BaseQuantity></cac:Price>"
    "</cac:InvoiceLine>",
    # no quantity: no goods; a zero base quantity; no item at all
    "<cac:InvoiceLine><cbc:ID>4</cbc:ID></cac:InvoiceLine>"
    "<cac:InvoiceLine><cbc:InvoicedQuantity>1</cbc:InvoicedQuantity><cac:Price>"
    "<cbc:PriceAmount>5</cbc:PriceAmount><cbc:BaseQuantity>0</cbc:BaseQuantity></cac:Price>"
    "</cac:InvoiceLine>",
]
BAD = [
    "<cac:InvoiceLine><cbc:ID>1</cbc:ID><cbc:InvoicedQuantity>x</cbc:InvoicedQuantity>"
    "<cbc:LineExtensionAmount>y</cbc:LineExtensionAmount></cac:InvoiceLine>",
    "<cac:InvoiceLine><cbc:ID>1</cbc:ID><cbc:InvoicedQuantity>1</cbc:InvoicedQuantity>"
    "<cbc:LineExtensionAmount>y</cbc:LineExtensionAmount></cac:InvoiceLine>",
    "<cac:InvoiceLine><cbc:ID>1</cbc:ID><cbc:InvoicedQuantity>1</cbc:InvoicedQuantity>"
    "<cac:Price><cbc:PriceAmount>1</cbc:PriceAmount><cbc:BaseQuantity>q</cbc:BaseQuantity>"
    "</cac:Price></cac:InvoiceLine>",
    "<cac:InvoiceLine><cbc:ID>1</cbc:ID><cbc:InvoicedQuantity>1</cbc:InvoicedQuantity>"
    "<cac:Price><cbc:PriceAmount>Infinity</cbc:PriceAmount></cac:Price></cac:InvoiceLine>",
]


@pytest.mark.parametrize("lines", ["".join(LINES), *BAD])
def test_edge_cases_map_the_same(lines: str) -> None:
    root = etree.fromstring(EDGE.format(lines=lines).encode())
    kind = ubl.KINDS["Invoice"]
    new, old = _outcome(ubl._lines, root, kind), _outcome(reference_lines, root, kind)
    assert new == old
    if lines in BAD:
        assert isinstance(new, tuple) and new[0] == "error"
    else:
        assert isinstance(new, tuple) and len(new) == 4
